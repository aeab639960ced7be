// Secrets at rest: every stored secret is AES-256-GCM encrypted under the
// server key (docs/architecture.md, "Secrets at rest"). Nothing secret may
// be found in clear (or in base64) in the database files or the logs, the
// key file is 0600, a wrong or missing key refuses to start, clear secrets
// of an older database are encrypted at start, and rotate-key re-encrypts
// under a new key that the next start uses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BIN, startServer, tempDir, makeSource, eventSettled } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';
import { serviceAccount } from './lib/gcp_peer.mjs';

const run = (args, env = {}) => spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20000 });

const SA = serviceAccount('hook@proj-1.iam.gserviceaccount.com', 'proj-1').keyFile;
// one line of the PEM body: distinctive, and stored without escapes
const SA_MARK = SA.private_key.split('\n')[5];

const S = {
  bearer: 'S3cr3t-bearer-token-A1xyz',
  signing: 'S3cr3t-signing-secret-B2xyz',
  basic: 'S3cr3t-basic-password-C3xyz',
  apiKey: 'S3cr3t-api-key-value-D4xyz',
  custom: 'S3cr3t-custom-auth-hdr-E5xyz',
  hdrAuth: 'S3cr3t-hdr-authorization-F6xyz',
  hdrCustom: 'S3cr3t-hdr-listed-custom-G7xyz',
  awsSecret: 'S3cr3tAwsSecretAccessKeyH8xyz',
  awsSession: 'S3cr3tAwsSessionTokenI9xyz',
  gcp: SA_MARK,
  kafka: 'S3cr3t-kafka-api-secret-K11xyz',
  rabbit: 'S3cr3t-rabbit-password-L12xyz',
  pagerduty: 'S3cr3tPagerDutyRoutingKeyM13xyz',
  datadog: 'S3cr3tDatadogApiKeyN14xyz',
  channel: 'S3cr3t-notify-channel-O15xyz',
};
const AWS = { region: 'us-east-1', access_key_id: 'AKIDEXAMPLE', secret_access_key: S.awsSecret, session_token: S.awsSession };

