/* src/verify/twilio.c — Twilio's request signature: X-Twilio-Signature is
 * the base64 HMAC-SHA1, under the account's auth token, of the full URL
 * Twilio requested followed, for a form body
 * (application/x-www-form-urlencoded), by every parameter's name and value
 * with no separators, sorted by name (then value). A JSON body is not
 * signed itself: Twilio adds bodySHA256 (the hex SHA-256 of the body) to
 * the URL's query, which is signed, and that hash must match the body.
 *
 * The URL: Twilio signs the URL as it was configured there; hookstream sees
 * the Host header and the request target, and the scheme from
 * X-Forwarded-Proto when a proxy in front says it, else tries https then
 * http. Twilio signs no timestamp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "http/query.h"
#include "verify/scheme.h"

#define PARAMS_MAX 256
#define URL_MAX 4096

typedef struct param {
    char *name, *value;
} param;

/* Form decoding ('+' is a space); a bad escape is kept as it came. */
static char *form_decode(const char *s, size_t n) {
    char *out = hs_percent_decode(s, n, 1);
    return out ? out : hs_strndup(s, n);
}

static int by_name(const void *a, const void *b) {
    const param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* The form's parameters, sorted, as Twilio concatenates them. */
static void form_params(const char *body, size_t len, hs_buf *out) {
    param *ps = hs_calloc(PARAMS_MAX, sizeof *ps);
    size_t n = 0;
    for (size_t i = 0; i < len && n < PARAMS_MAX;) {
        size_t end = i;
        while (end < len && body[end] != '&') end++;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t klen = eq ? (size_t)(eq - (body + i)) : end - i;
            ps[n].name = form_decode(body + i, klen);
            ps[n].value = eq ? form_decode(eq + 1, (size_t)(body + end - eq - 1)) : hs_strdup("");
            n++;
        }
        i = end + 1;
    }
    qsort(ps, n, sizeof *ps, by_name);
    for (size_t i = 0; i < n; i++) {
        hs_buf_appends(out, ps[i].name);
        hs_buf_appends(out, ps[i].value);
        hs_free(ps[i].name);
        hs_free(ps[i].value);
    }
    hs_free(ps);
}

/* The bodySHA256 query parameter of target, or NULL. */
static const char *body_sha_param(const char *target, size_t *n) {
    const char *q = strchr(target, '?');
    for (const char *p = q; p && *p;) {
        p++;
        if (strncmp(p, "bodySHA256=", 11) == 0) {
            *n = strcspn(p + 11, "&");
            return p + 11;
        }
        p = strchr(p, '&');
    }
    return NULL;
}

static bool is_form(const hs_http_req *req) {
    const char *ct = hs_verify_header(req, "Content-Type");
    return ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

static void verify_twilio(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    (void)now_s;
    const char *h = hs_verify_header(req, v->header), *host = hs_verify_header(req, "Host");
    if (!h || !*h) return hs_verify_missing(out, v->header);
    if (!host || !*host) return hs_verify_missing(out, "Host");
    unsigned char sig[HS_DIGEST_MAX];
    size_t sig_len = 0;
    if (!hs_verify_decode(HS_VERIFY_BASE64, h, strlen(h), sig, sizeof sig, &sig_len))
        return hs_verify_malformed(out, v->header, "not base64");
    size_t sha_len = 0;
    const char *sha = body_sha_param(req->target, &sha_len);
    hs_buf params;
    hs_buf_init(&params, SIZE_MAX);
    if (!sha && is_form(req)) form_params(req->body, req->body_len, &params);
    const char *proto = hs_verify_header(req, "X-Forwarded-Proto");
    const char *const tries[] = {proto ? proto : "https", proto ? NULL : "http"};
    bool match = false;
    for (size_t i = 0; i < 2 && tries[i] && !match; i++) {
        char url[URL_MAX];
        int n = snprintf(url, sizeof url, "%s://%s%s", tries[i], host, req->target);
        if (n < 0 || (size_t)n >= sizeof url) break;
        hs_digest_part parts[] = {{url, (size_t)n}, {params.data ? params.data : "", params.len}};
        match = hs_verify_hmac_any(v, "SHA1", parts, 2, sig, sig_len);
    }
    hs_buf_free(&params);
    if (!match) return hs_verify_mismatch(out);
    if (sha) {
        char hex[65];
        hs_sha256_hex(req->body, req->body_len, hex);
        if (sha_len != 64 || strncasecmp(sha, hex, 64) != 0) hs_verify_mismatch(out);
    }
}

const hs_verify_scheme hs_verify_twilio = {
    .name = "twilio",
    .header = "X-Twilio-Signature",
    .encoding = HS_VERIFY_BASE64,
    .prefix = "",
    .tolerance_s = -1,
    .key = HS_VERIFY_KEY_RAW,
    .verify = verify_twilio,
};
