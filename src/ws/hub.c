/* src/ws/hub.c — WebSocket clients, channels and broadcasts (src/ws/ws.h).
 *
 * The channel index maps a name to its subscribers (an array: a broadcast
 * walks it backwards, so a subscriber dropped on the way, which swaps the
 * last one into its place, is neither skipped nor visited twice). Each
 * connection keeps the channels it is on, so leaving is cheap. A channel
 * with no subscriber is freed.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "ws/ws_int.h"

void hs_ws_config_defaults(hs_ws_config *cfg) {
    cfg->max_message = 64 * 1024;
    cfg->max_queue_bytes = 2 * 1024 * 1024;
    cfg->max_connections = 1024;
    cfg->max_subscriptions = 64;
    cfg->ping_interval_ms = 30000;
    cfg->close_timeout_ms = 5000;
    cfg->send_buffer_bytes = 256 * 1024;
}

bool hs_ws_channel_valid(const char *s, size_t n) {
    return n >= 1 && n <= HS_WS_CHANNEL_MAX && strlen(s) == n && hs_jv_in_charset(s, n, "A-Za-z0-9._:-");
}

bool hs_ws_channel_reserved(const char *name) {
    return strncmp(name, HS_WS_RESERVED_PREFIX, sizeof HS_WS_RESERVED_PREFIX - 1) == 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void on_tick(uv_timer_t *t) {
    hs_ws_hub *hub = t->data;
    uint64_t now = uv_now(hub->loop);
    for (hs__ws_conn *c = hub->conns, *next; c; c = next) {
        next = c->next; /* an abort unlinks only in the close callback, but be safe */
        hs__ws_conn_tick(c, now);
    }
}

hs_ws_hub *hs_ws_hub_new(uv_loop_t *loop, const hs_ws_config *cfg, hs_ws_authorize_fn authorize, void *authorize_ud) {
    hs_ws_hub *hub = hs_calloc(1, sizeof *hub);
    hub->loop = loop;
    hs_ws_config_defaults(&hub->cfg);
    if (cfg) hub->cfg = *cfg;
    hub->authorize = authorize;
    hub->authorize_ud = authorize_ud;
    uv_timer_init(loop, &hub->tick);
    hub->tick.data = hub;
    hub->tick_open = true;
    /* every deadline is checked at most a quarter interval late */
    uint64_t every = hub->cfg.ping_interval_ms / 4;
    if (every > 1000) every = 1000;
    if (every < 10) every = 10;
    uv_timer_start(&hub->tick, on_tick, every, every);
    uv_unref((uv_handle_t *)&hub->tick); /* clients keep the loop alive, not the tick */
    return hub;
}

static void release(hs_ws_hub *hub) {
    hs_idmap_free(&hub->channels); /* empty: channels go with their last subscriber */
    hs_free(hub);
}

static void on_tick_closed(uv_handle_t *h) {
    hs_ws_hub *hub = h->data;
    hub->tick_open = false;
    hs__ws_hub_check(hub);
}

static void close_tick(hs_ws_hub *hub) {
    if (hub->tick_open && !uv_is_closing((uv_handle_t *)&hub->tick))
        uv_close((uv_handle_t *)&hub->tick, on_tick_closed);
}

void hs__ws_hub_check(hs_ws_hub *hub) {
    if (hub->nconns > 0) return;
    if (hub->shutting_down || hub->free_requested) close_tick(hub);
    if (hub->free_requested && !hub->tick_open) release(hub);
}

void hs_ws_hub_shutdown(hs_ws_hub *hub) {
    if (!hub || hub->shutting_down) return;
    hub->shutting_down = true;
    if (hub->nconns) hs_info("ws: closing %zu client(s)", hub->nconns);
    for (hs__ws_conn *c = hub->conns; c; c = c->next)
        hs__ws_conn_close(c, WSLAY_CODE_GOING_AWAY, "server shutting down");
    hs__ws_hub_check(hub);
}

size_t hs_ws_hub_close_principal(hs_ws_hub *hub, uint64_t principal, const char *reason) {
    size_t n = 0;
    if (!hub || !principal) return 0;
    for (hs__ws_conn *c = hub->conns, *next; c; c = next) {
        next = c->next; /* a close that aborts unlinks in the close callback only, but be safe */
        if (c->principal != principal || c->closing || c->close_deadline_ms) continue;
        hs__ws_conn_close(c, WSLAY_CODE_POLICY_VIOLATION, reason);
        n++;
    }
    return n;
}

void hs_ws_hub_free(hs_ws_hub *hub) {
    if (!hub) return;
    hub->free_requested = true;
    for (hs__ws_conn *c = hub->conns; c; c = c->next) hs__ws_conn_abort(c);
    hs__ws_hub_check(hub); /* releases now, or from the last close callback */
}

