/* src/verify/timestamped.c — HMAC-SHA256 over a timestamp and the body,
 * hex: Stripe (Stripe-Signature: t=<ts>,v1=<sig>[,v1=...], signed
 * "<ts>.<body>"), Paddle (Paddle-Signature: ts=<ts>;h1=<sig>[;h1=...],
 * signed "<ts>:<body>") and Slack (X-Slack-Signature: v0=<sig> with
 * X-Slack-Request-Timestamp, signed "v0:<ts>:<body>"). Several
 * signatures in one header (a sender rolling its secret) pass when any
 * matches; the signature is checked first, then the timestamp's age. */
#include <stdio.h>
#include <string.h>

#include "verify/scheme.h"

#define SIGS_MAX 8

typedef struct signed_header {
    const char *ts;
    size_t ts_len;
    size_t nsigs;
    struct {
        const char *s;
        size_t n;
    } sigs[SIGS_MAX];
} signed_header;

/* "k=v<sep>k=v...": the timestamp under ts_key, the signatures under
 * sig_key (others, such as Stripe's v0, ignored). */
static void parse_items(const char *h, char sep, const char *ts_key, const char *sig_key, signed_header *out) {
    memset(out, 0, sizeof *out);
    size_t tk = strlen(ts_key), sk = strlen(sig_key);
    while (*h) {
        while (*h == ' ') h++;
        size_t n = strcspn(h, (char[]){sep, '\0'});
        size_t end = n;
        while (end && h[end - 1] == ' ') end--;
        if (end > tk && h[tk] == '=' && strncmp(h, ts_key, tk) == 0) {
            out->ts = h + tk + 1;
            out->ts_len = end - tk - 1;
        } else if (end > sk && h[sk] == '=' && strncmp(h, sig_key, sk) == 0 && out->nsigs < SIGS_MAX) {
            out->sigs[out->nsigs].s = h + sk + 1;
            out->sigs[out->nsigs++].n = end - sk - 1;
        }
        h += n;
        if (*h) h++;
    }
}

/* Any of the header's signatures against HMAC(parts), then the age. */
static void check(const hs_verifier *v, const signed_header *sh, const hs_digest_part *parts, size_t nparts, int64_t ts,
                  int64_t now_s, hs_verify_outcome *out) {
    bool match = false;
    for (size_t i = 0; i < sh->nsigs && !match; i++) {
        unsigned char sig[HS_DIGEST_MAX];
        size_t len = 0;
        if (!hs_verify_decode(HS_VERIFY_HEX, sh->sigs[i].s, sh->sigs[i].n, sig, sizeof sig, &len)) continue;
        match = hs_verify_hmac_any(v, "SHA256", parts, nparts, sig, len);
    }
    if (!match)
        hs_verify_mismatch(out);
    else
        hs_verify_fresh(v, ts, now_s, out);
}

/* Stripe and Paddle: the timestamp and signatures in one header. */
static void verify_items(const hs_verifier *v, const hs_http_req *req, int64_t now_s, char sep, const char *ts_key,
                         const char *sig_key, const char *joiner, hs_verify_outcome *out) {
    const char *h = hs_verify_header(req, v->header);
    if (!h || !*h) return hs_verify_missing(out, v->header);
    signed_header sh;
    parse_items(h, sep, ts_key, sig_key, &sh);
    int64_t ts;
    char what[64];
    if (!sh.ts || !hs_verify_parse_ts(sh.ts, sh.ts_len, &ts)) {
        snprintf(what, sizeof what, "no %s= timestamp", ts_key);
        return hs_verify_malformed(out, v->header, what);
    }
    if (!sh.nsigs) {
        snprintf(what, sizeof what, "no %s= signature", sig_key);
        return hs_verify_malformed(out, v->header, what);
    }
    hs_digest_part parts[] = {{sh.ts, sh.ts_len}, {joiner, 1}, {req->body, req->body_len}};
    check(v, &sh, parts, 3, ts, now_s, out);
}

static void verify_stripe(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    verify_items(v, req, now_s, ',', "t", "v1", ".", out);
}

static void verify_paddle(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    verify_items(v, req, now_s, ';', "ts", "h1", ":", out);
}

#define SLACK_TS "X-Slack-Request-Timestamp"

static void verify_slack(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    const char *h = hs_verify_header(req, v->header), *t = hs_verify_header(req, SLACK_TS);
    if (!h || !*h) return hs_verify_missing(out, v->header);
    if (!t || !*t) return hs_verify_missing(out, SLACK_TS);
    int64_t ts;
    if (!hs_verify_parse_ts(t, strlen(t), &ts)) return hs_verify_malformed(out, SLACK_TS, "not a number of seconds");
    size_t plen = strlen(v->prefix);
    if (strncmp(h, v->prefix, plen) != 0) {
        char what[96];
        snprintf(what, sizeof what, "it does not start with \"%s\"", v->prefix);
        return hs_verify_malformed(out, v->header, what);
    }
    signed_header sh = {.nsigs = 1};
    sh.sigs[0].s = h + plen;
    sh.sigs[0].n = strlen(h + plen);
    hs_digest_part parts[] = {{"v0:", 3}, {t, strlen(t)}, {":", 1}, {req->body, req->body_len}};
    check(v, &sh, parts, 4, ts, now_s, out);
}

const hs_verify_scheme hs_verify_stripe = {
    .name = "stripe",
    .header = "Stripe-Signature",
    .encoding = HS_VERIFY_HEX,
    .prefix = "",
    .tolerance_s = 300,
    .key = HS_VERIFY_KEY_RAW,
    .verify = verify_stripe,
};

const hs_verify_scheme hs_verify_paddle = {
    .name = "paddle",
    .header = "Paddle-Signature",
    .encoding = HS_VERIFY_HEX,
    .prefix = "",
    .tolerance_s = 5,
    .key = HS_VERIFY_KEY_RAW,
    .verify = verify_paddle,
};

const hs_verify_scheme hs_verify_slack = {
    .name = "slack",
    .header = "X-Slack-Signature",
    .encoding = HS_VERIFY_HEX,
    .prefix = "v0=",
    .tolerance_s = 300,
    .key = HS_VERIFY_KEY_RAW,
    .verify = verify_slack,
};
