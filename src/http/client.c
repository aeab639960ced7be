/* src/http/client.c — libcurl's multi-socket API driven by libuv (design:
 * docs/http_client.md).
 *
 * curl owns the sockets and the connection cache; we only tell it when a
 * socket is ready (one uv_poll_t per socket curl asks us to watch) and when
 * its single timer expires (one uv_timer_t). Results come out of
 * curl_multi_info_read after each curl_multi_socket_action.
 *
 * A connection's poll handle outlives the transfer: when curl stops
 * watching a kept-alive connection the handle is parked, still registered
 * with epoll, and the next transfer on that connection takes it back
 * without a system call. curl closes connection sockets through
 * on_close_socket, which is where a parked handle ends.
 *
 * Re-entrancy rules kept here: no curl_multi_* call from inside a curl
 * callback (socket, timer, header, write); user callbacks run only from loop
 * callbacks, after curl has returned, so they may send, cancel or close.
 */
#include "http/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/json_text.h"
#include "http/netguard.h"
#include "base/log.h"

#define CONNECT_TIMEOUT_MAX_MS 10000
#define DEFAULT_TIMEOUT_MS 30000 /* used when a request says 0: never wait forever */
#define MAX_CONNECTS 256
#define RESP_HEADER_LINES_MAX 256 /* response header lines kept */

typedef enum { CALL_RUNNING, CALL_QUEUED, CALL_DELIVERING } call_state;

/* Why we stopped reading a response that breaks our limits (src/http/outbound.h). */
typedef enum { REFUSE_NONE = 0, REFUSE_HEADERS, REFUSE_CHUNK_LINE, REFUSE_CHUNK_FORM, REFUSE_TRAILERS } refusal;

/* Where the chunk decoder is in a chunked body (RFC 9112 §7.1). */
typedef enum { CH_SIZE = 0, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_DONE } chunk_state;

typedef struct sock_ctx {
    uv_poll_t poll;
    hs_http_client *c;
    curl_socket_t fd;
    int events;  /* what the handle watches: what curl last asked for, 0 once stopped */
    bool parked; /* curl is not watching it (an idle kept-alive connection) */
    bool closed;
    struct sock_ctx *prev, *next;
} sock_ctx;

/* What we know of one fd number. */
typedef struct fd_slot {
    sock_ctx *sc; /* its poll handle, parked or not */
    bool conn;    /* opened by curl as a connection (CURLOPT_SOCKOPTFUNCTION), so closed
                   * through on_close_socket: its handle may be parked */
} fd_slot;

struct hs_http_call {
    hs_http_client *c;
    CURL *easy;
    struct curl_slist *hdrs;
    hs_out_req *req;
    hs_http_call_cb cb;
    void *ud;
    call_state state;
    hs_http_call *prev, *next; /* running list while RUNNING; delivery queue (next) while QUEUED */
    uint64_t start_ns, timeout_ms, connect_timeout_ms;
    /* the final response's header lines, "name\0value\0" each, names
     * lowercased, in arrival order: hs_out_resp.headers */
    hs_buf rh;
    size_t rh_lines;
    size_t header_bytes;
    size_t header_total; /* every header byte received, 1xx blocks included */
    bool in_headers, headers_full;
    hs_buf body;
    size_t drained; /* bytes read and not kept */
    bool truncated, cut, body_seen;
    /* curl's transfer decoding is off: a chunked body comes with its
     * framing, which unchunk() decodes (and bounds) */
    bool chunked, ch_digits;
    chunk_state ch_state;
    uint64_t ch_left; /* the chunk size being read, then what is left of the chunk */
    size_t ch_line;   /* bytes of the chunk-size line so far */
    refusal refused;
    hs_out_resp *resp;
    hs_netguard_refusal guard; /* set when the SSRF guard refused the address */
    char errbuf[CURL_ERROR_SIZE];
};

