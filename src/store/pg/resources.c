/* src/store/pg/resources.c — sources, destinations and connections in PostgreSQL.
 *
 * The port of src/store/sqlite/resources.c, row for row: a resource row is
 * its JSON doc (as validated by src/core/resource.c, without the
 * timestamps) plus the columns the store looks up, checks or filters on,
 * re-extracted from the doc on every write. Writes run on the writer thread
 * (hs_wop exec functions) on the writer's connection, inside the group's
 * transaction (each statement waits for its result: resources are rare);
 * reads on a pooled read connection, from any thread.
 *
 * Secrets at rest: with a box (hs_store_set_secretbox) the text written is
 * that of a copy whose secrets are sealed (the codec core hands the store,
 * src/core/resource.c's), and a doc read is unsealed before anyone sees it,
 * so the clear values exist only in memory. hs_store_reseal() walks a whole
 * database on its own connection, in one transaction: the start-up check
 * and migration of clear values, and key rotation.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/timeutil.h"
#include "store/pg/pg.h"

/* The values a write binds, by name. PostgreSQL's parameters are
 * positional ($1..$n): each statement lists the names of its $1, $2, ... in
 * order, and one binder (bind_write) serves every kind, as SQLite's named
 * parameters did. */
typedef enum param {
    P_END = 0,
    P_ID,
    P_SLUG,
    P_STATUS,
    P_TYPE,
    P_SOURCE_ID,
    P_DESTINATION_ID,
    P_ENABLED,
    P_DOC,
    P_CREATED_AT,
    P_UPDATED_AT,
} param;

/* An INSERT or UPDATE and what its $1..$n are. */
typedef struct write_sql {
    const char *sql;
    param order[8]; /* P_END after the last */
} write_sql;

