/* src/store/pg/deliveries.c — what the DeliveryScheduler reads and writes
 * in PostgreSQL: pending deliveries, circuit states, attempts (and with
 * them the DLQ), retries.
 *
 * An attempt is recorded in one transaction with everything it decides: the
 * delivery moves to delivered, stays pending with its next retry time, or
 * goes to the DLQ; the event's status is settled once none of its deliveries
 * is pending; the circuit state after the attempt is saved. So after a crash
 * the store never says "retry at T" without the attempt that led to it.
 *
 * Threads: attempt records on the writer thread, kept until the group's
 * flush, which sends them all as a few multi-row statements (rows.c) in its
 * pipeline without waiting for an answer: the attempts' INSERT, then one
 * UPDATE per 64 deliveries that also settles their events; retries,
 * orphans and cancelling on the writer thread inside their op's savepoint,
 * where waiting is fine; the reads on any thread, on a read connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/outbound.h"
#include "store/pg/pg.h"
#include "store/retry.h"

/* ---- reads for the scheduler ---- */

static const char SQL_PENDING[] =
    "SELECT " HS_PG_DELIVERY_COLS " FROM deliveries_named WHERE status = 'pending' ORDER BY destination_id, seq";

int hs__pg_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    int rc = hs_pg_deliveries_select(c, SQL_PENDING, NULL, out, n, err);
    hs_pg_reader_put(s, c);
    return rc;
}

int hs__pg_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c,
                             "SELECT destination_id, state, consecutive_failures, opened_at, next_probe_at, "
                             "last_transition_at FROM circuits ORDER BY destination_id",
                             NULL, "reading circuit states", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    int rows = PQntuples(r);
    if (rows > 0) *out = hs_malloc((size_t)rows * sizeof **out);
    for (int i = 0; i < rows; i++) {
        hs_circuit_row *cr = &(*out)[(*n)++];
        hs_pg_copy(cr->destination_id, sizeof cr->destination_id, r, i, 0);
        hs_pg_copy(cr->state, sizeof cr->state, r, i, 1);
        cr->consecutive_failures = (int)hs_pg_get_int(r, i, 2);
        cr->opened_at = (uint64_t)hs_pg_get_int(r, i, 3);
        cr->next_probe_at = (uint64_t)hs_pg_get_int(r, i, 4);
        cr->last_transition_at = (uint64_t)hs_pg_get_int(r, i, 5);
    }
    PQclear(r);
    return HS_OK;
}

/* ---- recording an attempt (async, writer thread) ---- */

static const hs_pg_rows_def ATTEMPT_ROWS = {
    .head = "INSERT INTO delivery_attempts(id, delivery_id, event_id, destination_id, connection_id, attempt_number, "
            "status, request_url, request_method, request_headers, response_status, response_headers, response_body, "
            "duration_ms, error, next_retry_at, is_dlq, dlq_at, created_at) VALUES",
    .first_row =
        "(?, ?, ?, ?, ?, ?::integer, ?, ?, ?, ?, ?::integer, ?, ?::bytea, ?::bigint, ?, ?::bigint, ?::integer, "
        "?::bigint, ?::bigint)",
    .row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    .tail = "",
};
/* Each delivery leaves pending (or stays, with its next retry time), and
 * those that left settle their events (dlq: 1 when it went to the DLQ),
 * counted per event, in one statement: the writer never waits for a
 * delivery's row. (Its destination's count goes down through
 * hs__pg.pending.) A delivery cancelled meanwhile (its destination deleted)
 * stays cancelled and settles nothing (counted then); found by its seq, the
 * id's time checked too. Once none of an event's deliveries is open, its
 * status says how it went. A seq appears once per statement (an UPDATE ...
 * FROM takes one of several matching rows, unpredictably): attempts_flush
 * cuts the rows there. */
static const hs_pg_rows_def SETTLE_ROWS = {
    .head = "WITH v(seq, status, attempts, next_at, updated_at, created, dlq) AS (VALUES ",
    .first_row = "(?::bigint, ?::text, ?::integer, ?::bigint, ?::bigint, ?::bigint, ?::integer)",
    .row = "(?, ?, ?, ?, ?, ?, ?)",
    .tail = "), d AS (UPDATE deliveries SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_at, "
            "updated_at = v.updated_at FROM v WHERE deliveries.seq = v.seq AND deliveries.created_at = v.created AND "
            "deliveries.status = 'pending' RETURNING deliveries.event_id, v.status, v.dlq), "
            "e AS (SELECT event_id, count(*) AS settled, sum(dlq) AS failed FROM d WHERE status <> 'pending' "
            "GROUP BY event_id) "
            "UPDATE events SET open_deliveries = open_deliveries - e.settled, failed_deliveries = failed_deliveries + "
            "e.failed, status = CASE WHEN open_deliveries > e.settled THEN events.status WHEN failed_deliveries + "
            "e.failed > 0 THEN 'failed' ELSE 'delivered' END FROM e WHERE events.id = e.event_id",
};
/* one of its deliveries is open again (a manual retry of a DLQ'd one) */
static const char SQL_EVENT_REOPEN[] =
    "UPDATE events SET open_deliveries = open_deliveries + 1, failed_deliveries = greatest(failed_deliveries - 1, 0), "
    "status = 'processing' WHERE id = $1";
