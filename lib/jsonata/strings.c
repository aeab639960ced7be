/* lib/jsonata/strings.c — JSONata string functions: $string, $length,
 * $substring*, $uppercase/$lowercase, $trim, $pad, $contains, $split, $join,
 * $match, $replace (the regex work is lib/jsonata/regex.c) and $eval. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

JF_FN(jf_string) {
    JF_UNUSED;
    if (!a[0]) return NULL;
    if (n > 1 && a[1] && a[1]->t != JV_BOOL) jf_argerr(c, 2, "string");
    return jx_stringify(c, a[0], n > 1 && jv_truthy(a[1]));
}

JF_FN(jf_length) {
    JF_UNUSED;
    const jv *s = jf_str(c, a, 0, "length");
    if (!s) return NULL;
    return jv_num(c, (double)jf_cplen(s->u.s.p, s->u.s.len));
}

JF_FN(jf_substring) {
    JF_UNUSED;
    const jv *s = jf_str(c, a, 0, "substring");
    double start, len = 0;
    if (!a[1] || a[1]->t != JV_NUM) jf_argerr(c, 2, "substring");
    if (a[2] && a[2]->t != JV_NUM) jf_argerr(c, 3, "substring");
    if (!s) return NULL;
    jf_num(c, a, 1, "substring", &start);
    bool haslen = jf_num(c, a, 2, "substring", &len);
    double total = (double)jf_cplen(s->u.s.p, s->u.s.len);
    /* as JSONata's slice of code points: a NaN start is 0, a NaN length
     * takes nothing (fuzzing: a NaN cast to size_t) */
    if (isnan(start)) start = 0;
    if (haslen && isnan(len)) return jv_cstr(c, "");
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

JF_FN(jf_substringBefore) {
    JF_UNUSED;
    return substr_ba(c, a, true, "substringBefore");
}

JF_FN(jf_substringAfter) {
    JF_UNUSED;
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

JF_FN(jf_uppercase) {
    JF_UNUSED;
    return casefn(c, a, true, "uppercase");
}

JF_FN(jf_lowercase) {
    JF_UNUSED;
    return casefn(c, a, false, "lowercase");
}

JF_FN(jf_trim) {
    JF_UNUSED;
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

JF_FN(jf_pad) {
    JF_UNUSED;
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
    /* whole copies of the pad string, then the code points that still fit:
     * linear in the output, which the memory limit bounds (a code point at a
     * time cost the pad's length per character: seconds past the time limit) */
    size_t need = (size_t)aw - len, start = jf_cpoff(pc, pclen, 0);
    jsb pad = {.c = c};
    for (size_t k = need / pccp; k > 0; k--) jsb_put(&pad, pc + start, pclen - start);
    jsb_put(&pad, pc + start, jf_cpoff(pc, pclen, need % pccp) - start);
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

JF_FN(jf_contains) {
    JF_UNUSED;
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

JF_FN(jf_split) {
    JF_UNUSED;
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

JF_FN(jf_join) {
    JF_UNUSED;
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

JF_FN(jf_match) {
    JF_UNUSED;
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

JF_FN(jf_replace) {
    JF_UNUSED;
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

/* evaluate root, turning evaluation errors into D3121; limits propagate */
static jv *eval_guarded(jctx *c, jnode *root_in, jv *ctx_in) {
    jnode *volatile root = root_in;
    jv *volatile ctx = ctx_in;
    jmp_buf saved;
    memcpy(saved, c->jb, sizeof saved);
    volatile int depth = c->depth;
    if (setjmp(c->jb)) {
        memcpy(c->jb, saved, sizeof saved);
        c->depth = depth;
        if (c->rc == HS_JSONATA_EINVAL) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", c->err->message);
            jx_throw(c, HS_JSONATA_EINVAL, "D3121", c->err->position,
                     "Dynamic error evaluating the expression passed to function eval: %.150s", msg);
        }
        longjmp(c->jb, 1);
    }
    jv *r = jx_eval(c, root, ctx, c->global);
    memcpy(c->jb, saved, sizeof saved);
    return r;
}

JF_FN(jf_eval) {
    JF_UNUSED;
    const jv *s = jf_str(c, a, 0, "eval");
    if (!s) return NULL;
    jparse_err pe = {{0}, -1, {0}};
    size_t lim = c->arena.limit;
    jnode *root = jx_parse(&c->arena, s->u.s.p, &pe);
    c->arena.limit = lim;
    if (!root)
        jx_throw(c, HS_JSONATA_EINVAL, "D3120", c->err->position,
                 "Syntax error in expression passed to function eval: %s", pe.msg);
    return eval_guarded(c, root, n > 1 && a[1] ? a[1] : input);
}
