/* src/store/pg/events.c — ingest's inserts (the hot path), event and
 * delivery reads.
 *
 * Ingest runs on the writer thread inside the group transaction, once
 * src/store/routing.c has decided where the event goes. It parses no JSON
 * and waits for nothing: it keeps the ingest in the group's list; the
 * backend's flush (before COMMIT, and
 * before any op that might read what the group wrote) sends the rows of
 * all of them, up to ROWS_MAX per INSERT, in the writer's pipeline. So a
 * group of a hundred ingests costs PostgreSQL a few statements, not two
 * hundred: each statement has a fixed cost (its protocol messages, the
 * executor's start) that rows share. Their outcome is read with the rest
 * of the group; a failure fails the group. Only a destination or
 * connection without its number (refs) costs a round trip, to name it.
 * Reads run on a connection of the read pool, from any thread.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/timeutil.h"
#include "store/pg/pg.h"

/* ---- ingest (writer thread) ---- */

static const hs_pg_rows_def EVENT_ROWS = {
    .head = "INSERT INTO events(id, source_id, method, path, query, headers, body, source_ip, content_type, "
            "received_at, status, open_deliveries, verification_status, dedup_status) VALUES",
    .first_row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    .row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    .tail = "",
};
/* Each row takes its seq from the sequence as it is inserted, in the
 * order of the rows (hs_pg_queues_flush locked the destinations' queue
 * rows first). The answer names each row, so that a seq reaches its
 * delivery whatever order the rows come back in. */
static const hs_pg_rows_def DELIVERY_ROWS = {
    .head = "INSERT INTO deliveries(seq, event_id, destination, connection, status, attempts, next_attempt_at, "
            "created_at, updated_at) VALUES",
    .first_row = "(nextval('delivery_seq'), ?, ?::bigint, ?::bigint, 'pending', 0, ?::bigint, ?::bigint, ?::bigint)",
    .row = "(nextval('delivery_seq'), ?, ?, ?, 'pending', 0, ?, ?, ?)",
    .tail = " RETURNING seq, event_id, connection",
};

static const char *or_empty(const char *s) { return s ? s : ""; }

static void event_row(size_t i, hs_pg_params *p, void *ud) {
    const hs_ingest *ing = ((hs__pg *)ud)->ingests[i].ing;
    hs_pg_text(p, ing->event_id);
    hs_pg_text(p, ing->source_id);
    hs_pg_text(p, or_empty(ing->method));
    hs_pg_text(p, or_empty(ing->path));
    hs_pg_text(p, or_empty(ing->query));
    hs_pg_text(p, ing->headers_json ? ing->headers_json : "{}");
    hs_pg_bytes(p, ing->body ? ing->body : "", ing->body ? ing->body_len : 0);
    hs_pg_text(p, or_empty(ing->source_ip));
    hs_pg_text(p, or_empty(ing->content_type));
    hs_pg_int(p, (int64_t)ing->received_at);
    hs_pg_text(p, ing->event_status);
    hs_pg_int(p, (int64_t)ing->ndeliveries);
    hs_pg_text(p, ing->verification_status ? ing->verification_status : "unverified");
    hs_pg_text(p, ing->duplicate ? "duplicate" : "unique");
}

/* The group's deliveries, one after the other. */
typedef struct delivery_item {
    const hs_pg_ingest_row *r;
    const hs_delivery_ref *d;
} delivery_item;

static void delivery_row(size_t i, hs_pg_params *p, void *ud) {
    const delivery_item *it = &((const delivery_item *)ud)[i];
    hs_pg_text(p, it->r->ing->event_id);
    hs_pg_int(p, it->d->destination_key);
    hs_pg_int(p, it->d->connection_key);
    hs_pg_int(p, (int64_t)it->r->ing->received_at);
    hs_pg_int(p, (int64_t)it->r->now);
    hs_pg_int(p, (int64_t)it->r->now);
}

