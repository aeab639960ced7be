/* src/providers/aws/sigv4.c — AWS Signature Version 4 (src/providers/aws/sigv4.h).
 *
 * The steps of the AWS documentation, one function each: canonical request
 * (method, URI, query, headers, signed header list, payload hash), string to
 * sign, signing key (an HMAC chain from "AWS4" + secret over date, region,
 * service, "aws4_request"), signature. hs_sigv4_sign and the test suite both
 * go through hs_sigv4_compute so what the suite checks is what is sent.
 *
 * Texts are built in capped hs_bufs: a request is bounded (URL 2048 bytes,
 * 64 headers), so hitting SIGV4_TEXT_MAX means a bug or abuse, not a case to
 * handle. Derived keys and the "AWS4" + secret copy are wiped after use.
 */
#include "providers/aws/sigv4.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/alloc.h"
#include "base/digest.h"
#include "base/id.h"
#include "base/url.h"

#define SIGV4_TEXT_MAX (1u << 20)
#define ALGORITHM "AWS4-HMAC-SHA256"
#define SHA256_LEN 32

typedef struct span {
    const char *p;
    size_t n;
} span;

/* ---- percent-encoding ---- */

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

int hs_sigv4_uri_encode(hs_buf *out, const char *s, size_t n, bool keep_slash) {
    static const char digits[] = "0123456789ABCDEF";
    int rc = HS_OK;
    for (size_t i = 0; i < n && rc == HS_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = hs_buf_append(out, &s[i], 1);
        } else {
            char esc[3] = {'%', digits[c >> 4], digits[c & 15]};
            rc = hs_buf_append(out, esc, 3);
        }
    }
    return rc;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new buffer (never longer than n). A '%'
 * not followed by two hex digits is kept as it is: it was never an escape,
 * and encoding it later gives "%25", which is what a server sees too. */
static char *decode(const char *s, size_t n, bool plus_is_space, size_t *out_len) {
    char *d = hs_malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = s[i] == '%' && i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
        if (lo >= 0) {
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[j++] = plus_is_space && s[i] == '+' ? ' ' : s[i];
        }
    }
    d[j] = '\0';
    *out_len = j;
    return d;
}

/* ---- canonical URI ---- */

/* Other services: the path as sent, with empty, "." and ".." segments
 * removed (AWS: "normalize URI paths according to RFC 3986", and its test
 * suite collapses "//"), then each segment encoded again. The path is not
 * decoded first: the server encodes what it received, so "%20" on the wire
 * becomes "%2520" and a ':' left raw becomes "%3A". A trailing '/' stays, and
 * a final "." or ".." leaves one, as RFC 3986's remove_dot_segments does. */
static int canonical_uri_normalized(const char *path, hs_buf *out) {
    size_t len = strlen(path), n = 0;
    span *seg = hs_malloc(sizeof(span) * (len / 2 + 1)); /* non-empty segments need a '/' each */
    bool trailing = false;
    for (const char *p = path; *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        size_t sl = strcspn(p, "/");
        bool dot = sl == 1 && p[0] == '.', dotdot = sl == 2 && p[0] == '.' && p[1] == '.';
        if (dotdot && n > 0) n--;
        if (!dot && !dotdot) seg[n++] = (span){p, sl};
        trailing = dot || dotdot || p[sl] == '/';
        p += sl;
    }
    int rc = HS_OK;
    for (size_t i = 0; i < n && rc == HS_OK; i++) {
        rc = hs_buf_append(out, "/", 1);
        if (rc == HS_OK) rc = hs_sigv4_uri_encode(out, seg[i].p, seg[i].n, false);
    }
    if (rc == HS_OK && (n == 0 || trailing)) rc = hs_buf_append(out, "/", 1);
    hs_free(seg);
    return rc;
}

/* S3: the object key is the path decoded once, and S3 signs it encoded once
 * with its '/' kept and nothing normalized ("a//b" and "./" are key bytes). */
static int canonical_uri_s3(const char *path, hs_buf *out) {
    size_t n = 0;
    char *raw = decode(path, strlen(path), false, &n);
    int rc = raw[0] == '/' ? HS_OK : hs_buf_append(out, "/", 1);
    if (rc == HS_OK) rc = hs_sigv4_uri_encode(out, raw, n, true);
    hs_free(raw);
    return rc;
}

