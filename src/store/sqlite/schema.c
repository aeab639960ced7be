/* src/store/sqlite/schema.c — the SQLite schema, versioned in code.
 *
 * PRAGMA user_version holds the number of steps applied. Steps are
 * append-only: a released step is never edited, a change is a new step. Each
 * step runs in its own transaction together with the user_version bump, so a
 * crash leaves the database at one version or the next, never in between.
 * PRAGMA application_id marks the file as ours, so hookstream neither adopts
 * another program's database nor lets an older build write to a newer schema.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "store/sqlite/sqlite.h"

#define HS_APPLICATION_ID 0x686b7374 /* "hkst" */

static const char *const steps[] = {
    /* 1: initial schema. Resources keep their JSON doc plus the columns that
     * are looked up or filtered on. No foreign keys from events or
     * deliveries to resources: history outlives the resources it names.
     * None from deliveries to events either: the check would cost a lookup
     * per delivery on the ingest path, and both rows are written together
     * (retention deletes deliveries with their event). Deliveries are small
     * rows always found by id: WITHOUT ROWID saves the extra id index. */
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE sources ("
    "  id TEXT PRIMARY KEY,"
    "  slug TEXT UNIQUE,"
    "  status TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE destinations ("
    "  id TEXT PRIMARY KEY,"
    "  slug TEXT UNIQUE,"
    "  status TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE connections ("
    "  id TEXT PRIMARY KEY,"
    "  source_id TEXT NOT NULL REFERENCES sources(id),"
    "  destination_id TEXT NOT NULL REFERENCES destinations(id),"
    "  enabled INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX connections_source ON connections(source_id, enabled);"
    "CREATE INDEX connections_destination ON connections(destination_id);"
    "CREATE TABLE events ("
    "  id TEXT PRIMARY KEY,"
    "  source_id TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  query TEXT NOT NULL,"
    "  headers TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  source_ip TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL);"
    "CREATE INDEX events_source ON events(source_id, id);"
    "CREATE INDEX events_status ON events(status, id);"
    "CREATE TABLE deliveries ("
    "  id TEXT PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  destination_id TEXT NOT NULL,"
    "  connection_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX deliveries_event ON deliveries(event_id);"
    "CREATE INDEX deliveries_destination ON deliveries(destination_id, status, next_attempt_at);",

    /* 2: the DeliveryScheduler's records. One row per attempt (bodies up to
     * 4 KiB: a rowid table); the DLQ is the attempts with is_dlq = 1, kept in
     * a partial index. Circuit breaker state per destination. */
    "CREATE TABLE delivery_attempts ("
    "  id TEXT PRIMARY KEY,"
    "  delivery_id TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  destination_id TEXT NOT NULL,"
    "  connection_id TEXT NOT NULL,"
    "  attempt_number INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  request_url TEXT NOT NULL,"
    "  request_method TEXT NOT NULL,"
    "  request_headers TEXT NOT NULL,"
    "  response_status INTEGER,"
    "  response_headers TEXT,"
    "  response_body BLOB,"
    "  duration_ms INTEGER NOT NULL,"
    "  error TEXT,"
    "  next_retry_at INTEGER,"
    "  is_dlq INTEGER NOT NULL DEFAULT 0,"
    "  dlq_at INTEGER,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX attempts_event ON delivery_attempts(event_id, id);"
    "CREATE INDEX attempts_delivery ON delivery_attempts(delivery_id, id);"
    "CREATE INDEX attempts_destination ON delivery_attempts(destination_id, id);"
    "CREATE INDEX attempts_dlq ON delivery_attempts(id) WHERE is_dlq = 1;"
    "CREATE TABLE circuits ("
    "  destination_id TEXT PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  consecutive_failures INTEGER NOT NULL,"
    "  opened_at INTEGER NOT NULL,"
    "  next_probe_at INTEGER NOT NULL,"
    "  last_transition_at INTEGER NOT NULL) WITHOUT ROWID;"
    /* how many of an event's deliveries are still pending, and how many
     * ended in the DLQ: the event's status follows from these without
     * reading its deliveries on every attempt (fan-out would make that
     * quadratic) */
    "ALTER TABLE events ADD COLUMN open_deliveries INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE events ADD COLUMN failed_deliveries INTEGER NOT NULL DEFAULT 0;"
    "UPDATE events SET open_deliveries = (SELECT count(*) FROM deliveries d WHERE d.event_id = events.id AND "
    "d.status = 'pending') WHERE status = 'processing';",

    /* 3: index only the pending deliveries by destination: every lookup by
     * destination asks for the pending ones (rebuilding the schedulers at
     * start, cancelling when a destination goes), and an entry that also
     * held status and next_attempt_at moved on every attempt (a delete and
     * an insert), while the settled ones piled up in it forever. Now an
     * attempt that settles a delivery deletes its entry, a retry touches
     * none. */
    "DROP INDEX deliveries_destination;"
    "CREATE INDEX deliveries_pending ON deliveries(destination_id, id) WHERE status = 'pending';",

    /* 4: an event's attempts are found through its deliveries
     * (deliveries_event, then attempts_delivery): one index less to write
     * on every attempt. */
    "DROP INDEX attempts_event;",

    /* 5: a backlog that lives in the store (docs/scheduler.md). A delivery
     * row was ~376 bytes with its indexes, four 36-byte ids in it; now:
     *   - seq, the rowid, is the queue order (assigned by the one writer, so
     *     it grows in commit order); the public id is derived from it and the
     *     creation time ("dlv_" + 12 hex ms + 20 hex seq), a virtual column;
     *   - destinations and connections are small numbers (refs: every id
     *     ever named, never deleted, so history keeps its names);
     *   - queues: the pending count per destination, kept with every write
     *     that changes it, so a start reads counts, not the backlog;
     *   - deliveries_pending orders by (destination, seq): a destination's
     *     queue is paged in order; deliveries_retry holds only deliveries
     *     waiting for a retry, by due time.
     * Existing deliveries get a seq in id order and so new ids; their
     * attempts are renamed with them. Events left processing without a
     * pending delivery (an old bug) are settled here, once, instead of at
     * every start. */
    "CREATE TABLE refs (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);"
    "INSERT INTO refs(id) SELECT id FROM destinations UNION SELECT id FROM connections "
    "UNION SELECT destination_id FROM deliveries UNION SELECT connection_id FROM deliveries ORDER BY 1;"
    "CREATE TABLE deliveries5 ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  destination INTEGER NOT NULL,"
    "  connection INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  id TEXT GENERATED ALWAYS AS ('dlv_' || printf('%012x%020x', created_at, seq)) VIRTUAL);"
    "CREATE TEMP TABLE delivery_seq AS SELECT id, row_number() OVER (ORDER BY id) AS seq FROM deliveries;"
    "CREATE UNIQUE INDEX temp.delivery_seq_id ON delivery_seq(id);"
    "INSERT INTO deliveries5(seq, event_id, destination, connection, status, attempts, next_attempt_at, created_at, "
    "updated_at) SELECT m.seq, d.event_id, (SELECT n FROM refs WHERE refs.id = d.destination_id), "
    "(SELECT n FROM refs WHERE refs.id = d.connection_id), d.status, d.attempts, d.next_attempt_at, d.created_at, "
    "d.updated_at FROM deliveries d JOIN delivery_seq m ON m.id = d.id;"
    "UPDATE delivery_attempts SET delivery_id = (SELECT n.id FROM delivery_seq m JOIN deliveries5 n ON n.seq = m.seq "
    "WHERE m.id = delivery_attempts.delivery_id) WHERE delivery_id IN (SELECT id FROM delivery_seq);"
    "DROP TABLE delivery_seq;"
    "DROP TABLE deliveries;"
    "ALTER TABLE deliveries5 RENAME TO deliveries;"
    "CREATE INDEX deliveries_event ON deliveries(event_id);"
    "CREATE INDEX deliveries_pending ON deliveries(destination) WHERE status = 'pending';"
    "CREATE INDEX deliveries_retry ON deliveries(destination, next_attempt_at) WHERE status = 'pending' AND "
    "attempts > 0;"
    "CREATE TABLE queues (destination INTEGER PRIMARY KEY, pending INTEGER NOT NULL);"
    "INSERT INTO queues SELECT destination, count(*) FROM deliveries WHERE status = 'pending' GROUP BY destination;"
    "CREATE VIEW deliveries_named AS SELECT d.seq, d.id, d.event_id, rd.id AS destination_id, rc.id AS "
    "connection_id, d.status, d.attempts, d.next_attempt_at, d.created_at, d.updated_at FROM deliveries d "
    "JOIN refs rd ON rd.n = d.destination JOIN refs rc ON rc.n = d.connection;"
    "UPDATE events SET open_deliveries = 0, failed_deliveries = (SELECT count(*) FROM deliveries d WHERE "
    "d.event_id = events.id AND d.status IN ('dlq', 'failed')), status = CASE WHEN EXISTS (SELECT 1 FROM "
    "deliveries d WHERE d.event_id = events.id AND d.status IN ('dlq', 'failed')) THEN 'failed' WHEN EXISTS "
    "(SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = 'delivered') THEN 'delivered' ELSE "
    "'cancelled' END WHERE status = 'processing' AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = "
    "events.id AND d.status = 'pending');",

    /* 6: API keys managed through the API (docs/api.md "API keys"): the
     * first characters of a key, to recognise it in a list; when it was
     * last used (written in batches, src/api/auth.c); when it was revoked
     * (the row stays, so an id is never reused, and is no longer listed). */
    "ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;"
    "ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;",

    /* 7: the front door's marks and memory (docs/api.md "Deduplication").
     * Each event says how its sender was checked (verification_status:
     * verified, unverified, schema_invalid) and whether it repeated an
     * earlier one (dedup_status: unique, duplicate). dedup_keys is the log
     * of claims, appended in rowid order and read only at open: one row
     * per group, its claims in a blob (dedup.c) and the latest end of
     * their windows; no index. The writer keeps the open ones in memory
     * (dedup.c says why); the sweep deletes from the log's start.
     * source_counts: the
     * events each source has received and when the last came, kept by the
     * writer once per source per group. */
    "ALTER TABLE events ADD COLUMN verification_status TEXT NOT NULL DEFAULT 'unverified';"
    "ALTER TABLE events ADD COLUMN dedup_status TEXT NOT NULL DEFAULT 'unique';"
    "CREATE TABLE dedup_keys ("
    "  expires_at INTEGER NOT NULL,"
    "  claims BLOB NOT NULL);"
    "CREATE TABLE source_counts ("
    "  source_id TEXT PRIMARY KEY,"
    "  events INTEGER NOT NULL,"
    "  last_event_at INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO source_counts SELECT source_id, count(*), max(received_at) FROM events GROUP BY source_id;",
    /* 8: issues, notification channels, alert rules (docs/api.md; src/ops/).
     * One issue per (destination, error type): the unique key is what lets
     * two writers meet on one row. Channels and rules keep their JSON doc
     * (a channel's secret sealed) and the columns looked up; a rule also its
     * firing state, changed by conditional UPDATEs only. Times are ms, 0 for
     * none. Alert rules read attempts and events of a window through
     * their ids (which begin with the time), so no index by time is added
     * to the hot tables. */
    "CREATE TABLE issues ("
    "  id TEXT PRIMARY KEY,"
    "  destination_id TEXT NOT NULL,"
    "  error_type TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  first_seen_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  opened_at INTEGER NOT NULL,"
    "  acknowledged_at INTEGER NOT NULL DEFAULT 0,"
    "  resolved_at INTEGER NOT NULL DEFAULT 0,"
    "  snoozed_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  recent_attempt_ids TEXT NOT NULL DEFAULT '[]',"
    "  UNIQUE (destination_id, error_type));"
    "CREATE INDEX issues_status ON issues(status, last_seen_at);"
    "CREATE TABLE notification_channels ("
    "  id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  last_fired_at INTEGER NOT NULL DEFAULT 0,"
    "  firing INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE alert_rules ("
    "  id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  last_fired_at INTEGER NOT NULL DEFAULT 0,"
    "  firing INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);",

    /* 9: replay jobs (src/store/replay.h). A job keeps its window and,
     * chosen when it was created, its events in received order
     * (replay_items, pos 1..total); `enqueued` is its cursor: the pos of the
     * last one made a delivery, moved in the same transaction as those
     * deliveries. runner/runner_until: the node running it and until when
     * (a claim). A delivery a replay made names its job (replay_job): it is
     * tried once, and the job's counts are those of its deliveries. */
    "CREATE TABLE replay_jobs ("
    "  id TEXT PRIMARY KEY,"
    "  destination_id TEXT NOT NULL,"
    "  source_id TEXT NOT NULL DEFAULT '',"
    "  connection_id TEXT NOT NULL DEFAULT '',"
    "  filter TEXT,"
    "  window_from INTEGER NOT NULL,"
    "  window_to INTEGER NOT NULL,"
    "  rate INTEGER NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  enqueued INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  runner TEXT NOT NULL DEFAULT '',"
    "  runner_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL DEFAULT 0,"
    "  completed_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX replay_jobs_running ON replay_jobs(id) WHERE status = 'running';"
    "CREATE TABLE replay_items ("
    "  job TEXT NOT NULL,"
    "  pos INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  PRIMARY KEY (job, pos)) WITHOUT ROWID;"
    "ALTER TABLE deliveries ADD COLUMN replay_job TEXT;"
    "CREATE INDEX deliveries_replay ON deliveries(replay_job, status) WHERE replay_job IS NOT NULL;",

    /* 10: the notifications' outbox (src/store/ops.h "Notifications"): a
     * notice written before it is sent, so that one waiting for a retry
     * outlives a restart. notice is what re-renders it (title, text, data:
     * the channel is read again at each attempt, its secret never copied
     * here). claimed_by/claimed_until: the node sending it and its lease.
     * The partial index finds the pending ones due; the other, the settled
     * ones past --retention and the API's newest-first list. */
    "CREATE TABLE notifications ("
    "  id TEXT PRIMARY KEY,"
    "  channel_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  notice TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  claimed_by TEXT NOT NULL DEFAULT '',"
    "  claimed_until INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX notifications_due ON notifications(next_attempt_at) WHERE status = 'pending';"
    "CREATE INDEX notifications_status ON notifications(status, created_at);",

    /* 11: the index of events by source and that of attempts by
     * destination are written late, in batches (late.c). As indexes, each
     * commit wrote into the end of every source's and destination's range:
     * about one page per event for each, far more than the rows themselves
     * (docs/performance.md "Late indexes"). Now each is a table of its own
     * (source_events, destination_attempts), filled in batches, every
     * second or few, from a queue of the rows not yet in it (events_unindexed,
     * attempts_unindexed: appended to with each row, emptied by the
     * batch), and a read by source or destination looks in both. A row
     * deleted takes its entry along (the triggers); one still queued is
     * skipped by the batch. */
    "CREATE TABLE source_events ("
    "  source_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  PRIMARY KEY (source_id, id)) WITHOUT ROWID;"
    "CREATE TABLE destination_attempts ("
    "  destination_id TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  PRIMARY KEY (destination_id, id)) WITHOUT ROWID;"
    "CREATE TABLE events_unindexed (n INTEGER PRIMARY KEY, source_id TEXT NOT NULL, id TEXT NOT NULL);"
    "CREATE TABLE attempts_unindexed (n INTEGER PRIMARY KEY, destination_id TEXT NOT NULL, id TEXT NOT NULL);"
    "INSERT INTO source_events SELECT source_id, id FROM events ORDER BY 1, 2;"
    "INSERT INTO destination_attempts SELECT destination_id, id FROM delivery_attempts ORDER BY 1, 2;"
    "DROP INDEX events_source;"
    "DROP INDEX attempts_destination;"
    "CREATE TRIGGER events_forget AFTER DELETE ON events BEGIN "
    "  DELETE FROM source_events WHERE source_id = old.source_id AND id = old.id; END;"
    "CREATE TRIGGER attempts_forget AFTER DELETE ON delivery_attempts BEGIN "
    "  DELETE FROM destination_attempts WHERE destination_id = old.destination_id AND id = old.id; END;",
};

#define NSTEPS ((int)(sizeof steps / sizeof steps[0]))

int hs_schema_version(void) { return NSTEPS; }

static int fail(sqlite3 *db, int rc, const char *path, hs_error *err) {
    if (rc == SQLITE_NOTADB)
        return hs_error_set(err, HS_ERR_IO, "db", "%s is not a SQLite database (or it is encrypted)", path);
    return hs_error_set(err, HS_ERR_IO, "db", "reading the schema of %s: %s", path, sqlite3_errmsg(db));
}

/* Refuse what we must not write to: a newer schema, another program's file. */
static int check_ownership(sqlite3 *db, const char *path, hs_error *err) {
    int64_t version = 0, app_id = 0, ntables = 0;
    int rc = hs_sqlite_read_int(db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK) rc = hs_sqlite_read_int(db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK) rc = hs_sqlite_read_int(db, "SELECT count(*) FROM sqlite_master", &ntables);
    if (rc != SQLITE_OK) return fail(db, rc, path, err);
    if (app_id != 0 && app_id != HS_APPLICATION_ID)
        return hs_error_set(err, HS_ERR_INVALID, "db", "%s belongs to another application (application_id %d)", path,
                            (int)app_id);
    if (version == 0 && ntables > 0)
        return hs_error_set(err, HS_ERR_INVALID, "db",
                            "%s already holds tables of another application; give hookstream its own file", path);
    if (version > NSTEPS)
        return hs_error_set(err, HS_ERR_UNSUPPORTED, "db",
                            "%s has schema version %d but this hookstream knows only up to %d; "
                            "upgrade hookstream (refusing to open it to avoid damaging it)",
                            path, (int)version, NSTEPS);
    return HS_OK;
}

/* Apply the step after the current version, in one transaction. Reads the
 * version inside the transaction so two processes never apply a step twice.
 * Sets *current to the version reached. */
static int apply_next(sqlite3 *db, const char *path, int *current, hs_error *err) {
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int64_t stored = 0;
    if (rc == SQLITE_OK) rc = hs_sqlite_read_int(db, "PRAGMA user_version", &stored);
    int version = (int)stored;
    if (rc == SQLITE_OK && version < NSTEPS) {
        rc = sqlite3_exec(db, steps[version], NULL, NULL, NULL);
        char bump[96];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d; PRAGMA application_id = %d", version + 1,
                 HS_APPLICATION_ID);
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, bump, NULL, NULL, NULL);
        if (rc == SQLITE_OK) version++;
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = hs_error_set(err, HS_ERR_IO, "db", "migrating %s to schema version %d: %s", path, version + 1,
                                sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return code;
    }
    *current = version;
    return HS_OK;
}

int hs_schema_migrate(sqlite3 *db, const char *path, hs_error *err) {
    return hs_schema_migrate_to(db, path, NSTEPS, err);
}

int hs_schema_migrate_to(sqlite3 *db, const char *path, int target, hs_error *err) {
    int rc = check_ownership(db, path, err);
    if (rc != HS_OK) return rc;
    int64_t stored = 0;
    int src = hs_sqlite_read_int(db, "PRAGMA user_version", &stored);
    if (src != SQLITE_OK) return fail(db, src, path, err);
    int version = (int)stored, from = version;
    if (target > NSTEPS) target = NSTEPS;
    while (version < target) {
        rc = apply_next(db, path, &version, err);
        if (rc != HS_OK) return rc;
    }
    if (version > NSTEPS) return check_ownership(db, path, err); /* upgraded under us */
    if (from != version) hs_info("store: %s migrated from schema version %d to %d", path, from, version);
    return HS_OK;
}
