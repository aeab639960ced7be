// ui.js: DOM helpers. Everything is built with createElement and
// textContent, never innerHTML, so data from the API cannot become markup.

function append(el, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { for (const c of child) append(el, c); return; }
  el.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

// h('a', {href: '#/x', class: 'y'}, 'text', child, [more]) -> element
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVGNS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

export function clear(el) { el.replaceChildren(); return el; }

// ---- badges ----
const KIND = {
  closed: 'ok', open: 'bad', half_open: 'warn',
  active: 'ok', paused: 'warn', disabled: '',
  delivered: 'ok', success: 'ok', failed: 'bad', dlq: 'bad', dead: 'bad',
  processing: 'info', pending: 'info', queued: 'info', retrying: 'info', received: '', cancelled: '',
  enabled: 'ok', live: 'ok',
};
export function badge(text, kind, extra = '') {
  const k = kind !== undefined ? kind : (KIND[text] ?? '');
  return h('span', { class: `badge${k ? ' badge-' + k : ''}${extra ? ' ' + extra : ''}` }, label(text));
}
function label(text) { return String(text).replace(/_/g, '-'); }
// the circuit's state as the badge the pages and the test look for
export function circuitBadge(state, extra = '') {
  const el = badge(state || 'closed', undefined, 'circuit ' + extra);
  el.dataset.state = state || 'closed';
  el.title = 'circuit breaker';
  return el;
}
export function setBadge(el, text, kind) {
  const keep = [...el.classList].filter((c) => !/^badge(-(ok|bad|warn|info))?$/.test(c));
  const fresh = badge(text, kind, keep.join(' '));
  for (const [k, v] of Object.entries(el.dataset)) fresh.dataset[k] = v;
  if (el.title) fresh.title = el.title;
  if (el.id) fresh.id = el.id;
  if (el.dataset.state !== undefined) fresh.dataset.state = text;
  el.replaceWith(fresh);
  return fresh;
}

// ---- formatting ----
const pad = (n) => String(n).padStart(2, '0');
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function span(s) {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
// "12s ago", "in 48s" (a retry or probe still to come)
export function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s <= -2) return 'in ' + span(-s);
  if (s < 5) return 'just now';
  return span(s) + ' ago';
}
export function time(iso) {
  return h('time', { datetime: iso || '', title: iso ? fmtTime(iso) : '' }, iso ? ago(iso) : '—');
}
export function duration(seconds) {
  const units = [[86400, 'd'], [3600, 'h'], [60, 'm']];
  for (const [n, u] of units) if (seconds >= n && seconds % n === 0) return `${seconds / n}${u}`;
  return `${seconds}s`;
}
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}
// evt_01a2…c52480: enough to tell ids apart in narrow tables
export function shortId(id) {
  return h('code', { title: id }, id && id.length > 20 ? `${id.slice(0, 10)}…${id.slice(-6)}` : id);
}
// a name linking to its page, with the id under it (muted, selectable for
// copy and paste); an unknown id (deleted since) is shown once, as code
export function named(href, name, id) {
  if (name === id) return h('a', { href }, mono(id));
  return h('div', { class: 'named' }, h('a', { href, title: id }, name), h('div', { class: 'muted small mono' }, id));
}
export function mono(text, title) { return h('code', { title: title || null }, text ?? '—'); }
// a body as text: pretty JSON when it parses, else as it came
export function pretty(text) {
  if (text === null || text === undefined) return '';
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}
export function code(text, light) { return h('pre', { class: light ? 'code light' : 'code' }, text); }
// a stored secret comes back as "********" (+ its last 4): shown muted
export function value(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'string' && v.startsWith('********')) return h('span', { class: 'masked', title: 'secret, masked by the server' }, v);
  if (typeof v === 'object') return code(JSON.stringify(v, null, 2), true);
  if (typeof v === 'string') return mono(v);
  return String(v);
}

