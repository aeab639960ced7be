/* src/providers/gcp/jwt.h — compact JWS with RS256 (RFC 7515, RFC 7518 §3.3), as the OAuth 2.0
 * JWT-bearer grant (RFC 7523) takes it: a service account signs its own
 * assertion with its private key. OpenSSL 3 EVP does the RSA.
 */
#ifndef HS_JWT_H
#define HS_JWT_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

/* base64url without padding (RFC 7515 §2) of data; heap string (hs_free). */
char *hs_base64url_encode(const void *data, size_t len);
/* The inverse; NULL on malformed input. *outlen bytes, heap (hs_free). */
unsigned char *hs_base64url_decode(const char *s, size_t len, size_t *outlen);

/* base64url(header) "." base64url(claims) "." base64url(RS256 signature),
 * header {"alg":"RS256","typ":"JWT"} plus "kid" when kid is non-NULL.
 * private_key_pem: an RSA key, PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1
 * ("BEGIN RSA PRIVATE KEY"); encrypted keys are refused, never prompted for.
 * *out is a heap string (hs_free_secret: it is a credential for an hour).
 * HS_ERR_INVALID with err->msg when the key cannot be used. */
int hs_jwt_rs256(const char *private_key_pem, const char *kid, const json_t *claims, char **out, hs_error *err);

#endif
