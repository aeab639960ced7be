/* src/observe/failures.c — circuit transitions in the log (src/observe/failures.h). */
#include "observe/failures.h"

#include <string.h>

#include "base/log.h"

void hs_failures_on_circuit(const hs_circuit_event *e, void *ud) {
    (void)ud;
    bool opened = strcmp(e->to, "open") == 0;
    hs_log_level lvl = opened ? HS_LOG_WARN : HS_LOG_INFO;
    if (hs_log_get_level() > lvl) return;
    const char *msg = !opened                             ? "circuit closed: the probe succeeded, deliveries resume"
                      : strcmp(e->from, "half_open") == 0 ? "circuit opened again: the probe failed"
                                                          : "circuit opened: deliveries to the destination wait for "
                                                            "a probe after the cooldown";
    json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:I}", "destination_id", e->dest->id, "from", e->from, "to", e->to,
                          "consecutive_failures", e->dest->consecutive_failures, "queued", (json_int_t)e->dest->queued);
    if (e->a) {
        json_object_set_new(f, "attempt_id", json_string(e->a->id));
        json_object_set_new(f, "event_id", json_string(e->a->event_id));
        if (e->a->response_status) json_object_set_new(f, "response_status", json_integer(e->a->response_status));
        if (e->a->error) json_object_set_new(f, "error", json_string(e->a->error));
    }
    hs_logj(lvl, f, "%s", msg);
}
