/* src/providers/rabbitmq.c — publish through the RabbitMQ management HTTP API.
 *
 * One attempt is one POST {url}/api/exchanges/{vhost}/{exchange}/publish
 * with Basic auth (docs/provider_rabbitmq.md). The message is persistent
 * (delivery_mode 2), its message_id is the delivery id (the same on every
 * retry, so a consumer can drop a duplicate), and its headers say which
 * event and destination it belongs to. The broker answers {"routed":bool};
 * an unroutable message is dropped by RabbitMQ, so routed:false is a
 * failure, and a retryable one: the queue it was meant for is usually
 * declared by a consumer that has not started yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/jsonv.h"
#include "providers/provider.h"
#include "base/version.h"

/* A base URL with a query would have the API path appended after it. */
static int check_base_url(const hs_jv_at *at, json_t *value, hs_error *err) {
    int rc = hs_jv_check_url(at, value, err);
    if (rc) return rc;
    if (strchr(json_string_value(value), '?'))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must be the management API's base URL, without a query");
    return HS_OK;
}

/* clang-format off */
static const hs_jv_field fields[] = {
    /* the management API base, e.g. http://host:15672 (with the path
     * prefix when management.path_prefix is set) */
    {.name = "url", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 1, .max = HS_URL_MAX,
     .check = check_base_url},
    HS_JV_STRD("vhost", HS_JV_NO_CTL, 1, 255, "\"/\""),
    /* "" is the default exchange (routes by queue name), hence required but
     * allowed empty; AMQP caps names and routing keys at 255 bytes */
    HS_JV_STR("exchange", HS_JV_REQUIRED | HS_JV_NO_CTL, 0, 255),
    HS_JV_STRD("routing_key", HS_JV_NO_CTL, 0, 255, "\"\""),
    HS_JV_BASIC_USER("username", HS_JV_REQUIRED, 255),
    HS_JV_SECRET("password", HS_JV_REQUIRED, 1024),
    HS_JV_INTR("timeout_ms", 100, 300000, "30000"),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static const char *const secrets[] = {"password", NULL};

/* ---- delivery ---- */

#define DEFAULT_TIMEOUT_MS 30000
#define REASON_MAX 200 /* of the broker's reason, in the attempt's error */

/* One path segment, percent-encoded: everything but RFC 3986 unreserved
 * characters, so "/" in a vhost becomes %2F as the API requires. A segment
 * of dots only ("." or "..") is encoded too, else the client would resolve
 * it as a relative path step. */
static int append_segment(hs_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    bool dots = s[0] != '\0' && strspn(s, ".") == strlen(s);
    int rc = hs_buf_append(b, "/", 1);
    for (const unsigned char *p = (const unsigned char *)s; rc == HS_OK && *p; p++) {
        bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                    *p == '_' || *p == '~' || (*p == '.' && !dots);
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        rc = keep ? hs_buf_append(b, p, 1) : hs_buf_append(b, esc, 3);
    }
    return rc;
}

/* {url}/api/exchanges/{vhost}/{exchange}/publish; the default exchange ""
 * is addressed by its alias amq.default. */
static char *publish_url(const json_t *config) {
    const char *base = hs_jv_str(config, "url"), *vhost = hs_jv_str(config, "vhost");
    const char *exchange = hs_jv_str(config, "exchange");
    if (!base || !exchange) return NULL;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    hs_buf b;
    /* two names of up to 255 characters, 4 bytes each, 3 when encoded */
    hs_buf_init(&b, HS_URL_MAX + 2 * 255 * 4 * 3 + 64);
    int rc = hs_buf_append(&b, base, n);
    if (rc == HS_OK) rc = hs_buf_appends(&b, "/api/exchanges");
    if (rc == HS_OK) rc = append_segment(&b, vhost ? vhost : "/");
    if (rc == HS_OK) rc = append_segment(&b, exchange[0] ? exchange : "amq.default");
    if (rc == HS_OK) rc = hs_buf_appends(&b, "/publish");
    if (rc != HS_OK) {
        hs_buf_free(&b);
        return NULL;
    }
    return hs_buf_detach(&b, NULL);
}

/* The AMQP properties: persistent, message_id = delivery id (stable across
 * retries), the event's content type and receive time, and headers naming
 * the event, delivery and destination. */
static json_t *properties(const hs_delivery_ctx *ctx) {
    const char *dest_id = hs_jv_str(ctx->destination, "id");
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", ctx->attempt);
    json_t *headers = json_pack("{s:s, s:s, s:s, s:s}", "hookstream-event-id", ctx->event_id, "hookstream-delivery-id",
                                ctx->delivery_id, "hookstream-destination-id", dest_id ? dest_id : "",
                                "hookstream-delivery-attempt", attempt);
    uint64_t when = ctx->received_at ? ctx->received_at : ctx->now_ms;
    json_t *p = json_pack("{s:i, s:s, s:s, s:I, s:o}", "delivery_mode", 2, "message_id", ctx->delivery_id, "app_id",
                          "hookstream", "timestamp", (json_int_t)(when / 1000), "headers", headers);
    if (ctx->content_type && ctx->content_type[0])
        json_object_set_new(p, "content_type", json_string(ctx->content_type));
    return p;
}

/* The payload as a JSON string when it is UTF-8 (jansson refuses anything
 * else), else base64. */
static json_t *message(const hs_delivery_ctx *ctx, const json_t *config) {
    const char *payload = ctx->payload ? ctx->payload : "";
    json_t *text = json_stringn(payload, ctx->payload_len);
    const char *encoding = "string";
    if (!text) {
        char *b64 = hs_base64_encode(payload, ctx->payload_len);
        text = json_string(b64);
        hs_free(b64);
        encoding = "base64";
    }
    const char *key = hs_jv_str(config, "routing_key");
    return json_pack("{s:o, s:s, s:o, s:s}", "properties", properties(ctx), "routing_key", key ? key : "", "payload",
                     text, "payload_encoding", encoding);
}

static int add_auth(hs_out_req *req, const json_t *config) {
    const char *user = hs_jv_str(config, "username"), *pass = hs_jv_str(config, "password");
    if (!user || !pass) return HS_ERR_INVALID;
    return hs_out_req_add_basic_auth(req, user, pass);
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    if (!ctx->event_id || !ctx->delivery_id)
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "delivery without an event or delivery id");
    req->url = publish_url(config);
    if (!req->url) return hs_error_set(err, HS_ERR_INVALID, "config.url", "cannot make the publish URL");
    req->method = hs_strdup("POST");
    json_int_t timeout = json_integer_value(json_object_get(config, "timeout_ms"));
    req->timeout_ms = timeout > 0 ? (uint64_t)timeout : DEFAULT_TIMEOUT_MS;
    json_t *msg = message(ctx, config);
    req->body = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!req->body) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode the message");
    req->body_len = strlen(req->body);
    if (add_auth(req, config) != HS_OK)
        return hs_error_set(err, HS_ERR_INVALID, "config.password", "the credentials are incomplete");
    int rc = hs_out_req_add_header(req, "Content-Type", "application/json", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "User-Agent", "hookstream/" HS_VERSION, false);
    return rc ? hs_error_set(err, rc, NULL, "too many headers") : HS_OK;
}

