// Issues: failures grouped by destination and error type (docs/api.md
// "Issues"), open ones first by default. Each row acknowledges, snoozes
// (an hour), resolves or reopens its issue, and retries its dead letters.
// The nav's badge counts the open ones (app.js).
import { api, get, qs } from './api.js';
import { h, card, pageHead, table, badge, time, mono, empty, select, button, toast, act, loading } from './ui.js';

const STATUS_KIND = { open: 'bad', acknowledged: 'warn', resolved: 'ok' };
const issuePath = (id) => '/v1/issues/' + encodeURIComponent(id);

export async function render(ctx) {
  await ctx.names.load();
  if (!ctx.alive()) return;
  const status = ctx.query.has('status') ? ctx.query.get('status') : 'open';
  const sel = select([['open', 'Open'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['', 'All']],
    { 'aria-label': 'status', id: 'issue-status' });
  sel.value = status;
  sel.addEventListener('change', () => ctx.go('#/issues' + qs({ status: sel.value })));
  const summary = h('span', { class: 'muted', id: 'issue-summary' });
  const listSlot = h('div', null, loading());
  ctx.view.append(
    pageHead('Issues', { badges: summary }),
    h('p', { class: 'muted' }, 'One issue per destination and error type, opened by a dead letter or a circuit opening; an issue quiet long enough resolves itself.'),
    h('div', { class: 'toolbar' }, sel),
    card(null, listSlot, { flush: true }),
  );
  const s = await get('/v1/issues/summary');
  summary.textContent = ` ${s.open} open · ${s.acknowledged} acknowledged · ${s.resolved} resolved`;
  const { issues } = await get('/v1/issues' + qs({ status, limit: 100 }));
  if (!ctx.alive()) return;
  if (!issues.length) {
    listSlot.replaceChildren(empty(status === 'open' ? 'No open issues' : 'No issues',
      'Dead letters and circuits opening show here, grouped by destination and error type.'));
    return;
  }
  const cols = [{ label: 'Destination' }, { label: 'Error' }, { label: 'Count', cls: 'num' }, { label: 'Last seen' },
    { label: 'Status' }, { label: 'Last error', cls: 'clip' }, { label: '' }];
  listSlot.replaceChildren(table(cols, issues.map((i) => [
    h('a', { href: '#/destinations/' + encodeURIComponent(i.destination_id) }, ctx.names.destination(i.destination_id)),
    mono(i.error_type),
    String(i.count),
    time(i.last_seen_at),
    h('span', null, badge(i.status, STATUS_KIND[i.status]),
      i.snoozed_until && Date.parse(i.snoozed_until) > Date.now() ? h('span', { class: 'muted small' }, ' snoozed') : null),
    h('span', { class: 'error-text', title: i.last_error }, i.last_error),
    actions(ctx, i),
  ]), { id: 'issues-table' }));
}

function actions(ctx, i) {
  const patch = (body, what) => act(async () => {
    await api('PATCH', issuePath(i.id), body);
    toast(what);
    ctx.counts();
    ctx.refresh();
  });
  const hour = () => new Date(Date.now() + 3600e3).toISOString();
  return h('div', { class: 'actions', 'data-issue': i.id },
    i.status === 'open' ? button('Acknowledge', () => patch({ status: 'acknowledged' }, 'Issue acknowledged'), 'btn-sm ack') : null,
    i.status !== 'resolved' ? button('Snooze 1h', () => patch({ snoozed_until: hour() }, 'Issue snoozed for an hour'), 'btn-sm snooze') : null,
    i.status !== 'resolved' ? button('Resolve', () => patch({ status: 'resolved' }, 'Issue resolved'), 'btn-sm resolve')
      : button('Reopen', () => patch({ status: 'open' }, 'Issue reopened'), 'btn-sm reopen'),
    button('Retry', () => act(async () => {
      const r = await api('POST', issuePath(i.id) + '/retry');
      toast(r.retried ? `${r.retried} dead letter(s) queued again` : 'No dead letters left to retry');
      ctx.counts();
    }), 'btn-sm btn-primary retry'));
}
