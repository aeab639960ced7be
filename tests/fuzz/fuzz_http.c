/* fuzz_http.c — the inbound HTTP layer (src/http/server.c on http-parser):
 * parsing callbacks, limits (431/413/400/505/408), Expect, pipelining with
 * backpressure and the ordered response FIFO, upgrades, EOF and shutdown.
 *
 * Seam: this file includes src/http/server.c, so it drives the server's
 * own static functions on a connection whose socket is one end of a
 * socketpair (no listener, no network): the harness hands each read to
 * on_read exactly as libuv would (from on_alloc's buffer, and only while
 * the connection is reading), answers requests the way the input says,
 * runs the loop so writes complete, and reads back what the server wrote.
 *
 * Input: one control byte, then the bytes the client sends, cut into
 * separate reads at each "\n%%\n" (at most 16 reads). Control bits:
 *   0-1  how the handler answers: 0 at once (inside the parse), 1 after
 *        the read, 2 never (orphaned when the connection closes), 3 mixed
 *   2    small limits (512 header bytes, 256 body bytes) instead of the
 *        defaults, to reach 431 and 413 with short inputs
 *   3    accept upgrades (hs_http_upgrade) when asked for
 *   4    a request timeout (408) after the last read, as the sweep does
 *   5    the client half-closes after its last read (EOF)
 *   6    graceful shutdown instead of an abrupt free
 *
 * Checked besides the sanitizers: what the server wrote is a well-formed
 * sequence of HTTP/1.1 responses (http-parser in response mode), and the
 * answers to the handler's requests appear in the order the requests
 * arrived, whatever order they were answered in.
 */
#include "../../src/http/server.c"

#include <sys/socket.h>
#include <unistd.h>

#define FZ_OWN_INIT
#include "fuzz_util.h"

#define MAX_READS 16
#define MAX_REQS 512

static uv_loop_t fz_loop;

typedef struct harness {
    hs_http_server *srv;
    int peer; /* the client's end of the socketpair */
    unsigned mode;
    hs_http_req *deferred[MAX_REQS];
    size_t ndeferred;
    char ids[MAX_REQS][HS_REQUEST_ID_MAX]; /* handler's requests, in arrival order */
    size_t nreqs;
    bool saw_head; /* responses to HEAD have no body: framing is not checked */
    hs_buf out;    /* what the server wrote */
} harness;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_init();
    uv_loop_init(&fz_loop);
    return 0;
}

static void answer(harness *h, hs_http_req *req) {
    if (hs_http_req_orphaned(req)) {
        hs_http_respond(req, 200, NULL, NULL, 0, NULL, 0); /* frees it */
        return;
    }
    static const char body[] = "{\"ok\":true}";
    hs_http_header extra = {"X-Fuzz", "1"};
    if (req->body_len % 3 == 1)
        hs_http_respond_error(req, 422, "fuzz says no");
    else
        hs_http_respond(req, 200, "application/json", body, sizeof body - 1, &extra, 1);
    (void)h;
}

static void on_upgrade(int fd, const char *rest, size_t rest_len, void *ud) {
    (void)rest, (void)rest_len, (void)ud;
    if (fd >= 0) close(fd);
}

static void handler(hs_http_req *req, void *ud) {
    harness *h = ud;
    FZ_ASSERT(req->method && req->target && req->path && req->query && req->body && req->remote_ip);
    FZ_ASSERT(req->body[req->body_len] == '\0');
    for (size_t i = 0; i < req->nheaders; i++) FZ_ASSERT(req->headers[i].name && req->headers[i].value);
    if (strcmp(req->method, "HEAD") == 0) h->saw_head = true;
    if (h->nreqs < MAX_REQS) memcpy(h->ids[h->nreqs], req->request_id, HS_REQUEST_ID_MAX);
    size_t k = h->nreqs++;
    if ((h->mode & 8) && hs_http_req_header(req, "upgrade") && hs_http_upgrade(req, on_upgrade, h) == HS_OK) return;
    unsigned how = h->mode & 3;
    if (how == 3) how = k % 3;
    if (how == 0 || h->ndeferred == MAX_REQS) {
        answer(h, req);
    } else {
        h->deferred[h->ndeferred++] = req; /* 1: answered after the read; 2: only at the end */
    }
}

/* Answers the deferred requests that are due, the newest first: out of
 * order, which the FIFO must put right. Answering may parse stashed input
 * and so call the handler, which may defer more: the list is settled first. */
static void answer_deferred(harness *h, bool all) {
    hs_http_req *due[MAX_REQS];
    size_t ndue = 0, keep = 0;
    for (size_t i = 0; i < h->ndeferred; i++) {
        hs_http_req *r = h->deferred[i];
        if (all || (h->mode & 3) == 1 || ((h->mode & 3) == 3 && i % 2 == 0))
            due[ndue++] = r;
        else
            h->deferred[keep++] = r;
    }
    h->ndeferred = keep;
    for (size_t i = ndue; i-- > 0;) answer(h, due[i]);
}

static conn *the_conn(harness *h) { return h->srv->conns; }

static void drain(harness *h) {
    char tmp[16384];
    for (;;) {
        ssize_t n = read(h->peer, tmp, sizeof tmp);
        if (n <= 0) break;
        hs_buf_append(&h->out, tmp, (size_t)n); /* beyond the cap: not checked */
    }
}

static void spin(harness *h) {
    for (int i = 0; i < 4; i++) {
        uv_run(&fz_loop, UV_RUN_NOWAIT);
        drain(h);
    }
}

