/* test_http_client.c — the outbound HTTP client over real sockets.
 *
 * Everything runs on one loop in the test thread: the client, an
 * hs_http_server receiver (well-behaved answers, connection counts) and,
 * where misbehaviour is needed, a raw libuv TCP server (silence, resets,
 * trickled or endless bodies, hand-written header blocks). Each test has an
 * alarm, and RUN_UNTIL fails a test that waits too long, so nothing hangs.
 *
 * Receiver routes:
 *   /echo        records method, body and a few headers; answers 200 "ok"
 *   /hdrs        200 "hello" with X-One and a repeated X-Rep
 *   /status/500  500 "boom"
 *   /big/<n>     n bytes of 'x'
 *   anything     200 "ok"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/error.h"
#include "http/client.h"
#include "http/netguard.h"
#include "http/server.h"

#define MAX_RESULTS 128

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- raw server ----------------------------------------------------------- */

typedef enum { RAW_SILENT, RAW_SCRIPT, RAW_RESET, RAW_TRICKLE, RAW_FLOOD, RAW_LINGER_CLOSE } raw_mode;

typedef struct raw_srv raw_srv;

typedef struct raw_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    raw_srv *s;
    int open; /* handles not yet closed */
    bool closing, answered;
    char head[8192];
    size_t head_len;
    int trickled;
    struct raw_conn *next;
} raw_conn;

struct raw_srv {
    uv_loop_t *loop;
    uv_tcp_t listener;
    raw_mode mode;
    char *script; /* bytes written after the request head */
    size_t script_len;
    int port;
    int accepts;
    raw_conn *conns;
    char flood[65536];
};

static void raw_conn_freed(uv_handle_t *h) {
    raw_conn *rc = h->data;
    if (--rc->open == 0) hs_free(rc);
}

static void raw_conn_unlink(raw_conn *rc) {
    for (raw_conn **p = &rc->s->conns; *p; p = &(*p)->next)
        if (*p == rc) {
            *p = rc->next;
            break;
        }
}

static void raw_conn_close(raw_conn *rc, bool reset) {
    if (rc->closing) return;
    rc->closing = true;
    raw_conn_unlink(rc);
    uv_close((uv_handle_t *)&rc->timer, raw_conn_freed);
    if (reset)
        uv_tcp_close_reset(&rc->tcp, raw_conn_freed);
    else
        uv_close((uv_handle_t *)&rc->tcp, raw_conn_freed);
}

static void raw_write(raw_conn *rc, const char *data, size_t len, uv_write_cb cb) {
    uv_write_t *w = hs_calloc(1, sizeof *w);
    w->data = rc;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    if (uv_write(w, (uv_stream_t *)&rc->tcp, &b, 1, cb) != 0) hs_free(w);
}

static void on_written(uv_write_t *w, int status) {
    (void)status;
    hs_free(w);
}

static void on_written_reset(uv_write_t *w, int status) {
    raw_conn *rc = w->data;
    hs_free(w);
    if (status == 0) raw_conn_close(rc, true);
}

static void on_flood_written(uv_write_t *w, int status) {
    raw_conn *rc = w->data;
    hs_free(w);
    if (status == 0 && !rc->closing) raw_write(rc, rc->s->flood, sizeof rc->s->flood, on_flood_written);
}

static void on_trickle(uv_timer_t *t) {
    raw_conn *rc = t->data;
    static const char digits[] = "0123456789";
    raw_write(rc, &digits[rc->trickled], 1, on_written);
    if (++rc->trickled == 10) uv_timer_stop(t);
}

static void raw_conn_close(raw_conn *rc, bool reset);

static void on_linger_done(uv_timer_t *t) { raw_conn_close(t->data, false); }

static void raw_answer(raw_conn *rc) {
    raw_srv *s = rc->s;
    rc->answered = true;
    switch (s->mode) {
    case RAW_SILENT: break;
    case RAW_SCRIPT: raw_write(rc, s->script, s->script_len, on_written); break;
    case RAW_RESET: raw_write(rc, s->script, s->script_len, on_written_reset); break;
    case RAW_TRICKLE:
        raw_write(rc, s->script, s->script_len, on_written);
        uv_timer_start(&rc->timer, on_trickle, 30, 30);
        break;
    case RAW_FLOOD:
        raw_write(rc, s->script, s->script_len, on_written);
        raw_write(rc, s->flood, sizeof s->flood, on_flood_written);
        break;
    case RAW_LINGER_CLOSE: /* a keep-alive answer, then the connection is closed while idle */
        raw_write(rc, s->script, s->script_len, on_written);
        uv_timer_start(&rc->timer, on_linger_done, 30, 0);
        break;
    }
}

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    *buf = uv_buf_init(hs_malloc(suggested), (unsigned)suggested);
}

static void raw_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    raw_conn *rc = st->data;
    if (n < 0) {
        raw_conn_close(rc, false);
    } else if (n > 0 && !rc->answered) {
        size_t take = (size_t)n < sizeof rc->head - 1 - rc->head_len ? (size_t)n : sizeof rc->head - 1 - rc->head_len;
        memcpy(rc->head + rc->head_len, buf->base, take);
        rc->head_len += take;
        rc->head[rc->head_len] = '\0';
        if (strstr(rc->head, "\r\n\r\n")) raw_answer(rc);
    }
    hs_free(buf->base);
}

