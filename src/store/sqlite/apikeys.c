/* src/store/sqlite/apikeys.c — API keys (table api_keys; schema steps 1
 * and 6): add, revoke, touch (last used) on the writer thread, list on a
 * read connection. */
#include <string.h>

#include "base/alloc.h"
#include "store/sqlite/sqlite.h"

static int apikey_add(hs_store *s, const hs_apikey *k, uint64_t created_at, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st =
        hs_stmt(w, "INSERT INTO api_keys(id, key_hash, name, prefix, created_at) VALUES(?1, ?2, ?3, ?4, ?5)", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)created_at);
    int rc = sqlite3_step(st), ret = HS_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        ret = hs_error_set(err, HS_ERR_CONFLICT, NULL, "API key %s (or one with the same hash) already exists", k->id);
    else if (rc != SQLITE_DONE)
        ret = hs_sqlite_fail(err, w->db, rc, "storing the API key");
    hs_stmt_done(w, st);
    return ret;
}

static int apikey_revoke(hs_store *s, const char *id, uint64_t now, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", err);
    if (!st) return err->code;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    int rc = sqlite3_step(st), ret = HS_OK;
    if (rc != SQLITE_DONE)
        ret = hs_sqlite_fail(err, w->db, rc, "revoking the API key");
    else if (sqlite3_changes(w->db) == 0)
        ret = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no API key %s", id);
    hs_stmt_done(w, st);
    return ret;
}

static int apikey_touch(hs_store *s, const hs_apikey_use *uses, size_t n, hs_error *err) {
    hs_sqlite_db *w = hs__sq_writer(s);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = hs_stmt(w,
                                   "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) "
                                   "WHERE id = ?1 AND revoked_at IS NULL",
                                   err);
        if (!st) return err->code;
        sqlite3_bind_text(st, 1, uses[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)uses[i].at);
        int rc = sqlite3_step(st);
        hs_stmt_done(w, st);
        if (rc != SQLITE_DONE) return hs_sqlite_fail(err, w->db, rc, "noting when API keys were used");
    }
    return HS_OK;
}

static void apikey_row(sqlite3_stmt *st, void *elem) {
    hs_apikey *k = elem;
    hs_col_copy(k->id, sizeof k->id, st, 0);
    hs_col_copy(k->hash, sizeof k->hash, st, 1);
    hs_col_copy(k->name, sizeof k->name, st, 2);
    hs_col_copy(k->prefix, sizeof k->prefix, st, 3);
    k->created_at = (uint64_t)sqlite3_column_int64(st, 4);
    k->last_used_at = (uint64_t)sqlite3_column_int64(st, 5);
}

static int apikey_list(hs_store *s, hs_apikey **out, size_t *n, hs_error *err) {
    hs_sqlite_db *c = hs_reader_get(s, err);
    if (!c) return err->code;
    sqlite3_stmt *st = hs_stmt(c,
                               "SELECT id, key_hash, name, prefix, created_at, coalesce(last_used_at, 0) FROM "
                               "api_keys WHERE revoked_at IS NULL ORDER BY id",
                               err);
    if (!st) {
        hs_reader_put(s, c);
        return err->code;
    }
    void *v = NULL;
    int ret = hs_sqlite_collect(c, st, sizeof(hs_apikey), apikey_row, &v, n, "reading API keys", err);
    *out = v;
    hs_stmt_done(c, st);
    hs_reader_put(s, c);
    return ret;
}

const hs__apikey_ops hs__sqlite_apikey_ops = {
    .add = apikey_add,
    .revoke = apikey_revoke,
    .touch = apikey_touch,
    .list = apikey_list,
};
