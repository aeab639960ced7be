/* src/http/server.c — HTTP/1.1 server on libuv + http-parser (see src/http/server.h).
 *
 * Shape:
 *   server -> listener, connection list, one shared 64 KiB read buffer, one
 *             sweep timer for every deadline, a request-id random pool.
 *   conn   -> parser state of the request being received, plus an output
 *             FIFO of slots: requests in arrival order and server-made
 *             messages (100 Continue, error responses) in between.
 *   slot   -> "ready" once its response bytes exist. The ready prefix of the
 *             FIFO goes out in one uv_write with one buf per response, so
 *             responses leave in request order whatever order they were
 *             answered in.
 *
 * Ownership. A request handed to the handler is shared by the handler
 * (until hs_http_respond) and the connection's FIFO (until written or the
 * connection closes). Closing a connection unlinks its unanswered requests
 * and sets their slot.c to NULL ("orphaned"); hs_http_respond then only
 * frees them. Connection memory is released only in the uv_close callback,
 * which libuv runs after cancelling (calling back) every pending write and
 * shutdown request, so those callbacks may always touch their conn.
 *
 * Re-entrancy. The handler runs inside http_parser_execute. While a
 * connection is parsing (conn.parsing), answers to it are only marked ready;
 * the parse loop writes them once it returns, which also batches the
 * responses of a pipelined read into a single write. Input held back by
 * backpressure is kept in conn.stash and fed by conn_pump, never from
 * inside a parser callback.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/error.h"
#include "http/response.h"
#include "base/id.h"
#include "base/log.h"
#include "base/mailbox.h"
#include "base/timeutil.h"

#define READ_BUF_SIZE (64 * 1024)
#define LINGER_MS 2000                /* how long to drain a client after our last response */
#define BODY_PREALLOC_MAX (64 * 1024) /* reserve up front for a declared length, at most */
#define HEAD_KEEP_MAX 8192            /* header buffer kept between requests, at most */
#define ID_POOL_IDS 256
#define ID_RAND_BYTES 12 /* 24 hex digits */

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct conn conn;

typedef struct slot {
    struct slot *next;
    conn *c; /* NULL once orphaned */
    char *out;
    size_t out_len;
    bool is_req;
    bool ready;
} slot;

typedef struct req_impl {
    slot s; /* first: freeing the slot frees the whole request block */
    hs_http_req pub;
    hs_http_server *srv; /* its connection's, for answers from another loop */
    bool head_only;
    bool keep_alive;
    bool body_owned;
    bool upgrade; /* asked for a protocol upgrade (hs_http_upgrade may take the connection) */
    /* hs_http_header[nheaders] and the strings follow in the same block */
} req_impl;

typedef struct write_batch {
    uv_write_t req;
    conn *c;
    slot *slots; /* linked through next, NULL-terminated */
    uv_buf_t bufs[];
} write_batch;

typedef struct hdr_off {
    size_t name, val; /* offsets into conn.head of NUL-terminated strings */
} hdr_off;

enum { H_NONE, H_URL, H_FIELD, H_VALUE }; /* what the last header callback appended */

struct conn {
    uv_tcp_t tcp; /* tcp.data == this */
    uv_shutdown_t shut;
    hs_http_server *srv;
    conn *prev, *next;
    http_parser parser;

    /* request being received: "target\0name\0value\0..." in head */
    hs_buf head;
    hdr_off *hdrs;
    size_t nhdrs, hdrs_cap;
    size_t target_len;
    size_t head_bytes; /* request line + header block, as received */
    int hstate;
    hs_buf body;
    uint64_t body_expected; /* Content-Length, 0 if none */
    int pending_status;     /* set by a callback that stops the parser */
    const char *pending_msg;
    /* obs-fold watch (see gap_scan): the input being parsed, and where the
     * bytes after a field name's colon begin in it */
    const char *feed_start, *feed_end;
    const char *gap_from; /* NULL: before this input */
    bool in_gap;          /* between a name's colon and its value */
    bool gap_lf;          /* the last byte of the gap so far was LF */
    bool gap_fold;        /* the gap held a line break followed by SP/HTAB */
    bool value_done;      /* the value's line has ended */

    /* output */
    slot *q_head, *q_tail;
    size_t nqueued;     /* request slots in the FIFO (answered or not) */
    size_t ready_bytes; /* bytes of ready slots not yet handed to uv_write */
    size_t nwrites;     /* uv_writes in flight */
    char *stash;        /* unparsed input held back by backpressure */
    size_t stash_len;

    uint64_t req_started, idle_since, last_write, linger_since; /* uv_now ms */
    bool in_message, in_body, keep_alive;
    bool parsing, pumping, reading;
    bool stop_input; /* no more requests will be parsed */
    bool want_close; /* close once the FIFO is empty and flushed */
    bool errored, eof, lingering, closing;
    bool deferred; /* reading paused until the next loop turn (fairness) */
    conn *defer_next;
    /* upgrade: bytes read after the head of a request that asked for one,
     * and the new owner once the handler accepted (hs_http_upgrade) */
    bool upgrade_asked;
    char *upgrade_rest;
    size_t upgrade_rest_len;
    hs_http_upgrade_fn upgrade_cb;
    void *upgrade_ud;
    char ip[INET6_ADDRSTRLEN];
};

struct hs_http_server {
    uv_loop_t *loop;
    hs_mailbox *mb; /* the loop's (NULL: answers come on the loop thread only) */
    hs_http_config cfg;
    hs_http_handler_fn handler;
    void *ud;

    uv_tcp_t listener;
    uv_timer_t sweep;
    uv_timer_t shutdown_timer;
    uv_idle_t resume; /* restarts deferred connections on the next loop turn */
    bool listen_tried;
    bool listener_open, sweep_open, shutdown_timer_open, resume_open; /* initialised, uv_close not yet called */
    int handles_open;                                                 /* close callback not yet run */

    conn *conns;
    size_t nconns;
    conn *deferred;
    /* servers on other loops that take a share of the accepted connections
     * (hs_http_server_spread), in turn with this one */
    hs_http_server **spread;
    size_t nspread, next_spread;
    uint64_t accept_warned_ms;
    hs_http_stats stats;

    bool shutting_down, done_called, free_requested;
    void (*done)(void *);
    void *done_ud;

    char *rbuf;
    bool rbuf_busy;
    unsigned char idpool[ID_POOL_IDS * ID_RAND_BYTES];
    size_t idpool_used;
    hs_http_date date;
};

