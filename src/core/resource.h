/* src/core/resource.h — validation and rendering of sources, destinations and
 * connections (docs/api.md).
 *
 * A "doc" is the normalized JSON object stored for a resource: aliases
 * resolved (the other names of fields, all in one table in resource.c and
 * in docs/api.md "Aliases": provider_config -> config, top-level url ->
 * config.url, retry_enabled: false -> retry_policy.max_retries 0, ...; sqs
 * -> aws_sqs), defaults filled in, every field type- and range-checked,
 * unknown fields rejected. An error about a field given under an alias
 * names the canonical field and says "(given as <alias>)".
 * Docs contain secrets in clear; hs_resource_render() masks them for output
 * and hs_resource_seal() encrypts them for storage (the store's business).
 *
 * Errors are HS_ERR_INVALID with hs_error.field set to the dotted path of the
 * offending field ("config.auth.token", "retry_policy.intervals[2]") and a
 * message saying what is wrong; HS_ERR_UNSUPPORTED (422) for fields that are
 * valid but whose feature is not available in this build.
 *
 * Pure functions: no I/O, thread-safe. Referential checks (does source_id
 * exist?) and uniqueness (slug) belong to the store.
 */
#ifndef HS_RESOURCE_H
#define HS_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"
#include "base/secretbox.h"
#include "store/store.h"

/* Caps on a source's front-door settings (docs/api.md "The front door"):
 * entries per IP list, and the rate limit's range. */
#define HS_SOURCE_IP_LIST_MAX 256
#define HS_RATE_LIMIT_RPS_MIN 0.001 /* one request every 1000 s */
#define HS_RATE_LIMIT_RPS_MAX 100000
#define HS_RATE_LIMIT_BURST_MAX 100000

/* Validate a POST body; on success *doc is a new normalized doc without "id",
 * "created_at" or "updated_at" (the caller adds "id"). body is borrowed. */
int hs_resource_create_doc(hs_kind kind, const json_t *body, json_t **doc, hs_error *err);

/* Apply a PATCH body to the current doc: aliases normalized (retry_enabled:
 * true reads current's retry count), then JSON merge
 * patch (RFC 7386: objects merge recursively, null removes a field, so a
 * secret is kept unless the patch names it; a source's json_schema is the
 * exception, replaced whole), then the whole result validated
 * as on create. "id", "created_at", "updated_at" may not be patched (400);
 * "type" of a destination may be changed only together with a full "config".
 * On success *doc is a new doc keeping current's id (timestamps dropped). */
int hs_resource_patch_doc(hs_kind kind, const json_t *current, const json_t *patch, json_t **doc, hs_error *err);

/* A deep copy of doc fit for API output: secret values replaced by
 * hs_mask_secret(). Never fails. */
json_t *hs_resource_render(hs_kind kind, const json_t *doc);

/* "********" followed by the last 4 characters when the secret has 12 or
 * more characters, else "********" alone (a short secret would be mostly
 * revealed by its tail). Returns a new JSON string. */
json_t *hs_mask_secret(const char *secret);

/* Encryption at rest (src/base/secretbox.h). Seal: every secret string of doc is
 * replaced, in place, by its sealed form, bound to doc's "id" and the
 * value's path ("dst_…/config.auth.token"); a value is sealed as it is,
 * even one that looks sealed. HS_ERR_INTERNAL when doc has no id. */
int hs_resource_seal(hs_kind kind, json_t *doc, const hs_secretbox *box, hs_error *err);
/* Unseal: every sealed secret of doc is replaced by its clear value; values
 * in clear (stored before secrets were encrypted) are left and counted in
 * *clear (may be NULL). box NULL: any sealed value is an error. On error
 * (HS_ERR_UNAUTHORIZED: another key, or altered) err names the resource and
 * the field, and doc may be partly opened. */
int hs_resource_unseal(hs_kind kind, json_t *doc, const hs_secretbox *box, size_t *clear, hs_error *err);
/* The two above, as the store takes them (hs_store_set_secretbox,
 * hs_store_reseal): the store seals and opens docs without knowing which
 * of their fields are secrets. */
extern const hs_secret_codec hs_resource_secret_codec;

/* Singular and plural resource names ("source", "sources"), id prefixes. */
const char *hs_kind_name(hs_kind kind);
const char *hs_kind_plural(hs_kind kind);
const char *hs_kind_id_prefix(hs_kind kind); /* "src_", "dst_", "conn_" */

#endif