struct hs_http_client {
    uv_loop_t *loop;
    CURLM *multi; /* NULL once closing */
    uv_timer_t timer;
    uv_idle_t idle; /* delivers cancelled calls: cancel must not call back synchronously */
    hs_http_call *running;
    hs_http_call *queue_head, *queue_tail;
    sock_ctx *socks;
    fd_slot *fds; /* indexed by fd */
    size_t nfds;
    size_t active;
    int open_handles; /* uv handles whose close callback has not run yet */
    bool closing, handles_closing;
    void (*done)(void *ud);
    void *done_ud;
};

/* curl_global_init is not thread-safe and must run once per process; it is
 * never undone (curl_global_cleanup at exit buys nothing). */
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc;
static void curl_init_once(void) { g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static void check_done(hs_http_client *c);

/* ---- uv handles ---------------------------------------------------------- */

static void handle_gone(hs_http_client *c) {
    if (--c->open_handles == 0 && c->handles_closing) {
        if (c->done) c->done(c->done_ud);
        hs_free(c->fds);
        hs_free(c);
    }
}

static fd_slot *slot_of(hs_http_client *c, curl_socket_t fd) {
    if (fd < 0) return NULL;
    if ((size_t)fd >= c->nfds) {
        size_t n = c->nfds ? c->nfds : 64;
        while (n <= (size_t)fd) n *= 2;
        c->fds = hs_realloc(c->fds, n * sizeof *c->fds);
        memset(c->fds + c->nfds, 0, (n - c->nfds) * sizeof *c->fds);
        c->nfds = n;
    }
    return &c->fds[fd];
}

static void on_handle_closed(uv_handle_t *h) { handle_gone(h->data); }

static void on_sock_closed(uv_handle_t *h) {
    sock_ctx *sc = h->data;
    hs_http_client *c = sc->c;
    hs_free(sc);
    handle_gone(c);
}

static void sock_close(sock_ctx *sc) {
    if (sc->closed) return;
    sc->closed = true;
    hs_http_client *c = sc->c;
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        c->socks = sc->next;
    if (sc->next) sc->next->prev = sc->prev;
    fd_slot *slot = slot_of(c, sc->fd);
    if (slot->sc == sc) slot->sc = NULL;
    /* uv_close stops polling now, so curl may close the fd right after */
    uv_close((uv_handle_t *)&sc->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void sock_watch(sock_ctx *sc, int events) {
    /* uv_poll_start always re-registers the fd with epoll (two system
     * calls), so only call it when what is watched changes */
    if (events == sc->events && uv_is_active((uv_handle_t *)&sc->poll)) return;
    sc->events = events;
    int rc = uv_poll_start(&sc->poll, events, on_poll);
    if (rc != 0) hs_warn("http client: cannot poll socket %d: %s", (int)sc->fd, uv_strerror(rc));
}

/* curl no longer watches the socket. A connection stays open in curl's
 * cache: keep its handle (and epoll registration) for the next transfer.
 * Anything else (a resolver's socketpair) curl may close without telling
 * on_close_socket, so its handle goes now. */
static void sock_release(sock_ctx *sc) {
    if (!slot_of(sc->c, sc->fd)->conn || sc->c->closing) {
        sock_close(sc);
        return;
    }
    sc->parked = true;
    uv_unref((uv_handle_t *)&sc->poll); /* an idle connection does not keep the loop alive */
}

static void on_poll(uv_poll_t *h, int status, int events) {
    sock_ctx *sc = h->data;
    hs_http_client *c = sc->c;
    if (!c->multi || sc->closed) return;
    if (sc->parked) {
        /* an idle connection turned readable: the peer closed it (or sent
         * what it should not have). Stop watching; curl's own check finds
         * it dead before any reuse and closes it. */
        uv_poll_stop(&sc->poll);
        sc->events = 0;
        return;
    }
    /* On an error (libuv sees POLLERR, e.g. after a reset) pass no flags:
     * curl then checks the socket itself, reads what arrived before the
     * reset and reports the real cause instead of a generic poll error. */
    int flags = 0;
    if (status >= 0) {
        if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(c->multi, sc->fd, flags, &running);
    /* libuv stops a handle that reported an error, but curl only speaks up
     * when what it wants changes: resume watching if it still wants it */
    if (status < 0 && !sc->closed && !sc->parked && sc->events) sock_watch(sc, sc->events);
    check_done(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)easy;
    hs_http_client *c = userp;
    sock_ctx *sc = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sc) sock_release(sc);
        return 0;
    }
    if (sc && sc->closed) return 0; /* only during close: curl is being torn down */
    if (!sc) {
        if (c->closing) return 0;
        fd_slot *slot = slot_of(c, s);
        sc = slot->sc; /* a parked handle: this connection is reused */
        if (!sc) {
            sc = hs_calloc(1, sizeof *sc);
            sc->c = c;
            sc->fd = s;
            /* Returning -1 would mark the whole multi handle dead; a socket we
             * cannot watch instead stalls one transfer until its timeout. */
            int rc = uv_poll_init_socket(c->loop, &sc->poll, s);
            if (rc != 0) {
                hs_warn("http client: cannot watch socket %d: %s", (int)s, uv_strerror(rc));
                hs_free(sc);
                return 0;
            }
            sc->poll.data = sc;
            c->open_handles++;
            sc->next = c->socks;
            if (c->socks) c->socks->prev = sc;
            c->socks = sc;
            slot->sc = sc;
        } else {
            sc->parked = false;
            uv_ref((uv_handle_t *)&sc->poll);
        }
        curl_multi_assign(c->multi, s, sc);
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    sock_watch(sc, events);
    return 0;
}

/* CURLOPT_SOCKOPTFUNCTION: curl created fd for a connection. */
static int on_sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose) {
    hs_http_client *c = clientp;
    if (purpose == CURLSOCKTYPE_IPCXN) slot_of(c, fd)->conn = true;
    return CURL_SOCKOPT_OK;
}

/* CURLOPT_CLOSESOCKETFUNCTION: curl closes a connection socket. Its handle
 * (parked, or still watched while curl tears the transfer down) must stop
 * polling before the fd number can come back for another socket. */
static int on_close_socket(void *clientp, curl_socket_t fd) {
    hs_http_client *c = clientp;
    fd_slot *slot = slot_of(c, fd);
    if (slot->sc) sock_close(slot->sc);
    slot->conn = false;
    return close(fd) == 0 ? 0 : 1;
}

static void on_timer(uv_timer_t *t) {
    hs_http_client *c = t->data;
    if (!c->multi) return;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    hs_http_client *c = userp;
    if (c->closing) return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- response collection (curl callbacks: must not call curl_multi_*) ---- */

static bool is_tchar(unsigned char ch) { return ch > 0x20 && ch < 0x7f && ch != ':'; }

/* Does a Transfer-Encoding value name chunked? Read as curl 7.88 reads it
 * (content_encoding.c): comma-separated names, blanks around them ignored,
 * "chunked" anywhere in the list. Both must agree on which bodies are
 * chunked: curl finds the body's end, unchunk() its content. */
static bool te_chunked(const char *v, size_t len) {
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t start = i, end = i;
        for (; i < len && v[i] != ','; i++)
            if (v[i] != ' ' && v[i] != '\t') end = i + 1;
        if (end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0) return true;
    }
    return false;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
    hs_http_call *call = ud;
    size_t total = size * n, len = total;
    /* a bound of our own, below curl's (its 100 KB per line comes out as
     * "Out of memory", see finish()) */
    call->header_total += total;
    if (call->header_total > HS_OUT_RESP_HEADERS_LIMIT) {
        call->refused = REFUSE_HEADERS;
        return 0; /* curl stops the transfer */
    }
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new status line: only the final response's headers are kept
         * (drops 100 Continue and the like) */
        hs_buf_reset(&call->rh);
        call->rh_lines = 0;
        call->header_bytes = 0;
        call->headers_full = false;
        call->in_headers = true;
        call->chunked = false;
        return total;
    }
    if (!call->in_headers) return total; /* trailers */
    if (len == 0) {
        call->in_headers = false;
        return total;
    }
    /* the prefix curl's own check uses; read even past the kept lines */
    if (len > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0 && te_chunked(p + 18, len - 18)) call->chunked = true;
    if (call->headers_full || total > HS_OUT_RESP_HEADERS_MAX - call->header_bytes ||
        call->rh_lines >= RESP_HEADER_LINES_MAX) {
        call->headers_full = true;
        return total;
    }
    call->header_bytes += total;
    size_t i = 0;
    if (p[0] == ' ' || p[0] == '\t') { /* obs-fold: continues the previous value, the last entry */
        while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
        if (call->rh_lines && i < len) {
            call->rh.len--; /* over the value's NUL */
            hs_buf_append(&call->rh, " ", 1);
            hs_buf_append(&call->rh, p + i, len - i);
            hs_buf_append(&call->rh, "", 1);
        }
        return total;
    }
    while (i < len && is_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= len || p[i] != ':') return total; /* not a field line: ignore it */
    size_t vs = i + 1, ve = len;
    while (vs < ve && (p[vs] == ' ' || p[vs] == '\t')) vs++;
    while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t')) ve--;
    size_t at = call->rh.len;
    hs_buf_append(&call->rh, p, i);
    hs_buf_append(&call->rh, "", 1);
    for (char *k = call->rh.data + at; *k; k++)
        if (*k >= 'A' && *k <= 'Z') *k = (char)(*k - 'A' + 'a');
    hs_buf_append(&call->rh, p + vs, ve - vs);
    hs_buf_append(&call->rh, "", 1);
    call->rh_lines++;
    return total;
}

/* Keeps what fits of len body bytes; returns how many. */
static size_t keep_body(hs_http_call *call, const char *p, size_t len) {
    size_t room = HS_OUT_RESP_BODY_MAX - call->body.len;
    size_t keep = len < room ? len : room;
    if (keep) hs_buf_append(&call->body, p, keep);
    if (len > keep) call->truncated = true;
    return keep;
}

static void chunk_line_start(hs_http_call *call) {
    call->ch_state = CH_SIZE;
    call->ch_left = 0;
    call->ch_line = 0;
    call->ch_digits = false;
}

static int hex_digit(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* One byte of a chunk-size line: 1*HEXDIG, then an extension (";...",
 * blanks first allowed) skipped up to the LF. A size past
 * HS_OUT_RESP_CHUNK_MAX is more than would ever be read: the read is cut
 * there and then (so any number of digits is safe, and a receiver that
 * announces 2^63 bytes is not waited for). */
static void chunk_line_byte(hs_http_call *call, unsigned char ch) {
    if (++call->ch_line > HS_OUT_RESP_CHUNK_LINE_MAX) {
        call->refused = REFUSE_CHUNK_LINE;
    } else if (ch == '\n') {
        if (!call->ch_digits)
            call->refused = REFUSE_CHUNK_FORM;
        else
            call->ch_state = call->ch_left ? CH_DATA : CH_DONE; /* after the last chunk: trailers */
    } else if (call->ch_state == CH_EXT) {
        /* skipped */
    } else if (hex_digit(ch) >= 0) {
        call->ch_left = call->ch_left * 16 + (uint64_t)hex_digit(ch);
        call->ch_digits = true;
        if (call->ch_left > HS_OUT_RESP_CHUNK_MAX) call->cut = true;
    } else if (call->ch_digits && (ch == ';' || ch == ' ' || ch == '\t' || ch == '\r')) {
        call->ch_state = CH_EXT;
    } else {
        call->refused = REFUSE_CHUNK_FORM;
    }
}

/* Decodes len bytes of a chunked body (with curl's transfer decoding off,
 * it hands us the framing; it still finds the body's end itself). Returns
 * the data bytes kept; sets call->refused on what breaks the rules. */
static size_t unchunk(hs_http_call *call, const char *p, size_t len) {
    size_t kept = 0, i = 0;
    while (i < len && call->refused == REFUSE_NONE && !call->cut) {
        unsigned char ch = (unsigned char)p[i];
        switch (call->ch_state) {
        case CH_SIZE:
        case CH_EXT: chunk_line_byte(call, ch); break;
        case CH_DATA: {
            size_t take = len - i < call->ch_left ? len - i : (size_t)call->ch_left;
            kept += keep_body(call, p + i, take);
            call->ch_left -= take;
            i += take;
            if (call->ch_left == 0) call->ch_state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
        case CH_DATA_LF: /* the CRLF after the data (a bare LF will do) */
            if (ch == '\n')
                chunk_line_start(call);
            else if (ch == '\r' && call->ch_state == CH_DATA_CR)
                call->ch_state = CH_DATA_LF;
            else
                call->refused = REFUSE_CHUNK_FORM;
            break;
        case CH_DONE: /* trailers: curl reads them (not recorded); header bytes all the same */
            call->header_total += len - i;
            if (call->header_total > HS_OUT_RESP_HEADERS_LIMIT) call->refused = REFUSE_HEADERS;
            return kept;
        }
        i++;
    }
    return kept;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    hs_http_call *call = ud;
    size_t len = size * n;
    call->body_seen = true;
    size_t kept = call->chunked ? unchunk(call, p, len) : keep_body(call, p, len);
    if (call->refused) return CURL_WRITEFUNC_ERROR;
    call->drained += len - kept; /* chunk framing counts too */
    if (call->cut || call->drained > HS_OUT_RESP_DRAIN_MAX) {
        call->cut = call->truncated = true;
        return CURL_WRITEFUNC_ERROR; /* the receiver keeps talking: stop reading */
    }
    return len;
}

/* ---- completion ------------------------------------------------------------ */

static void running_unlink(hs_http_call *call) {
    hs_http_client *c = call->c;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->running = call->next;
    if (call->next) call->next->prev = call->prev;
    call->prev = call->next = NULL;
}

static void call_release(hs_http_call *call) {
    if (call->easy) curl_easy_cleanup(call->easy);
    hs_free(call->hdrs); /* one block: header_lines */
    hs_buf_free(&call->rh);
    hs_buf_free(&call->body);
    if (call->req) {
        hs_out_req_free(call->req);
        hs_free(call->req);
    }
    call->easy = NULL;
    call->hdrs = NULL;
    call->req = NULL;
}

static void refusal_message(refusal why, char *out, size_t cap) {
    switch (why) {
    case REFUSE_HEADERS: snprintf(out, cap, "response headers larger than %d bytes", HS_OUT_RESP_HEADERS_LIMIT); break;
    case REFUSE_CHUNK_LINE:
        snprintf(out, cap, "response chunk-size line longer than %d bytes", HS_OUT_RESP_CHUNK_LINE_MAX);
        break;
    case REFUSE_TRAILERS: snprintf(out, cap, "response trailers refused: a line over 4 KiB or malformed"); break;
    default: snprintf(out, cap, "malformed response chunk (RFC 9112 chunked framing)"); break;
    }
}

/* curl itself refused the trailers after the last chunk: a trailer line
 * over its 4 KiB limit comes out as "Out of memory in chunked-encoding". */
static bool trailers_refused(const hs_http_call *call, CURLcode rc) {
    return rc == CURLE_RECV_ERROR && call->chunked && call->ch_state == CH_DONE &&
           strstr(call->errbuf, "in chunked-encoding");
}

/* Turns what curl collected into call->resp and lets go of curl. forced is
 * a non-zero hs_err when we stopped the transfer ourselves. */
static void finish(hs_http_call *call, CURLcode rc, int forced, const char *forced_msg) {
    hs_http_client *c = call->c;
    hs_out_resp *r = hs_calloc(1, sizeof *r);
    long status = 0;
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = (int)status;
    if (call->rh.len) r->headers = hs_buf_detach(&call->rh, &r->headers_len); /* JSON on the writer */
    if (call->body.len) r->body = hs_buf_detach(&call->body, &r->body_len);
    r->body_truncated = call->truncated;
    r->duration_ms = (uv_hrtime() - call->start_ns) / 1000000;
    if (forced) {
        r->error = forced;
        snprintf(r->errmsg, sizeof r->errmsg, "%s", forced_msg);
    } else if (call->refused || (rc == CURLE_OUT_OF_MEMORY && !call->body_seen) || trailers_refused(call, rc)) {
        /* curl 7.88 reports a status or header line over its own 100 KB
         * limit as "Out of memory": before the body that is the same
         * refusal as ours */
        r->error = HS_ERR_IO;
        refusal_message(call->refused     ? call->refused
                        : call->body_seen ? REFUSE_TRAILERS
                                          : REFUSE_HEADERS,
                        r->errmsg, sizeof r->errmsg);
    } else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && call->cut)) {
        r->error = 0; /* a cut-off body still is the receiver's answer */
    } else if (call->guard.addr[0]) {
        /* the destination's address is not public: sending again will not change that */
        r->error = HS_ERR_PERMANENT;
        hs_netguard_message(&call->guard, r->errmsg, sizeof r->errmsg);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected = 0;
        curl_easy_getinfo(call->easy, CURLINFO_CONNECT_TIME_T, &connected);
        r->error = HS_ERR_TIMEOUT;
        if (connected == 0 && call->connect_timeout_ms < call->timeout_ms)
            snprintf(r->errmsg, sizeof r->errmsg, "connect timed out after %llu ms",
                     (unsigned long long)call->connect_timeout_ms);
        else
            snprintf(r->errmsg, sizeof r->errmsg, "timed out after %llu ms", (unsigned long long)call->timeout_ms);
    } else {
        r->error = HS_ERR_IO;
        if (call->errbuf[0])
            snprintf(r->errmsg, sizeof r->errmsg, "%s: %.200s", curl_easy_strerror(rc), call->errbuf);
        else
            snprintf(r->errmsg, sizeof r->errmsg, "%s", curl_easy_strerror(rc));
    }
    call->resp = r;
    curl_multi_remove_handle(c->multi, call->easy);
    call_release(call);
    running_unlink(call);
}

static void deliver(hs_http_call *call) {
    hs_http_client *c = call->c;
    hs_out_resp *r = call->resp;
    call->resp = NULL;
    call->state = CALL_DELIVERING;
    c->active--;
    if (call->cb) {
        call->cb(call, r, call->ud);
    } else {
        hs_out_resp_free(r);
        hs_free(r);
    }
    hs_free(call);
}

static void check_done(hs_http_client *c) {
    CURLMsg *m;
    int left;
    /* c->multi turns NULL when a callback closes the client */
    while (c->multi && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        hs_http_call *call = (hs_http_call *)priv;
        finish(call, m->data.result, 0, NULL);
        deliver(call);
    }
}

static void close_handles(hs_http_client *c) {
    c->handles_closing = true;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

static void on_idle(uv_idle_t *h) {
    hs_http_client *c = h->data;
    hs_http_call *call;
    while ((call = c->queue_head)) {
        c->queue_head = call->next;
        if (!c->queue_head) c->queue_tail = NULL;
        deliver(call);
    }
    uv_idle_stop(h);
    if (c->closing && !c->handles_closing) close_handles(c);
}

static void cancel_call(hs_http_call *call, const char *why) {
    hs_http_client *c = call->c;
    finish(call, CURLE_OK, HS_ERR_CLOSED, why);
    call->state = CALL_QUEUED;
    call->next = NULL;
    if (c->queue_tail)
        c->queue_tail->next = call;
    else
        c->queue_head = call;
    c->queue_tail = call;
    uv_idle_start(&c->idle, on_idle);
}

/* ---- request setup --------------------------------------------------------- */

static bool method_ok(const char *m) {
    static const char *const ok[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(m, ok[i]) == 0) return true;
    return false;
}

/* Only http(s): CURLOPT_PROTOCOLS_STR enforces it too, and curl reports a
 * malformed URL as a transfer error; no second parse here (it showed in
 * profiles). */
static bool url_ok(const char *url) {
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static int validate(const hs_out_req *req) {
    if (!req->method || !method_ok(req->method)) return HS_ERR_INVALID;
    if (!req->url || !url_ok(req->url)) return HS_ERR_INVALID;
    if (req->body_len && !req->body) return HS_ERR_INVALID;
    if (req->nheaders > HS_OUT_MAX_HEADERS) return HS_ERR_INVALID;
    for (size_t i = 0; i < req->nheaders; i++) {
        const hs_out_header *h = &req->headers[i];
        if (!h->name || !h->value || !h->name[0]) return HS_ERR_INVALID;
        for (const char *p = h->name; *p; p++)
            if (!is_tchar((unsigned char)*p)) return HS_ERR_INVALID;
        if (strpbrk(h->value, "\r\n")) return HS_ERR_INVALID; /* no header injection */
    }
    return HS_OK;
}

/* The header lines for CURLOPT_HTTPHEADER in one allocation: the list
 * nodes (struct curl_slist is public), then the text they point to.
 * curl_slist_append would cost two allocations per line, on every
 * delivery. Freed with hs_free, never curl_slist_free_all. */
static struct curl_slist *header_lines(const hs_out_req *req) {
    const char *extra[2];
    size_t nextra = 0, text = 0;
    /* curl would add Expect: 100-continue to big bodies (a round trip
     * receivers often mishandle) and a form Content-Type to every body:
     * "Name:" with nothing after it removes a header curl adds */
    if (!hs_out_req_header(req, "Expect")) extra[nextra++] = "Expect:";
    if (!hs_out_req_header(req, "Content-Type")) extra[nextra++] = "Content-Type:";
    size_t n = req->nheaders + nextra;
    if (n == 0) return NULL;
    for (size_t i = 0; i < req->nheaders; i++)
        text += strlen(req->headers[i].name) + 2 + strlen(req->headers[i].value) + 1;
    for (size_t i = 0; i < nextra; i++) text += strlen(extra[i]) + 1;
    struct curl_slist *nodes = hs_malloc(n * sizeof *nodes + text);
    char *p = (char *)(nodes + n);
    for (size_t i = 0; i < n; i++) {
        nodes[i].data = p;
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
        if (i < req->nheaders) {
            const hs_out_header *h = &req->headers[i];
            size_t nl = strlen(h->name), vl = strlen(h->value);
            memcpy(p, h->name, nl);
            p += nl;
            /* curl drops "Name:" (empty value); "Name;" sends it empty */
            if (vl) {
                memcpy(p, ": ", 2);
                p += 2;
            } else {
                *p++ = ';';
            }
            memcpy(p, h->value, vl + 1);
            p += vl + 1;
        } else {
            size_t el = strlen(extra[i - req->nheaders]);
            memcpy(p, extra[i - req->nheaders], el + 1);
            p += el + 1;
        }
    }
    return nodes;
}

static int setup_easy(hs_http_call *call) {
    const hs_out_req *req = call->req;
    CURL *e = call->easy;
    call->hdrs = header_lines(req);

    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                                                  \
    do {                                                                                                               \
        if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val);                                                        \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)call->connect_timeout_ms);
    SET(CURLOPT_PRIVATE, (void *)call);
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)call);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_HTTP_TRANSFER_DECODING, 0L); /* chunks: unchunk() */
    SET(CURLOPT_WRITEDATA, (void *)call);
    SET(CURLOPT_HTTPHEADER, call->hdrs);
    SET(CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    SET(CURLOPT_SOCKOPTDATA, (void *)call->c);
    SET(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, (void *)call->c);
    if (strcmp(req->method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L); /* a body on GET is not sent */
    } else {
        /* the size first: the body is binary and may hold NUL bytes */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (strcmp(req->method, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, req->method);
    }
#undef SET
    if (rc == CURLE_OK) rc = hs_netguard_arm(e, &call->guard);
    if (rc != CURLE_OK) {
        hs_warn("http client: curl_easy_setopt: %s", curl_easy_strerror(rc));
        return rc == CURLE_OUT_OF_MEMORY ? HS_ERR_NOMEM : HS_ERR_INTERNAL;
    }
    return HS_OK;
}

/* ---- public API ------------------------------------------------------------ */

int hs_http_client_new(uv_loop_t *loop, hs_http_client **out) {
    *out = NULL;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK) return HS_ERR_INTERNAL;
    hs_http_client *c = hs_calloc(1, sizeof *c);
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi) {
        hs_free(c);
        return HS_ERR_INTERNAL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTS);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_idle_init(loop, &c->idle);
    c->idle.data = c;
    c->open_handles = 2;
    *out = c;
    return HS_OK;
}

