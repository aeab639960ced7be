/* src/http/query.h — URL query strings and percent-decoding. */
#ifndef HS_QUERY_H
#define HS_QUERY_H

#include <stddef.h>

#include "base/error.h"

#define HS_QUERY_MAX_PARAMS 32

typedef struct hs_query {
    size_t n;
    char *keys[HS_QUERY_MAX_PARAMS];
    char *values[HS_QUERY_MAX_PARAMS];
} hs_query;

/* Parse "a=1&b=x%20y" (form-style: '+' is a space). Duplicate keys, more
 * than HS_QUERY_MAX_PARAMS pairs and bad escapes are HS_ERR_INVALID.
 * q is filled even on error (free it). */
int hs_query_parse(const char *s, hs_query *q, hs_error *err);
void hs_query_free(hs_query *q);
const char *hs_query_get(const hs_query *q, const char *key);
/* Every key must be in the NULL-terminated allowed list. */
int hs_query_only(const hs_query *q, const char *const *allowed, hs_error *err);

/* Percent-decode n bytes of s into a new string (hs_free); plus_is_space for
 * query strings. NULL on a bad escape or an encoded NUL. */
char *hs_percent_decode(const char *s, size_t n, int plus_is_space);

#endif
