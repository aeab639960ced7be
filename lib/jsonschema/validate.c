/* lib/jsonschema/validate.c — hs_jsonschema_validate: evaluates an
 * instance against a compiled schema. All state lives in a context on the
 * caller's stack (thread-safe; the compiled schema is only read). Errors
 * are recorded with the instance's JSON Pointer, except inside anyOf, oneOf,
 * not, if, contains and propertyNames, whose branches are tried quietly and
 * report one error of their own. Depth and step budgets bound the work; a
 * $ref that comes back to the same schema for the same instance value
 * without consuming any of it stops the evaluation (HS_JSONSCHEMA_ELIMIT). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonschema/jsonschema_int.h"

#define REF_STACK 256

typedef struct vctx {
    const hs_jsonschema *s;
    hs_jsonschema_result *res;
    js_path path;
    int quiet, depth, limit;
    size_t steps;
    struct {
        const json_t *schema, *inst;
    } refs[REF_STACK];
    int nrefs;
} vctx;

static void record(vctx *c, const char *fmt, va_list ap) {
    hs_jsonschema_result *r = c->res;
    if (r->nerrors == HS_JSONSCHEMA_MAX_ERRORS) {
        r->truncated = 1;
        return;
    }
    hs_jsonschema_error *e = &r->errors[r->nerrors++];
    js_copy(e->path, sizeof e->path, c->path.s);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

/* an error at the current path, unless a quiet branch is being tried */
__attribute__((format(printf, 2, 3))) static void fail(vctx *c, const char *fmt, ...) {
    if (c->quiet || c->limit) return;
    va_list ap;
    va_start(ap, fmt);
    record(c, fmt, ap);
    va_end(ap);
}

/* a limit stops everything: recorded once, quiet or not */
__attribute__((format(printf, 2, 3))) static void stop(vctx *c, const char *fmt, ...) {
    if (c->limit) return;
    c->limit = 1;
    va_list ap;
    va_start(ap, fmt);
    record(c, fmt, ap);
    va_end(ap);
}

static bool charge(vctx *c, size_t n) {
    c->steps += n;
    if (c->steps > c->s->lim.max_steps) stop(c, "validation stopped: more than %zu steps", c->s->lim.max_steps);
    return !c->limit;
}

static bool v_schema(vctx *c, const json_t *s, const json_t *inst);

/* s evaluated quietly: only whether it holds */
static bool v_quiet(vctx *c, const json_t *s, const json_t *inst) {
    c->quiet++;
    bool ok = v_schema(c, s, inst);
    c->quiet--;
    return ok;
}

static bool v_child(vctx *c, const json_t *s, const json_t *inst, const char *seg, size_t index) {
    size_t old = seg ? js_path_push(&c->path, seg) : js_path_push_index(&c->path, index);
    bool ok = v_schema(c, s, inst);
    js_path_pop(&c->path, old);
    return ok;
}

static const char *type_of(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static bool is_integral(const json_t *v) {
    return json_is_integer(v) ||
           (json_is_real(v) && isfinite(json_real_value(v)) && floor(json_real_value(v)) == json_real_value(v));
}

static bool type_is(const json_t *inst, const char *t) {
    if (!strcmp(t, "integer")) return is_integral(inst);
    return !strcmp(t, type_of(inst));
}

/* a <=> b for numbers, exact for two integers */
static int num_cmp(const json_t *a, const json_t *b) {
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a), y = json_number_value(b);
    return (x > y) - (x < y);
}

