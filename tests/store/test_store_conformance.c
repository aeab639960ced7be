/* test_store_conformance.c — what every store backend must do, through
 * src/store/store.h only: resources (create, get by id and slug, update,
 * delete, the constraint errors, listing), ingest (the event and its
 * deliveries committed together; routing by filter rules, paused sources,
 * disabled destinations, unknown sources), attempts moving deliveries
 * through retry, DLQ and delivered and settling their events, manual
 * retries, pending deliveries, circuits, API keys, the group commit's
 * bounds and shutdown, and everything still there after a reopen.
 *
 * The store: HOOKSTREAM_TEST_STORE, a URL in which "{tmp}" is replaced by a
 * fresh temporary directory and "{name}" by its name (unique per test: a
 * server backend's database or schema); default "{tmp}/test.db", a new
 * SQLite file. Each test expects an empty store. SQLite's own behaviour
 * (schema, WAL, its failures) is tested in tests/unit/test_store.c. */
#include <pthread.h>
#include <stdatomic.h>

#include "base/secretbox.h"
#include "core/resource.h"
#include "fixtures.h"
#include "store/ops.h"
#include "store/replay.h"

/* ---- fixture: a fresh database in a temporary directory ---- */

/* HOOKSTREAM_TEST_STORE with {tmp} and {name} filled in (see the top). */
static void store_url(const char *dir, char *out, size_t cap) {
    const char *tmpl = getenv("HOOKSTREAM_TEST_STORE");
    if (!tmpl || !*tmpl) tmpl = "{tmp}/test.db";
    const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    size_t n = 0;
    for (const char *p = tmpl; *p && n + 1 < cap;) {
        const char *sub = strncmp(p, "{tmp}", 5) == 0 ? dir : strncmp(p, "{name}", 6) == 0 ? name : NULL;
        if (sub) {
            n += (size_t)snprintf(out + n, cap - n, "%s", sub);
            p += sub == dir ? 5 : 6;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < cap ? n : cap - 1] = '\0';
}

static int setup(void **state) { return fixture_setup(state, store_url); }

/* ---- helpers ---- */

/* How many events the store holds, read page by page. */
static size_t count_events(fixture *fx) {
    size_t total = 0;
    char cursor[HS_ID_MAX] = "";
    for (;;) {
        hs_event_query q = {.page = {.limit = 100, .cursor = cursor[0] ? cursor : NULL}};
        hs_event **items;
        size_t n;
        bool more;
        hs_error err;
        assert_int_equal(hs_store_event_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
        total += n;
        if (n) hs_id_copy(cursor, items[n - 1]->id);
        for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
        hs_free(items);
        if (!more) return total;
    }
}

/* How many deliveries are pending. */
static size_t count_pending(fixture *fx) {
    hs_delivery *d;
    size_t n;
    hs_error err;
    assert_int_equal(hs_store_pending_deliveries(fx->s, &d, &n, &err), HS_OK);
    hs_free(d);
    return n;
}

/* How many resources of kind the store holds. */
static size_t count_resources(fixture *fx, hs_kind kind) {
    size_t total = 0;
    char cursor[HS_ID_MAX] = "";
    for (;;) {
        hs_page page = {.limit = 100, .cursor = cursor[0] ? cursor : NULL};
        json_t *items;
        bool more;
        hs_error err;
        assert_int_equal(hs_store_resource_list(fx->s, kind, &page, NULL, 0, &items, &more, &err), HS_OK);
        size_t n = json_array_size(items);
        total += n;
        if (n) hs_id_copy(cursor, json_string_value(json_object_get(json_array_get(items, n - 1), "id")));
        json_decref(items);
        if (!more) return total;
    }
}

/* The status of one delivery of an event. */
static void expect_delivery(fixture *fx, const char *event_id, const char *delivery_id, const char *status) {
    hs_delivery *d;
    size_t n;
    hs_error err;
    assert_int_equal(hs_store_event_deliveries(fx->s, event_id, &d, &n, &err), HS_OK);
    const char *got = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].id, delivery_id) == 0) got = d[i].status;
    assert_non_null(got);
    assert_string_equal(got, status);
    hs_free(d);
}

/* ---- open and schema ---- */

/* ---- resources ---- */

static int rename_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)err;
    /* the current doc comes with its timestamps */
    assert_non_null(jstr(current, "created_at"));
    assert_non_null(jstr(current, "updated_at"));
    assert_string_equal(jstr(current, "name"), "first");
    *updated = json_deep_copy(current);
    json_object_set_new(*updated, "name", json_string(ud));
    return HS_OK;
}

static int reject_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)current, (void)updated, (void)ud;
    return hs_error_set(err, HS_ERR_INVALID, "name", "is not acceptable");
}

static int change_id_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)ud, (void)err;
    *updated = json_deep_copy(current);
    char id[HS_ID_MAX];
    hs_id_new("src_", id);
    json_object_set_new(*updated, "id", json_string(id));
    return HS_OK;
}

static void test_resource_crud(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *a = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"first\",\"slug\":\"orders\",\"status\":\"active\"}");
    const char *a_id = jstr(a, "id");
    assert_true(hs_id_valid("src_", a_id));
    assert_non_null(jstr(a, "created_at"));
    assert_string_equal(jstr(a, "created_at"), jstr(a, "updated_at"));

    json_t *got = NULL;
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, a_id, &got, &err), HS_OK);
    assert_true(json_equal(got, a));
    json_decref(got);
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, "orders", &got, &err), HS_OK);
    assert_string_equal(jstr(got, "id"), a_id);
    json_decref(got);
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, "nope", &got, &err), HS_ERR_NOTFOUND);
    assert_null(got);

    /* duplicate slug, duplicate id, malformed id */
    json_t *doc =
        json_pack("{s:s, s:s, s:s}", "id", "src_00000000000000000000000000000001", "name", "x", "slug", "orders");
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_ERR_CONFLICT);
    assert_string_equal(err.field, "slug");
    assert_non_null(strstr(err.msg, a_id));
    json_object_set_new(doc, "id", json_string(a_id));
    json_object_del(doc, "slug");
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_ERR_CONFLICT);
    assert_string_equal(err.field, "id");
    json_object_set_new(doc, "id", json_string("dst_00000000000000000000000000000001"));
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "id");
    json_decref(doc);

    /* update: fn sees the current doc; created_at kept */
    json_t *out = NULL;
    usleep(2000);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, a_id, rename_fn, "second", &out, &err), HS_OK);
    assert_string_equal(jstr(out, "name"), "second");
    assert_string_equal(jstr(out, "created_at"), jstr(a, "created_at"));
    assert_string_not_equal(jstr(out, "updated_at"), jstr(a, "updated_at"));
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, a_id, &got, &err), HS_OK);
    assert_true(json_equal(got, out));
    json_decref(got);
    json_decref(out);

    /* update to a used slug: conflict, nothing changes */
    json_t *b = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"b\",\"slug\":\"b\"}");
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, jstr(b, "id"), set_slug_fn, "orders", &out, &err),
                     HS_ERR_CONFLICT);
    assert_null(out);
    assert_string_equal(err.field, "slug");
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, "b", &got, &err), HS_OK);
    json_decref(got);
    /* keeping one's own slug is no conflict; freeing it lets another take it */
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, "b", set_slug_fn, "b", NULL, &err), HS_OK);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, a_id, set_slug_fn, "orders-old", NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, "b", set_slug_fn, "orders", NULL, &err), HS_OK);

    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, "src_00000000000000000000000000000009", rename_fn,
                                              "x", &out, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, a_id, reject_fn, NULL, &out, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_int_equal(hs_store_resource_update(fx->s, HS_KIND_SOURCE, a_id, change_id_fn, NULL, &out, &err),
                     HS_ERR_INTERNAL);

    /* connections must name existing objects */
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\",\"type\":\"http\"}");
    doc = json_pack("{s:s, s:s, s:s}", "id", "conn_00000000000000000000000000000001", "source_id",
                    "src_00000000000000000000000000000009", "destination_id", jstr(dst, "id"));
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_CONNECTION, doc, NULL, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "source_id");
    json_object_set_new(doc, "source_id", json_string(a_id));
    json_object_set_new(doc, "destination_id", json_string("dst_00000000000000000000000000000009"));
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_CONNECTION, doc, NULL, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "destination_id");
    json_decref(doc);

    /* delete */
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_SOURCE, a_id, &err), HS_OK);
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, a_id, &got, &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_SOURCE, a_id, &err), HS_ERR_NOTFOUND);
    json_decref(a);
    json_decref(b);
    json_decref(dst);
}

static void test_resource_delete_referenced(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\",\"slug\":\"dest\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_SOURCE, jstr(src, "id"), &err), HS_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, jstr(conn, "id")));
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_DESTINATION, "dest", &err), HS_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, jstr(conn, "id")));
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_CONNECTION, jstr(conn, "id"), &err), HS_OK);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_SOURCE, jstr(src, "id"), &err), HS_OK);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_DESTINATION, "dest", &err), HS_OK);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

static void test_resource_list(void **state) {
    fixture *fx = *state;
    hs_error err;
    char ids[25][HS_ID_MAX];
    for (int i = 0; i < 25; i++) {
        char text[96];
        snprintf(text, sizeof text, "{\"name\":\"s%d\",\"slug\":\"s%d\",\"status\":\"%s\"}", i, i,
                 i % 3 == 0 ? "paused" : "active");
        json_t *o = create_res(fx->s, HS_KIND_SOURCE, text);
        snprintf(ids[i], sizeof ids[i], "%s", jstr(o, "id"));
        json_decref(o);
    }
    /* three pages, newest first */
    char cursor[HS_ID_MAX] = "";
    int seen = 0;
    for (int pageno = 0; pageno < 3; pageno++) {
        hs_page page = {.limit = 10, .cursor = cursor[0] ? cursor : NULL};
        json_t *items;
        bool more;
        assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, NULL, 0, &items, &more, &err), HS_OK);
        assert_int_equal(json_array_size(items), pageno < 2 ? 10 : 5);
        assert_int_equal(more, pageno < 2);
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            assert_string_equal(jstr(it, "id"), ids[24 - seen]);
            assert_non_null(jstr(it, "created_at"));
            seen++;
        }
        snprintf(cursor, sizeof cursor, "%s", jstr(json_array_get(items, json_array_size(items) - 1), "id"));
        json_decref(items);
    }
    assert_int_equal(seen, 25);

    hs_page page = {.limit = 100};
    json_t *items;
    bool more;
    hs_list_filter f = {"status", "paused"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, &f, 1, &items, &more, &err), HS_OK);
    assert_int_equal(json_array_size(items), 9);
    assert_false(more);
    json_decref(items);
    hs_list_filter f2[2] = {{"status", "active"}, {"slug", "s4"}};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, f2, 2, &items, &more, &err), HS_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), ids[4]);
    json_decref(items);

    /* only indexed columns; injection attempts are just unknown fields */
    hs_list_filter bad = {"name", "s1"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, &bad, 1, &items, &more, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_null(items);
    hs_list_filter evil = {"status = status OR 1 --", "x"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, &evil, 1, &items, &more, &err),
                     HS_ERR_INVALID);
    hs_list_filter evil_value = {"status", "' OR 1=1 --"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, &evil_value, 1, &items, &more, &err), HS_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    hs_page zero = {.limit = 0};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &zero, NULL, 0, &items, &more, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "limit");

    /* connections filter on enabled; destinations on type */
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"x\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\",\"type\":\"aws_sqs\"}");
    json_t *c1 = create_conn(fx->s, src, dst, true);
    json_t *c2 = create_conn(fx->s, src, dst, false);
    hs_list_filter en[2] = {{"enabled", "false"}, {"source_id", jstr(src, "id")}};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_CONNECTION, &page, en, 2, &items, &more, &err), HS_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), jstr(c2, "id"));
    json_decref(items);
    hs_list_filter en_bad = {"enabled", "maybe"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_CONNECTION, &page, &en_bad, 1, &items, &more, &err),
                     HS_ERR_INVALID);
    hs_list_filter ty = {"type", "aws_sqs"};
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_DESTINATION, &page, &ty, 1, &items, &more, &err), HS_OK);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    assert_int_equal(hs_store_resource_list(fx->s, HS_KIND_SOURCE, &page, &ty, 1, &items, &more, &err), HS_ERR_INVALID);
    json_decref(src);
    json_decref(dst);
    json_decref(c1);
    json_decref(c2);
}

