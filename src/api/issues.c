/* src/api/issues.c — GET /v1/issues, GET /v1/issues/summary, GET and PATCH
 * /v1/issues/:id, POST /v1/issues/:id/retry (docs/api.md "Issues").
 * Threadpool handlers; the retry's requeued hook fires on the loop before
 * the answer (src/api/call.h), so the scheduler holding the destination
 * sends the deliveries again (another node's hears it through the store's
 * change feed, as for any manual retry).
 */
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "base/timeutil.h"
#include "ops/issues.h"

void hs_api_issues_list(hs_api_call *c) {
    static const char *const allowed[] = {"limit", "cursor", "status", "destination_id", NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_issue_query q = {.status = hs_query_get(&c->query, "status"),
                        .destination_id = hs_query_get(&c->query, "destination_id")};
    if (hs_api_page(c, "iss_", &q.page)) return;
    if (q.destination_id && !hs_id_valid("dst_", q.destination_id))
        return hs_api_failf(c, HS_ERR_INVALID, "destination_id", "is not a destination id (dst_ + 32 hex)");
    hs_issue *items = NULL;
    size_t n = 0;
    bool more = false;
    if (hs_store_issue_list(c->api->store, &q, &items, &n, &more, &err)) return hs_api_fail(c, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, hs_issue_json(&items[i]));
    hs_free(items);
    c->status = 200;
    c->body = hs_api_list_body("issues", arr, more);
}

void hs_api_issues_summary(hs_api_call *c) {
    static const char *const none[] = {NULL};
    hs_error err;
    hs_error_clear(&err);
    hs_issue_counts k;
    if (hs_query_only(&c->query, none, &err) || hs_store_issue_counts(c->api->store, &k, &err))
        return hs_api_fail(c, &err);
    c->status = 200;
    c->body =
        json_pack("{s:I, s:I, s:I, s:I}", "open", (json_int_t)k.open, "acknowledged", (json_int_t)k.acknowledged,
                  "resolved", (json_int_t)k.resolved, "total", (json_int_t)(k.open + k.acknowledged + k.resolved));
}

/* The issue of c->param into *out; an error answer when there is none. */
static int load(hs_api_call *c, hs_issue *out) {
    hs_error err;
    hs_error_clear(&err);
    if (!hs_id_valid("iss_", c->param)) {
        hs_api_failf(c, HS_ERR_NOTFOUND, "", "issue %s not found", c->param);
        return HS_ERR_NOTFOUND;
    }
    int rc = hs_store_issue_get(c->api->store, c->param, out, &err);
    if (rc) hs_api_fail(c, &err);
    return rc;
}

void hs_api_issues_get(hs_api_call *c) {
    hs_issue iss;
    if (load(c, &iss)) return;
    c->status = 200;
    c->body = hs_issue_json(&iss);
}

/* PATCH's body into ch: status, snoozed_until (an ISO 8601 time, or null). */
static int read_change(json_t *body, hs_issue_change *ch, hs_error *err) {
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "status") == 0) {
            if (!json_is_string(v)) return hs_error_set(err, HS_ERR_INVALID, k, "must be a string");
            ch->status = json_string_value(v);
            if (strcmp(ch->status, "open") && strcmp(ch->status, "acknowledged") && strcmp(ch->status, "resolved"))
                return hs_error_set(err, HS_ERR_INVALID, k, "must be open, acknowledged or resolved");
        } else if (strcmp(k, "snoozed_until") == 0) {
            ch->set_snooze = true;
            if (!json_is_null(v) && (!json_is_string(v) || !hs_parse_time(json_string_value(v), &ch->snoozed_until)))
                return hs_error_set(err, HS_ERR_INVALID, k, "must be an ISO 8601 time or null");
        } else {
            return hs_error_set(err, HS_ERR_INVALID, k,
                                "is not a field an issue's PATCH takes (status, snoozed_until)");
        }
    }
    return HS_OK;
}

