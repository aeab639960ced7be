// dedup.js: a source's deduplication (docs/api.md "Deduplication") in the
// source forms: on or off, the strategy (the body's bytes, a header, a
// field of the JSON body), the header or field, and the window; and the
// few words the sources list shows of it.
import { h, field, select } from './ui.js';

const STRATEGIES = [
  ['payload_hash', 'Identical bodies'],
  ['header_field', 'A header'],
  ['body_field', 'A field of the JSON body'],
];

// The inputs, filled from source s (null: a new source). Returns {el,
// wanted}: wanted() gives the four dedup_* fields.
export function dedupFields(s) {
  const enabled = h('input', { type: 'checkbox', name: 'dedup_enabled', 'data-path': 'dedup_enabled' });
  enabled.checked = !!s?.dedup_enabled;
  const strategy = select(STRATEGIES, { name: 'dedup_strategy', 'data-path': 'dedup_strategy' });
  strategy.value = s?.dedup_strategy || 'payload_hash';
  const fieldIn = h('input', {
    type: 'text', name: 'dedup_field', 'data-path': 'dedup_field', spellcheck: 'false', class: 'mono',
    value: s?.dedup_field || '',
  });
  const windowIn = h('input', {
    type: 'number', name: 'dedup_window_seconds', 'data-path': 'dedup_window_seconds', min: 1, max: 604800,
    value: s?.dedup_window_seconds ?? 300,
  });
  const fieldBox = field('Header or field', fieldIn, ' ');
  const hint = fieldBox.querySelector('.hint');
  const sync = () => {
    const st = strategy.value;
    fieldBox.hidden = st === 'payload_hash';
    fieldIn.placeholder = st === 'header_field' ? 'X-Request-Id' : 'data.id';
    if (hint) hint.textContent = st === 'header_field' ? 'the header that names each event' : 'a dot path into the body: data.id, items.0.id';
  };
  strategy.addEventListener('change', sync);
  sync();
  const el = h('div', { class: 'form span dedup-fields' },
    h('h3', { class: 'label field wide' }, 'Deduplication'),
    field('Drop repeats', enabled, 'a repeat within the window is answered with the first event and delivered nowhere'),
    field('Same event when', strategy), fieldBox,
    field('Window (seconds)', windowIn, 'how long an event is remembered'));
  const wanted = () => ({
    dedup_enabled: enabled.checked,
    dedup_strategy: strategy.value,
    dedup_field: strategy.value === 'payload_hash' ? (s?.dedup_field ?? null) : (fieldIn.value.trim() || null),
    dedup_window_seconds: Number(windowIn.value) || 300,
  });
  return { el, wanted };
}

// "dedup: body data.id, 300 s", or '' when off.
export function dedupSummary(s) {
  if (!s.dedup_enabled) return '';
  const what = s.dedup_strategy === 'header_field' ? `header ${s.dedup_field}`
    : s.dedup_strategy === 'body_field' ? `body ${s.dedup_field}` : 'same body';
  return `dedup: ${what}, ${s.dedup_window_seconds} s`;
}
