// Starts tests/peers/gcp-fake.mjs (the Pub/Sub + token endpoint stand-in) as
// a direct child of the test process, and makes service accounts for it.
import { spawn } from 'node:child_process';
import { track } from './children.mjs'; // killed with the test process
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FAKE = path.join(root, 'tests/peers/gcp-fake.mjs');

// A fresh RSA key pair and the key file Google would hand out for it.
export function serviceAccount(email, projectId) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyFile = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: crypto.randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: email,
    client_id: '1' + crypto.randomInt(1e9, 2e9),
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  return { keyFile, publicKey };
}

// opts: {accounts: {email: publicKeyPem}, topics: ['projects/P/topics/T'], tokenTtlS}
export async function startGcpFake(opts) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gcp-fake-'));
  const cfgFile = path.join(dir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify({ port: 0, accounts: opts.accounts, topics: opts.topics, token_ttl_s: opts.tokenTtlS }));
  const child = track(spawn(process.execPath, [FAKE, cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gcp-fake did not start in 10 s\n${out}${err}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/ready (\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`gcp-fake exited (${code ?? signal})\n${err}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, p, body) => {
    const r = await fetch(base + p, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    endpoint: base,
    tokenUrl: `${base}/token`,
    messages: () => call('GET', '/__messages'),
    stats: () => call('GET', '/__stats'),
    revoke: () => call('POST', '/__revoke'),
    clear: () => call('POST', '/__clear'),
    fail: (target, status, count = 1) => call('POST', '/__fail', { target, status, count }),
    get stderr() { return err; },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
