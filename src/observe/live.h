/* src/observe/live.h — what the dashboard watches: events and attempts published on
 * reserved WebSocket channels as they are committed.
 *
 *   hookstream.events      {"type":"event.received","channel","data":{event_id, source_id, status, received_at}}
 *                          and {"type":"ingest.refused","channel","data":{source_id, status, reason, error,
 *                           request_id, refused_at}} when the front door refuses one (401, 403, 429)
 *   hookstream.deliveries  {"type":"delivery.attempt","channel","data":{attempt: {id, event_id, delivery_id,
 *                           destination_id, attempt_number, status, response_status, error, is_dlq,
 *                           next_retry_at, duration_ms, created_at}, destination: {id, circuit,
 *                           consecutive_failures, queued, in_flight}}}
 *                          {"type":"circuit.reset", ...destination} after a manual reset, and
 *                          {"type":"circuit.opened"|"circuit.closed","data":{destination, from, to,
 *                           attempt: {attempt_id, event_id, response_status, error}}} when an
 *                          attempt opens or closes a circuit (a failed probe opens it again).
 * Messages are built only when somebody subscribes to the channel. The
 * "hookstream." prefix is reserved (HS_WS_RESERVED_PREFIX, src/ws/ws.h):
 * websocket destinations cannot use it.
 */
#ifndef HS_LIVE_H
#define HS_LIVE_H

#include "core/hooks.h"
#include "store/store.h"
#include "ws/ws.h"

/* on the channels src/ws/ws.h reserves for the server */
#define HS_LIVE_EVENTS HS_WS_RESERVED_PREFIX "events"
#define HS_LIVE_DELIVERIES HS_WS_RESERVED_PREFIX "deliveries"

/* Hook subscribers (src/core/hooks.h; loop thread); ud is the hub, which
 * may be NULL. ingest: event.received; attempt_recorded: delivery.attempt;
 * circuit_reset: circuit.reset; refused: ingest.refused; circuit_changed:
 * circuit.opened/closed. */
void hs_live_on_ingest(hs_ingest *ing, void *ud);
void hs_live_on_attempt(const hs_attempt_event *e, void *ud);
void hs_live_on_circuit_reset(const hs_dest_status *st, void *ud);
void hs_live_on_refused(const hs_refusal_event *e, void *ud);
void hs_live_on_circuit_changed(const hs_circuit_event *e, void *ud);

#endif
