/* Unit tests for src/ops/: the error type of a failed attempt, what a
 * notice becomes on each channel type (Slack's text, Discord's content cut
 * to 2000 UTF-16 units, the webhook's body and signature, an e-mail's
 * headers), channels' and alert rules' validation, a secret sealed and
 * masked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/digest.h"
#include "base/id.h"
#include "ops/alerts.h"
#include "ops/channels.h"
#include "ops/issues.h"
#include "test_util.h"

static void test_error_types(void **state) {
    (void)state;
    hs_attempt_rec a = {.response_status = 503};
    assert_string_equal(hs_issue_error_type(&a, "http"), "http_5xx");
    a.response_status = 410;
    assert_string_equal(hs_issue_error_type(&a, "http"), "http_4xx");
    a.response_status = 302;
    assert_string_equal(hs_issue_error_type(&a, "http"), "provider");
    a.response_status = 0;
    a.error = "timed out after 1000 ms";
    assert_string_equal(hs_issue_error_type(&a, "http"), "timeout");
    a.error = "connection refused";
    assert_string_equal(hs_issue_error_type(&a, "http"), "connection");
    assert_string_equal(hs_issue_error_type(&a, "aws_sqs"), "provider");
}

static json_t *channel(const char *text) {
    json_t *body = J(text), *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_channel_create_doc(body, &doc, &err);
    json_decref(body);
    if (rc) fail_msg("channel refused at '%s': %s", err.field, err.msg);
    return doc;
}

static void message(const json_t *doc, const hs_notice *n, hs_out_req **req, char **mail) {
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_channel_message(doc, n, "alerts@example.com", 1700000000000ULL, req, mail, &err), HS_OK);
}

static void test_messages(void **state) {
    (void)state;
    /* a long text with characters beyond U+FFFF: Discord's content stays
     * within 2000 UTF-16 units, Slack's text is whole */
    char text[9000];
    for (int i = 0; i < 1500; i++) memcpy(text + 5 * i, "a\xF0\x9F\x94\xA5", 5); /* "a🔥" */
    text[5 * 1500] = '\0';
    hs_notice n = {.type = "alert.firing", .title = "Alert firing: x", .text = text};
    hs_out_req *req;
    char *mail;
    json_t *d =
        channel("{'name':'d','channel_type':'discord','config':{'url':'https://discord.example/api/webhooks/1'}}");
    message(d, &n, &req, &mail);
    assert_null(mail);
    assert_string_equal(hs_out_req_header(req, "Content-Type"), "application/json");
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    const char *content = json_string_value(json_object_get(body, "content"));
    size_t units = 0;
    for (const unsigned char *p = (const unsigned char *)content; *p; p++)
        if ((*p & 0xC0) != 0x80) units += (*p & 0xF8) == 0xF0 ? 2 : 1;
    assert_true(units <= HS_DISCORD_CONTENT_MAX && units >= HS_DISCORD_CONTENT_MAX - 2);
    json_decref(body);
    hs_out_req_free(req);
    hs_free(req);
    json_decref(d);

    json_t *s =
        channel("{'name':'s','channel_type':'slack','config':{'url':'https://hooks.slack.example/services/x'}}");
    message(s, &n, &req, &mail);
    body = json_loadb(req->body, req->body_len, 0, NULL);
    assert_true(strstr(json_string_value(json_object_get(body, "text")), text) != NULL);
    json_decref(body);
    hs_out_req_free(req);
    hs_free(req);
    /* Slack's formatting characters escaped; Discord pings nobody */
    hs_notice odd = {.type = "test", .title = "t", .text = "<!channel> a & b > c @everyone"};
    message(s, &odd, &req, &mail);
    body = json_loadb(req->body, req->body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "text")),
                        "t\n\n&lt;!channel&gt; a &amp; b &gt; c @everyone");
    json_decref(body);
    hs_out_req_free(req);
    hs_free(req);
    json_decref(s);
    json_t *d2 =
        channel("{'name':'d','channel_type':'discord','config':{'url':'https://discord.example/api/webhooks/1'}}");
    message(d2, &odd, &req, &mail);
    body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *parse = json_object_get(json_object_get(body, "allowed_mentions"), "parse");
    assert_true(json_is_array(parse) && json_array_size(parse) == 0);
    json_decref(body);
    hs_out_req_free(req);
    hs_free(req);
    json_decref(d2);

    /* the webhook's body, signed with its secret */
    json_t *w =
        channel("{'name':'w','channel_type':'webhook','config':{'url':'https://ops.example/h','secret':'k3y'}}");
    n.text = "short";
    message(w, &n, &req, &mail);
    unsigned char mac[32];
    char hex[65], want[80];
    hs_hmac_sha256("k3y", 3, req->body, req->body_len, mac);
    hs_hex(mac, sizeof mac, hex);
    snprintf(want, sizeof want, "sha256=%s", hex);
    assert_string_equal(hs_out_req_header(req, "X-hookstream-Signature"), want);
    body = json_loadb(req->body, req->body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(body, "type")), "alert.firing");
    assert_string_equal(json_string_value(json_object_get(body, "sent_at")), "2023-11-14T22:13:20.000Z");
    json_decref(body);
    hs_out_req_free(req);
    hs_free(req);
    json_decref(w);

    /* e-mail: recipients, subject, CRLF lines */
    json_t *e = channel("{'name':'e','channel_type':'email','config':{'to':['a@example.com','b@example.com']}}");
    n.text = "line one\nline two";
    message(e, &n, &req, &mail);
    assert_null(req);
    assert_non_null(strstr(mail, "To: a@example.com, b@example.com\r\n"));
    assert_non_null(strstr(mail, "From: alerts@example.com\r\n"));
    assert_non_null(strstr(mail, "Subject: [hookstream] Alert firing: x\r\n"));
    assert_non_null(strstr(mail, "\r\n\r\nline one\r\nline two\r\n"));
    hs_free(mail);
    json_decref(e);
}

