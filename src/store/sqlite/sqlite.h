/* src/store/sqlite/sqlite.h — the SQLite backend's insides. Private to
 * src/store/sqlite/ (and tests/unit/test_store.c, which checks the schema).
 *
 *   sqlite.c     connections, statement cache, the read pool's connections
 *                (src/store/pool.h), transactions, open/close, the backend
 *                table (hs_sqlite_backend)
 *   schema.c     versioned migrations (PRAGMA user_version)
 *   routes.c     the rows routing reads (src/store/routing.c decides)
 *   resources.c  sources, destinations, connections; secrets re-sealing
 *   events.c     ingest's inserts, event and delivery reads
 *   dedup.c      dedup keys: a table in memory over a log of claims
 *   arrivals.c   the sources' event counts
 *   apikeys.c    API keys
 *   ops.c        issues, notification channels, alert rules
 *   deliveries.c attempts, circuits, retries, orphans, attempt reads
 *   retention.c  deleting settled events past retention, giving space back
 *   queues.c     refs (destinations and connections by number), pending
 *                counts per destination, the scheduler's paged reads
 *   replay.c     replay jobs (their windows, cursors and claims); the
 *                bulk retry is deliveries.c's, beside the manual ones
 *   late.c       the late indexes (events by source, attempts by
 *                destination): queued with each row, moved in batches
 *   walbuf.c     a VFS that writes the writer's runs of consecutive
 *                writes (a commit's WAL frames, a checkpoint's pages) in
 *                one system call
 *
 * What speaks no SQL is shared with the other backends (src/store/docs.h,
 * resources.h, counts.h, arrivals.h, pool.h, retention.h, retry.h). The functions named
 * hs__sqlite_<op> are the table's entries, documented in
 * src/store/backend.h.
 */
#ifndef HS_STORE_SQLITE_H
#define HS_STORE_SQLITE_H

#include <sqlite3.h>

#include "base/buf.h"
#include "store/backend.h"
#include "store/counts.h"
#include "store/pool.h"

#define HS_STMT_CACHE 48 /* prepared statements kept per connection */
#define HS_READERS_MAX 8 /* read connections at most */
#define HS_BUSY_TIMEOUT_MS 5000

/* One SQLite connection with its prepared-statement cache. A connection is
 * used by one thread at a time (SQLITE_OPEN_NOMUTEX). */
typedef struct hs_sqlite_db {
    sqlite3 *db;
    int ncached;
    struct {
        const char *key; /* the caller's pointer: compared before the text */
        char *sql;
        sqlite3_stmt *st;
    } cached[HS_STMT_CACHE];
} hs_sqlite_db;

/* The backend's state: hs_store.be_state. */
typedef struct hs__sqlite {
    char *path;
    hs_sqlite_db writer; /* owned by the writer thread once it runs */
    /* writer thread: event id -> how many of its deliveries settled in the
     * open group, written once per event (hs_settles_flush) */
    hs_idmap settles;
    /* writer thread: pending count changes per destination (refs.n) in the
     * open group, written by hs_queues_flush (src/store/counts.h) */
    hs__counts pending;
    /* writer thread: the next delivery seq (max + 1 at open; one writer,
     * so seqs grow in commit order; a failed group's are skipped) */
    uint64_t next_seq;
    /* read-only connections, HS_READERS_MAX at most (src/store/pool.h) */
    hs__pool pool;
    /* writer thread: the dedup keys whose window is open (dedup.c) */
    struct hs_sq_dedup *dedup;
    /* writer thread: the late indexes' lists and batches (late.c) */
    struct hs_sq_late *late;
} hs__sqlite;

static inline hs__sqlite *hs__sq(const hs_store *s) { return s->be_state; }
/* The writer connection (writer thread only). */
static inline hs_sqlite_db *hs__sq_writer(const hs_store *s) { return &hs__sq(s)->writer; }

/* src/store/sqlite/sqlite.c */
/* A cached prepared statement for sql on c (NULL and err filled on error).
 * Give it back with hs_stmt_done, which resets it. */
sqlite3_stmt *hs_stmt(hs_sqlite_db *c, const char *sql, hs_error *err);
void hs_stmt_done(hs_sqlite_db *c, sqlite3_stmt *st);
/* Bind a named parameter (":name") when the statement has it. */
void hs_bind_opt_text(sqlite3_stmt *st, const char *name, const char *v);
void hs_bind_opt_int(sqlite3_stmt *st, const char *name, int64_t v);
/* Copy a text column into a fixed buffer ("" for NULL, truncated to cap). */
void hs_col_copy(char *dst, size_t cap, sqlite3_stmt *st, int col);
/* Step st to its end, each row filled by fill into a new element of elem
 * bytes: *out (hs_free; NULL when none) of *n, or an error ("what: ..."),
 * nothing kept. The caller still gives st back (hs_stmt_done). */
