/* src/core/templates.c — the destination templates and their expansion.
 *
 * Each payload shape starts from the same idea of an event's one-line
 * summary: the first non-blank string among the payload's text, summary,
 * title, message and description, else "Event <id> from <source>". The
 * services then get what their documentation asks for, with the full payload
 * attached where the service has room for it.
 */
#include "core/templates.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonv.h"

#define INPUT_MAX 4096 /* characters in one input value */

/* The summary, shared by the shapes below, and the pretty-printed payload. */
#define SUMMARY                                                                                                        \
    "$str := function($v) { $type($v) = \"string\" and $length($trim($v)) > 0 };\n"                                    \
    "$summary := $str(text) ? text : $str(summary) ? summary : $str(title) ? title : $str(message) ? message\n"        \
    "  : $str(description) ? description : \"Event \" & $event_id & \" from \" & $source_id;\n"

#define PRETTY "$pretty := $exists($) ? $string($, true) : \"\";\n"

/* A fenced code block of the payload, cut to n characters, unless the
 * payload's own text already says it all. */
#define DETAILS(n)                                                                                                     \
    "$details := $exists($) and $not($str(text)) ? \"\\n```\" & $substring($pretty, 0, " #n ") & \"```\" : \"\";\n"

static const hs_template_input slack_inputs[] = {
    {.name = "webhook_url",
     .description = "the Incoming Webhook URL Slack gives for a channel (https://hooks.slack.com/services/...)",
     .required = true,
     .overridden_by = "config.url"},
    {0},
};

static const hs_template slack = {
    .name = "slack",
    .title = "Slack",
    .description = "Posts each event as a message to a Slack channel through an Incoming Webhook.",
    .docs_url = "https://api.slack.com/messaging/webhooks",
    .config_json = "{\"url\": \"{webhook_url}\", \"method\": \"POST\"}",
    .transform = "(\n" SUMMARY PRETTY DETAILS(2900) "{\"text\": $summary & $details}\n)",
    .inputs = slack_inputs,
};

static const hs_template_input discord_inputs[] = {
    {.name = "webhook_url",
     .description = "the channel webhook URL from Discord's Integrations settings "
                    "(https://discord.com/api/webhooks/...)",
     .required = true,
     .overridden_by = "config.url"},
    {.name = "username", .description = "the name the messages are posted under", .payload = true},
    {0},
};

/* Discord refuses content over 2000 characters */
static const hs_template discord = {
    .name = "discord",
    .title = "Discord",
    .description = "Posts each event as a message to a Discord channel through a channel webhook.",
    .docs_url = "https://discord.com/developers/docs/resources/webhook#execute-webhook",
    .config_json = "{\"url\": \"{webhook_url}\", \"method\": \"POST\"}",
    .transform = "(\n" SUMMARY PRETTY DETAILS(
        1800) "{\"content\": $substring($summary & $details, 0, 2000), \"username\": $inputs.username}\n)",
    .inputs = discord_inputs,
};

static const char *const pd_severities[] = {"critical", "error", "warning", "info", NULL};
static const char *const pd_actions[] = {"trigger", "acknowledge", "resolve", NULL};

static const hs_template_input pagerduty_inputs[] = {
    {.name = "routing_key",
     .description = "the Integration Key of an Events API v2 integration on a PagerDuty service",
     .required = true,
     .secret = true,
     .payload = true},
    {.name = "severity",
     .description = "the alert's severity",
     .payload = true,
     .dflt = "error",
     .choices = pd_severities},
    {.name = "event_action",
     .description = "what each event does to the alert with its dedup_key",
     .payload = true,
     .dflt = "trigger",
     .choices = pd_actions},
    {.name = "source", .description = "the alert's source (default: hookstream/<source id>)", .payload = true},
    {0},
};

/* Events API v2: summary at most 1024 characters; the payload's own
 * dedup_key, when it has one, lets a later event resolve the alert. */
