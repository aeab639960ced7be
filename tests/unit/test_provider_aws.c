/* test_provider_aws.c — the delivery half of the AWS destination types
 * (src/providers/sqs.c, src/providers/s3.c, src/providers/eventbridge.c build and classify,
 * src/providers/aws/aws.c's shared fields, URL and error rules).
 *
 * Destination docs go through hs_resource_create_doc, so the builders see
 * exactly what the store holds. The SigV4 algorithm itself is tested in
 * test_sigv4.c; here the signature's scope and signed headers are checked,
 * and one full Authorization per service family was computed outside
 * hookstream with botocore (command beside it). JSON in these tests is
 * written with ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "test_util.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/base64.h"
#include "base/digest.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "core/resource.h"

#define EVT "evt_00112233445566778899aabbccddeeff"
#define DLV "dlv_0123456789abcdef0123456789abcdef"
#define SRC "src_0123456789abcdef0123456789abcdef"
#define DST "dst_0123456789abcdef0123456789abcdef"
#define NOW_MS 1700000000123u
/* date -u -d @1700000000 +%Y%m%dT%H%M%SZ */
#define AMZ_DATE "20231114T221320Z"
#define SCOPE_DATE "20231114"
/* a minute before 2027 in UTC: $(( $(date -u -d 2026-12-31T23:59:59Z +%s) * 1000 + 999 )) */
#define RECEIVED_MS 1798761599999u
#define RECEIVED_ISO "2026-12-31T23:59:59.999Z"
#define BODY "{\"id\":1}"
#define UA "hookstream/0.1.0"

#define AKID "AKIDEXAMPLE"
#define SECRET_KEY "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "FwoGZXIvYXdzEJr-session-token"
#define KEYS "'region':'eu-west-1','access_key_id':'" AKID "','secret_access_key':'" SECRET_KEY "'"
#define QUEUE_URL "https://sqs.eu-west-1.amazonaws.com/123456789012/q"

/* ---- helpers ---- */

#define DEST(text) hs_test_dest(text, DST, __LINE__)

/* What validation says about a POST body that it refuses. */
static int dest_err(const char *text, hs_error *err) {
    json_t *body = J(text), *doc = NULL;
    hs_error_clear(err);
    int rc = hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, err);
    json_decref(body);
    json_decref(doc);
    return rc;
}

static hs_delivery_ctx ctx_for(const json_t *doc) {
    return (hs_delivery_ctx){
        .destination = doc,
        .event_id = EVT,
        .delivery_id = DLV,
        .connection_id = "conn_0123456789abcdef0123456789abcdef",
        .source_id = SRC,
        .attempt = 1,
        .now_ms = NOW_MS,
        .payload = BODY,
        .payload_len = strlen(BODY),
        .content_type = "application/json",
        .event_headers_json = "{\"content-type\":\"application/json\",\"x-github-event\":\"push\"}",
        .method = "POST",
        .received_at = RECEIVED_MS,
    };
}

static int build_with(const hs_provider *p, const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    hs_error_clear(err);
    return hs_provider_build(p, ctx, req, err);
}

/* Builds or fails the test. */
static void build_ok_at(const hs_provider *p, const hs_delivery_ctx *ctx, hs_out_req *req, int line) {
    hs_error err;
    int rc = build_with(p, ctx, req, &err);
    if (rc != HS_OK) fail_msg("line %d: build failed: %d at '%s': %s", line, rc, err.field, err.msg);
}
#define BUILD_OK(p, ctx, req) build_ok_at(p, ctx, req, __LINE__)

/* Authorization is "<prefix>" followed by 64 lower-case hex digits. */
static void expect_auth_at(const hs_out_req *req, const char *prefix, int line) {
    const char *a = hs_out_req_header(req, "Authorization");
    if (!a) fail_msg("line %d: no Authorization", line);
    size_t n = strlen(prefix);
    if (strncmp(a, prefix, n) != 0)
        fail_msg("line %d: Authorization is\n  %s\nwant it to begin\n  %s", line, a, prefix);
    if (strlen(a + n) != 64 || strspn(a + n, "0123456789abcdef") != 64)
        fail_msg("line %d: the signature of '%s' is not 64 hex digits", line, a);
}
#define EXPECT_AUTH(req, prefix) expect_auth_at(req, prefix, __LINE__)

#define CREDENTIAL(region, service)                                                                                    \
    "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE_DATE "/" region "/" service "/aws4_request"

/* The hex SHA-256 of the request's body, into out. */
static const char *body_sha(const hs_out_req *req, char out[65]) {
    hs_sha256_hex(req->body ? req->body : "", req->body_len, out);
    return out;
}

/* The request's body, parsed (any JSON value); fails the test when it is not JSON. */
static json_t *body_json_at(const hs_out_req *req, int line) {
    json_error_t je;
    json_t *v = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("line %d: body is not JSON (%s): %.*s", line, je.text, (int)req->body_len, req->body);
    return v;
}
#define BODY_JSON(req) body_json_at(req, __LINE__)

/* got equals the JSON text want (written with '); got is released. */
static void expect_json_at(json_t *got, const char *want_text, int line) {
    json_t *w = J(want_text);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY), *ws = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY);
        print_message("got:  %s\nwant: %s\n", g, ws);
        hs_free(g);
        hs_free(ws);
        fail_msg("line %d: JSON differs", line);
    }
    json_decref(w);
    json_decref(got);
}
#define EXPECT_JSON(got, want_text) expect_json_at(got, want_text, __LINE__)

