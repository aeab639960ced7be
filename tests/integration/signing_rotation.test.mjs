// Rotating a destination's signing secret (docs/api.md "Rotating a signing
// secret"): POST /v1/destinations/:id/rotate-secret. During the overlap
// each delivery carries both signatures, the new one first, and each
// verifies with its own secret; once the overlap ends, only the new one.
// Checked for both schemes with node:crypto following each one's rules
// (the Standard Webhooks spec: "v1,<base64 HMAC-SHA256 of id.ts.body>",
// space-separated; the hookstream scheme: "<prefix><hex HMAC>" of
// "<ts>.<body>", an HTTP list). Secrets are masked on read and sealed at
// rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { startServer, stopClean, makeDestination, ingestVia } from './lib/server.mjs';
import { startReceiver, sleep } from './lib/receiver.mjs';

let srv, rx;
before(async () => {
  srv = await startServer();
  rx = await startReceiver();
});
after(async () => {
  await rx?.close();
  if (srv) await stopClean(srv);
});

// The next request the receiver gets after sending one event to dst.
async function deliverOne(dst) {
  const n = rx.requests.length;
  await ingestVia(srv, dst, JSON.stringify({ n: Math.random() }));
  await rx.waitFor(n + 1, 15000);
  return rx.requests[n];
}

// Neither secret in clear in the SQLite files (sealed at rest like the
// current one); a PostgreSQL server's files are not ours to read.
function assertSealed(...secrets) {
  if (srv.db.includes('://')) return;
  for (const f of [srv.db, `${srv.db}-wal`, `${srv.db}-shm`].filter((x) => existsSync(x))) {
    const buf = readFileSync(f);
    for (const secret of secrets) assert.ok(!buf.includes(secret), `${secret} in clear in ${f}`);
  }
}

const hmacHex = (secret, data) => crypto.createHmac('sha256', secret).update(data).digest('hex');
const standardSig = (secret, req) => {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = Buffer.concat([Buffer.from(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.`), req.body]);
  return 'v1,' + crypto.createHmac('sha256', key).update(signed).digest('base64');
};
const hookstreamSigs = (req) => req.headers['x-hookstream-signature'].split(', ');
const hookstreamSig = (secret, req) =>
  'sha256=' + hmacHex(secret, Buffer.concat([Buffer.from(req.headers['x-hookstream-signature-timestamp'] + '.'), req.body]));

test('hookstream scheme: both signatures during the overlap, the new one alone after', async () => {
  const OLD = 'the-old-secret-0001';
  const NEW = 'the-new-secret-0002';
  const dst = await makeDestination(srv, { config: { url: rx.url }, signing: { secret: OLD, include_timestamp: true } });
  let req = await deliverOne(dst);
  assert.deepEqual(hookstreamSigs(req), [hookstreamSig(OLD, req)]);

  const r = await srv.req('POST', `/v1/destinations/${dst.id}/rotate-secret`, { secret: NEW, expire_old_after_s: 3 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.new_secret, null, 'a secret the client gave is not echoed');
  const s = r.body.destination.signing;
  assert.equal(s.secret, '********0002');
  assert.equal(s.previous_secret, '********0001');
  const until = Date.parse(s.previous_secret_expires_at);
  assert.ok(until > Date.now() && until <= Date.now() + 3500, s.previous_secret_expires_at);
  const got = (await srv.req('GET', `/v1/destinations/${dst.id}`)).body;
  assert.deepEqual(got.signing, s);
  assert.ok(!JSON.stringify(got).includes(OLD) && !JSON.stringify(got).includes(NEW));
  assertSealed(OLD, NEW);

  req = await deliverOne(dst);
  assert.ok(Number(req.headers['x-hookstream-signature-timestamp']) * 1000 < until);
  assert.deepEqual(hookstreamSigs(req), [hookstreamSig(NEW, req), hookstreamSig(OLD, req)]);

  await sleep(Math.max(0, until - Date.now()) + 1100);
  req = await deliverOne(dst);
  assert.deepEqual(hookstreamSigs(req), [hookstreamSig(NEW, req)]);
});

test('Standard Webhooks: a generated secret; both verify during the overlap, only the new one after', async () => {
  const OLD = 'whsec_' + crypto.randomBytes(24).toString('base64');
  const dst = await makeDestination(srv, { config: { url: rx.url }, signing: { scheme: 'standard_webhooks', secret: OLD } });
  const r = await srv.req('POST', `/v1/destinations/${dst.id}/rotate-secret`, { expire_old_after_s: 3 });
  assert.equal(r.status, 200, r.text);
  const NEW = r.body.new_secret;
  assert.match(NEW, /^whsec_[A-Za-z0-9+/]+=*$/);
  assert.ok(Buffer.from(NEW.slice(6), 'base64').length >= 24);
  assert.equal(r.body.destination.signing.secret, '********' + NEW.slice(-4));
  const until = Date.parse(r.body.destination.signing.previous_secret_expires_at);

  let req = await deliverOne(dst);
  const sigs = req.headers['webhook-signature'].split(' ');
  assert.deepEqual(sigs, [standardSig(NEW, req), standardSig(OLD, req)]);
  // a receiver that only knows one of the secrets finds its signature in the list
  for (const secret of [OLD, NEW]) assert.ok(sigs.includes(standardSig(secret, req)));

  await sleep(Math.max(0, until - Date.now()) + 1100);
  req = await deliverOne(dst);
  assert.equal(req.headers['webhook-signature'], standardSig(NEW, req));
});

test('no overlap, and the refusals', async () => {
  const dst = await makeDestination(srv, { config: { url: rx.url }, signing: { secret: 'first-secret-00001' } });
  const r = await srv.req('POST', `/v1/destinations/${dst.id}/rotate-secret`, { secret: 'second-secret-0002', expire_old_after_s: 0 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.destination.signing.previous_secret, undefined);
  const req = await deliverOne(dst);
  assert.equal(req.headers['x-hookstream-signature'], 'sha256=' + hmacHex('second-secret-0002', req.body));

  const unsigned = await makeDestination(srv, { config: { url: rx.url } });
  assert.equal((await srv.req('POST', `/v1/destinations/${unsigned.id}/rotate-secret`, {})).status, 409);
  const bad = [{ expire_old_after_s: -1 }, { expire_old_after_s: 2592001 }, { expire_old_after_s: '60' },
    { secret: 'short' }, { secret: 'second-secret-0002' }, { colour: 'red' }];
  for (const body of bad) {
    const b = await srv.req('POST', `/v1/destinations/${dst.id}/rotate-secret`, body);
    assert.equal(b.status, 400, JSON.stringify(body) + ' ' + b.text);
  }
  const sw = await makeDestination(srv, { config: { url: rx.url }, signing: { scheme: 'standard_webhooks', secret: 'whsec_' + crypto.randomBytes(24).toString('base64') } });
  const notWhsec = await srv.req('POST', `/v1/destinations/${sw.id}/rotate-secret`, { secret: 'not-a-whsec-secret' });
  assert.equal(notWhsec.status, 400);
  assert.equal(notWhsec.body.field, 'signing.secret');
  assert.equal((await srv.req('POST', '/v1/destinations/dst_00000000000000000000000000000000/rotate-secret', {})).status, 404);
});
