/* src/base/digest.c — hashes and MACs through OpenSSL 3 (src/base/digest.h).
 *
 * HMAC goes through EVP_MAC, fed part by part. The HMAC provider cleanses
 * its key state when the context is freed; callers wipe their own copies.
 *
 * Keyed contexts are kept per thread (a few, the most recently used): a
 * source's verification key or a destination's signing secret MACs every
 * request with the same key, and re-initialising a keyed context
 * (EVP_MAC_init with no key: back to the state after the key) costs 0.35
 * µs for 300 bytes where a copy of the template, keyed each time, costs
 * 0.85 (its allocations, and the key's two blocks). The cache holds a copy
 * of each key to compare with, wiped when the entry goes, and is freed
 * with its thread.
 */
#include "base/digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"

/* HMAC contexts with their digest set and no key, one per digest, made
 * once and copied for each MAC: fetching the HMAC implementation and the
 * digest by name (which a fresh context does) looks them up in the
 * provider store under its lock, and cost more than the MAC of a small
 * body. A template is only read (EVP_MAC_CTX_dup), by any thread; they are
 * kept for the life of the process. */
static EVP_MAC_CTX *templates[2]; /* SHA256, SHA1: the digests hookstream MACs with */
static const char *const template_digests[2] = {"SHA256", "SHA1"};

static void make_templates(void) {
    EVP_MAC *impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
    for (int i = 0; impl && i < 2; i++) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)template_digests[i], 0),
            OSSL_PARAM_construct_end(),
        };
        templates[i] = EVP_MAC_CTX_new(impl);
        if (templates[i] && !EVP_MAC_CTX_set_params(templates[i], params)) {
            EVP_MAC_CTX_free(templates[i]);
            templates[i] = NULL;
        }
    }
    EVP_MAC_free(impl); /* the contexts hold their own references */
}

/* A new context for digest, its key not set yet; NULL when none. */
static EVP_MAC_CTX *hmac_ctx(const char *digest) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_templates);
    for (int i = 0; i < 2; i++)
        if (templates[i] && strcmp(digest, template_digests[i]) == 0) return EVP_MAC_CTX_dup(templates[i]);
    EVP_MAC *impl = EVP_MAC_fetch(NULL, "HMAC", NULL); /* another digest: the slow way */
    EVP_MAC_CTX *c = impl ? EVP_MAC_CTX_new(impl) : NULL;
    EVP_MAC_free(impl);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (c && !EVP_MAC_CTX_set_params(c, params)) {
        EVP_MAC_CTX_free(c);
        c = NULL;
    }
    return c;
}

/* ---- the per-thread cache of keyed contexts ---- */

#define KEYED_MAX 8       /* entries per thread */
#define KEYED_KEY_MAX 128 /* longer keys are not cached */
typedef struct keyed {
    EVP_MAC_CTX *c; /* NULL: a free entry */
    int digest;     /* index in template_digests */
    size_t key_len;
    uint64_t used;
    unsigned char key[KEYED_KEY_MAX];
} keyed;
typedef struct keyed_cache {
    keyed e[KEYED_MAX];
    uint64_t tick;
} keyed_cache;

static pthread_key_t cache_key;
static bool cache_ok;

static void keyed_drop(keyed *k) {
    EVP_MAC_CTX_free(k->c);
    OPENSSL_cleanse(k->key, sizeof k->key);
    k->c = NULL;
}

static void cache_free(void *p) {
    keyed_cache *kc = p;
    for (int i = 0; i < KEYED_MAX; i++)
        if (kc->e[i].c) keyed_drop(&kc->e[i]);
    hs_free(kc);
}

static void make_cache_key(void) { cache_ok = pthread_key_create(&cache_key, cache_free) == 0; }

/* This thread's context for (digest, key), keyed and ready for an update;
 * NULL when it is not cached (another digest, a long key). key: never
 * NULL (hs_hmac's empty key). */
