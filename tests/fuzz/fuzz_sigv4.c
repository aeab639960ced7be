/* fuzz_sigv4.c — SigV4 canonicalisation and signing (src/providers/aws/sigv4.c).
 *
 * Input: a request in the AWS SigV4 test suite's ".req" form:
 *   METHOD target HTTP/1.1
 *   Name:value            (a line without ':' continues the previous value)
 *   <empty line>
 *   body
 * A target starting with "http" is an absolute URL: it is only signed
 * through hs_sigv4_sign (which derives Host from it); any other target is
 * also computed directly (hs_sigv4_compute, S3 and other-service path
 * rules) and signed as https://<Host header or example.amazonaws.com>.
 *
 * Checked besides the sanitizers: a canonical URI and query consist of
 * unreserved characters, '/', '=', '&' and upper-case %XX escapes only;
 * the canonical request starts with the method; the Authorization value
 * has the credential scope; a failed hs_sigv4_sign leaves the request's
 * headers as they were, a successful one adds Authorization and X-Amz-Date.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/error.h"
#include "fuzz_util.h"
#include "http/outbound.h"
#include "providers/aws/sigv4.h"

#define MAX_HEADERS 80 /* more than an hs_out_req holds, to reach that limit */

typedef struct parsed {
    char *method, *target;
    hs_out_header h[MAX_HEADERS];
    size_t nh;
    const char *body;
    size_t body_len;
} parsed;

static bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

static bool hexup(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

/* [s, end) holds only what SigV4's encoding may produce, plus extra. */
static bool encoded(const char *s, const char *end, const char *extra) {
    for (const char *p = s; p < end; p++) {
        if (unreserved((unsigned char)*p) || (*p && strchr(extra, *p))) continue;
        if (*p != '%' || end - p < 3 || !hexup(p[1]) || !hexup(p[2])) return false;
        p += 2;
    }
    return true;
}

/* Splits the text in place (text is a writable NUL-terminated copy of
 * len bytes). false when there is no request line. */
static bool parse(char *text, size_t len, parsed *r) {
    memset(r, 0, sizeof *r);
    char *end = text + len;
    char *eol = memchr(text, '\n', len);
    char *line_end = eol ? eol : end;
    *line_end = '\0';
    char *sp = strchr(text, ' ');
    if (!sp) return false;
    *sp = '\0';
    r->method = text;
    r->target = sp + 1;
    char *sp2 = strrchr(r->target, ' ');
    if (sp2) *sp2 = '\0'; /* " HTTP/1.1" */
    r->body = "";
    char *p = eol ? eol + 1 : end;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        *le = '\0';
        if (p == le) { /* the empty line: the body follows */
            r->body = le + 1 <= end ? le + 1 : end;
            r->body_len = (size_t)(end - (char *)r->body);
            if (!nl) r->body_len = 0;
            break;
        }
        char *colon = strchr(p, ':');
        if (colon && r->nh < MAX_HEADERS) {
            *colon = '\0';
            r->h[r->nh++] = (hs_out_header){p, colon + 1, false};
        } else if (!colon && r->nh > 0) {
            /* a continuation: joined to the previous value with a newline */
            hs_out_header *last = &r->h[r->nh - 1];
            last->value[strlen(last->value)] = '\n'; /* the NUL that ended it; p follows */
            (void)last;
        }
        p = le + 1;
    }
    return true;
}

static const char *header(const parsed *r, const char *name) {
    for (size_t i = 0; i < r->nh; i++)
        if (strcasecmp(r->h[i].name, name) == 0) return r->h[i].value;
    return NULL;
}

static void compute(const parsed *r, bool s3) {
    char *target = hs_strdup(r->target);
    char *q = strchr(target, '?');
    if (q) *q++ = '\0';
    const char *date = header(r, "x-amz-date");
    hs_sigv4_request req = {.method = r->method,
                            .path = target,
                            .query = q,
                            .headers = r->h,
                            .nheaders = r->nh,
                            .body = r->body,
                            .body_len = r->body_len,
                            .amz_date = date ? date : "20150830T123600Z"};
    hs_sigv4_key key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    hs_sigv4_opts opts = {.region = "us-east-1", .service = s3 ? "s3" : "service", .s3_path = s3};
    hs_sigv4_result res;
    hs_error err;
    hs_error_clear(&err);
    if (hs_sigv4_compute(&req, &key, &opts, &res, &err) == HS_OK) {
        const char *cr = res.canonical_request;
        size_t ml = strlen(r->method);
        FZ_ASSERT(strncmp(cr, r->method, ml) == 0 && cr[ml] == '\n');
        const char *uri = cr + ml + 1, *uri_end = strchr(uri, '\n');
        FZ_ASSERT(uri_end && uri[0] == '/');
        FZ_ASSERT(encoded(uri, uri_end, "/"));
        const char *qs = uri_end + 1, *qs_end = strchr(qs, '\n');
        FZ_ASSERT(qs_end && encoded(qs, qs_end, "=&"));
        FZ_ASSERT(strncmp(res.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0);
        FZ_ASSERT(strncmp(res.string_to_sign, "AWS4-HMAC-SHA256\n", 17) == 0);
        hs_sigv4_result_free(&res);
    } else {
        FZ_ASSERT(err.code < 0 && err.msg[0]);
    }
    hs_free(target);
}

static void sign(const parsed *r, bool absolute) {
    hs_out_req req;
    memset(&req, 0, sizeof req);
    req.method = hs_strdup(r->method);
    const char *host = header(r, "host");
    req.url =
        absolute ? hs_strdup(r->target) : hs_sprintf("https://%s%s", host ? host : "example.amazonaws.com", r->target);
    for (size_t i = 0; i < r->nh; i++)
        if (hs_out_req_add_header(&req, r->h[i].name, r->h[i].value, false) != HS_OK) break;
    if (r->body_len) {
        req.body = hs_memdup(r->body, r->body_len);
        req.body_len = r->body_len;
    }
    size_t before = req.nheaders;
    hs_sigv4_key key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", absolute ? "token" : NULL};
    hs_sigv4_opts opts = {.region = "us-east-1", .service = "sqs", .now_unix = 1440938160, .s3_path = absolute};
    hs_error err;
    hs_error_clear(&err);
    if (hs_sigv4_sign(&req, &key, &opts, &err) == HS_OK) {
        FZ_ASSERT(hs_out_req_header(&req, "authorization") != NULL);
        FZ_ASSERT(hs_out_req_header(&req, "x-amz-date") != NULL);
        FZ_ASSERT(hs_out_req_header(&req, "host") != NULL);
    } else {
        FZ_ASSERT(req.nheaders == before);
        FZ_ASSERT(err.code < 0 && err.msg[0]);
    }
    hs_out_req_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fz_copy((const char *)data, size);
    parsed r;
    if (parse(text, size, &r)) {
        bool absolute = strncasecmp(r.target, "http", 4) == 0;
        if (!absolute) {
            compute(&r, false);
            compute(&r, true);
        }
        sign(&r, absolute);
    }
    hs_free(text);
    return 0;
}