static void raw_accept(uv_stream_t *l, int status) {
    raw_srv *s = l->data;
    if (status != 0) return;
    raw_conn *rc = hs_calloc(1, sizeof *rc);
    rc->s = s;
    uv_tcp_init(s->loop, &rc->tcp);
    uv_timer_init(s->loop, &rc->timer);
    rc->tcp.data = rc->timer.data = rc;
    rc->open = 2;
    rc->next = s->conns;
    s->conns = rc;
    s->accepts++;
    if (uv_accept(l, (uv_stream_t *)&rc->tcp) == 0)
        uv_read_start((uv_stream_t *)&rc->tcp, raw_alloc, raw_read);
    else
        raw_conn_close(rc, false);
}

static raw_srv *raw_start(uv_loop_t *loop, raw_mode mode, const char *script, size_t script_len) {
    raw_srv *s = hs_calloc(1, sizeof *s);
    s->loop = loop;
    s->mode = mode;
    s->script = script ? hs_memdup(script, script_len) : NULL;
    s->script_len = script_len;
    memset(s->flood, 'y', sizeof s->flood);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 128, raw_accept), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len);
    s->port = ntohs(got.sin_port);
    return s;
}

static void raw_listener_closed(uv_handle_t *h) {
    raw_srv *s = h->data;
    hs_free(s->script);
    hs_free(s);
}

