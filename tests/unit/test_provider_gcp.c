/* test_provider_gcp.c — gcp_pubsub delivery: the RS256 JWT (src/providers/gcp/jwt.c), the
 * shared token cache (src/providers/gcp/oauth_token.c), the JWT-bearer grant (src/providers/gcp/oauth_grant.c)
 * and the publish request and its judgement (src/providers/gcp_pubsub.c).
 *
 * Keys are generated per run with OpenSSL; every JWT is checked the way a
 * token endpoint checks it: decoded part by part and its signature verified
 * with the public key. The token endpoint is a small HTTP server on a
 * thread of this process (127.0.0.1, a free port) that answers from a
 * script and keeps what it was sent. JSON is written with ' for ". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "base/alloc.h"
#include "base/base64.h"
#include "base/jsonv.h"
#include "providers/gcp/jwt.h"
#include "http/netguard.h"
#include "providers/gcp/oauth_grant.h"
#include "providers/gcp/oauth_token.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "core/resource.h"
#include "base/timeutil.h"

#define EMAIL "pub@hook-project-1.iam.gserviceaccount.com"
#define KID "0123456789abcdef0123456789abcdef01234567"
#define SCOPE "https://www.googleapis.com/auth/pubsub"
#define EVT "evt_00112233445566778899aabbccddeeff"
#define SRC "src_0123456789abcdef0123456789abcdef"

/* ---- keys ---- */

static EVP_PKEY *g_key, *g_other; /* RSA 2048, made once */

static char *pem_of(EVP_PKEY *k, bool pkcs1) {
    BIO *b = BIO_new(BIO_s_mem());
    int ok = pkcs1 ? PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    assert_int_equal(ok, 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = hs_strndup(data, (size_t)n);
    BIO_free(b);
    return s;
}

/* ---- a JWT taken apart and checked ---- */

typedef struct parts {
    json_t *header, *claims;
    bool signature_ok;
} parts;

static json_t *json_part(const char *s, size_t n) {
    size_t len;
    unsigned char *raw = hs_base64url_decode(s, n, &len);
    assert_non_null(raw);
    json_t *v = json_loadb((const char *)raw, len, 0, NULL);
    hs_free(raw);
    assert_non_null(v);
    return v;
}

static parts take_apart(const char *jwt, EVP_PKEY *pub) {
    const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    assert_null(strchr(d2 + 1, '.'));
    assert_null(strchr(jwt, '=')); /* unpadded */
    parts p = {.header = json_part(jwt, (size_t)(d1 - jwt)), .claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1))};
    size_t siglen;
    unsigned char *sig = hs_base64url_decode(d2 + 1, strlen(d2 + 1), &siglen);
    assert_non_null(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
    p.signature_ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)jwt, (size_t)(d2 - jwt)) == 1;
    EVP_MD_CTX_free(md);
    hs_free(sig);
    return p;
}

static void parts_free(parts *p) {
    json_decref(p->header);
    json_decref(p->claims);
}

static void test_base64url(void **state) {
    (void)state;
    /* RFC 4648 §10 vectors, in the URL alphabet without padding */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xfb\xff\xbf"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "-_-_"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        char *e = hs_base64url_encode(in[i], strlen(in[i]));
        assert_string_equal(e, out[i]);
        size_t n;
        unsigned char *d = hs_base64url_decode(e, strlen(e), &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(d, in[i], n);
        hs_free(d);
        hs_free(e);
    }
    size_t n;
    assert_null(hs_base64url_decode("Zm9v+w", 6, &n)); /* standard alphabet */
    assert_null(hs_base64url_decode("Zg==", 4, &n));   /* padding */
    assert_null(hs_base64url_decode("Z", 1, &n));      /* impossible length */
}

