/* src/base/loops.c — the server's loop threads (src/base/loops.h).
 *
 * A thread's loop stays alive on an expectation of its mailbox, released
 * by the quit message hs_loops_stop posts; its loop then ends once the
 * last handle another module opened on it is closed.
 */
#include "base/loops.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"

typedef struct thread {
    pthread_t th;
    bool started;
    uv_loop_t loop;
    hs_mailbox mb;
    uv_sem_t ready; /* the thread has made its mailbox current */
} thread;

struct hs_loops {
    size_t n;
    uv_loop_t *home;
    hs_mailbox *home_mb;
    thread *t; /* t[i - 1] is loop i's */
};

static void *thread_main(void *arg) {
    thread *t = arg;
    hs_mailbox_set_current(&t->mb);
    uv_sem_post(&t->ready);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Loop threads take no signal: they belong to the home loop. */
static int start_thread(thread *t, size_t index, hs_error *err) {
    uv_loop_init(&t->loop);
    hs_mailbox_init(&t->mb, &t->loop);
    hs_mailbox_expect(&t->mb); /* alive until the quit message */
    uv_sem_init(&t->ready, 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->th, NULL, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        hs_mailbox_answered(&t->mb);
        hs_mailbox_close(&t->mb, NULL);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
        uv_sem_destroy(&t->ready);
        return hs_error_set(err, HS_ERR_IO, NULL, "cannot start a loop thread: %s", strerror(rc));
    }
    uv_sem_wait(&t->ready);
    t->started = true;
    char name[16];
    snprintf(name, sizeof name, "hs-loop-%zu", index);
    pthread_setname_np(t->th, name); /* what top -H and perf show */
    return HS_OK;
}

int hs_loops_new(uv_loop_t *home, hs_mailbox *home_mb, size_t n, hs_loops **out, hs_error *err) {
    *out = NULL;
    if (n < 1 || n > HS_LOOPS_MAX) return hs_error_set(err, HS_ERR_INVALID, NULL, "1 to %d loop threads", HS_LOOPS_MAX);
    hs_loops *l = hs_calloc(1, sizeof *l);
    l->home = home;
    l->home_mb = home_mb;
    l->t = hs_calloc(n, sizeof *l->t);
    l->n = n;
    for (size_t i = 1; i < n; i++) {
        int rc = start_thread(&l->t[i - 1], i, err);
        if (rc != HS_OK) { /* those started end again */
            hs_loops_stop(l);
            hs_loops_free(l);
            return rc;
        }
    }
    *out = l;
    return HS_OK;
}

size_t hs_loops_count(const hs_loops *l) { return l ? l->n : 1; }

uv_loop_t *hs_loops_loop(const hs_loops *l, size_t i) { return i == 0 ? l->home : &l->t[i - 1].loop; }

hs_mailbox *hs_loops_mailbox(const hs_loops *l, size_t i) { return i == 0 ? l->home_mb : &l->t[i - 1].mb; }

typedef struct sync_msg {
    hs_msg msg;
    size_t i;
    void (*fn)(size_t i, void *ud);
    void *ud;
    uv_sem_t done;
} sync_msg;

static void run_sync_msg(hs_msg *m) {
    sync_msg *x = (sync_msg *)m;
    x->fn(x->i, x->ud);
    uv_sem_post(&x->done);
}

void hs_loops_run_sync(hs_loops *l, size_t i, void (*fn)(size_t i, void *ud), void *ud) {
    if (i == 0) {
        fn(0, ud);
        return;
    }
    sync_msg x = {.i = i, .fn = fn, .ud = ud};
    uv_sem_init(&x.done, 0);
    hs_mailbox_post(&l->t[i - 1].mb, &x.msg, run_sync_msg);
    uv_sem_wait(&x.done);
    uv_sem_destroy(&x.done);
}

/* The quit message: the thread's mailbox lets its loop end. */
typedef struct quit_msg {
    hs_msg msg;
    thread *t;
} quit_msg;

/* hs_loops_each: one message to every other loop and back. */
typedef struct each {
    hs_loops *l;
    size_t left;
    void (*fn)(size_t i, void *ud);
    void (*done)(void *ud);
    void *ud;
} each;

typedef struct each_msg {
    hs_msg msg;
    each *e;
    size_t i;
} each_msg;

static void each_one(each *e) {
    if (--e->left > 0) return;
    void (*done)(void *) = e->done;
    void *ud = e->ud;
    hs_free(e);
    done(ud);
}

static void run_each_back(hs_msg *m) {
    each_msg *x = (each_msg *)m;
    each *e = x->e;
    hs_free(x);
    hs_mailbox_answered(e->l->home_mb);
    each_one(e);
}

static void run_each(hs_msg *m) {
    each_msg *x = (each_msg *)m;
    if (x->e->fn) x->e->fn(x->i, x->e->ud);
    hs_mailbox_post(x->e->l->home_mb, &x->msg, run_each_back);
}

void hs_loops_each(hs_loops *l, void (*fn)(size_t i, void *ud), void (*done)(void *ud), void *ud) {
    each *e = hs_calloc(1, sizeof *e);
    e->l = l;
    e->left = l->n; /* the others, and one released below */
    e->fn = fn;
    e->done = done;
    e->ud = ud;
    for (size_t i = 1; i < l->n; i++) {
        each_msg *x = hs_calloc(1, sizeof *x);
        x->e = e;
        x->i = i;
        hs_mailbox_expect(l->home_mb);
        hs_mailbox_post(&l->t[i - 1].mb, &x->msg, run_each);
    }
    each_one(e);
}

static void run_quit_msg(hs_msg *m) {
    quit_msg *x = (quit_msg *)m;
    thread *t = x->t;
    hs_free(x);
    hs_mailbox_answered(&t->mb);
    hs_mailbox_close(&t->mb, NULL);
}

void hs_loops_stop(hs_loops *l) {
    size_t threads = l->n - 1;
    for (size_t k = 0; k < threads; k++) {
        thread *t = &l->t[k];
        if (!t->started) continue;
        quit_msg *x = hs_calloc(1, sizeof *x);
        x->t = t;
        hs_mailbox_post(&t->mb, &x->msg, run_quit_msg);
    }
    for (size_t k = 0; k < threads; k++) {
        thread *t = &l->t[k];
        if (!t->started) continue;
        pthread_join(t->th, NULL);
        uv_loop_close(&t->loop);
        uv_sem_destroy(&t->ready);
        t->started = false;
    }
}

void hs_loops_free(hs_loops *l) {
    if (!l) return;
    hs_free(l->t);
    hs_free(l);
}
