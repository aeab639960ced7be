/* test_resource.c — validation, normalization, patching and rendering of
 * sources, destinations and connections (src/core/resource.c, src/base/jsonv.c, provider_*.c,
 * src/base/url.c). JSON in these tests is written with ' for " to stay readable. */
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
#include "base/jsonv.h"
#include "providers/provider.h"
#include "core/resource.h"
#include "base/url.h"

#define SRC HS_KIND_SOURCE
#define DST HS_KIND_DESTINATION
#define CONN HS_KIND_CONNECTION
#define INV HS_ERR_INVALID
#define UNSUP HS_ERR_UNSUPPORTED

#define SRC_ID "src_0123456789abcdef0123456789abcdef"
#define DST_ID "dst_0123456789abcdef0123456789abcdef"

#define AWS_KEYS                                                                                                       \
    "'region':'us-east-1','access_key_id':'AKIDEXAMPLE','secret_access_key':'wJalrXUtnFEMI/"                           \
    "K7MDENG+bPxRfiCYEXAMPLEKEY'"
#define HTTP_CFG "{'url':'https://example.com/hook'}"
#define SQS_CFG "{'queue_url':'https://sqs.us-east-1.amazonaws.com/123456789012/q'," AWS_KEYS "}"
#define S3_CFG "{'bucket':'my-events'," AWS_KEYS "}"
#define EB_CFG "{" AWS_KEYS "}"
#define PEM                                                                                                            \
    "-----BEGIN PRIVATE KEY-----\\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\\n-----END PRIVATE KEY-----\\n"
#define SA_OBJ "{'type':'service_account','client_email':'hook@proj.iam.gserviceaccount.com','private_key':'" PEM "'}"
#define PUBSUB_CFG "{'project_id':'my-project-1','topic_id':'events','service_account_json':" SA_OBJ "}"
#define KAFKA_CFG "{'rest_url':'https://kafka.example.com','cluster_id':'lkc-123','topic':'events'}"
#define RABBIT_CFG                                                                                                     \
    "{'url':'http://127.0.0.1:15672','exchange':'events','username':'guest','password':'guest-password-long-1234'}"
#define WS_CFG "{'channel_name':'orders'}"

/* ---- helpers ---- */

static json_t *get(const json_t *doc, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = doc;
    for (char *seg = buf, *dot; v && seg; seg = dot ? dot + 1 : NULL) {
        dot = strchr(seg, '.');
        if (dot) *dot = '\0';
        v = json_object_get(v, seg);
    }
    return (json_t *)v;
}

static const char *get_str(const json_t *doc, const char *path) { return json_string_value(get(doc, path)); }

static void expect_at(const json_t *doc, const char *path, const char *text, int line) {
    json_t *want = J(text), *have = get(doc, path);
    if (!json_equal(want, have)) {
        char *h = have ? json_dumps(have, JSON_ENCODE_ANY) : NULL;
        fail_msg("line %d: %s is %s, want %s", line, path, h ? h : "(absent)", text);
    }
    json_decref(want);
}
#define EXPECT(doc, path, text) expect_at(doc, path, text, __LINE__)
#define ABSENT(doc, path) assert_null(get(doc, path))

static json_t *create_json(hs_kind kind, const json_t *body, hs_error *err) {
    json_t *doc = NULL;
    hs_error_clear(err);
    int rc = hs_resource_create_doc(kind, body, &doc, err);
    assert_int_equal(rc, err->code);
    assert_true(rc == HS_OK ? doc != NULL : doc == NULL);
    return doc;
}

static json_t *create_ok_at(hs_kind kind, const char *text, int line) {
    hs_error err;
    json_t *body = J(text), *doc = create_json(kind, body, &err);
    json_decref(body);
    if (!doc) fail_msg("line %d: expected success, got %d at '%s': %s", line, err.code, err.field, err.msg);
    return doc;
}

static void expect_error(const hs_error *err, json_t *doc, int code, const char *field, int line) {
    if (doc) fail_msg("line %d: expected an error at '%s', got success", line, field);
    if (err->code != code || strcmp(err->field, field) != 0)
        fail_msg("line %d: expected %d at '%s', got %d at '%s': %s", line, code, field, err->code, err->field,
                 err->msg);
    assert_true(err->msg[0] != '\0');
}

static void create_fails_at(hs_kind kind, const char *text, int code, const char *field, int line) {
    hs_error err;
    json_t *body = J(text), *doc = create_json(kind, body, &err);
    json_decref(body);
    expect_error(&err, doc, code, field, line);
}
#define CREATE_OK(kind, text) create_ok_at(kind, text, __LINE__)
#define CREATE_FAILS(kind, text, code, field) create_fails_at(kind, text, code, field, __LINE__)

/* A destination {name, type, config: merge_patch(config, change)}. */
static json_t *dest_body(const char *type, const char *config, const char *change) {
    json_t *cfg = J(config), *ch = J(change ? change : "{}");
    json_t *merged = hs_jv_merge_patch(cfg, ch);
    json_t *body = json_pack("{s:s, s:s, s:o}", "name", "d", "type", type, "config", merged);
    json_decref(cfg);
    json_decref(ch);
    return body;
}

static json_t *dest_ok_at(const char *type, const char *config, const char *change, int line) {
    hs_error err;
    json_t *body = dest_body(type, config, change), *doc = create_json(DST, body, &err);
    json_decref(body);
    if (!doc) fail_msg("line %d: expected success, got %d at '%s': %s", line, err.code, err.field, err.msg);
    return doc;
}

static void dest_fails_at(const char *type, const char *config, const char *change, const char *field, int line) {
    hs_error err;
    json_t *body = dest_body(type, config, change), *doc = create_json(DST, body, &err);
    json_decref(body);
    expect_error(&err, doc, INV, field, line);
}
#define DEST_OK(type, config, change) dest_ok_at(type, config, change, __LINE__)
#define DEST_FAILS(type, config, change, field) dest_fails_at(type, config, change, field, __LINE__)

/* Each listed config member is required: removing it names it. */
static void expect_required(const char *type, const char *config, const char *const *fields) {
    for (const char *const *f = fields; *f; f++) {
        char change[96], path[96];
        snprintf(change, sizeof change, "{'%s':null}", *f);
        snprintf(path, sizeof path, "config.%s", *f);
        dest_fails_at(type, config, change, path, __LINE__);
    }
}

static json_t *patch_json(hs_kind kind, const json_t *cur, const char *text, hs_error *err) {
    json_t *patch = J(text), *doc = NULL;
    hs_error_clear(err);
    int rc = hs_resource_patch_doc(kind, cur, patch, &doc, err);
    json_decref(patch);
    assert_int_equal(rc, err->code);
    return doc;
}

static json_t *patch_ok_at(hs_kind kind, const json_t *cur, const char *text, int line) {
    hs_error err;
    json_t *doc = patch_json(kind, cur, text, &err);
    if (!doc) fail_msg("line %d: expected success, got %d at '%s': %s", line, err.code, err.field, err.msg);
    return doc;
}

static void patch_fails_at(hs_kind kind, const json_t *cur, const char *text, int code, const char *field, int line) {
    hs_error err;
    json_t *doc = patch_json(kind, cur, text, &err);
    expect_error(&err, doc, code, field, line);
}
#define PATCH_OK(kind, cur, text) patch_ok_at(kind, cur, text, __LINE__)
#define PATCH_FAILS(kind, cur, text, code, field) patch_fails_at(kind, cur, text, code, field, __LINE__)

/* A stored doc as the store hands it to a patch: with id and timestamps. */
static json_t *stored(json_t *doc, const char *id) {
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "created_at", json_string("2024-01-01T00:00:00.000Z"));
    json_object_set_new(doc, "updated_at", json_string("2024-01-01T00:00:00.000Z"));
    return doc;
}

