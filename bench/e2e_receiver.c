/* bench/e2e_receiver.c — the receiving end of bench/e2e: answers 200 to
 * every request and times each delivery from when bench/loadgen scheduled
 * the event it carries.
 *
 * A POST body that holds "t":<ns> (CLOCK_REALTIME, as loadgen writes it)
 * adds now - t to a histogram (bench/hist.h); one that also holds "w":1 is
 * a warm-up event, counted apart and not timed. Both run on this machine,
 * so both read the same clock.
 *
 *   GET  /stats   200 {"count":N,"warmup":N,"untimed":N,"p50":..,"p99":..,
 *                      "p99.9":..,"max":..} (milliseconds)
 *   POST /reset   clears all of it
 *   anything else 200 "ok", and the timing above for a POST
 * SIGTERM or SIGINT prints "count=N warmup=N untimed=N p50=.. p99=..
 * p99.9=.. max=.." and exits.
 *
 * usage: e2e_receiver PORT   (listens on 127.0.0.1:PORT; prints
 *        "listening on 127.0.0.1:PORT" once it does) */
#include "hist.h"
#include "http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct {
    uv_tcp_t tcp;
    char *buf;
    size_t len, cap;
} client;

typedef struct {
    uv_write_t req;
    size_t len;
    char data[];
} reply;

static hist g_lat;
static uint64_t g_warmup, g_untimed;
static uv_loop_t *g_loop;

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";

static void on_written(uv_write_t *w, int status) {
    (void)status;
    free(w->data);
}

static void answer(client *c, const char *data, size_t len) {
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)len) return;
    if (n < 0 && n != UV_EAGAIN) return; /* the read side sees the error */
    size_t done = n > 0 ? (size_t)n : 0;
    reply *r = malloc(sizeof *r + len - done);
    memcpy(r->data, data + done, len - done);
    r->req.data = r;
    b = uv_buf_init(r->data, (unsigned)(len - done));
    uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

/* the decimal number after "key": in body, or 0 */
static uint64_t member(const char *body, size_t len, const char *key) {
    const char *p = memmem(body, len, key, strlen(key));
    if (!p) return 0;
    uint64_t v = 0;
    for (p += strlen(key); p < body + len && *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint64_t)(*p - '0');
    return v;
}

static void stats(client *c) {
    char json[512], out[768];
    int j = snprintf(json, sizeof json, "{\"count\":%llu,\"warmup\":%llu,\"untimed\":%llu,",
                     (unsigned long long)g_lat.count, (unsigned long long)g_warmup, (unsigned long long)g_untimed);
    j += hist_format(&g_lat, 1, json + j, sizeof json - (size_t)j);
    j += snprintf(json + j, sizeof json - (size_t)j, "}\n");
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s", j, json);
    answer(c, out, (size_t)n);
}

static void handle(client *c, const char *msg, size_t head, size_t len) {
    uint64_t now = clock_ns(CLOCK_REALTIME);
    const char *body = msg + head;
    size_t blen = len - head;
    if (!strncmp(msg, "GET /stats ", 11)) {
        stats(c);
        return;
    }
    if (!strncmp(msg, "POST /reset ", 12)) {
        hist_reset(&g_lat);
        g_warmup = g_untimed = 0;
    } else if (!strncmp(msg, "POST ", 5)) {
        uint64_t t = member(body, blen, "\"t\":");
        if (!t)
            g_untimed++;
        else if (member(body, blen, "\"w\":"))
            g_warmup++;
        else
            hist_add(&g_lat, now > t ? now - t : 0);
    }
    answer(c, OK, sizeof OK - 1);
}

static void on_closed(uv_handle_t *h) {
    client *c = h->data;
    free(c->buf);
    free(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    (void)hint;
    client *c = h->data;
    if (c->cap - c->len < 16384) c->buf = realloc(c->buf, c->cap = c->cap * 2 + 16384);
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    client *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    c->len += (size_t)n;
    size_t at = 0, head;
    long len;
    while ((len = http1_message(c->buf + at, c->len - at, &head)) > 0) {
        handle(c, c->buf + at, head, (size_t)len);
        at += (size_t)len;
    }
    if (len < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    memmove(c->buf, c->buf + at, c->len - at);
    c->len -= at;
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    client *c = calloc(1, sizeof *c);
    uv_tcp_init(g_loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)s, (void)signum;
    char line[256];
    hist_format(&g_lat, 0, line, sizeof line);
    printf("count=%llu warmup=%llu untimed=%llu %s\n", (unsigned long long)g_lat.count, (unsigned long long)g_warmup,
           (unsigned long long)g_untimed, line);
    fflush(stdout);
    exit(0);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    g_loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", (int)strtol(argv[1], NULL, 10), &addr);
    uv_tcp_init(g_loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (!rc) rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
    if (rc) {
        fprintf(stderr, "e2e_receiver: 127.0.0.1:%s: %s\n", argv[1], uv_strerror(rc));
        return 1;
    }
    uv_signal_t term, intr;
    uv_signal_init(g_loop, &term);
    uv_signal_start(&term, on_signal, SIGTERM);
    uv_signal_init(g_loop, &intr);
    uv_signal_start(&intr, on_signal, SIGINT);
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    return uv_run(g_loop, UV_RUN_DEFAULT);
}
