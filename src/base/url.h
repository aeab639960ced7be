/* src/base/url.h — parsing of the absolute http(s) URLs that destinations call.
 *
 * Deliberately narrow: only what an outbound request needs (scheme, host,
 * port, path+query) and only what is safe to store in a destination. A URL
 * with credentials in it ("user:pass@host") is refused because the auth
 * settings are where secrets belong (they are masked on read, a URL is not);
 * a fragment is refused because it is never sent and is usually a mistake.
 */
#ifndef HS_URL_H
#define HS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define HS_URL_MAX 2048     /* characters in a URL we accept */
#define HS_URL_HOST_MAX 255 /* a DNS name is at most 253; an IPv6 literal less */

typedef struct hs_url {
    bool https;
    char host[HS_URL_HOST_MAX + 1]; /* IPv6 literals without their brackets */
    unsigned port;                  /* explicit, else 80 or 443 */
    const char *rest;               /* path and query inside the parsed string ("" when none) */
} hs_url;

/* Parse s into u (u->rest points into s). On failure returns HS_ERR_INVALID
 * and sets *why to a static phrase ("must use http or https") fit to follow a
 * field name in an error message. */
int hs_url_parse(const char *s, hs_url *u, const char **why);

/* url as messages and logs may show it: the password of "user:pass@" and of
 * a "password=" parameter replaced by "***" (a database URL, say);
 * truncated to cap. */
void hs_url_redact(const char *url, char *out, size_t cap);

#endif
