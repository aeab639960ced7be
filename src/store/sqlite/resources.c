/* src/store/sqlite/resources.c — sources, destinations and connections in SQLite.
 *
 * A resource row is its JSON doc (as validated by src/core/resource.c, without the
 * timestamps) plus the columns the store looks up, checks or filters on,
 * re-extracted from the doc on every write. Writes run on the writer thread
 * (hs_wop exec functions); reads on a pooled read connection.
 *
 * Secrets at rest: with a box (hs_store_set_secretbox) the text written is
 * that of a copy whose secrets are sealed (the codec core hands the store,
 * src/core/resource.c's), and a doc read is unsealed before anyone sees it,
 * so the clear values exist only in memory. hs_store_reseal() walks a whole
 * file on its own connection: the start-up check and migration of clear
 * values, and key rotation.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "store/sqlite/sqlite.h"

/* The SQL of each kind, spelled out. Named parameters let one binder
 * (row_write) serve every kind. */
typedef struct kind_def {
    const char *name; /* for messages */
    const char *table;
    const char *prefix;
    bool has_slug;
    const char *cols[3]; /* indexed columns: the only legal filters */
    const char *sql_by_id;
    const char *sql_by_slug;
    const char *sql_slug_owner;
    const char *sql_insert;
    const char *sql_update;
    const char *sql_delete;
} kind_def;

static const kind_def kinds[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] =
        {
            .name = "source",
            .table = "sources",
            .prefix = "src_",
            .has_slug = true,
            .cols = {"slug", "status", NULL},
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM sources WHERE id = ?1",
            .sql_delete = "DELETE FROM sources WHERE id = ?1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM sources WHERE slug = ?1",
            .sql_slug_owner = "SELECT id FROM sources WHERE slug = ?1 AND id <> ?2",
            .sql_insert = "INSERT INTO sources(id, slug, status, doc, created_at, updated_at) "
                          "VALUES(:id, :slug, :status, :doc, :created_at, :updated_at)",
            .sql_update = "UPDATE sources SET slug = :slug, status = :status, doc = :doc, "
                          "updated_at = :updated_at WHERE id = :id",
        },
    [HS_KIND_DESTINATION] =
        {
            .name = "destination",
            .table = "destinations",
            .prefix = "dst_",
            .has_slug = true,
            .cols = {"slug", "status", "type"},
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM destinations WHERE id = ?1",
            .sql_delete = "DELETE FROM destinations WHERE id = ?1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM destinations WHERE slug = ?1",
            .sql_slug_owner = "SELECT id FROM destinations WHERE slug = ?1 AND id <> ?2",
            .sql_insert = "INSERT INTO destinations(id, slug, status, type, doc, created_at, updated_at) "
                          "VALUES(:id, :slug, :status, :type, :doc, :created_at, :updated_at)",
            .sql_update = "UPDATE destinations SET slug = :slug, status = :status, type = :type, doc = :doc, "
                          "updated_at = :updated_at WHERE id = :id",
        },
    [HS_KIND_CONNECTION] =
        {
            .name = "connection",
            .table = "connections",
            .prefix = "conn_",
            .has_slug = false,
            .cols = {"source_id", "destination_id", "enabled"},
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM connections WHERE id = ?1",
            .sql_delete = "DELETE FROM connections WHERE id = ?1",
            .sql_insert = "INSERT INTO connections(id, source_id, destination_id, enabled, doc, created_at, "
                          "updated_at) VALUES(:id, :source_id, :destination_id, :enabled, :doc, :created_at, "
                          ":updated_at)",
            .sql_update = "UPDATE connections SET source_id = :source_id, destination_id = :destination_id, "
                          "enabled = :enabled, doc = :doc, updated_at = :updated_at WHERE id = :id",
        },
};

/* ---- docs ---- */

/* The columns of one doc; strings point into the doc. */
typedef struct doc_cols {
    const char *slug;
    const char *status;
    const char *type;
    const char *source_id;
    const char *destination_id;
    int enabled;
} doc_cols;

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