static void conn_close(conn *c);
static void conn_flush(conn *c);
static void conn_pump(conn *c);
static void conn_fail(conn *c, int status, const char *msg);
static void conn_hand_over(conn *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void srv_maybe_release(hs_http_server *srv);

/* ---- small helpers ---------------------------------------------------- */

void hs_http_config_defaults(hs_http_config *cfg) {
    cfg->max_header_bytes = 16384;
    cfg->max_body = 1024 * 1024;
    cfg->request_timeout_ms = 30000;
    cfg->idle_timeout_ms = 60000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->max_connections = 10000;
}

/* Request ids come from a pool refilled 256 ids at a time: one getrandom
 * per request would be the only syscall a request costs besides I/O. */
static void request_id_new(hs_http_server *srv, char *out) {
    if (srv->idpool_used == ID_POOL_IDS) {
        hs_random_bytes(srv->idpool, sizeof srv->idpool);
        srv->idpool_used = 0;
    }
    memcpy(out, "req_", 4);
    hs_hex(srv->idpool + srv->idpool_used * ID_RAND_BYTES, ID_RAND_BYTES, out + 4);
    srv->idpool_used++;
}

static uint64_t now_ms(const conn *c) { return uv_now(c->srv->loop); }

static void fifo_push(conn *c, slot *s) {
    s->next = NULL;
    if (c->q_tail)
        c->q_tail->next = s;
    else
        c->q_head = s;
    c->q_tail = s;
}

static void slot_free(slot *s) {
    hs_free(s->out);
    if (s->is_req) {
        req_impl *r = (req_impl *)s;
        if (r->body_owned) hs_free((char *)r->pub.body);
    }
    hs_free(s);
}

/* A ready-made message (100 Continue, error) that takes its turn in the FIFO. */
static void push_raw(conn *c, char *out, size_t len) {
    slot *s = hs_calloc(1, sizeof *s);
    s->c = c;
    s->out = out;
    s->out_len = len;
    s->ready = true;
    fifo_push(c, s);
    c->ready_bytes += len;
}

static void stash_drop(conn *c) {
    hs_free(c->stash);
    c->stash = NULL;
    c->stash_len = 0;
}

/* ---- reading and backpressure ----------------------------------------- */

/* Room for another request? Output counts whether it is still in the FIFO
 * (answered while parsing) or already queued in libuv. */
static bool conn_full(conn *c) {
    return c->nqueued >= HS_HTTP_MAX_PIPELINE ||
           uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) + c->ready_bytes > HS_HTTP_MAX_PENDING_WRITE;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    conn *c = h->data;
    hs_http_server *srv = c->srv;
    /* Every byte is copied out (or stashed) before on_read returns, so one
     * buffer serves all connections; the fallback only guards against a
     * libuv that ever nests reads. */
    if (!srv->rbuf_busy) {
        srv->rbuf_busy = true;
        *buf = uv_buf_init(srv->rbuf, READ_BUF_SIZE);
    } else {
        *buf = uv_buf_init(hs_malloc(READ_BUF_SIZE), READ_BUF_SIZE);
    }
}

static void read_buf_release(hs_http_server *srv, const uv_buf_t *buf) {
    if (buf->base == srv->rbuf)
        srv->rbuf_busy = false;
    else
        hs_free(buf->base);
}

