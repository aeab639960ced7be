// Raw sockets for what fetch cannot express: pipelining, malformed requests,
// slow clients.
import net from 'node:net';

// Send `data` (string or Buffer, or an array of chunks sent with `gapMs`
// between them) and collect everything until the server closes or `waitMs`
// of silence passes. Resolves {text, closed, elapsed}.
export function rawExchange(port, data, { waitMs = 1500, gapMs = 0, keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let closed = false;
    let timer;
    const finish = () => { clearTimeout(timer); sock.destroy(); resolve({ text: buf.toString('latin1'), closed, elapsed: Date.now() - t0 }); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(finish, waitMs); };
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (!keepOpen) arm(); });
    sock.on('end', () => { closed = true; finish(); });
    sock.on('close', () => { closed = true; finish(); });
    sock.on('error', (e) => { if (e.code === 'ECONNRESET') { closed = true; finish(); } else reject(e); });
    sock.on('connect', async () => {
      const chunks = Array.isArray(data) ? data : [data];
      for (const c of chunks) {
        if (sock.destroyed) break;
        sock.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      arm();
    });
  });
}

// Split a byte stream of HTTP/1.1 responses into {status, headers, body}.
export function parseResponses(text) {
  const out = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end).split('\r\n');
    const status = Number(head[0].split(' ')[1]);
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    const body = rest.slice(end + 4, end + 4 + len);
    out.push({ status, headers, body });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}
