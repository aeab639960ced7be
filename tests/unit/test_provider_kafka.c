/* test_provider_kafka.c — the kafka destination type (src/providers/kafka.c):
 * validation of config.key, the ProduceRequest it builds, and how it judges
 * the proxy's answers (HTTP status and per-record error_code).
 *
 * Destination docs go through hs_resource_create_doc, so the builder sees
 * what the store holds. Expected base64 values were computed outside
 * hookstream with the command given beside them. JSON in these tests is
 * written with ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "base/alloc.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "core/resource.h"

#define EVT "evt_00112233445566778899aabbccddeeff"
#define DST "dst_00000000000000000000000000000abc"
/* printf %s evt_00112233445566778899aabbccddeeff | base64 -w0 */
#define EVT_B64 "ZXZ0XzAwMTEyMjMzNDQ1NTY2Nzc4ODk5YWFiYmNjZGRlZWZm"
/* printf %s dst_00000000000000000000000000000abc | base64 -w0 */
#define DST_B64 "ZHN0XzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwYWJj"
/* printf %s 'KEYID123:s3cr3t/+=secret' | base64 */
#define BASIC "S0VZSUQxMjM6czNjcjN0Lys9c2VjcmV0"
#define HEADERS_JSON                                                                                                   \
    "{\"headers\":[{\"name\":\"hookstream-event-id\",\"value\":\"" EVT_B64 "\"},"                                      \
    "{\"name\":\"hookstream-destination-id\",\"value\":\"" DST_B64 "\"}]"
#define CFG "'rest_url':'https://kafka.example.com:8082','cluster_id':'lkc-abc12','topic':'orders.v1'"
#define RECORDS_URL "https://kafka.example.com:8082/v3/clusters/lkc-abc12/topics/orders.v1/records"
#define UA "hookstream/0.1.0"

/* ---- helpers ---- */

static int create(const char *text, json_t **doc, hs_error *err) {
    json_t *body = J(text);
    hs_error_clear(err);
    *doc = NULL;
    int rc = hs_resource_create_doc(HS_KIND_DESTINATION, body, doc, err);
    json_decref(body);
    return rc;
}

/* A stored kafka destination doc with config members cfg and a fixed id. */
static json_t *dest_at(const char *cfg, int line) {
    char *text = hs_sprintf("{'name':'k','type':'kafka','config':{%s}}", cfg);
    json_t *doc = hs_test_dest(text, DST, line);
    hs_free(text);
    return doc;
}
#define DEST(cfg) dest_at(cfg, __LINE__)

/* The field and message a config is refused with. */
static void expect_refused_at(const char *cfg, const char *field, const char *msg_part, int line) {
    char *text = hs_sprintf("{'name':'k','type':'kafka','config':{%s}}", cfg);
    json_t *doc;
    hs_error err;
    int rc = create(text, &doc, &err);
    hs_free(text);
    json_decref(doc);
    if (rc != HS_ERR_INVALID) fail_msg("line %d: rc %d, want HS_ERR_INVALID", line, rc);
    if (strcmp(err.field, field) != 0) fail_msg("line %d: field '%s', want '%s'", line, err.field, field);
    if (!strstr(err.msg, msg_part)) fail_msg("line %d: message '%s' lacks '%s'", line, err.msg, msg_part);
}
#define EXPECT_REFUSED(cfg, field, msg) expect_refused_at(cfg, field, msg, __LINE__)

static hs_delivery_ctx ctx_for(const json_t *doc, const char *payload) {
    return (hs_delivery_ctx){
        .destination = doc,
        .event_id = EVT,
        .delivery_id = "dlv_0123456789abcdef0123456789abcdef",
        .connection_id = "conn_0123456789abcdef0123456789abcdef",
        .source_id = "src_0123456789abcdef0123456789abcdef",
        .attempt = 1,
        .now_ms = 1700000000123u,
        .payload = payload,
        .payload_len = strlen(payload),
        .content_type = "application/json",
        .event_headers_json = "{\"x-tenant\":\"acme\",\"content-type\":\"application/json\"}",
    };
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    hs_error_clear(err);
    return hs_provider_build(&hs_provider_kafka, ctx, req, err);
}

