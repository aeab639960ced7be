// kafka destinations through the real binary, against the Confluent REST
// Proxy v3 stand-in tests/peers/kafka-rest-fake.mjs (written from the
// published openapi contract; it validates every ProduceRequest, checks
// Basic auth, and can fail the next records per record or per request).
// What the proxy stored is read back, decoded, and compared with what was
// ingested.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, makeDestination, ingestVia, eventSettled, circuitIn } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';
import { startKafkaRest } from './lib/kafka_peer.mjs';

const KEY = 'HOOKSTREAMKEY01';
const SECRET = 'cflt/s3cret+Value=0123456789abcdef';
const CLUSTER = 'lkc-test01';
const T = { timeout: 60000 };
const FAST = { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } };

let srv, kafka;
before(async () => {
  [srv, kafka] = await Promise.all([
    startServer({ args: ['--allow-private-destinations'] }),
    startKafkaRest({ clusters: [CLUSTER], topics: ['orders:3', 'audit:1'], user: KEY, password: SECRET }),
  ]);
});
after(async () => {
  await kafka?.stop();
  if (srv) await stopClean(srv);
});

const cfg = (over = {}) => ({ rest_url: kafka.url, cluster_id: CLUSTER, topic: 'orders', api_key: KEY, api_secret: SECRET, ...over });

const destination = (config, extra = {}) => makeDestination(srv, { type: 'kafka', config, ...extra });
const ingestTo = (dst, body, headers, connExtra) => ingestVia(srv, dst, body, headers, connExtra);
const settled = (eventId, status, ms) => eventSettled(srv, eventId, status, ms);

const b64 = (s) => Buffer.from(s).toString('base64');
const producedFor = async (eventId) => (await kafka.records()).filter((r) => r.headers.some((h) => h.name === 'hookstream-event-id' && h.value === eventId));

test('a JSON event becomes one record: exact value, hookstream headers, Basic auth, secret masked', T, async () => {
  const dst = await destination(cfg());
  assert.equal(dst.config.api_secret, '********' + SECRET.slice(-4));
  assert.equal((await srv.req('GET', `/v1/destinations/${dst.id}`)).body.config.api_secret, '********' + SECRET.slice(-4));
  assert.equal(dst.config.timeout_ms, 30000);
  const body = '{"order": 42, "total": 9.10, "note": "caf\u00e9 \u2603", "items": [1e2]}';
  const { event_id } = await ingestTo(dst, body);
  const ev = await settled(event_id);
  assert.equal(ev.attempts.length, 1);
  const a = ev.attempts[0];
  assert.equal(a.status, 'success');
  assert.equal(a.response_status, 200);
  assert.equal(a.request_url, `${kafka.url}/v3/clusters/${CLUSTER}/topics/orders/records`);
  assert.equal(a.request_method, 'POST');
  assert.equal(a.request_headers.Authorization, '********');
  assert.equal(a.request_headers['Content-Type'], 'application/json');
  assert.equal(JSON.parse(a.response_body).error_code, 200);

  const [rec, ...more] = await producedFor(event_id);
  assert.equal(more.length, 0, 'produced exactly once');
  assert.equal(rec.topic_name, 'orders');
  assert.equal(rec.cluster_id, CLUSTER);
  assert.deepEqual(rec.headers, [
    { name: 'hookstream-event-id', value: event_id, value_base64: b64(event_id) },
    { name: 'hookstream-destination-id', value: dst.id, value_base64: b64(dst.id) },
  ]);
  assert.equal(rec.key, null, 'no config.key, no record key');
  assert.equal(rec.value.type, 'JSON');
  assert.deepEqual(rec.value.data, JSON.parse(body));

  // on the wire: one ProduceRequest object (not streaming), the JSON text
  // spliced in as received, and the credentials the proxy was started with
  const req = (await kafka.requests()).find((r) => r.body.includes(b64(event_id)));
  assert.equal(req.status, 200);
  assert.equal(req.headers.authorization, `Basic ${b64(`${KEY}:${SECRET}`)}`);
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['transfer-encoding'], undefined);
  const sent = JSON.parse(req.body);
  assert.deepEqual(Object.keys(sent).sort(), ['headers', 'value']);
  assert.ok(req.body.endsWith(`"value":{"type":"JSON","data":${body}}}`), req.body);
});

