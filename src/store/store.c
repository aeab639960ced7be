/* src/store/store.c — the store's front: the list of backends, open and
 * close, and every public call of src/store/store.h that is not the writer's
 * (src/store/writer.c) or ingest (src/store/routing.c).
 *
 * A read checks its arguments, clears its outputs and calls the backend's
 * read. A write checks its arguments and queues a writer op whose exec calls
 * the backend's write on the writer thread, inside the group transaction.
 * Also the life cycle of the plain structs of store.h.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "store/docs.h"
#include "store/retry.h"
#include "store/resources.h"
#include "store/routing.h"
#include "store/writer.h"

/* ---- the backends ---- */

/* Tried in order: the first whose match takes the URL. SQLite takes every
 * plain file path: it stays last. */
static const hs_store_backend *const backends[] = {
    &hs_pg_backend,
    &hs_sqlite_backend,
};

static const hs_store_backend *backend_for(const char *url) {
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i]->match(url)) return backends[i];
    return NULL;
}

static int find_backend(const char *url, const hs_store_backend **out, hs_error *err) {
    if (!url || !*url) return hs_error_set(err, HS_ERR_INVALID, "db", "a database path is required");
    *out = backend_for(url);
    if (!*out) return hs_error_set(err, HS_ERR_INVALID, "db", "no storage backend takes %s", url);
    return HS_OK;
}

/* ---- open, close ---- */

static void store_free(hs_store *s) {
    hs__writer_destroy(s);
    hs_free(s);
}

int hs_store_open(const char *url, hs_store **out, hs_error *err) {
    *out = NULL;
    const hs_store_backend *be;
    int rc = find_backend(url, &be, err);
    if (rc != HS_OK) return rc;
    hs_store *s = hs_calloc(1, sizeof *s);
    s->be = be;
    hs__writer_init(s);
    rc = be->open(s, url, err);
    if (rc == HS_OK) {
        rc = hs__writer_start(s, err);
        if (rc != HS_OK) be->close(s);
    }
    if (rc != HS_OK) {
        store_free(s);
        return rc;
    }
    *out = s;
    return HS_OK;
}

void hs_store_close(hs_store *s) {
    if (!s) return;
    hs__writer_stop(s);
    s->be->close(s);
    hs__routes_clear(s);
    hs__arrivals_free(&s->arrivals);
    store_free(s);
}

/* ---- secrets at rest ---- */

void hs_store_set_secretbox(hs_store *s, const hs_secretbox *box, const hs_secret_codec *codec) {
    s->box = box && codec ? box : NULL;
    s->codec = box && codec ? codec : NULL;
}

int hs__store_seal(const hs_store *s, hs_kind kind, json_t *doc, hs_error *err) {
    return s->box ? s->codec->seal(kind, doc, s->box, err) : HS_OK;
}

int hs__store_unseal(const hs_store *s, hs_kind kind, json_t *doc, hs_error *err) {
    return s->box ? s->codec->unseal(kind, doc, s->box, NULL, err) : HS_OK;
}

int hs_store_reseal(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                    hs_reseal_stats *st, hs_error *err) {
    HS_ERR_LOCAL(err);
    hs_reseal_stats local = {0};
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    const hs_store_backend *be;
    int rc = find_backend(url, &be, err);
    if (rc != HS_OK) return rc;
    if (!codec) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "hs_store_reseal needs a codec");
    return be->reseal ? be->reseal(url, codec, from, to, st, err) : HS_OK;
}

/* ---- resources ---- */

static bool kind_ok(hs_kind kind) { return kind >= HS_KIND_SOURCE && kind < HS_KIND_COUNT; }

static void undo_out(hs_wop *op) {
    json_decref(op->out);
    op->out = NULL;
}

static int create_exec(hs_store *s, hs_wop *op) {
    return hs__resource_create(s, s->be->resources, op->kind, op->doc, &op->out, &op->err);
}

static int update_exec(hs_store *s, hs_wop *op) {
    return hs__resource_update(s, s->be->resources, op->kind, op->id, op->fn, op->ud, &op->out, &op->err);
}

static int delete_exec(hs_store *s, hs_wop *op) {
    return hs__resource_delete(s, s->be->resources, op->kind, op->id, &op->err);
}

/* Submit a sync op that may produce a doc, and hand the doc over. */
static int submit_doc_op(hs_store *s, hs_wop *op, json_t **out, hs_error *err) {
    int rc = hs__writer_submit(s, op, err);
    if (out)
        *out = op->out;
    else
        json_decref(op->out);
    return rc;
}

