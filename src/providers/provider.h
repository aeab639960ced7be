/* src/providers/provider.h — the destination types, each a small table of functions.
 *
 * The validation half checks every type's `config`. The delivery half builds
 * the outbound request for one attempt and judges the response; the
 * DeliveryScheduler sends it (src/http/client.h). One provider_<type>.c each.
 */
#ifndef HS_PROVIDER_H
#define HS_PROVIDER_H

#include <jansson.h>

#include "base/error.h"
#include "http/outbound.h"

/* What one delivery attempt is about. Everything is borrowed and valid for
 * the duration of the call; build may run on any thread. */
typedef struct hs_delivery_ctx {
    const json_t *destination; /* the stored destination doc: type, config, signing, ... */
    const char *event_id;
    const char *delivery_id;
    const char *connection_id;
    const char *source_id;
    int attempt;         /* 1 for the first attempt, 2 for the first retry, ... */
    uint64_t now_ms;     /* wall clock of this attempt */
    const char *payload; /* the body to send: the event's raw body (or a transform's output) */
    size_t payload_len;
    const char *content_type;       /* of the payload; "" when unknown */
    const char *event_headers_json; /* the event's received headers, JSON object; may be NULL */
    const char *method;             /* the event's HTTP method ("POST"); may be NULL */
    uint64_t received_at;           /* when the event was received (ms) */
} hs_delivery_ctx;

typedef struct hs_provider {
    const char *type;  /* canonical: "http", "aws_sqs", ... */
    const char *alias; /* accepted short name ("sqs") or NULL */
    /* Validate config in place: fill defaults, normalize; on error fill err
     * with field paths relative to the destination ("config.url"). */
    int (*validate)(json_t *config, hs_error *err);
    /* Dotted paths inside config whose values are secrets (masked on read,
     * encrypted at rest). A path ending in ".*" means every member of that
     * object, ".?" the members hs_header_secret() names. NULL-ended. */
    const char *const *secret_paths;
    /* Optional: called on the current config before a patch's config
     * (patch_config, NULL when the patch has none) is merged onto it, to drop
     * what the patch makes obsolete: defaults derived from fields it may
     * change (aws_s3 force_path_style follows endpoint), the settings of an
     * auth type it replaces (http). Validation then fills them in again. */
    void (*prepare_patch)(json_t *config, const json_t *patch_config);
    /* Delivery: fill req (zeroed by the caller) for this attempt; on
     * failure req may be left partly filled (hs_provider_build empties it).
     * NULL: the type does not deliver yet (the attempt fails with a clear
     * error). */
    int (*build)(const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err);
    /* Judge a response that arrived (resp->error == 0): HS_OK, or a negative
     * hs_err with err->msg saying why it is a failure; HS_ERR_PERMANENT when
     * retrying cannot help (the delivery is dead-lettered at once);
     * HS_ERR_AGAIN when credentials the provider cached went stale (a 401
     * for an OAuth token it dropped): the scheduler builds and sends again
     * at once, once, without recording the first try. Only
     * destination, event_id and delivery_id of ctx are set. NULL: 2xx is
     * success. */
    int (*classify)(const hs_delivery_ctx *ctx, const hs_out_resp *resp, hs_error *err);
    /* build may block or take a while (fetching a token, evaluating a
     * JSONata expression): the scheduler always runs it on the threadpool,
     * never on the loop thread. */
    bool slow_build;
    /* Optional: deliver without HTTP (the websocket broadcast). Runs on the
     * server's loop thread (the scheduler posts it there from the
     * destination's thread) with the request build made; fills resp as an answer
     * would (status, body); env is what hs_scheduler_set_local_env gave. */
    void (*deliver_local)(void *env, const hs_out_req *req, hs_out_resp *resp);
} hs_provider;

/* Runs p->build on a zeroed req; on failure req is left empty (what the
 * provider filled is freed), so callers and tests need not care how far it
 * got. On success the header names are made unique
 * (hs_out_req_unique_headers: of one name, the header added last is sent),
 * so a build adds its headers lowest precedence first. */
int hs_provider_build(const hs_provider *p, const hs_delivery_ctx *ctx, hs_out_req *req, hs_error *err);

/* The payload as a JSON string: its text, or its base64 (with *b64 set)
 * when it is not UTF-8. For providers whose message embeds the body. */
json_t *hs_payload_text(const hs_delivery_ctx *ctx, bool *b64);

/* The default judgement: 2xx success, anything else a failure. */
int hs_provider_classify_2xx(const hs_out_resp *resp, hs_error *err);

/* By canonical name or alias; NULL when unknown. */
const hs_provider *hs_provider_find(const char *type_or_alias);
/* All providers, NULL-terminated, in the order docs/api.md lists the types. */
const hs_provider *const *hs_provider_all(void);

/* The table entries, one per provider_<family>.c. */
extern const hs_provider hs_provider_http, hs_provider_aws_sqs, hs_provider_aws_s3, hs_provider_aws_eventbridge,
    hs_provider_gcp_pubsub, hs_provider_kafka, hs_provider_rabbitmq, hs_provider_websocket;

#endif
