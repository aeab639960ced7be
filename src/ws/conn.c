/* src/ws/conn.c — one WebSocket client: wslay framing over a libuv stream.
 *
 * Input: each read is handed to wslay_event_recv, whose recv callback takes
 * the bytes of that read and then says "would block". Output: wslay's send
 * callback copies frames into c->out, at most WRITE_CHUNK per round; one
 * uv_write carries them and only its completion lets wslay send more. So
 * when the client stops reading, the kernel buffer (SO_SNDBUF, bounded)
 * fills, the write stays in flight and new messages stay in wslay's queue,
 * whose byte count decides when the client is dropped.
 *
 * Closing: a close frame from either side ends deliveries at once (the
 * subscriptions go); the socket closes when wslay has nothing left to read
 * or write, or at the close deadline. Memory goes in the uv_close callback.
 */
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/error.h"
#include "base/json_text.h"
#include "base/log.h"
#include "ws/ws_int.h"

#define WRITE_CHUNK (64 * 1024)

static void conn_flush(hs__ws_conn *c);

/* ---- teardown --------------------------------------------------------- */

static void on_closed(uv_handle_t *h) {
    hs__ws_conn *c = h->data;
    hs_ws_hub *hub = c->hub;
    hs__ws_hub_unlink(hub, c);
    if (c->ws) wslay_event_context_free(c->ws);
    hs_free(c->out);
    hs_free(c->flight);
    hs_free(c->chans);
    hs_free(c);
    hs__ws_hub_check(hub); /* last: may release the hub */
}

void hs__ws_conn_abort(hs__ws_conn *c) {
    if (c->closing) return;
    c->closing = true;
    hs__ws_unsubscribe_all(c->hub, c);
    uv_close((uv_handle_t *)&c->tcp, on_closed); /* cancels the write in flight */
}

/* Both directions finished (close frames exchanged, or wslay gave up). */
static void maybe_finish(hs__ws_conn *c) {
    if (c->closing || c->writing || c->out_len) return;
    if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws)) hs__ws_conn_abort(c);
}

/* ---- wslay callbacks ----------------------------------------------------- */

static ssize_t recv_cb(wslay_event_context_ptr ws, uint8_t *buf, size_t len, int flags, void *ud) {
    (void)flags;
    hs__ws_conn *c = ud;
    if (c->in_len == 0) {
        wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < c->in_len ? len : c->in_len;
    memcpy(buf, c->in, n);
    c->in += n;
    c->in_len -= n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ws, const uint8_t *data, size_t len, int flags, void *ud) {
    (void)flags;
    hs__ws_conn *c = ud;
    size_t room = WRITE_CHUNK - c->out_len;
    if (room == 0) {
        wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    size_t n = len < room ? len : room;
    if (!c->out) c->out = hs_malloc(WRITE_CHUNK);
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return (ssize_t)n;
}

static int genmask_cb(wslay_event_context_ptr ws, uint8_t *buf, size_t len, void *ud) {
    (void)ws;
    (void)ud;
    memset(buf, 0, len); /* servers do not mask; never called */
    return 0;
}

static void reply(hs__ws_conn *c, json_t *msg /* stolen */) {
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text) hs__ws_conn_send_text(c, text, strlen(text));
    hs_free(text);
}

static void reply_error(hs__ws_conn *c, const char *why, const char *channel) {
    json_t *o = json_pack("{s:s, s:s}", "type", "error", "error", why);
    if (channel) json_object_set_new(o, "channel", hs_json_text(channel));
    reply(c, o);
}

/* A client message: subscribe or unsubscribe; anything else is answered
 * with an error message and the connection stays. */
static void on_text(hs__ws_conn *c, const uint8_t *msg, size_t len) {
    json_error_t je;
    json_t *o = json_loadb((const char *)msg, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return reply_error(c, "messages must be JSON objects like {\"type\":\"subscribe\",\"channel\":\"name\"}", NULL);
    }
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *ch = json_object_get(o, "channel");
    bool sub = type && strcmp(type, "subscribe") == 0, unsub = type && strcmp(type, "unsubscribe") == 0;
    if (!sub && !unsub) {
        reply_error(c, "unknown message type: use \"subscribe\" or \"unsubscribe\"", NULL);
    } else if (!json_is_string(ch) || !hs_ws_channel_valid(json_string_value(ch), json_string_length(ch))) {
        reply_error(c, "channel must be 1 to 128 characters of A-Za-z0-9._:-", NULL);
    } else if (sub && hs__ws_subscribe(c->hub, c, json_string_value(ch)) != HS_OK) {
        reply_error(c, "too many subscriptions on this connection", json_string_value(ch));
    } else {
        if (unsub) hs__ws_unsubscribe(c->hub, c, json_string_value(ch));
        reply(c, json_pack("{s:s, s:O}", "type", sub ? "subscribed" : "unsubscribed", "channel", ch));
    }
    json_decref(o);
}

static void on_msg(wslay_event_context_ptr ws, const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
    (void)ws;
    hs__ws_conn *c = ud;
    if (c->closing) return;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME: on_text(c, arg->msg, arg->msg_length); break;
    case WSLAY_BINARY_FRAME: reply_error(c, "binary messages are not supported: send JSON text", NULL); break;
    case WSLAY_PONG: c->ping_sent_ms = 0; break;
    case WSLAY_CONNECTION_CLOSE:
        /* wslay queues the echo; deliveries stop now */
        hs__ws_unsubscribe_all(c->hub, c);
        if (!c->close_deadline_ms) c->close_deadline_ms = uv_now(c->hub->loop) + c->hub->cfg.close_timeout_ms;
        break;
    default: break;
    }
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .genmask_callback = genmask_cb,
    .on_msg_recv_callback = on_msg,
};

