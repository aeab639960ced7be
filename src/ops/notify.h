/* src/ops/notify.h — sending notifications: a notice on a channel
 * (src/ops/channels.h), tried again on failure with backoff (the policy
 * logic of src/core/retry.h: 1 s, 5 s, 30 s, 2 min, 10 min), a bounded
 * number of times.
 *
 * Never on the delivery path: webhook, Slack and Discord channels go
 * through an HTTP client of their own (src/http/client.h, libcurl multi on
 * the loop, behind the SSRF guard of src/http/netguard.h like deliveries),
 * so a slow or failing channel holds no destination's slot; e-mail goes to
 * the --smtp-url server with libcurl's SMTP on libuv's threadpool, one
 * message at a time (the operator's own relay: not behind the guard).
 * This is the sending only: src/ops/outbox.c keeps the notifications of
 * alert rules and issues in the store and sends each attempt through here
 * (max_attempts 1), so that one waiting for its retry outlives a restart;
 * a retry kept here, in memory (max_attempts > 1), is for what could not
 * be stored. Logs name the channel id, never its URL or secret.
 *
 * Threads: every function on the loop thread given to hs_notify_new.
 */
#ifndef HS_OPS_NOTIFY_H
#define HS_OPS_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "base/error.h"
#include "ops/channels.h"

#define HS_NOTIFY_ATTEMPTS 5 /* tries of one notification (the first and 4 retries) */

typedef struct hs_notify hs_notify;

typedef struct hs_notify_result {
    bool ok;              /* a 2xx answer, or the SMTP server took the message */
    int status;           /* the HTTP status (0: none; e-mail: 250 when taken) */
    char error[400];      /* why not, "" when ok */
    int attempts;         /* how many were made */
    uint64_t duration_ms; /* of the last */
    bool cancelled;       /* not ok because hs_notify_close stopped it: no answer to count */
} hs_notify_result;
typedef void (*hs_notify_cb)(const hs_notify_result *r, void *ud);

/* smtp_url: "smtp://host:port" or NULL (e-mail channels then fail);
 * smtp_from: the sender's address. Both copied. */
hs_notify *hs_notify_new(uv_loop_t *loop, const char *smtp_url, const char *smtp_from);
/* Send n on channel (a clear doc; copied, as is n) in up to max_attempts
 * tries; cb (may be NULL) once with the outcome of the last. */
void hs_notify_send(hs_notify *nt, const json_t *channel, const hs_notice *n, int max_attempts, hs_notify_cb cb,
                    void *ud);
/* The wait before the next attempt after `failed` failed ones (1-based),
 * in the notifier's schedule. */
uint64_t hs_notify_retry_delay_ms(const hs_notify *nt, int failed);
/* Drop what waits for a retry, cancel what is out (their cb run, not
 * ok), then free; done (may be NULL) once everything is closed. */
void hs_notify_close(hs_notify *nt, void (*done)(void *ud), void *ud);

#endif
