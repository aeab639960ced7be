/* src/store/pg/queues.c — destinations' queues in PostgreSQL: the refs that
 * name destinations and connections by small numbers, the pending count per
 * destination (table queues), and the bounded reads the DeliveryScheduler
 * pages its queues with (docs/scheduler.md).
 *
 * Counts: the writes of ingests and manual retries that move a delivery
 * into pending add +1 for its destination here, on the writer thread; the
 * sums are queued once per destination per group, before COMMIT (the
 * table's flush), so a fan-out event updates each count once. A failed
 * group drops them (discard). An attempt that settles a delivery adds -1
 * the same way (deliveries.c), its destination's number from a cache of
 * the writer's: a group of many attempts to one destination updates its
 * row once. (Updating one row again and again in one transaction walks an
 * ever longer chain of its versions: quadratic in the group's size.)
 *
 * Threads: refs, counts and flush on the writer thread (its connection, in
 * pipeline mode); the reads on any thread, on a read connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/pg/pg.h"

/* ---- refs ---- */

int hs_pg_ref_key(hs_pg_conn *w, const char *id, bool create, int64_t *key, hs_error *err) {
    *key = 0;
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    if (create) {
        /* in pipeline mode the SELECT below waits for both: one round trip;
         * a separate statement (not a CTE) sees a row another node added */
        static const char SQL_REF_ADD[] = "INSERT INTO refs(id) VALUES($1) ON CONFLICT (id) DO NOTHING";
        int rc = w->pipeline ? hs_pg_queue(w, SQL_REF_ADD, &p, "naming a resource", err)
                             : hs_pg_run(w, SQL_REF_ADD, &p, "naming a resource", NULL, err);
        if (rc != HS_OK) return rc;
    }
    PGresult *r = hs_pg_exec(w, "SELECT n FROM refs WHERE id = $1", &p, "finding a resource", err);
    if (!r) return err->code;
    if (PQntuples(r) > 0) *key = hs_pg_get_int(r, 0, 0);
    PQclear(r);
    return HS_OK;
}

typedef struct dest_key {
    char id[HS_ID_MAX]; /* the map's key */
    int64_t key;
} dest_key;

int hs_pg_dest_key(hs_store *s, const char *destination_id, int64_t *key, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    dest_key *k = hs_idmap_get(&q->dest_keys, destination_id);
    if (k) {
        *key = k->key;
        return HS_OK;
    }
    int rc = hs_pg_ref_key(&q->writer, destination_id, false, key, err);
    if (rc != HS_OK || *key == 0) return rc;
    k = hs_calloc(1, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", destination_id);
    k->key = *key;
    hs_idmap_put(&q->dest_keys, k->id, k);
    return HS_OK;
}

static void free_value(void *value, void *ud) {
    (void)ud;
    hs_free(value);
}

void hs_pg_dest_keys_free(hs_store *s) {
    hs_idmap_each(&hs__pgs(s)->dest_keys, free_value, NULL);
    hs_idmap_free(&hs__pgs(s)->dest_keys);
}

/* ---- pending counts (writer thread; the changes: src/store/counts.h) ---- */

/* Every destination the group touched, in the order of their numbers: the
 * rows are locked in that order (the INSERT takes them as the SELECT gives
 * them), so two groups never wait for each other in a cycle. A destination
 * whose changes cancel out is still there (its row is locked all the
 * same: the group may give it new deliveries). */
static const char SQL_QUEUES_ADD[] =
    "WITH v(d, n) AS (SELECT * FROM unnest($1::bigint[], $2::bigint[])) "
    "INSERT INTO queues(destination, pending) SELECT d, greatest(n, 0) FROM v ORDER BY d "
    "ON CONFLICT (destination) DO UPDATE SET pending = greatest(queues.pending + (SELECT n FROM v WHERE v.d = "
    "excluded.destination), 0) RETURNING destination, last_seq";

static int cmp_count(const void *a, const void *b) {
    int64_t x = ((const hs__count *)a)->key, y = ((const hs__count *)b)->key;
    return x < y ? -1 : x > y;
}

/* Queued, not waited for: a failure shows at the next wait (the backend's
 * flush syncs right after). */
int hs_pg_queues_flush(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs__counts *c = &q->pending;
    if (!c->n) return HS_OK;
    hs__count *v = hs_malloc(c->n * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->v[i].key) v[n++] = c->v[i];
    qsort(v, n, sizeof *v, cmp_count);
    int64_t *keys = hs_malloc(n * sizeof *keys), *deltas = hs_malloc(n * sizeof *deltas);
    for (size_t i = 0; i < n; i++) {
        keys[i] = v[i].key;
        deltas[i] = v[i].delta;
    }
    hs_buf a, b;
    hs_buf_init(&a, 1 << 24);
    hs_buf_init(&b, 1 << 24);
    hs_pg_array_ints(&a, keys, n);
    hs_pg_array_ints(&b, deltas, n);
    hs_pg_params p = {0};
    hs_pg_text(&p, a.data);
    hs_pg_text(&p, b.data);
    PQclear(q->queues_kept);
    q->queues_kept = NULL;
    int ret = hs_pg_queue_keep(&q->writer, SQL_QUEUES_ADD, &p, "counting pending deliveries", &q->queues_kept, err);
    hs_buf_free(&a);
    hs_buf_free(&b);
    hs_free(keys);
    hs_free(deltas);
    hs_free(v);
    hs__counts_clear(c);
    return ret;
}

void hs_pg_queues_kept(hs_store *s) {
    hs__pg *q = hs__pgs(s);
    hs__counts_clear(&q->last_seq);
    const PGresult *r = q->queues_kept;
    for (int i = 0; r && i < PQntuples(r); i++) {
        int64_t key = hs_pg_get_int(r, i, 0), last = hs_pg_get_int(r, i, 1);
        /* a count of 0 marks "touched" as well: +1 then the value */
        hs__counts_add(&q->last_seq, key, last + 1);
    }
}

static const char SQL_QUEUES_LAST[] =
    "UPDATE queues SET last_seq = greatest(queues.last_seq, v.s) FROM unnest($1::bigint[], $2::bigint[]) AS v(d, s) "
    "WHERE queues.destination = v.d";
static const char SQL_FEED_MANY[] = "SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m";

int hs_pg_feed_send(hs_store *s, const char *msg, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, q->channel);
    hs_pg_text(&p, msg);
    return hs_pg_queue(&q->writer, "SELECT pg_notify($1, $2)", &p, "sending a change feed message", err);
}

