/* test_walbuf.c — src/store/sqlite/walbuf.c, the VFS that writes runs of
 * consecutive writes in one: a commit's WAL frames and a checkpoint's
 * pages do (write system calls counted in /proc/self/io), and every other
 * connection, on the default VFS, finds
 * in the files exactly what it would without it: after each commit, after
 * a transaction that spilled frames and was rolled back, and when a write
 * fails (a file size limit) the commit fails and nothing is left behind. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite/sqlite.h"

typedef struct fx {
    char dir[64];
    char path[96];
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/hs-walbuf-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static void exec_ok(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static long long one_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void integrity_ok(sqlite3 *db) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
}

/* The writer's connection as the store opens it: walbuf, WAL,
 * synchronous=FULL; checkpoints by hand only (the test decides). */
static sqlite3 *open_writer(const char *path) {
    const char *vfs = hs_sqlite_walbuf_vfs();
    assert_non_null(vfs);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
    exec_ok(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0");
    return db;
}

static sqlite3 *open_plain(const char *path, int flags) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, flags, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    return db;
}

/* write system calls this process has made */
static long long syscw(void) {
    FILE *fp = fopen("/proc/self/io", "r");
    assert_non_null(fp);
    char line[128];
    long long v = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "syscw: %lld", &v) == 1) break;
    fclose(fp);
    return v;
}

/* valgrind passes its scheduler's lock through a pipe at each system call
 * the program makes: its own writes would be counted */
static bool under_valgrind(void) {
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* rows rows of ~1 KiB into t, in one transaction */
static int insert_rows(sqlite3 *db, int first, int rows) {
    char sql[160];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t SELECT i, randomblob(1000) FROM n",
             first, first + rows - 1);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* A commit of ~250 pages: SQLite alone writes two calls a frame (>= 500);
 * through walbuf, one per 31 frames (and the sync's own writes). */
static void test_frames_in_few_writes(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path);
    exec_ok(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    long long before = syscw();
    assert_int_equal(insert_rows(w, 1, 1000), SQLITE_OK);
    long long writes = syscw() - before;
    bool count = !under_valgrind();
    print_message("  a commit of 1000 rows of 1 KiB: %lld write calls%s\n", writes,
                  count ? "" : " (valgrind's own too: not checked)");
    assert_true(writes > 0);
    assert_true(!count || writes <= 40);
    /* the checkpoint copies those ~260 pages, neighbours all but a few,
     * into the database file */
    before = syscw();
    exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    writes = syscw() - before;
    print_message("  its checkpoint: %lld write calls\n", writes);
    assert_true(writes > 0);
    assert_true(!count || writes <= 40);
    sqlite3 *r = open_plain(f->path, SQLITE_OPEN_READONLY);
    assert_int_equal(one_int(r, "SELECT count(*) FROM t"), 1000);
    integrity_ok(r);
    sqlite3_close(r);
    sqlite3_close(w);
}

/* Commit after commit, a reader on the default VFS sees each one whole,
 * across checkpoints and the log starting over. */
static void test_readers_see_each_commit(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path);
    exec_ok(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    sqlite3 *r = open_plain(f->path, SQLITE_OPEN_READONLY);
    int total = 0;
    for (int i = 0; i < 60; i++) {
        int rows = 1 + (i * 37) % 90;
        assert_int_equal(insert_rows(w, total + 1, rows), SQLITE_OK);
        total += rows;
        exec_ok(w, "UPDATE t SET v = randomblob(900) WHERE id % 7 = 0"); /* pages written again */
        assert_int_equal(one_int(r, "SELECT count(*) FROM t"), total);
        assert_int_equal(one_int(r, "SELECT sum(length(v)) > 0 FROM t"), 1);
        if (i % 10 == 9) exec_ok(w, i % 20 == 19 ? "PRAGMA wal_checkpoint(RESTART)" : "PRAGMA wal_checkpoint(PASSIVE)");
    }
    integrity_ok(r);
    sqlite3_close(r);
    sqlite3_close(w);
    sqlite3 *again = open_plain(f->path, SQLITE_OPEN_READONLY);
    assert_int_equal(one_int(again, "SELECT count(*) FROM t"), total);
    integrity_ok(again);
    sqlite3_close(again);
}

/* A transaction too big for its cache spills frames into the log and is
 * rolled back; another connection then writes where they were; the first
 * writes on. Nothing it held back may land over the other's frames. */
static void test_rollback_after_spill(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path);
    exec_ok(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); PRAGMA cache_size=5");
    sqlite3 *other = open_plain(f->path, SQLITE_OPEN_READWRITE);
    exec_ok(other, "PRAGMA synchronous=FULL");
    sqlite3 *r = open_plain(f->path, SQLITE_OPEN_READONLY);
    int total = 0, id = 1;
    /* rolled-back transactions of a few frames to a few chunks: what is
     * still held back then lies where the other connection writes next */
    static const int sizes[] = {10, 20, 40, 80, 200};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        exec_ok(w, "BEGIN");
        assert_int_equal(insert_rows(w, 100000 + id, sizes[k]), SQLITE_OK); /* spills: more than 5 pages */
        exec_ok(w, "ROLLBACK");
        assert_int_equal(insert_rows(other, id, 150), SQLITE_OK);
        id += 150;
        assert_int_equal(insert_rows(w, id, 10), SQLITE_OK);
        id += 10;
        total += 160;
        assert_int_equal(one_int(r, "SELECT count(*) FROM t"), total);
        assert_int_equal(one_int(r, "SELECT count(*) FROM t WHERE id > 100000"), 0);
        integrity_ok(r);
    }
    sqlite3_close(r);
    sqlite3_close(other);
    exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    integrity_ok(w);
    assert_int_equal(one_int(w, "SELECT count(*) FROM t"), total);
    sqlite3_close(w);
}

/* A write that fails (the file may not grow: RLIMIT_FSIZE) fails the
 * commit; what was held back is gone, the next commits are whole. */
static void test_failed_write_fails_commit(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path);
    exec_ok(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
    assert_int_equal(insert_rows(w, 1, 50), SQLITE_OK);
    exec_ok(w, "PRAGMA wal_checkpoint(TRUNCATE)");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 300 * 1024; /* the log may not pass 300 KiB */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = insert_rows(w, 100, 2000); /* ~2 MB of frames */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_not_equal(rc, SQLITE_OK);
    print_message("  the commit past the limit: %s\n", sqlite3_errstr(rc));
    assert_int_equal(insert_rows(w, 5000, 20), SQLITE_OK);
    sqlite3 *r = open_plain(f->path, SQLITE_OPEN_READONLY);
    assert_int_equal(one_int(r, "SELECT count(*) FROM t"), 70);
    integrity_ok(r);
    sqlite3_close(r);
    sqlite3_close(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_frames_in_few_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_see_each_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_after_spill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_fails_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
