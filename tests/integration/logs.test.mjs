// Log lines: one JSON object per line on stderr, with the level, the
// request id (the same as the X-Request-Id header) and the ids involved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ logLevel: 'debug', args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

const lines = () => srv.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)); // every line must parse

test('every line is a JSON object; requests are logged with their request id at debug', async () => {
  const r = await fetch(`${srv.url}/v1/sources`, { headers: { authorization: 'Bearer wrong-key-0123456789' } });
  assert.equal(r.status, 401);
  const rid = r.headers.get('x-request-id');
  const line = await until(() => lines().find((l) => l.request_id === rid), 5000, 'the access line');
  assert.deepEqual([line.level, line.msg, line.method, line.path, line.status], ['debug', 'request', 'GET', '/v1/sources', 401]);
  assert.match(line.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof line.duration_ms, 'number');
});

test('a dead letter is a warn line naming the event, delivery, destination and attempt', async () => {
  const rx = await startReceiver(() => ({ status: 500 }));
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url: rx.url }, retry_policy: { max_retries: 0 } });
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  const { event_id } = await r.json();
  const line = await until(() => lines().find((l) => l.msg === 'dead-lettered' && l.event_id === event_id), 5000, 'the warn line');
  assert.equal(line.level, 'warn');
  assert.equal(line.destination_id, dst.id);
  assert.match(line.delivery_id, /^dlv_/);
  assert.match(line.attempt_id, /^da_/);
  assert.equal(line.response_status, 500);
  assert.equal(line.error, 'HTTP 500');
  await rx.close();
});
