// Connections: which source's events go to which destination, the filter
// rules that pick them and the JSONata transform that reshapes them; plus
// a box to try a transform on a sample body (POST /v1/transforms/test).
import { api, get, qs } from './api.js';
import { h, card, pageHead, badge, mono, empty, field, button, errorBox, code, select, toast, pretty } from './ui.js';
import { mergePatch, parseJson, textOrNull, resourcePath, onSavePatch, patchThen, deleteThen } from './forms.js';

const FILTER_EXAMPLE = '[{"field": "payload.type", "op": "eq", "value": "order.created"}]';

export async function render(ctx) {
  const formSlot = h('div');
  const listSlot = h('div', { class: 'view' });
  const play = playground(ctx);
  const toggle = () => {
    if (formSlot.firstChild) formSlot.replaceChildren();
    else formSlot.append(connectionForm(ctx, () => formSlot.replaceChildren()));
  };
  ctx.view.append(pageHead('Connections', { actions: button('New connection', toggle, 'btn-primary') }), formSlot, listSlot, play.el);
  await ctx.names.load();
  if (!ctx.alive()) return;
  const conns = [...ctx.names.connections.values()];
  if (!conns.length) {
    const hint = ctx.names.sources.size && ctx.names.destinations.size
      ? 'A connection routes a source\'s events to a destination.'
      : 'Create a source and a destination first, then connect them.';
    listSlot.append(card(null, empty('No connections yet', hint, button('New connection', toggle, 'btn-primary'))));
    return;
  }
  for (const c of conns) listSlot.append(connectionCard(ctx, c, play));
  // #/connections?id=conn_…: the card a link named (an event's delivery)
  const target = ctx.query.get('id') && listSlot.querySelector(`.connection[data-id="${CSS.escape(ctx.query.get('id'))}"]`);
  if (target) {
    target.classList.add('target');
    target.scrollIntoView({ block: 'center' });
  }
}

function connectionCard(ctx, c, play) {
  const src = h('a', { href: '#/events?source_id=' + encodeURIComponent(c.source_id) }, ctx.names.source(c.source_id));
  const dst = h('a', { href: '#/destinations/' + encodeURIComponent(c.destination_id) }, ctx.names.destination(c.destination_id));
  const title = h('div', { class: 'title actions' },
    h('h2', null, c.name || 'Connection'), h('span', { class: 'muted' }, src, ' → ', dst),
    badge(c.enabled ? 'enabled' : 'disabled', c.enabled ? 'ok' : ''));
  const actions = h('div', { class: 'actions' },
    button('Edit', () => toggleEdit(), 'btn-sm edit-connection'),
    c.transform ? button('Try transform', () => play.load(c), 'btn-sm') : null,
    button(c.enabled ? 'Disable' : 'Enable', () => patch(ctx, c, { enabled: !c.enabled }), 'btn-sm'),
    button('Delete', () => remove(ctx, c), 'btn-sm btn-danger'));
  const rules = c.filter_rules && c.filter_rules.length ? code(JSON.stringify(c.filter_rules, null, 2), true) : h('p', { class: 'muted' }, 'No filter: every event of the source.');
  const transform = c.transform ? code(c.transform, true) : h('p', { class: 'muted' }, 'No transform: the body is sent as it came.');
  const shown = h('div', null,
    h('div', { class: 'attempt-cols' },
      h('div', null, h('h3', { class: 'label' }, 'Filter rules'), rules),
      h('div', null, h('h3', { class: 'label' }, 'Transform (JSONata)'), transform)),
    h('div', { class: 'muted small mono id-line' }, c.id));
  const editSlot = h('div');
  const el = card(title, [shown, editSlot], { actions, cls: 'connection' });
  el.dataset.id = c.id;
  // the form takes the card's place until saved or cancelled
  function toggleEdit() {
    if (editSlot.firstChild) { closeEdit(); return; }
    ctx.hold(true);
    shown.hidden = true;
    editSlot.append(editConnectionForm(c, play, { saved: () => { ctx.hold(false); ctx.refresh(); }, close: closeEdit }));
  }
  function closeEdit() {
    editSlot.replaceChildren();
    shown.hidden = false;
    ctx.hold(false);
  }
  return el;
}

