// AWS destinations through the real binary: aws_sqs, aws_s3 and aws_eventbridge
// deliver SigV4-signed requests to local-aws-sqs, s3rver and an EventBridge
// stand-in, each behind tests/peers/sigv4-proxy.mjs, which verifies every
// signature with the independent npm aws4 signer (403 when it does not match).
// What arrives is read back and compared with what was ingested.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeDestination, ingestVia, eventSettled, circuitIn } from './lib/server.mjs';
import { startAwsPeers } from './lib/aws_peers.mjs';

const AK = 'AKIDHOOKSTREAM0TEST';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYhookstream';
const TOKEN = 'FwoGZXIvYXdzEHooksTreamSessionToken//0123456789+abc=';
const T = { timeout: 60000 };

let srv, peers;
// each is kept as soon as it is up, so that after() stops it even when the other failed to start
before(async () => {
  await Promise.all([
    startServer({ args: ['--allow-private-destinations'] }).then((s) => { srv = s; }),
    startAwsPeers({ accessKey: AK, secret: SECRET, sessionToken: TOKEN, queues: ['orders', 'orders.fifo'], buckets: ['hook-events'] })
      .then((p) => { peers = p; }),
  ]);
});
after(async () => { await srv?.stop(); srv?.cleanup(); await peers?.stop(); });

const creds = (over = {}) => ({ region: 'us-east-1', access_key_id: AK, secret_access_key: SECRET, session_token: TOKEN, ...over });

const destination = (type, config, extra = {}) => makeDestination(srv, { type, config, ...extra });
const ingestTo = (dst, body, headers, connExtra) => ingestVia(srv, dst, body, headers, connExtra, '?x=1');
// The event once it reached a final status; its attempts, oldest first.
const settled = (eventId, status, ms) => eventSettled(srv, eventId, status, ms);

const ymd = (ms) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '/');

test('aws_sqs: SendMessage (JSON 1.0) with the exact body and the hookstream attributes, signed with a session token', T, async () => {
  const dst = await destination('sqs', { queue_url: peers.sqs.queueUrl('orders'), ...creds() });
  // secrets are masked on read
  assert.equal(dst.config.secret_access_key, '********' + SECRET.slice(-4));
  assert.equal(dst.config.session_token, '********' + TOKEN.slice(-4));
  const body = '{"order":42,"note":"caf\u00e9 \u2603"}';
  const { event_id } = await ingestTo(dst, body);
  const ev = await settled(event_id);
  const a = ev.attempts[0];
  assert.equal(a.status, 'success');
  assert.equal(a.request_url, `${peers.sqs.endpoint}/`);
  assert.equal(a.request_headers.Authorization, '********');
  assert.equal(a.request_headers['X-Amz-Security-Token'], '********');
  assert.equal(a.request_headers['X-Amz-Target'], 'AmazonSQS.SendMessage');
  const msgs = await peers.receiveMessages('orders');
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].Body, body);
  assert.equal(msgs[0].MessageAttributes['hookstream-event-id'].StringValue, event_id);
  assert.equal(msgs[0].MessageAttributes['hookstream-destination-id'].StringValue, dst.id);
  const j = (await peers.journal('sqs')).filter((r) => r.method === 'POST');
  assert.ok(j.length >= 1 && j.every((r) => r.verdict === 'ok'), 'aws4 accepted every signature');
  assert.equal(j.at(-1).credential.service, 'sqs');

  // a body that is not text travels base64-encoded, and says so
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 10]);
  const b = await ingestTo(dst, bin, { 'content-type': 'application/octet-stream' });
  await settled(b.event_id);
  const [m] = await peers.receiveMessages('orders');
  assert.equal(m.MessageAttributes['hookstream-body-encoding'].StringValue, 'base64');
  assert.deepEqual(Buffer.from(m.Body, 'base64'), bin);
});

