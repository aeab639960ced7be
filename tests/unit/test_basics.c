/* Unit tests for the small building blocks: ids, capped buffers, base64,
 * query strings, time parsing, command line parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/digest.h"
#include "app/config.h"
#include "base/error.h"
#include "base/id.h"
#include "base/idmap.h"
#include "base/json_text.h"
#include "http/query.h"
#include "base/timeutil.h"

/* hs_hmac keeps keyed contexts per thread: every MAC, with keys that come
 * back, keys that push others out (more than the cache holds), an empty
 * key, a long one (not cached), parts, SHA-1 and SHA-256 interleaved,
 * equals OpenSSL's one-shot MAC. */
static void hmac_check(const char *digest, const unsigned char *key, size_t key_len, const char *msg) {
    unsigned char ours[HS_DIGEST_MAX], ref[EVP_MAX_MD_SIZE];
    size_t ours_len = 0, ref_len = 0;
    size_t n = strlen(msg), half = n / 2;
    hs_digest_part parts[2] = {{msg, half}, {msg + half, n - half}};
    assert_int_equal(hs_hmac(digest, key, key_len, parts, 2, ours, &ours_len), HS_OK);
    assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key_len ? key : (const unsigned char *)"", key_len,
                              (const unsigned char *)msg, n, ref, sizeof ref, &ref_len));
    assert_int_equal(ours_len, ref_len);
    assert_memory_equal(ours, ref, ref_len);
}

static void *hmac_rounds(void *arg) {
    (void)arg;
    unsigned char key[200];
    for (size_t i = 0; i < sizeof key; i++) key[i] = (unsigned char)(i * 7 + 1);
    const size_t lens[] = {0, 1, 16, 32, 64, 65, 128, 129, 200};
    for (int round = 0; round < 40; round++) {
        for (size_t k = 0; k < 12; k++) { /* 12 keys: more than a thread keeps */
            key[0] = (unsigned char)k;
            size_t len = lens[(k + (size_t)round) % (sizeof lens / sizeof lens[0])];
            hmac_check(k % 3 ? "SHA256" : "SHA1", key, len, round % 2 ? "the body of an event" : "1733580000.{}");
            hmac_check("SHA256", key, len, "same key, another message");
        }
    }
    return NULL;
}

static void test_hmac_cached_contexts(void **state) {
    (void)state;
    hmac_rounds(NULL);
    pthread_t t[2]; /* and on threads of their own, each with its cache, freed as it ends */
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, hmac_rounds, NULL), 0);
    for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void test_id_format_and_order(void **state) {
    (void)state;
    char prev[HS_ID_MAX] = "";
    for (int i = 0; i < 10000; i++) {
        char id[HS_ID_MAX];
        hs_id_new("evt_", id);
        assert_true(hs_id_valid("evt_", id));
        assert_int_equal(strlen(id), 4 + 32);
        if (i) assert_true(strcmp(prev, id) < 0); /* strictly increasing */
        memcpy(prev, id, sizeof id);
    }
    uint64_t t = hs_id_time_ms(prev);
    uint64_t now = hs_now_ms();
    assert_true(t <= now && now - t < 5000);
}

static void test_id_valid_rejects(void **state) {
    (void)state;
    assert_false(hs_id_valid("src_", "dst_0123456789abcdef0123456789abcdef"));
    assert_false(hs_id_valid("src_", "src_0123456789abcdef0123456789abcde"));
    assert_false(hs_id_valid("src_", "src_0123456789abcdef0123456789abcdef0"));
    assert_false(hs_id_valid("src_", "src_0123456789ABCDEF0123456789abcdef"));
    assert_false(hs_id_valid("src_", NULL));
    assert_true(hs_id_valid("src_", "src_0123456789abcdef0123456789abcdef"));
    char id[HS_ID_MAX];
    hs_id_new_at("x_", 0x123456789abcULL, id);
    assert_int_equal(hs_id_time_ms(id), 0x123456789abcULL);
}

static void test_id_copy(void **state) {
    (void)state;
    char dst[HS_ID_MAX], id[HS_ID_MAX];
    hs_id_new("dlv_", id);
    hs_id_copy(dst, id);
    assert_string_equal(dst, id);
    hs_id_copy(dst, NULL);
    assert_string_equal(dst, "");
    char longer[100];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    hs_id_copy(dst, longer); /* cut to fit, still terminated */
    assert_int_equal(strlen(dst), HS_ID_MAX - 1);
}

