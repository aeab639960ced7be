/* src/providers/signing.h — outbound webhook signatures (docs/api.md `signing`, docs/scheduler.md).
 *
 * Two schemes:
 *   hookstream         header = prefix + hex(HMAC(secret, payload)), where
 *                      payload = body, or "<unix_ts>.<body>" when
 *                      include_timestamp (and then timestamp_header = unix_ts).
 *                      algorithm sha256 (default) or sha1. prefix defaults to
 *                      "<algorithm>=" (the validated doc already holds it).
 *   standard_webhooks  webhook-id = the delivery id, webhook-timestamp =
 *                      unix seconds, webhook-signature = "v1," +
 *                      base64(HMAC-SHA256(base64decode(secret without
 *                      "whsec_"), "<id>.<ts>.<body>")).
 * Rotation: while previous_secret is set and the signing time is before
 * previous_secret_expires_at, the old secret signs too, after the new one:
 * webhook-signature "v1,<new> v1,<old>" (space-separated, as the Standard
 * Webhooks spec lists signatures); the hookstream header
 * "<prefix><new>, <prefix><old>" (an HTTP list). From then on the new one
 * alone (docs/api.md "Rotating a signing secret").
 * Secrets are wiped from memory after use (OPENSSL_cleanse).
 */
#ifndef HS_SIGNING_H
#define HS_SIGNING_H

#include <jansson.h>
#include <stdint.h>

#include "base/error.h"
#include "http/outbound.h"

/* Add the signature headers of the validated `signing` object (a JSON
 * object as stored in the destination doc; NULL or json null: nothing to do)
 * for this body to req. msg_id is the delivery id (standard_webhooks
 * webhook-id); unix_ts the signing time in seconds. Builders call this
 * last, so a header of the same name added before (X-hookstream-Timestamp
 * as timestamp_header) gives way to the signature's
 * (hs_out_req_unique_headers). */
int hs_sign_request(const json_t *signing, const char *msg_id, uint64_t unix_ts, hs_out_req *req, hs_error *err);

/* The bare signature value for the hookstream scheme, for tests and docs:
 * hex HMAC of payload into out (>= 129 bytes). algorithm "sha256"|"sha1". */
int hs_sign_hmac_hex(const char *algorithm, const void *key, size_t key_len, const void *payload, size_t payload_len,
                     char *out, size_t out_cap);

#endif
