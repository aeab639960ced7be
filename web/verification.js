// verification.js: a source's sender signature settings (docs/verification.md)
// in the source forms: the template (the sender, from GET
// /v1/source-templates), whether to verify, the scheme, the secret and the
// others accepted during a rotation (one a line), the header and the
// format overrides. A blank scheme or header is the template's; the secret
// shows masked on edit and is sent only when changed (forms.js sends the
// difference). The server checks everything and names the field in a 400,
// which the form shows on its input.
import { h, field, select } from './ui.js';
import { api } from './api.js';
import { FieldError } from './forms.js';

const SCHEMES = ['hmac_sha256', 'hmac_sha1', 'standard_webhooks', 'stripe', 'slack', 'paddle', 'svix', 'twilio',
  'sendgrid', 'linear', 'basic_auth', 'none'];

let templates = null; // GET /v1/source-templates, once per page load
const loadTemplates = () => (templates ||= api('GET', '/v1/source-templates').then((r) => r.templates).catch(() => []));

const text = (path, value, placeholder, type = 'text') =>
  h('input', { type, 'data-path': path, name: path, value: value ?? '', placeholder, autocomplete: 'off', spellcheck: 'false' });

// The inputs, filled from source s (null: a new source). Returns {el,
// wanted}: wanted() gives the verification fields as the user wants them.
export function verificationFields(s) {
  const cfg = s?.verification_config || {};
  const template = select([['', 'none']], { name: 'template', 'data-path': 'template' });
  const enabled = h('input', { type: 'checkbox', name: 'verification_enabled', 'data-path': 'verification_enabled' });
  enabled.checked = !!s?.verification_enabled;
  const type = select([['', '(the template\'s)'], ...SCHEMES.map((x) => [x, x])], { name: 'verification_type', 'data-path': 'verification_type' });
  type.value = s?.verification_type || '';
  const secret = text('verification_secret', s?.verification_secret, 'the secret the sender shows you');
  const others = h('textarea', {
    'data-path': 'verification_secrets', name: 'verification_secrets', rows: 2, spellcheck: 'false',
    placeholder: 'during a rotation: the old secret(s), one a line', value: (s?.verification_secrets || []).join('\n'),
  });
  const header = text('verification_header', s?.verification_header, 'blank: the template\'s or scheme\'s');
  const encoding = select([['', '(default)'], ['hex', 'hex'], ['base64', 'base64']], { name: 'verification_config.encoding', 'data-path': 'verification_config.encoding' });
  encoding.value = cfg.encoding || '';
  const prefix = text('verification_config.prefix', cfg.prefix, 'e.g. sha256=');
  const tolerance = h('input', {
    type: 'number', min: '0', max: '86400', step: '1', name: 'verification_config.tolerance_s',
    'data-path': 'verification_config.tolerance_s', value: cfg.tolerance_s ?? '', placeholder: 'default',
  });
  const about = h('div', { class: 'hint verification-about' });

  const describe = (list) => {
    const t = list.find((x) => x.name === template.value);
    about.textContent = t ? `${t.title}: ${t.note}. Secret: ${t.secret}.` : 'No template: choose a scheme to verify with.';
  };
  let loaded = false; // until the list is there, the template stays as it was
  loadTemplates().then((list) => {
    loaded = true;
    template.append(...list.map((t) => h('option', { value: t.name }, t.title)));
    template.value = s?.template || '';
    describe(list);
  });
  template.addEventListener('change', async () => {
    const list = await loadTemplates();
    const t = list.find((x) => x.name === template.value);
    if (t && !s) enabled.checked = t.secret_required; // a new source: a signing template turns it on
    describe(list);
  });

  const el = h('div', { class: 'form span verification-fields' },
    h('h3', { class: 'label field wide' }, 'Sender signature'),
    field('Template', template, 'the sender: fills in the scheme and header'),
    field('Verify signatures', enabled, 'refuse (401) what the sender did not sign'),
    field('Scheme', type), field('Secret', secret, 'masked once saved; encrypted at rest'),
    field('Also accepted', others, 'rotation: old secrets still accepted'),
    field('Signature header', header),
    field('Encoding', encoding, 'hmac_sha256 and hmac_sha1 only'), field('Prefix', prefix, 'hmac_sha256 and hmac_sha1 only'),
    field('Timestamp tolerance (s)', tolerance, 'schemes that sign a timestamp; 0: not checked'),
    h('div', { class: 'field wide' }, about));

  function wanted() {
    const config = {};
    if (encoding.value) config.encoding = encoding.value;
    if (prefix.value !== '') config.prefix = prefix.value;
    if (tolerance.value.trim() !== '') {
      const n = Number(tolerance.value);
      if (!Number.isInteger(n)) throw new FieldError('verification_config.tolerance_s', 'must be a whole number of seconds');
      config.tolerance_s = n;
    }
    const list = others.value.split('\n').map((x) => x.trim()).filter(Boolean);
    return {
      template: loaded ? template.value || null : s?.template ?? null,
      verification_enabled: enabled.checked,
      verification_type: type.value || null,
      verification_secret: secret.value.trim() || null,
      verification_secrets: list.length ? list : null,
      verification_header: header.value.trim() || null,
      verification_config: config,
    };
  }
  return { el, wanted };
}

// "stripe" / "hmac_sha256" when the source verifies, else ''
export const verificationSummary = (s) => (s.verification_enabled ? `signed: ${s.template || s.verification_type}` : '');

// For a new source: only what the user set (the server fills in the rest).
export function setOnly(v) {
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === false || (typeof x === 'object' && !Array.isArray(x) && !Object.keys(x).length)) continue;
    out[k] = x;
  }
  return out;
}
