/* test_metrics.c — counters, the latency histogram and its quantiles, the
 * Prometheus text and the overview's minute ring (src/observe/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "observe/metrics.h"

#define T0 1800000000000ull /* a minute boundary: 1800000000000 / 60000 = 30000000 */

static char *render(hs_metrics *m) {
    hs_buf b;
    hs_buf_init(&b, 1u << 20);
    assert_int_equal(hs_metrics_render(m, NULL, 0, NULL, &b), HS_OK);
    return hs_buf_detach(&b, NULL);
}

static void test_quantile(void **state) {
    (void)state;
    uint64_t c[HS_METRICS_LATENCY_BUCKETS + 1] = {0};
    assert_true(hs_metrics_quantile(c, 0.5) < 0); /* empty */
    /* 100 values in (2.5, 5] ms: every quantile falls in that bucket, interpolated */
    c[2] = 100;
    assert_float_equal(hs_metrics_quantile(c, 0.5), 3.75, 1e-9);
    assert_float_equal(hs_metrics_quantile(c, 0.99), 2.5 + 2.5 * 0.99, 1e-9);
    /* 90 in (0,1], 10 in (100,250]: p50 low, p95 in the upper bucket */
    memset(c, 0, sizeof c);
    c[0] = 90;
    c[7] = 10;
    assert_float_equal(hs_metrics_quantile(c, 0.5), 50.0 / 90.0, 1e-9);
    assert_float_equal(hs_metrics_quantile(c, 0.95), 100 + 150 * 0.5, 1e-9);
    /* beyond the last bound: the last finite bound */
    memset(c, 0, sizeof c);
    c[HS_METRICS_LATENCY_BUCKETS] = 3;
    assert_float_equal(hs_metrics_quantile(c, 0.5), hs_metrics_latency_le_ms[HS_METRICS_LATENCY_BUCKETS - 1], 1e-9);
}

static void test_render(void **state) {
    (void)state;
    hs_metrics *m = hs_metrics_new();
    hs_metrics_ingested(m, "src_a", T0);
    hs_metrics_ingested(m, "src_a", T0);
    hs_metrics_ingested(m, "src_b", T0);
    hs_metrics_attempt(m, "dst_x", HS_OUTCOME_SUCCESS, 3, T0);   /* (2.5, 5] ms */
    hs_metrics_attempt(m, "dst_x", HS_OUTCOME_SUCCESS, 700, T0); /* (500, 1000] */
    hs_metrics_attempt(m, "dst_x", HS_OUTCOME_FAILED, 0, T0);
    hs_metrics_attempt(m, "dst_y", HS_OUTCOME_DLQ, 0, T0);
    char *text = render(m);
    assert_non_null(strstr(text, "# TYPE hookstream_events_ingested_total counter\n"));
    assert_non_null(strstr(text, "hookstream_events_ingested_total{source_id=\"src_a\"} 2\n"));
    assert_non_null(strstr(text, "hookstream_events_ingested_total{source_id=\"src_b\"} 1\n"));
    assert_non_null(
        strstr(text, "hookstream_delivery_attempts_total{destination_id=\"dst_x\",outcome=\"success\"} 2\n"));
    assert_non_null(
        strstr(text, "hookstream_delivery_attempts_total{destination_id=\"dst_x\",outcome=\"failed\"} 1\n"));
    assert_non_null(strstr(text, "hookstream_delivery_attempts_total{destination_id=\"dst_y\",outcome=\"dlq\"} 1\n"));
    /* cumulative buckets in seconds, then sum and count */
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_bucket{le=\"0.0025\"} 0\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_bucket{le=\"0.5\"} 1\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_sum 0.703000\n"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_count 2\n"));
    hs_free(text);
    hs_metrics_free(m);
}

static void test_overview(void **state) {
    (void)state;
    hs_metrics *m = hs_metrics_new();
    for (int i = 0; i < 10; i++) hs_metrics_ingested(m, "src_a", T0 + 1000);
    for (int i = 0; i < 8; i++) hs_metrics_attempt(m, "dst_x", HS_OUTCOME_SUCCESS, 4, T0 + 2000);
    hs_metrics_attempt(m, "dst_x", HS_OUTCOME_FAILED, 0, T0 + 3000);
    hs_metrics_attempt(m, "dst_x", HS_OUTCOME_SUCCESS, 4, T0 + 60000 + 5); /* the next minute */
    json_t *o = hs_metrics_overview(m, 5, T0 + 60000 + 10);
    assert_int_equal(json_integer_value(json_object_get(o, "window_minutes")), 5);
    json_t *series = json_object_get(o, "series");
    assert_int_equal(json_array_size(series), 5);
    json_t *prev = json_array_get(series, 3), *last = json_array_get(series, 4);
    assert_int_equal(json_integer_value(json_object_get(prev, "ingested")), 10);
    assert_int_equal(json_integer_value(json_object_get(prev, "delivered")), 8);
    assert_int_equal(json_integer_value(json_object_get(prev, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(last, "delivered")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(series, 0), "ingested")), 0);
    assert_string_equal(json_string_value(json_object_get(last, "minute")), "2027-01-15T08:01:00.000Z");
    json_t *totals = json_object_get(o, "totals");
    assert_int_equal(json_integer_value(json_object_get(totals, "delivered")), 9);
    assert_float_equal(json_real_value(json_object_get(o, "success_rate")), 0.9, 1e-9);
    json_t *lat = json_object_get(o, "latency_ms");
    assert_true(json_real_value(json_object_get(lat, "p50")) > 2.5);
    assert_true(json_real_value(json_object_get(lat, "p99")) <= 5);
    json_decref(o);
    /* an hour later the ring has forgotten it all */
    o = hs_metrics_overview(m, 60, T0 + 2 * 3600000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "totals"), "ingested")), 0);
    assert_true(json_is_null(json_object_get(o, "success_rate")));
    assert_true(json_is_null(json_object_get(json_object_get(o, "latency_ms"), "p50")));
    json_decref(o);
    hs_metrics_free(m);
}

