/* src/cluster/cluster.c — this node in a cluster (src/cluster/cluster.h).
 *
 * Two halves. The thread (thread_main) does every database call, on its
 * own connection (hs_store_node), and posts what it learnt to the server's
 * loop. The loop's half (the run_* functions) keeps the set of leases this
 * node holds (owned), tells the scheduler, fires the resource hook for
 * resources written elsewhere, and guards the deadline: past it, no
 * lease is trusted any more.
 *
 * Spreading: every tick a node that delivers counts the destinations and
 * the live nodes that deliver; its share is the ceiling of the quotient.
 * Below it, it claims free and expired leases (a new node takes its share
 * within a tick or two); above it, it gives back the excess, each lease
 * only once the attempts in flight under it are recorded (the others claim
 * it at their next tick: a handover pauses a destination for about one
 * tick).
 */
#include "cluster/cluster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/alloc.h"
#include "base/idmap.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/mailbox.h"
#include "base/timeutil.h"

#define GUARD_MS 100    /* the loop checks the deadline this often */
#define RELAY_MAX 10000 /* live messages waiting to be relayed, at most */
#define RELAY_MS 50     /* the thread relays them this often while someone watches elsewhere */
#define MARGIN_MS 1500  /* stop delivering this long before a lease can expire */

typedef struct owned_lease {
    char id[HS_ID_MAX]; /* the map's key */
    uint64_t epoch;
} owned_lease;

struct hs_cluster {
    uv_loop_t *loop;
    hs_mailbox *home;
    hs_store *store;
    hs_scheduler *sched;
    const hs_hooks *hooks;
    char node[HS_NODE_ID_MAX], listen[128], role[16];
    uint64_t lease_ms, renew_ms, poll_ms;
    uint64_t started_at;
    void (*keys_changed)(void *ud);
    void *keys_ud;
    hs_ws_hub *hub;
    _Atomic size_t watchers;        /* this node's live clients (the loop counts them) */
    _Atomic size_t remote_watchers; /* the other live nodes' (the last heartbeat's view) */

    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    _Atomic uint64_t deadline; /* monotonic ms: leases trusted until then */
    /* the loop dropped every lease at the deadline: the thread gives them
     * back in the database at its next renewal and claims afresh (new
     * epochs), rather than trust what it stopped delivering */
    atomic_bool dropped;
    /* the leases a previous run under the same node id left were given
     * back: from now on the node may hold leases */
    atomic_bool ready;

    /* loop 0 */
    hs_idmap owned;   /* id -> owned_lease */
    hs_idmap astray;  /* id -> owned_lease: held in the database but not here, at the last renewal */
    hs_idmap leaving; /* id -> owned_lease: being given back (the scheduler lets its attempts finish) */
    uv_timer_t guard;
    bool guard_closed;

    /* shared, under lock */
    pthread_mutex_t lock;
    hs_node_info *nodes; /* the last heartbeat's view */
    size_t nnodes;
    uint64_t nodes_now;
    hs_lease *given; /* released by the scheduler: to give back in the database */
    size_t ngiven, given_cap;
    hs_lease *strays; /* held in the database, not delivered here: to give back too */
    size_t nstrays, strays_cap;
    size_t giving; /* asked to be given back, not yet released */
    /* live messages to relay: channel and text, each hs_strdup'd */
    char **relay_ch, **relay_text;
    size_t nrelay, relay_cap, relay_dropped;
};

bool hs_cluster_node_id_valid(const char *id) {
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= HS_NODE_ID_MAX) return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-'))
            return false;
    }
    return true;
}

static uint64_t mono_ms(void) { return hs_monotonic_ns() / 1000000u; }

/* ---- the loop's half ---- */

typedef enum what { W_OWN, W_HELD, W_GIVE, W_FORWARD, W_RESOURCE, W_RESET, W_LIVE, W_KEYS } what;

typedef struct cl_msg {
    hs_msg msg;
    hs_cluster *c;
    what w;
    hs_lease_msg *items; /* W_OWN, W_GIVE, W_FORWARD: scheduler messages; W_HELD: the leases held */
    size_t n;
    hs_resource_event ev; /* W_RESOURCE */
    char id[HS_ID_MAX];
    json_t *doc;
    char *text; /* W_LIVE: the message for channel id */
} cl_msg;

static void drop_one(hs_cluster *c, owned_lease *o) {
    hs_lease_msg m = {.op = HS_LEASE_DROP, .epoch = o->epoch};
    hs_id_copy(m.destination_id, o->id);
    hs_scheduler_lease(c->sched, &m, NULL, NULL);
    hs_idmap_del(&c->owned, o->id);
    hs_free(o);
}