int hs_store_resource_create(hs_store *s, hs_kind kind, json_t *doc, json_t **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (out) *out = NULL;
    if (!kind_ok(kind) || !json_is_object(doc))
        return hs_error_set(err, HS_ERR_INVALID, NULL, "a resource document must be a JSON object");
    hs_wop op = {.exec = create_exec, .undo = undo_out, .kind = kind, .doc = doc};
    return submit_doc_op(s, &op, out, err);
}

int hs_store_resource_update(hs_store *s, hs_kind kind, const char *id, hs_update_fn fn, void *ud, json_t **out,
                             hs_error *err) {
    HS_ERR_LOCAL(err);
    if (out) *out = NULL;
    if (!kind_ok(kind) || !id || !fn) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad update request");
    hs_wop op = {.exec = update_exec, .undo = undo_out, .kind = kind, .id = id, .fn = fn, .ud = ud};
    return submit_doc_op(s, &op, out, err);
}

int hs_store_resource_delete(hs_store *s, hs_kind kind, const char *id, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!kind_ok(kind) || !id) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad delete request");
    hs_wop op = {.exec = delete_exec, .kind = kind, .id = id};
    return hs__writer_submit(s, &op, err);
}

int hs_store_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    if (!kind_ok(kind) || !id_or_slug) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad get request");
    return s->be->resource_get(s, kind, id_or_slug, out, err);
}

#define MAX_LIST_FILTERS 8

/* The fields a listing may filter on are the kind's indexed columns
 * (store.h, src/store/docs.c): every backend indexes these. */
static int check_list_filters(hs_kind kind, const hs_list_filter *filters, size_t nfilters, hs_error *err) {
    if (nfilters > MAX_LIST_FILTERS) return hs_error_set(err, HS_ERR_INVALID, NULL, "too many filters");
    for (size_t i = 0; i < nfilters; i++) {
        const char *field = filters[i].field;
        if (!hs__kind_column(kind, field))
            return hs_error_set(err, HS_ERR_INVALID, field ? field : "filter", "%ss cannot be filtered on this field",
                                hs__kinds[kind].name);
        if (!filters[i].value) return hs_error_set(err, HS_ERR_INVALID, field, "needs a value");
        if (strcmp(field, "enabled") == 0 && strcmp(filters[i].value, "true") != 0 &&
            strcmp(filters[i].value, "false") != 0)
            return hs_error_set(err, HS_ERR_INVALID, field, "must be true or false");
    }
    return HS_OK;
}

int hs_store_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters,
                           size_t nfilters, json_t **items, bool *has_more, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *has_more = false;
    if (!kind_ok(kind) || !page) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad list request");
    if (page->limit < 1 || page->limit > 100) return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to 100");
    int rc = check_list_filters(kind, filters, nfilters, err);
    if (rc != HS_OK) return rc;
    return s->be->resource_list(s, kind, page, filters, nfilters, items, has_more, err);
}

int hs_store_resource_all(hs_store *s, hs_kind kind, json_t **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    hs_page page = {.limit = 100};
    char cursor[HS_ID_MAX] = "";
    *out = json_array();
    for (bool more = true; more;) {
        page.cursor = cursor[0] ? cursor : NULL;
        json_t *items;
        int rc = hs_store_resource_list(s, kind, &page, NULL, 0, &items, &more, err);
        if (rc != HS_OK) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
        size_t i;
        json_t *doc;
        json_array_foreach(items, i, doc) {
            json_array_append(*out, doc);
            snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(doc, "id")));
        }
        json_decref(items);
    }
    return HS_OK;
}

/* ---- events and deliveries: reads ---- */

int hs_store_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    return s->be->event_get(s, id, out, err);
}

int hs_store_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                        hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *n = 0;
    *has_more = false;
    if (!q) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad event query");
    if (q->page.limit < 1 || q->page.limit > 100) return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to 100");
    if (q->method) {
        size_t len = strlen(q->method), i = 0;
        while (i < len && q->method[i] >= 'A' && q->method[i] <= 'Z') i++;
        if (len == 0 || len > HS_METHOD_MAX || i != len)
            return hs_error_set(err, HS_ERR_INVALID, "method", "must be an HTTP method in capitals (1 to %d letters)",
                                HS_METHOD_MAX);
    }
    if (q->search) {
        size_t len = strlen(q->search);
        if (len == 0 || len > HS_SEARCH_MAX || !hs_utf8_valid(q->search, len))
            return hs_error_set(err, HS_ERR_INVALID, "search", "must be 1 to %d bytes of UTF-8 text", HS_SEARCH_MAX);
    }
    return s->be->event_list(s, q, items, n, has_more, err);
}

