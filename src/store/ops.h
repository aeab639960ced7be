/* src/store/ops.h — what the store keeps for operating hookstream: issues
 * (one per destination and error type), notification channels and alert
 * rules (docs/api.md "Issues", "Notification channels", "Alert rules"),
 * and the windowed counts alert rules are evaluated over. src/ops/ holds
 * the logic; this is storage only (src/store/ops.c: argument checks and the
 * writer's ops; each backend's ops.c: the SQL).
 *
 * Threads: as the rest of store.h — writes are sync (they block until
 * their group commits) and reads run on a read connection; any thread but
 * a loop's.
 *
 * Several nodes (PostgreSQL): an issue is keyed by (destination_id,
 * error_type), unique in the table, so two nodes recording the same key
 * meet on one row; an alert rule's firing is claimed with a conditional
 * UPDATE (hs_store_rule_claim), so that only one node sends it.
 */
#ifndef HS_STORE_OPS_H
#define HS_STORE_OPS_H

#include "store/store.h"

#define HS_ISSUE_RECENT_MAX 10   /* attempt ids an issue remembers, newest first */
#define HS_ISSUE_ERROR_MAX 512   /* bytes of an issue's last error kept */
#define HS_ISSUE_RECENT_TEXT 600 /* the JSON array of those ids, as text */

/* One issue as stored. Times in ms; 0: none. */
typedef struct hs_issue {
    char id[HS_ID_MAX]; /* "iss_..." */
    char destination_id[HS_ID_MAX];
    char error_type[16]; /* http_4xx | http_5xx | timeout | connection | circuit_open | provider */
    char status[16];     /* open | acknowledged | resolved */
    uint64_t count;      /* occurrences since the issue was first opened */
    uint64_t first_seen_at, last_seen_at, opened_at, acknowledged_at, resolved_at, snoozed_until;
    uint64_t created_at, updated_at;
    char last_error[HS_ISSUE_ERROR_MAX];
    char recent_attempt_ids[HS_ISSUE_RECENT_TEXT]; /* JSON array text, newest first */
} hs_issue;

/* One occurrence: a delivery dead-lettered or a circuit opened. */
typedef struct hs_issue_hit {
    const char *destination_id;
    const char *error_type;
    const char *attempt_id; /* NULL or "": none */
    const char *message;    /* the attempt's error, may be NULL */
    uint64_t at;            /* ms */
} hs_issue_hit;

/* Record a hit (write): the issue of its key is created (status open), or
 * counted; a resolved one is reopened (the same issue, status open again).
 * *out: the issue after it; *opened: this hit opened it (new or reopened). */
int hs_store_issue_hit(hs_store *s, const hs_issue_hit *h, hs_issue *out, bool *opened, hs_error *err);
/* n hits in one write (one commit: a storm of dead letters costs one per
 * batch), in order; out[i] and opened[i] as above. All or none. */
int hs_store_issue_hits(hs_store *s, const hs_issue_hit *hits, size_t n, hs_issue *out, bool *opened, hs_error *err);

typedef struct hs_issue_query {
    const char *status;         /* NULL: any */
    const char *destination_id; /* NULL: any */
    hs_page page;               /* newest first (id descending) */
} hs_issue_query;
/* *items of *n (hs_free). */
int hs_store_issue_list(hs_store *s, const hs_issue_query *q, hs_issue **items, size_t *n, bool *has_more,
                        hs_error *err);
/* HS_ERR_NOTFOUND when there is none. */
int hs_store_issue_get(hs_store *s, const char *id, hs_issue *out, hs_error *err);
/* How many issues are in each status. */
typedef struct hs_issue_counts {
    uint64_t open, acknowledged, resolved;
} hs_issue_counts;
int hs_store_issue_counts(hs_store *s, hs_issue_counts *out, hs_error *err);

