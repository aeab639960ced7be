// Starts the AWS stand-ins on 127.0.0.1, each behind tests/peers/sigv4-proxy.mjs
// (which verifies SigV4 with the npm aws4 signer and then forwards):
//   s3           s3rver 3.7.1 (path-style S3 REST/XML), buckets created at start
//   sqs          local-aws-sqs 2.0.2 (JSON 1.0 and Query), queues created at start
//   eventbridge  tests/peers/eventbridge-fake.mjs (PutEvents, AWS JSON 1.1)
// Every process is a direct child of the test process and is killed by stop().
//
// S3 credentials: s3rver only knows its own access key (S3RVER) and does not
// check SigV4 at all. The proxy checks the request against OUR accessKey and
// secret and forwards it without the Authorization header; s3rver treats that
// as an anonymous request, which it allows. getObject() reads s3rver directly,
// anonymously, the same way.
//
// SQS queue URLs: queueUrl(name) is http://127.0.0.1:<proxyPort>/123456789012/<name>.
// local-aws-sqs finds a queue by the last path segment of QueueUrl only, so
// the proxy's host:port in the URL is fine.
import { spawn } from 'node:child_process';
import { track } from './children.mjs'; // killed with the test process
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const PEERS_DIR = path.join(root, 'tests/peers');
export const AWS_ACCOUNT_ID = '123456789012';
const S3RVER_BIN = path.join(PEERS_DIR, 'node_modules/s3rver/bin/s3rver.js');

export function awsPeersAvailable() {
  return existsSync(S3RVER_BIN) && existsSync(path.join(PEERS_DIR, 'node_modules/aws4'))
    && existsSync(path.join(PEERS_DIR, 'node_modules/local-aws-sqs'));
}

// Spawn a node script as a direct child and wait for a stdout line matching re;
// resolves {child, port, exited}.
function startChild(name, args, re, children, timeoutMs = 15000) {
  const child = track(spawn(process.execPath, args, { cwd: PEERS_DIR, stdio: ['ignore', 'pipe', 'pipe'] }));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  children.push({ name, child, exited });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs} ms\n${out}${err}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(re);
      if (m) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ child, port: Number(m[1]), exited });
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before ready\n${out}${err}`));
    });
  });
}

async function getJson(url, init) {
  const r = await fetch(url, init);
  const text = await r.text();
  if (!r.ok) throw new Error(`${init?.method || 'GET'} ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {}; // local-aws-sqs answers some actions with an empty body
}

