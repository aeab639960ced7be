// The dashboard's live channels on /v1/ws (src/observe/live.c): hookstream.events
// and hookstream.deliveries carry committed events, attempts with the
// destination's circuit state, and circuit resets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer, makeSource, makeDestination, makeConnection, API_KEY } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const WebSocket = createRequire(PEERS_DIR + '/')('ws');
let srv;
const open = []; // clients and receivers, closed even when a test fails
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => {
  for (const o of open) await o.close();
  await srv.stop();
  srv.cleanup();
});

async function subscribe(...channels) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/ws?token=${API_KEY}`);
  const msgs = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  open.push({ close: () => ws.terminate() });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  for (const channel of channels) ws.send(JSON.stringify({ type: 'subscribe', channel }));
  await until(() => msgs.filter((m) => m.type === 'subscribed').length === channels.length, 5000, 'subscribed');
  return { ws, msgs };
}

test('events and attempts arrive live, with the circuit opening and a reset', { timeout: 30000 }, async () => {
  const { ws, msgs } = await subscribe('hookstream.events', 'hookstream.deliveries');
  const rx = await startReceiver(() => ({ status: 503 }));
  open.push(rx);
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, {
    config: { url: rx.url }, retry_policy: { max_retries: 0 }, circuit_breaker: { threshold: 2, cooldown_ms: 60000 },
  });
  await makeConnection(srv, src.id, dst.id);
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    ids.push((await r.json()).event_id);
  }
  await until(() => msgs.filter((m) => m.type === 'delivery.attempt').length >= 2, 10000, 'two attempts');
  await until(() => msgs.filter((m) => m.type === 'event.received').length >= 3, 10000, 'three events');
  const events = msgs.filter((m) => m.type === 'event.received');
  assert.deepEqual(events.map((m) => m.data.event_id), ids);
  assert.equal(events[0].channel, 'hookstream.events');
  assert.equal(events[0].data.source_id, src.id);
  assert.equal(events[0].data.verification_status, 'unverified');
  assert.equal(events[0].data.dedup_status, 'unique');
  const attempts = msgs.filter((m) => m.type === 'delivery.attempt');
  assert.equal(attempts[0].channel, 'hookstream.deliveries');
  assert.equal(attempts[0].data.attempt.status, 'failed');
  assert.equal(attempts[0].data.attempt.response_status, 503);
  assert.equal(attempts[0].data.attempt.is_dlq, true);
  assert.equal(attempts[0].data.destination.circuit, 'closed');
  assert.equal(attempts[1].data.destination.circuit, 'open', 'the second failure opens it');
  const c = await until(async () => {
    const x = (await srv.req('GET', `/v1/destinations/${dst.id}/circuit`)).body;
    return x.queued === 1 ? x : null;
  }, 5000, 'the third delivery waits');
  assert.equal(c.state, 'open');
  const all = (await srv.req('GET', '/v1/circuits')).body.circuits;
  const mine = all.find((x) => x.destination_id === dst.id);
  assert.deepEqual([mine.state, mine.queued, mine.type], ['open', 1, 'http']);
  // a reset is announced with the destination's state after it
  rx.behave = () => ({ status: 200 });
  const r = await srv.req('POST', `/v1/destinations/${dst.id}/circuit/reset`);
  assert.equal(r.status, 200);
  const reset = await until(() => msgs.find((m) => m.type === 'circuit.reset'), 5000, 'circuit.reset');
  assert.equal(reset.data.destination.id, dst.id);
  assert.equal(reset.data.destination.circuit, 'closed');
  const ok = await until(() => msgs.find((m) => m.type === 'delivery.attempt' && m.data.attempt.status === 'success'), 5000, 'success');
  assert.equal(ok.data.attempt.event_id, ids[2]);
});

// A manual retry reaches the scheduler, then the metrics and the live feed,
// through hooks only (src/core/hooks.h): a missing subscription shows here.
test('a manual retry is sent, shown live and counted', { timeout: 30000 }, async () => {
  const { msgs } = await subscribe('hookstream.deliveries');
  const rx = await startReceiver(() => ({ status: 500 }));
  open.push(rx);
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, {
    config: { url: rx.url }, retry_policy: { max_retries: 0 }, circuit_breaker: { enabled: false },
  });
  await makeConnection(srv, src.id, dst.id);
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  const { event_id } = await r.json();
  const mine = (m) => m.type === 'delivery.attempt' && m.data.attempt.event_id === event_id;
  const dead = await until(() => msgs.find((m) => mine(m) && m.data.attempt.is_dlq), 10000, 'dead-lettered');
  assert.equal(dead.data.attempt.attempt_number, 1);
  const counted = async (outcome) => {
    const text = await (await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
    const m = text.match(new RegExp(`^hookstream_delivery_attempts_total\\{destination_id="${dst.id}",outcome="${outcome}"\\} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : null;
  };
  assert.equal(await counted('dlq'), 1);
  assert.equal(await counted('success'), 0);
  rx.behave = () => ({ status: 200 });
  assert.equal((await srv.req('POST', `/v1/events/${event_id}/retry`)).status, 202);
  const ok = await until(() => msgs.find((m) => mine(m) && m.data.attempt.status === 'success'), 10000, 'retried live');
  assert.equal(ok.data.attempt.attempt_number, 2);
  assert.equal(ok.data.destination.id, dst.id);
  assert.equal(await counted('success'), 1);
  assert.equal(await counted('dlq'), 1);
});

test('the hookstream. channel prefix is reserved', async () => {
  const r = await srv.req('POST', '/v1/destinations', { name: 'x', type: 'websocket', config: { channel_name: 'hookstream.events' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'config.channel_name');
});
