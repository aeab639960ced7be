/* test_signing.c — outbound webhook signatures (src/providers/signing.c).
 *
 * Every expected value below was computed outside hookstream, with the
 * command given next to it (openssl 3.0 CLI, node 20 crypto), so these tests
 * compare against independent implementations, not against themselves.
 * JSON in these tests is written with ' for " to stay readable. */
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
#include "providers/signing.h"

#define SECRET "topsecret-0123456789"
#define BODY "{\"id\":1}"
#define TS 1700000000u

/* printf %s '{"id":1}' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_SHA256 "46020e276be778f1ded933d970312371241c128b50220e417bf5549614d6f534"
/* printf %s '{"id":1}' | openssl dgst -sha1 -hmac 'topsecret-0123456789' */
#define HEX_SHA1 "2ad50d93c03b43e6b80a9f5b160157857111de48"
/* printf %s '1700000000.{"id":1}' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_TS_SHA256 "57bb68c4a3096f5061f79efea3ed41842fa4b9cbdb7c12b236c13b41a41b3cc1"
/* printf 'a\0b' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_NUL_SHA256 "e1c8fda117ace3ea349f0d0d049f214a5dfa483c9a77a346544142b939812b4b"
/* printf '1700000000.a\0b' | openssl dgst -sha1 -hmac 'topsecret-0123456789' */
#define HEX_TS_NUL_SHA1 "12a8e607a235f257a7c996254db82a5a8fb370c1"
/* printf %s '' | openssl dgst -sha256 -hmac 'topsecret-0123456789' */
#define HEX_EMPTY_BODY "7e5f3b1a8076b99ff7612bb14e43a3bd59f3e0db5efd458cf71e4884fdcb9fd3"
/* node -e 'const c=require("crypto");console.log(c.createHmac("sha256","").update("abc").digest("hex"))' */
#define HEX_EMPTY_KEY "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351"

/* The test vector of the Standard Webhooks specification, recomputed with
 * node -e 'const c=require("crypto");const k=Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","base64");
 *   console.log("v1,"+c.createHmac("sha256",k)
 *   .update("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}").digest("base64"))' */
#define WH_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WH_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define WH_TS 1614265330u
#define WH_BODY "{\"test\": 2432232314}"
#define WH_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* node -e 'const c=require("crypto");const k=Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","base64");
 *   console.log("v1,"+c.createHmac("sha256",k).update(Buffer.from("dlv_1.1700000000.a\u0000b")).digest("base64"))' */
#define WH_SIG_NUL "v1,ZgseLuFpF5nZE1P6XpHta9LAzCBC2VvZNH7oS82Ast4="

/* A rotation: the new secrets, the old ones being SECRET and WH_SECRET.
 * printf %s '{"id":1}' | openssl dgst -sha256 -hmac 'newsecret-9876543210' */
#define NEW_SECRET "newsecret-9876543210"
#define HEX_NEW_SHA256 "36a260c1f184b3815838d08608b582f1cd429fbf3b653991d288d3806a75ae83"
/* node -e 'const c=require("crypto");const k=Buffer.from("c2lnbmluZy1rZXktcm90YXRlZC0wMQ==","base64");
 *   console.log("v1,"+c.createHmac("sha256",k)
 *   .update("msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}").digest("base64"))' */
#define WH_NEW_SECRET "whsec_c2lnbmluZy1rZXktcm90YXRlZC0wMQ=="
#define WH_NEW_SIG "v1,o/LX4gxa4ZZtPCA8dGvE0ECAVsPdEnOn+uAH+pHuMwk="

static const char nul_body[] = {'a', '\0', 'b'};

/* ---- helpers ---- */

static void set_body(hs_out_req *req, const void *body, size_t len) {
    req->body = len ? hs_memdup(body, len) : NULL;
    req->body_len = len;
}

/* Sign body with the signing doc text; returns the rc, headers in req. */
static int sign(const char *signing_text, const char *msg_id, uint64_t ts, const void *body, size_t len,
                hs_out_req *req, hs_error *err) {
    memset(req, 0, sizeof *req);
    hs_error_clear(err);
    set_body(req, body, len);
    json_t *signing = signing_text ? J(signing_text) : NULL;
    int rc = hs_sign_request(signing, msg_id, ts, req, err);
    json_decref(signing);
    return rc;
}

static void expect_header_at(const hs_out_req *req, size_t i, const char *name, const char *value, int line) {
    if (i >= req->nheaders) fail_msg("line %d: no header #%zu (have %zu)", line, i, req->nheaders);
    const hs_out_header *h = &req->headers[i];
    if (strcmp(h->name, name) != 0 || strcmp(h->value, value) != 0 || h->secret)
        fail_msg("line %d: header #%zu is %s: %s (secret %d), want %s: %s (not secret)", line, i, h->name, h->value,
                 h->secret, name, value);
}
#define EXPECT_HEADER(req, i, name, value) expect_header_at(req, i, name, value, __LINE__)