int hs_sigv4_canonical_uri(const char *path, bool s3_path, hs_buf *out) {
    if (!path) path = "";
    return s3_path ? canonical_uri_s3(path, out) : canonical_uri_normalized(path, out);
}

/* ---- canonical query ---- */

typedef struct qparam {
    char *name; /* encoded */
    char *value;
} qparam;

static int cmp_param(const void *a, const void *b) {
    const qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Decode then encode: input already percent-encoded is not encoded twice,
 * and raw bytes (UTF-8, spaces) get encoded. '+' is a space, as in the form
 * encoding query strings use; a literal plus has to be sent as %2B. */
static char *reencode(const char *s, size_t n) {
    size_t dn = 0;
    char *d = decode(s, n, true, &dn);
    hs_buf b;
    hs_buf_init(&b, 3 * dn + 1); /* cannot be reached: each byte gives at most 3 */
    hs_sigv4_uri_encode(&b, d, dn, false);
    hs_free(d);
    size_t len;
    char *r = hs_buf_detach(&b, &len);
    return r ? r : hs_strdup("");
}

/* Splits query at '&' into params[] (empty pieces skipped); returns the count. */
static size_t parse_query(const char *query, qparam *params) {
    size_t n = 0;
    for (const char *p = query; *p;) {
        size_t pl = strcspn(p, "&");
        if (pl > 0) {
            const char *eq = memchr(p, '=', pl);
            size_t nl = eq ? (size_t)(eq - p) : pl;
            params[n].name = reencode(p, nl);
            params[n].value = eq ? reencode(eq + 1, pl - nl - 1) : hs_strdup("");
            n++;
        }
        p += pl;
        if (*p == '&') p++;
    }
    return n;
}

int hs_sigv4_canonical_query(const char *query, hs_buf *out) {
    if (!query || !query[0]) return HS_OK;
    size_t cap = 1;
    for (const char *p = query; *p; p++) cap += *p == '&';
    qparam *params = hs_malloc(sizeof(qparam) * cap);
    size_t n = parse_query(query, params);
    qsort(params, n, sizeof(qparam), cmp_param);
    int rc = HS_OK;
    for (size_t i = 0; i < n; i++) {
        if (rc == HS_OK) rc = hs_buf_appendf(out, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value);
        hs_free(params[i].name);
        hs_free(params[i].value);
    }
    hs_free(params);
    return rc;
}

/* ---- canonical headers ---- */

typedef struct chdr {
    char *name;  /* lower case */
    char *value; /* trimmed, inner whitespace runs made one space */
    size_t order;
} chdr;

/* Same name sorted by position, so repeated headers join in request order
 * (qsort is not stable by itself). */
static int cmp_header(const void *a, const void *b) {
    const chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* the ASCII whitespace of the AWS SDKs' trim: space, \t \n \v \f \r */
static bool is_ws(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* AWS: "Trimall": leading and trailing whitespace removed, sequential
 * whitespace converted to a single space (quoted strings included). */
static char *trim_all(const char *v) {
    char *d = hs_malloc(strlen(v) + 1);
    size_t j = 0;
    for (const char *p = v; *p;) {
        if (is_ws(*p)) {
            while (is_ws(*p)) p++;
            if (j > 0 && *p) d[j++] = ' ';
        } else {
            d[j++] = *p++;
        }
    }
    d[j] = '\0';
    return d;
}

static char *lower(const char *s) {
    char *d = hs_strdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return d;
}

/* Appends "name:v1,v2\n" per distinct name to creq and "name;name2" to
 * signed_list, from the sorted hs[0..n). */
static int emit_headers(const chdr *hs, size_t n, hs_buf *creq, hs_buf *signed_list) {
    int rc = HS_OK;
    for (size_t i = 0; i < n && rc == HS_OK; i++) {
        bool first = i == 0 || strcmp(hs[i - 1].name, hs[i].name) != 0;
        bool last = i + 1 == n || strcmp(hs[i + 1].name, hs[i].name) != 0;
        if (first) rc = hs_buf_appendf(creq, "%s:", hs[i].name);
        if (first && rc == HS_OK) rc = hs_buf_appendf(signed_list, "%s%s", i ? ";" : "", hs[i].name);
        if (rc == HS_OK) rc = hs_buf_appendf(creq, "%s%s", hs[i].value, last ? "\n" : ",");
    }
    return rc;
}

/* Canonical headers (each line ending in '\n') into creq, the signed header
 * list into signed_list. Authorization is never signed: it is the output. */
static int canonical_headers(const hs_out_header *headers, size_t nheaders, hs_buf *creq, hs_buf *signed_list) {
    chdr *hs = hs_malloc(sizeof(chdr) * (nheaders + 1));
    size_t n = 0;
    for (size_t i = 0; i < nheaders; i++) {
        if (strcasecmp(headers[i].name, "authorization") == 0) continue;
        hs[n++] = (chdr){lower(headers[i].name), trim_all(headers[i].value), i};
    }
    qsort(hs, n, sizeof(chdr), cmp_header);
    int rc = emit_headers(hs, n, creq, signed_list);
    for (size_t i = 0; i < n; i++) {
        hs_free(hs[i].name);
        hs_free(hs[i].value);
    }
    hs_free(hs);
    return rc;
}

/* ---- canonical request, string to sign, signature ---- */

/* The payload hash: S3 signs what X-Amz-Content-Sha256 says (it may be
 * UNSIGNED-PAYLOAD); otherwise the body's hex SHA-256. */
static char *payload_hash(const hs_sigv4_request *r) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, "x-amz-content-sha256") == 0) return trim_all(r->headers[i].value);
    char *hex = hs_malloc(65);
    hs_sha256_hex(r->body, r->body_len, hex);
    return hex;
}

