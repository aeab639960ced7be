// signing.js: a destination's signing settings (docs/api.md, `signing`),
// in the create and edit forms and on the destination's page. The http
// provider signs each request; off is `signing: null`. The schemes:
//   hookstream         <header>: <prefix><hex HMAC of [<unix time>.]<body>>
//                      (sha256 or sha1), the time in <timestamp_header>
//                      when included;
//   standard_webhooks  webhook-id, webhook-timestamp, webhook-signature
//                      (HMAC-SHA256; the secret is "whsec_" + base64).
// The secret is never shown: the API returns it masked, the field starts
// empty with that masked value as its placeholder, and left empty it is not
// sent, so the server keeps the stored secret. "Generate" fills in a new
// random one, shown so that it can be copied to the receiver before saving.
import { h, field, select, button, kv, mono, time } from './ui.js';
import { onSubmit } from './forms.js';

const DEFAULTS = {
  scheme: 'hookstream', algorithm: 'sha256', header: 'X-hookstream-Signature',
  include_timestamp: false, timestamp_header: 'X-hookstream-Signature-Timestamp',
};
const SCHEMES = [['hookstream', 'hookstream'], ['standard_webhooks', 'Standard Webhooks']];
const STD_HEADERS = 'webhook-id, webhook-timestamp, webhook-signature';

const input = (path, attrs) => h('input', { type: 'text', 'data-path': path, name: path, spellcheck: 'false', ...attrs });
const checkbox = (path, checked) => h('input', { type: 'checkbox', 'data-path': path, name: path, checked });

