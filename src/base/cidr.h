/* src/base/cidr.h — IPv4 and IPv6 addresses and CIDR blocks: parse, match,
 * print.
 *
 * Every block is held in IPv6 form: an IPv4 address a.b.c.d is
 * ::ffff:a.b.c.d and its prefix length grows by 96, so an IPv4-mapped IPv6
 * address (what a dual-stack socket reports for an IPv4 client) matches the
 * IPv4 entries, and an IPv4 address matches "::ffff:0:0/96" entries.
 *
 * A block whose address has bits set beyond its prefix ("10.0.0.1/24") is
 * refused: it is most likely a typo for one host, and accepting it as
 * 10.0.0.0/24 would silently widen the list (docs/api.md "The front door").
 *
 * Plain values, no allocation, no global state: thread-safe.
 */
#ifndef HS_CIDR_H
#define HS_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and a NUL */
#define HS_CIDR_TEXT_MAX 54
#define HS_CIDR_WHY_MAX 128

typedef struct hs_cidr {
    uint8_t addr[16]; /* IPv6 form, bits past the prefix zero */
    uint8_t bits;     /* prefix length in the IPv6 form, 0..128 */
    bool v4;          /* written as IPv4 (bits - 96 is its IPv4 prefix) */
} hs_cidr;

/* An address alone ("203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1"):
 * a block of one address. False when text is not one. */
bool hs_ip_parse(const char *text, hs_cidr *out);
/* An address or a block ("10.0.0.0/8", "2001:db8::/32"). False with the
 * reason in why (e.g. "prefix length must be 0 to 32") when it is not. */
bool hs_cidr_parse(const char *text, hs_cidr *out, char why[HS_CIDR_WHY_MAX]);
/* ip (a single address) lies inside block. */
bool hs_cidr_contains(const hs_cidr *block, const hs_cidr *ip);
/* ip lies inside one of n blocks. */
bool hs_cidr_any(const hs_cidr *blocks, size_t n, const hs_cidr *ip);
/* "10.0.0.0/8", "2001:db8::/32", or the address alone for a full-length
 * prefix; an IPv4-mapped single address prints as IPv4. */
void hs_cidr_format(const hs_cidr *c, char out[HS_CIDR_TEXT_MAX]);

#endif
