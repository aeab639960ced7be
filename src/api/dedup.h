/* src/api/dedup.h — a source's deduplication: its settings, and the key an
 * ingested request is known by (docs/receiving.md "Deduplication").
 *
 * The key is the SHA-256 (hex) of what the strategy names: payload_hash,
 * the body's bytes; header_field, the value of a header (its lines joined
 * as headers_json joins them); body_field, the value at a dot path of the
 * JSON body (a string's characters, anything else its compact JSON text).
 * A request without that header or field has no key and is never a
 * duplicate. The store decides, in the ingest's transaction, whether the
 * key is already held (store.h "ingest").
 *
 * Threads: any loop thread; nothing here is shared or allocated for long.
 */
#ifndef HS_API_DEDUP_H
#define HS_API_DEDUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/server.h"
#include "store/store.h"

#define HS_DEDUP_FIELD_MAX 256

typedef enum hs_dedup_strategy {
    HS_DEDUP_OFF = 0,
    HS_DEDUP_PAYLOAD_HASH,
    HS_DEDUP_HEADER_FIELD,
    HS_DEDUP_BODY_FIELD,
} hs_dedup_strategy;

typedef struct hs_dedup {
    hs_dedup_strategy strategy;
    char field[HS_DEDUP_FIELD_MAX + 1];
    uint64_t window_ms;
} hs_dedup;

/* A validated source doc's settings (strategy HS_DEDUP_OFF when
 * dedup_enabled is not true). */
void hs_dedup_of(const json_t *doc, hs_dedup *out);

/* req's key under d into out: false when it has none. body: the request's
 * body parsed (NULL when it is not JSON), read by body_field only. */
bool hs_dedup_key(const hs_dedup *d, const hs_http_req *req, const json_t *body, char out[HS_DEDUP_KEY_MAX]);

#endif
