/* src/api/circuit.c — GET /v1/destinations/:id/circuit, POST .../reset,
 * GET /v1/circuits and GET /v1/cluster.
 *
 * Answered on the loop thread once the scheduler has it: the circuit lives
 * in the memory of the destination's thread (the store has the last saved
 * copy). Destinations are named by id here; the scheduler does not know
 * slugs. With several nodes (docs/cluster.md) the node that holds the
 * destination's lease answers from memory and names itself; another node
 * answers what the store last saved (on the threadpool) and names the
 * owner, and asks the owner for a reset through the change feed, answering
 * once the saved state shows it. */
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/timeutil.h"
#include "base/json_text.h"
#include "api/call.h"
#include "cluster/cluster.h"

static void not_found(hs_http_req *req, const char *id) {
    hs_error e;
    hs_error_clear(&e);
    hs_error_set(&e, HS_ERR_NOTFOUND, "", "no destination \"%s\" (use its id)", id);
    hs_api_respond_error(req, &e);
}

typedef struct circuit_get_x {
    uv_work_t work;
    hs_http_req *req;
    char *id;
    hs_api *api;
    json_t *circuit;
    hs_dest_state st;
    hs_error err;
    int rc;
} circuit_get_x;

static void circuit_get_free(circuit_get_x *g) {
    hs_free(g->id);
    hs_free(g);
}

/* Threadpool: what the store says of a destination another node delivers. */
static void state_work(uv_work_t *w) {
    circuit_get_x *g = w->data;
    g->rc = hs_store_destination_state(g->api->store, g->id, &g->st, &g->err);
}

/* The owner's state as last saved, over this node's view of it. */
static void state_done(uv_work_t *w, int status) {
    circuit_get_x *g = w->data;
    json_t *c = g->circuit;
    if (status == 0 && g->rc == HS_OK) {
        if (g->st.has_circuit) {
            const hs_circuit_row *r = &g->st.circuit;
            json_object_set_new(c, "state", json_string(r->state));
            json_object_set_new(c, "consecutive_failures", json_integer(r->consecutive_failures));
            json_object_set_new(c, "opened_at", hs_json_time(r->opened_at));
            json_object_set_new(c, "next_probe_at", hs_json_time(r->next_probe_at));
            json_object_set_new(c, "last_transition_at", hs_json_time(r->last_transition_at));
        }
        json_object_set_new(c, "queued", json_integer((json_int_t)g->st.pending));
        json_object_set_new(c, "node_id", g->st.owner[0] ? json_string(g->st.owner) : json_null());
    }
    hs_api_respond_json(g->req, 200, c);
    circuit_get_free(g);
}

static void got_circuit(json_t *circuit, void *ud) {
    circuit_get_x *g = ud;
    if (!circuit) {
        not_found(g->req, g->id);
        circuit_get_free(g);
        return;
    }
    struct hs_cluster *cl = g->api->cluster;
    if (cl && !hs_cluster_owns(cl, g->id)) {
        /* another node delivers it: its saved state, and who it is */
        g->circuit = circuit;
        g->work.data = g;
        json_object_set_new(circuit, "node_id", json_null());
        if (uv_queue_work(g->api->loop, &g->work, state_work, state_done) == 0) return;
        hs_api_respond_json(g->req, 200, circuit);
        circuit_get_free(g);
        return;
    }
    if (cl) json_object_set_new(circuit, "node_id", json_string(hs_cluster_node(cl)));
    hs_api_respond_json(g->req, 200, circuit);
    circuit_get_free(g);
}

void hs_api_circuit_get(hs_api *api, hs_http_req *req, const char *id) {
    circuit_get_x *g = hs_calloc(1, sizeof *g);
    g->req = req;
    g->id = hs_strdup(id);
    g->api = api;
    hs_scheduler_circuit(api->sched, id, got_circuit, g);
}

/* GET /v1/cluster: the nodes as of the last heartbeat. */
void hs_api_cluster_get(hs_api *api, hs_http_req *req, const char *id) {
    (void)id;
    /* a server of its own (SQLite): no node, no other */
    if (!api->cluster) return hs_api_respond_json(req, 200, json_pack("{s:n, s:[]}", "node_id", "nodes"));
    hs_api_respond_json(req, 200, hs_cluster_json(api->cluster));
}

