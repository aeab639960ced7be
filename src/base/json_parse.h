/* src/base/json_parse.h — a strict JSON parser (RFC 8259) into jansson
 * values, for the bodies ingest reads on the hot path (a source's JSON
 * Schema, a body_field dedup key, payload filter rules).
 *
 * Why not json_loadb: jansson reads its input a byte at a time through a
 * stream and copies every token into a buffer before it builds the value;
 * for a webhook body of a few hundred bytes that was ~3 µs of the ~4 its
 * parse took, the tree itself under one (bench/frontdoor_cost). This one
 * scans the buffer in place and builds the same values.
 *
 * It accepts and refuses what json_loadb(JSON_DECODE_ANY) does: any value
 * at the top, surrounded by JSON whitespace only; strings of valid UTF-8
 * (no overlongs, no surrogates, nothing past U+10FFFF), escapes with
 * surrogate pairs, no raw control characters and no \u0000; integers
 * without fraction or exponent as json_integer (one that does not fit a
 * json_int_t is refused), other numbers as json_real (an overflow refused);
 * nesting at most HS_JSON_DEPTH_MAX; a repeated key keeps its last value.
 * Differences, on purpose, all about NUL bytes outside strings, which are
 * refused here where they stand: jansson takes a NUL after the value for
 * the end of its input and ignores the rest, so a body "{...}\0<anything>"
 * would be validated on its first part only ("end of input expected"
 * here); and it skips a NUL that ends a number ("[6\0,1]" is [6,1] to it).
 * tests/unit/test_json_parse.c compares the two on many documents, and
 * tests/fuzz has a harness that does so on random ones.
 *
 * Threads: any; nothing shared. Ownership: the caller owns the value.
 */
#ifndef HS_JSON_PARSE_H
#define HS_JSON_PARSE_H

#include <jansson.h>
#include <stddef.h>

#define HS_JSON_DEPTH_MAX 2048 /* arrays and objects inside each other, as jansson allows */

typedef struct hs_json_perr {
    char text[96];   /* what is wrong ("invalid escape", "end of input expected") */
    size_t position; /* byte offset where it was found */
} hs_json_perr;

/* The value of s[0..len), or NULL with err filled (err may be NULL). */
json_t *hs_json_parse(const char *s, size_t len, hs_json_perr *err);

#endif
