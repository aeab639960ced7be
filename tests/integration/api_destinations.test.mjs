import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const SA = {
  type: 'service_account', client_email: 'hook@proj.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n',
};
const AWS = { region: 'us-east-1', access_key_id: 'AKIDEXAMPLE', secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

// one valid config per type, and the secret fields that must come back masked
const TYPES = {
  http: [{ url: 'https://example.com/hook', auth: { type: 'bearer', token: 'tok_abcdefghijklmnop1234' } }, ['auth.token']],
  aws_sqs: [{ queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/q', ...AWS }, ['secret_access_key']],
  aws_s3: [{ bucket: 'my-events', ...AWS }, ['secret_access_key']],
  aws_eventbridge: [{ event_bus_arn: 'default', ...AWS }, ['secret_access_key']],
  gcp_pubsub: [{ project_id: 'my-project-1', topic_id: 'events', service_account_json: SA }, ['service_account_json']],
  kafka: [{ rest_url: 'https://kafka.example.com', cluster_id: 'lkc-123', topic: 'events', api_key: 'KEY', api_secret: 'secret-secret-secret-9876' }, ['api_secret']],
  rabbitmq: [{ url: 'http://127.0.0.1:15672', exchange: 'events', username: 'guest', password: 'guest-password-long-1234' }, ['password']],
  websocket: [{ channel_name: 'orders' }, []],
};

function dig(o, p) { return p.split('.').reduce((a, k) => (a == null ? a : a[k]), o); }

test('every destination type validates its config, fills defaults and masks secrets', async () => {
  for (const [type, [config, secrets]] of Object.entries(TYPES)) {
    const r = await srv.req('POST', '/v1/destinations', { name: `d-${type}`, type, config });
    assert.equal(r.status, 201, `${type}: ${r.text}`);
    assert.match(r.body.id, /^dst_[0-9a-f]{32}$/);
    assert.equal(r.body.type, type);
    assert.equal(r.body.status, 'active');
    assert.equal(r.body.max_concurrency, 1);
    assert.equal(r.body.ordering, 'best_effort');
    assert.deepEqual(r.body.retry_policy, { max_retries: 5, backoff_type: 'exponential', intervals: [30, 300, 1800, 7200, 86400] });
    assert.deepEqual(r.body.circuit_breaker, { enabled: true, threshold: 5, cooldown_ms: 60000 });
    for (const s of secrets) {
      const shown = dig(r.body.config, s);
      const real = typeof dig(config, s) === 'string' ? dig(config, s) : JSON.stringify(dig(config, s));
      assert.equal(typeof shown, 'string', `${type}.${s}`);
      assert.notEqual(shown, real, `${type}.${s} masked`);
      assert.ok(!shown.includes(real.slice(0, -4)) || real.length < 5, `${type}.${s} does not leak`);
      if (real.length >= 12) assert.ok(shown.endsWith(real.slice(-4)), `${type}.${s} shows the last 4`);
    }
    const g = await srv.req('GET', `/v1/destinations/${r.body.id}`);
    assert.deepEqual(g.body, r.body);
    assert.ok(!g.text.includes(AWS.secret_access_key));
  }
});

test('http defaults and type aliases', async () => {
  const r = await srv.req('POST', '/v1/destinations', { name: 'plain', provider_config: { url: 'http://127.0.0.1:1/x' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.type, 'http');
  assert.equal(r.body.config.method, 'POST');
  assert.equal(r.body.config.timeout_ms, 30000);
  for (const [alias, canon] of [['sqs', 'aws_sqs'], ['s3', 'aws_s3'], ['eventbridge', 'aws_eventbridge'], ['pubsub', 'gcp_pubsub']]) {
    const a = await srv.req('POST', '/v1/destinations', { name: alias, type: alias, config: TYPES[canon][0] });
    assert.equal(a.status, 201, `${alias}: ${a.text}`);
    assert.equal(a.body.type, canon);
  }
});

test('retry policy, circuit breaker, signing, concurrency', async () => {
  let r = await srv.req('POST', '/v1/destinations', {
    name: 'rp', config: { url: 'http://127.0.0.1:1/x' },
    retry_max_attempts: 3, retry_backoff_type: 'linear', retry_intervals: [2],
    circuit_breaker: { threshold: 3, cooldown_ms: 5000 },
    signing: { secret: 'a-very-long-signing-secret', include_timestamp: true },
    max_concurrency: 4, ordering: 'strict',
  });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.retry_policy, { max_retries: 3, backoff_type: 'linear', intervals: [2] });
  assert.equal(r.body.circuit_breaker.threshold, 3);
  assert.equal(r.body.circuit_breaker.enabled, true);
  assert.equal(r.body.signing.algorithm, 'sha256');
  assert.equal(r.body.signing.header, 'X-hookstream-Signature');
  assert.equal(r.body.signing.prefix, 'sha256=');
  assert.notEqual(r.body.signing.secret, 'a-very-long-signing-secret');
  assert.ok(r.body.signing.secret.endsWith('cret'));
  assert.equal(r.body.max_concurrency, 4);
  assert.equal(r.body.ordering, 'strict');

  const bad = [
    [{ retry_policy: { max_retries: 21 } }, 'retry_policy.max_retries'],
    [{ retry_policy: { backoff_type: 'random' } }, 'retry_policy.backoff_type'],
    [{ retry_policy: { intervals: [] } }, 'retry_policy.intervals'],
    [{ retry_policy: { intervals: [1, -2] } }, 'retry_policy.intervals[1]'],
    [{ circuit_breaker: { threshold: 0 } }, 'circuit_breaker.threshold'],
    [{ circuit_breaker: { bogus: 1 } }, 'circuit_breaker.bogus'],
    [{ signing: { secret: 'x'.repeat(20), algorithm: 'md5' } }, 'signing.algorithm'],
    [{ signing: { secret: 'x'.repeat(20), scheme: 'standard_webhooks' } }, 'signing.secret'],
    [{ max_concurrency: 0 }, 'max_concurrency'],
    [{ ordering: 'sometimes' }, 'ordering'],
    [{ type: 'carrier_pigeon' }, 'type'],
    [{ config: { url: 'ftp://x' } }, 'config.url'],
    [{ config: {} }, 'config.url'],
    [{ config: { url: 'http://h/x', method: 'GET' } }, 'config.method'],
    [{ config: { url: 'http://h/x', auth: { type: 'bearer' } } }, 'config.auth.token'],
    [{ config: { url: 'http://h/x', surprise: true } }, 'config.surprise'],
    [{ config: { url: 'http://h/x' }, provider_config: { url: 'http://h/x' } }, 'provider_config'],
  ];
  for (const [extra, field] of bad) {
    const body = { name: 'bad', config: { url: 'http://127.0.0.1:1/x' }, ...extra };
    r = await srv.req('POST', '/v1/destinations', body);
    assert.equal(r.status, 400, `${JSON.stringify(extra)} -> ${r.text}`);
    assert.equal(r.body.field, field, `${JSON.stringify(extra)} -> ${r.text}`);
  }
  const ok = await srv.req('POST', '/v1/destinations', {
    name: 'sw', config: { url: 'http://127.0.0.1:1/x' },
    signing: { secret: 'whsec_' + Buffer.from('0123456789abcdef0123').toString('base64'), scheme: 'standard_webhooks' },
  });
  assert.equal(ok.status, 201, ok.text);
});

test('provider configs are checked for every type', async () => {
  const bad = [
    ['aws_sqs', { ...AWS }, 'config.queue_url'],
    ['aws_sqs', { queue_url: 'https://q.example/1/q', region: 'us-east-1', access_key_id: 'A' }, 'config.secret_access_key'],
    ['aws_s3', { bucket: 'No_Such', ...AWS }, 'config.bucket'],
    ['aws_s3', { bucket: 'fine-bucket', format: 'xml', ...AWS }, 'config.format'],
    ['gcp_pubsub', { project_id: 'my-project-1', topic_id: 'events', service_account_json: { client_email: 'x@y' } }, 'config.service_account_json'],
    ['kafka', { rest_url: 'https://k', cluster_id: 'c', topic: 'bad topic!' }, 'config.topic'],
    ['rabbitmq', { url: 'http://127.0.0.1:15672', exchange: 'e', username: 'u' }, 'config.password'],
    ['websocket', {}, 'config.channel_name'],
    ['websocket', { channel_name: 'has space' }, 'config.channel_name'],
  ];
  for (const [type, config, field] of bad) {
    const r = await srv.req('POST', '/v1/destinations', { name: 'bad', type, config });
    assert.equal(r.status, 400, `${type} ${JSON.stringify(config)} -> ${r.text}`);
    assert.equal(r.body.field, field, `${type} -> ${r.text}`);
  }
});

test('PATCH merges, keeps secrets it does not name, and re-validates', async () => {
  const c = await srv.req('POST', '/v1/destinations', { name: 'rabbit', type: 'rabbitmq', config: TYPES.rabbitmq[0] });
  assert.equal(c.status, 201);
  let p = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { config: { routing_key: 'orders.created' }, status: 'paused' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.config.routing_key, 'orders.created');
  assert.equal(p.body.config.exchange, 'events');
  assert.equal(p.body.config.password, c.body.config.password, 'masked secret unchanged');
  assert.equal(p.body.status, 'paused');
  p = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { config: { exchange: 5 } });
  assert.equal(p.status, 400);
  assert.equal(p.body.field, 'config.exchange');
  p = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { type: 'websocket' });
  assert.equal(p.status, 400, 'type change needs a whole config');
  const g = await srv.req('GET', `/v1/destinations/${c.body.id}`);
  assert.equal(g.body.type, 'rabbitmq', 'failed patches change nothing');
  assert.equal(g.body.config.routing_key, 'orders.created');
  // with a whole config, the type may change: the new config replaces the old
  p = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { type: 'websocket', config: { channel_name: 'x' } });
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.body.config, { channel_name: 'x' });
});

