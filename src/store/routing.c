/* src/store/routing.c — ingest: where an event goes, decided above the
 * backends, and the writer's cache of those decisions.
 *
 * Every ingest needs its source (by id or slug, with its status) and the
 * connections that may receive its events: enabled, to a destination that
 * is not disabled, and whose filter_rules (src/rules/filter.h) match the
 * event. The backend reads plain rows (hs_store_backend.route_source and
 * route_rows); everything decided from them is here, so every backend
 * routes alike. Reading them is two queries per event and compiling the
 * filters costs more; the answer changes only when a source, destination
 * or connection is written, and every such write runs on the writer thread
 * too. So the writer keeps each source's route set here and drops them all
 * whenever an op with a savepoint runs or a group fails
 * (src/store/writer.c). No locking: only the writer thread touches this.
 *
 * Why here and not in src/core/: the fan-out must be decided inside the
 * ingest's transaction (an acknowledged event always has its deliveries)
 * and the cache lives and dies with the writer's groups, which only the
 * store sees; the filter engine is in src/rules/, a layer below the store,
 * so nothing has to be handed down.
 *
 * The hot path, a cached source: no allocation but the delivery list, and
 * no JSON parsed unless a filter looks into the payload or the headers.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/json_parse.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "rules/filter.h"
#include "store/routing.h"
#include "store/writer.h"

#define ROUTES_MAX 512 /* sources cached at most; past it the cache starts over */

typedef struct hs_route {
    char connection_id[HS_ID_MAX];
    char destination_id[HS_ID_MAX];
    int64_t connection_key, destination_key; /* the backend's */
    hs_filter *filter;                       /* NULL: every event */
} hs_route;

typedef struct hs_route_set {
    char *ref; /* what the ingest URL named: id or slug */
    hs_route_source source;
    bool uses_payload, uses_headers; /* some route's filter looks there */
    size_t n, cap;
    hs_route r[];
} hs_route_set;

static void set_free(hs_route_set *set) {
    for (size_t i = 0; i < set->n; i++) hs_filter_free(set->r[i].filter);
    hs_free(set->ref);
    hs_free(set);
}

static void set_free_each(void *value, void *ud) {
    (void)ud;
    set_free(value);
}

void hs__routes_clear(hs_store *s) {
    hs_idmap_each(&s->routes, set_free_each, NULL);
    hs_idmap_free(&s->routes);
}

/* The filter of a route; false when stored rules no longer compile (they
 * were checked when saved: a bug or a hand-edited database), in which case
 * the route is left out: never deliver what a filter was meant to hold. */
static bool route_filter(const char *text, hs_route *r) {
    r->filter = NULL;
    if (!text) return true;
    json_t *rules = json_loads(text, 0, NULL);
    hs_error err;
    hs_error_clear(&err);
    int rc = rules ? hs_filter_compile(rules, "filter_rules", &r->filter, &err) : HS_ERR_INVALID;
    json_decref(rules);
    if (rc != HS_OK)
        hs_warn("store: connection %s: unusable filter_rules (%s); not routing to it", r->connection_id, err.msg);
    return rc == HS_OK;
}

/* hs_route_row_fn: one connection of the source becomes a route. */
static void add_route(const hs_route_row *row, void *ud) {
    hs_route_set **setp = ud, *set = *setp;
    if (row->destination_status && strcmp(row->destination_status, "disabled") == 0) return; /* may not receive */
    if (set->n == set->cap) {
        set->cap *= 2;
        set = *setp = hs_realloc(set, sizeof *set + set->cap * sizeof(hs_route));
    }
    hs_route *r = &set->r[set->n];
    snprintf(r->connection_id, sizeof r->connection_id, "%s", row->connection_id);
    snprintf(r->destination_id, sizeof r->destination_id, "%s", row->destination_id);
    r->connection_key = row->connection_key;
    r->destination_key = row->destination_key;
    if (!route_filter(row->filter_rules, r)) return;
    set->uses_payload |= hs_filter_uses_payload(r->filter);
    set->uses_headers |= hs_filter_uses_headers(r->filter);
    set->n++;
}

/* Reads the source and its routes through the backend. */
static int load(hs_store *s, const char *ref, hs_route_set **out, hs_error *err) {
    hs_route_source src;
    int rc = s->be->route_source(s, ref, !hs_id_valid("src_", ref), &src, err);
    if (rc == HS_ERR_NOTFOUND) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "source %s not found", ref);
    if (rc != HS_OK) return rc;
    size_t cap = 4;
    hs_route_set *set = hs_calloc(1, sizeof *set + cap * sizeof(hs_route));
    set->cap = cap;
    set->source = src;
    rc = s->be->route_rows(s, src.id, add_route, &set, err);
    if (rc != HS_OK) {
        set_free(set);
        return rc;
    }
    set->ref = hs_strdup(ref);
    *out = set;
    return HS_OK;
}

/* The source named by ref (id or slug) and its routes, from the cache or
 * the backend. Valid until the next hs__routes_clear. */
static int routes_get(hs_store *s, const char *ref, const hs_route_set **out, hs_error *err) {
    hs_route_set *set = hs_idmap_get(&s->routes, ref);
    if (!set) {
        int rc = load(s, ref, &set, err);
        if (rc != HS_OK) return rc; /* unknown sources are not cached: a probe cannot fill the cache */
        if (s->routes.n >= ROUTES_MAX) hs__routes_clear(s);
        hs_idmap_put(&s->routes, set->ref, set);
    }
    *out = set;
    return HS_OK;
}

