/* lib/jsonata/value.c — JSONata arena, values, number formatting,
 * serialization and environments. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

#define CHUNK_MIN (64 * 1024)
#define EXPR_MAX (64 * 1024)

struct jchunk {
    jchunk *next;
    size_t cap, used;
    max_align_t data[];
};

jv jx_placeholder;

void *ja_alloc(jarena *a, size_t n) {
    /* a size near SIZE_MAX must not wrap round to a small one: it fails the
     * memory limit below, or the system allocation (which aborts) */
    n = n > SIZE_MAX - 15 - sizeof(jchunk) ? SIZE_MAX - 15 - sizeof(jchunk) : n;
    n = (n + 15) & ~(size_t)15;
    if (!n) n = 16;
    jchunk *h = a->head;
    if (!h || n > h->cap - h->used) {
        size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
        if (a->limit && a->ctx && (cap > a->limit || a->total + sizeof(jchunk) > a->limit - cap))
            jx_throw(a->ctx, HS_JSONATA_ELIMIT, "U1002", -1, "Memory limit of %zu bytes exceeded", a->limit);
        h = jx_sys_alloc(sizeof(jchunk) + cap);
        h->cap = cap;
        h->used = 0;
        h->next = a->head;
        a->head = h;
        a->total += cap + sizeof(jchunk);
    }
    void *p = (char *)h->data + h->used;
    h->used += n;
    memset(p, 0, n);
    return p;
}

char *ja_strndup(jarena *a, const char *s, size_t n) {
    char *p = ja_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void ja_free_all(jarena *a) {
    jchunk *h = a->head;
    while (h) {
        jchunk *nx = h->next;
        jx_sys_free(h);
        h = nx;
    }
    a->head = NULL;
    a->total = 0;
}

void jx_throw(jctx *c, int rc, const char *code, int pos, const char *fmt, ...) {
    c->rc = rc;
    if (c->err) {
        snprintf(c->err->code, sizeof c->err->code, "%s", code);
        c->err->position = pos;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof c->err->message, fmt, ap);
        va_end(ap);
    }
    longjmp(c->jb, 1);
}

void jx_check(jctx *c) {
    if ((++c->steps & 127) == 0 && c->deadline_ns && jx_clock_ns() > c->deadline_ns)
        jx_throw(c, HS_JSONATA_ETIME, "U1001", -1, "Expression evaluation timeout: Check for infinite loop");
}