/* Build for doc and payload; the body must be exactly want. */
static void expect_body_at(const json_t *doc, const char *payload, const char *want, int line) {
    hs_delivery_ctx ctx = ctx_for(doc, payload);
    hs_out_req req;
    hs_error err;
    int rc = build(&ctx, &req, &err);
    if (rc != HS_OK) fail_msg("line %d: build failed %d: %s", line, rc, err.msg);
    if (req.body_len != strlen(want) || memcmp(req.body, want, req.body_len) != 0)
        fail_msg("line %d: body\n  %.*s\nwant\n  %s", line, (int)req.body_len, req.body, want);
    /* whatever it is, it is one JSON object: the ProduceRequest */
    json_t *parsed = json_loadb(req.body, req.body_len, 0, NULL);
    if (!json_is_object(parsed)) fail_msg("line %d: body is not one JSON object", line);
    json_decref(parsed);
    hs_out_req_free(&req);
}
#define EXPECT_BODY(doc, payload, want) expect_body_at(doc, payload, want, __LINE__)

static int classify(int status, const char *body, hs_error *err) {
    hs_out_resp resp = {.status = status, .body = (char *)body, .body_len = body ? strlen(body) : 0};
    json_t *doc = DEST(CFG);
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = "dlv_x"};
    hs_error_clear(err);
    int rc = hs_provider_kafka.classify(&ctx, &resp, err);
    json_decref(doc);
    return rc;
}

#define REPORT_OK                                                                                                      \
    "{\"error_code\":200,\"cluster_id\":\"lkc-abc12\",\"topic_name\":\"orders.v1\",\"partition_id\":0,"                \
    "\"offset\":41,\"timestamp\":\"2024-01-01T00:00:00.000Z\",\"value\":{\"type\":\"JSON\",\"size\":8}}"

/* ---- tests ---- */

static void test_provider_table(void **state) {
    (void)state;
    const hs_provider *p = hs_provider_find("kafka");
    assert_ptr_equal(p, &hs_provider_kafka);
    assert_non_null(p->build);
    assert_non_null(p->classify);
    assert_true(p->slow_build); /* config.key is JSONata: never on the loop thread */
    assert_string_equal(p->secret_paths[0], "api_secret");
    assert_null(p->secret_paths[1]);
}

static void test_validation(void **state) {
    (void)state;
    json_t *doc = DEST(CFG ",'key':'customer.id'");
    const json_t *config = json_object_get(doc, "config");
    assert_int_equal(json_integer_value(json_object_get(config, "timeout_ms")), 30000);
    assert_string_equal(json_string_value(json_object_get(config, "key")), "customer.id");
    json_decref(doc);

    /* a JSONata syntax error is a 400 naming config.key */
    EXPECT_REFUSED(CFG ",'key':'customer.'", "config.key", "is not a valid JSONata expression");
    EXPECT_REFUSED(CFG ",'key':'$x := ('", "config.key", "is not a valid JSONata expression");
    EXPECT_REFUSED(CFG ",'key':''", "config.key", "");
    EXPECT_REFUSED(CFG ",'key':42", "config.key", "");
    /* the API path is appended to rest_url */
    EXPECT_REFUSED("'rest_url':'https://k.example/?a=1','cluster_id':'c','topic':'t'", "config.rest_url", "query");
    EXPECT_REFUSED("'rest_url':'ftp://k.example','cluster_id':'c','topic':'t'", "config.rest_url", "");
    EXPECT_REFUSED(CFG ",'endpoint':'https://k.example/x?y'", "config.endpoint", "query");
    EXPECT_REFUSED(CFG ",'api_key':'KEY'", "config.api_secret", "");
    EXPECT_REFUSED(CFG ",'timeout_ms':5", "config.timeout_ms", "");
    EXPECT_REFUSED("'rest_url':'https://k.example','cluster_id':'c','topic':'..'", "config.topic", "");
    EXPECT_REFUSED("'rest_url':'https://k.example','cluster_id':'c/1','topic':'t'", "config.cluster_id", "");
}

