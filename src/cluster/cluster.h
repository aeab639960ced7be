/* src/cluster/cluster.h — several hookstream servers on one database: this
 * node's membership, the leases of the destinations it delivers, and what
 * it hears from the other nodes (docs/cluster.md).
 *
 * Each destination is delivered by one node at a time: the holder of its
 * lease (store.h "several nodes": owner, epoch, expiry in the database's
 * clock). A thread of the cluster's own, on a database connection of its
 * own, every renew_ms: says this node is alive, renews its leases, spreads
 * the leases evenly over the nodes that deliver (claims its share of the
 * free and expired ones, gives back what it holds beyond its share, after
 * the attempts in flight have been recorded), and between those listens to
 * the change feed (deliveries another node committed for a destination
 * this node holds; requeues; resources written elsewhere), with the queue
 * counts read every poll_ms as the backstop for a lost message.
 *
 * A node that cannot renew stops delivering before its leases can expire:
 * the server's loop checks, every 100 ms, the moment its last renewal
 * (measured from before it was sent) plus lease_ms minus a margin has
 * passed, and then drops every lease (transfers cancelled, nothing
 * recorded), even if the cluster's thread is stuck in a call. Every write
 * the scheduler makes carries the lease's epoch; the store refuses it
 * once the lease has moved. So no delivery is sent by two nodes at once.
 *
 * Live feed: while some other node has /v1/ws clients, this node's hub
 * hands every message it broadcasts to the thread, which relays them in
 * batches (every 50 ms at most) on the feed's live channel; the other
 * nodes' threads hand them to their hubs. Best effort: a batch is not
 * retried, at most RELAY_MAX messages wait (more are dropped and
 * counted in the log), and a message over NOTIFY's 8000 bytes stays local.
 *
 * Threads: start, stop, json on the server's loop (loop 0); the thread
 * talks to the scheduler and the hooks only through loop 0's mailbox.
 */
#ifndef HS_CLUSTER_H
#define HS_CLUSTER_H

#include <jansson.h>
#include <uv.h>

#include "core/hooks.h"
#include "delivery/scheduler.h"
#include "store/store.h"
#include "ws/ws.h"

typedef struct hs_cluster hs_cluster;

#define HS_CLUSTER_LEASE_MS 5000 /* a lease lasts this long unless renewed */
#define HS_CLUSTER_RENEW_MS 1000 /* heartbeat and renewal period */
#define HS_CLUSTER_POLL_MS 5000  /* queue counts read as the backstop of the change feed */

typedef struct hs_cluster_config {
    const char *node_id;                  /* [A-Za-z0-9._:-], at most HS_NODE_ID_MAX - 1 */
    const char *listen;                   /* host:port, shown in GET /v1/cluster */
    const char *role;                     /* all | api | deliver: api nodes hold no lease */
    uint64_t lease_ms, renew_ms, poll_ms; /* 0: the defaults above */
    /* another node created or revoked an API key: called on loop 0, e.g.
     * to read the key set again */
    void (*keys_changed)(void *ud);
    void *keys_ud;
    /* the live feed's hub (/v1/ws), or NULL: its messages are relayed to
     * the other nodes' clients and theirs to its, while anyone watches */
    hs_ws_hub *hub;
} hs_cluster_config;

/* Is id usable as a node id? */
bool hs_cluster_node_id_valid(const char *id);

/* Start on loop (the server's loop: mailbox mb is its mailbox); sc gets
 * the leases (built with cfg.clustered), hooks the resources written by
 * other nodes. Nothing is delivered before the first claim. */
int hs_cluster_start(uv_loop_t *loop, hs_mailbox *mb, hs_store *s, hs_scheduler *sc, const hs_hooks *hooks,
                     const hs_cluster_config *cfg, hs_cluster **out, hs_error *err);
/* Stop: leases are given back (the others take them at once, not after
 * their expiry) once the scheduler has stopped; then done. Loop 0. */
void hs_cluster_stop(hs_cluster *c, void (*done)(void *ud), void *ud);
void hs_cluster_free(hs_cluster *c);
/* GET /v1/cluster (docs/api.md), from the last heartbeat's view. */
json_t *hs_cluster_json(hs_cluster *c);
const char *hs_cluster_node(const hs_cluster *c);
/* The resource hook (src/core/hooks.h; after the scheduler's): a
 * destination created on this node was leased to it by the store (epoch
 * 1, hs_store_set_create_lease): it is delivered from now on. */
void hs_cluster_on_resource(const hs_resource_event *e, void *ud);
/* Does this node hold destination_id's lease? Loop 0. */
bool hs_cluster_owns(hs_cluster *c, const char *destination_id);

#endif
