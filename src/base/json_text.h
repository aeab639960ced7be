/* src/base/json_text.h — JSON strings for text hookstream did not produce. */
#ifndef HS_JSON_TEXT_H
#define HS_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

/* A new JSON string for s: json_null() when s is NULL; bytes that are not
 * valid UTF-8 are taken as Latin-1 characters, so a value is never dropped
 * and the output is always valid JSON. */
json_t *hs_json_text(const char *s);

/* Whether n bytes of s are strict UTF-8 (RFC 3629): no overlongs, no
 * surrogates, nothing past U+10FFFF. */
bool hs_utf8_valid(const char *s, size_t n);
/* How many of the n bytes of s, from the start, are valid UTF-8. */
size_t hs_utf8_prefix(const char *s, size_t n);
/* Every byte of the string s that is not part of valid UTF-8 becomes '?',
 * in place (NULL: nothing). */
void hs_utf8_fix(char *s);

/* ms since the epoch as an ISO 8601 JSON string; json null for 0 ("never"). */
json_t *hs_json_time(uint64_t ms);

/* Appends n bytes of s to b as a quoted JSON string, with the same rule for
 * bytes that are not UTF-8. For hot paths that build JSON without jansson. */
void hs_json_append_text(hs_buf *b, const char *s, size_t n);

#endif