static const char SQL_CIRCUIT_SAVE[] =
    "INSERT INTO circuits(destination_id, state, consecutive_failures, opened_at, next_probe_at, "
    "last_transition_at) VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (destination_id) DO UPDATE SET "
    "state = excluded.state, consecutive_failures = excluded.consecutive_failures, opened_at = excluded.opened_at, "
    "next_probe_at = excluded.next_probe_at, last_transition_at = excluded.last_transition_at";

/* The group's attempt records, and what their rows need: each one's
 * headers as JSON, its delivery's seq and created_at. */
typedef struct attempt_item {
    const hs_attempt_rec *a;
    char *rq, *rs;         /* request and response headers as JSON */
    uint64_t seq, created; /* 0: not one of our delivery ids, nothing to move */
} attempt_item;

static const char *status_of(const hs_attempt_rec *a) { return hs__attempt_delivery_status(a); }

static void attempt_row(size_t i, hs_pg_params *p, void *ud) {
    const attempt_item *it = &((const attempt_item *)ud)[i];
    const hs_attempt_rec *a = it->a;
    hs_pg_text(p, a->id);
    hs_pg_text(p, a->delivery_id);
    hs_pg_text(p, a->event_id);
    hs_pg_text(p, a->destination_id);
    hs_pg_text(p, a->connection_id);
    hs_pg_int(p, a->attempt_number);
    hs_pg_text(p, a->success ? "success" : "failed");
    hs_pg_text(p, a->request_url ? a->request_url : "");
    hs_pg_text(p, a->request_method ? a->request_method : "");
    hs_pg_text(p, it->rq ? it->rq : "{}");
    hs_pg_int_or_null(p, a->response_status > 0 ? a->response_status : 0);
    hs_pg_text(p, it->rs);
    hs_pg_bytes(p, a->response_body, a->response_body ? a->response_body_len : 0);
    hs_pg_int(p, (int64_t)a->duration_ms);
    hs_pg_text(p, a->error);
    hs_pg_int_or_null(p, (int64_t)a->next_retry_at);
    hs_pg_int(p, a->is_dlq ? 1 : 0);
    hs_pg_int_or_null(p, a->is_dlq ? (int64_t)a->dlq_at : 0);
    hs_pg_int(p, (int64_t)a->created_at);
}

/* Over the items that move a delivery (settle[]: their indexes). */
typedef struct settle_ctx {
    const attempt_item *items;
    const size_t *settle;
} settle_ctx;

static void settle_row(size_t i, hs_pg_params *p, void *ud) {
    const settle_ctx *c = ud;
    const attempt_item *it = &c->items[c->settle[i]];
    hs_pg_int(p, (int64_t)it->seq);
    hs_pg_text(p, status_of(it->a));
    hs_pg_int(p, it->a->attempt_number);
    hs_pg_int(p, (int64_t)it->a->next_retry_at);
    hs_pg_int(p, (int64_t)it->a->created_at);
    hs_pg_int(p, (int64_t)it->created);
    hs_pg_int(p, hs__attempt_failed_for_good(it->a) ? 1 : 0);
}

/* Send the settles in runs where no seq repeats (in order: a later attempt
 * of the same delivery goes in a later statement). */
static int send_settles(hs_store *s, settle_ctx *c, size_t n, hs_error *err) {
    int rc = HS_OK;
    for (size_t from = 0; from < n && rc == HS_OK;) {
        size_t to = from + 1;
        for (; to < n && to - from < HS_PG_ROWS_MAX; to++) {
            bool again = false;
            for (size_t k = from; k < to && !again; k++)
                again = c->items[c->settle[k]].seq == c->items[c->settle[to]].seq;
            if (again) break;
        }
        rc = hs_pg_rows_send(s, &SETTLE_ROWS, from, to, settle_row, c, "updating the deliveries", NULL, err);
        from = to;
    }
    return rc;
}

static int save_circuit(hs_pg_conn *w, const hs_circuit_row *c, hs_error *err);

static const char SQL_FENCE[] =
    "SELECT l.destination_id, l.epoch FROM leases l JOIN unnest($1::text[], $2::bigint[]) AS v(d, e) "
    "ON l.destination_id = v.d AND l.epoch = v.e WHERE l.owner = $3 ORDER BY l.destination_id FOR SHARE OF l";

