// The DeliveryScheduler and the http provider against receivers we control:
// what arrives, what is recorded, failures of every kind, signatures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function route(extraDest = {}) {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, extraDest);
  await makeConnection(srv, src.id, dst.id);
  return { src, dst };
}

async function ingest(src, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}?x=1`, { method: 'POST', headers, body });
  assert.equal(r.status, 200);
  return (await r.json()).event_id;
}

async function eventWhen(id, pred, what) {
  return until(async () => {
    const e = await srv.req('GET', `/v1/events/${id}`);
    return pred(e.body) ? e.body : null;
  }, 10000, what);
}

test('a delivery arrives once, with its body and headers, and is recorded', async () => {
  const rx = await startReceiver(() => ({ status: 200, body: 'thanks', headers: { 'x-reply': 'a' } }));
  const { src, dst } = await route({ config: { url: rx.url, headers: { 'X-Custom': 'yes' } } });
  const body = JSON.stringify({ type: 'order.created', n: 1 });
  const id = await ingest(src, body);
  await rx.waitFor(1);
  const r = rx.requests[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.url, '/hook');
  assert.equal(r.body.toString(), body);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-custom'], 'yes');
  assert.equal(r.headers['x-hookstream-event-id'], id);
  assert.match(r.headers['x-hookstream-delivery-id'], /^dlv_[0-9a-f]{32}$/);
  assert.equal(r.headers['x-hookstream-delivery-attempt'], '1');
  assert.ok(Math.abs(Date.parse(r.headers['x-hookstream-timestamp']) - Date.now()) < 5000);

  const e = await eventWhen(id, (b) => b.status === 'delivered', 'delivered');
  assert.equal(e.deliveries[0].status, 'delivered');
  assert.equal(e.deliveries[0].attempts, 1);
  assert.equal(e.attempts.length, 1);
  const a = e.attempts[0];
  assert.match(a.id, /^da_/);
  assert.equal(a.status, 'success');
  assert.equal(a.attempt_number, 1);
  assert.equal(a.response_status, 200);
  assert.equal(a.response_body, 'thanks');
  assert.equal(a.response_headers['x-reply'], 'a');
  assert.equal(a.request_url, rx.url);
  assert.equal(a.request_method, 'POST');
  assert.equal(a.request_headers['X-Custom'], 'yes');
  assert.equal(a.destination_id, dst.id);
  assert.equal(a.is_dlq, false);
  assert.equal(a.error, null);
  assert.ok(a.duration_ms >= 0);

  const one = await srv.req('GET', `/v1/delivery-attempts/${a.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, a);
  const list = await srv.req('GET', `/v1/delivery-attempts?destination_id=${dst.id}`);
  assert.equal(list.body.delivery_attempts.length, 1);
  await sleep(300);
  assert.equal(rx.requests.length, 1, 'delivered exactly once');
  await rx.close();
});

test('binary bodies and methods go out as stored; auth secrets are masked in the record', async () => {
  const rx = await startReceiver();
  const { src } = await route({
    config: { url: rx.url, method: 'PUT', auth: { type: 'bearer', token: 'tok-secret-123' } },
  });
  const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
  const id = await ingest(src, bin, { 'content-type': 'application/octet-stream' });
  await rx.waitFor(1);
  assert.equal(rx.requests[0].method, 'PUT');
  assert.deepEqual(rx.requests[0].body, bin);
  assert.equal(rx.requests[0].headers['content-type'], 'application/octet-stream');
  assert.equal(rx.requests[0].headers.authorization, 'Bearer tok-secret-123');
  const e = await eventWhen(id, (b) => b.attempts.length === 1, 'attempt');
  assert.equal(e.attempts[0].request_headers.Authorization, '********');
  assert.ok(!JSON.stringify(e.attempts[0]).includes('tok-secret-123'));
  await rx.close();
});

