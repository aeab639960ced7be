/* test_filter.c — filter rules: checking (errors name the rule) and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "test_util.h"
#include "base/buf.h"
#include "rules/filter.h"

static const char *const ORDER = "{'type':'order.created','amount':49.5,'qty':2,'tags':['a','vip'],"
                                 "'customer':{'id':'cus_1','country':'DE'},'items':[{'sku':'A-1'},{'sku':'B-7'}],"
                                 "'note':null}";

/* Does rules_text match the ORDER body with a JSON content type? */
static bool matches_body(const char *rules_text, const json_t *payload) {
    json_t *rules = J(rules_text);
    json_t *headers = J("{'x-shop':'berlin','content-type':'application/json'}");
    hs_filter *f = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (hs_filter_compile(rules, "filter_rules", &f, &err) != HS_OK)
        fail_msg("%s: %s %s", rules_text, err.field, err.msg);
    hs_filter_input in = {.payload = payload,
                          .headers = headers,
                          .method = "POST",
                          .content_type = "application/json",
                          .source_ip = "10.1.2.3"};
    bool r = hs_filter_match(f, &in);
    hs_filter_free(f);
    json_decref(rules);
    json_decref(headers);
    return r;
}

static bool matches(const char *rules_text) {
    json_t *order = J(ORDER);
    bool r = matches_body(rules_text, order);
    json_decref(order);
    return r;
}

static void test_ops(void **state) {
    (void)state;
    assert_true(matches("[{'field':'payload.type','op':'eq','value':'order.created'}]"));
    assert_false(matches("[{'field':'payload.type','op':'eq','value':'order.paid'}]"));
    assert_true(matches("[{'field':'payload.type','op':'neq','value':'order.paid'}]"));
    assert_true(matches("[{'field':'payload.missing','op':'neq','value':1}]"));
    assert_true(matches("[{'field':'payload.qty','op':'eq','value':2.0}]")); /* by value */
    assert_true(matches("[{'field':'payload.type','op':'contains','value':'created'}]"));
    assert_false(matches("[{'field':'payload.qty','op':'contains','value':'2'}]")); /* strings only */
    assert_true(matches("[{'field':'payload.amount','op':'gt','value':49}]"));
    assert_false(matches("[{'field':'payload.amount','op':'gt','value':49.5}]"));
    assert_true(matches("[{'field':'payload.amount','op':'gte','value':49.5}]"));
    assert_true(matches("[{'field':'payload.qty','op':'lt','value':3}]"));
    assert_true(matches("[{'field':'payload.qty','op':'lte','value':2}]"));
    assert_false(matches("[{'field':'payload.type','op':'gt','value':0}]"));       /* no coercion */
    assert_true(matches("[{'field':'payload.note','op':'exists','value':true}]")); /* null is present */
    assert_true(matches("[{'field':'payload.nope','op':'exists','value':false}]"));
    assert_false(matches("[{'field':'payload.nope','op':'exists','value':true}]"));
    assert_true(matches("[{'field':'payload.customer.country','op':'in','value':['DE','AT']}]"));
    assert_false(matches("[{'field':'payload.customer.country','op':'in','value':['FR']}]"));
    assert_true(matches("[{'field':'payload.items.1.sku','op':'eq','value':'B-7'}]"));
    assert_false(matches("[{'field':'payload.items.2.sku','op':'exists','value':true}]"));
    assert_true(matches("[{'field':'payload.tags','op':'eq','value':['a','vip']}]"));
}

static void test_fields_and_groups(void **state) {
    (void)state;
    assert_true(matches("[{'field':'headers.X-Shop','op':'eq','value':'berlin'}]")); /* case-insensitive */
    assert_true(matches("[{'field':'method','op':'in','value':['POST','PUT']}]"));
    assert_true(matches("[{'field':'content_type','op':'contains','value':'json'}]"));
    assert_true(matches("[{'field':'source_ip','op':'eq','value':'10.1.2.3'}]"));
    assert_false(matches("[{'field':'method','op':'gt','value':1}]"));
    /* all rules must hold */
    assert_false(matches("[{'field':'method','op':'eq','value':'POST'},{'field':'payload.qty','op':'gt','value':5}]"));
    assert_true(matches("[{'any':[{'field':'payload.qty','op':'gt','value':5},{'field':'payload.tags.1','op':'eq',"
                        "'value':'vip'}]}]"));
    assert_false(matches("[{'not':{'field':'payload.customer.country','op':'eq','value':'DE'}}]"));
    assert_true(matches("[{'all':[{'field':'method','op':'eq','value':'POST'},{'not':{'any':[{'field':'payload.qty',"
                        "'op':'gt','value':5}]}}]}]"));
}

