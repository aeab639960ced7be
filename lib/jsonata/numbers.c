/* lib/jsonata/numbers.c — JSONata numeric and aggregation functions: $number,
 * $abs, $floor, $ceil, $round, $power, $sqrt, $random, $formatNumber (the
 * pictures are lib/jsonata/numfmt.c), $formatBase, $sum, $max, $min,
 * $average. $formatInteger and $parseInteger are lib/jsonata/intfmt.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

JF_FN(jf_number) {
    JF_UNUSED;
    jv *v = a[0];
    if (!v) return NULL;
    if (v->t == JV_NUM) return v;
    if (v->t == JV_BOOL) return jv_num(c, v->u.b);
    if (v->t == JV_STR) {
        const char *s = v->u.s.p;
        char *end = NULL;
        double d;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'b' || s[1] == 'B' || s[1] == 'o' || s[1] == 'O')) {
            int base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'b' || s[1] == 'B') ? 2 : 8;
            d = (double)strtoll(s + 2, &end, base);
            if (end && !*end && end != s + 2) return jv_num(c, d);
        } else {
            /* decimal number syntax (leading zeros allowed, like JavaScript) */
            const char *q = s;
            if (*q == '-') q++;
            bool ok = false;
            if (*q >= '0' && *q <= '9') {
                while (*q >= '0' && *q <= '9') q++;
                ok = true;
            }
            if (ok && *q == '.') {
                q++;
                if (!(*q >= '0' && *q <= '9')) ok = false;
                while (*q >= '0' && *q <= '9') q++;
            }
            if (ok && (*q == 'e' || *q == 'E')) {
                q++;
                if (*q == '+' || *q == '-') q++;
                if (!(*q >= '0' && *q <= '9')) ok = false;
                while (*q >= '0' && *q <= '9') q++;
            }
            if (ok && !*q) {
                d = strtod(s, NULL);
                if (isfinite(d)) return jv_num(c, d);
            }
        }
        jx_throw(c, HS_JSONATA_EINVAL, "D3030", c->err->position, "Unable to cast value to a number: %s", s);
    }
    jf_argerr(c, 1, "number");
    return NULL;
}

static jv *mathfn(jctx *c, jv **a, const char *fname, double (*f)(double)) {
    double x;
    if (!jf_num(c, a, 0, fname, &x)) return NULL;
    double r = f(x);
    if (r == 0) r = 0; /* no -0 */
    return jv_num(c, r);
}

JF_FN(jf_abs) {
    JF_UNUSED;
    return mathfn(c, a, "abs", fabs);
}

JF_FN(jf_floor) {
    JF_UNUSED;
    return mathfn(c, a, "floor", floor);
}

JF_FN(jf_ceil) {
    JF_UNUSED;
    return mathfn(c, a, "ceil", ceil);
}

static double shift10(double x, int p) {
    char buf[64], tmp[80];
    jx_fmt_num(x, buf, sizeof buf);
    char *e = strchr(buf, 'e');
    int ex = p;
    if (e) {
        ex += (int)strtol(e + 1, NULL, 10);
        *e = 0;
    }
    snprintf(tmp, sizeof tmp, "%se%d", buf, ex);
    return strtod(tmp, NULL);
}

JF_FN(jf_round) {
    JF_UNUSED;
    double x, pr = 0;
    if (!jf_num(c, a, 0, "round", &x)) return NULL;
    jf_num(c, a, 1, "round", &pr);
    if (!(pr > -400 && pr < 400)) pr = pr > 0 ? 400 : -400;
    int p = (int)pr;
    if (p) x = shift10(x, p);
    double r = floor(x + 0.5);
    if (fabs(r - x) == 0.5 && fmod(fabs(r), 2) == 1) r -= 1;
    if (p) r = shift10(r, -p);
    if (r == 0) r = 0;
    return jv_num(c, r);
}

JF_FN(jf_power) {
    JF_UNUSED;
    double x, y;
    bool hx = jf_num(c, a, 0, "power", &x);
    if (!a[1]) jf_argerr(c, 2, "power");
    jf_num(c, a, 1, "power", &y);
    if (!hx) return NULL;
    double r = pow(x, y);
    if (!isfinite(r))
        jx_throw(c, HS_JSONATA_EINVAL, "D3061", c->err->position,
                 "The power function has resulted in a value that cannot be represented as a JSON number");
    return jv_num(c, r);
}

