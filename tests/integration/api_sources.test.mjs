import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const ID = /^src_[0-9a-f]{32}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test('create, get (by id and slug), patch, delete a source', async () => {
  const c = await srv.req('POST', '/v1/sources', { name: 'Stripe', slug: 'stripe-prod', description: 'payments' });
  assert.equal(c.status, 201, c.text);
  assert.match(c.body.id, ID);
  assert.equal(c.body.name, 'Stripe');
  assert.equal(c.body.slug, 'stripe-prod');
  assert.equal(c.body.status, 'active');
  assert.match(c.body.created_at, ISO);
  assert.match(c.body.updated_at, ISO);
  // the id's first 12 hex digits are its creation time in ms
  const ms = parseInt(c.body.id.slice(4, 16), 16);
  assert.ok(Math.abs(ms - Date.now()) < 60000);

  const g = await srv.req('GET', `/v1/sources/${c.body.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, c.body);
  const bySlug = await srv.req('GET', '/v1/sources/stripe-prod');
  assert.equal(bySlug.body.id, c.body.id);

  const p = await srv.req('PATCH', `/v1/sources/${c.body.id}`, { status: 'paused', description: null });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.status, 'paused');
  assert.equal(p.body.name, 'Stripe');
  assert.ok(!('description' in p.body) || p.body.description === null);
  assert.equal(p.body.created_at, c.body.created_at);

  const d = await srv.req('DELETE', `/v1/sources/${c.body.id}`);
  assert.equal(d.status, 200);
  assert.deepEqual(d.body, { id: c.body.id, deleted: true });
  const gone = await srv.req('GET', `/v1/sources/${c.body.id}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.status, 404);
  assert.match(gone.body.request_id, /^req_/);
});

test('validation errors are 400 and name the field', async () => {
  const cases = [
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 42 }, 'name'],
    [{ name: 'x', slug: 'Bad Slug' }, 'slug'],
    [{ name: 'x', status: 'sleeping' }, 'status'],
    [{ name: 'x', colour: 'red' }, 'colour'],
    [{ name: 'x', id: 'src_00000000000000000000000000000000' }, 'id'],
  ];
  for (const [body, field] of cases) {
    const r = await srv.req('POST', '/v1/sources', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.text}`);
    assert.equal(r.body.status, 400);
    assert.equal(r.body.field, field, r.text);
    assert.match(r.body.error, new RegExp(field));
    assert.match(r.body.request_id, /^req_[0-9a-f]{24}$/);
    assert.equal(r.headers.get('x-request-id'), r.body.request_id);
  }
});

test('malformed JSON, non-object bodies, wrong content type', async () => {
  let r = await srv.req('POST', '/v1/sources', '{"name": ');
  assert.equal(r.status, 400);
  assert.match(r.body.error, /JSON/);
  r = await srv.req('POST', '/v1/sources', '[1,2]');
  assert.equal(r.status, 400);
  r = await srv.req('POST', '/v1/sources', '{"name":"a","name":"b"}');
  assert.equal(r.status, 400, 'duplicate keys are rejected');
  r = await srv.req('POST', '/v1/sources', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 415);
  r = await srv.req('POST', '/v1/sources', '');
  assert.equal(r.status, 400);
});

test('duplicate slug is a 409', async () => {
  const a = await srv.req('POST', '/v1/sources', { name: 'a', slug: 'dup-slug' });
  assert.equal(a.status, 201);
  const b = await srv.req('POST', '/v1/sources', { name: 'b', slug: 'dup-slug' });
  assert.equal(b.status, 409);
  assert.equal(b.body.field, 'slug');
  const other = await srv.req('POST', '/v1/sources', { name: 'c', slug: 'other-slug' });
  const p = await srv.req('PATCH', `/v1/sources/${other.body.id}`, { slug: 'dup-slug' });
  assert.equal(p.status, 409);
});

test('list pagination with cursor, limit bounds, filters', async () => {
  const made = [];
  for (let i = 0; i < 7; i++) {
    const r = await srv.req('POST', '/v1/sources', { name: `page-${i}`, status: i % 2 ? 'paused' : 'active' });
    made.push(r.body.id);
  }
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const r = await srv.req('GET', `/v1/sources?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(Array.isArray(r.body.sources));
    assert.ok(r.body.sources.length <= 3);
    seen.push(...r.body.sources.map((s) => s.id));
    cursor = r.body.cursor;
    assert.equal(r.body.has_more, cursor !== null);
    pages++;
  } while (cursor && pages < 50);
  for (const id of made) assert.ok(seen.includes(id), `${id} listed`);
  assert.equal(new Set(seen).size, seen.length, 'no duplicates across pages');
  const sorted = [...seen].sort().reverse();
  assert.deepEqual(seen, sorted, 'newest first');

  const paused = await srv.req('GET', '/v1/sources?status=paused&limit=100');
  assert.ok(paused.body.sources.length >= 3);
  assert.ok(paused.body.sources.every((s) => s.status === 'paused'));

  for (const q of ['limit=0', 'limit=101', 'limit=abc', 'cursor=nope', 'colour=red']) {
    const r = await srv.req('GET', `/v1/sources?${q}`);
    assert.equal(r.status, 400, q);
  }
  const def = await srv.req('GET', '/v1/sources');
  assert.ok(def.body.sources.length <= 20);
});

test('unknown ids are 404, unknown routes 404, wrong methods 405', async () => {
  let r = await srv.req('GET', '/v1/sources/src_00000000000000000000000000000000');
  assert.equal(r.status, 404);
  r = await srv.req('PATCH', '/v1/sources/src_00000000000000000000000000000000', { name: 'x' });
  assert.equal(r.status, 404);
  r = await srv.req('DELETE', '/v1/sources/nope');
  assert.equal(r.status, 404);
  r = await srv.req('GET', '/v1/nothing-here');
  assert.equal(r.status, 404);
  r = await srv.req('PUT', '/v1/sources');
  assert.equal(r.status, 405);
  assert.match(r.headers.get('allow'), /GET/);
  assert.match(r.headers.get('allow'), /POST/);
});
