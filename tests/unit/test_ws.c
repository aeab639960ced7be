/* test_ws.c — the pure parts of the WebSocket hub (src/ws/upgrade.c: accept
 * value, handshake checks, channel names) and the websocket provider
 * (src/providers/websocket.c: config, the message build makes, classify,
 * deliver_local against a hub with no client) and the --ws-* options that
 * fill the hub's config (src/app/config.c). Real clients are in
 * tests/integration/websocket.test.mjs. JSON is written with ' for ". */
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
#include "app/config.h"
#include "base/digest.h"
#include "base/id.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "core/resource.h"
#include "ws/ws.h"

#define EVT "evt_00112233445566778899aabbccddeeff"
#define DLV "dlv_0123456789abcdef0123456789abcdef"

/* ---- handshake ---- */

static void test_sha1(void **state) {
    (void)state;
    unsigned char md[20];
    char hex[41];
    /* printf %s abc | sha1sum */
    hs_sha1("abc", 3, md);
    hs_hex(md, 20, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    hs_sha1("", 0, md);
    hs_hex(md, 20, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void test_accept_key(void **state) {
    (void)state;
    char out[HS_WS_ACCEPT_LEN + 1];
    /* the example of RFC 6455 §1.3 */
    hs_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* A request with the given headers (name, value pairs, NULL-ended). */
static hs_http_req req_with(hs_http_header *hv, const char *method, int minor, ...) {
    va_list ap;
    va_start(ap, minor);
    size_t n = 0;
    for (const char *name; (name = va_arg(ap, const char *)) != NULL; n++) {
        hv[n].name = (char *)name;
        hv[n].value = va_arg(ap, char *);
    }
    va_end(ap);
    hs_http_req r;
    memset(&r, 0, sizeof r);
    r.method = method;
    r.target = r.path = "/v1/ws";
    r.query = "";
    r.headers = hv;
    r.nheaders = n;
    r.body = "";
    r.http_minor = minor;
    return r;
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static void test_handshake(void **state) {
    (void)state;
    hs_http_header hv[8];
    const char *why = NULL;
    hs_http_req r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "keep-alive, Upgrade",
                             "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 0);
    r = req_with(hv, "GET", 1, "upgrade", "WebSocket", "connection", "upgrade", "sec-websocket-version", "13",
                 "sec-websocket-key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 0);

    r = req_with(hv, "POST", 1, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 405);
    r = req_with(hv, "GET", 1, "Connection", "Upgrade", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 426);
    r = req_with(hv, "GET", 1, "Upgrade", "h2c", "Connection", "Upgrade", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 426);
    r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "8",
                 "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 426);
    assert_non_null(strstr(why, "13"));
    /* "upgrades" is not the token "upgrade" */
    r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "upgrades", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 400);
    r = req_with(hv, "GET", 0, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", KEY, NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 400);
    r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13", NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 400);
    /* base64 of 5 bytes, and not base64 at all */
    r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", "c2hvcnQ=", NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 400);
    r = req_with(hv, "GET", 1, "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13",
                 "Sec-WebSocket-Key", "!!!!", NULL);
    assert_int_equal(hs_ws_check_handshake(&r, &why), 400);
}

static void test_channel_names(void **state) {
    (void)state;
    assert_true(hs_ws_channel_valid("orders", 6));
    assert_true(hs_ws_channel_valid("a.b:c-d_E9", 10));
    assert_false(hs_ws_channel_valid("", 0));
    assert_false(hs_ws_channel_valid("with space", 10));
    assert_false(hs_ws_channel_valid("ünï", strlen("ünï")));
    assert_false(hs_ws_channel_valid("a\0b", 3)); /* an embedded NUL */
    char name[130];
    memset(name, 'x', sizeof name - 1);
    name[129] = '\0';
    assert_false(hs_ws_channel_valid(name, 129));
    assert_true(hs_ws_channel_valid(name + 1, 128));
    /* the server's own channels (the live feed) */
    assert_true(hs_ws_channel_reserved("hookstream.events"));
    assert_true(hs_ws_channel_reserved(HS_WS_RESERVED_PREFIX));
    assert_false(hs_ws_channel_reserved("hookstream"));
    assert_false(hs_ws_channel_reserved("orders.hookstream.x"));
}

/* ---- provider ---- */

#define dest(text) hs_test_dest(text, "dst_1", __LINE__)

static void test_validate(void **state) {
    (void)state;
    json_t *d = dest("{'name':'w','type':'websocket','config':{'channel_name':'orders'}}");
    /* require_subscribers is optional (absent: false) and not filled in */
    assert_null(json_object_get(json_object_get(d, "config"), "require_subscribers"));
    json_decref(d);
    const char *bad[] = {
        "{'name':'w','type':'websocket','config':{}}",
        "{'name':'w','type':'websocket','config':{'channel_name':'a b'}}",
        "{'name':'w','type':'websocket','config':{'channel_name':'a','require_subscribers':1}}",
        "{'name':'w','type':'websocket','config':{'channel_name':'a','url':'http://x'}}",
    };
    const char *fields[] = {"config.channel_name", "config.channel_name", "config.require_subscribers", "config.url"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = J(bad[i]), *doc = NULL;
        hs_error err;
        hs_error_clear(&err);
        assert_int_equal(hs_resource_create_doc(HS_KIND_DESTINATION, body, &doc, &err), HS_ERR_INVALID);
        assert_string_equal(err.field, fields[i]);
        json_decref(body);
    }
}

/* Builds for payload and returns the message parsed. */
static json_t *build_msg(const json_t *d, const char *payload, size_t len, const char *ct, hs_out_req *req) {
    const hs_provider *p = hs_provider_find("websocket");
    hs_delivery_ctx ctx = {.destination = d,
                           .event_id = EVT,
                           .delivery_id = DLV,
                           .attempt = 1,
                           .payload = payload,
                           .payload_len = len,
                           .content_type = ct};
    hs_error err;
    hs_error_clear(&err);
    memset(req, 0, sizeof *req);
    assert_int_equal(p->build(&ctx, req, &err), HS_OK);
    json_t *m = json_loadb(req->body, req->body_len, 0, NULL);
    assert_non_null(m);
    return m;
}

static void test_build(void **state) {
    (void)state;
    json_t *d = dest("{'name':'w','type':'websocket','config':{'channel_name':'orders'}}");
    hs_out_req req;
    json_t *m = build_msg(d, "{\"id\":1}", 8, "application/json", &req);
    assert_string_equal(req.method, "BROADCAST");
    assert_string_equal(req.url, "ws:channel/orders");
    json_t *want = J("{'type':'event.delivered','channel':'orders','data':{'event_id':'" EVT
                     "','destination_id':'dst_1','payload':{'id':1}}}");
    assert_true(json_equal(m, want));
    json_decref(want);
    json_decref(m);
    hs_out_req_free(&req);

    /* text: a string, even when it would parse as JSON */
    m = build_msg(d, "42", 2, "text/plain", &req);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "data"), "payload")), "42");
    assert_null(json_object_get(json_object_get(m, "data"), "payload_encoding"));
    json_decref(m);
    hs_out_req_free(&req);

    /* no content type: JSON when it parses, else text */
    m = build_msg(d, "[1,2]", 5, "", &req);
    assert_true(json_is_array(json_object_get(json_object_get(m, "data"), "payload")));
    json_decref(m);
    hs_out_req_free(&req);
    m = build_msg(d, "{broken", 7, "application/json", &req);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "data"), "payload")), "{broken");
    json_decref(m);
    hs_out_req_free(&req);

    /* not UTF-8: base64, flagged */
    m = build_msg(d, "\xff\x00\xfe", 3, "application/octet-stream", &req);
    json_t *data = json_object_get(m, "data");
    assert_string_equal(json_string_value(json_object_get(data, "payload")), "/wD+");
    assert_string_equal(json_string_value(json_object_get(data, "payload_encoding")), "base64");
    json_decref(m);
    hs_out_req_free(&req);

    /* empty body: an empty string */
    m = build_msg(d, NULL, 0, "", &req);
    assert_string_equal(json_string_value(json_object_get(json_object_get(m, "data"), "payload")), "");
    json_decref(m);
    hs_out_req_free(&req);
    json_decref(d);
}

