/* src/store/pg/pg.h — the PostgreSQL backend's insides. Private to
 * src/store/pg/.
 *
 *   pg.c         connections (the writer's, in pipeline mode; the read
 *                pool's, src/store/pool.h),
 *                statements and their cache, results, errors, the writer's
 *                transactions, reconnecting, open/close, the backend table
 *                (hs_pg_backend)
 *   schema.c     versioned migrations (table hookstream_schema), under an
 *                advisory lock so that several nodes never race
 *   routes.c     the rows routing reads (src/store/routing.c decides)
 *   resources.c  sources, destinations, connections; secrets re-sealing
 *   events.c     ingest's inserts, event and delivery reads
 *   arrivals.c   dedup keys claimed at ingest, the sources' event counts
 *   apikeys.c    API keys
 *   ops.c        issues, notification channels, alert rules
 *   deliveries.c attempts, circuits, retries, orphans, attempt reads
 *   retention.c  deleting settled events past retention
 *   rows.c       statements over many rows (the group's deferred inserts
 *                and updates, sent at its flush)
 *   queues.c     refs, pending counts per destination, the scheduler's
 *                paged reads, the change feed's messages
 *   cluster.c    nodes, leases, listening to the change feed (several
 *                nodes on one database: src/cluster/)
 *   replay.c     replay jobs (their windows, cursors and claims, on the
 *                database's clock); the bulk retry is deliveries.c's
 *
 * The schema is SQLite's (src/store/sqlite/schema.c, step 5) in PostgreSQL
 * types: ids are text COLLATE "C" (byte order, as SQLite compares), times
 * bigint milliseconds, bodies bytea, JSON documents text (kept byte for
 * byte as written). A delivery's public id is computed from its created_at
 * and seq by the view deliveries_named, never stored.
 *
 * Statements: every call names its SQL with $1..$n parameters, bound from
 * an hs_pg_params; each connection prepares a statement once and keeps it
 * (HS_PG_STMT_CACHE). Integers travel as text, bytea in binary.
 *
 * The writer's connection is in pipeline mode: hs_pg_queue sends a
 * statement without waiting (ingest's and attempt records' inserts and
 * updates, the hot paths), hs_pg_exec sends one and waits for it and for
 * everything queued before it. A queued statement that fails fails the
 * group at the next wait (the backend's flush or commit at the latest).
 *
 * What speaks no SQL is shared with the other backends (src/store/docs.h,
 * resources.h, counts.h, pool.h, retention.h, retry.h). The functions named hs__pg_<op>
 * are the table's entries, documented in src/store/backend.h.
 */
#ifndef HS_STORE_PG_H
#define HS_STORE_PG_H

#include <libpq-fe.h>

#include "base/buf.h"
#include "store/backend.h"
#include "store/counts.h"
#include "store/pool.h"

#define HS_PG_STMT_CACHE 64  /* prepared statements kept per connection */
#define HS_PG_READERS_MAX 8  /* read connections at most */
#define HS_PG_PARAMS_MAX 24  /* parameters of one statement at most */
#define HS_PG_QUEUE_MAX 1024 /* statements queued in the pipeline before a wait */

/* A statement sent in the pipeline whose result is still to be read. */
typedef struct hs_pg_sent {
    PGresult **keep; /* where its result goes (NULL: checked and dropped) */
    const char *what;
} hs_pg_sent;

/* One connection with its prepared statements. Used by one thread at a
 * time. */
typedef struct hs_pg_conn {
    PGconn *pg;      /* NULL: closed, conn_reset connects again */
    const char *url; /* the store's (hs__pg.url) */
    int nprepared;
    struct {
        const char *key; /* the caller's pointer: compared before the text */
        char *sql;
    } prepared[HS_PG_STMT_CACHE]; /* statement i is named "hs<i>" */
    /* pipeline mode (the writer's connection) */
    bool pipeline;
    hs_pg_sent *sent;
    size_t nsent, sent_cap;
    bool failed;   /* a statement of the open transaction failed: it cannot commit */
    hs_error qerr; /* why (the first failure) */
} hs_pg_conn;

#define HS_PG_ROWS_PARAMS 1280 /* parameters of one multi-row statement at most (64 rows of 20, rows.c) */

