// A source's JSON Schema (lib/jsonschema, drafts 4, 6, 7) in reject mode:
// the fourth step of the front door, after the signature. A body that does
// not match is answered 422 with validation_errors [{path, message}] and
// stored nowhere (schema_action "warn": dedup.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, stopClean, makeSource, API_KEY } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopClean(srv); });

const ORDER = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['id', 'amount'],
  properties: {
    id: { type: 'string', pattern: '^ord_' },
    amount: { type: 'integer', minimum: 1 },
    email: { type: 'string', format: 'email' },
    items: { type: 'array', items: { $ref: '#/definitions/item' } },
  },
  definitions: { item: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } } },
};

async function ingest(src, body, headers = {}) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.slug || src.id}`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

const count = async (src) => (await srv.req('GET', `/v1/events?source_id=${src.id}&limit=100`)).body.events.length;

test('the schema fields are validated at save', async () => {
  const cases = [
    [{ schema_validation_enabled: true }, 400, 'json_schema', /required when schema_validation_enabled is true/],
    [{ json_schema: 12 }, 400, 'json_schema', /must be a JSON Schema/],
    [{ json_schema: '{"type": ' }, 400, 'json_schema', /not valid JSON text/],
    [{ json_schema: { type: 'banana' } }, 400, 'json_schema', /not a schema this server can use: .*'type' must be a type name/],
    [{ json_schema: { properties: { a: { minimum: 'x' } } } }, 400, 'json_schema', /at \/properties\/a/],
    [{ json_schema: { $ref: 'https://example.com/s.json' } }, 400, 'json_schema', /not a schema this server can use/],
    [{ json_schema: ORDER, schema_action: 'drop' }, 400, 'schema_action', /reject, warn/],
  ];
  for (const [extra, status, field, msg] of cases) {
    const r = await srv.req('POST', '/v1/sources', { name: 'bad', ...extra });
    assert.equal(r.status, status, `${JSON.stringify(extra)}: ${r.text}`);
    assert.equal(r.body.field, field, r.text);
    assert.match(r.body.error, msg);
  }
  const plain = await makeSource(srv);
  assert.equal(plain.schema_validation_enabled, false);
  assert.equal(plain.json_schema, null);
  assert.equal(plain.schema_action, 'reject');
  // JSON text is kept parsed
  const t = await makeSource(srv, { json_schema: JSON.stringify(ORDER), schema_validation_enabled: true });
  assert.deepEqual(t.json_schema, ORDER);
});

test('reject: 422 with validation_errors, nothing stored; a valid body passes', async () => {
  const src = await makeSource(srv, { slug: 'orders-in', schema_validation_enabled: true, json_schema: ORDER });
  let r = await ingest(src, JSON.stringify({ id: 'ord_1', amount: 5, email: 'a@example.com', items: [{ sku: 'x' }] }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await ingest(src, JSON.stringify({ id: 'nope', amount: 0, email: 'not-an-email', items: [{}] }));
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.error, 'the body does not match the source\'s JSON schema');
  assert.equal(r.body.status, 422);
  const paths = r.body.validation_errors.map((e) => e.path).sort();
  assert.deepEqual(paths, ['/amount', '/email', '/id', '/items/0']);
  for (const e of r.body.validation_errors) assert.equal(typeof e.message, 'string');
  r = await ingest(src, JSON.stringify({ amount: 2 }));
  assert.equal(r.status, 422);
  assert.deepEqual(r.body.validation_errors.map((e) => e.path), ['']);
  assert.match(r.body.validation_errors[0].message, /id/);
  r = await ingest(src, 'id=ord_1&amount=3', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(r.status, 422);
  assert.match(r.body.validation_errors[0].message, /not JSON/);
  assert.equal(await count(src), 1, 'only the valid body was stored');
  // off: anything goes again; on with another schema: it applies at once
  await srv.req('PATCH', `/v1/sources/${src.id}`, { schema_validation_enabled: false });
  assert.equal((await ingest(src, '[]')).status, 200);
  await srv.req('PATCH', `/v1/sources/${src.id}`, { schema_validation_enabled: true, json_schema: { type: 'array', maxItems: 1 } });
  assert.equal((await ingest(src, '[]')).status, 200);
  assert.equal((await ingest(src, '[1,2]')).status, 422);
  // a PATCH replaces the schema whole: members left out go, null members stay
  const p = await srv.req('PATCH', `/v1/sources/${src.id}`, { json_schema: { const: null } });
  assert.deepEqual(p.body.json_schema, { const: null });
  assert.equal((await ingest(src, 'null')).status, 200);
  assert.equal((await ingest(src, '[]')).status, 422);
  // counted with the other refusals
  const m = await until(async () => {
    const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
    return text.includes(`hookstream_ingest_refused_total{source_id="${src.id}",reason="schema_invalid"} 5`) ? text : null;
  }, 5000, 'schema refusals counted');
  assert.ok(m);
});

test('the signature is checked before the schema', async () => {
  const src = await makeSource(srv, {
    template: 'github', verification_secret: 'sch-secret', schema_validation_enabled: true, json_schema: { type: 'object' },
  });
  const sig = (body) => 'sha256=' + crypto.createHmac('sha256', 'sch-secret').update(body).digest('hex');
  assert.equal((await ingest(src, '[]')).status, 401, 'unsigned and invalid: the signature first');
  assert.equal((await ingest(src, '[]', { 'x-hub-signature-256': sig('[]') })).status, 422);
  assert.equal((await ingest(src, '{}', { 'x-hub-signature-256': sig('{}') })).status, 200);
});

test('a schema that needs too many steps for one body is refused, with the reason', async () => {
  // every item against a pattern-heavy subschema: a large body exhausts the loop's step budget
  const src = await makeSource(srv, {
    schema_validation_enabled: true,
    json_schema: { type: 'array', items: { anyOf: [{ type: 'string', pattern: '^a+$' }, { type: 'integer' }, { type: 'object' }] } },
  });
  const small = JSON.stringify(Array.from({ length: 100 }, () => 'aaa'));
  assert.equal((await ingest(src, small)).status, 200);
  const big = JSON.stringify(Array.from({ length: 60000 }, () => 'aaa')); // valid, but too long to check
  const r = await ingest(src, big);
  assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 300));
  assert.match(r.body.validation_errors[0].message, /validation stopped: more than 100000 steps/);
});
