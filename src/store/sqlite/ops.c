/* src/store/sqlite/ops.c — issues, notification channels, alert rules
 * (tables of schema step 8) and the windowed counts of alert rules
 * (src/store/ops.h): writes on the writer connection, reads on a read one.
 * What a hit or a change does is decided in src/store/ops.c.
 */
#include <string.h>

#include "base/alloc.h"
#include "store/sqlite/sqlite.h"

#define ISSUE_COLS                                                                                                     \
    "id, destination_id, error_type, status, count, first_seen_at, last_seen_at, opened_at, acknowledged_at, "         \
    "resolved_at, snoozed_until, created_at, updated_at, last_error, recent_attempt_ids"

static void issue_row(sqlite3_stmt *st, void *elem) {
    hs_issue *i = elem;
    hs_col_copy(i->id, sizeof i->id, st, 0);
    hs_col_copy(i->destination_id, sizeof i->destination_id, st, 1);
    hs_col_copy(i->error_type, sizeof i->error_type, st, 2);
    hs_col_copy(i->status, sizeof i->status, st, 3);
    uint64_t *times[] = {&i->count,       &i->first_seen_at, &i->last_seen_at, &i->opened_at, &i->acknowledged_at,
                         &i->resolved_at, &i->snoozed_until, &i->created_at,   &i->updated_at};
    for (int c = 0; c < 9; c++) *times[c] = (uint64_t)sqlite3_column_int64(st, 4 + c);
    hs_col_copy(i->last_error, sizeof i->last_error, st, 13);
    hs_col_copy(i->recent_attempt_ids, sizeof i->recent_attempt_ids, st, 14);
}

/* Run st (one row at most) into out; *found says whether it gave one. */
static int issue_one(hs_sqlite_db *c, sqlite3_stmt *st, hs_issue *out, bool *found, hs_error *err) {
    hs_issue *v = NULL;
    size_t n = 0;
    int rc = hs_sqlite_collect(c, st, sizeof *v, issue_row, (void **)&v, &n, "reading an issue", err);
    *found = rc == HS_OK && n > 0;
    if (*found) *out = v[0];
    hs_free(v);
    hs_stmt_done(c, st);
    return rc;
}

static int issue_find(hs_store *s, const char *id, const char *dest, const char *type, hs_issue *out, bool *found,
                      hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               id ? "SELECT " ISSUE_COLS " FROM issues WHERE id = ?1"
                                  : "SELECT " ISSUE_COLS " FROM issues WHERE destination_id = ?2 AND error_type = ?3",
                               err);
    if (!st) return err->code;
    if (id) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (!id) sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
    if (!id) sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    return issue_one(w, st, out, found, err);
}

static int issue_write(hs_store *s, const hs_issue *r, bool insert, bool *written, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(
        w,
        insert ? "INSERT INTO issues(" ISSUE_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                 "?14, ?15) ON CONFLICT DO NOTHING"
               : "UPDATE issues SET destination_id = ?2, error_type = ?3, status = ?4, count = ?5, first_seen_at = "
                 "?6, last_seen_at = ?7, opened_at = ?8, acknowledged_at = ?9, resolved_at = ?10, snoozed_until = "
                 "?11, created_at = ?12, updated_at = ?13, last_error = ?14, recent_attempt_ids = ?15 WHERE id = ?1",
        err);
    if (!st) return err->code;
    const char *texts[] = {r->id, r->destination_id, r->error_type, r->status};
    for (int i = 0; i < 4; i++) sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    const uint64_t ints[] = {r->count,       r->first_seen_at, r->last_seen_at, r->opened_at, r->acknowledged_at,
                             r->resolved_at, r->snoozed_until, r->created_at,   r->updated_at};
    for (int i = 0; i < 9; i++) sqlite3_bind_int64(st, i + 5, (int64_t)ints[i]);
    sqlite3_bind_text(st, 14, r->last_error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, r->recent_attempt_ids, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "writing an issue");
    *written = ret == HS_OK && sqlite3_changes(w->db) > 0;
    hs_stmt_done(w, st);
    return ret;
}

static int issue_get(hs_store *s, const char *id, hs_issue *out, bool *found, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, "SELECT " ISSUE_COLS " FROM issues WHERE id = ?1", err);
    int rc = st ? HS_OK : err->code;
    if (st) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (st) rc = issue_one(c, st, out, found, err);
    hs_reader_put(s, c);
    return rc;
}