static char *repeat(char c, size_t n) {
    char *s = hs_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- kinds, masking, providers, URLs ---- */

static void test_kind_names(void **state) {
    (void)state;
    assert_string_equal(hs_kind_name(SRC), "source");
    assert_string_equal(hs_kind_plural(DST), "destinations");
    assert_string_equal(hs_kind_id_prefix(SRC), "src_");
    assert_string_equal(hs_kind_id_prefix(DST), "dst_");
    assert_string_equal(hs_kind_id_prefix(CONN), "conn_");
    assert_string_equal(hs_kind_plural(CONN), "connections");
}

static void expect_mask(const char *secret, const char *want) {
    json_t *m = hs_mask_secret(secret);
    assert_string_equal(json_string_value(m), want);
    json_decref(m);
}

static void test_mask_secret(void **state) {
    (void)state;
    expect_mask("abcdefghijkl", "********ijkl");
    expect_mask("abcdefghijk", "********");
    expect_mask("", "********");
    expect_mask(NULL, "********");
    /* 12 two-byte characters: the tail is 4 characters, not 4 bytes */
    expect_mask("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
                "********\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
}

static void test_provider_table(void **state) {
    (void)state;
    static const char *const order[] = {"http",       "aws_sqs", "aws_s3",   "aws_eventbridge",
                                        "gcp_pubsub", "kafka",   "rabbitmq", "websocket"};
    const hs_provider *const *all = hs_provider_all();
    for (size_t i = 0; i < 8; i++) {
        assert_non_null(all[i]);
        assert_string_equal(all[i]->type, order[i]);
        assert_non_null(all[i]->validate);
        assert_non_null(all[i]->secret_paths);
        assert_ptr_equal(hs_provider_find(order[i]), all[i]);
    }
    assert_null(all[8]);
    assert_ptr_equal(hs_provider_find("sqs"), &hs_provider_aws_sqs);
    assert_ptr_equal(hs_provider_find("s3"), &hs_provider_aws_s3);
    assert_ptr_equal(hs_provider_find("eventbridge"), &hs_provider_aws_eventbridge);
    assert_ptr_equal(hs_provider_find("pubsub"), &hs_provider_gcp_pubsub);
    assert_null(hs_provider_find("HTTP"));
    assert_null(hs_provider_find(NULL));
}

static void test_url_parse(void **state) {
    (void)state;
    hs_url u;
    const char *why;
    assert_int_equal(hs_url_parse("https://Example.com:8443/a/b?x=1", &u, &why), HS_OK);
    assert_true(u.https);
    assert_string_equal(u.host, "Example.com");
    assert_int_equal(u.port, 8443);
    assert_string_equal(u.rest, "/a/b?x=1");
    assert_int_equal(hs_url_parse("http://[::1]:8080", &u, &why), HS_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.rest, "");
    assert_int_equal(hs_url_parse("HTTP://h?q", &u, &why), HS_OK);
    assert_int_equal(u.port, 80);
    assert_string_equal(u.rest, "?q");
    static const char *const bad[] = {
        "ftp://h/",    "https://",        "https:///x",         "https://u:p@h/", "https://h/#frag",
        "https://h /", "https://h:0/",    "https://h:70000/",   "https://h:x/",   "https://[::1/",
        "https://h:/", "https://[::1]x/", "https://h\xc3\xa9/", "//h/x",          "https://h\x01/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (hs_url_parse(bad[i], &u, &why) != HS_ERR_INVALID) fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
    }
}

static void test_merge_patch_rfc7386(void **state) {
    (void)state;
    /* the examples of RFC 7386 appendix A */
    static const char *const cases[][3] = {
        {"{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
        {"{'a':'b'}", "{'a':null}", "{}"},
        {"{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
        {"{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
        {"{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
        {"{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
        {"['a','b']", "['c','d']", "['c','d']"},
        {"{'a':'b'}", "['c']", "['c']"},
        {"{'a':'foo'}", "null", "null"},
        {"{'a':'foo'}", "'bar'", "'bar'"},
        {"{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
        {"[1,2]", "{'a':'b','c':null}", "{'a':'b'}"},
        {"{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *t = J(cases[i][0]), *p = J(cases[i][1]), *want = J(cases[i][2]);
        json_t *got = hs_jv_merge_patch(t, p);
        if (!json_equal(got, want)) fail_msg("case %zu", i);
        json_decref(t), json_decref(p), json_decref(want), json_decref(got);
    }
}

/* ---- sources ---- */

static void test_source_defaults(void **state) {
    (void)state;
    json_t *d = CREATE_OK(SRC, "{'name':'Stripe'}");
    json_t *want = J("{'name':'Stripe','slug':null,'description':null,'status':'active','ip_allowlist':[],"
                     "'ip_denylist':[],'rate_limit':null,'template':null,'verification_enabled':false,"
                     "'verification_type':null,'verification_secret':null,'verification_secrets':null,"
                     "'verification_header':null,'verification_config':{},'schema_validation_enabled':false,"
                     "'json_schema':null,'schema_action':'reject','dedup_enabled':false,"
                     "'dedup_strategy':'payload_hash','dedup_field':null,'dedup_window_seconds':300}");
    assert_true(json_equal(d, want));
    json_decref(want);
    json_decref(d);
    d = CREATE_OK(SRC, "{'name':'Shop','slug':'shop-1','description':'orders','status':'paused'}");
    EXPECT(d, "slug", "'shop-1'");
    EXPECT(d, "status", "'paused'");
    json_decref(d);
}

static void test_source_name_rules(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{}", INV, "name");
    CREATE_FAILS(SRC, "{'name':null}", INV, "name");
    CREATE_FAILS(SRC, "{'name':''}", INV, "name");
    CREATE_FAILS(SRC, "{'name':'   '}", INV, "name");
    CREATE_FAILS(SRC, "{'name':' padded'}", INV, "name");
    CREATE_FAILS(SRC, "{'name':'padded '}", INV, "name");
    CREATE_FAILS(SRC, "{'name':'two\\nlines'}", INV, "name");
    CREATE_FAILS(SRC, "{'name':42}", INV, "name");
    CREATE_FAILS(SRC, "{'name':['x']}", INV, "name");
    char *n200 = repeat('n', 200), *body = hs_sprintf("{'name':'%s'}", n200);
    json_decref(CREATE_OK(SRC, body));
    hs_free(body);
    body = hs_sprintf("{'name':'%sn'}", n200);
    CREATE_FAILS(SRC, body, INV, "name");
    hs_free(body);
    hs_free(n200);
    /* a name keeps inner spaces and non-ASCII as given */
    json_t *d = CREATE_OK(SRC, "{'name':'Caf\xc3\xa9  orders'}");
    assert_string_equal(get_str(d, "name"), "Caf\xc3\xa9  orders");
    json_decref(d);
}

static void test_source_field_rules(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{'name':'x','slug':'Bad Slug'}", INV, "slug");
    CREATE_FAILS(SRC, "{'name':'x','slug':'under_score'}", INV, "slug");
    CREATE_FAILS(SRC, "{'name':'x','slug':''}", INV, "slug");
    CREATE_FAILS(SRC, "{'name':'x','slug':7}", INV, "slug");
    char *s64 = repeat('a', 64), *body = hs_sprintf("{'name':'x','slug':'%s'}", s64);
    json_decref(CREATE_OK(SRC, body));
    hs_free(body);
    body = hs_sprintf("{'name':'x','slug':'%sa'}", s64);
    CREATE_FAILS(SRC, body, INV, "slug");
    hs_free(body);
    hs_free(s64);
    CREATE_FAILS(SRC, "{'name':'x','status':'sleeping'}", INV, "status");
    CREATE_FAILS(SRC, "{'name':'x','status':true}", INV, "status");
    CREATE_FAILS(SRC, "{'name':'x','description':5}", INV, "description");
    char *d2000 = repeat('d', 2000);
    body = hs_sprintf("{'name':'x','description':'%s'}", d2000);
    json_decref(CREATE_OK(SRC, body));
    hs_free(body);
    body = hs_sprintf("{'name':'x','description':'%sd'}", d2000);
    CREATE_FAILS(SRC, body, INV, "description");
    hs_free(body);
    hs_free(d2000);
}

static void test_source_ip_lists(void **state) {
    (void)state;
    json_t *d = CREATE_OK(SRC, "{'name':'x','ip_allowlist':['10.0.0.0/8','2001:DB8::/32','::ffff:1.2.3.4','::1'],"
                               "'ip_denylist':['10.1.2.3/32']}");
    /* written back canonical: lowercase, a full prefix as the address alone */
    EXPECT(d, "ip_allowlist", "['10.0.0.0/8','2001:db8::/32','1.2.3.4','::1']");
    EXPECT(d, "ip_denylist", "['10.1.2.3']");
    json_t *p = PATCH_OK(SRC, stored(d, "src_00000000000000000000000000000001"), "{'ip_allowlist':null}");
    EXPECT(p, "ip_allowlist", "[]");
    json_decref(p);
    json_decref(d);
    CREATE_FAILS(SRC, "{'name':'x','ip_allowlist':['10.0.0.0/8','bogus']}", INV, "ip_allowlist[1]");
    CREATE_FAILS(SRC, "{'name':'x','ip_allowlist':['10.0.0.0/33']}", INV, "ip_allowlist[0]");
    CREATE_FAILS(SRC, "{'name':'x','ip_denylist':['10.0.0.1/24']}", INV, "ip_denylist[0]");
    CREATE_FAILS(SRC, "{'name':'x','ip_denylist':['2001:db8::/129']}", INV, "ip_denylist[0]");
    CREATE_FAILS(SRC, "{'name':'x','ip_denylist':[5]}", INV, "ip_denylist[0]");
    CREATE_FAILS(SRC, "{'name':'x','ip_denylist':'10.0.0.0/8'}", INV, "ip_denylist");
    hs_error err;
    json_t *body = J("{'name':'x','ip_allowlist':['10.1.2.3/32/1']}"), *none = create_json(SRC, body, &err);
    assert_null(none);
    assert_non_null(strstr(err.msg, "10.1.2.3/32/1"));
    json_decref(body);
    /* at most HS_SOURCE_IP_LIST_MAX entries */
    json_t *list = json_array();
    for (int i = 0; i <= HS_SOURCE_IP_LIST_MAX; i++) json_array_append_new(list, json_string("10.0.0.1"));
    body = json_pack("{s:s, s:O}", "name", "x", "ip_allowlist", list);
    expect_error(&err, create_json(SRC, body, &err), INV, "ip_allowlist", __LINE__);
    json_decref(body);
    json_array_remove(list, 0);
    body = json_pack("{s:s, s:o}", "name", "x", "ip_allowlist", list);
    json_decref(create_json(SRC, body, &err));
    assert_int_equal(err.code, HS_OK);
    json_decref(body);
}

static void test_source_rate_limit(void **state) {
    (void)state;
    json_t *d = CREATE_OK(SRC, "{'name':'x','rate_limit':{'requests_per_second':10,'burst':20}}");
    EXPECT(d, "rate_limit", "{'requests_per_second':10,'burst':20}");
    json_decref(d);
    d = CREATE_OK(SRC, "{'name':'x','rate_limit':{'requests_per_second':2.5}}"); /* burst: one second's, up */
    EXPECT(d, "rate_limit", "{'requests_per_second':2.5,'burst':3}");
    json_t *p = PATCH_OK(SRC, stored(d, "src_00000000000000000000000000000001"), "{'rate_limit':{'burst':7}}");
    EXPECT(p, "rate_limit", "{'requests_per_second':2.5,'burst':7}");
    json_decref(p);
    p = PATCH_OK(SRC, d, "{'rate_limit':null}");
    EXPECT(p, "rate_limit", "null");
    json_decref(p);
    json_decref(d);
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{}}", INV, "rate_limit.requests_per_second");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':0}}", INV, "rate_limit.requests_per_second");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':-1}}", INV, "rate_limit.requests_per_second");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':'5'}}", INV, "rate_limit.requests_per_second");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':100001}}", INV,
                 "rate_limit.requests_per_second");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':1,'burst':0}}", INV, "rate_limit.burst");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':1,'burst':1.5}}", INV, "rate_limit.burst");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':1,'burst':100001}}", INV, "rate_limit.burst");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':{'requests_per_second':1,'window':1}}", INV, "rate_limit.window");
    CREATE_FAILS(SRC, "{'name':'x','rate_limit':5}", INV, "rate_limit");
}

/* the body's JSON Schema (#17): compiled at save, JSON text kept parsed,
 * reject or warn */
static void test_source_json_schema(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{'name':'x','schema_validation_enabled':true}", INV, "json_schema");
    CREATE_FAILS(SRC, "{'name':'x','json_schema':[1]}", INV, "json_schema");
    CREATE_FAILS(SRC, "{'name':'x','json_schema':'{nope'}", INV, "json_schema");
    CREATE_FAILS(SRC, "{'name':'x','json_schema':{'type':'banana'}}", INV, "json_schema");
    CREATE_FAILS(SRC, "{'name':'x','json_schema':{'$ref':'http://example.com/x'}}", INV, "json_schema");
    json_t *warn = CREATE_OK(SRC, "{'name':'x','json_schema':{},'schema_action':'warn'}");
    assert_string_equal(json_string_value(json_object_get(warn, "schema_action")), "warn");
    json_decref(warn);
    CREATE_FAILS(SRC, "{'name':'x','json_schema':{},'schema_action':'log'}", INV, "schema_action");
    json_t *body = J("{'name':'x','schema_validation_enabled':true,'json_schema':'{\\'type\\':\\'object\\'}'}"),
           *doc = NULL;
    assert_int_equal(hs_resource_create_doc(SRC, body, &doc, NULL), HS_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "json_schema"), "type")), "object");
    assert_string_equal(json_string_value(json_object_get(doc, "schema_action")), "reject");
    json_decref(body);
    json_decref(doc);
}

static void test_unknown_and_later_fields(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{'name':'x','colour':'red'}", INV, "colour");
    /* verification, dedup and IP lists arrive later: not silently accepted */
    CREATE_FAILS(SRC, "{'name':'x','verification':{'type':'hmac'}}", INV, "verification");
    CREATE_FAILS(SRC, "{'name':'x','allowed_ips':[]}", INV, "allowed_ips");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'colour':1}", INV, "colour");
    CREATE_FAILS(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','x':1}", INV, "x");
}

/* deduplication (#17): a strategy, its field, a window */
static void test_source_dedup(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{'name':'x','dedup_strategy':'nope'}", INV, "dedup_strategy");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'header_field'}", INV, "dedup_field");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'body_field'}", INV, "dedup_field");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'header_field','dedup_field':'a b'}", INV,
                 "dedup_field");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'body_field','dedup_field':'a..b'}", INV,
                 "dedup_field");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'body_field','dedup_field':'.a'}", INV,
                 "dedup_field");
    CREATE_FAILS(SRC, "{'name':'x','dedup_window_seconds':0}", INV, "dedup_window_seconds");
    CREATE_FAILS(SRC, "{'name':'x','dedup_window_seconds':604801}", INV, "dedup_window_seconds");
    CREATE_FAILS(SRC, "{'name':'x','dedup_enabled':'yes'}", INV, "dedup_enabled");
    json_t *d = CREATE_OK(SRC, "{'name':'x','dedup_enabled':true,'dedup_strategy':'body_field','dedup_field':"
                               "'data.items.0.id','dedup_window_seconds':60}");
    assert_string_equal(json_string_value(json_object_get(d, "dedup_field")), "data.items.0.id");
    assert_int_equal(json_integer_value(json_object_get(d, "dedup_window_seconds")), 60);
    json_decref(d);
    /* a field is not needed while dedup is off, nor by payload_hash */
    json_decref(CREATE_OK(SRC, "{'name':'x','dedup_strategy':'header_field'}"));
    json_decref(CREATE_OK(SRC, "{'name':'x','dedup_enabled':true}"));
}

static void test_read_only_fields(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "{'name':'x','event_count':3}", INV, "event_count");
    CREATE_FAILS(SRC, "{'name':'x','ingest_url':'http://x'}", INV, "ingest_url");
    CREATE_FAILS(SRC, "{'name':'x','id':'src_00000000000000000000000000000000'}", INV, "id");
    CREATE_FAILS(SRC, "{'name':'x','created_at':'2024-01-01T00:00:00Z'}", INV, "created_at");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'updated_at':null}", INV, "updated_at");
    CREATE_FAILS(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','id':'x'}", INV, "id");
}

static void test_body_not_object(void **state) {
    (void)state;
    CREATE_FAILS(SRC, "[1,2]", INV, "");
    CREATE_FAILS(DST, "'x'", INV, "");
    CREATE_FAILS(CONN, "null", INV, "");
}

/* ---- destinations: common fields ---- */

static void test_destination_defaults(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'hook','config':{'url':'https://example.com/hook'}}");
    json_t *want =
        J("{'name':'hook','slug':null,'description':null,'status':'active','type':'http',"
          "'config':{'url':'https://example.com/hook','method':'POST','headers':{},'timeout_ms':30000,"
          "'auth':{'type':'none'},'fail_on_graphql_errors':false},"
          "'retry_policy':{'max_retries':5,'backoff_type':'exponential','intervals':[30,300,1800,7200,86400]},"
          "'circuit_breaker':{'enabled':true,'threshold':5,'cooldown_ms':60000},"
          "'signing':null,'max_concurrency':1,'ordering':'best_effort',"
          "'template':null,'template_inputs':null,'transform':null}");
    if (!json_equal(d, want)) {
        char *s = json_dumps(d, JSON_SORT_KEYS);
        fail_msg("got %s", s);
    }
    json_decref(want);
    json_decref(d);
    CREATE_FAILS(DST, "{'config':" HTTP_CFG "}", INV, "name");
    CREATE_FAILS(DST, "{'name':'x'}", INV, "config.url");
    CREATE_FAILS(DST, "{'name':'x','config':[]}", INV, "config");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'status':'broken'}", INV, "status");
}

static void test_type_aliases(void **state) {
    (void)state;
    static const char *const pairs[][3] = {
        {"sqs", "aws_sqs", SQS_CFG},
        {"s3", "aws_s3", S3_CFG},
        {"eventbridge", "aws_eventbridge", EB_CFG},
        {"pubsub", "gcp_pubsub", PUBSUB_CFG},
    };
    for (size_t i = 0; i < 4; i++) {
        json_t *d = DEST_OK(pairs[i][0], pairs[i][2], NULL);
        assert_string_equal(get_str(d, "type"), pairs[i][1]);
        json_decref(d);
        d = DEST_OK(pairs[i][1], pairs[i][2], NULL);
        assert_string_equal(get_str(d, "type"), pairs[i][1]);
        json_decref(d);
    }
    CREATE_FAILS(DST, "{'name':'x','type':'carrier_pigeon','config':{}}", INV, "type");
    CREATE_FAILS(DST, "{'name':'x','type':'HTTP','config':" HTTP_CFG "}", INV, "type");
    CREATE_FAILS(DST, "{'name':'x','type':3,'config':" HTTP_CFG "}", INV, "type");
}

