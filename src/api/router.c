#include "api/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "api/call.h"
#include "api/openapi.h"
#include "base/json_text.h"
#include "base/log.h"
#include "core/resource.h"
#include "observe/static.h"
#include "ws/ws.h"

/* ---- route table ----
 * A pattern segment ":id" matches one non-empty path segment, which is
 * percent-decoded into call->param. */
typedef struct route {
    const char *method;
    const char *pattern;
    hs_api_fn fn; /* runs on the threadpool */
    hs_kind kind;
    /* or: answered on the loop thread, with the decoded :id */
    void (*loop_fn)(hs_api *api, hs_http_req *req, const char *id);
} route;

static const route routes[] = {
    {"GET", "/v1/sources", hs_api_resource_list, HS_KIND_SOURCE},
    {"POST", "/v1/sources", hs_api_resource_create, HS_KIND_SOURCE},
    {"GET", "/v1/sources/:id", hs_api_resource_get, HS_KIND_SOURCE},
    {"PATCH", "/v1/sources/:id", hs_api_resource_patch, HS_KIND_SOURCE},
    {"DELETE", "/v1/sources/:id", hs_api_resource_delete, HS_KIND_SOURCE},
    {"GET", "/v1/destinations", hs_api_resource_list, HS_KIND_DESTINATION},
    {"POST", "/v1/destinations", hs_api_resource_create, HS_KIND_DESTINATION},
    {"GET", "/v1/destinations/:id", hs_api_resource_get, HS_KIND_DESTINATION},
    {"PATCH", "/v1/destinations/:id", hs_api_resource_patch, HS_KIND_DESTINATION},
    {"DELETE", "/v1/destinations/:id", hs_api_resource_delete, HS_KIND_DESTINATION},
    {"POST", "/v1/destinations/:id/rotate-secret", hs_api_destination_rotate_secret, HS_KIND_DESTINATION},
    {"GET", "/v1/connections", hs_api_resource_list, HS_KIND_CONNECTION},
    {"POST", "/v1/connections", hs_api_resource_create, HS_KIND_CONNECTION},
    {"GET", "/v1/connections/:id", hs_api_resource_get, HS_KIND_CONNECTION},
    {"PATCH", "/v1/connections/:id", hs_api_resource_patch, HS_KIND_CONNECTION},
    {"DELETE", "/v1/connections/:id", hs_api_resource_delete, HS_KIND_CONNECTION},
    {"GET", "/v1/events", hs_api_events_list, HS_KIND_COUNT},
    {"GET", "/v1/events/:id", hs_api_events_get, HS_KIND_COUNT},
    {"POST", "/v1/events/:id/retry", hs_api_events_retry, HS_KIND_COUNT},
    {"POST", "/v1/transforms/test", hs_api_transforms_test, HS_KIND_COUNT},
    {"GET", "/v1/destination-templates", hs_api_templates_list, HS_KIND_COUNT},
    {"GET", "/v1/destination-templates/:id", hs_api_templates_get, HS_KIND_COUNT},
    {"GET", "/v1/source-templates", hs_api_source_templates_list, HS_KIND_COUNT},
    {"GET", "/v1/source-templates/:id", hs_api_source_templates_get, HS_KIND_COUNT},
    {"GET", "/v1/delivery-attempts", hs_api_attempts_list, HS_KIND_COUNT},
    {"GET", "/v1/delivery-attempts/:id", hs_api_attempts_get, HS_KIND_COUNT},
    {"POST", "/v1/delivery-attempts/retry", hs_api_attempts_retry_bulk, HS_KIND_COUNT},
    {"POST", "/v1/delivery-attempts/:id/retry", hs_api_attempts_retry, HS_KIND_COUNT},
    {"POST", "/v1/replay", hs_api_replay_create, HS_KIND_COUNT},
    {"GET", "/v1/replay", hs_api_replay_list, HS_KIND_COUNT},
    {"GET", "/v1/replay/:id", hs_api_replay_get, HS_KIND_COUNT},
    {"DELETE", "/v1/replay/:id", hs_api_replay_cancel, HS_KIND_COUNT},
    {"POST", "/v1/auth/api-keys", hs_api_apikeys_create, HS_KIND_COUNT},
    {"GET", "/v1/auth/api-keys", hs_api_apikeys_list, HS_KIND_COUNT},
    {"DELETE", "/v1/auth/api-keys/:id", hs_api_apikeys_revoke, HS_KIND_COUNT},
    {"GET", "/v1/issues", hs_api_issues_list, HS_KIND_COUNT},
    {"GET", "/v1/issues/:id", hs_api_issues_get, HS_KIND_COUNT},
    /* after /v1/issues/:id: of the routes a path matches, the last wins */
    {"GET", "/v1/issues/summary", hs_api_issues_summary, HS_KIND_COUNT},
    {"PATCH", "/v1/issues/:id", hs_api_issues_patch, HS_KIND_COUNT},
    {"POST", "/v1/issues/:id/retry", hs_api_issues_retry, HS_KIND_COUNT},
    {"GET", "/v1/notification-channels", hs_api_channels_list, HS_KIND_COUNT},
    {"POST", "/v1/notification-channels", hs_api_channels_create, HS_KIND_COUNT},
    {"GET", "/v1/notification-channels/:id", hs_api_channels_get, HS_KIND_COUNT},
    {"PATCH", "/v1/notification-channels/:id", hs_api_channels_patch, HS_KIND_COUNT},
    {"DELETE", "/v1/notification-channels/:id", hs_api_channels_delete, HS_KIND_COUNT},
    {"POST", "/v1/notification-channels/:id/test", NULL, HS_KIND_COUNT, hs_api_channels_test},
    {"GET", "/v1/alert-rules", hs_api_rules_list, HS_KIND_COUNT},
    {"POST", "/v1/alert-rules", hs_api_rules_create, HS_KIND_COUNT},
    {"GET", "/v1/alert-rules/:id", hs_api_rules_get, HS_KIND_COUNT},
    {"PATCH", "/v1/alert-rules/:id", hs_api_rules_patch, HS_KIND_COUNT},
    {"DELETE", "/v1/alert-rules/:id", hs_api_rules_delete, HS_KIND_COUNT},
    {"GET", "/v1/notifications", hs_api_notifications_list, HS_KIND_COUNT},
    {"GET", "/v1/notifications/:id", hs_api_notifications_get, HS_KIND_COUNT},
    {"GET", "/v1/destinations/:id/circuit", NULL, HS_KIND_COUNT, hs_api_circuit_get},
    {"POST", "/v1/destinations/:id/circuit/reset", NULL, HS_KIND_COUNT, hs_api_circuit_reset},
    {"GET", "/v1/circuits", NULL, HS_KIND_COUNT, hs_api_circuits_list},
    {"GET", "/v1/cluster", NULL, HS_KIND_COUNT, hs_api_cluster_get},
    {"GET", "/metrics", NULL, HS_KIND_COUNT, hs_api_metrics},
    {"GET", "/v1/metrics/overview", NULL, HS_KIND_COUNT, hs_api_metrics_overview},
    {"GET", "/v1/openapi.json", NULL, HS_KIND_COUNT, hs_api_openapi},
};
#define NROUTES (sizeof routes / sizeof routes[0])

