/* src/providers/aws/aws.c — the shared half of the AWS providers (see src/providers/aws/aws.h). */
#include "providers/aws/aws.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "providers/aws/sigv4.h"
#include "base/url.h"
#include "base/version.h"

#define USER_AGENT "hookstream/" HS_VERSION

const char *const hs_aws_secret_paths[] = {"secret_access_key", "session_token", NULL};

size_t hs_aws_split(const char *s, char sep, const char **part, size_t *len, size_t max) {
    size_t n = 0;
    for (;;) {
        const char *end = strchr(s, sep);
        if (n < max) {
            part[n] = s;
            len[n] = end ? (size_t)(end - s) : strlen(s);
        }
        n++;
        if (!end) return n;
        s = end + 1;
    }
}

bool hs_aws_span_in(const char *s, size_t n, const char *charset) { return n > 0 && hs_jv_in_charset(s, n, charset); }

int hs_aws_base_url(const json_t *config, const char *dflt, hs_buf *out) {
    const char *endpoint = hs_jv_str(config, "endpoint");
    const char *base = endpoint ? endpoint : dflt;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    return hs_buf_append(out, base, n);
}

int hs_aws_encode_path(const char *s, hs_buf *out) { return hs_sigv4_uri_encode(out, s, strlen(s), true); }

int hs_aws_sign(const hs_delivery_ctx *ctx, const char *service, bool s3, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    json_int_t timeout = json_integer_value(json_object_get(config, "timeout_ms"));
    req->timeout_ms = timeout > 0 ? (uint64_t)timeout : 30000;
    hs_sigv4_key key = {.access_key_id = hs_jv_str(config, "access_key_id"),
                        .secret_access_key = hs_jv_str(config, "secret_access_key"),
                        .session_token = hs_jv_str(config, "session_token")};
    hs_sigv4_opts opts = {.region = hs_jv_str(config, "region"),
                          .service = service,
                          .now_unix = (int64_t)(ctx->now_ms / 1000),
                          .s3_path = s3};
    int rc = hs_out_req_add_header(req, "User-Agent", USER_AGENT, false);
    if (rc != HS_OK) return hs_error_set(err, rc, NULL, "%s", "too many headers");
    /* what is signed is what is sent: the header set made unique first */
    hs_out_req_unique_headers(req);
    return hs_sigv4_sign(req, &key, &opts, err);
}

/* ---- error answers ---- */

/* Throttling, timeouts and transient faults: worth another try. The rest
 * of AWS's 4xx codes describe the request or the credentials. */
bool hs_aws_retryable_code(const char *code) {
    static const char *const codes[] = {"Throttling",
                                        "ThrottlingException",
                                        "ThrottledException",
                                        "RequestThrottled",
                                        "RequestThrottledException",
                                        "TooManyRequestsException",
                                        "ProvisionedThroughputExceededException",
                                        "TransactionInProgressException",
                                        "RequestLimitExceeded",
                                        "BandwidthLimitExceeded",
                                        "LimitExceededException",
                                        "SlowDown",
                                        "RequestTimeout",
                                        "RequestTimeoutException",
                                        "PriorRequestNotComplete",
                                        "InternalFailure",
                                        "InternalError",
                                        "InternalServerError",
                                        "ServiceUnavailable",
                                        "ServiceUnavailableException",
                                        "RequestTimeTooSkewed",
                                        "KMS.ThrottlingException",
                                        "EC2ThrottledException",
                                        NULL};
    for (const char *const *c = codes; code && *c; c++)
        if (strcmp(code, *c) == 0) return true;
    return false;
}

static void copy_span(char *out, size_t cap, const char *s, size_t n) {
    if (n >= cap) n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Text between <tag> and </tag> in an XML body. */
static void xml_value(const char *body, const char *tag, char *out, size_t cap) {
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(body, open), *b = a ? strstr(a, close) : NULL;
    if (a && b) copy_span(out, cap, a + strlen(open), (size_t)(b - a - strlen(open)));
}

/* The error code and message of an AWS answer, from wherever the protocol
 * puts them: x-amzn-errortype / x-amzn-query-error headers, a JSON body's
 * __type and message (JSON protocols), an XML body's Code and Message (S3,
 * Query protocol). */
static void error_of(const hs_out_resp *resp, char *code, size_t ccap, char *msg, size_t mcap) {
    code[0] = msg[0] = '\0';
    const char *et = hs_headers_get(resp->headers, resp->headers_len, "x-amzn-errortype"),
               *qe = hs_headers_get(resp->headers, resp->headers_len, "x-amzn-query-error");
    if (qe) copy_span(code, ccap, qe, strcspn(qe, ";"));
    if (et) { /* "ns#Code:url": before the first ':', after the first '#' */
        size_t n = strcspn(et, ":");
        const char *hash = memchr(et, '#', n);
        if (hash) n -= (size_t)(hash + 1 - et);
        copy_span(code, ccap, hash ? hash + 1 : et, n);
    }
    if (!resp->body) return;
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (json_is_object(doc)) {
        const char *type = hs_jv_str(doc, "__type");
        if (!type) type = hs_jv_str(doc, "code");
        if (!type) type = hs_jv_str(doc, "Code");
        const char *hash = type ? strrchr(type, '#') : NULL;
        if (!code[0] && type) snprintf(code, ccap, "%s", hash ? hash + 1 : type);
        const char *m = hs_jv_str(doc, "message");
        if (!m) m = hs_jv_str(doc, "Message");
        if (m) snprintf(msg, mcap, "%s", m);
    } else if (!doc) {
        if (!code[0]) xml_value(resp->body, "Code", code, ccap);
        xml_value(resp->body, "Message", msg, mcap);
    }
    json_decref(doc);
}

int hs_aws_classify(const hs_out_resp *resp, hs_error *err) {
    int rc = hs_provider_classify_2xx(resp, err);
    if (rc == HS_OK || resp->error || resp->status == 0) return rc;
    char code[96], msg[200];
    error_of(resp, code, sizeof code, msg, sizeof msg);
    bool retry = resp->status >= 500 || resp->status == 429 || hs_aws_retryable_code(code);
    return hs_error_set(err, retry ? HS_ERR_IO : HS_ERR_PERMANENT, NULL, "HTTP %d %s%s%s%s", resp->status,
                        code[0] ? code : "(no error code)", msg[0] ? ": " : "", msg, retry ? "" : " (not retried)");
}
