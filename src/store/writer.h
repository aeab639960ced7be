/* src/store/writer.h — the group commit every backend shares (src/store/writer.c).
 * Private to src/store/.
 *
 * A write is an hs_wop queued to the one writer thread; its exec function
 * runs inside the group transaction, under its own savepoint unless it is
 * one of the hot paths (no_savepoint: ingests and attempt records).
 */
#ifndef HS_STORE_WRITER_H
#define HS_STORE_WRITER_H

#include "base/mailbox.h"
#include "store/backend.h"

/* Runs on the writer thread inside the op's savepoint. Returns 0 or an
 * hs_err code with op->err filled. On failure it must leave no outputs. */
typedef int (*hs_wop_exec_fn)(hs_store *s, hs_wop *op);
/* Drops the outputs of an op that executed but whose group did not commit. */
typedef void (*hs_wop_undo_fn)(hs_wop *op);

struct hs_wop {
    hs_msg msg;       /* an async op's completion, posted to home */
    hs_mailbox *home; /* the mailbox of the thread that submitted it (async) */
    hs_wop *next;     /* writer queue */
    hs_wop_exec_fn exec;
    hs_wop_undo_fn undo;
    hs_ingest *ing; /* set: an ingest */
    /* set: an async op, completed on the submitting thread's loop by this
     * call (which may free the op); unset: a sync op, whose caller waits for
     * `done` */
    void (*complete)(hs_wop *op);
    int status;
    bool done; /* sync op: result is ready (under hs_store.lock) */
    hs_error err;
    /* arguments and result of sync ops (borrowed from the blocked caller) */
    hs_kind kind;
    json_t *doc;
    const char *id;
    const char *arg2;
    const char *arg3;
    bool no_savepoint;  /* runs bare; a failure after a write must set wrote */
    bool keeps_routes;  /* changes no source, destination or connection: the route cache stays */
    bool wrote;         /* the op changed the database before it failed */
    uint64_t queued_ns; /* monotonic, when it was queued (the wait's histogram) */
    hs_update_fn fn;
    void *ud;
    json_t *out;
};

/* The store's locks and condition variables; once, before anything else. */
void hs__writer_init(hs_store *s);
void hs__writer_destroy(hs_store *s);
/* Start the writer thread (the backend is open). */
int hs__writer_start(hs_store *s, hs_error *err);
/* Refuse new writes, commit what is queued, join the thread, run the
 * remaining completions of the calling thread's mailbox and wait for the
 * sync callers to leave. */
void hs__writer_stop(hs_store *s);
/* Queue an async op (op->complete set) from a thread with a mailbox
 * (src/base/mailbox.h); its completion runs on that thread's loop after
 * the commit. Refusals return at once. */
int hs__writer_submit_async(hs_store *s, hs_wop *op, hs_error *err);
/* Queue a sync op and wait for its group to commit. */
int hs__writer_submit(hs_store *s, hs_wop *op, hs_error *err);

#endif