/* ---- I/O ------------------------------------------------------------------ */

static void on_write(uv_write_t *w, int status) {
    hs__ws_conn *c = w->data;
    c->writing = false;
    c->flight_len = 0;
    if (c->closing) return;
    if (status < 0) return hs__ws_conn_abort(c);
    conn_flush(c);
}

/* Let wslay frame what is queued (when no write is in flight) and write it. */
static void conn_flush(hs__ws_conn *c) {
    /* not from inside wslay_event_recv (a reply): feed flushes after it */
    if (c->closing || c->writing || c->receiving) return;
    if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) return hs__ws_conn_abort(c);
    if (c->out_len) {
        /* swap: wslay fills one buffer while the other is on the wire */
        char *b = c->flight;
        c->flight = c->out;
        c->flight_len = c->out_len;
        c->out = b;
        c->out_len = 0;
        uv_buf_t buf = uv_buf_init(c->flight, (unsigned int)c->flight_len);
        c->writing = true;
        c->wreq.data = c;
        if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
            c->writing = false;
            return hs__ws_conn_abort(c);
        }
        return;
    }
    maybe_finish(c);
}

/* Bytes waiting for this client: in wslay's queue and in our buffers. */
static size_t queued_bytes(hs__ws_conn *c) {
    return wslay_event_get_queued_msg_length(c->ws) + c->out_len + c->flight_len;
}

static void feed(hs__ws_conn *c, const char *data, size_t len) {
    c->in = (const uint8_t *)data;
    c->in_len = len;
    c->receiving = true;
    int rc = wslay_event_recv(c->ws);
    c->receiving = false;
    c->in = NULL;
    c->in_len = 0; /* bytes after a close frame or a fatal error are not wanted */
    if (rc != 0) return hs__ws_conn_abort(c);
    /* what the client made us queue (replies, pongs) counts against the
     * same cap: a client that sends without reading cannot grow it */
    if (queued_bytes(c) > c->hub->cfg.max_queue_bytes) {
        hs_warn("ws: dropping a client that sends but does not read");
        return hs__ws_conn_abort(c);
    }
    if (!wslay_event_get_read_enabled(c->ws)) {
        /* wslay stopped reading: a close frame came, or a message was too
         * big (it queued a 1009 close) */
        hs__ws_unsubscribe_all(c->hub, c);
        if (!c->close_deadline_ms) c->close_deadline_ms = uv_now(c->hub->loop) + c->hub->cfg.close_timeout_ms;
    }
    conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    /* clients send little (subscribe messages): a small buffer will do */
    *buf = uv_buf_init(hs_malloc(16384), 16384);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    hs__ws_conn *c = s->data;
    if (nread > 0 && !c->closing)
        feed(c, buf->base, (size_t)nread);
    else if (nread < 0 && !c->closing)
        hs__ws_conn_abort(c); /* EOF without a close frame, or a reset: gone */
    hs_free(buf->base);
}

