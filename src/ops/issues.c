/* src/ops/issues.c — issues opened and counted from the hooks, resolved
 * when quiet (src/ops/issues.h). Loop 0, but for the job functions
 * (threadpool).
 */
#include "ops/issues.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/json_text.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "ops/alerts.h"

typedef struct hs__pending_hit {
    char destination_id[HS_ID_MAX];
    char error_type[16];
    char attempt_id[HS_ID_MAX];
    char message[HS_ISSUE_ERROR_MAX];
    uint64_t at;
} pending_hit;

const char *hs_issue_error_type(const hs_attempt_rec *a, const char *dest_type) {
    if (a->response_status >= 500) return "http_5xx";
    if (a->response_status >= 400) return "http_4xx";
    if (a->response_status > 0) return "provider"; /* another answer that is not a success */
    const char *e = a->error ? a->error : "";
    if (strcasestr(e, "timed out") || strcasestr(e, "timeout")) return "timeout";
    return !dest_type || strcmp(dest_type, "http") == 0 ? "connection" : "provider";
}

static json_t *time_or_null(uint64_t ms) { return ms ? hs_json_time(ms) : json_null(); }

json_t *hs_issue_json(const hs_issue *i) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(i->id));
    json_object_set_new(o, "destination_id", json_string(i->destination_id));
    json_object_set_new(o, "error_type", json_string(i->error_type));
    json_object_set_new(o, "status", json_string(i->status));
    json_object_set_new(o, "count", json_integer((json_int_t)i->count));
    json_object_set_new(o, "last_error", hs_json_text(i->last_error));
    json_t *recent = json_loads(i->recent_attempt_ids, 0, NULL);
    json_object_set_new(o, "recent_attempt_ids", json_is_array(recent) ? recent : json_array());
    if (!json_is_array(recent)) json_decref(recent);
    json_object_set_new(o, "first_seen_at", hs_json_time(i->first_seen_at));
    json_object_set_new(o, "last_seen_at", hs_json_time(i->last_seen_at));
    json_object_set_new(o, "opened_at", hs_json_time(i->opened_at));
    json_object_set_new(o, "acknowledged_at", time_or_null(i->acknowledged_at));
    json_object_set_new(o, "resolved_at", time_or_null(i->resolved_at));
    json_object_set_new(o, "snoozed_until", time_or_null(i->snoozed_until));
    json_object_set_new(o, "created_at", hs_json_time(i->created_at));
    json_object_set_new(o, "updated_at", hs_json_time(i->updated_at));
    return o;
}

/* ---- hits ---- */

typedef struct hit_job {
    hs_ops *o;
    pending_hit *hits;
    size_t n;
    hs_outbox box;
} hit_job;

#define HITS_PER_WRITE 256

static void hits_run(void *arg) {
    hit_job *j = arg;
    hs_issue_hit *h = hs_calloc(HITS_PER_WRITE, sizeof *h);
    hs_issue *iss = hs_calloc(HITS_PER_WRITE, sizeof *iss);
    bool opened[HITS_PER_WRITE];
    for (size_t from = 0; from < j->n; from += HITS_PER_WRITE) {
        size_t n = j->n - from < HITS_PER_WRITE ? j->n - from : HITS_PER_WRITE;
        for (size_t i = 0; i < n; i++) {
            const pending_hit *p = &j->hits[from + i];
            h[i] = (hs_issue_hit){.destination_id = p->destination_id,
                                  .error_type = p->error_type,
                                  .attempt_id = p->attempt_id,
                                  .message = p->message,
                                  .at = p->at};
        }
        hs_error err;
        hs_error_clear(&err);
        if (hs_store_issue_hits(j->o->store, h, n, iss, opened, &err)) {
            hs_warn("issues: could not record %zu occurrence(s): %s", n, err.msg);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!opened[i]) continue;
            hs_info("issues: issue %s opened (%s on %s)", iss[i].id, iss[i].error_type, iss[i].destination_id);
            if (iss[i].snoozed_until <= hs_now_ms()) hs_alerts_issue_opened(j->o, &iss[i], &j->box);
        }
    }
    hs_free(h);
    hs_free(iss);
}

static void start_hits(hs_ops *o);

static void hits_after(void *arg) {
    hit_job *j = arg;
    hs_ops *o = j->o;
    hs__outbox_send(o, &j->box);
    hs_free(j->hits);
    hs_free(j);
    start_hits(o);
}

static void start_hits(hs_ops *o) {
    if (o->issue_job || !o->nhits || o->stopping) return;
    hit_job *j = hs_calloc(1, sizeof *j);
    j->o = o;
    j->hits = o->hits;
    j->n = o->nhits;
    o->hits = NULL;
    o->nhits = 0;
    hs__ops_job(o, &o->issue_job, hits_run, hits_after, j);
}

static void add_hit(hs_ops *o, const char *dest, const char *type, const hs_attempt_rec *a) {
    if (o->stopping) return;
    if (o->nhits >= HS_ISSUE_HITS_MAX) {
        hs_warn("issues: %zu occurrences waiting; a %s on %s is not counted", o->nhits, type, dest);
        return;
    }
    o->hits = hs_realloc(o->hits, (o->nhits + 1) * sizeof *o->hits);
    pending_hit *p = &o->hits[o->nhits++];
    memset(p, 0, sizeof *p);
    snprintf(p->destination_id, sizeof p->destination_id, "%s", dest);
    snprintf(p->error_type, sizeof p->error_type, "%s", type);
    if (a) snprintf(p->attempt_id, sizeof p->attempt_id, "%s", a->id);
    if (a && a->error)
        snprintf(p->message, sizeof p->message, "%s", a->error);
    else if (a && a->response_status)
        snprintf(p->message, sizeof p->message, "the destination answered %d", a->response_status);
    hs_utf8_fix(p->message); /* snprintf may have cut a character in two */
    p->at = a && a->created_at ? a->created_at : hs_now_ms();
    start_hits(o);
}

void hs_ops_on_attempt(const hs_attempt_event *e, void *ud) {
    const hs_attempt_rec *a = e->a;
    if (!a->is_dlq || e->destination_removed) return;
    add_hit(ud, a->destination_id, hs_issue_error_type(a, e->dest ? e->dest->type : NULL), a);
}

void hs_ops_on_circuit(const hs_circuit_event *e, void *ud) {
    if (strcmp(e->to, "open") != 0 || !e->dest) return;
    add_hit(ud, e->dest->id, "circuit_open", e->a);
}

/* ---- resolving ---- */

typedef struct quiet_job {
    hs_ops *o;
} quiet_job;

static void quiet_run(void *arg) {
    hs_ops *o = ((quiet_job *)arg)->o;
    uint64_t now = hs_now_ms();
    size_t n = 0;
    hs_error err;
    hs_error_clear(&err);
    if (hs_store_issue_resolve_quiet(o->store, now > o->cfg.resolve_after_ms ? now - o->cfg.resolve_after_ms : 0, now,
                                     &n, &err))
        hs_warn("issues: could not resolve quiet issues: %s", err.msg);
    else if (n)
        hs_info("issues: %zu issue(s) quiet for %llu s resolved", n,
                (unsigned long long)(o->cfg.resolve_after_ms / 1000));
}

static void quiet_after(void *arg) { hs_free(arg); }

void hs_issues_tick(hs_ops *o) {
    quiet_job *j = hs_calloc(1, sizeof *j);
    j->o = o;
    hs__ops_job(o, &o->resolve_job, quiet_run, quiet_after, j);
}
