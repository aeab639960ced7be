/* src/ws/ws.h — the WebSocket hub: GET /v1/ws clients and their channel
 * subscriptions, fed by websocket destinations (docs/provider_websocket.md).
 *
 * A client connects with `GET /v1/ws?token=<api key>` (or the key in
 * Authorization / X-API-Key), is upgraded (RFC 6455; wslay does the framing,
 * libuv the I/O, on the server's loop) and sends JSON text messages:
 *   {"type":"subscribe","channel":"<name>"}   -> {"type":"subscribed","channel":"<name>"}
 *   {"type":"unsubscribe","channel":"<name>"} -> {"type":"unsubscribed","channel":"<name>"}
 * anything else                               -> {"type":"error","error":"..."} (connection stays)
 * A broadcast puts one text message on the send queue of every subscriber of
 * a channel. Each client's queue is bounded (max_queue_bytes): a client that
 * does not read fast enough is disconnected, never buffered without end.
 * The hub pings every client each ping_interval_ms and disconnects one that
 * has not answered the previous ping by then.
 *
 * Threading: everything on the loop thread.
 */
#ifndef HS_WS_H
#define HS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/server.h"

#define HS_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define HS_WS_CHANNEL_MAX 128

/* The hub's limits. `hookstream serve` sets them (src/app/config.c parses the
 * --ws-* flags and their HOOKSTREAM_WS_* twins within the bounds below);
 * the hub only receives them. */
typedef struct hs_ws_config {
    size_t max_message;        /* largest client message; beyond: close 1009. 65536 */
    size_t max_queue_bytes;    /* a client's unsent bytes; beyond: disconnected. 2 MiB */
    int max_connections;       /* beyond: 503 before the upgrade. 1024 */
    int max_subscriptions;     /* channels per connection. 64 */
    uint64_t ping_interval_ms; /* 30000; the pong must come before the next ping */
    uint64_t close_timeout_ms; /* wait for the client's close frame. 5000 */
    int send_buffer_bytes;     /* SO_SNDBUF of a client socket: kernel memory per client. 262144 */
} hs_ws_config;

/* Accepted ranges (inclusive), beside the fields they bound so that the
 * hub's limits are described in one place; src/app/config.c refuses a value
 * outside them at start instead of running with a limit nobody chose. */
#define HS_WS_MAX_MESSAGE_MIN 128ULL
#define HS_WS_MAX_MESSAGE_MAX (16ULL << 20)
#define HS_WS_MAX_QUEUE_MIN 4096ULL
#define HS_WS_MAX_QUEUE_MAX (1ULL << 32)
#define HS_WS_MAX_CONNECTIONS_MAX 1000000ULL
#define HS_WS_MAX_SUBSCRIPTIONS_MAX 100000ULL
#define HS_WS_PING_INTERVAL_MIN 50ULL
#define HS_WS_PING_INTERVAL_MAX 3600000ULL
#define HS_WS_CLOSE_TIMEOUT_MIN 50ULL
#define HS_WS_CLOSE_TIMEOUT_MAX 600000ULL
#define HS_WS_SEND_BUFFER_MIN 4096ULL
#define HS_WS_SEND_BUFFER_MAX (64ULL << 20)

void hs_ws_config_defaults(hs_ws_config *cfg);

typedef struct hs_ws_hub hs_ws_hub;
/* Close every client with 1001 (going away), waiting close_timeout_ms at
 * most for their answers; new upgrades are refused from now on. */
void hs_ws_hub_shutdown(hs_ws_hub *hub);
/* After the loop has run out (every handle closed); closes anything left
 * the hard way otherwise, whose memory the next loop run releases. */
void hs_ws_hub_free(hs_ws_hub *hub);

/* Whether the client of req may connect. token: the ?token= of the URL
 * (browsers cannot set headers on a WebSocket), or NULL; the headers are
 * in req. *principal: who it is, a number the function chooses (which API
 * key, say; 0: nobody in particular), kept with the connection for
 * hs_ws_hub_close_principal. The hub knows no keys: `hookstream serve`
 * passes its API-key check (src/api/auth.h). Loop thread. */
typedef bool (*hs_ws_authorize_fn)(const hs_http_req *req, const char *token, void *ud, uint64_t *principal);

/* A hub on loop, owning no handle until a client comes. authorize NULL:
 * every client is refused. */
hs_ws_hub *hs_ws_hub_new(uv_loop_t *loop, const hs_ws_config *cfg, hs_ws_authorize_fn authorize, void *authorize_ud);

/* The GET /v1/ws route: checks the key (authorize) and the handshake and upgrades, or
 * answers a JSON error (401 bad key; 400 / 426 bad handshake; 503 full or
 * shutting down). hub may be NULL (503). */
void hs_ws_handle_upgrade(hs_ws_hub *hub, hs_http_req *req);

/* Queue msg (a complete text message) to every subscriber of channel.
 * Returns how many clients it was queued to; *dropped (may be NULL) counts
 * the subscribers disconnected because their queue was full. */
size_t hs_ws_hub_broadcast(hs_ws_hub *hub, const char *channel, const char *msg, size_t len, size_t *dropped);
/* Close, with 1008 (policy violation) and reason, every client that
 * principal (not 0) let in: its API key was revoked. Returns how many. */
size_t hs_ws_hub_close_principal(hs_ws_hub *hub, uint64_t principal, const char *reason);
/* Subscribers of channel now. */
size_t hs_ws_hub_subscribers(const hs_ws_hub *hub, const char *channel);
/* Several servers (src/cluster/): every broadcast is also handed to
 * mirror (to relay it to the other servers' clients) while mirror_wanted
 * says someone there listens; hs_ws_hub_audience counts that as one more
 * subscriber, so that publishers build their messages. A relayed message
 * arriving from elsewhere goes out with hs_ws_hub_broadcast_local (not
 * mirrored back). Loop thread. */
typedef void (*hs_ws_mirror_fn)(const char *channel, const char *msg, size_t len, void *ud);
void hs_ws_hub_set_mirror(hs_ws_hub *hub, hs_ws_mirror_fn fn, void *ud);
void hs_ws_hub_mirror_wanted(hs_ws_hub *hub, bool wanted);
size_t hs_ws_hub_audience(const hs_ws_hub *hub, const char *channel);
size_t hs_ws_hub_broadcast_local(hs_ws_hub *hub, const char *channel, const char *msg, size_t len);
size_t hs_ws_hub_connections(const hs_ws_hub *hub);

/* Handshake pieces (pure, for tests). Sec-WebSocket-Accept of a client key
 * into out[HS_WS_ACCEPT_LEN + 1]. */
void hs_ws_accept_key(const char *client_key, char out[HS_WS_ACCEPT_LEN + 1]);
/* Checks method, Upgrade, Connection, Sec-WebSocket-Version and -Key. 0 when
 * it is a valid WebSocket opening handshake, else the HTTP status to answer
 * (400, 405 or 426) with *why. */
int hs_ws_check_handshake(const hs_http_req *req, const char **why);
/* A channel name: 1..128 of A-Za-z0-9._:- */
bool hs_ws_channel_valid(const char *s, size_t n);
/* Channels whose name begins with this are the server's own (the
 * dashboard's live feed, src/observe/live.h): clients may subscribe to
 * them, websocket destinations may not broadcast on them. */
#define HS_WS_RESERVED_PREFIX "hookstream."
bool hs_ws_channel_reserved(const char *name);

#endif
