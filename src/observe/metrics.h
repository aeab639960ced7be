/* src/observe/metrics.h — what GET /metrics (Prometheus text format 0.0.4) and
 * GET /v1/metrics/overview report.
 *
 * Counted on the server's loop thread, where the hooks it subscribes to fire
 * (src/core/hooks.h: ingest, attempt_decided, refused, and resource for deletions,
 * which forget a resource's series), so the
 * per-source and per-destination maps need no locks; the store's commit
 * figures come from hs_store_get_stats and the per-destination gauges
 * (queue, in flight, circuit) from the scheduler's states, gathered by the
 * caller before render (hs_scheduler_states). A ring of
 * one-minute buckets over the last hour feeds the overview.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/hooks.h"
#include "store/store.h"

/* Upper bounds of the delivery latency buckets, in ms (+Inf implied). */
#define HS_METRICS_LATENCY_BUCKETS 16
extern const double hs_metrics_latency_le_ms[HS_METRICS_LATENCY_BUCKETS];

typedef enum { HS_OUTCOME_SUCCESS = 0, HS_OUTCOME_FAILED, HS_OUTCOME_DLQ, HS_OUTCOME_COUNT } hs_outcome;

typedef struct hs_metrics hs_metrics;

hs_metrics *hs_metrics_new(void);
void hs_metrics_free(hs_metrics *m);

/* An event stored for source_id (after its commit). */
void hs_metrics_ingested(hs_metrics *m, const char *source_id, uint64_t now_ms);
/* An ingest of source_id refused at the front door for reason
 * (hs_refusal_event.reason; an unknown reason is not counted). */
void hs_metrics_refused(hs_metrics *m, const char *source_id, const char *reason);
/* An attempt recorded for destination_id; latency_ms: from the event's
 * arrival to this attempt's answer (successes feed the histogram).
 * destination_id NULL: the destination was deleted while the attempt was
 * out; it counts in the server-wide figures only. */
void hs_metrics_attempt(hs_metrics *m, const char *destination_id, hs_outcome outcome, uint64_t latency_ms,
                        uint64_t now_ms);

/* The source was deleted: its series leave the exposition and its memory
 * is freed. The overview (server-wide) keeps what it did. The resource
 * hook promises that every ingest of the source committed before the
 * delete has then been counted, and no later one can commit. */
void hs_metrics_forget_source(hs_metrics *m, const char *source_id);
/* The destination was deleted: its series leave the exposition; the
 * latency histogram and the overview keep its past attempts. The
 * scheduler, before the metrics on the resource hook, has marked it
 * removed: its late attempts (sent before the delete) come with
 * destination_removed and count server-wide only. */
void hs_metrics_forget_destination(hs_metrics *m, const char *destination_id);

/* Hook subscribers (src/core/hooks.h); ud is the hs_metrics. The resource
 * one acts on deletions of sources and destinations (the forgets above). */
void hs_metrics_on_ingest(hs_ingest *ing, void *ud);
void hs_metrics_on_attempt(const hs_attempt_event *e, void *ud);
void hs_metrics_on_resource(const hs_resource_event *e, void *ud);
void hs_metrics_on_refused(const hs_refusal_event *e, void *ud);

/* The Prometheus exposition into out, the destinations' gauges from
 * dests[0..ndests) (NULL: none, no scheduler). st may be NULL. */
int hs_metrics_render(const hs_metrics *m, const hs_dest_status *dests, size_t ndests, hs_store *st, hs_buf *out);
/* {"window_minutes", "series": [{"minute","ingested","delivered","failed"}],
 *  "totals": {...}, "success_rate", "latency_ms": {"p50","p95","p99"}} over the last `minutes` (1..60). */
json_t *hs_metrics_overview(const hs_metrics *m, int minutes, uint64_t now_ms);

/* The q-quantile (0..1) of a bucketed histogram (counts per bucket, the
 * last one +Inf), interpolated linearly inside the bucket; -1 when empty. */
double hs_metrics_quantile(const uint64_t *counts, double q);

#endif
