/* test_util.h — helpers the unit tests share (include after cmocka.h). */
#ifndef HS_TEST_UTIL_H
#define HS_TEST_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "http/outbound.h"
#include "core/resource.h"

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

/* One expected outbound header; value NULL: any (checked apart). */
typedef struct hs_test_header {
    const char *name, *value;
    bool secret;
} hs_test_header;

/* The request's headers are exactly these, in this order. */
static inline void hs_test_expect_headers(const hs_out_req *req, const hs_test_header *w, size_t n, int line) {
    for (size_t i = 0; i < n && i < req->nheaders; i++) {
        const hs_out_header *h = &req->headers[i];
        if (strcmp(h->name, w[i].name) != 0 || (w[i].value && strcmp(h->value, w[i].value) != 0) ||
            h->secret != w[i].secret)
            fail_msg("line %d: header #%zu is %s: %s (secret %d), want %s: %s (secret %d)", line, i, h->name, h->value,
                     h->secret, w[i].name, w[i].value ? w[i].value : "(any)", w[i].secret);
    }
    if (req->nheaders != n) {
        for (size_t i = 0; i < req->nheaders; i++)
            print_message("  #%zu %s: %s\n", i, req->headers[i].name, req->headers[i].value);
        fail_msg("line %d: %zu headers, want %zu", line, req->nheaders, n);
    }
}
#define EXPECT_HEADERS(req, ...)                                                                                       \
    do {                                                                                                               \
        const hs_test_header w_[] = {__VA_ARGS__};                                                                     \
        hs_test_expect_headers(req, w_, sizeof w_ / sizeof w_[0], __LINE__);                                           \
    } while (0)

#endif
