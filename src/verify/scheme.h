/* src/verify/scheme.h — what a scheme file of src/verify/ defines and the
 * helpers they share (verify.c). Not for use outside this folder: the rest
 * of the server sees verify.h.
 *
 * A scheme is a const hs_verify_scheme with a verify function that reads
 * the request's headers and body and the compiled verifier (its secrets,
 * header, encoding, prefix, tolerance) and fills the outcome. Helpers
 * below set outcomes with the standard messages, so that every scheme
 * words its refusals alike and none prints an expected value.
 *
 * Threads: verify functions are pure (any thread, no global state).
 */
#ifndef HS_VERIFY_SCHEME_H
#define HS_VERIFY_SCHEME_H

#include <openssl/evp.h>

#include "base/digest.h"
#include "verify/verify.h"

struct hs_verify_scheme {
    const char *name;
    const char *header; /* default signature header; NULL: fixed headers (svix) */
    hs_verify_encoding encoding;
    const char *prefix; /* default prefix before the signature */
    int tolerance_s;    /* default tolerance; -1: the scheme signs no timestamp */
    bool takes_format;  /* verification_config.encoding and .prefix apply */
    hs_verify_key_kind key;
    void (*verify)(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out);
};

/* A decoded secret. */
typedef struct hs_verify_key {
    unsigned char *bytes; /* RAW, WHSEC, BASIC: the key (hs_free_secret'd) */
    size_t len;
    EVP_PKEY *pkey; /* EC_P256 */
} hs_verify_key;

struct hs_verifier {
    int refs; /* atomic (__atomic builtins) */
    const hs_verify_scheme *scheme;
    char header[257]; /* the signature header ("" for fixed-header schemes) */
    hs_verify_encoding encoding;
    char prefix[65];
    int tolerance_s; /* 0: not checked */
    size_t nkeys;
    hs_verify_key keys[HS_VERIFY_SECRETS_MAX];
};

/* The schemes, one file per family. */
extern const hs_verify_scheme hs_verify_hmac_sha256, hs_verify_hmac_sha1, hs_verify_linear; /* hmac.c */
extern const hs_verify_scheme hs_verify_stripe, hs_verify_slack, hs_verify_paddle;          /* timestamped.c */
extern const hs_verify_scheme hs_verify_standard_webhooks, hs_verify_svix;                  /* svix.c */
extern const hs_verify_scheme hs_verify_twilio;                                             /* twilio.c */
extern const hs_verify_scheme hs_verify_sendgrid;                                           /* ecdsa.c */
extern const hs_verify_scheme hs_verify_basic_auth, hs_verify_none;                         /* basic.c */

/* ---- outcomes ---- */

void hs_verify_missing(hs_verify_outcome *out, const char *header);
/* "<header> is malformed: <what>" */
void hs_verify_malformed(hs_verify_outcome *out, const char *header, const char *what);
void hs_verify_stale(hs_verify_outcome *out, int tolerance_s);
void hs_verify_mismatch(hs_verify_outcome *out);

/* ---- helpers ---- */

/* The request's header (first, case-insensitive), NULL when absent. */
const char *hs_verify_header(const hs_http_req *req, const char *name);
/* A decimal timestamp in s[0..n) (seconds since the epoch); false when it
 * is not all digits or out of range. */
bool hs_verify_parse_ts(const char *s, size_t n, int64_t *ts);
/* Within v's tolerance of now (always when the tolerance is 0)? Else sets
 * the stale outcome. */
bool hs_verify_fresh(const hs_verifier *v, int64_t ts, int64_t now_s, hs_verify_outcome *out);
/* Decode a signature given as hex (either case) or base64 into out
 * (HS_DIGEST_MAX bytes, or cap); false when it does not decode or does not
 * fit. */
bool hs_verify_decode(hs_verify_encoding enc, const char *s, size_t n, unsigned char *out, size_t cap, size_t *len);
/* Does any key of v give HMAC(digest, key, parts) == sig (constant time per
 * key)? */
bool hs_verify_hmac_any(const hs_verifier *v, const char *digest, const hs_digest_part *parts, size_t nparts,
                        const unsigned char *sig, size_t sig_len);

#endif