static int issue_list(hs_store *s, const hs_issue_query *q, hs_issue **items, size_t *n, bool *has_more,
                      hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT " ISSUE_COLS " FROM issues WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL "
                               "OR destination_id = ?2) AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
                               err);
    int rc = st ? HS_OK : err->code;
    if (st) {
        const char *texts[] = {q->status, q->destination_id, q->page.cursor};
        for (int i = 0; i < 3; i++)
            if (texts[i]) sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, q->page.limit + 1);
        rc = hs_sqlite_collect(c, st, sizeof **items, issue_row, (void **)items, n, "listing issues", err);
        hs_stmt_done(c, st);
    }
    if (rc == HS_OK && *n > (size_t)q->page.limit) {
        *n = (size_t)q->page.limit;
        *has_more = true;
    }
    hs_reader_put(s, c);
    return rc;
}

static int issue_counts(hs_store *s, hs_issue_counts *out, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, "SELECT status, count(*) FROM issues GROUP BY status", err);
    int rc = st ? SQLITE_ROW : SQLITE_ERROR, ret = st ? HS_OK : err->code;
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 0);
        uint64_t k = (uint64_t)sqlite3_column_int64(st, 1);
        if (strcmp(status, "open") == 0) out->open = k;
        if (strcmp(status, "acknowledged") == 0) out->acknowledged = k;
        if (strcmp(status, "resolved") == 0) out->resolved = k;
    }
    if (st && rc != SQLITE_DONE) ret = hs_sqlite_fail(err, c->db, rc, "counting issues");
    if (st) hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

static int resolve_quiet(hs_store *s, uint64_t before, uint64_t now, size_t *n, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "UPDATE issues SET status = 'resolved', resolved_at = ?2, updated_at = ?2 WHERE "
                               "status <> 'resolved' AND last_seen_at < ?1",
                               err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, (int64_t)before);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "resolving quiet issues");
    if (ret == HS_OK) *n = (size_t)sqlite3_changes(w->db);
    hs_stmt_done(w, st);
    return ret;
}

/* ---- channels and rules ---- */

#define DOC_COLS "id, type, enabled, doc, created_at, updated_at, last_fired_at, firing"

/* The statements of each table, spelled out (a table name is no parameter). */
typedef struct doc_sql {
    const char *insert, *update, *remove, *get, *page, *all, *fire, *clear;
} doc_sql;

#define DOC_SQL(t)                                                                                                     \
    {                                                                                                                  \
        "INSERT INTO " t "(id, type, enabled, doc, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?5)",            \
            "UPDATE " t " SET type = ?2, enabled = ?3, doc = ?4, updated_at = ?5 WHERE id = ?1",                       \
            "DELETE FROM " t " WHERE id = ?1", "SELECT " DOC_COLS " FROM " t " WHERE id = ?1",                         \
            "SELECT " DOC_COLS " FROM " t " WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",                  \
            "SELECT " DOC_COLS " FROM " t " ORDER BY id DESC",                                                         \
            "UPDATE " t                                                                                                \
            " SET last_fired_at = ?2, firing = 1 WHERE id = ?1 AND (last_fired_at = 0 OR last_fired_at <= ?2 - "       \
            "?3)",                                                                                                     \
            "UPDATE " t " SET firing = 0 WHERE id = ?1 AND firing = 1"                                                 \
    }

static const doc_sql doc_sqls[HS_OPSDOC_KINDS] = {
    [HS_OPSDOC_CHANNEL] = DOC_SQL("notification_channels"),
    [HS_OPSDOC_RULE] = DOC_SQL("alert_rules"),
};

static void doc_row(sqlite3_stmt *st, void *elem) {
    hs_opsdoc *d = elem;
    hs_col_copy(d->id, sizeof d->id, st, 0);
    hs_col_copy(d->type, sizeof d->type, st, 1);
    d->enabled = sqlite3_column_int(st, 2) != 0;
    const char *text = (const char *)sqlite3_column_text(st, 3);
    d->text = hs_strdup(text ? text : "{}");
    d->created_at = (uint64_t)sqlite3_column_int64(st, 4);
    d->updated_at = (uint64_t)sqlite3_column_int64(st, 5);
    d->last_fired_at = (uint64_t)sqlite3_column_int64(st, 6);
    d->firing = sqlite3_column_int(st, 7) != 0;
}