test('a body that is not JSON travels as BINARY, byte for byte', T, async () => {
  const dst = await destination(cfg({ topic: 'audit' }));
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b, 10]);
  const { event_id } = await ingestTo(dst, bin, { 'content-type': 'application/octet-stream' });
  await settled(event_id);
  const [rec] = await producedFor(event_id);
  assert.equal(rec.topic_name, 'audit');
  assert.equal(rec.value.type, 'BINARY');
  assert.deepEqual(Buffer.from(rec.value.bytes_base64, 'base64'), bin);

  const text = 'plain text, not JSON';
  const t = await ingestTo(dst, text, { 'content-type': 'text/plain' });
  await settled(t.event_id);
  const [r2] = await producedFor(t.event_id);
  assert.equal(r2.value.type, 'BINARY');
  assert.equal(Buffer.from(r2.value.bytes_base64, 'base64').toString(), text);
});

test('config.key: a JSONata expression compiled at validation, evaluated per delivery', T, async () => {
  // a syntax error is a 400 naming config.key, on create and on patch
  const bad = await srv.req('POST', '/v1/destinations', { name: 'k', type: 'kafka', config: cfg({ key: 'customer.(' }) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'config.key');
  assert.match(bad.text, /JSONata/);

  const dst = await destination(cfg({ key: 'customer.id' }));
  const p = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { config: { key: '$$$ +' } });
  assert.equal(p.status, 400);
  assert.equal(p.body.field, 'config.key');

  // a string result is a STRING key: the same bytes other producers use
  const a = await ingestTo(dst, '{"customer":{"id":"cus_77"},"n":1}');
  await settled(a.event_id);
  const [ra] = await producedFor(a.event_id);
  assert.deepEqual(ra.key, { type: 'STRING', data: 'cus_77', bytes_base64: b64('cus_77') });

  // anything else is a JSON key; $headers and $event_id are bound as in transforms
  const dj = await destination(cfg({ key: '{"tenant": $headers."x-tenant", "n": n, "event": $event_id}' }));
  const j = await ingestTo(dj, '{"n":5}', { 'content-type': 'application/json', 'x-tenant': 'acme' });
  await settled(j.event_id);
  const [rj] = await producedFor(j.event_id);
  assert.equal(rj.key.type, 'JSON');
  assert.deepEqual(rj.key.data, { tenant: 'acme', n: 5, event: j.event_id });

  // the key sees the payload after the connection's transform
  const t = await ingestTo(dst, '{"cust":"c9"}', { 'content-type': 'application/json' }, { transform: '{"customer": {"id": cust & "-x"}}' });
  await settled(t.event_id);
  const [rt] = await producedFor(t.event_id);
  assert.equal(rt.key.data, 'c9-x');
  assert.deepEqual(rt.value.data, { customer: { id: 'c9-x' } });
});

