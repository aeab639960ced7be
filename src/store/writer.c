/* src/store/writer.c — the group commit, shared by every store backend.
 *
 * One writer thread executes every write. Callers queue requests (hs_wop);
 * the writer takes everything queued (up to HS_STORE_MAX_GROUP) and runs it
 * as one transaction of the backend (src/store/backend.h):
 *
 *     begin
 *       savepoint; <op 1>; release          (or rollback_to: fails op 1 only)
 *       savepoint; <op 2>; release
 *       ...
 *     flush; commit                         (the durable part: an fsync)
 *
 * and only after the commit returns completes the ops: sync callers are
 * woken from their condvar, async ones (ingests, attempt records) are
 * posted to the mailbox of the loop thread that submitted them
 * (src/base/mailbox.h). While one
 * group commits the next accumulates, so the cost of making a commit
 * durable is shared by every request that arrived meanwhile. If the
 * transaction cannot commit, every op of the group fails with HS_ERR_IO and
 * nothing is acknowledged; the next group simply tries again.
 *
 * The route cache (src/store/routing.c) is dropped after every op with a
 * savepoint (it may have changed a source, destination or connection) and
 * with a failed group (its routes may have been read inside it).
 */
#include <signal.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "store/routing.h"
#include "store/writer.h"

/* Run one op, inside its savepoint unless it runs bare. False when the
 * enclosing transaction is gone (the engine rolled it back on an I/O error,
 * or the op failed after writing), in which case the group cannot commit;
 * *why then says what happened, when the op's own error does not. */
static bool run_op(hs_store *s, hs_wop *op, hs_error *why) {
    const hs_store_backend *be = s->be;
    hs_error_clear(&op->err);
    hs_error_clear(why);
    op->wrote = false;
    if (op->no_savepoint) {
        /* Ingests and attempt records, the hot paths, skip the savepoint:
         * they fail, if at all, before they write (unknown source), or on a
         * database error, which sets op->wrote and fails the group. */
        op->status = op->exec(s, op);
        if (op->status != HS_OK && op->err.code == HS_OK) op->err.code = op->status;
        return !op->wrote && be->in_transaction(s);
    }
    int rc = be->savepoint(s, &op->err);
    if (rc != HS_OK) {
        op->status = rc;
        return false;
    }
    op->status = op->exec(s, op);
    if (op->status != HS_OK && op->err.code == HS_OK) op->err.code = op->status;
    if (!op->keeps_routes) hs__routes_clear(s); /* it may have changed a source, destination or connection */
    if (op->status == HS_OK) {
        rc = be->release(s, why);
    } else {
        rc = be->rollback_to(s, why);
        if (rc == HS_OK) rc = be->release(s, why);
    }
    return rc == HS_OK && be->in_transaction(s);
}

/* On the submitting thread's loop: the write is committed (or failed). */
static void run_completion(hs_msg *m) {
    hs_wop *op = (hs_wop *)m; /* msg is the op's first member */
    hs_mailbox_answered(op->home);
    op->complete(op); /* may free op */
}

/* Hand the results over: async ops go to their loops, sync callers wake.
 * Once posted (or, for a sync op, after the unlock) an op may be freed by
 * its owner at any moment. */
static void complete_ops(hs_store *s, hs_wop *ops) {
    hs_wop *sync = NULL;
    for (hs_wop *op = ops, *next; op; op = next) {
        next = op->next;
        if (op->complete) {
            hs_mailbox_post(op->home, &op->msg, run_completion);
        } else {
            op->next = sync;
            sync = op;
        }
    }
    if (!sync) return;
    pthread_mutex_lock(&s->lock);
    for (hs_wop *op = sync; op; op = op->next) op->done = true;
    pthread_cond_broadcast(&s->done_cond);
    pthread_mutex_unlock(&s->lock);
}

const uint64_t hs_store_commit_le_us[HS_STORE_HIST_BUCKETS] = {100,   250,   500,   1000,   2500,   5000,
                                                               10000, 25000, 50000, 100000, 250000, 1000000};
