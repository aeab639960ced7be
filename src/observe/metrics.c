/* src/observe/metrics.c — counters, histograms and their two renderings (src/observe/metrics.h). */
#include "observe/metrics.h"

#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/idmap.h"
#include "base/json_text.h"
#include "base/timeutil.h"

#define RING_MINUTES 60

const double hs_metrics_latency_le_ms[HS_METRICS_LATENCY_BUCKETS] = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 60000, 300000, 3600000};

/* Why the front door refused an ingest (hs_refusal_event.reason). */
static const char *const refusal_reasons[] = {
    "ip_denied",           "ip_not_allowed",  "rate_limited",       "signature_missing",
    "signature_malformed", "timestamp_stale", "signature_mismatch", "schema_invalid",
};
#define NREASONS (sizeof refusal_reasons / sizeof refusal_reasons[0])

typedef struct per_source {
    char id[HS_ID_MAX];
    uint64_t events;
    uint64_t refused[NREASONS];
    uint64_t duplicates;     /* events stored as duplicates (dedup_status) */
    uint64_t schema_invalid; /* events stored in warn mode though invalid */
} per_source;

typedef struct per_dest {
    char id[HS_ID_MAX];
    uint64_t attempts[HS_OUTCOME_COUNT];
} per_dest;

/* One minute of activity. */
typedef struct minute {
    uint64_t minute; /* minutes since the epoch; 0: unused */
    uint64_t ingested, delivered, failed;
    uint64_t latency[HS_METRICS_LATENCY_BUCKETS + 1];
} minute;

struct hs_metrics {
    hs_idmap sources, dests;
    uint64_t latency[HS_METRICS_LATENCY_BUCKETS + 1]; /* successful deliveries, since start */
    uint64_t latency_sum_ms;
    /* accepted ingests: their request's arrival to their commit */
    uint64_t ingest_commit[HS_STORE_HIST_BUCKETS + 1];
    uint64_t ingest_commit_ns;
    minute ring[RING_MINUTES];
};

hs_metrics *hs_metrics_new(void) { return hs_calloc(1, sizeof(hs_metrics)); }

static void free_value(void *value, void *ud) {
    (void)ud;
    hs_free(value);
}

void hs_metrics_free(hs_metrics *m) {
    if (!m) return;
    hs_idmap_each(&m->sources, free_value, NULL);
    hs_idmap_each(&m->dests, free_value, NULL);
    hs_idmap_free(&m->sources);
    hs_idmap_free(&m->dests);
    hs_free(m);
}

/* The bucket for now, emptied when it last held another minute. */
static minute *this_minute(hs_metrics *m, uint64_t now_ms) {
    uint64_t t = now_ms / 60000;
    minute *b = &m->ring[t % RING_MINUTES];
    if (b->minute != t) {
        memset(b, 0, sizeof *b);
        b->minute = t;
    }
    return b;
}

static size_t latency_bucket(uint64_t ms) {
    size_t i = 0;
    while (i < HS_METRICS_LATENCY_BUCKETS && (double)ms > hs_metrics_latency_le_ms[i]) i++;
    return i;
}

static per_source *source_of(hs_metrics *m, const char *source_id) {
    per_source *s = hs_idmap_get(&m->sources, source_id);
    if (!s) {
        s = hs_calloc(1, sizeof *s);
        hs_id_copy(s->id, source_id);
        hs_idmap_put(&m->sources, s->id, s);
    }
    return s;
}

void hs_metrics_ingested(hs_metrics *m, const char *source_id, uint64_t now_ms) {
    source_of(m, source_id)->events++;
    this_minute(m, now_ms)->ingested++;
}

void hs_metrics_refused(hs_metrics *m, const char *source_id, const char *reason) {
    for (size_t i = 0; i < NREASONS; i++)
        if (reason && strcmp(refusal_reasons[i], reason) == 0) source_of(m, source_id)->refused[i]++;
}

