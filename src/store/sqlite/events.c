/* src/store/sqlite/events.c — ingest's inserts (the hot path), event and
 * delivery reads.
 *
 * Ingest runs on the writer thread inside the group transaction, once
 * src/store/routing.c has decided where the event goes. It uses only cached
 * prepared statements and parses no JSON: insert the event and one delivery
 * per route.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "store/sqlite/sqlite.h"

static const char SQL_EVENT_INSERT[] =
    "INSERT INTO events(id, source_id, method, path, query, headers, body, source_ip, content_type, "
    "received_at, status, open_deliveries, verification_status, dedup_status) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "?8, ?9, ?10, ?11, ?12, ?13, ?14)";

static const char SQL_DELIVERY_INSERT[] =
    "INSERT INTO deliveries(seq, event_id, destination, connection, status, attempts, next_attempt_at, "
    "created_at, updated_at) VALUES(?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?6)";

static char *dup_col(sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    return hs_strdup(v ? v : "");
}

/* ---- ingest (writer thread) ---- */

static const char *or_empty(const char *s) { return s ? s : ""; }

static int insert_event(hs_sqlite_db *w, const hs_ingest *ing, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, SQL_EVENT_INSERT, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, ing->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ing->source_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, or_empty(ing->method), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, or_empty(ing->path), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, or_empty(ing->query), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, ing->headers_json ? ing->headers_json : "{}", -1, SQLITE_STATIC);
    /* a non-NULL pointer, so that an empty body is an empty blob, not NULL */
    sqlite3_bind_blob64(st, 7, ing->body ? ing->body : "", ing->body_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, or_empty(ing->source_ip), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, or_empty(ing->content_type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (int64_t)ing->received_at);
    sqlite3_bind_text(st, 11, ing->event_status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, (int64_t)ing->ndeliveries);
    sqlite3_bind_text(st, 13, ing->verification_status ? ing->verification_status : "unverified", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, ing->duplicate ? "duplicate" : "unique", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "storing the event");
}

/* The numbers of d's destination and connection: routing hands them over
 * from its rows; one that was missing there (a resource from before refs
 * existed) is named now. */
static int delivery_keys(hs_sqlite_db *w, hs_delivery_ref *d, hs_error *err) {
    int rc = HS_OK;
    if (d->destination_key <= 0) rc = hs_ref_key(w, d->destination_id, true, &d->destination_key, err);
    if (rc == HS_OK && d->connection_key <= 0) rc = hs_ref_key(w, d->connection_id, true, &d->connection_key, err);
    return rc;
}

static int insert_deliveries(hs_store *s, hs_ingest *ing, hs_error *err) {
    if (ing->ndeliveries == 0) return HS_OK;
    hs_sqlite_db *w = hs__sq_writer(s);
    hs__sqlite *q = hs__sq(s);
    uint64_t now = hs_now_ms();
    int ret = HS_OK;
    for (size_t i = 0; i < ing->ndeliveries && ret == HS_OK; i++) ret = delivery_keys(w, &ing->deliveries[i], err);
    sqlite3_stmt *st = ret == HS_OK ? hs_stmt(w, SQL_DELIVERY_INSERT, err) : NULL;
    if (ret == HS_OK && !st) ret = err->code;
    for (size_t i = 0; i < ing->ndeliveries && ret == HS_OK; i++) {
        hs_delivery_ref *d = &ing->deliveries[i];
        d->seq = q->next_seq++;
        hs__delivery_id(now, d->seq, d->id);
        sqlite3_bind_int64(st, 1, (int64_t)d->seq);
        sqlite3_bind_text(st, 2, ing->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, d->destination_key);
        sqlite3_bind_int64(st, 4, d->connection_key);
        sqlite3_bind_int64(st, 5, (int64_t)ing->received_at);
        sqlite3_bind_int64(st, 6, (int64_t)now);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "storing a delivery");
        sqlite3_reset(st);
        if (ret == HS_OK) hs__counts_add(&q->pending, d->destination_key, 1);
    }
    hs_stmt_done(w, st);
    return ret;
}

