// A real RabbitMQ broker (Debian's rabbitmq-server with the management
// plugin) for the rabbitmq destination tests, run without systemd as a
// direct child of the test process:
//   - every path (config, mnesia, logs, Erlang cookie via HOME) in a
//     temporary directory, removed by stop();
//   - its own epmd, started in the foreground so that its PID is known (else
//     the VM spawns `epmd -daemon`, which outlives the test);
//   - every port chosen free at start (AMQP, management, epmd, Erlang
//     distribution), all on 127.0.0.1, so that a developer's own broker or a
//     parallel run does not collide;
//   - a non-guest administrator (default_user) with a real password.
// Start takes 7-15 s: start once per test file, in before().
//
// The helpers talk to the management API directly: declare exchanges,
// queues, bindings, vhosts and users, and get messages from a queue.
import { spawn } from 'node:child_process';
import { track } from './children.mjs'; // killed with the test process
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const ERLANG_DIR = '/usr/lib/erlang';

function epmdPath() {
  if (!existsSync(ERLANG_DIR)) return null;
  for (const d of readdirSync(ERLANG_DIR).filter((n) => n.startsWith('erts-')).sort().reverse()) {
    const p = path.join(ERLANG_DIR, d, 'bin', 'epmd');
    if (existsSync(p)) return p;
  }
  return null;
}

// Throws (so that the test FAILS, not skips) when the broker is not installed.
export function requireRabbitMQ() {
  if (!existsSync(RABBITMQ_SERVER) || !epmdPath()) {
    throw new Error(`RabbitMQ is not installed (${RABBITMQ_SERVER} or Erlang's epmd is missing): ` +
      'run `make test-deps` (it installs the Debian package rabbitmq-server)');
  }
}

