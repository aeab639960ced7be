/* provider_rabbitmq.c — publish through the RabbitMQ management HTTP API. */
#include "jsonv.h"
#include "provider.h"

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_URL("url", HS_JV_REQUIRED), /* the management API base, e.g. http://host:15672 */
    HS_JV_STRD("vhost", HS_JV_NO_CTL, 1, 255, "\"/\""),
    /* "" is the default exchange (routes by queue name), hence required but
     * allowed empty; AMQP caps names and routing keys at 255 bytes */
    HS_JV_STR("exchange", HS_JV_REQUIRED | HS_JV_NO_CTL, 0, 255),
    HS_JV_STRD("routing_key", HS_JV_NO_CTL, 0, 255, "\"\""),
    HS_JV_BASIC_USER("username", HS_JV_REQUIRED, 255),
    HS_JV_SECRET("password", HS_JV_REQUIRED, 1024),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static const char *const secrets[] = {"password", NULL};

const hs_provider hs_provider_rabbitmq = {.type = "rabbitmq", .validate = validate, .secret_paths = secrets};
