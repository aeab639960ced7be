/* src/base/jsonv.h — declarative validation of JSON objects.
 *
 * A spec is an array of hs_jv_field closed by an all-zero entry. For an
 * object, hs_jv_object():
 *   1. rejects members the spec does not name ("unknown field");
 *   2. for each field in spec order: an absent or null member is an error
 *      when required, else gets its default (dflt or derive) or is removed,
 *      so a validated object never carries a null it did not ask for;
 *   3. checks the JSON type, then length / range / item count, enum,
 *      character set, nested spec (objects) or item spec (arrays);
 *   4. runs the field's own check last, which may normalize the value in
 *      place with hs_jv_replace().
 * It stops at the first error: HS_ERR_INVALID (or what a check returns, e.g.
 * HS_ERR_UNSUPPORTED) with err->field the dotted path of the member
 * ("config.auth.token", "retry_policy.intervals[1]"). No global state:
 * thread-safe.
 * Defaults pass through the same checks, so a spec cannot fill in a value it
 * would reject.
 *
 * Fields later in a spec may rely on earlier ones being valid (a check can
 * read its siblings through at->parent). Objects are modified in place;
 * values handed to a check are borrowed and die if the check replaces them.
 */
#ifndef HS_JSONV_H
#define HS_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/url.h"

#define HS_JV_PATH_MAX HS_ERROR_FIELD_MAX
#define HS_JV_STRING_MAX 1024 /* cap on a string field whose spec gives none */
#define HS_JV_HEADERS_MAX 50
#define HS_JV_HEADER_VALUE_MAX 8192

typedef enum hs_jv_type {
    HS_JV_ANY = 0, /* any JSON value: the check decides */
    HS_JV_STRING,
    HS_JV_INT,
    HS_JV_BOOL,
    HS_JV_OBJECT,
    HS_JV_ARRAY,
} hs_jv_type;

enum {
    HS_JV_REQUIRED = 1u << 0, /* absent or null is an error */
    HS_JV_NO_CTL = 1u << 1,   /* string: no control characters (safe in a header) */
    HS_JV_NO_SPACE = 1u << 2, /* string: no whitespace or control characters */
    HS_JV_TRIMMED = 1u << 3,  /* string: not blank, no leading or trailing whitespace */
};

struct hs_jv_field;

/* Where a value sits: for checks that report errors or normalize. */
typedef struct hs_jv_at {
    json_t *parent;   /* object or array holding the value */
    const char *key;  /* member name, NULL for an array item */
    size_t index;     /* array index when key is NULL */
    const char *path; /* dotted path, for errors */
    const struct hs_jv_field *field;
} hs_jv_at;

typedef int (*hs_jv_check_fn)(const hs_jv_at *at, json_t *value, hs_error *err);
/* A default computed from the (already validated) earlier siblings. */
typedef json_t *(*hs_jv_derive_fn)(const json_t *parent);

typedef struct hs_jv_field {
    const char *name;
    hs_jv_type type;
    unsigned flags;
    /* string: length in characters (max 0 = HS_JV_STRING_MAX);
     * integer: inclusive range; array: item count, object: member count
     * (max 0 = unbounded) */
    long long min, max;
    const char *dflt;                 /* JSON text used when absent or null */
    hs_jv_derive_fn derive;           /* or a computed default */
    const char *const *choices;       /* string: allowed values, NULL-ended */
    const char *charset;              /* string: allowed bytes, ranges as "a-z0-9._-" */
    const struct hs_jv_field *fields; /* object: members (NULL = not checked) */
    const struct hs_jv_field *items;  /* array: each item (name unused) */
    hs_jv_check_fn check;             /* runs last */
    const void *arg;                  /* for the check (e.g. an id prefix) */
} hs_jv_field;

/* Shorthands for the common field shapes. */
/* clang-format off */
#define HS_JV_STR(n, fl, lo, hi) {.name = (n), .type = HS_JV_STRING, .flags = (fl), .min = (lo), .max = (hi)}
#define HS_JV_STRD(n, fl, lo, hi, d) \
    {.name = (n), .type = HS_JV_STRING, .flags = (fl), .min = (lo), .max = (hi), .dflt = (d)}
/* a string of the given characters only */
#define HS_JV_CHARS(n, fl, lo, hi, set) \
    {.name = (n), .type = HS_JV_STRING, .flags = (fl), .min = (lo), .max = (hi), .charset = (set)}
