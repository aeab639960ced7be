/* src/store/backend.h — the seam between the store's shared machinery and a
 * storage engine. Private to src/store/ (and the store's tests).
 *
 * src/store/store.h is what the rest of hookstream calls. Behind it:
 *   src/store/store.c     the list of backends, open and close, the public
 *                         calls: their argument checks, then the backend's
 *                         read, or a writer op that runs the backend's write
 *   src/store/writer.c    the group commit (src/store/writer.h), shared by
 *                         every backend: it calls the backend's transaction
 *                         functions and never speaks SQL
 *   src/store/routing.c   where an ingested event goes: the route cache,
 *                         filter rules, fan-out; the backend only reads rows
 *   what the backends call, speaking no SQL (each header private to
 *   src/store/):
 *   src/store/docs.c      resource documents: the kinds' facts, a doc's
 *                         columns, timestamps and stored text, an update's
 *                         checks, re-sealing one row
 *   src/store/resources.c a resource write's checks, messages and times;
 *                         the backend runs its statements
 *   src/store/counts.c    the open group's pending-count changes per
 *                         destination (the backend's flush writes them)
 *   src/store/pool.c      the read connections and the snapshot's pinned one
 *   src/store/retention.c which settled events a sweep step deletes
 *   src/store/retry.c     what a manual retry may requeue, and why not
 *   src/store/<name>/     one folder per backend, ending in one
 *                         `const hs_store_backend hs_<name>_backend`
 *
 * A backend is a table of functions, as curl's `struct Curl_ssl` is for its
 * TLS libraries. Its own state (connections, statement caches, a read pool)
 * hangs off hs_store.be_state, which open sets and close frees; the shared
 * parts of hs_store are below. Threads: the transaction functions and the
 * writes run on the writer thread only, inside the group's transaction;
 * the reads on any thread (API handlers, at the same time as the writer).
 *
 * Every write leaves nothing behind on failure (no output, and, for the ops
 * with a savepoint, the savepoint undoes its rows). The writes that run
 * without a savepoint (ingest_insert, attempt_record: the hot paths) may
 * fail only before they write, or tell (`wrote`, or any failure of
 * attempt_record), and the whole group then fails.
 *
 * Adding a backend: write the files of src/store/<name>/ with a table that fills every field
 * (tests/store/ checks the behaviour), declare it below, add one line to the
 * list in src/store/store.c before the SQLite entry (SQLite takes every plain file
 * path, so it comes last), and run the conformance suite against it:
 * HOOKSTREAM_TEST_STORE=<url> build/tests/test_store_conformance.
 */
#ifndef HS_STORE_BACKEND_H
#define HS_STORE_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/idmap.h"
#include "store/arrivals.h"
#include "store/replay.h"
#include "store/ops.h"
#include "store/store.h"

/* What routing reads of a source (src/store/routing.c). */
typedef struct hs_route_source {
    char id[HS_ID_MAX];
    char status[16]; /* active | paused | disabled */
} hs_route_source;

/* One enabled connection of a source, as the backend read it; strings are
 * valid during the callback only. */
typedef struct hs_route_row {
    const char *connection_id;
    const char *destination_id;
    const char *destination_status;          /* the destination's status */
    const char *filter_rules;                /* the connection's filter_rules as JSON text, NULL when it has none */
    int64_t destination_key, connection_key; /* the backend's own numbers for the two, handed back in
                                              * hs_delivery_ref (0 when it has none) */
} hs_route_row;
typedef void (*hs_route_row_fn)(const hs_route_row *row, void *ud);

/* The API keys' statements (hs_store_backend.apikeys); arguments checked,
 * as the hs_store_apikey_* calls of the same names. */
typedef struct hs__apikey_ops {
    int (*add)(hs_store *s, const hs_apikey *k, uint64_t created_at, hs_error *err);
    int (*revoke)(hs_store *s, const char *id, uint64_t now, hs_error *err);
    int (*touch)(hs_store *s, const hs_apikey_use *uses, size_t n, hs_error *err);
    int (*list)(hs_store *s, hs_apikey **out, size_t *n, hs_error *err);
} hs__apikey_ops;

