/* src/store/pg/cluster.c — several nodes on one PostgreSQL database: the
 * statements behind store.h's "several nodes" (hs__pg_cluster_ops).
 *
 * Tables (schema.c, step 2): nodes (one row per server, last_seen_at
 * renewed by its heartbeat), leases (one row per destination: owner,
 * epoch, expires_at). Every time is the database's (hs_now_ms()), so
 * nodes whose clocks disagree agree on expiry. A lease changes owner only
 * once it is free or expired, and then its epoch grows: a write made under
 * an older epoch is refused (deliveries.c, the fence), and the lease rows a
 * group checks stay locked until its commit.
 *
 * The change feed is LISTEN/NOTIFY on the channel of the store's schema
 * (hs__pg.channel). Messages, one line of words each (queues.c,
 * deliveries.c and resources.c send them inside the writing transaction,
 * so they go out only if it commits):
 *   d <node> <destination> <n> <last_seq>   new deliveries
 *   q <node> <destination> <n>              deliveries requeued
 *   r <node> <kind> <id> <0|1 deleted>      a resource written
 *   k <node>                                the API keys changed
 *   c <node> <destination>                  reset its circuit (asked of a node that does not hold it)
 *
 * Threads: a connection of its own (not the writer's, not the pool's),
 * used by one thread (src/cluster/'s). Every call waits at most
 * HS_STORE_NODE_TIMEOUT_MS; a connection that did not answer in time is
 * closed and the next call opens another.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timeutil.h"
#include "store/pg/pg.h"

typedef struct node_conn {
    hs_pg_conn c;
    hs_store *s;
    unsigned gen;       /* bumped by every (re)connect */
    unsigned listening; /* the gen LISTEN was said on (0: none) */
} node_conn;

/* The connection, opened again when it was lost. */
static int ready(node_conn *n, hs_error *err) {
    if (n->c.pg && PQstatus(n->c.pg) == CONNECTION_OK) return HS_OK;
    hs_pg_conn_close(&n->c);
    n->gen++; /* a new session: LISTEN is to be said again */
    return hs_pg_conn_open(&n->c, hs__pgs(n->s)->url, false, NULL, err);
}

static PGresult *run(node_conn *n, const char *sql, const hs_pg_params *p, const char *what, hs_error *err) {
    if (ready(n, err) != HS_OK) return NULL;
    return hs_pg_exec_timed(&n->c, sql, p, HS_STORE_NODE_TIMEOUT_MS, what, err);
}

static int node_open(hs_store *s, void **conn, hs_error *err) {
    node_conn *n = hs_calloc(1, sizeof *n);
    n->s = s;
    int rc = ready(n, err);
    if (rc != HS_OK) {
        hs_pg_conn_close(&n->c);
        hs_free(n);
        return rc;
    }
    *conn = n;
    return HS_OK;
}

static void node_close(void *conn) {
    node_conn *n = conn;
    hs_pg_conn_close(&n->c);
    hs_free(n);
}

static const char SQL_BEAT[] =
    "WITH me AS (INSERT INTO nodes(id, listen, role, started_at, last_seen_at, watchers) VALUES($1, $2, $3, $4, "
    "hs_now_ms(), $5) ON CONFLICT (id) DO UPDATE SET listen = excluded.listen, role = excluded.role, started_at = "
    "excluded.started_at, last_seen_at = excluded.last_seen_at, watchers = excluded.watchers RETURNING "
    "last_seen_at), "
    "old AS (DELETE FROM nodes WHERE last_seen_at < hs_now_ms() - 3600000 AND id <> $1) "
    "SELECT last_seen_at FROM me";

static int node_beat(void *conn, const hs_node_info *me, uint64_t *now, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, me->id);
    hs_pg_text(&p, me->listen);
    hs_pg_text(&p, me->role);
    hs_pg_int(&p, (int64_t)me->started_at);
    hs_pg_int(&p, (int64_t)me->watchers);
    PGresult *r = run(conn, SQL_BEAT, &p, "saying this node is alive", err);
    if (!r) return err->code;
    *now = PQntuples(r) ? (uint64_t)hs_pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    return HS_OK;
}

