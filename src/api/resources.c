/* src/api/resources.c — CRUD for sources, destinations and connections.
 *
 * One set of handlers serves all three kinds: validation and rendering are
 * kind-specific in src/core/resource.c, storage in the store; what is left here is
 * the HTTP shape, identical for every kind. Runs on the threadpool; every
 * write is published on the resource hook (src/core/hooks.h) on the loop
 * before its answer goes out. A destination's signing secret is rotated
 * here too (an update like PATCH's, published the same way). */
#include <openssl/crypto.h>
#include <string.h>

#include "base/alloc.h"
#include "api/call.h"
#include "base/base64.h"
#include "base/json_text.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "base/timeutil.h"
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

/* A source's read-only fields (docs/api.md "Sources"): event_count and
 * last_event_at from the store's counts, ingest_url from --public-url or
 * else the Host the request came to. objs: n rendered sources. A failed
 * read leaves the counts out rather than failing the answer. */
static void add_source_reads(hs_api_call *c, json_t *const *objs, size_t n) {
    if (c->kind != HS_KIND_SOURCE || !n) return;
    const char **ids = hs_malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = hs_jv_str(objs[i], "id") ? hs_jv_str(objs[i], "id") : "";
    hs_source_count *counts = hs_calloc(n, sizeof *counts);
    hs_error err;
    bool counted = hs_store_source_counts(c->api->store, ids, n, counts, &err) == HS_OK;
    if (!counted) hs_warn("sources: reading event counts: %s", err.msg);
    const char *host = hs_http_req_header(c->req, "host");
    for (size_t i = 0; i < n; i++) {
        if (counted) {
            json_object_set_new(objs[i], "event_count", json_integer((json_int_t)counts[i].events));
            json_object_set_new(objs[i], "last_event_at", hs_json_time(counts[i].last_event_at));
        }
        const char *slug = hs_jv_str(objs[i], "slug");
        const char *ref = slug ? slug : ids[i];
        char *url = c->api->public_url ? hs_sprintf("%s/v1/ingest/%s", c->api->public_url, ref)
                    : host             ? hs_sprintf("http://%s/v1/ingest/%s", host, ref)
                                       : NULL;
        json_object_set_new(objs[i], "ingest_url", hs_json_text(url));
        hs_free(url);
    }
    hs_free(counts);
    hs_free(ids);
}

