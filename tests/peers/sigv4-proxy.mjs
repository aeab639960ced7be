#!/usr/bin/env node
// A SigV4-verifying reverse proxy for the AWS emulators the tests run
// (s3rver, local-aws-sqs, the EventBridge fake), none of which checks
// signatures itself.
//
//   node sigv4-proxy.mjs LISTEN_PORT UPSTREAM_PORT SERVICE ACCESS_KEY SECRET [SESSION_TOKEN]
//
// Listens on 127.0.0.1:LISTEN_PORT (0 = a free port) and prints "ready <port>"
// once listening. Every request must carry an `AWS4-HMAC-SHA256` Authorization
// header; the expected signature is computed by the independent npm `aws4`
// signer over exactly the headers the request says it signed, at the
// x-amz-date it carries. Checked, in order:
//   - the header is well formed (Credential=AK/DATE/REGION/SERVICE/aws4_request,
//     SignedHeaders=..., Signature=64 hex)
//   - the credential's service is SERVICE and the access key is ACCESS_KEY
//     (the region is not pinned; the journal records it)
//   - `host` is signed; every signed header is present
//   - x-amz-date is present, YYYYMMDDTHHMMSSZ, its day equals the credential
//     day, and it is within 15 minutes of now
//   - x-amz-content-sha256, when present, is sha256(body) (or UNSIGNED-PAYLOAD,
//     which real S3 accepts); for s3 it is required
//   - x-amz-security-token equals SESSION_TOKEN when one is configured
//     (required then); without one configured, a token is rejected
//   - the signature
// Failures answer 403 with an S3-style XML error, or for AWS JSON protocol
// requests (content-type application/x-amz-json-*) a JSON error
// {"__type","message","code",...}; both include the canonical request and
// string-to-sign the proxy expected.
//
// Verified requests are forwarded to 127.0.0.1:UPSTREAM_PORT (same method,
// path, headers and body) with the Authorization header removed: the emulators
// do not check SigV4, and s3rver would reject our access key (it only knows
// S3RVER) while it accepts anonymous requests. The response is relayed.
//
// Control endpoints (never forwarded, never verified):
//   GET  /__proxy/requests  JSON array of {at, method, path, headers, body,
//                           bodyEncoding ('utf8'|'base64'), verdict, reason,
//                           status, credential}. verdict is 'ok' (forwarded),
//                           'injected' (verified, answered by /__proxy/fail)
//                           or the error code of the rejection.
//   POST /__proxy/clear     empties the journal (and any pending failures)
//   POST /__proxy/fail      {"status":503,"count":2,"body":"...","content_type":"...",
//                           "headers":{...},"code":"SlowDown"} makes the next `count`
//                           verified requests answer that instead of forwarding.
//                           Without "body", an AWS-shaped error with `code`
//                           (default ServiceUnavailable) is generated.
import http from 'node:http';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const aws4 = require('aws4');

const [listenArg, upstreamArg, SERVICE, ACCESS_KEY, SECRET, SESSION_TOKEN] = process.argv.slice(2);
if (!upstreamArg || !SERVICE || !ACCESS_KEY || !SECRET) {
  process.stderr.write('usage: sigv4-proxy.mjs LISTEN_PORT UPSTREAM_PORT SERVICE ACCESS_KEY SECRET [SESSION_TOKEN]\n');
  process.exit(2);
}
const UPSTREAM_PORT = Number(upstreamArg);
const MAX_SKEW_MS = 15 * 60 * 1000;

const journal = [];
let failures = []; // pending injected responses, one entry per request

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const xmlEscape = (s) => String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);

function isJsonProtocol(req) {
  return /^application\/x-amz-json-/i.test(req.headers['content-type'] || '');
}

// JSON __type for each rejection code (what AWS JSON services answer).
const JSON_TYPES = {
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  AuthorizationHeaderMalformed: 'IncompleteSignatureException',
  IncompleteSignature: 'IncompleteSignatureException',
  InvalidAccessKeyId: 'UnrecognizedClientException',
  InvalidToken: 'UnrecognizedClientException',
  RequestTimeTooSkewed: 'InvalidSignatureException',
  XAmzContentSHA256Mismatch: 'InvalidSignatureException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  AccessDenied: 'AccessDeniedException',
};