test('basic and api_key auth reach the receiver', async () => {
  const rx = await startReceiver();
  const a = await route({ config: { url: rx.url, auth: { type: 'basic', username: 'u', password: 'p@ss' } } });
  const b = await route({ config: { url: rx.url, auth: { type: 'api_key', header: 'X-Key', key: 'k-123' } } });
  await ingest(a.src, '{}');
  await rx.waitFor(1);
  await ingest(b.src, '{}');
  await rx.waitFor(2);
  assert.equal(rx.requests[0].headers.authorization, 'Basic ' + Buffer.from('u:p@ss').toString('base64'));
  assert.equal(rx.requests[1].headers['x-key'], 'k-123');
  await rx.close();
});

test('hookstream signatures verify with node crypto (sha256 + timestamp, sha1)', async () => {
  const rx = await startReceiver();
  const s1 = await route({
    config: { url: rx.url },
    signing: { secret: 'shh-its-a-secret', include_timestamp: true },
  });
  const s2 = await route({ config: { url: rx.url }, signing: { secret: 'another-secret-16', algorithm: 'sha1' } });
  const body = '{"signed":true}';
  await ingest(s1.src, body);
  await rx.waitFor(1);
  await ingest(s2.src, body);
  await rx.waitFor(2);
  const r1 = rx.requests[0];
  const ts = r1.headers['x-hookstream-signature-timestamp'];
  assert.match(ts, /^\d+$/);
  const want1 = 'sha256=' + crypto.createHmac('sha256', 'shh-its-a-secret').update(`${ts}.${body}`).digest('hex');
  assert.equal(r1.headers['x-hookstream-signature'], want1);
  const r2 = rx.requests[1];
  assert.equal(r2.headers['x-hookstream-signature'], 'sha1=' + crypto.createHmac('sha1', 'another-secret-16').update(body).digest('hex'));
  await rx.close();
});

test('standard_webhooks signatures verify', async () => {
  const rx = await startReceiver();
  const key = crypto.randomBytes(24);
  const { src } = await route({
    config: { url: rx.url },
    signing: { scheme: 'standard_webhooks', secret: 'whsec_' + key.toString('base64') },
  });
  const body = '{"hello":"world"}';
  await ingest(src, body);
  await rx.waitFor(1);
  const h = rx.requests[0].headers;
  assert.equal(h['webhook-id'], h['x-hookstream-delivery-id']);
  const signed = `${h['webhook-id']}.${h['webhook-timestamp']}.${body}`;
  const want = 'v1,' + crypto.createHmac('sha256', key).update(signed).digest('base64');
  assert.equal(h['webhook-signature'], want);
  await rx.close();
});

async function firstAttempt(src, body = '{}') {
  const id = await ingest(src, body);
  const e = await eventWhen(id, (b) => b.attempts.length >= 1, 'an attempt');
  return e.attempts[0];
}

test('failures are recorded: 500, timeout, refused, reset; a slow body within the timeout succeeds', async () => {
  const rx500 = await startReceiver(() => ({ status: 500, body: 'boom' }));
  let a = await firstAttempt((await route({ config: { url: rx500.url } })).src);
  assert.equal(a.status, 'failed');
  assert.equal(a.response_status, 500);
  assert.equal(a.response_body, 'boom');
  assert.match(a.error, /500/);
  assert.ok(a.next_retry_at, 'a retry is planned');

  const rxHang = await startReceiver(() => ({ hang: true }));
  const t0 = Date.now();
  a = await firstAttempt((await route({ config: { url: rxHang.url, timeout_ms: 500 } })).src);
  assert.equal(a.status, 'failed');
  assert.equal(a.response_status, null);
  assert.match(a.error, /time/i);
  assert.ok(Date.now() - t0 >= 450 && a.duration_ms >= 450 && a.duration_ms < 3000, `took ${a.duration_ms} ms`);

  const closed = net.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  a = await firstAttempt((await route({ config: { url: `http://127.0.0.1:${port}/x` } })).src);
  assert.equal(a.status, 'failed');
  assert.match(a.error, /refused|connect/i);

  const rxReset = await startReceiver(() => ({ reset: true }));
  a = await firstAttempt((await route({ config: { url: rxReset.url } })).src);
  assert.equal(a.status, 'failed');
  assert.ok(a.error && a.error.length > 0);

  // a receiver that trickles its answer, finishing before the timeout
  const slow = http200Trickle();
  await slow.ready;
  a = await firstAttempt((await route({ config: { url: `http://127.0.0.1:${slow.port}/`, timeout_ms: 3000 } })).src);
  assert.equal(a.status, 'success');
  assert.equal(a.response_body, 'abcdef');
  slow.server.close();
  for (const r of [rx500, rxHang, rxReset]) await r.close();
});