static int extract_cols(hs_kind kind, const json_t *doc, doc_cols *c, hs_error *err) {
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

/* A deep copy without the store-managed timestamps. */
static json_t *doc_stripped(const json_t *doc) {
    json_t *copy = json_deep_copy(doc);
    json_object_del(copy, "created_at");
    json_object_del(copy, "updated_at");
    return copy;
}

/* doc as reads return it: with ISO 8601 timestamps. Returns doc. */
static json_t *doc_with_times(json_t *doc, uint64_t created_at, uint64_t updated_at) {
    char ts[HS_ISO8601_MAX];
    hs_iso8601(created_at, ts);
    json_object_set_new(doc, "created_at", json_string(ts));
    hs_iso8601(updated_at, ts);
    json_object_set_new(doc, "updated_at", json_string(ts));
    return doc;
}

/* json_dumps' result comes from jansson's allocator, which may be ours. */
static void json_str_free(char *s) {
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    f(s);
}

/* ---- rows ---- */

typedef struct res_row {
    char id[HS_ID_MAX];
    json_t *doc; /* as stored, no timestamps */
    uint64_t created_at;
    uint64_t updated_at;
} res_row;

/* Columns id, doc, created_at, updated_at of the current row, the doc's
 * secrets unsealed with the store's box (when set). */
static int row_read(sqlite3_stmt *st, hs_kind kind, const hs_store *s, res_row *r, hs_error *err) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(r->id, sizeof r->id, "%s", id ? id : "");
    const void *text = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    json_error_t jerr;
    r->doc = text ? json_loadb(text, len, 0, &jerr) : NULL;
    r->created_at = (uint64_t)sqlite3_column_int64(st, 2);
    r->updated_at = (uint64_t)sqlite3_column_int64(st, 3);
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

/* Find by id, or by slug for kinds that have one. */
static int row_load(hs_sqlite_db *c, hs_kind kind, const hs_store *s, const char *ref, res_row *r, hs_error *err) {
    const kind_def *k = &kinds[kind];
    const char *queries[2] = {k->sql_by_id, k->has_slug ? k->sql_by_slug : NULL};
    for (int i = 0; i < 2 && queries[i]; i++) {
        sqlite3_stmt *st = hs_stmt(c, queries[i], err);
        if (!st) return err->code;
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        int ret = HS_ERR_NOTFOUND;
        if (rc == SQLITE_ROW)
            ret = row_read(st, kind, s, r, err);
        else if (rc != SQLITE_DONE)
            ret = hs_sqlite_fail(err, c->db, rc, "reading a resource");
        hs_stmt_done(c, st);
        if (ret != HS_ERR_NOTFOUND) return ret;
    }
    return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "%s %s not found", k->name, ref);
}

/* The id of the row that has a matching column, or "" (or an error). */
static int first_match(hs_sqlite_db *c, const char *sql, const char *a, const char *b, char *id_out, hs_error *err) {
    id_out[0] = '\0';
    sqlite3_stmt *st = hs_stmt(c, sql, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        snprintf(id_out, HS_ID_MAX, "%s", id ? id : "?");
    } else if (rc != SQLITE_DONE) {
        ret = hs_sqlite_fail(err, c->db, rc, "checking constraints");
    }
    hs_stmt_done(c, st);
    return ret;
}

/* Uniqueness and references, checked before writing so that the error can
 * name the field and the other object. */
static int check_constraints(hs_sqlite_db *w, const kind_def *k, const char *id, const doc_cols *c, hs_error *err) {
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (k->has_slug && c->slug) {
        rc = first_match(w, k->sql_slug_owner, c->slug, id, other, err);
        if (rc == HS_OK && other[0])
            return hs_error_set(err, HS_ERR_CONFLICT, "slug", "slug \"%s\" is already used by %s", c->slug, other);
    }
    if (rc == HS_OK && c->source_id) {
        rc = first_match(w, "SELECT id FROM sources WHERE id = ?1", c->source_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "source_id", "no such source: %s", c->source_id);
    }
    if (rc == HS_OK && c->destination_id) {
        rc = first_match(w, "SELECT id FROM destinations WHERE id = ?1", c->destination_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "destination_id", "no such destination: %s", c->destination_id);
    }
    return rc;
}

static void bind_named(sqlite3_stmt *st, const char *name, const char *value) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (i == 0) return;
    if (value)
        sqlite3_bind_text(st, i, value, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t value) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (i) sqlite3_bind_int64(st, i, value);
}

/* The text stored for doc: its secrets sealed when there is a box. */
static char *doc_text(const hs_store *s, hs_kind kind, const json_t *doc, hs_error *err) {
    if (!s->box) return json_dumps(doc, JSON_COMPACT);
    json_t *copy = json_deep_copy(doc);
    char *text = hs__store_seal(s, kind, copy, err) == HS_OK ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    return text;
}