class Reject extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }
}

function parseAuthorization(value) {
  const m = /^AWS4-HMAC-SHA256 +(.*)$/.exec(value);
  if (!m) {
    throw new Reject('AuthorizationHeaderMalformed',
      `Authorization header must start with "AWS4-HMAC-SHA256 ": got ${JSON.stringify(value.slice(0, 40))}`);
  }
  const parts = {};
  for (const piece of m[1].split(/, */)) {
    const eq = piece.indexOf('=');
    if (eq <= 0) throw new Reject('AuthorizationHeaderMalformed', `bad Authorization component ${JSON.stringify(piece)}`);
    const k = piece.slice(0, eq).trim();
    if (k in parts) throw new Reject('AuthorizationHeaderMalformed', `duplicate Authorization component ${k}`);
    parts[k] = piece.slice(eq + 1).trim();
  }
  for (const k of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts[k]) throw new Reject('AuthorizationHeaderMalformed', `Authorization header lacks ${k}=`);
  }
  const extra = Object.keys(parts).filter((k) => !['Credential', 'SignedHeaders', 'Signature'].includes(k));
  if (extra.length) throw new Reject('AuthorizationHeaderMalformed', `unknown Authorization component(s) ${extra.join(',')}`);
  const cred = parts.Credential.split('/');
  if (cred.length !== 5 || cred[4] !== 'aws4_request' || !/^\d{8}$/.test(cred[1]) || !cred[2] || !cred[3]) {
    throw new Reject('AuthorizationHeaderMalformed',
      `Credential must be AK/YYYYMMDD/region/service/aws4_request: got ${parts.Credential}`);
  }
  if (!/^[0-9a-f]{64}$/.test(parts.Signature)) {
    throw new Reject('AuthorizationHeaderMalformed', 'Signature must be 64 lowercase hex digits');
  }
  const signed = parts.SignedHeaders.split(';');
  if (signed.some((h) => !h || h !== h.toLowerCase())) {
    throw new Reject('AuthorizationHeaderMalformed', `SignedHeaders must be lowercase names separated by ';': got ${parts.SignedHeaders}`);
  }
  return {
    accessKey: cred[0], date: cred[1], region: cred[2], service: cred[3],
    signedHeaders: signed, signedHeadersRaw: parts.SignedHeaders, signature: parts.Signature,
  };
}

function amzDateToMs(d) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

