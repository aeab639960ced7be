import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { BIN, API_KEY, startServer, stopClean, makeSource, tempDir } from './lib/server.mjs';
import { until, startReceiver } from './lib/receiver.mjs';
import { spawn } from 'node:child_process';

// The WebSocket hub's flags, their environment twins and their bounds
// (src/ws/ws.h): [flag, env, lowest, highest] as the options accept them.
const WS_FLAGS = [
  ['--ws-max-message', 'HOOKSTREAM_WS_MAX_MESSAGE', '128', '16M'],
  ['--ws-max-queue', 'HOOKSTREAM_WS_MAX_QUEUE_BYTES', '4k', '4294967296'],
  ['--ws-max-connections', 'HOOKSTREAM_WS_MAX_CONNECTIONS', '1', '1000000'],
  ['--ws-max-subscriptions', 'HOOKSTREAM_WS_MAX_SUBSCRIPTIONS', '1', '100000'],
  ['--ws-ping-interval', 'HOOKSTREAM_WS_PING_INTERVAL_MS', '50', '3600000'],
  ['--ws-close-timeout', 'HOOKSTREAM_WS_CLOSE_TIMEOUT_MS', '50', '600000'],
  ['--ws-send-buffer', 'HOOKSTREAM_WS_SEND_BUFFER_BYTES', '4096', '64M'],
];
// one past each bound, in bytes or plain numbers
const WS_OUTSIDE = {
  '--ws-max-message': ['127', String(16 * 1024 * 1024 + 1)],
  '--ws-max-queue': ['4095', '4294967297'],
  '--ws-max-connections': ['0', '1000001'],
  '--ws-max-subscriptions': ['0', '100001'],
  '--ws-ping-interval': ['49', '3600001'],
  '--ws-close-timeout': ['49', '600001'],
  '--ws-send-buffer': ['4095', String(64 * 1024 * 1024 + 1)],
};

const run = (args, env = {}) => spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10000 });

test('--help and serve --help explain every option', () => {
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /hookstream serve/);
  const s = run(['serve', '--help']);
  assert.equal(s.status, 0);
  for (const opt of ['--listen', '--db', '--api-key', '--max-body', '--log-level', '--allow-private-destinations',
    'HOOKSTREAM_LISTEN', 'HOOKSTREAM_DB', 'HOOKSTREAM_API_KEY', 'HOOKSTREAM_MAX_BODY', 'HOOKSTREAM_LOG_LEVEL']) {
    assert.ok(s.stdout.includes(opt), opt);
  }
  for (const [flag, env] of WS_FLAGS) {
    assert.ok(s.stdout.includes(`  ${flag} `), flag);
    assert.ok(s.stdout.includes(`[${env}`), env);
  }
  assert.match(run(['--version']).stdout, /^hookstream \d+\.\d+\.\d+/);
});

test('bad options fail with a clear message and exit 2', () => {
  for (const args of [['serve', '--bogus'], ['serve', '--listen', 'nowhere'], ['serve', '--max-body', 'lots'],
    ['serve', '--max-body', '1G'], ['serve', '--log-level', 'loud'], ['serve', '--api-key', 'short'], ['frobnicate'],
    ['serve', '--db']]) {
    const r = run(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^hookstream: /, args.join(' '));
  }
  const e = run(['serve'], { HOOKSTREAM_LISTEN: 'bad' });
  assert.equal(e.status, 2);
  assert.match(e.stderr, /HOOKSTREAM_LISTEN/);
});

// Options are read left to right and --help stops there, so `serve FLAG V
// --help` exits 0 exactly when V was accepted: the bounds are checked
// without starting a server.
test('--ws-* flags take their whole range and refuse anything else with a message and exit 2', () => {
  for (const [flag, , lo, hi] of WS_FLAGS) {
    for (const v of [lo, hi]) {
      const r = run(['serve', flag, v, '--help']);
      assert.equal(r.status, 0, `${flag} ${v}: ${r.stderr}`);
    }
    for (const v of [...WS_OUTSIDE[flag], '-1', '-0', '12abc', 'lots', '', '1.5', '99999999999999999999999']) {
      const r = run(['serve', flag, v, '--help']);
      assert.equal(r.status, 2, `${flag} ${JSON.stringify(v)}`);
      assert.equal(r.stdout, '', 'nothing else printed');
      assert.ok(r.stderr.startsWith(`hookstream: ${flag}: expected `), r.stderr);
      assert.ok(r.stderr.includes(`got "${v}"`), r.stderr);
    }
    const eq = run(['serve', `${flag}=0`, '--help']); // the --flag=value spelling too
    assert.equal(eq.status, 2, `${flag}=0`);
    const none = run(['serve', flag]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, new RegExp(`^hookstream: ${flag} needs a value`));
  }
  // size flags take the suffixes of --max-body; counts and milliseconds do not
  assert.equal(run(['serve', '--ws-max-message', '64k', '--help']).status, 0);
  assert.equal(run(['serve', '--ws-send-buffer', '1MiB', '--help']).status, 0);
  assert.equal(run(['serve', '--ws-max-connections', '1k', '--help']).status, 2);
  assert.equal(run(['serve', '--ws-ping-interval', '1k', '--help']).status, 2);
});

