/* src/delivery/scheduler.c — the DeliveryScheduler's front (see
 * src/delivery/scheduler.h for the contract): its loop threads and shards
 * (src/delivery/shard.h), and the messages between them and the server's
 * loop.
 *
 * Shard i runs on loop i of the server's loop threads (src/base/loops.h):
 * shard 0 on the server's loop, beside the API. A destination belongs to the shard its id
 * hashes to. What the server's loop hears (the hooks ingest, resource,
 * requeued, a circuit reset) goes to the destination's shard: called
 * directly when that is shard 0, else posted to its mailbox as a message
 * that owns copies of what it carries. What a shard tells (the attempt and
 * circuit hooks, a local delivery for the WebSocket hub) comes back the
 * same way, so that the hooks' subscribers still run on the server's loop
 * alone. Reads (each, circuit_json) take the shards' published state under
 * their locks.
 *
 * With one thread nothing is posted: shard 0 is the whole scheduler, as
 * it was before there were shards.
 */
#include "delivery/scheduler.h"

#include <string.h>

#include "base/alloc.h"
#include "base/idmap.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "delivery/shard.h"

typedef struct part {
    hs__shard *sh;
    hs_mailbox *mb; /* the mailbox of its loop */
    bool remote;    /* on another loop than the server's */
} part;

/* A message about one part. */
typedef struct part_msg {
    hs_msg msg;
    part *p;
} part_msg;

struct hs_scheduler {
    hs_loops *loops;
    hs_mailbox *home; /* the server's loop's mailbox */
    hs_store *store;
    part *parts;
    size_t n;
    const hs_hooks *hooks; /* or NULL */
    void *local_env;       /* for providers' deliver_local */
    /* destinations deleted whose shard (on another thread) has not yet
     * seen it: their attempts decided meanwhile count as removed */
    hs_idmap removed;
    bool stopping;
    size_t stops_left;
    void (*stop_done)(void *);
    void *stop_ud;
};

/* FNV-1a of the id: the shard a destination belongs to, for good. */
static part *part_of(hs_scheduler *sc, const char *destination_id) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)destination_id; *p; p++) h = (h ^ *p) * 16777619u;
    return &sc->parts[h % sc->n];
}

/* ---- the server's loop → the shards ---- */

/* m to p's shard: run at once when it is on this loop, else posted. */
static void hand_to(part *p, hs_msg *m, hs_msg_fn run) {
    if (p->remote)
        hs_mailbox_post(p->mb, m, run);
    else
        run(m);
}

typedef struct ingest_msg {
    hs_msg msg;
    hs__shard *sh;
    char event_id[HS_ID_MAX];
    hs__payload *pl;
    size_t n;
    hs_delivery_ref refs[];
} ingest_msg;

static void run_ingest(hs_msg *m) {
    ingest_msg *x = (ingest_msg *)m;
    hs__shard_ingest(x->sh, x->event_id, x->pl, x->refs, x->n);
    hs_free(x);
}

/* The event's content for one shard: the ingest's own strings (take) or
 * copies of them. */
static hs__payload *payload_of(hs_ingest *ing, bool take) {
    hs__payload *pl = hs_calloc(1, sizeof *pl);
    snprintf(pl->source_id, sizeof pl->source_id, "%s", ing->source_id);
    pl->body_len = ing->body_len;
    if (take) {
        pl->body = ing->body;
        pl->content_type = ing->content_type;
        pl->headers_json = ing->headers_json;
        ing->body = ing->content_type = ing->headers_json = NULL;
        ing->body_len = 0;
    } else {
        pl->body = ing->body ? hs_memdup(ing->body, ing->body_len + 1) : NULL;
        pl->content_type = ing->content_type ? hs_strdup(ing->content_type) : NULL;
        pl->headers_json = ing->headers_json ? hs_strdup(ing->headers_json) : NULL;
    }
    snprintf(pl->method, sizeof pl->method, "%s", ing->method ? ing->method : "");
    pl->received_at = ing->received_at;
    pl->bytes = sizeof *pl + pl->body_len;
    return pl;
}

_Static_assert(HS_LOOPS_MAX <= 256, "a shard's index fits a byte");