test('a key that cannot be computed fails the attempt with the reason; fixing it lets the delivery through', T, async () => {
  const dst = await destination(cfg({ key: 'customer.id' }), { retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [2] } });
  const { event_id } = await ingestTo(dst, '{"other":1}');
  const first = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${event_id}`)).body;
    return e.attempts?.length ? e : null;
  }, 10000, 'first attempt');
  assert.equal(first.attempts[0].status, 'failed');
  assert.equal(first.attempts[0].error, 'the record key (config.key) failed: its result is undefined');
  assert.equal(first.attempts[0].is_dlq, false);
  assert.equal(first.attempts[0].response_status ?? 0, 0, 'nothing was sent');
  const p = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { config: { key: 'other' } });
  assert.equal(p.status, 200, p.text);
  const ev = await settled(event_id);
  assert.equal(ev.attempts.at(-1).status, 'success');
  const [rec] = await producedFor(event_id);
  assert.deepEqual(rec.key, { type: 'JSON', data: 1, bytes_base64: b64('1') });
});

test('per-record retryable errors (HTTP 200, error_code 50003 / 429) are retried, then the record is produced once', T, async () => {
  const dst = await destination(cfg(), FAST);
  await kafka.fail({ count: 1, error_code: 50003, message: 'NOT_ENOUGH_REPLICAS' });
  await kafka.fail({ count: 1, error_code: 429, message: 'Too Many Requests' });
  const { event_id } = await ingestTo(dst, '{"r":1}');
  const ev = await settled(event_id);
  assert.equal(ev.attempts.length, 3);
  assert.equal(ev.attempts[0].response_status, 200);
  assert.equal(ev.attempts[0].status, 'failed');
  assert.equal(ev.attempts[0].error, 'record not produced: error_code 50003: NOT_ENOUGH_REPLICAS');
  assert.equal(ev.attempts[0].is_dlq, false);
  assert.equal(ev.attempts[1].error, 'record not produced: error_code 429: Too Many Requests');
  assert.equal(ev.attempts[2].status, 'success');
  const recs = await producedFor(event_id);
  assert.equal(recs.length, 1);
  assert.deepEqual(recs[0].value.data, { r: 1 });
});

test('a per-record permanent error (error_code 42201 / 40301) is dead-lettered after one attempt', T, async () => {
  for (const [code, msg] of [[42201, 'Request includes keys and/or values that are too large.'], [40301, 'Not authorized to access topics: [orders]']]) {
    const dst = await destination(cfg(), FAST);
    await kafka.fail({ count: 1, error_code: code, message: msg });
    const { event_id } = await ingestTo(dst, '{"p":1}');
    const ev = await settled(event_id, 'failed');
    assert.equal(ev.attempts.length, 1, `${code}: not retried`);
    const a = ev.attempts[0];
    assert.equal(a.response_status, 200);
    assert.equal(a.is_dlq, true);
    assert.equal(a.error, `record not produced: error_code ${code}: ${msg} (not retried)`);
    assert.equal((await producedFor(event_id)).length, 0);
  }
});

test('HTTP errors: 401 / unknown topic / unknown cluster are permanent; 429 and 503 are retried', T, async () => {
  const cases = [
    [cfg({ api_secret: 'not-the-secret' }), 401, 'HTTP 401 error_code 40101: Authentication failed (not retried)'],
    [cfg({ api_key: null, api_secret: null }), 401, 'HTTP 401 error_code 401: Unauthorized (not retried)'],
    [cfg({ topic: 'no-such-topic' }), 404, 'HTTP 404 error_code 40403: This server does not host this topic-partition. (not retried)'],
    [cfg({ cluster_id: 'lkc-other' }), 404, 'HTTP 404 error_code 404: Cluster lkc-other cannot be found. (not retried)'],
  ];
  for (const [config, status, error] of cases) {
    const dst = await destination(config, FAST);
    const { event_id } = await ingestTo(dst, '{"h":1}');
    const ev = await settled(event_id, 'failed');
    assert.equal(ev.attempts.length, 1, error);
    assert.equal(ev.attempts[0].response_status, status);
    assert.equal(ev.attempts[0].error, error);
    assert.equal(ev.attempts[0].is_dlq, true);
  }

  const dst = await destination(cfg(), FAST);
  await kafka.fail({ count: 1, http_status: 429, error_code: 42901, message: 'Too many requests' });
  await kafka.fail({ count: 1, http_status: 503, error_code: 50301, message: 'Service unavailable' });
  const { event_id } = await ingestTo(dst, '{"h":2}');
  const ev = await settled(event_id);
  assert.equal(ev.attempts.length, 3);
  assert.equal(ev.attempts[0].response_status, 429);
  assert.equal(ev.attempts[0].error, 'HTTP 429 error_code 42901: Too many requests');
  assert.equal(ev.attempts[1].response_status, 503);
  assert.equal(ev.attempts[1].error, 'HTTP 503 error_code 50301: Service unavailable');
  assert.equal(ev.attempts[2].status, 'success');
  assert.equal((await producedFor(event_id)).length, 1);
});

test('retryable failures run out into the DLQ after 1 + max_retries attempts', T, async () => {
  const dst = await destination(cfg(), { retry_policy: { max_retries: 2, backoff_type: 'fixed', intervals: [1] } });
  await kafka.fail({ count: 3, error_code: 50003, message: 'LEADER_NOT_AVAILABLE' });
  const { event_id } = await ingestTo(dst, '{"d":1}');
  const ev = await settled(event_id, 'failed');
  assert.equal(ev.attempts.length, 3);
  assert.deepEqual(ev.attempts.map((a) => a.is_dlq), [false, false, true]);
  assert.equal((await producedFor(event_id)).length, 0);
});

test('the circuit breaker opens on consecutive per-record failures and closes on a successful probe', T, async () => {
  const dst = await destination(cfg(), {
    retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [1] },
    circuit_breaker: { threshold: 2, cooldown_ms: 1500 },
  });
  await kafka.fail({ count: 2, error_code: 50003, message: 'broker down' });
  const { event_id } = await ingestTo(dst, '{"c":1}');
  const open = await circuitIn(srv, dst.id, 'open');
  assert.equal(open.consecutive_failures, 2);
  const ev = await settled(event_id, 'delivered', 15000);
  assert.equal(ev.attempts.length, 3);
  assert.equal(ev.attempts.at(-1).status, 'success');
  const closed = (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
  assert.equal(closed.state, 'closed');
  assert.equal(closed.consecutive_failures, 0);
  assert.equal((await producedFor(event_id)).length, 1);
});
