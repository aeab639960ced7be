// Destinations: the list with each one's live circuit state and queue, the
// "new destination" form (blank, or from a template; http with its signing
// settings), and a destination's page: its circuit (with the reset
// button), config, signing, retry policy and recent attempts, replays
// (web/replay.js), and "Send test event" from a source connected to it. Circuit badges and counts
// change in place from the hookstream.deliveries channel.
import { api, get, qs } from './api.js';
import {
  h, card, pageHead, table, row, badge, circuitBadge, setBadge, time, mono, empty, select, field, button,
  kv, code, value, duration, toast, throttle, loading, shownOnce,
} from './ui.js';
import { editDestinationForm } from './edit_destination.js';
import { resourcePath, patchThen, deleteThen, showError } from './forms.js';
import { signingFields, signingView, rotateForm } from './signing.js';
import { testEventPanel } from './test_event.js';
import { replayCard } from './replay.js';

const TYPES = ['http', 'aws_sqs', 'aws_s3', 'aws_eventbridge', 'gcp_pubsub', 'kafka', 'rabbitmq', 'websocket'];
const CONFIG_HINTS = {
  aws_sqs: { queue_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/orders', region: 'us-east-1', access_key_id: 'AKIA…', secret_access_key: '…' },
  aws_s3: { bucket: 'my-bucket', region: 'us-east-1', access_key_id: 'AKIA…', secret_access_key: '…' },
  aws_eventbridge: { region: 'us-east-1', access_key_id: 'AKIA…', secret_access_key: '…' },
  gcp_pubsub: { project_id: 'my-project', topic_id: 'events', service_account_json: {} },
  kafka: { url: 'https://kafka-rest.example.com', topic: 'events' },
  rabbitmq: { url: 'https://rabbit.example.com', exchange: 'events', username: 'user', password: '…' },
  websocket: { channel_name: 'orders' },
};

const destLink = (id, text) => h('a', { href: '#/destinations/' + encodeURIComponent(id) }, text);

// ---------------------------------------------------------------- list

export async function renderList(ctx) {
  const formSlot = h('div');
  const listSlot = h('div', null, loading());
  const add = button('New destination', () => toggleForm(), 'btn-primary');
  ctx.view.append(pageHead('Destinations', { actions: add }), formSlot, card(null, listSlot, { flush: true }));

  function toggleForm() {
    if (formSlot.firstChild) { formSlot.replaceChildren(); return; }
    formSlot.append(newDestinationForm(ctx, () => formSlot.replaceChildren()));
  }
  if (ctx.query.get('new')) toggleForm();

  const [, circuits] = await Promise.all([ctx.names.load(), get('/v1/circuits')]);
  if (!ctx.alive()) return;
  const dests = [...ctx.names.destinations.values()];
  if (!dests.length) {
    listSlot.replaceChildren(empty('No destinations yet', 'A destination is where hookstream delivers events: an HTTP endpoint, a queue, a topic.', button('New destination', () => toggleForm(), 'btn-primary')));
    return;
  }
  const state = new Map(circuits.circuits.map((c) => [c.destination_id, c]));
  const cols = [
    { label: 'Name' }, { label: 'Type' }, { label: 'Status' }, { label: 'Circuit' },
    { label: 'Queued', cls: 'num' }, { label: 'In flight', cls: 'num' }, { label: 'Failures', cls: 'num' }, { label: 'Created' },
  ];
  const rows = dests.map((d) => {
    const c = state.get(d.id) || { state: 'closed', queued: 0, in_flight: 0, consecutive_failures: 0 };
    return row(cols, [
      h('div', null, destLink(d.id, d.name), h('div', { class: 'muted small mono' }, d.slug || d.id)),
      h('code', null, d.type),
      badge(d.status),
      circuitBadge(c.state),
      h('span', { class: 'queued' }, String(c.queued)),
      h('span', { class: 'inflight' }, String(c.in_flight)),
      h('span', { class: 'failures' }, String(c.consecutive_failures)),
      time(d.created_at),
    ], { 'data-id': d.id });
  });
  listSlot.replaceChildren(table(cols, rows, { id: 'destinations-table' }));

  const update = (st) => {
    const tr = listSlot.querySelector(`tr[data-id="${CSS.escape(st.id || st.destination_id)}"]`);
    if (!tr) return;
    const b = tr.querySelector('.circuit');
    const s = st.circuit || st.state;
    if (b.dataset.state !== s) setBadge(b, s);
    tr.querySelector('.queued').textContent = String(st.queued);
    tr.querySelector('.inflight').textContent = String(st.in_flight);
    tr.querySelector('.failures').textContent = String(st.consecutive_failures);
  };
  // The message's state is applied at once; a throttled /v1/circuits call
  // then settles the counts (an attempt's message still counts itself in
  // flight, and a new event queues deliveries without any attempt).
  const recount = throttle(async () => {
    try { for (const c of (await get('/v1/circuits')).circuits) update(c); } catch { /* shown on next load */ }
  }, 1000);
  ctx.on('delivery.attempt', (d) => { if (d.destination) update(d.destination); recount(); });
  for (const type of ['circuit.reset', 'circuit.opened', 'circuit.closed']) {
    ctx.on(type, (d) => { if (d.destination) update(d.destination); recount(); });
  }
  ctx.on('event.received', recount);
}

// ---------------------------------------------------------------- form

function newDestinationForm(ctx, close) {
  const err = h('div');
  const template = select([['', 'None: configure it yourself']], { name: 'template' });
  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'Orders service' });
  const type = select(TYPES.map((t) => [t, t]), { name: 'type' });
  const url = h('input', { type: 'url', name: 'url', placeholder: 'https://example.com/webhooks' });
  const method = select([['POST', 'POST'], ['PUT', 'PUT'], ['PATCH', 'PATCH']], { name: 'method' });
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'optional' });
  const config = h('textarea', { name: 'config', spellcheck: 'false' });
  const retries = h('input', { type: 'number', name: 'max_retries', min: 0, max: 20, value: '5' });
  const threshold = h('input', { type: 'number', name: 'threshold', min: 1, max: 1000, value: '5' });
  const inputs = h('div', { class: 'form span' });
  const signing = signingFields(null);
  const httpFields = [field('URL', url), field('Method', method), field('Bearer token', token, 'sent as Authorization; stored masked'),
    h('h3', { class: 'label field wide' }, 'Signing'), signing.el];
  const configField = field('Config (JSON)', config, 'see docs/provider_*.md for each type\'s fields', true);
  const typeFields = h('div', { class: 'form span' });
  let templates = [];

  function sync() {
    const t = templates.find((x) => x.name === template.value);
    type.disabled = Boolean(t);
    name.required = !t; // a template names it after itself
    inputs.replaceChildren();
    if (t) {
      typeFields.replaceChildren();
      for (const i of t.inputs) {
        const input = i.choices
          ? select([...(i.required ? [] : [['', '(default)']]), ...i.choices.map((c) => [c, c])], { 'data-input': i.name })
          : h('input', { type: i.secret ? 'password' : 'text', 'data-input': i.name, placeholder: i.default !== undefined ? String(i.default) : '', required: i.required && !i.overridden_by });
        inputs.append(field(i.name + (i.required ? '' : ' (optional)'), input, i.description));
      }
      if (!name.value) name.placeholder = t.title;
      return;
    }
    if (type.value === 'http') typeFields.replaceChildren(...httpFields);
    else {
      config.placeholder = JSON.stringify(CONFIG_HINTS[type.value] || {}, null, 2);
      typeFields.replaceChildren(configField);
    }
  }
  template.addEventListener('change', sync);
  type.addEventListener('change', sync);
  get('/v1/destination-templates').then((r) => {
    templates = r.templates;
    for (const t of templates) template.append(h('option', { value: t.name }, t.title));
  }).catch(() => {});

  const form = h('form', { class: 'form', id: 'new-destination' },
    field('Name', name), field('From a template', template), field('Type', type),
    typeFields, inputs,
    field('Retries', retries, 'attempts after the first; 0 dead-letters at the first failure'),
    field('Circuit breaker threshold', threshold, 'consecutive failures that open it'),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create destination'), button('Cancel', close, 'btn-ghost')),
    h('div', { class: 'field wide' }, err));
  sync();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    const body = {
      retry_policy: { max_retries: Number(retries.value) },
      circuit_breaker: { threshold: Number(threshold.value) },
    };
    if (name.value.trim()) body.name = name.value.trim();
    try {
      if (template.value) {
        body.template = template.value;
        body.template_inputs = {};
        for (const el of inputs.querySelectorAll('[data-input]')) if (el.value !== '') body.template_inputs[el.dataset.input] = el.value;
      } else {
        body.type = type.value;
        if (type.value === 'http') {
          body.config = { url: url.value.trim(), method: method.value };
          if (token.value) body.config.auth = { type: 'bearer', token: token.value };
          const sig = signing.wanted();
          if (sig) body.signing = sig;
        } else {
          try { body.config = JSON.parse(config.value || '{}'); } catch (e) { throw new Error('config: not valid JSON (' + e.message + ')'); }
        }
      }
      const d = await api('POST', '/v1/destinations', body);
      toast(`Destination “${d.name}” created`);
      ctx.go('#/destinations/' + encodeURIComponent(d.id));
    } catch (e) {
      if (e.status !== 401) showError(err, form, e);
    }
  });
  return card('New destination', form);
}