int hs_pg_ingests_flush(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    if (!q->ningests) return HS_OK;
    int rc = hs_pg_rows_send(s, &EVENT_ROWS, 0, q->ningests, event_row, q, "storing the events", NULL, err);
    size_t n = 0;
    for (size_t i = 0; i < q->ningests; i++) n += q->ingests[i].ing->ndeliveries;
    delivery_item *items = rc == HS_OK && n ? hs_malloc(n * sizeof *items) : NULL;
    for (size_t i = 0, k = 0; items && i < q->ningests; i++)
        for (size_t j = 0; j < q->ingests[i].ing->ndeliveries; j++)
            items[k++] = (delivery_item){.r = &q->ingests[i], .d = &q->ingests[i].ing->deliveries[j]};
    if (items) {
        q->nseqs_kept = hs_pg_rows_statements(n);
        q->seqs_kept = hs_calloc(q->nseqs_kept, sizeof *q->seqs_kept);
        rc = hs_pg_rows_send(s, &DELIVERY_ROWS, 0, n, delivery_row, items, "storing the deliveries", q->seqs_kept, err);
    }
    hs_free(items);
    /* the ingests stay listed until hs_pg_ingests_kept has given their
     * deliveries their seqs */
    q->ingests_sent = q->ningests;
    return rc;
}

/* The row of a result of DELIVERY_ROWS that is d's (from k on, as they
 * normally come back in the order of the rows); -1 when none. */
static int row_of(const PGresult *r, int k, const hs_ingest *ing, const hs_delivery_ref *d) {
    int n = PQntuples(r);
    for (int t = 0; t < n; t++) {
        int i = (k + t) % n;
        const char *ev = hs_pg_get_text(r, i, 1);
        if (ev && strcmp(ev, ing->event_id) == 0 && hs_pg_get_int(r, i, 2) == d->connection_key) return i;
    }
    return -1;
}

/* Grows marks (one per destination) by one delivery of destination key. */
static void mark_add(hs_pg_mark **marks, size_t *n, size_t *cap, const hs_delivery_ref *d) {
    for (size_t i = 0; i < *n; i++)
        if ((*marks)[i].key == d->destination_key) {
            (*marks)[i].added++;
            if (d->seq > (*marks)[i].last_seq) (*marks)[i].last_seq = d->seq;
            return;
        }
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *marks = hs_realloc(*marks, *cap * sizeof **marks);
    }
    (*marks)[(*n)++] =
        (hs_pg_mark){.key = d->destination_key, .destination_id = d->destination_id, .added = 1, .last_seq = d->seq};
}

int hs_pg_ingests_kept(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    size_t sent = q->ingests_sent;
    q->ingests_sent = 0;
    if (!sent) return HS_OK;
    int rc = HS_OK;
    size_t stmt = 0;
    int row = 0;
    hs_pg_mark *marks = NULL;
    size_t nmarks = 0, cap = 0;
    for (size_t i = 0; i < sent && rc == HS_OK; i++) {
        hs_ingest *ing = q->ingests[i].ing;
        for (size_t j = 0; j < ing->ndeliveries && rc == HS_OK; j++) {
            hs_delivery_ref *d = &ing->deliveries[j];
            while (stmt < q->nseqs_kept && q->seqs_kept[stmt] && row >= PQntuples(q->seqs_kept[stmt])) {
                stmt++;
                row = 0;
            }
            const PGresult *r = stmt < q->nseqs_kept ? q->seqs_kept[stmt] : NULL;
            int at = r ? row_of(r, row, ing, d) : -1;
            if (at < 0) {
                rc = hs_error_set(err, HS_ERR_INTERNAL, NULL, "storing the deliveries: a row came back unnamed");
                break;
            }
            row++;
            d->seq = (uint64_t)hs_pg_get_int(r, at, 0);
            hs__delivery_id(q->ingests[i].now, d->seq, d->id);
            /* what came before it in its destination's queue: the row's
             * last_seq, then the group's own */
            int64_t prev = hs_pg_last_seq(s, d->destination_key);
            for (size_t m = 0; m < nmarks; m++)
                if (marks[m].key == d->destination_key) prev = (int64_t)marks[m].last_seq;
            d->prev_seq = prev > 0 ? (uint64_t)prev : 0;
            mark_add(&marks, &nmarks, &cap, d);
        }
    }
    if (rc == HS_OK) rc = hs_pg_queues_mark(s, marks, nmarks, err);
    hs_free(marks);
    hs_pg_ingests_clear(s);
    return rc;
}

void hs_pg_ingests_clear(hs_store *s) {
    hs__pg *q = hs__pgs(s);
    q->ningests = 0;
    q->ingests_sent = 0;
}

void hs_pg_ingests_free(hs_store *s) {
    hs__pg *q = hs__pgs(s);
    hs_free(q->ingests);
    q->ingests = NULL;
    q->ningests = q->ingests_cap = 0;
}

/* The numbers of d's destination and connection: routing hands them over
 * from its rows; one that was missing there (a resource from before refs
 * existed) is named now. */
