/* lib/jsonata/parse.c — Pratt parser producing the JSONata AST, followed by a
 * pass that turns '.' chains into path nodes with steps, predicates into
 * step stages and group-by / order-by into their step forms. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

/* raw binary forms resolved by the process pass */
enum { OPX_DOT = 100, OPX_PRED, OPX_GROUP, OPX_SORT, OPX_FOCUS, OPX_INDEX };

#define MAX_PARSE_DEPTH 400

typedef struct jparser {
    jlex lx;
    jtok tok;
    jarena *a;
    jparse_err *e;
    jmp_buf jb;
    int depth;
    int nslots;
} jparser;

static _Noreturn void perr(jparser *p, const char *code, int pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr(jparser *p, const char *code, int pos, const char *fmt, ...) {
    snprintf(p->e->code, sizeof p->e->code, "%s", code);
    p->e->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->e->msg, sizeof p->e->msg, fmt, ap);
    va_end(ap);
    longjmp(p->jb, 1);
}

static void adv(jparser *p) {
    if (!jx_lex(&p->lx, &p->tok)) longjmp(p->jb, 1);
}

static bool isop(jparser *p, const char *op) { return p->tok.t == T_OP && !strcmp(p->tok.op, op); }

static const char *tokdesc(jtok *t) {
    switch (t->t) {
    case T_END: return "(end)";
    case T_OP: return t->op;
    default: return t->str ? t->str : "literal";
    }
}

static void expect(jparser *p, const char *op) {
    if (!isop(p, op)) {
        if (p->tok.t == T_END) perr(p, "S0203", p->tok.pos, "Expected \"%s\" before end of expression", op);
        perr(p, "S0202", p->tok.pos, "Expected \"%s\", got \"%s\"", op, tokdesc(&p->tok));
    }
    adv(p);
}

static jnode *mk(jparser *p, int t, int pos) {
    jnode *n = ja_alloc(p->a, sizeof *n);
    n->t = t;
    n->pos = pos;
    return n;
}

static void push(jparser *p, jnode ***arr, int *n, jnode *x) {
    if ((*n & (*n - 1)) == 0) { /* grow at powers of two */
        jnode **na = ja_alloc(p->a, sizeof(jnode *) * (size_t)(*n ? *n * 2 : 1));
        if (*n) memcpy(na, *arr, sizeof(jnode *) * (size_t)*n);
        *arr = na;
    }
    (*arr)[(*n)++] = x;
}

static int lbp(jtok *t) {
    if (t->t != T_OP) return 0;
    static const struct {
        const char *op;
        int bp;
    } tab[] = {{".", 75},  {"[", 80},  {"{", 70},  {"(", 80},  {"^", 40},   {"?", 20},  {"+", 50},
               {"-", 50},  {"*", 60},  {"/", 60},  {"%", 60},  {"=", 40},   {"<", 40},  {">", 40},
               {"!=", 40}, {"<=", 40}, {">=", 40}, {"&", 50},  {"and", 30}, {"or", 25}, {"in", 40},
               {":=", 10}, {"~>", 40}, {"?:", 40}, {"??", 40}, {"@", 80},   {"#", 80}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].op, t->op)) return tab[i].bp;
    return 0;
}

static jnode *expression(jparser *p, int rbp);

static void parse_pairs(jparser *p, jnode *n, const char *close) {
    if (!isop(p, close))
        for (;;) {
            jnode *k = expression(p, 0);
            expect(p, ":");
            jnode *v = expression(p, 0);
            push(p, &n->items, &n->nitems, k);
            push(p, &n->items, &n->nitems, v);
            if (!isop(p, ",")) break;
            adv(p);
        }
    expect(p, close);
}

