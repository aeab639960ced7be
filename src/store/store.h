/* src/store/store.h — durable storage behind one interface.
 *
 * Threads: writes go to ONE writer thread that commits them in groups (many
 * requests per transaction; SQLite: WAL + synchronous=FULL) and completes each
 * request only after the commit that holds it is durable. Reads use their own
 * connections from a small pool and may be called from any thread (API
 * handlers run them on libuv's threadpool). Nothing here may be called with
 * a lock of the caller's held for long: sync calls block until commit.
 *
 * Two kinds of completion:
 *   - sync (resource writes, from worker threads): the call blocks until its
 *     group commits and returns the result;
 *   - async (ingests, attempt records, from a loop thread): the call returns
 *     at once and the callback runs later ON THAT LOOP'S THREAD, after
 *     commit: the writer posts it to the mailbox the thread made current
 *     (src/base/mailbox.h; a thread without one cannot submit async), so
 *     hs_mailbox_drain of that mailbox runs at once every completion
 *     committed so far.
 *
 * Backends (src/store/backend.h has the seam): src/store/pg/ takes a
 * "postgres://" or "postgresql://" URL, src/store/sqlite/ a file path. Only the backends' folders speak SQL; the group
 * commit (src/store/writer.c) and routing (src/store/routing.c) are shared.
 *
 * Ownership: json_t results are new references owned by the caller; inputs
 * are borrowed unless a comment says "stolen".
 */
#ifndef HS_STORE_H
#define HS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/error.h"
#include "base/id.h"
#include "base/secretbox.h"

typedef struct hs_store hs_store;

/* Resources whose representation is a validated JSON document (src/core/resource.h).
 * The doc carries "id" and the user-visible fields; the store adds
 * "created_at" and "updated_at" (ISO 8601 strings) on every read and keeps
 * them in columns. */
typedef enum hs_kind { HS_KIND_SOURCE = 0, HS_KIND_DESTINATION, HS_KIND_CONNECTION, HS_KIND_COUNT } hs_kind;

/* Indexed columns extracted from a doc on write, by kind:
 *   source:      slug (unique when set), status
 *   destination: slug (unique when set), status, type
 *   connection:  source_id, destination_id, enabled
 * Listing filters may name these columns only. */

#define HS_STORE_MAX_QUEUE 16384 /* writer queue bound: beyond it HS_ERR_BUSY */
#define HS_STORE_MAX_GROUP 2048  /* requests per transaction at most */

/* Bucket bounds of the commit histograms (+Inf implied): commit time in
 * microseconds, batch size in requests. */
#define HS_STORE_HIST_BUCKETS 12
extern const uint64_t hs_store_commit_le_us[HS_STORE_HIST_BUCKETS];
extern const uint64_t hs_store_batch_le[HS_STORE_HIST_BUCKETS];
/* The index of the first bucket of le whose bound is >= v
 * (HS_STORE_HIST_BUCKETS: +Inf). */
size_t hs_store_hist_bucket(const uint64_t *le, uint64_t v);

typedef struct hs_store_stats {
    uint64_t commits;
    uint64_t ops_committed;
    uint64_t commit_failures;
    uint64_t last_batch_size;
    uint64_t commit_ns_total;                           /* time spent in COMMIT (fsync) */
    uint64_t queue_depth;                               /* current */
    uint64_t commit_us_hist[HS_STORE_HIST_BUCKETS + 1]; /* per bucket, the last +Inf */
    uint64_t batch_hist[HS_STORE_HIST_BUCKETS + 1];
    uint64_t batch_total; /* requests over all commits, for the histogram's _sum */
    /* each op's wait in the queue until its group began */
    uint64_t wait_us_hist[HS_STORE_HIST_BUCKETS + 1];
    uint64_t wait_ns_total;
    /* retention (hs_store_sweep): rows deleted and pages given back */
    uint64_t swept_events, swept_deliveries, swept_attempts, swept_pages;
} hs_store_stats;

/* Open (creating and migrating as needed) the backend the url names
 * (src/store/store.c's list). SQLite: a file path, ":memory:" is not allowed
 * (durability); schema migrations are versioned in code (PRAGMA
 * user_version) and run in one transaction each. */