/* INSERT or UPDATE (sql) the row for doc. */
static int row_write(hs_store *s, hs_kind kind, const char *sql, const char *id, const json_t *doc, uint64_t created_at,
                     uint64_t updated_at, hs_error *err) {
    const kind_def *k = &kinds[kind];
    hs_sqlite_db *w = hs__sq_writer(s);
    doc_cols c;
    int rc = extract_cols(kind, doc, &c, err);
    if (rc == HS_OK) rc = check_constraints(w, k, id, &c, err);
    if (rc != HS_OK) return rc;
    char *text = doc_text(s, kind, doc, err);
    if (!text) return err->code ? err->code : hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode a document");
    sqlite3_stmt *st = hs_stmt(w, sql, err);
    if (!st) {
        json_str_free(text);
        return err->code;
    }
    bind_named(st, ":id", id);
    bind_named(st, ":slug", c.slug);
    bind_named(st, ":status", c.status);
    bind_named(st, ":type", c.type);
    bind_named(st, ":source_id", c.source_id);
    bind_named(st, ":destination_id", c.destination_id);
    bind_named_int(st, ":enabled", c.enabled);
    bind_named(st, ":doc", text);
    bind_named_int(st, ":created_at", (int64_t)created_at);
    bind_named_int(st, ":updated_at", (int64_t)updated_at);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) rc = hs_sqlite_fail(err, w->db, src, "writing a resource");
    hs_stmt_done(w, st);
    json_str_free(text);
    return rc;
}

/* ---- writes (writer thread) ---- */

int hs__sqlite_resource_create(hs_store *s, hs_kind kind, const json_t *in, json_t **out, hs_error *err) {
    const kind_def *k = &kinds[kind];
    json_t *doc = doc_stripped(in);
    const char *id = json_string_value(json_object_get(doc, "id"));
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (!hs_id_valid(k->prefix, id))
        rc = hs_error_set(err, HS_ERR_INVALID, "id", "must be a %s id (%s + 32 hex digits)", k->name, k->prefix);
    if (rc == HS_OK) rc = first_match(hs__sq_writer(s), k->sql_by_id, id, NULL, other, err);
    if (rc == HS_OK && other[0]) rc = hs_error_set(err, HS_ERR_CONFLICT, "id", "%s %s already exists", k->name, id);
    uint64_t now = hs_now_ms();
    if (rc == HS_OK) rc = row_write(s, kind, k->sql_insert, id, doc, now, now, err);
    /* deliveries name destinations and connections by number (queues.c) */
    int64_t key;
    if (rc == HS_OK && kind != HS_KIND_SOURCE) rc = hs_ref_key(hs__sq_writer(s), id, true, &key, err);
    if (rc != HS_OK) {
        json_decref(doc);
        return rc;
    }
    *out = doc_with_times(doc, now, now);
    return HS_OK;
}

/* Run the caller's fn on the current doc and check what it returns. */
static int apply_fn(hs_update_fn fn, void *ud, const res_row *r, json_t **doc_out, hs_error *err) {
    json_t *current = doc_with_times(json_deep_copy(r->doc), r->created_at, r->updated_at);
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
    json_t *doc = doc_stripped(updated);
    json_decref(updated);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id || strcmp(id, r->id) != 0) {
        json_decref(doc);
        return hs_error_set(err, HS_ERR_INTERNAL, "id", "update of %s changed its id", r->id);
    }
    *doc_out = doc;
    return HS_OK;
}

int hs__sqlite_resource_update(hs_store *s, hs_kind kind, const char *id, hs_update_fn fn, void *ud, json_t **out,
                               hs_error *err) {
    const kind_def *k = &kinds[kind];
    res_row r;
    int rc = row_load(hs__sq_writer(s), kind, s, id, &r, err);
    if (rc != HS_OK) return rc;
    json_t *doc = NULL;
    rc = apply_fn(fn, ud, &r, &doc, err);
    json_decref(r.doc);
    if (rc != HS_OK) return rc;
    uint64_t now = hs_now_ms();
    if (now < r.created_at) now = r.created_at; /* clock stepped back: keep updated >= created */
    rc = row_write(s, kind, k->sql_update, r.id, doc, r.created_at, now, err);
    if (rc != HS_OK) {
        json_decref(doc);
        return rc;
    }
    *out = doc_with_times(doc, r.created_at, now);
    return HS_OK;
}

