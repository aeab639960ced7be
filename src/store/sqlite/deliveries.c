/* src/store/sqlite/deliveries.c — what the DeliveryScheduler reads and writes: pending
 * deliveries, circuit states, attempts (and with them the DLQ), retries.
 *
 * An attempt is recorded in one transaction with everything it decides: the
 * delivery moves to delivered, stays pending with its next retry time, or
 * goes to the DLQ; the event's status is settled once none of its deliveries
 * is pending; the circuit state after the attempt is saved. So after a crash
 * the store never says "retry at T" without the attempt that led to it.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/json_text.h"
#include "base/log.h"
#include "http/outbound.h"
#include "base/timeutil.h"
#include "store/retry.h"
#include "store/sqlite/sqlite.h"

/* ---- reads for the scheduler ---- */

static const char SQL_PENDING[] =
    "SELECT " HS_DELIVERY_COLS " FROM deliveries_named WHERE status = 'pending' ORDER BY destination_id, seq";

int hs__sqlite_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    int rc = hs_deliveries_select(c, SQL_PENDING, NULL, out, n, err);
    hs_reader_put(s, c);
    return rc;
}

int hs__sqlite_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT destination_id, state, consecutive_failures, opened_at, next_probe_at, "
                               "last_transition_at FROM circuits ORDER BY destination_id",
                               err);
    int rc = st ? SQLITE_OK : SQLITE_ERROR, ret = st ? HS_OK : err->code;
    size_t cap = 0;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *out = hs_realloc(*out, cap * sizeof **out);
        }
        hs_circuit_row *r = &(*out)[(*n)++];
        hs_col_copy(r->destination_id, sizeof r->destination_id, st, 0);
        hs_col_copy(r->state, sizeof r->state, st, 1);
        r->consecutive_failures = sqlite3_column_int(st, 2);
        r->opened_at = (uint64_t)sqlite3_column_int64(st, 3);
        r->next_probe_at = (uint64_t)sqlite3_column_int64(st, 4);
        r->last_transition_at = (uint64_t)sqlite3_column_int64(st, 5);
    }
    if (st && rc != SQLITE_DONE) {
        ret = hs_sqlite_fail(err, c->db, rc, "reading circuit states");
        hs_free(*out);
        *out = NULL;
        *n = 0;
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

/* ---- recording an attempt (async, writer thread) ---- */

static const char SQL_ATTEMPT_INSERT[] =
    "INSERT INTO delivery_attempts(id, delivery_id, event_id, destination_id, connection_id, attempt_number, "
    "status, request_url, request_method, request_headers, response_status, response_headers, response_body, "
    "duration_ms, error, next_retry_at, is_dlq, dlq_at, created_at) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";
/* a delivery cancelled meanwhile (its destination deleted) stays cancelled;
 * found by its seq, the id's time checked too (?6) */
static const char SQL_DELIVERY_SETTLE[] = "UPDATE deliveries SET status = ?2, attempts = ?3, next_attempt_at = ?4, "
                                          "updated_at = ?5 WHERE seq = ?1 AND created_at = ?6 AND status = 'pending' "
                                          "RETURNING destination";
/* ?2 of the event's deliveries ended, ?3 of them in the DLQ: once none is
 * open the status says how it went */
static const char SQL_EVENT_SETTLE[] =
    "UPDATE events SET open_deliveries = open_deliveries - ?2, failed_deliveries = failed_deliveries + ?3, "
    "status = CASE WHEN open_deliveries > ?2 THEN status WHEN failed_deliveries + ?3 > 0 THEN 'failed' "
    "ELSE 'delivered' END WHERE id = ?1";
/* one of its deliveries is open again (a manual retry of a DLQ'd one) */
static const char SQL_EVENT_REOPEN[] =
    "UPDATE events SET open_deliveries = open_deliveries + 1, failed_deliveries = max(failed_deliveries - 1, 0), "
    "status = 'processing' WHERE id = ?1";
static const char SQL_CIRCUIT_SAVE[] =
    "INSERT OR REPLACE INTO circuits(destination_id, state, consecutive_failures, opened_at, next_probe_at, "
    "last_transition_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, uint64_t v) {
    if (v)
        sqlite3_bind_int64(st, i, (int64_t)v);
    else
        sqlite3_bind_null(st, i);
}

