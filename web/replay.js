// Replay on the destination page (docs/api.md "Replay"): a form that starts
// a job over a window of stored events (from, to, rate, at most how many,
// one source or all), and the destination's jobs with their progress,
// polled every second while one runs; a running job can be cancelled.
import { api, get } from './api.js';
import { h, card, table, badge, time, field, select, button, toast, act } from './ui.js';
import { onSubmit } from './forms.js';

const POLL_MS = 1000;
const STATUS_KIND = { running: 'info', completed: 'ok', failed: 'bad', cancelled: '' };

// datetime-local's value for a Date, in local time
function localValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function progress(j) {
  const pct = j.total ? Math.round((100 * j.processed) / j.total) : 100;
  return h('div', { class: 'replay-progress', title: `${j.enqueued} of ${j.total} enqueued` },
    h('progress', { max: String(j.total || 1), value: String(j.processed) }),
    h('span', { class: 'small' }, `${j.processed} / ${j.total} (${pct}%)`,
      j.failed ? h('span', { class: 'error-text' }, ` · ${j.failed} failed`) : null));
}

function statusBadge(j) {
  const b = badge(j.status, STATUS_KIND[j.status], 'replay-status');
  if (j.error) b.title = j.error;
  return b;
}

// The card; ctx is the page's (alive, names), d the destination.
export function replayCard(ctx, d) {
  const now = new Date();
  const from = h('input', { type: 'datetime-local', required: true, 'data-path': 'from', value: localValue(new Date(now - 3600e3)) });
  // to the end of this minute: the field has no seconds
  const to = h('input', { type: 'datetime-local', required: true, 'data-path': 'to', value: localValue(new Date(+now + 60e3)) });
  const rate = h('input', { type: 'number', min: '1', max: '100', value: '10', 'data-path': 'rate' });
  const max = h('input', { type: 'number', min: '1', max: '10000', value: '1000', 'data-path': 'max_events' });
  const sourceIds = [...ctx.names.connections.values()].filter((c) => c.destination_id === d.id).map((c) => c.source_id);
  const source = select([['', 'Every source routed here'], ...[...new Set(sourceIds)].map((id) => [id, ctx.names.source(id)])],
    { 'data-path': 'source_id' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'replay-start' }, 'Start replay');
  const err = h('div', { class: 'form span' });
  const form = h('form', { class: 'form', id: 'replay-form' },
    field('From', from), field('To', to),
    field('Rate', rate, 'events per second, at most 100'),
    field('At most', max, 'events, up to 10,000'),
    field('Source', source),
    err,
    h('div', { class: 'form-actions' }, submit,
      h('span', { class: 'muted small' }, 'Each event is sent once more, as a new delivery, in the order received; failures are not retried.')));
  const jobsSlot = h('div', { id: 'replay-jobs' });
  let timer = null;

  async function load() {
    timer = null;
    if (!ctx.alive()) return;
    let jobs;
    try {
      jobs = (await get('/v1/replay?limit=20&destination_id=' + encodeURIComponent(d.id))).jobs;
    } catch (e) {
      if (e.status !== 401) jobsSlot.replaceChildren(h('p', { class: 'muted' }, e.message));
      return;
    }
    if (!ctx.alive()) return;
    const cols = [{ label: 'Started' }, { label: 'Window' }, { label: 'Rate', cls: 'num' }, { label: 'Progress' }, { label: 'Status' }, { label: '' }];
    const rows = jobs.map((j) => [
      time(j.created_at),
      h('span', { class: 'small' }, time(j.from), ' → ', time(j.to)),
      `${j.rate}/s`,
      progress(j),
      statusBadge(j),
      j.status === 'running'
        ? button('Cancel', () => act(async () => { await api('DELETE', `/v1/replay/${encodeURIComponent(j.id)}`); toast('Replay cancelled'); load(); }), 'btn-sm replay-cancel')
        : '',
    ]);
    jobsSlot.replaceChildren(jobs.length ? table(cols, rows, { id: 'replay-table' }) : h('p', { class: 'muted' }, 'No replay yet.'));
    if (jobs.some((j) => j.status === 'running')) timer = setTimeout(load, POLL_MS);
  }

  onSubmit(form, {
    submit, err,
    run: async () => {
      const body = {
        destination_id: d.id,
        from: new Date(from.value).toISOString(),
        to: new Date(to.value).toISOString(),
        rate: Number(rate.value),
        max_events: Number(max.value),
      };
      if (source.value) body.source_id = source.value;
      const r = await api('POST', '/v1/replay', body);
      toast(`Replay started: ${r.job.total} events`);
      if (timer) clearTimeout(timer);
      await load();
    },
  });
  load();
  return card('Replay', h('div', null, form, jobsSlot), { cls: 'replay' });
}
