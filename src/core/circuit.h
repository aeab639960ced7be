/* src/core/circuit.h — the circuit breaker of one destination (docs/scheduler.md).
 *
 *   closed    --threshold consecutive failures-->  open (cooldown starts)
 *   open      --cooldown over-->                   half_open (one probe)
 *   half_open --probe succeeds-->                  closed (queue flushes)
 *   half_open --probe fails-->                     open (new cooldown)
 *   any       --manual reset-->                    closed
 *
 * Pure state machine: the caller (the scheduler) owns the timers and asks
 * hs_circuit_may_send() before each send. Times are ms since the epoch so
 * that the state can be stored and survive restarts.
 */
#ifndef HS_CIRCUIT_H
#define HS_CIRCUIT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { HS_CIRCUIT_CLOSED = 0, HS_CIRCUIT_OPEN, HS_CIRCUIT_HALF_OPEN } hs_circuit_state;

typedef struct hs_circuit {
    bool enabled;
    int threshold;
    uint64_t cooldown_ms;
    hs_circuit_state state;
    int consecutive_failures;
    uint64_t opened_at;          /* 0 when not open */
    uint64_t next_probe_at;      /* 0 when not open */
    uint64_t last_transition_at; /* 0 when never */
    bool probe_in_flight;
} hs_circuit;

void hs_circuit_init(hs_circuit *c, bool enabled, int threshold, uint64_t cooldown_ms);
/* May a request go out now? In open state past the cooldown this moves to
 * half_open and admits exactly one probe (until its outcome is reported). */
bool hs_circuit_may_send(hs_circuit *c, uint64_t now);
void hs_circuit_on_success(hs_circuit *c, uint64_t now);
void hs_circuit_on_failure(hs_circuit *c, uint64_t now);
void hs_circuit_reset(hs_circuit *c, uint64_t now);
const char *hs_circuit_state_name(hs_circuit_state s);
/* "closed" | "open" | "half_open" -> state; false when unknown. */
bool hs_circuit_state_parse(const char *s, hs_circuit_state *out);

#endif
