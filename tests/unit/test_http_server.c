/* test_http_server.c — the HTTP server over real sockets.
 *
 * The server runs on its own loop in a background thread; the test thread
 * talks to it with plain blocking POSIX sockets (5 s receive timeout, and
 * an alarm per test, so nothing can hang). Only the test thread asserts.
 *
 * Handler routes:
 *   /async/<ms>  answer after <ms> on a loop timer (out-of-order answers)
 *   /body        echo the request body
 *   /big/<n>     n bytes of a pattern (big_byte)
 *   /hdr         X-Test header, remote ip, header count
 *   /error       hs_http_respond_error(422, message needing escapes)
 *   /stats       server counters
 *   anything     "METHOD path query body_len"
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "http/server.h"

/* ---- server fixture ---------------------------------------------------- */

typedef struct fixture {
    uv_loop_t loop;
    uv_async_t wake;
    hs_http_server *srv;
    pthread_t thread;
    int port;
    bool running;
    atomic_int shutdown_sent;
    atomic_int handled;        /* handler invocations */
    atomic_int orphan_answers; /* responses given to orphaned requests */
    atomic_int done;           /* shutdown done fired */
    atomic_llong done_at_ms;
    hs_http_stats final;
} fixture;

typedef struct pending {
    uv_timer_t timer;
    hs_http_req *req;
    fixture *f;
} pending;

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* byte i of a /big/N body: a period that no buffer size divides */
static char big_byte(size_t i) { return (char)('a' + i % 23); }

static void echo(hs_http_req *req) {
    char body[512];
    int n = snprintf(body, sizeof body, "%s %s %s %zu", req->method, req->path, req->query, req->body_len);
    hs_http_header extra[] = {{"X-Echo", "yes"}};
    hs_http_respond(req, 200, "text/plain", body, (size_t)n, extra, 1);
}

static void on_pending_closed(uv_handle_t *h) { hs_free(h->data); }

static void on_pending(uv_timer_t *t) {
    pending *p = t->data;
    if (hs_http_req_orphaned(p->req)) atomic_fetch_add(&p->f->orphan_answers, 1);
    echo(p->req);
    uv_close((uv_handle_t *)&p->timer, on_pending_closed);
}

static void handler(hs_http_req *req, void *ud) {
    fixture *f = ud;
    atomic_fetch_add(&f->handled, 1);
    if (strncmp(req->path, "/async/", 7) == 0) {
        pending *p = hs_calloc(1, sizeof *p);
        p->req = req;
        p->f = f;
        uv_timer_init(&f->loop, &p->timer);
        p->timer.data = p;
        uv_timer_start(&p->timer, on_pending, strtoull(req->path + 7, NULL, 10), 0);
    } else if (strcmp(req->path, "/body") == 0) {
        hs_http_respond(req, 200, "application/octet-stream", req->body, req->body_len, NULL, 0);
    } else if (strncmp(req->path, "/big/", 5) == 0) {
        size_t n = strtoull(req->path + 5, NULL, 10);
        char *b = hs_malloc(n);
        for (size_t i = 0; i < n; i++) b[i] = big_byte(i); /* a byte out of place shows */
        hs_http_respond(req, 200, NULL, b, n, NULL, 0);
        hs_free(b);
    } else if (strcmp(req->path, "/hdr") == 0) {
        const char *v = hs_http_req_header(req, "x-test");
        char *b =
            hs_sprintf("[%s] ip=%s n=%zu minor=%d", v ? v : "(none)", req->remote_ip, req->nheaders, req->http_minor);
        hs_http_respond(req, 200, "text/plain", b, strlen(b), NULL, 0);
        hs_free(b);
    } else if (strcmp(req->path, "/error") == 0) {
        hs_http_respond_error(req, 422, "bad \"thing\"\n\\");
    } else if (strcmp(req->path, "/stats") == 0) {
        hs_http_stats st;
        hs_http_server_stats(f->srv, &st);
        char *b = hs_sprintf("accepted=%llu open=%llu requests=%llu errors=%llu",
                             (unsigned long long)st.connections_accepted, (unsigned long long)st.connections_open,
                             (unsigned long long)st.requests, (unsigned long long)st.errors_4xx_by_server);
        hs_http_respond(req, 200, "text/plain", b, strlen(b), NULL, 0);
        hs_free(b);
    } else {
        echo(req);
    }
}

static void on_done(void *ud) {
    fixture *f = ud;
    hs_http_server_stats(f->srv, &f->final);
    atomic_store(&f->done_at_ms, mono_ms());
    atomic_store(&f->done, 1);
    uv_close((uv_handle_t *)&f->wake, NULL);
}

