/* src/store/resources.c — creating, updating and deleting a resource, for
 * every backend (src/store/resources.h): the checks and their messages,
 * the row's times; the backend's hs__res_ops run the statements. Writer
 * thread.
 */
#include "base/id.h"
#include "base/timeutil.h"
#include "store/resources.h"

/* Uniqueness and references, checked before writing so that the error can
 * name the field and the other object. */
static int check_constraints(hs_store *s, const hs__res_ops *ops, hs_kind kind, const char *id, const hs__doc_cols *c,
                             hs_error *err) {
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (hs__kinds[kind].has_slug && c->slug) {
        rc = ops->find(s, kind, HS_RES_SLUG_OWNER, c->slug, id, other, err);
        if (rc == HS_OK && other[0])
            return hs_error_set(err, HS_ERR_CONFLICT, "slug", "slug \"%s\" is already used by %s", c->slug, other);
    }
    if (rc == HS_OK && c->source_id) {
        rc = ops->find(s, kind, HS_RES_SOURCE, c->source_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "source_id", "no such source: %s", c->source_id);
    }
    if (rc == HS_OK && c->destination_id) {
        rc = ops->find(s, kind, HS_RES_DESTINATION, c->destination_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "destination_id", "no such destination: %s", c->destination_id);
    }
    return rc;
}

/* INSERT (insert) or UPDATE the row for doc. */
static int row_write(hs_store *s, const hs__res_ops *ops, hs_kind kind, bool insert, const char *id, const json_t *doc,
                     uint64_t created_at, uint64_t updated_at, hs_error *err) {
    hs__doc_cols c;
    int rc = hs__doc_cols_get(kind, doc, &c, err);
    if (rc == HS_OK) rc = check_constraints(s, ops, kind, id, &c, err);
    if (rc != HS_OK) return rc;
    char *text = hs__doc_text(s, kind, doc, err);
    if (!text) return err->code ? err->code : hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode a document");
    rc = ops->write(s, kind, insert, id, &c, text, created_at, updated_at, err);
    hs__json_str_free(text);
    return rc;
}

int hs__resource_create(hs_store *s, const hs__res_ops *ops, hs_kind kind, const json_t *in, json_t **out,
                        hs_error *err) {
    const hs__kind_info *k = &hs__kinds[kind];
    json_t *doc = hs__doc_stripped(in);
    const char *id = json_string_value(json_object_get(doc, "id"));
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (!hs_id_valid(k->prefix, id))
        rc = hs_error_set(err, HS_ERR_INVALID, "id", "must be a %s id (%s + 32 hex digits)", k->name, k->prefix);
    if (rc == HS_OK) rc = ops->find(s, kind, HS_RES_ID, id, NULL, other, err);
    if (rc == HS_OK && other[0]) rc = hs_error_set(err, HS_ERR_CONFLICT, "id", "%s %s already exists", k->name, id);
    uint64_t now = hs_now_ms();
    if (rc == HS_OK) rc = row_write(s, ops, kind, true, id, doc, now, now, err);
    /* deliveries name destinations and connections by number */
    if (rc == HS_OK && kind != HS_KIND_SOURCE) rc = ops->name(s, id, err);
    if (rc != HS_OK) {
        json_decref(doc);
        return rc;
    }
    *out = hs__doc_with_times(doc, now, now);
    return HS_OK;
}

int hs__resource_update(hs_store *s, const hs__res_ops *ops, hs_kind kind, const char *id, hs_update_fn fn, void *ud,
                        json_t **out, hs_error *err) {
    hs__doc_row r;
    int rc = ops->load(s, kind, id, &r, err);
    if (rc != HS_OK) return rc;
    json_t *doc = NULL;
    rc = hs__doc_apply(fn, ud, &r, &doc, err);
    json_decref(r.doc);
    if (rc != HS_OK) return rc;
    uint64_t now = hs_now_ms();
    if (now < r.created_at) now = r.created_at; /* clock stepped back: keep updated >= created */
    rc = row_write(s, ops, kind, false, r.id, doc, r.created_at, now, err);
    if (rc != HS_OK) {
        json_decref(doc);
        return rc;
    }
    *out = hs__doc_with_times(doc, r.created_at, now);
    return HS_OK;
}

int hs__resource_delete(hs_store *s, const hs__res_ops *ops, hs_kind kind, const char *id, hs_error *err) {
    hs__doc_row r;
    int rc = ops->load(s, kind, id, &r, err);
    if (rc != HS_OK) return rc;
    json_decref(r.doc);
    char conn[HS_ID_MAX] = "";
    if (kind == HS_KIND_SOURCE || kind == HS_KIND_DESTINATION)
        rc = ops->find(s, kind, HS_RES_USER, r.id, NULL, conn, err);
    if (rc != HS_OK) return rc;
    if (conn[0])
        return hs_error_set(err, HS_ERR_CONFLICT, NULL, "%s %s is used by connection %s; delete that first",
                            hs__kinds[kind].name, r.id, conn);
    if (kind == HS_KIND_DESTINATION) rc = ops->cancel(s, r.id, err);
    if (rc != HS_OK) return rc;
    return ops->remove(s, kind, r.id, err);
}
