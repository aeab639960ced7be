// Events: the list (filter by source, status, method and search text: an
// id prefix or text in the body; open one by its whole id; newest first,
// new ones added live) and an event's page: headers, body, its
// deliveries and every attempt with the request sent and the response.
import { api, get, qs } from './api.js';
import {
  h, card, pageHead, table, row, badge, setBadge, time, mono, empty, select, button, errorBox, kv, code, pretty,
  bytes, toast, throttle, loading, named,
} from './ui.js';

// how the front door took an event (docs/api.md "Events"), shown beside its
// status in the list: only what is worth a look
const VERIFICATION_KIND = { verified: 'ok', unverified: '', schema_invalid: 'warn' };
function marks(e) {
  const out = [];
  if (e.dedup_status === 'duplicate') out.push(' ', badge('duplicate', 'warn', 'mark-duplicate'));
  if (e.verification_status === 'schema_invalid') out.push(' ', badge('schema_invalid', 'warn', 'mark-schema'));
  return out;
}

const STATUSES = ['received', 'processing', 'delivered', 'failed', 'cancelled'];
const METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'];
// a whole event id: the search box opens that event instead of filtering
const WHOLE_ID = /^evt_[0-9a-f]{32}$/;
const eventLink = (id) => h('a', { href: '#/events/' + encodeURIComponent(id) }, mono(id));
const destHref = (id) => '#/destinations/' + encodeURIComponent(id);
// the connections page scrolls to and marks the card of ?id=
const connHref = (id) => '#/connections' + qs({ id });

