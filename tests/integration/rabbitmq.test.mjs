// The rabbitmq destination through the real binary against a real RabbitMQ
// (Debian's rabbitmq-server with the management plugin, started by
// lib/rabbitmq.mjs on free ports, stopped in after()). Every message is read
// back from a bound queue and compared with what was ingested: body, AMQP
// properties and headers, exchange and routing key. When rabbitmq-server is
// not installed the tests fail (run `make test-deps`), they do not skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDestination, ingestVia, eventSettled, circuitIn } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';
import { startRabbitMQ, startFaultProxy } from './lib/rabbitmq.mjs';

const T = { timeout: 60000 };
const PASSWORD = 'rmq-secret-pass-7f3a9c21';

let srv, rmq;
before(async () => {
  // both start at once; each is kept as soon as it is up, so that after()
  // stops the server even when the broker failed to start (and vice versa)
  const started = await Promise.allSettled([
    startServer({ args: ['--allow-private-destinations'] }).then((s) => { srv = s; }),
    startRabbitMQ({ user: 'hookstream', password: PASSWORD }).then((r) => { rmq = r; }),
  ]);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  await rmq.declareExchange('events', 'topic');
  await rmq.declareQueue('orders');
  await rmq.bind('events', 'orders', 'order.*');
}, { timeout: 120000 });
after(async () => {
  const exit = await srv?.stop();
  srv?.cleanup();
  await rmq?.stop();
  // a clean exit: under ASan (HOOKSTREAM_ASAN=1) a leak or error would not be
  if (srv) assert.deepEqual(exit, { code: 0, signal: null }, srv.stderr);
}, { timeout: 60000 });

const cfg = (over = {}) => ({
  url: rmq.url, exchange: 'events', routing_key: 'order.created', username: 'hookstream', password: PASSWORD, ...over,
});

// A queue of its own for one test, bound to 'events' with exactly this key,
// so that a failed test cannot leave messages that another one counts.
async function queueFor(routingKey) {
  const name = `q.${routingKey}`;
  await rmq.declareQueue(name);
  await rmq.bind('events', name, routingKey);
  return name;
}

const destination = (config, extra = {}) => makeDestination(srv, { type: 'rabbitmq', config, ...extra });
const ingestTo = (dst, body, headers, connExtra) => ingestVia(srv, dst, body, headers, connExtra);

const settled = (eventId, status, ms) => eventSettled(srv, eventId, status, ms);

test('publish: the exact body, persistent, message_id = delivery id, hookstream headers; password masked', T, async () => {
  const dst = await destination(cfg());
  assert.equal(dst.config.password, '********' + PASSWORD.slice(-4), 'masked on read');
  assert.equal(dst.config.vhost, '/');
  assert.equal(dst.config.timeout_ms, 30000);
  const got = await srv.req('GET', `/v1/destinations/${dst.id}`);
  assert.ok(!got.text.includes(PASSWORD));

  const body = '{"order":42,"note":"caf\u00e9 \u2603"}';
  const { event_id } = await ingestTo(dst, body);
  const ev = await settled(event_id);
  assert.equal(ev.attempts.length, 1);
  const a = ev.attempts[0];
  assert.equal(a.status, 'success');
  assert.equal(a.request_method, 'POST');
  assert.equal(a.request_url, `${rmq.url}/api/exchanges/%2F/events/publish`);
  assert.equal(a.request_headers.Authorization, '********', 'the Basic credential is not recorded');
  assert.ok(!JSON.stringify(ev).includes(PASSWORD));
  assert.equal(a.response_status, 200);
  assert.deepEqual(JSON.parse(a.response_body), { routed: true });

  const msgs = await rmq.getMessages('orders');
  assert.equal(msgs.length, 1, 'exactly one message');
  const [m] = msgs;
  assert.equal(m.payload.toString('utf8'), body);
  assert.equal(m.payload_encoding, 'string');
  assert.equal(m.exchange, 'events');
  assert.equal(m.routing_key, 'order.created');
  assert.equal(m.redelivered, false);
  const p = m.properties;
  assert.equal(p.content_type, 'application/json');
  assert.equal(p.delivery_mode, 2);
  assert.equal(p.app_id, 'hookstream');
  assert.equal(ev.deliveries.length, 1);
  assert.equal(p.message_id, ev.deliveries[0].id);
  assert.match(p.message_id, /^dlv_[0-9a-f]{32}$/);
  assert.equal(p.timestamp, Math.floor(Date.parse(ev.received_at) / 1000));
  assert.deepEqual(p.headers, {
    'hookstream-event-id': event_id,
    'hookstream-delivery-id': ev.deliveries[0].id,
    'hookstream-destination-id': dst.id,
    'hookstream-delivery-attempt': '1',
  });
});

