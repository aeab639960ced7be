/* test_json_parse.c — the hot path's JSON parser (src/base/json_parse.h)
 * against jansson's json_loadb(JSON_DECODE_ANY): both accept or both
 * refuse, and what both accept is the same value. On hand-written edge
 * cases; on every document of the JSON Schema Test Suite (when it is
 * there, as test_jsonschema_suite finds it) and every prefix of some of
 * them; and on a fixed-seed run of random mutations. tests/fuzz/fuzz_json.c
 * does the same under libFuzzer. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/json_parse.h"

static size_t checked;

/* Both parsers on s[0..n): they must agree. */
static void agree(const char *s, size_t n) {
    hs_json_perr err;
    json_t *ours = hs_json_parse(s, n, &err);
    json_t *theirs = json_loadb(s, n, JSON_DECODE_ANY, NULL);
    const char *nul = memchr(s, 0, n);
    if (!ours && theirs && nul) {
        /* the differences (json_parse.h): jansson's with a NUL, which is
         * refused here where it stands; after the value, the bytes before
         * it must give the same value here */
        assert_true(err.position < n && s[err.position] == '\0');
        json_t *before = hs_json_parse(s, (size_t)(nul - s), NULL);
        if (before && !json_equal(before, theirs)) fail_msg("they disagree before a NUL: %.*s", (int)(nul - s), s);
        json_decref(before);
        json_decref(theirs);
        checked++;
        return;
    }
    if ((ours == NULL) != (theirs == NULL))
        fail_msg("they disagree on %.*s: ours %s, jansson %s%s", (int)(n > 200 ? 200 : n), s,
                 ours ? "accepts" : "refuses", theirs ? "accepts" : "refuses", ours ? "" : err.text);
    if (ours && !json_equal(ours, theirs)) fail_msg("different values for %.*s", (int)(n > 200 ? 200 : n), s);
    if (!ours) {
        assert_true(err.text[0] != '\0');
        assert_true(err.position <= n);
    }
    json_decref(ours);
    json_decref(theirs);
    checked++;
}

static void agree_text(const char *s) { agree(s, strlen(s)); }

static void test_cases(void **state) {
    (void)state;
    static const char *const cases[] = {
        "{}",
        "[]",
        " [ ] ",
        "0",
        "-0",
        "1",
        "-1",
        "12345678901234567890",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.5",
        "-1.5e10",
        "1e400",
        "-1e400",
        "1e-400",
        "1E+2",
        "0.0",
        "01",
        "-01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "0x10",
        "NaN",
        "Infinity",
        "true",
        "false",
        "null",
        "tru",
        "nul",
        "truex",
        "\"\"",
        "\"abc\"",
        "\"a\\\"b\"",
        "\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\u0041\\u00e9\\u20ac\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83dx\"",
        "\"\\ud83d\\u0041\"",
        "\"\\u0000\"",
        "\"\\x41\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"abc",
        "\"a\nb\"",
        "\"a\tb\"",
        "\"\x7f\"",
        "\"\xc3\xa9\"",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf0\x9f\x98\x80\"",
        "\"\xe2\x82\"",
        "{\"a\":1,\"a\":2}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1 \"b\":2}",
        "[1,]",
        "[1 2]",
        "[,1]",
        "{\"\\u0041\":[]}",
        "{\"\":{}}",
        "[1]x",
        "[1] [2]",
        "",
        " ",
        "\t\n\r ",
        "[\"\xc3\xa9\", {\"k\xc3\xa9\": -0.0}]",
        "[1e2, 1E-2, 1.0e+2]",
        "[6E-315, -4.9e-324, 1e-400]", /* underflow: subnormals and zero are values, only overflow is refused */
        "{\"nested\":{\"deeper\":{\"deepest\":[1,[2,[3,[4]]]]}}}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) agree_text(cases[i]);
    /* bytes jansson's text form cannot hold: a NUL inside a document */
    hs_json_perr err0;
    agree("[1,\0 2]", 7);
    agree("\"a\0b\"", 5);
    agree("\0 1", 3);
    agree("[6\0,1]", 7); /* jansson skips a NUL that ends a number: [6,1] to it */
    agree("[40.0, true ,6\0, 1.5]", 21);
    assert_null(hs_json_parse("[6\0,1]", 7, &err0));
    assert_int_equal(err0.position, 2);
    /* after the value: jansson stops there, ignoring what follows (a body
     * "{...}\0<anything>" would pass a schema it does not match); refused here */
    hs_json_perr err;
    assert_null(hs_json_parse("-922338\0garbage", 15, &err));
    assert_string_equal(err.text, "end of input expected");
    assert_int_equal(err.position, 7);
    agree("{\"a\":1}\0{\"b\"", 12);
}

static void test_depth(void **state) {
    (void)state;
    for (size_t depth = HS_JSON_DEPTH_MAX - 1; depth <= HS_JSON_DEPTH_MAX + 1; depth++) {
        char *s = hs_malloc(2 * depth + 1);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        s[2 * depth] = '\0';
        agree(s, 2 * depth);
        hs_free(s);
    }
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = hs_malloc(size > 0 ? (size_t)size : 1);
    *n = size > 0 ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    return buf;
}

/* Every .json file under dir: whole, and (for every fifth) each prefix. */
static void walk(const char *dir, size_t *files) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, files);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        size_t n = 0;
        char *doc = slurp(path, &n);
        if (!doc) continue;
        agree(doc, n);
        if (++*files % 5 == 0)
            for (size_t k = 0; k < n && k < 4000; k++) agree(doc, k);
        hs_free(doc);
    }
    closedir(d);
}

static void test_suite_documents(void **state) {
    (void)state;
    const char *root = getenv("JSON_SCHEMA_SUITE");
    if (!root) root = "/work/shared/json-schema-test-suite/tests";
    size_t files = 0;
    walk(root, &files);
    if (!files) skip();
    print_message("      %zu documents of %s agree\n", files, root);
}

/* A fixed-seed mutation run over small documents. */
static void test_mutations(void **state) {
    (void)state;
    static const char *const seeds[] = {
        "{\"id\":\"evt_1\",\"amount\":4999,\"items\":[{\"sku\":\"A-1\",\"qty\":2}],\"ok\":true,\"x\":null}",
        "[\"\\u00e9\\ud83d\\ude00\", -0, 1.5e-3, \"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\", {\"k\":[]}]",
        "{\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac\",\"n\":-9223372036854775808,\"r\":1e308}",
    };
    static const char alphabet[] = "{}[]\":,\\u0123456789abcdefABCDEF.eE+- \t\n\rtrunlfsx\xc3\xa9\xed\xa0\x80\xff";
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    char buf[256];
    for (int round = 0; round < 60000; round++) {
        const char *seed = seeds[round % 3];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)(x % 4);
        for (int k = 0; k < edits; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % n);
            char c = alphabet[(x >> 32) % (sizeof alphabet - 1)];
            switch ((x >> 40) % 3) {
            case 0: buf[at] = c; break; /* replace */
            case 1:                     /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                }
                break;
            default: /* delete */
                if (n > 1) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
            }
        }
        agree(buf, n);
    }
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_suite_documents),
        cmocka_unit_test(test_mutations),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    print_message("%zu inputs compared\n", checked);
    return rc;
}
