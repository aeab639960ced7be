// Destination templates through the real binary: GET /v1/destination-templates,
// creating from a template (inputs, defaults, overrides, errors, masking), and
// for each service an end-to-end delivery to a local receiver that checks the
// request the way the service documents it and answers as the service does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

const PD_KEY = 'R0123456789abcdef0123456789abcde'; // 32 characters, as PagerDuty's integration keys
const isStr = (v, min = 1, max = Infinity) => typeof v === 'string' && v.length >= min && v.length <= max;

async function create(body) {
  const r = await srv.req('POST', '/v1/destinations', body);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function deliverOne(dst, payload, headers = { 'content-type': 'application/json' }) {
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, {
    method: 'POST', headers, body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  assert.equal(r.status, 200);
  const { event_id } = await r.json();
  const ev = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${event_id}`)).body;
    return e.attempts?.length ? e : null;
  }, 10000, 'an attempt');
  return { event_id, source_id: src.id, attempt: ev.attempts[0], event: ev };
}

// Each service's documented request contract; returns the problems found.
const contracts = {
  slack(req, body) {
    const p = [];
    if (!req.headers['content-type']?.startsWith('application/json')) p.push('content-type');
    if (!isStr(body?.text)) p.push('no_text');
    return p;
  },
  discord(req, body) {
    const p = [];
    if (!isStr(body?.content, 1, 2000)) p.push('content must be 1..2000 characters');
    if (body.username !== undefined && !isStr(body.username, 1, 80)) p.push('username');
    return p;
  },
  pagerduty(req, body) {
    const p = [];
    if (!isStr(body?.routing_key, 32, 32)) p.push('routing_key');
    if (!['trigger', 'acknowledge', 'resolve'].includes(body?.event_action)) p.push('event_action');
    if (body?.dedup_key !== undefined && !isStr(body.dedup_key, 1, 255)) p.push('dedup_key');
    const pl = body?.payload;
    if (!isStr(pl?.summary, 1, 1024)) p.push('payload.summary');
    if (!isStr(pl?.source)) p.push('payload.source');
    if (!['critical', 'error', 'warning', 'info'].includes(pl?.severity)) p.push('payload.severity');
    return p;
  },
  datadog(req, body) {
    const p = [];
    if (!isStr(req.headers['dd-api-key'])) p.push('DD-API-KEY');
    const logs = Array.isArray(body) ? body : [body];
    for (const l of logs) {
      if (typeof l !== 'object' || l === null) { p.push('log must be an object'); continue; }
      for (const k of ['ddsource', 'ddtags', 'message', 'service']) if (l[k] !== undefined && !isStr(l[k], 0)) p.push(k);
    }
    return p;
  },
  zapier(req, body) {
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? [] : ['an object'];
  },
  linear(req, body) {
    const p = [];
    if (!isStr(req.headers.authorization) || req.headers.authorization.startsWith('Bearer ')) p.push('Authorization: <API key>');
    if (!isStr(body?.query) || !/mutation\b[\s\S]*issueCreate\(input: \$input\)/.test(body.query)) p.push('query');
    const input = body?.variables?.input;
    if (!isStr(input?.teamId)) p.push('variables.input.teamId');
    if (!isStr(input?.title, 1, 255)) p.push('variables.input.title');
    if (input?.priority !== undefined && ![0, 1, 2, 3, 4].includes(input.priority)) p.push('priority');
    return p;
  },
};

// What each service answers on success.
const answers = {
  slack: { status: 200, body: 'ok', headers: { 'content-type': 'text/html' } },
  discord: { status: 204, body: '' },
  pagerduty: (b) => ({ status: 202, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: b.dedup_key }) }),
  datadog: { status: 202, body: '{}', headers: { 'content-type': 'application/json' } },
  zapier: { status: 200, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ attempt: 'a1', id: 'i1', request_id: 'r1', status: 'success' }) },
  linear: { status: 200, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { issueCreate: { success: true, issue: { id: 'x', identifier: 'ENG-1', url: 'https://linear.app/x' } } } }) },
};

async function serviceReceiver(name) {
  return startReceiver((req) => {
    let body;
    try { body = JSON.parse(req.body.toString()); } catch { return { status: 400, body: 'invalid_payload' }; }
    req.json = body;
    const problems = contracts[name](req, body);
    req.problems = problems;
    if (problems.length) return { status: 400, body: JSON.stringify({ errors: problems }) };
    const a = answers[name];
    return typeof a === 'function' ? a(body) : a;
  });
}

test('GET /v1/destination-templates lists the six templates with their inputs and payload shape', async () => {
  const r = await srv.req('GET', '/v1/destination-templates');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.templates.map((t) => t.name), ['slack', 'discord', 'pagerduty', 'datadog', 'zapier', 'linear']);
  for (const t of r.body.templates) {
    assert.ok(t.title && t.description && t.docs_url.startsWith('https://'), t.name);
    assert.equal(t.destination.type, 'http');
    assert.ok(t.destination.config.url, t.name);
    assert.ok(t.destination.transform.length > 10, t.name);
    assert.ok(t.inputs.some((i) => i.required), `${t.name} asks for something`);
    // every shape compiles: try it on a sample with the test endpoint
    const inputs = Object.fromEntries(t.inputs.map((i) => [i.name, i.default ?? (i.choices ? i.choices[0] : 'x')]));
    const x = await srv.req('POST', '/v1/transforms/test', {
      expression: t.destination.transform, input: { text: 'hello' },
      bindings: { inputs, event_id: 'evt_1', source_id: 'src_1', headers: {} },
    });
    assert.equal(x.status, 200, `${t.name}: ${x.text}`);
  }
  const pd = r.body.templates.find((t) => t.name === 'pagerduty');
  const rk = pd.inputs.find((i) => i.name === 'routing_key');
  assert.deepEqual([rk.required, rk.secret, rk.used_in], [true, true, 'payload']);
  const dd = (await srv.req('GET', '/v1/destination-templates/datadog')).body;
  assert.equal(dd.destination.config.auth.header, 'DD-API-KEY');
  assert.equal((await srv.req('GET', '/v1/destination-templates/teams')).status, 404);
});

test('slack: an Incoming Webhook message with the summary and the payload', async () => {
  const rx = await serviceReceiver('slack');
  const dst = await create({ template: 'slack', template_inputs: { webhook_url: rx.url } });
  assert.equal(dst.name, 'Slack');
  assert.equal(dst.config.url, rx.url);
  const { attempt } = await deliverOne(dst, { title: 'Deploy finished', env: 'prod' });
  assert.equal(attempt.status, 'success', attempt.error);
  const req = rx.requests[0];
  assert.deepEqual(req.problems, []);
  assert.match(req.json.text, /^Deploy finished\n```\{\n  "title": "Deploy finished",\n  "env": "prod"\n\}```$/);
  // a payload with its own text is sent as it says; a body that is not JSON still gives a message
  await deliverOne(dst, { text: 'Hello *world*' });
  assert.equal(rx.requests[1].json.text, 'Hello *world*');
  const { event_id, source_id } = await deliverOne(dst, 'plain text', { 'content-type': 'text/plain' });
  assert.equal(rx.requests[2].json.text, `Event ${event_id} from ${source_id}`);
  await rx.close();
});

test('discord: content within 2000 characters and the username input', async () => {
  const rx = await serviceReceiver('discord');
  const dst = await create({ template: 'discord', template_inputs: { webhook_url: rx.url, username: 'hookstream bot' } });
  const { attempt } = await deliverOne(dst, { message: 'Build failed', log: 'x'.repeat(5000) });
  assert.equal(attempt.status, 'success', attempt.error);
  assert.equal(attempt.response_status, 204);
  const b = rx.requests[0].json;
  assert.deepEqual(rx.requests[0].problems, []);
  assert.equal(b.username, 'hookstream bot');
  assert.ok(b.content.startsWith('Build failed\n```'));
  assert.ok(b.content.length <= 2000);
  await rx.close();
});

test('pagerduty: an Events API v2 trigger; inputs masked on read, patchable, kept when patched back masked', async () => {
  const rx = await serviceReceiver('pagerduty');
  const dst = await create({
    template: 'pagerduty', template_inputs: { routing_key: PD_KEY, severity: 'critical' },
    config: { url: rx.url }, // explicit fields override the template's (the real Events API URL)
  });
  assert.equal(dst.template_inputs.routing_key, '********' + PD_KEY.slice(-4));
  assert.equal(dst.template_inputs.event_action, 'trigger', 'default filled in');
  const { attempt, event_id, source_id } = await deliverOne(dst, { summary: 'CPU at 99% on db-1', host: 'db-1' });
  assert.equal(attempt.status, 'success', attempt.error);
  assert.equal(attempt.response_status, 202);
  const b = rx.requests[0].json;
  assert.deepEqual(rx.requests[0].problems, []);
  assert.deepEqual(b, {
    routing_key: PD_KEY, event_action: 'trigger', dedup_key: event_id,
    payload: { summary: 'CPU at 99% on db-1', source: `hookstream/${source_id}`, severity: 'critical',
      custom_details: { summary: 'CPU at 99% on db-1', host: 'db-1' } },
  });
  // PATCH back what was read (the masked key) plus a new severity: the key is kept
  const p = await srv.req('PATCH', `/v1/destinations/${dst.id}`, {
    template_inputs: { ...dst.template_inputs, severity: 'warning', source: 'monitoring' },
  });
  assert.equal(p.status, 200, p.text);
  await until(async () => {
    await deliverOne(dst, { summary: 'disk', dedup_key: 'disk-db-1' });
    return rx.requests.at(-1).json.payload.severity === 'warning';
  }, 5000, 'the patched severity');
  const last = rx.requests.at(-1).json;
  assert.equal(last.routing_key, PD_KEY);
  assert.equal(last.dedup_key, 'disk-db-1');
  assert.equal(last.payload.source, 'monitoring');
  // the template cannot be swapped afterwards, and inputs are checked on patch too
  const t = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { template: 'slack' });
  assert.equal(t.status, 400);
  assert.equal(t.body.field, 'template');
  const bad = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { template_inputs: { severity: 'meh' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.field, 'template_inputs.severity');
  const rm = await srv.req('PATCH', `/v1/destinations/${dst.id}`, { template_inputs: { routing_key: null } });
  assert.equal(rm.status, 400);
  assert.equal(rm.body.field, 'template_inputs.routing_key');
  await rx.close();
});

test('datadog: logs intake with DD-API-KEY (masked in the attempt) and tags', async () => {
  const rx = await serviceReceiver('datadog');
  const dst = await create({
    template: 'datadog', template_inputs: { api_key: 'dd0123456789abcdef', site: 'datadoghq.eu', tags: 'env:prod' },
    config: { url: rx.url },
  });
  assert.equal(dst.config.auth.key, '********cdef');
  assert.equal(dst.template_inputs.api_key, undefined, 'config inputs live in the config only');
  const { attempt, event_id, source_id } = await deliverOne(dst, { message: 'user signed up', user: 7 });
  assert.equal(attempt.status, 'success', attempt.error);
  const req = rx.requests[0];
  assert.deepEqual(req.problems, []);
  assert.equal(req.headers['dd-api-key'], 'dd0123456789abcdef');
  assert.equal(attempt.request_headers['DD-API-KEY'] ?? attempt.request_headers['dd-api-key'], '********');
  assert.deepEqual(req.json, [{
    ddsource: 'hookstream', service: 'hookstream', ddtags: `event_id:${event_id},source_id:${source_id},env:prod`,
    message: 'user signed up',
    hookstream: { event_id, source_id, payload: { message: 'user signed up', user: 7 } },
  }]);
  // without the override the site picks the intake host
  const eu = await create({ template: 'datadog', template_inputs: { api_key: 'dd0123456789abcdef', site: 'datadoghq.eu' } });
  assert.equal(eu.config.url, 'https://http-intake.logs.datadoghq.eu/api/v2/logs');
  await rx.close();
});

test('zapier: the payload as it is, plus where it came from', async () => {
  const rx = await serviceReceiver('zapier');
  const dst = await create({ template: 'zapier', template_inputs: { webhook_url: rx.url } });
  const { attempt, event_id, source_id } = await deliverOne(dst, { order: 42, items: [1, 2] });
  assert.equal(attempt.status, 'success', attempt.error);
  assert.deepEqual(rx.requests[0].json, { order: 42, items: [1, 2], hookstream_event_id: event_id, hookstream_source_id: source_id });
  await deliverOne(dst, [1, 2, 3]);
  assert.deepEqual(rx.requests[1].json.data, [1, 2, 3]);
  await rx.close();
});

test('linear: an issueCreate mutation; GraphQL errors in a 200 fail the attempt', async () => {
  const rx = await serviceReceiver('linear');
  const dst = await create({
    template: 'linear', template_inputs: { api_key: 'lin_api_0123456789abcdef', team_id: 'team-uuid-1', priority: '2' },
    config: { url: rx.url }, retry_policy: { max_retries: 0 },
  });
  const { attempt, event_id } = await deliverOne(dst, { title: 'Payment failed for order 42', order: 42 });
  assert.equal(attempt.status, 'success', attempt.error);
  const req = rx.requests[0];
  assert.deepEqual(req.problems, []);
  assert.equal(req.headers.authorization, 'lin_api_0123456789abcdef');
  const input = req.json.variables.input;
  assert.equal(input.teamId, 'team-uuid-1');
  assert.equal(input.title, 'Payment failed for order 42');
  assert.equal(input.priority, 2);
  assert.ok(input.description.startsWith(`Event \`${event_id}\``));
  assert.ok(input.description.includes('"order": 42'));
  rx.behave = () => ({ status: 200, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: null, errors: [{ message: 'Entity not found: Team', extensions: { code: 'INVALID_INPUT' } }] }) });
  const failed = await deliverOne(dst, { title: 'x' });
  const a = await until(async () => {
    const e = (await srv.req('GET', `/v1/events/${failed.event_id}`)).body;
    return e.status === 'failed' ? e.attempts[0] : null;
  }, 5000, 'failed');
  assert.equal(a.status, 'failed');
  assert.match(a.error, /GraphQL errors: Entity not found: Team/);
  await rx.close();
});

