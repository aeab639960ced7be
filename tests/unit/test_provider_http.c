/* test_provider_http.c — the delivery half of the http destination type
 * (src/providers/http.c build, src/providers/provider.c hs_provider_classify_2xx),
 * and the rule that no provider's request repeats a header name
 * (hs_provider_build, src/http/outbound.c hs_out_req_unique_headers).
 *
 * Destination docs go through hs_resource_create_doc, so the builder sees
 * exactly what the store holds; the few tests about what validation already
 * refuses (CR/LF) build their docs by hand. Expected signatures and base64
 * values were computed outside hookstream with the command given beside
 * them. JSON in these tests is written with ' for " to stay readable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "test_util.h"
#include "base/alloc.h"
#include "http/outbound.h"
#include "providers/aws/aws.h"
#include "providers/aws/sigv4.h"
#include "providers/provider.h"
#include "core/resource.h"

#define URL "https://example.com/hook"
#define EVT "evt_00112233445566778899aabbccddeeff"
#define DLV "dlv_0123456789abcdef0123456789abcdef"
#define NOW_MS 1700000000123u
/* node -e 'console.log(new Date(1700000000123).toISOString())' */
#define NOW_ISO "2023-11-14T22:13:20.123Z"
#define BODY "{\"id\":1}"
#define SECRET "topsecret-0123456789"
#define UA "hookstream/0.1.0"

/* printf %s '{"id":1}' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_SHA256 "46020e276be778f1ded933d970312371241c128b50220e417bf5549614d6f534"
/* printf %s '1700000000.{"id":1}' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_TS_SHA256 "57bb68c4a3096f5061f79efea3ed41842fa4b9cbdb7c12b236c13b41a41b3cc1"
/* node -e 'const c=require("crypto");const k=Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","base64");
 *   console.log("v1,"+c.createHmac("sha256",k)
 *   .update("dlv_0123456789abcdef0123456789abcdef.1700000000.{\"id\":1}").digest("base64"))' */
#define WH_SIG "v1,efteJntVaUMCbqr6G93EJavrUV9YenpQ2w8SfrS0rUs="
/* printf %s 'alice:s3cret-pass' | base64 */
#define BASIC_ALICE "YWxpY2U6czNjcmV0LXBhc3M="
/* printf %s 'bob:p@ss:word' | base64 */
#define BASIC_BOB "Ym9iOnBAc3M6d29yZA=="

/* ---- helpers ---- */

#define DEST(text) hs_test_dest(text, NULL, __LINE__)

static hs_delivery_ctx ctx_for(const json_t *doc) {
    return (hs_delivery_ctx){
        .destination = doc,
        .event_id = EVT,
        .delivery_id = DLV,
        .connection_id = "conn_0123456789abcdef0123456789abcdef",
        .source_id = "src_0123456789abcdef0123456789abcdef",
        .attempt = 1,
        .now_ms = NOW_MS,
        .payload = BODY,
        .payload_len = strlen(BODY),
        .content_type = "application/json",
    };
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    hs_error_clear(err);
    return hs_provider_build(&hs_provider_http, ctx, req, err);
}

#define CT_JSON                                                                                                        \
    { "Content-Type", "application/json", false }
#define OURS(attempt, iso)                                                                                             \
    {"X-hookstream-Event-Id", EVT, false}, {"X-hookstream-Delivery-Id", DLV, false},                                   \
        {"X-hookstream-Delivery-Attempt", attempt, false}, {                                                           \
        "X-hookstream-Timestamp", iso, false                                                                           \
    }
#define UA_HDR                                                                                                         \
    { "User-Agent", UA, false }

/* The request a failed build leaves: nothing to free, nothing to send. */
static void expect_empty(const hs_out_req *req) {
    assert_null(req->method);
    assert_null(req->url);
    assert_null(req->body);
    assert_int_equal(req->body_len, 0);
    assert_int_equal(req->nheaders, 0);
}

