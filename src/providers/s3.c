/* src/providers/s3.c — aws_s3: PutObject of each event to
 * {prefix}{YYYY}/{MM}/{DD}/{event_id}.json (the date the event was received,
 * UTC; a '/' is added to a prefix without one).
 *
 * format json writes {event_id, source_id, method, headers, body,
 * received_at} as application/json, body being the payload as JSON when it
 * is JSON, else as a string (base64 with body_encoding "base64" when it is
 * not UTF-8); format raw writes the payload's bytes with its content type.
 * The same event through two connections writes the same key: a retry or a
 * second copy overwrites with identical content.
 */
#include <string.h>

#include "base/alloc.h"
#include "providers/aws/aws.h"
#include "base/json_text.h"
#include "base/timeutil.h"
#include "base/url.h"

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* The S3 bucket naming rules beyond the character set and length. */
static int check_bucket(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *b = json_string_value(value);
    size_t n = strlen(b);
    const char *part[4];
    size_t len[4];
    if (!is_alnum(b[0]) || !is_alnum(b[n - 1]))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must begin and end with a letter or digit");
    if (strstr(b, "..") || strstr(b, ".-") || strstr(b, "-."))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not contain \"..\", \".-\" or \"-.\"");
    if (hs_aws_split(b, '.', part, len, 4) == 4 && hs_aws_span_in(part[0], len[0], "0-9") &&
        hs_aws_span_in(part[1], len[1], "0-9") && hs_aws_span_in(part[2], len[2], "0-9") &&
        hs_aws_span_in(part[3], len[3], "0-9"))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not look like an IP address");
    return HS_OK;
}

/* Object keys are "{prefix}YYYY/MM/DD/<event>.json"; a leading '/' would
 * make an empty first path segment. */
static int check_prefix(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (json_string_value(value)[0] == '/')
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not begin with '/'");
    return HS_OK;
}

/* Virtual-hosted style (bucket.s3.region.amazonaws.com) is AWS's default;
 * S3-compatible stores behind a custom endpoint almost always want paths. */
static json_t *default_path_style(const json_t *config) { return json_boolean(json_object_get(config, "endpoint")); }

static const char *const formats[] = {"json", "raw", NULL};