static int delivery_keys(hs_pg_conn *w, hs_delivery_ref *d, hs_error *err) {
    int rc = HS_OK;
    if (d->destination_key <= 0) rc = hs_pg_ref_key(w, d->destination_id, true, &d->destination_key, err);
    if (rc == HS_OK && d->connection_key <= 0) rc = hs_pg_ref_key(w, d->connection_id, true, &d->connection_key, err);
    return rc;
}

int hs__pg_ingest_insert(hs_store *s, hs_ingest *ing, bool *wrote, hs_error *err) {
    (void)wrote; /* nothing is written here: the flush sends the rows, and its failure fails the group */
    hs__pg *q = hs__pgs(s);
    hs_pg_conn *w = hs__pg_writer(s);
    int rc = HS_OK;
    for (size_t i = 0; i < ing->ndeliveries && rc == HS_OK; i++) rc = delivery_keys(w, &ing->deliveries[i], err);
    if (rc != HS_OK) return rc;
    uint64_t now = hs_now_ms();
    /* seqs and ids come with the flush (hs_pg_ingests_kept) */
    for (size_t i = 0; i < ing->ndeliveries; i++) hs__counts_add(&q->pending, ing->deliveries[i].destination_key, 1);
    if (q->ningests == q->ingests_cap) {
        q->ingests_cap = q->ingests_cap ? q->ingests_cap * 2 : 64;
        q->ingests = hs_realloc(q->ingests, q->ingests_cap * sizeof *q->ingests);
    }
    q->ingests[q->ningests++] = (hs_pg_ingest_row){.ing = ing, .now = now};
    return HS_OK;
}

/* ---- events (any thread) ---- */

static const char SQL_EVENT_GET[] =
    "SELECT id, source_id, method, path, query, source_ip, content_type, received_at, status, verification_status, "
    "dedup_status, headers, body FROM events WHERE id = $1";

/* Columns 0..10 are common to get and list; see SQL_EVENT_GET. */
static hs_event *event_from_row(const PGresult *r, int row) {
    hs_event *e = hs_calloc(1, sizeof *e);
    hs_pg_copy(e->id, sizeof e->id, r, row, 0);
    hs_pg_copy(e->source_id, sizeof e->source_id, r, row, 1);
    e->method = hs_pg_dup(r, row, 2);
    e->path = hs_pg_dup(r, row, 3);
    e->query = hs_pg_dup(r, row, 4);
    e->source_ip = hs_pg_dup(r, row, 5);
    e->content_type = hs_pg_dup(r, row, 6);
    e->received_at = (uint64_t)hs_pg_get_int(r, row, 7);
    hs_pg_copy(e->status, sizeof e->status, r, row, 8);
    hs_pg_copy(e->verification_status, sizeof e->verification_status, r, row, 9);
    hs_pg_copy(e->dedup_status, sizeof e->dedup_status, r, row, 10);
    return e;
}

int hs__pg_event_get(hs_store *s, const char *id, hs_event **out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    PGresult *r = hs_pg_exec(c, SQL_EVENT_GET, &p, "reading the event", err);
    int ret = HS_OK;
    if (!r) {
        ret = err->code;
    } else if (PQntuples(r) > 0) {
        hs_event *e = event_from_row(r, 0);
        e->headers_json = hs_pg_dup(r, 0, 11);
        /* NUL after the bytes: handy for text */
        e->body = (unsigned char *)hs_pg_get_bytes(r, 0, 12, &e->body_len);
        if (!e->body) e->body = (unsigned char *)hs_strdup("");
        *out = e;
    } else {
        ret = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "event %s not found", id);
    }
    PQclear(r);
    hs_pg_reader_put(s, c);
    return ret;
}

/* " AND column = $n" when value is set. */
static void equals(hs_buf *sql, hs_pg_params *p, const char *column, const char *value) {
    if (!value) return;
    hs_pg_text(p, value);
    hs_buf_appendf(sql, " AND %s = $%d", column, p->n);
}

