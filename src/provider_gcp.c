/* provider_gcp.c — Google Cloud Pub/Sub: a service account's RS256 JWT is
 * exchanged for an OAuth2 token, then topics.publish. */
#include <string.h>

#include "alloc.h"
#include "jsonv.h"
#include "provider.h"

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
                            "must be the service account key file: a JSON object or a string holding one");
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
    HS_JV_END,
};
/* clang-format on */

static int validate(json_t *config, hs_error *err) { return hs_jv_object(config, "config", fields, err); }

static const char *const secrets[] = {"service_account_json", NULL};

const hs_provider hs_provider_gcp_pubsub = {
    .type = "gcp_pubsub", .alias = "pubsub", .validate = validate, .secret_paths = secrets};