int hs_store_open(const char *url, hs_store **out, hs_error *err);

/* Shut down: refuse new writes (HS_ERR_CLOSED), commit what is queued,
 * run the calling thread's remaining async completions, join the writer
 * thread, close the database, free the store. Call after the HTTP server
 * and every other loop that submits async writes have stopped. */
void hs_store_close(hs_store *s);

void hs_store_get_stats(hs_store *s, hs_store_stats *out);

/* ---- resources (sync; any thread except the loop thread) ---- */

/* Which fields of a resource doc are secrets, and how they are sealed, is
 * the resources' business (src/core/resource.c provides
 * hs_resource_secret_codec): the store is handed these two functions. Both
 * work on doc in place; unseal counts the secrets it found in clear in
 * *clear (may be NULL) and, with box NULL, fails on any sealed one. */
typedef struct hs_secret_codec {
    int (*seal)(hs_kind kind, json_t *doc, const hs_secretbox *box, hs_error *err);
    int (*unseal)(hs_kind kind, json_t *doc, const hs_secretbox *box, size_t *clear, hs_error *err);
} hs_secret_codec;

/* Secrets at rest: with a box, every secret of a resource doc is sealed
 * (codec->seal) as the row is written and opened as it is read, so callers
 * only ever see clear docs; without one (tests) docs are stored as given.
 * Set once, after open and before the first resource call; box and codec
 * are borrowed and must outlive the store. */
void hs_store_set_secretbox(hs_store *s, const hs_secretbox *box, const hs_secret_codec *codec);

typedef struct hs_reseal_stats {
    size_t rows;             /* resource rows read */
    size_t clear;            /* secrets found in clear */
    size_t rewritten;        /* rows written back */
    bool checkpointed;       /* rows were written and the WAL then checkpointed and truncated */
    hs_error checkpoint_err; /* why not, when rows were written but checkpointed is false */
} hs_reseal_stats;

/* Checks, and re-seals, every secret of the database at url (a SQLite
 * file; nothing to do for a backend that stores none yet), on a connection
 * of its own: before hs_store_open, or with no server running. A missing
 * file or one without the resource tables is nothing to do. Each
 * sealed secret must open under `from` (NULL: none may be sealed), else
 * HS_ERR_UNAUTHORIZED naming the resource, the field and the key ids. With
 * `to`, the rows that hold a clear secret (or every row with a secret, when
 * to is another key than from) are written back sealed under `to`, all in
 * one transaction with secure_delete on, and the WAL is then checkpointed
 * and truncated, so no clear value stays in the file's free space or in
 * the WAL. An error means nothing was committed; a checkpoint that could
 * not finish after the commit (another connection reading) is reported in
 * *st, not as an error. */
int hs_store_reseal(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                    hs_reseal_stats *st, hs_error *err);

/* Insert doc (must contain a fresh "id"). On success *out (if non-NULL) is
 * the stored doc as a read would return it.
 * Errors: HS_ERR_CONFLICT field "slug" on a duplicate slug; for connections
 * HS_ERR_INVALID field "source_id"/"destination_id" when the referenced
 * object does not exist. */
int hs_store_resource_create(hs_store *s, hs_kind kind, json_t *doc, json_t **out, hs_error *err);

/* Read-modify-write in one transaction: fn runs ON THE WRITER THREAD with the
 * current doc (borrowed, includes created_at/updated_at) and returns the new
 * doc in *updated (new reference) or an error (which aborts the change and is
 * returned). fn must be pure CPU work (validation), no I/O, no locks.
 * HS_ERR_NOTFOUND when id does not exist. Same constraint errors as create. */
typedef int (*hs_update_fn)(const json_t *current, json_t **updated, void *ud, hs_error *err);
int hs_store_resource_update(hs_store *s, hs_kind kind, const char *id, hs_update_fn fn, void *ud, json_t **out,
                             hs_error *err);

/* Delete. HS_ERR_NOTFOUND when absent. A source or destination still named
 * by a connection: HS_ERR_CONFLICT (message names one connection id).
 * Deleting a destination marks its pending deliveries "cancelled". */
