// Starts the real hookstream binary on a free port with a temporary database
// and gives tests a small HTTP client for it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from './receiver.mjs';
import { track } from './children.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.HOOKSTREAM_BIN || path.join(root, process.env.BUILD || 'build', 'hookstream');
export const API_KEY = 'hs_test_' + 'k'.repeat(40);

export function tempDir(prefix = 'hookstream-test-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

// The database of a new server: a SQLite file in dir, or, when tests/run.sh
// runs the suite on PostgreSQL (HOOKSTREAM_TEST_SERVER_PG, a server URL),
// a database there named after dir (the server creates it on first start),
// so that a restart in the same dir finds it again.
export function newDb(dir) {
  const pg = process.env.HOOKSTREAM_TEST_SERVER_PG;
  if (!pg) return path.join(dir, 'hookstream.db');
  return `${pg}/hs_${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 16)}`;
}

// A server on PostgreSQL has no file to keep its secret key beside: the
// servers of one test process share this one (a restart finds it again).
const PG_SECRET_KEY = randomBytes(32).toString('hex');

// Start `hookstream serve`. Resolves once the ready line is printed.
// Every receiver in the tests listens on 127.0.0.1, so the server starts
// with --allow-private-destinations unless opts.guard is true (the SSRF
// guard's own tests).
export async function startServer(opts = {}) {
  const dir = opts.dir || tempDir();
  const db = opts.db || newDb(dir);
  const args = ['serve', '--listen', `127.0.0.1:${opts.port || 0}`, '--db', db, ...(opts.args || [])];
  if (!opts.guard && !args.includes('--allow-private-destinations')) args.push('--allow-private-destinations');
  if (opts.apiKey !== null) args.push('--api-key', opts.apiKey || API_KEY);
  const keyed = args.includes('--secret-key-file') || Object.keys(opts.env || {}).some((k) => k.startsWith('HOOKSTREAM_SECRET_KEY'));
  const pgKey = db.includes('://') && !keyed ? { HOOKSTREAM_SECRET_KEY: PG_SECRET_KEY } : {};
  const child = track(spawn(BIN, args, {
    env: { ...process.env, HOOKSTREAM_LOG_LEVEL: opts.logLevel || 'warn', ...pgKey, ...(opts.env || {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 10 s\n' + stderr)), 10000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/hookstream listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before ready\n${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  const srv = {
    url, port, dir, db, child, exited,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    key: opts.apiKey === null ? null : (opts.apiKey || API_KEY),
    // JSON request helper: returns {status, headers, body (parsed when JSON), text}
    async req(method, p, body, headers = {}) {
      const h = { ...headers };
      if (srv.key && !('authorization' in h) && !('Authorization' in h) && !('x-api-key' in h)) {
        h.authorization = `Bearer ${srv.key}`;
      }
      let payload;
      if (body !== undefined) {
        payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
        if (!('content-type' in h)) h['content-type'] = 'application/json';
      }
      const res = await fetch(url + p, { method, headers: h, body: payload });
      const text = await res.text();
      let parsed;
      try { parsed = JSON.parse(text); } catch { parsed = undefined; }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      return exited;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  return srv;
}

// Create a source / destination / connection quickly.
// Stops srv, removes its directory and asserts a clean exit: status 0, no
// signal, and (under ASan/UBSan, HOOKSTREAM_ASAN=1) no leak or error report.
export async function stopClean(srv) {
  const { code, signal } = await srv.stop();
  const stderr = srv.stderr;
  srv.cleanup();
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /Sanitizer|runtime error/, stderr);
}

export async function makeSource(srv, extra = {}) {
  const r = await srv.req('POST', '/v1/sources', { name: 'src ' + Math.random(), ...extra });
  if (r.status !== 201) throw new Error('source: ' + r.text);
  return r.body;
}
export async function makeDestination(srv, extra = {}) {
  const r = await srv.req('POST', '/v1/destinations', {
    name: 'dst ' + Math.random(), config: { url: 'http://127.0.0.1:9/hook' }, ...extra,
  });
  if (r.status !== 201) throw new Error('destination: ' + r.text);
  return r.body;
}
// A notification channel and an alert rule (docs/api.md "Alerts"): body as
// the API takes it.
export async function makeChannel(srv, body) {
  const r = await srv.req('POST', '/v1/notification-channels', body);
  if (r.status !== 201) throw new Error('notification channel: ' + r.text);
  return r.body;
}
export async function makeAlertRule(srv, body) {
  const r = await srv.req('POST', '/v1/alert-rules', body);
  if (r.status !== 201) throw new Error('alert rule: ' + r.text);
  return r.body;
}
export async function makeConnection(srv, sourceId, destinationId, extra = {}) {
  const r = await srv.req('POST', '/v1/connections', { source_id: sourceId, destination_id: destinationId, ...extra });
  if (r.status !== 201) throw new Error('connection: ' + r.text);
  return r.body;
}

// A new source connected to dst (connExtra: filter_rules, transform...), one
// ingest of body to it (query: appended to the ingest URL); the ingest's
// answer with the source's id.
export async function ingestVia(srv, dst, body, headers = { 'content-type': 'application/json' }, connExtra = {}, query = '') {
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id, connExtra);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}${query}`, { method: 'POST', headers, body });
  if (r.status !== 200) throw new Error(`ingest: ${r.status} ${await r.text()}`);
  return { ...(await r.json()), source_id: src.id };
}

// The event once it has reached status (it carries its attempts).
export function eventSettled(srv, eventId, status = 'delivered', ms = 15000) {
  return until(async () => {
    const e = (await srv.req('GET', `/v1/events/${eventId}`)).body;
    return e.status === status ? e : null;
  }, ms, `event ${eventId} ${status}`);
}

// The destination's circuit once it is in state.
export function circuitIn(srv, destinationId, state, ms = 10000) {
  return until(async () => {
    const c = (await srv.req('GET', `/v1/destinations/${destinationId}/circuit`)).body;
    return c.state === state ? c : null;
  }, ms, `circuit ${state}`);
}
