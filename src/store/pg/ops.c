/* src/store/pg/ops.c — issues, notification channels, alert rules (tables
 * of schema step 6) and the windowed counts of alert rules
 * (src/store/ops.h): writes on the writer connection, reads on a read one.
 * What a hit or a change does is decided in src/store/ops.c. The writer
 * finds an issue FOR UPDATE: another node's hit on the same key waits for
 * this commit, and the key's unique index makes a concurrent insert a
 * no-op (ON CONFLICT DO NOTHING) that src/store/ops.c follows with an
 * update.
 */
#include <string.h>

#include "base/alloc.h"
#include "store/pg/pg.h"

#define ISSUE_COLS                                                                                                     \
    "id, destination_id, error_type, status, count, first_seen_at, last_seen_at, opened_at, acknowledged_at, "         \
    "resolved_at, snoozed_until, created_at, updated_at, last_error, recent_attempt_ids"

static void issue_from(const PGresult *r, int row, hs_issue *i) {
    hs_pg_copy(i->id, sizeof i->id, r, row, 0);
    hs_pg_copy(i->destination_id, sizeof i->destination_id, r, row, 1);
    hs_pg_copy(i->error_type, sizeof i->error_type, r, row, 2);
    hs_pg_copy(i->status, sizeof i->status, r, row, 3);
    uint64_t *times[] = {&i->count,       &i->first_seen_at, &i->last_seen_at, &i->opened_at, &i->acknowledged_at,
                         &i->resolved_at, &i->snoozed_until, &i->created_at,   &i->updated_at};
    for (int c = 0; c < 9; c++) *times[c] = (uint64_t)hs_pg_get_int(r, row, 4 + c);
    hs_pg_copy(i->last_error, sizeof i->last_error, r, row, 13);
    hs_pg_copy(i->recent_attempt_ids, sizeof i->recent_attempt_ids, r, row, 14);
}

/* The first row of sql into out; *found says whether there was one. */
static int issue_one(hs_pg_conn *c, const char *sql, const hs_pg_params *p, hs_issue *out, bool *found, hs_error *err) {
    PGresult *r = hs_pg_exec(c, sql, p, "reading an issue", err);
    if (!r) return err->code;
    *found = PQntuples(r) > 0;
    if (*found) issue_from(r, 0, out);
    PQclear(r);
    return HS_OK;
}

static int issue_find(hs_store *s, const char *id, const char *dest, const char *type, hs_issue *out, bool *found,
                      hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id ? id : dest);
    if (!id) hs_pg_text(&p, type);
    return issue_one(hs__pg_writer(s),
                     id ? "SELECT " ISSUE_COLS " FROM issues WHERE id = $1 FOR UPDATE"
                        : "SELECT " ISSUE_COLS " FROM issues WHERE destination_id = $1 AND error_type = $2 FOR UPDATE",
                     &p, out, found, err);
}

static int issue_write(hs_store *s, const hs_issue *r, bool insert, bool *written, hs_error *err) {
    hs_pg_params p = {0};
    const char *texts[] = {r->id, r->destination_id, r->error_type, r->status};
    for (int i = 0; i < 4; i++) hs_pg_text(&p, texts[i]);
    const uint64_t ints[] = {r->count,       r->first_seen_at, r->last_seen_at, r->opened_at, r->acknowledged_at,
                             r->resolved_at, r->snoozed_until, r->created_at,   r->updated_at};
    for (int i = 0; i < 9; i++) hs_pg_int(&p, (int64_t)ints[i]);
    hs_pg_text(&p, r->last_error);
    hs_pg_text(&p, r->recent_attempt_ids);
    int64_t changed = 0;
    int rc = hs_pg_run(
        hs__pg_writer(s),
        insert ? "INSERT INTO issues(" ISSUE_COLS ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                 "$14, $15) ON CONFLICT DO NOTHING"
               : "UPDATE issues SET destination_id = $2, error_type = $3, status = $4, count = $5, first_seen_at = "
                 "$6, last_seen_at = $7, opened_at = $8, acknowledged_at = $9, resolved_at = $10, snoozed_until = "
                 "$11, created_at = $12, updated_at = $13, last_error = $14, recent_attempt_ids = $15 WHERE id = $1",
        &p, "writing an issue", &changed, err);
    *written = rc == HS_OK && changed > 0;
    return rc;
}

static int issue_get(hs_store *s, const char *id, hs_issue *out, bool *found, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    int rc = issue_one(c, "SELECT " ISSUE_COLS " FROM issues WHERE id = $1", &p, out, found, err);
    hs_pg_reader_put(s, c);
    return rc;
}