static void test_not_json(void **state) {
    (void)state;
    /* no payload: payload rules never hold, whatever the op; others do */
    assert_false(matches_body("[{'field':'payload.x','op':'neq','value':1}]", NULL));
    assert_false(matches_body("[{'field':'payload.x','op':'exists','value':false}]", NULL));
    assert_true(matches_body("[{'field':'method','op':'eq','value':'POST'}]", NULL));
    assert_true(matches_body("[{'not':{'field':'payload.x','op':'eq','value':1}}]", NULL));
}

/* The error names the rule and member; message for a human. */
static void bad(const char *rules_text, const char *field, const char *msg_part) {
    json_t *rules = J(rules_text);
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_filter_compile(rules, "filter_rules", NULL, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, field);
    if (!strstr(err.msg, msg_part)) fail_msg("%s: message \"%s\" lacks \"%s\"", rules_text, err.msg, msg_part);
    json_decref(rules);
}

static void test_errors(void **state) {
    (void)state;
    bad("{}", "filter_rules", "array");
    bad("[]", "filter_rules", "at least one");
    bad("[1]", "filter_rules[0]", "object");
    bad("[{'field':'payload.a','op':'eq','value':1},{'op':'eq','value':1}]", "filter_rules[1].field", "required");
    bad("[{'field':'body.a','op':'eq','value':1}]", "filter_rules[0].field", "payload.<path>");
    bad("[{'field':'payload.a..b','op':'eq','value':1}]", "filter_rules[0].field", "empty");
    bad("[{'field':'payload.a','op':'like','value':1}]", "filter_rules[0].op", "like");
    bad("[{'field':'payload.a','op':'eq'}]", "filter_rules[0].value", "required");
    bad("[{'field':'payload.a','op':'gt','value':'5'}]", "filter_rules[0].value", "number");
    bad("[{'field':'payload.a','op':'contains','value':5}]", "filter_rules[0].value", "string");
    bad("[{'field':'payload.a','op':'exists','value':1}]", "filter_rules[0].value", "true or false");
    bad("[{'field':'payload.a','op':'in','value':'x'}]", "filter_rules[0].value", "array");
    bad("[{'field':'payload.a','op':'eq','value':1,'extra':2}]", "filter_rules[0].extra", "not a rule member");
    bad("[{'any':[{'field':'method','op':'eq','value':'GET'},{'field':'method','op':'nope','value':1}]}]",
        "filter_rules[0].any[1].op", "nope");
    bad("[{'not':{'field':'x','op':'eq','value':1}}]", "filter_rules[0].not.field", "payload.<path>");
    bad("[{'any':[],'all':[]}]", "filter_rules[0]", "only that member");
    bad("[{'any':[]}]", "filter_rules[0].any", "at least one");
    /* nesting and size are bounded */
    hs_buf deep;
    hs_buf_init(&deep, 4096);
    hs_buf_appends(&deep, "[");
    for (int i = 0; i < 10; i++) hs_buf_appends(&deep, "{'not':");
    hs_buf_appends(&deep, "{'field':'method','op':'eq','value':'GET'}");
    for (int i = 0; i < 10; i++) hs_buf_appends(&deep, "}");
    hs_buf_appends(&deep, "]");
    json_t *rules = J(deep.data);
    hs_buf_free(&deep);
    hs_error err;
    assert_int_equal(hs_filter_compile(rules, "filter_rules", NULL, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "deeper"));
    json_decref(rules);
    json_t *many = json_array();
    for (int i = 0; i < HS_FILTER_MAX_RULES + 1; i++)
        json_array_append_new(many, json_pack("{s:s, s:s, s:s}", "field", "method", "op", "eq", "value", "GET"));
    assert_int_equal(hs_filter_compile(many, "filter_rules", NULL, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "too many"));
    json_decref(many);
}

static void test_uses(void **state) {
    (void)state;
    json_t *r = J("[{'field':'method','op':'eq','value':'GET'}]");
    hs_filter *f;
    hs_error err;
    assert_int_equal(hs_filter_compile(r, "f", &f, &err), HS_OK);
    assert_false(hs_filter_uses_payload(f));
    assert_false(hs_filter_uses_headers(f));
    hs_filter_free(f);
    json_decref(r);
    r = J(
        "[{'any':[{'field':'headers.a','op':'exists','value':true},{'field':'payload','op':'exists','value':true}]}]");
    assert_int_equal(hs_filter_compile(r, "f", &f, &err), HS_OK);
    assert_true(hs_filter_uses_payload(f));
    assert_true(hs_filter_uses_headers(f));
    hs_filter_free(f);
    json_decref(r);
    assert_true(hs_filter_match(NULL, &(hs_filter_input){0})); /* no filter: everything */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),      cmocka_unit_test(test_fields_and_groups),
        cmocka_unit_test(test_not_json), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_uses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
