/* src/providers/kafka.c — kafka: produce one record per delivery through a
 * Confluent REST Proxy, API v3 (docs/provider_kafka.md).
 *
 * POST {rest_url}/v3/clusters/{cluster_id}/topics/{topic}/records with one
 * ProduceRequest object (never the streaming mode): the value is the payload
 * as {"type":"JSON"} when it is JSON, else its bytes as {"type":"BINARY"}
 * (base64); headers hookstream-event-id and hookstream-destination-id; the
 * key, when config.key is set, is that JSONata expression's result. The
 * proxy answers 200 with a delivery report whose own error_code tells
 * whether the record was written (200) or not.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/jsonv.h"
#include "providers/provider.h"
#include "rules/transform.h"
#include "base/version.h"

/* Kafka's own rule: [A-Za-z0-9._-]{1,249} except "." and "..". */
static int check_topic(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not be \".\" or \"..\"");
    return HS_OK;
}

/* The API path is appended to it: a query string would end up in the middle. */
static int check_base_url(const hs_jv_at *at, json_t *value, hs_error *err) {
    int rc = hs_jv_check_url(at, value, err);
    if (rc == HS_OK && strchr(json_string_value(value), '?'))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not have a query string (/v3/... is appended to it)");
    return rc;
}

/* A syntax error belongs to the request that stores the expression (a 400
 * naming config.key), not to every delivery after it. */
static int check_key(const hs_jv_at *at, json_t *value, hs_error *err) {
    return hs_transform_compile(json_string_value(value), at->path, NULL, err);
}

/* clang-format off */
#define BASE_URL(n, fl) \
    {.name = (n), .type = HS_JV_STRING, .flags = (fl), .min = 1, .max = HS_URL_MAX, .check = check_base_url}

static const hs_jv_field fields[] = {
    BASE_URL("rest_url", HS_JV_REQUIRED),
    HS_JV_CHARS("cluster_id", HS_JV_REQUIRED, 1, 255, "A-Za-z0-9._-"),
    {.name = "topic", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 1, .max = 249, .charset = "A-Za-z0-9._-",
     .check = check_topic},
    /* Basic auth to the proxy (Confluent Cloud API key and secret) */
    HS_JV_BASIC_USER("api_key", HS_JV_NO_SPACE, 256),
    HS_JV_SECRET("api_secret", HS_JV_NO_SPACE, 1024),
    /* record key: a JSONata expression over the payload, run per delivery */
    {.name = "key", .type = HS_JV_STRING, .min = 1, .max = 4096, .check = check_key},
    BASE_URL("endpoint", 0),
    HS_JV_INTR("timeout_ms", 100, 300000, "30000"),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) {
    int rc = hs_jv_object(config, "config", fields, err);
    return rc ? rc : hs_jv_together(config, "config", "api_key", "api_secret", err);
}

static const char *const secrets[] = {"api_secret", NULL};

/* ---- delivery ---- */

#define USER_AGENT "hookstream/" HS_VERSION
#define DEFAULT_TIMEOUT_MS 30000

/* {endpoint or rest_url}/v3/clusters/{cluster_id}/topics/{topic}/records;
 * both names are restricted to [A-Za-z0-9._-], which needs no escaping. */
static char *records_url(const json_t *config) {
    const char *endpoint = hs_jv_str(config, "endpoint");
    const char *base = endpoint ? endpoint : hs_jv_str(config, "rest_url");
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    return hs_sprintf("%.*s/v3/clusters/%s/topics/%s/records", (int)n, base, hs_jv_str(config, "cluster_id"),
                      hs_jv_str(config, "topic"));
}

/* ProduceRequestHeader: the value is bytes, so base64. */
static json_t *record_header(const char *name, const char *value) {
    char *b64 = hs_base64_encode(value, strlen(value));
    json_t *h = json_pack("{s:s, s:s}", "name", name, "value", b64);
    hs_free(b64);
    return h;
}

/* The record key from config.key, run with the same input and variables as
 * a transform. A string result is a STRING key (its UTF-8 bytes, as other
 * producers key by id), anything else a JSON key. Failing to evaluate fails
 * the attempt like a failing transform does: retried, so that fixing the
 * expression lets the delivery through. */
