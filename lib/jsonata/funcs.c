/* lib/jsonata/funcs.c — the JSONata function library (strings, numbers,
 * aggregation, objects, arrays, higher-order functions). Date/time,
 * encoding and misc functions live in lib/jsonata/funcs2.c. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

#define FN(name) static jv *name(jctx *c, jv **a, int n, jv *input)
#define UNUSED (void)n, (void)input

void jf_argerr(jctx *c, int argi, const char *fname) {
    if (argi == 1 && c->ctx_inserted)
        jx_throw(c, HS_JSONATA_EINVAL, "T0411", c->err->position,
                 "Context value is not a compatible type with argument %d of function \"%s\"", argi, fname);
    jx_throw(c, HS_JSONATA_EINVAL, "T0410", c->err->position,
             "Argument %d of function \"%s\" does not match function signature", argi, fname);
}

const jv *jf_str(jctx *c, jv **a, int i, const char *fname) {
    if (!a[i]) return NULL;
    if (a[i]->t != JV_STR) jf_argerr(c, i + 1, fname);
    return a[i];
}

bool jf_num(jctx *c, jv **a, int i, const char *fname, double *out) {
    jv *v = a[i];
    if (v && v->t == JV_ARR && v->u.a.n == 1) v = v->u.a.v[0];
    if (!v) return false;
    if (v->t != JV_NUM) jf_argerr(c, i + 1, fname);
    *out = v->u.n;
    return true;
}

jv *jf_arr(jctx *c, jv *v) {
    if (!v) return NULL;
    if (v->t == JV_ARR) return v;
    jv *s = jv_arr(c);
    jv_push(c, s, v);
    return s;
}

jv *jf_call(jctx *c, jv *fn, jv *x0, jv *x1, jv *x2, jv *x3) {
    jv *args[4] = {x0, x1, x2, x3};
    int ar = jx_fn_arity(fn);
    if (ar > 4) ar = 4;
    if (fn->t == JV_BUILTIN && ar < 1) ar = 1;
    return jx_apply(c, fn, args, ar, NULL, c->err->position);
}

size_t jf_cplen(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) k++;
    return k;
}

/* byte offset of code point index cp (clamped to n) */
size_t jf_cpoff(const char *s, size_t n, size_t cp) {
    size_t i = 0, k = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (k == cp) return i;
            k++;
        }
        i++;
    }
    return n;
}

/* ---- strings ---- */
FN(f_string) {
    UNUSED;
    if (!a[0]) return NULL;
    if (n > 1 && a[1] && a[1]->t != JV_BOOL) jf_argerr(c, 2, "string");
    return jx_stringify(c, a[0], n > 1 && jv_truthy(a[1]));
}

FN(f_length) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "length");
    if (!s) return NULL;
    return jv_num(c, (double)jf_cplen(s->u.s.p, s->u.s.len));
}

FN(f_substring) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "substring");
    double start, len = 0;
    if (!a[1] || a[1]->t != JV_NUM) jf_argerr(c, 2, "substring");
    if (a[2] && a[2]->t != JV_NUM) jf_argerr(c, 3, "substring");
    if (!s) return NULL;
    jf_num(c, a, 1, "substring", &start);
    bool haslen = jf_num(c, a, 2, "substring", &len);
    double total = (double)jf_cplen(s->u.s.p, s->u.s.len);
    start = trunc(start);
    if (start < 0) start = total + start;
    if (start < 0) start = 0;
    if (start > total) start = total;
    double end = total;
    if (haslen) {
        if (len <= 0) return jv_cstr(c, "");
        end = start + trunc(len);
        if (end > total) end = total;
    }
    size_t b0 = jf_cpoff(s->u.s.p, s->u.s.len, (size_t)start), b1 = jf_cpoff(s->u.s.p, s->u.s.len, (size_t)end);
    return jv_str(c, s->u.s.p + b0, b1 - b0);
}

static const char *memfind(const char *h, size_t hn, const char *nd, size_t nn) {
    if (nn == 0) return h;
    if (nn > hn) return NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (!memcmp(h + i, nd, nn)) return h + i;
    return NULL;
}

