// The dashboard (web/, served by the binary itself) driven in headless
// Chromium (Debian's /usr/bin/chromium through npm playwright-core): sign
// in, create a source, a destination pointing at a failing receiver and a
// connection from the forms, watch the circuit open on the page without a
// reload (the /v1/ws live path), reset it, retry dead letters and see them
// delivered. Assertions are on what the page shows. The page must log no
// error and throw nothing. Screenshots of the main pages are taken on every
// run (into a temporary directory); HOOKSTREAM_SCREENSHOTS=docs/screenshots
// writes them where the README shows them. Then the edit forms: a
// destination moved to another receiver (the API's 400 first), a
// connection's rules and transform, a source's name; each checked on the
// page, through the API, and by what the receiver gets. A source's front
// door from its forms (an IP entry's 400 on its box, a rate limit set and
// cleared), and the events page's method and search filters. Then signing: a
// destination created with it from the form, "Send test event" on the
// source's page and on the destination's, each delivery's HMAC checked
// with node:crypto, the secret never on the page, a save with the secret
// field blank keeping it, and the event page naming the connections.
// The signing secret rotated from the destination's page (both signatures
// during the overlap). Settings: an API key created (shown once), listed by
// its prefix, revoked. A circuit opening and closing, with why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, API_KEY } from './lib/server.mjs';
import { startReceiver, until } from './lib/receiver.mjs';
import { PEERS_DIR } from './lib/aws_peers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = process.env.HOOKSTREAM_SCREENSHOTS
  ? path.resolve(root, process.env.HOOKSTREAM_SCREENSHOTS)
  : mkdtempSync(path.join(tmpdir(), 'hookstream-shots-'));
const CHROMIUM = '/usr/bin/chromium';
const { chromium } = createRequire(PEERS_DIR + '/')('playwright-core');
const SLOW = process.env.HOOKSTREAM_ASAN ? 3 : 1; // the ASan server is slower
const T = 15000 * SLOW;

let srv;
let failing; // the receiver the circuit opens on: 500 until told otherwise
let healthy;
let fixed; // where the edit form points the failing destination: answers 200
let signedRx; // the signing destination's receiver: answers 200
let browser;
let page;
const problems = []; // console errors and uncaught exceptions in the page
const allowStatus = new Set(); // "Failed to load resource" statuses a step expects
const patches = []; // {path, body} of every PATCH the page sends

before(async () => {
  srv = await startServer({ args: ['--allow-private-destinations'] });
  failing = await startReceiver(() => ({ status: 500, body: 'receiver is down' }));
  healthy = await startReceiver(() => ({ status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } }));
  fixed = await startReceiver(() => ({ status: 200, body: 'thanks' }));
  signedRx = await startReceiver(() => ({ status: 200, body: 'verified' }));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const net = m.text().match(/Failed to load resource: the server responded with a status of (\d+)/);
    if (net && allowStatus.has(Number(net[1]))) return;
    problems.push('console.error: ' + m.text());
  });
  page.on('request', (r) => {
    if (r.method() === 'PATCH') patches.push({ path: new URL(r.url()).pathname, body: JSON.parse(r.postData()) });
  });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await failing?.close();
  await healthy?.close();
  await fixed?.close();
  await signedRx?.close();
  if (srv) { await srv.stop(); srv.cleanup(); }
  if (!process.env.HOOKSTREAM_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
});

// a screenshot of the page as a visitor would first see it: at the top, no
// focus ring, no toasts
const shot = async (name) => {
  await page.evaluate(() => {
    document.getElementById('toasts').replaceChildren();
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  await page.mouse.move(1279, 799); // no hover effect on the last button pressed
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
};
const go = async (hash, ready) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(ready);
};
const text = (sel) => page.textContent(sel);
const ingest = (body) => fetch(`${srv.url}/v1/ingest/shop`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
}).then((r) => r.json());
// The signing secret typed into the form. A request signed with it under
// the hookstream scheme with a timestamp carries <header>: sha256=<hex
// HMAC-SHA256 of "<unix time>.<body>"> and the time in
// X-hookstream-Signature-Timestamp, five minutes from now at most.
const SECRET = 'a-signing-secret-5678';
function assertSigned(req, header) {
  const ts = req.headers['x-hookstream-signature-timestamp'];
  assert.match(ts || '', /^\d+$/, 'the signed timestamp is sent');
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 300, 'and fresh');
  const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(`${ts}.`).update(req.body).digest('hex');
  const got = req.headers[header.toLowerCase()] || '';
  assert.ok(got.length === want.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want)), `${header} verifies: ${got}`);
}
// the secret is nowhere in the page: not in its markup, not in an input
async function assertNoSecret() {
  assert.ok(!(await page.content()).includes(SECRET), 'the secret is not in the page');
  const values = await page.$$eval('input, textarea', (els) => els.map((e) => e.value));
  assert.ok(!values.some((v) => v.includes(SECRET)), 'nor in a field');
}

// set a marker in the page: it survives anything but a reload
const mark = () => page.evaluate(() => { window.__noReload = 'still here'; });
const marked = () => page.evaluate(() => window.__noReload);

