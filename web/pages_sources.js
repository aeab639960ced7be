// Sources: where events come in. Each row shows the ingest URL to give a
// sender (no key needed to post there), with a copy button, and "Send test
// event", which posts a sample there (test_event.js), and a summary of
// its front door (IP lists, rate limit: front_door.js; the sender's
// signature: verification.js; the bodies' JSON Schema: source_schema.js;
// deduplication: dedup.js), which the create and edit forms set, and how
// many events it has received.
import { api } from './api.js';
import { h, card, pageHead, table, badge, time, empty, field, button, copyField, toast, select } from './ui.js';
import { mergePatch, textOrNull, resourcePath, onSavePatch, patchThen, deleteThen, showError } from './forms.js';
import { frontDoorFields, frontDoorSummary, frontDoorTitle } from './front_door.js';
import { testEventPanel } from './test_event.js';
import { verificationFields, verificationSummary, setOnly } from './verification.js';
import { schemaFields } from './source_schema.js';
import { dedupFields, dedupSummary } from './dedup.js';

export function ingestUrl(s) {
  return `${location.origin}/v1/ingest/${encodeURIComponent(s.slug || s.id)}`;
}

export async function render(ctx) {
  const formSlot = h('div');
  const listSlot = h('div');
  const toggle = () => {
    if (formSlot.firstChild) formSlot.replaceChildren();
    else formSlot.append(sourceForm(ctx, () => formSlot.replaceChildren()));
  };
  ctx.view.append(pageHead('Sources', { actions: button('New source', toggle, 'btn-primary') }), formSlot, card(null, listSlot, { flush: true }));
  await ctx.names.load();
  if (!ctx.alive()) return;
  const sources = [...ctx.names.sources.values()];
  if (!sources.length) {
    listSlot.replaceChildren(empty('No sources yet', 'A source receives webhooks at its own ingest URL.', button('New source', toggle, 'btn-primary')));
    return;
  }
  // the last refusal of each source, as the front door reports it live
  // (those heard before this render too: ctx.live.lastRefused)
  const refused = new Map();
  const show = (r) => {
    const el = refused.get(r.source_id);
    if (!el) return;
    el.textContent = `refused ${r.status} · ${r.reason.replace(/_/g, ' ')}`;
    el.title = `${r.error}\n${r.request_id} at ${new Date(r.refused_at).toLocaleTimeString()}`;
    el.hidden = false;
  };
  ctx.on('ingest.refused', show);
  const cols = [{ label: 'Name' }, { label: 'Status' }, { label: 'Front door' }, { label: 'Ingest URL' }, { label: 'Events', cls: 'num' }, { label: 'Created' }, { label: '' }];
  listSlot.replaceChildren(table(cols, sources.map((s) => [
    h('div', null, h('a', { href: '#/events?source_id=' + encodeURIComponent(s.id), title: 'events of this source' }, s.name),
      h('div', { class: 'muted small mono' }, s.id), s.description ? h('div', { class: 'muted small' }, s.description) : null),
    badge(s.status),
    doorCell(s, refused),
    h('div', { class: 'ingest' }, copyField(ingestUrl(s)),
      button('Send test event', () => testEvent(s), 'btn-sm send-test', s.status === 'disabled'
        ? { disabled: true, title: 'a disabled source refuses ingest' } : { title: 'POST a sample JSON event to this URL' })),
    h('div', { class: 'event-count', title: s.last_event_at ? 'last ' + new Date(s.last_event_at).toLocaleString() : 'none yet' },
      String(s.event_count ?? '—')),
    time(s.created_at),
    h('div', { class: 'actions' },
      button('Edit', () => edit(s), 'btn-sm edit-source'),
      button(s.status === 'paused' ? 'Resume' : 'Pause', () => patch(ctx, s, { status: s.status === 'paused' ? 'active' : 'paused' }), 'btn-sm'),
      button('Delete', () => remove(ctx, s), 'btn-sm btn-danger')),
  ]), { id: 'sources-table' }));
  for (const r of ctx.live.lastRefused.values()) show(r);

  // one form (or test panel) at a time, above the list, in the place of
  // the "new" one; the test panel stays for more sends from its source
  let panel = null;
  function testEvent(s) {
    if (panel?.sourceId !== s.id || !formSlot.contains(panel.el)) {
      ctx.hold(true);
      panel = testEventPanel(ctx, [{ id: s.id, label: s.name }], {
        title: `Send a test event to “${s.name}”`,
        close: () => { formSlot.replaceChildren(); ctx.hold(false); },
      });
      panel.sourceId = s.id;
      formSlot.replaceChildren(panel.el);
    }
    panel.send();
  }
  function edit(s) {
    ctx.hold(true);
    formSlot.replaceChildren(editSourceForm(s, {
      saved: () => { ctx.hold(false); ctx.refresh(); },
      close: () => { formSlot.replaceChildren(); ctx.hold(false); },
    }));
    formSlot.querySelector('input')?.focus();
  }
}

