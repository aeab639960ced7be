/* src/base/json_parse.c — a strict JSON parser into jansson values
 * (json_parse.h): recursive descent over the buffer in place. A string
 * without escapes becomes a value straight from the input; one with
 * escapes is decoded into a scratch buffer first. Bytes of 0x80 and above
 * are checked as UTF-8 run by run (an escape never splits a character).
 */
#include "base/json_parse.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/json_text.h"

typedef struct parser {
    const char *start, *p, *end;
    int depth;
    hs_json_perr *err;
    hs_buf scratch; /* a string with escapes, decoded */
} parser;

static json_t *fail(parser *ps, const char *what) {
    if (ps->err && !ps->err->text[0]) {
        snprintf(ps->err->text, sizeof ps->err->text, "%s", what);
        ps->err->position = (size_t)(ps->p - ps->start);
    }
    return NULL;
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Four hex digits at p into *v. */
static bool hex4(const char *p, const char *end, unsigned *v) {
    if (end - p < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p[i]);
        if (d < 0) return false;
        *v = *v << 4 | (unsigned)d;
    }
    return true;
}

static void put_utf8(hs_buf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    hs_buf_append(b, u, n);
}

/* One escape after its backslash (ps->p at the letter) into scratch. */
static bool escape(parser *ps) {
    char c = *ps->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at = c ? strchr(from, c) : NULL;
    if (at) {
        hs_buf_append(&ps->scratch, &to[at - from], 1);
        return true;
    }
    unsigned cp, lo;
    if (c != 'u' || !hex4(ps->p, ps->end, &cp)) {
        ps->p--;
        fail(ps, "invalid escape");
        return false;
    }
    ps->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "invalid Unicode: a lone low surrogate"), false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || !hex4(ps->p + 2, ps->end, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail(ps, "invalid Unicode: a high surrogate without its low one"), false;
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0) return fail(ps, "\\u0000 is not allowed"), false;
    put_utf8(&ps->scratch, cp);
    return true;
}

/* The string at ps->p (its opening quote): *s and *n, in the input or in
 * scratch. */
static bool string(parser *ps, const char **s, size_t *n) {
    ps->p++;
    bool escaped = false;
    for (;;) {
        const char *run = ps->p;
        bool high = false;
        while (ps->p < ps->end) {
            unsigned char c = (unsigned char)*ps->p;
            if (c == '"' || c == '\\' || c < 0x20) break;
            high |= c >= 0x80;
            ps->p++;
        }
        size_t len = (size_t)(ps->p - run);
        if (high && !hs_utf8_valid(run, len)) {
            ps->p = run + hs_utf8_prefix(run, len);
            return fail(ps, "invalid UTF-8 in a string"), false;
        }
        if (ps->p == ps->end) return fail(ps, "unterminated string"), false;
        char c = *ps->p;
        if ((unsigned char)c < 0x20) return fail(ps, "control character in a string"), false;
        if (c == '"' && !escaped) {
            *s = run;
            *n = len;
            ps->p++;
            return true;
        }
        if (!escaped) {
            hs_buf_reset(&ps->scratch);
            escaped = true;
        }
        hs_buf_append(&ps->scratch, run, len);
        if (c == '"') {
            *s = ps->scratch.data ? ps->scratch.data : "";
            *n = ps->scratch.len;
            ps->p++;
            return true;
        }
        ps->p++; /* the backslash */
        if (ps->p == ps->end) return fail(ps, "unterminated string"), false;
        if (!escape(ps)) return false;
    }
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static json_t *number(parser *ps) {
    const char *s = ps->p;
    const char *p = s;
    if (p < ps->end && *p == '-') p++;
    if (p == ps->end || !is_digit(*p)) return fail(ps, "invalid number");
    if (*p == '0') {
        p++;
        if (p < ps->end && is_digit(*p)) return ps->p = p, fail(ps, "invalid number: a leading zero");
    } else {
        while (p < ps->end && is_digit(*p)) p++;
    }
    bool real = false;
    if (p < ps->end && *p == '.') {
        real = true;
        p++;
        if (p == ps->end || !is_digit(*p)) return ps->p = p, fail(ps, "invalid number");
        while (p < ps->end && is_digit(*p)) p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-')) p++;
        if (p == ps->end || !is_digit(*p)) return ps->p = p, fail(ps, "invalid number");
        while (p < ps->end && is_digit(*p)) p++;
    }
    size_t len = (size_t)(p - s);
    if (!real) {
        bool neg = *s == '-';
        uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const char *d = s + neg; d < p; d++) {
            uint64_t digit = (uint64_t)(*d - '0');
            if (v > (limit - digit) / 10) return fail(ps, neg ? "too big negative integer" : "too big integer");
            v = v * 10 + digit;
        }
        ps->p = p;
        return json_integer(neg ? (json_int_t)(0 - v) : (json_int_t)v);
    }
    char small[64];
    char *text = len < sizeof small ? small : hs_malloc(len + 1);
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    double d = strtod(text, NULL);
    int range = errno;
    if (text != small) hs_free(text);
    if (range == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
        return fail(ps, "real number overflow"); /* an underflow (0 or a subnormal) is the value */
    ps->p = p;
    return json_real(d);
}

static json_t *value(parser *ps);

/* After a member of an array or object: 1 when a ',' says another comes,
 * 0 at the closing character (both consumed), -1 when neither is there. */
static int next_member(parser *ps, char close, const char *what) {
    skip_ws(ps);
    if (ps->p < ps->end && (*ps->p == ',' || *ps->p == close)) {
        int more = *ps->p++ == ',';
        if (more) skip_ws(ps);
        return more;
    }
    fail(ps, what);
    return -1;
}

static json_t *array(parser *ps) {
    json_t *a = json_array();
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return a;
    }
    for (;;) {
        json_t *v = value(ps);
        if (!v) break;
        json_array_append_new(a, v);
        int more = next_member(ps, ']', "',' or ']' expected");
        if (more == 0) return a;
        if (more < 0) break;
    }
    json_decref(a);
    return NULL;
}