test('HOOKSTREAM_WS_* variables are validated like the flags: a bad one stops the start, naming it', () => {
  for (const [, env, lo] of WS_FLAGS) {
    const ok = run(['serve', '--help'], { [env]: lo });
    assert.equal(ok.status, 0, `${env}=${lo}: ${ok.stderr}`);
    for (const v of ['0', 'many', '-5']) {
      const r = run(['serve', '--help'], { [env]: v });
      assert.equal(r.status, 2, `${env}=${v}`);
      assert.ok(r.stderr.startsWith(`hookstream: ${env}: expected `), r.stderr);
    }
  }
  // as for the other options, an empty variable counts as unset
  assert.equal(run(['serve', '--help'], { HOOKSTREAM_WS_MAX_CONNECTIONS: '' }).status, 0);
});

test('first start creates an API key, prints it once, last, and it works; a new database is said so', async () => {
  const dir = tempDir();
  let srv = await startServer({ dir, apiKey: null });
  await until(() => /hs_live_[0-9a-f]{64}\n/.test(srv.stdout), 5000, 'the key printed');
  const m = srv.stdout.match(/(hs_live_[0-9a-f]{64})/);
  assert.ok(m, 'key printed: ' + srv.stdout);
  const key = m[1];
  // after the listening and dashboard lines, so that it is the last thing shown
  assert.ok(srv.stdout.indexOf(key) > srv.stdout.indexOf('hookstream dashboard:'), srv.stdout);
  assert.match(srv.stdout, /created a new, empty database at \S+hookstream\.db/);
  let r = await fetch(srv.url + '/v1/sources', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  await srv.stop();
  srv = await startServer({ dir, apiKey: null });
  assert.ok(!srv.stdout.includes('hs_live_'), 'not printed again');
  assert.doesNotMatch(srv.stdout, /created a new/, 'an existing database is not new');
  r = await fetch(srv.url + '/v1/sources', { headers: { 'x-api-key': key } });
  assert.equal(r.status, 200, 'stored key still accepted');
  await srv.stop();
  srv.cleanup();
});

test('environment variables configure the server', async () => {
  const dir = tempDir();
  const srv = await startServer({ dir, env: { HOOKSTREAM_MAX_BODY: '2k' } });
  const s = await srv.req('POST', '/v1/sources', { name: 'e' });
  const r = await fetch(`${srv.url}/v1/ingest/${s.body.id}`, { method: 'POST', body: 'z'.repeat(3000) });
  assert.equal(r.status, 413);
  await srv.stop();
  srv.cleanup();
});

test('a busy port or a bad database path fails cleanly', async () => {
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.on('listening', r));
  const port = blocker.address().port;
  const dir = tempDir();
  let r = run(['serve', '--listen', `127.0.0.1:${port}`, '--db', `${dir}/a.db`, '--api-key', 'k'.repeat(20)]);
  blocker.close();
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot listen/);
  r = run(['serve', '--listen', '127.0.0.1:0', '--db', '/nonexistent/dir/x.db', '--api-key', 'k'.repeat(20)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /database/);
  // nothing listens on port 1: a clear message naming the server, not its password
  r = run(['serve', '--listen', '127.0.0.1:0', '--db', 'postgres://hs:secretpw@127.0.0.1:1/x', '--api-key', 'k'.repeat(20)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot connect to PostgreSQL at postgres:\/\/hs:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.doesNotMatch(r.stderr, /secretpw/);
});

// `hookstream events list`: a client of a running server, over its API.
test('events list: a running server\'s events, newest first, filtered, as a table or JSON lines; clear errors', async () => {
  const srv = await startServer();
  try {
    const a = await makeSource(srv);
    const b = await makeSource(srv);
    const ids = [];
    for (const src of [a, b, a]) {
      const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
      ids.push((await r.json()).event_id);
    }
    const list = (args, env = {}) => run(['events', 'list', '--url', srv.url + '/', ...args], { HOOKSTREAM_API_KEY: API_KEY, ...env });
    let r = list([]);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0], /^EVENT\s+SOURCE\s+STATUS\s+RECEIVED$/);
    assert.deepEqual(rows.slice(1).map((l) => l.split(/\s+/)[0]), [...ids].reverse(), 'newest first');
    assert.match(rows[1], new RegExp(`^${ids[2]}\\s+${a.id}\\s+received\\s+\\d{4}-\\d\\d-\\d\\dT`));
    r = list(['--source', a.id, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => o.id), [ids[2], ids[0]]);
    assert.ok(objs.every((o) => o.source_id === a.id && o.status === 'received'));
    r = list(['--limit', '1']);
    assert.equal(r.stdout.trim().split('\n').length, 2);
    r = list(['--status', 'delivered']);
    assert.equal(r.stdout.trim(), r.stdout.trim().split('\n')[0], 'only the header');
    // errors: the server's own message, an unreachable server, bad usage
    r = list([], { HOOKSTREAM_API_KEY: 'hs_wrong_' + 'x'.repeat(30) });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^hookstream: the server answered 401: a valid API key is required/);
    r = run(['events', 'list', '--url', 'http://127.0.0.1:1', '--api-key', API_KEY]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookstream: cannot reach http:\/\/127\.0\.0\.1:1: /);
    r = list(['--status', 'nonsense']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /answered 400/);
    for (const bad of [['--limit', '0'], ['--limit', 'x'], ['--frobnicate'], ['--source']]) {
      r = list(bad);
      assert.equal(r.status, 2, bad.join(' '));
      assert.match(r.stderr, /^hookstream: /);
    }
    r = run(['events', 'list'], { HOOKSTREAM_API_KEY: '' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /API key is needed/);
    assert.equal(run(['events']).status, 2);
    r = run(['events', 'list', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: hookstream events list/);
    assert.match(run(['--help']).stdout, /hookstream events list/);
  } finally {
    await stopClean(srv);
  }
});

// `hookstream listen`: the live feed of a source replayed to a receiver.
test('listen: each new event of the source goes again to the forward URL, method, headers and body; Ctrl-C stops', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 202 }));
  let child;
  try {
    const src = await makeSource(srv, { slug: 'shop-' + Date.now() });
    const other = await makeSource(srv);
    child = spawn(BIN, ['listen', src.slug, '--forward', rx.url, '--url', srv.url, '--api-key', API_KEY], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { errOut += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await until(() => out.includes(`forwarding the events of ${src.id} to ${rx.url}`), 10000, 'listening');
    const sent = [];
    for (const [body, ct] of [['{"n":1}', 'application/json'], ['a=1&b=2', 'application/x-www-form-urlencoded']]) {
      const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'PUT', body, headers: { 'content-type': ct, 'x-custom': 'yes' } });
      sent.push({ id: (await r.json()).event_id, body, ct });
    }
    await fetch(`${srv.url}/v1/ingest/${other.id}`, { method: 'POST', body: '{"other":true}' });
    await rx.waitFor(2, 10000);
    await until(() => sent.every((e) => out.includes(`${e.id}  PUT ${rx.url} -> 202`)), 5000, 'each forward reported');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.requests.length, 2, 'only the source\'s events');
    rx.requests.forEach((r, i) => {
      assert.equal(r.method, 'PUT');
      assert.equal(r.body.toString(), sent[i].body);
      assert.equal(r.headers['content-type'], sent[i].ct);
      assert.equal(r.headers['x-custom'], 'yes');
    });
    child.kill('SIGINT');
    const { code } = await exited;
    assert.equal(code, 0, errOut);
    child = null;
    // what cannot start says why
    let r = run(['listen', 'no-such-source', '--forward', rx.url, '--url', srv.url, '--api-key', API_KEY]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^hookstream: source no-such-source: the server answered 404/);
    r = run(['listen', src.id, '--url', srv.url, '--api-key', API_KEY]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--forward: the URL to send the events to is required/);
    r = run(['listen', src.id, '--forward', 'ftp://x', '--api-key', API_KEY]);
    assert.equal(r.status, 2);
    assert.equal(run(['listen']).status, 2);
    assert.match(run(['listen', '--help']).stdout, /^Usage: hookstream listen SOURCE --forward URL/);
  } finally {
    if (child) child.kill('SIGKILL');
    await rx.close();
    await stopClean(srv);
  }
});
