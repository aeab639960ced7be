/* src/api/alerts.c — /v1/notification-channels and /v1/alert-rules: create,
 * list, get, PATCH, DELETE (threadpool handlers), and POST
 * /v1/notification-channels/:id/test, answered from the loop once the
 * test notification's outcome is known (docs/api.md "Notification
 * channels", "Alert rules"). Validation is src/ops/channels.c's and
 * src/ops/alerts.c's; a channel's secret is sealed before it is stored and
 * masked in every answer.
 */
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "base/json_text.h"
#include "ops/alerts.h"

typedef struct doc_family {
    hs_opsdoc_kind kind;
    const char *prefix, *plural, *name;
    int (*create)(const json_t *body, json_t **doc, hs_error *err);
    int (*patch)(const json_t *current, const json_t *patch, json_t **doc, hs_error *err);
} doc_family;

static const doc_family channels = {HS_OPSDOC_CHANNEL,       "nch_",
                                    "notification_channels", "notification channel",
                                    hs_channel_create_doc,   hs_channel_patch_doc};
static const doc_family rules = {HS_OPSDOC_RULE,     "alr_",           "alert_rules", "alert rule",
                                 hs_rule_create_doc, hs_rule_patch_doc};

static const hs_secretbox *box_of(const hs_api *api) { return api->ops ? api->ops->box : NULL; }

/* The row's doc as stored, secrets opened (NULL and err set on failure). */
static json_t *row_doc(hs_api *api, const doc_family *f, const hs_opsdoc *row, hs_error *err) {
    json_t *doc = json_loads(row->text, 0, NULL);
    if (!doc) {
        hs_error_set(err, HS_ERR_IO, "", "%s %s: its stored document is not JSON", f->name, row->id);
        return NULL;
    }
    if (f->kind == HS_OPSDOC_CHANNEL && hs_channel_unseal(doc, box_of(api), err)) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *render(const doc_family *f, const json_t *doc, const hs_opsdoc *row) {
    json_t *o = f->kind == HS_OPSDOC_CHANNEL ? hs_channel_render(doc) : json_deep_copy(doc);
    json_object_set_new(o, "created_at", hs_json_time(row->created_at));
    json_object_set_new(o, "updated_at", hs_json_time(row->updated_at));
    if (f->kind == HS_OPSDOC_RULE) {
        json_object_set_new(o, "last_fired_at", row->last_fired_at ? hs_json_time(row->last_fired_at) : json_null());
        json_object_set_new(o, "state", json_string(row->firing ? "firing" : "ok"));
    }
    return o;
}

/* The row of c->param and its doc, or an error answer. */
static int load(hs_api_call *c, const doc_family *f, hs_opsdoc *row, json_t **doc) {
    hs_error err;
    hs_error_clear(&err);
    *doc = NULL;
    memset(row, 0, sizeof *row);
    int rc = hs_id_valid(f->prefix, c->param)
                 ? hs_store_opsdoc_get(c->api->store, f->kind, c->param, row, &err)
                 : hs_error_set(&err, HS_ERR_NOTFOUND, "", "%s %s not found", f->name, c->param);
    if (rc == HS_OK && !(*doc = row_doc(c->api, f, row, &err))) rc = err.code;
    if (rc) {
        hs_free(row->text);
        row->text = NULL;
        hs_api_fail(c, &err);
    }
    return rc;
}

/* Store doc (create or replace), then answer it as stored. */
static void save(hs_api_call *c, const doc_family *f, json_t *doc, bool create) {
    hs_error err;
    hs_error_clear(&err);
    int rc = f->kind == HS_OPSDOC_RULE ? hs_rule_check_refs(c->api->store, doc, &err) : HS_OK;
    json_t *sealed = json_deep_copy(doc);
    if (rc == HS_OK && f->kind == HS_OPSDOC_CHANNEL) rc = hs_channel_seal(sealed, box_of(c->api), &err);
    hs_opsdoc row = {.enabled = json_is_true(json_object_get(doc, "enabled"))};
    snprintf(row.id, sizeof row.id, "%s", json_string_value(json_object_get(doc, "id")));
    const char *type =
        json_string_value(json_object_get(doc, f->kind == HS_OPSDOC_RULE ? "rule_type" : "channel_type"));
    snprintf(row.type, sizeof row.type, "%s", type ? type : "");
    row.text = rc == HS_OK ? json_dumps(sealed, JSON_COMPACT) : NULL;
    json_decref(sealed);
    if (rc == HS_OK) rc = hs_store_opsdoc_put(c->api->store, f->kind, create, &row, &err);
    hs_free(row.text);
    hs_opsdoc stored = {0};
    if (rc == HS_OK) rc = hs_store_opsdoc_get(c->api->store, f->kind, row.id, &stored, &err);
    if (rc == HS_OK) {
        c->status = create ? 201 : 200;
        c->body = render(f, doc, &stored);
    }
    hs_free(stored.text);
    json_decref(doc);
    if (rc) hs_api_fail(c, &err);
}

static void doc_create(hs_api_call *c, const doc_family *f) {
    json_t *body, *doc = NULL;
    if (hs_api_json_body(c, &body)) return;
    hs_error err;
    hs_error_clear(&err);
    int rc = f->create(body, &doc, &err);
    json_decref(body);
    if (rc) return hs_api_fail(c, &err);
    save(c, f, doc, true);
}

static void doc_patch(hs_api_call *c, const doc_family *f) {
    hs_opsdoc row;
    json_t *current, *body, *doc = NULL;
    if (load(c, f, &row, &current)) return;
    hs_free(row.text);
    if (hs_api_json_body(c, &body)) {
        json_decref(current);
        return;
    }
    hs_error err;
    hs_error_clear(&err);
    int rc = f->patch(current, body, &doc, &err);
    json_decref(body);
    json_decref(current);
    if (rc) return hs_api_fail(c, &err);
    save(c, f, doc, false);
}

static void doc_get(hs_api_call *c, const doc_family *f) {
    hs_opsdoc row;
    json_t *doc;
    if (load(c, f, &row, &doc)) return;
    c->status = 200;
    c->body = render(f, doc, &row);
    hs_free(row.text);
    json_decref(doc);
}

static void doc_list(hs_api_call *c, const doc_family *f) {
    static const char *const allowed[] = {"limit", "cursor", NULL};
    hs_error err;
    hs_error_clear(&err);
    hs_page page;
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    if (hs_api_page(c, f->prefix, &page)) return;
    hs_opsdoc *rows = NULL;
    size_t n = 0;
    bool more = false;
    if (hs_store_opsdoc_list(c->api->store, f->kind, &page, &rows, &n, &more, &err)) return hs_api_fail(c, &err);
    json_t *items = json_array();
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < n; i++) {
        json_t *doc = row_doc(c->api, f, &rows[i], &err);
        if (doc)
            json_array_append_new(items, render(f, doc, &rows[i]));
        else
            rc = err.code;
        json_decref(doc);
    }
    hs_opsdoc_free(rows, n);
    if (rc) {
        json_decref(items);
        return hs_api_fail(c, &err);
    }
    c->status = 200;
    c->body = hs_api_list_body(f->plural, items, more);
}