int hs_http_client_send(hs_http_client *c, hs_out_req *req, hs_http_call_cb cb, void *ud, hs_http_call **out) {
    if (out) *out = NULL;
    if (!req) return HS_ERR_INVALID;
    int rc = c->closing ? HS_ERR_CLOSED : validate(req);
    if (rc) {
        hs_out_req_free(req);
        hs_free(req);
        return rc;
    }
    hs_http_call *call = hs_calloc(1, sizeof *call);
    call->c = c;
    call->req = req;
    call->cb = cb;
    call->ud = ud;
    call->timeout_ms = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    call->connect_timeout_ms = call->timeout_ms < CONNECT_TIMEOUT_MAX_MS ? call->timeout_ms : CONNECT_TIMEOUT_MAX_MS;
    hs_buf_init(&call->rh, SIZE_MAX); /* bounded by HS_OUT_RESP_HEADERS_MAX in on_header */
    hs_buf_init(&call->body, HS_OUT_RESP_BODY_MAX);
    call->easy = curl_easy_init();
    rc = call->easy ? setup_easy(call) : HS_ERR_INTERNAL;
    call->start_ns = uv_hrtime();
    /* adding only arms the timer (at 0 ms): nothing runs until the loop does */
    if (rc == HS_OK && curl_multi_add_handle(c->multi, call->easy) != CURLM_OK) rc = HS_ERR_INTERNAL;
    if (rc) {
        call_release(call);
        hs_free(call);
        return rc;
    }
    call->state = CALL_RUNNING;
    call->next = c->running;
    if (c->running) c->running->prev = call;
    c->running = call;
    c->active++;
    if (out) *out = call;
    return HS_OK;
}

void hs_http_client_cancel(hs_http_client *c, hs_http_call *call) {
    if (!call || c->closing || call->state != CALL_RUNNING) return;
    cancel_call(call, "cancelled");
}

size_t hs_http_client_active(const hs_http_client *c) { return c->active; }

void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud) {
    if (c->closing) return;
    c->closing = true;
    c->done = done;
    c->done_ud = ud;
    uv_timer_stop(&c->timer);
    while (c->running) cancel_call(c->running, "client closed");
    /* stop watching before curl closes its sockets: libuv must not poll a
     * closed (and maybe reused) fd */
    while (c->socks) sock_close(c->socks);
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_idle_start(&c->idle, on_idle); /* done runs from the loop even when nothing was pending */
}
