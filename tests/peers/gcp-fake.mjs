#!/usr/bin/env node
// A stand-in for Google Cloud Pub/Sub publishing with service-account auth
// (the official emulator needs the gcloud SDK, which cannot be installed
// here, and it ignores auth anyway). It follows the published contracts:
//   token endpoint, JWT-bearer grant (RFC 7523):
//     https://developers.google.com/identity/protocols/oauth2/service-account#httprest
//   topics.publish:
//     https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.topics/publish
//
//   node gcp-fake.mjs CONFIG.json     (prints "ready <port>")
//
// CONFIG: {"port":0, "accounts":{"<client_email>":"<public key PEM>"},
//          "topics":["projects/P/topics/T", ...], "token_ttl_s":3599}
//
// POST /token  (application/x-www-form-urlencoded grant_type=
//   urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>): verifies the
//   RS256 signature with the public key of the account named by iss, and
//   checks alg, typ, aud (this endpoint's own URL, or Google's), iss known,
//   scope present, iat within 5 minutes of now, exp > now and exp - iat <=
//   3600. Answers {"access_token","expires_in":token_ttl_s,"token_type":
//   "Bearer"}, or 400 {"error":"invalid_grant"|"invalid_request"|
//   "unsupported_grant_type","error_description"} as Google does.
// POST /v1/projects/P/topics/T:publish: requires "Authorization: Bearer
//   <token>" with a token this stand-in issued, unexpired, not revoked, whose
//   scope covers Pub/Sub (401 UNAUTHENTICATED / 403 PERMISSION_DENIED
//   otherwise, Google's error shape {"error":{"code","message","status"}}).
//   Unknown topic: 404 NOT_FOUND. Body {"messages":[{"data": base64,
//   "attributes": {string: string}, "orderingKey"?}]}, 1..1000 messages, each
//   with data or attributes, data strict padded base64, attribute keys not
//   "goog*": else 400 INVALID_ARGUMENT. Answers {"messageIds":[...]}.
//
// Control (for tests):
//   GET  /__messages           every accepted message: {topic, messageId,
//                               data (base64 as sent), attributes, token}
//   GET  /__stats              {token_requests, tokens_issued, token_refused,
//                               publish_requests, publish_unauthenticated, last_claims}
//   POST /__revoke             every token issued so far stops working
//   POST /__fail               {"target":"publish"|"token","status":503,"count":1}
//                               the next count requests there get that status
//   POST /__clear              forget messages and counters (not the tokens)
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const PUBSUB_SCOPES = ['https://www.googleapis.com/auth/pubsub', 'https://www.googleapis.com/auth/cloud-platform'];
const MAX_BODY = 10 * 1024 * 1024 + 65536;
const TTL = cfg.token_ttl_s ?? 3599;

const keys = new Map(Object.entries(cfg.accounts || {}).map(([e, pem]) => [e, crypto.createPublicKey(pem)]));
const topics = new Set(cfg.topics || []);
const tokens = new Map(); // token -> {email, scope, expires}
const messages = [];
const failures = { publish: [], token: [] };
let stats;
const clearStats = () => {
  stats = { token_requests: 0, tokens_issued: 0, token_refused: 0, publish_requests: 0, publish_unauthenticated: 0, last_claims: null };
};
clearStats();
let selfTokenUrl = '';

function send(res, status, obj, headers = {}) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': body.length, ...headers });
  res.end(body);
}

const STATUS_NAMES = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
function apiError(res, code, message, headers) {
  send(res, code, { error: { code, message, status: STATUS_NAMES[code] || 'UNKNOWN' } }, headers);
}

function grantError(res, status, error, description) {
  stats.token_refused++;
  send(res, status, { error, error_description: description });
}

