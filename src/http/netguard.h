/* src/http/netguard.h — the SSRF guard on outbound connections.
 *
 * A webhook gateway connects wherever its users' destination URLs point, so
 * by default it must not reach what only the host itself can reach:
 * loopback, private networks, link-local addresses (cloud metadata services
 * live at 169.254.169.254), and other addresses that are not public
 * unicast. The check runs on the address libcurl is about to connect to,
 * after name resolution (CURLOPT_OPENSOCKETFUNCTION), so a public-looking
 * name that resolves to a private address is refused as well, and a name
 * that changes its answer between a check and the connection (DNS
 * rebinding) cannot slip through. `serve --allow-private-destinations`
 * lifts the guard (tests and local setups deliver to 127.0.0.1).
 *
 * With a proxy configured (http_proxy and friends), the address checked is
 * the proxy's.
 */
#ifndef HS_NETGUARD_H
#define HS_NETGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <curl/curl.h>

/* Process-wide, set once at start before any request is sent. Default:
 * private destinations are refused. */
void hs_netguard_allow_private(bool allow);
bool hs_netguard_private_allowed(void);

/* Why sa is not a public unicast address ("loopback", "private",
 * "link-local", ...), or NULL when it is one. An IPv6 address that carries
 * an IPv4 address (IPv4-mapped, SIIT, NAT64 64:ff9b::/96, 6to4, Teredo's
 * server and client) is judged by that IPv4 address; other IPv6 addresses
 * pass only inside global unicast 2000::/3 and outside its special-purpose
 * ranges (the tables in src/http/netguard.c). */
const char *hs_netguard_classify(const struct sockaddr *sa);

/* What a refused connection leaves behind for the error message. */
typedef struct hs_netguard_refusal {
    char addr[64]; /* "" until a connection was refused */
    const char *why;
} hs_netguard_refusal;

/* Arms the guard on e (nothing when private destinations are allowed);
 * refusals are recorded in r, which must outlive the transfer. Returns a
 * CURLcode from curl_easy_setopt. */
CURLcode hs_netguard_arm(CURL *e, hs_netguard_refusal *r);

/* "refused to connect to 10.0.0.5: a private address (...)" into buf. */
void hs_netguard_message(const hs_netguard_refusal *r, char *buf, size_t len);

#endif
