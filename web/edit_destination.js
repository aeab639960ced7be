// edit_destination.js: the destination page's Edit form. It is filled from
// the destination as read (secrets masked) and sends PATCH
// /v1/destinations/:id with only what the user changed. A secret field
// starts empty: left empty it keeps the stored secret (and is not sent);
// typed into, it replaces it. The type is fixed here (changing it needs a
// whole new config: create a new destination). Signing (http) is in
// signing.js: off sends `signing: null`, on a stored signing only what
// changed; its secret field works as the auth secrets do.
import { h, card, field, select, button } from './ui.js';
import { mergePatch, parseJson, num, textOrNull, FieldError, resourcePath, onSavePatch } from './forms.js';
import { signingFields } from './signing.js';

const AUTH_TYPES = ['none', 'bearer', 'basic', 'api_key', 'custom'];
// each auth type's settings: [name, secret?]
const AUTH_FIELDS = {
  none: [], bearer: [['token', true]], basic: [['username', false], ['password', true]],
  api_key: [['header', false], ['key', true]], custom: [],
};
const AUTH_LABELS = { token: 'Bearer token', username: 'Username', password: 'Password', header: 'Header name', key: 'API key' };

const input = (path, attrs) => h('input', { type: 'text', 'data-path': path, name: path, spellcheck: 'false', ...attrs });
const area = (path, text, attrs) => h('textarea', { 'data-path': path, name: path, spellcheck: 'false', ...attrs, value: text });
const json = (v) => JSON.stringify(v ?? {}, null, 2);

