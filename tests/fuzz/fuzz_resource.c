/* fuzz_resource.c — resource validation (src/core/resource.c: hs_resource_create_doc,
 * _patch_doc, _render), and through it every provider's config rules (all
 * eight destination types), the templates, filter rules and transforms.
 *
 * Input: a first line naming the kind and the operation: "s", "d", "c"
 * create a source, destination, connection; "S", "D", "C" create one and
 * then patch it. Then a JSON body; for a patch: create body %% patch body.
 * (Any other first byte picks kind and operation from its value.)
 *
 * Checked besides the sanitizers: refusals are 400 or 422 with a message;
 * an accepted doc is an object without read-only fields; for any accepted
 * doc, PATCH {} keeps it as it is, and so does patching back its rendered
 * (secret-masked) form, as a client that GETs and PUTs back does.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "base/error.h"
#include "fuzz_util.h"
#include "core/resource.h"

static void check_refusal(int rc, const hs_error *err) {
    FZ_ASSERT(rc == HS_ERR_INVALID || rc == HS_ERR_UNSUPPORTED);
    FZ_ASSERT(err->msg[0] != '\0');
}

static void check_doc(const json_t *doc) {
    FZ_ASSERT(json_is_object(doc));
    FZ_ASSERT(!json_object_get(doc, "created_at") && !json_object_get(doc, "updated_at"));
}

/* What a stored doc must survive: PATCH {} and PATCH <its rendering>. */
static void round_trips(hs_kind kind, const json_t *stored) {
    json_t *empty = json_object(), *out = NULL;
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_resource_patch_doc(kind, stored, empty, &out, &err);
    if (rc != HS_OK) fprintf(stderr, "PATCH {}: %s: %s\n", err.field, err.msg);
    FZ_ASSERT(rc == HS_OK);
    FZ_ASSERT(json_equal(out, stored));
    json_decref(out);
    json_decref(empty);

    json_t *shown = hs_resource_render(kind, stored);
    FZ_ASSERT(json_is_object(shown));
    json_object_del(shown, "id");
    out = NULL;
    rc = hs_resource_patch_doc(kind, stored, shown, &out, &err);
    if (rc != HS_OK) fprintf(stderr, "PATCH <rendered>: %s: %s\n", err.field, err.msg);
    FZ_ASSERT(rc == HS_OK);
    FZ_ASSERT(json_equal(out, stored));
    json_decref(out);
    json_decref(shown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    hs_kind kind;
    bool patch;
    switch (data[0]) {
    case 's':
    case 'S':
        kind = HS_KIND_SOURCE;
        patch = data[0] == 'S';
        break;
    case 'd':
    case 'D':
        kind = HS_KIND_DESTINATION;
        patch = data[0] == 'D';
        break;
    case 'c':
    case 'C':
        kind = HS_KIND_CONNECTION;
        patch = data[0] == 'C';
        break;
    default:
        kind = (hs_kind)(data[0] % 3);
        patch = (data[0] / 3) & 1;
        break;
    }
    data++, size--;
    if (size && data[0] == '\n') data++, size--;

    char *part[FZ_MAX_PARTS];
    size_t len[FZ_MAX_PARTS];
    size_t n = fz_split(data, size, part, len, 2);
    json_t *body = json_loadb(part[0], len[0], JSON_DECODE_ANY, NULL);
    json_t *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    int rc = body ? hs_resource_create_doc(kind, body, &doc, &err) : HS_ERR_INVALID;
    if (!body) {
        /* nothing to validate */
    } else if (rc != HS_OK) {
        check_refusal(rc, &err);
    } else {
        check_doc(doc);
        FZ_ASSERT(!json_object_get(doc, "id"));
        json_object_set_new(doc, "id",
                            json_string(kind == HS_KIND_SOURCE        ? "src_fuzz"
                                        : kind == HS_KIND_DESTINATION ? "dst_fuzz"
                                                                      : "conn_fuzz"));
        round_trips(kind, doc);
        json_t *p = patch && n > 1 ? json_loadb(part[1], len[1], JSON_DECODE_ANY, NULL) : NULL;
        if (p) {
            json_t *patched = NULL;
            hs_error_clear(&err);
            rc = hs_resource_patch_doc(kind, doc, p, &patched, &err);
            if (rc != HS_OK) {
                check_refusal(rc, &err);
            } else {
                check_doc(patched);
                FZ_ASSERT(json_equal(json_object_get(patched, "id"), json_object_get(doc, "id")));
                round_trips(kind, patched);
            }
            json_decref(patched);
            json_decref(p);
        }
    }
    json_decref(doc);
    json_decref(body);
    fz_parts_free(part, n);
    return 0;
}