void hs_metrics_attempt(hs_metrics *m, const char *destination_id, hs_outcome outcome, uint64_t latency_ms,
                        uint64_t now_ms) {
    per_dest *d = destination_id ? hs_idmap_get(&m->dests, destination_id) : NULL;
    if (!d && destination_id) {
        d = hs_calloc(1, sizeof *d);
        hs_id_copy(d->id, destination_id);
        hs_idmap_put(&m->dests, d->id, d);
    }
    if (d) d->attempts[outcome]++;
    minute *b = this_minute(m, now_ms);
    if (outcome != HS_OUTCOME_SUCCESS) {
        b->failed++;
        return;
    }
    size_t i = latency_bucket(latency_ms);
    b->delivered++;
    b->latency[i]++;
    m->latency[i]++;
    m->latency_sum_ms += latency_ms;
}

/* ---- deleted resources ---- */

void hs_metrics_forget_source(hs_metrics *m, const char *source_id) {
    /* nothing to remember: the resource hook fires after the store's
     * completions, so every ingest of it committed before the delete is
     * counted already */
    hs_free(hs_idmap_del(&m->sources, source_id));
}

void hs_metrics_forget_destination(hs_metrics *m, const char *destination_id) {
    /* nothing to remember: the scheduler marks the destination removed
     * before this, and reports its late attempts as destination_removed */
    hs_free(hs_idmap_del(&m->dests, destination_id));
}

/* ---- hook subscribers ---- */

void hs_metrics_on_ingest(hs_ingest *ing, void *ud) {
    hs_metrics *m = ud;
    hs_metrics_ingested(m, ing->source_id, hs_now_ms());
    if (ing->arrived_ns && ing->committed_ns >= ing->arrived_ns) {
        uint64_t ns = ing->committed_ns - ing->arrived_ns;
        m->ingest_commit[hs_store_hist_bucket(hs_store_commit_le_us, ns / 1000)]++;
        m->ingest_commit_ns += ns;
    }
    bool invalid = ing->verification_status && strcmp(ing->verification_status, "schema_invalid") == 0;
    if (!ing->duplicate && !invalid) return;
    per_source *s = source_of(m, ing->source_id);
    s->duplicates += ing->duplicate;
    s->schema_invalid += invalid;
}

void hs_metrics_on_attempt(const hs_attempt_event *e, void *ud) {
    const hs_attempt_rec *a = e->a;
    hs_outcome o = a->success ? HS_OUTCOME_SUCCESS : a->is_dlq ? HS_OUTCOME_DLQ : HS_OUTCOME_FAILED;
    hs_metrics_attempt(ud, e->destination_removed ? NULL : a->destination_id, o, e->latency_ms, a->created_at);
}

void hs_metrics_on_refused(const hs_refusal_event *e, void *ud) { hs_metrics_refused(ud, e->source_id, e->reason); }

void hs_metrics_on_resource(const hs_resource_event *e, void *ud) {
    if (e->change != HS_CHANGE_DELETED) return;
    if (e->kind == HS_KIND_SOURCE) hs_metrics_forget_source(ud, e->id);
    if (e->kind == HS_KIND_DESTINATION) hs_metrics_forget_destination(ud, e->id);
}

double hs_metrics_quantile(const uint64_t *counts, double q) {
    uint64_t total = 0;
    for (size_t i = 0; i <= HS_METRICS_LATENCY_BUCKETS; i++) total += counts[i];
    if (total == 0) return -1;
    double rank = q * (double)total, seen = 0;
    for (size_t i = 0; i <= HS_METRICS_LATENCY_BUCKETS; i++) {
        if (counts[i] == 0 || seen + (double)counts[i] < rank) {
            seen += (double)counts[i];
            continue;
        }
        double lo = i ? hs_metrics_latency_le_ms[i - 1] : 0;
        if (i == HS_METRICS_LATENCY_BUCKETS) return lo; /* +Inf: the last finite bound */
        double hi = hs_metrics_latency_le_ms[i];
        return lo + (hi - lo) * ((rank - seen) / (double)counts[i]);
    }
    return hs_metrics_latency_le_ms[HS_METRICS_LATENCY_BUCKETS - 1];
}

