/* lib/jsonata/jsonata.h — a JSONata (https://jsonata.org) expression engine.
 *
 * Compile once, evaluate many times against jansson values. Every
 * evaluation runs inside its own arena with wall-time, memory and
 * recursion-depth limits (see docs/jsonata.md).
 *
 * A self-contained library: it needs libc, libm and jansson, nothing of the
 * server. Its functions return the codes below (the server's adapter,
 * src/rules/transform.c, maps them to its own). A failed allocation aborts
 * the process, as the server's allocator does. Thread-safe: a compiled
 * expression is read-only, every evaluation has its own state.
 */
#ifndef HS_JSONATA_H
#define HS_JSONATA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* return codes */
enum {
    HS_JSONATA_OK = 0,
    HS_JSONATA_EINVAL = -1, /* a syntax or evaluation error (err.code S0xxx, T..., D...) */
    HS_JSONATA_ETIME = -2,  /* the time limit stopped it (U1001) */
    HS_JSONATA_ELIMIT = -3, /* the memory (U1002) or depth (U1003) limit stopped it */
};

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
/* HS_JSONATA_OK, or HS_JSONATA_EINVAL with err filled (syntax errors: code S0xxx and the position). expr length capped
 * at 64 KiB.
 */
int hs_jsonata_compile(const char *expr, hs_jsonata **out, hs_jsonata_error *err);
void hs_jsonata_free(hs_jsonata *j);
/* Evaluate against input (may be NULL = undefined input). bindings: NULL or a JSON object whose members become
 * variables ($name). *out: a new reference, or NULL when the result is undefined. Returns HS_JSONATA_OK;
 * HS_JSONATA_EINVAL for an evaluation error (err.code like T2001, D3001...); HS_JSONATA_ETIME (code U1001) or
 * HS_JSONATA_ELIMIT (U1002 memory, U1003 depth) when a limit stopped it. Never crashes, never exceeds the limits by
 * much, frees everything. */
int hs_jsonata_eval(const hs_jsonata *j, const json_t *input, const json_t *bindings, const hs_jsonata_limits *lim,
                    json_t **out, hs_jsonata_error *err);

#endif
