/* src/core/resource.c — sources, destinations and connections as validated docs.
 *
 * Each kind is a jsonv spec (below); create = aliases normalized, read-only
 * fields refused, spec applied to a copy of the body. Patch = the same
 * normalization on the patch, an RFC 7386 merge onto the current doc and the
 * create-time validation of the result, so a patched doc is exactly as valid
 * as a created one and removed fields get their defaults back.
 */
#include "rules/filter.h"
#include "rules/transform.h"
#include "core/resource.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/cidr.h"
#include "base/jsonv.h"
#include "http/outbound.h"
#include "providers/provider.h"
#include "base/secretbox.h"
#include "base/timeutil.h"
#include "core/templates.h"
#include "jsonschema/jsonschema.h"
#include "verify/verify.h"

#define INVALID(path, ...) hs_error_set(err, HS_ERR_INVALID, (path), __VA_ARGS__)
#define MASK "********"

/* ---- kinds ---- */

static const struct {
    const char *name, *plural, *prefix;
} kinds[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] = {"source", "sources", "src_"},
    [HS_KIND_DESTINATION] = {"destination", "destinations", "dst_"},
    [HS_KIND_CONNECTION] = {"connection", "connections", "conn_"},
};

static bool kind_ok(hs_kind kind) { return (unsigned)kind < HS_KIND_COUNT; }
const char *hs_kind_name(hs_kind kind) { return kind_ok(kind) ? kinds[kind].name : "resource"; }
const char *hs_kind_plural(hs_kind kind) { return kind_ok(kind) ? kinds[kind].plural : "resources"; }
const char *hs_kind_id_prefix(hs_kind kind) { return kind_ok(kind) ? kinds[kind].prefix : ""; }

/* ---- fields every kind shares ---- */

static const char *const statuses[] = {"active", "paused", "disabled", NULL};

/* Names are shown in lists and logs: printable, and not padded, so that
 * "prod" and "prod " cannot both exist and confuse people. */
/* clang-format off */
#define NAME_FIELD(fl)                                                                                           \
    {.name = "name", .type = HS_JV_STRING, .flags = (fl) | HS_JV_TRIMMED | HS_JV_NO_CTL, .min = 1, .max = 200, \
     .dflt = "null"}
/* no '_': a slug can never be mistaken for an id ("src_...") */
#define SLUG_FIELD {.name = "slug", .type = HS_JV_STRING, .min = 1, .max = 64, .charset = "a-z0-9-", .dflt = "null"}
#define DESCRIPTION_FIELD {.name = "description", .type = HS_JV_STRING, .max = 2000, .dflt = "null"}
#define STATUS_FIELD HS_JV_ENUM("status", statuses, "\"active\"")

/* clang-format on */

/* ---- sources: the front door (docs/api.md "The front door") ---- */

/* An address or CIDR block; written back in its canonical form
 * ("2001:DB8::/32" -> "2001:db8::/32"). A block with host bits set is
 * refused (src/base/cidr.h says why). */
static int check_ip_entry(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *text = json_string_value(value);
    hs_cidr c;
    char why[HS_CIDR_WHY_MAX];
    if (!hs_cidr_parse(text, &c, why)) return INVALID(at->path, "\"%s\" %s", text, why);
    char canon[HS_CIDR_TEXT_MAX];
    hs_cidr_format(&c, canon);
    if (strcmp(canon, text) != 0) hs_jv_replace(at, json_string(canon));
    return HS_OK;
}

static const hs_jv_field ip_entry = {
    .type = HS_JV_STRING, .min = 1, .max = HS_CIDR_TEXT_MAX - 1, .check = check_ip_entry};
#define IP_LIST_FIELD(n)                                                                                               \
    { .name = (n), .type = HS_JV_ARRAY, .max = HS_SOURCE_IP_LIST_MAX, .items = &ip_entry, .dflt = "[]" }

/* requests_per_second: a number (fractions allowed: 0.5 is one request
 * every two seconds) from HS_RATE_LIMIT_RPS_MIN to HS_RATE_LIMIT_RPS_MAX */
static int check_rps(const hs_jv_at *at, json_t *value, hs_error *err) {
    double r = json_number_value(value);
    if (!json_is_number(value) || !(r >= HS_RATE_LIMIT_RPS_MIN && r <= HS_RATE_LIMIT_RPS_MAX))
        return INVALID(at->path, "must be a number from %g to %d", HS_RATE_LIMIT_RPS_MIN, HS_RATE_LIMIT_RPS_MAX);
    return HS_OK;
}

/* burst defaults to requests_per_second rounded up: one second's worth */
static json_t *default_burst(const json_t *limit) {
    double r = json_number_value(json_object_get(limit, "requests_per_second"));
    json_int_t b = (json_int_t)r;
    if ((double)b < r) b++;
    return json_integer(b < 1 ? 1 : b);
}

/* ---- sources: signature verification (docs/verification.md) ---- */

static int check_source_template(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (hs_verify_template_find(json_string_value(value))) return HS_OK;
    return INVALID(at->path, "is not a source template: GET /v1/source-templates lists them");
}

static const hs_verify_template *source_template(const json_t *src) {
    return hs_verify_template_find(hs_jv_str(src, "template"));
}

/* verification_type as given, else the template's */
static const char *effective_type(const json_t *src) {
    const char *type = hs_jv_str(src, "verification_type");
    const hs_verify_template *t = source_template(src);
    return type ? type : t ? t->type : NULL;
}

/* a template that verifies turns verification on */
static json_t *default_verify_enabled(const json_t *src) {
    const hs_verify_template *t = source_template(src);
    return json_boolean(t && strcmp(t->type, "none") != 0);
}

static json_t *default_verify_type(const json_t *src) {
    const hs_verify_template *t = source_template(src);
    return t ? json_string(t->type) : json_null();
}

/* the template's header where it uses this scheme, else the scheme's own
 * (none for schemes with fixed headers) */
static json_t *default_verify_header(const json_t *src) {
    const char *type = effective_type(src);
    const hs_verify_scheme *s = hs_verify_scheme_find(type);
    const hs_verify_template *t = source_template(src);
    if (!s || !hs_verify_scheme_header(s)) return json_null();
    if (t && t->header && strcmp(t->type, type) == 0) return json_string(t->header);
    return json_string(hs_verify_scheme_header(s));
}

static int check_verify_type(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (hs_verify_scheme_find(json_string_value(value))) return HS_OK;
    char list[256];
    hs_verify_scheme_list(list, sizeof list);
    return INVALID(at->path, "must be one of: %s", list);
}

static int check_secret_for(hs_verify_key_kind kind, const json_t *secret, const char *path, hs_error *err) {
    char why[160];
    if (!json_is_string(secret) || hs_verify_secret_ok(kind, json_string_value(secret), why, sizeof why)) return HS_OK;
    return INVALID(path, "%s", why);
}

/* Rules across the verification fields, each valid on its own by now (the
 * check of verification_config, the last of them). */