/* ---- ingest ---- */

static void test_ingest_routing(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"shop\",\"slug\":\"shop\"}");
    json_t *d1 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d1\"}");
    json_t *d2 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d2\"}");
    json_t *d3 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d3\",\"status\":\"disabled\"}");
    json_t *c1 = create_conn(fx->s, src, d1, true);
    json_t *c2 = create_conn(fx->s, src, d2, false); /* disabled connection */
    json_t *c3 = create_conn(fx->s, src, d3, true);  /* disabled destination */
    const char *src_id = jstr(src, "id");

    static const char body[] = "{\"a\":1}\0binary\xff";
    ingest_result r;
    assert_int_equal(ingest_one(fx, src_id, body, sizeof body - 1, &r), HS_OK);
    assert_true(hs_id_valid("evt_", r.event_id));
    assert_string_equal(r.source_id, src_id);
    assert_string_equal(r.event_status, "processing");
    assert_int_equal(r.ndeliveries, 1);
    assert_true(hs_id_valid("dlv_", r.first.id));
    assert_string_equal(r.first.destination_id, jstr(d1, "id"));
    assert_string_equal(r.first.connection_id, jstr(c1, "id"));

    hs_event *e;
    assert_int_equal(hs_store_event_get(fx->s, r.event_id, &e, &err), HS_OK);
    assert_string_equal(e->id, r.event_id);
    assert_string_equal(e->source_id, src_id);
    assert_string_equal(e->method, "POST");
    assert_string_equal(e->query, "a=1");
    assert_string_equal(e->headers_json, "{\"content-type\":\"application/json\"}");
    assert_int_equal(e->body_len, sizeof body - 1);
    assert_memory_equal(e->body, body, sizeof body - 1);
    assert_string_equal(e->source_ip, "127.0.0.1");
    assert_string_equal(e->content_type, "application/json");
    assert_string_equal(e->status, "processing");
    assert_true(e->received_at > 0);
    uint64_t received_at = e->received_at;
    hs_event_free(e);

    hs_delivery *dl;
    size_t n;
    assert_int_equal(hs_store_event_deliveries(fx->s, r.event_id, &dl, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(dl[0].id, r.first.id);
    assert_string_equal(dl[0].event_id, r.event_id);
    assert_string_equal(dl[0].status, "pending");
    assert_int_equal(dl[0].attempts, 0);
    assert_int_equal(dl[0].next_attempt_at, received_at);
    assert_true(dl[0].created_at > 0);
    hs_free(dl);

    /* by slug, with an empty body */
    assert_int_equal(ingest_one(fx, "shop", NULL, 0, &r), HS_OK);
    assert_string_equal(r.source_id, src_id);
    assert_int_equal(r.ndeliveries, 1);
    assert_int_equal(hs_store_event_get(fx->s, r.event_id, &e, &err), HS_OK);
    assert_int_equal(e->body_len, 0);
    hs_event_free(e);

    /* paused: stored, not routed */
    json_t *paused = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"p\",\"slug\":\"p\",\"status\":\"paused\"}");
    json_t *c4 = create_conn(fx->s, paused, d1, true);
    assert_int_equal(ingest_one(fx, "p", "x", 1, &r), HS_OK);
    assert_string_equal(r.event_status, "received");
    assert_int_equal(r.ndeliveries, 0);
    assert_int_equal(hs_store_event_deliveries(fx->s, r.event_id, &dl, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_free(dl);
    char paused_event[HS_ID_MAX];
    snprintf(paused_event, sizeof paused_event, "%s", r.event_id);

    /* disabled or unknown: 404, nothing stored */
    json_t *off = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"o\",\"slug\":\"off\",\"status\":\"disabled\"}");
    assert_int_equal(ingest_one(fx, "off", "x", 1, &r), HS_ERR_NOTFOUND);
    assert_int_equal(ingest_one(fx, "nosuch", "x", 1, &r), HS_ERR_NOTFOUND);
    assert_int_equal(ingest_one(fx, "src_00000000000000000000000000000009", "x", 1, &r), HS_ERR_NOTFOUND);
    assert_int_equal(count_events(fx), 3);

    /* event lists */
    hs_event **items;
    bool more;
    hs_event_query q = {.page = {.limit = 2}};
    assert_int_equal(hs_store_event_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(items[0]->id, paused_event); /* newest first */
    assert_null(items[0]->headers_json);
    assert_null(items[0]->body);
    assert_int_equal(items[0]->body_len, 1);
    q.page.cursor = items[1]->id;
    hs_event **rest;
    size_t nrest;
    assert_int_equal(hs_store_event_list(fx->s, &q, &rest, &nrest, &more, &err), HS_OK);
    assert_int_equal(nrest, 1);
    assert_false(more);
    assert_int_equal(rest[0]->body_len, sizeof body - 1);
    for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
    hs_free(items);
    for (size_t i = 0; i < nrest; i++) hs_event_free(rest[i]);
    hs_free(rest);

    hs_event_query qs = {.source_id = src_id, .status = "processing", .page = {.limit = 10}};
    assert_int_equal(hs_store_event_list(fx->s, &qs, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
    hs_free(items);
    hs_event_query qt = {.after = received_at, .before = hs_now_ms() + 1000, .page = {.limit = 10}};
    assert_int_equal(hs_store_event_list(fx->s, &qt, &items, &n, &more, &err), HS_OK);
    for (size_t i = 0; i < n; i++) assert_true(items[i]->received_at > received_at);
    for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
    hs_free(items);
    hs_event_query qb = {.before = received_at + 1, .page = {.limit = 10}};
    assert_int_equal(hs_store_event_list(fx->s, &qb, &items, &n, &more, &err), HS_OK);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
    hs_free(items);
    hs_event_query qbad = {.page = {.limit = 101}};
    assert_int_equal(hs_store_event_list(fx->s, &qbad, &items, &n, &more, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_event_get(fx->s, "evt_00000000000000000000000000000000", &e, &err), HS_ERR_NOTFOUND);

    json_t *all[] = {src, d1, d2, d3, c1, c2, c3, paused, c4, off};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) json_decref(all[i]);
}

static void test_delete_destination_cancels_pending(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    json_t *src = f.src, *gone = f.d2, *c2 = f.c2;
    ingest_result r;
    char events[3][HS_ID_MAX];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ingest_one(fx, jstr(src, "id"), "{}", 2, &r), HS_OK);
        assert_int_equal(r.ndeliveries, 2);
        snprintf(events[i], sizeof events[i], "%s", r.event_id);
    }
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_CONNECTION, jstr(c2, "id"), &err), HS_OK);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_DESTINATION, jstr(gone, "id"), &err), HS_OK);
    for (int i = 0; i < 3; i++) {
        hs_delivery *dl;
        size_t n;
        assert_int_equal(hs_store_event_deliveries(fx->s, events[i], &dl, &n, &err), HS_OK);
        assert_int_equal(n, 2);
        for (size_t j = 0; j < n; j++) {
            bool is_gone = strcmp(dl[j].destination_id, jstr(gone, "id")) == 0;
            assert_string_equal(dl[j].status, is_gone ? "cancelled" : "pending");
            if (is_gone) assert_true(dl[j].updated_at >= dl[j].created_at);
        }
        hs_free(dl);
    }
    fanout_free(&f);
}

/* ---- the life of a delivery whose destination is deleted ---- */

/* The event's status and how many of its deliveries are open (pending). */
static char *event_status(fixture *fx, const char *event_id) {
    hs_event *e;
    hs_error err;
    assert_int_equal(hs_store_event_get(fx->s, event_id, &e, &err), HS_OK);
    hs_delivery *d;
    size_t n, open = 0;
    assert_int_equal(hs_store_event_deliveries(fx->s, event_id, &d, &n, &err), HS_OK);
    for (size_t i = 0; i < n; i++) open += strcmp(d[i].status, "pending") == 0;
    hs_free(d);
    char buf[64];
    snprintf(buf, sizeof buf, "%s/%zu", e->status, open);
    hs_event_free(e);
    return hs_strdup(buf);
}

static void expect_event(fixture *fx, const char *event_id, const char *status_open) {
    char *got = event_status(fx, event_id);
    assert_string_equal(got, status_open);
    hs_free(got);
}

/* A refusal that names d2 and says it was deleted. */
static void expect_says_deleted(const hs_error *err, const fanout *f) {
    assert_int_equal(err->code, HS_ERR_CONFLICT);
    assert_non_null(strstr(err->msg, jstr(f->d2, "id")));
    assert_non_null(strstr(err->msg, "was deleted"));
}

/* An event is never processing without a pending delivery: when a deleted
 * destination cancels what it still had pending, the event settles as its
 * other deliveries went (delivered, failed), or cancelled when none went
 * anywhere. */
static void test_cancel_settles_events(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char delivered[HS_ID_MAX], failed[HS_ID_MAX], open[HS_ID_MAX], none[HS_ID_MAX];
    hs_delivery_ref dl[2];
    fanout_ingest(fx, &f, delivered, dl);
    record_attempt(fx, &dl[0], delivered, true);
    fanout_ingest(fx, &f, failed, dl);
    record_attempt(fx, &dl[0], failed, false);
    fanout_ingest(fx, &f, open, dl);
    /* every delivery of this one goes to d2 */
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_CONNECTION, jstr(f.c1, "id"), &err), HS_OK);
    ingest_result r;
    assert_int_equal(ingest_one(fx, jstr(f.src, "id"), "{}", 2, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 1);
    hs_id_copy(none, r.event_id);
    delete_d2(fx, &f);
    expect_event(fx, delivered, "delivered/0");
    expect_event(fx, failed, "failed/0");
    expect_event(fx, open, "processing/1"); /* its d1 delivery is still pending */
    expect_event(fx, none, "cancelled/0");
    record_attempt(fx, &dl[0], open, true);
    expect_event(fx, open, "delivered/0");
    fanout_free(&f);
}

/* A dead-lettered delivery whose destination was deleted is not retried:
 * nothing would ever send it. The check runs in the writer's transaction. */
static void test_retry_after_destination_deleted(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char ev[HS_ID_MAX];
    hs_delivery_ref dl[2];
    fanout_ingest(fx, &f, ev, dl);
    record_attempt(fx, &dl[0], ev, false);
    record_attempt(fx, &dl[1], ev, false);
    expect_event(fx, ev, "failed/0");
    char da[HS_ID_MAX] = "";
    json_t *attempts;
    assert_int_equal(hs_store_event_attempts(fx->s, ev, &attempts, &err), HS_OK);
    size_t i;
    json_t *a;
    json_array_foreach(attempts, i, a) {
        if (strcmp(jstr(a, "delivery_id"), dl[1].id) == 0) hs_id_copy(da, jstr(a, "id"));
    }
    json_decref(attempts);
    assert_true(da[0]);
    delete_d2(fx, &f);

    hs_delivery out;
    assert_int_equal(hs_store_attempt_retry(fx->s, da, &out, &err), HS_ERR_CONFLICT);
    expect_says_deleted(&err, &f);
    expect_event(fx, ev, "failed/0");
    expect_delivery(fx, ev, dl[1].id, "dlq");
    fanout_free(&f);
}

/* A failed attempt that plans a retry, with the circuit state it led to,
 * in one write. */
