/* src/delivery/shard.c — one loop thread's part of the DeliveryScheduler
 * (src/delivery/shard.h; the contract is src/delivery/scheduler.h).
 *
 * Per destination: a window of its next deliveries (a heap), a count of
 * deliveries in flight, a circuit breaker, one timer. The queue itself is
 * in the store (docs/scheduler.md): the window is filled from it by bounded
 * reads on the threadpool (fill), as it drains; a new delivery goes
 * straight into the window only while nothing older waits in the store.
 * pump() is the only place that sends: it takes deliveries off the heap
 * while there is a free slot, the head is due and the circuit lets it
 * through, starts a fill when the window runs low, and otherwise arms the
 * timer for the moment that changes. A delivery then goes through three
 * steps:
 *
 *   1. threadpool: read the event from the store, let the provider build the
 *      request (signing included) and the masked copy of its headers;
 *   2. loop: send it with the http client;
 *   3. loop: judge the response, decide (delivered / retry at T / DLQ), feed
 *      the circuit, fire attempt_decided, and commit the attempt; when the
 *      commit is back (attempt_recorded) the slot is free and the delivery
 *      leaves or returns to the heap.
 */
#include "delivery/shard.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/idmap.h"
#include "core/circuit.h"
#include "base/json_text.h"
#include "base/log.h"
#include "providers/provider.h"
#include "core/retry.h"
#include "base/timeutil.h"
#include "rules/transform.h"

#define STORE_RETRY_MS 5000        /* an outcome the store could not record is retried after this */
#define PAYLOAD_BUDGET (64u << 20) /* event bodies kept in memory for first attempts, all shards together */
#define ITEMS_BUDGET 262144        /* deliveries in all windows of all shards, beyond which fills shrink... */
#define ITEMS_FLOOR 16             /* ...but a destination may always hold this many */

typedef hs__payload payload;
typedef struct hs__shard shard;

/* A connection's or destination's compiled transform, shared with the jobs
 * that run it. */
typedef struct ctf {
    char id[HS_ID_MAX];
    hs_jsonata *tf; /* NULL: the stored expression no longer compiles */
    int refs;       /* the map's and running jobs' (loop thread) */
} ctf;

typedef struct item {
    char id[HS_ID_MAX];
    char event_id[HS_ID_MAX];
    char connection_id[HS_ID_MAX];
    int attempts;      /* made so far */
    uint64_t ready_at; /* ms */
    uint64_t seq;      /* the store's: arrival order */
    payload *pl;       /* NULL: read the event from the store */
    bool once;         /* a replay's: one attempt, no retry, never dead-lettered */
} item;

/* A heap slot carries its sort key, so that sifting compares without
 * reaching into the items (a cache miss per comparison otherwise). */
typedef struct heap_entry {
    uint64_t ready_at; /* the item's; 0 under strict ordering (arrival only) */
    uint64_t seq;
    item *it;
} heap_entry;

typedef struct dest {
    char id[HS_ID_MAX];
    shard *sc;
    json_t *doc; /* own reference; replaced, never modified */
    const hs_provider *prov;
    bool paused; /* paused or disabled: queue, do not send */
    bool strict;
    int max_conc;
    hs_retry_policy retry;
    hs_circuit circuit;
    heap_entry *heap; /* the window */
    size_t n, cap;
    int in_flight;        /* slots taken */
    int jobs;             /* jobs and fills that still refer to this destination */
    struct job *job_list; /* jobs not yet over: their deliveries are still pending in the store */
    bool removed;
    struct ctf *tf; /* the payload shape (a template's), or NULL */
    uv_timer_t timer;
    /* the queue in the store (docs/scheduler.md) */
    uint64_t pending; /* deliveries pending in the store, those in flight included */
    uint64_t cursor;  /* the highest seq taken into the window since the last reset */
    bool more;        /* the store may hold pending deliveries past cursor */
    bool loading;     /* a fill is out */
    /* seqs whose jobs ended while the fill was out: its rows may predate
     * their commit (still pending then), so it does not take them */
    uint64_t *ended;
    size_t nended, ended_cap;
    bool load_again;     /* work arrived while it was: read once more */
    uint64_t gen;        /* bumped by a reset: a fill of an older generation is void */
    uint64_t retry_due;  /* best effort: when the earliest retry waiting in the store is due (0: none) */
    uint64_t fill_after; /* no fill before this (a read failed) */
    /* no send before this: an attempt could not be recorded (the database
     * is away), so sending more would only repeat them when it is back */
    uint64_t send_after;
    /* several nodes (src/cluster/): whether this node holds the
     * destination's lease, under which epoch (every write carries it), and
     * the store's count of requeues last seen; a lease being given back
     * waits for the attempts in flight, then calls released */
    bool leased;
    uint64_t epoch;
    uint64_t requeues;
    uint64_t known_last; /* the highest seq the store has given it, as last heard */
    /* pending as the store counted it up to this seq (its last_seq then):
     * a delivery heard of later with a seq at or below it is counted */
    uint64_t counted_to;
    /* the highest seq heard of from an ingest (here or relayed): a count
     * the store made before it (a mark with a lower last_seq) misses what
     * was heard and counted since, so it is not taken */
    uint64_t heard_last;
    uint64_t read_back; /* deliveries taken into the window by a fill (hs_dest_status) */
    hs_scheduler_released_cb released;
    void *released_ud;
} dest;

struct hs__shard {
    hs_scheduler *owner;
    size_t index;
    uv_loop_t *loop;
    hs_store *store;
    hs_http_client *http;
    hs_idmap dests;        /* id -> dest */
    hs_idmap conns;        /* connection id -> ctf, for connections with a transform */
    size_t window;         /* deliveries a destination holds in memory at most */
    size_t items;          /* held in all windows */
    size_t items_budget;   /* this shard's part of ITEMS_BUDGET */
    size_t payload_bytes;  /* held by payloads, against payload_budget */
    size_t payload_budget; /* this shard's part of PAYLOAD_BUDGET */
    bool stopping;
    bool clustered; /* a destination is sent only while leased (src/cluster/) */
    int jobs;       /* in flight anywhere: threadpool, transfer or commit */
    int closing_handles;
    void (*stop_done)(void *);
    void *stop_ud;
};

typedef struct job {
    uv_work_t work;
    shard *sc;
    dest *d;
    struct job *next, *prev; /* d->job_list */
    uint64_t seq;            /* its delivery's, while the job lasts */
    uint64_t parked_due;     /* best effort: the retry it left to the store is due then (0: none) */
    bool terminal;           /* the outcome takes the delivery out of pending */
    item *it;
    json_t *doc;
    ctf *tf;  /* the connection's transform, or NULL */
    ctf *dtf; /* the destination's, or NULL */
    int attempt;
    bool resent;          /* sent again after HS_ERR_AGAIN */
    bool dropped;         /* its destination's lease was lost: no outcome, nothing recorded */
    hs_http_call *call;   /* while its transfer runs */
    uint64_t local_t0;    /* a local delivery was handed over then */
    hs_dest_status seen;  /* the destination as this attempt left it, for the hooks */
    uint64_t received_at; /* the event's, ms (0 until built) */
    uint64_t latency_ms;  /* from received_at to the outcome */
    uint64_t now_ms;
    /* built on the threadpool */
    hs_out_req *req;
    char *req_headers; /* header list, secrets masked */
    size_t req_headers_len;
    char *url, *method;
    hs_error err;
    int rc;
} job;

static dest *find(shard *sc, const char *id) { return hs_idmap_get(&sc->dests, id); }

/* ---- the heap: best effort orders by (ready_at, seq), strict by seq ---- */