typedef struct drop_scan {
    hs_cluster *c;
    const hs_lease_msg *held;
    size_t n;
    owned_lease **gone;
    size_t ngone;
} drop_scan;

static void scan_one(void *value, void *ud) {
    drop_scan *d = ud;
    owned_lease *o = value;
    for (size_t i = 0; i < d->n; i++)
        if (d->held[i].epoch == o->epoch && strcmp(d->held[i].destination_id, o->id) == 0) return;
    d->gone[d->ngone++] = o;
}

/* Drop what owned holds beyond held (held NULL: everything). */
static void drop_beyond(hs_cluster *c, const hs_lease_msg *held, size_t n, const char *why) {
    if (!c->owned.n) return;
    drop_scan d = {.c = c, .held = held, .n = n, .gone = hs_malloc(c->owned.n * sizeof *d.gone)};
    hs_idmap_each(&c->owned, scan_one, &d);
    if (d.ngone) hs_warn("cluster: %s: stopped delivering to %zu destinations", why, d.ngone);
    for (size_t i = 0; i < d.ngone; i++) drop_one(c, d.gone[i]);
    hs_free(d.gone);
}

static void given_back(const char *destination_id, uint64_t epoch, void *ud);

/* The scheduler let a lease go (loop 0): give it back in the database. */
static void released(const char *destination_id, uint64_t epoch, void *ud) {
    hs_cluster *c = ud;
    owned_lease *o = hs_idmap_get(&c->leaving, destination_id);
    if (o && o->epoch == epoch) {
        hs_idmap_del(&c->leaving, o->id);
        hs_free(o);
    }
    given_back(destination_id, epoch, ud);
}

/* A lease to give back that was not asked back by spreading (loop 0). */
static void stray(hs_cluster *c, const char *destination_id, uint64_t epoch) {
    pthread_mutex_lock(&c->lock);
    if (c->nstrays == c->strays_cap) {
        c->strays_cap = c->strays_cap ? c->strays_cap * 2 : 8;
        c->strays = hs_realloc(c->strays, c->strays_cap * sizeof *c->strays);
    }
    hs_lease *l = &c->strays[c->nstrays++];
    hs_id_copy(l->destination_id, destination_id);
    l->epoch = epoch;
    pthread_mutex_unlock(&c->lock);
}

static void forget_astray(void *value, void *ud) {
    (void)ud;
    hs_free(value);
}

/* Leases the database says this node holds but it does not deliver (a
 * give-back whose release failed; one held at the moment a previous run
 * stopped): seen so at two renewals in a row (the second a second later,
 * by when a lease taken in a creating transaction has reached the
 * scheduler), they are given back, so that someone delivers them. */
static void astray_check(hs_cluster *c, const hs_lease_msg *held, size_t n) {
    hs_idmap seen = {0};
    for (size_t i = 0; i < n; i++) {
        if (hs_idmap_get(&c->owned, held[i].destination_id) || hs_idmap_get(&c->leaving, held[i].destination_id))
            continue;
        owned_lease *before = hs_idmap_get(&c->astray, held[i].destination_id);
        if (before && before->epoch == held[i].epoch) {
            hs_warn("cluster: lease of %s held but not delivered here: giving it back", held[i].destination_id);
            stray(c, held[i].destination_id, held[i].epoch);
            continue;
        }
        owned_lease *o = hs_calloc(1, sizeof *o);
        hs_id_copy(o->id, held[i].destination_id);
        o->epoch = held[i].epoch;
        hs_idmap_put(&seen, o->id, o);
    }
    hs_idmap_each(&c->astray, forget_astray, NULL);
    hs_idmap_free(&c->astray);
    c->astray = seen;
}

static void given_back(const char *destination_id, uint64_t epoch, void *ud) {
    hs_cluster *c = ud;
    pthread_mutex_lock(&c->lock);
    if (c->ngiven == c->given_cap) {
        c->given_cap = c->given_cap ? c->given_cap * 2 : 16;
        c->given = hs_realloc(c->given, c->given_cap * sizeof *c->given);
    }
    hs_lease *l = &c->given[c->ngiven++];
    hs_id_copy(l->destination_id, destination_id);
    l->epoch = epoch;
    pthread_mutex_unlock(&c->lock);
}

static void reset_logged(json_t *circuit, const hs_error *err, void *ud) {
    (void)ud;
    if (!circuit) hs_warn("cluster: a circuit reset asked by another node failed: %s", err->msg);
    json_decref(circuit);
}

