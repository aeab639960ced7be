/* src/ops/ops.c — the hs_ops of src/ops/ops.h: its life cycle, its jobs on
 * the threadpool, and the outbox that carries what a job found to send
 * back to the loop. Loop 0, but for the job functions (threadpool).
 */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "ops/alerts.h"
#include "ops/issues.h"

hs_ops *hs_ops_new(uv_loop_t *loop, hs_store *store, const hs_secretbox *box, const hs_ops_config *cfg) {
    hs_ops *o = hs_calloc(1, sizeof *o);
    o->loop = loop;
    o->store = store;
    o->box = box;
    o->cfg = *cfg;
    if (!o->cfg.resolve_after_ms) o->cfg.resolve_after_ms = HS_ISSUE_RESOLVE_AFTER_DEFAULT_MS;
    if (!o->cfg.alert_interval_ms) o->cfg.alert_interval_ms = HS_ALERT_INTERVAL_DEFAULT_MS;
    if (o->cfg.notify_attempts < 1) o->cfg.notify_attempts = HS_NOTIFY_ATTEMPTS;
    o->cfg.smtp_url = o->cfg.smtp_from = NULL; /* the notifier keeps its copies */
    o->notify = hs_notify_new(loop, cfg->smtp_url, cfg->smtp_from);
    uv_timer_init(loop, &o->resolve_timer);
    uv_timer_init(loop, &o->alert_timer);
    uv_timer_init(loop, &o->outbox_timer);
    o->resolve_timer.data = o->alert_timer.data = o->outbox_timer.data = o;
    return o;
}

static void on_resolve_timer(uv_timer_t *t) { hs_issues_tick(t->data); }
static void on_alert_timer(uv_timer_t *t) { hs_alerts_tick(t->data); }
static void on_outbox_timer(uv_timer_t *t) { hs__outbox_tick(t->data); }

void hs_ops_start(hs_ops *o) {
    /* quiet issues are looked for a few times per resolve period (at most
     * every minute): one resolves at most that late */
    uint64_t every = o->cfg.resolve_after_ms / 4;
    if (every > 60000) every = 60000;
    if (every < 100) every = 100;
    uv_timer_start(&o->resolve_timer, on_resolve_timer, every, every);
    uv_timer_start(&o->alert_timer, on_alert_timer, o->cfg.alert_interval_ms, o->cfg.alert_interval_ms);
    /* one store of one server (SQLite) has no node id: any name does */
    const char *node = hs_store_node_id(o->store);
    snprintf(o->node, sizeof o->node, "%s", node && *node ? node : "local");
    uv_timer_start(&o->outbox_timer, on_outbox_timer, 0, HS_OUTBOX_POLL_MS);
}

static void maybe_stopped(hs_ops *o) {
    if (!o->stopping || o->jobs || o->closing || !o->stopped) return;
    void (*done)(void *) = o->stopped;
    o->stopped = NULL; /* once */
    done(o->stopped_ud);
}

void hs_ops_free(hs_ops *o) {
    if (!o) return;
    hs_free(o->hits);
    hs_free(o->settles);
    hs_free(o);
}

static void nothing(void *ud) { (void)ud; }

static void handle_closed(uv_handle_t *h) {
    hs_ops *o = h->data;
    o->closing--;
    maybe_stopped(o);
}

static void notify_closed(void *ud) {
    hs_ops *o = ud;
    o->notify = NULL; /* freed */
    o->closing--;
    maybe_stopped(o);
}

void hs_ops_stop(hs_ops *o, void (*done)(void *ud), void *ud) {
    if (!o) {
        if (done) done(ud);
        return;
    }
    o->stopping = true;
    o->stopped = done ? done : nothing;
    o->stopped_ud = ud;
    o->closing = 4;
    uv_close((uv_handle_t *)&o->resolve_timer, handle_closed);
    uv_close((uv_handle_t *)&o->alert_timer, handle_closed);
    uv_close((uv_handle_t *)&o->outbox_timer, handle_closed);
    hs_notify_close(o->notify, notify_closed, o);
}

/* ---- jobs ---- */

typedef struct job {
    uv_work_t work;
    hs_ops *o;
    bool *busy;
    void (*fn)(void *arg);
    void (*after)(void *arg);
    void *arg;
} job;

static void job_run(uv_work_t *w) {
    job *j = w->data;
    j->fn(j->arg);
}

static void job_done(uv_work_t *w, int status) {
    (void)status;
    job *j = w->data;
    hs_ops *o = j->o;
    *j->busy = false;
    j->after(j->arg);
    hs_free(j);
    o->jobs--;
    maybe_stopped(o);
}

static void queue_job(hs_ops *o, bool *busy, void (*fn)(void *arg), void (*after)(void *arg), void *arg) {
    if (*busy) {
        hs_free(arg);
        return;
    }
    job *j = hs_calloc(1, sizeof *j);
    j->work.data = j;
    j->o = o;
    j->busy = busy;
    j->fn = fn;
    j->after = after;
    j->arg = arg;
    if (uv_queue_work(o->loop, &j->work, job_run, job_done)) {
        hs_free(j);
        hs_free(arg);
        return;
    }
    *busy = true;
    o->jobs++;
}

void hs__ops_job(hs_ops *o, bool *busy, void (*fn)(void *arg), void (*after)(void *arg), void *arg) {
    if (o->stopping) {
        hs_free(arg);
        return;
    }
    queue_job(o, busy, fn, after, arg);
}

void hs__ops_job_final(hs_ops *o, bool *busy, void (*fn)(void *arg), void (*after)(void *arg), void *arg) {
    if (o->stopping && !o->stopped) { /* its stop is done: the store may be closing */
        hs_free(arg);
        return;
    }
    queue_job(o, busy, fn, after, arg);
}
