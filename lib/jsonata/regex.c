/* lib/jsonata/regex.c — a small backtracking regular-expression engine for
 * JSONata regex literals (/.../flags): literals, ., classes, \d\w\s\b,
 * anchors, groups (capturing and (?:)), alternation, greedy and lazy
 * quantifiers (* + ? {n,m}), flags i and m. Compiled to a tiny bytecode;
 * matching checks the evaluation deadline. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

enum { RI_CHAR, RI_ANY, RI_CLASS, RI_MATCH, RI_JMP, RI_SPLIT, RI_SAVE, RI_BOL, RI_EOL, RI_WORDB, RI_NWORDB };

typedef struct rinst {
    int op, x, y;
} rinst;

typedef struct rclass {
    unsigned char bits[32];
} rclass;

struct jregex {
    rinst *code;
    int ncode, cap;
    rclass *cls;
    int ncls, clscap;
    int ngroups;
    bool icase, multiline;
};

typedef struct rparse {
    jarena *a;
    const char *s;
    size_t i, n;
    jregex *re;
    const char *err;
    int depth;
} rparse;

static int emit(rparse *p, int op, int x, int y) {
    jregex *re = p->re;
    if (re->ncode == re->cap) {
        int cap = re->cap ? re->cap * 2 : 32;
        rinst *nc = ja_alloc(p->a, sizeof(rinst) * (size_t)cap);
        if (re->ncode) memcpy(nc, re->code, sizeof(rinst) * (size_t)re->ncode);
        re->code = nc;
        re->cap = cap;
    }
    re->code[re->ncode] = (rinst){op, x, y};
    return re->ncode++;
}

/* Emit a copy of an atom's len instructions (compiled at start), its jumps
 * moved to where the copy lands. */
static void emit_copy(rparse *p, const rinst *atom, int len, int start) {
    int base = p->re->ncode;
    for (int t = 0; t < len; t++) {
        rinst in = atom[t];
        if (in.op == RI_JMP || in.op == RI_SPLIT) {
            in.x += base - start;
            if (in.op == RI_SPLIT) in.y += base - start;
        }
        emit(p, in.op, in.x, in.y);
    }
}

static int new_class(rparse *p) {
    jregex *re = p->re;
    if (re->ncls == re->clscap) {
        int cap = re->clscap ? re->clscap * 2 : 8;
        rclass *nc = ja_alloc(p->a, sizeof(rclass) * (size_t)cap);
        if (re->ncls) memcpy(nc, re->cls, sizeof(rclass) * (size_t)re->ncls);
        re->cls = nc;
        re->clscap = cap;
    }
    memset(&re->cls[re->ncls], 0, sizeof(rclass));
    return re->ncls++;
}

static void cls_set(rclass *c, int ch) { c->bits[(unsigned char)ch >> 3] |= (unsigned char)(1u << (ch & 7)); }
static bool cls_has(const rclass *c, int ch) { return c->bits[(unsigned char)ch >> 3] & (1u << (ch & 7)); }

static void cls_escape(rclass *c, char e) {
    for (int ch = 0; ch < 256; ch++) {
        bool in = false;
        switch (e) {
        case 'd':
        case 'D': in = ch >= '0' && ch <= '9'; break;
        case 'w':
        case 'W': in = isalnum(ch) || ch == '_'; break;
        case 's':
        case 'S': in = ch == ' ' || (ch >= '\t' && ch <= '\r'); break;
        }
        if (ch >= 128) in = false;
        if (isupper((unsigned char)e)) in = !in && ch < 256;
        if (in) cls_set(c, ch);
    }
}

static int esc_char(char e) {
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    default: return (unsigned char)e;
    }
}

/* fragment: code range [start, end) */
static void parse_alt(rparse *p);

/* copy instructions [from, to) to the end, relocating jumps */
static void dup_range(rparse *p, int from, int to) {
    int base = p->re->ncode;
    for (int k = from; k < to; k++) {
        rinst in = p->re->code[k];
        if (in.op == RI_JMP || in.op == RI_SPLIT) {
            in.x += base - from;
            if (in.op == RI_SPLIT) in.y += base - from;
        }
        emit(p, in.op, in.x, in.y);
    }
}