static int node_leave(void *conn, const char *node_id, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, node_id);
    PGresult *r = run(conn, "DELETE FROM nodes WHERE id = $1", &p, "leaving the cluster", err);
    if (!r) return err->code;
    PQclear(r);
    return HS_OK;
}

static const char SQL_NODES[] =
    "SELECT n.id, n.listen, n.role, n.started_at, n.last_seen_at, (SELECT count(*) FROM leases l WHERE l.owner = "
    "n.id AND l.expires_at > hs_now_ms()), hs_now_ms(), n.watchers FROM nodes n ORDER BY n.id";

static int node_list(void *conn, hs_node_info **out, size_t *count, uint64_t *now, hs_error *err) {
    PGresult *r = run(conn, SQL_NODES, NULL, "reading the nodes", err);
    if (!r) return err->code;
    int rows = PQntuples(r);
    *out = hs_calloc((size_t)(rows ? rows : 1), sizeof **out);
    for (int i = 0; i < rows; i++) {
        hs_node_info *ni = &(*out)[i];
        hs_pg_copy(ni->id, sizeof ni->id, r, i, 0);
        hs_pg_copy(ni->listen, sizeof ni->listen, r, i, 1);
        hs_pg_copy(ni->role, sizeof ni->role, r, i, 2);
        ni->started_at = (uint64_t)hs_pg_get_int(r, i, 3);
        ni->last_seen_at = (uint64_t)hs_pg_get_int(r, i, 4);
        ni->destinations = (size_t)hs_pg_get_int(r, i, 5);
        *now = (uint64_t)hs_pg_get_int(r, i, 6);
        ni->watchers = (size_t)hs_pg_get_int(r, i, 7);
    }
    *count = (size_t)rows;
    if (!rows) {
        PQclear(r);
        r = run(conn, "SELECT hs_now_ms()", NULL, "reading the clock", err);
        if (!r) return err->code;
        *now = (uint64_t)hs_pg_get_int(r, 0, 0);
    }
    PQclear(r);
    return HS_OK;
}

static int lease_total(void *conn, size_t *total, hs_error *err) {
    PGresult *r = run(conn, "SELECT count(*) FROM destinations", NULL, "counting the destinations", err);
    if (!r) return err->code;
    *total = (size_t)hs_pg_get_int(r, 0, 0);
    PQclear(r);
    return HS_OK;
}

/* Rows (destination_id, epoch) into a new array. */
static void leases_of(const PGresult *r, hs_lease **out, size_t *count) {
    int rows = PQntuples(r);
    *out = hs_calloc((size_t)(rows ? rows : 1), sizeof **out);
    for (int i = 0; i < rows; i++) {
        hs_pg_copy((*out)[i].destination_id, sizeof(*out)[i].destination_id, r, i, 0);
        (*out)[i].epoch = (uint64_t)hs_pg_get_int(r, i, 1);
    }
    *count = (size_t)rows;
}

/* Locked in destination order, as the writer's fence locks them: the two
 * never wait for each other in a cycle. Only unexpired leases: an expired
 * one may be another node's already. */
static const char SQL_RENEW[] =
    "UPDATE leases SET expires_at = hs_now_ms() + $2 WHERE destination_id IN (SELECT destination_id FROM leases "
    "WHERE owner = $1 AND expires_at > hs_now_ms() ORDER BY destination_id FOR UPDATE) AND owner = $1 "
    "RETURNING destination_id, epoch";

static int lease_renew(void *conn, const char *node_id, uint64_t ttl_ms, hs_lease **held, size_t *count,
                       hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, node_id);
    hs_pg_int(&p, (int64_t)ttl_ms);
    PGresult *r = run(conn, SQL_RENEW, &p, "renewing the leases", err);
    if (!r) return err->code;
    leases_of(r, held, count);
    PQclear(r);
    return HS_OK;
}

