// Sender signature verification at sources (src/verify/, docs/verification.md):
// the third step of the front door, 401 with what failed. Requests are signed
// with each sender's own library where one exists (stripe,
// @octokit/webhooks-methods, standardwebhooks, svix; tests/peers) and by hand
// from the sender's documentation otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { startServer, stopClean, makeSource, API_KEY } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const peers = createRequire(PEERS_DIR + '/');
const stripe = peers('stripe')('sk_test_unused');
const { Webhook: StandardWebhook } = peers('standardwebhooks');
const { Webhook: SvixWebhook } = peers('svix');
const WebSocket = peers('ws');
// ESM only, with an exports map require cannot resolve: its node entry
const octokit = await import(pathToFileURL(`${PEERS_DIR}/node_modules/@octokit/webhooks-methods/dist-node/index.js`).href);

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopClean(srv); });

const now = () => Math.floor(Date.now() / 1000);
const hmac = (alg, key, data, enc = 'hex') => crypto.createHmac(alg, key).update(data).digest(enc);
const whsec = (seed) => 'whsec_' + crypto.createHash('sha256').update(seed).digest().subarray(0, 24).toString('base64');

async function ingest(src, body, headers = {}, suffix = '') {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}${suffix}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function eventCount(src) {
  const r = await srv.req('GET', `/v1/events?source_id=${src.id}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.body.events.length;
}

// good passes; every bad one is 401 with its reason, and nothing is stored
async function expect(src, cases) {
  const before = await eventCount(src);
  let stored = 0;
  for (const [what, body, headers, reason, msg] of cases) {
    const r = await ingest(src, body, headers);
    if (!reason) {
      assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
      stored++;
      continue;
    }
    assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.reason, reason, `${what}: ${r.body.error}`);
    assert.equal(r.body.status, 401);
    assert.match(r.body.error, /^signature verification failed: /);
    if (msg) assert.match(r.body.error, msg, what);
  }
  assert.equal(await eventCount(src), before + stored, 'refused requests store nothing');
}

const BODY = '{"id":"evt_1","type":"thing.happened","data":{"n":1}}';
const TAMPERED = BODY.replace('"n":1', '"n":2');

// ---- the fields ----

test('verification fields are validated with the field named', async () => {
  const cases = [
    [{ template: 'nope' }, 'template', /GET \/v1\/source-templates/],
    [{ verification_enabled: true }, 'verification_type', /required when verification_enabled is true/],
    [{ verification_enabled: true, verification_type: 'md5' }, 'verification_type', /must be one of: hmac_sha256, /],
    [{ verification_enabled: true, verification_type: 'hmac_sha256' }, 'verification_secret', /is required/],
    [{ template: 'stripe' }, 'verification_secret', /is required when verification_enabled is true \(stripe\)/],
    [{ template: 'svix', verification_secret: 'not-a-whsec' }, 'verification_secret', /whsec_/],
    [{ template: 'sendgrid', verification_secret: 'bm9wZQ==' }, 'verification_secret', /EC P-256 public key/],
    [{ template: 'stripe', verification_secret: 'whsec_x', verification_config: { encoding: 'base64' } },
      'verification_config.encoding', /hmac_sha256 and hmac_sha1 only/],
    [{ template: 'github', verification_secret: 's', verification_config: { tolerance_s: 10 } },
      'verification_config.tolerance_s', /signs no timestamp/],
    [{ template: 'svix', verification_secret: whsec('a'), verification_header: 'X-Sig' }, 'verification_header',
      /does not apply to svix/],
    [{ verification_enabled: true, verification_type: 'hmac_sha256', verification_config: { encoding: 'b32' } },
      'verification_config.encoding', /hex, base64/],
    [{ template: 'github', verification_secrets: ['x'] }, 'verification_secrets', /verification_secret is required/],
    [{ template: 'github', verification_secret: 'a', verification_secrets: ['b', 'c', 'd', 'e', 'f'] },
      'verification_secrets', /4/],
    [{ template: 'github', verification_secret: 's', verification_header: 'bad header' }, 'verification_header',
      /header name/],
    [{ template: 'slack', verification_secret: 's', verification_config: { tolerance_s: -1 } },
      'verification_config.tolerance_s', /0/],
  ];
  for (const [extra, field, msg] of cases) {
    const r = await srv.req('POST', '/v1/sources', { name: 'bad', ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.body.field, field, r.text);
    assert.match(r.body.error, msg);
  }
  const plain = await makeSource(srv);
  assert.equal(plain.verification_enabled, false);
  assert.equal(plain.template, null);
  assert.equal(plain.verification_type, null);
  assert.equal(plain.verification_secret, null);
  assert.deepEqual(plain.verification_config, {});
});

test('a template fills in the scheme and header; secrets are masked on read and sealed at rest', async () => {
  const secret = 'gh-secret-' + crypto.randomUUID();
  const s = await makeSource(srv, { template: 'github', verification_secret: secret, verification_secrets: ['old-secret-1234567'] });
  assert.equal(s.verification_enabled, true);
  assert.equal(s.verification_type, 'hmac_sha256');
  assert.equal(s.verification_header, 'X-Hub-Signature-256');
  assert.equal(s.verification_secret, '********' + secret.slice(-4));
  assert.deepEqual(s.verification_secrets, ['********4567']);
  const got = await srv.req('GET', `/v1/sources/${s.id}`);
  assert.equal(got.body.verification_secret, s.verification_secret);
  // PATCHing back what was read keeps the secrets
  const p = await srv.req('PATCH', `/v1/sources/${s.id}`, { ...got.body, id: undefined, created_at: undefined, updated_at: undefined, event_count: undefined, last_event_at: undefined, ingest_url: undefined, name: 'renamed' });
  assert.equal(p.status, 200, p.text);
  const sig = await octokit.sign(secret, BODY);
  assert.equal((await ingest(s, BODY, { 'x-hub-signature-256': sig })).status, 200);
  const old = 'sha256=' + hmac('sha256', 'old-secret-1234567', BODY);
  assert.equal((await ingest(s, BODY, { 'x-hub-signature-256': old })).status, 200, 'the rotated-out secret still passes');
  // a masked value on create is refused
  const m = await srv.req('POST', '/v1/sources', { name: 'm', template: 'github', verification_secret: '********abcd' });
  assert.equal(m.status, 400);
  assert.equal(m.body.field, 'verification_secret');
  // the database holds no secret in clear
  for (const f of [srv.db, srv.db + '-wal']) {
    let bytes = '';
    try { bytes = readFileSync(f).toString('latin1'); } catch { continue; }
    assert.ok(!bytes.includes(secret), `${f} holds the secret in clear`);
    assert.ok(!bytes.includes('old-secret-1234567'), `${f} holds a rotation secret in clear`);
  }
  // changing the template re-derives the scheme and header
  const t = await srv.req('PATCH', `/v1/sources/${s.id}`, { template: 'intercom' });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.body.verification_type, 'hmac_sha1');
  assert.equal(t.body.verification_header, 'X-Hub-Signature');
  // turning verification off lets unsigned requests in
  const off = await srv.req('PATCH', `/v1/sources/${s.id}`, { verification_enabled: false });
  assert.equal(off.body.verification_enabled, false);
  assert.equal((await ingest(s, BODY)).status, 200);
});

test('GET /v1/source-templates lists every sender with its settings', async () => {
  const r = await srv.req('GET', '/v1/source-templates');
  assert.equal(r.status, 200, r.text);
  const names = r.body.templates.map((t) => t.name);
  assert.deepEqual(names.sort(), ['clerk', 'custom', 'github', 'intercom', 'linear', 'paddle', 'postmark', 'resend',
    'sendgrid', 'shopify', 'slack', 'stripe', 'svix', 'twilio', 'typeform'].sort());
  const one = await srv.req('GET', '/v1/source-templates/stripe');
  assert.equal(one.status, 200);
  assert.equal(one.body.verification_type, 'stripe');
  assert.equal(one.body.verification_header, 'Stripe-Signature');
  assert.equal(one.body.verification_config.tolerance_s, 300);
  assert.equal(one.body.secret_required, true);
  const gh = r.body.templates.find((t) => t.name === 'github');
  assert.deepEqual(gh.verification_config, { encoding: 'hex', prefix: 'sha256=', tolerance_s: null });
  const pm = r.body.templates.find((t) => t.name === 'postmark');
  assert.equal(pm.verification_type, 'none');
  assert.equal(pm.secret_required, false);
  assert.equal((await srv.req('GET', '/v1/source-templates/nope')).status, 404);
  assert.equal((await fetch(`${srv.url}/v1/source-templates`)).status, 401, 'behind the API key');
});

// ---- each sender ----

test('stripe: signed with the stripe library; tampered, unsigned, wrong secret, stale, rotated', async () => {
  const secret = whsec('stripe-1'), next = whsec('stripe-2');
  const src = await makeSource(srv, { template: 'stripe', verification_secret: secret });
  const sign = (payload, s = secret, timestamp = now()) => ({
    'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: s, timestamp }),
  });
  await expect(src, [
    ['good', BODY, sign(BODY)],
    ['tampered', TAMPERED, sign(BODY), 'signature_mismatch', /does not match/],
    ['unsigned', BODY, {}, 'signature_missing', /missing header Stripe-Signature/],
    ['wrong secret', BODY, sign(BODY, next), 'signature_mismatch'],
    ['stale', BODY, sign(BODY, secret, now() - 301), 'timestamp_stale', /300 s/],
    ['no timestamp', BODY, { 'stripe-signature': 'v1=abcd' }, 'signature_malformed', /no t= timestamp/],
    ['no v1', BODY, { 'stripe-signature': `t=${now()},v0=abcd` }, 'signature_malformed', /no v1= signature/],
  ]);
  // several v1 entries (Stripe rolling its secret): any one may match
  const t = now(); // once: a second may turn between calls
  const both = `t=${t},v1=${hmac('sha256', next, `${t}.${BODY}`)},v1=${hmac('sha256', secret, `${t}.${BODY}`)}`;
  assert.equal((await ingest(src, BODY, { 'stripe-signature': both })).status, 200);
  // rotation on our side: the new secret, the old one still accepted
  const p = await srv.req('PATCH', `/v1/sources/${src.id}`, { verification_secret: next, verification_secrets: [secret] });
  assert.equal(p.status, 200, p.text);
  await expect(src, [['new secret', BODY, sign(BODY, next)], ['old secret', BODY, sign(BODY, secret)]]);
  await srv.req('PATCH', `/v1/sources/${src.id}`, { verification_secrets: null });
  await expect(src, [['old secret, rotation over', BODY, sign(BODY, secret), 'signature_mismatch']]);
  // the tolerance is the source's to set
  await srv.req('PATCH', `/v1/sources/${src.id}`, { verification_config: { tolerance_s: 3600 } });
  await expect(src, [['an hour old', BODY, sign(BODY, next, now() - 1800)]]);
});

test('github: signed with @octokit/webhooks-methods', async () => {
  const src = await makeSource(srv, { template: 'github', verification_secret: 'It\'s a Secret to Everybody' });
  const sig = await octokit.sign('It\'s a Secret to Everybody', BODY);
  await expect(src, [
    ['good', BODY, { 'x-hub-signature-256': sig }],
    ['tampered', TAMPERED, { 'x-hub-signature-256': sig }, 'signature_mismatch'],
    ['unsigned', BODY, {}, 'signature_missing', /X-Hub-Signature-256/],
    ['no prefix', BODY, { 'x-hub-signature-256': sig.slice(7) }, 'signature_malformed', /"sha256="/],
    ['not hex', BODY, { 'x-hub-signature-256': 'sha256=zz' }, 'signature_malformed', /not hex/],
    ['wrong secret', BODY, { 'x-hub-signature-256': await octokit.sign('other', BODY) }, 'signature_mismatch'],
  ]);
});

test('standard_webhooks: signed with the standardwebhooks library', async () => {
  const secret = whsec('sw');
  const src = await makeSource(srv, { verification_enabled: true, verification_type: 'standard_webhooks', verification_secret: secret });
  const wh = new StandardWebhook(secret.slice(6));
  const sign = (payload, at = new Date(), id = 'msg_' + crypto.randomUUID(), w = wh) => ({
    'webhook-id': id, 'webhook-timestamp': String(Math.floor(at / 1000)), 'webhook-signature': w.sign(id, at, payload),
  });
  const other = new StandardWebhook(whsec('other').slice(6));
  await expect(src, [
    ['good', BODY, sign(BODY)],
    ['tampered', TAMPERED, sign(BODY), 'signature_mismatch'],
    ['unsigned', BODY, {}, 'signature_missing', /webhook-id/],
    ['wrong secret', BODY, sign(BODY, new Date(), 'msg_x', other), 'signature_mismatch'],
    ['stale', BODY, sign(BODY, new Date(Date.now() - 10 * 60 * 1000)), 'timestamp_stale'],
    ['no v1', BODY, { ...sign(BODY), 'webhook-signature': 'v2,abc' }, 'signature_malformed', /"v1,"/],
  ]);
  // two signatures, space-separated: one good is enough
  const h = sign(BODY);
  h['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} ${h['webhook-signature']}`;
  assert.equal((await ingest(src, BODY, h)).status, 200);
});

