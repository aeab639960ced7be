/* test_cidr.c — parsing and matching IPv4/IPv6 addresses and CIDR blocks
 * (src/base/cidr.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/cidr.h"

static hs_cidr block(const char *text) {
    hs_cidr c;
    char why[HS_CIDR_WHY_MAX] = "";
    if (!hs_cidr_parse(text, &c, why)) fail_msg("%s refused: %s", text, why);
    return c;
}

static bool in(const char *blk, const char *ip) {
    hs_cidr b = block(blk), a;
    if (!hs_ip_parse(ip, &a)) fail_msg("%s is not an address", ip);
    return hs_cidr_contains(&b, &a);
}

static void refused(const char *text, const char *why_part) {
    hs_cidr c;
    char why[HS_CIDR_WHY_MAX] = "";
    if (hs_cidr_parse(text, &c, why)) fail_msg("%s accepted", text);
    if (!strstr(why, why_part)) fail_msg("%s: expected \"%s\" in \"%s\"", text, why_part, why);
}

static void shown(const char *text, const char *want) {
    hs_cidr c = block(text);
    char out[HS_CIDR_TEXT_MAX];
    hs_cidr_format(&c, out);
    assert_string_equal(out, want);
}

static void test_ipv4(void **state) {
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("192.168.1.0/24", "192.168.1.255"));
    assert_false(in("192.168.1.0/24", "192.168.2.0"));
    assert_true(in("172.16.0.0/12", "172.31.255.255"));
    assert_false(in("172.16.0.0/12", "172.32.0.0"));
    assert_true(in("203.0.113.7", "203.0.113.7")); /* a bare address is /32 */
    assert_false(in("203.0.113.7", "203.0.113.8"));
    assert_true(in("203.0.113.7/32", "203.0.113.7"));
    assert_true(in("0.0.0.0/0", "1.2.3.4"));
    assert_true(in("0.0.0.0/0", "255.255.255.255"));
    assert_false(in("0.0.0.0/0", "2001:db8::1")); /* /0 of IPv4 is every IPv4 address, no IPv6 one */
    assert_true(in("128.0.0.0/1", "200.0.0.1"));
    assert_false(in("128.0.0.0/1", "100.0.0.1"));
}

static void test_ipv6(void **state) {
    (void)state;
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("::1", "::1"));
    assert_true(in("::1/128", "::1"));
    assert_false(in("::1/128", "::2"));
    assert_true(in("::/0", "2001:db8::1"));
    assert_true(in("::/0", "1.2.3.4")); /* every address, IPv4 ones as mapped */
    assert_true(in("fe80::/10", "febf::1"));
    assert_false(in("fe80::/10", "fec0::1"));
    assert_true(in("2001:db8::/127", "2001:db8::1"));
    assert_false(in("2001:db8::/127", "2001:db8::2"));
}

static void test_mapped(void **state) {
    (void)state;
    /* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d */
    assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(in("127.0.0.1", "::ffff:127.0.0.1"));
    assert_false(in("127.0.0.1", "::ffff:127.0.0.2"));
    assert_true(in("::ffff:10.0.0.0/104", "10.9.9.9"));
    assert_true(in("::ffff:0:0/96", "8.8.8.8"));
    assert_false(in("::ffff:0:0/96", "2001:db8::1"));
    assert_false(in("::/96", "10.0.0.1")); /* IPv4-compatible, not mapped */
}

static void test_bad(void **state) {
    (void)state;
    refused("", "not an IPv4 or IPv6");
    refused("localhost", "not an IPv4 or IPv6");
    refused("1.2.3", "not an IPv4 or IPv6");
    refused("256.0.0.1", "not an IPv4 or IPv6");
    refused("1.2.3.4.5", "not an IPv4 or IPv6");
    refused("2001:db8:::1", "not an IPv4 or IPv6");
    refused(" 1.2.3.4", "not an IPv4 or IPv6");
    refused("/8", "not an IPv4 or IPv6");
    refused("10.0.0.0/33", "from 0 to 32");
    refused("2001:db8::/129", "from 0 to 128");
    refused("10.0.0.0/", "from 0 to 32");
    refused("10.0.0.0/-1", "from 0 to 32");
    refused("10.0.0.0/08", "from 0 to 32");
    refused("10.0.0.0/8/8", "from 0 to 32");
    refused("10.0.0.0/ 8", "from 0 to 32");
    refused("10.0.0.1/24", "host bits set beyond its prefix (the block is 10.0.0.0/24)");
    refused("2001:db8::1/32", "(the block is 2001:db8::/32)");
    refused("1.2.3.4/0", "(the block is 0.0.0.0/0)");
    hs_cidr c;
    assert_false(hs_ip_parse("10.0.0.0/8", &c)); /* an address alone */
    assert_false(hs_ip_parse("1.2.3.4:80", &c));
    assert_true(hs_ip_parse("1.2.3.4", &c));
}

static void test_format(void **state) {
    (void)state;
    shown("10.0.0.0/8", "10.0.0.0/8");
    shown("10.1.2.3", "10.1.2.3");
    shown("0.0.0.0/0", "0.0.0.0/0");
    shown("2001:DB8::/32", "2001:db8::/32");
    shown("::ffff:10.1.2.3", "10.1.2.3");
    shown("::ffff:0:0/96", "::ffff:0.0.0.0/96");
    shown("::/0", "::/0");
    hs_cidr list[2] = {block("10.0.0.0/8"), block("::1")}, a;
    assert_true(hs_ip_parse("::1", &a));
    assert_true(hs_cidr_any(list, 2, &a));
    assert_true(hs_ip_parse("11.0.0.1", &a));
    assert_false(hs_cidr_any(list, 2, &a));
    assert_false(hs_cidr_any(list, 0, &a));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4), cmocka_unit_test(test_ipv6),   cmocka_unit_test(test_mapped),
        cmocka_unit_test(test_bad),  cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
