/* src/verify/basic.c — senders that sign nothing. basic_auth: the
 * credentials the sender puts in the URL it calls (Postmark's
 * https://user:password@host/...), sent as Authorization: Basic, compared
 * in constant time with the secret "user:password". none: nothing is
 * checked (a template such as postmark's, for sources that rely on IP
 * lists instead). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "verify/scheme.h"

static void verify_basic(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    (void)now_s;
    const char *h = hs_verify_header(req, v->header);
    if (!h || !*h) return hs_verify_missing(out, v->header);
    if (strncasecmp(h, "Basic ", 6) != 0) return hs_verify_malformed(out, v->header, "not Basic credentials");
    h += 6;
    while (*h == ' ') h++;
    size_t n = strlen(h);
    bool match = false;
    for (size_t k = 0; k < v->nkeys; k++)
        if (v->keys[k].len == n && CRYPTO_memcmp(v->keys[k].bytes, h, n) == 0) match = true;
    if (!match) {
        out->status = HS_VERIFY_MISMATCH;
        snprintf(out->message, sizeof out->message, "signature verification failed: the credentials do not match");
    }
}

static void verify_none(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    (void)v, (void)req, (void)now_s, (void)out;
}

const hs_verify_scheme hs_verify_basic_auth = {
    .name = "basic_auth",
    .header = "Authorization",
    .encoding = HS_VERIFY_BASE64,
    .prefix = "",
    .tolerance_s = -1,
    .key = HS_VERIFY_KEY_BASIC,
    .verify = verify_basic,
};

const hs_verify_scheme hs_verify_none = {
    .name = "none",
    .prefix = "",
    .tolerance_s = -1,
    .key = HS_VERIFY_KEY_NONE,
    .verify = verify_none,
};
