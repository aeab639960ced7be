// Several loop threads (--threads): connections are spread over them (the
// listening loop hands every other one over, src/http/server.c), ingest is
// answered where it arrives and the rest of the API on the first loop;
// destinations are split among them by a hash of their ids
// (src/delivery/scheduler.c), each delivering from its own. Everything a
// user sees must be as with one thread: order per destination, every event
// once, the API on any connection, the circuit API, metrics, the live feed,
// websocket clients and destinations (whose hub lives on the first loop),
// deletes, and a clean stop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { BIN, startServer, stopClean, makeSource, makeDestination, makeConnection, API_KEY } from './lib/server.mjs';
import { startReceiver, until, sleep } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const WebSocket = createRequire(PEERS_DIR + '/')('ws');
const THREADS = 4;
// The scheduler's choice of thread: FNV-1a of the id, modulo the threads.
function threadOf(id) {
  let h = 2166136261;
  for (const c of Buffer.from(id)) h = Math.imul(h ^ c, 16777619) >>> 0;
  return h % THREADS;
}

let srv;
const open = [];
before(async () => { srv = await startServer({ args: ['--threads', String(THREADS)], logLevel: 'info' }); });
after(async () => {
  for (const o of open) await o.close();
  if (srv) await stopClean(srv);
});

// Destinations (made by make()) until every thread has at least `each`.
async function onEveryThread(each, make) {
  const made = [];
  const per = new Array(THREADS).fill(0);
  while (per.some((n) => n < each)) {
    assert.ok(made.length < 64, 'ids spread over the threads');
    const d = await make(made.length);
    made.push(d);
    per[threadOf(d.id)]++;
  }
  return made;
}

async function ingest(src, body) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 200);
  return (await r.json()).event_id;
}

