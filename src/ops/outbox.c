/* src/ops/outbox.c — durable notifications (src/ops/ops.h): what a job
 * decides to send is written to the store's outbox first, claimed by this
 * node; the loop sends each attempt on the notifier (src/ops/notify.h);
 * its outcome is written back by the settle job; the outbox timer claims
 * the pending ones due and sends them, and prunes the settled ones past
 * --retention. Loop 0, but for the job functions (threadpool).
 *
 * A notification is sent at least once: a node that dies between a
 * channel's answer and the write of the outcome sends it again once its
 * claim is taken back (by itself after a restart, or by another node
 * when the lease runs out).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/id.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ops/ops.h"

#define PRUNE_EVERY_MS (60ULL * 1000) /* settled notifications past --retention are looked for */
#define PRUNE_BATCH 1000

/* ---- the items ---- */

hs_outbox_item *hs__outbox_add(hs_outbox *box, const json_t *channel, const hs_notice *n) {
    if (box->n == box->cap) {
        box->cap = box->cap ? box->cap * 2 : 8;
        box->v = hs_realloc(box->v, box->cap * sizeof *box->v);
    }
    hs_outbox_item *it = &box->v[box->n++];
    memset(it, 0, sizeof *it);
    it->channel = json_deep_copy(channel);
    it->notice.type = hs_strdup(n->type);
    it->notice.title = hs_strdup(n->title);
    it->notice.text = hs_strdup(n->text);
    it->notice.data = n->data ? json_deep_copy(n->data) : NULL;
    return it;
}

/* The channel id'd, enabled, read and unsealed (threadpool): a new doc,
 * or NULL with why in err. */
static json_t *channel_read(hs_ops *o, const char *id, hs_error *err) {
    hs_opsdoc row;
    if (hs_store_opsdoc_get(o->store, HS_OPSDOC_CHANNEL, id, &row, err)) return NULL;
    json_t *doc = json_loads(row.text, 0, NULL);
    bool enabled = row.enabled;
    hs_free(row.text);
    if (!doc) {
        hs_error_set(err, HS_ERR_INTERNAL, NULL, "notification channel %s is unreadable", id);
    } else if (!enabled) {
        hs_error_set(err, HS_ERR_INVALID, NULL, "notification channel %s is disabled", id);
    } else if (hs_channel_unseal(doc, o->box, err) == HS_OK) {
        return doc;
    }
    json_decref(doc);
    return NULL;
}

/* What re-renders a notice: its title, text and data. */
static char *notice_text(const hs_notice *n) {
    json_t *j = json_pack("{s:s, s:s, s:O?}", "title", n->title ? n->title : "", "text", n->text ? n->text : "", "data",
                          n->data);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

void hs__outbox_channels(hs_ops *o, const json_t *ids, const hs_notice *n, hs_outbox *box) {
    char *notice = notice_text(n);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);
        hs_error err;
        hs_error_clear(&err);
        json_t *doc = id ? channel_read(o, id, &err) : NULL;
        if (!doc) {
            hs_warn("alerts: notification channel %s skipped: %s", id ? id : "?", err.msg);
            continue;
        }
        hs_outbox_item *it = hs__outbox_add(box, doc, n);
        json_decref(doc);
        it->max_attempts = o->cfg.notify_attempts;
        hs_notification row = {.notice = notice, .max_attempts = it->max_attempts};
        hs_id_new("ntf_", row.id);
        snprintf(row.channel_id, sizeof row.channel_id, "%s", id);
        snprintf(row.type, sizeof row.type, "%s", n->type);
        if (notice && hs_store_notification_add(o->store, &row, o->node, HS_OUTBOX_LEASE_MS, &err) == HS_OK)
            memcpy(it->id, row.id, sizeof it->id);
        else /* sent all the same, its retries in memory */
            hs_warn("notify: %s on channel %s not kept in the store (a restart loses its retries): %s", n->type, id,
                    notice ? err.msg : "no memory");
    }
    hs_free(notice);
}

/* ---- outcomes ---- */