void hs_scheduler_on_ingest(hs_ingest *ing, void *ud) {
    hs_scheduler *sc = ud;
    if (sc->stopping || !sc->n || !ing->ndeliveries) return;
    /* each delivery's shard, hashed once */
    uint8_t local[64], *shard_of = ing->ndeliveries <= sizeof local ? local : hs_malloc(ing->ndeliveries);
    size_t count[HS_LOOPS_MAX] = {0}, shards = 0;
    for (size_t i = 0; i < ing->ndeliveries; i++) {
        shard_of[i] = (uint8_t)(part_of(sc, ing->deliveries[i].destination_id) - sc->parts);
        if (count[shard_of[i]]++ == 0) shards++;
    }
    for (size_t k = 0; k < sc->n; k++) {
        if (!count[k]) continue;
        part *p = &sc->parts[k];
        hs__payload *pl = payload_of(ing, --shards == 0); /* the last one takes the ingest's */
        if (!p->remote && count[k] == ing->ndeliveries) {
            hs__shard_ingest(p->sh, ing->event_id, pl, ing->deliveries, ing->ndeliveries);
            continue;
        }
        ingest_msg *x = hs_malloc(sizeof *x + count[k] * sizeof x->refs[0]);
        x->sh = p->sh;
        hs_id_copy(x->event_id, ing->event_id);
        x->pl = pl;
        x->n = 0;
        for (size_t i = 0; i < ing->ndeliveries; i++)
            if (shard_of[i] == k) x->refs[x->n++] = ing->deliveries[i];
        hand_to(p, &x->msg, run_ingest);
    }
    if (shard_of != local) hs_free(shard_of);
}

typedef struct requeued_msg {
    hs_msg msg;
    hs__shard *sh;
    size_t n;
    char ids[][HS_ID_MAX];
} requeued_msg;

static void run_requeued(hs_msg *m) {
    requeued_msg *x = (requeued_msg *)m;
    hs__shard_requeued(x->sh, (const char(*)[HS_ID_MAX])x->ids, x->n);
    hs_free(x);
}

void hs_scheduler_on_requeued(const hs_delivery *dl, size_t n, void *ud) {
    hs_scheduler *sc = ud;
    if (sc->stopping || !sc->n) return;
    for (size_t k = 0; k < sc->n; k++) {
        part *p = &sc->parts[k];
        requeued_msg *x = NULL;
        for (size_t i = 0; i < n; i++) {
            if (part_of(sc, dl[i].destination_id) != p) continue;
            if (!x) {
                x = hs_malloc(sizeof *x + n * sizeof x->ids[0]);
                x->sh = p->sh;
                x->n = 0;
            }
            hs_id_copy(x->ids[x->n++], dl[i].destination_id);
        }
        if (x) hand_to(p, &x->msg, run_requeued);
    }
}

typedef struct resource_msg {
    hs_msg msg;
    hs_scheduler *sc;
    hs__shard *sh;
    hs_resource_event e;
    char id[HS_ID_MAX];
    json_t *doc;  /* the shard's own copy */
    bool removal; /* a destination deleted on another thread: acknowledged */
} resource_msg;

/* Back on the server's loop: the shard has seen the deletion, and every
 * attempt it decided before is in the mailbox ahead of this. */
static void run_removed(hs_msg *m) {
    resource_msg *x = (resource_msg *)m;
    if (hs_idmap_get(&x->sc->removed, x->id) == x) hs_idmap_del(&x->sc->removed, x->id);
    hs_free(x);
}

static void run_resource(hs_msg *m) {
    resource_msg *x = (resource_msg *)m;
    hs__shard_resource(x->sh, &x->e);
    json_decref(x->doc);
    x->doc = NULL;
    if (x->removal)
        hs_mailbox_post(x->sc->home, &x->msg, run_removed);
    else
        hs_free(x);
}

static void send_resource(hs_scheduler *sc, part *p, const hs_resource_event *e) {
    resource_msg *x = hs_calloc(1, sizeof *x);
    x->sc = sc;
    x->sh = p->sh;
    x->e = *e;
    hs_id_copy(x->id, e->id);
    x->e.id = x->id;
    x->doc = e->doc ? json_deep_copy(e->doc) : NULL; /* a doc is never shared between threads */
    x->e.doc = x->doc;
    if (!p->remote) {
        run_resource(&x->msg);
        return;
    }
    if (e->kind == HS_KIND_DESTINATION && e->change == HS_CHANGE_DELETED) {
        x->removal = true;
        hs_idmap_put(&sc->removed, x->id, x);
    }
    hs_mailbox_post(p->mb, &x->msg, run_resource);
}

