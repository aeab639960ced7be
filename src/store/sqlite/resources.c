/* src/store/sqlite/resources.c — sources, destinations and connections in SQLite.
 *
 * The rows of resource documents (src/store/docs.h: what a doc gives, and
 * everything about docs that speaks no SQL): the statements of the writes
 * (src/store/resources.c decides what they check), on the writer thread
 * (hs_wop exec functions); reads on a pooled read connection.
 *
 * Secrets at rest: the text written has its secrets sealed and a doc read
 * is unsealed (src/store/docs.c). hs_store_reseal() walks a whole file on
 * its own connection: the start-up check and migration of clear values,
 * and key rotation.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "store/resources.h"
#include "store/sqlite/sqlite.h"

/* The SQL of each kind, spelled out (the rest of what a kind is:
 * hs__kinds). Named parameters let one binder (res_write) serve every
 * kind. */
typedef struct kind_def {
    const char *table;
    const char *sql_by_id;
    const char *sql_by_slug;
    const char *sql_slug_owner;
    const char *sql_insert;
    const char *sql_update;
    const char *sql_delete;
    const char *sql_user; /* the first connection using the row (HS_RES_USER) */
} kind_def;

static const kind_def kinds[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] =
        {
            .table = "sources",
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM sources WHERE id = ?1",
            .sql_delete = "DELETE FROM sources WHERE id = ?1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM sources WHERE slug = ?1",
            .sql_slug_owner = "SELECT id FROM sources WHERE slug = ?1 AND id <> ?2",
            .sql_insert = "INSERT INTO sources(id, slug, status, doc, created_at, updated_at) "
                          "VALUES(:id, :slug, :status, :doc, :created_at, :updated_at)",
            .sql_update = "UPDATE sources SET slug = :slug, status = :status, doc = :doc, "
                          "updated_at = :updated_at WHERE id = :id",
            .sql_user = "SELECT id FROM connections WHERE source_id = ?1 ORDER BY id LIMIT 1",
        },
    [HS_KIND_DESTINATION] =
        {
            .table = "destinations",
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM destinations WHERE id = ?1",
            .sql_delete = "DELETE FROM destinations WHERE id = ?1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM destinations WHERE slug = ?1",
            .sql_slug_owner = "SELECT id FROM destinations WHERE slug = ?1 AND id <> ?2",
            .sql_insert = "INSERT INTO destinations(id, slug, status, type, doc, created_at, updated_at) "
                          "VALUES(:id, :slug, :status, :type, :doc, :created_at, :updated_at)",
            .sql_update = "UPDATE destinations SET slug = :slug, status = :status, type = :type, doc = :doc, "
                          "updated_at = :updated_at WHERE id = :id",
            .sql_user = "SELECT id FROM connections WHERE destination_id = ?1 ORDER BY id LIMIT 1",
        },
    [HS_KIND_CONNECTION] =
        {
            .table = "connections",
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM connections WHERE id = ?1",
            .sql_delete = "DELETE FROM connections WHERE id = ?1",
            .sql_insert = "INSERT INTO connections(id, source_id, destination_id, enabled, doc, created_at, "
                          "updated_at) VALUES(:id, :source_id, :destination_id, :enabled, :doc, :created_at, "
                          ":updated_at)",
            .sql_update = "UPDATE connections SET source_id = :source_id, destination_id = :destination_id, "
                          "enabled = :enabled, doc = :doc, updated_at = :updated_at WHERE id = :id",
        },
};

/* ---- rows ---- */

/* Columns id, doc, created_at, updated_at of the current row, the doc's
 * secrets unsealed with the store's box (when set). */
static int row_read(sqlite3_stmt *st, hs_kind kind, const hs_store *s, hs__doc_row *r, hs_error *err) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    snprintf(r->id, sizeof r->id, "%s", id ? id : "");
    const char *text = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    r->created_at = (uint64_t)sqlite3_column_int64(st, 2);
    r->updated_at = (uint64_t)sqlite3_column_int64(st, 3);
    return hs__doc_row_parse(s, kind, text, len, r, err);
}

/* Find by id, or by slug for kinds that have one. */
static int row_load(hs_sqlite_db *c, hs_kind kind, const hs_store *s, const char *ref, hs__doc_row *r, hs_error *err) {
    const kind_def *k = &kinds[kind];
    const char *queries[2] = {k->sql_by_id, hs__kinds[kind].has_slug ? k->sql_by_slug : NULL};
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
    return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "%s %s not found", hs__kinds[kind].name, ref);
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

/* ---- writes (writer thread; what they check: src/store/resources.c) ---- */

static int res_load(hs_store *s, hs_kind kind, const char *ref, hs__doc_row *r, hs_error *err) {
    return row_load(hs__sq_writer(s), kind, s, ref, r, err);
}

static int res_find(hs_store *s, hs_kind kind, hs__res_find what, const char *a, const char *b, char id_out[HS_ID_MAX],
                    hs_error *err) {
    const char *sql = NULL;
    switch (what) {
    case HS_RES_ID: sql = kinds[kind].sql_by_id; break;
    case HS_RES_SLUG_OWNER: sql = kinds[kind].sql_slug_owner; break;
    case HS_RES_SOURCE: sql = "SELECT id FROM sources WHERE id = ?1"; break;
    case HS_RES_DESTINATION: sql = "SELECT id FROM destinations WHERE id = ?1"; break;
    case HS_RES_USER: sql = kinds[kind].sql_user; break;
    }
    if (!sql) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "no such lookup of a %s", hs__kinds[kind].name);
    return first_match(hs__sq_writer(s), sql, a, b, id_out, err);
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

