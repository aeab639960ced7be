/* fixtures.h — what tests/unit/test_store.c and
 * tests/store/test_store_conformance.c share: the fixture (a fresh store in a
 * temporary directory, run on a loop of its own), creating resources,
 * ingesting and counting ingests, the fan-out of one source to two
 * destinations, and recording a delivery's attempt. Everything is static
 * inline, so a test program that leaves a helper unused still builds under
 * -Werror. Each test program keeps what only it does (how it names its
 * store, how it reads an event's status). */
#ifndef HS_TESTS_STORE_FIXTURES_H
#define HS_TESTS_STORE_FIXTURES_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/log.h"
#include "base/mailbox.h"
#include "store/store.h"
#include "base/timeutil.h"

/* ---- fixture: a fresh database in a temporary directory ---- */

typedef struct fixture {
    char dir[64];
    char path[512];
    hs_store *s;
    uv_loop_t loop;
    hs_mailbox mb; /* the loop's: async writes complete through it */
} fixture;

static inline void open_store(fixture *fx) {
    hs_error err;
    int rc = hs_store_open(fx->path, &fx->s, &err);
    if (rc != HS_OK) fail_msg("hs_store_open: %s", err.msg);
}

/* Close as the server does: on the loop thread, then let the loop run what
 * is left. */
static inline void close_store(fixture *fx) {
    hs_store_close(fx->s);
    fx->s = NULL;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
}

static inline void reopen_store(fixture *fx) {
    close_store(fx);
    open_store(fx);
}

/* The store's URL (or path) for a fresh temporary directory dir. */
typedef void fixture_url_fn(const char *dir, char *out, size_t cap);

/* A setup for cmocka: a temporary directory, the store that url names in it,
 * opened on a loop of the fixture's own. */
static inline int fixture_setup(void **state, fixture_url_fn *url) {
    fixture *fx = hs_calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/hs_store_XXXXXX");
    if (!mkdtemp(fx->dir)) return -1;
    url(fx->dir, fx->path, sizeof fx->path);
    uv_loop_init(&fx->loop);
    assert_int_equal(hs_mailbox_init(&fx->mb, &fx->loop), 0);
    hs_mailbox_set_current(&fx->mb);
    open_store(fx);
    *state = fx;
    return 0;
}

