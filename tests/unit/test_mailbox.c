/* test_mailbox.c — src/base/mailbox.h: messages from many threads arrive
 * once each, in each poster's order; drain, expect and close. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/alloc.h"
#include "base/mailbox.h"

#define PRODUCERS 4
#define PER_PRODUCER 100000

typedef struct note {
    hs_msg msg;
    int producer;
    int n;
} note;

typedef struct tally {
    int next[PRODUCERS]; /* the n each producer's next note must carry */
    long total;
    int out_of_order;
    hs_mailbox *mb;
} tally;

static tally g_tally;

static void count(hs_msg *m) {
    note *x = (note *)m;
    if (x->n != g_tally.next[x->producer]) g_tally.out_of_order++;
    g_tally.next[x->producer] = x->n + 1;
    g_tally.total++;
    hs_free(x);
    hs_mailbox_answered(g_tally.mb);
    if (g_tally.total == (long)PRODUCERS * PER_PRODUCER) hs_mailbox_close(g_tally.mb, NULL);
}

typedef struct producer {
    pthread_t th;
    int id;
    hs_mailbox *mb;
} producer;

static void *produce(void *arg) {
    producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        note *x = hs_calloc(1, sizeof *x);
        x->producer = p->id;
        x->n = i;
        hs_mailbox_post(p->mb, &x->msg, count);
    }
    return NULL;
}

/* Four threads post 100,000 messages each while the loop runs them: every
 * one arrives once, each thread's in its order; the expectations keep the
 * loop alive until the last, which closes the mailbox and so ends it. */
static void test_many_producers(void **state) {
    (void)state;
    uv_loop_t loop;
    hs_mailbox mb;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(hs_mailbox_init(&mb, &loop), 0);
    memset(&g_tally, 0, sizeof g_tally);
    g_tally.mb = &mb;
    for (long i = 0; i < (long)PRODUCERS * PER_PRODUCER; i++) hs_mailbox_expect(&mb);
    producer p[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i].id = i;
        p[i].mb = &mb;
        assert_int_equal(pthread_create(&p[i].th, NULL, produce, &p[i]), 0);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < PRODUCERS; i++) pthread_join(p[i].th, NULL);
    assert_int_equal(g_tally.total, (long)PRODUCERS * PER_PRODUCER);
    assert_int_equal(g_tally.out_of_order, 0);
    for (int i = 0; i < PRODUCERS; i++) assert_int_equal(g_tally.next[i], PER_PRODUCER);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int g_runs;
static void bump(hs_msg *m) {
    g_runs++;
    hs_free(m);
}

static int g_closed;
static void on_closed(hs_mailbox *mb) {
    (void)mb;
    g_closed++;
}

/* drain runs what was posted without the loop; a mailbox nobody expects
 * answers on does not keep its loop alive; close runs what is left first,
 * then its callback; current is per thread. */
static void test_drain_expect_close(void **state) {
    (void)state;
    uv_loop_t loop;
    hs_mailbox mb;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(hs_mailbox_init(&mb, &loop), 0);
    hs_mailbox_set_current(&mb);
    assert_ptr_equal(hs_mailbox_current(), &mb);
    g_runs = 0;
    hs_mailbox_post(&mb, hs_calloc(1, sizeof(hs_msg)), bump);
    hs_mailbox_post(&mb, hs_calloc(1, sizeof(hs_msg)), bump);
    hs_mailbox_drain(&mb);
    assert_int_equal(g_runs, 2);
    hs_mailbox_drain(&mb); /* nothing runs twice */
    assert_int_equal(g_runs, 2);
    /* not expected: the loop does not wait for it (it ends at once) */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
    hs_mailbox_expect(&mb);
    assert_int_not_equal(uv_run(&loop, UV_RUN_NOWAIT), 0); /* alive: an answer is awaited */
    hs_mailbox_answered(&mb);
    hs_mailbox_post(&mb, hs_calloc(1, sizeof(hs_msg)), bump);
    g_closed = 0;
    hs_mailbox_close(&mb, on_closed);
    assert_int_equal(g_runs, 3); /* ran before the close */
    assert_null(hs_mailbox_current());
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(g_closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_producers),
        cmocka_unit_test(test_drain_expect_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
