// GET /metrics (Prometheus text format, checked by a parser written here the
// way promtool checks an exposition) and GET /v1/metrics/overview.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection, API_KEY } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

// Parses the text format: families with HELP/TYPE, samples with labels.
// Throws on anything promtool would reject.
function parseExposition(text) {
  const families = new Map();
  const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = line.match(/^# (HELP|TYPE) (\S+) (.*)$/))) {
      assert.match(m[2], nameRe);
      const f = families.get(m[2]) || { samples: [] };
      if (m[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]), line);
        assert.equal(f.type, undefined, `one TYPE per family: ${m[2]}`);
        f.type = m[3];
      } else f.help = m[3];
      families.set(m[2], f);
      continue;
    }
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/);
    assert.ok(m, `sample line: ${line}`);
    const labels = {};
    if (m[3]) {
      for (const part of m[3].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) || []) {
        const i = part.indexOf('=');
        labels[part.slice(0, i)] = JSON.parse(part.slice(i + 1));
      }
    }
    const value = Number(m[4] === '+Inf' ? Infinity : m[4]);
    assert.ok(!Number.isNaN(value), line);
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    const fam = families.get(m[1]) || families.get(base);
    assert.ok(fam && fam.type, `a sample of a declared family: ${line}`);
    fam.samples.push({ name: m[1], labels, value });
  }
  // histograms: buckets cumulative, +Inf == _count
  for (const [name, f] of families) {
    if (f.type !== 'histogram') continue;
    const buckets = f.samples.filter((s) => s.name === `${name}_bucket`);
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, `${name} cumulative`);
    assert.equal(buckets.at(-1).labels.le, '+Inf');
    assert.equal(buckets.at(-1).value, f.samples.find((s) => s.name === `${name}_count`).value, `${name} +Inf = count`);
  }
  return families;
}

const sample = (fams, name, labels = {}) => (fams.get(name) || fams.get(name.replace(/_(bucket|sum|count)$/, '')))
  ?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

async function scrape() {
  const r = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parseExposition(await r.text());
}

test('/metrics: events per source, attempts by outcome, latency, queue and circuit per destination, store commits', async () => {
  const ok = await startReceiver();
  const bad = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const good = await makeDestination(srv, { config: { url: ok.url } });
  const failing = await makeDestination(srv, {
    config: { url: bad.url }, retry_policy: { max_retries: 0 }, circuit_breaker: { threshold: 2, cooldown_ms: 60000 },
  });
  await makeConnection(srv, src.id, good.id);
  await makeConnection(srv, src.id, failing.id);
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"n":${i}}` });
    assert.equal(r.status, 200);
  }
  await ok.waitFor(5);
  const fams = await until(async () => {
    const f = await scrape();
    return sample(f, 'hookstream_delivery_attempts_total', { destination_id: good.id, outcome: 'success' }) === 5 ? f : null;
  }, 10000, 'five successes counted');
  assert.equal(fams.get('hookstream_events_ingested_total').type, 'counter');
  assert.equal(sample(fams, 'hookstream_events_ingested_total', { source_id: src.id }), 5);
  // the failing destination: 2 dead-lettered attempts open its circuit, the other 3 wait
  assert.equal(sample(fams, 'hookstream_delivery_attempts_total', { destination_id: failing.id, outcome: 'dlq' }), 2);
  assert.equal(sample(fams, 'hookstream_circuit_state', { destination_id: failing.id, state: 'open' }), 1);
  assert.equal(sample(fams, 'hookstream_circuit_state', { destination_id: failing.id, state: 'closed' }), 0);
  assert.equal(sample(fams, 'hookstream_circuit_state', { destination_id: good.id, state: 'closed' }), 1);
  assert.equal(sample(fams, 'hookstream_destination_queue_depth', { destination_id: failing.id }), 3);
  assert.equal(sample(fams, 'hookstream_destination_queue_depth', { destination_id: good.id }), 0);
  assert.equal(fams.get('hookstream_delivery_latency_seconds').type, 'histogram');
  assert.ok(sample(fams, 'hookstream_delivery_latency_seconds_count') >= 5);
  assert.ok(sample(fams, 'hookstream_delivery_latency_seconds_sum') > 0);
  assert.ok(sample(fams, 'hookstream_store_commit_seconds_count') > 0);
  assert.ok(sample(fams, 'hookstream_store_batch_size_sum') >= sample(fams, 'hookstream_store_batch_size_count'));
  await ok.close();
  await bad.close();
});

test('/v1/metrics/overview: volume, success rate and latency percentiles over the last minutes', async () => {
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url } });
  await makeConnection(srv, src.id, dst.id);
  const before = (await srv.req('GET', '/v1/metrics/overview?minutes=5')).body;
  for (let i = 0; i < 4; i++) await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  await rx.waitFor(4);
  const o = await until(async () => {
    const x = (await srv.req('GET', '/v1/metrics/overview?minutes=5')).body;
    return x.totals.delivered >= before.totals.delivered + 4 ? x : null;
  }, 5000, 'overview counts');
  assert.equal(o.window_minutes, 5);
  assert.equal(o.series.length, 5);
  assert.equal(o.totals.ingested - before.totals.ingested, 4);
  assert.ok(o.success_rate > 0 && o.success_rate <= 1);
  assert.ok(o.latency_ms.p50 > 0 && o.latency_ms.p50 <= o.latency_ms.p99);
  for (const q of ['minutes=0', 'minutes=61', 'minutes=x', 'window=5']) {
    const r = await srv.req('GET', `/v1/metrics/overview?${q}`);
    assert.equal(r.status, 400, q);
  }
  await rx.close();
});

test('/metrics needs the API key', async () => {
  assert.equal((await fetch(`${srv.url}/metrics`)).status, 401);
});
