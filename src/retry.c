#include "retry.h"

#include <string.h>

static const uint32_t default_intervals[] = {30, 300, 1800, 7200, 86400};

void hs_retry_policy_default(hs_retry_policy *p) {
    memset(p, 0, sizeof *p);
    p->max_retries = 5;
    p->backoff = HS_BACKOFF_EXPONENTIAL;
    p->nintervals = sizeof default_intervals / sizeof default_intervals[0];
    memcpy(p->intervals, default_intervals, sizeof default_intervals);
}

void hs_retry_policy_from_json(const json_t *rp, hs_retry_policy *p) {
    hs_retry_policy_default(p);
    if (!json_is_object(rp)) return;
    json_t *v = json_object_get(rp, "max_retries");
    if (json_is_integer(v) && json_integer_value(v) >= 0) p->max_retries = (int)json_integer_value(v);
    const char *b = json_string_value(json_object_get(rp, "backoff_type"));
    if (b && strcmp(b, "linear") == 0)
        p->backoff = HS_BACKOFF_LINEAR;
    else if (b && strcmp(b, "fixed") == 0)
        p->backoff = HS_BACKOFF_FIXED;
    json_t *iv = json_object_get(rp, "intervals");
    if (json_is_array(iv) && json_array_size(iv) > 0) {
        size_t n = json_array_size(iv);
        if (n > HS_RETRY_MAX_INTERVALS) n = HS_RETRY_MAX_INTERVALS;
        for (size_t i = 0; i < n; i++) {
            json_int_t s = json_integer_value(json_array_get(iv, i));
            p->intervals[i] = s > 0 ? (uint32_t)s : 1;
        }
        p->nintervals = n;
    }
}

uint64_t hs_retry_delay_ms(const hs_retry_policy *p, int k) {
    if (k < 1 || p->nintervals == 0) return 0;
    uint64_t s;
    switch (p->backoff) {
    case HS_BACKOFF_LINEAR: s = (uint64_t)p->intervals[0] * (uint64_t)k; break;
    case HS_BACKOFF_FIXED: s = p->intervals[0]; break;
    default: {
        size_t i = (size_t)(k - 1);
        if (i >= p->nintervals) i = p->nintervals - 1;
        s = p->intervals[i];
    }
    }
    return s * 1000u;
}

bool hs_retry_more(const hs_retry_policy *p, int failed) { return failed < 1 + p->max_retries; }