static int canonical_request(const hs_sigv4_request *r, bool s3_path, hs_buf *creq, hs_buf *signed_list) {
    int rc = hs_buf_appendf(creq, "%s\n", r->method);
    if (rc == HS_OK) rc = hs_sigv4_canonical_uri(r->path, s3_path, creq);
    if (rc == HS_OK) rc = hs_buf_append(creq, "\n", 1);
    if (rc == HS_OK) rc = hs_sigv4_canonical_query(r->query, creq);
    if (rc == HS_OK) rc = hs_buf_append(creq, "\n", 1);
    if (rc == HS_OK) rc = canonical_headers(r->headers, r->nheaders, creq, signed_list);
    char *hash = payload_hash(r);
    if (rc == HS_OK) rc = hs_buf_appendf(creq, "\n%s\n%s", signed_list->data ? signed_list->data : "", hash);
    hs_free(hash);
    return rc;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"); then the hex signature of sts under it. */
static int signature(const char *secret, const char *date8, const hs_sigv4_opts *opts, const char *sts, char hex[65]) {
    size_t slen = strlen(secret);
    char *k0 = hs_malloc(slen + 5);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen + 1);
    unsigned char k[SHA256_LEN], next[SHA256_LEN], sig[SHA256_LEN];
    const char *steps[] = {date8, opts->region, opts->service, "aws4_request"};
    int rc = hs_hmac_sha256(k0, slen + 4, steps[0], strlen(steps[0]), k);
    for (size_t i = 1; i < 4 && rc == HS_OK; i++) {
        rc = hs_hmac_sha256(k, sizeof k, steps[i], strlen(steps[i]), next); /* not in place: no aliasing */
        memcpy(k, next, sizeof k);
    }
    if (rc == HS_OK) rc = hs_hmac_sha256(k, sizeof k, sts, strlen(sts), sig);
    if (rc == HS_OK) hs_hex(sig, sizeof sig, hex);
    OPENSSL_cleanse(k0, slen + 4);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(next, sizeof next);
    hs_free(k0);
    return rc;
}

static bool amz_date_ok(const char *d) {
    if (!d || strlen(d) != HS_SIGV4_AMZ_DATE_LEN || d[8] != 'T' || d[15] != 'Z') return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9')) return false;
    return true;
}

static bool nonempty(const char *s) { return s && s[0]; }

/* A scope part must not contain the '/' that separates the parts. */
static bool scope_part_ok(const char *s) { return nonempty(s) && !strchr(s, '/'); }

