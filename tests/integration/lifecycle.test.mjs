// The life of deliveries whose destination is deleted: a retry of one is
// refused (409) instead of being queued for nobody; an event is never
// `processing` without a pending delivery (delivered, failed or cancelled
// once the rest is cancelled), also across a restart; and under churn
// (destinations created and deleted while events arrive and retries fire)
// no event or delivery is left hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, stopClean, makeSource, makeDestination, makeConnection, eventSettled } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

const DLQ_AT_ONCE = { retry_policy: { max_retries: 0 } };

async function ingest(srv, src, body = '{}') {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text).event_id;
}

// A destination to rx (extra: its fields) connected from src.
async function route(srv, src, rx, extra = {}) {
  const dst = await makeDestination(srv, { config: { url: rx.url }, ...extra });
  const conn = await makeConnection(srv, src.id, dst.id);
  return { dst, conn };
}

// Delete the connection, then the destination (a destination a connection
// names cannot be deleted).
async function unroute(srv, { dst, conn }) {
  assert.equal((await srv.req('DELETE', `/v1/connections/${conn.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/destinations/${dst.id}`)).status, 200);
}

const getEvent = async (srv, id) => (await srv.req('GET', `/v1/events/${id}`)).body;

// Read-only SQL on the server's database (WAL: a reader sees the last commit).
function sql(db, query) {
  return execFileSync('sqlite3', ['-readonly', db, query]).toString().trim();
}

// The invariants: no event processing without a pending delivery, no
// pending delivery whose destination is gone.
function strays(db) {
  return {
    processing_without_pending: Number(sql(db, "SELECT count(*) FROM events e WHERE e.status = 'processing' AND NOT EXISTS " +
      "(SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')")),
    pending_for_deleted: Number(sql(db, "SELECT count(*) FROM deliveries_named WHERE status = 'pending' AND " +
      'destination_id NOT IN (SELECT id FROM destinations)')),
  };
}

test('a dead-lettered delivery whose destination was deleted: retry is refused with 409', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const r = await route(srv, src, rx, DLQ_AT_ONCE);
  const id = await ingest(srv, src);
  const e = await eventSettled(srv, id, 'failed');
  const attempt = e.attempts[0];
  assert.equal(attempt.is_dlq, true);
  await unroute(srv, r);

  const a = await srv.req('POST', `/v1/delivery-attempts/${attempt.id}/retry`);
  assert.equal(a.status, 409, a.text);
  assert.match(a.body.error, new RegExp(`destination ${r.dst.id} was deleted`));
  const ev = await srv.req('POST', `/v1/events/${id}/retry`);
  assert.equal(ev.status, 409, ev.text);
  assert.match(ev.body.error, new RegExp(`nothing to retry: destination ${r.dst.id} was deleted`));

  const after = await getEvent(srv, id);
  assert.equal(after.status, 'failed');
  assert.equal(after.deliveries[0].status, 'dlq');
  assert.deepEqual(strays(srv.db), { processing_without_pending: 0, pending_for_deleted: 0 });
  await rx.close();
  await stopClean(srv);
});

test('an event retry requeues what it can and reports what it skipped', async () => {
  const srv = await startServer();
  let ok = false;
  const rxA = await startReceiver(() => ({ status: ok ? 200 : 500 }));
  const rxB = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const a = await route(srv, src, rxA, DLQ_AT_ONCE);
  const b = await route(srv, src, rxB, DLQ_AT_ONCE);
  const id = await ingest(srv, src);
  const e = await until(async () => {
    const x = await getEvent(srv, id);
    return x.status === 'failed' && x.deliveries.every((d) => d.status === 'dlq') ? x : null;
  }, 10000, 'both dead-lettered');
  const byDst = Object.fromEntries(e.deliveries.map((d) => [d.destination_id, d.id]));
  await unroute(srv, b);
  ok = true;
  const r = await srv.req('POST', `/v1/events/${id}/retry`);
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.body.delivery_ids, [byDst[a.dst.id]]);
  assert.equal(r.body.status, 'queued');
  assert.deepEqual(r.body.skipped, [{
    delivery_id: byDst[b.dst.id], destination_id: b.dst.id, reason: `destination ${b.dst.id} was deleted`,
  }]);
  await rxA.waitFor(2);
  // a's delivery went through; b's is still dead-lettered: the event failed
  const settled = await until(async () => {
    const x = await getEvent(srv, id);
    return x.deliveries.find((d) => d.destination_id === a.dst.id).status === 'delivered' ? x : null;
  }, 10000, 'a delivered');
  assert.equal(settled.status, 'failed');
  assert.deepEqual(strays(srv.db), { processing_without_pending: 0, pending_for_deleted: 0 });
  await rxA.close();
  await rxB.close();
  await stopClean(srv);
});

test('deleting a destination settles its events: delivered, or cancelled when nothing went out; across a restart', async () => {
  const srv = await startServer();
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const live = await route(srv, src, rx);
  const held = await route(srv, src, rx, { status: 'paused' }); // keeps its delivery pending
  const both = await ingest(srv, src);
  await rx.waitFor(1);
  const e1 = await until(async () => {
    const x = await getEvent(srv, both);
    return x.deliveries.some((d) => d.status === 'delivered') ? x : null;
  }, 10000, 'one delivered');
  assert.equal(e1.status, 'processing', 'the paused destination still has its delivery pending');
  await unroute(srv, held);
  assert.equal((await getEvent(srv, both)).status, 'delivered');

  // only a paused destination: nothing goes out, and deleting it cancels all
  const src2 = await makeSource(srv);
  const only = await route(srv, src2, rx, { status: 'paused' });
  const none = await ingest(srv, src2);
  assert.equal((await getEvent(srv, none)).status, 'processing');
  await unroute(srv, only);
  const c = await getEvent(srv, none);
  assert.equal(c.status, 'cancelled');
  assert.deepEqual(c.deliveries.map((d) => d.status), ['cancelled']);
  const listed = await srv.req('GET', '/v1/events?status=cancelled');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.body.events.map((x) => x.id), [none]);
  const bad = await srv.req('GET', '/v1/events?status=gone');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /cancelled/);

  await srv.stop();
  const again = await startServer({ dir: srv.dir });
  assert.equal((await getEvent(again, both)).status, 'delivered');
  assert.equal((await getEvent(again, none)).status, 'cancelled');
  assert.deepEqual(strays(again.db), { processing_without_pending: 0, pending_for_deleted: 0 });
  await unroute(again, live);
  await rx.close();
  await stopClean(again);
});