static jv *substr_ba(jctx *c, jv **a, bool before, const char *fname) {
    const jv *s = jf_str(c, a, 0, fname), *p = jf_str(c, a, 1, fname);
    if (!s) return NULL;
    if (!p) jf_argerr(c, 2, fname);
    const char *f = memfind(s->u.s.p, s->u.s.len, p->u.s.p, p->u.s.len);
    if (!f) return (jv *)s;
    if (before) return jv_str(c, s->u.s.p, (size_t)(f - s->u.s.p));
    size_t off = (size_t)(f - s->u.s.p) + p->u.s.len;
    return jv_str(c, s->u.s.p + off, s->u.s.len - off);
}
FN(f_substringBefore) {
    UNUSED;
    return substr_ba(c, a, true, "substringBefore");
}
FN(f_substringAfter) {
    UNUSED;
    return substr_ba(c, a, false, "substringAfter");
}

static jv *casefn(jctx *c, jv **a, bool up, const char *fname) {
    const jv *s = jf_str(c, a, 0, fname);
    if (!s) return NULL;
    jv *r = jv_str(c, s->u.s.p, s->u.s.len);
    for (size_t i = 0; i < r->u.s.len; i++) {
        unsigned char ch = (unsigned char)r->u.s.p[i];
        if (ch < 128) r->u.s.p[i] = (char)(up ? toupper(ch) : tolower(ch));
    }
    return r;
}
FN(f_uppercase) {
    UNUSED;
    return casefn(c, a, true, "uppercase");
}
FN(f_lowercase) {
    UNUSED;
    return casefn(c, a, false, "lowercase");
}

FN(f_match) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "match");
    if (!a[1] || a[1]->t != JV_REGEX) jf_argerr(c, 2, "match");
    double lim = -1;
    if (a[2]) {
        if (a[2]->t != JV_NUM) jf_argerr(c, 3, "match");
        lim = a[2]->u.n;
        if (lim < 0)
            jx_throw(c, HS_JSONATA_EINVAL, "D3040", c->err->position,
                     "Third argument of match function must evaluate to a positive number");
    }
    if (!s) return NULL;
    return jx_regex_matches(c, a[1]->u.re, s, lim);
}

FN(f_trim) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "trim");
    if (!s) return NULL;
    jsb b = {.c = c};
    bool ws = false;
    for (size_t i = 0; i < s->u.s.len; i++) {
        char ch = s->u.s.p[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            ws = true;
            continue;
        }
        if (ws && b.n) jsb_put(&b, " ", 1);
        ws = false;
        jsb_put(&b, &ch, 1);
    }
    return jsb_done(&b);
}

FN(f_pad) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "pad");
    double w;
    if (!a[1] || a[1]->t != JV_NUM) jf_argerr(c, 2, "pad");
    if (!s) return NULL;
    jf_num(c, a, 1, "pad", &w);
    const jv *ch = jf_str(c, a, 2, "pad");
    const char *pc = ch && ch->u.s.len ? ch->u.s.p : " ";
    size_t pclen = ch && ch->u.s.len ? ch->u.s.len : 1;
    size_t pccp = jf_cplen(pc, pclen);
    size_t len = jf_cplen(s->u.s.p, s->u.s.len);
    double aw = fabs(trunc(w));
    if (isnan(aw) || aw <= (double)len) return (jv *)s; /* NaN: no padding, as in JSONata */
    if (aw > 1e9) aw = 1e9;                             /* the memory limit stops it long before */
    if (!pccp) pccp = 1, pc = " ", pclen = 1;
    size_t need = (size_t)aw - len;
    jsb pad = {.c = c};
    for (size_t k = 0; k < need; k++) {
        size_t idx = k % pccp;
        size_t o0 = jf_cpoff(pc, pclen, idx), o1 = jf_cpoff(pc, pclen, idx + 1);
        jsb_put(&pad, pc + o0, o1 - o0);
    }
    jsb b = {.c = c};
    if (w > 0) {
        jsb_put(&b, s->u.s.p, s->u.s.len);
        jsb_put(&b, pad.p, pad.n);
    } else {
        jsb_put(&b, pad.p, pad.n);
        jsb_put(&b, s->u.s.p, s->u.s.len);
    }
    return jsb_done(&b);
}