/* INSERT or UPDATE the row: named parameters let one binder serve every
 * kind's statement. */
static int res_write(hs_store *s, hs_kind kind, bool insert, const char *id, const hs__doc_cols *c, const char *text,
                     uint64_t created_at, uint64_t updated_at, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, insert ? kinds[kind].sql_insert : kinds[kind].sql_update, err);
    if (!st) return err->code;
    bind_named(st, ":id", id);
    bind_named(st, ":slug", c->slug);
    bind_named(st, ":status", c->status);
    bind_named(st, ":type", c->type);
    bind_named(st, ":source_id", c->source_id);
    bind_named(st, ":destination_id", c->destination_id);
    bind_named_int(st, ":enabled", c->enabled);
    bind_named(st, ":doc", text);
    bind_named_int(st, ":created_at", (int64_t)created_at);
    bind_named_int(st, ":updated_at", (int64_t)updated_at);
    int src = sqlite3_step(st), rc = HS_OK;
    if (src != SQLITE_DONE) rc = hs_sqlite_fail(err, w->db, src, "writing a resource");
    hs_stmt_done(w, st);
    return rc;
}

/* deliveries name destinations and connections by number (queues.c) */
static int res_name(hs_store *s, const char *id, hs_error *err) {
    int64_t key;
    return hs_ref_key(hs__sq_writer(s), id, true, &key, err);
}

static int res_cancel(hs_store *s, const char *destination_id, hs_error *err) {
    return hs_deliveries_cancel(s, destination_id, hs_now_ms(), NULL, NULL, err);
}

static int res_remove(hs_store *s, hs_kind kind, const char *id, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, kinds[kind].sql_delete, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = HS_OK;
    if (src != SQLITE_DONE) rc = hs_sqlite_fail(err, w->db, src, "deleting a resource");
    hs_stmt_done(w, st);
    return rc;
}

const hs__res_ops hs__sqlite_res_ops = {
    .load = res_load,
    .find = res_find,
    .write = res_write,
    .name = res_name,
    .cancel = res_cancel,
    .remove = res_remove,
};

/* ---- reads (any thread) ---- */

int hs__sqlite_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    hs__doc_row r;
    int rc = row_load(c, kind, s, id_or_slug, &r, err);
    hs_reader_put(s, c);
    if (rc == HS_OK) *out = hs__doc_with_times(r.doc, r.created_at, r.updated_at);
    return rc;
}

/* SELECT for one page; column names come from the kind's whitelist only
 * (the fields were checked by src/store/store.c), every value is a bound
 * parameter. */
static int list_sql(hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters, hs_buf *sql,
                    hs_error *err) {
    hs_buf_appendf(sql, "SELECT id, doc, created_at, updated_at FROM %s WHERE 1", kinds[kind].table);
    if (page->cursor) hs_buf_appends(sql, " AND id < ?");
    for (size_t i = 0; i < nfilters; i++) {
        const char *col = hs__kind_column(kind, filters[i].field);
        if (!col)
            return hs_error_set(err, HS_ERR_INVALID, "filter", "%ss cannot be filtered on this field",
                                hs__kinds[kind].name);
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
        hs__doc_row r;
        int ret = row_read(st, kind, s, &r, err);
        if (ret != HS_OK) return ret;
        json_array_append_new(items, hs__doc_with_times(r.doc, r.created_at, r.updated_at));
    }
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, c->db, rc, "listing");
}

int hs__sqlite_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters,
                             size_t nfilters, json_t **items, bool *has_more, hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 1024);
    int rc = list_sql(kind, page, filters, nfilters, &sql, err);
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

/* Every row of one table (of kind, for codec): checked, and the ones to
 * rewrite written back. */
static int reseal_table(sqlite3 *db, const char *table, const hs_secret_codec *codec, hs_kind kind,
                        const hs_secretbox *from, const hs_secretbox *to, bool rekey, hs_reseal_stats *st,
                        hs_error *err) {
    if (!has_table(db, table)) return HS_OK;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id, doc FROM %s", table);
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &q, NULL), rc = HS_OK;
    if (src != SQLITE_OK) return hs_sqlite_fail(err, db, src, "reading resources");
    json_t *out = json_array();
    while (rc == HS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        char *sealed = NULL; /* kept as [id, text] until the scan is over */
        rc = hs__doc_reseal(codec, kind, id ? id : "?", sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                            from, to, rekey, &sealed, st, err);
        if (sealed) {
            json_array_append_new(out, json_pack("[s,s]", id ? id : "?", sealed));
            hs__json_str_free(sealed);
        }
    }
    if (rc == HS_OK && src != SQLITE_DONE) rc = hs_sqlite_fail(err, db, src, "reading resources");
    sqlite3_finalize(q);
    /* written after the scan: no statement reads a table it also changes */
    snprintf(sql, sizeof sql, "UPDATE %s SET doc = ?1 WHERE id = ?2", table);
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
        rc = reseal_table(db, kinds[kind].table, codec, (hs_kind)kind, from, to, rekey, st, err);
    /* the notification channels' secrets too (src/store/ops.h) */
    if (rc == HS_OK)
        rc = reseal_table(db, "notification_channels", &hs_channel_secret_codec, HS_KIND_SOURCE, from, to, rekey, st,
                          err);
    if (rc == HS_OK)
        rc = sql_exec(db, "COMMIT", "committing", err);
    else
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    /* committed: a checkpoint that cannot finish is reported, not a failure */
    if (rc == HS_OK && st->rewritten) st->checkpointed = checkpoint(db, path, &st->checkpoint_err) == HS_OK;
    sqlite3_close(db);
    return rc;
}
