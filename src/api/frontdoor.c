/* src/api/frontdoor.c — IP lists, rate limits, signature verifiers, JSON
 * Schemas and deduplication settings of sources, in memory (see frontdoor.h for the threads and why
 * one bucket per source). */
#include "api/frontdoor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/idmap.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "verify/verify.h"

#define REF_MAX 64 /* ids and slugs are shorter */

typedef struct gate {
    char id[HS_ID_MAX];
    char *slug; /* NULL when none */
    hs_cidr *allow, *deny;
    size_t nallow, ndeny;
    /* rate limit; rate 0: none */
    double rate, burst;
    double tokens;
    uint64_t last_ns;            /* when tokens was counted */
    hs_verifier *verifier;       /* signature verification; NULL: none */
    hs_frontdoor_schema *schema; /* the body's JSON Schema; NULL: none */
    hs_dedup dedup;
} gate;

struct hs_frontdoor {
    uv_mutex_t mu;
    hs_idmap by_ref; /* id and slug -> gate (the keys are the gate's) */
    hs_cidr *trusted;
    size_t ntrusted;
};

static void gate_free(gate *g) {
    if (!g) return;
    hs_free(g->slug);
    hs_free(g->allow);
    hs_free(g->deny);
    hs_verifier_unref(g->verifier);
    hs_frontdoor_schema_release(g->schema);
    hs_free(g);
}

/* A validated list (src/core/resource.c): entries that do not parse
 * cannot be there, but are skipped rather than trusted. */
static hs_cidr *list_of(const json_t *arr, size_t *n) {
    *n = 0;
    size_t size = json_array_size(arr);
    if (!size) return NULL;
    hs_cidr *out = hs_malloc(size * sizeof *out);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char why[HS_CIDR_WHY_MAX];
        const char *text = json_string_value(v);
        if (text && hs_cidr_parse(text, &out[*n], why)) (*n)++;
    }
    return out;
}

/* Validation on the loop thread stays short: a tenth of the library's
 * default step budget (a body that needs more is refused, with the reason). */
#define SCHEMA_MAX_STEPS 100000

/* The compiled schema of a validated doc with schema_validation_enabled,
 * or NULL. (It compiled when the source was saved; a schema that no longer
 * does is logged and left out rather than refusing every request.) */
static hs_frontdoor_schema *schema_of(const json_t *doc) {
    const json_t *schema = json_object_get(doc, "json_schema");
    if (!json_is_true(json_object_get(doc, "schema_validation_enabled")) || !schema || json_is_null(schema))
        return NULL;
    hs_jsonschema_limits lim;
    hs_jsonschema_limits_default(&lim);
    lim.max_steps = SCHEMA_MAX_STEPS;
    hs_jsonschema *compiled = NULL;
    hs_jsonschema_error err;
    if (hs_jsonschema_compile(schema, &lim, &compiled, &err) != HS_JSONSCHEMA_OK) {
        hs_error_log("front door: source %s: its json_schema does not compile (%s: %s); not checked",
                     hs_jv_str(doc, "id") ? hs_jv_str(doc, "id") : "?", err.path, err.message);
        return NULL;
    }
    hs_frontdoor_schema *s = hs_malloc(sizeof *s);
    s->refs = 1;
    s->compiled = compiled;
    const char *action = hs_jv_str(doc, "schema_action");
    s->warn = action && strcmp(action, "warn") == 0;
    return s;
}

void hs_frontdoor_schema_release(hs_frontdoor_schema *s) {
    if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    hs_jsonschema_free(s->compiled);
    hs_free(s);
}

/* The gate of a source doc (every source but a disabled one has one, if
 * only to say that this node has heard of it: src/store/store.h
 * "unchecked"), or NULL. */
static gate *gate_of(const char *id, const json_t *doc) {
    const char *status = hs_jv_str(doc, "status");
    if (status && strcmp(status, "disabled") == 0) return NULL;
    gate *g = hs_calloc(1, sizeof *g);
    g->allow = list_of(json_object_get(doc, "ip_allowlist"), &g->nallow);
    g->deny = list_of(json_object_get(doc, "ip_denylist"), &g->ndeny);
    const json_t *rl = json_object_get(doc, "rate_limit");
    if (json_is_object(rl)) {
        g->rate = json_number_value(json_object_get(rl, "requests_per_second"));
        g->burst = json_number_value(json_object_get(rl, "burst"));
        if (g->burst < 1) g->burst = 1;
        g->tokens = g->burst;
        g->last_ns = uv_hrtime();
    }
    g->verifier = hs_verifier_new(doc);
    g->schema = schema_of(doc);
    hs_dedup_of(doc, &g->dedup);
    snprintf(g->id, sizeof g->id, "%s", id);
    const char *slug = hs_jv_str(doc, "slug");
    if (slug) g->slug = hs_strdup(slug);
    return g;
}

