/* src/api/ingest.c — ANY /v1/ingest/:source[/more/path]: store the request, answer
 * 200 only after the commit that holds the event and its deliveries.
 *
 * Runs on the loop thread the request arrived on (any of the server's
 * loops) and never blocks. First the source's front door (src/api/frontdoor.h:
 * IP lists 403, then rate limit 429), from memory, then its signature
 * (src/verify/verify.h, 401) and its JSON Schema (lib/jsonschema, 422 with
 * validation_errors, or stored marked schema_invalid when the source says
 * warn; the body parsed once more on this loop, and the validation bounded
 * in steps), then the dedup key (api/dedup.h), which the store claims in
 * the commit (a duplicate is stored, routed nowhere, and answered with the
 * event it repeats and "duplicate": true): a refused request stores nothing, and is
 * published on the refused hook (on loop 0) for the metrics and the live
 * feed. Then the store commits on its writer thread and calls
 * back here (on that loop) when the group is durable; the ingest hook
 * (src/core/hooks.h), on loop 0, then tells the metrics, the live feed and
 * the scheduler, before the 200 goes out. */
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "api/frontdoor.h"
#include "base/json_parse.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "verify/verify.h"

#define MAX_SOURCE_REF 64

static bool method_allowed(const char *m) {
    return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH") || !strcmp(m, "GET") || !strcmp(m, "DELETE");
}

/* {lowercase-name: value}; repeated headers are joined with ", " (RFC 9110
 * §5.3), which is how their values combine anyway. Built by hand: this runs
 * for every ingested request. */
static char *headers_json(const hs_http_req *req) {
    hs_buf b;
    hs_buf_init(&b, SIZE_MAX);
    hs_buf_append(&b, "{", 1);
    char name[256];
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = strcasecmp(req->headers[j].name, n) == 0;
        if (seen) continue; /* already written, joined with this one */
        size_t len = strnlen(n, sizeof name - 1);
        for (size_t k = 0; k < len; k++) name[k] = (char)((n[k] >= 'A' && n[k] <= 'Z') ? n[k] + 32 : n[k]);
        if (i) hs_buf_append(&b, ",", 1);
        hs_json_append_text(&b, name, len);
        hs_buf_append(&b, ":", 1);
        const char *v = req->headers[i].value;
        size_t vlen = strlen(v);
        size_t dups = 0;
        for (size_t j = i + 1; j < req->nheaders; j++) dups += strcasecmp(req->headers[j].name, n) == 0;
        if (!dups) {
            hs_json_append_text(&b, v, vlen);
            continue;
        }
        hs_buf joined;
        hs_buf_init(&joined, SIZE_MAX);
        hs_buf_append(&joined, v, vlen);
        for (size_t j = i + 1; j < req->nheaders; j++) {
            if (strcasecmp(req->headers[j].name, n) != 0) continue;
            hs_buf_append(&joined, ", ", 2);
            hs_buf_appends(&joined, req->headers[j].value);
        }
        hs_json_append_text(&b, joined.data, joined.len);
        hs_buf_free(&joined);
    }
    hs_buf_append(&b, "}", 1);
    return b.data;
}

/* ---- publishing, on loop 0, in commit order ---- */

/* Ingests complete on the loop each arrived on, so they reach loop 0 in
 * any order; the scheduler needs a destination's deliveries in commit
 * order (its window reads the queue from where the last one left it). So
 * the hook fires in commit order (hs_ingest.commit_no): one that comes
 * early waits in a heap for those before it, which are on their way. */
static bool held_before(const hs_ingest *a, const hs_ingest *b) { return a->commit_no < b->commit_no; }

