// Retry-After on a 429 or 503: it lengthens the wait before the next
// attempt (never shortens it), is clamped to one hour (HS_RETRY_AFTER_MAX_S,
// docs/scheduler.md), takes an HTTP-date too, is ignored when it is not a
// valid value, never skips the dead-letter rule, and holds an opened
// circuit's probe back as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, makeDestination, ingestVia, eventSettled, circuitIn } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

const MAX_MS = 3600 * 1000;
const POLICY = { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } };

async function destination(srv, rx, extra = {}) {
  return makeDestination(srv, { config: { url: rx.url }, ...POLICY, ...extra });
}

// The delivery's attempts, oldest first, once there are n.
async function attempts(srv, dstId, n) {
  return until(async () => {
    const r = await srv.req('GET', `/v1/delivery-attempts?destination_id=${dstId}`);
    const list = r.body.delivery_attempts;
    return list.length >= n ? list.slice().reverse() : null;
  }, 15000, `${n} attempts`);
}

// What the attempt planned: ms from its record to its next retry.
const planned = (a) => Date.parse(a.next_retry_at) - Date.parse(a.created_at);

test('429 with Retry-After: 3 waits 3 s where the policy says 1 s', async () => {
  const srv = await startServer();
  const rx = await startReceiver((r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '3' } } : {}));
  const dst = await destination(srv, rx);
  const { event_id } = await ingestVia(srv, dst, '{}');
  await rx.waitFor(2, 10000);
  const gap = rx.requests[1].at - rx.requests[0].at;
  assert.ok(gap >= 3000 && gap < 4500, `second attempt after ${gap} ms`);
  await eventSettled(srv, event_id);
  const [first] = await attempts(srv, dst.id, 2);
  assert.equal(first.response_status, 429);
  assert.ok(planned(first) >= 3000 && planned(first) < 3100, `next_retry_at ${planned(first)} ms ahead`);
  await rx.close();
  await stopClean(srv);
});

test('a huge Retry-After is clamped to one hour; a date in one works', async () => {
  const srv = await startServer();
  const rxHuge = await startReceiver(() => ({ status: 503, headers: { 'retry-after': '99999999999' } }));
  // an IMF-fixdate 3 to 4 s ahead, whole seconds as the format has them
  const at = (Math.floor(Date.now() / 1000) + 4) * 1000;
  const rxDate = await startReceiver((r, n) => (n === 1
    ? { status: 503, headers: { 'retry-after': new Date(at).toUTCString() } } : {}));
  const huge = await destination(srv, rxHuge);
  const dated = await destination(srv, rxDate);
  await ingestVia(srv, huge, '{}');
  const { event_id } = await ingestVia(srv, dated, '{}');

  const [h] = await attempts(srv, huge.id, 1);
  assert.equal(h.response_status, 503);
  assert.equal(h.is_dlq, false);
  assert.ok(Math.abs(planned(h) - MAX_MS) < 1000, `next_retry_at ${planned(h)} ms ahead, want ${MAX_MS}`);

  await rxDate.waitFor(2, 10000);
  assert.ok(rxDate.requests[1].at >= at - 100, `retried ${at - rxDate.requests[1].at} ms before the date`);
  await eventSettled(srv, event_id);
  const [d] = await attempts(srv, dated.id, 2);
  assert.ok(Math.abs(Date.parse(d.next_retry_at) - at) < 100, `next_retry_at ${d.next_retry_at}, want ${new Date(at).toISOString()}`);
  assert.equal(rxHuge.requests.length, 1, 'the clamped retry is an hour away');
  await rxHuge.close();
  await rxDate.close();
  await stopClean(srv);
});

test('an invalid Retry-After keeps the policy; Retry-After never skips the DLQ', async () => {
  const srv = await startServer();
  const rx = await startReceiver((r, n) => ({ status: 429, headers: { 'retry-after': n === 1 ? '-5' : n === 2 ? 'soon' : '1.5' } }));
  const dst = await destination(srv, rx, { retry_policy: { max_retries: 2, backoff_type: 'fixed', intervals: [1] } });
  const { event_id } = await ingestVia(srv, dst, '{}');
  const e = await eventSettled(srv, event_id, 'failed');
  assert.equal(rx.requests.length, 3, '1 + max_retries attempts');
  for (let i = 1; i < 3; i++) {
    const gap = rx.requests[i].at - rx.requests[i - 1].at;
    assert.ok(gap >= 900 && gap < 2000, `gap ${i}: ${gap} ms`);
  }
  const last = e.attempts.find((a) => a.is_dlq);
  assert.ok(last, 'dead-lettered');
  assert.equal(last.next_retry_at, null);

  // a long Retry-After on the last allowed attempt dead-letters all the same
  const rx2 = await startReceiver(() => ({ status: 503, headers: { 'retry-after': '2' } }));
  const dst2 = await destination(srv, rx2, { retry_policy: { max_retries: 0, backoff_type: 'fixed', intervals: [1] } });
  const second = await ingestVia(srv, dst2, '{}');
  const e2 = await eventSettled(srv, second.event_id, 'failed');
  assert.equal(e2.attempts.length, 1);
  assert.equal(e2.attempts[0].is_dlq, true);
  assert.equal(e2.attempts[0].next_retry_at, null);
  await rx.close();
  await rx2.close();
  await stopClean(srv);
});

test('a 503 with Retry-After that opens the circuit holds its probe back as long', async () => {
  const srv = await startServer();
  const rx = await startReceiver((r, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '3' } } : {}));
  const dst = await destination(srv, rx, { circuit_breaker: { threshold: 1, cooldown_ms: 1000 } });
  const { event_id } = await ingestVia(srv, dst, '{}');
  const c = await circuitIn(srv, dst.id, 'open');
  const hold = Date.parse(c.next_probe_at) - Date.parse(c.opened_at);
  assert.ok(hold >= 3000 && hold < 3100, `probe ${hold} ms after opening, want 3000 (not the 1000 ms cooldown)`);
  await rx.waitFor(2, 10000);
  const gap = rx.requests[1].at - rx.requests[0].at;
  assert.ok(gap >= 3000, `probe after ${gap} ms`);
  await eventSettled(srv, event_id);
  await circuitIn(srv, dst.id, 'closed');
  await rx.close();
  await stopClean(srv);
});