/* ---- string builder ---- */
void jsb_put(jsb *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        if (cap < 64) cap = 64;
        char *np = ja_alloc(&b->c->arena, cap);
        if (b->n) memcpy(np, b->p, b->n);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
void jsb_puts(jsb *b, const char *s) { jsb_put(b, s, strlen(s)); }
jv *jsb_done(jsb *b) {
    jv *v = ja_alloc(&b->c->arena, sizeof *v);
    v->t = JV_STR;
    if (!b->p) {
        b->p = ja_alloc(&b->c->arena, 1);
    }
    v->u.s.p = b->p;
    v->u.s.len = b->n;
    return v;
}

/* ---- values ---- */
static jv *mkv(jctx *c, int t) {
    jv *v = ja_alloc(&c->arena, sizeof *v);
    v->t = t;
    return v;
}
jv *jv_num(jctx *c, double d) {
    jv *v = mkv(c, JV_NUM);
    v->u.n = d;
    return v;
}
jv *jv_str(jctx *c, const char *s, size_t n) {
    jv *v = mkv(c, JV_STR);
    v->u.s.p = ja_strndup(&c->arena, s, n);
    v->u.s.len = n;
    return v;
}
jv *jv_cstr(jctx *c, const char *s) { return jv_str(c, s, strlen(s)); }
jv *jv_bool(jctx *c, int b) {
    jv *v = mkv(c, JV_BOOL);
    v->u.b = !!b;
    return v;
}
jv *jv_null(jctx *c) { return mkv(c, JV_NULL); }
jv *jv_arr(jctx *c) { return mkv(c, JV_ARR); }
jv *jv_seq(jctx *c) {
    jv *v = mkv(c, JV_ARR);
    v->u.a.seq = 1;
    return v;
}
jv *jv_obj(jctx *c) { return mkv(c, JV_OBJ); }

void jv_push(jctx *c, jv *a, jv *x) {
    if (a->u.a.n == a->u.a.cap) {
        size_t cap = a->u.a.cap ? a->u.a.cap * 2 : 4;
        jv **nv = ja_alloc(&c->arena, sizeof(jv *) * cap);
        if (a->u.a.n) memcpy(nv, a->u.a.v, sizeof(jv *) * a->u.a.n);
        a->u.a.v = nv;
        a->u.a.cap = cap;
    }
    a->u.a.v[a->u.a.n++] = x;
}

jv *jv_get(const jv *o, const char *k) {
    if (!o || o->t != JV_OBJ) return NULL;
    for (size_t i = 0; i < o->u.o.n; i++)
        if (!strcmp(o->u.o.k[i], k)) return o->u.o.v[i];
    return NULL;
}

void jv_set(jctx *c, jv *o, const char *k, jv *x) {
    for (size_t i = 0; i < o->u.o.n; i++)
        if (!strcmp(o->u.o.k[i], k)) {
            o->u.o.v[i] = x;
            return;
        }
    if (o->u.o.n == o->u.o.cap) {
        size_t cap = o->u.o.cap ? o->u.o.cap * 2 : 4;
        char **nk = ja_alloc(&c->arena, sizeof(char *) * cap);
        jv **nv = ja_alloc(&c->arena, sizeof(jv *) * cap);
        if (o->u.o.n) {
            memcpy(nk, o->u.o.k, sizeof(char *) * o->u.o.n);
            memcpy(nv, o->u.o.v, sizeof(jv *) * o->u.o.n);
        }
        o->u.o.k = nk;
        o->u.o.v = nv;
        o->u.o.cap = cap;
    }
    o->u.o.k[o->u.o.n] = (char *)k;
    o->u.o.v[o->u.o.n++] = x;
}

bool jv_isfunc(const jv *v) {
    return v && (v->t == JV_LAMBDA || v->t == JV_BUILTIN || v->t == JV_PARTIAL || v->t == JV_REGEX);
}

bool jv_equal(const jv *a, const jv *b) {
    if (!a || !b) return a == b;
    if (a->t != b->t) return false;
    switch (a->t) {
    case JV_NULL: return true;
    case JV_BOOL: return a->u.b == b->u.b;
    case JV_NUM: return a->u.n == b->u.n;
    case JV_STR: return a->u.s.len == b->u.s.len && !memcmp(a->u.s.p, b->u.s.p, a->u.s.len);
    case JV_ARR:
        if (a->u.a.n != b->u.a.n) return false;
        for (size_t i = 0; i < a->u.a.n; i++)
            if (!jv_equal(a->u.a.v[i], b->u.a.v[i])) return false;
        return true;
    case JV_OBJ:
        if (a->u.o.n != b->u.o.n) return false;
        for (size_t i = 0; i < a->u.o.n; i++)
            if (!jv_equal(a->u.o.v[i], jv_get(b, a->u.o.k[i]))) return false;
        return true;
    default: return a == b;
    }
}

bool jv_truthy(const jv *v) {
    if (!v) return false;
    switch (v->t) {
    case JV_NULL: return false;
    case JV_BOOL: return v->u.b;
    case JV_NUM: return v->u.n != 0;
    case JV_STR: return v->u.s.len > 0;
    case JV_ARR:
        if (v->u.a.n == 1) return jv_truthy(v->u.a.v[0]);
        for (size_t i = 0; i < v->u.a.n; i++)
            if (jv_truthy(v->u.a.v[i])) return true;
        return false;
    case JV_OBJ: return v->u.o.n > 0;
    default: return false;
    }
}

jv *jv_from_json(jctx *c, const json_t *j) {
    if (!j) return NULL;
    switch (json_typeof(j)) {
    case JSON_NULL: return jv_null(c);
    case JSON_TRUE: return jv_bool(c, 1);
    case JSON_FALSE: return jv_bool(c, 0);
    case JSON_INTEGER:
    case JSON_REAL: return jv_num(c, json_number_value(j));
    case JSON_STRING: return jv_str(c, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        jv *a = jv_arr(c);
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) jv_push(c, a, jv_from_json(c, x));
        return a;
    }
    case JSON_OBJECT: {
        jv *o = jv_obj(c);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)j, k, x) {
            jv_set(c, o, ja_strndup(&c->arena, k, strlen(k)), jv_from_json(c, x));
        }
        return o;
    }
    }
    return NULL;
}

