/* lib/jsonata/funcs2.c — JSONata functions: date/time, encodings, errors,
 * $eval, $formatBase and friends. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonata/jsonata_int.h"

#define FN(name) static jv *name(jctx *c, jv **a, int n, jv *input)
#define UNUSED (void)n, (void)input

double jf_random01(void) {
    static __thread uint64_t s;
    if (!s) s = jx_clock_ns() | 1;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / 9007199254740992.0;
}

static void iso_from_ms(double ms, char *out, size_t cap);

FN(f_now) {
    UNUSED;
    (void)a;
    char buf[64];
    iso_from_ms((double)c->now_ms, buf, sizeof buf);
    return jv_cstr(c, buf);
}
FN(f_millis) {
    UNUSED;
    (void)a;
    return jv_num(c, (double)c->now_ms);
}

/* days from civil (proleptic Gregorian) */
int64_t jx_days_from_civil(int64_t y, unsigned m, unsigned d);
int64_t jx_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}
void jx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
void jx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static void iso_from_ms(double ms, char *out, size_t cap) {
    int64_t t = (int64_t)floor(ms);
    int64_t days = t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
    int64_t rem = t - days * 86400000;
    int64_t y;
    unsigned mo, d;
    jx_civil_from_days(days, &y, &mo, &d);
    snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
}

FN(f_fromMillis) {
    UNUSED;
    double ms;
    if (!jf_num(c, a, 0, "fromMillis", &ms)) return NULL;
    if (!(fabs(ms) <= 8.64e15)) return NULL; /* outside the JavaScript Date range */
    const jv *pic = jf_str(c, a, 1, "fromMillis"), *tz = jf_str(c, a, 2, "fromMillis");
    if (pic || tz)
        return jx_format_datetime(c, ms, pic ? pic->u.s.p : "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]",
                                  tz ? tz->u.s.p : NULL);
    char buf[64];
    iso_from_ms(ms, buf, sizeof buf);
    return jv_cstr(c, buf);
}

static int digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

/* ISO 8601: YYYY[-MM[-DD[Thh:mm[:ss[.fff]][Z|±hh[:]mm]]]] */
static bool parse_iso(const char *s, double *ms) {
    const char *p = s;
    int y, mo = 1, d = 1, h = 0, mi = 0, se = 0, frac = 0, fracdiv = 1;
    int64_t off = 0;
    if (!digits(&p, 4, &y)) return false;
    if (*p == '-') {
        p++;
        if (!digits(&p, 2, &mo)) return false;
        if (*p == '-') {
            p++;
            if (!digits(&p, 2, &d)) return false;
            if (*p == 'T') {
                p++;
                if (!digits(&p, 2, &h)) return false;
                if (*p != ':') return false;
                p++;
                if (!digits(&p, 2, &mi)) return false;
                if (*p == ':') {
                    p++;
                    if (!digits(&p, 2, &se)) return false;
                    if (*p == '.') {
                        p++;
                        int k = 0;
                        while (*p >= '0' && *p <= '9') {
                            if (k < 3) {
                                frac = frac * 10 + (*p - '0');
                                fracdiv *= 10;
                            }
                            k++;
                            p++;
                        }
                        if (!k) return false;
                    }
                }
                if (*p == 'Z')
                    p++;
                else if (*p == '+' || *p == '-') {
                    int sign = *p == '-' ? -1 : 1, oh, om = 0;
                    p++;
                    if (!digits(&p, 2, &oh)) return false;
                    if (*p == ':') p++;
                    if (*p && !digits(&p, 2, &om)) return false;
                    off = sign * (oh * 60 + om);
                }
            }
        }
    }
    if (*p) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || se > 60) return false;
    int64_t days = jx_days_from_civil(y, (unsigned)mo, (unsigned)d);
    double t = (double)days * 86400000.0 + h * 3600000.0 + mi * 60000.0 + se * 1000.0 +
               (double)frac * 1000.0 / fracdiv - (double)off * 60000.0;
    *ms = t;
    return true;
}

FN(f_toMillis) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "toMillis");
    if (!s) return NULL;
    const jv *pic = jf_str(c, a, 1, "toMillis");
    if (pic) return jx_parse_datetime(c, s->u.s.p, pic->u.s.p);
    double ms;
    if (!parse_iso(s->u.s.p, &ms))
        jx_throw(c, HS_JSONATA_EINVAL, "D3110", c->err->position, "The timestamp cannot be parsed: %s", s->u.s.p);
    return jv_num(c, ms);
}

