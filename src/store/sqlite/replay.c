/* src/store/sqlite/replay.c — replay jobs in SQLite (src/store/replay.h;
 * tables replay_jobs and replay_items, deliveries.replay_job: schema step
 * 9). Writes on the writer thread inside the group, reads on a read
 * connection. One server per file: the claim's clock is the writer's.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json_text.h"
#include "store/sqlite/sqlite.h"

#define JOB_COLS                                                                                                       \
    "id, destination_id, source_id, connection_id, filter, window_from, window_to, rate, total, enqueued, status, "    \
    "error, runner, runner_until, created_at, started_at, completed_at"

static void job_from_row(sqlite3_stmt *st, void *elem) {
    hs_replay_job *j = elem;
    memset(j, 0, sizeof *j);
    hs_col_copy(j->id, sizeof j->id, st, 0);
    hs_col_copy(j->destination_id, sizeof j->destination_id, st, 1);
    hs_col_copy(j->source_id, sizeof j->source_id, st, 2);
    hs_col_copy(j->connection_id, sizeof j->connection_id, st, 3);
    const char *f = (const char *)sqlite3_column_text(st, 4);
    j->filter = f ? json_loads(f, 0, NULL) : NULL;
    j->from = (uint64_t)sqlite3_column_int64(st, 5);
    j->to = (uint64_t)sqlite3_column_int64(st, 6);
    j->rate = sqlite3_column_int(st, 7);
    j->total = (uint64_t)sqlite3_column_int64(st, 8);
    j->cursor = (uint64_t)sqlite3_column_int64(st, 9);
    hs_col_copy(j->status, sizeof j->status, st, 10);
    hs_col_copy(j->error, sizeof j->error, st, 11);
    hs_col_copy(j->runner, sizeof j->runner, st, 12);
    j->runner_until = (uint64_t)sqlite3_column_int64(st, 13);
    j->created_at = (uint64_t)sqlite3_column_int64(st, 14);
    j->started_at = (uint64_t)sqlite3_column_int64(st, 15);
    j->completed_at = (uint64_t)sqlite3_column_int64(st, 16);
}

/* ---- reads ---- */

/* the sources' events through their late index and its queue (late.c: a
 * row can be in both for a moment) */
static const char SQL_SCAN[] =
    "SELECT e.id, e.received_at FROM (SELECT id FROM source_events WHERE source_id IN (SELECT value FROM "
    "json_each(?1)) UNION SELECT id FROM events_unindexed WHERE source_id IN (SELECT value FROM json_each(?1))) x "
    "CROSS JOIN events e ON e.id = x.id WHERE e.received_at >= ?2 AND e.received_at <= ?3 AND (e.received_at > ?4 OR "
    "(e.received_at = ?4 AND e.id > ?5)) ORDER BY e.received_at, e.id LIMIT ?6";

static void event_row(sqlite3_stmt *st, void *elem) {
    hs_replay_event *e = elem;
    hs_col_copy(e->id, sizeof e->id, st, 0);
    e->received_at = (uint64_t)sqlite3_column_int64(st, 1);
}

static int replay_scan(hs_store *s, const hs_replay_scan *q, hs_replay_event **items, size_t *n, hs_error *err) {
    json_t *ids = json_array();
    for (size_t i = 0; i < q->nsources; i++) json_array_append_new(ids, json_string(q->source_ids[i]));
    char *text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    hs_sqlite_db *c = hs_reader_get(s, err);
    int ret = c ? HS_OK : err->code;
    sqlite3_stmt *st = c ? hs_stmt(c, SQL_SCAN, err) : NULL;
    if (c && !st) ret = err->code;
    if (st) {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)q->from);
        sqlite3_bind_int64(st, 3, (int64_t)q->to);
        sqlite3_bind_int64(st, 4, (int64_t)q->after_at);
        sqlite3_bind_text(st, 5, q->after_id ? q->after_id : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (int64_t)q->limit);
        void *v = NULL;
        ret = hs_sqlite_collect(c, st, sizeof(hs_replay_event), event_row, &v, n, "reading the events to replay", err);
        *items = v;
        hs_stmt_done(c, st);
    }
    if (c) hs_reader_put(s, c);
    free(text);
    return ret;
}

