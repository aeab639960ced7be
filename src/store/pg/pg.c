/* src/store/pg/pg.c — the PostgreSQL backend (src/store/backend.h):
 * connections, statements, results, the writer's transactions and
 * reconnecting, the read pool, open and close, and the backend's table.
 *
 * One write connection, used by the writer thread of src/store/writer.c
 * only, in pipeline mode: a group is BEGIN, the transaction's id read back
 * (one round trip), then the ops' statements sent without waiting (a wait
 * only where an op needs a row back: routing on a cache miss, resources,
 * retries), a SAVEPOINT around each op that needs one, and COMMIT: with
 * synchronous_commit on, the group is durable when COMMIT answers.
 *
 * A lost connection fails the group that was running (503 for its
 * ingests: nothing of it was acknowledged) and the next group reconnects,
 * at most every HS_PG_RECONNECT_MS while PostgreSQL is away. A connection
 * lost while COMMIT was on its way leaves the outcome unknown: the writer
 * reconnects (for up to HS_PG_RESOLVE_MS) and asks pg_xact_status() about
 * the transaction's id, so the group is acknowledged exactly when it
 * committed. Reads use a pool of connections in the normal mode, from any
 * thread (src/store/pool.c lends them), each reconnected when found lost.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/url.h"
#include "store/pg/pg.h"

#define HS_PG_CONNECT_TIMEOUT "5" /* seconds, unless the URL says otherwise */
#define HS_PG_RECONNECT_MS 500    /* between two reconnection attempts of the writer */
#define HS_PG_RESOLVE_MS 10000    /* how long a commit of unknown outcome is chased */

/* ---- parameters ---- */

static int param_slot(hs_pg_params *p) {
    int cap = p->wide ? HS_PG_ROWS_PARAMS : HS_PG_PARAMS_MAX;
    if (p->n >= cap) {
        hs_error_log("store: more than %d parameters in one statement", cap);
        abort();
    }
    int i = p->n++;
    (p->wide ? p->wide->len : p->len)[i] = 0;
    (p->wide ? p->wide->fmt : p->fmt)[i] = 0;
    return i;
}

static const char **values(hs_pg_params *p) { return p->wide ? p->wide->v : p->v; }

void hs_pg_text(hs_pg_params *p, const char *v) { values(p)[param_slot(p)] = v; }

void hs_pg_int(hs_pg_params *p, int64_t v) {
    int i = param_slot(p);
    char *num = p->wide ? p->wide->num[i] : p->num[i];
    snprintf(num, 24, "%lld", (long long)v);
    values(p)[i] = num;
}

void hs_pg_int_or_null(hs_pg_params *p, int64_t v) {
    if (v)
        hs_pg_int(p, v);
    else
        hs_pg_text(p, NULL);
}

void hs_pg_bytes(hs_pg_params *p, const void *v, size_t len) {
    int i = param_slot(p);
    /* a non-NULL pointer for an empty value: empty bytes, not NULL */
    values(p)[i] = v ? (len ? v : "") : NULL;
    (p->wide ? p->wide->len : p->len)[i] = (int)len;
    (p->wide ? p->wide->fmt : p->fmt)[i] = 1;
}

/* ---- errors ---- */

/* PostgreSQL's message without its trailing newline. */
static void message_of(const char *msg, char *out, size_t cap) {
    snprintf(out, cap, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) out[--n] = '\0';
}

static bool lost(const hs_pg_conn *c) { return !c->pg || PQstatus(c->pg) != CONNECTION_OK; }

/* Map a failed result (or a connection failure, r NULL) to an hs_err code
 * and fill err ("what: reason"). */
static int fail(hs_error *err, const hs_pg_conn *c, const PGresult *r, const char *what) {
    char msg[400];
    message_of(r ? PQresultErrorMessage(r) : c->pg ? PQerrorMessage(c->pg) : NULL, msg, sizeof msg);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int code = HS_ERR_IO;
    if (state && strcmp(state, "23505") == 0)
        code = HS_ERR_CONFLICT; /* unique_violation */
    else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0))
        code = HS_ERR_BUSY; /* serialization failure, deadlock, lock not available */
    if (lost(c)) return hs_error_set(err, HS_ERR_IO, NULL, "%s: the connection to PostgreSQL was lost: %s", what, msg);
    return hs_error_set(err, code, NULL, "%s: %s", what, msg);
}