void hs__ws_hub_link(hs_ws_hub *hub, hs__ws_conn *c) {
    c->next = hub->conns;
    if (hub->conns) hub->conns->prev = c;
    hub->conns = c;
    hub->nconns++;
}

void hs__ws_hub_unlink(hs_ws_hub *hub, hs__ws_conn *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    hub->nconns--;
}

size_t hs_ws_hub_connections(const hs_ws_hub *hub) { return hub ? hub->nconns : 0; }

/* ---- subscriptions ------------------------------------------------------ */

static void channel_remove_sub(hs_ws_hub *hub, hs__ws_channel *ch, hs__ws_conn *c) {
    for (size_t i = 0; i < ch->n; i++)
        if (ch->subs[i] == c) {
            ch->subs[i] = ch->subs[--ch->n];
            break;
        }
    if (ch->n == 0 && hub->broadcasting != ch) {
        hs_idmap_del(&hub->channels, ch->name);
        hs_free(ch->subs);
        hs_free(ch);
    }
}

int hs__ws_subscribe(hs_ws_hub *hub, hs__ws_conn *c, const char *name) {
    for (size_t i = 0; i < c->nchans; i++)
        if (strcmp(c->chans[i]->name, name) == 0) return HS_OK;
    if (c->nchans >= (size_t)hub->cfg.max_subscriptions) return HS_ERR_TOOBIG;
    hs__ws_channel *ch = hs_idmap_get(&hub->channels, name);
    if (!ch) {
        ch = hs_calloc(1, sizeof *ch);
        snprintf(ch->name, sizeof ch->name, "%s", name);
        hs_idmap_put(&hub->channels, ch->name, ch);
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->subs = hs_realloc(ch->subs, ch->cap * sizeof *ch->subs);
    }
    ch->subs[ch->n++] = c;
    c->chans = hs_realloc(c->chans, (c->nchans + 1) * sizeof *c->chans);
    c->chans[c->nchans++] = ch;
    return HS_OK;
}

void hs__ws_unsubscribe(hs_ws_hub *hub, hs__ws_conn *c, const char *name) {
    for (size_t i = 0; i < c->nchans; i++)
        if (strcmp(c->chans[i]->name, name) == 0) {
            hs__ws_channel *ch = c->chans[i];
            c->chans[i] = c->chans[--c->nchans];
            channel_remove_sub(hub, ch, c);
            return;
        }
}

void hs__ws_unsubscribe_all(hs_ws_hub *hub, hs__ws_conn *c) {
    while (c->nchans) channel_remove_sub(hub, c->chans[--c->nchans], c);
}

size_t hs_ws_hub_subscribers(const hs_ws_hub *hub, const char *channel) {
    const hs__ws_channel *ch = hub ? hs_idmap_get(&hub->channels, channel) : NULL;
    return ch ? ch->n : 0;
}

void hs_ws_hub_set_mirror(hs_ws_hub *hub, hs_ws_mirror_fn fn, void *ud) {
    hub->mirror = fn;
    hub->mirror_ud = ud;
}

void hs_ws_hub_mirror_wanted(hs_ws_hub *hub, bool wanted) { hub->mirror_wanted = wanted; }

size_t hs_ws_hub_audience(const hs_ws_hub *hub, const char *channel) {
    if (!hub) return 0;
    return hs_ws_hub_subscribers(hub, channel) + (hub->mirror && hub->mirror_wanted ? 1 : 0);
}

size_t hs_ws_hub_broadcast_local(hs_ws_hub *hub, const char *channel, const char *msg, size_t len) {
    if (!hub) return 0;
    hs_ws_mirror_fn fn = hub->mirror;
    hub->mirror = NULL;
    size_t sent = hs_ws_hub_broadcast(hub, channel, msg, len, NULL);
    hub->mirror = fn;
    return sent;
}

size_t hs_ws_hub_broadcast(hs_ws_hub *hub, const char *channel, const char *msg, size_t len, size_t *dropped) {
    size_t sent = 0, lost = 0;
    hs__ws_channel *ch = hub ? hs_idmap_get(&hub->channels, channel) : NULL;
    if (ch) {
        hub->broadcasting = ch;
        for (size_t i = ch->n; i > 0; i--) {
            if (i > ch->n) continue; /* cannot happen: only the current one leaves */
            int rc = hs__ws_conn_send_text(ch->subs[i - 1], msg, len);
            if (rc == 0)
                sent++;
            else if (rc == -1)
                lost++;
        }
        hub->broadcasting = NULL;
        if (ch->n == 0) {
            hs_idmap_del(&hub->channels, ch->name);
            hs_free(ch->subs);
            hs_free(ch);
        }
    }
    if (dropped) *dropped = lost;
    if (hub && hub->mirror && hub->mirror_wanted) hub->mirror(channel, msg, len, hub->mirror_ud);
    return sent;
}