/* Standard base64 (RFC 4648 §4) with padding, into the arena. Decoding is
 * strict (a length of a multiple of 4, padding only at the end, no
 * whitespace), as it was when the engine used the server's decoder. The
 * library does not link OpenSSL, so EVP_EncodeBlock/EVP_DecodeBlock are not
 * an option (and EVP_DecodeBlock counts padding as data bytes and skips
 * whitespace). */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

FN(f_base64encode) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "base64encode");
    if (!s) return NULL;
    const unsigned char *p = (const unsigned char *)s->u.s.p;
    size_t len = s->u.s.len;
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < len; i += 3) {
        size_t k = len - i < 3 ? len - i : 3;
        unsigned v = (unsigned)p[i] << 16 | (k > 1 ? (unsigned)p[i + 1] << 8 : 0) | (k > 2 ? p[i + 2] : 0);
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], k > 1 ? B64[(v >> 6) & 63] : '=', k > 2 ? B64[v & 63] : '='};
        jsb_put(&b, q, 4);
    }
    return jsb_done(&b);
}

static int b64val(unsigned char ch) {
    const char *q = ch ? strchr(B64, ch) : NULL;
    return q ? (int)(q - B64) : -1;
}

FN(f_base64decode) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "base64decode");
    if (!s) return NULL;
    const char *p = s->u.s.p;
    size_t len = s->u.s.len;
    if (len % 4) jx_throw(c, HS_JSONATA_EINVAL, "D3137", c->err->position, "Invalid base64 string");
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < len; i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            int d = 0;
            if (p[i + (size_t)k] == '=' && i + 4 == len && k >= 2)
                pad++;
            else if (pad || (d = b64val((unsigned char)p[i + (size_t)k])) < 0)
                jx_throw(c, HS_JSONATA_EINVAL, "D3137", c->err->position, "Invalid base64 string");
            v = v << 6 | (unsigned)d;
        }
        char out[3] = {(char)(v >> 16), (char)(v >> 8), (char)v};
        jsb_put(&b, out, (size_t)(3 - pad));
    }
    return jsb_done(&b);
}

static bool utf8_valid(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        size_t k = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) return false;
        if (k == 3) {
            unsigned cp = ((ch & 0xFu) << 12) | (((unsigned char)s[i + 1] & 0x3Fu) << 6);
            if (cp >= 0xD800 && cp < 0xE000) return false;
        }
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static jv *url_encode(jctx *c, jv **a, const char *keep, const char *fname) {
    const jv *s = jf_str(c, a, 0, fname);
    if (!s) return NULL;
    if (!utf8_valid(s->u.s.p, s->u.s.len))
        jx_throw(c, HS_JSONATA_EINVAL, "D3140", c->err->position, "Malformed URL passed to $%s()", fname);
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < s->u.s.len; i++) {
        unsigned char ch = (unsigned char)s->u.s.p[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr(keep, ch)) {
            if (ch) jsb_put(&b, (const char *)&ch, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", ch);
            jsb_put(&b, hex, 3);
        }
    }
    return jsb_done(&b);
}
FN(f_encodeUrlComponent) {
    UNUSED;
    return url_encode(c, a, "-_.!~*'()", "encodeUrlComponent");
}
FN(f_encodeUrl) {
    UNUSED;
    return url_encode(c, a, "-_.!~*'();/?:@&=+$,#", "encodeUrl");
}

static int hexv(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}
static jv *url_decode(jctx *c, jv **a, const char *reserved, const char *fname) {
    const jv *s = jf_str(c, a, 0, fname);
    if (!s) return NULL;
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < s->u.s.len; i++) {
        char ch = s->u.s.p[i];
        if (ch == '%') {
            int h1 = i + 2 < s->u.s.len + 0 ? hexv(s->u.s.p[i + 1]) : -1;
            int h2 = i + 2 < s->u.s.len + 1 ? hexv(s->u.s.p[i + 2]) : -1;
            if (h1 < 0 || h2 < 0)
                jx_throw(c, HS_JSONATA_EINVAL, "D3140", c->err->position, "Malformed URL passed to $%s()", fname);
            char v = (char)(h1 * 16 + h2);
            if (v && strchr(reserved, v))
                jsb_put(&b, s->u.s.p + i, 3);
            else
                jsb_put(&b, &v, 1);
            i += 2;
        } else {
            jsb_put(&b, &ch, 1);
        }
    }
    if (!utf8_valid(b.p, b.n))
        jx_throw(c, HS_JSONATA_EINVAL, "D3140", c->err->position, "Malformed URL passed to $%s()", fname);
    return jsb_done(&b);
}
FN(f_decodeUrlComponent) {
    UNUSED;
    return url_decode(c, a, "", "decodeUrlComponent");
}
FN(f_decodeUrl) {
    UNUSED;
    return url_decode(c, a, ";/?:@&=+$,#", "decodeUrl");
}

