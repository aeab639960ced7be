/* src/store/sqlite/arrivals.c — the sources' event counts
 * (src/store/arrivals.h): written once per source per group, and read.
 * (An arrival's dedup key: dedup.c.)
 */
#include "store/sqlite/sqlite.h"

/* ---- what sources received (src/store/arrivals.h) ---- */

static const char SQL_SOURCE_COUNT_ADD[] =
    "INSERT INTO source_counts(source_id, events, last_event_at) VALUES(?1, ?2, ?3) ON CONFLICT(source_id) DO "
    "UPDATE SET events = events + excluded.events, last_event_at = max(last_event_at, excluded.last_event_at)";

int hs_arrivals_flush(hs_store *s, hs_error *err) {
    hs__arrivals *a = &s->arrivals;
    if (!a->n) return HS_OK;
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, SQL_SOURCE_COUNT_ADD, err);
    int ret = st ? HS_OK : err->code;
    for (size_t i = 0; st && ret == HS_OK && i < a->n; i++) {
        sqlite3_bind_text(st, 1, a->v[i]->source_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)a->v[i]->events);
        sqlite3_bind_int64(st, 3, (int64_t)a->v[i]->last_at);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "counting the sources' events");
    }
    hs_stmt_done(w, st);
    hs__arrivals_clear(a);
    return ret;
}

int hs__sqlite_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, "SELECT events, last_event_at FROM source_counts WHERE source_id = ?1", err);
    int ret = st ? HS_OK : err->code;
    for (size_t i = 0; st && ret == HS_OK && i < n; i++) {
        sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            out[i].events = (uint64_t)sqlite3_column_int64(st, 0);
            out[i].last_event_at = (uint64_t)sqlite3_column_int64(st, 1);
        } else if (rc != SQLITE_DONE) {
            ret = hs_sqlite_fail(err, c->db, rc, "reading the sources' counts");
        }
        sqlite3_reset(st);
    }
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}