/* A destination to its shard; a connection to every shard (each compiles
 * its transform for the deliveries it sends). */
void hs_scheduler_on_resource(const hs_resource_event *e, void *ud) {
    hs_scheduler *sc = ud;
    if (sc->stopping || !sc->n) return;
    if (e->kind == HS_KIND_DESTINATION)
        send_resource(sc, part_of(sc, e->id), e);
    else if (e->kind == HS_KIND_CONNECTION)
        for (size_t k = 0; k < sc->n; k++) send_resource(sc, &sc->parts[k], e);
}

/* ---- circuit endpoints ---- */

typedef struct circuit_msg {
    hs_msg msg;
    hs_scheduler *sc;
    hs__shard *sh;
    char id[HS_ID_MAX];
    hs_scheduler_circuit_cb cb;
    void *ud;
    json_t *circuit;
} circuit_msg;

static void run_circuit_answer(hs_msg *m) {
    circuit_msg *x = (circuit_msg *)m;
    hs_mailbox_answered(x->sc->home);
    x->cb(x->circuit, x->ud);
    hs_free(x);
}

static void run_circuit(hs_msg *m) {
    circuit_msg *x = (circuit_msg *)m;
    x->circuit = hs__shard_circuit_json(x->sh, x->id);
    hs_mailbox_post(x->sc->home, &x->msg, run_circuit_answer);
}

/* On the server's loop, behind the hooks posted there: on to the shard. */
static void run_circuit_fwd(hs_msg *m) {
    circuit_msg *x = (circuit_msg *)m;
    hs_mailbox_post(part_of(x->sc, x->id)->mb, &x->msg, run_circuit);
}

/* The server's loop's own shard: read behind what its mailbox holds. */
static void run_circuit_local(hs_msg *m) {
    circuit_msg *x = (circuit_msg *)m;
    x->circuit = hs__shard_circuit_json(x->sh, x->id);
    run_circuit_answer(m);
}

/* Read-your-writes: every ingest acknowledged before this call has its
 * hook posted to the server's loop (api/ingest.c, ingest_done), and from
 * there its deliveries posted to their shard's mailbox; the question goes
 * through the same mailboxes behind them, so "queued" counts them all. */
void hs_scheduler_circuit(hs_scheduler *sc, const char *destination_id, hs_scheduler_circuit_cb cb, void *ud) {
    part *p = part_of(sc, destination_id);
    circuit_msg *x = hs_calloc(1, sizeof *x);
    x->sc = sc;
    x->sh = p->sh;
    hs_id_copy(x->id, destination_id);
    x->cb = cb;
    x->ud = ud;
    hs_mailbox_expect(sc->home);
    if (p->remote)
        hs_mailbox_post(sc->home, &x->msg, run_circuit_fwd);
    else
        hs_mailbox_post(sc->home, &x->msg, run_circuit_local);
}

/* A gathering of every shard's states (hs_loops_each: shard k is loop k's). */
typedef struct gather {
    hs_msg msg;
    hs_scheduler *sc;
    hs__states *parts;
    hs_scheduler_states_cb cb;
    void *ud;
} gather;

/* On loop k's thread. */
static void gather_remote(size_t k, void *ud) {
    gather *g = ud;
    if (k < g->sc->n) hs__shard_states(g->sc->parts[k].sh, &g->parts[k]);
}

/* On the server's loop, once the others are in. */
static void gather_done(void *ud) {
    gather *g = ud;
    /* the server's loop's own shard last, now: its destinations' states
     * then match what its hooks have counted so far (with two loops, every
     * shard's do: the other's answer is the last message it posted) */
    if (g->sc->n) hs__shard_states(g->sc->parts[0].sh, &g->parts[0]);
    size_t n = 0;
    for (size_t k = 0; k < g->sc->n; k++) n += g->parts[k].n;
    hs_dest_status *all = hs_malloc((n ? n : 1) * sizeof *all);
    n = 0;
    for (size_t k = 0; k < g->sc->n; k++) {
        memcpy(all + n, g->parts[k].st, g->parts[k].n * sizeof *all);
        n += g->parts[k].n;
    }
    g->cb(all, n, g->ud);
    hs_free(all);
    for (size_t k = 0; k < g->sc->n; k++) {
        hs_free(g->parts[k].st);
        hs_free(g->parts[k].ids);
    }
    hs_free(g->parts);
    hs_free(g);
}