test('the static files: types, security headers, revalidation, HEAD, 404, 405', async () => {
  const r = await fetch(srv.url + '/');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const html = await r.text();
  assert.match(html, /<script type="module" src="\/assets\/app.js"><\/script>/);
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  // no key needed, and the same bytes at /index.html
  assert.equal(await (await fetch(srv.url + '/index.html')).text(), html);

  const again = await fetch(srv.url + '/', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  assert.equal((await fetch(srv.url + '/', { headers: { 'if-none-match': '"0000000000000000"' } })).status, 200);

  const js = await fetch(srv.url + '/assets/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
  assert.notEqual(js.headers.get('etag'), etag);
  assert.match(await js.text(), /import .* from '\.\/api\.js'/);
  assert.equal((await fetch(srv.url + '/assets/style.css')).headers.get('content-type'), 'text/css; charset=utf-8');
  assert.equal((await fetch(srv.url + '/assets/favicon.svg')).headers.get('content-type'), 'image/svg+xml');

  const head = await fetch(srv.url + '/assets/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), js.headers.get('content-length'));
  assert.equal((await head.arrayBuffer()).byteLength, 0);

  for (const p of ['/assets/nope.js', '/assets/', '/assets/..%2Fapi.c', '/assets/app.js/x']) {
    const nf = await fetch(srv.url + p);
    assert.equal(nf.status, 404, p);
    assert.equal(nf.headers.get('content-type'), 'application/json');
    const b = await nf.json();
    assert.equal(b.status, 404);
    assert.match(b.request_id, /^req_/);
  }
  const post = await fetch(srv.url + '/', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  // the data still needs the key
  assert.equal((await fetch(srv.url + '/v1/circuits')).status, 401);
});

test('the dashboard, end to end in Chromium', { timeout: 240000 * SLOW }, async (t) => {
  assert.ok(existsSync(CHROMIUM), 'Debian chromium is installed (make test-deps)');
  let destId;
  let ids;

  await t.test('a wrong key is refused on the sign-in form', async () => {
    await page.goto(srv.url + '/');
    await page.waitForSelector('#login-form');
    assert.equal(await page.isVisible('#shell'), false);
    allowStatus.add(401);
    await page.fill('#login-key', 'not-the-key-' + 'x'.repeat(20));
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:not([hidden])');
    allowStatus.delete(401);
    assert.match(await text('#login-error'), /not accepted/);
    assert.equal(await page.isVisible('#shell'), false);
  });

  await t.test('the right key opens the overview and the live connection', async () => {
    await page.fill('#login-key', API_KEY);
    await page.click('#login-submit');
    await page.waitForSelector('#shell:not([hidden]) h1:text("Overview")');
    await page.waitForSelector('#live-state.live-up');
    assert.equal(await text('#live-state'), 'live');
    // the key is in this tab's session only (no "remember")
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hookstream.api_key')), API_KEY);
    assert.equal(await page.evaluate(() => localStorage.getItem('hookstream.api_key')), null);
  });

  await t.test('create a source; its ingest URL is shown', async () => {
    await go('#/sources', 'h1:text("Sources")');
    await page.click('button:text("New source")');
    await page.fill('#new-source [name=name]', 'Shop');
    await page.fill('#new-source [name=slug]', 'shop');
    await page.fill('#new-source [name=description]', 'orders from the web shop');
    await page.click('#new-source button[type=submit]');
    await page.waitForSelector('#sources-table');
    const urls = await page.$$eval('#sources-table .copy input', (els) => els.map((e) => e.value));
    assert.deepEqual(urls, [`${srv.url}/v1/ingest/shop`]);
  });

  await t.test('create a destination that points at the failing receiver', async () => {
    await go('#/destinations', 'h1:text("Destinations")');
    // the heading comes first, the list when the API has answered
    await page.waitForSelector('.view :text("No destinations yet")');
    await page.click('.page-head button:text("New destination")');
    await page.fill('#new-destination [name=name]', 'Orders service');
    await page.fill('#new-destination [name=url]', failing.url);
    await page.fill('#new-destination [name=token]', 'a-bearer-token-1234');
    await page.fill('#new-destination [name=max_retries]', '0');
    await page.fill('#new-destination [name=threshold]', '2');
    await page.click('#new-destination button[type=submit]');
    await page.waitForSelector('#circuit-state');
    destId = decodeURIComponent(page.url().split('#/destinations/')[1]);
    assert.match(destId, /^dst_[0-9a-f]{32}$/);
    assert.equal(await page.getAttribute('#circuit-state', 'data-state'), 'closed');
    const body = await text('.view');
    assert.match(body, /none: the first failure dead-letters/);
    assert.match(body, /opens after 2 failures/);
    assert.ok(body.includes(failing.url));
    assert.match(body, /\*{8}1234/, 'the token is shown masked');
    assert.ok(!body.includes('a-bearer-token-1234'));
  });

  await t.test('connect them, with a filter and a transform', async () => {
    // a second, healthy destination for the same source (set up through the API)
    const ok = await srv.req('POST', '/v1/destinations', { name: 'Audit log', config: { url: healthy.url } });
    assert.equal(ok.status, 201);
    const src = (await srv.req('GET', '/v1/sources/shop')).body;
    assert.equal((await srv.req('POST', '/v1/connections', { name: 'everything to audit', source_id: src.id, destination_id: ok.body.id })).status, 201);

    await go('#/connections', 'h1:text("Connections")');
    await page.click('.page-head button:text("New connection")');
    await page.selectOption('#new-connection [name=source_id]', { label: 'Shop' });
    await page.selectOption('#new-connection [name=destination_id]', { label: 'Orders service' });
    await page.fill('#new-connection [name=name]', 'new orders');
    await page.fill('#new-connection [name=filter_rules]', '[{"field":"payload.type","op":"eq","value":"order.created"}]');
    await page.fill('#new-connection [name=transform]', '{"order": id, "kind": type}');
    await page.click('#new-connection button[type=submit]');
    await page.waitForSelector('.connection h2:text("new orders")');
    const card = await text('.connection:has(h2:text("new orders"))');
    assert.match(card, /Shop → Orders service/);
    assert.match(card, /order\.created/);
    assert.match(card, /"order": id/);
  });

  await t.test('the circuit opens on the list without a reload; queued counts follow', async () => {
    await go('#/destinations', '#destinations-table');
    const row = `#destinations-table tr[data-id="${destId}"]`;
    assert.equal(await page.getAttribute(`${row} .circuit`, 'data-state'), 'closed');
    await mark();
    ids = [];
    for (let i = 1; i <= 3; i++) ids.push((await ingest({ type: 'order.created', id: i })).event_id);
    await page.waitForSelector(`${row} .circuit[data-state="open"]`);
    assert.equal(await text(`${row} .circuit`), 'open');
    await page.waitForSelector(`${row} .queued:text-is("1")`); // the third waits behind the open circuit
    assert.equal(await text(`${row} .failures`), '2');
    assert.equal(await marked(), 'still here', 'the page was not reloaded');
    assert.equal(failing.requests.length, 2);
    await page.waitForSelector('#nav-open:not([hidden]):text-is("1")');
    await shot('destinations');
  });

  await t.test('reset the circuit on the destination page: it closes, the queue flushes', async () => {
    await page.click(`#destinations-table tr[data-id="${destId}"] a`);
    await page.waitForSelector('#circuit-state[data-state="open"]');
    await page.waitForSelector('tr[data-attempt] >> nth=1');
    // why it fails: the two failed attempts, with the receiver's answer
    const whys = await page.$$eval('#recent-failures tr[data-failure]', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(whys.length, 2);
    assert.ok(whys.every((r) => r.includes('500') && r.includes('dead-lettered')), whys.join('\n'));
    await shot('destination');
    await mark();
    await page.click('#reset-circuit');
    await page.waitForSelector('#circuit-state[data-state="closed"]');
    // the queued third event goes out at once, fails, and shows up live
    await page.waitForSelector('tr[data-attempt] >> nth=2');
    await page.waitForSelector('#recent-failures tr[data-failure] >> nth=2'); // live too
    await failing.waitFor(3, T);
    const rows = await page.$$eval('tr[data-attempt]', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, 3);
    assert.ok(rows[0].includes(ids[2]), 'the newest attempt is the third event');
    assert.ok(rows.every((r) => r.includes('dead-lettered') && r.includes('500')));
    assert.equal(await page.getAttribute('#circuit-state', 'data-state'), 'closed', 'one failure is below the threshold');
    assert.match(await text('#circuit-failures'), /^1 of 2/);
    assert.equal(await marked(), 'still here');
  });

  await t.test('events: the list, live rows, search by id, the detail with every attempt', async () => {
    await go('#/events', '#events-table');
    for (const id of ids) await page.waitForSelector(`#events-table tr[data-id="${id}"] .badge:text-is("failed")`);
    await mark();
    const live = (await ingest({ type: 'order.shipped', id: 4 })).event_id; // filtered out of "new orders"
    await page.waitForSelector(`#events-table tr[data-id="${live}"]`);
    await page.waitForSelector(`#events-table tr[data-id="${live}"] .badge:text-is("delivered")`);
    assert.equal(await page.$eval('#events-table tbody tr', (tr) => tr.dataset.id), live, 'newest first');
    assert.equal(await marked(), 'still here');
    await shot('events');

    allowStatus.add(404);
    await page.fill('#event-search input', 'evt_' + '0'.repeat(32));
    await page.click('#event-search button');
    await page.waitForSelector('.form-error:text("No event with the id")');
    allowStatus.delete(404);
    await page.fill('#event-search input', ids[0]);
    await page.click('#event-search button');
    await page.waitForSelector('#attempts');
    assert.ok(page.url().endsWith('#/events/' + ids[0]));
    const view = await text('.view');
    assert.match(view, /"type": "order\.created"/, 'the body, pretty-printed');
    assert.match(view, /content-type/, 'the headers');
    assert.match(view, /receiver is down/, 'the response body of the failed attempt');
    assert.match(view, /HTTP 500/);
    assert.match(view, /HTTP 200/, 'and the successful attempt to the other destination');
    assert.ok(view.includes(failing.url));
    assert.equal(await page.isVisible('#retry-event'), true);
    await shot('event');
  });

  await t.test('dead letters: retry one, then all shown, and see them delivered live', async () => {
    await go('#/dlq', '#dlq-table');
    const rows = await page.$$eval('#dlq-table tbody tr', (trs) => trs.map((tr) => tr.dataset.event));
    assert.deepEqual(rows.sort(), [...ids].sort());
    await page.waitForSelector('#nav-dlq:text-is("3")');
    await page.fill('input[aria-label=filter]', ids[0]);
    assert.equal(await page.$$eval('#dlq-table tbody tr:not([hidden])', (trs) => trs.length), 1);
    assert.equal(await text('#retry-all'), 'Retry all shown (1)');
    await page.fill('input[aria-label=filter]', '');
    await shot('dlq');
    await mark();
    failing.behave = () => ({ status: 200 });
    const before = failing.requests.length;
    const one = `#dlq-table tr[data-event="${ids[0]}"]`;
    await page.click(`${one} button.retry`);
    await page.waitForSelector(`${one} .state .badge:text-is("delivered")`);
    assert.equal(failing.requests.length, before + 1);
    assert.equal(failing.requests.at(-1).headers['x-hookstream-event-id'], ids[0]);
    assert.deepEqual(JSON.parse(failing.requests.at(-1).body), { order: 1, kind: 'order.created' });
    await page.waitForSelector('#nav-dlq:text-is("2")');
    assert.equal(await text('#retry-all'), 'Retry all shown (2)');
    await page.click('#retry-all');
    for (const id of ids.slice(1)) await page.waitForSelector(`#dlq-table tr[data-event="${id}"] .state .badge:text-is("delivered")`);
    assert.deepEqual(failing.requests.slice(before).map((r) => r.headers['x-hookstream-event-id']).sort(), [...ids].sort());
    await page.waitForSelector('#nav-dlq[hidden]', { state: 'attached' });
    assert.equal(await marked(), 'still here');
  });

  await t.test('connections: try the transform on the newest event', async () => {
    await go('#/connections', '.connection');
    await shot('connections');
    await page.click('.connection:has(h2:text("new orders")) button:text("Try transform")');
    await page.waitForFunction(() => document.querySelector('#transform-test [name=input]').value.includes('order.shipped'));
    await page.click('#transform-test button[type=submit]');
    await page.waitForSelector('#transform-output pre');
    assert.deepEqual(JSON.parse(await text('#transform-output pre')), { order: 4, kind: 'order.shipped' });
  });

  await t.test('sources and the overview', async () => {
    await go('#/sources', '#sources-table');
    await shot('sources');
    await go('#/', '.stat');
    await page.waitForFunction(() => document.querySelector('.stat .value')?.textContent === '4');
    const stats = await page.$$eval('.stat', (els) => els.map((e) => e.textContent));
    assert.ok(stats.some((s) => /^Delivered/i.test(s) && s.includes('7')), stats.join(' | ')); // 4 audit + 3 retried
    await shot('overview');
  });

  await t.test('edit the destination: the API\'s 400 keeps the form; the saved values show and deliver', async () => {
    await go('#/destinations/' + destId, '#circuit-state');
    await page.click('#edit-destination-open');
    const f = (name) => `#edit-destination [name="${name}"]`;
    await page.waitForSelector(f('config.url'));
    assert.equal(await page.inputValue(f('config.url')), failing.url);
    assert.equal(await page.inputValue(f('config.auth.type')), 'bearer');
    // the secret is not in the form: blank, its masked value as the hint
    assert.equal(await page.inputValue(f('config.auth.token')), '');
    assert.match(await page.getAttribute(f('config.auth.token'), 'placeholder'), /^\*{8}1234 /);
    await page.fill(f('config.url'), fixed.url);
    await page.fill(f('retry_policy.max_retries'), '2');
    await page.selectOption(f('retry_policy.backoff_type'), 'fixed');
    await page.fill(f('retry_policy.intervals'), '5, 10');
    await page.fill(f('config.timeout_ms'), '5');
    await shot('destination-edit');
    const sent = patches.length;
    allowStatus.add(400);
    await page.click('#edit-destination button[type=submit]');
    await page.waitForSelector('#edit-destination .form-error[data-field="config.timeout_ms"]');
    assert.match(await text('#edit-destination .form-error'), /^config\.timeout_ms: must be between 100 and 300000$/);
    assert.equal(await page.getAttribute(f('config.timeout_ms'), 'aria-invalid'), 'true');
    // what the user typed is still there, and nothing was saved
    assert.equal(await page.inputValue(f('config.url')), fixed.url);
    assert.equal(await page.inputValue(f('retry_policy.intervals')), '5, 10');
    assert.equal(await page.inputValue(f('config.timeout_ms')), '5');
    assert.equal((await srv.req('GET', '/v1/destinations/' + destId)).body.config.url, failing.url);
    allowStatus.delete(400);

    await page.fill(f('config.timeout_ms'), '10000');
    await page.click('#edit-destination button[type=submit]');
    await page.waitForSelector('#edit-destination', { state: 'detached' });
    await page.waitForFunction((u) => document.querySelector('.view').textContent.includes(u), fixed.url);
    // only what changed was sent: no auth, so the token is kept
    assert.equal(patches.length, sent + 2);
    assert.deepEqual(patches.at(-1), {
      path: '/v1/destinations/' + destId,
      body: { config: { url: fixed.url, timeout_ms: 10000 }, retry_policy: { max_retries: 2, backoff_type: 'fixed', intervals: [5, 10] } },
    });
    const view = (await text('.view')).replace(/\s+/g, ' ');
    assert.match(view, /Retries ?2 ?Backoff ?fixed ?Intervals ?5s, 10s/);
    assert.match(view, /timeout_ms ?10000/);
    assert.match(view, /\*{8}1234/);
    assert.ok(!view.includes(failing.url), 'the old URL is gone from the page');
    const d = (await srv.req('GET', '/v1/destinations/' + destId)).body;
    assert.equal(d.config.url, fixed.url);
    assert.equal(d.config.timeout_ms, 10000);
    assert.deepEqual(d.retry_policy, { max_retries: 2, backoff_type: 'fixed', intervals: [5, 10] });
    assert.deepEqual(d.config.auth, { type: 'bearer', token: '********1234' });
    assert.equal(d.circuit_breaker.threshold, 2, 'the fields not edited are as they were');

    // a new event goes to the new URL, with the original token
    const failed = failing.requests.length;
    await mark();
    const ev = (await ingest({ type: 'order.created', id: 5 })).event_id;
    await fixed.waitFor(1, T);
    const got = fixed.requests[0];
    assert.equal(got.headers['x-hookstream-event-id'], ev);
    assert.equal(got.headers.authorization, 'Bearer a-bearer-token-1234');
    assert.deepEqual(JSON.parse(got.body), { order: 5, kind: 'order.created' });
    await page.waitForSelector(`tr[data-attempt]:has(a[href="#/events/${ev}"]) .badge:text-is("success")`);
    assert.match(await text(`tr[data-attempt]:has(a[href="#/events/${ev}"])`), /200/);
    assert.equal(failing.requests.length, failed, 'nothing went to the old URL');
    assert.equal(await marked(), 'still here', 'the attempt arrived live');
  });

  await t.test('edit a connection: filter rules and transform, tried and saved', async () => {
    await go('#/connections', '.connection');
    const conn = '.connection:has(h2:text("new orders"))';
    await page.click(`${conn} button.edit-connection`);
    await page.waitForSelector(`${conn} [name=filter_rules]`);
    assert.deepEqual(JSON.parse(await page.inputValue(`${conn} [name=filter_rules]`)), [{ field: 'payload.type', op: 'eq', value: 'order.created' }]);
    const rules = [{ field: 'payload.type', op: 'in', value: ['order.created', 'order.refunded'] }];
    await page.fill(`${conn} [name=filter_rules]`, JSON.stringify(rules));
    await page.fill(`${conn} [name=transform]`, '{"order": id, "kind": type, "edited": true}');
    // the try-it box runs the expression being edited on the newest event
    await page.click(`${conn} button.try-edit`);
    await page.waitForFunction(() => document.querySelector('#transform-test [name=input]').value.includes('"id": 5'));
    assert.match(await page.inputValue('#transform-test [name=expression]'), /"edited": true/);
    await page.click('#transform-test button[type=submit]');
    await page.waitForSelector('#transform-output pre');
    assert.deepEqual(JSON.parse(await text('#transform-output pre')), { order: 5, kind: 'order.created', edited: true });

    const sent = patches.length;
    await page.click(`${conn} button[type=submit]`);
    await page.waitForSelector(`${conn} pre:has-text("order.refunded")`);
    assert.equal(await page.$(`${conn} [name=filter_rules]`), null, 'the form is closed');
    assert.match(await text(conn), /"edited": true/);
    const c = (await srv.req('GET', '/v1/connections?limit=100')).body.connections.find((x) => x.name === 'new orders');
    assert.deepEqual(patches.slice(sent), [{ path: '/v1/connections/' + c.id, body: { filter_rules: rules, transform: '{"order": id, "kind": type, "edited": true}' } }]);
    assert.deepEqual(c.filter_rules, rules);
    assert.equal(c.transform, '{"order": id, "kind": type, "edited": true}');
    // an event the old rule dropped now goes out, reshaped the new way
    const ev = (await ingest({ type: 'order.refunded', id: 6 })).event_id;
    await fixed.waitFor(2, T);
    assert.equal(fixed.requests[1].headers['x-hookstream-event-id'], ev);
    assert.deepEqual(JSON.parse(fixed.requests[1].body), { order: 6, kind: 'order.refunded', edited: true });
  });

  await t.test('edit a source: its name', async () => {
    await go('#/sources', '#sources-table');
    await page.click('#sources-table button.edit-source');
    await page.waitForSelector('#edit-source [name=name]');
    assert.equal(await page.inputValue('#edit-source [name=name]'), 'Shop');
    assert.equal(await page.inputValue('#edit-source [name=description]'), 'orders from the web shop');
    await page.fill('#edit-source [name=name]', 'Web shop');
    const sent = patches.length;
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector('#sources-table a:text-is("Web shop")');
    assert.equal(await page.$('#edit-source'), null, 'the form is closed');
    const s = (await srv.req('GET', '/v1/sources/shop')).body;
    assert.deepEqual(patches.slice(sent), [{ path: '/v1/sources/' + s.id, body: { name: 'Web shop' } }]);
    assert.equal(s.name, 'Web shop');
    assert.equal(s.description, 'orders from the web shop');
    assert.equal(s.status, 'active');
    const urls = await page.$$eval('#sources-table .copy input', (els) => els.map((e) => e.value));
    assert.deepEqual(urls, [`${srv.url}/v1/ingest/shop`], 'the slug, so the ingest URL, is unchanged');
  });

  await t.test('the list buttons: pause and resume a source, delete one after confirming', async () => {
    const spare = (await srv.req('POST', '/v1/sources', { name: 'Spare' })).body;
    await go('#/', '.stat');
    await go('#/sources', '#sources-table');
    const rowOf = (name) => `#sources-table tr:has(a:text-is("${name}"))`;
    const shop = (await srv.req('GET', '/v1/sources/shop')).body;
    const sent = patches.length;
    await page.click(`${rowOf('Web shop')} button:text-is("Pause")`);
    await page.waitForSelector(`${rowOf('Web shop')} button:text-is("Resume")`);
    assert.deepEqual(patches.slice(sent), [{ path: '/v1/sources/' + shop.id, body: { status: 'paused' } }]);
    assert.equal((await srv.req('GET', '/v1/sources/shop')).body.status, 'paused');
    await page.click(`${rowOf('Web shop')} button:text-is("Resume")`);
    await page.waitForSelector(`${rowOf('Web shop')} button:text-is("Pause")`);
    assert.equal((await srv.req('GET', '/v1/sources/shop')).body.status, 'active');
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.click(`${rowOf('Spare')} button:text-is("Delete")`);
    await page.waitForSelector(rowOf('Spare'), { state: 'detached' });
    assert.match(asked, /^Delete source “Spare”\?/);
    assert.equal((await srv.req('GET', '/v1/sources/' + spare.id)).status, 404);
  });

  await t.test('the front door from the source forms: an IP list\'s 400 at the field, then saved; a rate limit set and cleared', async () => {
    await go('#/sources', '#sources-table');
    await page.click('.page-head button:text("New source")');
    const n = (name) => `#new-source [name="${name}"]`;
    await page.fill(n('name'), 'Gate');
    await page.fill(n('slug'), 'gate');
    await page.fill(n('ip_allowlist'), '10.0.0.0/8\nnope');
    await page.fill(n('ip_denylist'), '192.0.2.1');
    allowStatus.add(400);
    await page.click('#new-source button[type=submit]');
    await page.waitForSelector('#new-source .form-error[data-field="ip_allowlist[1]"]');
    allowStatus.delete(400);
    assert.match(await text('#new-source .form-error'), /^ip_allowlist\[1\]: .*"nope" is not an IPv4 or IPv6/);
    assert.equal(await page.getAttribute(n('ip_allowlist'), 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.name), 'ip_allowlist', 'the box is focused');
    assert.equal(await page.inputValue(n('ip_allowlist')), '10.0.0.0/8\nnope', 'the input is kept');
    assert.equal(await page.inputValue(n('name')), 'Gate');
    assert.equal((await srv.req('GET', '/v1/sources/gate')).status, 404, 'nothing saved');

    await page.fill(n('ip_allowlist'), '10.0.0.0/8\n\n2001:DB8::/32\n');
    await page.click('#new-source button[type=submit]');
    const rowOf = (name) => `#sources-table tr:has(a:text-is("${name}"))`;
    await page.waitForSelector(`${rowOf('Gate')} .front-door`);
    let s = (await srv.req('GET', '/v1/sources/gate')).body;
    assert.deepEqual(s.ip_allowlist, ['10.0.0.0/8', '2001:db8::/32'], 'one entry a line, kept in canonical form');
    assert.deepEqual(s.ip_denylist, ['192.0.2.1']);
    assert.equal(s.rate_limit, null);
    assert.equal(await text(`${rowOf('Gate')} .front-door`), 'allow 2 · deny 1');
    assert.equal(await text(`${rowOf('Web shop')} td:nth-child(3)`), '—', 'nothing set: a dash');

    // edit: the lists as read, one a line; a bad deny entry is refused too
    const f = (name) => `#edit-source [name="${name}"]`;
    await page.click(`${rowOf('Gate')} button.edit-source`);
    await page.waitForSelector(f('ip_allowlist'));
    assert.equal(await page.inputValue(f('ip_allowlist')), '10.0.0.0/8\n2001:db8::/32');
    assert.equal(await page.inputValue(f('ip_denylist')), '192.0.2.1');
    assert.equal(await page.inputValue(f('rate_limit.requests_per_second')), '');
    const sent = patches.length;
    await page.fill(f('ip_denylist'), '192.0.2.1\n10.9.9.1/24');
    allowStatus.add(400);
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector('#edit-source .form-error[data-field="ip_denylist[1]"]');
    allowStatus.delete(400);
    assert.match(await text('#edit-source .form-error'), /10\.9\.9\.0\/24/);
    assert.equal(await page.getAttribute(f('ip_denylist'), 'aria-invalid'), 'true');
    assert.deepEqual((await srv.req('GET', '/v1/sources/gate')).body.ip_denylist, ['192.0.2.1'], 'nothing saved');
    await page.fill(f('ip_denylist'), '192.0.2.1');
    await page.fill(f('rate_limit.requests_per_second'), '5');
    await page.fill(f('rate_limit.burst'), '10');
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector(`${rowOf('Gate')} .front-door:text-is("allow 2 · deny 1 · 5/s burst 10")`);
    assert.equal(await page.$('#edit-source'), null, 'the form is closed');
    s = (await srv.req('GET', '/v1/sources/gate')).body;
    assert.deepEqual(s.rate_limit, { requests_per_second: 5, burst: 10 });
    assert.deepEqual(s.ip_allowlist, ['10.0.0.0/8', '2001:db8::/32'], 'the lists as they were');

    // both boxes emptied: no limit
    await page.click(`${rowOf('Gate')} button.edit-source`);
    await page.waitForSelector(f('rate_limit.burst'));
    assert.equal(await page.inputValue(f('rate_limit.requests_per_second')), '5');
    assert.equal(await page.inputValue(f('rate_limit.burst')), '10');
    await page.fill(f('rate_limit.requests_per_second'), '');
    await page.fill(f('rate_limit.burst'), '');
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector(`${rowOf('Gate')} .front-door:text-is("allow 2 · deny 1")`);
    assert.equal((await srv.req('GET', '/v1/sources/gate')).body.rate_limit, null);
    // only what changed was sent (the refused deny list first)
    assert.deepEqual(patches.slice(sent), [
      { path: '/v1/sources/' + s.id, body: { ip_denylist: ['192.0.2.1', '10.9.9.1/24'] } },
      { path: '/v1/sources/' + s.id, body: { rate_limit: { requests_per_second: 5, burst: 10 } } },
      { path: '/v1/sources/' + s.id, body: { rate_limit: null } },
    ]);
    assert.equal((await srv.req('DELETE', '/v1/sources/' + s.id)).status, 200);
  });

  await t.test('the sender signature from the source forms: a template, its 400 at the field, the secret masked, a rotation', async () => {
    await go('#/sources', '#sources-table');
    await page.click('.page-head button:text("New source")');
    const n = (name) => `#new-source [name="${name}"]`;
    await page.fill(n('name'), 'Signed');
    await page.fill(n('slug'), 'signed');
    await page.waitForSelector(`${n('template')} option[value="github"]`, { state: 'attached' });
    await page.selectOption(n('template'), 'github');
    assert.equal(await page.isChecked(n('verification_enabled')), true, 'a signing template turns verification on');
    assert.match(await text('#new-source .verification-about'), /X-Hub-Signature-256/);
    allowStatus.add(400);
    await page.click('#new-source button[type=submit]');
    await page.waitForSelector('#new-source .form-error[data-field="verification_secret"]');
    allowStatus.delete(400);
    assert.equal(await page.getAttribute(n('verification_secret'), 'aria-invalid'), 'true');
    await page.fill(n('verification_secret'), 'dashboard-secret-1');
    await page.click('#new-source button[type=submit]');
    const rowOf = (name) => `#sources-table tr:has(a:text-is("${name}"))`;
    await page.waitForSelector(`${rowOf('Signed')} .front-door:text-is("signed: github")`);
    let s = (await srv.req('GET', '/v1/sources/signed')).body;
    assert.equal(s.verification_type, 'hmac_sha256');
    assert.equal(s.verification_header, 'X-Hub-Signature-256');
    assert.equal(s.verification_secret, '********et-1');

    // edit: the secret shows masked and is not sent back; an old one added for a rotation
    const f = (name) => `#edit-source [name="${name}"]`;
    await page.click(`${rowOf('Signed')} button.edit-source`);
    await page.waitForSelector(f('verification_secret'));
    assert.equal(await page.inputValue(f('verification_secret')), '********et-1');
    await page.waitForSelector(`${f('template')} option[value="github"]`, { state: 'attached' });
    assert.equal(await page.inputValue(f('template')), 'github');
    const sent = patches.length;
    await page.fill(f('verification_secrets'), 'the-old-secret');
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector('#edit-source', { state: 'detached' });
    assert.deepEqual(patches.slice(sent), [{ path: '/v1/sources/' + s.id, body: { verification_secrets: ['the-old-secret'] } }]);
    const sig = (secret) => 'sha256=' + crypto.createHmac('sha256', secret).update('{}').digest('hex');
    for (const secret of ['dashboard-secret-1', 'the-old-secret']) {
      const r = await fetch(`${srv.url}/v1/ingest/signed`, { method: 'POST', body: '{}', headers: { 'x-hub-signature-256': sig(secret) } });
      assert.equal(r.status, 200, secret);
    }
    assert.equal((await fetch(`${srv.url}/v1/ingest/signed`, { method: 'POST', body: '{}' })).status, 401);
    // the refusal shows live in the source's row
    await page.waitForSelector(`${rowOf('Signed')} .last-refused:text-is("refused 401 · signature missing")`);
    assert.match(await page.getAttribute(`${rowOf('Signed')} .last-refused`, 'title'), /missing header X-Hub-Signature-256/);
    assert.equal(await page.isHidden(`${rowOf('Web shop')} .last-refused`), true, 'only the refused source');
    assert.equal((await srv.req('DELETE', '/v1/sources/' + s.id)).status, 200);
  });

  await t.test('a JSON Schema from the source forms: text that is not JSON refused in the page, then saved and applied', async () => {
    await go('#/sources', '#sources-table');
    await page.click('.page-head button:text("New source")');
    const n = (name) => `#new-source [name="${name}"]`;
    await page.fill(n('name'), 'Schemed');
    await page.fill(n('slug'), 'schemed');
    await page.check(n('schema_validation_enabled'));
    await page.fill(n('json_schema'), '{"type": "object", "required": ["id"]');
    await page.click('#new-source button[type=submit]');
    await page.waitForSelector('#new-source .form-error[data-field="json_schema"]');
    assert.equal((await srv.req('GET', '/v1/sources/schemed')).status, 404, 'nothing sent');
    await page.fill(n('json_schema'), '{"type": "object", "required": ["id"]}');
    await page.click('#new-source button[type=submit]');
    const rowOf = (name) => `#sources-table tr:has(a:text-is("${name}"))`;
    await page.waitForSelector(rowOf('Schemed'));
    const s = (await srv.req('GET', '/v1/sources/schemed')).body;
    assert.deepEqual(s.json_schema, { type: 'object', required: ['id'] });
    assert.equal(s.schema_validation_enabled, true);
    const post = (body) => fetch(`${srv.url}/v1/ingest/schemed`, { method: 'POST', body });
    assert.equal((await post('{"other":1}')).status, 422);
    // edit: a changed schema replaces the stored one (required dropped)
    const f = (name) => `#edit-source [name="${name}"]`;
    await page.click(`${rowOf('Schemed')} button.edit-source`);
    await page.waitForSelector(f('json_schema'));
    assert.deepEqual(JSON.parse(await page.inputValue(f('json_schema'))), { type: 'object', required: ['id'] });
    await page.fill(f('json_schema'), '{"type": "object"}');
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector('#edit-source', { state: 'detached' });
    assert.deepEqual((await srv.req('GET', '/v1/sources/schemed')).body.json_schema, { type: 'object' });
    assert.equal((await post('{"other":1}')).status, 200);
    assert.equal((await post('[]')).status, 422);
    assert.equal((await srv.req('DELETE', '/v1/sources/' + s.id)).status, 200);
  });

  await t.test('deduplication and schema warn from the source form; duplicates and schema-invalid events marked', async () => {
    await go('#/sources', '#sources-table');
    await page.click('.page-head button:text("New source")');
    const n = (name) => `#new-source [name="${name}"]`;
    await page.fill(n('name'), 'Deduped');
    await page.fill(n('slug'), 'deduped');
    await page.check(n('dedup_enabled'));
    assert.equal(await page.isHidden(n('dedup_field')), true, 'identical bodies need no field');
    await page.selectOption(n('dedup_strategy'), 'header_field');
    await page.fill(n('dedup_field'), 'X-Event-Id');
    await page.fill(n('dedup_window_seconds'), '600');
    await page.check(n('schema_validation_enabled'));
    await page.fill(n('json_schema'), '{"type": "object", "required": ["id"]}');
    await page.selectOption(n('schema_action'), 'warn');
    await page.click('#new-source button[type=submit]');
    const rowOf = (name) => `#sources-table tr:has(a:text-is("${name}"))`;
    await page.waitForSelector(`${rowOf('Deduped')} .front-door:text-is("dedup: header X-Event-Id, 600 s")`);
    const s = (await srv.req('GET', '/v1/sources/deduped')).body;
    assert.equal(s.dedup_enabled, true);
    assert.equal(s.dedup_strategy, 'header_field');
    assert.equal(s.dedup_field, 'X-Event-Id');
    assert.equal(s.dedup_window_seconds, 600);
    assert.equal(s.schema_action, 'warn');
    const post = async (id, body) => (await fetch(`${srv.url}/v1/ingest/deduped`, { method: 'POST', body, headers: { 'x-event-id': id } })).json();
    const first = await post('e-1', '{"id": 1}');
    const again = await post('e-1', '{"id": 1}');
    const invalid = await post('e-2', '{"other": 1}');
    assert.equal(again.duplicate, true);
    assert.equal(again.event_id, first.event_id);
    const dupId = (await srv.req('GET', `/v1/events?source_id=${s.id}&dedup_status=duplicate`)).body.events[0].id;
    await go('#/', '.stat'); // the list is read when the page opens
    await go('#/sources', '#sources-table');
    await page.waitForSelector(`${rowOf('Deduped')} .event-count:text-is("3")`);
    await go(`#/events?source_id=${s.id}`, '#events-table');
    await page.waitForSelector(`#events-table tr[data-id="${dupId}"] .mark-duplicate`);
    await page.waitForSelector(`#events-table tr[data-id="${invalid.event_id}"] .mark-schema`);
    assert.equal(await page.$(`#events-table tr[data-id="${first.event_id}"] .mark-duplicate, #events-table tr[data-id="${first.event_id}"] .mark-schema`), null);
    await go(`#/events/${dupId}`, '#event-dedup');
    assert.equal(await text('#event-dedup'), 'duplicate');
    assert.equal(await text('#event-verification'), 'unverified');
    await go(`#/events/${invalid.event_id}`, '#event-verification');
    assert.equal(await text('#event-verification'), 'schema-invalid');
    // the edit form turns it off
    await go('#/sources', '#sources-table');
    await page.click(`${rowOf('Deduped')} button.edit-source`);
    await page.waitForSelector('#edit-source [name="dedup_enabled"]');
    assert.equal(await page.inputValue('#edit-source [name="dedup_field"]'), 'X-Event-Id');
    await page.uncheck('#edit-source [name="dedup_enabled"]');
    await page.click('#edit-source button[type=submit]');
    await page.waitForSelector('#edit-source', { state: 'detached' });
    assert.equal((await srv.req('GET', '/v1/sources/deduped')).body.dedup_enabled, false);
    assert.equal((await post('e-1', '{"id": 1}')).duplicate, undefined);
    assert.equal((await srv.req('DELETE', '/v1/sources/' + s.id)).status, 200);
  });

  await t.test('events: filter by method and by text in the body, kept in the URL', async () => {
    const needle = 'needle-' + crypto.randomBytes(4).toString('hex');
    const ev = (await ingest({ type: 'note.added', note: `a ${needle} in the body` })).event_id;
    await go('#/events', '#events-table');
    await page.waitForSelector(`#events-table tr[data-id="${ev}"]`);
    assert.ok((await page.$$('#events-table tbody tr')).length > 1);
    await page.fill('#event-search input', needle);
    await page.click('#event-search button');
    await page.waitForFunction((n) => location.hash.includes('search=' + n), needle);
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('#events-table tbody tr')];
      return rows.length === 1 && rows[0].dataset.id === id;
    }, ev);
    assert.equal(await page.inputValue('#event-search input'), needle);
    // and a method: POST keeps it, GET matches nothing
    await page.selectOption('.toolbar select[name=method]', 'POST');
    await page.waitForFunction(() => location.hash.includes('method=POST'));
    await page.waitForFunction((id) => {
      const rows = [...document.querySelectorAll('#events-table tbody tr')];
      return rows.length === 1 && rows[0].dataset.id === id;
    }, ev);
    assert.ok(page.url().includes('search=' + needle), 'the search stays');
    await page.selectOption('.toolbar select[name=method]', 'GET');
    await page.waitForSelector('.view :text("No events match")');
    // the URL opens the page filtered
    await go('#/', '.stat');
    await go(`#/events?method=POST&search=${needle}`, '#events-table');
    assert.equal(await page.inputValue('.toolbar select[name=method]'), 'POST');
    assert.equal(await page.inputValue('#event-search input'), needle);
    assert.deepEqual(await page.$$eval('#events-table tbody tr', (trs) => trs.map((tr) => tr.dataset.id)), [ev]);
    // an id prefix filters too
    await page.fill('#event-search input', ev.slice(0, 20));
    await page.click('#event-search button');
    await page.waitForFunction(() => location.hash.includes('search=evt_'));
    await page.waitForFunction((id) => [...document.querySelectorAll('#events-table tbody tr')].some((tr) => tr.dataset.id === id), ev);
  });

  let billing; // the source the signed destination is fed from
  let signedId; // that destination
  let feed; // the connection between them (named)
  let unnamed; // Billing to Audit log, without a name
  let firstTest; // the event the source page's "Send test event" made

  await t.test('signing from the New destination form; "Send test event" on the source delivers it signed', async () => {
    billing = (await srv.req('POST', '/v1/sources', { name: 'Billing', slug: 'billing' })).body;
    await go('#/destinations', '#destinations-table');
    await page.click('.page-head button:text("New destination")');
    const f = (name) => `#new-destination [name="${name}"]`;
    await page.fill(f('name'), 'Signed hook');
    await page.fill(f('url'), signedRx.url);
    assert.equal(await page.isVisible(f('signing.secret')), false, 'signing is off until ticked');
    await page.check(f('signing'));
    assert.equal(await page.inputValue(f('signing.scheme')), 'hookstream');
    assert.equal(await page.inputValue(f('signing.header')), 'X-hookstream-Signature');
    await page.fill(f('signing.header'), 'X-Billing-Signature');
    assert.equal(await page.isVisible(f('signing.timestamp_header')), false);
    await page.check(f('signing.include_timestamp'));
    assert.equal(await page.inputValue(f('signing.timestamp_header')), 'X-hookstream-Signature-Timestamp');
    // what the server refuses shows next to the form, on the field it names
    await page.fill(f('signing.secret'), 'too-short');
    allowStatus.add(400);
    await page.click('#new-destination button[type=submit]');
    await page.waitForSelector('#new-destination .form-error[data-field="signing.secret"]');
    allowStatus.delete(400);
    assert.equal(await text('#new-destination .form-error'), 'signing.secret: must be at least 16 characters');
    assert.equal(await page.getAttribute(f('signing.secret'), 'aria-invalid'), 'true');
    assert.equal(await page.inputValue(f('signing.header')), 'X-Billing-Signature', 'the input is kept');
    await shot('destination-signing');
    await page.fill(f('signing.secret'), SECRET);
    await page.click('#new-destination button[type=submit]');
    await page.waitForSelector('#circuit-state');
    signedId = decodeURIComponent(page.url().split('#/destinations/')[1]);
    const d = (await srv.req('GET', '/v1/destinations/' + signedId)).body;
    assert.equal(d.name, 'Signed hook');
    assert.deepEqual(d.signing, {
      scheme: 'hookstream', secret: '********5678', algorithm: 'sha256', header: 'X-Billing-Signature', prefix: 'sha256=',
      include_timestamp: true, timestamp_header: 'X-hookstream-Signature-Timestamp',
    });
    // the Signing card: the secret as the API gave it, masked
    assert.equal(await text('.signing #signing-secret'), '********5678');
    assert.match(await text('.signing'), /X-Billing-Signature: sha256=<hex>/);
    await assertNoSecret();

    feed = (await srv.req('POST', '/v1/connections', { name: 'billing feed', source_id: billing.id, destination_id: signedId })).body;
    const audit = (await srv.req('GET', '/v1/destinations?limit=100')).body.destinations.find((x) => x.name === 'Audit log');
    unnamed = (await srv.req('POST', '/v1/connections', { source_id: billing.id, destination_id: audit.id })).body;
    assert.equal(unnamed.name, null);

    await go('#/sources', '#sources-table');
    const before = healthy.requests.length;
    await page.click('#sources-table tr:has(a:text-is("Billing")) button.send-test');
    await page.waitForSelector('#test-event-result li a.event-link');
    firstTest = (await text('#test-event-result li a.event-link')).trim();
    assert.match(firstTest, /^evt_[0-9a-f]{32}$/);
    assert.equal(await page.getAttribute('#test-event-result li a.event-link', 'href'), '#/events/' + firstTest);
    // where it went, named
    await page.waitForSelector('#test-event-result li .routed a');
    const routed = await text('#test-event-result li .routed');
    assert.ok(routed.includes('Signed hook via billing feed') && routed.includes('Audit log'), routed);

    await signedRx.waitFor(1, T);
    const got = signedRx.requests[0];
    assert.equal(got.headers['x-hookstream-event-id'], firstTest);
    assertSigned(got, 'X-Billing-Signature');
    const sample = JSON.parse(got.body);
    assert.equal(sample.type, 'hookstream.test');
    await healthy.waitFor(before + 1, T); // the unnamed connection's copy
    // ingest was posted as a sender does: the API key is not among the
    // headers stored with the event
    const ev = (await srv.req('GET', '/v1/events/' + firstTest)).body;
    assert.equal(ev.source_id, billing.id);
    assert.equal(ev.headers.authorization, undefined);
    assert.ok(!JSON.stringify(ev.headers).includes(API_KEY));
    assert.deepEqual(JSON.parse(ev.body), sample);
    await shot('source-test-event');
  });

  await t.test('the event page names the connections, with their ids', async () => {
    await page.click('#test-event-result li a.event-link');
    await page.waitForSelector('#deliveries-table');
    assert.ok(page.url().endsWith('#/events/' + firstTest));
    const rowOf = (c) => `#deliveries-table tr:has(a[href="#/connections?id=${c.id}"])`;
    assert.equal(await text(`${rowOf(feed)} a[href="#/connections?id=${feed.id}"]`), 'billing feed');
    assert.match(await text(rowOf(feed)), /Signed hook/);
    assert.ok((await text(rowOf(feed))).includes(feed.id), 'the id stays visible');
    assert.ok((await text(rowOf(feed))).includes(signedId));
    // a connection without a name: "source → destination"
    assert.equal(await text(`${rowOf(unnamed)} a[href="#/connections?id=${unnamed.id}"]`), 'Billing → Audit log');
    // the attempts say which connection too; the link finds the card
    await page.waitForSelector(`.attempt a[href="#/connections?id=${feed.id}"]`);
    await page.click(`${rowOf(feed)} a[href="#/connections?id=${feed.id}"]`);
    await page.waitForSelector('.connection.target');
    assert.equal(await page.getAttribute('.connection.target', 'data-id'), feed.id);
  });

  await t.test('edit the signed destination: no secret in the form; a blank secret field keeps it; a test event from its page still verifies', async () => {
    await go('#/destinations/' + signedId, '#circuit-state');
    await assertNoSecret();
    await page.click('#edit-destination-open');
    const f = (name) => `#edit-destination [name="${name}"]`;
    await page.waitForSelector(f('signing.secret'));
    assert.equal(await page.isChecked(f('signing')), true);
    assert.equal(await page.inputValue(f('signing.scheme')), 'hookstream');
    assert.equal(await page.inputValue(f('signing.secret')), '', 'the secret field starts empty');
    assert.match(await page.getAttribute(f('signing.secret'), 'placeholder'), /^\*{8}5678 \(leave blank to keep\)$/);
    assert.equal(await page.inputValue(f('signing.header')), 'X-Billing-Signature');
    assert.equal(await page.isChecked(f('signing.include_timestamp')), true);
    await assertNoSecret();

    // Standard Webhooks needs a whsec_ secret: the server says so, nothing is saved
    const sent = patches.length;
    await page.selectOption(f('signing.scheme'), 'standard_webhooks');
    assert.equal(await page.isVisible(f('signing.header')), false, 'the hookstream scheme\'s fields are hidden');
    allowStatus.add(400);
    await page.click('#edit-destination button[type=submit]');
    await page.waitForSelector('#edit-destination .form-error[data-field="signing.secret"]');
    allowStatus.delete(400);
    assert.match(await text('#edit-destination .form-error'), /^signing\.secret: must be "whsec_"/);
    assert.equal((await srv.req('GET', '/v1/destinations/' + signedId)).body.signing.scheme, 'hookstream');

    await page.selectOption(f('signing.scheme'), 'hookstream');
    await page.fill(f('signing.header'), 'X-Billing-Sig');
    await page.click('#edit-destination button[type=submit]');
    await page.waitForSelector('#edit-destination', { state: 'detached' });
    await page.waitForSelector('.signing :text("X-Billing-Sig: sha256=<hex>")');
    // the secret was never sent: only what changed
    assert.deepEqual(patches.slice(sent), [
      { path: '/v1/destinations/' + signedId, body: { signing: { scheme: 'standard_webhooks' } } },
      { path: '/v1/destinations/' + signedId, body: { signing: { header: 'X-Billing-Sig' } } },
    ]);
    const d = (await srv.req('GET', '/v1/destinations/' + signedId)).body;
    assert.equal(d.signing.secret, '********5678');
    assert.equal(d.signing.header, 'X-Billing-Sig');
    assert.equal(await text('.signing #signing-secret'), '********5678');
    await assertNoSecret();

    // "Send test event" on the destination's page: from Billing, its only source
    await mark();
    await page.click('#send-test-event');
    await page.waitForSelector('#test-event-result li a.event-link');
    assert.equal(await page.$('#test-event [name=source_id]'), null, 'one source: nothing to pick');
    const ev = (await text('#test-event-result li a.event-link')).trim();
    assert.notEqual(ev, firstTest);
    await signedRx.waitFor(2, T);
    const got = signedRx.requests[1];
    assert.equal(got.headers['x-hookstream-event-id'], ev);
    assert.equal(got.headers['x-billing-signature'], undefined, 'the old header name is gone');
    assertSigned(got, 'X-Billing-Sig');
    // its attempt shows up live in the page's recent attempts
    await page.waitForSelector(`tr[data-attempt]:has(a[href="#/events/${ev}"]) .badge:text-is("success")`);
    assert.equal(await marked(), 'still here');
    await assertNoSecret();
  });

  await t.test('rotate the signing secret: the new one shown once, both signatures during the overlap', async () => {
    await go('#/destinations/' + signedId, '#rotate-secret');
    await page.click('#rotate-secret');
    await page.selectOption('#rotate-secret-form [name=expire_old_after_s]', '3600');
    await page.click('#rotate-secret-form button[type=submit]');
    const shown = await page.waitForSelector('#rotated-secret .copy input');
    const fresh = await shown.inputValue();
    assert.match(fresh, /^[0-9a-f]{64}$/, 'a server-made secret for the hookstream scheme');
    await page.click('#rotated-secret button:text("Done")');
    await page.waitForSelector('.signing #signing-previous');
    assert.equal(await text('.signing #signing-secret'), '********' + fresh.slice(-4));
    assert.match(await text('.signing #signing-previous'), /^\*{8}5678 also signs until/);
    assert.ok(!(await page.content()).includes(fresh), 'once Done, the new secret is not in the page');
    await assertNoSecret();

    const n = signedRx.requests.length;
    await page.click('#send-test-event');
    await page.waitForSelector('#test-event-result li a.event-link');
    await signedRx.waitFor(n + 1, T);
    const got = signedRx.requests[n];
    const ts = got.headers['x-hookstream-signature-timestamp'];
    const sig = (secret) => 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.`).update(got.body).digest('hex');
    assert.equal(got.headers['x-billing-sig'], `${sig(fresh)}, ${sig(SECRET)}`, 'the new signature, then the old one');
  });

  await t.test('settings: an API key shown once, listed by its prefix, revoked', async () => {
    await go('#/settings', '#main .card-body > *');
    await page.locator('button', { hasText: 'New API key' }).first().click();
    await page.fill('#new-api-key [name=name]', 'dashboard key');
    await page.click('#new-api-key button[type=submit]');
    const shown = await page.waitForSelector('#new-api-key-shown .copy input');
    const key = await shown.inputValue();
    assert.match(key, /^hs_live_[0-9a-f]{64}$/);
    await page.waitForSelector('#api-keys-table tr:has-text("dashboard key")');
    const row = await text('#api-keys-table tr:has-text("dashboard key")');
    assert.ok(row.includes(key.slice(0, 12)), row);
    assert.ok(!row.includes(key.slice(12)), 'the list shows the prefix only');
    assert.equal((await srv.req('GET', '/v1/sources', undefined, { authorization: `Bearer ${key}` })).status, 200);
    await shot('settings');
    await page.click('#new-api-key-shown button:text("Done")');
    await page.waitForSelector('#new-api-key-shown', { state: 'detached' });
    assert.ok(!(await page.content()).includes(key.slice(12)), 'once closed, the key is nowhere on the page');
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.click('#api-keys-table tr:has-text("dashboard key") .revoke-key');
    await page.waitForSelector('#api-keys-table tr:has-text("dashboard key")', { state: 'detached' });
    assert.match(asked, /Revoke API key “dashboard key”/);
    assert.equal((await srv.req('GET', '/v1/sources', undefined, { authorization: `Bearer ${key}` })).status, 401);
  });

  await t.test('a circuit opening and closing shows on the destination page, with why', async () => {
    let down = true;
    const flaky = await startReceiver(() => (down ? { status: 503, body: 'maintenance' } : { status: 200 }));
    try {
      const dst = (await srv.req('POST', '/v1/destinations', {
        name: 'Flaky', config: { url: flaky.url }, retry_policy: { max_retries: 0 },
        circuit_breaker: { threshold: 1, cooldown_ms: 1000 },
      })).body;
      const src = (await srv.req('POST', '/v1/sources', { name: 'flaky source', slug: 'flaky' })).body;
      await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id });
      await go('#/destinations/' + dst.id, '#recent-failures');
      const send = () => fetch(`${srv.url}/v1/ingest/flaky`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await send();
      await page.waitForSelector('#circuit-state[data-state="open"]');
      await page.waitForSelector('#circuit-change:text("opened after HTTP 503")');
      await page.waitForSelector('#recent-failures tr[data-failure]:has-text("503")');
      down = false;
      await send(); // waits behind the open circuit, then goes as the probe
      await page.waitForSelector('#circuit-state[data-state="closed"]', { timeout: T });
      await page.waitForSelector('#circuit-change:text("closed")');
    } finally {
      await flaky.close();
    }
  });

  await t.test('issues and alerts: the open count in the nav, acknowledge and retry an issue; a channel tested and a rule made from the Alerts page', async () => {
    let down = true;
    const rx = await startReceiver(() => (down ? { status: 502, body: 'bad gateway' } : { status: 200 }));
    const note = await startReceiver(() => ({ status: 200 }));
    try {
      const dst = (await srv.req('POST', '/v1/destinations', { name: 'Issue maker', config: { url: rx.url }, retry_policy: { max_retries: 0 } })).body;
      const src = (await srv.req('POST', '/v1/sources', { name: 'issue source', slug: 'issues' })).body;
      await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: dst.id });
      await fetch(`${srv.url}/v1/ingest/issues`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const iss = await until(async () => (await srv.req('GET', `/v1/issues?destination_id=${dst.id}`)).body.issues[0], T, 'an issue');
      await go('#/issues', '#issues-table');
      await page.waitForSelector(`#issues-table tr:has-text("Issue maker"):has-text("http_5xx")`);
      await page.waitForSelector('#nav-issues:not([hidden])');
      await shot('issues');
      await page.click(`[data-issue="${iss.id}"] .ack`);
      await until(async () => (await srv.req('GET', `/v1/issues/${iss.id}`)).body.status === 'acknowledged', T, 'acknowledged');
      await go('#/issues?status=acknowledged', `[data-issue="${iss.id}"]`);
      down = false;
      await page.click(`[data-issue="${iss.id}"] .retry`);
      await rx.waitFor(2, T);
      await page.click(`[data-issue="${iss.id}"] .resolve`);
      await until(async () => (await srv.req('GET', `/v1/issues/${iss.id}`)).body.status === 'resolved', T, 'resolved');

      await go('#/alerts', '#new-channel-btn');
      await page.click('#new-channel-btn');
      await page.fill('#new-channel [name=name]', 'ops webhook');
      await page.selectOption('#new-channel [name=channel_type]', 'webhook');
      await page.fill('#new-channel [name=config]', JSON.stringify({ url: note.url, secret: 'dashboard-notify-secret' }));
      await page.click('#new-channel button[type=submit]');
      await page.waitForSelector('#channels-table tr:has-text("ops webhook")');
      assert.ok(!(await page.content()).includes('dashboard-notify-secret'), 'the channel secret is not on the page');
      await page.click('#channels-table tr:has-text("ops webhook") .test-channel');
      await note.waitFor(1, T);
      assert.equal(JSON.parse(note.requests[0].body).type, 'test');
      await page.click('#new-rule-btn');
      await page.fill('#new-rule [name=name]', 'dead letters');
      await page.selectOption('#new-rule [name=rule_type]', 'dlq');
      await page.check('#new-rule [data-path=channel_ids] input');
      await page.click('#new-rule button[type=submit]');
      await page.waitForSelector('#rules-table tr:has-text("dead letters")');
      await shot('alerts');
      const rules = (await srv.req('GET', '/v1/alert-rules')).body.alert_rules;
      assert.equal(rules.find((r) => r.name === 'dead letters').rule_type, 'dlq');
      // an issue_opened rule on the channel: the next dead letter sends a
      // notification, listed on the page with how it went
      const chan = (await srv.req('GET', '/v1/notification-channels')).body.notification_channels.find((c) => c.name === 'ops webhook');
      assert.equal((await srv.req('POST', '/v1/alert-rules', { name: 'new issues', rule_type: 'issue_opened', channel_ids: [chan.id] })).status, 201);
      down = true;
      const other = (await srv.req('POST', '/v1/destinations', { name: 'Second maker', config: { url: rx.url }, retry_policy: { max_retries: 0 } })).body;
      await srv.req('POST', '/v1/connections', { source_id: src.id, destination_id: other.id });
      await fetch(`${srv.url}/v1/ingest/issues`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await until(async () => (await srv.req('GET', '/v1/notifications?status=sent')).body.notifications.length > 0, T, 'a notification sent');
      await go('#/', '.stat');
      await go('#/alerts', '#notifications-table');
      await page.waitForSelector('#notifications-table tr:has-text("issue.opened"):has-text("ops webhook"):has-text("sent")');
    } finally {
      await rx.close();
      await note.close();
    }
  });

  await t.test('signing out forgets the key', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hookstream.api_key')), null);
    await page.reload();
    await page.waitForSelector('#login:not([hidden])');
  });

  assert.deepEqual(problems, [], 'no console errors or page exceptions');
});

test('the server shuts down cleanly with the dashboard connected', async () => {
  await page.goto(srv.url + '/');
  await page.fill('#login-key', API_KEY);
  await page.click('#login-submit');
  await page.waitForSelector('#live-state.live-up');
  // SIGTERM with the WebSocket open: clients get a close frame, exit 0
  const { code } = await srv.stop();
  assert.equal(code, 0);
  // under ASan/UBSan (HOOKSTREAM_ASAN=1) a report at exit is a failure
  assert.doesNotMatch(srv.stderr, /AddressSanitizer|LeakSanitizer|runtime error/);
  await page.waitForSelector('#live-state:not(.live-up)');
});
