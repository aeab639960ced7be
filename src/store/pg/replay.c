/* src/store/pg/replay.c — replay jobs in PostgreSQL (src/store/replay.h;
 * tables replay_jobs and replay_items, deliveries.replay_job: schema step
 * 7). Writes on the writer's connection (waiting for each statement:
 * replays are not a hot path), reads on a read connection.
 *
 * Several nodes: a claim's expiry is the database's clock (hs_now_ms), as
 * leases are, and a step first takes the job's row with a conditional
 * UPDATE (running, this node's, claim unexpired, at the expected cursor),
 * which holds its lock to the commit: another node's step waits, then
 * finds the cursor moved and is refused. The deliveries take their seqs
 * while the destination's queue row is locked, as ingests do, so one
 * destination's seqs still grow in commit order; the node that owns the
 * destination hears of them as of a requeue (the feed's "q" message and
 * the queue's requeues count) and reads its queue again.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/pg/pg.h"

#define JOB_COLS                                                                                                       \
    "id, destination_id, source_id, connection_id, filter, window_from, window_to, rate, total, enqueued, status, "    \
    "error, runner, runner_until, created_at, started_at, completed_at"

static void job_from_row(const PGresult *r, int row, hs_replay_job *j) {
    memset(j, 0, sizeof *j);
    hs_pg_copy(j->id, sizeof j->id, r, row, 0);
    hs_pg_copy(j->destination_id, sizeof j->destination_id, r, row, 1);
    hs_pg_copy(j->source_id, sizeof j->source_id, r, row, 2);
    hs_pg_copy(j->connection_id, sizeof j->connection_id, r, row, 3);
    const char *f = hs_pg_get_text(r, row, 4);
    j->filter = f ? json_loads(f, 0, NULL) : NULL;
    j->from = (uint64_t)hs_pg_get_int(r, row, 5);
    j->to = (uint64_t)hs_pg_get_int(r, row, 6);
    j->rate = (int)hs_pg_get_int(r, row, 7);
    j->total = (uint64_t)hs_pg_get_int(r, row, 8);
    j->cursor = (uint64_t)hs_pg_get_int(r, row, 9);
    hs_pg_copy(j->status, sizeof j->status, r, row, 10);
    hs_pg_copy(j->error, sizeof j->error, r, row, 11);
    hs_pg_copy(j->runner, sizeof j->runner, r, row, 12);
    j->runner_until = (uint64_t)hs_pg_get_int(r, row, 13);
    j->created_at = (uint64_t)hs_pg_get_int(r, row, 14);
    j->started_at = (uint64_t)hs_pg_get_int(r, row, 15);
    j->completed_at = (uint64_t)hs_pg_get_int(r, row, 16);
}

/* Every row of r as jobs: *out (hs_free) of *n. */
static void jobs_from(const PGresult *r, hs_replay_job **out, size_t *n) {
    *n = (size_t)PQntuples(r);
    *out = hs_calloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) job_from_row(r, (int)i, &(*out)[i]);
}

/* ---- reads ---- */

static const char SQL_SCAN[] =
    "SELECT id, received_at FROM events WHERE source_id = ANY($1::text[]) AND received_at >= $2 AND received_at <= $3 "
    "AND (received_at > $4 OR (received_at = $4 AND id > $5)) ORDER BY received_at, id LIMIT $6";

static int replay_scan(hs_store *s, const hs_replay_scan *q, hs_replay_event **items, size_t *n, hs_error *err) {
    hs_buf a;
    hs_buf_init(&a, 1 << 24);
    hs_pg_array_texts(&a, q->source_ids, q->nsources);
    hs_pg_params p = {0};
    hs_pg_text(&p, a.data);
    hs_pg_int(&p, (int64_t)q->from);
    hs_pg_int(&p, (int64_t)q->to);
    hs_pg_int(&p, (int64_t)q->after_at);
    hs_pg_text(&p, q->after_id ? q->after_id : "");
    hs_pg_int(&p, (int64_t)q->limit);
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    PGresult *r = c ? hs_pg_exec(c, SQL_SCAN, &p, "reading the events to replay", err) : NULL;
    if (c) hs_pg_reader_put(s, c);
    hs_buf_free(&a);
    if (!r) return err->code;
    *n = (size_t)PQntuples(r);
    *items = hs_calloc(*n ? *n : 1, sizeof **items);
    for (size_t i = 0; i < *n; i++) {
        hs_pg_copy((*items)[i].id, HS_ID_MAX, r, (int)i, 0);
        (*items)[i].received_at = (uint64_t)hs_pg_get_int(r, (int)i, 1);
    }
    PQclear(r);
    return HS_OK;
}

static const char SQL_COUNTS[] = "SELECT status, count(*) FROM deliveries WHERE replay_job = $1 GROUP BY status";