static void on_wake(uv_async_t *a) {
    fixture *f = a->data;
    hs_http_server_shutdown(f->srv, on_done, f);
}

static void *loop_main(void *arg) {
    fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void test_config(hs_http_config *cfg) {
    hs_http_config_defaults(cfg);
    cfg->max_body = 4096;
    cfg->request_timeout_ms = 300;
    cfg->idle_timeout_ms = 600;
    cfg->shutdown_timeout_ms = 3000;
}

static void start_server(fixture *f, const hs_http_config *cfg, const char *host) {
    assert_int_equal(uv_loop_init(&f->loop), 0);
    atomic_store(&f->shutdown_sent, 0);
    atomic_store(&f->done, 0);
    assert_int_equal(hs_http_server_new(&f->loop, cfg, handler, f, &f->srv), 0);
    assert_int_equal(hs_http_server_listen(f->srv, host, 0, &f->port), 0);
    assert_true(f->port > 0);
    assert_int_equal(uv_async_init(&f->loop, &f->wake, on_wake), 0);
    f->wake.data = f;
    assert_int_equal(pthread_create(&f->thread, NULL, loop_main, f), 0);
    f->running = true;
}

static void request_shutdown(fixture *f) {
    if (atomic_exchange(&f->shutdown_sent, 1) == 0) uv_async_send(&f->wake);
}

static void stop_server(fixture *f) {
    if (!f->running) return;
    request_shutdown(f);
    pthread_join(f->thread, NULL);
    f->running = false;
    assert_true(atomic_load(&f->done));
    hs_http_server_free(f->srv);
    f->srv = NULL;
    /* every handle closed: nothing of the server is left on the loop */
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void restart_server(fixture *f, const hs_http_config *cfg) {
    stop_server(f);
    start_server(f, cfg, "127.0.0.1");
}

static int setup(void **state) {
    fixture *f = hs_calloc(1, sizeof *f);
    hs_http_config cfg;
    test_config(&cfg);
    start_server(f, &cfg, "127.0.0.1");
    *state = f;
    alarm(60); /* a hung test dies loudly instead of blocking the suite */
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    stop_server(f);
    hs_free(f);
    alarm(0);
    return 0;
}

/* ---- client helpers ------------------------------------------------- */

typedef struct client {
    int fd;
    char *buf;
    size_t len, cap;
} client;

typedef struct resp {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
} resp;

static void client_open_at(client *c, int family, int port) {
    memset(c, 0, sizeof *c);
    c->fd = socket(family, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        inet_pton(AF_INET6, "::1", &a.sin6_addr);
        rc = connect(c->fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        rc = connect(c->fd, (struct sockaddr *)&a, sizeof a);
    }
    assert_int_equal(rc, 0);
    c->cap = 1 << 16;
    c->buf = hs_malloc(c->cap);
}

static void client_open(client *c, const fixture *f) { client_open_at(c, AF_INET, f->port); }

static void client_close(client *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    hs_free(c->buf);
    c->buf = NULL;
}

/* Close with an RST instead of a FIN. */
static void client_reset(client *c) {
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    client_close(c);
}

static void client_send(client *c, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

static void client_sends(client *c, const char *s) { client_send(c, s, strlen(s)); }

static ssize_t client_fill(client *c) {
    if (c->cap - c->len < 65536) {
        c->cap *= 2;
        c->buf = hs_realloc(c->buf, c->cap);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n > 0) c->len += (size_t)n;
    return n;
}

static const char *find_header(const resp *r, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t n = e ? (size_t)(e - v) : strlen(v);
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
    }
    return NULL;
}

static void resp_free(resp *r) {
    hs_free(r->body);
    r->body = NULL;
}

/* One response off the stream; 0 when complete, -1 on EOF/timeout first. */
static int read_response_ex(client *c, resp *r, bool head_request) {
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (client_fill(c) <= 0) return -1;
    size_t hlen = (size_t)(end + 4 - c->buf);
    size_t copy = hlen < sizeof r->head ? hlen : sizeof r->head - 1;
    memcpy(r->head, c->buf, copy);
    r->head[copy] = '\0';
    if (strncmp(r->head, "HTTP/1.1 ", 9) != 0) return -1;
    r->status = (int)strtol(r->head + 9, NULL, 10);
    char v[64];
    size_t cl = find_header(r, "Content-Length", v, sizeof v) ? strtoull(v, NULL, 10) : 0;
    if (head_request || r->status < 200 || r->status == 204 || r->status == 304) cl = 0;
    while (c->len < hlen + cl)
        if (client_fill(c) <= 0) return -1;
    r->body = hs_malloc(cl + 1);
    memcpy(r->body, c->buf + hlen, cl);
    r->body[cl] = '\0';
    r->body_len = cl;
    memmove(c->buf, c->buf + hlen + cl, c->len - hlen - cl);
    c->len -= hlen + cl;
    return 0;
}

static int read_response(client *c, resp *r) { return read_response_ex(c, r, false); }

/* True when the server closed the connection (FIN or RST) with nothing more sent. */
static bool client_sees_close(client *c) {
    if (c->len) return false;
    char b[256];
    ssize_t n = recv(c->fd, b, sizeof b, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void get_ok(client *c, const char *path, const char *want_body) {
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    client_sends(c, req);
    resp r;
    assert_int_equal(read_response(c, &r), 0);
    assert_int_equal(r.status, 200);
    if (want_body) assert_string_equal(r.body, want_body);
    resp_free(&r);
}

static void wait_handled(fixture *f, int n) {
    long long until = mono_ms() + 5000;
    while (atomic_load(&f->handled) < n && mono_ms() < until) usleep(2000);
    assert_true(atomic_load(&f->handled) >= n);
}

static bool is_request_id(const char *s) {
    if (strncmp(s, "req_", 4) != 0 || strlen(s) != 28) return false;
    for (int i = 4; i < 28; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* A server error: status, JSON shape (its "error" naming msg_part unless
 * NULL), request id echoed in the header, then close. */
static void expect_error_msg_and_close(client *c, int status, const char *msg_part) {
    resp r;
    assert_int_equal(read_response(c, &r), 0);
    assert_int_equal(r.status, status);
    char v[128], rid[64];
    assert_non_null(find_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "close");
    assert_non_null(find_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/json");
    assert_non_null(find_header(&r, "X-Request-Id", rid, sizeof rid));
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    assert_non_null(j);
    assert_true(json_is_string(json_object_get(j, "error")));
    if (msg_part && !strstr(json_string_value(json_object_get(j, "error")), msg_part))
        fail_msg("error \"%s\" does not name \"%s\"", json_string_value(json_object_get(j, "error")), msg_part);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), rid);
    assert_true(is_request_id(rid));
    json_decref(j);
    resp_free(&r);
    assert_true(client_sees_close(c));
}

static void expect_error_and_close(client *c, int status) { expect_error_msg_and_close(c, status, NULL); }

/* ---- tests ------------------------------------------------------------- */

static void test_status_text(void **state) {
    (void)state;
    assert_string_equal(hs_http_status_text(200), "OK");
    assert_string_equal(hs_http_status_text(404), "Not Found");
    assert_string_equal(hs_http_status_text(408), "Request Timeout");
    assert_string_equal(hs_http_status_text(413), "Content Too Large");
    assert_string_equal(hs_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(hs_http_status_text(503), "Service Unavailable");
    assert_non_null(hs_http_status_text(299));
    int codes[] = {100, 200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405,
                   408, 409, 413, 415, 422, 429, 431, 500, 501, 502, 503, 504};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *t = hs_http_status_text(codes[i]);
        assert_true(strlen(t) > 1);
        assert_string_not_equal(t, "Client Error");
        assert_string_not_equal(t, "Server Error");
    }
}

static void test_simple_get(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "GET /hello?x=1&y HTTP/1.1\r\nHost: t\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "GET /hello x=1&y 0");
    char v[128];
    assert_non_null(find_header(&r, "X-Request-Id", v, sizeof v));
    assert_true(is_request_id(v));
    assert_non_null(find_header(&r, "Connection", v, sizeof v));
    assert_string_equal(v, "keep-alive");
    assert_non_null(find_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "text/plain");
    assert_non_null(find_header(&r, "X-Echo", v, sizeof v));
    assert_non_null(find_header(&r, "Date", v, sizeof v));
    assert_true(strstr(v, " GMT") != NULL);
    resp_free(&r);
    get_ok(&c, "/nq", "GET /nq  0"); /* no '?': query is "" */
    client_close(&c);
}

static void test_keepalive(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    char id1[64], id2[64];
    resp r;
    client_sends(&c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /one  0");
    find_header(&r, "X-Request-Id", id1, sizeof id1);
    resp_free(&r);
    client_sends(&c, "POST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "POST /two  3");
    find_header(&r, "X-Request-Id", id2, sizeof id2);
    resp_free(&r);
    assert_string_not_equal(id1, id2);
    client_close(&c);
}

static void test_request_fields(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "GET /hdr HTTP/1.1\r\nHost: t\r\nX-Test: \t padded value \t \r\nX-Other: 1\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "[padded value] ip=127.0.0.1 n=3 minor=1");
    resp_free(&r);
    /* header split across writes, name and value both cut */
    client_sends(&c, "GET /hdr HTTP/1.1\r\nX-Te");
    usleep(20000);
    client_sends(&c, "st: ab");
    usleep(20000);
    client_sends(&c, "cd\r\n\r\n");
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "[abcd] ip=127.0.0.1 n=1 minor=1");
    resp_free(&r);
    client_close(&c);
}

static void test_error_json(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "GET /error HTTP/1.1\r\nHost: t\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 422);
    char rid[64], ct[64];
    find_header(&r, "X-Request-Id", rid, sizeof rid);
    find_header(&r, "Content-Type", ct, sizeof ct);
    assert_string_equal(ct, "application/json");
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "bad \"thing\"\n\\");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 422);
    assert_string_equal(json_string_value(json_object_get(j, "request_id")), rid);
    json_decref(j);
    resp_free(&r);
    get_ok(&c, "/after", NULL); /* a handler's error keeps the connection */
    client_close(&c);
}

static void test_pipelining_in_order(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    /* Even requests are answered later the earlier they came; odd ones at once. */
    char all[4096];
    size_t len = 0;
    for (int i = 0; i < 10; i++) {
        if (i % 2 == 0)
            len += (size_t)snprintf(all + len, sizeof all - len, "GET /async/%d?i=%d HTTP/1.1\r\nHost: t\r\n\r\n",
                                    (10 - i) * 15, i);
        else
            len += (size_t)snprintf(all + len, sizeof all - len, "GET /sync?i=%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
    }
    client_sends(&c, all);
    for (int i = 0; i < 10; i++) {
        resp r;
        assert_int_equal(read_response(&c, &r), 0);
        assert_int_equal(r.status, 200);
        char want[64];
        if (i % 2 == 0)
            snprintf(want, sizeof want, "GET /async/%d i=%d 0", (10 - i) * 15, i);
        else
            snprintf(want, sizeof want, "GET /sync i=%d 0", i);
        assert_string_equal(r.body, want);
        resp_free(&r);
    }
    client_close(&c);
}

/* More than HS_HTTP_MAX_PIPELINE requests in one go: the server holds the
 * rest back and still answers every one, in order. */
static void test_pipelining_beyond_limit(void **state) {
    fixture *f = *state;
    enum { N = 300 };
    client c;
    client_open(&c, f);
    size_t cap = N * 64, len = 0;
    char *all = hs_malloc(cap);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(all + len, cap - len,
                                i % 3 ? "GET /s?i=%d HTTP/1.1\r\n\r\n" : "GET /async/2?i=%d HTTP/1.1\r\n\r\n", i);
    client_send(&c, all, len);
    hs_free(all);
    for (int i = 0; i < N; i++) {
        resp r;
        assert_int_equal(read_response(&c, &r), 0);
        char want[64];
        snprintf(want, sizeof want, i % 3 ? "GET /s i=%d 0" : "GET /async/2 i=%d 0", i);
        assert_string_equal(r.body, want);
        resp_free(&r);
    }
    client_close(&c);
}

static void test_chunked_body(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "POST /body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    usleep(20000);
    client_sends(&c, "1\r\n \r\n");
    usleep(20000);
    client_sends(&c, "6\r\nwor");
    usleep(20000);
    client_sends(&c, "ld!\r\n0\r\nX-Trailer: t\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 12);
    assert_memory_equal(r.body, "hello world!", 12);
    resp_free(&r);
    /* Content-Length body on the same connection */
    client_sends(&c, "POST /body HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    usleep(20000);
    client_sends(&c, "cd");
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "abcd");
    resp_free(&r);
    client_close(&c);
}

static void test_header_too_large(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    size_t n = 20 * 1024;
    char *big = hs_malloc(n + 128);
    int off = snprintf(big, n + 128, "GET / HTTP/1.1\r\nX-Big: ");
    memset(big + off, 'a', n);
    memcpy(big + off + n, "\r\n\r\n", 5);
    client_send(&c, big, strlen(big));
    hs_free(big);
    expect_error_and_close(&c, 431);
    client_close(&c);
}

static void test_too_many_headers(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HS_HTTP_MAX_HEADERS + 2; i++) {
        char h[32];
        snprintf(h, sizeof h, "X-H%d: v\r\n", i);
        client_sends(&c, h);
    }
    client_sends(&c, "\r\n");
    expect_error_and_close(&c, 431);
    client_close(&c);
}

static void test_content_length_too_large(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    long long t0 = mono_ms();
    /* no body is ever sent: the answer must not wait for it */
    client_sends(&c, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
    expect_error_and_close(&c, 413);
    assert_true(mono_ms() - t0 < 250); /* well before the 300 ms request timeout */
    client_close(&c);
}

static void test_chunked_too_large(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "POST /body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[1100];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 4; i++) { /* 4000 bytes: fits 4096 */
        client_sends(&c, "3e8\r\n");
        client_send(&c, chunk, 1000);
        client_sends(&c, "\r\n");
    }
    client_sends(&c, "3e8\r\n"); /* the fifth takes it over */
    client_send(&c, chunk, 1000);
    client_sends(&c, "\r\n");
    expect_error_and_close(&c, 413);
    client_close(&c);
}

static void test_garbage(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "HELLO THERE\x01\x02\r\n\r\n");
    expect_error_and_close(&c, 400);
    client_close(&c);
    /* a bad request after a good one on the same connection */
    client_open(&c, f);
    get_ok(&c, "/fine", NULL);
    client_sends(&c, "GET / HTTP/1.1\r\nBad Header\r\n\r\n");
    expect_error_and_close(&c, 400);
    client_close(&c);
}

/* Send the pieces of a request with a pause between them (separate reads),
 * then expect 400 naming msg_part, the handler never called. */
static void expect_400_pieces(fixture *f, const char *const *pieces, size_t n, const char *msg_part) {
    int handled = atomic_load(&f->handled);
    client c;
    client_open(&c, f);
    for (size_t i = 0; i < n; i++) {
        if (i) usleep(20000);
        client_sends(&c, pieces[i]);
    }
    expect_error_msg_and_close(&c, 400, msg_part);
    client_close(&c);
    assert_int_equal(atomic_load(&f->handled), handled);
}

static void expect_400(fixture *f, const char *req, const char *msg_part) { expect_400_pieces(f, &req, 1, msg_part); }

/* Send the pieces of a /hdr request and expect its echo. */
static void expect_hdr_pieces(fixture *f, const char *const *pieces, size_t n, const char *want) {
    client c;
    client_open(&c, f);
    for (size_t i = 0; i < n; i++) {
        if (i) usleep(20000);
        client_sends(&c, pieces[i]);
    }
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    resp_free(&r);
    client_close(&c);
}

static void expect_hdr(fixture *f, const char *req, const char *want) { expect_hdr_pieces(f, &req, 1, want); }

/* RFC 9112 §5.1: no whitespace between a field name and its colon, and a
 * field name is an RFC 9110 token; a server must answer 400. */
static void test_header_name_not_token(void **state) {
    fixture *f = *state;
    expect_400(f, "GET /hdr HTTP/1.1\r\nHost: t\r\nX-Test : v\r\n\r\n", "whitespace");
    expect_400(f, "GET /hdr HTTP/1.1\r\nHost: t\r\nX-Test  : v\r\n\r\n", "whitespace");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX Test: v\r\n\r\n", "whitespace");
    expect_400(f, "GET /hdr HTTP/1.1\r\n X-Test: v\r\n\r\n", "whitespace"); /* before the first field */
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test\t: v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-\x01Test: v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test\x7f: v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-T\xc3\xa9st: v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX(Test): v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test/1: v\r\n\r\n", "malformed request");
    expect_400(f, "GET /hdr HTTP/1.1\r\n: v\r\n\r\n", "malformed request"); /* empty name */
    const char *split[] = {"GET /hdr HTTP/1.1\r\nX-Te", "st", " : v\r\n\r\n"};
    expect_400_pieces(f, split, 3, "whitespace");
    const char *split_colon[] = {"GET /hdr HTTP/1.1\r\nX-Test ", ": v\r\n\r\n"};
    expect_400_pieces(f, split_colon, 2, "whitespace");
    /* a chunked body's trailer fields obey the same rule */
    expect_400(f, "POST /body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-T : v\r\n\r\n",
               "whitespace");
    /* every tchar is fine, and so is no space after the colon */
    expect_hdr(f, "GET /hdr HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: 1\r\nX-Test:v\r\n\r\n", "[v] ip=127.0.0.1 n=2 minor=1");
}

/* RFC 9112 §5.2: obs-fold (a line break followed by SP or HTAB inside a
 * field) is refused with 400, wherever the reads split it. */
static void test_header_obs_fold(void **state) {
    fixture *f = *state;
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test: a\r\n b\r\n\r\n", "folding");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test: a\r\n\tb\r\nHost: t\r\n\r\n", "folding");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test: a\n b\n\n", "folding");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test: a\r\n \r\n\r\n", "folding");
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test:\r\n b\r\n\r\n", "folding"); /* after an empty value */
    expect_400(f, "GET /hdr HTTP/1.1\r\nX-Test:  \r\n\t\tb\r\n\r\n", "folding");
    const char *a[] = {"GET /hdr HTTP/1.1\r\nX-Test: a", "\r\n b\r\n\r\n"};
    expect_400_pieces(f, a, 2, "folding");
    const char *b[] = {"GET /hdr HTTP/1.1\r\nX-Test: a\r\n", " b\r\n\r\n"};
    expect_400_pieces(f, b, 2, "folding");
    const char *c[] = {"GET /hdr HTTP/1.1\r\nX-Test:", "\r", "\n", " b\r\n\r\n"};
    expect_400_pieces(f, c, 4, "folding");
    const char *d[] = {"GET /hdr HTTP/1.1\r\nX-Test", ":\r\n", " b\r\n\r\n"};
    expect_400_pieces(f, d, 3, "folding");
    /* what is not a fold passes, however split */
    expect_hdr(f, "GET /hdr HTTP/1.1\r\nX-Test:\r\nX-Other: 1\r\n\r\n", "[] ip=127.0.0.1 n=2 minor=1");
    expect_hdr(f, "GET /hdr HTTP/1.1\r\nX-Test:   \r\n\r\n", "[] ip=127.0.0.1 n=1 minor=1");
    expect_hdr(f, "GET /hdr HTTP/1.1\nX-Test: a b\tc\nX-Other: 1\n\n", "[a b\tc] ip=127.0.0.1 n=2 minor=1");
    const char *e[] = {"GET /hdr HTTP/1.1\r\nX-Test: ab", "\r\n", "X-Other: 1\r\n\r\n"};
    expect_hdr_pieces(f, e, 3, "[ab] ip=127.0.0.1 n=2 minor=1");
    const char *g[] = {"GET /hdr HTTP/1.1\r\nX-Test:", "\r\n", "X-Other: 1\r\n\r\n"};
    expect_hdr_pieces(f, g, 3, "[] ip=127.0.0.1 n=2 minor=1");
    const char *h[] = {"GET /hdr HTTP/1.1\r\nX-Test: ", " a", "b \r\n\r\n"};
    expect_hdr_pieces(f, h, 3, "[ab] ip=127.0.0.1 n=1 minor=1");
    const char *i[] = {"GET /hdr HTTP/1.1\r\nX-Test: a ", "b\r", "\n\r\n"};
    expect_hdr_pieces(f, i, 3, "[a b] ip=127.0.0.1 n=1 minor=1");
}

static void test_request_timeout(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    long long t0 = mono_ms();
    client_sends(&c, "GET / HTTP/1.1\r\nHost: t\r\n");
    expect_error_and_close(&c, 408);
    long long took = mono_ms() - t0;
    assert_true(took >= 280);
    assert_true(took < 1500);
    client_close(&c);
}

static void test_idle_close(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    get_ok(&c, "/x", NULL);
    long long t0 = mono_ms();
    assert_true(client_sees_close(&c)); /* silently, no response bytes */
    long long took = mono_ms() - t0;
    assert_true(took >= 550);
    assert_true(took < 2000);
    client_close(&c);
    /* a connection that never sends anything is idle too */
    client_open(&c, f);
    assert_true(client_sees_close(&c));
    client_close(&c);
}

static void test_expect_continue(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "POST /body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 100);
    resp_free(&r);
    client_sends(&c, "12345");
    assert_int_equal(read_response(&c, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "12345");
    resp_free(&r);
    /* declared length over the limit: 413 and no 100 */
    client_sends(&c, "POST /body HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n");
    expect_error_and_close(&c, 413);
    client_close(&c);
}

static void test_slowloris_does_not_block(void **state) {
    fixture *f = *state;
    client slow, fast;
    client_open(&slow, f);
    client_sends(&slow, "POST /body HTTP/1.1\r\nHost: t\r\nContent-Le");
    client_open(&fast, f);
    long long t0 = mono_ms();
    get_ok(&fast, "/quick", "GET /quick  0");
    get_ok(&fast, "/quick2", NULL);
    assert_true(mono_ms() - t0 < 200);
    client_close(&fast);
    expect_error_and_close(&slow, 408);
    client_close(&slow);
}

static void test_head(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    resp r;
    assert_int_equal(read_response_ex(&c, &r, true), 0);
    assert_int_equal(r.status, 200);
    char v[64];
    assert_non_null(find_header(&r, "Content-Length", v, sizeof v));
    assert_string_equal(v, "14"); /* what a GET would carry: "HEAD /hello  0" */
    resp_free(&r);
    /* no body bytes followed: the next response starts right here */
    get_ok(&c, "/next", "GET /next  0");
    client_close(&c);
}

static void test_http10(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "GET /hdr HTTP/1.0\r\n\r\n");
    resp r;
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "[(none)] ip=127.0.0.1 n=0 minor=0");
    char v[64];
    find_header(&r, "Connection", v, sizeof v);
    assert_string_equal(v, "close");
    resp_free(&r);
    assert_true(client_sees_close(&c));
    client_close(&c);
    /* 1.0 with keep-alive asked for */
    client_open(&c, f);
    client_sends(&c, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_int_equal(read_response(&c, &r), 0);
    find_header(&r, "Connection", v, sizeof v);
    assert_string_equal(v, "keep-alive");
    resp_free(&r);
    client_sends(&c, "GET /b HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
    assert_int_equal(read_response(&c, &r), 0);
    assert_string_equal(r.body, "GET /b  0");
    find_header(&r, "Connection", v, sizeof v);
    assert_string_equal(v, "close");
    resp_free(&r);
    assert_true(client_sees_close(&c)); /* nothing after "Connection: close" */
    client_close(&c);
}

static void test_client_disconnect(void **state) {
    fixture *f = *state;
    client c;
    /* FIN right after the request: answered into the void, no crash */
    client_open(&c, f);
    client_sends(&c, "GET /async/50 HTTP/1.1\r\n\r\n");
    client_close(&c);
    /* RST while the handler holds the request: it is orphaned */
    client_open(&c, f);
    int before = atomic_load(&f->handled);
    client_sends(&c, "GET /async/300 HTTP/1.1\r\n\r\n");
    wait_handled(f, before + 1);
    client_reset(&c);
    usleep(600 * 1000);
    assert_int_equal(atomic_load(&f->orphan_answers), 1);
    /* the server is fine */
    client_open(&c, f);
    get_ok(&c, "/still", "GET /still  0");
    client_close(&c);
}

static void test_stats(void **state) {
    fixture *f = *state;
    client c;
    client_open(&c, f);
    client_sends(&c, "BAD\r\n\r\n");
    expect_error_and_close(&c, 400);
    client_close(&c);
    client_open(&c, f);
    get_ok(&c, "/a", NULL);
    /* the first connection may still be finishing its close: ask until it is gone */
    const char *want = "accepted=2 open=1 requests=%d errors=1";
    bool seen = false;
    for (int i = 2; i < 50 && !seen; i++) {
        char w[128];
        snprintf(w, sizeof w, want, i);
        client_sends(&c, "GET /stats HTTP/1.1\r\n\r\n");
        resp r;
        assert_int_equal(read_response(&c, &r), 0);
        seen = strcmp(r.body, w) == 0;
        resp_free(&r);
        if (!seen) usleep(10000);
    }
    assert_true(seen);
    client_close(&c);
}

static void test_max_connections(void **state) {
    fixture *f = *state;
    hs_http_config cfg;
    test_config(&cfg);
    cfg.max_connections = 2;
    restart_server(f, &cfg);
    client a, b, x;
    client_open(&a, f);
    client_open(&b, f);
    get_ok(&a, "/a", NULL);
    get_ok(&b, "/b", NULL);
    client_open(&x, f); /* the kernel accepts; the server closes it */
    assert_true(client_sees_close(&x));
    client_close(&x);
    client_close(&a);
    usleep(100 * 1000);
    client_open(&x, f); /* room again */
    get_ok(&x, "/x", NULL);
    client_close(&x);
    client_close(&b);
}

/* A client that pipelines big downloads and does not read: the server stops
 * taking requests once HS_HTTP_MAX_PENDING_WRITE is queued, serves others
 * meanwhile, and finishes the job when the client reads. */
static void test_slow_reader(void **state) {
    fixture *f = *state;
    enum { N = 16, SIZE = 1024 * 1024 };
    client c;
    memset(&c, 0, sizeof c);
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 64 * 1024; /* no receive autotuning: the kernel absorbs little */
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(c.fd, (struct sockaddr *)&a, sizeof a), 0);
    c.cap = 1 << 16;
    c.buf = hs_malloc(c.cap);

    int before = atomic_load(&f->handled);
    char all[1024];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(all + len, sizeof all - len, "GET /big/1048576 HTTP/1.1\r\n\r\n");
    client_sends(&c, all);
    usleep(300 * 1000);
    int taken = atomic_load(&f->handled) - before;
    assert_true(taken >= 4);
    assert_true(taken < N); /* held back, not all answered into memory */
    client other;
    client_open(&other, f);
    get_ok(&other, "/other", NULL);
    client_close(&other);
    for (int i = 0; i < N; i++) {
        resp r;
        assert_int_equal(read_response(&c, &r), 0);
        assert_int_equal(r.body_len, SIZE);
        /* every byte where it belongs: the first part of a response is
         * written at once, the rest (the socket full) by libuv */
        size_t bad = 0;
        while (bad < SIZE && r.body[bad] == big_byte(bad)) bad++;
        assert_int_equal(bad, SIZE);
        resp_free(&r);
    }
    client_close(&c);
}

static void test_graceful_shutdown(void **state) {
    fixture *f = *state;
    client idle, busy;
    client_open(&idle, f);
    get_ok(&idle, "/warm", NULL);
    client_open(&busy, f);
    int before = atomic_load(&f->handled);
    client_sends(&busy, "POST /async/300 HTTP/1.1\r\nContent-Length: 2\r\n\r\nok");
    wait_handled(f, before + 1);
    long long t0 = mono_ms();
    request_shutdown(f);
    assert_true(client_sees_close(&idle)); /* idle keep-alive: closed at once */
    assert_true(mono_ms() - t0 < 250);
    resp r;
    assert_int_equal(read_response(&busy, &r), 0); /* the in-flight request is answered */
    long long answered = mono_ms();
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST /async/300  2");
    char v[64];
    find_header(&r, "Connection", v, sizeof v);
    assert_string_equal(v, "close");
    resp_free(&r);
    assert_true(client_sees_close(&busy));
    pthread_join(f->thread, NULL);
    f->running = false;
    assert_true(atomic_load(&f->done));
    assert_true(atomic_load(&f->done_at_ms) >= answered - 5);
    assert_int_equal(f->final.connections_open, 0);
    assert_int_equal(atomic_load(&f->orphan_answers), 0);
    hs_http_server_free(f->srv);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    client_close(&idle);
    client_close(&busy);
    /* nobody listens any more */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_true(connect(fd, (struct sockaddr *)&a, sizeof a) != 0);
    close(fd);
}

static void test_shutdown_deadline(void **state) {
    fixture *f = *state;
    hs_http_config cfg;
    test_config(&cfg);
    cfg.shutdown_timeout_ms = 200;
    restart_server(f, &cfg);
    client c;
    client_open(&c, f);
    int before = atomic_load(&f->handled);
    client_sends(&c, "GET /async/800 HTTP/1.1\r\n\r\n");
    wait_handled(f, before + 1);
    long long t0 = mono_ms();
    request_shutdown(f);
    assert_true(client_sees_close(&c)); /* forced at the deadline, unanswered */
    long long took = mono_ms() - t0;
    assert_true(took >= 150 && took < 700);
    pthread_join(f->thread, NULL); /* the handler's timer still fires, answering an orphan */
    f->running = false;
    assert_true(atomic_load(&f->done_at_ms) - t0 < 700);
    assert_int_equal(atomic_load(&f->orphan_answers), 1);
    hs_http_server_free(f->srv);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    client_close(&c);
}

static void test_ipv6(void **state) {
    fixture *f = *state;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::1", &a.sin6_addr);
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0) close(probe);
    if (!have_v6) skip();
    stop_server(f);
    hs_http_config cfg;
    test_config(&cfg);
    start_server(f, &cfg, "::1");
    client c;
    client_open_at(&c, AF_INET6, f->port);
    get_ok(&c, "/hdr", "[(none)] ip=::1 n=1 minor=1");
    client_close(&c);
}

/* Freed without shutdown, with a live connection: everything is closed and
 * the memory released once the loop runs again. Single-threaded. */
static void test_free_without_shutdown(void **state) {
    (void)state;
    uv_loop_t loop;
    hs_http_server *srv;
    fixture dummy = {0};
    int port;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(hs_http_server_new(&loop, NULL, handler, &dummy, &srv), 0);
    assert_int_equal(hs_http_server_listen(srv, "127.0.0.1", 0, &port), 0);
    assert_int_equal(hs_http_server_listen(srv, "127.0.0.1", 0, &port), UV_EALREADY);
    client c;
    client_open_at(&c, AF_INET, port);
    for (int i = 0; i < 50; i++) {
        hs_http_stats st;
        hs_http_server_stats(srv, &st);
        if (st.connections_open == 1) break;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    hs_http_stats st;
    hs_http_server_stats(srv, &st);
    assert_int_equal(st.connections_open, 1);
    hs_http_server_free(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_true(client_sees_close(&c));
    client_close(&c);
    /* a bad address is reported, and the server can still be freed */
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(hs_http_server_new(&loop, NULL, handler, &dummy, &srv), 0);
    assert_true(hs_http_server_listen(srv, "not-an-ip", 0, &port) < 0);
    hs_http_server_free(srv);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    hs_alloc_init_json();
    json_object_seed(0); /* seed jansson's hash before threads exist (its lazy seeding confuses helgrind) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_text),
        cmocka_unit_test_setup_teardown(test_simple_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_beyond_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_length_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_name_not_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_obs_fold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowloris_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test(test_free_without_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
