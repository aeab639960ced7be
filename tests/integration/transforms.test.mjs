// Connection transforms (JSONata) through the real binary: the body sent is
// the expression's result; a failing transform fails the attempt with its
// reason; syntax errors are 400s with the position; POST /v1/transforms/test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function ingest(src, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body, headers });
  assert.equal(r.status, 200);
  return (await r.json()).event_id;
}

test('the transform output is what the destination receives', async () => {
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url } });
  await makeConnection(srv, src.id, dst.id, {
    transform: '{"text": "Order " & id & " for " & $string(total) & " " & currency, "shop": $headers."x-shop", "event": $event_id}',
  });
  const id = await ingest(src, JSON.stringify({ id: 'ord_1', total: 42.5, currency: 'EUR' }), {
    'content-type': 'application/json', 'x-shop': 'berlin',
  });
  await rx.waitFor(1);
  const r = rx.requests[0];
  assert.equal(r.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(r.body), { text: 'Order ord_1 for 42.5 EUR', shop: 'berlin', event: id });
  await rx.close();
});

test('a transform that fails fails the attempt with the reason, and the server goes on', async () => {
  const rx = await startReceiver();
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, retry_policy: { max_retries: 0 } });
  await makeConnection(srv, src.id, dst.id, { transform: 'nothing.here' });
  const id = await ingest(src, '{"a":1}');
  const e = await until(async () => {
    const x = await srv.req('GET', `/v1/events/${id}`);
    return x.body.status === 'failed' ? x.body : null;
  }, 5000, 'failed');
  assert.match(e.attempts[0].error, /transform failed: .*undefined/);
  assert.equal(e.attempts[0].is_dlq, true);
  assert.equal(rx.requests.length, 0, 'nothing sent');
  // an endless loop is stopped by the time limit
  const src2 = await makeSource(srv);
  await makeConnection(srv, src2.id, dst.id, {
    transform: '($f := function($n){ $f($n + 1) }; $f(0))',
  });
  const id2 = await ingest(src2, '{}');
  const e2 = await until(async () => {
    const x = await srv.req('GET', `/v1/events/${id2}`);
    return x.body.status === 'failed' ? x.body : null;
  }, 5000, 'failed');
  assert.match(e2.attempts[0].error, /transform failed: U100[123]/); // time, memory or depth: whichever comes first
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  await rx.close();
});

test('syntax errors are refused at save with the position', async () => {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv);
  const r = await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id, transform: '{"a": (1 + }' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'transform');
  assert.match(r.body.error, /S0\d{3} at position \d+/);
  const ok = await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id, transform_expression: '$' });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.transform, '$');
});

test('POST /v1/transforms/test', async () => {
  let r = await srv.req('POST', '/v1/transforms/test', { expression: '$sum(items.price)', input: { items: [{ price: 2 }, { price: 3.5 }] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { output: 5.5 });
  r = await srv.req('POST', '/v1/transforms/test', { expression: 'missing', input: { a: 1 } });
  assert.deepEqual(r.body, { output_undefined: true });
  r = await srv.req('POST', '/v1/transforms/test', { expression: '$x * 2', input: null, bindings: { x: 21 } });
  assert.deepEqual(r.body, { output: 42 });
  r = await srv.req('POST', '/v1/transforms/test', { expression: '1 +', input: {} });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'expression');
  assert.match(r.body.code, /^S0/);
  assert.equal(typeof r.body.position, 'number');
  r = await srv.req('POST', '/v1/transforms/test', { expression: '"a" + 1', input: {} });
  assert.equal(r.status, 422);
  assert.match(r.body.code, /^T/);
  r = await srv.req('POST', '/v1/transforms/test', { input: {} });
  assert.equal(r.status, 400);
  r = await srv.req('POST', '/v1/transforms/test', { expression: '1', extra: 1 });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'extra');
});
