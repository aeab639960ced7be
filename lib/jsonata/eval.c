/* lib/jsonata/eval.c — the JSONata evaluator (paths, predicates, operators,
 * constructors, lambdas, calls) and the public entry points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

static jv *seq_of(jctx *c, jv *v) {
    jv *s = jv_seq(c);
    if (v) jv_push(c, s, v);
    return s;
}

/* ---- tuple streams (step@$var, step#$var) ---- */
static jenv *tuple_env(jctx *c, jenv *env, jv *t) {
    jenv *e = jx_env_new(c, env);
    for (size_t i = 0; i < t->u.o.n; i++)
        if (strcmp(t->u.o.k[i], "@")) jx_env_bind(c, e, t->u.o.k[i], t->u.o.v[i]);
    return e;
}
static jv *tuple_copy(jctx *c, jv *t) {
    jv *o = jv_obj(c);
    for (size_t i = 0; i < t->u.o.n; i++) jv_set(c, o, t->u.o.k[i], t->u.o.v[i]);
    return o;
}
static bool is_tuples(const jv *v) { return v && v->t == JV_ARR && v->u.a.tuples; }

static jv *eval_core(jctx *c, jnode *n, jv *input, jenv *env, bool preds);

static jv *lookup(jctx *c, jv *input, const char *key) {
    if (!input) return NULL;
    if (input->t == JV_ARR) {
        jv *r = jv_seq(c);
        for (size_t i = 0; i < input->u.a.n; i++) {
            jv *x = lookup(c, input->u.a.v[i], key);
            if (!x) continue;
            if (x->t == JV_ARR)
                for (size_t k = 0; k < x->u.a.n; k++) jv_push(c, r, x->u.a.v[k]);
            else
                jv_push(c, r, x);
        }
        return r;
    }
    if (input->t == JV_OBJ) return jv_get(input, key);
    return NULL;
}

static void flatten_into(jctx *c, jv *out, jv *v) {
    if (v->t == JV_ARR)
        for (size_t i = 0; i < v->u.a.n; i++) flatten_into(c, out, v->u.a.v[i]);
    else
        jv_push(c, out, v);
}

static jv *eval_wildcard(jctx *c, jv *input) {
    jv *r = jv_seq(c);
    if (!input) return r;
    if (input->t == JV_OBJ) {
        for (size_t i = 0; i < input->u.o.n; i++) flatten_into(c, r, input->u.o.v[i]);
    } else if (input->t == JV_ARR) {
        for (size_t i = 0; i < input->u.a.n; i++) flatten_into(c, r, input->u.a.v[i]);
    }
    return r;
}

static void descend(jctx *c, jv *v, jv *out) {
    jx_check(c);
    if (v->t != JV_ARR) jv_push(c, out, v);
    if (v->t == JV_ARR)
        for (size_t i = 0; i < v->u.a.n; i++) descend(c, v->u.a.v[i], out);
    else if (v->t == JV_OBJ)
        for (size_t i = 0; i < v->u.o.n; i++) descend(c, v->u.o.v[i], out);
}

static jv *eval_descendants(jctx *c, jv *input) {
    jv *r = jv_seq(c);
    if (input) descend(c, input, r);
    if (r->u.a.n == 1) return r->u.a.v[0];
    return r;
}

static bool is_int_num(const jv *v) { return v && v->t == JV_NUM && v->u.n == floor(v->u.n); }

static jv *eval_filter(jctx *c, jnode *pred, jv *input, jenv *env) {
    jv *res = jv_seq(c);
    if (!input) return res;
    if (input->t != JV_ARR) input = seq_of(c, input);
    bool tup = input->u.a.tuples;
    res->u.a.tuples = tup;
    size_t n = input->u.a.n;
    if (pred->t == N_NUM) {
        double idx = floor(pred->num);
        if (idx < 0) idx += (double)n;
        if (idx >= 0 && idx < (double)n) {
            jv *item = input->u.a.v[(size_t)idx];
            if (item->t == JV_ARR) return item;
            jv_push(c, res, item);
        }
        return res;
    }
    for (size_t i = 0; i < n; i++) {
        jv *item = input->u.a.v[i];
        jv *r = tup ? jx_eval(c, pred, jv_get(item, "@"), tuple_env(c, env, item)) : jx_eval(c, pred, item, env);
        if (r && r->t == JV_NUM) {
            double ii = floor(r->u.n);
            if (ii < 0) ii += (double)n;
            if (ii == (double)i) jv_push(c, res, item);
            continue;
        }
        if (r && r->t == JV_ARR && r->u.a.n > 0) {
            bool allnum = true;
            for (size_t k = 0; k < r->u.a.n; k++)
                if (r->u.a.v[k]->t != JV_NUM) allnum = false;
            if (allnum) {
                for (size_t k = 0; k < r->u.a.n; k++) {
                    double ii = floor(r->u.a.v[k]->u.n);
                    if (ii < 0) ii += (double)n;
                    if (ii == (double)i) jv_push(c, res, item);
                }
                continue;
            }
        }
        if (jv_truthy(r)) jv_push(c, res, item);
    }
    return res;
}