// ---------------------------------------------------------------- detail

export async function renderDetail(ctx) {
  const d = await get('/v1/destinations/' + encodeURIComponent(ctx.params[0]));
  const [circuit, attempts, failures] = await Promise.all([
    get(`/v1/destinations/${encodeURIComponent(d.id)}/circuit`),
    get('/v1/delivery-attempts' + qs({ destination_id: d.id, limit: 20 })),
    get('/v1/delivery-attempts' + qs({ destination_id: d.id, status: 'failed', limit: FAILURES_SHOWN })),
    ctx.names.load(),
  ]);
  if (!ctx.alive()) return;

  let headBadge = circuitBadge(circuit.state, 'badge-lg');
  headBadge.id = 'circuit-state';
  const resetBtn = button('Reset circuit', reset, circuit.state === 'closed' ? '' : 'btn-primary', { id: 'reset-circuit' });
  const pauseBtn = button(d.status === 'paused' ? 'Resume' : 'Pause', togglePause);
  const delBtn = button('Delete', remove, 'btn-danger');
  const editBtn = button('Edit', toggleEdit, '', { id: 'edit-destination-open' });
  const editSlot = h('div');
  // the sources an enabled connection routes here, to send a test event from
  const via = new Map(); // source id -> names of the connections
  for (const c of ctx.names.connections.values()) {
    if (c.destination_id !== d.id || !c.enabled || ctx.names.sources.get(c.source_id)?.status === 'disabled') continue;
    if (!via.has(c.source_id)) via.set(c.source_id, []);
    if (c.name) via.get(c.source_id).push(c.name);
  }
  const choices = [...via].map(([id, conns]) => ({ id, label: ctx.names.source(id) + (conns.length ? ` (via ${conns.join(', ')})` : '') }));
  const testBtn = button('Send test event', testEvent, '', {
    id: 'send-test-event', disabled: !choices.length,
    title: choices.length ? 'POST a sample event to a source connected here' : 'no enabled connection routes a source here',
  });
  const testSlot = h('div');
  ctx.view.append(pageHead(d.name, {
    crumb: h('span', null, h('a', { href: '#/destinations' }, 'Destinations'), ' / ', mono(d.id)),
    badges: [h('code', null, d.type), badge(d.status)],
    actions: [editBtn, testBtn, resetBtn, pauseBtn, delBtn],
  }));
  if (d.description) ctx.view.append(h('p', { class: 'muted description' }, d.description));
  ctx.view.append(editSlot, testSlot);

  // the panel stays open for more sends (another source, another body)
  let panel = null;
  function testEvent() {
    if (!panel) {
      ctx.hold(true);
      panel = testEventPanel(ctx, choices, {
        title: 'Send a test event',
        hint: `it goes wherever the source's connections route it, here when “${d.name}”'s connection lets it through`,
        close: () => { panel = null; testSlot.replaceChildren(); ctx.hold(Boolean(editSlot.firstChild)); },
      });
      testSlot.append(panel.el);
    }
    panel.send();
  }

  // While the form is open a reconnect does not re-render the page (it
  // would throw away what the user typed); a save re-reads it.
  function toggleEdit() {
    if (editSlot.firstChild) { closeEdit(); return; }
    ctx.hold(true);
    editSlot.append(editDestinationForm(d, { saved: () => { ctx.hold(false); ctx.refresh(); }, close: closeEdit }));
    editSlot.querySelector('input')?.focus();
  }
  function closeEdit() {
    editSlot.replaceChildren();
    ctx.hold(Boolean(panel));
  }
  // the rotation form takes the edit form's place; a secret the server
  // made is shown there once, to be copied to the receiver
  function openRotate() {
    ctx.hold(true);
    const post = (body) => api('POST', `/v1/destinations/${encodeURIComponent(d.id)}/rotate-secret`, body);
    const done = ({ new_secret: made }) => {
      if (!made) { toast('Signing secret rotated'); closeEdit(); ctx.refresh(); return; }
      editSlot.replaceChildren(shownOnce('New signing secret', 'rotated-secret',
        'Give this secret to the receiver: it is shown only this once. The old one signs too until the overlap ends.',
        made, 'new signing secret', () => { closeEdit(); ctx.refresh(); }));
    };
    editSlot.replaceChildren(card(`Rotate the signing secret of “${d.name}”`, rotateForm(d, post, { done, close: closeEdit }), { cls: 'edit' }));
    editSlot.querySelector('input')?.focus();
  }

  const circuitBody = h('div');
  const attemptsSlot = h('div');
  const failuresSlot = h('div', { id: 'recent-failures' });
  let lastChange = null; // the latest circuit.opened / circuit.closed seen live
  ctx.view.append(
    h('div', { class: 'grid' },
      card(h('div', { class: 'title actions' }, h('h2', null, 'Circuit breaker'), headBadge), circuitBody),
      card('Retry policy', retryPolicy(d))),
    d.type === 'http' || d.signing
      ? h('div', { class: 'grid' }, card('Configuration', configView(d)), card('Signing', signingView(d.signing), {
        cls: 'signing', actions: d.signing ? button('Rotate secret', openRotate, 'btn-sm', { id: 'rotate-secret' }) : null,
      }))
      : card('Configuration', configView(d)),
    card('Why it fails', failuresSlot, { flush: true, cls: 'failures' }),
    card('Recent attempts', attemptsSlot, { flush: true, actions: h('a', { href: '#/dlq?destination_id=' + encodeURIComponent(d.id) }, 'Dead letters') }),
    replayCard(ctx, d),
  );

  function showCircuit(c) {
    const s = c.state || c.circuit;
    if (headBadge.dataset.state !== s) headBadge = setBadge(headBadge, s);
    resetBtn.className = 'btn' + (s === 'closed' ? '' : ' btn-primary');
    circuitBody.replaceChildren(kv([
      ['Failures', h('span', { id: 'circuit-failures' }, `${c.consecutive_failures}${c.threshold ? ' of ' + c.threshold : ''} in a row`)],
      ['Queued', h('span', { id: 'circuit-queued' }, String(c.queued))],
      ['In flight', String(c.in_flight)],
      c.opened_at !== undefined ? ['Opened', c.opened_at ? time(c.opened_at) : '—'] : [],
      c.next_probe_at !== undefined ? ['Next probe', c.next_probe_at ? time(c.next_probe_at) : '—'] : [],
      c.enabled !== undefined ? ['Breaker', c.enabled ? `on, cooldown ${duration(Math.round((d.circuit_breaker?.cooldown_ms || 0) / 1000))}` : 'off'] : [],
      lastChange ? ['Last change', h('span', { id: 'circuit-change' }, changeText(lastChange))] : [],
    ].filter((p) => p.length)));
  }
  showCircuit(circuit);

  // the latest failed attempts: what the receiver answered, or why nothing came back
  const failCols = [{ label: 'When' }, { label: 'Event' }, { label: '#', cls: 'num' }, { label: 'Response' }, { label: 'Error' }, { label: '' }];
  const failureRow = (a) => row(failCols, [
    time(a.created_at),
    h('a', { href: '#/events/' + encodeURIComponent(a.event_id) }, mono(a.event_id)),
    String(a.attempt_number),
    a.response_status ? mono(String(a.response_status)) : h('span', { class: 'muted' }, 'no response'),
    h('span', { class: 'error-text clip', title: a.error || '' }, a.error || ''),
    a.is_dlq ? badge('dead-lettered', 'bad') : a.next_retry_at ? h('span', { class: 'muted small' }, 'retry ', time(a.next_retry_at)) : '',
  ], { 'data-failure': a.id });
  const failTable = liveTable(failuresSlot, failCols, failureRow, failures.delivery_attempts, FAILURES_SHOWN,
    empty('No failed attempts', `The last ${FAILURES_SHOWN} failures show here, with what the receiver answered.`));

  const cols = [{ label: 'When' }, { label: 'Event' }, { label: '#', cls: 'num' }, { label: 'Status' }, { label: 'Response' }, { label: 'Duration', cls: 'num' }, { label: 'Error' }];
  const attemptRow = (a) => {
    const tr = row(cols, [
      time(a.created_at),
      h('a', { href: '#/events/' + encodeURIComponent(a.event_id) }, mono(a.event_id)),
      String(a.attempt_number),
      a.is_dlq ? badge('dead-lettered', 'bad') : badge(a.status),
      a.response_status ? mono(String(a.response_status)) : h('span', { class: 'muted' }, '—'),
      `${a.duration_ms} ms`,
      h('span', { class: 'error-text', title: a.error || '' }, a.error || ''),
    ], { 'data-attempt': a.id });
    tr.lastChild.classList.add('clip');
    return tr;
  };
  const attemptTable = liveTable(attemptsSlot, cols, attemptRow, attempts.delivery_attempts, 50,
    empty('No attempts yet', 'Attempts appear here as events are delivered.'));

  let liveUpdates = 0; // circuit states shown from live events
  // a state fetched while a live update came in is older than that update:
  // dropped (it would put back, say, a failure count from before the attempt)
  const refetch = throttle(async () => {
    const seen = liveUpdates;
    try {
      const c = await get(`/v1/destinations/${encodeURIComponent(d.id)}/circuit`);
      if (liveUpdates === seen) showCircuit(c);
    } catch { /* keep */ }
  }, 1000);
  ctx.on('delivery.attempt', ({ attempt, destination }) => {
    if (destination?.id !== d.id) return;
    liveUpdates++;
    if (attempt.status === 'failed') failTable.add(attempt);
    showCircuit({ ...destination, threshold: circuit.threshold });
    refetch();
    attemptTable.add(attempt);
  });
  const onChange = (change) => {
    if (change.destination?.id !== d.id) return;
    lastChange = change;
    liveUpdates++;
    showCircuit({ ...change.destination, threshold: circuit.threshold });
    refetch();
  };
  ctx.on('circuit.opened', onChange);
  ctx.on('circuit.closed', onChange);
  ctx.on('circuit.reset', ({ destination }) => {
    if (destination?.id === d.id) { showCircuit({ ...destination, threshold: circuit.threshold }); refetch(); }
  });
  ctx.on('event.received', refetch);

  async function reset() {
    resetBtn.disabled = true;
    try {
      const seen = liveUpdates;
      const c = await api('POST', `/v1/destinations/${encodeURIComponent(d.id)}/circuit/reset`);
      // the queue flushes at once: an attempt's live update may have come
      // in before this answer, and is newer than it
      if (liveUpdates === seen) showCircuit(c);
      else refetch();
      toast('Circuit closed; queued deliveries resume');
    } catch (e) {
      if (e.status !== 401) toast('Reset failed: ' + e.message, true);
    } finally {
      resetBtn.disabled = false;
    }
  }
  function togglePause() {
    return patchThen(resourcePath('destinations', d.id), { status: d.status === 'paused' ? 'active' : 'paused' }, () => ctx.refresh());
  }
  function remove() {
    return deleteThen(`Delete destination “${d.name}”? Its pending deliveries are cancelled.`,
      resourcePath('destinations', d.id), 'Destination', () => ctx.go('#/destinations'));
  }
}