static int issue_list(hs_store *s, const hs_issue_query *q, hs_issue **items, size_t *n, bool *has_more,
                      hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    hs_pg_params p = {0};
    hs_pg_text(&p, q->status);
    hs_pg_text(&p, q->destination_id);
    hs_pg_text(&p, q->page.cursor);
    hs_pg_int(&p, q->page.limit + 1);
    PGresult *r = hs_pg_exec(c,
                             "SELECT " ISSUE_COLS " FROM issues WHERE ($1::text IS NULL OR status = $1) AND "
                             "($2::text IS NULL OR destination_id = $2) AND ($3::text IS NULL OR id < $3) ORDER BY "
                             "id DESC LIMIT $4",
                             &p, "listing issues", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    int rows = PQntuples(r);
    if (rows > q->page.limit) {
        rows = q->page.limit;
        *has_more = true;
    }
    *items = rows > 0 ? hs_calloc((size_t)rows, sizeof **items) : NULL;
    for (int i = 0; i < rows; i++) issue_from(r, i, &(*items)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return HS_OK;
}

static int issue_counts(hs_store *s, hs_issue_counts *out, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, "SELECT status, count(*) FROM issues GROUP BY status", NULL, "counting issues", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *status = hs_pg_get_text(r, i, 0);
        uint64_t k = (uint64_t)hs_pg_get_int(r, i, 1);
        if (strcmp(status, "open") == 0) out->open = k;
        if (strcmp(status, "acknowledged") == 0) out->acknowledged = k;
        if (strcmp(status, "resolved") == 0) out->resolved = k;
    }
    PQclear(r);
    return HS_OK;
}

static int resolve_quiet(hs_store *s, uint64_t before, uint64_t now, size_t *n, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)before);
    hs_pg_int(&p, (int64_t)now);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s),
                       "UPDATE issues SET status = 'resolved', resolved_at = $2, updated_at = $2 WHERE status <> "
                       "'resolved' AND last_seen_at < $1",
                       &p, "resolving quiet issues", &changed, err);
    *n = rc == HS_OK ? (size_t)changed : 0;
    return rc;
}

/* ---- channels and rules ---- */

#define DOC_COLS "id, type, enabled, doc, created_at, updated_at, last_fired_at, firing"

/* The statements of each table, spelled out (a table name is no parameter). */
typedef struct doc_sql {
    const char *insert, *update, *remove, *get, *page, *all, *fire, *clear;
} doc_sql;

#define DOC_SQL(t)                                                                                                     \
    {                                                                                                                  \
        "INSERT INTO " t "(id, type, enabled, doc, created_at, updated_at) VALUES($1, $2, $3, $4, $5, $5)",            \
            "UPDATE " t " SET type = $2, enabled = $3, doc = $4, updated_at = $5 WHERE id = $1",                       \
            "DELETE FROM " t " WHERE id = $1", "SELECT " DOC_COLS " FROM " t " WHERE id = $1",                         \
            "SELECT " DOC_COLS " FROM " t " WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",            \
            "SELECT " DOC_COLS " FROM " t " ORDER BY id DESC",                                                         \
            "UPDATE " t                                                                                                \
            " SET last_fired_at = $2, firing = true WHERE id = $1 AND (last_fired_at = 0 OR last_fired_at <= "         \
            "$2::bigint - $3::bigint)",                                                                                \
            "UPDATE " t " SET firing = false WHERE id = $1 AND firing"                                                 \
    }

static const doc_sql doc_sqls[HS_OPSDOC_KINDS] = {
    [HS_OPSDOC_CHANNEL] = DOC_SQL("notification_channels"),
    [HS_OPSDOC_RULE] = DOC_SQL("alert_rules"),
};

static void doc_from(const PGresult *r, int row, hs_opsdoc *d) {
    hs_pg_copy(d->id, sizeof d->id, r, row, 0);
    hs_pg_copy(d->type, sizeof d->type, r, row, 1);
    d->enabled = hs_pg_get_bool(r, row, 2);
    d->text = hs_pg_dup(r, row, 3);
    d->created_at = (uint64_t)hs_pg_get_int(r, row, 4);
    d->updated_at = (uint64_t)hs_pg_get_int(r, row, 5);
    d->last_fired_at = (uint64_t)hs_pg_get_int(r, row, 6);
    d->firing = hs_pg_get_bool(r, row, 7);
}

