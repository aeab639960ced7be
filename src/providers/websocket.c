/* src/providers/websocket.c — broadcast to the WebSocket clients of a channel
 * (docs/provider_websocket.md).
 *
 * build makes the message every subscriber gets; deliver_local (the
 * server's loop thread, where the hub lives) hands it to the hub. The attempt records method "BROADCAST",
 * url "ws:channel/<name>" and a response {"subscribers":N,"dropped":M}.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/jsonv.h"
#include "providers/provider.h"
#include "ws/ws.h"

#define URL_PREFIX "ws:channel/"

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_CHARS("channel_name", HS_JV_REQUIRED, 1, 128, "A-Za-z0-9._:-"),
    /* optional, absent = false: stored configs stay as the user wrote them */
    {.name = "require_subscribers", .type = HS_JV_BOOL},
    HS_JV_END,
};
/* clang-format on */

/* Reserved channels (HS_WS_RESERVED_PREFIX) carry the server's own messages. */
static int validate(json_t *config, hs_error *err) {
    int rc = hs_jv_object(config, "config", fields, err);
    const char *channel = hs_jv_str(config, "channel_name");
    if (rc == HS_OK && hs_ws_channel_reserved(channel))
        return hs_error_set(err, HS_ERR_INVALID, "config.channel_name",
                            "must not begin with \"%s\" (reserved for hookstream's own channels)",
                            HS_WS_RESERVED_PREFIX);
    return rc;
}

static const char *const secrets[] = {NULL};

static bool is_json_type(const char *ct) {
    if (!ct || !*ct) return true; /* unknown: JSON if it parses */
    return strncasecmp(ct, "application/json", 16) == 0 || strstr(ct, "+json") != NULL;
}

/* The payload as the client will see it: the JSON value itself when the
 * body is JSON, else the text as a string, else (not UTF-8) base64 with
 * data.payload_encoding = "base64". */
static void put_payload(json_t *data, const hs_delivery_ctx *ctx) {
    const char *body = ctx->payload ? ctx->payload : "";
    json_t *v = NULL;
    if (ctx->payload_len && is_json_type(ctx->content_type))
        v = json_loadb(body, ctx->payload_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool b64 = false;
    if (!v) v = hs_payload_text(ctx, &b64);
    if (b64) json_object_set_new(data, "payload_encoding", json_string("base64"));
    json_object_set_new(data, "payload", v);
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    const char *channel = json_string_value(json_object_get(config, "channel_name"));
    const char *dest_id = json_string_value(json_object_get(ctx->destination, "id"));
    if (!channel) return hs_error_set(err, HS_ERR_PERMANENT, "config.channel_name", "is missing");
    json_t *data = json_pack("{s:s, s:s}", "event_id", ctx->event_id, "destination_id", dest_id ? dest_id : "");
    put_payload(data, ctx);
    json_t *msg = json_pack("{s:s, s:s, s:o}", "type", "event.delivered", "channel", channel, "data", data);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encode the message");
    req->method = hs_strdup("BROADCAST");
    req->url = hs_sprintf(URL_PREFIX "%s", channel);
    req->body = text;
    req->body_len = strlen(text);
    return hs_out_req_add_header(req, "Content-Type", "application/json", false);
}

static void deliver_local(void *env, const hs_out_req *req, hs_out_resp *resp) {
    hs_ws_hub *hub = env;
    if (!hub) {
        resp->error = HS_ERR_IO;
        snprintf(resp->errmsg, sizeof resp->errmsg, "the WebSocket hub is not running");
        return;
    }
    const char *channel = req->url + strlen(URL_PREFIX);
    size_t dropped = 0;
    size_t n = hs_ws_hub_broadcast(hub, channel, req->body, req->body_len, &dropped);
    resp->status = 200;
    resp->body = hs_sprintf("{\"subscribers\":%zu,\"dropped\":%zu}", n, dropped);
    resp->body_len = strlen(resp->body);
    static const char headers[] = "content-type\0application/json"; /* a header list (src/http/outbound.h) */
    resp->headers = hs_memdup(headers, sizeof headers);
    resp->headers_len = sizeof headers;
}

/* The broadcast always "answers" 200; with require_subscribers an event
 * that reached nobody is a (retryable) failure, so it waits for a client. */
static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    int rc = hs_provider_classify_2xx(resp, err);
    if (rc != HS_OK) return rc;
    const json_t *config = json_object_get(ctx->destination, "config");
    if (!json_is_true(json_object_get(config, "require_subscribers"))) return HS_OK;
    json_t *body = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    json_int_t n = json_integer_value(json_object_get(body, "subscribers"));
    json_decref(body);
    if (n > 0) return HS_OK;
    return hs_error_set(err, HS_ERR_IO, NULL, "no client is subscribed to channel \"%s\" (require_subscribers)",
                        json_string_value(json_object_get(config, "channel_name")));
}

const hs_provider hs_provider_websocket = {
    .type = "websocket",
    .validate = validate,
    .secret_paths = secrets,
    .build = build,
    .classify = classify,
    .deliver_local = deliver_local,
};
