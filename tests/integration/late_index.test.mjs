// The late indexes (SQLite, src/store/sqlite/late.c): an event's entry in
// the index by source and an attempt's in the index by destination are
// queued with the row and moved into the index about once a second. Lists
// by source and by destination hold every row, newest first, page after
// page, whether its entry was moved yet or is still queued; a restart
// finds what was queued; retention takes the entries with the rows
// (retention.test.mjs checks that).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

const sql = (db, q) => Number(execFileSync('sqlite3', ['-readonly', db, q]).toString().trim());

async function ingest(srv, srcId, n) {
  const r = await fetch(`${srv.url}/v1/ingest/${srcId}`, { method: 'POST', body: JSON.stringify({ n }),
    headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text).event_id;
}

// every item of a list, pages of `limit`, following the cursor
async function listAll(srv, path, key, limit = 7) {
  const all = [];
  let cursor = null;
  for (let pages = 0; pages < 100; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await srv.req('GET', `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body[key].length <= limit);
    all.push(...r.body[key]);
    if (!r.body.has_more) return all;
    cursor = r.body.cursor;
  }
  throw new Error('more than 100 pages');
}

function newestFirst(ids) {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] > ids[i], `${ids[i - 1]} before ${ids[i]}`);
}

test('lists by source and by destination hold every row, moved into the index or still queued', async () => {
  const srv = await startServer();
  const rx = await startReceiver();
  const a = await makeSource(srv);
  const b = await makeSource(srv);
  const da = await makeDestination(srv, { config: { url: rx.url } });
  const db = await makeDestination(srv, { config: { url: rx.url } });
  await makeConnection(srv, a.id, da.id);
  await makeConnection(srv, b.id, db.id);
  const ofA = [];
  const ofB = [];
  for (let i = 0; i < 25; i++) {
    ofA.push(await ingest(srv, a.id, i));
    if (i % 5 === 0) ofB.push(await ingest(srv, b.id, i));
  }
  await until(() => rx.requests.length === 30, 15000, 'the first 30 deliveries');
  // a commit a second after the last batch begins the next: a batch this
  // small is written whole with it, and leaves the queue with the next
  // commit (the mark's delivery's)
  await sleep(1200);
  ofB.push(await ingest(srv, b.id, 'mark'));
  assert.equal(sql(srv.db, `SELECT count(*) FROM source_events WHERE source_id = '${a.id}'`), 25);
  await until(() => sql(srv.db, `SELECT count(*) FROM events_unindexed WHERE source_id = '${a.id}'`) === 0, 5000,
    'the batch off the queue');
  assert.ok(sql(srv.db, `SELECT count(*) FROM destination_attempts WHERE destination_id = '${da.id}'`) >= 1);
  // and these wait in the queue
  for (let i = 25; i < 40; i++) ofA.push(await ingest(srv, a.id, i));
  const queued = sql(srv.db, `SELECT count(*) FROM events_unindexed WHERE source_id = '${a.id}'`);
  assert.ok(queued >= 1, 'some of the last 15 are still queued');
  await until(() => rx.requests.length === 46, 15000, 'every delivery');

  const listed = (await listAll(srv, `/v1/events?source_id=${a.id}`, 'events')).map((e) => e.id);
  assert.equal(listed.length, 40, `${queued} queued`);
  newestFirst(listed);
  assert.deepEqual([...listed].sort(), [...ofA].sort());
  // with another filter, and the other source
  const delivered = await listAll(srv, `/v1/events?source_id=${a.id}&status=delivered`, 'events', 9);
  assert.equal(delivered.length, 40);
  const listedB = (await listAll(srv, `/v1/events?source_id=${b.id}`, 'events', 2)).map((e) => e.id);
  assert.deepEqual(listedB, [...ofB].reverse());

  const attempts = await listAll(srv, `/v1/delivery-attempts?destination_id=${da.id}`, 'delivery_attempts');
  assert.equal(attempts.length, 40);
  newestFirst(attempts.map((x) => x.id));
  assert.deepEqual(attempts.map((x) => x.event_id).sort(), [...ofA].sort());
  assert.ok(attempts.every((x) => x.destination_id === da.id && x.status === 'success'));
  const attemptsB = await listAll(srv, `/v1/delivery-attempts?destination_id=${db.id}&status=success`, 'delivery_attempts', 3);
  assert.deepEqual(attemptsB.map((x) => x.event_id).sort(), [...ofB].sort());

  // a restart finds what was left queued
  const st = await srv.stop();
  assert.equal(st.code, 0, srv.stderr);
  const left = sql(srv.db, 'SELECT (SELECT count(*) FROM events_unindexed) + (SELECT count(*) FROM attempts_unindexed)');
  // as a stop in the middle of a batch leaves it: some queued rows already
  // in the index too
  execFileSync('sqlite3', [srv.db, 'INSERT INTO source_events SELECT source_id, id FROM events_unindexed WHERE n % 2 = 0; ' +
    'INSERT INTO destination_attempts SELECT destination_id, id FROM attempts_unindexed WHERE n % 2 = 1']);
  assert.ok(sql(srv.db, `SELECT count(*) FROM events_unindexed u WHERE u.source_id = '${a.id}' AND EXISTS ` +
    '(SELECT 1 FROM source_events x WHERE x.source_id = u.source_id AND x.id = u.id)') >= 1, 'rows in both');
  const again = await startServer({ dir: srv.dir, db: srv.db });
  const afterRestart = (await listAll(again, `/v1/events?source_id=${a.id}`, 'events', 40)).map((e) => e.id);
  assert.deepEqual(afterRestart, listed, `${left} rows were queued at the stop`);
  const attemptsAgain = await listAll(again, `/v1/delivery-attempts?destination_id=${da.id}`, 'delivery_attempts', 6);
  assert.deepEqual(attemptsAgain.map((x) => x.id), attempts.map((x) => x.id));
  // the first commit after it moves them (a start's own commit, or this)
  ofA.push(await ingest(again, a.id, 'after'));
  assert.ok(sql(again.db, `SELECT count(*) FROM source_events WHERE source_id = '${a.id}'`) >= 40);
  const all = (await listAll(again, `/v1/events?source_id=${a.id}`, 'events', 100)).map((e) => e.id);
  assert.deepEqual([...all].sort(), [...ofA].sort());
  await until(() => rx.requests.length === 47, 15000, 'the last delivery');
  await stopClean(again);
  await rx.close();
});
