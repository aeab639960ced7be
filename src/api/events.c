/* src/api/events.c — events and delivery attempts (threadpool): lists, reads,
 * manual retries. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "base/base64.h"
#include "base/json_text.h"
#include "base/timeutil.h"

static json_t *render_summary(const hs_event *e) {
    char t[HS_ISO8601_MAX];
    hs_iso8601(e->received_at, t);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "source_id", json_string(e->source_id));
    json_object_set_new(o, "status", json_string(e->status));
    json_object_set_new(o, "verification_status", json_string(e->verification_status));
    json_object_set_new(o, "dedup_status", json_string(e->dedup_status));
    json_object_set_new(o, "method", hs_json_text(e->method));
    json_object_set_new(o, "path", hs_json_text(e->path));
    json_object_set_new(o, "query", hs_json_text(e->query));
    json_object_set_new(o, "content_type", hs_json_text(e->content_type));
    json_object_set_new(o, "source_ip", hs_json_text(e->source_ip));
    json_object_set_new(o, "body_size", json_integer((json_int_t)e->body_len));
    json_object_set_new(o, "received_at", json_string(t));
    return o;
}

static json_t *render_delivery(const hs_delivery *d) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(d->id));
    json_object_set_new(o, "destination_id", json_string(d->destination_id));
    json_object_set_new(o, "connection_id", json_string(d->connection_id));
    json_object_set_new(o, "status", json_string(d->status));
    json_object_set_new(o, "attempts", json_integer(d->attempts));
    json_object_set_new(o, "next_attempt_at", hs_json_time(d->next_attempt_at));
    json_object_set_new(o, "created_at", hs_json_time(d->created_at));
    json_object_set_new(o, "updated_at", hs_json_time(d->updated_at));
    return o;
}

/* The body as text when it is UTF-8, else base64; body_encoding says which. */
static void set_body(json_t *o, const hs_event *e) {
    json_t *b = json_stringn((const char *)(e->body ? e->body : (const unsigned char *)""), e->body_len);
    if (b) {
        json_object_set_new(o, "body", b);
        json_object_set_new(o, "body_encoding", json_string("utf8"));
        return;
    }
    char *enc = hs_base64_encode(e->body, e->body_len);
    json_object_set_new(o, "body", json_string(enc));
    json_object_set_new(o, "body_encoding", json_string("base64"));
    hs_free(enc);
}

/* The query parameter name when it is one of choices (NULL-ended), or
 * absent: *out; false when it is something else (the call has failed). */
static bool query_choice(hs_api_call *c, const char *name, const char *const *choices, const char **out) {
    *out = hs_query_get(&c->query, name);
    if (!*out) return true;
    for (size_t i = 0; choices[i]; i++)
        if (strcmp(*out, choices[i]) == 0) return true;
    char list[160] = "";
    for (size_t i = 0, len = 0; choices[i] && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                i == 0           ? ""
                                : choices[i + 1] ? ", "
                                                 : " or ",
                                choices[i]);
    hs_api_failf(c, HS_ERR_INVALID, name, "must be %s", list);
    return false;
}

