// Replay jobs (POST /v1/replay) and bulk retries (POST
// /v1/delivery-attempts/retry), on the real binary: a job's rate, order and
// max_events measured at the receiver; a job across kill -9; cancel; a
// replay's failed deliveries are not retried; errors; bulk retry of a
// destination's dead letters only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

// n events to src, one at a time (so received order is i order); their ids.
async function ingestMany(srv, src, n, from = 0) {
  const ids = [];
  for (let i = from; i < from + n; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, {
      method: 'POST', body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 200);
    ids.push((await r.json()).event_id);
  }
  return ids;
}

// A source with n stored events, none of them routed anywhere; a
// destination to replay them to, connected to the source afterwards.
async function stored(srv, rx, n, dstExtra = {}) {
  const src = await makeSource(srv);
  const t0 = Date.now() - 1000;
  const ids = await ingestMany(srv, src, n);
  const dst = await makeDestination(srv, { config: { url: rx.url }, ...dstExtra });
  const conn = await makeConnection(srv, src.id, dst.id);
  return { src, dst, conn, ids, from: new Date(t0).toISOString(), to: new Date(Date.now() + 1000).toISOString() };
}

const seqOf = (r) => JSON.parse(r.body.toString()).i;

function jobDone(srv, id, status = 'completed', ms = 30000) {
  return until(async () => {
    const r = await srv.req('GET', `/v1/replay/${id}`);
    return r.body.job.status === status ? r.body.job : null;
  }, ms, `replay ${id} ${status}`);
}

test('a replay of 1,000 events keeps its rate, received order and max_events', async () => {
  const srv = await startServer();
  const rx = await startReceiver();
  const s = await stored(srv, rx, 1000);
  const t0 = Date.now();
  const r = await srv.req('POST', '/v1/replay', {
    destination_id: s.dst.id, source_id: s.src.id, from: s.from, to: s.to, rate: 100, max_events: 1000,
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.job.status, 'running');
  assert.equal(r.body.job.total, 1000);
  const job = await jobDone(srv, r.body.job.id, 'completed', 30000);
  const elapsed = rx.requests[999].at - t0;
  // 1,000 events at 100/s: 10 s, less one tick of slack
  assert.ok(elapsed >= 9800, `1000 events at 100/s took ${elapsed} ms`);
  // no second holds more than the rate (plus one tick's worth)
  for (let i = 110; i < rx.requests.length; i++)
    assert.ok(rx.requests[i].at - rx.requests[i - 110].at >= 1000, `110 arrivals within a second at ${i}`);
  assert.equal(rx.requests.length, 1000);
  assert.deepEqual(rx.requests.map(seqOf), [...Array(1000).keys()]);
  assert.deepEqual(rx.requests.map((q) => q.headers['x-hookstream-event-id']), s.ids);
  assert.equal(job.processed, 1000);
  assert.equal(job.succeeded, 1000);
  assert.equal(job.failed, 0);
  assert.ok(job.started_at && job.completed_at);

  // max_events: the first ones of the window only
  const m = await srv.req('POST', '/v1/replay', {
    destination_id: s.dst.id, from: s.from, to: s.to, rate: 100, max_events: 25,
  });
  assert.equal(m.status, 201, m.text);
  assert.equal(m.body.job.total, 25);
  await jobDone(srv, m.body.job.id);
  assert.deepEqual(rx.requests.slice(1000).map(seqOf), [...Array(25).keys()]);
  const list = await srv.req('GET', '/v1/replay?limit=1');
  assert.equal(list.status, 200);
  assert.equal(list.body.jobs[0].id, m.body.job.id);
  assert.equal(list.body.has_more, true);
  const other = await makeDestination(srv);
  assert.deepEqual((await srv.req('GET', `/v1/replay?destination_id=${other.id}`)).body.jobs, []);
  assert.equal((await srv.req('GET', `/v1/replay?destination_id=${s.dst.id}`)).body.jobs.length, 2);
  assert.equal((await srv.req('GET', '/v1/replay?destination_id=nope')).status, 400);
  await rx.close();
  await stopClean(srv);
});

// Each step of a job makes the scheduler read the destination's queue
// again; a read that began before an attempt's outcome was committed, and
// came back after it, once took that delivery again: a second request.
// Here the receiver is slower than the rate, so attempts are always out
// while the reads run (before the fix: 10-15 repeats in 600 on PostgreSQL).
test('a replay whose steps overtake a slow receiver sends no event twice', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ delayMs: 10 + Math.floor(Math.random() * 4) }));
  const s = await stored(srv, rx, 300);
  const r = await srv.req('POST', '/v1/replay', {
    destination_id: s.dst.id, from: s.from, to: s.to, rate: 100, max_events: 300,
  });
  assert.equal(r.status, 201, r.text);
  await jobDone(srv, r.body.job.id, 'completed', 30000);
  await sleep(300);
  const seqs = rx.requests.map(seqOf);
  assert.equal(seqs.length - new Set(seqs).size, 0, 'events sent twice');
  assert.deepEqual(seqs, [...Array(300).keys()]);
  await rx.close();
  await stopClean(srv);
});

