/* test_provider_rabbitmq.c — the rabbitmq destination type
 * (src/providers/rabbitmq.c): validation details, the publish request build
 * makes (URL, headers, the management API's JSON body) and how classify
 * judges the broker's answers. The answers used are the ones RabbitMQ
 * 3.10 gives (see tests/integration/rabbitmq.test.mjs, which checks them
 * against the real broker). JSON here is written with ' for ". */
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
#include "base/jsonv.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "core/resource.h"

#define EVT "evt_00112233445566778899aabbccddeeff"
#define DLV "dlv_0123456789abcdef0123456789abcdef"
#define NOW_MS 1700000000123u
#define RECEIVED_MS 1699999999456u
#define BODY "{\"id\":1}"
#define BASE                                                                                                           \
    "{'url':'http://127.0.0.1:15672','exchange':'events','routing_key':'order.created',"                               \
    "'username':'alice','password':'s3cret-pass'"
/* printf %s 'alice:s3cret-pass' | base64 */
#define BASIC_ALICE "Basic YWxpY2U6czNjcmV0LXBhc3M="
#define UA "hookstream/0.1.0"

/* ---- helpers ---- */

/* A stored destination doc, through the same validation the API uses. */
static json_t *dest_at(const char *config_text, int line) {
    char *text = hs_sprintf("{'name':'r','type':'rabbitmq','config':%s}", config_text);
    /* the store gives every destination an id */
    json_t *doc = hs_test_dest(text, "dst_0123456789abcdef0123456789abcdef", line);
    hs_free(text);
    return doc;
}
#define DEST(text) dest_at(text, __LINE__)

static void refused_at(const char *config_text, const char *field, int line) {
    char *text = hs_sprintf("{'name':'r','type':'rabbitmq','config':%s}", config_text);
    json_t *body = J(text), *doc = NULL;
    hs_free(text);
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, &err);
    json_decref(body);
    json_decref(doc);
    if (rc != HS_ERR_INVALID) fail_msg("line %d: accepted (rc %d), want a refusal at %s", line, rc, field);
    if (strcmp(err.field, field) != 0)
        fail_msg("line %d: refused at '%s' (%s), want %s", line, err.field, err.msg, field);
}
#define REFUSED(text, field) refused_at(text, field, __LINE__)

static hs_delivery_ctx ctx_for(const json_t *doc) {
    return (hs_delivery_ctx){
        .destination = doc,
        .event_id = EVT,
        .delivery_id = DLV,
        .attempt = 1,
        .now_ms = NOW_MS,
        .received_at = RECEIVED_MS,
        .payload = BODY,
        .payload_len = strlen(BODY),
        .content_type = "application/json",
    };
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    hs_error_clear(err);
    return hs_provider_build(&hs_provider_rabbitmq, ctx, req, err);
}

/* Builds for doc with ctx_for(doc) changed by the caller; returns the URL. */
static char *url_of(const char *config_text) {
    json_t *doc = DEST(config_text);
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    char *url = hs_strdup(req.url);
    hs_out_req_free(&req);
    json_decref(doc);
    return url;
}

static void expect_url_at(const char *config_text, const char *want, int line) {
    char *url = url_of(config_text);
    if (strcmp(url, want) != 0) fail_msg("line %d: URL %s, want %s", line, url, want);
    hs_free(url);
}
#define EXPECT_URL(config, want) expect_url_at(config, want, __LINE__)

/* The request body equals want (JSON with ' for "), member order aside. */
static void expect_body_at(const hs_out_req *req, const char *want, int line) {
    json_t *got = json_loadb(req->body, req->body_len, 0, NULL), *w = J(want);
    if (!got || !json_equal(got, w)) {
        char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("line %d: body\n  %.*s\nwant\n  %s", line, (int)req->body_len, req->body, ws);
    }
    json_decref(got);
    json_decref(w);
}
#define EXPECT_BODY(req, want) expect_body_at(req, want, __LINE__)

#define PROPS(ct_member)                                                                                               \
    "'properties':{'delivery_mode':2,'message_id':'" DLV "','app_id':'hookstream','timestamp':1699999999," ct_member   \
    "'headers':{'hookstream-event-id':'" EVT "','hookstream-delivery-id':'" DLV                                        \
    "','hookstream-destination-id':'dst_0123456789abcdef0123456789abcdef','hookstream-delivery-attempt':'1'}}"

/* classify on an answer with this status and body. */
static int classify_at(const json_t *doc, int status, const char *body, hs_error *err) {
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = DLV};
    hs_out_resp resp = {.status = status, .body = (char *)body, .body_len = body ? strlen(body) : 0};
    hs_error_clear(err);
    return hs_provider_rabbitmq.classify(&ctx, &resp, err);
}