async function subscribe(channel) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${API_KEY}`);
  const msgs = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  open.push({ close: () => ws.terminate() });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ type: 'subscribe', channel }));
  await until(() => msgs.some((m) => m.type === 'subscribed'), 5000, 'subscribed');
  return msgs;
}

async function attemptsMetric(id) {
  const r = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(r.status, 200);
  const text = await r.text();
  const m = text.match(new RegExp(`hookstream_delivery_attempts_total\\{destination_id="${id}",outcome="success"\\} (\\d+)`));
  return { n: m ? Number(m[1]) : 0, text };
}

test('the server says how many loop threads it runs', async () => {
  await until(() => /on 4 loop threads/.test(srv.stderr), 5000, 'the scheduler line');
});

test('on every thread: each destination gets every event once, in order; circuits, metrics and the live feed see them all', { timeout: 60000 }, async () => {
  const live = await subscribe('hookstream.deliveries');
  const rx = await startReceiver();
  open.push(rx);
  const src = await makeSource(srv);
  const dsts = await onEveryThread(2, async (i) => {
    const d = await makeDestination(srv, { config: { url: `${rx.url}/${i}` }, ordering: 'strict' });
    await makeConnection(srv, src.id, d.id);
    return d;
  });
  const N = 40;
  const ids = [];
  for (let n = 0; n < N; n++) ids.push(await ingest(src, JSON.stringify({ n })));
  await rx.waitFor(N * dsts.length, 30000);
  await sleep(200);
  assert.equal(rx.requests.length, N * dsts.length, 'nothing sent twice');
  dsts.forEach((d, i) => {
    const got = rx.requests.filter((r) => r.url === `/hook/${i}`).map((r) => JSON.parse(r.body).n);
    assert.deepEqual(got, [...Array(N).keys()], `destination ${i} (thread ${threadOf(d.id)}) in order`);
  });

  // the circuit list gathers every thread's destinations; each circuit answers
  const list = await srv.req('GET', '/v1/circuits');
  assert.equal(list.status, 200);
  for (const d of dsts) {
    const c = list.body.circuits.find((x) => x.destination_id === d.id);
    assert.ok(c, `${d.id} listed`);
    assert.deepEqual([c.state, c.queued, c.in_flight, c.type], ['closed', 0, 0, 'http']);
    const one = await srv.req('GET', `/v1/destinations/${d.id}/circuit`);
    assert.equal(one.status, 200);
    assert.equal(one.body.destination_id, d.id);
    assert.equal(one.body.state, 'closed');
  }
  const missing = await srv.req('GET', '/v1/destinations/dst_nothing/circuit');
  assert.equal(missing.status, 404);
  assert.match(missing.body.error, /no destination/);

  // every attempt is counted (the shards' hooks reach the server's loop)
  for (const d of dsts) assert.equal((await attemptsMetric(d.id)).n, N, `${d.id} counted`);
  const text = (await attemptsMetric(dsts[0].id)).text;
  for (const d of dsts) assert.match(text, new RegExp(`hookstream_destination_queue_depth\\{destination_id="${d.id}",type="http"\\} 0`));
  // and shown live
  await until(() => live.filter((m) => m.type === 'delivery.attempt').length >= N * dsts.length, 10000, 'live attempts');
  for (const d of dsts) {
    const mine = live.filter((m) => m.type === 'delivery.attempt' && m.data.attempt.destination_id === d.id);
    assert.equal(mine.length, N);
    assert.equal(mine[0].data.destination.id, d.id);
  }
  const ev = await srv.req('GET', `/v1/events/${ids[N - 1]}`);
  assert.equal(ev.body.status, 'delivered');
  assert.equal(ev.body.deliveries.length, dsts.length);
});

test('a circuit on another thread opens, is reset over the API and the reset is shown live', { timeout: 30000 }, async () => {
  const live = await subscribe('hookstream.deliveries');
  const rx = await startReceiver(() => ({ status: 500 }));
  open.push(rx);
  const src = await makeSource(srv);
  let dst;
  for (let i = 0; i < 64 && !dst; i++) {
    const d = await makeDestination(srv, {
      config: { url: rx.url }, retry_policy: { max_retries: 0 }, circuit_breaker: { threshold: 1, cooldown_ms: 600000 },
    });
    if (threadOf(d.id) !== 0) dst = d;
  }
  await makeConnection(srv, src.id, dst.id);
  await ingest(src, '{}');
  await until(async () => (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body.state === 'open', 10000, 'open');
  await ingest(src, '{}');
  const held = await until(async () => {
    const c = (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
    return c.queued === 1 ? c : null;
  }, 5000, 'one queued behind the open circuit');
  assert.equal(held.in_flight, 0);
  rx.behave = () => ({ status: 200 });
  const r = await srv.req('POST', `/v1/destinations/${dst.id}/circuit/reset`);
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'closed');
  assert.equal(r.body.destination_id, dst.id);
  await until(() => live.some((m) => m.type === 'circuit.reset' && m.data.destination.id === dst.id && m.data.destination.circuit === 'closed'), 5000, 'circuit.reset live');
  await rx.waitFor(2); // the held one goes once the circuit is closed
  const gone = await srv.req('POST', '/v1/destinations/dst_nothing/circuit/reset');
  assert.equal(gone.status, 404);
});

test('websocket destinations on every thread broadcast through the hub', { timeout: 30000 }, async () => {
  const src = await makeSource(srv);
  const dsts = await onEveryThread(1, async (i) => {
    const d = await makeDestination(srv, { type: 'websocket', config: { channel_name: `t.${i}` } });
    await makeConnection(srv, src.id, d.id);
    return d;
  });
  const clients = [];
  for (let i = 0; i < dsts.length; i++) clients.push(await subscribe(`t.${i}`));
  const id = await ingest(src, JSON.stringify({ hello: 'ws' }));
  for (let i = 0; i < dsts.length; i++) {
    await until(() => clients[i].some((m) => m.type === 'event.delivered'), 10000, `broadcast on t.${i}`);
    const m = clients[i].find((x) => x.type === 'event.delivered');
    assert.deepEqual(m.data, { event_id: id, destination_id: dsts[i].id, payload: { hello: 'ws' } });
  }
  const ev = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${id}`)).body;
    return e.status === 'delivered' ? e : null;
  }, 10000, 'delivered');
  for (const a of ev.attempts) assert.deepEqual(JSON.parse(a.response_body), { subscribers: 1, dropped: 0 });
});