int hs__sqlite_resource_delete(hs_store *s, hs_kind kind, const char *id, hs_error *err) {
    const kind_def *k = &kinds[kind];
    hs_sqlite_db *w = hs__sq_writer(s);
    res_row r;
    int rc = row_load(w, kind, s, id, &r, err);
    if (rc != HS_OK) return rc;
    json_decref(r.doc);
    char conn[HS_ID_MAX] = "";
    if (kind == HS_KIND_SOURCE)
        rc = first_match(w, "SELECT id FROM connections WHERE source_id = ?1 ORDER BY id LIMIT 1", r.id, NULL, conn,
                         err);
    else if (kind == HS_KIND_DESTINATION)
        rc = first_match(w, "SELECT id FROM connections WHERE destination_id = ?1 ORDER BY id LIMIT 1", r.id, NULL,
                         conn, err);
    if (rc != HS_OK) return rc;
    if (conn[0])
        return hs_error_set(err, HS_ERR_CONFLICT, NULL, "%s %s is used by connection %s; delete that first", k->name,
                            r.id, conn);
    if (kind == HS_KIND_DESTINATION) rc = hs_deliveries_cancel(s, r.id, hs_now_ms(), NULL, NULL, err);
    if (rc != HS_OK) return rc;
    sqlite3_stmt *st = hs_stmt(w, k->sql_delete, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, r.id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) rc = hs_sqlite_fail(err, w->db, src, "deleting a resource");
    hs_stmt_done(w, st);
    return rc;
}

/* ---- reads (any thread) ---- */

int hs__sqlite_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    res_row r;
    int rc = row_load(c, kind, s, id_or_slug, &r, err);
    hs_reader_put(s, c);
    if (rc == HS_OK) *out = doc_with_times(r.doc, r.created_at, r.updated_at);
    return rc;
}

static const char *filter_column(const kind_def *k, const char *field) {
    for (size_t i = 0; i < sizeof k->cols / sizeof k->cols[0]; i++)
        if (k->cols[i] && field && strcmp(k->cols[i], field) == 0) return k->cols[i];
    return NULL;
}

/* SELECT for one page; column names come from the kind's whitelist only
 * (the fields were checked by src/store/store.c), every value is a bound
 * parameter. */
static int list_sql(const kind_def *k, const hs_page *page, const hs_list_filter *filters, size_t nfilters, hs_buf *sql,
                    hs_error *err) {
    hs_buf_appendf(sql, "SELECT id, doc, created_at, updated_at FROM %s WHERE 1", k->table);
    if (page->cursor) hs_buf_appends(sql, " AND id < ?");
    for (size_t i = 0; i < nfilters; i++) {
        const char *col = filter_column(k, filters[i].field);
        if (!col) return hs_error_set(err, HS_ERR_INVALID, "filter", "%ss cannot be filtered on this field", k->name);
        hs_buf_appendf(sql, " AND %s = ?", col);
    }
    hs_buf_appends(sql, " ORDER BY id DESC LIMIT ?");
    return HS_OK;
}

static int list_rows(hs_sqlite_db *c, sqlite3_stmt *st, hs_kind kind, const hs_store *s, int limit, json_t *items,
                     bool *has_more, hs_error *err) {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int)json_array_size(items) == limit) {
            *has_more = true;
            return HS_OK;
        }
        res_row r;
        int ret = row_read(st, kind, s, &r, err);
        if (ret != HS_OK) return ret;
        json_array_append_new(items, doc_with_times(r.doc, r.created_at, r.updated_at));
    }
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, c->db, rc, "listing");
}

int hs__sqlite_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters,
                             size_t nfilters, json_t **items, bool *has_more, hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 1024);
    int rc = list_sql(&kinds[kind], page, filters, nfilters, &sql, err);
    hs_sqlite_db *c = rc == HS_OK ? hs_reader_get(s, err) : NULL;
    if (!c) {
        hs_buf_free(&sql);
        return rc != HS_OK ? rc : err->code;
    }
    sqlite3_stmt *st = hs_stmt(c, sql.data, err);
    hs_buf_free(&sql);
    if (!st) {
        hs_reader_put(s, c);
        return err->code;
    }
    int i = 1;
    if (page->cursor) sqlite3_bind_text(st, i++, page->cursor, -1, SQLITE_STATIC);
    for (size_t f = 0; f < nfilters; f++) {
        if (strcmp(filters[f].field, "enabled") == 0)
            sqlite3_bind_int(st, i++, strcmp(filters[f].value, "true") == 0);
        else
            sqlite3_bind_text(st, i++, filters[f].value, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, i, page->limit + 1); /* one more tells whether another page exists */
    *items = json_array();
    rc = list_rows(c, st, kind, s, page->limit, *items, has_more, err);
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    if (rc != HS_OK) {
        json_decref(*items);
        *items = NULL;
        *has_more = false;
    }
    return rc;
}

/* ---- secrets at rest ---- */

static int sql_exec(sqlite3 *db, const char *sql, const char *what, hs_error *err) {
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? HS_OK : hs_sqlite_fail(err, db, rc, what);
}