/* regex literal: p->tok is the "/" (not yet consumed); scan the raw source */
static jnode *parse_regex(jparser *p, jtok t) {
    jnode *n;
    size_t i = (size_t)t.pos + 1;
    bool incls = false;
    for (; i < p->lx.len; i++) {
        char ch = p->lx.src[i];
        if (ch == '\\') {
            i++;
            continue;
        }
        if (ch == '[')
            incls = true;
        else if (ch == ']')
            incls = false;
        else if (ch == '/' && !incls)
            break;
    }
    if (i >= p->lx.len) perr(p, "S0302", t.pos, "No terminating / in regular expression");
    size_t pstart = (size_t)t.pos + 1, plen = i - pstart;
    if (plen == 0) perr(p, "S0301", t.pos, "Empty regular expressions are not allowed");
    size_t f = i + 1;
    while (f < p->lx.len && strchr("gimsuy", p->lx.src[f])) f++;
    char flags[16] = "";
    size_t fl = f - i - 1 < sizeof flags - 1 ? f - i - 1 : sizeof flags - 1;
    memcpy(flags, p->lx.src + i + 1, fl);
    flags[fl] = 0;
    const char *rerr = NULL;
    n = mk(p, N_REGEX, t.pos);
    n->re = jx_regex_compile(p->a, p->lx.src + pstart, plen, flags, &rerr);
    if (!n->re) perr(p, "S0303", t.pos, "Invalid regular expression: %s", rerr);
    p->lx.i = f;
    adv(p);
    return n;
}

static jnode *nud(jparser *p, jtok t) {
    jnode *n;
    switch (t.t) {
    case T_NUM:
        n = mk(p, N_NUM, t.pos);
        n->num = t.num;
        return n;
    case T_STR:
    case T_NAME:
    case T_VAR:
        n = mk(p, t.t == T_STR ? N_STR : t.t == T_NAME ? N_NAME : N_VAR, t.pos);
        n->str = t.str;
        n->slen = t.slen;
        return n;
    case T_VALUE:
        n = mk(p, N_VALUE, t.pos);
        n->op = !strcmp(t.str, "null") ? 0 : !strcmp(t.str, "false") ? 1 : 2;
        return n;
    case T_END: perr(p, "S0207", t.pos, "Unexpected end of expression");
    default: break;
    }
    const char *op = t.op;
    if (!strcmp(op, "and") || !strcmp(op, "or") || !strcmp(op, "in")) {
        n = mk(p, N_NAME, t.pos);
        n->str = ja_strndup(p->a, op, strlen(op));
        n->slen = strlen(op);
        return n;
    }
    if (!strcmp(op, "-")) {
        n = mk(p, N_NEG, t.pos);
        n->lhs = expression(p, 70);
        return n;
    }
    if (!strcmp(op, "*")) return mk(p, N_WILD, t.pos);
    if (!strcmp(op, "**")) return mk(p, N_DESC, t.pos);
    if (!strcmp(op, "%")) return mk(p, N_PARENT, t.pos);
    if (!strcmp(op, "?")) return mk(p, N_PLACEHOLDER, t.pos);
    if (!strcmp(op, "(")) {
        n = mk(p, N_BLOCK, t.pos);
        while (!isop(p, ")")) {
            push(p, &n->items, &n->nitems, expression(p, 0));
            if (!isop(p, ";")) break;
            adv(p);
        }
        expect(p, ")");
        return n;
    }
    if (!strcmp(op, "[")) {
        n = mk(p, N_ARR, t.pos);
        if (!isop(p, "]"))
            for (;;) {
                jnode *item = expression(p, 0);
                if (isop(p, "..")) {
                    jnode *r = mk(p, N_BIN, p->tok.pos);
                    adv(p);
                    r->op = OP_RANGE;
                    r->lhs = item;
                    r->rhs = expression(p, 0);
                    item = r;
                }
                push(p, &n->items, &n->nitems, item);
                if (!isop(p, ",")) break;
                adv(p);
            }
        expect(p, "]");
        return n;
    }
    if (!strcmp(op, "{")) {
        n = mk(p, N_OBJ, t.pos);
        parse_pairs(p, n, "}");
        return n;
    }
    if (!strcmp(op, "|")) {
        n = mk(p, N_TRANSFORM, t.pos);
        n->lhs = expression(p, 0);
        expect(p, "|");
        n->rhs = expression(p, 0);
        if (isop(p, ",")) {
            adv(p);
            n->els = expression(p, 0);
        }
        expect(p, "|");
        return n;
    }
    perr(p, "S0211", t.pos, "The symbol %s cannot be used as a unary operator", op);
}

