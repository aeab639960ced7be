/* src/base/secretbox.c — AES-256-GCM sealing of secrets and the server key's file
 * (see src/base/secretbox.h for the format and the contract). */
#include "base/secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/digest.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define KEY_FILE_MAX 1024
#define ID_DOMAIN "hookstream secret key id"
#define HEADER_LEN (sizeof HS_SECRETBOX_PREFIX - 1 + HS_SECRETBOX_ID_LEN + 1) /* "hsenc:v1:<id>:" */

void hs_secretbox_init(hs_secretbox *box, const unsigned char key[HS_SECRETBOX_KEY_LEN]) {
    memcpy(box->key, key, HS_SECRETBOX_KEY_LEN);
    unsigned char buf[sizeof ID_DOMAIN + HS_SECRETBOX_KEY_LEN];
    memcpy(buf, ID_DOMAIN, sizeof ID_DOMAIN); /* the NUL included: a separator */
    memcpy(buf + sizeof ID_DOMAIN, key, HS_SECRETBOX_KEY_LEN);
    char hex[65];
    hs_sha256_hex(buf, sizeof buf, hex);
    OPENSSL_cleanse(buf, sizeof buf);
    memcpy(box->id, hex, HS_SECRETBOX_ID_LEN);
    box->id[HS_SECRETBOX_ID_LEN] = '\0';
}

void hs_secretbox_wipe(hs_secretbox *box) { OPENSSL_cleanse(box, sizeof *box); }

/* ---- keys as text ---- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool from_hex(const char *s, size_t n, unsigned char out[HS_SECRETBOX_KEY_LEN]) {
    if (n != 2 * HS_SECRETBOX_KEY_LEN) return false;
    for (size_t i = 0; i < HS_SECRETBOX_KEY_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int hs_secretbox_parse(const char *text, const char *from, hs_secretbox *box, hs_error *err) {
    size_t n = text ? strlen(text) : 0;
    while (n && is_space(text[n - 1])) n--;
    while (n && is_space(*text)) text++, n--;
    unsigned char key[HS_SECRETBOX_KEY_LEN];
    bool ok = from_hex(text, n, key);
    if (!ok && n == 44) {
        size_t len = 0;
        unsigned char *raw = hs_base64_decode(text, n, &len);
        if (raw && len == HS_SECRETBOX_KEY_LEN) {
            memcpy(key, raw, len);
            ok = true;
        }
        if (raw) {
            OPENSSL_cleanse(raw, len);
            hs_free(raw);
        }
    }
    if (!ok)
        return hs_error_set(err, HS_ERR_INVALID, NULL,
                            "%s: a secret key must be 64 hex digits or the base64 of 32 bytes (44 characters)", from);
    hs_secretbox_init(box, key);
    OPENSSL_cleanse(key, sizeof key);
    return HS_OK;
}

/* ---- key files ---- */

int hs_secretbox_load_file(const char *path, hs_secretbox *box, hs_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return hs_error_set(err, errno == ENOENT ? HS_ERR_NOTFOUND : HS_ERR_IO, NULL, "cannot open key file %s: %s",
                            path, strerror(errno));
    struct stat st;
    int rc = HS_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = hs_error_set(err, HS_ERR_INVALID, NULL, "key file %s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = hs_error_set(err, HS_ERR_INVALID, NULL,
                          "key file %s is accessible to group or others (mode %03o): chmod 600 it", path,
                          (unsigned)(st.st_mode & 0777));
    char buf[KEY_FILE_MAX + 1];
    ssize_t got = 0;
    if (rc == HS_OK) {
        got = read(fd, buf, KEY_FILE_MAX + 1);
        if (got < 0 || got > KEY_FILE_MAX)
            rc = hs_error_set(err, HS_ERR_INVALID, NULL, "cannot read key file %s: %s", path,
                              got < 0 ? strerror(errno) : "larger than 1 KiB");
    }
    close(fd);
    if (rc == HS_OK) {
        buf[got] = '\0';
        rc = hs_secretbox_parse(buf, path, box, err);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* fsync the directory holding path, so that a new name survives a crash. */
static int sync_dir(const char *path, hs_error *err) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot sync directory %s: %s", dir, strerror(e));
    }
    close(fd);
    return HS_OK;
}

int hs_secretbox_write_file(const char *path, const hs_secretbox *box, hs_error *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return hs_error_set(err, errno == EEXIST ? HS_ERR_CONFLICT : HS_ERR_IO, NULL, "cannot create key file %s: %s",
                            path, strerror(errno));
    char text[2 * HS_SECRETBOX_KEY_LEN + 2];
    for (size_t i = 0; i < HS_SECRETBOX_KEY_LEN; i++) snprintf(text + 2 * i, 3, "%02x", box->key[i]);
    text[2 * HS_SECRETBOX_KEY_LEN] = '\n';
    text[2 * HS_SECRETBOX_KEY_LEN + 1] = '\0';
    size_t n = 2 * HS_SECRETBOX_KEY_LEN + 1;
    bool ok = fchmod(fd, 0600) == 0 && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    int e = errno;
    OPENSSL_cleanse(text, sizeof text);
    if (close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(path);
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot write key file %s: %s", path, strerror(e));
    }
    return sync_dir(path, err);
}