/* The SQL of each kind, spelled out. */
typedef struct kind_def {
    const char *name; /* for messages */
    const char *table;
    const char *prefix;
    bool has_slug;
    const char *cols[3]; /* indexed columns: the only legal filters */
    const char *sql_by_id;
    const char *sql_by_slug;
    const char *sql_slug_owner;
    write_sql insert;
    write_sql update;
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
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM sources WHERE id = $1",
            .sql_delete = "DELETE FROM sources WHERE id = $1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM sources WHERE slug = $1",
            .sql_slug_owner = "SELECT id FROM sources WHERE slug = $1 AND id <> $2",
            .insert = {"INSERT INTO sources(id, slug, status, doc, created_at, updated_at) "
                       "VALUES($1, $2, $3, $4, $5, $6)",
                       {P_ID, P_SLUG, P_STATUS, P_DOC, P_CREATED_AT, P_UPDATED_AT}},
            .update = {"UPDATE sources SET slug = $2, status = $3, doc = $4, updated_at = $5 WHERE id = $1",
                       {P_ID, P_SLUG, P_STATUS, P_DOC, P_UPDATED_AT}},
        },
    [HS_KIND_DESTINATION] =
        {
            .name = "destination",
            .table = "destinations",
            .prefix = "dst_",
            .has_slug = true,
            .cols = {"slug", "status", "type"},
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM destinations WHERE id = $1",
            .sql_delete = "DELETE FROM destinations WHERE id = $1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM destinations WHERE slug = $1",
            .sql_slug_owner = "SELECT id FROM destinations WHERE slug = $1 AND id <> $2",
            .insert = {"INSERT INTO destinations(id, slug, status, type, doc, created_at, updated_at) "
                       "VALUES($1, $2, $3, $4, $5, $6, $7)",
                       {P_ID, P_SLUG, P_STATUS, P_TYPE, P_DOC, P_CREATED_AT, P_UPDATED_AT}},
            .update = {"UPDATE destinations SET slug = $2, status = $3, type = $4, doc = $5, updated_at = $6 "
                       "WHERE id = $1",
                       {P_ID, P_SLUG, P_STATUS, P_TYPE, P_DOC, P_UPDATED_AT}},
        },
    [HS_KIND_CONNECTION] =
        {
            .name = "connection",
            .table = "connections",
            .prefix = "conn_",
            .has_slug = false,
            .cols = {"source_id", "destination_id", "enabled"},
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM connections WHERE id = $1",
            .sql_delete = "DELETE FROM connections WHERE id = $1",
            .insert = {"INSERT INTO connections(id, source_id, destination_id, enabled, doc, created_at, "
                       "updated_at) VALUES($1, $2, $3, $4, $5, $6, $7)",
                       {P_ID, P_SOURCE_ID, P_DESTINATION_ID, P_ENABLED, P_DOC, P_CREATED_AT, P_UPDATED_AT}},
            .update = {"UPDATE connections SET source_id = $2, destination_id = $3, enabled = $4, doc = $5, "
                       "updated_at = $6 WHERE id = $1",
                       {P_ID, P_SOURCE_ID, P_DESTINATION_ID, P_ENABLED, P_DOC, P_UPDATED_AT}},
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

/* Columns id, doc, created_at, updated_at of row `row` of res, the doc's
 * secrets unsealed with the store's box (when set). */
static int row_read(const PGresult *res, int row, hs_kind kind, const hs_store *s, res_row *r, hs_error *err) {
    hs_pg_copy(r->id, sizeof r->id, res, row, 0);
    const char *text = hs_pg_get_text(res, row, 1);
    size_t len = text ? (size_t)PQgetlength(res, row, 1) : 0;
    json_error_t jerr;
    r->doc = text ? json_loadb(text, len, 0, &jerr) : NULL;
    r->created_at = (uint64_t)hs_pg_get_int(res, row, 2);
    r->updated_at = (uint64_t)hs_pg_get_int(res, row, 3);
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
static int row_load(hs_pg_conn *c, hs_kind kind, const hs_store *s, const char *ref, res_row *r, hs_error *err) {
    const kind_def *k = &kinds[kind];
    const char *queries[2] = {k->sql_by_id, k->has_slug ? k->sql_by_slug : NULL};
    for (int i = 0; i < 2 && queries[i]; i++) {
        hs_pg_params p = {0};
        hs_pg_text(&p, ref);
        PGresult *res = hs_pg_exec(c, queries[i], &p, "reading a resource", err);
        if (!res) return err->code;
        int ret = PQntuples(res) > 0 ? row_read(res, 0, kind, s, r, err) : HS_ERR_NOTFOUND;
        PQclear(res);
        if (ret != HS_ERR_NOTFOUND) return ret;
    }
    return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "%s %s not found", k->name, ref);
}

/* The id of the row that has a matching column, or "" (or an error). sql's
 * first column is the id; b (may be NULL) is $2. */
static int first_match(hs_pg_conn *c, const char *sql, const char *a, const char *b, char *id_out, hs_error *err) {
    id_out[0] = '\0';
    hs_pg_params p = {0};
    hs_pg_text(&p, a);
    if (b) hs_pg_text(&p, b);
    PGresult *res = hs_pg_exec(c, sql, &p, "checking constraints", err);
    if (!res) return err->code;
    if (PQntuples(res) > 0) {
        const char *id = hs_pg_get_text(res, 0, 0);
        snprintf(id_out, HS_ID_MAX, "%s", id ? id : "?");
    }
    PQclear(res);
    return HS_OK;
}

/* Uniqueness and references, checked before writing so that the error can
 * name the field and the other object. */
static int check_constraints(hs_pg_conn *w, const kind_def *k, const char *id, const doc_cols *c, hs_error *err) {
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (k->has_slug && c->slug) {
        rc = first_match(w, k->sql_slug_owner, c->slug, id, other, err);
        if (rc == HS_OK && other[0])
            return hs_error_set(err, HS_ERR_CONFLICT, "slug", "slug \"%s\" is already used by %s", c->slug, other);
    }
    if (rc == HS_OK && c->source_id) {
        rc = first_match(w, "SELECT id FROM sources WHERE id = $1", c->source_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "source_id", "no such source: %s", c->source_id);
    }
    if (rc == HS_OK && c->destination_id) {
        rc = first_match(w, "SELECT id FROM destinations WHERE id = $1", c->destination_id, NULL, other, err);
        if (rc == HS_OK && !other[0])
            return hs_error_set(err, HS_ERR_INVALID, "destination_id", "no such destination: %s", c->destination_id);
    }
    return rc;
}

/* $1..$n of a write, in the order its statement names them. */
static void bind_write(hs_pg_params *p, const write_sql *ws, const char *id, const doc_cols *c, const char *text,
                       uint64_t created_at, uint64_t updated_at) {
    for (size_t i = 0; i < sizeof ws->order / sizeof ws->order[0] && ws->order[i] != P_END; i++) {
        switch (ws->order[i]) {
        case P_ID: hs_pg_text(p, id); break;
        case P_SLUG: hs_pg_text(p, c->slug); break;
        case P_STATUS: hs_pg_text(p, c->status); break;
        case P_TYPE: hs_pg_text(p, c->type); break;
        case P_SOURCE_ID: hs_pg_text(p, c->source_id); break;
        case P_DESTINATION_ID: hs_pg_text(p, c->destination_id); break;
        case P_ENABLED: hs_pg_int(p, c->enabled); break;
        case P_DOC: hs_pg_text(p, text); break;
        case P_CREATED_AT: hs_pg_int(p, (int64_t)created_at); break;
        case P_UPDATED_AT: hs_pg_int(p, (int64_t)updated_at); break;
        case P_END: break;
        }
    }
}

/* The text stored for doc: its secrets sealed when there is a box. */
static char *doc_text(const hs_store *s, hs_kind kind, const json_t *doc, hs_error *err) {
    if (!s->box) return json_dumps(doc, JSON_COMPACT);
    json_t *copy = json_deep_copy(doc);
    char *text = hs__store_seal(s, kind, copy, err) == HS_OK ? json_dumps(copy, JSON_COMPACT) : NULL;
    json_decref(copy);
    return text;
}

/* INSERT or UPDATE (ws) the row for doc. */
static int row_write(hs_store *s, hs_kind kind, const write_sql *ws, const char *id, const json_t *doc,
                     uint64_t created_at, uint64_t updated_at, hs_error *err) {
    const kind_def *k = &kinds[kind];
    hs_pg_conn *w = hs__pg_writer(s);
    doc_cols c;
    int rc = extract_cols(kind, doc, &c, err);
    if (rc == HS_OK) rc = check_constraints(w, k, id, &c, err);
    if (rc != HS_OK) return rc;
    char *text = doc_text(s, kind, doc, err);
    if (!text) return err->code ? err->code : hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode a document");
    hs_pg_params p = {0};
    bind_write(&p, ws, id, &c, text, created_at, updated_at);
    rc = hs_pg_run(w, ws->sql, &p, "writing a resource", NULL, err);
    json_str_free(text);
    return rc;
}

/* ---- writes (writer thread) ---- */

int hs__pg_resource_create(hs_store *s, hs_kind kind, const json_t *in, json_t **out, hs_error *err) {
    const kind_def *k = &kinds[kind];
    json_t *doc = doc_stripped(in);
    const char *id = json_string_value(json_object_get(doc, "id"));
    char other[HS_ID_MAX];
    int rc = HS_OK;
    if (!hs_id_valid(k->prefix, id))
        rc = hs_error_set(err, HS_ERR_INVALID, "id", "must be a %s id (%s + 32 hex digits)", k->name, k->prefix);
    if (rc == HS_OK) rc = first_match(hs__pg_writer(s), k->sql_by_id, id, NULL, other, err);
    if (rc == HS_OK && other[0]) rc = hs_error_set(err, HS_ERR_CONFLICT, "id", "%s %s already exists", k->name, id);
    uint64_t now = hs_now_ms();
    if (rc == HS_OK) rc = row_write(s, kind, &k->insert, id, doc, now, now, err);
    /* deliveries name destinations and connections by number (queues.c) */
    int64_t key;
    if (rc == HS_OK && kind != HS_KIND_SOURCE) rc = hs_pg_ref_key(hs__pg_writer(s), id, true, &key, err);
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

int hs__pg_resource_update(hs_store *s, hs_kind kind, const char *id, hs_update_fn fn, void *ud, json_t **out,
                           hs_error *err) {
    const kind_def *k = &kinds[kind];
    res_row r;
    int rc = row_load(hs__pg_writer(s), kind, s, id, &r, err);
    if (rc != HS_OK) return rc;
    json_t *doc = NULL;
    rc = apply_fn(fn, ud, &r, &doc, err);
    json_decref(r.doc);
    if (rc != HS_OK) return rc;
    uint64_t now = hs_now_ms();
    if (now < r.created_at) now = r.created_at; /* clock stepped back: keep updated >= created */
    rc = row_write(s, kind, &k->update, r.id, doc, r.created_at, now, err);
    if (rc != HS_OK) {
        json_decref(doc);
        return rc;
    }
    *out = doc_with_times(doc, r.created_at, now);
    return HS_OK;
}

int hs__pg_resource_delete(hs_store *s, hs_kind kind, const char *id, hs_error *err) {
    const kind_def *k = &kinds[kind];
    hs_pg_conn *w = hs__pg_writer(s);
    res_row r;
    int rc = row_load(w, kind, s, id, &r, err);
    if (rc != HS_OK) return rc;
    json_decref(r.doc);
    char conn[HS_ID_MAX] = "";
    if (kind == HS_KIND_SOURCE)
        rc = first_match(w, "SELECT id FROM connections WHERE source_id = $1 ORDER BY id LIMIT 1", r.id, NULL, conn,
                         err);
    else if (kind == HS_KIND_DESTINATION)
        rc = first_match(w, "SELECT id FROM connections WHERE destination_id = $1 ORDER BY id LIMIT 1", r.id, NULL,
                         conn, err);
    if (rc != HS_OK) return rc;
    if (conn[0])
        return hs_error_set(err, HS_ERR_CONFLICT, NULL, "%s %s is used by connection %s; delete that first", k->name,
                            r.id, conn);
    if (kind == HS_KIND_DESTINATION) rc = hs_pg_deliveries_cancel(s, r.id, hs_now_ms(), NULL, NULL, err);
    if (rc != HS_OK) return rc;
    hs_pg_params p = {0};
    hs_pg_text(&p, r.id);
    return hs_pg_run(w, k->sql_delete, &p, "deleting a resource", NULL, err);
}

/* ---- reads (any thread) ---- */

int hs__pg_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    res_row r;
    int rc = row_load(c, kind, s, id_or_slug, &r, err);
    hs_pg_reader_put(s, c);
    if (rc == HS_OK) *out = doc_with_times(r.doc, r.created_at, r.updated_at);
    return rc;
}

static const char *filter_column(const kind_def *k, const char *field) {
    for (size_t i = 0; i < sizeof k->cols / sizeof k->cols[0]; i++)
        if (k->cols[i] && field && strcmp(k->cols[i], field) == 0) return k->cols[i];
    return NULL;
}

/* SELECT for one page, and its parameters; column names come from the
 * kind's whitelist only (the fields were checked by src/store/store.c),
 * every value is a parameter: the cursor, the filters' values, the limit,
 * numbered in that order. */
static int list_sql(const kind_def *k, const hs_page *page, const hs_list_filter *filters, size_t nfilters, hs_buf *sql,
                    hs_pg_params *p, hs_error *err) {
    if (nfilters + 2 > HS_PG_PARAMS_MAX) return hs_error_set(err, HS_ERR_INVALID, NULL, "too many filters");
    hs_buf_appendf(sql, "SELECT id, doc, created_at, updated_at FROM %s WHERE true", k->table);
    if (page->cursor) {
        hs_pg_text(p, page->cursor);
        hs_buf_appendf(sql, " AND id < $%d", p->n);
    }
    for (size_t i = 0; i < nfilters; i++) {
        const char *col = filter_column(k, filters[i].field);
        if (!col) return hs_error_set(err, HS_ERR_INVALID, "filter", "%ss cannot be filtered on this field", k->name);
        if (strcmp(col, "enabled") == 0) /* an integer column: 1 or 0 */
            hs_pg_int(p, strcmp(filters[i].value, "true") == 0);
        else
            hs_pg_text(p, filters[i].value);
        hs_buf_appendf(sql, " AND %s = $%d", col, p->n);
    }
    hs_pg_int(p, (int64_t)page->limit + 1); /* one more tells whether another page exists */
    hs_buf_appendf(sql, " ORDER BY id DESC LIMIT $%d", p->n);
    return HS_OK;
}

static int list_rows(const PGresult *res, hs_kind kind, const hs_store *s, int limit, json_t *items, bool *has_more,
                     hs_error *err) {
    int n = PQntuples(res);
    for (int row = 0; row < n; row++) {
        if ((int)json_array_size(items) == limit) {
            *has_more = true;
            return HS_OK;
        }
        res_row r;
        int ret = row_read(res, row, kind, s, &r, err);
        if (ret != HS_OK) return ret;
        json_array_append_new(items, doc_with_times(r.doc, r.created_at, r.updated_at));
    }
    return HS_OK;
}

int hs__pg_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters,
                         json_t **items, bool *has_more, hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 1024);
    hs_pg_params p = {0};
    int rc = list_sql(&kinds[kind], page, filters, nfilters, &sql, &p, err);
    hs_pg_conn *c = rc == HS_OK ? hs_pg_reader_get(s, err) : NULL;
    if (!c) {
        hs_buf_free(&sql);
        return rc != HS_OK ? rc : err->code;
    }
    PGresult *res = hs_pg_exec(c, sql.data, &p, "listing", err);
    hs_buf_free(&sql);
    hs_pg_reader_put(s, c);
    if (!res) return err->code;
    *items = json_array();
    rc = list_rows(res, kind, s, page->limit, *items, has_more, err);
    PQclear(res);
    if (rc != HS_OK) {
        json_decref(*items);
        *items = NULL;
        *has_more = false;
    }
    return rc;
}

