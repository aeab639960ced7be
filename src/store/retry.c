/* src/store/retry.c — what a manual retry may requeue, for every backend
 * (src/store/retry.h). Writer thread.
 */
#include <string.h>

#include "base/alloc.h"
#include "store/retry.h"

static bool retryable(const char *status) { return strcmp(status, "dlq") == 0 || strcmp(status, "failed") == 0; }

int hs__retry_check(const char *delivery_id, const hs_delivery *d, hs__destination_exists_fn exists, void *ctx,
                    hs_error *err) {
    if (!d || !retryable(d->status))
        return hs_error_set(err, HS_ERR_CONFLICT, NULL,
                            "delivery %s is %s; only dead-lettered or failed deliveries can be retried", delivery_id,
                            d ? d->status : "gone");
    bool found = false;
    int rc = exists(ctx, d->destination_id, &found, err);
    if (rc == HS_OK && !found)
        rc = hs_error_set(err, HS_ERR_CONFLICT, NULL, "delivery %s cannot be retried: destination %s was deleted",
                          delivery_id, d->destination_id);
    return rc;
}

/* Split the retryable deliveries in place: those whose destination exists
 * stay in queued, the others move to skipped. */
static int split_deleted(hs_event_retry *r, hs__destination_exists_fn exists, void *ctx, hs_error *err) {
    r->skipped = hs_malloc((r->n ? r->n : 1) * sizeof *r->skipped);
    size_t keep = 0;
    for (size_t i = 0; i < r->n; i++) {
        bool found = false;
        int rc = exists(ctx, r->queued[i].destination_id, &found, err);
        if (rc != HS_OK) return rc;
        if (found)
            r->queued[keep++] = r->queued[i];
        else
            r->skipped[r->nskipped++] = r->queued[i];
    }
    r->n = keep;
    return HS_OK;
}

int hs__retry_split(const char *event_id, hs_event_retry *r, hs__destination_exists_fn exists, void *ctx,
                    hs_error *err) {
    int rc = split_deleted(r, exists, ctx, err);
    if (rc == HS_OK && r->n == 0 && r->nskipped == 0)
        rc = hs_error_set(err, HS_ERR_CONFLICT, NULL, "event %s has no dead-lettered or failed deliveries", event_id);
    else if (rc == HS_OK && r->n == 0)
        rc = hs_error_set(err, HS_ERR_CONFLICT, NULL,
                          "event %s has nothing to retry: destination %s was deleted (%zu dead-lettered "
                          "deliveries to deleted destinations)",
                          event_id, r->skipped[0].destination_id, r->nskipped);
    return rc;
}

int hs__bulk_requeue(hs_store *s, const hs__requeue_ops *ops, const char *const *ids, size_t nids, hs_event_retry *r,
                     hs_error *err) {
    r->queued = hs_malloc((nids ? nids : 1) * sizeof *r->queued);
    r->skipped = hs_malloc((nids ? nids : 1) * sizeof *r->skipped);
    int ret = HS_OK;
    for (size_t i = 0; ret == HS_OK && i < nids; i++) {
        hs_delivery *d = NULL;
        size_t n = 0;
        bool exists = false;
        ret = ops->load(ops->ctx, ids[i], &d, &n, err);
        bool dlq = ret == HS_OK && n && strcmp(d->status, "dlq") == 0;
        if (dlq) ret = ops->exists(ops->ctx, d->destination_id, &exists, err);
        if (dlq && ret == HS_OK && exists) ret = ops->requeue(s, d, err);
        if (dlq && ret == HS_OK) {
            if (exists)
                r->queued[r->n++] = *d;
            else
                r->skipped[r->nskipped++] = *d;
        }
        hs_free(d);
    }
    return ret;
}

const char *hs__attempt_delivery_status(const hs_attempt_rec *a) {
    if (a->success) return "delivered";
    if (a->is_dlq) return "dlq";
    return a->next_retry_at ? "pending" : "failed";
}

bool hs__attempt_failed_for_good(const hs_attempt_rec *a) { return !a->success && (a->is_dlq || !a->next_retry_at); }

void hs__event_retry_clear(hs_event_retry *r) {
    hs_free(r->queued);
    hs_free(r->skipped);
    memset(r, 0, sizeof *r);
}