static void test_minimal(void **state) {
    (void)state;
    json_t *doc = DEST(CFG);
    hs_delivery_ctx ctx = ctx_for(doc, "{\"id\":1}");
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, RECORDS_URL);
    assert_int_equal(req.timeout_ms, 30000);
    assert_int_equal(req.nheaders, 3);
    assert_string_equal(req.headers[0].name, "Content-Type");
    assert_string_equal(req.headers[0].value, "application/json");
    assert_string_equal(req.headers[1].name, "Accept");
    assert_string_equal(req.headers[1].value, "application/json");
    assert_string_equal(req.headers[2].name, "User-Agent");
    assert_string_equal(req.headers[2].value, UA);
    assert_null(hs_out_req_header(&req, "Authorization"));
    hs_out_req_free(&req);
    EXPECT_BODY(doc, "{\"id\":1}", HEADERS_JSON ",\"value\":{\"type\":\"JSON\",\"data\":{\"id\":1}}}");
    json_decref(doc);
}

/* JSON travels as its own text: numbers, spacing and member order as
 * received; any JSON value, not only objects. */
static void test_json_value_verbatim(void **state) {
    (void)state;
    json_t *doc = DEST(CFG);
    EXPECT_BODY(doc, "{\"b\": 1.10, \"a\":[1e2, 0.1],\n \"u\":\"caf\\u00e9 \xe2\x98\x83\"}",
                HEADERS_JSON ",\"value\":{\"type\":\"JSON\",\"data\":{\"b\": 1.10, \"a\":[1e2, 0.1],\n "
                             "\"u\":\"caf\\u00e9 \xe2\x98\x83\"}}}");
    EXPECT_BODY(doc, "[1,2]", HEADERS_JSON ",\"value\":{\"type\":\"JSON\",\"data\":[1,2]}}");
    EXPECT_BODY(doc, "\"text\"", HEADERS_JSON ",\"value\":{\"type\":\"JSON\",\"data\":\"text\"}}");
    EXPECT_BODY(doc, " 7 ", HEADERS_JSON ",\"value\":{\"type\":\"JSON\",\"data\": 7 }}");
    json_decref(doc);
}

/* What is not JSON is sent as bytes: BINARY, base64. */
static void test_binary_value(void **state) {
    (void)state;
    json_t *doc = DEST(CFG);
    /* printf hello | base64 */
    EXPECT_BODY(doc, "hello", HEADERS_JSON ",\"value\":{\"type\":\"BINARY\",\"data\":\"aGVsbG8=\"}}");
    EXPECT_BODY(doc, "{\"a\":1} trailing",
                HEADERS_JSON ",\"value\":{\"type\":\"BINARY\",\"data\":\"eyJhIjoxfSB0cmFpbGluZw==\"}}");
    EXPECT_BODY(doc, "", HEADERS_JSON ",\"value\":{\"type\":\"BINARY\",\"data\":\"\"}}");

    static const char bin[] = {'\0', '\x01', '\xff', '\xfe', '\n'};
    hs_delivery_ctx ctx = ctx_for(doc, "");
    ctx.payload = bin;
    ctx.payload_len = sizeof bin;
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    /* printf '\x00\x01\xff\xfe\n' | base64 */
    const char *want = HEADERS_JSON ",\"value\":{\"type\":\"BINARY\",\"data\":\"AAH//go=\"}}";
    assert_int_equal(req.body_len, strlen(want));
    assert_memory_equal(req.body, want, req.body_len);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_basic_auth_and_urls(void **state) {
    (void)state;
    json_t *doc = DEST("'rest_url':'https://pkc-1.eu-west-1.aws.confluent.cloud:443/kafka//','cluster_id':'lkc-1',"
                       "'topic':'t_1','api_key':'KEYID123','api_secret':'s3cr3t/+=secret','timeout_ms':2500");
    hs_delivery_ctx ctx = ctx_for(doc, "{}");
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.url,
                        "https://pkc-1.eu-west-1.aws.confluent.cloud:443/kafka/v3/clusters/lkc-1/topics/t_1/records");
    assert_int_equal(req.timeout_ms, 2500);
    assert_int_equal(req.nheaders, 4);
    assert_string_equal(req.headers[3].name, "Authorization");
    assert_string_equal(req.headers[3].value, "Basic " BASIC);
    assert_true(req.headers[3].secret);
    for (size_t i = 0; i < 3; i++) assert_false(req.headers[i].secret);
    hs_out_req_free(&req);
    json_decref(doc);

    /* endpoint, when set, replaces rest_url */
    doc = DEST(CFG ",'endpoint':'http://127.0.0.1:9/'");
    ctx = ctx_for(doc, "{}");
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.url, "http://127.0.0.1:9/v3/clusters/lkc-abc12/topics/orders.v1/records");
    hs_out_req_free(&req);
    json_decref(doc);
}

