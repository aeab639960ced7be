/* src/providers/http.c — plain HTTP(S) webhooks (docs/api.md, docs/scheduler.md). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/jsonv.h"
#include "providers/provider.h"
#include "base/version.h"
#include "providers/signing.h"
#include "base/timeutil.h"

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

static const hs_jv_field secret_header_item = HS_JV_HEADER_NAME(NULL, NULL);

/* clang-format off */
static const hs_jv_field fields[] = {
    HS_JV_URL("url", HS_JV_REQUIRED),
    HS_JV_ENUM("method", methods, "\"POST\""),
    HS_JV_HEADERS("headers", 0, 0, "{}"),
    /* more header names whose values are secrets (hs_header_secret) */
    {.name = "secret_headers", .type = HS_JV_ARRAY, .max = HS_JV_HEADERS_MAX, .items = &secret_header_item},
    HS_JV_INTR("timeout_ms", 100, 300000, "30000"),
    {.name = "auth", .type = HS_JV_OBJECT, .dflt = "{}", .check = check_auth},
    HS_JV_BOOLEAN("fail_on_graphql_errors", "false"),
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

/* "headers.?": the headers hs_header_secret() names */
static const char *const secrets[] = {"auth.token", "auth.password", "auth.key", "auth.headers.*", "headers.?", NULL};

/* ---- delivery ---- */

#define USER_AGENT "hookstream/" HS_VERSION
#define DEFAULT_TIMEOUT_MS 30000

static int add(hs_out_req *req, const char *name, const char *value, bool secret, hs_error *err) {
    if (!name || !value) return hs_error_set(err, HS_ERR_INVALID, "config", "header %s has no value", name ? name : "");
    int rc = hs_out_req_add_header(req, name, value, secret);
    return rc ? hs_error_set(err, rc, "config.headers", "too many headers (at most %d)", HS_OUT_MAX_HEADERS) : HS_OK;
}

/* Each string member of headers, in order; secret (masked in attempt
 * records) when all are, or as hs_header_secret() says with the config's
 * secret_headers. */
static int add_object(hs_out_req *req, const json_t *headers, bool secret, const json_t *secret_headers,
                      hs_error *err) {
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)headers, name, value) {
        int rc = add(req, name, json_string_value(value), secret || hs_header_secret(name, secret_headers), err);
        if (rc) return rc;
    }
    return HS_OK;
}

/* The credential of config.auth as a header (always secret). */
static int add_auth(hs_out_req *req, const json_t *auth, hs_error *err) {
    const char *type = hs_jv_str(auth, "type");
    if (!type || strcmp(type, "none") == 0) return HS_OK;
    if (strcmp(type, "custom") == 0) return add_object(req, json_object_get(auth, "headers"), true, NULL, err);
    if (strcmp(type, "api_key") == 0) {
        const char *name = hs_jv_str(auth, "header");
        return add(req, name ? name : "X-API-Key", hs_jv_str(auth, "key"), true, err);
    }
    char *value = NULL;
    if (strcmp(type, "bearer") == 0) {
        const char *token = hs_jv_str(auth, "token");
        if (token) value = hs_sprintf("Bearer %s", token);
    } else if (strcmp(type, "basic") == 0) {
        const char *user = hs_jv_str(auth, "username"), *pass = hs_jv_str(auth, "password");
        if (user && pass) value = hs_basic_auth(user, pass);
    } else {
        return hs_error_set(err, HS_ERR_INVALID, "config.auth.type", "unknown auth type %s", type);
    }
    if (!value) return hs_error_set(err, HS_ERR_INVALID, "config.auth", "is incomplete for type %s", type);
    int rc = add(req, "Authorization", value, true, err);
    hs_free_secret(value);
    return rc;
}

/* The last line of defence against header injection: stored values are
 * validated already, but nothing with CR or LF leaves the builder. */
static bool has_crlf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

