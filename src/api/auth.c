#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/timeutil.h"

/* One accepted key. id "" is the configured key (never stored). */
typedef struct key_entry {
    char id[HS_ID_MAX];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    uint64_t used_at;    /* last check that matched (ms, 0: none) */
    uint64_t written_at; /* the used_at last written to the store */
} key_entry;

struct hs_auth {
    hs_store *store;
    pthread_mutex_t change; /* one change of the set at a time (store read + swap) */
    pthread_mutex_t lock;   /* guards keys, n, next_sync */
    key_entry *keys;
    size_t n;
    uint64_t next_sync; /* ms: when hs_auth_sync_due says yes next */
    bool closed;        /* hs_auth_close ran: no more store calls (under change) */
};

void hs_auth_digest_hex(const char *key, char out[65]) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), d);
    hs_hex(d, sizeof d, out);
}

char *hs_auth_generate_key(void) {
    unsigned char r[32];
    char hex[65];
    hs_random_bytes(r, sizeof r);
    hs_hex(r, sizeof r, hex);
    OPENSSL_cleanse(r, sizeof r);
    char *key = hs_sprintf("%s%s", HS_API_KEY_PREFIX, hex);
    OPENSSL_cleanse(hex, sizeof hex);
    return key;
}

static bool unhex(const char *hex, unsigned char *out, size_t n) {
    if (strlen(hex) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

static void push_key(key_entry **v, size_t *n, const char *id, const unsigned char *digest) {
    *v = hs_realloc(*v, (*n + 1) * sizeof **v);
    key_entry *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    memcpy(e->digest, digest, SHA256_DIGEST_LENGTH);
}

/* Who a key is, for the WebSocket hub (hs_ws_hub_close_principal): the
 * first 8 bytes of its digest, never 0. */
static uint64_t principal_of(const unsigned char *digest) {
    uint64_t p;
    memcpy(&p, digest, sizeof p);
    return p ? p : 1;
}

/* The stored keys as entries, plus the configured one (carried over from
 * old, with the uses remembered there). */
static int read_set(hs_auth *a, const key_entry *old, size_t nold, key_entry **out, size_t *n, hs_error *err) {
    hs_apikey *rows = NULL;
    size_t nrows = 0;
    int rc = hs_store_apikey_list(a->store, &rows, &nrows, err);
    if (rc) return rc;
    key_entry *v = NULL;
    size_t count = 0;
    for (size_t i = 0; i < nrows; i++) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        if (!unhex(rows[i].hash, d, sizeof d)) continue;
        push_key(&v, &count, rows[i].id, d);
        for (size_t j = 0; j < nold; j++)
            if (strcmp(old[j].id, rows[i].id) == 0) {
                v[count - 1].used_at = old[j].used_at;
                v[count - 1].written_at = old[j].written_at;
            }
    }
    for (size_t j = 0; j < nold; j++)
        if (!old[j].id[0]) push_key(&v, &count, "", old[j].digest);
    hs_free(rows);
    *out = v;
    *n = count;
    return HS_OK;
}

/* Replace the set (under lock); the old one is freed. A use noted since v
 * was copied from the set is carried over. */
static void swap_set(hs_auth *a, key_entry *v, size_t n) {
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < a->n; j++)
            if (strcmp(v[i].id, a->keys[j].id) == 0 && a->keys[j].used_at > v[i].used_at)
                v[i].used_at = a->keys[j].used_at;
    key_entry *old = a->keys;
    a->keys = v;
    a->n = n;
    pthread_mutex_unlock(&a->lock);
    hs_free(old);
}

/* A copy of the set (under lock), for a change to start from. */
static key_entry *copy_set(hs_auth *a, size_t *n) {
    pthread_mutex_lock(&a->lock);
    key_entry *v = a->n ? hs_malloc(a->n * sizeof *v) : NULL;
    if (a->n) memcpy(v, a->keys, a->n * sizeof *v);
    *n = a->n;
    pthread_mutex_unlock(&a->lock);
    return v;
}