static void update_reading(conn *c) {
    if (c->closing || c->lingering) return;
    bool want = !c->stop_input && !c->stash && !c->deferred && !conn_full(c);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* ---- closing ------------------------------------------------------------ */

static void on_conn_closed(uv_handle_t *h) {
    conn *c = h->data;
    hs_http_server *srv = c->srv;
    for (conn **pp = &srv->deferred; c->deferred && *pp; pp = &(*pp)->defer_next)
        if (*pp == c) {
            *pp = c->defer_next;
            break;
        }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    srv->nconns--;
    hs_buf_free(&c->head);
    hs_buf_free(&c->body);
    hs_free(c->hdrs);
    hs_free(c->stash);
    hs_free(c->upgrade_rest);
    hs_free(c);
    srv_maybe_release(srv);
}

static void conn_close(conn *c) {
    if (c->closing) return;
    c->closing = true;
    c->reading = false;
    for (slot *s = c->q_head, *next; s; s = next) {
        next = s->next;
        if (s->is_req && !s->ready) {
            s->c = NULL; /* the handler still owns it: orphan */
            s->next = NULL;
        } else {
            slot_free(s);
        }
    }
    c->q_head = c->q_tail = NULL;
    c->nqueued = 0;
    c->ready_bytes = 0;
    stash_drop(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    conn *c = req->handle->data;
    if (c->closing) return;
    /* Our FIN is out; keep reading (and discarding) until the client's, so
     * that unread input does not make the kernel answer with an RST that
     * could destroy the response we just sent. */
    if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    c->reading = true;
}

static void conn_linger(conn *c) {
    c->lingering = true;
    c->linger_since = now_ms(c);
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) conn_close(c);
}

/* Close once nothing is left to send, if closing was asked for. */
static void conn_maybe_finish(conn *c) {
    if (c->closing || c->lingering || !c->want_close || c->q_head || c->nwrites) return;
    if (c->eof)
        conn_close(c); /* the client is gone already: nothing to protect */
    else
        conn_linger(c);
}

/* ---- output --------------------------------------------------------- */

/* A batch written: its slots and itself go. */
static void batch_free(write_batch *b) {
    for (slot *s = b->slots, *next; s; s = next) {
        next = s->next;
        slot_free(s);
    }
    hs_free(b);
}

static void on_write(uv_write_t *req, int status) {
    write_batch *b = container_of(req, write_batch, req);
    conn *c = b->c;
    batch_free(b);
    c->nwrites--;
    if (c->closing) return; /* cancelled by uv_close */
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->last_write = now_ms(c);
    if (!c->q_head && !c->nwrites) {
        c->idle_since = c->last_write;
        conn_maybe_finish(c);
        if (c->closing || c->lingering) return;
    }
    conn_pump(c);
}

/* Write the ready prefix of the FIFO as one uv_write. */
static void conn_flush(conn *c) {
    if (c->closing || c->lingering || c->upgrade_cb) return;
    size_t n = 0;
    for (slot *s = c->q_head; s && s->ready; s = s->next) n++;
    if (n == 0) return;
    write_batch *b = hs_malloc(sizeof *b + n * sizeof(uv_buf_t));
    b->c = c;
    b->slots = c->q_head;
    slot *s = c->q_head, *last = NULL;
    for (size_t i = 0; i < n; i++, s = s->next) {
        b->bufs[i] = uv_buf_init(s->out, (unsigned int)s->out_len);
        if (s->is_req) c->nqueued--;
        c->ready_bytes -= s->out_len;
        last = s;
    }
    last->next = NULL;
    c->q_head = s;
    if (!s) c->q_tail = NULL;
    /* Nothing in flight: write now what the socket takes. All of it (the
     * usual case) needs no request, no callback, and none of the epoll_ctl
     * calls libuv makes after each uv_write completes; the rest, if any,
     * goes as a uv_write. Not for a connection about to close, whose
     * finishing stays on_write's. */
    if (!c->nwrites && !c->want_close) {
        int w = uv_try_write((uv_stream_t *)&c->tcp, b->bufs, (unsigned int)n);
        size_t done = w > 0 ? (size_t)w : 0, i = 0;
        while (i < n && done >= b->bufs[i].len) done -= b->bufs[i++].len;
        if (i == n) {
            batch_free(b);
            c->last_write = now_ms(c);
            if (!c->q_head) c->idle_since = c->last_write;
            return;
        }
        if (w > 0) { /* a part: the rest from where it stopped */
            b->bufs[i].base += done;
            b->bufs[i].len -= done;
            memmove(b->bufs, b->bufs + i, (n - i) * sizeof b->bufs[0]);
            n -= i;
        }
    }
    if (c->nwrites++ == 0) c->last_write = now_ms(c);
    if (uv_write(&b->req, (uv_stream_t *)&c->tcp, b->bufs, (unsigned int)n, on_write) != 0) {
        /* only on a handle that can no longer write: drop it all */
        b->req.handle = NULL;
        on_write(&b->req, UV_EPIPE);
    }
}

static void conn_fail(conn *c, int status, const char *msg) {
    if (c->closing || c->lingering || c->errored) return;
    hs_http_server *srv = c->srv;
    c->errored = true;
    c->in_message = false;
    c->want_close = true;
    c->stop_input = true;
    stash_drop(c);
    srv->stats.errors_4xx_by_server++;

    char rid[HS_REQUEST_ID_MAX];
    request_id_new(srv, rid);
    char stack[512];
    size_t body_len, out_len;
    char *body = hs_http_error_json(status, msg, rid, stack, sizeof stack, &body_len);
    hs_http_date_update(&srv->date);
    hs_http_head_opts o = {.status = status, .content_type = "application/json", .request_id = rid, .close = true};
    char *out = hs_http_build_response(&srv->date, &o, body, body_len, &out_len);
    if (body != stack) hs_free(body);
    push_raw(c, out, out_len);
    update_reading(c);
    conn_flush(c);
}

/* ---- parser callbacks ------------------------------------------------- */

static int fail_cb(conn *c, int status, const char *msg) {
    c->pending_status = status;
    c->pending_msg = msg;
    return -1;
}

static int head_append(conn *c, const char *at, size_t len) {
    c->head_bytes += len;
    if (c->head_bytes > c->srv->cfg.max_header_bytes || hs_buf_append(&c->head, at, len) != HS_OK)
        return fail_cb(c, 431, "request header fields too large");
    return 0;
}

/* NUL-terminate whatever is being collected: the target or a header value
 * (whose trailing whitespace goes; http-parser already skipped the leading). */
static int head_end_string(conn *c) {
    if (c->hstate == H_VALUE) {
        hdr_off *h = &c->hdrs[c->nhdrs - 1];
        while (c->head.len > h->val && (c->head.data[c->head.len - 1] == ' ' || c->head.data[c->head.len - 1] == '\t'))
            c->head.len--;
    } else if (c->hstate == H_NONE || c->hstate == H_URL) {
        c->target_len = c->head.len;
    }
    if (hs_buf_append(&c->head, "", 1) != HS_OK) return fail_cb(c, 431, "request header fields too large");
    return 0;
}

static int on_message_begin(http_parser *p) {
    conn *c = p->data;
    if (c->closing || c->stop_input) return -1;
    c->in_message = true;
    c->req_started = now_ms(c);
    hs_buf_reset(&c->head);
    c->nhdrs = 0;
    c->target_len = 0;
    c->head_bytes = 0;
    c->hstate = H_NONE;
    c->in_gap = false;
    c->in_body = false;
    c->body_expected = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    c->hstate = H_URL;
    return head_append(c, at, len);
}

/* Trailers of a chunked body count against the header limit, nothing more. */
static int count_trailer(conn *c, size_t len) {
    c->head_bytes += len;
    return c->head_bytes > c->srv->cfg.max_header_bytes ? fail_cb(c, 431, "request header fields too large") : 0;
}

/* RFC 9110 §5.6.2: the characters of a token, which a field name is. */
static bool is_tchar(unsigned char ch) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A piece of a field name (a name may arrive in pieces). http-parser as
 * distributions build it (not strict) lets SP into names, so "X-Foo : bar"
 * would be the field "X-Foo "; RFC 9112 §5.1 says a server must answer
 * such a request 400. Every other non-token byte is refused here as well,
 * whatever the parser let through. */
static int check_name(conn *c, const char *at, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (is_tchar((unsigned char)at[i])) continue;
        if (at[i] == ' ' || at[i] == '\t')
            return fail_cb(c, 400, "malformed request: whitespace in a header field name or before its colon");
        return fail_cb(c, 400, "malformed request: invalid character in a header field name");
    }
    return 0;
}

/* obs-fold (RFC 9112 §5.2: a line break followed by SP or HTAB inside a
 * field) is refused with 400; http-parser joins the lines silently. After
 * a value's first bytes a fold shows as more value once the line ended
 * (value_done); right after the colon the parser skips it unseen, so the
 * bytes between the colon and the value are scanned here, by pieces when
 * reads split them. */
#define FOLD_MSG "malformed request: obsolete line folding in a header field"

