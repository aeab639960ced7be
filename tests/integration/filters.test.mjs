// Connection filter rules through the real binary: routing by payload,
// headers and request fields; 400s naming the bad rule; changes apply to the
// next event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, sleep } from './lib/receiver.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--allow-private-destinations'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function ingest(src, body, headers = { 'content-type': 'application/json' }) {
  const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body, headers });
  assert.equal(r.status, 200);
  const id = (await r.json()).event_id;
  return (await srv.req('GET', `/v1/events/${id}`)).body;
}

test('events go only where the filters match', async () => {
  const rxVip = await startReceiver();
  const rxDe = await startReceiver();
  const src = await makeSource(srv);
  const vip = await makeDestination(srv, { config: { url: rxVip.url } });
  const de = await makeDestination(srv, { config: { url: rxDe.url } });
  await makeConnection(srv, src.id, vip.id, {
    filter_rules: [
      { field: 'payload.type', op: 'eq', value: 'order.created' },
      { any: [{ field: 'payload.amount', op: 'gte', value: 100 }, { field: 'payload.tags', op: 'eq', value: ['vip'] }] },
    ],
  });
  await makeConnection(srv, src.id, de.id, {
    filter_rules: [
      { field: 'headers.X-Country', op: 'in', value: ['DE', 'AT'] },
      { not: { field: 'method', op: 'eq', value: 'DELETE' } },
    ],
  });
  let e = await ingest(src, JSON.stringify({ type: 'order.created', amount: 150 }));
  assert.deepEqual(e.deliveries.map((d) => d.destination_id), [vip.id]);
  e = await ingest(src, JSON.stringify({ type: 'order.created', amount: 5, tags: ['vip'] }), {
    'content-type': 'application/json', 'x-country': 'AT',
  });
  assert.deepEqual(e.deliveries.map((d) => d.destination_id).sort(), [vip.id, de.id].sort());
  e = await ingest(src, JSON.stringify({ type: 'order.paid', amount: 500 }));
  assert.equal(e.deliveries.length, 0);
  assert.equal(e.status, 'received', 'matched no connection');
  // not JSON: payload rules do not hold, header rules still do
  e = await ingest(src, 'amount=500', { 'content-type': 'text/plain', 'x-country': 'DE' });
  assert.deepEqual(e.deliveries.map((d) => d.destination_id), [de.id]);
  await rxVip.waitFor(2);
  await rxDe.waitFor(2);
  await sleep(200);
  assert.equal(rxVip.requests.length, 2);
  assert.equal(rxDe.requests.length, 2);
  assert.equal(rxDe.requests[1].body.toString(), 'amount=500');
  await rxVip.close();
  await rxDe.close();
});

test('a changed filter applies to the next event', async () => {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, { status: 'paused' });
  const conn = await makeConnection(srv, src.id, dst.id, {
    filter_rules: [{ field: 'payload.n', op: 'lt', value: 10 }],
  });
  assert.equal((await ingest(src, '{"n":50}')).deliveries.length, 0);
  let r = await srv.req('PATCH', `/v1/connections/${conn.id}`, { filter_rules: [{ field: 'payload.n', op: 'gt', value: 10 }] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.filter_rules, [{ field: 'payload.n', op: 'gt', value: 10 }]);
  assert.equal((await ingest(src, '{"n":50}')).deliveries.length, 1);
  r = await srv.req('PATCH', `/v1/connections/${conn.id}`, { filter_rules: [] });
  assert.equal(r.status, 200);
  assert.equal(r.body.filter_rules, null, 'an empty list means no filter');
  assert.equal((await ingest(src, 'not json')).deliveries.length, 1);
});

test('bad rules are refused with the path of the rule', async () => {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv);
  const cases = [
    [{ field: 'payload.a', op: 'between', value: 1 }, 'filter_rules[0].op'],
    [{ field: 'payload.a', op: 'gt', value: 'ten' }, 'filter_rules[0].value'],
    [{ field: 'body', op: 'eq', value: 1 }, 'filter_rules[0].field'],
    [{ any: [{ field: 'method', op: 'eq', value: 'GET' }, { field: 'method', op: 'eq' }] }, 'filter_rules[0].any[1].value'],
    [{ field: 'payload.a', op: 'eq', value: 1, typo: true }, 'filter_rules[0].typo'],
  ];
  for (const [rule, field] of cases) {
    const r = await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id, filter_rules: [rule] });
    assert.equal(r.status, 400, JSON.stringify(rule));
    assert.equal(r.body.field, field);
  }
  const r = await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id, filter_rules: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'filter_rules');
});
