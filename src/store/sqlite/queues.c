/* src/store/sqlite/queues.c — destinations' queues in SQLite: the refs that
 * name destinations and connections by small numbers, the pending count per
 * destination (table queues), and the bounded reads the DeliveryScheduler
 * pages its queues with (docs/scheduler.md).
 *
 * Counts: every write that moves a delivery into or out of pending adds
 * +1/-1 for its destination here, on the writer thread; the sums are
 * written once per destination per group, before COMMIT (the table's
 * flush), so a fan-out event updates each count once and a group of many
 * attempts to one destination once. A failed group drops them (discard).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/sqlite/sqlite.h"

/* ---- refs ---- */

int hs_ref_key(hs_sqlite_db *w, const char *id, bool create, int64_t *key, hs_error *err) {
    *key = 0;
    if (create) {
        sqlite3_stmt *ins = hs_stmt(w, "INSERT OR IGNORE INTO refs(id) VALUES(?1)", err);
        if (!ins) return err->code;
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        hs_stmt_done(w, ins);
        if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "naming a resource");
    }
    sqlite3_stmt *st = hs_stmt(w, "SELECT n FROM refs WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *key = sqlite3_column_int64(st, 0);
    hs_stmt_done(w, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "finding a resource");
}

/* ---- pending counts (writer thread; the changes: src/store/counts.h) ---- */

static const char SQL_QUEUE_ADD[] = "INSERT INTO queues(destination, pending) VALUES(?1, max(?2, 0)) "
                                    "ON CONFLICT(destination) DO UPDATE SET pending = max(pending + ?2, 0)";

int hs_queues_flush(hs_store *s, hs_error *err) {
    hs__counts *c = &hs__sq(s)->pending;
    if (!c->n) return HS_OK;
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, SQL_QUEUE_ADD, err);
    int ret = st ? HS_OK : err->code;
    for (size_t i = 0; st && ret == HS_OK && i < c->cap; i++) {
        if (!c->v[i].key || !c->v[i].delta) continue;
        sqlite3_bind_int64(st, 1, c->v[i].key);
        sqlite3_bind_int64(st, 2, c->v[i].delta);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "counting pending deliveries");
    }
    hs_stmt_done(w, st);
    hs__counts_clear(c);
    return ret;
}

/* ---- reads (any thread) ---- */

int hs__sqlite_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st =
        hs_stmt(c, "SELECT r.id, q.pending FROM queues q JOIN refs r ON r.n = q.destination WHERE q.pending > 0", err);
    int rc = st ? SQLITE_OK : SQLITE_ERROR, ret = st ? HS_OK : err->code;
    size_t cap = 0;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = hs_realloc(*out, cap * sizeof **out);
        }
        hs_queue_count *qc = &(*out)[(*n)++];
        hs_col_copy(qc->destination_id, sizeof qc->destination_id, st, 0);
        qc->pending = (uint64_t)sqlite3_column_int64(st, 1);
    }
    if (st && rc != SQLITE_DONE) {
        ret = hs_sqlite_fail(err, c->db, rc, "reading the queue counts");
        hs_free(*out);
        *out = NULL;
        *n = 0;
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

/* The columns of HS_DELIVERY_COLS (hs_delivery_from_row), from deliveries
 * d with the connection's id through refs rc; the destination's is ?1;
 * then the replay job (the scheduler tries those deliveries once). */
#define QUEUE_COLS                                                                                                     \
    "d.id, d.event_id, ?1, rc.id, d.status, d.attempts, d.next_attempt_at, d.created_at, d.updated_at, d.seq, "        \
    "d.replay_job"

static const char SQL_PAGE[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = ?1) AND d.status = 'pending' AND d.seq > ?2 "
    "ORDER BY d.seq LIMIT ?3";
static const char SQL_PAGE_FRESH[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = ?1) AND d.status = 'pending' AND d.seq > ?2 "
    "AND d.attempts = 0 ORDER BY d.seq LIMIT ?3";
/* through deliveries_retry: only the deliveries waiting for a retry */
static const char SQL_DUE[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = ?1) AND d.status = 'pending' AND d.attempts > 0 "
    "AND d.next_attempt_at <= ?2 ORDER BY d.next_attempt_at, d.seq LIMIT ?3";
static const char SQL_NEXT_DUE[] =
    "SELECT min(next_attempt_at) FROM deliveries WHERE destination = (SELECT n FROM refs WHERE id = ?1) "
    "AND status = 'pending' AND attempts > 0 AND next_attempt_at > ?2";

static bool skipped(uint64_t seq, const uint64_t *skip, size_t nskip) {
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] == seq) return true;
    return false;
}

/* Rows of st into out (room for limit), those in skip left out; *rows
 * counts every row read, *cut those that did not fit. */
static int collect(hs_sqlite_db *c, sqlite3_stmt *st, const uint64_t *skip, size_t nskip, size_t limit,
                   hs_delivery *out, size_t *n, size_t *rows, size_t *cut, hs_error *err) {
    int rc;
    *rows = *cut = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        (*rows)++;
        if (skipped((uint64_t)sqlite3_column_int64(st, 9), skip, nskip)) continue;
        if (*n == limit) {
            (*cut)++;
            continue;
        }
        hs_delivery_from_row(st, &out[(*n)++]);
    }
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, c->db, rc, "reading a destination's queue");
}

int hs__sqlite_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                          hs_delivery *out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, fresh_only ? SQL_PAGE_FRESH : SQL_PAGE, err);
    int ret = st ? HS_OK : err->code;
    if (st) {
        sqlite3_bind_text(st, 1, destination_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)after_seq);
        sqlite3_bind_int64(st, 3, (int64_t)limit);
        size_t rows, cut;
        ret = collect(c, st, NULL, 0, limit, out, n, &rows, &cut, err);
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    if (ret != HS_OK) *n = 0;
    return ret;
}

int hs__sqlite_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                         size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    /* one read transaction for both statements: the rows and the next due
     * time come from the same state */
    bool own = sqlite3_get_autocommit(c->db) != 0; /* not inside a snapshot already */
    int ret = !own || sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
                  ? HS_OK
                  : hs_sqlite_fail(err, c->db, sqlite3_errcode(c->db), "reading a destination's queue");
    sqlite3_stmt *st = ret == HS_OK ? hs_stmt(c, SQL_DUE, err) : NULL;
    if (ret == HS_OK && !st) ret = err->code;
    size_t rows = 0, cut = 0;
    if (st) {
        sqlite3_bind_text(st, 1, destination_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)now);
        sqlite3_bind_int64(st, 3, (int64_t)(limit + nskip));
        ret = collect(c, st, skip, nskip, limit, out, n, &rows, &cut, err);
        hs_stmt_done(c, st);
    }
    if (ret == HS_OK && (cut || rows == limit + nskip)) {
        *next_due = now; /* more are due than were taken */
    } else if (ret == HS_OK) {
        st = hs_stmt(c, SQL_NEXT_DUE, err);
        if (!st) ret = err->code;
        if (st) {
            sqlite3_bind_text(st, 1, destination_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, (int64_t)now);
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW)
                *next_due = (uint64_t)sqlite3_column_int64(st, 0);
            else
                ret = hs_sqlite_fail(err, c->db, rc, "reading a destination's queue");
            hs_stmt_done(c, st);
        }
    }
    if (own) sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    hs_reader_put(s, c);
    if (ret != HS_OK) {
        *n = 0;
        *next_due = 0;
    }
    return ret;
}
