/* src/providers/gcp/oauth_token.h — a process-wide cache of OAuth 2.0 access tokens.
 *
 * Keyed by a string the caller composes from everything that decides which
 * token is wanted: token endpoint, client identity, scope, key. Deliveries on
 * any thread share one token per key until shortly before it expires: a
 * tenth of its lifetime, at most a minute, so a request never leaves with a
 * token about to lapse on the way. At most one thread fetches per key;
 * others that have no usable token wait for that fetch and share its outcome
 * (token or error), so a burst of deliveries costs one token request and a
 * failing token endpoint is asked once per burst, not once per delivery.
 * While one thread refreshes ahead of expiry, the others go on with the old,
 * still valid token.
 *
 * Tokens are credentials: never logged, copied out only to the caller, and
 * overwritten before their memory is freed.
 */
#ifndef HS_OAUTH_TOKEN_H
#define HS_OAUTH_TOKEN_H

#include <stdint.h>

#include "base/error.h"

#define HS_OAUTH_TOKEN_MAX 8192  /* bytes in an access token we accept */
#define HS_OAUTH_CACHE_KEYS 1024 /* keys held; beyond that unused ones go */

/* Fetches a token for ud: on HS_OK *token (heap, hs_free_secret by the
 * cache) and *lifetime_s (seconds it is valid from now, > 0); else a
 * negative hs_err with err->msg. Runs without the cache's lock held. */
typedef int (*hs_oauth_fetch_fn)(void *ud, char **token, uint64_t *lifetime_s, hs_error *err);

/* A copy of the token for key (heap: hs_free_secret), fetched with fetch
 * when there is none fresh enough. On failure a negative hs_err and err,
 * the fetch's own (or the one a concurrent fetch for the same key had). */
int hs_oauth_token_get(const char *key, hs_oauth_fetch_fn fetch, void *ud, char **token, hs_error *err);

/* A request made with key's token was refused (HTTP 401): drop the token,
 * unless it was obtained less than age_ms ago — after that request left, so
 * not the token it carried (another thread has refreshed it already). */
void hs_oauth_token_drop(const char *key, uint64_t age_ms);

/* Number of fetches started for key since the process began (tests). */
uint64_t hs_oauth_token_fetches(const char *key);

/* Forget every token (tests; nothing may be fetching). */
void hs_oauth_token_clear_all(void);

#endif
