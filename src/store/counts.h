/* src/store/counts.h — the pending-count changes of the writer's open group,
 * per destination (src/store/counts.c). Private to src/store/.
 *
 * Every write that moves a delivery into or out of pending adds +1/-1 for
 * its destination here; the backend's flush writes the sums once per
 * destination per group, before COMMIT, and a failed group drops them.
 * An open-addressing table on the destination's number (the backend's
 * refs.n, never 0): adding is a probe, no allocation once the table has
 * grown to the group's size. Writer thread only.
 */
#ifndef HS_STORE_COUNTS_H
#define HS_STORE_COUNTS_H

#include <stddef.h>
#include <stdint.h>

/* One destination's change. */
typedef struct hs__count {
    int64_t key; /* the destination's number; 0: free slot */
    int64_t delta;
} hs__count;

/* Zeroed is empty. The flush reads v[0..cap): the slots with a key and a
 * non-zero delta. */
typedef struct hs__counts {
    hs__count *v;
    size_t cap, n; /* slots (a power of two, or 0), slots in use */
} hs__counts;

/* key's count moves by delta (nothing for key <= 0 or delta 0). */
void hs__counts_add(hs__counts *c, int64_t key, int64_t delta);
/* Empty again, keeping the table. */
void hs__counts_clear(hs__counts *c);
void hs__counts_free(hs__counts *c);

#endif
