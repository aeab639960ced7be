/* test_hooks.c — the hook registry (src/core/hooks.c): subscribers run in
 * registration order with their own user data, each hook reaches only its
 * own subscribers, and a hook nobody subscribed to (or no registry) does
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "core/hooks.h"

/* What the subscribers saw, in order: one letter per call (their ud). */
static char seen[64];

static void note(void *ud) {
    size_t n = strlen(seen);
    if (n + 1 >= sizeof seen) return;
    seen[n] = *(const char *)ud;
    seen[n + 1] = '\0';
}

static void on_ingest(hs_ingest *ing, void *ud) {
    note(ud);
    ing->body_len++; /* subscribers may change the ingest: the next one sees it */
}
static void on_resource(const hs_resource_event *e, void *ud) {
    assert_int_equal(e->kind, HS_KIND_DESTINATION);
    assert_int_equal(e->change, HS_CHANGE_DELETED);
    assert_string_equal(e->id, "dst_1");
    assert_null(e->doc);
    note(ud);
}
static void on_requeued(const hs_delivery *d, size_t n, void *ud) {
    assert_int_equal(n, 2);
    assert_string_equal(d[1].id, "dlv_2");
    note(ud);
}
static void on_attempt(const hs_attempt_event *e, void *ud) {
    assert_int_equal(e->a->attempt_number, 3);
    assert_int_equal(e->latency_ms, 42);
    assert_string_equal(e->dest->circuit, "open");
    note(ud);
}
static void on_circuit(const hs_dest_status *st, void *ud) {
    assert_string_equal(st->id, "dst_1");
    note(ud);
}

static void test_none(void **state) {
    (void)state;
    hs_hooks h;
    memset(&h, 0, sizeof h);
    hs_ingest ing = {0};
    hs_resource_event re = {.kind = HS_KIND_SOURCE, .id = "src_1"};
    hs_dest_status st = {.id = "dst_1"};
    hs_attempt_rec a = {0};
    hs_attempt_event ae = {.a = &a, .dest = &st};
    seen[0] = '\0';
    /* nobody subscribed, or no registry at all: nothing happens */
    for (const hs_hooks *p = &h;; p = NULL) {
        hs_hooks_ingest(p, &ing);
        hs_hooks_resource(p, &re);
        hs_hooks_requeued(p, NULL, 0);
        hs_hooks_attempt_decided(p, &ae);
        hs_hooks_attempt_recorded(p, &ae);
        hs_hooks_circuit_reset(p, &st);
        if (!p) break;
    }
    assert_string_equal(seen, "");
    assert_int_equal(ing.body_len, 0);
}

static void test_order(void **state) {
    (void)state;
    hs_hooks h;
    memset(&h, 0, sizeof h);
    static const char ids[] = "abcdefgh";
    /* as many as a hook holds, in a known order */
    for (int i = 0; i < HS_HOOKS_MAX; i++) hs_hooks_on_ingest(&h, on_ingest, (void *)&ids[i]);
    seen[0] = '\0';
    hs_ingest ing = {0};
    hs_hooks_ingest(&h, &ing);
    char want[HS_HOOKS_MAX + 1];
    memcpy(want, ids, HS_HOOKS_MAX);
    want[HS_HOOKS_MAX] = '\0';
    assert_string_equal(seen, want);
    assert_int_equal(ing.body_len, HS_HOOKS_MAX); /* each saw the ingest, in turn */
    /* again: the registry is not consumed by firing */
    seen[0] = '\0';
    hs_hooks_ingest(&h, &ing);
    assert_string_equal(seen, want);
}

/* Several hooks, several subscribers: each hook calls its own, in order. */
static void test_several(void **state) {
    (void)state;
    hs_hooks h;
    memset(&h, 0, sizeof h);
    static const char S = 's', M = 'm', L = 'l';
    hs_hooks_on_resource(&h, on_resource, (void *)&S);
    hs_hooks_on_resource(&h, on_resource, (void *)&M);
    hs_hooks_on_requeued(&h, on_requeued, (void *)&S);
    hs_hooks_on_attempt_decided(&h, on_attempt, (void *)&M);
    hs_hooks_on_attempt_recorded(&h, on_attempt, (void *)&L);
    hs_hooks_on_circuit_reset(&h, on_circuit, (void *)&L);

    seen[0] = '\0';
    hs_resource_event re = {.kind = HS_KIND_DESTINATION, .change = HS_CHANGE_DELETED, .id = "dst_1"};
    hs_hooks_resource(&h, &re);
    assert_string_equal(seen, "sm");

    seen[0] = '\0';
    hs_delivery d[2];
    memset(d, 0, sizeof d);
    snprintf(d[1].id, sizeof d[1].id, "%s", "dlv_2");
    hs_hooks_requeued(&h, d, 2);
    assert_string_equal(seen, "s");

    seen[0] = '\0';
    hs_attempt_rec a = {.attempt_number = 3};
    hs_dest_status st = {.id = "dst_1", .circuit = "open"};
    hs_attempt_event ae = {.a = &a, .dest = &st, .latency_ms = 42};
    hs_hooks_attempt_decided(&h, &ae);
    assert_string_equal(seen, "m");
    hs_hooks_attempt_recorded(&h, &ae);
    assert_string_equal(seen, "ml");
    hs_hooks_circuit_reset(&h, &st);
    assert_string_equal(seen, "mll");

    /* a hook with no subscribers stays silent beside the others */
    seen[0] = '\0';
    hs_ingest ing = {0};
    hs_hooks_ingest(&h, &ing);
    assert_string_equal(seen, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_several),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
