// gcp_pubsub through the real binary: a service account's RS256 JWT is traded
// for an access token at tests/peers/gcp-fake.mjs, which verifies the JWT
// signature with the account's public key and requires the Bearer token on
// topics.publish. What arrives is read back and compared with what was
// ingested; token requests are counted to prove the cache and the refreshes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeConnection, makeDestination, eventSettled, circuitIn } from './lib/server.mjs';
import { sleep } from './lib/receiver.mjs';
import { serviceAccount, startGcpFake } from './lib/gcp_peer.mjs';

const T = { timeout: 60000 };
const PROJECT = 'hook-project-1';
const TOPIC = `projects/${PROJECT}/topics/orders`;
const SCOPE = 'https://www.googleapis.com/auth/pubsub';

// One account per test that counts tokens: the cache is keyed by account,
// so tests do not share tokens.
const accounts = Object.fromEntries(['main', 'many', 'short', 'revoke', 'again', 'wrong', 'errors', 'circuit']
  .map((n) => [n, serviceAccount(`${n}-sa@${PROJECT}.iam.gserviceaccount.com`, PROJECT)]));
// the same account with another private key than the one Google knows
const impostor = serviceAccount(accounts.wrong.keyFile.client_email, PROJECT);

let srv, fake, shortFake;
before(async () => {
  const pub = Object.fromEntries(Object.values(accounts).map((a) => [a.keyFile.client_email, a.publicKey]));
  [srv, fake, shortFake] = await Promise.all([
    startServer({ args: ['--allow-private-destinations'] }),
    startGcpFake({ accounts: pub, topics: [TOPIC, `projects/${PROJECT}/topics/a+b%c`] }),
    startGcpFake({ accounts: pub, topics: [TOPIC], tokenTtlS: 2 }),
  ]);
});
after(async () => {
  await srv?.stop();
  srv?.cleanup();
  await fake?.stop();
  await shortFake?.stop();
  // under ASan/UBSan (HOOKSTREAM_ASAN=1) a report at exit is a failure
  assert.doesNotMatch(srv?.stderr ?? '', /AddressSanitizer|LeakSanitizer|runtime error/);
});

function config(acct, peer = fake, over = {}) {
  return {
    project_id: PROJECT, topic_id: 'orders', service_account_json: JSON.stringify(acct.keyFile),
    token_url: peer.tokenUrl, endpoint: peer.endpoint, timeout_ms: 5000, ...over,
  };
}

const destination = (cfg, extra = {}) => makeDestination(srv, { type: 'gcp_pubsub', config: cfg, ...extra });

async function connect(dst) {
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id);
  return src.id;
}

