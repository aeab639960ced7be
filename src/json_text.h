/* json_text.h — JSON strings for text hookstream did not produce. */
#ifndef HS_JSON_TEXT_H
#define HS_JSON_TEXT_H

#include <jansson.h>

/* A new JSON string for s: json_null() when s is NULL; bytes that are not
 * valid UTF-8 are taken as Latin-1 characters, so a value is never dropped
 * and the output is always valid JSON. */
json_t *hs_json_text(const char *s);

#endif
