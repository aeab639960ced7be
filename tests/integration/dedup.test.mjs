// Deduplication at the front door (docs/receiving.md "Deduplication"): a
// source's dedup_strategy names what makes two requests the same event
// (the body's bytes, a header, a field of the JSON body); a repeat within
// dedup_window_seconds is answered 200 with the first event's id and
// "duplicate": true, stored marked dedup_status "duplicate", and delivered
// nowhere. The window lives in the store: it holds across a restart (kill
// -9 included) and, on PostgreSQL, across nodes. Also here: schema_action
// "warn" (stored, delivered, verification_status "schema_invalid"), the
// events' verification_status and dedup_status filters, and the sources'
// read-only event_count, last_event_at and ingest_url.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, stopClean, makeSource, makeDestination, makeConnection, tempDir } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

let srv, rcv;
before(async () => {
  srv = await startServer();
  rcv = await startReceiver();
});
after(async () => {
  await stopClean(srv);
  await rcv.close();
});

async function ingest(s, ref, body, headers = {}) {
  const r = await fetch(`${s.url}/v1/ingest/${ref}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: r.status, body: await r.json() };
}

// A source with dedup settings, connected to the receiver under a path of its own.
async function routed(s, settings, tag = randomBytes(4).toString('hex')) {
  const src = await makeSource(s, { slug: `dd-${tag}`, ...settings });
  const dst = await makeDestination(s, { config: { url: `${rcv.url}/${tag}` } });
  await makeConnection(s, src.id, dst.id);
  return { src, tag, arrived: () => rcv.requests.filter((q) => q.url === `/hook/${tag}`) };
}

const events = async (s, query) => (await s.req('GET', `/v1/events?limit=100&${query}`)).body.events;

test('the dedup fields are validated at save and have defaults', async () => {
  const cases = [
    [{ dedup_strategy: 'hash' }, 'dedup_strategy', /payload_hash, header_field/],
    [{ dedup_enabled: true, dedup_strategy: 'header_field' }, 'dedup_field', /required when dedup_strategy is header_field/],
    [{ dedup_enabled: true, dedup_strategy: 'header_field', dedup_field: 'bad header' }, 'dedup_field', /header/],
    [{ dedup_enabled: true, dedup_strategy: 'body_field', dedup_field: 'data..id' }, 'dedup_field', /dot path/],
    [{ dedup_window_seconds: 0 }, 'dedup_window_seconds', /1/],
    [{ dedup_window_seconds: 604801 }, 'dedup_window_seconds', /604800/],
    [{ event_count: 1 }, 'event_count', /read-only/],
  ];
  for (const [extra, field, msg] of cases) {
    const r = await srv.req('POST', '/v1/sources', { name: 'bad', ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.body.field, field, r.text);
    assert.match(r.body.error, msg);
  }
  const s = await makeSource(srv);
  assert.equal(s.dedup_enabled, false);
  assert.equal(s.dedup_strategy, 'payload_hash');
  assert.equal(s.dedup_field, null);
  assert.equal(s.dedup_window_seconds, 300);
  assert.equal(s.event_count, 0);
  assert.equal(s.last_event_at, null);
  assert.equal(s.ingest_url, `${srv.url}/v1/ingest/${s.id}`);
});

test('payload_hash: a repeated body is answered with the first event and delivered once', async () => {
  const { src, arrived } = await routed(srv, { dedup_enabled: true });
  const first = await ingest(srv, src.slug, '{"order":1}');
  assert.equal(first.status, 200);
  assert.equal(first.body.duplicate, undefined);
  const again = await ingest(srv, src.slug, '{"order":1}');
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { event_id: first.body.event_id, source_id: src.id, duplicate: true });
  const other = await ingest(srv, src.slug, '{"order": 1}'); // other bytes: another event
  assert.equal(other.body.duplicate, undefined);
  await until(() => arrived().length === 2, 10000, 'two deliveries');
  await sleep(300);
  assert.deepEqual(arrived().map((q) => q.body.toString()), ['{"order":1}', '{"order": 1}']);
  // the duplicate is stored, marked, routed nowhere
  const dups = await events(srv, `source_id=${src.id}&dedup_status=duplicate`);
  assert.equal(dups.length, 1);
  assert.notEqual(dups[0].id, first.body.event_id);
  assert.equal(dups[0].status, 'received');
  const dup = (await srv.req('GET', `/v1/events/${dups[0].id}`)).body;
  assert.equal(dup.dedup_status, 'duplicate');
  assert.deepEqual(dup.deliveries, []);
  const metrics = (await srv.req('GET', '/metrics')).text;
  assert.match(metrics, new RegExp(`hookstream_ingest_duplicates_total\\{source_id="${src.id}"\\} 1\\n`));
  assert.match(metrics, new RegExp(`hookstream_events_ingested_total\\{source_id="${src.id}"\\} 3\\n`));
  const uniq = await events(srv, `source_id=${src.id}&dedup_status=unique`);
  assert.deepEqual(uniq.map((e) => e.id).sort(), [first.body.event_id, other.body.event_id].sort());
  const got = (await srv.req('GET', `/v1/sources/${src.id}`)).body;
  assert.equal(got.event_count, 3);
  assert.ok(Date.parse(got.last_event_at) >= Date.parse(dups[0].received_at));
  assert.equal(got.ingest_url, `${srv.url}/v1/ingest/${src.slug}`);
});

test('header_field and body_field: the key is the value; without it an event is never a duplicate', async () => {
  const h = await routed(srv, { dedup_enabled: true, dedup_strategy: 'header_field', dedup_field: 'X-Delivery-Id' });
  const a = await ingest(srv, h.src.slug, '{"n":1}', { 'x-delivery-id': 'abc' });
  const b = await ingest(srv, h.src.slug, '{"n":2}', { 'X-Delivery-ID': 'abc' }); // other body, same header
  const c = await ingest(srv, h.src.slug, '{"n":1}'); // no header
  const d = await ingest(srv, h.src.slug, '{"n":1}'); // no header again
  assert.equal(b.body.duplicate, true);
  assert.equal(b.body.event_id, a.body.event_id);
  assert.equal(c.body.duplicate, undefined);
  assert.equal(d.body.duplicate, undefined);

  const f = await routed(srv, { dedup_enabled: true, dedup_strategy: 'body_field', dedup_field: 'data.items.0.id' });
  const body = (id, extra) => JSON.stringify({ data: { items: [{ id }] }, extra });
  const x = await ingest(srv, f.src.slug, body('i-1', 1));
  const y = await ingest(srv, f.src.slug, body('i-1', 2));
  const z = await ingest(srv, f.src.slug, body(7, 3)); // a number: its JSON text
  const w = await ingest(srv, f.src.slug, body('7', 4)); // a string's characters: "7" meets 7
  const v = await ingest(srv, f.src.slug, 'not json');
  const u = await ingest(srv, f.src.slug, 'not json');
  assert.equal(y.body.duplicate, true);
  assert.equal(y.body.event_id, x.body.event_id);
  assert.equal(z.body.duplicate, undefined);
  assert.equal(w.body.duplicate, true, 'a string is keyed by its characters, a number by its JSON text: "7" and 7 meet');
  assert.equal(v.body.duplicate, undefined);
  assert.equal(u.body.duplicate, undefined);
  await until(() => h.arrived().length === 3 && f.arrived().length === 4, 10000, 'deliveries');
});

test('the window: a repeat after it is a new event', async () => {
  const { src, arrived } = await routed(srv, { dedup_enabled: true, dedup_window_seconds: 1 });
  const a = await ingest(srv, src.slug, 'same');
  assert.equal((await ingest(srv, src.slug, 'same')).body.duplicate, true);
  await sleep(1200);
  const b = await ingest(srv, src.slug, 'same');
  assert.equal(b.body.duplicate, undefined);
  assert.notEqual(b.body.event_id, a.body.event_id);
  assert.equal((await ingest(srv, src.slug, 'same')).body.event_id, b.body.event_id);
  await until(() => arrived().length === 2, 10000, 'two deliveries');
});

test('concurrent repeats: exactly one is the event, every other answer names it', async () => {
  const { src, arrived } = await routed(srv, { dedup_enabled: true });
  const body = JSON.stringify({ burst: randomBytes(8).toString('hex') });
  const answers = await Promise.all(Array.from({ length: 40 }, () => ingest(srv, src.slug, body)));
  assert.ok(answers.every((a) => a.status === 200));
  const firsts = answers.filter((a) => !a.body.duplicate);
  assert.equal(firsts.length, 1);
  assert.ok(answers.every((a) => a.body.event_id === firsts[0].body.event_id));
  await until(() => arrived().length === 1, 10000, 'one delivery');
  await sleep(300);
  assert.equal(arrived().length, 1);
  assert.equal((await events(srv, `source_id=${src.id}&dedup_status=duplicate`)).length, 39);
});

test('the window survives kill -9 and a restart', async () => {
  const s = await startServer();
  const src = await makeSource(s, { slug: 'restart', dedup_enabled: true });
  const a = await ingest(s, 'restart', 'kept');
  await s.kill9();
  const s2 = await startServer({ dir: s.dir, db: s.db });
  const b = await ingest(s2, 'restart', 'kept');
  assert.deepEqual(b.body, { event_id: a.body.event_id, source_id: src.id, duplicate: true });
  assert.equal((await s2.req('GET', `/v1/sources/${src.id}`)).body.event_count, 2);
  await stopClean(s2);
});

test('schema_action warn: an invalid body is stored, delivered and marked; verification_status says how the sender was checked', async () => {
  const schema = { type: 'object', required: ['id'] };
  const secret = 'whsec-test-' + randomBytes(8).toString('hex');
  const { src, arrived } = await routed(srv, {
    schema_validation_enabled: true, json_schema: schema, schema_action: 'warn',
    verification_enabled: true, verification_type: 'hmac_sha256', verification_secret: secret,
    verification_header: 'X-Sig',
  });
  const sign = (b) => crypto.createHmac('sha256', secret).update(b).digest('hex');
  const good = '{"id":"a"}', bad = '{"name":"b"}';
  const g = await ingest(srv, src.slug, good, { 'x-sig': sign(good) });
  const w = await ingest(srv, src.slug, bad, { 'x-sig': sign(bad) });
  const n = await ingest(srv, src.slug, 'not json', { 'x-sig': sign('not json') });
  assert.equal(g.status, 200);
  assert.equal(w.status, 200, 'warn stores it');
  assert.equal(n.status, 200);
  assert.equal((await ingest(srv, src.slug, good, { 'x-sig': 'nope' })).status, 401, 'the signature still refuses');
  await until(() => arrived().length === 3, 10000, 'all three delivered');
  const ev = async (id) => (await srv.req('GET', `/v1/events/${id}`)).body;
  assert.equal((await ev(g.body.event_id)).verification_status, 'verified');
  assert.equal((await ev(w.body.event_id)).verification_status, 'schema_invalid');
  assert.equal((await ev(n.body.event_id)).verification_status, 'schema_invalid');
  const invalid = await events(srv, `source_id=${src.id}&verification_status=schema_invalid`);
  assert.match((await srv.req('GET', '/metrics')).text, new RegExp(`hookstream_ingest_schema_invalid_total\\{source_id="${src.id}"\\} 2\\n`));
  assert.deepEqual(invalid.map((e) => e.id).sort(), [w.body.event_id, n.body.event_id].sort());
  const plain = await routed(srv, {});
  const p = await ingest(srv, plain.src.slug, '{}');
  assert.equal((await ev(p.body.event_id)).verification_status, 'unverified');
  // switching to reject refuses what warn let through
  const r = await srv.req('PATCH', `/v1/sources/${src.id}`, { schema_action: 'reject' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await ingest(srv, src.slug, bad, { 'x-sig': sign(bad) })).status, 422);
});

test('the new list filters are checked', async () => {
  for (const [q, field] of [['verification_status=ok', 'verification_status'], ['dedup_status=maybe', 'dedup_status']]) {
    const r = await srv.req('GET', `/v1/events?${q}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.field, field);
  }
});

