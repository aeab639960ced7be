/* bench/loadgen.c — an open-loop HTTP/1.1 load generator: POSTs at a
 * constant rate, whatever the server does, and times each request from
 * when it was due, not from when it could be sent.
 *
 * Request i is due at t0 + i/RATE. Due requests wait in one queue (a range
 * of sequence numbers: they are due in order and leave in order) for a free
 * keep-alive connection, one request outstanding per connection (no
 * pipelining). Its latency runs from its due time to the end of its
 * response, so a server that stalls, or a generator that falls behind,
 * shows in the figures instead of holding back the load (coordinated
 * omission). The first WARMUP seconds are sent but not counted.
 *
 * The body is JSON, about SIZE bytes, with the due time as nanoseconds of
 * CLOCK_REALTIME, for a receiver downstream to time the whole path
 * (bench/e2e_receiver.c):
 *   {"t":1733500000123456789,"seq":123,"pad":"xxx..."}
 * and "w":1 after "seq" in a warm-up request.
 *
 * One thread, libuv over raw sockets, responses parsed by bench/http1.h;
 * a timerfd wakes it when the next request is due, at most once per
 * QUANTUM µs (requests due within a quantum leave together, up to that
 * late; the lag figure says how late they left).
 *
 * usage: loadgen [-r RATE] [-d SECONDS] [-w WARMUP] [-c CONNS] [-p PATHFILE]
 *                [-s SIZE] [-t DRAIN] [-q QUANTUM] [-v] http://HOST:PORT[/PATH]
 *   defaults: 1000/s, 10 s, 1 s, 100 connections, the URL's path, 300
 *   bytes, 30 s to wait for what is outstanding at the end, 50 µs.
 *   PATHFILE: one path per line (e.g. /v1/ingest/src_...), used in turn.
 *   -v: also, on stderr, each second's count of 2xx and slowest one (by due
 *   time, counted seconds only), to see when a stall happened.
 * prints one line (latency in ms, of the 2xx responses to counted requests):
 *   count=N errors=N (non2xx=N io=N connect=N unanswered=N) ok_all=N
 *   rate=R achieved=R p50=.. p99=.. p99.9=.. max=.. lag_p99=.. lag_max=..
 * ok_all counts every 2xx, warm-up included; lag is how late a request
 * left after it was due (waiting for a connection, or for the generator).
 * Exit status 0, or 1 with any error. */
#include "hist.h"
#include "http1.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

enum { CLOSED, CONNECTING, IDLE, BUSY, CLOSING };

typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_timer_t retry;
    int state;
    uint64_t seq; /* the request outstanding, when BUSY */
    struct conn *next_idle;
    size_t out_len, in_len;
    char out[2048];
    char in[16384];
} conn;

static struct {
    double rate;
    uint64_t total, warm; /* requests in all; the first `warm` are not counted */
    uint64_t t0, rt0;     /* t0: CLOCK_MONOTONIC of request 0; rt0 the same in CLOCK_REALTIME */
    uint64_t due, next;   /* due: requests due so far; next: the next to leave */
    uint64_t answered, outstanding, last_answer;
    uint64_t ok_all, non2xx, io, connect_fail, unanswered;
    uint64_t quantum, armed; /* armed: when the timer is set to fire */
    int nconns, started, finished, all_due;
    conn *conns, *idle;
    char **paths;
    size_t npaths;
    const char *host;
    struct sockaddr_in addr;
    char pad[8192];
    size_t size;
    double drain_s;
    uv_loop_t *loop;
    uv_poll_t tick;
    int tfd;
    uv_timer_t drain;
    hist lat, lag;
    int verbose;
    uint64_t *sec_n, *sec_max; /* -v: per second of due time, 2xx and their slowest */
} g;

static void conn_open(conn *c);
static void dispatch(uint64_t now);

static uint64_t due_at(uint64_t seq) { return g.t0 + (uint64_t)((double)seq * 1e9 / g.rate); }

static void finish(void) {
    if (g.finished) return;
    g.finished = 1;
    uv_stop(g.loop);
}

static void check_done(void) {
    if (g.next == g.total && g.outstanding == 0) finish();
}

/* a request ended without a 2xx: count it, if counted */
static void failed(uint64_t seq, uint64_t *counter) {
    if (seq >= g.warm) (*counter)++;
    g.outstanding--;
    check_done();
}