static void run_msg(hs_msg *m) {
    cl_msg *x = (cl_msg *)m;
    hs_cluster *c = x->c;
    bool live = !atomic_load(&c->stopping);
    switch (x->w) {
    case W_OWN:
        for (size_t i = 0; live && i < x->n; i++) {
            owned_lease *o = hs_idmap_get(&c->owned, x->items[i].destination_id);
            if (!o) {
                o = hs_calloc(1, sizeof *o);
                hs_id_copy(o->id, x->items[i].destination_id);
                hs_idmap_put(&c->owned, o->id, o);
            }
            o->epoch = x->items[i].epoch;
            hs_scheduler_lease(c->sched, &x->items[i], NULL, NULL);
        }
        break;
    case W_HELD:
        if (live) {
            drop_beyond(c, x->items, x->n, "leases lost to another node");
            astray_check(c, x->items, x->n);
        }
        break;
    case W_GIVE:
        for (size_t i = 0; i < x->n; i++) {
            owned_lease *o = hs_idmap_get(&c->owned, x->items[i].destination_id);
            if (o && o->epoch == x->items[i].epoch) {
                hs_idmap_del(&c->owned, o->id);
                hs_idmap_put(&c->leaving, o->id, o); /* until the scheduler has let it go */
            }
            hs_scheduler_lease(c->sched, &x->items[i], released, c);
        }
        break;
    case W_FORWARD:
        for (size_t i = 0; live && i < x->n; i++) {
            owned_lease *o = hs_idmap_get(&c->owned, x->items[i].destination_id);
            if (!o) continue; /* not ours (any more) */
            if (x->items[i].op == HS_LEASE_MARK) x->items[i].epoch = o->epoch;
            hs_scheduler_lease(c->sched, &x->items[i], NULL, NULL);
        }
        break;
    case W_RESOURCE:
        if (live) hs_hooks_resource(c->hooks, &x->ev);
        break;
    case W_KEYS:
        if (live && c->keys_changed) c->keys_changed(c->keys_ud);
        break;
    case W_LIVE:
        if (live && c->hub) hs_ws_hub_broadcast_local(c->hub, x->id, x->text, strlen(x->text));
        break;
    case W_RESET:
        /* asked of another node: the owner resets it (the asker reads the
         * saved state back) */
        if (live && hs_idmap_get(&c->owned, x->id)) {
            int rc = hs_scheduler_circuit_reset(c->sched, x->id, reset_logged, NULL);
            if (rc != HS_OK) hs_warn("cluster: resetting the circuit of %s: %s", x->id, hs_strerror(rc));
        }
        break;
    }
    json_decref(x->doc);
    hs_free(x->text);
    hs_free(x->items);
    hs_free(x);
}

/* A message of the loop's own, run at once (x on the caller's stack). */
static void run_msg_now(cl_msg *x) {
    cl_msg *h = hs_malloc(sizeof *h);
    *h = *x;
    run_msg(&h->msg);
}

/* A message for the loop (id: of what it is about, or NULL); the caller
 * fills the rest and sends it with msg_post. */
static cl_msg *msg_new(hs_cluster *c, what w, const char *id) {
    cl_msg *x = hs_calloc(1, sizeof *x);
    x->c = c;
    x->w = w;
    if (id) hs_id_copy(x->id, id);
    return x;
}

static void msg_post(cl_msg *x) { hs_mailbox_post(x->c->home, &x->msg, run_msg); }

static void post(hs_cluster *c, what w, hs_lease_msg *items, size_t n) {
    cl_msg *x = msg_new(c, w, NULL);
    x->items = items;
    x->n = n;
    msg_post(x);
}

/* A resource for the hooks, as written elsewhere (doc: taken; NULL when
 * deleted). */
static void post_resource(hs_cluster *c, hs_kind kind, const char *id, json_t *doc) {
    cl_msg *x = msg_new(c, W_RESOURCE, id);
    x->doc = doc;
    x->ev = (hs_resource_event){
        .kind = kind, .change = doc ? HS_CHANGE_UPDATED : HS_CHANGE_DELETED, .id = x->id, .doc = doc};
    msg_post(x);
}

/* The deadline passed without a renewal: the database may have given the
 * leases to others by the time it expires; stop now. */
/* The hub broadcast msg (loop 0): keep it for the thread to relay. */
static void relay_out(const char *channel, const char *msg, size_t len, void *ud) {
    hs_cluster *c = ud;
    pthread_mutex_lock(&c->lock);
    if (c->nrelay == RELAY_MAX) {
        c->relay_dropped++;
    } else {
        if (c->nrelay == c->relay_cap) {
            c->relay_cap = c->relay_cap ? c->relay_cap * 2 : 64;
            c->relay_ch = hs_realloc(c->relay_ch, c->relay_cap * sizeof *c->relay_ch);
            c->relay_text = hs_realloc(c->relay_text, c->relay_cap * sizeof *c->relay_text);
        }
        c->relay_ch[c->nrelay] = hs_strdup(channel);
        c->relay_text[c->nrelay] = hs_memdup(msg, len + 1);
        c->relay_text[c->nrelay][len] = '\0';
        c->nrelay++;
    }
    pthread_mutex_unlock(&c->lock);
}

