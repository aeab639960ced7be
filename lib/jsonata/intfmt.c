/* lib/jsonata/intfmt.c — $formatInteger and $parseInteger: XPath F&O 3.1
 * format-integer pictures as JSONata reads them. A picture is a primary
 * format and an optional ';' modifier ('o': ordinal):
 *   decimal digit patterns  "0", "000", "#,##0", "##,##,##0", any Unicode
 *                           decimal digit family ("###٠"; one family only)
 *   "a" / "A"               spreadsheet letters (1 a, 26 z, 27 aa)
 *   "i" / "I"               roman numerals
 *   "w" / "W" / "Ww"        English words, lower, upper or title case
 * Anything else is a numbering sequence JSONata does not have (D3130).
 * Grouping separators repeat when they are equally spaced and alike, as in
 * the reference implementation; a separator is written only between digits.
 * $parseInteger reads what $formatInteger writes and gives undefined for
 * text it cannot read. */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "jsonata/jsonata_int.h"

enum { IP_DECIMAL, IP_LETTERS, IP_ROMAN, IP_WORDS };
enum { IC_LOWER, IC_UPPER, IC_TITLE };

typedef struct isep {
    int pos;    /* digits to its right */
    char ch[5]; /* UTF-8 */
} isep;

typedef struct ipic {
    int kind, tcase;
    bool ordinal;
    unsigned zero; /* the digit family's zero code point */
    int mandatory; /* decimal digits in the pattern */
    int regular;   /* > 0: one separator every `regular` digits (sep[0].ch) */
    isep *sep;     /* the separators, ascending pos */
    int nsep;
} ipic;

/* Unicode decimal digit families, by their zero (as the reference has them) */
static const unsigned DIGIT_ZEROS[] = {0x30,   0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6,
                                       0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0,
                                       0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
                                       0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10};

static unsigned digit_zero(unsigned cp) {
    for (size_t i = 0; i < sizeof DIGIT_ZEROS / sizeof DIGIT_ZEROS[0]; i++)
        if (cp >= DIGIT_ZEROS[i] && cp <= DIGIT_ZEROS[i] + 9) return DIGIT_ZEROS[i];
    return 0;
}

/* The code point at s[*i] (a lone byte when not valid UTF-8); *i moves past it. */
static unsigned utf8_next(const char *s, size_t n, size_t *i) {
    unsigned char b = (unsigned char)s[*i];
    size_t k = b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (*i + k > n) k = 1;
    unsigned cp = k == 1 ? b : b & (0x3Fu >> (k - 1));
    for (size_t j = 1; j < k; j++) cp = cp << 6 | ((unsigned char)s[*i + j] & 0x3Fu);
    *i += k;
    return cp;
}

static size_t utf8_put(char *out, unsigned cp) {
    if (cp < 0x80) return out[0] = (char)cp, 1;
    if (cp < 0x800) return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), 2;
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

_Noreturn static void no_sequence(jctx *c, const char *pic) {
    jx_throw(c, HS_JSONATA_EINVAL, "D3130", c->err->position,
             "Formatting or parsing an integer as a sequence starting with %.40s is not supported by this "
             "implementation",
             pic);
}