// Edit: name, enabled, filter rules and transform; PATCH sends what changed.
function editConnectionForm(c, play, { saved, close }) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', value: c.name || '', placeholder: 'optional' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', 'data-path': 'enabled', checked: c.enabled });
  const rules = h('textarea', {
    name: 'filter_rules', 'data-path': 'filter_rules', spellcheck: 'false', placeholder: FILTER_EXAMPLE,
    value: c.filter_rules ? JSON.stringify(c.filter_rules, null, 2) : '',
  });
  const transform = h('textarea', { name: 'transform', 'data-path': 'transform', spellcheck: 'false', placeholder: '{"id": id, "kind": type}', value: c.transform || '' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
  const form = h('form', { class: 'form edit-connection-form', novalidate: true },
    field('Name', name),
    h('div', { class: 'field' }, h('label', { class: 'check' }, enabled, 'Enabled')),
    field('Filter rules (JSON)', rules, 'blank: every event of the source', true),
    field('Transform (JSONata)', transform, 'blank: the body is sent as it came', true),
    h('div', { class: 'form-actions' }, submit,
      button('Try it', () => play.load({ ...c, transform: transform.value }), 'try-edit'),
      button('Cancel', close, 'btn-ghost')),
    err);
  onSavePatch(form, {
    submit, err, path: resourcePath('connections', c.id), what: 'Connection', saved, close,
    patchBody: () => mergePatch(c, {
      ...c,
      name: textOrNull(name),
      enabled: enabled.checked,
      filter_rules: parseJson(rules.value, 'filter_rules', null),
      transform: transform.value.trim() ? transform.value : null,
    }),
  });
  return form;
}

const patch = (ctx, c, body) => patchThen(resourcePath('connections', c.id), body, () => ctx.refresh());

const remove = (ctx, c) => deleteThen('Delete this connection? Events stop flowing from its source to its destination.',
  resourcePath('connections', c.id), 'Connection', () => ctx.refresh());

function connectionForm(ctx, close) {
  const err = h('div', { class: 'field wide' });
  const src = select([...ctx.names.sources.values()].map((s) => [s.id, s.name]), { name: 'source_id', required: true });
  const dst = select([...ctx.names.destinations.values()].map((d) => [d.id, d.name]), { name: 'destination_id', required: true });
  const name = h('input', { type: 'text', name: 'name', placeholder: 'optional' });
  const rules = h('textarea', { name: 'filter_rules', spellcheck: 'false', placeholder: FILTER_EXAMPLE });
  const transform = h('textarea', { name: 'transform', spellcheck: 'false', placeholder: '{"id": id, "kind": type}' });
  const form = h('form', { class: 'form', id: 'new-connection' },
    field('Source', src), field('Destination', dst), field('Name', name),
    field('Filter rules (JSON)', rules, 'optional: all rules must hold; ops eq, neq, contains, gt, gte, lt, lte, exists, in; groups any/all/not', true),
    field('Transform (JSONata)', transform, 'optional: the body sent is what this expression returns', true),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create connection'), button('Cancel', close, 'btn-ghost')),
    err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    try {
      const body = { source_id: src.value, destination_id: dst.value };
      if (name.value.trim()) body.name = name.value.trim();
      if (rules.value.trim()) {
        try { body.filter_rules = JSON.parse(rules.value); } catch (e) { throw new Error('filter rules: not valid JSON (' + e.message + ')'); }
      }
      if (transform.value.trim()) body.transform = transform.value;
      await api('POST', '/v1/connections', body);
      toast('Connection created');
      ctx.refresh();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
    }
  });
  return card('New connection', form);
}

// "Try the transform": an expression and a sample input, run by the server
// with the same engine and limits as deliveries.
function playground(ctx) {
  const expr = h('textarea', { name: 'expression', spellcheck: 'false', placeholder: '{"id": id}' });
  const input = h('textarea', { name: 'input', spellcheck: 'false', placeholder: '{"id": 42, "type": "order.created"}' });
  const out = h('div', { id: 'transform-output' }, h('p', { class: 'muted' }, 'The output appears here.'));
  const form = h('form', { class: 'form', id: 'transform-test' },
    field('Expression (JSONata)', expr, null, true),
    field('Input (JSON body)', input, 'filled with the newest event of the connection\'s source when there is one', true),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Run')),
    h('div', { class: 'field wide' }, out));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { expression: expr.value };
    if (input.value.trim()) {
      try { body.input = JSON.parse(input.value); } catch (e) { out.replaceChildren(errorBox(new Error('input: not valid JSON (' + e.message + ')'))); return; }
    }
    try {
      const r = await api('POST', '/v1/transforms/test', body);
      out.replaceChildren(r.output_undefined ? h('p', { class: 'muted' }, 'The result is undefined: nothing would be sent.') : code(JSON.stringify(r.output, null, 2)));
    } catch (e) {
      if (e.status !== 401) out.replaceChildren(errorBox(new Error(e.message + (e.body?.position !== undefined ? ` (at ${e.body.position})` : ''))));
    }
  });
  const el = card('Try a transform', form, { cls: 'playground' });
  return {
    el,
    async load(c) {
      expr.value = c.transform || '';
      el.scrollIntoView({ behavior: 'smooth' });
      try {
        const list = await get('/v1/events' + qs({ source_id: c.source_id, limit: 1 }));
        if (!list.events.length) return;
        const e = await get('/v1/events/' + encodeURIComponent(list.events[0].id));
        if (e.body_encoding === 'utf8' && e.body) input.value = pretty(e.body);
      } catch { /* keep the input as it is */ }
    },
  };
}
