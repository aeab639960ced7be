/* src/store/pg/retention.c — forgetting settled events (hs_store_sweep).
 *
 * Which events go and in what order is src/store/retention.c's; here are
 * the statements. Events are found by their id: ids begin with the creation
 * time (base/id.h), so "received before T" is a range of
 * events_status(status, id) per settled status, oldest first, read through
 * the index without a scan (ids compare byte for byte: COLLATE "C"). An
 * event goes with its attempts (found through its deliveries' public ids,
 * hs_delivery_id) and its deliveries, in the writer's group under the op's
 * savepoint. Writer thread.
 *
 * Space: PostgreSQL has no incremental vacuum to call; the dead rows a step
 * leaves are reclaimed by autovacuum (for reuse by the tables, not handed
 * back to the file system), so pages_freed stays 0.
 */
#include "store/pg/pg.h"
#include "store/retention.h"

static const char SQL_OLD_SETTLED[] = "SELECT id FROM events WHERE status = $1 AND id < $2 ORDER BY id LIMIT $3";
/* by hs__sweep_rows */
static const char *const SQL_DELETE[HS_SWEEP_ROWS_COUNT] = {
    [HS_SWEEP_ATTEMPTS] = "DELETE FROM delivery_attempts WHERE delivery_id IN "
                          "(SELECT hs_delivery_id(created_at, seq) FROM deliveries WHERE event_id = $1)",
    [HS_SWEEP_DELIVERIES] = "DELETE FROM deliveries WHERE event_id = $1",
    [HS_SWEEP_EVENT] = "DELETE FROM events WHERE id = $1",
};

/* Run the DELETE of `what` with $1 = id; *changed grows by the rows it
 * changed. */
static int delete_rows(void *ctx, hs__sweep_rows what, const char *id, size_t *changed, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    int64_t rows = 0;
    int rc = hs_pg_run(ctx, SQL_DELETE[what], &p, "deleting old events", &rows, err);
    if (rc != HS_OK) return rc;
    *changed += (size_t)rows;
    return HS_OK;
}

/* Up to limit ids of events in status older than the cutoff, oldest first. */
static int old_events(void *ctx, const char *status, const char *cutoff, size_t limit, char (*ids)[HS_ID_MAX],
                      size_t *n, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, status);
    hs_pg_text(&p, cutoff);
    hs_pg_int(&p, (int64_t)limit);
    PGresult *r = hs_pg_exec(ctx, SQL_OLD_SETTLED, &p, "finding old events", err);
    if (!r) return err->code;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && *n < limit; i++) hs_pg_copy(ids[(*n)++], HS_ID_MAX, r, i, 0);
    PQclear(r);
    return HS_OK;
}

/* by the database's clock, as the keys' windows were set (events.c) */
static int forget_keys(void *ctx, size_t limit, size_t *changed, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)limit);
    int64_t rows = 0;
    int rc = hs_pg_run(ctx,
                       "DELETE FROM dedup_keys WHERE (source_id, key) IN (SELECT source_id, key FROM dedup_keys "
                       "WHERE expires_at <= hs_now_ms() LIMIT $1)",
                       &p, "forgetting closed dedup keys", &rows, err);
    if (rc != HS_OK) return rc;
    *changed += (size_t)rows;
    return HS_OK;
}

/* One statement: the jobs it deletes are the ones whose items go (another
 * node may sweep at the same time) */
static const char SQL_FORGET_REPLAYS[] =
    "WITH j AS (DELETE FROM replay_jobs WHERE id IN (SELECT id FROM replay_jobs WHERE status <> 'running' AND "
    "completed_at > 0 AND completed_at < $1 ORDER BY completed_at, id LIMIT $2) RETURNING id), "
    "i AS (DELETE FROM replay_items WHERE job IN (SELECT id FROM j)) SELECT count(*) FROM j";

static int forget_replays(void *ctx, uint64_t before_ms, size_t limit, size_t *changed, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)before_ms);
    hs_pg_int(&p, (int64_t)limit);
    PGresult *r = hs_pg_exec(ctx, SQL_FORGET_REPLAYS, &p, "deleting old replay jobs", err);
    if (!r) return err->code;
    *changed += (size_t)hs_pg_get_int(r, 0, 0);
    PQclear(r);
    return HS_OK;
}

static const hs__sweep_ops sweep_ops = {
    .old_events = old_events, .delete_rows = delete_rows, .forget_keys = forget_keys, .forget_replays = forget_replays};

int hs__pg_sweep(hs_store *s, hs_sweep *sw, hs_error *err) {
    /* no pages to give back: autovacuum reclaims the space (see above) */
    return hs__sweep_events(sw, &sweep_ops, hs__pg_writer(s), err);
}