json_t *jv_to_json(const jv *v) {
    if (!v) return NULL;
    switch (v->t) {
    case JV_NULL: return json_null();
    case JV_BOOL: return json_boolean(v->u.b);
    case JV_NUM:
        if (!isfinite(v->u.n)) return NULL; /* Infinity/NaN have no JSON form */
        if (v->u.n == floor(v->u.n) && fabs(v->u.n) <= 9007199254740992.0) return json_integer((json_int_t)v->u.n);
        return json_real(v->u.n);
    case JV_STR: return json_stringn(v->u.s.p, v->u.s.len);
    case JV_ARR: {
        json_t *a = json_array();
        for (size_t i = 0; i < v->u.a.n; i++) {
            json_t *x = jv_to_json(v->u.a.v[i]);
            json_array_append_new(a, x ? x : json_null());
        }
        return a;
    }
    case JV_OBJ: {
        json_t *o = json_object();
        for (size_t i = 0; i < v->u.o.n; i++) {
            json_t *x = jv_to_json(v->u.o.v[i]);
            if (x) json_object_set_new(o, v->u.o.k[i], x);
        }
        return o;
    }
    default: return NULL; /* functions have no JSON form */
    }
}

/* JavaScript Number.prototype.toString */
void jx_fmt_num(double d, char *buf, size_t cap) {
    if (d != d) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (d == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, cap, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == floor(d) && fabs(d) < 1e21) {
        snprintf(buf, cap, "%.0f", d);
        return;
    }
    char tmp[40];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* tmp: [-]d.ddde[+-]xx */
    char digits[32];
    int nd = 0;
    const char *q = tmp;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int e = (int)strtol(q + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    int n = e + 1;
    char out[64];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (nd <= n && n <= 21) {
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
        for (int i = nd; i < n; i++) out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, digits + n, (size_t)(nd - n));
        o += (size_t)(nd - n);
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++) out[o++] = '0';
        memcpy(out + o, digits, (size_t)nd);
        o += (size_t)nd;
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, (size_t)(nd - 1));
            o += (size_t)(nd - 1);
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    out[o] = 0;
    snprintf(buf, cap, "%s", out);
}

static void fmt_num15(double d, char *buf, size_t cap) {
    char tmp[40];
    if (d == floor(d) && fabs(d) < 1e17) {
        jx_fmt_num(d, buf, cap);
        return;
    }
    snprintf(tmp, sizeof tmp, "%.14e", d);
    jx_fmt_num(strtod(tmp, NULL), buf, cap);
}

static void json_escape(jsb *b, const char *s, size_t n) {
    jsb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        switch (ch) {
        case '"': jsb_put(b, "\\\"", 2); break;
        case '\\': jsb_put(b, "\\\\", 2); break;
        case '\n': jsb_put(b, "\\n", 2); break;
        case '\r': jsb_put(b, "\\r", 2); break;
        case '\t': jsb_put(b, "\\t", 2); break;
        case '\b': jsb_put(b, "\\b", 2); break;
        case '\f': jsb_put(b, "\\f", 2); break;
        default:
            if (ch < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", ch);
                jsb_puts(b, esc);
            } else {
                jsb_put(b, (const char *)&s[i], 1);
            }
        }
    }
    jsb_put(b, "\"", 1);
}

static void indent(jsb *b, int lvl) {
    jsb_put(b, "\n", 1);
    for (int i = 0; i < lvl; i++) jsb_put(b, "  ", 2);
}