test('a body that is not UTF-8 travels base64 and arrives byte for byte; the event content type is kept', T, async () => {
  const q = await queueFor('binary.x');
  const dst = await destination(cfg({ routing_key: 'binary.x' }));
  const bin = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0xfe, 0x10, 0x0a]);
  const { event_id } = await ingestTo(dst, bin, { 'content-type': 'image/png' });
  await settled(event_id);
  const [m] = await rmq.getMessages(q);
  assert.equal(m.payload_encoding, 'base64', 'the broker holds bytes that are not UTF-8');
  assert.deepEqual(m.payload, bin);
  assert.equal(m.properties.content_type, 'image/png');
  assert.equal(m.routing_key, 'binary.x');
  // a NUL is valid UTF-8 and travels as a string
  const nul = Buffer.from('a\u0000b', 'utf8');
  const n = await ingestTo(dst, nul, { 'content-type': 'text/plain' });
  await settled(n.event_id);
  const [m2] = await rmq.getMessages(q);
  assert.deepEqual(m2.payload, nul);
});

test('a vhost with a slash is URL-encoded; the default exchange "" is amq.default and routes by queue name', T, async () => {
  await rmq.addVhost('tenant/a');
  await rmq.setPermissions('tenant/a', 'hookstream');
  await rmq.declareQueue('inbox.a', 'tenant/a');
  const dst = await destination(cfg({ url: rmq.url + '/', vhost: 'tenant/a', exchange: '', routing_key: 'inbox.a' }));
  const { event_id } = await ingestTo(dst, '{"tenant":"a"}');
  const ev = await settled(event_id);
  assert.equal(ev.attempts[0].request_url, `${rmq.url}/api/exchanges/tenant%2Fa/amq.default/publish`);
  const msgs = await rmq.getMessages('inbox.a', { vhost: 'tenant/a' });
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].payload.toString(), '{"tenant":"a"}');
  assert.equal(msgs[0].exchange, '', 'published to the default exchange');
  assert.equal(msgs[0].routing_key, 'inbox.a');
  assert.equal(msgs[0].properties.headers['hookstream-event-id'], event_id);
  assert.equal(await rmq.queueDepth('orders'), 0, 'nothing leaked into the / vhost');
});

test('a missing exchange is a permanent failure: one attempt, dead-lettered, with the broker reason', T, async () => {
  const dst = await destination(cfg({ exchange: 'nosuch' }), { retry_policy: { max_retries: 5, intervals: [1] } });
  const { event_id } = await ingestTo(dst, '{"x":1}');
  const ev = await settled(event_id, 'failed');
  assert.equal(ev.attempts.length, 1, 'not retried');
  const a = ev.attempts[0];
  assert.equal(a.status, 'failed');
  assert.equal(a.response_status, 400);
  assert.equal(a.is_dlq, true);
  assert.equal(a.error, "HTTP 400 bad_request: 404 NOT_FOUND - no exchange 'nosuch' in vhost '/' (not retried)");
});

test('wrong credentials and a vhost that does not exist are permanent failures (401)', T, async () => {
  for (const [over, reason] of [
    [{ password: 'not-the-password' }, 'not_authorized: Login failed'],
    [{ vhost: 'no-such-vhost' }, 'not_authorised: Access refused.'],
  ]) {
    const dst = await destination(cfg(over), { retry_policy: { max_retries: 5, intervals: [1] } });
    const { event_id } = await ingestTo(dst, '{"x":1}');
    const ev = await settled(event_id, 'failed');
    assert.equal(ev.attempts.length, 1, `${JSON.stringify(over)}: not retried`);
    assert.equal(ev.attempts[0].response_status, 401);
    assert.equal(ev.attempts[0].is_dlq, true);
    assert.equal(ev.attempts[0].error, `HTTP 401 ${reason} (not retried)`);
  }
  assert.equal(await rmq.queueDepth('orders'), 0, 'nothing was published');
});