/* Destinations with no lease, a free one or an expired one: a few, picked
 * in an order of this node's own (so that nodes claiming at once mostly
 * want different ones), then taken in destination order. A lease someone
 * renewed or took meanwhile fails the ON CONFLICT's condition, which is
 * checked again on the row as it is once locked. */
static const char SQL_CLAIM[] =
    "INSERT INTO leases(destination_id, owner, epoch, expires_at) "
    "SELECT id, $1, 1, hs_now_ms() + $2 FROM (SELECT d.id FROM destinations d LEFT JOIN leases l ON "
    "l.destination_id = d.id WHERE l.destination_id IS NULL OR l.owner IS NULL OR l.expires_at <= hs_now_ms() "
    "ORDER BY md5(d.id || $1) LIMIT $3) c ORDER BY id "
    "ON CONFLICT (destination_id) DO UPDATE SET owner = excluded.owner, epoch = leases.epoch + 1, expires_at = "
    "excluded.expires_at WHERE leases.owner IS NULL OR leases.expires_at <= hs_now_ms() "
    "RETURNING destination_id, epoch";

static int lease_claim(void *conn, const char *node_id, uint64_t ttl_ms, size_t limit, hs_lease **got, size_t *count,
                       hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, node_id);
    hs_pg_int(&p, (int64_t)ttl_ms);
    hs_pg_int(&p, (int64_t)limit);
    PGresult *r = run(conn, SQL_CLAIM, &p, "claiming leases", err);
    if (!r) return err->code;
    leases_of(r, got, count);
    PQclear(r);
    return HS_OK;
}

static int lease_release(void *conn, const char *node_id, const hs_lease *l, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, l->destination_id);
    hs_pg_text(&p, node_id);
    hs_pg_int(&p, (int64_t)l->epoch);
    PGresult *r = run(conn,
                      "UPDATE leases SET owner = NULL, expires_at = 0 WHERE destination_id = $1 AND owner = $2 AND "
                      "epoch = $3",
                      &p, "releasing a lease", err);
    if (!r) return err->code;
    PQclear(r);
    return HS_OK;
}

static const char SQL_MARKS[] =
    "SELECT l.destination_id, coalesce(q.pending, 0), coalesce(q.last_seq, 0), coalesce(q.requeues, 0) FROM leases "
    "l LEFT JOIN refs r ON r.id = l.destination_id LEFT JOIN queues q ON q.destination = r.n WHERE l.owner = $1 AND "
    "l.expires_at > hs_now_ms()";

static int queue_marks(void *conn, const char *node_id, hs_queue_mark **out, size_t *count, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, node_id);
    PGresult *r = run(conn, SQL_MARKS, &p, "reading the queues", err);
    if (!r) return err->code;
    int rows = PQntuples(r);
    *out = hs_calloc((size_t)(rows ? rows : 1), sizeof **out);
    for (int i = 0; i < rows; i++) {
        hs_queue_mark *m = &(*out)[i];
        hs_pg_copy(m->destination_id, sizeof m->destination_id, r, i, 0);
        m->pending = (uint64_t)hs_pg_get_int(r, i, 1);
        m->last_seq = (uint64_t)hs_pg_get_int(r, i, 2);
        m->requeues = (uint64_t)hs_pg_get_int(r, i, 3);
    }
    *count = (size_t)rows;
    PQclear(r);
    return HS_OK;
}

/* Live messages go on a channel of their own ("<channel>_live"), which
 * only nodes with watchers listen to... all nodes do, in fact: a message
 * is small, and only sent while some node has watchers. Text form:
 * "<node> <channel> <message>". */
