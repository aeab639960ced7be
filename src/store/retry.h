/* src/store/retry.h — manual retries (hs_store_attempt_retry,
 * hs_store_event_retry): what may be retried, decided here for every
 * backend (src/store/retry.c). Private to src/store/.
 *
 * Only a dead-lettered or failed delivery goes back to pending, and never
 * one whose destination was deleted: nothing would send it. The backend
 * reads the rows, says whether a destination exists (a callback, read in
 * the retry's transaction: a delete is a write too, so it comes wholly
 * before, refused here, or wholly after, and cancels the requeued
 * delivery) and requeues. Writer thread, inside the op's savepoint.
 */
#ifndef HS_STORE_RETRY_H
#define HS_STORE_RETRY_H

#include "store/backend.h"

/* *exists: whether destination_id is (still) a destination. */
typedef int (*hs__destination_exists_fn)(void *ctx, const char *destination_id, bool *exists, hs_error *err);

/* May delivery delivery_id (d: its row, NULL when there is none) be
 * retried? HS_OK; HS_ERR_CONFLICT saying why not; or exists' failure. */
int hs__retry_check(const char *delivery_id, const hs_delivery *d, hs__destination_exists_fn exists, void *ctx,
                    hs_error *err);

/* r->queued (r->n of them, hs_malloc'd): event_id's dead-lettered or failed
 * deliveries. Those whose destination was deleted move to r->skipped (set
 * here); HS_ERR_CONFLICT when nothing is left to retry. On failure r still
 * holds what it had: hs__event_retry_clear it. */
int hs__retry_split(const char *event_id, hs_event_retry *r, hs__destination_exists_fn exists, void *ctx,
                    hs_error *err);

/* A bulk retry's part in every backend: each delivery of ids still
 * dead-lettered is requeued when its destination exists, else left in
 * r->skipped; others (requeued meanwhile, gone) are passed over. r->queued
 * and r->skipped are allocated here (room for nids). */
typedef struct hs__requeue_ops {
    void *ctx; /* the writer's connection */
    /* *d (hs_free) of *n (0: gone) */
    int (*load)(void *ctx, const char *delivery_id, hs_delivery **d, size_t *n, hs_error *err);
    hs__destination_exists_fn exists;
    int (*requeue)(hs_store *s, hs_delivery *d, hs_error *err);
} hs__requeue_ops;
int hs__bulk_requeue(hs_store *s, const hs__requeue_ops *ops, const char *const *ids, size_t nids, hs_event_retry *r,
                     hs_error *err);

/* Where an attempt leaves its delivery: delivered, dlq, pending (a retry
 * is planned) or failed (neither: a replay's one attempt failed). */
const char *hs__attempt_delivery_status(const hs_attempt_rec *a);
/* Did it end its delivery as a failure (dlq or failed)? */
bool hs__attempt_failed_for_good(const hs_attempt_rec *a);

/* Free what r holds and zero it. */
void hs__event_retry_clear(hs_event_retry *r);

#endif
