#include "base/id.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/timeutil.h"

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static unsigned char last_rand[10]; /* 80 bits */

void hs_random_bytes(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) abort(); /* no entropy: nothing safe to do */
        p += r;
        n -= (size_t)r;
    }
}

void hs_hex(const void *data, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void increment(unsigned char *r, size_t n) {
    for (size_t i = n; i-- > 0;)
        if (++r[i] != 0) return;
}

void hs_id_new_at(const char *prefix, uint64_t ms, char *out) {
    unsigned char r[10];
    pthread_mutex_lock(&id_lock);
    if (ms <= last_ms) {
        /* same (or earlier: clock stepped back) millisecond: keep order */
        ms = last_ms;
        increment(last_rand, sizeof last_rand);
    } else {
        last_ms = ms;
        hs_random_bytes(last_rand, sizeof last_rand);
        last_rand[0] &= 0x7f; /* headroom so increments never wrap */
    }
    memcpy(r, last_rand, sizeof r);
    pthread_mutex_unlock(&id_lock);
    hs_id_compose(prefix, ms, r, out);
}

void hs_id_compose(const char *prefix, uint64_t ms, const unsigned char tail[10], char *out) {
    /* 48 bits of ms then the 80 bits, big-endian, so ids sort by time; by
     * hand rather than snprintf: two ids per ingested event */
    unsigned char raw[16];
    for (int i = 0; i < 6; i++) raw[i] = (unsigned char)(ms >> (8 * (5 - i)));
    memcpy(raw + 6, tail, 10);
    size_t pl = strnlen(prefix, HS_ID_MAX - 2 * sizeof raw - 1);
    memcpy(out, prefix, pl);
    hs_hex(raw, sizeof raw, out + pl);
}

void hs_id_copy(char *dst, const char *src) {
    size_t n = src ? strnlen(src, HS_ID_MAX - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

void hs_id_new(const char *prefix, char *out) { hs_id_new_at(prefix, hs_now_ms(), out); }

bool hs_id_valid(const char *prefix, const char *s) {
    if (!s) return false;
    size_t pl = strlen(prefix);
    if (strncmp(s, prefix, pl) != 0) return false;
    s += pl;
    for (int i = 0; i < HS_ID_HEX; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return s[HS_ID_HEX] == '\0';
}

uint64_t hs_id_time_ms(const char *s) {
    const char *u = s ? strchr(s, '_') : NULL;
    if (!u) return 0;
    char t[13];
    memcpy(t, u + 1, 12);
    t[12] = '\0';
    if (strlen(u + 1) < 12) return 0;
    return strtoull(t, NULL, 16);
}