JF_FN(jf_sqrt) {
    JF_UNUSED;
    double x;
    if (!jf_num(c, a, 0, "sqrt", &x)) return NULL;
    if (x < 0)
        jx_throw(c, HS_JSONATA_EINVAL, "D3060", c->err->position,
                 "The sqrt function cannot be applied to a negative number");
    return jv_num(c, sqrt(x));
}

/* lib/jsonata/funcs2.c — JSONata functions: date/time, encodings, errors,
 * $eval, $formatBase and friends. */

double jf_random01(void) {
    static __thread uint64_t s;
    if (!s) s = jx_clock_ns() | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

JF_FN(jf_random) {
    JF_UNUSED;
    (void)a;
    return jv_num(c, jf_random01());
}

JF_FN(jf_formatNumber) {
    JF_UNUSED;
    double x;
    if (!jf_num(c, a, 0, "formatNumber", &x)) return NULL;
    const jv *pic = jf_str(c, a, 1, "formatNumber");
    if (!pic) jf_argerr(c, 2, "formatNumber");
    if (a[2] && a[2]->t != JV_OBJ) jf_argerr(c, 3, "formatNumber");
    if (!isfinite(x)) return jv_cstr(c, x != x ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
    return jx_format_number(c, x, pic, a[2]);
}

JF_FN(jf_formatBase) {
    JF_UNUSED;
    double x, radix = 10;
    if (!jf_num(c, a, 0, "formatBase", &x)) return NULL;
    jf_num(c, a, 1, "formatBase", &radix);
    if (!(radix >= 2 && radix <= 36))
        jx_throw(c, HS_JSONATA_EINVAL, "D3100", c->err->position,
                 "The radix of the formatBase function must be between 2 and 36");
    int r = (int)radix;
    if (r < 2 || r > 36)
        jx_throw(c, HS_JSONATA_EINVAL, "D3100", c->err->position,
                 "The radix of the formatBase function must be between 2 and 36");
    double v = floor(x + 0.5);
    if (fabs(v - x) == 0.5 && fmod(fabs(v), 2) == 1) v -= 1;
    bool neg = v < 0;
    if (!(fabs(v) < 9.2e18))
        jx_throw(c, HS_JSONATA_EINVAL, "D3100", c->err->position, "The number is too large for formatBase");
    unsigned long long u = (unsigned long long)fabs(v);
    char buf[80];
    int i = 79;
    buf[i] = 0;
    do {
        buf[--i] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % (unsigned)r];
        u /= (unsigned)r;
    } while (u && i > 1);
    if (neg) buf[--i] = '-';
    return jv_cstr(c, buf + i);
}

static jv *numarr(jctx *c, jv *v, const char *fname) {
    jv *arr = jf_arr(c, v);
    if (!arr) return NULL;
    for (size_t i = 0; i < arr->u.a.n; i++)
        if (arr->u.a.v[i]->t != JV_NUM)
            jx_throw(c, HS_JSONATA_EINVAL, "T0412", c->err->position,
                     "Argument 1 of function \"%s\" must be an array of numbers", fname);
    return arr;
}

JF_FN(jf_sum) {
    JF_UNUSED;
    jv *arr = numarr(c, a[0], "sum");
    if (!arr) return NULL;
    double s = 0;
    for (size_t i = 0; i < arr->u.a.n; i++) s += arr->u.a.v[i]->u.n;
    return jv_num(c, s);
}

static jv *minmax(jctx *c, jv *v, bool mx, const char *fname) {
    jv *arr = numarr(c, v, fname);
    if (!arr || !arr->u.a.n) return NULL;
    double r = arr->u.a.v[0]->u.n;
    for (size_t i = 1; i < arr->u.a.n; i++) {
        double x = arr->u.a.v[i]->u.n;
        if (mx ? x > r : x < r) r = x;
    }
    return jv_num(c, r);
}

JF_FN(jf_max) {
    JF_UNUSED;
    return minmax(c, a[0], true, "max");
}

JF_FN(jf_min) {
    JF_UNUSED;
    return minmax(c, a[0], false, "min");
}

JF_FN(jf_average) {
    JF_UNUSED;
    jv *arr = numarr(c, a[0], "average");
    if (!arr || !arr->u.a.n) return NULL;
    double s = 0;
    for (size_t i = 0; i < arr->u.a.n; i++) s += arr->u.a.v[i]->u.n;
    return jv_num(c, s / (double)arr->u.a.n);
}
