/* src/delivery/replay.h — the replay job runner (docs/api.md "Replay").
 *
 * A replay job (src/store/replay.h) re-delivers a window of stored events to
 * one destination at its rate. The runner holds the running jobs this node
 * has claimed in the store (hs_store_replay_claim, renewed every
 * CLAIM_EVERY_MS for CLAIM_TTL_MS: with several nodes on one PostgreSQL a
 * job runs on one node at a time, docs/cluster.md) and, every tick, gives
 * each job as many events as its rate earned since the last tick (a token
 * bucket holding at most a tenth of a second's worth, so that a late tick
 * never sends a burst over the rate). A step (hs_store_replay_step) writes
 * those events' deliveries and the job's cursor in one transaction, so a
 * restart, even after kill -9, goes on from the cursor and enqueues no
 * event twice; the deliveries then go through the DeliveryScheduler like a
 * manual retry's (hs_scheduler_on_requeued), in their queue's order, each
 * tried once (src/delivery/shard.c: a replay's delivery is never retried).
 * Once every event is enqueued and none of the job's deliveries is pending
 * the step marks the job completed.
 *
 * Threads: every function on the server's loop (loop 0); the store calls
 * run on libuv's threadpool, one batch at a time.
 * Ownership: the runner borrows the store and the scheduler, which must
 * outlive it (stop it before them).
 */
#ifndef HS_DELIVERY_REPLAY_H
#define HS_DELIVERY_REPLAY_H

#include <uv.h>

#include "delivery/scheduler.h"
#include "store/replay.h"

typedef struct hs_replay_runner hs_replay_runner;

/* node: this server's node id in the store ("" or NULL: "local", one
 * server). Ticks start at once. */
int hs_replay_runner_start(uv_loop_t *loop, hs_store *s, hs_scheduler *sched, const char *node, hs_replay_runner **out,
                           hs_error *err);
/* A job was created or cancelled: claim at the next tick, not the next
 * renewal. NULL is ignored. */
void hs_replay_runner_poke(hs_replay_runner *r);
/* No more ticks; a batch under way finishes (its deliveries are in the
 * store and go out after a restart if the scheduler has stopped). The
 * runner frees itself once both are done; r must not be used after. */
void hs_replay_runner_stop(hs_replay_runner *r);

#endif