int hs_store_resource_delete(hs_store *s, hs_kind kind, const char *id, hs_error *err);

/* Get by id (or, for sources and destinations, by slug). */
int hs_store_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err);

/* A listing filter: field = value (not a connection's filter_rules, which
 * src/rules/filter.h compiles). */
typedef struct hs_list_filter {
    const char *field; /* an indexed column of the kind (see above) */
    const char *value; /* compared as text; "enabled" takes "true"/"false" */
} hs_list_filter;

typedef struct hs_page {
    int limit;          /* 1..100 */
    const char *cursor; /* NULL, or the id of the last item of the previous page */
} hs_page;

/* Newest first (id descending); items strictly older than cursor.
 * *items: new JSON array. *has_more: another page exists. */
/* Every resource of kind (page after page, newest first): *out a new
 * array. */
int hs_store_resource_all(hs_store *s, hs_kind kind, json_t **out, hs_error *err);
int hs_store_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters,
                           size_t nfilters, json_t **items, bool *has_more, hs_error *err);

/* What a source has received: its events (duplicates included: each was
 * stored) and when the last one came. Kept by the writer with every group
 * (not counted from the events: retention deletes those). */
typedef struct hs_source_count {
    uint64_t events;
    uint64_t last_event_at; /* ms, 0: none yet */
} hs_source_count;
/* out[i] for ids[i] (n of them; zero for a source with no event). Any
 * thread. */
int hs_store_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err);

/* ---- events ---- */

typedef struct hs_event {
    char id[HS_ID_MAX];
    char source_id[HS_ID_MAX];
    char *method;
    char *path;
    char *query;
    char *headers_json;  /* JSON object {lowercase-name: value} (NULL in lists) */
    unsigned char *body; /* raw bytes (NULL in lists) */
    size_t body_len;     /* always set */
    char *source_ip;
    char *content_type;   /* may be "" */
    uint64_t received_at; /* ms */
    char status[16];      /* received | processing | delivered | failed | cancelled */
    /* how the front door checked it: verified | unverified | schema_invalid */
    char verification_status[16];
    char dedup_status[16]; /* unique | duplicate */
} hs_event;
void hs_event_free(hs_event *e);

typedef struct hs_delivery {
    char id[HS_ID_MAX]; /* "dlv_" + 12 hex digits of created_at + 20 of seq */
    uint64_t seq;       /* the queue order: a destination's deliveries go in ascending seq */
    char event_id[HS_ID_MAX];
    char destination_id[HS_ID_MAX];
    char connection_id[HS_ID_MAX];
    char status[16]; /* pending | delivered | failed | dlq | cancelled */
    int attempts;
    uint64_t next_attempt_at; /* ms, 0 when none */
    uint64_t created_at;
    uint64_t updated_at;
    /* the replay job that made it ("": none; set by the scheduler's queue
     * reads): such a delivery is tried once, never retried nor dead-lettered */
    char replay_job_id[HS_ID_MAX];
} hs_delivery;

int hs_store_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err);

typedef struct hs_event_query {
    const char *source_id; /* NULL = any */
    const char *status;    /* NULL = any */
    const char *method;    /* NULL = any; as received (an uppercase token) */
    /* NULL = any; an event id prefix ("evt_...": the ids that start with
     * it), else text the body contains (bytes, case-sensitive) */
    const char *search;
    const char *verification_status; /* NULL = any */
    const char *dedup_status;        /* NULL = any */
    uint64_t after;                  /* received_at > after (ms), 0 = unbounded */
    uint64_t before;                 /* received_at < before (ms), 0 = unbounded */
    hs_page page;
} hs_event_query;

#define HS_METHOD_MAX 16  /* letters of an event list's method filter */
#define HS_SEARCH_MAX 256 /* bytes of an event list's search */

/* Newest first. *items: array of *n events without headers/body. Free each
 * with hs_event_free and the array with hs_free. */
int hs_store_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                        hs_error *err);

/* Deliveries of one event, oldest first. Free *items with hs_free. */
int hs_store_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err);