bool hs_api_route_at(size_t i, const char **method, const char **pattern) {
    if (i >= NROUTES) return false;
    *method = routes[i].method;
    *pattern = routes[i].pattern;
    return true;
}

/* Does path match pattern? On a match the :id segment (raw) is returned
 * through seg/seglen. */
static bool match(const char *pattern, const char *path, const char **seg, size_t *seglen) {
    *seg = NULL;
    *seglen = 0;
    while (*pattern && *path) {
        if (*pattern == ':') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0) return false;
            *seg = path;
            *seglen = n;
            path += n;
            while (*pattern && *pattern != '/') pattern++;
            continue;
        }
        if (*pattern != *path) return false;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* ---- responses ---- */

void hs_api_respond_json(hs_http_req *req, int status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(body);
    if (!text) text = hs_strdup("{}");
    hs_http_respond(req, status, "application/json", text, strlen(text), NULL, 0);
    hs_free(text);
}

/* {"error","status","request_id"[,"field"]} (+ more) with the given headers. */
static void send_error(hs_http_req *req, int status, const char *field, const char *msg, const json_t *more,
                       const hs_http_header *extra, size_t nextra) {
    json_t *o = json_object();
    char *full = field[0] ? hs_sprintf("%s: %s", field, msg) : hs_strdup(msg);
    json_object_set_new(o, "error", hs_json_text(full));
    hs_free(full);
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "request_id", json_string(req->request_id));
    if (field[0]) json_object_set_new(o, "field", hs_json_text(field));
    if (more) json_object_update_missing(o, (json_t *)more);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    hs_http_respond(req, status, "application/json", text, strlen(text), extra, nextra);
    hs_free(text);
}