typedef void (*hs_sqlite_row_fn)(sqlite3_stmt *st, void *elem);
int hs_sqlite_collect(hs_sqlite_db *c, sqlite3_stmt *st, size_t elem, hs_sqlite_row_fn fill, void **out, size_t *n,
                      const char *what, hs_error *err);
/* The integer the first row of sql holds (0 when it gives no row), on any
 * connection of db's, uncached; a SQLite result code. */
int hs_sqlite_read_int(sqlite3 *db, const char *sql, int64_t *out);
/* src/store/sqlite/walbuf.c: the name of a VFS over the default one that
 * writes runs of consecutive writes (a commit's WAL frames, a checkpoint's
 * pages) in one write (registered on first call), or
 * NULL when it could not be (then connections open on the default VFS).
 * For connections with synchronous=FULL only (walbuf.c says why). */
#define HS_SQLITE_WALBUF_VFS "hs-walbuf"
const char *hs_sqlite_walbuf_vfs(void);
/* Map a SQLite result code to an hs_err code and fill err ("what: reason"). */
int hs_sqlite_fail(hs_error *err, sqlite3 *db, int rc, const char *what);
/* Borrow a read-only connection (blocks while all HS_READERS_MAX are lent;
 * the thread's snapshot's when it has one). */
static inline hs_sqlite_db *hs_reader_get(hs_store *s, hs_error *err) { return hs__pool_get(&hs__sq(s)->pool, err); }
static inline void hs_reader_put(hs_store *s, hs_sqlite_db *c) { hs__pool_put(&hs__sq(s)->pool, c); }

/* src/store/sqlite/late.c: the late indexes. A kind is a table of rows
 * with an index by one column written in sorted slices. All but
 * hs_late_select on the writer thread. */
typedef enum hs_late_kind { HS_LATE_EVENTS, HS_LATE_ATTEMPTS, HS_LATE_KINDS } hs_late_kind;
/* At open, after the migrations: the lists from the queues; at close. */
int hs_late_load(hs_store *s, hs_error *err);
void hs_late_free(hs_store *s);
/* In the group: queue the new row id of kind under key (its source or
 * destination id). */
int hs_late_queue(hs_store *s, hs_late_kind kind, const char *key, const char *id, hs_error *err);
/* In the group, just before its COMMIT: begin a batch when one is due,
 * write the next slice of the one being written. A failure fails the
 * group. */
int hs_late_step(hs_store *s, hs_error *err);
/* After the group's COMMIT succeeded, or once it failed. */
void hs_late_committed(hs_store *s);
void hs_late_discard(hs_store *s);
/* Append to sql a FROM-able SELECT of cols (columns of kind's table under
 * its alias: e for events, a for attempts) of the rows whose key is param
 * (a named parameter) and that match conds (" AND ..." on the alias, or
 * ""): those still queued only, and the index's newest :limit. The caller
 * orders the whole by id and cuts it at :limit. */
void hs_late_select(hs_buf *sql, hs_late_kind kind, const char *cols, const char *param, const char *conds);

/* src/store/sqlite/schema.c: bring db (the writer connection, WAL already set) to the
 * current schema, one transaction per step. */
int hs_schema_migrate(sqlite3 *db, const char *path, hs_error *err);
int hs_schema_version(void); /* the newest version this build knows */
/* The same, up to version target only (tests build old databases so). */
int hs_schema_migrate_to(sqlite3 *db, const char *path, int target, hs_error *err);

/* src/store/sqlite/routes.c */
int hs__sqlite_route_source(hs_store *s, const char *ref, bool by_slug, hs_route_source *out, hs_error *err);
int hs__sqlite_route_rows(hs_store *s, const char *source_id, hs_route_row_fn fn, void *ud, hs_error *err);

/* src/store/sqlite/resources.c */
/* the statements of resource writes (src/store/resources.h) */
extern const struct hs__res_ops hs__sqlite_res_ops;
int hs__sqlite_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err);
int hs__sqlite_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters,
                             size_t nfilters, json_t **items, bool *has_more, hs_error *err);