static void test_jwt_rs256(void **state) {
    (void)state;
    for (int pkcs1 = 0; pkcs1 < 2; pkcs1++) {
        char *pem = pem_of(g_key, pkcs1);
        json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", EMAIL, "scope", SCOPE, "aud",
                                   "https://oauth2.googleapis.com/token", "iat", (json_int_t)1700000000, "exp",
                                   (json_int_t)1700003600);
        char *jwt = NULL;
        hs_error err;
        assert_int_equal(hs_jwt_rs256(pem, KID, claims, &jwt, &err), HS_OK);
        parts p = take_apart(jwt, g_key);
        assert_true(p.signature_ok);
        json_t *want_header = J("{'alg':'RS256','typ':'JWT','kid':'" KID "'}");
        assert_true(json_equal(p.header, want_header));
        assert_true(json_equal(p.claims, claims));
        parts_free(&p);
        /* the same token checked against another key fails: the check can fail */
        p = take_apart(jwt, g_other);
        assert_false(p.signature_ok);
        parts_free(&p);
        /* and other claims under the same signature do not verify */
        json_t *forged_claims = json_deep_copy(claims);
        json_object_set_new(forged_claims, "iss", json_string("mallory@example.com"));
        char *fc = json_dumps(forged_claims, JSON_COMPACT);
        char *fpart = hs_base64url_encode(fc, strlen(fc));
        const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
        char *forged = hs_sprintf("%.*s.%s%s", (int)(d1 - jwt), jwt, fpart, d2);
        p = take_apart(forged, g_key);
        assert_string_equal(hs_jv_str(p.claims, "iss"), "mallory@example.com");
        assert_false(p.signature_ok);
        parts_free(&p);
        hs_free(forged);
        hs_free(fpart);
        hs_free(fc);
        json_decref(forged_claims);
        json_decref(want_header);
        json_decref(claims);
        hs_free_secret(jwt);
        hs_free(pem);
    }
}

static void test_jwt_bad_keys(void **state) {
    (void)state;
    json_t *claims = J("{'iss':'x'}");
    char *jwt = (char *)"untouched";
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(
        hs_jwt_rs256("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", NULL, claims, &jwt, &err),
        HS_ERR_INVALID);
    assert_null(jwt);
    assert_non_null(strstr(err.msg, "not a readable PEM key"));
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    char *pem = pem_of(ec, false);
    assert_int_equal(hs_jwt_rs256(pem, NULL, claims, &jwt, &err), HS_ERR_INVALID);
    assert_string_equal(err.msg, "the private key is not an RSA key (RS256 needs one)");
    /* no kid: the header has none */
    char *pk = pem_of(g_key, false);
    assert_int_equal(hs_jwt_rs256(pk, NULL, claims, &jwt, &err), HS_OK);
    parts p = take_apart(jwt, g_key);
    assert_null(json_object_get(p.header, "kid"));
    parts_free(&p);
    hs_free_secret(jwt);
    hs_free(pk);
    hs_free(pem);
    EVP_PKEY_free(ec);
    json_decref(claims);
}

/* ---- the cache ---- */

typedef struct fake_fetch {
    pthread_mutex_t lock;
    int calls;
    int rc;
    uint64_t lifetime_s;
    int sleep_ms;
} fake_fetch;

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fetch_fake(void *ud, char **token, uint64_t *lifetime_s, hs_error *err) {
    fake_fetch *f = ud;
    pthread_mutex_lock(&f->lock);
    int n = ++f->calls;
    pthread_mutex_unlock(&f->lock);
    if (f->sleep_ms) sleep_ms(f->sleep_ms);
    if (f->rc) return hs_error_set(err, f->rc, NULL, "fetch %d refused", n);
    *token = hs_sprintf("tok-%d", n);
    *lifetime_s = f->lifetime_s;
    return HS_OK;
}

static char *get(const char *key, fake_fetch *f, int *rc, hs_error *err) {
    char *t = NULL;
    hs_error_clear(err);
    *rc = hs_oauth_token_get(key, fetch_fake, f, &t, err);
    return t;
}

