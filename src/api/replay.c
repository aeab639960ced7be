/* src/api/replay.c — replay jobs (docs/api.md "Replay"):
 *   POST   /v1/replay      create: the window's events are chosen now
 *   GET    /v1/replay      list, newest first (destination_id: its jobs)
 *   GET    /v1/replay/:id  one job with its progress
 *   DELETE /v1/replay/:id  cancel
 * Worker handlers (the threadpool); the runner (src/delivery/replay.h) is
 * poked on the loop once a job was created or cancelled.
 */
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "base/json_text.h"
#include "base/timeutil.h"
#include "delivery/replay.h"
#include "rules/filter.h"
#include "store/replay.h"

#define SCAN_PAGE 500
#define SCAN_MAX 100000 /* candidate events looked at per job at most (filters) */

static json_t *id_or_null(const char *id) { return id[0] ? json_string(id) : json_null(); }

/* A window's bound: a time, 0 (the epoch) included. */
static json_t *bound(uint64_t ms) {
    char t[HS_ISO8601_MAX];
    hs_iso8601(ms, t);
    return json_string(t);
}

static json_t *job_json(const hs_replay_job *j) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "destination_id", json_string(j->destination_id));
    json_object_set_new(o, "source_id", id_or_null(j->source_id));
    json_object_set_new(o, "connection_id", id_or_null(j->connection_id));
    json_object_set_new(o, "filter", j->filter ? json_incref(j->filter) : json_null());
    json_object_set_new(o, "from", bound(j->from));
    json_object_set_new(o, "to", bound(j->to));
    json_object_set_new(o, "rate", json_integer(j->rate));
    json_object_set_new(o, "status", json_string(j->status));
    json_object_set_new(o, "error", j->error[0] ? json_string(j->error) : json_null());
    json_object_set_new(o, "total", json_integer((json_int_t)j->total));
    json_object_set_new(o, "enqueued", json_integer((json_int_t)j->cursor));
    json_object_set_new(o, "processed", json_integer((json_int_t)j->processed));
    json_object_set_new(o, "succeeded", json_integer((json_int_t)j->succeeded));
    json_object_set_new(o, "failed", json_integer((json_int_t)j->failed));
    json_object_set_new(o, "runner", strcmp(j->status, "running") == 0 ? id_or_null(j->runner) : json_null());
    json_object_set_new(o, "created_at", hs_json_time(j->created_at));
    json_object_set_new(o, "started_at", hs_json_time(j->started_at));
    json_object_set_new(o, "completed_at", hs_json_time(j->completed_at));
    return o;
}

/* {"job": the stored job} as the answer. */
static void answer_job(hs_api_call *c, int status, const char *id) {
    hs_error err;
    hs_error_clear(&err);
    hs_replay_job j;
    if (hs_store_replay_get(c->api->store, id, &j, &err)) return hs_api_fail(c, &err);
    c->status = status;
    c->body = json_pack("{s:o}", "job", job_json(&j));
    hs_replay_jobs_free(&j, 1);
}

static void poke(hs_api_call *c) { hs_replay_runner_poke(c->api->replay); }

/* ---- the request ---- */

/* A time member: ISO 8601 or ms since the epoch. */
static int time_member(hs_api_call *c, const json_t *body, const char *name, uint64_t *out) {
    const json_t *v = json_object_get(body, name);
    if (!v) {
        hs_api_failf(c, HS_ERR_INVALID, name, "is required (ISO 8601 or milliseconds since the epoch)");
        return HS_ERR_INVALID;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return HS_OK;
    }
    if (json_is_string(v) && hs_parse_time(json_string_value(v), out)) return HS_OK;
    hs_api_failf(c, HS_ERR_INVALID, name, "must be an ISO 8601 time or milliseconds since the epoch");
    return HS_ERR_INVALID;
}

/* An integer member in 1..max (default def): 400 when not an integer, 422
 * when out of range. */
