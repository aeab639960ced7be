/* src/delivery/scheduler.h — the DeliveryScheduler: one per destination, all on the loop.
 *
 * Each destination keeps its pending deliveries in memory, in FIFO order of
 * readiness (ordering "strict": in arrival order, and one waiting for its
 * retry holds back those behind it), sends at most max_concurrency at once
 * through its provider and the http client, and decides what an outcome
 * means: delivered, retry at T (src/core/retry.c), or dead-lettered; and what it does
 * to the circuit breaker (src/core/circuit.c). Every outcome is committed to the store
 * (hs_store_attempt_commit) before the delivery's slot is given to the next
 * one, so a crash re-sends at most the deliveries that were in flight.
 *
 * Rebuilt from the store at start: destinations, their circuit states and
 * every pending delivery with its due time; overdue ones go out at once.
 *
 * Threading: every function on the loop thread.
 */
#ifndef HS_SCHEDULER_H
#define HS_SCHEDULER_H

#include <jansson.h>
#include <uv.h>

#include "http/client.h"
#include "store/store.h"

typedef struct hs_scheduler hs_scheduler;

/* Loads everything from the store (blocking reads: call before serving). */
int hs_scheduler_new(uv_loop_t *loop, hs_store *s, hs_scheduler **out, hs_error *err);
/* Where attempts are counted (src/observe/metrics.h); NULL: nowhere. */
struct hs_metrics;
void hs_scheduler_set_metrics(hs_scheduler *sc, struct hs_metrics *m);

/* One destination's live state, for metrics and the dashboard. */
typedef struct hs_dest_status {
    const char *id;
    const char *type;
    const char *circuit; /* closed | open | half_open */
    int consecutive_failures;
    size_t queued;
    int in_flight;
} hs_dest_status;
/* Calls fn for every destination (loop thread). */
void hs_scheduler_each(hs_scheduler *sc, void (*fn)(const hs_dest_status *st, void *ud), void *ud);

/* Told of every attempt once it is recorded, and of every circuit reset
 * (a NULL attempt), with the destination's state after it; loop thread. */
typedef void (*hs_scheduler_observer)(const hs_attempt_rec *a, const hs_dest_status *st, void *ud);
void hs_scheduler_set_observer(hs_scheduler *sc, hs_scheduler_observer fn, void *ud);

/* What providers that deliver without HTTP get (the websocket hub). */
void hs_scheduler_set_local_env(hs_scheduler *sc, void *env);

/* The deliveries of a committed ingest. The scheduler may take the event's
 * body, headers and content type out of ing (leaving NULL) to send the
 * first attempts without reading the event back. Deliveries that a manual
 * retry put back to pending come with hs_scheduler_add_deliveries. Unknown
 * destinations are ignored (deleted meanwhile). */
void hs_scheduler_add(hs_scheduler *sc, hs_ingest *ing);
void hs_scheduler_add_deliveries(hs_scheduler *sc, const hs_delivery *d, size_t n);

/* A destination was created or changed (doc as stored, borrowed), or
 * deleted (its pending deliveries were cancelled by the store). */
void hs_scheduler_destination_put(hs_scheduler *sc, const json_t *doc);
void hs_scheduler_destination_remove(hs_scheduler *sc, const char *id);

/* A connection was created or changed (its transform, if any, is compiled
 * and used for its deliveries from now on), or deleted. */
void hs_scheduler_connection_put(hs_scheduler *sc, const json_t *doc);
void hs_scheduler_connection_remove(hs_scheduler *sc, const char *id);

/* GET /v1/destinations/:id/circuit: the object of DESIGN.md §3, or NULL for
 * an unknown destination. */
json_t *hs_scheduler_circuit_json(hs_scheduler *sc, const char *destination_id);
/* POST .../circuit/reset: closes the circuit, saves it, and calls cb with the
 * circuit object (or NULL and an error) once that is committed. */
typedef void (*hs_scheduler_reset_cb)(json_t *circuit, const hs_error *err, void *ud);
int hs_scheduler_circuit_reset(hs_scheduler *sc, const char *destination_id, hs_scheduler_reset_cb cb, void *ud);

/* Stop sending: running transfers are cancelled (those deliveries stay
 * pending in the store and go out again after a restart); outcomes already
 * being committed finish. done runs once nothing is left; then free. */
void hs_scheduler_stop(hs_scheduler *sc, void (*done)(void *ud), void *ud);
void hs_scheduler_free(hs_scheduler *sc);

#endif
