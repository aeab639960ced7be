/* Unit tests for the retry schedule and the circuit breaker state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "circuit.h"
#include "retry.h"

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
        cmocka_unit_test(test_retry_defaults),
        cmocka_unit_test(test_retry_kinds),
        cmocka_unit_test(test_circuit_opens_at_threshold),
        cmocka_unit_test(test_circuit_half_open_probe),
        cmocka_unit_test(test_circuit_reset_and_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
