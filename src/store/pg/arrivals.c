/* src/store/pg/arrivals.c — what an event's arrival leaves besides the
 * event: its dedup key, claimed for its window (store.h "ingest"), and its
 * source's count (src/store/arrivals.h); with the reads of the counts.
 * Writer thread, but for hs__pg_source_counts (any thread).
 *
 * Dedup: ingest_insert only keeps the ingest (events.c); the flush claims
 * the keys of all the group's ingests first, in one statement that waits
 * for its answer (the only wait a group with keys adds), and turns the
 * ingests whose key was live into duplicates before their rows are sent.
 * Within the group the first ingest of a key claims it and the later ones
 * are its duplicates (one statement may not touch a row twice). The keys
 * are locked in (source, key) order, each group's, so two nodes claiming
 * the same keys wait for each other instead of deadlocking; the second to
 * commit finds the first's key. Windows run on the database's clock
 * (hs_now_ms()), as every time compared between nodes.
 *
 * Counts: one statement per flush adds the group's events per source,
 * locking the rows in source id order, after the queues' rows (so every
 * group of every node locks leases, dedup keys, queues, source counts,
 * events in that order).
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "store/pg/pg.h"

static const char SQL_DEDUP_CLAIM[] =
    "INSERT INTO dedup_keys AS d(source_id, key, event_id, expires_at) "
    "SELECT s, k, e, hs_now_ms() + w FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(s, k, e, w) "
    "ORDER BY s COLLATE \"C\", k COLLATE \"C\" "
    "ON CONFLICT (source_id, key) DO UPDATE SET "
    "event_id = CASE WHEN d.expires_at <= hs_now_ms() THEN excluded.event_id ELSE d.event_id END, "
    "expires_at = CASE WHEN d.expires_at <= hs_now_ms() THEN excluded.expires_at ELSE d.expires_at END "
    "RETURNING source_id, key, event_id";

/* An ingest of the group with a key, and its place in the group. */
typedef struct claim {
    hs_ingest *ing;
    size_t order;
} claim;

static int cmp_key(const hs_ingest *a, const char *source_id, const char *key) {
    int c = strcmp(a->source_id, source_id);
    return c ? c : strcmp(a->dedup_key, key);
}

static int by_key(const void *x, const void *y) {
    const claim *a = x, *b = y;
    int c = cmp_key(a->ing, b->ing->source_id, b->ing->dedup_key);
    return c ? c : a->order < b->order ? -1 : a->order > b->order; /* the group's first of a key claims it */
}

/* ing's key was live: its deliveries were counted pending (events.c), no
 * longer. */
static void make_duplicate(hs__pg *q, hs_ingest *ing, const char *original) {
    for (size_t i = 0; i < ing->ndeliveries; i++) hs__counts_add(&q->pending, ing->deliveries[i].destination_key, -1);
    hs__ingest_duplicate(ing, original);
}

/* The claimant among v[0..n) (sorted, one per key) of a key; NULL none. */
static hs_ingest *claimant(const claim *v, size_t n, const char *source_id, const char *key) {
    size_t lo = 0, hi = n;
    while (source_id && key && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_key(v[mid].ing, source_id, key);
        if (c == 0) return v[mid].ing;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int hs_pg_dedup_flush(hs_store *s, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    size_t n = 0;
    for (size_t i = 0; i < q->ningests; i++) n += q->ingests[i].ing->dedup_key[0] != '\0';
    if (!n) return HS_OK;
    claim *v = hs_malloc(n * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < q->ningests; i++)
        if (q->ingests[i].ing->dedup_key[0]) v[k++] = (claim){.ing = q->ingests[i].ing, .order = i};
    qsort(v, n, sizeof *v, by_key);
    /* v[0..nclaims): the first of each key; later[0..nlater): the others */
    hs_ingest **later = hs_malloc(n * sizeof *later);
    size_t nclaims = 0, nlater = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_key(v[i].ing, v[nclaims - 1].ing->source_id, v[nclaims - 1].ing->dedup_key) == 0)
            later[nlater++] = v[i].ing;
        else
            v[nclaims++] = v[i];
    }
    const char **sources = hs_malloc(nclaims * sizeof *sources), **keys = hs_malloc(nclaims * sizeof *keys),
               **events = hs_malloc(nclaims * sizeof *events);
    int64_t *windows = hs_malloc(nclaims * sizeof *windows);
    for (size_t i = 0; i < nclaims; i++) {
        sources[i] = v[i].ing->source_id;
        keys[i] = v[i].ing->dedup_key;
        events[i] = v[i].ing->event_id;
        windows[i] = (int64_t)v[i].ing->dedup_window_ms;
    }
    hs_buf a[4];
    for (int i = 0; i < 4; i++) hs_buf_init(&a[i], 1 << 26);
    hs_pg_array_texts(&a[0], sources, nclaims);
    hs_pg_array_texts(&a[1], keys, nclaims);
    hs_pg_array_texts(&a[2], events, nclaims);
    hs_pg_array_ints(&a[3], windows, nclaims);
    hs_pg_params p = {0};
    for (int i = 0; i < 4; i++) hs_pg_text(&p, a[i].data);
    PGresult *r = hs_pg_exec(&q->writer, SQL_DEDUP_CLAIM, &p, "checking events for duplicates", err);
    for (int i = 0; i < 4; i++) hs_buf_free(&a[i]);
    hs_free(sources);
    hs_free(keys);
    hs_free(events);
    hs_free(windows);
    int rc = r ? HS_OK : err->code;
    for (int row = 0; r && row < PQntuples(r); row++) {
        hs_ingest *c = claimant(v, nclaims, hs_pg_get_text(r, row, 0), hs_pg_get_text(r, row, 1));
        const char *holder = hs_pg_get_text(r, row, 2);
        if (c && holder && strcmp(holder, c->event_id) != 0) make_duplicate(q, c, holder);
    }
    PQclear(r);
    /* the group's later ones of a key: duplicates of the first's event,
     * or of what the first turned out to duplicate */
    for (size_t i = 0; rc == HS_OK && i < nlater; i++) {
        hs_ingest *c = claimant(v, nclaims, later[i]->source_id, later[i]->dedup_key);
        make_duplicate(q, later[i], c->duplicate ? c->duplicate_of : c->event_id);
    }
    hs_free(later);
    hs_free(v);
    return rc;
}