/* Room for the parameters of a multi-row statement (rows.c). */
typedef struct hs_pg_wide {
    const char *v[HS_PG_ROWS_PARAMS];
    int len[HS_PG_ROWS_PARAMS];
    int fmt[HS_PG_ROWS_PARAMS];
    char num[HS_PG_ROWS_PARAMS][24];
} hs_pg_wide;

/* The values of $1..$n, in its own arrays (HS_PG_PARAMS_MAX of them) or,
 * when wide is set, in those (rows.c). Integers are kept as text in num;
 * fmt: 0 text, 1 binary. */
typedef struct hs_pg_params {
    int n;
    hs_pg_wide *wide;
    const char *v[HS_PG_PARAMS_MAX];
    int len[HS_PG_PARAMS_MAX];
    int fmt[HS_PG_PARAMS_MAX];
    char num[HS_PG_PARAMS_MAX][24];
} hs_pg_params;

/* The backend's state: hs_store.be_state. */
typedef struct hs__pg {
    char *url;
    hs_pg_conn writer; /* owned by the writer thread once it runs */
    char channel[64];  /* the change feed's NOTIFY channel: "hookstream_" + schema */
    const char *node;  /* the store's node id (hs_store.node_id) */
    /* writer thread: pending count changes per destination (refs.n) in the
     * open group, written by hs_pg_queues_flush (the backend's flush),
     * dropped by its discard (src/store/counts.h) */
    hs__counts pending;
    /* writer thread: the open group's ingests whose rows are still to be
     * sent (events.c: several rows per INSERT at the flush) */
    struct hs_pg_ingest_row *ingests;
    size_t ningests, ingests_cap;
    size_t ingests_sent; /* the first ones, whose rows went out: seqs to give */
    /* writer thread: what the flush's statements answer, read after its
     * wait: each destination's last_seq before the group (queues.c) and
     * the seqs the deliveries' INSERTs took (events.c) */
    PGresult *queues_kept;
    PGresult **seqs_kept;
    size_t nseqs_kept;
    hs__counts last_seq; /* destination number -> the highest seq committed before, then given */
    /* writer thread: the open group's attempt records whose rows are still
     * to be sent (deliveries.c, at the flush as well) */
    hs_attempt_op **attempts;
    size_t nattempts, attempts_cap;
    /* the multi-row statements' SQL, by definition and size (rows.c) */
    struct {
        const struct hs_pg_rows_def *def;
        int k;
        char *sql;
    } rows_sql[16];
    size_t nrows_sql;
    /* writer thread: destination id -> refs.n, as learnt (refs never
     * change: a number once given stays that id's) */
    hs_idmap dest_keys;
    /* writer thread: the open transaction's id (pg_current_xact_id), to
     * learn after a lost connection whether its COMMIT went through */
    char xact[32];
    uint64_t reconnect_at; /* writer: no new attempt before (monotonic ms) */
    /* read connections, HS_PG_READERS_MAX at most (src/store/pool.h) */
    hs__pool pool;
} hs__pg;

static inline hs__pg *hs__pgs(const hs_store *s) { return s->be_state; }
/* The writer connection (writer thread only). */
static inline hs_pg_conn *hs__pg_writer(const hs_store *s) { return &hs__pgs(s)->writer; }

/* ---- src/store/pg/pg.c ---- */

/* Parameters, in order: $1 is the first added. */
void hs_pg_text(hs_pg_params *p, const char *v); /* NULL: SQL NULL */
void hs_pg_int(hs_pg_params *p, int64_t v);
void hs_pg_int_or_null(hs_pg_params *p, int64_t v);           /* 0: SQL NULL */
void hs_pg_bytes(hs_pg_params *p, const void *v, size_t len); /* bytea; v NULL: SQL NULL */

/* Run sql with p (may be NULL) and wait for it: its result, with status
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK (PQclear it), or NULL with err filled
 * ("what: reason", the code from the SQLSTATE: HS_ERR_CONFLICT for a unique
 * violation, HS_ERR_BUSY for a serialization failure or deadlock, HS_ERR_IO
 * otherwise). On the writer, what was queued before is read first; if any
 * of it failed, this fails too. */
PGresult *hs_pg_exec(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, hs_error *err);
/* The same for a statement whose rows are not needed; *changed (may be
 * NULL): the rows it inserted, updated or deleted. */
int hs_pg_run(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, int64_t *changed, hs_error *err);
/* Writer only: send sql with p in the pipeline without waiting. A failure
 * to send is returned; a failure of the statement shows at the next wait
 * (hs_pg_exec, hs_pg_run, hs_pg_sync) and the transaction cannot commit. */
