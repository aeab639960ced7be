/* src/api/metrics.c — GET /metrics (Prometheus text format 0.0.4) and
 * GET /v1/metrics/overview (the dashboard's summary). Both on the loop
 * thread, where the counters live (src/observe/metrics.h). Both need the API key, like
 * every route but /health and ingest: Prometheus sends it with
 * `authorization: {credentials: <key>}` (bearer). */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "http/server.h"
#include "observe/metrics.h"
#include "http/query.h"
#include "base/timeutil.h"

#define METRICS_MAX (8u << 20) /* a cap on the exposition: ~20k series */

typedef struct render {
    hs_api *api;
    hs_http_req *req;
} render;

static void respond(hs_api *api, hs_http_req *req, const hs_dest_status *dests, size_t ndests) {
    hs_buf b;
    hs_buf_init(&b, METRICS_MAX);
    int rc = api->metrics ? hs_metrics_render(api->metrics, dests, ndests, api->store, &b) : HS_OK;
    if (rc != HS_OK) {
        hs_buf_free(&b);
        hs_error e;
        hs_error_clear(&e);
        hs_error_set(&e, HS_ERR_INTERNAL, "", "%s", "the metrics exposition is over its size cap");
        return hs_api_respond_error(req, &e);
    }
    hs_http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "", b.len, NULL, 0);
    hs_buf_free(&b);
}

static void got_states(const hs_dest_status *st, size_t n, void *ud) {
    render *r = ud;
    static const hs_dest_status none;
    respond(r->api, r->req, n ? st : &none, n); /* not NULL: a scheduler with no destination */
    hs_free(r);
}

/* The destinations' gauges come from the threads that own them: gathered
 * first. */
void hs_api_metrics(hs_api *api, hs_http_req *req, const char *id) {
    (void)id;
    if (!api->sched) return respond(api, req, NULL, 0);
    render *r = hs_malloc(sizeof *r);
    r->api = api;
    r->req = req;
    hs_scheduler_states(api->sched, got_states, r);
}

void hs_api_metrics_overview(hs_api *api, hs_http_req *req, const char *id) {
    (void)id;
    hs_query q;
    hs_error e;
    hs_error_clear(&e);
    static const char *const allowed[] = {"minutes", NULL};
    int rc = hs_query_parse(req->query, &q, &e);
    if (rc == HS_OK) rc = hs_query_only(&q, allowed, &e);
    const char *m = rc == HS_OK ? hs_query_get(&q, "minutes") : NULL;
    char *end = NULL;
    long minutes = m ? strtol(m, &end, 10) : 60;
    if (rc == HS_OK && m && (end == m || *end || minutes < 1 || minutes > 60))
        rc = hs_error_set(&e, HS_ERR_INVALID, "minutes", "must be an integer from 1 to 60");
    hs_query_free(&q);
    if (rc != HS_OK) return hs_api_respond_error(req, &e);
    if (!api->metrics) {
        hs_error_set(&e, HS_ERR_UNSUPPORTED, "", "%s", "metrics are not kept by this server");
        return hs_api_respond_error(req, &e);
    }
    hs_api_respond_json(req, 200, hs_metrics_overview(api->metrics, (int)minutes, hs_now_ms()));
}