static void record_retry(fixture *fx, const hs_delivery_ref *d, const char *event_id, uint64_t retry_at) {
    hs_attempt_op *op = attempt_op_new(d, event_id);
    hs_attempt_rec *a = &op->a;
    a->next_retry_at = retry_at;
    a->created_at = hs_now_ms();
    a->error = hs_strdup("HTTP 503");
    op->has_circuit = true;
    hs_id_copy(op->circuit.destination_id, d->destination_id);
    snprintf(op->circuit.state, sizeof op->circuit.state, "open");
    op->circuit.consecutive_failures = 5;
    op->circuit.opened_at = op->circuit.last_transition_at = a->created_at;
    op->circuit.next_probe_at = retry_at;
    attempt_commit(fx, op);
}

static void expect_open_circuit(fixture *fx, const char *destination_id, uint64_t probe_at) {
    hs_circuit_row *rows;
    size_t n;
    hs_error err;
    assert_int_equal(hs_store_circuits(fx->s, &rows, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].destination_id, destination_id);
    assert_string_equal(rows[0].state, "open");
    assert_int_equal(rows[0].consecutive_failures, 5);
    assert_int_equal(rows[0].next_probe_at, probe_at);
    hs_free(rows);
}

/* Attempts move a delivery through retry (still pending, due later),
 * delivered and the DLQ, settle the event once none is open, and save the
 * circuit state with them; all of it survives a reopen. */
static void test_attempts_settle_and_circuits(void **state) {
    fixture *fx = *state;
    fanout f;
    fanout_make(fx, &f);
    char ev[HS_ID_MAX];
    hs_delivery_ref dl[2];
    fanout_ingest(fx, &f, ev, dl);
    uint64_t retry_at = hs_now_ms() + 60000;
    record_retry(fx, &dl[0], ev, retry_at);
    expect_event(fx, ev, "processing/2");
    expect_delivery(fx, ev, dl[0].id, "pending");
    hs_delivery *p;
    size_t n;
    hs_error err;
    assert_int_equal(hs_store_pending_deliveries(fx->s, &p, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].id, dl[0].id) != 0) continue;
        assert_int_equal(p[i].attempts, 1);
        assert_int_equal(p[i].next_attempt_at, retry_at);
    }
    hs_free(p);
    expect_open_circuit(fx, dl[0].destination_id, retry_at);

    record_attempt(fx, &dl[0], ev, true);
    expect_delivery(fx, ev, dl[0].id, "delivered");
    expect_event(fx, ev, "processing/1");
    record_attempt(fx, &dl[1], ev, false);
    expect_delivery(fx, ev, dl[1].id, "dlq");
    expect_event(fx, ev, "failed/0");
    assert_int_equal(count_pending(fx), 0);

    json_t *dlq;
    bool more;
    hs_attempt_query q = {.dlq_only = true, .page = {.limit = 10}};
    assert_int_equal(hs_store_attempt_list(fx->s, &q, &dlq, &more, &err), HS_OK);
    assert_int_equal(json_array_size(dlq), 1);
    assert_string_equal(jstr(json_array_get(dlq, 0), "delivery_id"), dl[1].id);
    json_decref(dlq);

    reopen_store(fx);
    expect_event(fx, ev, "failed/0");
    expect_open_circuit(fx, dl[0].destination_id, retry_at);
    fanout_free(&f);
}

/* An event retry requeues the deliveries whose destination exists and
 * reports the others as skipped; with only those left it is refused. */
static void test_event_retry_skips_deleted(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char ev[HS_ID_MAX], ev2[HS_ID_MAX];
    hs_delivery_ref dl[2], dl2[2];
    fanout_ingest(fx, &f, ev, dl);
    fanout_ingest(fx, &f, ev2, dl2);
    record_attempt(fx, &dl[0], ev, false);
    record_attempt(fx, &dl[1], ev, false);
    record_attempt(fx, &dl2[0], ev2, true);
    record_attempt(fx, &dl2[1], ev2, false);
    delete_d2(fx, &f);

    hs_event_retry r;
    assert_int_equal(hs_store_event_retry(fx->s, ev, &r, &err), HS_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.queued[0].id, dl[0].id);
    assert_string_equal(r.queued[0].status, "pending");
    assert_int_equal(r.nskipped, 1);
    assert_string_equal(r.skipped[0].id, dl[1].id);
    assert_string_equal(r.skipped[0].destination_id, jstr(f.d2, "id"));
    hs_free(r.queued);
    hs_free(r.skipped);
    expect_event(fx, ev, "processing/1");
    record_attempt(fx, &dl[0], ev, true);
    expect_event(fx, ev, "failed/0"); /* d2's delivery is still dead-lettered */

    assert_int_equal(hs_store_event_retry(fx->s, ev2, &r, &err), HS_ERR_CONFLICT);
    assert_null(r.queued);
    assert_null(r.skipped);
    expect_says_deleted(&err, &f);
    expect_event(fx, ev2, "failed/0");
    fanout_free(&f);
}

/* Committed ingests are numbered 1, 2, ... in commit order (those that
 * fail take no number): whoever hears of them on several loops puts them
 * back in that order with it. */
static void test_commit_numbers(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    ingest_result r[4];
    memset(r, 0, sizeof r);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest(jstr(src, "id"), "{}", 2, &r[0])), HS_OK);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest("src_missing", "{}", 2, &r[1])), HS_OK);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest(jstr(src, "id"), "{}", 2, &r[2])), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest(jstr(src, "id"), "{}", 2, &r[3])), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r[0].status, HS_OK);
    assert_int_equal(r[1].status, HS_ERR_NOTFOUND);
    assert_int_equal(r[0].commit_no, 1);
    assert_int_equal(r[1].commit_no, 0);
    assert_int_equal(r[2].commit_no, 2);
    assert_int_equal(r[3].commit_no, 3);
    json_decref(src);
}

/* An ingest's completion is in the submitting loop's mailbox once the
 * writer has committed it: draining the mailbox runs it, without the loop
 * running: a delete's after hook uses it so that every ingest committed
 * before the delete has reported (metrics) before the source is forgotten. */
static void test_run_completions(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    ingest_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest(jstr(src, "id"), "{}", 2, &r)), HS_OK);
    for (int i = 0; i < 5000 && !r.done; i++) {
        hs_mailbox_drain(&fx->mb);
        if (!r.done) usleep(1000);
    }
    assert_int_equal(r.done, 1);
    assert_int_equal(r.status, HS_OK);
    hs_mailbox_drain(&fx->mb); /* nothing left: nothing runs twice */
    assert_int_equal(r.done, 1);
    json_decref(src);
}

static void test_ingest_many_grouped(void **state) {
    fixture *fx = *state;
    fanout f;
    fanout_make(fx, &f);
    json_t *src = f.src;
    hs_store_stats before, after;
    hs_store_get_stats(fx->s, &before);

    enum { N = 5000 };
    counter c = {0};
    uint64_t t0 = hs_monotonic_ns();
    for (int i = 0; i < N; i++) {
        /* failures in the same groups: each fails alone */
        const char *ref = i % 100 == 50 ? "no-such-source" : jstr(src, "id");
        assert_int_equal(hs_store_ingest(fx->s, counted_ingest(ref, &c)), HS_OK);
    }
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    uint64_t ms = (hs_monotonic_ns() - t0) / 1000000;
    assert_int_equal(c.done, N);
    assert_int_equal(c.notfound, N / 100);
    assert_int_equal(c.ok, N - N / 100);
    assert_int_equal(c.other, 0);
    assert_int_equal(c.deliveries, 2 * (size_t)c.ok);
    hs_store_get_stats(fx->s, &after);
    uint64_t commits = after.commits - before.commits;
    print_message("      %d ingests in %llu ms, %llu commits\n", N, (unsigned long long)ms,
                  (unsigned long long)commits);
    assert_true(commits < (uint64_t)N / 2); /* grouped */
    assert_int_equal(after.ops_committed - before.ops_committed, c.ok);
    assert_int_equal(after.commit_failures, 0);
    assert_int_equal(after.queue_depth, 0);
    assert_true(after.commit_ns_total > before.commit_ns_total);
    assert_int_equal(count_events(fx), c.ok);
    assert_int_equal(count_pending(fx), 2 * c.ok);
    fanout_free(&f);
}

/* An update whose fn holds the writer until released: lets a test fill the
 * queue deterministically. (Real fns must not block.) */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool entered, open;
    hs_store *s;
    const char *id;
    int rc;
} gate;

static int gate_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)err;
    gate *g = ud;
    pthread_mutex_lock(&g->lock);
    g->entered = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    *updated = json_deep_copy(current);
    return HS_OK;
}

static void *gate_thread(void *arg) {
    gate *g = arg;
    g->rc = hs_store_resource_update(g->s, HS_KIND_SOURCE, g->id, gate_fn, g, NULL, NULL);
    return NULL;
}

static void test_queue_bound_and_group_cap(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .s = fx->s, .id = jstr(src, "id")};
    pthread_t t;
    pthread_create(&t, NULL, gate_thread, &g);
    pthread_mutex_lock(&g.lock);
    while (!g.entered) pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);

    counter c = {0};
    hs_store_stats before;
    hs_store_get_stats(fx->s, &before);
    for (int i = 0; i < HS_STORE_MAX_QUEUE; i++)
        assert_int_equal(hs_store_ingest(fx->s, counted_ingest(jstr(src, "id"), &c)), HS_OK);
    hs_store_stats st;
    hs_store_get_stats(fx->s, &st);
    assert_int_equal(st.queue_depth, HS_STORE_MAX_QUEUE);
    hs_ingest *refused = counted_ingest(jstr(src, "id"), &c);
    assert_int_equal(hs_store_ingest(fx->s, refused), HS_ERR_BUSY);
    assert_int_equal(refused->err.code, HS_ERR_BUSY);
    hs_ingest_free(refused); /* still ours */
    hs_error err;
    json_t *doc = json_pack("{s:s,s:s}", "id", "src_00000000000000000000000000000001", "name", "x");
    assert_int_equal(hs_store_resource_create(fx->s, HS_KIND_SOURCE, doc, NULL, &err), HS_ERR_BUSY);
    json_decref(doc);
    usleep(30 * 1000); /* each queued ingest waits this long at least */

    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(t, NULL);
    assert_int_equal(g.rc, HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(c.ok, HS_STORE_MAX_QUEUE);
    hs_store_get_stats(fx->s, &st);
    /* the queued requests went in full groups of HS_STORE_MAX_GROUP */
    assert_int_equal(st.last_batch_size, HS_STORE_MAX_GROUP);
    assert_int_equal(count_events(fx), HS_STORE_MAX_QUEUE);
    /* the wait of each in the queue is counted: over 25 ms for every one */
    uint64_t long_waits = 0;
    for (size_t i = 0; i <= HS_STORE_HIST_BUCKETS; i++)
        if (i == HS_STORE_HIST_BUCKETS || hs_store_commit_le_us[i] > 25000)
            long_waits += st.wait_us_hist[i] - before.wait_us_hist[i];
    assert_true(long_waits >= HS_STORE_MAX_QUEUE);
    assert_true(st.wait_ns_total - before.wait_ns_total >= (uint64_t)HS_STORE_MAX_QUEUE * 30 * 1000000);
    json_decref(src);
}

/* ---- concurrency, shutdown, persistence ---- */

typedef struct worker {
    hs_store *s;
    int n;
    int failures;
} worker;

static void *create_many(void *arg) {
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        json_t *doc = json_pack("{s:s}", "name", "threaded");
        char id[HS_ID_MAX];
        hs_id_new("src_", id);
        json_object_set_new(doc, "id", json_string(id));
        json_t *out = NULL;
        hs_error err;
        if (hs_store_resource_create(w->s, HS_KIND_SOURCE, doc, &out, &err) != HS_OK) w->failures++;
        json_t *got = NULL;
        /* read-your-writes from another connection */
        if (hs_store_resource_get(w->s, HS_KIND_SOURCE, id, &got, &err) != HS_OK || !json_equal(got, out))
            w->failures++;
        json_decref(got);
        json_decref(out);
        json_decref(doc);
    }
    return NULL;
}