/* ---- tests ---- */

static void test_provider_table(void **state) {
    (void)state;
    const hs_provider *p = hs_provider_find("http");
    assert_ptr_equal(p, &hs_provider_http);
    assert_non_null(p->build);
    assert_non_null(p->classify); /* the 2xx rule, plus fail_on_graphql_errors */
}

static void test_minimal(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, URL);
    assert_int_equal(req.timeout_ms, 30000);
    assert_int_equal(req.body_len, strlen(BODY));
    assert_memory_equal(req.body, BODY, strlen(BODY));
    assert_ptr_not_equal(req.body, ctx.payload); /* a copy: the request outlives ctx */
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_method_timeout_attempt(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "?a=1','method':'PUT','timeout_ms':2500}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.attempt = 12;
    ctx.now_ms = 1700000987654u;
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "PUT");
    assert_string_equal(req.url, URL "?a=1");
    assert_int_equal(req.timeout_ms, 2500);
    /* node -e 'console.log(new Date(1700000987654).toISOString())' */
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("12", "2023-11-14T22:29:47.654Z"));
    hs_out_req_free(&req);
    json_decref(doc);

    doc = DEST("{'name':'d','config':{'url':'" URL "','method':'PATCH'}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "PATCH");
    hs_out_req_free(&req);
    json_decref(doc);
}

