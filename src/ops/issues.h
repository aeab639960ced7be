/* src/ops/issues.h — issues (docs/api.md "Issues"): one per destination
 * and error type, opened by a delivery dead-lettered or a circuit opening
 * (the hooks of src/ops/ops.h), counting its occurrences and remembering
 * the last attempts; resolved by itself once quiet for --issue-resolve-after
 * (default 30 min). A new occurrence on a resolved issue reopens the same
 * issue (status open again; count keeps counting), which fires the
 * issue_opened alert rules as a new one does, unless it is snoozed.
 *
 * Threads: the hooks and the tick on loop 0; the store's writes in one job
 * at a time on the threadpool, up to 256 hits per write (hits batched
 * meanwhile, at most HS_ISSUE_HITS_MAX waiting: beyond, a hit is logged
 * and dropped).
 */
#ifndef HS_OPS_ISSUES_H
#define HS_OPS_ISSUES_H

#include "ops/ops.h"

#define HS_ISSUE_HITS_MAX 4096

/* The error type of a failed attempt on a destination of dest_type: its
 * HTTP status class, else timeout, else connection (http destinations) or
 * provider (the others). */
const char *hs_issue_error_type(const hs_attempt_rec *a, const char *dest_type);
/* The issue as the API shows it (a new object). */
json_t *hs_issue_json(const hs_issue *i);
/* Loop: resolve the issues quiet for long enough (a job). */
void hs_issues_tick(hs_ops *o);

#endif
