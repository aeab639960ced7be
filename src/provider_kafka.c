/* provider_kafka.c — produce through a Confluent REST Proxy (API v3). */
#include <string.h>

#include "jsonv.h"
#include "provider.h"

/* Kafka's own rule: [A-Za-z0-9._-]{1,249} except "." and "..". */
static int check_topic(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not be \".\" or \"..\"");
    return HS_OK;
}

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_URL("rest_url", HS_JV_REQUIRED),
    HS_JV_CHARS("cluster_id", HS_JV_REQUIRED, 1, 255, "A-Za-z0-9._-"),
    {.name = "topic", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 1, .max = 249, .charset = "A-Za-z0-9._-",
     .check = check_topic},
    /* Basic auth to the proxy (Confluent Cloud API key and secret) */
    HS_JV_BASIC_USER("api_key", HS_JV_NO_SPACE, 256),
    HS_JV_SECRET("api_secret", HS_JV_NO_SPACE, 1024),
    /* record key: a JSONata expression over the event, compiled by delivery */
    HS_JV_STR("key", 0, 1, 4096),
    HS_JV_URL("endpoint", 0),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) {
    int rc = hs_jv_object(config, "config", fields, err);
    return rc ? rc : hs_jv_together(config, "config", "api_key", "api_secret", err);
}

static const char *const secrets[] = {"api_secret", NULL};

const hs_provider hs_provider_kafka = {.type = "kafka", .validate = validate, .secret_paths = secrets};
