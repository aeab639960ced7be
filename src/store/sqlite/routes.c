/* src/store/sqlite/routes.c — the writer's cache of where a source's events go.
 *
 * Every ingest needs its source (by id or slug, with its status) and the
 * enabled connections to destinations that may receive. Looking those up is
 * two queries per event; the answer changes only when a source, destination
 * or connection is written, and every such write runs on the writer thread
 * too. So the writer keeps the answers here and drops them all whenever a
 * non-ingest op runs or a group rolls back (src/store/sqlite/sqlite.c). No locking: only
 * the writer thread touches this.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/idmap.h"
#include "store/store_int.h"

#define ROUTES_MAX 512 /* sources cached at most; past it the cache starts over */

static const char SQL_SOURCE_BY_ID[] = "SELECT id, status FROM sources WHERE id = ?1";
static const char SQL_SOURCE_BY_SLUG[] = "SELECT id, status FROM sources WHERE slug = ?1";
/* enabled connections of a source whose destination may receive */
static const char SQL_ROUTES[] = "SELECT c.id, c.destination_id, json_extract(c.doc, '$.filter_rules') "
                                 "FROM connections c "
                                 "JOIN destinations d ON d.id = c.destination_id "
                                 "WHERE c.source_id = ?1 AND c.enabled = 1 AND d.status <> 'disabled' "
                                 "ORDER BY c.id";

static void set_free(hs_route_set *set) {
    for (size_t i = 0; i < set->n; i++) hs_filter_free(set->r[i].filter);
    hs_free(set->ref);
    hs_free(set);
}

static void set_free_each(void *value, void *ud) {
    (void)ud;
    set_free(value);
}

void hs_routes_clear(hs_store *s) {
    hs_idmap_each(&s->routes, set_free_each, NULL);
    hs_idmap_free(&s->routes);
}

/* The filter of a route; false when stored rules no longer compile (they
 * were checked when saved: a bug or a hand-edited database), in which case
 * the route is left out: never deliver what a filter was meant to hold. */
static bool route_filter(sqlite3_stmt *st, int col, hs_route *r) {
    r->filter = NULL;
    const char *text = (const char *)sqlite3_column_text(st, col);
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

/* Reads the source and its routes from the database. */
static int load(hs_conn *w, const char *ref, hs_route_set **out, hs_error *err) {
    const char *sql = hs_id_valid("src_", ref) ? SQL_SOURCE_BY_ID : SQL_SOURCE_BY_SLUG;
    sqlite3_stmt *st = hs_stmt(w, sql, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hs_stmt_done(w, st);
        if (rc == SQLITE_DONE) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "source %s not found", ref);
        return hs_sqlite_fail(err, w->db, rc, "looking up the source");
    }
    size_t cap = 4;
    hs_route_set *set = hs_calloc(1, sizeof *set + cap * sizeof(hs_route));
    hs_col_copy(set->source_id, sizeof set->source_id, st, 0);
    hs_col_copy(set->status, sizeof set->status, st, 1);
    hs_stmt_done(w, st);

    st = hs_stmt(w, SQL_ROUTES, err);
    if (!st) {
        hs_free(set);
        return err->code;
    }
    sqlite3_bind_text(st, 1, set->source_id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (set->n == cap) {
            cap *= 2;
            set = hs_realloc(set, sizeof *set + cap * sizeof(hs_route));
        }
        hs_route *r = &set->r[set->n];
        hs_col_copy(r->connection_id, HS_ID_MAX, st, 0);
        hs_col_copy(r->destination_id, HS_ID_MAX, st, 1);
        if (!route_filter(st, 2, r)) continue;
        set->uses_payload |= hs_filter_uses_payload(r->filter);
        set->uses_headers |= hs_filter_uses_headers(r->filter);
        set->n++;
    }
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) {
        set_free(set);
        return hs_sqlite_fail(err, w->db, rc, "routing the event");
    }
    set->ref = hs_strdup(ref);
    *out = set;
    return HS_OK;
}

int hs_routes_get(hs_store *s, const char *ref, const hs_route_set **out, hs_error *err) {
    hs_route_set *set = hs_idmap_get(&s->routes, ref);
    if (!set) {
        int rc = load(&s->writer, ref, &set, err);
        if (rc != HS_OK) return rc; /* unknown sources are not cached: a probe cannot fill the cache */
        if (s->routes.n >= ROUTES_MAX) hs_routes_clear(s);
        hs_idmap_put(&s->routes, set->ref, set);
    }
    *out = set;
    return HS_OK;
}