static bool v_number(vctx *c, const json_t *s, const js_node *n, const json_t *inst) {
    bool ok = true;
    const json_t *v, *ex;
    int draft = c->s->draft;
    if ((v = js_kw(n, s, "multipleOf"))) {
        bool mult;
        if (json_is_integer(inst) && json_is_integer(v)) {
            mult = json_integer_value(inst) % json_integer_value(v) == 0;
        } else {
            double q = json_number_value(inst) / json_number_value(v);
            mult = isfinite(q) && fabs(q - nearbyint(q)) <= 1e-9 + 1e-12 * fabs(q);
        }
        if (!mult) ok = false, fail(c, "%g is not a multiple of %g", json_number_value(inst), json_number_value(v));
    }
    static const char *names[2] = {"maximum", "minimum"}, *exnames[2] = {"exclusiveMaximum", "exclusiveMinimum"};
    for (int i = 0; i < 2; i++) {
        int sign = i == 0 ? 1 : -1; /* maximum: fails when inst > v */
        v = js_kw(n, s, names[i]);
        ex = js_kw(n, s, exnames[i]);
        if (v) {
            int cmp = num_cmp(inst, v) * sign;
            bool exclusive = draft == 4 && json_is_true(ex);
            if (cmp > 0 || (exclusive && cmp == 0)) {
                ok = false;
                fail(c, "%g is %s %s %g", json_number_value(inst), i == 0 ? "greater than" : "less than",
                     exclusive ? "or equal to the exclusive" : "the", json_number_value(v));
            }
        }
        if (draft > 4 && json_is_number(ex) && num_cmp(inst, ex) * sign >= 0) {
            ok = false;
            fail(c, "%g is not %s %g", json_number_value(inst), i == 0 ? "less than" : "greater than",
                 json_number_value(ex));
        }
    }
    return ok;
}

static bool v_string(vctx *c, const json_t *s, const js_node *n, const json_t *inst) {
    bool ok = true;
    const json_t *v;
    const char *str = json_string_value(inst);
    size_t len = json_string_length(inst);
    size_t cps = 0;
    if (js_kw(n, s, "maxLength") || js_kw(n, s, "minLength")) cps = js_utf8_len(str, len);
    if ((v = js_kw(n, s, "maxLength")) && (double)cps > json_number_value(v))
        ok = false, fail(c, "string longer than %g characters", json_number_value(v));
    if ((v = js_kw(n, s, "minLength")) && (double)cps < json_number_value(v))
        ok = false, fail(c, "string shorter than %g characters", json_number_value(v));
    if (n->pattern && regexec(n->pattern, str, 0, NULL, 0) != 0)
        ok = false, fail(c, "string does not match pattern '%s'", json_string_value(js_kw(n, s, "pattern")));
    if ((v = js_kw(n, s, "format")) && !js_format_ok(json_string_value(v), str, len))
        ok = false, fail(c, "string is not a valid %s", json_string_value(v));
    return ok;
}

static bool v_array(vctx *c, const json_t *s, const js_node *n, const json_t *inst) {
    bool ok = true;
    const json_t *v;
    size_t size = json_array_size(inst);
    const json_t *items = js_kw(n, s, "items");
    if (json_is_array(items)) {
        size_t k = json_array_size(items);
        for (size_t i = 0; i < size && i < k; i++)
            if (!v_child(c, json_array_get(items, i), json_array_get(inst, i), NULL, i) && (ok = false, c->quiet))
                return false;
        const json_t *add = js_kw(n, s, "additionalItems");
        if (json_is_false(add) && size > k) {
            ok = false, fail(c, "array has %zu items, no more than %zu allowed", size, k);
        } else if (json_is_object(add) || (json_is_boolean(add) && c->s->draft > 4)) {
            for (size_t i = k; i < size; i++)
                if (!v_child(c, add, json_array_get(inst, i), NULL, i) && (ok = false, c->quiet)) return false;
        }
    } else if (items) {
        for (size_t i = 0; i < size; i++)
            if (!v_child(c, items, json_array_get(inst, i), NULL, i) && (ok = false, c->quiet)) return false;
    }
    if ((v = js_kw(n, s, "maxItems")) && (double)size > json_number_value(v))
        ok = false, fail(c, "array has more than %g items", json_number_value(v));
    if ((v = js_kw(n, s, "minItems")) && (double)size < json_number_value(v))
        ok = false, fail(c, "array has fewer than %g items", json_number_value(v));
    if (json_is_true(js_kw(n, s, "uniqueItems")) && size > 1) {
        if (!charge(c, size * (size - 1) / 2)) return false;
        for (size_t i = 0; i < size; i++)
            for (size_t j = i + 1; j < size; j++)
                if (js_equal(json_array_get(inst, i), json_array_get(inst, j))) {
                    fail(c, "items %zu and %zu are equal", i, j);
                    ok = false;
                    i = j = size;
                }
    }
    if (c->s->draft > 4 && (v = js_kw(n, s, "contains"))) {
        bool found = false;
        for (size_t i = 0; i < size && !found && !c->limit; i++) found = v_quiet(c, v, json_array_get(inst, i));
        if (!found) ok = false, fail(c, "no item matches the 'contains' schema");
    }
    return ok;
}

