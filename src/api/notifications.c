/* src/api/notifications.c — GET /v1/notifications, GET
 * /v1/notifications/:id (docs/api.md "Notifications"): the store's outbox
 * of the notifications alert rules and issues sent, pending or failed.
 * Threadpool handlers.
 */
#include <string.h>

#include "api/call.h"
#include "base/alloc.h"
#include "base/json_text.h"
#include "store/ops.h"

static json_t *notification_json(const hs_notification *v) {
    json_t *notice = json_loads(v->notice, 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(v->id));
    json_object_set_new(o, "channel_id", json_string(v->channel_id));
    json_object_set_new(o, "type", json_string(v->type));
    json_object_set_new(o, "status", json_string(v->status));
    json_object_set_new(o, "title", hs_json_text(json_string_value(json_object_get(notice, "title"))));
    json_object_set_new(o, "text", hs_json_text(json_string_value(json_object_get(notice, "text"))));
    json_t *data = json_object_get(notice, "data");
    json_object_set(o, "data", data ? data : json_null());
    json_object_set_new(o, "attempts", json_integer(v->attempts));
    json_object_set_new(o, "max_attempts", json_integer(v->max_attempts));
    json_object_set_new(o, "next_attempt_at",
                        strcmp(v->status, "pending") == 0 ? hs_json_time(v->next_attempt_at) : json_null());
    json_object_set_new(o, "last_error", hs_json_text(v->last_error));
    json_object_set_new(o, "created_at", hs_json_time(v->created_at));
    json_object_set_new(o, "updated_at", hs_json_time(v->updated_at));
    json_decref(notice);
    return o;
}

void hs_api_notifications_list(hs_api_call *c) {
    static const char *const allowed[] = {"limit", "cursor", "status", "channel_id", NULL};
    hs_error err;
    hs_error_clear(&err);
    if (hs_query_only(&c->query, allowed, &err)) return hs_api_fail(c, &err);
    hs_notification_query q = {.status = hs_query_get(&c->query, "status"),
                               .channel_id = hs_query_get(&c->query, "channel_id")};
    if (hs_api_page(c, "ntf_", &q.page)) return;
    if (q.channel_id && !hs_id_valid("nch_", q.channel_id))
        return hs_api_failf(c, HS_ERR_INVALID, "channel_id", "is not a notification channel id (nch_ + 32 hex)");
    hs_notification *items = NULL;
    size_t n = 0;
    bool more = false;
    if (hs_store_notification_list(c->api->store, &q, &items, &n, &more, &err)) return hs_api_fail(c, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, notification_json(&items[i]));
    hs_notification_free(items, n);
    c->status = 200;
    c->body = hs_api_list_body("notifications", arr, more);
}

void hs_api_notifications_get(hs_api_call *c) {
    hs_error err;
    hs_error_clear(&err);
    if (!hs_id_valid("ntf_", c->param))
        return hs_api_failf(c, HS_ERR_NOTFOUND, "", "notification %s not found", c->param);
    hs_notification v;
    if (hs_store_notification_get(c->api->store, c->param, &v, &err)) return hs_api_fail(c, &err);
    c->status = 200;
    c->body = notification_json(&v);
    hs_free(v.notice);
}
