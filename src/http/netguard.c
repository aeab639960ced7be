/* src/http/netguard.c — the SSRF guard (see src/http/netguard.h). */
#include "http/netguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Set once before the first request; atomic so that a reader on another
 * thread (the threadpool's token requests) never sees a torn value. */
static atomic_bool g_allow_private;

void hs_netguard_allow_private(bool allow) { atomic_store(&g_allow_private, allow); }

bool hs_netguard_private_allowed(void) { return atomic_load(&g_allow_private); }

/* a, host order, against prefix/len */
static bool in4(uint32_t a, uint32_t prefix, int len) {
    uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    return (a & mask) == (prefix & mask);
}

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* IPv4 ranges that are not public unicast (IANA special-purpose registry),
 * first match wins. */
static const char *classify4(uint32_t a) {
    static const struct {
        uint32_t prefix;
        int len;
        const char *why;
    } ranges[] = {
        {V4(0, 0, 0, 0), 8, "an unspecified (\"this network\") address"},
        {V4(10, 0, 0, 0), 8, "a private address"},
        {V4(100, 64, 0, 0), 10, "a shared (carrier-grade NAT) address"},
        {V4(127, 0, 0, 0), 8, "a loopback address"},
        {V4(169, 254, 0, 0), 16, "a link-local address"},
        {V4(172, 16, 0, 0), 12, "a private address"},
        {V4(192, 0, 0, 0), 24, "a reserved address"},
        {V4(192, 0, 2, 0), 24, "a documentation address"},
        {V4(192, 88, 99, 0), 24, "a reserved (6to4 relay anycast) address"},
        {V4(192, 168, 0, 0), 16, "a private address"},
        {V4(198, 18, 0, 0), 15, "a benchmarking address"},
        {V4(198, 51, 100, 0), 24, "a documentation address"},
        {V4(203, 0, 113, 0), 24, "a documentation address"},
        {V4(224, 0, 0, 0), 4, "a multicast address"},
        {V4(255, 255, 255, 255), 32, "the broadcast address (reserved)"},
        {V4(240, 0, 0, 0), 4, "a reserved address"},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (in4(a, ranges[i].prefix, ranges[i].len)) return ranges[i].why;
    return NULL;
}

/* the IPv4 address in b[at..at+3] */
static uint32_t v4_at(const unsigned char *b, size_t at) {
    return ((uint32_t)b[at] << 24) | ((uint32_t)b[at + 1] << 16) | ((uint32_t)b[at + 2] << 8) | (uint32_t)b[at + 3];
}

/* the first len bits of b equal those of prefix */
static bool in6(const unsigned char *b, const unsigned char *prefix, int len) {
    int whole = len / 8, rest = len % 8;
    if (memcmp(b, prefix, (size_t)whole) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (b[whole] & mask) == (prefix[whole] & mask);
}

/* What an IPv6 range holds: nothing to look into, or an IPv4 address that
 * decides (where it sits depends on the form). */
enum embed {
    E_NONE,   /* refused as it is */
    E_LOW32,  /* the IPv4 address is the last 32 bits */
    E_6TO4,   /* bits 16..47 (RFC 3056) */
    E_TEREDO, /* server: bits 32..63; client: the last 32 bits inverted (RFC 4380) */
};

/* IPv6 ranges, first match wins: an IPv4 address carried inside IPv6 is
 * judged as IPv4 (a public one passes), the special-purpose ranges are
 * refused, and so is everything outside global unicast 2000::/3. */
static const char *classify6(const unsigned char *b) {
    static const struct {
        unsigned char prefix[16];
        int len;
        enum embed embed;
        const char *why; /* for E_NONE */
    } ranges[] = {
        {{0}, 128, E_NONE, "an unspecified address"},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, E_NONE, "a loopback address"},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, E_LOW32, NULL},        /* IPv4-mapped */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96, E_LOW32, NULL},        /* SIIT IPv4-translated */
        {{0}, 96, E_NONE, "an IPv4-compatible address (deprecated)"},           /* ::a.b.c.d */
        {{0, 0x64, 0xff, 0x9b}, 96, E_LOW32, NULL},                             /* NAT64 well-known prefix */
        {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, E_NONE, "a local-use NAT64 address"}, /* RFC 8215 */
        {{0x01, 0}, 64, E_NONE, "a discard-only address"},
        {{0x20, 0x01, 0, 0}, 32, E_TEREDO, NULL},
        {{0x20, 0x01, 0, 0x02, 0, 0}, 48, E_NONE, "a benchmarking address"},
        {{0x20, 0x01, 0, 0x10}, 28, E_NONE, "a reserved (ORCHID) address"},
        {{0x20, 0x01, 0, 0x20}, 28, E_NONE, "a reserved (ORCHIDv2) address"},
        {{0x20, 0x01, 0x0d, 0xb8}, 32, E_NONE, "a documentation address"},
        {{0x20, 0x02}, 16, E_6TO4, NULL},
        {{0x3f, 0xff, 0}, 20, E_NONE, "a documentation address"},
        {{0xfc}, 7, E_NONE, "a private (unique local) address"},
        {{0xfe, 0x80}, 10, E_NONE, "a link-local address"},
        {{0xfe, 0xc0}, 10, E_NONE, "a site-local address"},
        {{0xff}, 8, E_NONE, "a multicast address"},
    };
    static const unsigned char global_unicast[16] = {0x20};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (!in6(b, ranges[i].prefix, ranges[i].len)) continue;
        switch (ranges[i].embed) {
        case E_NONE: return ranges[i].why;
        case E_LOW32: return classify4(v4_at(b, 12));
        case E_6TO4: return classify4(v4_at(b, 2));
        case E_TEREDO: {
            const char *why = classify4(v4_at(b, 4));
            return why ? why : classify4(~v4_at(b, 12));
        }
        }
    }
    return in6(b, global_unicast, 3) ? NULL : "a reserved address (not global unicast 2000::/3)";
}

const char *hs_netguard_classify(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return classify4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify6(in6->sin6_addr.s6_addr);
    }
    return "not an internet address"; /* unix sockets and the like */
}

/* CURLOPT_OPENSOCKETFUNCTION: open the socket as curl would, unless the
 * address is refused; then curl fails the transfer (CURLE_COULDNT_CONNECT)
 * and the caller finds the reason in the refusal. */
static curl_socket_t open_checked(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
    (void)purpose;
    hs_netguard_refusal *r = clientp;
    const char *why = hs_netguard_classify(&a->addr);
    if (!why) return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    const void *raw = a->family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
    if ((a->family != AF_INET && a->family != AF_INET6) || !inet_ntop(a->family, raw, r->addr, sizeof r->addr))
        snprintf(r->addr, sizeof r->addr, "%s", "an address");
    r->why = why;
    return CURL_SOCKET_BAD;
}

CURLcode hs_netguard_arm(CURL *e, hs_netguard_refusal *r) {
    r->addr[0] = '\0';
    r->why = NULL;
    if (hs_netguard_private_allowed()) return CURLE_OK;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_checked);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, (void *)r);
    return rc;
}

void hs_netguard_message(const hs_netguard_refusal *r, char *buf, size_t len) {
    snprintf(buf, len,
             "refused to connect to %s: %s, not retried (destinations on loopback, private and link-local "
             "networks need serve --allow-private-destinations)",
             r->addr, r->why ? r->why : "not a public address");
}