const PG = process.env.HOOKSTREAM_TEST_PG;
test('two nodes on one PostgreSQL share the window: a repeat at the other node is a duplicate', { skip: !PG && 'no PostgreSQL (tests/run.sh starts one)' }, async () => {
  const db = `${PG}/hs_${randomBytes(6).toString('hex')}`;
  const a = await startServer({ db, args: ['--node-id', 'dedup-a'] });
  const b = await startServer({ db, args: ['--node-id', 'dedup-b'] });
  try {
    const src = await makeSource(a, { slug: 'both', dedup_enabled: true, dedup_strategy: 'header_field', dedup_field: 'x-id' });
    const dst = await makeDestination(a, { config: { url: `${rcv.url}/pg-both` } });
    await makeConnection(a, src.id, dst.id);
    // b learns of the source through the change feed
    await until(async () => (await ingest(b, 'both', '{}', { 'x-id': 'warmup' })).status === 200, 10000, 'b knows the source');
    // the same ids at both nodes at once
    const answers = [];
    for (let i = 0; i < 20; i++) {
      const [x, y] = await Promise.all([ingest(a, 'both', `{"i":${i}}`, { 'x-id': `k${i}` }), ingest(b, 'both', `{"i":${i}}`, { 'x-id': `k${i}` })]);
      answers.push([x, y]);
    }
    for (const [x, y] of answers) {
      assert.equal(x.status, 200);
      assert.equal(y.status, 200);
      assert.equal(x.body.event_id, y.body.event_id, 'both answers name one event');
      assert.equal(!!x.body.duplicate + !!y.body.duplicate, 1, 'one of the two is the duplicate');
    }
    const arrived = () => rcv.requests.filter((q) => q.url === '/hook/pg-both');
    await until(() => arrived().length === 21, 20000, 'one delivery per id');
    await sleep(500);
    assert.equal(arrived().length, 21);
    assert.equal((await a.req('GET', `/v1/sources/${src.id}`)).body.event_count, 41);
  } finally {
    await stopClean(b);
    await stopClean(a);
  }
});

