/* src/ops/alerts.h — alert rules (docs/api.md "Alert rules"): what a
 * rule's document may hold, and when a rule fires.
 *
 *   failure_rate  failed / all attempts in the window, in %, >= threshold
 *                 (with at least min_attempts attempts)
 *   latency       the attempts' p95 (or avg) duration in ms >= threshold
 *   volume_drop   events received in the window < threshold, or fewer by
 *                 drop_percent % or more than in the window before
 *   dlq           deliveries dead-lettered in the window >= threshold
 *   issue_opened  an issue opened (or reopened): at once, from the hit
 *
 * A rule's window is rule_config.window_minutes (a number: fractions are
 * allowed) back from the evaluation; source_id / destination_id narrow
 * what is counted (volume_drop: source_id only; issue_opened:
 * destination_id only). The others than issue_opened are evaluated every
 * --alert-interval. A rule fires at most once per cooldown_minutes (while
 * its condition holds, again after each cooldown), and sends a resolved
 * notice once its condition clears. Both are claimed in the store first
 * (hs_store_rule_claim): with several nodes only the node whose claim
 * changed the row sends.
 *
 * Threads: validation is pure (any thread); hs_alerts_issue_opened and
 * hs_rule_check_refs read and write the store (threadpool); hs_alerts_tick
 * on loop 0 (it starts a job).
 */
#ifndef HS_OPS_ALERTS_H
#define HS_OPS_ALERTS_H

#include "ops/ops.h"

/* A POST body validated into *doc (a new doc with a new "alr_" id), or a
 * PATCH merged onto current and validated (rule_config replaced whole when
 * given). HS_ERR_INVALID names the field ("rule_config.threshold"). */
int hs_rule_create_doc(const json_t *body, json_t **doc, hs_error *err);
int hs_rule_patch_doc(const json_t *current, const json_t *patch, json_t **doc, hs_error *err);
/* The source, destination and channels doc names exist (HS_ERR_INVALID
 * naming the field when one does not). */
int hs_rule_check_refs(hs_store *store, const json_t *doc, hs_error *err);

/* Threadpool: the issue_opened rules iss matches fire (their claims
 * made), their notices added to box. */
void hs_alerts_issue_opened(hs_ops *o, const hs_issue *iss, hs_outbox *box);
/* Loop: evaluate every rule (a job; skipped while the last still runs). */
void hs_alerts_tick(hs_ops *o);

#endif