const uint64_t hs_store_batch_le[HS_STORE_HIST_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

size_t hs_store_hist_bucket(const uint64_t *le, uint64_t v) {
    size_t i = 0;
    while (i < HS_STORE_HIST_BUCKETS && v > le[i]) i++;
    return i;
}

static void fail_group(hs_store *s, hs_wop *group, const hs_error *why) {
    hs__routes_clear(s); /* routes read inside the rolled-back transaction */
    s->be->discard(s);
    hs__arrivals_clear(&s->arrivals);
    if (s->be->in_transaction(s)) {
        hs_error e;
        if (s->be->rollback(s, &e) != HS_OK) hs_warn("store: %s", e.msg);
    }
    for (hs_wop *op = group; op; op = op->next) {
        if (op->status == HS_OK && op->undo) op->undo(op);
        op->status = HS_ERR_IO;
        op->err = *why;
        op->err.code = HS_ERR_IO;
    }
    hs_error_log("store: a write transaction failed, nothing in it was acknowledged: %s", why->msg);
}

static void run_group(hs_store *s, hs_wop *group, size_t n) {
    const hs_store_backend *be = s->be;
    hs_error why;
    hs_error_clear(&why);
    uint64_t commit_ns = 0, committed_ns = 0;
    bool ok = be->begin(s, &why) == HS_OK;
    for (hs_wop *op = group; ok && op; op = op->next) {
        /* an op with a savepoint may read or change what the deferred
         * writes change: write them first */
        if (!op->no_savepoint && be->flush(s, &why) != HS_OK) {
            ok = false;
            break;
        }
        hs_error tx;
        if (!run_op(s, op, &tx)) {
            hs_error_set(&why, HS_ERR_IO, NULL, "transaction aborted: %s",
                         op->err.msg[0] ? op->err.msg
                         : tx.msg[0]    ? tx.msg
                                        : "the transaction was rolled back");
            ok = false;
        }
    }
    if (ok && be->flush(s, &why) != HS_OK) ok = false;
    if (ok) {
        uint64_t t0 = hs_monotonic_ns();
        ok = be->commit(s, &why) == HS_OK;
        committed_ns = hs_monotonic_ns();
        commit_ns = committed_ns - t0;
    }
    uint64_t ok_ops = 0;
    for (hs_wop *op = group; ok && op; op = op->next) {
        ok_ops += op->status == HS_OK;
        if (op->ing && op->status == HS_OK) {
            op->ing->commit_no = ++s->ingests_committed;
            op->ing->committed_ns = committed_ns;
        }
    }
    pthread_mutex_lock(&s->lock);
    if (ok) {
        s->stats.commits++;
        s->stats.ops_committed += ok_ops;
        s->stats.commit_ns_total += commit_ns;
        s->stats.batch_total += n;
        s->stats.commit_us_hist[hs_store_hist_bucket(hs_store_commit_le_us, commit_ns / 1000)]++;
        s->stats.batch_hist[hs_store_hist_bucket(hs_store_batch_le, n)]++;
    } else {
        s->stats.commit_failures++;
    }
    s->stats.last_batch_size = n;
    pthread_mutex_unlock(&s->lock);
    if (!ok) fail_group(s, group, &why);
    complete_ops(s, group);
}

/* Under s->lock: how long op waited for its group (it begins at now). */
static void count_wait(hs_store *s, const hs_wop *op, uint64_t now) {
    uint64_t waited = now > op->queued_ns ? now - op->queued_ns : 0;
    s->stats.wait_us_hist[hs_store_hist_bucket(hs_store_commit_le_us, waited / 1000)]++;
    s->stats.wait_ns_total += waited;
}

static void *writer_main(void *arg) {
    hs_store *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->q_head && !s->closing) pthread_cond_wait(&s->work_cond, &s->lock);
        if (!s->q_head) break; /* closing, and everything queued is done */
        hs_wop *group = s->q_head, *last = group;
        size_t n = 1;
        uint64_t now = hs_monotonic_ns();
        count_wait(s, group, now);
        while (n < HS_STORE_MAX_GROUP && last->next) {
            last = last->next;
            count_wait(s, last, now);
            n++;
        }
        s->q_head = last->next;
        if (!s->q_head) s->q_tail = NULL;
        last->next = NULL;
        s->q_len -= n;
        s->stats.queue_depth = s->q_len;
        pthread_mutex_unlock(&s->lock);
        run_group(s, group, n);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int enqueue_locked(hs_store *s, hs_wop *op, hs_error *err) {
    if (s->closing) return hs_error_set(err, HS_ERR_CLOSED, NULL, "the store is shutting down");
    if (s->q_len >= HS_STORE_MAX_QUEUE)
        return hs_error_set(err, HS_ERR_BUSY, NULL, "the write queue is full (%d requests waiting)",
                            HS_STORE_MAX_QUEUE);
    op->next = NULL;
    op->status = HS_ERR_IO; /* what an op that never runs reports */
    op->queued_ns = hs_monotonic_ns();
    if (s->q_tail)
        s->q_tail->next = op;
    else
        s->q_head = op;
    s->q_tail = op;
    s->q_len++;
    s->stats.queue_depth = s->q_len;
    pthread_cond_signal(&s->work_cond);
    return HS_OK;
}

int hs__writer_submit(hs_store *s, hs_wop *op, hs_error *err) {
    /* the writer waiting for itself would never wake */
    if (s->thread_started && pthread_equal(pthread_self(), s->thread))
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "store write called on the writer thread");
    op->done = false;
    op->ing = NULL;
    op->complete = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = enqueue_locked(s, op, err);
    if (rc == HS_OK) {
        s->sync_waiters++;
        while (!op->done) pthread_cond_wait(&s->done_cond, &s->lock);
        /* hs__writer_stop waits for this before the lock is destroyed */
        if (--s->sync_waiters == 0 && s->closing) pthread_cond_broadcast(&s->done_cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc != HS_OK) return rc;
    if (op->status != HS_OK) {
        if (err) *err = op->err;
        return op->status;
    }
    hs_error_clear(err);
    return HS_OK;
}

/* ---- async completions, on the submitting thread's loop ---- */

int hs__writer_submit_async(hs_store *s, hs_wop *op, hs_error *err) {
    op->home = hs_mailbox_current();
    if (!op->home)
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "async store writes need a loop thread with a mailbox");
    pthread_mutex_lock(&s->lock);
    int rc = enqueue_locked(s, op, err);
    pthread_mutex_unlock(&s->lock);
    if (rc != HS_OK) return rc;
    hs_mailbox_expect(op->home); /* the loop stays alive until the answer */
    return HS_OK;
}