/* Thread: send what waits. */
static void relay_flush(hs_cluster *c, hs_store_node *n) {
    pthread_mutex_lock(&c->lock);
    char **ch = c->relay_ch, **text = c->relay_text;
    size_t count = c->nrelay, dropped = c->relay_dropped;
    c->relay_ch = c->relay_text = NULL;
    c->nrelay = c->relay_cap = c->relay_dropped = 0;
    pthread_mutex_unlock(&c->lock);
    if (dropped) hs_warn("cluster: %zu live messages not relayed (more than %d waiting)", dropped, RELAY_MAX);
    hs_error err;
    if (count &&
        hs_store_feed_live(n, c->node, (const char *const *)ch, (const char *const *)text, count, &err) != HS_OK)
        hs_debug("cluster: relaying live messages: %s", err.msg);
    for (size_t i = 0; i < count; i++) {
        hs_free(ch[i]);
        hs_free(text[i]);
    }
    hs_free(ch);
    hs_free(text);
}

static void on_guard(uv_timer_t *t) {
    hs_cluster *c = t->data;
    if (c->hub) {
        atomic_store(&c->watchers, hs_ws_hub_connections(c->hub));
        hs_ws_hub_mirror_wanted(c->hub, atomic_load(&c->remote_watchers) > 0);
    }
    if (c->owned.n && mono_ms() >= atomic_load(&c->deadline)) {
        drop_beyond(c, NULL, 0, "no contact with the database: the leases may expire");
        atomic_store(&c->dropped, true);
    }
}

/* ---- the thread ---- */

static hs_lease_msg lease_msg_of(hs_lease_op op, const char *id, uint64_t epoch) {
    hs_lease_msg m;
    memset(&m, 0, sizeof m);
    m.op = op;
    hs_id_copy(m.destination_id, id);
    m.epoch = epoch;
    return m;
}

/* New leases: with their circuits and queue counts, to the scheduler. */
static void announce_claims(hs_cluster *c, hs_store_node *n, const hs_lease *got, size_t ngot) {
    hs_circuit_row *circ = NULL;
    size_t ncirc = 0;
    hs_queue_mark *marks = NULL;
    size_t nmarks = 0;
    hs_error err;
    if (hs_store_circuits(c->store, &circ, &ncirc, &err) != HS_OK) hs_debug("cluster: %s", err.msg);
    if (hs_store_queue_marks(n, c->node, &marks, &nmarks, &err) != HS_OK) hs_debug("cluster: %s", err.msg);
    hs_lease_msg *items = hs_calloc(ngot, sizeof *items);
    for (size_t i = 0; i < ngot; i++) {
        items[i] = lease_msg_of(HS_LEASE_OWN, got[i].destination_id, got[i].epoch);
        for (size_t k = 0; k < ncirc; k++)
            if (strcmp(circ[k].destination_id, got[i].destination_id) == 0) {
                items[i].has_circuit = true;
                items[i].circuit = circ[k];
            }
        for (size_t k = 0; k < nmarks; k++)
            if (strcmp(marks[k].destination_id, got[i].destination_id) == 0) {
                items[i].pending = marks[k].pending;
                items[i].last_seq = marks[k].last_seq;
                items[i].requeues = marks[k].requeues;
            }
    }
    hs_free(circ);
    hs_free(marks);
    post(c, W_OWN, items, ngot);
}

static void post_marks(hs_cluster *c, hs_store_node *n) {
    hs_queue_mark *marks = NULL;
    size_t nmarks = 0;
    hs_error err;
    if (hs_store_queue_marks(n, c->node, &marks, &nmarks, &err) != HS_OK) {
        hs_debug("cluster: %s", err.msg);
        return;
    }
    hs_lease_msg *items = hs_calloc(nmarks ? nmarks : 1, sizeof *items);
    for (size_t i = 0; i < nmarks; i++) {
        items[i] = lease_msg_of(HS_LEASE_MARK, marks[i].destination_id, 0);
        items[i].pending = marks[i].pending;
        items[i].last_seq = marks[i].last_seq;
        items[i].requeues = marks[i].requeues;
    }
    hs_free(marks);
    post(c, W_FORWARD, items, nmarks);
}

/* Live nodes that deliver, by the database's clock. */
static size_t deliverers(const hs_cluster *c, const hs_node_info *nodes, size_t n, uint64_t now) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(nodes[i].role, "api") != 0 && nodes[i].last_seen_at + c->lease_ms > now) k++;
    return k;
}