static void test_buf_cap(void **state) {
    (void)state;
    hs_buf b;
    hs_buf_init(&b, 10);
    assert_int_equal(hs_buf_appends(&b, "hello"), HS_OK);
    assert_int_equal(hs_buf_appendf(&b, "%d", 1234), HS_OK);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(hs_buf_appends(&b, "ab"), HS_ERR_TOOBIG);
    assert_string_equal(b.data, "hello1234"); /* unchanged */
    assert_int_equal(hs_buf_appendf(&b, "%s", "xy"), HS_ERR_TOOBIG);
    assert_int_equal(hs_buf_appends(&b, "z"), HS_OK);
    assert_int_equal(b.len, 10);
    size_t n;
    char *d = hs_buf_detach(&b, &n);
    assert_int_equal(n, 10);
    assert_string_equal(d, "hello1234z");
    hs_free(d);
    hs_buf_free(&b);
}

/* Detaching a buffer nothing was appended to gives "" (found by fuzzing:
 * it gave unterminated memory). */
static void test_buf_detach_empty(void **state) {
    (void)state;
    for (size_t cap = 0; cap < 3; cap++) {
        hs_buf b;
        hs_buf_init(&b, cap);
        size_t n = 99;
        char *d = hs_buf_detach(&b, &n);
        assert_int_equal(n, 0);
        assert_int_equal(d[0], '\0');
        hs_free(d);
    }
}

static void test_buf_uncapped(void **state) {
    (void)state;
    hs_buf b;
    hs_buf_init(&b, SIZE_MAX); /* the cap arithmetic must not wrap */
    for (int i = 0; i < 1000; i++) assert_int_equal(hs_buf_appends(&b, "0123456789"), HS_OK);
    assert_int_equal(b.len, 10000);
    assert_true(b.alloc > b.len);
    assert_int_equal(b.data[b.len], '\0');
    hs_buf_free(&b);
}

/* The hand-built JSON must be exactly what jansson produces and parses. */
static void test_json_append_text(void **state) {
    (void)state;
    const char *cases[] = {"plain", "q\"b\\s/", "ctl\x01\x1f\n\r\t\b\f", "caf\xc3\xa9 \xe2\x82\xac", "latin1 \xe9t\xe9",
                           "\xed\xa0\x80 surrogate", "del \x7f and ~",
                           /* plain, longer than the fast path's copy */
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                           "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef!",
                           ""};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hs_buf b;
        hs_buf_init(&b, SIZE_MAX);
        hs_json_append_text(&b, cases[i], strlen(cases[i]));
        json_error_t je;
        json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, &je);
        assert_non_null(v);
        json_t *ref = hs_json_text(cases[i]);
        assert_true(json_equal(v, ref));
        json_decref(v);
        json_decref(ref);
        hs_buf_free(&b);
    }
}

/* UTF-8 checks: valid text passes whole; each byte that is not part of a
 * valid character becomes '?' and nothing else changes. */
static void test_utf8_fix(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
        size_t prefix;
    } cases[] = {
        {"plain", "plain", 5},
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac", 9},
        {"x\xff\xfey", "x??y", 1},
        {"cut \xc3", "cut ?", 4},                       /* a message cut inside a character */
        {"cut \xe2\x82", "cut ??", 4},                  /* ... two bytes of three */
        {"\xed\xa0\x80 surrogate", "??? surrogate", 0}, /* UTF-16 surrogates are not UTF-8 */
        {"\xc0\xaf overlong", "?? overlong", 0},
        {"\xf4\x90\x80\x80 past", "???? past", 0}, /* past U+10FFFF */
        {"", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        assert_int_equal(hs_utf8_prefix(cases[i].in, n), cases[i].prefix);
        assert_int_equal(hs_utf8_valid(cases[i].in, n), strcmp(cases[i].in, cases[i].out) == 0);
        char *s = hs_strdup(cases[i].in);
        hs_utf8_fix(s);
        assert_string_equal(s, cases[i].out);
        assert_true(hs_utf8_valid(s, strlen(s)));
        hs_free(s);
    }
    hs_utf8_fix(NULL);
}

static void count_each(void *value, void *ud) { *(size_t *)ud += value != NULL; }

