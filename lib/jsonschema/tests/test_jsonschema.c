/* test_jsonschema.c — hs_jsonschema's limits (deep nesting, huge schemas,
 * $ref cycles, pathological patterns) and its error paths and messages.
 * The official suite runs in test_jsonschema_suite.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "jsonschema/jsonschema.h"

/* append text n times to buf[cap] (NUL-terminated), failing the test when it does not fit */
static void add(char *buf, size_t cap, const char *text, int n) {
    size_t len = strlen(buf), tl = strlen(text);
    for (int i = 0; i < n; i++, len += tl) {
        if (len + tl >= cap) fail_msg("test buffer too small");
        memcpy(buf + len, text, tl + 1);
    }
}

static json_t *parse(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad JSON in test: %s: %s", text, je.text);
    return v;
}

/* compile text; returns the code, the message in err */
static int compile(const char *text, hs_jsonschema **s, hs_jsonschema_error *err) {
    json_t *v = parse(text);
    int rc = hs_jsonschema_compile(v, NULL, s, err);
    json_decref(v);
    return rc;
}

static int validate(const hs_jsonschema *s, const char *inst, hs_jsonschema_result *res) {
    json_t *v = parse(inst);
    int rc = hs_jsonschema_validate(s, v, res);
    json_decref(v);
    return rc;
}

static void compile_fails(const char *schema, int want, const char *msg_part) {
    hs_jsonschema *s = NULL;
    hs_jsonschema_error err;
    int rc = compile(schema, &s, &err);
    if (rc != want || !strstr(err.message, msg_part))
        fail_msg("%s: rc %d message '%s', want %d '%s'", schema, rc, err.message, want, msg_part);
    assert_null(s);
}

static void test_errors_and_paths(void **state) {
    (void)state;
    hs_jsonschema *s;
    hs_jsonschema_error err;
    assert_int_equal(compile("{\"type\":\"object\",\"properties\":{\"id\":{},\"a/b\":{\"type\":\"integer\"},"
                             "\"list\":{\"items\":{\"maxLength\":2}}},\"required\":[\"id\"],"
                             "\"additionalProperties\":false}",
                             &s, &err),
                     HS_JSONSCHEMA_OK);
    hs_jsonschema_result res;
    assert_int_equal(validate(s, "{\"id\":1,\"a/b\":2,\"list\":[\"ok\"]}", &res), HS_JSONSCHEMA_OK);
    assert_true(res.valid);
    assert_int_equal(res.nerrors, 0);
    assert_int_equal(validate(s, "{\"a/b\":\"x\",\"list\":[\"ok\",\"long\"],\"zz\":1}", &res), HS_JSONSCHEMA_OK);
    assert_false(res.valid);
    assert_int_equal(res.nerrors, 4);
    assert_string_equal(res.errors[0].path, "");
    assert_string_equal(res.errors[0].message, "required property 'id' is missing");
    assert_string_equal(res.errors[1].path, "/a~1b");
    assert_string_equal(res.errors[1].message, "string is not of the allowed type");
    assert_string_equal(res.errors[2].path, "/list/1");
    assert_string_equal(res.errors[2].message, "string longer than 2 characters");
    assert_string_equal(res.errors[3].path, "/zz");
    assert_string_equal(res.errors[3].message, "additional property 'zz' is not allowed");
    hs_jsonschema_free(s);

    /* the error list is bounded */
    assert_int_equal(compile("{\"items\":{\"type\":\"string\"}}", &s, &err), HS_JSONSCHEMA_OK);
    char big[512] = "[";
    add(big, sizeof big, "1", 1);
    add(big, sizeof big, ",1", 39);
    add(big, sizeof big, "]", 1);
    assert_int_equal(validate(s, big, &res), HS_JSONSCHEMA_OK);
    assert_false(res.valid);
    assert_int_equal(res.nerrors, HS_JSONSCHEMA_MAX_ERRORS);
    assert_true(res.truncated);
    hs_jsonschema_free(s);

    /* anyOf reports one error of its own, not its branches' */
    assert_int_equal(compile("{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":10}]}", &s, &err), HS_JSONSCHEMA_OK);
    assert_int_equal(validate(s, "3", &res), HS_JSONSCHEMA_OK);
    assert_int_equal(res.nerrors, 1);
    assert_string_equal(res.errors[0].message, "the value matches none of the 'anyOf' schemas");
    hs_jsonschema_free(s);

    /* Unicode code points, not bytes; 1 == 1.0 for uniqueItems */
    assert_int_equal(compile("{\"maxLength\":2,\"uniqueItems\":true}", &s, &err), HS_JSONSCHEMA_OK);
    assert_int_equal(validate(s, "\"\\u00e9\\u00e9\"", &res), HS_JSONSCHEMA_OK);
    assert_true(res.valid);
    assert_int_equal(validate(s, "[1, 1.0]", &res), HS_JSONSCHEMA_OK);
    assert_false(res.valid);
    hs_jsonschema_free(s);
}

