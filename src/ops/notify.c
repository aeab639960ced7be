/* src/ops/notify.c — notifications sent and tried again (src/ops/notify.h).
 * Loop thread, but for the SMTP transfer, which runs on the threadpool.
 */
#include "ops/notify.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "core/retry.h"
#include "http/client.h"

#define SMTP_TIMEOUT_MS 15000

typedef struct job job;

struct hs_notify {
    uv_loop_t *loop;
    hs_http_client *http;
    char *smtp_url, *smtp_from;
    hs_retry_policy policy;
    job *jobs; /* every notification not finished */
    /* e-mail, one message at a time: the one out, those waiting (FIFO) */
    job *mail_out, *mail_head, *mail_tail;
    bool closing;
    size_t closing_handles;
    void (*done)(void *ud);
    void *done_ud;
};

struct job {
    hs_notify *nt;
    job *next, *prev;
    json_t *channel;
    char *type, *title, *text;
    json_t *data;
    int max_attempts, attempts;
    hs_notify_cb cb;
    void *ud;
    uv_timer_t timer; /* the wait before a retry */
    bool timer_open;
    hs_http_call *call; /* an HTTP transfer out */
    bool mailing;       /* an SMTP transfer on the threadpool, or waiting for its turn */
    job *mail_next;     /* the next in hs_notify's e-mail queue */
    /* the SMTP transfer's */
    uv_work_t work;
    char *mail;
    size_t mail_off, mail_len;
    hs_notify_result res;
};

hs_notify *hs_notify_new(uv_loop_t *loop, const char *smtp_url, const char *smtp_from) {
    hs_notify *nt = hs_calloc(1, sizeof *nt);
    nt->loop = loop;
    if (hs_http_client_new(loop, &nt->http)) hs_warn("notify: no HTTP client; webhook, Slack and Discord fail");
    nt->smtp_url = smtp_url && *smtp_url ? hs_strdup(smtp_url) : NULL;
    nt->smtp_from = hs_strdup(smtp_from && *smtp_from ? smtp_from : "hookstream@localhost");
    nt->policy = (hs_retry_policy){.max_retries = HS_NOTIFY_ATTEMPTS - 1,
                                   .backoff = HS_BACKOFF_EXPONENTIAL,
                                   .intervals = {1, 5, 30, 120, 600},
                                   .nintervals = 5};
    return nt;
}

static void maybe_freed(hs_notify *nt) {
    if (!nt->closing || nt->jobs || nt->closing_handles) return;
    void (*done)(void *) = nt->done;
    void *ud = nt->done_ud;
    hs_free(nt->smtp_url);
    hs_free(nt->smtp_from);
    hs_free(nt);
    if (done) done(ud);
}

static void job_closed(uv_handle_t *h) {
    job *j = h->data;
    hs_notify *nt = j->nt;
    hs_free(j);
    nt->closing_handles--;
    maybe_freed(nt);
}

/* The outcome is final: cb, then the job goes. */
static void job_finish(job *j) {
    hs_notify *nt = j->nt;
    if (j->res.ok)
        hs_info("notify: %s on channel %s sent (attempt %d)", j->type, hs_jv_str(j->channel, "id"), j->attempts);
    else
        hs_warn("notify: %s on channel %s failed after %d attempt(s): %s", j->type, hs_jv_str(j->channel, "id"),
                j->attempts, j->res.error);
    j->res.attempts = j->attempts;
    if (j->cb) j->cb(&j->res, j->ud);
    if (j->prev)
        j->prev->next = j->next;
    else
        nt->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    json_decref(j->channel);
    json_decref(j->data);
    hs_free(j->type);
    hs_free(j->title);
    hs_free(j->text);
    hs_free(j->mail);
    nt->closing_handles++;
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void attempt(job *j);

static void on_timer(uv_timer_t *t) { attempt(t->data); }

/* An attempt ended with j->res: again later, or done. */
static void attempt_done(job *j) {
    hs_notify *nt = j->nt;
    hs_retry_policy p = nt->policy;
    p.max_retries = j->max_attempts - 1;
    if (!j->res.ok && nt->closing) j->res.cancelled = true;
    if (j->res.ok || nt->closing || !hs_retry_more(&p, j->attempts)) return job_finish(j);
    uint64_t wait = hs_retry_delay_ms(&p, j->attempts);
    hs_info("notify: %s on channel %s failed (%s); again in %llu ms", j->type, hs_jv_str(j->channel, "id"),
            j->res.error, (unsigned long long)wait);
    uv_timer_start(&j->timer, on_timer, wait, 0);
}

static void on_http(hs_http_call *call, hs_out_resp *resp, void *ud) {
    (void)call;
    job *j = ud;
    j->call = NULL;
    memset(&j->res, 0, sizeof j->res);
    j->res.status = resp->status;
    j->res.duration_ms = resp->duration_ms;
    j->res.ok = resp->error == 0 && resp->status >= 200 && resp->status < 300;
    if (resp->error)
        snprintf(j->res.error, sizeof j->res.error, "%s", resp->errmsg[0] ? resp->errmsg : "request failed");
    else if (!j->res.ok)
        snprintf(j->res.error, sizeof j->res.error, "the channel answered %d", resp->status);
    hs_out_resp_free(resp);
    hs_free(resp);
    attempt_done(j);
}

/* ---- e-mail ---- */

static size_t mail_read(char *buf, size_t size, size_t nitems, void *ud) {
    job *j = ud;
    size_t room = size * nitems, left = j->mail_len - j->mail_off;
    size_t n = left < room ? left : room;
    memcpy(buf, j->mail + j->mail_off, n);
    j->mail_off += n;
    return n;
}

/* Threadpool: one SMTP transaction. */
static void mail_run(uv_work_t *w) {
    job *j = w->data;
    hs_notify *nt = j->nt;
    uint64_t start = hs_now_ms();
    CURL *e = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(j->channel, "config"), "to"), i, v) {
        char addr[300];
        snprintf(addr, sizeof addr, "<%s>", json_string_value(v));
        rcpt = curl_slist_append(rcpt, addr);
    }
    char from[300];
    snprintf(from, sizeof from, "<%s>", nt->smtp_from);
    j->mail_off = 0;
    j->mail_len = strlen(j->mail);
    CURLcode rc = e ? CURLE_OK : CURLE_FAILED_INIT;
    if (e) {
        curl_easy_setopt(e, CURLOPT_URL, nt->smtp_url);
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_read);
        curl_easy_setopt(e, CURLOPT_READDATA, j);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)SMTP_TIMEOUT_MS);
        rc = curl_easy_perform(e);
    }
    long code = 0;
    if (e) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    memset(&j->res, 0, sizeof j->res);
    j->res.ok = rc == CURLE_OK;
    j->res.status = (int)code;
    j->res.duration_ms = hs_now_ms() - start;
    if (rc != CURLE_OK) snprintf(j->res.error, sizeof j->res.error, "SMTP: %s", curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    if (e) curl_easy_cleanup(e);
}

