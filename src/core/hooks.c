/* src/core/hooks.c — the hook registry (src/core/hooks.h). */
#include "core/hooks.h"

#include <stdlib.h>

#include "base/log.h"

/* The next free slot of a hook's list; n is its count. */
static size_t slot(size_t *n, const char *hook) {
    if (*n >= HS_HOOKS_MAX) {
        hs_error_log("hooks: more than %d subscribers to %s (HS_HOOKS_MAX)", HS_HOOKS_MAX, hook);
        abort();
    }
    return (*n)++;
}

#define ADD(list, name)                                                                                                \
    do {                                                                                                               \
        size_t i = slot(&(list).n, name);                                                                              \
        (list).sub[i].fn = fn;                                                                                         \
        (list).sub[i].ud = ud;                                                                                         \
    } while (0)

void hs_hooks_on_ingest(hs_hooks *h, hs_on_ingest fn, void *ud) { ADD(h->ingest, "ingest"); }
void hs_hooks_on_resource(hs_hooks *h, hs_on_resource fn, void *ud) { ADD(h->resource, "resource"); }
void hs_hooks_on_requeued(hs_hooks *h, hs_on_requeued fn, void *ud) { ADD(h->requeued, "requeued"); }
void hs_hooks_on_attempt_decided(hs_hooks *h, hs_on_attempt fn, void *ud) {
    ADD(h->attempt_decided, "attempt_decided");
}
void hs_hooks_on_attempt_recorded(hs_hooks *h, hs_on_attempt fn, void *ud) {
    ADD(h->attempt_recorded, "attempt_recorded");
}
void hs_hooks_on_circuit_reset(hs_hooks *h, hs_on_circuit_reset fn, void *ud) {
    ADD(h->circuit_reset, "circuit_reset");
}
void hs_hooks_on_refused(hs_hooks *h, hs_on_refused fn, void *ud) { ADD(h->refused, "refused"); }
void hs_hooks_on_circuit_changed(hs_hooks *h, hs_on_circuit_changed fn, void *ud) {
    ADD(h->circuit_changed, "circuit_changed");
}

/* Every subscriber of list, in order, with the event's arguments. */
#define FIRE(list, ...)                                                                                                \
    do {                                                                                                               \
        if (!h) return;                                                                                                \
        for (size_t i = 0; i < (list).n; i++) (list).sub[i].fn(__VA_ARGS__, (list).sub[i].ud);                         \
    } while (0)

void hs_hooks_ingest(const hs_hooks *h, hs_ingest *ing) { FIRE(h->ingest, ing); }
void hs_hooks_resource(const hs_hooks *h, const hs_resource_event *e) { FIRE(h->resource, e); }
void hs_hooks_requeued(const hs_hooks *h, const hs_delivery *d, size_t n) { FIRE(h->requeued, d, n); }
void hs_hooks_attempt_decided(const hs_hooks *h, const hs_attempt_event *e) { FIRE(h->attempt_decided, e); }
void hs_hooks_attempt_recorded(const hs_hooks *h, const hs_attempt_event *e) { FIRE(h->attempt_recorded, e); }
void hs_hooks_circuit_reset(const hs_hooks *h, const hs_dest_status *st) { FIRE(h->circuit_reset, st); }
void hs_hooks_refused(const hs_hooks *h, const hs_refusal_event *e) { FIRE(h->refused, e); }
void hs_hooks_circuit_changed(const hs_hooks *h, const hs_circuit_event *e) { FIRE(h->circuit_changed, e); }
