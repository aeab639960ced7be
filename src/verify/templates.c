/* src/verify/templates.c — senders a source can name as its `template`:
 * each is a scheme (verify.c) with the header, encoding, prefix and
 * timestamp tolerance that sender documents. GET /v1/source-templates
 * lists them (hs_verify_template_json). */
#include <string.h>

#include "verify/scheme.h"

#define T(...)                                                                                                         \
    &(const hs_verify_template) { __VA_ARGS__ }
#define NO_TOLERANCE -1

/* clang-format off */
static const hs_verify_template *const templates[] = {
    T(.name = "stripe", .title = "Stripe", .type = "stripe", .header = "Stripe-Signature", .prefix = "",
      .tolerance_s = 300, .secret_hint = "the endpoint's signing secret (whsec_...)",
      .note = "Stripe-Signature: t=<timestamp>,v1=<hex HMAC-SHA256 of \"<timestamp>.<body>\">; several v1 "
              "entries while Stripe rolls a secret"),
    T(.name = "github", .title = "GitHub", .type = "hmac_sha256", .header = "X-Hub-Signature-256",
      .prefix = "sha256=", .tolerance_s = NO_TOLERANCE, .secret_hint = "the webhook's secret",
      .note = "X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>"),
    T(.name = "shopify", .title = "Shopify", .type = "hmac_sha256", .header = "X-Shopify-Hmac-Sha256",
      .encoding = HS_VERIFY_BASE64, .prefix = "", .tolerance_s = NO_TOLERANCE,
      .secret_hint = "the app's client secret (or the shop's webhook signing key)",
      .note = "X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>"),
    T(.name = "slack", .title = "Slack", .type = "slack", .header = "X-Slack-Signature", .prefix = "v0=",
      .tolerance_s = 300, .secret_hint = "the app's signing secret",
      .note = "X-Slack-Signature: v0=<hex HMAC-SHA256 of \"v0:<X-Slack-Request-Timestamp>:<body>\">"),
    T(.name = "twilio", .title = "Twilio", .type = "twilio", .header = "X-Twilio-Signature",
      .encoding = HS_VERIFY_BASE64, .prefix = "", .tolerance_s = NO_TOLERANCE,
      .secret_hint = "the account's auth token",
      .note = "X-Twilio-Signature: <base64 HMAC-SHA1 of the full URL + the sorted form parameters>; a JSON "
              "body is covered by the URL's bodySHA256"),
    T(.name = "sendgrid", .title = "SendGrid", .type = "sendgrid",
      .header = "X-Twilio-Email-Event-Webhook-Signature", .encoding = HS_VERIFY_BASE64, .prefix = "",
      .tolerance_s = 300, .secret_hint = "the Signed Event Webhook's verification key (an EC public key)",
      .note = "ECDSA P-256 / SHA-256 over <X-Twilio-Email-Event-Webhook-Timestamp><body>, base64 DER signature"),
    T(.name = "intercom", .title = "Intercom", .type = "hmac_sha1", .header = "X-Hub-Signature",
      .prefix = "sha1=", .tolerance_s = NO_TOLERANCE, .secret_hint = "the app's client secret",
      .note = "X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>"),
    T(.name = "linear", .title = "Linear", .type = "linear", .header = "Linear-Signature", .prefix = "",
      .tolerance_s = 60, .secret_hint = "the webhook's signing secret",
      .note = "Linear-Signature: <hex HMAC-SHA256 of the body>; the body's webhookTimestamp (ms) within a minute"),
    T(.name = "clerk", .title = "Clerk", .type = "svix", .prefix = "v1,", .encoding = HS_VERIFY_BASE64,
      .tolerance_s = 300, .secret_hint = "the endpoint's signing secret (whsec_...)",
      .note = "Svix: svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">"),
    T(.name = "svix", .title = "Svix", .type = "svix", .prefix = "v1,", .encoding = HS_VERIFY_BASE64,
      .tolerance_s = 300, .secret_hint = "the endpoint's signing secret (whsec_...)",
      .note = "svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">"),
    T(.name = "paddle", .title = "Paddle", .type = "paddle", .header = "Paddle-Signature", .prefix = "",
      .tolerance_s = 5, .secret_hint = "the notification destination's secret key",
      .note = "Paddle-Signature: ts=<timestamp>;h1=<hex HMAC-SHA256 of \"<timestamp>:<body>\">; Paddle's SDKs "
              "allow 5 s"),
    T(.name = "resend", .title = "Resend", .type = "svix", .prefix = "v1,", .encoding = HS_VERIFY_BASE64,
      .tolerance_s = 300, .secret_hint = "the webhook's signing secret (whsec_...)",
      .note = "Svix: svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">"),
    T(.name = "postmark", .title = "Postmark", .type = "none", .prefix = "", .tolerance_s = NO_TOLERANCE,
      .secret_hint = "none",
      .note = "Postmark signs nothing: allow its addresses with ip_allowlist, or put credentials in the webhook "
              "URL and use verification_type basic_auth"),
    T(.name = "typeform", .title = "Typeform", .type = "hmac_sha256", .header = "Typeform-Signature",
      .encoding = HS_VERIFY_BASE64, .prefix = "sha256=", .tolerance_s = NO_TOLERANCE,
      .secret_hint = "the webhook's secret",
      .note = "Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>"),
    T(.name = "custom", .title = "Custom", .type = "hmac_sha256", .prefix = "", .tolerance_s = NO_TOLERANCE,
      .secret_hint = "the secret you share with the sender",
      .note = "any sender: choose verification_type, verification_header and verification_config"),
    NULL,
};
/* clang-format on */

const hs_verify_template *const *hs_verify_templates(void) { return templates; }

const hs_verify_template *hs_verify_template_find(const char *name) {
    for (size_t i = 0; name && templates[i]; i++)
        if (strcmp(templates[i]->name, name) == 0) return templates[i];
    return NULL;
}

json_t *hs_verify_template_json(const hs_verify_template *t) {
    const hs_verify_scheme *s = hs_verify_scheme_find(t->type);
    const char *header = t->header ? t->header : s->header;
    int tolerance = t->tolerance_s >= 0 ? t->tolerance_s : s->tolerance_s;
    json_t *config = json_pack("{s:s, s:s}", "encoding", t->encoding == HS_VERIFY_BASE64 ? "base64" : "hex", "prefix",
                               t->prefix ? t->prefix : "");
    json_object_set_new(config, "tolerance_s", tolerance > 0 ? json_integer(tolerance) : json_null());
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:s, s:s}", "name", t->name, "title", t->title,
                     "verification_type", t->type, "verification_header", header ? json_string(header) : json_null(),
                     "verification_config", config, "secret_required", s->key != HS_VERIFY_KEY_NONE, "secret",
                     t->secret_hint, "note", t->note);
}
