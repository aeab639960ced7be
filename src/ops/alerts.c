/* src/ops/alerts.c — alert rules validated, evaluated and fired
 * (src/ops/alerts.h). Loop 0 for the tick; the evaluation and the firing
 * of issue_opened rules on the threadpool.
 */
#include "ops/alerts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonv.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "core/resource.h"
#include "ops/issues.h"

#define CHANNELS_MAX 20

/* ---- documents ---- */

static const char *const rule_types[] = {"failure_rate", "latency", "volume_drop", "dlq", "issue_opened", NULL};
static const char *const statistics[] = {"p95", "avg", NULL};

/* A number in [min, max] (arg: two doubles); an exclusive minimum when
 * min is negative zero is not needed: min itself is excluded when
 * field->min is 1. */
typedef struct num_range {
    double min, max;
    bool min_excluded;
} num_range;

static int check_number(const hs_jv_at *at, json_t *value, hs_error *err) {
    const num_range *r = at->field->arg;
    if (!json_is_number(value)) return hs_error_set(err, HS_ERR_INVALID, at->path, "must be a number");
    double v = json_number_value(value);
    if (v < r->min || v > r->max || (r->min_excluded && v == r->min))
        return hs_error_set(err, HS_ERR_INVALID, at->path, "must be %s %g and at most %g",
                            r->min_excluded ? "more than" : "at least", r->min, r->max);
    return HS_OK;
}

static const num_range percent = {0, 100, true};
static const num_range positive = {0, 1e12, true};
static const num_range minutes = {0, 10080, true}; /* a week */
static const num_range count = {0, 1e12, false};

/* clang-format off */
#define NUMBER(n, fl, range, d) {.name = (n), .type = HS_JV_ANY, .flags = (fl), .dflt = (d), .check = check_number, \
                                  .arg = &(range)}
static const hs_jv_field failure_rate_config[] = {
    NUMBER("threshold", HS_JV_REQUIRED, percent, NULL),
    NUMBER("window_minutes", 0, minutes, "5"),
    HS_JV_INTR("min_attempts", 1, 1000000000, "10"),
    HS_JV_END,
};
static const hs_jv_field latency_config[] = {
    NUMBER("threshold", HS_JV_REQUIRED, positive, NULL),
    NUMBER("window_minutes", 0, minutes, "5"),
    HS_JV_ENUM("statistic", statistics, "\"p95\""),
    HS_JV_INTR("min_attempts", 1, 1000000000, "1"),
    HS_JV_END,
};
static const hs_jv_field volume_drop_config[] = {
    NUMBER("threshold", 0, count, NULL),
    NUMBER("drop_percent", 0, percent, NULL),
    NUMBER("window_minutes", 0, minutes, "60"),
    HS_JV_END,
};
static const hs_jv_field dlq_config[] = {
    HS_JV_INTR("threshold", 1, 1000000000, "1"),
    NUMBER("window_minutes", 0, minutes, "60"),
    HS_JV_END,
};
static const hs_jv_field issue_opened_config[] = {HS_JV_END};
static const hs_jv_field channel_id_item = {.type = HS_JV_STRING, .max = 64, .check = hs_jv_check_id, .arg = "nch_"};
static const hs_jv_field rule_spec[] = {
    {.name = "id", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .max = 64, .check = hs_jv_check_id, .arg = "alr_"},
    {.name = "name", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED | HS_JV_TRIMMED | HS_JV_NO_CTL, .min = 1, .max = 200},
    {.name = "rule_type", .type = HS_JV_STRING, .flags = HS_JV_REQUIRED, .choices = rule_types},
    {.name = "rule_config", .type = HS_JV_OBJECT, .dflt = "{}"},
    {.name = "source_id", .type = HS_JV_STRING, .max = 64, .check = hs_jv_check_id, .arg = "src_", .dflt = "null"},
    {.name = "destination_id", .type = HS_JV_STRING, .max = 64, .check = hs_jv_check_id, .arg = "dst_",
     .dflt = "null"},
    {.name = "channel_ids", .type = HS_JV_ARRAY, .flags = HS_JV_REQUIRED, .min = 1, .max = CHANNELS_MAX,
     .items = &channel_id_item},
    HS_JV_INTR("cooldown_minutes", 0, 10080, "60"),
    HS_JV_BOOLEAN("enabled", "true"),
    HS_JV_END,
};
/* clang-format on */