FN(f_contains) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "contains");
    if (!s) return NULL;
    if (a[1] && a[1]->t == JV_REGEX) {
        long *caps = ja_alloc(&c->arena, sizeof(long) * (size_t)(2 * (jx_regex_groups(a[1]->u.re) + 1)));
        return jv_bool(c, jx_regex_search(c, a[1]->u.re, s->u.s.p, s->u.s.len, 0, caps));
    }
    if (!a[1]) return NULL;
    if (a[1]->t != JV_STR) jf_argerr(c, 2, "contains");
    return jv_bool(c, memfind(s->u.s.p, s->u.s.len, a[1]->u.s.p, a[1]->u.s.len) != NULL);
}

FN(f_split) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "split");
    if (a[1] && jv_isfunc(a[1]) && a[1]->t != JV_REGEX)
        jx_throw(c, HS_JSONATA_EINVAL, "T1010", c->err->position,
                 "The matcher function argument passed to function split does not return the correct object structure");
    if (!a[1] || (a[1]->t != JV_STR && a[1]->t != JV_REGEX)) jf_argerr(c, 2, "split");
    double lim = -1;
    if (a[2]) {
        if (a[2]->t != JV_NUM) jf_argerr(c, 3, "split");
        lim = a[2]->u.n;
        if (lim < 0)
            jx_throw(c, HS_JSONATA_EINVAL, "D3020", c->err->position,
                     "Third argument of split function must evaluate to a positive number");
    }
    if (!s) return NULL;
    if (a[1]->t == JV_REGEX) return jx_regex_split(c, a[1]->u.re, s, lim);
    jv *r = jv_arr(c);
    const char *p = s->u.s.p, *end = p + s->u.s.len;
    size_t sl = a[1]->u.s.len;
    if (sl == 0) {
        for (size_t i = 0; i < s->u.s.len;) {
            size_t j = i + 1;
            while (j < s->u.s.len && ((unsigned char)p[j] & 0xC0) == 0x80) j++;
            jv_push(c, r, jv_str(c, p + i, j - i));
            i = j;
        }
    } else {
        for (;;) {
            const char *f = memfind(p, (size_t)(end - p), a[1]->u.s.p, sl);
            if (!f) {
                jv_push(c, r, jv_str(c, p, (size_t)(end - p)));
                break;
            }
            jv_push(c, r, jv_str(c, p, (size_t)(f - p)));
            p = f + sl;
        }
    }
    if (lim >= 0 && (double)r->u.a.n > lim) r->u.a.n = (size_t)lim;
    return r;
}

FN(f_join) {
    UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    const jv *sep = jf_str(c, a, 1, "join");
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < arr->u.a.n; i++) {
        jv *x = arr->u.a.v[i];
        if (x->t != JV_STR)
            jx_throw(c, HS_JSONATA_EINVAL, "T0412", c->err->position,
                     "Argument 1 of function \"join\" must be an array of strings");
        if (i && sep) jsb_put(&b, sep->u.s.p, sep->u.s.len);
        jsb_put(&b, x->u.s.p, x->u.s.len);
    }
    return jsb_done(&b);
}

FN(f_replace) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "replace");
    bool rx = a[1] && a[1]->t == JV_REGEX;
    if (!a[1] || (a[1]->t != JV_STR && !rx)) jf_argerr(c, 2, "replace");
    if (!a[2] || (a[2]->t != JV_STR && !jv_isfunc(a[2]))) jf_argerr(c, 3, "replace");
    if (a[2]->t != JV_STR && !rx) jf_argerr(c, 3, "replace");
    double lim = -1;
    if (a[3]) {
        if (a[3]->t != JV_NUM) jf_argerr(c, 4, "replace");
        lim = a[3]->u.n;
        if (lim < 0)
            jx_throw(c, HS_JSONATA_EINVAL, "D3011", c->err->position,
                     "Fourth argument of replace function must evaluate to a positive number");
    }
    if (!s) return NULL;
    if (rx) return jx_regex_replace(c, a[1]->u.re, s, a[2], lim);
    if (a[1]->u.s.len == 0)
        jx_throw(c, HS_JSONATA_EINVAL, "D3010", c->err->position,
                 "Second argument of replace function cannot be an empty string");
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    const char *p = s->u.s.p, *end = p + s->u.s.len;
    double count = 0;
    while (p < end) {
        const char *f = (lim < 0 || count < lim) ? memfind(p, (size_t)(end - p), a[1]->u.s.p, a[1]->u.s.len) : NULL;
        if (!f) break;
        jsb_put(&b, p, (size_t)(f - p));
        jsb_put(&b, a[2]->u.s.p, a[2]->u.s.len);
        p = f + a[1]->u.s.len;
        count++;
    }
    jsb_put(&b, p, (size_t)(end - p));
    return jsb_done(&b);
}

