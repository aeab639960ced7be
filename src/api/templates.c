/* src/api/templates.c — GET /v1/destination-templates[/:name]: what each
 * template asks for and what it fills in (src/core/templates.h). */
#include "api/call.h"
#include "core/templates.h"

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