/* Step a write of one row; *changed: it changed one. */
static int step_write(hs_sqlite_db *w, sqlite3_stmt *st, const char *what, bool *changed, hs_error *err) {
    int rc = sqlite3_step(st), ret = HS_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        ret = hs_error_set(err, HS_ERR_CONFLICT, "id", "is taken");
    else if (rc != SQLITE_DONE)
        ret = hs_sqlite_fail(err, w->db, rc, what);
    *changed = ret == HS_OK && sqlite3_changes(w->db) > 0;
    hs_stmt_done(w, st);
    return ret;
}

static int doc_put(hs_store *s, hs_opsdoc_kind kind, bool create, const hs_opsdoc *row, uint64_t now, bool *found,
                   hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, create ? doc_sqls[kind].insert : doc_sqls[kind].update, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, row->enabled ? 1 : 0);
    sqlite3_bind_text(st, 4, row->text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)now);
    return step_write(w, st, "writing a document", found, err);
}

static int doc_delete(hs_store *s, hs_opsdoc_kind kind, const char *id, bool *found, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, doc_sqls[kind].remove, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return step_write(w, st, "deleting a document", found, err);
}

static int rule_claim(hs_store *s, const char *id, bool fire, uint64_t now, uint64_t cooldown_ms, bool *claimed,
                      hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, fire ? doc_sqls[HS_OPSDOC_RULE].fire : doc_sqls[HS_OPSDOC_RULE].clear, err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (fire) sqlite3_bind_int64(st, 2, (int64_t)now);
    if (fire) sqlite3_bind_int64(st, 3, (int64_t)cooldown_ms);
    return step_write(w, st, "claiming an alert rule's firing", claimed, err);
}

/* Read rows of sql (bound by bind) into *rows. */
static int doc_select(hs_store *s, const char *sql, const char *a, int limit, hs_opsdoc **rows, size_t *n,
                      hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, sql, err);
    int rc = st ? HS_OK : err->code;
    if (st) {
        if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
        if (limit) sqlite3_bind_int(st, 2, limit);
        rc = hs_sqlite_collect(c, st, sizeof **rows, doc_row, (void **)rows, n, "reading documents", err);
        hs_stmt_done(c, st);
    }
    hs_reader_put(s, c);
    return rc;
}

static int doc_get(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_opsdoc *out, bool *found, hs_error *err) {
    hs_opsdoc *rows = NULL;
    size_t n = 0;
    int rc = doc_select(s, doc_sqls[kind].get, id, 0, &rows, &n, err);
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
    if (!page) return doc_select(s, doc_sqls[kind].all, NULL, 0, rows, n, err);
    int rc = doc_select(s, doc_sqls[kind].page, page->cursor, page->limit + 1, rows, n, err);
    if (rc == HS_OK && *n > (size_t)page->limit) {
        hs_free((*rows)[--*n].text);
        *has_more = true;
    }
    return rc;
}

/* ---- the windows of alert rules ---- */

#define ATTEMPTS_IN                                                                                                    \
    " FROM delivery_attempts a WHERE a.id >= ?6 AND a.created_at >= ?1 AND a.created_at < ?2 AND (?3 IS NULL OR "      \
    "a.destination_id = ?3) AND (?4 IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.id = a.event_id AND "            \
    "e.source_id = ?4))"

/* ?6: the least id of the window's rows (hs__window_least_id) */
static void bind_window(sqlite3_stmt *st, const hs_window_query *q, const char *least_id) {
    sqlite3_bind_text(st, 6, least_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 1, (int64_t)q->since);
    sqlite3_bind_int64(st, 2, (int64_t)q->until);
    if (q->destination_id) sqlite3_bind_text(st, 3, q->destination_id, -1, SQLITE_STATIC);
    if (q->source_id) sqlite3_bind_text(st, 4, q->source_id, -1, SQLITE_STATIC);
}

