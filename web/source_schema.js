// source_schema.js: a source's JSON Schema for the bodies it takes
// (docs/api.md "JSON Schema") in the source forms: on or off, and the
// schema as JSON text. Text that is not JSON is refused in the page, on the
// box; the server compiles the schema and names where it fails in a 400.
// A body that does not match is refused 422 at ingest (reject), or stored,
// delivered and marked schema_invalid (warn).
import { h, field, select } from './ui.js';
import { parseJson } from './forms.js';

// The inputs, filled from source s (null: a new source). Returns {el,
// wanted}: wanted() gives {schema_validation_enabled, json_schema,
// schema_action}.
export function schemaFields(s) {
  const enabled = h('input', { type: 'checkbox', name: 'schema_validation_enabled', 'data-path': 'schema_validation_enabled' });
  enabled.checked = !!s?.schema_validation_enabled;
  const text = h('textarea', {
    name: 'json_schema', 'data-path': 'json_schema', rows: 5, spellcheck: 'false', class: 'mono',
    placeholder: '{"type": "object", "required": ["id"]}',
    value: s?.json_schema == null ? '' : JSON.stringify(s.json_schema, null, 2),
  });
  const action = select([['reject', 'Refuse it (422, with where)'], ['warn', 'Take it, marked schema invalid']],
    { name: 'schema_action', 'data-path': 'schema_action' });
  action.value = s?.schema_action || 'reject';
  const el = h('div', { class: 'form span schema-fields' },
    h('h3', { class: 'label field wide' }, 'JSON Schema'),
    field('Validate bodies', enabled, 'check each body against the schema'),
    field('A body that does not match', action),
    field('Schema', text, 'drafts 4, 6 and 7; local $ref only', true));
  const wanted = () => ({
    schema_validation_enabled: enabled.checked,
    json_schema: parseJson(text.value, 'json_schema', null),
    schema_action: action.value,
  });
  return { el, wanted };
}