static int check_injection(const hs_out_req *req, hs_error *err) {
    if (has_crlf(req->url)) return hs_error_set(err, HS_ERR_INVALID, "config.url", "contains CR or LF");
    for (size_t i = 0; i < req->nheaders; i++) {
        const hs_out_header *h = &req->headers[i];
        if (!hs_jv_is_token(h->name))
            return hs_error_set(err, HS_ERR_INVALID, "config.headers", "header name is not a valid token");
        /* the value is not quoted: it may be a secret */
        if (has_crlf(h->value))
            return hs_error_set(err, HS_ERR_INVALID, "config.headers", "the value of header %s contains CR or LF",
                                h->name);
    }
    return HS_OK;
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    const json_t *signing = json_object_get(ctx->destination, "signing");
    const json_t *headers = json_object_get(config, "headers"), *auth = json_object_get(config, "auth");
    const char *url = hs_jv_str(config, "url"), *method = hs_jv_str(config, "method");
    if (!url) return hs_error_set(err, HS_ERR_INVALID, "config.url", "is required");
    if (!ctx->event_id || !ctx->delivery_id)
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "delivery without an event or delivery id");
    json_int_t timeout = json_integer_value(json_object_get(config, "timeout_ms"));

    req->method = hs_strdup(method ? method : "POST");
    req->url = hs_strdup(url);
    req->timeout_ms = timeout > 0 ? (uint64_t)timeout : DEFAULT_TIMEOUT_MS;
    if (ctx->payload_len) {
        req->body = hs_memdup(ctx->payload, ctx->payload_len);
        req->body_len = ctx->payload_len;
    }

    /* Added lowest precedence first: of two headers of one name the later
     * is the one sent (hs_provider_build, hs_out_req_unique_headers). So
     * the user's headers replace our defaults (Content-Type, User-Agent);
     * auth comes next (validation refuses a user header auth also sets);
     * then X-hookstream-* (validation refuses them in headers) and the
     * signature headers, which nothing configured can replace, and which
     * replace X-hookstream-Timestamp when signing.timestamp_header names it
     * (it then carries the signed Unix time: docs/http_client.md). */
    int rc = HS_OK;
    if (ctx->content_type && ctx->content_type[0]) rc = add(req, "Content-Type", ctx->content_type, false, err);
    if (rc == HS_OK) rc = add(req, "User-Agent", USER_AGENT, false, err);
    if (rc == HS_OK) rc = add_object(req, headers, false, json_object_get(config, "secret_headers"), err);
    if (rc == HS_OK) rc = add_auth(req, auth, err);

    char attempt[16], when[HS_ISO8601_MAX];
    snprintf(attempt, sizeof attempt, "%d", ctx->attempt);
    hs_iso8601(ctx->now_ms, when);
    if (rc == HS_OK) rc = add(req, "X-hookstream-Event-Id", ctx->event_id, false, err);
    if (rc == HS_OK) rc = add(req, "X-hookstream-Delivery-Id", ctx->delivery_id, false, err);
    if (rc == HS_OK) rc = add(req, "X-hookstream-Delivery-Attempt", attempt, false, err);
    if (rc == HS_OK) rc = add(req, "X-hookstream-Timestamp", when, false, err);
    if (rc == HS_OK) rc = hs_sign_request(signing, ctx->delivery_id, ctx->now_ms / 1000, req, err);
    return rc ? rc : check_injection(req, err);
}

/* 2xx is success, except that a GraphQL API answers 200 with an "errors"
 * array when the operation failed: with fail_on_graphql_errors that is a
 * failure carrying the first error's message. */
static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    int rc = hs_provider_classify_2xx(resp, err);
    const json_t *config = json_object_get(ctx->destination, "config");
    if (rc || !json_is_true(json_object_get(config, "fail_on_graphql_errors")) || !resp->body) return rc;
    json_t *doc = json_loadb(resp->body, resp->body_len, 0, NULL);
    const json_t *errors = json_object_get(doc, "errors");
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        const char *msg = hs_jv_str(json_array_get(errors, 0), "message");
        rc = hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d with GraphQL errors: %s", resp->status,
                          msg ? msg : "(no message)");
    }
    json_decref(doc);
    return rc;
}

const hs_provider hs_provider_http = {.type = "http",
                                      .validate = validate,
                                      .secret_paths = secrets,
                                      .prepare_patch = prepare_patch,
                                      .build = build,
                                      .classify = classify};