static int check_inputs(const hs_sigv4_request *r, const hs_sigv4_key *key, const hs_sigv4_opts *opts, hs_error *err) {
    if (!r || !nonempty(r->method) || !r->path || (r->nheaders && !r->headers) || (r->body_len && !r->body))
        return hs_error_set(err, HS_ERR_INVALID, "request", "is incomplete");
    for (size_t i = 0; i < r->nheaders; i++)
        if (!nonempty(r->headers[i].name) || !r->headers[i].value)
            return hs_error_set(err, HS_ERR_INVALID, "headers", "has a header without a name or value");
    if (!amz_date_ok(r->amz_date))
        return hs_error_set(err, HS_ERR_INVALID, "x-amz-date", "must look like 20150830T123600Z");
    if (!key || !scope_part_ok(key->access_key_id))
        return hs_error_set(err, HS_ERR_INVALID, "access_key_id", "is required and must not contain '/'");
    if (!nonempty(key->secret_access_key)) return hs_error_set(err, HS_ERR_INVALID, "secret_access_key", "is required");
    if (!opts || !scope_part_ok(opts->region))
        return hs_error_set(err, HS_ERR_INVALID, "region", "is required and must not contain '/'");
    if (!scope_part_ok(opts->service))
        return hs_error_set(err, HS_ERR_INVALID, "service", "is required and must not contain '/'");
    return HS_OK;
}

/* string to sign and Authorization, from the finished canonical request */
static int sign_texts(const hs_sigv4_request *r, const hs_sigv4_key *key, const hs_sigv4_opts *opts, const char *creq,
                      const char *signed_list, hs_sigv4_result *out) {
    char date8[9], creq_hash[65], sig[65];
    memcpy(date8, r->amz_date, 8);
    date8[8] = '\0';
    hs_sha256_hex(creq, strlen(creq), creq_hash);
    out->string_to_sign = hs_sprintf(ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", r->amz_date, date8, opts->region,
                                     opts->service, creq_hash);
    int rc = signature(key->secret_access_key, date8, opts, out->string_to_sign, sig);
    if (rc) return rc;
    out->authorization = hs_sprintf(ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                                    key->access_key_id, date8, opts->region, opts->service, signed_list, sig);
    return HS_OK;
}

int hs_sigv4_compute(const hs_sigv4_request *r, const hs_sigv4_key *key, const hs_sigv4_opts *opts,
                     hs_sigv4_result *out, hs_error *err) {
    memset(out, 0, sizeof *out);
    int rc = check_inputs(r, key, opts, err);
    if (rc) return rc;
    hs_buf creq, signed_list;
    hs_buf_init(&creq, SIGV4_TEXT_MAX);
    hs_buf_init(&signed_list, SIGV4_TEXT_MAX);
    rc = canonical_request(r, opts->s3_path, &creq, &signed_list);
    if (rc == HS_OK) {
        size_t len;
        out->canonical_request = hs_buf_detach(&creq, &len);
        rc = sign_texts(r, key, opts, out->canonical_request, signed_list.data ? signed_list.data : "", out);
    }
    hs_buf_free(&creq);
    hs_buf_free(&signed_list);
    if (rc) {
        hs_sigv4_result_free(out);
        return hs_error_set(err, rc, "sigv4",
                            rc == HS_ERR_TOOBIG ? "the request is too large to sign" : "signing failed");
    }
    return HS_OK;
}

void hs_sigv4_result_free(hs_sigv4_result *res) {
    if (!res) return;
    hs_free(res->canonical_request);
    hs_free(res->string_to_sign);
    hs_free(res->authorization);
    memset(res, 0, sizeof *res);
}

bool hs_sigv4_amz_date(int64_t unix_s, char out[HS_SIGV4_AMZ_DATE_LEN + 1]) {
    /* four-digit years only: the format has no room for more */
    if (unix_s < 0 || unix_s > INT64_C(253402300799)) return false;
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return false;
    return strftime(out, HS_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) == HS_SIGV4_AMZ_DATE_LEN;
}

/* ---- signing an hs_out_req ---- */

/* The Host header curl would send: the host, in brackets when IPv6, with
 * the port when it is not the scheme's default. */
