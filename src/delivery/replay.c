/* src/delivery/replay.c — the replay job runner (src/delivery/replay.h).
 *
 * Loop 0: a timer every TICK_MS plans a batch (a claim when one is due, a
 * step per job that earned events, a completion check for jobs whose
 * events are all enqueued); the threadpool runs the batch against the
 * store; back on the loop the deliveries go to the scheduler and the jobs'
 * cursors move. One batch at a time.
 */
#include "delivery/replay.h"

#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

#define TICK_MS 100
#define CLAIM_EVERY_MS 2000
#define CLAIM_TTL_MS 10000
#define CHECK_EVERY_MS 250 /* a job whose events are all enqueued: is it over? */

typedef struct rjob {
    char id[HS_ID_MAX];
    int rate;
    uint64_t cursor, total;
    double tokens;       /* events earned, not yet enqueued */
    uint64_t checked_at; /* the last completion check */
} rjob;

/* One batch: the claim (when due) and the steps, run on the threadpool. */
typedef struct batch {
    uv_work_t work;
    struct hs_replay_runner *r;
    bool claim;
    hs_replay_job *claimed;
    size_t nclaimed;
    int claim_rc;
    hs_replay_step *steps;
    char (*ids)[HS_ID_MAX];
    int *rcs;
    size_t nsteps;
    hs_error err;
} batch;

struct hs_replay_runner {
    uv_loop_t *loop;
    hs_store *store;
    hs_scheduler *sched;
    char node[HS_NODE_ID_MAX];
    uv_timer_t timer;
    rjob *jobs;
    size_t n;
    uint64_t last_tick, claim_at;
    bool busy, stopping, closed;
};

static void runner_free_if_done(hs_replay_runner *r) {
    if (!r->stopping || r->busy || !r->closed) return;
    hs_free(r->jobs);
    hs_free(r);
}

static rjob *job_find(hs_replay_runner *r, const char *id) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->jobs[i].id, id) == 0) return &r->jobs[i];
    return NULL;
}

static void job_drop(hs_replay_runner *r, const char *id) {
    rjob *j = job_find(r, id);
    if (j) *j = r->jobs[--r->n];
}

static void batch_work(uv_work_t *w) {
    batch *b = w->data;
    hs_replay_runner *r = b->r;
    if (b->claim)
        b->claim_rc = hs_store_replay_claim(r->store, r->node, CLAIM_TTL_MS, &b->claimed, &b->nclaimed, &b->err);
    for (size_t i = 0; i < b->nsteps; i++) {
        hs_error err;
        hs_error_clear(&err);
        b->rcs[i] = hs_store_replay_step(r->store, &b->steps[i], &err);
        if (b->rcs[i] != HS_OK && b->rcs[i] != HS_ERR_STALE)
            hs_warn("replay %s: a step failed (tried again): %s", b->ids[i], err.msg);
    }
}

/* The jobs held are those the claim returned; a job already held keeps
 * what it earned. */
static void take_claim(hs_replay_runner *r, batch *b) {
    rjob *jobs = hs_calloc(b->nclaimed ? b->nclaimed : 1, sizeof *jobs);
    for (size_t i = 0; i < b->nclaimed; i++) {
        const hs_replay_job *c = &b->claimed[i];
        const rjob *old = job_find(r, c->id);
        if (old) {
            jobs[i] = *old;
        } else {
            hs_id_copy(jobs[i].id, c->id);
            jobs[i].cursor = c->cursor;
            hs_info("replay %s: running it here (%llu of %llu events enqueued)", c->id, (unsigned long long)c->cursor,
                    (unsigned long long)c->total);
        }
        jobs[i].rate = c->rate > 0 ? c->rate : 1;
        jobs[i].total = c->total;
    }
    hs_free(r->jobs);
    r->jobs = jobs;
    r->n = b->nclaimed;
}