static inline void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline int teardown(void **state) {
    fixture *fx = *state;
    if (fx->s) close_store(fx);
    hs_mailbox_close(&fx->mb, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    remove_dir(fx->dir);
    hs_free(fx);
    return 0;
}

static inline int group_setup(void **state) {
    (void)state;
    hs_alloc_init_json();
    hs_log_set_level(getenv("HS_TEST_LOG") ? HS_LOG_DEBUG : HS_LOG_OFF);
    return 0;
}

/* ---- helpers ---- */

static inline const char *jstr(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Create a resource of kind from a JSON text (an "id" is added); returns the
 * stored doc. */
static inline json_t *create_res(hs_store *s, hs_kind kind, const char *json) {
    static const char *const prefixes[] = {"src_", "dst_", "conn_"};
    json_t *doc = json_loads(json, 0, NULL);
    assert_non_null(doc);
    char id[HS_ID_MAX];
    hs_id_new(prefixes[kind], id);
    json_object_set_new(doc, "id", json_string(id));
    json_t *out = NULL;
    hs_error err;
    int rc = hs_store_resource_create(s, kind, doc, &out, &err);
    if (rc != HS_OK) fail_msg("create %s: %s (%s)", json, err.msg, err.field);
    json_decref(doc);
    return out;
}

static inline json_t *create_conn(hs_store *s, const json_t *src, const json_t *dst, bool enabled) {
    char text[256];
    snprintf(text, sizeof text, "{\"name\":\"c\",\"source_id\":\"%s\",\"destination_id\":\"%s\",\"enabled\":%s}",
             jstr(src, "id"), jstr(dst, "id"), enabled ? "true" : "false");
    return create_res(s, HS_KIND_CONNECTION, text);
}

typedef struct ingest_result {
    int done;
    int status;
    char event_id[HS_ID_MAX];
    char source_id[HS_ID_MAX];
    char event_status[16];
    size_t ndeliveries;
    hs_delivery_ref first;
    uint64_t commit_no;
    bool duplicate;
    char duplicate_of[HS_ID_MAX];
} ingest_result;

static inline void on_ingest(hs_ingest *ing, int status) {
    ingest_result *r = ing->ud;
    r->done++;
    r->status = status;
    assert_int_equal(ing->err.code, status);
    snprintf(r->event_id, sizeof r->event_id, "%s", ing->event_id);
    snprintf(r->source_id, sizeof r->source_id, "%s", ing->source_id);
    snprintf(r->event_status, sizeof r->event_status, "%s", ing->event_status);
    r->ndeliveries = ing->ndeliveries;
    r->commit_no = ing->commit_no;
    r->duplicate = ing->duplicate;
    snprintf(r->duplicate_of, sizeof r->duplicate_of, "%s", ing->duplicate_of);
    if (ing->ndeliveries) r->first = ing->deliveries[0];
    if (status != HS_OK) {
        assert_string_equal(ing->event_id, "");
        assert_int_equal(ing->ndeliveries, 0);
    }
    hs_ingest_free(ing);
}

static inline hs_ingest *new_ingest(const char *ref, const char *body, size_t body_len, ingest_result *r) {
    hs_ingest *ing = hs_ingest_new();
    ing->source_ref = hs_strdup(ref);
    ing->method = hs_strdup("POST");
    ing->path = hs_sprintf("/v1/ingest/%s", ref);
    ing->query = hs_strdup("a=1");
    ing->headers_json = hs_strdup("{\"content-type\":\"application/json\"}");
    ing->body = body ? hs_memdup(body, body_len) : NULL;
    ing->body_len = body ? body_len : 0;
    ing->source_ip = hs_strdup("127.0.0.1");
    ing->content_type = hs_strdup("application/json");
    ing->cb = on_ingest;
    ing->ud = r;
    return ing;
}

/* Ingest one request and run the loop until its callback ran. */
static inline int ingest_one(fixture *fx, const char *ref, const char *body, size_t len, ingest_result *r) {
    memset(r, 0, sizeof *r);
    assert_int_equal(hs_store_ingest(fx->s, new_ingest(ref, body, len, r)), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(r->done, 1);
    return r->status;
}

static inline int set_slug_fn(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    (void)err;
    *updated = json_deep_copy(current);
    json_object_set_new(*updated, "slug", json_string(ud));
    return HS_OK;
}

/* ---- fan-out and attempts ---- */

/* One source fanned out to two destinations, one enabled connection each. */
typedef struct fanout {
    json_t *src, *d1, *d2, *c1, *c2;
} fanout;

static inline void fanout_make(fixture *fx, fanout *f) {
    f->src = create_res(fx->s, HS_KIND_SOURCE, "{\"name\":\"s\"}");
    f->d1 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d1\"}");
    f->d2 = create_res(fx->s, HS_KIND_DESTINATION, "{\"name\":\"d2\"}");
    f->c1 = create_conn(fx->s, f->src, f->d1, true);
    f->c2 = create_conn(fx->s, f->src, f->d2, true);
}

static inline void fanout_free(fanout *f) {
    json_t *all[] = {f->src, f->d1, f->d2, f->c1, f->c2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) json_decref(all[i]);
}

static inline void on_attempt(hs_attempt_op *op, int status) {
    int *done = op->ud;
    *done = status == HS_OK ? 1 : -1;
    hs_attempt_op_free(op);
}

/* A write of the first attempt of delivery d, of event event_id. */
static inline hs_attempt_op *attempt_op_new(const hs_delivery_ref *d, const char *event_id) {
    hs_attempt_op *op = hs_attempt_op_new();
    op->has_attempt = true;
    hs_attempt_rec *a = &op->a;
    hs_id_new("da_", a->id);
    hs_id_copy(a->delivery_id, d->id);
    hs_id_copy(a->event_id, event_id);
    hs_id_copy(a->destination_id, d->destination_id);
    hs_id_copy(a->connection_id, d->connection_id);
    a->attempt_number = 1;
    return op;
}

/* Commit op and run the loop until it is done. */
static inline void attempt_commit(fixture *fx, hs_attempt_op *op) {
    int done = 0;
    op->cb = on_attempt;
    op->ud = &done;
    assert_int_equal(hs_store_attempt_commit(fx->s, op), HS_OK);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
}

/* Record the one attempt of delivery d: delivered, or dead-lettered. */
static inline void record_attempt(fixture *fx, const hs_delivery_ref *d, const char *event_id, bool success) {
    hs_attempt_op *op = attempt_op_new(d, event_id);
    hs_attempt_rec *a = &op->a;
    a->success = success;
    a->is_dlq = !success;
    a->created_at = a->dlq_at = hs_now_ms();
    if (!success) a->error = hs_strdup("HTTP 500");
    attempt_commit(fx, op);
}

/* One ingest through the fan-out; its two deliveries, d1's first. */
static inline void fanout_ingest(fixture *fx, const fanout *f, char *event_id, hs_delivery_ref dl[2]) {
    hs_error err;
    ingest_result r;
    assert_int_equal(ingest_one(fx, jstr(f->src, "id"), "{}", 2, &r), HS_OK);
    assert_int_equal(r.ndeliveries, 2);
    hs_id_copy(event_id, r.event_id);
    hs_delivery *got;
    size_t n;
    assert_int_equal(hs_store_event_deliveries(fx->s, event_id, &got, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        size_t k = strcmp(got[i].destination_id, jstr(f->d1, "id")) == 0 ? 0 : 1;
        hs_id_copy(dl[k].id, got[i].id);
        dl[k].seq = got[i].seq;
        hs_id_copy(dl[k].destination_id, got[i].destination_id);
        hs_id_copy(dl[k].connection_id, got[i].connection_id);
    }
    hs_free(got);
}

static inline void delete_d2(fixture *fx, const fanout *f) {
    hs_error err;
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_CONNECTION, jstr(f->c2, "id"), &err), HS_OK);
    assert_int_equal(hs_store_resource_delete(fx->s, HS_KIND_DESTINATION, jstr(f->d2, "id"), &err), HS_OK);
}

/* ---- ingests counted by outcome ---- */

typedef struct counter {
    int done, ok, notfound, other;
    size_t deliveries;
} counter;

static inline void on_count(hs_ingest *ing, int status) {
    counter *c = ing->ud;
    c->done++;
    if (status == HS_OK) {
        c->ok++;
        c->deliveries += ing->ndeliveries;
    } else if (status == HS_ERR_NOTFOUND) {
        c->notfound++;
    } else {
        c->other++;
    }
    hs_ingest_free(ing);
}

static inline hs_ingest *counted_ingest(const char *ref, counter *c) {
    hs_ingest *ing = new_ingest(ref, "{\"n\":1}", 7, NULL);
    ing->cb = on_count;
    ing->ud = c;
    return ing;
}

#endif
