/* src/store/sqlite/routes.c — the rows routing reads (src/store/routing.c
 * decides from them and caches the decision): a source by id or slug, and
 * its enabled connections with their destination's status and filter
 * rules. Writer thread, inside the group transaction.
 */
#include <string.h>

#include "store/sqlite/sqlite.h"

static const char SQL_SOURCE_BY_ID[] = "SELECT id, status FROM sources WHERE id = ?1";
static const char SQL_SOURCE_BY_SLUG[] = "SELECT id, status FROM sources WHERE slug = ?1";
/* enabled connections of a source */
static const char SQL_ROUTES[] = "SELECT c.id, c.destination_id, d.status, json_extract(c.doc, '$.filter_rules'), "
                                 "rc.n, rd.n "
                                 "FROM connections c "
                                 "JOIN destinations d ON d.id = c.destination_id "
                                 "LEFT JOIN refs rc ON rc.id = c.id "
                                 "LEFT JOIN refs rd ON rd.id = c.destination_id "
                                 "WHERE c.source_id = ?1 AND c.enabled = 1 "
                                 "ORDER BY c.id";

int hs__sqlite_route_source(hs_store *s, const char *ref, bool by_slug, hs_route_source *out, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, by_slug ? SQL_SOURCE_BY_SLUG : SQL_SOURCE_BY_ID, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc == SQLITE_ROW) {
        hs_col_copy(out->id, sizeof out->id, st, 0);
        hs_col_copy(out->status, sizeof out->status, st, 1);
    } else if (rc == SQLITE_DONE) {
        ret = HS_ERR_NOTFOUND;
    } else {
        ret = hs_sqlite_fail(err, w->db, rc, "looking up the source");
    }
    hs_stmt_done(w, st);
    return ret;
}

static const char *text_or_null(sqlite3_stmt *st, int col) { return (const char *)sqlite3_column_text(st, col); }

int hs__sqlite_route_rows(hs_store *s, const char *source_id, hs_route_row_fn fn, void *ud, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, SQL_ROUTES, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, source_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *conn = text_or_null(st, 0), *dst = text_or_null(st, 1);
        hs_route_row row = {.connection_id = conn ? conn : "",
                            .destination_id = dst ? dst : "",
                            .destination_status = text_or_null(st, 2),
                            .filter_rules = text_or_null(st, 3),
                            .connection_key = sqlite3_column_int64(st, 4),
                            .destination_key = sqlite3_column_int64(st, 5)};
        fn(&row, ud);
    }
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "routing the event");
}
