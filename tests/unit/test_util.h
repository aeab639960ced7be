/* test_util.h — helpers the unit tests share (include after cmocka.h). */
#ifndef HS_TEST_UTIL_H
#define HS_TEST_UTIL_H

#include <jansson.h>

#include "alloc.h"

/* JSON from text written with single quotes (easier in C strings); fails
 * the test on bad JSON. */
static inline json_t *J(const char *text) {
    char *s = hs_strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad test JSON (%s): %s", je.text, s);
    hs_free(s);
    return v;
}

#endif