/* On the server's loop, behind the hooks posted there (as
 * hs_scheduler_circuit): then to every shard, behind what those hooks
 * posted to them. */
static void run_gather(hs_msg *m) {
    gather *g = (gather *)m;
    hs_mailbox_answered(g->sc->home);
    hs_loops_each(g->sc->loops, gather_remote, gather_done, g);
}

void hs_scheduler_states(hs_scheduler *sc, hs_scheduler_states_cb cb, void *ud) {
    gather *g = hs_calloc(1, sizeof *g);
    g->sc = sc;
    g->parts = hs_calloc(hs_loops_count(sc->loops), sizeof *g->parts);
    g->cb = cb;
    g->ud = ud;
    hs_mailbox_expect(sc->home);
    hs_mailbox_post(sc->home, &g->msg, run_gather);
}

typedef struct reset_msg {
    hs_msg msg;
    hs_scheduler *sc;
    part *p;
    char id[HS_ID_MAX];
    hs_scheduler_reset_cb cb;
    void *ud;
    json_t *circuit;
    hs_error err;
} reset_msg;

/* Back on the server's loop: the answer. */
static void run_reset_answer(hs_msg *m) {
    reset_msg *x = (reset_msg *)m;
    hs_mailbox_answered(x->sc->home);
    x->cb(x->circuit, x->circuit ? NULL : &x->err, x->ud);
    hs_free(x);
}

/* On the shard's thread: committed, or refused. */
static void reset_done(json_t *circuit, const hs_error *err, void *ud) {
    reset_msg *x = ud;
    x->circuit = circuit;
    if (err) x->err = *err;
    hs_mailbox_post(x->sc->home, &x->msg, run_reset_answer);
}

static void run_reset(hs_msg *m) {
    reset_msg *x = (reset_msg *)m;
    hs_error err;
    int rc = hs__shard_circuit_reset(x->p->sh, x->id, reset_done, x);
    if (rc != HS_OK) {
        if (rc == HS_ERR_NOTFOUND)
            hs_error_set(&err, rc, "", "no destination \"%s\" (use its id)", x->id);
        else
            hs_error_set(&err, rc, "", "%s", "the circuit state could not be saved; retry shortly");
        reset_done(NULL, &err, x);
    }
}

int hs_scheduler_circuit_reset(hs_scheduler *sc, const char *destination_id, hs_scheduler_reset_cb cb, void *ud) {
    part *p = part_of(sc, destination_id);
    if (!p->remote) return hs__shard_circuit_reset(p->sh, destination_id, cb, ud);
    reset_msg *x = hs_calloc(1, sizeof *x);
    x->sc = sc;
    x->p = p;
    hs_id_copy(x->id, destination_id);
    x->cb = cb;
    x->ud = ud;
    hs_mailbox_expect(sc->home);
    hs_mailbox_post(p->mb, &x->msg, run_reset);
    return HS_OK;
}

/* ---- the shards → the server's loop ---- */

/* An attempt hook fired by a shard on another thread: what the hooks'
 * subscribers read, copied (not the request's and response's headers and
 * bodies, which no subscriber reads). */
typedef struct attempt_note {
    hs_msg msg;
    hs_scheduler *sc;
    bool recorded;
    const char *circuit_before; /* a static name */
    hs_attempt_rec a;
    hs_dest_status dest;
    char dest_id[HS_ID_MAX];
    uint64_t latency_ms;
    bool destination_removed;
} attempt_note;

/* attempt_decided, then circuit_changed when the attempt moved the circuit. */
static void fire_decided(const hs_hooks *h, const hs_attempt_event *e) {
    hs_hooks_attempt_decided(h, e);
    if (!e->circuit_before || strcmp(e->circuit_before, e->dest->circuit) == 0) return;
    hs_circuit_event c = {.dest = e->dest, .from = e->circuit_before, .to = e->dest->circuit, .a = e->a};
    hs_hooks_circuit_changed(h, &c);
}

static void run_attempt_note(hs_msg *m) {
    attempt_note *x = (attempt_note *)m;
    bool removed = x->destination_removed || hs_idmap_get(&x->sc->removed, x->a.destination_id);
    hs_attempt_event e = {.a = &x->a,
                          .dest = &x->dest,
                          .latency_ms = x->latency_ms,
                          .destination_removed = removed,
                          .circuit_before = x->circuit_before};
    if (x->recorded)
        hs_hooks_attempt_recorded(x->sc->hooks, &e);
    else
        fire_decided(x->sc->hooks, &e);
    hs_free(x->a.error);
    hs_free(x);
}