static json_t *object(parser *ps) {
    json_t *o = json_object();
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return o;
    }
    for (;;) {
        const char *key;
        size_t keylen;
        if (ps->p == ps->end || *ps->p != '"') {
            fail(ps, "a string key expected");
            break;
        }
        if (!string(ps, &key, &keylen)) break;
        /* the key may sit in scratch, which the value's strings reuse */
        char small[64];
        char *k = keylen < sizeof small ? small : hs_malloc(keylen + 1);
        memcpy(k, key, keylen);
        skip_ws(ps);
        json_t *v = NULL;
        if (ps->p < ps->end && *ps->p == ':') {
            ps->p++;
            skip_ws(ps);
            v = value(ps);
        } else {
            fail(ps, "':' expected");
        }
        if (v) json_object_setn_new_nocheck(o, k, keylen, v); /* a repeated key: the last value */
        if (k != small) hs_free(k);
        if (!v) break;
        int more = next_member(ps, '}', "',' or '}' expected");
        if (more == 0) return o;
        if (more < 0) break;
    }
    json_decref(o);
    return NULL;
}

static bool literal(parser *ps, const char *word, size_t len) {
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0) return false;
    ps->p += len;
    return true;
}

static json_t *value(parser *ps) {
    if (ps->p == ps->end) return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[': {
        if (++ps->depth > HS_JSON_DEPTH_MAX) return fail(ps, "maximum parsing depth reached");
        json_t *v = *ps->p == '{' ? object(ps) : array(ps);
        ps->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t n;
        return string(ps, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    }
    case 't': return literal(ps, "true", 4) ? json_true() : fail(ps, "invalid token");
    case 'f': return literal(ps, "false", 5) ? json_false() : fail(ps, "invalid token");
    case 'n': return literal(ps, "null", 4) ? json_null() : fail(ps, "invalid token");
    default: return *ps->p == '-' || is_digit(*ps->p) ? number(ps) : fail(ps, "invalid token");
    }
}

json_t *hs_json_parse(const char *s, size_t len, hs_json_perr *err) {
    if (err) {
        err->text[0] = '\0';
        err->position = 0;
    }
    parser ps = {.start = s, .p = s, .end = s + len, .err = err};
    hs_buf_init(&ps.scratch, SIZE_MAX);
    skip_ws(&ps);
    json_t *v = value(&ps);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            json_decref(v);
            v = fail(&ps, "end of input expected");
        }
    }
    hs_buf_free(&ps.scratch);
    return v;
}
