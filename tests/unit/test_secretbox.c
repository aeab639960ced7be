/* test_secretbox.c — sealing secrets at rest and the key file
 * (src/base/secretbox.c).
 *
 * The known-answer value below was made outside hookstream, with node 20's
 * crypto (createCipheriv aes-256-gcm, the key id from createHash sha256),
 * so opening it checks the format against an independent implementation:
 *
 *   key   000102…1f, nonce 0f0e0d0c0b0a090807060504
 *   aad   "hsenc:v1:a2ea35dc:dst_1/config.auth.token"
 *   plain "tok_abcdefghijklmnop1234"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/secretbox.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_ID "a2ea35dc"
#define KAT "hsenc:v1:a2ea35dc:Dw4NDAsKCQgHBgUE0F/aAzq1zMqOudY3UfDibQQIcBD+a8JQYFGqjtPsHhtwnZ0U0EPDhQ=="
#define CTX "dst_1/config.auth.token"
#define PLAIN "tok_abcdefghijklmnop1234"

static void box_of(const char *text, hs_secretbox *box) {
    hs_error err;
    if (hs_secretbox_parse(text, "test", box, &err) != HS_OK) fail_msg("key refused: %s", err.msg);
}

/* open() must fail with code, leaving *plain NULL */
static void expect_refused(const hs_secretbox *box, const char *sealed, const char *ctx, int code) {
    char *plain = (char *)"x";
    size_t len = 1;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_secretbox_open(box, sealed, ctx, &plain, &len, &err), code);
    assert_int_equal(err.code, code);
    assert_null(plain);
    assert_int_equal(len, 0);
    assert_null(strstr(err.msg, PLAIN));
}

static void test_known_answer(void **state) {
    (void)state;
    hs_secretbox box;
    box_of(KEY_HEX, &box);
    assert_string_equal(box.id, KEY_ID);
    char *plain = NULL;
    size_t len = 0;
    hs_error err;
    assert_int_equal(hs_secretbox_open(&box, KAT, CTX, &plain, &len, &err), HS_OK);
    assert_int_equal(len, strlen(PLAIN));
    assert_string_equal(plain, PLAIN);
    hs_free_secret(plain);
    /* the base64 form of the same key is the same key */
    hs_secretbox b64;
    box_of("  " KEY_B64 "\n", &b64);
    assert_memory_equal(b64.key, box.key, HS_SECRETBOX_KEY_LEN);
    assert_string_equal(b64.id, KEY_ID);
}

static void test_round_trip(void **state) {
    (void)state;
    hs_secretbox box;
    box_of(KEY_HEX "\n", &box);
    static const char *const values[] = {PLAIN, "", "é-ünïcödé secret", "{\"private_key\":\"-----BEGIN...\"}"};
    for (size_t i = 0; i < 4; i++) {
        hs_error err;
        char *a = hs_secretbox_seal(&box, values[i], strlen(values[i]), CTX, &err);
        char *b = hs_secretbox_seal(&box, values[i], strlen(values[i]), CTX, &err);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(hs_secretbox_is_sealed(a));
        assert_int_equal(strncmp(a, "hsenc:v1:" KEY_ID ":", 18), 0);
        assert_string_not_equal(a, b); /* a fresh nonce each time */
        if (values[i][0]) assert_null(strstr(a, values[i]));
        char id[HS_SECRETBOX_ID_LEN + 1];
        assert_true(hs_secretbox_key_id(a, id));
        assert_string_equal(id, KEY_ID);
        char *plain = NULL;
        size_t len = 0;
        assert_int_equal(hs_secretbox_open(&box, a, CTX, &plain, &len, &err), HS_OK);
        assert_int_equal(len, strlen(values[i]));
        assert_string_equal(plain, values[i]);
        hs_free_secret(plain);
        hs_free(a);
        hs_free(b);
    }
    /* over the cap: refused, not truncated */
    char *big = hs_malloc(HS_SECRETBOX_MAX_PLAIN + 1);
    memset(big, 'a', HS_SECRETBOX_MAX_PLAIN + 1);
    hs_error err;
    assert_null(hs_secretbox_seal(&box, big, HS_SECRETBOX_MAX_PLAIN + 1, CTX, &err));
    assert_int_equal(err.code, HS_ERR_TOOBIG);
    hs_free(big);
}

