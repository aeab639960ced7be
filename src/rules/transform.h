/* src/rules/transform.h — the JSONata transforms of connections and destinations.
 *
 * The expression sees the event's parsed JSON body as its input ($; undefined
 * when the body is not JSON) and the variables $headers (the received
 * headers, names lowercased), $event_id, $source_id and $inputs (a template
 * destination's template_inputs; {} otherwise). A destination's transform
 * (its payload shape) runs on the output of the connection's, if any. Its result, as JSON
 * text, replaces the body sent to the destination. Each evaluation runs with
 * the engine's time, memory and depth limits; an error or an undefined
 * result fails that attempt with the reason, never the server.
 */
#ifndef HS_TRANSFORM_H
#define HS_TRANSFORM_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"
#include "jsonata/jsonata.h"

/* Compile expr; on a syntax error fill err (code HS_ERR_INVALID, field path,
 * a message with the JSONata code and position). */
int hs_transform_compile(const char *expr, const char *path, hs_jsonata **out, hs_error *err);

/* What an expression can read besides its input; every member may be NULL. */
typedef struct hs_transform_vars {
    const char *headers_json; /* the received headers, a JSON object */
    const char *event_id;
    const char *source_id;
    const json_t *inputs; /* $inputs */
} hs_transform_vars;

/* Run tf for one event. body/len: the body (raw, or an earlier transform's
 * output). *out: the result as compact JSON text (hs_free).
 * Errors: HS_ERR_INVALID (evaluation error or undefined result),
 * HS_ERR_TIMEOUT / HS_ERR_TOOBIG (limits), with err->msg saying which. */
int hs_transform_run(const hs_jsonata *tf, const char *body, size_t len, const hs_transform_vars *vars, char **out,
                     hs_error *err);

/* The engine's return code (HS_JSONATA_*) as an hs_err code: HS_OK,
 * HS_ERR_INVALID (syntax or evaluation error), HS_ERR_TIMEOUT (time limit),
 * HS_ERR_TOOBIG (memory or depth limit). */
int hs_transform_err(int jsonata_rc);

/* The JSONata error as one human line: "T2001 at position 3: ..." */
void hs_transform_describe(const hs_jsonata_error *je, char *buf, size_t cap);

#endif