static void on_closed(uv_handle_t *h) {
    conn *c = h->data;
    c->state = CLOSED;
    c->in_len = 0;
    if (!g.finished) conn_open(c);
}

static void conn_close(conn *c) {
    if (c->state == CLOSING || c->state == CLOSED) return;
    if (c->state == BUSY) failed(c->seq, &g.io);
    if (c->state == IDLE) { /* off the idle list */
        conn **p = &g.idle;
        while (*p && *p != c) p = &(*p)->next_idle;
        if (*p) *p = c->next_idle;
    }
    c->state = CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void become_idle(conn *c) {
    c->state = IDLE;
    c->next_idle = g.idle;
    g.idle = c;
}

static void on_response(conn *c, int status, uint64_t now) {
    uint64_t seq = c->seq;
    c->state = CLOSED; /* neither busy nor idle until the caller decides */
    g.outstanding--;
    g.answered += seq >= g.warm;
    if (status >= 200 && status < 300) {
        g.ok_all++;
        if (seq >= g.warm) {
            uint64_t due = due_at(seq);
            hist_add(&g.lat, now > due ? now - due : 0);
            g.last_answer = now;
            if (g.verbose) {
                uint64_t sec = (due - g.t0) / 1000000000u, v = now > due ? now - due : 0;
                g.sec_n[sec]++;
                if (v > g.sec_max[sec]) g.sec_max[sec] = v;
            }
        }
    } else if (seq >= g.warm) {
        g.non2xx++;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    (void)hint;
    conn *c = h->data;
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(sizeof c->in - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    size_t head;
    long len = http1_message(c->in, c->in_len, &head);
    if (len == 0 && c->in_len < sizeof c->in) return;
    if (len <= 0 || c->state != BUSY || c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7)) {
        conn_close(c); /* not understood, too large, or not asked for */
        return;
    }
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    int close = http1_has(c->in, head - 2, "connection", "close");
    on_response(c, (int)strtol(c->in + 9, NULL, 10), now);
    memmove(c->in, c->in + len, c->in_len - (size_t)len);
    c->in_len -= (size_t)len;
    if (close || c->in_len) { /* the server closes, or sent what was not asked for */
        c->state = CLOSING;
        uv_close((uv_handle_t *)&c->tcp, on_closed);
    } else {
        become_idle(c);
    }
    check_done();
    if (!g.finished) dispatch(now);
}

/* (c->write is free again before c's response can be read: a write that
 * completes at once calls back at the start of the next loop turn, before
 * that turn polls for reads) */
static void on_written(uv_write_t *w, int status) {
    if (status < 0 && status != UV_ECANCELED) conn_close(w->data);
}

/* send request g.next on idle connection c */
static void send_next(conn *c, uint64_t now) {
    uint64_t seq = g.next++, due = due_at(seq);
    const char *path = g.paths[seq % g.npaths];
    char body[sizeof g.pad + 128];
    int blen =
        snprintf(body, sizeof body, "{\"t\":%llu,\"seq\":%llu,%s\"pad\":\"", (unsigned long long)(g.rt0 + (due - g.t0)),
                 (unsigned long long)seq, seq < g.warm ? "\"w\":1," : "");
    size_t fill = g.size > (size_t)blen + 2 ? g.size - (size_t)blen - 2 : 0;
    memcpy(body + blen, g.pad, fill);
    memcpy(body + blen + fill, "\"}", 2);
    blen += (int)fill + 2;
    int hlen = snprintf(c->out, sizeof c->out,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n",
                        path, g.host, blen);
    if (hlen < 0 || (size_t)hlen + (size_t)blen > sizeof c->out) {
        fprintf(stderr, "loadgen: request too large for its buffer\n");
        exit(2);
    }
    memcpy(c->out + hlen, body, (size_t)blen);
    c->out_len = (size_t)hlen + (size_t)blen;
    c->state = BUSY;
    c->seq = seq;
    g.outstanding++;
    if (seq >= g.warm) hist_add(&g.lag, now > due ? now - due : 0);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out_len) return;
    if (n < 0 && n != UV_EAGAIN) {
        conn_close(c);
        return;
    }
    if (n > 0) b = uv_buf_init(c->out + n, (unsigned)(c->out_len - (size_t)n));
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) conn_close(c);
}

