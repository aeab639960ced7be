/* src/store/nodes.c — store.h's "several nodes" calls: argument checks,
 * then the backend's (hs_store_backend.cluster). A backend one server has
 * to itself (SQLite) answers HS_ERR_UNSUPPORTED.
 *
 * Threads: an hs_store_node is one thread's at a time (src/cluster/'s);
 * hs_store_routes_reload is a sync write (not on a loop thread).
 */
#include <string.h>

#include "base/alloc.h"
#include "store/backend.h"
#include "store/writer.h"

struct hs_store_node {
    hs_store *s;
    const hs_store_cluster_ops *ops;
    void *conn; /* the backend's */
};

bool hs_store_shared(const hs_store *s) { return s->be->cluster != NULL; }

void hs_store_set_node_id(hs_store *s, const char *node_id) {
    snprintf(s->node_id, sizeof s->node_id, "%s", node_id ? node_id : "");
}

const char *hs_store_node_id(const hs_store *s) { return s->node_id; }

void hs_store_set_create_lease(hs_store *s, uint64_t lease_ms) { atomic_store(&s->create_lease_ms, lease_ms); }

int hs_store_node_open(hs_store *s, hs_store_node **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    if (!s->be->cluster)
        return hs_error_set(err, HS_ERR_UNSUPPORTED, "db",
                            "several nodes need a store they can share (PostgreSQL); %s belongs to one server",
                            s->be->name);
    hs_store_node *n = hs_calloc(1, sizeof *n);
    n->s = s;
    n->ops = s->be->cluster;
    int rc = n->ops->open(s, &n->conn, err);
    if (rc != HS_OK) {
        hs_free(n);
        return rc;
    }
    *out = n;
    return HS_OK;
}

void hs_store_node_close(hs_store_node *n) {
    if (!n) return;
    n->ops->close(n->conn);
    hs_free(n);
}

int hs_store_node_beat(hs_store_node *n, const hs_node_info *me, uint64_t *now, hs_error *err) {
    HS_ERR_LOCAL(err);
    return n->ops->beat(n->conn, me, now, err);
}

int hs_store_node_leave(hs_store_node *n, const char *node_id, hs_error *err) {
    HS_ERR_LOCAL(err);
    return n->ops->leave(n->conn, node_id, err);
}

int hs_store_node_list(hs_store_node *n, hs_node_info **out, size_t *count, uint64_t *now, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *count = 0;
    return n->ops->list(n->conn, out, count, now, err);
}

int hs_store_lease_total(hs_store_node *n, size_t *total, hs_error *err) {
    HS_ERR_LOCAL(err);
    *total = 0;
    return n->ops->total(n->conn, total, err);
}

int hs_store_lease_renew(hs_store_node *n, const char *node_id, uint64_t ttl_ms, hs_lease **held, size_t *count,
                         hs_error *err) {
    HS_ERR_LOCAL(err);
    *held = NULL;
    *count = 0;
    return n->ops->renew(n->conn, node_id, ttl_ms, held, count, err);
}

int hs_store_lease_claim(hs_store_node *n, const char *node_id, uint64_t ttl_ms, size_t limit, hs_lease **got,
                         size_t *count, hs_error *err) {
    HS_ERR_LOCAL(err);
    *got = NULL;
    *count = 0;
    if (!limit) return HS_OK;
    return n->ops->claim(n->conn, node_id, ttl_ms, limit, got, count, err);
}

int hs_store_lease_release(hs_store_node *n, const char *node_id, const hs_lease *l, hs_error *err) {
    HS_ERR_LOCAL(err);
    return n->ops->release(n->conn, node_id, l, err);
}

int hs_store_queue_marks(hs_store_node *n, const char *node_id, hs_queue_mark **out, size_t *count, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *count = 0;
    return n->ops->marks(n->conn, node_id, out, count, err);
}

int hs_store_feed_live(hs_store_node *n, const char *node_id, const char *const *channels, const char *const *texts,
                       size_t count, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!count) return HS_OK;
    return n->ops->live(n->conn, node_id, channels, texts, count, err);
}

int hs_store_feed_listen(hs_store_node *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    return n->ops->listen(n->conn, err);
}

int hs_store_feed_wait(hs_store_node *n, int timeout_ms, hs_feed_fn fn, void *ud, hs_error *err) {
    HS_ERR_LOCAL(err);
    return n->ops->wait(n->conn, timeout_ms, fn, ud, err);
}

int hs_store_destination_state(hs_store *s, const char *destination_id, hs_dest_state *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    if (!s->be->cluster) return hs_error_set(err, HS_ERR_UNSUPPORTED, NULL, "a store of one server has no leases");
    return s->be->cluster->state(s, destination_id, out, err);
}

typedef struct announce_args {
    hs_feed_kind kind;
} announce_args;

static int announce_exec(hs_store *s, hs_wop *op) {
    const announce_args *a = op->ud;
    return s->be->cluster->announce(s, a->kind, op->id, &op->err);
}

int hs_store_feed_announce(hs_store *s, hs_feed_kind kind, const char *id, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!s->be->cluster) return hs_error_set(err, HS_ERR_UNSUPPORTED, NULL, "a store of one server has no feed");
    if (!id || !*id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    announce_args a = {.kind = kind};
    hs_wop op = {.exec = announce_exec, .id = id, .ud = &a, .keeps_routes = true};
    return hs__writer_submit(s, &op, err);
}

/* Nothing to write: the writer drops its route cache before any op that
 * does not say it keeps it (src/store/writer.c). */
static int noop_exec(hs_store *s, hs_wop *op) {
    (void)s;
    (void)op;
    return HS_OK;
}

int hs_store_routes_reload(hs_store *s, hs_error *err) {
    HS_ERR_LOCAL(err);
    hs_wop op = {.exec = noop_exec};
    return hs__writer_submit(s, &op, err);
}