// Returns {credential, canonicalRequest, stringToSign} or throws Reject.
function verify(req, body) {
  const auth = req.headers.authorization;
  if (req.url.includes('X-Amz-Algorithm=') || req.url.includes('X-Amz-Signature=')) {
    throw new Reject('AccessDenied', 'presigned (query-string) SigV4 is not supported by this proxy; sign the Authorization header');
  }
  if (!auth) throw new Reject('MissingAuthenticationToken', 'request is not signed: no Authorization header');
  const a = parseAuthorization(auth);
  const credential = { accessKey: a.accessKey, date: a.date, region: a.region, service: a.service, signedHeaders: a.signedHeadersRaw };
  const fail = (code, msg, extra = {}) => { throw new Reject(code, msg, { credential, ...extra }); };

  if (a.service !== SERVICE) fail('SignatureDoesNotMatch', `credential scope service is "${a.service}", this endpoint is "${SERVICE}"`);
  if (a.accessKey !== ACCESS_KEY) fail('InvalidAccessKeyId', `unknown access key id "${a.accessKey}"`);
  if (!a.signedHeaders.includes('host')) fail('SignatureDoesNotMatch', `"host" must be among the signed headers (SignedHeaders=${a.signedHeadersRaw})`);

  const amzDate = req.headers['x-amz-date'];
  if (!amzDate) fail('IncompleteSignature', 'x-amz-date header is required');
  const t = amzDateToMs(amzDate);
  if (Number.isNaN(t)) fail('IncompleteSignature', `x-amz-date "${amzDate}" is not YYYYMMDDTHHMMSSZ`);
  if (amzDate.slice(0, 8) !== a.date) fail('SignatureDoesNotMatch', `credential date ${a.date} does not match x-amz-date ${amzDate}`);
  if (Math.abs(Date.now() - t) > MAX_SKEW_MS) {
    fail('RequestTimeTooSkewed', `x-amz-date ${amzDate} is more than 15 minutes from the server time ${new Date().toISOString()}`);
  }

  const headers = {};
  const include = Object.create(null);
  for (const h of a.signedHeaders) {
    const vals = req.headersDistinct[h];
    if (!vals) fail('SignatureDoesNotMatch', `signed header "${h}" is not present in the request`);
    headers[h] = vals.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
    include[h] = true; // aws4 otherwise drops user-agent, range, expect... even when signed
  }

  const contentSha = req.headers['x-amz-content-sha256'];
  const bodySha = sha256(body);
  if (contentSha !== undefined) {
    if (contentSha.startsWith('STREAMING-')) fail('XAmzContentSHA256Mismatch', `streaming payloads (${contentSha}) are not supported by this proxy`);
    if (contentSha !== 'UNSIGNED-PAYLOAD' && contentSha !== bodySha) {
      fail('XAmzContentSHA256Mismatch', `x-amz-content-sha256 ${contentSha} does not match the body's sha256 ${bodySha} (${body.length} bytes)`);
    }
  } else if (SERVICE === 's3') {
    fail('SignatureDoesNotMatch', 'x-amz-content-sha256 header is required for s3');
  }

  const token = req.headers['x-amz-security-token'];
  if (SESSION_TOKEN) {
    if (!token) fail('InvalidToken', 'x-amz-security-token header is required (session credentials)');
    if (token !== SESSION_TOKEN) fail('InvalidToken', 'the x-amz-security-token is invalid');
  } else if (token) {
    fail('InvalidToken', 'x-amz-security-token given, but this endpoint expects long-term credentials');
  }

  const signer = new aws4.RequestSigner({
    method: req.method,
    path: req.url,
    headers,
    body,
    service: a.service,
    region: a.region,
    doNotModifyHeaders: true,
    extraHeadersToInclude: include,
  }, { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET });
  signer.datetime = amzDate;
  const canonicalRequest = signer.canonicalString();
  const stringToSign = signer.stringToSign();
  const expected = signer.signature();
  const debug = { canonicalRequest, stringToSign, expectedSignature: expected, signatureProvided: a.signature };
  if (signer.signedHeaders() !== a.signedHeadersRaw) {
    fail('SignatureDoesNotMatch',
      `SignedHeaders must be sorted and unique: got ${a.signedHeadersRaw}, canonical ${signer.signedHeaders()}`, debug);
  }
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(a.signature))) {
    fail('SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.', debug);
  }
  return { credential, canonicalRequest, stringToSign };
}

