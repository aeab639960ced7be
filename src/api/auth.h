/* src/api/auth.h — API keys.
 *
 * Keys look like "hs_live_" + 64 hex. Only their SHA-256 is stored; the set of
 * accepted digests is loaded once at start (plus the configured key, which is
 * kept in memory only), so a check is one hash and a constant-time compare,
 * cheap enough for the loop thread. The set is read-only after init.
 */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include <stdbool.h>

#include "base/error.h"
#include "http/server.h"
#include "store/store.h"

#define HS_API_KEY_PREFIX "hs_live_"

typedef struct hs_auth hs_auth;

/* Loads the stored digests. With no configured key and none stored, creates
 * a key, stores its digest and returns the key itself in *created (heap,
 * the caller prints it once and frees with hs_free_secret); else *created is
 * NULL. */
int hs_auth_init(hs_store *store, const char *configured_key, hs_auth **out, char **created, hs_error *err);
void hs_auth_free(hs_auth *a);

/* The key a request presents: "Authorization: Bearer <key>" or "X-API-Key". */
const char *hs_auth_presented(const hs_http_req *req);
bool hs_auth_check(const hs_auth *a, const char *key);
/* The WebSocket hub's authorize function (src/ws/ws.h; ud is the hs_auth):
 * token when there is one, else the key req presents. */
bool hs_auth_ws(const hs_http_req *req, const char *token, void *ud);

/* New random key (heap). */
char *hs_auth_generate_key(void);
/* Lowercase hex SHA-256 of key into out[65]. */
void hs_auth_digest_hex(const char *key, char out[65]);

#endif