static void expect_class_at(const json_t *doc, int status, const char *body, int want_rc, const char *want_msg,
                            int line) {
    hs_error err;
    int rc = classify_at(doc, status, body, &err);
    if (rc != want_rc)
        fail_msg("line %d: HTTP %d %s: rc %d (%s), want %d", line, status, body ? body : "(none)", rc, err.msg,
                 want_rc);
    if (want_msg && strcmp(err.msg, want_msg) != 0)
        fail_msg("line %d: message\n  %s\nwant\n  %s", line, err.msg, want_msg);
}
#define EXPECT_CLASS(doc, status, body, rc, msg) expect_class_at(doc, status, body, rc, msg, __LINE__)

/* ---- tests ---- */

static void test_provider_table(void **state) {
    (void)state;
    const hs_provider *p = hs_provider_find("rabbitmq");
    assert_ptr_equal(p, &hs_provider_rabbitmq);
    assert_non_null(p->build);
    assert_non_null(p->classify);
    assert_false(p->slow_build);
    assert_string_equal(p->secret_paths[0], "password");
    assert_null(p->secret_paths[1]);
}

static void test_validation(void **state) {
    (void)state;
    json_t *doc = DEST(BASE "}");
    const json_t *c = json_object_get(doc, "config");
    assert_string_equal(hs_jv_str(c, "vhost"), "/");
    assert_int_equal(json_integer_value(json_object_get(c, "timeout_ms")), 30000);
    json_t *shown = hs_resource_render(HS_KIND_DESTINATION, doc);
    assert_string_equal(hs_jv_str(json_object_get(shown, "config"), "password"),
                        "********"); /* under 12 characters: nothing shown */
    json_decref(shown);
    json_decref(doc);
    REFUSED(BASE ",'url':'http://127.0.0.1:15672/?vhost=x'}", "config.url");
    REFUSED(BASE ",'timeout_ms':50}", "config.timeout_ms");
    REFUSED(BASE ",'routing_key':'a\\nb'}", "config.routing_key");
}