test('routed:false is a retryable failure: delivered once a queue is bound', T, async () => {
  const dst = await destination(cfg({ routing_key: 'invoice.paid' }),
    { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [2] } });
  const { event_id } = await ingestTo(dst, '{"invoice":7}');
  const first = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${event_id}`)).body;
    return e.attempts?.length >= 1 ? e : null;
  }, 10000, 'first attempt');
  const a = first.attempts[0];
  assert.equal(a.status, 'failed');
  assert.equal(a.response_status, 200);
  assert.deepEqual(JSON.parse(a.response_body), { routed: false });
  assert.equal(a.is_dlq, false, 'retried');
  assert.ok(a.next_retry_at, 'a retry is scheduled');
  assert.equal(a.error,
    "not routed: no queue is bound to exchange 'events' for routing key 'invoice.paid' (retried: a queue may be bound later)");
  // the consumer shows up and binds its queue
  await rmq.declareQueue('invoices');
  await rmq.bind('events', 'invoices', 'invoice.#');
  const ev = await settled(event_id, 'delivered', 15000);
  assert.equal(ev.attempts.length, 2);
  assert.equal(ev.attempts[1].status, 'success');
  const msgs = await rmq.getMessages('invoices');
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].payload.toString(), '{"invoice":7}');
  assert.equal(msgs[0].properties.headers['hookstream-delivery-attempt'], '2');
  assert.equal(msgs[0].properties.message_id, ev.deliveries[0].id, 'the same message_id on every attempt');
});

test('routed:false with the default exchange names the missing queue; exhausted retries dead-letter', T, async () => {
  const dst = await destination(cfg({ exchange: '', routing_key: 'no-such-queue' }),
    { retry_policy: { max_retries: 1, backoff_type: 'fixed', intervals: [1] } });
  const { event_id } = await ingestTo(dst, '{}');
  const ev = await settled(event_id, 'failed');
  assert.equal(ev.attempts.length, 2);
  for (const a of ev.attempts) {
    assert.equal(a.error, "not routed: no queue named 'no-such-queue' (retried: it may be declared later)");
  }
  assert.equal(ev.attempts[0].is_dlq, false);
  assert.equal(ev.attempts[1].is_dlq, true);
});

test('503, a dropped connection and a refused connection are retried; then delivered', T, async () => {
  const q = await queueFor('retry.x');
  const proxy = await startFaultProxy(rmq.url);
  try {
    const dst = await destination(cfg({ url: proxy.url, routing_key: 'retry.x' }),
      { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } });
    proxy.failNext({ status: 503, count: 1 });
    proxy.failNext({ reset: true, count: 1 });
    const { event_id } = await ingestTo(dst, '{"r":1}');
    const ev = await settled(event_id, 'delivered', 20000);
    assert.equal(ev.attempts.length, 3);
    assert.equal(ev.attempts[0].response_status, 503);
    assert.equal(ev.attempts[0].error, 'HTTP 503 service_unavailable: injected by the test');
    assert.equal(ev.attempts[0].is_dlq, false);
    assert.equal(ev.attempts[1].response_status, null, 'no answer');
    assert.match(ev.attempts[1].error, /Empty reply from server/, 'the transport error is recorded');
    assert.equal(ev.attempts[2].status, 'success');
    assert.equal(proxy.requests.length, 3);
    // the three requests carried the same message
    const bodies = proxy.requests.map((r) => JSON.parse(r.body));
    assert.equal(new Set(bodies.map((b) => b.properties.message_id)).size, 1);
    assert.deepEqual(bodies.map((b) => b.properties.headers['hookstream-delivery-attempt']), ['1', '2', '3']);
    const msgs = await rmq.getMessages(q);
    assert.equal(msgs.length, 1, 'published once');
    assert.equal(msgs[0].payload.toString(), '{"r":1}');
  } finally {
    await proxy.close();
  }
  // nothing listens on the proxy's port any more: connection refused, retried
  const gone = await destination(cfg({ url: proxy.url }), { retry_policy: { max_retries: 1, backoff_type: 'fixed', intervals: [1] } });
  const { event_id } = await ingestTo(gone, '{}');
  const ev = await settled(event_id, 'failed');
  assert.equal(ev.attempts.length, 2, 'a refused connection is retried');
  assert.equal(ev.attempts[1].is_dlq, true);
});

test('the circuit breaker opens on consecutive failures and closes on a successful probe', T, async () => {
  const q = await queueFor('circuit.x');
  const proxy = await startFaultProxy(rmq.url);
  try {
    const dst = await destination(cfg({ url: proxy.url, routing_key: 'circuit.x' }), {
      retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [1] },
      circuit_breaker: { threshold: 2, cooldown_ms: 1500 },
    });
    proxy.failNext({ status: 500, count: 2, body: JSON.stringify({ error: 'internal_error', reason: 'boom' }) });
    const { event_id } = await ingestTo(dst, '{"c":1}');
    const open = await circuitIn(srv, dst.id, 'open');
    assert.equal(open.consecutive_failures, 2);
    const ev = await settled(event_id, 'delivered', 15000);
    assert.equal(ev.attempts.at(-1).status, 'success');
    assert.equal(ev.attempts[0].error, 'HTTP 500 internal_error: boom');
    const closed = (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
    assert.equal(closed.state, 'closed');
    assert.equal(closed.consecutive_failures, 0);
    const msgs = await rmq.getMessages(q);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].routing_key, 'circuit.x');
  } finally {
    await proxy.close();
  }
});

test('a connection transform shapes the message; its content type is application/json', T, async () => {
  const q = await queueFor('shaped.x');
  const dst = await destination(cfg({ routing_key: 'shaped.x' }));
  const { event_id } = await ingestTo(dst, '{"id":"o1","total":5}', { 'content-type': 'text/plain' },
    { transform: '{"order": id, "cents": total * 100, "event": $event_id}' });
  await settled(event_id);
  const [m] = await rmq.getMessages(q);
  assert.deepEqual(JSON.parse(m.payload.toString()), { order: 'o1', cents: 500, event: event_id });
  assert.equal(m.properties.content_type, 'application/json');
});
