/* src/store/pg/apikeys.c — API keys (table api_keys; schema steps 1 and 2):
 * add, revoke, touch (last used) on the writer, list on a read
 * connection. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/pg/pg.h"

/* The other nodes read their key sets again at the commit (the change
 * feed, src/store/pg/cluster.c). */
static int keys_changed(hs_store *s, hs_error *err) {
    char m[96];
    snprintf(m, sizeof m, "k %s", hs__pgs(s)->node[0] ? hs__pgs(s)->node : "-");
    return hs_pg_feed_send(s, m, err);
}

static int apikey_add(hs_store *s, const hs_apikey *k, uint64_t created_at, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, k->id);
    hs_pg_text(&p, k->hash);
    hs_pg_text(&p, k->name);
    hs_pg_text(&p, k->prefix);
    hs_pg_int(&p, (int64_t)created_at);
    int rc = hs_pg_run(hs__pg_writer(s),
                       "INSERT INTO api_keys(id, key_hash, name, prefix, created_at) VALUES($1, $2, $3, $4, $5)", &p,
                       "storing the API key", NULL, err);
    /* a unique violation: the id or the hash is taken */
    if (rc == HS_ERR_CONFLICT)
        rc = hs_error_set(err, HS_ERR_CONFLICT, NULL, "API key %s (or one with the same hash) already exists", k->id);
    return rc == HS_OK ? keys_changed(s, err) : rc;
}

static int apikey_revoke(hs_store *s, const char *id, uint64_t now, hs_error *err) {
    hs_pg_params p = {0};
    hs_pg_text(&p, id);
    hs_pg_int(&p, (int64_t)now);
    int64_t changed = 0;
    int rc = hs_pg_run(hs__pg_writer(s), "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &p,
                       "revoking the API key", &changed, err);
    if (rc == HS_OK && changed == 0) rc = hs_error_set(err, HS_ERR_NOTFOUND, NULL, "no API key %s", id);
    return rc == HS_OK ? keys_changed(s, err) : rc;
}

static int apikey_touch(hs_store *s, const hs_apikey_use *uses, size_t n, hs_error *err) {
    for (size_t i = 0; i < n; i++) {
        hs_pg_params p = {0};
        hs_pg_text(&p, uses[i].id);
        hs_pg_int(&p, (int64_t)uses[i].at);
        int rc = hs_pg_run(hs__pg_writer(s),
                           "UPDATE api_keys SET last_used_at = GREATEST(coalesce(last_used_at, 0), $2) "
                           "WHERE id = $1 AND revoked_at IS NULL",
                           &p, "noting when API keys were used", NULL, err);
        if (rc) return rc;
    }
    return HS_OK;
}

static int apikey_list(hs_store *s, hs_apikey **out, size_t *n, hs_error *err) {
    hs_pg_conn *c = hs_pg_reader_get(s, err);
    if (!c) return err->code;
    PGresult *r = hs_pg_exec(c,
                             "SELECT id, key_hash, name, prefix, created_at, coalesce(last_used_at, 0) FROM "
                             "api_keys WHERE revoked_at IS NULL ORDER BY id",
                             NULL, "reading API keys", err);
    if (!r) {
        hs_pg_reader_put(s, c);
        return err->code;
    }
    int rows = PQntuples(r);
    hs_apikey *v = rows > 0 ? hs_calloc((size_t)rows, sizeof *v) : NULL;
    for (int i = 0; i < rows; i++) {
        hs_apikey *k = &v[i];
        hs_pg_copy(k->id, sizeof k->id, r, i, 0);
        hs_pg_copy(k->hash, sizeof k->hash, r, i, 1);
        hs_pg_copy(k->name, sizeof k->name, r, i, 2);
        hs_pg_copy(k->prefix, sizeof k->prefix, r, i, 3);
        k->created_at = (uint64_t)hs_pg_get_int(r, i, 4);
        k->last_used_at = (uint64_t)hs_pg_get_int(r, i, 5);
    }
    PQclear(r);
    *out = v;
    *n = (size_t)rows;
    hs_pg_reader_put(s, c);
    return HS_OK;
}

const hs__apikey_ops hs__pg_apikey_ops = {
    .add = apikey_add,
    .revoke = apikey_revoke,
    .touch = apikey_touch,
    .list = apikey_list,
};