static bool before(const heap_entry *a, const heap_entry *b) {
    if (a->ready_at != b->ready_at) return a->ready_at < b->ready_at;
    return a->seq < b->seq;
}

static void heap_swap(dest *d, size_t i, size_t j) {
    heap_entry t = d->heap[i];
    d->heap[i] = d->heap[j];
    d->heap[j] = t;
}

static void sift_up(dest *d, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&d->heap[i], &d->heap[p])) break;
        heap_swap(d, i, p);
        i = p;
    }
}

static void sift_down(dest *d, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < d->n && before(&d->heap[l], &d->heap[m])) m = l;
        if (r < d->n && before(&d->heap[r], &d->heap[m])) m = r;
        if (m == i) return;
        heap_swap(d, i, m);
        i = m;
    }
}

static heap_entry entry_of(const dest *d, item *it) {
    return (heap_entry){.ready_at = d->strict ? 0 : it->ready_at, .seq = it->seq, .it = it};
}

static void heap_push(dest *d, item *it) {
    d->sc->items++;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->heap = hs_realloc(d->heap, d->cap * sizeof *d->heap);
    }
    d->heap[d->n++] = entry_of(d, it);
    sift_up(d, d->n - 1);
}

static item *heap_pop(dest *d) {
    d->sc->items--;
    item *top = d->heap[0].it;
    d->heap[0] = d->heap[--d->n];
    if (d->n) sift_down(d, 0);
    return top;
}

/* ---- payloads and items ---- */

/* Free a payload no one counts (not in the budget). */
static void payload_drop(payload *pl) {
    if (!pl) return;
    hs_free(pl->body);
    hs_free(pl->content_type);
    hs_free(pl->headers_json);
    hs_free(pl);
}

static void payload_unref(shard *sc, payload *pl) {
    if (!pl || --pl->refs > 0) return;
    sc->payload_bytes -= pl->bytes;
    payload_drop(pl);
}

/* A delivery for the window (its payload, if any, attached by the caller). */
static item *item_new(const char *id, const char *event_id, const char *connection_id, int attempts, uint64_t ready_at,
                      uint64_t seq) {
    item *it = hs_calloc(1, sizeof *it);
    hs_id_copy(it->id, id);
    hs_id_copy(it->event_id, event_id);
    hs_id_copy(it->connection_id, connection_id);
    it->attempts = attempts;
    it->ready_at = ready_at;
    it->seq = seq;
    return it;
}

static void item_free(shard *sc, item *it) {
    payload_unref(sc, it->pl);
    hs_free(it);
}

/* ---- destinations ---- */

static void ctf_unref(ctf *t) {
    if (!t || --t->refs > 0) return;
    hs_jsonata_free(t->tf);
    hs_free(t);
}

/* The compiled "transform" of a stored doc, or NULL when it has none. One
 * that no longer compiles (stored by another version) is kept as a ctf
 * without an expression: its deliveries fail with a clear error. */
