/* src/store/pg/resources.c — sources, destinations and connections in PostgreSQL.
 *
 * The port of src/store/sqlite/resources.c, row for row: the rows of
 * resource documents (src/store/docs.h: what a doc gives, and everything
 * about docs that speaks no SQL). The statements of the writes
 * (src/store/resources.c decides what they check) run on the writer thread
 * (hs_wop exec functions) on the writer's connection, inside the group's
 * transaction (each statement waits for its result: resources are rare);
 * reads on a pooled read connection, from any thread.
 *
 * Secrets at rest: the text written has its secrets sealed and a doc read
 * is unsealed (src/store/docs.c). hs_store_reseal() walks a whole database
 * on its own connection, in one transaction: the start-up check and
 * migration of clear values, and key rotation.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/timeutil.h"
#include "store/pg/pg.h"
#include "store/resources.h"

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

/* The SQL of each kind, spelled out (the rest of what a kind is:
 * hs__kinds). */
typedef struct kind_def {
    const char *table;
    const char *sql_by_id;
    const char *sql_by_slug;
    const char *sql_slug_owner;
    write_sql insert;
    write_sql update;
    const char *sql_delete;
    const char *sql_user; /* the first connection using the row (HS_RES_USER) */
} kind_def;

static const kind_def kinds[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] =
        {
            .table = "sources",
            .sql_by_id = "SELECT id, doc, created_at, updated_at FROM sources WHERE id = $1",
            .sql_delete = "DELETE FROM sources WHERE id = $1",
            .sql_by_slug = "SELECT id, doc, created_at, updated_at FROM sources WHERE slug = $1",
            .sql_slug_owner = "SELECT id FROM sources WHERE slug = $1 AND id <> $2",
            .insert = {"INSERT INTO sources(id, slug, status, doc, created_at, updated_at) "
                       "VALUES($1, $2, $3, $4, $5, $6)",
                       {P_ID, P_SLUG, P_STATUS, P_DOC, P_CREATED_AT, P_UPDATED_AT}},
            .update = {"UPDATE sources SET slug = $2, status = $3, doc = $4, updated_at = $5 WHERE id = $1",
                       {P_ID, P_SLUG, P_STATUS, P_DOC, P_UPDATED_AT}},
            .sql_user = "SELECT id FROM connections WHERE source_id = $1 ORDER BY id LIMIT 1",
        },
    [HS_KIND_DESTINATION] =
        {
            .table = "destinations",
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
            .sql_user = "SELECT id FROM connections WHERE destination_id = $1 ORDER BY id LIMIT 1",
        },
    [HS_KIND_CONNECTION] =
        {
            .table = "connections",
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

/* ---- rows ---- */

/* Columns id, doc, created_at, updated_at of row `row` of res, the doc's
 * secrets unsealed with the store's box (when set). */
static int row_read(const PGresult *res, int row, hs_kind kind, const hs_store *s, hs__doc_row *r, hs_error *err) {
    hs_pg_copy(r->id, sizeof r->id, res, row, 0);
    const char *text = hs_pg_get_text(res, row, 1);
    size_t len = text ? (size_t)PQgetlength(res, row, 1) : 0;
    r->created_at = (uint64_t)hs_pg_get_int(res, row, 2);
    r->updated_at = (uint64_t)hs_pg_get_int(res, row, 3);
    return hs__doc_row_parse(s, kind, text, len, r, err);
}

/* Find by id, or by slug for kinds that have one. */
static int row_load(hs_pg_conn *c, hs_kind kind, const hs_store *s, const char *ref, hs__doc_row *r, hs_error *err) {
    const kind_def *k = &kinds[kind];
    const char *queries[2] = {k->sql_by_id, hs__kinds[kind].has_slug ? k->sql_by_slug : NULL};
    for (int i = 0; i < 2 && queries[i]; i++) {
        hs_pg_params p = {0};
        hs_pg_text(&p, ref);
        PGresult *res = hs_pg_exec(c, queries[i], &p, "reading a resource", err);
        if (!res) return err->code;
        int ret = PQntuples(res) > 0 ? row_read(res, 0, kind, s, r, err) : HS_ERR_NOTFOUND;
        PQclear(res);
        if (ret != HS_ERR_NOTFOUND) return ret;
    }
    return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "%s %s not found", hs__kinds[kind].name, ref);
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

/* ---- writes (writer thread; what they check: src/store/resources.c) ---- */

static int res_load(hs_store *s, hs_kind kind, const char *ref, hs__doc_row *r, hs_error *err) {
    return row_load(hs__pg_writer(s), kind, s, ref, r, err);
}

static int res_find(hs_store *s, hs_kind kind, hs__res_find what, const char *a, const char *b, char id_out[HS_ID_MAX],
                    hs_error *err) {
    const char *sql = NULL;
    switch (what) {
    case HS_RES_ID: sql = kinds[kind].sql_by_id; break;
    case HS_RES_SLUG_OWNER: sql = kinds[kind].sql_slug_owner; break;
    case HS_RES_SOURCE: sql = "SELECT id FROM sources WHERE id = $1"; break;
    case HS_RES_DESTINATION: sql = "SELECT id FROM destinations WHERE id = $1"; break;
    case HS_RES_USER: sql = kinds[kind].sql_user; break;
    }
    if (!sql) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "no such lookup of a %s", hs__kinds[kind].name);
    return first_match(hs__pg_writer(s), sql, a, b, id_out, err);
}

