/* lib/jsonschema/regex.c — ECMA-262 patterns translated to POSIX extended
 * regular expressions for regcomp/regexec (REG_EXTENDED | REG_NOSUB).
 *
 * Translated: \d \D \w \W \s \S (ASCII classes), \b \B (glibc's GNU
 * operators), \n \t \r \f \v \xHH \uHHHH (and surrogate pairs) \cX, escaped
 * punctuation, (?:...) and (?<name>...) as plain groups, lazy quantifiers
 * (*? +? ?? {n,m}?) as greedy ones (the same strings match), "." as any
 * character but \n and \r, a literal '{' that is not a quantifier, bracket
 * expressions rebuilt in POSIX form (ASCII members only).
 * Refused (-1): lookahead/lookbehind, backreferences, \p{...}, \0, non-ASCII
 * members of a bracket expression, [] and [^], and counted repetitions whose
 * bounds multiply past 10000 (they make regcomp build huge automata).
 * Matching is by bytes: "." and negated classes match one byte of a
 * multi-byte UTF-8 character, not the whole character. */
#include <stdio.h>
#include <string.h>

#include "jsonschema/jsonschema_int.h"

#define REP_PRODUCT_MAX 10000

typedef struct tx {
    const char *s;
    size_t n, i;
    char *out;
    size_t cap, len;
    char *why;
    size_t whycap;
    int rc;
    double reps;
} tx;

static int refuse(tx *t, int rc, const char *msg) {
    if (!t->rc) {
        t->rc = rc;
        snprintf(t->why, t->whycap, "%s", msg);
    }
    return rc;
}

static void emit(tx *t, const char *p, size_t n) {
    if (t->len + n + 1 > t->cap) {
        refuse(t, -1, "pattern too long after translation");
        return;
    }
    memcpy(t->out + t->len, p, n);
    t->len += n;
    t->out[t->len] = 0;
}
static void emits(tx *t, const char *p) { emit(t, p, strlen(p)); }

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static long read_hex(tx *t, int digits) {
    long v = 0;
    for (int k = 0; k < digits; k++) {
        if (t->i >= t->n || hexval((unsigned char)t->s[t->i]) < 0) return -1;
        v = v * 16 + hexval((unsigned char)t->s[t->i++]);
    }
    return v;
}

/* \uHHHH with its low surrogate when it is a high one; -1 when malformed */
static long read_u(tx *t) {
    long cp = read_hex(t, 4);
    if (cp >= 0xD800 && cp <= 0xDBFF && t->i + 6 <= t->n && t->s[t->i] == '\\' && t->s[t->i + 1] == 'u') {
        size_t save = t->i;
        t->i += 2;
        long lo = read_hex(t, 4);
        if (lo >= 0xDC00 && lo <= 0xDFFF) return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        t->i = save;
    }
    return cp;
}

static size_t utf8_put(long cp, char *b) {
    if (cp < 0x80) return b[0] = (char)cp, 1;
    if (cp < 0x800) return b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* a literal code point outside a bracket expression */
static void emit_literal(tx *t, long cp) {
    if (cp == 0) {
        refuse(t, -1, "NUL in a pattern is not supported");
        return;
    }
    if (cp < 0x80) {
        char b[3] = {'\\', (char)cp, 0};
        if (strchr(".[]()*+?{}|^$\\", (int)cp))
            emit(t, b, 2);
        else
            emit(t, b + 1, 1);
        return;
    }
    char b[6];
    size_t n = utf8_put(cp, b + 1);
    b[0] = '(';
    b[n + 1] = ')';
    emit(t, b, n + 2);
}

/* the escape after a backslash outside or inside a class: a code point
 * (>= 0), or a class letter as -'d' etc. (-1000 - letter) */
static long escape(tx *t, bool in_class) {
    if (t->i >= t->n) return refuse(t, -2, "pattern ends with a backslash"), 0;
    int c = (unsigned char)t->s[t->i++];
    switch (c) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 's':
    case 'S': return -1000 - c;
    case 'b': return in_class ? 8 : -1000 - c;
    case 'B': return in_class ? 'B' : -1000 - c;
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'x': {
        long v = read_hex(t, 2);
        return v < 0 ? (refuse(t, -2, "bad \\x escape"), 0) : v;
    }
    case 'u': {
        long v = read_u(t);
        return v < 0 ? (refuse(t, -2, "bad \\u escape"), 0) : v;
    }
    case 'c':
        if (t->i < t->n && ((t->s[t->i] | 0x20) >= 'a' && (t->s[t->i] | 0x20) <= 'z')) return t->s[t->i++] % 32;
        return '\\';
    case '0': return refuse(t, -1, "\\0 (NUL) is not supported"), 0;
    case 'p':
    case 'P': return refuse(t, -1, "Unicode property escapes (\\p{...}) are not supported"), 0;
    case 'k': return refuse(t, -1, "named backreferences are not supported"), 0;
    default:
        if (c >= '1' && c <= '9') return in_class ? c : (refuse(t, -1, "backreferences are not supported"), 0);
        return c;
    }
}