/* ---- Prometheus text format ---- */

static const char *const outcome_names[HS_OUTCOME_COUNT] = {"success", "failed", "dlq"};

static void emit_source(void *value, void *ud) {
    const per_source *s = value;
    hs_buf_appendf(ud, "hookstream_events_ingested_total{source_id=\"%s\"} %llu\n", s->id,
                   (unsigned long long)s->events);
}

static void emit_duplicates(void *value, void *ud) {
    const per_source *s = value;
    hs_buf_appendf(ud, "hookstream_ingest_duplicates_total{source_id=\"%s\"} %llu\n", s->id,
                   (unsigned long long)s->duplicates);
}

static void emit_schema_invalid(void *value, void *ud) {
    const per_source *s = value;
    if (s->schema_invalid)
        hs_buf_appendf(ud, "hookstream_ingest_schema_invalid_total{source_id=\"%s\"} %llu\n", s->id,
                       (unsigned long long)s->schema_invalid);
}

static void emit_refused(void *value, void *ud) {
    const per_source *s = value;
    for (size_t i = 0; i < NREASONS; i++)
        if (s->refused[i])
            hs_buf_appendf(ud, "hookstream_ingest_refused_total{source_id=\"%s\",reason=\"%s\"} %llu\n", s->id,
                           refusal_reasons[i], (unsigned long long)s->refused[i]);
}

static void emit_dest(void *value, void *ud) {
    const per_dest *d = value;
    for (int o = 0; o < HS_OUTCOME_COUNT; o++)
        hs_buf_appendf(ud, "hookstream_delivery_attempts_total{destination_id=\"%s\",outcome=\"%s\"} %llu\n", d->id,
                       outcome_names[o], (unsigned long long)d->attempts[o]);
}

static const char *const circuit_states[] = {"closed", "open", "half_open"};

