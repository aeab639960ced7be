/* src/core/hooks.h — how one module tells the others what happened without
 * knowing them: the API publishes a committed ingest, the scheduler an
 * attempt, and whoever cares (the scheduler, the metrics, the live feed)
 * subscribes.
 *
 *   hook              fired by                          subscribers, in order
 *   ingest            src/api/ingest.c, after commit    metrics, live feed, scheduler
 *   resource          src/api/resources.c, after write  scheduler, metrics, front door
 *   requeued          src/api/events.c (manual retry)   scheduler
 *   attempt_decided   src/delivery/scheduler.c          metrics
 *   attempt_recorded  src/delivery/scheduler.c          live feed, issues (src/ops/)
 *   circuit_reset     src/delivery/scheduler.c          live feed
 *   refused           src/api/ingest.c (front door)     metrics, live feed
 *   circuit_changed   src/delivery/scheduler.c          failure log, live feed, issues
 *
 * Subscribers run one after the other, in the order they were registered,
 * called directly (a fixed array per hook: firing allocates nothing, and
 * ingest and attempts fire thousands of times a second). `hookstream serve`
 * (src/app/main.c) registers them all at start, before the loop runs, and
 * says there why the order matters where it does; from then on the
 * registry is read only.
 *
 * Threading: every hook is fired on the server's loop thread, loop 0 of
 * src/base/loops.h (API handlers on the threadpool hand theirs back to the
 * loop, src/api/call.h; an ingest answered on another loop is posted to it,
 * and ingests fire in commit order, src/api/ingest.c; the scheduler's
 * shards post theirs, src/delivery/scheduler.c), so subscribers touch their
 * loop-owned state without locks. A subscriber must not fire a hook
 * itself.
 */
#ifndef HS_HOOKS_H
#define HS_HOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define HS_HOOKS_MAX 4 /* subscribers per hook */

/* One destination's live state (the scheduler's), for the metrics, the
 * dashboard and the live feed. */
typedef struct hs_dest_status {
    const char *id;
    const char *type;
    const char *circuit; /* closed | open | half_open */
    int consecutive_failures;
    size_t queued;
    int in_flight;
    /* deliveries its scheduler took from the store rather than from their
     * ingest (a backlog past the window, retries, a restart): a counter */
    uint64_t read_back;
} hs_dest_status;

typedef enum hs_change { HS_CHANGE_CREATED = 0, HS_CHANGE_UPDATED, HS_CHANGE_DELETED } hs_change;

/* A source, destination or connection was written. */
typedef struct hs_resource_event {
    hs_kind kind;
    hs_change change;
    const char *id;
    const json_t *doc; /* as stored, secrets in clear; NULL when deleted */
} hs_resource_event;

/* A delivery attempt. */
typedef struct hs_attempt_event {
    const hs_attempt_rec *a;
    const hs_dest_status *dest; /* the destination as the attempt left it */
    uint64_t latency_ms;        /* from the event's arrival to this answer; 0 unknown */
    /* the destination was deleted while the attempt was out: its series are
     * forgotten, the attempt counts server-wide only */
    bool destination_removed;
    /* attempt_decided: the circuit's state as the attempt found it (a
     * static name, as dest->circuit); NULL when not known */
    const char *circuit_before;
} hs_attempt_event;

/* An ingest the front door refused (IP lists 403, rate limit 429,
 * signature 401, JSON Schema 422): nothing was stored. */
typedef struct hs_refusal_event {
    const char *source_id;  /* the source's id (a request may name its slug) */
    int status;             /* 401, 403, 422 or 429 */
    const char *reason;     /* "ip_denied", "ip_not_allowed", "rate_limited", "signature_missing",
                               "signature_malformed", "timestamp_stale", "signature_mismatch",
                               "schema_invalid" */
    const char *message;    /* the error the sender was answered */
    const char *request_id; /* "req_..." */
    uint64_t at_ms;         /* when it was refused */
} hs_refusal_event;
/* An attempt moved a destination's circuit: closed -> open (opened),
 * half_open -> open (the probe failed), half_open -> closed (closed). A
 * manual reset is circuit_reset's. */
typedef struct hs_circuit_event {
    const hs_dest_status *dest; /* as the attempt left it */
    const char *from, *to;      /* closed | open | half_open */
    const hs_attempt_rec *a;    /* the attempt: why (response_status, error) */
} hs_circuit_event;

