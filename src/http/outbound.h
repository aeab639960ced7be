/* src/http/outbound.h — one outbound HTTP request, as a provider builds it and the
 * http client sends it, and the response as the client hands it back.
 *
 * Ownership: an hs_out_req owns every string and the body it points to
 * (heap, via src/base/alloc.h); hs_out_req_free releases them. The same for
 * hs_out_resp. Both are plain data: no loop, no thread affinity, so a
 * provider may build a request on a worker thread and the loop send it.
 */
#ifndef HS_OUTBOUND_H
#define HS_OUTBOUND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_OUT_MAX_HEADERS 64
#define HS_OUT_RESP_BODY_MAX 4096        /* response body bytes kept (docs/api.md) */
#define HS_OUT_RESP_HEADERS_MAX 16384    /* response header bytes kept */
#define HS_OUT_RESP_DRAIN_MAX (1u << 20) /* read and discard at most this much more */
/* A response whose header lines (every header block: 1xx ones too) add up
 * to more than this fails the attempt: "response headers larger than N
 * bytes". */
#define HS_OUT_RESP_HEADERS_LIMIT 65536
/* A chunk larger than everything that is ever read of a body (kept plus
 * drained) ends the read as soon as its size line says so: the response
 * counts as the receiver's answer, cut (body_truncated), exactly as a long
 * body is cut after HS_OUT_RESP_DRAIN_MAX, only without waiting for bytes
 * that may never come. A malformed chunk-size line, or one longer than
 * HS_OUT_RESP_CHUNK_LINE_MAX, fails the attempt at once. */
#define HS_OUT_RESP_CHUNK_MAX (HS_OUT_RESP_BODY_MAX + HS_OUT_RESP_DRAIN_MAX)
#define HS_OUT_RESP_CHUNK_LINE_MAX 1024

/* name and value live in one allocation that name points to (value just
 * after it); change them only through hs_out_header_set / _clear. */
typedef struct hs_out_header {
    char *name;
    char *value;
    bool secret; /* recorded as "********" in delivery attempts */
} hs_out_header;

/* True when a header of this name carries a credential: its value is
 * masked on read (a destination's config.headers, src/core/resource.c) and
 * recorded as "********" in delivery attempts (the secret flag above). The
 * rule: the name contains auth, cookie, credential, key, passw, secret,
 * signature, session or token, case-insensitively, or is listed in
 * secret_headers (a JSON array of names, case-insensitive; may be NULL). */
bool hs_header_secret(const char *name, const json_t *secret_headers);

/* (Re)sets h to a copy of name and value. */
void hs_out_header_set(hs_out_header *h, const char *name, const char *value, bool secret);
/* Frees what h holds (wiped first when secret) and empties it. */
void hs_out_header_clear(hs_out_header *h);

typedef struct hs_out_req {
    char *method; /* "POST", "PUT", "PATCH", "GET" */
    char *url;
    hs_out_header headers[HS_OUT_MAX_HEADERS];
    size_t nheaders;
    char *body; /* may be NULL when body_len == 0 */
    size_t body_len;
    uint64_t timeout_ms; /* whole transfer, connect included */
} hs_out_req;

/* Appends a header (copies name and value). Returns HS_ERR_TOOBIG when full.
 * A name may be added more than once while a request is built: what is
 * sent is decided by hs_out_req_unique_headers. */
int hs_out_req_add_header(hs_out_req *r, const char *name, const char *value, bool secret);
/* The one rule for repeated header names: no request carries two headers
 * of one name (compared case-insensitively). Of the headers sharing a name
 * the one added last wins: the earlier ones are dropped (wiped when
 * secret) and the request is as if they had never been added, so a
 * builder states precedence by the order it adds in (lowest first).
 * hs_provider_build applies this to every request a provider builds, and
 * the AWS signer before it signs, so that what is signed, sent and
 * recorded is one set. */
void hs_out_req_unique_headers(hs_out_req *r);
/* "Basic base64(user:pass)" for an Authorization header: a secret, free it
 * with hs_free_secret (the clear intermediate copy is wiped here). */
char *hs_basic_auth(const char *user, const char *pass);
/* Appends that as Authorization (secret). HS_ERR_TOOBIG when full. */
int hs_out_req_add_basic_auth(hs_out_req *r, const char *user, const char *pass);
/* Value of the first header named name (case-insensitive), or NULL. */
const char *hs_out_req_header(const hs_out_req *r, const char *name);
void hs_out_req_free(hs_out_req *r); /* frees the members, not r */

/* A header list in one buffer: "name\0value\0" per line, in order. The
 * hot path keeps headers this way and the writer thread turns them into
 * JSON for the attempt record. */
/* As a JSON object. join: repeated names (compared exactly) form one
 * member, values joined with ", " in order (RFC 9110 §5.3, a response's
 * headers); otherwise the last value wins (a request's, as a JSON object
 * would keep it). Bytes that are not UTF-8 are read as Latin-1. NULL when
 * len is 0. Quadratic in the lines: callers bound them. */
char *hs_headers_json(const char *list, size_t len, bool join);
/* The value of the first line named name (exact match), or NULL. */
const char *hs_headers_get(const char *list, size_t len, const char *name);

typedef struct hs_out_resp {
    int status;    /* HTTP status, 0 when no response was received */
    char *headers; /* the final response's header list (above), names lowercased; NULL when none */
    size_t headers_len;
    char *body;          /* first HS_OUT_RESP_BODY_MAX bytes, NUL-terminated; NULL when none */
    size_t body_len;     /* bytes kept in body */
    bool body_truncated; /* the response had more than was kept */
    uint64_t duration_ms;
    int error;        /* 0, or a negative hs_err: HS_ERR_TIMEOUT, HS_ERR_IO (connect/reset/DNS/TLS...),
                       * HS_ERR_PERMANENT (the SSRF guard refused the address, src/http/netguard.h) */
    char errmsg[256]; /* human text for error ("connection refused", "timed out after 1000 ms") */
} hs_out_resp;

void hs_out_resp_free(hs_out_resp *r); /* frees the members, not r */

#endif
