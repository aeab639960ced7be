/* src/providers/gcp/oauth_grant.c — the JWT-bearer token request (see src/providers/gcp/oauth_grant.h). */
#include "providers/gcp/oauth_grant.h"

#include <curl/curl.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonv.h"
#include "http/netguard.h"
#include "providers/gcp/oauth_token.h"
#include "base/version.h"

#define GRANT_PREFIX                                                                                                   \
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&"                                                \
    "assertion="
#define WHY_MAX 160 /* characters of the endpoint's own explanation kept */

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
    /* a shorter count than given makes curl stop with CURLE_WRITE_ERROR */
    return hs_buf_append(ud, data, size * n) == HS_OK ? size * n : 0;
}

/* The token goes in an Authorization header: visible ASCII only. */
static bool header_safe(const char *s) {
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e) return false;
    return true;
}

/* {"access_token","expires_in","token_type"} of a 2xx answer. */
static int read_token(const hs_buf *body, char **token, uint64_t *lifetime_s, hs_error *err) {
    json_t *doc = json_loadb(body->data, body->len, 0, NULL);
    const char *tok = hs_jv_str(doc, "access_token"), *type = hs_jv_str(doc, "token_type");
    json_t *exp = json_object_get(doc, "expires_in");
    int rc = HS_OK;
    if (!tok || !tok[0] || strlen(tok) > HS_OAUTH_TOKEN_MAX || !header_safe(tok))
        rc = hs_error_set(err, HS_ERR_IO, NULL, "the token endpoint's answer has no usable access_token");
    else if (type && strcasecmp(type, "Bearer") != 0)
        rc = hs_error_set(err, HS_ERR_PERMANENT, NULL, "the token endpoint gave a %.40s token, not a Bearer token",
                          type);
    else if (exp && (!json_is_integer(exp) || json_integer_value(exp) <= 0))
        rc = hs_error_set(err, HS_ERR_IO, NULL, "the token endpoint's answer has an invalid expires_in");
    if (rc == HS_OK) {
        *token = hs_strdup(tok);
        *lifetime_s = exp ? (uint64_t)json_integer_value(exp) : HS_OAUTH_DEFAULT_LIFETIME_S;
    }
    /* the document holds the token too: jansson frees without wiping, so
     * overwrite the string in place first */
    json_t *t = json_object_get(doc, "access_token");
    if (json_is_string(t)) memset((char *)json_string_value(t), 0, json_string_length(t));
    json_decref(doc);
    return rc;
}

/* An error answer: RFC 6749 §5.2 {"error","error_description"}. */
static int refused(long status, const hs_buf *body, hs_error *err) {
    json_t *doc = json_loadb(body->data, body->len, 0, NULL);
    const char *code = hs_jv_str(doc, "error"), *why = hs_jv_str(doc, "error_description");
    bool retry = status >= 500 || status == 429 || status == 408 || status < 400;
    hs_error_set(err, retry ? HS_ERR_IO : HS_ERR_PERMANENT, NULL, "token endpoint answered HTTP %ld %.60s%s%.*s%s",
                 status, code ? code : "(no error code)", why ? ": " : "", WHY_MAX, why ? why : "",
                 retry ? "" : " (not retried)");
    json_decref(doc);
    return err->code;
}

static int transport_error(CURLcode cc, const char *errbuf, const hs_netguard_refusal *guard, hs_error *err) {
    if (guard->addr[0]) { /* the SSRF guard refused the address: permanent */
        char msg[384];
        hs_netguard_message(guard, msg, sizeof msg);
        return hs_error_set(err, HS_ERR_PERMANENT, NULL, "token endpoint %s", msg);
    }
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_WRITE_ERROR) why = "the answer is too large";
    return hs_error_set(err, cc == CURLE_OPERATION_TIMEDOUT ? HS_ERR_TIMEOUT : HS_ERR_IO, NULL,
                        "token endpoint unreachable: %s", why);
}

int hs_oauth_jwt_bearer(const char *token_url, const char *assertion, uint64_t timeout_ms, char **token,
                        uint64_t *lifetime_s, hs_error *err) {
    hs_error local;
    if (!err) err = &local;
    *token = NULL;
    CURL *c = curl_easy_init();
    if (!c) return hs_error_set(err, HS_ERR_IO, NULL, "cannot start the token request");
    /* the assertion is base64url and dots: nothing to percent-encode */
    char *form = hs_sprintf("%s%s", GRANT_PREFIX, assertion);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hs_buf body;
    hs_buf_init(&body, HS_OAUTH_ANSWER_MAX);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, token_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hookstream/" HS_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)&body);
    hs_netguard_refusal refusal;
    hs_netguard_arm(c, &refusal);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int rc;
    if (cc != CURLE_OK)
        rc = transport_error(cc, errbuf, &refusal, err);
    else if (status >= 200 && status < 300)
        rc = read_token(&body, token, lifetime_s, err);
    else
        rc = refused(status, &body, err);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    hs_free_secret(form);
    if (body.data) memset(body.data, 0, body.len);
    hs_buf_free(&body);
    return rc;
}
