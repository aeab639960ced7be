/* provider_http.c — plain HTTP(S) webhooks (DESIGN.md §3, §5). */
#include <string.h>
#include <strings.h>

#include "jsonv.h"
#include "provider.h"

static const char *const methods[] = {"POST", "PUT", "PATCH", NULL};
static const char *const auth_types[] = {"none", "bearer", "basic", "api_key", "custom", NULL};

#define AUTH_TYPE HS_JV_ENUM("type", auth_types, "\"none\"")

/* Each auth type takes exactly its own settings: a stray "token" next to
 * type basic is a mistake worth reporting, not a value to keep. */
static const hs_jv_field auth_none[] = {AUTH_TYPE, HS_JV_END};
static const hs_jv_field auth_bearer[] = {AUTH_TYPE, HS_JV_SECRET("token", HS_JV_REQUIRED, 4096), HS_JV_END};
/* clang-format off */
static const hs_jv_field auth_basic[] = {
    AUTH_TYPE,
    HS_JV_BASIC_USER("username", HS_JV_REQUIRED, 256),
    HS_JV_SECRET("password", HS_JV_REQUIRED, 1024),
    HS_JV_END,
};
static const hs_jv_field auth_api_key[] = {
    AUTH_TYPE,
    HS_JV_HEADER_NAME("header", "\"X-API-Key\""),
    HS_JV_SECRET("key", HS_JV_REQUIRED, 4096),
    HS_JV_END,
};
/* clang-format on */
static const hs_jv_field auth_custom[] = {AUTH_TYPE, HS_JV_HEADERS("headers", HS_JV_REQUIRED, 1, NULL), HS_JV_END};

/* same order as auth_types */
static const hs_jv_field *const auth_specs[] = {auth_none, auth_bearer, auth_basic, auth_api_key, auth_custom};

static int check_auth(const hs_jv_at *at, json_t *auth, hs_error *err) {
    /* the type decides which other members are allowed, so it goes first */
    static const hs_jv_field type_field = AUTH_TYPE;
    int rc = hs_jv_member(auth, at->path, &type_field, err);
    if (rc) return rc;
    const char *type = hs_jv_str(auth, "type");
    size_t i = 0;
    while (strcmp(auth_types[i], type) != 0) i++;
    return hs_jv_object(auth, at->path, auth_specs[i], err);
}

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_URL("url", HS_JV_REQUIRED),
    HS_JV_ENUM("method", methods, "\"POST\""),
    HS_JV_HEADERS("headers", 0, 0, "{}"),
    HS_JV_INTR("timeout_ms", 100, 300000, "30000"),
    {.name = "auth", .type = HS_JV_OBJECT, .dflt = "{}", .check = check_auth},
    HS_JV_END,
};
/* clang-format on */

static int clash(const json_t *headers, const char *name, hs_error *err) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)headers, key, value) {
        if (strcasecmp(key, name) != 0) continue;
        char path[HS_JV_PATH_MAX];
        hs_jv_path_key(path, "config.headers", key);
        return hs_error_set(err, HS_ERR_INVALID, path, "conflicts with the %s header set by auth", name);
    }
    return HS_OK;
}

/* A header given both in headers and by auth would be sent twice, or one
 * would silently win: refuse the ambiguity. */
static int check_auth_headers(const json_t *config, hs_error *err) {
    const json_t *headers = json_object_get(config, "headers"), *auth = json_object_get(config, "auth");
    const char *type = hs_jv_str(auth, "type");
    if (strcmp(type, "bearer") == 0 || strcmp(type, "basic") == 0) return clash(headers, "Authorization", err);
    if (strcmp(type, "api_key") == 0) return clash(headers, hs_jv_str(auth, "header"), err);
    if (strcmp(type, "custom") != 0) return HS_OK;
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(auth, "headers"), key, value) {
        int rc = clash(headers, key, err);
        if (rc) return rc;
    }
    return HS_OK;
}

static int validate(json_t *config, hs_error *err) {
    int rc = hs_jv_object(config, "config", fields, err);
    return rc ? rc : check_auth_headers(config, err);
}

/* A patch that switches auth type replaces auth: the old type's settings (a
 * password after a switch to bearer) would otherwise linger and be refused. */
static void prepare_patch(json_t *config, const json_t *patch_config) {
    const json_t *type = json_object_get(json_object_get(patch_config, "auth"), "type");
    const char *from = hs_jv_str(json_object_get(config, "auth"), "type");
    const char *to = json_is_null(type) ? "none" : json_string_value(type);
    if (from && to && strcmp(from, to) != 0) json_object_del(config, "auth");
}

static const char *const secrets[] = {"auth.token", "auth.password", "auth.key", "auth.headers.*", NULL};

const hs_provider hs_provider_http = {
    .type = "http", .validate = validate, .secret_paths = secrets, .prepare_patch = prepare_patch};
