/* src/store/pg/retention.c — forgetting settled events (hs_store_sweep).
 *
 * Events are found by their id: ids begin with the creation time (base/id.h),
 * so "received before T" is a range of events_status(status, id) per
 * settled status, oldest first, read through the index without a scan (ids
 * compare byte for byte: COLLATE "C"). An event goes with its attempts
 * (found through its deliveries' public ids, hs_delivery_id) and its
 * deliveries, in the writer's group under the op's savepoint. Writer
 * thread.
 *
 * Space: PostgreSQL has no incremental vacuum to call; the dead rows a step
 * leaves are reclaimed by autovacuum (for reuse by the tables, not handed
 * back to the file system), so pages_freed stays 0.
 */
#include <stdio.h>

#include "base/alloc.h"
#include "base/id.h"
#include "store/pg/pg.h"

#define SWEEP_EVENTS 512 /* events looked at per status and step */

static const char SQL_OLD_SETTLED[] = "SELECT id FROM events WHERE status = $1 AND id < $2 ORDER BY id LIMIT $3";
static const char SQL_DEL_ATTEMPTS[] = "DELETE FROM delivery_attempts WHERE delivery_id IN "
                                       "(SELECT hs_delivery_id(created_at, seq) FROM deliveries WHERE event_id = $1)";
static const char SQL_DEL_DELIVERIES[] = "DELETE FROM deliveries WHERE event_id = $1";
static const char SQL_DEL_EVENT[] = "DELETE FROM events WHERE id = $1";

/* Run sql with $1 = id; *changed grows by the rows it changed. */
static int delete_by(hs_pg_conn *w, const char *sql, const char *id, size_t *changed, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    int64_t rows = 0;
    int rc = hs_pg_run(w, sql, &p, "deleting old events", &rows, err);
    if (rc != HS_OK) return rc;
    *changed += (size_t)rows;
    return HS_OK;
}

/* Up to cap ids of settled events older than the cutoff, oldest first. */
static int old_events(hs_pg_conn *w, const char *cutoff, char (*ids)[HS_ID_MAX], size_t cap, size_t *n, bool *more,
                      hs_error *err) {
    static const char *const settled[] = {"received", "delivered", "cancelled"};
    *n = 0;
    *more = false;
    for (size_t k = 0; k < sizeof settled / sizeof settled[0] && *n < cap; k++) {
        hs_pg_params p = {0};
        hs_pg_text(&p, settled[k]);
        hs_pg_text(&p, cutoff);
        hs_pg_int(&p, (int64_t)(cap - *n + 1));
        PGresult *r = hs_pg_exec(w, SQL_OLD_SETTLED, &p, "finding old events", err);
        if (!r) return err->code;
        int rows = PQntuples(r);
        for (int i = 0; i < rows; i++) {
            if (*n == cap) {
                *more = true;
                continue;
            }
            hs_pg_copy(ids[(*n)++], HS_ID_MAX, r, i, 0);
        }
        PQclear(r);
        if (*n == cap && k + 1 < sizeof settled / sizeof settled[0]) *more = true;
    }
    return HS_OK;
}

int hs__pg_sweep(hs_store *s, hs_sweep *sw, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
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
    /* no pages to give back: autovacuum reclaims the space (see above) */
    return rc;
}
