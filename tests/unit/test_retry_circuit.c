/* Unit tests for the retry schedule and the circuit breaker state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/circuit.h"
#include "core/retry.h"

static void test_retry_defaults(void **state) {
    (void)state;
    hs_retry_policy p;
    hs_retry_policy_default(&p);
    assert_int_equal(p.max_retries, 5);
    const uint64_t want[] = {30000, 300000, 1800000, 7200000, 86400000, 86400000};
    for (int k = 1; k <= 6; k++) assert_int_equal(hs_retry_delay_ms(&p, k), want[k - 1]);
    assert_int_equal(hs_retry_delay_ms(&p, 0), 0);
    /* 1 + max_retries attempts in all */
    for (int failed = 0; failed < 6; failed++) assert_true(hs_retry_more(&p, failed));
    assert_false(hs_retry_more(&p, 6));
}

static void test_retry_kinds(void **state) {
    (void)state;
    hs_retry_policy p;
    json_t *j = json_pack("{s:i, s:s, s:[i,i,i]}", "max_retries", 3, "backoff_type", "linear", "intervals", 2, 9, 9);
    hs_retry_policy_from_json(j, &p);
    json_decref(j);
    assert_int_equal(p.max_retries, 3);
    assert_int_equal(hs_retry_delay_ms(&p, 1), 2000);
    assert_int_equal(hs_retry_delay_ms(&p, 2), 4000);
    assert_int_equal(hs_retry_delay_ms(&p, 3), 6000);
    assert_false(hs_retry_more(&p, 4));

    j = json_pack("{s:s, s:[i,i]}", "backoff_type", "fixed", "intervals", 7, 100);
    hs_retry_policy_from_json(j, &p);
    json_decref(j);
    for (int k = 1; k <= 5; k++) assert_int_equal(hs_retry_delay_ms(&p, k), 7000);

    j = json_pack("{s:s, s:[i,i]}", "backoff_type", "exponential", "intervals", 1, 2);
    hs_retry_policy_from_json(j, &p);
    json_decref(j);
    assert_int_equal(hs_retry_delay_ms(&p, 1), 1000);
    assert_int_equal(hs_retry_delay_ms(&p, 2), 2000);
    assert_int_equal(hs_retry_delay_ms(&p, 3), 2000); /* last interval repeats */

    j = json_pack("{s:i}", "max_retries", 0);
    hs_retry_policy_from_json(j, &p);
    json_decref(j);
    assert_true(hs_retry_more(&p, 0));
    assert_false(hs_retry_more(&p, 1));
}

/* Retry-After's wait in ms, or -1 when the value is refused. */
static long long after(const char *v, uint64_t now_ms) {
    uint64_t ms = 12345;
    if (!hs_retry_after_parse(v, now_ms, &ms)) {
        assert_int_equal(ms, 12345); /* untouched */
        return -1;
    }
    return (long long)ms;
}

static void test_retry_after_seconds(void **state) {
    (void)state;
    const uint64_t now = 1700000000000ull;
    const long long max = HS_RETRY_AFTER_MAX_S * 1000ll;
    assert_int_equal(HS_RETRY_AFTER_MAX_S, 3600);
    assert_int_equal(after("0", now), 0);
    assert_int_equal(after("3", now), 3000);
    assert_int_equal(after("0003", now), 3000);
    assert_int_equal(after("3599", now), 3599000);
    assert_int_equal(after("3600", now), max);
    assert_int_equal(after("3601", now), max);
    /* huge and overflowing values clamp, no wrap-around */
    assert_int_equal(after("99999999999", now), max);
    assert_int_equal(after("18446744073709551616", now), max);
    assert_int_equal(after("184467440737095516160000000000000000000000000000", now), max);
    /* not delay-seconds */
    static const char *const bad[] = {"", "-1", "+5", "1.5", "5s", "5 ", " 5", "0x10", "1e3", "5,5", "abc", NULL};
    for (const char *const *b = bad; *b; b++)
        if (after(*b, now) != -1) fail_msg("\"%s\" accepted", *b);
    assert_false(hs_retry_after_parse(NULL, now, &(uint64_t){0}));
}