static void held_push(hs_api *api, hs_ingest *ing) {
    if (api->nheld == api->held_cap) {
        api->held_cap = api->held_cap ? api->held_cap * 2 : 16;
        api->held = hs_realloc(api->held, api->held_cap * sizeof *api->held);
    }
    size_t i = api->nheld++;
    api->held[i] = ing;
    while (i > 0 && held_before(api->held[i], api->held[(i - 1) / 2])) {
        hs_ingest *t = api->held[i];
        api->held[i] = api->held[(i - 1) / 2];
        api->held[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static hs_ingest *held_pop(hs_api *api) {
    hs_ingest *top = api->held[0];
    api->held[0] = api->held[--api->nheld];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < api->nheld && held_before(api->held[l], api->held[m])) m = l;
        if (r < api->nheld && held_before(api->held[r], api->held[m])) m = r;
        if (m == i) break;
        hs_ingest *t = api->held[i];
        api->held[i] = api->held[m];
        api->held[m] = t;
        i = m;
    }
    return top;
}

static void fire(hs_api *api, hs_ingest *ing) {
    api->ingest_next = ing->commit_no + 1;
    hs_hooks_ingest(api->hooks, ing);
    hs_ingest_free(ing);
}

/* Takes ing over. */
static void publish(hs_api *api, hs_ingest *ing) {
    if (ing->commit_no == api->ingest_next && api->nheld == 0) return fire(api, ing);
    held_push(api, ing);
    while (api->nheld && api->held[0]->commit_no <= api->ingest_next) fire(api, held_pop(api));
}

/* An ingest committed on another loop, to publish on loop 0. */
typedef struct published {
    hs_msg msg;
    hs_api *api;
    hs_ingest *ing;
} published;

static void run_published(hs_msg *m) {
    published *x = (published *)m;
    publish(x->api, x->ing);
    hs_free(x);
}

void hs__api_ingest_free(hs_api *api) {
    while (api->nheld) hs_ingest_free(held_pop(api));
    hs_free(api->held);
}

/* ---- answering ---- */

static void ingest_done(hs_ingest *ing, int status) {
    hs_http_req *req = ing->ud;
    hs_api *api = ing->ud2;
    if (status == HS_OK) {
        char body[192];
        /* a duplicate is answered as the event it repeats was */
        int n = ing->duplicate
                    ? snprintf(body, sizeof body, "{\"event_id\":\"%s\",\"source_id\":\"%s\",\"duplicate\":true}",
                               ing->duplicate_of, ing->source_id)
                    : snprintf(body, sizeof body, "{\"event_id\":\"%s\",\"source_id\":\"%s\"}", ing->event_id,
                               ing->source_id);
        /* committed: the deliveries are the scheduler's from here on. The
         * hook fires on loop 0 before the answer leaves, or is posted there
         * before it: whatever the client does after the answer comes after
         * the hook */
        if (hs_mailbox_current() == api->home) {
            publish(api, ing);
        } else {
            published *x = hs_malloc(sizeof *x);
            x->api = api;
            x->ing = ing;
            hs_mailbox_post(api->home, &x->msg, run_published);
        }
        ing = NULL; /* loop 0's now */
        hs_http_respond(req, 200, "application/json", body, (size_t)n, NULL, 0);
    } else {
        hs_error err = ing->err;
        if (err.code == HS_OK) err.code = status;
        if (status == HS_ERR_NOTFOUND) hs_error_set(&err, HS_ERR_NOTFOUND, "", "no source \"%s\"", ing->source_ref);
        if (status == HS_ERR_IO)
            hs_logj(HS_LOG_ERROR, json_pack("{s:s, s:s}", "request_id", req->request_id, "error", err.msg),
                    "ingest commit failed");
        hs_api_respond_error(req, &err);
    }
    hs_ingest_free(ing);
}

/* ---- refusals ---- */

/* A refusal on its way to loop 0's refused hook. */
typedef struct refusal {
    hs_msg msg;
    hs_api *api;
    hs_refusal_event e;
    char source_id[HS_ID_MAX];
    char request_id[HS_REQUEST_ID_MAX];
    char *message;
} refusal;

static void run_refusal(hs_msg *m) {
    refusal *r = (refusal *)m;
    /* on loop 0, after any delete of the source that came first: a deleted
     * source's series must not come back (docs/api.md "Metrics") */
    if (hs_frontdoor_knows(r->api->frontdoor, r->source_id)) hs_hooks_refused(r->api->hooks, &r->e);
    hs_free(r->message);
    hs_free(r);
}

/* reason: static. Only sources with a front door (v->source_id) refuse. */
static void publish_refusal(hs_api *api, const hs_http_req *req, const char *source_id, int status, const char *reason,
                            const char *message) {
    if (!source_id[0] || !api->hooks || !api->hooks->refused.n) return;
    refusal *r = hs_calloc(1, sizeof *r);
    r->api = api;
    snprintf(r->source_id, sizeof r->source_id, "%s", source_id);
    snprintf(r->request_id, sizeof r->request_id, "%s", req->request_id);
    r->message = hs_strdup(message);
    r->e = (hs_refusal_event){.source_id = r->source_id,
                              .status = status,
                              .reason = reason,
                              .message = r->message,
                              .request_id = r->request_id,
                              .at_ms = hs_now_ms()};
    if (hs_mailbox_current() == api->home)
        run_refusal(&r->msg);
    else
        hs_mailbox_post(api->home, &r->msg, run_refusal);
}

/* 401: what failed, and the reason as the metrics count it. */
static void refuse_signature(hs_api *api, hs_http_req *req, const char *source_id, const hs_verify_outcome *o) {
    const char *reason = hs_verify_status_reason(o->status);
    publish_refusal(api, req, source_id, 401, reason, o->message);
    json_t *more = json_pack("{s:s}", "reason", reason);
    hs_api_respond_more(req, 401, o->message, more);
    json_decref(more);
}

/* The body (parsed: NULL when it is not JSON, perr saying why) against
 * schema: NULL when it is valid, else the validation_errors [{path,
 * message}] (at most HS_JSONSCHEMA_MAX_ERRORS; a body that is not JSON is
 * one error at the root). */
static json_t *schema_errors(const hs_jsonschema *schema, const json_t *body, const hs_json_perr *perr) {
    if (!body) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body is not JSON: %s at byte %zu", perr->text, perr->position);
        return json_pack("[{s:s, s:s}]", "path", "", "message", msg);
    }
    hs_jsonschema_result res;
    hs_jsonschema_validate(schema, body, &res);
    if (res.valid) return NULL;
    json_t *errors = json_array();
    for (size_t i = 0; i < res.nerrors; i++)
        json_array_append_new(errors,
                              json_pack("{s:s, s:s}", "path", res.errors[i].path, "message", res.errors[i].message));
    return errors;
}