static const char *op_destination(const hs_attempt_op *op) {
    return op->has_attempt ? op->a.destination_id : op->circuit.destination_id;
}

/* Is (destination, epoch) among the rows of r? */
static bool lease_held(const PGresult *r, const char *destination_id, uint64_t epoch) {
    for (int i = 0; i < PQntuples(r); i++)
        if ((uint64_t)hs_pg_get_int(r, i, 1) == epoch && strcmp(hs_pg_get_text(r, i, 0), destination_id) == 0)
            return true;
    return false;
}

/* Which of the destinations $1 still exist. */
static const char SQL_LIVE[] = "SELECT id FROM destinations WHERE id = ANY($1::text[])";

/* Is id among the rows of r (NULL: none)? */
static bool named(const PGresult *r, const char *id) {
    for (int i = 0; i < PQntuples(r); i++)
        if (strcmp(hs_pg_get_text(r, i, 0), id) == 0) return true;
    return false;
}

/* The destinations of the ops whose lease is not held that still exist
 * (into *live; NULL when every lease is held). */
static int live_destinations(hs_store *s, hs_attempt_op **ops, const bool *held, size_t n, PGresult **live,
                             hs_error *err) {
    *live = NULL;
    const char **ids = hs_malloc((n ? n : 1) * sizeof *ids);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!held[i]) ids[k++] = op_destination(ops[i]);
    int rc = HS_OK;
    if (k) {
        hs_buf b;
        hs_buf_init(&b, 1 << 24);
        hs_pg_array_texts(&b, ids, k);
        hs_pg_params p = {0};
        hs_pg_text(&p, b.data);
        *live = hs_pg_exec(hs__pg_writer(s), SQL_LIVE, &p, "checking the destinations", err);
        hs_buf_free(&b);
        if (!*live) rc = err->code;
    }
    hs_free(ids);
    return rc;
}

/* The leases of the group's fenced ops, locked until the commit; those
 * that moved are marked stale and leave the list. An attempt whose
 * destination was deleted meanwhile (its lease went with it) is still
 * recorded, as on SQLite: it was made, its delivery stays cancelled (the
 * settle only moves pending ones) and no other node will make it; its
 * circuit, of a destination that is no more, is not saved. */
static int fence(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    size_t n = 0;
    for (size_t i = 0; i < q->nattempts; i++) n += q->attempts[i]->epoch > 0;
    if (!n) return HS_OK;
    const char **ids = hs_malloc(n * sizeof *ids);
    int64_t *epochs = hs_malloc(n * sizeof *epochs);
    n = 0;
    for (size_t i = 0; i < q->nattempts; i++) {
        if (!q->attempts[i]->epoch) continue;
        ids[n] = op_destination(q->attempts[i]);
        epochs[n++] = (int64_t)q->attempts[i]->epoch;
    }
    hs_buf a, b;
    hs_buf_init(&a, 1 << 24);
    hs_buf_init(&b, 1 << 24);
    hs_pg_array_texts(&a, ids, n);
    hs_pg_array_ints(&b, epochs, n);
    hs_pg_params p = {0};
    hs_pg_text(&p, a.data);
    hs_pg_text(&p, b.data);
    hs_pg_text(&p, q->node);
    PGresult *r = hs_pg_exec(&q->writer, SQL_FENCE, &p, "checking the leases", err);
    hs_buf_free(&a);
    hs_buf_free(&b);
    hs_free(ids);
    hs_free(epochs);
    if (!r) return err->code;
    bool *held = hs_malloc(q->nattempts * sizeof *held);
    for (size_t i = 0; i < q->nattempts; i++) {
        hs_attempt_op *op = q->attempts[i];
        held[i] = !op->epoch || lease_held(r, op_destination(op), op->epoch);
    }
    PQclear(r);
    PGresult *live = NULL;
    int rc = live_destinations(s, q->attempts, held, q->nattempts, &live, err);
    size_t kept = 0;
    for (size_t i = 0; rc == HS_OK && i < q->nattempts; i++) {
        hs_attempt_op *op = q->attempts[i];
        if (!held[i] && (!op->has_attempt || named(live, op_destination(op)))) {
            op->stale = true; /* src/store/store.c completes it with HS_ERR_STALE */
            continue;
        }
        if (!held[i]) op->has_circuit = false; /* deleted: recorded, without its circuit */
        q->attempts[kept++] = op;
    }
    if (rc == HS_OK) q->nattempts = kept;
    PQclear(live);
    hs_free(held);
    return rc;
}