int hs_secretbox_create_file(const char *path, hs_secretbox *box, hs_error *err) {
    unsigned char key[HS_SECRETBOX_KEY_LEN];
    if (RAND_bytes(key, sizeof key) != 1)
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "no random bytes for a secret key");
    hs_secretbox_init(box, key);
    OPENSSL_cleanse(key, sizeof key);
    int rc = hs_secretbox_write_file(path, box, err);
    if (rc) hs_secretbox_wipe(box);
    return rc;
}

int hs_secretbox_replace_file(const char *from, const char *to, hs_error *err) {
    if (rename(from, to) != 0)
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return sync_dir(to, err);
}

/* ---- sealing ---- */

bool hs_secretbox_is_sealed(const char *s) {
    return s && strncmp(s, HS_SECRETBOX_PREFIX, sizeof HS_SECRETBOX_PREFIX - 1) == 0;
}

bool hs_secretbox_key_id(const char *s, char out[HS_SECRETBOX_ID_LEN + 1]) {
    if (!hs_secretbox_is_sealed(s) || strlen(s) < HEADER_LEN || s[HEADER_LEN - 1] != ':') return false;
    memcpy(out, s + sizeof HS_SECRETBOX_PREFIX - 1, HS_SECRETBOX_ID_LEN);
    out[HS_SECRETBOX_ID_LEN] = '\0';
    return true;
}

/* The additional data: the header (version and key id), then context. */
static char *aad_of(const char *id, const char *context, size_t *len) {
    char *aad = hs_sprintf(HS_SECRETBOX_PREFIX "%s:%s", id, context ? context : "");
    *len = strlen(aad);
    return aad;
}

/* AES-256-GCM one shot: encrypt (tag written) or decrypt (tag checked). */
static bool gcm(bool enc, const unsigned char *key, const unsigned char *nonce, const char *aad, size_t aad_len,
                const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
              EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)aad_len) == 1 &&
              (n == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    if (ok) ok = EVP_CipherFinal_ex(ctx, out + (n ? (size_t)len : 0), &len) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

char *hs_secretbox_seal(const hs_secretbox *box, const char *plain, size_t len, const char *context, hs_error *err) {
    if (len > HS_SECRETBOX_MAX_PLAIN) {
        hs_error_set(err, HS_ERR_TOOBIG, NULL, "a secret of %zu bytes is over the %d-byte limit", len,
                     HS_SECRETBOX_MAX_PLAIN);
        return NULL;
    }
    size_t blob_len = NONCE_LEN + len + TAG_LEN, aad_len;
    unsigned char *blob = hs_malloc(blob_len);
    char *aad = aad_of(box->id, context, &aad_len), *out = NULL;
    if (RAND_bytes(blob, NONCE_LEN) == 1 && gcm(true, box->key, blob, aad, aad_len, (const unsigned char *)plain, len,
                                                blob + NONCE_LEN, blob + NONCE_LEN + len)) {
        char *b64 = hs_base64_encode(blob, blob_len);
        out = hs_sprintf(HS_SECRETBOX_PREFIX "%s:%s", box->id, b64);
        hs_free(b64);
    } else {
        hs_error_set(err, HS_ERR_INTERNAL, NULL, "cannot encrypt a secret (OpenSSL)");
    }
    hs_free(aad);
    hs_free(blob);
    return out;
}

int hs_secretbox_open(const hs_secretbox *box, const char *sealed, const char *context, char **plain, size_t *len,
                      hs_error *err) {
    *plain = NULL;
    *len = 0;
    char id[HS_SECRETBOX_ID_LEN + 1];
    if (!hs_secretbox_key_id(sealed, id)) return hs_error_set(err, HS_ERR_INVALID, NULL, "not a sealed secret");
    if (strcmp(id, box->id) != 0)
        return hs_error_set(err, HS_ERR_UNAUTHORIZED, NULL, "sealed under key %s, not under this key (%s)", id,
                            box->id);
    size_t blob_len = 0;
    const char *b64 = sealed + HEADER_LEN;
    unsigned char *blob = hs_base64_decode(b64, strlen(b64), &blob_len);
    if (!blob || blob_len < NONCE_LEN + TAG_LEN) {
        hs_free(blob);
        return hs_error_set(err, HS_ERR_INVALID, NULL, "a sealed secret is malformed");
    }
    size_t n = blob_len - NONCE_LEN - TAG_LEN, aad_len;
    char *aad = aad_of(id, context, &aad_len), *out = hs_malloc(n + 1);
    int rc = HS_OK;
    if (gcm(false, box->key, blob, aad, aad_len, blob + NONCE_LEN, n, (unsigned char *)out, blob + NONCE_LEN + n)) {
        out[n] = '\0';
        *plain = out;
        *len = n;
    } else {
        OPENSSL_cleanse(out, n + 1);
        hs_free(out);
        rc = hs_error_set(err, HS_ERR_UNAUTHORIZED, NULL,
                          "a sealed secret does not authenticate under key %s (altered, or moved from another field)",
                          id);
    }
    hs_free(aad);
    hs_free(blob);
    return rc;
}
