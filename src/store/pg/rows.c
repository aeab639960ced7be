/* src/store/pg/rows.c — statements over many rows: what the writer's hot
 * paths (ingests, attempt records) defer to the group's flush and then send
 * as a few statements of up to 64 rows each, instead of one or two
 * statements per item. PostgreSQL's backend pays a fixed cost per statement
 * (its protocol messages, planning a prepared plan's parameters, the
 * executor's start) that the rows of one statement share.
 *
 * A statement is made of a head, one tuple per row and a tail
 * (hs_pg_rows_def); its SQL for 64, 8 and 1 rows is built once per store
 * and prepared once per connection, so n items go out as n/64 + (n%64)/8 +
 * n%8 statements. Writer thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "store/pg/pg.h"

static const int chunk_rows[HS_PG_ROWS_CHUNKS] = {HS_PG_ROWS_MAX, 8, 1}; /* the largest that fits first */

/* ---- SQL ---- */

/* tuple with each '?' replaced by the next $n. */
static void append_tuple(hs_buf *b, const char *tuple, int *next) {
    for (const char *c = tuple; *c; c++) {
        if (*c == '?')
            hs_buf_appendf(b, "$%d", (*next)++);
        else
            hs_buf_append(b, c, 1);
    }
}

/* def's statement for chunk_rows[k] rows, built once per store. */
static const char *rows_sql(hs__pg *q, const hs_pg_rows_def *def, int k) {
    for (size_t i = 0; i < q->nrows_sql; i++)
        if (q->rows_sql[i].def == def && q->rows_sql[i].k == k) return q->rows_sql[i].sql;
    hs_buf b;
    hs_buf_init(&b, 1 << 20); /* a cap: 64 rows of 19 parameters take ~12 KiB */
    hs_buf_appends(&b, def->head);
    int next = 1;
    for (int r = 0; r < chunk_rows[k]; r++) {
        if (r) hs_buf_appends(&b, ", ");
        append_tuple(&b, r ? def->row : def->first_row, &next);
    }
    hs_buf_appends(&b, def->tail);
    char *sql = hs_strdup(b.data);
    hs_buf_free(&b);
    if (q->nrows_sql == sizeof q->rows_sql / sizeof q->rows_sql[0]) {
        hs_error_log("store: too many multi-row statements");
        abort();
    }
    q->rows_sql[q->nrows_sql].def = def;
    q->rows_sql[q->nrows_sql].k = k;
    q->rows_sql[q->nrows_sql].sql = sql;
    q->nrows_sql++;
    return sql;
}

void hs_pg_rows_free(hs__pg *q) {
    for (size_t i = 0; i < q->nrows_sql; i++) hs_free(q->rows_sql[i].sql);
    q->nrows_sql = 0;
}

/* ---- sending ---- */

size_t hs_pg_rows_statements(size_t n) {
    size_t k = 0;
    for (int c = 0; c < HS_PG_ROWS_CHUNKS; c++) {
        k += n / (size_t)chunk_rows[c];
        n %= (size_t)chunk_rows[c];
    }
    return k;
}

int hs_pg_rows_send(hs_store *s, const hs_pg_rows_def *def, size_t from, size_t to, hs_pg_row_fn row, void *ud,
                    const char *what, PGresult **keep, hs_error *err) {
    hs__pg *q = hs__pgs(s);
    hs_pg_params p = {.wide = hs_malloc(sizeof *p.wide)};
    int rc = HS_OK;
    for (size_t i = from, stmt = 0; i < to && rc == HS_OK; stmt++) {
        int k = 0;
        while ((size_t)chunk_rows[k] > to - i) k++;
        p.n = 0;
        for (int r = 0; r < chunk_rows[k]; r++) row(i++, &p, ud);
        rc = hs_pg_queue_keep(&q->writer, rows_sql(q, def, k), &p, what, keep ? &keep[stmt] : NULL, err);
    }
    hs_free(p.wide);
    return rc;
}