/* ---- ingest (async; loop thread) ----
 *
 * One transaction (shared with the rest of its group) that: resolves the
 * source by id or slug (absent or disabled: HS_ERR_NOTFOUND); inserts the
 * event; and, unless the source is paused, inserts one pending delivery per
 * enabled connection of the source whose destination is not disabled
 * (next_attempt_at = received_at). Event status: "processing" when it has
 * deliveries, else "received".
 *
 * Deduplication: an ingest with a dedup_key claims it in its source for
 * dedup_window_ms. When the key is already held by an earlier event whose
 * window is still open (whichever node stored it), this one is a
 * duplicate: stored with dedup_status "duplicate" and status "received",
 * routed nowhere (no deliveries), and duplicate_of names the earlier
 * event. The claim is part of the transaction: two events with one key
 * in flight at once, on one node or two, make one unique and one
 * duplicate. */
typedef struct hs_delivery_ref {
    char id[HS_ID_MAX];
    uint64_t seq; /* as hs_delivery.seq */
    /* the highest seq of the same destination committed before this one (0:
     * none, or a backend that does not say): a scheduler that has taken
     * everything up to it may take this one straight into its window; with
     * several nodes, another node's delivery may lie in between */
    uint64_t prev_seq;
    char destination_id[HS_ID_MAX];
    char connection_id[HS_ID_MAX];
    int64_t destination_key, connection_key; /* the backend's own numbers for them (private) */
} hs_delivery_ref;

typedef struct hs_ingest hs_ingest;
#define HS_DEDUP_KEY_MAX 65 /* a SHA-256 in hex, and its NUL */
typedef void (*hs_ingest_cb)(hs_ingest *ing, int status);

struct hs_ingest {
    /* input: heap strings owned by the ingest, freed by hs_ingest_free */
    char *source_ref; /* id or slug */
    char *method;
    char *path;
    char *query;
    char *headers_json;
    char *body;
    size_t body_len;
    char *source_ip;
    char *content_type;
    uint64_t received_at; /* ms */
    uint64_t arrived_ns;  /* monotonic, when its request was complete; 0: unknown */
    /* how the front door checked the sender: "verified", "unverified" or
     * "schema_invalid" (static; NULL: "unverified") */
    const char *verification_status;
    char dedup_key[HS_DEDUP_KEY_MAX]; /* "": no deduplication */
    uint64_t dedup_window_ms;
    /* the front door had no settings for the ref (it holds every source
     * this node has heard of): a source that exists is then one created on
     * another node and not yet heard of here, whose checks (signature, IP
     * lists, dedup, schema) were not made, so the ingest is refused,
     * HS_ERR_BUSY (503, retry), not stored; an unknown ref stays a 404 */
    bool unchecked;
    /* output, valid in the callback */
    bool duplicate;
    char duplicate_of[HS_ID_MAX];
    char event_id[HS_ID_MAX];
    char source_id[HS_ID_MAX];
    char event_status[16];
    /* its place among the committed ingests of this store, in commit order
     * (1, 2, ...): whoever hears of ingests on several threads can put
     * them back in that order */
    uint64_t commit_no;
    uint64_t committed_ns; /* monotonic, when its group committed */
    hs_delivery_ref *deliveries;
    size_t ndeliveries;
    hs_error err;
    /* completion: called on the thread of the loop that submitted it,
     * exactly once, after commit (or with the error). The callee frees with hs_ingest_free. */
    hs_ingest_cb cb;
    void *ud, *ud2; /* the caller's */
    /* private to the store */
    void *priv_;
};

hs_ingest *hs_ingest_new(void);
void hs_ingest_free(hs_ingest *ing);
/* 0: accepted, cb will run. <0 (HS_ERR_CLOSED, HS_ERR_BUSY): refused at once,
 * cb will NOT run, the caller still owns ing. */
int hs_store_ingest(hs_store *s, hs_ingest *ing);

/* ---- delivery: what the DeliveryScheduler reads and writes ---- */

/* Every delivery still pending (to be attempted), ordered by destination,
 * then seq. Reads the whole backlog: for tests and tools, never on a
 * server's path (any thread). */