static void header(hs_buf *out, const char *name, const char *type, const char *help) {
    hs_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A histogram from per-bucket counts (the last +Inf): cumulative buckets. */
static void histogram(hs_buf *out, const char *name, const uint64_t *counts, size_t nb, const char *const *le,
                      double sum) {
    uint64_t cum = 0;
    for (size_t i = 0; i <= nb; i++) {
        cum += counts[i];
        hs_buf_appendf(out, "%s_bucket{le=\"%s\"} %llu\n", name, i < nb ? le[i] : "+Inf", (unsigned long long)cum);
    }
    hs_buf_appendf(out, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, (unsigned long long)cum);
}

/* The store's time buckets (hs_store_commit_le_us), in seconds. */
typedef struct store_les {
    char text[HS_STORE_HIST_BUCKETS][24];
    const char *le[HS_STORE_HIST_BUCKETS];
} store_les;

static void store_seconds(store_les *l) {
    for (size_t i = 0; i < HS_STORE_HIST_BUCKETS; i++) {
        snprintf(l->text[i], sizeof l->text[i], "%g", (double)hs_store_commit_le_us[i] / 1e6);
        l->le[i] = l->text[i];
    }
}

static void render_store(hs_store *st, hs_buf *out) {
    hs_store_stats s;
    hs_store_get_stats(st, &s);
    store_les secs;
    store_seconds(&secs);
    header(out, "hookstream_store_commit_seconds", "histogram", "Time spent in COMMIT (the fsync) per group.");
    histogram(out, "hookstream_store_commit_seconds", s.commit_us_hist, HS_STORE_HIST_BUCKETS, secs.le,
              (double)s.commit_ns_total / 1e9);
    header(out, "hookstream_store_queue_wait_seconds", "histogram",
           "Time each write waited for the writer thread, from its submission to the start of its group.");
    histogram(out, "hookstream_store_queue_wait_seconds", s.wait_us_hist, HS_STORE_HIST_BUCKETS, secs.le,
              (double)s.wait_ns_total / 1e9);
    char les[HS_STORE_HIST_BUCKETS][24];
    const char *le[HS_STORE_HIST_BUCKETS];
    header(out, "hookstream_store_batch_size", "histogram", "Requests committed per transaction.");
    for (size_t i = 0; i < HS_STORE_HIST_BUCKETS; i++) {
        snprintf(les[i], sizeof les[i], "%llu", (unsigned long long)hs_store_batch_le[i]);
        le[i] = les[i];
    }
    histogram(out, "hookstream_store_batch_size", s.batch_hist, HS_STORE_HIST_BUCKETS, le, (double)s.batch_total);
    header(out, "hookstream_store_commit_failures_total", "counter", "Groups whose transaction failed.");
    hs_buf_appendf(out, "hookstream_store_commit_failures_total %llu\n", (unsigned long long)s.commit_failures);
    header(out, "hookstream_store_queue_depth", "gauge", "Requests waiting for the writer thread.");
    hs_buf_appendf(out, "hookstream_store_queue_depth %llu\n", (unsigned long long)s.queue_depth);
    header(out, "hookstream_retention_deleted_total", "counter", "Rows deleted by retention (--retention).");
    hs_buf_appendf(out,
                   "hookstream_retention_deleted_total{what=\"events\"} %llu\n"
                   "hookstream_retention_deleted_total{what=\"deliveries\"} %llu\n"
                   "hookstream_retention_deleted_total{what=\"attempts\"} %llu\n",
                   (unsigned long long)s.swept_events, (unsigned long long)s.swept_deliveries,
                   (unsigned long long)s.swept_attempts);
    header(out, "hookstream_retention_pages_freed_total", "counter",
           "Database pages retention gave back to the file system.");
    hs_buf_appendf(out, "hookstream_retention_pages_freed_total %llu\n", (unsigned long long)s.swept_pages);
}

int hs_metrics_render(const hs_metrics *m, const hs_dest_status *dests, size_t ndests, hs_store *st, hs_buf *out) {
    header(out, "hookstream_events_ingested_total", "counter", "Events stored, by source.");
    hs_idmap_each(&m->sources, emit_source, out);
    header(out, "hookstream_ingest_duplicates_total", "counter",
           "Events stored as duplicates of an earlier one (deduplication: delivered nowhere), by source.");
    hs_idmap_each(&m->sources, emit_duplicates, out);
    header(out, "hookstream_ingest_schema_invalid_total", "counter",
           "Events stored though their body failed the source's JSON Schema (schema_action warn), by source.");
    hs_idmap_each(&m->sources, emit_schema_invalid, out);
    header(out, "hookstream_ingest_refused_total", "counter",
           "Ingests refused at the front door, by source and reason (IP lists, rate limit, signature, schema).");
    hs_idmap_each(&m->sources, emit_refused, out);
    header(out, "hookstream_delivery_attempts_total", "counter",
           "Delivery attempts recorded, by destination and outcome (success, failed and retried later, dlq).");
    hs_idmap_each(&m->dests, emit_dest, out);
    char les[HS_METRICS_LATENCY_BUCKETS][24];
    const char *le[HS_METRICS_LATENCY_BUCKETS];
    for (size_t i = 0; i < HS_METRICS_LATENCY_BUCKETS; i++) {
        snprintf(les[i], sizeof les[i], "%g", hs_metrics_latency_le_ms[i] / 1000);
        le[i] = les[i];
    }
    header(out, "hookstream_delivery_latency_seconds", "histogram",
           "From an event's arrival to the answer of its successful delivery.");
    histogram(out, "hookstream_delivery_latency_seconds", m->latency, HS_METRICS_LATENCY_BUCKETS, le,
              (double)m->latency_sum_ms / 1000);
    store_les secs;
    store_seconds(&secs);
    header(out, "hookstream_ingest_commit_seconds", "histogram",
           "From an accepted ingest's request to its commit (durable): the wait for the writer, its group, the "
           "fsync.");
    histogram(out, "hookstream_ingest_commit_seconds", m->ingest_commit, HS_STORE_HIST_BUCKETS, secs.le,
              (double)m->ingest_commit_ns / 1e9);
    /* each family's samples together (the text format's rule) */
    if (dests) {
        header(out, "hookstream_destination_queue_depth", "gauge", "Deliveries waiting, by destination.");
        for (size_t i = 0; i < ndests; i++)
            hs_buf_appendf(out, "hookstream_destination_queue_depth{destination_id=\"%s\",type=\"%s\"} %zu\n",
                           dests[i].id, dests[i].type, dests[i].queued);
        header(out, "hookstream_destination_in_flight", "gauge", "Deliveries being sent, by destination.");
        for (size_t i = 0; i < ndests; i++)
            hs_buf_appendf(out, "hookstream_destination_in_flight{destination_id=\"%s\"} %d\n", dests[i].id,
                           dests[i].in_flight);
        header(out, "hookstream_destination_read_back_total", "counter",
               "Deliveries read back from the store into the scheduler's window rather than taken from their ingest "
               "(a backlog past the window, retries, a restart), by destination. Flat under steady load.");
        for (size_t i = 0; i < ndests; i++)
            hs_buf_appendf(out, "hookstream_destination_read_back_total{destination_id=\"%s\"} %llu\n", dests[i].id,
                           (unsigned long long)dests[i].read_back);
        header(out, "hookstream_circuit_state", "gauge", "1 for the destination's current circuit state.");
        for (size_t i = 0; i < ndests; i++)
            for (size_t k = 0; k < sizeof circuit_states / sizeof circuit_states[0]; k++)
                hs_buf_appendf(out, "hookstream_circuit_state{destination_id=\"%s\",state=\"%s\"} %d\n", dests[i].id,
                               circuit_states[k], strcmp(dests[i].circuit, circuit_states[k]) == 0);
    }
    if (st) render_store(st, out);
    return out->len < out->max ? HS_OK : HS_ERR_TOOBIG;
}

/* ---- the dashboard's overview ---- */

json_t *hs_metrics_overview(const hs_metrics *m, int minutes, uint64_t now_ms) {
    if (minutes < 1) minutes = 1;
    if (minutes > RING_MINUTES) minutes = RING_MINUTES;
    uint64_t now_min = now_ms / 60000, hist[HS_METRICS_LATENCY_BUCKETS + 1] = {0};
    uint64_t ingested = 0, delivered = 0, failed = 0;
    json_t *series = json_array();
    for (int k = minutes - 1; k >= 0; k--) {
        uint64_t t = now_min - (uint64_t)k;
        const minute *b = &m->ring[t % RING_MINUTES];
        bool live = b->minute == t;
        uint64_t in = live ? b->ingested : 0, ok = live ? b->delivered : 0, bad = live ? b->failed : 0;
        json_array_append_new(series,
                              json_pack("{s:o, s:I, s:I, s:I}", "minute", hs_json_time(t * 60000), "ingested",
                                        (json_int_t)in, "delivered", (json_int_t)ok, "failed", (json_int_t)bad));
        ingested += in, delivered += ok, failed += bad;
        for (size_t i = 0; live && i <= HS_METRICS_LATENCY_BUCKETS; i++) hist[i] += b->latency[i];
    }
    json_t *lat = json_object();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}};
    for (size_t i = 0; i < 3; i++) {
        double v = hs_metrics_quantile(hist, qs[i].q);
        json_object_set_new(lat, qs[i].name, v < 0 ? json_null() : json_real(v));
    }
    uint64_t attempts = delivered + failed;
    return json_pack("{s:i, s:o, s:{s:I, s:I, s:I}, s:o, s:o}", "window_minutes", minutes, "series", series, "totals",
                     "ingested", (json_int_t)ingested, "delivered", (json_int_t)delivered, "failed", (json_int_t)failed,
                     "success_rate", attempts ? json_real((double)delivered / (double)attempts) : json_null(),
                     "latency_ms", lat);
}
