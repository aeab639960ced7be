/* src/providers/gcp/oauth_token.c — the shared access-token cache (see src/providers/gcp/oauth_token.h). */
#include "providers/gcp/oauth_token.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timeutil.h"

/* refresh at most a minute early, or a tenth of the lifetime when shorter */
#define REFRESH_AHEAD_MAX_MS 60000
#define REFRESH_AHEAD_SHARE 10

typedef struct entry {
    struct entry *next;
    char *key;
    char *token;          /* NULL when none */
    uint64_t obtained_ms; /* monotonic clock: a token's lifetime is relative */
    uint64_t refresh_ms;  /* from here on a new one is fetched */
    uint64_t expires_ms;  /* from here on it is not used at all */
    bool fetching;
    uint64_t generation; /* fetches finished */
    int last_rc;         /* outcome of the last fetch, for its waiters */
    hs_error last_err;   /* and its error when it failed */
    int users;           /* threads inside hs_oauth_token_get for this key */
    uint64_t fetches;
} entry;

/* One lock and one condition for all keys: token fetches are rare (one an
 * hour per key), so contention is not worth a lock per entry. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_fetched = PTHREAD_COND_INITIALIZER;
static entry *g_entries;
static size_t g_count;

static uint64_t mono_ms(void) { return hs_monotonic_ns() / 1000000u; }

static void wipe_token(entry *e) {
    hs_free_secret(e->token);
    e->token = NULL;
}

static entry *find(const char *key) {
    for (entry *e = g_entries; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

/* Drop keys nobody uses whose token is gone or expired, once there are
 * more than HS_OAUTH_CACHE_KEYS (destinations come and go). */
static void evict(uint64_t now) {
    for (entry **p = &g_entries; *p && g_count > HS_OAUTH_CACHE_KEYS;) {
        entry *e = *p;
        if (e->users == 0 && !e->fetching && (!e->token || now >= e->expires_ms)) {
            *p = e->next;
            wipe_token(e);
            hs_free(e->key);
            hs_free(e);
            g_count--;
        } else {
            p = &e->next;
        }
    }
}

static entry *find_or_add(const char *key) {
    entry *e = find(key);
    if (e) return e;
    e = hs_calloc(1, sizeof *e);
    e->key = hs_strdup(key);
    e->next = g_entries;
    g_entries = e;
    g_count++;
    return e;
}

static void store(entry *e, char *token, uint64_t lifetime_s, uint64_t now) {
    if (lifetime_s == 0) lifetime_s = 1;
    uint64_t life_ms = lifetime_s * 1000u, ahead = life_ms / REFRESH_AHEAD_SHARE;
    if (ahead > REFRESH_AHEAD_MAX_MS) ahead = REFRESH_AHEAD_MAX_MS;
    wipe_token(e);
    e->token = token;
    e->obtained_ms = now;
    e->expires_ms = now + life_ms;
    e->refresh_ms = e->expires_ms - ahead;
}

/* Runs the fetch with the lock released; called and returns with it held. */
static int fetch_locked(entry *e, hs_oauth_fetch_fn fetch, void *ud, char **out, hs_error *err) {
    e->fetching = true;
    e->fetches++;
    pthread_mutex_unlock(&g_lock);
    char *token = NULL;
    uint64_t lifetime_s = 0;
    hs_error ferr;
    hs_error_clear(&ferr);
    int rc = fetch(ud, &token, &lifetime_s, &ferr);
    if (rc == HS_OK && !token) rc = hs_error_set(&ferr, HS_ERR_INTERNAL, NULL, "the token fetch gave no token");
    pthread_mutex_lock(&g_lock);
    uint64_t now = mono_ms();
    e->fetching = false;
    e->generation++;
    pthread_cond_broadcast(&g_fetched);
    e->last_rc = rc;
    if (rc == HS_OK) {
        store(e, token, lifetime_s, now);
        *out = hs_strdup(e->token);
        return HS_OK;
    }
    hs_free_secret(token);
    e->last_err = ferr;
    if (e->token && now < e->expires_ms) { /* an early refresh failed: the old one
                                              still works */
        *out = hs_strdup(e->token);
        return HS_OK;
    }
    if (err) *err = ferr;
    return rc;
}

int hs_oauth_token_get(const char *key, hs_oauth_fetch_fn fetch, void *ud, char **token, hs_error *err) {
    *token = NULL;
    pthread_mutex_lock(&g_lock);
    entry *e = find_or_add(key);
    e->users++;
    int rc = HS_OK;
    bool waited = false;
    uint64_t seen = 0;
    for (;;) {
        uint64_t now = mono_ms();
        bool valid = e->token && now < e->expires_ms;
        if (valid && (now < e->refresh_ms || e->fetching)) {
            *token = hs_strdup(e->token);
            break;
        }
        if (waited && e->generation != seen) {
            if (e->last_rc != HS_OK) { /* the fetch we waited for failed: share its error */
                rc = e->last_rc;
                if (err) *err = e->last_err;
                break;
            }
            waited = false; /* it worked, but that token is gone already */
            continue;
        }
        if (!e->fetching) {
            rc = fetch_locked(e, fetch, ud, token, err);
            break;
        }
        waited = true;
        seen = e->generation;
        pthread_cond_wait(&g_fetched, &g_lock);
    }
    e->users--;
    evict(mono_ms());
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void hs_oauth_token_drop(const char *key, uint64_t age_ms) {
    pthread_mutex_lock(&g_lock);
    entry *e = find(key);
    if (e && e->token && mono_ms() - e->obtained_ms >= age_ms) wipe_token(e);
    pthread_mutex_unlock(&g_lock);
}

uint64_t hs_oauth_token_fetches(const char *key) {
    pthread_mutex_lock(&g_lock);
    entry *e = find(key);
    uint64_t n = e ? e->fetches : 0;
    pthread_mutex_unlock(&g_lock);
    return n;
}

void hs_oauth_token_clear_all(void) {
    pthread_mutex_lock(&g_lock);
    while (g_entries) {
        entry *e = g_entries;
        g_entries = e->next;
        wipe_token(e);
        hs_free(e->key);
        hs_free(e);
    }
    g_count = 0;
    pthread_mutex_unlock(&g_lock);
}
