/* test_verify.c — sender signature schemes (src/verify/): each against a
 * vector from the sender's documentation or library, tampered, stale and
 * malformed; the tables' consistency; secret checks; and the source fields'
 * validation (src/core/resource.c) that feeds hs_verifier_new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "verify/verify.h"

#define MAX_HEADERS 8

typedef struct request {
    hs_http_header h[MAX_HEADERS];
    hs_http_req req;
} request;

/* A request with body and headers given as name, value, ..., NULL. */
static void make(request *r, const char *target, const char *body, ...) {
    memset(r, 0, sizeof *r);
    va_list ap;
    va_start(ap, body);
    size_t n = 0;
    for (const char *name; n < MAX_HEADERS && (name = va_arg(ap, const char *));) {
        r->h[n].name = (char *)name;
        r->h[n].value = va_arg(ap, char *);
        n++;
    }
    va_end(ap);
    r->req.method = "POST";
    r->req.target = target;
    r->req.path = target;
    r->req.query = "";
    r->req.headers = r->h;
    r->req.nheaders = n;
    r->req.body = body;
    r->req.body_len = strlen(body);
    r->req.remote_ip = "127.0.0.1";
}

/* The verifier of a source created from JSON text (single quotes). */
static hs_verifier *source(const char *text) {
    json_t *body = J(text), *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (hs_resource_create_doc(HS_KIND_SOURCE, body, &doc, &err) != HS_OK)
        fail_msg("%s refused: %s: %s", text, err.field, err.msg);
    hs_verifier *v = hs_verifier_new(doc);
    json_decref(body);
    json_decref(doc);
    return v;
}

static hs_verify_status run(hs_verifier *v, request *r, int64_t now, hs_verify_outcome *o) {
    hs_verifier_run(v, &r->req, now, o);
    return o->status;
}

static void test_stripe(void **state) {
    (void)state;
    /* stripe.webhooks.generateTestHeaderString({payload:'{}', secret:'whsec_abc', timestamp:123}) */
    hs_verifier *v = source("{'name':'s','template':'stripe','verification_secret':'whsec_abc'}");
    assert_non_null(v);
    const char *sig = "t=123,v1=cd510ea16ef3b8f9ffa7b93293ada8524f124282c9add9ffc01280131c645deb";
    request r;
    hs_verify_outcome o;
    make(&r, "/", "{}", "Stripe-Signature", sig, NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_PASS);
    assert_int_equal(run(v, &r, 123 + 300, &o), HS_VERIFY_PASS);
    assert_int_equal(run(v, &r, 123 + 301, &o), HS_VERIFY_STALE);
    assert_non_null(strstr(o.message, "300 s"));
    make(&r, "/", "{ }", "Stripe-Signature", sig, NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_MISMATCH);
    assert_null(strstr(o.message, "cd510ea1"));
    /* another signature first, ours second; v0 ignored; spaces tolerated */
    make(&r, "/", "{}", "stripe-signature",
         "t=123, v0=00, v1=0000000000000000000000000000000000000000000000000000000000000000, "
         "v1=cd510ea16ef3b8f9ffa7b93293ada8524f124282c9add9ffc01280131c645deb",
         NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_PASS);
    make(&r, "/", "{}", NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_MISSING);
    assert_string_equal(o.message, "signature verification failed: missing header Stripe-Signature");
    make(&r, "/", "{}", "Stripe-Signature", "v1=abc", NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_MALFORMED);
    make(&r, "/", "{}", "Stripe-Signature", "t=12x,v1=abc", NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_MALFORMED);
    make(&r, "/", "{}", "Stripe-Signature", "t=123", NULL);
    assert_int_equal(run(v, &r, 123, &o), HS_VERIFY_MALFORMED);
    hs_verifier_unref(v);
}

static void test_github(void **state) {
    (void)state;
    /* @octokit/webhooks-methods sign('s', '{}'); the rotated-out secret first */
    hs_verifier *v = source("{'name':'g','template':'github','verification_secret':'new',"
                            "'verification_secrets':['s']}");
    const char *sig = "sha256=143ca8d517ba1b181025d732b1cf275d90104fca57bb02a565542978aa18c4b6";
    request r;
    hs_verify_outcome o;
    make(&r, "/", "{}", "X-Hub-Signature-256", sig, NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_PASS);
    make(&r, "/", "{}", "X-Hub-Signature-256", sig + 7, NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_MALFORMED);
    make(&r, "/", "{}", "X-Hub-Signature-256", "sha256=XYZ", NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_MALFORMED);
    make(&r, "/", "[]", "X-Hub-Signature-256", sig, NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_MISMATCH);
    /* upper-case hex is the same signature */
    make(&r, "/", "{}", "X-Hub-Signature-256",
         "sha256=143CA8D517BA1B181025D732B1CF275D90104FCA57BB02A565542978AA18C4B6", NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_PASS);
    hs_verifier_unref(v);
}