static void gap_scan(conn *c, const char *from, const char *to) {
    for (const char *b = from; b < to; b++) {
        if ((*b == ' ' || *b == '\t') && c->gap_lf) c->gap_fold = true;
        c->gap_lf = *b == '\n';
    }
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (check_name(c, at, len)) return -1;
    if (c->in_body) return count_trailer(c, len);
    if (c->hstate != H_FIELD) { /* a new header; otherwise the name continues */
        if (head_end_string(c)) return -1;
        if (c->nhdrs == HS_HTTP_MAX_HEADERS) return fail_cb(c, 431, "too many header fields");
        if (c->nhdrs == c->hdrs_cap) {
            c->hdrs_cap = c->hdrs_cap ? c->hdrs_cap * 2 : 16;
            c->hdrs = hs_realloc(c->hdrs, c->hdrs_cap * sizeof *c->hdrs);
        }
        c->hdrs[c->nhdrs++] = (hdr_off){.name = c->head.len};
        c->hstate = H_FIELD;
        c->head_bytes += 4; /* ": " and CRLF */
    }
    if (at + len < c->feed_end && at[len] == ':') { /* the name is complete */
        c->in_gap = true;
        c->gap_from = at + len + 1;
        c->gap_lf = c->gap_fold = false;
    }
    return head_append(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (c->in_body) return count_trailer(c, len);
    if (c->hstate != H_VALUE) {
        if (c->nhdrs == 0) return -1; /* a value before any name: http-parser never does this */
        if (c->head.len == c->hdrs[c->nhdrs - 1].name)
            return fail_cb(c, 400, "malformed request: empty header field name");
        if (c->in_gap) gap_scan(c, c->gap_from ? c->gap_from : c->feed_start, at);
        c->in_gap = false;
        if (c->gap_fold) return fail_cb(c, 400, FOLD_MSG);
        if (hs_buf_append(&c->head, "", 1) != HS_OK) return fail_cb(c, 431, "request header fields too large");
        c->hdrs[c->nhdrs - 1].val = c->head.len;
        c->hstate = H_VALUE;
    } else if (c->value_done) { /* the line ended, yet the value goes on */
        return fail_cb(c, 400, FOLD_MSG);
    }
    /* The parser hands a value over at its line's end, or in pieces where a
     * read ends; only the first is followed by CR or LF (an empty value's
     * one call comes once the next line has begun). */
    c->value_done = len == 0 || (at + len < c->feed_end && (at[len] == '\r' || at[len] == '\n'));
    return head_append(c, at, len);
}

static bool expects_continue(const conn *c) {
    for (size_t i = 0; i < c->nhdrs; i++)
        if (strcasecmp(c->head.data + c->hdrs[i].name, "expect") == 0 &&
            strcasecmp(c->head.data + c->hdrs[i].val, "100-continue") == 0)
            return true;
    return false;
}

static void buf_reserve(hs_buf *b, size_t n) {
    if (n + 1 <= b->alloc) return;
    b->data = hs_realloc(b->data, n + 1);
    b->alloc = n + 1;
    b->data[b->len] = '\0';
}

static int on_headers_complete(http_parser *p) {
    conn *c = p->data;
    hs_http_server *srv = c->srv;
    if (head_end_string(c)) return -1;
    /* http-parser takes any digit pair; we speak HTTP/1.0 and 1.1 only. */
    if (p->http_major != 1 || p->http_minor > 1) return fail_cb(c, 505, "HTTP version not supported");
    /* method, spaces, "HTTP/1.1", and the two CRLFs around the headers */
    c->head_bytes += strlen(http_method_str((enum http_method)p->method)) + 14;
    if (c->head_bytes > srv->cfg.max_header_bytes) return fail_cb(c, 431, "request header fields too large");
    c->in_body = true;
    c->keep_alive = http_should_keep_alive(p) != 0;
    bool chunked = (p->flags & F_CHUNKED) != 0;
    if (p->flags & F_CONTENTLENGTH) {
        /* Refuse before a single body byte is read (or, with Expect, sent). */
        if (p->content_length > srv->cfg.max_body) return fail_cb(c, 413, "request body too large");
        c->body_expected = p->content_length;
        if (c->body_expected)
            buf_reserve(&c->body, c->body_expected < BODY_PREALLOC_MAX ? c->body_expected : BODY_PREALLOC_MAX);
    }
    /* RFC 9110 §10.1.1: no 100 to HTTP/1.0, and none when no body follows. */
    if ((c->body_expected || chunked) && p->http_major == 1 && p->http_minor >= 1 && expects_continue(c)) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        push_raw(c, hs_memdup(cont, sizeof cont - 1), sizeof cont - 1);
        conn_flush(c);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    conn *c = p->data;
    if (len > c->body.max - c->body.len) return fail_cb(c, 413, "request body too large");
    /* A declared length larger than the first reservation: one exact grow,
     * made only now that the bytes are actually arriving. */
    if (c->body_expected && c->body.len + len + 1 > c->body.alloc) buf_reserve(&c->body, c->body_expected);
    hs_buf_append(&c->body, at, len); /* cannot fail: checked above */
    return 0;
}

/* Copy the parsed request into one block: struct, header array, strings. */
static req_impl *req_build(conn *c) {
    hs_http_server *srv = c->srv;
    const char *target = c->head.data;
    const char *q = memchr(target, '?', c->target_len);
    size_t path_len = q ? (size_t)(q - target) : c->target_len;
    size_t ip_len = strlen(c->ip);
    size_t nh = c->nhdrs;

    char *block = hs_malloc(sizeof(req_impl) + nh * sizeof(hs_http_header) + c->head.len + path_len + 1 + ip_len + 1);
    req_impl *r = (req_impl *)(void *)block;
    memset(r, 0, sizeof *r);
    hs_http_header *hv = (hs_http_header *)(void *)(block + sizeof *r);
    char *strs = (char *)(hv + nh);
    memcpy(strs, c->head.data, c->head.len);
    char *path = strs + c->head.len;
    memcpy(path, strs, path_len);
    path[path_len] = '\0';
    char *ip = path + path_len + 1;
    memcpy(ip, c->ip, ip_len + 1);
    for (size_t i = 0; i < nh; i++) {
        hv[i].name = strs + c->hdrs[i].name;
        hv[i].value = strs + c->hdrs[i].val;
    }

    r->s.c = c;
    r->srv = srv;
    r->s.is_req = true;
    r->keep_alive = c->keep_alive;
    r->head_only = c->parser.method == HTTP_HEAD;
    r->upgrade = c->parser.upgrade != 0;
    hs_http_req *pub = &r->pub;
    pub->method = http_method_str((enum http_method)c->parser.method);
    pub->target = strs;
    pub->path = path;
    pub->query = q ? strs + (q - target) + 1 : "";
    pub->headers = hv;
    pub->nheaders = nh;
    if (c->body.len) {
        pub->body = hs_buf_detach(&c->body, &pub->body_len);
        r->body_owned = true;
    } else {
        pub->body = "";
    }
    pub->remote_ip = ip;
    request_id_new(srv, pub->request_id);
    pub->received_ns = hs_monotonic_ns();
    pub->http_minor = c->parser.http_minor;
    return r;
}

static int on_message_complete(http_parser *p) {
    conn *c = p->data;
    hs_http_server *srv = c->srv;
    if (c->closing) return -1;
    req_impl *r = req_build(c);
    c->in_message = false;
    c->in_body = false;
    if (c->head.alloc > HEAD_KEEP_MAX) hs_buf_free(&c->head); /* one huge request should not pin 16 KiB */
    fifo_push(c, &r->s);
    c->nqueued++;
    srv->stats.requests++;
    /* Connection: close / HTTP/1.0, or an upgrade (not supported here: what
     * follows is not HTTP), ends the input after this request. */
    if (!r->keep_alive || p->upgrade) {
        c->want_close = true;
        c->stop_input = true;
        c->upgrade_asked = p->upgrade != 0;
    }
    srv->handler(&r->pub, srv->ud);
    /* Pausing returns from http_parser_execute right after this message, so
     * the rest of the read can be stashed rather than queued without bound. */
    if (c->closing || c->stop_input || conn_full(c)) http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- input ------------------------------------------------------------ */

static void parse_failed(conn *c, enum http_errno err) {
    if (c->closing || c->stop_input) return; /* we stopped it ourselves */
    if (c->pending_status) {
        conn_fail(c, c->pending_status, c->pending_msg);
    } else if (err == HPE_HEADER_OVERFLOW) {
        conn_fail(c, 431, "request header fields too large");
    } else {
        char msg[128];
        snprintf(msg, sizeof msg, "malformed request: %s", http_errno_description(err));
        conn_fail(c, 400, msg);
    }
}

static void conn_feed(conn *c, const char *data, size_t len) {
    c->parsing = true;
    while (len > 0 && !c->closing && !c->stop_input && !conn_full(c)) {
        c->feed_start = data;
        c->feed_end = data + len;
        size_t n = http_parser_execute(&c->parser, &parser_settings, data, len);
        if (c->in_gap) { /* the input ended between a colon and its value */
            gap_scan(c, c->gap_from ? c->gap_from : data, data + n);
            c->gap_from = NULL;
        }
        data += n;
        len -= n;
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (err == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            /* Full of answered responses (a synchronous handler): send them
             * and go on; full of unanswered ones: the loop stops here. */
            if (conn_full(c)) conn_flush(c);
            continue;
        }
        if (err != HPE_OK) {
            parse_failed(c, err);
            break;
        }
        if (n == 0) break; /* cannot happen without an error; never spin */
    }
    c->parsing = false;
    if (len > 0 && !c->closing && !c->stop_input) {
        char *copy = hs_memdup(data, len); /* data may point into the old stash */
        stash_drop(c);
        c->stash = copy;
        c->stash_len = len;
    } else if (len > 0 && !c->closing && c->upgrade_asked && !c->upgrade_rest) {
        /* the new protocol's first bytes, for whoever takes the connection */
        c->upgrade_rest = hs_memdup(data, len);
        c->upgrade_rest_len = len;
    }
    if (c->upgrade_cb && !c->closing) conn_hand_over(c);
}

/* Feed held-back input while there is room; then read again if possible. */
static void conn_pump(conn *c) {
    if (c->parsing || c->pumping || c->closing || c->lingering) return;
    c->pumping = true;
    while (c->stash && !c->closing && !c->stop_input && !conn_full(c)) {
        char *data = c->stash;
        size_t len = c->stash_len;
        c->stash = NULL;
        c->stash_len = 0;
        conn_feed(c, data, len);
        hs_free(data);
        conn_flush(c);
        if (c->stash_len == len) break; /* no progress */
    }
    if (c->stop_input) stash_drop(c);
    c->pumping = false;
    update_reading(c);
}

static void conn_eof(conn *c) {
    c->eof = true;
    c->want_close = true;
    c->stop_input = true;
    c->reading = false; /* libuv stops reading at EOF */
    stash_drop(c);
    /* Answer what was received (a half-closed client still reads), then go. */
    if (!c->q_head && !c->nwrites) conn_close(c);
}

static void on_resume(uv_idle_t *idle) {
    hs_http_server *srv = idle->data;
    conn *list = srv->deferred;
    srv->deferred = NULL;
    uv_idle_stop(idle);
    for (conn *c = list, *next; c; c = next) {
        next = c->defer_next;
        c->defer_next = NULL;
        c->deferred = false;
        update_reading(c);
    }
}

/* libuv reads a stream up to 32 times per loop turn while each read fills
 * the buffer; with a synchronous handler that is ~100k pipelined requests
 * before any other connection is looked at. One full buffer per turn keeps
 * a flooding client from stalling the others. */
static void conn_defer(conn *c) {
    hs_http_server *srv = c->srv;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->deferred = true;
    if (!srv->deferred) uv_idle_start(&srv->resume, on_resume);
    c->defer_next = srv->deferred;
    srv->deferred = c;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    conn *c = s->data;
    hs_http_server *srv = c->srv;
    if (nread > 0 && !c->lingering && !c->closing) {
        conn_feed(c, buf->base, (size_t)nread);
        conn_flush(c);
        update_reading(c);
        if ((size_t)nread == buf->len && c->reading) conn_defer(c);
    } else if (nread < 0 && !c->closing) {
        if (nread == UV_EOF && !c->lingering)
            conn_eof(c);
        else
            conn_close(c);
    }
    read_buf_release(srv, buf);
}

/* ---- accepting ------------------------------------------------------- */

static void on_rejected_closed(uv_handle_t *h) { hs_free(h); }

static void peer_ip(conn *c) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    c->ip[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->ip, sizeof c->ip);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) /* dual-stack listener: show the IPv4 address */
            inet_ntop(AF_INET, &a->s6_addr[12], c->ip, sizeof c->ip);
        else
            inet_ntop(AF_INET6, a, c->ip, sizeof c->ip);
    }
}