/* ---- life cycle ---- */

void hs__writer_init(hs_store *s) {
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work_cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
}

void hs__writer_destroy(hs_store *s) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work_cond);
    pthread_cond_destroy(&s->done_cond);
}

/* Signals belong to the loop thread (uv_signal_t): the writer blocks them. */
int hs__writer_start(hs_store *s, hs_error *err) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return hs_error_set(err, HS_ERR_IO, NULL, "cannot start the store writer thread: %s", strerror(rc));
    pthread_setname_np(s->thread, "hs-writer"); /* what top -H and perf show */
    s->thread_started = true;
    return HS_OK;
}

void hs__writer_stop(hs_store *s) {
    pthread_mutex_lock(&s->lock);
    s->closing = true; /* from now on enqueue refuses: HS_ERR_CLOSED */
    pthread_cond_broadcast(&s->work_cond);
    pthread_mutex_unlock(&s->lock);
    /* the writer leaves only once the queue is empty, so everything accepted
     * has been committed (or failed) and completed when join returns */
    if (s->thread_started) pthread_join(s->thread, NULL);
    if (s->stats.commits)
        hs_info("store: %llu writes in %llu commits (%.1f per commit), %.3f ms per commit",
                (unsigned long long)s->stats.ops_committed, (unsigned long long)s->stats.commits,
                (double)s->stats.ops_committed / (double)s->stats.commits,
                (double)s->stats.commit_ns_total / 1e6 / (double)s->stats.commits);
    hs_mailbox *mb = hs_mailbox_current(); /* the calling loop's completions; other loops run theirs */
    if (mb) hs_mailbox_drain(mb);
    /* sync callers woken by the last group may not have left the lock yet */
    pthread_mutex_lock(&s->lock);
    while (s->sync_waiters > 0) pthread_cond_wait(&s->done_cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void hs_store_get_stats(hs_store *s, hs_store_stats *out) {
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->queue_depth = s->q_len;
    pthread_mutex_unlock(&s->lock);
}