static int binop_code(const char *op) {
    static const struct {
        const char *op;
        int code;
    } tab[] = {{"+", OP_ADD}, {"-", OP_SUB}, {"*", OP_MUL},    {"/", OP_DIV},    {"%", OP_MOD},      {"=", OP_EQ},
               {"!=", OP_NE}, {"<", OP_LT},  {"<=", OP_LE},    {">", OP_GT},     {">=", OP_GE},      {"and", OP_AND},
               {"or", OP_OR}, {"in", OP_IN}, {"&", OP_CONCAT}, {"?:", OP_ELVIS}, {"??", OP_COALESCE}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].op, op)) return tab[i].code;
    return 0;
}

static unsigned sig_type(char ch) {
    switch (ch) {
    case 'b': return JT_B;
    case 'n': return JT_N;
    case 's': return JT_S;
    case 'l': return JT_L;
    case 'a': return JT_A;
    case 'o': return JT_O;
    case 'f': return JT_F;
    case 'j': return JT_B | JT_N | JT_S | JT_L | JT_A | JT_O;
    case 'x': return JT_B | JT_N | JT_S | JT_L | JT_A | JT_O | JT_F;
    default: return 0;
    }
}

/* parse the parameter part of "<params:ret>" (text between the angle brackets) */
static void parse_signature(jparser *p, jnode *lam, const char *s, size_t n, int pos) {
    lam->sig = ja_alloc(p->a, sizeof(jsigparam) * (n + 1));
    size_t i = 0;
    while (i < n && s[i] != ':') {
        char ch = s[i];
        jsigparam *sp = &lam->sig[lam->nsig];
        if (ch == '?' || ch == '+') {
            if (!lam->nsig) perr(p, "S0401", pos, "Invalid function signature");
            if (ch == '?')
                lam->sig[lam->nsig - 1].opt = 1;
            else
                lam->sig[lam->nsig - 1].plus = 1;
            i++;
            continue;
        }
        if (ch == '-') {
            lam->ctx_sig = 1;
            i++;
            continue;
        }
        if (ch == '(') {
            size_t j = i + 1;
            unsigned t = 0;
            while (j < n && s[j] != ')') {
                unsigned v = sig_type(s[j]);
                if (!v) perr(p, "S0401", pos, "Invalid type in function signature");
                t |= v;
                j++;
            }
            if (j >= n) perr(p, "S0401", pos, "Unterminated choice in function signature");
            sp->types = t;
            lam->nsig++;
            i = j + 1;
            continue;
        }
        unsigned t = sig_type(ch);
        if (!t) perr(p, "S0401", pos, "Invalid type '%c' in function signature", ch);
        sp->types = t;
        lam->nsig++;
        i++;
        if (i < n && s[i] == '<') {
            if (ch != 'a' && ch != 'f') perr(p, "S0401", pos, "Type parameters apply only to arrays and functions");
            size_t j = i + 1;
            int depth = 1;
            unsigned sub = 0;
            while (j < n && depth) {
                if (s[j] == '<')
                    depth++;
                else if (s[j] == '>')
                    depth--;
                else if (depth == 1 && ch == 'a')
                    sub |= sig_type(s[j]);
                j++;
            }
            if (ch == 'a') sp->sub = sub;
            i = j;
        }
    }
}