/* A new connection of srv on its socket t (initialised on srv's loop, its
 * descriptor in it). */
static void conn_start(hs_http_server *srv, conn *c) {
    srv->stats.connections_accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    peer_ip(c);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->idle_since = now_ms(c);
    update_reading(c);
}

static conn *conn_new(hs_http_server *srv) {
    conn *c = hs_calloc(1, sizeof *c);
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    hs_buf_init(&c->head, srv->cfg.max_header_bytes);
    hs_buf_init(&c->body, srv->cfg.max_body);
    return c;
}

static bool refusing(const hs_http_server *srv) {
    return srv->shutting_down || srv->free_requested || srv->nconns >= (size_t)srv->cfg.max_connections;
}

/* A connection accepted on another loop, given to this server. */
typedef struct adopt_msg {
    hs_msg msg;
    hs_http_server *srv;
    int fd;
} adopt_msg;

static void run_adopt(hs_msg *m) {
    adopt_msg *x = (adopt_msg *)m;
    hs_http_server *srv = x->srv;
    int fd = x->fd;
    hs_free(x);
    if (refusing(srv)) {
        close(fd);
        return;
    }
    conn *c = conn_new(srv);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        conn_close(c);
        return;
    }
    conn_start(srv, c);
}

/* The accepted connection in server goes to the loop of `to`: a libuv handle
 * cannot move, so a duplicate of its descriptor does, and ours closes. */