/* The principals of the stored keys of old that v lacks, into *gone. */
static void list_gone(const key_entry *old, size_t nold, const key_entry *v, size_t n, uint64_t **gone, size_t *ngone) {
    for (size_t i = 0; i < nold; i++) {
        bool kept = !old[i].id[0];
        for (size_t j = 0; j < n && !kept; j++) kept = strcmp(old[i].id, v[j].id) == 0;
        if (kept) continue;
        *gone = hs_realloc(*gone, (*ngone + 1) * sizeof **gone);
        (*gone)[(*ngone)++] = principal_of(old[i].digest);
    }
}

int hs_auth_reload(hs_auth *a, uint64_t **gone, size_t *ngone, hs_error *err) {
    if (gone) {
        *gone = NULL;
        *ngone = 0;
    }
    pthread_mutex_lock(&a->change);
    int rc = HS_OK;
    if (!a->closed) {
        size_t nold;
        key_entry *old = copy_set(a, &nold), *v = NULL;
        size_t n = 0;
        rc = read_set(a, old, nold, &v, &n, err);
        if (rc == HS_OK && gone) list_gone(old, nold, v, n, gone, ngone);
        if (rc == HS_OK) swap_set(a, v, n);
        hs_free(old);
    }
    pthread_mutex_unlock(&a->change);
    return rc;
}

/* 1 to HS_API_KEY_NAME_CHARS characters of UTF-8 (counted, not checked). */
static bool name_ok(const char *name) {
    size_t chars = 0, bytes = 0;
    for (const char *p = name; *p; p++, bytes++) chars += ((unsigned char)*p & 0xc0) != 0x80;
    return chars >= 1 && chars <= HS_API_KEY_NAME_CHARS && bytes <= HS_APIKEY_NAME_MAX;
}

int hs_auth_create(hs_store *store, hs_auth *a, const char *name, hs_apikey *out, char **key, hs_error *err) {
    *key = NULL;
    memset(out, 0, sizeof *out);
    if (!name || !name_ok(name))
        return hs_error_set(err, HS_ERR_INVALID, "name", "is required: a string of 1 to %d characters",
                            HS_API_KEY_NAME_CHARS);
    char *k = hs_auth_generate_key();
    hs_id_new("ak_", out->id);
    hs_auth_digest_hex(k, out->hash);
    snprintf(out->prefix, sizeof out->prefix, "%.*s", HS_API_KEY_SHOWN, k);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_at = hs_now_ms();
    if (a) pthread_mutex_lock(&a->change);
    int rc = hs_store_apikey_add(store, out, err);
    if (rc == HS_OK && a) {
        size_t n;
        key_entry *v = copy_set(a, &n);
        unsigned char d[SHA256_DIGEST_LENGTH];
        unhex(out->hash, d, sizeof d);
        push_key(&v, &n, out->id, d);
        swap_set(a, v, n);
    }
    if (a) pthread_mutex_unlock(&a->change);
    if (rc) {
        hs_free_secret(k);
        return rc;
    }
    *key = k;
    return HS_OK;
}

int hs_auth_revoke(hs_store *store, hs_auth *a, const char *id, uint64_t *principal, hs_error *err) {
    if (principal) *principal = 0;
    if (!*id) return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no API key \"\"");
    if (a) pthread_mutex_lock(&a->change);
    int rc = hs_store_apikey_revoke(store, id, err);
    /* dropped even when the store had no such key (revoked elsewhere) */
    if (a && (rc == HS_OK || rc == HS_ERR_NOTFOUND)) {
        size_t n, k = 0;
        key_entry *v = copy_set(a, &n);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(v[i].id, id) != 0)
                v[k++] = v[i];
            else if (principal)
                *principal = principal_of(v[i].digest);
        }
        swap_set(a, v, k);
    }
    if (a) pthread_mutex_unlock(&a->change);
    return rc;
}

int hs_auth_init(hs_store *store, const char *configured_key, hs_auth **out, char **created, hs_error *err) {
    *created = NULL;
    hs_auth *a = hs_calloc(1, sizeof *a);
    a->store = store;
    pthread_mutex_init(&a->change, NULL);
    pthread_mutex_init(&a->lock, NULL);
    a->next_sync = hs_now_ms() + HS_AUTH_SYNC_MS;
    int rc = read_set(a, NULL, 0, &a->keys, &a->n, err);
    if (rc == HS_OK && configured_key) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)configured_key, strlen(configured_key), d);
        push_key(&a->keys, &a->n, "", d);
    } else if (rc == HS_OK && a->n == 0) {
        hs_apikey k;
        rc = hs_auth_create(store, a, "created at first start", &k, created, err);
    }
    if (rc) {
        hs_auth_free(a);
        return rc;
    }
    *out = a;
    return HS_OK;
}

