/* src/api/circuit.c — GET /v1/destinations/:id/circuit, POST .../reset and
 * GET /v1/circuits.
 *
 * Answered on the loop thread once the scheduler has it: the circuit lives
 * in the memory of the destination's thread (the store has the last saved
 * copy). Destinations are named by id here; the scheduler does not know
 * slugs. */
#include "base/alloc.h"
#include "api/call.h"
#include "cluster/cluster.h"

static void not_found(hs_http_req *req, const char *id) {
    hs_error e;
    hs_error_clear(&e);
    hs_error_set(&e, HS_ERR_NOTFOUND, "", "no destination \"%s\" (use its id)", id);
    hs_api_respond_error(req, &e);
}

typedef struct circuit_get_x {
    hs_http_req *req;
    char *id;
    struct hs_cluster *cluster;
} circuit_get_x;

static void got_circuit(json_t *circuit, void *ud) {
    circuit_get_x *g = ud;
    /* the node delivering it: this one when it holds the lease (null:
     * another node does; its answer has the live state) */
    if (circuit && g->cluster) {
        const char *owner = hs_cluster_owns(g->cluster, g->id) ? hs_cluster_node(g->cluster) : NULL;
        json_object_set_new(circuit, "node_id", owner ? json_string(owner) : json_null());
    }
    if (circuit)
        hs_api_respond_json(g->req, 200, circuit);
    else
        not_found(g->req, g->id);
    hs_free(g->id);
    hs_free(g);
}

void hs_api_circuit_get(hs_api *api, hs_http_req *req, const char *id) {
    circuit_get_x *g = hs_malloc(sizeof *g);
    g->req = req;
    g->id = hs_strdup(id);
    g->cluster = api->cluster;
    hs_scheduler_circuit(api->sched, id, got_circuit, g);
}

/* GET /v1/cluster: the nodes as of the last heartbeat. */
void hs_api_cluster_get(hs_api *api, hs_http_req *req, const char *id) {
    (void)id;
    if (!api->cluster) {
        hs_error e;
        hs_error_clear(&e);
        hs_error_set(
            &e, HS_ERR_NOTFOUND, "",
            "this server is not in a cluster: several nodes share a PostgreSQL database (--db postgresql://...)");
        return hs_api_respond_error(req, &e);
    }
    hs_api_respond_json(req, 200, hs_cluster_json(api->cluster));
}

static void reset_done(json_t *circuit, const hs_error *err, void *ud) {
    hs_http_req *req = ud;
    if (!circuit) return hs_api_respond_error(req, err);
    hs_api_respond_json(req, 200, circuit);
}

void hs_api_circuit_reset(hs_api *api, hs_http_req *req, const char *id) {
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