static int doc_put(hs_store *s, hs_opsdoc_kind kind, bool create, const hs_opsdoc *row, uint64_t now, bool *found,
                   hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, row->id);
    hs_pg_text(&p, row->type);
    hs_pg_text(&p, row->enabled ? "true" : "false");
    hs_pg_text(&p, row->text);
    hs_pg_int(&p, (int64_t)now);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s), create ? doc_sqls[kind].insert : doc_sqls[kind].update, &p,
                       "writing a document", &changed, err);
    if (rc == HS_ERR_CONFLICT) rc = hs_error_set(err, HS_ERR_CONFLICT, "id", "is taken");
    *found = rc == HS_OK && changed > 0;
    return rc;
}

static int doc_delete(hs_store *s, hs_opsdoc_kind kind, const char *id, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s), doc_sqls[kind].remove, &p, "deleting a document", &changed, err);
    *found = rc == HS_OK && changed > 0;
    return rc;
}

static int rule_claim(hs_store *s, const char *id, bool fire, uint64_t now, uint64_t cooldown_ms, bool *claimed,
                      hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    if (fire) hs_pg_int(&p, (int64_t)now);
    if (fire) hs_pg_int(&p, (int64_t)cooldown_ms);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s), fire ? doc_sqls[HS_OPSDOC_RULE].fire : doc_sqls[HS_OPSDOC_RULE].clear, &p,
                       "claiming an alert rule's firing", &changed, err);
    *claimed = rc == HS_OK && changed > 0;
    return rc;
}

static int doc_select(hs_store *s, const char *sql, const hs_pg_params *p, hs_opsdoc **rows, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, sql, p, "reading documents", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    int k = PQntuples(r);
    *rows = k > 0 ? hs_calloc((size_t)k, sizeof **rows) : NULL;
    for (int i = 0; i < k; i++) doc_from(r, i, &(*rows)[i]);
    *n = (size_t)k;
    PQclear(r);
    return HS_OK;
}

static int doc_get(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_opsdoc *out, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_opsdoc *rows = NULL;
    size_t n = 0;
    int rc = doc_select(s, doc_sqls[kind].get, &p, &rows, &n, err);
    *found = rc == HS_OK && n > 0;
    if (*found) {
        *out = rows[0];
        rows[0].text = NULL;
    }
    hs_opsdoc_free(rows, n);
    return rc;
}

static int doc_list(hs_store *s, hs_opsdoc_kind kind, const hs_page *page, hs_opsdoc **rows, size_t *n, bool *has_more,
                    hs_error *err) {
    if (!page) return doc_select(s, doc_sqls[kind].all, NULL, rows, n, err);
    hs_pg_params p = {0};
    hs_pg_text(&p, page->cursor);
    hs_pg_int(&p, page->limit + 1);
    int rc = doc_select(s, doc_sqls[kind].page, &p, rows, n, err);
    if (rc == HS_OK && *n > (size_t)page->limit) {
        hs_free((*rows)[--*n].text);
        *has_more = true;
    }
    return rc;
}

/* ---- the windows of alert rules ---- */

#define ATTEMPTS_IN                                                                                                    \
    " FROM delivery_attempts a WHERE a.id >= $5 AND a.created_at >= $1 AND a.created_at < $2 AND ($3::text IS NULL "   \
    "OR a.destination_id = $3) AND ($4::text IS NULL OR a.event_id IN (SELECT e.id FROM events e WHERE e.source_id "   \
    "= $4))"

/* One row of integers from sql into out[0..ncols-1] (offset as $5 when >= 0). */
/* $5: the least id of the window's rows (hs__window_least_id); $6 the
 * offset, when one is given */
static int window_read(hs_store *s, const char *sql, const char *prefix, const hs_window_query *q, int64_t offset,
                       int ncols, uint64_t *out, hs_error *err) {
    char least[HS_ID_MAX];
    hs__window_least_id(prefix, q->since, least);
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)q->since);
    hs_pg_int(&p, (int64_t)q->until);
    hs_pg_text(&p, q->destination_id);
    hs_pg_text(&p, q->source_id);
    hs_pg_text(&p, least);
    if (offset >= 0) hs_pg_int(&p, offset);
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, sql, &p, "reading an alert window", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    for (int i = 0; i < ncols && PQntuples(r) > 0; i++) out[i] = (uint64_t)hs_pg_get_int(r, 0, i);
    PQclear(r);
    return HS_OK;
}

static int window_attempts(hs_store *s, const hs_window_query *q, uint64_t out[4], hs_error *err) {
    return window_read(s,
                       "SELECT count(*), count(*) FILTER (WHERE a.status = 'failed'), coalesce(sum(a.is_dlq), 0), "
                       "coalesce(round(avg(a.duration_ms)), 0)::bigint" ATTEMPTS_IN,
                       "da_", q, -1, 4, out, err);
}