static const hs_template pagerduty = {
    .name = "pagerduty",
    .title = "PagerDuty",
    .description = "Triggers (or acknowledges, resolves) a PagerDuty alert per event through the Events API v2.",
    .docs_url = "https://developer.pagerduty.com/docs/events-api-v2/trigger-events/",
    .config_json = "{\"url\": \"https://events.pagerduty.com/v2/enqueue\", \"method\": \"POST\"}",
    .transform = "(\n" SUMMARY "{\n"
                 "  \"routing_key\": $inputs.routing_key,\n"
                 "  \"event_action\": $inputs.event_action,\n"
                 "  \"dedup_key\": $str(dedup_key) ? dedup_key : $event_id,\n"
                 "  \"payload\": {\n"
                 "    \"summary\": $substring($summary, 0, 1024),\n"
                 "    \"source\": $str($inputs.source) ? $inputs.source : \"hookstream/\" & $source_id,\n"
                 "    \"severity\": $inputs.severity,\n"
                 "    \"custom_details\": $\n"
                 "  }\n"
                 "}\n)",
    .inputs = pagerduty_inputs,
};

static const char *const dd_sites[] = {"datadoghq.com",
                                       "us3.datadoghq.com",
                                       "us5.datadoghq.com",
                                       "datadoghq.eu",
                                       "ap1.datadoghq.com",
                                       "ddog-gov.com",
                                       NULL};

static const hs_template_input datadog_inputs[] = {
    {.name = "api_key",
     .description = "a Datadog API key (sent as DD-API-KEY)",
     .required = true,
     .secret = true,
     .overridden_by = "config.auth.key"},
    {.name = "site", .description = "your Datadog site", .dflt = "datadoghq.com", .choices = dd_sites},
    {.name = "service", .description = "the log's service attribute", .payload = true, .dflt = "hookstream"},
    {.name = "tags", .description = "extra tags, \"key:value,key:value\"", .payload = true},
    {0},
};

static const hs_template datadog = {
    .name = "datadog",
    .title = "Datadog",
    .description = "Sends each event as a log to Datadog's HTTP log intake (API v2).",
    .docs_url = "https://docs.datadoghq.com/api/latest/logs/#send-logs",
    .config_json = "{\"url\": \"https://http-intake.logs.{site}/api/v2/logs\", \"method\": \"POST\","
                   " \"auth\": {\"type\": \"api_key\", \"header\": \"DD-API-KEY\", \"key\": \"{api_key}\"}}",
    .transform = "(\n" SUMMARY "[{\n"
                 "  \"ddsource\": \"hookstream\",\n"
                 "  \"service\": $inputs.service,\n"
                 "  \"ddtags\": $join([\"event_id:\" & $event_id, \"source_id:\" & $source_id,"
                 " $str($inputs.tags) ? $inputs.tags : []], \",\"),\n"
                 "  \"message\": $summary,\n"
                 "  \"hookstream\": {\"event_id\": $event_id, \"source_id\": $source_id, \"payload\": $}\n"
                 "}]\n)",
    .inputs = datadog_inputs,
};

static const hs_template_input zapier_inputs[] = {
    {.name = "webhook_url",
     .description = "the Catch Hook URL of a Zap's \"Webhooks by Zapier\" trigger "
                    "(https://hooks.zapier.com/hooks/catch/...)",
     .required = true,
     .overridden_by = "config.url"},
    {0},
};

/* Zapier turns an object's fields into the Zap's fields: keep the payload
 * as it is and add where it came from. */
static const hs_template zapier = {
    .name = "zapier",
    .title = "Zapier",
    .description = "Starts a Zap per event through a Webhooks by Zapier catch hook.",
    .docs_url = "https://help.zapier.com/hc/en-us/articles/8496288690317",
    .config_json = "{\"url\": \"{webhook_url}\", \"method\": \"POST\"}",
    .transform = "(\n"
                 "$meta := {\"hookstream_event_id\": $event_id, \"hookstream_source_id\": $source_id};\n"
                 "$type($) = \"object\" ? $merge([$, $meta]) : $merge([{\"data\": $}, $meta])\n)",
    .inputs = zapier_inputs,
};