static void fail_now(job *j, const char *why) {
    memset(&j->res, 0, sizeof j->res);
    snprintf(j->res.error, sizeof j->res.error, "%s", why);
    attempt_done(j);
}

static void mail_done(uv_work_t *w, int status);

/* The next e-mail waiting goes out (or, closing, fails). */
static void mail_next(hs_notify *nt) {
    while (!nt->mail_out && nt->mail_head) {
        job *j = nt->mail_head;
        nt->mail_head = j->mail_next;
        if (!nt->mail_head) nt->mail_tail = NULL;
        j->mail_next = NULL;
        j->work.data = j;
        if (!nt->closing && uv_queue_work(nt->loop, &j->work, mail_run, mail_done) == 0) {
            nt->mail_out = j;
            return;
        }
        j->mailing = false;
        fail_now(j, nt->closing ? "shutting down" : "could not queue the e-mail");
    }
}

static void mail_done(uv_work_t *w, int status) {
    job *j = w->data;
    hs_notify *nt = j->nt;
    j->mailing = false;
    nt->mail_out = NULL;
    if (status) {
        j->res.ok = false;
        snprintf(j->res.error, sizeof j->res.error, "cancelled");
    }
    attempt_done(j);
    mail_next(nt);
}

static void attempt(job *j) {
    hs_notify *nt = j->nt;
    j->attempts++;
    hs_notice n = {.type = j->type, .title = j->title, .text = j->text, .data = j->data};
    hs_out_req *req = NULL;
    hs_error err;
    hs_error_clear(&err);
    hs_free(j->mail);
    j->mail = NULL;
    if (hs_channel_message(j->channel, &n, nt->smtp_from, hs_now_ms(), &req, &j->mail, &err))
        return fail_now(j, err.msg);
    if (j->mail) {
        if (!nt->smtp_url) return fail_now(j, "no SMTP server: start hookstream with --smtp-url");
        j->mailing = true;
        if (nt->mail_tail)
            nt->mail_tail->mail_next = j;
        else
            nt->mail_head = j;
        nt->mail_tail = j;
        return mail_next(nt);
    }
    if (!nt->http) {
        hs_out_req_free(req);
        hs_free(req);
        return fail_now(j, "no HTTP client");
    }
    if (hs_http_client_send(nt->http, req, on_http, j, &j->call)) return fail_now(j, "could not start the request");
}

void hs_notify_send(hs_notify *nt, const json_t *channel, const hs_notice *n, int max_attempts, hs_notify_cb cb,
                    void *ud) {
    job *j = hs_calloc(1, sizeof *j);
    j->nt = nt;
    j->channel = json_deep_copy(channel);
    j->type = hs_strdup(n->type);
    j->title = hs_strdup(n->title);
    j->text = hs_strdup(n->text);
    j->data = n->data ? json_deep_copy(n->data) : NULL;
    j->max_attempts = max_attempts < 1 ? 1 : max_attempts;
    j->cb = cb;
    j->ud = ud;
    uv_timer_init(nt->loop, &j->timer);
    j->timer.data = j;
    j->next = nt->jobs;
    if (nt->jobs) nt->jobs->prev = j;
    nt->jobs = j;
    if (nt->closing) return fail_now(j, "shutting down");
    attempt(j);
}

uint64_t hs_notify_retry_delay_ms(const hs_notify *nt, int failed) { return hs_retry_delay_ms(&nt->policy, failed); }

static void http_closed(void *ud) {
    hs_notify *nt = ud;
    nt->closing_handles--;
    maybe_freed(nt);
}

void hs_notify_close(hs_notify *nt, void (*done)(void *ud), void *ud) {
    if (!nt) {
        if (done) done(ud);
        return;
    }
    nt->closing = true;
    nt->done = done;
    nt->done_ud = ud;
    /* the jobs waiting for a timer end now; those out end as their
     * transfer is cancelled (HTTP) or completes (SMTP, bounded) */
    for (job *j = nt->jobs, *next; j; j = next) {
        next = j->next;
        if (uv_is_active((uv_handle_t *)&j->timer)) {
            uv_timer_stop(&j->timer);
            fail_now(j, "shutting down");
        }
    }
    mail_next(nt);         /* the e-mails waiting for their turn fail */
    nt->closing_handles++; /* held until the client is closed */
    if (nt->http)
        hs_http_client_close(nt->http, http_closed, nt);
    else
        http_closed(nt);
}