static void test_provider_config_alias(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','provider_config':{'url':'http://127.0.0.1:1/x'}}");
    assert_string_equal(get_str(d, "config.url"), "http://127.0.0.1:1/x");
    EXPECT(d, "config.method", "'POST'");
    ABSENT(d, "provider_config");
    json_decref(d);
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'provider_config':" HTTP_CFG "}", INV, "provider_config");
    /* errors name the canonical path */
    CREATE_FAILS(DST, "{'name':'x','provider_config':{'url':'ftp://x'}}", INV, "config.url");
}

static void test_retry_policy(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                               ",'retry_policy':{'max_retries':0,'backoff_type':'fixed','intervals':[1]}}");
    EXPECT(d, "retry_policy", "{'max_retries':0,'backoff_type':'fixed','intervals':[1]}");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'retry_policy':{'max_retries':20,'intervals':[604800]}}");
    EXPECT(d, "retry_policy.backoff_type", "'exponential'");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'retry_policy':{'backoff_type':'linear'}}");
    EXPECT(d, "retry_policy", "{'max_retries':5,'backoff_type':'linear','intervals':[30,300,1800,7200,86400]}");
    json_decref(d);
    static const char *const bad[][2] = {
        {"{'max_retries':-1}", "retry_policy.max_retries"},
        {"{'max_retries':21}", "retry_policy.max_retries"},
        {"{'max_retries':2.5}", "retry_policy.max_retries"},
        {"{'max_retries':'3'}", "retry_policy.max_retries"},
        {"{'backoff_type':'random'}", "retry_policy.backoff_type"},
        {"{'intervals':[]}", "retry_policy.intervals"},
        {"{'intervals':30}", "retry_policy.intervals"},
        {"{'intervals':[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]}", "retry_policy.intervals"},
        {"{'intervals':[30,0]}", "retry_policy.intervals[1]"},
        {"{'intervals':[1,-2]}", "retry_policy.intervals[1]"},
        {"{'intervals':[30,300,604801]}", "retry_policy.intervals[2]"},
        {"{'intervals':['30']}", "retry_policy.intervals[0]"},
        {"{'intervals':[1.5]}", "retry_policy.intervals[0]"},
        {"{'intervals':[null]}", "retry_policy.intervals[0]"},
        {"{'jitter':true}", "retry_policy.jitter"},
        {"'often'", "retry_policy"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body = hs_sprintf("{'name':'x','config':" HTTP_CFG ",'retry_policy':%s}", bad[i][0]);
        create_fails_at(DST, body, INV, bad[i][1], __LINE__);
        hs_free(body);
    }
}

static void test_retry_flat_aliases(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                               ",'retry_max_attempts':3,'retry_backoff_type':'linear','retry_intervals':[2]}");
    EXPECT(d, "retry_policy", "{'max_retries':3,'backoff_type':'linear','intervals':[2]}");
    ABSENT(d, "retry_max_attempts");
    ABSENT(d, "retry_backoff_type");
    ABSENT(d, "retry_intervals");
    json_decref(d);
    /* an alias and a different member of retry_policy combine */
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'retry_max_attempts':1,'retry_policy':{'intervals':[9]}}");
    EXPECT(d, "retry_policy", "{'max_retries':1,'backoff_type':'exponential','intervals':[9]}");
    json_decref(d);
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'retry_max_attempts':1,'retry_policy':{'max_retries':2}}", INV,
                 "retry_max_attempts");
    CREATE_FAILS(
        DST, "{'name':'x','config':" HTTP_CFG ",'retry_backoff_type':'fixed','retry_policy':{'backoff_type':'fixed'}}",
        INV, "retry_backoff_type");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'retry_intervals':[1],'retry_policy':{'intervals':[1]}}", INV,
                 "retry_intervals");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'retry_intervals':[1],'retry_policy':'x'}", INV,
                 "retry_intervals");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'retry_intervals':[5,0]}", INV, "retry_policy.intervals[1]");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'retry_max_attempts':99}", INV, "retry_policy.max_retries");
}

static void test_circuit_breaker(void **state) {
    (void)state;
    json_t *d =
        CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'circuit_breaker':{'threshold':3,'cooldown_ms':5000}}");
    EXPECT(d, "circuit_breaker", "{'enabled':true,'threshold':3,'cooldown_ms':5000}");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                       ",'circuit_breaker':{'enabled':false,'threshold':1000,'cooldown_ms':86400000}}");
    EXPECT(d, "circuit_breaker.enabled", "false");
    json_decref(d);
    static const char *const bad[][2] = {
        {"{'threshold':0}", "circuit_breaker.threshold"},
        {"{'threshold':1001}", "circuit_breaker.threshold"},
        {"{'cooldown_ms':999}", "circuit_breaker.cooldown_ms"},
        {"{'cooldown_ms':86400001}", "circuit_breaker.cooldown_ms"},
        {"{'enabled':'yes'}", "circuit_breaker.enabled"},
        {"{'bogus':1}", "circuit_breaker.bogus"},
        {"[]", "circuit_breaker"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body = hs_sprintf("{'name':'x','config':" HTTP_CFG ",'circuit_breaker':%s}", bad[i][0]);
        create_fails_at(DST, body, INV, bad[i][1], __LINE__);
        hs_free(body);
    }
}

static void test_concurrency_and_ordering(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'max_concurrency':64,'ordering':'strict'}");
    EXPECT(d, "max_concurrency", "64");
    EXPECT(d, "ordering", "'strict'");
    json_decref(d);
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'max_concurrency':0}", INV, "max_concurrency");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'max_concurrency':65}", INV, "max_concurrency");
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'ordering':'sometimes'}", INV, "ordering");
}

static void test_signing_defaults(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'a-very-long-signing-secret'}}");
    EXPECT(d, "signing",
           "{'secret':'a-very-long-signing-secret','algorithm':'sha256','header':'X-hookstream-Signature',"
           "'prefix':'sha256=','include_timestamp':false,'timestamp_header':'X-hookstream-Signature-Timestamp',"
           "'scheme':'hookstream'}");
    json_decref(d);
    d = CREATE_OK(DST,
                  "{'name':'x','config':" HTTP_CFG
                  ",'signing':{'secret':'a-very-long-signing-secret','algorithm':'sha1','include_timestamp':true}}");
    EXPECT(d, "signing.prefix", "'sha1='");
    EXPECT(d, "signing.include_timestamp", "true");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                       ",'signing':{'secret':'a-very-long-signing-secret','prefix':'','header':'X-Sig'}}");
    EXPECT(d, "signing.prefix", "''");
    EXPECT(d, "signing.header", "'X-Sig'");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':null}");
    EXPECT(d, "signing", "null");
    json_decref(d);
}

/* Each bad[i][0] as a destination's signing is refused at field bad[i][1]. */
static void signing_fails(const char *const bad[][2], size_t n, int line) {
    for (size_t i = 0; i < n; i++) {
        char *body = hs_sprintf("{'name':'x','config':" HTTP_CFG ",'signing':%s}", bad[i][0]);
        create_fails_at(DST, body, INV, bad[i][1], line);
        hs_free(body);
    }
}

static void test_signing_rules(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"{}", "signing.secret"},
        {"{'secret':'fifteen-chars!!'}", "signing.secret"},
        {"{'secret':12345678901234567}", "signing.secret"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','algorithm':'md5'}", "signing.algorithm"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','header':'Bad Header'}", "signing.header"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','header':'Content-Length'}", "signing.header"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','timestamp_header':'X:y'}", "signing.timestamp_header"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','timestamp_header':'x-hookstream-signature'}", "signing.timestamp_header"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','include_timestamp':1}", "signing.include_timestamp"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','scheme':'github'}", "signing.scheme"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','prefix':'a\\r\\nb'}", "signing.prefix"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','pepper':'x'}", "signing.pepper"},
        {"'secret'", "signing"},
    };
    signing_fails(bad, sizeof bad / sizeof bad[0], __LINE__);
    /* 16 characters is the minimum */
    json_decref(CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'sixteen-chars-ok'}}"));
}

static void test_signing_standard_webhooks(void **state) {
    (void)state;
    /* base64("0123456789abcdef0123") = 20 bytes */
    json_t *d =
        CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                       ",'signing':{'secret':'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM=','scheme':'standard_webhooks'}}");
    EXPECT(d, "signing.scheme", "'standard_webhooks'");
    EXPECT(d, "signing.algorithm", "'sha256'");
    json_decref(d);
    static const char *const bad[][2] = {
        /* not whsec_ */
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','scheme':'standard_webhooks'}", "signing.secret"},
        /* not base64 */
        {"{'secret':'whsec_!!!!!!!!!!!!!!!!!!!!!!!!','scheme':'standard_webhooks'}", "signing.secret"},
        /* base64 of 15 bytes ("0123456789abcde") */
        {"{'secret':'whsec_MDEyMzQ1Njc4OWFiY2Rl','scheme':'standard_webhooks'}", "signing.secret"},
        /* unpadded */
        {"{'secret':'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM','scheme':'standard_webhooks'}", "signing.secret"},
        {"{'secret':'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM=','scheme':'standard_webhooks','algorithm':'sha1'}",
         "signing.algorithm"},
    };
    signing_fails(bad, sizeof bad / sizeof bad[0], __LINE__);
    /* a whsec_ secret is fine for the hookstream scheme too (used as is) */
    json_decref(CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'whsec_MDEyMzQ1Njc4OWFiY2Rl'}}"));
}

/* A rotation's overlap (docs/api.md "Rotating a signing secret"): the
 * previous secret and its end come together, the end is stored as ISO 8601
 * UTC, a standard_webhooks previous secret is a whsec_ one, and the
 * previous secret is masked like the current one. */
static void test_signing_previous_secret(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                               ",'signing':{'secret':'the-new-secret-0002','previous_secret':'the-old-secret-0001',"
                               "'previous_secret_expires_at':'2030-01-02T03:04:05+01:00'}}");
    EXPECT(d, "signing.previous_secret", "'the-old-secret-0001'");
    EXPECT(d, "signing.previous_secret_expires_at", "'2030-01-02T02:04:05.000Z'");
    json_t *shown = hs_resource_render(HS_KIND_DESTINATION, d);
    EXPECT(shown, "signing.previous_secret", "'********0001'");
    EXPECT(shown, "signing.secret", "'********0002'");
    json_decref(shown);
    json_decref(d);
    static const char *const bad[][2] = {
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','previous_secret':'yyyyyyyyyyyyyyyyyyyy'}",
         "signing.previous_secret_expires_at"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','previous_secret_expires_at':'2030-01-01T00:00:00Z'}",
         "signing.previous_secret"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','previous_secret':'short','previous_secret_expires_at':'2030-01-01T00:00:"
         "00Z'}",
         "signing.previous_secret"},
        {"{'secret':'xxxxxxxxxxxxxxxxxxxx','previous_secret':'yyyyyyyyyyyyyyyyyyyy','previous_secret_expires_at':'soon'"
         "}",
         "signing.previous_secret_expires_at"},
        {"{'secret':'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM=','scheme':'standard_webhooks',"
         "'previous_secret':'yyyyyyyyyyyyyyyyyyyy','previous_secret_expires_at':'2030-01-01T00:00:00Z'}",
         "signing.previous_secret"},
    };
    signing_fails(bad, sizeof bad / sizeof bad[0], __LINE__);
}

static void test_template(void **state) {
    (void)state;
    /* expansion: the template's config and payload shape, inputs split */
    json_t *d = CREATE_OK(DST, "{'template':'pagerduty','template_inputs':{'routing_key':'rk_0123456789abcdef'}}");
    EXPECT(d, "name", "'PagerDuty'");
    EXPECT(d, "type", "'http'");
    EXPECT(d, "config.url", "'https://events.pagerduty.com/v2/enqueue'");
    EXPECT(d, "template", "'pagerduty'");
    EXPECT(d, "template_inputs", "{'routing_key':'rk_0123456789abcdef','severity':'error','event_action':'trigger'}");
    assert_true(json_is_string(json_object_get(d, "transform")));
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "template_inputs.routing_key", "'********cdef'");
    json_decref(r);
    json_decref(d);
    /* config inputs land in the config only; explicit fields win */
    d = CREATE_OK(DST, "{'template':'datadog','name':'logs','template_inputs':{'api_key':'k0123456789abcdef',"
                       "'site':'us5.datadoghq.com'},'config':{'timeout_ms':5000}}");
    EXPECT(d, "name", "'logs'");
    EXPECT(d, "config.url", "'https://http-intake.logs.us5.datadoghq.com/api/v2/logs'");
    EXPECT(d, "config.auth", "{'type':'api_key','header':'DD-API-KEY','key':'k0123456789abcdef'}");
    EXPECT(d, "config.timeout_ms", "5000");
    EXPECT(d, "template_inputs", "{'service':'hookstream'}");
    json_decref(d);
    d = CREATE_OK(DST, "{'template':'slack','config':{'url':'https://hooks.slack.com/services/a'}}");
    EXPECT(d, "config.url", "'https://hooks.slack.com/services/a'");
    EXPECT(d, "template_inputs", "{}");
    json_decref(d);
    /* errors name the input */
    CREATE_FAILS(DST, "{'template':'slack'}", INV, "template_inputs.webhook_url");
    CREATE_FAILS(DST, "{'template':'slack','template_inputs':{'webhook_url':'https://x/y','x':'1'}}", INV,
                 "template_inputs.x");
    CREATE_FAILS(DST, "{'template':'linear','template_inputs':{'api_key':'k','team_id':'t','priority':'9'}}", INV,
                 "template_inputs.priority");
    CREATE_FAILS(DST, "{'template':'linear','template_inputs':{'api_key':'k','team_id':' t'}}", INV,
                 "template_inputs.team_id");
    CREATE_FAILS(DST, "{'template':'linear','template_inputs':{'api_key':'k','team_id':5}}", INV,
                 "template_inputs.team_id");
    CREATE_FAILS(DST, "{'template':'slack','template_inputs':[]}", INV, "template_inputs");
    CREATE_FAILS(DST, "{'template':'slack','type':'kafka','template_inputs':{'webhook_url':'https://x/y'}}", INV,
                 "type");
    CREATE_FAILS(DST, "{'name':'t','template':'myspace','config':" HTTP_CFG "}", INV, "template");
    CREATE_FAILS(DST, "{'name':'t','template':7,'config':" HTTP_CFG "}", INV, "template");
    CREATE_FAILS(DST, "{'name':'t','config':" HTTP_CFG ",'template_inputs':{'a':'b'}}", INV, "template_inputs");
    json_decref(CREATE_OK(DST, "{'name':'t','template':null,'config':" HTTP_CFG "}"));
    json_decref(CREATE_OK(DST, "{'name':'t','template_inputs':{},'config':" HTTP_CFG "}"));
    /* a destination's own transform is compiled when saved */
    CREATE_FAILS(DST, "{'name':'t','config':" HTTP_CFG ",'transform':'{'}", INV, "transform");
}

