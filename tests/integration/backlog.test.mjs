// Backlogs larger than the scheduler's window (--delivery-window): a
// destination's pending deliveries beyond the window wait in the store and
// are paged in as it drains. Whatever the window, every delivery arrives
// exactly once (at least once across a kill -9), and a strict destination
// delivers in ingest order: across page boundaries, with retries holding
// the head, with its circuit open and after a reset, and across a restart.
//
// Ingest order is the order of the event ids the ingests answered (ids sort
// by age, docs/api.md); each event's body carries its sequence number, so
// the receiver can tell which event it got.
//
// The databases live on tmpfs (/dev/shm) where there is one: a strict
// destination waits for each attempt's record to be committed before the
// next send, so on a disk 200,000 deliveries would cost 200,000 fsyncs
// (~90 s here) and measure the disk, not the scheduler. A kill -9 does not
// lose what tmpfs holds, so the restart test is unaffected.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, makeSource, makeDestination, makeConnection, API_KEY } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';

const dirs = [];
function dbDir() {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(path.join(base, 'hookstream-backlog-'));
  dirs.push(dir);
  return dir;
}
const removeDirs = () => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); };
after(removeDirs);
process.once('exit', removeDirs); // a failed test skips its own clean-up

const serve = (window, dir = dbDir()) => startServer({ dir, args: ['--delivery-window', String(window)] });

// until(), saying at the timeout what state things were left in.
async function waitFor(fn, ms, what) {
  try {
    return await until(fn, ms);
  } catch {
    throw new Error(`timed out after ${ms} ms: ${what()}`);
  }
}