static void expect_channel_error(const char *text, const char *field) {
    json_t *body = J(text), *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_channel_create_doc(body, &doc, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, field);
    assert_null(doc);
    json_decref(body);
}

static void test_channel_validation_and_secret(void **state) {
    (void)state;
    expect_channel_error("{'name':'x','channel_type':'sms','config':{}}", "channel_type");
    expect_channel_error("{'name':'x','channel_type':'email','config':{'to':['x@y','bad\\r\\n@evil']}}",
                         "config.to[1]");
    expect_channel_error("{'name':'x','channel_type':'webhook','config':{'url':'http://u:p@x.example/'}}",
                         "config.url");
    expect_channel_error("{'name':'x','channel_type':'slack','config':{'url':'https://x.example/','secret':'s'}}",
                         "config.secret");
    json_t *w = channel(
        "{'name':'w','channel_type':'webhook','config':{'url':'https://x.example/','secret':'a-long-secret-1234'}}");
    json_t *shown = hs_channel_render(w);
    assert_string_equal(json_string_value(json_object_get(json_object_get(shown, "config"), "secret")), "********1234");
    /* the mask sent back keeps the secret */
    json_t *patch = J("{'config':{'secret':'********1234'},'name':'renamed'}"), *after = NULL;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_channel_patch_doc(w, patch, &after, &err), HS_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(after, "config"), "secret")),
                        "a-long-secret-1234");
    /* another mask is refused, as on create */
    json_t *wrong = J("{'config':{'secret':'********9999'}}"), *none = NULL;
    assert_int_equal(hs_channel_patch_doc(w, wrong, &none, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "config.secret");
    assert_null(none);
    json_decref(wrong);
    expect_channel_error(
        "{'name':'x','channel_type':'webhook','config':{'url':'https://x.example/','secret':'********'}}",
        "config.secret");
    /* sealed for the store, opened back; another key cannot open it */
    unsigned char k1[HS_SECRETBOX_KEY_LEN] = {1}, k2[HS_SECRETBOX_KEY_LEN] = {2};
    hs_secretbox box, other;
    hs_secretbox_init(&box, k1);
    hs_secretbox_init(&other, k2);
    json_t *sealed = json_deep_copy(after);
    assert_int_equal(hs_channel_seal(sealed, &box, &err), HS_OK);
    const char *stored = json_string_value(json_object_get(json_object_get(sealed, "config"), "secret"));
    assert_true(hs_secretbox_is_sealed(stored));
    json_t *copy = json_deep_copy(sealed);
    assert_int_not_equal(hs_channel_unseal(copy, &other, &err), HS_OK);
    assert_int_equal(hs_channel_unseal(sealed, &box, &err), HS_OK);
    assert_true(json_equal(sealed, after));
    json_decref(copy);
    json_decref(sealed);
    json_decref(after);
    json_decref(patch);
    json_decref(shown);
    json_decref(w);
}

