/* src/api/auth.h — API keys.
 *
 * Keys look like "hs_live_" + 64 hex. Only their SHA-256 is stored (table
 * api_keys, src/store/store.h); the server keeps the digests of the keys
 * not revoked in memory (plus the configured key, --api-key, which is kept
 * in memory only), so a check is one hash and a constant-time compare of
 * every digest, cheap enough for the loop thread.
 *
 * The set changes while the server runs:
 *   - hs_auth_create / hs_auth_revoke: this node creates or revokes a key
 *     (the API, the CLI): the store first, then the set, before the API
 *     answers, so a revoked key is refused from then on;
 *   - hs_auth_reload: the set changed elsewhere (another node, the CLI):
 *     read it again from the store. src/api/api.h hs_api_keys_changed runs
 *     it (and closes the WebSocket clients of keys gone): the cluster's
 *     change feed calls that when another node changed a key
 *     (src/cluster/); the router also calls it every HS_AUTH_SYNC_MS
 *     (hs_auth_sync_due), for changes no feed announces (the CLI).
 * Changes are serialised (one at a time, a store read and its swap
 * together), so a reload that read the set before a revocation committed
 * never puts the revoked key back.
 *
 * Last use: a check notes the time in memory only; hs_auth_flush writes
 * the keys used since their last write in one store call. The server runs
 * it (with a reload) at most every HS_AUTH_SYNC_MS, when a request comes
 * (hs_auth_sync_due), and once more at shutdown. The API's list shows the
 * later of the stored and the remembered time.
 *
 * Threads: check, ws and sync_due on any thread (a mutex guards the set;
 * held for the compare only); init, reload, added, revoked, flush and
 * last_used block on the store or on a reload: not on the loop thread,
 * except flush at shutdown.
 */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include <stdbool.h>

#include "base/error.h"
#include "http/server.h"
#include "store/store.h"

#define HS_API_KEY_PREFIX "hs_live_"
/* characters of a key kept as its prefix (the store's prefix column) */
#define HS_API_KEY_SHOWN 12
/* characters of a key's name at most */
#define HS_API_KEY_NAME_CHARS 100
/* how often remembered uses are written and the key set read again */
#define HS_AUTH_SYNC_MS 30000

typedef struct hs_auth hs_auth;

/* Loads the stored digests. With no configured key and none stored, creates
 * a key, stores its digest and returns the key itself in *created (heap,
 * the caller prints it once and frees with hs_free_secret); else *created is
 * NULL. store is borrowed and must outlive the hs_auth. */
int hs_auth_init(hs_store *store, const char *configured_key, hs_auth **out, char **created, hs_error *err);
void hs_auth_free(hs_auth *a);

/* The key a request presents: "Authorization: Bearer <key>" or "X-API-Key". */
const char *hs_auth_presented(const hs_http_req *req);
/* Is key accepted? Notes its use (in memory). */
bool hs_auth_check(hs_auth *a, const char *key);
/* The WebSocket hub's authorize function (src/ws/ws.h; ud is the hs_auth):
 * token when there is one, else the key req presents; *principal names the
 * key (8 bytes of its digest), so that the clients a revoked key let in
 * can be closed (hs_ws_hub_close_principal). */
bool hs_auth_ws(const hs_http_req *req, const char *token, void *ud, uint64_t *principal);

/* Creates a key named name (1 to HS_API_KEY_NAME_CHARS characters, else
 * HS_ERR_INVALID field "name"): stores it and fills *out as stored;
 * *key: the key itself (heap; shown once, free with hs_free_secret). With
 * a (may be NULL: the CLI) the server's set accepts it at once. */
int hs_auth_create(hs_store *store, hs_auth *a, const char *name, hs_apikey *out, char **key, hs_error *err);
/* Revokes key id in the store, then drops it from a's set (a may be NULL);
 * *principal (may be NULL): the key's, as hs_auth_ws named it (0 when a
 * did not hold it). */
int hs_auth_revoke(hs_store *store, hs_auth *a, const char *id, uint64_t *principal, hs_error *err);

/* The key set changed elsewhere: read it again (uses remembered for keys
 * still there are kept). *gone (may be NULL; hs_free): the principals of
 * the keys no longer accepted, *ngone of them. */
int hs_auth_reload(hs_auth *a, uint64_t **gone, size_t *ngone, hs_error *err);
/* True at most once every HS_AUTH_SYNC_MS (the caller then runs
 * hs_auth_flush and hs_auth_reload off the loop). */
bool hs_auth_sync_due(hs_auth *a);
/* Writes the uses not yet written (one store call). */
int hs_auth_flush(hs_auth *a, hs_error *err);
/* The last flush, before the store closes; afterwards reload and flush do
 * nothing (one still running is waited for). */
int hs_auth_close(hs_auth *a, hs_error *err);
/* When key id was last used as far as this server knows (ms; 0: not since
 * the start). */
uint64_t hs_auth_last_used(hs_auth *a, const char *id);

/* New random key (heap). */
char *hs_auth_generate_key(void);
/* Lowercase hex SHA-256 of key into out[65]. */
void hs_auth_digest_hex(const char *key, char out[65]);

#endif