/* $1..$n of a write, in the order its statement names them. */
static void bind_write(hs_pg_params *p, const write_sql *ws, const char *id, const hs__doc_cols *c, const char *text,
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

/* INSERT or UPDATE the row: each statement says which value is its $1,
 * $2, ... */
/* The other nodes hear of a resource written or deleted at the commit
 * (the change feed: they read it again and apply it as this node does). */
static int res_announce(hs_store *s, hs_kind kind, const char *id, bool deleted, hs_error *err) {
    const char *node = hs__pgs(s)->node;
    char m[160];
    snprintf(m, sizeof m, "r %s %d %s %d", node[0] ? node : "-", (int)kind, id, deleted ? 1 : 0);
    return hs_pg_feed_send(s, m, err);
}

static int res_write(hs_store *s, hs_kind kind, bool insert, const char *id, const hs__doc_cols *c, const char *text,
                     uint64_t created_at, uint64_t updated_at, hs_error *err) {
    const write_sql *ws = insert ? &kinds[kind].insert : &kinds[kind].update;
    hs_pg_params p = {0};
    bind_write(&p, ws, id, c, text, created_at, updated_at);
    int rc = hs_pg_run(hs__pg_writer(s), ws->sql, &p, "writing a resource", NULL, err);
    uint64_t lease_ms = atomic_load(&s->create_lease_ms);
    if (rc == HS_OK && insert && kind == HS_KIND_DESTINATION && s->node_id[0] && lease_ms) {
        /* this node delivers it from the start (src/cluster/ spreads later) */
        hs_pg_params l = {0};
        hs_pg_text(&l, id);
        hs_pg_text(&l, s->node_id);
        hs_pg_int(&l, (int64_t)lease_ms);
        rc = hs_pg_run(hs__pg_writer(s),
                       "INSERT INTO leases(destination_id, owner, epoch, expires_at) VALUES($1, $2, 1, hs_now_ms() + "
                       "$3) ON CONFLICT (destination_id) DO NOTHING",
                       &l, "leasing the new destination", NULL, err);
    }
    return rc == HS_OK ? res_announce(s, kind, id, false, err) : rc;
}

/* deliveries name destinations and connections by number (queues.c) */
static int res_name(hs_store *s, const char *id, hs_error *err) {
    int64_t key;
    return hs_pg_ref_key(hs__pg_writer(s), id, true, &key, err);
}

static int res_cancel(hs_store *s, const char *destination_id, hs_error *err) {
    return hs_pg_deliveries_cancel(s, destination_id, hs_now_ms(), NULL, NULL, err);
}

static int res_remove(hs_store *s, hs_kind kind, const char *id, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    int rc = hs_pg_run(hs__pg_writer(s), kinds[kind].sql_delete, &p, "deleting a resource", NULL, err);
    /* a deleted destination's lease goes with it */
    if (rc == HS_OK && kind == HS_KIND_DESTINATION)
        rc = hs_pg_run(hs__pg_writer(s), "DELETE FROM leases WHERE destination_id = $1", &p, "dropping the lease", NULL,
                       err);
    return rc == HS_OK ? res_announce(s, kind, id, true, err) : rc;
}

const hs__res_ops hs__pg_res_ops = {
    .load = res_load,
    .find = res_find,
    .write = res_write,
    .name = res_name,
    .cancel = res_cancel,
    .remove = res_remove,
};

/* ---- reads (any thread) ---- */

int hs__pg_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs__doc_row r;
    int rc = row_load(c, kind, s, id_or_slug, &r, err);
    hs_pg_reader_put(s, c);
    if (rc == HS_OK) *out = hs__doc_with_times(r.doc, r.created_at, r.updated_at);
    return rc;
}

/* SELECT for one page, and its parameters; column names come from the
 * kind's whitelist only (the fields were checked by src/store/store.c),
 * every value is a parameter: the cursor, the filters' values, the limit,
 * numbered in that order. */
