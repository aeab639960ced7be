// API keys managed through the API and the CLI (docs/api.md "API keys",
// docs/operations.md): the key is shown once, lists never show it, a
// revocation is refused at once, last_used_at is remembered and written
// without a store write per request, and the CLI works on the database
// with no server running (SQLite path or, under tests/run.sh's PostgreSQL
// pass, a postgresql:// URL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { startServer, stopClean, API_KEY, BIN, tempDir } from './lib/server.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const WebSocket = createRequire(PEERS_DIR + '/')('ws');

const cli = (args, db) => spawnSync(BIN, ['api-keys', ...args, '--db', db],
  { env: { ...process.env, HOOKSTREAM_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 20000 });
const as = (key) => ({ authorization: `Bearer ${key}` });

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await stopClean(srv); });

test('create shows the key once; list shows its prefix, never the key or its hash', async () => {
  const r = await srv.req('POST', '/v1/auth/api-keys', { name: 'ci deploys' });
  assert.equal(r.status, 201, r.text);
  const k = r.body.api_key;
  assert.match(k.id, /^ak_[0-9a-f]{32}$/);
  assert.equal(k.name, 'ci deploys');
  assert.match(k.key, /^hs_live_[0-9a-f]{64}$/);
  assert.equal(k.prefix, k.key.slice(0, 12));
  assert.ok(!Number.isNaN(Date.parse(k.created_at)));
  assert.equal(k.last_used_at, null);

  // the new key works at once, with either header
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(k.key))).status, 200);
  assert.equal((await srv.req('GET', '/v1/sources', undefined, { 'x-api-key': k.key })).status, 200);

  const l = await srv.req('GET', '/v1/auth/api-keys');
  assert.equal(l.status, 200);
  const mine = l.body.api_keys.find((x) => x.id === k.id);
  assert.deepEqual(Object.keys(mine).sort(), ['created_at', 'id', 'last_used_at', 'name', 'prefix']);
  assert.equal(mine.prefix, k.prefix);
  assert.ok(mine.last_used_at, 'the use is remembered before it is written');
  assert.ok(!l.text.includes(k.key), 'the key is never listed');
  assert.ok(!l.text.includes(k.key.slice(12)), 'nor any of it past the prefix');
});

test('bad bodies are refused', async () => {
  for (const body of [{}, { name: '' }, { name: 7 }, { name: 'x'.repeat(101) }, { name: 'ok', key: 'mine' }]) {
    const r = await srv.req('POST', '/v1/auth/api-keys', body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal((await srv.req('POST', '/v1/auth/api-keys', { name: 'é'.repeat(100) })).status, 201);
  assert.equal((await srv.req('GET', '/v1/auth/api-keys?limit=5')).status, 400, 'no query parameters');
});

test('a revoked key is refused as soon as DELETE answers; the configured key keeps working', async () => {
  const k = (await srv.req('POST', '/v1/auth/api-keys', { name: 'short-lived' })).body.api_key;
  assert.equal((await srv.req('GET', '/v1/events', undefined, as(k.key))).status, 200);
  // a key may revoke itself: the answer still goes out, the next request is refused
  const d = await srv.req('DELETE', `/v1/auth/api-keys/${k.id}`, undefined, as(k.key));
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.body, { id: k.id, deleted: true });
  const again = await srv.req('GET', '/v1/events', undefined, as(k.key));
  assert.equal(again.status, 401);
  assert.equal(again.headers.get('www-authenticate'), 'Bearer');
  assert.equal((await srv.req('DELETE', `/v1/auth/api-keys/${k.id}`)).status, 404);
  assert.equal((await srv.req('DELETE', '/v1/auth/api-keys/ak_00000000000000000000000000000000')).status, 404);
  const l = await srv.req('GET', '/v1/auth/api-keys');
  assert.ok(!l.body.api_keys.some((x) => x.id === k.id));
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(API_KEY))).status, 200);
  // the WebSocket feed's check is the same set
  const wsOpens = (key) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${key}`);
    ws.on('open', () => { ws.close(); resolve(true); });
    ws.on('error', () => resolve(false));
  });
  assert.equal(await wsOpens(k.key), false);
  assert.equal(await wsOpens(API_KEY), true);
});

test('revoking a key closes the live feed clients it let in (1008), and only those', async () => {
  const k = (await srv.req('POST', '/v1/auth/api-keys', { name: 'feed' })).body.api_key;
  const open = (key) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${key}`);
    ws.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
  const [mine, other] = [await open(k.key), await open(API_KEY)];
  assert.equal((await srv.req('DELETE', `/v1/auth/api-keys/${k.id}`)).status, 200);
  const { code, reason } = await mine.closed;
  assert.equal(code, 1008);
  assert.equal(reason, 'API key revoked');
  assert.equal(other.readyState, WebSocket.OPEN, 'the configured key\'s client stays');
  other.close();
  await other.closed;
});

