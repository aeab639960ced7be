/* src/verify/verify.c — the table of schemes, compiling a source's settings
 * into a verifier, and the helpers the scheme files share (verify.h,
 * scheme.h). */
#include "verify/scheme.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/base64.h"

/* Every scheme: adding one is its file and a line here. */
static const hs_verify_scheme *const schemes[] = {
    &hs_verify_hmac_sha256,
    &hs_verify_hmac_sha1,
    &hs_verify_standard_webhooks,
    &hs_verify_stripe,
    &hs_verify_slack,
    &hs_verify_paddle,
    &hs_verify_svix,
    &hs_verify_twilio,
    &hs_verify_sendgrid,
    &hs_verify_linear,
    &hs_verify_basic_auth,
    &hs_verify_none,
    NULL,
};

const hs_verify_scheme *const *hs_verify_schemes(void) { return schemes; }

const hs_verify_scheme *hs_verify_scheme_find(const char *name) {
    for (size_t i = 0; name && schemes[i]; i++)
        if (strcmp(schemes[i]->name, name) == 0) return schemes[i];
    return NULL;
}

const char *hs_verify_scheme_name(const hs_verify_scheme *s) { return s->name; }
hs_verify_key_kind hs_verify_scheme_key(const hs_verify_scheme *s) { return s->key; }
const char *hs_verify_scheme_header(const hs_verify_scheme *s) { return s->header; }
bool hs_verify_scheme_has_timestamp(const hs_verify_scheme *s) { return s->tolerance_s >= 0; }
bool hs_verify_scheme_takes_format(const hs_verify_scheme *s) { return s->takes_format; }

void hs_verify_scheme_list(char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; schemes[i]; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", schemes[i]->name);
        if (w < 0 || (size_t)w >= cap - len) return;
        len += (size_t)w;
    }
}

const char *hs_verify_status_reason(hs_verify_status s) {
    switch (s) {
    case HS_VERIFY_PASS: return "verified";
    case HS_VERIFY_MISSING: return "signature_missing";
    case HS_VERIFY_MALFORMED: return "signature_malformed";
    case HS_VERIFY_STALE: return "timestamp_stale";
    case HS_VERIFY_MISMATCH: return "signature_mismatch";
    }
    return "signature_mismatch";
}

/* ---- outcomes ---- */

void hs_verify_missing(hs_verify_outcome *out, const char *header) {
    out->status = HS_VERIFY_MISSING;
    snprintf(out->message, sizeof out->message, "signature verification failed: missing header %s", header);
}

void hs_verify_malformed(hs_verify_outcome *out, const char *header, const char *what) {
    out->status = HS_VERIFY_MALFORMED;
    snprintf(out->message, sizeof out->message, "signature verification failed: %s is malformed: %s", header, what);
}

void hs_verify_stale(hs_verify_outcome *out, int tolerance_s) {
    out->status = HS_VERIFY_STALE;
    snprintf(out->message, sizeof out->message,
             "signature verification failed: the signed timestamp is more than %d s from the server's clock",
             tolerance_s);
}

void hs_verify_mismatch(hs_verify_outcome *out) {
    out->status = HS_VERIFY_MISMATCH;
    snprintf(out->message, sizeof out->message,
             "signature verification failed: the signature does not match the body and secret");
}

/* ---- helpers ---- */

const char *hs_verify_header(const hs_http_req *req, const char *name) {
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
    return NULL;
}

bool hs_verify_parse_ts(const char *s, size_t n, int64_t *ts) {
    if (n == 0 || n > 15) return false; /* seconds or milliseconds, well inside int64 */
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *ts = v;
    return true;
}

bool hs_verify_fresh(const hs_verifier *v, int64_t ts, int64_t now_s, hs_verify_outcome *out) {
    if (v->tolerance_s <= 0) return true;
    int64_t d = now_s > ts ? now_s - ts : ts - now_s;
    if (d <= v->tolerance_s) return true;
    hs_verify_stale(out, v->tolerance_s);
    return false;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool hs_verify_decode(hs_verify_encoding enc, const char *s, size_t n, unsigned char *out, size_t cap, size_t *len) {
    if (enc == HS_VERIFY_HEX) {
        if (n == 0 || n % 2 || n / 2 > cap) return false;
        for (size_t i = 0; i < n / 2; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0) return false;
            out[i] = (unsigned char)(hi << 4 | lo);
        }
        *len = n / 2;
        return true;
    }
    size_t dlen = 0;
    unsigned char *d = n ? hs_base64_decode(s, n, &dlen) : NULL;
    bool ok = d && dlen <= cap && dlen > 0;
    if (ok) memcpy(out, d, dlen);
    if (d) hs_free(d);
    *len = ok ? dlen : 0;
    return ok;
}

bool hs_verify_hmac_any(const hs_verifier *v, const char *digest, const hs_digest_part *parts, size_t nparts,
                        const unsigned char *sig, size_t sig_len) {
    bool match = false;
    for (size_t k = 0; k < v->nkeys; k++) {
        unsigned char mac[HS_DIGEST_MAX];
        size_t mac_len = 0;
        if (hs_hmac(digest, v->keys[k].bytes, v->keys[k].len, parts, nparts, mac, &mac_len) == HS_OK &&
            mac_len == sig_len && CRYPTO_memcmp(mac, sig, sig_len) == 0)
            match = true;
        OPENSSL_cleanse(mac, sizeof mac);
    }
    return match;
}

/* ---- secrets ---- */

static unsigned char *whsec_decode(const char *secret, size_t *len) {
    if (strncmp(secret, "whsec_", 6) == 0) secret += 6;
    return hs_base64_decode(secret, strlen(secret), len);
}

