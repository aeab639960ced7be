/* src/api/templates.c — GET /v1/destination-templates[/:name]: what each
 * template asks for and what it fills in (src/core/templates.h); GET
 * /v1/source-templates[/:name]: the senders a source can verify
 * (src/verify/verify.h). */
#include "api/call.h"
#include "core/templates.h"
#include "verify/verify.h"

void hs_api_templates_list(hs_api_call *c) {
    json_t *items = json_array();
    for (const hs_template *const *t = hs_template_all(); *t; t++) json_array_append_new(items, hs_template_json(*t));
    c->status = 200;
    c->body = hs_api_list_body("templates", items, false);
}

void hs_api_templates_get(hs_api_call *c) {
    const hs_template *t = hs_template_find(c->param);
    if (!t) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no destination template named %s", c->param);
    c->status = 200;
    c->body = hs_template_json(t);
}

void hs_api_source_templates_list(hs_api_call *c) {
    json_t *items = json_array();
    for (const hs_verify_template *const *t = hs_verify_templates(); *t; t++)
        json_array_append_new(items, hs_verify_template_json(*t));
    c->status = 200;
    c->body = hs_api_list_body("templates", items, false);
}

void hs_api_source_templates_get(hs_api_call *c) {
    const hs_verify_template *t = hs_verify_template_find(c->param);
    if (!t) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no source template named %s", c->param);
    c->status = 200;
    c->body = hs_verify_template_json(t);
}