export function editDestinationForm(d, { saved, close }) {
  const cfg = d.config || {};
  const rp = d.retry_policy || {};
  const cb = d.circuit_breaker || {};
  const err = h('div', { class: 'field wide' });

  const name = input('name', { value: d.name || '' });
  const description = input('description', { value: d.description || '', placeholder: 'optional' });
  const status = select(['active', 'paused', 'disabled'].map((s) => [s, s]), { 'data-path': 'status', name: 'status' });
  status.value = d.status || 'active';

  // ---- config ----
  const http = d.type === 'http';
  const configFields = h('div', { class: 'form span' });
  const c = {};
  if (http) {
    c.url = input('config.url', { value: cfg.url || '', type: 'url' });
    c.method = select(['POST', 'PUT', 'PATCH'].map((m) => [m, m]), { 'data-path': 'config.method', name: 'config.method' });
    c.method.value = cfg.method || 'POST';
    c.timeout = input('config.timeout_ms', { type: 'number', value: String(cfg.timeout_ms ?? '') });
    c.headers = area('config.headers', json(cfg.headers));
    c.graphql = h('input', { type: 'checkbox', 'data-path': 'config.fail_on_graphql_errors', name: 'config.fail_on_graphql_errors', checked: cfg.fail_on_graphql_errors });
    c.authType = select(AUTH_TYPES.map((t) => [t, t]), { 'data-path': 'config.auth.type', name: 'config.auth.type' });
    c.authType.value = cfg.auth?.type || 'none';
    c.authSlot = h('div', { class: 'form span' });
    configFields.append(
      field('URL', c.url), field('Method', c.method), field('Timeout (ms)', c.timeout, '100 to 300000'),
      field('Auth', c.authType),
      c.authSlot,
      field('Headers (JSON object)', c.headers, 'sent with every request; header values that look secret come back masked and are kept when left as they are', true),
      h('div', { class: 'field' }, h('label', { class: 'check' }, c.graphql, 'Fail on GraphQL errors')));
    c.authType.addEventListener('change', syncAuth);
    syncAuth();
    c.signing = signingFields(d.signing);
    configFields.append(h('h3', { class: 'label field wide' }, 'Signing'), c.signing.el);
  } else {
    c.config = area('config', json(cfg), { rows: 8 });
    configFields.append(field(`Config (${d.type}, JSON)`, c.config, 'secrets come masked: leave a masked value as it is to keep the secret, or type the new one', true));
  }

  // the settings of the auth type chosen; secrets blank unless typed
  function syncAuth() {
    const t = c.authType.value;
    const kept = (cfg.auth?.type || 'none') === t;
    c.auth = {};
    c.authSlot.replaceChildren();
    for (const [k, secret] of AUTH_FIELDS[t]) {
      const path = 'config.auth.' + k;
      const old = kept ? cfg.auth?.[k] : undefined;
      const el = secret
        ? input(path, { type: 'password', autocomplete: 'new-password', placeholder: old ? `${old} (leave blank to keep)` : '' })
        : input(path, { value: old ?? (k === 'header' ? 'X-API-Key' : '') });
      c.auth[k] = el;
      c.authSlot.append(field(AUTH_LABELS[k], el, secret ? (old ? 'stored, masked; blank keeps it' : 'required') : null));
    }
    if (t === 'custom') {
      c.auth.headers = area('config.auth.headers', kept ? json(cfg.auth.headers) : '{}');
      c.authSlot.append(field('Auth headers (JSON object)', c.auth.headers, 'values are secret: masked ones left as they are keep theirs', true));
    }
  }

  // ---- delivery ----
  const maxRetries = input('retry_policy.max_retries', { type: 'number', value: String(rp.max_retries ?? '') });
  const backoff = select(['exponential', 'linear', 'fixed'].map((b) => [b, b]), { 'data-path': 'retry_policy.backoff_type', name: 'retry_policy.backoff_type' });
  backoff.value = rp.backoff_type || 'exponential';
  const intervals = input('retry_policy.intervals', { value: (rp.intervals || []).join(', ') });
  const cbEnabled = h('input', { type: 'checkbox', 'data-path': 'circuit_breaker.enabled', name: 'circuit_breaker.enabled', checked: cb.enabled !== false });
  const threshold = input('circuit_breaker.threshold', { type: 'number', value: String(cb.threshold ?? '') });
  const cooldown = input('circuit_breaker.cooldown_ms', { type: 'number', value: String(cb.cooldown_ms ?? '') });
  const concurrency = input('max_concurrency', { type: 'number', value: String(d.max_concurrency ?? '') });
  const ordering = select([['best_effort', 'best effort'], ['strict', 'strict']], { 'data-path': 'ordering', name: 'ordering' });
  ordering.value = d.ordering || 'best_effort';
  const transform = area('transform', d.transform || '', { placeholder: 'optional: a JSONata expression run on what the connection sends' });

  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
  const form = h('form', { class: 'form', id: 'edit-destination', novalidate: true },
    field('Name', name), field('Description', description), field('Status', status),
    configFields,
    field('Retries', maxRetries, 'attempts after the first, 0 to 20'),
    field('Backoff', backoff),
    field('Intervals (seconds)', intervals, 'the wait before each retry, comma separated'),
    h('div', { class: 'field' }, h('label', { class: 'check' }, cbEnabled, 'Circuit breaker on')),
    field('Breaker threshold', threshold, 'consecutive failures that open it'),
    field('Breaker cooldown (ms)', cooldown, 'before a probe, 1000 to 86400000'),
    field('Max concurrency', concurrency, '1 to 64 requests in flight'),
    field('Ordering', ordering),
    field('Payload shape (JSONata)', transform, 'blank: send what the connection produced', true),
    h('div', { class: 'form-actions' }, submit, button('Cancel', close, 'btn-ghost')),
    err);

  // the destination as the user wants it: a copy of what was read with the
  // form's fields written over it
  function wanted() {
    const w = structuredClone(d);
    w.name = name.value.trim();
    w.description = textOrNull(description);
    w.status = status.value;
    if (http) {
      w.config.url = c.url.value.trim();
      w.config.method = c.method.value;
      w.config.timeout_ms = num(c.timeout, cfg.timeout_ms);
      w.config.headers = parseJson(c.headers.value, 'config.headers', {});
      w.config.fail_on_graphql_errors = c.graphql.checked;
      w.config.auth = authWanted();
      w.signing = c.signing.wanted();
    } else {
      w.config = parseJson(c.config.value, 'config', {});
    }
    const iv = intervals.value.split(/[\s,]+/).filter(Boolean).map(Number);
    if (iv.some((n) => !Number.isInteger(n))) throw new FieldError('retry_policy.intervals', 'whole seconds, separated by commas');
    w.retry_policy = { ...rp, max_retries: num(maxRetries, rp.max_retries), backoff_type: backoff.value, intervals: iv.length ? iv : rp.intervals };
    w.circuit_breaker = { ...cb, enabled: cbEnabled.checked, threshold: num(threshold, cb.threshold), cooldown_ms: num(cooldown, cb.cooldown_ms) };
    w.max_concurrency = num(concurrency, d.max_concurrency);
    w.ordering = ordering.value;
    w.transform = transform.value.trim() ? transform.value : null;
    return w;
  }
  function authWanted() {
    const t = c.authType.value;
    const kept = (cfg.auth?.type || 'none') === t;
    const a = kept ? structuredClone(cfg.auth || { type: 'none' }) : {};
    a.type = t;
    for (const [k, secret] of AUTH_FIELDS[t]) {
      const v = c.auth[k].value;
      if (secret) { if (v !== '') a[k] = v; } else a[k] = v.trim();
    }
    if (t === 'custom') a.headers = parseJson(c.auth.headers.value, 'config.auth.headers', {});
    return a;
  }
  function patchBody() {
    const w = wanted();
    const p = mergePatch(d, w);
    // a new auth type replaces auth on the server: send all of it
    if (http && w.config.auth.type !== (cfg.auth?.type || 'none')) (p.config ||= {}).auth = w.config.auth;
    return p;
  }

  onSavePatch(form, { submit, err, path: resourcePath('destinations', d.id), what: 'Destination', patchBody, saved, close });
  return card('Edit destination', form, { cls: 'edit' });
}