/* The broker's {"error": ..., "reason": ...}; reason may be a string or a
 * term rendered as JSON (["not_int","delivery_mode"]). */
static void error_of(const json_t *doc, char *code, size_t code_n, char *reason, size_t reason_n) {
    const char *e = hs_jv_str(doc, "error");
    snprintf(code, code_n, "%s", e ? e : "");
    const json_t *r = json_object_get(doc, "reason");
    char *dumped = r && !json_is_string(r) ? json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(reason, reason_n, "%s", json_is_string(r) ? json_string_value(r) : dumped ? dumped : "");
    hs_free(dumped);
}

/* A 400 whose reason is a channel or connection error that passes: the
 * AMQP reply codes 320 CONNECTION_FORCED (the node is shutting down), 405
 * RESOURCE_LOCKED, 506 RESOURCE_ERROR and 541 INTERNAL_ERROR. The others
 * (404 NOT_FOUND for a missing exchange, 403 ACCESS_REFUSED, a malformed
 * request, a body over the size limit) stay as they are until someone
 * changes the configuration or the broker. */
static bool transient_reason(const char *reason) {
    char *end;
    long code = strtol(reason, &end, 10);
    if (end == reason || *end != ' ') return false;
    return code == 320 || code == 405 || code == 506 || code == 541;
}

static int judge_error(const hs_out_resp *resp, const json_t *doc, hs_error *err) {
    char code[64], reason[REASON_MAX + 1];
    error_of(doc, code, sizeof code, reason, sizeof reason);
    bool retry = resp->status == 408 || resp->status == 429 || resp->status >= 500 ||
                 (resp->status == 400 && transient_reason(reason));
    return hs_error_set(err, retry ? HS_ERR_IO : HS_ERR_PERMANENT, NULL, "HTTP %d%s%s%s%s%s", resp->status,
                        code[0] ? " " : "", code, reason[0] ? ": " : "", reason, retry ? "" : " (not retried)");
}

static int judge_routed(const hs_delivery_ctx *ctx, const hs_out_resp *resp, const json_t *doc, hs_error *err) {
    const json_t *routed = json_object_get(doc, "routed");
    if (json_is_true(routed)) return HS_OK;
    if (!json_is_false(routed))
        return hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d without \"routed\": is url the RabbitMQ management API?",
                            resp->status);
    const json_t *config = json_object_get(ctx->destination, "config");
    const char *exchange = hs_jv_str(config, "exchange"), *key = hs_jv_str(config, "routing_key");
    if (!exchange || !exchange[0])
        return hs_error_set(err, HS_ERR_IO, NULL,
                            "not routed: no queue named '%.255s' (retried: it may "
                            "be declared later)",
                            key ? key : "");
    return hs_error_set(err, HS_ERR_IO, NULL,
                        "not routed: no queue is bound to exchange '%.255s' for "
                        "routing key '%.255s' (retried: a "
                        "queue may be bound later)",
                        exchange, key ? key : "");
}

/* 2xx with routed:true is success; routed:false, 408, 429 and 5xx are
 * retried; every other answer is permanent: a missing exchange (400
 * NOT_FOUND), wrong credentials or a vhost the user may not use (401), a
 * missing vhost or a wrong url (404, 405) do not fix themselves. */
static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    if (resp->error || resp->status == 0) return hs_provider_classify_2xx(resp, err);
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    int rc =
        resp->status >= 200 && resp->status <= 299 ? judge_routed(ctx, resp, doc, err) : judge_error(resp, doc, err);
    json_decref(doc);
    return rc;
}

const hs_provider hs_provider_rabbitmq = {
    .type = "rabbitmq", .validate = validate, .secret_paths = secrets, .build = build, .classify = classify};
