// Dead letters: deliveries that used up their retries (or failed
// permanently), newest first, filtered by destination (server side) and by
// text (event id, error: in the page). Retry one, or every row shown, or,
// for one destination, all its dead letters at once (POST
// /v1/delivery-attempts/retry); a row then follows its delivery live:
// queued, delivered, or dead again.
import { api, get, qs } from './api.js';
import { h, card, pageHead, table, row, badge, setBadge, time, mono, empty, select, button, toast, loading } from './ui.js';

export async function render(ctx) {
  await ctx.names.load();
  if (!ctx.alive()) return;
  const destId = ctx.query.get('destination_id') || '';
  const destSel = select([['', 'All destinations'], ...[...ctx.names.destinations.values()].map((d) => [d.id, d.name])], { 'aria-label': 'destination' });
  destSel.value = destId;
  destSel.addEventListener('change', () => ctx.go('#/dlq' + qs({ destination_id: destSel.value })));
  const text = h('input', { type: 'search', class: 'grow', placeholder: 'Filter by event id or error', 'aria-label': 'filter' });
  const retryAll = button('Retry all shown', () => retryShown(), 'btn-primary', { id: 'retry-all' });
  // a destination's view: every dead letter of it, in the server (not just
  // the rows loaded), through the bulk retry
  const retryDest = destId ? button('Retry all dead letters', () => retryDestination(), '', { id: 'retry-destination' }) : null;
  const listSlot = h('div', null, loading());
  ctx.view.append(
    pageHead('Dead letters', { actions: [retryDest, retryAll] }),
    h('p', { class: 'muted' }, 'Deliveries that failed permanently or ran out of retries. Fix the cause (the receiver, the destination\'s config), then retry them.'),
    h('div', { class: 'toolbar' }, text, destSel),
    card(null, listSlot, { flush: true }),
  );

  const cols = [
    { label: 'Dead-lettered' }, { label: 'Event' }, { label: 'Destination' }, { label: '#', cls: 'num' },
    { label: 'Response' }, { label: 'Error', cls: 'clip' }, { label: 'State' }, { label: '' },
  ];
  const byDelivery = new Map(); // delivery id -> {tr, attemptId}
  let tbody = null;
  let cursor = null;

  function dlqRow(a) {
    const entry = { attemptId: a.id, tr: null, state: 'dead' };
    const retry = button('Retry', () => retryOne(entry), 'btn-sm retry');
    const tr = row(cols, [
      time(a.dlq_at || a.created_at),
      h('a', { href: '#/events/' + encodeURIComponent(a.event_id) }, mono(a.event_id)),
      h('a', { href: '#/destinations/' + encodeURIComponent(a.destination_id) }, ctx.names.destination(a.destination_id)),
      String(a.attempt_number),
      a.response_status ? mono(String(a.response_status)) : h('span', { class: 'muted' }, '—'),
      h('span', { class: 'error-text', title: a.error || '' }, a.error || ''),
      h('span', { class: 'state' }, badge('dead', 'bad')),
      retry,
    ], { 'data-attempt': a.id, 'data-delivery': a.delivery_id, 'data-event': a.event_id });
    tr.dataset.search = `${a.event_id} ${a.error || ''} ${a.response_status || ''}`.toLowerCase();
    entry.tr = tr;
    entry.retry = retry;
    byDelivery.set(a.delivery_id, entry);
    return tr;
  }

  function setState(entry, state) {
    entry.state = state;
    const b = entry.tr.querySelector('.state .badge');
    const kind = { dead: 'bad', queued: 'info', retrying: 'info', delivered: 'ok' }[state];
    setBadge(b, state, kind);
    entry.retry.disabled = state !== 'dead';
  }

  async function retryOne(entry) {
    entry.retry.disabled = true;
    try {
      await api('POST', `/v1/delivery-attempts/${encodeURIComponent(entry.attemptId)}/retry`);
      if (entry.state === 'dead') setState(entry, 'queued');
      ctx.counts();
      return true;
    } catch (e) {
      if (e.status === 409) { // retried elsewhere meanwhile: pending or delivered already
        setState(entry, 'queued');
        toast('This delivery is no longer dead-lettered');
      }
      else if (e.status !== 401) { toast('Retry failed: ' + e.message, true); entry.retry.disabled = false; }
      return false;
    }
  }

  async function retryShown() {
    const shown = [...byDelivery.values()].filter((e) => e.state === 'dead' && !e.tr.hidden);
    if (!shown.length) { toast('Nothing to retry'); return; }
    retryAll.disabled = true;
    let ok = 0;
    for (const e of shown) if (await retryOne(e)) ok++;
    retryAll.disabled = false;
    toast(`${ok} of ${shown.length} deliveries queued again`, ok < shown.length);
  }

  async function retryDestination() {
    if (!window.confirm(`Retry every dead letter of ${ctx.names.destination(destId)}?`)) return;
    retryDest.disabled = true;
    let retried = 0;
    try {
      for (let more = true, rounds = 0; more && rounds < 100; rounds++) {
        const r = await api('POST', '/v1/delivery-attempts/retry', { destination_id: destId, is_dlq: 1 });
        retried += r.retried;
        more = r.has_more && r.retried > 0;
      }
      for (const e of byDelivery.values()) if (e.state === 'dead') setState(e, 'queued');
      toast(`${retried} dead letters queued again`);
      ctx.counts();
    } catch (e) {
      if (e.status !== 401) toast('Retry failed: ' + e.message, true);
    } finally {
      retryDest.disabled = false;
      applyFilter();
    }
  }

  function applyFilter() {
    const q = text.value.trim().toLowerCase();
    let n = 0;
    for (const e of byDelivery.values()) {
      e.tr.hidden = Boolean(q) && !e.tr.dataset.search.includes(q);
      if (!e.tr.hidden && e.state === 'dead') n++;
    }
    retryAll.textContent = `Retry all shown (${n})`;
    retryAll.disabled = n === 0;
  }
  text.addEventListener('input', applyFilter);

  function ensureTable() {
    if (tbody) return;
    const t = table(cols, [], { id: 'dlq-table' });
    tbody = t.querySelector('tbody');
    listSlot.replaceChildren(t, moreBar);
  }
  const more = button('Load more', () => loadPage().catch((e) => toast(e.message, true)), 'btn-sm');
  const moreBar = h('div', { class: 'more' }, more);
  async function loadPage() {
    const page = await get('/v1/delivery-attempts' + qs({ is_dlq: 1, destination_id: destId, limit: 50, cursor }));
    if (!ctx.alive()) return;
    if (!tbody && !page.delivery_attempts.length) {
      listSlot.replaceChildren(empty('The dead-letter queue is empty', destId ? 'Nothing dead-lettered for this destination.' : 'Every delivery has succeeded or is still being retried.'));
      applyFilter();
      return;
    }
    ensureTable();
    for (const a of page.delivery_attempts) if (!byDelivery.has(a.delivery_id)) tbody.append(dlqRow(a));
    cursor = page.has_more ? page.cursor : null;
    moreBar.hidden = !cursor;
    applyFilter();
  }
  await loadPage();

  ctx.on('delivery.attempt', ({ attempt: a }) => {
    const entry = byDelivery.get(a.delivery_id);
    if (entry) {
      if (a.status === 'success') setState(entry, 'delivered');
      else if (a.is_dlq) {
        entry.attemptId = a.id;
        entry.tr.dataset.attempt = a.id;
        entry.tr.children[3].textContent = String(a.attempt_number);
        entry.tr.children[4].replaceChildren(a.response_status ? mono(String(a.response_status)) : '—');
        entry.tr.children[5].replaceChildren(h('span', { class: 'error-text', title: a.error || '' }, a.error || ''));
        setState(entry, 'dead');
      } else setState(entry, 'retrying');
      applyFilter();
      return;
    }
    if (!a.is_dlq || (destId && a.destination_id !== destId)) return;
    ensureTable();
    const tr = dlqRow({ ...a, dlq_at: a.created_at });
    tr.classList.add('fresh');
    tbody.prepend(tr);
    applyFilter();
  });
}
