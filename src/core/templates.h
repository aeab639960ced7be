/* src/core/templates.h — destination templates (docs/templates.md).
 *
 * A template is a prefilled http destination for one service (Slack,
 * PagerDuty, ...): URL, method, headers, auth, and a JSONata payload shape
 * (the destination's `transform`) that turns an event into the body the
 * service documents. It asks the user for a few inputs:
 *
 *   - config inputs (a webhook URL, an API key) are written into the config
 *     where the template has a "{name}" placeholder, and are not kept
 *     anywhere else: afterwards the config is the one place to change them;
 *   - payload inputs (a PagerDuty routing key, a Linear team id) are kept in
 *     the destination's `template_inputs` and read by the payload shape as
 *     `$inputs.<name>`; secret ones are masked on read like other secrets.
 *
 * Expansion happens once, at create: the template's destination doc, with
 * the user's body merged over it (RFC 7386), so explicit fields override.
 */
#ifndef HS_TEMPLATES_H
#define HS_TEMPLATES_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"

typedef struct hs_template_input {
    const char *name;
    const char *description;
    bool required;
    bool secret;
    bool payload;               /* kept in template_inputs (else: substituted into config) */
    const char *overridden_by;  /* config inputs: the field that replaces it ("config.url") */
    const char *dflt;           /* NULL: no default */
    const char *const *choices; /* NULL: free text */
} hs_template_input;

typedef struct hs_template {
    const char *name, *title, *description, *docs_url;
    const char *config_json;         /* the http config, with "{input}" placeholders */
    const char *transform;           /* the payload shape (JSONata) */
    const hs_template_input *inputs; /* ended by an entry with name NULL */
} hs_template;

const hs_template *hs_template_find(const char *name);
/* All templates, NULL-terminated. */
const hs_template *const *hs_template_all(void);
/* Names, NULL-terminated (for validation's list of choices). */
const char *const *hs_template_names(void);

/* The public description of t, as GET /v1/destination-templates shows it. */
json_t *hs_template_json(const hs_template *t);

/* body is a destination create body (aliases resolved) that names a
 * template: *out = the template's destination doc with body merged over it,
 * template_inputs reduced to the payload inputs (defaults filled). Errors
 * name the input ("template_inputs.routing_key"). */
int hs_template_expand(const json_t *body, json_t **out, hs_error *err);

/* Checks a stored doc's template_inputs against its template (a payload
 * input each, the required ones present); path is "template_inputs". */
int hs_template_check_inputs(const char *template_name, json_t *inputs, const char *path, hs_error *err);

#endif
