/* src/store/arrivals.c — the open group's events per source
 * (src/store/arrivals.h). Writer thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "store/arrivals.h"

void hs__arrivals_add(hs__arrivals *a, const char *source_id, uint64_t received_at) {
    hs__arrival *e = hs_idmap_get(&a->by_source, source_id);
    if (!e) {
        if (a->n == a->cap) {
            size_t cap = a->cap ? a->cap * 2 : 16;
            a->v = hs_realloc(a->v, cap * sizeof *a->v);
            for (size_t i = a->cap; i < cap; i++) a->v[i] = hs_malloc(sizeof *a->v[i]);
            a->cap = cap;
        }
        e = a->v[a->n++];
        snprintf(e->source_id, sizeof e->source_id, "%s", source_id);
        e->events = 0;
        e->last_at = 0;
        hs_idmap_put(&a->by_source, e->source_id, e);
    }
    e->events++;
    if (received_at > e->last_at) e->last_at = received_at;
}

static int by_id(const void *x, const void *y) {
    return strcmp((*(hs__arrival *const *)x)->source_id, (*(hs__arrival *const *)y)->source_id);
}

void hs__arrivals_sort(hs__arrivals *a) {
    if (a->n > 1) qsort(a->v, a->n, sizeof *a->v, by_id);
}

void hs__arrivals_clear(hs__arrivals *a) {
    for (size_t i = 0; i < a->n; i++) hs_idmap_del(&a->by_source, a->v[i]->source_id);
    a->n = 0;
}

void hs__arrivals_free(hs__arrivals *a) {
    for (size_t i = 0; i < a->cap; i++) hs_free(a->v[i]);
    hs_free(a->v);
    hs_idmap_free(&a->by_source);
    memset(a, 0, sizeof *a);
}