/* The list's SQL, its parameters numbered in the order they are added. */
static void event_list_sql(const hs_event_query *q, hs_buf *sql, hs_pg_params *p) {
    /* octet_length(body) reads the value's size, not the value */
    hs_buf_appends(sql, "SELECT id, source_id, method, path, query, source_ip, content_type, received_at, status, "
                        "verification_status, dedup_status, octet_length(body) FROM events WHERE true");
    equals(sql, p, "source_id", q->source_id);
    equals(sql, p, "status", q->status);
    equals(sql, p, "method", q->method);
    equals(sql, p, "verification_status", q->verification_status);
    equals(sql, p, "dedup_status", q->dedup_status);
    /* an id prefix, or bytes of the body */
    if (q->search) {
        hs_pg_text(p, q->search);
        if (strncmp(q->search, "evt_", 4) == 0)
            hs_buf_appendf(sql, " AND left(id, length($%d::text)) = $%d::text", p->n, p->n);
        else
            hs_buf_appendf(sql, " AND position(convert_to($%d::text, 'UTF8') in body) > 0", p->n);
    }
    if (q->after) {
        hs_pg_int(p, (int64_t)q->after);
        hs_buf_appendf(sql, " AND received_at > $%d", p->n);
    }
    if (q->before) {
        hs_pg_int(p, (int64_t)q->before);
        hs_buf_appendf(sql, " AND received_at < $%d", p->n);
    }
    if (q->page.cursor) {
        hs_pg_text(p, q->page.cursor);
        hs_buf_appendf(sql, " AND id < $%d", p->n);
    }
    hs_pg_int(p, q->page.limit + 1); /* one more tells whether another page exists */
    hs_buf_appendf(sql, " ORDER BY id DESC LIMIT $%d", p->n);
}

int hs__pg_event_list(hs_store *s, const hs_event_query *q, hs_event ***items, size_t *n, bool *has_more,
                      hs_error *err) {
    hs_buf sql;
    hs_buf_init(&sql, 1024);
    hs_pg_params p = {0};
    event_list_sql(q, &sql, &p);
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    PGresult *r = c ? hs_pg_exec(c, sql.data, &p, "listing events", err) : NULL;
    hs_buf_free(&sql);
    if (!r) {
        if (c) hs_pg_reader_put(s, c);
        return err->code;
    }
    hs_event **v = hs_malloc((size_t)q->page.limit * sizeof *v);
    size_t count = 0;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        if (count == (size_t)q->page.limit) {
            *has_more = true;
            break;
        }
        hs_event *e = event_from_row(r, i);
        e->body_len = (size_t)hs_pg_get_int(r, i, 11);
        v[count++] = e;
    }
    *items = v;
    *n = count;
    PQclear(r);
    hs_pg_reader_put(s, c);
    return HS_OK;
}

/* ---- deliveries (any thread) ---- */

static const char SQL_DELIVERIES_OF[] =
    "SELECT " HS_PG_DELIVERY_COLS " FROM deliveries_named WHERE event_id = $1 ORDER BY seq";

void hs_pg_delivery_from_row(const PGresult *r, int row, hs_delivery *d) {
    memset(d, 0, sizeof *d);
    hs_pg_copy(d->id, sizeof d->id, r, row, 0);
    hs_pg_copy(d->event_id, sizeof d->event_id, r, row, 1);
    hs_pg_copy(d->destination_id, sizeof d->destination_id, r, row, 2);
    hs_pg_copy(d->connection_id, sizeof d->connection_id, r, row, 3);
    hs_pg_copy(d->status, sizeof d->status, r, row, 4);
    d->attempts = (int)hs_pg_get_int(r, row, 5);
    d->next_attempt_at = (uint64_t)hs_pg_get_int(r, row, 6);
    d->created_at = (uint64_t)hs_pg_get_int(r, row, 7);
    d->updated_at = (uint64_t)hs_pg_get_int(r, row, 8);
    d->seq = (uint64_t)hs_pg_get_int(r, row, 9);
    if (PQnfields(r) > 10) hs_pg_copy(d->replay_job_id, sizeof d->replay_job_id, r, row, 10);
}

int hs_pg_deliveries_select(hs_pg_conn *c, const char *sql, const hs_pg_params *p, hs_delivery **items, size_t *n,
                            hs_error *err) {
    *items = NULL;
    *n = 0;
    PGresult *r = hs_pg_exec(c, sql, p, "listing deliveries", err);
    if (!r) return err->code;
    int rows = PQntuples(r);
    hs_delivery *v = rows > 0 ? hs_malloc((size_t)rows * sizeof *v) : NULL;
    for (int i = 0; i < rows; i++) hs_pg_delivery_from_row(r, i, &v[i]);
    PQclear(r);
    *items = v;
    *n = (size_t)rows;
    return HS_OK;
}

int hs__pg_event_deliveries(hs_store *s, const char *event_id, hs_delivery **items, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, event_id);
    int rc = hs_pg_deliveries_select(c, SQL_DELIVERIES_OF, &p, items, n, err);
    hs_pg_reader_put(s, c);
    return rc;
}