static void parse_atom(rparse *p) {
    char ch = p->s[p->i++];
    jregex *re = p->re;
    switch (ch) {
    case '.': {
        int k = new_class(p);
        for (int c = 0; c < 256; c++)
            if (c != '\n' && c != '\r') cls_set(&re->cls[k], c);
        emit(p, RI_CLASS, k, 0);
        return;
    }
    case '^': emit(p, RI_BOL, 0, 0); return;
    case '$': emit(p, RI_EOL, 0, 0); return;
    case '(': {
        int g = -1;
        if (p->i + 1 < p->n && p->s[p->i] == '?' && p->s[p->i + 1] == ':')
            p->i += 2;
        else
            g = ++re->ngroups;
        if (g >= 0) emit(p, RI_SAVE, 2 * g, 0);
        if (++p->depth > 200) {
            p->err = "regex nested too deeply";
            return;
        }
        parse_alt(p);
        p->depth--;
        if (p->i >= p->n || p->s[p->i] != ')') {
            p->err = "missing )";
            return;
        }
        p->i++;
        if (g >= 0) emit(p, RI_SAVE, 2 * g + 1, 0);
        return;
    }
    case '[': {
        int k = new_class(p);
        bool neg = false;
        if (p->i < p->n && p->s[p->i] == '^') {
            neg = true;
            p->i++;
        }
        bool first = true;
        while (p->i < p->n && (p->s[p->i] != ']' || first)) {
            first = false;
            int lo;
            char c = p->s[p->i++];
            if (c == '\\' && p->i < p->n) {
                char e = p->s[p->i++];
                if (strchr("dDwWsS", e)) {
                    cls_escape(&re->cls[k], e);
                    continue;
                }
                lo = esc_char(e);
            } else {
                lo = (unsigned char)c;
            }
            int hi = lo;
            if (p->i + 1 < p->n && p->s[p->i] == '-' && p->s[p->i + 1] != ']') {
                p->i++;
                char c2 = p->s[p->i++];
                if (c2 == '\\' && p->i < p->n)
                    hi = esc_char(p->s[p->i++]);
                else
                    hi = (unsigned char)c2;
            }
            for (int x = lo; x <= hi; x++) {
                cls_set(&re->cls[k], x);
                if (re->icase && isalpha(x)) {
                    cls_set(&re->cls[k], tolower(x));
                    cls_set(&re->cls[k], toupper(x));
                }
            }
        }
        if (p->i >= p->n) {
            p->err = "missing ]";
            return;
        }
        p->i++;
        if (neg)
            for (int b = 0; b < 32; b++) re->cls[k].bits[b] = (unsigned char)~re->cls[k].bits[b];
        emit(p, RI_CLASS, k, 0);
        return;
    }
    case '\\': {
        if (p->i >= p->n) {
            p->err = "trailing backslash";
            return;
        }
        char e = p->s[p->i++];
        if (strchr("dDwWsS", e)) {
            int k = new_class(p);
            cls_escape(&re->cls[k], e);
            emit(p, RI_CLASS, k, 0);
        } else if (e == 'b') {
            emit(p, RI_WORDB, 0, 0);
        } else if (e == 'B') {
            emit(p, RI_NWORDB, 0, 0);
        } else {
            emit(p, RI_CHAR, esc_char(e), 0);
        }
        return;
    }
    default: emit(p, RI_CHAR, (unsigned char)ch, 0); return;
    }
}

/* The decimal number at p->s[*j], advancing *j past its digits. Saturates
 * above 100000: only counts up to 100 make a quantifier, and a long run of
 * digits must not overflow. */
static int parse_count(const rparse *p, size_t *j) {
    int v = 0;
    for (; *j < p->n && isdigit((unsigned char)p->s[*j]); (*j)++)
        if (v <= 100000) v = v * 10 + (p->s[*j] - '0');
    return v;
}