int hs_pg_attempts_fence(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    int rc = fence(s, err);
    /* the deliveries that leave pending, for the queue counts */
    for (size_t i = 0; i < q->nattempts && rc == HS_OK; i++) {
        const hs_attempt_rec *a = &q->attempts[i]->a;
        uint64_t created, seq;
        if (!q->attempts[i]->has_attempt || strcmp(status_of(a), "pending") == 0 ||
            !hs__delivery_id_parse(a->delivery_id, &created, &seq))
            continue;
        /* (had it been cancelled meanwhile, the queue row went with the
         * destination: a -1 then writes a 0) */
        int64_t key = 0;
        rc = hs_pg_dest_key(s, a->destination_id, &key, err);
        hs__counts_add(&q->pending, key, -1);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The events the settles will update, locked in id order first: with
 * several nodes, two groups settling deliveries of the same fan-out events
 * (each node its own destinations') would otherwise lock them in whatever
 * order their joins find them, and could wait for each other in a cycle
 * (PostgreSQL then aborts one after deadlock_timeout). */
static int lock_events(hs_store *s, const attempt_item *items, const size_t *settle, size_t n, hs_error *err) {
    const char **ids = hs_malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = items[settle[i]].a->event_id;
    qsort(ids, n, sizeof *ids, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(ids[k - 1], ids[i]) != 0) ids[k++] = ids[i];
    hs_buf b;
    hs_buf_init(&b, 1 << 24);
    hs_pg_array_texts(&b, ids, k);
    hs_pg_params p = {0};
    hs_pg_text(&p, b.data);
    int rc = hs_pg_queue(hs__pg_writer(s), "SELECT 1 FROM events WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", &p,
                         "locking the events to settle", err);
    hs_buf_free(&b);
    hs_free(ids);
    return rc;
}

int hs_pg_attempts_flush(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    size_t n = 0;
    int rc = HS_OK;
    for (size_t i = 0; i < q->nattempts && rc == HS_OK; i++)
        if (q->attempts[i]->has_circuit) rc = save_circuit(&q->writer, &q->attempts[i]->circuit, err);
    /* the attempts first in the list: only ops with a circuit alone are not */
    hs_attempt_op **ops = q->attempts;
    for (size_t i = 0; i < q->nattempts; i++)
        if (ops[i]->has_attempt) ops[n++] = ops[i];
    q->nattempts = n;
    if (!n || rc != HS_OK) {
        hs_pg_attempts_clear(s);
        return rc;
    }
    attempt_item *items = hs_calloc(n, sizeof *items);
    size_t *settle = hs_malloc(n * sizeof *settle), nsettle = 0;
    for (size_t i = 0; i < n; i++) {
        const hs_attempt_rec *a = &q->attempts[i]->a;
        items[i].a = a;
        items[i].rq = hs_headers_json(a->request_headers, a->request_headers_len, false);
        items[i].rs = hs_headers_json(a->response_headers, a->response_headers_len, true);
        if (hs__delivery_id_parse(a->delivery_id, &items[i].created, &items[i].seq)) settle[nsettle++] = i;
    }
    /* libpq copies the parameters as it sends: the strings may go after */
    rc = hs_pg_rows_send(s, &ATTEMPT_ROWS, 0, n, attempt_row, items, "recording the attempts", NULL, err);
    settle_ctx c = {.items = items, .settle = settle};
    if (rc == HS_OK && nsettle) rc = lock_events(s, items, settle, nsettle, err);
    if (rc == HS_OK) rc = send_settles(s, &c, nsettle, err);
    for (size_t i = 0; i < n; i++) {
        hs_free(items[i].rq);
        hs_free(items[i].rs);
    }
    hs_free(items);
    hs_free(settle);
    hs_pg_attempts_clear(s);
    return rc;
}

void hs_pg_attempts_clear(hs_store *s) { hs__pgs(s)->nattempts = 0; }

void hs_pg_attempts_free(hs_store *s) {
    hs__pg *q = hs__pgs(s);
    hs_free(q->attempts);
    q->attempts = NULL;
    q->nattempts = q->attempts_cap = 0;
}

static int save_circuit(hs_pg_conn *w, const hs_circuit_row *c, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, c->destination_id);
    hs_pg_text(&p, c->state);
    hs_pg_int(&p, c->consecutive_failures);
    hs_pg_int(&p, (int64_t)c->opened_at);
    hs_pg_int(&p, (int64_t)c->next_probe_at);
    hs_pg_int(&p, (int64_t)c->last_transition_at);
    return hs_pg_queue(w, SQL_CIRCUIT_SAVE, &p, "saving the circuit state", err);
}

/* Keep op for the flush (it lives until its group completes): its lease
 * is checked there, then its rows and its circuit go out. */
int hs__pg_attempt_record(hs_store *s, const hs_attempt_op *op, hs_error *err) {
    (void)err;
    hs__pg *q = hs__pgs(s);
    if (q->nattempts == q->attempts_cap) {
        q->attempts_cap = q->attempts_cap ? q->attempts_cap * 2 : 64;
        q->attempts = hs_realloc(q->attempts, q->attempts_cap * sizeof *q->attempts);
    }
    q->attempts[q->nattempts++] = (hs_attempt_op *)op; /* the fence may mark it stale */
    return HS_OK;
}

/* ---- cancelling (a destination is deleted) ---- */

/* The end of the CASE that settles an event none of whose deliveries is
 * pending any more, once failure was ruled out: delivered when one of them
 * was, else cancelled (every delivery it had was cancelled). An event is
 * never processing without a pending delivery. */
#define SQL_SETTLED_NOT_FAILED                                                                                         \
    "WHEN EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'delivered') "                \
    "THEN 'delivered' ELSE 'cancelled' END"

/* $1: the destination's number (refs.n) */
static const char SQL_CANCEL_SETTLE_EVENTS[] =
    "UPDATE events SET open_deliveries = open_deliveries - (SELECT count(*) FROM deliveries d WHERE d.event_id = "
    "events.id AND d.destination = $1 AND d.status = 'pending'), status = CASE WHEN open_deliveries - (SELECT "
    "count(*) FROM deliveries d WHERE d.event_id = events.id AND d.destination = $1 AND d.status = 'pending') > 0 "
    "THEN status WHEN failed_deliveries > 0 THEN 'failed' " SQL_SETTLED_NOT_FAILED " WHERE id IN (SELECT event_id "
    "FROM deliveries WHERE destination = $1 AND status = 'pending')";
static const char SQL_CANCEL[] = "UPDATE deliveries SET status = 'cancelled', updated_at = $2 WHERE destination = "
                                 "$1 AND status = 'pending'";
static const char SQL_QUEUE_DROP[] = "DELETE FROM queues WHERE destination = $1";

int hs_pg_deliveries_cancel(hs_store *s, const char *destination_id, uint64_t now, size_t *cancelled, size_t *events,
                            hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    int64_t key;
    int rc = hs_pg_ref_key(w, destination_id, false, &key, err);
    if (rc != HS_OK || key == 0) return rc; /* never named: nothing of it is stored */
    hs_pg_params p = {0};
    hs_pg_int(&p, key);
    int64_t changed = 0;
    /* the events first, while their pending deliveries can still be counted */
    rc = hs_pg_run(w, SQL_CANCEL_SETTLE_EVENTS, &p, "settling the events of cancelled deliveries", &changed, err);
    if (rc == HS_OK && events) *events += (size_t)changed;
    if (rc == HS_OK) {
        hs_pg_params pc = {0};
        hs_pg_int(&pc, key);
        hs_pg_int(&pc, (int64_t)now);
        rc = hs_pg_run(w, SQL_CANCEL, &pc, "cancelling deliveries", &changed, err);
    }
    if (rc == HS_OK && cancelled) *cancelled += (size_t)changed;
    /* written now, so that no delta of the open group may revive the row
     * (queued: the DELETE comes after it on the same connection) */
    if (rc == HS_OK) rc = hs_pg_queues_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_run(w, SQL_QUEUE_DROP, &p, "dropping the queue count", NULL, err);
    return rc;
}

/* ---- at start: what a deleted destination left behind ---- */

/* pending deliveries of destinations that no longer exist (a retry of one
 * before 409 refused it, or a database edited by hand), found through the
 * queue counts: one row per destination, not the backlog */
static const char SQL_ORPHAN_DESTINATIONS[] =
    "SELECT r.id FROM queues q JOIN refs r ON r.n = q.destination WHERE q.pending > 0 AND r.id NOT IN "
    "(SELECT id FROM destinations)";

int hs__pg_settle_orphans(hs_store *s, size_t *deliveries, size_t *events, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    PGresult *r = hs_pg_exec(w, SQL_ORPHAN_DESTINATIONS, NULL, "finding deleted destinations", err);
    if (!r) return err->code;
    int n = PQntuples(r);
    char(*ids)[HS_ID_MAX] = hs_malloc((size_t)(n ? n : 1) * sizeof *ids);
    for (int i = 0; i < n; i++) hs_pg_copy(ids[i], HS_ID_MAX, r, i, 0);
    PQclear(r);
    int ret = HS_OK;
    uint64_t now = hs_now_ms();
    for (int i = 0; ret == HS_OK && i < n; i++) ret = hs_pg_deliveries_cancel(s, ids[i], now, deliveries, events, err);
    hs_free(ids);
    return ret;
}

/* ---- manual retries (sync) ---- */

static const char SQL_REQUEUE[] = "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2 "
                                  "WHERE seq = $1 RETURNING destination";
static const char SQL_UNDLQ[] = "UPDATE delivery_attempts SET is_dlq = 0 WHERE delivery_id = $1 AND is_dlq = 1";
static const char SQL_DELIVERY_BY_SEQ[] = "SELECT " HS_PG_DELIVERY_COLS " FROM deliveries_named WHERE seq = $1";
static const char SQL_RETRYABLE_OF_EVENT[] =
    "SELECT " HS_PG_DELIVERY_COLS " FROM deliveries_named WHERE event_id = $1 AND status IN ('dlq', 'failed') "
    "ORDER BY seq";

/* Whether the destination still exists (hs__destination_exists_fn; ctx:
 * the writer's connection). */
static int destination_exists(void *ctx, const char *destination_id, bool *exists, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, destination_id);
    PGresult *r = hs_pg_exec(ctx, "SELECT 1 FROM destinations WHERE id = $1", &p, "finding the destination", err);
    *exists = false;
    if (!r) return err->code;
    *exists = PQntuples(r) > 0;
    PQclear(r);
    return HS_OK;
}

/* Back to pending, due now; out of the DLQ; the event is processing again.
 * The last two are queued: the caller waits for them (hs_pg_sync) before
 * its op ends, so that a failure fails the op. */
static int requeue(hs_store *s, hs_delivery *d, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    uint64_t now = hs_now_ms();
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)d->seq);
    hs_pg_int(&p, (int64_t)now);
    PGresult *r = hs_pg_exec(w, SQL_REQUEUE, &p, "requeueing the delivery", err);
    int rc = r ? HS_OK : err->code;
    if (r) {
        int64_t destination = PQntuples(r) > 0 ? hs_pg_get_int(r, 0, 0) : 0;
        PQclear(r);
        hs__counts_add(&hs__pgs(s)->pending, destination, 1);
    }
    if (rc == HS_OK) {
        hs_pg_params u = {0};
        hs_pg_text(&u, d->id);
        rc = hs_pg_queue(w, SQL_UNDLQ, &u, "taking the delivery out of the DLQ", err);
    }
    if (rc == HS_OK) {
        hs_pg_params e = {0};
        hs_pg_text(&e, d->event_id);
        rc = hs_pg_queue(w, SQL_EVENT_REOPEN, &e, "updating the event status", err);
    }
    /* behind the cursor of whichever node owns the destination: it reads
     * its queue again when it hears of it (the feed), or when its poll sees
     * the count of requeues move */
    if (rc == HS_OK) {
        hs_pg_params q = {0};
        hs_pg_text(&q, d->destination_id);
        rc = hs_pg_queue(w,
                         "UPDATE queues SET requeues = requeues + 1 WHERE destination = (SELECT n FROM refs WHERE id "
                         "= $1)",
                         &q, "counting the requeue", err);
    }
    if (rc == HS_OK) {
        char m[160];
        snprintf(m, sizeof m, "q %s %s 1", hs__pgs(s)->node[0] ? hs__pgs(s)->node : "-", d->destination_id);
        rc = hs_pg_feed_send(s, m, err);
    }
    snprintf(d->status, sizeof d->status, "pending");
    d->next_attempt_at = now;
    d->updated_at = now;
    return rc;
}