static void skip_signature(jparser *p, jnode *lam) {
    /* p->tok is "<"; skip raw source up to the matching ">" */
    size_t i = (size_t)p->tok.pos;
    int depth = 0;
    for (; i < p->lx.len; i++) {
        if (p->lx.src[i] == '<')
            depth++;
        else if (p->lx.src[i] == '>' && --depth == 0)
            break;
    }
    if (i >= p->lx.len) perr(p, "S0401", p->tok.pos, "Unterminated function signature");
    parse_signature(p, lam, p->lx.src + p->tok.pos + 1, i - (size_t)p->tok.pos - 1, p->tok.pos);
    p->lx.i = i + 1;
    adv(p);
}

static jnode *led(jparser *p, jtok t, jnode *left) {
    const char *op = t.op;
    jnode *n = mk(p, N_BIN, t.pos);
    n->lhs = left;
    if (!strcmp(op, ".")) {
        n->op = OPX_DOT;
        n->rhs = expression(p, 75);
        return n;
    }
    if (!strcmp(op, "[")) {
        if (isop(p, "]")) {
            jnode *step = left;
            while (step->t == N_BIN && step->op == OPX_PRED) step = step->lhs;
            step->keep_array = 1;
            adv(p);
            return left;
        }
        n->op = OPX_PRED;
        n->rhs = expression(p, 0);
        expect(p, "]");
        return n;
    }
    if (!strcmp(op, "{")) {
        n->op = OPX_GROUP;
        n->rhs = mk(p, N_OBJ, t.pos);
        parse_pairs(p, n->rhs, "}");
        return n;
    }
    if (!strcmp(op, "(")) {
        jnode *args = NULL;
        jnode **items = NULL;
        int nitems = 0;
        bool partial = false;
        (void)args;
        if (!isop(p, ")"))
            for (;;) {
                jnode *a;
                if (isop(p, "?")) {
                    a = mk(p, N_PLACEHOLDER, p->tok.pos);
                    adv(p);
                    partial = true;
                } else {
                    a = expression(p, 0);
                }
                push(p, &items, &nitems, a);
                if (!isop(p, ",")) break;
                adv(p);
            }
        expect(p, ")");
        if (left->t == N_NAME && (!strcmp(left->str, "function") || !strcmp(left->str, "\xce\xbb"))) {
            n->t = N_LAMBDA;
            n->lhs = NULL;
            n->params = ja_alloc(p->a, sizeof(char *) * (size_t)(nitems + 1));
            for (int i = 0; i < nitems; i++) {
                if (items[i]->t != N_VAR)
                    perr(p, "S0208", items[i]->pos, "Parameter %d of function definition must be a variable name",
                         i + 1);
                n->params[i] = items[i]->str;
            }
            n->nparams = nitems;
            if (isop(p, "<")) skip_signature(p, n);
            expect(p, "{");
            n->rhs = expression(p, 0);
            expect(p, "}");
            return n;
        }
        n->t = partial ? N_PARTIAL : N_CALL;
        n->items = items;
        n->nitems = nitems;
        return n;
    }
    if (!strcmp(op, "^")) {
        n->op = OPX_SORT;
        expect(p, "(");
        jnode *terms = mk(p, N_SORT, t.pos);
        int cap = 0;
        for (;;) {
            int d = 0;
            if (isop(p, "<"))
                adv(p);
            else if (isop(p, ">")) {
                d = 1;
                adv(p);
            }
            push(p, &terms->items, &terms->nitems, expression(p, 0));
            if (terms->nitems > cap) {
                int *nd = ja_alloc(p->a, sizeof(int) * (size_t)(terms->nitems * 2));
                if (terms->desc) memcpy(nd, terms->desc, sizeof(int) * (size_t)(terms->nitems - 1));
                terms->desc = nd;
                cap = terms->nitems * 2;
            }
            terms->desc[terms->nitems - 1] = d;
            if (!isop(p, ",")) break;
            adv(p);
        }
        expect(p, ")");
        n->rhs = terms;
        return n;
    }
    if (!strcmp(op, "?")) {
        n->t = N_COND;
        n->rhs = expression(p, 0);
        if (isop(p, ":")) {
            adv(p);
            n->els = expression(p, 0);
        }
        return n;
    }
    if (!strcmp(op, "@") || !strcmp(op, "#")) {
        n->op = op[0] == '@' ? OPX_FOCUS : OPX_INDEX;
        n->rhs = expression(p, 80);
        if (n->rhs->t != N_VAR)
            perr(p, "S0214", t.pos, "The right side of %s must be a variable name (start with $)", op);
        return n;
    }
    if (!strcmp(op, ":=")) {
        if (left->t != N_VAR) perr(p, "S0212", t.pos, "The left side of := must be a variable name (start with $)");
        n->t = N_BIND;
        n->rhs = expression(p, 9);
        return n;
    }
    if (!strcmp(op, "~>")) {
        n->t = N_APPLY;
        n->rhs = expression(p, 40);
        return n;
    }
    int code = binop_code(op);
    if (!code) perr(p, "S0201", t.pos, "Syntax error: \"%s\"", op);
    n->op = code;
    n->rhs = expression(p, lbp(&t));
    return n;
}

