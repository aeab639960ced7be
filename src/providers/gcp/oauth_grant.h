/* src/providers/gcp/oauth_grant.h — the OAuth 2.0 JWT-bearer grant (RFC 7523 §2.1), as
 * Google's token endpoint takes it for service accounts: POST the signed
 * assertion, get an access token back.
 *
 * Blocking (a libcurl easy handle): call it from a threadpool thread, never
 * the loop; the time it may take is bounded by timeout_ms. The answer is
 * read up to HS_OAUTH_ANSWER_MAX bytes.
 */
#ifndef HS_OAUTH_GRANT_H
#define HS_OAUTH_GRANT_H

#include <stdint.h>

#include "base/error.h"

#define HS_OAUTH_ANSWER_MAX 65536
#define HS_OAUTH_DEFAULT_LIFETIME_S                                                                                    \
    300 /* when the answer has no expires_in                                                                           \
         */

/* POST token_url, application/x-www-form-urlencoded
 *   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>
 * and read {"access_token","expires_in","token_type":"Bearer"}.
 * HS_OK: *token (heap, hs_free_secret) and *lifetime_s.
 * A 4xx answer (invalid_grant: wrong key, clock skew, unknown account) is
 * HS_ERR_PERMANENT, with the endpoint's error and description in err->msg;
 * no answer, a timeout, 5xx, 429 or a malformed answer is HS_ERR_IO or
 * HS_ERR_TIMEOUT (worth another try later). */
int hs_oauth_jwt_bearer(const char *token_url, const char *assertion, uint64_t timeout_ms, char **token,
                        uint64_t *lifetime_s, hs_error *err);

#endif