/* A change asked through the API (write): status (NULL: kept) and
 * snoozed_until (set_snooze: written, 0 clears it). Acknowledging sets
 * acknowledged_at, resolving resolved_at, reopening clears both.
 * HS_ERR_NOTFOUND when there is none. */
typedef struct hs_issue_change {
    const char *status;
    bool set_snooze;
    uint64_t snoozed_until;
    uint64_t now;
} hs_issue_change;
int hs_store_issue_update(hs_store *s, const char *id, const hs_issue_change *c, hs_issue *out, hs_error *err);
/* Resolve (write) every issue not resolved whose last occurrence is before
 * `before`; *n: how many. */
int hs_store_issue_resolve_quiet(hs_store *s, uint64_t before, uint64_t now, size_t *n, hs_error *err);

/* ---- notification channels and alert rules: JSON documents ---- */

typedef enum hs_opsdoc_kind { HS_OPSDOC_CHANNEL = 0, HS_OPSDOC_RULE, HS_OPSDOC_KINDS } hs_opsdoc_kind;

/* One row: the doc as text (its secrets as the caller sealed them), the
 * columns looked up, and an alert rule's firing state. */
typedef struct hs_opsdoc {
    char id[HS_ID_MAX]; /* "nch_..." | "alr_..." */
    char type[32];      /* channel_type | rule_type */
    bool enabled;
    char *text; /* heap (hs_free; hs_opsdoc_free frees arrays of rows) */
    uint64_t created_at, updated_at;
    uint64_t last_fired_at; /* rules: the last firing claimed (0: never) */
    bool firing;            /* rules: fired and not resolved since */
} hs_opsdoc;
void hs_opsdoc_free(hs_opsdoc *rows, size_t n); /* the texts, then the array */

/* A notification channel's secret (its doc's config.secret, bound to the
 * channel's id) sealed or opened, as hs_secret_codec's functions (kind is
 * ignored): the caller seals a channel's doc before hs_store_opsdoc_put and
 * opens it after a read (src/ops/channels.h); hs_store_reseal checks and
 * re-seals the channels' rows with the resources'. */
extern const hs_secret_codec hs_channel_secret_codec;

/* Insert (create) or replace the doc of an existing row (HS_ERR_NOTFOUND
 * when none); rows' times are the store's. */
int hs_store_opsdoc_put(hs_store *s, hs_opsdoc_kind kind, bool create, const hs_opsdoc *row, hs_error *err);
int hs_store_opsdoc_delete(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_error *err);
/* HS_ERR_NOTFOUND when there is none; out->text is the caller's. */
int hs_store_opsdoc_get(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_opsdoc *out, hs_error *err);
/* A page, newest first (page.limit 1..100), or every row (page NULL). */
int hs_store_opsdoc_list(hs_store *s, hs_opsdoc_kind kind, const hs_page *page, hs_opsdoc **rows, size_t *n,
                         bool *has_more, hs_error *err);

/* An alert rule's state changes, each a conditional UPDATE (write):
 * fire: last_fired_at = now and firing, only when it never fired or last
 * fired cooldown_ms or more before now; clear: firing off, only when it was
 * on. *claimed: this call changed the row (its caller sends the notice). */
int hs_store_rule_claim(hs_store *s, const char *id, bool fire, uint64_t now, uint64_t cooldown_ms, bool *claimed,
                        hs_error *err);

/* ---- notifications: the outbox (schema: SQLite step 10, PostgreSQL 8) ----
 * A notification is written before it is sent and settled after: sent,
 * or after its last attempt failed (kept, with its error, until
 * --retention). A pending one is sent by the node that claims it: a lease
 * (claimed_by, claimed_until) taken by a conditional UPDATE, so that of
 * several nodes one sends it; a node that dies while it holds one lets it
 * go when the lease runs out. Times are the store's clock (PostgreSQL: the
 * database's, hs_now_ms(), which several nodes agree on; the `now`
 * arguments are then ignored). src/ops/ decides the schedule. */

