#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t hs_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hs_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hs_iso8601(uint64_t ms, char *out) {
    /* every delivery stamps one (X-hookstream-Timestamp): the seconds part
     * is formatted once per second and thread, not per call */
    static _Thread_local time_t cached_secs = -1;
    static _Thread_local char cached[HS_ISO8601_MAX];
    static _Thread_local size_t cached_len;
    time_t secs = (time_t)(ms / 1000);
    if (secs != cached_secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        /* strftime rather than snprintf("%04d..."): the year is bounded by
         * the caller's clock, but gcc cannot prove it and
         * -Wformat-truncation fires. */
        cached_len = strftime(cached, HS_ISO8601_MAX - 5, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_secs = secs;
    }
    size_t n = cached_len;
    memcpy(out, cached, n);
    unsigned frac = (unsigned)(ms % 1000);
    out[n++] = '.';
    out[n++] = (char)('0' + frac / 100);
    out[n++] = (char)('0' + frac / 10 % 10);
    out[n++] = (char)('0' + frac % 10);
    out[n++] = 'Z';
    out[n] = '\0';
}

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool hs_parse_time(const char *s, uint64_t *ms) {
    if (!s || !*s) return false;
    size_t n = strlen(s);
    bool all_digits = true;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) all_digits = false;
    if (all_digits) {
        if (n > 15) return false;
        *ms = strtoull(s, NULL, 10);
        return true;
    }
    int Y, M, D, h = 0, m = 0, sec = 0;
    if (n < 10 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' || !digits(s + 8, 2, &D))
        return false;
    const char *p = s + 10;
    unsigned frac_ms = 0;
    long offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &m)) return false;
        p += 5;
        if (*p == ':') {
            if (!digits(p + 1, 2, &sec)) return false;
            p += 3;
        }
        if (*p == '.') {
            p++;
            unsigned scale = 100;
            if (!isdigit((unsigned char)*p)) return false;
            while (isdigit((unsigned char)*p)) {
                frac_ms += (unsigned)(*p - '0') * scale;
                scale /= 10;
                p++;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (!digits(p + 1, 2, &oh)) return false;
            const char *q = p + 3;
            if (*q == ':') q++;
            if (!digits(q, 2, &om)) return false;
            offset_s = sign * (oh * 3600L + om * 60L);
            p = q + 2;
        } else if (*p) {
            return false;
        }
    }
    if (*p) return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t < 0) return false;
    *ms = (uint64_t)(t - offset_s) * 1000u + frac_ms;
    return true;
}