int hs_store_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err);

/* A destination's queue, as the DeliveryScheduler pages it (any thread;
 * docs/scheduler.md). Every read is bounded by its limit; none reads the
 * backlog. out has room for limit deliveries (more for queue_due: see
 * there); *n is how many were filled.
 *
 * queue_page: its pending deliveries with seq > after_seq, in seq order;
 * fresh_only: only those never attempted (attempts = 0). */
int hs_store_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                        hs_delivery *out, size_t *n, hs_error *err);
/* queue_due: its pending deliveries waiting for a retry (attempts > 0) that
 * are due (next_attempt_at <= now), earliest first (then seq), leaving out
 * the nskip seqs of skip (those the caller holds); out has room for limit.
 * *next_due: when the earliest of those not returned is due (0: none is
 * waiting); now or earlier when some due ones did not fit. */
int hs_store_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                       size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err);
/* How many deliveries each destination has pending; destinations with
 * none may be left out. Kept by every write (no backlog is read). */
typedef struct hs_queue_count {
    char destination_id[HS_ID_MAX];
    uint64_t pending;
} hs_queue_count;
int hs_store_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err);

/* The stored state of one destination's circuit breaker. */
typedef struct hs_circuit_row {
    char destination_id[HS_ID_MAX];
    char state[16]; /* closed | open | half_open */
    int consecutive_failures;
    uint64_t opened_at, next_probe_at, last_transition_at; /* ms, 0 when none */
} hs_circuit_row;
int hs_store_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err);

/* One attempt's outcome (docs/api.md, Delivery attempts). Strings are heap,
 * owned by the op that holds the record (freed by hs_attempt_op_free). */
typedef struct hs_attempt_rec {
    char id[HS_ID_MAX]; /* "da_..." */
    char delivery_id[HS_ID_MAX];
    char event_id[HS_ID_MAX];
    char destination_id[HS_ID_MAX];
    char connection_id[HS_ID_MAX];
    int attempt_number; /* 1, 2, ... */
    bool success;
    char *request_url;
    char *request_method;
    /* header lists ("name\0value\0"..., src/http/outbound.h), made JSON by the
     * writer: the loop only copies them */
    char *request_headers; /* secrets masked */
    size_t request_headers_len;
    int response_status; /* 0: no response */
    char *response_headers;
    size_t response_headers_len;
    char *response_body; /* first 4 KiB */
    size_t response_body_len;
    uint64_t duration_ms;
    char *error;            /* NULL on success */
    uint64_t next_retry_at; /* ms; 0: no retry planned */
    bool is_dlq;
    uint64_t dlq_at;
    uint64_t created_at;
} hs_attempt_rec;

/* An async write for the scheduler: record an attempt (insert it, move its
 * delivery to delivered / pending (retry) / dlq, settle its event's status)
 * and/or save a circuit state, in one transaction. cb runs on the loop
 * thread after the commit (status 0) or failure; the callee frees the op. */
typedef struct hs_attempt_op hs_attempt_op;
typedef void (*hs_attempt_cb)(hs_attempt_op *op, int status);
struct hs_attempt_op {
    bool has_attempt;
    hs_attempt_rec a;
    bool has_circuit;
    hs_circuit_row circuit;
    /* the lease of the destination this write is made under (src/cluster/):
     * the store refuses it (HS_ERR_STALE, nothing written) when the lease
     * moved on meanwhile. 0: not fenced (one node). */
    uint64_t epoch;
    bool stale; /* set by the store: refused because the lease had moved */
    hs_error err;
    hs_attempt_cb cb;
    void *ud;
    void *priv_;
};
hs_attempt_op *hs_attempt_op_new(void);
void hs_attempt_op_free(hs_attempt_op *op);
/* Loop thread. 0: accepted (cb will run); <0: refused now, cb will not run. */
int hs_store_attempt_commit(hs_store *s, hs_attempt_op *op);