/* ---- numbers ---- */
FN(f_number) {
    UNUSED;
    jv *v = a[0];
    if (!v) return NULL;
    if (v->t == JV_NUM) return v;
    if (v->t == JV_BOOL) return jv_num(c, v->u.b);
    if (v->t == JV_STR) {
        const char *s = v->u.s.p;
        char *end = NULL;
        double d;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' || s[1] == 'B' || s[1] == 'o' || s[1] == 'O')) {
            int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'b' || s[1] == 'B') ? 2 : 8;
            d = (double)strtoll(s + 2, &end, base);
            if (end && !*end && end != s + 2) return jv_num(c, d);
        } else {
            /* decimal number syntax (leading zeros allowed, like JavaScript) */
            const char *q = s;
            if (*q == '-') q++;
            bool ok = false;
            if (*q >= '0' && *q <= '9') {
                while (*q >= '0' && *q <= '9') q++;
                ok = true;
            }
            if (ok && *q == '.') {
                q++;
                if (!(*q >= '0' && *q <= '9')) ok = false;
                while (*q >= '0' && *q <= '9') q++;
            }
            if (ok && (*q == 'e' || *q == 'E')) {
                q++;
                if (*q == '+' || *q == '-') q++;
                if (!(*q >= '0' && *q <= '9')) ok = false;
                while (*q >= '0' && *q <= '9') q++;
            }
            if (ok && !*q) {
                d = strtod(s, NULL);
                if (isfinite(d)) return jv_num(c, d);
            }
        }
        jx_throw(c, HS_JSONATA_EINVAL, "D3030", c->err->position, "Unable to cast value to a number: %s", s);
    }
    jf_argerr(c, 1, "number");
    return NULL;
}

static jv *mathfn(jctx *c, jv **a, const char *fname, double (*f)(double)) {
    double x;
    if (!jf_num(c, a, 0, fname, &x)) return NULL;
    double r = f(x);
    if (r == 0) r = 0; /* no -0 */
    return jv_num(c, r);
}
FN(f_abs) {
    UNUSED;
    return mathfn(c, a, "abs", fabs);
}
FN(f_floor) {
    UNUSED;
    return mathfn(c, a, "floor", floor);
}
FN(f_ceil) {
    UNUSED;
    return mathfn(c, a, "ceil", ceil);
}
FN(f_sqrt) {
    UNUSED;
    double x;
    if (!jf_num(c, a, 0, "sqrt", &x)) return NULL;
    if (x < 0)
        jx_throw(c, HS_JSONATA_EINVAL, "D3060", c->err->position,
                 "The sqrt function cannot be applied to a negative number");
    return jv_num(c, sqrt(x));
}
FN(f_power) {
    UNUSED;
    double x, y;
    bool hx = jf_num(c, a, 0, "power", &x);
    if (!a[1]) jf_argerr(c, 2, "power");
    jf_num(c, a, 1, "power", &y);
    if (!hx) return NULL;
    double r = pow(x, y);
    if (!isfinite(r))
        jx_throw(c, HS_JSONATA_EINVAL, "D3061", c->err->position,
                 "The power function has resulted in a value that cannot be represented as a JSON number");
    return jv_num(c, r);
}

static double shift10(double x, int p) {
    char buf[64], tmp[80];
    jx_fmt_num(x, buf, sizeof buf);
    char *e = strchr(buf, 'e');
    int ex = p;
    if (e) {
        ex += (int)strtol(e + 1, NULL, 10);
        *e = 0;
    }
    snprintf(tmp, sizeof tmp, "%se%d", buf, ex);
    return strtod(tmp, NULL);
}

