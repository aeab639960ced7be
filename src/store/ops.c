/* src/store/ops.c — the public calls of src/store/ops.h: argument checks,
 * the writer's ops, and what a hit or a change does to an issue (decided
 * here for every backend, which only finds and writes rows). Writes run on
 * the writer thread, reads on the caller's.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timeutil.h"
#include "store/backend.h"
#include "store/writer.h"

static const char *const error_types[] = {"http_4xx", "http_5xx", "timeout", "connection", "circuit_open", "provider"};

static bool is_error_type(const char *t) {
    for (size_t i = 0; t && i < sizeof error_types / sizeof error_types[0]; i++)
        if (strcmp(t, error_types[i]) == 0) return true;
    return false;
}

static bool is_status(const char *st) {
    return st && (strcmp(st, "open") == 0 || strcmp(st, "acknowledged") == 0 || strcmp(st, "resolved") == 0);
}

static void copy_text(char *dst, size_t cap, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    /* never cut a UTF-8 sequence in two */
    while (n > 0 && n < (src ? strlen(src) : 0) && ((unsigned char)src[n] & 0xC0) == 0x80) n--;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The ids newest first: attempt_id, then those of recent not equal to it,
 * HS_ISSUE_RECENT_MAX at most. */
static void recent_push(char *recent, const char *attempt_id) {
    if (!attempt_id || !*attempt_id) return;
    json_t *old = json_loads(recent, 0, NULL);
    json_t *ids = json_array();
    json_array_append_new(ids, json_string(attempt_id));
    size_t i;
    json_t *v;
    json_array_foreach(old, i, v) {
        if (json_array_size(ids) >= HS_ISSUE_RECENT_MAX) break;
        if (json_is_string(v) && strcmp(json_string_value(v), attempt_id) != 0) json_array_append(ids, v);
    }
    char *text = json_dumps(ids, JSON_COMPACT);
    copy_text(recent, HS_ISSUE_RECENT_TEXT, text ? text : "[]");
    hs_free(text);
    json_decref(ids);
    json_decref(old);
}

/* ---- issues ---- */

static void hit_apply(hs_issue *row, const hs_issue_hit *h, bool *opened) {
    *opened = strcmp(row->status, "resolved") == 0;
    if (*opened) {
        copy_text(row->status, sizeof row->status, "open");
        row->opened_at = h->at;
        row->acknowledged_at = row->resolved_at = 0;
    }
    row->count++;
    if (h->at > row->last_seen_at) row->last_seen_at = h->at;
    if (h->message) copy_text(row->last_error, sizeof row->last_error, h->message);
    recent_push(row->recent_attempt_ids, h->attempt_id);
    row->updated_at = h->at;
}

/* One hit on the writer: the row of its key found (or inserted), then
 * counted. */
static int one_hit(hs_store *s, const hs_issue_hit *h, hs_issue *row, bool *opened, hs_error *err) {
    const hs__ops_ops *o = s->be->ops;
    bool found = false, written = false;
    *opened = false;
    int rc = o->issue_find(s, NULL, h->destination_id, h->error_type, row, &found, err);
    if (rc == HS_OK && !found) {
        memset(row, 0, sizeof *row);
        hs_id_new("iss_", row->id);
        copy_text(row->destination_id, sizeof row->destination_id, h->destination_id);
        copy_text(row->error_type, sizeof row->error_type, h->error_type);
        copy_text(row->status, sizeof row->status, "open");
        row->count = 1;
        row->first_seen_at = row->last_seen_at = row->opened_at = row->created_at = row->updated_at = h->at;
        copy_text(row->last_error, sizeof row->last_error, h->message ? h->message : "");
        copy_text(row->recent_attempt_ids, sizeof row->recent_attempt_ids, "[]");
        recent_push(row->recent_attempt_ids, h->attempt_id);
        rc = o->issue_write(s, row, true, &written, err);
        if (rc == HS_OK && written) {
            *opened = true;
            return HS_OK;
        }
        /* another node inserted the key meanwhile: count on its row */
        if (rc == HS_OK) rc = o->issue_find(s, NULL, h->destination_id, h->error_type, row, &found, err);
        if (rc == HS_OK && !found) rc = hs_error_set(err, HS_ERR_BUSY, NULL, "the issue changed; try again");
    }
    if (rc != HS_OK) return rc;
    hit_apply(row, h, opened);
    return o->issue_write(s, row, false, &written, err);
}