/* 422 with the validation errors (errors is stolen). */
static void refuse_schema(hs_api *api, hs_http_req *req, const char *source_id, json_t *errors) {
    static const char msg[] = "the body does not match the source's JSON schema";
    publish_refusal(api, req, source_id, 422, "schema_invalid", msg);
    json_t *more = json_pack("{s:o}", "validation_errors", errors);
    hs_api_respond_more(req, 422, msg, more);
    json_decref(more);
}

/* 403 (IP lists) or 429 (rate limit, with Retry-After and RateLimit-*). */
static void refuse(hs_http_req *req, const hs_frontdoor_verdict *v) {
    if (v->status != 429) return hs_api_respond_status(req, v->status, v->error, NULL, 0);
    char after[24], limit[24], remaining[24], reset[24];
    snprintf(after, sizeof after, "%llu", (unsigned long long)v->retry_after_s);
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)v->limit);
    snprintf(remaining, sizeof remaining, "%llu", (unsigned long long)v->remaining);
    snprintf(reset, sizeof reset, "%llu", (unsigned long long)v->reset_s);
    hs_http_header h[] = {
        {"Retry-After", after},
        {"RateLimit-Limit", limit},
        {"RateLimit-Remaining", remaining},
        {"RateLimit-Reset", reset},
    };
    hs_api_respond_status(req, 429, v->error, h, sizeof h / sizeof h[0]);
}

