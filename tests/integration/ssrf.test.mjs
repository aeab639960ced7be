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

test('private destinations are refused by default, before any connection, and dead-lettered at once', async () => {
  const rx = await startReceiver(() => ({ status: 200 }));
  receivers.push(rx);
  const port = new URL(rx.url).port;
  const srv = await startServer({ guard: true });
  try {
    const cases = [
      [rx.url, '127.0.0.1', 'loopback'],
      [`http://localhost:${port}/hook`, null, 'loopback'], // a name: resolved first, then judged
      [`http://[::1]:${port}/hook`, '::1', 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254', 'link-local'], // cloud metadata
      ['http://10.1.2.3/hook', '10.1.2.3', 'a private address'],
      ['http://192.168.0.10:8080/hook', '192.168.0.10', 'a private address'],
      ['http://0.0.0.0:9/hook', '0.0.0.0', 'unspecified'],
    ];
    for (const [url, addr, why] of cases) {
      const t0 = Date.now();
      const { attempts } = await deliverOnce(srv, url);
      assert.equal(attempts.length, 1, `${url}: one attempt, not retried`);
      const a = attempts[0];
      assert.equal(a.status, 'failed', url);
      assert.equal(a.is_dlq, true, url);
      assert.equal(a.response_status, null, url);
      assert.match(a.error, /refused to connect to/, url);
      if (addr) assert.ok(a.error.includes(addr), `${url}: ${a.error}`);
      assert.ok(a.error.includes(why), `${url}: ${a.error}`);
      assert.match(a.error, /--allow-private-destinations/);
      assert.match(a.error, /not retried/);
      assert.ok(Date.now() - t0 < 5000, `${url}: refused at once, not after a connect timeout`);
    }
    assert.equal(rx.requests.length, 0, 'the receiver saw nothing');
  } finally {
    await stopClean(srv);
  }
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