static void raw_stop(raw_srv *s) {
    while (s->conns) raw_conn_close(s->conns, false);
    uv_close((uv_handle_t *)&s->listener, raw_listener_closed);
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fx fx;

typedef struct result {
    fx *f;
    int idx;
    bool done;
    hs_out_resp *resp;
} result;

struct fx {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking for long */
    hs_http_server *srv;
    int port;
    bool srv_done;
    hs_http_client *client;
    bool client_done;
    int done_saw; /* callbacks completed when the close's done ran */
    raw_srv *raw;
    /* last request /echo saw */
    int echoed;
    char method[16];
    char *body;
    size_t body_len;
    char *ctype, *expect, *xa, *xempty;
    /* responses */
    result res[MAX_RESULTS];
    int ndone;
    bool in_send;
    int sync_calls;
    void (*hook)(result *r);
    int chain_left;
};

static char *dup_or_null(const char *s) { return s ? hs_strdup(s) : NULL; }

static void handler(hs_http_req *req, void *ud) {
    fx *f = ud;
    if (strcmp(req->path, "/echo") == 0) {
        f->echoed++;
        snprintf(f->method, sizeof f->method, "%s", req->method);
        hs_free(f->body);
        f->body = hs_memdup(req->body, req->body_len);
        f->body_len = req->body_len;
        hs_free(f->ctype);
        hs_free(f->expect);
        hs_free(f->xa);
        hs_free(f->xempty);
        f->ctype = dup_or_null(hs_http_req_header(req, "content-type"));
        f->expect = dup_or_null(hs_http_req_header(req, "expect"));
        f->xa = dup_or_null(hs_http_req_header(req, "x-a"));
        f->xempty = dup_or_null(hs_http_req_header(req, "x-empty"));
        hs_http_respond(req, 200, "text/plain", "ok", 2, NULL, 0);
    } else if (strcmp(req->path, "/hdrs") == 0) {
        hs_http_header extra[] = {{"X-One", "a"}, {"X-Rep", "1"}, {"X-Rep", "2"}};
        hs_http_respond(req, 200, "text/plain", "hello", 5, extra, 3);
    } else if (strcmp(req->path, "/status/500") == 0) {
        hs_http_respond(req, 500, "text/plain", "boom", 4, NULL, 0);
    } else if (strncmp(req->path, "/big/", 5) == 0) {
        size_t n = strtoull(req->path + 5, NULL, 10);
        char *b = hs_malloc(n);
        memset(b, 'x', n);
        hs_http_respond(req, 200, NULL, b, n, NULL, 0);
        hs_free(b);
    } else {
        hs_http_respond(req, 200, "text/plain", "ok", 2, NULL, 0);
    }
}

static void on_tick(uv_timer_t *t) { (void)t; }

static int setup(void **state) {
    fx *f = hs_calloc(1, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    hs_http_config cfg;
    hs_http_config_defaults(&cfg);
    cfg.max_body = 4u << 20;
    cfg.shutdown_timeout_ms = 2000;
    assert_int_equal(hs_http_server_new(&f->loop, &cfg, handler, f, &f->srv), 0);
    assert_int_equal(hs_http_server_listen(f->srv, "127.0.0.1", 0, &f->port), 0);
    assert_int_equal(hs_http_client_new(&f->loop, &f->client), 0);
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 5, 5);
    for (int i = 0; i < MAX_RESULTS; i++) f->res[i] = (result){.f = f, .idx = i};
    *state = f;
    alarm(20); /* a hung test dies loudly instead of blocking the suite */
    return 0;
}

static void on_client_done(void *ud) {
    fx *f = ud;
    f->client_done = true;
    f->done_saw = f->ndone;
    f->client = NULL;
}

static void on_srv_done(void *ud) { ((fx *)ud)->srv_done = true; }

static int teardown(void **state) {
    fx *f = *state;
    if (f->client) hs_http_client_close(f->client, on_client_done, f);
    if (f->raw) raw_stop(f->raw);
    hs_http_server_shutdown(f->srv, on_srv_done, f);
    uv_close((uv_handle_t *)&f->tick, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->client_done);
    assert_true(f->srv_done);
    hs_http_server_free(f->srv);
    /* every handle closed: nothing of client or servers is left on the loop */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (int i = 0; i < MAX_RESULTS; i++) {
        hs_out_resp_free(f->res[i].resp);
        hs_free(f->res[i].resp);
    }
    hs_free(f->body);
    hs_free(f->ctype);
    hs_free(f->expect);
    hs_free(f->xa);
    hs_free(f->xempty);
    hs_free(f);
    alarm(0);
    return 0;
}

#define RUN_UNTIL(f, cond, ms)                                                                                         \
    do {                                                                                                               \
        long long deadline_ = mono_ms() + (ms);                                                                        \
        while (!(cond)) {                                                                                              \
            if (mono_ms() > deadline_) fail_msg("timed out waiting for %s", #cond);                                    \
            uv_run(&(f)->loop, UV_RUN_ONCE);                                                                           \
        }                                                                                                              \
    } while (0)

static void run_for(fx *f, long long ms) {
    long long end = mono_ms() + ms;
    while (mono_ms() < end) uv_run(&f->loop, UV_RUN_ONCE);
}

static hs_out_req *mkreq(const char *method, int port, const char *path, const char *body, size_t len,
                         uint64_t timeout_ms) {
    hs_out_req *r = hs_calloc(1, sizeof *r);
    r->method = hs_strdup(method);
    r->url = hs_sprintf("http://127.0.0.1:%d%s", port, path);
    if (body) r->body = hs_memdup(body, len);
    r->body_len = len;
    r->timeout_ms = timeout_ms;
    return r;
}

static void on_resp(hs_http_call *call, hs_out_resp *resp, void *ud) {
    (void)call;
    result *r = ud;
    fx *f = r->f;
    if (f->in_send) f->sync_calls++;
    r->done = true;
    r->resp = resp;
    f->ndone++;
    if (f->hook) f->hook(r);
}

static int send_req(fx *f, hs_out_req *req, int idx, hs_http_call **call) {
    f->in_send = true;
    int rc = hs_http_client_send(f->client, req, on_resp, &f->res[idx], call);
    f->in_send = false;
    return rc;
}

static void send_ok(fx *f, hs_out_req *req, int idx) {
    assert_int_equal(send_req(f, req, idx, NULL), HS_OK);
    assert_false(f->res[idx].done); /* never called back from inside send */
}

static const char *hdr(json_t *o, const char *name) { return json_string_value(json_object_get(o, name)); }

/* The response's headers as the attempt record stores them (JSON). */
static json_t *resp_headers(const hs_out_resp *r) {
    char *text = hs_headers_json(r->headers, r->headers_len, true);
    assert_non_null(text);
    json_t *h = json_loads(text, 0, NULL);
    assert_non_null(h);
    hs_free(text);
    return h;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_ok_body_and_headers(void **state) {
    fx *f = *state;
    send_ok(f, mkreq("POST", f->port, "/hdrs", "{}", 2, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_string_equal(r->errmsg, "");
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 5);
    assert_string_equal(r->body, "hello");
    assert_false(r->body_truncated);
    assert_true(r->duration_ms < 2000);
    assert_non_null(r->headers);
    assert_string_equal(hs_headers_get(r->headers, r->headers_len, "x-one"), "a");
    assert_string_equal(hs_headers_get(r->headers, r->headers_len, "x-rep"), "1"); /* the first line */
    json_t *h = resp_headers(r);
    assert_string_equal(hdr(h, "x-rep"), "1, 2");
    assert_string_equal(hdr(h, "x-one"), "a");
    assert_string_equal(hdr(h, "content-type"), "text/plain");
    assert_string_equal(hdr(h, "content-length"), "5");
    assert_null(json_object_get(h, "X-One")); /* names are lowercased */
    json_decref(h);
    assert_int_equal(f->sync_calls, 0);
    assert_int_equal(hs_http_client_active(f->client), 0);
}

static void test_request_arrives_exactly(void **state) {
    fx *f = *state;
    static const char body[] = {'a', 0, 'b', 0, 'c', (char)0xff};
    hs_out_req *req = mkreq("PUT", f->port, "/echo", body, sizeof body, 5000);
    assert_int_equal(hs_out_req_add_header(req, "Content-Type", "application/json", false), 0);
    assert_int_equal(hs_out_req_add_header(req, "X-A", "b c", true), 0);
    assert_int_equal(hs_out_req_add_header(req, "X-Empty", "", false), 0);
    assert_string_equal(hs_out_req_header(req, "x-a"), "b c");
    assert_null(hs_out_req_header(req, "x-missing"));
    send_ok(f, req, 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    assert_int_equal(f->res[0].resp->error, 0);
    assert_int_equal(f->res[0].resp->status, 200);
    assert_int_equal(f->echoed, 1);
    assert_string_equal(f->method, "PUT");
    assert_int_equal(f->body_len, sizeof body);
    assert_memory_equal(f->body, body, sizeof body);
    assert_string_equal(f->ctype, "application/json");
    assert_string_equal(f->xa, "b c");
    assert_non_null(f->xempty);
    assert_string_equal(f->xempty, "");
    assert_null(f->expect);

    /* a body big enough for curl to want Expect: 100-continue */
    size_t big = (3u << 20) / 2;
    char *b = hs_malloc(big);
    for (size_t i = 0; i < big; i++) b[i] = (char)(i % 251);
    send_ok(f, mkreq("PATCH", f->port, "/echo", b, big, 5000), 1);
    RUN_UNTIL(f, f->res[1].done, 5000);
    assert_int_equal(f->res[1].resp->status, 200);
    assert_string_equal(f->method, "PATCH");
    assert_int_equal(f->body_len, big);
    assert_memory_equal(f->body, b, big);
    assert_null(f->expect);
    hs_free(b);

    send_ok(f, mkreq("GET", f->port, "/echo", NULL, 0, 5000), 2);
    RUN_UNTIL(f, f->res[2].done, 5000);
    assert_int_equal(f->res[2].resp->status, 200);
    assert_string_equal(f->method, "GET");
    assert_int_equal(f->body_len, 0);
    assert_int_equal(f->echoed, 3);
}

static void test_no_default_content_type(void **state) {
    fx *f = *state;
    send_ok(f, mkreq("POST", f->port, "/echo", "a=1", 3, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    assert_int_equal(f->res[0].resp->status, 200);
    assert_int_equal(f->echoed, 1);
    assert_string_equal(f->method, "POST");
    assert_int_equal(f->body_len, 3);
    assert_null(f->ctype);
}

static void test_500_is_a_response(void **state) {
    fx *f = *state;
    send_ok(f, mkreq("POST", f->port, "/status/500", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, 500);
    assert_string_equal(r->body, "boom");
}

static void test_timeout(void **state) {
    fx *f = *state;
    f->raw = raw_start(&f->loop, RAW_SILENT, NULL, 0);
    long long t0 = mono_ms();
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 300), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    long long took = mono_ms() - t0;
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, HS_ERR_TIMEOUT);
    assert_int_equal(r->status, 0);
    assert_string_equal(r->errmsg, "timed out after 300 ms");
    assert_true(took >= 280);
    assert_true(took <= 900);
    assert_true(r->duration_ms >= 280);
    assert_int_equal(f->raw->accepts, 1);
}

static void test_connection_refused(void **state) {
    fx *f = *state;
    /* a port that was free a moment ago: nothing listens there */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    send_ok(f, mkreq("POST", ntohs(a.sin_port), "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, HS_ERR_IO);
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->errmsg, "connect"));
    assert_null(r->headers);
    assert_int_equal(r->headers_len, 0);
    assert_null(r->body);
}

/* The SSRF guard on: a request to loopback fails at once, permanently, with
 * the address and the reason, and the receiver never sees a connection. */
static void test_guard_refuses_private(void **state) {
    fx *f = *state;
    f->raw = raw_start(&f->loop, RAW_SCRIPT, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38);
    hs_netguard_allow_private(false);
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_netguard_allow_private(true);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, HS_ERR_PERMANENT);
    assert_int_equal(r->status, 0);
    assert_non_null(strstr(r->errmsg, "refused to connect to 127.0.0.1"));
    assert_non_null(strstr(r->errmsg, "loopback"));
    assert_true(r->duration_ms < 1000);
    assert_int_equal(f->raw->accepts, 0);
    /* lifted: the same receiver answers */
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 1);
    RUN_UNTIL(f, f->res[1].done, 5000);
    assert_int_equal(f->res[1].resp->error, 0);
    assert_int_equal(f->res[1].resp->status, 200);
    assert_int_equal(f->raw->accepts, 1);
}

static void test_reset_mid_response(void **state) {
    fx *f = *state;
    static const char script[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
    f->raw = raw_start(&f->loop, RAW_RESET, script, sizeof script - 1);
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, HS_ERR_IO);
    assert_true(strlen(r->errmsg) > 0);
    assert_true(r->duration_ms < 4000);
}

static void test_slow_body_within_timeout(void **state) {
    fx *f = *state;
    static const char script[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    f->raw = raw_start(&f->loop, RAW_TRICKLE, script, sizeof script - 1);
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 2000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 10);
    assert_string_equal(r->body, "0123456789");
    assert_true(r->duration_ms >= 250); /* it really was trickled */
}

static void test_body_truncated_then_reused(void **state) {
    fx *f = *state;
    send_ok(f, mkreq("POST", f->port, "/big/100000", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, HS_OUT_RESP_BODY_MAX);
    assert_true(r->body_truncated);
    assert_int_equal(strlen(r->body), HS_OUT_RESP_BODY_MAX);
    for (size_t i = 0; i < r->body_len; i++) assert_int_equal(r->body[i], 'x');
    /* the rest was drained, not cut: the connection is still good */
    send_ok(f, mkreq("POST", f->port, "/big/10", "x", 1, 5000), 1);
    RUN_UNTIL(f, f->res[1].done, 5000);
    assert_int_equal(f->res[1].resp->body_len, 10);
    assert_false(f->res[1].resp->body_truncated);
    hs_http_stats st;
    hs_http_server_stats(f->srv, &st);
    assert_int_equal(st.connections_accepted, 1);
}

static void test_endless_body_cut_off(void **state) {
    fx *f = *state;
    static const char script[] = "HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n";
    f->raw = raw_start(&f->loop, RAW_FLOOD, script, sizeof script - 1);
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 8000), 0);
    RUN_UNTIL(f, f->res[0].done, 8000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, 202);
    assert_true(r->body_truncated);
    assert_int_equal(r->body_len, HS_OUT_RESP_BODY_MAX);
    assert_int_equal(r->body[0], 'y');
    assert_true(r->duration_ms < 8000); /* cut off, not timed out */
}

/* Answer with the status line and header lines in s (freed here) and the
 * body "ok"; returns the recorded headers, parsed. */
static json_t *scripted_headers(fx *f, hs_buf *s, int status) {
    hs_buf_appends(s, "Content-Length: 2\r\n\r\nok");
    f->raw = raw_start(&f->loop, RAW_SCRIPT, s->data, s->len);
    hs_buf_free(s);
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 5000);
    hs_out_resp *r = f->res[0].resp;
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, status);
    assert_string_equal(r->body, "ok");
    json_t *h = resp_headers(r);
    char *text = hs_headers_json(r->headers, r->headers_len, true);
    assert_true(strlen(text) <= HS_OUT_RESP_HEADERS_MAX + 1024);
    hs_free(text);
    return h;
}

static void test_header_block_rules(void **state) {
    fx *f = *state;
    /* 100 Continue headers are dropped; non-UTF-8 values still give JSON;
     * an obs-fold continuation joins its line; the block is capped */
    hs_buf s;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n"
                       "HTTP/1.1 201 Created\r\nX-Late: a\r\nX-Bin: caf\xe9\r\nX-Late: b\r\n"
                       "X-Fold: one\r\n  two\r\n");
    char filler[1001];
    memset(filler, 'f', 1000);
    filler[1000] = '\0';
    for (int i = 0; i < 20; i++) hs_buf_appendf(&s, "X-H%d: %s\r\n", i, filler);
    json_t *h = scripted_headers(f, &s, 201);
    assert_null(json_object_get(h, "x-early"));
    assert_string_equal(hdr(h, "x-late"), "a, b");
    assert_string_equal(hdr(h, "x-bin"), "caf\xc3\xa9");
    assert_string_equal(hdr(h, "x-fold"), "one two");
    assert_non_null(json_object_get(h, "x-h0"));
    assert_null(json_object_get(h, "x-h19"));
    assert_null(json_object_get(h, "content-length")); /* came after the cap */
    json_decref(h);
}