static void test_cache_basics(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    fake_fetch f = {.lock = PTHREAD_MUTEX_INITIALIZER, .lifetime_s = 3600};
    hs_error err;
    int rc;
    char *a = get("k1", &f, &rc, &err), *b = get("k1", &f, &rc, &err);
    assert_string_equal(a, "tok-1");
    assert_string_equal(b, "tok-1");
    assert_int_equal(f.calls, 1);
    char *c = get("k2", &f, &rc, &err); /* another key, another token */
    assert_string_equal(c, "tok-2");
    /* a 401 on a request that has just left: the token is older, dropped */
    sleep_ms(5);
    hs_oauth_token_drop("k1", 1);
    char *d = get("k1", &f, &rc, &err);
    assert_string_equal(d, "tok-3");
    /* a 401 older than the token: not the token it carried, kept */
    sleep_ms(20);
    hs_oauth_token_drop("k1", 3600000);
    char *e = get("k1", &f, &rc, &err);
    assert_string_equal(e, "tok-3");
    assert_int_equal(hs_oauth_token_fetches("k1"), 2);
    /* a failed fetch gives its error and keeps no token */
    hs_oauth_token_drop("k2", 0);
    f.rc = HS_ERR_PERMANENT;
    char *g = get("k2", &f, &rc, &err);
    assert_null(g);
    assert_int_equal(rc, HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "fetch 4 refused");
    hs_free_secret(a);
    hs_free_secret(b);
    hs_free_secret(c);
    hs_free_secret(d);
    hs_free_secret(e);
    hs_oauth_token_clear_all();
}

static uint64_t ms_since(uint64_t t0_ns) { return (hs_monotonic_ns() - t0_ns) / 1000000u; }

static void sleep_until(uint64_t t0_ns, uint64_t at_ms) {
    uint64_t now = ms_since(t0_ns);
    if (now < at_ms) sleep_ms((int)(at_ms - now));
}

static void test_cache_refresh_ahead(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    /* lifetime 2 s: refreshed a tenth early, from 1800 ms on; unusable from
     * 2000 ms. The checks that need a moment inside a window are made only
     * when this (possibly loaded) machine woke up inside it. */
    fake_fetch f = {.lock = PTHREAD_MUTEX_INITIALIZER, .lifetime_s = 2};
    hs_error err;
    int rc;
    uint64_t t0 = hs_monotonic_ns();
    char *a = get("short", &f, &rc, &err);
    assert_string_equal(a, "tok-1");
    sleep_until(t0, 1500);
    char *b = get("short", &f, &rc, &err);
    bool on_time = ms_since(t0) < 1790;
    if (on_time) {
        assert_string_equal(b, "tok-1");
        assert_int_equal(f.calls, 1);
    }
    /* an early refresh that fails leaves the still valid token in use */
    f.rc = HS_ERR_IO;
    sleep_until(t0, 1880);
    uint64_t before = ms_since(t0);
    char *c = get("short", &f, &rc, &err);
    if (on_time && before >= 1810 && ms_since(t0) < 1990) {
        assert_int_equal(rc, HS_OK);
        assert_string_equal(c, "tok-1");
        assert_int_equal(f.calls, 2);
    } else {
        print_message("refresh-ahead window missed (%llu ms): not checked\n", (unsigned long long)before);
    }
    /* once it has expired, the failure is the answer */
    sleep_until(t0, 2050);
    char *d = get("short", &f, &rc, &err);
    assert_null(d);
    assert_int_equal(rc, HS_ERR_IO);
    f.rc = HS_OK;
    char *e = get("short", &f, &rc, &err);
    assert_int_equal(rc, HS_OK);
    assert_string_equal(e, f.calls == 4 ? "tok-4" : "tok-3");
    hs_free_secret(a);
    hs_free_secret(b);
    hs_free_secret(c);
    hs_free_secret(e);
    hs_oauth_token_clear_all();
}

typedef struct racer {
    pthread_t th;
    fake_fetch *f;
    char *token;
    int rc;
    hs_error err;
} racer;

static void *race(void *ud) {
    racer *r = ud;
    r->token = get("shared", r->f, &r->rc, &r->err);
    return NULL;
}

/* 8 threads want a token at once: one fetch, one shared outcome. */
static void run_race(fake_fetch *f, racer *r, int n) {
    for (int i = 0; i < n; i++) {
        r[i].f = f;
        assert_int_equal(pthread_create(&r[i].th, NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < n; i++) pthread_join(r[i].th, NULL);
}

static void test_cache_single_flight(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    fake_fetch f = {.lock = PTHREAD_MUTEX_INITIALIZER, .lifetime_s = 3600, .sleep_ms = 200};
    racer r[8];
    memset(r, 0, sizeof r);
    run_race(&f, r, 8);
    assert_int_equal(f.calls, 1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].rc, HS_OK);
        assert_string_equal(r[i].token, "tok-1");
        hs_free_secret(r[i].token);
    }
    /* a failing fetch: asked once, everyone gets its error */
    hs_oauth_token_clear_all();
    fake_fetch g = {.lock = PTHREAD_MUTEX_INITIALIZER, .rc = HS_ERR_PERMANENT, .sleep_ms = 200};
    memset(r, 0, sizeof r);
    run_race(&g, r, 8);
    assert_int_equal(g.calls, 1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(r[i].rc, HS_ERR_PERMANENT);
        assert_null(r[i].token);
        assert_string_equal(r[i].err.msg, "fetch 1 refused");
    }
    hs_oauth_token_clear_all();
}