int hs__sqlite_ingest_insert(hs_store *s, hs_ingest *ing, bool *wrote, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    int rc = HS_OK;
    bool claimed = false; /* then a failure from here on fails the group */
    if (ing->dedup_key[0]) {
        rc = hs_dedup_claim(s, ing, err); /* a failed statement leaves nothing behind */
        if (rc != HS_OK) return rc;
        claimed = true;
    }
    rc = insert_event(w, ing, err);
    if (rc != HS_OK && claimed) *wrote = true;
    if (rc == HS_OK) {
        rc = hs_late_queue(s, HS_LATE_EVENTS, ing->source_id, ing->event_id, err);
        if (rc == HS_OK) rc = insert_deliveries(s, ing, err);
        if (rc != HS_OK) *wrote = true;
    }
    return rc;
}

/* ---- events (any thread) ---- */

static const char SQL_EVENT_GET[] =
    "SELECT id, source_id, method, path, query, source_ip, content_type, received_at, status, verification_status, "
    "dedup_status, headers, body FROM events WHERE id = ?1";

/* Columns 0..10 are common to get and list; see SQL_EVENT_GET. */
static hs_event *event_from_row(sqlite3_stmt *st) {
    hs_event *e = hs_calloc(1, sizeof *e);
    hs_col_copy(e->id, sizeof e->id, st, 0);
    hs_col_copy(e->source_id, sizeof e->source_id, st, 1);
    e->method = dup_col(st, 2);
    e->path = dup_col(st, 3);
    e->query = dup_col(st, 4);
    e->source_ip = dup_col(st, 5);
    e->content_type = dup_col(st, 6);
    e->received_at = (uint64_t)sqlite3_column_int64(st, 7);
    hs_col_copy(e->status, sizeof e->status, st, 8);
    hs_col_copy(e->verification_status, sizeof e->verification_status, st, 9);
    hs_col_copy(e->dedup_status, sizeof e->dedup_status, st, 10);
    return e;
}

