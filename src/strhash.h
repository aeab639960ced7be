/* strhash.h — the string hash of the in-memory tables (route cache,
 * scheduler destinations). FNV-1a: short keys, no adversary (ids we made). */
#ifndef HS_STRHASH_H
#define HS_STRHASH_H

#include <stddef.h>

static inline size_t hs_str_hash(const char *s) {
    size_t h = (size_t)1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * (size_t)1099511628211u;
    return h;
}

#endif
