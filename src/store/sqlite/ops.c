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
    "a.destination_id = ?3) AND (?4 IS NULL OR a.event_id IN (SELECT e.id FROM events e WHERE e.source_id = ?4))"

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
};