/* ---- a scripted token endpoint on a thread ---- */

#define SCRIPT_MAX 8

static struct {
    int fd, port;
    pthread_t th;
    volatile bool stop;
    pthread_mutex_t lock;
    char *answers[SCRIPT_MAX]; /* whole HTTP responses (our copies), in order; the last repeats */
    int nanswers, served;
    char last[16384]; /* the last request, headers and body */
} g_ep = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void ep_answers(int n, ...) {
    va_list ap;
    va_start(ap, n);
    pthread_mutex_lock(&g_ep.lock);
    /* copies: the test frees its strings while the server may still answer */
    for (int i = 0; i < g_ep.nanswers; i++) hs_free(g_ep.answers[i]);
    for (int i = 0; i < n; i++) g_ep.answers[i] = hs_strdup(va_arg(ap, const char *));
    g_ep.nanswers = n;
    g_ep.served = 0;
    pthread_mutex_unlock(&g_ep.lock);
    va_end(ap);
}

/* Reads one request: headers, then Content-Length bytes of body. */
static void ep_read(int c, char *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        ssize_t r = read(c, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "content-length:");
        if (end && (!cl || (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10) <= n)) break;
    }
    buf[n] = '\0';
}

static void *ep_run(void *ud) {
    (void)ud;
    while (!g_ep.stop) {
        struct pollfd p = {.fd = g_ep.fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(g_ep.fd, NULL, NULL);
        if (c < 0) continue;
        char req[sizeof g_ep.last];
        ep_read(c, req, sizeof req);
        pthread_mutex_lock(&g_ep.lock);
        memcpy(g_ep.last, req, sizeof req);
        int i = g_ep.served < g_ep.nanswers ? g_ep.served : g_ep.nanswers - 1;
        /* a copy: the test may replace (and free) the script as soon as the
         * client has read what it needs */
        char *a = hs_strdup(i >= 0 ? g_ep.answers[i] : "");
        g_ep.served++;
        pthread_mutex_unlock(&g_ep.lock);
        ssize_t w = write(c, a, strlen(a));
        (void)w;
        hs_free(a);
        close(c);
    }
    return NULL;
}

static int ep_setup(void **state) {
    (void)state;
    g_ep.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(g_ep.fd, (struct sockaddr *)&a, sizeof a) || listen(g_ep.fd, 16) ||
        getsockname(g_ep.fd, (struct sockaddr *)&a, &len))
        return -1;
    g_ep.port = ntohs(a.sin_port);
    g_ep.stop = false;
    return pthread_create(&g_ep.th, NULL, ep_run, NULL);
}

static int ep_teardown(void **state) {
    (void)state;
    g_ep.stop = true;
    pthread_join(g_ep.th, NULL);
    close(g_ep.fd);
    for (int i = 0; i < g_ep.nanswers; i++) hs_free(g_ep.answers[i]);
    g_ep.nanswers = 0;
    return 0;
}

static int ep_served(void) {
    pthread_mutex_lock(&g_ep.lock);
    int n = g_ep.served;
    pthread_mutex_unlock(&g_ep.lock);
    return n;
}

static char *answer(const char *status, const char *body) {
    return hs_sprintf(
        "HTTP/1.1 %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s", status,
        strlen(body), body);
}

/* ---- the provider ---- */

static char *g_url; /* http://127.0.0.1:PORT/token */