static void parse_seq(rparse *p) {
    while (p->i < p->n && p->s[p->i] != '|' && p->s[p->i] != ')' && !p->err) {
        int start = p->re->ncode;
        parse_atom(p);
        if (p->err) return;
        if (p->i >= p->n) break;
        char q = p->s[p->i];
        int min = -1, max = -1;
        if (q == '*')
            min = 0, max = -1, p->i++;
        else if (q == '+')
            min = 1, max = -1, p->i++;
        else if (q == '?')
            min = 0, max = 1, p->i++;
        else if (q == '{' && p->i + 1 < p->n && isdigit((unsigned char)p->s[p->i + 1])) {
            size_t j = p->i + 1;
            int a = parse_count(p, &j), b = a;
            if (j < p->n && p->s[j] == ',') {
                j++;
                if (j < p->n && isdigit((unsigned char)p->s[j])) {
                    b = parse_count(p, &j);
                } else {
                    b = -1;
                }
            }
            if (j < p->n && p->s[j] == '}' && b >= 0 && b < a) {
                /* {7,2}: a syntax error in JavaScript too (fuzzing: the
                 * copies to allocate came out negative) */
                p->err = "numbers out of order in {} quantifier";
                return;
            }
            if (j < p->n && p->s[j] == '}' && a <= 100 && b <= 100) {
                min = a;
                max = b;
                p->i = j + 1;
            }
        }
        if (min < 0) continue;
        bool lazy = false;
        if (p->i < p->n && p->s[p->i] == '?') {
            lazy = true;
            p->i++;
        }
        /* the atom occupies [start, end); rebuild as min copies + optional part */
        int end = p->re->ncode;
        int len = end - start;
        rinst *atom = ja_alloc(p->a, sizeof(rinst) * (size_t)(len + 1));
        memcpy(atom, p->re->code + start, sizeof(rinst) * (size_t)len);
        p->re->ncode = start;
        /* stash atom at the end of the code temporarily to reuse dup_range */
        for (int k = 0; k < min; k++) emit_copy(p, atom, len, start);
        if (max < 0) {
            int l1 = emit(p, RI_SPLIT, 0, 0);
            emit_copy(p, atom, len, start);
            emit(p, RI_JMP, l1, 0);
            int l3 = p->re->ncode;
            p->re->code[l1] = lazy ? (rinst){RI_SPLIT, l3, l1 + 1} : (rinst){RI_SPLIT, l1 + 1, l3};
        } else {
            int *splits = ja_alloc(p->a, sizeof(int) * (size_t)(max - min + 1));
            int ns = 0;
            for (int k = min; k < max; k++) {
                splits[ns++] = emit(p, RI_SPLIT, 0, 0);
                emit_copy(p, atom, len, start);
            }
            int l3 = p->re->ncode;
            for (int k = 0; k < ns; k++)
                p->re->code[splits[k]] =
                    lazy ? (rinst){RI_SPLIT, l3, splits[k] + 1} : (rinst){RI_SPLIT, splits[k] + 1, l3};
        }
        if (p->re->ncode > 20000) {
            p->err = "regex too large";
            return;
        }
    }
}

static void parse_alt(rparse *p) {
    int start = p->re->ncode;
    parse_seq(p);
    if (p->err || p->i >= p->n || p->s[p->i] != '|') return;
    p->i++;
    /* wrap: SPLIT L1 L2; L1: first; JMP end; L2: rest */
    int len = p->re->ncode - start;
    rinst *first = ja_alloc(p->a, sizeof(rinst) * (size_t)(len + 1));
    memcpy(first, p->re->code + start, sizeof(rinst) * (size_t)len);
    p->re->ncode = start;
    int sp = emit(p, RI_SPLIT, 0, 0);
    for (int t = 0; t < len; t++) {
        rinst in = first[t];
        if (in.op == RI_JMP || in.op == RI_SPLIT) {
            in.x += 1;
            if (in.op == RI_SPLIT) in.y += 1;
        }
        emit(p, in.op, in.x, in.y);
    }
    int j = emit(p, RI_JMP, 0, 0);
    int l2 = p->re->ncode;
    parse_alt(p);
    p->re->code[sp] = (rinst){RI_SPLIT, sp + 1, l2};
    p->re->code[j].x = p->re->ncode;
}

jregex *jx_regex_compile(jarena *a, const char *pat, size_t n, const char *flags, const char **err) {
    jregex *re = ja_alloc(a, sizeof *re);
    re->icase = strchr(flags, 'i') != NULL;
    re->multiline = strchr(flags, 'm') != NULL;
    rparse p = {a, pat, 0, n, re, NULL, 0};
    emit(&p, RI_SAVE, 0, 0);
    parse_alt(&p);
    if (!p.err && p.i < n) p.err = "unbalanced )";
    emit(&p, RI_SAVE, 1, 0);
    emit(&p, RI_MATCH, 0, 0);
    (void)dup_range;
    *err = p.err;
    return p.err ? NULL : re;
}