static int classify(const json_t *d, int status, const char *body, hs_error *err) {
    const hs_provider *p = hs_provider_find("websocket");
    hs_delivery_ctx ctx = {.destination = d, .event_id = EVT, .delivery_id = DLV};
    hs_out_resp resp = {.status = status, .body = (char *)body, .body_len = body ? strlen(body) : 0};
    hs_error_clear(err);
    return p->classify(&ctx, &resp, err);
}

static void test_classify(void **state) {
    (void)state;
    hs_error err;
    json_t *lax = dest("{'name':'w','type':'websocket','config':{'channel_name':'c'}}");
    json_t *strict = dest("{'name':'w','type':'websocket','config':{'channel_name':'c','require_subscribers':true}}");
    assert_int_equal(classify(lax, 200, "{\"subscribers\":0,\"dropped\":0}", &err), HS_OK);
    assert_int_equal(classify(strict, 200, "{\"subscribers\":0,\"dropped\":0}", &err), HS_ERR_IO);
    assert_non_null(strstr(err.msg, "no client is subscribed to channel \"c\""));
    assert_int_equal(classify(strict, 200, "{\"subscribers\":0,\"dropped\":3}", &err), HS_ERR_IO);
    assert_int_equal(classify(strict, 200, "{\"subscribers\":2,\"dropped\":0}", &err), HS_OK);
    json_decref(lax);
    json_decref(strict);
}

