/* src/store/store_int.h — private to src/store*.c (and tests/unit/test_store.c).
 *
 * The SQLite store is split in four files:
 *   src/store/store.c          url dispatch, hs_ingest_new/free, hs_event_free
 *   src/store/sqlite/schema.c   versioned migrations (PRAGMA user_version)
 *   src/store/sqlite/sqlite.c   connections, statement cache, read pool, the writer
 *                    thread and its group commit, open/close, stats
 *   src/store/sqlite/resources.c sources, destinations, connections (writes and reads)
 *   src/store/sqlite/events.c    ingest, event and delivery reads, API keys
 *
 * A write is an hs_wop queued to the writer thread; its exec function runs
 * inside the group transaction, under its own SAVEPOINT.
 */
#ifndef HS_STORE_INT_H
#define HS_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "rules/filter.h"
#include "base/idmap.h"
#include "store/store.h"

#define HS_STMT_CACHE 48 /* prepared statements kept per connection */
#define HS_READERS_MAX 8 /* read connections at most */
#define HS_BUSY_TIMEOUT_MS 5000

/* One SQLite connection with its prepared-statement cache. A connection is
 * used by one thread at a time (SQLITE_OPEN_NOMUTEX). */
typedef struct hs_conn {
    sqlite3 *db;
    struct hs_conn *next_free; /* read pool free list */
    int ncached;
    struct {
        const char *key; /* the caller's pointer: compared before the text */
        char *sql;
        sqlite3_stmt *st;
    } cached[HS_STMT_CACHE];
} hs_conn;

typedef struct hs_wop hs_wop;
/* Runs on the writer thread inside the op's savepoint. Returns 0 or an
 * hs_err code with op->err filled. On failure it must leave no outputs. */
typedef int (*hs_wop_exec_fn)(hs_store *s, hs_wop *op);
/* Drops the outputs of an op that executed but whose group did not commit. */
typedef void (*hs_wop_undo_fn)(hs_wop *op);

struct hs_wop {
    hs_wop *next; /* writer queue, then completion list */
    hs_wop_exec_fn exec;
    hs_wop_undo_fn undo;
    hs_ingest *ing; /* set: an ingest (the hot path: no savepoint) */
    /* set: an async op, completed on the loop thread by this call (which may
     * free the op); unset: a sync op, whose caller waits for `done` */
    void (*complete)(hs_wop *op);
    int status;
    bool done; /* sync op: result is ready (under hs_store.lock) */
    hs_error err;
    /* arguments and result of sync ops (borrowed from the blocked caller) */
    hs_kind kind;
    json_t *doc;
    const char *id;
    const char *arg2;
    const char *arg3;
    bool no_savepoint; /* runs bare; a failure after a write must set wrote */
    bool wrote;        /* the op changed the database before it failed */
    hs_update_fn fn;
    void *ud;
    json_t *out;
};

/* Where one source's events go (src/store/sqlite/routes.c): writer thread only. */
typedef struct hs_route {
    char connection_id[HS_ID_MAX];
    char destination_id[HS_ID_MAX];
    hs_filter *filter; /* NULL: every event */
} hs_route;

typedef struct hs_route_set {
    char *ref; /* what the ingest URL named: id or slug */
    char source_id[HS_ID_MAX];
    char status[16];                 /* the source's */
    bool uses_payload, uses_headers; /* some route's filter looks there */
    size_t n;
    hs_route r[];
} hs_route_set;

/* hs_ingest_new allocates an ingest together with its queue node, so that
 * the hot path does not allocate per request. ing->priv_ points at op. */
typedef struct hs_ingest_box {
    hs_ingest ing;
    hs_wop op;
} hs_ingest_box;

struct hs_store {
    char *path;
    hs_conn writer;  /* owned by the writer thread once it runs */
    hs_idmap routes; /* writer thread: ref (id or slug) -> cached hs_route_set */
    /* writer thread: event id -> how many of its deliveries settled in the
     * open group, written once per event (hs_settles_flush) */
    hs_idmap settles;

    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock;     /* guards everything down to stats */
    pthread_cond_t work_cond; /* writer: queue not empty or closing */
    pthread_cond_t done_cond; /* sync callers: some op is done */
    hs_wop *q_head, *q_tail;
    size_t q_len;
    bool closing;
    int sync_waiters;        /* callers blocked in hs_writer_submit */
    hs_wop *c_head, *c_tail; /* async completions waiting for the loop */
    hs_store_stats stats;

