/* src/verify/ecdsa.c — SendGrid's signed Event Webhook: ECDSA P-256 with
 * SHA-256 over "<timestamp><body>" (no separator), the signature in
 * X-Twilio-Email-Event-Webhook-Signature (base64 of its DER), the timestamp
 * in X-Twilio-Email-Event-Webhook-Timestamp; the secret is the public key
 * SendGrid shows (base64 DER, or PEM), verified with OpenSSL's libcrypto. */
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "verify/scheme.h"

#define SENDGRID_TS "X-Twilio-Email-Event-Webhook-Timestamp"
#define SIG_MAX 160 /* a DER P-256 signature is at most 72 bytes */

static bool verify_one(EVP_PKEY *pkey, const char *ts, const hs_http_req *req, const unsigned char *sig, size_t len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
              EVP_DigestVerifyUpdate(ctx, ts, strlen(ts)) == 1 &&
              EVP_DigestVerifyUpdate(ctx, req->body, req->body_len) == 1 && EVP_DigestVerifyFinal(ctx, sig, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void verify_sendgrid(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    const char *h = hs_verify_header(req, v->header), *t = hs_verify_header(req, SENDGRID_TS);
    if (!h || !*h) return hs_verify_missing(out, v->header);
    if (!t || !*t) return hs_verify_missing(out, SENDGRID_TS);
    int64_t ts;
    if (!hs_verify_parse_ts(t, strlen(t), &ts)) return hs_verify_malformed(out, SENDGRID_TS, "not a number of seconds");
    unsigned char sig[SIG_MAX];
    size_t len = 0;
    if (!hs_verify_decode(HS_VERIFY_BASE64, h, strlen(h), sig, sizeof sig, &len))
        return hs_verify_malformed(out, v->header, "not base64");
    bool match = false;
    for (size_t k = 0; k < v->nkeys && !match; k++)
        match = v->keys[k].pkey && verify_one(v->keys[k].pkey, t, req, sig, len);
    if (!match) return hs_verify_mismatch(out);
    hs_verify_fresh(v, ts, now_s, out);
}

const hs_verify_scheme hs_verify_sendgrid = {
    .name = "sendgrid",
    .header = "X-Twilio-Email-Event-Webhook-Signature",
    .encoding = HS_VERIFY_BASE64,
    .prefix = "",
    .tolerance_s = 300,
    .key = HS_VERIFY_KEY_EC_P256,
    .verify = verify_sendgrid,
};
