/* src/maintenance/retention.h — forgetting what is past --retention, and
 * the dedup keys of closed windows.
 *
 * A timer on the loop asks the store for one small sweep at a time
 * (hs_store_sweep: settled events received before now - retention, with
 * their deliveries and attempts, then the space they held given back). A
 * step that left more to do is followed by the next one after a pause of
 * at least four times the step's own time on the writer (and 10 ms), so
 * that deleting takes at most a fifth of the writer whatever the load and
 * ingest is never held up by a long run of steps; otherwise the next look
 * is an idle interval away (a tenth of the retention, between 1 s and
 * 60 s).
 * Events with a pending or dead-lettered delivery are never swept
 * (docs/operations.md, Retention). What it deleted is counted by the store
 * (hs_store_stats, /metrics: hookstream_retention_*).
 *
 * Threads: every function on the loop thread.
 */
#ifndef HS_RETENTION_H
#define HS_RETENTION_H

#include <uv.h>

#include "store/store.h"

typedef struct hs_retention hs_retention;

/* retention_ms 0: --retention off; the sweeps then only forget the dedup
 * keys whose window has closed (the store's, hs_sweep.keys), every idle
 * interval (60 s). The first look is right away. */
hs_retention *hs_retention_start(uv_loop_t *loop, hs_store *s, uint64_t retention_ms);
/* Stop looking; a step under way finishes (its completion runs when the
 * store delivers it, at the latest while the store closes). The object is
 * freed once both are done; r must not be used after this call. */
void hs_retention_stop(hs_retention *r);

#endif
