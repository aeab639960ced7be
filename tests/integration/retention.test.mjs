// --retention: settled events past it are deleted with their deliveries and
// attempts, in small steps while ingest goes on; events with a pending or a
// dead-lettered delivery are kept; nothing acknowledged is lost on the way
// (every delivered event reached its receiver before it was deleted); the
// space goes back to the file system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

const RETENTION_MS = 2000;

function sql(db, query) {
  return execFileSync('sqlite3', ['-readonly', db, query]).toString().trim();
}

async function ingest(srv, srcId, body) {
  const r = await fetch(`${srv.url}/v1/ingest/${srcId}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text).event_id;
}

const status = async (srv, id) => {
  const r = await srv.req('GET', `/v1/events/${id}`);
  return r.status === 404 ? 'gone' : r.body.status;
};

test('retention deletes only settled events past it, under ingest load, and loses nothing acknowledged', async () => {
  const srv = await startServer({ args: ['--retention', '2s'] });
  const rxOk = await startReceiver();
  const rxBad = await startReceiver(() => ({ status: 500 }));
  const kinds = {};
  // delivered: to a receiver that answers 200
  kinds.delivered = await makeSource(srv);
  const dOk = await makeDestination(srv, { config: { url: rxOk.url } });
  await makeConnection(srv, kinds.delivered.id, dOk.id);
  // received: no connection takes it
  kinds.received = await makeSource(srv);
  // failed: dead-lettered at once
  kinds.failed = await makeSource(srv);
  const dBad = await makeDestination(srv, { config: { url: rxBad.url }, retry_policy: { max_retries: 0 },
    circuit_breaker: { enabled: false } });
  await makeConnection(srv, kinds.failed.id, dBad.id);
  // processing: its destination is paused
  kinds.processing = await makeSource(srv);
  const dPaused = await makeDestination(srv, { config: { url: rxOk.url }, status: 'paused' });
  await makeConnection(srv, kinds.processing.id, dPaused.id);

  // 4 s of ingest, 4 senders, round robin over the kinds
  const acked = { delivered: [], received: [], failed: [], processing: [] };
  const names = Object.keys(kinds);
  const t0 = Date.now();
  let n = 0;
  await Promise.all([0, 1, 2, 3].map(async () => {
    while (Date.now() - t0 < 4000) {
      const k = names[n++ % names.length];
      acked[k].push({ id: await ingest(srv, kinds[k].id, JSON.stringify({ n })), at: Date.now() });
    }
  }));
  for (const k of names) assert.ok(acked[k].length > 20, `${k}: ${acked[k].length} events`);

  // everything acknowledged and delivered reached the receiver, deleted or not
  await until(() => {
    const got = new Set(rxOk.requests.map((r) => r.headers['x-hookstream-event-id']));
    return acked.delivered.every((e) => got.has(e.id));
  }, 15000, 'every delivered event at the receiver');

  // past retention (and a sweep), settled ones are gone; the others stay
  await sleep(RETENTION_MS + 1500);
  await until(async () => (await status(srv, acked.received.at(-1).id)) === 'gone' &&
    (await status(srv, acked.delivered.at(-1).id)) === 'gone', 10000, 'the newest settled events swept');
  for (const e of [...acked.received, ...acked.delivered]) assert.equal(await status(srv, e.id), 'gone', e.id);
  for (const e of acked.failed) assert.equal(await status(srv, e.id), 'failed', e.id);
  for (const e of acked.processing) assert.equal(await status(srv, e.id), 'processing', e.id);
  // the dead letters are still there to retry
  const dlq = await srv.req('GET', `/v1/delivery-attempts?is_dlq=1&destination_id=${dBad.id}&limit=100`);
  assert.equal(dlq.status, 200);
  assert.equal(dlq.body.delivery_attempts.length, Math.min(100, acked.failed.length));

  // nothing half-deleted: no delivery without its event, no attempt without its delivery
  assert.equal(sql(srv.db, 'SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)'), '0');
  assert.equal(sql(srv.db, 'SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)'), '0');
  // nor an entry of the late indexes (src/store/sqlite/late.c) without its row, while the kept ones have theirs
  assert.equal(sql(srv.db, 'SELECT count(*) FROM source_events x WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = x.id)'), '0');
  assert.equal(sql(srv.db, 'SELECT count(*) FROM destination_attempts x WHERE NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.id = x.id)'), '0');
  assert.equal(sql(srv.db, 'SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM source_events x WHERE x.source_id = e.source_id AND x.id = e.id) ' +
    'AND NOT EXISTS (SELECT 1 FROM events_unindexed u WHERE u.id = e.id)'), '0');
  // and the space went back: incremental auto-vacuum, a short free list
  assert.equal(sql(srv.db, 'PRAGMA auto_vacuum'), '2');
  assert.ok(Number(sql(srv.db, 'PRAGMA freelist_count')) < 64, sql(srv.db, 'PRAGMA freelist_count'));

  // counted in /metrics
  const metrics = (await srv.req('GET', '/metrics')).text;
  const swept = Number(metrics.match(/hookstream_retention_deleted_total\{what="events"\} (\d+)/)?.[1]);
  assert.ok(swept >= acked.received.length + acked.delivered.length, `${swept} events counted as deleted`);
  assert.ok(Number(metrics.match(/hookstream_retention_deleted_total\{what="attempts"\} (\d+)/)?.[1]) >=
    acked.delivered.length, 'their attempts counted');

  // the held events settle once their destination resumes, and then go too
  assert.equal((await srv.req('PATCH', `/v1/destinations/${dPaused.id}`, { status: 'active' })).status, 200);
  await until(async () => (await status(srv, acked.processing.at(-1).id)) === 'gone', 15000, 'resumed events swept');
  const got = new Set(rxOk.requests.map((r) => r.headers['x-hookstream-event-id']));
  for (const e of acked.processing) assert.ok(got.has(e.id), `${e.id} delivered before it was deleted`);

  await rxOk.close();
  await rxBad.close();
  await stopClean(srv);
});

test('retention off keeps everything', async () => {
  const srv = await startServer({ args: ['--retention', 'off'] });
  const src = await makeSource(srv);
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await ingest(srv, src.id, '{}'));
  await sleep(1500);
  for (const id of ids) assert.equal(await status(srv, id), 'received');
  await stopClean(srv);
});