static ctf *ctf_from(const json_t *doc, const char *id) {
    const char *expr = json_string_value(json_object_get(doc, "transform"));
    if (!expr || !*expr) return NULL;
    ctf *t = hs_calloc(1, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->refs = 1;
    hs_error err;
    hs_error_clear(&err);
    if (hs_transform_compile(expr, "transform", &t->tf, &err) != HS_OK)
        hs_warn("scheduler: %s: %s; its deliveries will fail", id, err.msg);
    return t;
}

static void dest_reset(dest *d);

static void dest_configure(dest *d, const json_t *doc) {
    ctf_unref(d->tf);
    d->tf = ctf_from(doc, d->id);
    json_t *old = d->doc;
    d->doc = json_incref((json_t *)doc);
    json_decref(old);
    d->prov = hs_provider_find(json_string_value(json_object_get(doc, "type")));
    const char *status = json_string_value(json_object_get(doc, "status"));
    const char *ordering = json_string_value(json_object_get(doc, "ordering"));
    bool strict = ordering && strcmp(ordering, "strict") == 0;
    json_int_t mc = json_integer_value(json_object_get(doc, "max_concurrency"));
    d->max_conc = mc >= 1 ? (int)mc : 1;
    hs_retry_policy_from_json(json_object_get(doc, "retry_policy"), &d->retry);
    const json_t *cb = json_object_get(doc, "circuit_breaker");
    json_t *en = json_object_get(cb, "enabled");
    json_int_t th = json_integer_value(json_object_get(cb, "threshold"));
    json_int_t cd = json_integer_value(json_object_get(cb, "cooldown_ms"));
    d->circuit.enabled = en ? json_is_true(en) : true;
    d->circuit.threshold = th > 0 ? (int)th : 5;
    d->circuit.cooldown_ms = cd > 0 ? (uint64_t)cd : 60000;
    bool was_paused = d->paused;
    d->paused = status && strcmp(status, "active") != 0;
    if (strict != d->strict || was_paused != d->paused) {
        /* the window is read by the ordering (best effort keeps retries in
         * the store); a paused destination holds none */
        d->strict = strict;
        dest_reset(d);
    }
}

static dest *dest_new(shard *sc, const json_t *doc) {
    dest *d = hs_calloc(1, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", json_string_value(json_object_get(doc, "id")));
    d->sc = sc;
    d->leased = !sc->clustered;
    hs_circuit_init(&d->circuit, true, 5, 60000);
    dest_configure(d, doc);
    uv_timer_init(sc->loop, &d->timer);
    d->timer.data = d;
    hs_idmap_put(&sc->dests, d->id, d);
    return d;
}

static void stop_check(shard *sc);

static void on_dest_closed(uv_handle_t *h) {
    dest *d = h->data;
    shard *sc = d->sc;
    ctf_unref(d->tf);
    json_decref(d->doc);
    hs_free(d->heap);
    hs_free(d->ended);
    hs_free(d);
    sc->closing_handles--;
    stop_check(sc);
}

/* A removed destination goes once nothing of it is in flight. */
static void dest_release(dest *d) {
    if (!d->removed || d->jobs > 0) return;
    d->sc->closing_handles++;
    uv_close((uv_handle_t *)&d->timer, on_dest_closed);
}

static void drop_queue(dest *d) {
    for (size_t i = 0; i < d->n; i++) item_free(d->sc, d->heap[i].it);
    d->sc->items -= d->n;
    d->n = 0;
}

/* Forget the window and read the queue again from its start: the store
 * holds the truth (a delivery requeued behind the cursor, an ordering
 * changed, a pause). Deliveries in flight stay; a fill that is out is void. */
static void dest_reset(dest *d) {
    drop_queue(d);
    d->cursor = 0;
    d->more = d->pending > 0;
    d->retry_due = d->strict || !d->pending ? 0 : 1; /* best effort: look for due retries */
    d->gen++;
    d->load_again = false;
}

/* ---- sending ---- */

static void pump(dest *d);
static void start(dest *d, item *it);

static void on_timer(uv_timer_t *t) { pump(t->data); }

static void arm(dest *d, uint64_t when, uint64_t now) {
    uv_timer_start(&d->timer, on_timer, when > now ? when - now : 0, 0);
}

static void fill(dest *d, uint64_t now);

static uint64_t earliest(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

static void pump(dest *d) {
    shard *sc = d->sc;
    if (d->removed || d->paused || sc->stopping || !d->leased) return;
    uint64_t now = hs_now_ms();
    uint64_t wake = 0;
    for (;;) {
        /* low water: read the next deliveries while these go out */
        if (!d->loading && now >= d->fill_after &&
            ((d->more && d->n <= sc->window / 2) || (d->retry_due && d->retry_due <= now)))
            fill(d, now);
        if (d->in_flight >= d->max_conc || d->n == 0) break;
        if (d->send_after > now) {
            wake = d->send_after;
            break;
        }
        item *top = d->heap[0].it;
        if (top->ready_at > now) {
            wake = top->ready_at;
            break;
        }
        if (!hs_circuit_may_send(&d->circuit, now)) {
            /* open: wake at the end of the cooldown; half open: the probe's
             * outcome will pump again */
            if (d->circuit.state == HS_CIRCUIT_OPEN) wake = d->circuit.next_probe_at;
            break;
        }
        start(d, heap_pop(d));
    }
    if (d->retry_due > now) wake = earliest(wake, d->retry_due);
    if (d->fill_after > now && (d->more || d->retry_due)) wake = earliest(wake, d->fill_after);
    if (wake) arm(d, wake, now);
}

/* ---- filling the window from the store (threadpool) ---- */

typedef struct fill_job {
    uv_work_t work;
    dest *d;
    hs_store *store;
    char dest_id[HS_ID_MAX];
    uint64_t gen, now;
    bool fresh_only;   /* best effort: the page skips deliveries waiting for a retry */
    uint64_t after;    /* the page: seq > after ... */
    size_t page_limit; /* ... at most this many (0: no page) */
    size_t due_limit;  /* best effort: due retries, at most this many (0: none) */
    uint64_t *skip;    /* seqs held in memory: not read again */
    size_t nskip;
    hs_delivery *rows; /* page_limit + due_limit */
    size_t n_page, n_due;
    size_t payload_room; /* bytes of event content the page may bring along */
    payload **pls;       /* the page's events, read with it (NULL: read at send time) */
    uint64_t next_due;
    uint64_t parked_min; /* the earliest retry left by a job whose record the read may not see */
    uint64_t known_last; /* the destination's, when the read began */
    hs_error err;
    int rc;
} fill_job;

/* An event read from the store, as the payload of its first attempts. */
static payload *payload_of_event(hs_event *e) {
    payload *pl = hs_calloc(1, sizeof *pl);
    snprintf(pl->source_id, sizeof pl->source_id, "%s", e->source_id);
    pl->body = (char *)e->body;
    pl->body_len = e->body_len;
    pl->content_type = e->content_type;
    pl->headers_json = e->headers_json;
    snprintf(pl->method, sizeof pl->method, "%s", e->method ? e->method : "");
    pl->received_at = e->received_at;
    e->body = NULL;
    e->content_type = e->headers_json = NULL;
    pl->bytes = sizeof *pl + pl->body_len;
    return pl;
}

/* The page's events, read here with it rather than one threadpool trip per
 * first attempt, as far as the payload budget goes. */
static void fill_payloads(fill_job *f) {
    f->pls = hs_calloc(f->n_page, sizeof *f->pls);
    size_t used = 0;
    for (size_t i = 0; i < f->n_page && used < f->payload_room; i++) {
        if (f->rows[i].attempts > 0) continue; /* retries read theirs back when they go */
        hs_event *e = NULL;
        hs_error err;
        if (hs_store_event_get(f->store, f->rows[i].event_id, &e, &err) != HS_OK) continue; /* read at send time */
        f->pls[i] = payload_of_event(e);
        used += f->pls[i]->bytes;
        hs_event_free(e);
    }
}

static void fill_work(uv_work_t *w) {
    fill_job *f = w->data;
    f->rc = HS_OK;
    if (f->page_limit)
        f->rc = hs_store_queue_page(f->store, f->dest_id, f->after, f->fresh_only, f->page_limit, f->rows, &f->n_page,
                                    &f->err);
    if (f->rc == HS_OK && f->n_page && f->payload_room) fill_payloads(f);
    if (f->rc == HS_OK && f->due_limit)
        f->rc = hs_store_queue_due(f->store, f->dest_id, f->now, f->skip, f->nskip, f->due_limit,
                                   f->rows + f->page_limit, &f->n_due, &f->next_due, &f->err);
}

/* Taken already: its attempt is out, or ended while the fill that read
 * this row was out (the row shows it as it was before the outcome). */
static bool taken_seq(const dest *d, uint64_t seq) {
    for (const job *j = d->job_list; j; j = j->next)
        if (j->seq == seq) return true;
    for (size_t i = 0; i < d->nended; i++)
        if (d->ended[i] == seq) return true;
    return false;
}

/* Into the window, with its event's content when the fill read it (pl,
 * taken over; dropped when the row is not taken or the budget is spent). */
static void take_row(dest *d, const hs_delivery *r, payload *pl) {
    shard *sc = d->sc;
    if (taken_seq(d, r->seq)) { /* read again while its attempt was out */
        payload_drop(pl);
        return;
    }
    if (pl && sc->payload_bytes + pl->bytes > sc->payload_budget) {
        payload_drop(pl);
        pl = NULL;
    }
    item *it = item_new(r->id, r->event_id, r->connection_id, r->attempts, r->next_attempt_at, r->seq);
    d->read_back++;
    it->once = r->replay_job_id[0] != '\0';
    if (pl) {
        pl->refs = 1;
        sc->payload_bytes += pl->bytes;
        it->pl = pl;
    }
    heap_push(d, it);
}

static void dest_work_over(dest *d);

static void fill_done(uv_work_t *w, int status) {
    fill_job *f = w->data;
    dest *d = f->d;
    shard *sc = d->sc;
    d->loading = false;
    bool current = status == 0 && !d->removed && !sc->stopping && f->gen == d->gen;
    if (current && f->rc != HS_OK) {
        hs_error_log("scheduler: %s: reading its queue: %s; trying again in %d ms", d->id, f->err.msg, STORE_RETRY_MS);
        d->fill_after = hs_now_ms() + STORE_RETRY_MS;
        d->more = d->more || f->page_limit;
        if (f->due_limit) d->retry_due = f->now; /* read those again too */
    } else if (current) {
        for (size_t i = 0; i < f->n_page; i++) {
            take_row(d, &f->rows[i], f->pls ? f->pls[i] : NULL);
            if (f->pls) f->pls[i] = NULL;
            if (f->rows[i].seq > d->cursor) d->cursor = f->rows[i].seq;
        }
        if (f->page_limit) d->more = f->n_page == f->page_limit || d->load_again;
        /* the page ran out: every delivery up to the last seq the store
         * had given when the read began is in memory or done (a
         * destination's seqs grow in commit order) */
        if (f->page_limit && f->n_page < f->page_limit && f->known_last > d->cursor) d->cursor = f->known_last;
        for (size_t i = 0; i < f->n_due; i++) take_row(d, &f->rows[f->page_limit + i], NULL);
        /* retries parked while this read was out set retry_due already;
         * those parked before it, whose records it may have missed, are in
         * parked_min */
        if (f->due_limit) d->retry_due = earliest(d->retry_due, earliest(f->next_due, f->parked_min));
        d->load_again = false;
    } else if (!d->removed && !sc->stopping) {
        d->more = d->more || d->pending > 0; /* void (reset meanwhile): read again */
    }
    for (size_t i = 0; f->pls && i < f->n_page; i++) payload_drop(f->pls[i]); /* those not taken */
    hs_free(f->pls);
    hs_free(f->skip);
    hs_free(f->rows);
    hs_free(f);
    dest_work_over(d);
    if (!d->removed) pump(d);
}

/* Read what the window has room for: the next page of the queue and, for
 * best effort, the retries that are due. */
static void fill(dest *d, uint64_t now) {
    shard *sc = d->sc;
    size_t room = d->n < sc->window ? sc->window - d->n : 0;
    size_t budget = sc->items < sc->items_budget ? sc->items_budget - sc->items : 0;
    if (room > budget) room = budget > ITEMS_FLOOR ? budget : ITEMS_FLOOR;
    if (room > sc->window) room = sc->window;
    if (room == 0) return;
    fill_job *f = hs_calloc(1, sizeof *f);
    f->work.data = f;
    f->d = d;
    f->store = sc->store;
    snprintf(f->dest_id, sizeof f->dest_id, "%s", d->id);
    f->gen = d->gen;
    f->now = now;
    f->fresh_only = !d->strict;
    f->after = d->cursor;
    f->known_last = d->known_last;
    f->page_limit = d->more ? room : 0;
    f->payload_room = sc->payload_bytes < sc->payload_budget ? (sc->payload_budget - sc->payload_bytes) / 4 : 0;
    bool due = !d->strict && d->retry_due && d->retry_due <= now;
    if (due) {
        /* the page first; due retries share what is left, at least a few */
        size_t left = room > f->page_limit ? room - f->page_limit : 0;
        f->due_limit = left ? left : (room < ITEMS_FLOOR ? room : ITEMS_FLOOR);
        d->retry_due = 0; /* the read says when next; parks meanwhile lower it */
        /* what memory holds is not read again */
        f->skip = hs_malloc((d->n + (size_t)d->jobs + 1) * sizeof *f->skip);
        for (size_t i = 0; i < d->n; i++) f->skip[f->nskip++] = d->heap[i].it->seq;
        for (const job *j = d->job_list; j; j = j->next) {
            f->skip[f->nskip++] = j->seq;
            f->parked_min = earliest(f->parked_min, j->parked_due);
        }
    }
    f->rows = hs_malloc((f->page_limit + f->due_limit + 1) * sizeof *f->rows);
    d->loading = true;
    d->nended = 0;
    d->jobs++;
    sc->jobs++;
    int rc = uv_queue_work(sc->loop, &f->work, fill_work, fill_done);
    if (rc != 0) {
        d->loading = false;
        d->jobs--;
        sc->jobs--;
        d->fill_after = now + STORE_RETRY_MS;
        if (due) d->retry_due = now;
        hs_free(f->skip);
        hs_free(f->rows);
        hs_free(f);
    }
}

/* The request's headers for the record, secret values masked, as a header
 * list (src/http/outbound.h): a copy, turned into JSON on the writer thread rather
 * than here on the loop. */
static char *masked_headers(const hs_out_req *r, size_t *len) {
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        n += strlen(r->headers[i].name) + 1 + (r->headers[i].secret ? 8 : strlen(r->headers[i].value)) + 1;
    char *list = hs_malloc(n ? n : 1), *p = list;
    for (size_t i = 0; i < r->nheaders; i++) {
        const hs_out_header *h = &r->headers[i];
        const char *v = h->secret ? "********" : h->value;
        size_t nl = strlen(h->name) + 1, vl = strlen(v) + 1;
        memcpy(p, h->name, nl);
        memcpy(p + nl, v, vl);
        p += nl + vl;
    }
    *len = n;
    return list;
}

/* Let the provider build the request for ctx (any thread). */
static void build_from(job *j, const hs_delivery_ctx *ctx) {
    if (!j->d->prov || !j->d->prov->build) {
        j->rc = hs_error_set(&j->err, HS_ERR_UNSUPPORTED, NULL, "delivery to %s destinations is not available yet",
                             json_string_value(json_object_get(j->doc, "type")));
        return;
    }
    j->received_at = ctx->received_at;
    j->req = hs_malloc(sizeof *j->req);
    j->rc = hs_provider_build(j->d->prov, ctx, j->req, &j->err);
    if (j->rc == HS_OK) {
        j->req_headers = masked_headers(j->req, &j->req_headers_len);
        j->url = hs_strdup(j->req->url ? j->req->url : "");
        j->method = hs_strdup(j->req->method ? j->req->method : "");
    } else {
        hs_free(j->req); /* emptied by hs_provider_build */
        j->req = NULL;
    }
}

/* The context of j's attempt, on the event in memory (pl) or read back (e). */
static void ctx_init(hs_delivery_ctx *ctx, const job *j, const payload *pl, const hs_event *e) {
    memset(ctx, 0, sizeof *ctx);
    ctx->destination = j->doc;
    ctx->event_id = j->it->event_id;
    ctx->delivery_id = j->it->id;
    ctx->connection_id = j->it->connection_id;
    ctx->attempt = j->attempt;
    ctx->now_ms = j->now_ms;
    if (pl) {
        ctx->source_id = pl->source_id;
        ctx->payload = pl->body;
        ctx->payload_len = pl->body_len;
        ctx->content_type = pl->content_type ? pl->content_type : "";
        ctx->event_headers_json = pl->headers_json;
        ctx->method = pl->method;
        ctx->received_at = pl->received_at;
    } else {
        ctx->source_id = e->source_id;
        ctx->payload = (const char *)e->body;
        ctx->payload_len = e->body_len;
        ctx->content_type = e->content_type ? e->content_type : "";
        ctx->event_headers_json = e->headers_json;
        ctx->method = e->method;
        ctx->received_at = e->received_at;
    }
}

/* Runs t (when there is one) on ctx's payload, which becomes the output
 * (*out, the caller frees it). */
static int transform(job *j, const ctf *t, const char *whose, hs_delivery_ctx *ctx, char **out) {
    if (!t) return HS_OK;
    if (!t->tf) return hs_error_set(&j->err, HS_ERR_INVALID, NULL, "the %s's transform does not compile", whose);
    hs_transform_vars vars = {.headers_json = ctx->event_headers_json,
                              .event_id = ctx->event_id,
                              .source_id = ctx->source_id,
                              .inputs = json_object_get(j->doc, "template_inputs")};
    int rc = hs_transform_run(t->tf, ctx->payload, ctx->payload_len, &vars, out, &j->err);
    if (rc != HS_OK) return rc;
    ctx->payload = *out;
    ctx->payload_len = strlen(*out);
    ctx->content_type = "application/json";
    return HS_OK;
}

/* Threadpool: read the event unless it is in memory, run the connection's
 * and the destination's transforms if they have them (time-limited), then
 * build. */
static void build_work(uv_work_t *w) {
    job *j = w->data;
    const payload *pl = j->it->pl; /* immutable while the item holds it */
    hs_event *e = NULL;
    hs_delivery_ctx ctx;
    if (!pl) {
        j->rc = hs_store_event_get(j->sc->store, j->it->event_id, &e, &j->err);
        if (j->rc != HS_OK) return;
    }
    ctx_init(&ctx, j, pl, e);
    char *conn_out = NULL, *dest_out = NULL;
    j->rc = transform(j, j->tf, "connection", &ctx, &conn_out);
    if (j->rc == HS_OK) j->rc = transform(j, j->dtf, "destination", &ctx, &dest_out);
    if (j->rc == HS_OK) build_from(j, &ctx);
    hs_free(conn_out);
    hs_free(dest_out);
    hs_event_free(e);
}

static void job_free(job *j) {
    if (j->req) {
        hs_out_req_free(j->req);
        hs_free(j->req);
    }
    hs_free(j->req_headers);
    hs_free(j->url);
    hs_free(j->method);
    json_decref(j->doc);
    ctf_unref(j->tf);
    ctf_unref(j->dtf);
    hs_free(j);
}

/* Stopped once no job runs and every handle is closed; done runs once. */
static void stop_check(shard *sc) {
    if (!sc->stopping || sc->jobs > 0 || sc->closing_handles > 0 || !sc->stop_done) return;
    void (*done)(void *) = sc->stop_done;
    sc->stop_done = NULL;
    done(sc->stop_ud);
}

/* The slot of j is free again; the item goes back to the heap (due at its
 * ready_at) or away. */
static void release(job *j, bool requeue) {
    dest *d = j->d;
    if (!j->it) return; /* released already */
    d->in_flight--;
    /* retries read the event back: bodies are not held across retry waits */
    payload_unref(j->sc, j->it->pl);
    j->it->pl = NULL;
    if (requeue && !d->removed)
        heap_push(d, j->it);
    else
        hs_free(j->it);
    j->it = NULL;
    if (!d->removed) pump(d);
}

/* A job or a fill that referred to d is over. */
static void lease_over(dest *d);

static void dest_work_over(dest *d) {
    shard *sc = d->sc;
    sc->jobs--;
    d->jobs--;
    lease_over(d);
    dest_release(d);
    stop_check(sc);
}

/* The job is over: nothing refers to it any more. */
static void job_end(job *j) {
    dest *d = j->d;
    if (d->loading) { /* settled (or back in the window) after the fill's read may have begun */
        if (d->nended == d->ended_cap) {
            d->ended_cap = d->ended_cap ? d->ended_cap * 2 : 8;
            d->ended = hs_realloc(d->ended, d->ended_cap * sizeof *d->ended);
        }
        d->ended[d->nended++] = j->seq;
    }
    if (j->prev)
        j->prev->next = j->next;
    else if (d->job_list == j)
        d->job_list = j->next;
    if (j->next) j->next->prev = j->prev;
    job_free(j);
    dest_work_over(d);
}

static void finish(job *j, bool requeue) {
    release(j, requeue);
    job_end(j);
}

static hs_circuit_row circuit_row(const dest *d) {
    hs_circuit_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.destination_id, sizeof r.destination_id, "%s", d->id);
    snprintf(r.state, sizeof r.state, "%s", hs_circuit_state_name(d->circuit.state));
    r.consecutive_failures = d->circuit.consecutive_failures;
    r.opened_at = d->circuit.opened_at;
    r.next_probe_at = d->circuit.next_probe_at;
    r.last_transition_at = d->circuit.last_transition_at;
    return r;
}

/* Apply the outcome to the item and give the slot back. A retry waits in
 * the window under strict ordering (it holds back the rest); under best
 * effort it waits in the store, and retry_due says when to read it back. */
static void settle(job *j, const hs_attempt_rec *a) {
    j->it->attempts = a->attempt_number;
    j->it->ready_at = a->next_retry_at;
    bool retry = !a->success && !a->is_dlq && a->next_retry_at;
    if (retry && !j->d->strict) {
        j->d->retry_due = earliest(j->d->retry_due, a->next_retry_at);
        j->parked_due = a->next_retry_at;
    }
    release(j, retry && j->d->strict);
}

/* What the attempt hooks get about a's attempt by j. */
static hs_attempt_event attempt_event(const job *j, const hs_attempt_rec *a) {
    return (hs_attempt_event){
        .a = a, .dest = &j->seen, .latency_ms = j->latency_ms, .destination_removed = j->d->removed};
}

static void on_committed(hs_attempt_op *op, int status) {
    job *j = op->ud;
    if (status == HS_ERR_STALE) {
        /* the lease had moved: the new owner sends it; nothing of this
         * attempt was recorded, and nothing more goes out from here */
        hs_warn("scheduler: %s", op->err.msg);
        if (j->d->leased && j->d->epoch == op->epoch) {
            j->d->leased = false;
            drop_queue(j->d);
            uv_timer_stop(&j->d->timer);
        }
        if (j->it) release(j, false);
        hs_attempt_op_free(op);
        dest *d = j->d;
        job_end(j);
        lease_over(d);
        return;
    }
    if (status == HS_OK && op->has_attempt) {
        hs_attempt_event ev = attempt_event(j, &op->a);
        hs__sched_attempt(j->sc->owner, j->sc->index, true, &ev);
    }
    if (status != HS_OK) {
        hs_error_log("scheduler: recording attempt %d of %s failed: %s", op->a.attempt_number, op->a.delivery_id,
                     op->err.msg);
        if (j->terminal) j->d->pending++;                /* still pending in the store */
        j->d->send_after = hs_now_ms() + STORE_RETRY_MS; /* pause this destination, not just this delivery */
        if (j->it) {
            /* still ours: the delivery is pending in the store; try it again
             * a little later (at least once, never lost) */
            j->it->ready_at = hs_now_ms() + STORE_RETRY_MS;
            release(j, true);
        } else if (!j->d->removed) {
            /* released early (best effort): the store still has it pending;
             * read the queue again so that it goes out again */
            dest_reset(j->d);
            pump(j->d);
        }
    } else if (j->it) {
        settle(j, &op->a);
    }
    hs_attempt_op_free(op);
    job_end(j);
}

/* Pending and not in flight: in the window or still in the store. */
static uint64_t queued(const dest *d) {
    return d->pending > (uint64_t)d->in_flight ? d->pending - (uint64_t)d->in_flight : 0;
}

static hs_dest_status dest_status(const dest *d) {
    hs_dest_status st = {.id = d->id,
                         .type = d->prov ? d->prov->type : "http",
                         .circuit = hs_circuit_state_name(d->circuit.state),
                         .consecutive_failures = d->circuit.consecutive_failures,
                         .queued = queued(d),
                         .read_back = d->read_back,
                         .in_flight = d->in_flight};
    return st;
}

/* Decide what the attempt means and commit it. resp may be NULL (nothing
 * was sent: the event could not be read or the request built).
 * rc: HS_OK delivered; HS_ERR_PERMANENT failed for good (no retry: the
 * receiver said the request can never succeed as it is); else failed. */
static void conclude(job *j, hs_out_resp *resp, int rc, const char *why) {
    bool success = rc == HS_OK;
    dest *d = j->d;
    item *it = j->it;
    uint64_t now = hs_now_ms();
    hs_circuit before_c = d->circuit;
    if (success)
        hs_circuit_on_success(&d->circuit, now);
    else
        hs_circuit_on_failure(&d->circuit, now);
    /* a probe that was not sent (build failure) still counts as the probe */
    d->circuit.probe_in_flight = false;
    /* a 429 or 503 may say when to come back (Retry-After, capped): the
     * next attempt waits at least that long, and so does the probe of a
     * circuit that is open now */
    uint64_t asked = 0;
    if (!success && resp && !resp->error)
        asked = hs_retry_after_ms(resp->status, hs_headers_get(resp->headers, resp->headers_len, "retry-after"), now);
    if (asked && d->circuit.state == HS_CIRCUIT_OPEN && d->circuit.next_probe_at < now + asked)
        d->circuit.next_probe_at = now + asked;

    hs_attempt_op *op = hs_attempt_op_new();
    hs_attempt_rec *a = &op->a;
    op->has_attempt = true;
    hs_id_new("da_", a->id);
    hs_id_copy(a->delivery_id, it->id);
    hs_id_copy(a->event_id, it->event_id);
    hs_id_copy(a->destination_id, d->id);
    hs_id_copy(a->connection_id, it->connection_id);
    a->attempt_number = j->attempt;
    a->success = success;
    /* the record takes over what the job and the response leave behind */
    a->request_url = j->url ? j->url : hs_strdup("");
    a->request_method = j->method ? j->method : hs_strdup("");
    a->request_headers = j->req_headers;
    a->request_headers_len = j->req_headers ? j->req_headers_len : 0;
    j->url = j->method = j->req_headers = NULL;
    if (resp) {
        a->response_status = resp->status;
        a->response_headers = resp->headers;
        a->response_headers_len = resp->headers ? resp->headers_len : 0;
        a->response_body = resp->body;
        a->response_body_len = resp->body ? resp->body_len : 0;
        resp->headers = NULL;
        resp->headers_len = 0;
        resp->body = NULL;
        resp->body_len = 0;
        a->duration_ms = resp->duration_ms;
    }
    a->error = why ? hs_strdup(why) : NULL;
    a->created_at = now;
    if (!success) {
        if (it->once) {
            /* a replay's delivery: failed, no retry, not a dead letter */
        } else if (rc != HS_ERR_PERMANENT && hs_retry_more(&d->retry, j->attempt)) {
            a->next_retry_at = now + hs_retry_wait_ms(&d->retry, j->attempt, asked);
        } else {
            a->is_dlq = true;
            a->dlq_at = now;
        }
    }
    j->terminal = success || a->is_dlq || it->once;
    if (j->terminal && d->pending) d->pending--;
    hs_log_level lvl = a->is_dlq ? HS_LOG_WARN : HS_LOG_DEBUG; /* a dead letter needs a person */
    if (hs_log_get_level() <= lvl)
        hs_logj(lvl,
                json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s?}", "event_id", a->event_id, "delivery_id",
                          a->delivery_id, "destination_id", a->destination_id, "attempt_id", a->id, "attempt",
                          a->attempt_number, "response_status", a->response_status, "error", a->error),
                "%s",
                success     ? "delivered"
                : a->is_dlq ? "dead-lettered"
                : it->once  ? "replay attempt failed"
                            : "attempt failed, will retry");
    j->seen = dest_status(d);
    j->seen.in_flight--; /* this attempt is over: its slot is about to be freed */
    j->latency_ms = j->received_at && now > j->received_at ? now - j->received_at : 0;
    hs_attempt_event ev = attempt_event(j, a);
    ev.circuit_before = hs_circuit_state_name(before_c.state); /* circuit_changed when it moved */
    hs__sched_attempt(j->sc->owner, j->sc->index, false, &ev);
    if (before_c.state != d->circuit.state || before_c.consecutive_failures != d->circuit.consecutive_failures ||
        before_c.next_probe_at != d->circuit.next_probe_at) {
        op->has_circuit = true;
        op->circuit = circuit_row(d);
    }
    op->cb = on_committed;
    op->ud = j;
    op->epoch = d->epoch;
    if (hs_store_attempt_commit(j->sc->store, op) != HS_OK) {
        on_committed(op, op->err.code ? op->err.code : -1);
        return;
    }
    /* best effort: the next delivery need not wait for this record's commit.
     * A crash before it would send this one again after the restart,
     * possibly after later ones: at-least-once, as always. Strict ordering
     * keeps the slot until the record is on disk, so that cannot happen. */
    if (!d->strict) settle(j, &op->a);
}