static const hs_jv_field *config_spec(const char *type) {
    if (strcmp(type, "failure_rate") == 0) return failure_rate_config;
    if (strcmp(type, "latency") == 0) return latency_config;
    if (strcmp(type, "volume_drop") == 0) return volume_drop_config;
    if (strcmp(type, "dlq") == 0) return dlq_config;
    return issue_opened_config;
}

static int validate(json_t *doc, hs_error *err) {
    int rc = hs_jv_object(doc, "", rule_spec, err);
    const char *type = hs_jv_str(doc, "rule_type");
    json_t *config = json_object_get(doc, "rule_config");
    if (rc == HS_OK) rc = hs_jv_object(config, "rule_config", config_spec(type), err);
    if (rc == HS_OK && strcmp(type, "volume_drop") == 0 && !json_object_get(config, "threshold") &&
        !json_object_get(config, "drop_percent"))
        rc = hs_error_set(err, HS_ERR_INVALID, "rule_config", "a volume_drop rule needs threshold or drop_percent");
    /* what a rule counts decides what may narrow it */
    if (rc == HS_OK && strcmp(type, "volume_drop") == 0 && json_is_string(json_object_get(doc, "destination_id")))
        rc = hs_error_set(err, HS_ERR_INVALID, "destination_id",
                          "a volume_drop rule counts events received: narrow it with source_id");
    if (rc == HS_OK && strcmp(type, "issue_opened") == 0 && json_is_string(json_object_get(doc, "source_id")))
        rc = hs_error_set(err, HS_ERR_INVALID, "source_id",
                          "an issue_opened rule matches issues, which are a destination's: narrow it with "
                          "destination_id");
    /* a channel named twice would be sent to twice */
    json_t *ids = json_object_get(doc, "channel_ids");
    for (size_t i = 0; rc == HS_OK && i < json_array_size(ids); i++)
        for (size_t k = 0; rc == HS_OK && k < i; k++)
            if (json_equal(json_array_get(ids, i), json_array_get(ids, k)))
                rc = hs_error_set(err, HS_ERR_INVALID, "channel_ids", "names %s twice",
                                  json_string_value(json_array_get(ids, i)));
    return rc;
}

/* *doc = d when it validates, else d freed. */
static int finish(json_t *d, json_t **doc, hs_error *err) {
    int rc = validate(d, err);
    if (rc == HS_OK)
        *doc = d;
    else
        json_decref(d);
    return rc;
}

int hs_rule_create_doc(const json_t *body, json_t **doc, hs_error *err) {
    *doc = NULL;
    int rc = hs_doc_refuse_fixed(body, err);
    return rc ? rc : finish(hs_doc_new(body, "alr_"), doc, err);
}

int hs_rule_patch_doc(const json_t *current, const json_t *patch, json_t **doc, hs_error *err) {
    *doc = NULL;
    int rc = hs_doc_refuse_fixed(patch, err);
    if (rc) return rc;
    json_t *base = json_deep_copy(current);
    /* a rule's config is replaced whole: its members depend on its type */
    json_t *config = json_object_get(patch, "rule_config");
    if (config || json_object_get(patch, "rule_type")) json_object_del(base, "rule_config");
    json_t *d = hs_jv_merge_patch(base, patch);
    json_decref(base);
    if (json_is_object(config)) json_object_set(d, "rule_config", config);
    return finish(d, doc, err);
}

int hs_rule_check_refs(hs_store *store, const json_t *doc, hs_error *err) {
    static const struct {
        const char *field;
        hs_kind kind;
    } refs[] = {{"source_id", HS_KIND_SOURCE}, {"destination_id", HS_KIND_DESTINATION}};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        const char *id = hs_jv_str(doc, refs[i].field);
        json_t *got = NULL;
        if (!id) continue;
        int rc = hs_store_resource_get(store, refs[i].kind, id, &got, err);
        json_decref(got);
        if (rc == HS_ERR_NOTFOUND)
            return hs_error_set(err, HS_ERR_INVALID, refs[i].field, "no %s %s", hs_kind_name(refs[i].kind), id);
        if (rc) return rc;
    }
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(doc, "channel_ids"), i, v) {
        hs_opsdoc row;
        int rc = hs_store_opsdoc_get(store, HS_OPSDOC_CHANNEL, json_string_value(v), &row, err);
        hs_free(row.text);
        char field[40];
        snprintf(field, sizeof field, "channel_ids[%zu]", i);
        if (rc == HS_ERR_NOTFOUND)
            return hs_error_set(err, HS_ERR_INVALID, field, "no notification channel %s", json_string_value(v));
        if (rc) return rc;
    }
    return HS_OK;
}