void hs__sched_attempt(hs_scheduler *sc, size_t index, bool recorded, const hs_attempt_event *e) {
    if (!sc->parts[index].remote) {
        if (recorded)
            hs_hooks_attempt_recorded(sc->hooks, e);
        else
            fire_decided(sc->hooks, e);
        return;
    }
    if (!sc->hooks ||
        !(recorded ? sc->hooks->attempt_recorded.n : sc->hooks->attempt_decided.n + sc->hooks->circuit_changed.n))
        return;
    attempt_note *x = hs_malloc(sizeof *x);
    x->sc = sc;
    x->recorded = recorded;
    x->circuit_before = e->circuit_before;
    x->a = *e->a;
    x->a.request_url = x->a.request_method = x->a.request_headers = NULL;
    x->a.response_headers = x->a.response_body = NULL;
    x->a.request_headers_len = x->a.response_headers_len = x->a.response_body_len = 0;
    x->a.error = e->a->error ? hs_strdup(e->a->error) : NULL;
    x->dest = *e->dest;
    hs_id_copy(x->dest_id, e->dest->id);
    x->dest.id = x->dest_id;
    x->latency_ms = e->latency_ms;
    x->destination_removed = e->destination_removed;
    hs_mailbox_post(sc->home, &x->msg, run_attempt_note);
}

typedef struct circuit_note {
    hs_msg msg;
    hs_scheduler *sc;
    hs_dest_status st;
    char id[HS_ID_MAX];
} circuit_note;

static void run_circuit_note(hs_msg *m) {
    circuit_note *x = (circuit_note *)m;
    hs_hooks_circuit_reset(x->sc->hooks, &x->st);
    hs_free(x);
}

void hs__sched_circuit_reset(hs_scheduler *sc, size_t index, const hs_dest_status *st) {
    if (!sc->parts[index].remote) {
        hs_hooks_circuit_reset(sc->hooks, st);
        return;
    }
    circuit_note *x = hs_malloc(sizeof *x);
    x->sc = sc;
    x->st = *st;
    hs_id_copy(x->id, st->id);
    x->st.id = x->id;
    hs_mailbox_post(sc->home, &x->msg, run_circuit_note);
}

/* ---- leases (several nodes) ---- */

typedef struct lease_msg {
    hs_msg msg;
    hs_scheduler *sc;
    hs__shard *sh;
    hs_lease_msg m;
    hs_scheduler_released_cb cb;
    void *ud;
} lease_msg;

static void run_lease(hs_msg *m) {
    lease_msg *x = (lease_msg *)m;
    hs__shard_lease(x->sh, &x->m, x->cb, x->ud);
    hs_free(x);
}

void hs_scheduler_lease(hs_scheduler *sc, const hs_lease_msg *m, hs_scheduler_released_cb cb, void *ud) {
    if (sc->stopping || !sc->n) {
        if (m->op == HS_LEASE_RELEASE && cb) cb(m->destination_id, m->epoch, ud);
        return;
    }
    part *p = part_of(sc, m->destination_id);
    lease_msg *x = hs_malloc(sizeof *x);
    x->sc = sc;
    x->sh = p->sh;
    x->m = *m;
    x->cb = cb;
    x->ud = ud;
    hand_to(p, &x->msg, run_lease);
}

typedef struct released_note {
    hs_msg msg;
    char id[HS_ID_MAX];
    uint64_t epoch;
    hs_scheduler_released_cb cb;
    void *ud;
} released_note;

static void run_released(hs_msg *m) {
    released_note *x = (released_note *)m;
    x->cb(x->id, x->epoch, x->ud);
    hs_free(x);
}

void hs__sched_released(hs_scheduler *sc, size_t index, const char *destination_id, uint64_t epoch,
                        hs_scheduler_released_cb cb, void *ud) {
    if (!cb) return;
    released_note *x = hs_malloc(sizeof *x);
    hs_id_copy(x->id, destination_id);
    x->epoch = epoch;
    x->cb = cb;
    x->ud = ud;
    if (!sc->parts[index].remote)
        run_released(&x->msg);
    else
        hs_mailbox_post(sc->home, &x->msg, run_released);
}