/* Many short header lines: the record keeps the first RESP_HEADER_LINES_MAX
 * (256), repeated names still joined, and the answer itself is unaffected. */
static void test_header_line_cap(void **state) {
    fx *f = *state;
    hs_buf s;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 300; i++) hs_buf_appendf(&s, "X-%d: %d\r\nX-Same: %d\r\n", i, i, i);
    json_t *h = scripted_headers(f, &s, 200);
    assert_int_equal(json_object_size(h), 128 + 1); /* x-0..x-127 and x-same */
    assert_string_equal(hdr(h, "x-127"), "127");
    assert_null(json_object_get(h, "x-128"));
    const char *same = hdr(h, "x-same");
    assert_true(strncmp(same, "0, 1, 2, ", 9) == 0);
    assert_non_null(strstr(same, ", 127"));
    assert_null(strstr(same, "128"));
    json_decref(h);
}

/* ---- what a hostile receiver sends back ---------------------------------- */

/* Answer with the bytes in s (freed here) to one request (res[0], 5 s
 * timeout), replacing an earlier raw receiver and result; returns the
 * response and sets *took to the elapsed ms. */
static hs_out_resp *scripted(fx *f, hs_buf *s, long long *took) {
    if (f->raw) raw_stop(f->raw);
    hs_out_resp_free(f->res[0].resp);
    hs_free(f->res[0].resp);
    f->res[0] = (result){.f = f, .idx = 0};
    f->raw = raw_start(&f->loop, RAW_SCRIPT, s->data, s->len);
    hs_buf_free(s);
    long long t0 = mono_ms();
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->res[0].done, 8000);
    *took = mono_ms() - t0;
    return f->res[0].resp;
}

