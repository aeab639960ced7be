/* src/base/loops.h — the server's loop threads: loop 0 is the caller's
 * (the server's main loop), loops 1..n-1 each run on a thread of their own,
 * started at once and idle until given work. Each loop has a mailbox
 * (src/base/mailbox.h), current on its thread.
 *
 * Everything of a loop is done on its thread: a module that keeps state on
 * every loop builds it there with hs_loops_run_sync (at start, blocking)
 * or by posting to the loop's mailbox (while serving).
 *
 * Threading: every function on loop 0's thread.
 */
#ifndef HS_LOOPS_H
#define HS_LOOPS_H

#include <stddef.h>
#include <uv.h>

#include "base/error.h"
#include "base/mailbox.h"

#define HS_LOOPS_MAX 64

typedef struct hs_loops hs_loops;

/* n loops (1..HS_LOOPS_MAX), loop 0 being home (whose mailbox home_mb is
 * current on this thread); starts the n-1 threads. */
int hs_loops_new(uv_loop_t *home, hs_mailbox *home_mb, size_t n, hs_loops **out, hs_error *err);
size_t hs_loops_count(const hs_loops *l);
uv_loop_t *hs_loops_loop(const hs_loops *l, size_t i);
hs_mailbox *hs_loops_mailbox(const hs_loops *l, size_t i);

/* fn(i, ud) on loop i's thread; returns once it has run (loop 0: at once). */
void hs_loops_run_sync(hs_loops *l, size_t i, void (*fn)(size_t i, void *ud), void *ud);

/* fn(i, ud) on each loop i but 0, on its thread (fn NULL: nothing), then
 * done(ud) on loop 0 once every other loop has run it (at once when there
 * is one loop). A barrier too: each loop has first run everything posted
 * to it before this call, and what that posted to loop 0 in turn has run
 * there before done. */
void hs_loops_each(hs_loops *l, void (*fn)(size_t i, void *ud), void (*done)(void *ud), void *ud);

/* Ends the threads: each loop runs until its handles are closed (whoever
 * opened them closes them first), then its thread is joined. Blocks. */
void hs_loops_stop(hs_loops *l);
void hs_loops_free(hs_loops *l);

#endif
