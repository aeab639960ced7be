import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, tempDir, makeSource, makeDestination, makeConnection } from './lib/server.mjs';

test('data survives a clean restart', async () => {
  const dir = tempDir();
  let srv = await startServer({ dir });
  const s = await makeSource(srv, { slug: 'keep' });
  const d = await makeDestination(srv, { type: 'kafka', config: { rest_url: 'https://k.example', cluster_id: 'c1', topic: 't', api_key: 'k', api_secret: 'secret-value-123456' } });
  const c = await makeConnection(srv, s.id, d.id);
  const ev = await (await fetch(`${srv.url}/v1/ingest/keep`, { method: 'POST', body: 'persist me' })).json();
  const st = await srv.stop();
  assert.equal(st.code, 0, 'SIGTERM exits 0');

  srv = await startServer({ dir });
  assert.equal((await srv.req('GET', `/v1/sources/${s.id}`)).body.slug, 'keep');
  const dd = await srv.req('GET', `/v1/destinations/${d.id}`);
  assert.equal(dd.body.config.topic, 't');
  assert.equal(dd.body.config.api_secret, d.config.api_secret);
  assert.equal((await srv.req('GET', `/v1/connections/${c.id}`)).status, 200);
  const e = await srv.req('GET', `/v1/events/${ev.event_id}`);
  assert.equal(e.body.body, 'persist me');
  assert.equal(e.body.deliveries.length, 1);
  await srv.stop();
  srv.cleanup();
});

// Fire ingests over many connections, kill -9 the server mid-burst, restart:
// every event that was answered 200 must be there, byte for byte.
test('kill -9 during a burst loses no acknowledged event', async () => {
  const dir = tempDir();
  let srv = await startServer({ dir });
  const s = await makeSource(srv);
  const d = await makeDestination(srv);
  await makeConnection(srv, s.id, d.id);
  const acked = new Map();
  let stop = false;
  let failures = 0;
  const worker = async (w) => {
    for (let i = 0; !stop && i < 100000; i++) {
      const body = `{"w":${w},"i":${i},"pad":"${'x'.repeat(i % 200)}"}`;
      try {
        const r = await fetch(`${srv.url}/v1/ingest/${s.id}`, { method: 'POST', body });
        if (r.status === 200) acked.set((await r.json()).event_id, body);
      } catch { failures++; return; }
    }
  };
  const workers = Array.from({ length: 32 }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, 1500));
  const res = await srv.kill9();
  stop = true;
  await Promise.all(workers);
  assert.equal(res.signal, 'SIGKILL');
  assert.ok(acked.size > 100, `only ${acked.size} events acknowledged before the kill`);

  srv = await startServer({ dir });
  let missing = 0;
  let wrong = 0;
  for (const [id, body] of acked) {
    const e = await srv.req('GET', `/v1/events/${id}`);
    if (e.status !== 200) missing++;
    else if (e.body.body !== body || e.body.deliveries.length !== 1) wrong++;
  }
  assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged events lost`);
  assert.equal(wrong, 0, `${wrong} events corrupted`);
  const ic = execFileSync('sqlite3', [path.join(dir, 'hookstream.db'), 'PRAGMA integrity_check;']).toString().trim();
  assert.equal(ic, 'ok');
  await srv.stop();
  srv.cleanup();
});

test('SIGTERM during a burst answers in-flight requests and loses nothing', async () => {
  const dir = tempDir();
  let srv = await startServer({ dir });
  const s = await makeSource(srv);
  const acked = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      try {
        const r = await fetch(`${srv.url}/v1/ingest/${s.id}`, { method: 'POST', body: 'x' });
        if (r.status === 200) acked.push((await r.json()).event_id);
        else if (r.status !== 503) throw new Error('unexpected ' + r.status);
      } catch (e) { if (String(e).includes('unexpected')) throw e; return; }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  await new Promise((r) => setTimeout(r, 800));
  const res = await srv.stop('SIGTERM');
  stop = true;
  await Promise.all(workers);
  assert.equal(res.code, 0);
  srv = await startServer({ dir });
  for (const id of acked) assert.equal((await srv.req('GET', `/v1/events/${id}`)).status, 200, id);
  await srv.stop();
  srv.cleanup();
});

// A full disk must turn ingests into 503s, never lose what was acknowledged,
// and the server must keep running. Needs root (tmpfs mount).
test('full disk: 503, no loss, no crash', { skip: process.getuid() !== 0 && 'needs root to mount a tmpfs' }, async () => {
  const dir = tempDir();
  const mnt = path.join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  let srv;
  try {
    srv = await startServer({ dir, db: path.join(mnt, 'h.db') });
    const s = await makeSource(srv);
    const acked = new Map();
    let full = 0;
    const big = 'y'.repeat(60000);
    for (let i = 0; i < 200 && full < 5; i++) {
      const body = `${i}:${big}`;
      const r = await fetch(`${srv.url}/v1/ingest/${s.id}`, { method: 'POST', body });
      if (r.status === 200) acked.set((await r.json()).event_id, body);
      else { assert.equal(r.status, 503); full++; }
    }
    assert.ok(full >= 1, 'the disk filled up');
    assert.ok(acked.size >= 5);
    assert.equal((await fetch(srv.url + '/health')).status, 200, 'still alive');
    for (const [id, body] of acked) {
      const e = await srv.req('GET', `/v1/events/${id}`);
      assert.equal(e.status, 200);
      assert.equal(e.body.body, body);
    }
    await srv.stop();
    srv = await startServer({ dir, db: path.join(mnt, 'h.db') });
    for (const id of acked.keys()) assert.equal((await srv.req('GET', `/v1/events/${id}`)).status, 200);
    await srv.stop();
  } finally {
    if (srv) await srv.stop();
    execFileSync('umount', ['-l', mnt]);
    srv?.cleanup();
  }
});
