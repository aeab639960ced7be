/* src/store/sqlite/arrivals.c — what an event's arrival leaves besides the
 * event: its dedup key, claimed for its window (store.h "ingest"), and
 * its source's count (src/store/arrivals.h); with the reads of the counts.
 *
 * The key is claimed by ingest_insert (events.c) before the event is
 * written, on the writer thread inside the group: SQLite has one writer,
 * so the claim is decided at once and a second event with the same key,
 * later in the same group or in a later one, finds it. Windows are from
 * the event's received_at; the sweep forgets closed ones (retention.c).
 */
#include <string.h>

#include "store/sqlite/sqlite.h"

/* Claims ?2 for source ?1 until ?4, unless an earlier event holds it past
 * now (?5): the event that holds it afterwards. */
static const char SQL_DEDUP_CLAIM[] =
    "INSERT INTO dedup_keys(source_id, key, event_id, expires_at) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(source_id, key) DO UPDATE SET "
    "event_id = CASE WHEN expires_at <= ?5 THEN excluded.event_id ELSE event_id END, "
    "expires_at = CASE WHEN expires_at <= ?5 THEN excluded.expires_at ELSE expires_at END "
    "RETURNING event_id";

/* ing's key, claimed for its window from its arrival: a key held by an
 * earlier event whose window is open makes ing its duplicate. */
int hs_dedup_claim(hs_sqlite_db *w, hs_ingest *ing, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, SQL_DEDUP_CLAIM, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, ing->source_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ing->dedup_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ing->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)(ing->received_at + ing->dedup_window_ms));
    sqlite3_bind_int64(st, 5, (int64_t)ing->received_at);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc == SQLITE_ROW) {
        const char *holder = (const char *)sqlite3_column_text(st, 0);
        if (holder && strcmp(holder, ing->event_id) != 0) hs__ingest_duplicate(ing, holder);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "checking the event for a duplicate");
    hs_stmt_done(w, st);
    return ret;
}

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