int hs__sqlite_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, SQL_EVENT_GET, err);
    if (st) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR, ret = HS_OK;
    if (!st) {
        ret = err->code;
    } else if (rc == SQLITE_ROW) {
        hs_event *e = event_from_row(st);
        e->headers_json = dup_col(st, 11);
        const void *body = sqlite3_column_blob(st, 12);
        e->body_len = (size_t)sqlite3_column_bytes(st, 12);
        e->body = hs_malloc(e->body_len + 1); /* NUL after the bytes: handy for text */
        if (e->body_len) memcpy(e->body, body, e->body_len);
        e->body[e->body_len] = '\0';
        *out = e;
    } else if (rc == SQLITE_DONE) {
        ret = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "event %s not found", id);
    } else {
        ret = hs_sqlite_fail(err, c->db, rc, "reading the event");
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

/* columns of a listed event (length(body) reads the blob's size, not its
 * pages), read by event_from_row */
#define EVENT_LIST_COLS                                                                                                \
    "e.id, e.source_id, e.method, e.path, e.query, e.source_ip, e.content_type, e.received_at, e.status, "             \
    "e.verification_status, e.dedup_status, length(e.body)"

static void event_list_sql(const hs_event_query *q, hs_buf *sql) {
    hs_buf conds;
    hs_buf_init(&conds, 512);
    if (q->status) hs_buf_appends(&conds, " AND e.status = :status");
    if (q->verification_status) hs_buf_appends(&conds, " AND e.verification_status = :verification_status");
    if (q->dedup_status) hs_buf_appends(&conds, " AND e.dedup_status = :dedup_status");
    if (q->method) hs_buf_appends(&conds, " AND e.method = :method");
    /* an id prefix, or bytes of the body (both blobs: instr compares bytes) */
    if (q->search && strncmp(q->search, "evt_", 4) == 0)
        hs_buf_appends(&conds, " AND substr(e.id, 1, length(:search)) = :search");
    else if (q->search)
        hs_buf_appends(&conds, " AND instr(e.body, :search) > 0");
    if (q->after) hs_buf_appends(&conds, " AND e.received_at > :after");
    if (q->before) hs_buf_appends(&conds, " AND e.received_at < :before");
    if (q->page.cursor) hs_buf_appends(&conds, " AND e.id < :cursor");
    if (q->source_id) /* through the late index (late.c) */
        hs_late_select(sql, HS_LATE_EVENTS, EVENT_LIST_COLS, ":source_id", conds.data ? conds.data : "");
    else
        hs_buf_appendf(sql, "SELECT " EVENT_LIST_COLS " FROM events e WHERE 1%s", conds.data ? conds.data : "");
    hs_buf_appends(sql, " ORDER BY 1 DESC LIMIT :limit");
    hs_buf_free(&conds);
}

int hs__sqlite_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                          hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 8192);
    event_list_sql(q, &sql);
    hs_sqlite_db *c = hs_reader_get(s, err);
    sqlite3_stmt *st = c ? hs_stmt(c, sql.data, err) : NULL;
    hs_buf_free(&sql);
    if (!st) {
        if (c) hs_reader_put(s, c);
        return err->code;
    }
    int ret = HS_OK;
    hs_bind_opt_text(st, ":source_id", q->source_id);
    hs_bind_opt_text(st, ":status", q->status);
    hs_bind_opt_text(st, ":method", q->method);
    hs_bind_opt_text(st, ":verification_status", q->verification_status);
    hs_bind_opt_text(st, ":dedup_status", q->dedup_status);
    int si = q->search ? sqlite3_bind_parameter_index(st, ":search") : 0;
    if (si && strncmp(q->search, "evt_", 4) == 0)
        sqlite3_bind_text(st, si, q->search, -1, SQLITE_STATIC);
    else if (si)
        sqlite3_bind_blob(st, si, q->search, (int)strlen(q->search), SQLITE_STATIC);
    hs_bind_opt_int(st, ":after", (int64_t)q->after);
    hs_bind_opt_int(st, ":before", (int64_t)q->before);
    hs_bind_opt_text(st, ":cursor", q->page.cursor);
    hs_bind_opt_int(st, ":limit", q->page.limit + 1); /* one more tells whether another page exists */
    hs_event **v = hs_malloc((size_t)q->page.limit * sizeof *v);
    size_t count = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == (size_t)q->page.limit) {
            *has_more = true;
            rc = SQLITE_DONE;
            break;
        }
        hs_event *e = event_from_row(st);
        e->body_len = (size_t)sqlite3_column_int64(st, 11);
        v[count++] = e;
    }
    if (rc != SQLITE_DONE) {
        ret = hs_sqlite_fail(err, c->db, rc, "listing events");
        for (size_t i = 0; i < count; i++) hs_event_free(v[i]);
        hs_free(v);
        *has_more = false;
    } else {
        *items = v;
        *n = count;
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

static const char SQL_DELIVERIES_OF[] =
    "SELECT " HS_DELIVERY_COLS " FROM deliveries_named WHERE event_id = ?1 ORDER BY seq";

void hs_delivery_from_row(sqlite3_stmt *st, hs_delivery *d) {
    memset(d, 0, sizeof *d);
    hs_col_copy(d->id, sizeof d->id, st, 0);
    hs_col_copy(d->event_id, sizeof d->event_id, st, 1);
    hs_col_copy(d->destination_id, sizeof d->destination_id, st, 2);
    hs_col_copy(d->connection_id, sizeof d->connection_id, st, 3);
    hs_col_copy(d->status, sizeof d->status, st, 4);
    d->attempts = sqlite3_column_int(st, 5);
    d->next_attempt_at = (uint64_t)sqlite3_column_int64(st, 6);
    d->created_at = (uint64_t)sqlite3_column_int64(st, 7);
    d->updated_at = (uint64_t)sqlite3_column_int64(st, 8);
    d->seq = (uint64_t)sqlite3_column_int64(st, 9);
    if (sqlite3_column_count(st) > 10) hs_col_copy(d->replay_job_id, sizeof d->replay_job_id, st, 10);
}

static void delivery_row(sqlite3_stmt *st, void *d) { hs_delivery_from_row(st, d); }

int hs_deliveries_select(hs_sqlite_db *c, const char *sql, const char *arg, hs_delivery **items, size_t *n,
                         hs_error *err) {
    *items = NULL;
    *n = 0;
    sqlite3_stmt *st = hs_stmt(c, sql, err);
    if (!st) return err->code;
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    void *v = NULL;
    int ret = hs_sqlite_collect(c, st, sizeof(hs_delivery), delivery_row, &v, n, "listing deliveries", err);
    *items = v;
    hs_stmt_done(c, st);
    return ret;
}

int hs__sqlite_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    int rc = hs_deliveries_select(c, SQL_DELIVERIES_OF, event_id, items, n, err);
    hs_reader_put(s, c);
    return rc;
}