static bool v_object(vctx *c, const json_t *s, const js_node *n, const json_t *inst) {
    bool ok = true;
    const json_t *v;
    size_t size = json_object_size(inst);
    if ((v = js_kw(n, s, "maxProperties")) && (double)size > json_number_value(v))
        ok = false, fail(c, "object has more than %g properties", json_number_value(v));
    if ((v = js_kw(n, s, "minProperties")) && (double)size < json_number_value(v))
        ok = false, fail(c, "object has fewer than %g properties", json_number_value(v));
    v = js_kw(n, s, "required");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *name = json_string_value(json_array_get(v, i));
        if (!json_object_get(inst, name)) ok = false, fail(c, "required property '%s' is missing", name);
    }
    if (!ok && c->quiet) return false;
    const json_t *props = js_kw(n, s, "properties"), *add = js_kw(n, s, "additionalProperties");
    const json_t *deps = js_kw(n, s, "dependencies"), *names = js_kw(n, s, "propertyNames");
    if (c->s->draft == 4) names = NULL;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)inst, k, x) {
        if (!charge(c, 1)) return false;
        bool matched = false;
        const json_t *ps = json_object_get(props, k);
        if (ps) {
            matched = true;
            if (!v_child(c, ps, x, k, 0)) ok = false;
        }
        for (size_t i = 0; i < n->npp; i++) {
            if (regexec(&n->pp[i].re, k, 0, NULL, 0) != 0) continue;
            matched = true;
            if (!v_child(c, n->pp[i].schema, x, k, 0)) ok = false;
        }
        if (!matched && add) {
            if (json_is_false(add)) {
                ok = false;
                size_t old = js_path_push(&c->path, k);
                fail(c, "additional property '%s' is not allowed", k);
                js_path_pop(&c->path, old);
            } else if (!json_is_boolean(add) && !v_child(c, add, x, k, 0)) {
                ok = false;
            }
        }
        const json_t *d = json_object_get(deps, k);
        if (json_is_array(d)) {
            for (size_t i = 0; i < json_array_size(d); i++) {
                const char *need = json_string_value(json_array_get(d, i));
                if (!json_object_get(inst, need)) ok = false, fail(c, "property '%s' requires '%s'", k, need);
            }
        } else if (d && !v_quiet(c, d, inst)) {
            ok = false, fail(c, "the object does not match the dependency schema of '%s'", k);
        }
        if (names) {
            json_t *key = json_stringn(k, strlen(k));
            bool good = v_quiet(c, names, key);
            json_decref(key);
            if (!good) ok = false, fail(c, "property name '%s' does not match 'propertyNames'", k);
        }
        if ((!ok && c->quiet) || c->limit) return false;
    }
    return ok;
}

static bool v_combinators(vctx *c, const json_t *s, const js_node *n, const json_t *inst) {
    bool ok = true;
    const json_t *v;
    if ((v = js_kw(n, s, "allOf")))
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!v_schema(c, json_array_get(v, i), inst) && (ok = false, c->quiet)) return false;
    if ((v = js_kw(n, s, "anyOf"))) {
        bool any = false;
        for (size_t i = 0; i < json_array_size(v) && !any && !c->limit; i++)
            any = v_quiet(c, json_array_get(v, i), inst);
        if (!any) ok = false, fail(c, "the value matches none of the 'anyOf' schemas");
    }
    if ((v = js_kw(n, s, "oneOf"))) {
        size_t matches = 0;
        for (size_t i = 0; i < json_array_size(v) && matches < 2 && !c->limit; i++)
            matches += v_quiet(c, json_array_get(v, i), inst);
        if (matches != 1)
            ok = false, fail(c, "the value matches %s of the 'oneOf' schemas", matches ? "more than one" : "none");
    }
    if ((v = js_kw(n, s, "not")) && v_quiet(c, v, inst) && !c->limit)
        ok = false, fail(c, "the value matches the 'not' schema");
    if (c->s->draft >= 7 && (v = js_kw(n, s, "if"))) {
        const json_t *branch = js_kw(n, s, v_quiet(c, v, inst) ? "then" : "else");
        if (branch && !v_schema(c, branch, inst)) ok = false;
    }
    return ok;
}