static int record_key(const hs_delivery_ctx *ctx, const char *expr, json_t **out, hs_error *err) {
    hs_jsonata *tf = NULL;
    int rc = hs_transform_compile(expr, "config.key", &tf, err);
    if (rc != HS_OK) {
        char copy[HS_ERROR_MSG_MAX];
        snprintf(copy, sizeof copy, "%s", err->msg);
        return hs_error_set(err, rc, "config.key", "config.key %s", copy);
    }
    hs_transform_vars vars = {.headers_json = ctx->event_headers_json,
                              .event_id = ctx->event_id,
                              .source_id = ctx->source_id,
                              .inputs = json_object_get(ctx->destination, "template_inputs")};
    char *text = NULL;
    rc = hs_transform_run(tf, ctx->payload, ctx->payload_len, &vars, &text, err);
    hs_jsonata_free(tf);
    if (rc != HS_OK) {
        const char *why = strncmp(err->msg, "transform failed: ", 18) == 0 ? err->msg + 18 : err->msg;
        char copy[HS_ERROR_MSG_MAX];
        snprintf(copy, sizeof copy, "%s", why);
        return hs_error_set(err, rc, "config.key", "the record key (config.key) failed: %s", copy);
    }
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    hs_free(text);
    if (!v) return hs_error_set(err, HS_ERR_INTERNAL, "config.key", "%s", "the record key is not JSON");
    *out = json_pack("{s:s, s:o}", "type", json_is_string(v) ? "STRING" : "JSON", "data", v);
    return HS_OK;
}

/* The value: the payload's own JSON text when it is JSON (spliced as is, so
 * numbers and member order arrive exactly as received), else its bytes. */
static int append_value(hs_buf *b, const hs_delivery_ctx *ctx) {
    const char *p = ctx->payload ? ctx->payload : "";
    json_t *parsed = ctx->payload_len ? json_loadb(p, ctx->payload_len, JSON_DECODE_ANY, NULL) : NULL;
    int rc;
    if (parsed) {
        rc = hs_buf_appends(b, "{\"type\":\"JSON\",\"data\":");
        if (rc == HS_OK) rc = hs_buf_append(b, p, ctx->payload_len);
    } else {
        char *b64 = hs_base64_encode(p, ctx->payload_len);
        rc = hs_buf_appendf(b, "{\"type\":\"BINARY\",\"data\":\"%s\"", b64);
        hs_free(b64);
    }
    json_decref(parsed);
    return rc == HS_OK ? hs_buf_append(b, "}", 1) : rc;
}

/* One ProduceRequest: {"headers":[...],"key":{...}?,"value":{...}}. The
 * partition is left to the proxy (by key hash, or spread when there is no
 * key) and so is the timestamp (the time of the produce, not of a retry's
 * first try: an old CreateTime may be refused by the topic). */
static int record_body(const hs_delivery_ctx *ctx, const json_t *config, hs_buf *b, hs_error *err) {
    const char *dest_id = hs_jv_str(ctx->destination, "id"), *expr = hs_jv_str(config, "key");
    json_t *head = json_object();
    json_object_set_new(head, "headers",
                        json_pack("[o, o]", record_header("hookstream-event-id", ctx->event_id),
                                  record_header("hookstream-destination-id", dest_id ? dest_id : "")));
    json_t *key = NULL;
    int rc = expr ? record_key(ctx, expr, &key, err) : HS_OK;
    if (key) json_object_set_new(head, "key", key);
    char *text = rc == HS_OK ? json_dumps(head, JSON_COMPACT) : NULL;
    json_decref(head);
    if (rc != HS_OK) return rc;
    size_t n = strlen(text);
    hs_buf_init(b, n + ctx->payload_len / 3 * 4 + 64);
    /* "...}" becomes "...,\"value\":<value>}" */
    rc = hs_buf_append(b, text, n - 1);
    hs_free(text);
    if (rc == HS_OK) rc = hs_buf_appends(b, ",\"value\":");
    if (rc == HS_OK) rc = append_value(b, ctx);
    if (rc == HS_OK) rc = hs_buf_append(b, "}", 1);
    if (rc == HS_OK) return HS_OK;
    hs_buf_free(b);
    return hs_error_set(err, rc, NULL, "%s", "the record is too large");
}