static void test_tamper(void **state) {
    (void)state;
    hs_secretbox box;
    box_of(KEY_HEX, &box);
    /* every byte of the nonce, ciphertext and tag is covered: change one
     * base64 character at a time (not the padding) */
    char sealed[] = KAT;
    size_t start = strlen("hsenc:v1:" KEY_ID ":"), end = strlen(sealed) - 2;
    for (size_t i = start; i < end; i++) {
        char keep = sealed[i];
        sealed[i] = keep == 'A' ? 'B' : 'A';
        expect_refused(&box, sealed, CTX, HS_ERR_UNAUTHORIZED);
        sealed[i] = keep;
    }
    /* cut short, not base64, not sealed at all */
    expect_refused(&box, "hsenc:v1:" KEY_ID ":Dw4NDAsKCQgHBgUE", CTX, HS_ERR_INVALID);
    expect_refused(&box, "hsenc:v1:" KEY_ID ":!!!!", CTX, HS_ERR_INVALID);
    expect_refused(&box, PLAIN, CTX, HS_ERR_INVALID);
    expect_refused(&box, "hsenc:v1:", CTX, HS_ERR_INVALID);
}

static void test_wrong_context(void **state) {
    (void)state;
    hs_secretbox box;
    box_of(KEY_HEX, &box);
    /* moved to another field, or to another destination */
    expect_refused(&box, KAT, "dst_1/config.auth.password", HS_ERR_UNAUTHORIZED);
    expect_refused(&box, KAT, "dst_2/config.auth.token", HS_ERR_UNAUTHORIZED);
    expect_refused(&box, KAT, "", HS_ERR_UNAUTHORIZED);
}

static void test_wrong_key(void **state) {
    (void)state;
    hs_secretbox box, other;
    box_of(KEY_HEX, &box);
    box_of("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &other);
    assert_string_not_equal(other.id, box.id);
    expect_refused(&other, KAT, CTX, HS_ERR_UNAUTHORIZED);
    /* relabelled with the other key's id: the id is authenticated too */
    char relabelled[] = KAT;
    memcpy(relabelled + strlen("hsenc:v1:"), other.id, HS_SECRETBOX_ID_LEN);
    expect_refused(&other, relabelled, CTX, HS_ERR_UNAUTHORIZED);
    hs_secretbox_wipe(&other);
    static const unsigned char zero[sizeof other] = {0};
    assert_memory_equal(&other, zero, sizeof other);
}

static void test_parse_rejects(void **state) {
    (void)state;
    static const char *const bad[] = {"",
                                      "00",
                                      KEY_HEX "0",
                                      "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", /* not hex */
                                      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",                    /* 31 bytes */
                                      "a secret key of the wrong shape",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        hs_secretbox box;
        hs_error err;
        assert_int_equal(hs_secretbox_parse(bad[i], "HOOKSTREAM_SECRET_KEY", &box, &err), HS_ERR_INVALID);
        assert_non_null(strstr(err.msg, "HOOKSTREAM_SECRET_KEY"));
    }
}

static void test_key_file(void **state) {
    (void)state;
    char dir[] = "/tmp/hs-secretbox-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = hs_sprintf("%s/db.key", dir);
    hs_secretbox made, loaded;
    hs_error err;
    assert_int_equal(hs_secretbox_create_file(path, &made, &err), HS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65); /* 64 hex digits and a newline */
    assert_int_equal(hs_secretbox_load_file(path, &loaded, &err), HS_OK);
    assert_memory_equal(made.key, loaded.key, HS_SECRETBOX_KEY_LEN);
    assert_string_equal(made.id, loaded.id);
    /* never overwritten */
    hs_secretbox again;
    assert_int_equal(hs_secretbox_create_file(path, &again, &err), HS_ERR_CONFLICT);
    assert_int_equal(hs_secretbox_load_file(path, &loaded, &err), HS_OK);
    assert_memory_equal(made.key, loaded.key, HS_SECRETBOX_KEY_LEN);
    /* readable by others: refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(hs_secretbox_load_file(path, &loaded, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "chmod 600"));
    unlink(path);
    assert_int_equal(hs_secretbox_load_file(path, &loaded, &err), HS_ERR_NOTFOUND);
    rmdir(dir);
    hs_free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),  cmocka_unit_test(test_round_trip), cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_wrong_context), cmocka_unit_test(test_wrong_key),  cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