test('aws_sqs FIFO: message group from config, deduplication id = delivery id; validation', T, async () => {
  const bad = await srv.req('POST', '/v1/destinations', {
    name: 'fifo', type: 'aws_sqs', config: { queue_url: peers.sqs.queueUrl('orders.fifo'), ...creds() },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'config.message_group_id');
  const dst = await destination('aws_sqs', {
    queue_url: peers.sqs.queueUrl('orders.fifo'), message_group_id: 'tenant-7', endpoint: peers.sqs.endpoint, ...creds(),
  });
  await peers.clear('sqs');
  const { event_id } = await ingestTo(dst, '{"n":1}');
  const ev = await settled(event_id);
  const sent = JSON.parse((await peers.journal('sqs')).find((r) => r.verdict === 'ok').body);
  assert.equal(sent.MessageGroupId, 'tenant-7');
  assert.equal(ev.deliveries.length, 1);
  assert.equal(sent.MessageDeduplicationId, ev.deliveries[0].id);
  const [m] = await peers.receiveMessages('orders.fifo');
  assert.equal(m.Body, '{"n":1}');
});

test('aws_s3 json: PutObject of the event record at {prefix}YYYY/MM/DD/{event_id}.json', T, async () => {
  const dst = await destination('s3', { bucket: 'hook-events', prefix: 'hooks/', endpoint: peers.s3.endpoint, ...creds() });
  assert.equal(dst.config.force_path_style, true, 'an endpoint defaults to path style');
  const body = '{"id":"ord_1","total":9.5}';
  const t0 = Date.now();
  const { event_id, source_id } = await ingestTo(dst, body, { 'content-type': 'application/json', 'x-shop': 'berlin' });
  const ev = await settled(event_id);
  const key = `hooks/${ymd(Date.parse(ev.received_at))}/${event_id}.json`;
  assert.equal(ev.attempts[0].request_url, `${peers.s3.endpoint}/hook-events/${key}`);
  assert.equal(ev.attempts[0].request_method, 'PUT');
  const obj = await peers.getObject('hook-events', key);
  assert.equal(obj.status, 200);
  assert.match(obj.contentType, /^application\/json/);
  assert.equal(obj.metadata['hookstream-event-id'], event_id);
  const rec = JSON.parse(obj.body.toString());
  assert.deepEqual(Object.keys(rec).sort(), ['body', 'event_id', 'headers', 'method', 'received_at', 'source_id']);
  assert.equal(rec.event_id, event_id);
  assert.equal(rec.source_id, source_id);
  assert.equal(rec.method, 'POST');
  assert.equal(rec.headers['x-shop'], 'berlin');
  assert.deepEqual(rec.body, JSON.parse(body));
  assert.ok(Math.abs(Date.parse(rec.received_at) - t0) < 60000);
  const j = (await peers.journal('s3')).filter((r) => r.method === 'PUT');
  assert.ok(j.length >= 1 && j.every((r) => r.verdict === 'ok'));
});

test('aws_s3 raw: the exact bytes with their content type; keys with odd characters in the prefix', T, async () => {
  const dst = await destination('aws_s3', {
    bucket: 'hook-events', prefix: 'raw files/ü+(1)/', format: 'raw', endpoint: peers.s3.endpoint, ...creds(),
  });
  const bin = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0x10]);
  const { event_id } = await ingestTo(dst, bin, { 'content-type': 'image/png' });
  const ev = await settled(event_id);
  const obj = await peers.getObject('hook-events', `raw files/ü+(1)/${ymd(Date.parse(ev.received_at))}/${event_id}.json`);
  assert.equal(obj.status, 200);
  assert.equal(obj.contentType, 'image/png');
  assert.deepEqual(obj.body, bin);
});

test('aws_eventbridge: PutEvents with one entry; a non-object payload is wrapped; a failed entry is a failure', T, async () => {
  const dst = await destination('eventbridge', {
    event_bus_arn: 'orders-bus', source: 'com.shop.orders', detail_type: 'order.created',
    endpoint: peers.eventbridge.endpoint, ...creds(),
  }, { retry_policy: { max_retries: 1, backoff_type: 'fixed', intervals: [1] } });
  await peers.clear('eventbridge');
  const { event_id } = await ingestTo(dst, '{"id":"ord_7","items":[1,2]}');
  await settled(event_id);
  const [e1] = await peers.events();
  assert.equal(e1.Source, 'com.shop.orders');
  assert.equal(e1.DetailType, 'order.created');
  assert.equal(e1.EventBusName, 'orders-bus');
  assert.deepEqual(JSON.parse(e1.Detail), { id: 'ord_7', items: [1, 2] });
  const arr = await ingestTo(dst, '[1,2]');
  await settled(arr.event_id);
  assert.deepEqual(JSON.parse((await peers.events()).at(-1).Detail), { data: [1, 2] });
  // the stand-in fails entries whose Source starts with "fail.": HTTP 200, FailedEntryCount 1
  const failing = await destination('aws_eventbridge', {
    source: 'fail.orders', endpoint: peers.eventbridge.endpoint, ...creds(),
  }, { retry_policy: { max_retries: 1, backoff_type: 'fixed', intervals: [1] } });
  const f = await ingestTo(failing, '{"a":1}');
  const ev = await settled(f.event_id, 'failed');
  assert.equal(ev.attempts.length, 2, 'InternalFailure is retried');
  for (const a of ev.attempts) {
    assert.equal(a.status, 'failed');
    assert.equal(a.response_status, 200);
    assert.match(a.error, /PutEvents entry failed: InternalFailure/);
  }
  assert.equal(ev.attempts.at(-1).is_dlq, true);
});