/* A 200 whose chunked body is framing, as scripted(). */
static hs_out_resp *chunked_answer(fx *f, const char *framing, long long *took) {
    hs_buf s;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    hs_buf_appends(&s, framing);
    return scripted(f, &s, took);
}

/* Failed at once (not at the 5 s timeout), saying msg (a printf format
 * with at most one number, n). */
static void assert_fails_fast(const hs_out_resp *r, long long took, const char *msg, long n) {
    char want[128];
    snprintf(want, sizeof want, msg, n);
    assert_int_equal(r->error, HS_ERR_IO);
    if (!strstr(r->errmsg, want)) fail_msg("errmsg \"%s\" lacks \"%s\"", r->errmsg, want);
    assert_true(took < 2000);
}

/* Ended at once as a response: the receiver's status, the body cut. */
static void assert_cut_fast(const hs_out_resp *r, long long took) {
    assert_int_equal(r->error, 0);
    assert_int_equal(r->status, 200);
    assert_true(r->body_truncated);
    assert_true(took < 2000);
}

#define HEADERS_REFUSED "response headers larger than %ld bytes"

/* One 2 MB header line (or status line, or trailer): curl gives up on it
 * at 100 KB (4 KB for a trailer) with "Out of memory"; the attempt says
 * what happened instead. */
