// The front door of a source: IP lists (403) and rate limits (429), before
// anything is stored; X-Forwarded-For only from --trusted-proxies.
// Clients bind to 127.0.0.1, 127.0.0.2 (both loopback on Linux) and ::1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

// One request from localAddress, on a connection of its own.
function send(server, path, { from = '127.0.0.1', method = 'POST', body = '{"a":1}', headers = {}, host } = {}) {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: host || u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path, method, localAddress: from, agent: false,
      headers: { 'content-type': 'application/json', ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function eventsOf(server, sourceId) {
  const r = await server.req('GET', `/v1/events?source_id=${sourceId}&limit=100`);
  assert.equal(r.status, 200, r.text);
  return r.body.events;
}

function hasIPv6Loopback() {
  return Object.values(os.networkInterfaces()).flat().some((i) => i && i.family === 'IPv6' && i.address === '::1');
}

test('IP lists are validated at save, with the field and the entry named', async () => {
  const cases = [
    [{ ip_allowlist: ['10.0.0.0/8', 'nope'] }, 'ip_allowlist[1]', /"nope" is not an IPv4 or IPv6/],
    [{ ip_allowlist: ['10.0.0.0/40'] }, 'ip_allowlist[0]', /prefix length must be a whole number from 0 to 32/],
    [{ ip_denylist: ['2001:db8::/200'] }, 'ip_denylist[0]', /from 0 to 128/],
    [{ ip_denylist: ['10.0.0.1/24'] }, 'ip_denylist[0]', /host bits set .*10\.0\.0\.0\/24/],
    [{ ip_denylist: '10.0.0.0/8' }, 'ip_denylist', /array/],
    [{ ip_allowlist: Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }, 'ip_allowlist', /256/],
  ];
  for (const [extra, field, msg] of cases) {
    const r = await srv.req('POST', '/v1/sources', { name: 'bad', ...extra });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.field, field);
    assert.match(r.body.error, msg);
  }
  const s = await makeSource(srv, { ip_allowlist: ['2001:DB8::/32', '127.0.0.1/32'], ip_denylist: [] });
  assert.deepEqual(s.ip_allowlist, ['2001:db8::/32', '127.0.0.1'], 'kept in canonical form');
  assert.deepEqual(s.ip_denylist, []);
  assert.equal(s.rate_limit, null);
  const plain = await makeSource(srv);
  assert.deepEqual(plain.ip_allowlist, []);
  assert.deepEqual(plain.ip_denylist, []);
  assert.equal(plain.rate_limit, null);
});

test('allow list: only listed addresses get in; refused ones store nothing', async () => {
  const s = await makeSource(srv, { slug: 'allow-only', ip_allowlist: ['127.0.0.1'] });
  let r = await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.1' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const okId = r.body.event_id;
  for (const ref of [s.id, 'allow-only']) {
    r = await send(srv, `/v1/ingest/${ref}`, { from: '127.0.0.2' });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'IP is not in allow list');
    assert.equal(r.body.status, 403);
    assert.match(r.body.request_id, /^req_/);
    assert.match(r.headers['content-type'], /application\/json/);
  }
  const events = await eventsOf(srv, s.id);
  assert.deepEqual(events.map((e) => e.id), [okId], 'the refused requests stored nothing');

  // a CIDR block; emptied, the list allows all again
  let p = await srv.req('PATCH', `/v1/sources/${s.id}`, { ip_allowlist: ['127.0.0.0/8'] });
  assert.equal(p.status, 200, p.text);
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.2' })).status, 200);
  p = await srv.req('PATCH', `/v1/sources/${s.id}`, { ip_allowlist: ['10.0.0.0/8'] });
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.1' })).status, 403);
  p = await srv.req('PATCH', `/v1/sources/${s.id}`, { ip_allowlist: [] });
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.2' })).status, 200);
});