void hs_auth_free(hs_auth *a) {
    if (!a) return;
    pthread_mutex_destroy(&a->change);
    pthread_mutex_destroy(&a->lock);
    hs_free(a->keys);
    hs_free(a);
}

const char *hs_auth_presented(const hs_http_req *req) {
    const char *h = hs_http_req_header(req, "authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ') h++;
        return *h ? h : NULL;
    }
    h = hs_http_req_header(req, "x-api-key");
    return h && *h ? h : NULL;
}

/* hs_auth_check, telling which key matched (its principal, 0: none). */
static bool check(hs_auth *a, const char *key, uint64_t *principal) {
    *principal = 0;
    if (!a || !key) return false;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), d);
    size_t ok = 0, found = 0;
    pthread_mutex_lock(&a->lock);
    /* every digest is compared, in constant time, whatever matched before;
     * which one matched is picked without a branch on the comparison */
    for (size_t i = 0; i < a->n; i++) {
        size_t eq = (size_t)(CRYPTO_memcmp(d, a->keys[i].digest, sizeof d) == 0);
        size_t mask = (size_t)0 - eq;
        ok |= eq;
        found = (found & ~mask) | (i & mask);
    }
    if (ok) {
        a->keys[found].used_at = hs_now_ms();
        *principal = principal_of(a->keys[found].digest);
    }
    pthread_mutex_unlock(&a->lock);
    return ok != 0;
}

bool hs_auth_check(hs_auth *a, const char *key) {
    uint64_t principal;
    return check(a, key, &principal);
}

bool hs_auth_ws(const hs_http_req *req, const char *token, void *ud, uint64_t *principal) {
    return check(ud, token ? token : hs_auth_presented(req), principal);
}

bool hs_auth_sync_due(hs_auth *a) {
    uint64_t now = hs_now_ms();
    pthread_mutex_lock(&a->lock);
    bool due = now >= a->next_sync;
    if (due) a->next_sync = now + HS_AUTH_SYNC_MS;
    pthread_mutex_unlock(&a->lock);
    return due;
}

/* hs_auth_flush, with change held. */
static int flush_uses(hs_auth *a, hs_error *err) {
    if (a->closed) return HS_OK;
    pthread_mutex_lock(&a->lock);
    hs_apikey_use *uses = a->n ? hs_malloc(a->n * sizeof *uses) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        key_entry *e = &a->keys[i];
        if (!e->id[0] || e->used_at <= e->written_at) continue;
        snprintf(uses[n].id, sizeof uses[n].id, "%s", e->id);
        uses[n++].at = e->used_at;
    }
    pthread_mutex_unlock(&a->lock);
    int rc = hs_store_apikey_touch(a->store, uses, n, err);
    if (rc == HS_OK && n) {
        pthread_mutex_lock(&a->lock);
        for (size_t i = 0; i < a->n; i++)
            for (size_t j = 0; j < n; j++)
                if (strcmp(a->keys[i].id, uses[j].id) == 0 && a->keys[i].written_at < uses[j].at)
                    a->keys[i].written_at = uses[j].at;
        pthread_mutex_unlock(&a->lock);
    }
    hs_free(uses);
    return rc;
}

int hs_auth_flush(hs_auth *a, hs_error *err) {
    pthread_mutex_lock(&a->change);
    int rc = flush_uses(a, err);
    pthread_mutex_unlock(&a->change);
    return rc;
}

int hs_auth_close(hs_auth *a, hs_error *err) {
    pthread_mutex_lock(&a->change);
    int rc = flush_uses(a, err);
    a->closed = true;
    pthread_mutex_unlock(&a->change);
    return rc;
}

uint64_t hs_auth_last_used(hs_auth *a, const char *id) {
    uint64_t at = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->keys[i].id, id) == 0) at = a->keys[i].used_at;
    pthread_mutex_unlock(&a->lock);
    return at;
}