static void respond_error_h(hs_http_req *req, const hs_error *err, const char *allow, const json_t *more) {
    int status = hs_err_http_status(err->code);
    const char *msg = err->msg[0] ? err->msg : hs_strerror(err->code);
    hs_http_header extra[2];
    size_t nextra = 0;
    if (status == 401) extra[nextra++] = (hs_http_header){"WWW-Authenticate", "Bearer"};
    if (status == 503) extra[nextra++] = (hs_http_header){"Retry-After", "1"};
    if (allow) extra[nextra++] = (hs_http_header){"Allow", (char *)allow};
    send_error(req, status, err->field, msg, more, extra, nextra);
}

void hs_api_respond_status(hs_http_req *req, int status, const char *msg, const hs_http_header *extra, size_t nextra) {
    send_error(req, status, "", msg, NULL, extra, nextra);
}

void hs_api_respond_more(hs_http_req *req, int status, const char *msg, const json_t *more) {
    send_error(req, status, "", msg, more, NULL, 0);
}

void hs_api_respond_error(hs_http_req *req, const hs_error *err) { respond_error_h(req, err, NULL, NULL); }

void hs_api_respond_not_allowed(hs_http_req *req, const char *allow) {
    hs_error e;
    hs_error_set(&e, HS_ERR_METHOD, "", "method %s is not allowed here; allowed: %s", req->method, allow);
    respond_error_h(req, &e, allow, NULL);
}

void hs_api_fail(hs_api_call *c, const hs_error *err) {
    c->err = *err;
    if (c->err.code == HS_OK) c->err.code = HS_ERR_INTERNAL;
    c->status = hs_err_http_status(c->err.code);
    json_decref(c->body);
    c->body = NULL;
}

void hs_api_failf(hs_api_call *c, int code, const char *field, const char *fmt, ...) {
    hs_error e;
    hs_error_clear(&e);
    e.code = code;
    snprintf(e.field, sizeof e.field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    hs_api_fail(c, &e);
}

/* ---- request helpers ---- */

int hs_api_json_body(hs_api_call *c, json_t **out) {
    *out = NULL;
    const char *ct = hs_http_req_header(c->req, "content-type");
    if (ct && strncasecmp(ct, "application/json", 16) != 0 && !strstr(ct, "+json")) {
        hs_api_failf(c, HS_ERR_MEDIA_TYPE, "", "Content-Type must be application/json, got \"%s\"", ct);
        return HS_ERR_MEDIA_TYPE;
    }
    if (c->req->body_len == 0) {
        hs_api_failf(c, HS_ERR_INVALID, "", "a JSON object body is required");
        return HS_ERR_INVALID;
    }
    json_error_t je;
    json_t *v = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        hs_api_failf(c, HS_ERR_INVALID, "", "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
        return HS_ERR_INVALID;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        hs_api_failf(c, HS_ERR_INVALID, "", "the body must be a JSON object");
        return HS_ERR_INVALID;
    }
    *out = v;
    return HS_OK;
}

int hs_api_page(hs_api_call *c, const char *id_prefix, hs_page *page) {
    page->limit = 20;
    page->cursor = NULL;
    const char *l = hs_query_get(&c->query, "limit");
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 100) {
            hs_api_failf(c, HS_ERR_INVALID, "limit", "must be an integer from 1 to 100");
            return HS_ERR_INVALID;
        }
        page->limit = (int)v;
    }
    const char *cur = hs_query_get(&c->query, "cursor");
    if (cur && *cur) {
        if (!hs_id_valid(id_prefix, cur)) {
            hs_api_failf(c, HS_ERR_INVALID, "cursor", "is not a cursor returned by this list");
            return HS_ERR_INVALID;
        }
        page->cursor = cur;
    }
    return HS_OK;
}