// a secret of the scheme's form: 32 random bytes as hex, or whsec_ + base64
function newSecret(scheme) {
  const bytes = crypto.getRandomValues(new Uint8Array(scheme === 'standard_webhooks' ? 24 : 32));
  if (scheme === 'standard_webhooks') return 'whsec_' + btoa(String.fromCharCode(...bytes));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// The settings as inputs, filled from current (the destination's signing
// as read; null: off). Returns {el, wanted}: wanted() is null (off) or the
// signing object wanted, built over a copy of current, so that what the
// user did not change (the masked secret above all) compares equal and is
// left out of a merge patch.
export function signingFields(current) {
  const cur = current || null;
  const v = { ...DEFAULTS, ...(cur || {}) };
  const on = checkbox('signing', Boolean(cur));
  const scheme = select(SCHEMES, { 'data-path': 'signing.scheme', name: 'signing.scheme' });
  scheme.value = v.scheme;
  const secret = input('signing.secret', { type: 'password', autocomplete: 'new-password' });
  const secretHint = h('div', { class: 'hint' });
  let generated = false;
  const generate = button('Generate', () => {
    secret.value = newSecret(scheme.value);
    secret.type = 'text'; // a new secret, not the stored one: shown to be copied
    generated = true;
    sync();
  }, 'btn-sm', { title: 'fill in a new random secret' });
  secret.addEventListener('input', () => { generated = false; sync(); });

  const algorithm = select([['sha256', 'HMAC-SHA256'], ['sha1', 'HMAC-SHA1']], { 'data-path': 'signing.algorithm', name: 'signing.algorithm' });
  algorithm.value = v.algorithm;
  const header = input('signing.header', { value: v.header, placeholder: DEFAULTS.header });
  const prefix = input('signing.prefix', { value: v.prefix ?? v.algorithm + '=' });
  const withTs = checkbox('signing.include_timestamp', v.include_timestamp);
  const tsHeader = input('signing.timestamp_header', { value: v.timestamp_header, placeholder: DEFAULTS.timestamp_header });
  const tsField = field('Timestamp header', tsHeader, 'carries the Unix time that was signed; blank: the default');
  const hsGroup = h('div', { class: 'form span' },
    field('Algorithm', algorithm),
    field('Signature header', header, 'blank: the default'),
    field('Prefix', prefix, 'before the hex digest; may be empty'),
    h('div', { class: 'field' }, h('label', { class: 'check' }, withTs, 'Sign a timestamp too'), h('div', { class: 'hint' }, 'the HMAC is then of <unix time>.<body>')),
    tsField);
  const stdNote = h('div', { class: 'field wide hint' },
    `Sent as ${STD_HEADERS}: "v1," + base64 of HMAC-SHA256 of <id>.<timestamp>.<body>, keyed with the secret's bytes (the base64 after whsec_).`);

  // the prefix follows the algorithm while it is that algorithm's default
  let alg = algorithm.value;
  algorithm.addEventListener('change', () => {
    if (prefix.value === alg + '=') prefix.value = algorithm.value + '=';
    alg = algorithm.value;
  });

  const secretId = 'f' + Math.random().toString(36).slice(2);
  secret.id = secretId;
  const body = h('div', { class: 'form span signing-fields' },
    field('Scheme', scheme, 'hookstream: one header; Standard Webhooks: webhook-id, -timestamp, -signature'),
    h('div', { class: 'field' }, h('label', { for: secretId }, 'Secret'), h('div', { class: 'secret-row' }, secret, generate), secretHint),
    hsGroup, stdNote);

  function sync() {
    const hs = scheme.value === 'hookstream';
    body.hidden = !on.checked;
    hsGroup.hidden = !hs;
    stdNote.hidden = hs;
    tsField.hidden = !withTs.checked;
    const stored = cur?.secret;
    secret.placeholder = stored ? `${stored} (leave blank to keep)` : hs ? '16 to 1024 characters' : 'whsec_ + base64 of 16 bytes or more';
    secretHint.textContent = generated ? 'new: copy it to the receiver now; once saved it is only shown masked'
      : secret.value ? 'replaces the stored secret when saved'
        : stored ? 'stored, masked; blank keeps it' : 'required: the receiver checks signatures with it';
  }
  on.addEventListener('change', sync);
  withTs.addEventListener('change', sync);
  scheme.addEventListener('change', () => {
    if (generated) secret.value = newSecret(scheme.value); // a generated one fits its scheme
    sync();
  });
  sync();

  function wanted() {
    if (!on.checked) return null;
    const w = cur ? structuredClone(cur) : {};
    w.scheme = scheme.value;
    if (secret.value !== '') w.secret = secret.value;
    if (w.scheme === 'hookstream') {
      w.algorithm = algorithm.value;
      w.prefix = prefix.value;
      w.include_timestamp = withTs.checked;
      // a blank header name is the default: removed, the server fills it in
      for (const [k, el] of [['header', header], ['timestamp_header', tsHeader]]) {
        if (el.value.trim()) w[k] = el.value.trim(); else delete w[k];
      }
    } else {
      w.algorithm = 'sha256'; // the only one the scheme has
    }
    return w;
  }

  const el = h('div', { class: 'form span' },
    h('div', { class: 'field wide' }, h('label', { class: 'check' }, on, 'Sign each request (HMAC), so the receiver can check it came from here'), h('div', { class: 'hint' }, 'docs/receiving.md shows how a receiver checks it')),
    body);
  return { el, wanted };
}

// The destination page's card: what a receiver needs to check a delivery.
// The secret is shown as the API gave it, masked; anything else (which the
// API never sends) would be shown as ******** all the same.
export function signingView(s) {
  if (!s) return h('p', { class: 'muted' }, 'Off: requests are sent unsigned. Edit the destination to sign them.');
  const masked = typeof s.secret === 'string' && s.secret.startsWith('********') ? s.secret : '********';
  const secret = h('span', { class: 'masked', id: 'signing-secret', title: 'secret, masked by the server' }, masked);
  // a rotation's overlap: the old secret signs too until then (docs/api.md)
  const until = s.previous_secret_expires_at;
  const previous = s.previous_secret && until && Date.parse(until) > Date.now()
    ? [['Previous secret', h('span', { id: 'signing-previous' }, h('span', { class: 'masked' }, s.previous_secret), ' also signs until ', time(until))]]
    : [];
  if (s.scheme === 'standard_webhooks') {
    return kv([
      ['Scheme', 'Standard Webhooks'],
      ['Secret', secret],
      ...previous,
      ['Headers', mono(STD_HEADERS)],
      ['Signed', 'HMAC-SHA256 of <webhook-id>.<webhook-timestamp>.<body>, as v1,<base64>' + (previous.length ? '; both signatures, space-separated' : '')],
    ]);
  }
  const alg = s.algorithm || DEFAULTS.algorithm;
  return kv([
    ['Scheme', 'hookstream'],
    ['Secret', secret],
    ...previous,
    ['Header', mono(`${s.header || DEFAULTS.header}: ${s.prefix ?? alg + '='}<hex>` + (previous.length ? `, ${s.prefix ?? alg + '='}<hex of the previous>` : ''))],
    ['Signed', `HMAC-${alg.toUpperCase()} of ${s.include_timestamp ? '<unix time>.<body>' : 'the body'}`],
    s.include_timestamp ? ['Timestamp header', mono(s.timestamp_header || DEFAULTS.timestamp_header)] : ['Timestamp', 'not signed'],
  ]);
}

const OVERLAPS = [['86400', '24 hours'], ['3600', '1 hour'], ['604800', '7 days'], ['0', 'no overlap: switch now']];

// "Rotate secret": a new secret (typed, or made by the server and shown
// once), the old one signing beside it for the overlap chosen.
// POST /v1/destinations/:id/rotate-secret; done(rotated) after.
export function rotateForm(d, post, { done, close }) {
  const secret = h('input', { type: 'text', name: 'secret', 'data-path': 'secret', spellcheck: 'false', autocomplete: 'off',
    placeholder: d.signing?.scheme === 'standard_webhooks' ? 'blank: whsec_… made by the server' : 'blank: made by the server' });
  const overlap = select(OVERLAPS, { name: 'expire_old_after_s', 'data-path': 'expire_old_after_s' });
  const err = h('div', { class: 'field wide' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Rotate');
  const form = h('form', { class: 'form', id: 'rotate-secret-form', novalidate: true },
    field('New secret', secret, 'shown once if the server makes it'),
    field('Old secret keeps signing for', overlap, 'deliveries carry both signatures meanwhile, the new one first'),
    h('div', { class: 'form-actions' }, submit, button('Cancel', close, 'btn-ghost')),
    err);
  onSubmit(form, {
    submit, err,
    run: async () => {
      const body = { expire_old_after_s: Number(overlap.value) };
      if (secret.value.trim()) body.secret = secret.value.trim();
      done(await post(body));
    },
  });
  return form;
}