static int int_member(hs_api_call *c, const json_t *body, const char *name, int def, int max, int *out) {
    const json_t *v = json_object_get(body, name);
    *out = def;
    if (!v) return HS_OK;
    if (!json_is_integer(v)) {
        hs_api_failf(c, HS_ERR_INVALID, name, "must be an integer");
        return HS_ERR_INVALID;
    }
    json_int_t k = json_integer_value(v);
    if (k < 1 || k > max) {
        hs_api_failf(c, HS_ERR_UNSUPPORTED, name, "must be 1 to %d", max);
        return HS_ERR_UNSUPPORTED;
    }
    *out = (int)k;
    return HS_OK;
}

/* An optional id member with prefix: "" when absent. */
static int id_member(hs_api_call *c, const json_t *body, const char *name, const char *prefix, char *out) {
    const json_t *v = json_object_get(body, name);
    out[0] = '\0';
    if (!v || json_is_null(v)) return HS_OK;
    if (!json_is_string(v) || !hs_id_valid(prefix, json_string_value(v))) {
        hs_api_failf(c, HS_ERR_INVALID, name, "must be an id starting with %s", prefix);
        return HS_ERR_INVALID;
    }
    hs_id_copy(out, json_string_value(v));
    return HS_OK;
}

/* The resource id of kind must exist: 404 otherwise. *doc (may be NULL):
 * the stored doc. */
static int must_exist(hs_api_call *c, hs_kind kind, const char *id, const char *what, json_t **doc) {
    hs_error err;
    hs_error_clear(&err);
    json_t *d = NULL;
    if (hs_store_resource_get(c->api->store, kind, id, &d, &err)) {
        if (err.code == HS_ERR_NOTFOUND) hs_error_set(&err, HS_ERR_NOTFOUND, "", "no %s \"%s\"", what, id);
        hs_api_fail(c, &err);
        return err.code;
    }
    if (doc)
        *doc = d;
    else
        json_decref(d);
    return HS_OK;
}

static const char *doc_str(const json_t *doc, const char *name) {
    const char *v = json_string_value(json_object_get(doc, name));
    return v ? v : "";
}

/* The sources whose events the job replays: its own, else every source
 * with a connection to the destination. *out (a JSON array of ids). */
static int job_sources(hs_api_call *c, const hs_replay_job *j, json_t **out) {
    *out = json_array();
    if (j->source_id[0]) return json_array_append_new(*out, json_string(j->source_id)), HS_OK;
    hs_error err;
    hs_error_clear(&err);
    json_t *conns = NULL;
    if (hs_store_resource_all(c->api->store, HS_KIND_CONNECTION, &conns, &err)) {
        hs_api_fail(c, &err);
        return err.code;
    }
    size_t i;
    json_t *conn;
    json_array_foreach(conns, i, conn) {
        if (strcmp(doc_str(conn, "destination_id"), j->destination_id) != 0) continue;
        const char *src = doc_str(conn, "source_id");
        bool seen = false;
        size_t k;
        json_t *s;
        json_array_foreach(*out, k, s) seen = seen || strcmp(json_string_value(s), src) == 0;
        if (!seen && src[0]) json_array_append_new(*out, json_string(src));
    }
    json_decref(conns);
    return HS_OK;
}