/* Bodies are bytes: NULs travel, an empty payload is no body. */
static void test_body_bytes(void **state) {
    (void)state;
    static const char bin[] = {'\0', 'x', '\0', '\xff'};
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    ctx.payload = bin;
    ctx.payload_len = sizeof bin;
    ctx.content_type = "application/octet-stream";
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_int_equal(req.body_len, sizeof bin);
    assert_memory_equal(req.body, bin, sizeof bin);
    assert_string_equal(hs_out_req_header(&req, "content-type"), "application/octet-stream");
    hs_out_req_free(&req);

    ctx.payload = "";
    ctx.payload_len = 0;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_null(req.body);
    assert_int_equal(req.body_len, 0);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_content_type_rules(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;

    /* unknown content type: none is sent */
    ctx.content_type = "";
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, UA_HDR, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    ctx.content_type = NULL;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_null(hs_out_req_header(&req, "Content-Type"));
    hs_out_req_free(&req);

    /* the event's own, parameters and all */
    ctx.content_type = "text/plain; charset=utf-8";
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, {"Content-Type", "text/plain; charset=utf-8", false}, UA_HDR, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);

    /* a configured Content-Type (and User-Agent) wins: sent once, the user's */
    doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{'content-type':'application/xml',"
               "'User-Agent':'acme-relay/2'}}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, {"content-type", "application/xml", false}, {"User-Agent", "acme-relay/2", false},
                   OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

/* User headers keep their order; credential-looking names are masked. */
static void test_user_headers(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{"
                       "'X-Tenant':'acme','Authorization':'Token abc','proxy-authorization':'Basic eA==',"
                       "'Cookie':'s=1','Set-Cookie':'t=2','X-Api-Key':'k1','X-Auth-Token':'t1',"
                       "'X-Client-Secret':'s1','X-PASSWORD':'p1','Accept':'text/plain','X-Signer':'me'}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-Tenant", "acme", false}, {"Authorization", "Token abc", true},
                   {"proxy-authorization", "Basic eA==", true}, {"Cookie", "s=1", true}, {"Set-Cookie", "t=2", true},
                   {"X-Api-Key", "k1", true}, {"X-Auth-Token", "t1", true}, {"X-Client-Secret", "s1", true},
                   {"X-PASSWORD", "p1", true}, {"Accept", "text/plain", false}, {"X-Signer", "me", false},
                   OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_auth_bearer(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{'X-Tenant':'acme'},"
                       "'auth':{'type':'bearer','token':'tok-123'}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-Tenant", "acme", false}, {"Authorization", "Bearer tok-123", true},
                   OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_auth_basic(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL
                       "','auth':{'type':'basic','username':'alice','password':'s3cret-pass'}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"Authorization", "Basic " BASIC_ALICE, true}, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);

    /* a ':' in the password is kept: only the first ':' separates */
    doc =
        DEST("{'name':'d','config':{'url':'" URL "','auth':{'type':'basic','username':'bob','password':'p@ss:word'}}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Basic " BASIC_BOB);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_auth_api_key(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','auth':{'type':'api_key','key':'k-777'}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-API-Key", "k-777", true}, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);

    doc = DEST("{'name':'d','config':{'url':'" URL "','auth':{'type':'api_key','header':'X-Partner','key':'k-8'}}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-Partner", "k-8", true}, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_auth_custom(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{'Accept':'*/*'},"
                       "'auth':{'type':'custom','headers':{'X-One':'1','X-Two':'two'}}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"Accept", "*/*", false}, {"X-One", "1", true}, {"X-Two", "two", true},
                   OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_auth_none(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','auth':{'type':'none'}}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_signing_hookstream(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "'},'signing':{'secret':'" SECRET "'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO), {"X-hookstream-Signature", "sha256=" HEX_SHA256, false});
    hs_out_req_free(&req);
    json_decref(doc);

    /* with the timestamp: now_ms / 1000, signed and sent */
    doc = DEST("{'name':'d','config':{'url':'" URL "'},'signing':{'secret':'" SECRET "','include_timestamp':true}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO),
                   {"X-hookstream-Signature", "sha256=" HEX_TS_SHA256, false},
                   {"X-hookstream-Signature-Timestamp", "1700000000", false});
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_signing_standard_webhooks(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "'},'signing':{'scheme':'standard_webhooks',"
                       "'secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO), {"webhook-id", DLV, false},
                   {"webhook-timestamp", "1700000000", false}, {"webhook-signature", WH_SIG, false});
    hs_out_req_free(&req);
    json_decref(doc);
}

/* A configured header named like a signature header is left out: the
 * receiver sees one signature, ours. */
static void test_signature_header_not_forgeable(void **state) {
    (void)state;
    json_t *doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{'X-Sig':'forged','X-Keep':'k'},"
                       "'auth':{'type':'custom','headers':{'x-sig-ts':'0'}}},"
                       "'signing':{'secret':'" SECRET "','header':'X-Sig','timestamp_header':'X-Sig-Ts',"
                       "'include_timestamp':true}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-Keep", "k", false}, OURS("1", NOW_ISO),
                   {"X-Sig", "sha256=" HEX_TS_SHA256, false}, {"X-Sig-Ts", "1700000000", false});
    hs_out_req_free(&req);
    json_decref(doc);

    doc = DEST("{'name':'d','config':{'url':'" URL "','headers':{'Webhook-Signature':'v1,forged','webhook-id':'x'}},"
               "'signing':{'scheme':'standard_webhooks','secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, OURS("1", NOW_ISO), {"webhook-id", DLV, false},
                   {"webhook-timestamp", "1700000000", false}, {"webhook-signature", WH_SIG, false});
    hs_out_req_free(&req);
    json_decref(doc);
}

/* Docs validation would refuse, built by hand: the builder still never
 * emits CR or LF, and leaves req empty. */
static void test_crlf_refused(void **state) {
    (void)state;
    static const char *const docs[] = {
        "{'type':'http','config':{'url':'" URL "','headers':{'X-A':'a\\r\\nX-Evil: 1'}}}",
        "{'type':'http','config':{'url':'" URL "','headers':{'X-A':'a\\nb'}}}",
        "{'type':'http','config':{'url':'" URL "','headers':{'X-A\\r\\nX-Evil':'a'}}}",
        "{'type':'http','config':{'url':'" URL "','auth':{'type':'bearer','token':'t\\r\\nX-Evil: 1'}}}",
        "{'type':'http','config':{'url':'" URL "','auth':{'type':'api_key','header':'X-K','key':'k\\r'}}}",
        "{'type':'http','config':{'url':'" URL "','auth':{'type':'custom','headers':{'X-C':'\\nx'}}}}",
        "{'type':'http','config':{'url':'" URL "\\r\\nX-Evil: 1'}}",
        "{'type':'http','config':{'url':'" URL "'},'signing':{'secret':'" SECRET "','prefix':'a\\r\\nb='}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *doc = J(docs[i]);
        hs_delivery_ctx ctx = ctx_for(doc);
        hs_out_req req;
        hs_error err;
        if (build(&ctx, &req, &err) != HS_ERR_INVALID) fail_msg("doc #%zu was not refused", i);
        assert_int_equal(err.code, HS_ERR_INVALID);
        assert_null(strstr(err.msg, "Evil")); /* the value is not echoed */
        expect_empty(&req);
        hs_out_req_free(&req); /* harmless after a failed build */
        json_decref(doc);
    }

    /* from the delivery context too */
    json_t *doc = J("{'type':'http','config':{'url':'" URL "'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    ctx.content_type = "text/plain\r\nX-Evil: 1";
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    expect_empty(&req);
    ctx = ctx_for(doc);
    ctx.event_id = "evt_1\nX-Evil: 1";
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    expect_empty(&req);
    /* the same doc and context without the CR/LF are fine */
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 6);
    hs_out_req_free(&req);
    json_decref(doc);
}

static void test_build_errors(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    json_t *doc = J("{'type':'http','config':{'method':'POST'}}");
    hs_delivery_ctx ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "config.url");
    expect_empty(&req);
    json_decref(doc);

    /* a hand-made doc without defaults still gets them */
    doc = J("{'type':'http','config':{'url':'" URL "'}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_OK);
    assert_string_equal(req.method, "POST");
    assert_int_equal(req.timeout_ms, 30000);
    hs_out_req_free(&req);
    json_t *keyed = J("{'type':'http','config':{'url':'" URL "','auth':{'type':'api_key','key':'k-9'}}}");
    hs_delivery_ctx kctx = ctx_for(keyed);
    assert_int_equal(build(&kctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-API-Key", "k-9", true}, OURS("1", NOW_ISO));
    hs_out_req_free(&req);
    json_decref(keyed);

    ctx.delivery_id = NULL;
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INTERNAL);
    expect_empty(&req);
    json_decref(doc);

    /* a bad signing doc fails the attempt rather than sending it unsigned */
    doc = J("{'type':'http','config':{'url':'" URL "'},'signing':{'secret':'" SECRET "','algorithm':'md5'}}");
    ctx = ctx_for(doc);
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "signing.algorithm");
    expect_empty(&req);
    json_decref(doc);
}

/* 50 user headers and 50 custom auth headers (each within validation's
 * limit) do not fit in one request: an error, not a truncated request. */
static void test_too_many_headers(void **state) {
    (void)state;
    json_t *headers = json_object(), *custom = json_object();
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "X-U%d", i);
        json_object_set_new(headers, name, json_string("u"));
        snprintf(name, sizeof name, "X-C%d", i);
        json_object_set_new(custom, name, json_string("c"));
    }
    json_t *body = json_pack("{s:s, s:{s:s, s:o, s:{s:s, s:o}}}", "name", "d", "config", "url", URL, "headers", headers,
                             "auth", "type", "custom", "headers", custom);
    json_t *doc = NULL;
    hs_error err;
    assert_int_equal(hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, &err), HS_OK);
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    assert_int_equal(build(&ctx, &req, &err), HS_ERR_TOOBIG);
    assert_int_equal(err.code, HS_ERR_TOOBIG);
    expect_empty(&req);
    json_decref(body);
    json_decref(doc);
}