async function ingest(sourceId, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${srv.url}/v1/ingest/${sourceId}`, { method: 'POST', headers, body });
  assert.equal(r.status, 200);
  return (await r.json()).event_id;
}

const settled = (eventId, status, ms = 20000) => eventSettled(srv, eventId, status, ms);

const messagesOf = async (peer, eventId) => (await peer.messages()).filter((m) => m.attributes.event_id === eventId);
const statsOf = (peer) => peer.stats();

test('publishes the exact body as base64 data with event_id and source_id; the key file is masked on read', T, async () => {
  const dst = await destination(config(accounts.main));
  const keyText = JSON.stringify(accounts.main.keyFile);
  assert.equal(dst.config.service_account_json, '********' + keyText.slice(-4));
  const got = (await srv.req('GET', `/v1/destinations/${dst.id}`)).body;
  assert.equal(got.config.service_account_json, '********' + keyText.slice(-4));
  assert.ok(!JSON.stringify(got).includes('PRIVATE KEY'));

  const sourceId = await connect(dst);
  const body = '{"order":42,"note":"caf\u00e9 \u2603"}';
  const eventId = await ingest(sourceId, body);
  const ev = await settled(eventId);
  assert.equal(ev.attempts.length, 1);
  const a = ev.attempts[0];
  assert.equal(a.status, 'success');
  assert.equal(a.request_method, 'POST');
  assert.equal(a.request_url, `${fake.endpoint}/v1/projects/${PROJECT}/topics/orders:publish`);
  assert.equal(a.request_headers.Authorization, '********');
  assert.match(a.response_body, /messageIds/);
  const [m] = await messagesOf(fake, eventId);
  assert.equal(m.topic, TOPIC);
  assert.equal(Buffer.from(m.data, 'base64').toString('utf8'), body);
  assert.deepEqual(m.attributes, { event_id: eventId, source_id: sourceId });

  // bytes that are not text arrive as they were
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]);
  const binId = await ingest(sourceId, bin, { 'content-type': 'application/octet-stream' });
  await settled(binId);
  const [mb] = await messagesOf(fake, binId);
  assert.deepEqual(Buffer.from(mb.data, 'base64'), bin);

  // a topic id with characters that must be escaped in the path
  const odd = await destination(config(accounts.main, fake, { topic_id: 'a+b%c' }));
  const oddId = await ingest(await connect(odd), '{"odd":true}');
  const oev = await settled(oddId);
  assert.equal(oev.attempts[0].request_url, `${fake.endpoint}/v1/projects/${PROJECT}/topics/a%2Bb%25c:publish`);
  assert.equal((await messagesOf(fake, oddId))[0].topic, `projects/${PROJECT}/topics/a+b%c`);
});

test('one token serves many deliveries; the JWT carries iss, scope, aud, iat, exp', T, async () => {
  const dst = await destination(config(accounts.many), { max_concurrency: 4 });
  const sourceId = await connect(dst);
  const before0 = await statsOf(fake);
  const ids = [];
  for (let i = 0; i < 12; i++) ids.push(await ingest(sourceId, JSON.stringify({ i })));
  for (const id of ids) await settled(id);
  const s = await statsOf(fake);
  assert.equal(s.tokens_issued - before0.tokens_issued, 1, 'one token for all 12 publishes');
  assert.equal(s.token_requests - before0.token_requests, 1, 'concurrent builds did not each fetch');
  assert.equal(s.publish_requests - before0.publish_requests, 12);
  const msgs = (await fake.messages()).filter((m) => ids.includes(m.attributes.event_id));
  assert.equal(msgs.length, 12);
  assert.equal(new Set(msgs.map((m) => m.token)).size, 1);
  assert.deepEqual(msgs.map((m) => JSON.parse(Buffer.from(m.data, 'base64')).i).sort((x, y) => x - y), [...Array(12).keys()]);
  const c = s.last_claims;
  assert.equal(c.iss, accounts.many.keyFile.client_email);
  assert.equal(c.scope, SCOPE);
  assert.equal(c.aud, fake.tokenUrl);
  assert.equal(c.exp - c.iat, 3600);
  assert.ok(Math.abs(c.iat - Date.now() / 1000) < 60);
});

test('a token is refreshed when it nears expiry (2 s tokens)', T, async () => {
  const dst = await destination(config(accounts.short, shortFake));
  const sourceId = await connect(dst);
  const e1 = await ingest(sourceId, '{"n":1}');
  await settled(e1);
  const e2 = await ingest(sourceId, '{"n":2}');
  await settled(e2);
  const mid = await statsOf(shortFake);
  await sleep(2300); // past the first token's expiry
  const e3 = await ingest(sourceId, '{"n":3}');
  await settled(e3);
  const s = await statsOf(shortFake);
  assert.equal(s.tokens_issued - mid.tokens_issued, 1, 'a new token after expiry');
  assert.equal(s.publish_unauthenticated, 0, 'never sent an expired token');
  const [m1] = await messagesOf(shortFake, e1), [m2] = await messagesOf(shortFake, e2), [m3] = await messagesOf(shortFake, e3);
  assert.equal(m1.token, m2.token);
  assert.notEqual(m3.token, m1.token);
});

test('a revoked token: 401, the token is dropped, one refresh and resend; one attempt recorded', T, async () => {
  const dst = await destination(config(accounts.revoke));
  const sourceId = await connect(dst);
  await settled(await ingest(sourceId, '{"warm":1}'));
  await fake.revoke(); // every token hookstream holds is now refused
  const s0 = await statsOf(fake);
  const eventId = await ingest(sourceId, '{"after":"revoke"}');
  const ev = await settled(eventId);
  assert.equal(ev.attempts.length, 1, 'the 401 try is not recorded');
  assert.equal(ev.attempts[0].status, 'success');
  assert.equal(ev.attempts[0].attempt_number, 1);
  const s = await statsOf(fake);
  assert.equal(s.publish_unauthenticated - s0.publish_unauthenticated, 1);
  assert.equal(s.tokens_issued - s0.tokens_issued, 1, 'exactly one refresh');
  assert.equal(s.publish_requests - s0.publish_requests, 2);
  const msgs = await messagesOf(fake, eventId);
  assert.equal(msgs.length, 1);
  assert.equal(Buffer.from(msgs[0].data, 'base64').toString(), '{"after":"revoke"}');
});

test('a 401 that survives the fresh token is a recorded, retryable failure', T, async () => {
  const dst = await destination(config(accounts.again), { retry_policy: { max_retries: 2, backoff_type: 'fixed', intervals: [1] } });
  const sourceId = await connect(dst);
  await settled(await ingest(sourceId, '{"warm":1}'));
  const s0 = await statsOf(fake);
  await fake.fail('publish', 401, 2); // both the try and its resend are refused
  const eventId = await ingest(sourceId, '{"x":1}');
  const ev = await settled(eventId);
  assert.equal(ev.attempts.length, 2);
  const [a1, a2] = ev.attempts;
  assert.equal(a1.status, 'failed');
  assert.equal(a1.response_status, 401);
  assert.equal(a1.is_dlq, false);
  assert.match(a1.error, /^HTTP 401 UNAUTHENTICATED: .*\(token refreshed once\)$/);
  assert.equal(a2.status, 'success');
  const s = await statsOf(fake);
  assert.equal(s.publish_requests - s0.publish_requests, 3);
  assert.equal(s.tokens_issued - s0.tokens_issued, 2, 'one refresh for the resend, one for the retry');
});

test('a key the token endpoint does not accept: permanent, dead-lettered after one attempt with its error', T, async () => {
  const dst = await destination(config(impostor), { retry_policy: { max_retries: 5, intervals: [1] } });
  const eventId = await ingest(await connect(dst), '{"x":1}');
  const ev = await settled(eventId, 'failed');
  assert.equal(ev.attempts.length, 1, 'not retried');
  const a = ev.attempts[0];
  assert.equal(a.is_dlq, true);
  assert.match(a.error, /token endpoint answered HTTP 400 invalid_grant: Invalid JWT Signature\. \(not retried\)/);
  assert.equal((await messagesOf(fake, eventId)).length, 0);
  // the real account's key still works, with a token of its own
  const good = await destination(config(accounts.wrong));
  await settled(await ingest(await connect(good), '{"y":1}'));
});

test('a missing topic is permanent; 503 and a failing token endpoint are retried', T, async () => {
  const policy = { retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } };
  const missing = await destination(config(accounts.errors, fake, { topic_id: 'no-such-topic' }), policy);
  const m = await settled(await ingest(await connect(missing), '{"x":1}'), 'failed');
  assert.equal(m.attempts.length, 1);
  assert.equal(m.attempts[0].response_status, 404);
  assert.equal(m.attempts[0].is_dlq, true);
  assert.match(m.attempts[0].error, /^HTTP 404 NOT_FOUND: Resource not found \(resource=no-such-topic\)\. \(not retried\)$/);

  const dst = await destination(config(accounts.errors), policy);
  const sourceId = await connect(dst);
  await fake.fail('publish', 503, 2);
  const ev = await settled(await ingest(sourceId, '{"t":503}'));
  assert.equal(ev.attempts.length, 3);
  for (const a of ev.attempts.slice(0, 2)) {
    assert.equal(a.response_status, 503);
    assert.equal(a.is_dlq, false);
    assert.match(a.error, /^HTTP 503 UNAVAILABLE: injected failure$/);
  }
  assert.equal(ev.attempts[2].status, 'success');

  // the token endpoint failing: a fresh account has no token yet
  const fresh = serviceAccount(`fresh-sa@${PROJECT}.iam.gserviceaccount.com`, PROJECT);
  const alt = await startGcpFake({ accounts: { [fresh.keyFile.client_email]: fresh.publicKey }, topics: [TOPIC] });
  try {
    const d = await destination(config(fresh, alt), policy);
    await alt.fail('token', 503, 1);
    const tev = await settled(await ingest(await connect(d), '{"t":"token"}'));
    assert.equal(tev.attempts.length, 2);
    assert.match(tev.attempts[0].error, /^token endpoint answered HTTP 503 internal_failure: injected failure$/);
    assert.equal(tev.attempts[1].status, 'success');
    assert.equal((await alt.stats()).token_requests, 2);
  } finally {
    await alt.stop();
  }
});

test('the circuit breaker opens on consecutive Pub/Sub failures and closes on a successful probe', T, async () => {
  const dst = await destination(config(accounts.circuit), {
    retry_policy: { max_retries: 5, backoff_type: 'fixed', intervals: [1] },
    circuit_breaker: { enabled: true, threshold: 2, cooldown_ms: 1500 },
  });
  const sourceId = await connect(dst);
  await fake.fail('publish', 500, 2);
  const eventId = await ingest(sourceId, '{"c":1}');
  await circuitIn(srv, dst.id, 'open');
  const ev = await settled(eventId);
  assert.equal(ev.attempts.length, 3);
  assert.equal((await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body.state, 'closed');
});

test('validation: the key file must name the account and hold a PEM key', T, async () => {
  const bad = await srv.req('POST', '/v1/destinations', {
    name: 'bad', type: 'pubsub', config: { project_id: PROJECT, topic_id: 'orders', service_account_json: '{"client_email":"x@y"}' },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'config.service_account_json');
});
