/* provider_websocket.c — broadcast to WebSocket clients of a channel. */
#include "jsonv.h"
#include "provider.h"

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_CHARS("channel_name", HS_JV_REQUIRED, 1, 128, "A-Za-z0-9._:-"),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static const char *const secrets[] = {NULL};

const hs_provider hs_provider_websocket = {.type = "websocket", .validate = validate, .secret_paths = secrets};
