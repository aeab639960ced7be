/* src/store/sqlite/late.c — the late indexes: events by source, attempts by
 * destination, written in sorted slices instead of with every row.
 *
 * Each is a table keyed (source or destination, id) (schema step 11). Had
 * it been an index, every commit would write into the end of the range of
 * every source (destination) the commit's rows name: with a hundred of
 * them, about one page per row for each index, more than the rows
 * themselves, and each page written again by the checkpoint
 * (docs/performance.md "Late indexes"). So a new row is only appended to
 * its kind's queue (events_unindexed, attempts_unindexed: one page per
 * commit) and to a list in memory. Once the previous batch is done and a
 * second has passed since it began (LATE_EVERY_MS; at once when LATE_ROWS
 * rows wait) the committed part of that list becomes a batch, grouped by
 * key (sorted by a hash of it, then queue order), and each following
 * commit writes its next slice into the index (LATE_SLICE rows or a
 * LATE_SLICES-th of the batch, whichever is more): a slice covers a few
 * keys, so each key's range is written about once per batch, and no
 * commit carries much of it (the whole batch at once stalled the writer
 * for tens of ms every second). Then, slice by slice again, the batch's
 * rows leave the queue (DELETEs of ranges of n). Under load a batch spans
 * a few seconds, and the queue holds that much.
 *
 * Until then a row may be in both the queue and the index; a read by key
 * (hs_late_select) takes the index's newest :limit and the queue's rows of
 * that key not in the index: each row once. A row deleted (retention)
 * takes its index entry along (schema step 11's triggers); one still
 * queued is skipped by its slice. At open the queue is read back into the
 * list (what a stop left there), slices already written are ignored.
 *
 * Threads: everything but hs_late_select on the writer thread, in its
 * group transaction (hs_late_step before the COMMIT; hs_late_committed
 * and hs_late_discard after it); hs_late_select builds SQL anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/timeutil.h"
#include "store/sqlite/sqlite.h"

#define LATE_EVERY_MS 1000
#define LATE_ROWS 16384 /* a list this long becomes a batch at the next commit */
#define LATE_SLICE 32   /* rows of a batch written (or taken off the queue) per commit at least */
#define LATE_SLICES 128 /* ... or this part of it: a batch ends within twice as many commits */

typedef struct late_row {
    int64_t n;     /* in the queue */
    uint64_t hash; /* of key: a batch is sorted by (hash, n) */
    char key[HS_ID_MAX];
    char id[HS_ID_MAX];
} late_row;

typedef struct late_list {
    late_row *v;
    size_t n, cap;
} late_list;

/* one kind's state */
typedef struct late_q {
    late_list queued;             /* rows queued since the batch began, in queue order */
    size_t committed;             /* of queued: those of committed groups */
    late_list batch;              /* sorted by (hash, n); empty when none is being written */
    size_t done;                  /* of batch: written (then taken off the queue, 2 x n)
                                     by committed groups */
    size_t writing;               /* the same once the open group commits */
    int64_t batch_min, batch_max; /* the batch's rows are the queue's n in this range */
} late_q;

struct hs_sq_late {
    late_q q[HS_LATE_KINDS];
    uint64_t batch_at; /* when the last batch began (monotonic ms) */
};

typedef struct late_kind {
    const char *table, *alias; /* the rows, and their alias in hs_late_select */
    const char *key;           /* the column the index is by */
    const char *index;         /* (key, id) */
    const char *queue;         /* (n, key, id) */
    const char *sql_queue, *sql_slice, *sql_done, *sql_load;
} late_kind;