static int add_headers(const json_t *config, hs_out_req *req) {
    int rc = hs_out_req_add_header(req, "Content-Type", "application/json", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "Accept", "application/json", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "User-Agent", USER_AGENT, false);
    const char *user = hs_jv_str(config, "api_key"), *pass = hs_jv_str(config, "api_secret");
    if (rc != HS_OK || !user || !pass) return rc;
    return hs_out_req_add_basic_auth(req, user, pass);
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    if (!hs_jv_str(config, "rest_url") || !hs_jv_str(config, "cluster_id") || !hs_jv_str(config, "topic"))
        return hs_error_set(err, HS_ERR_INVALID, "config", "%s", "rest_url, cluster_id and topic are required");
    if (!ctx->event_id) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "%s", "delivery without an event id");
    hs_buf body;
    int rc = record_body(ctx, config, &body, err);
    if (rc != HS_OK) return rc;
    json_int_t timeout = json_integer_value(json_object_get(config, "timeout_ms"));
    req->method = hs_strdup("POST");
    req->url = records_url(config);
    req->timeout_ms = timeout > 0 ? (uint64_t)timeout : DEFAULT_TIMEOUT_MS;
    req->body = hs_buf_detach(&body, &req->body_len);
    rc = add_headers(config, req);
    return rc == HS_OK ? HS_OK : hs_error_set(err, rc, NULL, "%s", "too many headers");
}

/* Kafka REST error codes are an HTTP status or status*100 + a detail
 * (40403, 50003); either way the status says who is at fault. A 4xx (bad
 * request, credentials, ACLs, unknown topic, too large) or a 3xx (a
 * redirect: rest_url is wrong) is not cured by sending the same record
 * again, except 408 and 429; a 5xx, including
 * 50002 (a Kafka error the proxy calls not retriable: retrying a bit costs
 * less than dead-lettering what a broker hiccup refused) is retried. */
static bool permanent(long code) {
    long status = code >= 10000 ? code / 100 : code;
    return status >= 300 && status < 500 && status != 408 && status != 429;
}

/* " error_code N: message" of an error or delivery report, or "". */
static void describe(const json_t *doc, char *out, size_t cap) {
    const json_t *code = json_object_get(doc, "error_code");
    const char *msg = hs_jv_str(doc, "message");
    out[0] = '\0';
    if (json_is_integer(code))
        snprintf(out, cap, " error_code %lld%s%.200s", (long long)json_integer_value(code), msg ? ": " : "",
                 msg ? msg : "");
}

/* The delivery report of our one record (the first JSON value of the body,
 * should a proxy send more). */
static int judge_report(const hs_out_resp *resp, hs_error *err) {
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    const json_t *code = json_object_get(doc, "error_code");
    int rc = HS_OK;
    if (!json_is_integer(code)) {
        rc = hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d without a delivery report (no error_code)", resp->status);
    } else if (json_integer_value(code) != 200) {
        char what[256];
        describe(doc, what, sizeof what);
        bool perm = permanent((long)json_integer_value(code));
        rc = hs_error_set(err, perm ? HS_ERR_PERMANENT : HS_ERR_IO, NULL, "record not produced:%s%s", what,
                          perm ? " (not retried)" : "");
    }
    json_decref(doc);
    return rc;
}

static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    (void)ctx;
    if (resp->error || resp->status == 0) return hs_provider_classify_2xx(resp, err);
    if (resp->status >= 200 && resp->status <= 299) return judge_report(resp, err);
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    char what[256];
    describe(doc, what, sizeof what);
    json_decref(doc);
    bool perm = permanent(resp->status);
    return hs_error_set(err, perm ? HS_ERR_PERMANENT : HS_ERR_IO, NULL, "HTTP %d%s%s", resp->status, what,
                        perm ? " (not retried)" : "");
}

const hs_provider hs_provider_kafka = {.type = "kafka",
                                       .validate = validate,
                                       .secret_paths = secrets,
                                       .build = build,
                                       .classify = classify,
                                       .slow_build = true};