static void render_into(hs_api_call *c, int status, json_t *doc) {
    c->status = status;
    c->body = hs_resource_render(c->kind, doc);
    json_decref(doc);
    add_source_reads(c, &c->body, 1);
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
    size_t n = json_array_size(rendered);
    json_t **objs = hs_malloc((n ? n : 1) * sizeof *objs);
    json_array_foreach(rendered, i, doc) objs[i] = doc;
    add_source_reads(c, objs, n);
    hs_free(objs);
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

/* The update of object id by fn (on the writer), published once stored:
 * HS_OK with *stored (the caller's), or the failure recorded in c. */
static int update_published(hs_api_call *c, const char *id, hs_update_fn fn, void *ud, json_t **stored) {
    hs_error err;
    hs_error_clear(&err);
    if (hs_store_resource_update(c->api->store, c->kind, id, fn, ud, stored, &err)) {
        if (err.code == HS_ERR_NOTFOUND && !err.msg[0])
            hs_error_set(&err, HS_ERR_NOTFOUND, "", "no %s \"%s\"", hs_kind_name(c->kind), c->param);
        hs_api_fail(c, &err);
        return err.code;
    }
    publish_after(c, HS_CHANGE_UPDATED, id, *stored);
    return HS_OK;
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
    int rc = update_published(c, id, apply_patch, &p, &stored);
    json_decref(body);
    if (rc == HS_OK) render_into(c, 200, stored);
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

/* ---- POST /v1/destinations/:id/rotate-secret ---- */

#define ROTATE_OVERLAP_DEFAULT_S 86400
#define ROTATE_OVERLAP_MAX_S (30 * 86400)

typedef struct rotate_ctx {
    const char *secret; /* given, or NULL: generated */
    json_int_t overlap_s;
    uint64_t now;
    char *generated; /* heap, wiped: the secret made here */
} rotate_ctx;

/* A new random secret in the form the scheme takes. */
static char *new_secret(const char *scheme) {
    unsigned char raw[32];
    hs_random_bytes(raw, sizeof raw);
    char *s;
    if (strcmp(scheme, "standard_webhooks") == 0) {
        char *b64 = hs_base64_encode(raw, sizeof raw);
        s = hs_sprintf("whsec_%s", b64);
        hs_free_secret(b64);
    } else {
        char hex[65];
        hs_hex(raw, sizeof raw, hex);
        s = hs_strdup(hex);
        OPENSSL_cleanse(hex, sizeof hex);
    }
    OPENSSL_cleanse(raw, sizeof raw);
    return s;
}

/* Runs on the store's writer thread: the current secret becomes the
 * previous one (until now + overlap), the new one takes its place; the
 * result is validated as a PATCH would be. */
static int apply_rotation(const json_t *current, json_t **updated, void *ud, hs_error *err) {
    rotate_ctx *r = ud;
    const json_t *signing = json_object_get(current, "signing");
    if (!json_is_object(signing))
        return hs_error_set(err, HS_ERR_CONFLICT, "signing", "the destination signs nothing: set signing first");
    const char *old = json_string_value(json_object_get(signing, "secret"));
    hs_free_secret(r->generated); /* a group tried again runs this again */
    r->generated = NULL;
    const char *secret = r->secret;
    if (!secret) secret = r->generated = new_secret(json_string_value(json_object_get(signing, "scheme")));
    if (old && strcmp(old, secret) == 0)
        return hs_error_set(err, HS_ERR_INVALID, "secret", "must differ from the current secret");
    char until[HS_ISO8601_MAX];
    hs_iso8601(r->now + (uint64_t)r->overlap_s * 1000, until);
    json_t *patch = json_pack("{s:{s:s, s:o, s:o}}", "signing", "secret", secret, "previous_secret",
                              r->overlap_s && old ? json_string(old) : json_null(), "previous_secret_expires_at",
                              r->overlap_s && old ? json_string(until) : json_null());
    int rc = hs_resource_patch_doc(HS_KIND_DESTINATION, current, patch, updated, err);
    json_decref(patch);
    return rc;
}

void hs_api_destination_rotate_secret(hs_api_call *c) {
    json_t *body, *stored = NULL;
    hs_error err;
    hs_error_clear(&err);
    char id[HS_ID_MAX];
    if (hs_api_json_body(c, &body)) return;
    rotate_ctx r = {.overlap_s = ROTATE_OVERLAP_DEFAULT_S, .now = hs_now_ms()};
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "secret") == 0 && json_is_string(v) && json_string_length(v) >= 16 &&
            json_string_length(v) <= 1024)
            r.secret = json_string_value(v);
        else if (strcmp(k, "secret") == 0)
            hs_error_set(&err, HS_ERR_INVALID, "secret", "must be a string of 16 to 1024 characters");
        else if (strcmp(k, "expire_old_after_s") == 0 && json_is_integer(v) && json_integer_value(v) >= 0 &&
                 json_integer_value(v) <= ROTATE_OVERLAP_MAX_S)
            r.overlap_s = json_integer_value(v);
        else if (strcmp(k, "expire_old_after_s") == 0)
            hs_error_set(&err, HS_ERR_INVALID, "expire_old_after_s", "must be an integer from 0 to %d (30 days)",
                         ROTATE_OVERLAP_MAX_S);
        else
            hs_error_set(&err, HS_ERR_INVALID, k, "is not a field of a rotation (secret, expire_old_after_s)");
        if (err.code) break;
    }
    if (err.code || resolve_id(c, id, &err)) {
        json_decref(body);
        return hs_api_fail(c, &err);
    }
    int rc = update_published(c, id, apply_rotation, &r, &stored);
    json_decref(body);
    if (rc) {
        hs_free_secret(r.generated);
        return;
    }
    c->status = 200;
    c->body = json_pack("{s:o, s:o}", "destination", hs_resource_render(c->kind, stored), "new_secret",
                        r.generated ? json_string(r.generated) : json_null());
    hs_free_secret(r.generated);
    json_decref(stored);
}