/* Step a statement that returns no rows; HS_OK or err filled. */
static int step_done(hs_sqlite_db *w, sqlite3_stmt *st, const char *what, hs_error *err) {
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, what);
}

/* Run sql with ?1 = id (or, id NULL, the number key) and, when it has one,
 * ?2 = num; no rows back. */
static int run_keyed(hs_sqlite_db *w, const char *sql, const char *id, int64_t key, int64_t num, const char *what,
                     hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, sql, err);
    if (!st) return err->code;
    if (id)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, key);
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, num);
    return step_done(w, st, what, err);
}

/* Step a statement that returns at most one row of one integer (an UPDATE
 * ... RETURNING): *out, 0 when it changed no row; HS_OK or err filled. */
static int step_returning(hs_sqlite_db *w, sqlite3_stmt *st, int64_t *out, const char *what, hs_error *err) {
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc == SQLITE_ROW) rc = sqlite3_step(st); /* one row at most: the statement ends */
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, what);
}

typedef struct settle {
    char event_id[HS_ID_MAX]; /* the map's key */
    int settled, failed;
} settle;

/* The delivery just left pending: count that on its event, written by
 * hs_settles_flush. */
static void settle_event(hs_store *s, const char *event_id, bool dlq) {
    hs_idmap *settles = &hs__sq(s)->settles;
    settle *e = hs_idmap_get(settles, event_id);
    if (!e) {
        e = hs_calloc(1, sizeof *e);
        hs_id_copy(e->event_id, event_id);
        hs_idmap_put(settles, e->event_id, e);
    }
    e->settled++;
    e->failed += dlq;
}

static void free_settle(void *value, void *ud) {
    (void)ud;
    hs_free(value);
}

void hs_settles_clear(hs_store *s) {
    hs_idmap_each(&hs__sq(s)->settles, free_settle, NULL);
    hs_idmap_free(&hs__sq(s)->settles);
}

typedef struct flush_ctx {
    hs_store *s;
    hs_error *err;
    int rc;
} flush_ctx;

static void flush_one(void *value, void *ud) {
    flush_ctx *f = ud;
    const settle *e = value;
    if (f->rc != HS_OK) return; /* the group fails: the rest does not matter */
    sqlite3_stmt *st = hs_stmt(hs__sq_writer(f->s), SQL_EVENT_SETTLE, f->err);
    if (!st) {
        f->rc = f->err->code;
        return;
    }
    sqlite3_bind_text(st, 1, e->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, e->settled);
    sqlite3_bind_int(st, 3, e->failed);
    f->rc = step_done(hs__sq_writer(f->s), st, "updating the event status", f->err);
}

int hs_settles_flush(hs_store *s, hs_error *err) {
    flush_ctx f = {.s = s, .err = err, .rc = HS_OK};
    hs_idmap_each(&hs__sq(s)->settles, flush_one, &f);
    hs_settles_clear(s);
    return f.rc;
}

