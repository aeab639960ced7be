/* src/store/sqlite/retention.c — forgetting settled events (hs_store_sweep)
 * and giving the space back.
 *
 * Which events go and in what order is src/store/retention.c's; here are
 * the statements. Events are found by their id: ids begin with the creation
 * time (base/id.h), so "received before T" is a range of
 * events_status(status, id) per settled status, oldest first, read through
 * the index without a scan. An event goes with its attempts (found through
 * its deliveries) and its deliveries, in the writer's group under the op's
 * savepoint. The file was made with auto_vacuum = INCREMENTAL (sqlite.c),
 * so the pages a step frees are handed back to the file system at the end
 * of the step (a bounded incremental_vacuum), not kept in the free list.
 */
#include "base/timeutil.h"
#include "store/retention.h"
#include "store/sqlite/sqlite.h"

#define SWEEP_VACUUM_PAGES 2048 /* pages given back per step at most (8 MiB) */
#define HS_STR_(x) #x
#define HS_STR(x) HS_STR_(x)

static const char SQL_OLD_SETTLED[] = "SELECT id FROM events WHERE status = ?1 AND id < ?2 ORDER BY id LIMIT ?3";
/* by hs__sweep_rows */
static const char *const SQL_DELETE[HS_SWEEP_ROWS_COUNT] = {
    [HS_SWEEP_ATTEMPTS] =
        "DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?1)",
    [HS_SWEEP_DELIVERIES] = "DELETE FROM deliveries WHERE event_id = ?1",
    [HS_SWEEP_EVENT] = "DELETE FROM events WHERE id = ?1",
};

/* Run the DELETE of `what` with ?1 = id; *changed: rows it changed. */
static int delete_rows(void *ctx, hs__sweep_rows what, const char *id, size_t *changed, hs_error *err) {
    hs_sqlite_db *w = ctx;
    sqlite3_stmt *st = hs_stmt(w, SQL_DELETE[what], err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "deleting old events");
    *changed += (size_t)sqlite3_changes(w->db);
    return HS_OK;
}

/* Up to limit ids of events in status older than the cutoff, oldest first. */
static int old_events(void *ctx, const char *status, const char *cutoff, size_t limit, char (*ids)[HS_ID_MAX],
                      size_t *n, hs_error *err) {
    hs_sqlite_db *w = ctx;
    sqlite3_stmt *st = hs_stmt(w, SQL_OLD_SETTLED, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cutoff, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (*n < limit) hs_col_copy(ids[(*n)++], HS_ID_MAX, st, 0);
    hs_stmt_done(w, st);
    return rc == SQLITE_DONE ? HS_OK : hs_sqlite_fail(err, w->db, rc, "finding old events");
}

static int forget_keys(void *ctx, size_t limit, size_t *changed, hs_error *err) {
    hs_sqlite_db *w = ctx;
    /* the log's first limit rows (it has no index: a bounded look), those
     * of them whose window closed; a row of a longer window holds its
     * place, and what follows it is looked at once it has gone */
    sqlite3_stmt *st = hs_stmt(w,
                               "DELETE FROM dedup_keys WHERE rowid IN (SELECT rowid FROM (SELECT rowid, expires_at "
                               "FROM dedup_keys ORDER BY rowid LIMIT ?2) WHERE expires_at <= ?1)",
                               err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, (int64_t)hs_now_ms());
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    int rc = sqlite3_step(st);
    hs_stmt_done(w, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "forgetting closed dedup keys");
    *changed += (size_t)sqlite3_changes(w->db);
    return HS_OK;
}

/* the same jobs for both statements: the writer is the only one writing */
#define ENDED_JOBS                                                                                                     \
    "(SELECT id FROM replay_jobs WHERE status <> 'running' AND completed_at > 0 AND completed_at < ?1 ORDER BY "       \
    "completed_at, id LIMIT ?2)"
static const char *const SQL_FORGET_REPLAYS[2] = {
    "DELETE FROM replay_items WHERE job IN " ENDED_JOBS,
    "DELETE FROM replay_jobs WHERE id IN " ENDED_JOBS,
};

static int forget_replays(void *ctx, uint64_t before_ms, size_t limit, size_t *changed, hs_error *err) {
    hs_sqlite_db *w = ctx;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st = hs_stmt(w, SQL_FORGET_REPLAYS[k], err);
        if (!st) return err->code;
        sqlite3_bind_int64(st, 1, (int64_t)before_ms);
        sqlite3_bind_int64(st, 2, (int64_t)limit);
        int rc = sqlite3_step(st);
        hs_stmt_done(w, st);
        if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "deleting old replay jobs");
        if (k == 1) *changed += (size_t)sqlite3_changes(w->db);
    }
    return HS_OK;
}

static const hs__sweep_ops sweep_ops = {
    .old_events = old_events, .delete_rows = delete_rows, .forget_keys = forget_keys, .forget_replays = forget_replays};

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
    int rc = hs__sweep_events(sw, &sweep_ops, w, err);
    if (rc == HS_OK && sw->events) rc = give_back(w, SWEEP_VACUUM_PAGES, &sw->pages_freed, err);
    return rc;
}
