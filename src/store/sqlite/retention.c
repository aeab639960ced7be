/* src/store/sqlite/retention.c — forgetting settled events (hs_store_sweep)
 * and giving the space back.
 *
 * Events are found by their id: ids begin with the creation time (base/id.h),
 * so "received before T" is a range of events_status(status, id) per
 * settled status, oldest first, read through the index without a scan. An
 * event goes with its attempts (found through its deliveries) and its
 * deliveries, in the writer's group under the op's savepoint. The file was
 * made with auto_vacuum = INCREMENTAL (sqlite.c), so the pages a step frees
 * are handed back to the file system at the end of the step (a bounded
 * incremental_vacuum), not kept in the free list.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "store/sqlite/sqlite.h"

#define SWEEP_EVENTS 512        /* events looked at per status and step */
#define SWEEP_VACUUM_PAGES 2048 /* pages given back per step at most (8 MiB) */
#define HS_STR_(x) #x
#define HS_STR(x) HS_STR_(x)

static const char SQL_OLD_SETTLED[] = "SELECT id FROM events WHERE status = ?1 AND id < ?2 ORDER BY id LIMIT ?3";
static const char SQL_DEL_ATTEMPTS[] =
    "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?1)";
static const char SQL_DEL_DELIVERIES[] = "DELETE FROM deliveries WHERE event_id = ?1";
static const char SQL_DEL_EVENT[] = "DELETE FROM events WHERE id = ?1";

/* Run sql with ?1 = id; *changed: rows it changed. */
static int delete_by(hs_sqlite_db *w, const char *sql, const char *id, size_t *changed, hs_error *err) {
    sqlite3_stmt *st = hs_stmt(w, sql, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "deleting old events");
    *changed += (size_t)sqlite3_changes(w->db);
    return HS_OK;
}

/* Up to cap ids of settled events older than the cutoff, oldest first. */
static int old_events(hs_sqlite_db *w, const char *cutoff, char (*ids)[HS_ID_MAX], size_t cap, size_t *n, bool *more,
                      hs_error *err) {
    static const char *const settled[] = {"received", "delivered", "cancelled"};
    *n = 0;
    *more = false;
    for (size_t k = 0; k < sizeof settled / sizeof settled[0] && *n < cap; k++) {
        sqlite3_stmt *st = hs_stmt(w, SQL_OLD_SETTLED, err);
        if (!st) return err->code;
        sqlite3_bind_text(st, 1, settled[k], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cutoff, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)(cap - *n + 1));
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                *more = true;
                continue;
            }
            hs_col_copy(ids[(*n)++], HS_ID_MAX, st, 0);
        }
        hs_stmt_done(w, st);
        if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "finding old events");
        if (*n == cap && k + 1 < sizeof settled / sizeof settled[0]) *more = true;
    }
    return HS_OK;
}

/* Hand free pages back to the file system, at most max. */
static int give_back(hs_sqlite_db *w, size_t max, size_t *freed, hs_error *err) {
    int64_t free_pages = 0;
    int rc = hs_sqlite_read_int(w->db, "PRAGMA freelist_count", &free_pages);
    if (rc != SQLITE_OK) return hs_sqlite_fail(err, w->db, rc, "reading the free list");
    if (free_pages <= 0) return HS_OK;
    sqlite3_stmt *st = hs_stmt(w, "PRAGMA incremental_vacuum(" HS_STR(SWEEP_VACUUM_PAGES) ")", err);
    if (!st) return err->code;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "giving free pages back");
    *freed = (size_t)free_pages < max ? (size_t)free_pages : max;
    return HS_OK;
}

int hs__sqlite_sweep(hs_store *s, hs_sweep *sw, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    /* ids below "evt_<before_ms>00..0" were made before before_ms */
    char cutoff[HS_ID_MAX];
    snprintf(cutoff, sizeof cutoff, "evt_%012llx%020d", (unsigned long long)(sw->before_ms & 0xffffffffffffULL), 0);
    char(*ids)[HS_ID_MAX] = hs_malloc(SWEEP_EVENTS * sizeof *ids);
    size_t n = 0;
    bool more = false;
    int rc = old_events(w, cutoff, ids, SWEEP_EVENTS, &n, &more, err);
    size_t i = 0, rows = 0;
    for (; rc == HS_OK && i < n && (i == 0 || rows < sw->max_rows); i++) {
        rc = delete_by(w, SQL_DEL_ATTEMPTS, ids[i], &sw->attempts, err);
        if (rc == HS_OK) rc = delete_by(w, SQL_DEL_DELIVERIES, ids[i], &sw->deliveries, err);
        if (rc == HS_OK) rc = delete_by(w, SQL_DEL_EVENT, ids[i], &sw->events, err);
        rows = sw->attempts + sw->deliveries + sw->events;
    }
    hs_free(ids);
    sw->more = rc == HS_OK && (more || i < n);
    if (rc == HS_OK && sw->events) rc = give_back(w, SWEEP_VACUUM_PAGES, &sw->pages_freed, err);
    return rc;
}