static bool has_table(sqlite3 *db, const char *table) {
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

/* One row: its secrets opened with from, and when it is to be written back,
 * its new text (sealed under to) appended to out as [id, text]. */
static int reseal_row(const hs_secret_codec *codec, hs_kind kind, const char *id, const void *text, size_t len,
                      const hs_secretbox *from, const hs_secretbox *to, bool rekey, json_t *out, hs_reseal_stats *st,
                      hs_error *err) {
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
        char *sealed = rc == HS_OK ? json_dumps(doc, JSON_COMPACT) : NULL;
        if (sealed) {
            json_array_append_new(out, json_pack("[s,s]", id, sealed));
            json_str_free(sealed);
        }
    }
    json_decref(doc);
    return rc;
}

/* Every row of one kind: checked, and the ones to rewrite written back. */
static int reseal_kind(sqlite3 *db, const hs_secret_codec *codec, hs_kind kind, const hs_secretbox *from,
                       const hs_secretbox *to, bool rekey, hs_reseal_stats *st, hs_error *err) {
    const kind_def *k = &kinds[kind];
    if (!has_table(db, k->table)) return HS_OK;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id, doc FROM %s", k->table);
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &q, NULL), rc = HS_OK;
    if (src != SQLITE_OK) return hs_sqlite_fail(err, db, src, "reading resources");
    json_t *out = json_array();
    while (rc == HS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        rc = reseal_row(codec, kind, id ? id : "?", sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1), from,
                        to, rekey, out, st, err);
    }
    if (rc == HS_OK && src != SQLITE_DONE) rc = hs_sqlite_fail(err, db, src, "reading resources");
    sqlite3_finalize(q);
    /* written after the scan: no statement reads a table it also changes */
    snprintf(sql, sizeof sql, "UPDATE %s SET doc = ?1 WHERE id = ?2", k->table);
    q = NULL;
    if (rc == HS_OK && json_array_size(out) && (src = sqlite3_prepare_v2(db, sql, -1, &q, NULL)) != SQLITE_OK)
        rc = hs_sqlite_fail(err, db, src, "writing resources");
    size_t i;
    json_t *row;
    json_array_foreach(out, i, row) {
        if (rc != HS_OK) break;
        sqlite3_bind_text(q, 1, json_string_value(json_array_get(row, 1)), -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, json_string_value(json_array_get(row, 0)), -1, SQLITE_STATIC);
        src = sqlite3_step(q);
        if (src != SQLITE_DONE) rc = hs_sqlite_fail(err, db, src, "writing resources");
        sqlite3_reset(q);
        st->rewritten++;
    }
    sqlite3_finalize(q);
    json_decref(out);
    return rc;
}

/* Checkpoint the WAL into the file and truncate it: the pages that held
 * clear values are overwritten in the file, and no old frame stays. */
static int checkpoint(sqlite3 *db, const char *path, hs_error *err) {
    int busy = 0, log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_BUSY) busy = 1;
    if (rc != SQLITE_OK && !busy) return hs_sqlite_fail(err, db, rc, "checkpointing");
    if (busy || log != done)
        return hs_error_set(err, HS_ERR_BUSY, NULL,
                            "%s: the WAL could not be checkpointed (is a server running on it?); the secrets are "
                            "sealed, but older copies may stay in the file until the next checkpoint",
                            path);
    return HS_OK;
}

int hs__sqlite_reseal(const char *path, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                      hs_reseal_stats *st, hs_error *err) {
    sqlite3 *db = NULL;
    int src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        sqlite3_close(db);
        if (src == SQLITE_CANTOPEN) return HS_OK; /* no database yet: nothing sealed, nothing to seal */
        return hs_error_set(err, HS_ERR_IO, "db", "cannot open database %s: %s", path, sqlite3_errstr(src));
    }
    sqlite3_busy_timeout(db, 5000);
    bool rekey = from && to && strcmp(from->id, to->id) != 0;
    int rc = sql_exec(db, "PRAGMA secure_delete=ON; PRAGMA synchronous=FULL; BEGIN IMMEDIATE", "starting", err);
    for (int kind = 0; rc == HS_OK && kind < HS_KIND_COUNT; kind++)
        rc = reseal_kind(db, codec, (hs_kind)kind, from, to, rekey, st, err);
    if (rc == HS_OK)
        rc = sql_exec(db, "COMMIT", "committing", err);
    else
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    /* committed: a checkpoint that cannot finish is reported, not a failure */
    if (rc == HS_OK && st->rewritten) st->checkpointed = checkpoint(db, path, &st->checkpoint_err) == HS_OK;
    sqlite3_close(db);
    return rc;
}
