/* test_store.c — the SQLite backend's own behaviour: schema and
 * migrations, WAL, the route cache, orphans left in a hand-edited file,
 * and storage failures (a full disk). What every backend must do is in
 * tests/store/test_store_conformance.c. */
#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#include "../store/fixtures.h"
#include "store/sqlite/sqlite.h"

/* ---- fixture: a fresh database in a temporary directory ---- */

/* The SQLite file test.db in dir. */
static void sqlite_path(const char *dir, char *out, size_t cap) { snprintf(out, cap, "%s/test.db", dir); }

static int setup(void **state) { return fixture_setup(state, sqlite_path); }

/* ---- helpers ---- */

/* An integer from the database, read with a connection of our own. */
static long long query_int(const char *path, const char *sql) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static char *query_text(const char *path, const char *sql) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *v = hs_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ---- open and schema ---- */

static void test_open_errors(void **state) {
    (void)state;
    hs_store *s = (hs_store *)1;
    hs_error err;
    /* PostgreSQL URLs go to src/store/pg/: nothing listens on port 1, and
     * the message names the server without the password */
    assert_int_equal(hs_store_open("postgres://u:secretpw@127.0.0.1:1/db", &s, &err), HS_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot connect to PostgreSQL at postgres://u:***@127.0.0.1:1/db"));
    assert_null(strstr(err.msg, "secretpw"));
    assert_int_equal(hs_store_open("postgresql://127.0.0.1:1/db?password=secretpw", &s, &err), HS_ERR_IO);
    assert_null(strstr(err.msg, "secretpw"));
    assert_int_equal(hs_store_open(":memory:", &s, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open("", &s, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open(NULL, &s, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open("file:x.db?mode=memory", &s, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open("/nonexistent-dir/x/y.db", &s, &err), HS_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/y.db"));

    char dir[] = "/tmp/hs_store_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];

    /* not a database at all */
    snprintf(path, sizeof path, "%s/garbage.db", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++) fputs("this is not a database, just text. ", f);
    fclose(f);
    assert_int_equal(hs_store_open(path, &s, &err), HS_ERR_IO);
    assert_non_null(strstr(err.msg, "not a SQLite database"));

    /* a schema newer than this build: refused, and left untouched */
    snprintf(path, sizeof path, "%s/newer.db", dir);
    raw_exec(path, "PRAGMA application_id = 1751872372; PRAGMA user_version = 999; CREATE TABLE future(x);");
    assert_int_equal(hs_store_open(path, &s, &err), HS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "999"));
    assert_int_equal(query_int(path, "PRAGMA user_version"), 999);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master"), 1);

    /* someone else's database */
    snprintf(path, sizeof path, "%s/foreign.db", dir);
    raw_exec(path, "CREATE TABLE customers(name TEXT)");
    assert_int_equal(hs_store_open(path, &s, &err), HS_ERR_INVALID);
    assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master"), 1);
    snprintf(path, sizeof path, "%s/otherapp.db", dir);
    raw_exec(path, "PRAGMA application_id = 42");
    assert_int_equal(hs_store_open(path, &s, &err), HS_ERR_INVALID);
    remove_dir(dir);
}

static void test_migrations_and_reopen(void **state) {
    fixture *fx = *state;
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), hs_schema_version());
    assert_int_equal(query_int(fx->path, "PRAGMA application_id"), 0x686b7374);
    const char *tables[] = {"api_keys",
                            "sources",
                            "destinations",
                            "connections",
                            "events",
                            "deliveries",
                            "refs",
                            "queues",
                            "source_events",
                            "events_unindexed",
                            "destination_attempts",
                            "attempts_unindexed"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", tables[i]);
        assert_int_equal(query_int(fx->path, sql), 1);
    }
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                                         "('events_status','deliveries_event',"
                                         "'deliveries_pending','deliveries_retry')"),
                     4);
    /* steps 3, 4 and 11 dropped them */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                         "('deliveries_destination', 'attempts_event', 'events_source', "
                                         "'attempts_destination')"),
                     0);
    reopen_store(fx);
    reopen_store(fx);
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), hs_schema_version());
    /* WAL is a property of the file: stays on */
    sqlite3 *db;
    sqlite3_open(fx->path, &db);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- resources ---- */

/* ---- ingest ---- */