static void analyse(jctx *c, const jv *picture, ipic *p) {
    memset(p, 0, sizeof *p);
    const char *s = picture->u.s.p;
    size_t n = picture->u.s.len;
    const char *semi = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ';') semi = s + i;
    if (semi) {
        p->ordinal = semi + 1 < s + n && semi[1] == 'o';
        n = (size_t)(semi - s);
    }
    static const struct {
        const char *pic;
        int kind, tcase;
    } named[] = {{"a", IP_LETTERS, IC_LOWER}, {"A", IP_LETTERS, IC_UPPER}, {"i", IP_ROMAN, IC_LOWER},
                 {"I", IP_ROMAN, IC_UPPER},   {"w", IP_WORDS, IC_LOWER},   {"W", IP_WORDS, IC_UPPER},
                 {"Ww", IP_WORDS, IC_TITLE}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
        if (strlen(named[k].pic) == n && !memcmp(named[k].pic, s, n)) {
            p->kind = named[k].kind;
            p->tcase = named[k].tcase;
            return;
        }
    /* a decimal digit pattern, read from the right */
    p->kind = IP_DECIMAL;
    p->sep = ja_alloc(&c->arena, sizeof(isep) * (n + 1));
    int pos = 0;
    size_t i = n;
    while (i > 0) {
        size_t st = i - 1;
        while (st > 0 && ((unsigned char)s[st] & 0xC0) == 0x80) st--;
        size_t at = st;
        unsigned cp = utf8_next(s, i, &at);
        unsigned z = digit_zero(cp);
        if (z) {
            if (p->mandatory && z != p->zero)
                jx_throw(c, HS_JSONATA_EINVAL, "D3131", c->err->position,
                         "In a decimal digit pattern, all digits must be from the same decimal group");
            p->zero = z;
            p->mandatory++;
            pos++;
        } else if (cp == '#') {
            pos++;
        } else {
            isep *e = &p->sep[p->nsep++];
            e->pos = pos;
            memset(e->ch, 0, sizeof e->ch);
            memcpy(e->ch, s + st, i - st < 4 ? i - st : 4);
        }
        i = st;
    }
    if (!p->mandatory) no_sequence(c, picture->u.s.p);
    /* regular: alike and at f, 2f, 3f... */
    p->regular = p->nsep && p->sep[0].pos > 0 ? p->sep[0].pos : 0;
    for (int k = 1; k < p->nsep && p->regular; k++)
        if (p->sep[k].pos != (k + 1) * p->regular || strcmp(p->sep[k].ch, p->sep[0].ch)) p->regular = 0;
}

/* ---- words ---- */
static const char *const FEW[] = {"Zero",     "One",     "Two",     "Three",     "Four",     "Five",    "Six",
                                  "Seven",    "Eight",   "Nine",    "Ten",       "Eleven",   "Twelve",  "Thirteen",
                                  "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"};
static const char *const ORDINALS[] = {"Zeroth",    "First",     "Second",      "Third",      "Fourth",
                                       "Fifth",     "Sixth",     "Seventh",     "Eighth",     "Ninth",
                                       "Tenth",     "Eleventh",  "Twelfth",     "Thirteenth", "Fourteenth",
                                       "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"};
static const char *const DECADES[] = {"Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"};
static const char *const MAGNITUDES[] = {"Thousand", "Million", "Billion", "Trillion"};

/* English words for num >= 0 (whole), title case; prev: words come before */
static void words(jsb *b, double num, bool prev, bool ord) {
    if (num <= 19) {
        if (prev) jsb_puts(b, " and ");
        jsb_puts(b, (ord ? ORDINALS : FEW)[(int)num]);
    } else if (num < 100) {
        int tens = (int)(num / 10), rem = (int)fmod(num, 10);
        if (prev) jsb_puts(b, " and ");
        const char *d = DECADES[tens - 2];
        if (rem > 0) {
            jsb_puts(b, d);
            jsb_puts(b, "-");
            words(b, rem, false, ord);
        } else if (ord) {
            jsb_put(b, d, strlen(d) - 1); /* Twenty -> Twentieth */
            jsb_puts(b, "ieth");
        } else {
            jsb_puts(b, d);
        }
    } else if (num < 1000) {
        double rem = fmod(num, 100);
        if (prev) jsb_puts(b, ", ");
        jsb_puts(b, FEW[(int)(num / 100)]);
        jsb_puts(b, " Hundred");
        if (rem > 0)
            words(b, rem, true, ord);
        else if (ord)
            jsb_puts(b, "th");
    } else {
        int mag = (int)floor(log10(num) / 3);
        if (mag > 4) mag = 4; /* the largest word: trillion trillion ... */
        if (mag < 1) mag = 1;
        double factor = pow(10, mag * 3), mant = floor(num / factor), rem = num - mant * factor;
        if (prev) jsb_puts(b, ", ");
        words(b, mant, false, false);
        jsb_puts(b, " ");
        jsb_puts(b, MAGNITUDES[mag - 1]);
        if (rem > 0)
            words(b, rem, true, ord);
        else if (ord)
            jsb_puts(b, "th");
    }
}

