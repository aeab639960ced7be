/* src/api/dedup.c — deduplication settings and keys (see dedup.h). */
#include "api/dedup.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/digest.h"
#include "base/jsonv.h"

void hs_dedup_of(const json_t *doc, hs_dedup *out) {
    memset(out, 0, sizeof *out);
    if (!json_is_true(json_object_get(doc, "dedup_enabled"))) return;
    const char *strategy = hs_jv_str(doc, "dedup_strategy");
    const char *field = hs_jv_str(doc, "dedup_field");
    if (!strategy || strcmp(strategy, "payload_hash") == 0)
        out->strategy = HS_DEDUP_PAYLOAD_HASH;
    else if (field && strcmp(strategy, "header_field") == 0)
        out->strategy = HS_DEDUP_HEADER_FIELD;
    else if (field && strcmp(strategy, "body_field") == 0)
        out->strategy = HS_DEDUP_BODY_FIELD;
    else
        return; /* validated docs have their field */
    if (field) snprintf(out->field, sizeof out->field, "%s", field);
    json_int_t window = json_integer_value(json_object_get(doc, "dedup_window_seconds"));
    out->window_ms = (uint64_t)(window > 0 ? window : 300) * 1000u;
}

/* The value at a dot path of body ("data.id"; a number indexes an array). */
static const json_t *at_path(const json_t *body, const char *path) {
    char name[HS_DEDUP_FIELD_MAX + 1];
    const json_t *v = body;
    while (v && *path) {
        size_t len = strcspn(path, ".");
        if (len == 0 || len > HS_DEDUP_FIELD_MAX) return NULL;
        memcpy(name, path, len);
        name[len] = '\0';
        path += len + (path[len] == '.');
        if (json_is_object(v)) {
            v = json_object_get(v, name);
        } else if (json_is_array(v) && strspn(name, "0123456789") == len && len < 10) {
            v = json_array_get(v, strtoul(name, NULL, 10));
        } else {
            return NULL;
        }
    }
    return v;
}

static bool header_key(const hs_http_req *req, const char *name, char out[HS_DEDUP_KEY_MAX]) {
    hs_buf joined;
    hs_buf_init(&joined, SIZE_MAX);
    size_t found = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0) continue;
        if (found++) hs_buf_append(&joined, ", ", 2);
        hs_buf_appends(&joined, req->headers[i].value);
    }
    if (found) hs_sha256_hex(joined.data ? joined.data : "", joined.len, out);
    hs_buf_free(&joined);
    return found > 0;
}

bool hs_dedup_key(const hs_dedup *d, const hs_http_req *req, const json_t *body, char out[HS_DEDUP_KEY_MAX]) {
    out[0] = '\0';
    switch (d->strategy) {
    case HS_DEDUP_PAYLOAD_HASH: hs_sha256_hex(req->body ? req->body : "", req->body_len, out); return true;
    case HS_DEDUP_HEADER_FIELD: return header_key(req, d->field, out);
    case HS_DEDUP_BODY_FIELD: {
        const json_t *v = body ? at_path(body, d->field) : NULL;
        if (!v || json_is_null(v)) return false;
        if (json_is_string(v)) {
            hs_sha256_hex(json_string_value(v), json_string_length(v), out);
            return true;
        }
        char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (!text) return false;
        hs_sha256_hex(text, strlen(text), out);
        hs_free(text); /* jansson allocates with hs_malloc (base/alloc.h) */
        return true;
    }
    case HS_DEDUP_OFF: break;
    }
    return false;
}
