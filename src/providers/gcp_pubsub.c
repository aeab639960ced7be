/* src/providers/gcp_pubsub.c — Google Cloud Pub/Sub: a service account's RS256 JWT is
 * exchanged for an OAuth2 token, then topics.publish.
 *
 * build runs on the threadpool (slow_build): it takes the access token from
 * the shared cache (src/providers/gcp/oauth_token.h), which fetches one with the JWT-bearer
 * grant (src/providers/gcp/jwt.h, src/providers/gcp/oauth_grant.h) when it has none fresh enough, and returns
 * the publish request. A 401 on publish drops the cached token and asks the
 * scheduler for one immediate rebuild and resend (HS_ERR_AGAIN).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/digest.h"
#include "base/jsonv.h"
#include "providers/gcp/jwt.h"
#include "providers/gcp/oauth_grant.h"
#include "providers/gcp/oauth_token.h"
#include "providers/provider.h"
#include "base/url.h"
#include "base/version.h"

#define DEFAULT_TOKEN_URL "https://oauth2.googleapis.com/token"
#define DEFAULT_ENDPOINT "https://pubsub.googleapis.com"
#define PUBSUB_SCOPE "https://www.googleapis.com/auth/pubsub"
#define JWT_LIFETIME_S 3600 /* the longest Google accepts */
#define DEFAULT_TIMEOUT_MS 30000

#define KEY_FILE_MAX 16384 /* a service account key file is about 2.4 KB */

/* ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ — the charset and length are in the spec */
static int check_project(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    char last = s[strlen(s) - 1];
    if (s[0] < 'a' || s[0] > 'z' || last == '-')
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must begin with a letter and not end with '-'");
    return HS_OK;
}

static int check_topic(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    bool letter = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
    if (!letter) return hs_error_set(err, HS_ERR_INVALID, at->path, "must begin with a letter");
    if (strncmp(s, "goog", 4) == 0) return hs_error_set(err, HS_ERR_INVALID, at->path, "must not begin with \"goog\"");
    return HS_OK;
}

static bool has_prefix(const char *s, const char *prefix) { return s && strncmp(s, prefix, strlen(prefix)) == 0; }

/* What delivery needs from the key file: who signs, and with which key.
 * Reported at the field itself: the members are the file's, not ours. */
static int check_key_file(const char *path, const json_t *sa, hs_error *err) {
    const char *email = hs_jv_str(sa, "client_email"), *key = hs_jv_str(sa, "private_key");
    if (!email || !strchr(email, '@'))
        return hs_error_set(err, HS_ERR_INVALID, path, "has no client_email (the service account's email address)");
    if (!has_prefix(key, "-----BEGIN PRIVATE KEY-----") && !has_prefix(key, "-----BEGIN RSA PRIVATE KEY-----"))
        return hs_error_set(err, HS_ERR_INVALID, path,
                            "has no private_key in PEM form (-----BEGIN PRIVATE KEY-----...)");
    return HS_OK;
}

/* Accepts the key file as an object or as the string holding it (how it is
 * downloaded); stores the string form either way. */
static int check_service_account(const hs_jv_at *at, json_t *value, hs_error *err) {
    json_t *sa = value;
    if (json_is_string(value)) {
        if (json_string_length(value) > KEY_FILE_MAX)
            return hs_error_set(err, HS_ERR_INVALID, at->path, "must be at most %d characters", KEY_FILE_MAX);
        sa = json_loads(json_string_value(value), 0, NULL);
    }
    if (!json_is_object(sa)) {
        if (sa != value) json_decref(sa);
        return hs_error_set(err, HS_ERR_INVALID, at->path,
                            "must be the service account key file: a JSON object "
                            "or a string holding one");
    }
    int rc = check_key_file(at->path, sa, err);
    if (sa != value) {
        json_decref(sa);
        return rc;
    }
    if (rc) return rc;
    char *text = json_dumps(sa, JSON_COMPACT);
    if (strlen(text) > KEY_FILE_MAX)
        rc = hs_error_set(err, HS_ERR_INVALID, at->path, "must be at most %d characters", KEY_FILE_MAX);
    else
        hs_jv_replace(at, json_string(text));
    hs_free_secret(text);
    return rc;
}

