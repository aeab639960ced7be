// Durable notifications (docs/api.md "Notifications", docs/operations.md
// "Issues and alerts"): a notification is written to the store's outbox
// before it is sent; one waiting for its retry outlives a kill -9 and is
// sent after the restart (signed as before); one that exhausts its
// retries ends failed with its error; GET /v1/notifications lists them;
// with several nodes on one PostgreSQL a pending one is sent by one node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, stopClean, makeSource, makeDestination, makeConnection, makeChannel, makeAlertRule } from './lib/server.mjs';
import { startReceiver, until, sleep } from './lib/receiver.mjs';

const list = async (srv, query = '') => {
  const r = await srv.req('GET', `/v1/notifications${query}`);
  assert.equal(r.status, 200, r.text);
  return r.body.notifications;
};

// A dead letter on a new destination: its issue opens, and an
// issue_opened rule on ch sends a notification.
async function openIssue(srv, chId, deadUrl) {
  await makeAlertRule(srv, { name: 'opened', rule_type: 'issue_opened', channel_ids: [chId] });
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: deadUrl }, retry_policy: { max_retries: 0 } });
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
  assert.equal(r.status, 200);
  return dst;
}

test('kill -9 while a notification waits for its retry: after the restart it arrives, signed', async () => {
  const secret = 'a-long-signing-secret';
  const dead = await startReceiver(() => ({ status: 500 }));
  // the channel fails the first two attempts, then takes it
  const hook = await startReceiver((q, n) => (n <= 2 ? { status: 503 } : { status: 200 }));
  let srv = await startServer();
  try {
    const ch = await makeChannel(srv, { name: 'hook', channel_type: 'webhook', config: { url: hook.url, secret } });
    const dst = await openIssue(srv, ch.id, dead.url);
    await hook.waitFor(2, 8000); // the first attempt, its retry after 1 s
    let pending;
    await until(async () => {
      const v = await list(srv, `?channel_id=${ch.id}`);
      pending = v[0];
      return v.length === 1 && v[0].attempts === 2;
    }, 5000, 'the second failure recorded');
    assert.equal(pending.status, 'pending');
    assert.equal(pending.type, 'issue.opened');
    assert.equal(pending.last_error, 'the channel answered 503');
    assert.match(pending.id, /^ntf_[0-9a-f]{32}$/);
    assert.ok(Date.parse(pending.next_attempt_at) > Date.now(), 'its retry (5 s) is still to come');
    assert.equal(pending.data.issue.destination_id, dst.id);

    await srv.kill9();
    assert.equal(hook.requests.length, 2);
    srv = await startServer({ dir: srv.dir, db: srv.db });
    await hook.waitFor(3, 15000);
    const [, second, third] = hook.requests;
    assert.ok(third.at - second.at >= 4500, 'sent once its retry was due, not before');
    const expected = 'sha256=' + createHmac('sha256', secret).update(third.body).digest('hex');
    assert.equal(third.headers['x-hookstream-signature'], expected);
    assert.equal(JSON.parse(third.body).type, 'issue.opened');
    assert.equal(JSON.parse(third.body).data.issue.destination_id, dst.id);
    await until(async () => (await list(srv, '?status=sent')).length === 1, 5000, 'recorded as sent');
    const sent = (await srv.req('GET', `/v1/notifications/${pending.id}`)).body;
    assert.equal(sent.status, 'sent');
    assert.equal(sent.attempts, 3);
    assert.equal(sent.next_attempt_at, null);
    await sleep(1500);
    assert.equal(hook.requests.length, 3, 'sent once');
  } finally {
    dead.close();
    hook.close();
    await stopClean(srv);
  }
});

test('a notification that exhausts its retries ends failed with its error; the list filters and checks', async () => {
  const dead = await startReceiver(() => ({ status: 500 }));
  const hook = await startReceiver(() => ({ status: 502 }));
  const srv = await startServer({ args: ['--notification-retries', '1'] });
  try {
    const ch = await makeChannel(srv, { name: 'down', channel_type: 'slack', config: { url: hook.url } });
    await openIssue(srv, ch.id, dead.url);
    await hook.waitFor(2, 8000);
    await until(async () => (await list(srv, '?status=failed')).length === 1, 5000, 'failed after its last retry');
    const [failed] = await list(srv, `?status=failed&channel_id=${ch.id}`);
    assert.equal(failed.attempts, 2);
    assert.equal(failed.max_attempts, 2);
    assert.equal(failed.last_error, 'the channel answered 502');
    assert.equal(failed.next_attempt_at, null);
    assert.equal(failed.channel_id, ch.id);
    assert.match(failed.title, /^Issue opened/);
    await sleep(2500);
    assert.equal(hook.requests.length, 2, 'not tried again');
    assert.deepEqual(await list(srv, '?status=pending'), []);
    assert.deepEqual(await list(srv, '?channel_id=nch_00000000000000000000000000000000'), []);

    let r = await srv.req('GET', '/v1/notifications?status=queued');
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'status');
    r = await srv.req('GET', '/v1/notifications?channel_id=dst_x');
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'channel_id');
    r = await srv.req('GET', '/v1/notifications?limit=1');
    assert.equal(r.body.notifications.length, 1);
    assert.equal(r.body.has_more, false);
    assert.equal((await srv.req('GET', '/v1/notifications/ntf_00000000000000000000000000000000')).status, 404);
    assert.equal((await srv.req('GET', '/v1/notifications/nope')).status, 404);
  } finally {
    dead.close();
    hook.close();
    await stopClean(srv);
  }
});

// Several nodes (docs/cluster.md): both look for the pending notifications
// due every second; the claim (a conditional UPDATE) lets one send it.
const PG = process.env.HOOKSTREAM_TEST_PG;
test('two nodes on one PostgreSQL: a notification waiting for its retry is sent once', { skip: !PG && 'no PostgreSQL (tests/run.sh starts one)' }, async () => {
  const db = `${PG}/hs_notify_${process.pid}`;
  const a = await startServer({ db, args: ['--node-id', 'node-a', '--lease-ms', '3000'] });
  const b = await startServer({ db, args: ['--node-id', 'node-b', '--lease-ms', '3000'] });
  const dead = await startReceiver(() => ({ status: 500 }));
  const hook = await startReceiver((q, n) => (n === 1 ? { status: 500 } : { status: 200 }));
  try {
    const ch = await makeChannel(a, { name: 'hook', channel_type: 'webhook', config: { url: hook.url } });
    await openIssue(a, ch.id, dead.url);
    await hook.waitFor(2, 15000);
    await until(async () => (await list(b, '?status=sent')).length === 1, 5000, 'recorded as sent');
    await sleep(3000);
    assert.equal(hook.requests.length, 2, 'the retry was sent by one node');
    const [first, second] = hook.requests.map((q) => JSON.parse(q.body));
    assert.equal(second.type, 'issue.opened');
    assert.deepEqual(second.data, first.data, 'the same notification');
  } finally {
    dead.close();
    hook.close();
    await stopClean(b);
    await stopClean(a);
  }
});