FN(f_round) {
    UNUSED;
    double x, pr = 0;
    if (!jf_num(c, a, 0, "round", &x)) return NULL;
    jf_num(c, a, 1, "round", &pr);
    if (!(pr > -400 && pr < 400)) pr = pr > 0 ? 400 : -400;
    int p = (int)pr;
    if (p) x = shift10(x, p);
    double r = floor(x + 0.5);
    if (fabs(r - x) == 0.5 && fmod(fabs(r), 2) == 1) r -= 1;
    if (p) r = shift10(r, -p);
    if (r == 0) r = 0;
    return jv_num(c, r);
}

static jv *numarr(jctx *c, jv *v, const char *fname) {
    jv *arr = jf_arr(c, v);
    if (!arr) return NULL;
    for (size_t i = 0; i < arr->u.a.n; i++)
        if (arr->u.a.v[i]->t != JV_NUM)
            jx_throw(c, HS_JSONATA_EINVAL, "T0412", c->err->position,
                     "Argument 1 of function \"%s\" must be an array of numbers", fname);
    return arr;
}
FN(f_sum) {
    UNUSED;
    jv *arr = numarr(c, a[0], "sum");
    if (!arr) return NULL;
    double s = 0;
    for (size_t i = 0; i < arr->u.a.n; i++) s += arr->u.a.v[i]->u.n;
    return jv_num(c, s);
}
FN(f_average) {
    UNUSED;
    jv *arr = numarr(c, a[0], "average");
    if (!arr || !arr->u.a.n) return NULL;
    double s = 0;
    for (size_t i = 0; i < arr->u.a.n; i++) s += arr->u.a.v[i]->u.n;
    return jv_num(c, s / (double)arr->u.a.n);
}
static jv *minmax(jctx *c, jv *v, bool mx, const char *fname) {
    jv *arr = numarr(c, v, fname);
    if (!arr || !arr->u.a.n) return NULL;
    double r = arr->u.a.v[0]->u.n;
    for (size_t i = 1; i < arr->u.a.n; i++) {
        double x = arr->u.a.v[i]->u.n;
        if (mx ? x > r : x < r) r = x;
    }
    return jv_num(c, r);
}
FN(f_max) {
    UNUSED;
    return minmax(c, a[0], true, "max");
}
FN(f_min) {
    UNUSED;
    return minmax(c, a[0], false, "min");
}
FN(f_count) {
    UNUSED;
    jv *arr = jf_arr(c, a[0]);
    return jv_num(c, arr ? (double)arr->u.a.n : 0);
}

/* ---- booleans / types ---- */
FN(f_boolean) {
    UNUSED;
    if (!a[0]) return NULL;
    return jv_bool(c, jv_truthy(a[0]));
}
FN(f_not) {
    UNUSED;
    if (!a[0]) return NULL;
    return jv_bool(c, !jv_truthy(a[0]));
}
FN(f_exists) {
    UNUSED;
    return jv_bool(c, a[0] != NULL);
}
FN(f_type) {
    UNUSED;
    if (!a[0]) return NULL;
    static const char *names[] = {"null",   "boolean",  "number",   "string",   "array",
                                  "object", "function", "function", "function", "function"};
    return jv_cstr(c, names[a[0]->t]);
}

/* ---- objects ---- */
FN(f_keys) {
    UNUSED;
    jv *v = a[0];
    if (!v) return NULL;
    jv *r = jv_seq(c);
    jv *arr = v->t == JV_ARR ? v : NULL;
    size_t cnt = arr ? arr->u.a.n : 1;
    for (size_t i = 0; i < cnt; i++) {
        jv *o = arr ? arr->u.a.v[i] : v;
        if (o->t != JV_OBJ) continue;
        for (size_t k = 0; k < o->u.o.n; k++) {
            bool dup = false;
            for (size_t q = 0; q < r->u.a.n && !dup; q++)
                if (!strcmp(r->u.a.v[q]->u.s.p, o->u.o.k[k])) dup = true;
            if (!dup) jv_push(c, r, jv_cstr(c, o->u.o.k[k]));
        }
    }
    if (!r->u.a.n) return NULL;
    return r;
}

