// forms.js: what the edit forms share. A form starts from the object as the
// API returned it, builds the object the user wants, and sends only the
// difference as a JSON merge patch (RFC 7386), so an untouched field (a
// masked secret above all) is not sent at all. A 400 is shown next to the
// form, naming the field, and the input stays as the user left it.
import { api } from './api.js';
import { h, toast, act } from './ui.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// JSON with sorted keys: the server and the form may order keys differently
function canon(v) {
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  if (isObj(v)) return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
  return JSON.stringify(v ?? null);
}
export const same = (a, b) => canon(a) === canon(b);

// The merge patch that turns before into after: changed members, nested
// objects as patches of their own, a member after lacks as null (removed).
export function mergePatch(before, after) {
  const patch = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    const old = before?.[k];
    if (isObj(v) && isObj(old)) {
      const sub = mergePatch(old, v);
      if (Object.keys(sub).length) patch[k] = sub;
    } else if (!same(old, v)) {
      patch[k] = v;
    }
  }
  for (const k of Object.keys(before || {})) {
    if (!(k in after) && before[k] !== null && before[k] !== undefined) patch[k] = null;
  }
  return patch;
}

// A mistake found before sending, reported like the API's 400.
export class FieldError extends Error {
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.status = 400;
    this.body = { field };
  }
}

export function parseJson(text, fieldName, empty) {
  if (!text.trim()) return empty;
  try { return JSON.parse(text); } catch (e) { throw new FieldError(fieldName, 'not valid JSON (' + e.message + ')'); }
}

// A number input's value; blank keeps what was there.
export function num(input, old) {
  const s = input.value.trim();
  return s === '' ? old : Number(s);
}

// Text input: trimmed, blank is null (the field is removed).
export function textOrNull(input) {
  const s = input.value.trim();
  return s === '' ? null : s;
}

// Show an error in slot and mark the input it is about: the one whose
// data-path is the longest prefix of the API's field ("config.headers.X"
// marks the headers box).
export function showError(slot, form, e) {
  for (const el of form.querySelectorAll('.invalid')) { el.classList.remove('invalid'); el.removeAttribute('aria-invalid'); }
  const fieldName = e.body?.field || '';
  slot.replaceChildren(h('p', { class: 'form-error', role: 'alert', 'data-field': fieldName || null }, e.message || String(e)));
  if (!fieldName) return;
  let best = null;
  for (const el of form.querySelectorAll('[data-path]')) {
    const p = el.dataset.path;
    const fits = fieldName === p || fieldName.startsWith(p + '.') || fieldName.startsWith(p + '[');
    if (fits && (!best || p.length > best.dataset.path.length)) best = el;
  }
  if (!best) return;
  best.classList.add('invalid');
  best.setAttribute('aria-invalid', 'true');
  best.focus();
}

// The API path of one resource ("sources", "connections", "destinations").
export const resourcePath = (kind, id) => '/v1/' + kind + '/' + encodeURIComponent(id);

// A form's submit: run() with the submit button disabled meanwhile; its
// error is shown in err (a 401 has signed out already).
export function onSubmit(form, { submit, err, run }) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    submit.disabled = true;
    try {
      await run();
    } catch (e) {
      if (e.status !== 401) showError(err, form, e);
    } finally {
      submit.disabled = false;
    }
  });
}

// The submit of an edit form: PATCH path with what patchBody() returns
// (nothing changed: just close), then saved(). what: "Source" for "Source
// saved".
export function onSavePatch(form, { submit, err, path, what, patchBody, saved, close }) {
  onSubmit(form, {
    submit, err,
    run: async () => {
      const body = patchBody();
      if (!Object.keys(body).length) { toast('Nothing changed'); close(); return; }
      await api('PATCH', path, body);
      toast(what + ' saved');
      saved();
    },
  });
}

// A button's PATCH (pause, enable...), then after().
export function patchThen(path, body, after) {
  return act(async () => {
    await api('PATCH', path, body);
    after();
  });
}

// A button's DELETE once the user confirmed question, then after().
export function deleteThen(question, path, what, after) {
  if (!window.confirm(question)) return;
  return act(async () => {
    await api('DELETE', path);
    toast(what + ' deleted');
    after();
  });
}
