/* src/store/sqlite/sqlite.c — the SQLite backend (src/store/backend.h):
 * connections, the statement cache, the read pool's connections, the
 * writer's transactions, open and close, and the backend's table.
 *
 * One write connection (WAL, synchronous=FULL), used by the writer thread
 * of src/store/writer.c only: its groups are BEGIN IMMEDIATE ... COMMIT,
 * with a SAVEPOINT per op that needs one. Reads use a small pool of
 * read-only connections (WAL readers never block the writer), opened
 * lazily and usable from any thread (src/store/pool.c lends them).
 */
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/sqlite/sqlite.h"

/* ---- connections and the statement cache ---- */

int hs_sqlite_fail(hs_error *err, sqlite3 *db, int rc, const char *what) {
    int code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = HS_ERR_BUSY; break;
    case SQLITE_CONSTRAINT: code = HS_ERR_CONFLICT; break;
    default: code = HS_ERR_IO; break;
    }
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return hs_error_set(err, code, NULL, "%s: %s", what, why);
}

int hs_sqlite_collect(hs_sqlite_db *c, sqlite3_stmt *st, size_t elem, hs_sqlite_row_fn fill, void **out, size_t *n,
                      const char *what, hs_error *err) {
    char *v = NULL;
    size_t count = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            v = hs_realloc(v, cap * elem);
        }
        fill(st, v + elem * count++);
    }
    if (rc != SQLITE_DONE) {
        hs_free(v);
        return hs_sqlite_fail(err, c->db, rc, what);
    }
    *out = v;
    *n = count;
    return HS_OK;
}

int hs_sqlite_read_int(sqlite3 *db, const char *sql, int64_t *out) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_finalize(st);
    return rc;
}

