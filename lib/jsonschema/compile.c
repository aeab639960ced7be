/* lib/jsonschema/compile.c — hs_jsonschema_compile: checks the document
 * against the limits, deep-copies it, walks every subschema once (keyword
 * types, patterns compiled, $id/id recorded with their resolved URIs), then
 * resolves every $ref within the document (JSON Pointer fragments with
 * percent and ~ escapes, plain-name fragments, $id-based URIs) and refuses
 * remote ones. Single-threaded; the result is immutable. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonschema/jsonschema_int.h"

typedef struct id_entry {
    char *uri;
    const json_t *node;
} id_entry;

typedef struct pending_ref {
    js_node *node;
    char *uri; /* absolute (or document-relative) reference */
} pending_ref;

typedef struct cctx {
    hs_jsonschema *s;
    hs_jsonschema_error *err;
    int rc;
    js_path path;
    size_t nschemas;
    id_entry *ids;
    size_t nids, capids;
    pending_ref *refs;
    size_t nrefs, caprefs;
    char root_base[JS_URI_CAP];
} cctx;

__attribute__((format(printf, 3, 4))) static int cfail(cctx *c, int rc, const char *fmt, ...) {
    if (c->rc) return c->rc;
    c->rc = rc;
    if (c->err) {
        js_copy(c->err->path, sizeof c->err->path, c->path.s);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* --- limits on the raw document --- */

static int measure(cctx *c, const json_t *v, int depth, size_t *count) {
    if (++*count > c->s->lim.max_values)
        return cfail(c, HS_JSONSCHEMA_ELIMIT, "schema has more than %zu JSON values", c->s->lim.max_values);
    if (depth > c->s->lim.max_depth)
        return cfail(c, HS_JSONSCHEMA_ELIMIT, "schema nested deeper than %d levels", c->s->lim.max_depth);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (measure(c, json_array_get(v, i), depth + 1, count)) return c->rc;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (measure(c, x, depth + 1, count)) return c->rc;
        }
    }
    return 0;
}

/* --- URIs (RFC 3986 resolution, simplified: no query-only references) --- */

static size_t scheme_len(const char *u) {
    size_t i = 0;
    if (!((u[0] | 0x20) >= 'a' && (u[0] | 0x20) <= 'z')) return 0;
    while (u[i] &&
           (((u[i] | 0x20) >= 'a' && (u[i] | 0x20) <= 'z') || (u[i] >= '0' && u[i] <= '9') || strchr("+-.", u[i])))
        i++;
    return u[i] == ':' ? i : 0;
}

static void remove_dots(char *u) {
    char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : strchr(u, '/');
    if (!p) return;
    char *end = p + strcspn(p, "?#");
    char tail[JS_URI_CAP];
    snprintf(tail, sizeof tail, "%s", end);
    *end = 0;
    char *w = p;
    for (char *r = p; *r;) {
        if (!strncmp(r, "/./", 3) || !strcmp(r, "/.")) {
            r += 2;
            if (!*r) *w++ = '/';
        } else if (!strncmp(r, "/../", 4) || !strcmp(r, "/..")) {
            r += 3;
            while (w > p && *--w != '/') {
            }
            if (!*r) *w++ = '/';
        } else {
            do *w++ = *r++;
            while (*r && *r != '/');
        }
    }
    *w = 0;
    size_t n = strlen(u);
    snprintf(u + n, JS_URI_CAP - n, "%s", tail);
}

static int resolve_uri(const char *base, const char *ref, char *out) {
    size_t bn = strcspn(base, "#");
    int n;
    if (scheme_len(ref) || !*base) {
        n = snprintf(out, JS_URI_CAP, "%s", ref);
    } else if (ref[0] == '#' || !ref[0]) {
        n = snprintf(out, JS_URI_CAP, "%.*s%s", (int)bn, base, ref);
    } else if (ref[0] == '/' && ref[1] == '/') {
        n = snprintf(out, JS_URI_CAP, "%.*s%s", (int)scheme_len(base) + 1, base, ref);
    } else if (ref[0] == '/') {
        const char *a = strstr(base, "://");
        size_t keep = a ? (size_t)(a - base) + 3 + strcspn(a + 3, "/?#") : scheme_len(base) + 1;
        n = snprintf(out, JS_URI_CAP, "%.*s%s", (int)keep, base, ref);
    } else {
        size_t end = strcspn(base, "?#");
        while (end > 0 && base[end - 1] != '/') end--;
        if (!end) end = scheme_len(base) ? scheme_len(base) + 1 : 0;
        n = snprintf(out, JS_URI_CAP, "%.*s%s", (int)end, base, ref);
    }
    if (n < 0 || n >= JS_URI_CAP) return -1;
    remove_dots(out);
    size_t len = strlen(out);
    if (len && out[len - 1] == '#') out[len - 1] = 0; /* "x#" names the same document as "x" */
    return 0;
}