for (const template of ['svix', 'clerk', 'resend']) {
  test(`${template}: signed with the svix library`, async () => {
    const secret = whsec(template);
    const src = await makeSource(srv, { template, verification_secret: secret });
    assert.equal(src.verification_type, 'svix');
    const wh = new SvixWebhook(secret);
    const sign = (payload, at = new Date(), id = 'msg_' + crypto.randomUUID()) => ({
      'svix-id': id, 'svix-timestamp': String(Math.floor(at / 1000)), 'svix-signature': wh.sign(id, at, payload),
    });
    await expect(src, [
      ['good', BODY, sign(BODY)],
      ['tampered', TAMPERED, sign(BODY), 'signature_mismatch'],
      ['unsigned', BODY, {}, 'signature_missing', /svix-id/],
      ['stale', BODY, sign(BODY, new Date(Date.now() - 6 * 60 * 1000)), 'timestamp_stale'],
    ]);
  });
}

test('shopify: base64 HMAC-SHA256 of the body', async () => {
  const src = await makeSource(srv, { template: 'shopify', verification_secret: 'shpss_secret' });
  const sig = hmac('sha256', 'shpss_secret', BODY, 'base64');
  await expect(src, [
    ['good', BODY, { 'x-shopify-hmac-sha256': sig }],
    ['tampered', TAMPERED, { 'x-shopify-hmac-sha256': sig }, 'signature_mismatch'],
    ['hex instead', BODY, { 'x-shopify-hmac-sha256': hmac('sha256', 'shpss_secret', BODY) }, 'signature_mismatch'],
  ]);
});