static int check_verification(const hs_jv_at *at, json_t *config, hs_error *err) {
    const json_t *src = at->parent;
    const char *type = effective_type(src);
    const hs_verify_scheme *s = hs_verify_scheme_find(type);
    if (s && !hs_verify_scheme_header(s) && hs_jv_str(src, "verification_header"))
        return INVALID("verification_header", "does not apply to %s, which reads its own headers", type);
    if (s && !hs_verify_scheme_takes_format(s)) {
        if (json_object_get(config, "encoding"))
            return INVALID("verification_config.encoding",
                           "applies to hmac_sha256 and hmac_sha1 only (%s has its "
                           "own)",
                           type);
        if (json_object_get(config, "prefix"))
            return INVALID("verification_config.prefix", "applies to hmac_sha256 and hmac_sha1 only (%s has its own)",
                           type);
    }
    if (s && !hs_verify_scheme_has_timestamp(s) && json_object_get(config, "tolerance_s"))
        return INVALID("verification_config.tolerance_s", "does not apply to %s, which signs no timestamp", type);
    const json_t *secret = json_object_get(src, "verification_secret");
    const json_t *more = json_object_get(src, "verification_secrets");
    if (json_is_null(secret)) secret = NULL;
    if (json_array_size(more) && !secret)
        return INVALID("verification_secrets", "holds the other secrets accepted during a rotation: "
                                               "verification_secret is required with it");
    if (!json_is_true(json_object_get(src, "verification_enabled"))) return HS_OK;
    if (!s) {
        char list[256];
        hs_verify_scheme_list(list, sizeof list);
        return INVALID("verification_type",
                       "is required when verification_enabled is true (or give a template): "
                       "one of %s",
                       list);
    }
    hs_verify_key_kind kind = hs_verify_scheme_key(s);
    if (kind == HS_VERIFY_KEY_NONE) return HS_OK;
    if (!secret) return INVALID("verification_secret", "is required when verification_enabled is true (%s)", type);
    int rc = check_secret_for(kind, secret, "verification_secret", err);
    size_t i;
    const json_t *one;
    json_array_foreach(more, i, one) {
        char path[HS_JV_PATH_MAX];
        hs_jv_path_index(path, "verification_secrets", i);
        if (rc == HS_OK) rc = check_secret_for(kind, one, path, err);
    }
    return rc;
}

/* ---- sources: the body's JSON Schema (docs/api.md "JSON Schema") ---- */

/* An object (or boolean) schema, or its JSON text (kept parsed), that
 * compiles: a schema error is a 400 now, naming where in the schema. */
static int check_json_schema(const hs_jv_at *at, json_t *value, hs_error *err) {
    json_t *parsed = NULL, *schema = value;
    if (json_is_string(value)) {
        json_error_t je;
        parsed = json_loads(json_string_value(value), JSON_DECODE_ANY, &je);
        if (!parsed) return INVALID(at->path, "is not valid JSON text: %s (line %d)", je.text, je.line);
        schema = parsed;
    }
    int rc = HS_OK;
    hs_jsonschema *compiled = NULL;
    hs_jsonschema_error e;
    if (!json_is_object(schema) && !json_is_boolean(schema))
        rc = INVALID(at->path, "must be a JSON Schema: an object, or its JSON text");
    else if (hs_jsonschema_compile(schema, NULL, &compiled, &e) != HS_JSONSCHEMA_OK)
        rc = INVALID(at->path, "is not a schema this server can use: %s%s%s%s", e.path[0] ? "at " : "", e.path,
                     e.path[0] ? ": " : "", e.message);
    hs_jsonschema_free(compiled);
    if (rc == HS_OK && parsed) {
        hs_jv_replace(at, parsed);
        parsed = NULL;
    }
    json_decref(parsed);
    return rc;
}

/* reject (422) or warn (stored, delivered, marked schema_invalid). */
static int check_schema_action(const hs_jv_at *at, json_t *value, hs_error *err) {
    (void)value;
    const json_t *src = at->parent;
    const json_t *schema = json_object_get(src, "json_schema");
    if (json_is_true(json_object_get(src, "schema_validation_enabled")) && (!schema || json_is_null(schema)))
        return INVALID("json_schema", "is required when schema_validation_enabled is true");
    return HS_OK;
}

static const char *const schema_actions[] = {"reject", "warn", NULL};

#define SCHEMA_FIELDS                                                                                                  \
    HS_JV_BOOLEAN("schema_validation_enabled", "false"),                                                               \
        {.name = "json_schema", .type = HS_JV_ANY, .dflt = "null", .check = check_json_schema}, {                      \
        .name = "schema_action", .type = HS_JV_STRING, .choices = schema_actions, .dflt = "\"reject\"",                \
        .check = check_schema_action                                                                                   \
    }

/* ---- sources: deduplication (docs/receiving.md "Deduplication") ---- */

/* The last of the dedup fields: the strategy's field, once every member
 * is there. header_field names a header; body_field a dot path of
 * non-empty names (a number indexes an array). */
static int check_dedup(const hs_jv_at *at, json_t *value, hs_error *err) {
    (void)value;
    const json_t *src = at->parent;
    const char *strategy = hs_jv_str(src, "dedup_strategy");
    const char *field = hs_jv_str(src, "dedup_field");
    bool needs_field = strategy && strcmp(strategy, "payload_hash") != 0;
    if (!json_is_true(json_object_get(src, "dedup_enabled")) || !needs_field) return HS_OK;
    if (!field) return INVALID("dedup_field", "is required when dedup_strategy is %s", strategy);
    if (strcmp(strategy, "header_field") == 0) {
        hs_jv_at f = {.parent = (json_t *)src, .key = "dedup_field", .path = "dedup_field"};
        return hs_jv_check_header_name(&f, json_object_get(src, "dedup_field"), err);
    }
    size_t len = strlen(field);
    if (field[0] == '.' || field[len - 1] == '.' || strstr(field, ".."))
        return INVALID("dedup_field", "must be a dot path into the body, like data.id (no empty names)");
    return HS_OK;
}

static const char *const dedup_strategies[] = {"payload_hash", "header_field", "body_field", NULL};

#define DEDUP_FIELDS                                                                                                   \
    HS_JV_BOOLEAN("dedup_enabled", "false"), HS_JV_ENUM("dedup_strategy", dedup_strategies, "\"payload_hash\""),       \
        {.name = "dedup_field", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .min = 1, .max = 256, .dflt = "null"}, {  \
        .name = "dedup_window_seconds", .type = HS_JV_INT, .min = 1, .max = 604800, .dflt = "300",                     \
        .check = check_dedup                                                                                           \
    }

static const char *const encodings[] = {"hex", "base64", NULL};
static const hs_jv_field verify_secret_item = {.type = HS_JV_STRING, .min = 1, .max = HS_VERIFY_SECRET_MAX};

/* clang-format off */
static const hs_jv_field verification_config_spec[] = {
    {.name = "encoding", .type = HS_JV_STRING, .choices = encodings},
    {.name = "prefix", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .max = 64},
    {.name = "tolerance_s", .type = HS_JV_INT, .min = 0, .max = HS_VERIFY_TOLERANCE_MAX},
    HS_JV_END,
};