int hs__sqlite_reseal(const char *path, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                      hs_reseal_stats *st, hs_error *err);

/* src/store/sqlite/events.c */
/* from deliveries_named, the view that names the numbers (schema step 5) */
#define HS_DELIVERY_COLS                                                                                               \
    "id, event_id, destination_id, connection_id, status, attempts, next_attempt_at, created_at, updated_at, seq"
/* One row of columns HS_DELIVERY_COLS. */
void hs_delivery_from_row(sqlite3_stmt *st, hs_delivery *d);
/* Run sql (columns HS_DELIVERY_COLS, optional text ?1 = arg) on c. */
int hs_deliveries_select(hs_sqlite_db *c, const char *sql, const char *arg, hs_delivery **items, size_t *n,
                         hs_error *err);
int hs__sqlite_ingest_insert(hs_store *s, hs_ingest *ing, bool *wrote, hs_error *err);
int hs__sqlite_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err);
int hs__sqlite_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                          hs_error *err);
int hs__sqlite_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err);

/* src/store/sqlite/apikeys.c */
extern const hs__apikey_ops hs__sqlite_apikey_ops;

/* src/store/sqlite/ops.c: issues, channels, alert rules */
extern const hs__ops_ops hs__sqlite_ops_ops;

/* src/store/sqlite/deliveries.c */
/* Cancel a deleted destination's pending deliveries, settle their events
 * and drop its queue count (writer thread, inside the op's transaction);
 * *cancelled and *events (either may be NULL) grow by how many deliveries
 * were cancelled and events settled. */
int hs_deliveries_cancel(hs_store *s, const char *destination_id, uint64_t now, size_t *cancelled, size_t *events,
                         hs_error *err);
/* Attempt records count settled deliveries per event instead of rewriting
 * the event row once per delivery (a fan-out event has one per
 * destination): the table's flush writes the counts, discard drops them. */
int hs_settles_flush(hs_store *s, hs_error *err);
void hs_settles_clear(hs_store *s);
int hs__sqlite_attempt_record(hs_store *s, const hs_attempt_op *op, hs_error *err);
int hs__sqlite_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err);

/* src/store/sqlite/retention.c */
int hs__sqlite_sweep(hs_store *s, hs_sweep *sw, hs_error *err);

/* src/store/sqlite/queues.c */
/* The number of a destination or connection id (refs); create: add it when
 * missing (writer thread). *key is 0 when absent. */
int hs_ref_key(hs_sqlite_db *w, const char *id, bool create, int64_t *key, hs_error *err);
/* Write the open group's pending count changes (hs__sqlite.pending) and
 * clear them. */
int hs_queues_flush(hs_store *s, hs_error *err);
/* ---- dedup.c (writer thread) ---- */
typedef struct hs_sq_dedup hs_sq_dedup;
/* ing->dedup_key claimed (store.h "ingest"): a live key makes ing a
 * duplicate (hs__ingest_duplicate), else the key is its event's (in
 * memory; the flush writes the group's claims to the log). */
int hs_dedup_claim(hs_store *s, hs_ingest *ing, hs_error *err);
/* the claims not in the log yet, as one row (the backend's flush) */
int hs_dedup_flush(hs_store *s, hs_error *err);
/* the open group committed / failed (its claims are put back) */
void hs_dedup_committed(hs_store *s);
void hs_dedup_discard(hs_store *s);
/* at open: the claims whose window is open, from the log; at close */
int hs_dedup_load(hs_store *s, hs_error *err);
void hs_dedup_free(hs_store *s);
/* ---- arrivals.c ---- */
/* the open group's events per source (s->arrivals) into source_counts */
int hs_arrivals_flush(hs_store *s, hs_error *err);
int hs__sqlite_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err);
int hs__sqlite_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err);
int hs__sqlite_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                          hs_delivery *out, size_t *n, hs_error *err);
int hs__sqlite_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                         size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err);
int hs__sqlite_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err);
int hs__sqlite_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err);
int hs__sqlite_event_retry(hs_store *s, const char *event_id, hs_event_retry *out, hs_error *err);
int hs__sqlite_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *out, bool *more, hs_error *err);

/* src/store/sqlite/replay.c: replay jobs (src/store/replay.h) */
extern const hs__replay_ops hs__sqlite_replay_ops;
int hs__sqlite_settle_orphans(hs_store *s, size_t *deliveries, size_t *events, hs_error *err);
int hs__sqlite_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err);
int hs__sqlite_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err);
int hs__sqlite_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err);

#endif
