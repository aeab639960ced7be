/* lib/jsonschema/format.c — the "format" keyword's assertions: date-time,
 * date, time (RFC 3339), email, hostname, ipv4, ipv6, uri, uri-reference,
 * json-pointer, relative-json-pointer, regex. Any other format is accepted
 * (the drafts make unknown formats annotations). Pure functions. */
#include <arpa/inet.h>
#include <string.h>

#include "jsonschema/jsonschema_int.h"

static bool digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static bool date_ok(const char *s, size_t n) {
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2)) return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static bool time_ok(const char *s, size_t n) {
    if (n < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2) || !digits(s + 3, 2) || !digits(s + 6, 2)) return false;
    int h = num(s, 2), mi = num(s + 3, 2), se = num(s + 6, 2);
    size_t i = 8;
    if (s[i] == '.') {
        size_t j = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == j) return false;
    }
    int oh = 0, om = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2) || !digits(s + i + 4, 2)) return false;
        oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh > 23 || om > 59) return false;
        if (s[i] == '-') oh = -oh, om = -om;
        i += 6;
    } else {
        return false;
    }
    if (i != n || h > 23 || mi > 59 || se > 60) return false;
    if (se == 60) { /* a leap second is 23:59:60 in UTC */
        int utc = ((h * 60 + mi - (oh * 60 + om)) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59) return false;
    }
    return true;
}

static bool hostname_ok(const char *s, size_t n) {
    if (n == 0 || n > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return false;
            label = 0;
            continue;
        }
        char c = s[i];
        if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') && c != '-') return false;
        label++;
    }
    return true;
}

static bool ipv4_ok(const char *s, size_t n) {
    int parts = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++;
        if (j == i || j - i > 3 || (j - i > 1 && s[i] == '0') || num(s + i, j - i) > 255) return false;
        parts++;
        if (j == n) break;
        if (s[j] != '.') return false;
        i = j + 1;
    }
    return parts == 4;
}

static bool ipv6_ok(const char *s, size_t n) {
    char b[64];
    unsigned char addr[16];
    if (n >= sizeof b) return false;
    memcpy(b, s, n);
    b[n] = 0;
    return inet_pton(AF_INET6, b, addr) == 1;
}

static bool email_ok(const char *s, size_t n) {
    const char *at = memchr(s, '@', n);
    if (!at || memchr(at + 1, '@', n - (size_t)(at - s) - 1)) return false;
    size_t ln = (size_t)(at - s);
    if (ln == 0 || s[0] == '.' || s[ln - 1] == '.') return false;
    for (size_t i = 0; i < ln; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || strchr("()<>[]:;@\\,\"", c) || (c == '.' && s[i + 1] == '.')) return false;
    }
    const char *d = at + 1;
    size_t dn = n - ln - 1;
    if (dn > 2 && d[0] == '[' && d[dn - 1] == ']') {
        if (dn > 7 && !strncmp(d + 1, "IPv6:", 5)) return ipv6_ok(d + 6, dn - 7);
        return ipv4_ok(d + 1, dn - 2);
    }
    return hostname_ok(d, dn);
}

/* 0 for a hex digit (and not NUL) */
static int hexdigit(char c) { return !(c && strchr("0123456789abcdefABCDEF", c)); }

/* the characters a URI may hold, %XX escapes checked */
static bool uri_chars(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || hexdigit(s[i + 1]) || hexdigit(s[i + 2])) return false;
            i += 2;
            continue;
        }
        if (c <= ' ' || c >= 0x7f || strchr("\"<>\\^`{|}", c)) return false;
    }
    const char *h = memchr(s, '#', n);
    return !h || !memchr(h + 1, '#', n - (size_t)(h - s) - 1);
}

static size_t scheme_len(const char *s, size_t n) {
    size_t i = 0;
    if (!n || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) return 0;
    while (i < n &&
           (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9') || strchr("+-.", s[i])))
        i++;
    return i < n && s[i] == ':' ? i : 0;
}

static bool uri_ok(const char *s, size_t n, bool absolute) {
    size_t sl = scheme_len(s, n);
    if (absolute && !sl) return false;
    if (!uri_chars(s, n)) return false;
    /* an authority's port is digits only */
    if (sl && n > sl + 3 && s[sl + 1] == '/' && s[sl + 2] == '/') {
        size_t a = sl + 3, e = a;
        while (e < n && !strchr("/?#", s[e])) e++;
        const char *at = memchr(s + a, '@', e - a);
        if (at) a = (size_t)(at - s) + 1;
        const char *colon = (a < e && s[a] != '[') ? memchr(s + a, ':', e - a) : NULL;
        if (colon && !digits(colon + 1, (size_t)(s + e - colon - 1))) return false;
    }
    return true;
}

static bool pointer_ok(const char *s, size_t n) {
    if (n && s[0] != '/') return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '~' && (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
    return true;
}

static bool rel_pointer_ok(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == 0 || (i > 1 && s[0] == '0')) return false;
    if (i < n && s[i] == '#') return i + 1 == n;
    return pointer_ok(s + i, n - i);
}

static bool regex_ok(const char *s, size_t n) {
    char why[128];
    regex_t re;
    int rc = js_regex_compile(&re, s, n, why, sizeof why);
    if (!rc) regfree(&re);
    return rc != -2; /* a pattern this library cannot translate is not known to be invalid */
}

bool js_format_ok(const char *f, const char *s, size_t n) {
    if (!strcmp(f, "date-time")) {
        const char *t = n > 10 ? s + 10 : NULL;
        return t && (*t == 'T' || *t == 't') && date_ok(s, 10) && time_ok(t + 1, n - 11);
    }
    if (!strcmp(f, "date")) return date_ok(s, n);
    if (!strcmp(f, "time")) return time_ok(s, n);
    if (!strcmp(f, "email")) return email_ok(s, n);
    if (!strcmp(f, "hostname")) return hostname_ok(s, n);
    if (!strcmp(f, "ipv4")) return ipv4_ok(s, n);
    if (!strcmp(f, "ipv6")) return ipv6_ok(s, n);
    if (!strcmp(f, "uri")) return uri_ok(s, n, true);
    if (!strcmp(f, "uri-reference")) return uri_ok(s, n, false);
    if (!strcmp(f, "json-pointer")) return pointer_ok(s, n);
    if (!strcmp(f, "relative-json-pointer")) return rel_pointer_ok(s, n);
    if (!strcmp(f, "regex")) return regex_ok(s, n);
    return true;
}
