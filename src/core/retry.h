/* src/core/retry.h — when a failed delivery is tried again (docs/scheduler.md).
 *
 * Attempt 1 is immediate. Retry k (k = 1..max_retries) waits
 *   exponential: intervals[min(k-1, n-1)]
 *   linear:      intervals[0] * k
 *   fixed:       intervals[0]
 * seconds after the failed attempt. After 1 + max_retries failed attempts
 * the delivery is dead-lettered. A 429 or 503 carrying Retry-After may make
 * the wait longer (hs_retry_wait_ms), never shorter. Pure functions.
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

/* The defaults of docs/api.md: 5 retries, exponential, 30 s .. 1 day. */
void hs_retry_policy_default(hs_retry_policy *p);
/* From a validated destination's "retry_policy" object; missing members keep
 * their defaults. */
void hs_retry_policy_from_json(const json_t *rp, hs_retry_policy *p);
/* Delay in ms before retry k (1-based); 0 for k < 1. */
uint64_t hs_retry_delay_ms(const hs_retry_policy *p, int k);
/* After `failed` failed attempts, is there another one? */
bool hs_retry_more(const hs_retry_policy *p, int failed);

/* Retry-After (RFC 9110 §10.2.3) on a 429 or 503 may lengthen the wait
 * before the next attempt, never shorten it, and by at most this much: a
 * receiver (or whoever answers for it) may not park a delivery, and a
 * strict destination's whole queue behind it, for longer than an hour per
 * attempt. The destination's own policy (up to a day by default) is
 * unaffected; the attempt count still dead-letters after 1 + max_retries. */
#define HS_RETRY_AFTER_MAX_S 3600

/* A Retry-After value as a wait in ms from now_ms: delay-seconds (1*DIGIT,
 * any number of digits) or an HTTP-date (IMF-fixdate, or the obsolete RFC
 * 850 and asctime forms of RFC 9110 §5.6.7), clamped to
 * HS_RETRY_AFTER_MAX_S; a date already past is 0. false, *ms untouched,
 * for anything else (a sign, a fraction, junk, an impossible date). */
bool hs_retry_after_parse(const char *value, uint64_t now_ms, uint64_t *ms);
/* What a response with this status and Retry-After value (NULL when none)
 * asks the next attempt to wait: hs_retry_after_parse's wait on a 429 or a
 * 503, 0 otherwise. */
uint64_t hs_retry_after_ms(int status, const char *value, uint64_t now_ms);
/* The wait before retry k (1-based): the policy's delay, or what the
 * receiver asked (hs_retry_after_ms) when that is longer. */
uint64_t hs_retry_wait_ms(const hs_retry_policy *p, int k, uint64_t asked_ms);

#endif