int hs_pg_queues_mark(hs_store *s, const hs_pg_mark *marks, size_t n, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    if (!n) return HS_OK;
    int64_t *keys = hs_malloc(n * sizeof *keys), *seqs = hs_malloc(n * sizeof *seqs);
    char **msgs = hs_malloc(n * sizeof *msgs);
    for (size_t i = 0; i < n; i++) {
        keys[i] = marks[i].key;
        seqs[i] = (int64_t)marks[i].last_seq;
        char m[256];
        snprintf(m, sizeof m, "d %s %s %llu %llu", q->node[0] ? q->node : "-", marks[i].destination_id,
                 (unsigned long long)marks[i].added, (unsigned long long)marks[i].last_seq);
        msgs[i] = hs_strdup(m);
    }
    hs_buf a, b, c;
    hs_buf_init(&a, 1 << 24);
    hs_buf_init(&b, 1 << 24);
    hs_buf_init(&c, 1 << 26);
    hs_pg_array_ints(&a, keys, n);
    hs_pg_array_ints(&b, seqs, n);
    hs_pg_array_texts(&c, (const char *const *)msgs, n);
    hs_pg_params p = {0};
    hs_pg_text(&p, a.data);
    hs_pg_text(&p, b.data);
    int rc = hs_pg_queue(&q->writer, SQL_QUEUES_LAST, &p, "noting the last seqs", err);
    hs_pg_params f = {0};
    hs_pg_text(&f, q->channel);
    hs_pg_text(&f, c.data);
    if (rc == HS_OK) rc = hs_pg_queue(&q->writer, SQL_FEED_MANY, &f, "sending change feed messages", err);
    hs_buf_free(&a);
    hs_buf_free(&b);
    hs_buf_free(&c);
    for (size_t i = 0; i < n; i++) hs_free(msgs[i]);
    hs_free(msgs);
    hs_free(keys);
    hs_free(seqs);
    return rc;
}

int64_t hs_pg_last_seq(const hs_store *s, int64_t key) {
    const hs__counts *c = &hs__pgs(s)->last_seq;
    for (size_t j = c->cap ? (size_t)key & (c->cap - 1) : 0; c->cap && c->v[j].key; j = (j + 1) & (c->cap - 1))
        if (c->v[j].key == key) return c->v[j].delta - 1; /* kept as last + 1 (hs_pg_queues_kept) */
    return 0;
}

/* ---- reads (any thread) ---- */

int hs__pg_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r =
        hs_pg_exec(c, "SELECT r.id, q.pending FROM queues q JOIN refs r ON r.n = q.destination WHERE q.pending > 0",
                   NULL, "reading the queue counts", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    int rows = PQntuples(r);
    if (rows > 0) *out = hs_malloc((size_t)rows * sizeof **out);
    for (int i = 0; i < rows; i++) {
        hs_queue_count *qc = &(*out)[(*n)++];
        hs_pg_copy(qc->destination_id, sizeof qc->destination_id, r, i, 0);
        qc->pending = (uint64_t)hs_pg_get_int(r, i, 1);
    }
    PQclear(r);
    return HS_OK;
}

