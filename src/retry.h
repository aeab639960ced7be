/* retry.h — when a failed delivery is tried again (DESIGN.md §4).
 *
 * Attempt 1 is immediate. Retry k (k = 1..max_retries) waits
 *   exponential: intervals[min(k-1, n-1)]
 *   linear:      intervals[0] * k
 *   fixed:       intervals[0]
 * seconds after the failed attempt. After 1 + max_retries failed attempts
 * the delivery is dead-lettered. Pure functions.
 */
#ifndef HS_RETRY_H
#define HS_RETRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_RETRY_MAX_INTERVALS 20

typedef enum { HS_BACKOFF_EXPONENTIAL = 0, HS_BACKOFF_LINEAR, HS_BACKOFF_FIXED } hs_backoff;

typedef struct hs_retry_policy {
    int max_retries;
    hs_backoff backoff;
    uint32_t intervals[HS_RETRY_MAX_INTERVALS]; /* seconds */
    size_t nintervals;
} hs_retry_policy;

/* The defaults of DESIGN.md §3: 5 retries, exponential, 30 s .. 1 day. */
void hs_retry_policy_default(hs_retry_policy *p);
/* From a validated destination's "retry_policy" object; missing members keep
 * their defaults. */
void hs_retry_policy_from_json(const json_t *rp, hs_retry_policy *p);
/* Delay in ms before retry k (1-based); 0 for k < 1. */
uint64_t hs_retry_delay_ms(const hs_retry_policy *p, int k);
/* After `failed` failed attempts, is there another one? */
bool hs_retry_more(const hs_retry_policy *p, int failed);

#endif