static void test_invalid_schemas(void **state) {
    (void)state;
    compile_fails("{\"type\":\"strin\"}", HS_JSONSCHEMA_EINVAL, "'type' must be");
    compile_fails("{\"minLength\":-1}", HS_JSONSCHEMA_EINVAL, "'minLength' must be a non-negative integer");
    compile_fails("{\"properties\":{\"a\":3}}", HS_JSONSCHEMA_EINVAL, "a schema must be an object");
    compile_fails("{\"pattern\":\"(a\"}", HS_JSONSCHEMA_EINVAL, "'pattern' is invalid");
    compile_fails("{\"pattern\":\"(?=a)b\"}", HS_JSONSCHEMA_EUNSUPPORTED, "lookahead");
    compile_fails("{\"pattern\":\"(a)\\\\1\"}", HS_JSONSCHEMA_EUNSUPPORTED, "backreferences");
    compile_fails("{\"$ref\":\"http://localhost:1234/integer.json\"}", HS_JSONSCHEMA_EUNSUPPORTED,
                  "remote references are not supported");
    compile_fails("{\"$ref\":\"#/definitions/nope\"}", HS_JSONSCHEMA_EINVAL, "does not resolve");
    compile_fails("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"not\":true}", HS_JSONSCHEMA_EINVAL,
                  "boolean schemas need draft 6");
    compile_fails("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"exclusiveMinimum\":3}",
                  HS_JSONSCHEMA_EINVAL, "must be a boolean in draft 4");
    /* the error names where in the schema */
    hs_jsonschema *s;
    hs_jsonschema_error err;
    assert_int_equal(compile("{\"properties\":{\"a\":{\"items\":[{\"maxItems\":\"x\"}]}}}", &s, &err),
                     HS_JSONSCHEMA_EINVAL);
    assert_string_equal(err.path, "/properties/a/items/0");
}

