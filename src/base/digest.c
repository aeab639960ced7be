/* src/base/digest.c — hashes and MACs through OpenSSL 3 (src/base/digest.h).
 *
 * HMAC goes through EVP_MAC, fed part by part. The HMAC provider cleanses
 * its key state when the context is freed; callers wipe their own copies.
 */
#include "base/digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/id.h"

/* The HMAC implementation, fetched once: a fetch looks it up by name in
 * the provider store, under its lock, and cost as much as the MAC of a
 * small body. Shared by every thread (EVP_MAC is reference counted and
 * immutable), kept for the life of the process. */
static EVP_MAC *hmac_impl;
static void fetch_hmac(void) { hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL); }

int hs_hmac(const char *digest, const void *key, size_t key_len, const hs_digest_part *parts, size_t nparts,
            unsigned char *mac, size_t *mac_len) {
    /* a NULL key means "keep the previous one" to EVP_MAC_init: an empty
     * key still needs a pointer */
    static const unsigned char empty_key[1];
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_hmac);
    EVP_MAC_CTX *c = hmac_impl ? EVP_MAC_CTX_new(hmac_impl) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    int ok = c && EVP_MAC_init(c, key_len ? key : empty_key, key_len, params);
    for (size_t i = 0; ok && i < nparts; i++)
        if (parts[i].len) ok = EVP_MAC_update(c, parts[i].data, parts[i].len);
    ok = ok && EVP_MAC_final(c, mac, mac_len, HS_DIGEST_MAX);
    EVP_MAC_CTX_free(c);
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

void hs_sha256(const void *data, size_t len, unsigned char out[32]) {
    unsigned int md_len = 0;
    /* SHA-256 through the default provider cannot fail short of memory
     * exhaustion, which src/base/alloc.h treats as fatal as well */
    if (!EVP_Digest(len ? data : "", len, out, &md_len, EVP_sha256(), NULL)) abort();
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
