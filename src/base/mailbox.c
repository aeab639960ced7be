/* src/base/mailbox.c — the mailbox of a loop (src/base/mailbox.h).
 *
 * The queue is an intrusive list with a stub node, many producers and one
 * consumer: a producer swaps itself in as the newest (one atomic exchange)
 * and then links its predecessor to it. Between those two steps the list
 * is cut; the consumer then sees nothing past the cut and stops, which is
 * safe because that producer has not yet called uv_async_send: the loop
 * wakes again once it has.
 */
#include "base/mailbox.h"

#include <stdbool.h>

#include "base/log.h"

#define RUN_PER_WAKE 4096 /* then let the loop serve its other handles, and come back */

static _Thread_local hs_mailbox *g_current;

hs_mailbox *hs_mailbox_current(void) { return g_current; }
void hs_mailbox_set_current(hs_mailbox *mb) { g_current = mb; }

static void push(hs_mailbox *mb, hs_msg *m) {
    atomic_store_explicit(&m->next, NULL, memory_order_relaxed);
    hs_msg *prev = atomic_exchange_explicit(&mb->head, m, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, m, memory_order_release);
}

/* The oldest message, or NULL when there is none (or its producer is
 * between its two steps). */
static hs_msg *pop(hs_mailbox *mb) {
    hs_msg *tail = mb->tail;
    hs_msg *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &mb->stub) {
        if (!next) return NULL;
        mb->tail = tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next) {
        mb->tail = next;
        return tail;
    }
    if (tail != atomic_load_explicit(&mb->head, memory_order_acquire)) return NULL;
    push(mb, &mb->stub); /* tail is the last message: put the stub behind it */
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (!next) return NULL;
    mb->tail = next;
    return tail;
}

/* Run up to max messages; true when the queue looked empty. */
static bool run_some(hs_mailbox *mb, size_t max) {
    for (size_t i = 0; i < max; i++) {
        hs_msg *m = pop(mb);
        if (!m) return true;
        m->run(m);
    }
    return false;
}

static void on_async(uv_async_t *h) {
    hs_mailbox *mb = h->data;
    if (!run_some(mb, RUN_PER_WAKE)) uv_async_send(&mb->async);
}

int hs_mailbox_init(hs_mailbox *mb, uv_loop_t *loop) {
    atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&mb->head, &mb->stub, memory_order_relaxed);
    mb->tail = &mb->stub;
    mb->expected = 0;
    mb->closed = NULL;
    int rc = uv_async_init(loop, &mb->async, on_async);
    if (rc != 0) {
        hs_error_log("mailbox: uv_async_init: %s", uv_strerror(rc));
        return rc;
    }
    mb->async.data = mb;
    uv_unref((uv_handle_t *)&mb->async);
    return 0;
}

void hs_mailbox_post(hs_mailbox *mb, hs_msg *m, hs_msg_fn run) {
    m->run = run;
    push(mb, m);
    uv_async_send(&mb->async);
}

void hs_mailbox_drain(hs_mailbox *mb) {
    while (!run_some(mb, RUN_PER_WAKE)) {
    }
}

void hs_mailbox_expect(hs_mailbox *mb) {
    if (mb->expected++ == 0) uv_ref((uv_handle_t *)&mb->async);
}

void hs_mailbox_answered(hs_mailbox *mb) {
    if (mb->expected && --mb->expected == 0) uv_unref((uv_handle_t *)&mb->async);
}

static void on_closed(uv_handle_t *h) {
    hs_mailbox *mb = h->data;
    if (mb->closed) mb->closed(mb);
}

void hs_mailbox_close(hs_mailbox *mb, void (*closed)(hs_mailbox *mb)) {
    hs_mailbox_drain(mb);
    if (g_current == mb) g_current = NULL;
    mb->closed = closed;
    uv_close((uv_handle_t *)&mb->async, on_closed);
}