function destinations(url) {
  return [
    { name: 'http-main', config: { url, auth: { type: 'bearer', token: S.bearer } }, signing: { secret: S.signing } },
    { name: 'http-basic', config: { url, auth: { type: 'basic', username: 'u', password: S.basic } } },
    { name: 'http-key', config: { url, auth: { type: 'api_key', key: S.apiKey } } },
    { name: 'http-custom', config: { url, auth: { type: 'custom', headers: { 'X-Sig': S.custom } } } },
    { name: 'http-hdrs', config: { url, headers: { Authorization: S.hdrAuth, 'X-Custom': S.hdrCustom }, secret_headers: ['X-Custom'] } },
    { name: 'sqs', type: 'aws_sqs', config: { queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/q', ...AWS } },
    { name: 's3', type: 'aws_s3', config: { bucket: 'my-events', ...AWS } },
    { name: 'eb', type: 'aws_eventbridge', config: { event_bus_arn: 'default', ...AWS } },
    { name: 'gcp', type: 'gcp_pubsub', config: { project_id: 'proj-1', topic_id: 'events', service_account_json: SA } },
    { name: 'kafka', type: 'kafka', config: { rest_url: 'https://kafka.example.com', cluster_id: 'lkc-1', topic: 'events', api_key: 'KEY', api_secret: S.kafka } },
    { name: 'rabbit', type: 'rabbitmq', config: { url: 'http://127.0.0.1:15672', exchange: 'events', username: 'guest', password: S.rabbit } },
    { name: 'pd', template: 'pagerduty', template_inputs: { routing_key: S.pagerduty } },
    { name: 'dd', template: 'datadog', template_inputs: { api_key: S.datadog } },
  ];
}

// every secret, raw and base64, must be absent from the database files
// (db, -wal, -shm, whichever exist) and from the server's stderr
function assertNoSecrets(db, stderr, extra = []) {
  const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => existsSync(f));
  assert.ok(files.length >= 1);
  const hay = files.map((f) => [f, readFileSync(f)]).concat([['stderr', Buffer.from(stderr)]]);
  for (const value of [...Object.values(S), ...extra]) {
    for (const needle of [value, Buffer.from(value).toString('base64')]) {
      for (const [name, buf] of hay) assert.ok(!buf.includes(needle), `${value} found in ${name}`);
    }
  }
}

function sign(secret, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

const receiver = await startReceiver();
after(() => receiver.close && receiver.close());
const dir = tempDir();
const db = path.join(dir, 'hookstream.db');
const keyFile = `${db}.key`;
let httpMain; // the delivering destination's id
let source;
let channel; // a webhook notification channel with a secret

// The channel's test notification reaches the receiver signed with S.channel.
async function channelSigns(srv) {
  const before = receiver.requests.length;
  const r = await srv.req('POST', `/v1/notification-channels/${channel}/test`);
  assert.equal(r.body?.ok, true, r.text);
  const req = receiver.requests[before];
  assert.equal(req.headers['x-hookstream-signature'], sign(S.channel, req.body));
}

// ingest one event through http-main and check what the receiver got
async function deliverAndCheck(srv, signing = S.signing, token = S.bearer) {
  const before = receiver.requests.length;
  const body = JSON.stringify({ n: Math.random() });
  const r = await fetch(`${srv.url}/v1/ingest/${source}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200);
  const { event_id: ev } = await r.json();
  await eventSettled(srv, ev);
  await until(() => receiver.requests.length > before, 5000, 'delivery');
  const got = receiver.requests[receiver.requests.length - 1];
  assert.equal(got.body.toString(), body);
  assert.equal(got.headers.authorization, `Bearer ${token}`);
  assert.equal(got.headers['x-hookstream-signature'], sign(signing, got.body));
}

test('every secret is encrypted in the database, the WAL and the logs; deliveries still sign', async () => {
  const srv = await startServer({ dir, db, logLevel: 'debug' });
  try {
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'key file mode');
    assert.match(readFileSync(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/);
    for (const d of destinations(receiver.url)) {
      const r = await srv.req('POST', '/v1/destinations', d);
      assert.equal(r.status, 201, `${d.name}: ${r.text}`);
      if (d.name === 'http-main') httpMain = r.body.id;
    }
    // masked on read, with the clear value's tail: decryption works on reads
    const g = await srv.req('GET', `/v1/destinations/${httpMain}`);
    assert.equal(g.body.config.auth.token, '********' + S.bearer.slice(-4));
    assert.equal(g.body.signing.secret, '********' + S.signing.slice(-4));
    source = (await makeSource(srv)).id;
    const c = await srv.req('POST', '/v1/connections', { source_id: source, destination_id: httpMain });
    assert.equal(c.status, 201, c.text);
    // a PATCH goes through the writer's merge: still encrypted, still works
    const p = await srv.req('PATCH', `/v1/destinations/${httpMain}`, { description: 'patched' });
    assert.equal(p.status, 200, p.text);
    await deliverAndCheck(srv);
    // a notification channel's secret: masked on read, sealed at rest, signing
    const ch = await srv.req('POST', '/v1/notification-channels', { name: 'n', channel_type: 'webhook', config: { url: receiver.url, secret: S.channel } });
    assert.equal(ch.status, 201, ch.text);
    assert.equal(ch.body.config.secret, '********' + S.channel.slice(-4));
    channel = ch.body.id;
    await channelSigns(srv);
    assertNoSecrets(db, srv.stderr); // while running: the WAL holds the writes
    assert.ok(readFileSync(db).includes('hsenc:v1:') || readFileSync(`${db}-wal`).includes('hsenc:v1:'));
  } finally {
    await srv.stop();
  }
  assertNoSecrets(db, srv.stderr);
});

test('a restart with the key works; a wrong or missing key refuses to start', async () => {
  const srv = await startServer({ dir, db });
  try {
    await deliverAndCheck(srv);
  } finally {
    await srv.stop();
  }
  const wrong = path.join(dir, 'wrong.key');
  writeFileSync(wrong, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  for (const [args, env] of [
    [['--secret-key-file', wrong], {}],
    [[], { HOOKSTREAM_SECRET_KEY: crypto.randomBytes(32).toString('base64') }],
  ]) {
    const r = run(['serve', '--listen', '127.0.0.1:0', '--db', db, '--api-key', 'k'.repeat(20), ...args], env);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /does not open the secrets stored in/);
    assert.doesNotMatch(r.stdout, /listening/);
  }
  // no key file for a database with encrypted secrets: refused, none created
  renameSync(keyFile, `${keyFile}.away`);
  const r = run(['serve', '--listen', '127.0.0.1:0', '--db', db, '--api-key', 'k'.repeat(20)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /holds encrypted secrets but the key file .* does not exist/);
  assert.ok(!existsSync(keyFile), 'no new key was made');
  renameSync(`${keyFile}.away`, keyFile);
  // a key file others can read is refused
  writeFileSync(wrong, readFileSync(keyFile));
  chmodSync(wrong, 0o644);
  const loose = run(['serve', '--listen', '127.0.0.1:0', '--db', db, '--secret-key-file', wrong, '--api-key', 'k'.repeat(20)]);
  assert.equal(loose.status, 1);
  assert.match(loose.stderr, /chmod 600/);
});

test('rotate-key re-encrypts under a new key that the next start uses', async () => {
  const before = readFileSync(keyFile, 'utf8');
  const r = run(['secrets', 'rotate-key', '--db', db]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /re-encrypted the secrets of \d+ resources under key [0-9a-f]{8}/);
  const now = readFileSync(keyFile, 'utf8');
  assert.notEqual(now, before);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.ok(!existsSync(`${keyFile}.new`));
  // the old key no longer opens them
  const old = path.join(dir, 'old.key');
  writeFileSync(old, before, { mode: 0o600 });
  const o = run(['serve', '--listen', '127.0.0.1:0', '--db', db, '--secret-key-file', old, '--api-key', 'k'.repeat(20)]);
  assert.equal(o.status, 1);
  const srv = await startServer({ dir, db });
  try {
    await deliverAndCheck(srv);
    await channelSigns(srv); // re-sealed with the resources
  } finally {
    await srv.stop();
  }
  assertNoSecrets(db, srv.stderr);
  // rotating into a key file of one's own choosing
  const mine = path.join(dir, 'mine.key');
  const m = run(['secrets', 'rotate-key', '--db', db, '--new-key-file', mine]);
  assert.equal(m.status, 0, m.stderr);
  assert.equal(readFileSync(keyFile, 'utf8'), readFileSync(mine, 'utf8'));
});

test('a rotation that committed but did not swap the key file is completed by the next start', async () => {
  // KEYFILE.new holds the key the database is sealed under: as after a crash
  // between the commit and the rename
  const cur = readFileSync(keyFile, 'utf8');
  const mine = path.join(dir, 'next.key');
  writeFileSync(mine, cur, { mode: 0o600 });
  writeFileSync(keyFile, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  renameSync(mine, `${keyFile}.new`);
  const srv = await startServer({ dir, db });
  try {
    assert.equal(readFileSync(keyFile, 'utf8'), cur);
    assert.ok(!existsSync(`${keyFile}.new`));
    await deliverAndCheck(srv);
  } finally {
    await srv.stop();
  }
});

test('secrets stored in clear by an older version are encrypted at start, and no clear copy stays', async () => {
  const clear = { signing: 'Cl34r-old-signing-secret-P15xyz', token: 'Cl34r-old-bearer-token-Q16xyz' };
  // what an older hookstream wrote: the doc with its secrets in clear
  const q = spawnSync('sqlite3', [db, `UPDATE destinations SET doc = json_set(doc, '$.signing.secret', '${clear.signing}', `
    + `'$.config.auth.token', '${clear.token}') WHERE id = '${httpMain}'`], { encoding: 'utf8' });
  assert.equal(q.status, 0, q.stderr);
  assert.ok(readFileSync(db).includes(clear.signing) || readFileSync(`${db}-wal`).includes(clear.signing));
  const srv = await startServer({ dir, db, logLevel: 'info' });
  try {
    assert.match(srv.stderr, /encrypted 2 secrets that were stored in clear/);
    await deliverAndCheck(srv, clear.signing, clear.token);
    assertNoSecrets(db, srv.stderr, Object.values(clear));
  } finally {
    await srv.stop();
  }
  assertNoSecrets(db, srv.stderr, Object.values(clear));
  srv.cleanup();
});

test('serve --help lists the key options; rotate-key has its own help', () => {
  const h = run(['serve', '--help']);
  for (const s of ['--secret-key-file', 'HOOKSTREAM_SECRET_KEY_FILE', 'HOOKSTREAM_SECRET_KEY']) assert.ok(h.stdout.includes(s), s);
  const r = run(['secrets', 'rotate-key', '--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--new-key-file/);
  const bad = run(['secrets', 'rotate-key', '--db', path.join(tempDir(), 'none.db')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /no database at/);
});