typedef struct hits_args {
    const hs_issue_hit *hits;
    size_t n;
    hs_issue *out;
    bool *opened;
} hits_args;

static int hits_exec(hs_store *s, hs_wop *op) {
    const hits_args *a = op->ud;
    int rc = HS_OK;
    for (size_t i = 0; rc == HS_OK && i < a->n; i++) rc = one_hit(s, &a->hits[i], &a->out[i], &a->opened[i], &op->err);
    return rc;
}

int hs_store_issue_hits(hs_store *s, const hs_issue_hit *hits, size_t n, hs_issue *out, bool *opened, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (n == 0) return HS_OK;
    memset(out, 0, n * sizeof *out);
    memset(opened, 0, n * sizeof *opened);
    for (size_t i = 0; i < n; i++) {
        if (!hits[i].destination_id || !*hits[i].destination_id)
            return hs_error_set(err, HS_ERR_INVALID, "destination_id", "is required");
        if (!is_error_type(hits[i].error_type))
            return hs_error_set(err, HS_ERR_INVALID, "error_type", "is not an error type");
    }
    hits_args a = {hits, n, out, opened};
    hs_wop op = {.exec = hits_exec, .keeps_routes = true, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

int hs_store_issue_hit(hs_store *s, const hs_issue_hit *h, hs_issue *out, bool *opened, hs_error *err) {
    return hs_store_issue_hits(s, h, 1, out, opened, err);
}

static int check_page(const hs_page *page, hs_error *err) {
    if (page->limit < 1 || page->limit > 100) return hs_error_set(err, HS_ERR_INVALID, "limit", "must be 1 to 100");
    return HS_OK;
}

int hs_store_issue_list(hs_store *s, const hs_issue_query *q, hs_issue **items, size_t *n, bool *has_more,
                        hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *n = 0;
    *has_more = false;
    if (q->status && !is_status(q->status))
        return hs_error_set(err, HS_ERR_INVALID, "status", "must be open, acknowledged or resolved");
    int rc = check_page(&q->page, err);
    return rc ? rc : s->be->ops->issue_list(s, q, items, n, has_more, err);
}

static int not_found(hs_error *err, const char *what, const char *id) {
    return hs_error_set(err, HS_ERR_NOTFOUND, NULL, "%s %s not found", what, id);
}

int hs_store_issue_get(hs_store *s, const char *id, hs_issue *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    bool found = false;
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    int rc = s->be->ops->issue_get(s, id, out, &found, err);
    return rc == HS_OK && !found ? not_found(err, "issue", id) : rc;
}

int hs_store_issue_counts(hs_store *s, hs_issue_counts *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    return s->be->ops->issue_counts(s, out, err);
}

static int update_exec(hs_store *s, hs_wop *op) {
    const hs_issue_change *c = op->ud;
    hs_issue *row = (hs_issue *)op->arg3;
    bool found = false, written = false;
    int rc = s->be->ops->issue_find(s, op->id, NULL, NULL, row, &found, &op->err);
    if (rc == HS_OK && !found) rc = not_found(&op->err, "issue", op->id);
    if (rc != HS_OK) return rc;
    if (c->status && strcmp(c->status, row->status) != 0) {
        copy_text(row->status, sizeof row->status, c->status);
        if (strcmp(c->status, "acknowledged") == 0) row->acknowledged_at = c->now;
        if (strcmp(c->status, "resolved") == 0) row->resolved_at = c->now;
        if (strcmp(c->status, "open") == 0) {
            row->acknowledged_at = row->resolved_at = 0;
            row->opened_at = c->now;
        }
    }
    if (c->set_snooze) row->snoozed_until = c->snoozed_until;
    row->updated_at = c->now;
    return s->be->ops->issue_write(s, row, false, &written, &op->err);
}

int hs_store_issue_update(hs_store *s, const char *id, const hs_issue_change *c, hs_issue *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    if (c->status && !is_status(c->status))
        return hs_error_set(err, HS_ERR_INVALID, "status", "must be open, acknowledged or resolved");
    hs_wop op = {.exec = update_exec, .keeps_routes = true, .id = id, .ud = (void *)c, .arg3 = (const char *)out};
    return hs__writer_submit(s, &op, err);
}

typedef struct quiet_args {
    uint64_t before, now;
    size_t *n;
} quiet_args;

static int quiet_exec(hs_store *s, hs_wop *op) {
    const quiet_args *a = op->ud;
    return s->be->ops->resolve_quiet(s, a->before, a->now, a->n, &op->err);
}

int hs_store_issue_resolve_quiet(hs_store *s, uint64_t before, uint64_t now, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    size_t local = 0;
    if (!n) n = &local;
    *n = 0;
    quiet_args a = {before, now, n};
    hs_wop op = {.exec = quiet_exec, .keeps_routes = true, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

/* ---- channels and rules ---- */

/* The context a channel's secret is sealed for: the channel and the field. */
static void secret_context(const json_t *doc, char *out, size_t cap) {
    const char *id = json_string_value(json_object_get(doc, "id"));
    snprintf(out, cap, "%s/config.secret", id ? id : "");
}

static int channel_seal(hs_kind kind, json_t *doc, const hs_secretbox *box, hs_error *err) {
    (void)kind;
    json_t *config = json_object_get(doc, "config");
    const char *secret = json_string_value(json_object_get(config, "secret"));
    if (!secret) return HS_OK;
    char ctx[HS_ID_MAX + 32];
    secret_context(doc, ctx, sizeof ctx);
    char *sealed = hs_secretbox_seal(box, secret, strlen(secret), ctx, err);
    if (!sealed) return err->code;
    json_object_set_new(config, "secret", json_string(sealed));
    hs_free(sealed);
    return HS_OK;
}

static int channel_unseal(hs_kind kind, json_t *doc, const hs_secretbox *box, size_t *clear, hs_error *err) {
    (void)kind;
    json_t *config = json_object_get(doc, "config");
    const char *secret = json_string_value(json_object_get(config, "secret"));
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!secret) return HS_OK;
    if (!hs_secretbox_is_sealed(secret)) {
        if (clear) (*clear)++;
        return HS_OK;
    }
    if (!box)
        return hs_error_set(err, HS_ERR_UNAUTHORIZED, "config.secret",
                            "notification channel %s: its secret is sealed and no key was given", id ? id : "?");
    char ctx[HS_ID_MAX + 32];
    secret_context(doc, ctx, sizeof ctx);
    char *plain = NULL;
    size_t len = 0;
    int rc = hs_secretbox_open(box, secret, ctx, &plain, &len, err);
    if (rc) return rc;
    json_object_set_new(config, "secret", json_stringn(plain, len));
    hs_free_secret(plain);
    return HS_OK;
}

const hs_secret_codec hs_channel_secret_codec = {.seal = channel_seal, .unseal = channel_unseal};

static const char *const doc_names[HS_OPSDOC_KINDS] = {"notification channel", "alert rule"};

void hs_opsdoc_free(hs_opsdoc *rows, size_t n) {
    for (size_t i = 0; rows && i < n; i++) hs_free(rows[i].text);
    hs_free(rows);
}

typedef struct doc_args {
    hs_opsdoc_kind kind;
    bool create;
    const hs_opsdoc *row;
    bool fire;
    uint64_t now, cooldown_ms;
    bool *claimed;
} doc_args;

static int put_exec(hs_store *s, hs_wop *op) {
    const doc_args *a = op->ud;
    bool found = true;
    int rc = s->be->ops->doc_put(s, a->kind, a->create, a->row, hs_now_ms(), &found, &op->err);
    return rc == HS_OK && !found ? not_found(&op->err, doc_names[a->kind], a->row->id) : rc;
}

static bool kind_ok(hs_opsdoc_kind kind) { return (unsigned)kind < HS_OPSDOC_KINDS; }

int hs_store_opsdoc_put(hs_store *s, hs_opsdoc_kind kind, bool create, const hs_opsdoc *row, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!kind_ok(kind) || !row->id[0] || !row->text) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad write");
    doc_args a = {.kind = kind, .create = create, .row = row};
    hs_wop op = {.exec = put_exec, .keeps_routes = true, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

static int delete_exec(hs_store *s, hs_wop *op) {
    const doc_args *a = op->ud;
    bool found = true;
    int rc = s->be->ops->doc_delete(s, a->kind, op->id, &found, &op->err);
    return rc == HS_OK && !found ? not_found(&op->err, doc_names[a->kind], op->id) : rc;
}

int hs_store_opsdoc_delete(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!kind_ok(kind) || !id) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad delete");
    doc_args a = {.kind = kind};
    hs_wop op = {.exec = delete_exec, .keeps_routes = true, .id = id, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

int hs_store_opsdoc_get(hs_store *s, hs_opsdoc_kind kind, const char *id, hs_opsdoc *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    if (!kind_ok(kind) || !id) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad get");
    bool found = false;
    int rc = s->be->ops->doc_get(s, kind, id, out, &found, err);
    return rc == HS_OK && !found ? not_found(err, doc_names[kind], id) : rc;
}

int hs_store_opsdoc_list(hs_store *s, hs_opsdoc_kind kind, const hs_page *page, hs_opsdoc **rows, size_t *n,
                         bool *has_more, hs_error *err) {
    HS_ERR_LOCAL(err);
    *rows = NULL;
    *n = 0;
    *has_more = false;
    if (!kind_ok(kind)) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad list");
    int rc = page ? check_page(page, err) : HS_OK;
    return rc ? rc : s->be->ops->doc_list(s, kind, page, rows, n, has_more, err);
}

static int claim_exec(hs_store *s, hs_wop *op) {
    const doc_args *a = op->ud;
    return s->be->ops->rule_claim(s, op->id, a->fire, a->now, a->cooldown_ms, a->claimed, &op->err);
}

int hs_store_rule_claim(hs_store *s, const char *id, bool fire, uint64_t now, uint64_t cooldown_ms, bool *claimed,
                        hs_error *err) {
    HS_ERR_LOCAL(err);
    *claimed = false;
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    doc_args a = {.fire = fire, .now = now, .cooldown_ms = cooldown_ms, .claimed = claimed};
    hs_wop op = {.exec = claim_exec, .keeps_routes = true, .id = id, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

int hs_store_window_stats(hs_store *s, const hs_window_query *q, hs_window_stats *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    if (q->until < q->since) return hs_error_set(err, HS_ERR_INVALID, NULL, "the window ends before it starts");
    const hs__ops_ops *o = s->be->ops;
    uint64_t v[4] = {0};
    int rc = o->window_attempts(s, q, v, err);
    out->attempts = v[0];
    out->failed = v[1];
    out->dead_lettered = v[2];
    out->avg_ms = v[3];
    /* the p95: the duration at rank ceil(0.95 n) */
    if (rc == HS_OK && out->attempts > 0)
        rc = o->window_nth(s, q, (out->attempts * 95 + 99) / 100 - 1, &out->p95_ms, err);
    if (rc == HS_OK) rc = o->window_events(s, q, &out->events, err);
    return rc;
}

void hs__window_least_id(const char *prefix, uint64_t since_ms, char out[HS_ID_MAX]) {
    const uint64_t margin_ms = 10 * 60 * 1000; /* the longest attempt (300 s), twice */
    uint64_t t = since_ms > margin_ms ? since_ms - margin_ms : 0;
    snprintf(out, HS_ID_MAX, "%s%012llx", prefix, (unsigned long long)(t & 0xffffffffffffULL));
}

/* ---- notifications ---- */

static bool is_ntf_status(const char *st) {
    return st && (strcmp(st, "pending") == 0 || strcmp(st, "sent") == 0 || strcmp(st, "failed") == 0);
}

void hs_notification_free(hs_notification *v, size_t n) {
    for (size_t i = 0; v && i < n; i++) hs_free(v[i].notice);
    hs_free(v);
}

typedef struct ntf_args {
    const hs_notification *row;
    const char *node;
    uint64_t lease_ms;
    size_t limit;
    bool mine_too;
    hs_notification **out;
    size_t *n;
    const hs_notification_outcome *outcome;
    bool *mine;
    uint64_t before;
} ntf_args;

static int ntf_add_exec(hs_store *s, hs_wop *op) {
    const ntf_args *a = op->ud;
    return s->be->ops->ntf_add(s, a->row, a->node, a->lease_ms, hs_now_ms(), &op->err);
}

int hs_store_notification_add(hs_store *s, const hs_notification *n, const char *node, uint64_t lease_ms,
                              hs_error *err) {
    HS_ERR_LOCAL(err);
    if (!n->id[0] || !n->channel_id[0] || !n->type[0] || !n->notice || n->max_attempts < 1 || !node)
        return hs_error_set(err, HS_ERR_INVALID, NULL, "bad notification");
    ntf_args a = {.row = n, .node = node, .lease_ms = lease_ms};
    hs_wop op = {.exec = ntf_add_exec, .keeps_routes = true, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

static int ntf_claim_exec(hs_store *s, hs_wop *op) {
    const ntf_args *a = op->ud;
    return s->be->ops->ntf_claim(s, a->node, a->lease_ms, a->limit, a->mine_too, hs_now_ms(), a->out, a->n, &op->err);
}

int hs_store_notification_claim(hs_store *s, const char *node, uint64_t lease_ms, size_t limit, bool mine_too,
                                hs_notification **out, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    *out = NULL;
    *n = 0;
    if (!node || limit < 1) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad claim");
    bool any = false;
    int rc = s->be->ops->ntf_any_due(s, node, mine_too, hs_now_ms(), &any, err);
    if (rc != HS_OK || !any) return rc;
    ntf_args a = {.node = node, .lease_ms = lease_ms, .limit = limit, .mine_too = mine_too, .out = out, .n = n};
    hs_wop op = {.exec = ntf_claim_exec, .keeps_routes = true, .ud = &a};
    rc = hs__writer_submit(s, &op, err);
    if (rc != HS_OK) { /* a failed group rolled the claim back */
        hs_notification_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static int ntf_settle_exec(hs_store *s, hs_wop *op) {
    const ntf_args *a = op->ud;
    return s->be->ops->ntf_settle(s, op->id, a->node, a->outcome, hs_now_ms(), a->mine, &op->err);
}

int hs_store_notification_settle(hs_store *s, const char *id, const char *node, const hs_notification_outcome *o,
                                 bool *mine, hs_error *err) {
    HS_ERR_LOCAL(err);
    bool local = false;
    if (!mine) mine = &local;
    *mine = false;
    if (!id || !node || !is_ntf_status(o->status)) return hs_error_set(err, HS_ERR_INVALID, NULL, "bad outcome");
    ntf_args a = {.node = node, .outcome = o, .mine = mine};
    hs_wop op = {.exec = ntf_settle_exec, .keeps_routes = true, .id = id, .ud = &a};
    return hs__writer_submit(s, &op, err);
}

int hs_store_notification_list(hs_store *s, const hs_notification_query *q, hs_notification **items, size_t *n,
                               bool *has_more, hs_error *err) {
    HS_ERR_LOCAL(err);
    *items = NULL;
    *n = 0;
    *has_more = false;
    if (q->status && !is_ntf_status(q->status))
        return hs_error_set(err, HS_ERR_INVALID, "status", "must be pending, sent or failed");
    int rc = check_page(&q->page, err);
    return rc ? rc : s->be->ops->ntf_list(s, q, items, n, has_more, err);
}

int hs_store_notification_get(hs_store *s, const char *id, hs_notification *out, hs_error *err) {
    HS_ERR_LOCAL(err);
    memset(out, 0, sizeof *out);
    bool found = false;
    if (!id) return hs_error_set(err, HS_ERR_INVALID, "id", "is required");
    int rc = s->be->ops->ntf_get(s, id, out, &found, err);
    return rc == HS_OK && !found ? not_found(err, "notification", id) : rc;
}

static int ntf_prune_exec(hs_store *s, hs_wop *op) {
    const ntf_args *a = op->ud;
    return s->be->ops->ntf_prune(s, a->before, a->limit, a->n, &op->err);
}

int hs_store_notification_prune(hs_store *s, uint64_t before, size_t limit, size_t *n, hs_error *err) {
    HS_ERR_LOCAL(err);
    size_t local = 0;
    if (!n) n = &local;
    *n = 0;
    if (limit < 1) return HS_OK;
    ntf_args a = {.before = before, .limit = limit, .n = n};
    hs_wop op = {.exec = ntf_prune_exec, .keeps_routes = true, .ud = &a};
    return hs__writer_submit(s, &op, err);
}