// n distinct free TCP ports on 127.0.0.1 (held open together so that they differ).
async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve); });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function spawnChild(cmd, args, env) {
  const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout.on('data', (d) => { out = (out + d).slice(-20000); });
  child.stderr.on('data', (d) => { out = (out + d).slice(-20000); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, get output() { return out; } };
}

async function stopChild(c, graceMs) {
  if (!c) return;
  const { child, exited } = c;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(t);
}

// opts: {user='hookstream', password, timeoutMs=90000}
// -> broker: {url (management base), amqpPort, user, password, api(), helpers..., stop()}
export async function startRabbitMQ(opts = {}) {
  requireRabbitMQ();
  const user = opts.user || 'hookstream';
  const password = opts.password || 'rmq-pass-' + Math.random().toString(36).slice(2, 12);
  const timeoutMs = opts.timeoutMs || 90000;
  const dir = mkdtempSync(path.join(tmpdir(), 'hookstream-rmq-'));
  const [amqpPort, mgmtPort, epmdPort, distPort] = await freePorts(4);
  const node = `hookstream${process.pid}x${Math.random().toString(36).slice(2, 8)}@localhost`;
  // a value with a '#' or a newline would break the config format
  if (/[#\n\r]/.test(password) || /[#\n\r]/.test(user)) throw new Error('startRabbitMQ: user/password must not contain # or newlines');
  writeFileSync(path.join(dir, 'rabbitmq.conf'), [
    `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
    'management.tcp.ip = 127.0.0.1',
    `management.tcp.port = ${mgmtPort}`,
    `default_user = ${user}`,
    `default_pass = ${password}`,
    'default_user_tags.administrator = true',
    'default_permissions.configure = .*',
    'default_permissions.read = .*',
    'default_permissions.write = .*',
    // a small scratch disk must not raise the disk alarm (which blocks publishers)
    'disk_free_limit.absolute = 1MB',
    '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_management].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), ''); // not /etc/rabbitmq/rabbitmq-env.conf
  const env = {
    PATH: process.env.PATH || '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: dir, // the Erlang cookie goes here
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbit.pid'),
    // the distribution port listens on 0.0.0.0 unless told otherwise
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let epmd = null;
  let server = null;
  const stop = async () => {
    // the VM stops cleanly on SIGTERM (about 6 s); epmd after it, as the VM
    // unregisters from it on the way out
    await stopChild(server, 20000);
    await stopChild(epmd, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    epmd = spawnChild(epmdPath(), ['-address', '127.0.0.1', '-port', String(epmdPort)], env);
    for (let t0 = Date.now(); !(await canConnect(epmdPort));) {
      if (epmd.child.exitCode !== null) throw new Error(`epmd exited: ${epmd.output}`);
      if (Date.now() - t0 > 5000) throw new Error('epmd did not start in 5 s');
      await sleep(50);
    }
    // the script execs erl, which execs the VM: this child is beam.smp itself
    server = spawnChild(RABBITMQ_SERVER, [], env);
    const url = `http://127.0.0.1:${mgmtPort}`;
    const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
    for (let t0 = Date.now(); ;) {
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        throw new Error(`rabbitmq-server exited before ready:\n${server.output}\n${logTail(dir)}`);
      }
      try {
        const r = await fetch(`${url}/api/overview`, { headers: { authorization: auth }, signal: AbortSignal.timeout(2000) });
        if (r.status === 200) break;
      } catch { /* not listening yet */ }
      if (Date.now() - t0 > timeoutMs) throw new Error(`rabbitmq-server not ready in ${timeoutMs} ms:\n${server.output}\n${logTail(dir)}`);
      await sleep(200);
    }
    return makeBroker({ url, amqpPort, user, password, pid: server.child.pid, epmdPid: epmd.child.pid, dir, stop });
  } catch (e) {
    await stop();
    throw e;
  }
}

function logTail(dir) {
  try {
    const logDir = path.join(dir, 'log');
    return readdirSync(logDir).map((f) => readFileSync(path.join(logDir, f), 'utf8').slice(-4000)).join('\n');
  } catch { return ''; }
}

const enc = encodeURIComponent; // '/' -> %2F, as the management API wants for vhosts

// The management API helpers. Every call checks its status: a helper that
// silently failed would make a test prove nothing.
function makeBroker(b) {
  const authOf = (user, password) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  // -> {status, body (parsed JSON or undefined), text}
  const api = async (method, p, body, { user = b.user, password = b.password } = {}) => {
    const r = await fetch(`${b.url}/api${p}`, {
      method,
      headers: { authorization: authOf(user, password), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await r.text();
    let parsed;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    return { status: r.status, body: parsed, text };
  };
  const must = async (method, p, body, okStatuses = [200, 201, 204]) => {
    const r = await api(method, p, body);
    if (!okStatuses.includes(r.status)) throw new Error(`${method} /api${p}: ${r.status} ${r.text}`);
    return r.body;
  };
  return {
    ...b,
    api,
    addVhost: (name) => must('PUT', `/vhosts/${enc(name)}`, {}),
    addUser: (name, password, tags = '') => must('PUT', `/users/${enc(name)}`, { password, tags }),
    // perms: {configure, write, read} regexes
    setPermissions: (vhost, name, perms = { configure: '.*', write: '.*', read: '.*' }) =>
      must('PUT', `/permissions/${enc(vhost)}/${enc(name)}`, perms),
    declareExchange: (name, type = 'topic', vhost = '/') =>
      must('PUT', `/exchanges/${enc(vhost)}/${enc(name)}`, { type, durable: true }),
    declareQueue: (name, vhost = '/') => must('PUT', `/queues/${enc(vhost)}/${enc(name)}`, { durable: true }),
    deleteQueue: (name, vhost = '/') => must('DELETE', `/queues/${enc(vhost)}/${enc(name)}`),
    bind: (exchange, queue, routingKey, vhost = '/') =>
      must('POST', `/bindings/${enc(vhost)}/e/${enc(exchange)}/q/${enc(queue)}`, { routing_key: routingKey }),
    // Takes (acks, removes) up to count messages. Properties are normalized:
    // Erlang's JSON gives [] for "no properties", tests want {}.
    // -> [{payload (Buffer), payload_encoding, routing_key, exchange, redelivered, properties}]
    async getMessages(queue, { vhost = '/', count = 100 } = {}) {
      const msgs = await must('POST', `/queues/${enc(vhost)}/${enc(queue)}/get`,
        { count, ackmode: 'ack_requeue_false', encoding: 'auto' }, [200]);
      return msgs.map((m) => ({
        ...m,
        properties: Array.isArray(m.properties) ? {} : m.properties,
        payload: m.payload_encoding === 'base64' ? Buffer.from(m.payload, 'base64') : Buffer.from(m.payload, 'utf8'),
      }));
    },
    // Messages that are ready in a queue, as the broker counts them right now.
    async queueDepth(queue, vhost = '/') {
      const q = await must('GET', `/queues/${enc(vhost)}/${enc(queue)}`, undefined, [200]);
      return q.messages ?? q.messages_ready ?? 0;
    },
  };
}

// An HTTP forwarder in front of the broker's management API that can fail
// the next requests (the broker itself cannot be told to answer 503), for
// the retry and circuit-breaker tests. failNext({status=503, count=1, body})
// or failNext({reset: true, count}) to drop the connection. Every answer
// closes its connection: libcurl silently resends a request whose reused
// connection was reset, which would hide an injected reset.
export async function startFaultProxy(upstreamUrl) {
  const up = new URL(upstreamUrl);
  const faults = [];
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const f = faults[0];
      if (f) {
        if (--f.count <= 0) faults.shift();
        if (f.reset) { req.socket.destroy(); return; }
        res.writeHead(f.status || 503, { 'content-type': 'application/json', connection: 'close' });
        res.end(f.body ?? JSON.stringify({ error: 'service_unavailable', reason: 'injected by the test' }));
        return;
      }
      const headers = { ...req.headers, host: up.host };
      const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (pres) => {
        res.writeHead(pres.statusCode, { ...pres.headers, connection: 'close' });
        pres.pipe(res);
      });
      preq.on('error', () => req.socket.destroy());
      preq.end(body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    failNext(spec = {}) { faults.push({ count: 1, ...spec }); },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(r));
    },
  };
}