/* The job's counts, from its deliveries. */
static int job_counts(hs_sqlite_db *c, hs_replay_job *j, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(c, "SELECT status, count(*) FROM deliveries WHERE replay_job = ?1 GROUP BY status", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hs__replay_count(j, (const char *)sqlite3_column_text(st, 0), (uint64_t)sqlite3_column_int64(st, 1));
    }
    hs_stmt_done(c, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, c->db, rc, "counting a replay job's deliveries");
}

/* sql with ?1 = arg, and ?2 = limit and ?3 = arg3 when it has them. */
static int jobs_select(hs_store *s, const char *sql, const char *arg, int64_t limit, const char *arg3,
                       hs_replay_job **out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, sql, err);
    int ret = st ? HS_OK : err->code;
    void *v = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, limit);
        if (sqlite3_bind_parameter_count(st) >= 3) sqlite3_bind_text(st, 3, arg3, -1, SQLITE_STATIC);
        ret = hs_sqlite_collect(c, st, sizeof(hs_replay_job), job_from_row, &v, n, "reading replay jobs", err);
        hs_stmt_done(c, st);
    }
    *out = v;
    for (size_t i = 0; ret == HS_OK && i < *n; i++) ret = job_counts(c, &(*out)[i], err);
    hs_reader_put(s, c);
    if (ret != HS_OK) {
        hs_replay_jobs_free(*out, *n);
        hs_free(*out);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

static int replay_get(hs_store *s, const char *id, hs_replay_job *out, hs_error *err) {
    hs_replay_job *v = NULL;
    size_t n = 0;
    int rc = jobs_select(s, "SELECT " JOB_COLS " FROM replay_jobs WHERE id = ?1", id, 0, NULL, &v, &n, err);
    if (rc == HS_OK && n == 0) rc = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no replay job %s", id);
    if (rc == HS_OK) *out = v[0];
    hs_free(v);
    return rc;
}

static int replay_list(hs_store *s, const hs_page *page, const char *destination_id, hs_replay_job **out, size_t *n,
                       hs_error *err) {
    return jobs_select(s,
                       "SELECT " JOB_COLS " FROM replay_jobs WHERE (?1 = '' OR id < ?1) AND (?3 = '' OR "
                       "destination_id = ?3) ORDER BY id DESC LIMIT ?2",
                       page->cursor ? page->cursor : "", page->limit + 1, destination_id, out, n, err);
}

/* ---- writes (writer thread) ---- */

static int step_done(hs_sqlite_db *w, sqlite3_stmt *st, const char *what, hs_error *err) {
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, what);
}

static int replay_create(hs_store *s, const hs_replay_job *j, const char (*ids)[HS_ID_MAX], size_t n, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "INSERT INTO replay_jobs(id, destination_id, source_id, connection_id, filter, "
                               "window_from, window_to, rate, total, status, created_at) "
                               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10)",
                               err);
    if (!st) return err->code;
    char *filter = j->filter ? json_dumps(j->filter, JSON_COMPACT) : NULL;
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->destination_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, j->source_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, j->connection_id, -1, SQLITE_STATIC);
    if (filter)
        sqlite3_bind_text(st, 5, filter, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_int64(st, 6, (int64_t)j->from);
    sqlite3_bind_int64(st, 7, (int64_t)j->to);
    sqlite3_bind_int(st, 8, j->rate);
    sqlite3_bind_int64(st, 9, (int64_t)n);
    sqlite3_bind_int64(st, 10, (int64_t)j->created_at);
    int ret = step_done(w, st, "storing the replay job", err);
    free(filter);
    st = ret == HS_OK ? hs_stmt(w, "INSERT INTO replay_items(job, pos, event_id) VALUES(?1, ?2, ?3)", err) : NULL;
    if (ret == HS_OK && !st) ret = err->code;
    for (size_t i = 0; st && ret == HS_OK && i < n; i++) {
        sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)i + 1);
        sqlite3_bind_text(st, 3, ids[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "storing the replay job's events");
    }
    if (st) hs_stmt_done(w, st);
    return ret;
}

