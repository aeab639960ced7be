#!/usr/bin/env node
// A stand-in for Amazon EventBridge PutEvents (no emulator exists on npm or
// Debian). It follows the documented AWS JSON 1.1 contract:
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
//
//   node eventbridge-fake.mjs PORT        (0 = a free port; prints "ready <port>")
//
// POST / with content-type application/x-amz-json-1.1 and
// X-Amz-Target: AWSEvents.PutEvents, body {"Entries":[{Source, DetailType,
// Detail (a JSON object, as a string), EventBusName?, Resources?, Time?,
// TraceHeader?}]} with 1-10 entries. Answers
//   {"FailedEntryCount":N,"Entries":[{"EventId":uuid} | {"ErrorCode":"InternalFailure","ErrorMessage":...}]}
// A Source starting with "fail." makes that entry fail (partial failure).
// A malformed request answers 400 {"__type":"ValidationException","message"};
// a body that is not JSON answers 400 SerializationException; an unknown
// X-Amz-Target answers 400 UnknownOperationException. It does not check
// signatures: put sigv4-proxy.mjs (service "events") in front.
//
// Journal: GET /__events returns every accepted entry (fields as sent, plus
// EventBusName defaulted to "default", EventId and receivedAt);
// POST /__clear empties it.
import http from 'node:http';
import crypto from 'node:crypto';

const events = [];
const MAX_BYTES = 256 * 1024;

function reply(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': body.length,
    'x-amzn-requestid': crypto.randomUUID(),
    ...headers,
  });
  res.end(body);
}

function awsError(res, status, type, message) {
  reply(res, status, { __type: type, message }, { 'x-amzn-errortype': `${type}:` });
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Returns an error message, or null when the entry is well formed.
function checkEntry(e, i) {
  const where = `Entries[${i}]`;
  if (!isObject(e)) return `${where} must be an object`;
  for (const f of ['Source', 'DetailType', 'Detail']) {
    if (typeof e[f] !== 'string' || e[f] === '') return `${where}.${f} is required and must be a non-empty string`;
  }
  let detail;
  try { detail = JSON.parse(e.Detail); } catch { return `${where}.Detail is not valid JSON`; }
  if (!isObject(detail)) return `${where}.Detail must be a JSON object`;
  if (e.EventBusName !== undefined && (typeof e.EventBusName !== 'string' || e.EventBusName === '')) {
    return `${where}.EventBusName must be a non-empty string`;
  }
  if (e.Resources !== undefined && (!Array.isArray(e.Resources) || e.Resources.some((r) => typeof r !== 'string'))) {
    return `${where}.Resources must be a list of strings`;
  }
  if (e.Time !== undefined && typeof e.Time !== 'number' && typeof e.Time !== 'string') {
    return `${where}.Time must be a timestamp`;
  }
  const known = ['Source', 'DetailType', 'Detail', 'EventBusName', 'Resources', 'Time', 'TraceHeader'];
  const unknown = Object.keys(e).filter((k) => !known.includes(k));
  if (unknown.length) return `${where} has unknown field(s) ${unknown.join(', ')}`;
  return null;
}

function putEvents(res, body) {
  let req;
  try { req = JSON.parse(body.toString('utf8')); } catch {
    return awsError(res, 400, 'SerializationException', 'request body is not valid JSON');
  }
  if (!isObject(req)) return awsError(res, 400, 'SerializationException', 'request body must be a JSON object');
  const entries = req.Entries;
  if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
    return awsError(res, 400, 'ValidationException',
      "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10");
  }
  if (body.length > MAX_BYTES) {
    return awsError(res, 400, 'ValidationException', `Total size of the entries in the request is over the limit of ${MAX_BYTES} bytes`);
  }
  const unknownTop = Object.keys(req).filter((k) => k !== 'Entries' && k !== 'EndpointId');
  if (unknownTop.length) return awsError(res, 400, 'ValidationException', `unknown field(s) ${unknownTop.join(', ')}`);
  for (let i = 0; i < entries.length; i++) {
    const err = checkEntry(entries[i], i);
    if (err) return awsError(res, 400, 'ValidationException', err);
  }
  let failed = 0;
  const out = entries.map((e) => {
    if (e.Source.startsWith('fail.')) {
      failed++;
      return { ErrorCode: 'InternalFailure', ErrorMessage: `injected failure for source ${e.Source}` };
    }
    const EventId = crypto.randomUUID();
    events.push({ ...e, EventBusName: e.EventBusName || 'default', EventId, receivedAt: new Date().toISOString() });
    return { EventId };
  });
  return reply(res, 200, { FailedEntryCount: failed, Entries: out });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/__events') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(events));
    }
    if (req.method === 'POST' && path === '/__clear') {
      events.length = 0;
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}');
    }
    if (req.method !== 'POST' || path !== '/') {
      return awsError(res, 404, 'UnknownOperationException', `no such resource: ${req.method} ${path}`);
    }
    const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/x-amz-json-1.1') {
      return awsError(res, 400, 'SerializationException',
        `content-type must be application/x-amz-json-1.1, got ${JSON.stringify(req.headers['content-type'] || '')}`);
    }
    const target = req.headers['x-amz-target'];
    if (target !== 'AWSEvents.PutEvents') {
      return awsError(res, 400, 'UnknownOperationException', `unknown operation ${JSON.stringify(target || '')}`);
    }
    return putEvents(res, body);
  });
});

server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