static void hand_to(hs_http_server *srv, uv_stream_t *server, hs_http_server *to) {
    uv_tcp_t *t = hs_malloc(sizeof *t);
    uv_tcp_init(srv->loop, t);
    uv_os_fd_t fd;
    int dup_fd = -1;
    if (uv_accept(server, (uv_stream_t *)t) == 0 && uv_fileno((uv_handle_t *)t, &fd) == 0)
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    uv_close((uv_handle_t *)t, on_rejected_closed);
    if (dup_fd < 0) return;
    adopt_msg *x = hs_malloc(sizeof *x);
    x->srv = to;
    x->fd = dup_fd;
    hs_mailbox_post(to->mb, &x->msg, run_adopt);
}

static void on_connection(uv_stream_t *server, int status) {
    hs_http_server *srv = server->data;
    if (status < 0) { /* e.g. EMFILE, possibly for every connection attempt: warn once a second */
        if (uv_now(srv->loop) - srv->accept_warned_ms >= 1000) {
            srv->accept_warned_ms = uv_now(srv->loop);
            hs_warn("http: accept failed: %s", uv_strerror(status));
        }
        return;
    }
    /* in turn: this server, then each of the others */
    size_t turn = srv->next_spread;
    srv->next_spread = (turn + 1) % (srv->nspread + 1);
    if (turn > 0 && !srv->shutting_down) return hand_to(srv, server, srv->spread[turn - 1]);
    if (refusing(srv)) {
        /* Take it off the backlog and close it: cheaper for everyone than a
         * client waiting in a queue it cannot see. */
        uv_tcp_t *t = hs_malloc(sizeof *t);
        uv_tcp_init(srv->loop, t);
        (void)uv_accept(server, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, on_rejected_closed);
        return;
    }
    conn *c = conn_new(srv);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    conn_start(srv, c);
}

void hs_http_server_spread(hs_http_server *srv, hs_http_server *const *others, size_t n) {
    hs_free(srv->spread);
    srv->spread = n ? hs_memdup(others, n * sizeof *others) : NULL;
    srv->nspread = n;
    srv->next_spread = 0;
}

/* ---- timers ------------------------------------------------------------- */

/* One timer for all deadlines: a connection only stores timestamps, so
 * a request costs no timer operation at all. */
static void on_sweep(uv_timer_t *t) {
    hs_http_server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    for (conn *c = srv->conns; c; c = c->next) {
        if (c->closing) continue;
        if (c->lingering) {
            if (now - c->linger_since >= LINGER_MS) conn_close(c);
        } else if (c->nwrites) {
            /* bytes queued and none taken for an idle period: a peer that does not read */
            if (now - c->last_write >= srv->cfg.idle_timeout_ms) conn_close(c);
        } else if (c->in_message && !c->stop_input) {
            if (now - c->req_started >= srv->cfg.request_timeout_ms) conn_fail(c, 408, "request timeout");
        } else if (!c->q_head && !c->stash) {
            if (now - c->idle_since >= srv->cfg.idle_timeout_ms) conn_close(c);
        }
    }
}

static uint64_t sweep_interval(const hs_http_config *cfg) {
    uint64_t t = cfg->request_timeout_ms < cfg->idle_timeout_ms ? cfg->request_timeout_ms : cfg->idle_timeout_ms;
    t /= 4; /* a deadline is enforced at most a quarter late */
    return t < 10 ? 10 : t > 1000 ? 1000 : t;
}

/* ---- server lifecycle ------------------------------------------------- */

static void on_server_handle_closed(uv_handle_t *h) {
    hs_http_server *srv = h->data;
    srv->handles_open--;
    srv_maybe_release(srv);
}

static void close_server_handle(uv_handle_t *h, bool *open) {
    if (!*open) return;
    *open = false;
    uv_close(h, on_server_handle_closed);
}

static void srv_release(hs_http_server *srv) {
    hs_free(srv->spread);
    hs_free(srv->rbuf);
    hs_free(srv);
}

/* Called whenever a connection or server handle finished closing. The
 * server's own timers are closed last, and done (or the deferred free)
 * runs from the last close callback, when no libuv handle of the server
 * remains: after done, hs_http_server_free releases memory at once. */
static void srv_maybe_release(hs_http_server *srv) {
    if (srv->nconns > 0) return;
    if (srv->shutting_down || srv->free_requested) {
        close_server_handle((uv_handle_t *)&srv->sweep, &srv->sweep_open);
        close_server_handle((uv_handle_t *)&srv->shutdown_timer, &srv->shutdown_timer_open);
        close_server_handle((uv_handle_t *)&srv->resume, &srv->resume_open);
    }
    if (srv->handles_open > 0) return;
    if (srv->free_requested) {
        srv_release(srv);
    } else if (srv->shutting_down && !srv->done_called) {
        srv->done_called = true;
        if (srv->done) srv->done(srv->done_ud); /* may free srv: touch nothing after */
    }
}

int hs_http_server_new(uv_loop_t *loop, const hs_http_config *cfg, hs_http_handler_fn handler, void *ud,
                       hs_http_server **out) {
    if (!loop || !handler || !out) return HS_ERR_INVALID;
    hs_http_server *srv = hs_calloc(1, sizeof *srv);
    hs_http_config_defaults(&srv->cfg);
    if (cfg) { /* zero means "default" field by field */
        if (cfg->max_header_bytes) srv->cfg.max_header_bytes = cfg->max_header_bytes;
        if (cfg->max_body) srv->cfg.max_body = cfg->max_body;
        if (cfg->request_timeout_ms) srv->cfg.request_timeout_ms = cfg->request_timeout_ms;
        if (cfg->idle_timeout_ms) srv->cfg.idle_timeout_ms = cfg->idle_timeout_ms;
        if (cfg->shutdown_timeout_ms) srv->cfg.shutdown_timeout_ms = cfg->shutdown_timeout_ms;
        if (cfg->max_connections > 0) srv->cfg.max_connections = cfg->max_connections;
    }
    srv->loop = loop;
    srv->mb = hs_mailbox_current();
    srv->handler = handler;
    srv->ud = ud;
    srv->rbuf = hs_malloc(READ_BUF_SIZE);
    srv->idpool_used = ID_POOL_IDS; /* filled on first use */
    *out = srv;
    return HS_OK;
}