static jv *eval_group(jctx *c, jnode **pairs, int np, jv *input, jenv *env, int pos) {
    bool tup = is_tuples(input);
    jv *items = input;
    if (!items || items->t != JV_ARR) {
        items = jv_seq(c);
        jv_push(c, items, input); /* may be undefined: one pass */
    }
    size_t cap = 8, ng = 0;
    const char **keys = ja_alloc(&c->arena, sizeof(char *) * cap);
    jv **data = ja_alloc(&c->arena, sizeof(jv *) * cap);
    int *idx = ja_alloc(&c->arena, sizeof(int) * cap);
    size_t cnt = items->u.a.n ? items->u.a.n : 1;
    for (size_t i = 0; i < cnt; i++) {
        jv *item = items->u.a.n ? items->u.a.v[i] : NULL;
        if (!item) tup = false; /* an empty tuple stream groups like undefined */
        for (int p = 0; p < np; p += 2) {
            jv *key = tup ? jx_eval(c, pairs[p], jv_get(item, "@"), tuple_env(c, env, item))
                          : jx_eval(c, pairs[p], item, env);
            if (!key) continue;
            if (key->t != JV_STR)
                jx_throw(c, HS_JSONATA_EINVAL, "T1003", pairs[p]->pos,
                         "Key in object structure must evaluate to a string");
            size_t g;
            for (g = 0; g < ng; g++)
                if (!strcmp(keys[g], key->u.s.p)) break;
            if (g < ng) {
                if (idx[g] != p)
                    jx_throw(c, HS_JSONATA_EINVAL, "D1009", pos, "Multiple key definitions evaluate to same key: %s",
                             key->u.s.p);
                data[g] = jx_append(c, data[g], item);
            } else {
                if (ng == cap) {
                    cap *= 2;
                    const char **nk = ja_alloc(&c->arena, sizeof(char *) * cap);
                    jv **nd = ja_alloc(&c->arena, sizeof(jv *) * cap);
                    int *ni = ja_alloc(&c->arena, sizeof(int) * cap);
                    memcpy(nk, keys, sizeof(char *) * ng);
                    memcpy(nd, data, sizeof(jv *) * ng);
                    memcpy(ni, idx, sizeof(int) * ng);
                    keys = nk;
                    data = nd;
                    idx = ni;
                }
                keys[ng] = key->u.s.p;
                data[ng] = item;
                idx[ng++] = p;
            }
        }
    }
    jv *o = jv_obj(c);
    for (size_t g = 0; g < ng; g++) {
        jv *v;
        if (tup) {
            /* merge the group's tuples: each binding becomes the sequence of its values */
            jv *merged = jv_obj(c);
            jv *list = data[g]->t == JV_ARR ? data[g] : seq_of(c, data[g]);
            for (size_t t = 0; t < list->u.a.n; t++) {
                jv *tp = list->u.a.v[t];
                for (size_t k = 0; k < tp->u.o.n; k++)
                    jv_set(c, merged, tp->u.o.k[k], jx_append(c, jv_get(merged, tp->u.o.k[k]), tp->u.o.v[k]));
            }
            v = jx_eval(c, pairs[idx[g] + 1], jv_get(merged, "@"), tuple_env(c, env, merged));
        } else {
            v = jx_eval(c, pairs[idx[g] + 1], data[g], env);
        }
        if (v) jv_set(c, o, keys[g], v);
    }
    return o;
}

/* ---- sorting (stable merge sort with a comparator that may throw) ---- */
static void msort(jctx *c, jv **v, jv **tmp, size_t n, jcmp cmp, void *ud) {
    if (n < 2) return;
    size_t m = n / 2;
    msort(c, v, tmp, m, cmp, ud);
    msort(c, v + m, tmp, n - m, cmp, ud);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n) {
        if (cmp(c, v[i], v[j], ud) > 0)
            tmp[k++] = v[j++];
        else
            tmp[k++] = v[i++];
    }
    while (i < m) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, sizeof(jv *) * n);
}
void jx_sort(jctx *c, jv **v, size_t n, jcmp cmp, void *ud) {
    jv **tmp = ja_alloc(&c->arena, sizeof(jv *) * (n ? n : 1));
    msort(c, v, tmp, n, cmp, ud);
}

