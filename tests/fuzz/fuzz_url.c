/* fuzz_url.c — destination URL parsing (src/base/url.c) and the SSRF guard's
 * address classification (src/http/netguard.c, hs_netguard_classify).
 *
 * Input: a URL. Its first byte also picks a second job: when it is '\x01'
 * ('\x02'), the next 4 (16) bytes are an IPv4 (IPv6) address for classify;
 * otherwise the URL is parsed, and an IP-literal host is classified.
 *
 * Checked besides the sanitizers: an accepted URL has a scheme, a host of
 * host characters, a port in 1..65535, no userinfo and no fragment, and
 * rest inside the string at a '/' or '?' or its end; a refusal comes with a
 * reason. classify agrees with an independent list of the ranges that must
 * never pass (loopback, RFC 1918, link-local, unique local, unspecified,
 * multicast) and judges an IPv4-mapped IPv6 address like the IPv4 one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "fuzz_util.h"
#include "http/netguard.h"
#include "base/url.h"

static bool must_refuse4(const uint8_t a[4]) {
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) || a[0] >= 224 ||
           (a[0] == 100 && (a[1] & 0xc0) == 64);
}

static bool must_refuse6(const uint8_t b[16]) {
    static const uint8_t zero[16];
    static const uint8_t loop[16] = {[15] = 1};
    return memcmp(b, zero, 16) == 0 || memcmp(b, loop, 16) == 0 || (b[0] & 0xfe) == 0xfc ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
}

static const char *classify4(const uint8_t a[4]) {
    struct sockaddr_in in = {.sin_family = AF_INET};
    memcpy(&in.sin_addr, a, 4);
    return hs_netguard_classify((const struct sockaddr *)&in);
}

static const char *classify6(const uint8_t b[16]) {
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    memcpy(&in6.sin6_addr, b, 16);
    return hs_netguard_classify((const struct sockaddr *)&in6);
}

static void check4(const uint8_t a[4]) {
    const char *why = classify4(a);
    if (must_refuse4(a)) FZ_ASSERT(why != NULL);
    uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff};
    memcpy(mapped + 12, a, 4);
    const char *why6 = classify6(mapped);
    FZ_ASSERT((why == NULL) == (why6 == NULL));
}

static void check6(const uint8_t b[16]) {
    const char *why = classify6(b);
    if (must_refuse6(b)) FZ_ASSERT(why != NULL);
}

static bool host_ok(const char *h) {
    if (!*h) return false;
    for (const char *p = h; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("@/?#[]", *p)) return false;
    return true;
}

static void parse(const char *s) {
    hs_url u;
    const char *why = NULL;
    if (hs_url_parse(s, &u, &why) != HS_OK) {
        FZ_ASSERT(why != NULL && why[0] != '\0');
        return;
    }
    size_t n = strlen(s);
    FZ_ASSERT(n <= HS_URL_MAX);
    FZ_ASSERT(strncasecmp(s, u.https ? "https://" : "http://", u.https ? 8 : 7) == 0);
    FZ_ASSERT(host_ok(u.host));
    FZ_ASSERT(u.port >= 1 && u.port <= 65535);
    FZ_ASSERT(u.rest >= s && u.rest <= s + n);
    FZ_ASSERT(*u.rest == '\0' || *u.rest == '/' || *u.rest == '?');
    FZ_ASSERT(strchr(s, '#') == NULL);
    FZ_ASSERT(memchr(s, '@', (size_t)(u.rest - s)) == NULL);
    uint8_t a[16];
    if (inet_pton(AF_INET, u.host, a) == 1) check4(a);
    if (inet_pton(AF_INET6, u.host, a) == 1) check6(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 5 && data[0] == 1) check4(data + 1);
    if (size >= 17 && data[0] == 2) check6(data + 1);
    char *s = fz_copy((const char *)data, size);
    parse(s);
    hs_free(s);
    return 0;
}
