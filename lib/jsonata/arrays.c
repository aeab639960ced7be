/* lib/jsonata/arrays.c — JSONata array and higher-order functions: $count,
 * $append, $sort, $reverse, $shuffle, $distinct, $zip, $map, $filter,
 * $single, $reduce. */
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

JF_FN(jf_count) {
    JF_UNUSED;
    jv *arr = jf_arr(c, a[0]);
    return jv_num(c, arr ? (double)arr->u.a.n : 0);
}

JF_FN(jf_append) {
    JF_UNUSED;
    return jx_append(c, a[0], a[1]);
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

JF_FN(jf_sort) {
    JF_UNUSED;
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

JF_FN(jf_reverse) {
    JF_UNUSED;
    if (!a[0]) return NULL;
    jv *arr = jf_arr(c, a[0]);
    jv *r = jv_arr(c);
    for (size_t i = arr->u.a.n; i > 0; i--) jv_push(c, r, arr->u.a.v[i - 1]);
    return r;
}

JF_FN(jf_shuffle) {
    JF_UNUSED;
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

JF_FN(jf_distinct) {
    JF_UNUSED;
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

JF_FN(jf_zip) {
    JF_UNUSED;
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

JF_FN(jf_map) {
    JF_UNUSED;
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

JF_FN(jf_filter) {
    JF_UNUSED;
    jv *arr = jf_arr(c, a[0]);
    if (!arr) return NULL;
    if (!jv_isfunc(a[1])) jf_argerr(c, 2, "filter");
    jv *r = jv_seq(c);
    for (size_t i = 0; i < arr->u.a.n; i++)
        if (jv_truthy(jf_call(c, a[1], arr->u.a.v[i], jv_num(c, (double)i), arr, NULL))) jv_push(c, r, arr->u.a.v[i]);
    return r;
}

JF_FN(jf_single) {
    JF_UNUSED;
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

JF_FN(jf_reduce) {
    JF_UNUSED;
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
