/* src/verify/verify.h — verifying a sender's signature on an ingested request
 * (docs/verification.md): the third step of ingest, after the IP lists and
 * the rate limit (src/api/frontdoor.h), refusing with 401.
 *
 * Two tables. Schemes (`verification_type`): how a signature is made and
 * checked, one file per family in this folder (hmac.c, timestamped.c,
 * svix.c, twilio.c, ecdsa.c, basic.c), listed in verify.c; adding a scheme
 * is writing its file and one line there. Templates (a source's
 * `template`): a sender (stripe, github, ...) = a scheme and the header,
 * encoding, prefix and timestamp tolerance that sender uses
 * (templates.c), served by GET /v1/source-templates.
 *
 * A source's verification fields are validated by src/core/resource.c
 * with the checks below; hs_verifier_new compiles a validated source doc
 * into an immutable hs_verifier (secrets decoded, EC keys parsed) which the
 * front door holds per source and hands to ingest with a reference.
 *
 * Threads: the tables are constant; a verifier is immutable once made and
 * may be run on any thread at once (its reference count is atomic).
 * hs_verifier_run does no I/O and no allocation beyond the scheme's own
 * (Twilio's form parameters, Linear's body timestamp): HMAC over the body
 * on the loop thread that received it.
 *
 * Ownership: hs_verifier_new returns one reference; hs_verifier_unref
 * drops one, the last wipes the decoded secrets and frees. Messages never
 * hold the expected signature or a secret.
 */
#ifndef HS_VERIFY_H
#define HS_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "http/server.h"

#define HS_VERIFY_SECRETS_MAX 5 /* verification_secret + up to 4 in verification_secrets */
#define HS_VERIFY_SECRET_MAX 4096
#define HS_VERIFY_TOLERANCE_MAX 86400 /* tolerance_s: a day at most */
#define HS_VERIFY_MESSAGE_MAX 192

typedef enum hs_verify_encoding { HS_VERIFY_HEX = 0, HS_VERIFY_BASE64 } hs_verify_encoding;

/* What a scheme's secret is, checked at save and decoded at compile. */
typedef enum hs_verify_key_kind {
    HS_VERIFY_KEY_NONE = 0, /* the scheme takes no secret (none) */
    HS_VERIFY_KEY_RAW,      /* the secret's bytes are the HMAC key */
    HS_VERIFY_KEY_WHSEC,    /* "whsec_" (optional) + base64 of the key (Svix, Standard Webhooks) */
    HS_VERIFY_KEY_EC_P256,  /* an EC P-256 public key: base64 DER (SubjectPublicKeyInfo) or PEM */
    HS_VERIFY_KEY_BASIC,    /* "user:password" */
} hs_verify_key_kind;

typedef enum hs_verify_status {
    HS_VERIFY_PASS = 0,
    HS_VERIFY_MISSING,   /* a header the scheme needs is absent */
    HS_VERIFY_MALFORMED, /* a header is there but not in the scheme's format */
    HS_VERIFY_STALE,     /* the signed timestamp is outside the tolerance */
    HS_VERIFY_MISMATCH,  /* well formed, but no secret produces it */
} hs_verify_status;

typedef struct hs_verify_outcome {
    hs_verify_status status;
    char message[HS_VERIFY_MESSAGE_MAX]; /* for the 401's error: what failed, never the expected value */
} hs_verify_outcome;

typedef struct hs_verifier hs_verifier;
typedef struct hs_verify_scheme hs_verify_scheme; /* src/verify/scheme.h */

/* A sender's settings (GET /v1/source-templates). */
typedef struct hs_verify_template {
    const char *name;   /* "stripe" */
    const char *title;  /* "Stripe" */
    const char *type;   /* its verification_type ("stripe", "hmac_sha256", "none") */
    const char *header; /* the signature header, NULL: the scheme's */
    hs_verify_encoding encoding;
    const char *prefix;      /* before the signature in the header ("sha256="), "" none */
    int tolerance_s;         /* -1: the scheme's (or no timestamp) */
    const char *secret_hint; /* where the sender shows the secret */
    const char *note;        /* what is signed, for people */
} hs_verify_template;

/* ---- the tables ---- */

const hs_verify_scheme *hs_verify_scheme_find(const char *name); /* NULL when unknown or name NULL */
const hs_verify_scheme *const *hs_verify_schemes(void);          /* NULL-terminated */
const char *hs_verify_scheme_name(const hs_verify_scheme *s);
hs_verify_key_kind hs_verify_scheme_key(const hs_verify_scheme *s);
/* The scheme's own signature header ("Stripe-Signature"); NULL when its
 * headers are fixed (svix: svix-id, svix-timestamp, svix-signature). */
const char *hs_verify_scheme_header(const hs_verify_scheme *s);
bool hs_verify_scheme_has_timestamp(const hs_verify_scheme *s);
bool hs_verify_scheme_takes_format(const hs_verify_scheme *s); /* encoding and prefix apply */

const hs_verify_template *hs_verify_template_find(const char *name);
const hs_verify_template *const *hs_verify_templates(void); /* NULL-terminated */
/* {name, title, verification_type, verification_header, verification_config:
 * {encoding, prefix, tolerance_s}, secret, note} */
json_t *hs_verify_template_json(const hs_verify_template *t);

/* A comma-separated list of the schemes' names, for a 400's message. */
void hs_verify_scheme_list(char *out, size_t cap);

/* ---- validation (src/core/resource.c) ---- */

/* Is secret a valid key for kind? false with why ("is not base64", ...). */
bool hs_verify_secret_ok(hs_verify_key_kind kind, const char *secret, char *why, size_t cap);

/* ---- compiled ---- */

/* The verifier of a validated source doc, or NULL when the source verifies
 * nothing (verification_enabled false, or the scheme none). A secret that
 * no longer decodes (validated by an older version) is left out; with no
 * secret left every request is refused as a mismatch. */
hs_verifier *hs_verifier_new(const json_t *source_doc);
hs_verifier *hs_verifier_ref(hs_verifier *v);
void hs_verifier_unref(hs_verifier *v);

/* Verify req (its headers, raw body and target) at now_s (seconds since
 * the epoch). Any thread. */
void hs_verifier_run(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out);

/* "signature_missing", "signature_malformed", "timestamp_stale",
 * "signature_mismatch" ("verified" for PASS): the metrics' reason label. */
const char *hs_verify_status_reason(hs_verify_status s);

#endif
