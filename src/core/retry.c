#include "core/retry.h"

#include <string.h>
#include <strings.h>
#include <time.h>

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

/* ---- Retry-After ---------------------------------------------------------- */

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
/* the rest of each day's name in the RFC 850 form, after its first 3 letters */
static const char *const day_rests[] = {"day", "sday", "nesday", "rsday", "day", "urday", "day"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Consumes lit (exact case, as RFC 9110 spells every part) at *p. */
static bool eat(const char **p, const char *lit) {
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0) return false;
    *p += n;
    return true;
}

/* Exactly n digits. */
static bool eat_num(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/* Index of the 3-letter name at *p in names (n of them), or -1. */
static int eat_name(const char **p, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strncmp(*p, names[i], 3) == 0) {
            *p += 3;
            return i;
        }
    return -1;
}

/* time-of-day = hour ":" minute ":" second, then " GMT" unless asctime. */
static bool eat_time(const char **p, struct tm *tm) {
    return eat_num(p, 2, &tm->tm_hour) && eat(p, ":") && eat_num(p, 2, &tm->tm_min) && eat(p, ":") &&
           eat_num(p, 2, &tm->tm_sec);
}

static int month_days(int year, int mon) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[mon] + (mon == 1 && leap);
}

/* An HTTP-date as seconds since the epoch (RFC 9110 §5.6.7):
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994 */
static bool http_date(const char *s, uint64_t now_ms, int64_t *secs) {
    const char *p = s;
    struct tm tm = {0};
    int wday = eat_name(&p, day_names, 7), year = 0;
    if (wday < 0) return false;
    bool ok;
    if (eat(&p, ", ")) { /* IMF-fixdate */
        ok = eat_num(&p, 2, &tm.tm_mday) && eat(&p, " ") && (tm.tm_mon = eat_name(&p, month_names, 12)) >= 0 &&
             eat(&p, " ") && eat_num(&p, 4, &year) && eat(&p, " ") && eat_time(&p, &tm) && eat(&p, " GMT");
    } else if (eat(&p, " ")) { /* asctime: the day is 2DIGIT or SP DIGIT */
        ok = (tm.tm_mon = eat_name(&p, month_names, 12)) >= 0 && eat(&p, " ") &&
             (eat(&p, " ") ? eat_num(&p, 1, &tm.tm_mday) : eat_num(&p, 2, &tm.tm_mday)) && eat(&p, " ") &&
             eat_time(&p, &tm) && eat(&p, " ") && eat_num(&p, 4, &year);
    } else { /* RFC 850, two-digit year */
        ok = eat(&p, day_rests[wday]) && eat(&p, ", ") && eat_num(&p, 2, &tm.tm_mday) && eat(&p, "-") &&
             (tm.tm_mon = eat_name(&p, month_names, 12)) >= 0 && eat(&p, "-") && eat_num(&p, 2, &year) &&
             eat(&p, " ") && eat_time(&p, &tm) && eat(&p, " GMT");
        if (ok) {
            /* §5.6.7: a year more than 50 years ahead is the most recent
             * past one with the same last two digits */
            int now_year = 1970 + (int)(now_ms / 1000 / 31556952); /* mean Gregorian year; ±1 day */
            year += now_year - now_year % 100;
            if (year > now_year + 50) year -= 100;
        }
    }
    if (!ok || *p) return false;
    if (tm.tm_mday < 1 || tm.tm_mday > month_days(year, tm.tm_mon) || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return false;
    tm.tm_year = year - 1900;
    *secs = (int64_t)timegm(&tm); /* years 0..9999: no overflow with a 64-bit time_t */
    return true;
}

bool hs_retry_after_parse(const char *value, uint64_t now_ms, uint64_t *ms) {
    if (!value || !*value) return false;
    const uint64_t max_ms = (uint64_t)HS_RETRY_AFTER_MAX_S * 1000u;
    if (value[0] >= '0' && value[0] <= '9') {
        uint64_t s = 0;
        for (const char *p = value; *p; p++) {
            if (*p < '0' || *p > '9') return false;
            if (s <= HS_RETRY_AFTER_MAX_S) s = s * 10 + (uint64_t)(*p - '0'); /* past the cap it stays there */
        }
        *ms = s >= HS_RETRY_AFTER_MAX_S ? max_ms : s * 1000u;
        return true;
    }
    int64_t at;
    if (!http_date(value, now_ms, &at)) return false;
    if (at <= 0 || (uint64_t)at * 1000u <= now_ms)
        *ms = 0;
    else
        *ms = (uint64_t)at * 1000u - now_ms < max_ms ? (uint64_t)at * 1000u - now_ms : max_ms;
    return true;
}

uint64_t hs_retry_after_ms(int status, const char *value, uint64_t now_ms) {
    uint64_t ms = 0;
    if ((status == 429 || status == 503) && hs_retry_after_parse(value, now_ms, &ms)) return ms;
    return 0;
}

uint64_t hs_retry_wait_ms(const hs_retry_policy *p, int k, uint64_t asked_ms) {
    uint64_t d = hs_retry_delay_ms(p, k);
    return asked_ms > d ? asked_ms : d;
}
