#include "core/circuit.h"

#include <string.h>

void hs_circuit_init(hs_circuit *c, bool enabled, int threshold, uint64_t cooldown_ms) {
    memset(c, 0, sizeof *c);
    c->enabled = enabled;
    c->threshold = threshold > 0 ? threshold : 1;
    c->cooldown_ms = cooldown_ms;
}

static void go(hs_circuit *c, hs_circuit_state s, uint64_t now) {
    c->state = s;
    c->last_transition_at = now;
    if (s == HS_CIRCUIT_OPEN) {
        c->opened_at = now;
        c->next_probe_at = now + c->cooldown_ms;
    } else if (s == HS_CIRCUIT_CLOSED) {
        c->opened_at = 0;
        c->next_probe_at = 0;
        c->consecutive_failures = 0;
    }
    c->probe_in_flight = false;
}

bool hs_circuit_may_send(hs_circuit *c, uint64_t now) {
    if (!c->enabled) return true;
    switch (c->state) {
    case HS_CIRCUIT_CLOSED: return true;
    case HS_CIRCUIT_OPEN:
        if (now < c->next_probe_at) return false;
        go(c, HS_CIRCUIT_HALF_OPEN, now);
        c->probe_in_flight = true;
        return true;
    case HS_CIRCUIT_HALF_OPEN:
        if (c->probe_in_flight) return false;
        c->probe_in_flight = true;
        return true;
    }
    return false;
}

void hs_circuit_on_success(hs_circuit *c, uint64_t now) {
    if (c->state != HS_CIRCUIT_CLOSED) go(c, HS_CIRCUIT_CLOSED, now);
    c->consecutive_failures = 0;
}

void hs_circuit_on_failure(hs_circuit *c, uint64_t now) {
    c->consecutive_failures++;
    if (!c->enabled) return;
    if (c->state == HS_CIRCUIT_HALF_OPEN)
        go(c, HS_CIRCUIT_OPEN, now);
    else if (c->state == HS_CIRCUIT_CLOSED && c->consecutive_failures >= c->threshold)
        go(c, HS_CIRCUIT_OPEN, now);
}

void hs_circuit_reset(hs_circuit *c, uint64_t now) { go(c, HS_CIRCUIT_CLOSED, now); }

static const char *const names[] = {"closed", "open", "half_open"};

const char *hs_circuit_state_name(hs_circuit_state s) { return (unsigned)s < 3 ? names[s] : "closed"; }

bool hs_circuit_state_parse(const char *s, hs_circuit_state *out) {
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *out = (hs_circuit_state)i;
            return true;
        }
    return false;
}