static void test_giant_header_line(void **state) {
    fx *f = *state;
    hs_buf s;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 200 OK\r\nX-Big: ");
    for (int i = 0; i < 2048; i++) hs_buf_appendf(&s, "%01024d", i);
    hs_buf_appends(&s, "\r\nContent-Length: 2\r\n\r\nok");
    long long took;
    hs_out_resp *r = scripted(f, &s, &took);
    assert_fails_fast(r, took, HEADERS_REFUSED, HS_OUT_RESP_HEADERS_LIMIT);
    assert_null(strstr(r->errmsg, "memory"));

    /* the same in the status line */
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 200 ");
    for (int i = 0; i < 2048; i++) hs_buf_appendf(&s, "%01024d", i);
    hs_buf_appends(&s, "\r\nContent-Length: 2\r\n\r\nok");
    r = scripted(f, &s, &took);
    assert_fails_fast(r, took, HEADERS_REFUSED, HS_OUT_RESP_HEADERS_LIMIT);

    /* and in a chunked body's trailers */
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "0\r\nX-Trailer: ");
    for (int i = 0; i < 2048; i++) hs_buf_appendf(&s, "%01024d", i);
    hs_buf_appends(&s, "\r\n\r\n");
    r = chunked_answer(f, s.data, &took);
    hs_buf_free(&s);
    assert_fails_fast(r, took, "response trailers refused", 0);
    assert_null(strstr(r->errmsg, "memory"));

    /* many short trailer lines count as header bytes */
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "0\r\n");
    for (int i = 0; i < 100; i++) hs_buf_appendf(&s, "X-T%d: %01000d\r\n", i, i);
    hs_buf_appends(&s, "\r\n");
    r = chunked_answer(f, s.data, &took);
    hs_buf_free(&s);
    assert_fails_fast(r, took, HEADERS_REFUSED, HS_OUT_RESP_HEADERS_LIMIT);
}

/* Many medium lines adding up to more than the limit, each far below
 * curl's own per-line limit; and 1xx blocks count too: endless 100
 * Continue is no way around it. */
static void test_many_headers_over_limit(void **state) {
    fx *f = *state;
    hs_buf s;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 90; i++) hs_buf_appendf(&s, "X-M%d: %01000d\r\n", i, i);
    hs_buf_appends(&s, "Content-Length: 2\r\n\r\nok");
    long long took;
    hs_out_resp *r = scripted(f, &s, &took);
    assert_fails_fast(r, took, HEADERS_REFUSED, HS_OUT_RESP_HEADERS_LIMIT);
    assert_int_equal(r->status, 200);

    hs_buf_init(&s, SIZE_MAX);
    for (int i = 0; i < 3000; i++) hs_buf_appends(&s, "HTTP/1.1 100 Continue\r\nX-Pad: 0123456789\r\n\r\n");
    hs_buf_appends(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    r = scripted(f, &s, &took);
    assert_fails_fast(r, took, HEADERS_REFUSED, HS_OUT_RESP_HEADERS_LIMIT);
}

static void test_chunk_size_huge(void **state) {
    fx *f = *state;
    long long took;
    hs_out_resp *r = chunked_answer(f, "7fffffffffffffff\r\nabc", &took);
    assert_cut_fast(r, took);
    /* more hex digits than any 64-bit number: cut the same way, no overflow */
    r = chunked_answer(f, "00000000000000000000000000000000fffffffffffffffffffff\r\nabc", &took);
    assert_cut_fast(r, took);
    /* one byte over what is ever read: cut as well */
    char line[64];
    snprintf(line, sizeof line, "%x\r\nabc", (unsigned)HS_OUT_RESP_CHUNK_MAX + 1);
    r = chunked_answer(f, line, &took);
    assert_cut_fast(r, took);
}