static json_t *dest_with(EVP_PKEY *key, const char *email, const char *topic) {
    char *pem = pem_of(key, false);
    json_t *sa = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "service_account", "project_id", "hook-project-1",
                           "private_key_id", KID, "private_key", pem, "client_email", email);
    json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:s, s:s}}", "name", "g", "type", "pubsub", "config",
                             "project_id", "hook-project-1", "topic_id", topic, "service_account_json", sa, "token_url",
                             g_url, "endpoint", "http://127.0.0.1:9/api/");
    json_t *doc = NULL;
    hs_error err;
    int rc = hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, &err);
    if (rc) fail_msg("destination refused: %s %s", err.field, err.msg);
    json_decref(body);
    hs_free(pem);
    return doc;
}

static int build(const json_t *doc, const char *payload, size_t len, hs_out_req *req, hs_error *err) {
    hs_delivery_ctx ctx = {.destination = doc,
                           .event_id = EVT,
                           .delivery_id = "dlv_1",
                           .source_id = SRC,
                           .attempt = 1,
                           .now_ms = (uint64_t)time(NULL) * 1000,
                           .payload = payload,
                           .payload_len = len};
    hs_error_clear(err);
    return hs_provider_build(&hs_provider_gcp_pubsub, &ctx, req, err);
}

/* The form the token endpoint got: grant type, and an assertion that
 * verifies with pub and carries the expected claims. */
static void check_grant(EVP_PKEY *pub, const char *email) {
    pthread_mutex_lock(&g_ep.lock);
    char req[sizeof g_ep.last];
    memcpy(req, g_ep.last, sizeof req);
    pthread_mutex_unlock(&g_ep.lock);
    assert_true(strncmp(req, "POST /token HTTP/1.1\r\n", 22) == 0);
    assert_non_null(strcasestr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    const char *form = strstr(req, "\r\n\r\n") + 4;
    const char *prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    assert_true(strncmp(form, prefix, strlen(prefix)) == 0);
    parts p = take_apart(form + strlen(prefix), pub);
    assert_true(p.signature_ok);
    assert_string_equal(hs_jv_str(p.header, "alg"), "RS256");
    assert_string_equal(hs_jv_str(p.header, "kid"), KID);
    assert_string_equal(hs_jv_str(p.claims, "iss"), email);
    assert_string_equal(hs_jv_str(p.claims, "scope"), SCOPE);
    assert_string_equal(hs_jv_str(p.claims, "aud"), g_url);
    json_int_t iat = json_integer_value(json_object_get(p.claims, "iat"));
    assert_true(llabs((long long)(iat - time(NULL))) < 60);
    assert_int_equal(json_integer_value(json_object_get(p.claims, "exp")), iat + 3600);
    assert_int_equal(json_object_size(p.claims), 5);
    parts_free(&p);
}

static void test_build_publish(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    char *first = answer("200 OK", "{\"access_token\":\"ya29.first\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
    ep_answers(1, first);
    json_t *doc = dest_with(g_key, EMAIL, "orders");
    hs_out_req req;
    hs_error err;
    const char payload[] = "{\"a\":1}\0\xff binary";
    assert_int_equal(build(doc, payload, sizeof payload - 1, &req, &err), HS_OK);
    assert_int_equal(ep_served(), 1);
    check_grant(g_key, EMAIL);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.url, "http://127.0.0.1:9/api/v1/projects/hook-project-1/topics/orders:publish");
    assert_int_equal(req.timeout_ms, 30000);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Bearer ya29.first");
    assert_true(req.headers[0].secret);
    assert_string_equal(hs_out_req_header(&req, "Content-Type"), "application/json");
    json_t *body = json_loadb(req.body, req.body_len, 0, NULL);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 1);
    json_t *msgs = json_object_get(body, "messages");
    assert_int_equal(json_array_size(msgs), 1);
    json_t *m = json_array_get(msgs, 0);
    assert_int_equal(json_object_size(m), 2);
    const char *data = hs_jv_str(m, "data");
    size_t n;
    unsigned char *raw = hs_base64_decode(data, strlen(data), &n);
    assert_int_equal(n, sizeof payload - 1);
    assert_memory_equal(raw, payload, n);
    hs_free(raw);
    json_t *want = J("{'event_id':'" EVT "','source_id':'" SRC "'}");
    assert_true(json_equal(json_object_get(m, "attributes"), want));
    json_decref(want);
    json_decref(body);
    hs_out_req_free(&req);

    /* the next build uses the cached token: no second token request */
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Bearer ya29.first");
    assert_int_equal(ep_served(), 1);
    hs_out_req_free(&req);
    json_decref(doc);
    hs_free(first);
    hs_oauth_token_clear_all();
}

