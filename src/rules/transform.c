/* src/rules/transform.c — connection and destination transforms on the JSONata
 * engine (lib/jsonata), and the one place its return codes become hs_err codes. */
#include "rules/transform.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

int hs_transform_err(int jsonata_rc) {
    switch (jsonata_rc) {
    case HS_JSONATA_OK: return HS_OK;
    case HS_JSONATA_ETIME: return HS_ERR_TIMEOUT;
    case HS_JSONATA_ELIMIT: return HS_ERR_TOOBIG;
    default: return HS_ERR_INVALID;
    }
}

void hs_transform_describe(const hs_jsonata_error *je, char *buf, size_t cap) {
    if (je->position >= 0)
        snprintf(buf, cap, "%s at position %d: %s", je->code, je->position, je->message);
    else
        snprintf(buf, cap, "%s: %s", je->code, je->message);
}

int hs_transform_compile(const char *expr, const char *path, hs_jsonata **out, hs_error *err) {
    hs_jsonata_error je;
    memset(&je, 0, sizeof je);
    hs_jsonata *j = NULL;
    if (hs_jsonata_compile(expr, &j, &je) != HS_JSONATA_OK) {
        char what[300];
        hs_transform_describe(&je, what, sizeof what);
        return hs_error_set(err, HS_ERR_INVALID, path, "is not a valid JSONata expression: %s", what);
    }
    if (out)
        *out = j;
    else
        hs_jsonata_free(j);
    return HS_OK;
}

int hs_transform_run(const hs_jsonata *tf, const char *body, size_t len, const hs_transform_vars *vars, char **out,
                     hs_error *err) {
    *out = NULL;
    json_t *input = body ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *headers = vars->headers_json ? json_loads(vars->headers_json, 0, NULL) : NULL;
    json_t *bindings = json_object();
    json_object_set_new(bindings, "headers", headers ? headers : json_object());
    json_object_set_new(bindings, "event_id", json_string(vars->event_id ? vars->event_id : ""));
    json_object_set_new(bindings, "source_id", json_string(vars->source_id ? vars->source_id : ""));
    json_object_set_new(bindings, "inputs",
                        json_is_object(vars->inputs) ? json_deep_copy(vars->inputs) : json_object());
    hs_jsonata_limits lim;
    hs_jsonata_limits_default(&lim);
    hs_jsonata_error je;
    memset(&je, 0, sizeof je);
    json_t *result = NULL;
    int rc = hs_transform_err(hs_jsonata_eval(tf, input, bindings, &lim, &result, &je));
    json_decref(input);
    json_decref(bindings);
    if (rc != HS_OK) {
        char what[300];
        hs_transform_describe(&je, what, sizeof what);
        return hs_error_set(err, rc, NULL, "transform failed: %s", what);
    }
    if (!result) return hs_error_set(err, HS_ERR_INVALID, NULL, "%s", "transform failed: its result is undefined");
    *out = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(result);
    return HS_OK;
}