/* ---- hs_provider_classify_2xx ---- */

static int classify(int status, int error, const char *errmsg, hs_error *err) {
    hs_out_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.status = status;
    resp.error = error;
    snprintf(resp.errmsg, sizeof resp.errmsg, "%s", errmsg);
    hs_error_clear(err);
    return hs_provider_classify_2xx(&resp, err);
}

static void test_classify_2xx(void **state) {
    (void)state;
    hs_error err;
    static const int ok[] = {200, 201, 202, 204, 299};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(classify(ok[i], 0, "", &err), HS_OK);
        assert_int_equal(err.code, HS_OK);
    }
    static const struct {
        int status;
        const char *msg;
    } bad[] = {{100, "HTTP 100"}, {199, "HTTP 199"}, {300, "HTTP 300"}, {302, "HTTP 302"}, {404, "HTTP 404"},
               {429, "HTTP 429"}, {500, "HTTP 500"}, {503, "HTTP 503"}, {0, "no response"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(classify(bad[i].status, 0, "", &err), HS_ERR_IO);
        assert_int_equal(err.code, HS_ERR_IO);
        assert_string_equal(err.msg, bad[i].msg);
    }
    /* a transfer error is never a success, whatever the status says */
    assert_int_equal(classify(0, HS_ERR_TIMEOUT, "timed out after 1000 ms", &err), HS_ERR_TIMEOUT);
    assert_string_equal(err.msg, "timed out after 1000 ms");
    assert_int_equal(classify(200, HS_ERR_IO, "", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "no response");
    /* err is optional */
    hs_out_resp resp = {.status = 500};
    assert_int_equal(hs_provider_classify_2xx(&resp, NULL), HS_ERR_IO);
}

/* ---- fail_on_graphql_errors ---- */

static int classify_body(const char *config, int status, const char *body, hs_error *err) {
    char *text = hs_sprintf("{'name':'d','config':{'url':'" URL "'%s}}", config);
    json_t *doc = DEST(text);
    hs_free(text);
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.status = status;
    resp.body = body ? hs_strdup(body) : NULL;
    resp.body_len = body ? strlen(body) : 0;
    hs_error_clear(err);
    int rc = hs_provider_http.classify(&ctx, &resp, err);
    hs_out_resp_free(&resp);
    json_decref(doc);
    return rc;
}

static void test_graphql_errors(void **state) {
    (void)state;
    hs_error err;
    const char *on = ",'fail_on_graphql_errors':true";
    const char *failed = "{\"data\":null,\"errors\":[{\"message\":\"Entity not found: Team\"}]}";
    assert_int_equal(classify_body(on, 200, failed, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 with GraphQL errors: Entity not found: Team");
    /* off by default: the 2xx rule alone */
    assert_int_equal(classify_body("", 200, failed, &err), HS_OK);
    /* success bodies, empty errors, bodies that are not JSON */
    assert_int_equal(classify_body(on, 200, "{\"data\":{\"issueCreate\":{\"success\":true}}}", &err), HS_OK);
    assert_int_equal(classify_body(on, 200, "{\"data\":{},\"errors\":[]}", &err), HS_OK);
    assert_int_equal(classify_body(on, 200, "ok", &err), HS_OK);
    assert_int_equal(classify_body(on, 204, NULL, &err), HS_OK);
    assert_int_equal(classify_body(on, 200, "{\"errors\":[{}]}", &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 with GraphQL errors: (no message)");
    /* a non-2xx stays what it was */
    assert_int_equal(classify_body(on, 400, failed, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 400");
}

/* ---- one header per name ----
 *
 * The one rule for repeated header names (src/http/outbound.h
 * hs_out_req_unique_headers), applied to every request a provider builds
 * (hs_provider_build) and before SigV4 signs one (hs_aws_sign): of the
 * headers sharing a name, case-insensitively, the one added last is the
 * only one sent. */

#define KEYS                                                                                                           \
    "'region':'eu-west-1','access_key_id':'AKIDEXAMPLE','secret_access_key':'wJalrXUtnFEMI/"                           \
    "K7MDENG+bPxRfiCYEXAMPLEKEY'"

/* No two headers of req share a name, compared case-insensitively. */
static void expect_unique_at(const hs_out_req *req, int line) {
    for (size_t i = 0; i < req->nheaders; i++)
        for (size_t j = i + 1; j < req->nheaders; j++)
            if (strcasecmp(req->headers[i].name, req->headers[j].name) == 0)
                fail_msg("line %d: headers #%zu and #%zu are both %s", line, i, j, req->headers[i].name);
}
#define EXPECT_UNIQUE(req) expect_unique_at(req, __LINE__)

static void test_later_wins(void **state) {
    (void)state;
    hs_out_req r = {0};
    assert_int_equal(hs_out_req_add_header(&r, "X-A", "1", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "X-B", "2", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "x-a", "3", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "X-C", "s3cr3t", true), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "X-D", "4", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "x-c", "5", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "X-A", "6", true), HS_OK);
    hs_out_req_unique_headers(&r);
    /* the earlier ones are gone, the later keep their place, name, value
     * and secret flag: as if the earlier had never been added */
    EXPECT_HEADERS(&r, {"X-B", "2", false}, {"X-D", "4", false}, {"x-c", "5", false}, {"X-A", "6", true});
    assert_null(r.headers[4].name); /* the slots left are empty */
    /* applying it again changes nothing; adding goes on after the kept */
    hs_out_req_unique_headers(&r);
    assert_int_equal(r.nheaders, 4);
    assert_int_equal(hs_out_req_add_header(&r, "X-E", "7", false), HS_OK);
    assert_string_equal(r.headers[4].name, "X-E");
    hs_out_req_free(&r);

    /* nothing repeated: nothing moves */
    assert_int_equal(hs_out_req_add_header(&r, "A", "1", false), HS_OK);
    assert_int_equal(hs_out_req_add_header(&r, "B", "", false), HS_OK);
    char *a = r.headers[0].name;
    hs_out_req_unique_headers(&r);
    EXPECT_HEADERS(&r, {"A", "1", false}, {"B", "", false});
    assert_ptr_equal(r.headers[0].name, a);
    hs_out_req_free(&r);

    /* empty, and full of one name */
    hs_out_req_unique_headers(&r);
    assert_int_equal(r.nheaders, 0);
    for (int i = 0; i < HS_OUT_MAX_HEADERS; i++) {
        char v[8];
        snprintf(v, sizeof v, "%d", i);
        assert_int_equal(hs_out_req_add_header(&r, i & 1 ? "x-n" : "X-N", v, i & 1), HS_OK);
    }
    hs_out_req_unique_headers(&r);
    EXPECT_HEADERS(&r, {"x-n", "63", true});
    hs_out_req_free(&r);
}

/* A provider that repeats names on purpose: hs_provider_build sends the
 * last of each, whatever the type, and a failed build stays empty. */
static int repeating_build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    (void)ctx;
    (void)err;
    req->method = hs_strdup("POST");
    req->url = hs_strdup("https://example.com/");
    hs_out_req_add_header(req, "Content-Type", "text/plain", false);
    hs_out_req_add_header(req, "Authorization", "Bearer old", true);
    hs_out_req_add_header(req, "X-Keep", "k", false);
    hs_out_req_add_header(req, "content-type", "application/json", false);
    hs_out_req_add_header(req, "AUTHORIZATION", "Bearer new", true);
    return HS_OK;
}

static int failing_build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    int rc = repeating_build(ctx, req, err);
    return rc == HS_OK ? hs_error_set(err, HS_ERR_INVALID, "config", "no") : rc;
}

static void test_build_applies_it(void **state) {
    (void)state;
    const hs_provider p = {.type = "repeating", .build = repeating_build};
    hs_delivery_ctx ctx = {.event_id = EVT, .delivery_id = DLV};
    hs_out_req req;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_provider_build(&p, &ctx, &req, &err), HS_OK);
    EXPECT_HEADERS(&req, {"X-Keep", "k", false}, {"content-type", "application/json", false},
                   {"AUTHORIZATION", "Bearer new", true});
    hs_out_req_free(&req);

    const hs_provider f = {.type = "failing", .build = failing_build};
    assert_int_equal(hs_provider_build(&f, &ctx, &req, &err), HS_ERR_INVALID);
    assert_int_equal(req.nheaders, 0);
    assert_null(req.url);
}

/* ---- every type ---- */

/* Each type's request, with a configuration that gives every header a
 * chance to repeat, carries each name once. */
static void test_every_type(void **state) {
    (void)state;
    static const char *const docs[] = {
        /* http: defaults, configured, auth, ours and signature headers over
         * each other; the signing timestamp in place of ours */
        "{'name':'h','config':{'url':'https://example.com/hook','headers':{'content-type':'text/x','USER-AGENT':'me',"
        "'X-Sig':'forged'},'auth':{'type':'bearer','token':'tok-123'}},'signing':{'secret':'" SECRET "',"
        "'header':'X-Sig','include_timestamp':true,'timestamp_header':'x-hookstream-timestamp'}}",
        "{'name':'h','config':{'url':'https://example.com/hook','auth':{'type':'custom','headers':{'User-Agent':'c',"
        "'Content-Type':'text/c'}}},'signing':{'secret':'" SECRET "','header':'Authorization'}}",
        "{'name':'h','config':{'url':'https://example.com/hook','headers':{'webhook-id':'x'}},'signing':{"
        "'scheme':'standard_webhooks','secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}}",
        "{'type':'aws_sqs','name':'q','config':{'queue_url':'https://sqs.eu-west-1.amazonaws.com/1/q',"
        "'session_token':'tok'," KEYS "}}",
        "{'type':'aws_s3','name':'b','config':{'bucket':'my-events','prefix':'hooks'," KEYS "}}",
        "{'type':'aws_eventbridge','name':'e','config':{" KEYS "}}",
        "{'type':'kafka','name':'k','config':{'rest_url':'https://kafka.example.com','cluster_id':'lkc-1',"
        "'topic':'t','api_key':'k','api_secret':'s'}}",
        "{'type':'rabbitmq','name':'r','config':{'url':'https://rabbit.example.com','exchange':'x','username':'u',"
        "'password':'p'}}",
        "{'type':'websocket','name':'w','config':{'channel_name':'c'}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *doc = DEST(docs[i]);
        const hs_provider *p = hs_provider_find(json_string_value(json_object_get(doc, "type")));
        hs_delivery_ctx ctx = ctx_for(doc);
        hs_out_req req;
        hs_error err;
        hs_error_clear(&err);
        if (hs_provider_build(p, &ctx, &req, &err) != HS_OK) fail_msg("doc #%zu: %s: %s", i, err.field, err.msg);
        EXPECT_UNIQUE(&req);
        hs_out_req_free(&req);
        json_decref(doc);
    }
}

/* The case: timestamp_header set to X-hookstream-Timestamp, in
 * any case. One header of that name, carrying the signed Unix time; ours
 * (ISO 8601) is not sent. */
static void test_signing_timestamp_is_ours(void **state) {
    (void)state;
    static const char *const names[] = {"X-hookstream-Timestamp", "x-hookstream-timestamp"};
    for (size_t i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{'name':'d','config':{'url':'https://example.com/hook'},'signing':{'secret':'" SECRET "',"
                 "'include_timestamp':true,'timestamp_header':'%s'}}",
                 names[i]);
        json_t *doc = DEST(text);
        hs_delivery_ctx ctx = ctx_for(doc);
        hs_out_req req;
        hs_error err;
        hs_error_clear(&err);
        assert_int_equal(hs_provider_build(&hs_provider_http, &ctx, &req, &err), HS_OK);
        EXPECT_HEADERS(&req, CT_JSON, UA_HDR, {"X-hookstream-Event-Id", EVT, false},
                       {"X-hookstream-Delivery-Id", DLV, false}, {"X-hookstream-Delivery-Attempt", "1", false},
                       {"X-hookstream-Signature", "sha256=" HEX_TS_SHA256, false}, {names[i], "1700000000", false});
        hs_out_req_free(&req);
        json_decref(doc);
    }
}

/* ---- what SigV4 signs is what is sent ---- */

static int aws_repeating_build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    req->method = hs_strdup("POST");
    req->url = hs_strdup("https://sqs.eu-west-1.amazonaws.com/");
    req->body = hs_strdup("{}");
    req->body_len = 2;
    hs_out_req_add_header(req, "X-Amz-Target", "AmazonSQS.Old", false);
    hs_out_req_add_header(req, "Content-Type", "application/x-amz-json-1.0", false);
    hs_out_req_add_header(req, "x-amz-target", "AmazonSQS.SendMessage", false);
    return hs_aws_sign(ctx, "sqs", false, req, err);
}

static void test_aws_signs_what_is_sent(void **state) {
    (void)state;
    json_t *doc = DEST("{'type':'aws_sqs','name':'q','config':{'queue_url':'https://sqs.eu-west-1.amazonaws.com/1/q',"
                       "'region':'eu-west-1','access_key_id':'AKIDEXAMPLE',"
                       "'secret_access_key':'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'}}");
    const hs_provider p = {.type = "aws_repeating", .build = aws_repeating_build};
    hs_delivery_ctx ctx = ctx_for(doc);
    hs_out_req req;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_provider_build(&p, &ctx, &req, &err), HS_OK);
    EXPECT_UNIQUE(&req);
    assert_string_equal(hs_out_req_header(&req, "X-Amz-Target"), "AmazonSQS.SendMessage");

    /* the same request built without the repetition signs the same */
    hs_out_req once = {0};
    once.method = hs_strdup("POST");
    once.url = hs_strdup("https://sqs.eu-west-1.amazonaws.com/");
    once.body = hs_strdup("{}");
    once.body_len = 2;
    hs_out_req_add_header(&once, "Content-Type", "application/x-amz-json-1.0", false);
    hs_out_req_add_header(&once, "x-amz-target", "AmazonSQS.SendMessage", false);
    hs_out_req_add_header(&once, "User-Agent", hs_out_req_header(&req, "User-Agent"), false);
    hs_sigv4_key key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    hs_sigv4_opts opts = {.region = "eu-west-1", .service = "sqs", .now_unix = NOW_MS / 1000};
    assert_int_equal(hs_sigv4_sign(&once, &key, &opts, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), hs_out_req_header(&once, "Authorization"));
    hs_out_req_free(&once);
    hs_out_req_free(&req);
    json_decref(doc);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_graphql_errors),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_method_timeout_attempt),
        cmocka_unit_test(test_body_bytes),
        cmocka_unit_test(test_content_type_rules),
        cmocka_unit_test(test_user_headers),
        cmocka_unit_test(test_auth_bearer),
        cmocka_unit_test(test_auth_basic),
        cmocka_unit_test(test_auth_api_key),
        cmocka_unit_test(test_auth_custom),
        cmocka_unit_test(test_auth_none),
        cmocka_unit_test(test_signing_hookstream),
        cmocka_unit_test(test_signing_standard_webhooks),
        cmocka_unit_test(test_signature_header_not_forgeable),
        cmocka_unit_test(test_crlf_refused),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_classify_2xx),
        cmocka_unit_test(test_later_wins),
        cmocka_unit_test(test_build_applies_it),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_signing_timestamp_is_ours),
        cmocka_unit_test(test_aws_signs_what_is_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