/* ---- statements ---- */

static void cache_clear(hs_pg_conn *c) {
    for (int i = 0; i < c->nprepared; i++) hs_free(c->prepared[i].sql);
    c->nprepared = 0;
}

/* The name of sql's prepared statement on c, preparing it the first time
 * ("" when the cache is full: the statement goes unnamed); NULL and err
 * filled when preparing failed. In pipeline mode the preparation is queued
 * like a statement. */
static const char *stmt_name(hs_pg_conn *c, const char *sql, char name[16], hs_error *err);
static void sent_push(hs_pg_conn *c, PGresult **keep, const char *what);

static const char *stmt_name(hs_pg_conn *c, const char *sql, char name[16], hs_error *err) {
    /* SQL is almost always a string constant: its address finds the entry
     * at once (the text is still compared: a built query may reuse one) */
    int found = -1;
    for (int i = 0; i < c->nprepared && found < 0; i++)
        if (c->prepared[i].key == sql && strcmp(c->prepared[i].sql, sql) == 0) found = i;
    for (int i = 0; i < c->nprepared && found < 0; i++)
        if (strcmp(c->prepared[i].sql, sql) == 0) found = i;
    if (found >= 0) {
        snprintf(name, 16, "hs%d", found);
        return name;
    }
    if (c->nprepared == HS_PG_STMT_CACHE) {
        name[0] = '\0';
        return name;
    }
    int i = c->nprepared;
    snprintf(name, 16, "hs%d", i);
    if (c->pipeline) {
        if (!PQsendPrepare(c->pg, name, sql, 0, NULL)) {
            fail(err, c, NULL, "preparing a statement");
            return NULL;
        }
        sent_push(c, NULL, "preparing a statement");
    } else {
        PGresult *r = PQprepare(c->pg, name, sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail(err, c, r, "preparing a statement");
            PQclear(r);
            return NULL;
        }
        PQclear(r);
    }
    c->prepared[i].key = sql;
    c->prepared[i].sql = hs_strdup(sql);
    c->nprepared++;
    return name;
}

static void sent_push(hs_pg_conn *c, PGresult **keep, const char *what) {
    if (c->nsent == c->sent_cap) {
        c->sent_cap = c->sent_cap ? c->sent_cap * 2 : 64;
        c->sent = hs_realloc(c->sent, c->sent_cap * sizeof *c->sent);
    }
    c->sent[c->nsent].keep = keep;
    c->sent[c->nsent].what = what;
    c->nsent++;
}

static const hs_pg_params no_params;

/* Send sql in the pipeline (its result to *keep when keep is set). */
static int send_raw(hs_pg_conn *c, const char *sql, int n, const char *const *v, const int *len, const int *fmt,
                    const char *what, PGresult **keep, hs_error *err) {
    if (lost(c)) return fail(err, c, NULL, what);
    char name[16];
    if (!stmt_name(c, sql, name, err)) return err->code;
    int ok = name[0] ? PQsendQueryPrepared(c->pg, name, n, v, len, fmt, 0)
                     : PQsendQueryParams(c->pg, sql, n, NULL, v, len, fmt, 0);
    if (!ok) return fail(err, c, NULL, what);
    sent_push(c, keep, what);
    return HS_OK;
}

static int send_stmt(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, PGresult **keep,
                     hs_error *err) {
    if (!p) p = &no_params;
    const hs_pg_wide *w = p->wide;
    return w ? send_raw(c, sql, p->n, w->v, w->len, w->fmt, what, keep, err)
             : send_raw(c, sql, p->n, p->v, p->len, p->fmt, what, keep, err);
}

/* Note the first failure of the open transaction on c. */
static void note_failure(hs_pg_conn *c, const PGresult *r, const char *what) {
    if (c->failed) return;
    c->failed = true;
    fail(&c->qerr, c, r, what);
}

