// Settings: the server's API keys. A new key is shown once, in a panel
// above the list, with a copy button; the list shows each key's prefix,
// never the key. Revoking asks first; the key signed in on this page is
// marked, and revoking it signs this page out at its next request.
import { api, get, getKey } from './api.js';
import { h, card, pageHead, table, time, empty, field, button, shownOnce, toast } from './ui.js';
import { onSubmit } from './forms.js';

const keyPath = (id) => '/v1/auth/api-keys/' + encodeURIComponent(id);

export async function render(ctx) {
  const formSlot = h('div');
  const listSlot = h('div');
  const toggle = () => {
    if (formSlot.firstChild) formSlot.replaceChildren();
    else formSlot.append(keyForm(ctx, formSlot, () => list(ctx, listSlot, toggle)));
    formSlot.querySelector('input')?.focus();
  };
  ctx.view.append(
    pageHead('Settings', { actions: button('New API key', toggle, 'btn-primary') }),
    formSlot,
    card('API keys', listSlot, { flush: true }),
  );
  await list(ctx, listSlot, toggle);
}

async function list(ctx, slot, toggle) {
  const { api_keys: keys } = await get('/v1/auth/api-keys');
  if (!ctx.alive()) return;
  if (!keys.length) {
    slot.replaceChildren(empty('No stored API keys',
      'Only the key given with --api-key is accepted. Make one per client here.',
      button('New API key', toggle, 'btn-primary')));
    return;
  }
  const mine = getKey().slice(0, 12);
  const cols = [{ label: 'Name' }, { label: 'Key' }, { label: 'Created' }, { label: 'Last used' }, { label: '' }];
  slot.replaceChildren(table(cols, keys.map((k) => [
    h('div', null, k.name || h('span', { class: 'muted' }, 'unnamed'), h('div', { class: 'muted small mono' }, k.id)),
    h('div', null, h('code', null, k.prefix ? k.prefix + '…' : '—'),
      k.prefix && k.prefix === mine ? h('span', { class: 'muted small this-key' }, ' this browser') : null),
    time(k.created_at),
    k.last_used_at ? time(k.last_used_at) : h('span', { class: 'muted' }, 'never'),
    h('div', { class: 'actions' }, button('Revoke', () => revoke(ctx, k), 'btn-sm btn-danger revoke-key')),
  ]), { id: 'api-keys-table' }));
}

async function revoke(ctx, k) {
  if (!window.confirm(`Revoke API key “${k.name}” (${k.prefix || k.id})? Requests with it are refused from now on.`)) return;
  try {
    await api('DELETE', keyPath(k.id));
    toast(`API key “${k.name}” revoked`);
    ctx.refresh();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

// The name, then the new key, once: it cannot be shown again. reload
// lists the keys again (with the new one) under it.
function keyForm(ctx, slot, reload) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', required: true, maxlength: 100, placeholder: 'ci deploys' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key');
  const form = h('form', { class: 'form', id: 'new-api-key', novalidate: true },
    field('Name', name, 'who or what uses it, to recognise it in the list'),
    h('div', { class: 'form-actions' }, submit, button('Cancel', () => slot.replaceChildren(), 'btn-ghost')),
    err);
  onSubmit(form, {
    submit, err,
    run: async () => {
      const { api_key: k } = await api('POST', '/v1/auth/api-keys', { name: name.value.trim() });
      ctx.hold(true); // a reconnect must not re-render the page and lose the key
      slot.replaceChildren(shownOnce(`API key “${k.name}” created`, 'new-api-key-shown',
        'Copy the key now: it is shown only this once. Only its hash is kept.', k.key, 'new API key',
        () => { slot.replaceChildren(); ctx.hold(false); ctx.refresh(); }));
      await reload();
    },
  });
  return card('New API key', form);
}