/* A peer that resets its connection while we write would otherwise kill
 * the process with SIGPIPE (libuv writes with writev). Only the default
 * disposition is replaced; a program that chose its own keeps it. */
static void ignore_sigpipe(void) {
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

static void start_timers(hs_http_server *srv);

int hs_http_server_listen(hs_http_server *srv, const char *host, int port, int *bound_port) {
    if (srv->listen_tried || srv->shutting_down) return UV_EALREADY; /* one listener per server */
    struct sockaddr_storage ss;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
    if (rc != 0) return rc;
    srv->listen_tried = true;
    ignore_sigpipe();
    uv_tcp_init(srv->loop, &srv->listener);
    srv->listener.data = srv;
    srv->listener_open = true;
    srv->handles_open++;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, SOMAXCONN, on_connection);
    if (rc == 0 && bound_port) {
        struct sockaddr_storage got;
        int len = sizeof got;
        rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&got, &len);
        if (rc == 0)
            *bound_port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                          : ((struct sockaddr_in *)&got)->sin_port);
    }
    if (rc != 0) {
        close_server_handle((uv_handle_t *)&srv->listener, &srv->listener_open);
        return rc;
    }
    start_timers(srv);
    return 0;
}

int hs_http_server_serve_handed(hs_http_server *srv) {
    if (srv->listen_tried || srv->shutting_down) return UV_EALREADY;
    srv->listen_tried = true;
    ignore_sigpipe();
    start_timers(srv);
    return 0;
}

/* The sweep and the resume idle, whether the server listens or is handed
 * its connections. */
static void start_timers(hs_http_server *srv) {
    uv_timer_init(srv->loop, &srv->sweep);
    srv->sweep.data = srv;
    srv->sweep_open = true;
    srv->handles_open++;
    uint64_t every = sweep_interval(&srv->cfg);
    uv_timer_start(&srv->sweep, on_sweep, every, every);
    uv_unref((uv_handle_t *)&srv->sweep); /* the listener keeps the loop alive, not the sweep */
    uv_idle_init(srv->loop, &srv->resume);
    srv->resume.data = srv;
    srv->resume_open = true;
    srv->handles_open++;
}

static void on_shutdown_timeout(uv_timer_t *t) {
    hs_http_server *srv = t->data;
    for (conn *c = srv->conns; c; c = c->next) conn_close(c); /* orphans what is unanswered */
}

void hs_http_server_shutdown(hs_http_server *srv, void (*done)(void *ud), void *ud) {
    if (srv->shutting_down || srv->free_requested) return;
    srv->shutting_down = true;
    srv->done = done;
    srv->done_ud = ud;
    close_server_handle((uv_handle_t *)&srv->listener, &srv->listener_open);
    uv_timer_init(srv->loop, &srv->shutdown_timer);
    srv->shutdown_timer.data = srv;
    srv->shutdown_timer_open = true;
    srv->handles_open++;
    uv_timer_start(&srv->shutdown_timer, on_shutdown_timeout, srv->cfg.shutdown_timeout_ms, 0);
    for (conn *c = srv->conns; c; c = c->next) {
        if (c->closing || c->lingering) continue;
        c->want_close = true;
        c->stop_input = true;
        stash_drop(c);
        update_reading(c);
        if (!c->q_head && !c->nwrites) conn_close(c); /* idle or mid-request: nothing owed */
        /* else: closes after its last answer is flushed (on_write) */
    }
    srv_maybe_release(srv); /* with no connections, done follows the timers' close */
}

void hs_http_server_free(hs_http_server *srv) {
    if (!srv) return;
    if (srv->nconns == 0 && srv->handles_open == 0) {
        srv_release(srv);
        return;
    }
    /* Freed without a completed shutdown: close everything now; the last
     * close callback releases the memory, so the caller must run the loop
     * once more (e.g. uv_run(loop, UV_RUN_DEFAULT)) before uv_loop_close. */
    srv->free_requested = true;
    srv->done = NULL;
    close_server_handle((uv_handle_t *)&srv->listener, &srv->listener_open);
    for (conn *c = srv->conns; c; c = c->next) conn_close(c);
    srv_maybe_release(srv);
}

void hs_http_server_stats(const hs_http_server *srv, hs_http_stats *out) {
    *out = srv->stats;
    out->connections_open = srv->nconns;
}

/* ---- requests -------------------------------------------------------- */

