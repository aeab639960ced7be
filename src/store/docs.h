/* src/store/docs.h — resource documents as every backend keeps them
 * (src/store/docs.c). Private to src/store/.
 *
 * A resource row is its JSON doc (as validated by src/core/resource.c,
 * without the timestamps) plus the columns the store looks up, checks or
 * filters on, re-extracted from the doc on every write. What that takes and
 * speaks no SQL is here: the facts of each kind besides its SQL, the
 * columns of a doc, its timestamps, the text written for it (secrets
 * sealed), a stored doc parsed and unsealed, a read-modify-write's checks
 * and one row's re-sealing. Each backend's resources.c reads and writes the
 * rows. Any thread: the functions work on their arguments only.
 */
#ifndef HS_STORE_DOCS_H
#define HS_STORE_DOCS_H

#include "store/backend.h"

/* What every backend knows of a kind besides its SQL. */
typedef struct hs__kind_info {
    const char *name;   /* for messages */
    const char *prefix; /* of its ids */
    bool has_slug;
    const char *cols[3]; /* indexed columns: the only legal filters */
} hs__kind_info;

extern const hs__kind_info hs__kinds[HS_KIND_COUNT];

/* The indexed column of kind named field (the kind's own string), or NULL
 * when field (may be NULL) is not one. */
const char *hs__kind_column(hs_kind kind, const char *field);

/* The columns of one doc; strings point into the doc. */
typedef struct hs__doc_cols {
    const char *slug; /* NULL: none ("" is no slug, not a unique one) */
    const char *status;
    const char *type;
    const char *source_id;
    const char *destination_id;
    int enabled;
} hs__doc_cols;

/* The columns of doc for kind, or HS_ERR_INVALID naming the field. */
int hs__doc_cols_get(hs_kind kind, const json_t *doc, hs__doc_cols *c, hs_error *err);

/* A deep copy without the store-managed timestamps. */
json_t *hs__doc_stripped(const json_t *doc);
/* doc as reads return it: with ISO 8601 timestamps. Returns doc. */
json_t *hs__doc_with_times(json_t *doc, uint64_t created_at, uint64_t updated_at);
/* The text stored for doc (free with hs__json_str_free): its secrets sealed
 * when the store has a box; NULL on failure (err set when sealing failed). */
char *hs__doc_text(const hs_store *s, hs_kind kind, const json_t *doc, hs_error *err);
/* Free what json_dumps returned: it comes from jansson's allocator, which
 * may be ours. */
void hs__json_str_free(char *s);

/* A resource row as read. */
typedef struct hs__doc_row {
    char id[HS_ID_MAX];
    json_t *doc; /* as stored, no timestamps */
    uint64_t created_at;
    uint64_t updated_at;
} hs__doc_row;

/* r->doc from the stored text (len bytes; text NULL: none), its secrets
 * unsealed with the store's box (when set); r->id is already set. On
 * failure r->doc is NULL and err says which row. */
int hs__doc_row_parse(const hs_store *s, hs_kind kind, const char *text, size_t len, hs__doc_row *r, hs_error *err);

/* Run an update's fn on the current doc of r and check what it returns:
 * *doc_out, stripped of its timestamps, with r's id. */
int hs__doc_apply(hs_update_fn fn, void *ud, const hs__doc_row *r, json_t **doc_out, hs_error *err);

/* hs_store_reseal's step for one row (id, its stored text of len bytes):
 * its secrets opened with from and counted in st; when it is to be
 * written back (to set, and a clear secret or rekey), *sealed is its new
 * text, sealed under to (free with hs__json_str_free), else NULL. */
int hs__doc_reseal(const hs_secret_codec *codec, hs_kind kind, const char *id, const char *text, size_t len,
                   const hs_secretbox *from, const hs_secretbox *to, bool rekey, char **sealed, hs_reseal_stats *st,
                   hs_error *err);

#endif
