// bench/load.mjs — POST events to an ingest URL, either as fast as a fixed
// number of connections allows (mode "burst") or at a fixed rate (mode
// "rate"), and print "<event_id> <send time, ms since the epoch>" per event.
//
// usage: node bench/load.mjs burst URLS COUNT CONCURRENCY BODYFILE
//        node bench/load.mjs rate  URLS RATE  SECONDS     BODYFILE
// URLS: one or more ingest URLs, comma-separated, used in turn.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [mode, url, a, b, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const urls = url.split(',').map((x) => new URL(x));
let turn = 0;
const nowMs = () => performance.timeOrigin + performance.now();
const out = [];
let failed = 0;

function post() {
  return new Promise((resolve) => {
    const t = nowMs();
    const u = urls[turn++ % urls.length];
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        if (res.statusCode === 200) out.push(`${JSON.parse(text).event_id} ${t.toFixed(3)}`);
        else failed++;
        resolve();
      });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}

if (mode === 'burst') {
  let left = Number(a);
  const worker = async () => { while (left-- > 0) await post(); };
  await Promise.all(Array.from({ length: Number(b) }, worker));
} else {
  const rate = Number(a), secs = Number(b), total = rate * secs;
  const t0 = nowMs();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post());
  }
  await Promise.all(pending);
}
agent.destroy();
process.stdout.write(out.join('\n') + '\n');
if (failed) { console.error(`${failed} ingests failed`); process.exit(1); }