/* config.key: evaluated on the payload with the transform variables; a
 * string is a STRING key, anything else a JSON key. */
static void test_key(void **state) {
    (void)state;
    const char *payload = "{\"customer\":{\"id\":\"c-42\",\"n\":7}}";
    json_t *doc = DEST(CFG ",'key':'customer.id'");
    EXPECT_BODY(doc, payload,
                HEADERS_JSON ",\"key\":{\"type\":\"STRING\",\"data\":\"c-42\"},\"value\":{\"type\":\"JSON\",\"data\":"
                             "{\"customer\":{\"id\":\"c-42\",\"n\":7}}}}");
    json_decref(doc);

    doc = DEST(CFG ",'key':'customer.n * 2'");
    EXPECT_BODY(doc, payload,
                HEADERS_JSON ",\"key\":{\"type\":\"JSON\",\"data\":14},\"value\":{\"type\":\"JSON\",\"data\":"
                             "{\"customer\":{\"id\":\"c-42\",\"n\":7}}}}");
    json_decref(doc);

    doc = DEST(CFG ",'key':'{\\\"t\\\": $headers.`x-tenant`, \\\"e\\\": $event_id, \\\"s\\\": $source_id}'");
    EXPECT_BODY(doc, "null",
                HEADERS_JSON ",\"key\":{\"type\":\"JSON\",\"data\":{\"t\":\"acme\",\"e\":\"" EVT "\",\"s\":"
                             "\"src_0123456789abcdef0123456789abcdef\"}},\"value\":{\"type\":\"JSON\",\"data\":null}}");
    json_decref(doc);

    /* $inputs is the destination's template_inputs, as for a payload shape */
    doc = DEST(CFG ",'key':'$inputs.region & \\\"/\\\" & $string(customer.n)'");
    json_object_set_new(doc, "template_inputs", J("{'region':'eu'}"));
    EXPECT_BODY(doc, payload,
                HEADERS_JSON ",\"key\":{\"type\":\"STRING\",\"data\":\"eu/7\"},\"value\":{\"type\":\"JSON\",\"data\":"
                             "{\"customer\":{\"id\":\"c-42\",\"n\":7}}}}");
    json_decref(doc);
}

/* A key that cannot be computed fails the attempt (like a failing
 * transform: retried, so a fixed expression lets it through). */
static void test_key_failures(void **state) {
    (void)state;
    json_t *doc = DEST(CFG ",'key':'customer.id'");
    hs_delivery_ctx ctx = ctx_for(doc, "{\"other\":1}");
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_string_equal(err.msg, "the record key (config.key) failed: its result is undefined");
    assert_null(req.method);
    assert_null(req.body);
    assert_int_equal(req.nheaders, 0);
    /* a body that is not JSON is an undefined input */
    ctx = ctx_for(doc, "not json");
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    json_decref(doc);

    doc = DEST(CFG ",'key':'$number(\\\"x\\\") + customer'");
    ctx = ctx_for(doc, "{\"customer\":\"a\"}");
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "the record key (config.key) failed: "));
    assert_null(strstr(err.msg, "transform failed"));
    json_decref(doc);

    /* a stored expression that no longer compiles (validation bypassed) */
    doc = DEST(CFG);
    json_object_set_new(json_object_get(doc, "config"), "key", json_string("a.("));
    ctx = ctx_for(doc, "{}");
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "config.key");
    assert_non_null(strstr(err.msg, "config.key is not a valid JSONata expression: "));
    json_decref(doc);
}