/* The delivery named delivery_id: *d (hs_free), *n 0 when it is gone. */
static int delivery_by_id(void *ctx, const char *delivery_id, hs_delivery **d, size_t *n, hs_error *err) {
    hs_pg_conn *w = ctx;
    uint64_t created = 0, seq = 0;
    bool ours = hs__delivery_id_parse(delivery_id, &created, &seq);
    hs_pg_params ps = {0};
    hs_pg_int(&ps, (int64_t)seq);
    int ret = hs_pg_deliveries_select(w, SQL_DELIVERY_BY_SEQ, &ps, d, n, err);
    if (ret == HS_OK && *n && (!ours || (*d)->created_at != created)) *n = 0; /* another delivery's seq: gone */
    return ret;
}

int hs__pg_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, attempt_id);
    PGresult *r =
        hs_pg_exec(w, "SELECT delivery_id FROM delivery_attempts WHERE id = $1", &p, "finding the attempt", err);
    if (!r) return err->code;
    char delivery_id[HS_ID_MAX] = "";
    bool found = PQntuples(r) > 0;
    if (found) hs_pg_copy(delivery_id, sizeof delivery_id, r, 0, 0);
    PQclear(r);
    if (!found) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no delivery attempt %s", attempt_id);
    hs_delivery *d = NULL;
    size_t n = 0;
    int ret = delivery_by_id(w, delivery_id, &d, &n, err);
    if (ret != HS_OK) return ret;
    ret = hs__retry_check(delivery_id, n ? d : NULL, destination_exists, w, err);
    if (ret == HS_OK) ret = requeue(s, d, err);
    if (ret == HS_OK) ret = hs_pg_sync(w, err);
    if (ret == HS_OK) *out = *d;
    hs_free(d);
    return ret;
}

