/* src/rules/filter.c — compile and match connection filter rules (see src/rules/filter.h). */
#include "rules/filter.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/alloc.h"

typedef enum { F_PAYLOAD, F_HEADER, F_METHOD, F_CONTENT_TYPE, F_SOURCE_IP } field_kind;
typedef enum { OP_EQ, OP_NEQ, OP_CONTAINS, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_EXISTS, OP_IN } op_kind;
typedef enum { N_LEAF, N_ALL, N_ANY, N_NOT } node_kind;

static const char *const op_names[] = {"eq", "neq", "contains", "gt", "gte", "lt", "lte", "exists", "in", NULL};

typedef struct node {
    node_kind kind;
    /* leaf */
    field_kind field;
    char **segs; /* payload path segments, or the header name (lowercase) */
    size_t nsegs;
    op_kind op;
    json_t *value;
    /* all / any / not */
    struct node **kids;
    size_t nkids;
} node;

struct hs_filter {
    node *root; /* an "all" of the top-level rules */
    bool uses_payload, uses_headers;
};

static void node_free(node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->nsegs; i++) hs_free(n->segs[i]);
    hs_free(n->segs);
    json_decref(n->value);
    for (size_t i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    hs_free(n->kids);
    hs_free(n);
}

void hs_filter_free(hs_filter *f) {
    if (!f) return;
    node_free(f->root);
    hs_free(f);
}

/* ---- compiling (and checking) ---- */

typedef struct compiler {
    hs_filter *f;
    size_t count;
    hs_error *err;
} compiler;

static int fail(compiler *c, const char *path, const char *fmt, const char *arg) {
    return hs_error_set(c->err, HS_ERR_INVALID, path, fmt, arg);
}

/* "a.b.0.c" -> segments; empty segments are mistakes */
static int split_path(compiler *c, const char *path, const char *p, node *n) {
    const char *s = p;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len == 0) return fail(c, path, "has an empty path segment in \"%s\"", p);
        n->segs = hs_realloc(n->segs, (n->nsegs + 1) * sizeof *n->segs);
        n->segs[n->nsegs++] = hs_strndup(s, len);
        if (!dot) return HS_OK;
        s = dot + 1;
    }
}

