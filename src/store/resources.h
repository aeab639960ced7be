/* src/store/resources.h — creating, updating and deleting sources,
 * destinations and connections, decided here for every backend
 * (src/store/resources.c). Private to src/store/.
 *
 * What a write checks (the id; a slug another row has; a connection's
 * source and destination; the connections still using a source or
 * destination), in which order and with which message, and the times it
 * gives the row: here, on top of src/store/docs.h. The backend runs the
 * statements (hs__res_ops, its hs_store_backend.resources) on its writer
 * connection. Writer thread, inside the op's savepoint (src/store/store.c
 * calls these).
 */
#ifndef HS_STORE_RESOURCES_H
#define HS_STORE_RESOURCES_H

#include "store/docs.h"

/* What hs__res_ops.find looks for. */
typedef enum hs__res_find {
    HS_RES_ID,          /* the row of the kind with id a */
    HS_RES_SLUG_OWNER,  /* the row of the kind with slug a and an id other than b */
    HS_RES_SOURCE,      /* the source with id a */
    HS_RES_DESTINATION, /* the destination with id a */
    HS_RES_USER,        /* the first connection, in id order, of the source or destination a (the kind's) */
} hs__res_find;

typedef struct hs__res_ops {
    /* The row of kind whose id (or, for a kind with slugs, slug) is ref;
     * HS_ERR_NOTFOUND with its message when there is none. */
    int (*load)(hs_store *s, hs_kind kind, const char *ref, hs__doc_row *r, hs_error *err);
    /* The id of the row `what` names (b may be NULL), "" when there is
     * none. */
    int (*find)(hs_store *s, hs_kind kind, hs__res_find what, const char *a, const char *b, char id_out[HS_ID_MAX],
                hs_error *err);
    /* INSERT (insert) or UPDATE the row id of kind: its columns, the text
     * stored for its doc, its times. */
    int (*write)(hs_store *s, hs_kind kind, bool insert, const char *id, const hs__doc_cols *c, const char *text,
                 uint64_t created_at, uint64_t updated_at, hs_error *err);
    /* A new destination or connection is given its number (refs): the
     * deliveries name them so. */
    int (*name)(hs_store *s, const char *id, hs_error *err);
    /* Cancel the pending deliveries of a destination being deleted. */
    int (*cancel)(hs_store *s, const char *destination_id, hs_error *err);
    /* DELETE the row id of kind. */
    int (*remove)(hs_store *s, hs_kind kind, const char *id, hs_error *err);
} hs__res_ops;

/* As hs_store_resource_create, update and delete (store.h), arguments
 * already checked, with the backend's statements; *out is set on success
 * only. */
int hs__resource_create(hs_store *s, const hs__res_ops *ops, hs_kind kind, const json_t *in, json_t **out,
                        hs_error *err);
int hs__resource_update(hs_store *s, const hs__res_ops *ops, hs_kind kind, const char *id, hs_update_fn fn, void *ud,
                        json_t **out, hs_error *err);
int hs__resource_delete(hs_store *s, const hs__res_ops *ops, hs_kind kind, const char *id, hs_error *err);

#endif