struct sortud {
    jnode *terms;
    jenv *env;
    bool tup;
};
static int sort_cmp(jctx *c, jv *a, jv *b, void *ud) {
    struct sortud *s = ud;
    for (int i = 0; i < s->terms->nitems; i++) {
        jv *x = s->tup ? jx_eval(c, s->terms->items[i], jv_get(a, "@"), tuple_env(c, s->env, a))
                       : jx_eval(c, s->terms->items[i], a, s->env);
        jv *y = s->tup ? jx_eval(c, s->terms->items[i], jv_get(b, "@"), tuple_env(c, s->env, b))
                       : jx_eval(c, s->terms->items[i], b, s->env);
        if (!x && !y) continue;
        if (!x) return 1;
        if (!y) return -1;
        if ((x->t == JV_NUM || x->t == JV_STR) && (y->t == JV_NUM || y->t == JV_STR) && x->t != y->t)
            jx_throw(c, HS_JSONATA_EINVAL, "T2007", s->terms->pos,
                     "Type mismatch when comparing values in order-by clause");
        if (!((x->t == JV_NUM || x->t == JV_STR) && x->t == y->t))
            jx_throw(c, HS_JSONATA_EINVAL, "T2008", s->terms->pos,
                     "The expressions within an order-by clause must evaluate to numeric or string values");
        int r;
        if (x->t == JV_NUM)
            r = x->u.n < y->u.n ? -1 : x->u.n > y->u.n ? 1 : 0;
        else
            r = strcmp(x->u.s.p, y->u.s.p);
        if (r == 0) continue;
        return s->terms->desc[i] ? -r : r;
    }
    return 0;
}

static jv *eval_sort(jctx *c, jnode *terms, jv *seq, jenv *env) {
    jv *r = jv_seq(c);
    for (size_t i = 0; i < seq->u.a.n; i++) jv_push(c, r, seq->u.a.v[i]);
    r->u.a.tuples = seq->u.a.tuples;
    struct sortud ud = {terms, env, seq->u.a.tuples};
    jx_sort(c, r->u.a.v, r->u.a.n, sort_cmp, &ud);
    return r;
}

static jv *eval_step(jctx *c, jnode *step, jv *seq, jenv *env, bool last, bool undef_input) {
    jv *res = jv_seq(c);
    if (undef_input) { /* a path over undefined still evaluates its first step once */
        jv *r = jx_eval(c, step, NULL, env);
        if (r) jv_push(c, res, r);
    }
    for (size_t i = 0; i < seq->u.a.n; i++) {
        jv *r = jx_eval(c, step, seq->u.a.v[i], env);
        if (r) jv_push(c, res, r);
    }
    if (last && res->u.a.n == 1 && res->u.a.v[0]->t == JV_ARR && !res->u.a.v[0]->u.a.seq) return res->u.a.v[0];
    jv *out = jv_seq(c);
    for (size_t i = 0; i < res->u.a.n; i++) {
        jv *r = res->u.a.v[i];
        if (r->t != JV_ARR || r->u.a.cons)
            jv_push(c, out, r);
        else
            for (size_t k = 0; k < r->u.a.n; k++) jv_push(c, out, r->u.a.v[k]);
    }
    return out;
}

static jv *eval_stages(jctx *c, jnode *step, jv *res, jenv *env) {
    for (int k = 0; k < step->npreds; k++) {
        jnode *f = step->preds[k];
        if (f->op == 1) {
            for (size_t i = 0; i < res->u.a.n; i++) jv_set(c, res->u.a.v[i], f->str, jv_num(c, (double)i));
        } else {
            res = eval_filter(c, f->lhs, res, env);
        }
    }
    return res;
}