#define VERIFICATION_FIELDS                                                                                       \
    {.name = "template", .type = HS_JV_STRING, .max = 64, .dflt = "null", .check = check_source_template},        \
    {.name = "verification_enabled", .type = HS_JV_BOOL, .derive = default_verify_enabled},                       \
    {.name = "verification_type", .type = HS_JV_STRING, .max = 64, .derive = default_verify_type,                 \
     .check = check_verify_type},                                                                                 \
    {.name = "verification_secret", .type = HS_JV_STRING, .min = 1, .max = HS_VERIFY_SECRET_MAX, .dflt = "null"}, \
    {.name = "verification_secrets", .type = HS_JV_ARRAY, .max = HS_VERIFY_SECRETS_MAX - 1,                       \
     .items = &verify_secret_item, .dflt = "null"},                                                               \
    {.name = "verification_header", .type = HS_JV_STRING, .min = 1, .max = 256, .derive = default_verify_header,  \
     .check = hs_jv_check_header_name},                                                                           \
    {.name = "verification_config", .type = HS_JV_OBJECT, .fields = verification_config_spec, .dflt = "{}",       \
     .check = check_verification}

static const hs_jv_field rate_limit_spec[] = {
    {.name = "requests_per_second", .type = HS_JV_ANY, .flags = HS_JV_REQUIRED, .check = check_rps},
    {.name = "burst", .type = HS_JV_INT, .min = 1, .max = HS_RATE_LIMIT_BURST_MAX, .derive = default_burst},
    HS_JV_END,
};

static const hs_jv_field source_spec[] = {
    NAME_FIELD(HS_JV_REQUIRED), SLUG_FIELD, DESCRIPTION_FIELD, STATUS_FIELD,
    IP_LIST_FIELD("ip_allowlist"), IP_LIST_FIELD("ip_denylist"),
    {.name = "rate_limit", .type = HS_JV_OBJECT, .fields = rate_limit_spec, .dflt = "null"},
    VERIFICATION_FIELDS,
    SCHEMA_FIELDS,
    DEDUP_FIELDS,
    HS_JV_END,
};
/* clang-format on */

/* ---- destinations ---- */

static const char *const backoffs[] = {"exponential", "linear", "fixed", NULL};
/* a retry at most a week after the previous attempt */
static const hs_jv_field interval_item = {.type = HS_JV_INT, .min = 1, .max = 604800};

/* clang-format off */
static const hs_jv_field retry_spec[] = {
    HS_JV_INTR("max_retries", 0, 20, "5"),
    HS_JV_ENUM("backoff_type", backoffs, "\"exponential\""),
    {.name = "intervals", .type = HS_JV_ARRAY, .min = 1, .max = 20, .items = &interval_item,
     .dflt = "[30,300,1800,7200,86400]"},
    HS_JV_END,
};
/* clang-format on */

/* threshold: 1..1000 consecutive failures (1 = open on the first failure);
 * cooldown_ms: 1 s .. 24 h, shorter hammers a failing endpoint, longer
 * leaves a recovered one idle for more than a day. */
/* clang-format off */
static const hs_jv_field circuit_spec[] = {
    HS_JV_BOOLEAN("enabled", "true"),
    HS_JV_INTR("threshold", 1, 1000, "5"),
    HS_JV_INTR("cooldown_ms", 1000, 86400000, "60000"),
    HS_JV_END,
};
/* clang-format on */

static const char *const algorithms[] = {"sha256", "sha1", NULL};
static const char *const schemes[] = {"hookstream", "standard_webhooks", NULL};

/* An ISO 8601 time (or ms since the epoch), stored as ISO 8601 UTC. */
static int check_expiry(const hs_jv_at *at, json_t *value, hs_error *err) {
    uint64_t ms;
    if (!hs_parse_time(json_string_value(value), &ms)) return INVALID(at->path, "must be an ISO 8601 time");
    char iso[HS_ISO8601_MAX];
    hs_iso8601(ms, iso);
    hs_jv_replace(at, json_string(iso));
    return HS_OK;
}

static json_t *default_prefix(const json_t *signing) {
    const char *alg = hs_jv_str(signing, "algorithm");
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%s=", alg ? alg : "sha256");
    return json_string(prefix);
}

/* clang-format off */
static const hs_jv_field signing_spec[] = {
    HS_JV_STR("secret", HS_JV_REQUIRED | HS_JV_NO_CTL, 16, 1024),
    HS_JV_ENUM("algorithm", algorithms, "\"sha256\""),
    HS_JV_HEADER_NAME("header", "\"X-hookstream-Signature\""),
    {.name = "prefix", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .max = 64, .derive = default_prefix},
    HS_JV_BOOLEAN("include_timestamp", "false"),
    HS_JV_HEADER_NAME("timestamp_header", "\"X-hookstream-Signature-Timestamp\""),
    HS_JV_ENUM("scheme", schemes, "\"hookstream\""),
    /* a rotation's overlap (docs/api.md "Rotating a signing secret"): the
     * old secret signs too until previous_secret_expires_at */
    HS_JV_STR("previous_secret", HS_JV_NO_CTL, 16, 1024),
    {.name = "previous_secret_expires_at", .type = HS_JV_STRING, .max = 64, .check = check_expiry},
    HS_JV_END,
};
/* clang-format on */

/* Standard Webhooks: "whsec_" + base64 of the HMAC key. */
static bool valid_whsec(const char *secret) {
    if (strncmp(secret, "whsec_", 6) != 0) return false;
    size_t len = 0;
    unsigned char *key = hs_base64_decode(secret + 6, strlen(secret + 6), &len);
    if (!key) return false;
    OPENSSL_cleanse(key, len);
    hs_free(key);
    return len >= 16;
}

/* Rules across signing's members, after each is valid on its own. */
static int check_signing(const hs_jv_at *at, json_t *signing, hs_error *err) {
    char path[HS_JV_PATH_MAX];
    if (strcasecmp(hs_jv_str(signing, "header"), hs_jv_str(signing, "timestamp_header")) == 0) {
        hs_jv_path_key(path, at->path, "timestamp_header");
        return INVALID(path, "must differ from header");
    }
    int rc = hs_jv_together(signing, at->path, "previous_secret", "previous_secret_expires_at", err);
    if (rc) return rc;
    if (strcmp(hs_jv_str(signing, "scheme"), "standard_webhooks") != 0) return HS_OK;
    if (strcmp(hs_jv_str(signing, "algorithm"), "sha256") != 0) {
        hs_jv_path_key(path, at->path, "algorithm");
        return INVALID(path, "must be sha256 for the standard_webhooks scheme");
    }
    static const char *const keys[] = {"secret", "previous_secret"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = hs_jv_str(signing, keys[i]);
        if (i == 1 && !v) break;
        if (!valid_whsec(v)) {
            hs_jv_path_key(path, at->path, keys[i]);
            return INVALID(path, "must be \"whsec_\" followed by the base64 of at least 16 bytes for the "
                                 "standard_webhooks scheme");
        }
    }
    return HS_OK;
}

/* The template itself was expanded at create (hs_template_expand); the doc
 * keeps its name, for template_inputs and for people reading it. */
static int check_template(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (hs_template_find(json_string_value(value))) return HS_OK;
    return INVALID(at->path, "is not a template: GET /v1/destination-templates lists them");
}