static int compile_field(compiler *c, const char *path, const char *name, node *n) {
    if (strcmp(name, "method") == 0) {
        n->field = F_METHOD;
    } else if (strcmp(name, "content_type") == 0) {
        n->field = F_CONTENT_TYPE;
    } else if (strcmp(name, "source_ip") == 0) {
        n->field = F_SOURCE_IP;
    } else if (strcmp(name, "payload") == 0) {
        n->field = F_PAYLOAD; /* the whole body */
        c->f->uses_payload = true;
    } else if (strncmp(name, "payload.", 8) == 0) {
        n->field = F_PAYLOAD;
        c->f->uses_payload = true;
        return split_path(c, path, name + 8, n);
    } else if (strncmp(name, "headers.", 8) == 0 && name[8]) {
        n->field = F_HEADER;
        c->f->uses_headers = true;
        char *h = hs_strdup(name + 8);
        for (char *p = h; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
        n->segs = hs_malloc(sizeof *n->segs);
        n->segs[0] = h;
        n->nsegs = 1;
    } else {
        return fail(c, path, "must be payload.<path>, headers.<name>, method, content_type or source_ip, not \"%s\"",
                    name);
    }
    return HS_OK;
}

static int compile_node(compiler *c, const json_t *rule, const char *path, int depth, node **out);

static int compile_list(compiler *c, const json_t *rules, const char *path, int depth, node *n) {
    char sub[HS_ERROR_FIELD_MAX];
    if (!json_is_array(rules)) return fail(c, path, "%s", "must be an array of rules");
    if (json_array_size(rules) == 0) return fail(c, path, "%s", "must hold at least one rule");
    n->kids = hs_calloc(json_array_size(rules), sizeof *n->kids);
    size_t i;
    const json_t *r;
    json_array_foreach(rules, i, r) {
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        int rc = compile_node(c, r, sub, depth + 1, &n->kids[n->nkids]);
        if (n->kids[n->nkids]) n->nkids++; /* owned by n even when it failed half way */
        if (rc) return rc;
    }
    return HS_OK;
}

static int compile_leaf(compiler *c, const json_t *rule, const char *path, node *n) {
    char sub[HS_ERROR_FIELD_MAX];
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rule, key, v) {
        if (strcmp(key, "field") && strcmp(key, "op") && strcmp(key, "value")) {
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            return fail(c, sub, "is not a rule member (field, op, value; or any, all, not)%s", "");
        }
    }
    const char *field = json_string_value(json_object_get(rule, "field"));
    snprintf(sub, sizeof sub, "%s.field", path);
    if (!field) return fail(c, sub, "%s", "is required and must be a string");
    int rc = compile_field(c, sub, field, n);
    if (rc) return rc;
    const char *op = json_string_value(json_object_get(rule, "op"));
    snprintf(sub, sizeof sub, "%s.op", path);
    if (!op) return fail(c, sub, "%s", "is required: eq, neq, contains, gt, gte, lt, lte, exists or in");
    size_t k = 0;
    while (op_names[k] && strcmp(op_names[k], op)) k++;
    if (!op_names[k]) return fail(c, sub, "must be eq, neq, contains, gt, gte, lt, lte, exists or in, not \"%s\"", op);
    n->op = (op_kind)k;
    json_t *value = json_object_get(rule, "value");
    snprintf(sub, sizeof sub, "%s.value", path);
    if (!value) return fail(c, sub, "%s", "is required");
    switch (n->op) {
    case OP_CONTAINS:
        if (!json_is_string(value)) return fail(c, sub, "%s", "must be a string for contains");
        break;
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE:
        if (!json_is_number(value)) return fail(c, sub, "must be a number for %s", op);
        break;
    case OP_EXISTS:
        if (!json_is_boolean(value)) return fail(c, sub, "%s", "must be true or false for exists");
        break;
    case OP_IN:
        if (!json_is_array(value)) return fail(c, sub, "%s", "must be an array for in");
        break;
    default: break;
    }
    n->value = json_deep_copy(value);
    return HS_OK;
}

static int compile_node(compiler *c, const json_t *rule, const char *path, int depth, node **out) {
    *out = NULL;
    if (depth > HS_FILTER_MAX_DEPTH) return fail(c, path, "nests any/all/not deeper than %s levels", "8");
    if (++c->count > HS_FILTER_MAX_RULES) return fail(c, path, "is one rule too many (at most %s)", "200");
    if (!json_is_object(rule))
        return fail(c, path, "%s", "must be an object: {field, op, value}, {any}, {all} or {not}");
    node *n = hs_calloc(1, sizeof *n);
    *out = n;
    char sub[HS_ERROR_FIELD_MAX];
    static const char *const groups[] = {"all", "any", "not"};
    for (int g = 0; g < 3; g++) {
        json_t *v = json_object_get(rule, groups[g]);
        if (!v) continue;
        if (json_object_size(rule) != 1)
            return fail(c, path, "holds \"%s\" and something else; a group rule has only that member", groups[g]);
        snprintf(sub, sizeof sub, "%s.%s", path, groups[g]);
        if (g == 2) {
            n->kind = N_NOT;
            n->kids = hs_calloc(1, sizeof *n->kids);
            int rc = compile_node(c, v, sub, depth + 1, &n->kids[0]);
            if (n->kids[0]) n->nkids = 1;
            return rc;
        }
        n->kind = g == 0 ? N_ALL : N_ANY;
        return compile_list(c, v, sub, depth, n);
    }
    n->kind = N_LEAF;
    return compile_leaf(c, rule, path, n);
}

int hs_filter_compile(const json_t *rules, const char *path, hs_filter **out, hs_error *err) {
    if (out) *out = NULL;
    hs_filter *f = hs_calloc(1, sizeof *f);
    f->root = hs_calloc(1, sizeof *f->root);
    f->root->kind = N_ALL;
    compiler c = {.f = f, .err = err};
    int rc = compile_list(&c, rules, path, 0, f->root);
    if (rc != HS_OK || !out) {
        hs_filter_free(f);
        return rc;
    }
    *out = f;
    return HS_OK;
}