/* ---- secrets at rest ----
 *
 * hs_store_reseal runs on a store that is not open, on a connection of its
 * own (not an hs_pg_conn: nothing here is worth preparing), in the normal
 * mode. */

/* Session settings, as pg.c's connections have them (a commit is durable
 * when it answers), and lock waits bounded as SQLite's busy timeout bounds
 * them: a running node holding a resource row fails the walk with
 * HS_ERR_BUSY instead of hanging it. */
static const char SQL_RESEAL_SESSION[] = "SET synchronous_commit TO on; SET bytea_output TO hex; "
                                         "SET client_encoding TO 'UTF8'; SET standard_conforming_strings TO on; "
                                         "SET lock_timeout TO '5s'";

/* Connect with url (a postgres:// URL or a conninfo string, expanded as
 * dbname). */
static PGconn *reseal_connect(const char *url) {
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "hookstream", url, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

/* PostgreSQL's message without its trailing newline. */
static void pq_message(const char *msg, char *out, size_t cap) {
    snprintf(out, cap, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
}

/* The connection failed because the database it names does not exist. */
static bool db_missing(PGconn *pg) {
    const char *db = PQdb(pg), *msg = PQerrorMessage(pg);
    if (!db || !msg) return false;
    char want[256];
    snprintf(want, sizeof want, "database \"%s\" does not exist", db);
    return strstr(msg, want) != NULL;
}

/* A failed statement (r) or connection (r NULL) into err ("what: reason"),
 * its code from the SQLSTATE as pg.c maps it. */
static int pq_fail(hs_error *err, PGconn *pg, const PGresult *r, const char *what) {
    char msg[400];
    pq_message(r ? PQresultErrorMessage(r) : PQerrorMessage(pg), msg, sizeof msg);
    if (PQstatus(pg) != CONNECTION_OK)
        return hs_error_set(err, HS_ERR_IO, NULL, "%s: the connection to PostgreSQL was lost: %s", what, msg);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = HS_ERR_IO;
    if (state && strcmp(state, "23505") == 0)
        code = HS_ERR_CONFLICT;
    else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        code = HS_ERR_BUSY;
    return hs_error_set(err, code, NULL, "%s: %s", what, msg);
}

/* Run sql (p may be NULL) unprepared: its result (PQclear it), or NULL and
 * err filled. */
static PGresult *pq_exec(PGconn *pg, const char *sql, const hs_pg_params *p, const char *what, hs_error *err) {
    PGresult *r = p ? PQexecParams(pg, sql, p->n, NULL, p->v, p->len, p->fmt, 0) : PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    pq_fail(err, pg, r, what);
    PQclear(r);
    return NULL;
}

static int pq_run(PGconn *pg, const char *sql, const hs_pg_params *p, const char *what, hs_error *err) {
    PGresult *r = pq_exec(pg, sql, p, what, err);
    if (!r) return err->code;
    PQclear(r);
    return HS_OK;
}

/* Does the current schema (search_path) hold a table or view of that name? */
static int has_table(PGconn *pg, const char *table, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, table);
    PGresult *r = pq_exec(pg, "SELECT to_regclass($1) IS NOT NULL", &p, "reading resources", err);
    if (!r) return err->code;
    const char *v = hs_pg_get_text(r, 0, 0);
    *found = v && strcmp(v, "t") == 0;
    PQclear(r);
    return HS_OK;
}

/* One row: its secrets opened with from, and when it is to be written back,
 * its new text (sealed under to) in *sealed (free with json_str_free). */
static int reseal_row(const hs_secret_codec *codec, hs_kind kind, const char *id, const char *text, size_t len,
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

/* Every row of one kind: checked, and the ones to rewrite written back. The
 * rows are locked (FOR UPDATE) when they may be written: a node running on
 * the same database cannot change one in between. */
static int reseal_kind(PGconn *pg, const hs_secret_codec *codec, hs_kind kind, const hs_secretbox *from,
                       const hs_secretbox *to, bool rekey, hs_reseal_stats *st, hs_error *err) {
    const kind_def *k = &kinds[kind];
    bool found = false;
    int rc = has_table(pg, k->table, &found, err);
    if (rc != HS_OK || !found) return rc;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id, doc FROM %s ORDER BY id%s", k->table, to ? " FOR UPDATE" : "");
    PGresult *res = pq_exec(pg, sql, NULL, "reading resources", err);
    if (!res) return err->code;
    /* the whole result is in memory: rows are written back as they are
     * walked */
    char upd[128];
    snprintf(upd, sizeof upd, "UPDATE %s SET doc = $1 WHERE id = $2", k->table);
    int n = PQntuples(res);
    for (int row = 0; rc == HS_OK && row < n; row++) {
        const char *id = hs_pg_get_text(res, row, 0);
        const char *text = hs_pg_get_text(res, row, 1);
        char *sealed = NULL;
        rc = reseal_row(codec, kind, id ? id : "?", text, text ? (size_t)PQgetlength(res, row, 1) : 0, from, to, rekey,
                        &sealed, st, err);
        if (rc == HS_OK && sealed) {
            hs_pg_params p = {0};
            hs_pg_text(&p, sealed);
            hs_pg_text(&p, id);
            rc = pq_run(pg, upd, &p, "writing resources", err);
            st->rewritten++;
        }
        if (sealed) json_str_free(sealed);
    }
    PQclear(res);
    return rc;
}

int hs__pg_reseal(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                  hs_reseal_stats *st, hs_error *err) {
    PGconn *pg = reseal_connect(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        /* no database yet: nothing sealed, nothing to seal */
        int rc = HS_OK;
        if (!db_missing(pg)) {
            char msg[400];
            pq_message(PQerrorMessage(pg), msg, sizeof msg);
            const char *db = PQdb(pg);
            rc = hs_error_set(err, HS_ERR_IO, "db", "cannot open database %s: %s", db ? db : "?", msg);
        }
        PQfinish(pg);
        return rc;
    }
    bool rekey = from && to && strcmp(from->id, to->id) != 0;
    int rc = pq_run(pg, SQL_RESEAL_SESSION, NULL, "starting", err);
    /* no hookstream schema in this database (search_path): nothing to do */
    bool ours = false;
    if (rc == HS_OK) rc = has_table(pg, "hookstream_schema", &ours, err);
    if (rc == HS_OK && ours) rc = pq_run(pg, "BEGIN", NULL, "starting", err);
    for (int kind = 0; rc == HS_OK && ours && kind < HS_KIND_COUNT; kind++)
        rc = reseal_kind(pg, codec, (hs_kind)kind, from, to, rekey, st, err);
    if (rc == HS_OK && ours) {
        rc = pq_run(pg, "COMMIT", NULL, "committing", err);
    } else if (ours && PQtransactionStatus(pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(pg, "ROLLBACK");
        PQclear(r);
    }
    /* There is no WAL of ours to checkpoint: PostgreSQL's files are the
     * server's. The rows' old versions (with the values as they were) stay
     * in the tables' free space until VACUUM reclaims them (and may stay in
     * the server's WAL archive and backups); VACUUM cannot run inside the
     * transaction above, and hookstream leaves it to the server's
     * autovacuum. The rewrite itself is committed and durable: reported as
     * done. */
    if (rc == HS_OK && st->rewritten) st->checkpointed = true;
    PQfinish(pg);
    return rc;
}
