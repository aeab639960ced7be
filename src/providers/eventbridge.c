/* src/providers/eventbridge.c — aws_eventbridge: PutEvents (JSON 1.1) with one
 * entry {Source, DetailType, Detail, EventBusName} per delivery.
 *
 * Detail must be a JSON object: the payload when it is one, else
 * {"data": <the payload as JSON, or as a string>}, or {"data": <base64>,
 * "encoding": "base64"} when it is not UTF-8. PutEvents answers 200
 * even when the entry was refused: FailedEntryCount > 0 is a failure with
 * the entry's ErrorCode, retried when that code is transient.
 */
#include <string.h>

#include "base/alloc.h"
#include "providers/aws/aws.h"
#include "base/url.h"

#define BUS_NAME_CHARS "A-Za-z0-9/._-"

/* arn:<partition>:events:<region>:<12-digit account>:event-bus/<name> */
static bool valid_bus_arn(const char *s) {
    const char *p[6];
    size_t l[6];
    if (hs_aws_split(s, ':', p, l, 6) != 6) return false;
    return l[1] >= 3 && strncmp(p[1], "aws", 3) == 0 && l[2] == 6 && strncmp(p[2], "events", 6) == 0 &&
           hs_aws_span_in(p[3], l[3], "a-z0-9-") && l[4] == 12 && hs_aws_span_in(p[4], l[4], "0-9") && l[5] > 10 &&
           strncmp(p[5], "event-bus/", 10) == 0 && hs_aws_span_in(p[5] + 10, l[5] - 10, BUS_NAME_CHARS);
}

static int check_event_bus(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    bool ok = strncmp(s, "arn:", 4) == 0 ? valid_bus_arn(s) : hs_aws_span_in(s, strlen(s), BUS_NAME_CHARS);
    if (!ok)
        return hs_error_set(err, HS_ERR_INVALID, at->path,
                            "must be \"default\", an event bus name or an arn:aws:events:...:event-bus/... ARN");
    return HS_OK;
}

static int check_source(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (strncmp(json_string_value(value), "aws.", 4) == 0)
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not begin with \"aws.\" (reserved for AWS services)");
    return HS_OK;
}

/* clang-format off */
static const hs_jv_field fields[] = {
    {.name = "event_bus_arn", .type = HS_JV_STRING, .min = 1, .max = 1600, .dflt = "\"default\"",
     .check = check_event_bus},
    HS_AWS_COMMON_FIELDS,
    {.name = "source", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .min = 1, .max = 256, .dflt = "\"hookstream\"",
     .check = check_source},
    HS_JV_STRD("detail_type", HS_JV_NO_CTL, 1, 128, "\"hookstream.event\""),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

/* ---- delivery ---- */

static char *detail(const hs_delivery_ctx *ctx) {
    const char *p = ctx->payload ? ctx->payload : "";
    json_t *v = json_loadb(p, ctx->payload_len, JSON_DECODE_ANY, NULL);
    if (json_is_object(v)) {
        json_decref(v);
        return hs_strndup(p, ctx->payload_len);
    }
    bool b64 = false;
    if (!v) v = hs_payload_text(ctx, &b64);
    json_t *wrap = json_object();
    if (b64) json_object_set_new(wrap, "encoding", json_string("base64")); /* not UTF-8: said so */
    json_object_set_new(wrap, "data", v);
    char *s = json_dumps(wrap, JSON_COMPACT);
    json_decref(wrap);
    return s;
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    char *d = detail(ctx);
    json_t *entry =
        json_pack("{s:s, s:s, s:s, s:s}", "Source", hs_jv_str(config, "source"), "DetailType",
                  hs_jv_str(config, "detail_type"), "Detail", d, "EventBusName", hs_jv_str(config, "event_bus_arn"));
    hs_free(d);
    json_t *body = json_pack("{s:[o]}", "Entries", entry);
    char dflt[128];
    snprintf(dflt, sizeof dflt, "https://events.%s.amazonaws.com", hs_jv_str(config, "region"));
    hs_buf url;
    hs_buf_init(&url, HS_URL_MAX + 8);
    int rc = hs_aws_base_url(config, dflt, &url);
    if (rc == HS_OK) rc = hs_buf_append(&url, "/", 1);
    req->method = hs_strdup("POST");
    req->url = hs_buf_detach(&url, NULL);
    req->body = json_dumps(body, JSON_COMPACT);
    req->body_len = strlen(req->body);
    json_decref(body);
    if (rc != HS_OK) return hs_error_set(err, HS_ERR_INVALID, "config.endpoint", "%s", "is too long");
    rc = hs_out_req_add_header(req, "Content-Type", "application/x-amz-json-1.1", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "X-Amz-Target", "AWSEvents.PutEvents", false);
    if (rc != HS_OK) return hs_error_set(err, rc, NULL, "%s", "too many headers");
    return hs_aws_sign(ctx, "events", false, req, err);
}

static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    (void)ctx;
    int rc = hs_aws_classify(resp, err);
    if (rc != HS_OK) return rc;
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    json_t *failed = json_object_get(doc, "FailedEntryCount");
    if (!json_is_integer(failed)) {
        rc = hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d without a FailedEntryCount", resp->status);
    } else if (json_integer_value(failed) > 0) {
        const json_t *e = json_array_get(json_object_get(doc, "Entries"), 0);
        const char *code = hs_jv_str(e, "ErrorCode"), *msg = hs_jv_str(e, "ErrorMessage");
        bool retry = hs_aws_retryable_code(code);
        rc = hs_error_set(err, retry ? HS_ERR_IO : HS_ERR_PERMANENT, NULL, "PutEvents entry failed: %s%s%s%s",
                          code ? code : "(no error code)", msg ? ": " : "", msg ? msg : "",
                          retry ? "" : " (not retried)");
    }
    json_decref(doc);
    return rc;
}

const hs_provider hs_provider_aws_eventbridge = {.type = "aws_eventbridge",
                                                 .alias = "eventbridge",
                                                 .validate = validate,
                                                 .secret_paths = hs_aws_secret_paths,
                                                 .build = build,
                                                 .classify = classify};