/* Does the stored event id pass f? (It may be gone: then no.) */
static bool event_matches(hs_api_call *c, const hs_filter *f, const char *id) {
    hs_error err;
    hs_error_clear(&err);
    hs_event *e = NULL;
    if (hs_store_event_get(c->api->store, id, &e, &err)) return false;
    /* parsed only when a rule looks there */
    json_t *payload =
        hs_filter_uses_payload(f) ? json_loadb((const char *)e->body, e->body_len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *headers = hs_filter_uses_headers(f) && e->headers_json ? json_loads(e->headers_json, 0, NULL) : NULL;
    hs_filter_input in = {.payload = payload,
                          .headers = headers,
                          .method = e->method,
                          .content_type = e->content_type,
                          .source_ip = e->source_ip};
    bool ok = hs_filter_match(f, &in);
    json_decref(payload);
    json_decref(headers);
    hs_event_free(e);
    return ok;
}

/* The events of the window, in received order, up to max (filtered by f
 * when there is one): *ids (hs_free) of *n. */
static int choose_events(hs_api_call *c, const hs_replay_job *j, const json_t *sources, const hs_filter *f, size_t max,
                         char (**ids)[HS_ID_MAX], size_t *n) {
    size_t ns = json_array_size(sources), seen = 0;
    const char **src = hs_calloc(ns ? ns : 1, sizeof *src);
    for (size_t i = 0; i < ns; i++) src[i] = json_string_value(json_array_get(sources, i));
    *ids = hs_calloc(max ? max : 1, sizeof **ids);
    *n = 0;
    hs_replay_scan q = {.source_ids = src, .nsources = ns, .from = j->from, .to = j->to, .after_id = ""};
    char after[HS_ID_MAX] = "";
    int rc = HS_OK;
    while (*n < max && seen < SCAN_MAX) {
        hs_error err;
        hs_error_clear(&err);
        hs_replay_event *page = NULL;
        size_t got = 0;
        q.limit = f ? SCAN_PAGE : (max - *n < SCAN_PAGE ? max - *n : SCAN_PAGE);
        if ((rc = hs_store_replay_scan(c->api->store, &q, &page, &got, &err)) != HS_OK) {
            hs_api_fail(c, &err);
            break;
        }
        for (size_t i = 0; i < got && *n < max; i++)
            if (!f || event_matches(c, f, page[i].id)) hs_id_copy((*ids)[(*n)++], page[i].id);
        seen += got;
        if (got) {
            hs_id_copy(after, page[got - 1].id);
            q.after_id = after;
            q.after_at = page[got - 1].received_at;
        }
        hs_free(page);
        if (got < q.limit) break;
    }
    hs_free(src);
    return rc;
}

/* The members of the request into j; the filter compiled into *f. */
static int parse_job(hs_api_call *c, const json_t *body, hs_replay_job *j, int *max_events, hs_filter **f) {
    static const char *const known[] = {"destination_id", "from", "to",         "source_id", "connection_id",
                                        "filter",         "rate", "max_events", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++) ok = strcmp(known[i], key) == 0;
        if (!ok) return hs_api_failf(c, HS_ERR_INVALID, key, "is not a member of a replay job"), HS_ERR_INVALID;
    }
    if (!json_object_get(body, "destination_id"))
        return hs_api_failf(c, HS_ERR_INVALID, "destination_id", "is required"), HS_ERR_INVALID;
    if (id_member(c, body, "destination_id", "dst_", j->destination_id) ||
        id_member(c, body, "source_id", "src_", j->source_id) ||
        id_member(c, body, "connection_id", "conn_", j->connection_id) || time_member(c, body, "from", &j->from) ||
        time_member(c, body, "to", &j->to) ||
        int_member(c, body, "rate", HS_REPLAY_RATE_DEFAULT, HS_REPLAY_RATE_MAX, &j->rate) ||
        int_member(c, body, "max_events", HS_REPLAY_EVENTS_DEFAULT, HS_REPLAY_EVENTS_MAX, max_events))
        return HS_ERR_INVALID;
    if (j->from > j->to) return hs_api_failf(c, HS_ERR_UNSUPPORTED, "from", "must not be after to"), HS_ERR_UNSUPPORTED;
    const json_t *rules = json_object_get(body, "filter");
    if (rules && !json_is_null(rules)) {
        hs_error err;
        hs_error_clear(&err);
        if (hs_filter_compile(rules, "filter", f, &err)) return hs_api_fail(c, &err), err.code;
        j->filter = json_incref((json_t *)rules);
    }
    return HS_OK;
}

/* The references must exist and agree: the connection goes to the
 * destination (and from the source, when both are given). */