test('deleting destinations with deliveries out on other threads: their series go, the rest go on', { timeout: 30000 }, async () => {
  const slow = await startReceiver(() => ({ delayMs: 300 }));
  open.push(slow);
  const src = await makeSource(srv);
  const dsts = await onEveryThread(1, async () => {
    const d = await makeDestination(srv, { config: { url: slow.url }, max_concurrency: 2 });
    await makeConnection(srv, src.id, d.id);
    return d;
  });
  for (let n = 0; n < 10; n++) await ingest(src, JSON.stringify({ n }));
  await slow.waitFor(dsts.length); // attempts are out everywhere
  for (const d of dsts) {
    await srv.req('DELETE', `/v1/connections/${(await srv.req('GET', `/v1/connections?destination_id=${d.id}`)).body.connections[0].id}`);
    const r = await srv.req('DELETE', `/v1/destinations/${d.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.deleted, true);
  }
  await sleep(800); // the attempts that were out conclude
  const { text } = await attemptsMetric('none');
  for (const d of dsts) assert.doesNotMatch(text, new RegExp(d.id), 'no series of a deleted destination');
  const list = await srv.req('GET', '/v1/circuits');
  for (const d of dsts) assert.ok(!list.body.circuits.some((c) => c.destination_id === d.id));
});

// One keep-alive connection per agent: with 8 of them, connections land on
// every loop (handed over in turn).
function agents(n) { return Array.from({ length: n }, () => new http.Agent({ keepAlive: true, maxSockets: 1 })); }
function call(agent, method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(srv.url + path);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, agent, headers: {
      'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: json, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('over connections on every loop: ingests keep their order, the API answers on each, nothing is lost', { timeout: 60000 }, async () => {
  const rx = await startReceiver();
  open.push(rx);
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, ordering: 'strict' });
  await makeConnection(srv, src.id, dst.id);
  const ag = agents(8);
  // one after the other, each over the next connection: their commit order
  // is this order, and so must be their delivery order
  for (let n = 0; n < 120; n++) {
    const r = await call(ag[n % 8], 'POST', `/v1/ingest/${src.id}`, JSON.stringify({ n }));
    assert.equal(r.status, 200, r.text);
  }
  // every connection also serves the rest of the API (handled on the first loop)
  for (const a of ag) {
    const list = await call(a, 'GET', `/v1/destinations/${dst.id}`);
    assert.equal(list.status, 200);
    assert.equal(list.body.id, dst.id);
    const none = await call(a, 'GET', '/v1/nothing-here');
    assert.equal(none.status, 404);
    assert.match(none.body.error, /no route/);
    const health = await call(a, 'GET', '/health');
    assert.equal(health.status, 200);
  }
  // and all at once: every one delivered, once
  await Promise.all(Array.from({ length: 200 }, (_, i) =>
    call(ag[i % 8], 'POST', `/v1/ingest/${src.id}`, JSON.stringify({ n: 120 + i })).then((r) => assert.equal(r.status, 200))));
  await rx.waitFor(320, 30000);
  await sleep(200);
  const got = rx.requests.map((r) => JSON.parse(r.body).n);
  assert.equal(got.length, 320, 'each once');
  assert.deepEqual(got.slice(0, 120), [...Array(120).keys()], 'in commit order');
  assert.deepEqual([...got].sort((a, b) => a - b), [...Array(320).keys()]);
  for (const a of ag) a.destroy();
});

test('WebSocket clients on connections of every loop get the live feed', { timeout: 30000 }, async () => {
  const clients = [];
  for (let i = 0; i < 8; i++) clients.push(await subscribe('hookstream.events'));
  const src = await makeSource(srv);
  const id = await ingest(src, '{}');
  for (const msgs of clients)
    await until(() => msgs.some((m) => m.type === 'event.received' && m.data.event_id === id), 5000, 'event.received');
});

test('--threads takes 1 to 64 (and HOOKSTREAM_THREADS), and refuses anything else', () => {
  const run = (args, env = {}) => spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10000 });
  for (const v of ['1', '64']) assert.equal(run(['serve', '--threads', v, '--help']).status, 0, v);
  for (const v of ['0', '65', 'x', '', '-1', '2.5']) {
    const r = run(['serve', '--threads', v, '--help']);
    assert.equal(r.status, 2, v);
    assert.ok(r.stderr.startsWith('hookstream: --threads: expected '), r.stderr);
  }
  assert.equal(run(['serve', '--help'], { HOOKSTREAM_THREADS: '3' }).status, 0);
  const bad = run(['serve', '--help'], { HOOKSTREAM_THREADS: '0' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^hookstream: HOOKSTREAM_THREADS: expected /);
});
