/* src/base/secretbox.h — secrets encrypted at rest: AES-256-GCM under one server key.
 *
 * A sealed value is the text
 *
 *     hsenc:v1:<key id>:<base64(nonce[12] | ciphertext | tag[16])>
 *
 * stored in the resource document in place of the clear secret. The nonce
 * is random (96 bits, a fresh one per seal); the additional data is the
 * "hsenc:v1:<key id>:" header followed by the caller's context, the
 * resource id and the value's JSON path ("dst_…/config.auth.token"), so a
 * sealed value copied to another field or another resource, or relabelled
 * with another key id, does not open. The key id is the first 8 hex digits
 * of SHA-256("hookstream secret key id" | key): it tells which key sealed a
 * value without revealing anything about the key.
 *
 * Keys are 32 random bytes, written as 64 hex digits (a key file holds them
 * and a newline) or as the base64 of the 32 bytes (44 characters, padded).
 *
 * Threads: a box is read-only after it is made, so one box may seal and
 * open on any number of threads at once. Every buffer that held clear key
 * or secret material is wiped (OPENSSL_cleanse) before it is freed.
 */
#ifndef HS_SECRETBOX_H
#define HS_SECRETBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define HS_SECRETBOX_KEY_LEN 32
#define HS_SECRETBOX_ID_LEN 8 /* hex digits of a key id */
#define HS_SECRETBOX_PREFIX "hsenc:v1:"
#define HS_SECRETBOX_MAX_PLAIN 65536 /* the largest secret sealed */

typedef struct hs_secretbox {
    unsigned char key[HS_SECRETBOX_KEY_LEN];
    char id[HS_SECRETBOX_ID_LEN + 1];
} hs_secretbox;

/* A box for these 32 key bytes. */
void hs_secretbox_init(hs_secretbox *box, const unsigned char key[HS_SECRETBOX_KEY_LEN]);
/* Forget the key. */
void hs_secretbox_wipe(hs_secretbox *box);

/* A key given as text: 64 hex digits or the padded base64 of 32 bytes,
 * surrounding whitespace ignored. from names the source in errors
 * ("HOOKSTREAM_SECRET_KEY", a file name); the key itself is never quoted. */
int hs_secretbox_parse(const char *text, const char *from, hs_secretbox *box, hs_error *err);

/* Read a key file (at most 1 KiB, one key as above). Refused when the file
 * is readable or writable by group or others. */
int hs_secretbox_load_file(const char *path, hs_secretbox *box, hs_error *err);

/* Create a key file holding a new random key: O_CREAT | O_EXCL, mode 0600,
 * written, fsynced, and its directory fsynced, so that it survives a crash
 * once this returns. HS_ERR_CONFLICT when the file exists. */
int hs_secretbox_create_file(const char *path, hs_secretbox *box, hs_error *err);

/* Write box's key to path the same way (new file, 0600, fsynced): for a
 * rotation's new key. */
int hs_secretbox_write_file(const char *path, const hs_secretbox *box, hs_error *err);

/* rename(from, to), then fsync to's directory: replaces a key file
 * atomically. */
int hs_secretbox_replace_file(const char *from, const char *to, hs_error *err);

/* True when s has the sealed form's prefix (it may still fail to open). */
bool hs_secretbox_is_sealed(const char *s);
/* The key id of a sealed value into out; false when s is not sealed. */
bool hs_secretbox_key_id(const char *s, char out[HS_SECRETBOX_ID_LEN + 1]);

/* Seal plain[0..len) for context; returns a heap string (hs_free). Fails
 * (NULL, err set) only for a secret over HS_SECRETBOX_MAX_PLAIN or an
 * OpenSSL failure. */
char *hs_secretbox_seal(const hs_secretbox *box, const char *plain, size_t len, const char *context, hs_error *err);

/* Open a sealed value for context: *plain is a new NUL-terminated heap
 * string (free it with hs_free_secret), *len its length. HS_ERR_INVALID
 * when s is not a well-formed sealed value; HS_ERR_UNAUTHORIZED when it was
 * sealed under another key id, or does not authenticate (tampered, moved
 * to another context, or another key that happens to share the id). */
int hs_secretbox_open(const hs_secretbox *box, const char *sealed, const char *context, char **plain, size_t *len,
                      hs_error *err);

#endif