static int check_template_inputs(const hs_jv_at *at, json_t *value, hs_error *err) {
    return hs_template_check_inputs(hs_jv_str(at->parent, "template"), value, at->path, err);
}

/* {} for a template's destination, so that its required inputs are checked */
static json_t *default_inputs(const json_t *dest) { return hs_jv_str(dest, "template") ? json_object() : json_null(); }

/* "http, aws_sqs, ... (aliases: sqs, ...)" for the error message */
static void list_types(char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int aliases = 0; aliases < 2; aliases++) {
        const char *sep = aliases ? " (aliases: " : "";
        for (const hs_provider *const *p = hs_provider_all(); *p; p++) {
            const char *name = aliases ? (*p)->alias : (*p)->type;
            if (!name) continue;
            int w = snprintf(out + len, cap - len, "%s%s", sep, name);
            if (w < 0 || (size_t)w >= cap - len) return;
            len += (size_t)w;
            sep = ", ";
        }
    }
    snprintf(out + len, cap - len, ")");
}

static int check_type(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *type = json_string_value(value);
    const hs_provider *p = hs_provider_find(type);
    if (!p) {
        char list[256];
        list_types(list, sizeof list);
        return INVALID(at->path, "must be one of: %s", list);
    }
    if (strcmp(p->type, type) != 0) hs_jv_replace(at, json_string(p->type));
    return HS_OK;
}

/* type precedes config in the spec, so it is valid and canonical here */
static int check_config(const hs_jv_at *at, json_t *config, hs_error *err) {
    return hs_provider_find(hs_jv_str(at->parent, "type"))->validate(config, err);
}

/* A transform is compiled when saved, so that a syntax error is a 400 now,
 * not a failed delivery later. */
static int check_transform(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (json_string_length(value) == 0) {
        hs_jv_replace(at, json_null());
        return HS_OK;
    }
    return hs_transform_compile(json_string_value(value), at->path, NULL, err);
}

#define TRANSFORM_FIELD                                                                                                \
    { .name = "transform", .type = HS_JV_STRING, .max = 65536, .dflt = "null", .check = check_transform }

static const char *const orderings[] = {"best_effort", "strict", NULL};

/* clang-format off */
static const hs_jv_field destination_spec[] = {
    /* first: a template would supply fields that are otherwise "missing" */
    {.name = "template", .type = HS_JV_STRING, .max = 64, .dflt = "null", .check = check_template},
    {.name = "template_inputs", .type = HS_JV_ANY, .derive = default_inputs, .check = check_template_inputs},
    NAME_FIELD(HS_JV_REQUIRED),
    SLUG_FIELD,
    DESCRIPTION_FIELD,
    STATUS_FIELD,
    {.name = "type", .type = HS_JV_STRING, .max = 32, .dflt = "\"http\"", .check = check_type},
    {.name = "config", .type = HS_JV_OBJECT, .dflt = "{}", .check = check_config},
    {.name = "retry_policy", .type = HS_JV_OBJECT, .dflt = "{}", .fields = retry_spec},
    {.name = "circuit_breaker", .type = HS_JV_OBJECT, .dflt = "{}", .fields = circuit_spec},
    {.name = "signing", .type = HS_JV_OBJECT, .dflt = "null", .fields = signing_spec, .check = check_signing},
    HS_JV_INTR("max_concurrency", 1, 64, "1"),
    HS_JV_ENUM("ordering", orderings, "\"best_effort\""),
    TRANSFORM_FIELD,
    HS_JV_END,
};
/* clang-format on */

/* ---- connections ---- */

/* src/rules/filter.c checks the rules (and compiles them when routes are loaded). */
static int check_filter_rules(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (json_is_array(value) && json_array_size(value) == 0) {
        hs_jv_replace(at, json_null());
        return HS_OK;
    }
    return hs_filter_compile(value, at->path, NULL, err);
}

/* clang-format off */
static const hs_jv_field connection_spec[] = {
    NAME_FIELD(0),
    {.name = "source_id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .max = 64, .check = hs_jv_check_id,
     .arg = "src_"},
    {.name = "destination_id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .max = 64, .check = hs_jv_check_id,
     .arg = "dst_"},
    HS_JV_BOOLEAN("enabled", "true"),
    DESCRIPTION_FIELD,
    {.name = "filter_rules", .type = HS_JV_ANY, .dflt = "null", .check = check_filter_rules},
    TRANSFORM_FIELD,
    HS_JV_END,
};
/* clang-format on */

static const hs_jv_field *const specs[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] = source_spec,
    [HS_KIND_DESTINATION] = destination_spec,
    [HS_KIND_CONNECTION] = connection_spec,
};

/* ---- aliases ---- */

/* Every other name a field is accepted under (docs/api.md "Aliases"): the
 * original product's names and this project's older ones. Each is moved to
 * its canonical path before validation, so it passes exactly the checks of
 * the field it names, and a doc holds canonical names only. This table is
 * the whole list; entries apply in its order (provider_config before the
 * config.* entries that may sit in it, auth_config before auth_type, the
 * retry counts before retry_enabled).
 *
 * A rename (no convert, or one that only converts the value) and its
 * canonical field, or two names of one field, may not both be given: 400
 * naming both, whatever their values. A switch (retry_enabled,
 * transform_enabled) says something about its canonical field, so both may
 * be given if they agree. A null alias is a null canonical field (PATCH:
 * back to the default). */

enum { ALIAS_SET, ALIAS_SKIP, ALIAS_CONFLICT, ALIAS_BAD };

/* value: the alias's value, never null. given: the canonical field in the
 * same body (switches only; NULL for a rename or when absent). stored: the
 * canonical field in the doc being patched (NULL on create). Returns
 * ALIAS_SET with *out (a new reference) the canonical value, ALIAS_SKIP
 * (nothing to set), ALIAS_CONFLICT (disagrees with given) or ALIAS_BAD
 * (value is not what the entry's expects says). */
typedef int (*alias_convert)(const json_t *value, const json_t *given, const json_t *stored, json_t **out);

/* timeout: seconds, possibly fractional -> timeout_ms */
static int seconds_to_ms(const json_t *value, const json_t *given, const json_t *stored, json_t **out) {
    (void)given, (void)stored;
    if (!json_is_number(value)) return ALIAS_BAD;
    double s = json_number_value(value);
    if (s > 1e9) s = 1e9; /* out of timeout_ms's range either way */
    if (s < -1e9) s = -1e9;
    *out = json_integer((json_int_t)(s * 1000 + (s < 0 ? -0.5 : 0.5)));
    return ALIAS_SET;
}

static bool is_zero(const json_t *v) { return json_is_integer(v) && json_integer_value(v) == 0; }

/* retry_enabled: false = max_retries 0; true = retries, so max_retries
 * other than 0: as given, else as stored, else (stored 0 or none) the
 * default. */