/* What listen and on_connection do, on one end of a socketpair. */
static conn *open_conn(harness *h, int fd) {
    hs_http_server *srv = h->srv;
    uv_idle_init(srv->loop, &srv->resume);
    srv->resume.data = srv;
    srv->resume_open = true;
    srv->handles_open++;
    conn *c = hs_calloc(1, sizeof *c);
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    srv->conns = c;
    srv->nconns++;
    hs_buf_init(&c->head, srv->cfg.max_header_bytes);
    hs_buf_init(&c->body, srv->cfg.max_body);
    if (uv_tcp_open(&c->tcp, fd) != 0) abort();
    srv->stats.connections_accepted++;
    snprintf(c->ip, sizeof c->ip, "127.0.0.1");
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->idle_since = now_ms(c);
    update_reading(c);
    return c;
}

/* One read of len bytes, as libuv delivers it. */
static void deliver(conn *c, const char *p, size_t len) {
    if (len == 0) return; /* libuv never calls with nothing read */
    uv_buf_t buf;
    on_alloc((uv_handle_t *)&c->tcp, READ_BUF_SIZE, &buf);
    size_t n = len < buf.len ? len : buf.len; /* more would be the next read */
    memcpy(buf.base, p, n);
    on_read((uv_stream_t *)&c->tcp, (ssize_t)n, &buf);
}

/* The server's output: complete responses, and the handler's in order. */
typedef struct resp_check {
    harness *h;
    bool in_value;
    hs_buf field, value;
    size_t next; /* index into h->ids of the next answer that may come */
} resp_check;

static void rc_header_end(resp_check *r) {
    if (r->field.len && strcasecmp(r->field.data, "x-request-id") == 0) {
        harness *h = r->h;
        size_t lim = h->nreqs < MAX_REQS ? h->nreqs : MAX_REQS;
        for (size_t i = 0; i < lim; i++)
            if (strcmp(h->ids[i], r->value.data) == 0) {
                FZ_ASSERT(i >= r->next); /* never after a later request's answer */
                r->next = i + 1;
            }
    }
    hs_buf_reset(&r->field);
    hs_buf_reset(&r->value);
    r->in_value = false;
}

static int rc_field(http_parser *p, const char *at, size_t len) {
    resp_check *r = p->data;
    if (r->in_value) rc_header_end(r);
    hs_buf_append(&r->field, at, len);
    return 0;
}

static int rc_value(http_parser *p, const char *at, size_t len) {
    resp_check *r = p->data;
    r->in_value = true;
    hs_buf_append(&r->value, at, len);
    return 0;
}

static int rc_headers_complete(http_parser *p) {
    rc_header_end(p->data);
    return 0;
}

static void check_output(harness *h) {
    if (h->out.len == 0) return;
    resp_check r = {.h = h};
    hs_buf_init(&r.field, 1 << 16);
    hs_buf_init(&r.value, 1 << 16);
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &r;
    http_parser_settings s = {
        .on_header_field = rc_field, .on_header_value = rc_value, .on_headers_complete = rc_headers_complete};
    size_t n = http_parser_execute(&p, &s, h->out.data, h->out.len);
    if (!h->saw_head) {
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK || n != h->out.len)
            fprintf(stderr, "fuzz: server output does not parse: %s\n%.*s\n",
                    http_errno_description(HTTP_PARSER_ERRNO(&p)), (int)h->out.len, h->out.data);
        FZ_ASSERT(HTTP_PARSER_ERRNO(&p) == HPE_OK && n == h->out.len);
    }
    hs_buf_free(&r.field);
    hs_buf_free(&r.value);
}

static void on_done(void *ud) { *(bool *)ud = true; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    harness h = {.mode = data[0], .peer = -1};
    hs_buf_init(&h.out, 64u << 20);
    hs_http_config cfg;
    hs_http_config_defaults(&cfg);
    if (h.mode & 4) {
        cfg.max_header_bytes = 512;
        cfg.max_body = 256;
    }
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) abort();
    h.peer = fds[1];
    hs_http_server_new(&fz_loop, &cfg, handler, &h, &h.srv);
    conn *c = open_conn(&h, fds[0]);

    char *part[MAX_READS];
    size_t len[MAX_READS];
    size_t n = fz_split(data + 1, size - 1, part, len, MAX_READS);
    for (size_t i = 0; i < n; i++) {
        if (!the_conn(&h)) break;
        if (!c->reading && !c->closing) { /* the client waits until the server reads again */
            answer_deferred(&h, false);
            spin(&h);
            if (!the_conn(&h)) break;
        }
        if (!c->reading || c->closing) break;
        deliver(c, part[i], len[i]);
        spin(&h);
        if (the_conn(&h)) answer_deferred(&h, false);
        spin(&h);
    }
    if ((h.mode & 16) && the_conn(&h) && !c->closing && !c->lingering && c->in_message && !c->stop_input)
        conn_fail(c, 408, "request timeout"); /* what on_sweep does at the deadline */
    if (h.mode & 32) shutdown(h.peer, SHUT_WR);
    spin(&h);

    bool done = false;
    if (h.mode & 64) {
        hs_http_server_shutdown(h.srv, on_done, &done);
        answer_deferred(&h, true);
        for (int i = 0; i < 50 && !done; i++) {
            spin(&h);
            if (i == 10) shutdown(h.peer, SHUT_WR); /* a lingering server waits for our FIN */
        }
    }
    drain(&h);
    hs_http_server_free(h.srv); /* closes what is left; released from the last close callback */
    answer_deferred(&h, true);  /* orphans: freed */
    close(h.peer);
    uv_run(&fz_loop, UV_RUN_DEFAULT);
    check_output(&h);
    hs_buf_free(&h.out);
    fz_parts_free(part, n);
    return 0;
}