// A lean webhook receiver for large counts: per request it keeps only the
// event's sequence number and the status it answered. answer(seq, attempt)
// returns the status (200 when it returns nothing); attempt counts this
// receiver's requests for that seq from 1.
async function seqReceiver(answer = () => 200) {
  const log = []; // {seq, status} in arrival order
  const ok = []; // seqs answered 2xx, in arrival order
  const attempts = new Map();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const seq = JSON.parse(Buffer.concat(chunks).toString()).seq;
      const attempt = (attempts.get(seq) || 0) + 1;
      attempts.set(seq, attempt);
      const status = answer(seq, attempt) || 200;
      log.push({ seq, status });
      if (status < 300) ok.push(seq);
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    log,
    ok,
    set answer(fn) { answer = fn; },
    waitOk: (n, ms, what) => waitFor(() => ok.length >= n, ms, () => `${what}: ${ok.length} of ${n} delivered`),
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

// Ingest events with bodies {"seq": from..to-1}, inFlight at a time over
// keep-alive connections. Resolves ids, with ids[seq] the event id.
async function ingest(srv, src, from, to, inFlight = 32) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const { hostname, port } = new URL(srv.url);
  const ids = [];
  const post = (seq) => new Promise((resolve, reject) => {
    const body = JSON.stringify({ seq });
    const req = http.request({
      agent, host: hostname, port, path: `/v1/ingest/${src.id}`, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`ingest ${seq}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text).event_id);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  let next = from;
  try {
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < to) {
        const seq = next++;
        ids[seq] = await post(seq);
      }
    }));
  } finally {
    agent.destroy();
  }
  return ids;
}

// The seqs from..to-1 in ingest order (by event id).
const ingestOrder = (ids, from, to) =>
  Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => (ids[a] < ids[b] ? -1 : 1));

// A source connected to a new destination with the given settings.
async function route(srv, rx, extra) {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, ...extra });
  await makeConnection(srv, src.id, dst.id);
  return { src, dst };
}

const circuit = async (srv, dst) => (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
async function queuedIs(srv, dst, n, ms = 10000) {
  let last;
  await waitFor(async () => (last = (await circuit(srv, dst)).queued) === n, ms, () => `queued ${last}, not ${n}`);
}

async function resume(srv, dst) {
  const r = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { status: 'active' });
  assert.equal(r.status, 200, r.text);
}

// Each seq of want exactly once among the seqs got, in any order.
function assertExactlyOnce(got, want, what) {
  const seen = new Set();
  const dups = [];
  for (const s of got) {
    if (seen.has(s)) dups.push(s);
    seen.add(s);
  }
  assert.deepEqual(dups.slice(0, 10), [], `${what}: delivered more than once`);
  const missing = want.filter((s) => !seen.has(s));
  assert.deepEqual(missing.slice(0, 10), [], `${what}: never delivered (${missing.length})`);
  assert.equal(got.length, want.length, `${what}: count`);
}

// got equals want, element by element; says where they part.
function assertSameOrder(got, want, what) {
  const n = Math.max(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) {
      assert.fail(`${what}: at ${i} of ${want.length} got ${got.slice(i, i + 5)} (then …), ` +
        `expected ${want.slice(i, i + 5)} (then …); ${got.length} arrived`);
    }
  }
}

async function finish(srv, ...rxs) {
  for (const rx of rxs) await rx.close();
  const { code, signal } = await srv.stop();
  assert.equal(signal, null, srv.stderr);
  assert.equal(code, 0, srv.stderr);
}

// The two longest at once: the retry test spends its 20 s waiting for
// 1-second retry timers, while the 200,000 keep both cores busy.
describe('large backlogs and slow retries, side by side', { concurrency: 2 }, () => {
  // (a quarter of it under ASan, whose server is several times slower: that
  // run looks for memory errors, the plain one for scale; and on
  // PostgreSQL, where the commit of each attempt that a strict destination
  // waits for is a round trip to the server, ~0.35 ms: 200,000 in a row
  // would measure that, not the scheduler's paging)
  test('200,000 pending behind a paused strict destination: each delivered once, in ingest order (window 64)',
    { timeout: 130000 }, async () => {
      const N = process.env.HOOKSTREAM_ASAN || process.env.HOOKSTREAM_TEST_SERVER_PG ? 50000 : 200000;
      const srv = await serve(64);
      const rx = await seqReceiver();
      const { src, dst } = await route(srv, rx, { ordering: 'strict', max_concurrency: 1, status: 'paused' });
      const ids = await ingest(srv, src, 0, N);
      // read-your-writes: both reads count every delivery acknowledged before them
      const all = await srv.req('GET', '/v1/circuits');
      assert.equal(all.body.circuits.find((x) => x.destination_id === dst.id).queued, N, 'GET /v1/circuits');
      const c = await circuit(srv, dst);
      assert.equal(c.queued, N, 'every delivery queued while paused');
      assert.equal(c.in_flight, 0);
      assert.equal(rx.log.length, 0, 'nothing sent while paused');

      await resume(srv, dst);
      /* one at a time: ~3,000/s here, 63-83 s for 200,000 (a bound, not a figure) */
      await rx.waitOk(N, 110000, 'drain');
      await queuedIs(srv, dst, 0);
      assertSameOrder(rx.ok, ingestOrder(ids, 0, N), 'strict arrival order');
      assert.equal(rx.log.length, N, 'no attempt besides the N successful ones');
      await finish(srv, rx);
    });

  test('strict: retries hold the head across page boundaries (window 8)', { timeout: 40000 }, async () => {
    const N = 100; // 20 retries, a second each
    const srv = await serve(8);
    // the first attempt of every 5th event fails
    const rx = await seqReceiver((seq, attempt) => (seq % 5 === 4 && attempt === 1 ? 500 : 200));
    const { src, dst } = await route(srv, rx, {
      ordering: 'strict', max_concurrency: 1, status: 'paused',
      retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] }, // the shortest: 1 s
    });
    const ids = await ingest(srv, src, 0, N, 1);
    assert.equal((await circuit(srv, dst)).queued, N);
    await resume(srv, dst);
    await rx.waitOk(N, 35000, 'drain');
    await queuedIs(srv, dst, 0);
    const order = ingestOrder(ids, 0, N);
    assertSameOrder(rx.ok, order, 'successful arrivals');
    // and nothing overtook a failed event: each failure is followed by its retry
    const want = order.flatMap((seq) => [...(seq % 5 === 4 ? [{ seq, status: 500 }] : []), { seq, status: 200 }]);
    assert.deepEqual(rx.log, want);
    await finish(srv, rx);
  });
});

test('strict: a queue grown past the window while the circuit is open flushes in order after a reset (window 8)',
  { timeout: 30000 }, async () => {
    const K = 20; // queued before the circuit opens
    const M = 100; // and while it is open
    const srv = await serve(8);
    const rx = await seqReceiver(() => 500);
    const { src, dst } = await route(srv, rx, {
      ordering: 'strict', max_concurrency: 1,
      circuit_breaker: { threshold: 3, cooldown_ms: 1000 },
      retry_policy: { max_retries: 20, backoff_type: 'fixed', intervals: [1] },
    });
    // the head fails at 0, 1 and 2 s, holding the rest back: the circuit opens
    const ids = await ingest(srv, src, 0, K, 4);
    const open = await until(async () => { const x = await circuit(srv, dst); return x.state === 'open' ? x : null; },
      8000, 'circuit open');
    assert.equal(open.consecutive_failures, 3);
    const more = await ingest(srv, src, K, K + M, 4);
    for (let seq = K; seq < K + M; seq++) ids[seq] = more[seq];
    assert.equal((await circuit(srv, dst)).queued, K + M, 'nothing dropped while open');
    // after the cooldown one probe, the head, fails and the circuit opens again
    await until(() => rx.log.length >= 4, 5000, 'a probe');
    const order = ingestOrder(ids, 0, K + M);
    const before = rx.log.length;
    assert.deepEqual(rx.log.map((r) => r.seq), Array(before).fill(order[0]), 'only the head was tried while open');
    assert.ok(rx.log.every((r) => r.status === 500));

    rx.answer = () => 200;
    const r = await srv.req('POST', `/v1/destinations/${dst.id}/circuit/reset`);
    assert.equal(r.status, 200);
    assert.equal(r.body.state, 'closed');
    await rx.waitOk(K + M, 15000, 'flush');
    await queuedIs(srv, dst, 0);
    assertSameOrder(rx.ok, order, 'flush order');
    // everything tried since then succeeded, each once (a probe still out
    // at the reset was answered 200 too: it was the head)
    assert.equal(rx.log.length - before, K + M, 'each once after the reset');
    assert.equal((await circuit(srv, dst)).state, 'closed');
    await finish(srv, rx);
  });

test('kill -9 in the middle of a drain: all 5,000 arrive after the restart, strict order holds (window 16)',
  { timeout: 40000 }, async () => {
    const N = 5000;
    const KILL_AT = 1000;
    const dir = dbDir();
    let srv = await serve(16, dir);
    const crashed = srv;
    let inFlightAtKill;
    const rx = await seqReceiver((seq) => {
      // kill as the 1000th delivery arrives: it is in flight, its record unwritten
      if (rx.log.length + 1 === KILL_AT) { inFlightAtKill = seq; crashed.child.kill('SIGKILL'); }
      return 200;
    });
    const { src, dst } = await route(srv, rx, { ordering: 'strict', max_concurrency: 1, status: 'paused' });
    const ids = await ingest(srv, src, 0, N);
    assert.equal((await circuit(srv, dst)).queued, N);
    await resume(srv, dst);
    const { signal } = await crashed.exited;
    assert.equal(signal, 'SIGKILL');
    const before = rx.ok.length;
    assert.ok(before >= KILL_AT && before < N, `${before} delivered before the kill`);

    srv = await serve(16, dir);
    await waitFor(() => new Set(rx.ok).size === N, 30000, () => `${new Set(rx.ok).size} of ${N} delivered`);
    await queuedIs(srv, dst, 0);
    const order = ingestOrder(ids, 0, N);
    const firsts = [...new Set(rx.ok)];
    assertSameOrder(firsts, order, 'first arrivals');
    // strict sends the next only once the previous record is committed:
    // only the delivery in flight at the kill may come again, right after
    // the restart
    const dups = rx.ok.length - N;
    assert.ok(dups <= 1, `${dups} re-sent`);
    if (dups === 1) {
      assert.equal(rx.ok[before], inFlightAtKill, 're-sent is the one in flight at the kill');
      assert.equal(rx.ok[before - 1], inFlightAtKill);
    }
    assert.equal(rx.log.length, rx.ok.length, 'no failed attempts');
    await finish(srv, rx);
  });

test('best effort, 4 at a time: 20,000 pending, each delivered exactly once (window 32)', { timeout: 40000 },
  async () => {
    const N = 20000;
    const srv = await serve(32);
    const rx = await seqReceiver();
    const { src, dst } = await route(srv, rx, { ordering: 'best_effort', max_concurrency: 4, status: 'paused' });
    const ids = await ingest(srv, src, 0, N);
    assert.equal(ids.length, N);
    assert.equal((await circuit(srv, dst)).queued, N);
    await resume(srv, dst);
    await rx.waitOk(N, 30000, 'drain');
    await queuedIs(srv, dst, 0);
    assertExactlyOnce(rx.ok, ids.map((_, seq) => seq), 'best effort');
    assert.equal(rx.log.length, N, 'no attempt besides the N successful ones');
    await finish(srv, rx);
  });

// Best effort keeps a delivery that waits for its retry in the store, not in
// the window: with every first attempt failing, the retries of a window's
// worth pile up in the store while fresh deliveries keep going out, and each
// comes back when due (read with the due ones, never twice).
test('best effort: retries wait in the store while fresh deliveries flow; each arrives once (window 8)',
  { timeout: 40000 }, async () => {
    const N = 300;
    const srv = await serve(8);
    const rx = await seqReceiver((seq, attempt) => (attempt === 1 ? 500 : 200));
    const { src, dst } = await route(srv, rx, {
      ordering: 'best_effort', max_concurrency: 2, status: 'paused',
      retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] },
      circuit_breaker: { enabled: false },
    });
    const ids = await ingest(srv, src, 0, N);
    await resume(srv, dst);
    // every first attempt goes out before the first retry is due: fresh
    // ones are not held back behind the (far more than 8) waiting retries
    await rx.waitOk(N, 30000, 'all delivered on their second attempt');
    const firstOk = rx.log.findIndex((r) => r.status < 300);
    const failedBefore = rx.log.slice(0, firstOk).length;
    assert.ok(failedBefore > 8 * 4, `${failedBefore} first attempts failed before the first retry succeeded`);
    assertExactlyOnce(rx.ok, ids.map((_, seq) => seq), 'best effort with retries');
    assert.equal(rx.log.length, 2 * N, 'one failed and one successful attempt each');
    await queuedIs(srv, dst, 0);
    await finish(srv, rx);
  });

// What the scheduler read back from the store for a destination
// (hookstream_destination_read_back_total in /metrics).
async function readBack(srv, dst) {
  const r = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
  const m = (await r.text()).match(new RegExp(`^hookstream_destination_read_back_total\\{destination_id="${dst.id}"\\} (\\d+)$`, 'm'));
  assert.ok(m, 'the destination has a read_back sample');
  return Number(m[1]);
}

// A delivery goes from its ingest straight into the window, with the event
// it carries, while the destination keeps up; only a backlog past the window
// is read back from the store, and once it has drained the deliveries go
// straight again. (A delivery sent the other way costs a read of the queue
// and of its event; SQLite's fan-out once sent most of them that way under
// steady load: an unset field of the ingest's deliveries.) SQLite only: on
// PostgreSQL the store's periodic queue marks (src/cluster/) also bring in,
// by design, the few deliveries committed before their news arrived.
test('deliveries go straight from their ingest while the destination keeps up, and again after a backlog (window 16)',
  { timeout: 30000, skip: process.env.HOOKSTREAM_TEST_SERVER_PG && 'SQLite only: PostgreSQL\'s queue marks read ahead by design' },
  async () => {
    const srv = await serve(16);
    const rx = await seqReceiver();
    const { src, dst } = await route(srv, rx, { ordering: 'best_effort', max_concurrency: 1 });
    await ingest(srv, src, 0, 200, 1);
    await rx.waitOk(200, 10000, 'steady');
    assert.equal(await readBack(srv, dst), 0, 'steady: nothing read back');

    // a backlog: 40 queued while paused (a paused destination holds none in memory)
    assert.equal((await srv.req('PATCH', `/v1/destinations/${dst.id}`, { status: 'paused' })).status, 200);
    await ingest(srv, src, 200, 240, 8);
    await resume(srv, dst);
    await rx.waitOk(240, 10000, 'backlog');
    await queuedIs(srv, dst, 0);
    const after = await readBack(srv, dst);
    assert.ok(after >= 40, `the backlog was read back: ${after}`);

    await ingest(srv, src, 240, 440, 1);
    await rx.waitOk(440, 10000, 'steady again');
    assert.equal(await readBack(srv, dst), after, 'steady again: nothing more read back');
    assertExactlyOnce(rx.ok, Array.from({ length: 440 }, (_, i) => i), 'every delivery');
    await finish(srv, rx);
  });

// A fan-out whose deliveries wait in the store: each destination's fills
// read them back with their events; every destination gets each event
// once, with that event's own body and id.
test('fan-out to paused destinations: each gets every event once, with its own body (window 16)',
  { timeout: 30000 }, async () => {
    const N = 300;
    const srv = await serve(16);
    const got = [[], [], []];
    const servers = await Promise.all(got.map((list) => new Promise((resolve) => {
      const s = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          list.push({ seq: JSON.parse(Buffer.concat(chunks).toString()).seq, id: req.headers['x-hookstream-event-id'] });
          res.end('ok');
        });
      });
      s.listen(0, '127.0.0.1', () => resolve(s));
    })));
    const src = await makeSource(srv);
    const dsts = [];
    for (const s of servers) {
      const dst = await makeDestination(srv, {
        config: { url: `http://127.0.0.1:${s.address().port}/hook` }, status: 'paused',
      });
      await makeConnection(srv, src.id, dst.id);
      dsts.push(dst);
    }
    const ids = await ingest(srv, src, 0, N, 8);
    for (const dst of dsts) await resume(srv, dst);
    await waitFor(() => got.every((l) => l.length >= N), 20000, () => `${got.map((l) => l.length)} of ${N}`);
    for (const [k, list] of got.entries()) {
      assertExactlyOnce(list.map((x) => x.seq), ids.map((_, seq) => seq), `destination ${k}`);
      for (const { seq, id } of list) assert.equal(id, ids[seq], `destination ${k}: the body of event ${seq} came with ${id}`);
    }
    for (const s of servers) { s.closeAllConnections(); await new Promise((r) => s.close(r)); }
    await finish(srv);
  });