static void test_deliver_local(void **state) {
    (void)state;
    const hs_provider *p = hs_provider_find("websocket");
    json_t *d = dest("{'name':'w','type':'websocket','config':{'channel_name':'orders'}}");
    hs_out_req req;
    json_decref(build_msg(d, "{}", 2, "application/json", &req));

    hs_out_resp resp;
    memset(&resp, 0, sizeof resp);
    p->deliver_local(NULL, &req, &resp); /* no hub */
    assert_int_equal(resp.error, HS_ERR_IO);
    hs_out_resp_free(&resp);

    uv_loop_t loop;
    uv_loop_init(&loop);
    hs_ws_hub *hub = hs_ws_hub_new(&loop, NULL, NULL, NULL);
    memset(&resp, 0, sizeof resp);
    p->deliver_local(hub, &req, &resp);
    assert_int_equal(resp.error, 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "{\"subscribers\":0,\"dropped\":0}");
    assert_int_equal(hs_ws_hub_subscribers(hub, "orders"), 0);
    assert_int_equal(hs_ws_hub_connections(hub), 0);
    hs_out_resp_free(&resp);
    hs_ws_hub_shutdown(hub);
    hs_ws_hub_free(hub);
    uv_run(&loop, UV_RUN_DEFAULT); /* the tick's close callback releases the hub */
    assert_int_equal(uv_loop_close(&loop), 0);
    hs_out_req_free(&req);
    json_decref(d);
}

/* ---- the hub's options (src/app/config.c) ---- */

/* Parses `hookstream serve` + args; returns 0 or -1 with err. */
static int parse_serve(hs_config *cfg, char *err, size_t errlen, ...) {
    char *argv[32] = {"hookstream", "serve"};
    int argc = 2;
    va_list ap;
    va_start(ap, errlen);
    for (char *a; argc < 31 && (a = va_arg(ap, char *)) != NULL;) argv[argc++] = a;
    va_end(ap);
    hs_command cmd;
    int rc = hs_config_parse(argc, argv, &cmd, cfg, err, errlen);
    if (rc == 0) assert_int_equal(cmd, HS_CMD_SERVE);
    return rc;
}

