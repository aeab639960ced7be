/* src/base/idmap.c — see src/base/idmap.h. Grows at half full; removal re-seats the run of
 * entries after the hole so lookups never stop early. */
#include "base/idmap.h"

#include <string.h>

#include "base/alloc.h"

/* FNV-1a: short keys, no adversary (ids we made, slugs users chose) */
static size_t hs_str_hash(const char *s) {
    size_t h = (size_t)1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * (size_t)1099511628211u;
    return h;
}

struct hs_idmap_slot {
    const char *key;
    void *value;
};

static size_t find_slot(const hs_idmap *m, const char *key) {
    size_t i = hs_str_hash(key) & (m->nslots - 1);
    while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0) i = (i + 1) & (m->nslots - 1);
    return i;
}

void *hs_idmap_get(const hs_idmap *m, const char *key) {
    if (!m->nslots || !key) return NULL;
    return m->slots[find_slot(m, key)].value;
}

static void grow(hs_idmap *m) {
    hs_idmap bigger = {.nslots = m->nslots ? m->nslots * 2 : 64};
    bigger.slots = hs_calloc(bigger.nslots, sizeof *bigger.slots);
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->slots[i].key) continue;
        bigger.slots[find_slot(&bigger, m->slots[i].key)] = m->slots[i];
        bigger.n++;
    }
    hs_free(m->slots);
    *m = bigger;
}

void *hs_idmap_put(hs_idmap *m, const char *key, void *value) {
    if ((m->n + 1) * 2 > m->nslots) grow(m);
    size_t i = find_slot(m, key);
    void *old = m->slots[i].value;
    if (!m->slots[i].key) m->n++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return old;
}

void *hs_idmap_del(hs_idmap *m, const char *key) {
    if (!m->nslots || !key) return NULL;
    size_t i = find_slot(m, key);
    if (!m->slots[i].key) return NULL;
    void *old = m->slots[i].value;
    m->slots[i].key = NULL;
    m->slots[i].value = NULL;
    m->n--;
    for (size_t j = (i + 1) & (m->nslots - 1); m->slots[j].key; j = (j + 1) & (m->nslots - 1)) {
        struct hs_idmap_slot s = m->slots[j];
        m->slots[j].key = NULL;
        m->slots[j].value = NULL;
        m->slots[find_slot(m, s.key)] = s;
    }
    return old;
}

void hs_idmap_each(const hs_idmap *m, void (*fn)(void *value, void *ud), void *ud) {
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].key) fn(m->slots[i].value, ud);
}

void hs_idmap_free(hs_idmap *m) {
    hs_free(m->slots);
    m->slots = NULL;
    m->nslots = m->n = 0;
}