test('deny list is checked first', async () => {
  const s = await makeSource(srv, { ip_allowlist: ['127.0.0.0/8'], ip_denylist: ['127.0.0.2'] });
  let r = await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.2' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error, 'IP is in deny list');
  r = await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.1' });
  assert.equal(r.status, 200);
  // deny list alone: everyone else allowed
  const d = await makeSource(srv, { ip_denylist: ['127.0.0.1'] });
  assert.equal((await send(srv, `/v1/ingest/${d.id}`, { from: '127.0.0.1' })).body.error, 'IP is in deny list');
  assert.equal((await send(srv, `/v1/ingest/${d.id}`, { from: '127.0.0.2' })).status, 200);
  assert.equal((await eventsOf(srv, d.id)).length, 1);
  // deleted and unknown sources are the store's 404, not a 403
  assert.equal((await srv.req('DELETE', `/v1/sources/${d.id}`)).status, 200);
  assert.equal((await send(srv, `/v1/ingest/${d.id}`, { from: '127.0.0.1' })).status, 404);
});

test('X-Forwarded-For is ignored without --trusted-proxies', async () => {
  const s = await makeSource(srv, { ip_allowlist: ['203.0.113.7'] });
  const r = await send(srv, `/v1/ingest/${s.id}`, { headers: { 'X-Forwarded-For': '203.0.113.7' } });
  assert.equal(r.status, 403, 'a client cannot name its own address');
  const open = await makeSource(srv);
  const ok = await send(srv, `/v1/ingest/${open.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.7' } });
  assert.equal(ok.status, 200);
  const e = await srv.req('GET', `/v1/events/${ok.body.event_id}`);
  assert.equal(e.body.source_ip, '127.0.0.2');
});

test('X-Forwarded-For from a trusted proxy: the right-most untrusted address', async () => {
  const px = await startServer({ args: ['--trusted-proxies', '127.0.0.2, 10.0.0.0/8'] });
  try {
    const s = await makeSource(px, { ip_allowlist: ['203.0.113.0/24'], ip_denylist: ['203.0.113.66'] });
    // from the trusted proxy 127.0.0.2: the client is what it forwards
    let r = await send(px, `/v1/ingest/${s.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7, 10.1.1.1' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let e = await px.req('GET', `/v1/events/${r.body.event_id}`);
    assert.equal(e.body.source_ip, '203.0.113.7', 'the spoofable left part is skipped, the trusted hop too');
    r = await send(px, `/v1/ingest/${s.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.66' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'IP is in deny list');
    r = await send(px, `/v1/ingest/${s.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.1' } });
    assert.equal(r.body.error, 'IP is not in allow list');
    // from an untrusted peer the header means nothing
    r = await send(px, `/v1/ingest/${s.id}`, { from: '127.0.0.1', headers: { 'X-Forwarded-For': '203.0.113.7' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.error, 'IP is not in allow list');
    // without the header, the proxy itself is the client
    const open = await makeSource(px);
    r = await send(px, `/v1/ingest/${open.id}`, { from: '127.0.0.2' });
    e = await px.req('GET', `/v1/events/${r.body.event_id}`);
    assert.equal(e.body.source_ip, '127.0.0.2');
    // several header lines read as one list; IPv6 and ports
    r = await send(px, `/v1/ingest/${open.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': ['2001:db8::9', '10.2.2.2'] } });
    e = await px.req('GET', `/v1/events/${r.body.event_id}`);
    assert.equal(e.body.source_ip, '2001:db8::9');
    r = await send(px, `/v1/ingest/${open.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '[2001:db8::a]:4711' } });
    e = await px.req('GET', `/v1/events/${r.body.event_id}`);
    assert.equal(e.body.source_ip, '2001:db8::a');
    // an entry that is not an address stops the walk at the trusted hop to its right
    r = await send(px, `/v1/ingest/${open.id}`, { from: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.7, unknown, 10.3.3.3' } });
    e = await px.req('GET', `/v1/events/${r.body.event_id}`);
    assert.equal(e.body.source_ip, '10.3.3.3');
  } finally {
    await px.stop();
    px.cleanup();
  }
});

test('--trusted-proxies is validated at start', async () => {
  await assert.rejects(startServer({ args: ['--trusted-proxies', '10.0.0.0/99'] }), /--trusted-proxies: "10.0.0.0\/99" prefix length/);
  await assert.rejects(startServer({ env: { HOOKSTREAM_TRUSTED_PROXIES: 'proxy.local' } }), /HOOKSTREAM_TRUSTED_PROXIES: "proxy.local" is not/);
});

test('IPv6 clients, and IPv4 clients of a dual-stack socket (::ffff:a.b.c.d) match IPv4 entries', { skip: !hasIPv6Loopback() && 'no ::1' }, async () => {
  const ds = await startServer({ args: ['--listen', '[::]:0'] });
  try {
    const v4 = await makeSource(ds, { ip_allowlist: ['127.0.0.1'] });
    const url = { url: `http://127.0.0.1:${ds.port}` };
    let r = await send(url, `/v1/ingest/${v4.id}`, { from: '127.0.0.1' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const e = await ds.req('GET', `/v1/events/${r.body.event_id}`);
    assert.match(e.body.source_ip, /^(::ffff:)?127\.0\.0\.1$/);
    r = await send(url, `/v1/ingest/${v4.id}`, { from: '127.0.0.2' });
    assert.equal(r.status, 403);
    const v6 = { url: `http://[::1]:${ds.port}` };
    r = await send(v6, `/v1/ingest/${v4.id}`, { from: '::1' });
    assert.equal(r.status, 403, 'an IPv6 client is not in an IPv4 list');
    const six = await makeSource(ds, { ip_allowlist: ['::1/128'], ip_denylist: ['127.0.0.2'] });
    assert.equal((await send(v6, `/v1/ingest/${six.id}`, { from: '::1' })).status, 200);
    assert.equal((await send(url, `/v1/ingest/${six.id}`, { from: '127.0.0.1' })).body.error, 'IP is not in allow list');
    assert.equal((await send(url, `/v1/ingest/${six.id}`, { from: '127.0.0.2' })).body.error, 'IP is in deny list');
  } finally {
    await ds.stop();
    ds.cleanup();
  }
});

test('rate limit: 429 with Retry-After and RateLimit-* after the burst, then recovery', async () => {
  const bad = await srv.req('POST', '/v1/sources', { name: 'x', rate_limit: { requests_per_second: 0 } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'rate_limit.requests_per_second');
  const bad2 = await srv.req('POST', '/v1/sources', { name: 'x', rate_limit: { requests_per_second: 1, burst: 0 } });
  assert.equal(bad2.body.field, 'rate_limit.burst');

  const s = await makeSource(srv, { rate_limit: { requests_per_second: 1, burst: 3 } });
  assert.deepEqual(s.rate_limit, { requests_per_second: 1, burst: 3 });
  const ok = [];
  for (let i = 0; i < 3; i++) {
    const r = await send(srv, `/v1/ingest/${s.id}`);
    assert.equal(r.status, 200, `request ${i} of the burst`);
    ok.push(r.body.event_id);
  }
  const r = await send(srv, `/v1/ingest/${s.id}`);
  assert.equal(r.status, 429);
  assert.equal(r.body.error, 'rate limit exceeded');
  assert.equal(r.body.status, 429);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.headers['ratelimit-limit'], '3');
  assert.equal(r.headers['ratelimit-remaining'], '0');
  assert.ok(Number(r.headers['ratelimit-reset']) >= 1 && Number(r.headers['ratelimit-reset']) <= 3, r.headers['ratelimit-reset']);
  assert.deepEqual((await eventsOf(srv, s.id)).map((e) => e.id).sort(), ok.sort(), 'the refused one stored nothing');
  // by slug the same bucket: a source is limited however it is named
  await sleep(1100);
  assert.equal((await send(srv, `/v1/ingest/${s.id}`)).status, 200, 'a token came back after a second');
  assert.equal((await send(srv, `/v1/ingest/${s.id}`)).status, 429);
  // an IP refusal comes first and takes no token
  const both = await makeSource(srv, { ip_denylist: ['127.0.0.2'], rate_limit: { requests_per_second: 0.01, burst: 1 } });
  assert.equal((await send(srv, `/v1/ingest/${both.id}`, { from: '127.0.0.2' })).status, 403);
  assert.equal((await send(srv, `/v1/ingest/${both.id}`, { from: '127.0.0.1' })).status, 200);
  const slow = await send(srv, `/v1/ingest/${both.id}`, { from: '127.0.0.1' });
  assert.equal(slow.status, 429);
  assert.equal(slow.headers['retry-after'], '100', 'rounded up: one token per 100 s');
});

test('PATCH changes the rate limit at once; null removes it', async () => {
  const s = await makeSource(srv, { slug: 'limited', rate_limit: { requests_per_second: 0.01, burst: 1 } });
  assert.equal((await send(srv, '/v1/ingest/limited')).status, 200);
  assert.equal((await send(srv, '/v1/ingest/limited')).status, 429);
  // renaming keeps the bucket (no refill)
  let p = await srv.req('PATCH', `/v1/sources/${s.id}`, { name: 'renamed' });
  assert.equal(p.status, 200, p.text);
  assert.equal((await send(srv, '/v1/ingest/limited')).status, 429);
  p = await srv.req('PATCH', `/v1/sources/${s.id}`, { rate_limit: { burst: 5 } });
  assert.deepEqual(p.body.rate_limit, { requests_per_second: 0.01, burst: 5 });
  for (let i = 0; i < 5; i++) assert.equal((await send(srv, '/v1/ingest/limited')).status, 200, `new burst ${i}`);
  const r = await send(srv, `/v1/ingest/${s.id}`);
  assert.equal(r.status, 429);
  assert.equal(r.headers['ratelimit-limit'], '5');
  p = await srv.req('PATCH', `/v1/sources/${s.id}`, { rate_limit: null });
  assert.equal(p.body.rate_limit, null);
  for (let i = 0; i < 10; i++) assert.equal((await send(srv, '/v1/ingest/limited')).status, 200);
});

test('refused requests never reach a connection\'s receiver', async () => {
  const rcv = await startReceiver();
  try {
    const s = await makeSource(srv, { ip_denylist: ['127.0.0.2'], rate_limit: { requests_per_second: 0.01, burst: 2 } });
    const d = await makeDestination(srv, { config: { url: rcv.url } });
    await makeConnection(srv, s.id, d.id);
    const statuses = [];
    statuses.push((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.2', body: '{"n":"denied"}' })).status);
    for (let i = 0; i < 4; i++) statuses.push((await send(srv, `/v1/ingest/${s.id}`, { body: `{"n":${i}}` })).status);
    assert.deepEqual(statuses, [403, 200, 200, 429, 429]);
    await rcv.waitFor(2);
    await sleep(500);
    assert.deepEqual(rcv.requests.map((q) => q.body.toString()).sort(), ['{"n":0}', '{"n":1}']);
    await until(async () => (await eventsOf(srv, s.id)).every((e) => e.status === 'delivered'), 5000, 'delivered');
    assert.equal((await eventsOf(srv, s.id)).length, 2);
  } finally {
    await rcv.close();
  }
});

test('a restarted server keeps the settings (loaded at start)', async () => {
  const s = await makeSource(srv, { ip_allowlist: ['127.0.0.1'], rate_limit: { requests_per_second: 0.01, burst: 1 } });
  await srv.stop();
  srv = await startServer({ dir: srv.dir, db: srv.db });
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.2' })).status, 403);
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.1' })).status, 200);
  assert.equal((await send(srv, `/v1/ingest/${s.id}`, { from: '127.0.0.1' })).status, 429);
});