int hs_pg_queue(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, hs_error *err);
/* Not the writer's: as hs_pg_exec, waiting at most timeout_ms for the
 * answer; past that (HS_ERR_TIMEOUT) the connection is closed (c->pg NULL),
 * so that a database that stopped answering never holds the caller. */
PGresult *hs_pg_exec_timed(hs_pg_conn *c, const char *sql, const hs_pg_params *p, int timeout_ms, const char *what,
                           hs_error *err);
/* Writer only: as hs_pg_queue, and the statement's result goes to *keep
 * at the next wait (the caller PQclears it; NULL when it failed). */
int hs_pg_queue_keep(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, PGresult **keep,
                     hs_error *err);
/* Writer only: wait for everything queued; the first failure. */
int hs_pg_sync(hs_pg_conn *c, hs_error *err);
/* A PostgreSQL array literal of n numbers or n strings (quoted), for one
 * parameter of type bigint[] or text[]. */
void hs_pg_array_ints(hs_buf *b, const int64_t *v, size_t n);
void hs_pg_array_texts(hs_buf *b, const char *const *v, size_t n);

/* ---- src/store/pg/rows.c: statements over many rows (writer thread) ---- */

#define HS_PG_ROWS_MAX 64   /* rows per statement at most (then 8, then 1) */
#define HS_PG_ROWS_CHUNKS 3 /* statement sizes: HS_PG_ROWS_MAX, 8, 1 rows */

/* A statement over rows: head, then each row's tuple with a '?' per
 * parameter (the first row's may carry the casts), then tail. */
typedef struct hs_pg_rows_def {
    const char *head, *first_row, *row, *tail;
} hs_pg_rows_def;

/* Adds item i's parameters (one row's) to p. */
typedef void (*hs_pg_row_fn)(size_t i, hs_pg_params *p, void *ud);
/* Queue items from..to-1 in the writer's pipeline as statements of def,
 * 64, 8 or 1 rows each. keep (may be NULL): room for the results of
 * hs_pg_rows_statements(to - from) statements, in order (hs_pg_queue_keep). */
int hs_pg_rows_send(hs_store *s, const hs_pg_rows_def *def, size_t from, size_t to, hs_pg_row_fn row, void *ud,
                    const char *what, PGresult **keep, hs_error *err);
/* How many statements hs_pg_rows_send makes of n rows. */
size_t hs_pg_rows_statements(size_t n);
void hs_pg_rows_free(hs__pg *q);

/* Cells of a result (row, col). */
bool hs_pg_null(const PGresult *r, int row, int col);
int64_t hs_pg_get_int(const PGresult *r, int row, int col);                  /* 0 for NULL */
const char *hs_pg_get_text(const PGresult *r, int row, int col);             /* NULL for NULL */
bool hs_pg_get_bool(const PGresult *r, int row, int col);                    /* "t"; false for NULL */
void hs_pg_copy(char *dst, size_t cap, const PGresult *r, int row, int col); /* "" for NULL, truncated */
char *hs_pg_dup(const PGresult *r, int row, int col);                        /* hs_strdup; "" for NULL */
/* A bytea cell, decoded: hs_malloc'd, NUL after the bytes; NULL for NULL. */
char *hs_pg_get_bytes(const PGresult *r, int row, int col, size_t *len);

/* A connection in the normal mode (not the writer's pipeline), with the
 * session settings every connection of the store has; may_create: create
 * the database the URL names when it is missing; *missing (may be NULL):
 * the connection failed because that database does not exist. Close with
 * hs_pg_conn_close (also after a failed open). */
int hs_pg_conn_open(hs_pg_conn *c, const char *url, bool may_create, bool *missing, hs_error *err);
void hs_pg_conn_close(hs_pg_conn *c);

/* Borrow a read connection (blocks while all HS_PG_READERS_MAX are lent;
 * reconnects one that was lost; the thread's snapshot's when it has one). */
static inline hs_pg_conn *hs_pg_reader_get(hs_store *s, hs_error *err) { return hs__pool_get(&hs__pgs(s)->pool, err); }
static inline void hs_pg_reader_put(hs_store *s, hs_pg_conn *c) { hs__pool_put(&hs__pgs(s)->pool, c); }

/* ---- src/store/pg/schema.c ---- */
/* Bring the database of c (not in pipeline mode) to the current schema,
 * one transaction per step, under an advisory lock; url for messages. */