sqlite3_stmt *hs_stmt(hs_sqlite_db *c, const char *sql, hs_error *err) {
    /* SQL is almost always a string constant: its address finds the entry at
     * once (the text is still compared: a built query may reuse an address) */
    for (int i = 0; i < c->ncached; i++)
        if (c->cached[i].key == sql && strcmp(c->cached[i].sql, sql) == 0) return c->cached[i].st;
    for (int i = 0; i < c->ncached; i++)
        if (strcmp(c->cached[i].sql, sql) == 0) return c->cached[i].st;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        hs_sqlite_fail(err, c->db, rc, "preparing a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    /* a full cache only costs re-preparing; hs_stmt_done finalizes those */
    if (c->ncached < HS_STMT_CACHE) {
        c->cached[c->ncached].key = sql;
        c->cached[c->ncached].sql = hs_strdup(sql);
        c->cached[c->ncached].st = st;
        c->ncached++;
    }
    return st;
}

void hs_col_copy(char *dst, size_t cap, sqlite3_stmt *st, int col) {
    const char *v = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

void hs_bind_opt_text(sqlite3_stmt *st, const char *name, const char *v) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (i) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void hs_bind_opt_int(sqlite3_stmt *st, const char *name, int64_t v) {
    int i = sqlite3_bind_parameter_index(st, name);
    if (i) sqlite3_bind_int64(st, i, v);
}

void hs_stmt_done(hs_sqlite_db *c, sqlite3_stmt *st) {
    if (!st) return;
    for (int i = 0; i < c->ncached; i++) {
        if (c->cached[i].st == st) {
            /* reset ends the statement's implicit read transaction */
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    }
    sqlite3_finalize(st);
}

/* Step a statement that returns nothing we need; a SQLite result code. */
static int run_sql(hs_sqlite_db *c, const char *sql) {
    hs_error err;
    sqlite3_stmt *st = hs_stmt(c, sql, &err);
    if (!st) return sqlite3_errcode(c->db) != SQLITE_OK ? sqlite3_errcode(c->db) : SQLITE_ERROR;
    int rc = sqlite3_step(st);
    hs_stmt_done(c, st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* vfs: NULL for the default */
static int conn_open(hs_sqlite_db *c, const char *path, int flags, const char *vfs, hs_error *err) {
    memset(c, 0, sizeof *c);
    /* NOMUTEX: one thread uses a connection at a time, we guarantee that */
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, vfs);
    if (rc != SQLITE_OK) {
        hs_error_set(err, HS_ERR_IO, "db", "cannot open database %s: %s", path,
                     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return HS_ERR_IO;
    }
    sqlite3_busy_timeout(c->db, HS_BUSY_TIMEOUT_MS);
    return HS_OK;
}

static void conn_close(hs_sqlite_db *c) {
    for (int i = 0; i < c->ncached; i++) {
        sqlite3_finalize(c->cached[i].st);
        hs_free(c->cached[i].sql);
    }
    c->ncached = 0;
    if (c->db) {
        int rc = sqlite3_close(c->db);
        if (rc != SQLITE_OK) hs_warn("store: closing a connection: %s", sqlite3_errstr(rc));
    }
    c->db = NULL;
}

/* Durability settings of the writer; the first statement also tells whether
 * the file is a database at all. */
static int writer_setup(hs__sqlite *q, hs_error *err) {
    sqlite3 *db = q->writer.db;
    sqlite3_stmt *st = NULL;
    char mode[16] = "";
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *m = sqlite3_column_text(st, 0);
            snprintf(mode, sizeof mode, "%s", m ? (const char *)m : "");
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return hs_error_set(err, HS_ERR_IO, "db", "%s is not a SQLite database (or it is encrypted)", q->path);
    if (rc != SQLITE_OK)
        return hs_error_set(err, HS_ERR_IO, "db", "cannot use database %s: %s", q->path, sqlite3_errmsg(db));
    /* SQLite quietly opens a file it may not write read-only */
    if (sqlite3_db_readonly(db, "main") == 1)
        return hs_error_set(err, HS_ERR_IO, "db", "%s is read-only; hookstream needs to write to it", q->path);
    if (strcmp(mode, "wal") != 0)
        return hs_error_set(err, HS_ERR_IO, "db", "cannot switch %s to WAL mode (journal_mode is %s)", q->path, mode);
    rc = sqlite3_exec(db,
                      "PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;"
                      "PRAGMA temp_store=MEMORY;"
                      "PRAGMA cache_size=-16384;"
                      "PRAGMA journal_size_limit=67108864",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) return hs_error_set(err, HS_ERR_IO, "db", "configuring %s: %s", q->path, sqlite3_errmsg(db));
    return HS_OK;
}

/* ---- read pool (src/store/pool.h) ---- */

static void *reader_open(void *ctx, hs_error *err) {
    const hs__sqlite *q = ctx;
    hs_sqlite_db *c = hs_malloc(sizeof *c);
    if (conn_open(c, q->path, SQLITE_OPEN_READONLY, NULL, err) == HS_OK) return c;
    hs_free(c);
    return NULL;
}

static void reader_close(void *conn) {
    conn_close(conn);
    hs_free(conn);
}

static int reader_snapshot_begin(void *conn, hs_error *err) {
    hs_sqlite_db *c = conn;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return hs_sqlite_fail(err, c->db, sqlite3_errcode(c->db), "starting a read");
    return HS_OK;
}

static void reader_snapshot_end(void *conn) {
    hs_sqlite_db *c = conn;
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
}

static const hs__pool_ops reader_ops = {
    .open = reader_open,
    .close = reader_close,
    .snapshot_begin = reader_snapshot_begin,
    .snapshot_end = reader_snapshot_end,
};

static int snapshot_begin(hs_store *s, hs_error *err) { return hs__pool_snapshot_begin(&hs__sq(s)->pool, err); }
static void snapshot_end(hs_store *s) { hs__pool_snapshot_end(&hs__sq(s)->pool); }

/* ---- the writer's transactions ---- */

static int tx_sql(hs_store *s, const char *sql, const char *what, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    int rc = run_sql(w, sql);
    return rc == SQLITE_OK ? HS_OK : hs_sqlite_fail(err, w->db, rc, what);
}

static int tx_begin(hs_store *s, hs_error *err) {
    return tx_sql(s, "BEGIN IMMEDIATE", "cannot start a transaction", err);
}
static int tx_commit(hs_store *s, hs_error *err) {
    int rc = hs_late_step(s, err);
    if (rc == HS_OK) rc = tx_sql(s, "COMMIT", "commit failed", err);
    if (rc == HS_OK) { /* else the group is discarded */
        hs_dedup_committed(s);
        hs_late_committed(s);
    }
    return rc;
}
static int tx_rollback(hs_store *s, hs_error *err) { return tx_sql(s, "ROLLBACK", "rollback failed", err); }
static int tx_savepoint(hs_store *s, hs_error *err) { return tx_sql(s, "SAVEPOINT op", "savepoint", err); }
static int tx_release(hs_store *s, hs_error *err) { return tx_sql(s, "RELEASE op", "release", err); }
static int tx_rollback_to(hs_store *s, hs_error *err) { return tx_sql(s, "ROLLBACK TO op", "rollback to", err); }
static bool tx_open(hs_store *s) { return !sqlite3_get_autocommit(hs__sq_writer(s)->db); }
static void tx_discard(hs_store *s) {
    hs_settles_clear(s);
    hs_dedup_discard(s);
    hs_late_discard(s);
    hs__counts_clear(&hs__sq(s)->pending);
}
/* What the group's writes deferred: event settles, queue counts, the
 * dedup claims' log row, the sources' counts. */
static int tx_flush(hs_store *s, hs_error *err) {
    int rc = hs_settles_flush(s, err);
    if (rc == HS_OK) rc = hs_queues_flush(s, err);
    if (rc == HS_OK) rc = hs_dedup_flush(s, err);
    return rc == HS_OK ? hs_arrivals_flush(s, err) : rc; /* a failed group is discarded (tx_discard) */
}

/* ---- giving space back (retention.c frees, an incremental vacuum returns) ---- */

#define VACUUM_CONVERT_MAX (256ll << 20) /* converted at open up to this size; beyond: docs/operations.md */

/* sql's integer, or -1 when it cannot be read. */
static int64_t pragma_int(hs_sqlite_db *c, const char *sql) {
    int64_t v;
    return hs_sqlite_read_int(c->db, sql, &v) == SQLITE_OK ? v : -1;
}

/* A new file is made with auto_vacuum = INCREMENTAL: it can only be set
 * before the first table. */
static int vacuum_mode_new(hs__sqlite *q, hs_error *err) {
    if (pragma_int(&q->writer, "SELECT count(*) FROM sqlite_master") != 0) return HS_OK;
    if (sqlite3_exec(q->writer.db, "PRAGMA auto_vacuum = INCREMENTAL", NULL, NULL, NULL) != SQLITE_OK)
        return hs_error_set(err, HS_ERR_IO, "db", "configuring %s: %s", q->path, sqlite3_errmsg(q->writer.db));
    return HS_OK;
}

/* A file made before (auto_vacuum NONE) keeps the space retention frees in
 * its free list, for reuse: converted once when it is small enough to
 * rewrite at start, else left as it is, with a warning. */
static int vacuum_mode_convert(hs__sqlite *q, hs_error *err) {
    if (pragma_int(&q->writer, "PRAGMA auto_vacuum") == 2) return HS_OK;
    int64_t bytes = pragma_int(&q->writer, "PRAGMA page_count") * pragma_int(&q->writer, "PRAGMA page_size");
    if (bytes > VACUUM_CONVERT_MAX) {
        hs_warn("store: %s was made without incremental vacuum; space that retention frees is reused, not "
                "returned (docs/operations.md: converting a large database)",
                q->path);
        return HS_OK;
    }
    hs_info("store: %s: switching to incremental vacuum (once; rewrites %lld bytes)", q->path, (long long)bytes);
    if (sqlite3_exec(q->writer.db, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", NULL, NULL, NULL) != SQLITE_OK)
        return hs_error_set(err, HS_ERR_IO, "db", "converting %s to incremental vacuum: %s", q->path,
                            sqlite3_errmsg(q->writer.db));
    return HS_OK;
}

/* Where new delivery seqs start: after the highest stored. */
static int seq_start(hs__sqlite *q, hs_error *err) {
    int64_t next = 0;
    int rc = hs_sqlite_read_int(q->writer.db, "SELECT coalesce(max(seq), 0) + 1 FROM deliveries", &next);
    q->next_seq = (uint64_t)next;
    return rc == SQLITE_OK ? HS_OK : hs_sqlite_fail(err, q->writer.db, rc, "reading the delivery sequence");
}

/* ---- open, close ---- */

/* A SQLite store is a plain file path: anything but another backend's URL. */
static bool sqlite_match(const char *url) {
    (void)url;
    return true;
}

static void state_free(hs__sqlite *q) {
    hs__pool_free(&q->pool);
    hs_free(q->path);
    hs_free(q);
}

/* Process-wide SQLite settings, applied once before the library initializes.
 * Memory statistics take a global mutex on every allocation that all our
 * threads would share; we never read them. */
static void sqlite_configure(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (rc != SQLITE_OK) hs_debug("store: SQLITE_CONFIG_MEMSTATUS: %s", sqlite3_errstr(rc));
    sqlite3_initialize();
}

/* Plain paths only: see below. */
static int check_path(const char *path, hs_error *err) {
    /* an in-memory database would acknowledge events that a restart loses */
    if (strcmp(path, ":memory:") == 0)
        return hs_error_set(err, HS_ERR_INVALID, "db", "an in-memory database is not durable; give a file path");
    /* Debian's SQLite treats "file:" names as URIs, whose parameters could
     * turn durability off (mode=memory, nolock, ...): accept plain paths only */
    if (strncmp(path, "file:", 5) == 0)
        return hs_error_set(err, HS_ERR_INVALID, "db", "SQLite URI filenames are not accepted; give a file path");
    return HS_OK;
}

static int sqlite_open(hs_store *s, const char *path, hs_error *err) {
    int rc = check_path(path, err);
    if (rc != HS_OK) return rc;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_configure);
    hs__sqlite *q = hs_calloc(1, sizeof *q);
    q->path = hs_strdup(path);
    hs__pool_init(&q->pool, &reader_ops, q, HS_READERS_MAX);
    /* the writer writes through walbuf.c: a commit's WAL frames and a
     * checkpoint's neighbouring pages in one write each */
    rc = conn_open(&q->writer, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, hs_sqlite_walbuf_vfs(), err);
    if (rc == HS_OK) rc = vacuum_mode_new(q, err); /* before WAL writes the header */
    if (rc == HS_OK) rc = writer_setup(q, err);
    if (rc == HS_OK) rc = hs_schema_migrate(q->writer.db, path, err);
    if (rc == HS_OK) rc = vacuum_mode_convert(q, err);
    if (rc == HS_OK) rc = seq_start(q, err);
    s->be_state = q;
    if (rc == HS_OK) rc = hs_dedup_load(s, err);
    if (rc == HS_OK) rc = hs_late_load(s, err);
    if (rc != HS_OK) {
        hs_late_free(s);
        hs_dedup_free(s);
        s->be_state = NULL;
        conn_close(&q->writer);
        state_free(q);
        return rc;
    }
    hs_debug("store: opened %s (schema version %d)", path, hs_schema_version());
    return HS_OK;
}

static void sqlite_close(hs_store *s) {
    hs__sqlite *q = hs__sq(s);
    /* readers first: the last connection to close checkpoints the WAL */
    hs__pool_drain(&q->pool);
    conn_close(&q->writer);
    hs_settles_clear(s);
    hs__counts_free(&q->pending);
    hs_dedup_free(s);
    hs_late_free(s);
    state_free(q);
    s->be_state = NULL;
}

const hs_store_backend hs_sqlite_backend = {
    .name = "sqlite",
    .match = sqlite_match,
    .open = sqlite_open,
    .close = sqlite_close,
    .reseal = hs__sqlite_reseal,
    .begin = tx_begin,
    .commit = tx_commit,
    .rollback = tx_rollback,
    .savepoint = tx_savepoint,
    .release = tx_release,
    .rollback_to = tx_rollback_to,
    .in_transaction = tx_open,
    .flush = tx_flush,
    .discard = tx_discard,
    .route_source = hs__sqlite_route_source,
    .route_rows = hs__sqlite_route_rows,
    .ingest_insert = hs__sqlite_ingest_insert,
    .attempt_record = hs__sqlite_attempt_record,
    .resources = &hs__sqlite_res_ops,
    .attempt_retry = hs__sqlite_attempt_retry,
    .event_retry = hs__sqlite_event_retry,
    .settle_orphans = hs__sqlite_settle_orphans,
    .sweep = hs__sqlite_sweep,
    .apikeys = &hs__sqlite_apikey_ops,
    .replay = &hs__sqlite_replay_ops,
    .ops = &hs__sqlite_ops_ops,
    .resource_get = hs__sqlite_resource_get,
    .resource_list = hs__sqlite_resource_list,
    .event_get = hs__sqlite_event_get,
    .event_list = hs__sqlite_event_list,
    .event_deliveries = hs__sqlite_event_deliveries,
    .pending_deliveries = hs__sqlite_pending_deliveries,
    .queue_page = hs__sqlite_queue_page,
    .queue_due = hs__sqlite_queue_due,
    .queue_counts = hs__sqlite_queue_counts,
    .source_counts = hs__sqlite_source_counts,
    .circuits = hs__sqlite_circuits,
    .attempt_list = hs__sqlite_attempt_list,
    .attempt_get = hs__sqlite_attempt_get,
    .event_attempts = hs__sqlite_event_attempts,
    .snapshot_begin = snapshot_begin,
    .snapshot_end = snapshot_end,
};