static int job_counts(hs_pg_conn *c, hs_replay_job *j, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, j->id);
    PGresult *r = hs_pg_exec(c, SQL_COUNTS, &p, "counting a replay job's deliveries", err);
    if (!r) return err->code;
    for (int i = 0; i < PQntuples(r); i++)
        hs__replay_count(j, hs_pg_get_text(r, i, 0), (uint64_t)hs_pg_get_int(r, i, 1));
    PQclear(r);
    return HS_OK;
}

static int jobs_select(hs_store *s, const char *sql, const hs_pg_params *p, hs_replay_job **out, size_t *n,
                       hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, sql, p, "reading replay jobs", err);
    int ret = r ? HS_OK : err->code;
    if (r) {
        jobs_from(r, out, n);
        PQclear(r);
    }
    for (size_t i = 0; ret == HS_OK && i < *n; i++) ret = job_counts(c, &(*out)[i], err);
    hs_pg_reader_put(s, c);
    if (ret != HS_OK) {
        hs_replay_jobs_free(*out, *n);
        hs_free(*out);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

static const char SQL_GET[] = "SELECT " JOB_COLS " FROM replay_jobs WHERE id = $1";
static const char SQL_LIST[] =
    "SELECT " JOB_COLS " FROM replay_jobs WHERE ($1 = '' OR id < $1) AND ($3 = '' OR destination_id = $3) "
    "ORDER BY id DESC LIMIT $2";

static int replay_get(hs_store *s, const char *id, hs_replay_job *out, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_replay_job *v = NULL;
    size_t n = 0;
    int rc = jobs_select(s, SQL_GET, &p, &v, &n, err);
    if (rc == HS_OK && n == 0) rc = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no replay job %s", id);
    if (rc == HS_OK) *out = v[0];
    hs_free(v);
    return rc;
}

static int replay_list(hs_store *s, const hs_page *page, const char *destination_id, hs_replay_job **out, size_t *n,
                       hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, page->cursor ? page->cursor : "");
    hs_pg_int(&p, page->limit + 1);
    hs_pg_text(&p, destination_id);
    return jobs_select(s, SQL_LIST, &p, out, n, err);
}

/* ---- writes (writer thread) ---- */

static const char SQL_CREATE[] =
    "INSERT INTO replay_jobs(id, destination_id, source_id, connection_id, filter, window_from, window_to, rate, "
    "total, status, created_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10)";
static const char SQL_ITEMS_ADD[] =
    "INSERT INTO replay_items(job, pos, event_id) SELECT $1, o, e FROM unnest($2::text[]) WITH ORDINALITY AS u(e, o)";

static int replay_create(hs_store *s, const hs_replay_job *j, const char (*ids)[HS_ID_MAX], size_t n, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    char *filter = j->filter ? json_dumps(j->filter, JSON_COMPACT) : NULL;
    hs_pg_params p = {0};
    hs_pg_text(&p, j->id);
    hs_pg_text(&p, j->destination_id);
    hs_pg_text(&p, j->source_id);
    hs_pg_text(&p, j->connection_id);
    hs_pg_text(&p, filter);
    hs_pg_int(&p, (int64_t)j->from);
    hs_pg_int(&p, (int64_t)j->to);
    hs_pg_int(&p, j->rate);
    hs_pg_int(&p, (int64_t)n);
    hs_pg_int(&p, (int64_t)j->created_at);
    int rc = hs_pg_run(w, SQL_CREATE, &p, "storing the replay job", NULL, err);
    free(filter);
    if (rc != HS_OK || n == 0) return rc;
    const char **v = hs_malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = ids[i];
    hs_buf a;
    hs_buf_init(&a, 1 << 26);
    hs_pg_array_texts(&a, v, n);
    hs_pg_params q = {0};
    hs_pg_text(&q, j->id);
    hs_pg_text(&q, a.data);
    rc = hs_pg_run(w, SQL_ITEMS_ADD, &q, "storing the replay job's events", NULL, err);
    hs_buf_free(&a);
    hs_free(v);
    return rc;
}

static const char SQL_CANCEL[] =
    "UPDATE replay_jobs SET status = 'cancelled', completed_at = $2 WHERE id = $1 AND status = 'running'";
static const char SQL_STATUS[] = "SELECT status FROM replay_jobs WHERE id = $1";

