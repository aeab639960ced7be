/* src/store/docs.c — resource documents as every backend keeps them
 * (src/store/docs.h): the kinds' facts, a doc's columns and timestamps, the
 * text written for it, a stored doc read back, an update's checks, one
 * row's re-sealing. No SQL: the backends' resources.c call these around
 * their statements. Any thread.
 *
 * Secrets at rest: with a box (hs_store_set_secretbox) the text written is
 * that of a copy whose secrets are sealed (the codec core hands the store,
 * src/core/resource.c's), and a doc read is unsealed before anyone sees it,
 * so the clear values exist only in memory.
 */
#include <string.h>

#include "base/timeutil.h"
#include "store/docs.h"

const hs__kind_info hs__kinds[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] = {"source", "src_", true, {"slug", "status", NULL}},
    [HS_KIND_DESTINATION] = {"destination", "dst_", true, {"slug", "status", "type"}},
    [HS_KIND_CONNECTION] = {"connection", "conn_", false, {"source_id", "destination_id", "enabled"}},
};

const char *hs__kind_column(hs_kind kind, const char *field) {
    const hs__kind_info *k = &hs__kinds[kind];
    for (size_t i = 0; i < sizeof k->cols / sizeof k->cols[0]; i++)
        if (k->cols[i] && field && strcmp(k->cols[i], field) == 0) return k->cols[i];
    return NULL;
}

/* ---- columns ---- */

static int opt_string(const json_t *doc, const char *key, const char *dflt, const char **out, hs_error *err) {
    const json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_string(v)) return hs_error_set(err, HS_ERR_INVALID, key, "must be a string");
    *out = json_string_value(v);
    return HS_OK;
}

int hs__doc_cols_get(hs_kind kind, const json_t *doc, hs__doc_cols *c, hs_error *err) {
    memset(c, 0, sizeof *c);
    int rc = HS_OK;
    if (kind == HS_KIND_CONNECTION) {
        rc = opt_string(doc, "source_id", NULL, &c->source_id, err);
        if (rc == HS_OK && !c->source_id) rc = hs_error_set(err, HS_ERR_INVALID, "source_id", "is required");
        if (rc == HS_OK) rc = opt_string(doc, "destination_id", NULL, &c->destination_id, err);
        if (rc == HS_OK && !c->destination_id) rc = hs_error_set(err, HS_ERR_INVALID, "destination_id", "is required");
        const json_t *en = json_object_get(doc, "enabled");
        if (rc == HS_OK && en && !json_is_boolean(en))
            rc = hs_error_set(err, HS_ERR_INVALID, "enabled", "must be a boolean");
        c->enabled = !en || json_is_true(en);
        return rc;
    }
    rc = opt_string(doc, "slug", NULL, &c->slug, err);
    if (rc == HS_OK && c->slug && !*c->slug) c->slug = NULL; /* "" is no slug, not a unique one */
    if (rc == HS_OK) rc = opt_string(doc, "status", "active", &c->status, err);
    if (rc == HS_OK && kind == HS_KIND_DESTINATION) rc = opt_string(doc, "type", "http", &c->type, err);
    return rc;
}

/* ---- timestamps, text ---- */

json_t *hs__doc_stripped(const json_t *doc) {
    json_t *copy = json_deep_copy(doc);
    json_object_del(copy, "created_at");
    json_object_del(copy, "updated_at");
    return copy;
}

json_t *hs__doc_with_times(json_t *doc, uint64_t created_at, uint64_t updated_at) {
    char ts[HS_ISO8601_MAX];
    hs_iso8601(created_at, ts);
    json_object_set_new(doc, "created_at", json_string(ts));
    hs_iso8601(updated_at, ts);
    json_object_set_new(doc, "updated_at", json_string(ts));
    return doc;
}

void hs__json_str_free(char *s) {
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(s);
}

char *hs__doc_text(const hs_store *s, hs_kind kind, const json_t *doc, hs_error *err) {
    if (!s->box) return json_dumps(doc, JSON_COMPACT);
    json_t *copy = json_deep_copy(doc);
    char *text = hs__store_seal(s, kind, copy, err) == HS_OK ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    return text;
}

/* ---- rows ---- */

int hs__doc_row_parse(const hs_store *s, hs_kind kind, const char *text, size_t len, hs__doc_row *r, hs_error *err) {
    json_error_t jerr;
    r->doc = text ? json_loadb(text, len, 0, &jerr) : NULL;
    if (!json_is_object(r->doc)) {
        json_decref(r->doc);
        r->doc = NULL;
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "stored document of %s is not a JSON object", r->id);
    }
    int rc = hs__store_unseal(s, kind, r->doc, err);
    if (rc != HS_OK) {
        json_decref(r->doc);
        r->doc = NULL;
        err->field[0] = '\0'; /* not the caller's field: the stored doc's */
    }
    return rc;
}

int hs__doc_apply(hs_update_fn fn, void *ud, const hs__doc_row *r, json_t **doc_out, hs_error *err) {
    json_t *current = hs__doc_with_times(json_deep_copy(r->doc), r->created_at, r->updated_at);
    json_t *updated = NULL;
    int rc = fn(current, &updated, ud, err);
    json_decref(current);
    if (rc != HS_OK) {
        json_decref(updated);
        if (rc > 0) rc = HS_ERR_INTERNAL;
        if (err->code == HS_OK) err->code = rc;
        return rc;
    }
    if (!json_is_object(updated)) {
        json_decref(updated);
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "update of %s produced no document", r->id);
    }
    json_t *doc = hs__doc_stripped(updated);
    json_decref(updated);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id || strcmp(id, r->id) != 0) {
        json_decref(doc);
        return hs_error_set(err, HS_ERR_INTERNAL, "id", "update of %s changed its id", r->id);
    }
    *doc_out = doc;
    return HS_OK;
}

/* ---- secrets at rest ---- */

int hs__doc_reseal(const hs_secret_codec *codec, hs_kind kind, const char *id, const char *text, size_t len,
                   const hs_secretbox *from, const hs_secretbox *to, bool rekey, char **sealed, hs_reseal_stats *st,
                   hs_error *err) {
    *sealed = NULL;
    json_t *doc = text ? json_loadb(text, len, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "stored document of %s is not a JSON object", id);
    }
    size_t clear = 0;
    int rc = codec->unseal(kind, doc, from, &clear, err);
    st->rows++;
    st->clear += clear;
    if (rc == HS_OK && to && (clear || rekey)) {
        rc = codec->seal(kind, doc, to, err);
        if (rc == HS_OK) *sealed = json_dumps(doc, JSON_COMPACT);
        if (rc == HS_OK && !*sealed) rc = hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode a document");
    }
    json_decref(doc);
    return rc;
}
