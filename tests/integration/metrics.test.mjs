// GET /metrics (Prometheus text format, checked by a parser written here the
// way promtool checks an exposition) and GET /v1/metrics/overview.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, makeSource, makeDestination, makeConnection, API_KEY } from './lib/server.mjs';
import http from 'node:http';
import { startReceiver, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(() => stopClean(srv));

// Parses the text format: families with HELP/TYPE, samples with labels.
// Throws on anything promtool would reject.
function parseExposition(text) {
  const families = new Map();
  const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  // a family's lines come together: HELP, TYPE, then all its samples
  let current = null;
  const done = new Set();
  const enter = (name) => {
    if (name === current) return;
    assert.ok(!done.has(name), `the lines of ${name} are not together`);
    if (current) done.add(current);
    current = name;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = line.match(/^# (HELP|TYPE) (\S+) (.*)$/))) {
      assert.match(m[2], nameRe);
      enter(m[2]);
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
    enter(families.has(m[1]) ? m[1] : base);
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

test('/metrics: each accepted ingest\'s time to its commit, and every write\'s wait for the writer', async () => {
  const src = await makeSource(srv);
  const before = await scrape();
  const count = (f, name) => sample(f, name) ?? 0;
  let clientMs = 0;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: `{"n":${i}}` });
    assert.equal(r.status, 200);
    await r.text();
    clientMs += performance.now() - t0;
  }
  // refused: not counted
  const no = await fetch(`${srv.url}/v1/ingest/src_00000000000000000000000000000000`, { method: 'POST', body: '{}' });
  assert.equal(no.status, 404);
  const after = await scrape();
  assert.equal(after.get('hookstream_ingest_commit_seconds').type, 'histogram');
  assert.equal(count(after, 'hookstream_ingest_commit_seconds_count') - count(before, 'hookstream_ingest_commit_seconds_count'), 7);
  // each ingest's arrival-to-commit lies within what its client waited
  const sum = count(after, 'hookstream_ingest_commit_seconds_sum') - count(before, 'hookstream_ingest_commit_seconds_sum');
  assert.ok(sum > 0, `sum ${sum}`);
  assert.ok(sum * 1000 <= clientMs, `server ${sum * 1000} ms within the clients' ${clientMs} ms`);
  assert.equal(after.get('hookstream_store_queue_wait_seconds').type, 'histogram');
  const waits = count(after, 'hookstream_store_queue_wait_seconds_count') - count(before, 'hookstream_store_queue_wait_seconds_count');
  assert.ok(waits >= 7, `${waits} writes counted`);
  assert.ok(count(after, 'hookstream_store_queue_wait_seconds_sum') >= count(before, 'hookstream_store_queue_wait_seconds_sum'));
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

// Every sample of any family that carries label=value.
const samplesWith = (fams, label, value) => [...fams.values()].flatMap((f) => f.samples)
  .filter((s) => s.labels[label] === value);

const ingest = async (sourceId, n) => {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${sourceId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"n":${i}}` });
    assert.equal(r.status, 200);
  }
};

test('/metrics: a deleted source or destination loses its series, the others keep theirs', async () => {
  const rx = await startReceiver();
  const keptSrc = await makeSource(srv);
  const goneSrc = await makeSource(srv);
  const keptDst = await makeDestination(srv, { config: { url: rx.url } });
  const goneDst = await makeDestination(srv, { config: { url: rx.url } });
  await makeConnection(srv, keptSrc.id, keptDst.id);
  const goneConn = await makeConnection(srv, goneSrc.id, goneDst.id);
  await ingest(keptSrc.id, 2);
  await ingest(goneSrc.id, 3);
  const success = (f, id) => sample(f, 'hookstream_delivery_attempts_total', { destination_id: id, outcome: 'success' });
  let fams = await until(async () => {
    const f = await scrape();
    return success(f, keptDst.id) === 2 && success(f, goneDst.id) === 3 ? f : null;
  }, 10000, 'the deliveries counted');
  // every kind of per-resource series is there before the delete
  assert.equal(sample(fams, 'hookstream_events_ingested_total', { source_id: goneSrc.id }), 3);
  assert.equal(sample(fams, 'hookstream_destination_queue_depth', { destination_id: goneDst.id }), 0);
  assert.equal(sample(fams, 'hookstream_destination_in_flight', { destination_id: goneDst.id }), 0);
  assert.equal(sample(fams, 'hookstream_circuit_state', { destination_id: goneDst.id, state: 'closed' }), 1);
  const latencyCount = sample(fams, 'hookstream_delivery_latency_seconds_count');
  const overview = (await srv.req('GET', '/v1/metrics/overview?minutes=5')).body;

  // a delete that fails (still connected) forgets nothing
  assert.equal((await srv.req('DELETE', `/v1/destinations/${goneDst.id}`)).status, 409);
  assert.equal((await srv.req('DELETE', `/v1/sources/${goneSrc.id}`)).status, 409);
  fams = await scrape();
  assert.equal(success(fams, goneDst.id), 3);
  assert.equal(sample(fams, 'hookstream_events_ingested_total', { source_id: goneSrc.id }), 3);

  assert.equal((await srv.req('DELETE', `/v1/connections/${goneConn.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/destinations/${goneDst.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/sources/${goneSrc.id}`)).status, 200);
  // gone as soon as the deletes are answered (scrape() also checks it still parses)
  fams = await scrape();
  assert.deepEqual(samplesWith(fams, 'destination_id', goneDst.id), []);
  assert.deepEqual(samplesWith(fams, 'source_id', goneSrc.id), []);
  // the others keep theirs, unchanged
  assert.equal(sample(fams, 'hookstream_events_ingested_total', { source_id: keptSrc.id }), 2);
  assert.equal(success(fams, keptDst.id), 2);
  assert.equal(sample(fams, 'hookstream_circuit_state', { destination_id: keptDst.id, state: 'closed' }), 1);
  // server-wide figures keep what the deleted ones did
  assert.equal(sample(fams, 'hookstream_delivery_latency_seconds_count'), latencyCount);
  const after = (await srv.req('GET', '/v1/metrics/overview?minutes=5')).body;
  assert.deepEqual(after.totals, overview.totals);

  // the remaining series go on counting up
  await ingest(keptSrc.id, 1);
  fams = await until(async () => {
    const f = await scrape();
    return success(f, keptDst.id) === 3 ? f : null;
  }, 10000, 'the third delivery counted');
  assert.equal(sample(fams, 'hookstream_events_ingested_total', { source_id: keptSrc.id }), 3);
  assert.deepEqual(samplesWith(fams, 'destination_id', goneDst.id), []);
  await rx.close();
});

test('/metrics: an attempt that was out when its destination was deleted does not bring the series back', async () => {
  // a receiver that answers the first request at once and holds the second
  // until release(), so that it is answered after the delete
  let release;
  const released = new Promise((r) => { release = r; });
  const requests = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      requests.push(Date.now());
      if (requests.length > 1) await released;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;

  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url } });
  const conn = await makeConnection(srv, src.id, dst.id);
  await ingest(src.id, 1);
  const success = (f) => sample(f, 'hookstream_delivery_attempts_total', { destination_id: dst.id, outcome: 'success' });
  let fams = await until(async () => {
    const f = await scrape();
    return success(f) === 1 ? f : null;
  }, 10000, 'the first delivery counted');
  const latencyCount = sample(fams, 'hookstream_delivery_latency_seconds_count');
  await ingest(src.id, 1);
  await until(() => requests.length === 2, 10000, 'the second request to arrive');
  fams = await scrape();
  assert.equal(sample(fams, 'hookstream_destination_in_flight', { destination_id: dst.id }), 1);

  assert.equal((await srv.req('DELETE', `/v1/connections/${conn.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/destinations/${dst.id}`)).status, 200);
  assert.deepEqual(samplesWith(await scrape(), 'destination_id', dst.id), []);

  // now the receiver answers: the attempt concludes after the delete
  release();
  await until(async () => {
    const r = await srv.req('GET', `/v1/delivery-attempts?destination_id=${dst.id}`);
    return r.status === 200 && r.body.delivery_attempts.length === 2;
  }, 10000, 'the late attempt recorded');
  fams = await scrape();
  assert.deepEqual(samplesWith(fams, 'destination_id', dst.id), []);
  // it still counts server-wide: it was a delivery
  assert.equal(sample(fams, 'hookstream_delivery_latency_seconds_count'), latencyCount + 1);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