int hs_pg_sync(hs_pg_conn *c, hs_error *err) {
    if (c->nsent == 0) return HS_OK;
    bool was_failed = c->failed;
    if (!PQpipelineSync(c->pg)) note_failure(c, NULL, "sending to PostgreSQL");
    size_t i = 0;
    int nulls = 0;
    for (;;) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            /* the end of one statement's results; twice in a row: nothing more will come */
            if (++nulls > 2 || lost(c)) break;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        const hs_pg_sent *sent = i < c->nsent ? &c->sent[i] : NULL;
        i++;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            if (sent && sent->keep)
                *sent->keep = r;
            else
                PQclear(r);
            continue;
        }
        if (st != PGRES_PIPELINE_ABORTED) note_failure(c, r, sent ? sent->what : "a statement");
        PQclear(r);
    }
    if (lost(c)) note_failure(c, NULL, i < c->nsent ? c->sent[i].what : "waiting for PostgreSQL");
    c->nsent = 0;
    if (c->failed && !was_failed) {
        *err = c->qerr;
        return err->code;
    }
    if (c->failed) return hs_error_set(err, HS_ERR_IO, NULL, "%s", c->qerr.msg);
    return HS_OK;
}

int hs_pg_queue_keep(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, PGresult **keep,
                     hs_error *err) {
    if (c->nsent >= HS_PG_QUEUE_MAX) {
        int rc = hs_pg_sync(c, err);
        if (rc != HS_OK) return rc;
    }
    return send_stmt(c, sql, p, what, keep, err);
}

int hs_pg_queue(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, hs_error *err) {
    return hs_pg_queue_keep(c, sql, p, what, NULL, err);
}

void hs_pg_array_ints(hs_buf *b, const int64_t *v, size_t n) {
    hs_buf_appends(b, "{");
    for (size_t i = 0; i < n; i++) hs_buf_appendf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    hs_buf_appends(b, "}");
}

void hs_pg_array_texts(hs_buf *b, const char *const *v, size_t n) {
    hs_buf_appends(b, "{");
    for (size_t i = 0; i < n; i++) {
        hs_buf_appends(b, i ? ",\"" : "\"");
        for (const char *c = v[i]; *c; c++) {
            if (*c == '"' || *c == '\\') hs_buf_append(b, "\\", 1);
            hs_buf_append(b, c, 1);
        }
        hs_buf_appends(b, "\"");
    }
    hs_buf_appends(b, "}");
}

PGresult *hs_pg_exec(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, hs_error *err) {
    if (c->pipeline) {
        PGresult *r = NULL;
        if (send_stmt(c, sql, p, what, &r, err) != HS_OK) return NULL;
        if (hs_pg_sync(c, err) != HS_OK) {
            PQclear(r);
            return NULL;
        }
        if (!r) hs_error_set(err, HS_ERR_IO, NULL, "%s: no result from PostgreSQL", what);
        return r;
    }
    if (!p) p = &no_params;
    if (lost(c)) {
        fail(err, c, NULL, what);
        return NULL;
    }
    char name[16];
    if (!stmt_name(c, sql, name, err)) return NULL;
    PGresult *r = name[0] ? PQexecPrepared(c->pg, name, p->n, p->v, p->len, p->fmt, 0)
                          : PQexecParams(c->pg, sql, p->n, NULL, p->v, p->len, p->fmt, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return r;
    fail(err, c, r, what);
    PQclear(r);
    return NULL;
}

/* Wait until c's socket is readable (or writable) or deadline (monotonic
 * ms) passes: false on the deadline or an error. */
static bool wait_socket(hs_pg_conn *c, bool writable, uint64_t deadline) {
    uint64_t now = hs_monotonic_ns() / 1000000u;
    if (now >= deadline) return false;
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = writable ? POLLOUT : POLLIN};
    int n = poll(&pfd, 1, (int)(deadline - now));
    return n > 0;
}

