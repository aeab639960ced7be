import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource } from './lib/server.mjs';
import { rawExchange, parseResponses } from './lib/rawhttp.mjs';

let srv;
let src;
before(async () => {
  srv = await startServer({ args: ['--max-body', '4k', '--request-timeout', '600', '--idle-timeout', '1500'] });
  src = await makeSource(srv);
});
after(async () => { await srv.stop(); srv.cleanup(); });

function errorShape(r, status) {
  assert.equal(r.status, status);
  const b = JSON.parse(r.body);
  assert.equal(b.status, status);
  assert.equal(typeof b.error, 'string');
  assert.match(b.request_id, /^req_/);
}

test('keep-alive and pipelining answer in order', async () => {
  const one = (i) => `POST /v1/ingest/${src.id}?n=${i} HTTP/1.1\r\nHost: x\r\nContent-Length: ${String(i).length}\r\n\r\n${i}`;
  const reqs = Array.from({ length: 20 }, (_, i) => one(i)).join('') + 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
  const r = await rawExchange(srv.port, reqs, { waitMs: 800 });
  const rs = parseResponses(r.text);
  assert.equal(rs.length, 21);
  assert.ok(rs.slice(0, 20).every((x) => x.status === 200));
  assert.equal(rs[20].body, '{"status":"ok"}');
  // the events were stored in request order
  const ids = rs.slice(0, 20).map((x) => JSON.parse(x.body).event_id);
  assert.deepEqual([...ids].sort(), ids);
  const e = await srv.req('GET', `/v1/events/${ids[7]}`);
  assert.equal(e.body.query, 'n=7');
  assert.equal(e.body.body, '7');
});

test('chunked request bodies are reassembled', async () => {
  const req = `POST /v1/ingest/${src.id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`;
  const rs = parseResponses((await rawExchange(srv.port, req, { waitMs: 500 })).text);
  assert.equal(rs[0].status, 200);
  const e = await srv.req('GET', `/v1/events/${JSON.parse(rs[0].body).event_id}`);
  assert.equal(e.body.body, 'hello world');
});

test('oversized header block: 431', async () => {
  const req = `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`;
  const r = await rawExchange(srv.port, req);
  const rs = parseResponses(r.text);
  errorShape(rs[0], 431);
  assert.ok(r.closed);
});

test('oversized bodies: 413 from Content-Length and from chunks', async () => {
  let r = await rawExchange(srv.port, `POST /v1/ingest/${src.id} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n`);
  errorShape(parseResponses(r.text)[0], 413);
  assert.ok(r.closed, 'answered before the body arrives, then closed');
  const chunk = 'a'.repeat(1000);
  const chunks = Array.from({ length: 6 }, () => `3e8\r\n${chunk}\r\n`).join('');
  r = await rawExchange(srv.port, `POST /v1/ingest/${src.id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
  errorShape(parseResponses(r.text)[0], 413);
  const api = await fetch(srv.url + '/v1/sources', { method: 'POST', headers: { authorization: `Bearer ${srv.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(5000) }) });
  assert.equal(api.status, 413);
});

test('malformed requests: 400 and close', async () => {
  for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', `POST /v1/ingest/${src.id} HTTP/1.1\r\nContent-Length: abc\r\n\r\n`,
    'GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n']) {
    const r = await rawExchange(srv.port, bad);
    const rs = parseResponses(r.text);
    assert.equal(rs.length, 1, JSON.stringify(bad));
    errorShape(rs[0], bad.includes('HTTP/9.9') ? 505 : 400);
    assert.ok(r.closed);
  }
});

test('header field names: whitespace before the colon, non-token characters, obs-fold: 400 and close', async () => {
  const mine = await makeSource(srv);
  const ingest = `POST /v1/ingest/${mine.id} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n`;
  const events = async () => (await srv.req('GET', `/v1/events?source_id=${mine.id}`)).body.events.length;
  const cases = [
    // [request, what the error names]
    [`${ingest}X-Foo : bar\r\n\r\n{}`, /whitespace/], // RFC 9112 §5.1
    [`${ingest}Content-Type : text/plain\r\n\r\n{}`, /whitespace/],
    [`${ingest}X Foo: bar\r\n\r\n{}`, /whitespace/],
    [`POST /v1/ingest/${mine.id} HTTP/1.1\r\n X-Foo: bar\r\nContent-Length: 2\r\n\r\n{}`, /whitespace/],
    [`${ingest}X-Foo\t: bar\r\n\r\n{}`, /malformed request/],
    [`${ingest}X-\x01Foo: bar\r\n\r\n{}`, /malformed request/],
    [`${ingest}X@Foo: bar\r\n\r\n{}`, /malformed request/],
    [`${ingest}: bar\r\n\r\n{}`, /malformed request/],
    [`${ingest}X-Foo: a\r\n b\r\n\r\n{}`, /folding/], // RFC 9112 §5.2
    [`${ingest}X-Foo:\r\n\tb\r\n\r\n{}`, /folding/],
  ];
  for (const [req, why] of cases) {
    const r = await rawExchange(srv.port, req);
    const rs = parseResponses(r.text);
    assert.equal(rs.length, 1, JSON.stringify(req));
    errorShape(rs[0], 400);
    assert.match(JSON.parse(rs[0].body).error, why, JSON.stringify(req));
    assert.ok(r.closed);
  }
  assert.equal(await events(), 0, 'none of them was ingested');
  // the same request, well formed, is
  const ok = parseResponses((await rawExchange(srv.port, `${ingest}X-Foo: bar\r\nConnection: close\r\n\r\n{}`)).text);
  assert.equal(ok[0].status, 200);
  assert.equal(await events(), 1);
});

test('a slow client gets 408 and does not stall others', async () => {
  const slow = rawExchange(srv.port, [`POST /v1/ingest/${src.id} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`], { waitMs: 3000 });
  // meanwhile another client is served at once
  const t0 = Date.now();
  const h = await fetch(srv.url + '/health');
  assert.equal(h.status, 200);
  assert.ok(Date.now() - t0 < 300);
  const r = await slow;
  const rs = parseResponses(r.text);
  errorShape(rs[0], 408);
  assert.ok(r.closed);
  assert.ok(r.elapsed >= 500 && r.elapsed < 2500, `closed after ${r.elapsed} ms`);
});

test('idle keep-alive connections are closed', async () => {
  const r = await rawExchange(srv.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 4000, keepOpen: true });
  assert.equal(parseResponses(r.text)[0].status, 200);
  assert.ok(r.closed);
  assert.ok(r.elapsed >= 1400 && r.elapsed < 3500, `idle close after ${r.elapsed} ms`);
});

test('Expect: 100-continue', async () => {
  const r = await rawExchange(srv.port, [`POST /v1/ingest/${src.id} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`, '{}'], { gapMs: 200, waitMs: 500 });
  assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  assert.equal(parseResponses(r.text.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''))[0].status, 200);
});

test('HTTP/1.0 closes after the response', async () => {
  const r = await rawExchange(srv.port, 'GET /health HTTP/1.0\r\n\r\n', { waitMs: 2000 });
  assert.equal(parseResponses(r.text)[0].status, 200);
  assert.ok(r.closed);
});

test('many connections at once', async () => {
  const rs = await Promise.all(Array.from({ length: 200 }, () => rawExchange(srv.port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { waitMs: 3000 })));
  assert.ok(rs.every((r) => parseResponses(r.text)[0]?.status === 200));
});