static double word_value(const char *w, size_t n) {
    char lw[16];
    if (n == 0 || n >= sizeof lw) return -1;
    for (size_t i = 0; i < n; i++) lw[i] = (char)tolower((unsigned char)w[i]);
    lw[n] = 0;
    for (int i = 0; i < 20; i++)
        if (!strcasecmp(lw, FEW[i]) || !strcasecmp(lw, ORDINALS[i])) return i;
    for (int i = 0; i < 8; i++) {
        size_t dl = strlen(DECADES[i]);
        if (!strcasecmp(lw, DECADES[i]) ||
            (n == dl + 3 && !strncasecmp(lw, DECADES[i], dl - 1) && !strcmp(lw + dl - 1, "ieth")))
            return (i + 2) * 10;
    }
    if (!strcmp(lw, "hundred") || !strcmp(lw, "hundredth")) return 100;
    for (int i = 0; i < 4; i++) {
        size_t ml = strlen(MAGNITUDES[i]);
        if (!strncasecmp(lw, MAGNITUDES[i], ml) && (lw[ml] == 0 || !strcmp(lw + ml, "th"))) return pow(10, 3 * (i + 1));
    }
    return -1;
}

/* words back to a number: the parts split at ", ", " and ", spaces and '-' */
static bool parse_words(const char *s, size_t n, double *out) {
    double segs[64];
    int ns = 1;
    segs[0] = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != ' ' && s[j] != '-' && s[j] != ',') j++;
        size_t wl = j - i;
        bool and_ = wl == 3 && !strncasecmp(s + i, "and", 3) && i > 0 && s[i - 1] == ' ' && j < n && s[j] == ' ';
        if (!and_) {
            double v = word_value(s + i, wl);
            if (v < 0) return false;
            if (v < 100) {
                double top = segs[--ns];
                if (top >= 1000) {
                    segs[ns++] = top;
                    top = 0;
                }
                if (ns == 64) return false;
                segs[ns++] = top + v;
            } else {
                segs[ns - 1] *= v;
            }
        }
        if (j < n && s[j] == ',' && (j + 1 >= n || s[++j] != ' ')) return false; /* only ", " */
        i = j + 1;
        if (j >= n) break;
    }
    *out = 0;
    for (int k = 0; k < ns; k++) *out += segs[k];
    return true;
}

