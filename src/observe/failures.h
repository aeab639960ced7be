/* src/observe/failures.h — failures a person should hear of, in the log:
 * a destination's circuit opening (warn) and closing (info), with the
 * attempt that moved it (its response status, its error). A dead letter
 * is logged where it is decided (src/delivery/shard.c).
 *
 * Threads: a hook subscriber (src/core/hooks.h), on the server's loop; no
 * state of its own.
 */
#ifndef HS_FAILURES_H
#define HS_FAILURES_H

#include "core/hooks.h"

/* circuit_changed subscriber; ud unused. */
void hs_failures_on_circuit(const hs_circuit_event *e, void *ud);

#endif