static jv *eval_tuple_step(jctx *c, jnode *step, jv *input, jv *tb, jenv *env) {
    jv *result;
    if (step->t == N_SORT) {
        if (tb) {
            result = eval_sort(c, step, tb, env);
        } else {
            jv *sorted = eval_sort(c, step, input, env);
            result = jv_seq(c);
            result->u.a.tuples = 1;
            for (size_t i = 0; i < sorted->u.a.n; i++) {
                jv *t = jv_obj(c);
                jv_set(c, t, "@", sorted->u.a.v[i]);
                if (step->index_var) jv_set(c, t, step->index_var, jv_num(c, (double)i));
                jv_push(c, result, t);
            }
        }
        return eval_stages(c, step, result, env);
    }
    if (!tb) {
        tb = jv_seq(c);
        tb->u.a.tuples = 1;
        for (size_t i = 0; i < input->u.a.n; i++) {
            jv *t = jv_obj(c);
            jv_set(c, t, "@", input->u.a.v[i]);
            jv_push(c, tb, t);
        }
    }
    result = jv_seq(c);
    result->u.a.tuples = 1;
    for (size_t e = 0; e < tb->u.a.n; e++) {
        jv *t = tb->u.a.v[e];
        jv *res = eval_core(c, step, jv_get(t, "@"), tuple_env(c, env, t), false);
        if (!res) continue;
        if (res->t != JV_ARR) res = seq_of(c, res);
        for (size_t b = 0; b < res->u.a.n; b++) {
            jv *nt = tuple_copy(c, t);
            if (res->u.a.tuples) {
                jv *rt = res->u.a.v[b];
                for (size_t k = 0; k < rt->u.o.n; k++) jv_set(c, nt, rt->u.o.k[k], rt->u.o.v[k]);
            } else {
                if (step->focus) {
                    jv_set(c, nt, step->focus, res->u.a.v[b]);
                    jv_set(c, nt, "@", jv_get(t, "@"));
                } else {
                    jv_set(c, nt, "@", res->u.a.v[b]);
                }
                if (step->index_var) jv_set(c, nt, step->index_var, jv_num(c, (double)b));
                if (step->ancestor) jv_set(c, nt, step->ancestor->label, jv_get(t, "@"));
            }
            jv_push(c, result, nt);
        }
    }
    return eval_stages(c, step, result, env);
}

static jv *eval_path(jctx *c, jnode *n, jv *input, jenv *env) {
    jv *seq;
    if (input && input->t == JV_ARR && n->items[0]->t != N_VAR)
        seq = input;
    else
        seq = seq_of(c, input);
    jv *res = seq;
    bool tuple_mode = false;
    jv *tb = NULL;
    for (int i = 0; i < n->nitems; i++) {
        jnode *step = n->items[i];
        if (step->tuple) tuple_mode = true;
        if (i == 0 && step->cons_array && !step->tuple) {
            res = jx_eval(c, step, seq, env);
            if (res && res->t != JV_ARR) res = seq_of(c, res); /* e.g. a grouped constructor */
        } else if (tuple_mode) {
            if (!tb && seq->t != JV_ARR) seq = seq_of(c, seq);
            tb = eval_tuple_step(c, step, seq, tb, env);
            continue;
        } else if (step->t == N_SORT) {
            res = eval_sort(c, step, seq, env);
            for (int k = 0; k < step->npreds; k++) res = eval_filter(c, step->preds[k]->lhs, res, env);
        } else
            res = eval_step(c, step, seq, env, i == n->nitems - 1, i == 0 && !input);
        if (!res || res->u.a.n == 0) break;
        seq = res;
    }
    if (tuple_mode && n->tuple) return tb ? tb : jv_seq(c);
    if (tuple_mode) {
        res = jv_seq(c);
        for (size_t i = 0; tb && i < tb->u.a.n; i++) {
            jv *v = jv_get(tb->u.a.v[i], "@");
            if (v) jv_push(c, res, v);
        }
    }
    if (n->keep_singleton && res) { /* res is NULL when a first constructor step gave nothing */
        if (res->t == JV_ARR && res->u.a.cons && !res->u.a.seq)
            res = seq_of(c, res);
        else if (res->t == JV_ARR && !res->u.a.seq) {
            jv *s = jv_seq(c);
            for (size_t i = 0; i < res->u.a.n; i++) jv_push(c, s, res->u.a.v[i]);
            res = s;
        }
        res->u.a.keep = 1;
    }
    if (n->group) res = eval_group(c, n->group, n->ngroup, tuple_mode ? (tb ? tb : jv_seq(c)) : res, env, n->pos);
    return res;
}

static bool is_num(const jv *v) { return v && v->t == JV_NUM; }

