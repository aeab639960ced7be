/* src/providers/sqs.c — aws_sqs: SendMessage over the JSON 1.0 protocol.
 *
 * The message body is the payload (a transform's output when there is one),
 * with the attributes hookstream-event-id and hookstream-destination-id. SQS
 * takes only XML-safe Unicode text, so a body that is not (binary, control
 * characters) is sent base64-encoded with hookstream-body-encoding=base64.
 * For a FIFO queue the message group is message_group_id and the
 * deduplication id is the delivery id, so that a retry of a send that did
 * arrive (an answer lost to a timeout) is dropped by SQS within its 5-minute
 * deduplication window instead of queued twice.
 */
#include <string.h>

#include "base/alloc.h"
#include "providers/aws/aws.h"
#include "base/base64.h"
#include "base/url.h"

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_URL("queue_url", HS_JV_REQUIRED),
    HS_AWS_COMMON_FIELDS,
    /* FIFO queues: 1..128 printable ASCII characters, no space */
    HS_JV_CHARS("message_group_id", 0, 1, 128, "!-~"),
    HS_JV_END,
};
/* clang-format on */

static bool is_fifo(const char *queue_url) {
    size_t n = strlen(queue_url);
    while (n > 0 && queue_url[n - 1] == '/') n--;
    return n >= 5 && strncmp(queue_url + n - 5, ".fifo", 5) == 0;
}

static int validate(json_t *config, hs_error *err) {
    int rc = hs_jv_object(config, "config", fields, err);
    if (rc == HS_OK && is_fifo(hs_jv_str(config, "queue_url")) && !hs_jv_str(config, "message_group_id"))
        return hs_error_set(err, HS_ERR_INVALID, "config.message_group_id", "is required for a FIFO queue (.fifo)");
    return rc;
}

/* "scheme://host[:port]" of the queue URL: where the JSON protocol posts
 * when no endpoint is configured (sqs.<region>.amazonaws.com for AWS). */
static int origin(const char *queue_url, hs_buf *out) {
    hs_url u;
    const char *why;
    if (hs_url_parse(queue_url, &u, &why) != HS_OK) return HS_ERR_INVALID;
    return hs_buf_append(out, queue_url, (size_t)(u.rest - queue_url));
}

/* SQS's allowed characters: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD and above;
 * the UTF-8 check itself is jansson's (which also refuses surrogates). */
static json_t *text_body(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return NULL;
        /* U+FFFE and U+FFFF: EF BF BE, EF BF BF */
        if (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbf && ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
            return NULL;
    }
    return json_stringn(s, n);
}

static json_t *attribute(const char *value) {
    return json_pack("{s:s, s:s}", "DataType", "String", "StringValue", value);
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    const char *queue_url = hs_jv_str(config, "queue_url"), *group = hs_jv_str(config, "message_group_id");
    const char *dest_id = hs_jv_str(ctx->destination, "id");
    json_t *attrs = json_object();
    json_object_set_new(attrs, "hookstream-event-id", attribute(ctx->event_id));
    if (dest_id) json_object_set_new(attrs, "hookstream-destination-id", attribute(dest_id));
    json_t *body = text_body(ctx->payload ? ctx->payload : "", ctx->payload_len);
    if (!body) {
        char *b64 = hs_base64_encode(ctx->payload, ctx->payload_len);
        body = json_string(b64);
        hs_free(b64);
        json_object_set_new(attrs, "hookstream-body-encoding", attribute("base64"));
    }
    json_t *msg = json_pack("{s:s, s:o, s:o}", "QueueUrl", queue_url, "MessageBody", body, "MessageAttributes", attrs);
    if (group) {
        json_object_set_new(msg, "MessageGroupId", json_string(group));
        json_object_set_new(msg, "MessageDeduplicationId", json_string(ctx->delivery_id));
    }
    hs_buf url;
    hs_buf_init(&url, HS_URL_MAX + 64);
    int rc = json_object_get(config, "endpoint") ? hs_aws_base_url(config, "", &url) : origin(queue_url, &url);
    if (rc == HS_OK) rc = hs_buf_append(&url, "/", 1);
    req->method = hs_strdup("POST");
    req->url = hs_buf_detach(&url, NULL);
    req->body = json_dumps(msg, JSON_COMPACT);
    req->body_len = strlen(req->body);
    json_decref(msg);
    if (rc != HS_OK)
        return hs_error_set(err, HS_ERR_INVALID, "config.queue_url", "%s", "cannot make the SQS endpoint URL");
    /* exactly this content type: with parameters some implementations
     * fall back to the Query protocol */
    rc = hs_out_req_add_header(req, "Content-Type", "application/x-amz-json-1.0", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "X-Amz-Target", "AmazonSQS.SendMessage", false);
    if (rc != HS_OK) hs_error_set(err, rc, NULL, "%s", "too many headers");
    return rc == HS_OK ? hs_aws_sign(ctx, "sqs", false, req, err) : rc;
}

/* A 200 without a MessageId is not an accepted message. */
static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    (void)ctx;
    int rc = hs_aws_classify(resp, err);
    if (rc != HS_OK) return rc;
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    bool ok = hs_jv_str(doc, "MessageId") != NULL;
    json_decref(doc);
    return ok ? HS_OK : hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d without a MessageId", resp->status);
}

const hs_provider hs_provider_aws_sqs = {.type = "aws_sqs",
                                         .alias = "sqs",
                                         .validate = validate,
                                         .secret_paths = hs_aws_secret_paths,
                                         .build = build,
                                         .classify = classify};