const char *hs_http_req_header(const hs_http_req *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

/* Called on another thread than the server's loop's. */
static bool off_loop(const hs_http_server *srv) { return srv->mb && hs_mailbox_current() != srv->mb; }

bool hs_http_req_orphaned(const hs_http_req *req) {
    const req_impl *r = container_of(req, const req_impl, pub);
    if (off_loop(r->srv)) return false; /* not known here: answer, the answer is dropped */
    return r->s.c == NULL;
}

/* Answered on another thread than its connection's: the answer (copied)
 * goes to the connection's loop. */
typedef struct answer_msg {
    hs_msg msg;
    hs_http_req *req;
    int status;
    char *content_type, *body;
    size_t body_len;
    hs_http_header *extra;
    size_t nextra;
} answer_msg;

static void run_answer(hs_msg *m) {
    answer_msg *x = (answer_msg *)m;
    hs_http_respond(x->req, x->status, x->content_type, x->body, x->body_len, x->extra, x->nextra);
    for (size_t i = 0; i < x->nextra; i++) {
        hs_free(x->extra[i].name);
        hs_free(x->extra[i].value);
    }
    hs_free(x->extra);
    hs_free(x->content_type);
    hs_free(x->body);
    hs_free(x);
}

static void answer_elsewhere(req_impl *r, int status, const char *content_type, const char *body, size_t body_len,
                             const hs_http_header *extra, size_t nextra) {
    answer_msg *x = hs_calloc(1, sizeof *x);
    x->req = &r->pub;
    x->status = status;
    x->content_type = content_type ? hs_strdup(content_type) : NULL;
    x->body = body ? hs_memdup(body, body_len ? body_len : 1) : NULL; /* not NUL-terminated */
    x->body_len = body ? body_len : 0;
    x->extra = nextra ? hs_calloc(nextra, sizeof *x->extra) : NULL;
    for (size_t i = 0; i < nextra; i++) {
        x->extra[i].name = hs_strdup(extra[i].name);
        x->extra[i].value = hs_strdup(extra[i].value);
    }
    x->nextra = nextra;
    hs_mailbox_post(r->srv->mb, &x->msg, run_answer);
}

void hs_http_respond(hs_http_req *req, int status, const char *content_type, const char *body, size_t body_len,
                     const hs_http_header *extra, size_t nextra) {
    req_impl *r = container_of(req, req_impl, pub);
    if (off_loop(r->srv)) return answer_elsewhere(r, status, content_type, body, body_len, extra, nextra);
    conn *c = r->s.c;
    if (!c) { /* the connection is gone: nobody to tell */
        slot_free(&r->s);
        return;
    }
    if (r->s.ready) { /* still queued, so detectable; once written it is gone */
        hs_error_log("http: request %s answered twice", req->request_id);
        return;
    }
    hs_http_server *srv = c->srv;
    if (hs_log_get_level() <= HS_LOG_DEBUG) /* the access log; built only when wanted */
        hs_logj(HS_LOG_DEBUG,
                json_pack("{s:s, s:s, s:s, s:i, s:f, s:s}", "request_id", req->request_id, "method", req->method,
                          "path", req->path, "status", status, "duration_ms",
                          (double)((hs_monotonic_ns() - req->received_ns) / 1000) / 1e3, "remote_ip", req->remote_ip),
                "request");
    /* "close" only on the response after which we really close: a pipelining
     * client would stop reading at the first one that says so. */
    bool close = !r->keep_alive || (c->want_close && !r->s.next && c->stop_input);
    hs_http_date_update(&srv->date);
    hs_http_head_opts o = {.status = status,
                           .content_type = content_type,
                           .extra = extra,
                           .nextra = nextra,
                           .request_id = req->request_id,
                           .close = close,
                           .head_only = r->head_only};
    r->s.out = hs_http_build_response(&srv->date, &o, body ? body : "", body ? body_len : 0, &r->s.out_len);
    r->s.ready = true;
    c->ready_bytes += r->s.out_len;
    if (r->body_owned) { /* the handler is done with it: release early */
        hs_free((char *)req->body);
        r->body_owned = false;
        req->body = "";
        req->body_len = 0;
    }
    if (c->parsing) return; /* the parse loop writes the whole batch */
    conn_flush(c);
    conn_pump(c);
}

void hs_http_respond_error(hs_http_req *req, int status, const char *message) {
    const req_impl *r = container_of(req, const req_impl, pub);
    if (!off_loop(r->srv) && hs_http_req_orphaned(req)) {
        hs_http_respond(req, status, NULL, NULL, 0, NULL, 0); /* frees it */
        return;
    }
    char stack[512];
    size_t len;
    char *body = hs_http_error_json(status, message, req->request_id, stack, sizeof stack, &len);
    hs_http_respond(req, status, "application/json", body, len, NULL, 0);
    if (body != stack) hs_free(body);
}

/* ---- upgrades ---------------------------------------------------------- */

/* The socket goes to the new owner as a duplicate descriptor: a libuv
 * handle cannot move to other memory, so ours is closed (silently: closing
 * one descriptor of a socket that has another sends nothing) and the new
 * owner opens its own handle on the duplicate. */
static void conn_hand_over(conn *c) {
    hs_http_upgrade_fn cb = c->upgrade_cb;
    void *ud = c->upgrade_ud;
    c->upgrade_cb = NULL;
    uv_os_fd_t fd;
    int dup_fd = -1;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) hs_warn("http: cannot hand over an upgraded connection: %s", strerror(errno));
    char *rest = c->upgrade_rest;
    size_t rest_len = c->upgrade_rest_len;
    c->upgrade_rest = NULL;
    c->upgrade_rest_len = 0;
    conn_close(c); /* frees the request: it counts as answered */
    cb(dup_fd, rest ? rest : "", rest_len, ud);
    hs_free(rest);
}

/* An upgrade asked from another thread than the connection's: made on the
 * connection's loop, its callback run back on the asking thread. */
typedef struct upgrade_msg {
    hs_msg msg;
    hs_http_req *req;
    hs_mailbox *asker;
    hs_http_upgrade_fn cb;
    void *ud;
    int fd;
    char *rest;
    size_t rest_len;
} upgrade_msg;

static void run_upgraded(hs_msg *m) {
    upgrade_msg *x = (upgrade_msg *)m;
    x->cb(x->fd, x->rest ? x->rest : "", x->rest_len, x->ud);
    hs_free(x->rest);
    hs_free(x);
}

static void upgraded_elsewhere(int fd, const char *rest, size_t rest_len, void *ud) {
    upgrade_msg *x = ud;
    x->fd = fd;
    x->rest = hs_malloc(rest_len + 1); /* rest is not NUL-terminated */
    memcpy(x->rest, rest, rest_len);
    x->rest[rest_len] = '\0';
    x->rest_len = rest_len;
    hs_mailbox_post(x->asker, &x->msg, run_upgraded);
}

static void run_upgrade(hs_msg *m) {
    upgrade_msg *x = (upgrade_msg *)m;
    hs_http_req *req = x->req;
    if (hs_http_upgrade(req, upgraded_elsewhere, x) == HS_OK) return;
    hs_free(x);
    hs_http_respond_error(req, 400, "the connection cannot be upgraded now (responses to earlier requests are owed)");
}

int hs_http_upgrade(hs_http_req *req, hs_http_upgrade_fn cb, void *ud) {
    req_impl *r = container_of(req, req_impl, pub);
    if (cb && off_loop(r->srv)) {
        upgrade_msg *x = hs_calloc(1, sizeof *x);
        x->req = req;
        x->asker = hs_mailbox_current();
        x->cb = cb;
        x->ud = ud;
        hs_mailbox_post(r->srv->mb, &x->msg, run_upgrade);
        return HS_OK;
    }
    conn *c = r->s.c;
    /* only the oldest unanswered request, with nothing of ours still to
     * write before it: the new protocol's bytes must come right after */
    if (!cb || !c || !r->upgrade || r->s.ready || c->q_head != &r->s || c->nwrites || c->closing || c->lingering ||
        c->srv->shutting_down)
        return HS_ERR_INVALID;
    c->upgrade_cb = cb;
    c->upgrade_ud = ud;
    r->s.ready = true; /* no bytes: the new owner writes its own response */
    c->srv->stats.upgrades++;
    if (!c->parsing) conn_hand_over(c); /* else at the end of the parse loop */
    return HS_OK;
}