static void doc_delete(hs_api_call *c, const doc_family *f) {
    hs_error err;
    hs_error_clear(&err);
    int rc = hs_id_valid(f->prefix, c->param)
                 ? hs_store_opsdoc_delete(c->api->store, f->kind, c->param, &err)
                 : hs_error_set(&err, HS_ERR_NOTFOUND, "", "%s %s not found", f->name, c->param);
    if (rc) return hs_api_fail(c, &err);
    c->status = 200;
    c->body = json_pack("{s:s, s:b}", "id", c->param, "deleted", 1);
}

void hs_api_channels_create(hs_api_call *c) { doc_create(c, &channels); }
void hs_api_channels_list(hs_api_call *c) { doc_list(c, &channels); }
void hs_api_channels_get(hs_api_call *c) { doc_get(c, &channels); }
void hs_api_channels_patch(hs_api_call *c) { doc_patch(c, &channels); }
void hs_api_channels_delete(hs_api_call *c) { doc_delete(c, &channels); }
void hs_api_rules_create(hs_api_call *c) { doc_create(c, &rules); }
void hs_api_rules_list(hs_api_call *c) { doc_list(c, &rules); }
void hs_api_rules_get(hs_api_call *c) { doc_get(c, &rules); }
void hs_api_rules_patch(hs_api_call *c) { doc_patch(c, &rules); }
void hs_api_rules_delete(hs_api_call *c) { doc_delete(c, &rules); }

/* ---- POST /v1/notification-channels/:id/test (loop) ---- */

typedef struct test_job {
    uv_work_t work;
    hs_api *api;
    hs_http_req *req;
    char id[HS_API_MAX_PARAM + 1];
    json_t *doc; /* the channel, clear */
    hs_error err;
} test_job;

static void test_read(uv_work_t *w) {
    test_job *t = w->data;
    hs_opsdoc row = {0};
    int rc = hs_id_valid("nch_", t->id)
                 ? hs_store_opsdoc_get(t->api->store, HS_OPSDOC_CHANNEL, t->id, &row, &t->err)
                 : hs_error_set(&t->err, HS_ERR_NOTFOUND, "", "notification channel %s not found", t->id);
    if (rc == HS_OK) t->doc = row_doc(t->api, &channels, &row, &t->err);
    hs_free(row.text);
}

static void test_sent(const hs_notify_result *r, void *ud) {
    test_job *t = ud;
    json_t *o = json_pack("{s:s, s:b, s:i, s:I}", "channel_id", t->id, "ok", r->ok, "status", r->status, "duration_ms",
                          (json_int_t)r->duration_ms);
    json_object_set_new(o, "error", r->ok ? json_null() : hs_json_text(r->error));
    hs_api_respond_json(t->req, 200, o);
    json_decref(t->doc);
    hs_free(t);
}

static void test_send(uv_work_t *w, int status) {
    test_job *t = w->data;
    if (t->doc && t->api->ops->stopping) status = UV_ECANCELED;
    if (status || !t->doc) {
        if (status) hs_error_set(&t->err, HS_ERR_CLOSED, "", "the test could not run: the server is stopping");
        hs_api_respond_error(t->req, &t->err);
        json_decref(t->doc);
        hs_free(t);
        return;
    }
    hs_notice n = {.type = "test",
                   .title = "Test notification",
                   .text = "This is a test notification from hookstream: the channel works."};
    hs_notify_send(t->api->ops->notify, t->doc, &n, 1, test_sent, t);
}

void hs_api_channels_test(hs_api *api, hs_http_req *req, const char *id) {
    test_job *t = hs_calloc(1, sizeof *t);
    t->work.data = t;
    t->api = api;
    t->req = req;
    snprintf(t->id, sizeof t->id, "%s", id);
    hs_error_clear(&t->err);
    if (!api->ops) {
        hs_error_set(&t->err, HS_ERR_UNSUPPORTED, "", "notifications are not running on this server");
        hs_api_respond_error(req, &t->err);
        hs_free(t);
        return;
    }
    if (uv_queue_work(api->loop, &t->work, test_read, test_send)) {
        hs_error_set(&t->err, HS_ERR_INTERNAL, "", "the test could not run");
        hs_api_respond_error(req, &t->err);
        hs_free(t);
    }
}
