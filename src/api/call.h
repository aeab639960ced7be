/* src/api/call.h — what a route handler sees (internal to api*.c and src/api/ingest.c).
 *
 * Worker handlers fill `status` and `body` (a JSON value sent as is) or call
 * hs_api_fail(); they run on the threadpool and must not touch the loop.
 */
#ifndef HS_API_CALL_H
#define HS_API_CALL_H

#include <jansson.h>

#include "api/api.h"
#include "base/error.h"
#include "http/query.h"

#define HS_API_MAX_PARAM 200

struct hs_api {
    hs_loops *loops;
    uv_loop_t *loop;  /* loop 0's */
    hs_mailbox *home; /* its mailbox */
    hs_store *store;
    hs_auth *auth;
    hs_scheduler *sched;
    struct hs_ws_hub *ws;
    struct hs_metrics *metrics;
    const hs_hooks *hooks;
    struct hs_frontdoor *frontdoor;  /* IP lists, rate limits (src/api/frontdoor.h) */
    struct hs_cluster *cluster;      /* several nodes (NULL: one server) */
    struct hs_replay_runner *replay; /* replay jobs (src/delivery/replay.h; NULL: none) */
    struct hs_ops *ops;              /* issues, channels, alert rules (src/ops/ops.h; NULL: none) */
    const char *public_url;          /* --public-url: where senders reach us (NULL: the Host) */
    bool deliver_only;               /* --role deliver: /health and /metrics only */
    /* loop 0: committed ingests published in commit order (src/api/ingest.c) */
    uint64_t ingest_next; /* the commit_no due next */
    hs_ingest **held;     /* a heap of those that came early */
    size_t nheld, held_cap;
};

/* Frees the ingests still held (at the end). */
void hs__api_ingest_free(hs_api *api);

typedef struct hs_api_call {
    hs_api *api;
    hs_http_req *req;                 /* read-only on the worker */
    hs_kind kind;                     /* for the resource routes */
    char param[HS_API_MAX_PARAM + 1]; /* the :id segment, decoded */
    hs_query query;
    int status;       /* HTTP status of the answer */
    json_t *body;     /* success body (stolen by the dispatcher) */
    hs_error err;     /* when status >= 400 */
    json_t *err_more; /* extra members for the error body ("code", "position") */
    /* Set by a worker handler that succeeded: runs on the loop thread before
     * the answer is sent (to fire a hook, src/core/hooks.h), with what the
     * handler left in after_* (freed by the dispatcher). */
    void (*after)(struct hs_api_call *c);
    json_t *after_doc;
    char after_id[HS_ID_MAX];
    hs_change after_change;
    hs_delivery *after_deliveries;
    size_t after_n;
    uint64_t after_principal; /* a revoked API key's (src/api/apikeys.c) */
} hs_api_call;

typedef void (*hs_api_fn)(hs_api_call *c);

/* Record an error answer from err (status from its code). */
void hs_api_fail(hs_api_call *c, const hs_error *err);
void hs_api_failf(hs_api_call *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Parse the request body as a JSON object (400 / 415 on failure). */
int hs_api_json_body(hs_api_call *c, json_t **out);
/* limit/cursor from the query string; cursor must be an id with prefix. */
int hs_api_page(hs_api_call *c, const char *id_prefix, hs_page *page);
/* {"<plural>": items(stolen), "cursor": last id or null, "has_more": bool} */
json_t *hs_api_list_body(const char *plural, json_t *items, bool has_more);

/* Send {"error","status","request_id"[,"field"]} for err on the loop thread. */
void hs_api_respond_error(hs_http_req *req, const hs_error *err);
/* The same for a status no hs_err code maps to (403, 429), with extra
 * headers (copied before it returns). */
void hs_api_respond_status(hs_http_req *req, int status, const char *msg, const hs_http_header *extra, size_t nextra);
/* The same with more members in the JSON error ({"reason": ...}). */
void hs_api_respond_more(hs_http_req *req, int status, const char *msg, const json_t *more);
/* The same with an Allow header (405). */
void hs_api_respond_not_allowed(hs_http_req *req, const char *allow);
void hs_api_respond_json(hs_http_req *req, int status, json_t *body /* stolen */);

/* Route handlers (the resource ones act on c->kind) */
void hs_api_resource_list(hs_api_call *c);
void hs_api_resource_create(hs_api_call *c);
void hs_api_resource_get(hs_api_call *c);
void hs_api_resource_patch(hs_api_call *c);
void hs_api_resource_delete(hs_api_call *c);
void hs_api_destination_rotate_secret(hs_api_call *c);
void hs_api_events_list(hs_api_call *c);
void hs_api_events_get(hs_api_call *c);
void hs_api_events_retry(hs_api_call *c);
void hs_api_transforms_test(hs_api_call *c);
void hs_api_templates_list(hs_api_call *c);
void hs_api_templates_get(hs_api_call *c);
void hs_api_source_templates_list(hs_api_call *c);
void hs_api_source_templates_get(hs_api_call *c);
void hs_api_attempts_list(hs_api_call *c);
void hs_api_attempts_get(hs_api_call *c);
void hs_api_attempts_retry(hs_api_call *c);
void hs_api_attempts_retry_bulk(hs_api_call *c);
void hs_api_replay_create(hs_api_call *c);
void hs_api_replay_list(hs_api_call *c);
void hs_api_replay_get(hs_api_call *c);
void hs_api_replay_cancel(hs_api_call *c);
void hs_api_apikeys_create(hs_api_call *c);
void hs_api_apikeys_list(hs_api_call *c);
void hs_api_apikeys_revoke(hs_api_call *c);
void hs_api_issues_list(hs_api_call *c);
void hs_api_issues_summary(hs_api_call *c);
void hs_api_issues_get(hs_api_call *c);
void hs_api_issues_patch(hs_api_call *c);
void hs_api_issues_retry(hs_api_call *c);
void hs_api_channels_create(hs_api_call *c);
void hs_api_channels_list(hs_api_call *c);
void hs_api_channels_get(hs_api_call *c);
void hs_api_channels_patch(hs_api_call *c);
void hs_api_channels_delete(hs_api_call *c);
void hs_api_rules_create(hs_api_call *c);
void hs_api_rules_list(hs_api_call *c);
void hs_api_rules_get(hs_api_call *c);
void hs_api_rules_patch(hs_api_call *c);
void hs_api_rules_delete(hs_api_call *c);
void hs_api_notifications_list(hs_api_call *c);
void hs_api_notifications_get(hs_api_call *c);

/* Routes answered on the loop thread (they read the scheduler's memory). */
void hs_api_circuit_get(hs_api *api, hs_http_req *req, const char *id);
void hs_api_circuit_reset(hs_api *api, hs_http_req *req, const char *id);
void hs_api_circuits_list(hs_api *api, hs_http_req *req, const char *id);
void hs_api_cluster_get(hs_api *api, hs_http_req *req, const char *id);
void hs_api_metrics(hs_api *api, hs_http_req *req, const char *id);
void hs_api_metrics_overview(hs_api *api, hs_http_req *req, const char *id);
/* the test notification is answered once sent (src/api/alerts.c) */
void hs_api_channels_test(hs_api *api, hs_http_req *req, const char *id);

/* Ingest runs on the loop the request arrived on (src/api/ingest.c). */
void hs_ingest_handle(hs_api *api, hs_http_req *req, const char *rest);

#endif
