// Starts tests/peers/kafka-rest-fake.mjs (the Confluent REST Proxy v3 produce
// stand-in) on 127.0.0.1 as a direct child of the test process; stop() kills
// it by its PID.
import { spawn } from 'node:child_process';
import { track } from './children.mjs'; // killed with the test process
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PEERS_DIR = path.join(root, 'tests/peers');

async function json(url, init) {
  const r = await fetch(url, init);
  const text = await r.text();
  if (!r.ok) throw new Error(`${init?.method || 'GET'} ${url}: ${r.status} ${text}`);
  return JSON.parse(text);
}

// opts: {clusters: [id], topics: ['name' | 'name:partitions'], user?, password?}
// -> {url, port, records(), requests(), clear(), fail(spec), stop()}
export async function startKafkaRest(opts = {}) {
  const args = ['kafka-rest-fake.mjs', '0'];
  for (const c of opts.clusters || ['cluster-1']) args.push('--cluster', c);
  for (const t of opts.topics || ['topic-1']) args.push('--topic', t);
  if (opts.user) args.push('--user', opts.user, '--password', opts.password);
  const child = track(spawn(process.execPath, args, { cwd: PEERS_DIR, stdio: ['ignore', 'pipe', 'pipe'] }));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafka-rest-fake did not start\n${out}${err}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^ready (\d+)$/m);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`kafka-rest-fake exited (${code ?? signal})\n${err}`)); });
  }).catch(async (e) => { await stop(); throw e; });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, child,
    // every record produced, decoded (see the fake's header comment)
    records: () => json(`${url}/__records`),
    // every request to the produce path: {method, path, headers, body, status}
    requests: () => json(`${url}/__requests`),
    clear: () => json(`${url}/__clear`, { method: 'POST' }),
    // spec: {count=1, error_code, message?, http_status?}
    fail: (spec) => json(`${url}/__fail`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec),
    }),
    stop,
  };
}