/* Replay jobs and bulk retries (src/store/replay.h; hs_store_backend.replay).
 * Writes, under the op's savepoint: create, cancel, claim, bulk_retry, and
 * the parts of a step, which src/store/replay.c puts together:
 *   lock     the job's row, if it is running, st->node's (claim unexpired
 *            where the backend can tell) and at st->cursor: *j (its filter
 *            NULL), *ok; else *ok false and nothing written
 *   enqueue  up to st->max of its next items as pending deliveries
 *            (replay_job set), the cursor moved past them: st->queued, n,
 *            new_cursor; an item whose event is gone is passed over
 *   pending  how many of its deliveries are pending
 *   end      status (completed, failed) with error, completed_at now
 *   destination_exists
 * (now: the writer's clock; a backend several nodes share keeps claims on
 * the database's.) Reads: scan; get and list with the counts of each job's
 * deliveries (hs__replay_count); list gives up to limit + 1 jobs. */
typedef struct hs__replay_ops {
    int (*scan)(hs_store *s, const hs_replay_scan *q, hs_replay_event **items, size_t *n, hs_error *err);
    int (*create)(hs_store *s, const hs_replay_job *job, const char (*event_ids)[HS_ID_MAX], size_t n, hs_error *err);
    int (*get)(hs_store *s, const char *id, hs_replay_job *out, hs_error *err);
    int (*list)(hs_store *s, const hs_page *page, const char *destination_id, hs_replay_job **out, size_t *n,
                hs_error *err); /* destination_id "": any */
    int (*cancel)(hs_store *s, const char *id, uint64_t now, hs_error *err);
    int (*claim)(hs_store *s, const char *node, uint64_t ttl_ms, uint64_t now, hs_replay_job **out, size_t *n,
                 hs_error *err);
    int (*lock)(hs_store *s, const hs_replay_step *st, uint64_t now, hs_replay_job *j, bool *ok, hs_error *err);
    int (*enqueue)(hs_store *s, hs_replay_step *st, const hs_replay_job *j, uint64_t now, hs_error *err);
    int (*pending)(hs_store *s, const char *job_id, int64_t *n, hs_error *err);
    int (*end)(hs_store *s, const char *job_id, const char *status, const char *error, uint64_t now, hs_error *err);
    int (*destination_exists)(hs_store *s, const char *destination_id, bool *exists, hs_error *err);
    int (*bulk_retry)(hs_store *s, const hs_bulk_retry *q, hs_event_retry *out, bool *more, hs_error *err);
} hs__replay_ops;

/* src/store/replay.c: a job's counts, one status of its deliveries at a
 * time (k of them in status). */
void hs__replay_count(hs_replay_job *j, const char *status, uint64_t k);
/* The least id an attempt ("da_") or event ("evt_") made in an alert
 * window from since_ms can have (ids begin with their creation time; an
 * attempt's id is made when it starts, up to its timeout before it is
 * recorded): the windows' reads find their rows through the id's index,
 * not by a scan of the table. */
void hs__window_least_id(const char *prefix, uint64_t since_ms, char out[HS_ID_MAX]);

/* Issues, notification channels, alert rules, windowed counts
 * (hs_store_backend.ops; src/store/ops.h): arguments checked by
 * src/store/ops.c, which decides what a hit or a change does to an issue.
 * Writes (writer thread, under a savepoint): issue_find (on the writer
 * connection, the row locked until the commit where the engine can),
 * issue_write, resolve_quiet, doc_put, doc_delete, rule_claim. The others
 * are reads. */