int hs__pg_event_retry(hs_store *s, const char *event_id, hs_event_retry *r, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, event_id);
    PGresult *res = hs_pg_exec(w, "SELECT 1 FROM events WHERE id = $1", &p, "finding the event", err);
    if (!res) return err->code;
    bool found = PQntuples(res) > 0;
    PQclear(res);
    if (!found) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no event %s", event_id);
    int ret = hs_pg_deliveries_select(w, SQL_RETRYABLE_OF_EVENT, &p, &r->queued, &r->n, err);
    if (ret == HS_OK) ret = hs__retry_split(event_id, r, destination_exists, w, err);
    for (size_t i = 0; ret == HS_OK && i < r->n; i++) ret = requeue(s, &r->queued[i], err);
    if (ret == HS_OK) ret = hs_pg_sync(w, err);
    if (ret != HS_OK) hs__event_retry_clear(r);
    return ret;
}

/* Bulk retry: the dead-lettered attempts matching q, through attempts_dlq
 * (only the DLQ's rows), oldest first; each one's delivery is requeued
 * (those of deleted destinations skipped). */
static const char SQL_DLQ_MATCH[] =
    "SELECT delivery_id FROM delivery_attempts WHERE is_dlq = 1 AND ($1 = '' OR destination_id = $1) AND "
    "($2 = '' OR connection_id = $2) AND created_at >= $3 AND created_at <= $4 ORDER BY id LIMIT $5";