static void add_id(cctx *c, const char *uri, const json_t *node) {
    if (c->nids == c->capids) {
        c->capids = c->capids ? c->capids * 2 : 16;
        id_entry *n = js_alloc(c->capids * sizeof *n);
        if (c->nids) memcpy(n, c->ids, c->nids * sizeof *n);
        js_free(c->ids);
        c->ids = n;
    }
    c->ids[c->nids].uri = js_strdup(uri);
    c->ids[c->nids++].node = node;
}

static const json_t *find_id(cctx *c, const char *uri) {
    for (size_t i = 0; i < c->nids; i++)
        if (!strcmp(c->ids[i].uri, uri)) return c->ids[i].node;
    return NULL;
}

/* --- keyword checks --- */

static bool is_nonneg_int(const json_t *v) {
    if (json_is_integer(v)) return json_integer_value(v) >= 0;
    return json_is_real(v) && json_real_value(v) >= 0 && floor(json_real_value(v)) == json_real_value(v);
}

static bool type_name_ok(const json_t *v) {
    static const char *names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
    if (!json_is_string(v)) return false;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(json_string_value(v), names[i])) return true;
    return false;
}

static int walk(cctx *c, const json_t *s, const char *base, int depth);

static int walk_kw(cctx *c, const json_t *s, const char *kw, const char *base, int depth) {
    size_t old = js_path_push(&c->path, kw);
    walk(c, json_object_get(s, kw), base, depth + 1);
    js_path_pop(&c->path, old);
    return c->rc;
}

static int walk_array(cctx *c, const json_t *s, const char *kw, const char *base, int depth, bool nonempty) {
    const json_t *a = json_object_get(s, kw);
    size_t old = js_path_push(&c->path, kw);
    if (!json_is_array(a) || (nonempty && !json_array_size(a))) {
        cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be a%s array of schemas", kw, nonempty ? " non-empty" : "n");
    }
    for (size_t i = 0; !c->rc && i < json_array_size(a); i++) {
        size_t o2 = js_path_push_index(&c->path, i);
        walk(c, json_array_get(a, i), base, depth + 1);
        js_path_pop(&c->path, o2);
    }
    js_path_pop(&c->path, old);
    return c->rc;
}

static int walk_members(cctx *c, const json_t *s, const char *kw, const char *base, int depth, bool lists_too) {
    const json_t *o = json_object_get(s, kw);
    size_t old = js_path_push(&c->path, kw);
    if (!json_is_object(o)) cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be an object", kw);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (c->rc) break;
        size_t o2 = js_path_push(&c->path, k);
        if (lists_too && json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                if (!json_is_string(json_array_get(v, i)))
                    cfail(c, HS_JSONSCHEMA_EINVAL, "a property dependency must list strings");
        } else {
            walk(c, v, base, depth + 1);
        }
        js_path_pop(&c->path, o2);
    }
    js_path_pop(&c->path, old);
    return c->rc;
}