function errorBody(req, status, code, message, extra = {}) {
  const requestId = crypto.randomUUID();
  if (isJsonProtocol(req)) {
    const type = JSON_TYPES[code] || code;
    const ns = type.includes('#') ? type : `com.amazon.coral.service#${type}`;
    const body = { __type: ns, message, code };
    for (const [k, v] of Object.entries(extra)) if (v !== undefined && k !== 'credential') body[k] = v;
    const ct = (req.headers['content-type'] || 'application/x-amz-json-1.0').split(';')[0];
    return {
      status,
      headers: { 'content-type': ct, 'x-amzn-requestid': requestId, 'x-amzn-errortype': `${type.split('#').pop()}:` },
      body: Buffer.from(JSON.stringify(body)),
    };
  }
  const tags = {
    CanonicalRequest: extra.canonicalRequest, StringToSign: extra.stringToSign,
    SignatureProvided: extra.signatureProvided, AWSAccessKeyId: extra.credential?.accessKey,
  };
  let xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>`;
  for (const [k, v] of Object.entries(tags)) if (v !== undefined) xml += `<${k}>${xmlEscape(v)}</${k}>`;
  xml += `<RequestId>${requestId}</RequestId></Error>`;
  return { status, headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId }, body: Buffer.from(xml) };
}

function injected(req, spec) {
  if (spec.body !== undefined) {
    return {
      status: spec.status,
      headers: { 'content-type': spec.content_type || 'text/plain', ...(spec.headers || {}) },
      body: Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body)),
    };
  }
  const r = errorBody(req, spec.status, spec.code || 'ServiceUnavailable', 'injected failure');
  if (spec.content_type) r.headers['content-type'] = spec.content_type;
  Object.assign(r.headers, spec.headers || {});
  return r;
}

function send(res, r) {
  res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
  res.end(r.body);
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);

function forward(req, body) {
  return new Promise((resolve) => {
    const headers = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      const lower = name.toLowerCase();
      if (HOP.has(lower) || lower === 'authorization' || lower === 'content-length') continue;
      if (headers[name] === undefined) headers[name] = req.rawHeaders[i + 1];
      else headers[name] = [].concat(headers[name], req.rawHeaders[i + 1]);
    }
    headers['content-length'] = String(body.length);
    const up = http.request({ host: '127.0.0.1', port: UPSTREAM_PORT, method: req.method, path: req.url, headers }, (ur) => {
      const chunks = [];
      ur.on('data', (c) => chunks.push(c));
      ur.on('end', () => {
        const h = {};
        for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k) && k !== 'content-length') h[k] = v;
        resolve({ status: ur.statusCode, headers: h, body: Buffer.concat(chunks) });
      });
      ur.on('error', (e) => resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`upstream: ${e.message}`) }));
    });
    up.setTimeout(30000, () => up.destroy(new Error('upstream timeout')));
    up.on('error', (e) => resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: Buffer.from(`upstream: ${e.message}`) }));
    up.end(body);
  });
}

function encodeBody(b) {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? { body: s, bodyEncoding: 'utf8' } : { body: b.toString('base64'), bodyEncoding: 'base64' };
}

async function control(req, res, body) {
  const path = req.url.split('?')[0];
  const json = (status, obj) => send(res, { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(obj)) });
  if (req.method === 'GET' && path === '/__proxy/requests') return json(200, journal);
  if (req.method === 'POST' && path === '/__proxy/clear') {
    journal.length = 0;
    failures = [];
    return json(200, { ok: true });
  }
  if (req.method === 'POST' && path === '/__proxy/fail') {
    let spec;
    try { spec = JSON.parse(body.toString() || '{}'); } catch { return json(400, { error: 'body must be JSON' }); }
    const status = Number(spec.status || 503);
    const count = spec.count === undefined ? 1 : Number(spec.count);
    if (!(status >= 100 && status <= 599) || !(count >= 0)) return json(400, { error: 'bad status/count' });
    failures = Array.from({ length: count }, () => ({ ...spec, status }));
    return json(200, { ok: true, pending: failures.length });
  }
  return json(404, { error: 'unknown control endpoint' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    if (req.url.startsWith('/__proxy/')) return control(req, res, body);
    const entry = {
      at: new Date().toISOString(), method: req.method, path: req.url, headers: req.headers,
      ...encodeBody(body), verdict: null, reason: null, status: null, credential: null,
    };
    journal.push(entry);
    let r;
    try {
      const v = verify(req, body);
      entry.credential = v.credential;
      if (failures.length) {
        entry.verdict = 'injected';
        r = injected(req, failures.shift());
      } else {
        entry.verdict = 'ok';
        r = await forward(req, body);
      }
    } catch (e) {
      if (!(e instanceof Reject)) {
        entry.verdict = 'ProxyError';
        entry.reason = String(e && e.stack || e);
        r = { status: 500, headers: { 'content-type': 'text/plain' }, body: Buffer.from(entry.reason) };
      } else {
        entry.verdict = e.code;
        entry.reason = e.message;
        entry.credential = e.extra.credential || null;
        if (e.extra.canonicalRequest) {
          entry.canonicalRequest = e.extra.canonicalRequest;
          entry.stringToSign = e.extra.stringToSign;
        }
        r = errorBody(req, 403, e.code, e.message, e.extra);
      }
    }
    entry.status = r.status;
    send(res, r);
  });
});
server.keepAliveTimeout = 5000;

server.listen(Number(listenArg || 0), '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
