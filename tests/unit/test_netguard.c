/* test_netguard.c — which addresses the SSRF guard refuses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/netguard.h"

/* The guard's verdict on a textual address: NULL (public) or its reason. */
static const char *verdict(const char *text) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
    }
    return hs_netguard_classify((const struct sockaddr *)&ss);
}

static void expect(const char *text, const char *why_part) {
    const char *why = verdict(text);
    if (!why_part) {
        if (why) fail_msg("%s: expected public, got \"%s\"", text, why);
        return;
    }
    if (!why) fail_msg("%s: expected \"%s\", got public", text, why_part);
    if (!strstr(why, why_part)) fail_msg("%s: expected \"%s\", got \"%s\"", text, why_part, why);
}

static void test_ipv4(void **state) {
    (void)state;
    expect("127.0.0.1", "loopback");
    expect("127.255.255.254", "loopback");
    expect("10.0.0.5", "private");
    expect("172.16.0.1", "private");
    expect("172.31.255.255", "private");
    expect("192.168.1.1", "private");
    expect("169.254.169.254", "link-local"); /* cloud metadata */
    expect("100.64.0.1", "carrier-grade");
    expect("0.0.0.0", "unspecified");
    expect("224.0.0.1", "multicast");
    expect("255.255.255.255", "reserved");
    expect("192.0.2.10", "documentation");
    expect("198.18.0.1", "benchmarking");
    /* the edges stay public */
    expect("172.15.255.255", NULL);
    expect("172.32.0.0", NULL);
    expect("100.63.255.255", NULL);
    expect("100.128.0.0", NULL);
    expect("11.0.0.1", NULL);
    expect("8.8.8.8", NULL);
    expect("1.1.1.1", NULL);
    expect("223.255.255.255", NULL);
    expect("169.253.255.255", NULL);
}

static void test_ipv6(void **state) {
    (void)state;
    expect("::1", "loopback");
    expect("::", "unspecified");
    expect("fe80::1", "link-local");
    expect("fc00::1", "unique local");
    expect("fd12:3456::1", "unique local");
    expect("ff02::1", "multicast");
    expect("2001:db8::1", "documentation");
    expect("fec0::1", "site-local");
    /* IPv4 inside IPv6 is judged as IPv4 */
    expect("::ffff:127.0.0.1", "loopback");
    expect("::ffff:169.254.169.254", "link-local");
    expect("64:ff9b::a00:1", "private"); /* NAT64 of 10.0.0.1 */
    expect("::ffff:8.8.8.8", NULL);
    expect("::127.0.0.1", "IPv4-compatible");
    expect("2606:4700:4700::1111", NULL);
    expect("2a00:1450:4001:80b::200e", NULL);
}

static void test_ipv4_more(void **state) {
    (void)state;
    expect("192.88.99.1", "6to4 relay");
    expect("255.255.255.255", "broadcast");
    expect("240.0.0.1", "reserved");
    expect("198.19.255.255", "benchmarking");
    expect("198.51.100.7", "documentation");
    expect("203.0.113.7", "documentation");
    expect("192.0.0.8", "reserved");
    expect("239.255.255.250", "multicast");
    expect("192.88.98.255", NULL);
    expect("192.88.100.0", NULL);
    expect("198.20.0.0", NULL);
}

/* Every IPv6 form that carries an IPv4 address is judged by that address:
 * refused when it is not public, passed when it is. */