static void test_chunk_size_malformed(void **state) {
    fx *f = *state;
    static const char *const bad[] = {
        "zz\r\nhello\r\n0\r\n\r\n",  /* not hex */
        "5x\r\nhello\r\n0\r\n\r\n",  /* hex, then junk */
        "5\r\nhelloXY\r\n0\r\n\r\n", /* no CRLF after the data */
        "\r\nhello\r\n0\r\n\r\n",    /* no digits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long long took;
        hs_out_resp *r = chunked_answer(f, bad[i], &took);
        assert_fails_fast(r, took, "malformed response chunk", 0);
    }
}

/* A chunk extension that never ends is not waited for either. */
static void test_chunk_line_too_long(void **state) {
    fx *f = *state;
    hs_buf ext;
    hs_buf_init(&ext, SIZE_MAX);
    hs_buf_appends(&ext, "5;ext=");
    for (int i = 0; i < 100; i++) hs_buf_appendf(&ext, "%01000d", i);
    long long took;
    hs_out_resp *r = chunked_answer(f, ext.data, &took);
    hs_buf_free(&ext);
    assert_fails_fast(r, took, "response chunk-size line longer than %ld bytes", HS_OUT_RESP_CHUNK_LINE_MAX);
}

/* A well-formed chunked answer (extensions, small and split chunks,
 * trailers) is still decoded: the first 4 KiB kept, the rest drained, and
 * its end found without waiting. */
static void test_chunked_body_recorded(void **state) {
    fx *f = *state;
    hs_buf s, want;
    hs_buf_init(&s, SIZE_MAX);
    hs_buf_init(&want, SIZE_MAX);
    hs_buf_appends(&s, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-After: 1\r\n\r\n");
    for (int i = 0; i < 800; i++) {
        char piece[40];
        int n = snprintf(piece, sizeof piece, "<%d:%s>", i, i % 2 ? "odd" : "even");
        hs_buf_appendf(&s, i % 3 ? "%x\r\n" : "%X ; name=\"v\"\r\n", n);
        hs_buf_append(&s, piece, (size_t)n);
        hs_buf_appends(&s, "\r\n");
        hs_buf_append(&want, piece, (size_t)n);
    }
    hs_buf_appends(&s, "0\r\nX-Trailer: t\r\n\r\n");
    assert_true(want.len > HS_OUT_RESP_BODY_MAX);
    long long took;
    hs_out_resp *r = scripted(f, &s, &took);
    assert_int_equal(r->error, 0);
    assert_true(took < 2000); /* the end was found, the timeout not waited for */
    assert_int_equal(r->status, 201);
    assert_int_equal(r->body_len, HS_OUT_RESP_BODY_MAX);
    assert_true(r->body_truncated);
    assert_memory_equal(r->body, want.data, HS_OUT_RESP_BODY_MAX);
    assert_string_equal(hs_headers_get(r->headers, r->headers_len, "x-after"), "1");
    assert_null(hs_headers_get(r->headers, r->headers_len, "x-trailer"));
    hs_buf_free(&want);

    /* a short one: all of it, nothing more */
    r = chunked_answer(f, "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n", &took);
    assert_int_equal(r->error, 0);
    assert_true(took < 2000);
    assert_int_equal(r->body_len, 4);
    assert_string_equal(r->body, "abcd");
    assert_false(r->body_truncated);
}

static void chain_next(result *r) {
    fx *f = r->f;
    if (r->idx + 1 < 20) send_ok(f, mkreq("POST", f->port, "/", "x", 1, 5000), r->idx + 1);
}

static void test_connection_reuse(void **state) {
    fx *f = *state;
    f->hook = chain_next; /* each request sent from the previous one's callback */
    send_ok(f, mkreq("POST", f->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->ndone == 20, 5000);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(f->res[i].resp->error, 0);
        assert_int_equal(f->res[i].resp->status, 200);
    }
    hs_http_stats st;
    hs_http_server_stats(f->srv, &st);
    assert_int_equal(st.requests, 20);
    assert_int_equal(st.connections_accepted, 1);
}

/* The receiver closes each kept-alive connection shortly after answering:
 * the client's idle handle for it sees the close, and every next request
 * goes out on a new connection (whose fd is usually the number the closed
 * one had) and is answered. */
static void test_idle_connection_closed_by_peer(void **state) {
    fx *f = *state;
    static const char script[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    f->raw = raw_start(&f->loop, RAW_LINGER_CLOSE, script, sizeof script - 1);
    for (int i = 0; i < 5; i++) {
        send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), i);
        RUN_UNTIL(f, f->res[i].done, 5000);
        assert_int_equal(f->res[i].resp->error, 0);
        assert_int_equal(f->res[i].resp->status, 200);
        assert_string_equal(f->res[i].resp->body, "ok");
        RUN_UNTIL(f, f->raw->conns == NULL, 5000); /* closed by the receiver */
        run_for(f, 20);                            /* and seen by the client */
    }
    assert_int_equal(f->raw->accepts, 5);
}

static void test_concurrent(void **state) {
    fx *f = *state;
    for (int i = 0; i < 100; i++) send_ok(f, mkreq("POST", f->port, "/hdrs", "x", 1, 5000), i);
    assert_int_equal(hs_http_client_active(f->client), 100);
    RUN_UNTIL(f, f->ndone == 100, 8000);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(f->res[i].resp->error, 0);
        assert_int_equal(f->res[i].resp->status, 200);
        assert_string_equal(f->res[i].resp->body, "hello");
    }
    assert_int_equal(hs_http_client_active(f->client), 0);
    assert_int_equal(f->sync_calls, 0);
}

static void test_cancel(void **state) {
    fx *f = *state;
    f->raw = raw_start(&f->loop, RAW_SILENT, NULL, 0);
    hs_http_call *a = NULL, *b = NULL;
    assert_int_equal(send_req(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 0, &a), HS_OK);
    assert_int_equal(send_req(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 1, &b), HS_OK);
    assert_non_null(a);
    hs_http_client_cancel(f->client, a); /* before it even started */
    hs_http_client_cancel(f->client, a); /* twice: no-op */
    assert_false(f->res[0].done);        /* not from inside cancel */
    RUN_UNTIL(f, f->res[0].done && f->raw->accepts >= 1, 5000);
    hs_http_client_cancel(f->client, b); /* while connected, waiting */
    assert_false(f->res[1].done);
    RUN_UNTIL(f, f->res[1].done, 5000);
    assert_int_equal(f->res[0].resp->error, HS_ERR_CLOSED);
    assert_int_equal(f->res[1].resp->error, HS_ERR_CLOSED);
    assert_int_equal(f->res[1].resp->status, 0);
    assert_int_equal(hs_http_client_active(f->client), 0);
    /* the client still works */
    send_ok(f, mkreq("POST", f->port, "/", "x", 1, 5000), 2);
    RUN_UNTIL(f, f->res[2].done, 5000);
    assert_int_equal(f->res[2].resp->status, 200);
    assert_int_equal(f->ndone, 3);
}

static void test_close_in_flight(void **state) {
    fx *f = *state;
    f->raw = raw_start(&f->loop, RAW_SILENT, NULL, 0);
    for (int i = 0; i < 5; i++) send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), i);
    RUN_UNTIL(f, f->raw->accepts == 5, 5000);
    hs_http_client_close(f->client, on_client_done, f);
    assert_int_equal(f->ndone, 0); /* not from inside close */
    hs_out_req *late = mkreq("POST", f->port, "/", "x", 1, 5000);
    assert_int_equal(send_req(f, late, 5, NULL), HS_ERR_CLOSED);
    RUN_UNTIL(f, f->client_done, 5000);
    assert_int_equal(f->done_saw, 5); /* every callback ran before done */
    for (int i = 0; i < 5; i++) assert_int_equal(f->res[i].resp->error, HS_ERR_CLOSED);
    assert_false(f->res[5].done);
    /* teardown checks that no handle of the client is left on the loop */
}

