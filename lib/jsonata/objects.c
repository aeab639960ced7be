/* lib/jsonata/objects.c — JSONata boolean and object functions: $boolean,
 * $not, $exists, $keys, $lookup, $spread, $merge, $sift, $each, $error,
 * $assert, $type. */
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

JF_FN(jf_boolean) {
    JF_UNUSED;
    if (!a[0]) return NULL;
    return jv_bool(c, jv_truthy(a[0]));
}

JF_FN(jf_not) {
    JF_UNUSED;
    if (!a[0]) return NULL;
    return jv_bool(c, !jv_truthy(a[0]));
}

JF_FN(jf_exists) {
    JF_UNUSED;
    return jv_bool(c, a[0] != NULL);
}

JF_FN(jf_keys) {
    JF_UNUSED;
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

JF_FN(jf_lookup) {
    JF_UNUSED;
    const jv *k = jf_str(c, a, 1, "lookup");
    if (!k) jf_argerr(c, 2, "lookup");
    return lookup_any(c, a[0], k->u.s.p);
}

JF_FN(jf_spread) {
    JF_UNUSED;
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

JF_FN(jf_merge) {
    JF_UNUSED;
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

JF_FN(jf_sift) {
    JF_UNUSED;
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

JF_FN(jf_each) {
    JF_UNUSED;
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

JF_FN(jf_error) {
    JF_UNUSED;
    const jv *m = jf_str(c, a, 0, "error");
    jx_throw(c, HS_JSONATA_EINVAL, "D3137", c->err->position, "%s", m ? m->u.s.p : "$error() function evaluated");
}

JF_FN(jf_assert) {
    JF_UNUSED;
    if (!a[0] || a[0]->t != JV_BOOL) jf_argerr(c, 1, "assert");
    const jv *m = jf_str(c, a, 1, "assert");
    if (!a[0]->u.b)
        jx_throw(c, HS_JSONATA_EINVAL, "D3141", c->err->position, "%s", m ? m->u.s.p : "$assert() statement failed");
    return NULL;
}

JF_FN(jf_type) {
    JF_UNUSED;
    if (!a[0]) return NULL;
    static const char *names[] = {"null",   "boolean",  "number",   "string",   "array",
                                  "object", "function", "function", "function", "function"};
    return jv_cstr(c, names[a[0]->t]);
}
