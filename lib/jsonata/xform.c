/* lib/jsonata/xform.c — function values built by the evaluator: transforms
 * (| location | update [, delete] |) and function composition ($f ~> $g). */
#include <string.h>

#include "jsonata/jsonata_int.h"

static jv *seq_of(jctx *c, jv *v) {
    jv *s = jv_seq(c);
    if (v) jv_push(c, s, v);
    return s;
}

/* a function value that calls bi(x, h1, h2): a partial with one placeholder */
static jv *make_hidden2(jctx *c, const jbuiltin *b, jv *h1, jv *h2) {
    jv *bi = ja_alloc(&c->arena, sizeof *bi);
    bi->t = JV_BUILTIN;
    bi->u.bi = b;
    jv *p = ja_alloc(&c->arena, sizeof *p);
    p->t = JV_PARTIAL;
    p->u.p.fn = bi;
    p->u.p.n = h2 ? 3 : 2;
    p->u.p.args = ja_alloc(&c->arena, sizeof(jv *) * 3);
    p->u.p.args[0] = &jx_placeholder;
    p->u.p.args[1] = h1;
    p->u.p.args[2] = h2;
    return p;
}

static jv *compose_fn(jctx *c, jv **args, int n, jv *input) {
    (void)n;
    jv *a1[2] = {args[0], NULL};
    jv *mid = jx_apply(c, args[1], a1, 1, input, c->err->position);
    jv *a2[2] = {mid, NULL};
    return jx_apply(c, args[2], a2, 1, input, c->err->position);
}
static const jbuiltin compose_bi = {"compose", compose_fn, 3, 3, 0, NULL};

jv *jx_compose(jctx *c, jv *f, jv *g) { return make_hidden2(c, &compose_bi, f, g); }

/* ---- transform: | location | update [, delete] | ---- */
static jv *deep_copy(jctx *c, jv *v) {
    if (!v) return NULL;
    if (v->t == JV_ARR) {
        jv *a = jv_arr(c);
        *a = *v;
        a->u.a.v = NULL;
        a->u.a.n = a->u.a.cap = 0;
        for (size_t i = 0; i < v->u.a.n; i++) jv_push(c, a, deep_copy(c, v->u.a.v[i]));
        return a;
    }
    if (v->t == JV_OBJ) {
        jv *o = jv_obj(c);
        for (size_t i = 0; i < v->u.o.n; i++) jv_set(c, o, v->u.o.k[i], deep_copy(c, v->u.o.v[i]));
        return o;
    }
    return v;
}

static jv *transform_fn(jctx *c, jv **args, int n, jv *input);
static const jbuiltin transform_bi = {"transform", transform_fn, 2, 2, 0, NULL};
typedef struct jtransform {
    jnode *node;
    jenv *env;
} jtransform;

/* a transform evaluates to a function: a partial application of an internal
 * builtin whose hidden second argument carries the node and environment */
jv *jx_eval_transform(jctx *c, jnode *n, jenv *env) {
    jtransform *t = ja_alloc(&c->arena, sizeof *t);
    t->node = n;
    t->env = env;
    jv *hidden = ja_alloc(&c->arena, sizeof *hidden);
    hidden->t = JV_HIDDEN; /* opaque carrier, never visible to expressions */
    hidden->u.f.node = (jnode *)t;
    jv *bi = ja_alloc(&c->arena, sizeof *bi);
    bi->t = JV_BUILTIN;
    bi->u.bi = &transform_bi;
    jv *p = ja_alloc(&c->arena, sizeof *p);
    p->t = JV_PARTIAL;
    p->u.p.fn = bi;
    p->u.p.n = 2;
    p->u.p.args = ja_alloc(&c->arena, sizeof(jv *) * 2);
    p->u.p.args[0] = &jx_placeholder;
    p->u.p.args[1] = hidden;
    return p;
}

static jv *transform_fn(jctx *c, jv **args, int n, jv *input) {
    (void)input;
    if (n < 2 || !args[1] || args[1]->t != JV_HIDDEN) return NULL;
    jtransform *t = (jtransform *)args[1]->u.f.node;
    jv *obj = args[0];
    if (!obj) return NULL;
    if (obj->t != JV_OBJ && obj->t != JV_ARR && !jv_isfunc(obj))
        jx_throw(c, HS_JSONATA_EINVAL, "T0410", t->node->pos, "Argument 1 of transform must be an object or array");
    jv *res = deep_copy(c, obj);
    jv *matches = jx_eval(c, t->node->lhs, res, t->env);
    if (!matches) return res;
    if (matches->t != JV_ARR) matches = seq_of(c, matches);
    for (size_t i = 0; i < matches->u.a.n; i++) {
        jv *m = matches->u.a.v[i];
        if (m->t != JV_OBJ) continue;
        jv *upd = jx_eval(c, t->node->rhs, m, t->env);
        if (upd) {
            if (upd->t != JV_OBJ)
                jx_throw(c, HS_JSONATA_EINVAL, "T2011", t->node->rhs->pos,
                         "The insert/update clause of the transform expression must evaluate to an object");
            for (size_t k = 0; k < upd->u.o.n; k++) jv_set(c, m, upd->u.o.k[k], upd->u.o.v[k]);
        }
        if (t->node->els) {
            jv *del = jx_eval(c, t->node->els, m, t->env);
            if (del) {
                if (del->t != JV_ARR) del = seq_of(c, del);
                for (size_t k = 0; k < del->u.a.n; k++) {
                    jv *key = del->u.a.v[k];
                    if (key->t != JV_STR)
                        jx_throw(c, HS_JSONATA_EINVAL, "T2012", t->node->els->pos,
                                 "The delete clause of the transform expression must evaluate to a string or array of "
                                 "strings");
                    for (size_t q = 0; q < m->u.o.n; q++)
                        if (!strcmp(m->u.o.k[q], key->u.s.p)) {
                            memmove(m->u.o.k + q, m->u.o.k + q + 1, sizeof(char *) * (m->u.o.n - q - 1));
                            memmove(m->u.o.v + q, m->u.o.v + q + 1, sizeof(jv *) * (m->u.o.n - q - 1));
                            m->u.o.n--;
                            break;
                        }
                }
            }
        }
    }
    return res;
}
