#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/id.h"

struct hs_auth {
    unsigned char (*digests)[SHA256_DIGEST_LENGTH];
    size_t n;
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

static void add_digest(hs_auth *a, const unsigned char *d) {
    a->digests = hs_realloc(a->digests, (a->n + 1) * sizeof *a->digests);
    memcpy(a->digests[a->n++], d, SHA256_DIGEST_LENGTH);
}

int hs_auth_init(hs_store *store, const char *configured_key, hs_auth **out, char **created, hs_error *err) {
    *created = NULL;
    char **hashes = NULL;
    size_t n = 0;
    int rc = hs_store_apikey_hashes(store, &hashes, &n, err);
    if (rc) return rc;
    hs_auth *a = hs_calloc(1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        if (unhex(hashes[i], d, sizeof d)) add_digest(a, d);
        hs_free(hashes[i]);
    }
    hs_free(hashes);
    if (configured_key) {
        unsigned char d[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)configured_key, strlen(configured_key), d);
        add_digest(a, d);
    } else if (a->n == 0) {
        char *key = hs_auth_generate_key();
        char hex[65], id[HS_ID_MAX];
        hs_auth_digest_hex(key, hex);
        hs_id_new("ak_", id);
        rc = hs_store_apikey_add(store, id, hex, "created at first start", err);
        if (rc) {
            hs_free_secret(key);
            hs_auth_free(a);
            return rc;
        }
        unsigned char d[SHA256_DIGEST_LENGTH];
        unhex(hex, d, sizeof d);
        add_digest(a, d);
        *created = key;
    }
    *out = a;
    return HS_OK;
}

void hs_auth_free(hs_auth *a) {
    if (!a) return;
    hs_free(a->digests);
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

bool hs_auth_check(const hs_auth *a, const char *key) {
    if (!a || !key) return false;
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), d);
    bool ok = false;
    /* every digest is compared, in constant time, whatever matched before */
    for (size_t i = 0; i < a->n; i++) ok |= CRYPTO_memcmp(d, a->digests[i], sizeof d) == 0;
    return ok;
}

bool hs_auth_ws(const hs_http_req *req, const char *token, void *ud) {
    return hs_auth_check(ud, token ? token : hs_auth_presented(req));
}