PGresult *hs_pg_exec_timed(hs_pg_conn *c, const char *sql, const hs_pg_params *p, int timeout_ms, const char *what,
                           hs_error *err) {
    if (!p) p = &no_params;
    if (lost(c)) {
        fail(err, c, NULL, what);
        return NULL;
    }
    uint64_t deadline = hs_monotonic_ns() / 1000000u + (uint64_t)timeout_ms;
    bool ok = PQsendQueryParams(c->pg, sql, p->n, NULL, p->v, p->len, p->fmt, 0) != 0;
    int f = 0;
    while (ok && (f = PQflush(c->pg)) == 1) ok = wait_socket(c, true, deadline);
    ok = ok && f == 0;
    PGresult *last = NULL;
    bool failed = !ok;
    while (ok) {
        while (ok && PQisBusy(c->pg)) ok = wait_socket(c, false, deadline) && PQconsumeInput(c->pg);
        if (!ok) break;
        PGresult *r = PQgetResult(c->pg);
        if (!r) break;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            PQclear(last);
            last = r;
        } else {
            if (!failed) fail(err, c, r, what);
            failed = true;
            PQclear(r);
        }
    }
    if (!ok) {
        /* no answer in time (or the connection broke): this connection is
         * done; the next call opens another */
        hs_error_set(err, HS_ERR_TIMEOUT, NULL, "%s: PostgreSQL did not answer within %d ms", what, timeout_ms);
        PQfinish(c->pg);
        c->pg = NULL;
        failed = true;
    }
    if (failed) {
        PQclear(last);
        return NULL;
    }
    if (!last) hs_error_set(err, HS_ERR_IO, NULL, "%s: no result from PostgreSQL", what);
    return last;
}

int hs_pg_run(hs_pg_conn *c, const char *sql, const hs_pg_params *p, const char *what, int64_t *changed,
              hs_error *err) {
    PGresult *r = hs_pg_exec(c, sql, p, what, err);
    if (!r) return err->code;
    if (changed) *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return HS_OK;
}

/* ---- results ---- */

bool hs_pg_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

int64_t hs_pg_get_int(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool hs_pg_get_bool(const PGresult *r, int row, int col) {
    return !PQgetisnull(r, row, col) && strcmp(PQgetvalue(r, row, col), "t") == 0;
}

const char *hs_pg_get_text(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

void hs_pg_copy(char *dst, size_t cap, const PGresult *r, int row, int col) {
    const char *v = hs_pg_get_text(r, row, col);
    snprintf(dst, cap, "%s", v ? v : "");
}

char *hs_pg_dup(const PGresult *r, int row, int col) {
    const char *v = hs_pg_get_text(r, row, col);
    return hs_strdup(v ? v : "");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* bytea in text results: "\x" and two hex digits per byte (bytea_output is
 * set to hex on every connection). */
char *hs_pg_get_bytes(const PGresult *r, int row, int col, size_t *len) {
    *len = 0;
    if (PQgetisnull(r, row, col)) return NULL;
    const char *v = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n >= 2 && v[0] == '\\' && v[1] == 'x') {
        v += 2;
        n -= 2;
    }
    char *out = hs_malloc(n / 2 + 1);
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = hexval(v[i]), lo = hexval(v[i + 1]);
        if (hi < 0 || lo < 0) break;
        out[k++] = (char)(hi << 4 | lo);
    }
    out[k] = '\0';
    *len = k;
    return out;
}

/* ---- connections ---- */

/* Session settings every connection needs, whatever the server's defaults
 * say: a commit is durable when it answers; bytea in hex (hs_pg_get_bytes).
 * And a session of ours that stops talking inside a transaction is ended
 * by the server after HS_PG_IDLE_TX: hookstream never waits between two
 * statements of a transaction, so such a session is a node cut off (or
 * frozen) mid-group, and until it ends, the lease rows its group locked
 * (deliveries.c, the fence) keep every other node from taking its
 * destinations over. Its server side also gives up on a peer that stops
 * answering, as the client side does (connect_url). */
#define HS_PG_IDLE_TX "'5s'"
static const char SQL_SESSION[] = "SET synchronous_commit TO on; SET bytea_output TO hex; "
                                  "SET client_encoding TO 'UTF8'; SET standard_conforming_strings TO on; "
                                  "SET idle_in_transaction_session_timeout TO " HS_PG_IDLE_TX "; "
                                  "SET tcp_keepalives_idle TO 5; SET tcp_keepalives_interval TO 2; "
                                  "SET tcp_keepalives_count TO 3; SET tcp_user_timeout TO 10000";

static int session_setup(hs_pg_conn *c, hs_error *err) {
    PGresult *r = PQexec(c->pg, SQL_SESSION);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? HS_OK : fail(err, c, r, "configuring the connection");
    PQclear(r);
    return rc;
}

/* Connect with url; dbname_override names another database of the same
 * server (creating ours). */
static PGconn *connect_url(const char *url, const char *dbname_override) {
    /* a server that stops answering (a cut network: no reset ever comes)
     * fails the connection's calls within seconds, not the kernel's
     * quarter of an hour; the URL's own settings win (they come after) */
    const char *keys[] = {"connect_timeout",
                          "application_name",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          dbname_override ? "dbname" : NULL,
                          NULL};
    const char *vals[] = {HS_PG_CONNECT_TIMEOUT, "hookstream", "5", "2", "3", "10000", url, dbname_override, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

/* The database the URL names does not exist: create it (the role must be
 * allowed to), as a first start on a fresh server would want. */
static int create_database(const char *url, const char *name, hs_error *err) {
    PGconn *pg = connect_url(url, "postgres");
    int rc = HS_OK;
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[300];
        message_of(PQerrorMessage(pg), msg, sizeof msg);
        rc = hs_error_set(err, HS_ERR_IO, "db", "database %s does not exist, and creating it failed: %s", name, msg);
    } else {
        char *ident = PQescapeIdentifier(pg, name, strlen(name));
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident ? ident : "\"?\"");
        PQfreemem(ident);
        PGresult *r = PQexec(pg, sql);
        /* 42P04: another node created it meanwhile */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0)) {
            char msg[300];
            message_of(PQresultErrorMessage(r), msg, sizeof msg);
            rc =
                hs_error_set(err, HS_ERR_IO, "db", "database %s does not exist, and creating it failed: %s", name, msg);
        } else {
            hs_info("store: created PostgreSQL database %s", name);
        }
        PQclear(r);
    }
    PQfinish(pg);
    return rc;
}