static jv *eval_binary(jctx *c, jnode *n, jv *input, jenv *env) {
    int op = n->op;
    jv *l = jx_eval(c, n->lhs, input, env);
    if (op == OP_AND) return jv_bool(c, jv_truthy(l) && jv_truthy(jx_eval(c, n->rhs, input, env)));
    if (op == OP_OR) return jv_bool(c, jv_truthy(l) || jv_truthy(jx_eval(c, n->rhs, input, env)));
    if (op == OP_ELVIS) return jv_truthy(l) ? l : jx_eval(c, n->rhs, input, env);
    if (op == OP_COALESCE) return l ? l : jx_eval(c, n->rhs, input, env);
    jv *r = jx_eval(c, n->rhs, input, env);
    switch (op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD: {
        if (l && !is_num(l))
            jx_throw(c, HS_JSONATA_EINVAL, "T2001", n->pos,
                     "The left side of the arithmetic operator must evaluate to a number");
        if (r && !is_num(r))
            jx_throw(c, HS_JSONATA_EINVAL, "T2002", n->pos,
                     "The right side of the arithmetic operator must evaluate to a number");
        if (!l || !r) return NULL;
        double a = l->u.n, b = r->u.n, x;
        switch (op) {
        case OP_ADD: x = a + b; break;
        case OP_SUB: x = a - b; break;
        case OP_MUL: x = a * b; break;
        case OP_DIV: x = a / b; break;
        default: x = fmod(a, b); break;
        }
        return jv_num(c, x); /* may be infinite: $string and JSON output reject it */
    }
    case OP_EQ:
    case OP_NE: {
        if (!l || !r) return jv_bool(c, false);
        bool eq = jv_equal(l, r);
        return jv_bool(c, op == OP_EQ ? eq : !eq);
    }
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: {
        bool lc = !l || l->t == JV_NUM || l->t == JV_STR, rc = !r || r->t == JV_NUM || r->t == JV_STR;
        if (!lc || !rc)
            jx_throw(c, HS_JSONATA_EINVAL, "T2010", n->pos,
                     "The expressions either side of operator must evaluate to numeric or string values");
        if (!l || !r) return NULL;
        if (l->t != r->t)
            jx_throw(c, HS_JSONATA_EINVAL, "T2009", n->pos,
                     "The values either side of the operator must be of the same data type");
        int cmp;
        if (l->t == JV_NUM)
            cmp = l->u.n < r->u.n ? -1 : l->u.n > r->u.n ? 1 : 0;
        else
            cmp = strcmp(l->u.s.p, r->u.s.p);
        bool res = op == OP_LT ? cmp < 0 : op == OP_LE ? cmp <= 0 : op == OP_GT ? cmp > 0 : cmp >= 0;
        return jv_bool(c, res);
    }
    case OP_CONCAT: {
        jsb b = {.c = c};
        jv *ls = l ? jx_stringify(c, l, false) : NULL, *rs = r ? jx_stringify(c, r, false) : NULL;
        if (ls) jsb_put(&b, ls->u.s.p, ls->u.s.len);
        if (rs) jsb_put(&b, rs->u.s.p, rs->u.s.len);
        return jsb_done(&b);
    }
    case OP_IN: {
        if (!l || !r) return jv_bool(c, false);
        if (r->t != JV_ARR) return jv_bool(c, jv_equal(l, r));
        for (size_t i = 0; i < r->u.a.n; i++)
            if (jv_equal(l, r->u.a.v[i])) return jv_bool(c, true);
        return jv_bool(c, false);
    }
    case OP_RANGE: {
        if (l && !is_int_num(l))
            jx_throw(c, HS_JSONATA_EINVAL, "T2003", n->pos,
                     "The left side of the range operator (..) must evaluate to an integer");
        if (r && !is_int_num(r))
            jx_throw(c, HS_JSONATA_EINVAL, "T2004", n->pos,
                     "The right side of the range operator (..) must evaluate to an integer");
        if (!l || !r) return NULL;
        if (l->u.n > r->u.n) return NULL;
        double size = r->u.n - l->u.n + 1;
        if (size > 1e7)
            jx_throw(c, HS_JSONATA_EINVAL, "D2014", n->pos,
                     "The size of the sequence allocated by the range operator (..) must not exceed 1e7");
        jv *s = jv_seq(c);
        /* count in size_t: a bound like 1e300 does not fit a long (fuzzing: UB) */
        for (size_t k = 0; k < (size_t)size; k++) {
            if ((k & 1023) == 0) jx_check(c);
            jv_push(c, s, jv_num(c, l->u.n + (double)k));
        }
        return s;
    }
    default: break;
    }
    jx_throw(c, HS_JSONATA_EINVAL, "S0201", n->pos, "Unknown operator");
}

static jv *make_partial(jctx *c, jnode *n, jv *input, jenv *env) {
    jv *fn = jx_eval(c, n->lhs, input, env);
    if (!jv_isfunc(fn)) {
        if (n->lhs->t == N_PATH && n->lhs->nitems == 1 && n->lhs->items[0]->t == N_NAME &&
            jx_builtin_find(n->lhs->items[0]->str))
            jx_throw(c, HS_JSONATA_EINVAL, "T1007", n->pos,
                     "Attempted to partially apply a non-function. Did you mean $%s?", n->lhs->items[0]->str);
        jx_throw(c, HS_JSONATA_EINVAL, "T1008", n->pos, "Attempted to partially apply a non-function");
    }
    jv *p = ja_alloc(&c->arena, sizeof *p);
    p->t = JV_PARTIAL;
    p->u.p.fn = fn;
    p->u.p.n = n->nitems;
    p->u.p.args = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(n->nitems + 1));
    for (int i = 0; i < n->nitems; i++)
        p->u.p.args[i] = n->items[i]->t == N_PLACEHOLDER ? &jx_placeholder : jx_eval(c, n->items[i], input, env);
    return p;
}