/* ---- roman numerals and letters ---- */
static void roman(jsb *b, double v, bool upper) {
    static const struct {
        int v;
        const char *s;
    } R[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
             {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        while (v >= R[i].v) { /* the memory limit stops a huge value */
            for (const char *q = R[i].s; *q; q++) {
                char ch = upper ? (char)toupper((unsigned char)*q) : *q;
                jsb_put(b, &ch, 1);
            }
            v -= R[i].v;
        }
}

static bool parse_roman(const char *s, size_t n, double *out) {
    double dec = 0, max = 1;
    for (size_t i = n; i > 0; i--) {
        const char *q = strchr("MDCLXVI", toupper((unsigned char)s[i - 1]));
        if (!s[i - 1] || !q) return false;
        static const double V[] = {1000, 500, 100, 50, 10, 5, 1};
        double v = V[q - "MDCLXVI"];
        if (v < max) {
            dec -= v;
        } else {
            max = v;
            dec += v;
        }
    }
    *out = dec;
    return true;
}

static void letters(jsb *b, double v, bool upper) {
    char buf[256];
    int i = (int)sizeof buf;
    while (v > 0 && i > 0) { /* 1e308 takes 218 letters */
        buf[--i] = (char)((upper ? 'A' : 'a') + (int)fmod(v - 1, 26));
        v = floor((v - 1) / 26);
    }
    jsb_put(b, buf + i, sizeof buf - (size_t)i);
}

static bool parse_letters(const char *s, size_t n, bool upper, double *out) {
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s[i] - (upper ? 'A' : 'a');
        if (d < 0 || d > 25) return false;
        v = v * 26 + d + 1;
    }
    *out = v;
    return true;
}

/* ---- decimal ---- */
static void put_digit(jsb *b, const ipic *p, char d) {
    char u[4];
    jsb_put(b, u, utf8_put(u, p->zero + (unsigned)(d - '0')));
}

static void decimal(jctx *c, jsb *b, double v, const ipic *p) {
    char num[48];
    jx_fmt_num(v, num, sizeof num); /* JavaScript's text: 1e+21 and up in exponent form */
    size_t L = strlen(num), pad = (size_t)p->mandatory > L ? (size_t)p->mandatory - L : 0;
    char *d = ja_alloc(&c->arena, L + pad + 1);
    memset(d, '0', pad);
    memcpy(d + pad, num, L);
    L += pad;
    for (size_t i = 0; i < L; i++) {
        if (isdigit((unsigned char)d[i]))
            put_digit(b, p, d[i]);
        else
            jsb_put(b, d + i, 1);
        int right = (int)(L - 1 - i); /* digits after this one */
        if (right <= 0) continue;
        if (p->regular) {
            if (right % p->regular == 0) jsb_puts(b, p->sep[0].ch);
        } else {
            for (int k = p->nsep - 1; k >= 0; k--)
                if (p->sep[k].pos == right) jsb_puts(b, p->sep[k].ch);
        }
    }
    if (p->ordinal) {
        char last = b->n ? b->p[b->n - 1] : 0, before = b->n > 1 ? b->p[b->n - 2] : 0;
        jsb_puts(b, before == '1' || last < '1' || last > '3' ? "th" : last == '1' ? "st" : last == '2' ? "nd" : "rd");
    }
}

static bool parse_decimal(jctx *c, const char *s, size_t n, const ipic *p, double *out) {
    if (p->ordinal && n >= 2) n -= 2; /* the suffix */
    char *d = ja_alloc(&c->arena, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        bool sep = false;
        for (int e = 0; e < p->nsep && !sep; e++) {
            size_t el = strlen(p->sep[e].ch);
            if (el && i + el <= n && !memcmp(s + i, p->sep[e].ch, el)) {
                i += el;
                sep = true;
            }
        }
        if (sep) continue;
        size_t at = i;
        unsigned cp = utf8_next(s, n, &at);
        d[k++] = cp >= p->zero && cp <= p->zero + 9 ? (char)('0' + (cp - p->zero)) : (char)(cp < 0x80 ? cp : '?');
        i = at;
    }
    d[k] = 0;
    /* as JavaScript's parseInt: leading space and sign, the digits that follow */
    const char *q = d;
    while (isspace((unsigned char)*q)) q++;
    double sign = *q == '-' ? -1 : 1;
    if (*q == '-' || *q == '+') q++;
    if (!isdigit((unsigned char)*q)) return false;
    double v = 0;
    while (isdigit((unsigned char)*q)) v = v * 10 + (*q++ - '0');
    *out = sign * v;
    return true;
}

/* ---- the functions ---- */
JF_FN(jf_formatInteger) {
    JF_UNUSED;
    double x;
    if (!jf_num(c, a, 0, "formatInteger", &x)) return NULL;
    const jv *pic = jf_str(c, a, 1, "formatInteger");
    if (!pic) jf_argerr(c, 2, "formatInteger");
    ipic p;
    analyse(c, pic, &p);
    double v = floor(x);
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    if (v < 0) jsb_puts(&b, "-");
    v = fabs(v);
    if (!isfinite(v)) jx_throw(c, HS_JSONATA_EINVAL, "D3130", c->err->position, "The number cannot be formatted");
    size_t start = b.n;
    switch (p.kind) {
    case IP_LETTERS: letters(&b, v, p.tcase == IC_UPPER); break;
    case IP_ROMAN: roman(&b, v, p.tcase == IC_UPPER); break;
    case IP_WORDS:
        words(&b, v, false, p.ordinal);
        for (size_t i = start; i < b.n && p.tcase != IC_TITLE; i++)
            b.p[i] = (char)(p.tcase == IC_UPPER ? toupper((unsigned char)b.p[i]) : tolower((unsigned char)b.p[i]));
        break;
    default: decimal(c, &b, v, &p); break;
    }
    return jsb_done(&b);
}

JF_FN(jf_parseInteger) {
    JF_UNUSED;
    const jv *s = jf_str(c, a, 0, "parseInteger");
    const jv *pic = jf_str(c, a, 1, "parseInteger");
    if (!pic) jf_argerr(c, 2, "parseInteger");
    if (!s) return NULL;
    ipic p;
    analyse(c, pic, &p);
    double v = 0;
    bool ok;
    switch (p.kind) {
    case IP_LETTERS: ok = parse_letters(s->u.s.p, s->u.s.len, p.tcase == IC_UPPER, &v); break;
    case IP_ROMAN: ok = parse_roman(s->u.s.p, s->u.s.len, &v); break;
    case IP_WORDS: ok = parse_words(s->u.s.p, s->u.s.len, &v); break;
    default: ok = parse_decimal(c, s->u.s.p, s->u.s.len, &p, &v); break;
    }
    return ok && isfinite(v) ? jv_num(c, v) : NULL;
}
