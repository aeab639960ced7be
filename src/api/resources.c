/* src/api/resources.c — CRUD for sources, destinations and connections.
 *
 * One set of handlers serves all three kinds: validation and rendering are
 * kind-specific in src/core/resource.c, storage in the store; what is left here is
 * the HTTP shape, identical for every kind. Runs on the threadpool; every
 * write is published on the resource hook (src/core/hooks.h) on the loop
 * before its answer goes out. */
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "core/resource.h"

/* Listing filters each kind accepts: query parameter = indexed column. */
static const char *const *list_filters(hs_kind kind) {
    static const char *const source[] = {"status", NULL};
    static const char *const destination[] = {"status", "type", NULL};
    static const char *const connection[] = {"source_id", "destination_id", "enabled", NULL};
    switch (kind) {
    case HS_KIND_SOURCE: return source;
    case HS_KIND_DESTINATION: return destination;
    default: return connection;
    }
}

/* On the loop thread (the dispatcher's after hook), before the answer goes
 * out: once a client has its 2xx the scheduler uses the new doc, and a
 * deleted resource's series are gone from GET /metrics. */
static void publish(hs_api_call *c) {
    /* the hook's promise for a deletion: ingests committed before it have
     * fired first (their completions may be waiting in this loop's mailbox,
     * and would bring a forgotten source's series back; those of other
     * loops have come through the barrier of src/api/router.c) */
    if (c->after_change == HS_CHANGE_DELETED) hs_mailbox_drain(c->api->home);
    hs_resource_event e = {.kind = c->kind, .change = c->after_change, .id = c->after_id, .doc = c->after_doc};
    hs_hooks_resource(c->api->hooks, &e);
}

/* The answer to a write is about to go out: publish it, with the stored doc
 * (secrets and all) or, deleted, the id. */
static void publish_after(hs_api_call *c, hs_change change, const char *id, json_t *stored) {
    snprintf(c->after_id, sizeof c->after_id, "%s", id);
    c->after_change = change;
    c->after_doc = json_incref(stored);
    c->after = publish;
}

static void render_into(hs_api_call *c, int status, json_t *doc) {
    c->status = status;
    c->body = hs_resource_render(c->kind, doc);
    json_decref(doc);
}

void hs_api_resource_list(hs_api_call *c) {
    const char *const *filters = list_filters(c->kind);
    const char *allowed[8] = {"limit", "cursor"};
    size_t na = 2;
    for (const char *const *f = filters; *f; f++) allowed[na++] = *f;
    allowed[na] = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_page page;
    if (hs_api_page(c, hs_kind_id_prefix(c->kind), &page)) return;

    hs_list_filter f[4];
    size_t nf = 0;
    for (const char *const *name = filters; *name; name++) {
        const char *v = hs_query_get(&c->query, *name);
        if (v) f[nf++] = (hs_list_filter){*name, v};
    }
    json_t *items = NULL;
    bool has_more = false;
    if (hs_store_resource_list(c->api->store, c->kind, &page, f, nf, &items, &has_more, &err))
        return hs_api_fail(c, &err);
    json_t *rendered = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(items, i, doc) json_array_append_new(rendered, hs_resource_render(c->kind, doc));
    json_decref(items);
    c->status = 200;
    c->body = hs_api_list_body(hs_kind_plural(c->kind), rendered, has_more);
}

/* A connection may name its source and destination by slug, as URLs do:
 * the slugs become ids before the body is validated (an id stays as it is;
 * the store checks that it exists). */
/* The id of the kind's object that ref names (its id or slug) into id;
 * HS_ERR_NOTFOUND with err set by the store when there is none. */
static int canonical_id(hs_api_call *c, hs_kind kind, const char *ref, char *id, hs_error *err) {
    json_t *doc = NULL;
    if (hs_store_resource_get(c->api->store, kind, ref, &doc, err)) return err->code;
    snprintf(id, HS_ID_MAX, "%s", json_string_value(json_object_get(doc, "id")));
    json_decref(doc);
    return HS_OK;
}