typedef struct hs__settle {
    char id[HS_ID_MAX];
    char channel_id[HS_ID_MAX];
    char status[16];
    char error[HS_NOTIFICATION_ERROR_MAX];
    uint64_t retry_in_ms;
    int attempts; /* made, this one counted */
    bool count;
} settle;

typedef struct settle_job {
    hs_ops *o;
    settle *v;
    size_t n;
} settle_job;

static void settle_run(void *arg) {
    settle_job *j = arg;
    for (size_t i = 0; i < j->n; i++) {
        const settle *x = &j->v[i];
        hs_notification_outcome oc = {
            .status = x->status, .error = x->error, .retry_in_ms = x->retry_in_ms, .count = x->count};
        bool mine = false;
        hs_error err;
        hs_error_clear(&err);
        if (hs_store_notification_settle(j->o->store, x->id, j->o->node, &oc, &mine, &err))
            hs_warn("notify: notification %s: its outcome not recorded: %s", x->id, err.msg);
        else if (!mine)
            hs_warn("notify: notification %s: its claim was lost (its lease ran out)", x->id);
        else if (strcmp(x->status, "failed") == 0)
            hs_warn("notify: notification %s on channel %s failed after %d attempt(s): %s", x->id, x->channel_id,
                    x->attempts, x->error);
        else if (strcmp(x->status, "pending") == 0 && x->count)
            hs_info("notify: notification %s on channel %s failed (%s); again in %llu ms", x->id, x->channel_id,
                    x->error, (unsigned long long)x->retry_in_ms);
    }
}

static void start_settle(hs_ops *o);

static void settle_after(void *arg) {
    settle_job *j = arg;
    hs_ops *o = j->o;
    hs_free(j->v);
    hs_free(j);
    start_settle(o);
}

static void start_settle(hs_ops *o) {
    if (o->settle_job || !o->nsettles) return;
    settle_job *j = hs_calloc(1, sizeof *j);
    j->o = o;
    j->v = o->settles;
    j->n = o->nsettles;
    o->settles = NULL;
    o->nsettles = 0;
    hs__ops_job_final(o, &o->settle_job, settle_run, settle_after, j);
}

/* One attempt of a stored notification. */
typedef struct sent_ctx {
    hs_ops *o;
    char id[HS_ID_MAX];
    char channel_id[HS_ID_MAX];
    int attempts, max_attempts;
} sent_ctx;

static void on_sent(const hs_notify_result *r, void *ud) {
    sent_ctx *c = ud;
    hs_ops *o = c->o;
    o->settles = hs_realloc(o->settles, (o->nsettles + 1) * sizeof *o->settles);
    settle *x = &o->settles[o->nsettles++];
    memset(x, 0, sizeof *x);
    memcpy(x->id, c->id, sizeof x->id);
    memcpy(x->channel_id, c->channel_id, sizeof x->channel_id);
    x->count = !r->cancelled;
    x->attempts = c->attempts + (x->count ? 1 : 0);
    snprintf(x->error, sizeof x->error, "%s", r->error);
    if (r->ok)
        snprintf(x->status, sizeof x->status, "sent");
    else if (x->count && x->attempts >= c->max_attempts)
        snprintf(x->status, sizeof x->status, "failed");
    else
        snprintf(x->status, sizeof x->status, "pending");
    /* a stop's cancelled attempt is due again at once (after a restart) */
    if (x->count && !r->ok) x->retry_in_ms = hs_notify_retry_delay_ms(o->notify, x->attempts);
    hs_free(c);
    start_settle(o);
}

void hs__outbox_send(hs_ops *o, hs_outbox *box) {
    for (size_t i = 0; i < box->n; i++) {
        hs_outbox_item *it = &box->v[i];
        if (o->stopping) {
            /* not sent: a stored one stays claimed until its lease runs out
             * (or this node restarts) */
        } else if (it->id[0]) {
            sent_ctx *c = hs_calloc(1, sizeof *c);
            c->o = o;
            memcpy(c->id, it->id, sizeof c->id);
            snprintf(c->channel_id, sizeof c->channel_id, "%s", json_string_value(json_object_get(it->channel, "id")));
            c->attempts = it->attempts;
            c->max_attempts = it->max_attempts;
            hs_notify_send(o->notify, it->channel, &it->notice, 1, on_sent, c);
        } else {
            hs_notify_send(o->notify, it->channel, &it->notice, o->cfg.notify_attempts, NULL, NULL);
        }
        json_decref(it->channel);
        hs_free((char *)it->notice.type);
        hs_free((char *)it->notice.title);
        hs_free((char *)it->notice.text);
        json_decref(it->notice.data);
    }
    hs_free(box->v);
    memset(box, 0, sizeof *box);
}

