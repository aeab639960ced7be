/* src/store/sqlite/sqlite.c — the SQLite engine behind src/store/store.h.
 *
 * One writer connection, owned by one writer thread, executes every write.
 * Callers queue requests (hs_wop); the writer takes everything queued (up to
 * HS_STORE_MAX_GROUP) and runs it as one transaction:
 *
 *     BEGIN IMMEDIATE
 *       SAVEPOINT op; <op 1>; RELEASE op      (or ROLLBACK TO op: fails op 1 only)
 *       SAVEPOINT op; <op 2>; RELEASE op
 *       ...
 *     COMMIT                                  (WAL + synchronous=FULL: fsync)
 *
 * and only after COMMIT returns completes the ops: sync callers are woken
 * from their condvar, async ingests go to a completion list that a
 * uv_async_t hands to the loop thread. While one group commits (the fsync is
 * the expensive part) the next group accumulates, so the fsync cost is
 * shared by every request that arrived meanwhile. If the transaction cannot
 * commit, every op of the group fails with HS_ERR_IO and nothing is
 * acknowledged; the next group simply tries again.
 *
 * Reads use a small pool of read-only connections (WAL readers never block
 * the writer), opened lazily and usable from any thread.
 */
#include <signal.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/store_int.h"
#include "base/timeutil.h"

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

