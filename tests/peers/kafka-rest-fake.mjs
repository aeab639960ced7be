#!/usr/bin/env node
// A stand-in for the Confluent REST Proxy's v3 produce endpoint (no Kafka
// broker or REST Proxy is packaged in Debian or npm). Written
// from Confluent's published contract: confluentinc/kafka-rest
// api/v3/openapi.yaml (ProduceRequest, ProduceRequestData,
// ProduceRequestHeader, ProduceResponse, the Error responses) and
// https://docs.confluent.io/cloud/current/ccloud/produce-record/ (BINARY,
// JSON and STRING are the formats without Schema Registry).
//
//   node kafka-rest-fake.mjs PORT [--cluster ID]... [--topic NAME[:PARTITIONS]]... [--user U --password P]
//   (PORT 0 = a free port; prints "ready <port>" once listening on 127.0.0.1)
//
// POST [/kafka]/v3/clusters/{cluster_id}/topics/{topic_name}/records
//   body: one ProduceRequest, or several concatenated (each gets its own
//   delivery report, concatenated in the same order):
//     {"partition_id"?: int|null, "headers"?: [{"name": str, "value"?: base64|null}],
//      "key"?: Data|null, "value"?: Data|null, "timestamp"?: date-time|null}
//     Data = {"type": "BINARY"|"JSON"|"STRING", "data"?: any}
//   BINARY data must be strict padded base64, STRING data a string. Schema
//   fields (subject, schema_id, ...) and AVRO/PROTOBUF/JSONSCHEMA are refused
//   like Confluent Cloud does without Schema Registry; unknown members too
//   (the stand-in is stricter than the real thing on purpose).
//   HTTP 200 with, per record, a ProduceResponse
//     {"error_code":200,"cluster_id","topic_name","partition_id","offset","timestamp",
//      "key":{"type","size"}|null,"value":{"type","size"}|null}
//   or, for a record that failed, {"error_code":N,"message":"..."}.
// Whole-request errors, in Confluent's error shape {"error_code","message"}:
//   401 (error_code 401 without credentials, 40101 with wrong ones) when
//       started with --user/--password;
//   415 when the content type is not application/json;
//   404 error_code 404 for an unknown cluster, 40403 for an unknown topic;
//   400 error_code 400 when the body is not (concatenated) JSON;
//   422 error_code 422 for an empty body.
// A partition_id outside the topic's partitions is a per-record 40402.
//
// Control (no auth):
//   POST /__fail {"count":N, "error_code":C, "message"?:M, "http_status"?:S}
//        the next N records fail: with http_status (other than 200) the whole
//        request answers S {"error_code":C,"message":M}; without, the record
//        gets the report {"error_code":C,"message":M} inside an HTTP 200.
//   GET  /__records   every record produced, decoded:
//        [{cluster_id, topic_name, partition_id, offset, timestamp,
//          headers:[{name, value (utf-8 text or null), value_base64}],
//          key|value: null | {type, data (as sent), bytes_base64 (the bytes Kafka stores)}}]
//   GET  /__requests  every request to the produce path: {method, path, headers, body, status}
//   POST /__clear     empties both journals and pending failures (offsets go on).
import http from 'node:http';

const args = process.argv.slice(2);
const port = Number(args.shift() || 0);
const clusters = new Set();
const topics = new Map(); // name -> partitions
let user = null;
let password = null;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--cluster') clusters.add(args[++i]);
  else if (a === '--topic') {
    const [name, n] = args[++i].split(':');
    topics.set(name, Number(n || 3));
  } else if (a === '--user') user = args[++i];
  else if (a === '--password') password = args[++i];
  else throw new Error(`unknown argument ${a}`);
}
if (!clusters.size) clusters.add('cluster-1');
if (!topics.size) topics.set('topic-1', 3);

const records = [];
const requests = [];
const failures = []; // one entry per record still to fail
const offsets = new Map(); // "topic/partition" -> next offset
let roundRobin = 0;

const FORMATS = ['BINARY', 'JSON', 'STRING'];
const SCHEMA_FIELDS = ['subject', 'subject_name_strategy', 'schema_id', 'schema_version', 'schema'];
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function send(res, status, obj) {
  const body = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Splits concatenated JSON values ({...}{...} or separated by whitespace).
// Returns an array of parsed values, or throws with a message.
function splitConcatenated(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    if (text[i] !== '{') throw new Error(`Unexpected character ('${text[i]}'): expected a JSON object at ${i}`);
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    if (depth !== 0 || j >= text.length) throw new Error('Unexpected end-of-input: expected close marker for Object');
    out.push(JSON.parse(text.slice(i, j + 1))); // throws on malformed JSON
    i = j + 1;
  }
  return out;
}