void hs_api_events_list(hs_api_call *c) {
    static const char *const allowed[] = {"limit",  "cursor", "source_id",           "status",       "after", "before",
                                          "method", "search", "verification_status", "dedup_status", NULL};
    static const char *const statuses[] = {"received", "processing", "delivered", "failed", "cancelled", NULL};
    static const char *const verifications[] = {"verified", "unverified", "schema_invalid", NULL};
    static const char *const dedups[] = {"unique", "duplicate", NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_event_query q = {0};
    if (hs_api_page(c, "evt_", &q.page)) return;
    q.source_id = hs_query_get(&c->query, "source_id");
    if (q.source_id && !hs_id_valid("src_", q.source_id))
        return hs_api_failf(c, HS_ERR_INVALID, "source_id", "is not a source id (src_ + 32 hex)");
    if (!query_choice(c, "status", statuses, &q.status) ||
        !query_choice(c, "verification_status", verifications, &q.verification_status) ||
        !query_choice(c, "dedup_status", dedups, &q.dedup_status))
        return;
    /* method in any case, as the store keeps it: in capitals */
    char method[HS_METHOD_MAX + 1];
    const char *m = hs_query_get(&c->query, "method");
    if (m) {
        size_t i = 0;
        for (; m[i] && i < HS_METHOD_MAX; i++) method[i] = (char)(m[i] >= 'a' && m[i] <= 'z' ? m[i] - 32 : m[i]);
        if (m[i])
            return hs_api_failf(c, HS_ERR_INVALID, "method", "must be an HTTP method (1 to %d letters)", HS_METHOD_MAX);
        method[i] = '\0';
        q.method = method;
    }
    q.search = hs_query_get(&c->query, "search");
    const char *names[2] = {"after", "before"};
    uint64_t *dst[2] = {&q.after, &q.before};
    for (int k = 0; k < 2; k++) {
        const char *v = hs_query_get(&c->query, names[k]);
        if (v && !hs_parse_time(v, dst[k]))
            return hs_api_failf(c, HS_ERR_INVALID, names[k],
                                "must be an ISO 8601 time or milliseconds since the epoch");
    }
    hs_event **items = NULL;
    size_t n = 0;
    bool has_more = false;
    if (hs_store_event_list(c->api->store, &q, &items, &n, &has_more, &err)) return hs_api_fail(c, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, render_summary(items[i]));
        hs_event_free(items[i]);
    }
    hs_free(items);
    c->status = 200;
    c->body = hs_api_list_body("events", arr, has_more);
}

static json_t *event_detail(hs_api_call *c, hs_error *err);

void hs_api_events_get(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    static const char *const none[] = {NULL};
    if (hs_query_only(&c->query, none, &err)) return hs_api_fail(c, &err);
    if (!hs_id_valid("evt_", c->param)) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no event \"%s\"", c->param);
    /* the event, its deliveries and their attempts as of one moment: an
     * attempt committed in between must not show a delivery delivered
     * under an event still processing */
    if (hs_store_snapshot_begin(c->api->store, &err)) return hs_api_fail(c, &err);
    json_t *o = event_detail(c, &err);
    hs_store_snapshot_end(c->api->store);
    if (!o) return hs_api_fail(c, &err);
    c->status = 200;
    c->body = o;
}

/* GET /v1/events/:id's object, or NULL and err. */
static json_t *event_detail(hs_api_call *c, hs_error *err) {
    hs_event *e = NULL;
    if (hs_store_event_get(c->api->store, c->param, &e, err)) {
        if (err->code == HS_ERR_NOTFOUND) hs_error_set(err, HS_ERR_NOTFOUND, "", "no event \"%s\"", c->param);
        return NULL;
    }
    json_t *o = render_summary(e);
    json_t *headers = e->headers_json ? json_loads(e->headers_json, 0, NULL) : NULL;
    json_object_set_new(o, "headers", headers ? headers : json_object());
    set_body(o, e);
    hs_event_free(e);

    hs_delivery *d = NULL;
    size_t n = 0;
    if (hs_store_event_deliveries(c->api->store, c->param, &d, &n, err)) {
        json_decref(o);
        return NULL;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, render_delivery(&d[i]));
    hs_free(d);
    json_object_set_new(o, "deliveries", arr);
    json_t *attempts = NULL;
    if (hs_store_event_attempts(c->api->store, c->param, &attempts, err)) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "attempts", attempts);
    return o;
}

/* After a manual retry committed (loop thread): the deliveries are pending
 * again, for the scheduler. */
static void retried(hs_api_call *c) { hs_hooks_requeued(c->api->hooks, c->after_deliveries, c->after_n); }

static json_t *retry_body(const hs_delivery *d, size_t n) {
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(ids, json_string(d[i].id));
    return json_pack("{s:s, s:o, s:s}", "event_id", n ? d[0].event_id : "", "delivery_ids", ids, "status", "queued");
}