// opts: {accessKey, secret, sessionToken?, queues?: string[], buckets?: string[]}
export async function startAwsPeers(opts) {
  const { accessKey, secret, sessionToken } = opts;
  if (!accessKey || !secret) throw new Error('startAwsPeers: accessKey and secret are required');
  const queues = opts.queues || ['hookstream-q'];
  const buckets = opts.buckets || ['hookstream-bucket'];
  const children = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'hookstream-s3-'));

  const stop = async () => {
    await Promise.all(children.map(async ({ child, exited }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }));
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const s3Args = [S3RVER_BIN, '-d', dataDir, '-a', '127.0.0.1', '-p', '0', '--silent'];
    for (const b of buckets) s3Args.push('--configure-bucket', b);
    const [s3, sqs, eb] = await Promise.all([
      startChild('s3rver', s3Args, /S3rver listening on [^:\s]+:(\d+)/, children),
      startChild('sqs-server', ['sqs-server.mjs', '0', ...queues], /^ready (\d+)$/m, children),
      startChild('eventbridge-fake', ['eventbridge-fake.mjs', '0'], /^ready (\d+)$/m, children),
    ]);
    const proxy = (upstream, service) => startChild(`sigv4-proxy(${service})`,
      ['sigv4-proxy.mjs', '0', String(upstream), service, accessKey, secret, ...(sessionToken ? [sessionToken] : [])],
      /^ready (\d+)$/m, children);
    const [s3p, sqsp, ebp] = await Promise.all([proxy(s3.port, 's3'), proxy(sqs.port, 'sqs'), proxy(eb.port, 'events')]);

    const base = (port) => `http://127.0.0.1:${port}`;
    const peers = {
      accessKey, secret, sessionToken: sessionToken || null, region: 'us-east-1', accountId: AWS_ACCOUNT_ID,
      s3: {
        service: 's3', endpoint: base(s3p.port), proxyPort: s3p.port,
        port: s3.port, directEndpoint: base(s3.port), buckets: [...buckets],
      },
      sqs: {
        service: 'sqs', endpoint: base(sqsp.port), proxyPort: sqsp.port,
        port: sqs.port, directEndpoint: base(sqs.port), queues: [...queues],
        queueUrl: (name) => `${base(sqsp.port)}/${AWS_ACCOUNT_ID}/${name}`,
      },
      eventbridge: {
        service: 'events', endpoint: base(ebp.port), proxyPort: ebp.port,
        port: eb.port, directEndpoint: base(eb.port),
      },
      stop,
    };
    const proxyOf = (service) => {
      const key = { events: 'eventbridge', eventbridge: 'eventbridge', s3: 's3', sqs: 'sqs' }[service];
      if (!key) throw new Error(`unknown service ${service}`);
      return peers[key];
    };

    // The proxy's journal for that service: [{at, method, path, headers, body,
    // bodyEncoding, verdict, reason, status, credential}]
    peers.journal = (service) => getJson(`${proxyOf(service).endpoint}/__proxy/requests`);
    // Empties the proxy's journal and pending failures; for eventbridge the
    // fake's event list too.
    peers.clear = async (service) => {
      await getJson(`${proxyOf(service).endpoint}/__proxy/clear`, { method: 'POST' });
      if (proxyOf(service) === peers.eventbridge) await getJson(`${peers.eventbridge.directEndpoint}/__clear`, { method: 'POST' });
    };
    // spec: {status=503, count=1, body?, content_type?, headers?, code?}
    peers.failNext = (service, spec = {}) => getJson(`${proxyOf(service).endpoint}/__proxy/fail`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec),
    });

    // Reads an object straight from s3rver (anonymous, unsigned).
    // -> {status, body: Buffer, contentType, metadata: {name: value} (x-amz-meta-* without the prefix), headers}
    peers.getObject = async (bucket, key) => {
      const k = key.split('/').map(encodeURIComponent).join('/');
      const r = await fetch(`${peers.s3.directEndpoint}/${encodeURIComponent(bucket)}/${k}`);
      const body = Buffer.from(await r.arrayBuffer());
      const headers = Object.fromEntries(r.headers);
      const metadata = {};
      for (const [h, v] of Object.entries(headers)) if (h.startsWith('x-amz-meta-')) metadata[h.slice(11)] = v;
      return { status: r.status, body, contentType: headers['content-type'] ?? null, metadata, headers };
    };

    // Receives (and by default deletes) up to `max` messages straight from
    // local-aws-sqs with JSON 1.0 ReceiveMessage, MessageAttributeNames All.
    // -> [{MessageId, Body, MD5OfBody, MessageAttributes?, MD5OfMessageAttributes?, Attributes?, ReceiptHandle}]
    peers.receiveMessages = async (queueName, { max = 10, waitSeconds = 0, remove = true } = {}) => {
      const call = (target, payload) => getJson(`${peers.sqs.directEndpoint}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${target}` },
        body: JSON.stringify({ QueueUrl: `${peers.sqs.directEndpoint}/${AWS_ACCOUNT_ID}/${queueName}`, ...payload }),
      });
      const out = [];
      while (out.length < max) {
        const r = await call('ReceiveMessage', {
          MaxNumberOfMessages: Math.min(10, max - out.length),
          MessageAttributeNames: ['All'], AttributeNames: ['All'], MessageSystemAttributeNames: ['All'],
          WaitTimeSeconds: out.length ? 0 : waitSeconds,
        });
        const msgs = r.Messages || [];
        if (!msgs.length) break;
        out.push(...msgs);
        if (remove) for (const m of msgs) await call('DeleteMessage', { ReceiptHandle: m.ReceiptHandle });
      }
      return out;
    };

    // Every entry the EventBridge fake accepted: [{Source, DetailType, Detail (string),
    // EventBusName, Resources?, Time?, EventId, receivedAt}]
    peers.events = () => getJson(`${peers.eventbridge.directEndpoint}/__events`);

    return peers;
  } catch (e) {
    await stop();
    throw e;
  }
}
