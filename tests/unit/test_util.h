/* test_util.h — helpers the unit tests share (include after cmocka.h). */
#ifndef HS_TEST_UTIL_H
#define HS_TEST_UTIL_H

#include <jansson.h>

#include "alloc.h"
#include "resource.h"

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

/* A stored destination doc from a POST body (as for J), through the
 * validation the API uses, with the id the store would add (NULL: none);
 * line is the caller's, for the failure message. */
static inline json_t *hs_test_dest(const char *text, const char *id, int line) {
    json_t *body = J(text), *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, &err);
    json_decref(body);
    if (rc) fail_msg("line %d: destination refused: %d at '%s': %s", line, rc, err.field, err.msg);
    if (id) json_object_set_new(doc, "id", json_string(id));
    return doc;
}

#endif