static jnode *expression(jparser *p, int rbp) {
    if (++p->depth > MAX_PARSE_DEPTH) perr(p, "S0299", p->tok.pos, "Expression nested too deeply");
    jtok t = p->tok;
    jnode *left;
    if (t.t == T_OP && !strcmp(t.op, "/")) {
        left = parse_regex(p, t);
    } else {
        adv(p);
        left = nud(p, t);
    }
    while (rbp < lbp(&p->tok)) {
        t = p->tok;
        adv(p);
        left = led(p, t, left);
    }
    p->depth--;
    return left;
}

/* ---- process pass ---- */
static jnode *process(jparser *p, jnode *n);

static void push_slot(jparser *p, jnode *n, jslot *s) {
    if ((n->nseeking & (n->nseeking - 1)) == 0) {
        jslot **na = ja_alloc(p->a, sizeof(jslot *) * (size_t)(n->nseeking ? n->nseeking * 2 : 1));
        if (n->nseeking) memcpy(na, n->seeking, sizeof(jslot *) * (size_t)n->nseeking);
        n->seeking = na;
    }
    n->seeking[n->nseeking++] = s;
}

/* the % slots of value now also belong to result */
static void push_ancestry(jparser *p, jnode *result, jnode *value) {
    if (!value) return;
    for (int i = 0; i < value->nseeking; i++) push_slot(p, result, value->seeking[i]);
    if (value->t == N_PARENT) push_slot(p, result, value->slot);
}

static jslot *seek_parent(jparser *p, jnode *node, jslot *slot) {
    switch (node->t) {
    case N_NAME:
    case N_WILD:
        slot->level--;
        if (slot->level == 0) {
            if (node->ancestor) slot->label = node->ancestor->label;
            node->ancestor = slot;
            node->tuple = 1;
        }
        break;
    case N_PARENT: slot->level++; break;
    case N_BLOCK:
        if (node->nitems > 0) {
            node->tuple = 1;
            slot = seek_parent(p, node->items[node->nitems - 1], slot);
        }
        break;
    case N_PATH: {
        node->tuple = 1;
        int index = node->nitems - 1;
        slot = seek_parent(p, node->items[index--], slot);
        while (slot->level > 0 && index >= 0) slot = seek_parent(p, node->items[index--], slot);
        break;
    }
    default: perr(p, "S0217", node->pos, "The object representing the 'parent' cannot be derived from this expression");
    }
    return slot;
}

static void resolve_ancestry(jparser *p, jnode *path) {
    jnode *last = path->items[path->nitems - 1];
    int ns = last->nseeking + (last->t == N_PARENT ? 1 : 0);
    jslot **slots = ja_alloc(p->a, sizeof(jslot *) * (size_t)(ns + 1));
    for (int i = 0; i < last->nseeking; i++) slots[i] = last->seeking[i];
    if (last->t == N_PARENT) slots[ns - 1] = last->slot;
    for (int is = 0; is < ns; is++) {
        jslot *slot = slots[is];
        int index = path->nitems - 2;
        while (slot->level > 0) {
            if (index < 0) {
                push_slot(p, path, slot);
                break;
            }
            jnode *step = path->items[index--];
            while (index >= 0 && step->focus && path->items[index]->focus) step = path->items[index--];
            slot = seek_parent(p, step, slot);
        }
    }
}

