/* src/store/pg/events.c — ingest's inserts (the hot path), event and
 * delivery reads.
 *
 * Ingest runs on the writer thread inside the group transaction, once
 * src/store/routing.c has decided where the event goes. It parses no JSON
 * and waits for nothing: it gives each delivery its seq and id and keeps
 * the ingest in the group's list; the backend's flush (before COMMIT, and
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

/* An ingest of the open group whose rows are not sent yet. */
typedef struct hs_pg_ingest_row {
    hs_ingest *ing; /* the op's: lives until its group completes */
    uint64_t now;   /* its deliveries' created_at (in their ids) */
} hs_pg_ingest_row;

static const hs_pg_rows_def EVENT_ROWS = {
    .head = "INSERT INTO events(id, source_id, method, path, query, headers, body, source_ip, content_type, "
            "received_at, status, open_deliveries) VALUES",
    .first_row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    .row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    .tail = "",
};
static const hs_pg_rows_def DELIVERY_ROWS = {
    .head = "INSERT INTO deliveries(seq, event_id, destination, connection, status, attempts, next_attempt_at, "
            "created_at, updated_at) VALUES",
    .first_row = "(?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    .row = "(?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
    .tail = "",
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
}

/* The group's deliveries, one after the other. */
typedef struct delivery_item {
    const hs_pg_ingest_row *r;
    const hs_delivery_ref *d;
} delivery_item;

static void delivery_row(size_t i, hs_pg_params *p, void *ud) {
    const delivery_item *it = &((const delivery_item *)ud)[i];
    hs_pg_int(p, (int64_t)it->d->seq);
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
    int rc = hs_pg_rows_send(s, &EVENT_ROWS, 0, q->ningests, event_row, q, "storing the events", err);
    size_t n = 0;
    for (size_t i = 0; i < q->ningests; i++) n += q->ingests[i].ing->ndeliveries;
    delivery_item *items = rc == HS_OK && n ? hs_malloc(n * sizeof *items) : NULL;
    for (size_t i = 0, k = 0; items && i < q->ningests; i++)
        for (size_t j = 0; j < q->ingests[i].ing->ndeliveries; j++)
            items[k++] = (delivery_item){.r = &q->ingests[i], .d = &q->ingests[i].ing->deliveries[j]};
    if (items) rc = hs_pg_rows_send(s, &DELIVERY_ROWS, 0, n, delivery_row, items, "storing the deliveries", err);
    hs_free(items);
    hs_pg_ingests_clear(s);
    return rc;
}

void hs_pg_ingests_clear(hs_store *s) { hs__pgs(s)->ningests = 0; }

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
    for (size_t i = 0; i < ing->ndeliveries; i++) {
        hs_delivery_ref *d = &ing->deliveries[i];
        d->seq = q->next_seq++;
        hs__delivery_id(now, d->seq, d->id);
        hs__counts_add(&q->pending, d->destination_key, 1);
    }
    if (q->ningests == q->ingests_cap) {
        q->ingests_cap = q->ingests_cap ? q->ingests_cap * 2 : 64;
        q->ingests = hs_realloc(q->ingests, q->ingests_cap * sizeof *q->ingests);
    }
    q->ingests[q->ningests++] = (hs_pg_ingest_row){.ing = ing, .now = now};
    return HS_OK;
}

/* ---- events (any thread) ---- */

static const char SQL_EVENT_GET[] = "SELECT id, source_id, method, path, query, source_ip, content_type, "
                                    "received_at, status, headers, body FROM events WHERE id = $1";

/* Columns 0..8 are common to get and list; see SQL_EVENT_GET. */
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
        e->headers_json = hs_pg_dup(r, 0, 9);
        /* NUL after the bytes: handy for text */
        e->body = (unsigned char *)hs_pg_get_bytes(r, 0, 10, &e->body_len);
        if (!e->body) e->body = (unsigned char *)hs_strdup("");
        *out = e;
    } else {
        ret = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "event %s not found", id);
    }
    PQclear(r);
    hs_pg_reader_put(s, c);
    return ret;
}

/* The list's SQL, its parameters numbered in the order they are added. */
static void event_list_sql(const hs_event_query *q, hs_buf *sql, hs_pg_params *p) {
    /* octet_length(body) reads the value's size, not the value */
    hs_buf_appends(sql, "SELECT id, source_id, method, path, query, source_ip, content_type, received_at, status, "
                        "octet_length(body) FROM events WHERE true");
    if (q->source_id) {
        hs_pg_text(p, q->source_id);
        hs_buf_appendf(sql, " AND source_id = $%d", p->n);
    }
    if (q->status) {
        hs_pg_text(p, q->status);
        hs_buf_appendf(sql, " AND status = $%d", p->n);
    }
    if (q->method) {
        hs_pg_text(p, q->method);
        hs_buf_appendf(sql, " AND method = $%d", p->n);
    }
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
        e->body_len = (size_t)hs_pg_get_int(r, i, 9);
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