/* Give back count of held (the scheduler stops them first). */
static void give_back(hs_cluster *c, const hs_lease *held, size_t nheld, size_t count) {
    if (count > nheld) count = nheld;
    hs_lease_msg *items = hs_calloc(count ? count : 1, sizeof *items);
    for (size_t i = 0; i < count; i++)
        items[i] = lease_msg_of(HS_LEASE_RELEASE, held[nheld - 1 - i].destination_id, held[nheld - 1 - i].epoch);
    pthread_mutex_lock(&c->lock);
    c->giving += count;
    pthread_mutex_unlock(&c->lock);
    hs_info("cluster: giving back %zu leases to spread them over the nodes", count);
    post(c, W_GIVE, items, count);
}

/* What the scheduler has let go: give them back in the database. */
static void release_all(hs_cluster *c, hs_store_node *n, hs_lease *l, size_t count) {
    for (size_t i = 0; i < count; i++) {
        hs_error err;
        if (hs_store_lease_release(n, c->node, &l[i], &err) != HS_OK) hs_debug("cluster: %s", err.msg);
    }
    hs_free(l);
}

static void release_given(hs_cluster *c, hs_store_node *n) {
    pthread_mutex_lock(&c->lock);
    hs_lease *given = c->given, *strays = c->strays;
    size_t ngiven = c->ngiven, nstrays = c->nstrays;
    c->given = c->strays = NULL;
    c->ngiven = c->given_cap = c->nstrays = c->strays_cap = 0;
    c->giving -= ngiven <= c->giving ? ngiven : c->giving;
    pthread_mutex_unlock(&c->lock);
    release_all(c, n, given, ngiven);
    release_all(c, n, strays, nstrays);
}

/* One heartbeat: alive, renew, spread. */
static void tick(hs_cluster *c, hs_store_node *n) {
    hs_error err;
    uint64_t t0 = mono_ms(), now = 0;
    hs_node_info me = {0};
    snprintf(me.id, sizeof me.id, "%s", c->node);
    snprintf(me.listen, sizeof me.listen, "%s", c->listen);
    snprintf(me.role, sizeof me.role, "%s", c->role);
    me.started_at = c->started_at;
    me.watchers = atomic_load(&c->watchers);
    if (hs_store_node_beat(n, &me, &now, &err) != HS_OK) {
        hs_debug("cluster: %s", err.msg);
        return;
    }
    release_given(c, n);
    hs_lease *held = NULL;
    size_t nheld = 0;
    if (hs_store_lease_renew(n, c->node, c->lease_ms, &held, &nheld, &err) != HS_OK) {
        hs_debug("cluster: %s", err.msg);
        return;
    }
    if (atomic_exchange(&c->dropped, false)) {
        for (size_t i = 0; i < nheld; i++)
            if (hs_store_lease_release(n, c->node, &held[i], &err) != HS_OK) hs_debug("cluster: %s", err.msg);
        hs_info("cluster: back in contact with the database; gave back %zu leases to claim them afresh", nheld);
        nheld = 0;
    }
    atomic_store(&c->deadline, t0 + c->lease_ms - MARGIN_MS);
    hs_lease_msg *hm = hs_calloc(nheld ? nheld : 1, sizeof *hm);
    for (size_t i = 0; i < nheld; i++) hm[i] = lease_msg_of(HS_LEASE_OWN, held[i].destination_id, held[i].epoch);
    post(c, W_HELD, hm, nheld);

    hs_node_info *nodes = NULL;
    size_t nnodes = 0;
    if (hs_store_node_list(n, &nodes, &nnodes, &now, &err) == HS_OK) {
        pthread_mutex_lock(&c->lock);
        hs_free(c->nodes);
        c->nodes = nodes;
        c->nnodes = nnodes;
        c->nodes_now = now;
        size_t giving = c->giving;
        pthread_mutex_unlock(&c->lock);
        size_t remote = 0;
        for (size_t i = 0; i < nnodes; i++)
            if (strcmp(nodes[i].id, c->node) != 0 && nodes[i].last_seen_at + c->lease_ms > now)
                remote += nodes[i].watchers;
        atomic_store(&c->remote_watchers, remote);
        size_t total = 0, alive = deliverers(c, nodes, nnodes, now);
        if (strcmp(c->role, "api") != 0 && alive && hs_store_lease_total(n, &total, &err) == HS_OK) {
            /* each node holds floor or ceil of total / alive; while some
             * node holds less than floor, the others keep floor and claim
             * nothing more, so that the free ones go to it */
            size_t lo = total / alive, hi = (total + alive - 1) / alive;
            bool starving = false;
            for (size_t i = 0; i < nnodes; i++)
                if (strcmp(nodes[i].role, "api") != 0 && nodes[i].last_seen_at + c->lease_ms > now &&
                    strcmp(nodes[i].id, c->node) != 0 && nodes[i].destinations < lo)
                    starving = true;
            size_t have = nheld > giving ? nheld - giving : 0;
            size_t keep = starving ? lo : hi;
            size_t want = starving && have >= lo ? 0 : hi > have ? hi - have : 0;
            if (want) {
                hs_lease *got = NULL;
                size_t ngot = 0;
                if (hs_store_lease_claim(n, c->node, c->lease_ms, want, &got, &ngot, &err) != HS_OK)
                    hs_debug("cluster: %s", err.msg);
                if (ngot) {
                    hs_info("cluster: took %zu leases (%zu to %zu each of %zu over %zu nodes)", ngot, lo, hi, total,
                            alive);
                    announce_claims(c, n, got, ngot);
                }
                hs_free(got);
            } else if (have > keep && !giving) {
                give_back(c, held, nheld, have - keep);
            }
        }
    } else {
        hs_debug("cluster: %s", err.msg);
    }
    hs_free(held);
}