// The bytes Kafka would store for a ProduceRequestData, or an error message.
function dataBytes(d, where) {
  if (d === null || d === undefined) return { bytes: null };
  if (!isObject(d)) return { error: `${where} must be an object` };
  for (const f of SCHEMA_FIELDS) {
    if (d[f] !== undefined && d[f] !== null) return { error: `${where}.${f}: sending schemas is not supported` };
  }
  const unknown = Object.keys(d).filter((k) => k !== 'type' && k !== 'data' && !SCHEMA_FIELDS.includes(k));
  if (unknown.length) return { error: `${where} has unknown field(s) ${unknown.join(', ')}` };
  if (!FORMATS.includes(d.type)) return { error: `${where}.type must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(d.type)}` };
  if (d.data === undefined || d.data === null) return { bytes: null, type: d.type };
  if (d.type === 'BINARY') {
    if (typeof d.data !== 'string' || !B64.test(d.data)) return { error: `Bad Request: data=${JSON.stringify(d.data)} is not a base64 string.` };
    return { bytes: Buffer.from(d.data, 'base64'), type: d.type };
  }
  if (d.type === 'STRING') {
    if (typeof d.data !== 'string') return { error: `${where}.data must be a string for type STRING` };
    return { bytes: Buffer.from(d.data, 'utf8'), type: d.type };
  }
  return { bytes: Buffer.from(JSON.stringify(d.data), 'utf8'), type: d.type };
}

// Validates one ProduceRequest; returns {error} or the parts of the record.
function checkRecord(r, partitions) {
  if (!isObject(r)) return { error: 'Bad Request: a record must be a JSON object' };
  const known = ['partition_id', 'headers', 'key', 'value', 'timestamp'];
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length) return { error: `Bad Request: unknown field(s) ${unknown.join(', ')}` };
  if (r.partition_id !== undefined && r.partition_id !== null) {
    if (!Number.isInteger(r.partition_id) || r.partition_id < 0) return { error: 'Bad Request: partition_id must be a non-negative integer' };
    if (r.partition_id >= partitions) return { code: 40402, error: 'This server does not host this topic-partition.' };
  }
  const headers = [];
  if (r.headers !== undefined) {
    if (!Array.isArray(r.headers)) return { error: 'Bad Request: headers must be an array' };
    for (const [i, h] of r.headers.entries()) {
      if (!isObject(h) || typeof h.name !== 'string' || !h.name) return { error: `Bad Request: headers[${i}].name is required` };
      const extra = Object.keys(h).filter((k) => k !== 'name' && k !== 'value');
      if (extra.length) return { error: `Bad Request: headers[${i}] has unknown field(s) ${extra.join(', ')}` };
      if (h.value !== undefined && h.value !== null && (typeof h.value !== 'string' || !B64.test(h.value))) {
        return { error: `Bad Request: headers[${i}].value=${JSON.stringify(h.value)} is not a base64 string.` };
      }
      const bytes = h.value == null ? null : Buffer.from(h.value, 'base64');
      headers.push({ name: h.name, value: bytes && bytes.toString('utf8'), value_base64: h.value ?? null });
    }
  }
  if (r.timestamp !== undefined && r.timestamp !== null && (typeof r.timestamp !== 'string' || Number.isNaN(Date.parse(r.timestamp)))) {
    return { error: 'Bad Request: timestamp must be a date-time' };
  }
  const key = dataBytes(r.key, 'key');
  if (key.error) return { error: key.error };
  const value = dataBytes(r.value, 'value');
  if (value.error) return { error: value.error };
  return { headers, key, value };
}