/* A local delivery: to the server's loop, and its answer back. */
typedef struct local_msg {
    hs_msg msg;
    hs_scheduler *sc;
    part *p;
    const hs_provider *prov;
    const hs_out_req *req;
    hs__local_done done;
    void *ud;
    hs_out_resp *resp;
} local_msg;

static void run_local_answer(hs_msg *m) {
    local_msg *x = (local_msg *)m;
    x->done(x->resp, x->ud);
    hs_free(x);
}

static void run_local(hs_msg *m) {
    local_msg *x = (local_msg *)m;
    x->resp = hs_calloc(1, sizeof *x->resp);
    x->prov->deliver_local(x->sc->local_env, x->req, x->resp);
    hs_mailbox_post(x->p->mb, &x->msg, run_local_answer);
}

void hs__sched_deliver_local(hs_scheduler *sc, size_t index, const hs_provider *p, const hs_out_req *req,
                             hs__local_done done, void *ud) {
    local_msg *x = hs_calloc(1, sizeof *x);
    x->sc = sc;
    x->p = &sc->parts[index];
    x->prov = p;
    x->req = req;
    x->done = done;
    x->ud = ud;
    if (!x->p->remote) {
        x->resp = hs_calloc(1, sizeof *x->resp);
        p->deliver_local(sc->local_env, req, x->resp);
        run_local_answer(&x->msg);
        return;
    }
    hs_mailbox_post(sc->home, &x->msg, run_local);
}

/* ---- life cycle ---- */

void hs_scheduler_set_local_env(hs_scheduler *sc, void *env) { sc->local_env = env; }
void hs_scheduler_set_hooks(hs_scheduler *sc, const hs_hooks *hooks) { sc->hooks = hooks; }

/* What the store holds, read on the server's thread before the shards are
 * built, each on its own thread, from it. */
typedef struct loaded {
    hs_scheduler *sc;
    size_t window;
    bool clustered;
    json_t *dests, *conns;
    hs_circuit_row *circuits;
    size_t ncircuits;
    hs_queue_count *counts;
    size_t ncounts;
    uint64_t now;
    bool failed; /* a shard could not be built */
    hs_error err;
} loaded;

static int load(hs_scheduler *sc, loaded *ld, hs_error *err) {
    int rc = hs_store_resource_all(sc->store, HS_KIND_DESTINATION, &ld->dests, err);
    if (rc == HS_OK) rc = hs_store_resource_all(sc->store, HS_KIND_CONNECTION, &ld->conns, err);
    if (rc == HS_OK) rc = hs_store_circuits(sc->store, &ld->circuits, &ld->ncircuits, err);
    if (rc == HS_OK) rc = hs_store_settle_orphans(sc->store, err); /* none is left pending without its destination */
    /* the counts, not the backlog: each window fills as its destination
     * needs it */
    if (rc == HS_OK) rc = hs_store_queue_counts(sc->store, &ld->counts, &ld->ncounts, err);
    ld->now = hs_now_ms();
    return rc;
}

/* On loop i's thread: shard i, and its share of what was loaded. */
static void build_part(size_t i, void *ud) {
    loaded *ld = ud;
    hs_scheduler *sc = ld->sc;
    part *p = &sc->parts[i];
    hs_error err;
    hs_error_clear(&err);
    p->sh = hs__shard_new(sc, i, sc->n, hs_loops_loop(sc->loops, i), sc->store, ld->window, &err);
    if (!p->sh) {
        ld->failed = true;
        ld->err = err;
        return;
    }
    if (ld->clustered) hs__shard_set_clustered(p->sh);
    size_t k;
    json_t *doc;
    json_array_foreach(ld->dests, k, doc) {
        const char *id = json_string_value(json_object_get(doc, "id"));
        if (id && part_of(sc, id) == p) hs__shard_load_destination(p->sh, doc);
    }
    json_array_foreach(ld->conns, k, doc) hs__shard_load_connection(p->sh, doc);
    for (k = 0; k < ld->ncircuits; k++)
        if (part_of(sc, ld->circuits[k].destination_id) == p) hs__shard_load_circuit(p->sh, &ld->circuits[k], ld->now);
    for (k = 0; k < ld->ncounts; k++)
        if (part_of(sc, ld->counts[k].destination_id) == p)
            hs__shard_load_pending(p->sh, ld->counts[k].destination_id, ld->counts[k].pending);
}