static int replay_cancel(hs_store *s, const char *id, uint64_t now, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(
        w, "UPDATE replay_jobs SET status = 'cancelled', completed_at = ?2 WHERE id = ?1 AND status = 'running'", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    int rc = step_done(w, st, "cancelling the replay job", err);
    if (rc != HS_OK || sqlite3_changes(w->db) > 0) return rc;
    st = hs_stmt(w, "SELECT status FROM replay_jobs WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    char status[16] = "";
    int found = sqlite3_step(st);
    if (found == SQLITE_ROW) hs_col_copy(status, sizeof status, st, 0);
    hs_stmt_done(w, st);
    if (found == SQLITE_DONE) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no replay job %s", id);
    if (found != SQLITE_ROW) return hs_sqlite_fail(err, w->db, found, "finding the replay job");
    return hs_error_set(err, HS_ERR_CONFLICT, NULL, "replay job %s is %s already", id, status);
}

static int replay_claim(hs_store *s, const char *node, uint64_t ttl_ms, uint64_t now, hs_replay_job **out, size_t *n,
                        hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "UPDATE replay_jobs SET runner = ?1, runner_until = ?2 + ?3 WHERE status = 'running' "
                               "AND (runner = ?1 OR runner = '' OR runner_until < ?2) RETURNING " JOB_COLS,
                               err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    sqlite3_bind_int64(st, 3, (int64_t)ttl_ms);
    void *v = NULL;
    int rc = hs_sqlite_collect(w, st, sizeof(hs_replay_job), job_from_row, &v, n, "claiming replay jobs", err);
    hs_stmt_done(w, st);
    *out = v;
    return rc;
}

/* ---- a step ---- */

/* The job, if it is running, node's, at cursor: its destination and
 * connection, its total. */
static int replay_lock(hs_store *s, const hs_replay_step *p, uint64_t now, hs_replay_job *j, bool *ok, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "UPDATE replay_jobs SET started_at = CASE WHEN started_at = 0 THEN ?4 ELSE started_at "
                               "END WHERE id = ?1 AND status = 'running' AND runner = ?2 AND enqueued = ?3 "
                               "RETURNING " JOB_COLS,
                               err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, p->job_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)p->cursor);
    sqlite3_bind_int64(st, 4, (int64_t)now);
    int rc = sqlite3_step(st);
    *ok = rc == SQLITE_ROW;
    if (*ok) {
        job_from_row(st, j);
        json_decref(j->filter);
        j->filter = NULL;
        rc = sqlite3_step(st);
    }
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "taking the replay job's step");
}

