/* src/delivery/shard.h — one loop thread's part of the DeliveryScheduler.
 * Private to src/delivery/.
 *
 * The scheduler (src/delivery/scheduler.c) splits the destinations among
 * its loop threads by a hash of their ids: each destination belongs to
 * exactly one shard, so its order, its window, its in-flight slots and its
 * circuit are one thread's, as before. A shard is the per-destination
 * engine src/delivery/scheduler.h describes (windows filled from the store,
 * pump, build, send, conclude, commit), with its own http client; the
 * scheduler hands it work (ingests, requeues, resource changes, circuit
 * resets) through its mailbox and it hands back what the rest of the server
 * hears of (the attempt and circuit hooks, local deliveries) through the
 * hs__sched_* functions below.
 *
 * Threading: everything on the shard's loop thread, except the building
 * calls, made before that loop runs. Nothing of a shard is read by another
 * thread: even the API's reads of circuits and queues are messages, so a
 * read sees every change posted before it.
 */
#ifndef HS_DELIVERY_SHARD_H
#define HS_DELIVERY_SHARD_H

#include "base/mailbox.h"
#include "delivery/scheduler.h"
#include "providers/provider.h"

typedef struct hs__shard hs__shard;

/* An event's content, shared by its deliveries' first attempts so that it
 * need not be read back from the store. A shard's own. */
typedef struct hs__payload {
    int refs;
    size_t bytes;
    char source_id[HS_ID_MAX];
    char *body;
    size_t body_len;
    char *content_type;
    char *headers_json;
    char method[16];
    uint64_t received_at;
} hs__payload;

/* ---- building (before the shard's loop runs, on any one thread) ---- */

/* Shard index of nshards of owner, on loop; the memory budgets are the
 * scheduler's divided among the shards. */
hs__shard *hs__shard_new(hs_scheduler *owner, size_t index, size_t nshards, uv_loop_t *loop, hs_store *s, size_t window,
                         hs_error *err);
/* What the store holds, before the start: a destination (the shard keeps
 * its own copy of doc), a connection, a circuit state, a queue count. */
void hs__shard_load_destination(hs__shard *sh, const json_t *doc);
void hs__shard_load_connection(hs__shard *sh, const json_t *doc);
void hs__shard_load_circuit(hs__shard *sh, const hs_circuit_row *row, uint64_t now);
void hs__shard_load_pending(hs__shard *sh, const char *destination_id, uint64_t pending);

/* ---- on the shard's loop thread ---- */

/* Starts sending: overdue deliveries go out at once. */
void hs__shard_start(hs__shard *sh);
/* The deliveries of a committed ingest to this shard's destinations; pl
 * (taken over; may be NULL) is the event's content for first attempts. */
void hs__shard_ingest(hs__shard *sh, const char *event_id, hs__payload *pl, const hs_delivery_ref *refs, size_t n);
/* Deliveries a manual retry put back to pending, by destination id (a
 * destination may come several times, once per delivery). */
void hs__shard_requeued(hs__shard *sh, const char (*destination_ids)[HS_ID_MAX], size_t n);
/* A destination or connection written (e->doc is the shard's own copy,
 * borrowed for the call). */
void hs__shard_resource(hs__shard *sh, const hs_resource_event *e);
/* Several nodes: destinations are sent only while leased (before loading). */
void hs__shard_set_clustered(hs__shard *sh);
/* hs_scheduler_lease for one of this shard's destinations. */
void hs__shard_lease(hs__shard *sh, const hs_lease_msg *m, hs_scheduler_released_cb cb, void *ud);
/* POST .../circuit/reset: cb runs on this shard's thread once committed. */
int hs__shard_circuit_reset(hs__shard *sh, const char *destination_id, hs_scheduler_reset_cb cb, void *ud);
/* Stop (hs_scheduler_stop); done runs on this thread once nothing is left. */
void hs__shard_stop(hs__shard *sh, void (*done)(void *ud), void *ud);
/* After the stop's done, once the shard's loop has closed its handles. */
void hs__shard_free(hs__shard *sh);

/* Every destination's status, now: out->st[i].id points into out->ids
 * (both allocated here, the caller frees them). */
typedef struct hs__states {
    hs_dest_status *st;
    char (*ids)[HS_ID_MAX];
    size_t n;
} hs__states;
void hs__shard_states(hs__shard *sh, hs__states *out);
/* The circuit object of docs/api.md, or NULL when the destination is not
 * the shard's. */
json_t *hs__shard_circuit_json(hs__shard *sh, const char *destination_id);

/* ---- the scheduler's side, called by a shard on its thread ---- */

/* Fire attempt_decided or attempt_recorded (recorded true) on the
 * server's loop, which is this one or another. */
void hs__sched_attempt(hs_scheduler *sc, size_t index, bool recorded, const hs_attempt_event *e);
/* Call cb (RELEASE's answer) on the server's loop. */
void hs__sched_released(hs_scheduler *sc, size_t index, const char *destination_id, uint64_t epoch,
                        hs_scheduler_released_cb cb, void *ud);
/* Fire circuit_reset. */
void hs__sched_circuit_reset(hs_scheduler *sc, size_t index, const hs_dest_status *st);
/* Deliver req with p->deliver_local on the server's loop (where the
 * WebSocket hub lives) and call done(resp, ud) back on the shard's thread
 * with the answer (taken over). req is borrowed until then. */
typedef void (*hs__local_done)(hs_out_resp *resp, void *ud);
void hs__sched_deliver_local(hs_scheduler *sc, size_t index, const hs_provider *p, const hs_out_req *req,
                             hs__local_done done, void *ud);

#endif