/* The columns of HS_PG_DELIVERY_COLS (hs_pg_delivery_from_row), from
 * deliveries d with the connection's id through refs rc; the
 * destination's is $1; then the replay job (tried once). */
#define QUEUE_COLS                                                                                                     \
    "hs_delivery_id(d.created_at, d.seq), d.event_id, $1::text, rc.id, d.status, d.attempts, d.next_attempt_at, "      \
    "d.created_at, d.updated_at, d.seq, d.replay_job"

static const char SQL_PAGE[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = $1::text) AND d.status = 'pending' AND d.seq > $2 "
    "ORDER BY d.seq LIMIT $3";
static const char SQL_PAGE_FRESH[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = $1::text) AND d.status = 'pending' AND d.seq > $2 "
    "AND d.attempts = 0 ORDER BY d.seq LIMIT $3";
/* through deliveries_retry: only the deliveries waiting for a retry */
static const char SQL_DUE[] =
    "SELECT " QUEUE_COLS " FROM deliveries d JOIN refs rc ON rc.n = d.connection "
    "WHERE d.destination = (SELECT n FROM refs WHERE id = $1::text) AND d.status = 'pending' AND d.attempts > 0 "
    "AND d.next_attempt_at <= $2 ORDER BY d.next_attempt_at, d.seq LIMIT $3";
static const char SQL_NEXT_DUE[] =
    "SELECT min(next_attempt_at) FROM deliveries WHERE destination = (SELECT n FROM refs WHERE id = $1::text) "
    "AND status = 'pending' AND attempts > 0 AND next_attempt_at > $2";

static bool skipped(uint64_t seq, const uint64_t *skip, size_t nskip) {
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] == seq) return true;
    return false;
}

/* Rows of r into out (room for limit), those in skip left out; *rows
 * counts every row read, *cut those that did not fit. */
static void collect(const PGresult *r, const uint64_t *skip, size_t nskip, size_t limit, hs_delivery *out, size_t *n,
                    size_t *rows, size_t *cut) {
    int count = PQntuples(r);
    *rows = *cut = 0;
    for (int i = 0; i < count; i++) {
        (*rows)++;
        if (skipped((uint64_t)hs_pg_get_int(r, i, 9), skip, nskip)) continue;
        if (*n == limit) {
            (*cut)++;
            continue;
        }
        hs_pg_delivery_from_row(r, i, &out[(*n)++]);
    }
}

int hs__pg_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                      hs_delivery *out, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, destination_id);
    hs_pg_int(&p, (int64_t)after_seq);
    hs_pg_int(&p, (int64_t)limit);
    PGresult *r = hs_pg_exec(c, fresh_only ? SQL_PAGE_FRESH : SQL_PAGE, &p, "reading a destination's queue", err);
    hs_pg_reader_put(s, c);
    if (!r) {
        *n = 0;
        return err->code;
    }
    size_t rows, cut;
    collect(r, NULL, 0, limit, out, n, &rows, &cut);
    PQclear(r);
    return HS_OK;
}

int hs__pg_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                     size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    /* one read transaction for both statements: the rows and the next due
     * time come from the same state (a snapshot of the caller's already is
     * one) */
    bool own = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    int ret = own ? hs_pg_run(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL,
                              "reading a destination's queue", NULL, err)
                  : HS_OK;
    bool began = own && ret == HS_OK;
    hs_pg_params p = {0};
    hs_pg_text(&p, destination_id);
    hs_pg_int(&p, (int64_t)now);
    hs_pg_int(&p, (int64_t)(limit + nskip));
    size_t rows = 0, cut = 0;
    if (ret == HS_OK) {
        PGresult *r = hs_pg_exec(c, SQL_DUE, &p, "reading a destination's queue", err);
        if (r) {
            collect(r, skip, nskip, limit, out, n, &rows, &cut);
            PQclear(r);
        } else {
            ret = err->code;
        }
    }
    if (ret == HS_OK && (cut || rows == limit + nskip)) {
        *next_due = now; /* more are due than were taken */
    } else if (ret == HS_OK) {
        hs_pg_params np = {0};
        hs_pg_text(&np, destination_id);
        hs_pg_int(&np, (int64_t)now);
        PGresult *r = hs_pg_exec(c, SQL_NEXT_DUE, &np, "reading a destination's queue", err);
        if (r) {
            *next_due = PQntuples(r) > 0 ? (uint64_t)hs_pg_get_int(r, 0, 0) : 0;
            PQclear(r);
        } else {
            ret = err->code;
        }
    }
    if (began) {
        /* ends a failed transaction too (as a rollback) */
        hs_error e;
        if (hs_pg_run(c, "COMMIT", NULL, "ending a read", NULL, &e) != HS_OK) hs_debug("store: %s", e.msg);
    }
    hs_pg_reader_put(s, c);
    if (ret != HS_OK) {
        *n = 0;
        *next_due = 0;
    }
    return ret;
}