static int check_keywords(cctx *c, const json_t *s, js_node *node, int draft) {
    const json_t *v;
    if ((v = json_object_get(s, "type"))) {
        bool ok = type_name_ok(v);
        if (json_is_array(v)) {
            ok = true;
            for (size_t i = 0; i < json_array_size(v); i++) ok = ok && type_name_ok(json_array_get(v, i));
        }
        if (!ok) return cfail(c, HS_JSONSCHEMA_EINVAL, "'type' must be a type name or an array of them");
    }
    if ((v = json_object_get(s, "enum")) && (!json_is_array(v) || (draft == 4 && !json_array_size(v))))
        return cfail(c, HS_JSONSCHEMA_EINVAL, "'enum' must be an array");
    if ((v = json_object_get(s, "multipleOf")) && (!json_is_number(v) || json_number_value(v) <= 0))
        return cfail(c, HS_JSONSCHEMA_EINVAL, "'multipleOf' must be a number greater than 0");
    static const char *nums[] = {"maximum", "minimum"};
    for (int i = 0; i < 2; i++)
        if ((v = json_object_get(s, nums[i])) && !json_is_number(v))
            return cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be a number", nums[i]);
    static const char *excl[] = {"exclusiveMaximum", "exclusiveMinimum"};
    for (int i = 0; i < 2; i++) {
        if (!(v = json_object_get(s, excl[i]))) continue;
        if (draft == 4 && !json_is_boolean(v))
            return cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be a boolean in draft 4", excl[i]);
        if (draft > 4 && !json_is_number(v))
            return cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be a number in draft 6 and later", excl[i]);
    }
    static const char *counts[] = {"maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"};
    for (int i = 0; i < 6; i++)
        if ((v = json_object_get(s, counts[i])) && !is_nonneg_int(v))
            return cfail(c, HS_JSONSCHEMA_EINVAL, "'%s' must be a non-negative integer", counts[i]);
    if ((v = json_object_get(s, "uniqueItems")) && !json_is_boolean(v))
        return cfail(c, HS_JSONSCHEMA_EINVAL, "'uniqueItems' must be a boolean");
    if ((v = json_object_get(s, "format")) && !json_is_string(v))
        return cfail(c, HS_JSONSCHEMA_EINVAL, "'format' must be a string");
    if ((v = json_object_get(s, "required"))) {
        bool ok = json_is_array(v) && (draft > 4 || json_array_size(v));
        for (size_t i = 0; ok && i < json_array_size(v); i++) ok = json_is_string(json_array_get(v, i));
        if (!ok) return cfail(c, HS_JSONSCHEMA_EINVAL, "'required' must be an array of strings");
    }
    char why[160];
    if ((v = json_object_get(s, "pattern"))) {
        if (!json_is_string(v)) return cfail(c, HS_JSONSCHEMA_EINVAL, "'pattern' must be a string");
        if (json_string_length(v) > c->s->lim.max_pattern)
            return cfail(c, HS_JSONSCHEMA_ELIMIT, "'pattern' longer than %zu bytes", c->s->lim.max_pattern);
        node->pattern = js_alloc(sizeof *node->pattern);
        int rc = js_regex_compile(node->pattern, json_string_value(v), json_string_length(v), why, sizeof why);
        if (rc) {
            js_free(node->pattern);
            node->pattern = NULL;
            return cfail(c, rc == -1 ? HS_JSONSCHEMA_EUNSUPPORTED : HS_JSONSCHEMA_EINVAL, "'pattern' %s: %s",
                         rc == -1 ? "cannot be translated to POSIX" : "is invalid", why);
        }
    }
    if ((v = json_object_get(s, "patternProperties")) && json_is_object(v)) {
        node->pp = js_alloc((json_object_size(v) + 1) * sizeof *node->pp);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (strlen(k) > c->s->lim.max_pattern)
                return cfail(c, HS_JSONSCHEMA_ELIMIT, "a patternProperties pattern is longer than %zu bytes",
                             c->s->lim.max_pattern);
            int rc = js_regex_compile(&node->pp[node->npp].re, k, strlen(k), why, sizeof why);
            if (rc)
                return cfail(c, rc == -1 ? HS_JSONSCHEMA_EUNSUPPORTED : HS_JSONSCHEMA_EINVAL,
                             "patternProperties pattern '%s' %s: %s", k,
                             rc == -1 ? "cannot be translated to POSIX" : "is invalid", why);
            node->pp[node->npp].key = k;
            node->pp[node->npp++].schema = x;
        }
    }
    return 0;
}