/* Runs p's classify on an answer; headers and body may be NULL. */
static int classify(const hs_provider *p, int status, const char *headers, const char *body, hs_error *err) {
    json_t *doc = J("{'type':'aws_sqs','config':{}}");
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = DLV};
    hs_out_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.status = status;
    if (headers) { /* given as a JSON object, kept as a header list (src/http/outbound.h) */
        json_t *o = json_loads(headers, 0, NULL);
        assert_non_null(o);
        hs_buf list;
        hs_buf_init(&list, SIZE_MAX);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) {
            hs_buf_append(&list, k, strlen(k) + 1);
            hs_buf_append(&list, json_string_value(v), strlen(json_string_value(v)) + 1);
        }
        json_decref(o);
        resp.headers = hs_buf_detach(&list, &resp.headers_len);
    }
    resp.body = body ? hs_strdup(body) : NULL;
    resp.body_len = body ? strlen(body) : 0;
    hs_error_clear(err);
    int rc = p->classify(&ctx, &resp, err);
    if (rc != HS_OK) assert_int_equal(err->code, rc);
    hs_out_resp_free(&resp);
    json_decref(doc);
    return rc;
}

static void assert_contains(const char *s, const char *part) {
    if (!strstr(s, part)) fail_msg("'%s' does not contain '%s'", s, part);
}

/* ---- the table ---- */

static void test_provider_table(void **state) {
    (void)state;
    static const struct {
        const char *type, *alias;
        const hs_provider *p;
    } t[] = {{"aws_sqs", "sqs", &hs_provider_aws_sqs},
             {"aws_s3", "s3", &hs_provider_aws_s3},
             {"aws_eventbridge", "eventbridge", &hs_provider_aws_eventbridge}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_ptr_equal(hs_provider_find(t[i].type), t[i].p);
        assert_ptr_equal(hs_provider_find(t[i].alias), t[i].p);
        assert_non_null(t[i].p->build);
        assert_non_null(t[i].p->classify);
        assert_false(t[i].p->slow_build);
    }
}

/* ---- aws_sqs ---- */

#define SQS_DOC(extra) "{'type':'aws_sqs','name':'q','config':{'queue_url':'" QUEUE_URL "'," KEYS extra "}}"
#define SQS_SIGNED "content-type;host;user-agent;x-amz-content-sha256;x-amz-date;x-amz-target"

static void test_sqs_build(void **state) {
    (void)state;
    json_t *doc = DEST(SQS_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    char sha[65];
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "https://sqs.eu-west-1.amazonaws.com/");
    assert_int_equal(req.timeout_ms, 30000);
    EXPECT_HEADERS(&req, {"Content-Type", "application/x-amz-json-1.0", false},
                   {"X-Amz-Target", "AmazonSQS.SendMessage", false}, {"User-Agent", UA, false},
                   {"Host", "sqs.eu-west-1.amazonaws.com", false}, {"X-Amz-Date", AMZ_DATE, false},
                   {"X-Amz-Content-Sha256", body_sha(&req, sha), false}, {"Authorization", NULL, true});
    EXPECT_AUTH(&req, CREDENTIAL("eu-west-1", "sqs") ", SignedHeaders=" SQS_SIGNED ", Signature=");
    EXPECT_JSON(BODY_JSON(&req), "{'QueueUrl':'" QUEUE_URL "','MessageBody':'{\\'id\\':1}','MessageAttributes':{"
                                 "'hookstream-event-id':{'DataType':'String','StringValue':'" EVT "'},"
                                 "'hookstream-destination-id':{'DataType':'String','StringValue':'" DST "'}}}");
    hs_out_req_free(&req);
    json_decref(doc);
}

/* The full signatures of the SQS and S3 requests above, computed with
 * botocore 1.43 from the same method, URL, headers and body: SigV4Auth
 * ("sqs") and S3SigV4Auth ("s3") with headers_to_sign overridden to sign
 * every header but Authorization (botocore leaves User-Agent out; hookstream
 * signs it), request.context["timestamp"] = AMZ_DATE, then
 * auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req).
 * Exact values also pin the body's bytes (key order included). */
#define SQS_SIGNATURE "59b80ce6621e911ca85a4a4bcf9565546877dfe7e2f399049fc808c8e12e11af"
#define S3_SIGNATURE "1380eea4713a1e66bc10d119045774511480aaa7abeced539aaa61d85bc1f252"