int hs__pg_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *r, bool *more, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, q->destination_id ? q->destination_id : "");
    hs_pg_text(&p, q->connection_id ? q->connection_id : "");
    hs_pg_int(&p, (int64_t)q->from);
    hs_pg_int(&p, q->to ? (int64_t)q->to : INT64_MAX);
    hs_pg_int(&p, (int64_t)q->limit + 1);
    PGresult *res = hs_pg_exec(w, SQL_DLQ_MATCH, &p, "finding dead letters", err);
    if (!res) return err->code;
    size_t nids = (size_t)PQntuples(res);
    *more = nids > q->limit;
    if (*more) nids = q->limit;
    const char **ids = hs_malloc((nids ? nids : 1) * sizeof *ids);
    for (size_t i = 0; i < nids; i++) ids[i] = hs_pg_get_text(res, (int)i, 0);
    hs__requeue_ops ops = {.ctx = w, .load = delivery_by_id, .exists = destination_exists, .requeue = requeue};
    int ret = hs__bulk_requeue(s, &ops, ids, nids, r, err);
    hs_free(ids);
    PQclear(res);
    if (ret == HS_OK) ret = hs_pg_sync(w, err);
    return ret;
}

/* ---- reads for the API ---- */

#define ATTEMPT_COLS                                                                                                   \
    "id, delivery_id, event_id, destination_id, connection_id, attempt_number, status, request_url, "                  \
    "request_method, request_headers, response_status, response_headers, response_body, duration_ms, error, "          \
    "next_retry_at, is_dlq, dlq_at, created_at"

static json_t *time_or_null(const PGresult *r, int row, int col) {
    if (hs_pg_null(r, row, col)) return json_null();
    return hs_json_time((uint64_t)hs_pg_get_int(r, row, col));
}

static json_t *text_col(const PGresult *r, int row, int col) {
    if (hs_pg_null(r, row, col)) return json_null();
    return hs_json_text(hs_pg_get_text(r, row, col));
}

/* A JSON object column, parsed (null when missing or unparsable). */
static json_t *object_col(const PGresult *r, int row, int col) {
    if (hs_pg_null(r, row, col)) return json_null();
    json_t *v = json_loads(hs_pg_get_text(r, row, col), 0, NULL);
    return v ? v : json_null();
}

