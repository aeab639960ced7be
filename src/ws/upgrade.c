/* src/ws/upgrade.c — GET /v1/ws: the key and the opening handshake (RFC 6455
 * §4.2) are checked while the request is still HTTP, so a client that
 * fails gets an ordinary JSON error and never a 101. */
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/digest.h"
#include "http/response.h"
#include "base/log.h"
#include "http/query.h"
#include "ws/ws_int.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void hs_ws_accept_key(const char *client_key, char out[HS_WS_ACCEPT_LEN + 1]) {
    char *joined = hs_sprintf("%s%s", client_key, WS_GUID);
    unsigned char sha[20];
    hs_sha1(joined, strlen(joined), sha);
    hs_free(joined);
    char *b64 = hs_base64_encode(sha, sizeof sha);
    snprintf(out, HS_WS_ACCEPT_LEN + 1, "%s", b64);
    hs_free(b64);
}

/* Does the comma-separated header value list contain token (any case)? */
static bool has_token(const char *list, const char *token) {
    size_t tl = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - p) == tl && strncasecmp(p, token, tl) == 0) return true;
        p = end;
    }
    return false;
}

int hs_ws_check_handshake(const hs_http_req *req, const char **why) {
    if (strcmp(req->method, "GET") != 0) {
        *why = "a WebSocket handshake is a GET";
        return 405;
    }
    const char *upgrade = hs_http_req_header(req, "upgrade");
    if (!upgrade || !has_token(upgrade, "websocket")) {
        *why = "this endpoint speaks WebSocket only: send Upgrade: websocket";
        return 426;
    }
    const char *version = hs_http_req_header(req, "sec-websocket-version");
    if (!version || strcmp(version, "13") != 0) {
        *why = "unsupported Sec-WebSocket-Version: 13 is supported";
        return 426;
    }
    const char *connection = hs_http_req_header(req, "connection");
    if (req->http_minor < 1 || !connection || !has_token(connection, "upgrade")) {
        *why = "not a WebSocket handshake: HTTP/1.1 with Connection: Upgrade is required";
        return 400;
    }
    const char *key = hs_http_req_header(req, "sec-websocket-key");
    size_t raw_len = 0;
    unsigned char *raw = key ? hs_base64_decode(key, strlen(key), &raw_len) : NULL;
    hs_free(raw);
    if (!raw || raw_len != 16) {
        *why = "Sec-WebSocket-Key must be the base64 of 16 bytes";
        return 400;
    }
    return 0;
}

static void reject(hs_http_req *req, int status, const char *msg) {
    char stack[512];
    size_t len;
    char *body = hs_http_error_json(status, msg, req->request_id, stack, sizeof stack, &len);
    hs_http_header extra[2];
    size_t n = 0;
    if (status == 401) extra[n++] = (hs_http_header){"WWW-Authenticate", "Bearer"};
    if (status == 405) extra[n++] = (hs_http_header){"Allow", "GET"};
    if (status == 426) {
        extra[n++] = (hs_http_header){"Upgrade", "websocket"};
        extra[n++] = (hs_http_header){"Sec-WebSocket-Version", "13"};
    }
    if (status == 503) extra[n++] = (hs_http_header){"Retry-After", "1"};
    hs_http_respond(req, status, "application/json", body, len, extra, n);
    if (body != stack) hs_free(body);
}

/* The hub's authorize function judges, with ?token= when the URL has one
 * (browsers cannot set headers on a WebSocket). */
static bool authorized(const hs_ws_hub *hub, const hs_http_req *req, uint64_t *principal) {
    *principal = 0;
    if (!hub->authorize) return false;
    hs_query q;
    hs_error err;
    bool ok = false;
    if (hs_query_parse(req->query, &q, &err) == HS_OK)
        ok = hub->authorize(req, hs_query_get(&q, "token"), hub->authorize_ud, principal);
    hs_query_free(&q);
    return ok;
}

typedef struct pending {
    hs_ws_hub *hub;
    char accept[HS_WS_ACCEPT_LEN + 1];
    uint64_t principal;
} pending;

static void on_upgraded(int fd, const char *rest, size_t rest_len, void *ud) {
    pending *p = ud;
    hs_ws_hub *hub = p->hub;
    if (fd >= 0 && (hub->shutting_down || hub->free_requested)) {
        close(fd); /* the server stopped between handshake and hand-over */
    } else if (fd >= 0) {
        hs__ws_conn_start(hub, fd, p->accept, rest, rest_len, p->principal);
    }
    hs_free(p);
}

void hs_ws_handle_upgrade(hs_ws_hub *hub, hs_http_req *req) {
    if (!hub || hub->shutting_down) return reject(req, 503, "WebSocket connections are not being accepted");
    uint64_t principal;
    if (!authorized(hub, req, &principal))
        return reject(req, 401, "a valid API key is required (?token=<key>, or Authorization: Bearer <key>)");
    const char *why = NULL;
    int status = hs_ws_check_handshake(req, &why);
    if (status) return reject(req, status, why);
    if (hub->nconns >= (size_t)hub->cfg.max_connections)
        return reject(req, 503, "too many WebSocket connections; try again later");
    pending *p = hs_calloc(1, sizeof *p);
    p->hub = hub;
    p->principal = principal;
    hs_ws_accept_key(hs_http_req_header(req, "sec-websocket-key"), p->accept);
    if (hs_http_upgrade(req, on_upgraded, p) != HS_OK) {
        hs_free(p);
        return reject(req, 400, "the upgrade request must be the only request in flight on its connection");
    }
}
