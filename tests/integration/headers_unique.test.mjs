// No outbound request carries two headers of one name, for every provider
// type that sends HTTP (docs/http_client.md, "One header per name"): the
// real binary delivers to a raw-socket receiver (lib/raw_receiver.mjs) that
// reads the header lines as they arrived and refuses a repeated name. Where
// a configured header, the auth header, the X-hookstream-* headers and the
// signature headers share a name, the later in that order is the one sent,
// and the attempt's request_headers show exactly what was sent. Also: the
// signing timestamp named X-hookstream-Timestamp carries the signed Unix
// time (the signature checked here with node:crypto), and an aws_s3 prefix
// without a trailing '/' gets one (s3rver behind the SigV4 proxy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';
import { startRawReceiver } from './lib/raw_receiver.mjs';
import { serviceAccount } from './lib/gcp_peer.mjs';
import { startAwsPeers } from './lib/aws_peers.mjs';

const T = { timeout: 60000 };
const SECRET = 'a-long-shared-secret-0123';
const AWS = { region: 'us-east-1', access_key_id: 'AKIDHOOKSTREAM0TEST', secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYhookstream' };
const NO_RETRY = { retry_policy: { max_retries: 0 } };
// headers curl adds itself; they are not in the request the provider built
const CURL_OWN = new Set(['host', 'content-length', 'accept']);

// What each provider's classify takes for a success, by the request.
function answer(rec) {
  const target = rec.headers['x-amz-target'] || '';
  if (target.endsWith('SendMessage')) return { type: 'application/x-amz-json-1.0', body: { MessageId: 'm-1' } };
  if (target.endsWith('PutEvents')) return { type: 'application/x-amz-json-1.1', body: { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] } };
  if (rec.path === '/token') return { type: 'application/json', body: { access_token: 'ya29.test-token', expires_in: 3600, token_type: 'Bearer' } };
  if (rec.path.endsWith(':publish')) return { type: 'application/json', body: { messageIds: ['1'] } };
  if (rec.path.endsWith('/records')) return { type: 'application/json', body: { error_code: 200, partition_id: 0, offset: 1 } };
  if (rec.path.endsWith('/publish')) return { type: 'application/json', body: { routed: true } };
  return { status: 200, body: 'ok' };
}

let srv, rx;
before(async () => {
  [srv, rx] = await Promise.all([startServer({ args: ['--allow-private-destinations'] }), startRawReceiver(answer)]);
});
after(async () => { await rx?.close(); if (srv) await stopClean(srv); });

