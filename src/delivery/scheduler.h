/* src/delivery/scheduler.h — the DeliveryScheduler: one per destination,
 * each on one of the server's loop threads.
 *
 * Each destination's queue lives in the store; in memory it keeps a bounded
 * window of its next deliveries (docs/scheduler.md), in FIFO order of
 * readiness (ordering "strict": in arrival order, and one waiting for its
 * retry holds back those behind it), sends at most max_concurrency at once
 * through its provider and the http client, and decides what an outcome
 * means: delivered, retry at T (src/core/retry.c), or dead-lettered; and what it does
 * to the circuit breaker (src/core/circuit.c). Every outcome is committed to the store
 * (hs_store_attempt_commit) before the delivery's slot is given to the next
 * one, so a crash re-sends at most the deliveries that were in flight.
 *
 * Rebuilt from the store at start: destinations, their circuit states and
 * how many deliveries each has pending; the windows fill lazily, and
 * overdue deliveries go out at once.
 * From then on it learns of new work through hooks (src/core/hooks.h): it
 * subscribes to ingest, resource and requeued, and fires attempt_decided,
 * attempt_recorded and circuit_reset for the metrics and the live feed.
 *
 * Threads (docs/scheduler.md "Threads"): the destinations are split among
 * the server's loop threads (src/base/loops.h) by a hash of their ids
 * (src/delivery/shard.h): the first runs on the server's loop. A destination's deliveries, slots and circuit are its
 * thread's alone, so order and the circuit stay per destination without locks; what crosses threads goes by mailbox
 * (src/base/mailbox.h). The hooks it fires still run on the server's loop, and so do the callbacks below.
 *
 * Threading: every function on the server's loop thread.
 */
#ifndef HS_SCHEDULER_H
#define HS_SCHEDULER_H

#include <jansson.h>
#include <uv.h>

#include "base/loops.h"
#include "core/hooks.h"
#include "http/client.h"
#include "store/store.h"

typedef struct hs_scheduler hs_scheduler;

#define HS_SCHEDULER_WINDOW 256 /* deliveries a destination holds in memory at most, by default */

typedef struct hs_scheduler_config {
    size_t window;  /* 0: HS_SCHEDULER_WINDOW */
    bool clustered; /* several nodes: a destination is delivered only while leased (hs_scheduler_lease) */
} hs_scheduler_config;

/* Loads destinations, connections, circuit states and the queue counts from
 * the store (blocking reads: call before serving, on loop 0's thread), not
 * the backlog: each destination's window of at most `window` deliveries
 * fills from the store as it drains. Builds one shard on each of loops
 * (src/base/loops.h), on its thread.
 * Nothing is sent before hs_scheduler_start. On failure *out is set all
 * the same: stop, run the loop, free. */
int hs_scheduler_new(hs_loops *loops, hs_store *s, const hs_scheduler_config *cfg, hs_scheduler **out, hs_error *err);
/* Once its hooks and local env are set: sending starts on every loop
 * (overdue deliveries go out at once). */
void hs_scheduler_start(hs_scheduler *sc);
/* Where it fires its hooks (borrowed, read only); NULL: nowhere. Before
 * the start. */
void hs_scheduler_set_hooks(hs_scheduler *sc, const hs_hooks *hooks);

/* Every destination's status, gathered from the threads that own them:
 * cb(st, n, ud) runs once, on the server's loop, when all have answered
 * (before this returns when there is one thread). st is borrowed. */
typedef void (*hs_scheduler_states_cb)(const hs_dest_status *st, size_t n, void *ud);
void hs_scheduler_states(hs_scheduler *sc, hs_scheduler_states_cb cb, void *ud);

/* What providers that deliver without HTTP get (the websocket hub);
 * before the start. */
void hs_scheduler_set_local_env(hs_scheduler *sc, void *env);

/* Hook subscribers (src/core/hooks.h); ud is the scheduler.
 * ingest: the deliveries of a committed ingest. The scheduler may take the
 * event's body, headers and content type out of ing (leaving NULL) to send
 * the first attempts without reading the event back.
 * requeued: deliveries a manual retry put back to pending.
 * Deliveries to unknown destinations are ignored (deleted meanwhile).
 * resource: a destination created or changed (the stored doc is used from
 * now on) or deleted (its pending deliveries were cancelled by the store;
 * an attempt still out concludes with destination_removed); a connection
 * created or changed (its transform, if any, is compiled and used for its
 * deliveries from now on) or deleted. Sources are not its business. */
void hs_scheduler_on_ingest(hs_ingest *ing, void *ud);
void hs_scheduler_on_requeued(const hs_delivery *d, size_t n, void *ud);
void hs_scheduler_on_resource(const hs_resource_event *e, void *ud);

/* GET /v1/destinations/:id/circuit: cb gets the object of docs/api.md
 * (taken over), or NULL for an unknown destination, on the server's loop
 * (at once when the destination's thread is that one). */
typedef void (*hs_scheduler_circuit_cb)(json_t *circuit, void *ud);
void hs_scheduler_circuit(hs_scheduler *sc, const char *destination_id, hs_scheduler_circuit_cb cb, void *ud);
/* POST .../circuit/reset: closes the circuit, saves it, and calls cb with the
 * circuit object (or NULL and an error) once that is committed.
 * HS_ERR_NOTFOUND at once, or through cb, for an unknown destination. */
typedef void (*hs_scheduler_reset_cb)(json_t *circuit, const hs_error *err, void *ud);
int hs_scheduler_circuit_reset(hs_scheduler *sc, const char *destination_id, hs_scheduler_reset_cb cb, void *ud);

/* ---- several nodes (src/cluster/) ----
 * With cfg.clustered, a destination is delivered only while this node
 * holds its lease: src/cluster/ says so, and what it hears from the other
 * nodes, with these messages (to the destination's thread). Every attempt
 * record and circuit save carries the lease's epoch; the store refuses one
 * whose lease has moved (HS_ERR_STALE), and the destination stops here. */
typedef enum hs_lease_op {
    HS_LEASE_OWN,     /* held now under epoch: its circuit (if has_circuit), pending, last_seq, requeues */
    HS_LEASE_DROP,    /* lost (epoch 0: whichever): stop at once, transfers cancelled, nothing recorded */
    HS_LEASE_RELEASE, /* give it back: stop sending, let the attempts out finish and record, then cb */
    HS_LEASE_MORE,    /* another node committed n deliveries, up to last_seq */
    HS_LEASE_REREAD,  /* n deliveries were requeued behind the cursor: read the queue again */
    HS_LEASE_MARK,    /* the store's counts (the periodic backstop): pending, last_seq, requeues, epoch */
} hs_lease_op;
typedef struct hs_lease_msg {
    hs_lease_op op;
    char destination_id[HS_ID_MAX];
    uint64_t epoch;
    bool has_circuit;
    hs_circuit_row circuit;
    uint64_t pending, last_seq, requeues, n;
} hs_lease_msg;
/* RELEASE's answer, on the server's loop: nothing of it is in flight. */
typedef void (*hs_scheduler_released_cb)(const char *destination_id, uint64_t epoch, void *ud);
void hs_scheduler_lease(hs_scheduler *sc, const hs_lease_msg *m, hs_scheduler_released_cb cb, void *ud);

/* Stop sending: running transfers are cancelled (those deliveries stay
 * pending in the store and go out again after a restart); outcomes already
 * being committed finish. done runs once nothing is left; then free. */
void hs_scheduler_stop(hs_scheduler *sc, void (*done)(void *ud), void *ud);
void hs_scheduler_free(hs_scheduler *sc);

#endif