static bool v_schema(vctx *c, const json_t *s, const json_t *inst) {
    if (c->limit) return false;
    if (json_is_true(s)) return true;
    if (json_is_false(s)) return fail(c, "no value is allowed here (schema false)"), false;
    if (!charge(c, 1)) return false;
    const js_node *n = js_map_get(&c->s->nodes, s);
    if (!n) return stop(c, "internal error: a schema that was not compiled"), false;
    if (c->depth >= c->s->lim.max_eval_depth)
        return stop(c, "validation stopped: deeper than %d nested schemas", c->s->lim.max_eval_depth), false;
    c->depth++;
    bool ok = true;
    if (n->ref) { /* drafts 4 to 7: $ref replaces its siblings */
        for (int i = 0; i < c->nrefs; i++)
            if (c->refs[i].schema == n->ref && c->refs[i].inst == inst) {
                stop(c, "validation stopped: $ref cycle that consumes no input ('%s')",
                     json_string_value(js_kw(n, s, "$ref")));
                c->depth--;
                return false;
            }
        if (c->nrefs == REF_STACK) {
            stop(c, "validation stopped: more than %d nested $ref", REF_STACK);
        } else {
            c->refs[c->nrefs].schema = n->ref;
            c->refs[c->nrefs++].inst = inst;
            ok = v_schema(c, n->ref, inst);
            c->nrefs--;
        }
        c->depth--;
        return ok && !c->limit;
    }
    const json_t *v;
    if ((v = js_kw(n, s, "type"))) {
        bool match = json_is_string(v) && type_is(inst, json_string_value(v));
        for (size_t i = 0; !match && i < json_array_size(v); i++)
            match = type_is(inst, json_string_value(json_array_get(v, i)));
        if (!match) ok = false, fail(c, "%s is not of the allowed type", type_of(inst));
    }
    if ((v = js_kw(n, s, "enum"))) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(v) && !found; i++) found = js_equal(inst, json_array_get(v, i));
        if (!found) ok = false, fail(c, "the value is not one of the 'enum' values");
    }
    if (c->s->draft > 4 && (v = js_kw(n, s, "const")) && !js_equal(inst, v))
        ok = false, fail(c, "the value is not the 'const' value");
    if (ok || !c->quiet) {
        if (json_is_number(inst))
            ok = v_number(c, s, n, inst) && ok;
        else if (json_is_string(inst))
            ok = v_string(c, s, n, inst) && ok;
        else if (json_is_array(inst))
            ok = v_array(c, s, n, inst) && ok;
        else if (json_is_object(inst))
            ok = v_object(c, s, n, inst) && ok;
    }
    if (ok || !c->quiet) ok = v_combinators(c, s, n, inst) && ok;
    c->depth--;
    return ok && !c->limit;
}

int hs_jsonschema_validate(const hs_jsonschema *s, const json_t *instance, hs_jsonschema_result *res) {
    /* errors[] is written as errors are found: only the counts start at 0
     * (the result is 8 KiB, the context 5; zeroing them was a third of a
     * small body's validation) */
    res->valid = 0;
    res->nerrors = 0;
    res->truncated = 0;
    vctx *c = js_alloc_raw(sizeof *c); /* REF_STACK entries: kept off the caller's stack */
    c->s = s;
    c->res = res;
    c->path.len = 0;
    c->path.s[0] = '\0';
    c->quiet = c->depth = c->limit = c->nrefs = 0;
    c->steps = 0;
    bool ok = instance && v_schema(c, s->root, instance);
    if (!instance) fail(c, "no instance");
    int limit = c->limit;
    js_free(c);
    res->valid = ok && !limit;
    return limit ? HS_JSONSCHEMA_ELIMIT : HS_JSONSCHEMA_OK;
}
