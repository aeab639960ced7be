/* src/store/replay.c — the public calls of src/store/replay.h: argument
 * checks, then the backend's read, or a writer op that runs its write
 * (each under a savepoint, in the writer's group).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timeutil.h"
#include "store/retry.h"
#include "store/writer.h"

void hs_replay_jobs_free(hs_replay_job *jobs, size_t n) {
    for (size_t i = 0; jobs && i < n; i++) {
        json_decref(jobs[i].filter);
        jobs[i].filter = NULL;
    }
}

int hs_store_replay_scan(hs_store *s, const hs_replay_scan *q, hs_replay_event **items, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *n = 0;
    if (!q || !q->limit || !q->nsources) return HS_OK;
    return s->be->replay->scan(s, q, items, n, err);
}

/* ---- writes ---- */

typedef struct create_args {
    const hs_replay_job *job;
    const char (*ids)[HS_ID_MAX];
    size_t n;
} create_args;

static int create_exec(hs_store *s, hs_wop *op) {
    const create_args *a = op->ud;
    return s->be->replay->create(s, a->job, a->ids, a->n, &op->err);
}

int hs_store_replay_create(hs_store *s, hs_replay_job *job, const char (*event_ids)[HS_ID_MAX], size_t n,
                           hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!job || !job->id[0] || !job->destination_id[0] || (n && !event_ids))
        return hs_error_set(err, HS_ERR_INVALID, NULL, "bad replay job");
    job->created_at = hs_now_ms();
    job->total = n;
    job->cursor = 0;
    create_args a = {.job = job, .ids = event_ids, .n = n};
    hs_wop op = {.exec = create_exec, .ud = &a, .keeps_routes = true};
    return hs__writer_submit(s, &op, err);
}

static int cancel_exec(hs_store *s, hs_wop *op) { return s->be->replay->cancel(s, op->id, hs_now_ms(), &op->err); }

int hs_store_replay_cancel(hs_store *s, const char *id, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!id) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad replay job id");
    hs_wop op = {.exec = cancel_exec, .id = id, .keeps_routes = true};
    return hs__writer_submit(s, &op, err);
}

typedef struct claim_args {
    uint64_t ttl_ms;
    hs_replay_job *jobs;
    size_t n;
} claim_args;

static int claim_exec(hs_store *s, hs_wop *op) {
    claim_args *a = op->ud;
    return s->be->replay->claim(s, op->id, a->ttl_ms, hs_now_ms(), &a->jobs, &a->n, &op->err);
}

static void claim_undo(hs_wop *op) {
    claim_args *a = op->ud;
    hs_replay_jobs_free(a->jobs, a->n);
    hs_free(a->jobs);
    a->jobs = NULL;
    a->n = 0;
}

int hs_store_replay_claim(hs_store *s, const char *node, uint64_t ttl_ms, hs_replay_job **out, size_t *n,
                          hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    if (!node || !node[0]) return hs_error_set(err, HS_ERR_INVALID, NULL, "a claim needs a node id");
    claim_args a = {.ttl_ms = ttl_ms};
    hs_wop op = {.exec = claim_exec, .undo = claim_undo, .id = node, .ud = &a, .keeps_routes = true};
    int rc = hs__writer_submit(s, &op, err);
    if (rc == HS_OK) {
        *out = a.jobs;
        *n = a.n;
    }
    return rc;
}

static void step_undo(hs_wop *op) {
    hs_replay_step *st = op->ud;
    hs_free(st->queued);
    st->queued = NULL;
    st->n = 0;
}

void hs__replay_count(hs_replay_job *j, const char *status, uint64_t k) {
    if (!status || strcmp(status, "pending") == 0) return;
    j->processed += k;
    if (strcmp(status, "delivered") == 0)
        j->succeeded += k;
    else
        j->failed += k; /* failed, or cancelled with its destination */
}

/* Once every event is enqueued and none of its deliveries is pending, the
 * job is completed. */