static jv *no_args[1];
static jv **eval_args(jctx *c, jnode *call, jv *input, jenv *env, bool has_first, jv *first, int *nargs) {
    int off = has_first ? 1 : 0;
    if (!call->nitems && !off) {
        *nargs = 0;
        return no_args;
    }
    jv **args = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(call->nitems + off + 1));
    if (first) args[0] = first;
    for (int i = 0; i < call->nitems; i++) args[i + off] = jx_eval(c, call->items[i], input, env);
    *nargs = call->nitems + off;
    return args;
}

static jv *eval_proc(jctx *c, jnode *call, jv *input, jenv *env) {
    jv *fn = jx_eval(c, call->lhs, input, env);
    if (!jv_isfunc(fn)) {
        if (call->lhs->t == N_PATH && call->lhs->nitems == 1 && call->lhs->items[0]->t == N_NAME &&
            jx_builtin_find(call->lhs->items[0]->str))
            jx_throw(c, HS_JSONATA_EINVAL, "T1005", call->pos, "Attempted to invoke a non-function. Did you mean $%s?",
                     call->lhs->items[0]->str);
        jx_throw(c, HS_JSONATA_EINVAL, "T1006", call->pos, "Attempted to invoke a non-function");
    }
    return fn;
}

static unsigned type_bit(const jv *v) {
    switch (v->t) {
    case JV_NULL: return JT_L;
    case JV_BOOL: return JT_B;
    case JV_NUM: return JT_N;
    case JV_STR: return JT_S;
    case JV_ARR: return JT_A;
    case JV_OBJ: return JT_O;
    default: return JT_F;
    }
}

/* check (and array-wrap) arguments against a lambda signature */
static jv **check_signature(jctx *c, const jnode *lam, jv **args, int *n, int pos) {
    jv **out = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(*n + lam->nsig + 1));
    int ai = 0, oi = 0;
    for (int i = 0; i < lam->nsig; i++) {
        const jsigparam *sp = &lam->sig[i];
        int reps = 1;
        if (sp->plus) /* one or more: take arguments while they match */
            for (reps = 1; ai + reps < *n && args[ai + reps] && (sp->types & type_bit(args[ai + reps])); reps++)
                ;
        for (int r = 0; r < reps; r++) {
            if (ai >= *n) {
                if (!sp->opt && !sp->plus) out[oi++] = NULL;
                break;
            }
            jv *a = args[ai++];
            if (a) {
                if ((sp->types & JT_A) && a->t != JV_ARR && !(sp->types & type_bit(a))) {
                    jv *w = jv_arr(c);
                    jv_push(c, w, a);
                    a = w;
                }
                if (!(sp->types & type_bit(a)))
                    jx_throw(c, HS_JSONATA_EINVAL, "T0410", pos,
                             "Argument %d of function does not match function signature", ai);
                if (a->t == JV_ARR && sp->sub)
                    for (size_t k = 0; k < a->u.a.n; k++)
                        if (!(sp->sub & type_bit(a->u.a.v[k])))
                            jx_throw(c, HS_JSONATA_EINVAL, "T0412", pos,
                                     "Argument %d of function must be an array of the signature's type", ai);
            }
            out[oi++] = a;
        }
    }
    if (ai < *n) jx_throw(c, HS_JSONATA_EINVAL, "T0410", pos, "Too many arguments for the function signature");
    *n = oi;
    return out;
}

static bool plain(const jnode *b) { return !b->npreds && !b->group && !b->keep_array; }

static jv *finish_seq(jv *r) {
    if (r && r->t == JV_ARR && r->u.a.seq) {
        if (r->u.a.n == 0) return NULL;
        if (r->u.a.n == 1 && !r->u.a.keep) return r->u.a.v[0];
    }
    return r;
}