/* ud: "key=json" — sets one field of the doc */
static int set_field_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)err;
    const char *kv = ud;
    const char *eq = strchr(kv, '=');
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    *updated = json_deep_copy(current);
    json_object_set_new(*updated, key, json_loads(eq + 1, JSON_DECODE_ANY, NULL));
    return HS_OK;
}

/* The stored doc has no timestamps: they live in columns. */
static void test_doc_without_timestamps(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"a\",\"slug\":\"orders\"}");
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM sources WHERE doc LIKE '%created_at%'"), 0);
    json_decref(src);
}

/* The writer caches each source's routes: every kind of change to sources,
 * destinations and connections must show in the very next ingest. */
static void test_route_cache_follows_changes(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\",\"slug\":\"cached\"}");
    json_t *d1 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d1\"}");
    json_t *d2 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d2\"}");
    json_t *c1 = create_conn(fx->s, src, d1, true);
    const char *sid = jstr(src, "id");
    ingest_result r;
    assert_int_equal(ingest_one(fx, "cached", "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 1);
    assert_int_equal(ingest_one(fx, sid, "x", 1, &r), HS_OK); /* both refs now cached */
    assert_int_equal(r.ndeliveries, 1);

    json_t *c2 = create_conn(fx->s, src, d2, true); /* a new connection */
    assert_int_equal(ingest_one(fx, "cached", "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 2);
    assert_int_equal(
        hs_store_resource_update(fx->s, HS_KIND_CONNECTION, jstr(c2, "id"), set_field_fn, "enabled=false", NULL, &err),
        HS_OK);
    assert_int_equal(ingest_one(fx, sid, "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 1);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_DESTINATION, jstr(d1, "id"), set_field_fn,
                                              "status=\"disabled\"", NULL, &err),
                     HS_OK);
    assert_int_equal(ingest_one(fx, sid, "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 0);
    assert_string_equal(r.event_status, "received");
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_DESTINATION, jstr(d1, "id"), set_field_fn,
                                              "status=\"active\"", NULL, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_resource_update(fx->s, HS_KIND_SOURCE, sid, set_field_fn, "status=\"paused\"", NULL, &err), HS_OK);
    assert_int_equal(ingest_one(fx, "cached", "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 0);
    assert_int_equal(
        hs_store_resource_update(fx->s, HS_KIND_SOURCE, sid, set_field_fn, "status=\"disabled\"", NULL, &err), HS_OK);
    assert_int_equal(ingest_one(fx, "cached", "x", 1, &r), HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_resource_update(fx->s, HS_KIND_SOURCE, sid, set_field_fn, "status=\"active\"", NULL, &err), HS_OK);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, sid, set_slug_fn, "renamed", NULL, &err), HS_OK);
    assert_int_equal(ingest_one(fx, "cached", "x", 1, &r), HS_ERR_NOTFOUND);
    assert_int_equal(ingest_one(fx, "renamed", "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 1);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_CONNECTION, jstr(c1, "id"), &err), HS_OK);
    assert_int_equal(ingest_one(fx, "renamed", "x", 1, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 0);

    json_t *all[] = {src, d1, d2, c1, c2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) json_decref(all[i]);
}

/* ---- the life of a delivery whose destination is deleted ---- */

/* The event's status and its open count, read with a connection of ours. */
static char *event_status(fixture *fx, const char *event_id) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT status || '/' || open_deliveries FROM events WHERE id = '%s'", event_id);
    return query_text(fx->path, sql);
}

static void expect_event(fixture *fx, const char *event_id, const char *status_open) {
    char *got = event_status(fx, event_id);
    assert_string_equal(got, status_open);
    hs_free(got);
}

/* At start: a pending delivery whose destination is gone (left by a retry
 * before the refusal existed, or a hand-edited database) is cancelled and
 * its event settled; it is found through the queue counts. */
static void test_settle_orphans(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char mixed[HS_ID_MAX], only_d2[HS_ID_MAX], live[HS_ID_MAX];
    hs_delivery_ref dl[2];
    fanout_ingest(fx, &f, mixed, dl);
    record_attempt(fx, &dl[0], mixed, true); /* d1's delivered, d2's pending */
    fanout_ingest(fx, &f, only_d2, dl);
    record_attempt(fx, &dl[0], only_d2, false); /* d1's dead-lettered */
    fanout_ingest(fx, &f, live, dl);
    char live_d1[HS_ID_MAX];
    snprintf(live_d1, sizeof live_d1, "%s", dl[0].id);
    close_store(fx);
    /* d2 removed behind the store's back: its pending deliveries stay */
    char sql[600];
    snprintf(sql, sizeof sql,
             "DELETE FROM connections WHERE destination_id = '%s'; DELETE FROM destinations WHERE id = '%s';",
             jstr(f.d2, "id"), jstr(f.d2, "id"));
    raw_exec(fx->path, sql);
    open_store(fx);
    expect_event(fx, mixed, "processing/1");
    assert_int_equal(hs_store_settle_orphans(fx->s, &err), HS_OK);
    expect_event(fx, mixed, "delivered/0");
    expect_event(fx, only_d2, "failed/0");
    expect_event(fx, live, "processing/1"); /* its d1 delivery is pending */
    hs_delivery *p;
    size_t n;
    assert_int_equal(hs_store_pending_deliveries(fx->s, &p, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(p[0].id, live_d1);
    hs_free(p);
    hs_queue_count *qc;
    assert_int_equal(hs_store_queue_counts(fx->s, &qc, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(qc[0].destination_id, jstr(f.d1, "id"));
    assert_int_equal(qc[0].pending, 1);
    hs_free(qc);
    assert_int_equal(hs_store_settle_orphans(fx->s, &err), HS_OK); /* nothing left: no change */
    expect_event(fx, live, "processing/1");
    fanout_free(&f);
}

/* A database of schema version 4 (deliveries named by text ids) migrates to
 * 5: every delivery gets a seq in its old id order and a new id, attempts
 * follow their deliveries, the queue counts are filled, and an event left
 * processing without a pending delivery settles. */
static void test_migration_v5(void **state) {
    fixture *fx = *state;
    hs_error err;
    close_store(fx);
    remove(fx->path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
    assert_int_equal(hs_schema_migrate_to(db, fx->path, 4, &err), HS_OK);
    const char *d1 = "dst_00000000000100000000000000000001", *d2 = "dst_00000000000100000000000000000002";
    const char *c1 = "conn_00000000000100000000000000000001", *c2 = "conn_00000000000100000000000000000002";
    char sql[4096];
    snprintf(
        sql, sizeof sql,
        "INSERT INTO sources VALUES('src_00000000000100000000000000000001', NULL, 'active', "
        "'{\"id\":\"src_00000000000100000000000000000001\",\"name\":\"s\",\"status\":\"active\"}', 1, 1);"
        "INSERT INTO destinations VALUES('%s', NULL, 'active', 'http', '{\"id\":\"%s\"}', 1, 1);"
        "INSERT INTO destinations VALUES('%s', NULL, 'active', 'http', '{\"id\":\"%s\"}', 1, 1);"
        "INSERT INTO connections VALUES('%s', 'src_00000000000100000000000000000001', '%s', 1, '{}', 1, 1);"
        "INSERT INTO connections VALUES('%s', 'src_00000000000100000000000000000001', '%s', 1, '{}', 1, 1);"
        "INSERT INTO events(id, source_id, method, path, query, headers, body, source_ip, content_type, "
        "received_at, status, open_deliveries) VALUES"
        "('evt_1', 'src_00000000000100000000000000000001', 'POST', '/', '', '{}', x'', '', '', 5, 'processing', 2),"
        "('evt_2', 'src_00000000000100000000000000000001', 'POST', '/', '', '{}', x'', '', '', 6, 'failed', 0),"
        "('evt_3', 'src_00000000000100000000000000000001', 'POST', '/', '', '{}', x'', '', '', 7, 'processing', 0);"
        "INSERT INTO deliveries VALUES"
        "('dlv_b', 'evt_1', '%s', '%s', 'pending', 0, 5, 5, 5),"
        "('dlv_a', 'evt_1', '%s', '%s', 'pending', 1, 9, 5, 5),"
        "('dlv_c', 'evt_2', '%s', '%s', 'dlq', 3, 0, 6, 6),"
        "('dlv_d', 'evt_3', '%s', '%s', 'cancelled', 0, 7, 7, 7);"
        "INSERT INTO delivery_attempts(id, delivery_id, event_id, destination_id, connection_id, attempt_number, "
        "status, request_url, request_method, request_headers, duration_ms, is_dlq, created_at) VALUES"
        "('da_1', 'dlv_a', 'evt_1', '%s', '%s', 1, 'failed', '', 'POST', '{}', 1, 0, 8),"
        "('da_2', 'dlv_c', 'evt_2', '%s', '%s', 3, 'failed', '', 'POST', '{}', 1, 1, 8);",
        d1, d1, d2, d2, c1, d1, c2, d2, d1, c1, d2, c2, d1, c1, d2, c2, d2, c2, d1, c1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    open_store(fx);
    assert_int_equal(query_int(fx->path, "PRAGMA user_version"), hs_schema_version());
    hs_delivery *p;
    size_t n;
    assert_int_equal(hs_store_pending_deliveries(fx->s, &p, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    /* by destination: d1's dlv_b (seq 2: "dlv_a" < "dlv_b"), d2's dlv_a (seq 1) */
    assert_string_equal(p[0].destination_id, d1);
    assert_int_equal(p[0].seq, 2);
    assert_string_equal(p[1].destination_id, d2);
    assert_string_equal(p[1].connection_id, c2);
    assert_int_equal(p[1].seq, 1);
    assert_int_equal(p[1].attempts, 1);
    uint64_t t, q;
    assert_true(hs__delivery_id_parse(p[1].id, &t, &q));
    assert_int_equal(t, 5);
    assert_int_equal(q, 1);
    /* the attempts were renamed with their deliveries */
    snprintf(sql, sizeof sql, "SELECT delivery_id FROM delivery_attempts WHERE id = 'da_1'");
    char *got = query_text(fx->path, sql);
    assert_string_equal(got, p[1].id);
    hs_free(got);
    hs_free(p);
    /* step 11: the late indexes hold every event and attempt, none queued */
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM source_events WHERE source_id = "
                                         "'src_00000000000100000000000000000001'"),
                     3);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM destination_attempts WHERE destination_id = '%s'", d1);
    assert_int_equal(query_int(fx->path, sql), 1);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM destination_attempts"), 2);
    assert_int_equal(query_int(fx->path, "SELECT (SELECT count(*) FROM events_unindexed) + (SELECT count(*) FROM "
                                         "attempts_unindexed)"),
                     0);
    hs_event_query eq = {.source_id = "src_00000000000100000000000000000001", .page = {.limit = 2}};
    hs_event **ev = NULL;
    bool more = false;
    assert_int_equal(hs_store_event_list(fx->s, &eq, &ev, &n, &more, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(ev[0]->id, "evt_3");
    assert_string_equal(ev[1]->id, "evt_2");
    for (size_t i = 0; i < n; i++) hs_event_free(ev[i]);
    hs_free(ev);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM delivery_attempts a WHERE NOT EXISTS "
                                         "(SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)"),
                     0);
    hs_queue_count *qc;
    assert_int_equal(hs_store_queue_counts(fx->s, &qc, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) assert_int_equal(qc[i].pending, 1);
    hs_free(qc);
    expect_event(fx, "evt_3", "cancelled/0");
    expect_event(fx, "evt_1", "processing/2");
    /* and the queue reads page it */
    hs_delivery page[4];
    assert_int_equal(hs_store_queue_page(fx->s, d2, 0, false, 4, page, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(hs_store_queue_page(fx->s, d2, 0, true, 4, page, &n, &err), HS_OK);
    assert_int_equal(n, 0); /* attempted once: not fresh */
    uint64_t next_due;
    assert_int_equal(hs_store_queue_due(fx->s, d2, 8, NULL, 0, 4, page, &n, &next_due, &err), HS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next_due, 9);
    assert_int_equal(hs_store_queue_due(fx->s, d2, 9, NULL, 0, 4, page, &n, &next_due, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(next_due, 0);
    assert_string_equal(page[0].event_id, "evt_1");
}

/* ---- storage failure: a VFS whose writes fail like a full disk ---- */

typedef struct shim_file {
    sqlite3_file base;
    sqlite3_file *real;
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static atomic_int disk_full;

#define REAL(f) (((shim_file *)(f))->real)
static int shim_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int shim_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) {
    return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int shim_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
    if (atomic_load(&disk_full)) return SQLITE_FULL;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 sz) { return REAL(f)->pMethods->xTruncate(REAL(f), sz); }
static int shim_sync(sqlite3_file *f, int fl) { return REAL(f)->pMethods->xSync(REAL(f), fl); }
static int shim_size(sqlite3_file *f, sqlite3_int64 *p) { return REAL(f)->pMethods->xFileSize(REAL(f), p); }
static int shim_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int shim_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int shim_reserved(sqlite3_file *f, int *p) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), p); }
static int shim_fcntl(sqlite3_file *f, int op, void *a) { return REAL(f)->pMethods->xFileControl(REAL(f), op, a); }
static int shim_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int shim_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int shim_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp) {
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int shim_shmlock(sqlite3_file *f, int o, int n, int fl) {
    return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl);
}
static void shim_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int shim_shmunmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int shim_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp) {
    return REAL(f)->pMethods->xFetch(REAL(f), o, n, pp);
}
static int shim_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods shim_io = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_size,
    shim_lock,
    shim_unlock,
    shim_reserved,
    shim_fcntl,
    shim_sector,
    shim_devchar,
    shim_shmmap,
    shim_shmlock,
    shim_shmbarrier,
    shim_shmunmap,
    shim_fetch,
    shim_unfetch,
};

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    shim_file *sf = (shim_file *)f;
    sf->real = (sqlite3_file *)(sf + 1);
    sf->real->pMethods = NULL;
    int rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (sf->real->pMethods) sf->real->pMethods->xClose(sf->real);
        f->pMethods = NULL;
        return rc;
    }
    f->pMethods = &shim_io;
    return SQLITE_OK;
}

static int setup_full_disk(void **state) {
    real_vfs = sqlite3_vfs_find(NULL);
    shim_vfs = *real_vfs;
    shim_vfs.zName = "hs-test-full-disk";
    shim_vfs.szOsFile = (int)sizeof(shim_file) + real_vfs->szOsFile;
    shim_vfs.xOpen = shim_open;
    shim_vfs.pNext = NULL;
    sqlite3_vfs_register(&shim_vfs, 1); /* default: the store will use it */
    return setup(state);
}

static int teardown_full_disk(void **state) {
    atomic_store(&disk_full, 0);
    int rc = teardown(state);
    sqlite3_vfs_unregister(&shim_vfs);
    return rc;
}

/* The events of source_id, listed limit at a time following the cursor:
 * newest first, each once; how many. */
static size_t list_by_source(fixture *fx, const char *source_id, int limit) {
    hs_error err;
    char last[HS_ID_MAX] = "";
    size_t total = 0;
    hs_event_query eq = {.source_id = source_id, .page = {.limit = limit}};
    for (bool more = true; more;) {
        hs_event **ev = NULL;
        size_t n = 0;
        more = false;
        assert_int_equal(hs_store_event_list(fx->s, &eq, &ev, &n, &more, &err), HS_OK);
        for (size_t k = 0; k < n; k++) {
            if (last[0]) assert_true(strcmp(ev[k]->id, last) < 0);
            hs_id_copy(last, ev[k]->id);
            hs_event_free(ev[k]);
        }
        total += n;
        hs_free(ev);
        eq.page.cursor = last;
    }
    return total;
}

static void test_disk_full(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    counter c = {0};
    for (int i = 0; i < 10; i++) assert_int_equal(hs_store_ingest(fx->s, counted_ingest(jstr(src, "id"), &c)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.ok, 10);

    atomic_store(&disk_full, 1);
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 50; i++) assert_int_equal(hs_store_ingest(fx->s, counted_ingest(jstr(src, "id"), &c)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.done, 50);
    assert_int_equal(c.ok, 0);
    assert_int_equal(c.other, 50); /* HS_ERR_IO, checked below for one */
    ingest_result r;
    assert_int_equal(ingest_one(fx, jstr(src, "id"), "x", 1, &r), HS_ERR_IO);
    json_t *doc = json_pack("{s:s,s:s}", "id", "src_00000000000000000000000000000001", "name", "x");
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_ERR_IO);
    assert_non_null(strstr(err.msg, "commit"));
    hs_store_stats st;
    hs_store_get_stats(fx->s, &st);
    assert_true(st.commit_failures >= 2);
    /* reads keep working */
    json_t *got;
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, jstr(src, "id"), &got, &err), HS_OK);
    json_decref(got);

    /* space again: the same store carries on, nothing half-written shows;
     * a second on, so that the late indexes begin a batch (late.c) after
     * the failed groups, whose queued rows are none of it */
    atomic_store(&disk_full, 0);
    usleep(1100 * 1000);
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_OK);
    json_decref(doc);
    memset(&c, 0, sizeof c);
    for (int i = 0; i < 5; i++) assert_int_equal(hs_store_ingest(fx->s, counted_ingest(jstr(src, "id"), &c)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.ok, 5);
    /* commits enough for that batch to be written and taken off the queue */
    for (int i = 0; i < 10; i++) assert_int_equal(ingest_one(fx, jstr(src, "id"), "y", 1, &r), HS_OK);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM events"), 25);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM deliveries"), 25);
    for (int i = 0; i < 2; i++) { /* listed by source: every event once */
        assert_int_equal(list_by_source(fx, jstr(src, "id"), 100), 25);
        assert_int_equal(query_int(fx->path, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM "
                                             "source_events x WHERE x.id = e.id) AND NOT EXISTS (SELECT 1 FROM "
                                             "events_unindexed u WHERE u.id = e.id)"),
                         0);
        if (i == 0) reopen_store(fx);
    }
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM events"), 25);
    char *check = query_text(fx->path, "PRAGMA integrity_check");
    assert_string_equal(check, "ok");
    hs_free(check);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

/* The late indexes (late.c) after a failed group: its rows were queued in
 * memory and in the queue table, and the rollback took them out of the
 * table only, whose next rows take their numbers (n) again. Were they
 * left in the list, the next batch would end with them and its last
 * DELETE (n <= the batch's greatest) would take rows queued after it off
 * the queue before they are indexed: events no list by source shows.
 * hs_late_discard drops them; this makes exactly that order of things. */
static void test_late_failed_group(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    const char *sid = jstr(src, "id");
    ingest_result r;
    for (int i = 0; i < 3; i++) assert_int_equal(ingest_one(fx, sid, "r", 1, &r), HS_OK);

    atomic_store(&disk_full, 1); /* a group of five fails */
    counter c = {0};
    for (int i = 0; i < 5; i++) assert_int_equal(hs_store_ingest(fx->s, counted_ingest(sid, &c)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.ok, 0);
    atomic_store(&disk_full, 0);

    /* commits without rows: any batch under way ends; then one is due */
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "{\"name\":\"q%d\"}", i);
        json_decref(create_res(fx->s, HS_KIND_SOURCE, name));
    }
    usleep(1100 * 1000);
    /* the next group begins a batch; its own rows come after */
    for (int i = 0; i < 5; i++) assert_int_equal(ingest_one(fx, sid, "x", 1, &r), HS_OK);
    for (int i = 0; i < 4; i++) { /* commits for that batch to be written and taken off the queue */
        snprintf(name, sizeof name, "{\"name\":\"t%d\"}", i);
        json_decref(create_res(fx->s, HS_KIND_SOURCE, name));
    }
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM events"), 8);
    assert_int_equal(query_int(fx->path, "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM "
                                         "source_events x WHERE x.id = e.id) AND NOT EXISTS (SELECT 1 FROM "
                                         "events_unindexed u WHERE u.id = e.id)"),
                     0);
    assert_int_equal(list_by_source(fx, sid, 100), 8);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

/* The late indexes (late.c): rows a stop left both queued and in the
 * index (the middle of a batch) are listed once, and so are queued rows
 * and indexed ones together, page after page. Nothing commits between the
 * open and the reads: the state stays as it was made. */
static void test_late_rows_in_both(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    ingest_result r;
    for (int i = 0; i < 12; i++) assert_int_equal(ingest_one(fx, jstr(src, "id"), "x", 1, &r), HS_OK);
    close_store(fx);
    raw_exec(fx->path, "INSERT INTO source_events SELECT source_id, id FROM events_unindexed WHERE n % 2 = 0");
    int both = (int)query_int(fx->path, "SELECT count(*) FROM events_unindexed u WHERE EXISTS (SELECT 1 FROM "
                                        "source_events x WHERE x.source_id = u.source_id AND x.id = u.id)");
    int queued_only = (int)query_int(fx->path, "SELECT count(*) FROM events_unindexed") - both;
    print_message("  12 events: %d queued and indexed, %d queued only\n", both, queued_only);
    assert_true(both >= 2);
    assert_true(queued_only >= 2);
    open_store(fx);
    assert_int_equal(list_by_source(fx, jstr(src, "id"), 5), 12);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_migrations_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doc_without_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_cache_follows_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup_full_disk, teardown_full_disk),
        cmocka_unit_test_setup_teardown(test_late_rows_in_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_failed_group, setup_full_disk, teardown_full_disk),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