/* Under the lock: take g's place for id (g may be NULL: removed); returns
 * the gate it replaced. A gate whose limit did not change keeps its
 * bucket, so that renaming a source does not refill it. */
static gate *swap_locked(hs_frontdoor *fd, const char *id, gate *g) {
    gate *old = hs_idmap_del(&fd->by_ref, id);
    if (old && old->slug && hs_idmap_get(&fd->by_ref, old->slug) == old) hs_idmap_del(&fd->by_ref, old->slug);
    if (!g) return old;
    if (old && old->rate == g->rate && old->burst == g->burst) {
        g->tokens = old->tokens;
        g->last_ns = old->last_ns;
    }
    hs_idmap_put(&fd->by_ref, g->id, g);
    if (g->slug) hs_idmap_put(&fd->by_ref, g->slug, g);
    return old;
}

static void replace(hs_frontdoor *fd, const char *id, const json_t *doc) {
    gate *g = doc ? gate_of(id, doc) : NULL;
    uv_mutex_lock(&fd->mu);
    gate *old = swap_locked(fd, id, g);
    uv_mutex_unlock(&fd->mu);
    gate_free(old);
}

void hs_frontdoor_on_resource(const hs_resource_event *e, void *ud) {
    if (e->kind != HS_KIND_SOURCE) return;
    replace(ud, e->id, e->change == HS_CHANGE_DELETED ? NULL : e->doc);
}

static int load(hs_frontdoor *fd, hs_store *store, hs_error *err) {
    json_t *all;
    int rc = hs_store_resource_all(store, HS_KIND_SOURCE, &all, err);
    if (rc != HS_OK) return rc;
    size_t i;
    json_t *doc;
    json_array_foreach(all, i, doc) {
        const char *id = hs_jv_str(doc, "id");
        if (id) replace(fd, id, doc);
    }
    json_decref(all);
    return HS_OK;
}

int hs_frontdoor_new(hs_store *store, const hs_cidr *trusted, size_t ntrusted, hs_frontdoor **out, hs_error *err) {
    hs_frontdoor *fd = hs_calloc(1, sizeof *fd);
    uv_mutex_init(&fd->mu);
    if (ntrusted) {
        fd->trusted = hs_malloc(ntrusted * sizeof *fd->trusted);
        memcpy(fd->trusted, trusted, ntrusted * sizeof *fd->trusted);
        fd->ntrusted = ntrusted;
    }
    int rc = load(fd, store, err);
    if (rc != HS_OK) {
        hs_frontdoor_free(fd);
        *out = NULL;
        return rc;
    }
    *out = fd;
    return HS_OK;
}

static void collect(void *value, void *ud) {
    gate *g = value;
    hs_idmap *ids = ud;
    hs_idmap_put(ids, g->id, g);
}

static void free_value(void *value, void *ud) {
    (void)ud;
    gate_free(value);
}

void hs_frontdoor_free(hs_frontdoor *fd) {
    if (!fd) return;
    /* a gate is under its id and its slug: gather them by id, free once */
    hs_idmap ids = {0};
    hs_idmap_each(&fd->by_ref, collect, &ids);
    hs_idmap_each(&ids, free_value, NULL);
    hs_idmap_free(&ids);
    hs_idmap_free(&fd->by_ref);
    hs_free(fd->trusted);
    uv_mutex_destroy(&fd->mu);
    hs_free(fd);
}

/* ---- the client's address ---- */

/* One X-Forwarded-For entry, trimmed, port and brackets dropped
 * ("[2001:db8::1]:443", "192.0.2.1:8080"). */
static bool xff_entry(const char *s, size_t n, hs_cidr *out) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    char buf[HS_CIDR_TEXT_MAX];
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return false;
        n = (size_t)(close - s - 1);
        s++;
    } else if (memchr(s, '.', n)) {
        const char *colon = memchr(s, ':', n);
        if (colon) n = (size_t)(colon - s); /* IPv4 with a port */
    }
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return hs_ip_parse(buf, out);
}