static void test_http_url(void **state) {
    (void)state;
    json_t *d = DEST_OK("http", HTTP_CFG, "{'url':'http://[::1]:8080/x?y=1'}");
    json_decref(d);
    static const char *const bad[] = {
        "{'url':null}",
        "{'url':''}",
        "{'url':5}",
        "{'url':'ftp://x/y'}",
        "{'url':'https://'}",
        "{'url':'example.com'}",
        "{'url':'https://u:p@h/x'}",
        "{'url':'https://h/x#frag'}",
        "{'url':'https://h/a b'}",
        "{'url':'https://h:99999/'}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("http", HTTP_CFG, bad[i], "config.url", __LINE__);
    char *path = repeat('p', 2048 - strlen("https://h/")), *change = hs_sprintf("{'url':'https://h/%s'}", path);
    json_decref(DEST_OK("http", HTTP_CFG, change));
    hs_free(change);
    change = hs_sprintf("{'url':'https://h/%sp'}", path);
    DEST_FAILS("http", HTTP_CFG, change, "config.url");
    hs_free(change);
    hs_free(path);
}

static void test_http_method_timeout(void **state) {
    (void)state;
    json_t *d = DEST_OK("http", HTTP_CFG, "{'method':'PUT','timeout_ms':100}");
    EXPECT(d, "config.method", "'PUT'");
    EXPECT(d, "config.timeout_ms", "100");
    json_decref(d);
    json_decref(DEST_OK("http", HTTP_CFG, "{'method':'PATCH','timeout_ms':300000}"));
    DEST_FAILS("http", HTTP_CFG, "{'method':'GET'}", "config.method");
    DEST_FAILS("http", HTTP_CFG, "{'method':'post'}", "config.method");
    DEST_FAILS("http", HTTP_CFG, "{'timeout_ms':99}", "config.timeout_ms");
    DEST_FAILS("http", HTTP_CFG, "{'timeout_ms':300001}", "config.timeout_ms");
    DEST_FAILS("http", HTTP_CFG, "{'timeout_ms':'30s'}", "config.timeout_ms");
    DEST_FAILS("http", HTTP_CFG, "{'surprise':true}", "config.surprise");
}

static void test_http_headers(void **state) {
    (void)state;
    json_t *d = DEST_OK("http", HTTP_CFG, "{'headers':{'X-Team':'payments','Content-Type':'application/json'}}");
    EXPECT(d, "config.headers", "{'X-Team':'payments','Content-Type':'application/json'}");
    json_decref(d);
    DEST_FAILS("http", HTTP_CFG, "{'headers':[]}", "config.headers");
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'X-A':1}}", "config.headers.X-A");
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'X-A':'a\\r\\nInjected: 1'}}", "config.headers.X-A");
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'Bad Name':'x'}}", "config.headers.Bad Name");
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'':'x'}}", "config.headers");
    static const char *const owned[] = {"Host", "content-length", "Transfer-Encoding", "CONNECTION"};
    for (size_t i = 0; i < 4; i++) {
        char *change = hs_sprintf("{'headers':{'%s':'x'}}", owned[i]),
             *path = hs_sprintf("config.headers.%s", owned[i]);
        dest_fails_at("http", HTTP_CFG, change, path, __LINE__);
        hs_free(change);
        hs_free(path);
    }
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'X-Hookstream-Event-Id':'x'}}", "config.headers.X-Hookstream-Event-Id");
    DEST_FAILS("http", HTTP_CFG, "{'headers':{'X-A':'1','x-a':'2'}}", "config.headers.x-a");
    /* 50 headers, 8192-character values: fine; one more of either is not */
    json_t *cfg = J(HTTP_CFG), *headers = json_object();
    char *big = repeat('v', 8192);
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof name, "X-H%d", i);
        json_object_set_new(headers, name, json_string(i ? "v" : big));
    }
    json_object_set_new(cfg, "headers", headers);
    json_t *body = json_pack("{s:s, s:O}", "name", "x", "config", cfg);
    hs_error err;
    json_t *doc = create_json(DST, body, &err);
    assert_non_null(doc);
    json_decref(doc);
    json_object_set_new(headers, "X-H50", json_string("v"));
    json_object_set(body, "config", cfg);
    doc = create_json(DST, body, &err);
    expect_error(&err, doc, INV, "config.headers", __LINE__);
    json_object_del(headers, "X-H50");
    char *bigger = hs_sprintf("%sv", big);
    json_object_set_new(headers, "X-H0", json_string(bigger));
    doc = create_json(DST, body, &err);
    expect_error(&err, doc, INV, "config.headers.X-H0", __LINE__);
    hs_free(bigger);
    hs_free(big);
    json_decref(body);
    json_decref(cfg);
}

static void test_http_auth(void **state) {
    (void)state;
    json_t *d = DEST_OK("http", HTTP_CFG, "{'auth':{'type':'bearer','token':'tok_abcdefghijklmnop1234'}}");
    EXPECT(d, "config.auth", "{'type':'bearer','token':'tok_abcdefghijklmnop1234'}");
    json_decref(d);
    d = DEST_OK("http", HTTP_CFG, "{'auth':{'type':'basic','username':'user','password':'pw'}}");
    EXPECT(d, "config.auth.username", "'user'");
    json_decref(d);
    d = DEST_OK("http", HTTP_CFG, "{'auth':{'type':'api_key','key':'k-123'}}");
    EXPECT(d, "config.auth", "{'type':'api_key','header':'X-API-Key','key':'k-123'}");
    json_decref(d);
    d = DEST_OK("http", HTTP_CFG, "{'auth':{'type':'api_key','header':'Api-Token','key':'k-123'}}");
    EXPECT(d, "config.auth.header", "'Api-Token'");
    json_decref(d);
    d = DEST_OK("http", HTTP_CFG, "{'auth':{'type':'custom','headers':{'X-Sig':'s1','X-Org':'o'}}}");
    EXPECT(d, "config.auth.headers", "{'X-Sig':'s1','X-Org':'o'}");
    json_decref(d);
    d = DEST_OK("http", HTTP_CFG, "{'auth':{}}");
    EXPECT(d, "config.auth", "{'type':'none'}");
    json_decref(d);
    static const char *const bad[][2] = {
        {"{'auth':{'type':'bearer'}}", "config.auth.token"},
        {"{'auth':{'type':'bearer','token':''}}", "config.auth.token"},
        {"{'auth':{'type':'bearer','token':'a\\nb'}}", "config.auth.token"},
        {"{'auth':{'type':'basic','password':'pw'}}", "config.auth.username"},
        {"{'auth':{'type':'basic','username':'u'}}", "config.auth.password"},
        {"{'auth':{'type':'basic','username':'a:b','password':'pw'}}", "config.auth.username"},
        {"{'auth':{'type':'api_key'}}", "config.auth.key"},
        {"{'auth':{'type':'api_key','key':'k','header':'Host'}}", "config.auth.header"},
        {"{'auth':{'type':'custom'}}", "config.auth.headers"},
        {"{'auth':{'type':'custom','headers':{}}}", "config.auth.headers"},
        {"{'auth':{'type':'custom','headers':{'Connection':'x'}}}", "config.auth.headers.Connection"},
        {"{'auth':{'type':'oauth'}}", "config.auth.type"},
        {"{'auth':{'type':1}}", "config.auth.type"},
        {"{'auth':'token'}", "config.auth"},
        /* exactly the fields of its type */
        {"{'auth':{'type':'basic','username':'u','password':'p','token':'t'}}", "config.auth.token"},
        {"{'auth':{'token':'t'}}", "config.auth.token"},
        {"{'auth':{'type':'bearer','token':'t','key':'k'}}", "config.auth.key"},
        /* a header set both by auth and in headers */
        {"{'headers':{'authorization':'x'},'auth':{'type':'bearer','token':'t'}}", "config.headers.authorization"},
        {"{'headers':{'X-Api-Key':'x'},'auth':{'type':'api_key','key':'k'}}", "config.headers.X-Api-Key"},
        {"{'headers':{'X-Sig':'x'},'auth':{'type':'custom','headers':{'x-sig':'y'}}}", "config.headers.X-Sig"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("http", HTTP_CFG, bad[i][0], bad[i][1], __LINE__);
}

static void test_http_masking(void **state) {
    (void)state;
    static const char *const cases[][3] = {
        {"{'auth':{'type':'bearer','token':'tok_abcdefghijklmnop1234'}}", "config.auth.token", "'********1234'"},
        {"{'auth':{'type':'basic','username':'user','password':'pass-word-9876'}}", "config.auth.password",
         "'********9876'"},
        {"{'auth':{'type':'api_key','key':'short'}}", "config.auth.key", "'********'"},
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *d = dest_ok_at("http", HTTP_CFG, cases[i][0], __LINE__);
        json_t *before = json_deep_copy(d), *r = hs_resource_render(DST, d);
        expect_at(r, cases[i][1], cases[i][2], __LINE__);
        assert_true(json_equal(d, before)); /* the doc itself is untouched */
        json_decref(before), json_decref(r), json_decref(d);
    }
    json_t *d = DEST_OK("http", HTTP_CFG,
                        "{'headers':{'X-Team':'payments-team'},'auth':{'type':'custom','headers':"
                        "{'X-Sig':'sig-abcdefghijkl','X-Org':'org'}}}");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "config.auth.headers", "{'X-Sig':'********ijkl','X-Org':'********'}");
    EXPECT(r, "config.headers.X-Team", "'payments-team'"); /* plain headers are not secrets */
    json_decref(r);
    json_decref(d);
}

/* config.headers: credential-looking names and the ones secret_headers
 * lists are masked on read, kept when a read is patched back, and marked
 * secret in the built request (so masked in attempt records too). */
static void test_http_secret_headers(void **state) {
    (void)state;
    json_t *d = DEST_OK("http", HTTP_CFG,
                        "{'headers':{'Authorization':'Token abcdefghijkl-1','X-Api-Key':'apikey-000000-2',"
                        "'Cookie':'sid=0123456789-3','Proxy-Authorization':'Basic 0123456789-4',"
                        "'X-Custom':'custom-value-000-5','X-Team':'payments-team'},"
                        "'secret_headers':['x-custom']}");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "config.headers",
           "{'Authorization':'********kl-1','X-Api-Key':'********00-2','Cookie':'********89-3',"
           "'Proxy-Authorization':'********89-4','X-Custom':'********00-5','X-Team':'payments-team'}");
    EXPECT(r, "config.secret_headers", "['x-custom']");
    /* patched back as read: the stored values stay */
    json_t *cur = stored(json_deep_copy(d), DST_ID), *shown = json_deep_copy(r);
    json_object_del(shown, "id");
    json_object_set_new(shown, "name", json_string("renamed"));
    json_t *p = NULL;
    hs_error err;
    assert_int_equal(hs_resource_patch_doc(DST, cur, shown, &p, &err), HS_OK);
    EXPECT(p, "config.headers",
           "{'Authorization':'Token abcdefghijkl-1','X-Api-Key':'apikey-000000-2',"
           "'Cookie':'sid=0123456789-3','Proxy-Authorization':'Basic 0123456789-4',"
           "'X-Custom':'custom-value-000-5','X-Team':'payments-team'}");
    json_decref(p);
    /* a mask that is not the stored value's is refused */
    PATCH_FAILS(DST, cur, "{'config':{'headers':{'X-Custom':'********9999'}}}", INV, "config.headers.X-Custom");
    /* the built request marks them secret */
    hs_delivery_ctx ctx = {.destination = d, .event_id = "evt_1", .delivery_id = "dlv_1", .attempt = 1};
    hs_out_req req;
    assert_int_equal(hs_provider_build(&hs_provider_http, &ctx, &req, &err), HS_OK);
    static const char *const secret[] = {"Authorization", "X-Api-Key", "Cookie", "Proxy-Authorization", "X-Custom"};
    for (size_t i = 0; i < 5; i++) {
        bool found = false;
        for (size_t h = 0; h < req.nheaders; h++)
            if (strcmp(req.headers[h].name, secret[i]) == 0) found = req.headers[h].secret;
        if (!found) fail_msg("%s is not a secret header of the request", secret[i]);
    }
    for (size_t h = 0; h < req.nheaders; h++)
        if (strcmp(req.headers[h].name, "X-Team") == 0) assert_false(req.headers[h].secret);
    hs_out_req_free(&req);
    json_decref(shown), json_decref(cur), json_decref(r), json_decref(d);
    static const char *const bad[][2] = {
        /* secret_headers: header names */
        {"{'secret_headers':'X-A'}", "config.secret_headers"},
        {"{'secret_headers':['Bad Name']}", "config.secret_headers[0]"},
        {"{'secret_headers':[1]}", "config.secret_headers[0]"},
        /* a masked value sent on create is refused */
        {"{'headers':{'X-Api-Key':'********0000'}}", "config.headers.X-Api-Key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("http", HTTP_CFG, bad[i][0], bad[i][1], __LINE__);
}

static void test_header_secret_rule(void **state) {
    (void)state;
    static const char *const yes[] = {
        "Authorization", "proxy-authorization", "Cookie",          "Set-Cookie", "X-Api-Key",    "api-key",
        "X-Auth-Token",  "X-Hub-Signature",     "X-Client-Secret", "X-PASSWORD", "X-Session-Id", "X-Credentials"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!hs_header_secret(yes[i], NULL)) fail_msg("%s should be secret", yes[i]);
    static const char *const no[] = {"Accept", "X-Team", "X-Signer", "Content-Type", "X-Request-Id"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (hs_header_secret(no[i], NULL)) fail_msg("%s should not be secret", no[i]);
    json_t *listed = J("['X-Team']");
    assert_true(hs_header_secret("x-team", listed));
    assert_false(hs_header_secret("X-Other", listed));
    json_decref(listed);
}

/* ---- AWS ---- */

static void test_aws_sqs(void **state) {
    (void)state;
    json_t *d = DEST_OK("aws_sqs", SQS_CFG, "{'message_group_id':'orders','session_token':'FwoGZXIvYXdzEJr'}");
    EXPECT(d, "config.message_group_id", "'orders'");
    ABSENT(d, "config.endpoint");
    json_decref(d);
    d = DEST_OK("aws_sqs", SQS_CFG, "{'endpoint':'http://127.0.0.1:9324','region':'local'}");
    EXPECT(d, "config.endpoint", "'http://127.0.0.1:9324'");
    json_decref(d);
    static const char *const required[] = {"queue_url", "region", "access_key_id", "secret_access_key", NULL};
    expect_required("aws_sqs", SQS_CFG, required);
    DEST_FAILS("aws_sqs", SQS_CFG, "{'queue_url':'sqs://q'}", "config.queue_url");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'region':'US East'}", "config.region");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'region':'x'}", "config.region");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'access_key_id':'AK ID'}", "config.access_key_id");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'secret_access_key':''}", "config.secret_access_key");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'message_group_id':'has space'}", "config.message_group_id");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'endpoint':'localhost:9324'}", "config.endpoint");
    DEST_FAILS("aws_sqs", SQS_CFG, "{'bucket':'b'}", "config.bucket");
}

