// The aliases of docs/api.md "Aliases" through the real binary: the
// original product's field names and the seed's older ones are accepted on
// POST and PATCH, stored and returned under this project's names only, and
// deliveries use them (the receiver, the timeout, the number of attempts,
// the signature, the auth header, the transform). Both names of one field
// given, an alias out of range, an unknown field: 400 naming the field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, stopClean, makeSource, makeConnection, eventSettled, circuitIn } from './lib/server.mjs';
import { startReceiver, sleep } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopClean(srv); });

// The alias names (docs/api.md "Aliases"), where they may sit.
const TOP_ALIASES = [
  'org_id', 'env_id', 'provider_config', 'url', 'method', 'headers', 'timeout_ms', 'timeout', 'auth_type',
  'auth_config', 'max_retries', 'backoff_type', 'intervals', 'retry_enabled', 'retry_max_attempts',
  'retry_backoff_type', 'retry_intervals', 'circuit_breaker_enabled', 'circuit_breaker_threshold',
  'circuit_breaker_reset_ms', 'signing_config', 'transform_expression', 'transform_enabled',
];

// No alias name in a response: responses use this project's names.
function canonicalOnly(doc) {
  for (const k of Object.keys(doc)) assert.ok(!TOP_ALIASES.includes(k), `${k} is an alias name in a response`);
  if (doc.config) assert.ok(!('bootstrap_servers' in doc.config), 'config.bootstrap_servers in a response');
}

// Receivers, closed after the file even when a test failed.
const receivers = [];
async function receiver(behave) {
  const rx = await startReceiver(behave);
  receivers.push(rx);
  return rx;
}
after(async () => { for (const rx of receivers) await rx.close(); });

async function post(kind, body) {
  const r = await srv.req('POST', `/v1/${kind}`, body);
  assert.equal(r.status, 201, `${JSON.stringify(body)} -> ${r.text}`);
  canonicalOnly(r.body);
  const g = await srv.req('GET', `/v1/${kind}/${r.body.id}`);
  assert.deepEqual(g.body, r.body, 'GET shows what POST answered');
  return r.body;
}

async function patch(kind, id, body) {
  const r = await srv.req('PATCH', `/v1/${kind}/${id}`, body);
  assert.equal(r.status, 200, `${JSON.stringify(body)} -> ${r.text}`);
  canonicalOnly(r.body);
  return r.body;
}

async function refused(method, path, body, field, message) {
  const r = await srv.req(method, path, body);
  assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
  assert.equal(r.body.field, field, r.text);
  if (message) assert.match(r.body.error, message, r.text);
  return r.body;
}

let n = 0;
const name = (what) => `${what} ${++n}`;

// A source connected to dst; one JSON event ingested; its id.
async function sendOne(dst, body = { order: 42 }, connExtra = {}) {
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id, connExtra);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 200);
  return (await r.json()).event_id;
}