typedef struct hs__ops_ops {
    /* by id, or by (destination_id, error_type) when id is NULL */
    int (*issue_find)(hs_store *s, const char *id, const char *destination_id, const char *error_type, hs_issue *out,
                      bool *found, hs_error *err);
    /* insert: *written false when a row of the same key exists (nothing
     * done); update: every column of the row id */
    int (*issue_write)(hs_store *s, const hs_issue *row, bool insert, bool *written, hs_error *err);
    int (*issue_get)(hs_store *s, const char *id, hs_issue *out, bool *found, hs_error *err);
    int (*issue_list)(hs_store *s, const hs_issue_query *q, hs_issue **items, size_t *n, bool *has_more, hs_error *err);
    int (*issue_counts)(hs_store *s, hs_issue_counts *out, hs_error *err);
    int (*resolve_quiet)(hs_store *s, uint64_t before, uint64_t now, size_t *n, hs_error *err);
    /* *found false: no row (update, delete) */
    int (*doc_put)(hs_store *s, hs_opsdoc_kind kind, bool create, const hs_opsdoc *row, uint64_t now, bool *found,
                   hs_error *err);
    int (*doc_delete)(hs_store *s, hs_opsdoc_kind kind, const char *id, bool *found, hs_error *err);
    int (*doc_get)(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_opsdoc *out, bool *found, hs_error *err);
    int (*doc_list)(hs_store *s, hs_opsdoc_kind kind, const hs_page *page, hs_opsdoc **rows, size_t *n, bool *has_more,
                    hs_error *err);
    int (*rule_claim)(hs_store *s, const char *id, bool fire, uint64_t now, uint64_t cooldown_ms, bool *claimed,
                      hs_error *err);
    /* the window's numbers (src/store/ops.c composes them): what names
     * them in order (attempts, failed, dead-lettered, avg ms); the
     * duration of the attempt at offset in ascending order; events */
    int (*window_attempts)(hs_store *s, const hs_window_query *q, uint64_t out[4], hs_error *err);
    int (*window_nth)(hs_store *s, const hs_window_query *q, uint64_t offset, uint64_t *ms, hs_error *err);
    int (*window_events)(hs_store *s, const hs_window_query *q, uint64_t *n, hs_error *err);
    /* notifications (writes: ntf_add, ntf_claim, ntf_settle, ntf_prune;
     * now: the caller's clock, PostgreSQL uses its own) */
    int (*ntf_add)(hs_store *s, const hs_notification *n, const char *node, uint64_t lease_ms, uint64_t now,
                   hs_error *err);
    /* a read: is a pending one due that node could claim (its own
     * claims only when mine_too, as ntf_claim)? (saves the writer a claim
     * that finds nothing, every second on every node, and while a
     * notification of this node's is out) */
    int (*ntf_any_due)(hs_store *s, const char *node, bool mine_too, uint64_t now, bool *any, hs_error *err);
    int (*ntf_claim)(hs_store *s, const char *node, uint64_t lease_ms, size_t limit, bool mine_too, uint64_t now,
                     hs_notification **out, size_t *n, hs_error *err);
    int (*ntf_settle)(hs_store *s, const char *id, const char *node, const hs_notification_outcome *o, uint64_t now,
                      bool *mine, hs_error *err);
    int (*ntf_list)(hs_store *s, const hs_notification_query *q, hs_notification **items, size_t *n, bool *has_more,
                    hs_error *err);
    int (*ntf_get)(hs_store *s, const char *id, hs_notification *out, bool *found, hs_error *err);
    int (*ntf_prune)(hs_store *s, uint64_t before, size_t limit, size_t *n, hs_error *err);
} hs__ops_ops;