export async function renderList(ctx) {
  await ctx.names.load();
  if (!ctx.alive()) return;
  const sourceId = ctx.query.get('source_id') || '';
  const status = ctx.query.get('status') || '';
  const method = ctx.query.get('method') || '';
  const text = ctx.query.get('search') || '';
  const filtered = Boolean(sourceId || status || method || text);
  const search = h('input', {
    type: 'search', class: 'grow', name: 'search', value: text, spellcheck: 'false', 'aria-label': 'search',
    placeholder: 'Search: an event id (evt_…, or its start) or text in the body',
  });
  const srcSel = select([['', 'All sources'], ...[...ctx.names.sources.values()].map((s) => [s.id, s.name])], { 'aria-label': 'source' });
  const stSel = select([['', 'Any status'], ...STATUSES.map((s) => [s, s])], { 'aria-label': 'status' });
  const mSel = select([['', 'Any method'], ...METHODS.map((m) => [m, m])], { 'aria-label': 'method', name: 'method' });
  srcSel.value = sourceId;
  stSel.value = status;
  mSel.value = method;
  const msg = h('div');
  const filter = () => ctx.go('#/events' + qs({ source_id: srcSel.value, status: stSel.value, method: mSel.value, search: search.value.trim() }));
  srcSel.addEventListener('change', filter);
  stSel.addEventListener('change', filter);
  mSel.addEventListener('change', filter);
  const searchForm = h('form', { class: 'toolbar grow', id: 'event-search' }, search, h('button', { type: 'submit', class: 'btn' }, 'Search'));
  searchForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = search.value.trim();
    msg.replaceChildren();
    // anything but a whole id filters the list (blank: no search)
    if (!WHOLE_ID.test(id)) { if (id !== text) filter(); return; }
    try {
      await get('/v1/events/' + encodeURIComponent(id));
      ctx.go('#/events/' + encodeURIComponent(id));
    } catch (e) {
      if (e.status === 404 || e.status === 400) msg.replaceChildren(errorBox(new Error(`No event with the id ${id}.`)));
      else if (e.status !== 401) msg.replaceChildren(errorBox(e));
    }
  });
  const listSlot = h('div', null, loading());
  ctx.view.append(
    pageHead('Events'),
    h('div', { class: 'toolbar' }, searchForm, srcSel, stSel, mSel),
    msg,
    card(null, listSlot, { flush: true }),
  );

  const cols = [{ label: 'Event' }, { label: 'Source' }, { label: 'Status' }, { label: 'Request' }, { label: 'Size', cls: 'num' }, { label: 'Received' }];
  const eventRow = (e) => row(cols, [
    eventLink(e.id),
    h('a', { href: '#/events' + qs({ source_id: e.source_id }) }, ctx.names.source(e.source_id)),
    h('span', null, h('span', { class: 'status' }, badge(e.status)), ...marks(e)),
    e.method ? h('span', { class: 'muted' }, h('code', null, e.method), ' ', e.content_type || '') : h('span', { class: 'muted' }, '—'),
    bytes(e.body_size),
    time(e.received_at),
  ], { 'data-id': e.id });

  let tbody = null;
  let cursor = null;
  const more = button('Load more', () => loadPage().catch((e) => toast(e.message, true)), 'btn-sm');
  const moreBar = h('div', { class: 'more' }, more);
  async function loadPage() {
    const page = await get('/v1/events' + qs({ source_id: sourceId, status, method, search: text, limit: 50, cursor }));
    if (!ctx.alive()) return;
    if (!tbody) {
      if (!page.events.length) {
        listSlot.replaceChildren(empty(filtered ? 'No events match' : 'No events yet',
          filtered ? 'Try other filters.' : 'Events appear here as soon as a sender posts to a source\'s ingest URL.',
          h('a', { class: 'btn', href: filtered ? '#/events' : '#/sources' }, filtered ? 'Clear filters' : 'Show sources')));
        return;
      }
      const t = table(cols, [], { id: 'events-table' });
      tbody = t.querySelector('tbody');
      listSlot.replaceChildren(t, moreBar);
    }
    for (const e of page.events) tbody.append(eventRow(e));
    cursor = page.has_more ? page.cursor : null;
    moreBar.hidden = !cursor;
  }
  await loadPage();

  // An attempt may change its event's status, and a live row lacks method
  // and size: one list call (no bodies) refreshes the newest rows at once.
  const restatus = throttle(async () => {
    let page;
    try { page = await get('/v1/events' + qs({ source_id: sourceId, limit: 100 })); } catch { return; }
    for (const e of page.events) {
      const tr = tbody?.querySelector(`tr[data-id="${CSS.escape(e.id)}"]`);
      if (!tr) continue;
      const b = tr.querySelector('.status .badge');
      if (b && b.textContent !== e.status) setBadge(b, e.status);
      tr.children[3].replaceChildren(h('span', { class: 'muted' }, h('code', null, e.method), ' ', e.content_type || ''));
      tr.children[4].textContent = bytes(e.body_size);
    }
  }, 1000);
  function ensureTable() {
    if (tbody) return;
    const t = table(cols, [], { id: 'events-table' });
    tbody = t.querySelector('tbody');
    moreBar.hidden = true;
    listSlot.replaceChildren(t, moreBar);
  }
  // The live message has no method nor body: with those filters, the
  // newest matching events are asked for and the new ones added.
  const refilter = throttle(async () => {
    let page;
    try { page = await get('/v1/events' + qs({ source_id: sourceId, status, method, search: text, limit: 50 })); } catch { return; }
    if (!ctx.alive()) return;
    const fresh = page.events.filter((e) => !tbody?.querySelector(`tr[data-id="${CSS.escape(e.id)}"]`));
    if (!fresh.length) return;
    ensureTable();
    for (const e of fresh.reverse()) {
      const tr = eventRow(e);
      tr.classList.add('fresh');
      tbody.prepend(tr);
    }
  }, 1000);
  ctx.on('event.received', (e) => {
    if ((sourceId && e.source_id !== sourceId) || (status && e.status !== status)) return;
    if (method || text) { refilter(); return; }
    ensureTable();
    const tr = eventRow({ id: e.event_id, source_id: e.source_id, status: e.status, received_at: e.received_at });
    tr.classList.add('fresh');
    tbody.prepend(tr);
    restatus();
  });
  ctx.on('delivery.attempt', ({ attempt }) => {
    if (tbody?.querySelector(`tr[data-id="${CSS.escape(attempt.event_id)}"]`)) restatus();
  });
}

// ---------------------------------------------------------------- detail

export async function renderDetail(ctx) {
  const id = ctx.params[0];
  const [e] = await Promise.all([get('/v1/events/' + encodeURIComponent(id)), ctx.names.load()]);
  if (!ctx.alive()) return;
  const slot = h('div', { class: 'view' });
  ctx.view.append(slot);
  draw(ctx, slot, e);
  const reload = throttle(async () => {
    try {
      const fresh = await get('/v1/events/' + encodeURIComponent(id));
      if (ctx.alive()) draw(ctx, slot, fresh);
    } catch { /* keep what is shown */ }
  }, 500);
  ctx.on('delivery.attempt', ({ attempt }) => { if (attempt.event_id === e.id) reload(); });
}