static void test_aws_s3(void **state) {
    (void)state;
    json_t *d = DEST_OK("aws_s3", S3_CFG, NULL);
    EXPECT(d, "config.format", "'json'");
    EXPECT(d, "config.prefix", "''");
    EXPECT(d, "config.force_path_style", "false");
    json_decref(d);
    d = DEST_OK("aws_s3", S3_CFG, "{'endpoint':'http://127.0.0.1:4568','prefix':'events/','format':'raw'}");
    EXPECT(d, "config.force_path_style", "true");
    EXPECT(d, "config.prefix", "'events/'");
    EXPECT(d, "config.format", "'raw'");
    json_decref(d);
    d = DEST_OK("aws_s3", S3_CFG, "{'endpoint':'http://127.0.0.1:4568','force_path_style':false}");
    EXPECT(d, "config.force_path_style", "false");
    json_decref(d);
    json_decref(DEST_OK("aws_s3", S3_CFG, "{'bucket':'a.b-c.123'}"));
    static const char *const required[] = {"bucket", "region", "access_key_id", "secret_access_key", NULL};
    expect_required("aws_s3", S3_CFG, required);
    static const char *const bad_buckets[] = {"No_Such", "ab",          "-abc",  "abc-",     "a..b",
                                              "a.-b",    "192.168.1.1", "UPPER", "has space"};
    for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++) {
        char *change = hs_sprintf("{'bucket':'%s'}", bad_buckets[i]);
        dest_fails_at("aws_s3", S3_CFG, change, "config.bucket", __LINE__);
        hs_free(change);
    }
    char *b64 = repeat('b', 64), *change = hs_sprintf("{'bucket':'%s'}", b64);
    DEST_FAILS("aws_s3", S3_CFG, change, "config.bucket");
    hs_free(change);
    hs_free(b64);
    DEST_FAILS("aws_s3", S3_CFG, "{'prefix':'/events'}", "config.prefix");
    DEST_FAILS("aws_s3", S3_CFG, "{'format':'xml'}", "config.format");
    DEST_FAILS("aws_s3", S3_CFG, "{'force_path_style':'yes'}", "config.force_path_style");
    char *p513 = repeat('p', 513);
    change = hs_sprintf("{'prefix':'%s'}", p513);
    DEST_FAILS("aws_s3", S3_CFG, change, "config.prefix");
    hs_free(change);
    hs_free(p513);
}