void hs_api_events_retry(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    if (!hs_id_valid("evt_", c->param)) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no event \"%s\"", c->param);
    hs_event_retry r;
    if (hs_store_event_retry(c->api->store, c->param, &r, &err)) return hs_api_fail(c, &err);
    c->after_deliveries = r.queued;
    c->after_n = r.n;
    c->after = retried;
    c->status = 202;
    c->body = retry_body(r.queued, r.n);
    /* what was left dead-lettered, and why */
    json_t *skipped = json_array();
    for (size_t i = 0; i < r.nskipped; i++) {
        char why[64 + HS_ID_MAX];
        snprintf(why, sizeof why, "destination %s was deleted", r.skipped[i].destination_id);
        json_array_append_new(skipped, json_pack("{s:s, s:s, s:s}", "delivery_id", r.skipped[i].id, "destination_id",
                                                 r.skipped[i].destination_id, "reason", why));
    }
    json_object_set_new(c->body, "skipped", skipped);
    hs_free(r.skipped);
}

void hs_api_attempts_retry(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    if (!hs_id_valid("da_", c->param))
        return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no delivery attempt \"%s\"", c->param);
    c->after_deliveries = hs_calloc(1, sizeof *c->after_deliveries);
    if (hs_store_attempt_retry(c->api->store, c->param, c->after_deliveries, &err)) return hs_api_fail(c, &err);
    c->after_n = 1;
    c->after = retried;
    c->status = 202;
    c->body = retry_body(c->after_deliveries, 1);
}

void hs_api_attempts_list(hs_api_call *c) {
    static const char *const allowed[] = {"limit",         "cursor", "event_id", "destination_id",
                                          "connection_id", "status", "is_dlq",   NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_attempt_query q = {0};
    if (hs_api_page(c, "da_", &q.page)) return;
    static const struct {
        const char *name, *prefix;
    } ids[] = {{"event_id", "evt_"}, {"destination_id", "dst_"}, {"connection_id", "conn_"}};
    const char **dst[] = {&q.event_id, &q.destination_id, &q.connection_id};
    for (int k = 0; k < 3; k++) {
        const char *v = hs_query_get(&c->query, ids[k].name);
        if (v && !hs_id_valid(ids[k].prefix, v))
            return hs_api_failf(c, HS_ERR_INVALID, ids[k].name, "is not an id starting with %s", ids[k].prefix);
        *dst[k] = v;
    }
    q.status = hs_query_get(&c->query, "status");
    if (q.status && strcmp(q.status, "success") && strcmp(q.status, "failed") && strcmp(q.status, "pending"))
        return hs_api_failf(c, HS_ERR_INVALID, "status", "must be success, failed or pending");
    const char *dlq = hs_query_get(&c->query, "is_dlq");
    if (dlq) {
        if (strcmp(dlq, "1") && strcmp(dlq, "true") && strcmp(dlq, "0") && strcmp(dlq, "false"))
            return hs_api_failf(c, HS_ERR_INVALID, "is_dlq", "must be 1, true, 0 or false");
        q.dlq_only = !strcmp(dlq, "1") || !strcmp(dlq, "true");
    }
    json_t *items = NULL;
    bool has_more = false;
    if (hs_store_attempt_list(c->api->store, &q, &items, &has_more, &err)) return hs_api_fail(c, &err);
    c->status = 200;
    c->body = hs_api_list_body("delivery_attempts", items, has_more);
}

void hs_api_attempts_get(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    static const char *const none[] = {NULL};
    if (hs_query_only(&c->query, none, &err)) return hs_api_fail(c, &err);
    if (!hs_id_valid("da_", c->param))
        return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no delivery attempt \"%s\"", c->param);
    json_t *o = NULL;
    if (hs_store_attempt_get(c->api->store, c->param, &o, &err)) {
        if (err.code == HS_ERR_NOTFOUND)
            hs_error_set(&err, HS_ERR_NOTFOUND, "", "no delivery attempt \"%s\"", c->param);
        return hs_api_fail(c, &err);
    }
    c->status = 200;
    c->body = o;
}