test('the CLI manages keys on the database without a server; uses survive a restart', async () => {
  const k = (await srv.req('POST', '/v1/auth/api-keys', { name: 'used' })).body.api_key;
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(k.key))).status, 200);
  const { dir, db } = srv;
  const { code } = await srv.stop();
  assert.equal(code, 0, srv.stderr);

  // last_used_at was written at shutdown
  let l = cli(['list', '--json'], db);
  assert.equal(l.status, 0, l.stderr);
  const rows = l.stdout.trim().split('\n').map((x) => JSON.parse(x));
  const used = rows.find((x) => x.id === k.id);
  assert.ok(used.last_used_at, l.stdout);
  assert.ok(!l.stdout.includes(k.key.slice(12)));

  const c = cli(['create', '--name', 'from the cli', '--json'], db);
  assert.equal(c.status, 0, c.stderr);
  const made = JSON.parse(c.stdout);
  assert.match(made.key, /^hs_live_[0-9a-f]{64}$/);
  const t = cli(['list'], db);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`${made.id}\\s+${made.prefix}\\s+from the cli`));
  assert.ok(!t.stdout.includes(made.key));
  const r = cli(['revoke', k.id], db);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(cli(['revoke', k.id], db).status, 1);
  assert.equal(cli(['create'], db).status, 2);
  const long = cli(['create', '--name', 'x'.repeat(101)], db);
  assert.equal(long.status, 1);
  assert.match(long.stderr, /name: is required: a string of 1 to 100 characters|1 to 100 characters/);

  srv = await startServer({ dir, db });
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(made.key))).status, 200);
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(k.key))).status, 401);
  assert.equal((await srv.req('GET', '/v1/sources', undefined, as(API_KEY))).status, 200);
});

test('the CLI refuses a database that does not exist', () => {
  const dir = tempDir();
  const r = cli(['list'], `${dir}/none.db`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no database at/);
});

// The periodic sync (HS_AUTH_SYNC_MS, 30 s): a key revoked with the CLI
// while the server runs is refused once the server has read the set again,
// its live feed clients are closed, and the uses the server remembered are
// written (the CLI sees last_used_at). On PostgreSQL the CLI's revocation
// reaches the server at once, through the change feed (docs/cluster.md).
test('a revocation from the CLI reaches a running server within 30 s', { timeout: 90000 }, async () => {
  const s2 = await startServer();
  const pg = s2.db.includes('://');
  try {
    const k = (await s2.req('POST', '/v1/auth/api-keys', { name: 'revoked elsewhere' })).body.api_key;
    const k2 = (await s2.req('POST', '/v1/auth/api-keys', { name: 'in use' })).body.api_key;
    assert.equal((await s2.req('GET', '/v1/sources', undefined, as(k.key))).status, 200);
    assert.equal((await s2.req('GET', '/v1/sources', undefined, as(k2.key))).status, 200);
    const ws = new WebSocket(`ws://127.0.0.1:${s2.port}/v1/ws?token=${k.key}`);
    const closed = new Promise((r) => ws.on('close', (code) => r(code)));
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const r = cli(['revoke', k.id], s2.db);
    assert.equal(r.status, 0, r.stderr);
    const before = JSON.parse(cli(['list', '--json'], s2.db).stdout.trim());
    assert.equal(before.id, k2.id, 'only the key not revoked is listed');
    if (!pg) assert.equal((await s2.req('GET', '/v1/sources', undefined, as(k.key))).status, 200, 'not read again yet');
    const t0 = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - t0 < 40000) {
      await new Promise((res) => setTimeout(res, 500));
      status = (await s2.req('GET', '/v1/sources')).status === 200
        ? (await s2.req('GET', '/v1/sources', undefined, as(k.key))).status : 0;
    }
    assert.equal(status, 401, 'refused after the server read the set again');
    if (pg) assert.ok(Date.now() - t0 < 3000, `told through the change feed: ${Date.now() - t0} ms`);
    assert.equal(await closed, 1008);
    // the use of k2 was written with the sync, not per request
    if (!pg) assert.equal(before.last_used_at, null, 'not written per request');
    const after = JSON.parse(cli(['list', '--json'], s2.db).stdout.trim());
    assert.equal(after.id, k2.id);
    assert.ok(after.last_used_at, 'written by the sync');
  } finally {
    await stopClean(s2);
  }
});