/* ---- ingest (writer thread) ---- */

static void ingest_undo(hs_wop *op) {
    hs_ingest *ing = op->ing;
    hs_free(ing->deliveries);
    ing->deliveries = NULL;
    ing->ndeliveries = 0;
    ing->event_id[0] = '\0';
    ing->source_id[0] = '\0';
    ing->event_status[0] = '\0';
    ing->duplicate = false;
    ing->duplicate_of[0] = '\0';
}

/* The deliveries of an event of a source that routes (not paused). */
static void fan_out(const hs_route_set *set, hs_ingest *ing) {
    hs_filter_input in = {.method = ing->method, .content_type = ing->content_type, .source_ip = ing->source_ip};
    /* parsed once per event, and only when a filter looks there */
    json_t *payload = set->uses_payload && ing->body ? hs_json_parse(ing->body, ing->body_len, NULL) : NULL;
    json_t *headers = set->uses_headers && ing->headers_json ? json_loads(ing->headers_json, 0, NULL) : NULL;
    in.payload = payload;
    in.headers = headers;
    /* zeroed: what the backend fills as it stores them (id, seq, and
     * prev_seq where it knows it) starts empty */
    ing->deliveries = hs_calloc(set->n, sizeof *ing->deliveries);
    for (size_t i = 0; i < set->n; i++) {
        if (!hs_filter_match(set->r[i].filter, &in)) continue;
        hs_delivery_ref *d = &ing->deliveries[ing->ndeliveries++];
        memcpy(d->connection_id, set->r[i].connection_id, HS_ID_MAX);
        memcpy(d->destination_id, set->r[i].destination_id, HS_ID_MAX);
        d->connection_key = set->r[i].connection_key;
        d->destination_key = set->r[i].destination_key;
    }
    json_decref(payload);
    json_decref(headers);
}

/* Runs without a savepoint of its own (src/store/writer.c): everything that
 * can fail for a reason other than the database comes before the first
 * write, and a failure after a write marks the op, which fails the group. */
static int ingest_exec(hs_store *s, hs_wop *op) {
    hs_ingest *ing = op->ing;
    hs_error *err = &op->err;
    ingest_undo(op); /* outputs start empty */
    const hs_route_set *set;
    int rc = routes_get(s, ing->source_ref, &set, err);
    if (rc != HS_OK) return rc;
    if (strcmp(set->source.status, "disabled") == 0)
        return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "source %s not found", ing->source_ref);
    if (ing->unchecked)
        return hs_error_set(err, HS_ERR_BUSY, NULL,
                            "source %s is new to this node, which has not loaded its settings yet; retry shortly",
                            ing->source_ref);
    snprintf(ing->source_id, sizeof ing->source_id, "%s", set->source.id);
    /* a paused source keeps its events but routes none of them */
    if (strcmp(set->source.status, "paused") != 0 && set->n > 0) fan_out(set, ing);
    if (ing->received_at == 0) ing->received_at = hs_now_ms();
    hs_id_new("evt_", ing->event_id);
    snprintf(ing->event_status, sizeof ing->event_status, "%s", ing->ndeliveries ? "processing" : "received");
    rc = s->be->ingest_insert(s, ing, &op->wrote, err);
    if (rc != HS_OK) {
        ingest_undo(op);
        return rc;
    }
    hs__arrivals_add(&s->arrivals, ing->source_id, ing->received_at);
    return HS_OK;
}

static void ingest_complete(hs_wop *op) {
    hs_ingest *ing = op->ing;
    ing->err = op->err;
    ing->cb(ing, op->status);
}

int hs_store_ingest(hs_store *s, hs_ingest *ing) {
    hs_error_clear(&ing->err);
    if (!ing->cb || !ing->priv_ || !ing->source_ref || (!ing->body && ing->body_len))
        return hs_error_set(&ing->err, HS_ERR_INTERNAL, NULL,
                            "hs_store_ingest needs a callback, a source and hs_ingest_new");
    /* text the backends store as text: a database that checks its encoding
     * (PostgreSQL) would fail the whole group over one bad value */
    const char *texts[] = {ing->source_ref, ing->method,       ing->path,        ing->query,
                           ing->source_ip,  ing->headers_json, ing->content_type};
    static const char *const names[] = {"source",         "method",  "path",        "query",
                                        "source address", "headers", "content type"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] && !hs_utf8_valid(texts[i], strlen(texts[i])))
            return hs_error_set(&ing->err, HS_ERR_INVALID, NULL, "the request's %s is not valid UTF-8", names[i]);
    const char *vs = ing->verification_status;
    if (vs && strcmp(vs, "verified") != 0 && strcmp(vs, "unverified") != 0 && strcmp(vs, "schema_invalid") != 0)
        return hs_error_set(&ing->err, HS_ERR_INTERNAL, NULL, "an ingest's verification_status is %s", vs);
    size_t keylen = strnlen(ing->dedup_key, sizeof ing->dedup_key);
    if (keylen && (keylen != sizeof ing->dedup_key - 1 || strspn(ing->dedup_key, "0123456789abcdef") != keylen))
        return hs_error_set(&ing->err, HS_ERR_INTERNAL, NULL, "an ingest's dedup_key is not a SHA-256 in hex");
    hs_wop *op = ing->priv_;
    memset(op, 0, sizeof *op);
    op->exec = ingest_exec;
    op->undo = ingest_undo;
    op->ing = ing;
    op->no_savepoint = true;
    op->complete = ingest_complete;
    return hs__writer_submit_async(s, op, &ing->err);
}