static int replay_cancel(hs_store *s, const char *id, uint64_t now, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_pg_int(&p, (int64_t)now);
    int64_t changed = 0;
    int rc = hs_pg_run(w, SQL_CANCEL, &p, "cancelling the replay job", &changed, err);
    if (rc != HS_OK || changed > 0) return rc;
    hs_pg_params q = {0};
    hs_pg_text(&q, id);
    PGresult *r = hs_pg_exec(w, SQL_STATUS, &q, "finding the replay job", err);
    if (!r) return err->code;
    char status[16] = "";
    bool found = PQntuples(r) > 0;
    if (found) hs_pg_copy(status, sizeof status, r, 0, 0);
    PQclear(r);
    if (!found) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no replay job %s", id);
    return hs_error_set(err, HS_ERR_CONFLICT, NULL, "replay job %s is %s already", id, status);
}

static const char SQL_CLAIM[] =
    "UPDATE replay_jobs SET runner = $1, runner_until = hs_now_ms() + $2 WHERE status = 'running' AND (runner = $1 "
    "OR runner = '' OR runner_until < hs_now_ms()) RETURNING " JOB_COLS;

static int replay_claim(hs_store *s, const char *node, uint64_t ttl_ms, uint64_t now, hs_replay_job **out, size_t *n,
                        hs_error *err) {
    (void)now; /* the database's clock: several nodes agree on it */
    hs_pg_params p = {0};
    hs_pg_text(&p, node);
    hs_pg_int(&p, (int64_t)ttl_ms);
    PGresult *r = hs_pg_exec(hs__pg_writer(s), SQL_CLAIM, &p, "claiming replay jobs", err);
    if (!r) return err->code;
    jobs_from(r, out, n);
    PQclear(r);
    return HS_OK;
}

/* ---- a step ---- */

static const char SQL_LOCK[] =
    "UPDATE replay_jobs SET started_at = CASE WHEN started_at = 0 THEN $4 ELSE started_at END WHERE id = $1 AND "
    "status = 'running' AND runner = $2 AND enqueued = $3 AND runner_until >= hs_now_ms() RETURNING " JOB_COLS;
static const char SQL_END[] = "UPDATE replay_jobs SET status = $2, error = $3, completed_at = $4 WHERE id = $1";
static const char SQL_DEST_EXISTS[] = "SELECT 1 FROM destinations WHERE id = $1";
static const char SQL_PENDING[] = "SELECT count(*) FROM deliveries WHERE replay_job = $1 AND status = 'pending'";
static const char SQL_ITEMS[] = "SELECT i.pos, i.event_id, EXISTS (SELECT 1 FROM events e WHERE e.id = i.event_id) "
                                "FROM replay_items i WHERE i.job = $1 AND i.pos > $2 ORDER BY i.pos LIMIT $3";
/* the queue's row first: the seqs are taken under its lock */
static const char SQL_QUEUE_LOCK[] = "INSERT INTO queues(destination, pending) VALUES($1, 0) ON CONFLICT "
                                     "(destination) DO UPDATE SET pending = queues.pending RETURNING last_seq";
static const char SQL_INSERT[] =
    "INSERT INTO deliveries(seq, event_id, destination, connection, status, attempts, next_attempt_at, created_at, "
    "updated_at, replay_job) VALUES(nextval('delivery_seq'), $1, $2, $3, 'pending', 0, $4, $4, $4, $5) RETURNING seq";
static const char SQL_EVENT_OPEN[] =
    "UPDATE events SET open_deliveries = open_deliveries + 1, status = 'processing' WHERE id = $1";
static const char SQL_QUEUE_ADD[] = "UPDATE queues SET pending = pending + $2, last_seq = greatest(last_seq, $3), "
                                    "requeues = requeues + 1 WHERE destination = $1";
static const char SQL_CURSOR[] = "UPDATE replay_jobs SET enqueued = $2 WHERE id = $1";

static int replay_end(hs_store *s, const char *id, const char *status, const char *error, uint64_t now, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_pg_text(&p, status);
    hs_pg_text(&p, error);
    hs_pg_int(&p, (int64_t)now);
    return hs_pg_run(w, SQL_END, &p, "ending the replay job", NULL, err);
}

/* Run sql with $1 = arg: the first cell of its first row (0: none). */
static int read_int(hs_pg_conn *w, const char *sql, const char *arg, int64_t *out, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, arg);
    PGresult *r = hs_pg_exec(w, sql, &p, "reading a replay job", err);
    if (!r) return err->code;
    *found = PQntuples(r) > 0;
    *out = *found ? hs_pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    return HS_OK;
}

