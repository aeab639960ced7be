/* netguard.c — the SSRF guard (see netguard.h). */
#include "netguard.h"

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
        {V4(192, 168, 0, 0), 16, "a private address"},
        {V4(198, 18, 0, 0), 15, "a benchmarking address"},
        {V4(198, 51, 100, 0), 24, "a documentation address"},
        {V4(203, 0, 113, 0), 24, "a documentation address"},
        {V4(224, 0, 0, 0), 4, "a multicast address"},
        {V4(240, 0, 0, 0), 4, "a reserved address"},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (in4(a, ranges[i].prefix, ranges[i].len)) return ranges[i].why;
    return NULL;
}

static uint32_t low32(const unsigned char *b) {
    return ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | (uint32_t)b[15];
}

static bool zeros(const unsigned char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

static const char *classify6(const unsigned char *b) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    /* an IPv4 address inside IPv6 is judged as IPv4 */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) return classify4(low32(b));
    if (zeros(b, 15)) return b[15] == 1 ? "a loopback address" : b[15] == 0 ? "an unspecified address" : NULL;
    if (zeros(b, 12)) return "an IPv4-compatible address"; /* ::a.b.c.d, deprecated */
    if ((b[0] & 0xfe) == 0xfc) return "a private (unique local) address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "a site-local address";
    if (b[0] == 0xff) return "a multicast address";
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "a documentation address";
    if (b[0] == 0x01 && zeros(b + 1, 7)) return "a discard-only address";
    return NULL;
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