static int window_nth(hs_store *s, const hs_window_query *q, uint64_t offset, uint64_t *ms, hs_error *err) {
    return window_read(s, "SELECT a.duration_ms" ATTEMPTS_IN " ORDER BY a.duration_ms LIMIT 1 OFFSET $6", "da_", q,
                       (int64_t)offset, 1, ms, err);
}

static int window_events(hs_store *s, const hs_window_query *q, uint64_t *n, hs_error *err) {
    return window_read(s,
                       "SELECT count(*) FROM events WHERE id >= $5 AND received_at >= $1 AND received_at < $2 AND "
                       "($3::text IS NULL OR true) AND ($4::text IS NULL OR source_id = $4)",
                       "evt_", q, -1, 1, n, err);
}

/* ---- notifications: the database's clock (hs_now_ms()) throughout ---- */

#define NTF_COLS                                                                                                       \
    "id, channel_id, type, notice, status, attempts, max_attempts, next_attempt_at, last_error, claimed_by, "          \
    "claimed_until, created_at, updated_at"

/* The rows of r into *out of *n (hs_notification_free); r cleared. */
static void ntf_rows(PGresult *r, hs_notification **out, size_t *n) {
    int k = PQntuples(r);
    *out = k > 0 ? hs_calloc((size_t)k, sizeof **out) : NULL;
    for (int i = 0; i < k; i++) {
        hs_notification *v = &(*out)[i];
        hs_pg_copy(v->id, sizeof v->id, r, i, 0);
        hs_pg_copy(v->channel_id, sizeof v->channel_id, r, i, 1);
        hs_pg_copy(v->type, sizeof v->type, r, i, 2);
        const char *text = hs_pg_get_text(r, i, 3);
        v->notice = hs_strdup(text ? text : "{}");
        hs_pg_copy(v->status, sizeof v->status, r, i, 4);
        v->attempts = (int)hs_pg_get_int(r, i, 5);
        v->max_attempts = (int)hs_pg_get_int(r, i, 6);
        v->next_attempt_at = (uint64_t)hs_pg_get_int(r, i, 7);
        hs_pg_copy(v->last_error, sizeof v->last_error, r, i, 8);
        hs_pg_copy(v->claimed_by, sizeof v->claimed_by, r, i, 9);
        v->claimed_until = (uint64_t)hs_pg_get_int(r, i, 10);
        v->created_at = (uint64_t)hs_pg_get_int(r, i, 11);
        v->updated_at = (uint64_t)hs_pg_get_int(r, i, 12);
    }
    *n = (size_t)k;
    PQclear(r);
}

static int ntf_add(hs_store *s, const hs_notification *v, const char *node, uint64_t lease_ms, uint64_t now,
                   hs_error *err) {
    (void)now;
    hs_pg_params p = {0};
    const char *texts[] = {v->id, v->channel_id, v->type, v->notice};
    for (int i = 0; i < 4; i++) hs_pg_text(&p, texts[i]);
    hs_pg_int(&p, v->max_attempts);
    hs_pg_text(&p, node);
    hs_pg_int(&p, (int64_t)lease_ms);
    return hs_pg_run(hs__pg_writer(s),
                     "INSERT INTO notifications(id, channel_id, type, notice, status, max_attempts, next_attempt_at, "
                     "claimed_by, claimed_until, created_at, updated_at) SELECT $1, $2, $3, $4, 'pending', $5, t, $6, "
                     "t + $7, t, t FROM hs_now_ms() AS t",
                     &p, "writing a notification", NULL, err);
}