/* clang-format off */
static const hs_jv_field fields[] = {
    {.name = "project_id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 6, .max = 30, .charset = "a-z0-9-",
     .check = check_project},
    {.name = "topic_id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 3, .max = 255,
     .charset = "A-Za-z0-9_.~+%-", .check = check_topic},
    {.name = "service_account_json", .type = HS_JV_ANY, .flags = HS_JV_REQUIRED, .check = check_service_account},
    HS_JV_URL("token_url", 0),
    HS_JV_URL("endpoint", 0),
    HS_JV_INTR("timeout_ms", 100, 300000, "30000"),
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static const char *const secrets[] = {"service_account_json", NULL};

/* ---- delivery ---- */

/* What one token fetch needs; all borrowed from the build's config. */
typedef struct token_src {
    const char *token_url, *email, *private_key, *kid;
    uint64_t now_s, timeout_ms;
} token_src;

/* The key file as an object (stored as the string holding it). */
static json_t *service_account(const json_t *config) {
    const json_t *v = json_object_get(config, "service_account_json");
    if (json_is_object(v)) return json_incref((json_t *)v);
    return json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
}

static const char *token_url_of(const json_t *config) {
    const char *u = hs_jv_str(config, "token_url");
    return u ? u : DEFAULT_TOKEN_URL;
}

static uint64_t timeout_of(const json_t *config) {
    json_int_t t = json_integer_value(json_object_get(config, "timeout_ms"));
    return t > 0 ? (uint64_t)t : DEFAULT_TIMEOUT_MS;
}

/* The cache key: who asks where for what, and with which key. The key's
 * hash is part of it so that a destination holding a wrong or revoked key
 * for an account never rides on the token another destination obtained. */
static char *cache_key(const char *token_url, const char *email, const char *private_key) {
    char hash[65];
    hs_sha256_hex(private_key, strlen(private_key), hash);
    return hs_sprintf("%s\n%s\n%s\n%s", token_url, email, PUBSUB_SCOPE, hash);
}

/* Signs the assertion (iss, scope, aud, iat, exp) and trades it for a token. */
static int fetch_token(void *ud, char **token, uint64_t *lifetime_s, hs_error *err) {
    const token_src *src = ud;
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", src->email, "scope", PUBSUB_SCOPE, "aud", src->token_url, "iat",
                  (json_int_t)src->now_s, "exp", (json_int_t)(src->now_s + JWT_LIFETIME_S));
    char *jwt = NULL;
    int rc = hs_jwt_rs256(src->private_key, src->kid, claims, &jwt, err);
    json_decref(claims);
    if (rc != HS_OK) { /* the key file's key is unusable: no retry fixes that */
        char why[HS_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return hs_error_set(err, HS_ERR_PERMANENT, "config.service_account_json", "private_key: %.200s (not retried)",
                            why);
    }
    rc = hs_oauth_jwt_bearer(src->token_url, jwt, src->timeout_ms, token, lifetime_s, err);
    hs_free_secret(jwt);
    return rc;
}

/* The access token for config's service account, cached or fetched. */
static int access_token(const json_t *config, uint64_t now_ms, char **token, hs_error *err) {
    json_t *sa = service_account(config);
    token_src src = {.token_url = token_url_of(config),
                     .email = hs_jv_str(sa, "client_email"),
                     .private_key = hs_jv_str(sa, "private_key"),
                     .kid = hs_jv_str(sa, "private_key_id"),
                     .now_s = now_ms / 1000,
                     .timeout_ms = timeout_of(config)};
    int rc;
    if (!src.email || !src.private_key) {
        rc = hs_error_set(err, HS_ERR_PERMANENT, "config.service_account_json",
                          "has no client_email or private_key (not retried)");
    } else {
        char *key = cache_key(src.token_url, src.email, src.private_key);
        rc = hs_oauth_token_get(key, fetch_token, &src, token, err);
        hs_free(key);
    }
    json_decref(sa);
    return rc;
}

/* Percent-encodes every byte outside RFC 3986's unreserved set: topic ids
 * may hold '%' and '+', which must reach Pub/Sub as themselves. */
static int append_segment(hs_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    int rc = HS_OK;
    for (; *s && rc == HS_OK; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c)) {
            rc = hs_buf_append(b, s, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = hs_buf_append(b, esc, 3);
        }
    }
    return rc;
}

/* {endpoint}/v1/projects/{project_id}/topics/{topic_id}:publish */
static char *publish_url(const json_t *config) {
    const char *base = hs_jv_str(config, "endpoint");
    if (!base) base = DEFAULT_ENDPOINT;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    hs_buf u;
    hs_buf_init(&u, HS_URL_MAX + 1024);
    int rc = hs_buf_append(&u, base, n);
    if (rc == HS_OK) rc = hs_buf_appends(&u, "/v1/projects/");
    if (rc == HS_OK) rc = append_segment(&u, hs_jv_str(config, "project_id"));
    if (rc == HS_OK) rc = hs_buf_appends(&u, "/topics/");
    if (rc == HS_OK) rc = append_segment(&u, hs_jv_str(config, "topic_id"));
    if (rc == HS_OK) rc = hs_buf_appends(&u, ":publish");
    char *url = rc == HS_OK ? hs_buf_detach(&u, NULL) : NULL;
    hs_buf_free(&u);
    return url;
}