test('a wrong secret key is a permanent failure: dead-lettered at once with the AWS error', T, async () => {
  for (const [type, config] of [
    ['aws_sqs', { queue_url: peers.sqs.queueUrl('orders') }],
    ['aws_s3', { bucket: 'hook-events', endpoint: peers.s3.endpoint }],
    ['aws_eventbridge', { endpoint: peers.eventbridge.endpoint }],
  ]) {
    const dst = await destination(type, { ...config, ...creds({ secret_access_key: 'not-the-secret-key' }) },
      { retry_policy: { max_retries: 5, intervals: [1] } });
    const { event_id } = await ingestTo(dst, '{"x":1}');
    const ev = await settled(event_id, 'failed');
    assert.equal(ev.attempts.length, 1, `${type}: not retried`);
    const a = ev.attempts[0];
    assert.equal(a.response_status, 403);
    assert.equal(a.is_dlq, true);
    assert.match(a.error, /HTTP 403 (SignatureDoesNotMatch|InvalidSignatureException).*not retried/, type);
  }
  // a missing session token is refused too
  const dst = await destination('aws_sqs', { queue_url: peers.sqs.queueUrl('orders'), ...creds({ session_token: null }) },
    { retry_policy: { max_retries: 3, intervals: [1] } });
  const ev = await settled((await ingestTo(dst, '{}')).event_id, 'failed');
  assert.equal(ev.attempts.length, 1);
  assert.equal(ev.attempts[0].response_status, 403);
});

test('throttling and 5xx answers are retried, then delivered', T, async () => {
  const sqs = await destination('aws_sqs', { queue_url: peers.sqs.queueUrl('orders'), ...creds() },
    { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } });
  await peers.receiveMessages('orders');
  await peers.failNext('sqs', { status: 400, count: 2, code: 'ThrottlingException' });
  const { event_id } = await ingestTo(sqs, '{"t":1}');
  const ev = await settled(event_id);
  assert.equal(ev.attempts.length, 3);
  assert.match(ev.attempts[0].error, /HTTP 400 ThrottlingException/);
  assert.equal(ev.attempts[0].is_dlq, false);
  assert.equal(ev.attempts[2].status, 'success');
  assert.equal((await peers.receiveMessages('orders'))[0].Body, '{"t":1}');

  const s3 = await destination('aws_s3', { bucket: 'hook-events', endpoint: peers.s3.endpoint, ...creds() },
    { retry_policy: { max_retries: 2, backoff_type: 'fixed', intervals: [1] } });
  await peers.failNext('s3', { status: 503, count: 1, code: 'SlowDown' });
  const s = await ingestTo(s3, '{"t":2}');
  const sev = await settled(s.event_id);
  assert.match(sev.attempts[0].error, /HTTP 503 SlowDown/);
  assert.equal(sev.attempts[1].status, 'success');
});

test('the circuit breaker opens on consecutive AWS failures and closes on a successful probe', T, async () => {
  const dst = await destination('aws_eventbridge', { endpoint: peers.eventbridge.endpoint, ...creds() }, {
    retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [1] },
    circuit_breaker: { threshold: 2, cooldown_ms: 1500 },
  });
  await peers.failNext('eventbridge', { status: 500, count: 2, code: 'InternalFailure' });
  const { event_id } = await ingestTo(dst, '{"c":1}');
  const open = await circuitIn(srv, dst.id, 'open');
  assert.equal(open.consecutive_failures, 2);
  const ev = await settled(event_id, 'delivered', 15000);
  assert.equal(ev.attempts.at(-1).status, 'success');
  const closed = (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
  assert.equal(closed.state, 'closed');
  assert.equal(closed.consecutive_failures, 0);
});

test('a connection transform shapes what AWS receives', T, async () => {
  const dst = await destination('aws_sqs', { queue_url: peers.sqs.queueUrl('orders'), ...creds() });
  await peers.receiveMessages('orders');
  const { event_id } = await ingestTo(dst, '{"id":"o1","total":5}', { 'content-type': 'application/json' },
    { transform: '{"order": id, "cents": total * 100, "event": $event_id}' });
  await settled(event_id);
  const [m] = await peers.receiveMessages('orders');
  assert.deepEqual(JSON.parse(m.Body), { order: 'o1', cents: 500, event: event_id });
});