static int ntf_any_due(hs_store *s, const char *node, bool mine_too, uint64_t now, bool *any, hs_error *err) {
    (void)now;
    hs_pg_params p = {0};
    hs_pg_text(&p, node);
    hs_pg_int(&p, mine_too ? 1 : 0);
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r =
        hs_pg_exec(c,
                   "SELECT 1 FROM notifications WHERE status = 'pending' AND next_attempt_at <= hs_now_ms() "
                   "AND (claimed_by = '' OR claimed_until < hs_now_ms() OR ($2::int = 1 AND claimed_by = $1)) LIMIT 1",
                   &p, "looking for notifications due", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    *any = PQntuples(r) > 0;
    PQclear(r);
    return HS_OK;
}

/* SKIP LOCKED: two nodes claiming at once take different rows. */
static int ntf_claim(hs_store *s, const char *node, uint64_t lease_ms, size_t limit, bool mine_too, uint64_t now,
                     hs_notification **out, size_t *n, hs_error *err) {
    (void)now;
    hs_pg_params p = {0};
    hs_pg_text(&p, node);
    hs_pg_int(&p, (int64_t)lease_ms);
    hs_pg_int(&p, (int64_t)limit);
    hs_pg_int(&p, mine_too ? 1 : 0);
    PGresult *r =
        hs_pg_exec(hs__pg_writer(s),
                   "UPDATE notifications SET claimed_by = $1, claimed_until = hs_now_ms() + $2 WHERE id IN "
                   "(SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= "
                   "hs_now_ms() AND (claimed_by = '' OR claimed_until < hs_now_ms() OR ($4::int = 1 AND "
                   "claimed_by = $1)) ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING " NTF_COLS,
                   &p, "claiming notifications", err);
    if (!r) return err->code;
    ntf_rows(r, out, n);
    return HS_OK;
}

static int ntf_settle(hs_store *s, const char *id, const char *node, const hs_notification_outcome *o, uint64_t now,
                      bool *mine, hs_error *err) {
    (void)now;
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_pg_text(&p, node);
    hs_pg_text(&p, o->status);
    hs_pg_int(&p, o->count ? 1 : 0);
    hs_pg_text(&p, o->error);
    hs_pg_int(&p, (int64_t)o->retry_in_ms);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s),
                       "UPDATE notifications SET status = $3, attempts = attempts + $4, last_error = coalesce($5, "
                       "last_error), next_attempt_at = CASE WHEN $3 = 'pending' THEN hs_now_ms() + $6 ELSE "
                       "next_attempt_at END, claimed_by = '', claimed_until = 0, updated_at = hs_now_ms() WHERE id = "
                       "$1 AND claimed_by = $2 AND status = 'pending'",
                       &p, "settling a notification", &changed, err);
    *mine = rc == HS_OK && changed > 0;
    return rc;
}

static int ntf_select(hs_store *s, const char *sql, const hs_pg_params *p, hs_notification **out, size_t *n,
                      hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c, sql, p, "reading notifications", err);
    hs_pg_reader_put(s, c);
    if (!r) return err->code;
    ntf_rows(r, out, n);
    return HS_OK;
}

static int ntf_list(hs_store *s, const hs_notification_query *q, hs_notification **items, size_t *n, bool *has_more,
                    hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, q->status);
    hs_pg_text(&p, q->channel_id);
    hs_pg_text(&p, q->page.cursor);
    hs_pg_int(&p, q->page.limit + 1);
    int rc = ntf_select(s,
                        "SELECT " NTF_COLS " FROM notifications WHERE ($1::text IS NULL OR status = $1) AND "
                        "($2::text IS NULL OR channel_id = $2) AND ($3::text IS NULL OR id < $3) ORDER BY id DESC "
                        "LIMIT $4",
                        &p, items, n, err);
    if (rc == HS_OK && *n > (size_t)q->page.limit) {
        hs_free((*items)[--*n].notice);
        *has_more = true;
    }
    return rc;
}

static int ntf_get(hs_store *s, const char *id, hs_notification *out, bool *found, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_notification *v = NULL;
    size_t n = 0;
    int rc = ntf_select(s, "SELECT " NTF_COLS " FROM notifications WHERE id = $1", &p, &v, &n, err);
    *found = rc == HS_OK && n > 0;
    if (*found) {
        *out = v[0];
        v[0].notice = NULL;
    }
    hs_notification_free(v, n);
    return rc;
}

static int ntf_prune(hs_store *s, uint64_t before, size_t limit, size_t *n, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_int(&p, (int64_t)before);
    hs_pg_int(&p, (int64_t)limit);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s),
                       "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE status IN ('sent', "
                       "'failed') AND created_at < $1 LIMIT $2)",
                       &p, "deleting old notifications", &changed, err);
    *n = rc == HS_OK ? (size_t)changed : 0;
    return rc;
}

const hs__ops_ops hs__pg_ops_ops = {
    .issue_find = issue_find,
    .issue_write = issue_write,
    .issue_get = issue_get,
    .issue_list = issue_list,
    .issue_counts = issue_counts,
    .resolve_quiet = resolve_quiet,
    .doc_put = doc_put,
    .doc_delete = doc_delete,
    .doc_get = doc_get,
    .doc_list = doc_list,
    .rule_claim = rule_claim,
    .window_attempts = window_attempts,
    .window_nth = window_nth,
    .window_events = window_events,
    .ntf_add = ntf_add,
    .ntf_any_due = ntf_any_due,
    .ntf_claim = ntf_claim,
    .ntf_settle = ntf_settle,
    .ntf_list = ntf_list,
    .ntf_get = ntf_get,
    .ntf_prune = ntf_prune,
};