static void test_ws_options(void **state) {
    (void)state;
    hs_config cfg;
    char err[256];
    hs_ws_config def;
    memset(&def, 0, sizeof def); /* padding too: compared as memory below */
    hs_ws_config_defaults(&def);

    /* nothing given: the hub's own defaults */
    assert_int_equal(parse_serve(&cfg, err, sizeof err, NULL), 0);
    assert_memory_equal(&cfg.ws, &def, sizeof def);
    hs_config_free(&cfg);

    /* each flag lands in its field; both spellings; sizes take suffixes */
    assert_int_equal(parse_serve(&cfg, err, sizeof err, "--ws-max-message", "1k", "--ws-max-queue=3M",
                                 "--ws-max-connections", "7", "--ws-max-subscriptions=9", "--ws-ping-interval", "250",
                                 "--ws-close-timeout", "60", "--ws-send-buffer", "8192", NULL),
                     0);
    assert_int_equal(cfg.ws.max_message, 1024);
    assert_int_equal(cfg.ws.max_queue_bytes, 3u << 20);
    assert_int_equal(cfg.ws.max_connections, 7);
    assert_int_equal(cfg.ws.max_subscriptions, 9);
    assert_int_equal(cfg.ws.ping_interval_ms, 250);
    assert_int_equal(cfg.ws.close_timeout_ms, 60);
    assert_int_equal(cfg.ws.send_buffer_bytes, 8192);
    hs_config_free(&cfg);

    /* the bounds, both ends, inclusive */
    assert_int_equal(parse_serve(&cfg, err, sizeof err, "--ws-max-message=128", "--ws-max-queue=4294967296",
                                 "--ws-max-connections=1000000", "--ws-ping-interval=3600000", "--ws-close-timeout=50",
                                 "--ws-send-buffer=64M", NULL),
                     0);
    assert_int_equal(cfg.ws.max_message, 128);
    assert_int_equal(cfg.ws.max_queue_bytes, 1ULL << 32);
    assert_int_equal(cfg.ws.max_connections, 1000000);
    assert_int_equal(cfg.ws.send_buffer_bytes, 64 << 20);
    hs_config_free(&cfg);
    static const char *const bad[][2] = {
        {"--ws-max-message", "127"},          {"--ws-max-message", "16385k"},   {"--ws-max-queue", "4095"},
        {"--ws-max-queue", "4294967297"},     {"--ws-max-connections", "0"},    {"--ws-max-connections", "-1"},
        {"--ws-max-subscriptions", "100001"}, {"--ws-max-subscriptions", "1k"}, {"--ws-ping-interval", "49"},
        {"--ws-close-timeout", "600001"},     {"--ws-send-buffer", "65M"},      {"--ws-send-buffer", "lots"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse_serve(&cfg, err, sizeof err, bad[i][0], bad[i][1], NULL), -1);
        assert_non_null(strstr(err, bad[i][0]));
        assert_non_null(strstr(err, bad[i][1]));
        hs_config_free(&cfg);
    }

    /* the environment sets them; the command line wins over it */
    setenv("HOOKSTREAM_WS_MAX_CONNECTIONS", "5", 1);
    setenv("HOOKSTREAM_WS_PING_INTERVAL_MS", "700", 1);
    assert_int_equal(parse_serve(&cfg, err, sizeof err, NULL), 0);
    assert_int_equal(cfg.ws.max_connections, 5);
    assert_int_equal(cfg.ws.ping_interval_ms, 700);
    hs_config_free(&cfg);
    assert_int_equal(parse_serve(&cfg, err, sizeof err, "--ws-max-connections", "2", NULL), 0);
    assert_int_equal(cfg.ws.max_connections, 2);
    assert_int_equal(cfg.ws.ping_interval_ms, 700);
    hs_config_free(&cfg);
    /* a bad value in the environment is refused, naming the variable */
    setenv("HOOKSTREAM_WS_PING_INTERVAL_MS", "10", 1);
    assert_int_equal(parse_serve(&cfg, err, sizeof err, NULL), -1);
    assert_non_null(strstr(err, "HOOKSTREAM_WS_PING_INTERVAL_MS"));
    hs_config_free(&cfg);
    unsetenv("HOOKSTREAM_WS_MAX_CONNECTIONS");
    unsetenv("HOOKSTREAM_WS_PING_INTERVAL_MS");
}

int main(void) {
    hs_alloc_init_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1),          cmocka_unit_test(test_accept_key),    cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_channel_names), cmocka_unit_test(test_validate),      cmocka_unit_test(test_build),
        cmocka_unit_test(test_classify),      cmocka_unit_test(test_deliver_local), cmocka_unit_test(test_ws_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