static jv *apply_lambda(jctx *c, jv *fn, jv **args, int n) {
    for (;;) {
        jnode *lam = fn->u.f.node;
        jenv *e = lam->nparams ? jx_env_new(c, fn->u.f.env) : fn->u.f.env;
        for (int i = 0; i < lam->nparams; i++) jx_env_bind(c, e, lam->params[i], i < n ? args[i] : NULL);
        jnode *body = lam->rhs;
        /* follow tail positions: condition branches and the last expression of a block */
        for (;;) {
            jx_check(c);
            if (body->t == N_COND && plain(body)) {
                body = jv_truthy(jx_eval(c, body->lhs, fn->u.f.input, e)) ? body->rhs : body->els;
                if (!body) return NULL;
                continue;
            }
            if (body->t == N_BLOCK && body->nitems > 0 && plain(body)) {
                e = jx_env_new(c, e);
                for (int i = 0; i + 1 < body->nitems; i++) jx_eval(c, body->items[i], fn->u.f.input, e);
                body = body->items[body->nitems - 1];
                continue;
            }
            break;
        }
        if (body->t == N_CALL && plain(body)) {
            /* tail call: evaluate the callee and its arguments here, then loop */
            jx_check(c);
            jv *next = eval_proc(c, body, fn->u.f.input, e);
            int nn;
            jv **na = eval_args(c, body, fn->u.f.input, e, false, NULL, &nn);
            if (next->t == JV_LAMBDA) {
                if (next->u.f.node->nsig) na = check_signature(c, next->u.f.node, na, &nn, body->pos);
                fn = next;
                args = na;
                n = nn;
                continue;
            }
            return finish_seq(jx_apply(c, next, na, nn, fn->u.f.input, body->pos));
        }
        return jx_eval(c, body, fn->u.f.input, e);
    }
}

jv *jx_apply(jctx *c, jv *fn, jv **args, int n, jv *input, int pos) {
    if (!jv_isfunc(fn)) jx_throw(c, HS_JSONATA_EINVAL, "T1006", pos, "Attempted to invoke a non-function");
    if (++c->depth > c->max_depth)
        jx_throw(c, HS_JSONATA_ELIMIT, "U1003", pos,
                 "Stack overflow error: Check for non-terminating recursive function");
    jv *r = NULL;
    if (fn->t == JV_LAMBDA) {
        if (fn->u.f.node->ctx_sig && n < fn->u.f.node->nparams) {
            /* context insertion happens before the signature check */
            jv **a2 = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(n + 2));
            a2[0] = input;
            for (int i = 0; i < n; i++) a2[i + 1] = args[i];
            args = a2;
            n++;
        }
        if (fn->u.f.node->nsig) args = check_signature(c, fn->u.f.node, args, &n, pos);
        r = apply_lambda(c, fn, args, n);
    } else if (fn->t == JV_REGEX) {
        jv *s = n > 0 ? args[0] : NULL;
        r = s && s->t == JV_STR ? jx_regex_match_obj(c, fn->u.re, s, 0, NULL) : NULL;
    } else if (fn->t == JV_BUILTIN) {
        const jbuiltin *bi = fn->u.bi;
        jv **a = args;
        int cnt = n;
        c->ctx_inserted = 0;
        if (n < bi->min && bi->ctx) {
            c->ctx_inserted = 1;
            a = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(n + 2));
            a[0] = input;
            for (int i = 0; i < n; i++) a[i + 1] = args[i];
            cnt = n + 1;
        }
        if (cnt < bi->min)
            jx_throw(c, HS_JSONATA_EINVAL, "T0410", pos, "Argument count mismatch for function $%s", bi->name);
        if (bi->max >= 0 && cnt > bi->max)
            jx_throw(c, HS_JSONATA_EINVAL, "T0410", pos, "Argument count mismatch for function $%s", bi->name);
        int total = bi->max >= 0 ? bi->max : cnt;
        if (total < cnt) total = cnt;
        jv **full = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(total + 1));
        for (int i = 0; i < cnt; i++) full[i] = a[i];
        c->err->position = pos;
        r = bi->fn(c, full, cnt, input);
    } else {
        int k = 0;
        jv **full = ja_alloc(&c->arena, sizeof(jv *) * (size_t)(fn->u.p.n + n + 1));
        int m = 0;
        for (int i = 0; i < fn->u.p.n; i++) {
            if (fn->u.p.args[i] == &jx_placeholder)
                full[m++] = k < n ? args[k++] : NULL;
            else
                full[m++] = fn->u.p.args[i];
        }
        r = jx_apply(c, fn->u.p.fn, full, m, input, pos);
    }
    c->depth--;
    return r;
}

jv *jx_eval(jctx *c, jnode *n, jv *input, jenv *env) { return eval_core(c, n, input, env, true); }

