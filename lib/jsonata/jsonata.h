/* lib/jsonata/jsonata.h — a JSONata (https://jsonata.org) expression engine.
 *
 * Compile once, evaluate many times against jansson values. Every
 * evaluation runs inside its own arena with wall-time, memory and
 * recursion-depth limits (see docs/jsonata.md).
 */
#ifndef HS_JSONATA_H
#define HS_JSONATA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hs_jsonata hs_jsonata; /* a compiled expression; immutable, usable from any thread */
typedef struct hs_jsonata_error {
    char code[8]; /* JSONata error code: "S0201", "T2001", "D3001", "U1001" (limits) ... */
    int position; /* character offset in the expression, -1 when none */
    char message[256];
} hs_jsonata_error;
typedef struct hs_jsonata_limits {
    uint64_t max_ms;   /* wall time per evaluation, default 100 */
    size_t max_memory; /* bytes allocated by one evaluation, default 16 MiB */
    int max_depth;     /* recursion depth, default 200 */
} hs_jsonata_limits;
void hs_jsonata_limits_default(hs_jsonata_limits *l);
/* HS_OK, or HS_ERR_INVALID with err filled (syntax errors: code S0xxx and the position). expr length capped at 64 KiB.
 */
int hs_jsonata_compile(const char *expr, hs_jsonata **out, hs_jsonata_error *err);
void hs_jsonata_free(hs_jsonata *j);
/* Evaluate against input (may be NULL = undefined input). bindings: NULL or a JSON object whose members become
 * variables ($name). *out: a new reference, or NULL when the result is undefined. Returns HS_OK; HS_ERR_INVALID for
 * an evaluation error (err.code like T2001, D3001...); HS_ERR_TIMEOUT / HS_ERR_TOOBIG when a limit stopped it
 * (code U1001 time, U1002 memory, U1003 depth). Never crashes, never exceeds the limits by much, frees everything. */
int hs_jsonata_eval(const hs_jsonata *j, const json_t *input, const json_t *bindings, const hs_jsonata_limits *lim,
                    json_t **out, hs_jsonata_error *err);

#endif