static jv *lookup_any(jctx *c, jv *v, const char *k) {
    if (!v) return NULL;
    if (v->t == JV_ARR) {
        jv *r = jv_seq(c);
        for (size_t i = 0; i < v->u.a.n; i++) {
            jv *x = lookup_any(c, v->u.a.v[i], k);
            if (!x) continue;
            if (x->t == JV_ARR)
                for (size_t q = 0; q < x->u.a.n; q++) jv_push(c, r, x->u.a.v[q]);
            else
                jv_push(c, r, x);
        }
        if (!r->u.a.n) return NULL;
        if (r->u.a.n == 1) return r->u.a.v[0];
        return r;
    }
    return jv_get(v, k);
}
FN(f_lookup) {
    UNUSED;
    const jv *k = jf_str(c, a, 1, "lookup");
    if (!k) jf_argerr(c, 2, "lookup");
    return lookup_any(c, a[0], k->u.s.p);
}

FN(f_merge) {
    UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    jv *o = jv_obj(c);
    for (size_t i = 0; i < arr->u.a.n; i++) {
        jv *x = arr->u.a.v[i];
        if (x->t != JV_OBJ)
            jx_throw(c, HS_JSONATA_EINVAL, "T0412", c->err->position,
                     "Argument 1 of function \"merge\" must be an array of objects");
        for (size_t k = 0; k < x->u.o.n; k++) jv_set(c, o, x->u.o.k[k], x->u.o.v[k]);
    }
    return o;
}

FN(f_spread) {
    UNUSED;
    jv *v = a[0];
    if (!v) return NULL;
    if (jv_isfunc(v)) return v;
    jv *r = jv_seq(c);
    jv *arr = jf_arr(c, v);
    for (size_t i = 0; i < arr->u.a.n; i++) {
        jv *o = arr->u.a.v[i];
        if (o->t != JV_OBJ) {
            jv_push(c, r, o);
            continue;
        }
        for (size_t k = 0; k < o->u.o.n; k++) {
            jv *one = jv_obj(c);
            jv_set(c, one, o->u.o.k[k], o->u.o.v[k]);
            jv_push(c, r, one);
        }
    }
    return r;
}

FN(f_each) {
    UNUSED;
    jv *o = a[0];
    if (!o) return NULL;
    if (o->t != JV_OBJ) jf_argerr(c, 1, "each");
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "each");
    jv *r = jv_seq(c);
    for (size_t k = 0; k < o->u.o.n; k++) {
        jv *x = jf_call(c, a[1], o->u.o.v[k], jv_cstr(c, o->u.o.k[k]), o, NULL);
        if (x) jv_push(c, r, x);
    }
    return r;
}

FN(f_sift) {
    UNUSED;
    jv *o = a[0];
    if (!o) return NULL;
    if (o->t != JV_OBJ) jf_argerr(c, 1, "sift");
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "sift");
    jv *r = jv_obj(c);
    for (size_t k = 0; k < o->u.o.n; k++)
        if (jv_truthy(jf_call(c, a[1], o->u.o.v[k], jv_cstr(c, o->u.o.k[k]), o, NULL)))
            jv_set(c, r, o->u.o.k[k], o->u.o.v[k]);
    if (!r->u.o.n) return NULL;
    return r;
}

/* ---- arrays ---- */
FN(f_append) {
    UNUSED;
    return jx_append(c, a[0], a[1]);
}

FN(f_reverse) {
    UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    jv *r = jv_arr(c);
    for (size_t i = arr->u.a.n; i > 0; i--) jv_push(c, r, arr->u.a.v[i - 1]);
    return r;
}

FN(f_distinct) {
    UNUSED;
    jv *v = a[0];
    if (!v) return NULL;
    if (v->t != JV_ARR || v->u.a.n <= 1) return v;
    jv *r = v->u.a.seq ? jv_seq(c) : jv_arr(c);
    for (size_t i = 0; i < v->u.a.n; i++) {
        bool dup = false;
        for (size_t k = 0; k < r->u.a.n && !dup; k++)
            if (jv_equal(r->u.a.v[k], v->u.a.v[i])) dup = true;
        if (!dup) jv_push(c, r, v->u.a.v[i]);
    }
    return r;
}