typedef struct feed_ctx {
    hs_cluster *c;
    hs_lease_msg *items;
    size_t n, cap;
    hs_feed_msg *res; /* resources to read */
    size_t nres, res_cap;
    bool keys; /* the API keys changed */
} feed_ctx;

static void on_feed(const hs_feed_msg *m, void *ud) {
    feed_ctx *f = ud;
    if (strcmp(m->node, f->c->node) == 0) return; /* this node's own commits: it knows */
    if (m->kind == HS_FEED_LIVE) {
        cl_msg *x = msg_new(f->c, W_LIVE, m->id);
        x->text = hs_strdup(m->text);
        msg_post(x);
        return;
    }
    if (m->kind == HS_FEED_KEYS) {
        f->keys = true;
        return;
    }
    if (m->kind == HS_FEED_RESET) {
        msg_post(msg_new(f->c, W_RESET, m->id));
        return;
    }
    if (m->kind == HS_FEED_RESOURCE) {
        if (f->nres == f->res_cap) {
            f->res_cap = f->res_cap ? f->res_cap * 2 : 8;
            f->res = hs_realloc(f->res, f->res_cap * sizeof *f->res);
        }
        f->res[f->nres++] = *m;
        return;
    }
    if (m->kind != HS_FEED_DELIVERIES && m->kind != HS_FEED_REQUEUED) return;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 32;
        f->items = hs_realloc(f->items, f->cap * sizeof *f->items);
    }
    hs_lease_msg *x = &f->items[f->n++];
    *x = lease_msg_of(m->kind == HS_FEED_DELIVERIES ? HS_LEASE_MORE : HS_LEASE_REREAD, m->id, 0);
    x->n = m->n;
    x->last_seq = m->last_seq;
}

/* A resource another node wrote: read it, drop the writer's route cache,
 * and let the hooks hear of it as if this node had written it. */
static void resource_changed(hs_cluster *c, const hs_feed_msg *m) {
    hs_error err;
    json_t *doc = NULL; /* stays NULL when it is gone (deleted, or not found any more) */
    if (!m->deleted) {
        int rc = hs_store_resource_get(c->store, m->res_kind, m->id, &doc, &err);
        if (rc != HS_OK && rc != HS_ERR_NOTFOUND) {
            hs_warn("cluster: reading %s written by node %s: %s", m->id, m->node, err.msg);
            return;
        }
    }
    if (m->res_kind != HS_KIND_DESTINATION && hs_store_routes_reload(c->store, &err) != HS_OK)
        hs_warn("cluster: %s", err.msg);
    post_resource(c, m->res_kind, m->id, doc);
}

/* A run before this one under the same node id (killed, restarted) may
 * still hold leases: its scheduler is gone, so they are given back before
 * this node holds any (it claims afresh, with new epochs). */
static bool forget_previous_run(hs_cluster *c, hs_store_node *n) {
    uint64_t t0 = mono_ms(); /* before the renewal, as tick's */
    hs_lease *held = NULL;
    size_t nheld = 0;
    hs_error err;
    if (hs_store_lease_renew(n, c->node, c->lease_ms, &held, &nheld, &err) != HS_OK) {
        hs_debug("cluster: %s", err.msg);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < nheld && ok; i++) ok = hs_store_lease_release(n, c->node, &held[i], &err) == HS_OK;
    /* a renewal all the same: the guard may trust a lease taken from now on */
    if (ok) atomic_store(&c->deadline, t0 + c->lease_ms - MARGIN_MS);
    if (nheld) hs_info("cluster: gave back %zu leases held by a previous run of node %s", nheld, c->node);
    hs_free(held);
    return ok;
}