typedef struct hs_store_backend {
    const char *name;
    /* Does url name a store of this backend? Tried in the list's order. */
    bool (*match)(const char *url);
    /* Open (creating and migrating as needed) and set s->be_state; on
     * failure leave nothing open. The writer thread starts afterwards. */
    int (*open)(hs_store *s, const char *url, hs_error *err);
    /* Close everything and free s->be_state, deferred writes included (the
     * writer has stopped; wait for reads still running). Not called after
     * a failed open. */
    void (*close)(hs_store *s);
    /* hs_store_reseal, on a store that is not open. */
    int (*reseal)(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                  hs_reseal_stats *st, hs_error *err);

    /* ---- the writer's transaction (src/store/writer.c) ----
     * begin and commit each group; a savepoint around every op that may
     * fail after writing; in_transaction: false when the engine dropped the
     * transaction (an I/O error), so that the group cannot commit. */
    int (*begin)(hs_store *s, hs_error *err);
    int (*commit)(hs_store *s, hs_error *err);
    int (*rollback)(hs_store *s, hs_error *err);
    int (*savepoint)(hs_store *s, hs_error *err);
    int (*release)(hs_store *s, hs_error *err);
    int (*rollback_to)(hs_store *s, hs_error *err);
    bool (*in_transaction)(hs_store *s);
    /* Write what attempt_record deferred (the counts of settled deliveries
     * per event): before COMMIT and before every op with a savepoint. */
    int (*flush)(hs_store *s, hs_error *err);
    /* Drop what was deferred: the group failed. */
    void (*discard)(hs_store *s);

    /* ---- writes: writer thread, inside the group transaction ---- */
    /* The source by id (by_slug false) or slug; HS_ERR_NOTFOUND (err need
     * not be set) when there is none. */
    int (*route_source)(hs_store *s, const char *ref, bool by_slug, hs_route_source *out, hs_error *err);
    /* fn once per enabled connection of source_id, in connection id order. */
    int (*route_rows)(hs_store *s, const char *source_id, hs_route_row_fn fn, void *ud, hs_error *err);
    /* Insert the event and its deliveries as ing holds them (event_id,
     * source_id, event_status set; each delivery's destination, connection
     * and keys), giving each delivery its seq and id (hs__delivery_id).
     * An ing->dedup_key is claimed first (store.h "ingest"), now or in the
     * group's flush but before its event is written: a duplicate goes
     * through hs__ingest_duplicate. The group's arrivals (s->arrivals) are
     * written by the flush too. No savepoint: *wrote when it failed after
     * writing. */
    int (*ingest_insert)(hs_store *s, hs_ingest *ing, bool *wrote, hs_error *err);
    /* An attempt and/or a circuit state (hs_store_attempt_commit). No
     * savepoint: any failure fails the group. */
    int (*attempt_record)(hs_store *s, const hs_attempt_op *op, hs_error *err);
    /* The statements behind hs_store_resource_create, update and delete:
     * src/store/resources.c decides what each write checks and runs them,
     * under a savepoint (src/store/resources.h). */
    const struct hs__res_ops *resources;
    /* As the hs_store_* calls of the same names (store.h), under a
     * savepoint; arguments already checked; *out is set on success only. */
    int (*attempt_retry)(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err);
    int (*event_retry)(hs_store *s, const char *event_id, hs_event_retry *out, hs_error *err);
    int (*settle_orphans)(hs_store *s, size_t *deliveries, size_t *events, hs_error *err);
    /* API keys (src/store/store.h): add, revoke and touch are writes under
     * a savepoint; list is a read */
    const struct hs__apikey_ops *apikeys;
    /* replay jobs, bulk retries (hs__replay_ops) */
    const struct hs__replay_ops *replay;
    /* issues, channels, alert rules (src/store/ops.h) */
    const struct hs__ops_ops *ops;
    /* hs_store_sweep's step (outputs in sw), under a savepoint. */
    int (*sweep)(hs_store *s, hs_sweep *sw, hs_error *err);

    /* ---- reads: any thread; as the hs_store_* calls (arguments checked,
     * outputs cleared, err not NULL) ---- */
    int (*resource_get)(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err);
    int (*resource_list)(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters,
                         json_t **items, bool *has_more, hs_error *err);
    int (*event_get)(hs_store *s, const char *id, hs_event **out, hs_error *err);
    int (*event_list)(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                      hs_error *err);
    int (*event_deliveries)(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err);
    int (*pending_deliveries)(hs_store *s, hs_delivery **out, size_t *n, hs_error *err);
    int (*queue_page)(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                      hs_delivery *out, size_t *n, hs_error *err);
    int (*queue_due)(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                     size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err);
    int (*queue_counts)(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err);
    int (*source_counts)(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err);
    int (*circuits)(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err);
    int (*attempt_list)(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err);
    int (*attempt_get)(hs_store *s, const char *id, json_t **out, hs_error *err);
    int (*event_attempts)(hs_store *s, const char *event_id, json_t **items, hs_error *err);
    /* hs_store_snapshot_begin/end: the reads of the calling thread in
     * between see one state of the store. */
    int (*snapshot_begin)(hs_store *s, hs_error *err);
    void (*snapshot_end)(hs_store *s);

    /* Several nodes (store.h "several nodes"): NULL for a backend one
     * server has to itself. Its attempt_record then also honours
     * hs_attempt_op.epoch. */
    const struct hs_store_cluster_ops *cluster;
} hs_store_backend;

/* The calls of store.h "several nodes", on a connection of the backend's
 * own (conn). */