// Delivers one event through a new destination; resolves {event, attempt,
// requests: what the receiver got for it, token requests included}.
async function deliver(dest, body = '{"order":42}', headers = { 'content-type': 'application/json' }) {
  const from = rx.requests.length;
  const dst = await makeDestination(srv, { ...NO_RETRY, ...dest });
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', headers, body });
  assert.equal(r.status, 200);
  const { event_id } = await r.json();
  const event = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${event_id}`)).body;
    return e.status === 'delivered' || e.status === 'failed' ? e : null;
  }, 20000, `event ${event_id} settled`);
  return { event, attempt: event.attempts[0], requests: rx.requests.slice(from), body };
}

// No repeated name on the wire; the attempt delivered; its request_headers
// are the headers sent (masked values aside), and nothing but curl's own
// was sent without being recorded. Returns the delivery's request.
function checkUnique({ event, attempt, requests }, what) {
  for (const r of requests) assert.deepEqual(r.repeated, [], `${what}: ${r.method} ${r.path} repeated ${r.repeated}`);
  assert.equal(event.status, 'delivered', `${what}: ${attempt?.error}`);
  const sent = requests.filter((r) => r.path !== '/token').at(-1);
  const recorded = Object.entries(attempt.request_headers);
  const names = recorded.map(([k]) => k.toLowerCase());
  assert.equal(new Set(names).size, names.length, `${what}: the record repeats a name: ${names}`);
  for (const [k, v] of recorded) {
    assert.ok(k.toLowerCase() in sent.headers, `${what}: recorded ${k} was not sent`);
    if (v !== '********') assert.equal(sent.headers[k.toLowerCase()], v, `${what}: ${k}`);
  }
  for (const [k] of sent.headerLines) {
    if (!CURL_OWN.has(k.toLowerCase())) assert.ok(names.includes(k.toLowerCase()), `${what}: sent ${k} is not recorded`);
  }
  return sent;
}

const hmacHex = (secret, data) => crypto.createHmac('sha256', secret).update(data).digest('hex');

test('http: a name shared by configured headers, auth, X-hookstream-* and signature headers is sent once', T, async () => {
  // our defaults give way to configured headers; configured ones to the
  // signature's; X-hookstream-Timestamp to the signing timestamp, whatever
  // the case it is named in
  const d = await deliver({
    config: {
      url: `${rx.base}/hook`,
      headers: { 'content-type': 'application/vnd.acme+json', 'user-agent': 'acme-relay/2', accept: 'application/json', 'X-Sig': 'forged' },
      auth: { type: 'bearer', token: 'tok-123456' },
    },
    signing: { secret: SECRET, header: 'X-Sig', include_timestamp: true, timestamp_header: 'x-hookstream-timestamp' },
  });
  const sent = checkUnique(d, 'http');
  assert.equal(sent.headers['content-type'], 'application/vnd.acme+json');
  assert.equal(sent.headers['user-agent'], 'acme-relay/2');
  assert.equal(sent.headers.accept, 'application/json');
  assert.equal(sent.headers.authorization, 'Bearer tok-123456');
  const ts = sent.headers['x-hookstream-timestamp'];
  assert.match(ts, /^\d{10}$/);
  assert.equal(sent.headers['x-sig'], 'sha256=' + hmacHex(SECRET, `${ts}.${d.body}`));

  // custom auth headers over our defaults; a signature named Authorization
  // over the auth header
  const c = await deliver({
    config: { url: `${rx.base}/hook`, headers: { 'X-Tenant': 'acme' }, auth: { type: 'custom', headers: { 'User-Agent': 'custom-ua', 'Content-Type': 'text/x-custom' } } },
    signing: { secret: SECRET, header: 'Authorization', prefix: 'HMAC ' },
  });
  const csent = checkUnique(c, 'http custom');
  assert.equal(csent.headers['user-agent'], 'custom-ua');
  assert.equal(csent.headers['content-type'], 'text/x-custom');
  assert.equal(csent.headers.authorization, 'HMAC ' + hmacHex(SECRET, c.body));
  const b = await deliver({
    config: { url: `${rx.base}/hook`, auth: { type: 'basic', username: 'u', password: 'p-123' } },
    signing: { secret: SECRET, header: 'authorization' },
  });
  assert.equal(checkUnique(b, 'http basic').headers.authorization, 'sha256=' + hmacHex(SECRET, b.body));

  // standard_webhooks: configured webhook-* headers give way to the signature's
  const key = crypto.randomBytes(24);
  const w = await deliver({
    config: { url: `${rx.base}/hook`, headers: { 'Webhook-Id': 'forged', 'webhook-signature': 'v1,forged' } },
    signing: { scheme: 'standard_webhooks', secret: 'whsec_' + key.toString('base64') },
  });
  const wsent = checkUnique(w, 'standard_webhooks');
  const id = wsent.headers['webhook-id'];
  assert.match(id, /^dlv_[0-9a-f]{32}$/);
  const mac = crypto.createHmac('sha256', key).update(`${id}.${wsent.headers['webhook-timestamp']}.${w.body}`).digest('base64');
  assert.equal(wsent.headers['webhook-signature'], 'v1,' + mac);
});

test('signing.timestamp_header X-hookstream-Timestamp: one header, the signed Unix time, recorded as sent', T, async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const d = await deliver({
    config: { url: `${rx.base}/hook` },
    signing: { secret: SECRET, include_timestamp: true, timestamp_header: 'X-hookstream-Timestamp' },
  });
  const sent = checkUnique(d, 'timestamp');
  const lines = sent.headerLines.filter(([k]) => k.toLowerCase() === 'x-hookstream-timestamp');
  assert.equal(lines.length, 1, JSON.stringify(sent.headerLines));
  const ts = lines[0][1];
  assert.match(ts, /^\d+$/, 'the Unix time, not the ISO one');
  assert.ok(Math.abs(Number(ts) - t0) < 30);
  // verified independently: HMAC-SHA256 over "<ts>.<body>"
  assert.equal(sent.headers['x-hookstream-signature'], 'sha256=' + hmacHex(SECRET, `${ts}.${d.body}`));
  assert.equal(d.attempt.request_headers['X-hookstream-Timestamp'], ts);
  assert.equal(d.attempt.request_headers['X-hookstream-Signature'], sent.headers['x-hookstream-signature']);
  // without include_timestamp the header keeps the ISO time
  const iso = await deliver({ config: { url: `${rx.base}/hook` }, signing: { secret: SECRET, timestamp_header: 'X-hookstream-Timestamp' } });
  const isoSent = checkUnique(iso, 'timestamp, not included');
  assert.ok(Math.abs(Date.parse(isoSent.headers['x-hookstream-timestamp']) - Date.now()) < 30000);
});

test('every other provider type sends each header once, and records what it sent', T, async () => {
  const sa = serviceAccount('hooks-sa@hook-project-1.iam.gserviceaccount.com', 'hook-project-1');
  const cases = [
    ['aws_sqs', { queue_url: `${rx.base}/123456789012/orders`, endpoint: rx.base, session_token: 'tok-session', ...AWS }],
    ['aws_s3', { bucket: 'hook-events', prefix: 'hooks', endpoint: rx.base, ...AWS }],
    ['aws_eventbridge', { endpoint: rx.base, ...AWS }],
    ['gcp_pubsub', { project_id: 'hook-project-1', topic_id: 'orders', service_account_json: JSON.stringify(sa.keyFile), token_url: `${rx.base}/token`, endpoint: rx.base }],
    ['kafka', { rest_url: rx.base, cluster_id: 'lkc-1', topic: 'orders', api_key: 'key', api_secret: 'secret-1' }],
    ['rabbitmq', { url: rx.base, exchange: 'events', routing_key: 'k', username: 'hookstream', password: 'pw-1' }],
  ];
  for (const [type, config] of cases) {
    const d = await deliver({ type, config, signing: { secret: SECRET } });
    const sent = checkUnique(d, type);
    if (type === 'aws_s3') assert.match(sent.path, /^\/hook-events\/hooks\/\d{4}\/\d{2}\/\d{2}\/evt_[0-9a-f]{32}\.json$/);
    if (type === 'gcp_pubsub') assert.ok(d.requests.some((r) => r.path === '/token'), 'the token was fetched here');
  }
});

test('aws_s3: a prefix without a trailing "/" gets one (s3rver, SigV4 checked)', T, async () => {
  const peers = await startAwsPeers({ accessKey: AWS.access_key_id, secret: AWS.secret_access_key, buckets: ['hook-events'] });
  try {
    for (const [prefix, want] of [['hooks', 'hooks/'], ['a/b/', 'a/b/'], ['', '']]) {
      const dst = await makeDestination(srv, { type: 'aws_s3', config: { bucket: 'hook-events', prefix, endpoint: peers.s3.endpoint, ...AWS } });
      assert.equal(dst.config.prefix, prefix, 'stored as given');
      const src = await makeSource(srv);
      await makeConnection(srv, src.id, dst.id);
      const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
      const { event_id } = await r.json();
      const ev = await until(async () => {
        const e = (await srv.req('GET', `/v1/events/${event_id}`)).body;
        return e.status === 'delivered' || e.status === 'failed' ? e : null;
      }, 20000, 'settled');
      assert.equal(ev.status, 'delivered', ev.attempts[0]?.error);
      const key = `${want}${new Date(Date.parse(ev.received_at)).toISOString().slice(0, 10).replace(/-/g, '/')}/${event_id}.json`;
      assert.equal(ev.attempts[0].request_url, `${peers.s3.endpoint}/hook-events/${key}`);
      const obj = await peers.getObject('hook-events', key);
      assert.equal(obj.status, 200, key);
      assert.equal(JSON.parse(obj.body).event_id, event_id);
    }
  } finally {
    await peers.stop();
  }
});