static void ser(jctx *c, jsb *b, const jv *v, bool pretty, int lvl) {
    jx_check(c);
    char nb[64];
    if (!v) {
        jsb_puts(b, "null");
        return;
    }
    switch (v->t) {
    case JV_NULL: jsb_puts(b, "null"); break;
    case JV_BOOL: jsb_puts(b, v->u.b ? "true" : "false"); break;
    case JV_NUM:
        if (!isfinite(v->u.n)) jx_throw(c, HS_JSONATA_EINVAL, "D1001", -1, "Number out of range: %g", v->u.n);
        fmt_num15(v->u.n, nb, sizeof nb);
        jsb_puts(b, nb);
        break;
    case JV_STR: json_escape(b, v->u.s.p, v->u.s.len); break;
    case JV_ARR:
        jsb_put(b, "[", 1);
        for (size_t i = 0; i < v->u.a.n; i++) {
            if (i) jsb_put(b, ",", 1);
            if (pretty) indent(b, lvl + 1);
            ser(c, b, v->u.a.v[i], pretty, lvl + 1);
        }
        if (pretty && v->u.a.n) indent(b, lvl);
        jsb_put(b, "]", 1);
        break;
    case JV_OBJ:
        jsb_put(b, "{", 1);
        for (size_t i = 0; i < v->u.o.n; i++) {
            if (i) jsb_put(b, ",", 1);
            if (pretty) indent(b, lvl + 1);
            json_escape(b, v->u.o.k[i], strlen(v->u.o.k[i]));
            jsb_put(b, pretty ? ": " : ":", pretty ? 2 : 1);
            ser(c, b, v->u.o.v[i], pretty, lvl + 1);
        }
        if (pretty && v->u.o.n) indent(b, lvl);
        jsb_put(b, "}", 1);
        break;
    default: jsb_puts(b, "\"\""); break;
    }
}

jv *jx_stringify(jctx *c, jv *v, bool pretty) {
    if (!v) return NULL;
    if (v->t == JV_STR) return v;
    if (jv_isfunc(v)) return jv_cstr(c, "");
    if (v->t == JV_NUM) {
        if (!isfinite(v->u.n))
            jx_throw(c, HS_JSONATA_EINVAL, "D3001", -1, "Attempting to invoke string function on Infinity or NaN");
        char nb[64];
        fmt_num15(v->u.n, nb, sizeof nb);
        return jv_cstr(c, nb);
    }
    jsb b = {.c = c};
    ser(c, &b, v, pretty, 0);
    return jsb_done(&b);
}

jv *jx_append(jctx *c, jv *a, jv *b) {
    if (!a) return b;
    if (!b) return a;
    jv *r = jv_arr(c);
    if (a->t == JV_ARR)
        for (size_t i = 0; i < a->u.a.n; i++) jv_push(c, r, a->u.a.v[i]);
    else
        jv_push(c, r, a);
    if (b->t == JV_ARR)
        for (size_t i = 0; i < b->u.a.n; i++) jv_push(c, r, b->u.a.v[i]);
    else
        jv_push(c, r, b);
    return r;
}

int jx_fn_arity(const jv *f) {
    if (!f) return 0;
    if (f->t == JV_LAMBDA) return f->u.f.node->nparams;
    if (f->t == JV_BUILTIN) return f->u.bi->min;
    if (f->t == JV_PARTIAL) {
        int k = 0;
        for (int i = 0; i < f->u.p.n; i++)
            if (f->u.p.args[i] == &jx_placeholder) k++;
        return k;
    }
    return 0;
}

/* ---- environment ---- */
jenv *jx_env_new(jctx *c, jenv *parent) {
    jenv *e = ja_alloc(&c->arena, sizeof *e);
    e->parent = parent;
    return e;
}

void jx_env_bind(jctx *c, jenv *e, const char *name, jv *v) {
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->names[i], name)) {
            e->vals[i] = v;
            return;
        }
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 4;
        const char **nn = ja_alloc(&c->arena, sizeof(char *) * (size_t)cap);
        jv **nv = ja_alloc(&c->arena, sizeof(jv *) * (size_t)cap);
        if (e->n) {
            memcpy(nn, e->names, sizeof(char *) * (size_t)e->n);
            memcpy(nv, e->vals, sizeof(jv *) * (size_t)e->n);
        }
        e->names = nn;
        e->vals = nv;
        e->cap = cap;
    }
    e->names[e->n] = name;
    e->vals[e->n++] = v;
}

jv *jx_env_lookup(jenv *e, const char *name, bool *found) {
    for (; e; e = e->parent)
        for (int i = 0; i < e->n; i++)
            if (!strcmp(e->names[i], name)) {
                *found = true;
                return e->vals[i];
            }
    *found = false;
    return NULL;
}