static int feed_live(void *conn, const char *node_id, const char *const *channels, const char *const *texts,
                     size_t count, hs_error *err) {
    node_conn *n = conn;
    hs_buf b;
    hs_buf_init(&b, 1 << 26);
    char **msgs = hs_malloc(count * sizeof *msgs);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(node_id) + strlen(channels[i]) + strlen(texts[i]) + 3;
        if (len >= 7900) continue; /* past NOTIFY's payload limit: this one stays local */
        msgs[k] = hs_malloc(len);
        snprintf(msgs[k], len, "%s %s %s", node_id, channels[i], texts[i]);
        k++;
    }
    hs_pg_array_texts(&b, (const char *const *)msgs, k);
    char channel[80];
    snprintf(channel, sizeof channel, "%s_live", hs__pgs(n->s)->channel);
    hs_pg_params p = {0};
    hs_pg_text(&p, channel);
    hs_pg_text(&p, b.data);
    PGresult *r =
        k ? run(conn, "SELECT count(pg_notify($1, m)) FROM unnest($2::text[]) AS m", &p, "relaying live messages", err)
          : NULL;
    int rc = k && !r ? err->code : HS_OK;
    PQclear(r);
    for (size_t i = 0; i < k; i++) hs_free(msgs[i]);
    hs_free(msgs);
    hs_buf_free(&b);
    return rc;
}

static int listen_on(node_conn *n, const char *channel, hs_error *err) {
    char *ident = PQescapeIdentifier(n->c.pg, channel, strlen(channel));
    char sql[160];
    snprintf(sql, sizeof sql, "LISTEN %s", ident ? ident : "hookstream");
    PQfreemem(ident);
    PGresult *r = hs_pg_exec_timed(&n->c, sql, NULL, HS_STORE_NODE_TIMEOUT_MS, "listening to the change feed", err);
    if (!r) return err->code;
    PQclear(r);
    return HS_OK;
}

static int feed_listen(void *conn, hs_error *err) {
    node_conn *n = conn;
    int rc = ready(n, err);
    char live[80];
    snprintf(live, sizeof live, "%s_live", hs__pgs(n->s)->channel);
    if (rc == HS_OK) rc = listen_on(n, hs__pgs(n->s)->channel, err);
    if (rc == HS_OK) rc = listen_on(n, live, err);
    if (rc == HS_OK) n->listening = n->gen;
    return rc;
}

/* The next word of *p (at most cap - 1 bytes), *p moved past it. */
static void word(const char **p, char *out, size_t cap) {
    while (**p == ' ') (*p)++;
    size_t n = 0;
    while (**p && **p != ' ') {
        if (n + 1 < cap) out[n++] = **p;
        (*p)++;
    }
    out[n] = '\0';
}

/* A message of the feed; false for one this version does not know. */
static bool parse(const char *text, hs_feed_msg *m) {
    memset(m, 0, sizeof *m);
    const char *p = text;
    char kind[8], a[32], b[32];
    word(&p, kind, sizeof kind);
    word(&p, m->node, sizeof m->node);
    if (strcmp(kind, "k") == 0) {
        m->kind = HS_FEED_KEYS;
        return true;
    }
    if (strcmp(kind, "r") == 0) {
        word(&p, a, sizeof a);
        word(&p, m->id, sizeof m->id);
        word(&p, b, sizeof b);
        long k = strtol(a, NULL, 10);
        if (k < 0 || k >= HS_KIND_COUNT || !m->id[0]) return false;
        m->kind = HS_FEED_RESOURCE;
        m->res_kind = (hs_kind)k;
        m->deleted = strcmp(b, "1") == 0;
        return true;
    }
    word(&p, m->id, sizeof m->id);
    word(&p, a, sizeof a);
    word(&p, b, sizeof b);
    m->n = strtoull(a, NULL, 10);
    m->last_seq = strtoull(b, NULL, 10);
    if (!m->id[0]) return false;
    if (strcmp(kind, "d") == 0)
        m->kind = HS_FEED_DELIVERIES;
    else if (strcmp(kind, "q") == 0)
        m->kind = HS_FEED_REQUEUED;
    else if (strcmp(kind, "c") == 0)
        m->kind = HS_FEED_RESET;
    else
        return false;
    return true;
}