int hs_pg_schema_migrate(hs_pg_conn *c, const char *url, hs_error *err);
int hs_pg_schema_version(void);

/* ---- src/store/pg/routes.c ---- */
int hs__pg_route_source(hs_store *s, const char *ref, bool by_slug, hs_route_source *out, hs_error *err);
int hs__pg_route_rows(hs_store *s, const char *source_id, hs_route_row_fn fn, void *ud, hs_error *err);

/* ---- src/store/pg/resources.c ---- */
/* the statements of resource writes (src/store/resources.h) */
extern const struct hs__res_ops hs__pg_res_ops;
int hs__pg_resource_get(hs_store *s, hs_kind kind, const char *id_or_slug, json_t **out, hs_error *err);
int hs__pg_resource_list(hs_store *s, hs_kind kind, const hs_page *page, const hs_list_filter *filters, size_t nfilters,
                         json_t **items, bool *has_more, hs_error *err);
int hs__pg_reseal(const char *url, const hs_secret_codec *codec, const hs_secretbox *from, const hs_secretbox *to,
                  hs_reseal_stats *st, hs_error *err);

/* ---- src/store/pg/events.c ---- */
/* An ingest of the open group whose rows are not sent yet. */
typedef struct hs_pg_ingest_row {
    hs_ingest *ing; /* the op's: lives until its group completes */
    uint64_t now;   /* its deliveries' created_at (in their ids) */
} hs_pg_ingest_row;
/* from deliveries_named */
#define HS_PG_DELIVERY_COLS                                                                                            \
    "id, event_id, destination_id, connection_id, status, attempts, next_attempt_at, created_at, updated_at, seq"
/* Row i of a result with columns HS_PG_DELIVERY_COLS. */
void hs_pg_delivery_from_row(const PGresult *r, int row, hs_delivery *d);
/* Run sql (columns HS_PG_DELIVERY_COLS; p may be NULL) on c: all its rows. */
int hs_pg_deliveries_select(hs_pg_conn *c, const char *sql, const hs_pg_params *p, hs_delivery **items, size_t *n,
                            hs_error *err);
int hs__pg_ingest_insert(hs_store *s, hs_ingest *ing, bool *wrote, hs_error *err);
/* Send the rows of the group's ingests, several per INSERT (the backend's
 * flush; the deliveries take their seqs from the sequence delivery_seq);
 * after its wait, give each delivery its seq and id (hs_pg_ingests_kept);
 * drop them (discard); free what that takes (close). */
int hs_pg_ingests_flush(hs_store *s, hs_error *err);
int hs_pg_ingests_kept(hs_store *s, hs_error *err);
void hs_pg_ingests_clear(hs_store *s);
void hs_pg_ingests_free(hs_store *s);
int hs__pg_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err);

/* ---- src/store/pg/arrivals.c ---- */
/* The flush's first step: the keys of the group's ingests claimed, and
 * those whose key was live made duplicates (one wait), before any of
 * their rows are sent. */
int hs_pg_dedup_flush(hs_store *s, hs_error *err);
/* Queue the group's events per source (s->arrivals) into source_counts. */
int hs_pg_arrivals_flush(hs_store *s, hs_error *err);
int hs__pg_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err);
int hs__pg_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                      hs_error *err);
int hs__pg_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err);

/* ---- src/store/pg/apikeys.c ---- */
extern const hs__apikey_ops hs__pg_apikey_ops;

/* ---- src/store/pg/ops.c: issues, channels, alert rules ---- */
extern const hs__ops_ops hs__pg_ops_ops;

/* ---- src/store/pg/deliveries.c ---- */
/* Cancel a deleted destination's pending deliveries, settle their events,
 * drop its queue count (writer thread); *cancelled and *events (either may
 * be NULL) grow by how many deliveries were cancelled and events settled. */
int hs_pg_deliveries_cancel(hs_store *s, const char *destination_id, uint64_t now, size_t *cancelled, size_t *events,
                            hs_error *err);
int hs__pg_attempt_record(hs_store *s, const hs_attempt_op *op, hs_error *err);
/* Before the flush's other statements: the group's attempt ops made under
 * a lease (epoch) are checked against the leases, whose rows stay locked
 * (FOR SHARE) until the commit, so that no other node takes one over
 * meanwhile; those whose lease moved are dropped from the group and
 * complete with HS_ERR_STALE. Then their destinations' pending counts. */