/* Manual retries (sync, any thread but the loop). The delivery (or, for an
 * event, every delivery in status dlq or failed) goes back to pending, due
 * now; its dead-lettered attempts leave the DLQ; the event is processing
 * again. *out receives the deliveries to hand to the scheduler. A delivery
 * whose destination was deleted is never requeued (nothing would send it):
 * the attempt retry fails with HS_ERR_CONFLICT naming the destination; the
 * event retry leaves it in `skipped` and fails only when nothing is left.
 * HS_ERR_NOTFOUND: no such attempt/event; HS_ERR_CONFLICT: nothing to retry. */
int hs_store_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err);
typedef struct hs_event_retry {
    hs_delivery *queued; /* back to pending (free with hs_free) */
    size_t n;
    hs_delivery *skipped; /* left dead-lettered: destination deleted (hs_free) */
    size_t nskipped;
} hs_event_retry;
int hs_store_event_retry(hs_store *s, const char *event_id, hs_event_retry *out, hs_error *err);
/* At start: cancel the pending deliveries of destinations that no longer
 * exist (found through the queue counts, not the backlog) and settle their
 * events (docs/api.md: delivered, failed or cancelled). Logs what it
 * changed. */
int hs_store_settle_orphans(hs_store *s, hs_error *err);

/* Several reads that must agree (an event, its deliveries and their
 * attempts): between begin and end, every read of the calling thread sees
 * the same committed state. Not nested; not on the loop thread; end it on
 * every path. */
int hs_store_snapshot_begin(hs_store *s, hs_error *err);
void hs_store_snapshot_end(hs_store *s);

/* Reads for the API, as the JSON objects of docs/api.md (times ISO 8601). */
typedef struct hs_attempt_query {
    const char *event_id, *destination_id, *connection_id;
    const char *status; /* success | failed | pending (failed with a retry planned) */
    bool dlq_only;
    hs_page page;
} hs_attempt_query;
int hs_store_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err);
int hs_store_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err);
/* Every attempt of one event, oldest first (for GET /v1/events/:id). */
int hs_store_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err);

/* ---- retention (async; loop thread) ----
 *
 * One small step of forgetting: deletes the oldest events received before
 * before_ms whose every delivery has ended well or was cancelled (status
 * received, delivered or cancelled), with their deliveries and delivery
 * attempts, until about max_rows rows went (at least one event); then gives
 * back free space (SQLite: an incremental vacuum of what this step freed).
 * Events with a pending or dead-lettered delivery (processing, failed) are
 * never deleted. It runs in the writer's group like any write, so each step
 * must stay small; src/maintenance/retention.c paces them. cb runs on the
 * loop thread after the commit; `more` says whether eligible events were
 * left (call again soon). */
typedef struct hs_sweep hs_sweep;
typedef void (*hs_sweep_cb)(hs_sweep *sw, int status);
struct hs_sweep {
    uint64_t before_ms;
    size_t max_rows;
    /* output */
    size_t events, deliveries, attempts; /* deleted */
    size_t keys;    /* dedup keys whose window had closed, forgotten (SQLite: rows of its log, a group's keys each) */
    size_t replays; /* replay jobs that ended before before_ms, deleted with their chosen events */
    size_t pages_freed; /* given back to the file system */
    uint64_t exec_us;   /* the step's own time on the writer thread */
    bool more;
    hs_error err;
    hs_sweep_cb cb;
    void *ud;
    void *priv_;
    hs_store *store_; /* private: where the counts go */
};
hs_sweep *hs_sweep_new(void);
void hs_sweep_free(hs_sweep *sw);
/* 0: accepted (cb will run); <0: refused now, cb will not run. */
int hs_store_sweep(hs_store *s, hs_sweep *sw);

/* ---- API keys (sync; any thread but the loop) ----
 *
 * Only a key's SHA-256 is stored, with its id ("ak_..."), a name, the first
 * characters of the key (prefix, to recognise it in a list) and its times.
 * A revoked key keeps its row (revoked_at set) and is never listed again. */
