// docs/receiving.md's snippets, run as written against real deliveries: the
// Node, Python and C verifiers take the secret, the request's headers and its
// body as a receiver got them, and must accept a genuine fresh delivery and
// refuse a tampered body, a wrong secret and a stale (re-signed) timestamp.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver } from './lib/receiver.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = readFileSync(path.join(root, 'docs/receiving.md'), 'utf8');
const work = mkdtempSync(path.join(tmpdir(), 'hookstream-receiving-'));

// the fenced block whose info string is "<lang> <tag>"
function snippet(tag) {
  const m = doc.match(new RegExp('```\\w+ ' + tag + '\\n([\\s\\S]*?)```'));
  assert.ok(m, `docs/receiving.md has a block tagged ${tag}`);
  return m[1];
}

const verifiers = {};
before(() => {
  writeFileSync(path.join(work, 'verify.mjs'), snippet('receiving-node'));
  writeFileSync(path.join(work, 'verify.py'), snippet('receiving-python'));
  writeFileSync(path.join(work, 'verify.c'), snippet('receiving-c'));
  const cc = spawnSync('cc', ['-Wall', '-Werror', '-o', path.join(work, 'verify'), path.join(work, 'verify.c'), '-lcrypto']);
  assert.equal(cc.status, 0, cc.stderr.toString());
  verifiers.node = (args) => spawnSync(process.execPath, [path.join(work, 'verify.mjs'), ...args]);
  verifiers.python = (args) => spawnSync('python3', [path.join(work, 'verify.py'), ...args]);
  verifiers.c = (args) => spawnSync(path.join(work, 'verify'), args);
});
after(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
// Run one verifier on headers (object) and body (Buffer); its exit status.
function run(lang, secret, headers, body) {
  const h = path.join(work, `h${++n}`);
  const b = path.join(work, `b${n}`);
  writeFileSync(h, Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
  writeFileSync(b, body);
  const r = verifiers[lang]([secret, h, b]);
  assert.ok(r.status === 0 || r.status === 1, `${lang}: exit ${r.status} ${r.stderr}`);
  return r.status;
}

// One delivery to a destination signed as `signing`; the request as received.
async function deliveryWith(signing) {
  const srv = await startServer();
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, signing });
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, {
    method: 'POST', body: '{"type":"order.created","amount":4999,"note":"caf\u00e9"}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.status, 200);
  const [req] = await rx.waitFor(1);
  await rx.close();
  await stopClean(srv);
  return { headers: req.headers, body: req.body };
}

const SECRET = 'a-long-shared-secret-for-receivers';
const WHSEC = 'whsec_' + randomBytes(24).toString('base64');
const old = () => String(Math.floor(Date.now() / 1000) - 3600);

test('hookstream scheme, body only: every snippet accepts it and refuses a tampered body or a wrong secret', async () => {
  const { headers, body } = await deliveryWith({ secret: SECRET });
  assert.match(headers['x-hookstream-signature'], /^sha256=[0-9a-f]{64}$/);
  for (const lang of ['node', 'python', 'c']) {
    assert.equal(run(lang, SECRET, headers, body), 0, `${lang}: genuine`);
    assert.equal(run(lang, SECRET, headers, Buffer.concat([body, Buffer.from(' ')])), 1, `${lang}: tampered`);
    assert.equal(run(lang, SECRET + 'x', headers, body), 1, `${lang}: wrong secret`);
  }
});

test('hookstream scheme with a timestamp: fresh passes; a stale one fails even when correctly signed', async () => {
  const { headers, body } = await deliveryWith({ secret: SECRET, include_timestamp: true });
  const ts = headers['x-hookstream-signature-timestamp'];
  assert.match(ts, /^\d+$/);
  // a replay: an old timestamp with a signature that matches it
  const stale = { ...headers, 'x-hookstream-signature-timestamp': old() };
  stale['x-hookstream-signature'] = 'sha256=' +
    createHmac('sha256', SECRET).update(`${stale['x-hookstream-signature-timestamp']}.`).update(body).digest('hex');
  for (const lang of ['node', 'python', 'c']) {
    assert.equal(run(lang, SECRET, headers, body), 0, `${lang}: genuine`);
    assert.equal(run(lang, SECRET, stale, body), 1, `${lang}: stale`);
    assert.equal(run(lang, SECRET, { ...headers, 'x-hookstream-signature-timestamp': String(Number(ts) + 1) }, body), 1,
      `${lang}: timestamp changed`);
  }
});

test('standard webhooks scheme: the Node and Python snippets verify it, refuse tampering and stale timestamps', async () => {
  const { headers, body } = await deliveryWith({ scheme: 'standard_webhooks', secret: WHSEC });
  assert.match(headers['webhook-id'], /^dlv_/);
  const key = Buffer.from(WHSEC.slice('whsec_'.length), 'base64');
  const stale = { ...headers, 'webhook-timestamp': old() };
  stale['webhook-signature'] = 'v1,' + createHmac('sha256', key)
    .update(`${stale['webhook-id']}.${stale['webhook-timestamp']}.`).update(body).digest('base64');
  for (const lang of ['node', 'python']) {
    assert.equal(run(lang, WHSEC, headers, body), 0, `${lang}: genuine`);
    // several signatures in the header (a secret being replaced): one matching is enough
    assert.equal(run(lang, WHSEC, { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` }, body), 0,
      `${lang}: one of two`);
    assert.equal(run(lang, WHSEC, headers, Buffer.from(body.toString().replace('4999', '5999'))), 1, `${lang}: tampered`);
    assert.equal(run(lang, WHSEC, stale, body), 1, `${lang}: stale`);
  }
});