function b64urlJson(part) {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new Error('not base64url');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// Returns [claims] or [null, status, error, description].
function checkAssertion(jwt) {
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return [null, 400, 'invalid_grant', 'Invalid JWT: not three parts.'];
  let header, claims;
  try { header = b64urlJson(parts[0]); claims = b64urlJson(parts[1]); } catch {
    return [null, 400, 'invalid_grant', 'Invalid JWT: header or claims are not base64url JSON.'];
  }
  if (header.alg !== 'RS256') return [null, 400, 'invalid_grant', `Invalid JWT: alg ${header.alg} is not RS256.`];
  if (header.typ !== undefined && header.typ !== 'JWT') return [null, 400, 'invalid_grant', 'Invalid JWT: typ.'];
  const key = keys.get(claims.iss);
  if (!key) return [null, 400, 'invalid_grant', 'Invalid grant: account not found'];
  if (!/^[A-Za-z0-9_-]+$/.test(parts[2])) return [null, 400, 'invalid_grant', 'Invalid JWT Signature.'];
  const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'));
  if (!ok) return [null, 400, 'invalid_grant', 'Invalid JWT Signature.'];
  if (claims.aud !== selfTokenUrl && claims.aud !== GOOGLE_TOKEN_URL) {
    return [null, 400, 'invalid_grant', `Invalid JWT: aud ${claims.aud} is not this token endpoint.`];
  }
  if (typeof claims.scope !== 'string' || claims.scope === '') {
    return [null, 400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.'];
  }
  const now = Math.floor(Date.now() / 1000);
  const { iat, exp } = claims;
  if (!Number.isInteger(iat) || !Number.isInteger(exp) || exp - iat > 3600 || exp <= iat ||
      Math.abs(iat - now) > 300 || exp <= now) {
    return [null, 400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.'];
  }
  return [claims];
}

function onToken(req, res, body) {
  stats.token_requests++;
  const f = failures.token.shift();
  if (f) return grantError(res, f, f >= 500 ? 'internal_failure' : 'invalid_request', 'injected failure');
  if (!/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] || '')) {
    return grantError(res, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('grant_type') !== GRANT) return grantError(res, 400, 'unsupported_grant_type', 'Invalid grant_type: ' + form.get('grant_type'));
  const [claims, status, error, why] = checkAssertion(form.get('assertion'));
  if (!claims) return grantError(res, status, error, why);
  stats.last_claims = claims;
  const token = 'ya29.fake-' + crypto.randomBytes(24).toString('base64url');
  tokens.set(token, { email: claims.iss, scope: claims.scope.split(' '), expires: Date.now() + TTL * 1000 });
  stats.tokens_issued++;
  send(res, 200, { access_token: token, expires_in: TTL, token_type: 'Bearer' });
}

const UNAUTH = 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';

// Returns an error message for a malformed publish body, or null.
function checkPublish(doc) {
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.messages)) return 'messages must be an array';
  if (doc.messages.length < 1 || doc.messages.length > 1000) return 'The value for message_count is too small/large.';
  for (const [i, m] of doc.messages.entries()) {
    if (!m || typeof m !== 'object') return `messages[${i}] must be an object`;
    if (m.data !== undefined) {
      if (typeof m.data !== 'string' || Buffer.from(m.data, 'base64').toString('base64') !== m.data) {
        return `Invalid value at 'messages[${i}].data' (TYPE_BYTES), Base64 decoding failed`;
      }
    }
    const attrs = m.attributes ?? {};
    if (typeof attrs !== 'object' || Array.isArray(attrs)) return `messages[${i}].attributes must be a map`;
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v !== 'string') return `messages[${i}].attributes[${k}] must be a string`;
      if (k.startsWith('goog')) return `The attribute key '${k}' is reserved.`;
    }
    if ((m.data === undefined || m.data === '') && Object.keys(attrs).length === 0) {
      return 'Some messages are empty: a message needs data or attributes.';
    }
  }
  return null;
}

function onPublish(req, res, body, project, topic) {
  stats.publish_requests++;
  const auth = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  const t = auth && tokens.get(auth[1]);
  if (!t || t.expires <= Date.now()) {
    stats.publish_unauthenticated++;
    return apiError(res, 401, UNAUTH, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });
  }
  if (!t.scope.some((s) => PUBSUB_SCOPES.includes(s))) {
    return apiError(res, 403, 'Request had insufficient authentication scopes.');
  }
  const f = failures.publish.shift();
  if (f) return apiError(res, f, 'injected failure');
  const name = `projects/${project}/topics/${topic}`;
  if (!topics.has(name)) return apiError(res, 404, `Resource not found (resource=${topic}).`);
  if (!/^application\/json/i.test(req.headers['content-type'] || '')) return apiError(res, 400, 'Content-Type must be application/json');
  let doc;
  try { doc = JSON.parse(body.toString('utf8')); } catch { return apiError(res, 400, 'Invalid JSON payload received.'); }
  const bad = checkPublish(doc);
  if (bad) return apiError(res, 400, bad);
  const ids = doc.messages.map((m) => {
    const messageId = String(1e15 + messages.length);
    messages.push({ topic: name, messageId, data: m.data ?? '', attributes: m.attributes ?? {}, token: auth[1] });
    return messageId;
  });
  send(res, 200, { messageIds: ids });
}

function control(req, res, body) {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'GET' && u.pathname === '/__messages') return send(res, 200, messages);
  if (req.method === 'GET' && u.pathname === '/__stats') return send(res, 200, { ...stats, tokens_live: tokens.size });
  if (req.method === 'POST' && u.pathname === '/__revoke') { tokens.clear(); return send(res, 200, {}); }
  if (req.method === 'POST' && u.pathname === '/__clear') { messages.length = 0; clearStats(); return send(res, 200, {}); }
  if (req.method === 'POST' && u.pathname === '/__fail') {
    const { target, status, count = 1 } = JSON.parse(body.toString() || '{}');
    if (!failures[target]) return send(res, 400, { error: 'target must be publish or token' });
    for (let i = 0; i < count; i++) failures[target].push(status);
    return send(res, 200, {});
  }
  send(res, 404, { error: 'no such control endpoint' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) { apiError(res, 400, 'Request payload size exceeds the limit'); req.destroy(); return; }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    if (path.startsWith('/__')) return control(req, res, body);
    if (req.method === 'POST' && path === '/token') return onToken(req, res, body);
    const m = /^\/v1\/projects\/([^/]+)\/topics\/([^/]+):publish$/.exec(path);
    if (req.method === 'POST' && m) {
      let project, topic;
      try { project = decodeURIComponent(m[1]); topic = decodeURIComponent(m[2]); } catch {
        return apiError(res, 400, 'bad path');
      }
      return onPublish(req, res, body, project, topic);
    }
    apiError(res, 404, `no route for ${req.method} ${path}`);
  });
});

server.listen(cfg.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  selfTokenUrl = `http://127.0.0.1:${port}/token`;
  process.stdout.write(`ready ${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
