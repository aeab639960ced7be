/* src/maintenance/retention.c — pacing the store's sweeps (see retention.h). */
#include "maintenance/retention.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"

#define STEP_ROWS 300        /* rows a step deletes, about: a step is a few ms of the writer */
#define STEP_PAUSE_MS 10     /* between steps while there is more, at least... */
#define WRITER_SHARE 5       /* ...and enough for a step to take at most 1/5 of the writer's time */
#define IDLE_MIN_MS 1000     /* the idle interval: a tenth of the retention, */
#define IDLE_MAX_MS 60000    /* within these */
#define FAILED_PAUSE_MS 5000 /* after a step the store refused or failed */

struct hs_retention {
    hs_store *store;
    uint64_t retention_ms, idle_ms;
    uv_timer_t timer;
    hs_sweep *sw; /* the step under way, or NULL */
    bool stopping, timer_closed;
};

static void maybe_free(hs_retention *r) {
    if (r->stopping && r->timer_closed && !r->sw) hs_free(r);
}

static void on_timer(uv_timer_t *t);

static void next_in(hs_retention *r, uint64_t ms) {
    if (!r->stopping) uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_swept(hs_sweep *sw, int status) {
    hs_retention *r = sw->ud;
    r->sw = NULL;
    bool more = false;
    uint64_t sw_exec_us = sw->exec_us;
    if (status == HS_OK) {
        more = sw->more;
        if (sw->events)
            hs_debug("retention: %zu events, %zu deliveries, %zu attempts deleted; %zu pages given back%s", sw->events,
                     sw->deliveries, sw->attempts, sw->pages_freed, more ? "; more to go" : "");
        if (sw->replays) hs_debug("retention: %zu replay jobs deleted", sw->replays);
    } else {
        hs_warn("retention: a sweep failed: %s", sw->err.msg);
    }
    hs_sweep_free(sw);
    if (r->stopping) {
        maybe_free(r);
        return;
    }
    /* while catching up, a step's own time sets the pause after it: the
     * writer spends at most a fifth of its time deleting, whatever the
     * load, and ingest the rest */
    uint64_t busy_ms = (sw_exec_us + 999) / 1000 * (WRITER_SHARE - 1);
    uint64_t pause = busy_ms > STEP_PAUSE_MS ? busy_ms : STEP_PAUSE_MS;
    next_in(r, status != HS_OK ? FAILED_PAUSE_MS : more ? pause : r->idle_ms);
}

static void on_timer(uv_timer_t *t) {
    hs_retention *r = t->data;
    if (r->stopping || r->sw) return;
    uint64_t now = hs_now_ms();
    hs_sweep *sw = hs_sweep_new();
    /* 0: no event goes (retention off, or a clock this early has nothing
     * that old): the step only forgets closed dedup keys */
    sw->before_ms = r->retention_ms && now > r->retention_ms ? now - r->retention_ms : 0;
    sw->max_rows = STEP_ROWS;
    sw->cb = on_swept;
    sw->ud = r;
    if (hs_store_sweep(r->store, sw) != HS_OK) {
        hs_debug("retention: the store refused a sweep: %s", sw->err.msg);
        hs_sweep_free(sw);
        next_in(r, FAILED_PAUSE_MS);
        return;
    }
    r->sw = sw;
}

hs_retention *hs_retention_start(uv_loop_t *loop, hs_store *s, uint64_t retention_ms) {
    hs_retention *r = hs_calloc(1, sizeof *r);
    r->store = s;
    r->retention_ms = retention_ms;
    uint64_t idle = retention_ms ? retention_ms / 10 : IDLE_MAX_MS;
    r->idle_ms = idle < IDLE_MIN_MS ? IDLE_MIN_MS : idle > IDLE_MAX_MS ? IDLE_MAX_MS : idle;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_unref((uv_handle_t *)&r->timer); /* never what keeps the loop alive */
    next_in(r, 0);
    return r;
}

static void on_timer_closed(uv_handle_t *h) {
    hs_retention *r = h->data;
    r->timer_closed = true;
    maybe_free(r);
}

void hs_retention_stop(hs_retention *r) {
    if (!r) return;
    r->stopping = true;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