/* One delivery of j for event_id, made now (seq from the sequence). */
static int insert_one(hs_pg_conn *w, const hs_replay_job *j, const char *event_id, int64_t dkey, int64_t ckey,
                      uint64_t now, hs_delivery *d, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, event_id);
    hs_pg_int(&p, dkey);
    hs_pg_int(&p, ckey);
    hs_pg_int(&p, (int64_t)now);
    hs_pg_text(&p, j->id);
    PGresult *r = hs_pg_exec(w, SQL_INSERT, &p, "storing a replay delivery", err);
    if (!r) return err->code;
    memset(d, 0, sizeof *d);
    d->seq = (uint64_t)hs_pg_get_int(r, 0, 0);
    PQclear(r);
    hs__delivery_id(now, d->seq, d->id);
    hs_id_copy(d->event_id, event_id);
    hs_id_copy(d->destination_id, j->destination_id);
    hs_id_copy(d->connection_id, j->connection_id);
    hs_id_copy(d->replay_job_id, j->id);
    snprintf(d->status, sizeof d->status, "pending");
    d->next_attempt_at = d->created_at = d->updated_at = now;
    hs_pg_params e = {0};
    hs_pg_text(&e, event_id);
    return hs_pg_run(w, SQL_EVENT_OPEN, &e, "reopening the event", NULL, err);
}

static int replay_enqueue(hs_store *s, hs_replay_step *st, const hs_replay_job *j, uint64_t now, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    int64_t dkey = 0, ckey = 0;
    int rc = hs_pg_ref_key(w, j->destination_id, true, &dkey, err);
    if (rc == HS_OK) rc = hs_pg_ref_key(w, j->connection_id, true, &ckey, err);
    if (rc != HS_OK) return rc;
    hs_pg_params l = {0};
    hs_pg_int(&l, dkey);
    PGresult *lock = hs_pg_exec(w, SQL_QUEUE_LOCK, &l, "locking the destination's queue", err);
    if (!lock) return err->code;
    PQclear(lock);
    hs_pg_params p = {0};
    hs_pg_text(&p, j->id);
    hs_pg_int(&p, (int64_t)st->cursor);
    hs_pg_int(&p, (int64_t)st->max);
    PGresult *items = hs_pg_exec(w, SQL_ITEMS, &p, "reading replay items", err);
    if (!items) return err->code;
    int n = PQntuples(items);
    st->queued = hs_calloc(n ? (size_t)n : 1, sizeof *st->queued);
    uint64_t last = 0;
    for (int i = 0; rc == HS_OK && i < n; i++) {
        st->new_cursor = (uint64_t)hs_pg_get_int(items, i, 0);
        if (!hs_pg_get_bool(items, i, 2)) continue; /* deleted by retention meanwhile */
        hs_delivery *d = &st->queued[st->n];
        rc = insert_one(w, j, hs_pg_get_text(items, i, 1), dkey, ckey, now, d, err);
        if (rc == HS_OK) {
            last = d->seq;
            st->n++;
        }
    }
    PQclear(items);
    if (rc == HS_OK && st->n) {
        hs_pg_params q = {0};
        hs_pg_int(&q, dkey);
        hs_pg_int(&q, (int64_t)st->n);
        hs_pg_int(&q, (int64_t)last);
        rc = hs_pg_run(w, SQL_QUEUE_ADD, &q, "counting the replay's deliveries", NULL, err);
        char m[160];
        snprintf(m, sizeof m, "q %s %s %zu", hs__pgs(s)->node[0] ? hs__pgs(s)->node : "-", j->destination_id, st->n);
        if (rc == HS_OK) rc = hs_pg_feed_send(s, m, err);
    }
    if (rc == HS_OK) {
        hs_pg_params c = {0};
        hs_pg_text(&c, j->id);
        hs_pg_int(&c, (int64_t)st->new_cursor);
        rc = hs_pg_run(w, SQL_CURSOR, &c, "moving the replay job's cursor", NULL, err);
    }
    return rc == HS_OK ? hs_pg_sync(w, err) : rc;
}

static int replay_lock(hs_store *s, const hs_replay_step *st, uint64_t now, hs_replay_job *j, bool *ok, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, st->job_id);
    hs_pg_text(&p, st->node);
    hs_pg_int(&p, (int64_t)st->cursor);
    hs_pg_int(&p, (int64_t)now);
    PGresult *r = hs_pg_exec(hs__pg_writer(s), SQL_LOCK, &p, "taking the replay job's step", err);
    if (!r) return err->code;
    *ok = PQntuples(r) > 0;
    if (*ok) {
        job_from_row(r, 0, j);
        json_decref(j->filter);
        j->filter = NULL;
    }
    PQclear(r);
    return HS_OK;
}

static int replay_pending(hs_store *s, const char *job_id, int64_t *n, hs_error *err) {
    bool found = false;
    return read_int(hs__pg_writer(s), SQL_PENDING, job_id, n, &found, err);
}

static int replay_destination_exists(hs_store *s, const char *destination_id, bool *exists, hs_error *err) {
    int64_t v = 0;
    return read_int(hs__pg_writer(s), SQL_DEST_EXISTS, destination_id, &v, exists, err);
}

const hs__replay_ops hs__pg_replay_ops = {
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
    .bulk_retry = hs__pg_bulk_retry,
};