/* the timer wakes us at `at`, or sooner if it is set for sooner already */
static void arm(uint64_t at, uint64_t now) {
    if (g.armed > now && g.armed <= at) return;
    g.armed = at;
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u)}};
    timerfd_settime(g.tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_drain_timeout(uv_timer_t *t) {
    (void)t;
    g.unanswered = g.total - g.next; /* never sent */
    for (int i = 0; i < g.nconns; i++)
        if (g.conns[i].state == BUSY && g.conns[i].seq >= g.warm) g.unanswered++;
    if (g.warm > g.next) g.unanswered -= g.warm - g.next; /* warm-up not counted */
    finish();
}

/* what is due by now leaves on the idle connections; the timer wakes us
 * for the next, no sooner than one quantum from now */
static void dispatch(uint64_t now) {
    if (now >= g.t0) {
        uint64_t due = (uint64_t)((double)(now - g.t0) * g.rate / 1e9) + 1;
        g.due = due < g.total ? due : g.total;
    }
    while (g.next < g.due && g.idle) {
        conn *c = g.idle;
        g.idle = c->next_idle;
        send_next(c, now);
    }
    if (g.due < g.total) { /* while requests queue, responses dispatch: wake less often */
        uint64_t at = due_at(g.due), soonest = now + (g.next < g.due ? 1000000 : g.quantum);
        arm(at > soonest ? at : soonest, now);
    } else if (!g.all_due) {
        g.all_due = 1; /* all are due: wait at most DRAIN for the rest */
        uv_poll_stop(&g.tick);
        uv_timer_start(&g.drain, on_drain_timeout, (uint64_t)(g.drain_s * 1000), 0);
    }
}

static void on_tick(uv_poll_t *p, int status, int events) {
    (void)p, (void)status, (void)events;
    uint64_t expirations;
    if (read(g.tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) perror("loadgen: timerfd");
    dispatch(clock_ns(CLOCK_MONOTONIC));
}

static void start(void) {
    g.started = 1;
    g.t0 = clock_ns(CLOCK_MONOTONIC) + 1000000; /* 1 ms from now */
    g.rt0 = clock_ns(CLOCK_REALTIME) + 1000000;
    uv_poll_start(&g.tick, UV_READABLE, on_tick);
    arm(g.t0, 0);
}

static void on_retry(uv_timer_t *t) { conn_open(t->data); }

static void on_connect_closed(uv_handle_t *h) {
    conn *c = h->data;
    c->state = CLOSED;
    if (!g.finished) uv_timer_start(&c->retry, on_retry, 20, 0); /* again after 20 ms */
}

static void on_connect(uv_connect_t *r, int status) {
    conn *c = r->data;
    if (status < 0) {
        g.connect_fail++;
        c->state = CLOSING;
        uv_close((uv_handle_t *)&c->tcp, on_connect_closed);
    } else {
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        become_idle(c);
    }
    if (!g.started) {
        int pending = 0;
        for (int i = 0; i < g.nconns; i++) pending += g.conns[i].state == CONNECTING;
        if (pending) return;
        if (!g.idle) {
            fprintf(stderr, "loadgen: cannot connect to http://%s\n", g.host);
            exit(1);
        }
        start();
    } else {
        dispatch(clock_ns(CLOCK_MONOTONIC));
    }
}

static void conn_open(conn *c) {
    if (g.finished) return;
    uv_tcp_init(g.loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    c->state = CONNECTING;
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&g.addr, on_connect) < 0) {
        fprintf(stderr, "loadgen: cannot connect\n");
        exit(2);
    }
}

static void read_paths(const char *file) {
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        exit(2);
    }
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        if (g.npaths == cap) g.paths = realloc(g.paths, (cap = cap ? cap * 2 : 64) * sizeof *g.paths);
        g.paths[g.npaths++] = strdup(line);
    }
    fclose(f);
    if (!g.npaths) {
        fprintf(stderr, "loadgen: no paths in %s\n", file);
        exit(2);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: loadgen [-r RATE] [-d SECONDS] [-w WARMUP] [-c CONNS] [-p PATHFILE] [-s SIZE]\n"
                    "               [-t DRAIN] [-q QUANTUM_US] [-v] http://HOST:PORT[/PATH]\n");
    exit(2);
}