static const char *const linear_priorities[] = {"0", "1", "2", "3", "4", NULL};

static const hs_template_input linear_inputs[] = {
    {.name = "api_key",
     .description = "a Linear personal API key (sent as the Authorization header)",
     .required = true,
     .secret = true,
     .overridden_by = "config.auth.key"},
    {.name = "team_id",
     .description = "the id of the team the issues are created in",
     .required = true,
     .payload = true},
    {.name = "priority",
     .description = "0 none, 1 urgent, 2 high, 3 medium, 4 low",
     .payload = true,
     .choices = linear_priorities},
    {0},
};

/* GraphQL answers 200 with an "errors" array when a mutation fails, hence
 * fail_on_graphql_errors. */
static const hs_template linear = {
    .name = "linear",
    .title = "Linear",
    .description = "Creates a Linear issue per event through the GraphQL API (issueCreate).",
    .docs_url = "https://developers.linear.app/docs/graphql/working-with-the-graphql-api",
    .config_json = "{\"url\": \"https://api.linear.app/graphql\", \"method\": \"POST\","
                   " \"auth\": {\"type\": \"api_key\", \"header\": \"Authorization\", \"key\": \"{api_key}\"},"
                   " \"fail_on_graphql_errors\": true}",
    .transform = "(\n" SUMMARY PRETTY "{\n"
                 "  \"query\": \"mutation IssueCreate($input: IssueCreateInput!) "
                 "{ issueCreate(input: $input) { success issue { id identifier url } } }\",\n"
                 "  \"variables\": {\"input\": {\n"
                 "    \"teamId\": $inputs.team_id,\n"
                 "    \"title\": $substring($summary, 0, 255),\n"
                 "    \"description\": \"Event `\" & $event_id & \"` from source `\" & $source_id & \"`\"\n"
                 "      & ($exists($) ? \"\\n\\n```json\\n\" & $pretty & \"\\n```\" : \"\"),\n"
                 "    \"priority\": $number($inputs.priority)\n"
                 "  }}\n"
                 "}\n)",
    .inputs = linear_inputs,
};

static const hs_template *const all[] = {&slack, &discord, &pagerduty, &datadog, &zapier, &linear, NULL};
static const char *const names[] = {"slack", "discord", "pagerduty", "datadog", "zapier", "linear", NULL};

const hs_template *const *hs_template_all(void) { return all; }
const char *const *hs_template_names(void) { return names; }

const hs_template *hs_template_find(const char *name) {
    for (const hs_template *const *t = all; name && *t; t++)
        if (strcmp((*t)->name, name) == 0) return *t;
    return NULL;
}

static const hs_template_input *find_input(const hs_template *t, const char *name) {
    for (const hs_template_input *in = t->inputs; in->name; in++)
        if (strcmp(in->name, name) == 0) return in;
    return NULL;
}

/* ---- the public description ---- */

static json_t *input_json(const hs_template_input *in) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(in->name));
    json_object_set_new(o, "description", json_string(in->description));
    json_object_set_new(o, "required", json_boolean(in->required));
    json_object_set_new(o, "secret", json_boolean(in->secret));
    json_object_set_new(o, "used_in", json_string(in->payload ? "payload" : "config"));
    if (in->overridden_by) json_object_set_new(o, "overridden_by", json_string(in->overridden_by));
    if (in->dflt) json_object_set_new(o, "default", json_string(in->dflt));
    if (in->choices) {
        json_t *c = json_array();
        for (const char *const *s = in->choices; *s; s++) json_array_append_new(c, json_string(*s));
        json_object_set_new(o, "choices", c);
    }
    return o;
}

