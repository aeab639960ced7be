// GET /v1/openapi.json (src/api/openapi.json, served by src/api/openapi.c)
// is kept true here:
//  - it is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator,
//    the official OAS 3.1 schemas);
//  - every route of the router's table (which the server lists in the
//    document's "x-hookstream-routes", from src/api/router.c itself) and
//    every route answered before the table (/health, ingest, /v1/ws, the
//    dashboard) has its path and method in it, and it has no other;
//  - every operation is called for real, and each answer's body validates
//    (ajv, JSON Schema 2020-12) against the schema the document gives for
//    that path, method, status and content type; each request body sent
//    validates against the operation's requestBody schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { startServer } from './lib/server.mjs';
import { until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const peerRequire = createRequire(PEERS_DIR + '/');
const Ajv2020 = peerRequire('ajv/dist/2020').default;
const { Validator } = await import(pathToFileURL(peerRequire.resolve('@seriousme/openapi-schema-validator')).href);

// Routes hs_api_handle answers before its table: in OpenAPI form.
const OUTSIDE_TABLE = [
  'GET /health',
  ...['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => `${m} /v1/ingest/{source}`),
  'GET /v1/ws',
  'GET /',
  'GET /index.html',
  'GET /assets/{name}',
];
// Operations whose success cannot be had from fetch(): the WebSocket
// upgrade (101) is websocket.test.mjs's; its 401 is checked here.
const NO_SUCCESS_CHECK = new Set(['GET /v1/ws']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let srv, rx, rxUrl, doc, ajv;
const checked = new Map(); // "METHOD /path" -> Set of statuses validated

before(async () => {
  rx = http.createServer((q, s) => {
    q.resume();
    q.on('end', () => { s.writeHead(q.url.includes('fail') ? 500 : 200, { 'content-type': 'text/plain' }); s.end('ok'); });
  });
  await new Promise((r) => rx.listen(0, '127.0.0.1', r));
  rxUrl = `http://127.0.0.1:${rx.address().port}`;
  srv = await startServer();
  const r = await srv.req('GET', '/v1/openapi.json');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  doc = r.body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'oas');
});
after(async () => { await srv?.stop(); srv?.cleanup(); rx?.close(); });

const ptr = (...parts) => parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
// Follows a local "$ref" (#/components/...) to [object, its JSON pointer].
function deref(obj, pointer) {
  while (obj && obj.$ref) {
    assert.match(obj.$ref, /^#\//);
    pointer = obj.$ref.slice(1);
    obj = pointer.split('/').slice(1).reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    assert.ok(obj, `dangling ${pointer}`);
  }
  return [obj, pointer];
}
function validateAt(pointer, value, what) {
  const v = ajv.getSchema(`oas#${pointer}`);
  assert.ok(v, `no schema at ${pointer}`);
  assert.ok(v(value), `${what} does not match ${pointer}:\n${JSON.stringify(v.errors, null, 1)}\n${JSON.stringify(value).slice(0, 2000)}`);
}

// Calls `method template` (path parameters from params, then suffix) and
// validates the request body and the answer against the document. Returns
// the answer (srv.req's shape).
async function call(method, template, { params = {}, suffix = '', body, headers, expect, on = srv } = {}) {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not in the document`);
  const opPtr = ptr('', 'paths', template, method.toLowerCase());
  if (body !== undefined && typeof body === 'object') {
    assert.ok(op.requestBody, `${method} ${template} takes no body in the document`);
    const [rb, rbPtr] = deref(op.requestBody, opPtr + '/requestBody');
    const ct = rb.content['application/json'] ? 'application/json' : '*/*';
    validateAt(rbPtr + ptr('', 'content', ct, 'schema'), body, `request body of ${method} ${template}`);
  }
  const p = template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k])) + suffix;
  const r = await on.req(method, p, body, headers);
  if (expect !== undefined) assert.equal(r.status, expect, `${method} ${p}: ${r.text}`);
  const key = r.status in op.responses ? String(r.status) : r.status >= 400 && op.responses.default ? 'default' : null;
  assert.ok(key, `${method} ${template} answered ${r.status}, which the document does not list`);
  if (r.status < 400) assert.notEqual(key, 'default');
  const [resp, respPtr] = deref(op.responses[key], opPtr + ptr('', 'responses', key));
  if (resp.content) {
    const mt = (r.headers.get('content-type') || '').split(';')[0].trim();
    const ct = resp.content[mt] ? mt : resp.content['*/*'] ? '*/*' : null;
    assert.ok(ct, `${method} ${template} ${r.status}: content type ${mt} is not documented`);
    const value = mt === 'application/json' ? JSON.parse(r.text) : r.text;
    validateAt(respPtr + ptr('', 'content', ct, 'schema'), value, `${method} ${template} ${r.status}`);
  } else {
    assert.equal(r.text, '', `${method} ${template} ${r.status} has a body the document does not describe`);
  }
  const k = `${method} ${template}`;
  if (!checked.has(k)) checked.set(k, new Set());
  checked.get(k).add(r.status);
  return r;
}

test('the document is a valid OpenAPI 3.1 document', async () => {
  const v = new Validator();
  const res = await v.validate(structuredClone(doc));
  assert.equal(v.version, '3.1');
  assert.ok(res.valid, JSON.stringify(res.errors, null, 1));
  assert.equal(doc.openapi.slice(0, 4), '3.1.');
  // the schemes docs/api.md names: Bearer and X-API-Key
  const ss = doc.components.securitySchemes;
  assert.ok(Object.values(ss).some((s) => s.type === 'http' && s.scheme === 'bearer'));
  assert.ok(Object.values(ss).some((s) => s.type === 'apiKey' && s.in === 'header' && s.name === 'X-API-Key'));
  // every schema compiles as JSON Schema 2020-12
  for (const name of Object.keys(doc.components.schemas)) assert.ok(ajv.getSchema(`oas#/components/schemas/${name}`), name);
});

test('every route of the router is in the document, and nothing else', () => {
  const table = doc['x-hookstream-routes'];
  assert.ok(Array.isArray(table) && table.length > 20, 'x-hookstream-routes lists the router table');
  const routes = new Set([
    ...table.map(({ method, path }) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`),
    ...OUTSIDE_TABLE,
  ]);
  const documented = new Set();
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) if (item[m]) documented.add(`${m.toUpperCase()} ${p}`);
  }
  assert.deepEqual([...routes].filter((r) => !documented.has(r)), [], 'routes missing from the document');
  assert.deepEqual([...documented].filter((r) => !routes.has(r)), [], 'documented operations the router does not have');
});

test('real answers of every route validate against the document', async () => {
  const S = (o) => ({ params: o });
  // public routes
  await call('GET', '/health', { expect: 200 });
  await call('GET', '/', { expect: 200 });
  await call('GET', '/index.html', { expect: 200 });
  await call('GET', '/assets/{name}', { ...S({ name: 'app.js' }), expect: 200 });
  await call('GET', '/assets/{name}', { ...S({ name: 'nope.js' }), expect: 404 });
  await call('GET', '/v1/openapi.json', { expect: 200 });
  await call('GET', '/v1/openapi.json', { headers: { authorization: 'Bearer wrong' }, expect: 401 });
  await call('GET', '/v1/ws', { headers: { authorization: 'Bearer wrong' }, expect: 401 });

  // sources
  const src = (await call('POST', '/v1/sources', { body: { name: 'OAS source', slug: 'oas-src', description: 'd' }, expect: 201 })).body;
  await call('POST', '/v1/sources', { body: { name: 'dup', slug: 'oas-src' }, expect: 409 });
  await call('POST', '/v1/sources', { body: { name: 42 }, expect: 400 }).catch((e) => {
    // the body is deliberately invalid: it must fail the document's own schema
    assert.match(e.message, /request body of POST \/v1\/sources does not match/);
  });
  const bad = await srv.req('POST', '/v1/sources', { name: 42 });
  assert.equal(bad.status, 400);
  validateAt('/components/schemas/Error', bad.body, '400');
  await call('GET', '/v1/sources', { suffix: '?limit=0', expect: 400 });
  await call('GET', '/v1/sources', { expect: 200 });
  await call('GET', '/v1/sources', { headers: { 'x-api-key': 'nope' }, expect: 401 });
  await call('GET', '/v1/sources/{id}', { ...S({ id: src.id }), expect: 200 });
  await call('GET', '/v1/sources/{id}', { ...S({ id: 'src_00000000000000000000000000000000' }), expect: 404 });
  await call('PATCH', '/v1/sources/{id}', { ...S({ id: src.id }), body: { status: 'active', description: null }, expect: 200 });

  // destinations: one that fails (dead-letters at once), one that works
  const dst = (await call('POST', '/v1/destinations', {
    body: { name: 'OAS fail', config: { url: rxUrl + '/fail' }, retry_policy: { max_retries: 0 }, circuit_breaker: { threshold: 1000 }, signing: { secret: 's'.repeat(24) } },
    expect: 201,
  })).body;
  const okDst = (await call('POST', '/v1/destinations', { body: { name: 'OAS ok', slug: 'oas-ok', config: { url: rxUrl + '/ok' } }, expect: 201 })).body;
  await call('POST', '/v1/destinations', { body: { name: 'x', config: { url: 'ftp://x' } }, expect: 400 });
  await call('GET', '/v1/destinations', { expect: 200 });
  await call('GET', '/v1/destinations/{id}', { ...S({ id: dst.id }), expect: 200 });
  await call('PATCH', '/v1/destinations/{id}', { ...S({ id: okDst.id }), body: { max_concurrency: 2 }, expect: 200 });
  await call('POST', '/v1/destinations/{id}/rotate-secret', { ...S({ id: dst.id }), body: { expire_old_after_s: 60 }, expect: 200 });
  await call('POST', '/v1/destinations/{id}/rotate-secret', { ...S({ id: okDst.id }), body: {}, expect: 409 });
  await call('POST', '/v1/destinations/{id}/rotate-secret', { ...S({ id: 'dst_00000000000000000000000000000000' }), body: {}, expect: 404 });

  // connections
  const conn = (await call('POST', '/v1/connections', { body: { source_id: 'oas-src', destination_id: dst.id }, expect: 201 })).body;
  await call('POST', '/v1/connections', { body: { source_id: 'oas-src', destination_id: okDst.id, filter_rules: [{ field: 'payload.a', op: 'eq', value: 1 }] }, expect: 201 });
  await call('POST', '/v1/connections', { body: { source_id: 'no-such', destination_id: dst.id }, expect: 400 });
  await call('GET', '/v1/connections', { expect: 200 });
  await call('GET', '/v1/connections/{id}', { ...S({ id: conn.id }), expect: 200 });
  await call('PATCH', '/v1/connections/{id}', { ...S({ id: conn.id }), body: { name: 'renamed', enabled: true }, expect: 200 });

  // ingest, every method (and a sub-path)
  const ing = (await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-src' }), body: { a: 1 }, expect: 200 })).body;
  for (const m of ['GET', 'PUT', 'PATCH', 'DELETE']) {
    await call(m, '/v1/ingest/{source}', { ...S({ source: src.id }), suffix: '/sub/path?x=1', body: m === 'GET' || m === 'DELETE' ? undefined : 'raw', headers: { 'content-type': 'text/plain' }, expect: 200 });
  }
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'no-such-source' }), body: {}, expect: 404 });
  // the front door: a source with an IP list and a rate limit (403, 429)
  const door = (await call('POST', '/v1/sources', { body: { name: 'door', slug: 'oas-door', ip_allowlist: ['127.0.0.1', '2001:db8::/32'], ip_denylist: ['10.0.0.0/8'], rate_limit: { requests_per_second: 0.01 } }, expect: 201 })).body;
  await call('PATCH', '/v1/sources/{id}', { ...S({ id: door.id }), body: { ip_denylist: null, rate_limit: { burst: 1 } }, expect: 200 });
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-door' }), body: {}, expect: 200 });
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-door' }), body: {}, expect: 429 });
  await call('PATCH', '/v1/sources/{id}', { ...S({ id: door.id }), body: { ip_allowlist: ['192.0.2.1'], rate_limit: null }, expect: 200 });
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-door' }), body: {}, expect: 403 });
  // a signature the source cannot verify (401 with its reason)
  await call('POST', '/v1/sources', { body: { name: 'signed', slug: 'oas-signed', template: 'github', verification_secret: 'oas-secret-123456', verification_secrets: ['older-secret'], verification_config: {} }, expect: 201 });
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-signed' }), body: {}, headers: { 'x-hub-signature-256': 'sha256=00' }, expect: 401 });
  // a body its JSON schema refuses (422 with validation_errors)
  await call('POST', '/v1/sources', { body: { name: 'schema', slug: 'oas-schema', schema_validation_enabled: true, json_schema: '{"type":"object","required":["id"]}', schema_action: 'reject' }, expect: 201 });
  await call('POST', '/v1/ingest/{source}', { ...S({ source: 'oas-schema' }), body: { other: 1 }, expect: 422 });

  // wait for the failing delivery to be dead-lettered
  let attempts;
  for (let i = 0; i < 100; i++) {
    attempts = (await srv.req('GET', `/v1/delivery-attempts?event_id=${ing.event_id}&is_dlq=1`)).body.delivery_attempts;
    if (attempts.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(attempts.length, 'the failing delivery was dead-lettered');

  // events
  await call('GET', '/v1/events', { expect: 200 });
  await call('GET', '/v1/events', { suffix: '?colour=red', expect: 400 });
  await call('GET', '/v1/events/{id}', { ...S({ id: ing.event_id }), expect: 200 });
  await call('GET', '/v1/events/{id}', { ...S({ id: 'evt_00000000000000000000000000000000' }), expect: 404 });
  await call('POST', '/v1/events/{id}/retry', { ...S({ id: ing.event_id }), expect: 202 });

  // delivery attempts
  for (let i = 0; i < 100; i++) {
    attempts = (await srv.req('GET', `/v1/delivery-attempts?event_id=${ing.event_id}&destination_id=${dst.id}`)).body.delivery_attempts;
    if (attempts.length >= 2 && attempts[0].is_dlq) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await call('GET', '/v1/delivery-attempts', { suffix: '?is_dlq=1', expect: 200 });
  await call('GET', '/v1/delivery-attempts', { suffix: '?limit=abc', expect: 400 });
  await call('GET', '/v1/delivery-attempts/{id}', { ...S({ id: attempts[0].id }), expect: 200 });
  await call('GET', '/v1/delivery-attempts/{id}', { ...S({ id: 'da_00000000000000000000000000000000' }), expect: 404 });
  await call('POST', '/v1/delivery-attempts/{id}/retry', { ...S({ id: attempts[0].id }), expect: 202 });
  const okAttempt = (await srv.req('GET', `/v1/delivery-attempts?destination_id=${okDst.id}&status=success`)).body.delivery_attempts[0];
  if (okAttempt) await call('POST', '/v1/delivery-attempts/{id}/retry', { ...S({ id: okAttempt.id }), expect: 409 });
  // bulk retry: a filter is required
  await call('POST', '/v1/delivery-attempts/retry', { body: {}, expect: 422 });
  await call('POST', '/v1/delivery-attempts/retry', { suffix: '?colour=red', expect: 400 });
  await call('POST', '/v1/delivery-attempts/retry', { body: { destination_id: dst.id, is_dlq: 1 }, expect: 202 });

  // replay jobs
  const win = { from: 0, to: Date.now() + 1000 };
  const job = (await call('POST', '/v1/replay', { body: { destination_id: okDst.id, ...win, rate: 1 }, expect: 201 })).body.job;
  await call('POST', '/v1/replay', { body: { destination_id: okDst.id, from: 2, to: 1 }, expect: 422 });
  await call('POST', '/v1/replay', { body: { destination_id: 'dst_00000000000000000000000000000000', ...win }, expect: 404 });
  await call('POST', '/v1/replay', { body: { destination_id: okDst.id, ...win, max_events: 'many' }, expect: 400 }).catch((e) => {
    assert.match(e.message, /request body of POST \/v1\/replay does not match/);
  });
  await call('GET', '/v1/replay', { expect: 200 });
  await call('GET', '/v1/replay', { suffix: '?limit=abc', expect: 400 });
  await call('GET', '/v1/replay/{id}', { ...S({ id: job.id }), expect: 200 });
  await call('GET', '/v1/replay/{id}', { ...S({ id: 'rpl_00000000000000000000000000000000' }), expect: 404 });
  const cancelled = await call('DELETE', '/v1/replay/{id}', { ...S({ id: job.id }) });
  assert.ok(cancelled.status === 200 || cancelled.status === 409, cancelled.text);
  await call('DELETE', '/v1/replay/{id}', { ...S({ id: job.id }), expect: 409 });
  await call('DELETE', '/v1/replay/{id}', { ...S({ id: 'rpl_00000000000000000000000000000000' }), expect: 404 });

  // circuit breaker, metrics
  await call('GET', '/v1/destinations/{id}/circuit', { ...S({ id: dst.id }), expect: 200 });
  await call('GET', '/v1/destinations/{id}/circuit', { ...S({ id: 'oas-ok' }), expect: 404 });
  await call('POST', '/v1/destinations/{id}/circuit/reset', { ...S({ id: dst.id }), expect: 200 });
  await call('GET', '/v1/circuits', { expect: 200 });
  // several nodes: a server on SQLite is in no cluster (no nodes); one on
  // PostgreSQL lists itself (when tests/run.sh started one)
  const lone = await call('GET', '/v1/cluster', { expect: 200 });
  assert.deepEqual(lone.body, { node_id: null, nodes: [] });
  if (process.env.HOOKSTREAM_TEST_PG) {
    const pg = await startServer({ db: `${process.env.HOOKSTREAM_TEST_PG}/oas_${process.pid}`, args: ['--node-id', 'oas'] });
    try {
      await call('GET', '/v1/cluster', { on: pg, expect: 200 });
      const d = (await call('POST', '/v1/destinations', { on: pg, body: { name: 'OAS pg', config: { url: rxUrl + '/ok' } }, expect: 201 })).body;
      // the node that created it holds it: at once when its cluster was
      // ready, else at its first claim round (bounded wait)
      let c;
      await until(async () => (c = await call('GET', '/v1/destinations/{id}/circuit', { on: pg, ...S({ id: d.id }), expect: 200 })).body.node_id === 'oas',
        10000, 'the node that created the destination (oas) to hold its lease');
      assert.equal(c.body.node_id, 'oas', 'the node that created it holds it');
    } finally {
      await pg.stop();
    }
  }
  await call('GET', '/metrics', { expect: 200 });
  await call('GET', '/v1/metrics/overview', { suffix: '?minutes=5', expect: 200 });
  await call('GET', '/v1/metrics/overview', { suffix: '?minutes=61', expect: 400 });

  // API keys
  const made = (await call('POST', '/v1/auth/api-keys', { body: { name: 'OAS key' }, expect: 201 })).body.api_key;
  await srv.req('GET', '/v1/sources', undefined, { authorization: `Bearer ${made.key}` });
  await call('POST', '/v1/auth/api-keys', { body: { name: '' }, expect: 400 }).catch((e) => {
    assert.match(e.message, /request body of POST \/v1\/auth\/api-keys does not match/);
  });
  await call('GET', '/v1/auth/api-keys', { expect: 200 });
  await call('DELETE', '/v1/auth/api-keys/{id}', { ...S({ id: made.id }), expect: 200 });
  await call('DELETE', '/v1/auth/api-keys/{id}', { ...S({ id: made.id }), expect: 404 });

  // issues (the failing destination's dead letters opened one)
  let issues;
  for (let i = 0; i < 100; i++) {
    issues = (await srv.req('GET', `/v1/issues?destination_id=${dst.id}`)).body.issues;
    if (issues.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(issues.length, 'a dead letter opened an issue');
  await call('GET', '/v1/issues', { suffix: '?status=open&limit=5', expect: 200 });
  await call('GET', '/v1/issues', { suffix: '?status=closed', expect: 400 });
  await call('GET', '/v1/issues/summary', { expect: 200 });
  await call('GET', '/v1/issues/{id}', { ...S({ id: issues[0].id }), expect: 200 });
  await call('GET', '/v1/issues/{id}', { ...S({ id: 'iss_00000000000000000000000000000000' }), expect: 404 });
  await call('PATCH', '/v1/issues/{id}', { ...S({ id: issues[0].id }), body: { status: 'acknowledged', snoozed_until: '2030-01-01T00:00:00.000Z' }, expect: 200 });
  await call('PATCH', '/v1/issues/{id}', { ...S({ id: issues[0].id }), body: { snoozed_until: null }, expect: 200 });
  await call('POST', '/v1/issues/{id}/retry', { ...S({ id: issues[0].id }), expect: 200 });

  // notification channels, alert rules
  const ch = (await call('POST', '/v1/notification-channels', { body: { name: 'OAS hook', channel_type: 'webhook', config: { url: rxUrl + '/ok', secret: 'oas-signing-secret' } }, expect: 201 })).body;
  await call('POST', '/v1/notification-channels', { body: { name: 'OAS mail', channel_type: 'email', config: { to: ['ops@example.com'] } }, expect: 201 });
  await call('POST', '/v1/notification-channels', { body: { name: 'x', channel_type: 'slack', config: { url: 'ftp://x' } }, expect: 400 });
  await call('GET', '/v1/notification-channels', { expect: 200 });
  await call('GET', '/v1/notification-channels/{id}', { ...S({ id: ch.id }), expect: 200 });
  await call('PATCH', '/v1/notification-channels/{id}', { ...S({ id: ch.id }), body: { name: 'OAS hook 2' }, expect: 200 });
  await call('POST', '/v1/notification-channels/{id}/test', { ...S({ id: ch.id }), expect: 200 });
  await call('POST', '/v1/notification-channels/{id}/test', { ...S({ id: 'nch_00000000000000000000000000000000' }), expect: 404 });
  const ar = (await call('POST', '/v1/alert-rules', { body: { name: 'OAS rule', rule_type: 'dlq', rule_config: { threshold: 1 }, destination_id: dst.id, channel_ids: [ch.id] }, expect: 201 })).body;
  await call('POST', '/v1/alert-rules', { body: { name: 'bad', rule_type: 'failure_rate', rule_config: {}, channel_ids: [ch.id] }, expect: 400 });
  await call('GET', '/v1/alert-rules', { expect: 200 });
  await call('GET', '/v1/alert-rules/{id}', { ...S({ id: ar.id }), expect: 200 });
  await call('PATCH', '/v1/alert-rules/{id}', { ...S({ id: ar.id }), body: { enabled: false, cooldown_minutes: 5 }, expect: 200 });
  await call('DELETE', '/v1/alert-rules/{id}', { ...S({ id: ar.id }), expect: 200 });
  await call('DELETE', '/v1/alert-rules/{id}', { ...S({ id: ar.id }), expect: 404 });
  // the outbox: the issue resolved, then reopened by a dead letter, fires an issue_opened rule
  const opened = (await call('POST', '/v1/alert-rules', { body: { name: 'OAS opened', rule_type: 'issue_opened', channel_ids: [ch.id] }, expect: 201 })).body;
  await call('PATCH', '/v1/issues/{id}', { ...S({ id: issues[0].id }), body: { status: 'resolved' }, expect: 200 });
  await call('POST', '/v1/issues/{id}/retry', { ...S({ id: issues[0].id }), expect: 200 });
  let sent;
  for (let i = 0; i < 200 && !sent?.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    sent = (await srv.req('GET', `/v1/notifications?status=sent&channel_id=${ch.id}`)).body.notifications;
  }
  assert.ok(sent?.length, 'the reopened issue sent a notification');
  await call('GET', '/v1/notifications', { suffix: `?status=sent&channel_id=${ch.id}&limit=5`, expect: 200 });
  await call('GET', '/v1/notifications/{id}', { ...S({ id: sent[0].id }), expect: 200 });
  await call('DELETE', '/v1/alert-rules/{id}', { ...S({ id: opened.id }), expect: 200 });
  await call('GET', '/v1/notifications', { suffix: '?status=queued', expect: 400 });
  await call('GET', '/v1/notifications/{id}', { ...S({ id: 'ntf_00000000000000000000000000000000' }), expect: 404 });
  await call('DELETE', '/v1/notification-channels/{id}', { ...S({ id: ch.id }), expect: 200 });
  await call('GET', '/v1/notification-channels/{id}', { ...S({ id: ch.id }), expect: 404 });

  // templates, transforms
  await call('GET', '/v1/destination-templates', { expect: 200 });
  await call('GET', '/v1/destination-templates/{id}', { ...S({ id: 'slack' }), expect: 200 });
  await call('GET', '/v1/destination-templates/{id}', { ...S({ id: 'nope' }), expect: 404 });
  await call('GET', '/v1/source-templates', { expect: 200 });
  await call('GET', '/v1/source-templates/{id}', { ...S({ id: 'stripe' }), expect: 200 });
  await call('GET', '/v1/source-templates/{id}', { ...S({ id: 'nope' }), expect: 404 });
  await call('POST', '/v1/transforms/test', { body: { expression: '$.a', input: { a: 1 } }, expect: 200 });
  await call('POST', '/v1/transforms/test', { body: { expression: 'nothing', input: {} }, expect: 200 });
  await call('POST', '/v1/transforms/test', { body: { expression: '$.(' }, expect: 400 });

  // deletes: in use (409), then in order
  await call('DELETE', '/v1/sources/{id}', { ...S({ id: src.id }), expect: 409 });
  await call('DELETE', '/v1/destinations/{id}', { ...S({ id: dst.id }), expect: 409 });
  for (const c of (await srv.req('GET', '/v1/connections')).body.connections) {
    await call('DELETE', '/v1/connections/{id}', { ...S({ id: c.id }), expect: 200 });
  }
  await call('DELETE', '/v1/connections/{id}', { ...S({ id: conn.id }), expect: 404 });
  await call('DELETE', '/v1/destinations/{id}', { ...S({ id: dst.id }), expect: 200 });
  await call('DELETE', '/v1/destinations/{id}', { ...S({ id: okDst.id }), expect: 200 });
  await call('DELETE', '/v1/sources/{id}', { ...S({ id: src.id }), expect: 200 });
  await call('PATCH', '/v1/sources/{id}', { ...S({ id: src.id }), body: { name: 'gone' }, expect: 404 });

  // every documented operation was called, and had a success checked
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const k = `${m.toUpperCase()} ${p}`;
      assert.ok(checked.has(k), `${k} was never called`);
      if (!NO_SUCCESS_CHECK.has(k)) assert.ok([...checked.get(k)].some((s) => s < 300), `${k}: no success answer checked`);
    }
  }
});
