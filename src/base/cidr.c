/* src/base/cidr.c — IPv4/IPv6 addresses and CIDR blocks (see cidr.h). */
#include "base/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* text of at most 45 characters, no prefix */
static bool parse_addr(const char *text, size_t len, hs_cidr *out) {
    char buf[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof buf) return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(out, 0, sizeof *out);
    uint8_t v4[4];
    if (inet_pton(AF_INET, buf, v4) == 1) {
        memcpy(out->addr, mapped_prefix, sizeof mapped_prefix);
        memcpy(out->addr + 12, v4, 4);
        out->bits = 128;
        out->v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->addr) != 1) return false;
    out->bits = 128;
    return true;
}

bool hs_ip_parse(const char *text, hs_cidr *out) { return parse_addr(text, strlen(text), out); }

static bool bit_set(const uint8_t *a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

bool hs_cidr_parse(const char *text, hs_cidr *out, char why[HS_CIDR_WHY_MAX]) {
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (!parse_addr(text, alen, out)) {
        snprintf(why, HS_CIDR_WHY_MAX, "is not an IPv4 or IPv6 address or CIDR block");
        return false;
    }
    if (!slash) return true;
    unsigned max = out->v4 ? 32 : 128;
    const char *p = slash + 1;
    unsigned n = 0;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 3 || p[digits] != '\0' || (digits > 1 && p[0] == '0')) {
        snprintf(why, HS_CIDR_WHY_MAX, "prefix length must be a whole number from 0 to %u", max);
        return false;
    }
    for (size_t i = 0; i < digits; i++) n = n * 10 + (unsigned)(p[i] - '0');
    if (n > max) {
        snprintf(why, HS_CIDR_WHY_MAX, "prefix length must be a whole number from 0 to %u", max);
        return false;
    }
    out->bits = (uint8_t)(out->v4 ? n + 96 : n);
    for (unsigned i = out->bits; i < 128; i++) {
        if (!bit_set(out->addr, i)) continue;
        hs_cidr net = *out;
        for (unsigned j = net.bits; j < 128; j++) net.addr[j / 8] &= (uint8_t) ~(1u << (7 - j % 8));
        char shown[HS_CIDR_TEXT_MAX];
        hs_cidr_format(&net, shown);
        snprintf(why, HS_CIDR_WHY_MAX, "has host bits set beyond its prefix (the block is %s)", shown);
        return false;
    }
    return true;
}

bool hs_cidr_contains(const hs_cidr *block, const hs_cidr *ip) {
    unsigned bytes = block->bits / 8, rest = block->bits % 8;
    if (memcmp(block->addr, ip->addr, bytes) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (block->addr[bytes] & mask) == (ip->addr[bytes] & mask);
}

bool hs_cidr_any(const hs_cidr *blocks, size_t n, const hs_cidr *ip) {
    for (size_t i = 0; i < n; i++)
        if (hs_cidr_contains(&blocks[i], ip)) return true;
    return false;
}

void hs_cidr_format(const hs_cidr *c, char out[HS_CIDR_TEXT_MAX]) {
    char addr[INET6_ADDRSTRLEN];
    bool as_v4 = c->v4 || (c->bits == 128 && memcmp(c->addr, mapped_prefix, sizeof mapped_prefix) == 0);
    if (as_v4)
        inet_ntop(AF_INET, c->addr + 12, addr, sizeof addr);
    else
        inet_ntop(AF_INET6, c->addr, addr, sizeof addr);
    if (c->bits == 128)
        snprintf(out, HS_CIDR_TEXT_MAX, "%s", addr);
    else
        snprintf(out, HS_CIDR_TEXT_MAX, "%s/%u", addr, as_v4 ? c->bits - 96u : c->bits);
}
