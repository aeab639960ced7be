// test_event.js: "Send a test event". A sample JSON body is POSTed to a
// source's ingest URL as a sender would post it (api.js ingest: no API
// key), then the new event is shown as a link to its page, where its
// deliveries and attempts appear, with where it was routed. The sources
// page offers it per source; a destination's page from the sources its
// connections take events from. No endpoint of its own: ingest is the one
// every sender uses, so the event is routed, filtered, transformed, signed
// and delivered like any other.
import { ingest, get } from './api.js';
import { h, card, field, select, button, mono } from './ui.js';
import { parseJson, showError, FieldError } from './forms.js';

const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, '0')).join('');

export function sampleBody() {
  return {
    type: 'hookstream.test',
    id: 'test_' + hex(8),
    sent_at: new Date().toISOString(),
    data: { message: 'A test event sent from the hookstream dashboard' },
  };
}
const sampleText = () => JSON.stringify(sampleBody(), null, 2);

// choices: [{id, label}], the sources to send from (the first by default;
// one: no picker). Returns {el, send}: send() posts what the form holds.
export function testEventPanel(ctx, choices, { title, hint, close }) {
  const err = h('div', { class: 'field wide' });
  const sent = h('ul', { class: 'sent-list', id: 'test-event-result' });
  const src = select(choices.map((c) => [c.id, c.label]), { name: 'source_id', 'data-path': 'source_id' });
  let sample = sampleText();
  const body = h('textarea', { name: 'body', 'data-path': 'body', spellcheck: 'false', rows: 9, value: sample });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Send');
  const form = h('form', { class: 'form', id: 'test-event', novalidate: true },
    choices.length > 1 ? field('Source', src, 'the event is ingested there; its connections decide where it goes') : null,
    field('Body (JSON)', body, 'POSTed to the source\'s ingest URL without the API key, as a sender would; '
      + (hint || 'it goes wherever the source\'s connections route it (a filter may skip it)'), true),
    h('div', { class: 'form-actions' }, submit, button('Close', close, 'btn-ghost')),
    err,
    h('div', { class: 'field wide' }, sent));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });

  async function send() {
    err.replaceChildren();
    submit.disabled = true;
    try {
      const payload = parseJson(body.value, 'body', undefined);
      if (payload === undefined) throw new FieldError('body', 'a JSON body is needed');
      const sourceId = src.value;
      const r = await ingest(sourceId, payload);
      const routed = h('span', { class: 'muted routed' }, 'routing…');
      sent.prepend(h('li', { class: 'fresh', 'data-event': r.event_id },
        h('a', { href: '#/events/' + encodeURIComponent(r.event_id), class: 'event-link', title: 'the event, its deliveries and attempts' }, mono(r.event_id)),
        h('span', { class: 'muted' }, 'from ' + ctx.names.source(sourceId)),
        routed));
      while (sent.children.length > 5) sent.lastChild.remove();
      // the next send is another event, unless the user wrote this body
      if (body.value === sample) body.value = sample = sampleText();
      where(r.event_id, routed);
    } catch (e) {
      if (e.status !== 401) showError(err, form, e);
    } finally {
      submit.disabled = false;
    }
  }

  // Ingest answered once the event and its deliveries were committed, so
  // the event read now lists every destination it goes to.
  async function where(id, el) {
    try {
      const e = await get('/v1/events/' + encodeURIComponent(id));
      if (!e.deliveries.length) {
        el.textContent = 'not routed: no enabled connection of the source matched it (it is stored all the same)';
        return;
      }
      el.replaceChildren('→ ', ...e.deliveries.flatMap((d, i) => [
        i ? ', ' : '',
        h('a', { href: '#/destinations/' + encodeURIComponent(d.destination_id) }, ctx.names.destination(d.destination_id)),
        ctx.names.connections.get(d.connection_id)?.name ? ` via ${ctx.names.connection(d.connection_id)}` : '',
      ]));
    } catch {
      el.textContent = '';
    }
  }

  return { el: card(title, form, { cls: 'edit test-event' }), send };
}
