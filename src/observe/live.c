/* src/observe/live.c — events and attempts on the dashboard's channels (src/observe/live.h). */
#include "observe/live.h"

#include <string.h>

#include "base/alloc.h"
#include "base/json_text.h"

static void publish(hs_ws_hub *hub, const char *channel, const char *type, json_t *data) {
    json_t *msg = json_pack("{s:s, s:s, s:o}", "type", type, "channel", channel, "data", data);
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text) hs_ws_hub_broadcast(hub, channel, text, strlen(text), NULL);
    hs_free(text);
}

void hs_live_on_ingest(hs_ingest *ing, void *ud) {
    hs_ws_hub *hub = ud;
    if (!hub || hs_ws_hub_audience(hub, HS_LIVE_EVENTS) == 0) return;
    publish(hub, HS_LIVE_EVENTS, "event.received",
            json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "event_id", ing->event_id, "source_id", ing->source_id,
                      "status", ing->event_status, "received_at", hs_json_time(ing->received_at), "verification_status",
                      ing->verification_status ? ing->verification_status : "unverified", "dedup_status",
                      ing->duplicate ? "duplicate" : "unique"));
}

void hs_live_on_refused(const hs_refusal_event *e, void *ud) {
    hs_ws_hub *hub = ud;
    if (!hub || hs_ws_hub_audience(hub, HS_LIVE_EVENTS) == 0) return;
    publish(hub, HS_LIVE_EVENTS, "ingest.refused",
            json_pack("{s:s, s:i, s:s, s:s, s:s, s:o}", "source_id", e->source_id, "status", e->status, "reason",
                      e->reason, "error", e->message, "request_id", e->request_id, "refused_at",
                      hs_json_time(e->at_ms)));
}

static json_t *destination(const hs_dest_status *st) {
    return json_pack("{s:s, s:s, s:s, s:i, s:I, s:i}", "id", st->id, "type", st->type, "circuit", st->circuit,
                     "consecutive_failures", st->consecutive_failures, "queued", (json_int_t)st->queued, "in_flight",
                     st->in_flight);
}

/* Subscribers of the deliveries channel, or 0 when there is no hub. */
static size_t watching(const hs_ws_hub *hub) { return hub ? hs_ws_hub_audience(hub, HS_LIVE_DELIVERIES) : 0; }

void hs_live_on_circuit_reset(const hs_dest_status *st, void *ud) {
    if (!watching(ud)) return;
    publish(ud, HS_LIVE_DELIVERIES, "circuit.reset", json_pack("{s:o}", "destination", destination(st)));
}

void hs_live_on_circuit_changed(const hs_circuit_event *e, void *ud) {
    if (!watching(ud)) return;
    const hs_attempt_rec *a = e->a;
    json_t *why = a ? json_pack("{s:s, s:s, s:o, s:o}", "attempt_id", a->id, "event_id", a->event_id, "response_status",
                                a->response_status ? json_integer(a->response_status) : json_null(), "error",
                                a->error ? json_string(a->error) : json_null())
                    : json_null();
    publish(ud, HS_LIVE_DELIVERIES, strcmp(e->to, "open") == 0 ? "circuit.opened" : "circuit.closed",
            json_pack("{s:o, s:s, s:s, s:o}", "destination", destination(e->dest), "from", e->from, "to", e->to,
                      "attempt", why));
}

void hs_live_on_attempt(const hs_attempt_event *e, void *ud) {
    const hs_attempt_rec *a = e->a;
    if (!watching(ud)) return;
    json_t *at =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:o, s:b, s:o, s:I, s:o}", "id", a->id, "event_id", a->event_id,
                  "delivery_id", a->delivery_id, "destination_id", a->destination_id, "attempt_number",
                  a->attempt_number, "status", a->success ? "success" : "failed", "response_status", a->response_status,
                  "error", a->error ? json_string(a->error) : json_null(), "is_dlq", a->is_dlq, "next_retry_at",
                  hs_json_time(a->next_retry_at), "duration_ms", (json_int_t)a->duration_ms, "created_at",
                  hs_json_time(a->created_at));
    publish(ud, HS_LIVE_DELIVERIES, "delivery.attempt",
            json_pack("{s:o, s:o}", "attempt", at, "destination", destination(e->dest)));
}
