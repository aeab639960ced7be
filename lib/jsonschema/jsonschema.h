/* lib/jsonschema/jsonschema.h — a JSON Schema validator (drafts 4, 6 and 7).
 *
 * Compile a schema (a jansson value) once into an immutable compiled form,
 * then validate any number of instances against it, from any thread: a
 * compiled schema is read-only, every validation keeps its state on the
 * caller's stack. Compilation enforces hard limits (document size and depth,
 * number of subschemas, pattern size) and refuses what it cannot honour
 * (remote $ref, ECMA-262 patterns with no POSIX translation) with a clear
 * message; validation is bounded in depth and steps, so a hostile schema
 * cannot stall the thread. See lib/jsonschema/README.md.
 *
 * A self-contained library: libc, libm and jansson. It allocates through
 * jansson's allocator (json_get_alloc_funcs, which the server points at
 * hs_malloc) and aborts when that fails, as the server's allocator does.
 * Ownership: compile deep-copies the schema; the caller keeps its own.
 */
#ifndef HS_JSONSCHEMA_H
#define HS_JSONSCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* return codes */
enum {
    HS_JSONSCHEMA_OK = 0,
    HS_JSONSCHEMA_EINVAL = -1,       /* compile: the schema is not a valid schema */
    HS_JSONSCHEMA_EUNSUPPORTED = -2, /* compile: valid, but uses what this library refuses (remote $ref...) */
    HS_JSONSCHEMA_ELIMIT = -3,       /* compile: a size limit; validate: the depth/step limit or a $ref cycle */
};

typedef struct hs_jsonschema hs_jsonschema; /* a compiled schema; immutable, usable from any thread */

typedef struct hs_jsonschema_limits {
    size_t max_values;     /* JSON values in the schema document, default 100000 */
    int max_depth;         /* nesting depth of the schema document, default 128 */
    size_t max_subschemas; /* schemas (objects and booleans) in the document, default 20000 */
    size_t max_pattern;    /* bytes of one pattern or patternProperties key, default 1024 */
    int max_eval_depth;    /* nested subschema evaluations during one validation, default 256 */
    size_t max_steps;      /* subschema evaluations and comparisons per validation, default 1000000 */
    int default_draft;     /* 4, 6 or 7 when "$schema" names none of them; default 7 */
} hs_jsonschema_limits;
void hs_jsonschema_limits_default(hs_jsonschema_limits *l);

/* One error: path is a JSON Pointer ("" = the root) into the instance
 * (validation) or into the schema (compilation). Both are truncated to fit. */
typedef struct hs_jsonschema_error {
    char path[256];
    char message[256];
} hs_jsonschema_error;

#define HS_JSONSCHEMA_MAX_ERRORS 16
typedef struct hs_jsonschema_result {
    int valid;      /* 1 valid, 0 invalid */
    size_t nerrors; /* entries used in errors[] */
    int truncated;  /* 1 when more errors were found than errors[] holds */
    hs_jsonschema_error errors[HS_JSONSCHEMA_MAX_ERRORS];
} hs_jsonschema_result;

/* HS_JSONSCHEMA_OK and *out (free with hs_jsonschema_free), or an error code
 * with err filled (err may be NULL). lim may be NULL for the defaults. */
int hs_jsonschema_compile(const json_t *schema, const hs_jsonschema_limits *lim, hs_jsonschema **out,
                          hs_jsonschema_error *err);
/* HS_JSONSCHEMA_OK with res->valid 1 or 0 and the errors that made it
 * invalid; HS_JSONSCHEMA_ELIMIT (res->valid 0, the reason in errors[0])
 * when the evaluation depth or step limit, or a $ref cycle that consumes no
 * input, stopped it. */
int hs_jsonschema_validate(const hs_jsonschema *s, const json_t *instance, hs_jsonschema_result *res);
/* the draft the schema was compiled as: 4, 6 or 7 */
int hs_jsonschema_draft(const hs_jsonschema *s);
void hs_jsonschema_free(hs_jsonschema *s);

#endif
