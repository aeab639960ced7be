/* src/store/pg/routes.c — the rows routing reads (src/store/routing.c
 * decides from them and caches the decision): a source by id or slug, and
 * its enabled connections with their destination's status and filter
 * rules. Writer thread, inside the group transaction (each read waits for
 * its answer: routing needs the rows; on a cache miss only).
 */
#include "store/pg/pg.h"

static const char SQL_SOURCE_BY_ID[] = "SELECT id, status FROM sources WHERE id = $1";
static const char SQL_SOURCE_BY_SLUG[] = "SELECT id, status FROM sources WHERE slug = $1";
/* enabled connections of a source. filter_rules as JSON text, NULL when
 * absent or JSON null (as SQLite's json_extract gives them); the json type
 * keeps the member's text as written. */
static const char SQL_ROUTES[] = "SELECT c.id, c.destination_id, d.status, "
                                 "NULLIF((c.doc::json -> 'filter_rules')::text, 'null'), "
                                 "rc.n, rd.n "
                                 "FROM connections c "
                                 "JOIN destinations d ON d.id = c.destination_id "
                                 "LEFT JOIN refs rc ON rc.id = c.id "
                                 "LEFT JOIN refs rd ON rd.id = c.destination_id "
                                 "WHERE c.source_id = $1 AND c.enabled = 1 "
                                 "ORDER BY c.id";

int hs__pg_route_source(hs_store *s, const char *ref, bool by_slug, hs_route_source *out, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, ref);
    PGresult *r = hs_pg_exec(w, by_slug ? SQL_SOURCE_BY_SLUG : SQL_SOURCE_BY_ID, &p, "looking up the source", err);
    if (!r) return err->code;
    int ret = HS_OK;
    if (PQntuples(r) > 0) {
        hs_pg_copy(out->id, sizeof out->id, r, 0, 0);
        hs_pg_copy(out->status, sizeof out->status, r, 0, 1);
    } else {
        ret = HS_ERR_NOTFOUND;
    }
    PQclear(r);
    return ret;
}

int hs__pg_route_rows(hs_store *s, const char *source_id, hs_route_row_fn fn, void *ud, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    hs_pg_params p = {0};
    hs_pg_text(&p, source_id);
    PGresult *r = hs_pg_exec(w, SQL_ROUTES, &p, "routing the event", err);
    if (!r) return err->code;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        const char *conn = hs_pg_get_text(r, i, 0), *dst = hs_pg_get_text(r, i, 1);
        hs_route_row row = {.connection_id = conn ? conn : "",
                            .destination_id = dst ? dst : "",
                            .destination_status = hs_pg_get_text(r, i, 2),
                            .filter_rules = hs_pg_get_text(r, i, 3),
                            .connection_key = hs_pg_get_int(r, i, 4),
                            .destination_key = hs_pg_get_int(r, i, 5)};
        fn(&row, ud);
    }
    PQclear(r);
    return HS_OK;
}
