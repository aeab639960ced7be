/* src/store/pool.h — a backend's read connections (src/store/pool.c).
 * Private to src/store/.
 *
 * Reads run on any thread, each on a connection borrowed from the pool and
 * given back: at most `max` are open, opened lazily (outside the lock), and
 * a caller waits while all are lent. A snapshot (hs_store_snapshot_begin)
 * pins one connection to the calling thread inside a read transaction:
 * every read of that thread on that pool goes through it until the
 * snapshot ends. The connections are the backend's own (void *); the pool
 * calls the backend's hs__pool_ops for everything that speaks to the
 * engine. Thread-safe.
 */
#ifndef HS_STORE_POOL_H
#define HS_STORE_POOL_H

#include <pthread.h>

#include "base/error.h"

typedef struct hs__pool_ops {
    /* A new connection (ctx: hs__pool.ctx), or NULL with err filled and
     * nothing left open. */
    void *(*open)(void *ctx, hs_error *err);
    /* A connection taken from the free list, before it is lent: HS_OK when
     * it can be used (reconnecting it if need be), else err filled (it goes
     * back to the free list). NULL: always usable. */
    int (*check)(void *conn, hs_error *err);
    /* Close and free one. */
    void (*close)(void *conn);
    /* Start the read transaction of a snapshot (err filled on failure), and
     * end it. */
    int (*snapshot_begin)(void *conn, hs_error *err);
    void (*snapshot_end)(void *conn);
} hs__pool_ops;

typedef struct hs__pool {
    const hs__pool_ops *ops;
    void *ctx;
    int max;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void **idle; /* the free list, a stack (the last given back is lent first) */
    int nidle;
    int open; /* connections opened (or being opened) */
    int out;  /* connections lent to callers */
} hs__pool;

void hs__pool_init(hs__pool *p, const hs__pool_ops *ops, void *ctx, int max);
/* Wait until every connection is back, and close them all. */
void hs__pool_drain(hs__pool *p);
/* Free the pool itself (drained, or never used). */
void hs__pool_free(hs__pool *p);

/* Borrow a connection: this thread's snapshot's when it has one on p, else
 * one of the pool's (blocks while all are lent); NULL with err filled. */
void *hs__pool_get(hs__pool *p, hs_error *err);
/* Give it back (a snapshot's stays pinned until the snapshot ends). */
void hs__pool_put(hs__pool *p, void *conn);

/* hs_store_snapshot_begin/end: pin a connection to this thread inside a
 * read transaction; one snapshot per thread at a time. */
int hs__pool_snapshot_begin(hs__pool *p, hs_error *err);
void hs__pool_snapshot_end(hs__pool *p);

#endif