static void test_sync_writes_from_threads(void **state) {
    fixture *fx = *state;
    enum { T = 12, PER = 40 };
    pthread_t th[T];
    worker w[T];
    for (int i = 0; i < T; i++) {
        w[i] = (worker){.s = fx->s, .n = PER};
        pthread_create(&th[i], NULL, create_many, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(count_resources(fx, HS_KIND_SOURCE), T * PER);
    hs_store_stats st;
    hs_store_get_stats(fx->s, &st);
    assert_int_equal(st.ops_committed, T * PER);
}

typedef struct closing_ctx {
    counter c;
    hs_store *s;
    int reentrant_rc;
    bool tried;
} closing_ctx;

static void on_closing(hs_ingest *ing, int status) {
    closing_ctx *ctx = ing->ud;
    if (!ctx->tried) {
        /* a callback run by hs_store_close may not queue more work */
        ctx->tried = true;
        hs_ingest *more = counted_ingest("whatever", &ctx->c);
        ctx->reentrant_rc = hs_store_ingest(ctx->s, more);
        hs_ingest_free(more);
    }
    ing->ud = &ctx->c;
    on_count(ing, status);
}

static void test_close_commits_queued(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    enum { N = 3000 };
    closing_ctx ctx = {.s = fx->s};
    for (int i = 0; i < N; i++) {
        hs_ingest *ing = counted_ingest(jstr(src, "id"), &ctx.c);
        ing->cb = on_closing;
        ing->ud = &ctx;
        assert_int_equal(hs_store_ingest(fx->s, ing), HS_OK);
    }
    /* no uv_run: close itself must commit and complete everything */
    hs_store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(ctx.c.done, N);
    assert_int_equal(ctx.c.ok, N);
    assert_true(ctx.tried);
    assert_int_equal(ctx.reentrant_rc, HS_ERR_CLOSED);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* frees the store */
    open_store(fx);
    assert_int_equal(count_events(fx), N);
    assert_int_equal(count_pending(fx), N);
    hs_event **items;
    size_t n;
    bool more;
    hs_event_query q = {.source_id = jstr(src, "id"), .page = {.limit = 100}};
    assert_int_equal(hs_store_event_list(fx->s, &q, &items, &n, &more, NULL), HS_OK);
    assert_int_equal(n, 100);
    assert_true(more);
    for (size_t i = 0; i < n; i++) hs_event_free(items[i]);
    hs_free(items);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

static void test_persistence_and_apikeys(void **state) {
    fixture *fx = *state;
    hs_error err;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\",\"slug\":\"keep\",\"nested\":{\"a\":[1,2]}}");
    json_t *dst = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d\"}");
    json_t *conn = create_conn(fx->s, src, dst, true);
    ingest_result r;
    assert_int_equal(ingest_one(fx, "keep", "hello", 5, &r), HS_OK);

    char h1[65], h2[65];
    unsigned char raw[32];
    hs_random_bytes(raw, sizeof raw);
    hs_hex(raw, sizeof raw, h1);
    hs_random_bytes(raw, sizeof raw);
    hs_hex(raw, sizeof raw, h2);
    hs_apikey k1 = {.created_at = 1700000000123}, k2 = {0}, k3 = {0};
    hs_id_new("ak_", k1.id);
    hs_id_new("ak_", k2.id);
    hs_id_new("ak_", k3.id);
    const char *id1 = k1.id;
    memcpy(k1.hash, h1, 65);
    memcpy(k2.hash, h2, 65);
    memcpy(k3.hash, h1, 65);
    snprintf(k1.name, sizeof k1.name, "first");
    snprintf(k1.prefix, sizeof k1.prefix, "hs_live_abcd");
    uint64_t before = hs_now_ms();
    assert_int_equal(hs_store_apikey_add(fx->s, &k1, &err), HS_OK);
    assert_int_equal(hs_store_apikey_add(fx->s, &k2, &err), HS_OK);
    assert_int_equal(hs_store_apikey_add(fx->s, &k3, &err), HS_ERR_CONFLICT); /* the hash is taken */
    snprintf(k3.hash, sizeof k3.hash, "NOTHEX");
    assert_int_equal(hs_store_apikey_add(fx->s, &k3, &err), HS_ERR_INVALID);
    reopen_store(fx);

    json_t *got;
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_SOURCE, "keep", &got, &err), HS_OK);
    assert_true(json_equal(got, src));
    json_decref(got);
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_CONNECTION, jstr(conn, "id"), &got, &err), HS_OK);
    assert_true(json_equal(got, conn));
    json_decref(got);
    hs_event *e;
    assert_int_equal(hs_store_event_get(fx->s, r.event_id, &e, &err), HS_OK);
    assert_memory_equal(e->body, "hello", 5);
    hs_event_free(e);
    hs_apikey *keys;
    size_t n;
    assert_int_equal(hs_store_apikey_list(fx->s, &keys, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    const hs_apikey *r1 = strcmp(keys[0].id, id1) == 0 ? &keys[0] : &keys[1], *r2 = r1 == keys ? &keys[1] : &keys[0];
    assert_string_equal(r1->id, id1);
    assert_string_equal(r1->hash, h1);
    assert_string_equal(r1->name, "first");
    assert_string_equal(r1->prefix, "hs_live_abcd");
    assert_int_equal(r1->created_at, 1700000000123); /* as given */
    assert_int_equal(r1->last_used_at, 0);
    assert_true(r2->created_at >= before); /* 0: now */
    assert_string_equal(r2->hash, h2);
    assert_string_equal(r2->name, "");
    assert_string_equal(r2->prefix, "");
    hs_free(keys);
    json_decref(src);
    json_decref(dst);
    json_decref(conn);
}

/* API keys: revocation hides a key for good (its hash stays taken), touch
 * keeps the latest use and skips revoked or unknown keys. */
static void test_apikey_revoke_and_touch(void **state) {
    fixture *fx = *state;
    hs_error err;
    char ids[3][HS_ID_MAX], hashes[3][65];
    for (int i = 0; i < 3; i++) {
        hs_apikey k = {0};
        unsigned char raw[32];
        hs_random_bytes(raw, sizeof raw);
        hs_hex(raw, sizeof raw, hashes[i]);
        hs_id_new("ak_", ids[i]);
        hs_id_copy(k.id, ids[i]);
        memcpy(k.hash, hashes[i], 65);
        assert_int_equal(hs_store_apikey_add(fx->s, &k, &err), HS_OK);
    }
    char other[HS_ID_MAX];
    hs_id_new("ak_", other);

    assert_int_equal(hs_store_apikey_revoke(fx->s, ids[1], &err), HS_OK);
    assert_int_equal(hs_store_apikey_revoke(fx->s, ids[1], &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_apikey_revoke(fx->s, other, &err), HS_ERR_NOTFOUND);
    /* a revoked key's hash stays taken: its row is kept */
    hs_apikey again = {0};
    hs_id_copy(again.id, other);
    memcpy(again.hash, hashes[1], 65);
    assert_int_equal(hs_store_apikey_add(fx->s, &again, &err), HS_ERR_CONFLICT);

    hs_apikey_use uses[4] = {{.at = 5000}, {.at = 6000}, {.at = 7000}, {.at = 4000}};
    hs_id_copy(uses[0].id, ids[0]);
    hs_id_copy(uses[1].id, ids[1]); /* revoked: skipped */
    hs_id_copy(uses[2].id, other);  /* unknown: skipped */
    hs_id_copy(uses[3].id, ids[0]); /* older than the one before: kept the later */
    assert_int_equal(hs_store_apikey_touch(fx->s, uses, 4, &err), HS_OK);
    assert_int_equal(hs_store_apikey_touch(fx->s, NULL, 0, &err), HS_OK);

    reopen_store(fx);
    hs_apikey *keys;
    size_t n;
    assert_int_equal(hs_store_apikey_list(fx->s, &keys, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(keys[i].id, ids[1]);
        assert_int_equal(keys[i].last_used_at, strcmp(keys[i].id, ids[0]) == 0 ? 5000 : 0);
    }
    hs_free(keys);
}

/* An async write from a thread without a mailbox (src/base/mailbox.h) has
 * nowhere to complete: refused at once. */
static void test_ingest_needs_loop(void **state) {
    fixture *fx = *state;
    hs_mailbox_set_current(NULL);
    char path[160];
    snprintf(path, sizeof path, "%s/noloop.db", fx->dir);
    hs_store *s;
    hs_error err;
    assert_int_equal(hs_store_open(path, &s, &err), HS_OK);
    ingest_result r = {0};
    hs_ingest *ing = new_ingest("x", "", 0, &r);
    assert_true(hs_store_ingest(s, ing) < 0);
    hs_ingest_free(ing);
    hs_store_close(s);
    assert_int_equal(r.done, 0);
    hs_mailbox_set_current(&fx->mb);
}

/* The scheduler's bounded reads: a destination's queue in seq order, paged
 * from a cursor; the retries that are due, earliest first, leaving out what
 * the caller holds and saying when to read again (now, when some did not
 * fit); the pending counts that every write keeps. */
static void test_queue_reads(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    const char *d1 = jstr(f.d1, "id");
    enum { N = 6 };
    hs_delivery_ref dl[N][2];
    char ev[N][HS_ID_MAX];
    for (int i = 0; i < N; i++) fanout_ingest(fx, &f, ev[i], dl[i]);
    /* pages in seq order from a cursor */
    hs_delivery page[N];
    size_t n;
    assert_int_equal(hs_store_queue_page(fx->s, d1, 0, false, 4, page, &n, &err), HS_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(page[i].id, dl[i][0].id);
        assert_int_equal(page[i].seq, dl[i][0].seq);
        assert_string_equal(page[i].destination_id, d1);
        assert_string_equal(page[i].event_id, ev[i]);
        if (i) assert_true(page[i].seq > page[i - 1].seq);
    }
    assert_int_equal(hs_store_queue_page(fx->s, d1, page[3].seq, false, 4, page, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[1].id, dl[N - 1][0].id);
    /* d1's first four fail once, due at 1000, 2000, 3000, 3000 */
    uint64_t due[] = {1000, 2000, 3000, 3000};
    for (int i = 0; i < 4; i++) {
        hs_attempt_op *op = attempt_op_new(&dl[i][0], ev[i]);
        op->a.error = hs_strdup("HTTP 500");
        op->a.next_retry_at = due[i];
        op->a.created_at = 500;
        attempt_commit(fx, op);
    }
    /* fresh: only the two never attempted */
    assert_int_equal(hs_store_queue_page(fx->s, d1, 0, true, N, page, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].id, dl[4][0].id);
    uint64_t next;
    assert_int_equal(hs_store_queue_due(fx->s, d1, 999, NULL, 0, N, page, &n, &next, &err), HS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(next, 1000);
    /* at 3000 all four are due; the first is held by the caller; room for 2 */
    uint64_t skip[] = {dl[0][0].seq};
    assert_int_equal(hs_store_queue_due(fx->s, d1, 3000, skip, 1, 2, page, &n, &next, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].id, dl[1][0].id);
    assert_int_equal(page[0].attempts, 1);
    assert_int_equal(page[0].next_attempt_at, 2000);
    assert_string_equal(page[1].id, dl[2][0].id);
    assert_int_equal(next, 3000); /* one more is due: read again now */
    /* the same when what the caller holds is not among the due ones: four
     * due, room for two, three held elsewhere */
    uint64_t held[] = {dl[4][0].seq, dl[5][0].seq, dl[5][1].seq};
    assert_int_equal(hs_store_queue_due(fx->s, d1, 3000, held, 3, 2, page, &n, &next, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].id, dl[0][0].id);
    assert_int_equal(next, 3000);
    assert_int_equal(hs_store_queue_due(fx->s, d1, 3000, skip, 1, 8, page, &n, &next, &err), HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(next, 0); /* none waits beyond */
    /* counts: d1 and d2 have N pending each; one delivered leaves N - 1 */
    record_attempt(fx, &dl[5][1], ev[5], true);
    hs_queue_count *qc;
    assert_int_equal(hs_store_queue_counts(fx->s, &qc, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) assert_int_equal(qc[i].pending, strcmp(qc[i].destination_id, d1) == 0 ? N : N - 1);
    hs_free(qc);
    fanout_free(&f);
}

/* A snapshot: reads between begin and end see the state of begin, whatever
 * commits meanwhile; after end, the new state. */
static void test_snapshot(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char ev[HS_ID_MAX];
    hs_delivery_ref dl[2];
    fanout_ingest(fx, &f, ev, dl);
    assert_int_equal(hs_store_snapshot_begin(fx->s, &err), HS_OK);
    hs_event *e;
    assert_int_equal(hs_store_event_get(fx->s, ev, &e, &err), HS_OK);
    assert_string_equal(e->status, "processing");
    hs_event_free(e);
    /* both deliveries succeed, committed by the writer meanwhile */
    record_attempt(fx, &dl[0], ev, true);
    record_attempt(fx, &dl[1], ev, true);
    hs_delivery *d;
    size_t n;
    assert_int_equal(hs_store_event_deliveries(fx->s, ev, &d, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) assert_string_equal(d[i].status, "pending"); /* as of begin */
    hs_free(d);
    assert_int_equal(hs_store_event_get(fx->s, ev, &e, &err), HS_OK);
    assert_string_equal(e->status, "processing");
    hs_event_free(e);
    hs_store_snapshot_end(fx->s);
    assert_int_equal(hs_store_event_get(fx->s, ev, &e, &err), HS_OK);
    assert_string_equal(e->status, "delivered");
    hs_event_free(e);
    fanout_free(&f);
}

/* ---- event list filters ---- */

/* The ids of the events q lists (one page of up to 100), newest first. */
static size_t list_ids(fixture *fx, hs_event_query *q, char (*ids)[HS_ID_MAX], int *rc) {
    q->page.limit = 100;
    hs_event **items;
    size_t n = 0;
    bool more;
    hs_error err;
    *rc = hs_store_event_list(fx->s, q, &items, &n, &more, &err);
    if (*rc != HS_OK) return 0;
    for (size_t i = 0; i < n; i++) {
        hs_id_copy(ids[i], items[i]->id);
        hs_event_free(items[i]);
    }
    hs_free(items);
    return n;
}

/* method and search (an id prefix, or bytes of the body) narrow the list,
 * alone and with the other filters; bad values are refused. */
static void test_event_filters(void **state) {
    fixture *fx = *state;
    json_t *src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    const char *bodies[] = {"{\"order\":\"A-1\"}", "{\"order\":\"B-7\"}", "caf\xc3\xa9 A-1\x00tail", "plain"};
    const char *methods[] = {"POST", "PUT", "POST", "PATCH"};
    char ids[4][HS_ID_MAX];
    for (int i = 0; i < 4; i++) {
        ingest_result r;
        memset(&r, 0, sizeof r);
        size_t len = i == 2 ? 15 : strlen(bodies[i]);
        hs_ingest *ing = new_ingest(jstr(src, "id"), bodies[i], len, &r);
        hs_free(ing->method);
        ing->method = hs_strdup(methods[i]);
        assert_int_equal(hs_store_ingest(fx->s, ing), HS_OK);
        uv_run(&fx->loop, UV_RUN_DEFAULT);
        assert_int_equal(r.status, HS_OK);
        hs_id_copy(ids[i], r.event_id);
    }
    char got[100][HS_ID_MAX];
    int rc;
    hs_event_query q = {.method = "POST"};
    assert_int_equal(list_ids(fx, &q, got, &rc), 2);
    assert_string_equal(got[0], ids[2]);
    assert_string_equal(got[1], ids[0]);
    q = (hs_event_query){.search = "A-1"}; /* in a JSON body, and in one with bytes after a NUL */
    assert_int_equal(list_ids(fx, &q, got, &rc), 2);
    assert_string_equal(got[0], ids[2]);
    assert_string_equal(got[1], ids[0]);
    q = (hs_event_query){.search = "tail"}; /* past the NUL: bytes, not a C string */
    assert_int_equal(list_ids(fx, &q, got, &rc), 1);
    assert_string_equal(got[0], ids[2]);
    q = (hs_event_query){.search = "caf\xc3\xa9", .method = "POST"};
    assert_int_equal(list_ids(fx, &q, got, &rc), 1);
    q = (hs_event_query){.search = "a-1"}; /* case-sensitive */
    assert_int_equal(list_ids(fx, &q, got, &rc), 0);
    char prefix[HS_ID_MAX];
    snprintf(prefix, sizeof prefix, "%.*s", 30, ids[3]); /* evt_ + 26 of its 32 digits */
    q = (hs_event_query){.search = prefix};
    size_t n = list_ids(fx, &q, got, &rc);
    assert_true(n >= 1);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        assert_memory_equal(got[i], prefix, strlen(prefix));
        found |= strcmp(got[i], ids[3]) == 0;
    }
    assert_true(found);
    q = (hs_event_query){.search = ids[1], .status = "received"};
    assert_int_equal(list_ids(fx, &q, got, &rc), 1);
    assert_string_equal(got[0], ids[1]);
    /* refused */
    const char *bad_methods[] = {"post", "", "GET1", "ABCDEFGHIJKLMNOPQ"};
    for (size_t i = 0; i < 4; i++) {
        q = (hs_event_query){.method = bad_methods[i]};
        list_ids(fx, &q, got, &rc);
        assert_int_equal(rc, HS_ERR_INVALID);
    }
    char longer[HS_SEARCH_MAX + 2];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    const char *bad_searches[] = {"", "\xff\xfe", longer};
    for (size_t i = 0; i < 3; i++) {
        q = (hs_event_query){.search = bad_searches[i]};
        list_ids(fx, &q, got, &rc);
        assert_int_equal(rc, HS_ERR_INVALID);
    }
    json_decref(src);
}

/* ---- retention ---- */

static void on_sweep(hs_sweep *sw, int status) {
    int *done = sw->ud;
    *done = status == HS_OK ? 1 : -1;
}

/* One sweep step, run to its callback. */
static void sweep_once(fixture *fx, hs_sweep *sw, uint64_t before_ms, size_t max_rows) {
    int done = 0;
    sw->events = sw->deliveries = sw->attempts = sw->pages_freed = sw->keys = sw->replays = 0;
    sw->more = false;
    sw->before_ms = before_ms;
    sw->max_rows = max_rows;
    sw->cb = on_sweep;
    sw->ud = &done;
    assert_int_equal(hs_store_sweep(fx->s, sw), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
}

/* An ingest with a dedup key (a fake one: 64 hex digits of c) for window_ms. */
static hs_ingest *keyed_ingest(const char *src_id, char c, uint64_t window_ms, ingest_result *r) {
    hs_ingest *ing = new_ingest(src_id, "{}", 2, r);
    if (c) {
        memset(ing->dedup_key, c, 64);
        ing->dedup_key[64] = '\0';
        ing->dedup_window_ms = window_ms;
    }
    ing->verification_status = "verified";
    return ing;
}

/* Deduplication (store.h "ingest"): the first of a key in its window is
 * unique and routed; the later ones, in the same group or a later one, are
 * stored as its duplicates and routed nowhere; a closed window frees the
 * key, and a sweep forgets it. The sources' counts count every event. */
static void test_dedup_and_counts(void **state) {
    fixture *fx = *state;
    fanout f;
    fanout_make(fx, &f);
    const char *src = jstr(f.src, "id");
    /* one group: a, a, b, none, a */
    const char keys[] = {'a', 'a', 'b', 0, 'a'};
    ingest_result r[5];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hs_store_ingest(fx->s, keyed_ingest(src, keys[i], 60000, &r[i])), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 5; i++) assert_int_equal(r[i].status, HS_OK);
    assert_false(r[0].duplicate);
    assert_int_equal(r[0].ndeliveries, 2);
    for (int i = 1; i < 5; i += 3) {
        assert_true(r[i].duplicate);
        assert_string_equal(r[i].duplicate_of, r[0].event_id);
        assert_int_equal(r[i].ndeliveries, 0);
        assert_string_equal(r[i].event_status, "received");
        assert_string_not_equal(r[i].event_id, r[0].event_id);
    }
    assert_false(r[2].duplicate);
    assert_false(r[3].duplicate);
    assert_int_equal(count_pending(fx), 6);
    /* a later group */
    ingest_result again;
    memset(&again, 0, sizeof again);
    assert_int_equal(hs_store_ingest(fx->s, keyed_ingest(src, 'b', 60000, &again)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_true(again.duplicate);
    assert_string_equal(again.duplicate_of, r[2].event_id);
    /* a window that closed */
    ingest_result brief[2];
    memset(brief, 0, sizeof brief);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hs_store_ingest(fx->s, keyed_ingest(src, 'c', 1, &brief[i])), HS_OK);
        uv_run(&fx->loop, UV_RUN_DEFAULT);
        assert_int_equal(brief[i].status, HS_OK);
        assert_false(brief[i].duplicate);
        usleep(20000);
    }
    assert_int_equal(count_pending(fx), 2 * 5);

    hs_error err;
    hs_event *e;
    assert_int_equal(hs_store_event_get(fx->s, r[1].event_id, &e, &err), HS_OK);
    assert_string_equal(e->dedup_status, "duplicate");
    assert_string_equal(e->verification_status, "verified");
    assert_string_equal(e->status, "received");
    hs_event_free(e);
    assert_int_equal(hs_store_event_get(fx->s, r[0].event_id, &e, &err), HS_OK);
    assert_string_equal(e->dedup_status, "unique");
    hs_event_free(e);
    hs_event_query q = {.dedup_status = "duplicate", .page = {.limit = 100}};
    hs_event **items;
    size_t n;
    bool more;
    assert_int_equal(hs_store_event_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i]->dedup_status, "duplicate");
        hs_event_free(items[i]);
    }
    hs_free(items);
    q = (hs_event_query){.verification_status = "unverified", .page = {.limit = 100}};
    assert_int_equal(hs_store_event_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_free(items);

    const char *ids[] = {src, "src_00000000000000000000000000000000"};
    hs_source_count counts[2];
    assert_int_equal(hs_store_source_counts(fx->s, ids, 2, counts, &err), HS_OK);
    assert_int_equal(counts[0].events, 8);
    assert_true(counts[0].last_event_at > 0);
    assert_int_equal(counts[1].events, 0);
    assert_int_equal(counts[1].last_event_at, 0);

    /* the sweep forgets the closed key ('c': one row, or one per claim
     * in a backend that logs claims), keeps the open ones */
    hs_sweep *sw = hs_sweep_new();
    sweep_once(fx, sw, 0, 100);
    assert_true(sw->keys >= 1 && sw->keys <= 2);
    assert_int_equal(sw->events, 0);
    hs_sweep_free(sw);
    memset(&again, 0, sizeof again);
    assert_int_equal(hs_store_ingest(fx->s, keyed_ingest(src, 'a', 60000, &again)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_true(again.duplicate);
    fanout_free(&f);
}

/* Settled events older than the cutoff go with their deliveries and
 * attempts, oldest first and in bounded steps; an event whose delivery is
 * pending or dead-lettered stays, and so does everything newer. */
static void test_sweep(void **state) {
    fixture *fx = *state;
    fanout f;
    fanout_make(fx, &f);
    json_t *lone = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"no connections\"}");
    char delivered[3][HS_ID_MAX], failed[HS_ID_MAX], pending[HS_ID_MAX];
    hs_delivery_ref dl[2];
    for (int i = 0; i < 3; i++) {
        fanout_ingest(fx, &f, delivered[i], dl);
        record_attempt(fx, &dl[0], delivered[i], true);
        record_attempt(fx, &dl[1], delivered[i], true);
    }
    fanout_ingest(fx, &f, failed, dl);
    record_attempt(fx, &dl[0], failed, true);
    record_attempt(fx, &dl[1], failed, false);
    fanout_ingest(fx, &f, pending, dl);
    ingest_result received;
    assert_int_equal(ingest_one(fx, jstr(lone, "id"), "{}", 2, &received), HS_OK);
    assert_string_equal(received.event_status, "received");
    assert_int_equal(count_events(fx), 6);

    hs_sweep *sw = hs_sweep_new();
    sweep_once(fx, sw, 1, 1000); /* nothing is that old */
    assert_int_equal(sw->events, 0);
    assert_false(sw->more);

    uint64_t cutoff = hs_now_ms() + 1000;
    sweep_once(fx, sw, cutoff, 1); /* one event at least, then the bound */
    assert_int_equal(sw->events, 1);
    assert_true(sw->more);
    size_t events = sw->events, deliveries = sw->deliveries, attempts = sw->attempts;
    for (int guard = 0; sw->more && guard < 10; guard++) {
        sweep_once(fx, sw, cutoff, 1000);
        events += sw->events;
        deliveries += sw->deliveries;
        attempts += sw->attempts;
    }
    assert_false(sw->more);
    /* the three delivered (2 deliveries, 2 attempts each) and the received one */
    assert_int_equal(events, 4);
    assert_int_equal(deliveries, 6);
    assert_int_equal(attempts, 6);
    hs_error err;
    hs_event *e;
    for (int i = 0; i < 3; i++) assert_int_equal(hs_store_event_get(fx->s, delivered[i], &e, &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_event_get(fx->s, received.event_id, &e, &err), HS_ERR_NOTFOUND);
    const char *kept[] = {failed, pending};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hs_store_event_get(fx->s, kept[i], &e, &err), HS_OK);
        hs_event_free(e);
        json_t *atts;
        assert_int_equal(hs_store_event_attempts(fx->s, kept[i], &atts, &err), HS_OK);
        assert_int_equal(json_array_size(atts), i == 0 ? 2 : 0);
        json_decref(atts);
    }
    assert_int_equal(count_events(fx), 2);
    assert_int_equal(count_pending(fx), 2);
    hs_sweep_free(sw);
    json_decref(lone);
    fanout_free(&f);
}

/* ---- secrets at rest ---- */

/* A destination's signing secret as the store hands it back. */
static char *stored_secret(fixture *fx, const char *id) {
    hs_error err;
    json_t *d;
    assert_int_equal(hs_store_resource_get(fx->s, HS_KIND_DESTINATION, id, &d, &err), HS_OK);
    char *secret = hs_strdup(json_string_value(json_object_get(json_object_get(d, "signing"), "secret")));
    json_decref(d);
    return secret;
}

static void box_of(hs_secretbox *box, unsigned char fill) {
    unsigned char key[HS_SECRETBOX_KEY_LEN];
    memset(key, fill, sizeof key);
    hs_secretbox_init(box, key);
}

/* hs_store_reseal on a closed store: secrets stored in clear are sealed, a
 * store read with the key opens them and one without sees no clear value;
 * a new key re-seals them; the wrong key is refused and changes nothing. */
static void test_reseal(void **state) {
    fixture *fx = *state;
    const char *secret = "a-long-shared-secret-for-signing";
    json_t *d = create_res(fx->s, HS_KIND_DESTINATION,
                           "{\"name\":\"signed\",\"signing\":{\"secret\":\"a-long-shared-secret-for-signing\"}}");
    const char *id = jstr(d, "id");
    char *got = stored_secret(fx, id);
    assert_string_equal(got, secret); /* no box yet: in clear */
    hs_free(got);
    close_store(fx);

    hs_secretbox k1, k2;
    box_of(&k1, 1);
    box_of(&k2, 2);
    hs_reseal_stats st;
    hs_error err;
    assert_int_equal(hs_store_reseal(fx->path, &hs_resource_secret_codec, &k1, &k1, &st, &err), HS_OK);
    assert_int_equal(st.clear, 1);
    assert_int_equal(st.rewritten, 1);
    assert_int_equal(hs_store_reseal(fx->path, &hs_resource_secret_codec, &k1, &k1, &st, &err), HS_OK);
    assert_int_equal(st.clear, 0); /* sealed now: nothing to do */
    assert_int_equal(st.rewritten, 0);

    open_store(fx);
    got = stored_secret(fx, id); /* no box: what is stored, sealed */
    assert_string_not_equal(got, secret);
    assert_null(strstr(got, secret));
    hs_free(got);
    hs_store_set_secretbox(fx->s, &k1, &hs_resource_secret_codec);
    got = stored_secret(fx, id);
    assert_string_equal(got, secret);
    hs_free(got);
    close_store(fx);

    /* the wrong key: refused, nothing changed */
    assert_int_equal(hs_store_reseal(fx->path, &hs_resource_secret_codec, &k2, &k2, &st, &err), HS_ERR_UNAUTHORIZED);
    /* rotation: k1 to k2 */
    assert_int_equal(hs_store_reseal(fx->path, &hs_resource_secret_codec, &k1, &k2, &st, &err), HS_OK);
    assert_int_equal(st.rewritten, 1);
    open_store(fx);
    hs_store_set_secretbox(fx->s, &k2, &hs_resource_secret_codec);
    got = stored_secret(fx, id);
    assert_string_equal(got, secret);
    hs_free(got);
    json_decref(d);
}

/* ---- replay jobs and bulk retries (src/store/replay.h) ---- */

static void retry_free(hs_event_retry *r) {
    hs_free(r->queued);
    hs_free(r->skipped);
}

/* A step of job by node at cursor, up to max: its return code. */
static int replay_step(fixture *fx, const char *job, const char *node, uint64_t cursor, size_t max,
                       hs_replay_step *st) {
    memset(st, 0, sizeof *st);
    st->job_id = job;
    st->node = node;
    st->cursor = cursor;
    st->max = max;
    hs_error err;
    return hs_store_replay_step(fx->s, st, &err);
}

/* The one attempt of a replay's delivery d: delivered or failed (no retry,
 * not dead-lettered). */
static void replay_attempt(fixture *fx, const hs_delivery *d, bool success) {
    hs_delivery_ref ref = {0};
    hs_id_copy(ref.id, d->id);
    hs_id_copy(ref.destination_id, d->destination_id);
    hs_id_copy(ref.connection_id, d->connection_id);
    hs_attempt_op *op = attempt_op_new(&ref, d->event_id);
    op->a.success = success;
    op->a.created_at = hs_now_ms();
    if (!success) op->a.error = hs_strdup("HTTP 500");
    attempt_commit(fx, op);
}

static void expect_job(fixture *fx, const char *id, const char *status, uint64_t cursor, uint64_t succeeded,
                       uint64_t failed) {
    hs_replay_job j;
    hs_error err;
    assert_int_equal(hs_store_replay_get(fx->s, id, &j, &err), HS_OK);
    assert_string_equal(j.status, status);
    assert_int_equal(j.cursor, cursor);
    assert_int_equal(j.succeeded, succeeded);
    assert_int_equal(j.failed, failed);
    assert_int_equal(j.processed, succeeded + failed);
    hs_replay_jobs_free(&j, 1);
}

/* Events chosen in received order; a job runs on the node that claimed it
 * only; a step enqueues and moves the cursor together, and one from a
 * stale cursor is refused (nothing enqueued twice); a replay's delivery is
 * tried once; the job completes when none is pending; it all survives a
 * reopen. */
static void test_replay_jobs(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char ev[3][HS_ID_MAX];
    hs_delivery_ref dl[2];
    for (int i = 0; i < 3; i++) fanout_ingest(fx, &f, ev[i], dl);
    const char *src = jstr(f.src, "id");
    hs_replay_scan q = {.source_ids = &src, .nsources = 1, .to = hs_now_ms() + 1000, .after_id = "", .limit = 2};
    hs_replay_event *found;
    size_t n;
    assert_int_equal(hs_store_replay_scan(fx->s, &q, &found, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(found[0].id, ev[0]);
    assert_string_equal(found[1].id, ev[1]);
    char after[HS_ID_MAX];
    hs_id_copy(after, found[1].id);
    q.after_at = found[1].received_at;
    q.after_id = after;
    hs_free(found);
    assert_int_equal(hs_store_replay_scan(fx->s, &q, &found, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(found[0].id, ev[2]);
    hs_free(found);

    hs_replay_job j = {.rate = 10, .to = hs_now_ms()};
    hs_id_new("rpl_", j.id);
    hs_id_copy(j.destination_id, jstr(f.d1, "id"));
    j.filter = json_loads("[{\"field\":\"method\",\"op\":\"eq\",\"value\":\"POST\"}]", 0, NULL);
    assert_int_equal(hs_store_replay_create(fx->s, &j, (const char(*)[HS_ID_MAX])ev, 3, &err), HS_OK);
    json_decref(j.filter);
    expect_job(fx, j.id, "running", 0, 0, 0);

    /* one runner at a time */
    hs_replay_job *held;
    assert_int_equal(hs_store_replay_claim(fx->s, "n1", 60000, &held, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(held[0].id, j.id);
    assert_string_equal(held[0].runner, "n1");
    assert_int_equal(held[0].total, 3);
    hs_replay_jobs_free(held, n);
    hs_free(held);
    assert_int_equal(hs_store_replay_claim(fx->s, "n2", 60000, &held, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_free(held);
    hs_replay_step st;
    assert_int_equal(replay_step(fx, j.id, "n2", 0, 2, &st), HS_ERR_STALE);

    assert_int_equal(replay_step(fx, j.id, "n1", 0, 2, &st), HS_OK);
    assert_int_equal(st.n, 2);
    assert_int_equal(st.new_cursor, 2);
    assert_string_equal(st.status, "running");
    assert_string_equal(st.queued[0].event_id, ev[0]);
    assert_string_equal(st.queued[1].event_id, ev[1]);
    assert_true(st.queued[0].seq < st.queued[1].seq);
    hs_delivery first[2];
    memcpy(first, st.queued, sizeof first);
    hs_free(st.queued);
    /* the scheduler's read says they are a replay's */
    hs_delivery page[8];
    assert_int_equal(hs_store_queue_page(fx->s, jstr(f.d1, "id"), dl[0].seq, false, 8, page, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].replay_job_id, j.id);
    expect_event(fx, ev[0], "processing/3"); /* its two first deliveries and the replay's */
    /* a step from the cursor it had before: refused, nothing twice */
    assert_int_equal(replay_step(fx, j.id, "n1", 0, 2, &st), HS_ERR_STALE);
    assert_int_equal(count_pending(fx), 3 * 2 + 2);

    replay_attempt(fx, &first[0], true);
    replay_attempt(fx, &first[1], false);
    expect_delivery(fx, ev[1], first[1].id, "failed");
    assert_int_equal(replay_step(fx, j.id, "n1", 2, 5, &st), HS_OK);
    assert_int_equal(st.n, 1);
    assert_int_equal(st.new_cursor, 3);
    hs_delivery last = st.queued[0];
    hs_free(st.queued);
    assert_int_equal(replay_step(fx, j.id, "n1", 3, 0, &st), HS_OK);
    assert_string_equal(st.status, "running"); /* one still pending */
    replay_attempt(fx, &last, true);
    assert_int_equal(replay_step(fx, j.id, "n1", 3, 0, &st), HS_OK);
    assert_string_equal(st.status, "completed");
    expect_job(fx, j.id, "completed", 3, 2, 1);
    assert_int_equal(hs_store_replay_cancel(fx->s, j.id, &err), HS_ERR_CONFLICT);

    /* a claim that expired is taken over; a cancelled job takes no step */
    hs_replay_job k = {.rate = 1};
    hs_id_new("rpl_", k.id);
    hs_id_copy(k.destination_id, jstr(f.d2, "id"));
    assert_int_equal(hs_store_replay_create(fx->s, &k, (const char(*)[HS_ID_MAX])ev, 3, &err), HS_OK);
    assert_int_equal(hs_store_replay_claim(fx->s, "n1", 1, &held, &n, &err), HS_OK);
    hs_replay_jobs_free(held, n);
    hs_free(held);
    usleep(20000);
    assert_int_equal(hs_store_replay_claim(fx->s, "n2", 60000, &held, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(held[0].id, k.id);
    hs_replay_jobs_free(held, n);
    hs_free(held);
    assert_int_equal(replay_step(fx, k.id, "n1", 0, 1, &st), HS_ERR_STALE);
    hs_replay_job *list;
    bool more;
    hs_page pg = {.limit = 1};
    assert_int_equal(hs_store_replay_list(fx->s, &pg, NULL, &list, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    assert_string_equal(list[0].id, k.id);
    hs_replay_jobs_free(list, n);
    hs_free(list);
    pg.limit = 10;
    assert_int_equal(hs_store_replay_list(fx->s, &pg, jstr(f.d1, "id"), &list, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(list[0].id, j.id);
    hs_replay_jobs_free(list, n);
    hs_free(list);
    assert_int_equal(hs_store_replay_cancel(fx->s, k.id, &err), HS_OK);
    assert_int_equal(replay_step(fx, k.id, "n2", 0, 1, &st), HS_ERR_STALE);
    char none[HS_ID_MAX];
    hs_id_new("rpl_", none);
    assert_int_equal(hs_store_replay_cancel(fx->s, none, &err), HS_ERR_NOTFOUND);
    hs_replay_job gone;
    assert_int_equal(hs_store_replay_get(fx->s, none, &gone, &err), HS_ERR_NOTFOUND);

    reopen_store(fx);
    expect_job(fx, j.id, "completed", 3, 2, 1);
    expect_job(fx, k.id, "cancelled", 0, 0, 0);

    /* retention: jobs that ended before the cutoff go (with their chosen
     * events), a running one stays whole */
    hs_replay_job m = {.rate = 1};
    hs_id_new("rpl_", m.id);
    hs_id_copy(m.destination_id, jstr(f.d2, "id"));
    assert_int_equal(hs_store_replay_create(fx->s, &m, (const char(*)[HS_ID_MAX])ev, 3, &err), HS_OK);
    hs_sweep *sw = hs_sweep_new();
    sweep_once(fx, sw, hs_now_ms() - 600000, 1000); /* they ended after that */
    assert_int_equal(sw->replays, 0);
    expect_job(fx, j.id, "completed", 3, 2, 1);
    usleep(2000);
    sweep_once(fx, sw, hs_now_ms(), 1000);
    assert_int_equal(sw->replays, 2);
    assert_int_equal(hs_store_replay_get(fx->s, j.id, &gone, &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_replay_get(fx->s, k.id, &gone, &err), HS_ERR_NOTFOUND);
    sweep_once(fx, sw, hs_now_ms(), 1000);
    assert_int_equal(sw->replays, 0);
    expect_job(fx, m.id, "running", 0, 0, 0);
    assert_int_equal(hs_store_replay_claim(fx->s, "n3", 60000, &held, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    hs_replay_jobs_free(held, n);
    hs_free(held);
    assert_int_equal(replay_step(fx, m.id, "n3", 0, 3, &st), HS_OK);
    assert_int_equal(st.n, 3); /* its chosen events are all there */
    hs_free(st.queued);
    hs_sweep_free(sw);
    fanout_free(&f);
}

/* A bulk retry requeues the dead letters of the destination named, at most
 * limit at a time, saying whether more are left; other destinations'
 * stay. */
static void test_bulk_retry(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    char ev[2][HS_ID_MAX];
    hs_delivery_ref dl[2][2];
    for (int i = 0; i < 2; i++) {
        fanout_ingest(fx, &f, ev[i], dl[i]);
        record_attempt(fx, &dl[i][0], ev[i], false);
        record_attempt(fx, &dl[i][1], ev[i], false);
    }
    hs_bulk_retry q = {.destination_id = jstr(f.d1, "id"), .limit = 1};
    hs_event_retry r;
    bool more;
    assert_int_equal(hs_store_bulk_retry(fx->s, &q, &r, &more, &err), HS_OK);
    assert_int_equal(r.n, 1);
    assert_true(more);
    assert_string_equal(r.queued[0].id, dl[0][0].id);
    assert_string_equal(r.queued[0].status, "pending");
    retry_free(&r);
    q.limit = 10;
    assert_int_equal(hs_store_bulk_retry(fx->s, &q, &r, &more, &err), HS_OK);
    assert_int_equal(r.n, 1);
    assert_false(more);
    retry_free(&r);
    assert_int_equal(hs_store_bulk_retry(fx->s, &q, &r, &more, &err), HS_OK);
    assert_int_equal(r.n, 0);
    retry_free(&r);
    for (int i = 0; i < 2; i++) {
        expect_delivery(fx, ev[i], dl[i][0].id, "pending");
        expect_delivery(fx, ev[i], dl[i][1].id, "dlq");
    }
    q.limit = 0;
    assert_int_equal(hs_store_bulk_retry(fx->s, &q, &r, &more, &err), HS_ERR_INVALID);
    fanout_free(&f);
}

/* ---- issues, notification channels, alert rules (src/store/ops.h) ---- */

static void test_issues(void **state) {
    fixture *fx = *state;
    hs_error err;
    const char *dst = "dst_0123456789abcdef0123456789abcdef";
    hs_issue_hit h = {
        .destination_id = dst, .error_type = "http_5xx", .attempt_id = "da_1", .message = "HTTP 500", .at = 1000};
    hs_issue iss, again;
    bool opened = false;
    assert_int_equal(hs_store_issue_hit(fx->s, &h, &iss, &opened, &err), HS_OK);
    assert_true(opened);
    assert_string_equal(iss.status, "open");
    assert_int_equal(iss.count, 1);
    /* the same key: counted, not opened, the newest attempt first */
    char aid[16]; /* h keeps pointing at it after the loop */
    for (int i = 2; i <= 12; i++) {
        snprintf(aid, sizeof aid, "da_%d", i);
        h.attempt_id = aid;
        h.at = 1000 + (uint64_t)i;
        assert_int_equal(hs_store_issue_hit(fx->s, &h, &again, &opened, &err), HS_OK);
        assert_false(opened);
    }
    assert_string_equal(again.id, iss.id);
    assert_int_equal(again.count, 12);
    assert_int_equal(again.last_seen_at, 1012);
    json_t *recent = json_loads(again.recent_attempt_ids, 0, NULL);
    assert_int_equal(json_array_size(recent), HS_ISSUE_RECENT_MAX);
    assert_string_equal(json_string_value(json_array_get(recent, 0)), "da_12");
    json_decref(recent);
    /* another error type is another issue */
    hs_issue other;
    h.error_type = "timeout";
    assert_int_equal(hs_store_issue_hit(fx->s, &h, &other, &opened, &err), HS_OK);
    assert_true(opened);
    assert_string_not_equal(other.id, iss.id);
    h.error_type = "bogus";
    assert_int_equal(hs_store_issue_hit(fx->s, &h, &other, &opened, &err), HS_ERR_INVALID);

    /* list, filters, pages, counts */
    hs_issue *items;
    size_t n;
    bool more;
    hs_issue_query q = {.page = {.limit = 1}};
    assert_int_equal(hs_store_issue_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    char cursor[HS_ID_MAX];
    hs_id_copy(cursor, items[0].id);
    hs_free(items);
    q.page.cursor = cursor;
    assert_int_equal(hs_store_issue_list(fx->s, &q, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_false(more);
    hs_free(items);
    hs_issue_query by_type = {.status = "open", .destination_id = dst, .page = {.limit = 10}};
    assert_int_equal(hs_store_issue_list(fx->s, &by_type, &items, &n, &more, &err), HS_OK);
    assert_int_equal(n, 2);
    hs_free(items);
    by_type.status = "nope";
    assert_int_equal(hs_store_issue_list(fx->s, &by_type, &items, &n, &more, &err), HS_ERR_INVALID);

    /* a change, then quiet ones resolve, and a new hit reopens */
    hs_issue_change ack = {.status = "acknowledged", .set_snooze = true, .snoozed_until = 99999, .now = 2000};
    assert_int_equal(hs_store_issue_update(fx->s, iss.id, &ack, &again, &err), HS_OK);
    assert_string_equal(again.status, "acknowledged");
    assert_int_equal(again.acknowledged_at, 2000);
    assert_int_equal(again.snoozed_until, 99999);
    assert_int_equal(hs_store_issue_update(fx->s, "iss_0123456789abcdef0123456789abcdef", &ack, &again, &err),
                     HS_ERR_NOTFOUND);
    hs_issue_counts k;
    assert_int_equal(hs_store_issue_counts(fx->s, &k, &err), HS_OK);
    assert_int_equal(k.open, 1);
    assert_int_equal(k.acknowledged, 1);
    size_t resolved = 0;
    assert_int_equal(hs_store_issue_resolve_quiet(fx->s, 1012, 3000, &resolved, &err), HS_OK);
    assert_int_equal(resolved, 0); /* both last seen at 1012 */
    assert_int_equal(hs_store_issue_resolve_quiet(fx->s, 1013, 3000, &resolved, &err), HS_OK);
    assert_int_equal(resolved, 2);
    assert_int_equal(hs_store_issue_get(fx->s, iss.id, &again, &err), HS_OK);
    assert_string_equal(again.status, "resolved");
    assert_int_equal(again.resolved_at, 3000);
    h.error_type = "http_5xx";
    h.at = 4000;
    assert_int_equal(hs_store_issue_hit(fx->s, &h, &again, &opened, &err), HS_OK);
    assert_true(opened);
    assert_string_equal(again.id, iss.id);
    assert_string_equal(again.status, "open");
    assert_int_equal(again.count, 13);
    assert_int_equal(again.resolved_at, 0);
    /* a batch: the first of a new key opens it, the next counts on it */
    hs_issue_hit batch[3] = {
        {.destination_id = dst, .error_type = "connection", .attempt_id = "da_b1", .at = 5000},
        {.destination_id = dst, .error_type = "connection", .attempt_id = "da_b2", .at = 5001},
        {.destination_id = dst, .error_type = "http_5xx", .attempt_id = "da_b3", .at = 5002},
    };
    hs_issue got[3];
    bool op[3];
    assert_int_equal(hs_store_issue_hits(fx->s, batch, 3, got, op, &err), HS_OK);
    assert_true(op[0]);
    assert_false(op[1]);
    assert_false(op[2]);
    assert_string_equal(got[0].id, got[1].id);
    assert_int_equal(got[1].count, 2);
    assert_int_equal(got[2].count, 14);
    assert_int_equal(hs_store_issue_hits(fx->s, batch, 0, got, op, &err), HS_OK);
    /* it lasts */
    reopen_store(fx);
    assert_int_equal(hs_store_issue_get(fx->s, iss.id, &again, &err), HS_OK);
    assert_int_equal(again.count, 14);
}

static void test_opsdocs_and_claims(void **state) {
    fixture *fx = *state;
    hs_error err;
    hs_opsdoc rows[3] = {{.id = "alr_00000000000000000000000000000001", .type = "dlq", .enabled = true},
                         {.id = "alr_00000000000000000000000000000002", .type = "latency", .enabled = false},
                         {.id = "nch_00000000000000000000000000000001", .type = "slack", .enabled = true}};
    rows[0].text = "{\"a\":1}";
    rows[1].text = "{\"b\":2}";
    rows[2].text = "{\"c\":3}";
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_RULE, true, &rows[0], &err), HS_OK);
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_RULE, true, &rows[1], &err), HS_OK);
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_CHANNEL, true, &rows[2], &err), HS_OK);
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_RULE, true, &rows[0], &err), HS_ERR_CONFLICT);
    hs_opsdoc missing = rows[0];
    snprintf(missing.id, sizeof missing.id, "alr_00000000000000000000000000000009");
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_RULE, false, &missing, &err), HS_ERR_NOTFOUND);
    rows[0].text = "{\"a\":2}";
    assert_int_equal(hs_store_opsdoc_put(fx->s, HS_OPSDOC_RULE, false, &rows[0], &err), HS_OK);

    hs_opsdoc got;
    assert_int_equal(hs_store_opsdoc_get(fx->s, HS_OPSDOC_RULE, rows[0].id, &got, &err), HS_OK);
    assert_string_equal(got.text, "{\"a\":2}");
    assert_string_equal(got.type, "dlq");
    assert_true(got.enabled);
    assert_false(got.firing);
    assert_true(got.updated_at >= got.created_at && got.created_at > 0);
    hs_free(got.text);
    assert_int_equal(hs_store_opsdoc_get(fx->s, HS_OPSDOC_CHANNEL, rows[0].id, &got, &err), HS_ERR_NOTFOUND);

    hs_opsdoc *list;
    size_t n;
    bool more;
    hs_page page = {.limit = 1};
    assert_int_equal(hs_store_opsdoc_list(fx->s, HS_OPSDOC_RULE, &page, &list, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    assert_string_equal(list[0].id, rows[1].id); /* newest id first */
    hs_opsdoc_free(list, n);
    assert_int_equal(hs_store_opsdoc_list(fx->s, HS_OPSDOC_RULE, NULL, &list, &n, &more, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_false(list[1].enabled == list[0].enabled);
    hs_opsdoc_free(list, n);

    /* a firing is claimed once per cooldown; a clear once per firing */
    bool claimed;
    assert_int_equal(hs_store_rule_claim(fx->s, rows[0].id, true, 100000, 60000, &claimed, &err), HS_OK);
    assert_true(claimed);
    assert_int_equal(hs_store_rule_claim(fx->s, rows[0].id, true, 130000, 60000, &claimed, &err), HS_OK);
    assert_false(claimed);
    assert_int_equal(hs_store_rule_claim(fx->s, rows[0].id, true, 160000, 60000, &claimed, &err), HS_OK);
    assert_true(claimed);
    assert_int_equal(hs_store_opsdoc_get(fx->s, HS_OPSDOC_RULE, rows[0].id, &got, &err), HS_OK);
    assert_true(got.firing);
    assert_int_equal(got.last_fired_at, 160000);
    hs_free(got.text);
    assert_int_equal(hs_store_rule_claim(fx->s, rows[0].id, false, 0, 0, &claimed, &err), HS_OK);
    assert_true(claimed);
    assert_int_equal(hs_store_rule_claim(fx->s, rows[0].id, false, 0, 0, &claimed, &err), HS_OK);
    assert_false(claimed);

    assert_int_equal(hs_store_opsdoc_delete(fx->s, HS_OPSDOC_RULE, rows[0].id, &err), HS_OK);
    assert_int_equal(hs_store_opsdoc_delete(fx->s, HS_OPSDOC_RULE, rows[0].id, &err), HS_ERR_NOTFOUND);
}

static void test_window_stats(void **state) {
    fixture *fx = *state;
    hs_error err;
    fanout f;
    fanout_make(fx, &f);
    uint64_t t0 = hs_now_ms();
    /* two events: each delivered to d1 and dead-lettered at d2 */
    for (int i = 0; i < 2; i++) {
        char event_id[HS_ID_MAX];
        hs_delivery_ref dl[2];
        fanout_ingest(fx, &f, event_id, dl);
        record_attempt(fx, &dl[0], event_id, true);
        record_attempt(fx, &dl[1], event_id, false);
    }
    hs_window_stats st;
    hs_window_query q = {.since = t0 > 60000 ? t0 - 60000 : 0, .until = hs_now_ms() + 1};
    assert_int_equal(hs_store_window_stats(fx->s, &q, &st, &err), HS_OK);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.dead_lettered, 2);
    assert_int_equal(st.events, 2);
    q.destination_id = jstr(f.d2, "id");
    assert_int_equal(hs_store_window_stats(fx->s, &q, &st, &err), HS_OK);
    assert_int_equal(st.attempts, 2);
    assert_int_equal(st.failed, 2);
    q.destination_id = NULL;
    q.source_id = "src_0123456789abcdef0123456789abcdef";
    assert_int_equal(hs_store_window_stats(fx->s, &q, &st, &err), HS_OK);
    assert_int_equal(st.attempts, 0);
    assert_int_equal(st.events, 0);
    q.source_id = jstr(f.src, "id");
    assert_int_equal(hs_store_window_stats(fx->s, &q, &st, &err), HS_OK);
    assert_int_equal(st.attempts, 4);
    assert_int_equal(st.events, 2);
    /* an empty window */
    hs_window_query before = {.since = 1, .until = 2};
    assert_int_equal(hs_store_window_stats(fx->s, &before, &st, &err), HS_OK);
    assert_int_equal(st.attempts + st.events + st.p95_ms, 0);
    fanout_free(&f);
}

/* The outbox: a notification added is claimed by its creator; one claim
 * per lease across nodes; settled only by its claimer; listed, pruned. */
static void test_notifications(void **state) {
    fixture *fx = *state;
    hs_error err;
    hs_notification a = {.id = "ntf_00000000000000000000000000000001",
                         .channel_id = "nch_00000000000000000000000000000001",
                         .type = "alert.firing",
                         .notice = "{\"title\":\"t\"}",
                         .max_attempts = 3};
    hs_notification b = a;
    snprintf(b.id, sizeof b.id, "ntf_00000000000000000000000000000002");
    snprintf(b.channel_id, sizeof b.channel_id, "nch_00000000000000000000000000000002");
    assert_int_equal(hs_store_notification_add(fx->s, &a, "node-a", 60000, &err), HS_OK);
    assert_int_equal(hs_store_notification_add(fx->s, &b, "node-a", 0, &err), HS_OK);
    assert_int_equal(hs_store_notification_add(fx->s, &a, "node-a", 60000, &err), HS_ERR_CONFLICT);

    hs_notification got;
    assert_int_equal(hs_store_notification_get(fx->s, a.id, &got, &err), HS_OK);
    assert_string_equal(got.status, "pending");
    assert_string_equal(got.claimed_by, "node-a");
    assert_string_equal(got.notice, a.notice);
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.max_attempts, 3);
    assert_true(got.claimed_until >= got.created_at + 60000);
    hs_free(got.notice);

    /* a's lease holds: only b (its lease of 0 ran out) is claimed, once */
    usleep(5000);
    hs_notification *v;
    size_t n;
    assert_int_equal(hs_store_notification_claim(fx->s, "node-b", 60000, 10, false, &v, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, b.id);
    assert_string_equal(v[0].claimed_by, "node-b");
    hs_notification_free(v, n);
    assert_int_equal(hs_store_notification_claim(fx->s, "node-c", 60000, 10, false, &v, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    /* its own claim is not another claim's: nothing to take, and not even
     * a write to find that out (the outbox looks every second) */
    hs_store_stats before, after;
    hs_store_get_stats(fx->s, &before);
    assert_int_equal(hs_store_notification_claim(fx->s, "node-a", 60000, 10, false, &v, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_store_get_stats(fx->s, &after);
    assert_int_equal(after.commits + after.commit_failures, before.commits + before.commit_failures);
    /* mine_too: a node back from a restart takes back its own claims */
    assert_int_equal(hs_store_notification_claim(fx->s, "node-a", 60000, 10, true, &v, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, a.id);
    hs_notification_free(v, n);

    /* settled by its claimer only: a failure waits retry_in_ms, then is due */
    bool mine = true;
    hs_notification_outcome fail = {
        .status = "pending", .error = "the channel answered 500", .retry_in_ms = 0, .count = true};
    assert_int_equal(hs_store_notification_settle(fx->s, a.id, "node-b", &fail, &mine, &err), HS_OK);
    assert_false(mine);
    assert_int_equal(hs_store_notification_settle(fx->s, a.id, "node-a", &fail, &mine, &err), HS_OK);
    assert_true(mine);
    assert_int_equal(hs_store_notification_get(fx->s, a.id, &got, &err), HS_OK);
    assert_int_equal(got.attempts, 1);
    assert_string_equal(got.last_error, "the channel answered 500");
    assert_string_equal(got.claimed_by, "");
    hs_free(got.notice);
    usleep(5000);
    assert_int_equal(hs_store_notification_claim(fx->s, "node-c", 60000, 10, false, &v, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].attempts, 1);
    hs_notification_free(v, n);
    /* a cancelled attempt lets the claim go, counts nothing */
    hs_notification_outcome cancel = {.status = "pending", .count = false, .retry_in_ms = 3600000};
    assert_int_equal(hs_store_notification_settle(fx->s, a.id, "node-c", &cancel, &mine, &err), HS_OK);
    assert_true(mine);
    assert_int_equal(hs_store_notification_get(fx->s, a.id, &got, &err), HS_OK);
    assert_int_equal(got.attempts, 1);
    assert_string_equal(got.last_error, "the channel answered 500");
    hs_free(got.notice);
    assert_int_equal(hs_store_notification_claim(fx->s, "node-c", 60000, 10, false, &v, &n, &err), HS_OK);
    assert_int_equal(n, 0); /* not due for an hour */

    hs_notification_outcome sent = {.status = "sent", .count = true, .error = ""};
    assert_int_equal(hs_store_notification_settle(fx->s, b.id, "node-b", &sent, &mine, &err), HS_OK);
    assert_true(mine);
    assert_int_equal(hs_store_notification_settle(fx->s, b.id, "node-b", &sent, &mine, &err), HS_OK);
    assert_false(mine); /* settled already */

    hs_notification_query q = {.status = "sent", .page = {.limit = 10}};
    bool more;
    assert_int_equal(hs_store_notification_list(fx->s, &q, &v, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, b.id);
    assert_int_equal(v[0].attempts, 1);
    hs_notification_free(v, n);
    q = (hs_notification_query){.page = {.limit = 1}};
    assert_int_equal(hs_store_notification_list(fx->s, &q, &v, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    assert_string_equal(v[0].id, b.id); /* newest id first */
    hs_notification_free(v, n);
    q = (hs_notification_query){.channel_id = a.channel_id, .page = {.limit = 10}};
    assert_int_equal(hs_store_notification_list(fx->s, &q, &v, &n, &more, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, a.id);
    hs_notification_free(v, n);
    q.status = "queued";
    assert_int_equal(hs_store_notification_list(fx->s, &q, &v, &n, &more, &err), HS_ERR_INVALID);

    /* pruning: settled ones only */
    size_t pruned = 0;
    assert_int_equal(hs_store_notification_prune(fx->s, hs_now_ms() + 3600000, 100, &pruned, &err), HS_OK);
    assert_int_equal(pruned, 1);
    assert_int_equal(hs_store_notification_get(fx->s, b.id, &got, &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_notification_get(fx->s, a.id, &got, &err), HS_OK);
    hs_free(got.notice);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resource_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_delete_referenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_destination_cancels_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_settles_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_destination_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempts_settle_and_circuits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_retry_skips_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_completions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_many_grouped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound_and_group_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_writes_from_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_commits_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_apikeys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apikey_revoke_and_touch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_needs_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reseal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opsdocs_and_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