int hs_store_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *n = 0;
    if (!event_id) return hs_error_set(err, HS_ERR_INVALID, "event_id", "is required");
    return s->be->event_deliveries(s, event_id, items, n, err);
}

int hs_store_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    return s->be->pending_deliveries(s, out, n, err);
}

int hs_store_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                        hs_delivery *out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *n = 0;
    if (!destination_id || limit == 0) return HS_OK;
    return s->be->queue_page(s, destination_id, after_seq, fresh_only, limit, out, n, err);
}

int hs_store_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                       size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err) {
    HS_ERR_LOCAL(err);
    *n = 0;
    *next_due = 0;
    if (!destination_id) return HS_OK;
    return s->be->queue_due(s, destination_id, now, skip, nskip, limit, out, n, next_due, err);
}

int hs_store_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    return s->be->queue_counts(s, out, n, err);
}

int hs_store_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (n) memset(out, 0, n * sizeof *out);
    return n ? s->be->source_counts(s, ids, n, out, err) : HS_OK;
}

void hs__ingest_duplicate(hs_ingest *ing, const char *original) {
    ing->duplicate = true;
    snprintf(ing->duplicate_of, sizeof ing->duplicate_of, "%s", original);
    hs_free(ing->deliveries);
    ing->deliveries = NULL;
    ing->ndeliveries = 0;
    snprintf(ing->event_status, sizeof ing->event_status, "%s", "received");
}

void hs__delivery_id(uint64_t created_at, uint64_t seq, char *out) {
    unsigned char tail[10] = {0}; /* seq is 64 bits: the top 16 of the 80 are zero */
    for (int i = 0; i < 8; i++) tail[2 + i] = (unsigned char)(seq >> (8 * (7 - i)));
    hs_id_compose("dlv_", created_at, tail, out);
}

bool hs__delivery_id_parse(const char *id, uint64_t *created_at, uint64_t *seq) {
    if (!id || !hs_id_valid("dlv_", id) || memcmp(id + 16, "0000", 4) != 0) return false;
    *created_at = hs_id_time_ms(id);
    *seq = strtoull(id + 20, NULL, 16); /* the last 16 hex digits */
    return true;
}

int hs_store_snapshot_begin(hs_store *s, hs_error *err) {
    HS_ERR_LOCAL(err);
    return s->be->snapshot_begin ? s->be->snapshot_begin(s, err) : HS_OK;
}

void hs_store_snapshot_end(hs_store *s) {
    if (s->be->snapshot_end) s->be->snapshot_end(s);
}

int hs_store_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    return s->be->circuits(s, out, n, err);
}

int hs_store_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *has_more = false;
    if (!q || q->page.limit < 1 || q->page.limit > 100)
        return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to 100");
    return s->be->attempt_list(s, q, items, has_more, err);
}

int hs_store_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    return s->be->attempt_get(s, id, out, err);
}

int hs_store_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    if (!event_id) return hs_error_set(err, HS_ERR_INVALID, "event_id", "is required");
    return s->be->event_attempts(s, event_id, items, err);
}

/* ---- attempts (async, the scheduler's) ---- */

typedef struct attempt_box {
    hs_attempt_op op; /* first: the public part */
    hs_wop w;
} attempt_box;

hs_attempt_op *hs_attempt_op_new(void) {
    attempt_box *b = hs_calloc(1, sizeof *b);
    b->op.priv_ = b;
    return &b->op;
}

void hs_attempt_op_free(hs_attempt_op *op) {
    if (!op) return;
    hs_attempt_rec *a = &op->a;
    hs_free(a->request_url);
    hs_free(a->request_method);
    hs_free(a->request_headers);
    hs_free(a->response_headers);
    hs_free(a->response_body);
    hs_free(a->error);
    hs_free(op->priv_);
}

static int attempt_exec(hs_store *s, hs_wop *w) {
    int rc = s->be->attempt_record(s, w->ud, &w->err);
    w->wrote = rc != HS_OK; /* no savepoint (src/store/writer.c): a failure fails the group */
    return rc;
}