static void build_work(uv_work_t *w);
static void build_done(uv_work_t *w, int status);

/* The provider said its cached credentials went stale (HS_ERR_AGAIN, see
 * src/providers/provider.h): build and send again at once, without recording this try. */
static void send_again(job *j) {
    j->resent = true;
    j->now_ms = hs_now_ms();
    hs_free(j->req_headers);
    hs_free(j->url);
    hs_free(j->method);
    j->req_headers = j->url = j->method = NULL;
    j->rc = HS_OK;
    hs_error_clear(&j->err);
    int rc = uv_queue_work(j->sc->loop, &j->work, build_work, build_done);
    if (rc != 0) {
        j->rc = hs_error_set(&j->err, HS_ERR_IO, NULL, "cannot queue the delivery: %s", uv_strerror(rc));
        conclude(j, NULL, j->rc, j->err.msg);
    }
}

static void on_response(hs_http_call *call, hs_out_resp *resp, void *ud) {
    (void)call;
    job *j = ud;
    j->call = NULL;
    if (resp->error == HS_ERR_CLOSED && (j->sc->stopping || j->dropped)) {
        /* cancelled by shutdown: not an outcome; pending in the store */
        hs_out_resp_free(resp);
        hs_free(resp);
        finish(j, false);
        return;
    }
    hs_error err;
    hs_error_clear(&err);
    int rc;
    if (resp->error) {
        rc = hs_error_set(&err, resp->error, NULL, "%s", resp->errmsg[0] ? resp->errmsg : hs_strerror(resp->error));
    } else {
        hs_delivery_ctx ctx = {.destination = j->doc, .event_id = j->it->event_id, .delivery_id = j->it->id};
        rc = j->d->prov && j->d->prov->classify ? j->d->prov->classify(&ctx, resp, &err)
                                                : hs_provider_classify_2xx(resp, &err);
    }
    if (rc == HS_ERR_AGAIN && !j->resent) {
        hs_out_resp_free(resp);
        hs_free(resp);
        send_again(j);
        return;
    }
    conclude(j, resp, rc, rc == HS_OK ? NULL : err.msg);
    hs_out_resp_free(resp);
    hs_free(resp);
}