static int record_attempt(hs_store *s, const hs_attempt_rec *a, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, SQL_ATTEMPT_INSERT, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->destination_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->connection_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, a->attempt_number);
    sqlite3_bind_text(st, 7, a->success ? "success" : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, a->request_url ? a->request_url : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, a->request_method ? a->request_method : "", -1, SQLITE_STATIC);
    char *rq = hs_headers_json(a->request_headers, a->request_headers_len, false);
    char *rs = hs_headers_json(a->response_headers, a->response_headers_len, true);
    sqlite3_bind_text(st, 10, rq ? rq : "{}", -1, SQLITE_STATIC);
    bind_int_or_null(st, 11, (uint64_t)(a->response_status > 0 ? a->response_status : 0));
    bind_text_or_null(st, 12, rs);
    if (a->response_body)
        sqlite3_bind_blob64(st, 13, a->response_body, a->response_body_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 13);
    sqlite3_bind_int64(st, 14, (int64_t)a->duration_ms);
    bind_text_or_null(st, 15, a->error);
    bind_int_or_null(st, 16, a->next_retry_at);
    sqlite3_bind_int(st, 17, a->is_dlq ? 1 : 0);
    bind_int_or_null(st, 18, a->is_dlq ? a->dlq_at : 0);
    sqlite3_bind_int64(st, 19, (int64_t)a->created_at);
    int rc = step_done(w, st, "recording the attempt", err);
    hs_free(rq);
    hs_free(rs);
    if (rc == HS_OK) rc = hs_late_queue(s, HS_LATE_ATTEMPTS, a->destination_id, a->id, err);
    if (rc != HS_OK) return rc;

    const char *status = hs__attempt_delivery_status(a);
    uint64_t created, seq;
    if (!hs__delivery_id_parse(a->delivery_id, &created, &seq)) return HS_OK; /* not ours: nothing to move */
    st = hs_stmt(w, SQL_DELIVERY_SETTLE, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, a->attempt_number);
    sqlite3_bind_int64(st, 4, (int64_t)a->next_retry_at);
    sqlite3_bind_int64(st, 5, (int64_t)a->created_at);
    sqlite3_bind_int64(st, 6, (int64_t)created);
    int64_t destination;
    rc = step_returning(w, st, &destination, "updating the delivery", err);
    if (rc != HS_OK) return rc;
    /* no row: cancelled meanwhile, counted then */
    if (destination && strcmp(status, "pending") != 0) {
        settle_event(s, a->event_id, hs__attempt_failed_for_good(a));
        hs__counts_add(&hs__sq(s)->pending, destination, -1);
    }
    return HS_OK;
}

static int save_circuit(hs_sqlite_db *w, const hs_circuit_row *c, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, SQL_CIRCUIT_SAVE, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, c->destination_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, c->consecutive_failures);
    sqlite3_bind_int64(st, 4, (int64_t)c->opened_at);
    sqlite3_bind_int64(st, 5, (int64_t)c->next_probe_at);
    sqlite3_bind_int64(st, 6, (int64_t)c->last_transition_at);
    return step_done(w, st, "saving the circuit state", err);
}

int hs__sqlite_attempt_record(hs_store *s, const hs_attempt_op *op, hs_error *err) {
    int rc = HS_OK;
    if (op->has_attempt) rc = record_attempt(s, &op->a, err);
    if (rc == HS_OK && op->has_circuit) rc = save_circuit(hs__sq_writer(s), &op->circuit, err);
    return rc;
}

/* ---- cancelling (a destination is deleted) ---- */

/* The end of the CASE that settles an event none of whose deliveries is
 * pending any more, once failure was ruled out: delivered when one of them
 * was, else cancelled (every delivery it had was cancelled). An event is
 * never processing without a pending delivery. */
#define SQL_SETTLED_NOT_FAILED                                                                                         \
    "WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'delivered') "                \
    "THEN 'delivered' ELSE 'cancelled' END"

/* ?1: the destination's number (refs.n) */
static const char SQL_CANCEL_SETTLE_EVENTS[] =
    "UPDATE events SET open_deliveries = open_deliveries - (SELECT count(*) FROM deliveries d WHERE d.event_id = "
    "events.id AND d.destination = ?1 AND d.status = 'pending'), status = CASE WHEN open_deliveries - (SELECT "
    "count(*) FROM deliveries d WHERE d.event_id = events.id AND d.destination = ?1 AND d.status = 'pending') > 0 "
    "THEN status WHEN failed_deliveries > 0 THEN 'failed' " SQL_SETTLED_NOT_FAILED " WHERE id IN (SELECT event_id "
    "FROM deliveries WHERE destination = ?1 AND status = 'pending')";