/* ingest: the event and its deliveries are committed. A subscriber may take
 * the body, content type and headers out of ing (the scheduler does, to
 * send first attempts without reading the event back), so those that read
 * them come before it. */
typedef void (*hs_on_ingest)(hs_ingest *ing, void *ud);
/* resource: fired before the API answers, so a client holding its 2xx sees
 * the change applied. A deletion is fired only after every ingest committed
 * before it has fired its own hook (the publisher runs the store's
 * completions first): no later ingest of the resource can follow. */
typedef void (*hs_on_resource)(const hs_resource_event *e, void *ud);
/* requeued: deliveries a manual retry put back to pending (committed). */
typedef void (*hs_on_requeued)(const hs_delivery *d, size_t n, void *ud);
/* attempt_decided: the outcome is known and its record about to be
 * committed (a->success, a->is_dlq, a->next_retry_at are final).
 * attempt_recorded: the record is committed (not fired when the commit
 * failed: the delivery stays pending and goes again). */
typedef void (*hs_on_attempt)(const hs_attempt_event *e, void *ud);
/* circuit_reset: POST .../circuit/reset committed; the destination after it. */
typedef void (*hs_on_circuit_reset)(const hs_dest_status *st, void *ud);
/* refused: an ingest refused at the front door (posted to loop 0 from the
 * loop that refused it, so refusals may fire after later ingests). */
typedef void (*hs_on_refused)(const hs_refusal_event *e, void *ud);
/* circuit_changed: fired right after the attempt_decided of the attempt
 * that moved it. */
typedef void (*hs_on_circuit_changed)(const hs_circuit_event *e, void *ud);

#define HS__HOOK_LIST(fn_type)                                                                                         \
    struct {                                                                                                           \
        struct {                                                                                                       \
            fn_type fn;                                                                                                \
            void *ud;                                                                                                  \
        } sub[HS_HOOKS_MAX];                                                                                           \
        size_t n;                                                                                                      \
    }

/* Zeroed: no subscribers. Owned by `hookstream serve`. */
typedef struct hs_hooks {
    HS__HOOK_LIST(hs_on_ingest) ingest;
    HS__HOOK_LIST(hs_on_resource) resource;
    HS__HOOK_LIST(hs_on_requeued) requeued;
    HS__HOOK_LIST(hs_on_attempt) attempt_decided;
    HS__HOOK_LIST(hs_on_attempt) attempt_recorded;
    HS__HOOK_LIST(hs_on_circuit_reset) circuit_reset;
    HS__HOOK_LIST(hs_on_refused) refused;
    HS__HOOK_LIST(hs_on_circuit_changed) circuit_changed;
} hs_hooks;

/* Register fn(…, ud) at the end of a hook's list. More than HS_HOOKS_MAX
 * subscribers to one hook is a programming error: logged, then abort. */
void hs_hooks_on_ingest(hs_hooks *h, hs_on_ingest fn, void *ud);
void hs_hooks_on_resource(hs_hooks *h, hs_on_resource fn, void *ud);
void hs_hooks_on_requeued(hs_hooks *h, hs_on_requeued fn, void *ud);
void hs_hooks_on_attempt_decided(hs_hooks *h, hs_on_attempt fn, void *ud);
void hs_hooks_on_attempt_recorded(hs_hooks *h, hs_on_attempt fn, void *ud);
void hs_hooks_on_circuit_reset(hs_hooks *h, hs_on_circuit_reset fn, void *ud);
void hs_hooks_on_refused(hs_hooks *h, hs_on_refused fn, void *ud);
void hs_hooks_on_circuit_changed(hs_hooks *h, hs_on_circuit_changed fn, void *ud);

/* Fire: every subscriber, in registration order (loop thread). h may be
 * NULL (nobody listens). */
void hs_hooks_ingest(const hs_hooks *h, hs_ingest *ing);
void hs_hooks_resource(const hs_hooks *h, const hs_resource_event *e);
void hs_hooks_requeued(const hs_hooks *h, const hs_delivery *d, size_t n);
void hs_hooks_attempt_decided(const hs_hooks *h, const hs_attempt_event *e);
void hs_hooks_attempt_recorded(const hs_hooks *h, const hs_attempt_event *e);
void hs_hooks_circuit_reset(const hs_hooks *h, const hs_dest_status *st);
void hs_hooks_refused(const hs_hooks *h, const hs_refusal_event *e);
void hs_hooks_circuit_changed(const hs_hooks *h, const hs_circuit_event *e);

#endif
