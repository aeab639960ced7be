/* bench/hist.h — the latency histogram of bench/loadgen and
 * bench/e2e_receiver (one piece of code for both), and their clocks.
 *
 * Log-linear buckets over nanoseconds (the idea of HdrHistogram, written
 * small): a value below 128 ns has a bucket of its own; above, each power
 * of two [2^m, 2^(m+1)) is cut into 128 equal buckets, so a bucket is at
 * most 1/128 (0.8%) of its values wide, and a percentile, read as its
 * bucket's middle, is within 0.4%. Up to 2^40 ns (18 minutes); a larger
 * value counts in the last bucket. The maximum is kept exactly. 4,352
 * counters (34 KiB); adding a value is a count of leading zeros and a
 * shift. */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_TOP_BITS 40
#define HIST_BUCKETS (HIST_SUB + (HIST_TOP_BITS - HIST_SUB_BITS) * HIST_SUB)

typedef struct {
    uint64_t n[HIST_BUCKETS];
    uint64_t count, max;
} hist;

static inline uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void hist_reset(hist *h) { memset(h, 0, sizeof *h); }

static inline unsigned hist_index(uint64_t v) {
    if (v < HIST_SUB) return (unsigned)v;
    if (v >> HIST_TOP_BITS) return HIST_BUCKETS - 1;
    unsigned shift = 63 - (unsigned)__builtin_clzll(v) - HIST_SUB_BITS; /* 0 .. 32 */
    return HIST_SUB + shift * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* the middle of bucket i */
static inline uint64_t hist_value(unsigned i) {
    if (i < HIST_SUB) return i;
    unsigned shift = (i - HIST_SUB) / HIST_SUB, sub = (i - HIST_SUB) % HIST_SUB;
    return ((uint64_t)(HIST_SUB + sub) << shift) + ((1ull << shift) >> 1);
}

static inline void hist_add(hist *h, uint64_t v) {
    h->n[hist_index(v)]++;
    h->count++;
    if (v > h->max) h->max = v;
}

/* the value at quantile q (0 < q <= 1): the smallest v with at least
 * ceil(q * count) values at or below its bucket; 0 when empty */
static inline uint64_t hist_quantile(const hist *h, double q) {
    if (!h->count) return 0;
    double want = ceil(q * (double)h->count - 1e-9);
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->n[i];
        if ((double)seen >= want) {
            uint64_t v = hist_value(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* "p50=0.412 p99=1.203 p99.9=3.100 max=5.200" in milliseconds, or as JSON
 * members ("p50":0.412,...) when json is set */
static inline int hist_format(const hist *h, int json, char *out, size_t size) {
    const char *f =
        json ? "\"p50\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,\"max\":%.3f" : "p50=%.3f p99=%.3f p99.9=%.3f max=%.3f";
    return snprintf(out, size, f, hist_quantile(h, 0.50) / 1e6, hist_quantile(h, 0.99) / 1e6,
                    hist_quantile(h, 0.999) / 1e6, h->max / 1e6);
}

#endif