static void reset_done(json_t *circuit, const hs_error *err, void *ud) {
    hs_http_req *req = ud;
    if (!circuit) return hs_api_respond_error(req, err);
    hs_api_respond_json(req, 200, circuit);
}

#define REMOTE_RESET_WAIT_MS 5000 /* how long the owner of a destination has to confirm a reset */

/* Threadpool: ask the owner (the change feed), then read the saved state
 * until it shows the reset. */
static void remote_reset_work(uv_work_t *w) {
    circuit_get_x *g = w->data;
    g->rc = hs_store_feed_announce(g->api->store, HS_FEED_RESET, g->id, &g->err);
    for (uint64_t t0 = hs_monotonic_ns() / 1000000u; g->rc == HS_OK;) {
        g->rc = hs_store_destination_state(g->api->store, g->id, &g->st, &g->err);
        if (g->rc != HS_OK) break;
        if (g->st.has_circuit && strcmp(g->st.circuit.state, "closed") == 0 && g->st.circuit.consecutive_failures == 0)
            break;
        if (hs_monotonic_ns() / 1000000u - t0 > REMOTE_RESET_WAIT_MS) {
            g->rc = hs_error_set(&g->err, HS_ERR_BUSY, "",
                                 "the node that delivers this destination did not confirm the reset within %d s; "
                                 "retry shortly",
                                 REMOTE_RESET_WAIT_MS / 1000);
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void remote_reset_done(uv_work_t *w, int status) {
    circuit_get_x *g = w->data;
    if (status != 0 || g->rc != HS_OK) {
        if (status != 0) hs_error_set(&g->err, HS_ERR_INTERNAL, "", "%s", "the reset could not be run");
        hs_api_respond_error(g->req, &g->err);
        json_decref(g->circuit);
        circuit_get_free(g);
        return;
    }
    state_done(w, 0);
}

/* A destination another node delivers: the reset is that node's to do. */
static void got_for_reset(json_t *circuit, void *ud) {
    circuit_get_x *g = ud;
    if (!circuit) {
        not_found(g->req, g->id);
        circuit_get_free(g);
        return;
    }
    g->circuit = circuit;
    g->work.data = g;
    if (uv_queue_work(g->api->loop, &g->work, remote_reset_work, remote_reset_done) != 0) {
        hs_error e;
        hs_error_clear(&e);
        hs_error_set(&e, HS_ERR_BUSY, "", "%s", "the reset could not be queued; retry shortly");
        hs_api_respond_error(g->req, &e);
        json_decref(circuit);
        circuit_get_free(g);
    }
}

void hs_api_circuit_reset(hs_api *api, hs_http_req *req, const char *id) {
    if (api->cluster && !hs_cluster_owns(api->cluster, id)) {
        circuit_get_x *g = hs_calloc(1, sizeof *g);
        g->req = req;
        g->id = hs_strdup(id);
        g->api = api;
        hs_scheduler_circuit(api->sched, id, got_for_reset, g);
        return;
    }
    int rc = hs_scheduler_circuit_reset(api->sched, id, reset_done, req);
    if (rc == HS_ERR_NOTFOUND) return not_found(req, id);
    if (rc != HS_OK) {
        hs_error e;
        hs_error_clear(&e);
        hs_error_set(&e, rc, "", "%s", "the circuit state could not be saved; retry shortly");
        hs_api_respond_error(req, &e);
    }
}

static void add_status(const hs_dest_status *st, json_t *items) {
    json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:i, s:I, s:i}", "destination_id", st->id, "type", st->type,
                                           "state", st->circuit, "consecutive_failures", st->consecutive_failures,
                                           "queued", (json_int_t)st->queued, "in_flight", st->in_flight));
}

/* GET /v1/circuits: every destination's live state at once (the
 * dashboard's list), in no particular order. */
static void got_states(const hs_dest_status *st, size_t n, void *ud) {
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) add_status(&st[i], items);
    hs_api_respond_json(ud, 200, json_pack("{s:o}", "circuits", items));
}

void hs_api_circuits_list(hs_api *api, hs_http_req *req, const char *id) {
    (void)id;
    hs_scheduler_states(api->sched, got_states, req);
}