/* A local delivery's answer (hs__sched_deliver_local), back on this thread. */
static void local_done(hs_out_resp *resp, void *ud) {
    job *j = ud;
    resp->duration_ms = hs_now_ms() - j->local_t0;
    hs_out_req_free(j->req);
    hs_free(j->req);
    j->req = NULL;
    on_response(NULL, resp, j);
}

static void send_built(job *j) {
    if (j->rc != HS_OK) {
        conclude(j, NULL, j->rc, j->err.msg[0] ? j->err.msg : hs_strerror(j->rc));
        return;
    }
    const hs_provider *p = j->d->prov;
    if (p && p->deliver_local) {
        j->local_t0 = hs_now_ms();
        hs__sched_deliver_local(j->sc->owner, j->sc->index, p, j->req, local_done, j);
        return;
    }
    hs_out_req *req = j->req;
    j->req = NULL;    /* the client owns it now */
    if (j->dropped) { /* the lease went while it was being built */
        hs_out_req_free(req);
        hs_free(req);
        finish(j, false);
        return;
    }
    if (hs_http_client_send(j->sc->http, req, on_response, j, &j->call) != HS_OK)
        conclude(j, NULL, HS_ERR_IO, "the request could not be started");
}

static void build_done(uv_work_t *w, int status) {
    job *j = w->data;
    if (status == UV_ECANCELED || j->sc->stopping || j->dropped) {
        finish(j, false);
        return;
    }
    send_built(j);
}

