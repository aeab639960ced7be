/* src/api/transforms.c — POST /v1/transforms/test: try a JSONata expression on
 * an input before saving it on a connection (threadpool). */
#include <string.h>

#include "api/call.h"
#include "jsonata/jsonata.h"
#include "rules/transform.h"

/* The JSONata code and position go into the error body as members too. */
static void fail_jsonata(hs_api_call *c, int code, const char *field, const hs_jsonata_error *je) {
    char what[300];
    hs_transform_describe(je, what, sizeof what);
    hs_api_failf(c, code, field, "%s", what);
    c->err_more = json_pack("{s:s, s:i}", "code", je->code, "position", je->position);
}

void hs_api_transforms_test(hs_api_call *c) {
    json_t *body;
    if (hs_api_json_body(c, &body)) return;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        if (strcmp(key, "expression") && strcmp(key, "input") && strcmp(key, "bindings")) {
            hs_api_failf(c, HS_ERR_INVALID, key, "%s", "is not a member (expression, input, bindings)");
            json_decref(body); /* after: key lives in it */
            return;
        }
    }
    const char *expr = json_string_value(json_object_get(body, "expression"));
    json_t *bindings = json_object_get(body, "bindings");
    if (!expr || !*expr) {
        json_decref(body);
        return hs_api_failf(c, HS_ERR_INVALID, "expression", "%s", "is required: a JSONata expression");
    }
    if (bindings && !json_is_object(bindings)) {
        json_decref(body);
        return hs_api_failf(c, HS_ERR_INVALID, "bindings", "%s", "must be an object of variables");
    }
    hs_jsonata_error je;
    memset(&je, 0, sizeof je);
    hs_jsonata *j = NULL;
    if (hs_jsonata_compile(expr, &j, &je) != HS_JSONATA_OK) {
        json_decref(body);
        return fail_jsonata(c, HS_ERR_INVALID, "expression", &je);
    }
    hs_jsonata_limits lim;
    hs_jsonata_limits_default(&lim);
    json_t *out = NULL;
    int rc = hs_jsonata_eval(j, json_object_get(body, "input"), bindings, &lim, &out, &je);
    hs_jsonata_free(j);
    json_decref(body);
    /* a well-formed expression that fails on this input: 422 */
    if (rc != HS_JSONATA_OK) return fail_jsonata(c, HS_ERR_UNSUPPORTED, "", &je);
    c->status = 200;
    c->body = out ? json_pack("{s:o}", "output", out) : json_pack("{s:b}", "output_undefined", 1);
}
