/* src/base/digest.h — the hashes and MACs hookstream computes (OpenSSL 3), in one
 * place: webhook signatures (src/providers/signing.c) and AWS SigV4 (src/providers/aws/sigv4.c).
 */
#ifndef HS_DIGEST_H
#define HS_DIGEST_H

#include <stddef.h>

#include "base/error.h"

#define HS_DIGEST_MAX 64 /* bytes in the largest MAC (EVP_MAX_MD_SIZE) */

/* One piece of a message fed to hs_hmac, so that "<ts>.<body>" never needs
 * assembling in a copy of the body. */
typedef struct hs_digest_part {
    const void *data;
    size_t len;
} hs_digest_part;

/* HMAC(key, parts[0] || parts[1] || ...) with OpenSSL digest "SHA256" or
 * "SHA1" into mac (HS_DIGEST_MAX bytes); *mac_len its length. An empty key
 * is a valid key. HS_OK or HS_ERR_INTERNAL. */
int hs_hmac(const char *digest, const void *key, size_t key_len, const hs_digest_part *parts, size_t nparts,
            unsigned char *mac, size_t *mac_len);
/* Raw HMAC-SHA256 of data under key into out. HS_OK or HS_ERR_INTERNAL. */
int hs_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len, unsigned char out[32]);
/* Raw SHA-256 of data into out. */
void hs_sha256(const void *data, size_t len, unsigned char out[32]);
/* Hex SHA-256 of data (65 bytes with the NUL). */
void hs_sha256_hex(const void *data, size_t len, char out[65]);
/* Raw SHA-1 of data into out (the WebSocket handshake's Sec-WebSocket-Accept;
 * not for anything that needs collision resistance). */
void hs_sha1(const void *data, size_t len, unsigned char out[20]);
/* (lower-case hex of bytes: hs_hex in src/base/id.h) */

#endif