static int step_check(hs_store *s, hs_replay_step *st, const hs_replay_job *j, uint64_t now, hs_error *err) {
    int64_t pending = 0;
    int rc = s->be->replay->pending(s, j->id, &pending, err);
    if (rc != HS_OK || pending > 0) return rc;
    snprintf(st->status, sizeof st->status, "completed");
    return s->be->replay->end(s, j->id, "completed", "", now, err);
}

static int step_exec(hs_store *s, hs_wop *op) {
    const hs__replay_ops *o = s->be->replay;
    hs_replay_step *st = op->ud;
    hs_error *err = &op->err;
    uint64_t now = hs_now_ms();
    hs_replay_job j;
    bool ok = false, exists = false;
    int rc = o->lock(s, st, now, &j, &ok, err);
    if (rc != HS_OK) return rc;
    if (!ok) return hs_error_set(err, HS_ERR_STALE, NULL, "replay job %s is not this node's to run now", st->job_id);
    snprintf(st->status, sizeof st->status, "running");
    rc = o->destination_exists(s, j.destination_id, &exists, err);
    if (rc == HS_OK && !exists) {
        char why[128];
        snprintf(why, sizeof why, "destination %s was deleted", j.destination_id);
        snprintf(st->status, sizeof st->status, "failed");
        return o->end(s, j.id, "failed", why, now, err);
    }
    if (rc == HS_OK && st->max && j.cursor < j.total) {
        rc = o->enqueue(s, st, &j, now, err);
        if (rc != HS_OK) step_undo(op);
        return rc;
    }
    if (rc == HS_OK && j.cursor >= j.total) rc = step_check(s, st, &j, now, err);
    return rc;
}

int hs_store_replay_step(hs_store *s, hs_replay_step *st, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!st || !st->job_id || !st->node) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad replay step");
    st->queued = NULL;
    st->n = 0;
    st->new_cursor = st->cursor;
    st->status[0] = '\0';
    hs_wop op = {.exec = step_exec, .undo = step_undo, .ud = st, .keeps_routes = true};
    return hs__writer_submit(s, &op, err);
}

typedef struct bulk_args {
    const hs_bulk_retry *q;
    hs_event_retry *out;
    bool *more;
} bulk_args;

static int bulk_exec(hs_store *s, hs_wop *op) {
    bulk_args *a = op->ud;
    return s->be->replay->bulk_retry(s, a->q, a->out, a->more, &op->err);
}

static void bulk_undo(hs_wop *op) {
    bulk_args *a = op->ud;
    hs__event_retry_clear(a->out);
    *a->more = false;
}

int hs_store_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *out, bool *more, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!out || !more || !q) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad bulk retry");
    memset(out, 0, sizeof *out);
    *more = false;
    if (!q->limit || q->limit > HS_BULK_RETRY_MAX)
        return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to %d", HS_BULK_RETRY_MAX);
    bulk_args a = {.q = q, .out = out, .more = more};
    hs_wop op = {.exec = bulk_exec, .undo = bulk_undo, .ud = &a, .keeps_routes = true};
    return hs__writer_submit(s, &op, err);
}

/* ---- reads ---- */

int hs_store_replay_get(hs_store *s, const char *id, hs_replay_job *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    if (!id) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no replay job");
    return s->be->replay->get(s, id, out, err);
}

int hs_store_replay_list(hs_store *s, const hs_page *page, const char *destination_id, hs_replay_job **out, size_t *n,
                         bool *has_more, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    *has_more = false;
    if (!page || page->limit < 1 || page->limit > 100)
        return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to 100");
    int rc = s->be->replay->list(s, page, destination_id ? destination_id : "", out, n, err);
    if (rc == HS_OK && *n > (size_t)page->limit) {
        *has_more = true;
        hs_replay_jobs_free(*out + page->limit, *n - (size_t)page->limit);
        *n = (size_t)page->limit;
    }
    return rc;
}