static const late_kind kinds[HS_LATE_KINDS] = {
    [HS_LATE_EVENTS] =
        {
            .table = "events",
            .alias = "e",
            .key = "source_id",
            .index = "source_events",
            .queue = "events_unindexed",
            .sql_queue = "INSERT INTO events_unindexed(source_id, id) VALUES(?1, ?2)",
            /* an event deleted while queued (retention) is skipped */
            .sql_slice = "INSERT OR IGNORE INTO source_events(source_id, id) SELECT ?1, ?2 WHERE EXISTS "
                         "(SELECT 1 FROM events WHERE id = ?2)",
            .sql_done = "DELETE FROM events_unindexed WHERE n <= ?1",
            .sql_load = "SELECT n, source_id, id FROM events_unindexed ORDER BY n",
        },
    [HS_LATE_ATTEMPTS] =
        {
            .table = "delivery_attempts",
            .alias = "a",
            .key = "destination_id",
            .index = "destination_attempts",
            .queue = "attempts_unindexed",
            .sql_queue = "INSERT INTO attempts_unindexed(destination_id, id) VALUES(?1, ?2)",
            .sql_slice = "INSERT OR IGNORE INTO destination_attempts(destination_id, id) SELECT ?1, ?2 WHERE EXISTS "
                         "(SELECT 1 FROM delivery_attempts WHERE id = ?2)",
            .sql_done = "DELETE FROM attempts_unindexed WHERE n <= ?1",
            .sql_load = "SELECT n, destination_id, id FROM attempts_unindexed ORDER BY n",
        },
};

static late_row *list_push(late_list *l) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = hs_realloc(l->v, l->cap * sizeof *l->v);
    }
    return &l->v[l->n++];
}

static void list_free(late_list *l) {
    hs_free(l->v);
    *l = (late_list){0};
}

static int row_cmp(const void *a, const void *b) {
    const late_row *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return x->n < y->n ? -1 : x->n > y->n;
}

static uint64_t key_hash(const char *k) { /* FNV-1a */
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *k; k++) h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
    return h;
}

/* ---- queueing (ingest, attempt records) ---- */

int hs_late_queue(hs_store *s, hs_late_kind kind, const char *key, const char *id, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, kinds[kind].sql_queue, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "queueing a row for its index");
    late_row *r = list_push(&hs__sq(s)->late->q[kind].queued);
    r->n = sqlite3_last_insert_rowid(w->db);
    r->hash = key_hash(key);
    hs_id_copy(r->key, key);
    hs_id_copy(r->id, id);
    return HS_OK;
}

/* ---- batches and slices (before each COMMIT) ---- */

/* The committed part of q's list becomes its batch, sorted. */
static void batch_begin(late_q *q) {
    q->batch.v = q->queued.v;
    q->batch.n = q->committed;
    q->batch.cap = q->queued.cap;
    q->batch_min = q->batch.v[0].n;
    q->batch_max = q->batch.v[q->batch.n - 1].n;
    qsort(q->batch.v, q->batch.n, sizeof *q->batch.v, row_cmp);
    /* what the open group queued stays queued */
    late_list rest = {0};
    for (size_t i = q->committed; i < q->queued.n; i++) *list_push(&rest) = q->queued.v[i];
    q->queued = rest;
    q->committed = 0;
    q->done = q->writing = 0;
}

/* Write q's next slice into the index; once all are, take the next off the
 * queue (a range of n; the batch's n are those from batch_min to
 * batch_max: rows queued later have greater ones). */
static int slice(hs_sqlite_db *w, const late_kind *k, late_q *q, hs_error *err) {
    size_t per = q->batch.n / LATE_SLICES > LATE_SLICE ? q->batch.n / LATE_SLICES : LATE_SLICE;
    size_t from = q->done, end;
    int rc = SQLITE_DONE;
    sqlite3_stmt *st;
    if (from < q->batch.n) {
        end = from + per < q->batch.n ? from + per : q->batch.n;
        if (!(st = hs_stmt(w, k->sql_slice, err))) return err->code;
        for (size_t i = from; i < end && rc == SQLITE_DONE; i++) {
            sqlite3_bind_text(st, 1, q->batch.v[i].key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, q->batch.v[i].id, -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
        }
    } else {
        end = from + per < 2 * q->batch.n ? from + per : 2 * q->batch.n;
        int64_t upto = end == 2 * q->batch.n ? q->batch_max : q->batch_min + (int64_t)(end - q->batch.n) - 1;
        if (!(st = hs_stmt(w, k->sql_done, err))) return err->code;
        sqlite3_bind_int64(st, 1, upto < q->batch_max ? upto : q->batch_max);
        rc = sqlite3_step(st);
    }
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "moving rows into their index");
    q->writing = end;
    return HS_OK;
}

