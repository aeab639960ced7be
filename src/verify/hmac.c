/* src/verify/hmac.c — HMAC over the raw body, the signature alone in one
 * header: hmac_sha256 and hmac_sha1 (GitHub, Shopify, Intercom, Typeform
 * and custom senders through their templates: header, hex or base64, a
 * prefix such as "sha256="), and Linear, which adds a timestamp inside
 * the signed body. */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "verify/scheme.h"

/* The signature of v's header: trimmed, v's prefix taken off, decoded. */
static bool signature_of(const hs_verifier *v, const hs_http_req *req, unsigned char *sig, size_t *len,
                         hs_verify_outcome *out) {
    const char *h = hs_verify_header(req, v->header);
    if (!h || !*h) {
        hs_verify_missing(out, v->header);
        return false;
    }
    size_t plen = strlen(v->prefix), n = strlen(h);
    if (plen && (n < plen || strncmp(h, v->prefix, plen) != 0)) {
        char what[96];
        snprintf(what, sizeof what, "it does not start with \"%s\"", v->prefix);
        hs_verify_malformed(out, v->header, what);
        return false;
    }
    if (!hs_verify_decode(v->encoding, h + plen, n - plen, sig, HS_DIGEST_MAX, len)) {
        hs_verify_malformed(out, v->header, v->encoding == HS_VERIFY_HEX ? "not hex" : "not base64");
        return false;
    }
    return true;
}

static void body_hmac(const char *digest, const hs_verifier *v, const hs_http_req *req, hs_verify_outcome *out) {
    unsigned char sig[HS_DIGEST_MAX];
    size_t len = 0;
    if (!signature_of(v, req, sig, &len, out)) return;
    hs_digest_part body = {req->body, req->body_len};
    if (!hs_verify_hmac_any(v, digest, &body, 1, sig, len)) hs_verify_mismatch(out);
}

static void verify_sha256(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    (void)now_s;
    body_hmac("SHA256", v, req, out);
}

static void verify_sha1(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    (void)now_s;
    body_hmac("SHA1", v, req, out);
}

/* Linear: hex HMAC-SHA256 of the body in Linear-Signature; the body's
 * webhookTimestamp (milliseconds) must be within the tolerance (Linear
 * says a minute), checked once the signature proved the body genuine. */
static void verify_linear(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    body_hmac("SHA256", v, req, out);
    if (out->status != HS_VERIFY_PASS || v->tolerance_s <= 0) return;
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *ts = json_object_get(body, "webhookTimestamp");
    if (!json_is_integer(ts))
        hs_verify_malformed(out, "the body", "no numeric webhookTimestamp");
    else
        hs_verify_fresh(v, (int64_t)(json_integer_value(ts) / 1000), now_s, out);
    json_decref(body);
}

/* a signature alone in a header of the source's choosing */
#define BODY_HMAC(n, fn)                                                                                               \
    {                                                                                                                  \
        .name = (n), .header = "X-Signature", .encoding = HS_VERIFY_HEX, .prefix = "", .tolerance_s = -1,              \
        .takes_format = true, .key = HS_VERIFY_KEY_RAW, .verify = (fn)                                                 \
    }
const hs_verify_scheme hs_verify_hmac_sha256 = BODY_HMAC("hmac_sha256", verify_sha256);
const hs_verify_scheme hs_verify_hmac_sha1 = BODY_HMAC("hmac_sha1", verify_sha1);

const hs_verify_scheme hs_verify_linear = {
    .name = "linear",
    .header = "Linear-Signature",
    .encoding = HS_VERIFY_HEX,
    .prefix = "",
    .tolerance_s = 60,
    .key = HS_VERIFY_KEY_RAW,
    .verify = verify_linear,
};