/* A validated hookstream signing doc (as src/core/resource.c stores it). */
#define HOOKSTREAM(alg, prefix, ts)                                                                                    \
    "{'secret':'" SECRET "','algorithm':'" alg "','header':'X-hookstream-Signature','prefix':'" prefix                 \
    "','include_timestamp':" ts ",'timestamp_header':'X-hookstream-Signature-Timestamp','scheme':'hookstream'}"
#define STANDARD(secret)                                                                                               \
    "{'secret':'" secret "','algorithm':'sha256','header':'X-hookstream-Signature','prefix':'sha256=',"                \
    "'include_timestamp':false,'timestamp_header':'X-hookstream-Signature-Timestamp','scheme':'standard_webhooks'}"

/* ---- hs_sign_hmac_hex ---- */

static void test_hmac_hex_vectors(void **state) {
    (void)state;
    char out[129];
    const size_t klen = strlen(SECRET);
    assert_int_equal(hs_sign_hmac_hex("sha256", SECRET, klen, BODY, strlen(BODY), out, sizeof out), HS_OK);
    assert_string_equal(out, HEX_SHA256);
    assert_int_equal(hs_sign_hmac_hex("sha1", SECRET, klen, BODY, strlen(BODY), out, sizeof out), HS_OK);
    assert_string_equal(out, HEX_SHA1);
    /* the NUL is signed, not a terminator */
    assert_int_equal(hs_sign_hmac_hex("sha256", SECRET, klen, nul_body, sizeof nul_body, out, sizeof out), HS_OK);
    assert_string_equal(out, HEX_NUL_SHA256);
    assert_int_equal(hs_sign_hmac_hex("sha256", SECRET, klen, "", 0, out, sizeof out), HS_OK);
    assert_string_equal(out, HEX_EMPTY_BODY);
    assert_int_equal(hs_sign_hmac_hex("sha256", "", 0, "abc", 3, out, sizeof out), HS_OK);
    assert_string_equal(out, HEX_EMPTY_KEY);
}

static void test_hmac_hex_errors(void **state) {
    (void)state;
    char out[129];
    memset(out, 'x', sizeof out);
    assert_int_equal(hs_sign_hmac_hex("md5", SECRET, 20, BODY, 8, out, sizeof out), HS_ERR_INVALID);
    assert_int_equal(hs_sign_hmac_hex("SHA256", SECRET, 20, BODY, 8, out, sizeof out), HS_ERR_INVALID);
    assert_int_equal(hs_sign_hmac_hex(NULL, SECRET, 20, BODY, 8, out, sizeof out), HS_ERR_INVALID);
    /* 64 hex digits need 65 bytes: one short is refused and nothing written */
    assert_int_equal(hs_sign_hmac_hex("sha256", SECRET, 20, BODY, 8, out, 64), HS_ERR_INVALID);
    assert_int_equal(out[0], 'x');
    assert_int_equal(hs_sign_hmac_hex("sha256", SECRET, 20, BODY, 8, out, 65), HS_OK);
    assert_string_equal(out, HEX_SHA256);
    assert_int_equal(hs_sign_hmac_hex("sha1", SECRET, 20, BODY, 8, out, 40), HS_ERR_INVALID);
    assert_int_equal(hs_sign_hmac_hex("sha1", SECRET, 20, BODY, 8, out, 41), HS_OK);
    assert_string_equal(out, HEX_SHA1);
}

/* ---- hookstream scheme ---- */

static void test_hookstream_sha256(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(HOOKSTREAM("sha256", "sha256=", "false"), "dlv_1", TS, BODY, strlen(BODY), &req, &err),
                     HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_SHA256);
    /* the body itself is untouched */
    assert_int_equal(req.body_len, strlen(BODY));
    assert_memory_equal(req.body, BODY, strlen(BODY));
    hs_out_req_free(&req);
}

static void test_hookstream_sha1(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(HOOKSTREAM("sha1", "sha1=", "false"), "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha1=" HEX_SHA1);
    hs_out_req_free(&req);
}