/* ---- the interface ---------------------------------------------------- */

int hs__ws_conn_send_text(hs__ws_conn *c, const char *msg, size_t len) {
    if (c->closing || c->close_deadline_ms || !wslay_event_get_write_enabled(c->ws)) return -2;
    size_t queued = queued_bytes(c);
    /* an empty queue takes any message, so the bound is the cap plus one
     * message, and one large event does not drop every client */
    if (queued > 0 && queued + len > c->hub->cfg.max_queue_bytes) {
        hs_warn("ws: dropping a client that is %zu bytes behind (max_queue_bytes %zu)", queued,
                c->hub->cfg.max_queue_bytes);
        hs__ws_conn_abort(c);
        return -1;
    }
    struct wslay_event_msg m = {.opcode = WSLAY_TEXT_FRAME, .msg = (const uint8_t *)msg, .msg_length = len};
    if (wslay_event_queue_msg(c->ws, &m) != 0) return -2;
    conn_flush(c);
    return 0;
}

void hs__ws_conn_close(hs__ws_conn *c, uint16_t code, const char *reason) {
    if (c->closing || c->close_deadline_ms) return;
    hs__ws_unsubscribe_all(c->hub, c);
    c->close_deadline_ms = uv_now(c->hub->loop) + c->hub->cfg.close_timeout_ms;
    if (wslay_event_queue_close(c->ws, code, (const uint8_t *)reason, strlen(reason)) != 0) return hs__ws_conn_abort(c);
    conn_flush(c);
}

void hs__ws_conn_tick(hs__ws_conn *c, uint64_t now) {
    if (c->closing) return;
    if (c->close_deadline_ms) {
        if (now >= c->close_deadline_ms) hs__ws_conn_abort(c);
        return;
    }
    uint64_t every = c->hub->cfg.ping_interval_ms;
    if (now - c->last_ping_ms < every) return;
    if (c->ping_sent_ms) { /* the last ping went unanswered a whole interval */
        hs_info("ws: closing a client that did not answer a ping in %llu ms", (unsigned long long)every);
        return hs__ws_conn_abort(c);
    }
    struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = (const uint8_t *)"", .msg_length = 0};
    if (wslay_event_queue_msg(c->ws, &m) != 0) return hs__ws_conn_abort(c);
    c->last_ping_ms = c->ping_sent_ms = now;
    conn_flush(c);
}

void hs__ws_conn_start(hs_ws_hub *hub, int fd, const char *accept, const char *rest, size_t rest_len,
                       uint64_t principal) {
    hs__ws_conn *c = hs_calloc(1, sizeof *c);
    c->hub = hub;
    c->principal = principal;
    c->tcp.data = c;
    uv_tcp_init(hub->loop, &c->tcp);
    hs__ws_hub_link(hub, c);
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd); /* not the handle's: uv_close will not close it */
        c->ws = NULL;
        hs__ws_conn_abort(c);
        return;
    }
    int sndbuf = hub->cfg.send_buffer_bytes;
    if (sndbuf > 0) uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
    if (wslay_event_context_server_init(&c->ws, &callbacks, c) != 0) abort(); /* out of memory only */
    wslay_event_config_set_max_recv_msg_length(c->ws, hub->cfg.max_message);
    c->last_ping_ms = uv_now(hub->loop);

    /* the 101 goes out first, through the same buffer as the frames */
    c->out = hs_malloc(WRITE_CHUNK);
    int n = snprintf(c->out, WRITE_CHUNK,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    c->out_len = (size_t)n;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) return hs__ws_conn_abort(c);
    if (rest_len)
        feed(c, rest, rest_len);
    else
        conn_flush(c);
}