    /* loop thread only */
    uv_loop_t *loop;
    uv_async_t async;
    size_t async_pending; /* accepted ingests whose callback has not run */

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    hs_conn *pool_free;
    int pool_open; /* connections opened (or being opened) */
    int pool_out;  /* connections lent to callers */

    const hs_secretbox *box; /* seals resource secrets (hs_store_set_secretbox), or NULL */
};

/* Point err at a local when the caller passed none, and clear it. */
#define HS_ERR_LOCAL(err)                                                                                              \
    hs_error err##_local_;                                                                                             \
    if (!(err)) (err) = &err##_local_;                                                                                 \
    hs_error_clear(err)

/* src/store/sqlite/sqlite.c */
int hs_sqlite_open(const char *path, hs_store **out, hs_error *err);
/* A cached prepared statement for sql on c (NULL and err filled on error).
 * Give it back with hs_stmt_done, which resets it. */
sqlite3_stmt *hs_stmt(hs_conn *c, const char *sql, hs_error *err);
void hs_stmt_done(hs_conn *c, sqlite3_stmt *st);
/* Bind a named parameter (":name") when the statement has it. */
void hs_bind_opt_text(sqlite3_stmt *st, const char *name, const char *v);
void hs_bind_opt_int(sqlite3_stmt *st, const char *name, int64_t v);
/* Copy a text column into a fixed buffer ("" for NULL, truncated to cap). */
void hs_col_copy(char *dst, size_t cap, sqlite3_stmt *st, int col);
/* Map a SQLite result code to an hs_err code and fill err ("what: reason"). */
int hs_sqlite_fail(hs_error *err, sqlite3 *db, int rc, const char *what);
/* Borrow a read-only connection (blocks while all HS_READERS_MAX are lent). */
hs_conn *hs_reader_get(hs_store *s, hs_error *err);
void hs_reader_put(hs_store *s, hs_conn *c);
/* Queue an async op (op->complete set; loop attached); its completion runs
 * on the loop thread after the commit. Refusals return at once. */
int hs_writer_submit_async(hs_store *s, hs_wop *op, hs_error *err);
/* Queue a sync op and wait for its group to commit. */
int hs_writer_submit(hs_store *s, hs_wop *op, hs_error *err);

/* src/store/sqlite/schema.c: bring db (the writer connection, WAL already set) to the
 * current schema, one transaction per step. */
int hs_schema_migrate(sqlite3 *db, const char *path, hs_error *err);
int hs_schema_version(void); /* the newest version this build knows */

/* src/store/sqlite/deliveries.c: cancel a deleted destination's pending deliveries and
 * settle their events (writer thread, inside the op's transaction). */
int hs_deliveries_cancel(hs_conn *w, const char *destination_id, uint64_t now, hs_error *err);
/* Attempt records count settled deliveries per event instead of rewriting
 * the event row once per delivery (a fan-out event has one per
 * destination). The writer writes the counts before COMMIT and before any op
 * that is not an attempt record or an ingest (those may read or change an
 * event's counters); hs_settles_clear drops them with a failed group. */
int hs_settles_flush(hs_store *s, hs_error *err);
void hs_settles_clear(hs_store *s);

/* src/store/sqlite/routes.c: the source named by ref (id or slug) and its routes, from
 * the cache or the database. Valid until the next hs_routes_clear. */
int hs_routes_get(hs_store *s, const char *ref, const hs_route_set **out, hs_error *err);
void hs_routes_clear(hs_store *s); /* drops them all (and the table) */

/* src/store/sqlite/events.c */
#define HS_DELIVERY_COLS                                                                                               \
    "id, event_id, destination_id, connection_id, status, attempts, next_attempt_at, created_at, updated_at"
/* Run sql (columns HS_DELIVERY_COLS, optional text ?1 = arg) on c. */
int hs_deliveries_select(hs_conn *c, const char *sql, const char *arg, hs_delivery **items, size_t *n, hs_error *err);
int hs_ingest_exec(hs_store *s, hs_wop *op);
void hs_ingest_undo(hs_wop *op);

#endif