static void process_all(jparser *p, jnode **items, int n) {
    for (int i = 0; i < n; i++) items[i] = process(p, items[i]);
}

static jnode *process(jparser *p, jnode *n) {
    if (!n) return NULL;
    if (++p->depth > MAX_PARSE_DEPTH * 2) perr(p, "S0299", n->pos, "Expression nested too deeply");
    jnode *r = n;
    switch (n->t) {
    case N_BIN:
        switch (n->op) {
        case OPX_DOT: {
            jnode *l = process(p, n->lhs);
            if (l->t == N_PATH)
                r = l;
            else {
                r = mk(p, N_PATH, l->pos);
                push(p, &r->items, &r->nitems, l);
                if (l->t == N_PARENT) push_slot(p, r, l->slot);
            }
            jnode *rest = process(p, n->rhs);
            if (rest->t == N_PATH) {
                for (int i = 0; i < rest->nitems; i++) push(p, &r->items, &r->nitems, rest->items[i]);
            } else {
                push(p, &r->items, &r->nitems, rest);
            }
            for (int i = 0; i < r->nitems; i++) {
                jnode *s = r->items[i];
                if (s->t == N_NUM || s->t == N_VALUE)
                    perr(p, "S0213", s->pos, "The literal value cannot be used as a step within a path expression");
                if (s->t == N_STR) s->t = N_NAME;
                if (s->keep_array) r->keep_singleton = 1;
            }
            if (r->items[0]->t == N_ARR) r->items[0]->cons_array = 1;
            if (r->items[r->nitems - 1]->t == N_ARR) r->items[r->nitems - 1]->cons_array = 1;
            resolve_ancestry(p, r);
            break;
        }
        case OPX_PRED: {
            r = process(p, n->lhs);
            jnode *step = r;
            if (r->t == N_PATH) step = r->items[r->nitems - 1];
            if (step->group) perr(p, "S0209", n->pos, "A predicate cannot follow a grouping expression in a step");
            jnode *f = mk(p, N_FILTER, n->pos);
            f->lhs = process(p, n->rhs);
            if (f->lhs->nseeking || f->lhs->t == N_PARENT) {
                jnode *pr = f->lhs;
                int ns = pr->nseeking;
                for (int i = 0; i < ns; i++) {
                    if (pr->seeking[i]->level == 1)
                        seek_parent(p, step, pr->seeking[i]);
                    else
                        pr->seeking[i]->level--;
                }
                push_ancestry(p, step, pr);
            }
            push(p, &step->preds, &step->npreds, f);
            break;
        }
        case OPX_FOCUS: {
            r = process(p, n->lhs);
            jnode *step = r->t == N_PATH ? r->items[r->nitems - 1] : r;
            if (step->npreds)
                perr(p, "S0215", n->pos, "A context variable binding must precede any predicates on a step");
            if (step->t == N_SORT)
                perr(p, "S0216", n->pos, "A context variable binding must precede the 'order-by' clause on a step");
            if (n->keep_array) step->keep_array = 1;
            step->focus = n->rhs->str;
            step->tuple = 1;
            break;
        }
        case OPX_INDEX: {
            r = process(p, n->lhs);
            jnode *step = r;
            if (r->t == N_PATH)
                step = r->items[r->nitems - 1];
            else {
                r = mk(p, N_PATH, step->pos);
                push(p, &r->items, &r->nitems, step);
            }
            if (!step->npreds)
                step->index_var = n->rhs->str;
            else {
                jnode *f = mk(p, N_FILTER, n->pos);
                f->op = 1;
                f->str = n->rhs->str;
                push(p, &step->preds, &step->npreds, f);
            }
            step->tuple = 1;
            break;
        }
        case OPX_GROUP:
            r = process(p, n->lhs);
            if (r->group) perr(p, "S0210", n->pos, "Each step can only have one grouping expression");
            process_all(p, n->rhs->items, n->rhs->nitems);
            r->group = n->rhs->items;
            r->ngroup = n->rhs->nitems;
            break;
        case OPX_SORT: {
            r = process(p, n->lhs);
            if (r->t != N_PATH) {
                jnode *path = mk(p, N_PATH, r->pos);
                push(p, &path->items, &path->nitems, r);
                r = path;
            }
            process_all(p, n->rhs->items, n->rhs->nitems);
            for (int i = 0; i < n->rhs->nitems; i++) push_ancestry(p, n->rhs, n->rhs->items[i]);
            push(p, &r->items, &r->nitems, n->rhs);
            resolve_ancestry(p, r);
            break;
        }
        default:
            n->lhs = process(p, n->lhs);
            n->rhs = process(p, n->rhs);
            push_ancestry(p, n, n->lhs);
            push_ancestry(p, n, n->rhs);
        }
        break;
    case N_NEG:
        n->lhs = process(p, n->lhs);
        if (n->lhs->t == N_NUM) {
            r = n->lhs;
            r->num = -r->num;
        }
        break;
    case N_ARR:
    case N_OBJ:
    case N_BLOCK:
        process_all(p, n->items, n->nitems);
        for (int i = 0; i < n->nitems; i++) push_ancestry(p, n, n->items[i]);
        break;
    case N_CALL:
    case N_PARTIAL:
        n->lhs = process(p, n->lhs);
        process_all(p, n->items, n->nitems);
        for (int i = 0; i < n->nitems; i++) push_ancestry(p, n, n->items[i]);
        break;
    case N_LAMBDA:
        n->rhs = process(p, n->rhs);
        if (n->rhs->t == N_CALL) n->rhs->tail = 1;
        break;
    case N_COND:
    case N_BIND:
    case N_APPLY:
    case N_TRANSFORM:
        n->lhs = process(p, n->lhs);
        n->rhs = process(p, n->rhs);
        n->els = process(p, n->els);
        if (n->t != N_TRANSFORM) {
            push_ancestry(p, n, n->lhs);
            push_ancestry(p, n, n->rhs);
            push_ancestry(p, n, n->els);
        }
        break;
    case N_PARENT:
        n->slot = ja_alloc(p->a, sizeof(jslot));
        n->slot->level = 1;
        n->slot->index = p->nslots;
        n->slot->label = ja_alloc(p->a, 16);
        snprintf(n->slot->label, 16, "!%d", p->nslots++);
        break;
    case N_NAME:
        r = mk(p, N_PATH, n->pos);
        push(p, &r->items, &r->nitems, n);
        if (n->keep_array) r->keep_singleton = 1;
        break;
    default: break;
    }
    /* [] applied to a raw operator form (predicate, sort, index...) */
    if (n->t == N_BIN && n->op >= OPX_DOT && n->keep_array) {
        if (r->t == N_PATH)
            r->keep_singleton = 1;
        else
            r->keep_array = 1;
    }
    p->depth--;
    return r;
}

jnode *jx_parse(jarena *a, const char *src, jparse_err *e) {
    jparser *p = ja_alloc(a, sizeof *p);
    p->a = a;
    p->e = e;
    p->lx.src = src;
    p->lx.len = strlen(src);
    p->lx.a = a;
    p->lx.e = e;
    if (setjmp(p->jb)) return NULL;
    adv(p);
    jnode *root = expression(p, 0);
    if (p->tok.t != T_END) perr(p, "S0201", p->tok.pos, "Syntax error: \"%s\"", tokdesc(&p->tok));
    p->depth = 0;
    jnode *r = process(p, root);
    if (r->nseeking || r->t == N_PARENT)
        perr(p, "S0217", r->pos, "The object representing the 'parent' cannot be derived from this expression");
    return r;
}