// A source created at one node reaches the others through the change feed;
// until a node has its settings it must not store events for it unchecked.
test('a node that has not heard of a new source yet answers 503 (retry), never stores it unchecked', { skip: !PG && 'no PostgreSQL (tests/run.sh starts one)' }, async () => {
  const db = `${PG}/hs_${randomBytes(6).toString('hex')}`;
  const a = await startServer({ db, args: ['--node-id', 'new-a'] });
  const b = await startServer({ db, args: ['--node-id', 'new-b'] });
  try {
    const secret = 'whsec_' + randomBytes(12).toString('hex');
    const src = await makeSource(a, { slug: 'signed', verification_enabled: true, verification_type: 'hmac_sha256', verification_secret: secret });
    const seen = new Set();
    const deadline = Date.now() + 10000;
    let last;
    do {
      const r = await fetch(`${b.url}/v1/ingest/signed`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      last = { status: r.status, retry: r.headers.get('retry-after'), body: await r.json() };
      seen.add(last.status);
      assert.ok(last.status === 503 || last.status === 401, `unsigned at b: ${last.status} ${JSON.stringify(last.body)}`);
      if (last.status === 503) assert.equal(last.retry, '1');
    } while (last.status !== 401 && Date.now() < deadline);
    assert.equal(last.status, 401, 'b checks the signature once it has the source');
    const events = (await b.req('GET', `/v1/events?source_id=${src.id}`)).body;
    assert.equal(events.events.length, 0, 'nothing stored unchecked');
  } finally {
    await stopClean(b);
    await stopClean(a);
  }
});

test('--public-url makes the sources\' ingest_url; a bad one stops the start with a message', async () => {
  const s = await startServer({ args: ['--public-url', 'https://hooks.example.com/in/'] });
  try {
    const src = await makeSource(s, { slug: 'public' });
    assert.equal(src.ingest_url, 'https://hooks.example.com/in/v1/ingest/public');
    const listed = (await s.req('GET', '/v1/sources')).body.sources.find((x) => x.id === src.id);
    assert.equal(listed.ingest_url, 'https://hooks.example.com/in/v1/ingest/public');
  } finally {
    await stopClean(s);
  }
  for (const bad of ['ftp://x', 'https://x/?a=1', 'not a url']) {
    await assert.rejects(startServer({ args: ['--public-url', bad] }), (e) => /--public-url: expected an http or https URL/.test(e.message), bad);
  }
});

// A request refused 503 (its group failed: the disk is full) was not
// acknowledged: its key must not make its retry a duplicate. Needs root
// (a tmpfs), as durability.test.mjs's full-disk test.
test('a key claimed by a group that failed is free again: the 503\'d request, sent again, is the event', { skip: (process.getuid() !== 0 && 'needs root to mount a tmpfs') || (process.env.HOOKSTREAM_TEST_SERVER_PG && 'a file store only') }, async () => {
  const dir = tempDir();
  const mnt = path.join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  let s;
  try {
    s = await startServer({ dir, db: path.join(mnt, 'h.db') });
    const src = await makeSource(s, { slug: 'full', dedup_enabled: true });
    const post = async (body) => {
      const r = await fetch(`${s.url}/v1/ingest/full`, { method: 'POST', body });
      return { status: r.status, body: await r.json() };
    };
    writeFileSync(path.join(mnt, 'ballast'), Buffer.alloc(700 * 1024));
    const big = 'z'.repeat(60000);
    let refused = null;
    for (let i = 0; i < 200 && !refused; i++) {
      const body = `${i}:${big}`;
      const r = await post(body);
      if (r.status === 503) refused = body;
      else assert.equal(r.status, 200);
    }
    assert.ok(refused, 'the disk filled up');
    rmSync(path.join(mnt, 'ballast')); // room again
    const again = await post(refused);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.duplicate, undefined, 'the refused request claimed nothing');
    const third = await post(refused);
    assert.equal(third.status, 200);
    assert.deepEqual(third.body, { event_id: again.body.event_id, source_id: src.id, duplicate: true });
  } finally {
    if (s) await s.stop();
    execFileSync('umount', ['-l', mnt]);
    s?.cleanup();
  }
});
