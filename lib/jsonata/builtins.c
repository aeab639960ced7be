/* lib/jsonata/builtins.c — the table of JSONata's builtin functions (one
 * meaning per name) and the argument helpers their implementations share. */
#include <string.h>

#include "jsonata/jsonata_int.h"

/* ---- argument helpers ---- */
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

/* The one table of builtins, in the order of the JSONata documentation's
 * function pages; the implementations are in one file per family.
 * Columns: name, implementation, least and most arguments (-1: any), and
 * whether the context value stands in for a missing first argument. */
static const jbuiltin BUILTINS[] = {
    /* strings (strings.c, encoding.c) */
    {"string", jf_string, 1, 2, 1, NULL},
    {"length", jf_length, 1, 1, 1, NULL},
    {"substring", jf_substring, 2, 3, 1, NULL},
    {"substringBefore", jf_substringBefore, 2, 2, 1, NULL},
    {"substringAfter", jf_substringAfter, 2, 2, 1, NULL},
    {"uppercase", jf_uppercase, 1, 1, 1, NULL},
    {"lowercase", jf_lowercase, 1, 1, 1, NULL},
    {"trim", jf_trim, 1, 1, 1, NULL},
    {"pad", jf_pad, 2, 3, 1, NULL},
    {"contains", jf_contains, 2, 2, 1, NULL},
    {"split", jf_split, 2, 3, 1, NULL},
    {"join", jf_join, 1, 2, 0, NULL},
    {"match", jf_match, 2, 3, 1, NULL},
    {"replace", jf_replace, 3, 4, 1, NULL},
    {"eval", jf_eval, 1, 2, 0, NULL},
    {"base64encode", jf_base64encode, 1, 1, 1, NULL},
    {"base64decode", jf_base64decode, 1, 1, 1, NULL},
    {"encodeUrlComponent", jf_encodeUrlComponent, 1, 1, 1, NULL},
    {"encodeUrl", jf_encodeUrl, 1, 1, 1, NULL},
    {"decodeUrlComponent", jf_decodeUrlComponent, 1, 1, 1, NULL},
    {"decodeUrl", jf_decodeUrl, 1, 1, 1, NULL},
    /* numbers (numbers.c, intfmt.c) */
    {"number", jf_number, 1, 1, 1, NULL},
    {"abs", jf_abs, 1, 1, 1, NULL},
    {"floor", jf_floor, 1, 1, 1, NULL},
    {"ceil", jf_ceil, 1, 1, 1, NULL},
    {"round", jf_round, 1, 2, 1, NULL},
    {"power", jf_power, 2, 2, 1, NULL},
    {"sqrt", jf_sqrt, 1, 1, 1, NULL},
    {"random", jf_random, 0, 0, 0, NULL},
    {"formatNumber", jf_formatNumber, 2, 3, 0, NULL},
    {"formatBase", jf_formatBase, 1, 2, 1, NULL},
    {"formatInteger", jf_formatInteger, 2, 2, 1, NULL},
    {"parseInteger", jf_parseInteger, 2, 2, 1, NULL},
    /* aggregation (numbers.c) */
    {"sum", jf_sum, 1, 1, 0, NULL},
    {"max", jf_max, 1, 1, 0, NULL},
    {"min", jf_min, 1, 1, 0, NULL},
    {"average", jf_average, 1, 1, 0, NULL},
    /* booleans (objects.c) */
    {"boolean", jf_boolean, 1, 1, 1, NULL},
    {"not", jf_not, 1, 1, 1, NULL},
    {"exists", jf_exists, 1, 1, 0, NULL},
    /* arrays (arrays.c) */
    {"count", jf_count, 1, 1, 0, NULL},
    {"append", jf_append, 2, 2, 0, NULL},
    {"sort", jf_sort, 1, 2, 0, NULL},
    {"reverse", jf_reverse, 1, 1, 0, NULL},
    {"shuffle", jf_shuffle, 1, 1, 0, NULL},
    {"distinct", jf_distinct, 1, 1, 0, NULL},
    {"zip", jf_zip, 0, -1, 0, NULL},
    /* objects (objects.c) */
    {"keys", jf_keys, 1, 1, 1, NULL},
    {"lookup", jf_lookup, 2, 2, 1, NULL},
    {"spread", jf_spread, 1, 1, 1, NULL},
    {"merge", jf_merge, 1, 1, 0, NULL},
    {"sift", jf_sift, 2, 2, 1, NULL},
    {"each", jf_each, 2, 2, 1, NULL},
    {"error", jf_error, 0, 1, 0, NULL},
    {"assert", jf_assert, 1, 2, 0, NULL},
    {"type", jf_type, 1, 1, 0, NULL},
    /* date/time (datetime.c) */
    {"now", jf_now, 0, 2, 0, NULL},
    {"millis", jf_millis, 0, 0, 0, NULL},
    {"fromMillis", jf_fromMillis, 1, 3, 1, NULL},
    {"toMillis", jf_toMillis, 1, 2, 1, NULL},
    /* higher-order (arrays.c) */
    {"map", jf_map, 2, 2, 0, NULL},
    {"filter", jf_filter, 2, 2, 0, NULL},
    {"single", jf_single, 1, 2, 0, NULL},
    {"reduce", jf_reduce, 2, 3, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL},
};

const jbuiltin *jx_builtin_find(const char *name) {
    for (const jbuiltin *b = BUILTINS; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return NULL;
}