static void test_svix(void **state) {
    (void)state;
    /* Svix's documented example */
    hs_verifier *v =
        source("{'name':'x','template':'svix','verification_secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}");
    const char *body = "{\"test\": 2432232314}";
    request r;
    hs_verify_outcome o;
    make(&r, "/", body, "svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp", "1614265330", "svix-signature",
         "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL);
    assert_int_equal(run(v, &r, 1614265330, &o), HS_VERIFY_PASS);
    assert_int_equal(run(v, &r, 1614265330 + 301, &o), HS_VERIFY_STALE);
    /* the webhook-* family works for svix too */
    make(&r, "/", body, "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330",
         "webhook-signature", "v1a,xx v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL);
    assert_int_equal(run(v, &r, 1614265330, &o), HS_VERIFY_PASS);
    make(&r, "/", body, "svix-id", "msg_other", "svix-timestamp", "1614265330", "svix-signature",
         "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", NULL);
    assert_int_equal(run(v, &r, 1614265330, &o), HS_VERIFY_MISMATCH);
    make(&r, "/", body, "svix-id", "msg_x", "svix-signature", "v1,AA==", NULL);
    assert_int_equal(run(v, &r, 1614265330, &o), HS_VERIFY_MISSING);
    assert_non_null(strstr(o.message, "svix-timestamp"));
    hs_verifier_unref(v);
}

static void test_twilio(void **state) {
    (void)state;
    /* Twilio's documented example: auth token 12345 */
    hs_verifier *v = source("{'name':'t','template':'twilio','verification_secret':'12345'}");
    const char *form =
        "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
    request r;
    hs_verify_outcome o;
    make(&r, "/myapp.php?foo=1&bar=2", form, "Host", "mycompany.com", "X-Twilio-Signature",
         "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "Content-Type", "application/x-www-form-urlencoded", NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_PASS);
    make(&r, "/myapp.php?foo=1&bar=2", form, "Host", "mycompany.com", "X-Twilio-Signature",
         "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "Content-Type", "application/x-www-form-urlencoded", "X-Forwarded-Proto",
         "http", NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_MISMATCH); /* the proxy says http: not the URL Twilio signed */
    make(&r, "/myapp.php?foo=1&bar=2", "CallSid=CA1234567890ABCDE", "Host", "mycompany.com", "X-Twilio-Signature",
         "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "Content-Type", "application/x-www-form-urlencoded", NULL);
    assert_int_equal(run(v, &r, 0, &o), HS_VERIFY_MISMATCH);
    hs_verifier_unref(v);
}

static void test_sendgrid(void **state) {
    (void)state;
    /* SendGrid's own library's test vector */
    hs_verifier *v = source("{'name':'sg','template':'sendgrid','verification_secret':"
                            "'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+"
                            "u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=='}");
    const char *body = "{\"category\":\"example_payload\",\"event\":\"test_event\",\"message_id\":\"message_id\"}";
    const char *sig =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    request r;
    hs_verify_outcome o;
    make(&r, "/", body, "X-Twilio-Email-Event-Webhook-Signature", sig, "X-Twilio-Email-Event-Webhook-Timestamp",
         "1588788367", NULL);
    assert_int_equal(run(v, &r, 1588788367, &o), HS_VERIFY_PASS);
    assert_int_equal(run(v, &r, 1588788367 + 3600, &o), HS_VERIFY_STALE);
    make(&r, "/", body, "X-Twilio-Email-Event-Webhook-Signature", sig, "X-Twilio-Email-Event-Webhook-Timestamp",
         "1588788368", NULL);
    assert_int_equal(run(v, &r, 1588788367, &o), HS_VERIFY_MISMATCH);
    hs_verifier_unref(v);
}

static void test_slack_paddle(void **state) {
    (void)state;
    /* the secret and body of Slack's example, the signature from node's crypto */
    hs_verifier *v =
        source("{'name':'sl','template':'slack','verification_secret':'8f742231b10e8888abcd99yyyzzz85a5'}");
    const char *body =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZR"
        "skXiBeJu&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    request r;
    hs_verify_outcome o;
    make(&r, "/", body, "X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature",
         "v0=be6fb558b8c8c0f9b6f14a238c71c669fff6f7d5483f7cecc2eb7eddaabdb9d8", NULL);
    assert_int_equal(run(v, &r, 1531420618, &o), HS_VERIFY_PASS);
    assert_int_equal(run(v, &r, 1531420618 + 301, &o), HS_VERIFY_STALE);
    hs_verifier_unref(v);
    /* Paddle: 5 s unless the source says otherwise */
    v = source("{'name':'p','template':'paddle','verification_secret':'k','verification_config':{'tolerance_s':0}}");
    make(&r, "/", "{}", "Paddle-Signature", "ts=1;h1=00", NULL);
    assert_int_equal(run(v, &r, 1000000, &o), HS_VERIFY_MISMATCH); /* no tolerance: the signature decides */
    make(&r, "/", "{}", "Paddle-Signature", "h1=00", NULL);
    assert_int_equal(run(v, &r, 1000000, &o), HS_VERIFY_MALFORMED);
    assert_non_null(strstr(o.message, "no ts= timestamp"));
    hs_verifier_unref(v);
}

static void test_off(void **state) {
    (void)state;
    assert_null(source("{'name':'a'}"));
    assert_null(source("{'name':'a','template':'postmark'}"));
    assert_null(source("{'name':'a','template':'github','verification_secret':'x','verification_enabled':false}"));
    hs_verifier *v = source("{'name':'a','template':'github','verification_secret':'x'}");
    assert_non_null(v);
    assert_ptr_equal(hs_verifier_ref(v), v);
    hs_verifier_unref(v);
    hs_verifier_unref(v);
}

static void test_tables(void **state) {
    (void)state;
    size_t n = 0;
    for (const hs_verify_template *const *t = hs_verify_templates(); *t; t++, n++) {
        const hs_verify_scheme *s = hs_verify_scheme_find((*t)->type);
        if (!s) fail_msg("template %s names no scheme %s", (*t)->name, (*t)->type);
        json_t *j = hs_verify_template_json(*t);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "name")), (*t)->name);
        json_decref(j);
    }
    assert_int_equal(n, 15);
    assert_null(hs_verify_scheme_find("md5"));
    assert_null(hs_verify_scheme_find(NULL));
    assert_string_equal(hs_verify_status_reason(HS_VERIFY_STALE), "timestamp_stale");
    char why[160] = "";
    assert_true(hs_verify_secret_ok(HS_VERIFY_KEY_WHSEC, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", why, sizeof why));
    assert_true(hs_verify_secret_ok(HS_VERIFY_KEY_WHSEC, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", why, sizeof why));
    assert_false(hs_verify_secret_ok(HS_VERIFY_KEY_WHSEC, "whsec_c2hvcnQ=", why, sizeof why)); /* 5 bytes */
    assert_false(hs_verify_secret_ok(HS_VERIFY_KEY_EC_P256, "bm9wZQ==", why, sizeof why));
    assert_false(hs_verify_secret_ok(HS_VERIFY_KEY_BASIC, "nocolon", why, sizeof why));
    assert_true(hs_verify_secret_ok(HS_VERIFY_KEY_BASIC, "u:p", why, sizeof why));
}

/* The source fields' validation, each with the field named. */
static void test_fields(void **state) {
    (void)state;
    static const struct {
        const char *body, *field;
    } bad[] = {
        {"{'name':'a','template':'x'}", "template"},
        {"{'name':'a','verification_enabled':true}", "verification_type"},
        {"{'name':'a','template':'stripe'}", "verification_secret"},
        {"{'name':'a','template':'stripe','verification_secret':'s','verification_header':'a b'}",
         "verification_header"},
        {"{'name':'a','template':'resend','verification_secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',"
         "'verification_header':'X'}",
         "verification_header"},
        {"{'name':'a','template':'slack','verification_secret':'s','verification_config':{'prefix':'v1='}}",
         "verification_config.prefix"},
        {"{'name':'a','template':'typeform','verification_secret':'s','verification_config':{'tolerance_s':5}}",
         "verification_config.tolerance_s"},
        {"{'name':'a','template':'github','verification_secret':'s','verification_secrets':['a',1]}",
         "verification_secrets[1]"},
        {"{'name':'a','template':'svix','verification_secret':'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',"
         "'verification_secrets':['nope']}",
         "verification_secrets[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = J(bad[i].body), *doc = NULL;
        hs_error err;
        hs_error_clear(&err);
        int rc = hs_resource_create_doc(HS_KIND_SOURCE, body, &doc, &err);
        if (rc != HS_ERR_INVALID) fail_msg("%s: accepted", bad[i].body);
        if (strcmp(err.field, bad[i].field) != 0)
            fail_msg("%s: %s (%s), not %s", bad[i].body, err.field, err.msg, bad[i].field);
        json_decref(body);
    }
    /* rendering masks every secret, the list's too */
    json_t *body = J("{'name':'a','template':'github','verification_secret':'abcdefghijklmnop',"
                     "'verification_secrets':['qrstuvwxyz123456','short']}"),
           *doc = NULL;
    assert_int_equal(hs_resource_create_doc(HS_KIND_SOURCE, body, &doc, NULL), HS_OK);
    json_t *shown = hs_resource_render(HS_KIND_SOURCE, doc);
    assert_string_equal(json_string_value(json_object_get(shown, "verification_secret")), "********mnop");
    json_t *list = json_object_get(shown, "verification_secrets");
    assert_string_equal(json_string_value(json_array_get(list, 0)), "********3456");
    assert_string_equal(json_string_value(json_array_get(list, 1)), "********");
    json_decref(shown);
    json_decref(body);
    json_decref(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stripe), cmocka_unit_test(test_github),   cmocka_unit_test(test_svix),
        cmocka_unit_test(test_twilio), cmocka_unit_test(test_sendgrid), cmocka_unit_test(test_slack_paddle),
        cmocka_unit_test(test_off),    cmocka_unit_test(test_tables),   cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
