/* lib/jsonata/jsonata_int.h — internals shared by the JSONata lexer, parser, evaluator
 * and function library. Not part of the public API. */
#ifndef HS_JSONATA_INT_H
#define HS_JSONATA_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonata/jsonata.h"

/* ---- the system (lib/jsonata/sys.c) ---- */
void *jx_sys_alloc(size_t n); /* zeroed; aborts when memory is exhausted */
void jx_sys_free(void *p);
uint64_t jx_clock_ns(void); /* monotonic, for the time limit */
uint64_t jx_wall_ms(void);  /* ms since the epoch, for $now and $millis */

/* ---- arena: every evaluation (and every compile) allocates from one ---- */
typedef struct jchunk jchunk;
typedef struct jarena {
    jchunk *head;
    size_t total; /* bytes obtained from the system */
    size_t limit; /* 0 = none */
    struct jctx *ctx;
} jarena;
void *ja_alloc(jarena *a, size_t n); /* zeroed */
char *ja_strndup(jarena *a, const char *s, size_t n);
void ja_free_all(jarena *a);

/* ---- values; NULL pointer = undefined ---- */
enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ, JV_LAMBDA, JV_BUILTIN, JV_PARTIAL, JV_REGEX, JV_HIDDEN };
typedef struct jregex jregex;
typedef struct jv jv;
typedef struct jnode jnode;
typedef struct jenv jenv;
typedef struct jctx jctx;
typedef jv *(*jbuiltin_fn)(jctx *c, jv **args, int n, jv *input);
typedef struct jbuiltin {
    const char *name;
    jbuiltin_fn fn;
    int min, max;    /* argument counts (max -1 = variadic) */
    int ctx;         /* use the context as the first argument when called with too few */
    const char *sig; /* first-argument types when ctx ("s","n",... ) for T0411 checks, may be NULL */
} jbuiltin;

struct jv {
    int t;
    union {
        int b;
        double n;
        struct {
            char *p;
            size_t len;
        } s;
        struct {
            jv **v;
            size_t n, cap;
            unsigned seq : 1, keep : 1, cons : 1, outer : 1, tuples : 1;
        } a;
        struct {
            char **k;
            jv **v;
            size_t n, cap;
        } o;
        struct {
            jnode *node;
            jenv *env;
            jv *input;
        } f;
        const jbuiltin *bi;
        const jregex *re;
        struct {
            jv *fn;
            jv **args; /* NULL entries are placeholders */
            int n;
        } p;
    } u;
};

/* ---- AST ---- */
typedef struct jsigparam {   /* one parameter of a lambda signature <...> */
    unsigned types, sub;     /* bit per type letter (JT_*); sub: array element types, 0 = any */
    unsigned char opt, plus; /* ? and + modifiers */
} jsigparam;
enum { JT_B = 1, JT_N = 2, JT_S = 4, JT_L = 8, JT_A = 16, JT_O = 32, JT_F = 64 };
typedef struct jslot { /* a parent-operator (%) binding */
    char *label;
    int level, index;
} jslot;
enum {
    N_NUM,
    N_STR,
    N_VALUE,
    N_NAME,
    N_VAR,
    N_WILD,
    N_DESC,
    N_PARENT,
    N_PATH,
    N_BIN,
    N_NEG,
    N_ARR,
    N_OBJ,
    N_COND,
    N_BLOCK,
    N_BIND,
    N_CALL,
    N_PARTIAL,
    N_LAMBDA,
    N_APPLY,
    N_SORT,
    N_PLACEHOLDER,
    N_REGEX,
    N_TRANSFORM,
    N_FILTER
};
/* binary operator codes */
enum {
    OP_ADD = 1,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_MOD,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_AND,
    OP_OR,
    OP_IN,
    OP_CONCAT,
    OP_RANGE,
    OP_ELVIS,
    OP_COALESCE
};
struct jnode {
    int t, pos;
    int op; /* N_BIN operator; N_VALUE: 0 null 1 false 2 true */
    double num;
    char *str; /* N_STR, N_NAME, N_VAR */
    size_t slen;
    jnode *lhs, *rhs, *els; /* binary operands, condition (lhs ? rhs : els), bind, apply, call procedure (lhs) */
    jnode **items;          /* path steps, array items, block expressions, call args, object pairs (k,v,k,v..) */
    int nitems;
    jnode **preds; /* predicates (non-path expr) or stages (path step): N_FILTER nodes with lhs */
    int npreds;
    jnode **group; /* group-by pairs (k,v,...) */
    int ngroup;
    char **params; /* lambda parameter names */
    int nparams;
    int *desc;       /* sort term directions; terms in items */
    jregex *re;      /* N_REGEX */
    char *focus;     /* step@$focus */
    char *index_var; /* step#$index (no stages) */
    jslot *slot;     /* N_PARENT */
    jslot *ancestor; /* step whose input is bound for a % */
    jslot **seeking; /* unresolved % slots below this node */
    int nseeking;
    jsigparam *sig; /* N_LAMBDA signature parameters */
    int nsig;
    unsigned keep_array : 1, cons_array : 1, keep_singleton : 1, tail : 1, ctx_sig : 1, tuple : 1;
};

