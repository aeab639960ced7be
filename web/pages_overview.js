// Overview: the last minutes' volume, success rate and latency
// (GET /v1/metrics/overview), circuits that need attention, the newest
// events, and the nodes when the server is in a cluster (web/cluster.js). Live messages trigger a refetch, at most once a second.
import { get } from './api.js';
import { h, svg, card, pageHead, table, badge, circuitBadge, time, shortId, empty, select, throttle } from './ui.js';
import { clusterCard } from './cluster.js';

export async function render(ctx) {
  const minutes = Number(ctx.query.get('minutes')) || 60;
  const win = select([['15', 'Last 15 minutes'], ['60', 'Last hour']], { 'aria-label': 'window' });
  win.value = String(minutes === 15 ? 15 : 60);
  win.addEventListener('change', () => ctx.go('#/?minutes=' + win.value));
  const stats = h('div', { class: 'stats' });
  const chart = h('div', { class: 'chart' });
  const dests = h('div');
  const recent = h('div');
  const nodes = h('div');
  ctx.view.append(
    pageHead('Overview', { actions: win }),
    stats,
    card('Deliveries per minute', chart, {
      actions: h('div', { class: 'legend' }, h('span', { class: 'l-in' }, 'ingested'), h('span', { class: 'l-ok' }, 'delivered'), h('span', { class: 'l-bad' }, 'failed')),
    }),
    h('div', { class: 'grid' },
      card('Destinations', dests, { flush: true, actions: h('a', { href: '#/destinations' }, 'All destinations') }),
      card('Latest events', recent, { flush: true, actions: h('a', { href: '#/events' }, 'All events') })),
    nodes,
  );

  async function load() {
    const [m, circuits, ev, cluster] = await Promise.all([
      get('/v1/metrics/overview?minutes=' + win.value),
      get('/v1/circuits'),
      get('/v1/events?limit=8'),
      get('/v1/cluster'),
      ctx.names.load(),
    ]);
    if (!ctx.alive()) return;
    const cc = clusterCard(cluster);
    nodes.replaceChildren(...(cc ? [cc] : []));
    renderStats(stats, m);
    chart.replaceChildren(barChart(m.series));
    renderDests(ctx, dests, circuits.circuits);
    renderRecent(ctx, recent, ev.events);
  }
  await load();
  const soon = throttle(() => load().catch(() => {}), 1000);
  ctx.on('event.received', soon);
  ctx.on('delivery.attempt', soon);
  ctx.on('circuit.reset', soon);
}

function stat(label, value, sub) {
  return h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
}
function ms(v) { return v === null || v === undefined ? '—' : v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`; }

function renderStats(el, m) {
  const t = m.totals;
  const rate = m.success_rate === null ? '—' : `${(m.success_rate * 100).toFixed(m.success_rate === 1 ? 0 : 1)}%`;
  el.replaceChildren(
    stat('Ingested', t.ingested.toLocaleString(), `events in ${m.window_minutes} min`),
    stat('Delivered', t.delivered.toLocaleString(), 'successful attempts'),
    stat('Failed', t.failed.toLocaleString(), 'failed attempts'),
    stat('Success rate', rate),
    stat('Latency p50', ms(m.latency_ms.p50), `p95 ${ms(m.latency_ms.p95)} · p99 ${ms(m.latency_ms.p99)}`),
  );
}

// Bars per minute: ingested behind, delivered and failed stacked in front.
function barChart(series) {
  const W = 900;
  const H = 170;
  const top = 12;
  const bottom = 20;
  const max = Math.max(1, ...series.map((s) => Math.max(s.ingested, s.delivered + s.failed)));
  const step = W / Math.max(1, series.length);
  const bw = Math.max(2, step * 0.7);
  const y = (v) => (H - bottom) - (v / max) * (H - bottom - top);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': 'deliveries per minute' });
  g.append(svg('line', { class: 'axis', x1: 0, x2: W, y1: H - bottom, y2: H - bottom }));
  series.forEach((s, i) => {
    const x = i * step + (step - bw) / 2;
    const title = `${new Date(s.minute).toLocaleTimeString()}: ${s.ingested} in, ${s.delivered} delivered, ${s.failed} failed`;
    const col = svg('g', null, svg('title', null, title));
    if (s.ingested) col.append(svg('rect', { class: 'bar-in', x, width: bw, y: y(s.ingested), height: (H - bottom) - y(s.ingested) }));
    if (s.delivered) col.append(svg('rect', { class: 'bar-ok', x: x + bw * 0.2, width: bw * 0.6, y: y(s.delivered), height: (H - bottom) - y(s.delivered) }));
    if (s.failed) {
      const base = y(s.delivered);
      col.append(svg('rect', { class: 'bar-bad', x: x + bw * 0.2, width: bw * 0.6, y: base - ((H - bottom) - y(s.failed)), height: (H - bottom) - y(s.failed) }));
    }
    g.append(col);
  });
  const label = (i, anchor) => svg('text', { x: anchor === 'end' ? W - 2 : 2, y: H - 5, 'text-anchor': anchor }, new Date(series[i].minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  if (series.length) g.append(label(0, 'start'), label(series.length - 1, 'end'));
  g.append(svg('text', { x: 2, y: top - 2 }, String(max)));
  return g;
}

function renderDests(ctx, el, circuits) {
  if (!circuits.length) {
    el.replaceChildren(empty('No destinations yet', 'A destination is where events are delivered.', h('a', { class: 'btn btn-primary', href: '#/destinations' }, 'Add a destination')));
    return;
  }
  // the ones that need attention first
  const order = { open: 0, half_open: 1, closed: 2 };
  const rows = [...circuits].sort((a, b) => order[a.state] - order[b.state] || b.queued - a.queued).slice(0, 8);
  const cols = [{ label: 'Destination' }, { label: 'Circuit' }, { label: 'Queued', cls: 'num' }];
  el.replaceChildren(table(cols, rows.map((c) => [
    h('a', { href: '#/destinations/' + encodeURIComponent(c.destination_id) }, ctx.names.destination(c.destination_id)),
    circuitBadge(c.state),
    String(c.queued),
  ])));
}

function renderRecent(ctx, el, events) {
  if (!events.length) {
    el.replaceChildren(empty('No events yet', 'Send one to a source\'s ingest URL.', h('a', { class: 'btn', href: '#/sources' }, 'Show sources')));
    return;
  }
  const cols = [{ label: 'Event' }, { label: 'Source' }, { label: 'Status' }, { label: 'Received' }];
  el.replaceChildren(table(cols, events.map((e) => [
    h('a', { href: '#/events/' + encodeURIComponent(e.id) }, shortId(e.id)),
    ctx.names.source(e.source_id),
    badge(e.status),
    time(e.received_at),
  ])));
}