/* Many keys, deletes in the middle of probe runs, replace, lookups after. */
static void test_idmap(void **state) {
    (void)state;
    hs_idmap m = {0};
    enum { N = 1000 };
    static char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_null(hs_idmap_put(&m, keys[i], keys[i]));
    }
    assert_int_equal(m.n, N);
    assert_ptr_equal(hs_idmap_put(&m, keys[7], keys[8]), keys[7]); /* replace */
    assert_int_equal(m.n, N);
    for (int i = 0; i < N; i += 3) assert_non_null(hs_idmap_del(&m, keys[i]));
    assert_null(hs_idmap_del(&m, "nope"));
    for (int i = 0; i < N; i++) {
        void *v = hs_idmap_get(&m, keys[i]);
        if (i % 3 == 0)
            assert_null(v);
        else
            assert_ptr_equal(v, i == 7 ? keys[8] : keys[i]);
    }
    size_t seen = 0;
    hs_idmap_each(&m, count_each, &seen);
    assert_int_equal(seen, m.n);
    hs_idmap_free(&m);
    assert_null(hs_idmap_get(&m, "k1"));
}

static void test_base64(void **state) {
    (void)state;
    const char *vec[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < 5; i++) {
        char *e = hs_base64_encode(vec[i][0], strlen(vec[i][0]));
        assert_string_equal(e, vec[i][1]);
        size_t n;
        unsigned char *d = hs_base64_decode(e, strlen(e), &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(vec[i][0]));
        assert_memory_equal(d, vec[i][0], n);
        hs_free(d);
        hs_free(e);
    }
    size_t n;
    assert_null(hs_base64_decode("Zm9", 3, &n));
    assert_null(hs_base64_decode("Zm=v", 4, &n));
    assert_null(hs_base64_decode("Zm9v!A==", 8, &n));
    assert_null(hs_base64_decode("Zg==Zg==", 8, &n));
}

static void test_query(void **state) {
    (void)state;
    hs_query q;
    hs_error e;
    assert_int_equal(hs_query_parse("a=1&b=x%20y+z&empty=&flag", &q, &e), HS_OK);
    assert_string_equal(hs_query_get(&q, "a"), "1");
    assert_string_equal(hs_query_get(&q, "b"), "x y z");
    assert_string_equal(hs_query_get(&q, "empty"), "");
    assert_string_equal(hs_query_get(&q, "flag"), "");
    assert_null(hs_query_get(&q, "c"));
    const char *const ok[] = {"a", "b", "empty", "flag", NULL};
    assert_int_equal(hs_query_only(&q, ok, &e), HS_OK);
    const char *const few[] = {"a", NULL};
    assert_int_equal(hs_query_only(&q, few, &e), HS_ERR_INVALID);
    assert_string_equal(e.field, "b");
    hs_query_free(&q);

    assert_int_equal(hs_query_parse("a=1&a=2", &q, &e), HS_ERR_INVALID);
    hs_query_free(&q);
    assert_int_equal(hs_query_parse("a=%zz", &q, &e), HS_ERR_INVALID);
    hs_query_free(&q);
    assert_int_equal(hs_query_parse("a=%4", &q, &e), HS_ERR_INVALID);
    hs_query_free(&q);
    assert_int_equal(hs_query_parse("a=%00", &q, &e), HS_ERR_INVALID);
    hs_query_free(&q);
}