/* The connection failed because the database it names does not exist. */
static bool db_missing(PGconn *pg) {
    const char *db = PQdb(pg), *msg = PQerrorMessage(pg);
    if (!db || !msg) return false;
    char want[256];
    snprintf(want, sizeof want, "database \"%s\" does not exist", db);
    return strstr(msg, want) != NULL;
}

int hs_pg_conn_open(hs_pg_conn *c, const char *url, bool may_create, bool *missing, hs_error *err) {
    memset(c, 0, sizeof *c);
    c->url = url;
    if (missing) *missing = false;
    char shown[512];
    hs_url_redact(url, shown, sizeof shown);
    c->pg = connect_url(url, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK && may_create && db_missing(c->pg)) {
        char name[128];
        snprintf(name, sizeof name, "%s", PQdb(c->pg));
        PQfinish(c->pg);
        c->pg = NULL;
        int rc = create_database(url, name, err);
        if (rc != HS_OK) return rc;
        c->pg = connect_url(url, NULL);
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[400];
        message_of(PQerrorMessage(c->pg), msg, sizeof msg);
        hs_error_set(err, HS_ERR_IO, "db", "cannot connect to PostgreSQL at %s: %s", shown, msg);
        if (missing) *missing = db_missing(c->pg);
        PQfinish(c->pg);
        c->pg = NULL;
        return HS_ERR_IO;
    }
    return session_setup(c, err);
}

void hs_pg_conn_close(hs_pg_conn *c) {
    cache_clear(c);
    hs_free(c->sent);
    c->sent = NULL;
    c->nsent = c->sent_cap = 0;
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
}

/* Reconnect a lost connection in place (its prepared statements went with
 * the server session). */
static int conn_reset(hs_pg_conn *c, hs_error *err) {
    cache_clear(c);
    c->nsent = 0;
    c->failed = false;
    if (c->pg)
        PQreset(c->pg);
    else
        c->pg = connect_url(c->url, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char msg[400];
        message_of(PQerrorMessage(c->pg), msg, sizeof msg);
        return hs_error_set(err, HS_ERR_IO, NULL, "PostgreSQL is unreachable: %s", msg);
    }
    int rc = session_setup(c, err);
    if (rc == HS_OK && c->pipeline && !PQenterPipelineMode(c->pg)) rc = fail(err, c, NULL, "entering pipeline mode");
    return rc;
}

/* ---- read pool (src/store/pool.h) ---- */

static void *reader_open(void *ctx, hs_error *err) {
    const hs__pg *q = ctx;
    hs_pg_conn *c = hs_malloc(sizeof *c);
    if (hs_pg_conn_open(c, q->url, false, NULL, err) == HS_OK) return c;
    hs_pg_conn_close(c);
    hs_free(c);
    return NULL;
}