static jv *eval_core(jctx *c, jnode *n, jv *input, jenv *env, bool preds) {
    jx_check(c);
    if (++c->depth > c->max_depth)
        jx_throw(c, HS_JSONATA_ELIMIT, "U1003", n->pos,
                 "Stack overflow error: Check for non-terminating recursive function");
    jv *r = NULL;
    switch (n->t) {
    case N_PATH: r = eval_path(c, n, input, env); break;
    case N_BIN: r = eval_binary(c, n, input, env); break;
    case N_NEG:
        r = jx_eval(c, n->lhs, input, env);
        if (r) {
            if (r->t != JV_NUM) jx_throw(c, HS_JSONATA_EINVAL, "D1002", n->pos, "Cannot negate a non-numeric value");
            r = jv_num(c, -r->u.n);
        }
        break;
    case N_NAME: r = lookup(c, input, n->str); break;
    case N_STR: r = jv_str(c, n->str, n->slen); break;
    case N_NUM: r = jv_num(c, n->num); break;
    case N_VALUE: r = n->op == 0 ? jv_null(c) : jv_bool(c, n->op == 2); break;
    case N_WILD: r = eval_wildcard(c, input); break;
    case N_DESC: r = eval_descendants(c, input); break;
    case N_PARENT: {
        bool found;
        r = jx_env_lookup(env, n->slot->label, &found);
        break;
    }
    case N_COND:
        if (jv_truthy(jx_eval(c, n->lhs, input, env)))
            r = jx_eval(c, n->rhs, input, env);
        else if (n->els)
            r = jx_eval(c, n->els, input, env);
        break;
    case N_BLOCK: {
        jenv *e = jx_env_new(c, env);
        for (int i = 0; i < n->nitems; i++) r = jx_eval(c, n->items[i], input, e);
        break;
    }
    case N_BIND:
        r = jx_eval(c, n->rhs, input, env);
        jx_env_bind(c, env, n->lhs->str, r);
        break;
    case N_VAR:
        if (!n->str[0])
            r = input && input->t == JV_ARR && input->u.a.outer ? input->u.a.v[0] : input;
        else if (!strcmp(n->str, "$"))
            r = c->root;
        else {
            bool found;
            r = jx_env_lookup(env, n->str, &found);
            if (!found) {
                const jbuiltin *bi = jx_builtin_find(n->str);
                if (bi) {
                    r = ja_alloc(&c->arena, sizeof *r);
                    r->t = JV_BUILTIN;
                    r->u.bi = bi;
                }
            }
        }
        break;
    case N_CALL: {
        jv *fn = eval_proc(c, n, input, env);
        int na;
        jv **args = eval_args(c, n, input, env, false, NULL, &na);
        r = jx_apply(c, fn, args, na, input, n->pos);
        break;
    }
    case N_PARTIAL: r = make_partial(c, n, input, env); break;
    case N_LAMBDA:
        r = ja_alloc(&c->arena, sizeof *r);
        r->t = JV_LAMBDA;
        r->u.f.node = n;
        r->u.f.env = env;
        r->u.f.input = input;
        break;
    case N_APPLY: {
        jv *l = jx_eval(c, n->lhs, input, env);
        if (n->rhs->t == N_CALL) {
            jv *fn = eval_proc(c, n->rhs, input, env);
            int na;
            jv **args = eval_args(c, n->rhs, input, env, true, l, &na);
            r = jx_apply(c, fn, args, na, input, n->pos);
        } else {
            jv *fn = jx_eval(c, n->rhs, input, env);
            if (jv_isfunc(l) && jv_isfunc(fn)) {
                r = jx_compose(c, l, fn);
                break;
            }
            if (!jv_isfunc(fn))
                jx_throw(c, HS_JSONATA_EINVAL, "T2006", n->pos,
                         "The right side of the function application operator ~> must be a function");
            jv *args[2] = {l, NULL};
            r = jx_apply(c, fn, args, 1, input, n->pos);
        }
        break;
    }
    case N_ARR: {
        r = jv_arr(c);
        for (int i = 0; i < n->nitems; i++) {
            jv *v = jx_eval(c, n->items[i], input, env);
            if (!v) continue;
            if (n->items[i]->t == N_ARR || v->t != JV_ARR)
                jv_push(c, r, v);
            else
                for (size_t k = 0; k < v->u.a.n; k++) jv_push(c, r, v->u.a.v[k]);
        }
        if (n->cons_array) r->u.a.cons = 1;
        break;
    }
    case N_OBJ: r = eval_group(c, n->items, n->nitems, input, env, n->pos); break;
    case N_TRANSFORM: r = jx_eval_transform(c, n, env); break;
    case N_REGEX:
        r = ja_alloc(&c->arena, sizeof *r);
        r->t = JV_REGEX;
        r->u.re = n->re;
        break;
    default: jx_throw(c, HS_JSONATA_EINVAL, "S0201", n->pos, "Unexpected expression");
    }
    for (int i = 0; preds && i < n->npreds; i++) r = eval_filter(c, n->preds[i]->lhs, r, env);
    if (n->t != N_PATH && n->group) r = eval_group(c, n->group, n->ngroup, r, env, n->pos);
    if (r && r->t == JV_ARR && r->u.a.seq && !r->u.a.tuples) {
        if (n->keep_array) r->u.a.keep = 1;
        if (r->u.a.n == 0)
            r = NULL;
        else if (r->u.a.n == 1 && !r->u.a.keep)
            r = r->u.a.v[0];
    }
    c->depth--;
    return r;
}