static EVP_MAC_CTX *keyed_ctx(const char *digest, const void *key, size_t key_len) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_cache_key);
    int d = -1;
    for (int i = 0; i < 2; i++)
        if (strcmp(digest, template_digests[i]) == 0) d = i;
    if (!cache_ok || d < 0 || key_len > KEYED_KEY_MAX) return NULL;
    keyed_cache *kc = pthread_getspecific(cache_key);
    if (!kc) {
        kc = hs_calloc(1, sizeof *kc);
        if (pthread_setspecific(cache_key, kc) != 0) {
            hs_free(kc);
            return NULL;
        }
    }
    keyed *lru = &kc->e[0];
    for (int i = 0; i < KEYED_MAX; i++) {
        keyed *k = &kc->e[i];
        if (k->c && k->digest == d && k->key_len == key_len && CRYPTO_memcmp(k->key, key, key_len) == 0) {
            k->used = ++kc->tick;
            return EVP_MAC_init(k->c, NULL, 0, NULL) ? k->c : NULL; /* back to the keyed state */
        }
        if (!k->c || (lru->c && k->used < lru->used)) lru = k;
    }
    if (lru->c) keyed_drop(lru);
    EVP_MAC_CTX *c = hmac_ctx(digest);
    if (!c || !EVP_MAC_init(c, key, key_len, NULL)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    *lru = (keyed){.c = c, .digest = d, .key_len = key_len, .used = ++kc->tick};
    memcpy(lru->key, key, key_len);
    return c;
}

int hs_hmac(const char *digest, const void *key, size_t key_len, const hs_digest_part *parts, size_t nparts,
            unsigned char *mac, size_t *mac_len) {
    /* a NULL key means "keep the previous one" to EVP_MAC_init: an empty
     * key still needs a pointer */
    static const unsigned char empty_key[1];
    if (!key_len) key = empty_key;
    EVP_MAC_CTX *cached = keyed_ctx(digest, key, key_len);
    EVP_MAC_CTX *c = cached ? cached : hmac_ctx(digest);
    int ok = c && (cached || EVP_MAC_init(c, key, key_len, NULL));
    for (size_t i = 0; ok && i < nparts; i++)
        if (parts[i].len) ok = EVP_MAC_update(c, parts[i].data, parts[i].len);
    ok = ok && EVP_MAC_final(c, mac, mac_len, HS_DIGEST_MAX);
    if (!cached) EVP_MAC_CTX_free(c);
    return ok ? HS_OK : HS_ERR_INTERNAL;
}

int hs_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]) {
    unsigned char mac[HS_DIGEST_MAX];
    size_t mac_len = 0;
    hs_digest_part p = {data, len};
    int rc = hs_hmac("SHA256", key, key_len, &p, 1, mac, &mac_len);
    if (rc == HS_OK && mac_len != 32) rc = HS_ERR_INTERNAL;
    for (size_t i = 0; rc == HS_OK && i < 32; i++) out[i] = mac[i];
    return rc;
}

/* SHA-256 fetched once (EVP_sha256() is fetched again at every use). */
static EVP_MD *sha256_md;
static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void hs_sha256(const void *data, size_t len, unsigned char out[32]) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_sha256);
    unsigned int md_len = 0;
    /* SHA-256 through the default provider cannot fail short of memory
     * exhaustion, which src/base/alloc.h treats as fatal as well */
    if (!EVP_Digest(len ? data : "", len, out, &md_len, sha256_md ? sha256_md : EVP_sha256(), NULL)) abort();
}

void hs_sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[32];
    hs_sha256(data, len, md);
    hs_hex(md, sizeof md, out);
}

void hs_sha1(const void *data, size_t len, unsigned char out[20]) {
    unsigned int md_len = 0;
    if (!EVP_Digest(len ? data : "", len, out, &md_len, EVP_sha1(), NULL) || md_len != 20) abort();
}
