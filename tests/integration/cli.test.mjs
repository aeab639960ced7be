import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { BIN, startServer, tempDir } from './lib/server.mjs';

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

test('first start creates an API key, prints it once, and it works', async () => {
  const dir = tempDir();
  let srv = await startServer({ dir, apiKey: null });
  const m = srv.stdout.match(/(hs_live_[0-9a-f]{64})/);
  assert.ok(m, 'key printed: ' + srv.stdout);
  const key = m[1];
  let r = await fetch(srv.url + '/v1/sources', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(r.status, 200);
  await srv.stop();
  srv = await startServer({ dir, apiKey: null });
  assert.ok(!srv.stdout.includes('hs_live_'), 'not printed again');
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
  r = run(['serve', '--listen', '127.0.0.1:0', '--db', 'postgres://localhost/x', '--api-key', 'k'.repeat(20)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /postgres/i);
});
