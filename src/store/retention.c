/* src/store/retention.c — one step of forgetting settled events, for every
 * backend (src/store/retention.h). Writer thread.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "store/retention.h"

#define SWEEP_EVENTS 512 /* events looked at per status and step */
#define SWEEP_KEYS 2048  /* dedup keys forgotten per step at most */
#define SWEEP_REPLAYS 2  /* replay jobs per step: up to 10,000 chosen events each */

/* Up to cap ids of settled events older than the cutoff, oldest first per
 * status; ids has room for cap + 1 (a status is asked for one more than
 * still fits: *more says some were left). */
static int old_events(const hs__sweep_ops *ops, void *ctx, const char *cutoff, char (*ids)[HS_ID_MAX], size_t cap,
                      size_t *n, bool *more, hs_error *err) {
    static const char *const settled[] = {"received", "delivered", "cancelled"};
    *n = 0;
    *more = false;
    for (size_t k = 0; k < sizeof settled / sizeof settled[0] && *n < cap; k++) {
        size_t got = 0;
        int rc = ops->old_events(ctx, settled[k], cutoff, cap - *n + 1, ids + *n, &got, err);
        if (rc != HS_OK) return rc;
        *n += got;
        if (*n > cap) {
            *more = true;
            *n = cap;
        }
        if (*n == cap && k + 1 < sizeof settled / sizeof settled[0]) *more = true;
    }
    return HS_OK;
}

int hs__sweep_events(hs_sweep *sw, const hs__sweep_ops *ops, void *ctx, hs_error *err) {
    int rc = ops->forget_keys(ctx, SWEEP_KEYS, &sw->keys, err);
    bool more_keys = sw->keys >= SWEEP_KEYS;
    if (rc != HS_OK || sw->before_ms == 0) {
        sw->more = rc == HS_OK && more_keys;
        return rc;
    }
    /* ids below "evt_<before_ms>00..0" were made before before_ms */
    char cutoff[HS_ID_MAX];
    snprintf(cutoff, sizeof cutoff, "evt_%012llx%020d", (unsigned long long)(sw->before_ms & 0xffffffffffffULL), 0);
    char(*ids)[HS_ID_MAX] = hs_malloc((SWEEP_EVENTS + 1) * sizeof *ids);
    size_t n = 0;
    bool more = false;
    rc = old_events(ops, ctx, cutoff, ids, SWEEP_EVENTS, &n, &more, err);
    size_t *counts[HS_SWEEP_ROWS_COUNT] = {
        [HS_SWEEP_ATTEMPTS] = &sw->attempts, [HS_SWEEP_DELIVERIES] = &sw->deliveries, [HS_SWEEP_EVENT] = &sw->events};
    size_t i = 0, rows = 0;
    for (; rc == HS_OK && i < n && (i == 0 || rows < sw->max_rows); i++) {
        for (int what = 0; rc == HS_OK && what < HS_SWEEP_ROWS_COUNT; what++)
            rc = ops->delete_rows(ctx, (hs__sweep_rows)what, ids[i], counts[what], err);
        rows = sw->attempts + sw->deliveries + sw->events;
    }
    hs_free(ids);
    if (rc == HS_OK) rc = ops->forget_replays(ctx, sw->before_ms, SWEEP_REPLAYS, &sw->replays, err);
    sw->more = rc == HS_OK && (more || more_keys || i < n || sw->replays >= SWEEP_REPLAYS);
    return rc;
}