static void test_aws_eventbridge(void **state) {
    (void)state;
    json_t *d = DEST_OK("aws_eventbridge", EB_CFG, NULL);
    EXPECT(d, "config.event_bus_arn", "'default'");
    EXPECT(d, "config.source", "'hookstream'");
    EXPECT(d, "config.detail_type", "'hookstream.event'");
    json_decref(d);
    static const char *const good[] = {
        "{'event_bus_arn':'orders-bus'}",
        "{'event_bus_arn':'arn:aws:events:us-east-1:123456789012:event-bus/orders'}",
        "{'event_bus_arn':'arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/a.b_c-d'}",
        "{'source':'com.shop.orders','detail_type':'Order Created'}",
        "{'endpoint':'http://127.0.0.1:4566'}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        json_decref(dest_ok_at("aws_eventbridge", EB_CFG, good[i], __LINE__));
    static const char *const bad[][2] = {
        {"{'event_bus_arn':'arn:aws:sqs:us-east-1:123456789012:event-bus/x'}", "config.event_bus_arn"},
        {"{'event_bus_arn':'arn:aws:events:us-east-1:1234:event-bus/x'}", "config.event_bus_arn"},
        {"{'event_bus_arn':'arn:aws:events:us-east-1:123456789012:rule/x'}", "config.event_bus_arn"},
        {"{'event_bus_arn':'arn:aws:events:us-east-1:123456789012:event-bus/'}", "config.event_bus_arn"},
        {"{'event_bus_arn':'bus name'}", "config.event_bus_arn"},
        {"{'event_bus_arn':''}", "config.event_bus_arn"},
        {"{'source':'aws.events'}", "config.source"},
        {"{'source':''}", "config.source"},
        {"{'detail_type':5}", "config.detail_type"},
        {"{'region':null}", "config.region"},
        {"{'secret_access_key':null}", "config.secret_access_key"},
        {"{'queue_url':'https://x/y'}", "config.queue_url"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("aws_eventbridge", EB_CFG, bad[i][0], bad[i][1], __LINE__);
}

static void test_aws_masking(void **state) {
    (void)state;
    static const char *const types[][2] = {{"aws_sqs", SQS_CFG}, {"aws_s3", S3_CFG}, {"aws_eventbridge", EB_CFG}};
    for (size_t i = 0; i < 3; i++) {
        json_t *d = dest_ok_at(types[i][0], types[i][1], "{'session_token':'FwoGZXIvYXdzEJr-session'}", __LINE__);
        json_t *r = hs_resource_render(DST, d);
        expect_at(r, "config.secret_access_key", "'********EKEY'", __LINE__);
        expect_at(r, "config.session_token", "'********sion'", __LINE__);
        expect_at(r, "config.access_key_id", "'AKIDEXAMPLE'", __LINE__);
        expect_at(d, "config.secret_access_key", "'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'", __LINE__);
        json_decref(r);
        json_decref(d);
    }
}

/* ---- GCP ---- */

static void test_pubsub_key_file(void **state) {
    (void)state;
    /* an object is stored in its string form */
    json_t *d = DEST_OK("gcp_pubsub", PUBSUB_CFG, NULL);
    const char *sa = get_str(d, "config.service_account_json");
    assert_non_null(sa);
    json_t *parsed = json_loads(sa, 0, NULL), *want = J(SA_OBJ);
    assert_true(json_equal(parsed, want));
    json_decref(parsed);
    /* the string form is kept as given */
    json_t *body = dest_body("gcp_pubsub", PUBSUB_CFG, NULL);
    char *text = json_dumps(want, JSON_INDENT(2));
    json_object_set_new(json_object_get(body, "config"), "service_account_json", json_string(text));
    hs_error err;
    json_t *d2 = create_json(DST, body, &err);
    assert_non_null(d2);
    assert_string_equal(get_str(d2, "config.service_account_json"), text);
    /* the rendered key shows only its tail */
    json_t *r = hs_resource_render(DST, d2);
    const char *shown = get_str(r, "config.service_account_json");
    assert_int_equal(strncmp(shown, "********", 8), 0);
    assert_int_equal(strlen(shown), 12);
    char *all = json_dumps(r, 0);
    assert_null(strstr(all, "PRIVATE"));
    free(all);
    json_decref(r);
    free(text);
    json_decref(d2);
    json_decref(body);
    json_decref(want);
    json_decref(d);
    static const char *const bad[] = {
        "{'service_account_json':{'client_email':'x@y'}}",
        "{'service_account_json':{'private_key':'" PEM "'}}",
        "{'service_account_json':{'client_email':'nobody','private_key':'" PEM "'}}",
        "{'service_account_json':{'client_email':'x@y','private_key':'MIIE...'}}",
        "{'service_account_json':'not json'}",
        "{'service_account_json':'[1,2]'}",
        "{'service_account_json':[1,2]}",
        "{'service_account_json':42}",
        "{'service_account_json':null}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("gcp_pubsub", "{'project_id':'my-project-1','topic_id':'events'}", bad[i],
                      "config.service_account_json", __LINE__);
}

static void test_pubsub_ids(void **state) {
    (void)state;
    json_t *d = DEST_OK("gcp_pubsub", PUBSUB_CFG,
                        "{'topic_id':'Orders.v1_x~y+z%20','token_url':'http://127.0.0.1:8085/token',"
                        "'endpoint':'http://127.0.0.1:8085'}");
    EXPECT(d, "config.token_url", "'http://127.0.0.1:8085/token'");
    json_decref(d);
    static const char *const required[] = {"project_id", "topic_id", "service_account_json", NULL};
    expect_required("gcp_pubsub", PUBSUB_CFG, required);
    static const char *const bad[][2] = {
        {"{'project_id':'My-Project'}", "config.project_id"},
        {"{'project_id':'short'}", "config.project_id"},
        {"{'project_id':'1project'}", "config.project_id"},
        {"{'project_id':'project-'}", "config.project_id"},
        {"{'project_id':'a234567890123456789012345678901'}", "config.project_id"},
        {"{'topic_id':'ab'}", "config.topic_id"},
        {"{'topic_id':'1topic'}", "config.topic_id"},
        {"{'topic_id':'googtopic'}", "config.topic_id"},
        {"{'topic_id':'has space'}", "config.topic_id"},
        {"{'token_url':'nope'}", "config.token_url"},
        {"{'endpoint':'ftp://x'}", "config.endpoint"},
        {"{'credentials':'x'}", "config.credentials"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("gcp_pubsub", PUBSUB_CFG, bad[i][0], bad[i][1], __LINE__);
}

/* ---- Kafka, RabbitMQ, WebSocket ---- */

static void test_kafka(void **state) {
    (void)state;
    json_t *d = DEST_OK("kafka", KAFKA_CFG, NULL);
    ABSENT(d, "config.api_key");
    json_decref(d);
    d = DEST_OK("kafka", KAFKA_CFG,
                "{'api_key':'KEY','api_secret':'secret-secret-secret-9876','key':'$.body.id',"
                "'endpoint':'https://proxy.example.com'}");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "config.api_secret", "'********9876'");
    EXPECT(r, "config.api_key", "'KEY'");
    json_decref(r);
    json_decref(d);
    static const char *const required[] = {"rest_url", "cluster_id", "topic", NULL};
    expect_required("kafka", KAFKA_CFG, required);
    static const char *const bad[][2] = {
        {"{'topic':'bad topic!'}", "config.topic"},
        {"{'topic':'..'}", "config.topic"},
        {"{'topic':''}", "config.topic"},
        {"{'cluster_id':'c/1'}", "config.cluster_id"},
        {"{'rest_url':'kafka:9092'}", "config.rest_url"},
        {"{'api_key':'KEY'}", "config.api_secret"},
        {"{'api_secret':'s3cret'}", "config.api_key"},
        {"{'api_key':'K:Y','api_secret':'s'}", "config.api_key"},
        {"{'key':5}", "config.key"},
        {"{'partition':1}", "config.partition"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("kafka", KAFKA_CFG, bad[i][0], bad[i][1], __LINE__);
    char *t249 = repeat('t', 249), *change = hs_sprintf("{'topic':'%s'}", t249);
    json_decref(DEST_OK("kafka", KAFKA_CFG, change));
    hs_free(change);
    change = hs_sprintf("{'topic':'%st'}", t249);
    DEST_FAILS("kafka", KAFKA_CFG, change, "config.topic");
    hs_free(change);
    hs_free(t249);
}

static void test_rabbitmq(void **state) {
    (void)state;
    json_t *d = DEST_OK("rabbitmq", RABBIT_CFG, NULL);
    EXPECT(d, "config.vhost", "'/'");
    EXPECT(d, "config.routing_key", "''");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "config.password", "'********1234'");
    EXPECT(r, "config.username", "'guest'");
    json_decref(r);
    json_decref(d);
    d = DEST_OK("rabbitmq", RABBIT_CFG, "{'exchange':'','routing_key':'orders.created','vhost':'prod'}");
    EXPECT(d, "config.exchange", "''");
    json_decref(d);
    static const char *const required[] = {"url", "exchange", "username", "password", NULL};
    expect_required("rabbitmq", RABBIT_CFG, required);
    static const char *const bad[][2] = {
        {"{'exchange':5}", "config.exchange"},
        {"{'vhost':''}", "config.vhost"},
        {"{'username':'a:b'}", "config.username"},
        {"{'password':''}", "config.password"},
        {"{'url':'amqp://guest@localhost'}", "config.url"},
        {"{'queue':'q'}", "config.queue"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dest_fails_at("rabbitmq", RABBIT_CFG, bad[i][0], bad[i][1], __LINE__);
}

static void test_websocket(void **state) {
    (void)state;
    json_t *d = DEST_OK("websocket", WS_CFG, "{'channel_name':'orders.v1:eu-west_2'}");
    EXPECT(d, "config", "{'channel_name':'orders.v1:eu-west_2'}");
    json_t *r = hs_resource_render(DST, d);
    assert_true(json_equal(r, d));
    json_decref(r);
    json_decref(d);
    DEST_FAILS("websocket", "{}", NULL, "config.channel_name");
    DEST_FAILS("websocket", WS_CFG, "{'channel_name':'has space'}", "config.channel_name");
    DEST_FAILS("websocket", WS_CFG, "{'channel_name':''}", "config.channel_name");
    DEST_FAILS("websocket", WS_CFG, "{'url':'https://x/'}", "config.url");
    char *c129 = repeat('c', 129), *change = hs_sprintf("{'channel_name':'%s'}", c129);
    DEST_FAILS("websocket", WS_CFG, change, "config.channel_name");
    hs_free(change);
    hs_free(c129);
}

static void test_signing_masked(void **state) {
    (void)state;
    json_t *d = CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'a-very-long-signing-secret'}}");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "signing.secret", "'********cret'");
    EXPECT(r, "signing.algorithm", "'sha256'");
    json_decref(r);
    json_decref(d);
    /* a masked value sent back on create is refused, not stored */
    CREATE_FAILS(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'********cret-and-more'}}", INV,
                 "signing.secret");
    DEST_FAILS("http", HTTP_CFG, "{'auth':{'type':'bearer','token':'********1234'}}", "config.auth.token");
}

/* ---- connections ---- */

static void test_connection_defaults(void **state) {
    (void)state;
    json_t *d = CREATE_OK(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "'}");
    json_t *want = J("{'name':null,'source_id':'" SRC_ID "','destination_id':'" DST_ID
                     "','enabled':true,'description':null,'filter_rules':null,'transform':null}");
    assert_true(json_equal(d, want));
    json_t *r = hs_resource_render(CONN, d);
    assert_true(json_equal(r, d));
    json_decref(r);
    json_decref(want);
    json_decref(d);
    d = CREATE_OK(CONN, "{'name':'route','source_id':'" SRC_ID "','destination_id':'" DST_ID
                        "','enabled':false,'description':'d','filter_rules':[],'transform':''}");
    EXPECT(d, "enabled", "false");
    EXPECT(d, "filter_rules", "null");
    EXPECT(d, "transform", "null");
    json_decref(d);
}

static void test_connection_ids(void **state) {
    (void)state;
    static const char *const bad[][2] = {
        {"{'destination_id':'" DST_ID "'}", "source_id"},
        {"{'source_id':'" SRC_ID "'}", "destination_id"},
        {"{'source_id':'bogus','destination_id':'" DST_ID "'}", "source_id"},
        {"{'source_id':'" DST_ID "','destination_id':'" DST_ID "'}", "source_id"},
        {"{'source_id':'" SRC_ID "','destination_id':'" SRC_ID "'}", "destination_id"},
        {"{'source_id':'src_0123456789ABCDEF0123456789abcdef','destination_id':'" DST_ID "'}", "source_id"},
        {"{'source_id':5,'destination_id':'" DST_ID "'}", "source_id"},
        {"{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','enabled':'yes'}", "enabled"},
        {"{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','name':''}", "name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) create_fails_at(CONN, bad[i][0], INV, bad[i][1], __LINE__);
}

static void test_connection_filters_transforms(void **state) {
    (void)state;
    /* filter rules are checked (src/rules/filter.c; test_filter.c has the details) */
    static const char *const invalid[][2] = {
        {"'filter_rules':{'body':{'type':'order'}}", "filter_rules"},
        {"'filter_rules':'x'", "filter_rules"},
        {"'filter_rules':[{'field':'method','op':'is','value':'POST'}]", "filter_rules[0].op"},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char *body = hs_sprintf("{'source_id':'" SRC_ID "','destination_id':'" DST_ID "',%s}", invalid[i][0]);
        create_fails_at(CONN, body, INV, invalid[i][1], __LINE__);
        hs_free(body);
    }
    json_t *ok = CREATE_OK(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID
                                 "','filter_rules':[{'field':'method','op':'eq','value':'POST'}]}");
    EXPECT(ok, "filter_rules", "[{'field':'method','op':'eq','value':'POST'}]");
    json_decref(ok);
    /* transforms are compiled when saved: a syntax error is refused */
    static const char *const bad_tf[][2] = {
        {"'transform':'$.body['", "transform"},
        {"'transform_expression':'(1 + '", "transform"},
    };
    for (size_t i = 0; i < sizeof bad_tf / sizeof bad_tf[0]; i++) {
        char *body = hs_sprintf("{'source_id':'" SRC_ID "','destination_id':'" DST_ID "',%s}", bad_tf[i][0]);
        create_fails_at(CONN, body, INV, bad_tf[i][1], __LINE__);
        hs_free(body);
    }
    ok = CREATE_OK(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','transform_expression':'$.a'}");
    EXPECT(ok, "transform", "'$.a'");
    json_decref(ok);
    json_t *d = CREATE_OK(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','transform_expression':''}");
    EXPECT(d, "transform", "null");
    ABSENT(d, "transform_expression");
    json_decref(d);
    CREATE_FAILS(CONN,
                 "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','transform':'','transform_expression':''}",
                 INV, "transform_expression");
    CREATE_FAILS(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "','transform':5}", INV, "transform");
}

/* ---- aliases (src/core/resource.c, the table "aliases") ---- */

#define CONN_IDS "'source_id':'" SRC_ID "','destination_id':'" DST_ID "'"
#define KAFKA_MIN "'cluster_id':'lkc-1','topic':'t'"

/* Every entry of the table: the alias alone, in a body that is otherwise
 * valid, lands at its canonical path with the canonical value, and the
 * alias itself is gone. */
static void test_alias_table(void **state) {
    (void)state;
    static const struct {
        hs_kind kind;
        const char *body, *alias, *path, *want;
    } rows[] = {
        {DST, "{'name':'x','provider_config':" HTTP_CFG "}", "provider_config", "config.url",
         "'https://example.com/hook'"},
        {DST, "{'name':'x','url':'http://h.example/a'}", "url", "config.url", "'http://h.example/a'"},
        {DST, "{'name':'x','url':'http://h/a','method':'PUT'}", "method", "config.method", "'PUT'"},
        {DST, "{'name':'x','url':'http://h/a','headers':{'X-A':'1'}}", "headers", "config.headers", "{'X-A':'1'}"},
        {DST, "{'name':'x','url':'http://h/a','timeout_ms':1500}", "timeout_ms", "config.timeout_ms", "1500"},
        {DST, "{'name':'x','url':'http://h/a','timeout':7}", "timeout", "config.timeout_ms", "7000"},
        {DST, "{'name':'x','url':'http://h/a','timeout':2.5}", "timeout", "config.timeout_ms", "2500"},
        {DST, "{'name':'x','url':'http://h/a','auth_type':'bearer','auth_config':{'token':'tok-123456'}}",
         "auth_config", "config.auth", "{'type':'bearer','token':'tok-123456'}"},
        {DST, "{'name':'x','url':'http://h/a','auth_type':'none'}", "auth_type", "config.auth.type", "'none'"},
        {DST,
         "{'name':'x','type':'kafka','config':{'bootstrap_servers':'pkc-1.eu.confluent.cloud:9092'," KAFKA_MIN "}}",
         "config.bootstrap_servers", "config.rest_url", "'https://pkc-1.eu.confluent.cloud:443/kafka'"},
        {DST, "{'name':'x','url':'http://h/a','max_retries':2}", "max_retries", "retry_policy.max_retries", "2"},
        {DST, "{'name':'x','url':'http://h/a','backoff_type':'fixed'}", "backoff_type", "retry_policy.backoff_type",
         "'fixed'"},
        {DST, "{'name':'x','url':'http://h/a','intervals':[4,5]}", "intervals", "retry_policy.intervals", "[4,5]"},
        {DST, "{'name':'x','url':'http://h/a','retry_max_attempts':3}", "retry_max_attempts",
         "retry_policy.max_retries", "3"},
        {DST, "{'name':'x','url':'http://h/a','retry_backoff_type':'linear'}", "retry_backoff_type",
         "retry_policy.backoff_type", "'linear'"},
        {DST, "{'name':'x','url':'http://h/a','retry_intervals':[6]}", "retry_intervals", "retry_policy.intervals",
         "[6]"},
        {DST, "{'name':'x','url':'http://h/a','retry_enabled':false}", "retry_enabled", "retry_policy.max_retries",
         "0"},
        {DST, "{'name':'x','url':'http://h/a','retry_enabled':true}", "retry_enabled", "retry_policy.max_retries", "5"},
        {DST, "{'name':'x','url':'http://h/a','circuit_breaker_enabled':false}", "circuit_breaker_enabled",
         "circuit_breaker.enabled", "false"},
        {DST, "{'name':'x','url':'http://h/a','circuit_breaker_threshold':9}", "circuit_breaker_threshold",
         "circuit_breaker.threshold", "9"},
        {DST, "{'name':'x','url':'http://h/a','circuit_breaker_reset_ms':5000}", "circuit_breaker_reset_ms",
         "circuit_breaker.cooldown_ms", "5000"},
        {DST, "{'name':'x','url':'http://h/a','signing_config':{'secret':'0123456789abcdef'}}", "signing_config",
         "signing.secret", "'0123456789abcdef'"},
        {DST, "{'name':'x','url':'http://h/a','org_id':'org_1'}", "org_id", "name", "'x'"},
        {DST, "{'name':'x','url':'http://h/a','env_id':7}", "env_id", "name", "'x'"},
        {SRC, "{'name':'x','org_id':'org_1','env_id':'env_1'}", "org_id", "name", "'x'"},
        {SRC, "{'name':'x','env_id':'env_1'}", "env_id", "name", "'x'"},
        {CONN, "{" CONN_IDS ",'org_id':'o','env_id':null}", "org_id", "enabled", "true"},
        {CONN, "{" CONN_IDS ",'transform_expression':'$.a'}", "transform_expression", "transform", "'$.a'"},
        {CONN, "{" CONN_IDS ",'transform_enabled':true,'transform':'$.b'}", "transform_enabled", "transform", "'$.b'"},
        {CONN, "{" CONN_IDS ",'transform_enabled':false}", "transform_enabled", "transform", "null"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *d = create_ok_at(rows[i].kind, rows[i].body, __LINE__);
        expect_at(d, rows[i].path, rows[i].want, __LINE__);
        if (get(d, rows[i].alias)) fail_msg("row %zu: %s is still in the doc", i, rows[i].alias);
        json_decref(d);
    }
}

/* An error's message contains want. */
static void expect_msg(const char *text, const json_t *cur, hs_kind kind, const char *field, const char *want,
                       int line) {
    hs_error err;
    json_t *body = J(text), *doc = NULL;
    hs_error_clear(&err);
    int rc = cur ? hs_resource_patch_doc(kind, cur, body, &doc, &err) : hs_resource_create_doc(kind, body, &doc, &err);
    json_decref(body);
    assert_int_equal(rc, err.code);
    expect_error(&err, doc, INV, field, line);
    if (!strstr(err.msg, want)) fail_msg("line %d: message '%s' lacks '%s'", line, err.msg, want);
}
#define CREATE_MSG(kind, text, field, want) expect_msg(text, NULL, kind, field, want, __LINE__)
#define PATCH_MSG(kind, cur, text, field, want) expect_msg(text, cur, kind, field, want, __LINE__)

/* Two names of one field: a 400 naming both, whatever the values. */
static void test_alias_conflicts(void **state) {
    (void)state;
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','config':{'url':'http://h/b'}}", "url", "config.url");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','config':{'url':'http://h/a'}}", "url", "config.url");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','provider_config':{'url':'http://h/a'}}", "url",
               "provider_config.url");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','timeout_ms':1000,'timeout':1}", "timeout", "timeout_ms");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','max_retries':1,'retry_max_attempts':2}", "retry_max_attempts",
               "max_retries");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','intervals':[1],'retry_policy':{'intervals':[2]}}", "intervals",
               "retry_policy.intervals");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','backoff_type':'fixed','retry_backoff_type':'linear'}",
               "retry_backoff_type", "backoff_type");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','circuit_breaker_threshold':3,'circuit_breaker':{'threshold':4}}",
               "circuit_breaker_threshold", "circuit_breaker.threshold");
    CREATE_MSG(DST,
               "{'name':'x','url':'http://h/a','signing':{'secret':'0123456789abcdef'},"
               "'signing_config':{'secret':'0123456789abcdef'}}",
               "signing_config", "signing");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','auth_type':'basic','auth_config':{'type':'bearer','token':'t'}}",
               "auth_type", "auth_config.type");
    CREATE_MSG(
        DST, "{'name':'x','type':'kafka','config':{'bootstrap_servers':'b:9092','rest_url':'https://b'," KAFKA_MIN "}}",
        "config.bootstrap_servers", "config.rest_url");
    CREATE_MSG(CONN, "{" CONN_IDS ",'transform':'$.a','transform_expression':'$.b'}", "transform_expression",
               "transform");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','max_retries':1,'retry_policy':'x'}", "max_retries",
               "retry_policy is not an object");
    /* switches may be given with their field when they agree */
    json_t *d =
        CREATE_OK(DST, "{'name':'x','url':'http://h/a','retry_enabled':false,'retry_policy':{'max_retries':0}}");
    EXPECT(d, "retry_policy.max_retries", "0");
    json_decref(d);
    d = CREATE_OK(DST, "{'name':'x','url':'http://h/a','retry_enabled':true,'retry_max_attempts':3}");
    EXPECT(d, "retry_policy.max_retries", "3");
    json_decref(d);
    d = CREATE_OK(CONN, "{" CONN_IDS ",'transform_enabled':false,'transform_expression':null}");
    EXPECT(d, "transform", "null");
    json_decref(d);
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','retry_enabled':false,'retry_max_attempts':3}", "retry_enabled",
               "retry_max_attempts 3");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','retry_enabled':true,'max_retries':0}", "retry_enabled",
               "max_retries 0");
    CREATE_MSG(CONN, "{" CONN_IDS ",'transform_enabled':false,'transform_expression':'$.a'}", "transform_enabled",
               "transform_expression");
}