const FAILURES_SHOWN = 10;

// A table of attempts in slot (rowOf makes a row), newest first; add()
// puts a live one on top and keeps max rows. emptyView while none.
function liveTable(slot, cols, rowOf, items, max, emptyView) {
  let body = null;
  const start = (rows) => {
    const t = table(cols, rows);
    body = t.querySelector('tbody');
    slot.replaceChildren(t);
  };
  if (items.length) start(items.map(rowOf));
  else slot.replaceChildren(emptyView);
  return {
    add(a) {
      if (!body) start([]);
      const tr = rowOf(a);
      tr.classList.add('fresh');
      body.prepend(tr);
      while (body.children.length > max) body.lastChild.remove();
    },
  };
}

// "opened after HTTP 500: receiver is down" from a circuit.opened/closed event
function changeText(c) {
  const a = c.attempt || {};
  const why = [a.response_status ? `HTTP ${a.response_status}` : '', a.error || ''].filter(Boolean).join(': ');
  if (c.to !== 'open') return 'closed: the probe succeeded';
  return (c.from === 'half_open' ? 'opened again: the probe failed' : 'opened') + (why ? ` after ${why}` : '');
}

function retryPolicy(d) {
  const p = d.retry_policy || {};
  const cb = d.circuit_breaker || {};
  return kv([
    ['Retries', p.max_retries === 0 ? 'none: the first failure dead-letters' : String(p.max_retries)],
    ['Backoff', p.backoff_type || '—'],
    ['Intervals', (p.intervals || []).slice(0, Math.max(p.max_retries || 0, 0)).map(duration).join(', ') || '—'],
    ['Circuit breaker', cb.enabled === false ? 'off' : `opens after ${cb.threshold} failures, probes after ${duration(Math.round((cb.cooldown_ms || 0) / 1000))}`],
    ['Concurrency', String(d.max_concurrency ?? 1)],
    ['Ordering', d.ordering || '—'],
  ]);
}

// Config as key paths (secrets come masked from the server). Signing has
// its own card (signing.js).
function configView(d) {
  const pairs = [];
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj || {})) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) walk(v, path);
      else pairs.push([path, value(v && typeof v === 'object' && !Object.keys(v).length ? '{}' : v)]);
    }
  };
  walk(d.config, '');
  const parts = [kv(pairs)];
  if (d.template) parts.push(h('p', { class: 'muted' }, 'Made from the ', mono(d.template), ' template.'));
  if (d.transform) parts.push(h('h3', { class: 'muted small' }, 'Payload shape (JSONata)'), code(d.transform));
  return parts;
}