static int walk(cctx *c, const json_t *s, const char *base, int depth) {
    if (c->rc) return c->rc;
    int draft = c->s->draft;
    if (++c->nschemas > c->s->lim.max_subschemas)
        return cfail(c, HS_JSONSCHEMA_ELIMIT, "schema has more than %zu subschemas", c->s->lim.max_subschemas);
    if (json_is_boolean(s)) {
        if (draft == 4) return cfail(c, HS_JSONSCHEMA_EINVAL, "boolean schemas need draft 6 or later");
        return 0;
    }
    if (!json_is_object(s))
        return cfail(c, HS_JSONSCHEMA_EINVAL, "a schema must be an object%s", draft == 4 ? "" : " or a boolean");
    if (js_map_get(&c->s->nodes, s)) return 0;
    js_node *node = js_alloc(sizeof *node);
    js_map_put(&c->s->nodes, s, node);
    const char *key;
    const json_t *member;
    json_object_foreach((json_t *)s, key, member) node->keys |= UINT64_C(1) << js_kw_bit(key);

    const json_t *ref = json_object_get(s, "$ref");
    const json_t *id = json_object_get(s, draft == 4 ? "id" : "$id");
    char here[JS_URI_CAP];
    snprintf(here, sizeof here, "%s", base);
    if (json_is_string(id) && !ref) { /* $ref ignores its siblings, $id too */
        if (resolve_uri(base, json_string_value(id), here)) return cfail(c, HS_JSONSCHEMA_ELIMIT, "$id too long");
        add_id(c, here, s);
        if (strchr(here, '#')) snprintf(here, sizeof here, "%s", base); /* a plain-name id does not move the base */
    }
    if (ref) {
        if (!json_is_string(ref)) return cfail(c, HS_JSONSCHEMA_EINVAL, "'$ref' must be a string");
        char abs[JS_URI_CAP];
        if (resolve_uri(here, json_string_value(ref), abs)) return cfail(c, HS_JSONSCHEMA_ELIMIT, "$ref too long");
        if (c->nrefs == c->caprefs) {
            c->caprefs = c->caprefs ? c->caprefs * 2 : 16;
            pending_ref *n = js_alloc(c->caprefs * sizeof *n);
            if (c->nrefs) memcpy(n, c->refs, c->nrefs * sizeof *n);
            js_free(c->refs);
            c->refs = n;
        }
        c->refs[c->nrefs].node = node;
        c->refs[c->nrefs++].uri = js_strdup(abs);
    }
    if (check_keywords(c, s, node, draft)) return c->rc;

    static const char *single[] = {
        "additionalItems", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"};
    for (size_t i = 0; i < sizeof single / sizeof *single; i++) {
        if (i >= 3 && draft == 4) break;
        if (i >= 5 && draft == 6) break;
        if (json_object_get(s, single[i])) {
            /* draft 4's additional* may be booleans: not schemas there, just allowed */
            if (draft == 4 && i < 2 && json_is_boolean(json_object_get(s, single[i]))) continue;
            if (walk_kw(c, s, single[i], here, depth)) return c->rc;
        }
    }
    const json_t *items = json_object_get(s, "items");
    if (json_is_array(items)) {
        if (walk_array(c, s, "items", here, depth, false)) return c->rc;
    } else if (items && walk_kw(c, s, "items", here, depth)) {
        return c->rc;
    }
    static const char *arrays[] = {"allOf", "anyOf", "oneOf"};
    for (int i = 0; i < 3; i++)
        if (json_object_get(s, arrays[i]) && walk_array(c, s, arrays[i], here, depth, true)) return c->rc;
    static const char *members[] = {"properties", "patternProperties", "definitions", "dependencies"};
    for (int i = 0; i < 4; i++)
        if (json_object_get(s, members[i]) && walk_members(c, s, members[i], here, depth, i == 3)) return c->rc;
    return 0;
}

/* --- $ref resolution --- */

static const json_t *pointer_get(const json_t *doc, const char *frag) {
    char dec[JS_URI_CAP];
    size_t n = 0;
    for (const char *p = frag; *p && n + 1 < sizeof dec; p++) { /* percent-decoding first */
        int h1, h2;
        if (*p == '%' && p[1] && p[2] && sscanf((char[3]){p[1], p[2], 0}, "%1x%1x", &h1, &h2) == 2) {
            dec[n++] = (char)(h1 * 16 + h2);
            p += 2;
        } else {
            dec[n++] = *p;
        }
    }
    dec[n] = 0;
    const json_t *cur = doc;
    char *p = dec;
    while (cur && *p == '/') {
        char seg[JS_URI_CAP];
        size_t k = 0;
        for (p++; *p && *p != '/'; p++) {
            if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
                seg[k++] = p[1] == '0' ? '~' : '/';
                p++;
            } else {
                seg[k++] = *p;
            }
        }
        seg[k] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            long i = strtol(seg, &end, 10);
            cur = (*seg && !*end && i >= 0) ? json_array_get(cur, (size_t)i) : NULL;
        } else {
            cur = NULL;
        }
    }
    return *p ? NULL : cur;
}