/* An alias passes the canonical field's checks, and its errors say how it
 * was given; an alias's own value is checked where it is converted. */
static void test_alias_validation(void **state) {
    (void)state;
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','max_retries':21}", "retry_policy.max_retries",
               "given as max_retries");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','retry_intervals':[1,0]}", "retry_policy.intervals[1]",
               "given as retry_intervals[1]");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','timeout':0.05}", "config.timeout_ms", "given as timeout");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','timeout':301}", "config.timeout_ms", "300000");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','timeout':'30'}", "timeout", "a number of seconds");
    CREATE_MSG(DST, "{'name':'x','url':'ftp://h/a'}", "config.url", "given as url");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','method':'GET'}", "config.method", "given as method");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','headers':{'X-hookstream-Event-Id':'x'}}",
               "config.headers.X-hookstream-Event-Id", "given as headers.X-hookstream-Event-Id");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','circuit_breaker_reset_ms':10}", "circuit_breaker.cooldown_ms",
               "given as circuit_breaker_reset_ms");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','signing_config':{'secret':'short'}}", "signing.secret",
               "given as signing_config.secret");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','auth_type':'bearer'}", "config.auth.token", "");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','auth_type':'magic'}", "config.auth.type", "given as auth_type");
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','retry_enabled':'no'}", "retry_enabled", "a boolean");
    CREATE_MSG(CONN, "{" CONN_IDS ",'transform_enabled':0}", "transform_enabled", "a boolean");
    CREATE_MSG(CONN, "{" CONN_IDS ",'transform_expression':'(1 + '}", "transform", "given as transform_expression");
    /* unknown fields stay unknown */
    CREATE_MSG(DST, "{'name':'x','url':'http://h/a','retry_count':3}", "retry_count", "unknown field");
    CREATE_MSG(SRC, "{'name':'x','tenant_id':'t'}", "tenant_id", "unknown field");
    CREATE_MSG(CONN, "{" CONN_IDS ",'transform_on':true}", "transform_on", "unknown field");
    /* type-bound aliases */
    CREATE_MSG(DST, "{'name':'x','type':'kafka','url':'http://h/a','config':{'rest_url':'https://b'," KAFKA_MIN "}}",
               "url", "http destinations only (type is kafka)");
    CREATE_MSG(DST, "{'name':'x','type':'pigeon','url':'http://h/a'}", "url", "type is not valid");
    CREATE_MSG(DST, "{'name':'x','config':{'url':'http://h/a','bootstrap_servers':'b:9092'}}",
               "config.bootstrap_servers", "kafka destinations only");
    /* a masked secret and its rendering follow the canonical path */
    json_t *d = CREATE_OK(DST, "{'name':'x','url':'http://h/a','auth_type':'bearer','auth_config':{'token':'"
                               "abcdefghijkl9876'},'signing_config':{'secret':'0123456789abcdef'}}");
    json_t *r = hs_resource_render(DST, d);
    EXPECT(r, "config.auth.token", "'********9876'");
    EXPECT(r, "signing.secret", "'********cdef'");
    json_decref(r);
    json_decref(d);
}