json_t *hs_template_json(const hs_template *t) {
    json_t *o = json_object(), *inputs = json_array(), *dest = json_object();
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "title", json_string(t->title));
    json_object_set_new(o, "description", json_string(t->description));
    json_object_set_new(o, "docs_url", json_string(t->docs_url));
    for (const hs_template_input *in = t->inputs; in->name; in++) json_array_append_new(inputs, input_json(in));
    json_object_set_new(o, "inputs", inputs);
    json_object_set_new(dest, "type", json_string("http"));
    json_object_set_new(dest, "config", json_loads(t->config_json, 0, NULL));
    json_object_set_new(dest, "transform", json_string(t->transform));
    json_object_set_new(o, "destination", dest);
    return o;
}

/* ---- inputs ---- */

static int check_value(const hs_template *t, const hs_template_input *in, json_t *holder, const char *path,
                       hs_error *err) {
    hs_jv_field f = {.name = in->name,
                     .type = HS_JV_STRING,
                     .flags = HS_JV_NO_CTL | HS_JV_TRIMMED,
                     .min = 1,
                     .max = INPUT_MAX,
                     .choices = in->choices};
    int rc = hs_jv_member(holder, path, &f, err);
    if (rc && err->msg[0]) {
        char was[128];
        snprintf(was, sizeof was, "%.120s", err->msg);
        snprintf(err->msg, sizeof err->msg, "%s (%s template: %.160s)", was, t->name, in->description);
    }
    return rc;
}

static int unknown_input(const hs_template *t, const char *path, const char *key, bool payload_only, hs_error *err) {
    char list[256] = "", field[HS_JV_PATH_MAX];
    size_t len = 0;
    for (const hs_template_input *in = t->inputs; in->name; in++) {
        if (payload_only && !in->payload) continue;
        int w = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", in->name);
        if (w > 0 && (size_t)w < sizeof list - len) len += (size_t)w;
    }
    hs_jv_path_key(field, path, key);
    const hs_template_input *in = find_input(t, key);
    if (in && payload_only)
        return hs_error_set(err, HS_ERR_INVALID, field,
                            "is written into the config when the destination is created; change %s instead",
                            in->overridden_by);
    return hs_error_set(err, HS_ERR_INVALID, field, "is not an input of the %s template (its inputs: %s)", t->name,
                        len ? list : "none");
}

int hs_template_check_inputs(const char *template_name, json_t *inputs, const char *path, hs_error *err) {
    const hs_template *t = hs_template_find(template_name);
    if (!t) {
        if (json_object_size(inputs) == 0) return HS_OK;
        return hs_error_set(err, HS_ERR_INVALID, path, "is only for a destination created from a template");
    }
    if (!json_is_object(inputs)) return hs_error_set(err, HS_ERR_INVALID, path, "must be an object");
    const char *key;
    json_t *value;
    json_object_foreach(inputs, key, value) {
        const hs_template_input *in = find_input(t, key);
        if (!in || !in->payload) return unknown_input(t, path, key, true, err);
    }
    for (const hs_template_input *in = t->inputs; in->name; in++) {
        if (!in->payload) continue;
        if (!json_object_get(inputs, in->name) && in->required) {
            char field[HS_JV_PATH_MAX];
            hs_jv_path_key(field, path, in->name);
            return hs_error_set(err, HS_ERR_INVALID, field, "is required by the %s template: %s", t->name,
                                in->description);
        }
        if (json_object_get(inputs, in->name)) {
            int rc = check_value(t, in, inputs, path, err);
            if (rc) return rc;
        }
    }
    return HS_OK;
}

/* ---- expansion ---- */

/* Does the body give the field at dotted path ("config.auth.key")? */
static bool body_has(const json_t *body, const char *path) {
    const json_t *at = hs_jv_dig(body, path);
    return at && !json_is_null(at);
}

/* s with every "{name}" of a config input replaced by its value; NULL when
 * an input it names has no value (the body overrides that field). */