sqlite3_stmt *hs_stmt(hs_conn *c, const char *sql, hs_error *err) {
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

void hs_stmt_done(hs_conn *c, sqlite3_stmt *st) {
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
static int run_sql(hs_conn *c, const char *sql) {
    hs_error err;
    sqlite3_stmt *st = hs_stmt(c, sql, &err);
    if (!st) return sqlite3_errcode(c->db) != SQLITE_OK ? sqlite3_errcode(c->db) : SQLITE_ERROR;
    int rc = sqlite3_step(st);
    hs_stmt_done(c, st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int conn_open(hs_conn *c, const char *path, int flags, hs_error *err) {
    memset(c, 0, sizeof *c);
    /* NOMUTEX: one thread uses a connection at a time, we guarantee that */
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
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

static void conn_close(hs_conn *c) {
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
static int writer_setup(hs_store *s, hs_error *err) {
    sqlite3 *db = s->writer.db;
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
        return hs_error_set(err, HS_ERR_IO, "db", "%s is not a SQLite database (or it is encrypted)", s->path);
    if (rc != SQLITE_OK)
        return hs_error_set(err, HS_ERR_IO, "db", "cannot use database %s: %s", s->path, sqlite3_errmsg(db));
    /* SQLite quietly opens a file it may not write read-only */
    if (sqlite3_db_readonly(db, "main") == 1)
        return hs_error_set(err, HS_ERR_IO, "db", "%s is read-only; hookstream needs to write to it", s->path);
    if (strcmp(mode, "wal") != 0)
        return hs_error_set(err, HS_ERR_IO, "db", "cannot switch %s to WAL mode (journal_mode is %s)", s->path, mode);
    rc = sqlite3_exec(db,
                      "PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;"
                      "PRAGMA temp_store=MEMORY;"
                      "PRAGMA cache_size=-16384;"
                      "PRAGMA journal_size_limit=67108864",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) return hs_error_set(err, HS_ERR_IO, "db", "configuring %s: %s", s->path, sqlite3_errmsg(db));
    return HS_OK;
}

/* ---- read pool ---- */

hs_conn *hs_reader_get(hs_store *s, hs_error *err) {
    pthread_mutex_lock(&s->pool_lock);
    while (!s->pool_free && s->pool_open >= HS_READERS_MAX) pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    hs_conn *c = s->pool_free;
    if (c) {
        s->pool_free = c->next_free;
        s->pool_out++;
        pthread_mutex_unlock(&s->pool_lock);
        return c;
    }
    s->pool_open++; /* reserve the slot, open outside the lock */
    s->pool_out++;
    pthread_mutex_unlock(&s->pool_lock);

    c = hs_malloc(sizeof *c);
    if (conn_open(c, s->path, SQLITE_OPEN_READONLY, err) == HS_OK) return c;
    hs_free(c);
    pthread_mutex_lock(&s->pool_lock);
    s->pool_open--;
    s->pool_out--;
    pthread_cond_broadcast(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
    return NULL;
}

void hs_reader_put(hs_store *s, hs_conn *c) {
    pthread_mutex_lock(&s->pool_lock);
    c->next_free = s->pool_free;
    s->pool_free = c;
    s->pool_out--;
    pthread_cond_broadcast(&s->pool_cond);
    pthread_mutex_unlock(&s->pool_lock);
}

/* ---- the writer ---- */

/* Run one op inside its savepoint. False when the enclosing transaction is
 * gone (SQLite rolls back the whole transaction on some I/O errors), in which
 * case the group cannot commit. */
static bool run_op(hs_store *s, hs_wop *op) {
    hs_conn *w = &s->writer;
    hs_error_clear(&op->err);
    op->wrote = false;
    if (op->no_savepoint) {
        /* Ingests and attempt records, the hot paths, skip the savepoint:
         * they fail, if at all, before they write (unknown source), or on a
         * database error, which sets op->wrote and fails the group. */
        op->status = op->exec(s, op);
        if (op->status != HS_OK && op->err.code == HS_OK) op->err.code = op->status;
        return !op->wrote && !sqlite3_get_autocommit(w->db);
    }
    int rc = run_sql(w, "SAVEPOINT op");
    if (rc != SQLITE_OK) {
        op->status = hs_sqlite_fail(&op->err, w->db, rc, "savepoint");
        return false;
    }
    op->status = op->exec(s, op);
    if (op->status != HS_OK && op->err.code == HS_OK) op->err.code = op->status;
    hs_routes_clear(s); /* it may have changed a source, destination or connection */
    if (op->status == HS_OK) {
        rc = run_sql(w, "RELEASE op");
    } else {
        rc = run_sql(w, "ROLLBACK TO op");
        if (rc == SQLITE_OK) rc = run_sql(w, "RELEASE op");
    }
    return rc == SQLITE_OK && !sqlite3_get_autocommit(w->db);
}

/* Hand the results over: sync callers wake, ingests go to the loop. After the
 * unlock an op may be freed by its owner at any moment. */
static void complete_ops(hs_store *s, hs_wop *ops) {
    bool wake_loop = false;
    pthread_mutex_lock(&s->lock);
    for (hs_wop *op = ops, *next; op; op = next) {
        next = op->next;
        if (op->complete) {
            op->next = NULL;
            if (s->c_tail)
                s->c_tail->next = op;
            else
                s->c_head = op;
            s->c_tail = op;
            wake_loop = true;
        } else {
            op->done = true;
        }
    }
    pthread_cond_broadcast(&s->done_cond);
    pthread_mutex_unlock(&s->lock);
    if (wake_loop) uv_async_send(&s->async);
}

const uint64_t hs_store_commit_le_us[HS_STORE_HIST_BUCKETS] = {100,   250,   500,   1000,   2500,   5000,
                                                               10000, 25000, 50000, 100000, 250000, 1000000};
const uint64_t hs_store_batch_le[HS_STORE_HIST_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

/* The index of the first bucket whose bound is >= v (HS_STORE_HIST_BUCKETS: +Inf). */
static size_t bucket_of(const uint64_t *le, uint64_t v) {
    size_t i = 0;
    while (i < HS_STORE_HIST_BUCKETS && v > le[i]) i++;
    return i;
}

static void fail_group(hs_store *s, hs_wop *group, const hs_error *why) {
    hs_conn *w = &s->writer;
    hs_routes_clear(s); /* routes read inside the rolled-back transaction */
    hs_settles_clear(s);
    if (!sqlite3_get_autocommit(w->db)) {
        int rc = run_sql(w, "ROLLBACK");
        if (rc != SQLITE_OK) hs_warn("store: rollback failed: %s", sqlite3_errmsg(w->db));
    }
    for (hs_wop *op = group; op; op = op->next) {
        if (op->status == HS_OK && op->undo) op->undo(op);
        op->status = HS_ERR_IO;
        op->err = *why;
        op->err.code = HS_ERR_IO;
    }
    hs_error_log("store: a write transaction failed, nothing in it was acknowledged: %s", why->msg);
}

static void run_group(hs_store *s, hs_wop *group, size_t n) {
    hs_conn *w = &s->writer;
    hs_error why;
    hs_error_clear(&why);
    uint64_t commit_ns = 0;
    bool ok = true;

    int rc = run_sql(w, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        hs_sqlite_fail(&why, w->db, rc, "cannot start a transaction");
        ok = false;
    }
    for (hs_wop *op = group; ok && op; op = op->next) {
        /* an op with a savepoint may read or change what the counted
         * settles change: write them first */
        if (!op->no_savepoint && hs_settles_flush(s, &why) != HS_OK) {
            ok = false;
            break;
        }
        if (!run_op(s, op)) {
            hs_error_set(&why, HS_ERR_IO, NULL, "transaction aborted: %s",
                         op->err.msg[0] ? op->err.msg : sqlite3_errmsg(w->db));
            ok = false;
        }
    }
    if (ok && hs_settles_flush(s, &why) != HS_OK) ok = false;
    if (ok) {
        uint64_t t0 = hs_monotonic_ns();
        rc = run_sql(w, "COMMIT");
        commit_ns = hs_monotonic_ns() - t0;
        if (rc != SQLITE_OK) {
            hs_error_set(&why, HS_ERR_IO, NULL, "commit failed: %s", sqlite3_errmsg(w->db));
            ok = false;
        }
    }
    uint64_t ok_ops = 0;
    for (hs_wop *op = group; ok && op; op = op->next) ok_ops += op->status == HS_OK;
    pthread_mutex_lock(&s->lock);
    if (ok) {
        s->stats.commits++;
        s->stats.ops_committed += ok_ops;
        s->stats.commit_ns_total += commit_ns;
        s->stats.batch_total += n;
        s->stats.commit_us_hist[bucket_of(hs_store_commit_le_us, commit_ns / 1000)]++;
        s->stats.batch_hist[bucket_of(hs_store_batch_le, n)]++;
    } else {
        s->stats.commit_failures++;
    }
    s->stats.last_batch_size = n;
    pthread_mutex_unlock(&s->lock);
    if (!ok) fail_group(s, group, &why);
    complete_ops(s, group);
}

static void *writer_main(void *arg) {
    hs_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->q_head && !s->closing) pthread_cond_wait(&s->work_cond, &s->lock);
        if (!s->q_head) break; /* closing, and everything queued is done */
        hs_wop *group = s->q_head, *last = group;
        size_t n = 1;
        while (n < HS_STORE_MAX_GROUP && last->next) {
            last = last->next;
            n++;
        }
        s->q_head = last->next;
        if (!s->q_head) s->q_tail = NULL;
        last->next = NULL;
        s->q_len -= n;
        s->stats.queue_depth = s->q_len;
        pthread_mutex_unlock(&s->lock);
        run_group(s, group, n);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int enqueue_locked(hs_store *s, hs_wop *op, hs_error *err) {
    if (s->closing) return hs_error_set(err, HS_ERR_CLOSED, NULL, "the store is shutting down");
    if (s->q_len >= HS_STORE_MAX_QUEUE)
        return hs_error_set(err, HS_ERR_BUSY, NULL, "the write queue is full (%d requests waiting)",
                            HS_STORE_MAX_QUEUE);
    op->next = NULL;
    op->status = HS_ERR_IO; /* what an op that never runs reports */
    if (s->q_tail)
        s->q_tail->next = op;
    else
        s->q_head = op;
    s->q_tail = op;
    s->q_len++;
    s->stats.queue_depth = s->q_len;
    pthread_cond_signal(&s->work_cond);
    return HS_OK;
}

int hs_writer_submit(hs_store *s, hs_wop *op, hs_error *err) {
    /* the writer waiting for itself would never wake */
    if (s->thread_started && pthread_equal(pthread_self(), s->thread))
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "store write called on the writer thread");
    op->done = false;
    op->ing = NULL;
    op->complete = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = enqueue_locked(s, op, err);
    if (rc == HS_OK) {
        s->sync_waiters++;
        while (!op->done) pthread_cond_wait(&s->done_cond, &s->lock);
        /* hs_store_close waits for this before it destroys the lock */
        if (--s->sync_waiters == 0 && s->closing) pthread_cond_broadcast(&s->done_cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc != HS_OK) return rc;
    if (op->status != HS_OK) {
        if (err) *err = op->err;
        return op->status;
    }
    hs_error_clear(err);
    return HS_OK;
}

/* ---- async completions on the loop ---- */

static void drain_completions(hs_store *s) {
    pthread_mutex_lock(&s->lock);
    hs_wop *op = s->c_head;
    s->c_head = s->c_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    while (op) {
        hs_wop *next = op->next; /* complete may free op */
        s->async_pending--;
        op->complete(op);
        op = next;
    }
    /* nothing outstanding: the store alone must not keep the loop alive */
    if (s->async_pending == 0) uv_unref((uv_handle_t *)&s->async);
}

static void on_async(uv_async_t *h) { drain_completions(h->data); }

void hs_store_run_completions(hs_store *s) {
    if (s->loop) drain_completions(s);
}

int hs_store_attach_loop(hs_store *s, uv_loop_t *loop) {
    if (s->loop) return HS_ERR_INVALID;
    int rc = uv_async_init(loop, &s->async, on_async);
    if (rc != 0) {
        hs_error_log("store: uv_async_init: %s", uv_strerror(rc));
        return HS_ERR_IO;
    }
    s->async.data = s;
    uv_unref((uv_handle_t *)&s->async);
    s->loop = loop;
    return HS_OK;
}

int hs_writer_submit_async(hs_store *s, hs_wop *op, hs_error *err) {
    if (!s->loop) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "async store writes need an attached loop");
    pthread_mutex_lock(&s->lock);
    int rc = enqueue_locked(s, op, err);
    pthread_mutex_unlock(&s->lock);
    if (rc != HS_OK) return rc;
    if (s->async_pending++ == 0) uv_ref((uv_handle_t *)&s->async);
    return HS_OK;
}

static void ingest_complete(hs_wop *op) {
    hs_ingest *ing = op->ing;
    ing->err = op->err;
    ing->cb(ing, op->status);
}

int hs_store_ingest(hs_store *s, hs_ingest *ing) {
    hs_error_clear(&ing->err);
    if (!s->loop || !ing->cb || !ing->priv_ || !ing->source_ref || (!ing->body && ing->body_len))
        return hs_error_set(&ing->err, HS_ERR_INTERNAL, NULL,
                            "hs_store_ingest needs an attached loop, a callback, a source and hs_ingest_new");
    hs_wop *op = ing->priv_;
    memset(op, 0, sizeof *op);
    op->exec = hs_ingest_exec;
    op->undo = hs_ingest_undo;
    op->ing = ing;
    op->no_savepoint = true;
    op->complete = ingest_complete;
    return hs_writer_submit_async(s, op, &ing->err);
}

/* ---- open, close, stats ---- */

static hs_store *store_new(const char *path) {
    hs_store *s = hs_calloc(1, sizeof *s);
    s->path = hs_strdup(path);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work_cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    pthread_cond_init(&s->pool_cond, NULL);
    return s;
}

static void store_free(hs_store *s) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work_cond);
    pthread_cond_destroy(&s->done_cond);
    pthread_mutex_destroy(&s->pool_lock);
    pthread_cond_destroy(&s->pool_cond);
    hs_free(s->path);
    hs_free(s);
}

static void close_connections(hs_store *s) {
    /* readers first: the last connection to close checkpoints the WAL */
    while (s->pool_free) {
        hs_conn *c = s->pool_free;
        s->pool_free = c->next_free;
        conn_close(c);
        hs_free(c);
    }
    conn_close(&s->writer);
    hs_routes_clear(s);
    hs_settles_clear(s);
}

/* Signals belong to the loop thread (uv_signal_t): the writer blocks them. */
static int start_writer(hs_store *s, hs_error *err) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return hs_error_set(err, HS_ERR_IO, NULL, "cannot start the store writer thread: %s", strerror(rc));
    s->thread_started = true;
    return HS_OK;
}

/* Process-wide SQLite settings, applied once before the library initializes.
 * Memory statistics take a global mutex on every allocation that all our
 * threads would share; we never read them. */
static void sqlite_configure(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (rc != SQLITE_OK) hs_debug("store: SQLITE_CONFIG_MEMSTATUS: %s", sqlite3_errstr(rc));
    sqlite3_initialize();
}

int hs_sqlite_open(const char *path, hs_store **out, hs_error *err) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_configure);
    hs_store *s = store_new(path);
    int rc = conn_open(&s->writer, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (rc == HS_OK) rc = writer_setup(s, err);
    if (rc == HS_OK) rc = hs_schema_migrate(s->writer.db, path, err);
    if (rc == HS_OK) rc = start_writer(s, err);
    if (rc != HS_OK) {
        conn_close(&s->writer);
        store_free(s);
        return rc;
    }
    hs_debug("store: opened %s (schema version %d)", path, hs_schema_version());
    *out = s;
    return HS_OK;
}

static void on_async_closed(uv_handle_t *h) { store_free(h->data); }

void hs_store_close(hs_store *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->closing = true; /* from now on enqueue refuses: HS_ERR_CLOSED */
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
    /* the writer leaves only once the queue is empty, so everything accepted
     * has been committed (or failed) and completed when join returns */
    if (s->thread_started) pthread_join(s->thread, NULL);
    if (s->stats.commits)
        hs_info("store: %llu writes in %llu commits (%.1f per commit), %.3f ms per commit",
                (unsigned long long)s->stats.ops_committed, (unsigned long long)s->stats.commits,
                (double)s->stats.ops_committed / (double)s->stats.commits,
                (double)s->stats.commit_ns_total / 1e6 / (double)s->stats.commits);
    if (s->loop) drain_completions(s); /* we are on the loop thread */
    /* sync callers woken by the last group may not have left the lock yet */
    pthread_mutex_lock(&s->lock);
    while (s->sync_waiters > 0) pthread_cond_wait(&s->done_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);

    pthread_mutex_lock(&s->pool_lock);
    while (s->pool_out > 0) pthread_cond_wait(&s->pool_cond, &s->pool_lock);
    pthread_mutex_unlock(&s->pool_lock);
    close_connections(s);

    if (s->loop)
        uv_close((uv_handle_t *)&s->async, on_async_closed);
    else
        store_free(s);
}

void hs_store_get_stats(hs_store *s, hs_store_stats *out) {
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->queue_depth = s->q_len;
    pthread_mutex_unlock(&s->lock);
}
