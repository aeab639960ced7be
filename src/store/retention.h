/* src/store/retention.h — one step of forgetting settled events
 * (hs_store_sweep), decided here for every backend (src/store/retention.c).
 * Private to src/store/.
 *
 * First the dedup keys whose window has closed (a bounded number per
 * step, whatever the retention: they are needed only while open). Then
 * which events go (settled: received, delivered or cancelled; received
 * before sw->before_ms, told by their ids, which begin with the creation
 * time: base/id.h), how many per step, oldest first per status, and in
 * which order an event's rows are deleted: here. The backend runs the
 * statements (hs__sweep_ops) and gives the space back as its engine can.
 * Writer thread, inside the op's savepoint.
 */
#ifndef HS_STORE_RETENTION_H
#define HS_STORE_RETENTION_H

#include "store/backend.h"

/* The rows of an event, deleted in this order. */
typedef enum hs__sweep_rows {
    HS_SWEEP_ATTEMPTS = 0, /* its attempts (found through its deliveries) */
    HS_SWEEP_DELIVERIES,
    HS_SWEEP_EVENT,
    HS_SWEEP_ROWS_COUNT
} hs__sweep_rows;

typedef struct hs__sweep_ops {
    /* Up to limit ids of the events in status whose ids are below cutoff,
     * in id order, into ids; *n how many. */
    int (*old_events)(void *ctx, const char *status, const char *cutoff, size_t limit, char (*ids)[HS_ID_MAX],
                      size_t *n, hs_error *err);
    /* Forget dedup keys whose window has closed, by the backend's clock,
     * looking at no more than limit of them; *changed grows by how many
     * went (limit of them: there may be more). */
    int (*forget_keys)(void *ctx, size_t limit, size_t *changed, hs_error *err);
    /* Delete the rows `what` of event id; *changed grows by how many. */
    int (*delete_rows)(void *ctx, hs__sweep_rows what, const char *id, size_t *changed, hs_error *err);
    /* Delete up to limit replay jobs that ended (any status but running)
     * before before_ms, oldest end first, each with its chosen events
     * (replay_items); *changed grows by the jobs deleted. */
    int (*forget_replays)(void *ctx, uint64_t before_ms, size_t limit, size_t *changed, hs_error *err);
} hs__sweep_ops;

/* Forget closed dedup keys (sw->keys); then, unless sw->before_ms is 0,
 * delete the oldest settled events of sw's cutoff with their deliveries and
 * attempts, counting them in sw (events, deliveries, attempts), at least
 * one event and then until sw->max_rows rows, and a few replay jobs that
 * ended before the cutoff (sw->replays); sw->more when some are left.
 * sw->pages_freed is the backend's. */
int hs__sweep_events(hs_sweep *sw, const hs__sweep_ops *ops, void *ctx, hs_error *err);

#endif