/* {"messages":[{"data": base64(payload), "attributes": {event_id, source_id}}]}
 */
static char *publish_body(const hs_delivery_ctx *ctx) {
    char *data = hs_base64_encode(ctx->payload ? ctx->payload : "", ctx->payload_len);
    json_t *attrs = json_pack("{s:s}", "event_id", ctx->event_id);
    if (ctx->source_id && ctx->source_id[0]) json_object_set_new(attrs, "source_id", json_string(ctx->source_id));
    json_t *doc = json_pack("{s:[{s:s, s:o}]}", "messages", "data", data, "attributes", attrs);
    hs_free(data);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

static int build(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    const json_t *config = json_object_get(ctx->destination, "config");
    char *url = publish_url(config);
    if (!url) return hs_error_set(err, HS_ERR_PERMANENT, "config.endpoint", "%s", "the publish URL is too long");
    char *token = NULL;
    int rc = access_token(config, ctx->now_ms, &token, err);
    if (rc != HS_OK) {
        hs_free(url);
        return rc;
    }
    char *auth = hs_sprintf("Bearer %s", token);
    hs_free_secret(token);
    req->method = hs_strdup("POST");
    req->url = url;
    req->body = publish_body(ctx);
    req->body_len = strlen(req->body);
    req->timeout_ms = timeout_of(config);
    rc = hs_out_req_add_header(req, "Authorization", auth, true);
    hs_free_secret(auth);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "Content-Type", "application/json", false);
    if (rc == HS_OK) rc = hs_out_req_add_header(req, "User-Agent", "hookstream/" HS_VERSION, false);
    return rc ? hs_error_set(err, rc, NULL, "%s", "too many headers") : HS_OK;
}

/* Google's error answer: {"error":{"code","message","status"}}. */
static void error_of(const hs_out_resp *resp, char *status, size_t scap, char *msg, size_t mcap) {
    status[0] = msg[0] = '\0';
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const json_t *e = json_object_get(doc, "error");
    const char *s = hs_jv_str(e, "status"), *m = hs_jv_str(e, "message");
    if (s) snprintf(status, scap, "%s", s);
    if (m) snprintf(msg, mcap, "%s", m);
    json_decref(doc);
}

/* Worth another try: overload, server faults, aborted transactions. */
static bool retryable(int status) { return status >= 500 || status == 429 || status == 408 || status == 409; }

/* 200 with messageIds: published. 401: the token went stale or was
 * revoked; drop it and let the scheduler rebuild (a fresh token) and resend
 * once. 429/5xx: retry later. 400/403/404 and the other 4xx: permanent. */
static int classify(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err) {
    if (resp->status >= 200 && resp->status < 300) {
        json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
        bool ok = json_array_size(json_object_get(doc, "messageIds")) > 0;
        json_decref(doc);
        return ok ? HS_OK : hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d without messageIds", resp->status);
    }
    char status[64], msg[200];
    error_of(resp, status, sizeof status, msg, sizeof msg);
    const char *name = status[0] ? status : "(no error status)", *sep = msg[0] ? ": " : "";
    if (resp->status == 401) {
        const json_t *config = json_object_get(ctx->destination, "config");
        json_t *sa = service_account(config);
        const char *email = hs_jv_str(sa, "client_email"), *pk = hs_jv_str(sa, "private_key");
        if (email && pk) {
            char *key = cache_key(token_url_of(config), email, pk);
            hs_oauth_token_drop(key, resp->duration_ms);
            hs_free(key);
        }
        json_decref(sa);
        return hs_error_set(err, HS_ERR_AGAIN, NULL, "HTTP 401 %s%s%s (token refreshed once)", name, sep, msg);
    }
    bool retry = retryable(resp->status);
    return hs_error_set(err, retry ? HS_ERR_IO : HS_ERR_PERMANENT, NULL, "HTTP %d %s%s%s%s", resp->status, name, sep,
                        msg, retry ? "" : " (not retried)");
}

const hs_provider hs_provider_gcp_pubsub = {.type = "gcp_pubsub",
                                            .alias = "pubsub",
                                            .validate = validate,
                                            .secret_paths = secrets,
                                            .build = build,
                                            .classify = classify,
                                            .slow_build = true};