static void test_hookstream_prefix_and_header(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    const char *custom = "{'secret':'" SECRET "','algorithm':'sha256','header':'X-Sig','prefix':'v0=',"
                         "'include_timestamp':false,'timestamp_header':'X-Sig-Ts','scheme':'hookstream'}";
    assert_int_equal(sign(custom, "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-Sig", "v0=" HEX_SHA256);
    hs_out_req_free(&req);

    /* an empty prefix: the bare hex digest */
    assert_int_equal(sign(HOOKSTREAM("sha256", "", "false"), "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", HEX_SHA256);
    hs_out_req_free(&req);
}

/* A doc holding only the secret gets the documented defaults. */
static void test_hookstream_defaults(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign("{'secret':'" SECRET "'}", "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_SHA256);
    hs_out_req_free(&req);

    assert_int_equal(sign("{'secret':'" SECRET "','algorithm':'sha1','include_timestamp':true}", "dlv_1", TS, nul_body,
                          sizeof nul_body, &req, &err),
                     HS_OK);
    assert_int_equal(req.nheaders, 2);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha1=" HEX_TS_NUL_SHA1);
    EXPECT_HEADER(&req, 1, "X-hookstream-Signature-Timestamp", "1700000000");
    hs_out_req_free(&req);
}

static void test_hookstream_timestamp(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(HOOKSTREAM("sha256", "sha256=", "true"), "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 2);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_TS_SHA256);
    EXPECT_HEADER(&req, 1, "X-hookstream-Signature-Timestamp", "1700000000");
    hs_out_req_free(&req);

    const char *custom = "{'secret':'" SECRET "','algorithm':'sha1','header':'X-Sig','prefix':'t=',"
                         "'include_timestamp':true,'timestamp_header':'X-Sig-Ts','scheme':'hookstream'}";
    assert_int_equal(sign(custom, "dlv_1", TS, nul_body, sizeof nul_body, &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 2);
    EXPECT_HEADER(&req, 0, "X-Sig", "t=" HEX_TS_NUL_SHA1);
    EXPECT_HEADER(&req, 1, "X-Sig-Ts", "1700000000");
    hs_out_req_free(&req);
}

static void test_hookstream_nul_body(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(HOOKSTREAM("sha256", "sha256=", "false"), "dlv_1", TS, nul_body, sizeof nul_body, &req, &err),
                     HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_NUL_SHA256);
    hs_out_req_free(&req);

    /* no body at all */
    assert_int_equal(sign(HOOKSTREAM("sha256", "sha256=", "false"), "dlv_1", TS, NULL, 0, &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_EMPTY_BODY);
    hs_out_req_free(&req);
}

/* ---- standard_webhooks scheme ---- */

/* During a rotation's overlap both secrets sign, the new one first; at
 * and after previous_secret_expires_at the new one alone. */
static void test_rotation_overlap(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    /* TS is 2023-11-14T22:13:20Z */
#define ROTATED(until)                                                                                                 \
    "{'secret':'" NEW_SECRET "','algorithm':'sha256','header':'X-hookstream-Signature','prefix':'sha256=',"            \
    "'include_timestamp':false,'timestamp_header':'X-hookstream-Signature-Timestamp','scheme':'hookstream',"           \
    "'previous_secret':'" SECRET "','previous_secret_expires_at':'" until "'}"
    assert_int_equal(sign(ROTATED("2023-11-14T22:13:21.000Z"), "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 1);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_NEW_SHA256 ", sha256=" HEX_SHA256);
    hs_out_req_free(&req);
    assert_int_equal(sign(ROTATED("2023-11-14T22:13:20.000Z"), "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    EXPECT_HEADER(&req, 0, "X-hookstream-Signature", "sha256=" HEX_NEW_SHA256);
    hs_out_req_free(&req);
    /* Standard Webhooks: space-separated */
#define WH_ROTATED(until)                                                                                              \
    "{'secret':'" WH_NEW_SECRET "','algorithm':'sha256','header':'X-hookstream-Signature','prefix':'sha256=',"         \
    "'include_timestamp':false,'timestamp_header':'X-hookstream-Signature-Timestamp','scheme':'standard_webhooks',"    \
    "'previous_secret':'" WH_SECRET "','previous_secret_expires_at':'" until "'}"
    assert_int_equal(sign(WH_ROTATED("2021-02-25T15:02:11Z"), WH_ID, WH_TS, WH_BODY, strlen(WH_BODY), &req, &err),
                     HS_OK);
    assert_int_equal(req.nheaders, 3);
    EXPECT_HEADER(&req, 2, "webhook-signature", WH_NEW_SIG " " WH_SIG);
    hs_out_req_free(&req);
    assert_int_equal(sign(WH_ROTATED("2021-02-25T15:02:10Z"), WH_ID, WH_TS, WH_BODY, strlen(WH_BODY), &req, &err),
                     HS_OK);
    EXPECT_HEADER(&req, 2, "webhook-signature", WH_NEW_SIG);
    hs_out_req_free(&req);
#undef ROTATED
#undef WH_ROTATED
}

static void test_standard_webhooks_vector(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(STANDARD(WH_SECRET), WH_ID, WH_TS, WH_BODY, strlen(WH_BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 3);
    EXPECT_HEADER(&req, 0, "webhook-id", WH_ID);
    EXPECT_HEADER(&req, 1, "webhook-timestamp", "1614265330");
    EXPECT_HEADER(&req, 2, "webhook-signature", WH_SIG);
    /* none of the hookstream scheme's headers */
    assert_null(hs_out_req_header(&req, "X-hookstream-Signature"));
    hs_out_req_free(&req);
}

static void test_standard_webhooks_nul_body(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(STANDARD(WH_SECRET), "dlv_1", TS, nul_body, sizeof nul_body, &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 3);
    EXPECT_HEADER(&req, 0, "webhook-id", "dlv_1");
    EXPECT_HEADER(&req, 1, "webhook-timestamp", "1700000000");
    EXPECT_HEADER(&req, 2, "webhook-signature", WH_SIG_NUL);
    hs_out_req_free(&req);
}

static void test_standard_webhooks_bad_secret(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    static const char *const bad[] = {
        STANDARD("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),       /* no whsec_ */
        STANDARD("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"),  /* not a multiple of 4 */
        STANDARD("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa!w"), /* not base64 */
        STANDARD("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), /* the prefix is lowercase */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sign(bad[i], WH_ID, WH_TS, WH_BODY, strlen(WH_BODY), &req, &err), HS_ERR_INVALID);
        assert_int_equal(err.code, HS_ERR_INVALID);
        assert_string_equal(err.field, "signing.secret");
        assert_int_equal(req.nheaders, 0);
        hs_out_req_free(&req);
    }
    /* webhook-id needs the message id */
    assert_int_equal(sign(STANDARD(WH_SECRET), NULL, WH_TS, WH_BODY, strlen(WH_BODY), &req, &err), HS_ERR_INVALID);
    assert_int_equal(req.nheaders, 0);
    hs_out_req_free(&req);
}

/* ---- no signing, bad docs ---- */

static void test_no_signing(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    assert_int_equal(sign(NULL, "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 0);
    hs_out_req_free(&req);
    assert_int_equal(sign("null", "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_OK);
    assert_int_equal(req.nheaders, 0);
    hs_out_req_free(&req);
}

static void test_bad_signing_docs(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    static const struct {
        const char *doc, *field;
    } cases[] = {
        {"'sha256'", "signing"},
        {"{}", "signing.secret"},
        {"{'secret':''}", "signing.secret"},
        {"{'secret':'" SECRET "','algorithm':'md5'}", "signing.algorithm"},
        {"{'secret':'" SECRET "','scheme':'svix'}", "signing.scheme"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(sign(cases[i].doc, "dlv_1", TS, BODY, strlen(BODY), &req, &err), HS_ERR_INVALID);
        assert_string_equal(err.field, cases[i].field);
        assert_int_equal(req.nheaders, 0);
        hs_out_req_free(&req);
    }
}

/* A request already holding the most headers it can: the signature does not
 * fit and that is an error, not a silently unsigned delivery. */
static void test_headers_full(void **state) {
    (void)state;
    hs_out_req req;
    memset(&req, 0, sizeof req);
    for (int i = 0; i < HS_OUT_MAX_HEADERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "X-H%d", i);
        assert_int_equal(hs_out_req_add_header(&req, name, "v", false), HS_OK);
    }
    hs_error err;
    hs_error_clear(&err);
    json_t *signing = J(HOOKSTREAM("sha256", "sha256=", "false"));
    assert_int_equal(hs_sign_request(signing, "dlv_1", TS, &req, &err), HS_ERR_TOOBIG);
    assert_int_equal(err.code, HS_ERR_TOOBIG);
    assert_int_equal(req.nheaders, HS_OUT_MAX_HEADERS);
    json_decref(signing);
    hs_out_req_free(&req);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_hex_vectors),
        cmocka_unit_test(test_hmac_hex_errors),
        cmocka_unit_test(test_hookstream_sha256),
        cmocka_unit_test(test_hookstream_sha1),
        cmocka_unit_test(test_hookstream_prefix_and_header),
        cmocka_unit_test(test_hookstream_defaults),
        cmocka_unit_test(test_hookstream_timestamp),
        cmocka_unit_test(test_hookstream_nul_body),
        cmocka_unit_test(test_rotation_overlap),
        cmocka_unit_test(test_standard_webhooks_vector),
        cmocka_unit_test(test_standard_webhooks_nul_body),
        cmocka_unit_test(test_standard_webhooks_bad_secret),
        cmocka_unit_test(test_no_signing),
        cmocka_unit_test(test_bad_signing_docs),
        cmocka_unit_test(test_headers_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