// FNV-1a over the key bytes: a stable stand-in for Kafka's murmur2 partitioner.
function partitionFor(keyBytes, partitions) {
  if (!keyBytes) return roundRobin++ % partitions;
  let h = 0x811c9dc5;
  for (const b of keyBytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % partitions;
}

function produceOne(cluster, topic, partitions, r) {
  const injected = failures.length && !failures[0].http_status ? failures.shift() : null;
  if (injected) return { error_code: injected.error_code, message: injected.message };
  const c = checkRecord(r, partitions);
  if (c.error) return { error_code: c.code || 400, message: c.error };
  const partition = r.partition_id ?? partitionFor(c.key.bytes, partitions);
  const slot = `${topic}/${partition}`;
  const offset = offsets.get(slot) || 0;
  offsets.set(slot, offset + 1);
  const timestamp = new Date(r.timestamp ? Date.parse(r.timestamp) : Date.now()).toISOString();
  const journal = (d, parts) => (d == null ? null : { type: d.type, data: d.data ?? null, bytes_base64: parts.bytes ? parts.bytes.toString('base64') : null });
  records.push({
    cluster_id: cluster, topic_name: topic, partition_id: partition, offset, timestamp,
    headers: c.headers, key: journal(r.key, c.key), value: journal(r.value, c.value),
  });
  const size = (d, parts) => (d == null ? null : { type: d.type, size: parts.bytes ? parts.bytes.length : 0 });
  return {
    error_code: 200, cluster_id: cluster, topic_name: topic, partition_id: partition, offset, timestamp,
    key: size(r.key, c.key), value: size(r.value, c.value),
  };
}

function authorized(req) {
  if (user === null) return { ok: true };
  const h = req.headers.authorization || '';
  if (!h.startsWith('Basic ')) return { ok: false, code: 401, message: 'Unauthorized' };
  const plain = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon < 0 || plain.slice(0, colon) !== user || plain.slice(colon + 1) !== password) {
    return { ok: false, code: 40101, message: 'Authentication failed' };
  }
  return { ok: true };
}

function produce(req, res, cluster, topic, body) {
  const answer = (status, obj) => {
    requests.at(-1).status = status;
    send(res, status, obj);
  };
  const auth = authorized(req);
  if (!auth.ok) return answer(401, { error_code: auth.code, message: auth.message });
  const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (ct !== 'application/json') return answer(415, { error_code: 415, message: 'HTTP 415 Unsupported Media Type' });
  if (!clusters.has(cluster)) return answer(404, { error_code: 404, message: `Cluster ${cluster} cannot be found.` });
  if (!topics.has(topic)) return answer(404, { error_code: 40403, message: 'This server does not host this topic-partition.' });
  const text = body.toString('utf8');
  if (!text.trim()) return answer(422, { error_code: 422, message: 'Payload error. Request body is empty. Data is required.' });
  if (failures.length && failures[0].http_status) {
    const f = failures.shift();
    return answer(f.http_status, { error_code: f.error_code, message: f.message });
  }
  let list;
  try { list = splitConcatenated(text); } catch (e) { return answer(400, { error_code: 400, message: e.message }); }
  const reports = list.map((r) => JSON.stringify(produceOne(cluster, topic, topics.get(topic), r)));
  return answer(200, reports.join('\n'));
}

const PRODUCE = /^(?:\/kafka)?\/v3\/clusters\/([^/]+)\/topics\/([^/]+)\/records$/;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = req.url.split('?')[0];
    if (path === '/__records' && req.method === 'GET') return send(res, 200, records);
    if (path === '/__requests' && req.method === 'GET') return send(res, 200, requests);
    if (path === '/__clear' && req.method === 'POST') {
      records.length = 0;
      requests.length = 0;
      failures.length = 0;
      return send(res, 200, { ok: true });
    }
    if (path === '/__fail' && req.method === 'POST') {
      let spec;
      try { spec = JSON.parse(body.toString('utf8')); } catch { return send(res, 400, { error: 'bad JSON' }); }
      if (!Number.isInteger(spec.error_code)) return send(res, 400, { error: 'error_code (integer) is required' });
      const n = spec.count ?? 1;
      for (let i = 0; i < n; i++) {
        failures.push({
          error_code: spec.error_code, message: spec.message ?? `injected error ${spec.error_code}`,
          http_status: spec.http_status && spec.http_status !== 200 ? spec.http_status : null,
        });
      }
      return send(res, 200, { pending: failures.length });
    }
    const m = PRODUCE.exec(path);
    if (!m) return send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
    requests.push({ method: req.method, path, headers: req.headers, body: body.toString('utf8'), status: null });
    if (req.method !== 'POST') {
      requests.at(-1).status = 405;
      return send(res, 405, { error_code: 405, message: 'HTTP 405 Method Not Allowed' });
    }
    return produce(req, res, decodeURIComponent(m[1]), decodeURIComponent(m[2]), body);
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