static int replay_end(hs_store *s, const char *id, const char *status, const char *error, uint64_t now, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st =
        hs_stmt(w, "UPDATE replay_jobs SET status = ?2, error = ?3, completed_at = ?4 WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)now);
    return step_done(w, st, "ending the replay job", err);
}

static int read_int(hs_sqlite_db *w, const char *sql, const char *arg, int64_t *out, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, sql, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    hs_stmt_done(w, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "reading a replay job");
}

static const char SQL_ITEMS[] = "SELECT i.pos, i.event_id, EXISTS (SELECT 1 FROM events e WHERE e.id = i.event_id) "
                                "FROM replay_items i WHERE i.job = ?1 AND i.pos > ?2 ORDER BY i.pos LIMIT ?3";
static const char SQL_INSERT[] =
    "INSERT INTO deliveries(seq, event_id, destination, connection, status, attempts, next_attempt_at, created_at, "
    "updated_at, replay_job) VALUES(?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5, ?5, ?6)";
/* one more open delivery: the event is processing until it settles */
static const char SQL_EVENT_OPEN[] =
    "UPDATE events SET open_deliveries = open_deliveries + 1, status = 'processing' WHERE id = ?1";

/* Enqueue the next items of j after p->cursor (at most p->max). */
static int replay_enqueue(hs_store *s, hs_replay_step *p, const hs_replay_job *j, uint64_t now, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    hs__sqlite *q = hs__sq(s);
    int64_t dkey = 0, ckey = 0;
    int krc = hs_ref_key(w, j->destination_id, true, &dkey, err);
    if (krc == HS_OK) krc = hs_ref_key(w, j->connection_id, true, &ckey, err);
    if (krc != HS_OK) return krc;
    sqlite3_stmt *st = hs_stmt(w, SQL_ITEMS, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->cursor);
    sqlite3_bind_int64(st, 3, (int64_t)p->max);
    typedef struct {
        uint64_t pos;
        char event_id[HS_ID_MAX];
        bool exists;
    } row;
    row *rows = hs_malloc((p->max ? p->max : 1) * sizeof *rows);
    size_t nrows = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && nrows < p->max) {
        rows[nrows].pos = (uint64_t)sqlite3_column_int64(st, 0);
        hs_col_copy(rows[nrows].event_id, HS_ID_MAX, st, 1);
        rows[nrows++].exists = sqlite3_column_int(st, 2) != 0;
    }
    hs_stmt_done(w, st);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? HS_OK : hs_sqlite_fail(err, w->db, rc, "reading replay items");
    p->queued = hs_calloc(nrows ? nrows : 1, sizeof *p->queued);
    for (size_t i = 0; ret == HS_OK && i < nrows; i++) {
        p->new_cursor = rows[i].pos;
        if (!rows[i].exists) continue; /* deleted by retention meanwhile */
        hs_delivery *d = &p->queued[p->n];
        d->seq = q->next_seq++;
        hs__delivery_id(now, d->seq, d->id);
        hs_id_copy(d->event_id, rows[i].event_id);
        hs_id_copy(d->destination_id, j->destination_id);
        hs_id_copy(d->connection_id, j->connection_id);
        hs_id_copy(d->replay_job_id, j->id);
        snprintf(d->status, sizeof d->status, "pending");
        d->next_attempt_at = d->created_at = d->updated_at = now;
        st = hs_stmt(w, SQL_INSERT, err);
        if (!st) {
            ret = err->code;
            break;
        }
        sqlite3_bind_int64(st, 1, (int64_t)d->seq);
        sqlite3_bind_text(st, 2, d->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, dkey);
        sqlite3_bind_int64(st, 4, ckey);
        sqlite3_bind_int64(st, 5, (int64_t)now);
        sqlite3_bind_text(st, 6, j->id, -1, SQLITE_STATIC);
        ret = step_done(w, st, "storing a replay delivery", err);
        if (ret != HS_OK) break;
        st = hs_stmt(w, SQL_EVENT_OPEN, err);
        if (!st) {
            ret = err->code;
            break;
        }
        sqlite3_bind_text(st, 1, d->event_id, -1, SQLITE_STATIC);
        ret = step_done(w, st, "reopening the event", err);
        if (ret != HS_OK) break;
        hs__counts_add(&q->pending, dkey, 1);
        p->n++;
    }
    hs_free(rows);
    if (ret != HS_OK) return ret;
    st = hs_stmt(w, "UPDATE replay_jobs SET enqueued = ?2 WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)p->new_cursor);
    return step_done(w, st, "moving the replay job's cursor", err);
}

static int replay_pending(hs_store *s, const char *job_id, int64_t *n, hs_error *err) {
    return read_int(hs__sq_writer(s), "SELECT count(*) FROM deliveries WHERE replay_job = ?1 AND status = 'pending'",
                    job_id, n, err);
}

static int replay_destination_exists(hs_store *s, const char *destination_id, bool *exists, hs_error *err) {
    int64_t n = 0;
    int rc = read_int(hs__sq_writer(s), "SELECT count(*) FROM destinations WHERE id = ?1", destination_id, &n, err);
    *exists = n > 0;
    return rc;
}

const hs__replay_ops hs__sqlite_replay_ops = {
    .scan = replay_scan,
    .create = replay_create,
    .get = replay_get,
    .list = replay_list,
    .cancel = replay_cancel,
    .claim = replay_claim,
    .lock = replay_lock,
    .enqueue = replay_enqueue,
    .pending = replay_pending,
    .end = replay_end,
    .destination_exists = replay_destination_exists,
    .bulk_retry = hs__sqlite_bulk_retry,
};