static char *substitute(const hs_template *t, const char *s, const json_t *values) {
    hs_buf out;
    hs_buf_init(&out, 1u << 16);
    while (*s) {
        const char *open = strchr(s, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            hs_buf_append(&out, s, strlen(s));
            break;
        }
        hs_buf_append(&out, s, (size_t)(open - s));
        char name[64];
        size_t n = (size_t)(close - open - 1);
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), open + 1);
        const hs_template_input *in = find_input(t, name);
        const char *v = in ? json_string_value(json_object_get(values, name)) : NULL;
        if (!in) {
            hs_buf_append(&out, open, (size_t)(close - open + 1));
        } else if (!v) {
            hs_buf_free(&out);
            return NULL;
        } else {
            hs_buf_append(&out, v, strlen(v));
        }
        s = close + 1;
    }
    return hs_buf_detach(&out, NULL);
}

/* The template's config with the config inputs written in; a string whose
 * input is missing (overridden by the body) is left out. */
static json_t *fill_config(const hs_template *t, json_t *node, const json_t *values) {
    if (json_is_object(node)) {
        json_t *o = json_object();
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v) {
            json_t *filled = fill_config(t, v, values);
            if (filled) json_object_set_new(o, key, filled);
        }
        return o;
    }
    if (!json_is_string(node)) return json_incref(node);
    char *s = substitute(t, json_string_value(node), values);
    json_t *out = s ? json_string(s) : NULL;
    hs_free(s);
    return out;
}

/* The given inputs checked and split: config ones in cfg, payload ones in
 * pay, defaults filled in. */
static int split_inputs(const hs_template *t, const json_t *body, json_t *cfg, json_t *pay, hs_error *err) {
    const json_t *given = json_object_get(body, "template_inputs");
    if (given && !json_is_null(given) && !json_is_object(given))
        return hs_error_set(err, HS_ERR_INVALID, "template_inputs", "must be an object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)given, key, value) {
        if (!find_input(t, key)) return unknown_input(t, "template_inputs", key, false, err);
    }
    for (const hs_template_input *in = t->inputs; in->name; in++) {
        json_t *into = in->payload ? pay : cfg, *v = json_object_get(given, in->name);
        if (v && !json_is_null(v)) {
            json_object_set(into, in->name, v);
            int rc = check_value(t, in, into, "template_inputs", err);
            if (rc) return rc;
        } else if (in->dflt) {
            json_object_set_new(into, in->name, json_string(in->dflt));
        } else if (in->required && !(in->overridden_by && body_has(body, in->overridden_by))) {
            char field[HS_JV_PATH_MAX];
            hs_jv_path_key(field, "template_inputs", in->name);
            return hs_error_set(err, HS_ERR_INVALID, field, "is required by the %s template: %s", t->name,
                                in->description);
        }
    }
    return HS_OK;
}

int hs_template_expand(const json_t *body, json_t **out, hs_error *err) {
    *out = NULL;
    const json_t *name = json_object_get(body, "template");
    const hs_template *t = hs_template_find(json_string_value(name));
    if (!t) {
        char list[128] = "";
        size_t len = 0;
        for (const char *const *n = names; *n; n++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *n);
        return hs_error_set(err, HS_ERR_INVALID, "template", "must be one of: %s", list);
    }
    const char *type = json_string_value(json_object_get(body, "type"));
    if (type && strcmp(type, "http") != 0)
        return hs_error_set(err, HS_ERR_INVALID, "type",
                            "must be http (or absent) with a template: the %s template makes an http destination",
                            t->name);
    json_t *cfg = json_object(), *pay = json_object();
    int rc = split_inputs(t, body, cfg, pay, err);
    if (rc == HS_OK) {
        json_t *tconfig = json_loads(t->config_json, 0, NULL);
        json_t *base = json_object();
        json_object_set_new(base, "name", json_string(t->title));
        json_object_set_new(base, "type", json_string("http"));
        json_object_set_new(base, "config", fill_config(t, tconfig, cfg));
        json_object_set_new(base, "transform", json_string(t->transform));
        json_t *user = json_deep_copy(body);
        json_object_del(user, "template_inputs");
        *out = hs_jv_merge_patch(base, user);
        json_object_set(*out, "template_inputs", pay);
        json_decref(user);
        json_decref(base);
        json_decref(tconfig);
    }
    json_decref(cfg);
    json_decref(pay);
    return rc;
}
