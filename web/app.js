// app.js: sign-in, the shell (nav, live indicator), the hash router and the
// state every page shares. Pages live in pages_*.js; each exports
// render(ctx) and fills ctx.view.
import { api, getKey, setKey, clearKey, checkKey, setUnauthorizedHandler, getAll, get } from './api.js';
import { Live } from './live.js';
import { h, errorBox, throttle, empty, ago } from './ui.js';
import * as overview from './pages_overview.js';
import * as destinations from './pages_destinations.js';
import * as events from './pages_events.js';
import * as dlq from './pages_dlq.js';
import * as sources from './pages_sources.js';
import * as connections from './pages_connections.js';
import * as settings from './pages_settings.js';
import * as issues from './pages_issues.js';
import * as alerts from './pages_alerts.js';

const $ = (id) => document.getElementById(id);
const live = new Live(getKey);

// ---- names of sources, destinations and connections, for the tables ----
const names = {
  sources: new Map(), destinations: new Map(), connections: new Map(),
  async load() {
    const [s, d, c] = await Promise.all([
      getAll('/v1/sources', 'sources'), getAll('/v1/destinations', 'destinations'), getAll('/v1/connections', 'connections'),
    ]);
    this.sources = new Map(s.map((x) => [x.id, x]));
    this.destinations = new Map(d.map((x) => [x.id, x]));
    this.connections = new Map(c.map((x) => [x.id, x]));
  },
  source(id) { return this.sources.get(id)?.name || id; },
  destination(id) { return this.destinations.get(id)?.name || id; },
  // a connection's name, else "source → destination" (names are optional)
  connection(id) {
    const c = this.connections.get(id);
    if (!c) return id;
    return c.name || `${this.source(c.source_id)} → ${this.destination(c.destination_id)}`;
  },
};

// ---- nav counters: open circuits, dead letters, open issues ----
async function refreshCounts() {
  if (!getKey()) return;
  try {
    const [c, d, i] = await Promise.all([get('/v1/circuits'), get('/v1/delivery-attempts?is_dlq=1&limit=100'),
      get('/v1/issues/summary')]);
    const open = c.circuits.filter((x) => x.state !== 'closed').length;
    setCount($('nav-open'), open, String(open));
    const n = d.delivery_attempts.length;
    setCount($('nav-dlq'), n, d.has_more ? '100+' : String(n));
    setCount($('nav-issues'), i.open, String(i.open));
  } catch { /* the page shows errors; the counters just keep their value */ }
}
function setCount(el, n, text) {
  el.hidden = n === 0;
  el.textContent = text;
}
const countsSoon = throttle(refreshCounts, 1000);

// ---- router ----
const routes = [
  [/^$/, overview.render, 'overview'],
  [/^destinations$/, destinations.renderList, 'destinations'],
  [/^destinations\/([^/]+)$/, destinations.renderDetail, 'destinations'],
  [/^events$/, events.renderList, 'events'],
  [/^events\/([^/]+)$/, events.renderDetail, 'events'],
  [/^dlq$/, dlq.render, 'dlq'],
  [/^sources$/, sources.render, 'sources'],
  [/^connections$/, connections.render, 'connections'],
  [/^issues$/, issues.render, 'issues'],
  [/^alerts$/, alerts.render, 'alerts'],
  [/^settings$/, settings.render, 'settings'],
];

let current = null; // {offs: [], view}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?');
  return { path: p.replace(/\/+$/, ''), query: new URLSearchParams(q || '') };
}

async function route() {
  if (!getKey()) return showLogin();
  if (current) for (const off of current.offs) off();
  const { path, query } = parseHash();
  const view = h('div', { class: 'view' });
  const me = { offs: [], view, hold: false };
  current = me;
  $('main').replaceChildren(view);
  let fn = null;
  let params = [];
  let section = '';
  for (const [re, f, nav] of routes) {
    const m = path.match(re);
    if (m) { fn = f; params = m.slice(1).map(decodeURIComponent); section = nav; break; }
  }
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === section);
  if (!fn) {
    view.append(empty('Page not found', 'There is nothing at this address.', h('a', { class: 'btn', href: '#/' }, 'Go to the overview')));
    return;
  }
  const ctx = {
    view, params, query, names, live,
    alive: () => current === me,
    on: (type, f) => { me.offs.push(live.on(type, f)); },
    counts: countsSoon,
    refresh: () => { if (current === me) route(); },
    // an open edit form asks that a reconnect not re-render the page
    hold: (on) => { me.hold = on; },
    go: (hash) => { location.hash = hash; },
  };
  ctx.on('reconnected', () => { if (!me.hold) ctx.refresh(); });
  try {
    await fn(ctx);
  } catch (e) {
    if (e.status === 401 || current !== me) return;
    console.warn(e);
    view.replaceChildren(errorBox(e));
  }
}

// ---- sign-in ----
function showLogin(message) {
  live.stop();
  if (current) for (const off of current.offs) off();
  current = null;
  $('shell').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-key').focus();
}

function showShell() {
  $('login').hidden = true;
  $('shell').hidden = false;
  live.start();
  refreshCounts();
  route();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const key = $('login-key').value.trim();
  const err = $('login-error');
  const btn = $('login-submit');
  btn.disabled = true;
  err.hidden = true;
  try {
    if (await checkKey(key)) {
      setKey(key, $('login-remember').checked);
      $('login-key').value = '';
      showShell();
    } else {
      err.textContent = 'That API key was not accepted.';
      err.hidden = false;
    }
  } catch (e) {
    err.textContent = 'Cannot sign in: ' + e.message;
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
});

$('logout').addEventListener('click', () => {
  clearKey();
  showLogin();
});

setUnauthorizedHandler(() => {
  clearKey();
  showLogin('Your API key is no longer accepted; sign in again.');
});

live.on('state', (s) => {
  const el = $('live-state');
  el.className = 'live live-' + s;
  el.textContent = s === 'up' ? 'live' : s === 'connecting' ? 'connecting…' : 'offline';
});
live.on('delivery.attempt', countsSoon);
live.on('circuit.reset', countsSoon);
live.on('circuit.opened', countsSoon);
live.on('circuit.closed', countsSoon);
live.on('reconnected', countsSoon);

// "12s ago" labels age in place (no request: only the text changes)
setInterval(() => {
  for (const t of document.querySelectorAll('#main time[datetime]')) {
    if (t.getAttribute('datetime')) t.textContent = ago(t.getAttribute('datetime'));
  }
}, 10000);

window.addEventListener('hashchange', route);
if (getKey()) showShell(); else showLogin();

export { api };