function http200Trickle() {
  const server = net.createServer((sock) => {
    sock.once('data', async () => {
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n');
      for (const ch of 'abcdef') { await sleep(100); sock.write(ch); }
      sock.end();
    });
  });
  const out = { server, port: 0 };
  out.ready = new Promise((r) => server.listen(0, '127.0.0.1', () => { out.port = server.address().port; r(); }));
  return out;
}

// A fan-out event's deliveries settle together, so their attempt records
// share write transactions: the event's counters (written once per event
// and transaction) must still come out exact.
test('fan-out: each event ends delivered, or failed when any delivery is dead-lettered', async () => {
  const ok = await startReceiver(() => ({ status: 200 }));
  const bad = await startReceiver(() => ({ status: 500 }));
  const healthy = await makeSource(srv);
  const mixed = await makeSource(srv);
  const noRetry = { retry_policy: { max_retries: 0, backoff_type: 'fixed', intervals: [1] } };
  for (let i = 0; i < 12; i++) {
    const d = await makeDestination(srv, { config: { url: ok.url }, ...noRetry });
    await makeConnection(srv, healthy.id, d.id);
    await makeConnection(srv, mixed.id, d.id);
  }
  const failing = await makeDestination(srv, { config: { url: bad.url }, ...noRetry });
  await makeConnection(srv, mixed.id, failing.id);
  const good = [], failed = [];
  for (let i = 0; i < 4; i++) {
    good.push(await ingest(healthy, JSON.stringify({ i })));
    failed.push(await ingest(mixed, JSON.stringify({ i })));
  }
  for (const id of good) {
    const e = await eventWhen(id, (b) => b.status !== 'processing', 'settled');
    assert.equal(e.status, 'delivered');
    assert.equal(e.deliveries.length, 12);
    assert.ok(e.deliveries.every((d) => d.status === 'delivered'));
  }
  for (const id of failed) {
    const e = await eventWhen(id, (b) => b.status !== 'processing', 'settled');
    assert.equal(e.status, 'failed');
    assert.equal(e.deliveries.length, 13);
    assert.equal(e.deliveries.filter((d) => d.status === 'dlq').length, 1);
    assert.equal(e.deliveries.filter((d) => d.status === 'delivered').length, 12);
  }
  // a retry from the DLQ reopens the event; the receiver now answers 200
  bad.behave = () => ({ status: 200 });
  const e0 = (await srv.req('GET', `/v1/events/${failed[0]}`)).body;
  const dead = e0.attempts.find((a) => a.is_dlq);
  assert.equal((await srv.req('POST', `/v1/delivery-attempts/${dead.id}/retry`)).status, 202);
  const again = await eventWhen(failed[0], (b) => b.status === 'delivered', 'delivered after the retry');
  assert.ok(again.deliveries.every((d) => d.status === 'delivered'));
  for (const id of failed.slice(1)) assert.equal((await srv.req('GET', `/v1/events/${id}`)).body.status, 'failed');
  await ok.close();
  await bad.close();
});

