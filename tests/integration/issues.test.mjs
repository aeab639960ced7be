// Issues (#18 item 2, docs/api.md "Issues"): a dead letter opens one issue
// per destination and error type, a second occurrence counts it; the list
// filters and pages, the summary counts by status; PATCH acknowledges,
// snoozes and resolves; an issue quiet for --issue-resolve-after resolves
// itself and a new occurrence reopens it; POST .../retry sends its dead
// letters again; a circuit opening is an issue of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until, sleep } from './lib/receiver.mjs';

// A source connected to a destination at rx that dead-letters at once.
async function failingPair(srv, rx, extra = {}) {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, retry_policy: { max_retries: 0 }, ...extra });
  await makeConnection(srv, src.id, dst.id);
  const ingest = async (body = '{}') => {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body });
    assert.equal(r.status, 200);
    return r.json();
  };
  return { src, dst, ingest };
}

const issuesOf = async (srv, dst) => (await srv.req('GET', `/v1/issues?destination_id=${dst.id}`)).body.issues;
const issueWith = (srv, dst, pred, what) => until(async () => (await issuesOf(srv, dst)).find(pred), 10000, what);

test('a dead letter opens one issue, a second one counts it; list, filters, pages, summary', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 500, body: 'down' }));
  const gone = await startReceiver(() => ({ status: 404, body: 'no such hook' }));
  try {
    const a = await failingPair(srv, rx);
    const b = await failingPair(srv, gone);
    await a.ingest();
    let iss = await issueWith(srv, a.dst, (i) => i.count === 1, 'an issue');
    assert.match(iss.id, /^iss_[0-9a-f]{32}$/);
    assert.equal(iss.error_type, 'http_5xx');
    assert.equal(iss.status, 'open');
    assert.equal(iss.recent_attempt_ids.length, 1);
    assert.match(iss.recent_attempt_ids[0], /^da_/);
    assert.match(iss.last_error, /500/);
    await a.ingest();
    iss = await issueWith(srv, a.dst, (i) => i.count === 2, 'a second occurrence');
    assert.equal((await issuesOf(srv, a.dst)).length, 1, 'one issue per destination and error type');
    assert.equal(iss.recent_attempt_ids.length, 2);
    await b.ingest();
    const other = await issueWith(srv, b.dst, (i) => i.count === 1, 'the 4xx issue');
    assert.equal(other.error_type, 'http_4xx');

    const got = await srv.req('GET', `/v1/issues/${iss.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.count, 2);
    const page1 = await srv.req('GET', '/v1/issues?limit=1&status=open');
    assert.equal(page1.status, 200);
    assert.equal(page1.body.issues.length, 1);
    assert.equal(page1.body.has_more, true);
    const page2 = await srv.req('GET', `/v1/issues?limit=1&status=open&cursor=${page1.body.cursor}`);
    assert.equal(page2.body.issues.length, 1);
    assert.notEqual(page2.body.issues[0].id, page1.body.issues[0].id);
    assert.equal(page2.body.has_more, false);
    const sum = await srv.req('GET', '/v1/issues/summary');
    assert.deepEqual(sum.body, { open: 2, acknowledged: 0, resolved: 0, total: 2 });

    assert.equal((await srv.req('GET', '/v1/issues?status=closed')).status, 400);
    assert.equal((await srv.req('GET', '/v1/issues?destination_id=nope')).status, 400);
    assert.equal((await srv.req('GET', '/v1/issues?colour=red')).status, 400);
    assert.equal((await srv.req('GET', `/v1/issues/iss_${'0'.repeat(32)}`)).status, 404);
  } finally {
    rx.close();
    gone.close();
    await stopClean(srv);
  }
});

test('PATCH acknowledges, snoozes and resolves an issue; bad changes are 400', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 503 }));
  try {
    const a = await failingPair(srv, rx);
    await a.ingest();
    const iss = await issueWith(srv, a.dst, (i) => i.count === 1, 'an issue');
    let r = await srv.req('PATCH', `/v1/issues/${iss.id}`, { status: 'acknowledged' });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'acknowledged');
    assert.ok(r.body.acknowledged_at);
    const until1 = new Date(Date.now() + 3600e3).toISOString();
    r = await srv.req('PATCH', `/v1/issues/${iss.id}`, { snoozed_until: until1 });
    assert.equal(r.status, 200);
    assert.equal(r.body.snoozed_until, until1);
    assert.equal(r.body.status, 'acknowledged');
    // another occurrence counts on the acknowledged issue, which stays so
    await a.ingest();
    await issueWith(srv, a.dst, (i) => i.count === 2 && i.status === 'acknowledged', 'counted while acknowledged');
    r = await srv.req('PATCH', `/v1/issues/${iss.id}`, { snoozed_until: null, status: 'resolved' });
    assert.equal(r.status, 200);
    assert.equal(r.body.snoozed_until, null);
    assert.equal(r.body.status, 'resolved');
    assert.ok(r.body.resolved_at);
    assert.deepEqual((await srv.req('GET', '/v1/issues/summary')).body, { open: 0, acknowledged: 0, resolved: 1, total: 1 });

    for (const [body, field] of [[{ status: 'closed' }, 'status'], [{ snoozed_until: 'tomorrow' }, 'snoozed_until'],
      [{ count: 0 }, 'count'], [{ status: 7 }, 'status']]) {
      r = await srv.req('PATCH', `/v1/issues/${iss.id}`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.field, field);
    }
    r = await srv.req('PATCH', `/v1/issues/${iss.id}`, '[1]');
    assert.equal(r.status, 400);
    assert.equal((await srv.req('PATCH', `/v1/issues/iss_${'0'.repeat(32)}`, { status: 'open' })).status, 404);
  } finally {
    rx.close();
    await stopClean(srv);
  }
});

test('an issue quiet for --issue-resolve-after resolves itself; a new occurrence reopens it', async () => {
  const srv = await startServer({ args: ['--issue-resolve-after', '1'] });
  const rx = await startReceiver(() => ({ status: 500 }));
  try {
    const a = await failingPair(srv, rx);
    await a.ingest();
    const iss = await issueWith(srv, a.dst, (i) => i.count === 1, 'an issue');
    const resolved = await issueWith(srv, a.dst, (i) => i.status === 'resolved', 'resolved when quiet');
    assert.equal(resolved.id, iss.id);
    assert.ok(Date.parse(resolved.resolved_at) - Date.parse(resolved.last_seen_at) >= 1000);
    await a.ingest();
    const again = await issueWith(srv, a.dst, (i) => i.status === 'open', 'reopened');
    assert.equal(again.id, iss.id, 'the same issue is reopened');
    assert.equal(again.count, 2);
    assert.equal(again.resolved_at, null);
  } finally {
    rx.close();
    await stopClean(srv);
  }
});

test("POST /v1/issues/:id/retry sends the issue's dead letters again", async () => {
  const srv = await startServer();
  let answer = { status: 502 };
  const rx = await startReceiver(() => answer);
  try {
    const a = await failingPair(srv, rx);
    const events = [await a.ingest('{"n":1}'), await a.ingest('{"n":2}')];
    const iss = await issueWith(srv, a.dst, (i) => i.count === 2, 'two dead letters');
    await rx.waitFor(2);
    answer = { status: 200 };
    const r = await srv.req('POST', `/v1/issues/${iss.id}/retry`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.retried, 2);
    assert.equal(r.body.deliveries.length, 2);
    await rx.waitFor(4);
    for (const e of events) {
      await until(async () => (await srv.req('GET', `/v1/events/${e.event_id}`)).body.status === 'delivered', 10000,
        'delivered after the retry');
    }
    // nothing is left to retry
    const again = await srv.req('POST', `/v1/issues/${iss.id}/retry`);
    assert.equal(again.status, 200);
    assert.equal(again.body.retried, 0);
    assert.equal((await srv.req('POST', `/v1/issues/iss_${'0'.repeat(32)}/retry`)).status, 404);
  } finally {
    rx.close();
    await stopClean(srv);
  }
});

test('a circuit opening is an issue of its own (circuit_open)', async () => {
  const srv = await startServer();
  const rx = await startReceiver(() => ({ status: 500 }));
  try {
    const src = await makeSource(srv);
    const dst = await makeDestination(srv, {
      config: { url: rx.url }, circuit_breaker: { threshold: 2, cooldown_ms: 60000 },
      retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [3600] },
    });
    await makeConnection(srv, src.id, dst.id);
    for (let i = 0; i < 2; i++) await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    const iss = await issueWith(srv, dst, (i) => i.error_type === 'circuit_open', 'a circuit_open issue');
    assert.equal(iss.status, 'open');
    assert.equal(iss.recent_attempt_ids.length, 1);
    await sleep(200);
    assert.equal((await issuesOf(srv, dst)).length, 1, 'no dead letter yet: retries wait an hour');
  } finally {
    rx.close();
    await stopClean(srv);
  }
});