json_t *hs_api_list_body(const char *plural, json_t *items, bool has_more) {
    json_t *o = json_object();
    json_t *cursor = json_null();
    size_t n = json_array_size(items);
    if (has_more && n > 0) {
        json_t *id = json_object_get(json_array_get(items, n - 1), "id");
        if (json_is_string(id)) cursor = json_copy(id);
    }
    json_object_set_new(o, plural, items);
    json_object_set_new(o, "cursor", cursor);
    json_object_set_new(o, "has_more", json_boolean(has_more));
    return o;
}

/* ---- dispatch to the threadpool ---- */

typedef struct job {
    uv_work_t work;
    hs_api_call call;
    hs_api_fn fn;
    int status; /* the threadpool's */
} job;

static void job_run(uv_work_t *w) {
    job *j = w->data;
    j->fn(&j->call);
}

static void job_finish(void *ud) {
    job *j = ud;
    hs_api_call *c = &j->call;
    int status = j->status;
    if (status == UV_ECANCELED) hs_error_set(&c->err, HS_ERR_CLOSED, "", "the server is shutting down");
    if (status != UV_ECANCELED && c->status > 0 && c->status < 400 && c->after) c->after(c);
    json_decref(c->after_doc);
    hs_free(c->after_deliveries);
    if (status == UV_ECANCELED || c->status >= 400 || c->status == 0) {
        if (c->err.code == HS_OK) hs_error_set(&c->err, HS_ERR_INTERNAL, "", "handler produced no answer");
        respond_error_h(c->req, &c->err, NULL, c->err_more);
        json_decref(c->body);
    } else {
        hs_api_respond_json(c->req, c->status, c->body);
    }
    json_decref(c->err_more);
    hs_query_free(&c->query);
    hs_free(j);
}

/* A deletion is published only once every ingest committed before it has
 * fired its hook (src/core/hooks.h): those of other loops come through
 * their mailboxes, so each is passed once first. */
static void job_done(uv_work_t *w, int status) {
    job *j = w->data;
    hs_api_call *c = &j->call;
    j->status = status;
    bool publishes = status != UV_ECANCELED && c->status > 0 && c->status < 400 && c->after;
    if (publishes && c->after_change == HS_CHANGE_DELETED && hs_loops_count(c->api->loops) > 1)
        hs_loops_each(c->api->loops, NULL, job_finish, j);
    else
        job_finish(j);
}

static void respond_simple(hs_http_req *req, int code, const char *field, const char *fmt, const char *arg) {
    hs_error e;
    hs_error_clear(&e);
    hs_error_set(&e, code, field, fmt, arg);
    hs_api_respond_error(req, &e);
}

static void health(hs_http_req *req) {
    static const char body[] = "{\"status\":\"ok\"}";
    hs_http_respond(req, 200, "application/json", body, sizeof body - 1, NULL, 0);
}

/* A request that arrived on another loop, to be handled on loop 0. */
typedef struct handed {
    hs_msg msg;
    hs_api *api;
    hs_http_req *req;
} handed;

static void run_handed(hs_msg *m) {
    handed *x = (handed *)m;
    hs_api_handle(x->req, x->api);
    hs_free(x);
}