/* ---- the timer: the pending ones due, pruning ---- */

typedef struct due_job {
    hs_ops *o;
    bool mine_too, prune;
    uint64_t retention_ms;
    hs_outbox box;
} due_job;

/* A claimed notification whose channel cannot be sent to: failed now. */
static void fail_row(hs_ops *o, const hs_notification *v, const char *why) {
    hs_notification_outcome oc = {.status = "failed", .error = why, .count = false};
    hs_error err;
    hs_error_clear(&err);
    bool mine = false;
    if (hs_store_notification_settle(o->store, v->id, o->node, &oc, &mine, &err))
        hs_warn("notify: notification %s: its outcome not recorded: %s", v->id, err.msg);
    else
        hs_warn("notify: notification %s failed: %s", v->id, why);
}

/* One claimed row into the box, its channel read again (its secret or
 * URL may have changed since). */
static void load_row(hs_ops *o, const hs_notification *v, hs_outbox *box) {
    hs_error err;
    hs_error_clear(&err);
    json_t *doc = channel_read(o, v->channel_id, &err);
    if (!doc) return fail_row(o, v, err.msg);
    json_t *notice = json_loads(v->notice, 0, NULL);
    if (!json_is_object(notice)) {
        json_decref(doc);
        json_decref(notice);
        return fail_row(o, v, "its notice is unreadable");
    }
    hs_notice n = {.type = v->type,
                   .title = json_string_value(json_object_get(notice, "title")),
                   .text = json_string_value(json_object_get(notice, "text")),
                   .data = json_object_get(notice, "data")};
    hs_outbox_item *it = hs__outbox_add(box, doc, &n);
    memcpy(it->id, v->id, sizeof it->id);
    it->attempts = v->attempts;
    it->max_attempts = v->max_attempts;
    json_decref(notice);
    json_decref(doc);
}

static void due_run(void *arg) {
    due_job *j = arg;
    hs_ops *o = j->o;
    hs_error err;
    hs_error_clear(&err);
    hs_notification *v = NULL;
    size_t n = 0;
    if (hs_store_notification_claim(o->store, o->node, HS_OUTBOX_LEASE_MS, HS_OUTBOX_BATCH, j->mine_too, &v, &n, &err))
        hs_warn("notify: could not look for notifications due: %s", err.msg);
    for (size_t i = 0; i < n; i++) load_row(o, &v[i], &j->box);
    if (n) hs_info("notify: %zu notification(s) due claimed", n);
    hs_notification_free(v, n);
    if (!j->prune) return;
    uint64_t now = hs_now_ms();
    size_t gone = 0;
    if (hs_store_notification_prune(o->store, now > j->retention_ms ? now - j->retention_ms : 0, PRUNE_BATCH, &gone,
                                    &err))
        hs_warn("notify: could not delete old notifications: %s", err.msg);
    else if (gone)
        hs_info("notify: %zu settled notification(s) past the retention deleted", gone);
}

static void due_after(void *arg) {
    due_job *j = arg;
    hs__outbox_send(j->o, &j->box);
    hs_free(j);
}

void hs__outbox_tick(hs_ops *o) {
    if (o->outbox_job || o->stopping) return;
    due_job *j = hs_calloc(1, sizeof *j);
    j->o = o;
    j->mine_too = !o->restarted; /* the first look: what this node held before a restart is its own */
    o->restarted = true;
    uint64_t now = hs_now_ms();
    if (o->cfg.retention_ms && now - o->pruned_at >= PRUNE_EVERY_MS) {
        j->prune = true;
        j->retention_ms = o->cfg.retention_ms;
        o->pruned_at = now;
    }
    hs__ops_job(o, &o->outbox_job, due_run, due_after, j);
}