int main(int argc, char **argv) {
    double secs = 10, warm = 1;
    const char *pathfile = NULL;
    g.rate = 1000, g.nconns = 100, g.size = 300, g.drain_s = 30, g.quantum = 50000;
    int o;
    while ((o = getopt(argc, argv, "r:d:w:c:p:s:t:q:v")) != -1) {
        switch (o) {
        case 'r': g.rate = strtod(optarg, NULL); break;
        case 'd': secs = strtod(optarg, NULL); break;
        case 'w': warm = strtod(optarg, NULL); break;
        case 'c': g.nconns = (int)strtol(optarg, NULL, 10); break;
        case 'p': pathfile = optarg; break;
        case 's': g.size = (size_t)strtoul(optarg, NULL, 10); break;
        case 't': g.drain_s = strtod(optarg, NULL); break;
        case 'q': g.quantum = (uint64_t)(strtod(optarg, NULL) * 1000); break;
        case 'v': g.verbose = 1; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || g.rate <= 0 || secs <= 0 || warm < 0 || g.nconns < 1 || g.size >= sizeof g.pad) usage();
    /* http://HOST:PORT[/PATH], HOST numeric IPv4 or localhost */
    static char host[256];
    const char *url = argv[optind], *path = "/";
    if (strncmp(url, "http://", 7)) usage();
    snprintf(host, sizeof host, "%s", url + 7);
    char *slash = strchr(host, '/');
    if (slash) {
        path = url + 7 + (slash - host);
        *slash = 0;
    }
    char *colon = strrchr(host, ':');
    if (!colon) usage();
    *colon = 0;
    int port = (int)strtol(colon + 1, NULL, 10);
    if (uv_ip4_addr(strcmp(host, "localhost") ? host : "127.0.0.1", port, &g.addr)) usage();
    *colon = ':';
    g.host = host;
    if (pathfile) {
        read_paths(pathfile);
    } else {
        g.paths = (char **)&path;
        g.npaths = 1;
    }
    memset(g.pad, 'x', sizeof g.pad);
    g.warm = (uint64_t)(warm * g.rate);
    g.total = g.warm + (uint64_t)(secs * g.rate);
    g.loop = uv_default_loop();
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g.tfd < 0) {
        perror("loadgen: timerfd_create");
        return 2;
    }
    uv_poll_init(g.loop, &g.tick, g.tfd);
    uv_timer_init(g.loop, &g.drain);
    g.conns = calloc((size_t)g.nconns, sizeof *g.conns);
    for (int i = 0; i < g.nconns; i++) {
        uv_timer_init(g.loop, &g.conns[i].retry);
        g.conns[i].retry.data = &g.conns[i];
        conn_open(&g.conns[i]);
    }
    size_t nsec = (size_t)(warm + secs) + 2;
    g.sec_n = calloc(nsec, sizeof *g.sec_n);
    g.sec_max = calloc(nsec, sizeof *g.sec_max);
    uv_run(g.loop, UV_RUN_DEFAULT);

    for (size_t i = 0; g.verbose && i < nsec; i++)
        if (g.sec_n[i])
            fprintf(stderr, "second %zu: %llu 2xx, max %.3f ms\n", i, (unsigned long long)g.sec_n[i],
                    g.sec_max[i] / 1e6);

    uint64_t measure0 = due_at(g.warm);
    double span = g.last_answer > measure0 ? (double)(g.last_answer - measure0) / 1e9 : secs;
    if (span < secs) span = secs;
    uint64_t errors = g.non2xx + g.io + g.connect_fail + g.unanswered;
    char lat[256], lag[256];
    hist_format(&g.lat, 0, lat, sizeof lat);
    snprintf(lag, sizeof lag, "lag_p99=%.3f lag_max=%.3f", hist_quantile(&g.lag, 0.99) / 1e6, g.lag.max / 1e6);
    printf("count=%llu errors=%llu (non2xx=%llu io=%llu connect=%llu unanswered=%llu) ok_all=%llu rate=%.0f "
           "achieved=%.1f %s %s\n",
           (unsigned long long)g.lat.count, (unsigned long long)errors, (unsigned long long)g.non2xx,
           (unsigned long long)g.io, (unsigned long long)g.connect_fail, (unsigned long long)g.unanswered,
           (unsigned long long)g.ok_all, g.rate, (double)g.answered / span, lat, lag);
    return errors ? 1 : 0;
}