static const char SQL_CANCEL[] = "UPDATE deliveries SET status = 'cancelled', updated_at = ?2 WHERE destination = "
                                 "?1 AND status = 'pending'";
static const char SQL_QUEUE_DROP[] = "DELETE FROM queues WHERE destination = ?1";

int hs_deliveries_cancel(hs_store *s, const char *destination_id, uint64_t now, size_t *cancelled, size_t *events,
                         hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    int64_t key;
    int rc = hs_ref_key(w, destination_id, false, &key, err);
    if (rc != HS_OK || key == 0) return rc; /* never named: nothing of it is stored */
    /* the events first, while their pending deliveries can still be counted */
    rc = run_keyed(w, SQL_CANCEL_SETTLE_EVENTS, NULL, key, 0, "settling the events of cancelled deliveries", err);
    if (rc == HS_OK && events) *events += (size_t)sqlite3_changes(w->db);
    if (rc == HS_OK) rc = run_keyed(w, SQL_CANCEL, NULL, key, (int64_t)now, "cancelling deliveries", err);
    if (rc == HS_OK && cancelled) *cancelled += (size_t)sqlite3_changes(w->db);
    /* written now, so that no delta of the open group may revive the row */
    if (rc == HS_OK) rc = hs_queues_flush(s, err);
    if (rc == HS_OK) rc = run_keyed(w, SQL_QUEUE_DROP, NULL, key, 0, "dropping the queue count", err);
    return rc;
}

/* ---- at start: what a deleted destination left behind ---- */

/* pending deliveries of destinations that no longer exist (a retry of one
 * before 409 refused it, or a database edited by hand), found through the
 * queue counts: one row per destination, not the backlog */
static const char SQL_ORPHAN_DESTINATIONS[] =
    "SELECT r.id FROM queues q JOIN refs r ON r.n = q.destination WHERE q.pending > 0 AND r.id NOT IN "
    "(SELECT id FROM destinations)";

int hs__sqlite_settle_orphans(hs_store *s, size_t *deliveries, size_t *events, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    char(*ids)[HS_ID_MAX] = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = hs_stmt(w, SQL_ORPHAN_DESTINATIONS, err);
    if (!st) return err->code;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            ids = hs_realloc(ids, cap * sizeof *ids);
        }
        hs_col_copy(ids[n++], HS_ID_MAX, st, 0);
    }
    hs_stmt_done(w, st);
    int ret = rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "finding deleted destinations");
    uint64_t now = hs_now_ms();
    for (size_t i = 0; ret == HS_OK && i < n; i++) ret = hs_deliveries_cancel(s, ids[i], now, deliveries, events, err);
    hs_free(ids);
    return ret;
}

/* ---- manual retries (sync) ---- */

static const char SQL_REQUEUE[] = "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 "
                                  "WHERE seq = ?1 RETURNING destination";
static const char SQL_UNDLQ[] = "UPDATE delivery_attempts SET is_dlq = 0 WHERE delivery_id = ?1 AND is_dlq = 1";
/* ?1: seq, as text (hs_deliveries_select binds text) */
static const char SQL_DELIVERY_BY_SEQ[] =
    "SELECT " HS_DELIVERY_COLS " FROM deliveries_named WHERE seq = CAST(?1 AS INTEGER)";
static const char SQL_RETRYABLE_OF_EVENT[] =
    "SELECT " HS_DELIVERY_COLS " FROM deliveries_named WHERE event_id = ?1 AND status IN ('dlq', 'failed') "
    "ORDER BY seq";

/* Whether the destination still exists (hs__destination_exists_fn; ctx:
 * the writer's connection). */