/* One row of integers from sql into out[0..ncols-1] (offset bound as ?5). */
static int window_read(hs_store *s, const char *sql, const char *prefix, const hs_window_query *q, int64_t offset,
                       int ncols, uint64_t *out, hs_error *err) {
    char least[HS_ID_MAX];
    hs__window_least_id(prefix, q->since, least);
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, sql, err);
    int ret = st ? HS_OK : err->code;
    if (st) {
        bind_window(st, q, least);
        if (offset >= 0) sqlite3_bind_int64(st, 5, offset);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            for (int i = 0; i < ncols; i++) out[i] = (uint64_t)sqlite3_column_int64(st, i);
        else if (rc != SQLITE_DONE)
            ret = hs_sqlite_fail(err, c->db, rc, "reading an alert window");
        hs_stmt_done(c, st);
    }
    hs_reader_put(s, c);
    return ret;
}

static int window_attempts(hs_store *s, const hs_window_query *q, uint64_t out[4], hs_error *err) {
    return window_read(s,
                       "SELECT count(*), coalesce(sum(a.status = 'failed'), 0), coalesce(sum(a.is_dlq), 0), "
                       "coalesce(CAST(round(avg(a.duration_ms)) AS INTEGER), 0)" ATTEMPTS_IN,
                       "da_", q, -1, 4, out, err);
}

static int window_nth(hs_store *s, const hs_window_query *q, uint64_t offset, uint64_t *ms, hs_error *err) {
    return window_read(s, "SELECT a.duration_ms" ATTEMPTS_IN " ORDER BY a.duration_ms LIMIT 1 OFFSET ?5", "da_", q,
                       (int64_t)offset, 1, ms, err);
}

static int window_events(hs_store *s, const hs_window_query *q, uint64_t *n, hs_error *err) {
    return window_read(s,
                       "SELECT count(*) FROM events WHERE id >= ?6 AND received_at >= ?1 AND received_at < ?2 AND "
                       "(?4 IS NULL OR source_id = ?4)",
                       "evt_", q, -1, 1, n, err);
}

/* ---- notifications ---- */

#define NTF_COLS                                                                                                       \
    "id, channel_id, type, notice, status, attempts, max_attempts, next_attempt_at, last_error, claimed_by, "          \
    "claimed_until, created_at, updated_at"

static void ntf_row(sqlite3_stmt *st, void *elem) {
    hs_notification *v = elem;
    hs_col_copy(v->id, sizeof v->id, st, 0);
    hs_col_copy(v->channel_id, sizeof v->channel_id, st, 1);
    hs_col_copy(v->type, sizeof v->type, st, 2);
    const char *text = (const char *)sqlite3_column_text(st, 3);
    v->notice = hs_strdup(text ? text : "{}");
    hs_col_copy(v->status, sizeof v->status, st, 4);
    v->attempts = sqlite3_column_int(st, 5);
    v->max_attempts = sqlite3_column_int(st, 6);
    v->next_attempt_at = (uint64_t)sqlite3_column_int64(st, 7);
    hs_col_copy(v->last_error, sizeof v->last_error, st, 8);
    hs_col_copy(v->claimed_by, sizeof v->claimed_by, st, 9);
    v->claimed_until = (uint64_t)sqlite3_column_int64(st, 10);
    v->created_at = (uint64_t)sqlite3_column_int64(st, 11);
    v->updated_at = (uint64_t)sqlite3_column_int64(st, 12);
}

static int ntf_collect(hs_sqlite_db *c, sqlite3_stmt *st, hs_notification **out, size_t *n, const char *what,
                       hs_error *err) {
    int rc = hs_sqlite_collect(c, st, sizeof **out, ntf_row, (void **)out, n, what, err);
    hs_stmt_done(c, st);
    return rc;
}

static int ntf_add(hs_store *s, const hs_notification *v, const char *node, uint64_t lease_ms, uint64_t now,
                   hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "INSERT INTO notifications(id, channel_id, type, notice, status, max_attempts, "
                               "next_attempt_at, claimed_by, claimed_until, created_at, updated_at) VALUES(?1, ?2, "
                               "?3, ?4, 'pending', ?5, ?6, ?7, ?6 + ?8, ?6, ?6)",
                               err);
    if (!st) return err->code;
    const char *texts[] = {v->id, v->channel_id, v->type, v->notice};
    for (int i = 0; i < 4; i++) sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, v->max_attempts);
    sqlite3_bind_int64(st, 6, (int64_t)now);
    sqlite3_bind_text(st, 7, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, (int64_t)lease_ms);
    bool changed;
    return step_write(w, st, "writing a notification", &changed, err);
}

