/* src/store/counts.c — the pending-count changes of the writer's open group
 * (src/store/counts.h): open addressing on the destination's number, linear
 * probing, grown at half full. Writer thread only.
 */
#include <string.h>

#include "base/alloc.h"
#include "store/counts.h"

void hs__counts_add(hs__counts *c, int64_t key, int64_t delta) {
    if (key <= 0 || delta == 0) return;
    if (2 * (c->n + 1) > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        hs__count *old = c->v, *v = hs_calloc(cap, sizeof *v);
        for (size_t i = 0; i < c->cap; i++) {
            if (!old[i].key) continue;
            size_t j = (size_t)old[i].key & (cap - 1);
            while (v[j].key) j = (j + 1) & (cap - 1);
            v[j] = old[i];
        }
        hs_free(old);
        c->v = v;
        c->cap = cap;
    }
    size_t j = (size_t)key & (c->cap - 1);
    while (c->v[j].key && c->v[j].key != key) j = (j + 1) & (c->cap - 1);
    if (!c->v[j].key) {
        c->v[j].key = key;
        c->n++;
    }
    c->v[j].delta += delta;
}

void hs__counts_clear(hs__counts *c) {
    if (c->n) memset(c->v, 0, c->cap * sizeof *c->v);
    c->n = 0;
}

void hs__counts_free(hs__counts *c) {
    hs_free(c->v);
    memset(c, 0, sizeof *c);
}
