// Failure visibility (#18 item 6): a circuit opening and closing is a log
// line (warn when it opens, info when it closes, with the attempt that
// moved it) and a live event on hookstream.deliveries (circuit.opened,
// circuit.closed; a failed probe opens it again), and the latest failed
// attempts of a destination say why (GET /v1/delivery-attempts?status=failed).
// With --threads 2 too: the shards post their hooks to the server's loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const WebSocket = createRequire(PEERS_DIR + '/')('ws');

async function watch(srv) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${srv.key}`);
  const msgs = [];
  await new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'subscribed') resolve();
      else msgs.push(m);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', channel: 'hookstream.deliveries' })));
  });
  return { ws, msgs, of: (type) => msgs.filter((m) => m.type === type).map((m) => m.data) };
}

const logLines = (srv) => srv.stderr.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } })
  .filter((l) => l && /^circuit /.test(l.msg));

for (const threads of [1, 2]) {
  test(`a circuit opening, failing its probe and closing: logged and on the live feed (--threads ${threads})`, async () => {
    const srv = await startServer({ args: ['--threads', String(threads)], logLevel: 'info' });
    let answer = { status: 503, body: 'maintenance' };
    const rx = await startReceiver(() => answer);
    const live = await watch(srv);
    try {
      const src = await makeSource(srv);
      const dst = await makeDestination(srv, {
        config: { url: rx.url }, circuit_breaker: { threshold: 2, cooldown_ms: 1000 },
        retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [3600] },
      });
      await makeConnection(srv, src.id, dst.id);
      const ingest = () => fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
      await ingest();
      await ingest();
      const [opened] = await until(() => (live.of('circuit.opened').length ? live.of('circuit.opened') : null), 10000, 'circuit.opened');
      assert.equal(opened.destination.id, dst.id);
      assert.equal(opened.from, 'closed');
      assert.equal(opened.to, 'open');
      assert.equal(opened.destination.circuit, 'open');
      assert.equal(opened.destination.consecutive_failures, 2);
      assert.equal(opened.attempt.response_status, 503);
      assert.match(opened.attempt.attempt_id, /^da_/);

      // the probe (a new delivery: the first two wait an hour for their
      // retry) fails: opened again
      await ingest();
      const again = await until(() => live.of('circuit.opened')[1], 10000, 'the failed probe');
      assert.equal(again.from, 'half_open');
      assert.equal(again.to, 'open');
      // then it succeeds: closed
      answer = { status: 200 };
      await ingest();
      const closed = await until(() => live.of('circuit.closed')[0], 10000, 'circuit.closed');
      assert.equal(closed.from, 'half_open');
      assert.equal(closed.to, 'closed');
      assert.equal(closed.destination.circuit, 'closed');
      assert.equal(closed.attempt.response_status, 200, 'the probe that closed it');
      assert.equal(closed.attempt.error, null);
      assert.equal(live.of('circuit.opened').length, 2, 'each transition once');

      const lines = await until(() => { const l = logLines(srv); return l.length >= 3 ? l : null; }, 5000, 'three log lines');
      assert.deepEqual(lines.map((l) => [l.level, l.from, l.to]),
        [['warn', 'closed', 'open'], ['warn', 'half_open', 'open'], ['info', 'half_open', 'closed']]);
      for (const l of lines) assert.equal(l.destination_id, dst.id);
      assert.match(lines[0].msg, /^circuit opened/);
      assert.equal(lines[0].response_status, 503);
      assert.match(lines[2].msg, /^circuit closed/);

      // why it failed, from the API: the failed attempts, newest first, with the answer
      const f = (await srv.req('GET', `/v1/delivery-attempts?destination_id=${dst.id}&status=failed&limit=10`)).body.delivery_attempts;
      assert.equal(f.length, 3);
      assert.ok(f.every((a) => a.response_status === 503 && a.status === 'failed'));
    } finally {
      live.ws.close();
      await rx.close();
      await stopClean(srv);
    }
  });
}

test('a manual reset is circuit.reset, not circuit.closed; nothing is logged at warn by default for it', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 500 }));
  const live = await watch(srv);
  try {
    const src = await makeSource(srv);
    const dst = await makeDestination(srv, { config: { url: rx.url }, circuit_breaker: { threshold: 1, cooldown_ms: 60000 }, retry_policy: { max_retries: 0 } });
    await makeConnection(srv, src.id, dst.id);
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    await until(() => live.of('circuit.opened')[0], 10000, 'circuit.opened');
    assert.equal((await srv.req('POST', `/v1/destinations/${dst.id}/circuit/reset`)).status, 200);
    await until(() => live.of('circuit.reset')[0], 5000, 'circuit.reset');
    assert.equal(live.of('circuit.closed').length, 0);
    // the server runs at warn here: the opening is logged, the reset is not a circuit line
    assert.deepEqual(logLines(srv).map((l) => l.to), ['open']);
  } finally {
    live.ws.close();
    await rx.close();
    await stopClean(srv);
  }
});