static void attempt_complete(hs_wop *w) {
    hs_attempt_op *op = w->ud;
    if (op->stale && w->status == HS_OK) {
        /* the backend left it out of its committed group */
        w->status = HS_ERR_STALE;
        hs_error_set(&w->err, HS_ERR_STALE, NULL,
                     "destination %s is no longer this node's (its lease moved on): nothing recorded",
                     op->has_attempt ? op->a.destination_id : op->circuit.destination_id);
    }
    if (w->status != HS_OK)
        op->err = w->err; /* 450 bytes: not copied for every delivered attempt */
    else
        hs_error_clear(&op->err);
    op->cb(op, w->status);
}

int hs_store_attempt_commit(hs_store *s, hs_attempt_op *op) {
    hs_error_clear(&op->err);
    if (!op->cb || !op->priv_)
        return hs_error_set(&op->err, HS_ERR_INTERNAL, NULL, "an attempt op needs a callback and hs_attempt_op_new");
    if (op->has_attempt) {
        /* text that is not UTF-8 (a message cut inside a character, a
         * receiver's words) would fail the group on a database that checks
         * encodings (PostgreSQL), and the attempt again at every retry */
        hs_utf8_fix(op->a.error);
        hs_utf8_fix(op->a.request_url);
        hs_utf8_fix(op->a.request_method);
    }
    op->stale = false;
    hs_wop *w = &((attempt_box *)op->priv_)->w;
    memset(w, 0, sizeof *w);
    w->exec = attempt_exec;
    w->no_savepoint = true;
    w->ud = op;
    w->complete = attempt_complete;
    return hs__writer_submit_async(s, w, &op->err);
}

/* ---- manual retries, orphans (sync) ---- */

static int attempt_retry_exec(hs_store *s, hs_wop *op) { return s->be->attempt_retry(s, op->id, op->ud, &op->err); }

int hs_store_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!attempt_id || !out) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad retry request");
    hs_delivery d;
    hs_wop op = {.exec = attempt_retry_exec, .id = attempt_id, .ud = &d};
    int rc = hs__writer_submit(s, &op, err);
    if (rc == HS_OK) *out = d;
    return rc;
}

static int event_retry_exec(hs_store *s, hs_wop *op) { return s->be->event_retry(s, op->id, op->ud, &op->err); }

static void event_retry_undo(hs_wop *op) { hs__event_retry_clear(op->ud); }

int hs_store_event_retry(hs_store *s, const char *event_id, hs_event_retry *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!out) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad retry request");
    memset(out, 0, sizeof *out);
    if (!event_id) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad retry request");
    hs_wop op = {.exec = event_retry_exec, .undo = event_retry_undo, .id = event_id, .ud = out};
    return hs__writer_submit(s, &op, err);
}

typedef struct orphan_counts {
    size_t deliveries, events;
} orphan_counts;

static int orphans_exec(hs_store *s, hs_wop *op) {
    orphan_counts *oc = op->ud;
    return s->be->settle_orphans(s, &oc->deliveries, &oc->events, &op->err);
}

int hs_store_settle_orphans(hs_store *s, hs_error *err) {
    HS_ERR_LOCAL(err);
    orphan_counts oc = {0};
    hs_wop op = {.exec = orphans_exec, .ud = &oc};
    int rc = hs__writer_submit(s, &op, err);
    if (rc == HS_OK && (oc.deliveries || oc.events))
        hs_warn("store: cancelled %zu pending deliveries of deleted destinations and settled %zu of their events",
                oc.deliveries, oc.events);
    return rc;
}

/* ---- retention (async) ---- */

typedef struct sweep_box {
    hs_wop w;
} sweep_box;

hs_sweep *hs_sweep_new(void) {
    hs_sweep *sw = hs_calloc(1, sizeof *sw);
    sw->priv_ = hs_calloc(1, sizeof(sweep_box));
    return sw;
}

void hs_sweep_free(hs_sweep *sw) {
    if (!sw) return;
    hs_free(sw->priv_);
    hs_free(sw);
}

static void sweep_clear(hs_sweep *sw) {
    sw->events = sw->deliveries = sw->attempts = sw->pages_freed = 0;
    sw->more = false;
}

static int sweep_exec(hs_store *s, hs_wop *op) {
    hs_sweep *sw = op->ud;
    sweep_clear(sw);
    uint64_t t0 = hs_monotonic_ns();
    int rc = s->be->sweep(s, sw, &op->err);
    if (rc != HS_OK) sweep_clear(sw);
    sw->exec_us = (hs_monotonic_ns() - t0) / 1000;
    return rc;
}

static void sweep_undo(hs_wop *op) { sweep_clear(op->ud); }