test('explicit fields override the template; a connection transform runs before the payload shape', async () => {
  const rx = await serviceReceiver('slack');
  const dst = await create({
    template: 'slack', name: 'alerts', template_inputs: { webhook_url: 'https://hooks.slack.com/services/T0/B0/x' },
    config: { url: rx.url, headers: { 'X-Team': 'ops' } }, retry_policy: { max_retries: 1 },
  });
  assert.equal(dst.name, 'alerts');
  assert.equal(dst.config.url, rx.url);
  assert.equal(dst.retry_policy.max_retries, 1);
  const src = await makeSource(srv);
  await makeConnection(srv, src.id, dst.id, { transform: '{"text": "Order " & id & " paid"}' });
  await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"o_9"}' });
  await rx.waitFor(1);
  assert.equal(rx.requests[0].headers['x-team'], 'ops');
  assert.deepEqual(rx.requests[0].json, { text: 'Order o_9 paid' });
  // a transform given explicitly replaces the template's payload shape
  const own = await create({ template: 'slack', template_inputs: { webhook_url: rx.url }, transform: '{"text": "custom"}' });
  await deliverOne(own, { a: 1 });
  assert.deepEqual(rx.requests[1].json, { text: 'custom' });
  await rx.close();
});

test('template errors are 400s that name the input', async () => {
  const cases = [
    [{ template: 'slack' }, 'template_inputs.webhook_url', /required by the slack template/],
    [{ template: 'slack', template_inputs: { webhook_url: 'http://127.0.0.1:9/', channel: '#x' } }, 'template_inputs.channel', /not an input of the slack template/],
    [{ template: 'pagerduty', template_inputs: { routing_key: PD_KEY, severity: 'high' } }, 'template_inputs.severity', /must be one of/],
    [{ template: 'pagerduty', template_inputs: { routing_key: 7 } }, 'template_inputs.routing_key', /string/],
    [{ template: 'datadog', template_inputs: { api_key: 'k'.repeat(20), site: 'evil.example' } }, 'template_inputs.site', /must be one of/],
    [{ template: 'slack', template_inputs: { webhook_url: 'ftp://x' } }, 'config.url', /http/],
    [{ template: 'teams', template_inputs: {} }, 'template', /must be one of: slack, discord, pagerduty, datadog, zapier, linear/],
    [{ template: 'slack', type: 'aws_sqs', template_inputs: { webhook_url: 'http://127.0.0.1:9/' } }, 'type', /http/],
    [{ template: 'slack', template_inputs: 'x' }, 'template_inputs', /object/],
    [{ name: 'plain', config: { url: 'http://127.0.0.1:9/' }, template_inputs: { a: 'b' } }, 'template_inputs', /only for a destination created from a template/],
    [{ template: 'slack', template_inputs: { webhook_url: 'http://127.0.0.1:9/' }, transform: '{"a": ' }, 'transform', /not a valid JSONata expression/],
  ];
  for (const [body, field, msg] of cases) {
    const r = await srv.req('POST', '/v1/destinations', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field, JSON.stringify(body));
    assert.match(r.body.error, msg, JSON.stringify(body));
  }
  // the linear template's api key may be given where it ends up instead
  const ok = await srv.req('POST', '/v1/destinations', {
    template: 'linear', template_inputs: { team_id: 't' }, config: { auth: { type: 'api_key', header: 'Authorization', key: 'lin_api_direct' } },
  });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.config.url, 'https://api.linear.app/graphql');
});
