/* src/store/replay.h — replay jobs and bulk retries in the store
 * (docs/api.md "Replay", "Bulk retry"; src/store/replay.c, one file per
 * backend: src/store/sqlite/replay.c, src/store/pg/replay.c).
 *
 * A replay job re-delivers a window of stored events to one destination as
 * new deliveries, each tried once (no retry, never dead-lettered: success or
 * failed). Its events are chosen when it is created (the API scans and
 * filters them: hs_store_replay_scan) and stored with it in received order
 * (table replay_items); the job row keeps a cursor, the position of the last
 * one enqueued. The runner (src/delivery/replay.c) enqueues the next few at
 * the job's rate with hs_store_replay_step, which writes the deliveries and
 * moves the cursor in ONE transaction: after a crash the job goes on from
 * the cursor, and no event is enqueued twice.
 *
 * Several nodes: a job runs on one node at a time. hs_store_replay_claim
 * takes (or renews) the running jobs whose runner is this node, none, or
 * one whose claim expired; a step is refused (HS_ERR_STALE) unless the job
 * is still running, claimed by this node, and at the cursor the caller
 * expects. So two nodes never enqueue the same item.
 *
 * Threads: the writes (create, cancel, claim, step, bulk retry) are sync,
 * on any thread but a loop's; the reads on any thread.
 * Ownership: outputs are the caller's (hs_replay_jobs_free, hs_free).
 */
#ifndef HS_STORE_REPLAY_H
#define HS_STORE_REPLAY_H

#include "store/store.h"

#define HS_REPLAY_RATE_DEFAULT 10
#define HS_REPLAY_RATE_MAX 100
#define HS_REPLAY_EVENTS_DEFAULT 1000
#define HS_REPLAY_EVENTS_MAX 10000
#define HS_BULK_RETRY_MAX 10000    /* deliveries one bulk retry requeues at most */
#define HS_BULK_RETRY_DEFAULT 1000 /* ...and without a limit: one write of about 0.4 s on SQLite */

typedef struct hs_replay_job {
    char id[HS_ID_MAX]; /* "rpl_..." */
    char destination_id[HS_ID_MAX];
    char source_id[HS_ID_MAX];     /* "": every source routed to the destination */
    char connection_id[HS_ID_MAX]; /* "": none (no connection transform) */
    char status[16];               /* running | completed | failed | cancelled */
    char error[160];               /* why it failed ("" otherwise) */
    json_t *filter;                /* the filter rules it was created with, or NULL (owned) */
    uint64_t from, to;             /* the window, ms, inclusive */
    int rate;                      /* events per second */
    uint64_t total;                /* events chosen */
    uint64_t cursor;               /* how many of them were enqueued */
    /* counted from its deliveries (reads only) */
    uint64_t processed, succeeded, failed;
    uint64_t created_at, started_at, completed_at; /* ms; 0: not yet */
    char runner[HS_NODE_ID_MAX];                   /* the node running it ("" none) */
    uint64_t runner_until;                         /* its claim's expiry (ms) */
} hs_replay_job;
void hs_replay_jobs_free(hs_replay_job *jobs, size_t n);

/* The candidate events of a job, oldest first (received_at, then id): the
 * ids of those of the sources named with from <= received_at <= to, after
 * (after_at, after_id) when after_id is not "". At most limit. (Their
 * contents, for filter rules: hs_store_event_get.) */
typedef struct hs_replay_scan {
    const char *const *source_ids;
    size_t nsources;
    uint64_t from, to;
    uint64_t after_at;
    const char *after_id;
    size_t limit;
} hs_replay_scan;
typedef struct hs_replay_event {
    char id[HS_ID_MAX];
    uint64_t received_at;
} hs_replay_event;
int hs_store_replay_scan(hs_store *s, const hs_replay_scan *q, hs_replay_event **items, size_t *n, hs_error *err);

/* Store a new job (status running, cursor 0, total n) and its events, in
 * that order. job->id and the window's fields are the caller's; created_at
 * is set here. */
int hs_store_replay_create(hs_store *s, hs_replay_job *job, const char (*event_ids)[HS_ID_MAX], size_t n,
                           hs_error *err);
/* One job with its counts; HS_ERR_NOTFOUND. (free with hs_replay_jobs_free(out, 1)) */
int hs_store_replay_get(hs_store *s, const char *id, hs_replay_job *out, hs_error *err);
/* Newest first, page->limit at most, after page->cursor; those of
 * destination_id only unless it is NULL. */
int hs_store_replay_list(hs_store *s, const hs_page *page, const char *destination_id, hs_replay_job **out, size_t *n,
                         bool *has_more, hs_error *err);
/* running -> cancelled (completed_at now): nothing more is enqueued.
 * HS_ERR_NOTFOUND; HS_ERR_CONFLICT when it is over already. */
int hs_store_replay_cancel(hs_store *s, const char *id, hs_error *err);

/* Claim for node (until now + ttl_ms, the database's clock where several
 * nodes share it) every running job it holds already, that nobody holds,
 * or whose claim expired; *out: the jobs it holds now. */
int hs_store_replay_claim(hs_store *s, const char *node, uint64_t ttl_ms, hs_replay_job **out, size_t *n,
                          hs_error *err);

/* One step of a job: enqueue up to max of its next events as pending
 * deliveries (one attempt each) and move the cursor past them, provided
 * the job is running, claimed by node and its cursor is still `cursor`
 * (else HS_ERR_STALE, nothing written). An event deleted meanwhile is
 * skipped. Once every event is enqueued and none of its deliveries is
 * pending any more the job is completed; a destination deleted fails it.
 * Out: the deliveries made (hand them to the scheduler: they are pending,
 * as a requeue's), the new cursor and status. */
typedef struct hs_replay_step {
    const char *job_id, *node;
    uint64_t cursor;
    size_t max;
    /* out */
    hs_delivery *queued; /* hs_free */
    size_t n;
    uint64_t new_cursor;
    char status[16];
} hs_replay_step;
int hs_store_replay_step(hs_store *s, hs_replay_step *st, hs_error *err);

/* Bulk retry (POST /v1/delivery-attempts/retry): the deliveries that have a
 * dead-lettered attempt matching the filters (any NULL/0 is no filter;
 * from/to on the attempt's time, inclusive), oldest first, at most limit,
 * go back to pending as a manual retry would send them
 * (hs_store_attempt_retry); those whose destination was deleted are left
 * (counted in nskipped). *more: matches were left beyond the limit. */
typedef struct hs_bulk_retry {
    const char *destination_id, *connection_id;
    uint64_t from, to;
    size_t limit;
} hs_bulk_retry;
int hs_store_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *out, bool *more, hs_error *err);

#endif