void hs_ingest_handle(hs_api *api, hs_http_req *req, const char *rest) {
    hs_error err;
    hs_error_clear(&err);
    if (!method_allowed(req->method)) {
        hs_api_respond_not_allowed(req, "GET, POST, PUT, PATCH, DELETE");
        return;
    }
    const char *slash = strchr(rest, '/');
    size_t reflen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (reflen == 0 || reflen > MAX_SOURCE_REF) {
        hs_error_set(&err, HS_ERR_NOTFOUND, "", "%s", "no such source");
        hs_api_respond_error(req, &err);
        return;
    }
    /* the front door: IP lists (403), then the rate limit (429), before
     * anything is queued for the writer */
    char client_ip[HS_CIDR_TEXT_MAX];
    hs_frontdoor_client_ip(api->frontdoor, req, client_ip);
    hs_frontdoor_verdict v;
    hs_frontdoor_check(api->frontdoor, rest, reflen, client_ip, &v);
    if (v.status) {
        publish_refusal(api, req, v.source_id, v.status, v.reason, v.error);
        return refuse(req, &v);
    }
    /* then the sender's signature (401), on this loop: an HMAC over the
     * body */
    hs_verify_outcome o = {.status = HS_VERIFY_PASS};
    bool verified = v.verifier != NULL;
    if (v.verifier) hs_verifier_run(v.verifier, req, (int64_t)(hs_now_ms() / 1000), &o);
    hs_verifier_unref(v.verifier);
    if (o.status != HS_VERIFY_PASS) {
        hs_frontdoor_schema_release(v.schema);
        return refuse_signature(api, req, v.source_id, &o);
    }
    /* then the body against the source's JSON Schema (reject: 422; warn:
     * stored and marked), parsed once for it and for a dedup key in it */
    hs_json_perr perr;
    json_t *body = v.schema || v.dedup.strategy == HS_DEDUP_BODY_FIELD
                       ? hs_json_parse(req->body ? req->body : "", req->body_len, &perr)
                       : NULL;
    json_t *invalid = v.schema ? schema_errors(v.schema->compiled, body, &perr) : NULL;
    bool warn = v.schema && v.schema->warn;
    hs_frontdoor_schema_release(v.schema);
    if (invalid && !warn) {
        json_decref(body);
        return refuse_schema(api, req, v.source_id, invalid);
    }
    hs_ingest *ing = hs_ingest_new();
    ing->verification_status = invalid ? "schema_invalid" : verified ? "verified" : "unverified";
    ing->unchecked = !v.source_id[0]; /* no settings here: the store refuses it if the source exists */
    json_decref(invalid);
    /* then its dedup key: the store decides whether it is a duplicate */
    if (hs_dedup_key(&v.dedup, req, body, ing->dedup_key)) ing->dedup_window_ms = v.dedup.window_ms;
    json_decref(body);
    ing->source_ref = hs_strndup(rest, reflen);
    ing->method = hs_strdup(req->method);
    ing->path = hs_strdup(req->path);
    ing->query = hs_strdup(req->query);
    ing->headers_json = headers_json(req);
    ing->body = hs_memdup(req->body, req->body_len + 1);
    ing->body_len = req->body_len;
    ing->source_ip = hs_strdup(client_ip);
    const char *ct = hs_http_req_header(req, "content-type");
    ing->content_type = hs_strdup(ct ? ct : "");
    ing->received_at = hs_now_ms();
    ing->arrived_ns = req->received_ns;
    ing->cb = ingest_done;
    ing->ud = req;
    ing->ud2 = api;
    int rc = hs_store_ingest(api->store, ing);
    if (rc) {
        if (rc == HS_ERR_INVALID) /* the request's text is not UTF-8: its own message */
            err = ing->err;
        else
            hs_error_set(&err, rc, "", "%s",
                         rc == HS_ERR_BUSY ? "too many events waiting to be stored; retry shortly"
                                           : "the server is shutting down");
        hs_ingest_free(ing);
        hs_api_respond_error(req, &err);
    }
}
