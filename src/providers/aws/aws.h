/* src/providers/aws/aws.h — what the three AWS providers share (src/providers/sqs.c,
 * src/providers/s3.c, src/providers/eventbridge.c): the common config fields, the
 * service endpoint, SigV4 signing of the built request (src/providers/aws/sigv4.h), and how an
 * AWS error answer is judged.
 */
#ifndef HS_AWS_H
#define HS_AWS_H

#include <jansson.h>
#include <stdbool.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/jsonv.h"
#include "providers/provider.h"

/* Region: AWS names look like us-east-1, but emulators and S3-compatible
 * stores use their own ("local", "garage"), so only the shape is checked. */
/* clang-format off */
#define HS_AWS_COMMON_FIELDS                                                 \
    HS_JV_CHARS("region", HS_JV_REQUIRED, 2, 32, "a-z0-9-"),                 \
    HS_JV_STR("access_key_id", HS_JV_REQUIRED | HS_JV_NO_SPACE, 1, 128),      \
    HS_JV_SECRET("secret_access_key", HS_JV_REQUIRED | HS_JV_NO_SPACE, 256),   \
    HS_JV_SECRET("session_token", HS_JV_NO_SPACE, 8192),                     \
    HS_JV_URL("endpoint", 0),                                                \
    HS_JV_INTR("timeout_ms", 100, 300000, "30000")
/* clang-format on */

extern const char *const hs_aws_secret_paths[];

/* Splits s at sep into at most max parts; returns how many there were. */
size_t hs_aws_split(const char *s, char sep, const char **part, size_t *len, size_t max);
/* A non-empty span of the given charset (jsonv syntax, "a-z0-9-"). */
bool hs_aws_span_in(const char *s, size_t n, const char *charset);

/* Appends to out the base URL ("scheme://host[:port][/path]", no trailing
 * '/') of config.endpoint when there is one, else dflt. */
int hs_aws_base_url(const json_t *config, const char *dflt, hs_buf *out);

/* Percent-encodes s into out as a URL path: every byte but A-Z a-z 0-9
 * - _ . ~ and '/' as %XX (the same rule SigV4 applies, so the path signed
 * is the path sent). */
int hs_aws_encode_path(const char *s, hs_buf *out);

/* Completes req (method, url, body set by the caller): timeout and
 * User-Agent from/for config, then makes its header names unique
 * (hs_out_req_unique_headers) and signs it for service, so the signature
 * covers exactly the headers sent. */
int hs_aws_sign(const hs_delivery_ctx *ctx, const char *service, bool s3, hs_out_req *req, hs_error *err);

/* The AWS error of a non-2xx answer, judged: HS_OK for 2xx; HS_ERR_IO
 * (retry) for 5xx, 429 and throttling/timeouts; HS_ERR_PERMANENT for the
 * other 4xx (bad credentials, missing queue, invalid request: retrying the
 * same request cannot help). err->msg: "HTTP 403 SignatureDoesNotMatch:
 * <AWS's message>". */
int hs_aws_classify(const hs_out_resp *resp, hs_error *err);

/* Is code (an AWS error code) one that may succeed when retried? */
bool hs_aws_retryable_code(const char *code);

#endif
