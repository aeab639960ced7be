import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('connections reference existing sources and destinations', async () => {
  const s = await makeSource(srv);
  const d = await makeDestination(srv);
  const c = await srv.req('POST', '/v1/connections', { name: 'route', source_id: s.id, destination_id: d.id });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.id, /^conn_[0-9a-f]{32}$/);
  assert.equal(c.body.enabled, true);
  assert.equal(c.body.source_id, s.id);
  assert.equal(c.body.destination_id, d.id);

  const missing = 'src_' + '0'.repeat(32);
  let r = await srv.req('POST', '/v1/connections', { source_id: missing, destination_id: d.id });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'source_id');
  r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: 'dst_' + '0'.repeat(32) });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'destination_id');
  r = await srv.req('POST', '/v1/connections', { source_id: 'bogus', destination_id: d.id });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'source_id');
  r = await srv.req('POST', '/v1/connections', { source_id: s.id });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'destination_id');
  r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: d.id, enabled: 'yes' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'enabled');

  // a source or destination in use cannot be deleted
  r = await srv.req('DELETE', `/v1/sources/${s.id}`);
  assert.equal(r.status, 409, r.text);
  assert.match(r.body.error, /conn_/);
  r = await srv.req('DELETE', `/v1/destinations/${d.id}`);
  assert.equal(r.status, 409);

  const p = await srv.req('PATCH', `/v1/connections/${c.body.id}`, { enabled: false });
  assert.equal(p.status, 200);
  assert.equal(p.body.enabled, false);
  const list = await srv.req('GET', `/v1/connections?source_id=${s.id}`);
  assert.equal(list.body.connections.length, 1);
  const listOff = await srv.req('GET', '/v1/connections?enabled=true&limit=100');
  assert.ok(listOff.body.connections.every((x) => x.enabled === true));

  assert.equal((await srv.req('DELETE', `/v1/connections/${c.body.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/sources/${s.id}`)).status, 200);
  assert.equal((await srv.req('DELETE', `/v1/destinations/${d.id}`)).status, 200);
});

test('filters and transforms are checked when saved (details in filters/transforms.test.mjs)', async () => {
  const s = await makeSource(srv);
  const d = await makeDestination(srv);
  let r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: d.id, filter_rules: [{ field: 'method', op: 'eq', value: 'POST' }] });
  assert.equal(r.status, 201, r.text);
  r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: d.id, transform_expression: '$.a' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.transform, '$.a');
  r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: d.id, transform_expression: '$.a[' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'transform');
  r = await srv.req('POST', '/v1/connections', { source_id: s.id, destination_id: d.id, filter_rules: [] });
  assert.equal(r.status, 201, r.text);
});

test('a connection may name its source and destination by slug; they are stored as ids', async () => {
  const s = await makeSource(srv, { slug: 'shop-by-slug' });
  const d = await makeDestination(srv, { slug: 'orders-by-slug' });
  const c = await srv.req('POST', '/v1/connections', { source_id: 'shop-by-slug', destination_id: 'orders-by-slug' });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.source_id, s.id);
  assert.equal(c.body.destination_id, d.id);
  // an unknown slug is a 400 naming the field
  const bad = await srv.req('POST', '/v1/connections', { source_id: 'no-such-slug', destination_id: d.id });
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /source_id/);
  assert.match(bad.text, /no-such-slug/);
  // and so does a PATCH
  const d2 = await makeDestination(srv, { slug: 'orders-two' });
  const p = await srv.req('PATCH', `/v1/connections/${c.body.id}`, { destination_id: 'orders-two' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.destination_id, d2.id);
});