#define HS_JV_ENUM(n, list, d) {.name = (n), .type = HS_JV_STRING, .choices = (list), .dflt = (d)}
#define HS_JV_INTR(n, lo, hi, d) {.name = (n), .type = HS_JV_INT, .min = (lo), .max = (hi), .dflt = (d)}
#define HS_JV_BOOLEAN(n, d) {.name = (n), .type = HS_JV_BOOL, .dflt = (d)}
#define HS_JV_URL(n, fl) \
    {.name = (n), .type = HS_JV_STRING, .flags = (fl), .min = 1, .max = HS_URL_MAX, .check = hs_jv_check_url}
#define HS_JV_HEADER_NAME(n, d) \
    {.name = (n), .type = HS_JV_STRING, .min = 1, .max = 256, .dflt = (d), .check = hs_jv_check_header_name}
#define HS_JV_HEADERS(n, fl, lo, d) \
    {.name = (n), .type = HS_JV_OBJECT, .flags = (fl), .min = (lo), .dflt = (d), .check = hs_jv_check_headers}
/* a user name for HTTP Basic auth */
#define HS_JV_BASIC_USER(n, fl, hi) \
    {.name = (n), .type = HS_JV_STRING, .flags = (fl) | HS_JV_NO_CTL, .min = 1, .max = (hi), \
     .check = hs_jv_check_basic_user}
/* a secret or credential: kept exactly as given, safe to put in a header */
#define HS_JV_SECRET(n, fl, hi) HS_JV_STR(n, (fl) | HS_JV_NO_CTL, 1, hi)
#define HS_JV_END {0}
/* clang-format on */

/* Validate obj against spec in place; path is obj's own path ("" at top). */
int hs_jv_object(json_t *obj, const char *path, const hs_jv_field *spec, hs_error *err);
/* Validate the single member f->name of obj (steps 2-4 above). */
int hs_jv_member(json_t *obj, const char *path, const hs_jv_field *f, hs_error *err);
/* Both members or neither: names the missing one. */
int hs_jv_together(const json_t *obj, const char *path, const char *a, const char *b, hs_error *err);

/* Put value (reference stolen) where at points. */
void hs_jv_replace(const hs_jv_at *at, json_t *value);
/* path + "." + key, or key alone when path is empty; truncated to fit. */
void hs_jv_path_key(char out[HS_JV_PATH_MAX], const char *path, const char *key);
void hs_jv_path_index(char out[HS_JV_PATH_MAX], const char *path, size_t index);

/* RFC 7386 JSON merge patch: a new value, inputs untouched. */
json_t *hs_jv_merge_patch(const json_t *target, const json_t *patch);
/* Remove the members whose value equals the default their field derives
 * (recursing into nested specs), so that a merge patch followed by
 * validation derives them again from the patched siblings. */
void hs_jv_drop_derived(json_t *obj, const hs_jv_field *spec);

/* String value of member key, or NULL when absent or not a string. */
const char *hs_jv_str(const json_t *obj, const char *key);
/* The member at a dotted path of objects under root ("config.auth.key"),
 * or NULL when a step is missing or not an object. */
json_t *hs_jv_dig(const json_t *root, const char *dotted);
/* Characters (UTF-8 code points) in s[0..n). */
size_t hs_jv_utf8_len(const char *s, size_t n);
/* True when every byte of s[0..n) is in charset ("a-z0-9._-": ranges, and
 * a '-' first or last stands for itself). */
bool hs_jv_in_charset(const char *s, size_t n, const char *charset);
/* An HTTP token (RFC 9110 tchar), i.e. a valid header name. */
bool hs_jv_is_token(const char *s);

/* Checks for hs_jv_field.check. */
int hs_jv_check_url(const hs_jv_at *at, json_t *value, hs_error *err);
/* Header name: a token, and not one the HTTP client owns (Host,
 * Content-Length, Transfer-Encoding, Connection and other hop-by-hop ones). */
int hs_jv_check_header_name(const hs_jv_at *at, json_t *value, hs_error *err);
/* Object of header name -> string value: at most HS_JV_HEADERS_MAX, names
 * as above, unique case-insensitively, not X-hookstream-* (ours), values at
 * most HS_JV_HEADER_VALUE_MAX characters without control characters. */
int hs_jv_check_headers(const hs_jv_at *at, json_t *value, hs_error *err);
/* A user name for HTTP Basic auth: no ':' (RFC 7617). */
int hs_jv_check_basic_user(const hs_jv_at *at, json_t *value, hs_error *err);
/* String that is a valid id with prefix field->arg ("src_"). */
int hs_jv_check_id(const hs_jv_at *at, json_t *value, hs_error *err);

#endif
