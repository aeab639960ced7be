// A webhook receiver we control: records every request (with its arrival
// time) and answers as the test's behaviour function says.
import http from 'node:http';

// behave(req, n) -> {status=200, body='ok', headers={}, delayMs=0, hang=false, reset=false}
// n counts requests from 1.
export async function startReceiver(behave = () => ({})) {
  const requests = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const rec = {
        n: requests.length + 1, at: Date.now(), method: req.method, url: req.url,
        headers: req.headers, body: Buffer.concat(chunks),
      };
      requests.push(rec);
      for (const w of waiters.splice(0)) w();
      const b = behave(rec, rec.n) || {};
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
      inFlight--;
      if (b.hang) return; // never answer
      if (b.reset) { req.socket.destroy(); return; }
      res.writeHead(b.status || 200, { 'content-type': 'text/plain', ...(b.headers || {}) });
      res.end(b.body ?? 'ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    get maxInFlight() { return maxInFlight; },
    set behave(fn) { behave = fn; },
    // resolves once at least n requests arrived (or rejects after timeoutMs)
    async waitFor(n, timeoutMs = 10000) {
      const t0 = Date.now();
      while (requests.length < n) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`receiver got ${requests.length} of ${n} requests`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
      return requests;
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(r));
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn until it returns a truthy value (or throw after timeoutMs).
export async function until(fn, timeoutMs = 10000, what = 'condition') {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