/* A connection found lost is reconnected before it is lent again. */
static int reader_check(void *conn, hs_error *err) {
    hs_pg_conn *c = conn;
    return !lost(c) ? HS_OK : conn_reset(c, err);
}

static void reader_close(void *conn) {
    hs_pg_conn_close(conn);
    hs_free(conn);
}

static int reader_snapshot_begin(void *conn, hs_error *err) {
    return hs_pg_run(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, "starting a read", NULL, err);
}

static void reader_snapshot_end(void *conn) {
    hs_pg_conn *c = conn;
    PGresult *r = PQexec(c->pg, "COMMIT");
    PQclear(r);
}

static const hs__pool_ops reader_ops = {
    .open = reader_open,
    .check = reader_check,
    .close = reader_close,
    .snapshot_begin = reader_snapshot_begin,
    .snapshot_end = reader_snapshot_end,
};

static int snapshot_begin(hs_store *s, hs_error *err) { return hs__pool_snapshot_begin(&hs__pgs(s)->pool, err); }
static void snapshot_end(hs_store *s) { hs__pool_snapshot_end(&hs__pgs(s)->pool); }

/* ---- the writer's transactions ---- */

static uint64_t monotonic_ms(void) { return hs_monotonic_ns() / 1000000u; }

/* The writer's connection, reconnected when it was lost (at most every
 * HS_PG_RECONNECT_MS: while PostgreSQL is away, groups fail at once). */
/* The writer's connection again (several servers may share the database:
 * src/cluster/ gives each destination to one of them). */
static int writer_reconnect(hs_pg_conn *w, hs_error *err) { return conn_reset(w, err); }

static int writer_ready(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs_pg_conn *w = &q->writer;
    if (!lost(w)) return HS_OK;
    uint64_t now = monotonic_ms();
    if (now < q->reconnect_at) return hs_error_set(err, HS_ERR_IO, NULL, "PostgreSQL is unreachable (reconnecting)");
    q->reconnect_at = now + HS_PG_RECONNECT_MS;
    int rc = writer_reconnect(w, err);
    if (rc == HS_OK) hs_info("store: reconnected to PostgreSQL");
    return rc;
}

