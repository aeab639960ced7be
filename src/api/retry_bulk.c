/* src/api/retry_bulk.c — POST /v1/delivery-attempts/retry (docs/api.md
 * "Bulk retry"): every dead letter matching the filters goes back to
 * pending through the manual retry's path (src/store/retry.c), at most
 * `limit` (default HS_BULK_RETRY_DEFAULT, at most HS_BULK_RETRY_MAX) per
 * call, in one write; the answer says how many and
 * whether more remain. At least one filter is required, so that nobody
 * retries every dead letter by mistake. Filters come from the query string
 * or a JSON object body (the same names). Worker handler; the requeued
 * hook fires on the loop before the answer, as a single retry's does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "base/timeutil.h"
#include "core/hooks.h"
#include "store/replay.h"

static void requeued(hs_api_call *c) { hs_hooks_requeued(c->api->hooks, c->after_deliveries, c->after_n); }

/* name from the body (a string, or a number for times and limit), else
 * the query string; into buf. NULL when absent; *bad when not a scalar. */
static const char *param(hs_api_call *c, const json_t *body, const char *name, char *buf, size_t cap, bool *bad) {
    const json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v)) return hs_query_get(&c->query, name);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) return json_is_true(v) ? "true" : "false";
    *bad = true;
    return NULL;
}

void hs_api_attempts_retry_bulk(hs_api_call *c) {
    static const char *const allowed[] = {
        "destination_id", "connection_id", "is_dlq", "status", "from", "to", "limit", NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    json_t *body = NULL;
    if (c->req->body_len > 0 && hs_api_json_body(c, &body)) return;
    const char *key;
    json_t *member;
    json_object_foreach(body, key, member) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            json_decref(body);
            return hs_api_failf(c, HS_ERR_INVALID, key, "is not a filter of a bulk retry");
        }
    }
    char bufs[7][32];
    const char *v[7];
    bool bad = false;
    for (int i = 0; i < 7; i++) v[i] = param(c, body, allowed[i], bufs[i], sizeof bufs[i], &bad);
    hs_bulk_retry q = {.destination_id = v[0], .connection_id = v[1], .limit = HS_BULK_RETRY_DEFAULT};
    int rc = HS_OK;
    if (bad)
        rc = hs_error_set(&err, HS_ERR_INVALID, "", "filters are strings, numbers or booleans");
    else if (v[0] && !hs_id_valid("dst_", v[0]))
        rc = hs_error_set(&err, HS_ERR_INVALID, "destination_id", "is not an id starting with dst_");
    else if (v[1] && !hs_id_valid("conn_", v[1]))
        rc = hs_error_set(&err, HS_ERR_INVALID, "connection_id", "is not an id starting with conn_");
    else if (v[2] && strcmp(v[2], "1") && strcmp(v[2], "true"))
        rc = hs_error_set(&err, HS_ERR_UNSUPPORTED, "is_dlq",
                          "must be 1 or true: only dead letters are retried in bulk");
    else if (v[3] && strcmp(v[3], "failed"))
        rc = hs_error_set(&err, HS_ERR_UNSUPPORTED, "status", "must be failed: dead letters are failed attempts");
    else if ((v[4] && !hs_parse_time(v[4], &q.from)) || (v[5] && !hs_parse_time(v[5], &q.to)))
        rc = hs_error_set(&err, HS_ERR_INVALID, v[4] && !hs_parse_time(v[4], &q.from) ? "from" : "to",
                          "must be an ISO 8601 time or milliseconds since the epoch");
    else if (v[4] && v[5] && q.from > q.to)
        rc = hs_error_set(&err, HS_ERR_UNSUPPORTED, "from", "must not be after to");
    else if (!v[0] && !v[1] && !v[2] && !v[4] && !v[5])
        rc = hs_error_set(&err, HS_ERR_UNSUPPORTED, "",
                          "give at least one filter (destination_id, connection_id, is_dlq, from, to): a bulk retry "
                          "of everything is refused");
    if (rc == HS_OK && v[6]) {
        char *end = NULL;
        long long k = strtoll(v[6], &end, 10);
        if (!end || *end || k < 1 || k > HS_BULK_RETRY_MAX)
            rc = hs_error_set(&err, HS_ERR_UNSUPPORTED, "limit", "must be 1 to %d", HS_BULK_RETRY_MAX);
        else
            q.limit = (size_t)k;
    }
    hs_event_retry r;
    bool more = false;
    if (rc == HS_OK) rc = hs_store_bulk_retry(c->api->store, &q, &r, &more, &err);
    json_decref(body); /* the filters pointed into it until here */
    if (rc != HS_OK) return hs_api_fail(c, &err);
    c->after_deliveries = r.queued;
    c->after_n = r.n;
    c->after = requeued;
    c->status = 202;
    c->body =
        json_pack("{s:I, s:I, s:b}", "retried", (json_int_t)r.n, "skipped", (json_int_t)r.nskipped, "has_more", more);
    hs_free(r.skipped);
}