#define HS_APIKEY_NAME_MAX 400  /* bytes of a key's name (100 characters of UTF-8) */
#define HS_APIKEY_PREFIX_MAX 16 /* bytes of a key's stored prefix */
typedef struct hs_apikey {
    char id[HS_ID_MAX];
    char hash[65]; /* lowercase hex SHA-256 of the key */
    char name[HS_APIKEY_NAME_MAX + 1];
    char prefix[HS_APIKEY_PREFIX_MAX + 1]; /* "" for keys stored before prefixes were */
    uint64_t created_at;                   /* ms */
    uint64_t last_used_at;                 /* ms; 0: never (or not yet written, see touch) */
} hs_apikey;
/* Store k (its last_used_at is ignored; created_at 0: now). HS_ERR_CONFLICT
 * when the id or the hash is taken; HS_ERR_INVALID for a malformed hash. */
int hs_store_apikey_add(hs_store *s, const hs_apikey *k, hs_error *err);
/* The keys not revoked, in id order. *out: array of *n (free with hs_free). */
int hs_store_apikey_list(hs_store *s, hs_apikey **out, size_t *n, hs_error *err);
/* Revoke now. HS_ERR_NOTFOUND when there is no such key or it was revoked. */
int hs_store_apikey_revoke(hs_store *s, const char *id, hs_error *err);
/* When keys were last used, in one transaction: each key's last_used_at
 * becomes the later of the stored one and `at`. Unknown or revoked ids are
 * skipped. Callers batch these (src/api/auth.h): no write per request. */
typedef struct hs_apikey_use {
    char id[HS_ID_MAX];
    uint64_t at; /* ms */
} hs_apikey_use;
int hs_store_apikey_touch(hs_store *s, const hs_apikey_use *uses, size_t n, hs_error *err);

/* ---- several nodes on one store (src/cluster/ uses these) ----
 * A backend that several servers can share (PostgreSQL) keeps the nodes, a
 * lease per destination (owner node, fencing epoch, expiry) and a change
 * feed. Times are the database's clock (ms), so that nodes whose clocks
 * disagree still agree on expiry. hs_store_node is a connection of its own
 * for the cluster's thread, never behind the writer's groups; its calls
 * block for at most HS_STORE_NODE_TIMEOUT_MS: a database that stops
 * answering fails them (and the connection is opened again by the next
 * call) instead of hanging the thread. One thread at a time per
 * hs_store_node. */
#define HS_STORE_NODE_TIMEOUT_MS 2000
#define HS_NODE_ID_MAX 64

/* Can several servers share this store? (SQLite: no.) */
bool hs_store_shared(const hs_store *s);
/* This server's node id: the change feed messages it sends carry it (set
 * before serving; id: [A-Za-z0-9._:-], at most HS_NODE_ID_MAX - 1). */
void hs_store_set_node_id(hs_store *s, const char *node_id);
/* A destination created on this node is leased to it in the creating
 * transaction (epoch 1, for lease_ms; 0: not, e.g. --role api), so that it
 * is delivered from its first event on, before any claim. Any thread
 * (src/cluster/ sets it once the node may hold leases). */
void hs_store_set_create_lease(hs_store *s, uint64_t lease_ms);
const char *hs_store_node_id(const hs_store *s);

typedef struct hs_node_info {
    char id[HS_NODE_ID_MAX];
    char listen[128];
    char role[16]; /* all | api | deliver */
    uint64_t started_at, last_seen_at;
    size_t destinations; /* leases it holds (unexpired) */
    size_t watchers;     /* its live-feed subscribers */
} hs_node_info;
typedef struct hs_lease {
    char destination_id[HS_ID_MAX];
    uint64_t epoch;
} hs_lease;
/* A destination's queue as the store counts it. */
typedef struct hs_queue_mark {
    char destination_id[HS_ID_MAX];
    uint64_t pending;
    uint64_t last_seq; /* the highest seq ever given to one of its deliveries */
    uint64_t requeues; /* bumped whenever deliveries go back to pending behind last_seq */
} hs_queue_mark;

