/* lib/jsonata/lex.c — JSONata tokenizer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

static const char *const ops2[] = {"**", "..", ":=", "!=", "<=", ">=", "~>", "?:", "??", NULL};
static const char ops1[] = ".[]{}(),@#;:?+-*/%|=<>^&!~";

static bool lex_err(jlex *l, const char *code, int pos, const char *msg) {
    snprintf(l->e->code, sizeof l->e->code, "%s", code);
    l->e->pos = pos;
    snprintf(l->e->msg, sizeof l->e->msg, "%s", msg);
    return false;
}

static int hexv(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static size_t utf8_put(char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool lex_string(jlex *l, jtok *t, char q) {
    size_t start = l->i + 1, i = start;
    char *out = ja_alloc(l->a, l->len - start + 1);
    size_t o = 0;
    while (i < l->len) {
        char ch = l->src[i];
        if (ch == q) {
            out[o] = 0;
            t->t = T_STR;
            t->str = out;
            t->slen = o;
            l->i = i + 1;
            return true;
        }
        if (ch == '\\') {
            i++;
            if (i >= l->len) break;
            char e = l->src[i];
            switch (e) {
            case '"':
            case '\\':
            case '/':
            case '\'': out[o++] = e; break;
            case 'b': out[o++] = '\b'; break;
            case 'f': out[o++] = '\f'; break;
            case 'n': out[o++] = '\n'; break;
            case 'r': out[o++] = '\r'; break;
            case 't': out[o++] = '\t'; break;
            case 'u': {
                unsigned cp = 0;
                for (int k = 1; k <= 4; k++) {
                    int h = i + k < l->len ? hexv(l->src[i + k]) : -1;
                    if (h < 0)
                        return lex_err(l, "S0104", (int)i, "The escape sequence \\u must be followed by 4 hex digits");
                    cp = cp * 16 + (unsigned)h;
                }
                i += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < l->len + 0 && l->src[i + 1] == '\\' &&
                    l->src[i + 2] == 'u') {
                    unsigned lo = 0;
                    bool ok = true;
                    for (int k = 3; k <= 6; k++) {
                        int h = hexv(l->src[i + k]);
                        if (h < 0)
                            ok = false;
                        else
                            lo = lo * 16 + (unsigned)h;
                    }
                    if (ok && lo >= 0xDC00 && lo < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                o += utf8_put(out + o, cp);
                break;
            }
            default: return lex_err(l, "S0103", (int)i, "Unsupported escape sequence");
            }
            i++;
            continue;
        }
        out[o++] = ch;
        i++;
    }
    return lex_err(l, "S0101", (int)l->i, "String literal must be terminated by a matching quote");
}

bool jx_lex(jlex *l, jtok *t) {
    memset(t, 0, sizeof *t);
    const char *s = l->src;
    for (;;) {
        while (l->i < l->len && (s[l->i] == ' ' || s[l->i] == '\t' || s[l->i] == '\n' || s[l->i] == '\r' ||
                                 s[l->i] == '\v' || s[l->i] == '\f'))
            l->i++;
        if (l->i + 1 < l->len && s[l->i] == '/' && s[l->i + 1] == '*') {
            const char *end = strstr(s + l->i + 2, "*/");
            if (!end) return lex_err(l, "S0106", (int)l->i, "Comment has no closing tag");
            l->i = (size_t)(end - s) + 2;
            continue;
        }
        break;
    }
    t->pos = (int)l->i;
    if (l->i >= l->len) {
        t->t = T_END;
        return true;
    }
    char ch = s[l->i];
    for (int k = 0; ops2[k]; k++)
        if (l->i + 1 < l->len && s[l->i] == ops2[k][0] && s[l->i + 1] == ops2[k][1]) {
            /* "..": but not when it is a number like ".5"? JSONata has no leading-dot numbers */
            t->t = T_OP;
            memcpy(t->op, ops2[k], 2);
            l->i += 2;
            return true;
        }
    if (strchr(ops1, ch)) {
        t->t = T_OP;
        t->op[0] = ch;
        l->i++;
        return true;
    }
    if (ch == '"' || ch == '\'') return lex_string(l, t, ch);
    if (ch >= '0' && ch <= '9') {
        size_t i = l->i;
        if (s[i] == '0')
            i++;
        else
            while (i < l->len && s[i] >= '0' && s[i] <= '9') i++;
        if (i + 1 < l->len && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
            i++;
            while (i < l->len && s[i] >= '0' && s[i] <= '9') i++;
        }
        if (i < l->len && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < l->len && (s[j] == '+' || s[j] == '-')) j++;
            if (j < l->len && s[j] >= '0' && s[j] <= '9') {
                while (j < l->len && s[j] >= '0' && s[j] <= '9') j++;
                i = j;
            }
        }
        char *txt = ja_strndup(l->a, s + l->i, i - l->i);
        double d = strtod(txt, NULL);
        if (!isfinite(d)) return lex_err(l, "S0102", (int)l->i, "Number out of range");
        t->t = T_NUM;
        t->num = d;
        l->i = i;
        return true;
    }
    if (ch == '`') {
        const char *end = memchr(s + l->i + 1, '`', l->len - l->i - 1);
        if (!end) return lex_err(l, "S0105", (int)l->i, "Quoted property name must be terminated with a backquote");
        t->t = T_NAME;
        t->slen = (size_t)(end - s) - l->i - 1;
        t->str = ja_strndup(l->a, s + l->i + 1, t->slen);
        l->i = (size_t)(end - s) + 1;
        return true;
    }
    /* name or variable: everything up to whitespace or an operator char */
    bool var = ch == '$';
    size_t i = l->i + (var ? 1 : 0);
    while (i < l->len) {
        char c2 = s[i];
        if (c2 == ' ' || c2 == '\t' || c2 == '\n' || c2 == '\r' || c2 == '\v' || c2 == '\f' || strchr(ops1, c2) ||
            c2 == '"' || c2 == '\'' || c2 == '`')
            break;
        i++;
    }
    size_t st = l->i + (var ? 1 : 0);
    t->slen = i - st;
    t->str = ja_strndup(l->a, s + st, t->slen);
    l->i = i;
    if (var) {
        t->t = T_VAR;
    } else if (!strcmp(t->str, "and") || !strcmp(t->str, "or") || !strcmp(t->str, "in")) {
        t->t = T_OP;
        snprintf(t->op, sizeof t->op, "%s", t->str);
    } else if (!strcmp(t->str, "true") || !strcmp(t->str, "false") || !strcmp(t->str, "null")) {
        t->t = T_VALUE;
    } else {
        t->t = T_NAME;
    }
    return true;
}