FN(f_error) {
    UNUSED;
    const jv *m = jf_str(c, a, 0, "error");
    jx_throw(c, HS_JSONATA_EINVAL, "D3137", c->err->position, "%s", m ? m->u.s.p : "$error() function evaluated");
}

FN(f_assert) {
    UNUSED;
    if (!a[0] || a[0]->t != JV_BOOL) jf_argerr(c, 1, "assert");
    const jv *m = jf_str(c, a, 1, "assert");
    if (!a[0]->u.b)
        jx_throw(c, HS_JSONATA_EINVAL, "D3141", c->err->position, "%s", m ? m->u.s.p : "$assert() statement failed");
    return NULL;
}

/* evaluate root, turning evaluation errors into D3121; limits propagate */
static jv *eval_guarded(jctx *c, jnode *root_in, jv *ctx_in) {
    jnode *volatile root = root_in;
    jv *volatile ctx = ctx_in;
    jmp_buf saved;
    memcpy(saved, c->jb, sizeof saved);
    volatile int depth = c->depth;
    if (setjmp(c->jb)) {
        memcpy(c->jb, saved, sizeof saved);
        c->depth = depth;
        if (c->rc == HS_JSONATA_EINVAL) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", c->err->message);
            jx_throw(c, HS_JSONATA_EINVAL, "D3121", c->err->position,
                     "Dynamic error evaluating the expression passed to function eval: %.150s", msg);
        }
        longjmp(c->jb, 1);
    }
    jv *r = jx_eval(c, root, ctx, c->global);
    memcpy(c->jb, saved, sizeof saved);
    return r;
}

FN(f_eval) {
    UNUSED;
    const jv *s = jf_str(c, a, 0, "eval");
    if (!s) return NULL;
    jparse_err pe = {{0}, -1, {0}};
    size_t lim = c->arena.limit;
    jnode *root = jx_parse(&c->arena, s->u.s.p, &pe);
    c->arena.limit = lim;
    if (!root)
        jx_throw(c, HS_JSONATA_EINVAL, "D3120", c->err->position,
                 "Syntax error in expression passed to function eval: %s", pe.msg);
    return eval_guarded(c, root, n > 1 && a[1] ? a[1] : input);
}

FN(f_formatBase) {
    UNUSED;
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

FN(f_formatNumber) {
    UNUSED;
    double x;
    if (!jf_num(c, a, 0, "formatNumber", &x)) return NULL;
    const jv *pic = jf_str(c, a, 1, "formatNumber");
    if (!pic) jf_argerr(c, 2, "formatNumber");
    if (a[2] && a[2]->t != JV_OBJ) jf_argerr(c, 3, "formatNumber");
    if (!isfinite(x)) return jv_cstr(c, x != x ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
    return jx_format_number(c, x, pic, a[2]);
}

FN(f_random) {
    UNUSED;
    (void)a;
    return jv_num(c, jf_random01());
}

static const jbuiltin builtins2[] = {
    {"now", f_now, 0, 2, 0, NULL},
    {"millis", f_millis, 0, 0, 0, NULL},
    {"fromMillis", f_fromMillis, 1, 3, 1, NULL},
    {"toMillis", f_toMillis, 1, 2, 1, NULL},
    {"base64encode", f_base64encode, 1, 1, 1, NULL},
    {"base64decode", f_base64decode, 1, 1, 1, NULL},
    {"encodeUrlComponent", f_encodeUrlComponent, 1, 1, 1, NULL},
    {"encodeUrl", f_encodeUrl, 1, 1, 1, NULL},
    {"decodeUrlComponent", f_decodeUrlComponent, 1, 1, 1, NULL},
    {"decodeUrl", f_decodeUrl, 1, 1, 1, NULL},
    {"error", f_error, 0, 1, 0, NULL},
    {"assert", f_assert, 1, 2, 0, NULL},
    {"eval", f_eval, 1, 2, 0, NULL},
    {"formatBase", f_formatBase, 1, 2, 1, NULL},
    {"random", f_random, 0, 0, 0, NULL},
    {"formatNumber", f_formatNumber, 2, 3, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL},
};

const jbuiltin *jf_builtin_find2(const char *name) {
    for (const jbuiltin *b = builtins2; b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return NULL;
}