int hs_late_step(hs_store *s, hs_error *err) {
    struct hs_sq_late *l = hs__sq(s)->late;
    uint64_t now = hs_monotonic_ns() / 1000000;
    bool due = now - l->batch_at >= LATE_EVERY_MS;
    for (int k = 0; k < HS_LATE_KINDS; k++) {
        late_q *q = &l->q[k];
        if (!q->batch.n && q->committed && (due || q->committed >= LATE_ROWS)) {
            batch_begin(q);
            l->batch_at = now;
        }
        if (q->batch.n) {
            int rc = slice(hs__sq_writer(s), &kinds[k], q, err);
            if (rc != HS_OK) return rc; /* the group fails: hs_late_discard */
        }
    }
    return HS_OK;
}

void hs_late_committed(hs_store *s) {
    for (int k = 0; k < HS_LATE_KINDS; k++) {
        late_q *q = &hs__sq(s)->late->q[k];
        q->committed = q->queued.n;
        q->done = q->writing;
        if (q->batch.n && q->done == 2 * q->batch.n) {
            list_free(&q->batch);
            q->done = q->writing = 0;
        }
    }
}

void hs_late_discard(hs_store *s) {
    if (!hs__sq(s)->late) return;
    for (int k = 0; k < HS_LATE_KINDS; k++) {
        late_q *q = &hs__sq(s)->late->q[k];
        q->queued.n = q->committed; /* the failed group's rows are not in the queue */
        q->writing = q->done;
    }
}

/* ---- open, close ---- */

int hs_late_load(hs_store *s, hs_error *err) {
    hs__sqlite *sq = hs__sq(s);
    sq->late = hs_calloc(1, sizeof *sq->late);
    hs_sqlite_db *w = hs__sq_writer(s);
    for (int k = 0; k < HS_LATE_KINDS; k++) {
        late_q *q = &sq->late->q[k];
        /* once: not in the statement cache, whose places the hot statements need */
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(w->db, kinds[k].sql_load, -1, &st, NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            return hs_sqlite_fail(err, w->db, rc, "reading an index queue");
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            late_row *r = list_push(&q->queued);
            r->n = sqlite3_column_int64(st, 0);
            hs_col_copy(r->key, sizeof r->key, st, 1);
            r->hash = key_hash(r->key);
            hs_col_copy(r->id, sizeof r->id, st, 2);
        }
        int ret = rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "reading an index queue");
        sqlite3_finalize(st);
        if (ret != HS_OK) return ret;
        q->committed = q->queued.n;
    }
    return HS_OK;
}

void hs_late_free(hs_store *s) {
    hs__sqlite *sq = hs__sq(s);
    if (!sq || !sq->late) return;
    for (int k = 0; k < HS_LATE_KINDS; k++) {
        list_free(&sq->late->q[k].queued);
        list_free(&sq->late->q[k].batch);
    }
    hs_free(sq->late);
    sq->late = NULL;
}

/* ---- reads ---- */

void hs_late_select(hs_buf *sql, hs_late_kind kind, const char *cols, const char *param, const char *conds) {
    const late_kind *k = &kinds[kind];
    /* the queue's rows of that key not yet in the index, then the index's
     * newest :limit */
    hs_buf_appendf(sql,
                   "SELECT * FROM (SELECT %s FROM %s u CROSS JOIN %s %s ON %s.id = u.id WHERE u.%s = %s AND NOT "
                   "EXISTS (SELECT 1 FROM %s y WHERE y.%s = u.%s AND y.id = u.id)%s "
                   "UNION ALL SELECT * FROM (SELECT %s FROM %s x CROSS JOIN %s %s ON %s.id = x.id WHERE x.%s = %s%s "
                   "ORDER BY x.id DESC LIMIT :limit))",
                   cols, k->queue, k->table, k->alias, k->alias, k->key, param, k->index, k->key, k->key, conds, cols,
                   k->index, k->table, k->alias, k->alias, k->key, param, conds);
}