static void batch_done(uv_work_t *w, int status) {
    (void)status;
    batch *b = w->data;
    hs_replay_runner *r = b->r;
    r->busy = false;
    if (b->claim && b->claim_rc == HS_OK && !r->stopping) take_claim(r, b);
    if (b->claim && b->claim_rc != HS_OK) hs_warn("replay: claiming jobs failed: %s", b->err.msg);
    for (size_t i = 0; i < b->nsteps; i++) {
        hs_replay_step *st = &b->steps[i];
        /* committed: the scheduler sends them (after a stop: the restart) */
        if (b->rcs[i] == HS_OK && st->n) hs_scheduler_on_requeued(st->queued, st->n, r->sched);
        rjob *j = r->stopping ? NULL : job_find(r, b->ids[i]);
        if (j && b->rcs[i] == HS_OK) j->cursor = st->new_cursor;
        if (j && (b->rcs[i] == HS_ERR_STALE || (b->rcs[i] == HS_OK && strcmp(st->status, "running") != 0))) {
            if (b->rcs[i] == HS_OK) hs_info("replay %s: %s", b->ids[i], st->status);
            job_drop(r, b->ids[i]);
        }
        hs_free(st->queued);
    }
    hs_replay_jobs_free(b->claimed, b->nclaimed);
    hs_free(b->claimed);
    hs_free(b->steps);
    hs_free(b->ids);
    hs_free(b->rcs);
    hs_free(b);
    runner_free_if_done(r);
}

/* What each job may enqueue now; false when there is nothing to do. */
static bool plan(hs_replay_runner *r, uint64_t now, batch *b) {
    double dt = r->last_tick && now > r->last_tick ? (double)(now - r->last_tick) : TICK_MS;
    r->last_tick = now;
    b->steps = hs_calloc(r->n ? r->n : 1, sizeof *b->steps);
    b->ids = hs_calloc(r->n ? r->n : 1, sizeof *b->ids);
    b->rcs = hs_calloc(r->n ? r->n : 1, sizeof *b->rcs);
    for (size_t i = 0; i < r->n; i++) {
        rjob *j = &r->jobs[i];
        size_t max = 0;
        if (j->cursor < j->total) {
            double cap = (double)j->rate * TICK_MS / 1000.0;
            j->tokens += (double)j->rate * dt / 1000.0;
            if (j->tokens > (cap < 1 ? 1 : cap)) j->tokens = cap < 1 ? 1 : cap;
            max = (size_t)j->tokens;
            if (max > j->total - j->cursor) max = (size_t)(j->total - j->cursor);
            if (max == 0) continue;
            j->tokens -= (double)max;
        } else if (now - j->checked_at < CHECK_EVERY_MS) {
            continue;
        } else {
            j->checked_at = now;
        }
        size_t k = b->nsteps++;
        hs_id_copy(b->ids[k], j->id);
        b->steps[k] = (hs_replay_step){.job_id = b->ids[k], .node = r->node, .cursor = j->cursor, .max = max};
    }
    b->claim = now >= r->claim_at;
    if (b->claim) r->claim_at = now + CLAIM_EVERY_MS;
    return b->claim || b->nsteps > 0;
}

static void on_tick(uv_timer_t *t) {
    hs_replay_runner *r = t->data;
    if (r->busy || r->stopping) return;
    batch *b = hs_calloc(1, sizeof *b);
    b->r = r;
    b->work.data = b;
    if (!plan(r, hs_now_ms(), b) || uv_queue_work(r->loop, &b->work, batch_work, batch_done) != 0) {
        hs_free(b->steps);
        hs_free(b->ids);
        hs_free(b->rcs);
        hs_free(b);
        return;
    }
    r->busy = true;
}

int hs_replay_runner_start(uv_loop_t *loop, hs_store *s, hs_scheduler *sched, const char *node, hs_replay_runner **out,
                           hs_error *err) {
    hs_replay_runner *r = hs_calloc(1, sizeof *r);
    r->loop = loop;
    r->store = s;
    r->sched = sched;
    snprintf(r->node, sizeof r->node, "%s", node && node[0] ? node : "local");
    int rc = uv_timer_init(loop, &r->timer);
    if (rc == 0) {
        r->timer.data = r;
        rc = uv_timer_start(&r->timer, on_tick, 0, TICK_MS);
    }
    if (rc != 0) {
        hs_free(r);
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot start the replay runner: %s", uv_strerror(rc));
    }
    *out = r;
    return HS_OK;
}

void hs_replay_runner_poke(hs_replay_runner *r) {
    if (r) r->claim_at = 0;
}

static void on_closed(uv_handle_t *h) {
    hs_replay_runner *r = h->data;
    r->closed = true;
    runner_free_if_done(r);
}

void hs_replay_runner_stop(hs_replay_runner *r) {
    if (!r || r->stopping) return;
    r->stopping = true;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_closed);
}