test('http settings at the top level (url, method, headers, timeout_ms) go to config and are used', async () => {
  const rx = await receiver();
  const dst = await post('destinations', {
    name: name('top-level http'), url: rx.url, method: 'PUT', headers: { 'X-Shop': 'berlin' }, timeout_ms: 4000,
  });
  assert.deepEqual(
    { url: dst.config.url, method: dst.config.method, headers: dst.config.headers, timeout_ms: dst.config.timeout_ms },
    { url: rx.url, method: 'PUT', headers: { 'X-Shop': 'berlin' }, timeout_ms: 4000 },
  );
  await eventSettled(srv, await sendOne(dst));
  assert.equal(rx.requests.length, 1);
  assert.equal(rx.requests[0].method, 'PUT');
  assert.equal(rx.requests[0].headers['x-shop'], 'berlin');

  // PATCH with the top-level url moves deliveries to the new receiver
  const rx2 = await receiver();
  const moved = await patch('destinations', dst.id, { url: rx2.url, method: 'PATCH' });
  assert.equal(moved.config.url, rx2.url);
  assert.equal(moved.config.method, 'PATCH');
  assert.equal(moved.config.headers['X-Shop'], 'berlin', 'what the patch does not name is kept');
  await eventSettled(srv, await sendOne(dst));
  assert.equal(rx.requests.length, 1, 'the old receiver gets nothing more');
  assert.equal(rx2.requests.length, 1);
  assert.equal(rx2.requests[0].method, 'PATCH');

  // the same checks as config.*: a bad URL, method or header is refused under its canonical name
  await refused('POST', '/v1/destinations', { name: 'x', url: 'ftp://h/x' }, 'config.url', /given as url/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, method: 'GET' }, 'config.method', /given as method/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, timeout_ms: 50 }, 'config.timeout_ms', /given as timeout_ms/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, headers: { 'X-hookstream-Event-Id': 'forged' } },
    'config.headers.X-hookstream-Event-Id');
  await refused('PATCH', `/v1/destinations/${dst.id}`, { url: 'not a url' }, 'config.url');
  // for http destinations only
  await refused('POST', '/v1/destinations', {
    name: 'x', type: 'websocket', config: { channel_name: 'c' }, url: rx.url,
  }, 'url', /http destinations only \(type is websocket\)/);
});

test('timeout in seconds is config.timeout_ms, and a delivery gives up after it', async () => {
  const rx = await receiver(() => ({ delayMs: 3000 }));
  const dst = await post('destinations', { name: name('timeout'), url: rx.url, timeout: 1, retry_enabled: false });
  assert.equal(dst.config.timeout_ms, 1000);
  assert.equal(dst.retry_policy.max_retries, 0);
  const e = await eventSettled(srv, await sendOne(dst), 'failed');
  assert.equal(e.attempts.length, 1);
  const a = e.attempts[0];
  assert.match(a.error, /time/i, JSON.stringify(a));
  assert.ok(a.duration_ms >= 900 && a.duration_ms < 2500, `gave up after ${a.duration_ms} ms, not 1000`);

  const half = await post('destinations', { name: name('timeout'), url: rx.url, timeout: 2.5 });
  assert.equal(half.config.timeout_ms, 2500);
  const p = await patch('destinations', half.id, { timeout: 30 });
  assert.equal(p.config.timeout_ms, 30000);
  // range checks are those of timeout_ms, in ms
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, timeout: 301 }, 'config.timeout_ms', /300000.*given as timeout/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, timeout: 0.05 }, 'config.timeout_ms', /given as timeout/);
  await refused('PATCH', `/v1/destinations/${half.id}`, { timeout: 0 }, 'config.timeout_ms');
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, timeout: '30' }, 'timeout', /number of seconds/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, timeout: 5, timeout_ms: 5000 }, 'timeout', /timeout_ms/);
});

// Failed attempts of one event on an always-failing receiver, once it is dead-lettered.
async function attemptsUntilDlq(dst, rx) {
  const e = await eventSettled(srv, await sendOne(dst), 'failed', 20000);
  await sleep(1200); // nothing more arrives after the DLQ
  assert.equal(rx.requests.length, e.attempts.length);
  assert.equal(e.attempts.at(-1).is_dlq, true);
  return e.attempts.length;
}