static void test_ipv6_embedded_ipv4(void **state) {
    (void)state;
    /* IPv4-mapped ::ffff:0:0/96 */
    expect("::ffff:10.0.0.1", "private");
    expect("::ffff:0.0.0.0", "unspecified");
    expect("::ffff:1.1.1.1", NULL);
    /* SIIT IPv4-translated ::ffff:0:0:0/96 */
    expect("::ffff:0:127.0.0.1", "loopback");
    expect("::ffff:0:169.254.169.254", "link-local");
    expect("::ffff:0:192.168.1.1", "private");
    expect("::ffff:0:8.8.8.8", NULL);
    /* NAT64 well-known prefix 64:ff9b::/96 */
    expect("64:ff9b::127.0.0.1", "loopback");
    expect("64:ff9b::169.254.169.254", "link-local");
    expect("64:ff9b::8.8.8.8", NULL);
    /* NAT64 local-use 64:ff9b:1::/48: local by definition, whatever it embeds */
    expect("64:ff9b:1::8.8.8.8", "local-use NAT64");
    expect("64:ff9b:1:ffff::1", "local-use NAT64");
    /* 6to4 2002::/16, the IPv4 address in bits 16..47 */
    expect("2002:7f00:1::", "loopback");
    expect("2002:a00:1::1", "private");
    expect("2002:a9fe:a9fe::", "link-local");
    expect("2002:c058:6301::", "6to4 relay");
    expect("2002:0808:0808::", NULL);
    expect("2002:0101:0101:1::1", NULL);
    /* Teredo 2001::/32: server IPv4 in bits 32..63, client IPv4 the last
     * 32 bits inverted; refused if either is not public */
    expect("2001:0:7f00:1::", "loopback");                           /* server 127.0.0.1 */
    expect("2001:0:808:808::80ff:fffe", "loopback");                 /* client ~0x80fffffe = 127.0.0.1 */
    expect("2001:0:808:808::f5ff:fffe", "private");                  /* client 10.0.0.1 */
    expect("2001:0:808:808::f7f7:f7f7", NULL);                       /* client 8.8.8.8, server 8.8.8.8 */
    expect("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation"); /* RFC 4380's: client 192.0.2.45 */
    expect("2001:0:4136:e378:8000:63bf:f7f7:f7f7", NULL);            /* its server 65.54.227.120 */
    /* IPv4-compatible ::/96, deprecated: refused whatever it embeds */
    expect("::10.0.0.1", "IPv4-compatible");
    expect("::8.8.8.8", "IPv4-compatible");
    expect("::0.0.0.2", "IPv4-compatible");
}

static void test_ipv6_special(void **state) {
    (void)state;
    expect("::", "unspecified");
    expect("::1", "loopback");
    expect("::2", "IPv4-compatible");
    expect("100::1", "discard");
    expect("100::ffff:ffff:ffff:ffff", "discard");
    expect("2001:db8:ffff::1", "documentation");
    expect("3fff::1", "documentation");
    expect("3fff:fff::1", "documentation");
    expect("2001:2::1", "benchmarking");
    expect("2001:10::1", "ORCHID");
    expect("2001:20::1", "ORCHID");
    expect("fdff:ffff::1", "unique local");
    expect("febf::1", "link-local");
    expect("feff::1", "site-local");
    expect("ff0e::1", "multicast");
    /* outside global unicast 2000::/3: reserved, however it is written */
    expect("1::1", "reserved");
    expect("4000::1", "reserved");
    expect("5f00::1", "reserved");
    expect("e000::1", "reserved");
    expect("64:ff9a::8.8.8.8", "reserved");
    /* the public neighbours stay public */
    expect("2001:4860:4860::8888", NULL);
    expect("2001:db9::1", NULL);
    expect("3fff:1000::1", NULL);
    expect("2003::1", NULL);
    expect("2001:1::1", NULL);
    expect("2001:30::1", NULL);
    expect("3ffe:ffff::1", NULL);
}

static void test_switch_and_message(void **state) {
    (void)state;
    assert_false(hs_netguard_private_allowed()); /* refused unless said otherwise */
    hs_netguard_allow_private(true);
    assert_true(hs_netguard_private_allowed());
    hs_netguard_allow_private(false);
    hs_netguard_refusal r = {.why = "a loopback address"};
    snprintf(r.addr, sizeof r.addr, "%s", "127.0.0.1");
    char msg[256];
    hs_netguard_message(&r, msg, sizeof msg);
    assert_non_null(strstr(msg, "127.0.0.1"));
    assert_non_null(strstr(msg, "loopback"));
    assert_non_null(strstr(msg, "--allow-private-destinations"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),         cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ipv4_more),    cmocka_unit_test(test_ipv6_embedded_ipv4),
        cmocka_unit_test(test_ipv6_special), cmocka_unit_test(test_switch_and_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