// Edit: name, description, status, the front door; PATCH sends what
// changed (a changed list or rate limit whole: the server replaces it).
function editSourceForm(s, { saved, close }) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', value: s.name || '' });
  const desc = h('input', { type: 'text', name: 'description', 'data-path': 'description', value: s.description || '', placeholder: 'optional' });
  const status = select(['active', 'paused', 'disabled'].map((x) => [x, x]), { name: 'status', 'data-path': 'status' });
  status.value = s.status || 'active';
  const door = frontDoorFields(s);
  const verify = verificationFields(s);
  const schema = schemaFields(s);
  const dedup = dedupFields(s);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
  const form = h('form', { class: 'form', id: 'edit-source', novalidate: true },
    field('Name', name), field('Description', desc), field('Status', status, 'paused: events are stored, not delivered; disabled: ingest answers 404'),
    door.el, verify.el, schema.el, dedup.el,
    h('div', { class: 'form-actions' }, submit, button('Cancel', close, 'btn-ghost')),
    err);
  onSavePatch(form, {
    submit, err, path: resourcePath('sources', s.id), what: 'Source', saved, close,
    patchBody: () => {
      const w = { ...s, name: name.value.trim(), description: textOrNull(desc), status: status.value, ...door.wanted(), ...verify.wanted(), ...schema.wanted(), ...dedup.wanted() };
      const p = mergePatch(s, w);
      if (p.rate_limit) p.rate_limit = w.rate_limit; // all of it, not a patch of it
      if (p.json_schema) p.json_schema = w.json_schema; // the server replaces it whole
      return p;
    },
  });
  return card(`Edit source “${s.name}”`, form, { cls: 'edit' });
}

// IP lists, rate limit and signature in a few words, the details in its
// title; below, the last refusal seen live (kept in refused by source id)
function doorCell(s, refused) {
  const text = [frontDoorSummary(s), verificationSummary(s), dedupSummary(s)].filter(Boolean).join(' · ');
  const last = h('div', { class: 'last-refused small', hidden: true });
  refused.set(s.id, last);
  if (!text) return h('div', null, h('span', { class: 'muted' }, '—'), last);
  const title = [frontDoorTitle(s), verificationSummary(s), dedupSummary(s)].filter(Boolean).join('\n');
  return h('div', null, h('span', { class: 'front-door small', title }, text), last);
}

const patch = (ctx, s, body) => patchThen(resourcePath('sources', s.id), body, () => ctx.refresh());

const remove = (ctx, s) => deleteThen(`Delete source “${s.name}”? Its ingest URL stops accepting events.`,
  resourcePath('sources', s.id), 'Source', () => ctx.refresh());

function sourceForm(ctx, close) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', required: true, placeholder: 'Shop' });
  const slug = h('input', { type: 'text', name: 'slug', 'data-path': 'slug', placeholder: 'shop' });
  const desc = h('input', { type: 'text', name: 'description', 'data-path': 'description', placeholder: 'optional' });
  const door = frontDoorFields(null);
  const verify = verificationFields(null);
  const schema = schemaFields(null);
  const dedup = dedupFields(null);
  const form = h('form', { class: 'form', id: 'new-source', novalidate: true },
    field('Name', name), field('Slug', slug, 'optional; used in the ingest URL instead of the id'), field('Description', desc),
    door.el, verify.el, schema.el, dedup.el,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create source'), button('Cancel', close, 'btn-ghost')),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    try {
      const body = { name: name.value.trim() };
      if (slug.value.trim()) body.slug = slug.value.trim();
      if (desc.value.trim()) body.description = desc.value.trim();
      const fd = door.wanted();
      if (fd.ip_allowlist.length) body.ip_allowlist = fd.ip_allowlist;
      if (fd.ip_denylist.length) body.ip_denylist = fd.ip_denylist;
      if (fd.rate_limit) body.rate_limit = fd.rate_limit;
      const sw = schema.wanted(), dw = dedup.wanted();
      if (sw.schema_action === 'reject') delete sw.schema_action; // the default
      if (!dw.dedup_enabled) Object.keys(dw).forEach((k) => delete dw[k]);
      Object.assign(body, setOnly(verify.wanted()), setOnly(sw), setOnly(dw));
      const s = await api('POST', '/v1/sources', body);
      toast(`Source “${s.name}” created`);
      ctx.refresh();
    } catch (e) {
      if (e.status !== 401) showError(err, form, e);
    }
  });
  return card('New source', form);
}