test('retry aliases: the seed\'s flat names, the original retry_* names, retry_enabled', async () => {
  const seedRx = await receiver(() => ({ status: 500 }));
  const seed = await post('destinations', {
    name: name('seed retry'), url: seedRx.url, max_retries: 2, backoff_type: 'fixed', intervals: [1],
  });
  assert.deepEqual(seed.retry_policy, { max_retries: 2, backoff_type: 'fixed', intervals: [1] });

  const origRx = await receiver(() => ({ status: 500 }));
  const orig = await post('destinations', {
    name: name('original retry'), url: origRx.url, retry_enabled: true, retry_max_attempts: 1,
    retry_backoff_type: 'linear', retry_intervals: [1],
  });
  assert.deepEqual(orig.retry_policy, { max_retries: 1, backoff_type: 'linear', intervals: [1] });

  const offRx = await receiver(() => ({ status: 500 }));
  const off = await post('destinations', { name: name('no retry'), url: offRx.url, retry_enabled: false, retry_intervals: [1] });
  assert.equal(off.retry_policy.max_retries, 0);

  const [s, o, f] = await Promise.all([attemptsUntilDlq(seed, seedRx), attemptsUntilDlq(orig, origRx), attemptsUntilDlq(off, offRx)]);
  assert.equal(s, 3, '1 + max_retries 2');
  assert.equal(o, 2, '1 + retry_max_attempts 1');
  assert.equal(f, 1, 'retry_enabled: false');

  // PATCH: retry_enabled true brings retries back (the default count), false takes them away
  let p = await patch('destinations', off.id, { retry_enabled: true });
  assert.equal(p.retry_policy.max_retries, 5);
  p = await patch('destinations', off.id, { retry_enabled: false });
  assert.equal(p.retry_policy.max_retries, 0);
  p = await patch('destinations', off.id, { retry_max_attempts: 4, retry_enabled: true });
  assert.equal(p.retry_policy.max_retries, 4);
  p = await patch('destinations', off.id, { max_retries: null });
  assert.equal(p.retry_policy.max_retries, 5, 'null: back to the default');

  // the same range checks as retry_policy
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, max_retries: 21 }, 'retry_policy.max_retries', /given as max_retries/);
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, retry_max_attempts: -1 }, 'retry_policy.max_retries');
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, intervals: [1, 604801] }, 'retry_policy.intervals[1]');
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, backoff_type: 'random' }, 'retry_policy.backoff_type');
  await refused('PATCH', `/v1/destinations/${seed.id}`, { retry_intervals: [] }, 'retry_policy.intervals');
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, retry_enabled: 'no' }, 'retry_enabled', /boolean/);
  // two names of one field, or a switch that contradicts the count: 400 naming both
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, max_retries: 2, retry_max_attempts: 2 },
    'retry_max_attempts', /max_retries/);
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, retry_intervals: [2], retry_policy: { intervals: [3] } },
    'retry_intervals', /retry_policy\.intervals/);
  await refused('POST', '/v1/destinations', { name: 'x', url: seedRx.url, retry_enabled: false, retry_max_attempts: 3 },
    'retry_enabled', /retry_max_attempts/);
  await refused('PATCH', `/v1/destinations/${seed.id}`, { retry_enabled: true, retry_policy: { max_retries: 0 } },
    'retry_enabled', /retry_policy\.max_retries/);
});

test('circuit_breaker_enabled|threshold|reset_ms are circuit_breaker.*, and the circuit follows them', async () => {
  const rx = await receiver(() => ({ status: 500 }));
  const dst = await post('destinations', {
    name: name('circuit'), url: rx.url, retry_enabled: false,
    circuit_breaker_enabled: true, circuit_breaker_threshold: 1, circuit_breaker_reset_ms: 60000,
  });
  assert.deepEqual(dst.circuit_breaker, { enabled: true, threshold: 1, cooldown_ms: 60000 });
  await eventSettled(srv, await sendOne(dst), 'failed');
  const c = await circuitIn(srv, dst.id, 'open');
  assert.equal(c.threshold, 1, 'one failure opened it');

  const p = await patch('destinations', dst.id, { circuit_breaker_enabled: false, circuit_breaker_reset_ms: 5000 });
  assert.deepEqual(p.circuit_breaker, { enabled: false, threshold: 1, cooldown_ms: 5000 });
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, circuit_breaker_threshold: 0 }, 'circuit_breaker.threshold');
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, circuit_breaker_reset_ms: 999 }, 'circuit_breaker.cooldown_ms',
    /given as circuit_breaker_reset_ms/);
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, circuit_breaker_enabled: 'yes' }, 'circuit_breaker.enabled');
  await refused('POST', '/v1/destinations', {
    name: 'x', url: rx.url, circuit_breaker_reset_ms: 5000, circuit_breaker: { cooldown_ms: 5000 },
  }, 'circuit_breaker_reset_ms', /circuit_breaker\.cooldown_ms/);
});