/* ---- what sources received ---- */

static const char SQL_SOURCE_COUNTS_ADD[] =
    "INSERT INTO source_counts AS c(source_id, events, last_event_at) "
    "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) "
    "ON CONFLICT (source_id) DO UPDATE SET events = c.events + excluded.events, "
    "last_event_at = greatest(c.last_event_at, excluded.last_event_at)";

int hs_pg_arrivals_flush(hs_store *s, hs_error *err) {
    hs__arrivals *a = &s->arrivals;
    if (!a->n) return HS_OK;
    hs__arrivals_sort(a); /* the rows are locked in this order */
    const char **ids = hs_malloc(a->n * sizeof *ids);
    int64_t *events = hs_malloc(a->n * sizeof *events), *last = hs_malloc(a->n * sizeof *last);
    for (size_t i = 0; i < a->n; i++) {
        ids[i] = a->v[i]->source_id;
        events[i] = (int64_t)a->v[i]->events;
        last[i] = (int64_t)a->v[i]->last_at;
    }
    hs_buf b[3];
    for (int i = 0; i < 3; i++) hs_buf_init(&b[i], 1 << 24);
    hs_pg_array_texts(&b[0], ids, a->n);
    hs_pg_array_ints(&b[1], events, a->n);
    hs_pg_array_ints(&b[2], last, a->n);
    hs_pg_params p = {0};
    for (int i = 0; i < 3; i++) hs_pg_text(&p, b[i].data);
    int rc = hs_pg_queue(&hs__pgs(s)->writer, SQL_SOURCE_COUNTS_ADD, &p, "counting the sources' events", err);
    for (int i = 0; i < 3; i++) hs_buf_free(&b[i]);
    hs_free(ids);
    hs_free(events);
    hs_free(last);
    hs__arrivals_clear(a);
    return rc;
}

int hs__pg_source_counts(hs_store *s, const char *const *ids, size_t n, hs_source_count *out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_buf b;
    hs_buf_init(&b, 1 << 24);
    hs_pg_array_texts(&b, ids, n);
    hs_pg_params p = {0};
    hs_pg_text(&p, b.data);
    PGresult *r =
        hs_pg_exec(c, "SELECT source_id, events, last_event_at FROM source_counts WHERE source_id = ANY($1::text[])",
                   &p, "reading the sources' counts", err);
    hs_buf_free(&b);
    for (int row = 0; r && row < PQntuples(r); row++) {
        const char *id = hs_pg_get_text(r, row, 0);
        for (size_t i = 0; id && i < n; i++)
            if (strcmp(ids[i], id) == 0) {
                out[i].events = (uint64_t)hs_pg_get_int(r, row, 1);
                out[i].last_event_at = (uint64_t)hs_pg_get_int(r, row, 2);
            }
    }
    int rc = r ? HS_OK : err->code;
    PQclear(r);
    hs_pg_reader_put(s, c);
    return rc;
}
