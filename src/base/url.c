#include "base/url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"

static int fail(const char **why, const char *phrase) {
    *why = phrase;
    return HS_ERR_INVALID;
}

/* Printable ASCII only: spaces, controls and raw non-ASCII bytes must be
 * percent-encoded, otherwise the request line we send would be ambiguous. */
static bool printable_ascii(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f) return false;
    return true;
}

static const char *parse_scheme(const char *s, hs_url *u) {
    if (strncasecmp(s, "http://", 7) == 0) {
        u->https = false;
        u->port = 80;
        return s + 7;
    }
    if (strncasecmp(s, "https://", 8) == 0) {
        u->https = true;
        u->port = 443;
        return s + 8;
    }
    return NULL;
}

static bool host_char(char c, bool bracketed) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (bracketed) return c == ':' || c == '.'; /* IPv6 (with an embedded IPv4 tail) */
    return c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

static int parse_port(const char *p, const char *end, hs_url *u, const char **why) {
    unsigned long port = 0;
    if (p == end) return fail(why, "has an empty port");
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return fail(why, "has an invalid port");
        port = port * 10 + (unsigned long)(*p - '0');
        if (port > 65535) return fail(why, "has a port above 65535");
    }
    if (port == 0) return fail(why, "has port 0");
    u->port = (unsigned)port;
    return HS_OK;
}

/* authority = host [":" port], without userinfo (checked by the caller). */
static int parse_authority(const char *a, const char *end, hs_url *u, const char **why) {
    const char *h = a, *hend, *colon;
    bool bracketed = *a == '[';
    if (bracketed) {
        h = a + 1;
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend) return fail(why, "has an unterminated IPv6 address");
        colon = hend + 1 < end ? hend + 1 : NULL;
        if (colon && *colon != ':') return fail(why, "has an invalid host");
    } else {
        colon = memchr(a, ':', (size_t)(end - a));
        hend = colon ? colon : end;
    }
    if (hend == h) return fail(why, "has no host");
    if ((size_t)(hend - h) > HS_URL_HOST_MAX) return fail(why, "has a host name that is too long");
    for (const char *p = h; p < hend; p++)
        if (!host_char(*p, bracketed)) return fail(why, "has an invalid host");
    memcpy(u->host, h, (size_t)(hend - h));
    u->host[hend - h] = '\0';
    return colon ? parse_port(colon + 1, end, u, why) : HS_OK;
}

int hs_url_parse(const char *s, hs_url *u, const char **why) {
    memset(u, 0, sizeof *u);
    if (strlen(s) > HS_URL_MAX) return fail(why, "is longer than 2048 characters");
    if (!printable_ascii(s)) return fail(why, "must not contain spaces, control or non-ASCII characters");
    const char *a = parse_scheme(s, u);
    if (!a) return fail(why, "must be an http:// or https:// URL");
    if (strchr(s, '#')) return fail(why, "must not contain a fragment (#...)");
    const char *end = a + strcspn(a, "/?");
    if (memchr(a, '@', (size_t)(end - a)))
        return fail(why, "must not contain credentials (user:password@); use the auth settings");
    int rc = parse_authority(a, end, u, why);
    if (rc) return rc;
    u->rest = end;
    return HS_OK;
}

void hs_url_redact(const char *url, char *out, size_t cap) {
    snprintf(out, cap, "%s", url);
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *user = scheme + 3, *at = strchr(user, '@'), *slash = strchr(user, '/');
        char *colon = strchr(user, ':');
        if (at && (!slash || at < slash) && colon && colon < at) {
            size_t tail = strlen(at);
            if ((size_t)(colon + 1 - out) + 3 + tail < cap) {
                memmove(colon + 4, at, tail + 1);
                memcpy(colon + 1, "***", 3);
            }
        }
    }
    for (char *pw = strstr(out, "password="); pw; pw = strstr(pw + 1, "password=")) {
        char *v = pw + 9, *end = strchr(v, '&');
        size_t tail = end ? strlen(end) : 0;
        if ((size_t)(v - out) + 3 + tail < cap) {
            if (end) memmove(v + 3, end, tail + 1);
            memcpy(v, "***", 3);
            if (!end) v[3] = '\0';
        }
    }
}
