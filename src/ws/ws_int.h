/* src/ws/ws_int.h — what src/ws/hub.c, src/ws/conn.c and src/ws/upgrade.c share (internal).
 *
 * The hub owns the connection list, the channel index and one tick timer
 * for every deadline (ping, pong, close handshake). A connection owns its
 * socket handle, its wslay context and its subscriptions; it is unlinked
 * and freed in its uv_close callback.
 */
#ifndef HS_WS_INT_H
#define HS_WS_INT_H

#include <wslay/wslay.h>

#include "base/idmap.h"
#include "ws/ws.h"

typedef struct hs__ws_conn hs__ws_conn;

/* Subscribers of one channel; the map key is name. */
typedef struct hs__ws_channel {
    char name[HS_WS_CHANNEL_MAX + 1];
    hs__ws_conn **subs;
    size_t n, cap;
} hs__ws_channel;

struct hs__ws_conn {
    uv_tcp_t tcp; /* tcp.data == this */
    hs_ws_hub *hub;
    hs__ws_conn *prev, *next;
    wslay_event_context_ptr ws;

    const uint8_t *in; /* bytes of the current read being fed to wslay */
    size_t in_len;

    /* wslay's send callback gathers frames into out; one uv_write at a
     * time carries it (flight), so wslay's queue holds the rest and its
     * size tells how far behind the client is */
    char *out, *flight;
    size_t out_len, flight_len;
    uv_write_t wreq;
    bool writing;

    hs__ws_channel **chans; /* subscriptions */
    size_t nchans;

    uint64_t last_ping_ms, ping_sent_ms; /* ping_sent_ms 0: no pong owed */
    uint64_t close_deadline_ms;          /* 0: no close handshake running */
    uint64_t principal;                  /* who authorize let in (hs_ws_authorize_fn) */
    bool receiving;                      /* inside wslay_event_recv */
    bool closing;                        /* uv_close called */
};

struct hs_ws_hub {
    uv_loop_t *loop;
    hs_ws_config cfg;
    hs_ws_authorize_fn authorize; /* or NULL: nobody */
    void *authorize_ud;
    hs__ws_conn *conns;
    size_t nconns;
    hs_idmap channels;
    hs__ws_channel *broadcasting; /* not freed while a broadcast walks it */
    uv_timer_t tick;
    bool tick_open, shutting_down, free_requested;
    hs_ws_mirror_fn mirror; /* or NULL */
    void *mirror_ud;
    bool mirror_wanted;
};

/* src/ws/conn.c */
/* Take over fd (upgrade done): write the 101 with accept, feed rest;
 * principal as authorize named it. */
void hs__ws_conn_start(hs_ws_hub *hub, int fd, const char *accept, const char *rest, size_t rest_len,
                       uint64_t principal);
/* Queue one text message. 0 queued; -1 the client's queue was full and it
 * was disconnected; -2 the connection is closing (nothing queued). */
int hs__ws_conn_send_text(hs__ws_conn *c, const char *msg, size_t len);
/* Start the close handshake with code (no more deliveries). */
void hs__ws_conn_close(hs__ws_conn *c, uint16_t code, const char *reason);
/* Close the socket now (dead or unwanted peer). */
void hs__ws_conn_abort(hs__ws_conn *c);
/* Deadlines at the hub's tick. */
void hs__ws_conn_tick(hs__ws_conn *c, uint64_t now);

/* src/ws/hub.c */
void hs__ws_hub_link(hs_ws_hub *hub, hs__ws_conn *c);
/* From the connection's close callback: unlink it; then, once it is
 * freed, check (which may release a hub whose free was asked for). */
void hs__ws_hub_unlink(hs_ws_hub *hub, hs__ws_conn *c);
void hs__ws_hub_check(hs_ws_hub *hub);
/* HS_OK, HS_ERR_TOOBIG (too many subscriptions); idempotent. */
int hs__ws_subscribe(hs_ws_hub *hub, hs__ws_conn *c, const char *channel);
void hs__ws_unsubscribe(hs_ws_hub *hub, hs__ws_conn *c, const char *channel);
void hs__ws_unsubscribe_all(hs_ws_hub *hub, hs__ws_conn *c);

#endif