void hs_frontdoor_client_ip(const hs_frontdoor *fd, const hs_http_req *req, char out[HS_CIDR_TEXT_MAX]) {
    snprintf(out, HS_CIDR_TEXT_MAX, "%s", req->remote_ip ? req->remote_ip : "");
    hs_cidr peer;
    if (!fd || !fd->ntrusted || !hs_ip_parse(out, &peer) || !hs_cidr_any(fd->trusted, fd->ntrusted, &peer)) return;
    /* the entries of every X-Forwarded-For line, right to left */
    hs_cidr found = peer;
    size_t seen = 0;
    for (size_t i = req->nheaders; i-- > 0 && seen < HS_FRONTDOOR_XFF_MAX;) {
        if (strcasecmp(req->headers[i].name, "X-Forwarded-For") != 0) continue;
        const char *v = req->headers[i].value;
        size_t end = strlen(v);
        while (seen < HS_FRONTDOOR_XFF_MAX) {
            size_t start = end;
            while (start > 0 && v[start - 1] != ',') start--;
            hs_cidr a;
            seen++;
            if (!xff_entry(v + start, end - start, &a)) goto done; /* not an address: stop at the trusted one */
            found = a;
            if (!hs_cidr_any(fd->trusted, fd->ntrusted, &a)) goto done;
            if (start == 0) break;
            end = start - 1;
        }
    }
done:
    hs_cidr_format(&found, out);
}

/* ---- the checks ---- */

static uint64_t ceil_s(double s) { return s <= 0 ? 0 : (uint64_t)ceil(s); }

/* Under the lock: refill g's bucket to now, then take a token or say how
 * long until one is there. */
static void take_token(gate *g, hs_frontdoor_verdict *v) {
    uint64_t now = uv_hrtime();
    if (now > g->last_ns) {
        g->tokens += (double)(now - g->last_ns) / 1e9 * g->rate;
        if (g->tokens > g->burst) g->tokens = g->burst;
        g->last_ns = now;
    }
    if (g->tokens >= 1) {
        g->tokens -= 1;
        return;
    }
    v->status = 429;
    v->error = "rate limit exceeded";
    v->reason = "rate_limited";
    v->retry_after_s = ceil_s((1 - g->tokens) / g->rate);
    if (v->retry_after_s < 1) v->retry_after_s = 1;
    v->limit = (uint64_t)g->burst;
    v->remaining = 0;
    v->reset_s = ceil_s((g->burst - g->tokens) / g->rate);
}

void hs_frontdoor_check(hs_frontdoor *fd, const char *ref, size_t len, const char *client_ip, hs_frontdoor_verdict *v) {
    memset(v, 0, sizeof *v);
    if (!fd || len == 0 || len > REF_MAX) return;
    char key[REF_MAX + 1];
    memcpy(key, ref, len);
    key[len] = '\0';
    hs_cidr ip;
    bool have_ip = hs_ip_parse(client_ip, &ip);
    uv_mutex_lock(&fd->mu);
    gate *g = hs_idmap_get(&fd->by_ref, key);
    if (!g) {
        uv_mutex_unlock(&fd->mu);
        return;
    }
    /* an address that does not parse (none should reach here) matches no
     * entry: refused by an allow list, let past a deny list */
    snprintf(v->source_id, sizeof v->source_id, "%s", g->id);
    if (g->ndeny && have_ip && hs_cidr_any(g->deny, g->ndeny, &ip)) {
        v->status = 403;
        v->error = "IP is in deny list";
        v->reason = "ip_denied";
    } else if (g->nallow && !(have_ip && hs_cidr_any(g->allow, g->nallow, &ip))) {
        v->status = 403;
        v->error = "IP is not in allow list";
        v->reason = "ip_not_allowed";
    } else if (g->rate > 0) {
        take_token(g, v);
    }
    if (!v->status) {
        v->verifier = hs_verifier_ref(g->verifier);
        if ((v->schema = g->schema)) __atomic_add_fetch(&v->schema->refs, 1, __ATOMIC_RELAXED);
        if (g->dedup.strategy != HS_DEDUP_OFF) v->dedup = g->dedup;
    }
    uv_mutex_unlock(&fd->mu);
}

bool hs_frontdoor_knows(hs_frontdoor *fd, const char *id) {
    if (!fd) return false;
    uv_mutex_lock(&fd->mu);
    bool known = hs_idmap_get(&fd->by_ref, id) != NULL;
    uv_mutex_unlock(&fd->mu);
    return known;
}