void hs_api_handle(hs_http_req *req, void *ud) {
    hs_api *api = ud;
    const char *path = req->path;
    bool anywhere = strcmp(path, "/health") == 0 || strncmp(path, "/v1/ingest/", 11) == 0;
    if (!anywhere && hs_mailbox_current() != api->home) {
        handed *x = hs_malloc(sizeof *x);
        x->api = api;
        x->req = req;
        hs_mailbox_post(api->home, &x->msg, run_handed);
        return;
    }

    if (strcmp(path, "/health") == 0) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
            return hs_api_respond_not_allowed(req, "GET, HEAD");
        return health(req);
    }
    if (api->deliver_only && strcmp(path, "/metrics") != 0)
        return respond_simple(req, HS_ERR_NOTFOUND, "", "this node delivers only (%s): it serves /health and /metrics",
                              "--role deliver");
    if (strncmp(path, "/v1/ingest/", 11) == 0) return hs_ingest_handle(api, req, path + 11);
    /* before the generic key check: a browser's WebSocket sends the key as ?token= */
    if (strcmp(path, "/v1/ws") == 0) return hs_ws_handle_upgrade(api->ws, req);
    /* the dashboard's files: no key, they hold no data */
    if (hs_static_path(path)) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
            return hs_api_respond_not_allowed(req, "GET, HEAD");
        return hs_static_serve(req);
    }

    const route *found = NULL;
    bool path_known = false;
    const char *seg = NULL;
    size_t seglen = 0;
    char allow[64] = "";
    for (size_t i = 0; i < NROUTES; i++) {
        const char *s;
        size_t sl;
        if (!match(routes[i].pattern, path, &s, &sl)) continue;
        path_known = true;
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", routes[i].method);
        if (strcmp(routes[i].method, req->method) == 0) {
            found = &routes[i];
            seg = s;
            seglen = sl;
        }
    }
    if (!found && !path_known) return respond_simple(req, HS_ERR_NOTFOUND, "", "no route for %s", path);

    /* Authentication comes before telling which methods a path allows. */
    if (!hs_auth_check(api->auth, hs_auth_presented(req)))
        return respond_simple(req, HS_ERR_UNAUTHORIZED, "", "%s",
                              "a valid API key is required (Authorization: Bearer <key> or X-API-Key)");
    if (hs_auth_sync_due(api->auth)) hs_api_keys_changed(api);
    if (!found) return hs_api_respond_not_allowed(req, allow);
    if (found->loop_fn) {
        char *d = seg ? hs_percent_decode(seg, seglen, 0) : hs_strdup("");
        if (!d || strlen(d) > HS_API_MAX_PARAM) {
            hs_free(d);
            return respond_simple(req, HS_ERR_NOTFOUND, "", "%s", "no such object");
        }
        found->loop_fn(api, req, d);
        hs_free(d);
        return;
    }

    job *j = hs_calloc(1, sizeof *j);
    j->work.data = j;
    j->fn = found->fn;
    hs_api_call *c = &j->call;
    c->api = api;
    c->req = req;
    c->kind = found->kind;
    hs_error_clear(&c->err);
    if (seg) {
        char *d = hs_percent_decode(seg, seglen, 0);
        if (!d || strlen(d) > HS_API_MAX_PARAM) {
            hs_free(d);
            hs_free(j);
            return respond_simple(req, HS_ERR_NOTFOUND, "", "%s", "no such object");
        }
        snprintf(c->param, sizeof c->param, "%s", d);
        hs_free(d);
    }
    if (hs_query_parse(req->query, &c->query, &c->err)) {
        hs_api_respond_error(req, &c->err);
        hs_query_free(&c->query);
        hs_free(j);
        return;
    }
    int rc = uv_queue_work(api->loop, &j->work, job_run, job_done);
    if (rc) {
        hs_query_free(&c->query);
        hs_free(j);
        respond_simple(req, HS_ERR_BUSY, "", "%s", "cannot schedule the request");
    }
}

hs_api *hs_api_new(const hs_api_deps *deps) {
    hs_api *api = hs_calloc(1, sizeof *api);
    api->loops = deps->loops;
    api->loop = hs_loops_loop(deps->loops, 0);
    api->home = hs_loops_mailbox(deps->loops, 0);
    api->store = deps->store;
    api->auth = deps->auth;
    api->sched = deps->sched;
    api->ws = deps->ws;
    api->metrics = deps->metrics;
    api->hooks = deps->hooks;
    api->frontdoor = deps->frontdoor;
    api->ops = deps->ops;
    api->public_url = deps->public_url;
    api->ingest_next = 1;
    return api;
}

void hs_api_set_replay(hs_api *api, struct hs_replay_runner *r) { api->replay = r; }

void hs_api_set_cluster(hs_api *api, struct hs_cluster *c, bool deliver_only) {
    api->cluster = c;
    api->deliver_only = deliver_only;
}

void hs_api_free(hs_api *api) {
    if (!api) return;
    hs__api_ingest_free(api);
    hs_free(api);
}