static void start(dest *d, item *it) {
    shard *sc = d->sc;
    job *j = hs_calloc(1, sizeof *j);
    j->work.data = j;
    j->sc = sc;
    j->d = d;
    j->it = it;
    j->doc = json_incref(d->doc);
    j->attempt = it->attempts + 1;
    j->now_ms = hs_now_ms();
    hs_error_clear(&j->err);
    j->seq = it->seq;
    j->next = d->job_list;
    if (d->job_list) d->job_list->prev = j;
    d->job_list = j;
    d->in_flight++;
    d->jobs++;
    sc->jobs++;
    j->tf = hs_idmap_get(&sc->conns, it->connection_id);
    if (j->tf) j->tf->refs++;
    j->dtf = d->tf;
    if (j->dtf) j->dtf->refs++;
    if (it->pl && !j->tf && !j->dtf && !(d->prov && d->prov->slow_build)) {
        /* the event is in memory and needs no transform: build here (signing
         * is microseconds; a transform may take up to its time limit) */
        hs_delivery_ctx ctx;
        ctx_init(&ctx, j, it->pl, NULL);
        build_from(j, &ctx);
        send_built(j);
        return;
    }
    int rc = uv_queue_work(sc->loop, &j->work, build_work, build_done);
    if (rc != 0) {
        j->rc = hs_error_set(&j->err, HS_ERR_IO, NULL, "cannot queue the delivery: %s", uv_strerror(rc));
        conclude(j, NULL, j->rc, j->err.msg);
    }
}

