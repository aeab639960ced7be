// front_door.js: a source's front door (docs/api.md "The front door") in
// the source forms and the sources list: the IP allow and deny lists (one
// address or CIDR block per line, sent as arrays; empty is []) and the rate
// limit (requests per second and burst; both blank is null, no limit). The
// server checks the entries and answers a 400 naming the field and the
// entry ("ip_allowlist[1]"), which the form shows on the list's box.
import { h, field } from './ui.js';
import { FieldError } from './forms.js';

const area = (path, list) => h('textarea', {
  'data-path': path, name: path, spellcheck: 'false', rows: 3,
  placeholder: 'one address or CIDR block per line', value: (list || []).join('\n'),
});
const number = (path, v, attrs) => h('input', {
  type: 'number', 'data-path': path, name: path, value: v === undefined || v === null ? '' : String(v), ...attrs,
});

// one entry a line (commas and spaces separate too); blank lines dropped,
// so that "ip_allowlist[i]" is the i-th entry written
export const lines = (text) => text.split(/[\s,]+/).filter(Boolean);

function numberOf(input, path) {
  const s = input.value.trim();
  if (s === '') return null;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new FieldError(path, 'must be a number');
  return n;
}

// The inputs, filled from source s (null: a new source). Returns {el,
// wanted}: wanted() gives {ip_allowlist, ip_denylist, rate_limit} as the
// user wants them (rate_limit null when both boxes are blank).
export function frontDoorFields(s) {
  const rl = s?.rate_limit || null;
  const allow = area('ip_allowlist', s?.ip_allowlist);
  const deny = area('ip_denylist', s?.ip_denylist);
  const rps = number('rate_limit.requests_per_second', rl?.requests_per_second, { min: '0.001', step: 'any', placeholder: 'no limit' });
  const burst = number('rate_limit.burst', rl?.burst, { min: '1', step: '1', placeholder: 'blank: the rate, rounded up' });
  const el = h('div', { class: 'form span front-door-fields' },
    h('h3', { class: 'label field wide' }, 'Front door'),
    field('IP allow list', allow, 'only these may post when not empty; e.g. 203.0.113.7 or 10.0.0.0/8'),
    field('IP deny list', deny, 'refused (403), checked first'),
    field('Rate limit (requests per second)', rps, '0.001 to 100000; blank: no limit; over it ingest answers 429'),
    field('Burst', burst, 'requests at once, 1 to 100000'));

  function wanted() {
    const r = numberOf(rps, 'rate_limit.requests_per_second');
    const b = numberOf(burst, 'rate_limit.burst');
    if (r === null && b !== null) throw new FieldError('rate_limit.requests_per_second', 'required with a burst (or clear both for no limit)');
    let rate = null;
    if (r !== null) rate = b === null ? { requests_per_second: r } : { requests_per_second: r, burst: b };
    return { ip_allowlist: lines(allow.value), ip_denylist: lines(deny.value), rate_limit: rate };
  }
  return { el, wanted };
}

// "allow 2 · deny 1 · 5/s burst 10", or '' when nothing is set
export function frontDoorSummary(s) {
  const parts = [];
  if (s.ip_allowlist?.length) parts.push(`allow ${s.ip_allowlist.length}`);
  if (s.ip_denylist?.length) parts.push(`deny ${s.ip_denylist.length}`);
  if (s.rate_limit) parts.push(`${s.rate_limit.requests_per_second}/s burst ${s.rate_limit.burst}`);
  return parts.join(' · ');
}

// the entries, for the summary's title
export function frontDoorTitle(s) {
  const out = [];
  if (s.ip_allowlist?.length) out.push('allow: ' + s.ip_allowlist.join(', '));
  if (s.ip_denylist?.length) out.push('deny: ' + s.ip_denylist.join(', '));
  if (s.rate_limit) out.push(`rate limit: ${s.rate_limit.requests_per_second} requests per second, burst ${s.rate_limit.burst}`);
  return out.join('\n');
}
