#include "providers/provider.h"

#include <string.h>

#include "base/alloc.h"
#include "base/base64.h"

static const hs_provider *const providers[] = {
    &hs_provider_http,
    &hs_provider_aws_sqs,
    &hs_provider_aws_s3,
    &hs_provider_aws_eventbridge,
    &hs_provider_gcp_pubsub,
    &hs_provider_kafka,
    &hs_provider_rabbitmq,
    &hs_provider_websocket,
    NULL,
};

const hs_provider *hs_provider_find(const char *type_or_alias) {
    if (!type_or_alias) return NULL;
    for (const hs_provider *const *p = providers; *p; p++)
        if (strcmp((*p)->type, type_or_alias) == 0 || ((*p)->alias && strcmp((*p)->alias, type_or_alias) == 0))
            return *p;
    return NULL;
}

const hs_provider *const *hs_provider_all(void) { return providers; }

/* resp->error is set only when no response arrived; classify is not asked
 * about those, but a failed transfer is never judged a success. */
int hs_provider_classify_2xx(const hs_out_resp *resp, hs_error *err) {
    if (resp->error) return hs_error_set(err, resp->error, NULL, "%s", resp->errmsg[0] ? resp->errmsg : "no response");
    if (resp->status >= 200 && resp->status <= 299) return HS_OK;
    if (resp->status == 0) return hs_error_set(err, HS_ERR_IO, NULL, "no response");
    return hs_error_set(err, HS_ERR_IO, NULL, "HTTP %d", resp->status);
}

/* The one place a built request's header names are made unique, for every
 * type (src/http/outbound.h): the builders add in order of precedence,
 * lowest first, and the last header of a name is the one sent. */
int hs_provider_build(const hs_provider *p, const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err) {
    memset(req, 0, sizeof *req);
    int rc = p->build(ctx, req, err);
    if (rc != HS_OK) {
        hs_out_req_free(req);
        memset(req, 0, sizeof *req);
        return rc;
    }
    hs_out_req_unique_headers(req);
    return HS_OK;
}

json_t *hs_payload_text(const hs_delivery_ctx *ctx, bool *b64) {
    const char *p = ctx->payload ? ctx->payload : "";
    json_t *v = json_stringn(p, ctx->payload_len);
    *b64 = !v;
    if (v) return v;
    char *enc = hs_base64_encode(p, ctx->payload_len);
    v = json_string(enc);
    hs_free(enc);
    return v;
}