test('max_concurrency 1: one at a time, in the order of arrival', async () => {
  const rx = await startReceiver(() => ({ delayMs: 20 }));
  const { src } = await route({ config: { url: rx.url } });
  const ids = [];
  for (let i = 0; i < 15; i++) ids.push(await ingest(src, JSON.stringify({ i })));
  await rx.waitFor(15);
  assert.deepEqual(rx.requests.map((r) => JSON.parse(r.body).i), [...Array(15).keys()]);
  assert.deepEqual(rx.requests.map((r) => r.headers['x-hookstream-event-id']), ids);
  assert.equal(rx.maxInFlight, 1);
  await rx.close();
});

test('max_concurrency 4 overlaps requests', async () => {
  const rx = await startReceiver(() => ({ delayMs: 150 }));
  const { src } = await route({ config: { url: rx.url }, max_concurrency: 4 });
  for (let i = 0; i < 8; i++) await ingest(src, JSON.stringify({ i }));
  await rx.waitFor(8);
  assert.ok(rx.maxInFlight >= 3 && rx.maxInFlight <= 4, `max in flight ${rx.maxInFlight}`);
  await rx.close();
});

test('a paused destination queues; resuming sends in order; config changes apply', async () => {
  const rx = await startReceiver();
  const { src, dst } = await route({ config: { url: rx.url }, status: 'paused' });
  await ingest(src, '{"i":0}');
  await ingest(src, '{"i":1}');
  await sleep(400);
  assert.equal(rx.requests.length, 0);
  const c = await srv.req('GET', `/v1/destinations/${dst.id}/circuit`);
  assert.equal(c.body.queued, 2);
  const rx2 = await startReceiver();
  const p = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { status: 'active', config: { url: rx2.url } });
  assert.equal(p.status, 200);
  await rx2.waitFor(2);
  assert.deepEqual(rx2.requests.map((r) => JSON.parse(r.body).i), [0, 1]);
  assert.equal(rx.requests.length, 0);
  await rx.close();
  await rx2.close();
});

test('deleting a destination stops its deliveries', async () => {
  const rx = await startReceiver();
  const { src, dst } = await route({ config: { url: rx.url }, status: 'paused' });
  const id = await ingest(src, '{}');
  assert.equal((await srv.req('DELETE', `/v1/destinations/${dst.id}`)).status, 409); // still connected
  const conns = await srv.req('GET', `/v1/connections?destination_id=${dst.id}`);
  for (const c of conns.body.connections) await srv.req('DELETE', `/v1/connections/${c.id}`);
  assert.equal((await srv.req('DELETE', `/v1/destinations/${dst.id}`)).status, 200);
  assert.equal((await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).status, 404);
  const e = await srv.req('GET', `/v1/events/${id}`);
  assert.equal(e.body.deliveries[0].status, 'cancelled');
  await sleep(200);
  assert.equal(rx.requests.length, 0);
  await rx.close();
});

test('attempt list filters and validation', async () => {
  let r = await srv.req('GET', '/v1/delivery-attempts?status=bogus');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'status');
  r = await srv.req('GET', '/v1/delivery-attempts?is_dlq=maybe');
  assert.equal(r.status, 400);
  r = await srv.req('GET', '/v1/delivery-attempts?event_id=nope');
  assert.equal(r.status, 400);
  r = await srv.req('GET', '/v1/delivery-attempts?unknown=1');
  assert.equal(r.status, 400);
  r = await srv.req('GET', '/v1/delivery-attempts/da_00000000000000000000000000000000');
  assert.equal(r.status, 404);
  r = await srv.req('POST', '/v1/delivery-attempts/da_00000000000000000000000000000000/retry');
  assert.equal(r.status, 404);
  r = await srv.req('GET', '/v1/delivery-attempts?limit=2&status=success');
  assert.equal(r.status, 200);
  assert.ok(r.body.delivery_attempts.length <= 2);
  for (const a of r.body.delivery_attempts) assert.equal(a.status, 'success');
  r = await srv.req('GET', '/v1/destinations/dst_00000000000000000000000000000000/circuit');
  assert.equal(r.status, 404);
  r = await srv.req('DELETE', '/v1/destinations/dst_00000000000000000000000000000000/circuit');
  assert.equal(r.status, 405);
});