static int destination_exists(void *ctx, const char *destination_id, bool *exists, hs_error *err) {
    hs_sqlite_db *w = ctx;
    sqlite3_stmt *st = hs_stmt(w, "SELECT 1 FROM destinations WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, destination_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    *exists = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "finding the destination");
}

/* Back to pending, due now; out of the DLQ; the event is processing again. */
static int requeue(hs_store *s, hs_delivery *d, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    uint64_t now = hs_now_ms();
    sqlite3_stmt *st = hs_stmt(w, SQL_REQUEUE, err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, (int64_t)d->seq);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    int64_t destination;
    int rc = step_returning(w, st, &destination, "requeueing the delivery", err);
    if (rc == HS_OK) hs__counts_add(&hs__sq(s)->pending, destination, 1);
    if (rc == HS_OK) rc = run_keyed(w, SQL_UNDLQ, d->id, 0, 0, "taking the delivery out of the DLQ", err);
    if (rc == HS_OK) rc = run_keyed(w, SQL_EVENT_REOPEN, d->event_id, 0, 0, "updating the event status", err);
    snprintf(d->status, sizeof d->status, "pending");
    d->next_attempt_at = now;
    d->updated_at = now;
    return rc;
}

/* The delivery named delivery_id: *d (hs_free), *n 0 when it is gone. */
static int delivery_by_id(void *ctx, const char *delivery_id, hs_delivery **d, size_t *n, hs_error *err) {
    hs_sqlite_db *w = ctx;
    uint64_t created = 0, seq = 0;
    char seq_text[24];
    bool ours = hs__delivery_id_parse(delivery_id, &created, &seq);
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)seq);
    int ret = hs_deliveries_select(w, SQL_DELIVERY_BY_SEQ, seq_text, d, n, err);
    if (ret == HS_OK && *n && (!ours || (*d)->created_at != created)) *n = 0; /* another delivery's seq: gone */
    return ret;
}

int hs__sqlite_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, "SELECT delivery_id FROM delivery_attempts WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, attempt_id, -1, SQLITE_STATIC);
    char delivery_id[HS_ID_MAX] = "";
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) hs_col_copy(delivery_id, sizeof delivery_id, st, 0);
    hs_stmt_done(w, st);
    if (rc == SQLITE_DONE) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no delivery attempt %s", attempt_id);
    if (rc != SQLITE_ROW) return hs_sqlite_fail(err, w->db, rc, "finding the attempt");
    hs_delivery *d = NULL;
    size_t n = 0;
    int ret = delivery_by_id(w, delivery_id, &d, &n, err);
    if (ret != HS_OK) return ret;
    ret = hs__retry_check(delivery_id, n ? d : NULL, destination_exists, w, err);
    if (ret == HS_OK) ret = requeue(s, d, err);
    if (ret == HS_OK) *out = *d;
    hs_free(d);
    return ret;
}

int hs__sqlite_event_retry(hs_store *s, const char *event_id, hs_event_retry *r, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, "SELECT 1 FROM events WHERE id = ?1", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    if (rc == SQLITE_DONE) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no event %s", event_id);
    if (rc != SQLITE_ROW) return hs_sqlite_fail(err, w->db, rc, "finding the event");
    int ret = hs_deliveries_select(w, SQL_RETRYABLE_OF_EVENT, event_id, &r->queued, &r->n, err);
    if (ret == HS_OK) ret = hs__retry_split(event_id, r, destination_exists, w, err);
    for (size_t i = 0; ret == HS_OK && i < r->n; i++) ret = requeue(s, &r->queued[i], err);
    if (ret != HS_OK) hs__event_retry_clear(r);
    return ret;
}

/* Bulk retry: the dead-lettered attempts matching q, through attempts_dlq
 * (only the DLQ's rows), oldest first; each one's delivery is requeued
 * (those of deleted destinations skipped). */
static const char SQL_DLQ_MATCH[] =
    "SELECT delivery_id FROM delivery_attempts WHERE is_dlq = 1 AND (?1 = '' OR destination_id = ?1) AND "
    "(?2 = '' OR connection_id = ?2) AND created_at >= ?3 AND created_at <= ?4 ORDER BY id LIMIT ?5";