static int retry_switch(const json_t *value, const json_t *given, const json_t *stored, json_t **out) {
    if (!json_is_boolean(value)) return ALIAS_BAD;
    if (json_is_false(value)) {
        if (given && !is_zero(given)) return ALIAS_CONFLICT;
        *out = json_integer(0);
        return ALIAS_SET;
    }
    if (given) return is_zero(given) ? ALIAS_CONFLICT : ALIAS_SKIP;
    if (!is_zero(stored)) return ALIAS_SKIP;
    *out = json_null();
    return ALIAS_SET;
}

/* transform_enabled: false = no transform (the expression is not kept);
 * true says nothing the transform itself does not. */
static int transform_switch(const json_t *value, const json_t *given, const json_t *stored, json_t **out) {
    (void)stored;
    if (!json_is_boolean(value)) return ALIAS_BAD;
    if (json_is_true(value)) return ALIAS_SKIP;
    if (given && !json_is_null(given) && json_string_length(given) != 0) return ALIAS_CONFLICT;
    *out = json_null();
    return ALIAS_SET;
}

/* Kafka bootstrap_servers "host:9092,host2:9092" -> the Confluent REST
 * endpoint on the first host: https://host:443/kafka (DESIGN §5). */
static int kafka_rest_url(const json_t *value, const json_t *given, const json_t *stored, json_t **out) {
    (void)given, (void)stored;
    const char *s = json_string_value(value);
    if (!s) return ALIAS_BAD;
    while (*s == ' ') s++;
    size_t n = strcspn(s, ",");
    const char *scheme = strstr(s, "://"); /* SASL_SSL://host:9092 */
    if (scheme && (size_t)(scheme - s) < n) {
        n -= (size_t)(scheme + 3 - s);
        s = scheme + 3;
    }
    size_t host = s[0] == '[' ? strcspn(s, "]") + 1 : strcspn(s, ":,");
    if (host > n) host = n;
    while (host > 0 && s[host - 1] == ' ') host--;
    const char *set = s[0] == '[' ? "[]0-9a-fA-F:." : "A-Za-z0-9.-";
    if (host == 0 || host > 255 || !hs_jv_in_charset(s, host, set)) return ALIAS_BAD;
    char url[300];
    snprintf(url, sizeof url, "https://%.*s:443/kafka", (int)host, s);
    *out = json_string(url);
    return ALIAS_SET;
}

#define K_SRC (1u << HS_KIND_SOURCE)
#define K_DST (1u << HS_KIND_DESTINATION)
#define K_CONN (1u << HS_KIND_CONNECTION)
#define K_ALL (K_SRC | K_DST | K_CONN)

typedef struct alias {
    unsigned kinds;        /* K_* of the kinds that accept it */
    const char *name;      /* where the alias sits: "max_retries", "config.bootstrap_servers" */
    const char *canonical; /* where its value goes; NULL: accepted and ignored */
    const char *type;      /* destinations of this type only; NULL: any */
    alias_convert convert; /* NULL: the value as it is */
    const char *expects;   /* what convert takes, for its 400 */
    bool is_switch;        /* may agree with a given canonical field (above) */
} alias;

/* The aliases of a destination type's name (sqs, s3, eventbridge, pubsub)
 * are values, not fields: the provider table has them (hs_provider.alias,
 * check_type above). */
/* clang-format off */
static const alias aliases[] = {
    /* kinds  alias                        canonical                      type     convert, expects, switch */
    {K_ALL,  "org_id",                     NULL},                         /* one tenant: ignored */
    {K_ALL,  "env_id",                     NULL},
    {K_DST,  "provider_config",            "config"},
    {K_DST,  "url",                        "config.url",                  "http"},
    {K_DST,  "method",                     "config.method",               "http"},
    {K_DST,  "headers",                    "config.headers",              "http"},
    {K_DST,  "timeout_ms",                 "config.timeout_ms",           "http"},
    {K_DST,  "timeout",                    "config.timeout_ms",           "http",  seconds_to_ms,
     "a number of seconds"},
    {K_DST,  "auth_config",                "config.auth",                 "http"},
    {K_DST,  "auth_type",                  "config.auth.type",            "http"},
    {K_DST,  "config.bootstrap_servers",   "config.rest_url",             "kafka", kafka_rest_url,
     "a string of host:port, comma-separated"},
    {K_DST,  "max_retries",                "retry_policy.max_retries"},   /* the seed's flat names */
    {K_DST,  "backoff_type",               "retry_policy.backoff_type"},
    {K_DST,  "intervals",                  "retry_policy.intervals"},
    {K_DST,  "retry_max_attempts",         "retry_policy.max_retries"},
    {K_DST,  "retry_backoff_type",         "retry_policy.backoff_type"},
    {K_DST,  "retry_intervals",            "retry_policy.intervals"},
    {K_DST,  "retry_enabled",              "retry_policy.max_retries",    NULL,    retry_switch,
     "a boolean", true},
    {K_DST,  "circuit_breaker_enabled",    "circuit_breaker.enabled"},
    {K_DST,  "circuit_breaker_threshold",  "circuit_breaker.threshold"},
    {K_DST,  "circuit_breaker_reset_ms",   "circuit_breaker.cooldown_ms"},
    {K_DST,  "signing_config",             "signing"},
    {K_CONN, "transform_expression",       "transform"},
    {K_CONN, "transform_enabled",          "transform",                   NULL,    transform_switch,
     "a boolean", true},
};
/* clang-format on */
#define NALIASES (sizeof aliases / sizeof aliases[0])

/* Which canonical paths a body's aliases filled, so that later errors can
 * say how the client spelled them. */
typedef struct alias_trail {
    size_t n;
    const alias *used[NALIASES];
} alias_trail;

/* path as the client wrote it: the alias spelling of the longest canonical
 * prefix an alias filled ("provider_config.url" for "config.url"), or path
 * itself. */
static void spelled(const alias_trail *t, const char *path, char out[HS_JV_PATH_MAX]) {
    for (size_t i = t ? t->n : 0; i-- > 0;) {
        const char *canon = t->used[i]->canonical;
        size_t n = strlen(canon);
        if (strncmp(path, canon, n) == 0 && (path[n] == '\0' || path[n] == '.' || path[n] == '[')) {
            snprintf(out, HS_JV_PATH_MAX, "%s%s", t->used[i]->name, path + n);
            return;
        }
    }
    snprintf(out, HS_JV_PATH_MAX, "%s", path);
}

/* A validation error about a field that came from an alias says so. */
static void note_alias(const alias_trail *t, hs_error *err) {
    char as[HS_JV_PATH_MAX];
    spelled(t, err->field, as);
    size_t len = strlen(err->msg);
    if (strcmp(as, err->field) != 0 && len < sizeof err->msg)
        snprintf(err->msg + len, sizeof err->msg - len, " (given as %s)", as);
}

enum { PATH_OK, PATH_MISSING, PATH_BLOCKED };

/* The object that holds the last member of the dotted path, in *holder,
 * that member's name in key. PATH_MISSING: an object on the way is absent
 * (made, with create); PATH_BLOCKED: one is not an object (its path in
 * key). */