typedef struct rexec {
    jctx *c;
    const jregex *re;
    const char *s;
    size_t n;
    long *caps;
    int depth;
} rexec;

static bool isword(int ch) { return isalnum(ch) || ch == '_'; }

static bool bt(rexec *x, int pc, size_t sp) {
    if (++x->depth > 5000)
        jx_throw(x->c, HS_JSONATA_EINVAL, "D1004", -1, "Regular expression is too complex for the input");
    const jregex *re = x->re;
    bool ok = false;
    for (;;) {
        jx_check(x->c);
        rinst in = re->code[pc];
        switch (in.op) {
        case RI_CHAR:
            if (sp < x->n &&
                ((unsigned char)x->s[sp] == in.x || (re->icase && tolower((unsigned char)x->s[sp]) == tolower(in.x)))) {
                pc++;
                sp++;
                continue;
            }
            goto out;
        case RI_ANY:
        case RI_CLASS:
            if (sp < x->n && cls_has(&re->cls[in.x], (unsigned char)x->s[sp])) {
                pc++;
                sp++;
                continue;
            }
            goto out;
        case RI_MATCH: ok = true; goto out;
        case RI_JMP: pc = in.x; continue;
        case RI_SPLIT:
            if (bt(x, in.x, sp)) {
                ok = true;
                goto out;
            }
            pc = in.y;
            continue;
        case RI_SAVE: {
            long old = x->caps[in.x];
            x->caps[in.x] = (long)sp;
            if (bt(x, pc + 1, sp)) {
                ok = true;
                goto out;
            }
            x->caps[in.x] = old;
            goto out;
        }
        case RI_BOL:
            if (sp == 0 || (re->multiline && x->s[sp - 1] == '\n')) {
                pc++;
                continue;
            }
            goto out;
        case RI_EOL:
            if (sp == x->n || (re->multiline && x->s[sp] == '\n')) {
                pc++;
                continue;
            }
            goto out;
        case RI_WORDB:
        case RI_NWORDB: {
            bool a = sp > 0 && isword((unsigned char)x->s[sp - 1]);
            bool b = sp < x->n && isword((unsigned char)x->s[sp]);
            if ((a != b) == (in.op == RI_WORDB)) {
                pc++;
                continue;
            }
            goto out;
        }
        }
    }
out:
    x->depth--;
    return ok;
}

/* find the first match at or after start; caps[0..2*(ngroups+1)) filled (-1 = unset) */
bool jx_regex_search(jctx *c, const jregex *re, const char *s, size_t n, size_t start, long *caps) {
    rexec x = {c, re, s, n, caps, 0};
    for (size_t st = start; st <= n; st++) {
        for (int k = 0; k < 2 * (re->ngroups + 1); k++) caps[k] = -1;
        if (bt(&x, 0, st)) return true;
    }
    return false;
}

int jx_regex_groups(const jregex *re) { return re->ngroups; }

static long *new_caps(jctx *c, const jregex *re) {
    return ja_alloc(&c->arena, sizeof(long) * (size_t)(2 * (re->ngroups + 1)));
}

static jv *match_obj(jctx *c, const jregex *re, const jv *str, const long *caps) {
    jv *o = jv_obj(c);
    jv_set(c, o, "match", jv_str(c, str->u.s.p + caps[0], (size_t)(caps[1] - caps[0])));
    jv_set(c, o, "index", jv_num(c, (double)caps[0]));
    jv *g = jv_arr(c);
    for (int k = 1; k <= re->ngroups; k++) {
        if (caps[2 * k] >= 0 && caps[2 * k + 1] >= 0)
            jv_push(c, g, jv_str(c, str->u.s.p + caps[2 * k], (size_t)(caps[2 * k + 1] - caps[2 * k])));
        else
            jv_push(c, g, jv_cstr(c, ""));
    }
    jv_set(c, o, "groups", g);
    return o;
}

jv *jx_regex_match_obj(jctx *c, const jregex *re, const jv *str, size_t start, long *end_out) {
    long *caps = new_caps(c, re);
    if (!jx_regex_search(c, re, str->u.s.p, str->u.s.len, start, caps)) return NULL;
    if (end_out) *end_out = caps[1];
    return match_obj(c, re, str, caps);
}