static int list_sql(hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters, hs_buf *sql,
                    hs_pg_params *p, hs_error *err) {
    if (nfilters + 2 > HS_PG_PARAMS_MAX) return hs_error_set(err, HS_ERR_INVALID, NULL, "too many filters");
    hs_buf_appendf(sql, "SELECT id, doc, created_at, updated_at FROM %s WHERE true", kinds[kind].table);
    if (page->cursor) {
        hs_pg_text(p, page->cursor);
        hs_buf_appendf(sql, " AND id < $%d", p->n);
    }
    for (size_t i = 0; i < nfilters; i++) {
        const char *col = hs__kind_column(kind, filters[i].field);
        if (!col)
            return hs_error_set(err, HS_ERR_INVALID, "filter", "%ss cannot be filtered on this field",
                                hs__kinds[kind].name);
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
        hs__doc_row r;
        int ret = row_read(res, row, kind, s, &r, err);
        if (ret != HS_OK) return ret;
        json_array_append_new(items, hs__doc_with_times(r.doc, r.created_at, r.updated_at));
    }
    return HS_OK;
}

int hs__pg_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters,
                         json_t **items, bool *has_more, hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 1024);
    hs_pg_params p = {0};
    int rc = list_sql(kind, page, filters, nfilters, &sql, &p, err);
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
 * own in the normal mode, with lock waits bounded as SQLite's busy timeout
 * bounds them: a running node holding a resource row fails the walk with
 * HS_ERR_BUSY instead of hanging it. */

/* Does the current schema (search_path) hold a table or view of that name? */
static int has_table(hs_pg_conn *c, const char *table, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, table);
    PGresult *r = hs_pg_exec(c, "SELECT to_regclass($1) IS NOT NULL", &p, "reading resources", err);
    if (!r) return err->code;
    *found = hs_pg_get_bool(r, 0, 0);
    PQclear(r);
    return HS_OK;
}

/* Every row of one kind: checked, and the ones to rewrite written back. The
 * rows are locked (FOR UPDATE) when they may be written: a node running on
 * the same database cannot change one in between. */
static int reseal_table(hs_pg_conn *c, const char *table, const hs_secret_codec *codec, hs_kind kind,
                        const hs_secretbox *from, const hs_secretbox *to, bool rekey, hs_reseal_stats *st,
                        hs_error *err) {
    bool found = false;
    int rc = has_table(c, table, &found, err);
    if (rc != HS_OK || !found) return rc;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id, doc FROM %s ORDER BY id%s", table, to ? " FOR UPDATE" : "");
    PGresult *res = hs_pg_exec(c, sql, NULL, "reading resources", err);
    if (!res) return err->code;
    /* the whole result is in memory: rows are written back as they are
     * walked */
    char upd[128];
    snprintf(upd, sizeof upd, "UPDATE %s SET doc = $1 WHERE id = $2", table);
    int n = PQntuples(res);
    for (int row = 0; rc == HS_OK && row < n; row++) {
        const char *id = hs_pg_get_text(res, row, 0);
        const char *text = hs_pg_get_text(res, row, 1);
        char *sealed = NULL;
        rc = hs__doc_reseal(codec, kind, id ? id : "?", text, text ? (size_t)PQgetlength(res, row, 1) : 0, from, to,
                            rekey, &sealed, st, err);
        if (rc == HS_OK && sealed) {
            hs_pg_params p = {0};
            hs_pg_text(&p, sealed);
            hs_pg_text(&p, id);
            rc = hs_pg_run(c, upd, &p, "writing resources", NULL, err);
            st->rewritten++;
        }
        if (sealed) hs__json_str_free(sealed);
    }
    PQclear(res);
    return rc;
}

int hs__pg_reseal(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                  hs_reseal_stats *st, hs_error *err) {
    hs_pg_conn c;
    bool missing = false;
    int rc = hs_pg_conn_open(&c, url, false, &missing, err);
    if (rc != HS_OK) {
        hs_pg_conn_close(&c);
        if (missing) hs_error_clear(err);
        return missing ? HS_OK : rc; /* no database yet: nothing sealed, nothing to seal */
    }
    bool rekey = from && to && strcmp(from->id, to->id) != 0;
    rc = hs_pg_run(&c, "SET lock_timeout TO '5s'", NULL, "starting", NULL, err);
    /* no hookstream schema in this database (search_path): nothing to do */
    bool ours = false;
    if (rc == HS_OK) rc = has_table(&c, "hookstream_schema", &ours, err);
    if (rc == HS_OK && ours) rc = hs_pg_run(&c, "BEGIN", NULL, "starting", NULL, err);
    for (int kind = 0; rc == HS_OK && ours && kind < HS_KIND_COUNT; kind++)
        rc = reseal_table(&c, kinds[kind].table, codec, (hs_kind)kind, from, to, rekey, st, err);
    /* the notification channels' secrets too (src/store/ops.h) */
    if (rc == HS_OK && ours)
        rc = reseal_table(&c, "notification_channels", &hs_channel_secret_codec, HS_KIND_SOURCE, from, to, rekey, st,
                          err);
    if (rc == HS_OK && ours) {
        rc = hs_pg_run(&c, "COMMIT", NULL, "committing", NULL, err);
    } else if (ours && PQtransactionStatus(c.pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c.pg, "ROLLBACK");
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
    hs_pg_conn_close(&c);
    return rc;
}