static int path_holder(json_t *root, const char *path, bool create, json_t **holder, char key[HS_JV_PATH_MAX]) {
    const char *seg = path, *dot;
    json_t *obj = root;
    while ((dot = strchr(seg, '.'))) {
        snprintf(key, HS_JV_PATH_MAX, "%.*s", (int)(dot - seg), seg);
        json_t *next = json_object_get(obj, key);
        if (!next && create) json_object_set_new(obj, key, next = json_object());
        if (!next) return PATH_MISSING;
        if (!json_is_object(next)) {
            snprintf(key, HS_JV_PATH_MAX, "%.*s", (int)(dot - path), path);
            return PATH_BLOCKED;
        }
        obj = next;
        seg = dot + 1;
    }
    snprintf(key, HS_JV_PATH_MAX, "%s", seg);
    *holder = obj;
    return PATH_OK;
}

/* The destination's type for type-bound aliases: the body's, else the
 * stored one, else http; NULL when the body's is not a type. */
static const char *dest_type(const json_t *body, const json_t *current) {
    const json_t *t = json_object_get(body, "type");
    if (!t && current) t = json_object_get(current, "type");
    if (!t || json_is_null(t)) return "http";
    const hs_provider *p = hs_provider_find(json_string_value(t));
    return p ? p->type : NULL;
}

static int conflict(const alias *a, const alias_trail *t, const json_t *value, const json_t *given, hs_error *err) {
    char other[HS_JV_PATH_MAX];
    spelled(t, a->canonical, other);
    if (!a->is_switch) {
        if (strcmp(other, a->canonical) == 0)
            return INVALID(a->name, "is another name for %s, which is given too: give only one of them", other);
        return INVALID(a->name, "and %s are both names for %s: give only one of them", other, a->canonical);
    }
    char *v = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT), *g = json_dumps(given, JSON_ENCODE_ANY | JSON_COMPACT);
    INVALID(a->name, "%s contradicts %s %.60s%s", v ? v : "", other, g ? g : "", g && strlen(g) > 60 ? "..." : "");
    hs_free(v);
    hs_free(g);
    return HS_ERR_INVALID;
}

/* Moves one alias present in body to its canonical path. */
static int apply_alias(const alias *a, json_t *body, const json_t *current, const char *type, alias_trail *t,
                       hs_error *err) {
    json_t *from, *holder, *value;
    char key[HS_JV_PATH_MAX], ckey[HS_JV_PATH_MAX];
    if (path_holder(body, a->name, false, &from, key) != PATH_OK || !(value = json_object_get(from, key))) return HS_OK;
    if (a->type && (!type || strcmp(type, a->type) != 0))
        return INVALID(a->name, "is another name for %s of %s destinations only (type is %s)",
                       a->canonical ? a->canonical : "nothing", a->type, type ? type : "not valid");
    json_incref(value);
    json_object_del(from, key);
    int rc = HS_OK, where = a->canonical ? path_holder(body, a->canonical, false, &holder, ckey) : PATH_MISSING;
    json_t *given = where == PATH_OK ? json_object_get(holder, ckey) : NULL, *out = NULL;
    int res = ALIAS_SKIP;
    if (where == PATH_BLOCKED) {
        char as[HS_JV_PATH_MAX];
        spelled(t, ckey, as);
        rc = INVALID(a->name, "goes to %s, but %s is not an object", a->canonical, as);
    } else if (!a->canonical) {
        res = ALIAS_SKIP;
    } else if (given && (json_is_null(value) || !a->is_switch)) {
        res = a->is_switch ? ALIAS_SKIP : ALIAS_CONFLICT;
    } else if (json_is_null(value) || !a->convert) {
        out = json_incref(value);
        res = ALIAS_SET;
    } else {
        res = a->convert(value, given, hs_jv_dig(current, a->canonical), &out);
    }
    if (rc == HS_OK && res == ALIAS_BAD) rc = INVALID(a->name, "must be %s", a->expects);
    if (rc == HS_OK && res == ALIAS_CONFLICT) rc = conflict(a, t, value, given, err);
    if (rc == HS_OK && res == ALIAS_SET) {
        path_holder(body, a->canonical, true, &holder, ckey);
        json_object_set_new(holder, ckey, out);
        t->used[t->n++] = a;
        out = NULL;
    }
    json_decref(out);
    json_decref(value);
    return rc;
}

/* Rewrites every alias in body to its canonical name (current: the doc a
 * patch applies to, or NULL). Errors found later name the canonical path
 * ("retry_policy.intervals[1]"), with the alias it was given as. */
static int normalize_aliases(hs_kind kind, json_t *body, const json_t *current, alias_trail *t, hs_error *err) {
    const char *type = kind == HS_KIND_DESTINATION ? dest_type(body, current) : NULL;
    for (size_t i = 0; i < NALIASES; i++) {
        if (!(aliases[i].kinds & (1u << kind))) continue;
        int rc = apply_alias(&aliases[i], body, current, type, t, err);
        if (rc) return rc;
    }
    return HS_OK;
}

/* ---- secrets ---- */

json_t *hs_mask_secret(const char *secret) {
    size_t n = secret ? strlen(secret) : 0;
    if (hs_jv_utf8_len(secret, n) < 12) return json_string(MASK);
    /* the last 4 characters, not bytes: half a UTF-8 sequence is not text */
    const char *tail = secret + n;
    for (int chars = 0; chars < 4;) {
        tail--;
        if (((unsigned char)*tail & 0xc0) != 0x80) chars++;
    }
    char out[sizeof MASK + 16];
    snprintf(out, sizeof out, MASK "%s", tail);
    json_t *masked = json_string(out);
    return masked ? masked : json_string(MASK);
}

/* Where a secret sits: holder[key], or holder[index] when key is NULL (an
 * item of a list of secrets). */
typedef struct slot {
    json_t *holder;
    const char *key;
    size_t index;
} slot;

static void slot_set(const slot *at, json_t *value) {
    if (at->key)
        json_object_set_new(at->holder, at->key, value);
    else
        json_array_set_new(at->holder, at->index, value);
}

/* Called for each secret string: at holds value; old is the value at the
 * same path in a second doc (or NULL); path is value's dotted path. */
typedef void (*secret_fn)(const slot *at, json_t *value, const json_t *old, const char *path, void *ud);

static void walk_secret(json_t *obj, const json_t *parent, const json_t *old, const char *sel, const char *path,
                        secret_fn fn, void *ud);

static void visit_member(json_t *obj, const json_t *old, const char *key, const char *rest, const char *path,
                         secret_fn fn, void *ud) {
    json_t *value = json_object_get(obj, key);
    const json_t *old_value = json_is_object(old) ? json_object_get(old, key) : NULL;
    char sub[HS_JV_PATH_MAX];
    hs_jv_path_key(sub, path, key);
    if (rest)
        walk_secret(value, obj, old_value, rest, sub, fn, ud);
    else if (value && !json_is_null(value))
        fn(&(slot){obj, key, 0}, value, old_value, sub, ud);
}