/* A change feed message (another node's commit). */
typedef enum hs_feed_kind {
    HS_FEED_DELIVERIES, /* id: a destination; n new deliveries, up to last_seq */
    HS_FEED_REQUEUED,   /* id: a destination; n deliveries back to pending behind its cursor */
    HS_FEED_RESOURCE,   /* id: a resource of res_kind written or deleted */
    HS_FEED_KEYS,       /* the API keys changed */
    HS_FEED_RESET,      /* id: a destination whose circuit a node that does not hold it was asked to reset */
    HS_FEED_LIVE,       /* id: a live-feed channel; text: the message for its subscribers */
} hs_feed_kind;
typedef struct hs_feed_msg {
    hs_feed_kind kind;
    char node[HS_NODE_ID_MAX]; /* who committed it */
    char id[HS_ID_MAX];
    hs_kind res_kind;
    bool deleted;
    uint64_t n, last_seq;
    const char *text; /* HS_FEED_LIVE: valid during the callback */
} hs_feed_msg;
typedef void (*hs_feed_fn)(const hs_feed_msg *m, void *ud);

typedef struct hs_store_node hs_store_node;
int hs_store_node_open(hs_store *s, hs_store_node **out, hs_error *err);
void hs_store_node_close(hs_store_node *n);
/* Say me is alive (its row's last_seen_at = now); forget nodes not seen
 * for an hour. *now: the database's clock. */
int hs_store_node_beat(hs_store_node *n, const hs_node_info *me, uint64_t *now, hs_error *err);
/* node_id leaves (a clean stop): the others count it out at once. */
int hs_store_node_leave(hs_store_node *n, const char *node_id, hs_error *err);
/* Every node known, with how many unexpired leases each holds; *now: the
 * database's clock (hs_free *out). */
int hs_store_node_list(hs_store_node *n, hs_node_info **out, size_t *count, uint64_t *now, hs_error *err);
/* How many destinations there are: the leases to spread. */
int hs_store_lease_total(hs_store_node *n, size_t *total, hs_error *err);
/* Extend by ttl_ms every lease node_id holds; *held: those (hs_free). */
int hs_store_lease_renew(hs_store_node *n, const char *node_id, uint64_t ttl_ms, hs_lease **held, size_t *count,
                         hs_error *err);
/* Take at most limit destinations whose lease is free, expired or
 * missing, each with a new epoch; *got: those (hs_free). */
int hs_store_lease_claim(hs_store_node *n, const char *node_id, uint64_t ttl_ms, size_t limit, hs_lease **got,
                         size_t *count, hs_error *err);
/* Give one back (only if it is still node_id's at that epoch). */
int hs_store_lease_release(hs_store_node *n, const char *node_id, const hs_lease *l, hs_error *err);
/* The queue marks of the destinations node_id holds (hs_free *out). */
int hs_store_queue_marks(hs_store_node *n, const char *node_id, hs_queue_mark **out, size_t *count, hs_error *err);
/* Relay live-feed messages (texts, for channels) to the other nodes, on
 * n: best effort, outside any transaction. */
int hs_store_feed_live(hs_store_node *n, const char *node_id, const char *const *channels, const char *const *texts,
                       size_t count, hs_error *err);
/* Subscribe n to the change feed (again after a lost connection: the
 * caller learns that from an error and catches up with queue marks). */
int hs_store_feed_listen(hs_store_node *n, hs_error *err);
/* Wait up to timeout_ms for messages; fn for each (own ones included). */
int hs_store_feed_wait(hs_store_node *n, int timeout_ms, hs_feed_fn fn, void *ud, hs_error *err);
/* A destination's state as the store has it (any node may ask; the
 * owner's memory is ahead of it): its saved circuit, its pending count and
 * the node holding its lease ("" when none holds it now). Any thread but
 * a loop's. */
typedef struct hs_dest_state {
    bool has_circuit;
    hs_circuit_row circuit;
    uint64_t pending;
    char owner[HS_NODE_ID_MAX];
} hs_dest_state;
int hs_store_destination_state(hs_store *s, const char *destination_id, hs_dest_state *out, hs_error *err);
/* Tell the other nodes (in a write of its own, sync): HS_FEED_RESET for
 * destination id. */
int hs_store_feed_announce(hs_store *s, hs_feed_kind kind, const char *id, hs_error *err);
/* The route cache of the writer is dropped (another node changed a
 * source or connection). Sync, not on a loop thread. */
int hs_store_routes_reload(hs_store *s, hs_error *err);

#endif