static void close_from_cb(result *r) {
    if (r->idx == 0) hs_http_client_close(r->f->client, on_client_done, r->f);
}

static void test_close_from_callback(void **state) {
    fx *f = *state;
    f->raw = raw_start(&f->loop, RAW_SILENT, NULL, 0);
    f->hook = close_from_cb;
    send_ok(f, mkreq("POST", f->raw->port, "/", "x", 1, 5000), 1);
    RUN_UNTIL(f, f->raw->accepts == 1, 5000);
    send_ok(f, mkreq("POST", f->port, "/", "x", 1, 5000), 0);
    RUN_UNTIL(f, f->client_done, 5000);
    assert_int_equal(f->res[0].resp->status, 200);
    assert_int_equal(f->res[1].resp->error, HS_ERR_CLOSED);
    assert_int_equal(f->done_saw, 2);
}

static void test_invalid_is_synchronous(void **state) {
    fx *f = *state;
    assert_int_equal(send_req(f, mkreq("POST", 1, "", "x", 1, 5000), 0, NULL), HS_OK); /* baseline: valid */
    hs_out_req *r = mkreq("POST", f->port, "/", "x", 1, 5000);
    hs_free(r->url);
    r->url = hs_strdup("ftp://127.0.0.1/x");
    hs_http_call *call = (hs_http_call *)1;
    assert_int_equal(send_req(f, r, 1, &call), HS_ERR_INVALID);
    assert_null(call);
    r = mkreq("POST", f->port, "/", "x", 1, 5000);
    hs_free(r->url);
    r->url = hs_strdup("not a url");
    assert_int_equal(send_req(f, r, 2, NULL), HS_ERR_INVALID);
    r = mkreq("HEAD", f->port, "/", NULL, 0, 5000);
    assert_int_equal(send_req(f, r, 3, NULL), HS_ERR_INVALID);
    r = mkreq("POST", f->port, "/", "x", 1, 5000);
    hs_out_req_add_header(r, "X-Bad", "a\r\nInjected: 1", false);
    assert_int_equal(send_req(f, r, 4, NULL), HS_ERR_INVALID);
    r = mkreq("POST", f->port, "/", "x", 1, 5000);
    hs_out_req_add_header(r, "Bad Name", "v", false);
    assert_int_equal(send_req(f, r, 5, NULL), HS_ERR_INVALID);
    RUN_UNTIL(f, f->res[0].done, 5000);
    run_for(f, 50);
    assert_int_equal(f->ndone, 1); /* only the valid one called back */
    for (int i = 1; i < 6; i++) assert_false(f->res[i].done);
}

static void test_header_list_json(void **state) {
    (void)state;
    static const char list[] = "A\0one\0B\0x\0A\0two\0C\0caf\xe9"; /* a header list: name, value, ... */
    char *joined = hs_headers_json(list, sizeof list, true);
    assert_string_equal(joined, "{\"A\":\"one, two\",\"B\":\"x\",\"C\":\"caf\xc3\xa9\"}");
    char *last = hs_headers_json(list, sizeof list, false);
    assert_string_equal(last, "{\"B\":\"x\",\"A\":\"two\",\"C\":\"caf\xc3\xa9\"}");
    assert_string_equal(hs_headers_get(list, sizeof list, "A"), "one");
    assert_null(hs_headers_get(list, sizeof list, "a")); /* exact names */
    assert_null(hs_headers_json(NULL, 0, true));
    assert_null(hs_headers_get(NULL, 0, "A"));
    hs_free(joined);
    hs_free(last);
}

static void test_out_req_limits(void **state) {
    (void)state;
    hs_out_req r = {0};
    /* a header is one allocation; setting it again replaces both parts */
    assert_int_equal(hs_out_req_add_header(&r, "X-Secret", "s3cr3t", true), 0);
    hs_out_header_set(&r.headers[0], "X-Other", "", false);
    assert_string_equal(r.headers[0].name, "X-Other");
    assert_string_equal(r.headers[0].value, "");
    assert_false(r.headers[0].secret);
    assert_string_equal(hs_out_req_header(&r, "x-other"), "");
    hs_out_req_free(&r);
    for (int i = 0; i < HS_OUT_MAX_HEADERS; i++) assert_int_equal(hs_out_req_add_header(&r, "X-N", "v", i & 1), 0);
    assert_int_equal(hs_out_req_add_header(&r, "X-Over", "v", false), HS_ERR_TOOBIG);
    assert_int_equal(r.nheaders, HS_OUT_MAX_HEADERS);
    hs_out_req_free(&r);
    assert_int_equal(r.nheaders, 0);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);        /* raw servers write to peers that went away */
    hs_netguard_allow_private(true); /* every receiver here is on 127.0.0.1 */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ok_body_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_arrives_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_default_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_is_a_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guard_refuses_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_mid_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_body_within_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_truncated_then_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endless_body_cut_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_line_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_block_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_giant_header_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_headers_over_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_size_huge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_size_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_line_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connection_closed_by_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_is_synchronous, setup, teardown),
        cmocka_unit_test(test_header_list_json),
        cmocka_unit_test(test_out_req_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