static int check_refs(hs_api_call *c, hs_replay_job *j) {
    if (must_exist(c, HS_KIND_DESTINATION, j->destination_id, "destination", NULL)) return HS_ERR_NOTFOUND;
    if (j->source_id[0] && must_exist(c, HS_KIND_SOURCE, j->source_id, "source", NULL)) return HS_ERR_NOTFOUND;
    if (!j->connection_id[0]) return HS_OK;
    json_t *conn = NULL;
    if (must_exist(c, HS_KIND_CONNECTION, j->connection_id, "connection", &conn)) return HS_ERR_NOTFOUND;
    int rc = HS_ERR_UNSUPPORTED;
    if (strcmp(doc_str(conn, "destination_id"), j->destination_id) != 0)
        hs_api_failf(c, rc, "connection_id", "connection %s goes to %s, not to %s", j->connection_id,
                     doc_str(conn, "destination_id"), j->destination_id);
    else if (j->source_id[0] && strcmp(doc_str(conn, "source_id"), j->source_id) != 0)
        hs_api_failf(c, rc, "connection_id", "connection %s comes from %s, not from %s", j->connection_id,
                     doc_str(conn, "source_id"), j->source_id);
    else
        rc = HS_OK;
    if (rc == HS_OK && !j->source_id[0]) hs_id_copy(j->source_id, doc_str(conn, "source_id"));
    json_decref(conn);
    return rc;
}

void hs_api_replay_create(hs_api_call *c) {
    json_t *body = NULL;
    if (hs_api_json_body(c, &body)) return;
    hs_replay_job j;
    memset(&j, 0, sizeof j);
    int max_events = 0;
    hs_filter *f = NULL;
    json_t *sources = NULL;
    char(*ids)[HS_ID_MAX] = NULL;
    size_t n = 0;
    if (parse_job(c, body, &j, &max_events, &f) == HS_OK && check_refs(c, &j) == HS_OK &&
        job_sources(c, &j, &sources) == HS_OK &&
        choose_events(c, &j, sources, f, (size_t)max_events, &ids, &n) == HS_OK) {
        hs_error err;
        hs_error_clear(&err);
        hs_id_new("rpl_", j.id);
        if (hs_store_replay_create(c->api->store, &j, (const char(*)[HS_ID_MAX])ids, n, &err))
            hs_api_fail(c, &err);
        else
            answer_job(c, 201, j.id);
        if (c->status == 201) c->after = poke;
    }
    hs_free(ids);
    json_decref(sources);
    hs_filter_free(f);
    hs_replay_jobs_free(&j, 1);
    json_decref(body);
}

void hs_api_replay_list(hs_api_call *c) {
    static const char *const allowed[] = {"limit", "cursor", "destination_id", NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_page page;
    if (hs_api_page(c, "rpl_", &page)) return;
    const char *dst = hs_query_get(&c->query, "destination_id");
    if (dst && !hs_id_valid("dst_", dst))
        return hs_api_failf(c, HS_ERR_INVALID, "destination_id", "is not an id starting with dst_");
    hs_replay_job *jobs = NULL;
    size_t n = 0;
    bool has_more = false;
    if (hs_store_replay_list(c->api->store, &page, dst, &jobs, &n, &has_more, &err)) return hs_api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, job_json(&jobs[i]));
    hs_replay_jobs_free(jobs, n);
    hs_free(jobs);
    c->status = 200;
    c->body = hs_api_list_body("jobs", items, has_more);
}

void hs_api_replay_get(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    static const char *const none[] = {NULL};
    if (hs_query_only(&c->query, none, &err)) return hs_api_fail(c, &err);
    if (!hs_id_valid("rpl_", c->param)) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no replay job \"%s\"", c->param);
    answer_job(c, 200, c->param);
}

void hs_api_replay_cancel(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    if (!hs_id_valid("rpl_", c->param)) return hs_api_failf(c, HS_ERR_NOTFOUND, "", "no replay job \"%s\"", c->param);
    if (hs_store_replay_cancel(c->api->store, c->param, &err)) return hs_api_fail(c, &err);
    answer_job(c, 200, c->param);
    if (c->status == 200) c->after = poke;
}
