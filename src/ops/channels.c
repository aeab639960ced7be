/* src/ops/channels.c — notification channels' documents and messages
 * (src/ops/channels.h). Any thread.
 */
#include "ops/channels.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/digest.h"
#include "base/id.h"
#include "base/jsonv.h"
#include "base/timeutil.h"
#include "core/resource.h"
#include "store/ops.h"

#define MASK_PREFIX "********"

static const char *const channel_types[] = {"webhook", "slack", "discord", "email", NULL};

/* An e-mail address: something@domain, nothing that could end a header. */
static int check_address(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *s = json_string_value(value);
    const char *at_sign = strchr(s, '@');
    if (!at_sign || at_sign == s || !at_sign[1] || strchr(at_sign + 1, '@') || strpbrk(s, " <>,;\"\r\n\t"))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must be an e-mail address (name@example.com)");
    return HS_OK;
}

/* clang-format off */
static const hs_jv_field address_item = {.type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .min = 3, .max = 254,
                                         .check = check_address};
static const hs_jv_field webhook_config[] = {
    HS_JV_URL("url", HS_JV_REQUIRED),
    HS_JV_SECRET("secret", 0, 512),
    HS_JV_END,
};
static const hs_jv_field url_config[] = {
    HS_JV_URL("url", HS_JV_REQUIRED),
    HS_JV_END,
};
static const hs_jv_field email_config[] = {
    {.name = "to", .type = HS_JV_ARRAY, .flags = HS_JV_REQUIRED, .min = 1, .max = 20, .items = &address_item},
    HS_JV_END,
};
static const hs_jv_field channel_spec[] = {
    {.name = "id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .max = 64, .check = hs_jv_check_id, .arg = "nch_"},
    {.name = "name", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED | HS_JV_TRIMMED | HS_JV_NO_CTL, .min = 1, .max = 200},
    {.name = "channel_type", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .choices = channel_types},
    {.name = "config", .type = HS_JV_OBJECT, .flags = HS_JV_REQUIRED},
    HS_JV_BOOLEAN("enabled", "true"),
    HS_JV_END,
};
/* clang-format on */

static const hs_jv_field *config_spec(const char *type) {
    if (strcmp(type, "webhook") == 0) return webhook_config;
    if (strcmp(type, "email") == 0) return email_config;
    return url_config;
}

/* doc (stolen) validated, or NULL with err set. */
static json_t *validate(json_t *doc, hs_error *err) {
    int rc = hs_jv_object(doc, "", channel_spec, err);
    if (rc == HS_OK) {
        const char *type = hs_jv_str(doc, "channel_type");
        rc = hs_jv_object(json_object_get(doc, "config"), "config", config_spec(type), err);
    }
    const char *secret = hs_jv_str(hs_jv_dig(doc, "config"), "secret");
    if (rc == HS_OK && secret && strncmp(secret, MASK_PREFIX, strlen(MASK_PREFIX)) == 0)
        rc = hs_error_set(err, HS_ERR_INVALID, "config.secret",
                          "is a masked value as shown on read; send the secret itself");
    if (rc == HS_OK) return doc;
    json_decref(doc);
    return NULL;
}

int hs_doc_refuse_fixed(const json_t *body, hs_error *err) {
    static const char *const fixed[] = {"id", "created_at", "updated_at", "last_fired_at", "state"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (json_object_get(body, fixed[i])) return hs_error_set(err, HS_ERR_INVALID, fixed[i], "cannot be set");
    return HS_OK;
}

json_t *hs_doc_new(const json_t *body, const char *prefix) {
    json_t *d = json_deep_copy(body);
    char id[HS_ID_MAX];
    hs_id_new(prefix, id);
    json_object_set_new(d, "id", json_string(id));
    return d;
}

int hs_channel_create_doc(const json_t *body, json_t **doc, hs_error *err) {
    *doc = NULL;
    int rc = hs_doc_refuse_fixed(body, err);
    if (rc) return rc;
    *doc = validate(hs_doc_new(body, "nch_"), err);
    return *doc ? HS_OK : err->code;
}

int hs_channel_patch_doc(const json_t *current, const json_t *patch, json_t **doc, hs_error *err) {
    *doc = NULL;
    int rc = hs_doc_refuse_fixed(patch, err);
    if (rc) return rc;
    /* a new type needs a whole config: the old one's members mean nothing */
    const char *type = hs_jv_str(patch, "channel_type");
    json_t *base = json_deep_copy(current);
    if (type && strcmp(type, hs_jv_str(current, "channel_type")) != 0) json_object_del(base, "config");
    json_t *merged = hs_jv_merge_patch(base, patch);
    json_decref(base);
    /* the masked value read back keeps the stored secret; another mask is
     * refused by validate() */
    const char *secret = hs_jv_str(hs_jv_dig(merged, "config"), "secret");
    const char *old = hs_jv_str(hs_jv_dig(current, "config"), "secret");
    json_t *mask = old ? hs_mask_secret(old) : NULL;
    if (secret && mask && strcmp(secret, json_string_value(mask)) == 0)
        json_object_set_new(json_object_get(merged, "config"), "secret", json_string(old));
    json_decref(mask);
    *doc = validate(merged, err);
    return *doc ? HS_OK : err->code;
}

json_t *hs_channel_render(const json_t *doc) {
    json_t *out = json_deep_copy(doc);
    json_t *config = json_object_get(out, "config");
    const char *secret = hs_jv_str(config, "secret");
    if (secret) json_object_set_new(config, "secret", hs_mask_secret(secret));
    return out;
}

int hs_channel_seal(json_t *doc, const hs_secretbox *box, hs_error *err) {
    return box ? hs_channel_secret_codec.seal(HS_KIND_SOURCE, doc, box, err) : HS_OK;
}

int hs_channel_unseal(json_t *doc, const hs_secretbox *box, hs_error *err) {
    return box ? hs_channel_secret_codec.unseal(HS_KIND_SOURCE, doc, box, NULL, err) : HS_OK;
}

/* ---- messages ---- */

/* "title\n\ntext" cut to max characters, as a JSON string; slack: with
 * &, < and > escaped as Slack's message formatting asks (a receiver's
 * error text could otherwise read as a link or a mention). Characters are
 * counted as UTF-16 code units, as JavaScript (and so Discord) counts
 * them: one beyond U+FFFF counts two. */
static json_t *summary(const hs_notice *n, size_t max, bool slack) {
    hs_buf b;
    hs_buf_init(&b, 1u << 20);
    char *raw = hs_sprintf("%s\n\n%s", n->title, n->text);
    for (const char *p = raw; *p; p++) {
        const char *esc = !slack ? NULL : *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
        if (esc)
            hs_buf_appends(&b, esc);
        else
            hs_buf_append(&b, p, 1);
    }
    hs_free(raw);
    size_t len = 0;
    char *s = hs_buf_detach(&b, &len);
    size_t units = 0, i = 0;
    while (s && i < len) {
        size_t k = 1, w = ((unsigned char)s[i] & 0xF8) == 0xF0 ? 2 : 1;
        while (i + k < len && ((unsigned char)s[i + k] & 0xC0) == 0x80) k++;
        if (units + w > max) break;
        units += w;
        i += k;
    }
    json_t *v = s ? json_stringn(s, i) : NULL;
    hs_free(s);
    return v ? v : json_string("hookstream notification");
}

static json_t *webhook_body(const hs_notice *n, uint64_t now_ms) {
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", n->type, "title", n->title, "text", n->text);
    json_object_set_new(o, "data", n->data ? json_deep_copy(n->data) : json_object());
    char ts[HS_ISO8601_MAX];
    hs_iso8601(now_ms, ts);
    json_object_set_new(o, "sent_at", json_string(ts));
    return o;
}

static hs_out_req *http_post(const char *url, json_t *body /* stolen */, const char *secret) {
    hs_out_req *r = hs_calloc(1, sizeof *r);
    r->method = hs_strdup("POST");
    r->url = hs_strdup(url);
    r->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->timeout_ms = 10000;
    hs_out_req_add_header(r, "Content-Type", "application/json", false);
    hs_out_req_add_header(r, "User-Agent", "hookstream-notify", false);
    if (secret) {
        unsigned char mac[32];
        char hex[65], value[80];
        hs_hmac_sha256(secret, strlen(secret), r->body, r->body_len, mac);
        hs_hex(mac, sizeof mac, hex);
        snprintf(value, sizeof value, "sha256=%s", hex);
        hs_out_req_add_header(r, "X-hookstream-Signature", value, false);
    }
    return r;
}

/* A header value on one line: control characters become spaces. */
static void header_line(hs_buf *b, const char *name, const char *value) {
    hs_buf_appends(b, name);
    hs_buf_appends(b, ": ");
    for (const char *p = value; *p; p++) hs_buf_append(b, (unsigned char)*p < 0x20 ? " " : p, 1);
    hs_buf_appends(b, "\r\n");
}

static char *mail_text(const json_t *to, const hs_notice *n, const char *from, uint64_t now_ms) {
    hs_buf b;
    hs_buf_init(&b, 1u << 20);
    char date[64];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    header_line(&b, "Date", date);
    header_line(&b, "From", from);
    hs_buf_appends(&b, "To: ");
    size_t i;
    json_t *v;
    json_array_foreach(to, i, v) {
        if (i) hs_buf_appends(&b, ", ");
        hs_buf_appends(&b, json_string_value(v));
    }
    hs_buf_appends(&b, "\r\n");
    char *subject = hs_sprintf("[hookstream] %s", n->title);
    header_line(&b, "Subject", subject);
    hs_free(subject);
    hs_buf_appends(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n\r\n");
    /* a lone "." line would end the message early: curl dot-stuffs it */
    for (const char *p = n->text; *p; p++) {
        if (*p == '\n' && (p == n->text || p[-1] != '\r')) hs_buf_appends(&b, "\r");
        hs_buf_append(&b, p, 1);
    }
    hs_buf_appends(&b, "\r\n");
    char *text = hs_buf_detach(&b, NULL);
    return text ? text : hs_strdup("");
}

int hs_channel_message(const json_t *doc, const hs_notice *n, const char *smtp_from, uint64_t now_ms, hs_out_req **req,
                       char **mail, hs_error *err) {
    *req = NULL;
    *mail = NULL;
    const char *type = hs_jv_str(doc, "channel_type");
    const json_t *config = json_object_get(doc, "config");
    const char *url = hs_jv_str(config, "url");
    if (!type) return hs_error_set(err, HS_ERR_INVALID, "channel_type", "is missing");
    if (strcmp(type, "email") == 0) {
        *mail = mail_text(json_object_get(config, "to"), n, smtp_from, now_ms);
        return HS_OK;
    }
    if (!url) return hs_error_set(err, HS_ERR_INVALID, "config.url", "is missing");
    if (strcmp(type, "slack") == 0) {
        *req = http_post(url, json_pack("{s:o}", "text", summary(n, 40000, true)), NULL);
    } else if (strcmp(type, "discord") == 0) {
        /* no @everyone, role or user ping from text a receiver wrote */
        *req = http_post(url,
                         json_pack("{s:o, s:{s:[]}}", "content", summary(n, HS_DISCORD_CONTENT_MAX, false),
                                   "allowed_mentions", "parse"),
                         NULL);
    } else {
        *req = http_post(url, webhook_body(n, now_ms), hs_jv_str(config, "secret"));
    }
    return HS_OK;
}