static int resolve_refs(cctx *c) {
    for (size_t i = 0; !c->rc && i < c->nrefs; i++) {
        const char *uri = c->refs[i].uri;
        const json_t *target = find_id(c, uri);
        if (!target) {
            char doc[JS_URI_CAP];
            snprintf(doc, sizeof doc, "%s", uri);
            char *hash = strchr(doc, '#');
            const char *frag = "";
            if (hash) *hash = 0, frag = hash + 1;
            const json_t *d = (!*doc || !strcmp(doc, c->root_base)) ? c->s->root : find_id(c, doc);
            if (!d) {
                js_path_pop(&c->path, 0);
                return cfail(c, HS_JSONSCHEMA_EUNSUPPORTED,
                             "$ref '%s' is outside this document: remote references are not supported", uri);
            }
            target = *frag == '/' ? pointer_get(d, frag) : (*frag ? NULL : d);
            if (target && !js_map_get(&c->s->nodes, target) && !json_is_boolean(target)) {
                js_path_pop(&c->path, 0); /* a target no keyword leads to: compile it now */
                walk(c, target, doc, 0);
            }
        }
        if (!target) return cfail(c, HS_JSONSCHEMA_EINVAL, "$ref '%s' does not resolve", uri);
        c->refs[i].node->ref = target;
    }
    /* chains of nothing but $ref that come back: no instance could ever finish them */
    for (size_t i = 0; !c->rc && i < c->nrefs; i++) {
        const js_node *n = c->refs[i].node;
        for (size_t hops = 0; n && n->ref; hops++) {
            if (hops > c->nrefs) return cfail(c, HS_JSONSCHEMA_EINVAL, "$ref cycle: '%s'", c->refs[i].uri);
            n = js_map_get(&c->s->nodes, n->ref);
        }
    }
    return c->rc;
}

/* --- public --- */

void hs_jsonschema_limits_default(hs_jsonschema_limits *l) {
    l->max_values = 100000;
    l->max_depth = 128;
    l->max_subschemas = 20000;
    l->max_pattern = 1024;
    l->max_eval_depth = 256;
    l->max_steps = 1000000;
    l->default_draft = 7;
}

static int draft_of(const json_t *schema, int dflt) {
    const char *u = json_string_value(json_object_get(schema, "$schema"));
    if (u && strstr(u, "json-schema.org/draft-04/")) return 4;
    if (u && strstr(u, "json-schema.org/draft-06/")) return 6;
    if (u && strstr(u, "json-schema.org/draft-07/")) return 7;
    return dflt == 4 || dflt == 6 ? dflt : 7;
}

int hs_jsonschema_compile(const json_t *schema, const hs_jsonschema_limits *lim, hs_jsonschema **out,
                          hs_jsonschema_error *err) {
    *out = NULL;
    if (err) err->path[0] = err->message[0] = 0;
    hs_jsonschema *s = js_alloc(sizeof *s);
    if (lim)
        s->lim = *lim;
    else
        hs_jsonschema_limits_default(&s->lim);
    cctx c = {.s = s, .err = err};
    size_t count = 0;
    if (!schema) cfail(&c, HS_JSONSCHEMA_EINVAL, "no schema");
    if (!c.rc && !measure(&c, schema, 0, &count)) {
        s->draft = draft_of(schema, s->lim.default_draft);
        s->root = json_deep_copy(schema);
        const json_t *id = json_object_get(s->root, s->draft == 4 ? "id" : "$id");
        if (json_is_string(id)) resolve_uri("", json_string_value(id), c.root_base);
        if (!walk(&c, s->root, c.root_base, 0)) resolve_refs(&c);
    }
    for (size_t i = 0; i < c.nids; i++) js_free(c.ids[i].uri);
    for (size_t i = 0; i < c.nrefs; i++) js_free(c.refs[i].uri);
    js_free(c.ids);
    js_free(c.refs);
    if (c.rc) {
        hs_jsonschema_free(s);
        return c.rc;
    }
    *out = s;
    return HS_JSONSCHEMA_OK;
}

int hs_jsonschema_draft(const hs_jsonschema *s) { return s->draft; }

void hs_jsonschema_free(hs_jsonschema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nodes.cap; i++) {
        js_node *n = s->nodes.vals[i];
        if (!s->nodes.keys[i] || !n) continue;
        if (n->pattern) regfree(n->pattern), js_free(n->pattern);
        for (size_t k = 0; k < n->npp; k++) regfree(&n->pp[k].re);
        js_free(n->pp);
        js_free(n);
    }
    js_map_clear(&s->nodes);
    json_decref(s->root);
    js_free(s);
}
