// The SSRF guard: without --allow-private-destinations the server refuses
// to connect to loopback, private and link-local addresses, after name
// resolution; such a delivery is dead-lettered at once with the reason and
// the receiver never sees a connection. With the flag the same receiver
// gets it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopClean, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';

const receivers = [];
after(async () => { for (const rx of receivers) await rx.close(); });

async function deliverOnce(srv, url) {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { config: { url }, retry_policy: { max_retries: 3, backoff_type: 'fixed', intervals: [1] } });
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200);
  const eventId = (await r.json()).event_id;
  let attempts;
  await until(async () => {
    attempts = (await srv.req('GET', `/v1/delivery-attempts?event_id=${eventId}`)).body.delivery_attempts;
    return attempts.length > 0 && attempts.every((a) => a.status === 'success' || a.is_dlq);
  }, 10000, 'the delivery settles');
  return { eventId, attempts };
}

// One delivery to url, refused by the guard: one attempt, dead-lettered at
// once, no response, and the guard's error naming addr (the address as
// inet_ntop prints it; null for a name) and why.
async function expectRefused(srv, url, addr, why) {
  const t0 = Date.now();
  const { attempts } = await deliverOnce(srv, url);
  assert.equal(attempts.length, 1, `${url}: one attempt, not retried`);
  const a = attempts[0];
  assert.equal(a.status, 'failed', url);
  assert.equal(a.is_dlq, true, url);
  assert.equal(a.response_status, null, url);
  assert.ok(a.error.startsWith(addr ? `refused to connect to ${addr}: ` : 'refused to connect to '), `${url}: ${a.error}`);
  assert.ok(a.error.includes(why), `${url}: ${a.error}`);
  assert.match(a.error, /--allow-private-destinations/);
  assert.match(a.error, /not retried/);
  assert.ok(Date.now() - t0 < 5000, `${url}: refused at once, not after a connect timeout`);
}

// A guarded server and a receiver on 127.0.0.1; every [url, addr, why] of
// casesFor(the receiver's port) is refused, and the receiver sees nothing.
async function expectAllRefused(casesFor) {
  const rx = await startReceiver(() => ({ status: 200 }));
  receivers.push(rx);
  const srv = await startServer({ guard: true });
  try {
    for (const [url, addr, why] of casesFor(new URL(rx.url).port, rx.url)) await expectRefused(srv, url, addr, why);
    assert.equal(rx.requests.length, 0, 'the receiver saw nothing');
  } finally {
    await stopClean(srv);
  }
}

test('private destinations are refused by default, before any connection, and dead-lettered at once', async () => {
  await expectAllRefused((port, rxUrl) => [
    [rxUrl, '127.0.0.1', 'loopback'],
    [`http://localhost:${port}/hook`, null, 'loopback'], // a name: resolved first, then judged
    [`http://[::1]:${port}/hook`, '::1', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'link-local'], // cloud metadata
    ['http://10.1.2.3/hook', '10.1.2.3', 'a private address'],
    ['http://192.168.0.10:8080/hook', '192.168.0.10', 'a private address'],
    ['http://0.0.0.0:9/hook', '0.0.0.0', 'unspecified'],
  ]);
});

// IPv6 forms that carry an IPv4 address are judged by that address. The
// kernel may or may not route some of them (SIIT, 6to4, Teredo need a
// translator or a relay), so "refused" is proven by the guard's own error,
// which exists only when the guard turned the socket down before connect().
test('IPv6 forms that embed a non-public IPv4 address are refused by the guard, before connect', async () => {
  await expectAllRefused((port) => [
    // URL, the address as the error prints it (inet_ntop), the reason
    [`http://[::ffff:0:127.0.0.1]:${port}/hook`, '::ffff:0:7f00:1', 'loopback'], // SIIT
    [`http://[2002:7f00:1::]:${port}/hook`, '2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    [`http://[2002:a9fe:a9fe::1]/latest/meta-data/`, '2002:a9fe:a9fe::1', 'link-local'], // 6to4 of 169.254.169.254
    [`http://[2001:0:808:808::80ff:fffe]:${port}/hook`, '2001:0:808:808::80ff:fffe', 'loopback'], // Teredo client 127.0.0.1
    [`http://[2001:0:a00:1::f7f7:f7f7]/hook`, '2001:0:a00:1::f7f7:f7f7', 'a private address'], // Teredo server 10.0.0.1
    [`http://[64:ff9b::169.254.169.254]/`, '64:ff9b::a9fe:a9fe', 'link-local'], // NAT64
    [`http://[64:ff9b:1::a00:1]/`, '64:ff9b:1::a00:1', 'local-use NAT64'],
    [`http://[::ffff:10.0.0.1]/hook`, '::ffff:10.0.0.1', 'a private address'], // IPv4-mapped
    [`http://[::127.0.0.1]:${port}/hook`, '::127.0.0.1', 'IPv4-compatible'],
    [`http://[fd00::1]/hook`, 'fd00::1', 'unique local'],
    [`http://[3fff::1]/hook`, '3fff::1', 'documentation'],
    [`http://[100::1]/hook`, '100::1', 'discard'],
  ]);
});

test('--allow-private-destinations lifts the guard: the same receiver gets the event', async () => {
  const rx = await startReceiver(() => ({ status: 200 }));
  receivers.push(rx);
  const srv = await startServer({ guard: true, args: ['--allow-private-destinations'] });
  try {
    const { attempts } = await deliverOnce(srv, rx.url);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0].status, 'success');
    assert.equal(rx.requests.length, 1);
    assert.equal(rx.requests[0].body.toString(), '{"a":1}');
  } finally {
    await stopClean(srv);
  }
});

test('HOOKSTREAM_ALLOW_PRIVATE_DESTINATIONS=1 lifts it too', async () => {
  const rx = await startReceiver(() => ({ status: 204 }));
  receivers.push(rx);
  const srv = await startServer({ guard: true, env: { HOOKSTREAM_ALLOW_PRIVATE_DESTINATIONS: '1' } });
  try {
    const { attempts } = await deliverOnce(srv, rx.url);
    assert.equal(attempts[0].status, 'success');
    assert.equal(rx.requests.length, 1);
  } finally {
    await stopClean(srv);
  }
});