static void sweep_complete(hs_wop *op) {
    hs_sweep *sw = op->ud;
    sw->err = op->err;
    if (op->status == HS_OK) {
        hs_store *s = sw->store_;
        pthread_mutex_lock(&s->lock);
        s->stats.swept_events += sw->events;
        s->stats.swept_deliveries += sw->deliveries;
        s->stats.swept_attempts += sw->attempts;
        s->stats.swept_pages += sw->pages_freed;
        pthread_mutex_unlock(&s->lock);
    }
    sw->cb(sw, op->status);
}

int hs_store_sweep(hs_store *s, hs_sweep *sw) {
    hs_error_clear(&sw->err);
    if (!sw->cb || !sw->priv_)
        return hs_error_set(&sw->err, HS_ERR_INTERNAL, NULL, "a sweep needs a callback and hs_sweep_new");
    if (!s->be->sweep) return hs_error_set(&sw->err, HS_ERR_UNSUPPORTED, NULL, "this store keeps everything");
    hs_wop *w = &((sweep_box *)sw->priv_)->w;
    memset(w, 0, sizeof *w);
    w->exec = sweep_exec;
    w->undo = sweep_undo;
    w->keeps_routes = true;
    w->ud = sw;
    w->complete = sweep_complete;
    sw->store_ = s;
    return hs__writer_submit_async(s, w, &sw->err);
}

/* ---- API keys (sync) ---- */

static bool is_sha256_hex(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

static int apikey_add_exec(hs_store *s, hs_wop *op) {
    const hs_apikey *k = op->ud;
    return s->be->apikeys->add(s, k, k->created_at ? k->created_at : hs_now_ms(), &op->err);
}

int hs_store_apikey_add(hs_store *s, const hs_apikey *k, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!k->id[0]) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    if (!is_sha256_hex(k->hash))
        return hs_error_set(err, HS_ERR_INVALID, "key_hash", "must be 64 lowercase hex digits (SHA-256)");
    hs_wop op = {.exec = apikey_add_exec, .keeps_routes = true, .ud = (void *)k};
    return hs__writer_submit(s, &op, err);
}

static int apikey_revoke_exec(hs_store *s, hs_wop *op) {
    return s->be->apikeys->revoke(s, op->id, hs_now_ms(), &op->err);
}

int hs_store_apikey_revoke(hs_store *s, const char *id, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!id || !*id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    hs_wop op = {.exec = apikey_revoke_exec, .keeps_routes = true, .id = id};
    return hs__writer_submit(s, &op, err);
}

typedef struct apikey_uses {
    const hs_apikey_use *uses;
    size_t n;
} apikey_uses;

static int apikey_touch_exec(hs_store *s, hs_wop *op) {
    const apikey_uses *u = op->ud;
    return s->be->apikeys->touch(s, u->uses, u->n, &op->err);
}

int hs_store_apikey_touch(hs_store *s, const hs_apikey_use *uses, size_t n, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (n == 0) return HS_OK;
    apikey_uses u = {uses, n};
    hs_wop op = {.exec = apikey_touch_exec, .keeps_routes = true, .ud = &u};
    return hs__writer_submit(s, &op, err);
}

int hs_store_apikey_list(hs_store *s, hs_apikey **out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    return s->be->apikeys->list(s, out, n, err);
}

/* ---- the plain structs of store.h ---- */

/* hs_ingest_new allocates an ingest together with its queue node, so that
 * the hot path does not allocate per request. ing->priv_ points at op. */
typedef struct hs_ingest_box {
    hs_ingest ing;
    hs_wop op;
} hs_ingest_box;

hs_ingest *hs_ingest_new(void) {
    hs_ingest_box *box = hs_calloc(1, sizeof *box);
    box->ing.priv_ = &box->op;
    return &box->ing;
}

void hs_ingest_free(hs_ingest *ing) {
    if (!ing) return;
    hs_free(ing->source_ref);
    hs_free(ing->method);
    hs_free(ing->path);
    hs_free(ing->query);
    hs_free(ing->headers_json);
    hs_free(ing->body);
    hs_free(ing->source_ip);
    hs_free(ing->content_type);
    hs_free(ing->deliveries);
    /* ing is the first member of its box */
    hs_free((hs_ingest_box *)ing);
}

void hs_event_free(hs_event *e) {
    if (!e) return;
    hs_free(e->method);
    hs_free(e->path);
    hs_free(e->query);
    hs_free(e->headers_json);
    hs_free(e->body);
    hs_free(e->source_ip);
    hs_free(e->content_type);
    hs_free(e);
}
