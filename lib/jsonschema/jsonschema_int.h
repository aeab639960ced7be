/* lib/jsonschema/jsonschema_int.h — what the library's files share: the
 * compiled form, the pointer map that finds a subschema's compiled data, the
 * allocator, JSON equality, the ECMA-262 -> POSIX pattern translation and the
 * format checks. Not part of the public interface. */
#ifndef HS_JSONSCHEMA_INT_H
#define HS_JSONSCHEMA_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jsonschema/jsonschema.h"

#define JS_URI_CAP 1024

/* memory from jansson's allocator; aborts on failure (never returns NULL) */
void *js_alloc(size_t n);
/* the same, not zeroed */
void *js_alloc_raw(size_t n);
void js_free(void *p);
char *js_strdup(const char *s);
/* src into dst[cap], truncated */
void js_copy(char *dst, size_t cap, const char *src);

/* A JSON Pointer built as a walk goes down and up (compile: the schema's
 * location, validate: the instance's), truncated at its capacity. */
typedef struct js_path {
    char s[1024];
    size_t len;
} js_path;
/* Append one segment, escaped (~0, ~1); return the length before, for pop. */
size_t js_path_push(js_path *p, const char *seg);
size_t js_path_push_index(js_path *p, size_t i);
void js_path_pop(js_path *p, size_t old);

/* open-addressing map from a pointer to a pointer */
typedef struct js_map {
    const void **keys;
    void **vals;
    size_t cap, n;
} js_map;
void *js_map_get(const js_map *m, const void *k);
void js_map_put(js_map *m, const void *k, void *v);
void js_map_clear(js_map *m);

/* one patternProperties entry */
typedef struct js_pp {
    const char *key;
    const json_t *schema;
    regex_t re;
} js_pp;

/* what compilation keeps for one object schema */
typedef struct js_node {
    /* bit js_kw_bit(k) of each member k: a keyword whose bit is clear is
     * absent, and validation skips looking it up (most are absent) */
    uint64_t keys;
    const json_t *ref; /* the $ref target (object or boolean schema), or NULL */
    regex_t *pattern;  /* "pattern", or NULL */
    js_pp *pp;         /* "patternProperties" */
    size_t npp;
} js_node;

/* A cheap hash of a keyword's name into 0..63 (constant for a literal). */
static inline unsigned js_kw_bit(const char *k) {
    size_t len = strlen(k);
    return len ? (unsigned)((len * 7 + (unsigned char)k[0] * 3 + (unsigned char)k[len - 1]) & 63) : 0;
}
/* Member k of schema object s, whose node is n; NULL when absent. */
static inline const json_t *js_kw(const js_node *n, const json_t *s, const char *k) {
    return n->keys >> js_kw_bit(k) & 1 ? json_object_get(s, k) : NULL;
}

struct hs_jsonschema {
    json_t *root; /* the compiled copy of the schema document */
    int draft;
    hs_jsonschema_limits lim;
    js_map nodes; /* object schema -> js_node */
};

/* JSON equality as the spec defines it: numbers by value (1 == 1.0) */
bool js_equal(const json_t *a, const json_t *b);
/* number of Unicode code points in UTF-8 text */
size_t js_utf8_len(const char *s, size_t n);

/* ECMA-262 pattern -> POSIX ERE. 0 ok (out filled, NUL-terminated), -1 when
 * the pattern uses what has no translation (why says what), -2 when it is
 * not a valid pattern. */
int js_regex_translate(const char *src, size_t len, char *out, size_t cap, char *why, size_t whycap);
/* translate and regcomp (REG_EXTENDED | REG_NOSUB); same codes */
int js_regex_compile(regex_t *re, const char *src, size_t len, char *why, size_t whycap);

/* 1 when s (n bytes) is valid for the format, or the format is unknown */
bool js_format_ok(const char *format, const char *s, size_t n);

#endif
