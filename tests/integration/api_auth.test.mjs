import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, API_KEY } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('every /v1 route but ingest needs an API key', async () => {
  const routes = [['GET', '/v1/sources'], ['POST', '/v1/sources'], ['GET', '/v1/destinations'],
    ['GET', '/v1/connections'], ['GET', '/v1/events'], ['GET', '/v1/events/evt_00000000000000000000000000000000'],
    ['DELETE', '/v1/sources/x'], ['PUT', '/v1/sources']];
  for (const [m, p] of routes) {
    for (const headers of [{ authorization: '' }, { authorization: 'Bearer wrong-key-wrong-key' },
      { 'x-api-key': 'nope-nope-nope-nope' }, { authorization: `Basic ${API_KEY}` }]) {
      const r = await srv.req(m, p, undefined, headers);
      assert.equal(r.status, 401, `${m} ${p} ${JSON.stringify(headers)}`);
      assert.equal(r.body.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
  }
});

test('Bearer and X-API-Key both work', async () => {
  let r = await srv.req('GET', '/v1/sources', undefined, { authorization: `Bearer ${API_KEY}` });
  assert.equal(r.status, 200);
  r = await srv.req('GET', '/v1/sources', undefined, { 'x-api-key': API_KEY });
  assert.equal(r.status, 200);
});

test('health needs no key', async () => {
  const r = await fetch(srv.url + '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { status: 'ok' });
  const h = await fetch(srv.url + '/health', { method: 'HEAD' });
  assert.equal(h.status, 200);
  const p = await fetch(srv.url + '/health', { method: 'POST' });
  assert.equal(p.status, 405);
});