/* Catch up after (re)subscribing to the feed: what other nodes wrote
 * meanwhile was said to no one here. Every source, destination and
 * connection goes to the hooks again (as changed), the route cache and the
 * key set are read again; the queue marks follow (the caller). A resource
 * deleted meanwhile stays known here until the next start: it has no lease,
 * so nothing is delivered for it. */
static void resync(hs_cluster *c) {
    hs_error err;
    if (hs_store_routes_reload(c->store, &err) != HS_OK) hs_warn("cluster: %s", err.msg);
    static const hs_kind kinds[] = {HS_KIND_SOURCE, HS_KIND_DESTINATION, HS_KIND_CONNECTION};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *all;
        if (hs_store_resource_all(c->store, kinds[k], &all, &err) != HS_OK) {
            hs_warn("cluster: catching up: %s", err.msg);
            continue;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(all, i, doc) {
            post_resource(c, kinds[k], json_string_value(json_object_get(doc, "id")), json_incref(doc));
        }
        json_decref(all);
    }
    msg_post(msg_new(c, W_KEYS, NULL));
}

static void *thread_main(void *arg) {
    hs_cluster *c = arg;
    hs_store_node *n = NULL;
    hs_error err;
    bool listening = false;
    uint64_t next_tick = 0, next_marks = 0;
    while (!atomic_load(&c->stopping)) {
        if (!n && hs_store_node_open(c->store, &n, &err) != HS_OK) {
            hs_debug("cluster: %s", err.msg);
            n = NULL;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (!atomic_load(&c->ready)) {
            if (!forget_previous_run(c, n)) {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
                nanosleep(&ts, NULL);
                continue;
            }
            atomic_store(&c->ready, true);
            /* destinations created here are leased here from now on */
            if (strcmp(c->role, "api") != 0) hs_store_set_create_lease(c->store, c->lease_ms);
        }
        if (!listening) {
            listening = hs_store_feed_listen(n, &err) == HS_OK;
            if (listening) { /* what was said meanwhile is lost: catch up */
                resync(c);
                next_marks = 0;
            }
        }
        uint64_t now = mono_ms();
        if (now >= next_tick) {
            next_tick = now + c->renew_ms;
            tick(c, n);
        }
        if (listening && now >= next_marks && strcmp(c->role, "api") != 0) {
            next_marks = now + c->poll_ms;
            post_marks(c, n);
        }
        relay_flush(c, n);
        now = mono_ms();
        int wait = next_tick > now ? (int)(next_tick - now) : 0;
        if (atomic_load(&c->remote_watchers) && wait > RELAY_MS) wait = RELAY_MS;
        feed_ctx f = {.c = c};
        if (!listening || hs_store_feed_wait(n, wait, on_feed, &f, &err) != HS_OK) {
            listening = false;
            if (wait) {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(wait < 200 ? wait : 200) * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        if (f.n)
            post(c, W_FORWARD, f.items, f.n);
        else
            hs_free(f.items);
        for (size_t i = 0; i < f.nres; i++) resource_changed(c, &f.res[i]);
        hs_free(f.res);
        if (f.keys) msg_post(msg_new(c, W_KEYS, NULL));
    }
    /* stopping: the scheduler has stopped; give everything back so that the
     * others need not wait for the expiry */
    if (n) {
        hs_lease *held = NULL;
        size_t nheld = 0;
        if (hs_store_lease_renew(n, c->node, c->lease_ms, &held, &nheld, &err) == HS_OK)
            for (size_t i = 0; i < nheld; i++) hs_store_lease_release(n, c->node, &held[i], &err);
        if (nheld) hs_info("cluster: gave back %zu leases", nheld);
        hs_free(held);
        if (hs_store_node_leave(n, c->node, &err) != HS_OK) hs_debug("cluster: %s", err.msg);
        hs_store_node_close(n);
    }
    return NULL;
}

/* ---- start, stop ---- */

int hs_cluster_start(uv_loop_t *loop, hs_mailbox *mb, hs_store *s, hs_scheduler *sc, const hs_hooks *hooks,
                     const hs_cluster_config *cfg, hs_cluster **out, hs_error *err) {
    *out = NULL;
    if (!hs_cluster_node_id_valid(cfg->node_id))
        return hs_error_set(err, HS_ERR_INVALID, "node-id",
                            "must be 1 to %d characters of letters, digits and . _ : - (got \"%s\")",
                            HS_NODE_ID_MAX - 1, cfg->node_id ? cfg->node_id : "");
    hs_cluster *c = hs_calloc(1, sizeof *c);
    c->loop = loop;
    c->home = mb;
    c->store = s;
    c->sched = sc;
    c->hooks = hooks;
    snprintf(c->node, sizeof c->node, "%s", cfg->node_id);
    snprintf(c->listen, sizeof c->listen, "%s", cfg->listen ? cfg->listen : "");
    snprintf(c->role, sizeof c->role, "%s", cfg->role ? cfg->role : "all");
    c->lease_ms = cfg->lease_ms ? cfg->lease_ms : HS_CLUSTER_LEASE_MS;
    c->renew_ms = cfg->renew_ms ? cfg->renew_ms : HS_CLUSTER_RENEW_MS;
    c->poll_ms = cfg->poll_ms ? cfg->poll_ms : HS_CLUSTER_POLL_MS;
    if (c->lease_ms < 2 * MARGIN_MS) c->lease_ms = 2 * MARGIN_MS;
    c->started_at = hs_now_ms();
    c->keys_changed = cfg->keys_changed;
    c->keys_ud = cfg->keys_ud;
    c->hub = cfg->hub;
    if (c->hub) hs_ws_hub_set_mirror(c->hub, relay_out, c);
    pthread_mutex_init(&c->lock, NULL);
    uv_timer_init(loop, &c->guard);
    c->guard.data = c;
    uv_timer_start(&c->guard, on_guard, GUARD_MS, GUARD_MS);
    uv_unref((uv_handle_t *)&c->guard);
    if (pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        hs_cluster_free(c);
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot start the cluster's thread");
    }
    c->thread_started = true;
    hs_info("cluster: node %s (%s) joined; leases last %llu ms", c->node, c->role, (unsigned long long)c->lease_ms);
    *out = c;
    return HS_OK;
}

static void guard_closed(uv_handle_t *h) {
    hs_cluster *c = h->data;
    c->guard_closed = true;
}

static void free_owned(void *value, void *ud) {
    (void)ud;
    hs_free(value);
}

void hs_cluster_stop(hs_cluster *c, void (*done)(void *ud), void *ud) {
    if (c) {
        atomic_store(&c->stopping, true);
        if (c->thread_started) pthread_join(c->thread, NULL);
        c->thread_started = false;
        uv_timer_stop(&c->guard);
        if (!uv_is_closing((uv_handle_t *)&c->guard)) uv_close((uv_handle_t *)&c->guard, guard_closed);
    }
    if (done) done(ud);
}

void hs_cluster_free(hs_cluster *c) {
    if (!c) return;
    if (c->thread_started) {
        atomic_store(&c->stopping, true);
        pthread_join(c->thread, NULL);
    }
    hs_idmap_each(&c->owned, free_owned, NULL);
    hs_idmap_free(&c->owned);
    hs_idmap_each(&c->astray, free_owned, NULL);
    hs_idmap_free(&c->astray);
    hs_idmap_each(&c->leaving, free_owned, NULL);
    hs_idmap_free(&c->leaving);
    hs_free(c->nodes);
    hs_free(c->given);
    hs_free(c->strays);
    for (size_t i = 0; i < c->nrelay; i++) {
        hs_free(c->relay_ch[i]);
        hs_free(c->relay_text[i]);
    }
    hs_free(c->relay_ch);
    hs_free(c->relay_text);
    pthread_mutex_destroy(&c->lock);
    hs_free(c);
}

const char *hs_cluster_node(const hs_cluster *c) { return c->node; }

void hs_cluster_on_resource(const hs_resource_event *e, void *ud) {
    hs_cluster *c = ud;
    if (!c || e->kind != HS_KIND_DESTINATION || e->change != HS_CHANGE_CREATED || strcmp(c->role, "api") == 0 ||
        atomic_load(&c->stopping) || !atomic_load(&c->ready) || hs_idmap_get(&c->owned, e->id))
        return;
    hs_lease_msg *m = hs_calloc(1, sizeof *m);
    *m = lease_msg_of(HS_LEASE_OWN, e->id, 1);
    cl_msg x = {.c = c, .w = W_OWN, .items = m, .n = 1};
    run_msg_now(&x);
}

bool hs_cluster_owns(hs_cluster *c, const char *destination_id) {
    return hs_idmap_get(&c->owned, destination_id) != NULL;
}

json_t *hs_cluster_json(hs_cluster *c) {
    json_t *nodes = json_array();
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nnodes; i++) {
        const hs_node_info *ni = &c->nodes[i];
        bool alive = ni->last_seen_at + c->lease_ms > c->nodes_now;
        json_array_append_new(nodes,
                              json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I}", "id", ni->id, "listen", ni->listen,
                                        "role", ni->role, "status", alive ? "alive" : "dead", "started_at",
                                        hs_json_time(ni->started_at), "last_seen_at", hs_json_time(ni->last_seen_at),
                                        "destinations", (json_int_t)ni->destinations));
    }
    pthread_mutex_unlock(&c->lock);
    return json_pack("{s:s, s:o}", "node_id", c->node, "nodes", nodes);
}
