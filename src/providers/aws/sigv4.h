/* src/providers/aws/sigv4.h — AWS Signature Version 4 (AWS4-HMAC-SHA256) for outbound requests.
 *
 * Written from the AWS "Signature Version 4 signing process" documentation
 * and checked against the AWS SigV4 test suite (tests/unit/test_sigv4.c).
 * Header signing only: no presigned URLs, no chunked (streaming) payloads.
 *
 * Canonicalization, in short (src/providers/aws/sigv4.c has the reasons):
 *   path, other services: as sent (percent-encoded), runs of '/' collapsed,
 *     "." and ".." segments removed (RFC 3986), then every segment encoded
 *     again, so "%20" on the wire is "%2520" in the canonical request.
 *   path, S3 (opts.s3_path): as sent, percent-decoded once and encoded once;
 *     no normalization ("a//b/./c" is kept).
 *   query: split at '&' (empty pieces dropped), name and value split at the
 *     first '=', each percent-decoded ('+' is a space) then encoded; sorted
 *     by encoded name, then encoded value.
 *   encoding: A-Z a-z 0-9 - _ . ~ kept, every other byte %XX (upper case).
 *   headers: every header but Authorization; names lower-cased; values
 *     trimmed of ASCII whitespace (space, \t \n \v \f \r), inner runs of it made one space;
 *     repeated names joined with "," in request order; sorted by name.
 *   payload hash: the X-Amz-Content-Sha256 header when the request has one
 *     (S3's UNSIGNED-PAYLOAD), else hex SHA-256 of the body.
 */
#ifndef HS_SIGV4_H
#define HS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "http/outbound.h"

#define HS_SIGV4_AMZ_DATE_LEN 16 /* "20150830T123600Z" */

typedef struct hs_sigv4_key {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" when none → adds x-amz-security-token (secret=true) */
} hs_sigv4_key;

typedef struct hs_sigv4_opts {
    const char *region;  /* "us-east-1" */
    const char *service; /* "sqs", "s3", "events" */
    int64_t now_unix;    /* seconds; the x-amz-date */
    /* S3 rules: URI path encoded once and not normalized (other services:
     * double-encoded, normalized . .. //) */
    bool s3_path;
} hs_sigv4_opts;

/* Signs req in place (req->method, req->url, req->headers, req->body are
 * final). Adds, unless present, Host (from the URL: host, plus :port when
 * not the scheme's default; IPv6 in brackets), X-Amz-Content-Sha256 (hex
 * SHA-256 of the body) and X-Amz-Security-Token (secret) when a session
 * token is given; sets X-Amz-Date and Authorization (secret), replacing any
 * already there, so a request can be signed again. On failure req is
 * unchanged and a negative hs_err is returned with err filled. */
int hs_sigv4_sign(hs_out_req *req, const hs_sigv4_key *key, const hs_sigv4_opts *opts, hs_error *err);

/* ---- lower level: the same code hs_sigv4_sign runs, on explicit parts ---- */

/* A request as SigV4 sees it. */
typedef struct hs_sigv4_request {
    const char *method;
    const char *path;             /* as sent: percent-encoded; "" means "/" */
    const char *query;            /* as sent, without the '?'; NULL or "" when none */
    const hs_out_header *headers; /* all are signed except Authorization */
    size_t nheaders;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    const char *amz_date; /* "YYYYMMDDTHHMMSSZ"; also gives the scope date */
} hs_sigv4_request;

/* The three intermediate texts, heap strings (hs_sigv4_result_free). */
typedef struct hs_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *authorization; /* the Authorization header value */
} hs_sigv4_result;

/* Signs r. opts->now_unix is not used (r->amz_date is the time). On failure
 * out is left empty. */
int hs_sigv4_compute(const hs_sigv4_request *r, const hs_sigv4_key *key, const hs_sigv4_opts *opts,
                     hs_sigv4_result *out, hs_error *err);
void hs_sigv4_result_free(hs_sigv4_result *res);

/* Canonical URI / canonical query string of a path / query as sent,
 * appended to out. HS_ERR_TOOBIG when out's cap is reached. */
int hs_sigv4_canonical_uri(const char *path, bool s3_path, hs_buf *out);
int hs_sigv4_canonical_query(const char *query, hs_buf *out);

/* SigV4's UriEncode of n bytes of s, appended to out: A-Z a-z 0-9 - _ . ~
 * kept, '/' kept when keep_slash, every other byte %XX (upper-case hex). */
int hs_sigv4_uri_encode(hs_buf *out, const char *s, size_t n, bool keep_slash);

/* "YYYYMMDDTHHMMSSZ" of unix seconds into out. false when out of range. */
bool hs_sigv4_amz_date(int64_t unix_s, char out[HS_SIGV4_AMZ_DATE_LEN + 1]);

#endif
