/* src/providers/signing.c — outbound webhook signatures (src/providers/signing.h, docs/api.md, docs/scheduler.md).
 *
 * HMAC through src/base/digest.h, fed part by part so that "<ts>.<body>" is never
 * assembled in a copy of the body. Bodies are byte
 * strings (lengths, never strlen): a NUL inside is signed like any byte.
 * Decoded keys and raw MACs are wiped (OPENSSL_cleanse) before they are
 * released; the signature values themselves are sent and are not secret.
 */
#include "providers/signing.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/digest.h"
#include "base/id.h"
#include "base/timeutil.h"

#define DEFAULT_HEADER "X-hookstream-Signature"
#define DEFAULT_TS_HEADER "X-hookstream-Signature-Timestamp"
#define WHSEC "whsec_"

/* OpenSSL's digest name for a signing.algorithm, NULL when unsupported. */
static const char *digest_name(const char *algorithm) {
    if (!algorithm) return NULL;
    if (strcmp(algorithm, "sha256") == 0) return "SHA256";
    if (strcmp(algorithm, "sha1") == 0) return "SHA1";
    return NULL;
}

int hs_sign_hmac_hex(const char *algorithm, const void *key, size_t key_len, const void *payload, size_t payload_len,
                     char *out, size_t out_cap) {
    const char *digest = digest_name(algorithm);
    if (!digest || !out) return HS_ERR_INVALID;
    unsigned char mac[HS_DIGEST_MAX];
    size_t mac_len = 0;
    hs_digest_part p = {payload, payload_len};
    int rc = hs_hmac(digest, key, key_len, &p, 1, mac, &mac_len);
    if (rc == HS_OK && out_cap < 2 * mac_len + 1) rc = HS_ERR_INVALID;
    if (rc == HS_OK) hs_hex(mac, mac_len, out);
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

static int add(hs_out_req *req, const char *name, const char *value, hs_error *err) {
    int rc = hs_out_req_add_header(req, name, value, false);
    return rc ? hs_error_set(err, rc, "signing", "cannot add the %s header: too many headers", name) : HS_OK;
}

static const char *str_or(const json_t *obj, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : dflt;
}

/* hookstream: prefix + hex(HMAC(secret, [ts "."] body)) into *out (heap). */
static int sig_hookstream(const json_t *signing, const char *secret, const char *ts, const hs_out_req *req, char **out,
                          hs_error *err) {
    const char *algorithm = str_or(signing, "algorithm", "sha256");
    const char *digest = digest_name(algorithm);
    if (!digest) return hs_error_set(err, HS_ERR_INVALID, "signing.algorithm", "must be sha256 or sha1");
    hs_digest_part parts[3];
    size_t n = 0;
    if (json_is_true(json_object_get(signing, "include_timestamp"))) {
        parts[n++] = (hs_digest_part){ts, strlen(ts)};
        parts[n++] = (hs_digest_part){".", 1};
    }
    parts[n++] = (hs_digest_part){req->body, req->body_len};

    unsigned char mac[HS_DIGEST_MAX];
    size_t mac_len = 0;
    char hex[2 * HS_DIGEST_MAX + 1];
    int rc = hs_hmac(digest, secret, strlen(secret), parts, n, mac, &mac_len);
    if (rc) {
        OPENSSL_cleanse(mac, sizeof mac);
        return hs_error_set(err, rc, "signing", "HMAC failed");
    }
    hs_hex(mac, mac_len, hex);
    OPENSSL_cleanse(mac, sizeof mac);

    /* the validated doc holds prefix; a doc without one gets the default */
    char dflt_prefix[16];
    snprintf(dflt_prefix, sizeof dflt_prefix, "%s=", algorithm);
    *out = hs_sprintf("%s%s", str_or(signing, "prefix", dflt_prefix), hex);
    OPENSSL_cleanse(hex, sizeof hex);
    return HS_OK;
}

/* Standard Webhooks: "v1," + base64(HMAC-SHA256(key, "<id>.<ts>.<body>")),
 * key = base64 decode of the secret after "whsec_", into *out (heap). */
static int sig_standard(const char *secret, const char *msg_id, const char *ts, const hs_out_req *req, char **out,
                        hs_error *err) {
    size_t plen = strlen(WHSEC), key_len = 0;
    unsigned char *key =
        strncmp(secret, WHSEC, plen) == 0 ? hs_base64_decode(secret + plen, strlen(secret + plen), &key_len) : NULL;
    if (!key)
        return hs_error_set(err, HS_ERR_INVALID, "signing.secret",
                            "must be \"whsec_\" followed by base64 for the standard_webhooks scheme");
    hs_digest_part parts[] = {
        {msg_id, strlen(msg_id)}, {".", 1}, {ts, strlen(ts)}, {".", 1}, {req->body, req->body_len},
    };
    unsigned char mac[HS_DIGEST_MAX];
    size_t mac_len = 0;
    int rc = hs_hmac("SHA256", key, key_len, parts, sizeof parts / sizeof parts[0], mac, &mac_len);
    OPENSSL_cleanse(key, key_len);
    hs_free(key);
    if (rc) {
        OPENSSL_cleanse(mac, sizeof mac);
        return hs_error_set(err, rc, "signing", "HMAC failed");
    }
    char *b64 = hs_base64_encode(mac, mac_len);
    OPENSSL_cleanse(mac, sizeof mac);
    *out = hs_sprintf("v1,%s", b64);
    hs_free_secret(b64);
    return HS_OK;
}

/* The previous secret while a rotation's overlap lasts (before its
 * previous_secret_expires_at), else NULL. */
static const char *previous_secret(const json_t *signing, uint64_t unix_ts) {
    const char *prev = json_string_value(json_object_get(signing, "previous_secret"));
    const char *until = json_string_value(json_object_get(signing, "previous_secret_expires_at"));
    uint64_t ms;
    if (!prev || !prev[0] || !until || !hs_parse_time(until, &ms)) return NULL;
    return unix_ts * 1000 < ms ? prev : NULL;
}

int hs_sign_request(const json_t *signing, const char *msg_id, uint64_t unix_ts, hs_out_req *req, hs_error *err) {
    if (!signing || json_is_null(signing)) return HS_OK;
    if (!json_is_object(signing)) return hs_error_set(err, HS_ERR_INVALID, "signing", "must be an object");
    const char *secret = json_string_value(json_object_get(signing, "secret"));
    if (!secret || !secret[0]) return hs_error_set(err, HS_ERR_INVALID, "signing.secret", "is required");
    char ts[24];
    snprintf(ts, sizeof ts, "%" PRIu64, unix_ts);
    const char *scheme = str_or(signing, "scheme", "hookstream");
    bool standard = strcmp(scheme, "standard_webhooks") == 0;
    if (!standard && strcmp(scheme, "hookstream") != 0)
        return hs_error_set(err, HS_ERR_INVALID, "signing.scheme", "must be hookstream or standard_webhooks");
    if (standard && (!msg_id || !msg_id[0]))
        return hs_error_set(err, HS_ERR_INVALID, "signing", "a message id is required");
    /* the current secret's signature first, then the previous one's */
    const char *secrets[2] = {secret, previous_secret(signing, unix_ts)};
    char *sig[2] = {NULL, NULL};
    int rc = HS_OK;
    for (size_t i = 0; i < 2 && rc == HS_OK && secrets[i]; i++)
        rc = standard ? sig_standard(secrets[i], msg_id, ts, req, &sig[i], err)
                      : sig_hookstream(signing, secrets[i], ts, req, &sig[i], err);
    /* Standard Webhooks lists signatures separated by spaces; the
     * hookstream scheme's header, as an HTTP list, by ", " */
    char *value =
        rc == HS_OK ? (sig[1] ? hs_sprintf("%s%s%s", sig[0], standard ? " " : ", ", sig[1]) : hs_strdup(sig[0])) : NULL;
    if (rc == HS_OK && standard) {
        rc = add(req, "webhook-id", msg_id, err);
        if (rc == HS_OK) rc = add(req, "webhook-timestamp", ts, err);
        if (rc == HS_OK) rc = add(req, "webhook-signature", value, err);
    } else if (rc == HS_OK) {
        rc = add(req, str_or(signing, "header", DEFAULT_HEADER), value, err);
        if (rc == HS_OK && json_is_true(json_object_get(signing, "include_timestamp")))
            rc = add(req, str_or(signing, "timestamp_header", DEFAULT_TS_HEADER), ts, err);
    }
    hs_free_secret(value);
    hs_free_secret(sig[0]);
    hs_free_secret(sig[1]);
    return rc;
}