static void test_time(void **state) {
    (void)state;
    char s[HS_ISO8601_MAX];
    hs_iso8601(1732660634123ULL, s);
    assert_string_equal(s, "2024-11-26T22:37:14.123Z");
    /* the seconds are cached per thread: same second, the next one, back */
    hs_iso8601(1732660634999ULL, s);
    assert_string_equal(s, "2024-11-26T22:37:14.999Z");
    hs_iso8601(1732660635000ULL, s);
    assert_string_equal(s, "2024-11-26T22:37:15.000Z");
    hs_iso8601(1732660634007ULL, s);
    assert_string_equal(s, "2024-11-26T22:37:14.007Z");
    hs_iso8601(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00.000Z");
    uint64_t ms;
    assert_true(hs_parse_time("2024-11-26T22:37:14.123Z", &ms));
    assert_int_equal(ms, 1732660634123ULL);
    assert_true(hs_parse_time("2024-11-26T23:37:14.123+01:00", &ms));
    assert_int_equal(ms, 1732660634123ULL);
    assert_true(hs_parse_time("1732660634123", &ms));
    assert_int_equal(ms, 1732660634123ULL);
    assert_true(hs_parse_time("2024-11-26", &ms));
    assert_int_equal(ms, 1732579200000ULL);
    assert_false(hs_parse_time("yesterday", &ms));
    assert_false(hs_parse_time("2024-13-01T00:00:00Z", &ms));
    assert_false(hs_parse_time("2024-11-26T22:37:14Zjunk", &ms));
    assert_false(hs_parse_time("", &ms));
}

static void test_config_parsers(void **state) {
    (void)state;
    size_t n;
    assert_true(hs_parse_size("1048576", &n) && n == 1048576);
    assert_true(hs_parse_size("512k", &n) && n == 512 * 1024);
    assert_true(hs_parse_size("4MiB", &n) && n == 4u << 20);
    assert_false(hs_parse_size("4G", &n));
    assert_false(hs_parse_size("-1", &n));
    assert_false(hs_parse_size("", &n));
    uint64_t d;
    assert_true(hs_parse_duration("90s", &d) && d == 90000);
    assert_true(hs_parse_duration("15m", &d) && d == 900000);
    assert_true(hs_parse_duration("12h", &d) && d == 43200000);
    assert_true(hs_parse_duration("30d", &d) && d == 2592000000ULL);
    assert_true(hs_parse_duration("0s", &d) && d == 0);
    d = 7;
    assert_false(hs_parse_duration("90", &d)); /* a unit is required */
    assert_false(hs_parse_duration("1.5h", &d));
    assert_false(hs_parse_duration("-1s", &d));
    assert_false(hs_parse_duration(" 1s", &d));
    assert_false(hs_parse_duration("1S", &d)); /* units are lower case */
    assert_false(hs_parse_duration("1w", &d));
    assert_false(hs_parse_duration("1ms", &d));
    assert_false(hs_parse_duration("12hx", &d));
    assert_false(hs_parse_duration("off", &d));
    assert_false(hs_parse_duration("", &d));
    assert_false(hs_parse_duration("213503982334601d", &d)); /* past 2^64 ms */
    assert_false(hs_parse_duration("99999999999999999999999s", &d));
    assert_int_equal(d, 7); /* untouched by a refusal */
    char host[64];
    int port;
    assert_true(hs_parse_listen("127.0.0.1:8080", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_true(hs_parse_listen("[::1]:0", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_false(hs_parse_listen("127.0.0.1", host, sizeof host, &port));
    assert_false(hs_parse_listen("127.0.0.1:70000", host, sizeof host, &port));
    assert_false(hs_parse_listen("example.com:80", host, sizeof host, &port));
    assert_false(hs_parse_listen(":80", host, sizeof host, &port));
}

static void test_config_cli(void **state) {
    (void)state;
    hs_config cfg;
    hs_command cmd;
    char err[256];
    char *ok[] = {"hookstream", "serve", "--listen",    "0.0.0.0:9000", "--db=/tmp/x.db",
                  "--max-body", "2M",    "--log-level", "debug",        "--allow-private-destinations",
                  NULL};
    assert_int_equal(hs_config_parse(10, ok, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cmd, HS_CMD_SERVE);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.db, "/tmp/x.db");
    assert_int_equal(cfg.max_body, 2u << 20);
    assert_true(cfg.allow_private_destinations);
    hs_config_free(&cfg);

    char *bad[] = {"hookstream", "serve", "--max-body", NULL};
    assert_int_equal(hs_config_parse(3, bad, &cmd, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "--max-body"));
    hs_config_free(&cfg);

    setenv("HOOKSTREAM_LISTEN", "127.0.0.1:7777", 1);
    char *env[] = {"hookstream", "serve", NULL};
    assert_int_equal(hs_config_parse(2, env, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.listen_port, 7777);
    hs_config_free(&cfg);
    char *override[] = {"hookstream", "serve", "--listen", "127.0.0.1:1", NULL};
    assert_int_equal(hs_config_parse(4, override, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.listen_port, 1); /* the command line wins */
    hs_config_free(&cfg);
    unsetenv("HOOKSTREAM_LISTEN");
}

/* --delivery-window and --retention, with their environment twins */
static void test_config_window_retention(void **state) {
    (void)state;
    hs_config cfg;
    hs_command cmd;
    char err[256];
    char *none[] = {"hookstream", "serve", NULL};
    assert_int_equal(hs_config_parse(2, none, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.delivery_window, 256);
    assert_int_equal(cfg.retention_ms, 30ULL * 24 * 3600 * 1000);
    hs_config_free(&cfg);

    static const struct {
        char *window, *retention;
        int want_window;
        uint64_t want_ms;
    } good[] = {
        {"1", "60s", 1, 60000},  {"65536", "1m", 65536, 60000}, {"64", "90s", 64, 90000},
        {"8", "15m", 8, 900000}, {"300", "12h", 300, 43200000}, {"256", "30d", 256, 2592000000ULL},
        {"16", "0", 16, 0},      {"32", "off", 32, 0},          {"2", "36500d", 2, 3153600000000ULL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *argv[] = {"hookstream",      "serve", "--delivery-window", good[i].window, "--retention",
                        good[i].retention, NULL};
        assert_int_equal(hs_config_parse(6, argv, &cmd, &cfg, err, sizeof err), 0);
        assert_int_equal(cmd, HS_CMD_SERVE);
        assert_int_equal(cfg.delivery_window, good[i].want_window);
        assert_int_equal(cfg.retention_ms, good[i].want_ms);
        hs_config_free(&cfg);
    }
    char *eq[] = {"hookstream", "serve", "--delivery-window=77", "--retention=2h", NULL};
    assert_int_equal(hs_config_parse(4, eq, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.delivery_window, 77);
    assert_int_equal(cfg.retention_ms, 7200000);
    hs_config_free(&cfg);

    /* refused, with a message naming the option and the value */
    static char *const bad[][2] = {
        {"--delivery-window", "0"},  {"--delivery-window", "65537"},
        {"--delivery-window", "-1"}, {"--delivery-window", "1k"},
        {"--delivery-window", ""},   {"--delivery-window", "many"},
        {"--retention", "0m"},       {"--retention", "0s"},
        {"--retention", "0d"},       {"--retention", "90"},
        {"--retention", "1w"},       {"--retention", "12H"},
        {"--retention", "1.5h"},     {"--retention", "-1d"},
        {"--retention", "36501d"},   {"--retention", "OFF"},
        {"--retention", ""},         {"--retention", "99999999999999999999d"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"hookstream", "serve", bad[i][0], bad[i][1], NULL};
        err[0] = '\0';
        assert_int_equal(hs_config_parse(4, argv, &cmd, &cfg, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[i][0]));
        char got[64];
        snprintf(got, sizeof got, "got \"%s\"", bad[i][1]);
        assert_non_null(strstr(err, got));
        hs_config_free(&cfg);
    }
    char *short_r[] = {"hookstream", "serve", "--retention", "1s", NULL};
    assert_int_equal(hs_config_parse(4, short_r, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.retention_ms, 1000);
    hs_config_free(&cfg);

    /* the environment twins; the command line wins over them */
    setenv("HOOKSTREAM_DELIVERY_WINDOW", "4096", 1);
    setenv("HOOKSTREAM_RETENTION", "off", 1);
    assert_int_equal(hs_config_parse(2, none, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.delivery_window, 4096);
    assert_int_equal(cfg.retention_ms, 0);
    hs_config_free(&cfg);
    char *over[] = {"hookstream", "serve", "--delivery-window", "3", "--retention", "7d", NULL};
    assert_int_equal(hs_config_parse(6, over, &cmd, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.delivery_window, 3);
    assert_int_equal(cfg.retention_ms, 7ULL * 86400000);
    hs_config_free(&cfg);
    /* a bad value in the environment is refused, naming the variable */
    setenv("HOOKSTREAM_RETENTION", "10x", 1);
    assert_int_equal(hs_config_parse(2, none, &cmd, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "HOOKSTREAM_RETENTION"));
    hs_config_free(&cfg);
    unsetenv("HOOKSTREAM_RETENTION");
    setenv("HOOKSTREAM_DELIVERY_WINDOW", "0", 1);
    assert_int_equal(hs_config_parse(2, none, &cmd, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "HOOKSTREAM_DELIVERY_WINDOW"));
    hs_config_free(&cfg);
    unsetenv("HOOKSTREAM_DELIVERY_WINDOW");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_format_and_order),
        cmocka_unit_test(test_hmac_cached_contexts),
        cmocka_unit_test(test_id_valid_rejects),
        cmocka_unit_test(test_id_copy),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_buf_detach_empty),
        cmocka_unit_test(test_buf_uncapped),
        cmocka_unit_test(test_json_append_text),
        cmocka_unit_test(test_idmap),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_utf8_fix),
        cmocka_unit_test(test_config_parsers),
        cmocka_unit_test(test_config_cli),
        cmocka_unit_test(test_config_window_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
