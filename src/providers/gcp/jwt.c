/* src/providers/gcp/jwt.c — RS256 JSON Web Tokens (see src/providers/gcp/jwt.h). */
#include "providers/gcp/jwt.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"

char *hs_base64url_encode(const void *data, size_t len) {
    char *s = hs_base64_encode(data, len);
    size_t n = 0;
    for (char *p = s; *p && *p != '='; p++, n++) {
        if (*p == '+') *p = '-';
        if (*p == '/') *p = '_';
    }
    s[n] = '\0';
    return s;
}

unsigned char *hs_base64url_decode(const char *s, size_t len, size_t *outlen) {
    if (len % 4 == 1) return NULL;
    char *std = hs_malloc(len + 3);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+' || c == '/' || c == '=') { /* not of this alphabet */
            hs_free(std);
            return NULL;
        }
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    size_t n = len;
    while (n % 4) std[n++] = '=';
    unsigned char *out = hs_base64_decode(std, n, outlen);
    hs_free(std);
    return out;
}

/* Never ask for a passphrase (OpenSSL's default would read the terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* OpenSSL's reason for the last failure, and an empty queue afterwards
 * (the queue is per thread and the threadpool's threads live on). */
static int openssl_error(hs_error *err, const char *what) {
    char reason[160] = "";
    unsigned long e = ERR_peek_last_error();
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    return hs_error_set(err, HS_ERR_INVALID, NULL, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

static EVP_PKEY *read_rsa_key(const char *pem, hs_error *err) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio) {
        openssl_error(err, "cannot read the private key");
        return NULL;
    }
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!key) {
        openssl_error(err, "the private key is not a readable PEM key");
        return NULL;
    }
    if (!EVP_PKEY_is_a(key, "RSA")) {
        EVP_PKEY_free(key);
        hs_error_set(err, HS_ERR_INVALID, NULL, "the private key is not an RSA key (RS256 needs one)");
        return NULL;
    }
    return key;
}

/* RSASSA-PKCS1-v1_5 with SHA-256 of data; *sig heap (hs_free). */
static int sign_rs256(EVP_PKEY *key, const char *data, size_t len, unsigned char **sig, size_t *siglen, hs_error *err) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    *sig = NULL;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, NULL, siglen, (const unsigned char *)data, len) == 1;
    if (ok) {
        *sig = hs_malloc(*siglen);
        ok = EVP_DigestSign(md, *sig, siglen, (const unsigned char *)data, len) == 1;
    }
    EVP_MD_CTX_free(md);
    if (ok) return HS_OK;
    hs_free(*sig);
    *sig = NULL;
    return openssl_error(err, "RS256 signing failed");
}

static char *json_part(const json_t *v) {
    char *text = json_dumps(v, JSON_COMPACT);
    char *part = hs_base64url_encode(text, strlen(text));
    hs_free(text);
    return part;
}

int hs_jwt_rs256(const char *private_key_pem, const char *kid, const json_t *claims, char **out, hs_error *err) {
    *out = NULL;
    EVP_PKEY *key = read_rsa_key(private_key_pem, err);
    if (!key) return err ? err->code : HS_ERR_INVALID;
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    if (kid) json_object_set_new(header, "kid", json_string(kid));
    char *h = json_part(header), *c = json_part(claims);
    json_decref(header);
    hs_buf jws;
    hs_buf_init(&jws, (size_t)-1);
    hs_buf_appendf(&jws, "%s.%s", h, c);
    hs_free(h);
    hs_free(c);
    unsigned char *sig;
    size_t siglen;
    int rc = sign_rs256(key, jws.data, jws.len, &sig, &siglen, err);
    EVP_PKEY_free(key);
    if (rc == HS_OK) {
        char *s = hs_base64url_encode(sig, siglen);
        hs_buf_appendf(&jws, ".%s", s);
        hs_free(s);
        hs_free(sig);
        *out = hs_buf_detach(&jws, NULL);
    }
    hs_buf_free(&jws);
    return rc;
}