static int resolve_refs(hs_api_call *c, json_t *body, hs_error *err) {
    static const struct {
        const char *field;
        hs_kind kind;
    } refs[] = {{"source_id", HS_KIND_SOURCE}, {"destination_id", HS_KIND_DESTINATION}};
    if (c->kind != HS_KIND_CONNECTION || !json_is_object(body)) return HS_OK;
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        const char *v = json_string_value(json_object_get(body, refs[i].field));
        if (!v || hs_id_valid(hs_kind_id_prefix(refs[i].kind), v) || !*v) continue;
        char id[HS_ID_MAX];
        if (canonical_id(c, refs[i].kind, v, id, err)) {
            if (err->code == HS_ERR_NOTFOUND)
                hs_error_set(err, HS_ERR_INVALID, refs[i].field, "no %s with the id or slug \"%s\"",
                             hs_kind_name(refs[i].kind), v);
            return err->code;
        }
        json_object_set_new(body, refs[i].field, json_string(id));
    }
    return HS_OK;
}

void hs_api_resource_create(hs_api_call *c) {
    json_t *body, *doc = NULL, *stored = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (hs_api_json_body(c, &body)) return;
    if (resolve_refs(c, body, &err)) {
        json_decref(body);
        return hs_api_fail(c, &err);
    }
    int rc = hs_resource_create_doc(c->kind, body, &doc, &err);
    json_decref(body);
    if (rc) return hs_api_fail(c, &err);
    char id[HS_ID_MAX];
    hs_id_new(hs_kind_id_prefix(c->kind), id);
    json_object_set_new(doc, "id", json_string(id));
    rc = hs_store_resource_create(c->api->store, c->kind, doc, &stored, &err);
    json_decref(doc);
    if (rc) return hs_api_fail(c, &err);
    publish_after(c, HS_CHANGE_CREATED, id, stored);
    render_into(c, 201, stored);
}

void hs_api_resource_get(hs_api_call *c) {
    json_t *doc = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (c->query.n) {
        static const char *const none[] = {NULL};
        if (hs_query_only(&c->query, none, &err)) return hs_api_fail(c, &err);
    }
    if (hs_store_resource_get(c->api->store, c->kind, c->param, &doc, &err)) {
        if (err.code == HS_ERR_NOTFOUND)
            hs_error_set(&err, HS_ERR_NOTFOUND, "", "no %s \"%s\"", hs_kind_name(c->kind), c->param);
        return hs_api_fail(c, &err);
    }
    render_into(c, 200, doc);
}

typedef struct patch_ctx {
    hs_kind kind;
    const json_t *patch;
} patch_ctx;

/* Runs on the store's writer thread, inside the transaction. */
static int apply_patch(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    patch_ctx *p = ud;
    return hs_resource_patch_doc(p->kind, current, p->patch, updated, err);
}

/* The canonical id of :id, which may be a slug for sources and destinations. */
static int resolve_id(hs_api_call *c, char *id, hs_error *err) {
    int rc = canonical_id(c, c->kind, c->param, id, err);
    if (rc == HS_ERR_NOTFOUND) hs_error_set(err, HS_ERR_NOTFOUND, "", "no %s \"%s\"", hs_kind_name(c->kind), c->param);
    return rc;
}

void hs_api_resource_patch(hs_api_call *c) {
    json_t *body, *stored = NULL;
    hs_error err;
    hs_error_clear(&err);
    char id[HS_ID_MAX];
    if (hs_api_json_body(c, &body)) return;
    if (resolve_id(c, id, &err) || resolve_refs(c, body, &err)) {
        json_decref(body);
        return hs_api_fail(c, &err);
    }
    patch_ctx p = {c->kind, body};
    int rc = hs_store_resource_update(c->api->store, c->kind, id, apply_patch, &p, &stored, &err);
    json_decref(body);
    if (rc) {
        if (err.code == HS_ERR_NOTFOUND && !err.msg[0])
            hs_error_set(&err, HS_ERR_NOTFOUND, "", "no %s \"%s\"", hs_kind_name(c->kind), c->param);
        return hs_api_fail(c, &err);
    }
    publish_after(c, HS_CHANGE_UPDATED, id, stored);
    render_into(c, 200, stored);
}

void hs_api_resource_delete(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    char id[HS_ID_MAX];
    if (resolve_id(c, id, &err)) return hs_api_fail(c, &err);
    if (hs_store_resource_delete(c->api->store, c->kind, id, &err)) return hs_api_fail(c, &err);
    /* every kind: the scheduler forgets destinations and connections, the
     * metrics sources and destinations (on the loop, publish) */
    publish_after(c, HS_CHANGE_DELETED, id, NULL);
    c->status = 200;
    c->body = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
}