static void test_limits(void **state) {
    (void)state;
    /* deep nesting */
    char deep[8192] = "";
    add(deep, sizeof deep, "{\"not\":", 600);
    add(deep, sizeof deep, "{}", 1);
    add(deep, sizeof deep, "}", 600);
    compile_fails(deep, HS_JSONSCHEMA_ELIMIT, "nested deeper than 128 levels");

    /* a huge schema */
    json_t *props = json_object();
    for (int i = 0; i < 60000; i++) {
        char k[16];
        snprintf(k, sizeof k, "p%d", i);
        json_object_set_new(props, k, json_pack("{s:s}", "type", "string"));
    }
    json_t *huge = json_pack("{s:o}", "properties", props);
    hs_jsonschema *s = NULL;
    hs_jsonschema_error err;
    assert_int_equal(hs_jsonschema_compile(huge, NULL, &s, &err), HS_JSONSCHEMA_ELIMIT);
    assert_non_null(strstr(err.message, "more than 100000 JSON values"));
    hs_jsonschema_limits lim;
    hs_jsonschema_limits_default(&lim);
    lim.max_values = 1000000;
    assert_int_equal(hs_jsonschema_compile(huge, &lim, &s, &err), HS_JSONSCHEMA_ELIMIT);
    assert_non_null(strstr(err.message, "more than 20000 subschemas"));
    json_decref(huge);

    /* $ref cycles: of nothing but $ref (compile time), through allOf (run time) */
    compile_fails("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/a\"}},"
                  "\"$ref\":\"#/definitions/a\"}",
                  HS_JSONSCHEMA_EINVAL, "$ref cycle");
    assert_int_equal(compile("{\"definitions\":{\"a\":{\"allOf\":[{\"$ref\":\"#/definitions/a\"}]}},"
                             "\"properties\":{\"x\":{\"$ref\":\"#/definitions/a\"}}}",
                             &s, &err),
                     HS_JSONSCHEMA_OK);
    hs_jsonschema_result res;
    assert_int_equal(validate(s, "{\"x\":1}", &res), HS_JSONSCHEMA_ELIMIT);
    assert_false(res.valid);
    assert_non_null(strstr(res.errors[0].message, "$ref cycle that consumes no input"));
    assert_string_equal(res.errors[0].path, "/x");
    assert_int_equal(validate(s, "{}", &res), HS_JSONSCHEMA_OK); /* not reached: fine */
    assert_true(res.valid);
    hs_jsonschema_free(s);

    /* recursion that consumes input is bounded by the evaluation depth */
    assert_int_equal(compile("{\"items\":{\"$ref\":\"#\"}}", &s, &err), HS_JSONSCHEMA_OK);
    char nested[4096] = "";
    add(nested, sizeof nested, "[", 1000);
    add(nested, sizeof nested, "]", 1000);
    json_error_t je;
    json_t *inst = json_loads(nested, 0, &je); /* jansson's own depth limit may refuse it */
    if (inst) {
        assert_int_equal(hs_jsonschema_validate(s, inst, &res), HS_JSONSCHEMA_ELIMIT);
        assert_non_null(strstr(res.errors[0].message, "deeper than 256"));
        json_decref(inst);
    }
    hs_jsonschema_free(s);

    /* exponential combinators stop at the step budget */
    assert_int_equal(
        compile("{\"definitions\":{\"a\":{\"type\":\"array\",\"anyOf\":[{\"items\":{\"$ref\":\"#/definitions/a\"}},"
                "{\"items\":{\"$ref\":\"#/definitions/a\"}}]}},\"$ref\":\"#/definitions/a\"}",
                &s, &err),
        HS_JSONSCHEMA_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(validate(s, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", &res),
                     HS_JSONSCHEMA_ELIMIT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(res.errors[0].message, "steps"));
    assert_true((t1.tv_sec - t0.tv_sec) < 5);
    hs_jsonschema_free(s);

    /* patterns: too long, too many repetitions, and a classic backtracking bomb that POSIX matching survives */
    char longpat[2200] = "{\"pattern\":\"";
    add(longpat, sizeof longpat, "a", 2048);
    add(longpat, sizeof longpat, "\"}", 1);
    compile_fails(longpat, HS_JSONSCHEMA_ELIMIT, "longer than 1024 bytes");
    compile_fails("{\"pattern\":\"(a{1,500}){1,500}\"}", HS_JSONSCHEMA_EUNSUPPORTED, "counted repetitions too large");
    /* counts of any length refused, never overflowing (found by tests/fuzz/fuzz_resource) */
    compile_fails("{\"pattern\":\"a{99999999999999999999999}\"}", HS_JSONSCHEMA_EUNSUPPORTED,
                  "counted repetitions too large");
    compile_fails("{\"pattern\":\"a{1,99999999999999999999999}\"}", HS_JSONSCHEMA_EUNSUPPORTED,
                  "counted repetitions too large");
    assert_int_equal(compile("{\"pattern\":\"^(a+)+$\"}", &s, &err), HS_JSONSCHEMA_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(validate(s, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"", &res), HS_JSONSCHEMA_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_false(res.valid);
    assert_true((t1.tv_sec - t0.tv_sec) < 2);
    hs_jsonschema_free(s);
}

static void test_patterns_translated(void **state) {
    (void)state;
    static const struct {
        const char *pattern, *inst;
        int valid;
    } cases[] = {
        {"^\\\\d{3}-\\\\w+$", "\"123-ab_c\"", 1},
        {"^\\\\d{3}$", "\"12a\"", 0},
        {"^[\\\\w.-]+$", "\"a.b-c\"", 1},
        {"^[^\\\\]]+$", "\"ab]\"", 0},
        {"^(?:ab)+?$", "\"abab\"", 1},
        {"^\\\\u00e9+$", "\"\\u00e9\\u00e9\"", 1},
        {"^a.c$", "\"a\\nc\"", 0},
        {"x{", "\"x{\"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char schema[256];
        snprintf(schema, sizeof schema, "{\"pattern\":\"%s\"}", cases[i].pattern);
        hs_jsonschema *s;
        hs_jsonschema_error err;
        if (compile(schema, &s, &err)) fail_msg("%s: %s", schema, err.message);
        hs_jsonschema_result res;
        assert_int_equal(validate(s, cases[i].inst, &res), HS_JSONSCHEMA_OK);
        if (res.valid != cases[i].valid) fail_msg("%s on %s: got %d", cases[i].pattern, cases[i].inst, res.valid);
        hs_jsonschema_free(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_and_paths),
        cmocka_unit_test(test_invalid_schemas),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_patterns_translated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
