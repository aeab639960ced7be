/* src/api/api.h — the REST API under /v1 (docs/api.md), plus /health.
 *
 * hs_api_handle is the HTTP server's handler. It routes on the loop thread:
 * /health and ingest are answered from the loop (ingest asynchronously, after
 * its commit); every other route checks the API key on the loop, then runs
 * its handler on libuv's threadpool, where store calls may block, and the
 * answer is sent back on the loop.
 *
 * Several loops (src/base/loops.h): every loop's HTTP server calls
 * hs_api_handle. /health and ingest are answered on the loop the request
 * arrived on; any other request is handed to the server's loop (loop 0)
 * and handled there as above, its answer going back to its connection's
 * loop (src/http/server.h).
 *
 * What the other modules must learn of (an ingest committed, a resource
 * written or deleted, deliveries requeued by a manual retry) the API
 * publishes on a hook (src/core/hooks.h), on loop 0's thread (an ingest
 * committed on another loop is posted there first), and calls none of
 * them: the scheduler, the metrics and the live feed subscribe.
 */
#ifndef HS_API_H
#define HS_API_H

#include <uv.h>

#include "api/auth.h"
#include "base/loops.h"
#include "core/hooks.h"
#include "http/server.h"
#include "delivery/scheduler.h"
#include "store/store.h"

typedef struct hs_api hs_api;
struct hs_cluster;
struct hs_replay_runner;

typedef struct hs_api_deps {
    hs_loops *loops;                /* borrowed; loop 0 is the API's */
    hs_store *store;                /* borrowed */
    hs_auth *auth;                  /* borrowed */
    hs_scheduler *sched;            /* borrowed */
    struct hs_ws_hub *ws;           /* borrowed; GET /v1/ws */
    struct hs_metrics *metrics;     /* borrowed; GET /metrics */
    const hs_hooks *hooks;          /* borrowed; where the API publishes */
    struct hs_frontdoor *frontdoor; /* borrowed; ingest's IP lists and rate limits (NULL: none) */
    struct hs_ops *ops;             /* borrowed; issues, channels, alert rules (NULL: none) */
    const char *public_url;         /* borrowed; --public-url (NULL: from each request's Host) */
} hs_api_deps;

hs_api *hs_api_new(const hs_api_deps *deps);
/* Several nodes: GET /v1/cluster answers from c, circuits name their
 * owner; with deliver_only (--role deliver) only /health and /metrics are
 * served. Loop 0, before serving or at once after. */
void hs_api_set_cluster(hs_api *api, struct hs_cluster *c, bool deliver_only);
/* The replay runner to tell of new and cancelled jobs (NULL: none). Loop
 * 0, before serving. */
void hs_api_set_replay(hs_api *api, struct hs_replay_runner *r);
void hs_api_free(hs_api *api);
void hs_api_handle(hs_http_req *req, void *ud);

/* The API keys changed elsewhere (another node, the CLI): on the
 * threadpool, write the uses this server remembers and read the key set
 * again (src/api/auth.h hs_auth_reload); then, on the loop, close the
 * WebSocket clients of the keys gone. Loop 0's thread. The router calls it
 * itself every HS_AUTH_SYNC_MS (when a request comes); a change feed
 * between nodes calls it when told. */
void hs_api_keys_changed(hs_api *api);

#endif
