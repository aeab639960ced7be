/* src/http/server.h — HTTP/1.1 server on a libuv loop (http-parser for parsing).
 *
 * One hs_http_server owns a listening TCP socket and its connections. For every
 * complete request it calls the handler on the loop thread; the handler (or
 * anything later, on the loop thread) answers with exactly one call to
 * hs_http_respond(). Until then the request stays valid even if the client
 * goes away; responding to a request whose connection is gone just frees it.
 *
 * Keep-alive and pipelining: requests of one connection are parsed as bytes
 * arrive and queued; responses are written in request order, whatever order
 * the handler answers them in. A connection reads at most
 * HS_HTTP_MAX_PIPELINE unanswered requests ahead, and stops reading while
 * its unsent output exceeds HS_HTTP_MAX_PENDING_WRITE, so a client that never
 * reads only stalls itself.
 *
 * Limits (each answered with the JSON error shape of docs/api.md, then the
 * connection is closed):
 *   - request line + header block > max_header_bytes (16 KiB)  -> 431
 *   - body > max_body (Content-Length checked up front; chunked counted) -> 413
 *   - unparsable request                                        -> 400
 *     (among them: a header or trailer field name that is not an RFC 9110
 *     token, whitespace before its colon included, RFC 9112 §5.1; an empty
 *     name; obs-fold, a field continued on a line that starts with SP or
 *     HTAB, RFC 9112 §5.2)
 *   - request not complete within request_timeout_ms of its first byte -> 408
 *   - keep-alive connection idle for idle_timeout_ms            -> closed silently
 * `Expect: 100-continue` is answered with 100 when the declared length fits.
 *
 * Several loops (src/base/loops.h): one server per loop thread. The one
 * that listens hands every other accepted connection, in turn, to the
 * servers it spreads to (hs_http_server_spread), each serving it on its own
 * loop from then on. A server remembers the mailbox current where it was
 * created: hs_http_respond and hs_http_upgrade called on another thread
 * post themselves there (the answer copied), so a request may be handled on
 * any loop; everything else of a server is its loop thread's.
 *
 * Shutdown (hs_http_server_shutdown): stop accepting, stop reading, close
 * idle connections, let requests already received be answered and their
 * bytes flushed (or the deadline pass), then call done. Free with
 * hs_http_server_free() after done has been called.
 */
#ifndef HS_HTTP_SERVER_H
#define HS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HS_HTTP_MAX_PIPELINE 64
#define HS_HTTP_MAX_PENDING_WRITE (4u << 20)
#define HS_HTTP_MAX_HEADERS 128
#define HS_REQUEST_ID_MAX 32

typedef struct hs_http_server hs_http_server;

typedef struct hs_http_header {
    char *name;  /* as received (original case) */
    char *value; /* leading/trailing whitespace trimmed */
} hs_http_header;

typedef struct hs_http_req {
    /* All fields are read-only for handlers; owned by the server. */
    const char *method;            /* "GET", "POST", ... */
    const char *target;            /* raw request target, e.g. "/v1/x?a=1" */
    const char *path;              /* target up to '?', percent-encoding kept */
    const char *query;             /* after '?', "" when none */
    const hs_http_header *headers; /* in arrival order */
    size_t nheaders;
    const char *body; /* NUL-terminated (terminator not counted); never NULL */
    size_t body_len;
    const char *remote_ip;              /* "127.0.0.1" or "::1" */
    char request_id[HS_REQUEST_ID_MAX]; /* "req_" + 24 hex, unique */
    uint64_t received_ns;               /* monotonic, when complete */
    int http_minor;                     /* 0 or 1 */
} hs_http_req;

typedef void (*hs_http_handler_fn)(hs_http_req *req, void *ud);