typedef struct hs_store_cluster_ops {
    int (*open)(hs_store *s, void **conn, hs_error *err);
    void (*close)(void *conn);
    int (*beat)(void *conn, const hs_node_info *me, uint64_t *now, hs_error *err);
    int (*leave)(void *conn, const char *node_id, hs_error *err);
    int (*list)(void *conn, hs_node_info **out, size_t *count, uint64_t *now, hs_error *err);
    int (*total)(void *conn, size_t *total, hs_error *err);
    int (*renew)(void *conn, const char *node_id, uint64_t ttl_ms, hs_lease **held, size_t *count, hs_error *err);
    int (*claim)(void *conn, const char *node_id, uint64_t ttl_ms, size_t limit, hs_lease **got, size_t *count,
                 hs_error *err);
    int (*release)(void *conn, const char *node_id, const hs_lease *l, hs_error *err);
    int (*marks)(void *conn, const char *node_id, hs_queue_mark **out, size_t *count, hs_error *err);
    int (*listen)(void *conn, hs_error *err);
    int (*live)(void *conn, const char *node_id, const char *const *channels, const char *const *texts, size_t count,
                hs_error *err);
    int (*wait)(void *conn, int timeout_ms, hs_feed_fn fn, void *ud, hs_error *err);
    /* a change feed message in the open group (writer thread) */
    int (*announce)(hs_store *s, hs_feed_kind kind, const char *id, hs_error *err);
    /* on a read connection of s, from any thread */
    int (*state)(hs_store *s, const char *destination_id, hs_dest_state *out, hs_error *err);
} hs_store_cluster_ops;

typedef struct hs_wop hs_wop;

/* The parts of a store every backend shares. */
struct hs_store {
    const hs_store_backend *be;
    void *be_state; /* the backend's own (set by open, freed by close) */

    /* secrets at rest (hs_store_set_secretbox): both set, or both NULL */
    const hs_secretbox *box;
    const hs_secret_codec *codec;

    hs_idmap routes;       /* writer thread: the route cache (src/store/routing.c) */
    hs__arrivals arrivals; /* writer thread: the open group's events per source (arrivals.h) */

    /* the writer (src/store/writer.c) */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;     /* guards everything down to stats */
    pthread_cond_t work_cond; /* writer: queue not empty or closing */
    pthread_cond_t done_cond; /* sync callers: some op is done */
    hs_wop *q_head, *q_tail;
    size_t q_len;
    bool closing;
    int sync_waiters; /* callers blocked in hs__writer_submit */
    hs_store_stats stats;
    uint64_t ingests_committed;       /* writer thread: the last hs_ingest.commit_no */
    char node_id[HS_NODE_ID_MAX];     /* hs_store_set_node_id; "" until then */
    _Atomic uint64_t create_lease_ms; /* hs_store_set_create_lease (any thread) */
};

/* The backends, one per folder; src/store/store.c lists them. */
extern const hs_store_backend hs_pg_backend;     /* src/store/pg/ */
extern const hs_store_backend hs_sqlite_backend; /* src/store/sqlite/ */

/* Point err at a local when the caller passed none, and clear it. */
#define HS_ERR_LOCAL(err)                                                                                              \
    hs_error err##_local_;                                                                                             \
    if (!(err)) (err) = &err##_local_;                                                                                 \
    hs_error_clear(err)

/* ing's key was live, held by original's event: ing becomes its
 * duplicate (no deliveries, status received). The backends call it where
 * they learn it, before the event is written. */
void hs__ingest_duplicate(hs_ingest *ing, const char *original);

/* A delivery's public id from its creation time and seq ("dlv_" + 12 hex
 * digits of ms + 20 of seq), and back: false when id is not of that form.
 * Every backend names deliveries so; a lookup by id checks both parts. */
void hs__delivery_id(uint64_t created_at, uint64_t seq, char *out);
bool hs__delivery_id_parse(const char *id, uint64_t *created_at, uint64_t *seq);

/* doc's secrets sealed (for writing) or opened (as read) with the store's box
 * and codec, in place; HS_OK and nothing done when the store has no box. */
int hs__store_seal(const hs_store *s, hs_kind kind, json_t *doc, hs_error *err);
int hs__store_unseal(const hs_store *s, hs_kind kind, json_t *doc, hs_error *err);

#endif