FN(f_zip) {
    UNUSED;
    jv *r = jv_arr(c);
    if (n == 0) return r;
    size_t len = (size_t)-1;
    for (int i = 0; i < n; i++) {
        if (!a[i]) return r;
        jv *x = jf_arr(c, a[i]);
        a[i] = x;
        if (x->u.a.n < len) len = x->u.a.n;
    }
    for (size_t k = 0; k < len; k++) {
        jv *t = jv_arr(c);
        for (int i = 0; i < n; i++) jv_push(c, t, a[i]->u.a.v[k]);
        jv_push(c, r, t);
    }
    return r;
}

FN(f_map) {
    UNUSED;
    jv *arr = jf_arr(c, a[0]);
    if (!arr) return NULL;
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "map");
    jv *r = jv_seq(c);
    for (size_t i = 0; i < arr->u.a.n; i++) {
        jv *x = jf_call(c, a[1], arr->u.a.v[i], jv_num(c, (double)i), arr, NULL);
        if (x) jv_push(c, r, x);
    }
    return r;
}

FN(f_filter) {
    UNUSED;
    jv *arr = jf_arr(c, a[0]);
    if (!arr) return NULL;
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "filter");
    jv *r = jv_seq(c);
    for (size_t i = 0; i < arr->u.a.n; i++)
        if (jv_truthy(jf_call(c, a[1], arr->u.a.v[i], jv_num(c, (double)i), arr, NULL))) jv_push(c, r, arr->u.a.v[i]);
    return r;
}

FN(f_single) {
    UNUSED;
    jv *arr = jf_arr(c, a[0]);
    if (!arr) return NULL;
    jv *found = NULL;
    bool have = false;
    for (size_t i = 0; i < arr->u.a.n; i++) {
        bool ok = !a[1] || jv_truthy(jf_call(c, a[1], arr->u.a.v[i], jv_num(c, (double)i), arr, NULL));
        if (!ok) continue;
        if (have)
            jx_throw(c, HS_JSONATA_EINVAL, "D3138", c->err->position,
                     "The $single() function expected exactly 1 matching result.  Instead it matched more.");
        found = arr->u.a.v[i];
        have = true;
    }
    if (!have)
        jx_throw(c, HS_JSONATA_EINVAL, "D3139", c->err->position,
                 "The $single() function expected exactly 1 matching result.  Instead it matched 0.");
    return found;
}

FN(f_reduce) {
    UNUSED;
    jv *arr = jf_arr(c, a[0]);
    if (!arr) return NULL;
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "reduce");
    int ar = jx_fn_arity(a[1]);
    if (ar < 2)
        jx_throw(c, HS_JSONATA_EINVAL, "D3050", c->err->position,
                 "The second argument of reduce function must be a function with at least two arguments");
    size_t i = 0;
    jv *acc = a[2];
    if (!acc && arr->u.a.n) acc = arr->u.a.v[i++];
    for (; i < arr->u.a.n; i++) acc = jf_call(c, a[1], acc, arr->u.a.v[i], jv_num(c, (double)i), arr);
    return acc;
}

static int default_cmp(jctx *c, jv *x, jv *y, void *ud) {
    (void)c;
    (void)ud;
    if (x->t == JV_NUM) return x->u.n < y->u.n ? -1 : x->u.n > y->u.n ? 1 : 0;
    return strcmp(x->u.s.p, y->u.s.p);
}
static int fn_cmp(jctx *c, jv *x, jv *y, void *ud) {
    jv *fn = ud;
    jv *args[2] = {x, y};
    return jv_truthy(jx_apply(c, fn, args, 2, NULL, c->err->position)) ? 1 : 0;
}
void jx_sort(jctx *c, jv **v, size_t n, int (*cmp)(jctx *, jv *, jv *, void *), void *ud);