static int tx_begin(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs_pg_conn *w = &q->writer;
    int rc = writer_ready(s, err);
    if (rc != HS_OK) return rc;
    w->failed = false;
    q->xact[0] = '\0';
    /* a failed group's transaction that the writer did not roll back (it
     * saw no transaction to keep: in_transaction is false once a statement
     * failed) is still open, aborted, on the server: end it first */
    if (PQtransactionStatus(w->pg) != PQTRANS_IDLE) rc = hs_pg_queue(w, "ROLLBACK", NULL, "rollback failed", err);
    if (rc == HS_OK) rc = hs_pg_queue(w, "BEGIN", NULL, "cannot start a transaction", err);
    PGresult *r = rc == HS_OK
                      ? hs_pg_exec(w, "SELECT pg_current_xact_id()::text", NULL, "cannot start a transaction", err)
                      : NULL;
    if (!r) return err->code;
    hs_pg_copy(q->xact, sizeof q->xact, r, 0, 0);
    PQclear(r);
    return HS_OK;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* COMMIT went out and the connection was lost before its answer: did it
 * commit? Reconnect and ask, until HS_PG_RESOLVE_MS have passed. */
static int resolve_commit(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs_pg_conn *w = &q->writer;
    uint64_t deadline = monotonic_ms() + HS_PG_RESOLVE_MS;
    hs_warn("store: the connection to PostgreSQL was lost during a commit (transaction %s); finding out whether it "
            "committed",
            q->xact);
    while (monotonic_ms() < deadline) {
        hs_error e;
        if (lost(w) && writer_reconnect(w, &e) != HS_OK) {
            sleep_ms(200);
            continue;
        }
        hs_pg_params p = {0};
        hs_pg_text(&p, q->xact);
        PGresult *r = hs_pg_exec(w, "SELECT pg_xact_status($1::xid8)", &p, "asking about a commit", &e);
        if (!r) {
            sleep_ms(200);
            continue;
        }
        char status[32];
        hs_pg_copy(status, sizeof status, r, 0, 0);
        PQclear(r);
        if (strcmp(status, "committed") == 0) {
            hs_info("store: transaction %s had committed: its writes are acknowledged", q->xact);
            return HS_OK;
        }
        if (strcmp(status, "aborted") == 0 || !status[0])
            return hs_error_set(err, HS_ERR_IO, NULL,
                                "the connection to PostgreSQL was lost during a commit, which did not go through");
        sleep_ms(50); /* in progress: the server is still finishing it */
    }
    return hs_error_set(err, HS_ERR_IO, NULL,
                        "the connection to PostgreSQL was lost during a commit (transaction %s) and the outcome "
                        "could not be learnt within %d s; nothing of it was acknowledged",
                        q->xact, HS_PG_RESOLVE_MS / 1000);
}

static int tx_commit(hs_store *s, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    int rc = hs_pg_queue(w, "COMMIT", NULL, "commit failed", err);
    bool sent = rc == HS_OK;
    if (rc == HS_OK) rc = hs_pg_sync(w, err);
    if (rc != HS_OK && sent && lost(w) && hs__pgs(s)->xact[0]) rc = resolve_commit(s, err);
    w->failed = false;
    return rc;
}

static int tx_rollback(hs_store *s, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    w->nsent = 0;
    if (lost(w)) return HS_OK; /* the server dropped the transaction with the connection */
    w->failed = false;
    int rc = hs_pg_queue(w, "ROLLBACK", NULL, "rollback failed", err);
    if (rc == HS_OK) rc = hs_pg_sync(w, err);
    w->failed = false;
    return rc;
}

static int tx_savepoint(hs_store *s, hs_error *err) {
    return hs_pg_queue(hs__pg_writer(s), "SAVEPOINT op", NULL, "savepoint", err);
}
static int tx_release(hs_store *s, hs_error *err) {
    return hs_pg_queue(hs__pg_writer(s), "RELEASE op", NULL, "release", err);
}

static int tx_rollback_to(hs_store *s, hs_error *err) {
    hs_pg_conn *w = hs__pg_writer(s);
    if (lost(w)) return fail(err, w, NULL, "rollback to");
    w->failed = false; /* the op's failure is undone with its savepoint */
    int rc = hs_pg_queue(w, "ROLLBACK TO op", NULL, "rollback to", err);
    return rc == HS_OK ? hs_pg_sync(w, err) : rc;
}

static bool tx_open(hs_store *s) {
    const hs_pg_conn *w = hs__pg_writer(s);
    return !lost(w) && !w->failed;
}

static void kept_clear(hs__pg *q) {
    PQclear(q->queues_kept);
    q->queues_kept = NULL;
    for (size_t i = 0; i < q->nseqs_kept; i++) PQclear(q->seqs_kept[i]);
    hs_free(q->seqs_kept);
    q->seqs_kept = NULL;
    q->nseqs_kept = 0;
    hs__counts_clear(&q->last_seq);
}

static void tx_discard(hs_store *s) {
    hs__counts_clear(&hs__pgs(s)->pending);
    hs_pg_ingests_clear(s);
    hs_pg_attempts_clear(s);
    kept_clear(hs__pgs(s));
}

/* What the group's writes deferred, in this order: the ingests' dedup keys
 * claimed (a wait, only when some ingest has a key: arrivals.c), the
 * attempts' leases checked (a wait, only when some attempt was made under
 * a lease), the queue counts (locking the destinations' rows), the events
 * and their deliveries (which take their seqs now), the sources' counts,
 * the attempts' rows; then every
 * queued statement's outcome; then the deliveries get their seqs and ids,
 * and the destinations' last_seq and the change feed messages are queued
 * (their outcome is read with the commit's). */
static int tx_flush(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    int rc = hs_pg_dedup_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_attempts_fence(s, err);
    if (rc == HS_OK) rc = hs_pg_queues_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_ingests_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_arrivals_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_attempts_flush(s, err);
    if (rc == HS_OK) rc = hs_pg_sync(hs__pg_writer(s), err);
    if (rc == HS_OK) {
        hs_pg_queues_kept(s);
        rc = hs_pg_ingests_kept(s, err);
    }
    kept_clear(q);
    return rc;
}

/* ---- open, close ---- */

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool pg_match(const char *url) { return has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"); }

/* The change feed's channel: one per schema, so that hookstreams side by
 * side in one database do not hear each other. */
static int channel_name(hs__pg *q, hs_error *err) {
    PGresult *r = hs_pg_exec(&q->writer, "SELECT 'hookstream_' || left(current_schema(), 40)", NULL,
                             "reading the schema's name", err);
    if (!r) return err->code;
    hs_pg_copy(q->channel, sizeof q->channel, r, 0, 0);
    PQclear(r);
    return HS_OK;
}

static void state_free(hs__pg *q) {
    hs__pool_free(&q->pool);
    hs__counts_free(&q->pending);
    hs__counts_free(&q->last_seq);
    hs_free(q->url);
    hs_free(q);
}

static int pg_open(hs_store *s, const char *url, hs_error *err) {
    hs__pg *q = hs_calloc(1, sizeof *q);
    q->url = hs_strdup(url);
    hs__pool_init(&q->pool, &reader_ops, q, HS_PG_READERS_MAX);
    q->node = s->node_id;
    int rc = hs_pg_conn_open(&q->writer, url, true, NULL, err);
    if (rc == HS_OK) rc = hs_pg_schema_migrate(&q->writer, url, err);
    if (rc == HS_OK) rc = channel_name(q, err);
    if (rc == HS_OK && !PQenterPipelineMode(q->writer.pg)) rc = fail(err, &q->writer, NULL, "entering pipeline mode");
    if (rc != HS_OK) {
        hs_pg_conn_close(&q->writer);
        state_free(q);
        return rc;
    }
    q->writer.pipeline = true;
    char shown[512];
    hs_url_redact(url, shown, sizeof shown);
    hs_debug("store: opened %s (PostgreSQL %d, schema version %d)", shown, PQserverVersion(q->writer.pg),
             hs_pg_schema_version());
    s->be_state = q;
    return HS_OK;
}

static void pg_close(hs_store *s) {
    hs__pg *q = hs__pgs(s);
    hs__pool_drain(&q->pool);
    hs_pg_conn_close(&q->writer);
    hs_pg_dest_keys_free(s);
    hs_pg_ingests_free(s);
    hs_pg_attempts_free(s);
    kept_clear(q);
    hs_pg_rows_free(q);
    state_free(q);
    s->be_state = NULL;
}

const hs_store_backend hs_pg_backend = {
    .name = "postgres",
    .match = pg_match,
    .open = pg_open,
    .close = pg_close,
    .reseal = hs__pg_reseal,
    .begin = tx_begin,
    .commit = tx_commit,
    .rollback = tx_rollback,
    .savepoint = tx_savepoint,
    .release = tx_release,
    .rollback_to = tx_rollback_to,
    .in_transaction = tx_open,
    .flush = tx_flush,
    .discard = tx_discard,
    .route_source = hs__pg_route_source,
    .route_rows = hs__pg_route_rows,
    .ingest_insert = hs__pg_ingest_insert,
    .attempt_record = hs__pg_attempt_record,
    .resources = &hs__pg_res_ops,
    .attempt_retry = hs__pg_attempt_retry,
    .event_retry = hs__pg_event_retry,
    .settle_orphans = hs__pg_settle_orphans,
    .sweep = hs__pg_sweep,
    .apikeys = &hs__pg_apikey_ops,
    .replay = &hs__pg_replay_ops,
    .ops = &hs__pg_ops_ops,
    .resource_get = hs__pg_resource_get,
    .resource_list = hs__pg_resource_list,
    .event_get = hs__pg_event_get,
    .event_list = hs__pg_event_list,
    .event_deliveries = hs__pg_event_deliveries,
    .pending_deliveries = hs__pg_pending_deliveries,
    .queue_page = hs__pg_queue_page,
    .queue_due = hs__pg_queue_due,
    .queue_counts = hs__pg_queue_counts,
    .source_counts = hs__pg_source_counts,
    .circuits = hs__pg_circuits,
    .attempt_list = hs__pg_attempt_list,
    .attempt_get = hs__pg_attempt_get,
    .event_attempts = hs__pg_event_attempts,
    .snapshot_begin = snapshot_begin,
    .snapshot_end = snapshot_end,
    .cluster = &hs__pg_cluster_ops,
};