/* clang-format off */
static const hs_jv_field fields[] = {
    {.name = "bucket", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 3, .max = 63, .charset = "a-z0-9.-",
     .check = check_bucket},
    HS_AWS_COMMON_FIELDS,
    {.name = "prefix", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .max = 512, .dflt = "\"\"", .check = check_prefix},
    HS_JV_ENUM("format", formats, "\"json\""),
    {.name = "force_path_style", .type = HS_JV_BOOL, .derive = default_path_style},
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static void prepare_patch(json_t *config, const json_t *patch_config) {
    (void)patch_config;
    hs_jv_drop_derived(config, fields);
}

/* ---- delivery ---- */

/* https://bucket.s3.region.amazonaws.com/KEY, or path style
 * https://s3.region.amazonaws.com/bucket/KEY; an endpoint replaces the
 * host (virtual-hosted: the bucket goes in front of the endpoint's host). */
static int object_url(const json_t *config, const char *key, hs_buf *url) {
    const char *bucket = hs_jv_str(config, "bucket"), *region = hs_jv_str(config, "region");
    const char *endpoint = hs_jv_str(config, "endpoint");
    bool path_style = json_is_true(json_object_get(config, "force_path_style"));
    int rc = HS_OK;
    if (path_style) {
        char dflt[128];
        snprintf(dflt, sizeof dflt, "https://s3.%s.amazonaws.com", region);
        rc = hs_aws_base_url(config, dflt, url);
        if (rc == HS_OK) rc = hs_buf_appendf(url, "/%s/", bucket);
    } else if (endpoint) {
        const char *host = strstr(endpoint, "://") + 3;
        rc = hs_buf_append(url, endpoint, (size_t)(host - endpoint));
        if (rc == HS_OK) rc = hs_buf_appendf(url, "%s.", bucket);
        size_t n = strlen(host);
        while (n > 0 && host[n - 1] == '/') n--;
        if (rc == HS_OK) rc = hs_buf_append(url, host, n);
        if (rc == HS_OK) rc = hs_buf_append(url, "/", 1);
    } else {
        rc = hs_buf_appendf(url, "https://%s.s3.%s.amazonaws.com/", bucket, region);
    }
    return rc == HS_OK ? hs_aws_encode_path(key, url) : rc;
}

/* {prefix}YYYY/MM/DD/{event_id}.json; a prefix that does not end in '/'
 * gets one ("hooks" writes hooks/2026/...), as a folder name is meant. */
static char *object_key(const json_t *config, const hs_delivery_ctx *ctx) {
    char when[HS_ISO8601_MAX];
    hs_iso8601(ctx->received_at ? ctx->received_at : ctx->now_ms, when); /* "2026-11-27T..." */
    const char *prefix = hs_jv_str(config, "prefix") ? hs_jv_str(config, "prefix") : "";
    size_t n = strlen(prefix);
    const char *slash = n > 0 && prefix[n - 1] != '/' ? "/" : "";
    return hs_sprintf("%s%s%.4s/%.2s/%.2s/%s.json", prefix, slash, when, when + 5, when + 8, ctx->event_id);
}

/* The payload as a JSON value: parsed when it is JSON, else a string, else
 * (not UTF-8) base64 and *b64 set. */
static json_t *body_value(const hs_delivery_ctx *ctx, bool *b64) {
    *b64 = false;
    json_t *v = json_loadb(ctx->payload ? ctx->payload : "", ctx->payload_len, JSON_DECODE_ANY, NULL);
    return v ? v : hs_payload_text(ctx, b64);
}

static char *json_record(const hs_delivery_ctx *ctx) {
    bool b64;
    json_t *headers = ctx->event_headers_json ? json_loads(ctx->event_headers_json, 0, NULL) : NULL;
    json_t *rec = json_object();
    json_object_set_new(rec, "event_id", json_string(ctx->event_id));
    json_object_set_new(rec, "source_id", json_string(ctx->source_id ? ctx->source_id : ""));
    json_object_set_new(rec, "method", ctx->method ? json_string(ctx->method) : json_null());
    json_object_set_new(rec, "headers", headers ? headers : json_object());
    json_object_set_new(rec, "body", body_value(ctx, &b64));
    if (b64) json_object_set_new(rec, "body_encoding", json_string("base64"));
    json_object_set_new(rec, "received_at", hs_json_time(ctx->received_at));
    char *s = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    return s;
}

static int add(hs_out_req *req, const char *name, const char *value, int rc) {
    return rc == HS_OK ? hs_out_req_add_header(req, name, value, false) : rc;
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    bool raw = strcmp(hs_jv_str(config, "format") ? hs_jv_str(config, "format") : "json", "raw") == 0;
    char *key = object_key(config, ctx);
    hs_buf url;
    hs_buf_init(&url, HS_URL_MAX + 1024);
    int rc = object_url(config, key, &url);
    hs_free(key);
    req->method = hs_strdup("PUT");
    req->url = hs_buf_detach(&url, NULL);
    if (rc != HS_OK) return hs_error_set(err, HS_ERR_INVALID, "config", "%s", "the object URL is too long");
    if (raw) {
        req->body = ctx->payload_len ? hs_memdup(ctx->payload, ctx->payload_len) : NULL;
        req->body_len = ctx->payload_len;
    } else {
        req->body = json_record(ctx);
        req->body_len = strlen(req->body);
    }
    const char *ct = raw ? (ctx->content_type && ctx->content_type[0] ? ctx->content_type : "application/octet-stream")
                         : "application/json";
    rc = add(req, "Content-Type", ct, HS_OK);
    rc = add(req, "x-amz-meta-hookstream-event-id", ctx->event_id, rc);
    rc = add(req, "x-amz-meta-hookstream-delivery-id", ctx->delivery_id, rc);
    if (ctx->source_id) rc = add(req, "x-amz-meta-hookstream-source-id", ctx->source_id, rc);
    if (rc != HS_OK) return hs_error_set(err, rc, NULL, "%s", "too many headers");
    return hs_aws_sign(ctx, "s3", true, req, err);
}

static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    (void)ctx;
    return hs_aws_classify(resp, err);
}

const hs_provider hs_provider_aws_s3 = {.type = "aws_s3",
                                        .alias = "s3",
                                        .validate = validate,
                                        .secret_paths = hs_aws_secret_paths,
                                        .prepare_patch = prepare_patch,
                                        .build = build,
                                        .classify = classify};
