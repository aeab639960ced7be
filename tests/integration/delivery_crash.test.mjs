// kill -9 while deliveries are in flight: after a restart every accepted
// event still reaches the receiver (at least once), for best-effort and
// strict destinations, and strict ones never deliver out of order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

const ARGS = ['--allow-private-destinations'];

test('kill -9 during deliveries loses none; strict order holds across the crash', async () => {
  let srv = await startServer({ args: ARGS });
  const rxB = await startReceiver(() => ({ delayMs: 3 }));
  const rxS = await startReceiver(() => ({ delayMs: 3 }));
  const src = await makeSource(srv);
  const b = await makeDestination(srv, { config: { url: rxB.url } });
  const s = await makeDestination(srv, { config: { url: rxS.url }, ordering: 'strict' });
  await makeConnection(srv, src.id, b.id);
  await makeConnection(srv, src.id, s.id);

  const accepted = [];
  for (let i = 0; i < 150; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: JSON.stringify({ i }) });
    assert.equal(r.status, 200);
    accepted.push((await r.json()).event_id);
    if (i === 100) {
      // the receivers are busy with the first ones: crash now
      await srv.kill9();
      break;
    }
  }
  const seenBefore = rxB.requests.length;
  assert.ok(seenBefore < accepted.length, `some deliveries were still pending at the crash (${seenBefore})`);
  srv = await startServer({ args: ARGS, dir: srv.dir });
  const ids = (rx) => new Set(rx.requests.map((r) => r.headers['x-hookstream-event-id']));
  await until(() => accepted.every((id) => ids(rxB).has(id) && ids(rxS).has(id)), 20000, 'every event delivered');

  // strict: the first arrival of each event is in ingest order
  const firsts = [];
  for (const r of rxS.requests) {
    const id = r.headers['x-hookstream-event-id'];
    if (!firsts.includes(id)) firsts.push(id);
  }
  assert.deepEqual(firsts, accepted);
  const dupS = rxS.requests.length - accepted.length;
  const dupB = rxB.requests.length - accepted.length;
  // strict holds its slot until the record is on disk: at most the one in flight
  // repeats; best effort may also repeat the few whose records were committing
  assert.ok(dupS <= 1 && dupB <= 3, `repeats: strict ${dupS}, best effort ${dupB}`);
  await sleep(300);
  const last = await srv.req('GET', `/v1/events/${accepted[accepted.length - 1]}`);
  assert.equal(last.body.status, 'delivered');
  await rxB.close();
  await rxS.close();
  await srv.stop();
  srv.cleanup();
});
