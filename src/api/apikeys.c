/* src/api/apikeys.c — POST/GET /v1/auth/api-keys, DELETE
 * /v1/auth/api-keys/:id (threadpool), and the server's periodic sync of
 * the key set (src/api/auth.h: remembered uses written, the set read
 * again), which the router starts on the loop when it is due.
 *
 * The key itself is in the answer to POST only; a list shows its first
 * characters (prefix). A revocation reaches this server's set before the
 * DELETE answers, and the WebSocket clients the key let in are closed
 * (1008); the periodic sync closes those of keys revoked elsewhere. */
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "base/json_text.h"
#include "base/log.h"
#include "ws/ws.h"

static json_t *render_key(hs_api *api, const hs_apikey *k) {
    uint64_t used = api ? hs_auth_last_used(api->auth, k->id) : 0;
    if (k->last_used_at > used) used = k->last_used_at;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "name", hs_json_text(k->name));
    json_object_set_new(o, "prefix", k->prefix[0] ? hs_json_text(k->prefix) : json_null());
    json_object_set_new(o, "created_at", hs_json_time(k->created_at));
    json_object_set_new(o, "last_used_at", used ? hs_json_time(used) : json_null());
    return o;
}

void hs_api_apikeys_create(hs_api_call *c) {
    json_t *body;
    if (hs_api_json_body(c, &body)) return;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "name") != 0) {
            hs_api_failf(c, HS_ERR_INVALID, k, "is not a field of an API key (only name)");
            json_decref(body);
            return;
        }
    }
    hs_apikey rec;
    char *key = NULL;
    hs_error err;
    hs_error_clear(&err);
    /* a name that is not a string is refused as a missing one */
    int rc =
        hs_auth_create(c->api->store, c->api->auth, json_string_value(json_object_get(body, "name")), &rec, &key, &err);
    json_decref(body);
    if (rc) return hs_api_fail(c, &err);
    json_t *o = render_key(NULL, &rec);
    json_object_set_new(o, "key", json_string(key));
    hs_free_secret(key);
    c->status = 201;
    c->body = json_pack("{s:o}", "api_key", o);
}

void hs_api_apikeys_list(hs_api_call *c) {
    static const char *const none[] = {NULL};
    hs_apikey *keys;
    size_t n;
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, none, &err)) return hs_api_fail(c, &err);
    if (hs_store_apikey_list(c->api->store, &keys, &n, &err)) return hs_api_fail(c, &err);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(items, render_key(c->api, &keys[i]));
    hs_free(keys);
    c->status = 200;
    c->body = json_pack("{s:o}", "api_keys", items);
}

/* On the loop, before the DELETE answers: the live feed's clients the
 * key let in go too. */
static void close_sockets(hs_api_call *c) {
    size_t n = hs_ws_hub_close_principal(c->api->ws, c->after_principal, "API key revoked");
    if (n) hs_info("api: closed %zu WebSocket client(s) of the revoked API key %s", n, c->param);
}

void hs_api_apikeys_revoke(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    if (hs_auth_revoke(c->api->store, c->api->auth, c->param, &c->after_principal, &err)) {
        if (err.code == HS_ERR_NOTFOUND) hs_error_set(&err, HS_ERR_NOTFOUND, "", "no API key \"%s\"", c->param);
        return hs_api_fail(c, &err);
    }
    hs_info("api: API key %s revoked", c->param);
    c->after = close_sockets;
    c->status = 200;
    c->body = json_pack("{s:s, s:b}", "id", c->param, "deleted", 1);
}

/* ---- the periodic sync ---- */

typedef struct sync_job {
    uv_work_t work;
    hs_api *api;
    uint64_t *gone; /* principals of the keys no longer accepted */
    size_t ngone;
} sync_job;

static void sync_run(uv_work_t *w) {
    sync_job *j = w->data;
    hs_error err;
    hs_error_clear(&err);
    if (hs_auth_flush(j->api->auth, &err)) hs_warn("api keys: could not note when keys were last used: %s", err.msg);
    hs_error_clear(&err);
    if (hs_auth_reload(j->api->auth, &j->gone, &j->ngone, &err))
        hs_warn("api keys: could not read the key set again: %s", err.msg);
}

/* On the loop: the WebSocket clients of keys revoked elsewhere go. */
static void sync_done(uv_work_t *w, int status) {
    sync_job *j = w->data;
    for (size_t i = 0; status == 0 && i < j->ngone; i++)
        hs_ws_hub_close_principal(j->api->ws, j->gone[i], "API key revoked");
    if (j->ngone) hs_info("api keys: %zu key(s) revoked elsewhere are no longer accepted", j->ngone);
    hs_free(j->gone);
    hs_free(j);
}

void hs_api_keys_changed(hs_api *api) {
    sync_job *j = hs_calloc(1, sizeof *j);
    j->work.data = j;
    j->api = api;
    if (uv_queue_work(api->loop, &j->work, sync_run, sync_done)) hs_free(j);
}