static uint64_t overview_total(hs_metrics *m, const char *name, uint64_t now_ms) {
    json_t *o = hs_metrics_overview(m, 60, now_ms);
    uint64_t v = (uint64_t)json_integer_value(json_object_get(json_object_get(o, "totals"), name));
    json_decref(o);
    return v;
}

/* A deleted source's or destination's series leave the exposition; the
 * others and the server-wide figures keep their values. */
static void test_forget(void **state) {
    (void)state;
    hs_metrics *m = hs_metrics_new();
    hs_metrics_ingested(m, "src_gone", T0);
    hs_metrics_ingested(m, "src_kept", T0);
    hs_metrics_ingested(m, "src_kept", T0);
    hs_metrics_attempt(m, "dst_gone", HS_OUTCOME_SUCCESS, 3, T0);
    hs_metrics_attempt(m, "dst_gone", HS_OUTCOME_DLQ, 0, T0);
    hs_metrics_attempt(m, "dst_kept", HS_OUTCOME_SUCCESS, 3, T0);
    hs_metrics_forget_source(m, "src_gone");
    hs_metrics_forget_destination(m, "dst_gone");
    /* forgetting what was never counted, or twice, is harmless */
    hs_metrics_forget_source(m, "src_never");
    hs_metrics_forget_destination(m, "dst_never");
    hs_metrics_forget_destination(m, "dst_gone");
    char *text = render(m);
    assert_null(strstr(text, "src_gone"));
    assert_null(strstr(text, "dst_gone"));
    assert_non_null(strstr(text, "hookstream_events_ingested_total{source_id=\"src_kept\"} 2\n"));
    assert_non_null(
        strstr(text, "hookstream_delivery_attempts_total{destination_id=\"dst_kept\",outcome=\"success\"} 1\n"));
    /* the latency histogram is server-wide: it keeps the deleted one's success */
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_count 2\n"));
    hs_free(text);
    /* so does the overview: what the server did in the last hour */
    assert_int_equal(overview_total(m, "ingested", T0 + 2), 3);
    assert_int_equal(overview_total(m, "delivered", T0 + 2), 2);
    assert_int_equal(overview_total(m, "failed", T0 + 2), 1);
    hs_metrics_free(m);
}