FN(f_sort) {
    UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    jv *r = jv_arr(c);
    for (size_t i = 0; i < arr->u.a.n; i++) jv_push(c, r, arr->u.a.v[i]);
    if (r->u.a.n <= 1) return r;
    if (a[1]) {
        if (!jv_isfunc(a[1])) jf_argerr(c, 2, "sort");
        jx_sort(c, r->u.a.v, r->u.a.n, fn_cmp, a[1]);
    } else {
        int t = r->u.a.v[0]->t;
        for (size_t i = 0; i < r->u.a.n; i++)
            if (r->u.a.v[i]->t != t || (t != JV_NUM && t != JV_STR))
                jx_throw(c, HS_JSONATA_EINVAL, "D3070", c->err->position,
                         "The single argument form of the sort function can only be applied to an array of strings or "
                         "an array of numbers.  Use the second argument to specify a comparison function");
        jx_sort(c, r->u.a.v, r->u.a.n, default_cmp, NULL);
    }
    return r;
}

FN(f_shuffle) {
    UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    jv *r = jv_arr(c);
    for (size_t i = 0; i < arr->u.a.n; i++) jv_push(c, r, arr->u.a.v[i]);
    for (size_t i = r->u.a.n; i > 1; i--) {
        size_t j = (size_t)(jf_random01() * (double)i);
        jv *t = r->u.a.v[i - 1];
        r->u.a.v[i - 1] = r->u.a.v[j];
        r->u.a.v[j] = t;
    }
    return r;
}

static const jbuiltin builtins1[] = {
    {"string", f_string, 1, 2, 1, NULL},
    {"length", f_length, 1, 1, 1, NULL},
    {"substring", f_substring, 2, 3, 1, NULL},
    {"substringBefore", f_substringBefore, 2, 2, 1, NULL},
    {"substringAfter", f_substringAfter, 2, 2, 1, NULL},
    {"uppercase", f_uppercase, 1, 1, 1, NULL},
    {"lowercase", f_lowercase, 1, 1, 1, NULL},
    {"trim", f_trim, 1, 1, 1, NULL},
    {"pad", f_pad, 2, 3, 1, NULL},
    {"contains", f_contains, 2, 2, 1, NULL},
    {"split", f_split, 2, 3, 1, NULL},
    {"match", f_match, 2, 3, 1, NULL},
    {"join", f_join, 1, 2, 0, NULL},
    {"replace", f_replace, 3, 4, 1, NULL},
    {"number", f_number, 1, 1, 1, NULL},
    {"abs", f_abs, 1, 1, 1, NULL},
    {"floor", f_floor, 1, 1, 1, NULL},
    {"ceil", f_ceil, 1, 1, 1, NULL},
    {"sqrt", f_sqrt, 1, 1, 1, NULL},
    {"power", f_power, 2, 2, 1, NULL},
    {"round", f_round, 1, 2, 1, NULL},
    {"sum", f_sum, 1, 1, 0, NULL},
    {"average", f_average, 1, 1, 0, NULL},
    {"max", f_max, 1, 1, 0, NULL},
    {"min", f_min, 1, 1, 0, NULL},
    {"count", f_count, 1, 1, 0, NULL},
    {"boolean", f_boolean, 1, 1, 1, NULL},
    {"not", f_not, 1, 1, 1, NULL},
    {"exists", f_exists, 1, 1, 0, NULL},
    {"type", f_type, 1, 1, 0, NULL},
    {"keys", f_keys, 1, 1, 1, NULL},
    {"lookup", f_lookup, 2, 2, 1, NULL},
    {"merge", f_merge, 1, 1, 0, NULL},
    {"spread", f_spread, 1, 1, 1, NULL},
    {"each", f_each, 2, 2, 1, NULL},
    {"sift", f_sift, 2, 2, 1, NULL},
    {"append", f_append, 2, 2, 0, NULL},
    {"reverse", f_reverse, 1, 1, 0, NULL},
    {"distinct", f_distinct, 1, 1, 0, NULL},
    {"zip", f_zip, 0, -1, 0, NULL},
    {"map", f_map, 2, 2, 0, NULL},
    {"filter", f_filter, 2, 2, 0, NULL},
    {"single", f_single, 1, 2, 0, NULL},
    {"reduce", f_reduce, 2, 3, 0, NULL},
    {"sort", f_sort, 1, 2, 0, NULL},
    {"shuffle", f_shuffle, 1, 1, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL},
};

const jbuiltin *jx_builtin_find(const char *name) {
    for (const jbuiltin *b = builtins1; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return jf_builtin_find2(name);
}
