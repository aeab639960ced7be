/* src/api/frontdoor.h — a source's front door on the ingest path: its IP
 * lists (403) and its rate limit (429), checked on the loop thread a
 * request arrived on, before anything is queued for the writer (the first
 * two steps of ingest, docs/api.md "The front door"); and the source's
 * signature verifier (src/verify/verify.h), compiled JSON Schema
 * (lib/jsonschema) and deduplication settings (api/dedup.h), handed to
 * ingest for the third to fifth steps (401, 422, duplicates), run outside
 * the lock.
 *
 * The settings live in memory: loaded from the store once at start, then
 * kept current by the resource hook (src/core/hooks.h), which fires on
 * loop 0 before the API answers a create, PATCH or DELETE, so a client
 * holding its 2xx sees the new settings applied on every loop. A request
 * never reads the store here. Only sources that have an IP list, a rate
 * limit, verification, a schema or deduplication are held; a disabled one is not (ingest answers 404 for it anyway).
 *
 * Threads: ingest is answered on every loop thread, so the table and the
 * token buckets are shared by all of them under one mutex, held for a map
 * lookup, the list matches and the bucket arithmetic (no I/O, no
 * allocation). One bucket per source, not one per loop: a client on one
 * keep-alive connection is served by one loop, and a per-loop bucket with
 * the rate divided by the loops would refuse it at a fraction of its limit.
 * The bucket is exact to the nanosecond clock (uv_hrtime) within one
 * process; several processes (nodes) each hold their own.
 *
 * Ownership: hs_frontdoor_new copies the trusted proxies; the frontdoor
 * owns its table; hs_frontdoor_free after the last loop stopped.
 */
#ifndef HS_FRONTDOOR_H
#define HS_FRONTDOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/dedup.h"
#include "base/cidr.h"
#include "base/error.h"
#include "base/id.h"
#include "core/hooks.h"
#include "http/server.h"
#include "store/store.h"
#include "jsonschema/jsonschema.h"
#include "verify/verify.h"

/* X-Forwarded-For entries looked at, from the right; beyond them the
 * address is the last one looked at (all of them trusted proxies). */
#define HS_FRONTDOOR_XFF_MAX 32

typedef struct hs_frontdoor hs_frontdoor;

/* Loads every source's settings from store (at start, before the loops
 * serve). trusted: --trusted-proxies, copied (n may be 0). */
int hs_frontdoor_new(hs_store *store, const hs_cidr *trusted, size_t ntrusted, hs_frontdoor **out, hs_error *err);
void hs_frontdoor_free(hs_frontdoor *fd);

/* The resource hook's subscriber (loop 0): a source created, updated or
 * deleted replaces its settings at once. */
void hs_frontdoor_on_resource(const hs_resource_event *e, void *ud);

/* The client's address: the TCP peer's (req->remote_ip, as given), unless
 * the peer is a trusted proxy and the request has X-Forwarded-For: then the
 * right-most address of that header (all its lines, in order) that is not
 * itself a trusted proxy; an entry that is not an address ends the walk at
 * the trusted address to its right. Without trusted proxies the header is
 * ignored (anyone can write it). */
void hs_frontdoor_client_ip(const hs_frontdoor *fd, const hs_http_req *req, char out[HS_CIDR_TEXT_MAX]);

/* A source's compiled JSON Schema, shared by the front door and the
 * requests being checked against it (the source may change meanwhile). */
typedef struct hs_frontdoor_schema {
    int refs; /* atomic */
    hs_jsonschema *compiled;
    bool warn; /* schema_action warn: an invalid body is stored, marked schema_invalid */
} hs_frontdoor_schema;
/* Drops a reference (NULL is fine); the last frees. Any thread. */
void hs_frontdoor_schema_release(hs_frontdoor_schema *s);

typedef struct hs_frontdoor_verdict {
    int status;                /* 0: pass; 403 or 429 */
    const char *error;         /* the JSON error's message (static) */
    const char *reason;        /* the metrics' label: "ip_denied", "ip_not_allowed", "rate_limited" */
    char source_id[HS_ID_MAX]; /* the source's id when this node has heard of it (not disabled), else "" */
    /* pass only: the source's verifier with a reference for the caller
     * (hs_verifier_unref), NULL when it verifies nothing */
    hs_verifier *verifier;
    /* pass only: the source's schema with a reference for the caller
     * (hs_frontdoor_schema_release), NULL when it validates nothing */
    hs_frontdoor_schema *schema;
    /* pass only: the source's deduplication (strategy HS_DEDUP_OFF: none) */
    hs_dedup dedup;
    /* 429 only: whole seconds, rounded up */
    uint64_t retry_after_s; /* until one request fits */
    uint64_t limit;         /* the burst: requests the bucket holds */
    uint64_t remaining;     /* requests that would pass now (0) */
    uint64_t reset_s;       /* until the bucket is full again */
} hs_frontdoor_verdict;

/* The front door of the source named by ref (an id or a slug, ref[0..len))
 * for a request from client_ip: deny list, then allow list, then the rate
 * limit (a passing request takes one token); a passing request gets the
 * source's verifier and schema. Any loop thread. */
void hs_frontdoor_check(hs_frontdoor *fd, const char *ref, size_t len, const char *client_ip, hs_frontdoor_verdict *v);

/* Does the front door hold settings for the source with this id (loop 0:
 * a refusal that arrives after its source was deleted is not counted, so
 * a deleted source's series do not come back). Any thread. */
bool hs_frontdoor_knows(hs_frontdoor *fd, const char *id);

#endif