#define HS_NOTIFICATION_ERROR_MAX 400

typedef struct hs_notification {
    char id[HS_ID_MAX];         /* "ntf_..." */
    char channel_id[HS_ID_MAX]; /* "nch_..." */
    char type[32];              /* alert.firing | alert.resolved | issue.opened */
    char *notice;               /* JSON text {"title","text","data"} (heap; hs_notification_free) */
    char status[16];            /* pending | sent | failed */
    int attempts, max_attempts;
    uint64_t next_attempt_at; /* pending: not tried again before */
    char last_error[HS_NOTIFICATION_ERROR_MAX];
    char claimed_by[HS_NODE_ID_MAX]; /* "": none */
    uint64_t claimed_until;
    uint64_t created_at, updated_at;
} hs_notification;
void hs_notification_free(hs_notification *v, size_t n); /* the notices, then the array */

/* Insert n (write; its id, channel_id, type, notice and max_attempts;
 * status pending, no attempt yet), claimed by node for lease_ms: its
 * creator sends it at once. */
int hs_store_notification_add(hs_store *s, const hs_notification *n, const char *node, uint64_t lease_ms,
                              hs_error *err);
/* Claim (write) up to limit pending notifications due by now, not claimed
 * or their lease run out (mine_too: or claimed by node already, as after a
 * restart of the same node), oldest due first, for lease_ms: *out of *n
 * (hs_notification_free). A read first: when none is due the writer is
 * not asked (every node looks every second). */
int hs_store_notification_claim(hs_store *s, const char *node, uint64_t lease_ms, size_t limit, bool mine_too,
                                hs_notification **out, size_t *n, hs_error *err);
/* An attempt's outcome (write), only while node holds the claim (*mine:
 * it did): attempts counted, the claim let go, and status sent, failed
 * (error kept), or pending again (error kept) retry_in_ms after now.
 * count false: no attempt was made (a stop cancelled it): the claim only
 * is let go. */
typedef struct hs_notification_outcome {
    const char *status; /* sent | failed | pending */
    const char *error;  /* NULL: "" */
    uint64_t retry_in_ms;
    bool count;
} hs_notification_outcome;
int hs_store_notification_settle(hs_store *s, const char *id, const char *node, const hs_notification_outcome *o,
                                 bool *mine, hs_error *err);
typedef struct hs_notification_query {
    const char *status;     /* NULL: any */
    const char *channel_id; /* NULL: any */
    hs_page page;           /* newest first (id descending) */
} hs_notification_query;
int hs_store_notification_list(hs_store *s, const hs_notification_query *q, hs_notification **items, size_t *n,
                               bool *has_more, hs_error *err);
/* HS_ERR_NOTFOUND when there is none; out->notice is the caller's. */
int hs_store_notification_get(hs_store *s, const char *id, hs_notification *out, hs_error *err);
/* Delete (write) up to limit settled (sent or failed) notifications
 * created before `before`; *n: how many. */
int hs_store_notification_prune(hs_store *s, uint64_t before, size_t limit, size_t *n, hs_error *err);

/* ---- what alert rules are evaluated over (reads) ---- */

typedef struct hs_window_query {
    const char *destination_id; /* NULL: any */
    const char *source_id;      /* NULL: any (attempts: of the source's events) */
    uint64_t since, until;      /* [since, until) ms */
} hs_window_query;
typedef struct hs_window_stats {
    uint64_t attempts, failed; /* delivery attempts made in the window, those that failed */
    uint64_t dead_lettered;    /* attempts dead-lettered in the window */
    uint64_t avg_ms, p95_ms;   /* of the attempts' durations (0 when none) */
    uint64_t events;           /* events received in the window */
} hs_window_stats;
int hs_store_window_stats(hs_store *s, const hs_window_query *q, hs_window_stats *out, hs_error *err);

#endif