test('signing_config is signing: deliveries are signed with its secret, which is masked on read', async () => {
  const rx = await receiver();
  const secret = 'original-product-secret-1234';
  const dst = await post('destinations', { name: name('signing'), url: rx.url, signing_config: { secret, algorithm: 'sha256' } });
  assert.equal(dst.signing.algorithm, 'sha256');
  assert.equal(dst.signing.secret, '********1234');
  await eventSettled(srv, await sendOne(dst, { signed: true }));
  const r = rx.requests[0];
  assert.equal(r.headers['x-hookstream-signature'], 'sha256=' + crypto.createHmac('sha256', secret).update(r.body).digest('hex'));
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, signing_config: { secret: 'short' } }, 'signing.secret',
    /given as signing_config\.secret/);
  await refused('POST', '/v1/destinations', {
    name: 'x', url: rx.url, signing_config: { secret }, signing: { secret },
  }, 'signing_config', /another name for signing,/);
});

test('auth_type + auth_config are config.auth: the receiver gets the credentials', async () => {
  const rx = await receiver();
  const token = 'tok_original_product_5678';
  const dst = await post('destinations', { name: name('auth'), url: rx.url, auth_type: 'bearer', auth_config: { token } });
  assert.deepEqual(dst.config.auth, { type: 'bearer', token: '********5678' });
  await eventSettled(srv, await sendOne(dst));
  assert.equal(rx.requests[0].headers.authorization, `Bearer ${token}`);

  // PATCH switches the type with the same aliases
  const p = await patch('destinations', dst.id, { auth_type: 'basic', auth_config: { username: 'shop', password: 'pw-1234567890' } });
  assert.deepEqual(p.config.auth, { type: 'basic', username: 'shop', password: '********7890' });
  await eventSettled(srv, await sendOne(dst));
  assert.equal(rx.requests[1].headers.authorization, 'Basic ' + Buffer.from('shop:pw-1234567890').toString('base64'));

  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, auth_type: 'bearer' }, 'config.auth.token');
  await refused('POST', '/v1/destinations', { name: 'x', url: rx.url, auth_type: 'magic' }, 'config.auth.type', /given as auth_type/);
  await refused('POST', '/v1/destinations', {
    name: 'x', url: rx.url, auth_type: 'basic', auth_config: { type: 'bearer', token },
  }, 'auth_type', /auth_config\.type/);
  await refused('POST', '/v1/destinations', {
    name: 'x', config: { url: rx.url, auth: { type: 'bearer', token } }, auth_config: { token },
  }, 'auth_config', /config\.auth/);
});

test('kafka bootstrap_servers derives rest_url (https, port 443, /kafka)', async () => {
  const base = { cluster_id: 'lkc-1', topic: 'orders', api_key: 'KEY', api_secret: 'secret-secret-secret-9876' };
  const dst = await post('destinations', {
    name: name('kafka'), type: 'kafka',
    provider_config: { bootstrap_servers: 'pkc-abc.eu-west-1.aws.confluent.cloud:9092,pkc-def:9092', ...base },
  });
  assert.equal(dst.config.rest_url, 'https://pkc-abc.eu-west-1.aws.confluent.cloud:443/kafka');
  const p = await patch('destinations', dst.id, { config: { bootstrap_servers: 'SASL_SSL://b2.example.com:9092' } });
  assert.equal(p.config.rest_url, 'https://b2.example.com:443/kafka');
  await refused('POST', '/v1/destinations', { name: 'x', type: 'kafka', config: { bootstrap_servers: 'a/b:9092', ...base } },
    'config.bootstrap_servers', /host:port/);
  await refused('POST', '/v1/destinations', {
    name: 'x', type: 'kafka', config: { bootstrap_servers: 'b:9092', rest_url: 'https://b', ...base },
  }, 'config.bootstrap_servers', /config\.rest_url/);
  await refused('POST', '/v1/destinations', { name: 'x', config: { url: 'http://h/x', bootstrap_servers: 'b:9092' } },
    'config.bootstrap_servers', /kafka destinations only/);
});