static int ntf_any_due(hs_store *s, const char *node, bool mine_too, uint64_t now, bool *any, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT 1 FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?1 AND "
                               "(claimed_by = '' OR claimed_until < ?1 OR (?3 AND claimed_by = ?2)) LIMIT 1",
                               err);
    int rc = st ? SQLITE_OK : SQLITE_ERROR, ret = st ? HS_OK : err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)now);
        sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, mine_too ? 1 : 0);
        rc = sqlite3_step(st);
        *any = rc == SQLITE_ROW;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            ret = hs_sqlite_fail(err, c->db, rc, "looking for notifications due");
        hs_stmt_done(c, st);
    }
    hs_reader_put(s, c);
    return ret;
}

static int ntf_claim(hs_store *s, const char *node, uint64_t lease_ms, size_t limit, bool mine_too, uint64_t now,
                     hs_notification **out, size_t *n, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "UPDATE notifications SET claimed_by = ?1, claimed_until = ?2 + ?3 WHERE id IN "
                               "(SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?2 AND "
                               "(claimed_by = '' OR claimed_until < ?2 OR (?5 AND claimed_by = ?1)) ORDER BY "
                               "next_attempt_at LIMIT ?4) RETURNING " NTF_COLS,
                               err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    sqlite3_bind_int64(st, 3, (int64_t)lease_ms);
    sqlite3_bind_int64(st, 4, (int64_t)limit);
    sqlite3_bind_int(st, 5, mine_too ? 1 : 0);
    return ntf_collect(w, st, out, n, "claiming notifications", err);
}

static int ntf_settle(hs_store *s, const char *id, const char *node, const hs_notification_outcome *o, uint64_t now,
                      bool *mine, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "UPDATE notifications SET status = ?3, attempts = attempts + ?4, last_error = "
                               "coalesce(?5, last_error), next_attempt_at = CASE WHEN ?3 = 'pending' THEN ?6 + ?7 "
                               "ELSE next_attempt_at END, claimed_by = '', claimed_until = 0, updated_at = ?6 WHERE "
                               "id = ?1 AND claimed_by = ?2 AND status = 'pending'",
                               err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, o->count ? 1 : 0);
    if (o->error) sqlite3_bind_text(st, 5, o->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)now);
    sqlite3_bind_int64(st, 7, (int64_t)o->retry_in_ms);
    return step_write(w, st, "settling a notification", mine, err);
}

static int ntf_list(hs_store *s, const hs_notification_query *q, hs_notification **items, size_t *n, bool *has_more,
                    hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT " NTF_COLS " FROM notifications WHERE (?1 IS NULL OR status = ?1) AND (?2 IS "
                               "NULL OR channel_id = ?2) AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
                               err);
    int rc = st ? HS_OK : err->code;
    if (st) {
        const char *texts[] = {q->status, q->channel_id, q->page.cursor};
        for (int i = 0; i < 3; i++)
            if (texts[i]) sqlite3_bind_text(st, i + 1, texts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, q->page.limit + 1);
        rc = ntf_collect(c, st, items, n, "listing notifications", err);
    }
    if (rc == HS_OK && *n > (size_t)q->page.limit) {
        hs_free((*items)[--*n].notice);
        *has_more = true;
    }
    hs_reader_put(s, c);
    return rc;
}

static int ntf_get(hs_store *s, const char *id, hs_notification *out, bool *found, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c, "SELECT " NTF_COLS " FROM notifications WHERE id = ?1", err);
    hs_notification *v = NULL;
    size_t n = 0;
    int rc = st ? HS_OK : err->code;
    if (st) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (st) rc = ntf_collect(c, st, &v, &n, "reading a notification", err);
    hs_reader_put(s, c);
    *found = rc == HS_OK && n > 0;
    if (*found) {
        *out = v[0];
        v[0].notice = NULL;
    }
    hs_notification_free(v, n);
    return rc;
}

static int ntf_prune(hs_store *s, uint64_t before, size_t limit, size_t *n, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w,
                               "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE status IN "
                               "('sent', 'failed') AND created_at < ?1 LIMIT ?2)",
                               err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, (int64_t)before);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "deleting old notifications");
    if (ret == HS_OK) *n = (size_t)sqlite3_changes(w->db);
    hs_stmt_done(w, st);
    return ret;
}

const hs__ops_ops hs__sqlite_ops_ops = {
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
