// Notification channels and alert rules (#18 item 3, docs/api.md
// "Notification channels", "Alert rules"): channels are validated, their
// secret masked; POST .../test sends on each type in the shape its service
// takes (a signed webhook, Slack's text, Discord's content, an e-mail
// through a local SMTP peer) and goes through the SSRF guard; alert rules
// (dlq, failure_rate) fire once per cooldown and send a resolved notice
// when their condition clears; issue_opened fires at once; a failing
// channel is tried again while deliveries keep flowing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { startServer, stopClean, makeSource, makeDestination, makeConnection, makeChannel, makeAlertRule } from './lib/server.mjs';
import { startReceiver, until, sleep } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const { SMTPServer } = createRequire(PEERS_DIR + '/')('smtp-server');

// A local SMTP peer: every message it takes, with its envelope.
async function startSmtp() {
  const messages = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address),
          text: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.server.address().port, messages, close: () => new Promise((r) => server.close(r)) };
}

const bodies = (rx) => rx.requests.map((q) => JSON.parse(q.body));
const ofType = (rx, type) => bodies(rx).filter((b) => b.type === type);

test('notification channels: create, list, get, PATCH, DELETE; the secret masked; clear 400s', async () => {
  const srv = await startServer();
  try {
    const ch = await makeChannel(srv, { name: 'ops hook', channel_type: 'webhook',
      config: { url: 'http://127.0.0.1:9/hook', secret: 'a-long-signing-secret' } });
    assert.match(ch.id, /^nch_[0-9a-f]{32}$/);
    assert.equal(ch.config.secret, '********cret');
    assert.equal(ch.enabled, true);
    const list = await srv.req('GET', '/v1/notification-channels?limit=10');
    assert.equal(list.status, 200);
    assert.equal(list.body.notification_channels.length, 1);
    assert.equal(list.body.notification_channels[0].config.secret, '********cret');
    // the masked secret sent back keeps the stored one
    let r = await srv.req('PATCH', `/v1/notification-channels/${ch.id}`, { name: 'renamed', config: { secret: ch.config.secret } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'renamed');
    assert.equal(r.body.config.secret, '********cret');
    r = await srv.req('PATCH', `/v1/notification-channels/${ch.id}`, { channel_type: 'email', config: { to: ['ops@example.com'] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.config, { to: ['ops@example.com'] });
    assert.equal((await srv.req('GET', `/v1/notification-channels/${ch.id}`)).body.channel_type, 'email');

    const bad = [
      [{ name: 'x', channel_type: 'pager', config: {} }, 'channel_type'],
      [{ name: 'x', channel_type: 'slack', config: {} }, 'config.url'],
      [{ name: 'x', channel_type: 'slack', config: { url: 'ftp://example.com/' } }, 'config.url'],
      [{ name: 'x', channel_type: 'email', config: { to: ['not an address'] } }, 'config.to[0]'],
      [{ name: 'x', channel_type: 'email', config: { to: [] } }, 'config.to'],
      [{ name: 'x', channel_type: 'discord', config: { url: 'https://example.com/', colour: 1 } }, 'config.colour'],
      [{ channel_type: 'discord', config: { url: 'https://example.com/' } }, 'name'],
      [{ id: 'nch_x', name: 'x', channel_type: 'slack', config: { url: 'https://example.com/' } }, 'id'],
    ];
    for (const [body, field] of bad) {
      r = await srv.req('POST', '/v1/notification-channels', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.field, field, JSON.stringify(body));
    }
    assert.equal((await srv.req('DELETE', `/v1/notification-channels/${ch.id}`)).status, 200);
    assert.equal((await srv.req('GET', `/v1/notification-channels/${ch.id}`)).status, 404);
    assert.equal((await srv.req('DELETE', `/v1/notification-channels/${ch.id}`)).status, 404);
  } finally {
    await stopClean(srv);
  }
});

test('POST .../test: a signed webhook, Slack text, Discord content, an e-mail; the SSRF guard applies', async () => {
  const smtp = await startSmtp();
  const srv = await startServer({ args: ['--smtp-url', `smtp://127.0.0.1:${smtp.port}`, '--smtp-from', 'alerts@hookstream.test'] });
  const rx = await startReceiver(() => ({ status: 204 }));
  try {
    const secret = 'whsec-test-secret-value';
    const hook = await makeChannel(srv, { name: 'hook', channel_type: 'webhook', config: { url: rx.url, secret } });
    let r = await srv.req('POST', `/v1/notification-channels/${hook.id}/test`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.status, 204);
    const req = rx.requests[0];
    assert.equal(req.headers['content-type'], 'application/json');
    const expected = 'sha256=' + createHmac('sha256', secret).update(req.body).digest('hex');
    assert.equal(req.headers['x-hookstream-signature'], expected);
    assert.equal(JSON.parse(req.body).type, 'test');

    const slack = await makeChannel(srv, { name: 'slack', channel_type: 'slack', config: { url: rx.url + '/slack' } });
    r = await srv.req('POST', `/v1/notification-channels/${slack.id}/test`);
    assert.equal(r.body.ok, true);
    const s = rx.requests[1];
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(typeof JSON.parse(s.body).text, 'string');
    assert.ok(JSON.parse(s.body).text.length > 0);

    const discord = await makeChannel(srv, { name: 'discord', channel_type: 'discord', config: { url: rx.url + '/discord' } });
    r = await srv.req('POST', `/v1/notification-channels/${discord.id}/test`);
    assert.equal(r.body.ok, true);
    const d = rx.requests[2];
    assert.equal(d.headers['content-type'], 'application/json');
    const content = JSON.parse(d.body).content;
    assert.equal(typeof content, 'string');
    assert.ok(content.length > 0 && [...content].length <= 2000);

    const mail = await makeChannel(srv, { name: 'mail', channel_type: 'email', config: { to: ['oncall@example.com', 'ops@example.com'] } });
    // two at once: e-mails go one at a time, both arrive
    const [m1, m2] = await Promise.all([1, 2].map(() => srv.req('POST', `/v1/notification-channels/${mail.id}/test`)));
    assert.equal(m1.body.ok, true, m1.text);
    assert.equal(m2.body.ok, true, m2.text);
    assert.equal(m1.body.status, 250);
    assert.equal(smtp.messages.length, 2);
    const m = smtp.messages[0];
    assert.equal(m.from, 'alerts@hookstream.test');
    assert.deepEqual(m.to, ['oncall@example.com', 'ops@example.com']);
    assert.match(m.text, /^To: oncall@example\.com, ops@example\.com\r$/m);
    assert.match(m.text, /^Subject: \[hookstream\] Test notification\r$/m);
    assert.match(m.text, /This is a test notification from hookstream/);

    // a channel that fails answers so
    rx.behave = () => ({ status: 500 });
    r = await srv.req('POST', `/v1/notification-channels/${hook.id}/test`);
    assert.equal(r.body.ok, false);
    assert.equal(r.body.status, 500);
    assert.match(r.body.error, /500/);
    assert.equal((await srv.req('POST', `/v1/notification-channels/nch_${'0'.repeat(32)}/test`)).status, 404);
  } finally {
    rx.close();
    await smtp.close();
    await stopClean(srv);
  }

  // with the guard on (no --allow-private-destinations), 127.0.0.1 is refused
  const guarded = await startServer({ guard: true });
  const rx2 = await startReceiver();
  try {
    const hook = await makeChannel(guarded, { name: 'local', channel_type: 'webhook', config: { url: rx2.url } });
    const r = await guarded.req('POST', `/v1/notification-channels/${hook.id}/test`);
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
    assert.match(r.body.error, /refused|loopback/);
    assert.equal(rx2.requests.length, 0);
  } finally {
    rx2.close();
    await stopClean(guarded);
  }
});

test('alert rules: create, list, get, PATCH, DELETE; rule_config checked per type', async () => {
  const srv = await startServer();
  try {
    const ch = await makeChannel(srv, { name: 'hook', channel_type: 'slack', config: { url: 'https://hooks.example.com/x' } });
    const r1 = await makeAlertRule(srv, { name: 'failures', rule_type: 'failure_rate', rule_config: { threshold: 25 }, channel_ids: [ch.id] });
    assert.match(r1.id, /^alr_[0-9a-f]{32}$/);
    assert.deepEqual(r1.rule_config, { threshold: 25, window_minutes: 5, min_attempts: 10 });
    assert.equal(r1.cooldown_minutes, 60);
    assert.equal(r1.enabled, true);
    assert.equal(r1.state, 'ok');
    assert.equal(r1.last_fired_at, null);
    let r = await srv.req('PATCH', `/v1/alert-rules/${r1.id}`, { rule_type: 'latency', rule_config: { threshold: 800, statistic: 'avg' }, enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.rule_config, { threshold: 800, window_minutes: 5, statistic: 'avg', min_attempts: 1 });
    assert.equal(r.body.enabled, false);
    assert.equal((await srv.req('GET', '/v1/alert-rules')).body.alert_rules.length, 1);

    const bad = [
      [{ rule_type: 'failure_rate', rule_config: {} }, 'rule_config.threshold'],
      [{ rule_type: 'failure_rate', rule_config: { threshold: 150 } }, 'rule_config.threshold'],
      [{ rule_type: 'failure_rate', rule_config: { threshold: 'high' } }, 'rule_config.threshold'],
      [{ rule_type: 'dlq', rule_config: { window_minutes: 0 } }, 'rule_config.window_minutes'],
      [{ rule_type: 'volume_drop', rule_config: {} }, 'rule_config'],
      [{ rule_type: 'latency', rule_config: { threshold: 5, statistic: 'p50' } }, 'rule_config.statistic'],
      [{ rule_type: 'issue_opened', rule_config: { threshold: 1 } }, 'rule_config.threshold'],
      [{ rule_type: 'weather', rule_config: {} }, 'rule_type'],
      [{ rule_type: 'dlq', channel_ids: [] }, 'channel_ids'],
      [{ rule_type: 'dlq', channel_ids: [`nch_${'0'.repeat(32)}`] }, 'channel_ids[0]'],
      [{ rule_type: 'dlq', destination_id: `dst_${'0'.repeat(32)}` }, 'destination_id'],
      [{ rule_type: 'dlq', cooldown_minutes: -1 }, 'cooldown_minutes'],
      [{ rule_type: 'dlq', channel_ids: [ch.id, ch.id] }, 'channel_ids'],
    ];
    for (const [extra, field] of bad) {
      r = await srv.req('POST', '/v1/alert-rules', { name: 'bad', channel_ids: [ch.id], ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra) + ' ' + r.text);
      assert.equal(r.body.field, field, JSON.stringify(extra));
    }
    assert.equal((await srv.req('DELETE', `/v1/alert-rules/${r1.id}`)).status, 200);
    assert.equal((await srv.req('GET', `/v1/alert-rules/${r1.id}`)).status, 404);
  } finally {
    await stopClean(srv);
  }
});

test('dlq and failure_rate rules fire once within their cooldown and send a resolved notice once clear; issue_opened fires at once', async () => {
  const srv = await startServer({ args: ['--alert-interval', '1'] });
  const dest = await startReceiver(() => ({ status: 500 }));
  const hook = await startReceiver(() => ({ status: 200 }));
  try {
    const src = await makeSource(srv);
    const dst = await makeDestination(srv, { config: { url: dest.url }, retry_policy: { max_retries: 0 } });
    await makeConnection(srv, src.id, dst.id);
    const ch = await makeChannel(srv, { name: 'hook', channel_type: 'webhook', config: { url: hook.url } });
    const opened = await makeAlertRule(srv, { name: 'opened', rule_type: 'issue_opened', destination_id: dst.id, channel_ids: [ch.id] });
    const dlq = await makeAlertRule(srv, { name: 'dead letters', rule_type: 'dlq', destination_id: dst.id,
      rule_config: { threshold: 2, window_minutes: 0.05 }, channel_ids: [ch.id] });
    const rate = await makeAlertRule(srv, { name: 'failing', rule_type: 'failure_rate',
      rule_config: { threshold: 50, window_minutes: 0.05, min_attempts: 2 }, channel_ids: [ch.id] });

    const t0 = Date.now();
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    const [issueNote] = await until(() => { const n = ofType(hook, 'issue.opened'); return n.length ? n : null; }, 5000, 'issue.opened');
    assert.ok(Date.now() - t0 < 900, 'issue_opened fires at once, not at the next evaluation');
    assert.equal(issueNote.data.rule.id, opened.id);
    assert.equal(issueNote.data.issue.destination_id, dst.id);
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });

    const firing = await until(() => (ofType(hook, 'alert.firing').length >= 2 ? ofType(hook, 'alert.firing') : null),
      6000, 'both rules firing');
    assert.deepEqual(firing.map((b) => b.data.rule.id).sort(), [dlq.id, rate.id].sort());
    assert.equal(firing.find((b) => b.data.rule.id === dlq.id).data.value, 2);
    assert.equal((await srv.req('GET', `/v1/alert-rules/${dlq.id}`)).body.state, 'firing');
    // more failures within the cooldown: no second firing
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    const resolved = await until(() => (ofType(hook, 'alert.resolved').length >= 2 ? ofType(hook, 'alert.resolved') : null),
      15000, 'both rules resolved once their window is clear');
    assert.deepEqual(resolved.map((b) => b.data.rule.id).sort(), [dlq.id, rate.id].sort());
    await sleep(2200);
    assert.equal(ofType(hook, 'alert.firing').length, 2, 'one firing per rule within the cooldown');
    assert.equal(ofType(hook, 'alert.resolved').length, 2, 'one resolved notice per rule');
    assert.equal(ofType(hook, 'issue.opened').length, 1, 'the issue opened once');
    const got = (await srv.req('GET', `/v1/alert-rules/${dlq.id}`)).body;
    assert.equal(got.state, 'ok');
    assert.ok(got.last_fired_at);
  } finally {
    dest.close();
    hook.close();
    await stopClean(srv);
  }
});

test('latency and volume_drop rules fire and resolve', async () => {
  const srv = await startServer({ args: ['--alert-interval', '1'] });
  let delay = 400;
  const dest = await startReceiver(() => ({ delayMs: delay }));
  const hook = await startReceiver(() => ({ status: 200 }));
  try {
    const src = await makeSource(srv);
    const quiet = await makeSource(srv);
    const dst = await makeDestination(srv, { config: { url: dest.url } });
    await makeConnection(srv, src.id, dst.id);
    const ch = await makeChannel(srv, { name: 'hook', channel_type: 'webhook', config: { url: hook.url } });
    const slow = await makeAlertRule(srv, { name: 'slow', rule_type: 'latency', destination_id: dst.id,
      rule_config: { threshold: 300, window_minutes: 0.05, statistic: 'p95' }, channel_ids: [ch.id] });
    // no event at all from the quiet source: below its minimum at once
    const silent = await makeAlertRule(srv, { name: 'silent', rule_type: 'volume_drop', source_id: quiet.id,
      rule_config: { threshold: 1, window_minutes: 0.05 }, channel_ids: [ch.id] });
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    const fired = (id) => ofType(hook, 'alert.firing').find((b) => b.data.rule.id === id);
    const cleared = (id) => ofType(hook, 'alert.resolved').find((b) => b.data.rule.id === id);
    const f1 = await until(() => fired(slow.id), 8000, 'the latency rule firing');
    assert.ok(f1.data.value >= 300, JSON.stringify(f1.data));
    await until(() => fired(silent.id), 8000, 'the volume_drop rule firing');
    delay = 0;
    await fetch(`${srv.url}/v1/ingest/${quiet.id}`, { method: 'POST', body: '{}' });
    await until(() => cleared(silent.id), 8000, 'the volume_drop rule resolved by an event');
    await until(() => cleared(slow.id), 10000, 'the latency rule resolved once the slow attempt left its window');
    assert.equal(ofType(hook, 'alert.firing').length, 2);
  } finally {
    dest.close();
    hook.close();
    await stopClean(srv);
  }
});

test('a failing channel is tried again with backoff while deliveries keep flowing', async () => {
  const srv = await startServer();
  const dead = await startReceiver(() => ({ status: 500 }));
  const healthy = await startReceiver(() => ({ status: 200 }));
  // the channel hangs 3 s then fails the first time, then takes it
  const hook = await startReceiver((q, n) => (n === 1 ? { delayMs: 3000, status: 500 } : { status: 200 }));
  try {
    const ch = await makeChannel(srv, { name: 'slow', channel_type: 'discord', config: { url: hook.url } });
    await makeAlertRule(srv, { name: 'opened', rule_type: 'issue_opened', channel_ids: [ch.id] });
    const src = await makeSource(srv);
    const bad = await makeDestination(srv, { config: { url: dead.url }, retry_policy: { max_retries: 0 } });
    await makeConnection(srv, src.id, bad.id);
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    await hook.waitFor(1, 5000);
    // while the notification hangs, another destination is delivered to
    const src2 = await makeSource(srv);
    const good = await makeDestination(srv, { config: { url: healthy.url } });
    await makeConnection(srv, src2.id, good.id);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await fetch(`${srv.url}/v1/ingest/${src2.id}`, { method: 'POST', body: `{"i":${i}}` });
    await healthy.waitFor(5, 2500);
    assert.ok(Date.now() - t0 < 2500, 'deliveries did not wait for the notification');
    assert.equal(hook.requests.length, 1, 'the first try is still out');
    await hook.waitFor(2, 8000);
    const [first, second] = hook.requests;
    assert.ok(second.at - first.at >= 3000 + 900, 'tried again after its backoff');
    assert.equal(JSON.parse(second.body).content, JSON.parse(first.body).content, 'the same notification');
  } finally {
    dead.close();
    healthy.close();
    hook.close();
    await stopClean(srv);
  }
});

test('a server stopped with notifications out and waiting for a retry exits cleanly, at once', async () => {
  const srv = await startServer({ args: ['--shutdown-timeout', '1000'] });
  const hang = await startReceiver(() => ({ hang: true }));
  const fail = await startReceiver(() => ({ status: 500 }));
  try {
    const slow = await makeChannel(srv, { name: 'hangs', channel_type: 'webhook', config: { url: hang.url } });
    const bad = await makeChannel(srv, { name: 'fails', channel_type: 'slack', config: { url: fail.url } });
    await makeAlertRule(srv, { name: 'opened', rule_type: 'issue_opened', channel_ids: [slow.id, bad.id] });
    const src = await makeSource(srv);
    const dst = await makeDestination(srv, { config: { url: fail.url }, retry_policy: { max_retries: 0 } });
    await makeConnection(srv, src.id, dst.id);
    await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    await hang.waitFor(1);
    await fail.waitFor(2); // the delivery, then the notification (its retry waits)
    const test = srv.req('POST', `/v1/notification-channels/${slow.id}/test`).catch(() => null);
    await hang.waitFor(2);
    const t0 = Date.now();
    await stopClean(srv);
    assert.ok(Date.now() - t0 < 5000, 'the stop waits for no notification');
    await test;
  } finally {
    hang.close();
    fail.close();
  }
});

// Several nodes (docs/cluster.md): every node evaluates the rules, the
// store's conditional UPDATE lets one send each firing and each resolution.
const PG = process.env.HOOKSTREAM_TEST_PG;
test('two nodes on one PostgreSQL: a rule fires once and resolves once, one issue', { skip: !PG && 'no PostgreSQL (tests/run.sh starts one)' }, async () => {
  const db = `${PG}/hs_alerts_${process.pid}`;
  const args = ['--alert-interval', '1', '--lease-ms', '3000'];
  const a = await startServer({ db, args: [...args, '--node-id', 'node-a'] });
  const b = await startServer({ db, args: [...args, '--node-id', 'node-b'] });
  const dest = await startReceiver(() => ({ status: 500 }));
  const hook = await startReceiver(() => ({ status: 200 }));
  try {
    const src = await makeSource(a);
    const dst = await makeDestination(a, { config: { url: dest.url }, retry_policy: { max_retries: 0 } });
    await makeConnection(a, src.id, dst.id);
    const ch = await makeChannel(a, { name: 'hook', channel_type: 'webhook', config: { url: hook.url } });
    const r = await makeAlertRule(b, { name: 'dead letters', rule_type: 'dlq', rule_config: { threshold: 1, window_minutes: 0.05 }, channel_ids: [ch.id] });
    for (let i = 0; i < 3; i++) await fetch(`${b.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}' });
    await until(() => ofType(hook, 'alert.resolved').length, 20000, 'fired, then resolved');
    await sleep(2500);
    assert.equal(ofType(hook, 'alert.firing').length, 1, 'fired once across both nodes');
    assert.equal(ofType(hook, 'alert.resolved').length, 1, 'resolved once');
    assert.equal(ofType(hook, 'alert.firing')[0].data.rule.id, r.id);
    const issues = (await b.req('GET', `/v1/issues?destination_id=${dst.id}`)).body.issues;
    assert.equal(issues.length, 1);
    assert.equal(issues[0].count, 3);
  } finally {
    dest.close();
    hook.close();
    await stopClean(b);
    await stopClean(a);
  }
});