// ---- building blocks ----
export function card(title, body, { actions, flush, cls } = {}) {
  return h('section', { class: 'card' + (cls ? ' ' + cls : '') },
    title ? h('div', { class: 'card-head' }, typeof title === 'string' ? h('h2', null, title) : title, actions || null) : null,
    h('div', { class: flush ? 'card-body flush' : 'card-body' }, body));
}
export function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(h('dt', null, k), h('dd', null, v instanceof Node || Array.isArray(v) || typeof v === 'string' ? v : value(v)));
  }
  return dl;
}
// columns: [{label, cls}]; rows: arrays of cells (or {cells, attrs})
export function table(columns, rows, attrs) {
  const tbody = h('tbody');
  for (const r of rows) tbody.append(Array.isArray(r) ? row(columns, r) : r);
  return h('div', { class: 'table-wrap' },
    h('table', attrs || null,
      h('thead', null, h('tr', null, columns.map((c) => h('th', { class: c.cls || null }, c.label)))),
      tbody));
}
export function row(columns, cells, attrs) {
  return h('tr', attrs || null, cells.map((c, i) => h('td', { class: columns[i]?.cls || null }, c)));
}
export function empty(title, hint, action) {
  return h('div', { class: 'empty' }, h('strong', null, title), hint ? h('div', null, hint) : null, action || null);
}
export function pageHead(title, { crumb, actions, badges } = {}) {
  return h('div', { class: 'page-head' },
    h('div', null,
      crumb ? h('div', { class: 'crumb' }, crumb) : null,
      h('div', { class: 'title' }, h('h1', null, title), badges || null)),
    actions ? h('div', { class: 'actions' }, actions) : null);
}
export function button(text, onclick, cls = '', attrs = {}) {
  return h('button', { type: 'button', class: 'btn ' + cls, onclick, ...attrs }, text);
}
export function field(labelText, input, hint, wide) {
  const id = input.id || (input.id = 'f' + Math.random().toString(36).slice(2));
  return h('div', { class: 'field' + (wide ? ' wide' : '') }, h('label', { for: id }, labelText), input, hint ? h('div', { class: 'hint' }, hint) : null);
}
export function select(options, attrs) {
  return h('select', attrs || null, options.map(([v, t]) => h('option', { value: v }, t)));
}
export function errorBox(err) {
  return h('p', { class: 'form-error', role: 'alert' }, err?.message || String(err));
}

export function toast(text, bad) {
  const el = h('div', { class: bad ? 'toast toast-bad' : 'toast', role: 'status' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), bad ? 6000 : 3500);
}

// Runs a button's action; a failure becomes a toast (a 401 has signed out
// already, see api.js).
export async function act(fn) {
  try {
    await fn();
  } catch (e) {
    if (e.status !== 401) toast(e.message, true);
  }
}

// A read-only field with a copy button; falls back to selecting the text
// where the clipboard API is unavailable (plain http off localhost).
export function copyField(text, label = 'URL') {
  const input = h('input', { type: 'text', readonly: true, value: text, 'aria-label': label });
  const btn = button('Copy', async () => {
    try {
      await navigator.clipboard.writeText(text);
      btn.textContent = 'Copied';
    } catch {
      input.focus();
      input.select();
      btn.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { btn.textContent = 'Copy'; }, 1500);
  }, 'btn-sm');
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'copy' }, input, btn);
}

// A secret shown once (a new API key, a new signing secret): a card with
// note, the value to copy and Done, which calls done().
export function shownOnce(title, id, note, value, label, done) {
  return card(title, h('div', { class: 'form', id },
    h('p', { class: 'field wide' }, note),
    h('div', { class: 'field wide' }, copyField(value, label)),
    h('div', { class: 'form-actions' }, button('Done', done, 'btn-primary'))), { cls: 'edit' });
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

// Loading placeholder that the page replaces
export function loading() { return h('div', { class: 'empty' }, 'Loading…'); }

// At most one call per ms (the last one is never lost): for refetches that
// live messages trigger, which may arrive by the hundred.
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
  };
}