/* An attempt that was out when its destination was deleted is reported
 * without the destination's id: it does not bring the series back, and
 * still counts in the server-wide figures. (A deleted source's ingests are
 * all counted before it is forgotten: test_store's
 * test_run_completions.) */
static void test_forget_late_updates(void **state) {
    (void)state;
    hs_metrics *m = hs_metrics_new();
    hs_metrics_attempt(m, "dst_gone", HS_OUTCOME_SUCCESS, 3, T0);
    hs_metrics_forget_destination(m, "dst_gone");
    hs_metrics_attempt(m, NULL, HS_OUTCOME_SUCCESS, 3, T0 + 20);
    hs_metrics_attempt(m, NULL, HS_OUTCOME_FAILED, 0, T0 + 20);
    char *text = render(m);
    assert_null(strstr(text, "dst_gone"));
    assert_null(strstr(text, "hookstream_delivery_attempts_total{"));
    assert_null(strstr(text, "(null)"));
    assert_non_null(strstr(text, "hookstream_delivery_latency_seconds_count 2\n"));
    hs_free(text);
    assert_int_equal(overview_total(m, "delivered", T0 + 60000), 2);
    assert_int_equal(overview_total(m, "failed", T0 + 60000), 1);
    hs_metrics_free(m);
}

/* The hook subscribers (src/core/hooks.h) count what the hooks carry: an
 * ingest per source, an attempt's outcome from its record (a late one,
 * destination_removed, server-wide only), and a deletion forgets. */
static void test_subscribers(void **state) {
    (void)state;
    hs_metrics *m = hs_metrics_new();
    hs_ingest ing = {0};
    snprintf(ing.source_id, sizeof ing.source_id, "%s", "src_a");
    hs_metrics_on_ingest(&ing, m);
    hs_metrics_on_ingest(&ing, m);
    hs_attempt_rec a = {.created_at = T0};
    snprintf(a.destination_id, sizeof a.destination_id, "%s", "dst_x");
    hs_attempt_event e = {.a = &a, .latency_ms = 3};
    a.success = true;
    hs_metrics_on_attempt(&e, m);
    a.success = false;
    hs_metrics_on_attempt(&e, m);
    a.is_dlq = true;
    hs_metrics_on_attempt(&e, m);
    e.destination_removed = true; /* out when its destination was deleted */
    hs_metrics_on_attempt(&e, m);
    char *text = render(m);
    assert_non_null(strstr(text, "hookstream_events_ingested_total{source_id=\"src_a\"} 2\n"));
    static const char *const outcomes[] = {"success", "failed", "dlq"};
    for (int i = 0; i < 3; i++) {
        char line[160];
        snprintf(line, sizeof line, "{destination_id=\"dst_x\",outcome=\"%s\"} 1\n", outcomes[i]);
        assert_non_null(strstr(text, line));
    }
    hs_free(text);
    assert_int_equal(overview_total(m, "failed", T0 + 2), 3);
    /* written, not deleted: nothing is forgotten; then deleted */
    for (int change = HS_CHANGE_CREATED; change <= HS_CHANGE_DELETED; change++) {
        hs_resource_event r = {.kind = HS_KIND_SOURCE, .change = (hs_change)change, .id = "src_a"};
        hs_metrics_on_resource(&r, m);
        r.kind = HS_KIND_DESTINATION, r.id = "dst_x";
        hs_metrics_on_resource(&r, m);
        text = render(m);
        bool kept = change != HS_CHANGE_DELETED;
        assert_int_equal(strstr(text, "src_a") != NULL, kept);
        assert_int_equal(strstr(text, "dst_x") != NULL, kept);
        hs_free(text);
    }
    hs_metrics_free(m);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_overview),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_forget_late_updates),
        cmocka_unit_test(test_subscribers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
