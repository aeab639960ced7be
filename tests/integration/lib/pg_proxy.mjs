// A TCP proxy in front of PostgreSQL, for fault tests: it can refuse every
// connection (PostgreSQL unreachable), cut every open one, or lose the
// answer to the next COMMIT of hookstream's writer connection (the one that
// asks pg_current_xact_id(), src/store/pg/pg.c): the server has committed,
// the client never hears it, and both sockets close. Or freeze: every
// connection stays open and nothing more passes either way, new ones
// included (a network that drops packets: no reset ever comes).
import net from 'node:net';

// CommandComplete ('C', length 11, "COMMIT\0") in the backend protocol
const COMMIT_DONE = Buffer.concat([Buffer.from([0x43, 0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

export async function startPgProxy(targetPort) {
  const pairs = new Set();
  let down = false;
  let armed = false;
  let commitsLost = 0;
  let frozen = false;
  const server = net.createServer((client) => {
    if (down) { client.destroy(); return; }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, writer: false };
    pairs.add(pair);
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('data', (d) => {
      if (frozen) return;
      if (d.includes('pg_current_xact_id')) pair.writer = true;
      upstream.write(d);
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
    close() { this.cutAll(); return new Promise((r) => server.close(r)); },
  };
}
