// A receiver on a raw socket (node:net) that reads each request head itself,
// so that it sees the header lines exactly as they arrived: node's http
// module would join or drop a repeated header before a test could look.
// Every request is recorded with its header lines in order and the names
// that occur more than once (case-insensitively); such a request is
// answered 400, like a strict receiver would, so the delivery fails too.
// Requests on a kept-alive connection are read one after the other
// (Content-Length bodies; a chunked body is read to its end).
import net from 'node:net';

// answer(rec) -> {status=200, body='ok', type='text/plain', headers={}}
// rec: {n, method, target, path, headerLines: [[name, value]], headers:
// {lowercased name: value of its last line}, repeated: [lowercased names],
// body: Buffer}
export async function startRawReceiver(answer = () => ({})) {
  const requests = [];
  const sockets = new Set();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const got = takeRequest(buf);
        if (!got) break;
        buf = buf.subarray(got.used);
        const rec = { n: requests.length + 1, ...got.rec };
        requests.push(rec);
        const a = rec.repeated.length
          ? { status: 400, body: `repeated header: ${rec.repeated.join(', ')}` }
          : (answer(rec) || {});
        const body = Buffer.from(typeof a.body === 'string' || Buffer.isBuffer(a.body)
          ? a.body : a.body === undefined ? 'ok' : JSON.stringify(a.body));
        const head = [`HTTP/1.1 ${a.status || 200} X`, `Content-Type: ${a.type || 'text/plain'}`,
          `Content-Length: ${body.length}`, ...Object.entries(a.headers || {}).map(([k, v]) => `${k}: ${v}`)];
        sock.write(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

// One complete request at the start of buf: {rec, used}, or null when more
// bytes are needed.
function takeRequest(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method, target] = lines[0].split(' ');
  const headerLines = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  const headers = {};
  const seen = new Set();
  const repeated = [];
  for (const [name, value] of headerLines) {
    const k = name.toLowerCase();
    if (seen.has(k) && !repeated.includes(k)) repeated.push(k);
    seen.add(k);
    headers[k] = value;
  }
  let start = end + 4;
  let body;
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', start);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(start, eol).toString('latin1'), 16);
      if (buf.length < eol + 2 + size + 2) return null;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      start = eol + 2 + size + 2;
      if (size === 0) break;
    }
    body = Buffer.concat(parts);
  } else {
    const len = Number(headers['content-length'] || 0);
    if (buf.length < start + len) return null;
    body = Buffer.from(buf.subarray(start, start + len));
    start += len;
  }
  const path = (target || '').split('?')[0];
  return { rec: { method, target, path, headerLines, headers, repeated, body }, used: start };
}