/* ---- environment ---- */
struct jenv {
    jenv *parent;
    const char **names;
    jv **vals;
    int n, cap;
};

struct jctx {
    jarena arena;
    jmp_buf jb;
    hs_jsonata_error *err;
    int rc;
    uint64_t deadline_ns;
    unsigned steps;
    int depth, max_depth;
    jv *root;
    jenv *global;
    uint64_t now_ms;
    int ctx_inserted; /* the running builtin got the context as argument 1 */
};

/* errors: never return */
_Noreturn void jx_throw(jctx *c, int rc, const char *code, int pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* parser */
typedef struct jparse_err {
    char code[8];
    int pos;
    char msg[200];
} jparse_err;
jnode *jx_parse(jarena *a, const char *src, jparse_err *e);

/* lexer */
enum { T_END, T_OP, T_STR, T_NUM, T_NAME, T_VAR, T_VALUE, T_REGEX };
typedef struct jtok {
    int t, pos;
    char op[4]; /* T_OP text; T_VALUE: "null"/"true"/"false" in str */
    double num;
    char *str; /* T_STR/T_NAME/T_VAR/T_VALUE, NUL-terminated */
    size_t slen;
} jtok;
typedef struct jlex {
    const char *src;
    size_t len, i;
    jarena *a;
    jparse_err *e;
} jlex;
bool jx_lex(jlex *l, jtok *t); /* false: syntax error in *l->e */

/* values */
jv *jv_num(jctx *c, double d);
jv *jv_str(jctx *c, const char *s, size_t n);
jv *jv_cstr(jctx *c, const char *s);
jv *jv_bool(jctx *c, int b);
jv *jv_null(jctx *c);
jv *jv_arr(jctx *c);
jv *jv_seq(jctx *c);
jv *jv_obj(jctx *c);
void jv_push(jctx *c, jv *a, jv *x);
void jv_set(jctx *c, jv *o, const char *k, jv *x);
jv *jv_get(const jv *o, const char *k);
bool jv_isfunc(const jv *v);
bool jv_equal(const jv *a, const jv *b);
bool jv_truthy(const jv *v); /* boolize; undefined = false */
jv *jv_from_json(jctx *c, const json_t *j);
json_t *jv_to_json(const jv *v);
/* JS-style number text (shortest round-trip) */
void jx_fmt_num(double d, char *buf, size_t cap);
/* $string semantics; NULL for undefined */
jv *jx_stringify(jctx *c, jv *v, bool pretty);
jv *jx_append(jctx *c, jv *a, jv *b);
int jx_fn_arity(const jv *f);

/* string builder in the evaluation arena */
typedef struct jsb {
    char *p;
    size_t n, cap;
    jctx *c;
} jsb;
void jsb_put(jsb *b, const char *s, size_t n);
void jsb_puts(jsb *b, const char *s);
jv *jsb_done(jsb *b); /* the string value */
extern jv jx_placeholder;

/* evaluation */
jv *jx_eval(jctx *c, jnode *n, jv *input, jenv *env);
jv *jx_apply(jctx *c, jv *fn, jv **args, int n, jv *input, int pos);
jv *jx_eval_transform(jctx *c, jnode *n, jenv *env);
jv *jx_compose(jctx *c, jv *f, jv *g);
jenv *jx_env_new(jctx *c, jenv *parent);
void jx_env_bind(jctx *c, jenv *e, const char *name, jv *v);
jv *jx_env_lookup(jenv *e, const char *name, bool *found);
const jbuiltin *jx_builtin_find(const char *name);
void jx_check(jctx *c);
typedef int (*jcmp)(jctx *c, jv *a, jv *b, void *ud);
void jx_sort(jctx *c, jv **v, size_t n, jcmp cmp, void *ud); /* stable */

/* ---- the builtins: the table is lib/jsonata/builtins.c ---- */
#define JF_FN(name) jv *name(jctx *c, jv **a, int n, jv *input)
#define JF_UNUSED (void)n, (void)input
/* strings.c */
JF_FN(jf_string);
JF_FN(jf_length);
JF_FN(jf_substring);
JF_FN(jf_substringBefore);
JF_FN(jf_substringAfter);
JF_FN(jf_uppercase);
JF_FN(jf_lowercase);
JF_FN(jf_trim);
JF_FN(jf_pad);
JF_FN(jf_contains);
JF_FN(jf_split);
JF_FN(jf_join);
JF_FN(jf_match);
JF_FN(jf_replace);
JF_FN(jf_eval);
/* numbers.c */
JF_FN(jf_number);
JF_FN(jf_abs);
JF_FN(jf_floor);
JF_FN(jf_ceil);
JF_FN(jf_round);
JF_FN(jf_power);
JF_FN(jf_sqrt);
JF_FN(jf_random);
JF_FN(jf_formatNumber);
JF_FN(jf_formatBase);
JF_FN(jf_sum);
JF_FN(jf_max);
JF_FN(jf_min);
JF_FN(jf_average);
/* objects.c */
JF_FN(jf_boolean);
JF_FN(jf_not);
JF_FN(jf_exists);
JF_FN(jf_keys);
JF_FN(jf_lookup);
JF_FN(jf_spread);
JF_FN(jf_merge);
JF_FN(jf_sift);
JF_FN(jf_each);
JF_FN(jf_error);
JF_FN(jf_assert);
JF_FN(jf_type);
/* arrays.c */
JF_FN(jf_count);
JF_FN(jf_append);
JF_FN(jf_sort);
JF_FN(jf_reverse);
JF_FN(jf_shuffle);
JF_FN(jf_distinct);
JF_FN(jf_zip);
JF_FN(jf_map);
JF_FN(jf_filter);
JF_FN(jf_single);
JF_FN(jf_reduce);
/* intfmt.c */
JF_FN(jf_formatInteger);
JF_FN(jf_parseInteger);
/* encoding.c */
JF_FN(jf_base64encode);
JF_FN(jf_base64decode);
JF_FN(jf_encodeUrlComponent);
JF_FN(jf_encodeUrl);
JF_FN(jf_decodeUrlComponent);
JF_FN(jf_decodeUrl);
/* datetime.c */
JF_FN(jf_now);
JF_FN(jf_millis);
JF_FN(jf_fromMillis);
JF_FN(jf_toMillis);

/* argument helpers (lib/jsonata/builtins.c) */
_Noreturn void jf_argerr(jctx *c, int argi, const char *fname);
const jv *jf_str(jctx *c, jv **a, int i, const char *fname);
bool jf_num(jctx *c, jv **a, int i, const char *fname, double *out);
jv *jf_arr(jctx *c, jv *v);
jv *jf_call(jctx *c, jv *fn, jv *x0, jv *x1, jv *x2, jv *x3);
size_t jf_cplen(const char *s, size_t n);
size_t jf_cpoff(const char *s, size_t n, size_t cp);
double jf_random01(void);
int64_t jx_days_from_civil(int64_t y, unsigned m, unsigned d); /* proleptic Gregorian */
void jx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
jv *jx_format_datetime(jctx *c, double ms, const char *pic, const char *tz);
jv *jx_parse_datetime(jctx *c, const char *str, const char *pic);
jv *jx_format_number(jctx *c, double x, const jv *picture, jv *opts);
jregex *jx_regex_compile(jarena *a, const char *pat, size_t n, const char *flags, const char **err);
bool jx_regex_search(jctx *c, const jregex *re, const char *s, size_t n, size_t start, long *caps);
int jx_regex_groups(const jregex *re);
jv *jx_regex_matches(jctx *c, const jregex *re, const jv *str, double limit);
jv *jx_regex_split(jctx *c, const jregex *re, const jv *str, double limit);
jv *jx_regex_replace(jctx *c, const jregex *re, const jv *str, jv *rep, double limit);
jv *jx_regex_match_obj(jctx *c, const jregex *re, const jv *str, size_t start, long *end_out);

#endif