int hs__sqlite_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *r, bool *more, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, SQL_DLQ_MATCH, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, q->destination_id ? q->destination_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, q->connection_id ? q->connection_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)q->from);
    sqlite3_bind_int64(st, 4, q->to ? (int64_t)q->to : INT64_MAX);
    sqlite3_bind_int64(st, 5, (int64_t)q->limit + 1);
    char(*ids)[HS_ID_MAX] = hs_malloc((q->limit + 1) * sizeof *ids);
    size_t nids = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) hs_col_copy(ids[nids++], HS_ID_MAX, st, 0);
    hs_stmt_done(w, st);
    int ret = rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "finding dead letters");
    *more = nids > q->limit;
    if (*more) nids = q->limit;
    const char **ptrs = hs_malloc((nids ? nids : 1) * sizeof *ptrs);
    for (size_t i = 0; i < nids; i++) ptrs[i] = ids[i];
    hs__requeue_ops ops = {.ctx = w, .load = delivery_by_id, .exists = destination_exists, .requeue = requeue};
    if (ret == HS_OK) ret = hs__bulk_requeue(s, &ops, ptrs, nids, r, err);
    hs_free(ptrs);
    hs_free(ids);
    return ret;
}

/* ---- reads for the API ---- */

/* of delivery_attempts a */
#define ATTEMPT_COLS                                                                                                   \
    "a.id, a.delivery_id, a.event_id, a.destination_id, a.connection_id, a.attempt_number, a.status, "                 \
    "a.request_url, a.request_method, a.request_headers, a.response_status, a.response_headers, a.response_body, "     \
    "a.duration_ms, a.error, a.next_retry_at, a.is_dlq, a.dlq_at, a.created_at"

static json_t *time_or_null(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return json_null();
    return hs_json_time((uint64_t)sqlite3_column_int64(st, col));
}

static json_t *text_col(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return json_null();
    return hs_json_text((const char *)sqlite3_column_text(st, col));
}

/* A JSON object column, parsed (null when missing or unparsable). */
static json_t *object_col(sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return json_null();
    json_t *v = json_loads((const char *)sqlite3_column_text(st, col), 0, NULL);
    return v ? v : json_null();
}

static json_t *attempt_from_row(sqlite3_stmt *st) {
    json_t *o = json_object();
    static const char *const text_names[] = {"id", "delivery_id", "event_id", "destination_id", "connection_id"};
    for (int i = 0; i < 5; i++) json_object_set_new(o, text_names[i], text_col(st, i));
    json_object_set_new(o, "attempt_number", json_integer(sqlite3_column_int(st, 5)));
    json_object_set_new(o, "status", text_col(st, 6));
    json_object_set_new(o, "request_url", text_col(st, 7));
    json_object_set_new(o, "request_method", text_col(st, 8));
    json_object_set_new(o, "request_headers", object_col(st, 9));
    json_object_set_new(o, "response_status",
                        sqlite3_column_type(st, 10) == SQLITE_NULL ? json_null()
                                                                   : json_integer(sqlite3_column_int(st, 10)));
    json_object_set_new(o, "response_headers", object_col(st, 11));
    json_t *body = json_null();
    if (sqlite3_column_type(st, 12) != SQLITE_NULL) {
        /* the blob as text: kept bytes that are not UTF-8 read as Latin-1 */
        const char *b = sqlite3_column_blob(st, 12);
        size_t len = (size_t)sqlite3_column_bytes(st, 12);
        char *z = hs_malloc(len + 1);
        if (len) memcpy(z, b, len);
        z[len] = '\0';
        body = hs_json_text(z);
        hs_free(z);
    }
    json_object_set_new(o, "response_body", body);
    json_object_set_new(o, "duration_ms", json_integer(sqlite3_column_int64(st, 13)));
    json_object_set_new(o, "error", text_col(st, 14));
    json_object_set_new(o, "next_retry_at", time_or_null(st, 15));
    json_object_set_new(o, "is_dlq", json_boolean(sqlite3_column_int(st, 16) != 0));
    json_object_set_new(o, "dlq_at", time_or_null(st, 17));
    json_object_set_new(o, "created_at", time_or_null(st, 18));
    return o;
}