static void set_class(bool *set, int letter) {
    for (int ch = 1; ch < 128; ch++) {
        bool in = false;
        switch (letter | 0x20) {
        case 'd': in = ch >= '0' && ch <= '9'; break;
        case 'w': in = (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch == '_'; break;
        default: in = ch == ' ' || (ch >= '\t' && ch <= '\r'); break;
        }
        if (in) set[ch] = true;
    }
}

static void bracket(tx *t) {
    bool set[128] = {0}, neg = false;
    if (t->i < t->n && t->s[t->i] == '^') neg = true, t->i++;
    for (;;) {
        if (t->i >= t->n) return (void)refuse(t, -2, "unterminated character class");
        if (t->s[t->i] == ']') {
            t->i++;
            break;
        }
        long lo;
        if (t->s[t->i] == '\\') {
            t->i++;
            lo = escape(t, true);
        } else {
            lo = (unsigned char)t->s[t->i++];
        }
        if (t->rc) return;
        if (lo <= -1000) {
            int letter = (int)(-1000 - lo);
            if (letter >= 'A' && letter <= 'Z') return (void)refuse(t, -1, "\\D, \\W or \\S inside a class");
            set_class(set, letter);
            continue;
        }
        long hi = lo;
        if (t->i + 1 < t->n && t->s[t->i] == '-' && t->s[t->i + 1] != ']') {
            t->i++;
            if (t->s[t->i] == '\\') {
                t->i++;
                hi = escape(t, true);
            } else {
                hi = (unsigned char)t->s[t->i++];
            }
            if (t->rc) return;
            if (hi <= -1000) return (void)refuse(t, -1, "a class escape as a range end");
            if (hi < lo) return (void)refuse(t, -2, "range out of order in character class");
        }
        if (lo >= 128 || hi >= 128) return (void)refuse(t, -1, "non-ASCII characters in a bracket expression");
        for (long ch = lo; ch <= hi; ch++)
            if (ch) set[ch] = true;
    }
    int count = 0;
    for (int ch = 1; ch < 128; ch++) count += set[ch];
    if (!count) return (void)refuse(t, -1, "empty character class ([] or [^])");
    if (!neg && count == 1 && set['^']) return emits(t, "\\^");
    emits(t, neg ? "[^" : "[");
    if (set[']']) emits(t, "]");
    for (int ch = 1; ch < 128; ch++) {
        if (!set[ch] || ch == ']' || ch == '^' || ch == '-') continue;
        char b = (char)ch;
        emit(t, &b, 1);
    }
    if (set['^']) emits(t, "^");
    if (set['-']) emits(t, "-");
    emits(t, "]");
}

/* The decimal number at *j (advanced past it), saturating at 1000000 (any
 * count over 1000 is refused below; a long run of digits must not
 * overflow); -1 when there is no digit. */
static long number_at(const tx *t, size_t *j) {
    long v = -1;
    for (; *j < t->n && t->s[*j] >= '0' && t->s[*j] <= '9'; (*j)++) {
        long d = t->s[*j] - '0';
        v = v < 0 ? d : v < 1000000 ? v * 10 + d : v;
    }
    return v;
}

/* {n}, {n,} or {n,m} at t->i (after the '{'): true and copied when it is
 * one, false (nothing consumed) when the brace is a literal */
static bool counted(tx *t) {
    size_t j = t->i;
    long lo = number_at(t, &j), hi = -1;
    if (lo < 0) return false;
    if (j < t->n && t->s[j] == ',') {
        j++;
        long v = number_at(t, &j);
        hi = v >= 0 ? v : lo + 1;
    } else {
        hi = lo;
    }
    if (j >= t->n || t->s[j] != '}') return false;
    if (hi < lo) return refuse(t, -2, "numbers out of order in {} quantifier"), true;
    t->reps *= (double)(hi > 1 ? hi : 1);
    if (hi > 1000 || t->reps > REP_PRODUCT_MAX) return refuse(t, -1, "counted repetitions too large"), true;
    emit(t, "{", 1);
    emit(t, t->s + t->i, j - t->i + 1);
    t->i = j + 1;
    return true;
}

int js_regex_translate(const char *src, size_t len, char *out, size_t cap, char *why, size_t whycap) {
    tx t = {.s = src, .n = len, .out = out, .cap = cap, .why = why, .whycap = whycap, .reps = 1};
    out[0] = 0;
    int depth = 0;
    bool quantifiable = false;
    while (t.i < t.n && !t.rc) {
        int c = (unsigned char)src[t.i++];
        bool was = quantifiable;
        quantifiable = true;
        switch (c) {
        case '\\': {
            long e = escape(&t, false);
            if (t.rc) break;
            if (e <= -1000) {
                static const char *cls[] = {"[0-9]",         "[^0-9]",      "[A-Za-z0-9_]",
                                            "[^A-Za-z0-9_]", "[[:space:]]", "[^[:space:]]"};
                int letter = (int)(-1000 - e);
                const char *l = strchr("dDwWsS", letter);
                if (l) {
                    emits(&t, cls[l - "dDwWsS"]);
                } else {
                    emits(&t, letter == 'b' ? "\\b" : "\\B");
                    quantifiable = false;
                }
            } else {
                emit_literal(&t, e);
            }
            break;
        }
        case '[': bracket(&t); break;
        case '(':
            quantifiable = false;
            depth++;
            if (t.i < t.n && src[t.i] == '?') {
                if (t.i + 1 < t.n && src[t.i + 1] == ':') {
                    t.i += 2;
                } else if (t.i + 1 < t.n && src[t.i + 1] == '<' && t.i + 2 < t.n && src[t.i + 2] != '=' &&
                           src[t.i + 2] != '!') {
                    const char *gt = memchr(src + t.i, '>', t.n - t.i);
                    if (!gt) return refuse(&t, -2, "unterminated group name");
                    t.i = (size_t)(gt - src) + 1;
                } else if (t.i + 1 < t.n && strchr("=!<", src[t.i + 1])) {
                    return refuse(&t, -1, "lookahead and lookbehind are not supported");
                } else {
                    return refuse(&t, -2, "invalid group");
                }
            }
            emits(&t, "(");
            break;
        case ')':
            if (!depth--) return refuse(&t, -2, "unmatched ')'");
            emits(&t, ")");
            break;
        case '|': quantifiable = false, emits(&t, "|"); break;
        case '^':
        case '$': quantifiable = false, emit(&t, (char *)&(char){(char)c}, 1); break;
        case '.': emits(&t, "[^\n\r]"); break;
        case '*':
        case '+':
        case '?':
            if (!was) return refuse(&t, -2, "nothing to repeat");
            emit(&t, (char *)&(char){(char)c}, 1);
            if (t.i < t.n && src[t.i] == '?') t.i++; /* lazy: the same strings match */
            quantifiable = false;
            break;
        case '{':
            if (was && counted(&t)) {
                if (t.i < t.n && src[t.i] == '?') t.i++;
                quantifiable = false;
            } else if (!t.rc) {
                emits(&t, "\\{");
            }
            break;
        case '}': emits(&t, "\\}"); break;
        case ']': emits(&t, "\\]"); break;
        default:
            if (c >= 0x80) { /* a whole UTF-8 character, grouped so that a quantifier takes all of it */
                size_t start = t.i - 1;
                while (t.i < t.n && ((unsigned char)src[t.i] & 0xC0) == 0x80) t.i++;
                emits(&t, "(");
                emit(&t, src + start, t.i - start);
                emits(&t, ")");
            } else {
                emit(&t, (char *)&(char){(char)c}, 1);
            }
        }
    }
    if (!t.rc && depth) refuse(&t, -2, "unmatched '('");
    return t.rc;
}

int js_regex_compile(regex_t *re, const char *src, size_t len, char *why, size_t whycap) {
    size_t cap = len * 16 + 64;
    char *out = js_alloc(cap);
    int rc = js_regex_translate(src, len, out, cap, why, whycap);
    if (!rc) {
        int e = regcomp(re, out, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char msg[128];
            regerror(e, re, msg, sizeof msg);
            snprintf(why, whycap, "regcomp: %s", msg);
            rc = -2;
        }
    }
    js_free(out);
    return rc;
}