/* ---- firing ---- */

static uint64_t cooldown_ms(const json_t *rule) {
    return (uint64_t)json_integer_value(json_object_get(rule, "cooldown_minutes")) * 60000;
}

/* The rule's notice to its channels, when the claim is this node's. */
static void fire(hs_ops *o, const json_t *rule, bool firing, const char *title, const char *text, json_t *data,
                 hs_outbox *box) {
    bool claimed = false;
    hs_error err;
    hs_error_clear(&err);
    const char *id = hs_jv_str(rule, "id");
    if (hs_store_rule_claim(o->store, id, firing, hs_now_ms(), cooldown_ms(rule), &claimed, &err)) {
        hs_warn("alerts: rule %s: %s", id, err.msg);
        return;
    }
    if (!claimed) return;
    hs_info("alerts: rule %s %s", id, firing ? "fired" : "resolved");
    json_t *r = json_pack("{s:s, s:s, s:s}", "id", id, "name", hs_jv_str(rule, "name"), "rule_type",
                          hs_jv_str(rule, "rule_type"));
    json_object_set_new(data, "rule", r);
    const char *type = strcmp(hs_jv_str(rule, "rule_type"), "issue_opened") == 0 ? "issue.opened"
                       : firing                                                  ? "alert.firing"
                                                                                 : "alert.resolved";
    hs_notice n = {.type = type, .title = title, .text = text, .data = data};
    hs__outbox_channels(o, json_object_get(rule, "channel_ids"), &n, box);
    /* an issue opening is an event, not a condition that clears: the rule
     * is not left firing (its cooldown still counts from last_fired_at) */
    if (strcmp(type, "issue.opened") == 0 && hs_store_rule_claim(o->store, id, false, 0, 0, &claimed, &err))
        hs_warn("alerts: rule %s: %s", id, err.msg);
}