/* Rows of st as an array of attempt objects. */
static int collect_attempts(hs_sqlite_db *c, sqlite3_stmt *st, size_t limit, json_t **items, bool *more,
                            hs_error *err) {
    json_t *arr = json_array();
    int rc;
    if (more) *more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (limit && json_array_size(arr) == limit) {
            if (more) *more = true;
            rc = SQLITE_DONE;
            break;
        }
        json_array_append_new(arr, attempt_from_row(st));
    }
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return hs_sqlite_fail(err, c->db, rc, "reading delivery attempts");
    }
    *items = arr;
    return HS_OK;
}

int hs__sqlite_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err) {
    hs_buf conds, sql;
    hs_buf_init(&conds, 2048);
    hs_buf_init(&sql, 8192);
    /* through the event's deliveries: attempts have no index by event */
    if (q->event_id)
        hs_buf_appends(&conds, " AND a.delivery_id IN (SELECT id FROM deliveries WHERE event_id = :event_id)"
                               " AND a.event_id = :event_id");
    if (q->connection_id) hs_buf_appends(&conds, " AND a.connection_id = :connection_id");
    if (q->dlq_only) hs_buf_appends(&conds, " AND a.is_dlq = 1");
    if (q->status && strcmp(q->status, "pending") == 0) /* the latest attempt of a delivery that waits for its retry */
        hs_buf_appends(&conds,
                       " AND a.status = 'failed' AND a.next_retry_at IS NOT NULL AND a.is_dlq = 0"
                       " AND a.id = (SELECT max(id) FROM delivery_attempts b WHERE b.delivery_id = a.delivery_id)"
                       " AND a.delivery_id IN (SELECT id FROM deliveries WHERE status = 'pending')");
    else if (q->status)
        hs_buf_appends(&conds, " AND a.status = :status");
    if (q->page.cursor) hs_buf_appends(&conds, " AND a.id < :cursor");
    const char *c_sql = conds.data ? conds.data : "";
    if (q->destination_id) /* through the late index (late.c) */
        hs_late_select(&sql, HS_LATE_ATTEMPTS, ATTEMPT_COLS, ":destination_id", c_sql);
    else
        hs_buf_appendf(&sql, "SELECT " ATTEMPT_COLS " FROM delivery_attempts a WHERE 1%s", c_sql);
    hs_buf_appends(&sql, " ORDER BY 1 DESC LIMIT :limit");
    hs_buf_free(&conds);
    hs_sqlite_db *c = hs_reader_get(s, err);
    sqlite3_stmt *st = c ? hs_stmt(c, sql.data, err) : NULL;
    hs_buf_free(&sql);
    if (!st) {
        if (c) hs_reader_put(s, c);
        return err->code;
    }
    hs_bind_opt_text(st, ":event_id", q->event_id);
    hs_bind_opt_text(st, ":destination_id", q->destination_id);
    hs_bind_opt_text(st, ":connection_id", q->connection_id);
    hs_bind_opt_text(st, ":status", q->status);
    hs_bind_opt_text(st, ":cursor", q->page.cursor);
    hs_bind_opt_int(st, ":limit", q->page.limit + 1);
    int rc = collect_attempts(c, st, (size_t)q->page.limit, items, has_more, err);
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return rc;
}

int hs__sqlite_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, "SELECT " ATTEMPT_COLS " FROM delivery_attempts a WHERE a.id = ?1", err);
    json_t *arr = NULL;
    int rc = st ? HS_OK : err->code;
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = collect_attempts(c, st, 0, &arr, NULL, err);
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    if (rc != HS_OK) return rc;
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no delivery attempt %s", id);
    }
    *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return HS_OK;
}

int hs__sqlite_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT " ATTEMPT_COLS " FROM delivery_attempts a WHERE a.delivery_id IN "
                               "(SELECT id FROM deliveries WHERE event_id = ?1) ORDER BY a.id",
                               err);
    int rc = st ? HS_OK : err->code;
    if (st) {
        sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
        rc = collect_attempts(c, st, 0, items, NULL, err);
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return rc;
}