static int classify(const json_t *doc, int status, const char *body, uint64_t duration_ms, hs_error *err) {
    hs_out_resp resp = {
        .status = status, .body = (char *)body, .body_len = body ? strlen(body) : 0, .duration_ms = duration_ms};
    hs_delivery_ctx ctx = {.destination = doc, .event_id = EVT, .delivery_id = "dlv_1"};
    hs_error_clear(err);
    return hs_provider_gcp_pubsub.classify(&ctx, &resp, err);
}

static void test_classify(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    char *tok1 = answer("200 OK", "{\"access_token\":\"ya29.one\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
    char *tok2 = answer("200 OK", "{\"access_token\":\"ya29.two\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
    ep_answers(2, tok1, tok2);
    json_t *doc = dest_with(g_key, EMAIL, "orders");
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_OK);
    hs_out_req_free(&req);

    assert_int_equal(classify(doc, 200, "{\"messageIds\":[\"1\"]}", 5, &err), HS_OK);
    assert_int_equal(classify(doc, 200, "{}", 5, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 200 without messageIds");
    const char *e404 = "{\"error\":{\"code\":404,\"message\":\"Resource not found (resource=orders).\","
                       "\"status\":\"NOT_FOUND\"}}";
    assert_int_equal(classify(doc, 404, e404, 5, &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 404 NOT_FOUND: Resource not found (resource=orders). (not retried)");
    assert_int_equal(classify(doc, 403, "{\"error\":{\"code\":403,\"status\":\"PERMISSION_DENIED\"}}", 5, &err),
                     HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 403 PERMISSION_DENIED (not retried)");
    assert_int_equal(classify(doc, 400, "not json", 5, &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg, "HTTP 400 (no error status) (not retried)");
    assert_int_equal(
        classify(doc, 503, "{\"error\":{\"code\":503,\"message\":\"busy\",\"status\":\"UNAVAILABLE\"}}", 5, &err),
        HS_ERR_IO);
    assert_string_equal(err.msg, "HTTP 503 UNAVAILABLE: busy");
    assert_int_equal(classify(doc, 429, NULL, 5, &err), HS_ERR_IO);

    /* 401: the cached token goes; the rebuild fetches a fresh one */
    const char *e401 = "{\"error\":{\"code\":401,\"message\":\"Request had invalid authentication credentials.\","
                       "\"status\":\"UNAUTHENTICATED\"}}";
    sleep_ms(5);
    assert_int_equal(classify(doc, 401, e401, 1, &err), HS_ERR_AGAIN);
    assert_string_equal(
        err.msg, "HTTP 401 UNAUTHENTICATED: Request had invalid authentication credentials. (token refreshed once)");
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Bearer ya29.two");
    assert_int_equal(ep_served(), 2);
    hs_out_req_free(&req);
    /* a 401 for a request sent before the current token was fetched leaves it */
    assert_int_equal(classify(doc, 401, e401, 60000, &err), HS_ERR_AGAIN);
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_OK);
    assert_string_equal(hs_out_req_header(&req, "Authorization"), "Bearer ya29.two");
    assert_int_equal(ep_served(), 2);
    hs_out_req_free(&req);
    json_decref(doc);
    hs_free(tok1);
    hs_free(tok2);
    hs_oauth_token_clear_all();
}

static void test_token_endpoint_errors(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    json_t *doc = dest_with(g_key, EMAIL, "orders");
    hs_out_req req;
    hs_error err;
    char *bad =
        answer("400 Bad Request", "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
    ep_answers(1, bad);
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_ERR_PERMANENT);
    assert_string_equal(err.msg,
                        "token endpoint answered HTTP 400 invalid_grant: Invalid JWT Signature. (not retried)");
    assert_null(req.url);
    char *busy = answer("503 Service Unavailable", "{}");
    ep_answers(1, busy);
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "token endpoint answered HTTP 503 (no error code)");
    char *no_token = answer("200 OK", "{\"token_type\":\"Bearer\"}");
    ep_answers(1, no_token);
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_ERR_IO);
    assert_string_equal(err.msg, "the token endpoint's answer has no usable access_token");
    char *crlf = answer("200 OK", "{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":60}");
    ep_answers(1, crlf);
    assert_int_equal(build(doc, "x", 1, &req, &err), HS_ERR_IO);
    /* nobody listening: retryable */
    char *token = NULL;
    uint64_t life;
    assert_int_equal(hs_oauth_jwt_bearer("http://127.0.0.1:9/token", "a.b.c", 2000, &token, &life, &err), HS_ERR_IO);
    assert_non_null(strstr(err.msg, "token endpoint unreachable"));
    /* the SSRF guard on: a token URL on loopback (or at a metadata address)
     * is refused before connecting, and permanently */
    hs_netguard_allow_private(false);
    assert_int_equal(hs_oauth_jwt_bearer(g_url, "a.b.c", 2000, &token, &life, &err), HS_ERR_PERMANENT);
    assert_non_null(strstr(err.msg, "token endpoint refused to connect to 127.0.0.1: a loopback address"));
    assert_int_equal(hs_oauth_jwt_bearer("http://169.254.169.254/token", "a.b.c", 2000, &token, &life, &err),
                     HS_ERR_PERMANENT);
    assert_non_null(strstr(err.msg, "link-local"));
    hs_netguard_allow_private(true);
    /* no expires_in: the default lifetime */
    char *plain = answer("200 OK", "{\"access_token\":\"ya29.p\"}");
    ep_answers(1, plain);
    assert_int_equal(hs_oauth_jwt_bearer(g_url, "a.b.c", 2000, &token, &life, &err), HS_OK);
    assert_string_equal(token, "ya29.p");
    assert_int_equal(life, HS_OAUTH_DEFAULT_LIFETIME_S);
    hs_free_secret(token);
    json_decref(doc);
    hs_free(bad);
    hs_free(busy);
    hs_free(no_token);
    hs_free(crlf);
    hs_free(plain);
    hs_oauth_token_clear_all();
}

/* Two destinations of one account with different keys get different
 * tokens: a wrong key never rides on another destination's token. */
static void test_cache_key_includes_key(void **state) {
    (void)state;
    hs_oauth_token_clear_all();
    char *tok = answer("200 OK", "{\"access_token\":\"ya29.good\",\"expires_in\":3599}");
    char *bad =
        answer("400 Bad Request", "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
    ep_answers(2, tok, bad);
    json_t *good = dest_with(g_key, EMAIL, "orders"), *wrong = dest_with(g_other, EMAIL, "orders");
    hs_out_req req;
    hs_error err;
    assert_int_equal(build(good, "x", 1, &req, &err), HS_OK);
    hs_out_req_free(&req);
    assert_int_equal(build(wrong, "x", 1, &req, &err), HS_ERR_PERMANENT);
    assert_int_equal(ep_served(), 2);
    json_decref(good);
    json_decref(wrong);
    hs_free(tok);
    hs_free(bad);
    hs_oauth_token_clear_all();
}

static void test_provider_table(void **state) {
    (void)state;
    const hs_provider *p = hs_provider_find("pubsub");
    assert_ptr_equal(p, &hs_provider_gcp_pubsub);
    assert_true(p->slow_build);
    assert_non_null(p->build);
    assert_non_null(p->classify);
    assert_string_equal(p->secret_paths[0], "service_account_json");
    assert_null(p->secret_paths[1]);
}

int main(void) {
    hs_alloc_init_json();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    hs_netguard_allow_private(true); /* the token endpoint stand-in is on 127.0.0.1 */
    g_key = EVP_RSA_gen(2048);
    g_other = EVP_RSA_gen(2048);
    if (ep_setup(NULL) != 0) return 1;
    g_url = hs_sprintf("http://127.0.0.1:%d/token", g_ep.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt_rs256),
        cmocka_unit_test(test_jwt_bad_keys),
        cmocka_unit_test(test_cache_basics),
        cmocka_unit_test(test_cache_refresh_ahead),
        cmocka_unit_test(test_cache_single_flight),
        cmocka_unit_test(test_build_publish),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_token_endpoint_errors),
        cmocka_unit_test(test_cache_key_includes_key),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ep_teardown(NULL);
    hs_free(g_url);
    EVP_PKEY_free(g_key);
    EVP_PKEY_free(g_other);
    curl_global_cleanup();
    return rc;
}