/* ---- adding work ---- */

/* A new delivery goes straight into the window when the window has room
 * and nothing older waits in the store (nor is being read from it);
 * otherwise it is left to a fill, in its turn. */
static bool window_takes(const shard *sc, const dest *d) {
    return !d->paused && !d->more && !d->loading && d->n < sc->window &&
           (sc->items < sc->items_budget || d->n < ITEMS_FLOOR);
}

/* The store holds deliveries past the window: a fill reads them. */
static void more_in_store(dest *d) {
    d->more = true;
    if (d->loading) d->load_again = true;
}

void hs__shard_ingest(shard *sc, const char *event_id, payload *pl, const hs_delivery_ref *refs, size_t n) {
    /* due when the store says (next_attempt_at: the event's arrival), as a
     * fill would read it: not this loop's time of hearing of it, which a
     * busy mailbox delays past a later event's arrival, whose delivery a
     * fill may bring first */
    uint64_t ready = pl && pl->received_at ? pl->received_at : hs_now_ms();
    if (pl && sc->payload_bytes + pl->bytes > sc->payload_budget) {
        payload_drop(pl); /* first attempts read the event back */
        pl = NULL;
    }
    if (pl) {
        sc->payload_bytes += pl->bytes;
        pl->refs = 1; /* ours until the loop below is done */
    }
    for (size_t i = 0; i < n; i++) {
        const hs_delivery_ref *r = &refs[i];
        dest *d = find(sc, r->destination_id);
        if (!d || d->removed || !d->leased) continue; /* another node's: it hears of it from the store */
        if (r->seq > d->counted_to) d->pending++;
        if (r->seq > d->heard_last) d->heard_last = r->seq;
        /* a fill read it already: committed, it was in the store before
         * this news of it got here through the mailboxes */
        if (r->seq <= d->cursor) continue;
        if (!window_takes(sc, d) || r->prev_seq > d->cursor) {
            /* older deliveries wait in the store (or another node's lie
             * in between): a fill brings this one in its turn */
            more_in_store(d);
        } else {
            item *it = item_new(r->id, event_id, r->connection_id, 0, ready, r->seq);
            d->cursor = r->seq;
            if (pl) {
                it->pl = pl;
                pl->refs++;
            }
            heap_push(d, it);
        }
        pump(d);
    }
    payload_unref(sc, pl);
}

void hs__shard_requeued(shard *sc, const char (*ids)[HS_ID_MAX], size_t n) {
    for (size_t i = 0; i < n; i++) {
        dest *d = find(sc, ids[i]);
        if (d && !d->removed && d->leased) d->pending++;
    }
    for (size_t i = 0; i < n; i++) {
        dest *d = find(sc, ids[i]);
        if (!d || d->removed || !d->leased) continue;
        /* it keeps its place in the queue (its seq), likely behind the
         * cursor: read the queue again, once for all of this destination's */
        bool again = false;
        for (size_t k = 0; k < i && !again; k++) again = strcmp(ids[k], ids[i]) == 0;
        if (again) continue;
        dest_reset(d);
        pump(d);
    }
}

static void destination_put(shard *sc, const json_t *doc) {
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id) return;
    dest *d = find(sc, id);
    if (d)
        dest_configure(d, doc);
    else
        d = dest_new(sc, doc);
    pump(d);
}

static void destination_remove(shard *sc, const char *id) {
    dest *d = find(sc, id);
    if (!d) return;
    hs_idmap_del(&sc->dests, d->id);
    d->removed = true;
    uv_timer_stop(&d->timer);
    drop_queue(d);
    dest_release(d);
}

static void connection_remove(shard *sc, const char *id) { ctf_unref(hs_idmap_del(&sc->conns, id)); }

static void connection_put(shard *sc, const json_t *doc) {
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id) return;
    connection_remove(sc, id);
    ctf *t = ctf_from(doc, id);
    if (t) hs_idmap_put(&sc->conns, t->id, t);
}

void hs__shard_resource(shard *sc, const hs_resource_event *e) {
    bool gone = e->change == HS_CHANGE_DELETED;
    if (e->kind == HS_KIND_DESTINATION) {
        if (gone)
            destination_remove(sc, e->id);
        else
            destination_put(sc, e->doc);
    } else if (e->kind == HS_KIND_CONNECTION) {
        if (gone)
            connection_remove(sc, e->id);
        else
            connection_put(sc, e->doc);
    }
}

/* ---- leases (several nodes: src/cluster/) ---- */

/* A lease being given back: once nothing of d is in flight (its attempts'
 * records committed under the lease), the scheduler is told. */
static void lease_over(dest *d) {
    if (!d->released || d->jobs > 0) return;
    hs_scheduler_released_cb cb = d->released;
    d->released = NULL;
    hs__sched_released(d->sc->owner, d->sc->index, d->id, d->epoch, cb, d->released_ud);
}

/* Stop sending d: its window goes; abort: its transfers are cancelled
 * (nothing of them is recorded; the next owner sends them again). */
static void lease_stop(dest *d, bool abort) {
    d->leased = false;
    uv_timer_stop(&d->timer);
    drop_queue(d);
    if (!abort) return;
    for (job *j = d->job_list; j; j = j->next) {
        j->dropped = true;
        if (j->call) hs_http_client_cancel(d->sc->http, j->call);
    }
}

static void lease_take(dest *d, const hs_lease_msg *m) {
    d->leased = true;
    d->epoch = m->epoch;
    if (m->has_circuit) hs__shard_load_circuit(d->sc, &m->circuit, hs_now_ms());
    d->pending = m->pending;
    d->counted_to = m->last_seq;
    d->requeues = m->requeues;
    d->known_last = m->last_seq;
    d->send_after = 0;
    dest_reset(d);
    d->more = true; /* whatever the count says: a read that finds nothing is cheap */
    pump(d);
}

void hs__shard_lease(shard *sc, const hs_lease_msg *m, hs_scheduler_released_cb cb, void *ud) {
    dest *d = find(sc, m->destination_id);
    if (d && d->removed) d = NULL;
    switch (m->op) {
    case HS_LEASE_OWN:
        if (d) lease_take(d, m);
        break;
    case HS_LEASE_DROP:
        if (d && d->leased && (!m->epoch || d->epoch == m->epoch)) lease_stop(d, true);
        break;
    case HS_LEASE_RELEASE:
        if (!d || !d->leased || d->epoch != m->epoch) {
            hs__sched_released(sc->owner, sc->index, m->destination_id, m->epoch, cb, ud);
            break;
        }
        lease_stop(d, false);
        d->released = cb;
        d->released_ud = ud;
        lease_over(d);
        break;
    case HS_LEASE_MORE:
        if (!d || !d->leased) break;
        if (m->last_seq > d->counted_to) d->pending += m->n; /* else the store's count had them */
        if (m->last_seq > d->heard_last) d->heard_last = m->last_seq;
        if (m->last_seq > d->known_last) d->known_last = m->last_seq;
        if (m->last_seq > d->cursor) more_in_store(d);
        pump(d);
        break;
    case HS_LEASE_REREAD:
        if (!d || !d->leased) break;
        d->pending += m->n;
        dest_reset(d);
        pump(d);
        break;
    case HS_LEASE_MARK:
        if (!d) break;
        if (!d->leased || d->epoch != m->epoch) {
            lease_take(d, m); /* a lease it had not heard of (the destination arrived after) */
            break;
        }
        if (m->last_seq > d->known_last) d->known_last = m->last_seq;
        if (m->requeues != d->requeues) {
            d->requeues = m->requeues;
            dest_reset(d);
        } else if (m->last_seq > d->cursor && !d->more) {
            more_in_store(d);
        }
        /* the store's count, while no outcome is on its way to it and
         * nothing was heard of that it could not see */
        if (d->jobs == 0 && d->heard_last <= m->last_seq) {
            d->pending = m->pending;
            d->counted_to = m->last_seq;
        }
        pump(d);
        break;
    }
}