static void test_alias_kafka_bootstrap(void **state) {
    (void)state;
    static const char *const ok[][2] = {
        {"b1.example.com:9092,b2.example.com:9092", "https://b1.example.com:443/kafka"},
        {" SASL_SSL://b1.example.com:9092", "https://b1.example.com:443/kafka"},
        {"broker", "https://broker:443/kafka"},
        {"[2001:db8::1]:9092", "https://[2001:db8::1]:443/kafka"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *body = hs_sprintf(
            "{'name':'x','type':'kafka','provider_config':{'bootstrap_servers':'%s'," KAFKA_MIN "}}", ok[i][0]);
        json_t *d = create_ok_at(DST, body, __LINE__);
        assert_string_equal(get_str(d, "config.rest_url"), ok[i][1]);
        ABSENT(d, "config.bootstrap_servers");
        json_decref(d);
        hs_free(body);
    }
    static const char *const bad[] = {"''", "':9092'", "'a/b:9092'", "'u@h:1'", "9092", "['b:9092']"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *body = hs_sprintf("{'name':'x','type':'kafka','config':{'bootstrap_servers':%s," KAFKA_MIN "}}", bad[i]);
        create_fails_at(DST, body, INV, "config.bootstrap_servers", __LINE__);
        hs_free(body);
    }
}

static void test_alias_patch(void **state) {
    (void)state;
    json_t *cur = stored(CREATE_OK(DST, "{'name':'x','url':'http://h/a','retry_max_attempts':3}"), DST_ID);
    /* retry_enabled: false is 0 retries; true keeps a count other than 0 */
    json_t *off = PATCH_OK(DST, cur, "{'retry_enabled':false}");
    EXPECT(off, "retry_policy.max_retries", "0");
    json_t *d = PATCH_OK(DST, cur, "{'retry_enabled':true}");
    EXPECT(d, "retry_policy.max_retries", "3");
    json_decref(d);
    /* ... and brings the default back after false */
    stored(off, DST_ID);
    d = PATCH_OK(DST, off, "{'retry_enabled':true}");
    EXPECT(d, "retry_policy.max_retries", "5");
    json_decref(d);
    d = PATCH_OK(DST, off, "{'retry_enabled':true,'max_retries':2}");
    EXPECT(d, "retry_policy.max_retries", "2");
    json_decref(d);
    PATCH_MSG(DST, off, "{'retry_enabled':true,'max_retries':0}", "retry_enabled", "contradicts");
    json_decref(off);
    /* null: back to the default */
    d = PATCH_OK(DST, cur, "{'max_retries':null,'timeout':null}");
    EXPECT(d, "retry_policy.max_retries", "5");
    EXPECT(d, "config.timeout_ms", "30000");
    json_decref(d);
    d = PATCH_OK(DST, cur,
                 "{'timeout':12,'url':'http://h/b','auth_type':'basic','auth_config':{'username':'u',"
                 "'password':'p'},'circuit_breaker_enabled':false,'org_id':'o'}");
    EXPECT(d, "config",
           "{'url':'http://h/b','method':'POST','headers':{},'timeout_ms':12000,'auth':{'type':'basic',"
           "'username':'u','password':'p'},'fail_on_graphql_errors':false}");
    EXPECT(d, "circuit_breaker.enabled", "false");
    json_decref(d);
    PATCH_MSG(DST, cur, "{'timeout':1000}", "config.timeout_ms", "given as timeout");
    PATCH_MSG(DST, cur, "{'circuit_breaker_threshold':0}", "circuit_breaker.threshold", "given as");
    PATCH_MSG(DST, cur, "{'retry_policy':null,'retry_intervals':[1]}", "retry_intervals", "not an object");
    /* a type change to kafka with its bootstrap servers */
    d = PATCH_OK(DST, cur, "{'type':'kafka','config':{'bootstrap_servers':'k:9092'," KAFKA_MIN "}}");
    EXPECT(d, "config.rest_url", "'https://k:443/kafka'");
    json_decref(d);
    PATCH_MSG(DST, cur, "{'type':'kafka','url':'http://h/c','config':{'rest_url':'https://k'," KAFKA_MIN "}}", "url",
              "http destinations only");
    json_decref(cur);

    /* a stored kafka destination takes bootstrap_servers in a patch */
    cur = stored(CREATE_OK(DST, "{'name':'k','type':'kafka','config':" KAFKA_CFG "}"), DST_ID);
    d = PATCH_OK(DST, cur, "{'config':{'bootstrap_servers':'k2:9092'}}");
    EXPECT(d, "config.rest_url", "'https://k2:443/kafka'");
    json_decref(d);
    PATCH_MSG(DST, cur, "{'timeout_ms':1000}", "timeout_ms", "http destinations only (type is kafka)");
    json_decref(cur);

    /* transform_enabled: false drops the connection's transform */
    cur = stored(CREATE_OK(CONN, "{" CONN_IDS ",'transform':'$.a'}"), "conn_0123456789abcdef0123456789abcdef");
    d = PATCH_OK(CONN, cur, "{'transform_enabled':false}");
    EXPECT(d, "transform", "null");
    json_decref(d);
    d = PATCH_OK(CONN, cur, "{'transform_enabled':true,'env_id':'e'}");
    EXPECT(d, "transform", "'$.a'");
    ABSENT(d, "env_id");
    json_decref(d);
    json_decref(cur);
}

/* ---- patch ---- */

static void test_patch_keeps_unpatched(void **state) {
    (void)state;
    json_t *cur = stored(DEST_OK("rabbitmq", RABBIT_CFG, NULL), DST_ID);
    json_t *d = PATCH_OK(DST, cur, "{'config':{'routing_key':'orders.created'},'status':'paused'}");
    EXPECT(d, "config.routing_key", "'orders.created'");
    EXPECT(d, "config.exchange", "'events'");
    EXPECT(d, "config.password", "'guest-password-long-1234'");
    EXPECT(d, "status", "'paused'");
    EXPECT(d, "id", "'" DST_ID "'");
    ABSENT(d, "created_at");
    ABSENT(d, "updated_at");
    json_decref(d);
    /* a nested partial patch keeps the sibling secret */
    json_decref(cur);
    cur = stored(DEST_OK("http", HTTP_CFG, "{'auth':{'type':'basic','username':'u','password':'pass-word-9876'}}"),
                 DST_ID);
    d = PATCH_OK(DST, cur, "{'config':{'auth':{'username':'v'}}}");
    EXPECT(d, "config.auth", "{'type':'basic','username':'v','password':'pass-word-9876'}");
    json_decref(d);
    json_decref(cur);
}

static void test_patch_null_restores_defaults(void **state) {
    (void)state;
    json_t *cur = stored(CREATE_OK(DST, "{'name':'x','description':'about','config':" HTTP_CFG
                                        ",'retry_policy':{'max_retries':2,'intervals':[5]},'max_concurrency':4,"
                                        "'signing':{'secret':'a-very-long-signing-secret'}}"),
                         DST_ID);
    json_t *d = PATCH_OK(DST, cur, "{'description':null,'retry_policy':null,'max_concurrency':null,'signing':null}");
    EXPECT(d, "description", "null");
    EXPECT(d, "retry_policy", "{'max_retries':5,'backoff_type':'exponential','intervals':[30,300,1800,7200,86400]}");
    EXPECT(d, "max_concurrency", "1");
    EXPECT(d, "signing", "null");
    json_decref(d);
    d = PATCH_OK(DST, cur, "{'retry_policy':{'intervals':null}}");
    EXPECT(d, "retry_policy", "{'max_retries':2,'backoff_type':'exponential','intervals':[30,300,1800,7200,86400]}");
    json_decref(d);
    /* a required field cannot be removed */
    PATCH_FAILS(DST, cur, "{'name':null}", INV, "name");
    PATCH_FAILS(DST, cur, "{'config':{'url':null}}", INV, "config.url");
    json_decref(cur);
    cur = stored(CREATE_OK(SRC, "{'name':'Stripe','slug':'stripe','description':'payments'}"), SRC_ID);
    d = PATCH_OK(SRC, cur, "{'status':'paused','description':null,'slug':null}");
    EXPECT(d, "status", "'paused'");
    EXPECT(d, "description", "null");
    EXPECT(d, "slug", "null");
    EXPECT(d, "name", "'Stripe'");
    json_decref(d);
    json_decref(cur);
}

static void test_patch_rejects(void **state) {
    (void)state;
    json_t *cur = stored(CREATE_OK(SRC, "{'name':'Stripe'}"), SRC_ID);
    PATCH_FAILS(SRC, cur, "{'id':'src_00000000000000000000000000000000'}", INV, "id");
    PATCH_FAILS(SRC, cur, "{'created_at':null}", INV, "created_at");
    PATCH_FAILS(SRC, cur, "{'updated_at':'2025-01-01T00:00:00Z'}", INV, "updated_at");
    PATCH_FAILS(SRC, cur, "{'colour':'red'}", INV, "colour");
    PATCH_FAILS(SRC, cur, "{'status':'sleeping'}", INV, "status");
    PATCH_FAILS(SRC, cur, "[]", INV, "");
    json_t *d = PATCH_OK(SRC, cur, "{}");
    EXPECT(d, "name", "'Stripe'");
    EXPECT(d, "id", "'" SRC_ID "'");
    json_decref(d);
    json_decref(cur);
    cur = stored(DEST_OK("rabbitmq", RABBIT_CFG, NULL), DST_ID);
    PATCH_FAILS(DST, cur, "{'config':{'exchange':5}}", INV, "config.exchange");
    PATCH_FAILS(DST, cur, "{'template':'slack'}", INV, "template");
    PATCH_FAILS(DST, cur, "{'template_inputs':{'a':'b'}}", INV, "template_inputs");
    json_decref(cur);
    cur = stored(CREATE_OK(CONN, "{'source_id':'" SRC_ID "','destination_id':'" DST_ID "'}"),
                 "conn_0123456789abcdef0123456789abcdef");
    PATCH_FAILS(CONN, cur, "{'filter_rules':[{'a':1}]}", INV, "filter_rules[0].a");
    PATCH_FAILS(CONN, cur, "{'transform_expression':'$['}", INV, "transform");
    d = PATCH_OK(CONN, cur, "{'enabled':false,'name':'n'}");
    EXPECT(d, "enabled", "false");
    EXPECT(d, "source_id", "'" SRC_ID "'");
    json_decref(d);
    json_decref(cur);
}

static void test_patch_type_change(void **state) {
    (void)state;
    json_t *cur = stored(DEST_OK("rabbitmq", RABBIT_CFG, NULL), DST_ID);
    PATCH_FAILS(DST, cur, "{'type':'websocket'}", INV, "config");
    PATCH_FAILS(DST, cur, "{'type':'websocket','config':null}", INV, "config");
    PATCH_FAILS(DST, cur, "{'type':null}", INV, "config"); /* back to http */
    /* with a whole config: the new config replaces the old one */
    json_t *d = PATCH_OK(DST, cur, "{'type':'websocket','config':{'channel_name':'x'}}");
    EXPECT(d, "type", "'websocket'");
    EXPECT(d, "config", "{'channel_name':'x'}");
    json_decref(d);
    /* the same type, spelled as an alias, is not a change */
    json_decref(cur);
    cur = stored(DEST_OK("aws_sqs", SQS_CFG, NULL), DST_ID);
    d = PATCH_OK(DST, cur, "{'type':'sqs'}");
    EXPECT(d, "type", "'aws_sqs'");
    EXPECT(d, "config.region", "'us-east-1'");
    json_decref(d);
    d = PATCH_OK(DST, cur, "{'type':'s3','provider_config':" S3_CFG "}");
    EXPECT(d, "type", "'aws_s3'");
    ABSENT(d, "config.queue_url");
    json_decref(d);
    PATCH_FAILS(DST, cur, "{'type':'nope'}", INV, "type");
    json_decref(cur);
}

static void test_patch_aliases(void **state) {
    (void)state;
    json_t *cur = stored(CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'retry_policy':{'max_retries':2}}"), DST_ID);
    json_t *d = PATCH_OK(DST, cur, "{'retry_intervals':[7,8],'provider_config':{'timeout_ms':1000}}");
    EXPECT(d, "retry_policy", "{'max_retries':2,'backoff_type':'exponential','intervals':[7,8]}");
    EXPECT(d, "config.timeout_ms", "1000");
    EXPECT(d, "config.url", "'https://example.com/hook'");
    json_decref(d);
    d = PATCH_OK(DST, cur, "{'retry_max_attempts':null}");
    EXPECT(d, "retry_policy.max_retries", "5");
    json_decref(d);
    PATCH_FAILS(DST, cur, "{'retry_max_attempts':1,'retry_policy':{'max_retries':1}}", INV, "retry_max_attempts");
    PATCH_FAILS(DST, cur, "{'config':{},'provider_config':{}}", INV, "provider_config");
    PATCH_FAILS(DST, cur, "{'retry_intervals':[1,0]}", INV, "retry_policy.intervals[1]");
    json_decref(cur);
}

static void test_patch_masked_roundtrip(void **state) {
    (void)state;
    json_t *cur = stored(CREATE_OK(DST, "{'name':'x','config':{'url':'https://example.com/h','auth':{'type':'bearer',"
                                        "'token':'tok_abcdefghijklmnop1234'}},"
                                        "'signing':{'secret':'a-very-long-signing-secret'}}"),
                         DST_ID);
    /* what a client read, sent back whole with one change */
    json_t *shown = hs_resource_render(DST, cur);
    json_object_del(shown, "id");
    json_object_del(shown, "created_at");
    json_object_del(shown, "updated_at");
    json_object_set_new(shown, "name", json_string("renamed"));
    json_t *d = NULL;
    hs_error err;
    assert_int_equal(hs_resource_patch_doc(DST, cur, shown, &d, &err), HS_OK);
    EXPECT(d, "name", "'renamed'");
    EXPECT(d, "config.auth.token", "'tok_abcdefghijklmnop1234'");
    EXPECT(d, "signing.secret", "'a-very-long-signing-secret'");
    json_decref(d);
    json_decref(shown);
    /* a new secret replaces the old one */
    d = PATCH_OK(DST, cur, "{'config':{'auth':{'token':'tok_new_value_000000'}}}");
    EXPECT(d, "config.auth.token", "'tok_new_value_000000'");
    json_decref(d);
    /* a mask that is not the current secret's is refused */
    PATCH_FAILS(DST, cur, "{'config':{'auth':{'token':'********0000'}}}", INV, "config.auth.token");
    json_decref(cur);
}

static void test_patch_derived_defaults(void **state) {
    (void)state;
    json_t *cur = stored(
        CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG ",'signing':{'secret':'a-very-long-signing-secret'}}"), DST_ID);
    json_t *d = PATCH_OK(DST, cur, "{'signing':{'algorithm':'sha1'}}");
    EXPECT(d, "signing.prefix", "'sha1='");
    json_decref(d);
    json_decref(cur);
    /* an explicit prefix stays */
    cur = stored(CREATE_OK(DST, "{'name':'x','config':" HTTP_CFG
                                ",'signing':{'secret':'a-very-long-signing-secret','prefix':'v1='}}"),
                 DST_ID);
    d = PATCH_OK(DST, cur, "{'signing':{'algorithm':'sha1'}}");
    EXPECT(d, "signing.prefix", "'v1='");
    json_decref(d);
    json_decref(cur);
    /* force_path_style follows endpoint unless it was set otherwise */
    cur = stored(DEST_OK("aws_s3", S3_CFG, NULL), DST_ID);
    d = PATCH_OK(DST, cur, "{'config':{'endpoint':'http://127.0.0.1:4568'}}");
    EXPECT(d, "config.force_path_style", "true");
    json_t *back = PATCH_OK(DST, stored(d, DST_ID), "{'config':{'endpoint':null}}");
    EXPECT(back, "config.force_path_style", "false");
    json_decref(back);
    json_decref(d);
    d = PATCH_OK(DST, cur, "{'config':{'force_path_style':true}}");
    back = PATCH_OK(DST, stored(d, DST_ID), "{'config':{'prefix':'x/'}}");
    EXPECT(back, "config.force_path_style", "true");
    json_decref(back);
    json_decref(d);
    json_decref(cur);
}

static void test_patch_auth_switch(void **state) {
    (void)state;
    json_t *cur = stored(
        DEST_OK("http", HTTP_CFG, "{'auth':{'type':'basic','username':'u','password':'pass-word-9876'}}"), DST_ID);
    /* another auth type replaces auth: the basic settings do not linger */
    json_t *d = PATCH_OK(DST, cur, "{'config':{'auth':{'type':'bearer','token':'tok_abcdefghijklmnop1234'}}}");
    EXPECT(d, "config.auth", "{'type':'bearer','token':'tok_abcdefghijklmnop1234'}");
    json_decref(d);
    d = PATCH_OK(DST, cur, "{'config':{'auth':{'type':null}}}");
    EXPECT(d, "config.auth", "{'type':'none'}");
    json_decref(d);
    PATCH_FAILS(DST, cur, "{'config':{'auth':{'type':'bearer'}}}", INV, "config.auth.token");
    /* the same type merges */
    d = PATCH_OK(DST, cur, "{'config':{'auth':{'type':'basic','password':'another-password'}}}");
    EXPECT(d, "config.auth", "{'type':'basic','username':'u','password':'another-password'}");
    json_decref(d);
    json_decref(cur);
}

static void test_patch_current_untouched(void **state) {
    (void)state;
    json_t *cur =
        stored(DEST_OK("http", HTTP_CFG, "{'auth':{'type':'bearer','token':'tok_abcdefghijklmnop1234'}}"), DST_ID);
    json_t *copy = json_deep_copy(cur);
    json_t *d = PATCH_OK(DST, cur, "{'config':{'auth':null},'signing':{'secret':'a-very-long-signing-secret'}}");
    EXPECT(d, "config.auth", "{'type':'none'}");
    assert_true(json_equal(cur, copy));
    json_decref(d);
    PATCH_FAILS(DST, cur, "{'config':{'url':'nope'}}", INV, "config.url");
    assert_true(json_equal(cur, copy));
    json_decref(copy);
    json_decref(cur);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_mask_secret),
        cmocka_unit_test(test_provider_table),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_merge_patch_rfc7386),
        cmocka_unit_test(test_source_defaults),
        cmocka_unit_test(test_source_json_schema),
        cmocka_unit_test(test_source_name_rules),
        cmocka_unit_test(test_source_field_rules),
        cmocka_unit_test(test_source_ip_lists),
        cmocka_unit_test(test_source_rate_limit),
        cmocka_unit_test(test_unknown_and_later_fields),
        cmocka_unit_test(test_source_dedup),
        cmocka_unit_test(test_read_only_fields),
        cmocka_unit_test(test_body_not_object),
        cmocka_unit_test(test_destination_defaults),
        cmocka_unit_test(test_type_aliases),
        cmocka_unit_test(test_provider_config_alias),
        cmocka_unit_test(test_retry_policy),
        cmocka_unit_test(test_retry_flat_aliases),
        cmocka_unit_test(test_circuit_breaker),
        cmocka_unit_test(test_concurrency_and_ordering),
        cmocka_unit_test(test_signing_defaults),
        cmocka_unit_test(test_signing_rules),
        cmocka_unit_test(test_signing_standard_webhooks),
        cmocka_unit_test(test_signing_previous_secret),
        cmocka_unit_test(test_signing_masked),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_http_url),
        cmocka_unit_test(test_http_method_timeout),
        cmocka_unit_test(test_http_headers),
        cmocka_unit_test(test_http_auth),
        cmocka_unit_test(test_http_masking),
        cmocka_unit_test(test_http_secret_headers),
        cmocka_unit_test(test_header_secret_rule),
        cmocka_unit_test(test_aws_sqs),
        cmocka_unit_test(test_aws_s3),
        cmocka_unit_test(test_aws_eventbridge),
        cmocka_unit_test(test_aws_masking),
        cmocka_unit_test(test_pubsub_key_file),
        cmocka_unit_test(test_pubsub_ids),
        cmocka_unit_test(test_kafka),
        cmocka_unit_test(test_rabbitmq),
        cmocka_unit_test(test_websocket),
        cmocka_unit_test(test_connection_defaults),
        cmocka_unit_test(test_connection_ids),
        cmocka_unit_test(test_connection_filters_transforms),
        cmocka_unit_test(test_alias_table),
        cmocka_unit_test(test_alias_conflicts),
        cmocka_unit_test(test_alias_validation),
        cmocka_unit_test(test_alias_kafka_bootstrap),
        cmocka_unit_test(test_alias_patch),
        cmocka_unit_test(test_patch_keeps_unpatched),
        cmocka_unit_test(test_patch_null_restores_defaults),
        cmocka_unit_test(test_patch_rejects),
        cmocka_unit_test(test_patch_type_change),
        cmocka_unit_test(test_patch_aliases),
        cmocka_unit_test(test_patch_masked_roundtrip),
        cmocka_unit_test(test_patch_derived_defaults),
        cmocka_unit_test(test_patch_auth_switch),
        cmocka_unit_test(test_patch_current_untouched),
    };
    hs_alloc_init_json();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