static void test_sqs_signature_exact(void **state) {
    (void)state;
    json_t *doc = DEST(SQS_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Authorization"),
                        CREDENTIAL("eu-west-1", "sqs") ", SignedHeaders=" SQS_SIGNED ", Signature=" SQS_SIGNATURE);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_sqs_endpoint_and_token(void **state) {
    (void)state;
    json_t *doc = DEST(SQS_DOC(",'endpoint':'http://127.0.0.1:9324//','session_token':'" TOKEN "'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    char sha[65];
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    assert_string_equal(req.url, "http://127.0.0.1:9324/");
    EXPECT_HEADERS(&req, {"Content-Type", "application/x-amz-json-1.0", false},
                   {"X-Amz-Target", "AmazonSQS.SendMessage", false}, {"User-Agent", UA, false},
                   {"Host", "127.0.0.1:9324", false}, {"X-Amz-Date", AMZ_DATE, false},
                   {"X-Amz-Content-Sha256", body_sha(&req, sha), false}, {"X-Amz-Security-Token", TOKEN, true},
                   {"Authorization", NULL, true});
    EXPECT_AUTH(&req, CREDENTIAL("eu-west-1", "sqs") ", SignedHeaders=content-type;host;user-agent;"
                                                     "x-amz-content-sha256;x-amz-date;x-amz-security-token;"
                                                     "x-amz-target, Signature=");
    /* the queue URL is still the one in the body */
    json_t *b = BODY_JSON(&req);
    assert_string_equal(json_string_value(json_object_get(b, "QueueUrl")), QUEUE_URL);
    json_decref(b);
    hs_out_req_free(&req);
    json_decref(doc);

    /* an endpoint with a path keeps it */
    doc = DEST(SQS_DOC(",'endpoint':'https://proxy.example.com/aws/sqs/'"));
    ctx = ctx_for(doc);
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    assert_string_equal(req.url, "https://proxy.example.com/aws/sqs/");
    assert_string_equal(hs_out_req_header(&req, "Host"), "proxy.example.com");
    assert_null(hs_out_req_header(&req, "X-Amz-Security-Token"));
    hs_out_req_free(&req);
    json_decref(doc);

    /* a queue URL with a port and no endpoint: its origin, port included */
    doc = DEST("{'type':'aws_sqs','name':'q','config':{'queue_url':'http://localhost:4566/000000000000/q',"
               "'region':'us-east-1','access_key_id':'test','secret_access_key':'test'}}");
    ctx = ctx_for(doc);
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    assert_string_equal(req.url, "http://localhost:4566/");
    assert_string_equal(hs_out_req_header(&req, "Host"), "localhost:4566");
    EXPECT_AUTH(&req, "AWS4-HMAC-SHA256 Credential=test/" SCOPE_DATE
                      "/us-east-1/sqs/aws4_request, SignedHeaders=" SQS_SIGNED ", Signature=");
    hs_out_req_free(&req);
    json_decref(doc);
}

/* The message body as SQS receives it: text when SQS accepts it, else
 * base64 with hookstream-body-encoding=base64. */
static const char *message_body(const hs_provider *p, const char *payload, size_t len, bool *b64, char **alloc) {
    json_t *doc = DEST(SQS_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.payload = payload;
    ctx.payload_len = len;
    hs_out_req req;
    BUILD_OK(p, &ctx, &req);
    json_t *b = BODY_JSON(&req);
    json_t *attrs = json_object_get(b, "MessageAttributes");
    json_t *enc = json_object_get(attrs, "hookstream-body-encoding");
    *b64 = enc != NULL;
    if (enc) {
        json_t *expected = J("{'DataType':'String','StringValue':'base64'}");
        assert_true(json_equal(enc, expected));
        json_decref(expected);
    }
    assert_int_equal(json_object_size(attrs), enc ? 3 : 2);
    *alloc = hs_strdup(json_string_value(json_object_get(b, "MessageBody")));
    json_decref(b);
    hs_out_req_free(&req);
    json_decref(doc);
    return *alloc;
}

static void test_sqs_body_encoding(void **state) {
    (void)state;
    bool b64;
    char *s;
    /* binary: 0x00 and 0xff */
    static const char bin[] = {'a', '\0', 'b', '\xff'};
    assert_string_equal(message_body(&hs_provider_aws_sqs, bin, sizeof bin, &b64, &s), "YQBi/w==");
    assert_true(b64);
    hs_free(s);
    /* valid UTF-8 with a control character SQS refuses */
    assert_string_equal(message_body(&hs_provider_aws_sqs, "a\x01z", 3, &b64, &s), "YQF6");
    assert_true(b64);
    hs_free(s);
    /* not UTF-8, no control character */
    assert_string_equal(message_body(&hs_provider_aws_sqs, "caf\xe9", 4, &b64, &s), "Y2Fm6Q==");
    assert_true(b64);
    hs_free(s);
    /* U+FFFE and U+FFFF are UTF-8 but not characters SQS takes */
    assert_string_equal(message_body(&hs_provider_aws_sqs, "a\xef\xbf\xbe", 4, &b64, &s), "Ye+/vg==");
    assert_true(b64);
    hs_free(s);
    assert_string_equal(message_body(&hs_provider_aws_sqs, "\xef\xbf\xbf", 3, &b64, &s), "77+/");
    assert_true(b64);
    hs_free(s);
    /* text: tabs, newlines, CR and non-ASCII are fine */
    const char *text = "line 1\tx\r\nline 2 \xc3\xbc \xe2\x82\xac";
    assert_string_equal(message_body(&hs_provider_aws_sqs, text, strlen(text), &b64, &s), text);
    assert_false(b64);
    hs_free(s);
    /* empty payload: an empty message body (SQS refuses it, but that is
     * SQS's answer to judge) */
    assert_string_equal(message_body(&hs_provider_aws_sqs, "", 0, &b64, &s), "");
    assert_false(b64);
    hs_free(s);
}

static void test_sqs_fifo(void **state) {
    (void)state;
    json_t *doc = DEST("{'type':'sqs','name':'q','config':{'queue_url':'" QUEUE_URL ".fifo'," KEYS
                       ",'message_group_id':'orders'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    json_t *b = BODY_JSON(&req);
    assert_string_equal(json_string_value(json_object_get(b, "QueueUrl")), QUEUE_URL ".fifo");
    assert_string_equal(json_string_value(json_object_get(b, "MessageGroupId")), "orders");
    assert_string_equal(json_string_value(json_object_get(b, "MessageDeduplicationId")), DLV);
    assert_int_equal(json_object_size(b), 5);
    json_decref(b);
    hs_out_req_free(&req);
    /* a retry is the same delivery: the same deduplication id */
    ctx.attempt = 3;
    ctx.now_ms = NOW_MS + 60000;
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    b = BODY_JSON(&req);
    assert_string_equal(json_string_value(json_object_get(b, "MessageDeduplicationId")), DLV);
    json_decref(b);
    assert_string_equal(hs_out_req_header(&req, "X-Amz-Date"), "20231114T221420Z");
    hs_out_req_free(&req);
    json_decref(doc);

    /* a standard queue: neither key */
    doc = DEST(SQS_DOC(""));
    ctx = ctx_for(doc);
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    b = BODY_JSON(&req);
    assert_null(json_object_get(b, "MessageGroupId"));
    assert_null(json_object_get(b, "MessageDeduplicationId"));
    assert_int_equal(json_object_size(b), 3);
    json_decref(b);
    hs_out_req_free(&req);
    json_decref(doc);

    /* a FIFO queue needs a message group */
    hs_error err;
    assert_int_equal(
        dest_err("{'type':'aws_sqs','name':'q','config':{'queue_url':'" QUEUE_URL ".fifo'," KEYS "}}", &err),
        HS_ERR_INVALID);
    assert_string_equal(err.field, "config.message_group_id");
    assert_int_equal(
        dest_err("{'type':'aws_sqs','name':'q','config':{'queue_url':'" QUEUE_URL ".fifo/'," KEYS "}}", &err),
        HS_ERR_INVALID);
    assert_string_equal(err.field, "config.message_group_id");
}

static void test_sqs_classify(void **state) {
    (void)state;
    const hs_provider *p = &hs_provider_aws_sqs;
    hs_error err;
    assert_int_equal(classify(p, 200, NULL, "{\"MessageId\":\"x\",\"MD5OfMessageBody\":\"y\"}", &err), HS_OK);
    /* a 200 that did not take the message */
    assert_int_equal(classify(p, 200, NULL, "{}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 without a MessageId");
    assert_int_equal(classify(p, 200, NULL, NULL, &err), HS_ERR_IO);
    assert_int_equal(classify(p, 200, NULL, "<html>proxy</html>", &err), HS_ERR_IO);

    /* AWS JSON 1.0 errors: the code from the body's __type */
    const char *missing = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\","
                          "\"message\":\"The specified queue does not exist.\"}";
    assert_int_equal(classify(p, 400, "{\"content-type\":\"application/x-amz-json-1.0\"}", missing, &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 400 QueueDoesNotExist: The specified queue does not exist. (not retried)");
    /* ... or the x-amzn-errortype header (Smithy: before ':', after '#') */
    assert_int_equal(classify(p, 400, "{\"x-amzn-errortype\":\"com.amazonaws.sqs#QueueDoesNotExist:http://internal/\"}",
                              missing, &err),
                     HS_ERR_PERMANENT);
    assert_contains(err.msg, "HTTP 400 QueueDoesNotExist");
    assert_contains(err.msg, "The specified queue does not exist.");
    assert_int_equal(classify(p, 400, "{\"x-amzn-errortype\":\"QueueDoesNotExist\"}", "{}", &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 400 QueueDoesNotExist (not retried)");
    assert_int_equal(classify(p, 403, "{\"x-amzn-errortype\":\"InvalidClientTokenId:\"}",
                              "{\"message\":\"The security token included in the request is invalid.\"}", &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(
        err.msg, "HTTP 403 InvalidClientTokenId: The security token included in the request is invalid. (not retried)");

    /* throttling, server faults and 429 are retried */
    assert_int_equal(
        classify(p, 400, NULL, "{\"__type\":\"com.amazonaws.sqs#ThrottlingException\",\"message\":\"slow\"}", &err),
        HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 400 ThrottlingException: slow");
    assert_int_equal(classify(p, 400, "{\"x-amzn-errortype\":\"com.amazonaws.sqs#ThrottlingException\"}", NULL, &err),
                     HS_ERR_IO);
    assert_contains(err.msg, "HTTP 400 ThrottlingException");
    assert_int_equal(classify(p, 500, NULL, "{\"__type\":\"com.amazonaws.sqs#InternalError\"}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 500 InternalError");
    assert_int_equal(classify(p, 500, NULL, NULL, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 500 (no error code)");
    assert_int_equal(classify(p, 429, NULL, "{\"__type\":\"com.amazonaws.sqs#RequestThrottled\"}", &err), HS_ERR_IO);
    assert_int_equal(classify(p, 429, NULL, NULL, &err), HS_ERR_IO);
    assert_int_equal(classify(p, 503, NULL, "<html>Service Unavailable</html>", &err), HS_ERR_IO);
}

/* ---- aws_s3 ---- */

#define S3_DOC(extra) "{'type':'aws_s3','name':'b','config':{'bucket':'my-events'," KEYS extra "}}"
#define S3_KEY "2026/12/31/" EVT ".json"
#define S3_SIGNED                                                                                                      \
    "content-type;host;user-agent;x-amz-content-sha256;x-amz-date;x-amz-meta-hookstream-delivery-id;"                  \
    "x-amz-meta-hookstream-event-id;x-amz-meta-hookstream-source-id"

static char *s3_url(const char *extra, const hs_delivery_ctx *base) {
    char *text = hs_sprintf(S3_DOC("%s"), extra);
    json_t *doc = DEST(text);
    hs_free(text);
    hs_delivery_ctx ctx = base ? *base : ctx_for(doc);
    ctx.destination = doc;
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    char *url = hs_strdup(req.url);
    hs_out_req_free(&req);
    json_decref(doc);
    return url;
}
#define EXPECT_S3_URL(extra, want)                                                                                     \
    do {                                                                                                               \
        char *u_ = s3_url(extra, NULL);                                                                                \
        assert_string_equal(u_, want);                                                                                 \
        hs_free(u_);                                                                                                   \
    } while (0)

static void test_s3_build(void **state) {
    (void)state;
    json_t *doc = DEST(S3_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    char sha[65];
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.method, "PUT");
    assert_string_equal(req.url, "https://my-events.s3.eu-west-1.amazonaws.com/" S3_KEY);
    assert_int_equal(req.timeout_ms, 30000);
    EXPECT_HEADERS(&req, {"Content-Type", "application/json", false}, {"x-amz-meta-hookstream-event-id", EVT, false},
                   {"x-amz-meta-hookstream-delivery-id", DLV, false}, {"x-amz-meta-hookstream-source-id", SRC, false},
                   {"User-Agent", UA, false}, {"Host", "my-events.s3.eu-west-1.amazonaws.com", false},
                   {"X-Amz-Date", AMZ_DATE, false}, {"X-Amz-Content-Sha256", body_sha(&req, sha), false},
                   {"Authorization", NULL, true});
    EXPECT_AUTH(&req, CREDENTIAL("eu-west-1", "s3") ", SignedHeaders=" S3_SIGNED ", Signature=");
    EXPECT_JSON(BODY_JSON(&req), "{'event_id':'" EVT "','source_id':'" SRC "','method':'POST',"
                                 "'headers':{'content-type':'application/json','x-github-event':'push'},"
                                 "'body':{'id':1},'received_at':'" RECEIVED_ISO "'}");
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_s3_signature_exact(void **state) {
    (void)state;
    json_t *doc = DEST(S3_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Authorization"),
                        CREDENTIAL("eu-west-1", "s3") ", SignedHeaders=" S3_SIGNED ", Signature=" S3_SIGNATURE);
    hs_out_req_free(&req);
    json_decref(doc);
}

/* The key's date is the received date in UTC, whatever the local zone and
 * whenever the attempt runs. */
static void test_s3_key_date(void **state) {
    (void)state;
    const char *tz = getenv("TZ");
    char *saved = tz ? hs_strdup(tz) : NULL;
    setenv("TZ", "UTC-14", 1); /* POSIX: 14 hours east, already 2027 there */
    tzset();
    json_t *doc = DEST(S3_DOC(",'prefix':'in/'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.now_ms = NOW_MS; /* 2023: not the date used */
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.url, "https://my-events.s3.eu-west-1.amazonaws.com/in/" S3_KEY);
    json_t *b = BODY_JSON(&req);
    assert_string_equal(json_string_value(json_object_get(b, "received_at")), RECEIVED_ISO);
    json_decref(b);
    hs_out_req_free(&req);

    /* a millisecond later it is 2027 */
    ctx.received_at = RECEIVED_MS + 1;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.url, "https://my-events.s3.eu-west-1.amazonaws.com/in/2027/01/01/" EVT ".json");
    hs_out_req_free(&req);

    /* no received time: the attempt's */
    ctx.received_at = 0;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.url, "https://my-events.s3.eu-west-1.amazonaws.com/in/2023/11/14/" EVT ".json");
    b = BODY_JSON(&req);
    assert_true(json_is_null(json_object_get(b, "received_at")));
    json_decref(b);
    hs_out_req_free(&req);
    json_decref(doc);

    if (saved) {
        setenv("TZ", saved, 1);
        hs_free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void test_s3_urls(void **state) {
    (void)state;
    EXPECT_S3_URL("", "https://my-events.s3.eu-west-1.amazonaws.com/" S3_KEY);
    EXPECT_S3_URL(",'force_path_style':false", "https://my-events.s3.eu-west-1.amazonaws.com/" S3_KEY);
    EXPECT_S3_URL(",'force_path_style':true", "https://s3.eu-west-1.amazonaws.com/my-events/" S3_KEY);
    /* an endpoint: path style unless told otherwise */
    EXPECT_S3_URL(",'endpoint':'http://127.0.0.1:9000'", "http://127.0.0.1:9000/my-events/" S3_KEY);
    EXPECT_S3_URL(",'endpoint':'http://127.0.0.1:9000/'", "http://127.0.0.1:9000/my-events/" S3_KEY);
    EXPECT_S3_URL(",'endpoint':'http://127.0.0.1:9000','force_path_style':true",
                  "http://127.0.0.1:9000/my-events/" S3_KEY);
    EXPECT_S3_URL(",'endpoint':'http://127.0.0.1:9000','force_path_style':false",
                  "http://my-events.127.0.0.1:9000/" S3_KEY);
    EXPECT_S3_URL(",'endpoint':'https://storage.example.com/','force_path_style':false",
                  "https://my-events.storage.example.com/" S3_KEY);

    /* the prefix is percent-encoded, '/' kept, upper-case hex */
    EXPECT_S3_URL(",'prefix':'my events/a+b(c)/\xc3\xbc/'",
                  "https://my-events.s3.eu-west-1.amazonaws.com/my%20events/a%2Bb%28c%29/%C3%BC/" S3_KEY);
    EXPECT_S3_URL(",'prefix':'x-_.~y/','force_path_style':true",
                  "https://s3.eu-west-1.amazonaws.com/my-events/x-_.~y/" S3_KEY);
    /* a prefix without a trailing '/' gets one (docs/provider_aws.md): a folder, not
     * the start of a file name */
    EXPECT_S3_URL(",'prefix':'hooks'", "https://my-events.s3.eu-west-1.amazonaws.com/hooks/" S3_KEY);
    EXPECT_S3_URL(",'prefix':'a/b','force_path_style':true",
                  "https://s3.eu-west-1.amazonaws.com/my-events/a/b/" S3_KEY);
    EXPECT_S3_URL(",'prefix':'a//'", "https://my-events.s3.eu-west-1.amazonaws.com/a//" S3_KEY);
    EXPECT_S3_URL(",'prefix':''", "https://my-events.s3.eu-west-1.amazonaws.com/" S3_KEY);

    /* Host follows the URL */
    json_t *doc = DEST(S3_DOC(",'endpoint':'http://127.0.0.1:9000'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Host"), "127.0.0.1:9000");
    hs_out_req_free(&req);
    json_decref(doc);
}

/* The json-format record PutObject writes for a payload, parsed. */
static json_t *s3_record(const char *payload, size_t len, const char *headers_json, const char *method) {
    json_t *doc = DEST(S3_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.payload = payload;
    ctx.payload_len = len;
    ctx.event_headers_json = headers_json;
    ctx.method = method;
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Content-Type"), "application/json");
    json_t *b = BODY_JSON(&req);
    hs_out_req_free(&req);
    json_decref(doc);
    return b;
}

static void test_s3_json_format(void **state) {
    (void)state;
    const char *hdrs = "{\"user-agent\":\"curl/8\"}";
    /* JSON payloads are embedded as JSON, whatever their type */
    EXPECT_JSON(s3_record("[1,{\"a\":null}]", 14, hdrs, "PUT"),
                "{'event_id':'" EVT "','source_id':'" SRC "','method':'PUT','headers':{'user-agent':'curl/8'},"
                "'body':[1,{'a':null}],'received_at':'" RECEIVED_ISO "'}");
    EXPECT_JSON(s3_record("42", 2, hdrs, "POST"),
                "{'event_id':'" EVT "','source_id':'" SRC "','method':'POST',"
                "'headers':{'user-agent':'curl/8'},'body':42,'received_at':'" RECEIVED_ISO "'}");
    /* text that is not JSON: a string */
    EXPECT_JSON(s3_record("a=1&b=\xc3\xbc", 8, hdrs, "POST"),
                "{'event_id':'" EVT "','source_id':'" SRC "','method':'POST','headers':{'user-agent':'curl/8'},"
                "'body':'a=1&b=\xc3\xbc','received_at':'" RECEIVED_ISO "'}");
    /* not UTF-8: base64, said so */
    static const char bin[] = {'\x00', '\xff', '\x10'};
    EXPECT_JSON(s3_record(bin, sizeof bin, hdrs, "POST"),
                "{'event_id':'" EVT "','source_id':'" SRC "','method':'POST','headers':{'user-agent':'curl/8'},"
                "'body':'AP8Q','body_encoding':'base64','received_at':'" RECEIVED_ISO "'}");
    /* no headers, no method */
    EXPECT_JSON(s3_record("", 0, NULL, NULL), "{'event_id':'" EVT "','source_id':'" SRC "','method':null,"
                                              "'headers':{},'body':'','received_at':'" RECEIVED_ISO "'}");
}

static void test_s3_raw_format(void **state) {
    (void)state;
    static const char bin[] = {'\x00', 'r', 'a', 'w', '\xff', '\n'};
    json_t *doc = DEST(S3_DOC(",'format':'raw'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.payload = bin;
    ctx.payload_len = sizeof bin;
    ctx.content_type = "image/png";
    hs_out_req req;
    char sha[65];
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.url, "https://my-events.s3.eu-west-1.amazonaws.com/" S3_KEY);
    assert_int_equal(req.body_len, sizeof bin);
    assert_memory_equal(req.body, bin, sizeof bin);
    assert_ptr_not_equal(req.body, bin);
    EXPECT_HEADERS(&req, {"Content-Type", "image/png", false}, {"x-amz-meta-hookstream-event-id", EVT, false},
                   {"x-amz-meta-hookstream-delivery-id", DLV, false}, {"x-amz-meta-hookstream-source-id", SRC, false},
                   {"User-Agent", UA, false}, {"Host", "my-events.s3.eu-west-1.amazonaws.com", false},
                   {"X-Amz-Date", AMZ_DATE, false}, {"X-Amz-Content-Sha256", body_sha(&req, sha), false},
                   {"Authorization", NULL, true});
    hs_out_req_free(&req);

    /* unknown content type */
    ctx.content_type = "";
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Content-Type"), "application/octet-stream");
    hs_out_req_free(&req);
    ctx.content_type = NULL;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(hs_out_req_header(&req, "Content-Type"), "application/octet-stream");
    hs_out_req_free(&req);

    /* an empty payload: an empty object, the hash of nothing */
    ctx.payload = "";
    ctx.payload_len = 0;
    ctx.source_id = NULL;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_int_equal(req.body_len, 0);
    /* printf '' | sha256sum */
    assert_string_equal(hs_out_req_header(&req, "X-Amz-Content-Sha256"),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_null(hs_out_req_header(&req, "x-amz-meta-hookstream-source-id"));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_s3_session_token(void **state) {
    (void)state;
    json_t *doc = DEST(S3_DOC(",'session_token':'" TOKEN "','region':'us-east-2'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_s3, &ctx, &req);
    assert_string_equal(req.url, "https://my-events.s3.us-east-2.amazonaws.com/" S3_KEY);
    const hs_out_header *tok = NULL;
    for (size_t i = 0; i < req.nheaders; i++)
        if (strcmp(req.headers[i].name, "X-Amz-Security-Token") == 0) tok = &req.headers[i];
    assert_non_null(tok);
    assert_string_equal(tok->value, TOKEN);
    assert_true(tok->secret);
    EXPECT_AUTH(&req, "AWS4-HMAC-SHA256 Credential=" AKID "/" SCOPE_DATE
                      "/us-east-2/s3/aws4_request, SignedHeaders=content-type;host;user-agent;x-amz-content-sha256;"
                      "x-amz-date;x-amz-meta-hookstream-delivery-id;x-amz-meta-hookstream-event-id;"
                      "x-amz-meta-hookstream-source-id;x-amz-security-token, Signature=");
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_s3_classify(void **state) {
    (void)state;
    const hs_provider *p = &hs_provider_aws_s3;
    hs_error err;
    assert_int_equal(classify(p, 200, "{\"etag\":\"\\\"abc\\\"\"}", NULL, &err), HS_OK);
    assert_int_equal(classify(p, 200, NULL, "", &err), HS_OK);
    const char *nsb = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
                      "<Message>The specified bucket does not exist</Message><BucketName>my-events</BucketName>"
                      "</Error>";
    assert_int_equal(classify(p, 404, "{\"content-type\":\"application/xml\"}", nsb, &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 404 NoSuchBucket: The specified bucket does not exist (not retried)");
    assert_int_equal(classify(p, 404, NULL,
                              "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
                              "</Error>",
                              &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 404 NoSuchBucket: The specified bucket does not exist (not retried)");
    assert_int_equal(classify(p, 403, NULL,
                              "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
                              "does not match</Message></Error>",
                              &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(
        err.msg, "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match (not retried)");
    assert_int_equal(classify(p, 503, NULL,
                              "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                              &err),
                     HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 503 SlowDown: Please reduce your request rate.");
    /* a retryable code on a 4xx: retried */
    assert_int_equal(classify(p, 400, NULL, "<Error><Code>RequestTimeout</Code><Message>idle</Message></Error>", &err),
                     HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 400 RequestTimeout: idle");
    /* HEAD-like answers without a body */
    assert_int_equal(classify(p, 403, NULL, NULL, &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 403 (no error code) (not retried)");
}

/* ---- aws_eventbridge ---- */

#define EB_DOC(extra) "{'type':'aws_eventbridge','name':'e','config':{" KEYS extra "}}"
#define EB_SIGNED "content-type;host;user-agent;x-amz-content-sha256;x-amz-date;x-amz-target"

static char *eb_detail(const char *extra, const char *payload, size_t len) {
    char *text = hs_sprintf(EB_DOC("%s"), extra);
    json_t *doc = DEST(text);
    hs_free(text);
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.payload = payload;
    ctx.payload_len = len;
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_eventbridge, &ctx, &req);
    json_t *b = BODY_JSON(&req);
    json_t *entries = json_object_get(b, "Entries");
    assert_int_equal(json_array_size(entries), 1);
    char *d = hs_strdup(json_string_value(json_object_get(json_array_get(entries, 0), "Detail")));
    json_decref(b);
    hs_out_req_free(&req);
    json_decref(doc);
    return d;
}
#define EXPECT_DETAIL(payload, len, want)                                                                              \
    do {                                                                                                               \
        char *d_ = eb_detail("", payload, len);                                                                        \
        assert_string_equal(d_, want);                                                                                 \
        hs_free(d_);                                                                                                   \
    } while (0)

static void test_eventbridge_build(void **state) {
    (void)state;
    json_t *doc = DEST(EB_DOC(""));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    char sha[65];
    BUILD_OK(&hs_provider_aws_eventbridge, &ctx, &req);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "https://events.eu-west-1.amazonaws.com/");
    assert_int_equal(req.timeout_ms, 30000);
    EXPECT_HEADERS(&req, {"Content-Type", "application/x-amz-json-1.1", false},
                   {"X-Amz-Target", "AWSEvents.PutEvents", false}, {"User-Agent", UA, false},
                   {"Host", "events.eu-west-1.amazonaws.com", false}, {"X-Amz-Date", AMZ_DATE, false},
                   {"X-Amz-Content-Sha256", body_sha(&req, sha), false}, {"Authorization", NULL, true});
    EXPECT_AUTH(&req, CREDENTIAL("eu-west-1", "events") ", SignedHeaders=" EB_SIGNED ", Signature=");
    EXPECT_JSON(BODY_JSON(&req), "{'Entries':[{'Source':'hookstream','DetailType':'hookstream.event',"
                                 "'Detail':'{\\'id\\':1}','EventBusName':'default'}]}");
    hs_out_req_free(&req);
    json_decref(doc);

    /* configured source, detail type, bus and endpoint */
    doc = DEST(EB_DOC(",'source':'acme.orders','detail_type':'Order Created','endpoint':'http://localhost:4566/',"
                      "'event_bus_arn':'arn:aws:events:eu-west-1:123456789012:event-bus/orders'"));
    ctx = ctx_for(doc);
    BUILD_OK(&hs_provider_aws_eventbridge, &ctx, &req);
    assert_string_equal(req.url, "http://localhost:4566/");
    assert_string_equal(hs_out_req_header(&req, "Host"), "localhost:4566");
    EXPECT_JSON(BODY_JSON(&req), "{'Entries':[{'Source':'acme.orders','DetailType':'Order Created',"
                                 "'Detail':'{\\'id\\':1}',"
                                 "'EventBusName':'arn:aws:events:eu-west-1:123456789012:event-bus/orders'}]}");
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_eventbridge_detail(void **state) {
    (void)state;
    /* an object: the payload's own text, as it came */
    EXPECT_DETAIL("{ \"a\" : [1, 2] }", 16, "{ \"a\" : [1, 2] }");
    /* anything else is wrapped as {"data": ...} */
    EXPECT_DETAIL("[1,\"x\"]", 7, "{\"data\":[1,\"x\"]}");
    EXPECT_DETAIL("17", 2, "{\"data\":17}");
    EXPECT_DETAIL("null", 4, "{\"data\":null}");
    EXPECT_DETAIL("hello world", 11, "{\"data\":\"hello world\"}");
    EXPECT_DETAIL("{broken", 7, "{\"data\":\"{broken\"}");
    EXPECT_DETAIL("", 0, "{\"data\":\"\"}");
    /* not UTF-8: base64, and said so (never silently emptied) */
    EXPECT_DETAIL("caf\xe9", 4, "{\"encoding\":\"base64\",\"data\":\"Y2Fm6Q==\"}");
}

static void test_eventbridge_classify(void **state) {
    (void)state;
    const hs_provider *p = &hs_provider_aws_eventbridge;
    hs_error err;
    assert_int_equal(classify(p, 200, NULL, "{\"FailedEntryCount\":0,\"Entries\":[{\"EventId\":\"1\"}]}", &err), HS_OK);
    assert_int_equal(classify(p, 200, NULL,
                              "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"InternalFailure\","
                              "\"ErrorMessage\":\"try again\"}]}",
                              &err),
                     HS_ERR_IO);
    assert_contains(err.msg, "PutEvents entry failed: InternalFailure");
    assert_string_equal(err.msg, "PutEvents entry failed: InternalFailure: try again");
    assert_int_equal(classify(p, 200, NULL,
                              "{\"FailedEntryCount\":1,\"Entries\":[{\"ErrorCode\":\"MalformedDetail\","
                              "\"ErrorMessage\":\"Detail is malformed.\"}]}",
                              &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "PutEvents entry failed: MalformedDetail: Detail is malformed. (not retried)");
    assert_int_equal(classify(p, 200, NULL, "{\"FailedEntryCount\":1,\"Entries\":[{}]}", &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "PutEvents entry failed: (no error code) (not retried)");
    assert_int_equal(classify(p, 200, NULL, "{\"Entries\":[{\"EventId\":\"1\"}]}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 without a FailedEntryCount");
    assert_int_equal(classify(p, 200, NULL, NULL, &err), HS_ERR_IO);
    assert_int_equal(classify(p, 200, NULL, "{\"FailedEntryCount\":\"0\"}", &err), HS_ERR_IO);
    /* request-level errors: the shared rule */
    assert_int_equal(
        classify(p, 400, NULL,
                 "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Event bus orders does not exist.\"}", &err),
        HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 400 ResourceNotFoundException: Event bus orders does not exist. (not retried)");
    assert_int_equal(classify(p, 400, NULL, "{\"__type\":\"ThrottlingException\"}", &err), HS_ERR_IO);
    assert_int_equal(classify(p, 502, NULL, NULL, &err), HS_ERR_IO);
}

/* ---- the common fields ---- */

static void test_common_timeout(void **state) {
    (void)state;
    static const struct {
        const hs_provider *p;
        const char *doc;
    } t[] = {{&hs_provider_aws_sqs, SQS_DOC(",'timeout_ms':2500")},
             {&hs_provider_aws_s3, S3_DOC(",'timeout_ms':2500")},
             {&hs_provider_aws_eventbridge, EB_DOC(",'timeout_ms':2500")}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *doc = DEST(t[i].doc);
        hs_delivery_ctx ctx = ctx_for(doc);
        hs_out_req req;
        BUILD_OK(t[i].p, &ctx, &req);
        assert_int_equal(req.timeout_ms, 2500);
        hs_out_req_free(&req);
        json_decref(doc);
    }
    /* the default is stored, and used */
    json_t *doc = DEST(EB_DOC(""));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "config"), "timeout_ms")), 30000);
    json_decref(doc);
    hs_error err;
    assert_int_equal(dest_err(EB_DOC(",'timeout_ms':99"), &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "config.timeout_ms");
}

static void test_common_secrets_masked(void **state) {
    (void)state;
    static const char *const docs[] = {SQS_DOC(",'session_token':'" TOKEN "'"), S3_DOC(",'session_token':'" TOKEN "'"),
                                       EB_DOC(",'session_token':'" TOKEN "'")};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *doc = DEST(docs[i]);
        json_t *out = hs_resource_render(HS_KIND_DESTINATION, doc);
        const json_t *cfg = json_object_get(out, "config");
        assert_string_equal(json_string_value(json_object_get(cfg, "secret_access_key")), "********EKEY");
        assert_string_equal(json_string_value(json_object_get(cfg, "session_token")), "********oken");
        assert_string_equal(json_string_value(json_object_get(cfg, "access_key_id")), AKID);
        assert_string_equal(json_string_value(json_object_get(cfg, "region")), "eu-west-1");
        /* the stored doc keeps them */
        assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "config"), "secret_access_key")),
                            SECRET_KEY);
        json_decref(out);
        json_decref(doc);
    }
    /* nothing secret leaks into the request but the signature: the secret
     * key is not sent, the token only in a secret header */
    json_t *doc = DEST(SQS_DOC(",'session_token':'" TOKEN "'"));
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    BUILD_OK(&hs_provider_aws_sqs, &ctx, &req);
    for (size_t i = 0; i < req.nheaders; i++) {
        assert_null(strstr(req.headers[i].value, SECRET_KEY));
        if (strstr(req.headers[i].value, TOKEN)) assert_true(req.headers[i].secret);
    }
    assert_null(strstr(req.url, SECRET_KEY));
    assert_null(strstr(req.body, SECRET_KEY)); /* json_dumps text: NUL-terminated */
    hs_out_req_free(&req);
    json_decref(doc);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_sqs_build),
        cmocka_unit_test(test_sqs_signature_exact),
        cmocka_unit_test(test_sqs_endpoint_and_token),
        cmocka_unit_test(test_sqs_body_encoding),
        cmocka_unit_test(test_sqs_fifo),
        cmocka_unit_test(test_sqs_classify),
        cmocka_unit_test(test_s3_build),
        cmocka_unit_test(test_s3_signature_exact),
        cmocka_unit_test(test_s3_key_date),
        cmocka_unit_test(test_s3_urls),
        cmocka_unit_test(test_s3_json_format),
        cmocka_unit_test(test_s3_raw_format),
        cmocka_unit_test(test_s3_session_token),
        cmocka_unit_test(test_s3_classify),
        cmocka_unit_test(test_eventbridge_build),
        cmocka_unit_test(test_eventbridge_detail),
        cmocka_unit_test(test_eventbridge_classify),
        cmocka_unit_test(test_common_timeout),
        cmocka_unit_test(test_common_secrets_masked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