void hs__shard_set_clustered(shard *sc) { sc->clustered = true; }

/* ---- circuit endpoints ---- */

static json_t *circuit_json(const dest *d) {
    json_t *o = json_object();
    json_object_set_new(o, "destination_id", json_string(d->id));
    json_object_set_new(o, "state", json_string(hs_circuit_state_name(d->circuit.state)));
    json_object_set_new(o, "consecutive_failures", json_integer(d->circuit.consecutive_failures));
    json_object_set_new(o, "threshold", json_integer(d->circuit.threshold));
    json_object_set_new(o, "enabled", json_boolean(d->circuit.enabled));
    json_object_set_new(o, "opened_at", hs_json_time(d->circuit.opened_at));
    json_object_set_new(o, "next_probe_at", hs_json_time(d->circuit.next_probe_at));
    json_object_set_new(o, "queued", json_integer((json_int_t)queued(d)));
    json_object_set_new(o, "in_flight", json_integer(d->in_flight));
    json_object_set_new(o, "last_transition_at", hs_json_time(d->circuit.last_transition_at));
    return o;
}

json_t *hs__shard_circuit_json(shard *sc, const char *destination_id) {
    const dest *d = find(sc, destination_id);
    return d ? circuit_json(d) : NULL;
}

typedef struct reset_req {
    shard *sc;
    char id[HS_ID_MAX];
    hs_scheduler_reset_cb cb;
    void *ud;
} reset_req;

static void on_reset_committed(hs_attempt_op *op, int status) {
    reset_req *r = op->ud;
    shard *sc = r->sc;
    dest *d = find(sc, r->id);
    if (status != HS_OK || !d) {
        hs_error err = op->err;
        if (!d) hs_error_set(&err, HS_ERR_NOTFOUND, NULL, "destination %s was deleted", r->id);
        r->cb(NULL, &err, r->ud);
    } else {
        r->cb(circuit_json(d), NULL, r->ud);
        pump(d); /* the queue flushes in order */
        hs_dest_status st = dest_status(d);
        hs__sched_circuit_reset(sc->owner, sc->index, &st);
    }
    sc->jobs--;
    hs_attempt_op_free(op);
    hs_free(r);
    stop_check(sc);
}

int hs__shard_circuit_reset(shard *sc, const char *destination_id, hs_scheduler_reset_cb cb, void *ud) {
    dest *d = find(sc, destination_id);
    if (!d) return HS_ERR_NOTFOUND;
    hs_circuit_reset(&d->circuit, hs_now_ms());
    reset_req *r = hs_calloc(1, sizeof *r);
    r->sc = sc;
    snprintf(r->id, sizeof r->id, "%s", d->id);
    r->cb = cb;
    r->ud = ud;
    hs_attempt_op *op = hs_attempt_op_new();
    op->has_circuit = true;
    op->circuit = circuit_row(d);
    op->epoch = d->epoch;
    op->cb = on_reset_committed;
    op->ud = r;
    int rc = hs_store_attempt_commit(sc->store, op);
    if (rc != HS_OK) {
        hs_attempt_op_free(op);
        hs_free(r);
        return rc;
    }
    sc->jobs++;
    return HS_OK;
}

/* ---- reading ---- */

static void add_state(void *value, void *ud) {
    hs__states *out = ud;
    const dest *d = value;
    hs_id_copy(out->ids[out->n], d->id);
    out->st[out->n] = dest_status(d);
    out->st[out->n].id = out->ids[out->n];
    out->n++;
}

void hs__shard_states(shard *sc, hs__states *out) {
    size_t cap = sc->dests.n;
    out->n = 0;
    out->st = hs_malloc((cap ? cap : 1) * sizeof *out->st);
    out->ids = hs_malloc((cap ? cap : 1) * sizeof *out->ids);
    hs_idmap_each(&sc->dests, add_state, out);
}

/* ---- life cycle ---- */

hs__shard *hs__shard_new(hs_scheduler *owner, size_t index, size_t nshards, uv_loop_t *loop, hs_store *s, size_t window,
                         hs_error *err) {
    shard *sc = hs_calloc(1, sizeof *sc);
    sc->owner = owner;
    sc->index = index;
    sc->loop = loop;
    sc->store = s;
    sc->window = window;
    sc->items_budget = ITEMS_BUDGET / nshards;
    sc->payload_budget = PAYLOAD_BUDGET / nshards;
    int rc = hs_http_client_new(loop, &sc->http);
    if (rc != HS_OK) {
        hs_free(sc);
        hs_error_set(err, rc, NULL, "cannot start the HTTP client");
        return NULL;
    }
    return sc;
}

void hs__shard_load_destination(shard *sc, const json_t *doc) {
    json_t *own = json_deep_copy(doc); /* never shared with another thread */
    dest_new(sc, own);
    json_decref(own);
}

void hs__shard_load_connection(shard *sc, const json_t *doc) { connection_put(sc, doc); }

void hs__shard_load_circuit(shard *sc, const hs_circuit_row *row, uint64_t now) {
    dest *d = find(sc, row->destination_id);
    if (!d) return;
    hs_circuit_state st = HS_CIRCUIT_CLOSED;
    hs_circuit_state_parse(row->state, &st);
    d->circuit.state = st;
    d->circuit.consecutive_failures = row->consecutive_failures;
    d->circuit.opened_at = row->opened_at;
    d->circuit.next_probe_at = row->next_probe_at;
    d->circuit.last_transition_at = row->last_transition_at;
    /* a probe that was in flight when we stopped: probe again now */
    if (st == HS_CIRCUIT_HALF_OPEN) {
        d->circuit.state = HS_CIRCUIT_OPEN;
        d->circuit.next_probe_at = now;
    }
}

void hs__shard_load_pending(shard *sc, const char *destination_id, uint64_t pending) {
    dest *d = find(sc, destination_id);
    if (d) d->pending = pending;
}

static void start_each(void *value, void *ud) {
    (void)ud;
    dest_reset(value);
    pump(value);
}

void hs__shard_start(shard *sc) { hs_idmap_each(&sc->dests, start_each, NULL); }

static void http_closed(void *ud) {
    shard *sc = ud;
    sc->http = NULL;
    sc->closing_handles--;
    stop_check(sc);
}

static void conn_drop(void *value, void *ud) {
    (void)ud;
    ctf_unref(value);
}

static void stop_each(void *value, void *ud) {
    (void)ud;
    dest *d = value;
    uv_timer_stop(&d->timer);
    drop_queue(d);
    d->removed = true;
    dest_release(d);
}

void hs__shard_stop(shard *sc, void (*done)(void *ud), void *ud) {
    sc->stopping = true;
    sc->stop_done = done;
    sc->stop_ud = ud;
    hs_idmap_each(&sc->dests, stop_each, NULL);
    hs_idmap_free(&sc->dests);
    hs_idmap_each(&sc->conns, conn_drop, NULL);
    hs_idmap_free(&sc->conns);
    sc->closing_handles++; /* the http client counts as one */
    hs_http_client_close(sc->http, http_closed, sc);
}

void hs__shard_free(shard *sc) {
    if (!sc) return;
    hs_idmap_free(&sc->dests);
    hs_idmap_free(&sc->conns);
    hs_free(sc);
}