test('at start, a pending delivery of a deleted destination is cancelled and its event settles', async () => {
  // what a retry answered 202 for a deleted destination used to leave: a
  // pending delivery nobody sends, its event processing
  const srv = await startServer();
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const keep = await route(srv, src, rx);
  const gone = await route(srv, src, rx, { status: 'paused' });
  const mixed = await ingest(srv, src);
  await rx.waitFor(1);
  const src2 = await makeSource(srv);
  const gone2 = await route(srv, src2, rx, { status: 'paused' });
  const lone = await ingest(srv, src2);
  await unroute(srv, gone);
  await unroute(srv, gone2);
  await eventSettled(srv, mixed, 'delivered');
  await srv.stop();
  // (with the pending counts the store keeps per destination, as the bug did)
  const gones = `(SELECT n FROM refs WHERE id IN ('${gone.dst.id}', '${gone2.dst.id}'))`;
  execFileSync('sqlite3', [srv.db,
    `UPDATE deliveries SET status = 'pending' WHERE destination IN ${gones};` +
    `INSERT OR REPLACE INTO queues SELECT destination, count(*) FROM deliveries WHERE destination IN ${gones} ` +
    "AND status = 'pending' GROUP BY destination;" +
    `UPDATE events SET status = 'processing', open_deliveries = 1 WHERE id IN ('${mixed}', '${lone}');`]);
  assert.equal(strays(srv.db).pending_for_deleted, 2);

  const again = await startServer({ dir: srv.dir });
  assert.deepEqual(strays(again.db), { processing_without_pending: 0, pending_for_deleted: 0 });
  assert.equal((await getEvent(again, mixed)).status, 'delivered');
  const l = await getEvent(again, lone);
  assert.equal(l.status, 'cancelled');
  assert.deepEqual(l.deliveries.map((d) => d.status), ['cancelled']);
  await unroute(again, keep);
  await rx.close();
  await stopClean(again);
});

test('churn: destinations deleted while events arrive and retries fire leave nothing hanging', async () => {
  const srv = await startServer();
  const rxOk = await startReceiver(() => ({ delayMs: 5 }));
  const rxBad = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const stable = await route(srv, src, rxOk);
  const answers = {};
  const count = (what, status) => { answers[`${what} ${status}`] = (answers[`${what} ${status}`] || 0) + 1; };
  const events = [];
  const routes = [];
  const until3s = Date.now() + 3000;
  const running = () => Date.now() < until3s;

  const ingester = async () => {
    while (running()) { events.push(await ingest(srv, src)); await sleep(5); }
  };
  const churner = async () => {
    while (running()) {
      const r = await route(srv, src, Math.random() < 0.5 ? rxBad : rxOk,
        { ...DLQ_AT_ONCE, ...(Math.random() < 0.3 ? { status: 'paused' } : {}) });
      routes.push(r);
      await sleep(40 + Math.random() * 80);
      const victim = routes.splice(Math.floor(Math.random() * routes.length), 1)[0];
      await unroute(srv, victim);
      count('delete', 200);
    }
  };
  const retrier = async () => {
    while (running()) {
      const dlq = (await srv.req('GET', '/v1/delivery-attempts?is_dlq=1&limit=20')).body.delivery_attempts;
      for (const a of dlq.slice(0, 5)) {
        const r = await srv.req('POST', `/v1/delivery-attempts/${a.id}/retry`);
        count('attempt retry', r.status);
        const e = await srv.req('POST', `/v1/events/${a.event_id}/retry`);
        count('event retry', e.status);
      }
      await sleep(20);
    }
  };
  await Promise.all([ingester(), ingester(), churner(), churner(), retrier()]);
  for (const r of routes) await unroute(srv, r);

  for (const k of Object.keys(answers)) assert.match(k, / (200|202|409)$/, JSON.stringify(answers));
  assert.ok(events.length >= 100, `only ${events.length} events`);
  assert.ok(answers['attempt retry 409'] || answers['event retry 409'], `no retry met a deleted destination: ${JSON.stringify(answers)}`);
  // every destination left exists and is active: everything settles
  await until(async () => sql(srv.db, "SELECT count(*) FROM events WHERE status = 'processing'") === '0', 20000,
    'no event processing');
  assert.deepEqual(strays(srv.db), { processing_without_pending: 0, pending_for_deleted: 0 });
  assert.equal(sql(srv.db, "SELECT count(*) FROM deliveries WHERE status = 'pending'"), '0');
  const statuses = sql(srv.db, 'SELECT DISTINCT status FROM events ORDER BY 1').split('\n');
  for (const s of statuses) assert.ok(['cancelled', 'delivered', 'failed'].includes(s), s);
  await unroute(srv, stable);
  await rxOk.close();
  await rxBad.close();
  await stopClean(srv);
});