test('connections: transform_expression is transform, transform_enabled: false is none', async () => {
  const rx = await receiver();
  const dst = await post('destinations', { name: name('transform'), url: rx.url });
  const src = await makeSource(srv);
  const conn = await post('connections', {
    source_id: src.id, destination_id: dst.id, transform_expression: '{"total": order * 2}', transform_enabled: true,
  });
  assert.equal(conn.transform, '{"total": order * 2}');
  const ingest = async () => {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{"order":21}', headers: { 'content-type': 'application/json' } });
    return eventSettled(srv, (await r.json()).event_id);
  };
  await ingest();
  assert.deepEqual(JSON.parse(rx.requests[0].body), { total: 42 });

  const p = await patch('connections', conn.id, { transform_enabled: false });
  assert.equal(p.transform, null);
  await ingest();
  assert.deepEqual(JSON.parse(rx.requests[1].body), { order: 21 }, 'sent as received');

  const off = await post('connections', { source_id: src.id, destination_id: dst.id, transform_enabled: false });
  assert.equal(off.transform, null);
  const base = { source_id: src.id, destination_id: dst.id };
  await refused('POST', '/v1/connections', { ...base, transform_expression: '(1 + ' }, 'transform', /given as transform_expression/);
  await refused('POST', '/v1/connections', { ...base, transform_expression: '$.a', transform: '$.b' }, 'transform_expression', /another name for transform,/);
  await refused('POST', '/v1/connections', { ...base, transform_expression: '$.a', transform_enabled: false },
    'transform_enabled', /transform_expression/);
  await refused('PATCH', `/v1/connections/${conn.id}`, { transform_enabled: 'off' }, 'transform_enabled', /boolean/);
  for (const c of [conn, off]) assert.equal((await srv.req('DELETE', `/v1/connections/${c.id}`)).status, 200);
});

test('org_id and env_id are accepted and ignored on every kind', async () => {
  const ids = { org_id: 'org_123', env_id: 'env_prod' };
  const src = await post('sources', { name: name('tenant'), ...ids });
  const dst = await post('destinations', { name: name('tenant'), config: { url: 'http://127.0.0.1:9/x' }, ...ids });
  const conn = await post('connections', { source_id: src.id, destination_id: dst.id, ...ids });
  for (const [kind, doc] of [['sources', src], ['destinations', dst], ['connections', conn]]) {
    assert.ok(!('org_id' in doc) && !('env_id' in doc), kind);
    const p = await patch(kind, doc.id, { env_id: 'env_staging' });
    assert.ok(!('env_id' in p), kind);
  }
});

test('unknown fields are still refused, aliases or not', async () => {
  const src = await makeSource(srv);
  const dst = await post('destinations', { name: name('unknown'), url: 'http://127.0.0.1:9/x' });
  const conn = await makeConnection(srv, src.id, dst.id);
  const cases = [
    ['POST', '/v1/sources', { name: 'x', tenant_id: 't' }, 'tenant_id'],
    ['POST', '/v1/destinations', { name: 'x', url: 'http://h/x', retry_count: 3 }, 'retry_count'],
    ['POST', '/v1/destinations', { name: 'x', url: 'http://h/x', config: { timeout: 5 } }, 'config.timeout'],
    ['POST', '/v1/connections', { source_id: src.id, destination_id: dst.id, transform_on: true }, 'transform_on'],
    ['PATCH', `/v1/sources/${src.id}`, { url: 'http://h/x' }, 'url'],
    ['PATCH', `/v1/destinations/${dst.id}`, { retry_policy: { retry_enabled: false } }, 'retry_policy.retry_enabled'],
    ['PATCH', `/v1/connections/${conn.id}`, { max_retries: 1 }, 'max_retries'],
  ];
  for (const [method, path, body, field] of cases) await refused(method, path, body, field, /unknown field/);
});