static EVP_PKEY *ec_key(const char *secret) {
    EVP_PKEY *pkey = NULL;
    if (strstr(secret, "-----BEGIN")) {
        BIO *bio = BIO_new_mem_buf(secret, -1);
        if (bio) pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        size_t len = 0;
        unsigned char *der = hs_base64_decode(secret, strlen(secret), &len);
        const unsigned char *p = der;
        if (der) pkey = d2i_PUBKEY(NULL, &p, (long)len);
        hs_free(der);
    }
    char group[64] = "";
    size_t glen = 0;
    if (pkey && !(EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) &&
                  (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

bool hs_verify_secret_ok(hs_verify_key_kind kind, const char *secret, char *why, size_t cap) {
    size_t len = 0;
    switch (kind) {
    case HS_VERIFY_KEY_NONE:
    case HS_VERIFY_KEY_RAW: return true;
    case HS_VERIFY_KEY_WHSEC: {
        unsigned char *key = whsec_decode(secret, &len);
        if (key) {
            OPENSSL_cleanse(key, len);
            hs_free(key);
        }
        if (key && len >= 16) return true;
        snprintf(why, cap, "must be \"whsec_\" followed by the base64 of at least 16 bytes");
        return false;
    }
    case HS_VERIFY_KEY_EC_P256: {
        EVP_PKEY *pkey = ec_key(secret);
        EVP_PKEY_free(pkey);
        if (pkey) return true;
        snprintf(why, cap, "must be an EC P-256 public key: the base64 of its DER (as the sender shows it) or PEM");
        return false;
    }
    case HS_VERIFY_KEY_BASIC:
        if (strchr(secret, ':')) return true;
        snprintf(why, cap, "must be \"user:password\"");
        return false;
    }
    return false;
}

/* Decodes secret into v's next key; a secret that does not decode is left out. */
static void add_key(hs_verifier *v, const char *secret) {
    if (!secret || v->nkeys >= HS_VERIFY_SECRETS_MAX) return;
    hs_verify_key *k = &v->keys[v->nkeys];
    switch (v->scheme->key) {
    case HS_VERIFY_KEY_NONE: return;
    case HS_VERIFY_KEY_RAW:
        k->len = strlen(secret);
        k->bytes = hs_memdup(secret, k->len + 1);
        break;
    case HS_VERIFY_KEY_WHSEC: k->bytes = whsec_decode(secret, &k->len); break;
    case HS_VERIFY_KEY_EC_P256: k->pkey = ec_key(secret); break;
    case HS_VERIFY_KEY_BASIC: /* compared with Authorization's credentials, as sent */
        k->bytes = (unsigned char *)hs_base64_encode(secret, strlen(secret));
        k->len = strlen((char *)k->bytes);
        break;
    }
    if (k->bytes || k->pkey) v->nkeys++;
}

/* ---- compiling a source ---- */

static const char *str_of(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

hs_verifier *hs_verifier_new(const json_t *doc) {
    if (!json_is_true(json_object_get(doc, "verification_enabled"))) return NULL;
    const hs_verify_scheme *s = hs_verify_scheme_find(str_of(doc, "verification_type"));
    if (!s || s == &hs_verify_none) return NULL;
    hs_verifier *v = hs_calloc(1, sizeof *v);
    v->refs = 1;
    v->scheme = s;
    /* the template's settings where it uses this scheme, else the scheme's */
    const hs_verify_template *t = hs_verify_template_find(str_of(doc, "template"));
    if (t && strcmp(t->type, s->name) != 0) t = NULL;
    const char *header = t && t->header ? t->header : s->header;
    v->encoding = t ? t->encoding : s->encoding;
    const char *prefix = t ? t->prefix : s->prefix;
    v->tolerance_s = t && t->tolerance_s >= 0 ? t->tolerance_s : s->tolerance_s;
    const char *given = str_of(doc, "verification_header");
    if (given && s->header) header = given;
    const json_t *config = json_object_get(doc, "verification_config");
    const char *enc = str_of(config, "encoding");
    if (enc) v->encoding = strcmp(enc, "base64") == 0 ? HS_VERIFY_BASE64 : HS_VERIFY_HEX;
    if (str_of(config, "prefix")) prefix = str_of(config, "prefix");
    const json_t *tol = json_object_get(config, "tolerance_s");
    if (json_is_integer(tol)) v->tolerance_s = (int)json_integer_value(tol);
    if (v->tolerance_s < 0) v->tolerance_s = 0;
    snprintf(v->header, sizeof v->header, "%s", header ? header : "");
    snprintf(v->prefix, sizeof v->prefix, "%s", prefix ? prefix : "");
    add_key(v, str_of(doc, "verification_secret"));
    size_t i;
    const json_t *more;
    json_array_foreach(json_object_get(doc, "verification_secrets"), i, more) add_key(v, json_string_value(more));
    return v;
}

hs_verifier *hs_verifier_ref(hs_verifier *v) {
    if (v) __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
    return v;
}

void hs_verifier_unref(hs_verifier *v) {
    if (!v || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (size_t i = 0; i < v->nkeys; i++) {
        if (v->keys[i].bytes) {
            OPENSSL_cleanse(v->keys[i].bytes, v->keys[i].len);
            hs_free(v->keys[i].bytes);
        }
        EVP_PKEY_free(v->keys[i].pkey);
    }
    hs_free(v);
}

void hs_verifier_run(const hs_verifier *v, const hs_http_req *req, int64_t now_s, hs_verify_outcome *out) {
    memset(out, 0, sizeof *out);
    v->scheme->verify(v, req, now_s, out);
}