static void expect_rule(const char *text, int code, const char *field) {
    json_t *body = J(text), *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_rule_create_doc(body, &doc, &err), code);
    if (field) assert_string_equal(err.field, field);
    json_decref(doc);
    json_decref(body);
}

static void test_rule_validation(void **state) {
    (void)state;
#define CH "'channel_ids':['nch_0123456789abcdef0123456789abcdef']"
    expect_rule("{'name':'r','rule_type':'failure_rate','rule_config':{'threshold':12.5}," CH "}", HS_OK, NULL);
    expect_rule("{'name':'r','rule_type':'failure_rate','rule_config':{'threshold':0}," CH "}", HS_ERR_INVALID,
                "rule_config.threshold");
    expect_rule("{'name':'r','rule_type':'latency','rule_config':{'threshold':100,'window_minutes':0.5}," CH "}", HS_OK,
                NULL);
    expect_rule("{'name':'r','rule_type':'volume_drop','rule_config':{'drop_percent':50}," CH "}", HS_OK, NULL);
    expect_rule("{'name':'r','rule_type':'volume_drop','rule_config':{'window_minutes':5}," CH "}", HS_ERR_INVALID,
                "rule_config");
    expect_rule("{'name':'r','rule_type':'dlq','rule_config':{'threshold':1.5}," CH "}", HS_ERR_INVALID,
                "rule_config.threshold");
    expect_rule("{'name':'r','rule_type':'issue_opened'," CH ",'source_id':'dst_x'}", HS_ERR_INVALID, "source_id");
    expect_rule("{'name':'r','rule_type':'issue_opened','channel_ids':['x']}", HS_ERR_INVALID, "channel_ids[0]");
    expect_rule("{'name':'r','rule_type':'dlq'," CH ",'state':'firing'}", HS_ERR_INVALID, "state");
    expect_rule("{'name':'r','rule_type':'volume_drop','rule_config':{'threshold':5}," CH
                ",'destination_id':'dst_0123456789abcdef0123456789abcdef'}",
                HS_ERR_INVALID, "destination_id");
    expect_rule("{'name':'r','rule_type':'issue_opened'," CH ",'source_id':'src_0123456789abcdef0123456789abcdef'}",
                HS_ERR_INVALID, "source_id");
    /* a PATCH replaces rule_config whole */
    json_t *body = J("{'name':'r','rule_type':'latency','rule_config':{'threshold':100,'statistic':'avg'}," CH "}");
    json_t *doc = NULL, *after = NULL, *patch = J("{'rule_config':{'threshold':200}}");
    hs_error err;
    hs_error_clear(&err);
    assert_int_equal(hs_rule_create_doc(body, &doc, &err), HS_OK);
    assert_int_equal(hs_rule_patch_doc(doc, patch, &after, &err), HS_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(after, "rule_config"), "statistic")), "p95");
    assert_string_equal(json_string_value(json_object_get(after, "id")), json_string_value(json_object_get(doc, "id")));
    json_decref(after);
    json_decref(patch);
    json_decref(doc);
    json_decref(body);
#undef CH
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_types),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_channel_validation_and_secret),
        cmocka_unit_test(test_rule_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
