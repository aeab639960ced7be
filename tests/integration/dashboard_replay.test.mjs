// The dashboard's replay section (web/replay.js, on a destination's page)
// and the "Retry all dead letters" button of a destination's dead-letter
// view (web/pages_dlq.js), in headless Chromium as dashboard.test.mjs
// drives it: a replay started from the form, its progress polled to
// completed, what the receiver got; a running replay cancelled from its
// row; a destination's dead letters all retried with one button and
// delivered. The page must log no error and throw nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer, API_KEY, makeSource, makeDestination, makeConnection } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const { chromium } = createRequire(PEERS_DIR + '/')('playwright-core');
const T = 15000;
let srv, rx, browser, page;
const problems = [];

before(async () => {
  srv = await startServer();
  let fail = true;
  rx = await startReceiver(() => ({ status: fail ? 500 : 200 }));
  rx.heal = () => { fail = false; };
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console.error: ' + m.text()); });
  await page.goto(srv.url + '/');
  await page.fill('#login-key', API_KEY);
  await page.click('#login-submit');
  await page.waitForSelector('#shell:not([hidden])');
});

after(async () => {
  await browser?.close();
  await rx?.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
});

const go = async (hash, ready) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(ready);
};

test('dead letters of a destination retried with one button; replays started, watched and cancelled', async () => {
  const src = await makeSource(srv);
  const dst = await makeDestination(srv, {
    name: 'Replayed', config: { url: rx.url },
    retry_policy: { max_retries: 0, backoff_type: 'fixed', intervals: [1] }, circuit_breaker: { enabled: false },
  });
  await makeConnection(srv, src.id, dst.id);
  for (let i = 0; i < 8; i++) {
    const r = await fetch(`${srv.url}/v1/ingest/${src.id}`, { method: 'POST', body: JSON.stringify({ i }) });
    assert.equal(r.status, 200);
  }
  const dlq = async () => (await srv.req('GET', `/v1/delivery-attempts?destination_id=${dst.id}&is_dlq=1`)).body.delivery_attempts;
  await until(async () => (await dlq()).length === 8, T, 'eight dead letters');
  rx.heal();

  // the destination's dead-letter view: one button retries all of them
  await go(`#/dlq?destination_id=${dst.id}`, '#retry-destination');
  page.once('dialog', (d) => d.accept());
  await page.click('#retry-destination');
  await page.waitForSelector('.toast:has-text("8 dead letters queued again")');
  await until(async () => (await dlq()).length === 0 && rx.requests.length >= 16, T, 'all delivered');

  // a replay from the destination's page: the 8 events once more
  await go(`#/destinations/${dst.id}`, '#replay-form');
  await page.fill('#replay-form input[data-path="rate"]', '100');
  await page.click('#replay-start');
  await page.waitForSelector('.toast:has-text("Replay started: 8 events")');
  await page.waitForSelector('#replay-table .replay-status:has-text("completed")');
  assert.match(await page.textContent('#replay-table'), /8 \/ 8 \(100%\)/);
  await until(() => rx.requests.length >= 24, T, 'the replay delivered');

  // a slow one, cancelled from its row
  await page.fill('#replay-form input[data-path="rate"]', '1');
  await page.click('#replay-start');
  await page.waitForSelector('.replay-cancel');
  await page.click('.replay-cancel');
  await page.waitForSelector('#replay-table .replay-status:has-text("cancelled")');
  const jobs = (await srv.req('GET', '/v1/replay')).body.jobs;
  assert.deepEqual(jobs.map((j) => j.status), ['cancelled', 'completed']);
  assert.deepEqual(problems, []);
});
