/* src/store/store.c — what every store implementation shares: choosing one from the
 * url, and the life cycle of the plain structs of src/store/store.h. */
#include <string.h>

#include "base/alloc.h"
#include "store/store_int.h"

static bool has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

int hs_store_open(const char *url, hs_store **out, hs_error *err) {
    *out = NULL;
    if (!url || !*url) return hs_error_set(err, HS_ERR_INVALID, "db", "a database path is required");
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return hs_error_set(err, HS_ERR_UNSUPPORTED, "db",
                            "PostgreSQL storage is not available in this build yet; use a SQLite file path");
    /* an in-memory database would acknowledge events that a restart loses */
    if (strcmp(url, ":memory:") == 0)
        return hs_error_set(err, HS_ERR_INVALID, "db", "an in-memory database is not durable; give a file path");
    /* Debian's SQLite treats "file:" names as URIs, whose parameters could
     * turn durability off (mode=memory, nolock, ...): accept plain paths only */
    if (has_prefix(url, "file:"))
        return hs_error_set(err, HS_ERR_INVALID, "db", "SQLite URI filenames are not accepted; give a file path");
    return hs_sqlite_open(url, out, err);
}

hs_ingest *hs_ingest_new(void) {
    hs_ingest_box *box = hs_calloc(1, sizeof *box);
    box->ing.priv_ = &box->op;
    return &box->ing;
}

void hs_ingest_free(hs_ingest *ing) {
    if (!ing) return;
    hs_free(ing->source_ref);
    hs_free(ing->method);
    hs_free(ing->path);
    hs_free(ing->query);
    hs_free(ing->headers_json);
    hs_free(ing->body);
    hs_free(ing->source_ip);
    hs_free(ing->content_type);
    hs_free(ing->deliveries);
    /* ing is the first member of its box */
    hs_free((hs_ingest_box *)ing);
}

void hs_event_free(hs_event *e) {
    if (!e) return;
    hs_free(e->method);
    hs_free(e->path);
    hs_free(e->query);
    hs_free(e->headers_json);
    hs_free(e->body);
    hs_free(e->source_ip);
    hs_free(e->content_type);
    hs_free(e);
}