/* ---- matching ---- */

/* The value a payload or header rule looks at; NULL when absent. */
static const json_t *resolve(const node *n, const hs_filter_input *in) {
    switch (n->field) {
    case F_PAYLOAD: {
        const json_t *v = in->payload;
        for (size_t i = 0; v && i < n->nsegs; i++) {
            if (json_is_object(v)) {
                v = json_object_get(v, n->segs[i]);
            } else if (json_is_array(v)) {
                char *end;
                unsigned long idx = strtoul(n->segs[i], &end, 10);
                v = (*end || n->segs[i][0] == '\0' || n->segs[i][0] == '-') ? NULL : json_array_get(v, idx);
            } else {
                v = NULL;
            }
        }
        return v;
    }
    case F_HEADER: return in->headers ? json_object_get(in->headers, n->segs[0]) : NULL;
    default: return NULL;
    }
}

/* method, content_type, source_ip: plain strings, compared without JSON */
static bool string_leaf(const node *n, const char *s) {
    const char *want = json_string_value(n->value);
    switch (n->op) {
    case OP_EQ: return s && want && strcmp(s, want) == 0;
    case OP_NEQ: return !s || !want || strcmp(s, want) != 0;
    case OP_CONTAINS: return s && strstr(s, want);
    case OP_EXISTS: return (s != NULL) == json_is_true(n->value);
    case OP_IN:
        for (size_t i = 0; s && i < json_array_size(n->value); i++) {
            const char *x = json_string_value(json_array_get(n->value, i));
            if (x && strcmp(s, x) == 0) return true;
        }
        return false;
    default: return false; /* gt, lt...: numbers only */
    }
}

/* Numbers by value (1 == 1.0); everything else as jansson compares. */
static bool same(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

static bool leaf(const node *n, const hs_filter_input *in) {
    if (n->field == F_METHOD) return string_leaf(n, in->method);
    if (n->field == F_CONTENT_TYPE) return string_leaf(n, in->content_type);
    if (n->field == F_SOURCE_IP) return string_leaf(n, in->source_ip);
    if (n->field == F_PAYLOAD && !in->payload) return false; /* not JSON: no payload rule holds */
    const json_t *v = resolve(n, in);
    bool r = false;
    switch (n->op) {
    case OP_EQ: r = v && same(v, n->value); break;
    case OP_NEQ: r = !v || !same(v, n->value); break;
    case OP_CONTAINS: r = json_is_string(v) && strstr(json_string_value(v), json_string_value(n->value)); break;
    case OP_GT: r = json_is_number(v) && json_number_value(v) > json_number_value(n->value); break;
    case OP_GTE: r = json_is_number(v) && json_number_value(v) >= json_number_value(n->value); break;
    case OP_LT: r = json_is_number(v) && json_number_value(v) < json_number_value(n->value); break;
    case OP_LTE: r = json_is_number(v) && json_number_value(v) <= json_number_value(n->value); break;
    case OP_EXISTS: r = (v != NULL) == json_is_true(n->value); break;
    case OP_IN:
        for (size_t i = 0; v && !r && i < json_array_size(n->value); i++) r = same(v, json_array_get(n->value, i));
        break;
    }
    return r;
}

static bool eval(const node *n, const hs_filter_input *in) {
    switch (n->kind) {
    case N_LEAF: return leaf(n, in);
    case N_NOT: return !eval(n->kids[0], in);
    case N_ALL:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval(n->kids[i], in)) return false;
        return true;
    case N_ANY:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval(n->kids[i], in)) return true;
        return false;
    }
    return false;
}

bool hs_filter_match(const hs_filter *f, const hs_filter_input *in) { return !f || eval(f->root, in); }
bool hs_filter_uses_payload(const hs_filter *f) { return f && f->uses_payload; }
bool hs_filter_uses_headers(const hs_filter *f) { return f && f->uses_headers; }