static char *host_value(const hs_url *u) {
    bool v6 = strchr(u->host, ':') != NULL;
    unsigned dflt = u->https ? 443 : 80;
    if (u->port == dflt) return hs_sprintf("%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "");
    return hs_sprintf("%s%s%s:%u", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
}

/* What hs_sigv4_sign adds; values point into the caller's strings. */
typedef struct additions {
    const char *host, *date, *sha, *token; /* NULL: not added */
} additions;

static size_t count_named(const hs_out_req *req, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) n += strcasecmp(req->headers[i].name, name) == 0;
    return n;
}

/* The headers as they will be sent, as shallow copies in tmp (no
 * Authorization, X-Amz-Date set to the new date, additions appended).
 * Returns the count, or 0 when they would not fit in an hs_out_req. */
static size_t planned_headers(const hs_out_req *req, const additions *add, hs_out_header *tmp) {
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const hs_out_header *h = &req->headers[i];
        if (strcasecmp(h->name, "authorization") == 0) continue;
        tmp[n] = *h;
        if (strcasecmp(h->name, "x-amz-date") == 0) tmp[n].value = (char *)add->date;
        n++;
    }
    const char *names[] = {"Host", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"};
    const char *values[] = {add->host, count_named(req, "x-amz-date") ? NULL : add->date, add->sha, add->token};
    for (size_t i = 0; i < 4; i++) {
        if (!values[i]) continue;
        if (n == HS_OUT_MAX_HEADERS) return 0;
        tmp[n++] = (hs_out_header){(char *)names[i], (char *)values[i], i == 3};
    }
    return n < HS_OUT_MAX_HEADERS ? n : 0; /* room left for Authorization */
}

static void remove_named(hs_out_req *req, const char *name) {
    size_t j = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        hs_out_header *h = &req->headers[i];
        if (strcasecmp(h->name, name) != 0) {
            req->headers[j++] = *h;
            continue;
        }
        hs_out_header_clear(h);
    }
    req->nheaders = j;
}

/* Applies the planned changes to req; cannot fail (the room was checked). */
static void commit(hs_out_req *req, const additions *add, const char *authorization) {
    remove_named(req, "authorization");
    bool had_date = false;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "x-amz-date") == 0) {
            hs_out_header_set(&req->headers[i], req->headers[i].name, add->date, false);
            had_date = true;
        }
    if (add->host) hs_out_req_add_header(req, "Host", add->host, false);
    if (!had_date) hs_out_req_add_header(req, "X-Amz-Date", add->date, false);
    if (add->sha) hs_out_req_add_header(req, "X-Amz-Content-Sha256", add->sha, false);
    if (add->token) hs_out_req_add_header(req, "X-Amz-Security-Token", add->token, true);
    hs_out_req_add_header(req, "Authorization", authorization, true);
}

/* Signs the planned headers; on success applies them to req. */
static int sign_planned(hs_out_req *req, const hs_url *u, const additions *add, const hs_sigv4_key *key,
                        const hs_sigv4_opts *opts, hs_error *err) {
    hs_out_header tmp[HS_OUT_MAX_HEADERS];
    size_t n = planned_headers(req, add, tmp);
    if (n == 0) return hs_error_set(err, HS_ERR_TOOBIG, "headers", "no room for the AWS signature headers");
    size_t plen = strcspn(u->rest, "?");
    char *path = hs_strndup(u->rest, plen);
    hs_sigv4_request r = {.method = req->method,
                          .path = path,
                          .query = u->rest[plen] == '?' ? u->rest + plen + 1 : NULL,
                          .headers = tmp,
                          .nheaders = n,
                          .body = req->body,
                          .body_len = req->body_len,
                          .amz_date = add->date};
    hs_sigv4_result res;
    int rc = hs_sigv4_compute(&r, key, opts, &res, err);
    hs_free(path);
    if (rc == HS_OK) commit(req, add, res.authorization);
    hs_sigv4_result_free(&res);
    return rc;
}

int hs_sigv4_sign(hs_out_req *req, const hs_sigv4_key *key, const hs_sigv4_opts *opts, hs_error *err) {
    if (!req || !req->url || !key || !opts) return hs_error_set(err, HS_ERR_INVALID, "request", "is incomplete");
    hs_url u;
    const char *why = NULL;
    if (hs_url_parse(req->url, &u, &why)) return hs_error_set(err, HS_ERR_INVALID, "url", "%s", why);
    char date[HS_SIGV4_AMZ_DATE_LEN + 1], sha[65];
    if (!hs_sigv4_amz_date(opts->now_unix, date))
        return hs_error_set(err, HS_ERR_INVALID, "now_unix", "is outside the years 1970 to 9999");
    char *host = hs_out_req_header(req, "host") ? NULL : host_value(&u);
    bool add_sha = !hs_out_req_header(req, "x-amz-content-sha256");
    if (add_sha) hs_sha256_hex(req->body, req->body_len, sha);
    bool add_token = nonempty(key->session_token) && !hs_out_req_header(req, "x-amz-security-token");
    additions add = {host, date, add_sha ? sha : NULL, add_token ? key->session_token : NULL};
    int rc = sign_planned(req, &u, &add, key, opts, err);
    hs_free(host);
    return rc;
}