jv *jx_regex_matches(jctx *c, const jregex *re, const jv *str, double limit) {
    jv *r = jv_seq(c);
    size_t pos = 0;
    long *caps = new_caps(c, re);
    while (pos <= str->u.s.len && (limit < 0 || (double)r->u.a.n < limit)) {
        if (!jx_regex_search(c, re, str->u.s.p, str->u.s.len, pos, caps)) break;
        jv_push(c, r, match_obj(c, re, str, caps));
        pos = caps[1] > caps[0] ? (size_t)caps[1] : (size_t)caps[0] + 1;
    }
    return r;
}

jv *jx_regex_split(jctx *c, const jregex *re, const jv *str, double limit) {
    jv *r = jv_arr(c);
    size_t pos = 0, piece = 0;
    long *caps = new_caps(c, re);
    while (pos <= str->u.s.len) {
        if (!jx_regex_search(c, re, str->u.s.p, str->u.s.len, pos, caps)) break;
        if (caps[1] == caps[0]) {
            if ((size_t)caps[0] >= str->u.s.len) break;
            pos = (size_t)caps[0] + 1;
            if ((size_t)caps[0] == piece) continue;
        } else {
            pos = (size_t)caps[1];
        }
        jv_push(c, r, jv_str(c, str->u.s.p + piece, (size_t)caps[0] - piece));
        piece = (size_t)caps[1];
    }
    jv_push(c, r, jv_str(c, str->u.s.p + piece, str->u.s.len - piece));
    if (limit >= 0 && (double)r->u.a.n > limit) r->u.a.n = (size_t)limit;
    return r;
}

static void subst(jsb *b, const jregex *re, const jv *str, const long *caps, const jv *rep) {
    const char *s = rep->u.s.p;
    size_t n = rep->u.s.len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '$' || i + 1 >= n) {
            jsb_put(b, s + i, 1);
            continue;
        }
        if (s[i + 1] == '$') {
            jsb_put(b, "$", 1);
            i++;
            continue;
        }
        if (!isdigit((unsigned char)s[i + 1])) {
            jsb_put(b, "$", 1);
            continue;
        }
        size_t j = i + 1;
        while (j < n && isdigit((unsigned char)s[j])) j++;
        size_t dl = j - i - 1;
        if (dl > 6) dl = 6; /* group numbers never need more digits */
        /* use the longest prefix of the digits that names an existing group */
        for (;;) {
            long g = 0;
            for (size_t k = 0; k < dl; k++) g = g * 10 + (s[i + 1 + k] - '0');
            if (g <= re->ngroups || dl == 1) {
                if (g <= re->ngroups && caps[2 * g] >= 0 && caps[2 * g + 1] >= 0)
                    jsb_put(b, str->u.s.p + caps[2 * g], (size_t)(caps[2 * g + 1] - caps[2 * g]));
                jsb_put(b, s + i + 1 + dl, j - (i + 1 + dl));
                break;
            }
            dl--;
        }
        i = j - 1;
    }
}

jv *jx_regex_replace(jctx *c, const jregex *re, const jv *str, jv *rep, double limit) {
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    size_t pos = 0;
    long *caps = new_caps(c, re);
    double count = 0;
    while (pos <= str->u.s.len && (limit < 0 || count < limit)) {
        if (!jx_regex_search(c, re, str->u.s.p, str->u.s.len, pos, caps)) break;
        if (caps[1] == caps[0])
            jx_throw(c, HS_JSONATA_EINVAL, "D1004", c->err->position, "Regular expression matches zero length string");
        jsb_put(&b, str->u.s.p + pos, (size_t)caps[0] - pos);
        if (rep->t == JV_STR) {
            subst(&b, re, str, caps, rep);
        } else {
            jv *args[2] = {match_obj(c, re, str, caps), NULL};
            jv *r = jx_apply(c, rep, args, 1, NULL, c->err->position);
            if (!r || r->t != JV_STR)
                jx_throw(c, HS_JSONATA_EINVAL, "D3012", c->err->position,
                         "Attempted to replace a matched string with a non-string value");
            jsb_put(&b, r->u.s.p, r->u.s.len);
        }
        pos = (size_t)caps[1];
        count++;
    }
    if (pos < str->u.s.len) jsb_put(&b, str->u.s.p + pos, str->u.s.len - pos);
    return jsb_done(&b);
}
