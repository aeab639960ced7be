// A TCP proxy in front of PostgreSQL, for fault tests: it can refuse every
// connection (PostgreSQL unreachable), cut every open one, or lose the
// answer to the next COMMIT of hookstream's writer connection (the one that
// asks pg_current_xact_id(), src/store/pg/pg.c): the server has committed,
// the client never hears it, and both sockets close. Or freeze: every
// connection stays open and nothing more passes either way, new ones
// included (a network that drops packets: no reset ever comes); or freeze
// right after a client ran a statement whose text has a given part
// (freezeAfter: in the middle of a transaction, say, with its locks held;
// the client's messages are read as the protocol frames them, so that a
// prepared statement's runs (Bind) are known by the text it was parsed
// from).
import net from 'node:net';

// CommandComplete ('C', length 11, "COMMIT\0") in the backend protocol
const COMMIT_DONE = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

// The frontend protocol's messages, one at a time, from a client's
// stream: (type, body). The first ones have no type byte (SSLRequest,
// GSSENCRequest, then the startup message): type '' for them.
function frontendFramer(onMessage) {
  let buf = Buffer.alloc(0);
  let typed = false;
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const head = typed ? 5 : 4;
      if (buf.length < head) return;
      const len = buf.readInt32BE(typed ? 1 : 0);
      const total = typed ? 1 + len : len;
      if (buf.length < total) return;
      const type = typed ? String.fromCharCode(buf[0]) : '';
      const body = buf.subarray(head, total);
      buf = buf.subarray(total);
      if (!typed) {
        const code = body.readInt32BE(0);
        if (code !== 80877103 && code !== 80877104) typed = true; // not SSL/GSS: the startup message
      }
      onMessage(type, body);
    }
  };
}

// The statement text a message runs, given the connection's prepared
// statements (name -> text, filled from Parse): Query, Parse, Bind.
function textOf(type, body, prepared) {
  const cstr = (from) => { const end = body.indexOf(0, from); return [body.toString('utf8', from, end), end + 1]; };
  if (type === 'Q') return cstr(0)[0];
  if (type === 'P') {
    const [name, next] = cstr(0);
    const [text] = cstr(next);
    prepared.set(name, text);
    return text;
  }
  if (type === 'B') {
    const [, next] = cstr(0); // the portal
    const [stmt] = cstr(next);
    return prepared.get(stmt) || '';
  }
  return '';
}

export async function startPgProxy(targetPort) {
  const pairs = new Set();
  let down = false;
  let armed = false;
  let commitsLost = 0;
  let frozen = false;
  let freezeOn = null;
  const server = net.createServer((client) => {
    if (down) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, writer: false };
    const prepared = new Map();
    let freezeNow = false;
    const frame = frontendFramer((type, body) => {
      const text = textOf(type, body, prepared);
      if (process.env.PG_PROXY_DEBUG && text) console.error('pg_proxy:', type, text.slice(0, 100)); // each statement a client runs
      if (freezeOn && text.includes(freezeOn)) freezeNow = true;
    });
    pairs.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('data', (d) => {
      if (frozen) return;
      if (d.includes('pg_current_xact_id')) pair.writer = true;
      frame(d);
      upstream.write(d);
      if (freezeNow) frozen = true; /* the statement goes, then nothing */
    });
    upstream.on('data', (d) => {
      if (frozen) return;
      if (armed && pair.writer && d.includes(COMMIT_DONE)) {
        armed = false;
        commitsLost++;
        end();
        return;
      }
      client.write(d);
    });
    for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    get commitsLost() { return commitsLost; },
    loseNextCommit() { armed = true; },
    get armed() { return armed; },
    cutAll() { for (const p of [...pairs]) { p.client.destroy(); p.upstream.destroy(); } pairs.clear(); },
    setDown(v) { down = v; if (v) this.cutAll(); },
    freeze() { frozen = true; },
    freezeAfter(text) { freezeOn = text; },
    get frozen() { return frozen; },
    close() { this.cutAll(); return new Promise((r) => server.close(r)); },
  };
}
