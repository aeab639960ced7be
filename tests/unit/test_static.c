/* test_static.c — the dashboard's embedded files (src/observe/static.c and the table
 * tools/embed.c generates from web/): lookup, content types, ETags, and
 * that every file index.html and the JS modules refer to is compiled in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "observe/static.h"

static const hs_static_file *find(const char *name) { return hs_static_find(name, strlen(name)); }

static void test_paths(void **state) {
    (void)state;
    assert_true(hs_static_path("/"));
    assert_true(hs_static_path("/index.html"));
    assert_true(hs_static_path("/assets/app.js"));
    assert_true(hs_static_path("/assets/"));
    assert_false(hs_static_path(""));
    assert_false(hs_static_path("/v1/events"));
    assert_false(hs_static_path("/health"));
    assert_false(hs_static_path("/assets"));
    assert_false(hs_static_path("/index.htm"));
}

static void test_find(void **state) {
    (void)state;
    const char *need[] = {"index.html", "app.js", "api.js", "live.js", "ui.js", "style.css", "favicon.svg"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        const hs_static_file *f = find(need[i]);
        assert_non_null(f);
        assert_true(f->len > 0);
        assert_int_equal(f->data[f->len], 0); /* the generator's terminator */
    }
    assert_null(find("app"));
    assert_null(find("app.js.map"));
    assert_null(find(""));
    assert_null(find("../src/observe/static.c"));
    /* a length shorter than the name: "app.js" is not found by "app.j" */
    assert_null(hs_static_find("app.js", 5));
}

static void test_content_types(void **state) {
    (void)state;
    assert_string_equal(hs_static_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(hs_static_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(hs_static_content_type("style.css"), "text/css; charset=utf-8");
    assert_string_equal(hs_static_content_type("favicon.svg"), "image/svg+xml");
    assert_string_equal(hs_static_content_type("x.png"), "image/png");
    assert_string_equal(hs_static_content_type("README"), "application/octet-stream");
    assert_string_equal(hs_static_content_type("js"), "application/octet-stream");
}

/* ETags: quoted 16 hex digits, different for different content */
static void test_etags(void **state) {
    (void)state;
    assert_true(hs_static_nfiles >= 7);
    for (size_t i = 0; i < hs_static_nfiles; i++) {
        const char *e = hs_static_files[i].etag;
        assert_int_equal(strlen(e), 18);
        assert_int_equal(e[0], '"');
        assert_int_equal(e[17], '"');
        assert_int_equal(strspn(e + 1, "0123456789abcdef"), 16);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(e, hs_static_files[j].etag);
    }
}

/* Every "/assets/<name>" in index.html and every "./<name>.js" a module
 * imports must be embedded: a missing one would be a 404 in the browser. */
static void check_refs(const hs_static_file *f, const char *marker, const char *end_chars) {
    const char *text = (const char *)f->data;
    size_t ml = strlen(marker);
    int seen = 0;
    for (const char *p = strstr(text, marker); p; p = strstr(p + ml, marker)) {
        const char *name = p + ml;
        size_t n = strcspn(name, end_chars);
        if (!hs_static_find(name, n)) fail_msg("%s refers to %.*s, which is not embedded", f->name, (int)n, name);
        seen++;
    }
    if (strcmp(marker, "/assets/") == 0) assert_true(seen >= 3);
}

static void test_references(void **state) {
    (void)state;
    check_refs(find("index.html"), "/assets/", "\"' >");
    for (size_t i = 0; i < hs_static_nfiles; i++) {
        const hs_static_file *f = &hs_static_files[i];
        size_t n = strlen(f->name);
        if (n > 3 && strcmp(f->name + n - 3, ".js") == 0) check_refs(f, "from './", "'");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths), cmocka_unit_test(test_find),       cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_etags), cmocka_unit_test(test_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
