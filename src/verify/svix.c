/* src/verify/svix.c — Standard Webhooks and Svix (Clerk and Resend send
 * through Svix): webhook-id, webhook-timestamp and webhook-signature (or
 * the same under svix-), the signature header holding space-separated
 * "v1,<base64>" entries, each the HMAC-SHA256 of "<id>.<timestamp>.<body>"
 * under the base64-decoded "whsec_" secret. Either header family is
 * accepted by both schemes, as Svix's own libraries do. */
#include <string.h>

#include "verify/scheme.h"

#define ENTRIES_MAX 8

typedef struct family {
    const char *id, *ts, *sig;
} family;

static const family families[] = {
    {"webhook-id", "webhook-timestamp", "webhook-signature"},
    {"svix-id", "svix-timestamp", "svix-signature"},
};

static void verify(const hs_verifier *v, const hs_http_req *req, int64_t now_s, const family *first,
                   hs_verify_outcome *out) {
    const family *f = first;
    if (!hs_verify_header(req, f->id)) f = f == &families[0] ? &families[1] : &families[0];
    if (!hs_verify_header(req, f->id)) f = first; /* neither: name the scheme's own */
    const char *id = hs_verify_header(req, f->id), *t = hs_verify_header(req, f->ts),
               *sig = hs_verify_header(req, f->sig);
    if (!id || !*id) return hs_verify_missing(out, f->id);
    if (!t || !*t) return hs_verify_missing(out, f->ts);
    if (!sig || !*sig) return hs_verify_missing(out, f->sig);
    int64_t ts;
    if (!hs_verify_parse_ts(t, strlen(t), &ts)) return hs_verify_malformed(out, f->ts, "not a number of seconds");
    hs_digest_part parts[] = {{id, strlen(id)}, {".", 1}, {t, strlen(t)}, {".", 1}, {req->body, req->body_len}};
    bool seen = false, match = false;
    for (const char *p = sig; *p && !match;) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n > 3 && strncmp(p, "v1,", 3) == 0) {
            unsigned char mac[HS_DIGEST_MAX];
            size_t len = 0;
            seen = true;
            if (hs_verify_decode(HS_VERIFY_BASE64, p + 3, n - 3, mac, sizeof mac, &len))
                match = hs_verify_hmac_any(v, "SHA256", parts, 5, mac, len);
        }
        p += n;
    }
    if (!seen) return hs_verify_malformed(out, f->sig, "no \"v1,\" signature");
    if (!match) return hs_verify_mismatch(out);
    hs_verify_fresh(v, ts, now_s, out);
}

static void verify_standard(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    verify(v, req, now_s, &families[0], out);
}

static void verify_svix(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    verify(v, req, now_s, &families[1], out);
}

/* fixed headers (no verification_header), 5 minutes like Svix's libraries */
#define SVIX_LIKE(n, fn)                                                                                               \
    {                                                                                                                  \
        .name = (n), .encoding = HS_VERIFY_BASE64, .prefix = "v1,", .tolerance_s = 300, .key = HS_VERIFY_KEY_WHSEC,    \
        .verify = (fn)                                                                                                 \
    }
const hs_verify_scheme hs_verify_standard_webhooks = SVIX_LIKE("standard_webhooks", verify_standard);
const hs_verify_scheme hs_verify_svix = SVIX_LIKE("svix", verify_svix);
