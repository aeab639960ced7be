/* src/ops/channels.h — notification channels (docs/api.md "Notification
 * channels"): what a channel's document may hold, how it is shown (its
 * secret masked) and stored (its secret sealed, src/base/secretbox.h), and
 * the message a notice becomes for each channel type:
 *
 *   webhook  POST JSON {"type", "title", "text", "data", "sent_at"} to
 *            config.url; with config.secret, X-hookstream-Signature:
 *            sha256=<hex HMAC-SHA256 of the body>
 *   slack    POST {"text": ...} to the incoming-webhook URL (&, <, >
 *            escaped: Slack's formatting)
 *   discord  POST {"content": ...} (at most 2000 UTF-16 units; no
 *            mention pings: allowed_mentions) to the URL
 *   email    a text/plain message to config.to, through --smtp-url
 *
 * Pure functions over their arguments: any thread. Docs are owned by the
 * caller; results are new references or heap the caller frees.
 */
#ifndef HS_OPS_CHANNELS_H
#define HS_OPS_CHANNELS_H

#include <jansson.h>

#include "base/error.h"
#include "base/secretbox.h"
#include "http/outbound.h"

#define HS_DISCORD_CONTENT_MAX 2000 /* characters of a Discord message's content */

/* A notice: what a notification says, whatever carries it. */
typedef struct hs_notice {
    const char *type;  /* "alert.firing" | "alert.resolved" | "issue.opened" | "test" */
    const char *title; /* one line */
    const char *text;  /* the message */
    json_t *data;      /* borrowed: the rule, issue or numbers behind it (may be NULL) */
} hs_notice;

/* What channels and alert rules share: a body may not set the fields the
 * server keeps (id, times, a rule's state): HS_ERR_INVALID naming one;
 * a copy of a POST body with a new id of prefix ("nch_", "alr_"). */
int hs_doc_refuse_fixed(const json_t *body, hs_error *err);
json_t *hs_doc_new(const json_t *body, const char *prefix);

/* A POST body (create: body is the whole channel; patch: merged onto
 * current, a masked secret keeping current's) validated into *doc, a new
 * doc with "id" (create: a new "nch_..." id). HS_ERR_INVALID names the
 * field. */
int hs_channel_create_doc(const json_t *body, json_t **doc, hs_error *err);
int hs_channel_patch_doc(const json_t *current, const json_t *patch, json_t **doc, hs_error *err);
/* A copy for API output: config.secret masked. */
json_t *hs_channel_render(const json_t *doc);
/* doc's secret sealed (for the store) or opened (as read), in place;
 * box NULL: left as is. */
int hs_channel_seal(json_t *doc, const hs_secretbox *box, hs_error *err);
int hs_channel_unseal(json_t *doc, const hs_secretbox *box, hs_error *err);

/* The HTTP request a notice becomes on a webhook, slack or discord
 * channel (*req: heap, for hs_http_client_send), or, for email, NULL and
 * the message in *mail (heap text: headers, blank line, body; recipients
 * in the doc's config.to). */
int hs_channel_message(const json_t *doc, const hs_notice *n, const char *smtp_from, uint64_t now_ms, hs_out_req **req,
                       char **mail, hs_error *err);

#endif
