/* bench/routing_cost.c — what routing costs per event, as hookstream pays it:
 * filter rules (ingest parses the body and headers once, then matches every
 * connection's rules) and a typical transform (run per delivery).
 *
 * usage: build/bench/routing_cost [events]      (default 200000)
 * prints µs per event. Compare with a delivery's cost in bench/deliver
 * (docs/performance.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "rules/filter.h"
#include "base/timeutil.h"
#include "rules/transform.h"

static const char BODY[] =
    "{\"id\":\"evt_1\",\"type\":\"order.created\",\"created\":1732660000,\"data\":{\"object\":{\"id\":\"ord_123\","
    "\"amount\":4999,\"currency\":\"usd\",\"customer\":\"cus_456\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":"
    "\"B-7\",\"qty\":1}],\"metadata\":{\"channel\":\"web\",\"campaign\":\"black-friday\"}}}}";
static const char HEADERS[] = "{\"host\":\"127.0.0.1:8080\",\"user-agent\":\"curl/7.88.1\",\"content-type\":"
                              "\"application/json\",\"x-shop\":\"berlin\",\"content-length\":\"257\"}";
static const char RULES[] =
    "[{\"field\":\"payload.type\",\"op\":\"eq\",\"value\":\"order.created\"},"
    "{\"any\":[{\"field\":\"payload.data.object.amount\",\"op\":\"gte\",\"value\":1000},"
    "{\"field\":\"payload.data.object.items.0.sku\",\"op\":\"in\",\"value\":[\"A-1\",\"C-3\"]}]},"
    "{\"field\":\"headers.x-shop\",\"op\":\"eq\",\"value\":\"berlin\"},"
    "{\"not\":{\"field\":\"method\",\"op\":\"eq\",\"value\":\"DELETE\"}}]";

static double us_per(uint64_t t0, long n) { return (double)(hs_monotonic_ns() - t0) / 1e3 / (double)n; }

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    if (n < 1) return 2;
    json_t *rules = json_loads(RULES, 0, NULL);
    hs_filter *f = NULL;
    hs_error err;
    if (!rules || hs_filter_compile(rules, "filter_rules", &f, &err) != HS_OK) {
        fprintf(stderr, "rules: %s\n", err.msg);
        return 1;
    }
    long matched = 0;
    uint64_t t0 = hs_monotonic_ns();
    for (long i = 0; i < n; i++) {
        json_t *p = json_loadb(BODY, sizeof BODY - 1, JSON_DECODE_ANY, NULL);
        json_t *h = json_loads(HEADERS, 0, NULL);
        matched += p && h;
        json_decref(p);
        json_decref(h);
    }
    double parse = us_per(t0, n);
    json_t *p = json_loadb(BODY, sizeof BODY - 1, JSON_DECODE_ANY, NULL);
    json_t *h = json_loads(HEADERS, 0, NULL);
    hs_filter_input in = {
        .payload = p, .headers = h, .method = "POST", .content_type = "application/json", .source_ip = "127.0.0.1"};
    t0 = hs_monotonic_ns();
    for (long i = 0; i < n; i++) matched += hs_filter_match(f, &in);
    double match1 = us_per(t0, n);
    t0 = hs_monotonic_ns();
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 10; k++) matched += hs_filter_match(f, &in);
    double match10 = us_per(t0, n);
    printf("filter rules (4 rules, 6 leaves, a 257-byte body), %ld events:\n", n);
    printf("  parse body + headers once per event: %.2f us/event\n", parse);
    printf("  match 1 connection's rules:          %.3f us/event\n", match1);
    printf("  match 10 connections' rules:         %.3f us/event\n", match10);
    /* a Slack-style message from an order webhook */
    static const char TF[] =
        "{\"text\": \"New order \" & data.object.id & \": \" & $string(data.object.amount / 100) & "
        "\" \" & $uppercase(data.object.currency) & \" (\" & $count(data.object.items) & \" items)\","
        "\"blocks\": [{\"type\": \"section\", \"fields\": data.object.items.{\"sku\": sku, \"qty\": qty}}],"
        "\"shop\": $headers.\"x-shop\", \"event\": $event_id}";
    hs_jsonata *tf = NULL;
    if (hs_transform_compile(TF, "transform", &tf, &err) != HS_OK) {
        fprintf(stderr, "transform: %s\n", err.msg);
        return 1;
    }
    long tn = n / 10 > 0 ? n / 10 : 1;
    hs_transform_vars vars = {.headers_json = HEADERS, .event_id = "evt_1", .source_id = "src_1"};
    t0 = hs_monotonic_ns();
    for (long i = 0; i < tn; i++) {
        char *out = NULL;
        if (hs_transform_run(tf, BODY, sizeof BODY - 1, &vars, &out, &err) == HS_OK) matched++;
        hs_free(out);
    }
    double tfus = us_per(t0, tn);
    printf("  a Slack-style transform (parse, evaluate, serialize), per delivery: %.2f us\n", tfus);
    printf("  (checksum %ld)\n", matched);
    hs_jsonata_free(tf);
    hs_filter_free(f);
    json_decref(rules);
    json_decref(p);
    json_decref(h);
    return 0;
}
