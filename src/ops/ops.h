/* src/ops/ops.h — operating hookstream: issues (src/ops/issues.h), alert
 * rules (src/ops/alerts.h) and the notifications they send on channels
 * (src/ops/channels.h, src/ops/notify.h), wired together and to the hooks.
 *
 * Issues are opened from the attempt_recorded hook (a delivery
 * dead-lettered) and the circuit_changed hook (a circuit opened): these
 * fire on the node that owns the destination, so an issue is opened where
 * the dead letter happens. Alert rules are evaluated every
 * --alert-interval on every node; a firing is claimed in the store first
 * (hs_store_rule_claim), so one node sends it.
 *
 * Notifications are durable (src/ops/outbox.c): the job that decides one
 * writes it to the store's outbox (src/store/ops.h "Notifications"),
 * claimed by this node, before the loop sends it; each attempt's outcome
 * is written back (sent, failed after its last attempt, or pending until
 * its retry is due). A timer on loop 0 claims the pending ones due (at
 * start too: those a restart or a kill -9 left) and sends them; settled
 * ones older than --retention are deleted.
 *
 * Threads: hs_ops lives on loop 0 (its hooks fire there, its timers and
 * its notifications run there); its store calls run in jobs on libuv's
 * threadpool, at most one of each kind at a time, never on the loop and
 * never on the delivery path. The API's handlers (threadpool) read
 * `store`, `box` and the config, which never change after hs_ops_new.
 *
 * Ownership: `hookstream serve` owns the hs_ops: hs_ops_stop, then
 * hs_ops_free once the loop is done.
 */
#ifndef HS_OPS_OPS_H
#define HS_OPS_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/secretbox.h"
#include "core/hooks.h"
#include "ops/notify.h"
#include "store/ops.h"

#define HS_ISSUE_RESOLVE_AFTER_DEFAULT_MS (30ULL * 60 * 1000) /* --issue-resolve-after */
#define HS_ALERT_INTERVAL_DEFAULT_MS (60ULL * 1000)           /* --alert-interval */
#define HS_OUTBOX_POLL_MS 1000                                /* pending notifications due are looked for */
#define HS_OUTBOX_LEASE_MS (120ULL * 1000) /* a claim on one (longer than a send, e-mail's queue included) */
#define HS_OUTBOX_BATCH 50                 /* claimed per look */

typedef struct hs_ops_config {
    uint64_t resolve_after_ms;  /* an issue quiet this long resolves itself */
    uint64_t alert_interval_ms; /* alert rules are evaluated this often */
    const char *smtp_url;       /* NULL: e-mail channels fail */
    const char *smtp_from;      /* NULL: hookstream@localhost */
    int notify_attempts;        /* tries of one notification (0: HS_NOTIFY_ATTEMPTS) */
    uint64_t retention_ms;      /* settled notifications older than this go (0: kept) */
} hs_ops_config;

/* What one job found to send: a notice per channel (loop: sent, freed). */
typedef struct hs_outbox_item {
    json_t *channel; /* clear doc */
    hs_notice notice;
    char id[HS_ID_MAX];         /* its row in the store's outbox ("": not stored, retried in memory) */
    int attempts, max_attempts; /* made before this one; of the row */
} hs_outbox_item;
typedef struct hs_outbox {
    hs_outbox_item *v;
    size_t n, cap;
} hs_outbox;

typedef struct hs_ops {
    uv_loop_t *loop;
    hs_store *store;
    const hs_secretbox *box; /* secrets at rest (borrowed) */
    hs_ops_config cfg;
    hs_notify *notify;
    uv_timer_t resolve_timer, alert_timer, outbox_timer;
    char node[HS_NODE_ID_MAX]; /* claims in the outbox are this node's (set by hs_ops_start) */
    /* outcomes waiting for the settle job (loop; src/ops/outbox.c) */
    struct hs__settle *settles;
    size_t nsettles;
    bool outbox_job, settle_job, restarted; /* restarted: the first look took back this node's claims */
    uint64_t pruned_at;                     /* the last pruning of settled notifications */
    /* hits waiting for the issue job (loop; src/ops/issues.c) */
    struct hs__pending_hit *hits;
    size_t nhits;
    bool issue_job, resolve_job, alert_job; /* one of each in flight at most */
    size_t jobs;                            /* in flight, all kinds */
    bool stopping;
    size_t closing; /* handles not yet closed */
    void (*stopped)(void *ud);
    void *stopped_ud;
} hs_ops;

/* Loop 0, before it runs. cfg's strings are copied by the notifier. */
hs_ops *hs_ops_new(uv_loop_t *loop, hs_store *store, const hs_secretbox *box, const hs_ops_config *cfg);
/* Start the timers (issues resolving themselves, alert rules, the outbox:
 * the pending notifications due are sent at once). After the store's node
 * id is set (src/cluster/): the outbox's claims carry it. */
void hs_ops_start(hs_ops *o);
/* Stop: no new job, the timers and notifier closed, and, once the jobs in
 * flight have ended, done(ud) called (loop 0; o may be NULL). The hooks
 * may still fire on o afterwards (a store completion run as the store
 * closes): they are ignored. */
void hs_ops_stop(hs_ops *o, void (*done)(void *ud), void *ud);
/* After hs_ops_stop's done, once no hook can fire any more (loop 0). */
void hs_ops_free(hs_ops *o);

/* Hook subscribers (ud: the hs_ops). */
void hs_ops_on_attempt(const hs_attempt_event *e, void *ud);
void hs_ops_on_circuit(const hs_circuit_event *e, void *ud);

/* ---- for src/ops/ ---- */
/* Queue fn/after on the threadpool as one of o's jobs, unless *busy (one
 * of the kind is out), o is stopping or it could not be queued: then
 * arg is freed (hs_free) and nothing runs. *busy is true until after has
 * run (on the loop). */
void hs__ops_job(hs_ops *o, bool *busy, void (*fn)(void *arg), void (*after)(void *arg), void *arg);
/* As hs__ops_job, but queued while o is stopping too (until its stop is
 * done): what must reach the store before it closes. */
void hs__ops_job_final(hs_ops *o, bool *busy, void (*fn)(void *arg), void (*after)(void *arg), void *arg);
/* src/ops/outbox.c. Add a notice for channel (a clear doc, copied) to
 * box; the notice's strings and data are copied; the item's row is the
 * caller's to fill. */
hs_outbox_item *hs__outbox_add(hs_outbox *box, const json_t *channel, const hs_notice *n);
/* Loop: send everything in box (unless stopping) and empty it. */
void hs__outbox_send(hs_ops *o, hs_outbox *box);
/* The enabled channels of ids (a JSON array), read and unsealed, each
 * given n, written to the store's outbox (threadpool). Channels gone or
 * unreadable are logged and skipped. */
void hs__outbox_channels(hs_ops *o, const json_t *ids, const hs_notice *n, hs_outbox *box);
/* Loop: look for the pending notifications due (the outbox timer). */
void hs__outbox_tick(hs_ops *o);

#endif
