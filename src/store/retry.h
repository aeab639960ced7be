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

/* Free what r holds and zero it. */
void hs__event_retry_clear(hs_event_retry *r);

#endif