function draw(ctx, slot, e) {
  const retryable = e.deliveries.some((d) => d.status === 'dlq' || d.status === 'failed');
  const retry = retryable ? button('Retry failed deliveries', async () => {
    retry.disabled = true;
    try {
      const r = await api('POST', `/v1/events/${encodeURIComponent(e.id)}/retry`);
      toast(`${r.delivery_ids.length} deliver${r.delivery_ids.length === 1 ? 'y' : 'ies'} queued again`);
      ctx.counts();
    } catch (err) {
      if (err.status !== 401) toast(err.message, true);
      retry.disabled = false;
    }
  }, 'btn-primary', { id: 'retry-event' }) : null;

  const headers = Object.entries(e.headers || {});
  const hcols = [{ label: 'Header' }, { label: 'Value' }];
  const body = e.body_encoding === 'base64'
    ? [h('p', { class: 'muted' }, 'The body is not UTF-8; shown as base64.'), code(e.body)]
    : e.body ? code(pretty(e.body)) : empty('No body');

  const dcols = [{ label: 'Destination' }, { label: 'Connection' }, { label: 'Status' }, { label: 'Attempts', cls: 'num' }, { label: 'Next attempt' }];
  const deliveries = e.deliveries.length
    ? table(dcols, e.deliveries.map((d) => [
      named(destHref(d.destination_id), ctx.names.destination(d.destination_id), d.destination_id),
      named(connHref(d.connection_id), ctx.names.connection(d.connection_id), d.connection_id),
      badge(d.status === 'dlq' ? 'dead-lettered' : d.status, d.status === 'dlq' ? 'bad' : undefined),
      String(d.attempts),
      d.next_attempt_at ? time(d.next_attempt_at) : '—',
    ]), { id: 'deliveries-table' })
    : empty('Not routed', 'No enabled connection of this source matched the event.');

  slot.replaceChildren(
    pageHead('Event', {
      crumb: h('span', null, h('a', { href: '#/events' }, 'Events'), ' / ', mono(e.id)),
      badges: [mono(e.id), h('span', { id: 'event-status' }, badge(e.status))],
      actions: retry,
    }),
    h('div', { class: 'grid' },
      card('Request', kv([
        ['Source', h('a', { href: '#/events' + qs({ source_id: e.source_id }) }, ctx.names.source(e.source_id))],
        ['Received', h('span', { title: e.received_at }, new Date(e.received_at).toLocaleString())],
        ['Method', mono(e.method)],
        ['Path', mono(e.path + (e.query ? '?' + e.query : ''))],
        ['Content type', e.content_type ? mono(e.content_type) : '—'],
        ['Sender IP', mono(e.source_ip)],
        ['Size', bytes(e.body_size)],
        ['Sender check', h('span', { id: 'event-verification' }, badge(e.verification_status, VERIFICATION_KIND[e.verification_status]))],
        ['Duplicate', h('span', { id: 'event-dedup' }, e.dedup_status === 'duplicate'
          ? badge('duplicate', 'warn') : h('span', { class: 'muted' }, 'no'))],
      ])),
      card('Headers', headers.length ? table(hcols, headers.map(([k, v]) => [mono(k), mono(v)])) : empty('No headers'), { flush: true })),
    card('Body', body),
    card('Deliveries', deliveries, { flush: true }),
    card(`Attempts (${e.attempts.length})`, e.attempts.length
      ? h('div', { id: 'attempts' }, e.attempts.map((a) => attemptView(ctx, a)))
      : empty('No attempts yet', e.deliveries.length ? 'The first attempt is on its way.' : ''), { flush: true }),
  );
}

function headerTable(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('p', { class: 'muted' }, 'none');
  return table([{ label: 'Header' }, { label: 'Value' }], entries.map(([k, v]) => [mono(k), mono(String(v))]));
}

function attemptView(ctx, a) {
  return h('div', { class: 'attempt', 'data-attempt': a.id },
    h('div', { class: 'attempt-head' },
      h('strong', null, `Attempt ${a.attempt_number}`),
      a.is_dlq ? badge('dead-lettered', 'bad') : badge(a.status),
      a.response_status ? badge(`HTTP ${a.response_status}`, a.response_status < 300 ? 'ok' : 'bad', 'plain') : null,
      h('span', { class: 'muted' }, '→ ', h('a', { href: destHref(a.destination_id), title: a.destination_id }, ctx.names.destination(a.destination_id)),
        a.connection_id ? [' via ', h('a', { href: connHref(a.connection_id), title: a.connection_id }, ctx.names.connection(a.connection_id))] : null),
      h('span', { class: 'muted' }, `${a.duration_ms} ms · `, time(a.created_at)),
      a.next_retry_at ? h('span', { class: 'muted' }, 'next retry ', time(a.next_retry_at)) : null),
    a.error ? h('p', { class: 'error-text' }, a.error) : null,
    h('div', { class: 'attempt-cols' },
      h('div', null, h('h3', null, 'Request'),
        h('p', null, mono(`${a.request_method || ''} ${a.request_url || ''}`)),
        headerTable(a.request_headers)),
      h('div', null, h('h3', null, 'Response'),
        a.response_status ? [headerTable(a.response_headers), a.response_body ? code(pretty(a.response_body), true) : h('p', { class: 'muted' }, 'empty body')]
          : h('p', { class: 'muted' }, 'no response'))));
}