static void test_classify_reports(void **state) {
    (void)state;
    hs_error err;
    assert_int_equal(classify(200, REPORT_OK, &err), HS_OK);
    /* streaming proxies concatenate reports: ours is the first */
    assert_int_equal(classify(200, REPORT_OK "\n" REPORT_OK, &err), HS_OK);

    /* per-record failures inside an HTTP 200 */
    assert_int_equal(
        classify(200, "{\"error_code\":40403,\"message\":\"This server does not host this topic-partition.\"}", &err),
        HS_ERR_PERMANENT);
    assert_string_equal(
        err.msg,
        "record not produced: error_code 40403: This server does not host this topic-partition. (not retried)");
    assert_int_equal(
        classify(200, "{\"error_code\":400,\"message\":\"Bad Request: data=1 is not a base64 string.\"}", &err),
        HS_ERR_PERMANENT);
    assert_int_equal(classify(200, "{\"error_code\":40301,\"message\":\"not authorized\"}", &err), HS_ERR_PERMANENT);
    assert_int_equal(classify(200, "{\"error_code\":42201,\"message\":\"too large\"}", &err), HS_ERR_PERMANENT);
    assert_int_equal(classify(200, "{\"error_code\":413}", &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "record not produced: error_code 413 (not retried)");

    assert_int_equal(classify(200, "{\"error_code\":50003,\"message\":\"NOT_ENOUGH_REPLICAS\"}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "record not produced: error_code 50003: NOT_ENOUGH_REPLICAS");
    assert_int_equal(classify(200, "{\"error_code\":50002,\"message\":\"kafka error\"}", &err), HS_ERR_IO);
    assert_int_equal(classify(200, "{\"error_code\":429,\"message\":\"Too many requests\"}", &err), HS_ERR_IO);
    assert_int_equal(classify(200, "{\"error_code\":42901}", &err), HS_ERR_IO);
    assert_int_equal(classify(200, "{\"error_code\":408}", &err), HS_ERR_IO);
    assert_int_equal(classify(200, "{\"error_code\":50301,\"message\":\"unavailable\"}", &err), HS_ERR_IO);

    /* a 200 that is not a delivery report: unknown, so retried */
    assert_int_equal(classify(200, NULL, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 without a delivery report (no error_code)");
    assert_int_equal(classify(200, "<html>ok</html>", &err), HS_ERR_IO);
    assert_int_equal(classify(200, "{\"error_code\":\"200\"}", &err), HS_ERR_IO);
    assert_int_equal(classify(204, "", &err), HS_ERR_IO);
}

static void test_classify_http_status(void **state) {
    (void)state;
    hs_error err;
    assert_int_equal(classify(401, "{\"error_code\":40101,\"message\":\"Authentication failed\"}", &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 401 error_code 40101: Authentication failed (not retried)");
    assert_int_equal(classify(404, "{\"error_code\":40403,\"message\":\"topic-partition\"}", &err), HS_ERR_PERMANENT);
    const int perm[] = {400, 403, 404, 405, 413, 415, 422, 301};
    for (size_t i = 0; i < sizeof perm / sizeof perm[0]; i++) {
        if (classify(perm[i], "", &err) != HS_ERR_PERMANENT) fail_msg("HTTP %d should be permanent", perm[i]);
        char want[64];
        snprintf(want, sizeof want, "HTTP %d (not retried)", perm[i]);
        assert_string_equal(err.msg, want);
    }
    const int again[] = {408, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        if (classify(again[i], "<html>busy</html>", &err) != HS_ERR_IO) fail_msg("HTTP %d should be retried", again[i]);
    assert_int_equal(classify(503, "{\"error_code\":50301,\"message\":\"try later\"}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 503 error_code 50301: try later");

    /* no answer at all: the transport's error */
    hs_out_resp resp = {.error = HS_ERR_TIMEOUT};
    snprintf(resp.errmsg, sizeof resp.errmsg, "timed out after 1000 ms");
    json_t *doc = DEST(CFG);
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = "dlv_x"};
    assert_int_equal(hs_provider_kafka.classify(&ctx, &resp, &err), HS_ERR_TIMEOUT);
    assert_string_equal(err.msg, "timed out after 1000 ms");
    json_decref(doc);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_json_value_verbatim),
        cmocka_unit_test(test_binary_value),
        cmocka_unit_test(test_basic_auth_and_urls),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_key_failures),
        cmocka_unit_test(test_classify_reports),
        cmocka_unit_test(test_classify_http_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