int hs_scheduler_new(hs_loops *loops, hs_store *s, const hs_scheduler_config *cfg, hs_scheduler **out, hs_error *err) {
    hs_scheduler *sc = hs_calloc(1, sizeof *sc);
    *out = sc; /* on failure too: stop and free tear down what was built */
    sc->loops = loops;
    sc->home = hs_loops_mailbox(loops, 0);
    sc->store = s;
    size_t n = hs_loops_count(loops); /* at most HS_LOOPS_MAX */
    loaded ld = {
        .sc = sc, .window = cfg && cfg->window ? cfg->window : HS_SCHEDULER_WINDOW, .clustered = cfg && cfg->clustered};
    int rc = load(sc, &ld, err);
    if (rc == HS_OK) {
        sc->parts = hs_calloc(n, sizeof *sc->parts);
        sc->n = n;
        for (size_t k = 0; k < n; k++) {
            sc->parts[k].mb = hs_loops_mailbox(loops, k);
            sc->parts[k].remote = k > 0;
        }
        for (size_t k = 0; k < n && !ld.failed; k++) hs_loops_run_sync(loops, k, build_part, &ld);
        if (ld.failed) {
            *err = ld.err;
            rc = err->code ? err->code : HS_ERR_INTERNAL;
            while (sc->n > 0 && !sc->parts[sc->n - 1].sh) sc->n--; /* the parts built */
        }
    }
    if (rc == HS_OK) {
        uint64_t total = 0;
        for (size_t k = 0; k < ld.ncounts; k++) total += ld.counts[k].pending;
        hs_info("scheduler: %llu pending deliveries, on %zu loop thread%s", (unsigned long long)total, n,
                n == 1 ? "" : "s");
    }
    json_decref(ld.dests);
    json_decref(ld.conns);
    hs_free(ld.circuits);
    hs_free(ld.counts);
    return rc;
}

static void run_start(hs_msg *m) {
    part *p = ((part_msg *)m)->p;
    hs_free(m);
    hs__shard_start(p->sh);
}

void hs_scheduler_start(hs_scheduler *sc) {
    for (size_t k = 0; k < sc->n; k++) {
        part *p = &sc->parts[k];
        if (!p->remote) {
            hs__shard_start(p->sh);
            continue;
        }
        part_msg *x = hs_calloc(1, sizeof *x);
        x->p = p;
        hs_mailbox_post(p->mb, &x->msg, run_start);
    }
}

typedef struct stop_msg {
    hs_msg msg;
    hs_scheduler *sc;
    part *p;
} stop_msg;

static void one_stopped(hs_scheduler *sc) {
    if (--sc->stops_left > 0) return;
    void (*done)(void *) = sc->stop_done;
    sc->stop_done = NULL;
    if (done) done(sc->stop_ud);
}

/* On the server's loop: a shard on another thread has stopped. */
static void run_stopped(hs_msg *m) {
    stop_msg *x = (stop_msg *)m;
    hs_scheduler *sc = x->sc;
    hs_free(x);
    hs_mailbox_answered(sc->home);
    one_stopped(sc);
}

/* On the shard's thread: stopped, its handles closed. */
static void remote_stopped(void *ud) {
    stop_msg *x = ud;
    hs_mailbox_post(x->sc->home, &x->msg, run_stopped);
}

static void run_stop(hs_msg *m) {
    stop_msg *x = (stop_msg *)m;
    hs__shard_stop(x->p->sh, remote_stopped, x);
}

static void home_stopped(void *ud) { one_stopped(ud); }

void hs_scheduler_stop(hs_scheduler *sc, void (*done)(void *ud), void *ud) {
    sc->stopping = true;
    sc->stop_done = done;
    sc->stop_ud = ud;
    sc->stops_left = sc->n + 1; /* one more, released below: done runs after every post */
    for (size_t k = 0; k < sc->n; k++) {
        part *p = &sc->parts[k];
        if (!p->remote) {
            hs__shard_stop(p->sh, home_stopped, sc);
            continue;
        }
        stop_msg *x = hs_calloc(1, sizeof *x);
        x->sc = sc;
        x->p = p;
        hs_mailbox_expect(sc->home);
        hs_mailbox_post(p->mb, &x->msg, run_stop);
    }
    one_stopped(sc);
}

void hs_scheduler_free(hs_scheduler *sc) {
    if (!sc) return;
    for (size_t k = 0; k < sc->n; k++) hs__shard_free(sc->parts[k].sh);
    hs_idmap_free(&sc->removed);
    hs_free(sc->parts);
    hs_free(sc);
}