typedef struct hs_http_config {
    size_t max_header_bytes;      /* default 16384 */
    size_t max_body;              /* default 1 MiB */
    uint64_t request_timeout_ms;  /* default 30000 */
    uint64_t idle_timeout_ms;     /* default 60000 */
    uint64_t shutdown_timeout_ms; /* default 10000 */
    int max_connections;          /* default 10000; beyond it accept+close */
} hs_http_config;

void hs_http_config_defaults(hs_http_config *cfg);

/* Creates a server bound to loop. The caller owns it (free after shutdown). */
int hs_http_server_new(uv_loop_t *loop, const hs_http_config *cfg, hs_http_handler_fn handler, void *ud,
                       hs_http_server **out);
/* Bind and listen. host is an IPv4 or IPv6 literal; port 0 picks a free one,
 * written to *bound_port. Returns a negative libuv error code on failure. */
int hs_http_server_listen(hs_http_server *srv, const char *host, int port, int *bound_port);
/* A server that does not listen but serves the connections a listening one
 * hands it (hs_http_server_spread). */
int hs_http_server_serve_handed(hs_http_server *srv);
/* The listening srv keeps one connection in n + 1 and hands the others,
 * in turn, to others[0..n) (servers on other loops, serving handed
 * connections; they must outlive srv's listening). Loop thread of srv. */
void hs_http_server_spread(hs_http_server *srv, hs_http_server *const *others, size_t n);
void hs_http_server_shutdown(hs_http_server *srv, void (*done)(void *ud), void *ud);
void hs_http_server_free(hs_http_server *srv);

/* Case-insensitive lookup; first match or NULL. */
const char *hs_http_req_header(const hs_http_req *req, const char *name);

/* Answer a request (any thread: off its loop the answer is posted there).
 * Copies everything it is given.
 * content_type may be NULL (no body type). extra headers are added as given;
 * the server adds Content-Length, Date, Connection and X-Request-Id. */
void hs_http_respond(hs_http_req *req, int status, const char *content_type, const char *body, size_t body_len,
                     const hs_http_header *extra, size_t nextra);
/* Answer with the JSON error shape {"error","status","request_id"}. */
void hs_http_respond_error(hs_http_req *req, int status, const char *message);
/* True once the client has gone (the response would be discarded); false
 * when asked off the request's loop, where it is not known. */
bool hs_http_req_orphaned(const hs_http_req *req);

/* Protocol upgrades (WebSocket). A request with an Upgrade header ends
 * HTTP on its connection. Its handler may, instead of answering, hand the
 * connection over with hs_http_upgrade: the server then forgets it (no
 * timeouts, limits or shutdown draining) and, once the current parse loop
 * is done, calls cb with a duplicate of the socket descriptor (the new
 * owner opens it with uv_tcp_open and closes it; -1 when it could not be
 * duplicated: the connection is gone) and the bytes the client sent after
 * the request head (borrowed for the call). The new owner writes the 101
 * response itself. req counts as answered and must not be touched after a
 * successful call. Refused with HS_ERR_INVALID, changing nothing (answer as
 * usual), when the request did not ask for an upgrade, responses to earlier
 * pipelined requests are still owed, or the server is shutting down.
 * Called off the request's loop, it is made there and cb runs back on the
 * calling thread; a refusal is then known only there, which answers 400. */
typedef void (*hs_http_upgrade_fn)(int fd, const char *rest, size_t rest_len, void *ud);
int hs_http_upgrade(hs_http_req *req, hs_http_upgrade_fn cb, void *ud);

/* Current counters (for metrics and tests). */
typedef struct hs_http_stats {
    uint64_t connections_accepted;
    uint64_t connections_open;
    uint64_t requests;
    uint64_t errors_4xx_by_server; /* 400/408/413/431 produced by this layer */
    uint64_t upgrades;             /* connections handed over by hs_http_upgrade */
} hs_http_stats;
void hs_http_server_stats(const hs_http_server *srv, hs_http_stats *out);

const char *hs_http_status_text(int status);

#endif
