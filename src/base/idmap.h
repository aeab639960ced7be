/* src/base/idmap.h — a map from id strings to pointers (open addressing, linear
 * probing). The key is borrowed: it must live as long as its entry (put the
 * id inside the value). Not thread-safe. */
#ifndef HS_IDMAP_H
#define HS_IDMAP_H

#include <stddef.h>

typedef struct hs_idmap {
    struct hs_idmap_slot *slots;
    size_t nslots, n;
} hs_idmap;

void *hs_idmap_get(const hs_idmap *m, const char *key);
/* Insert or replace; returns the value it replaced (or NULL). */
void *hs_idmap_put(hs_idmap *m, const char *key, void *value);
/* Remove; returns the value (or NULL). */
void *hs_idmap_del(hs_idmap *m, const char *key);
/* Visit every value; fn must not change the map. */
void hs_idmap_each(const hs_idmap *m, void (*fn)(void *value, void *ud), void *ud);
void hs_idmap_free(hs_idmap *m); /* the table, not the values */

#endif