test('slack: v0 over "v0:<timestamp>:<body>"', async () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const src = await makeSource(srv, { template: 'slack', verification_secret: secret });
  const sign = (payload, ts = now()) => ({
    'x-slack-request-timestamp': String(ts), 'x-slack-signature': 'v0=' + hmac('sha256', secret, `v0:${ts}:${payload}`),
  });
  await expect(src, [
    ['good', BODY, sign(BODY)],
    ['tampered', TAMPERED, sign(BODY), 'signature_mismatch'],
    ['no timestamp', BODY, { 'x-slack-signature': sign(BODY)['x-slack-signature'] }, 'signature_missing',
      /X-Slack-Request-Timestamp/],
    ['stale', BODY, sign(BODY, now() - 400), 'timestamp_stale'],
  ]);
});

test('twilio: HMAC-SHA1 of the URL and sorted form parameters, or bodySHA256 for JSON', async () => {
  const token = '12345-twilio-auth-token';
  const src = await makeSource(srv, { template: 'twilio', verification_secret: token });
  const url = `${srv.url}/v1/ingest/${src.id}`;
  const form = 'To=%2B18005551212&From=%2B14158675309&Body=Hello+there&CallSid=CA123&Digits=1234';
  const params = new URLSearchParams(form);
  const data = url + [...params.keys()].sort().map((k) => k + params.get(k)).join('');
  const sig = crypto.createHmac('sha1', token).update(data).digest('base64');
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
  let r = await ingest(src, form, { ...formHeaders, 'x-twilio-signature': sig });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await ingest(src, form.replace('1234', '1235'), { ...formHeaders, 'x-twilio-signature': sig });
  assert.equal(r.status, 401);
  assert.equal(r.body.reason, 'signature_mismatch');
  r = await ingest(src, form, formHeaders);
  assert.equal(r.body.reason, 'signature_missing');
  // JSON: the URL carries bodySHA256, which is signed and must match the body
  const sha = crypto.createHash('sha256').update(BODY).digest('hex');
  const jsonUrl = `${url}?bodySHA256=${sha}`;
  const jsig = crypto.createHmac('sha1', token).update(jsonUrl).digest('base64');
  r = await ingest(src, BODY, { 'x-twilio-signature': jsig }, `?bodySHA256=${sha}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await ingest(src, TAMPERED, { 'x-twilio-signature': jsig }, `?bodySHA256=${sha}`);
  assert.equal(r.status, 401);
  assert.equal(r.body.reason, 'signature_mismatch');
});

test('sendgrid: ECDSA P-256 over timestamp + body, the public key as the secret', async () => {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const src = await makeSource(srv, { template: 'sendgrid', verification_secret: pub });
  assert.match(src.verification_secret, /^\*{8}/);
  const sign = (payload, ts = now(), key = privateKey) => ({
    'x-twilio-email-event-webhook-timestamp': String(ts),
    'x-twilio-email-event-webhook-signature': crypto.sign('sha256', Buffer.from(`${ts}${payload}`), key).toString('base64'),
  });
  const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  await expect(src, [
    ['good', BODY, sign(BODY)],
    ['tampered', TAMPERED, sign(BODY), 'signature_mismatch'],
    ['unsigned', BODY, {}, 'signature_missing'],
    ['other key', BODY, sign(BODY, now(), other), 'signature_mismatch'],
    ['stale', BODY, sign(BODY, now() - 3600), 'timestamp_stale'],
  ]);
  // PEM is accepted too
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const p = await srv.req('PATCH', `/v1/sources/${src.id}`, { verification_secret: pem });
  assert.equal(p.status, 200, p.text);
  assert.equal((await ingest(src, BODY, sign(BODY))).status, 200);
});

test('intercom: sha1= hex HMAC-SHA1', async () => {
  const src = await makeSource(srv, { template: 'intercom', verification_secret: 'client-secret' });
  const sig = 'sha1=' + hmac('sha1', 'client-secret', BODY);
  await expect(src, [
    ['good', BODY, { 'x-hub-signature': sig }],
    ['tampered', TAMPERED, { 'x-hub-signature': sig }, 'signature_mismatch'],
  ]);
});

test('linear: hex HMAC-SHA256 and the body\'s webhookTimestamp', async () => {
  const src = await makeSource(srv, { template: 'linear', verification_secret: 'lin_wh_secret' });
  const body = (ms) => JSON.stringify({ action: 'create', type: 'Issue', webhookTimestamp: ms });
  const fresh = body(Date.now()), old = body(Date.now() - 120000);
  await expect(src, [
    ['good', fresh, { 'linear-signature': hmac('sha256', 'lin_wh_secret', fresh) }],
    ['tampered', fresh.replace('create', 'remove'), { 'linear-signature': hmac('sha256', 'lin_wh_secret', fresh) },
      'signature_mismatch'],
    ['stale', old, { 'linear-signature': hmac('sha256', 'lin_wh_secret', old) }, 'timestamp_stale'],
  ]);
});

test('paddle: ts=;h1= over "<ts>:<body>", 5 s by default', async () => {
  const secret = 'pdl_ntfset_secret';
  const src = await makeSource(srv, { template: 'paddle', verification_secret: secret });
  const sign = (payload, ts = now()) => ({ 'paddle-signature': `ts=${ts};h1=${hmac('sha256', secret, `${ts}:${payload}`)}` });
  await expect(src, [
    ['good', BODY, sign(BODY)],
    ['tampered', TAMPERED, sign(BODY), 'signature_mismatch'],
    ['stale', BODY, sign(BODY, now() - 30), 'timestamp_stale', /5 s/],
  ]);
});

test('typeform: sha256= base64', async () => {
  const src = await makeSource(srv, { template: 'typeform', verification_secret: 'tf-secret' });
  const sig = 'sha256=' + hmac('sha256', 'tf-secret', BODY, 'base64');
  await expect(src, [
    ['good', BODY, { 'typeform-signature': sig }],
    ['tampered', TAMPERED, { 'typeform-signature': sig }, 'signature_mismatch'],
  ]);
});

test('custom: hmac_sha1, base64, a prefix and a header of the source\'s choosing', async () => {
  const src = await makeSource(srv, {
    template: 'custom', verification_type: 'hmac_sha1', verification_secret: 'custom-secret',
    verification_header: 'X-Acme-Sig', verification_config: { encoding: 'base64', prefix: 'acme1:' },
  });
  const sig = 'acme1:' + hmac('sha1', 'custom-secret', BODY, 'base64');
  await expect(src, [
    ['good', BODY, { 'x-acme-sig': sig }],
    ['tampered', TAMPERED, { 'x-acme-sig': sig }, 'signature_mismatch'],
    ['unsigned', BODY, {}, 'signature_missing', /X-Acme-Sig/],
  ]);
});

test('postmark signs nothing; basic_auth checks the credentials put in the URL', async () => {
  const pm = await makeSource(srv, { template: 'postmark' });
  assert.equal(pm.verification_enabled, false);
  assert.equal(pm.verification_type, 'none');
  assert.equal((await ingest(pm, BODY)).status, 200);
  const src = await makeSource(srv, { template: 'postmark', verification_enabled: true, verification_type: 'basic_auth', verification_secret: 'pm:hunter22' });
  const basic = (cred) => ({ authorization: 'Basic ' + Buffer.from(cred).toString('base64') });
  await expect(src, [
    ['good', BODY, basic('pm:hunter22')],
    ['wrong', BODY, basic('pm:hunter23'), 'signature_mismatch'],
    ['none', BODY, {}, 'signature_missing'],
    ['bearer', BODY, { authorization: 'Bearer x' }, 'signature_malformed'],
  ]);
});

// ---- what a refusal leaves behind ----

test('refusals are counted in /metrics and shown live, without the expected value', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${API_KEY}`);
  const msgs = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ type: 'subscribe', channel: 'hookstream.events' }));
  await until(() => msgs.some((m) => m.type === 'subscribed'), 5000, 'subscribed');
  try {
    const secret = 'metrics-secret';
    const src = await makeSource(srv, { template: 'github', verification_secret: secret, ip_denylist: ['10.0.0.0/8'] });
    const good = 'sha256=' + hmac('sha256', secret, BODY);
    const bad = await ingest(src, TAMPERED, { 'x-hub-signature-256': good });
    assert.equal(bad.status, 401);
    assert.ok(!JSON.stringify(bad.body).includes(hmac('sha256', secret, TAMPERED)), 'the expected signature is not told');
    assert.ok(!JSON.stringify(bad.body).includes(secret));
    await ingest(src, BODY, {});
    await ingest(src, BODY, {});
    assert.equal((await ingest(src, BODY, { 'x-hub-signature-256': good })).status, 200);
    const m = await until(async () => {
      const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
      return text.includes(`hookstream_ingest_refused_total{source_id="${src.id}",reason="signature_missing"} 2`) ? text : null;
    }, 5000, 'refusals counted');
    assert.match(m, new RegExp(`hookstream_ingest_refused_total\\{source_id="${src.id}",reason="signature_mismatch"\\} 1`));
    assert.match(m, /# TYPE hookstream_ingest_refused_total counter/);
    const live = await until(() => {
      const r = msgs.filter((x) => x.type === 'ingest.refused' && x.data.source_id === src.id);
      return r.length >= 3 ? r : null;
    }, 5000, 'live refusals');
    assert.equal(live[0].channel, 'hookstream.events');
    assert.equal(live[0].data.status, 401);
    assert.equal(live[0].data.reason, 'signature_mismatch');
    assert.match(live[0].data.error, /does not match/);
    assert.match(live[0].data.request_id, /^req_/);
  } finally {
    ws.terminate();
  }
});

test('a slug reaches the same verifier; a deleted source stops verifying', async () => {
  const src = await makeSource(srv, { slug: 'signed-by-slug', template: 'github', verification_secret: 's3cr3t' });
  let r = await fetch(`${srv.url}/v1/ingest/signed-by-slug`, { method: 'POST', body: BODY });
  assert.equal(r.status, 401);
  r = await fetch(`${srv.url}/v1/ingest/signed-by-slug`, {
    method: 'POST', body: BODY, headers: { 'x-hub-signature-256': 'sha256=' + hmac('sha256', 's3cr3t', BODY) },
  });
  assert.equal(r.status, 200);
  assert.equal((await srv.req('DELETE', `/v1/sources/${src.id}`)).status, 200);
  r = await fetch(`${srv.url}/v1/ingest/signed-by-slug`, { method: 'POST', body: BODY });
  assert.equal(r.status, 404);
  // its refusal series went with it
  const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
  assert.ok(!text.includes(src.id), 'no series of the deleted source');
});