static json_t *attempt_from_row(const PGresult *r, int row) {
    json_t *o = json_object();
    static const char *const text_names[] = {"id", "delivery_id", "event_id", "destination_id", "connection_id"};
    for (int i = 0; i < 5; i++) json_object_set_new(o, text_names[i], text_col(r, row, i));
    json_object_set_new(o, "attempt_number", json_integer((int)hs_pg_get_int(r, row, 5)));
    json_object_set_new(o, "status", text_col(r, row, 6));
    json_object_set_new(o, "request_url", text_col(r, row, 7));
    json_object_set_new(o, "request_method", text_col(r, row, 8));
    json_object_set_new(o, "request_headers", object_col(r, row, 9));
    json_object_set_new(o, "response_status",
                        hs_pg_null(r, row, 10) ? json_null() : json_integer((int)hs_pg_get_int(r, row, 10)));
    json_object_set_new(o, "response_headers", object_col(r, row, 11));
    json_t *body = json_null();
    size_t len;
    char *z = hs_pg_get_bytes(r, row, 12, &len);
    if (z) {
        /* the bytes as text: kept bytes that are not UTF-8 read as Latin-1 */
        body = hs_json_text(z);
        hs_free(z);
    }
    json_object_set_new(o, "response_body", body);
    json_object_set_new(o, "duration_ms", json_integer(hs_pg_get_int(r, row, 13)));
    json_object_set_new(o, "error", text_col(r, row, 14));
    json_object_set_new(o, "next_retry_at", time_or_null(r, row, 15));
    json_object_set_new(o, "is_dlq", json_boolean(hs_pg_get_int(r, row, 16) != 0));
    json_object_set_new(o, "dlq_at", time_or_null(r, row, 17));
    json_object_set_new(o, "created_at", time_or_null(r, row, 18));
    return o;
}

/* Run sql with p on a read connection: its rows as an array of attempt
 * objects, limit of them at most (0: all; *more: there were more). */
static int select_attempts(hs_store *s, const char *sql, const hs_pg_params *p, size_t limit, json_t **items,
                           bool *more, hs_error *err) {
    if (more) *more = false;
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, sql, p, "reading delivery attempts", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    json_t *arr = json_array();
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        if (limit && json_array_size(arr) == limit) {
            if (more) *more = true;
            break;
        }
        json_array_append_new(arr, attempt_from_row(r, i));
    }
    PQclear(r);
    *items = arr;
    return HS_OK;
}

/* ids of the deliveries of a table's rows: the public id, computed */
#define DELIVERY_ID "hs_delivery_id(created_at, seq)"

int hs__pg_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 2048);
    hs_pg_params p = {0};
    hs_buf_appends(&sql, "SELECT " ATTEMPT_COLS " FROM delivery_attempts a WHERE true");
    /* through the event's deliveries: attempts have no index by event */
    if (q->event_id) {
        hs_pg_text(&p, q->event_id);
        hs_buf_appendf(&sql,
                       " AND delivery_id IN (SELECT " DELIVERY_ID " FROM deliveries WHERE event_id = $%d)"
                       " AND event_id = $%d",
                       p.n, p.n);
    }
    if (q->destination_id) {
        hs_pg_text(&p, q->destination_id);
        hs_buf_appendf(&sql, " AND destination_id = $%d", p.n);
    }
    if (q->connection_id) {
        hs_pg_text(&p, q->connection_id);
        hs_buf_appendf(&sql, " AND connection_id = $%d", p.n);
    }
    if (q->dlq_only) hs_buf_appends(&sql, " AND is_dlq = 1");
    /* pending: the latest attempt of a delivery that waits for its retry */
    if (q->status && strcmp(q->status, "pending") == 0) {
        hs_buf_appends(&sql, " AND status = 'failed' AND next_retry_at IS NOT NULL AND is_dlq = 0"
                             " AND id = (SELECT max(id) FROM delivery_attempts b WHERE b.delivery_id = a.delivery_id)"
                             " AND delivery_id IN (SELECT " DELIVERY_ID " FROM deliveries WHERE status = 'pending')");
    } else if (q->status) {
        hs_pg_text(&p, q->status);
        hs_buf_appendf(&sql, " AND status = $%d", p.n);
    }
    if (q->page.cursor) {
        hs_pg_text(&p, q->page.cursor);
        hs_buf_appendf(&sql, " AND id < $%d", p.n);
    }
    hs_pg_int(&p, q->page.limit + 1);
    hs_buf_appendf(&sql, " ORDER BY id DESC LIMIT $%d", p.n);
    int rc = select_attempts(s, sql.data, &p, (size_t)q->page.limit, items, has_more, err);
    hs_buf_free(&sql);
    return rc;
}

int hs__pg_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    json_t *arr = NULL;
    int rc = select_attempts(s, "SELECT " ATTEMPT_COLS " FROM delivery_attempts WHERE id = $1", &p, 0, &arr, NULL, err);
    if (rc != HS_OK) return rc;
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no delivery attempt %s", id);
    }
    *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return HS_OK;
}

int hs__pg_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, event_id);
    return select_attempts(s,
                           "SELECT " ATTEMPT_COLS " FROM delivery_attempts WHERE delivery_id IN "
                           "(SELECT " DELIVERY_ID " FROM deliveries WHERE event_id = $1) ORDER BY id",
                           &p, 0, items, NULL, err);
}
