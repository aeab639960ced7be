/* src/base/mailbox.h — how one loop thread hands work to another: a
 * mailbox per loop, into which any thread posts messages that the loop's
 * own thread then runs, in the order they were posted.
 *
 * A message is a struct of the poster's with an hs_msg first (or anywhere:
 * the run function gets the hs_msg back and finds its struct). Posting is
 * one atomic exchange on an intrusive queue (many producers, one consumer:
 * no lock, no allocation) and a uv_async_send, which libuv coalesces: the
 * loop wakes once for however many messages arrived meanwhile. Whoever
 * posts a message gives it away; the run function owns it (frees it, or
 * posts it back: a request and its answer can be the same message).
 *
 * Every thread that runs a loop with a mailbox makes it that thread's
 * current one (hs_mailbox_set_current): the store completes an async write
 * in the mailbox of the thread that submitted it, so the completion runs
 * on that thread's loop.
 *
 * The mailbox's uv_async does not keep its loop alive by itself: a loop
 * that waits for answers (a write's commit, a reply from another loop)
 * says so with hs_mailbox_expect, and each answer run ends one expectation.
 *
 * Threading: post from any thread; everything else on the owning loop's
 * thread.
 */
#ifndef HS_MAILBOX_H
#define HS_MAILBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <uv.h>

typedef struct hs_msg hs_msg;
typedef void (*hs_msg_fn)(hs_msg *m);

struct hs_msg {
    _Atomic(hs_msg *) next;
    hs_msg_fn run;
};

typedef struct hs_mailbox {
    uv_async_t async;
    _Atomic(hs_msg *) head; /* producers push here (the newest) */
    hs_msg *tail;           /* the consumer pops here (the oldest) */
    hs_msg stub;
    size_t expected; /* answers the loop waits for (owner thread) */
    void (*closed)(struct hs_mailbox *mb);
} hs_mailbox;

/* On the owning loop's thread. */
int hs_mailbox_init(hs_mailbox *mb, uv_loop_t *loop);
/* Any thread: m runs as run(m) on the mailbox's loop. After a close has
 * begun nothing may be posted (the poster's protocol ensures it). */
void hs_mailbox_post(hs_mailbox *mb, hs_msg *m, hs_msg_fn run);
/* Run now what has been posted so far (owner thread), as the loop would at
 * its next wake-up: a caller that must see every answer posted before a
 * point (src/api/resources.c: the store's completions of ingests committed
 * before a deletion). */
void hs_mailbox_drain(hs_mailbox *mb);
/* The loop waits for one more answer (it stays alive until then); each
 * run of a message posted as an answer ends one with hs_mailbox_answered.
 * Owner thread. */
void hs_mailbox_expect(hs_mailbox *mb);
void hs_mailbox_answered(hs_mailbox *mb);
/* Close the async handle (owner thread): messages posted before still run
 * first; closed(mb) runs once the handle is closed (may free mb). */
void hs_mailbox_close(hs_mailbox *mb, void (*closed)(hs_mailbox *mb));

/* The mailbox of the calling thread's loop, or NULL. */
hs_mailbox *hs_mailbox_current(void);
void hs_mailbox_set_current(hs_mailbox *mb);

#endif
