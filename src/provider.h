/* provider.h — the destination types, each a small table of functions.
 *
 * Issue 2 uses the validation half: every type's `config` is checked here.
 * Later issues add the delivery half (build the outbound request, classify
 * the response) to the same table, one provider_<type>.c file each.
 */
#ifndef HS_PROVIDER_H
#define HS_PROVIDER_H

#include <jansson.h>

#include "error.h"

typedef struct hs_provider {
    const char *type;  /* canonical: "http", "aws_sqs", ... */
    const char *alias; /* accepted short name ("sqs") or NULL */
    /* Validate config in place: fill defaults, normalize; on error fill err
     * with field paths relative to the destination ("config.url"). */
    int (*validate)(json_t *config, hs_error *err);
    /* Dotted paths inside config whose values are secrets (masked on read).
     * A path ending in ".*" masks every member of that object. NULL-ended. */
    const char *const *secret_paths;
    /* Optional: called on the current config before a patch's config
     * (patch_config, NULL when the patch has none) is merged onto it, to drop
     * what the patch makes obsolete: defaults derived from fields it may
     * change (aws_s3 force_path_style follows endpoint), the settings of an
     * auth type it replaces (http). Validation then fills them in again. */
    void (*prepare_patch)(json_t *config, const json_t *patch_config);
} hs_provider;

/* By canonical name or alias; NULL when unknown. */
const hs_provider *hs_provider_find(const char *type_or_alias);
/* All providers, NULL-terminated, in DESIGN.md §5 order. */
const hs_provider *const *hs_provider_all(void);

/* The table entries, one per provider_<family>.c. */
extern const hs_provider hs_provider_http, hs_provider_aws_sqs, hs_provider_aws_s3, hs_provider_aws_eventbridge,
    hs_provider_gcp_pubsub, hs_provider_kafka, hs_provider_rabbitmq, hs_provider_websocket;

#endif