test('an unknown template is a 400 naming the field (templates.test.mjs covers the rest)', async () => {
  const u = await srv.req('POST', '/v1/destinations', { name: 't', template: 'myspace', config: { url: 'https://x/y' } });
  assert.equal(u.status, 400);
  assert.equal(u.body.field, 'template');
});

test('list destinations filters by type', async () => {
  const r = await srv.req('GET', '/v1/destinations?type=websocket&limit=100');
  assert.equal(r.status, 200);
  assert.ok(r.body.destinations.length >= 1);
  assert.ok(r.body.destinations.every((d) => d.type === 'websocket'));
  assert.ok(!r.text.includes(AWS.secret_access_key));
});

test('credential headers in config.headers are masked on every read and kept by a PATCH of what was read', async () => {
  const headers = {
    Authorization: 'Token hdr-authorization-0001', 'X-Api-Key': 'hdr-x-api-key-0002',
    Cookie: 'session=hdr-cookie-0003', 'Proxy-Authorization': 'Basic hdr-proxy-0004',
    'X-Custom': 'hdr-custom-value-0005', 'X-Team': 'payments',
  };
  const secret = Object.entries(headers).filter(([k]) => k !== 'X-Team');
  const masked = (text) => {
    for (const [name, value] of secret) assert.ok(!text.includes(value), `${name} shown in clear: ${text}`);
  };
  const c = await srv.req('POST', '/v1/destinations', {
    name: 'hdrs', config: { url: 'https://example.com/hook', headers, secret_headers: ['x-custom'] },
  });
  assert.equal(c.status, 201, c.text);
  masked(c.text);
  for (const [name, value] of secret) assert.equal(c.body.config.headers[name], '********' + value.slice(-4), name);
  assert.equal(c.body.config.headers['X-Team'], 'payments', 'a plain header is shown');
  assert.deepEqual(c.body.config.secret_headers, ['x-custom']);
  const g = await srv.req('GET', `/v1/destinations/${c.body.id}`);
  masked(g.text);
  assert.deepEqual(g.body.config.headers, c.body.config.headers);
  const l = await srv.req('GET', '/v1/destinations?limit=100');
  masked(l.text);
  // what was read, sent back with one change: the stored values stay
  const back = { ...g.body, name: 'hdrs2' };
  for (const k of ['id', 'created_at', 'updated_at']) delete back[k];
  const p = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, back);
  assert.equal(p.status, 200, p.text);
  masked(p.text);
  assert.deepEqual(p.body.config.headers, c.body.config.headers);
  // a new value replaces, a foreign mask is refused
  const n = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { config: { headers: { 'X-Api-Key': 'new-api-key-value-9999' } } });
  assert.equal(n.status, 200, n.text);
  assert.equal(n.body.config.headers['X-Api-Key'], '********9999');
  const f = await srv.req('PATCH', `/v1/destinations/${c.body.id}`, { config: { headers: { Cookie: '********0000' } } });
  assert.equal(f.status, 400, f.text);
  assert.equal(f.body.field, 'config.headers.Cookie');
  const bad = await srv.req('POST', '/v1/destinations', {
    name: 'bad', config: { url: 'https://example.com/hook', secret_headers: ['not a name'] },
  });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.body.field, 'config.secret_headers[0]');
});
