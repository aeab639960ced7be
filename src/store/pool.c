/* src/store/pool.c — a backend's read connections and the snapshot that
 * pins one to a thread (src/store/pool.h). Any thread: the pool's state is
 * under its lock; a pinned connection belongs to its thread.
 */
#include "base/alloc.h"
#include "store/pool.h"

/* A connection this thread holds in a read transaction (hs_store_snapshot):
 * its reads on that pool all go through it. */
static _Thread_local void *pinned;
static _Thread_local const hs__pool *pinned_pool;

void hs__pool_init(hs__pool *p, const hs__pool_ops *ops, void *ctx, int max) {
    p->ops = ops;
    p->ctx = ctx;
    p->max = max;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->idle = hs_calloc((size_t)max, sizeof *p->idle);
    p->nidle = p->open = p->out = 0;
}

void hs__pool_drain(hs__pool *p) {
    pthread_mutex_lock(&p->lock);
    while (p->out > 0) pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    while (p->nidle > 0) p->ops->close(p->idle[--p->nidle]);
    p->open = 0;
}

void hs__pool_free(hs__pool *p) {
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    hs_free(p->idle);
    p->idle = NULL;
}

static void pool_put(hs__pool *p, void *conn) {
    pthread_mutex_lock(&p->lock);
    p->idle[p->nidle++] = conn;
    p->out--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *pool_get(hs__pool *p, hs_error *err) {
    pthread_mutex_lock(&p->lock);
    while (!p->nidle && p->open >= p->max) pthread_cond_wait(&p->cond, &p->lock);
    if (p->nidle) {
        void *conn = p->idle[--p->nidle];
        p->out++;
        pthread_mutex_unlock(&p->lock);
        if (!p->ops->check || p->ops->check(conn, err) == HS_OK) return conn;
        pool_put(p, conn);
        return NULL;
    }
    p->open++; /* reserve the slot, open outside the lock */
    p->out++;
    pthread_mutex_unlock(&p->lock);

    void *conn = p->ops->open(p->ctx, err);
    if (conn) return conn;
    pthread_mutex_lock(&p->lock);
    p->open--;
    p->out--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void *hs__pool_get(hs__pool *p, hs_error *err) {
    if (pinned && pinned_pool == p) return pinned;
    return pool_get(p, err);
}

void hs__pool_put(hs__pool *p, void *conn) {
    if (conn == pinned) return; /* given back when the snapshot ends */
    pool_put(p, conn);
}

int hs__pool_snapshot_begin(hs__pool *p, hs_error *err) {
    if (pinned) return hs_error_set(err, HS_ERR_INTERNAL, NULL, "a snapshot is already open on this thread");
    void *conn = pool_get(p, err);
    if (!conn) return err->code;
    int rc = p->ops->snapshot_begin(conn, err);
    if (rc != HS_OK) {
        pool_put(p, conn);
        return rc;
    }
    pinned = conn;
    pinned_pool = p;
    return HS_OK;
}

void hs__pool_snapshot_end(hs__pool *p) {
    void *conn = pinned;
    if (!conn || pinned_pool != p) return;
    pinned = NULL;
    pinned_pool = NULL;
    p->ops->snapshot_end(conn);
    pool_put(p, conn);
}