int hs_pg_attempts_fence(hs_store *s, hs_error *err);
/* Send the rows of the group's attempt records (the backend's flush);
 * drop them (discard); free what that takes (close). */
int hs_pg_attempts_flush(hs_store *s, hs_error *err);
void hs_pg_attempts_clear(hs_store *s);
void hs_pg_attempts_free(hs_store *s);
int hs__pg_pending_deliveries(hs_store *s, hs_delivery **out, size_t *n, hs_error *err);
int hs__pg_circuits(hs_store *s, hs_circuit_row **out, size_t *n, hs_error *err);
int hs__pg_attempt_retry(hs_store *s, const char *attempt_id, hs_delivery *out, hs_error *err);
int hs__pg_event_retry(hs_store *s, const char *event_id, hs_event_retry *out, hs_error *err);
int hs__pg_bulk_retry(hs_store *s, const hs_bulk_retry *q, hs_event_retry *out, bool *more, hs_error *err);

/* ---- src/store/pg/replay.c: replay jobs (src/store/replay.h) ---- */
extern const hs__replay_ops hs__pg_replay_ops;
int hs__pg_settle_orphans(hs_store *s, size_t *deliveries, size_t *events, hs_error *err);
int hs__pg_attempt_list(hs_store *s, const hs_attempt_query *q, json_t **items, bool *has_more, hs_error *err);
int hs__pg_attempt_get(hs_store *s, const char *id, json_t **out, hs_error *err);
int hs__pg_event_attempts(hs_store *s, const char *event_id, json_t **items, hs_error *err);

/* ---- src/store/pg/cluster.c ---- */
extern const hs_store_cluster_ops hs__pg_cluster_ops;

/* ---- src/store/pg/retention.c ---- */
int hs__pg_sweep(hs_store *s, hs_sweep *sw, hs_error *err);

/* ---- src/store/pg/queues.c ---- */
/* The number of a destination or connection id (refs); create: add it when
 * missing (writer thread). *key is 0 when absent. */
int hs_pg_ref_key(hs_pg_conn *w, const char *id, bool create, int64_t *key, hs_error *err);
/* The number of a destination id that has one (0 when none), remembered
 * after the first lookup (writer thread). */
int hs_pg_dest_key(hs_store *s, const char *destination_id, int64_t *key, hs_error *err);
void hs_pg_dest_keys_free(hs_store *s);
/* Queue the open group's pending count changes (hs__pg.pending), one
 * statement for all, which locks the destinations' queue rows in the order
 * of their numbers (the group's delivery seqs are taken after it: one
 * destination's seqs grow in commit order whichever node commits, and two
 * nodes' groups never wait for each other in a cycle), and clear them. Its
 * answer (each row's last_seq) goes to hs__pg.queues_kept. */
int hs_pg_queues_flush(hs_store *s, hs_error *err);
/* After the flush's wait: the last_seq each destination had before the
 * group, into hs__pg.last_seq (the answer is freed). */
void hs_pg_queues_kept(hs_store *s);
/* The last_seq a destination (its number) had before the group, as
 * hs_pg_queues_kept read it (0: none). */
int64_t hs_pg_last_seq(const hs_store *s, int64_t key);
/* One destination's new deliveries in the group. */
typedef struct hs_pg_mark {
    int64_t key;
    const char *destination_id;
    uint64_t added, last_seq;
} hs_pg_mark;
/* Queue: each destination's new last_seq, and a change feed message per
 * destination (read by the other nodes at the commit). */
int hs_pg_queues_mark(hs_store *s, const hs_pg_mark *marks, size_t n, hs_error *err);
/* Queue one change feed message (a NOTIFY: sent at the commit). */
int hs_pg_feed_send(hs_store *s, const char *msg, hs_error *err);
int hs__pg_queue_counts(hs_store *s, hs_queue_count **out, size_t *n, hs_error *err);
int hs__pg_queue_page(hs_store *s, const char *destination_id, uint64_t after_seq, bool fresh_only, size_t limit,
                      hs_delivery *out, size_t *n, hs_error *err);
int hs__pg_queue_due(hs_store *s, const char *destination_id, uint64_t now, const uint64_t *skip, size_t nskip,
                     size_t limit, hs_delivery *out, size_t *n, uint64_t *next_due, hs_error *err);

#endif