static void test_retry_after_dates(void **state) {
    (void)state;
    /* 2023-11-14T22:13:20Z */
    const uint64_t now = 1700000000000ull;
    const long long max = HS_RETRY_AFTER_MAX_S * 1000ll;
    /* the three forms of RFC 9110 §5.6.7, 100 s from now */
    assert_int_equal(after("Tue, 14 Nov 2023 22:15:00 GMT", now), 100000);
    assert_int_equal(after("Tuesday, 14-Nov-23 22:15:00 GMT", now), 100000);
    assert_int_equal(after("Tue Nov 14 22:15:00 2023", now), 100000);
    assert_int_equal(after("Wed Nov  1 22:15:00 2023", now + 0), 0); /* past: no wait */
    assert_int_equal(after("Tue, 14 Nov 2023 22:15:00 GMT", now + 500), 99500);
    /* past dates wait nothing; far ones clamp */
    assert_int_equal(after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
    assert_int_equal(after("Sunday, 06-Nov-94 08:49:37 GMT", now), 0); /* 1994, not 2094 */
    assert_int_equal(after("Fri, 31 Dec 9999 23:59:59 GMT", now), max);
    assert_int_equal(after("Wed, 15 Nov 2023 22:13:20 GMT", now), max);
    assert_int_equal(after("Thursday, 01-Jan-70 00:00:00 GMT", now), max); /* 2070: within 50 years */
    assert_int_equal(after("Tue, 29 Feb 2028 00:00:00 GMT", now), max);    /* a leap day */
    /* malformed or impossible */
    static const char *const bad[] = {"Tue, 14 Nov 2023 22:15:00 UTC",
                                      "Tue, 14 Nov 2023 22:15:00",
                                      "Tue, 14 Nov 2023 22:15 GMT",
                                      "Tue, 4 Nov 2023 22:15:00 GMT",
                                      "Tue, 14 nov 2023 22:15:00 GMT",
                                      "Tue, 31 Nov 2023 22:15:00 GMT",
                                      "Tue, 29 Feb 2023 22:15:00 GMT",
                                      "Tue, 14 Nov 2023 24:00:00 GMT",
                                      "Tue, 14 Nov 2023 22:60:00 GMT",
                                      "Xyz, 14 Nov 2023 22:15:00 GMT",
                                      "Tuesday, 14 Nov 2023 22:15:00 GMT",
                                      "Tuesday, 14-Nov-2023 22:15:00 GMT",
                                      "Tue Nov 14 22:15:00 23",
                                      "Tue Nov 14 22:15:00 2023 GMT",
                                      "Tue, 14 Nov 2023 22:15:00 GMT x",
                                      "Tue, 00 Nov 2023 22:15:00 GMT",
                                      "2023-11-14T22:15:00Z",
                                      NULL};
    for (const char *const *b = bad; *b; b++)
        if (after(*b, now) != -1) fail_msg("\"%s\" accepted", *b);
}

/* Retry-After lengthens the policy's wait, never shortens it, and only on
 * a 429 or 503. */
static void test_retry_after_wait(void **state) {
    (void)state;
    const uint64_t now = 1700000000000ull;
    hs_retry_policy p;
    json_t *j = json_pack("{s:i, s:s, s:[i]}", "max_retries", 2, "backoff_type", "fixed", "intervals", 10);
    hs_retry_policy_from_json(j, &p);
    json_decref(j);
    assert_int_equal(hs_retry_after_ms(429, "30", now), 30000);
    assert_int_equal(hs_retry_after_ms(503, "30", now), 30000);
    assert_int_equal(hs_retry_after_ms(500, "30", now), 0);
    assert_int_equal(hs_retry_after_ms(200, "30", now), 0);
    assert_int_equal(hs_retry_after_ms(429, NULL, now), 0);
    assert_int_equal(hs_retry_after_ms(429, "soon", now), 0);
    assert_int_equal(hs_retry_wait_ms(&p, 1, hs_retry_after_ms(429, "30", now)), 30000);
    assert_int_equal(hs_retry_wait_ms(&p, 1, hs_retry_after_ms(429, "3", now)), 10000); /* never shorter */
    assert_int_equal(hs_retry_wait_ms(&p, 1, 0), 10000);
    assert_int_equal(hs_retry_wait_ms(&p, 2, hs_retry_after_ms(503, "99999999999", now)), 3600000);
}

static void test_circuit_opens_at_threshold(void **state) {
    (void)state;
    hs_circuit c;
    hs_circuit_init(&c, true, 5, 1000);
    for (int i = 0; i < 4; i++) {
        assert_true(hs_circuit_may_send(&c, 100));
        hs_circuit_on_failure(&c, 100);
        assert_int_equal(c.state, HS_CIRCUIT_CLOSED);
    }
    hs_circuit_on_success(&c, 100); /* a success zeroes the count */
    assert_int_equal(c.consecutive_failures, 0);
    for (int i = 0; i < 5; i++) hs_circuit_on_failure(&c, 200);
    assert_int_equal(c.state, HS_CIRCUIT_OPEN);
    assert_int_equal(c.opened_at, 200);
    assert_int_equal(c.next_probe_at, 1200);
    assert_false(hs_circuit_may_send(&c, 1199));
}

static void test_circuit_half_open_probe(void **state) {
    (void)state;
    hs_circuit c;
    hs_circuit_init(&c, true, 1, 1000);
    hs_circuit_on_failure(&c, 0);
    assert_int_equal(c.state, HS_CIRCUIT_OPEN);
    assert_true(hs_circuit_may_send(&c, 1000)); /* the one probe */
    assert_int_equal(c.state, HS_CIRCUIT_HALF_OPEN);
    assert_false(hs_circuit_may_send(&c, 1001)); /* nothing else meanwhile */
    hs_circuit_on_failure(&c, 1500);             /* probe failed: open again, new cooldown */
    assert_int_equal(c.state, HS_CIRCUIT_OPEN);
    assert_int_equal(c.next_probe_at, 2500);
    assert_false(hs_circuit_may_send(&c, 2000));
    assert_true(hs_circuit_may_send(&c, 2500));
    hs_circuit_on_success(&c, 2600); /* probe succeeded: closed */
    assert_int_equal(c.state, HS_CIRCUIT_CLOSED);
    assert_int_equal(c.consecutive_failures, 0);
    assert_true(hs_circuit_may_send(&c, 2601));
    assert_true(hs_circuit_may_send(&c, 2601));
}

static void test_circuit_reset_and_disabled(void **state) {
    (void)state;
    hs_circuit c;
    hs_circuit_init(&c, true, 2, 60000);
    hs_circuit_on_failure(&c, 0);
    hs_circuit_on_failure(&c, 0);
    assert_int_equal(c.state, HS_CIRCUIT_OPEN);
    hs_circuit_reset(&c, 10);
    assert_int_equal(c.state, HS_CIRCUIT_CLOSED);
    assert_int_equal(c.last_transition_at, 10);
    assert_true(hs_circuit_may_send(&c, 11));

    hs_circuit_init(&c, false, 1, 1000);
    for (int i = 0; i < 10; i++) hs_circuit_on_failure(&c, 0);
    assert_int_equal(c.state, HS_CIRCUIT_CLOSED);
    assert_true(hs_circuit_may_send(&c, 0));

    hs_circuit_state s;
    assert_true(hs_circuit_state_parse("half_open", &s));
    assert_int_equal(s, HS_CIRCUIT_HALF_OPEN);
    assert_false(hs_circuit_state_parse("ajar", &s));
    assert_string_equal(hs_circuit_state_name(HS_CIRCUIT_OPEN), "open");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_defaults),          cmocka_unit_test(test_retry_kinds),
        cmocka_unit_test(test_retry_after_seconds),     cmocka_unit_test(test_retry_after_dates),
        cmocka_unit_test(test_retry_after_wait),        cmocka_unit_test(test_circuit_opens_at_threshold),
        cmocka_unit_test(test_circuit_half_open_probe), cmocka_unit_test(test_circuit_reset_and_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
