// The circuit breaker: opening at the threshold, queueing, the half-open
// probe, closing and flushing in order, re-opening, manual reset, restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

const ARGS = ['--allow-private-destinations'];
// retries far away, so that only new deliveries and probes reach the receiver
const POLICY = { retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [3600] } };

async function setup(srv, rx, cooldown = 1000) {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, {
    config: { url: rx.url }, circuit_breaker: { threshold: 3, cooldown_ms: cooldown }, ...POLICY,
  });
  await makeConnection(srv, src.id, dst.id);
  return { src, dst };
}

async function ingest(srv, src, i) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: JSON.stringify({ i }) });
  assert.equal(r.status, 200);
}

const circuit = async (srv, dst) => (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
const order = (rx, from = 0) => rx.requests.slice(from).map((r) => JSON.parse(r.body).i);

test('opens at the threshold, queues, probes once after the cooldown, closes and flushes in order', async () => {
  const srv = await startServer({ args: ARGS });
  let ok = false;
  const rx = await startReceiver(() => ({ status: ok ? 200 : 500 }));
  const { src, dst } = await setup(srv, rx, 1500);
  let c = await circuit(srv, dst);
  assert.equal(c.state, 'closed');
  assert.equal(c.threshold, 3);
  for (let i = 0; i < 3; i++) await ingest(srv, src, i);
  await rx.waitFor(3);
  c = await until(async () => { const x = await circuit(srv, dst); return x.state === 'open' ? x : null; }, 3000, 'open');
  assert.equal(c.consecutive_failures, 3);
  assert.ok(c.opened_at && c.next_probe_at);
  assert.equal(Date.parse(c.next_probe_at) - Date.parse(c.opened_at), 1500);
  const opened = Date.now();
  for (let i = 3; i < 6; i++) await ingest(srv, src, i);
  await sleep(500);
  assert.equal(rx.requests.length, 3, 'nothing sent while open');
  c = await circuit(srv, dst);
  assert.equal(c.queued, 6, 'three new plus three waiting for their retry: none dropped');

  ok = true;
  await rx.waitFor(4, 5000);
  assert.ok(rx.requests[3].at - opened >= 800, 'the probe waits for the cooldown');
  assert.equal(JSON.parse(rx.requests[3].body).i, 3, 'the probe is the oldest queued delivery');
  await rx.waitFor(6, 5000);
  assert.deepEqual(order(rx, 3), [3, 4, 5], 'the queue flushes in order');
  c = await circuit(srv, dst);
  assert.equal(c.state, 'closed');
  assert.equal(c.consecutive_failures, 0);
  await rx.close();
  await srv.stop();
  srv.cleanup();
});

test('a failed probe re-opens with a new cooldown; exactly one probe at a time; manual reset', async () => {
  const srv = await startServer({ args: ARGS });
  const rx = await startReceiver(() => ({ status: 500, delayMs: 100 }));
  const { src, dst } = await setup(srv, rx, 1000);
  for (let i = 0; i < 3; i++) await ingest(srv, src, i);
  await until(async () => (await circuit(srv, dst)).state === 'open', 3000, 'open');
  const first = await circuit(srv, dst);
  for (let i = 3; i < 6; i++) await ingest(srv, src, i);
  await rx.waitFor(4, 4000); // the probe
  await sleep(150);
  const again = await until(async () => {
    const x = await circuit(srv, dst);
    return x.state === 'open' && x.opened_at !== first.opened_at ? x : null;
  }, 3000, 're-opened');
  assert.ok(Date.parse(again.next_probe_at) > Date.parse(first.next_probe_at));
  assert.equal(rx.requests.length, 4, 'one probe, not the whole queue');
  assert.equal(rx.maxInFlight, 1);

  // manual reset: closed at once, and the queue flushes
  rx.behave = () => ({ status: 200 });
  const r = await srv.req('POST', `/v1/destinations/${dst.id}/circuit/reset`);
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'closed');
  assert.equal(r.body.consecutive_failures, 0);
  assert.equal(r.body.destination_id, dst.id);
  await rx.waitFor(6, 3000);
  assert.deepEqual(order(rx, 4), [4, 5]);
  assert.equal((await srv.req('POST', '/v1/destinations/dst_00000000000000000000000000000000/circuit/reset')).status, 404);
  await rx.close();
  await srv.stop();
  srv.cleanup();
});

test('an open circuit and its queue survive a restart', async () => {
  let srv = await startServer({ args: ARGS });
  let ok = false;
  const rx = await startReceiver(() => ({ status: ok ? 200 : 500 }));
  const { src, dst } = await setup(srv, rx, 2500);
  for (let i = 0; i < 3; i++) await ingest(srv, src, i);
  await until(async () => (await circuit(srv, dst)).state === 'open', 3000, 'open');
  await ingest(srv, src, 3);
  const before = await circuit(srv, dst);
  await srv.stop();
  srv = await startServer({ args: ARGS, dir: srv.dir });
  const c = await circuit(srv, dst);
  assert.equal(c.state, 'open');
  assert.equal(c.consecutive_failures, 3);
  assert.equal(c.next_probe_at, before.next_probe_at);
  assert.equal(c.queued, 4);
  await sleep(300);
  assert.equal(rx.requests.length, 3, 'still open after the restart');
  ok = true;
  await rx.waitFor(4, 5000);
  assert.equal(JSON.parse(rx.requests[3].body).i, 3);
  await until(async () => (await circuit(srv, dst)).state === 'closed', 3000, 'closed');
  await rx.close();
  await srv.stop();
  srv.cleanup();
});

test('with the breaker disabled every delivery is tried', async () => {
  const srv = await startServer({ args: ARGS });
  const rx = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, circuit_breaker: { enabled: false }, ...POLICY });
  await makeConnection(srv, src.id, dst.id);
  for (let i = 0; i < 7; i++) await ingest(srv, src, i);
  await rx.waitFor(7, 5000);
  assert.equal((await circuit(srv, dst)).state, 'closed');
  await rx.close();
  await srv.stop();
  srv.cleanup();
});