void hs_api_issues_patch(hs_api_call *c) {
    hs_issue iss;
    if (load(c, &iss)) return;
    json_t *body;
    if (hs_api_json_body(c, &body)) return;
    hs_issue_change ch = {.now = hs_now_ms()};
    hs_error err;
    hs_error_clear(&err);
    int rc = read_change(body, &ch, &err);
    if (rc == HS_OK) rc = hs_store_issue_update(c->api->store, c->param, &ch, &iss, &err);
    json_decref(body);
    if (rc) return hs_api_fail(c, &err);
    c->status = 200;
    c->body = hs_issue_json(&iss);
}

/* ---- retry ---- */

/* Does this dead-lettered attempt (as the API shows it) belong to iss? */
static bool of_issue(const hs_issue *iss, const json_t *attempt, const char *dest_type) {
    if (strcmp(iss->error_type, "circuit_open") == 0) return true; /* the circuit stopped them all */
    hs_attempt_rec a = {.response_status = (int)json_integer_value(json_object_get(attempt, "response_status")),
                        .error = (char *)json_string_value(json_object_get(attempt, "error"))};
    return strcmp(hs_issue_error_type(&a, dest_type), iss->error_type) == 0;
}

static void retried(hs_api_call *c) { hs_hooks_requeued(c->api->hooks, c->after_deliveries, c->after_n); }

/* Retry each dead-lettered attempt of items that belongs to iss; the
 * deliveries requeued go to c->after_deliveries. */
static int retry_page(hs_api_call *c, const hs_issue *iss, const json_t *items, const char *dest_type, size_t *cap,
                      hs_error *err) {
    size_t i;
    json_t *a;
    json_array_foreach(items, i, a) {
        const char *id = json_string_value(json_object_get(a, "id"));
        if (!id || !of_issue(iss, a, dest_type)) continue;
        if (c->after_n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            c->after_deliveries = hs_realloc(c->after_deliveries, *cap * sizeof *c->after_deliveries);
        }
        hs_error_clear(err);
        int rc = hs_store_attempt_retry(c->api->store, id, &c->after_deliveries[c->after_n], err);
        if (rc == HS_OK)
            c->after_n++;
        else if (rc != HS_ERR_CONFLICT && rc != HS_ERR_NOTFOUND)
            return rc; /* retried meanwhile: skipped */
    }
    return HS_OK;
}

void hs_api_issues_retry(hs_api_call *c) {
    hs_issue iss;
    if (load(c, &iss)) return;
    hs_error err;
    hs_error_clear(&err);
    json_t *dest = NULL;
    if (hs_store_resource_get(c->api->store, HS_KIND_DESTINATION, iss.destination_id, &dest, &err)) {
        if (err.code == HS_ERR_NOTFOUND)
            hs_error_set(&err, HS_ERR_CONFLICT, "", "destination %s was deleted: nothing to retry", iss.destination_id);
        return hs_api_fail(c, &err);
    }
    const char *type = json_string_value(json_object_get(dest, "type"));
    /* The dead letters page by page, oldest retried first in each; a
     * retried attempt leaves the DLQ, so the next page starts after it. */
    hs_attempt_query q = {.destination_id = iss.destination_id, .dlq_only = true, .page = {.limit = 100}};
    size_t cap = 0;
    int rc = HS_OK;
    char cursor[HS_ID_MAX] = "";
    for (bool more = true; rc == HS_OK && more;) {
        json_t *items = NULL;
        rc = hs_store_attempt_list(c->api->store, &q, &items, &more, &err);
        if (rc == HS_OK) rc = retry_page(c, &iss, items, type, &cap, &err);
        const char *last = json_string_value(json_object_get(json_array_get(items, json_array_size(items) - 1), "id"));
        if (last) memcpy(cursor, last, strlen(last) + 1 < sizeof cursor ? strlen(last) + 1 : sizeof cursor - 1);
        q.page.cursor = cursor;
        json_decref(items);
    }
    json_decref(dest);
    if (rc) return hs_api_fail(c, &err);
    json_t *ids = json_array();
    for (size_t i = 0; i < c->after_n; i++) json_array_append_new(ids, json_string(c->after_deliveries[i].id));
    c->after = retried;
    c->status = 200;
    c->body = json_pack("{s:s, s:I, s:o}", "issue_id", iss.id, "retried", (json_int_t)c->after_n, "deliveries", ids);
}