/* "name[]": every item of the list obj[key] */
static void visit_items(json_t *obj, const json_t *old, const char *key, const char *path, secret_fn fn, void *ud) {
    json_t *list = json_object_get(obj, key);
    const json_t *old_list = json_is_object(old) ? json_object_get(old, key) : NULL;
    char base[HS_JV_PATH_MAX], sub[HS_JV_PATH_MAX];
    hs_jv_path_key(base, path, key);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        if (json_is_null(item)) continue;
        hs_jv_path_index(sub, base, i);
        fn(&(slot){list, NULL, i}, item, json_is_array(old_list) ? json_array_get(old_list, i) : NULL, sub, ud);
    }
}

/* sel is a secret path relative to obj: "auth.token", "auth.headers.*"
 * (every member), "headers.?" (the members hs_header_secret() names, with
 * the secret_headers list beside the object: parent's), "secrets[]" (every
 * item of a list, last in a path). */
static void walk_secret(json_t *obj, const json_t *parent, const json_t *old, const char *sel, const char *path,
                        secret_fn fn, void *ud) {
    if (!json_is_object(obj)) return;
    const char *dot = strchr(sel, '.'), *rest = dot ? dot + 1 : NULL;
    size_t n = dot ? (size_t)(dot - sel) : strlen(sel);
    if (n == 1 && (sel[0] == '*' || sel[0] == '?')) {
        const json_t *listed = json_object_get(parent, "secret_headers");
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            const char *key = json_object_iter_key(it);
            if (sel[0] == '*' || hs_header_secret(key, listed)) visit_member(obj, old, key, rest, path, fn, ud);
        }
        return;
    }
    char key[64];
    if (n >= sizeof key) return;
    memcpy(key, sel, n);
    key[n] = '\0';
    if (!rest && n > 2 && strcmp(key + n - 2, "[]") == 0) {
        key[n - 2] = '\0';
        return visit_items(obj, old, key, path, fn, ud);
    }
    visit_member(obj, old, key, rest, path, fn, ud);
}

/* The secret fields of each kind, beside a destination's provider paths
 * (src/providers/provider.h secret_paths) and its template's secret inputs. Adding a
 * secret field to a kind is one entry here (and the field in its spec):
 * masking on read, PATCH keeping a read-back mask, and encryption at rest
 * all follow this list. */
static const char *const source_secrets[] = {"verification_secret", "verification_secrets[]", NULL};
static const char *const destination_secrets[] = {"signing.secret", "signing.previous_secret", NULL};
static const char *const connection_secrets[] = {NULL};
static const char *const *const kind_secrets[HS_KIND_COUNT] = {
    [HS_KIND_SOURCE] = source_secrets,
    [HS_KIND_DESTINATION] = destination_secrets,
    [HS_KIND_CONNECTION] = connection_secrets,
};

/* Every secret of a doc of this kind. */
static void for_each_secret(hs_kind kind, json_t *doc, const json_t *old, secret_fn fn, void *ud) {
    if (!kind_ok(kind)) return;
    for (const char *const *sp = kind_secrets[kind]; *sp; sp++) walk_secret(doc, NULL, old, *sp, "", fn, ud);
    if (kind != HS_KIND_DESTINATION) return;
    const hs_template *t = hs_template_find(hs_jv_str(doc, "template"));
    json_t *inputs = json_object_get(doc, "template_inputs");
    const json_t *old_inputs = json_is_object(old) ? json_object_get(old, "template_inputs") : NULL;
    for (const hs_template_input *in = t ? t->inputs : NULL; in && in->name; in++)
        if (in->secret && in->payload) walk_secret(inputs, doc, old_inputs, in->name, "template_inputs", fn, ud);
    const char *type = hs_jv_str(doc, "type");
    const hs_provider *p = hs_provider_find(type ? type : "http");
    if (!p || !p->secret_paths) return;
    json_t *config = json_object_get(doc, "config");
    const json_t *old_config = json_is_object(old) ? json_object_get(old, "config") : NULL;
    for (const char *const *sp = p->secret_paths; *sp; sp++)
        walk_secret(config, doc, old_config, *sp, "config", fn, ud);
}

static void mask_one(const slot *at, json_t *value, const json_t *old, const char *path, void *ud) {
    (void)old, (void)path, (void)ud;
    /* a non-string here would be a doc from an older version: hide it all */
    slot_set(at, hs_mask_secret(json_is_string(value) ? json_string_value(value) : NULL));
}

/* A client that PATCHes back what it read sends masked secrets: keep the
 * stored secret rather than overwrite it with its own mask. */
static void unmask_one(const slot *at, json_t *value, const json_t *old, const char *path, void *ud) {
    (void)path, (void)ud;
    if (!json_is_string(old) || !json_is_string(value)) return;
    json_t *masked = hs_mask_secret(json_string_value(old));
    if (json_equal(masked, value)) slot_set(at, json_deep_copy(old));
    json_decref(masked);
}

static void find_masked(const slot *at, json_t *value, const json_t *old, const char *path, void *ud) {
    (void)at, (void)old;
    hs_error *err = ud;
    if (err->code == HS_OK && json_is_string(value) && strncmp(json_string_value(value), MASK, strlen(MASK)) == 0)
        INVALID(path, "is a masked value as shown on read; send the secret itself");
}

/* ---- create, patch, render ---- */

/* the last three: a source's, computed on read (src/api/resources.c) */
static const char *const read_only[] = {"id",         "created_at", "updated_at", "event_count", "last_event_at",
                                        "ingest_url", NULL};

/* A copy of body with aliases resolved (current: the doc a patch applies
 * to, or NULL), or an error. */
static int prepare(hs_kind kind, const json_t *body, const json_t *current, alias_trail *t, json_t **out,
                   hs_error *err) {
    *out = NULL;
    if (!kind_ok(kind)) return hs_error_set(err, HS_ERR_INTERNAL, "", "unknown resource kind");
    if (!json_is_object(body)) return INVALID("", "the body must be a JSON object");
    for (const char *const *f = read_only; *f; f++)
        if (json_object_get(body, *f)) return INVALID(*f, "is a read-only field");
    json_t *copy = json_deep_copy(body);
    int rc = normalize_aliases(kind, copy, current, t, err);
    if (rc) {
        json_decref(copy);
        return rc;
    }
    *out = copy;
    return HS_OK;
}

static int validate(hs_kind kind, json_t *doc, const alias_trail *t, hs_error *err) {
    hs_error_clear(err);
    int rc = hs_jv_object(doc, "", specs[kind], err);
    if (rc == HS_OK) {
        for_each_secret(kind, doc, NULL, find_masked, err);
        rc = err->code;
    }
    if (rc) note_alias(t, err);
    return rc;
}

int hs_resource_create_doc(hs_kind kind, const json_t *body, json_t **doc, hs_error *err) {
    hs_error local;
    if (!err) err = &local;
    json_t *d;
    alias_trail t = {0};
    *doc = NULL;
    int rc = prepare(kind, body, NULL, &t, &d, err);
    if (rc) return rc;
    const json_t *tname = json_object_get(d, "template");
    if (kind == HS_KIND_DESTINATION && tname && !json_is_null(tname)) {
        json_t *expanded = NULL;
        rc = hs_template_expand(d, &expanded, err);
        json_decref(d);
        if (rc) return rc;
        d = expanded;
    }
    rc = validate(kind, d, &t, err);
    if (rc) {
        json_decref(d);
        return rc;
    }
    *doc = d;
    return HS_OK;
}