static int feed_wait(void *conn, int timeout_ms, hs_feed_fn fn, void *ud, hs_error *err) {
    node_conn *n = conn;
    if (!n->c.pg || PQstatus(n->c.pg) != CONNECTION_OK || n->listening != n->gen)
        return hs_error_set(err, HS_ERR_IO, NULL, "the change feed's connection was lost");
    uint64_t deadline = hs_monotonic_ns() / 1000000u + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (!PQconsumeInput(n->c.pg))
            return hs_error_set(err, HS_ERR_IO, NULL, "the change feed's connection was lost: %s",
                                PQerrorMessage(n->c.pg));
        PGnotify *nt;
        bool any = false;
        while ((nt = PQnotifies(n->c.pg))) {
            hs_feed_msg m;
            size_t cl = strlen(nt->relname);
            if (cl > 5 && strcmp(nt->relname + cl - 5, "_live") == 0) {
                /* "<node> <channel> <message>" */
                memset(&m, 0, sizeof m);
                m.kind = HS_FEED_LIVE;
                const char *p = nt->extra;
                word(&p, m.node, sizeof m.node);
                word(&p, m.id, sizeof m.id);
                if (*p == ' ') p++;
                m.text = p;
                if (m.id[0]) fn(&m, ud);
            } else if (parse(nt->extra, &m)) {
                fn(&m, ud);
            }
            PQfreemem(nt);
            any = true;
        }
        uint64_t now = hs_monotonic_ns() / 1000000u;
        if (any || now >= deadline) return HS_OK;
        struct pollfd pfd = {.fd = PQsocket(n->c.pg), .events = POLLIN};
        int rc = poll(&pfd, 1, (int)(deadline - now));
        if (rc < 0) return hs_error_set(err, HS_ERR_IO, NULL, "waiting for the change feed failed");
        if (rc == 0) return HS_OK;
    }
}

static int announce(hs_store *s, hs_feed_kind kind, const char *id, hs_error *err) {
    if (kind != HS_FEED_RESET) return hs_error_set(err, HS_ERR_INVALID, NULL, "no such announcement");
    const char *node = hs__pgs(s)->node;
    char m[160];
    snprintf(m, sizeof m, "c %s %s", node[0] ? node : "-", id);
    return hs_pg_feed_send(s, m, err);
}

static const char SQL_STATE[] =
    "SELECT c.destination_id IS NOT NULL, c.state, c.consecutive_failures, c.opened_at, c.next_probe_at, "
    "c.last_transition_at, coalesce(q.pending, 0), CASE WHEN l.expires_at > hs_now_ms() THEN l.owner END "
    "FROM (SELECT $1::text AS id) d LEFT JOIN circuits c ON c.destination_id = d.id LEFT JOIN refs r ON r.id = d.id "
    "LEFT JOIN queues q ON q.destination = r.n LEFT JOIN leases l ON l.destination_id = d.id";

static int dest_state(hs_store *s, const char *destination_id, hs_dest_state *out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, destination_id);
    PGresult *r = hs_pg_exec(c, SQL_STATE, &p, "reading the destination's state", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    out->has_circuit = hs_pg_get_bool(r, 0, 0);
    hs_circuit_row *cr = &out->circuit;
    snprintf(cr->destination_id, sizeof cr->destination_id, "%s", destination_id);
    hs_pg_copy(cr->state, sizeof cr->state, r, 0, 1);
    cr->consecutive_failures = (int)hs_pg_get_int(r, 0, 2);
    cr->opened_at = (uint64_t)hs_pg_get_int(r, 0, 3);
    cr->next_probe_at = (uint64_t)hs_pg_get_int(r, 0, 4);
    cr->last_transition_at = (uint64_t)hs_pg_get_int(r, 0, 5);
    out->pending = (uint64_t)hs_pg_get_int(r, 0, 6);
    hs_pg_copy(out->owner, sizeof out->owner, r, 0, 7);
    PQclear(r);
    return HS_OK;
}

const hs_store_cluster_ops hs__pg_cluster_ops = {
    .open = node_open,
    .close = node_close,
    .beat = node_beat,
    .leave = node_leave,
    .list = node_list,
    .total = lease_total,
    .renew = lease_renew,
    .claim = lease_claim,
    .release = lease_release,
    .marks = queue_marks,
    .listen = feed_listen,
    .live = feed_live,
    .wait = feed_wait,
    .announce = announce,
    .state = dest_state,
};