test('retention deletes a replay job that ended longer ago than it; a running one stays', async () => {
  const srv = await startServer({ args: ['--retention', '2s'] });
  const rx = await startReceiver();
  const s = await stored(srv, rx, 5);
  const done = await srv.req('POST', '/v1/replay', { destination_id: s.dst.id, from: s.from, to: s.to, rate: 100 });
  assert.equal(done.status, 201, done.text);
  await jobDone(srv, done.body.job.id);
  // a second one held back by a paused destination: running all along
  const held = await makeDestination(srv, { config: { url: rx.url }, status: 'paused' });
  await makeConnection(srv, s.src.id, held.id);
  const running = await srv.req('POST', '/v1/replay', { destination_id: held.id, from: s.from, to: s.to, rate: 1 });
  assert.equal(running.status, 201, running.text);
  // retention 2 s: a sweep every second or so
  await until(async () => (await srv.req('GET', `/v1/replay/${done.body.job.id}`)).status === 404, 10000,
    'the ended job deleted');
  const r = await srv.req('GET', `/v1/replay/${running.body.job.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.job.status, 'running');
  assert.equal(r.body.job.total, 5);
  await rx.close();
  await stopClean(srv);
});

test('a replay survives kill -9: every event arrives, none twice but the one in flight', async () => {
  let srv = await startServer();
  const rx = await startReceiver(() => ({ delayMs: 2 }));
  const s = await stored(srv, rx, 300, { ordering: 'strict' });
  const r = await srv.req('POST', '/v1/replay', {
    destination_id: s.dst.id, from: s.from, to: s.to, rate: 100, max_events: 1000,
  });
  assert.equal(r.status, 201, r.text);
  await rx.waitFor(100, 10000);
  await srv.kill9();
  const before = rx.requests.length;
  assert.ok(before < 300, `the job was midway at the kill (${before})`);
  srv = await startServer({ dir: srv.dir });
  const job = await jobDone(srv, r.body.job.id, 'completed', 20000);
  const seen = new Map();
  for (const q of rx.requests) seen.set(seqOf(q), (seen.get(seqOf(q)) || 0) + 1);
  for (let i = 0; i < 300; i++) assert.ok(seen.get(i) >= 1, `event ${i} arrived`);
  const twice = [...seen.values()].filter((k) => k > 1).length;
  assert.ok(twice <= 1, `${twice} events arrived twice`);
  assert.ok(rx.requests.length <= 301);
  // strict destination: first arrivals in received order
  const firsts = [];
  for (const q of rx.requests) if (!firsts.includes(seqOf(q))) firsts.push(seqOf(q));
  assert.deepEqual(firsts, [...Array(300).keys()]);
  assert.equal(job.total, 300);
  assert.equal(job.succeeded, 300);
  await rx.close();
  await stopClean(srv);
});

test('a replay goes on after a clean stop and restart', async () => {
  let srv = await startServer();
  const rx = await startReceiver();
  const s = await stored(srv, rx, 100, { ordering: 'strict' });
  const r = await srv.req('POST', '/v1/replay', { destination_id: s.dst.id, from: s.from, to: s.to, rate: 50 });
  assert.equal(r.status, 201, r.text);
  await rx.waitFor(30, 10000);
  const { code, signal } = await srv.stop();
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, srv.stderr);
  assert.ok(rx.requests.length < 100);
  srv = await startServer({ dir: srv.dir });
  await jobDone(srv, r.body.job.id, 'completed', 15000);
  const seqs = rx.requests.map(seqOf);
  assert.deepEqual([...new Set(seqs)], [...Array(100).keys()]);
  assert.ok(seqs.length <= 101, `${seqs.length - 100} repeats`);
  await rx.close();
  await stopClean(srv);
});

test('cancel stops a job; a replay that fails is not retried', async () => {
  const srv = await startServer();
  const rx = await startReceiver();
  const s = await stored(srv, rx, 200);
  const r = await srv.req('POST', '/v1/replay', { destination_id: s.dst.id, from: s.from, to: s.to, rate: 20 });
  assert.equal(r.status, 201, r.text);
  await rx.waitFor(10, 5000);
  const c = await srv.req('DELETE', `/v1/replay/${r.body.job.id}`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.job.status, 'cancelled');
  await sleep(300); // the few already enqueued go out
  const atCancel = rx.requests.length;
  await sleep(1200);
  assert.equal(rx.requests.length, atCancel, 'nothing more after the cancel');
  assert.ok(atCancel < 60, `${atCancel} arrived`);
  const again = await srv.req('DELETE', `/v1/replay/${r.body.job.id}`);
  assert.equal(again.status, 409);

  // failures: one attempt each, none dead-lettered
  const bad = await startReceiver(() => ({ status: 500 }));
  const f = await stored(srv, bad, 5, { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } });
  const fr = await srv.req('POST', '/v1/replay', { destination_id: f.dst.id, from: f.from, to: f.to, rate: 50 });
  assert.equal(fr.status, 201, fr.text);
  const job = await jobDone(srv, fr.body.job.id);
  assert.equal(job.failed, 5);
  assert.equal(job.succeeded, 0);
  await sleep(2500); // a retry would come after 1 s
  assert.equal(bad.requests.length, 5);
  const dlq = await srv.req('GET', `/v1/delivery-attempts?destination_id=${f.dst.id}&is_dlq=1`);
  assert.equal(dlq.body.delivery_attempts.length, 0);
  const ev = await srv.req('GET', `/v1/events/${f.ids[0]}`);
  assert.equal(ev.body.deliveries[0].status, 'failed');
  await bad.close();
  await rx.close();
  await stopClean(srv);
});

test('replay: clear errors for bad input', async () => {
  const srv = await startServer();
  const src = await makeSource(srv);
  const dst = await makeDestination(srv);
  const other = await makeDestination(srv);
  const conn = await makeConnection(srv, src.id, other.id);
  const w = { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };
  const cases = [
    [{ ...w }, 400, 'destination_id'],
    [{ ...w, destination_id: 'nope' }, 400, 'destination_id'],
    [{ ...w, destination_id: 'dst_' + '0'.repeat(32) }, 404, ''],
    [{ destination_id: dst.id, to: w.to }, 400, 'from'],
    [{ ...w, destination_id: dst.id, from: 'yesterday' }, 400, 'from'],
    [{ destination_id: dst.id, from: w.to, to: w.from }, 422, 'from'],
    [{ ...w, destination_id: dst.id, rate: 101 }, 422, 'rate'],
    [{ ...w, destination_id: dst.id, rate: 'fast' }, 400, 'rate'],
    [{ ...w, destination_id: dst.id, max_events: 10001 }, 422, 'max_events'],
    [{ ...w, destination_id: dst.id, filter: [{ field: 'payload.x', op: 'sideways', value: 1 }] }, 400, 'filter[0].op'],
    [{ ...w, destination_id: dst.id, connection_id: conn.id }, 422, 'connection_id'],
    [{ ...w, destination_id: dst.id, source_id: 'src_' + '0'.repeat(32) }, 404, ''],
    [{ ...w, destination_id: dst.id, colour: 'red' }, 400, 'colour'],
  ];
  for (const [body, status, field] of cases) {
    const r = await srv.req('POST', '/v1/replay', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(typeof r.body.error, 'string');
    if (field) assert.equal(r.body.field, field, r.text);
  }
  assert.equal((await srv.req('POST', '/v1/replay', 'not json')).status, 400);
  assert.equal((await srv.req('GET', '/v1/replay/rpl_' + '0'.repeat(32))).status, 404);
  assert.equal((await srv.req('DELETE', '/v1/replay/rpl_' + '0'.repeat(32))).status, 404);
  // an empty window is a job with nothing to do
  const e = await srv.req('POST', '/v1/replay', { ...w, destination_id: dst.id });
  assert.equal(e.status, 201, e.text);
  assert.equal(e.body.job.total, 0);
  await jobDone(srv, e.body.job.id, 'completed', 5000);
  await stopClean(srv);
});

test('replay: filter rules and the connection transform apply', async () => {
  const srv = await startServer();
  const rx = await startReceiver();
  const s = await stored(srv, rx, 20);
  await srv.req('PATCH', `/v1/connections/${s.conn.id}`, { transform: '{"n": i}' });
  const r = await srv.req('POST', '/v1/replay', {
    destination_id: s.dst.id, connection_id: s.conn.id, from: s.from, to: s.to, rate: 100,
    filter: [{ field: 'payload.i', op: 'gte', value: 15 }],
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.job.total, 5);
  assert.equal(r.body.job.source_id, s.src.id);
  await jobDone(srv, r.body.job.id);
  assert.deepEqual(rx.requests.map((q) => JSON.parse(q.body.toString())), [15, 16, 17, 18, 19].map((n) => ({ n })));
  await rx.close();
  await stopClean(srv);
});

test('bulk retry: a destination\'s dead letters go out again, others stay', async () => {
  const srv = await startServer();
  let fail = true;
  const rxX = await startReceiver(() => ({ status: fail ? 500 : 200 }));
  const rxY = await startReceiver(() => ({ status: fail ? 500 : 200 }));
  const once = { retry_policy: { max_retries: 0, backoff_type: 'fixed', intervals: [1] }, circuit_breaker: { enabled: false } };
  const src = await makeSource(srv);
  const x = await makeDestination(srv, { config: { url: rxX.url }, ...once });
  const y = await makeDestination(srv, { config: { url: rxY.url }, ...once });
  await makeConnection(srv, src.id, x.id);
  await makeConnection(srv, src.id, y.id);
  const ids = await ingestMany(srv, src, 6);
  const dlqOf = async (d) =>
    (await srv.req('GET', `/v1/delivery-attempts?destination_id=${d.id}&is_dlq=1`)).body.delivery_attempts;
  await until(async () => (await dlqOf(x)).length === 6 && (await dlqOf(y)).length === 6, 10000, 'dead letters');
  fail = false;

  const none = await srv.req('POST', '/v1/delivery-attempts/retry', {});
  assert.equal(none.status, 422, none.text);
  const bad = await srv.req('POST', '/v1/delivery-attempts/retry', { destination_id: x.id, is_dlq: 0 });
  assert.equal(bad.status, 422, bad.text);
  const lim = await srv.req('POST', '/v1/delivery-attempts/retry', { destination_id: x.id, limit: 10001 });
  assert.equal(lim.status, 422, lim.text);

  const r = await srv.req('POST', `/v1/delivery-attempts/retry?destination_id=${x.id}&is_dlq=1&limit=4`);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.body, { retried: 4, skipped: 0, has_more: true });
  const r2 = await srv.req('POST', '/v1/delivery-attempts/retry', { destination_id: x.id, is_dlq: 1 });
  assert.deepEqual(r2.body, { retried: 2, skipped: 0, has_more: false });
  await rxX.waitFor(12, 10000);
  await until(async () => (await dlqOf(x)).length === 0, 5000, 'x drained');
  const again = new Set(rxX.requests.slice(6).map((q) => q.headers['x-hookstream-event-id']));
  assert.deepEqual([...again].sort(), [...ids].sort());
  await sleep(300);
  assert.equal(rxY.requests.length, 6, 'the other destination untouched');
  assert.equal((await dlqOf(y)).length, 6);
  await rxX.close();
  await rxY.close();
  await stopClean(srv);
});

// Several nodes on one PostgreSQL (docs/cluster.md "Replay jobs"): a job
// runs on the one node that claimed it; when that node is killed the other
// takes the job over from its cursor once the claim expires (10 s).
// tests/run.sh sets HOOKSTREAM_TEST_PG for the whole run and
// HOOKSTREAM_TEST_SERVER_PG too for its second, PostgreSQL pass: this test
// runs once, in the first; alone, either variable runs it.
const { HOOKSTREAM_TEST_PG: TEST_PG, HOOKSTREAM_TEST_SERVER_PG: SERVER_PG } = process.env;
const PG = TEST_PG && SERVER_PG ? null : TEST_PG || SERVER_PG;
test('two nodes: a job runs on one node; killed, the other finishes it', {
  skip: !PG && 'no PostgreSQL (HOOKSTREAM_TEST_PG or HOOKSTREAM_TEST_SERVER_PG)',
}, async () => {
  const db = `${PG}/hs_rpl_${randomBytes(6).toString('hex')}`;
  const lease = ['--lease-ms', '3000'];
  const a = await startServer({ db, args: [...lease, '--node-id', 'rpl-a'] });
  const b = await startServer({ db, args: [...lease, '--node-id', 'rpl-b'] });
  const nodes = { 'rpl-a': a, 'rpl-b': b };
  const rx = await startReceiver(() => ({ delayMs: 2 }));
  const s = await stored(a, rx, 300, { ordering: 'strict' });
  const r = await b.req('POST', '/v1/replay', { destination_id: s.dst.id, from: s.from, to: s.to, rate: 100 });
  assert.equal(r.status, 201, r.text);
  await rx.waitFor(50, 15000);
  const seen = async (srv) => (await srv.req('GET', `/v1/replay/${r.body.job.id}`)).body.job;
  const [ja, jb] = [await seen(a), await seen(b)];
  assert.ok(ja.runner in nodes, `runner ${ja.runner}`);
  assert.equal(jb.runner, ja.runner, 'both nodes name the same runner');
  const runner = nodes[ja.runner];
  const other = runner === a ? b : a;
  await runner.kill9();
  assert.ok(rx.requests.length < 300, 'midway at the kill');
  const job = await until(async () => {
    const j = await seen(other);
    return j.status === 'completed' ? j : null;
  }, 40000, 'the other node completes the job');
  const counts = new Map();
  for (const q of rx.requests) counts.set(seqOf(q), (counts.get(seqOf(q)) || 0) + 1);
  for (let i = 0; i < 300; i++) assert.ok(counts.get(i) >= 1, `event ${i} arrived`);
  const twice = [...counts.values()].filter((k) => k > 1).length;
  assert.ok(twice <= 1, `${twice} events arrived twice`);
  assert.equal(job.total, 300);
  assert.equal(job.succeeded, 300);
  await rx.close();
  await other.stop();
  a.cleanup();
});
