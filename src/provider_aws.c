/* provider_aws.c — SQS, S3 and EventBridge: SigV4-signed AWS HTTP APIs
 * sharing credentials, region and an optional endpoint override (for
 * LocalStack-style emulators and S3-compatible stores). */
#include <string.h>

#include "jsonv.h"
#include "provider.h"

/* Region: AWS names look like us-east-1, but emulators and S3-compatible
 * stores use their own ("local", "garage"), so only the shape is checked. */
/* clang-format off */
#define AWS_COMMON_FIELDS                                                  \
    HS_JV_CHARS("region", HS_JV_REQUIRED, 2, 32, "a-z0-9-"),               \
    HS_JV_STR("access_key_id", HS_JV_REQUIRED | HS_JV_NO_SPACE, 1, 128),    \
    HS_JV_SECRET("secret_access_key", HS_JV_REQUIRED | HS_JV_NO_SPACE, 256), \
    HS_JV_SECRET("session_token", HS_JV_NO_SPACE, 8192),                   \
    HS_JV_URL("endpoint", 0)
/* clang-format on */

static const char *const secrets[] = {"secret_access_key", "session_token", NULL};

/* Splits s at sep into at most max parts; returns how many there were. */
static size_t split(const char *s, char sep, const char **part, size_t *len, size_t max) {
    size_t n = 0;
    for (;;) {
        const char *end = strchr(s, sep);
        if (n < max) {
            part[n] = s;
            len[n] = end ? (size_t)(end - s) : strlen(s);
        }
        n++;
        if (!end) return n;
        s = end + 1;
    }
}

static bool span_in(const char *s, size_t n, const char *charset) { return n > 0 && hs_jv_in_charset(s, n, charset); }

/* ---- SQS ---- */

/* clang-format off */
static const hs_jv_field sqs_fields[] = {
    HS_JV_URL("queue_url", HS_JV_REQUIRED),
    AWS_COMMON_FIELDS,
    /* FIFO queues: 1..128 printable ASCII characters, no space */
    HS_JV_CHARS("message_group_id", 0, 1, 128, "!-~"),
    HS_JV_END,
};
/* clang-format on */

static int validate_sqs(json_t *config, hs_error *err) { return hs_jv_object(config, "config", sqs_fields, err); }

const hs_provider hs_provider_aws_sqs = {
    .type = "aws_sqs", .alias = "sqs", .validate = validate_sqs, .secret_paths = secrets};

/* ---- S3 ---- */

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* The S3 bucket naming rules beyond the character set and length. */
static int check_bucket(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *b = json_string_value(value);
    size_t n = strlen(b);
    const char *part[4];
    size_t len[4];
    if (!is_alnum(b[0]) || !is_alnum(b[n - 1]))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must begin and end with a letter or digit");
    if (strstr(b, "..") || strstr(b, ".-") || strstr(b, "-."))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not contain \"..\", \".-\" or \"-.\"");
    if (split(b, '.', part, len, 4) == 4 && span_in(part[0], len[0], "0-9") && span_in(part[1], len[1], "0-9") &&
        span_in(part[2], len[2], "0-9") && span_in(part[3], len[3], "0-9"))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not look like an IP address");
    return HS_OK;
}

/* Object keys are "{prefix}YYYY/MM/DD/<event>.json"; a leading '/' would
 * make an empty first path segment. */
static int check_prefix(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (json_string_value(value)[0] == '/')
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not begin with '/'");
    return HS_OK;
}

/* Virtual-hosted style (bucket.s3.region.amazonaws.com) is AWS's default;
 * S3-compatible stores behind a custom endpoint almost always want paths. */
static json_t *default_path_style(const json_t *config) { return json_boolean(json_object_get(config, "endpoint")); }

static const char *const formats[] = {"json", "raw", NULL};

/* clang-format off */
static const hs_jv_field s3_fields[] = {
    {.name = "bucket", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .min = 3, .max = 63, .charset = "a-z0-9.-",
     .check = check_bucket},
    AWS_COMMON_FIELDS,
    {.name = "prefix", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .max = 512, .dflt = "\"\"", .check = check_prefix},
    HS_JV_ENUM("format", formats, "\"json\""),
    {.name = "force_path_style", .type = HS_JV_BOOL, .derive = default_path_style},
    HS_JV_END,
};
/* clang-format on */

static int validate_s3(json_t *config, hs_error *err) { return hs_jv_object(config, "config", s3_fields, err); }

static void prepare_patch_s3(json_t *config, const json_t *patch_config) {
    (void)patch_config;
    hs_jv_drop_derived(config, s3_fields);
}

const hs_provider hs_provider_aws_s3 = {.type = "aws_s3",
                                        .alias = "s3",
                                        .validate = validate_s3,
                                        .secret_paths = secrets,
                                        .prepare_patch = prepare_patch_s3};

/* ---- EventBridge ---- */

#define BUS_NAME_CHARS "A-Za-z0-9/._-"

/* arn:<partition>:events:<region>:<12-digit account>:event-bus/<name> */
static bool valid_bus_arn(const char *s) {
    const char *p[6];
    size_t l[6];
    if (split(s, ':', p, l, 6) != 6) return false;
    return l[1] >= 3 && strncmp(p[1], "aws", 3) == 0 && l[2] == 6 && strncmp(p[2], "events", 6) == 0 &&
           span_in(p[3], l[3], "a-z0-9-") && l[4] == 12 && span_in(p[4], l[4], "0-9") && l[5] > 10 &&
           strncmp(p[5], "event-bus/", 10) == 0 && span_in(p[5] + 10, l[5] - 10, BUS_NAME_CHARS);
}

static int check_event_bus(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    bool ok = strncmp(s, "arn:", 4) == 0 ? valid_bus_arn(s) : span_in(s, strlen(s), BUS_NAME_CHARS);
    if (!ok)
        return hs_error_set(err, HS_ERR_INVALID, at->path,
                            "must be \"default\", an event bus name or an arn:aws:events:...:event-bus/... ARN");
    return HS_OK;
}

static int check_source(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (strncmp(json_string_value(value), "aws.", 4) == 0)
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must not begin with \"aws.\" (reserved for AWS services)");
    return HS_OK;
}

/* clang-format off */
static const hs_jv_field eventbridge_fields[] = {
    {.name = "event_bus_arn", .type = HS_JV_STRING, .min = 1, .max = 1600, .dflt = "\"default\"",
     .check = check_event_bus},
    AWS_COMMON_FIELDS,
    {.name = "source", .type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .min = 1, .max = 256, .dflt = "\"hookstream\"",
     .check = check_source},
    HS_JV_STRD("detail_type", HS_JV_NO_CTL, 1, 128, "\"hookstream.event\""),
    HS_JV_END,
};
/* clang-format on */

static int validate_eventbridge(json_t *config, hs_error *err) {
    return hs_jv_object(config, "config", eventbridge_fields, err);
}

const hs_provider hs_provider_aws_eventbridge = {
    .type = "aws_eventbridge", .alias = "eventbridge", .validate = validate_eventbridge, .secret_paths = secrets};
