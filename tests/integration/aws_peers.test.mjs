// Self-test of the AWS stand-ins (tests/peers) and their SigV4-verifying
// proxies, with the npm aws4 package as the client signer. Does not need the
// hookstream binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { startAwsPeers, awsPeersAvailable, PEERS_DIR } from './lib/aws_peers.mjs';

const require = createRequire(PEERS_DIR + '/');
const aws4 = awsPeersAvailable() ? require('aws4') : null;
const skip = awsPeersAvailable() ? false : 'npm peers not installed (make test-deps)';

const AK = 'AKIDHOOKSTREAMTEST';
const SECRET = 'hookstream/test+secret/0123456789abcdefXYZ';
const T = { timeout: 20000, skip };

let peers;
before(async () => { if (!skip) peers = await startAwsPeers({ accessKey: AK, secret: SECRET, queues: ['q1', 'q2.fifo'], buckets: ['bkt'] }); });
after(async () => { await peers?.stop(); });

// Sends a raw request; returns {status, headers, text}.
function send(port, { method, path, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Signs with aws4 (headers mode) and returns the request options.
function sign(port, service, { method = 'POST', path = '/', headers = {}, body = '' }, creds = {}) {
  const opts = { host: '127.0.0.1', port, service, region: 'us-east-1', method, path, headers: { ...headers }, body };
  aws4.sign(opts, { accessKeyId: AK, secretAccessKey: SECRET, ...creds });
  return opts;
}

const sqsCall = (port, target, payload, creds) => sign(port, 'sqs', {
  body: JSON.stringify(payload),
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${target}` },
}, creds);

const putEvents = (port, entries, creds) => sign(port, 'events', {
  body: JSON.stringify({ Entries: entries }),
  headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
}, creds);

test('S3 PutObject signed with aws4 goes through and is stored', T, async () => {
  const body = JSON.stringify({ hello: 'world', n: 1 });
  const r = await send(peers.s3.proxyPort, sign(peers.s3.proxyPort, 's3', {
    method: 'PUT', path: '/bkt/events/a%20b%2B%C3%A9(1).json', body,
    headers: { 'content-type': 'application/json', 'x-amz-meta-event-id': 'evt_1' },
  }));
  assert.equal(r.status, 200, r.text);
  assert.ok(r.headers.etag);
  const o = await peers.getObject('bkt', 'events/a b+é(1).json');
  assert.equal(o.status, 200);
  assert.equal(o.body.toString(), body);
  assert.equal(o.contentType, 'application/json');
  assert.equal(o.metadata['event-id'], 'evt_1');

  const j = await peers.journal('s3');
  const last = j.at(-1);
  assert.equal(last.verdict, 'ok');
  assert.equal(last.method, 'PUT');
  assert.equal(last.status, 200);
  assert.equal(last.body, body);
  assert.equal(last.credential.accessKey, AK);
  assert.equal(last.credential.region, 'us-east-1');
  assert.equal(last.headers['x-amz-content-sha256'], crypto.createHash('sha256').update(body).digest('hex'));
  assert.equal((await peers.getObject('bkt', 'nope')).status, 404);
});

test('S3 with a wrong secret is refused with SignatureDoesNotMatch and the expected canonical request', T, async () => {
  const r = await send(peers.s3.proxyPort, sign(peers.s3.proxyPort, 's3', {
    method: 'PUT', path: '/bkt/wrong-secret.txt', body: 'x',
  }, { secretAccessKey: 'not-the-secret' }));
  assert.equal(r.status, 403);
  assert.match(r.headers['content-type'], /xml/);
  assert.match(r.text, /<Code>SignatureDoesNotMatch<\/Code>/);
  assert.match(r.text, /<CanonicalRequest>PUT\n\/bkt\/wrong-secret.txt\n/);
  assert.match(r.text, /<StringToSign>AWS4-HMAC-SHA256\n\d{8}T\d{6}Z\n\d{8}\/us-east-1\/s3\/aws4_request\n[0-9a-f]{64}<\/StringToSign>/);
  assert.equal((await peers.getObject('bkt', 'wrong-secret.txt')).status, 404);
  assert.equal((await peers.journal('s3')).at(-1).verdict, 'SignatureDoesNotMatch');
});

test('S3 with a tampered body, missing payload hash, unknown key, old date or no signature is refused', T, async () => {
  const p = peers.s3.proxyPort;
  const base = () => sign(p, 's3', { method: 'PUT', path: '/bkt/t.txt', body: 'original' });

  const tampered = base();
  tampered.body = 'tampered';
  let r = await send(p, tampered);
  assert.equal(r.status, 403);
  assert.match(r.text, /<Code>XAmzContentSHA256Mismatch<\/Code>/);

  // the payload hash re-computed but the signature left as it was
  const resigned = base();
  resigned.body = 'tampered';
  resigned.headers['X-Amz-Content-Sha256'] = crypto.createHash('sha256').update('tampered').digest('hex');
  r = await send(p, resigned);
  assert.equal(r.status, 403);
  assert.match(r.text, /<Code>SignatureDoesNotMatch<\/Code>/);

  // signed correctly, but without the x-amz-content-sha256 header S3 requires
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
  const noHash = { host: '127.0.0.1', port: p, service: 's3', region: 'us-east-1', method: 'PUT', path: '/bkt/t.txt', body: 'x',
    headers: { 'X-Amz-Date': amzDate, 'Content-Length': '1' }, doNotModifyHeaders: true };
  aws4.sign(noHash, { accessKeyId: AK, secretAccessKey: SECRET });
  assert.doesNotMatch(noHash.headers.Authorization, /x-amz-content-sha256/);
  r = await send(p, noHash);
  assert.equal(r.status, 403);
  assert.match(r.text, /x-amz-content-sha256 header is required/);

  r = await send(p, sign(p, 's3', { method: 'PUT', path: '/bkt/t.txt', body: 'x' }, { accessKeyId: 'AKIDUNKNOWN' }));
  assert.equal(r.status, 403);
  assert.match(r.text, /<Code>InvalidAccessKeyId<\/Code>/);

  const old = new Date(Date.now() - 20 * 60 * 1000).toISOString().replace(/[:-]|\.\d{3}/g, '');
  r = await send(p, sign(p, 's3', { method: 'PUT', path: '/bkt/t.txt', body: 'x', headers: { 'X-Amz-Date': old } }));
  assert.equal(r.status, 403);
  assert.match(r.text, /<Code>RequestTimeTooSkewed<\/Code>/);

  r = await send(p, sign(p, 'sqs', { method: 'PUT', path: '/bkt/t.txt', body: 'x' }));
  assert.equal(r.status, 403, 'signed for another service');

  r = await send(p, { method: 'PUT', path: '/bkt/t.txt', headers: { 'content-length': '1' }, body: 'x' });
  assert.equal(r.status, 403);
  assert.match(r.text, /not signed/);

  assert.equal((await peers.getObject('bkt', 't.txt')).status, 404, 'nothing reached s3rver');
});

test('a signed header that aws4 would normally skip (user-agent) is still verified', T, async () => {
  const p = peers.s3.proxyPort;
  const opts = { host: '127.0.0.1', port: p, service: 's3', region: 'us-east-1', method: 'PUT', path: '/bkt/ua.txt', body: 'ua',
    headers: { 'User-Agent': 'hookstream/1.0' }, extraHeadersToInclude: { 'user-agent': true } };
  aws4.sign(opts, { accessKeyId: AK, secretAccessKey: SECRET });
  assert.match(opts.headers.Authorization, /SignedHeaders=[^,]*user-agent/);
  let r = await send(p, opts);
  assert.equal(r.status, 200, r.text);
  opts.headers['User-Agent'] = 'someone-else';
  r = await send(p, opts);
  assert.equal(r.status, 403);
});

test('SQS JSON 1.0 SendMessage through the proxy arrives with its attributes', T, async () => {
  const p = peers.sqs.proxyPort;
  const r = await send(p, sqsCall(p, 'SendMessage', {
    QueueUrl: peers.sqs.queueUrl('q1'),
    MessageBody: '{"id":1}',
    MessageAttributes: {
      event_type: { DataType: 'String', StringValue: 'order.created' },
      attempt: { DataType: 'Number', StringValue: '1' },
    },
  }));
  assert.equal(r.status, 200, r.text);
  const res = JSON.parse(r.text);
  assert.match(res.MessageId, /^[0-9a-f-]{36}$/);
  assert.equal(res.MD5OfMessageBody, crypto.createHash('md5').update('{"id":1}').digest('hex'));
  assert.ok(res.MD5OfMessageAttributes);

  const msgs = await peers.receiveMessages('q1');
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0].MessageId, res.MessageId);
  assert.equal(msgs[0].Body, '{"id":1}');
  assert.deepEqual(msgs[0].MessageAttributes.event_type, { DataType: 'String', StringValue: 'order.created' });
  assert.deepEqual(msgs[0].MessageAttributes.attempt, { DataType: 'Number', StringValue: '1' });
  assert.deepEqual(await peers.receiveMessages('q1'), [], 'receiveMessages deletes what it returns');

  // FIFO queue: MessageGroupId is required; with it the message arrives
  const bad = await send(p, sqsCall(p, 'SendMessage', { QueueUrl: peers.sqs.queueUrl('q2.fifo'), MessageBody: 'x' }));
  assert.equal(bad.status, 400);
  const ok = await send(p, sqsCall(p, 'SendMessage', {
    QueueUrl: peers.sqs.queueUrl('q2.fifo'), MessageBody: 'f', MessageGroupId: 'g', MessageDeduplicationId: 'd1',
  }));
  assert.equal(ok.status, 200, ok.text);
  assert.match(JSON.parse(ok.text).SequenceNumber, /^\d+$/);
  assert.equal((await peers.receiveMessages('q2.fifo'))[0].Body, 'f');
});

test('SQS with a wrong secret gets a JSON InvalidSignatureException', T, async () => {
  const p = peers.sqs.proxyPort;
  const r = await send(p, sqsCall(p, 'SendMessage', { QueueUrl: peers.sqs.queueUrl('q1'), MessageBody: 'x' },
    { secretAccessKey: 'wrong' }));
  assert.equal(r.status, 403);
  assert.equal(r.headers['content-type'], 'application/x-amz-json-1.0');
  const e = JSON.parse(r.text);
  assert.equal(e.__type, 'com.amazon.coral.service#InvalidSignatureException');
  assert.equal(e.code, 'SignatureDoesNotMatch');
  assert.match(e.canonicalRequest, /^POST\n\/\n\n/);
  assert.match(e.stringToSign, /\/us-east-1\/sqs\/aws4_request\n/);
  assert.deepEqual(await peers.receiveMessages('q1'), []);
});

test('EventBridge PutEvents through the proxy: accepted, partial failure, validation', T, async () => {
  await peers.clear('eventbridge');
  const p = peers.eventbridge.proxyPort;
  let r = await send(p, putEvents(p, [
    { Source: 'hookstream', DetailType: 'order.created', Detail: '{"id":1}', EventBusName: 'bus-a' },
    { Source: 'hookstream', DetailType: 'order.paid', Detail: '{"id":2}' },
  ]));
  assert.equal(r.status, 200, r.text);
  let res = JSON.parse(r.text);
  assert.equal(res.FailedEntryCount, 0);
  assert.equal(res.Entries.length, 2);
  assert.match(res.Entries[0].EventId, /^[0-9a-f-]{36}$/);
  const ev = await peers.events();
  assert.deepEqual(ev.map((e) => [e.EventBusName, e.DetailType, e.Detail]),
    [['bus-a', 'order.created', '{"id":1}'], ['default', 'order.paid', '{"id":2}']]);
  assert.equal(ev[0].EventId, res.Entries[0].EventId);

  r = await send(p, putEvents(p, [
    { Source: 'hookstream', DetailType: 'a', Detail: '{}' },
    { Source: 'fail.hookstream', DetailType: 'b', Detail: '{}' },
  ]));
  assert.equal(r.status, 200);
  res = JSON.parse(r.text);
  assert.equal(res.FailedEntryCount, 1);
  assert.ok(res.Entries[0].EventId);
  assert.equal(res.Entries[1].ErrorCode, 'InternalFailure');
  assert.equal((await peers.events()).length, 3);

  r = await send(p, putEvents(p, [{ Source: 's', DetailType: 'd', Detail: '[1]' }]));
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.text).__type, 'ValidationException');
  r = await send(p, putEvents(p, []));
  assert.equal(r.status, 400);
  r = await send(p, putEvents(p, Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' }))));
  assert.equal(r.status, 400);
  const other = sign(p, 'events', { body: '{}', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.ListRules' } });
  r = await send(p, other);
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.text).__type, 'UnknownOperationException');

  r = await send(p, putEvents(p, [{ Source: 's', DetailType: 'd', Detail: '{}' }], { secretAccessKey: 'wrong' }));
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.text).__type, 'com.amazon.coral.service#InvalidSignatureException');
  assert.equal((await peers.events()).length, 3);
});

test('failNext answers the next N verified requests without forwarding', T, async () => {
  const p = peers.sqs.proxyPort;
  await peers.clear('sqs');
  await peers.failNext('sqs', {
    status: 400, count: 2, content_type: 'application/x-amz-json-1.0',
    body: '{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}',
  });
  // a badly signed request does not use up an injected failure
  let r = await send(p, sqsCall(p, 'SendMessage', { QueueUrl: peers.sqs.queueUrl('q1'), MessageBody: 'x' }, { secretAccessKey: 'bad' }));
  assert.equal(r.status, 403);
  for (let i = 0; i < 2; i++) {
    r = await send(p, sqsCall(p, 'SendMessage', { QueueUrl: peers.sqs.queueUrl('q1'), MessageBody: `m${i}` }));
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.text).__type, 'com.amazonaws.sqs#ThrottlingException');
  }
  r = await send(p, sqsCall(p, 'SendMessage', { QueueUrl: peers.sqs.queueUrl('q1'), MessageBody: 'm2' }));
  assert.equal(r.status, 200);
  assert.deepEqual((await peers.receiveMessages('q1')).map((m) => m.Body), ['m2']);
  assert.deepEqual((await peers.journal('sqs')).map((e) => e.verdict), ['SignatureDoesNotMatch', 'injected', 'injected', 'ok']);

  // default body: an AWS-shaped error with the given code (XML for S3)
  await peers.failNext('s3', { status: 503, code: 'SlowDown', headers: { 'retry-after': '1' } });
  const s3p = peers.s3.proxyPort;
  r = await send(s3p, sign(s3p, 's3', { method: 'PUT', path: '/bkt/slow.txt', body: 'slow' }));
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.match(r.text, /<Code>SlowDown<\/Code>/);
  assert.equal((await peers.getObject('bkt', 'slow.txt')).status, 404);
  r = await send(s3p, sign(s3p, 's3', { method: 'PUT', path: '/bkt/slow.txt', body: 'slow' }));
  assert.equal(r.status, 200);
  assert.equal((await peers.getObject('bkt', 'slow.txt')).body.toString(), 'slow');
});

test('with a session token configured, x-amz-security-token is required and checked', { ...T, timeout: 30000 }, async () => {
  const sp = await startAwsPeers({ accessKey: AK, secret: SECRET, sessionToken: 'tok-123', queues: ['q'], buckets: ['b2'] });
  try {
    const p = sp.s3.proxyPort;
    let r = await send(p, sign(p, 's3', { method: 'PUT', path: '/b2/k', body: 'k' }, { sessionToken: 'tok-123' }));
    assert.equal(r.status, 200, r.text);
    r = await send(p, sign(p, 's3', { method: 'PUT', path: '/b2/k', body: 'k' }));
    assert.equal(r.status, 403);
    assert.match(r.text, /<Code>InvalidToken<\/Code>/);
    r = await send(p, sign(p, 's3', { method: 'PUT', path: '/b2/k', body: 'k' }, { sessionToken: 'tok-other' }));
    assert.equal(r.status, 403);
    const q = sp.sqs.proxyPort;
    r = await send(q, sqsCall(q, 'SendMessage', { QueueUrl: sp.sqs.queueUrl('q'), MessageBody: 'x' }, { sessionToken: 'tok-123' }));
    assert.equal(r.status, 200, r.text);
  } finally {
    await sp.stop();
  }
  // and without one configured, a token is refused
  const p = peers.s3.proxyPort;
  const r = await send(p, sign(p, 's3', { method: 'PUT', path: '/bkt/tok', body: 'k' }, { sessionToken: 'tok-123' }));
  assert.equal(r.status, 403);
});

test('non-S3 services double-encode the path, S3 encodes it once (aws4, like AWS)', T, async () => {
  // Only the signature verdict matters here; local-aws-sqs may answer anything.
  const p = peers.sqs.proxyPort;
  await peers.clear('sqs');
  await send(p, sign(p, 'sqs', { method: 'GET', path: '/123456789012/q%20x?Action=ListQueues' }));
  // the same path signed encoded once (what S3 does, and aws4's doNotEncodePath)
  const once = { host: '127.0.0.1', port: p, service: 'sqs', region: 'us-east-1', method: 'GET',
    path: '/123456789012/q%20x?Action=ListQueues', doNotEncodePath: true };
  aws4.sign(once, { accessKeyId: AK, secretAccessKey: SECRET });
  const r = await send(p, once);
  assert.equal(r.status, 403);
  const j = await peers.journal('sqs');
  assert.deepEqual(j.map((e) => e.verdict), ['ok', 'SignatureDoesNotMatch']);
  assert.match(j[1].canonicalRequest, /^GET\n\/123456789012\/q%2520x\nAction=ListQueues\n/);

  // S3: encoded once, no normalization of "//"
  const s3p = peers.s3.proxyPort;
  await peers.clear('s3');
  await send(s3p, sign(s3p, 's3', { method: 'PUT', path: '/bkt/dir//x%20y', body: 'z' }));
  // (s3rver itself answers 404 to an empty path segment; the proxy let it through)
  assert.equal((await peers.journal('s3'))[0].verdict, 'ok');
  const bad = sign(s3p, 's3', { method: 'PUT', path: '/bkt/dir//x%20y', body: 'z' }, { secretAccessKey: 'wrong' });
  assert.match((await send(s3p, bad)).text, /<CanonicalRequest>PUT\n\/bkt\/dir\/\/x%20y\n/);
});