static void test_publish_request(void **state) {
    (void)state;
    json_t *doc = DEST(BASE "}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:15672/api/exchanges/%2F/events/publish");
    assert_int_equal(req.timeout_ms, 30000);
    assert_int_equal(req.nheaders, 3);
    assert_string_equal(req.headers[0].name, "Authorization");
    assert_string_equal(req.headers[0].value, BASIC_ALICE);
    assert_true(req.headers[0].secret);
    assert_string_equal(hs_out_req_header(&req, "Content-Type"), "application/json");
    assert_string_equal(hs_out_req_header(&req, "User-Agent"), UA);
    assert_false(req.headers[1].secret);
    EXPECT_BODY(
        &req, "{" PROPS("'content_type':'application/json',") ",'routing_key':'order.created',"
                                                              "'payload':'{\\'id\\':1}','payload_encoding':'string'}");
    hs_out_req_free(&req);

    /* a retry: the same message_id, the attempt in the headers, the event's
     * receive time (not the attempt's) as timestamp */
    ctx.attempt = 3;
    ctx.now_ms = NOW_MS + 3600000;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    json_t *body = json_loadb(req.body, req.body_len, 0, NULL);
    const json_t *p = json_object_get(body, "properties");
    assert_string_equal(hs_jv_str(p, "message_id"), DLV);
    assert_int_equal(json_integer_value(json_object_get(p, "timestamp")), 1699999999);
    assert_string_equal(hs_jv_str(json_object_get(p, "headers"), "hookstream-delivery-attempt"), "3");
    json_decref(body);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_payload_encoding(void **state) {
    (void)state;
    json_t *doc = DEST(BASE ",'timeout_ms':2500}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    /* not UTF-8: base64 (printf '\x89PNG\x00\xff' | base64) */
    static const char png[] = {(char)0x89, 'P', 'N', 'G', 0, (char)0xff};
    ctx.payload = png;
    ctx.payload_len = sizeof png;
    ctx.content_type = "image/png";
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_int_equal(req.timeout_ms, 2500);
    EXPECT_BODY(&req, "{" PROPS("'content_type':'image/png',") ",'routing_key':'order.created',"
                                                               "'payload':'iVBORwD/','payload_encoding':'base64'}");
    hs_out_req_free(&req);
    /* NUL and non-ASCII are UTF-8: a string; no content type, no property;
     * no receive time: the attempt's time */
    static const char text[] = "a\0b \xc3\xbc";
    ctx.payload = text;
    ctx.payload_len = sizeof text - 1;
    ctx.content_type = "";
    ctx.received_at = 0;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_non_null(memmem(req.body, req.body_len, "\\u0000", 6)); /* escaped, not raw */
    json_t *body = json_loadb(req.body, req.body_len, JSON_ALLOW_NUL, NULL);
    assert_non_null(body);
    assert_string_equal(hs_jv_str(body, "payload_encoding"), "string");
    const json_t *payload = json_object_get(body, "payload");
    assert_int_equal(json_string_length(payload), sizeof text - 1);
    assert_memory_equal(json_string_value(payload), text, sizeof text - 1);
    const json_t *p = json_object_get(body, "properties");
    assert_null(json_object_get(p, "content_type"));
    assert_int_equal(json_integer_value(json_object_get(p, "timestamp")), 1700000000);
    json_decref(body);
    hs_out_req_free(&req);
    /* empty */
    ctx.payload = NULL;
    ctx.payload_len = 0;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    body = json_loadb(req.body, req.body_len, 0, NULL);
    assert_string_equal(hs_jv_str(body, "payload"), "");
    assert_string_equal(hs_jv_str(body, "payload_encoding"), "string");
    json_decref(body);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_urls(void **state) {
    (void)state;
    EXPECT_URL(BASE ",'vhost':'prod'}", "http://127.0.0.1:15672/api/exchanges/prod/events/publish");
    /* / and other reserved characters are percent-encoded (UTF-8 bytes) */
    EXPECT_URL(BASE ",'vhost':'tenant/a b%\u00fc','exchange':'x#y?z'}",
               "http://127.0.0.1:15672/api/exchanges/tenant%2Fa%20b%25%C3%BC/x%23y%3Fz/publish");
    /* the default exchange has the alias amq.default; dots in names stay */
    EXPECT_URL(BASE ",'exchange':''}", "http://127.0.0.1:15672/api/exchanges/%2F/amq.default/publish");
    EXPECT_URL(BASE ",'exchange':'amq.topic'}", "http://127.0.0.1:15672/api/exchanges/%2F/amq.topic/publish");
    /* a segment of dots only would be a path step */
    EXPECT_URL(BASE ",'vhost':'..','exchange':'.'}", "http://127.0.0.1:15672/api/exchanges/%2E%2E/%2E/publish");
    /* the longest names (255 characters of 4 bytes each) still fit */
    char name[255 * 4 + 1] = "";
    for (int i = 0; i < 255; i++) memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 5); /* U+1F600 */
    char *cfg = hs_sprintf(BASE ",'vhost':'%s','exchange':'%s'}", name, name);
    char *url = url_of(cfg);
    assert_int_equal(strlen(url),
                     strlen("http://127.0.0.1:15672/api/exchanges") + 2 * (1 + 255 * 12) + strlen("/publish"));
    assert_memory_equal(url + strlen("http://127.0.0.1:15672/api/exchanges/"), "%F0%9F%98%80%F0", 15);
    hs_free(url);
    hs_free(cfg);
    /* trailing slashes go; a path prefix (management.path_prefix) stays */
    EXPECT_URL(BASE ",'url':'https://mq.example.com/rabbit//'}",
               "https://mq.example.com/rabbit/api/exchanges/%2F/events/publish");
}

static void test_credentials(void **state) {
    (void)state;
    /* a ':' in the password is fine (only the user may not have one):
     * printf %s 'bob:p@ss:w0rd ü' | base64 */
    json_t *doc = DEST(BASE ",'username':'bob','password':'p@ss:w0rd \u00fc'}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Basic Ym9iOnBAc3M6dzByZCDDvA==");
    assert_true(req.headers[0].secret);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_build_errors(void **state) {
    (void)state;
    json_t *doc = DEST(BASE "}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    ctx.delivery_id = NULL;
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INTERNAL);
    assert_null(req.url);
    assert_null(req.body);
    assert_int_equal(req.nheaders, 0);
    ctx.delivery_id = DLV;
    /* a stored doc without credentials (cannot pass validation) */
    json_object_del(json_object_get(doc, "config"), "password");
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "config.password");
    assert_null(req.url);
    assert_null(req.method);
    assert_null(req.body);
    json_decref(doc);
}

static void test_classify_routed(void **state) {
    (void)state;
    json_t *doc = DEST(BASE "}");
    EXPECT_CLASS(doc, 200, "{\"routed\":true}", HS_OK, NULL);
    EXPECT_CLASS(doc, 200, "{\"routed\":false}", HS_ERR_IO,
                 "not routed: no queue is bound to exchange 'events' for routing key 'order.created' "
                 "(retried: a queue may be bound later)");
    /* a 2xx that is not the publish answer is not a delivery */
    EXPECT_CLASS(doc, 200, "<html>proxy</html>", HS_ERR_IO,
                 "HTTP 200 without \"routed\": is url the RabbitMQ management API?");
    EXPECT_CLASS(doc, 204, NULL, HS_ERR_IO, "HTTP 204 without \"routed\": is url the RabbitMQ management API?");
    EXPECT_CLASS(doc, 200, "{\"routed\":\"yes\"}", HS_ERR_IO, NULL);
    json_decref(doc);
    doc = DEST(BASE ",'exchange':'','routing_key':'inbox'}");
    EXPECT_CLASS(doc, 200, "{\"routed\":false}", HS_ERR_IO,
                 "not routed: no queue named 'inbox' (retried: it may be declared later)");
    json_decref(doc);
}

static void test_classify_errors(void **state) {
    (void)state;
    json_t *doc = DEST(BASE "}");
    EXPECT_CLASS(
        doc, 400, "{\"error\":\"bad_request\",\"reason\":\"404 NOT_FOUND - no exchange 'nosuch' in vhost '/'\"}",
        HS_ERR_PERMANENT, "HTTP 400 bad_request: 404 NOT_FOUND - no exchange 'nosuch' in vhost '/' (not retried)");
    EXPECT_CLASS(doc, 400, "{\"error\":\"bad_request\",\"reason\":[\"not_int\",\"delivery_mode\"]}", HS_ERR_PERMANENT,
                 "HTTP 400 bad_request: [\"not_int\",\"delivery_mode\"] (not retried)");
    EXPECT_CLASS(doc, 400, "{\"error\":\"bad_request\",\"reason\":\"Exceeded HTTP request body size limit\"}",
                 HS_ERR_PERMANENT, NULL);
    /* channel errors that pass are retried */
    EXPECT_CLASS(doc, 400,
                 "{\"error\":\"bad_request\",\"reason\":\"320 CONNECTION_FORCED - broker forced connection closure\"}",
                 HS_ERR_IO, "HTTP 400 bad_request: 320 CONNECTION_FORCED - broker forced connection closure");
    EXPECT_CLASS(doc, 400, "{\"error\":\"bad_request\",\"reason\":\"541 INTERNAL_ERROR\"}", HS_ERR_IO, NULL);
    EXPECT_CLASS(doc, 400, "{\"error\":\"bad_request\",\"reason\":\"5060 X\"}", HS_ERR_PERMANENT, NULL);
    EXPECT_CLASS(doc, 401, "{\"error\":\"not_authorized\",\"reason\":\"Login failed\"}", HS_ERR_PERMANENT,
                 "HTTP 401 not_authorized: Login failed (not retried)");
    EXPECT_CLASS(doc, 401, "{\"error\":\"not_authorised\",\"reason\":\"Access refused.\"}", HS_ERR_PERMANENT, NULL);
    EXPECT_CLASS(doc, 404, "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}", HS_ERR_PERMANENT, NULL);
    EXPECT_CLASS(doc, 405, "", HS_ERR_PERMANENT, "HTTP 405 (not retried)");
    EXPECT_CLASS(doc, 302, NULL, HS_ERR_PERMANENT, "HTTP 302 (not retried)");
    /* overload and outages are retried */
    EXPECT_CLASS(doc, 408, NULL, HS_ERR_IO, "HTTP 408");
    EXPECT_CLASS(doc, 429, NULL, HS_ERR_IO, NULL);
    EXPECT_CLASS(doc, 500, "{\"error\":\"internal_error\",\"reason\":\"boom\"}", HS_ERR_IO,
                 "HTTP 500 internal_error: boom");
    EXPECT_CLASS(doc, 503, "Service Unavailable", HS_ERR_IO, "HTTP 503");
    /* a long reason is cut, not overflowed */
    char *longr = hs_sprintf("{\"error\":\"bad_request\",\"reason\":\"%0500d\"}", 7);
    hs_error err;
    assert_int_equal(classify_at(doc, 400, longr, &err), HS_ERR_PERMANENT);
    assert_true(strlen(err.msg) < HS_ERROR_MSG_MAX);
    assert_non_null(strstr(err.msg, "(not retried)"));
    hs_free(longr);
    /* no answer at all: the transport's error */
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = DLV};
    hs_out_resp resp = {.error = HS_ERR_TIMEOUT};
    snprintf(resp.errmsg, sizeof resp.errmsg, "timed out after 2500 ms");
    hs_error_clear(&err);
    assert_int_equal(hs_provider_rabbitmq.classify(&ctx, &resp, &err), HS_ERR_TIMEOUT);
    assert_string_equal(err.msg, "timed out after 2500 ms");
    json_decref(doc);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_publish_request),
        cmocka_unit_test(test_payload_encoding),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_classify_routed),
        cmocka_unit_test(test_classify_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
