/* src/store/arrivals.h — the events of the writer's open group, per source
 * (src/store/arrivals.c). Private to src/store/.
 *
 * Each stored event adds one to its source here; the backend's flush
 * writes the sums (hs_store_source_counts) once per source per group,
 * before COMMIT, in source id order (with several nodes on one database,
 * every group locks the rows it adds to in that order), and a failed group
 * drops them. The entries are kept from group to group (a group of events
 * from sources already seen allocates nothing). Writer thread only.
 */
#ifndef HS_STORE_ARRIVALS_H
#define HS_STORE_ARRIVALS_H

#include <stddef.h>
#include <stdint.h>

#include "base/id.h"
#include "base/idmap.h"

typedef struct hs__arrival {
    char source_id[HS_ID_MAX];
    uint64_t events;
    uint64_t last_at; /* ms: the latest received_at among them */
} hs__arrival;

/* Zeroed is empty. v[0..n) are the group's, allocated up to cap. */
typedef struct hs__arrivals {
    hs__arrival **v;
    size_t n, cap;
    hs_idmap by_source;
} hs__arrivals;

void hs__arrivals_add(hs__arrivals *a, const char *source_id, uint64_t received_at);
/* v[0..n) in source id order (for the flush). */
void hs__arrivals_sort(hs__arrivals *a);
/* Empty again, keeping the entries. */
void hs__arrivals_clear(hs__arrivals *a);
void hs__arrivals_free(hs__arrivals *a);

#endif