void hs_alerts_issue_opened(hs_ops *o, const hs_issue *iss, hs_outbox *box) {
    hs_opsdoc *rows = NULL;
    size_t n = 0;
    bool more = false;
    hs_error err;
    hs_error_clear(&err);
    if (hs_store_opsdoc_list(o->store, HS_OPSDOC_RULE, NULL, &rows, &n, &more, &err)) {
        hs_warn("alerts: could not read the alert rules: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].enabled || strcmp(rows[i].type, "issue_opened") != 0) continue;
        json_t *rule = json_loads(rows[i].text, 0, NULL);
        const char *dest = hs_jv_str(rule, "destination_id");
        if (rule && (!dest || strcmp(dest, iss->destination_id) == 0)) {
            char *title = hs_sprintf("Issue opened: %s on %s", iss->error_type, iss->destination_id);
            char *text = hs_sprintf("Destination %s: %s (%llu occurrence(s)). Last error: %s", iss->destination_id,
                                    iss->error_type, (unsigned long long)iss->count,
                                    iss->last_error[0] ? iss->last_error : "none recorded");
            json_t *data = json_pack("{s:o}", "issue", hs_issue_json(iss));
            fire(o, rule, true, title, text, data, box);
            json_decref(data);
            hs_free(title);
            hs_free(text);
        }
        json_decref(rule);
    }
    hs_opsdoc_free(rows, n);
}

/* What a rule measures now: *value, and whether its condition holds. */
static int measure(hs_ops *o, const json_t *rule, uint64_t now, double *value, double *threshold, bool *holds,
                   hs_error *err) {
    const char *type = hs_jv_str(rule, "rule_type");
    const json_t *c = json_object_get(rule, "rule_config");
    uint64_t window = (uint64_t)(json_number_value(json_object_get(c, "window_minutes")) * 60000.0);
    if (window < 1) window = 1;
    hs_window_query q = {.destination_id = hs_jv_str(rule, "destination_id"),
                         .source_id = hs_jv_str(rule, "source_id"),
                         .since = now > window ? now - window : 0,
                         .until = now + 1};
    hs_window_stats st;
    int rc = hs_store_window_stats(o->store, &q, &st, err);
    if (rc) return rc;
    *threshold = json_number_value(json_object_get(c, "threshold"));
    uint64_t min = (uint64_t)json_integer_value(json_object_get(c, "min_attempts"));
    if (strcmp(type, "failure_rate") == 0) {
        *value = st.attempts ? 100.0 * (double)st.failed / (double)st.attempts : 0;
        *holds = st.attempts >= min && *value >= *threshold;
    } else if (strcmp(type, "latency") == 0) {
        bool avg = strcmp(hs_jv_str(c, "statistic"), "avg") == 0;
        *value = (double)(avg ? st.avg_ms : st.p95_ms);
        *holds = st.attempts >= min && *value >= *threshold;
    } else if (strcmp(type, "dlq") == 0) {
        *value = (double)st.dead_lettered;
        *holds = *value >= *threshold;
    } else { /* volume_drop */
        *value = (double)st.events;
        *holds = json_object_get(c, "threshold") && *value < *threshold;
        const json_t *drop = json_object_get(c, "drop_percent");
        if (drop && !*holds) {
            hs_window_stats before;
            q.until = q.since;
            q.since = q.since > window ? q.since - window : 0;
            rc = hs_store_window_stats(o->store, &q, &before, err);
            double fell = before.events ? 100.0 * ((double)before.events - *value) / (double)before.events : 0;
            *holds = rc == HS_OK && before.events > 0 && fell >= json_number_value(drop);
            if (!json_object_get(c, "threshold")) *threshold = json_number_value(drop);
        }
    }
    return rc;
}

static void evaluate(hs_ops *o, const json_t *rule, bool firing_now, hs_outbox *box) {
    double value = 0, threshold = 0;
    bool holds = false;
    hs_error err;
    hs_error_clear(&err);
    const char *id = hs_jv_str(rule, "id"), *name = hs_jv_str(rule, "name"), *type = hs_jv_str(rule, "rule_type");
    if (measure(o, rule, hs_now_ms(), &value, &threshold, &holds, &err)) {
        hs_warn("alerts: rule %s not evaluated: %s", id, err.msg);
        return;
    }
    if (!holds && !firing_now) return;
    const json_t *c = json_object_get(rule, "rule_config");
    char *title = hs_sprintf("%s: %s", holds ? "Alert firing" : "Alert resolved", name);
    char *text =
        hs_sprintf("Rule %s (%s): %g against a threshold of %g over the last %g minute(s)%s%s%s%s.", name, type,
                   round(value * 100) / 100, threshold, json_number_value(json_object_get(c, "window_minutes")),
                   hs_jv_str(rule, "destination_id") ? ", destination " : "",
                   hs_jv_str(rule, "destination_id") ? hs_jv_str(rule, "destination_id") : "",
                   hs_jv_str(rule, "source_id") ? ", source " : "",
                   hs_jv_str(rule, "source_id") ? hs_jv_str(rule, "source_id") : "");
    json_t *data = json_pack("{s:f, s:f, s:O}", "value", value, "threshold", threshold, "rule_config", c);
    fire(o, rule, holds, title, text, data, box);
    json_decref(data);
    hs_free(title);
    hs_free(text);
}

typedef struct eval_job {
    hs_ops *o;
    hs_outbox box;
} eval_job;

static void eval_run(void *arg) {
    eval_job *j = arg;
    hs_opsdoc *rows = NULL;
    size_t n = 0;
    bool more = false;
    hs_error err;
    hs_error_clear(&err);
    if (hs_store_opsdoc_list(j->o->store, HS_OPSDOC_RULE, NULL, &rows, &n, &more, &err)) {
        hs_warn("alerts: could not read the alert rules: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].enabled || strcmp(rows[i].type, "issue_opened") == 0) continue;
        json_t *rule = json_loads(rows[i].text, 0, NULL);
        if (rule) evaluate(j->o, rule, rows[i].firing, &j->box);
        json_decref(rule);
    }
    hs_opsdoc_free(rows, n);
}

static void eval_after(void *arg) {
    eval_job *j = arg;
    hs__outbox_send(j->o, &j->box);
    hs_free(j);
}

void hs_alerts_tick(hs_ops *o) {
    eval_job *j = hs_calloc(1, sizeof *j);
    j->o = o;
    hs__ops_job(o, &o->alert_job, eval_run, eval_after, j);
}
