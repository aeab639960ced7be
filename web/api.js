// api.js: the REST API with the signed-in key, and where that key lives.
// The key is kept in sessionStorage (this tab only) unless the user asks to
// be remembered, then in localStorage. It is sent as a Bearer token; a 401
// from any call signs the user out.

const STORE_KEY = 'hookstream.api_key';
let onUnauthorized = () => {};

export function getKey() {
  return sessionStorage.getItem(STORE_KEY) || localStorage.getItem(STORE_KEY) || '';
}
export function setKey(key, remember) {
  clearKey();
  (remember ? localStorage : sessionStorage).setItem(STORE_KEY, key);
}
export function clearKey() {
  sessionStorage.removeItem(STORE_KEY);
  localStorage.removeItem(STORE_KEY);
}
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// key null: no Authorization header at all (ingest, below)
async function send(method, path, body, key) {
  const headers = { accept: 'application/json' };
  if (key !== null) headers.authorization = 'Bearer ' + key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'the server cannot be reached');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data?.error || `${res.status} ${res.statusText}`, data);
  return data;
}

export async function api(method, path, body) {
  const key = getKey();
  // signed out: a refresh whose timer fired after sign-out has nothing to
  // ask (and a request without a key would only be a logged 401)
  if (!key) throw new ApiError(401, 'not signed in');
  try {
    return await send(method, path, body, key);
  } catch (e) {
    if (e.status === 401) onUnauthorized();
    throw e;
  }
}
export const get = (path) => api('GET', path);

// What a sender does: POST a JSON body to a source's ingest URL ("Send a
// test event"). Without the key on purpose: ingest needs none, and the
// request's headers are stored with the event, where an API key sent along
// would be kept and shown in clear. Answers {event_id, source_id}.
export function ingest(sourceId, body) {
  return send('POST', '/v1/ingest/' + encodeURIComponent(sourceId), body, null);
}

// Is key accepted? (true / false; throws when the server cannot say)
export async function checkKey(key) {
  try {
    await send('GET', '/v1/circuits', undefined, key);
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

// Every page of a list (sources, destinations, connections are small).
export async function getAll(path, plural, max = 1000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=100${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
    out.push(...page[plural]);
    cursor = page.has_more ? page.cursor : null;
  } while (cursor && out.length < max);
  return out;
}