/* Merging a new type's config into the old type's makes no sense: a type
 * change replaces config as a whole, and so the patch must carry one. */
static int prepare_type_change(json_t *base, const json_t *patch, hs_error *err) {
    json_t *pt = json_object_get(patch, "type");
    if (!pt || !(json_is_null(pt) || json_is_string(pt))) return HS_OK; /* wrong type: validation reports */
    const hs_provider *to = hs_provider_find(json_is_null(pt) ? "http" : json_string_value(pt));
    const char *cur = hs_jv_str(base, "type");
    if (!to || to == hs_provider_find(cur ? cur : "http")) return HS_OK;
    if (!json_is_object(json_object_get(patch, "config")))
        return INVALID("config", "must be given in full when type changes (to %s)", to->type);
    json_object_del(base, "config");
    return HS_OK;
}

/* A template is expanded once, at create: the fields it filled in are the
 * destination's own from then on, and a patch changes those. */
static int template_unchanged(const json_t *base, const json_t *patch, hs_error *err) {
    const json_t *to = json_object_get(patch, "template"), *from = json_object_get(base, "template");
    if (!to || json_equal(to, from) || (json_is_null(to) && !from)) return HS_OK;
    return INVALID("template", "is applied when a destination is created and cannot be changed; patch the "
                               "fields it filled in, or create a new destination");
}

/* Stored values the patch makes obsolete are forgotten, so validation fills
 * them in again: defaults derived from a sibling the patch may change
 * (signing.prefix follows algorithm), and what the provider says. */
static void forget_obsolete(json_t *base, const json_t *patch) {
    hs_jv_drop_derived(base, destination_spec);
    const char *type = hs_jv_str(base, "type");
    const hs_provider *p = hs_provider_find(type ? type : "http");
    json_t *config = json_object_get(base, "config");
    if (p && p->prepare_patch && json_is_object(config)) p->prepare_patch(config, json_object_get(patch, "config"));
}

/* A field whose value is a document of the user's own (a source's
 * json_schema) is replaced by the patch's, not merged into: a merge patch
 * would drop its null members ({"const": null}) and keep members the new
 * one left out. */
static void keep_whole(json_t *merged, const json_t *patch, const char *key) {
    json_t *given = json_object_get(patch, key);
    if (given && !json_is_null(given)) json_object_set_new(merged, key, json_deep_copy(given));
}

int hs_resource_patch_doc(hs_kind kind, const json_t *current, const json_t *patch, json_t **doc, hs_error *err) {
    hs_error local;
    if (!err) err = &local;
    json_t *p, *merged = NULL;
    alias_trail t = {0};
    *doc = NULL;
    int rc = prepare(kind, patch, current, &t, &p, err);
    if (rc) return rc;
    json_t *base = json_is_object(current) ? json_deep_copy(current) : json_object();
    for (const char *const *f = read_only; *f; f++) json_object_del(base, *f);
    if (kind == HS_KIND_SOURCE) hs_jv_drop_derived(base, source_spec); /* verification follows template */
    if (kind == HS_KIND_DESTINATION) {
        rc = template_unchanged(base, p, err);
        if (rc == HS_OK) rc = prepare_type_change(base, p, err);
        forget_obsolete(base, p);
    }
    if (rc == HS_OK) {
        merged = hs_jv_merge_patch(base, p);
        if (kind == HS_KIND_SOURCE) keep_whole(merged, p, "json_schema");
        for_each_secret(kind, merged, base, unmask_one, NULL);
        rc = validate(kind, merged, &t, err);
    }
    if (rc == HS_OK) {
        json_t *id = json_object_get(current, "id");
        if (id) json_object_set(merged, "id", id);
        *doc = merged;
        merged = NULL;
    }
    json_decref(merged);
    json_decref(base);
    json_decref(p);
    return rc;
}

json_t *hs_resource_render(hs_kind kind, const json_t *doc) {
    json_t *out = json_deep_copy(doc);
    for_each_secret(kind, out, NULL, mask_one, NULL);
    return out;
}

/* ---- encryption at rest ---- */

typedef struct seal_ctx {
    const hs_secretbox *box;
    const char *id;
    size_t clear; /* open: secrets found in clear */
    hs_error *err;
} seal_ctx;

/* "dst_…/config.auth.token": where a sealed value may be opened */
static void context_of(const seal_ctx *c, const char *path, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", c->id, path);
}

static void seal_one(const slot *at, json_t *value, const json_t *old, const char *path, void *ud) {
    (void)old;
    seal_ctx *c = ud;
    if (c->err->code != HS_OK || !json_is_string(value)) return;
    char where[HS_ID_MAX + HS_JV_PATH_MAX + 2];
    context_of(c, path, where, sizeof where);
    char *sealed = hs_secretbox_seal(c->box, json_string_value(value), json_string_length(value), where, c->err);
    if (!sealed) {
        snprintf(c->err->field, sizeof c->err->field, "%s", path);
        return;
    }
    slot_set(at, json_string(sealed));
    hs_free(sealed);
}

static void open_one(const slot *at, json_t *value, const json_t *old, const char *path, void *ud) {
    (void)old;
    seal_ctx *c = ud;
    if (c->err->code != HS_OK || !json_is_string(value)) return;
    if (!hs_secretbox_is_sealed(json_string_value(value))) {
        c->clear++;
        return;
    }
    char where[HS_ID_MAX + HS_JV_PATH_MAX + 2], *plain = NULL;
    size_t len = 0;
    context_of(c, path, where, sizeof where);
    hs_error why;
    hs_error_clear(&why);
    int rc = c->box ? hs_secretbox_open(c->box, json_string_value(value), where, &plain, &len, &why)
                    : hs_error_set(&why, HS_ERR_UNAUTHORIZED, NULL, "no secret key was given");
    if (rc) {
        hs_error_set(c->err, rc, path, "%s %s: %s", c->id, path, why.msg);
        return;
    }
    slot_set(at, json_stringn(plain, len));
    hs_free_secret(plain);
}

int hs_resource_seal(hs_kind kind, json_t *doc, const hs_secretbox *box, hs_error *err) {
    hs_error local;
    if (!err) err = &local;
    hs_error_clear(err);
    seal_ctx c = {.box = box, .id = hs_jv_str(doc, "id"), .err = err};
    if (!c.id) return hs_error_set(err, HS_ERR_INTERNAL, "id", "a document without an id cannot be sealed");
    for_each_secret(kind, doc, NULL, seal_one, &c);
    return err->code;
}

int hs_resource_unseal(hs_kind kind, json_t *doc, const hs_secretbox *box, size_t *clear, hs_error *err) {
    hs_error local;
    if (!err) err = &local;
    hs_error_clear(err);
    seal_ctx c = {.box = box, .id = hs_jv_str(doc, "id"), .err = err};
    if (!c.id) c.id = "?";
    for_each_secret(kind, doc, NULL, open_one, &c);
    if (clear) *clear = c.clear;
    return err->code;
}

const hs_secret_codec hs_resource_secret_codec = {.seal = hs_resource_seal, .unseal = hs_resource_unseal};
