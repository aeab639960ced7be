/* lib/jsonata/datetime.c — JSONata date/time functions ($now, $millis,
 * $fromMillis, $toMillis) and their picture strings (XPath F&O 9.8
 * "format-dateTime" subset): numeric, name, word, roman and ordinal
 * presentations, width modifiers and timezones. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonata/jsonata_int.h"

static const char *const MONTHS[] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};
static const char *const DAYS[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
static const char *const ONES[] = {"zero",     "one",     "two",     "three",     "four",     "five",    "six",
                                   "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
                                   "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const ONES_ORD[] = {"zeroth",    "first",     "second",      "third",      "fourth",
                                       "fifth",     "sixth",     "seventh",     "eighth",     "ninth",
                                       "tenth",     "eleventh",  "twelfth",     "thirteenth", "fourteenth",
                                       "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth"};
static const char *const TENS[] = {"",      "",      "twenty",  "thirty", "forty",
                                   "fifty", "sixty", "seventy", "eighty", "ninety"};
static const char *const TENS_ORD[] = {"",         "",         "twentieth",  "thirtieth", "fortieth",
                                       "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth"};

static void words(jsb *b, int64_t n, bool ord) {
    if (n < 0) {
        jsb_puts(b, "minus ");
        n = -n;
    }
    if (n < 20) {
        jsb_puts(b, ord ? ONES_ORD[n] : ONES[n]);
        return;
    }
    if (n < 100) {
        if (n % 10 == 0) {
            jsb_puts(b, ord ? TENS_ORD[n / 10] : TENS[n / 10]);
            return;
        }
        jsb_puts(b, TENS[n / 10]);
        jsb_puts(b, "-");
        jsb_puts(b, ord ? ONES_ORD[n % 10] : ONES[n % 10]);
        return;
    }
    static const struct {
        int64_t v;
        const char *w;
    } big[] = {{1000000000000LL, "trillion"},
               {1000000000, "billion"},
               {1000000, "million"},
               {1000, "thousand"},
               {100, "hundred"}};
    for (size_t i = 0; i < 5; i++) {
        if (n < big[i].v) continue;
        int64_t hi = n / big[i].v, lo = n % big[i].v;
        words(b, hi, false);
        jsb_puts(b, " ");
        jsb_puts(b, big[i].w);
        if (!lo) {
            if (ord) jsb_puts(b, "th");
            return;
        }
        jsb_puts(b, lo < 100 ? " and " : ", ");
        words(b, lo, ord);
        return;
    }
}

static void roman(jsb *b, int64_t n, bool lower) {
    static const struct {
        int v;
        const char *s;
    } r[] = {{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
             {40, "xl"},  {10, "x"},   {9, "ix"},  {5, "v"},    {4, "iv"},  {1, "i"}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        while (n >= r[i].v) {
            for (const char *p = r[i].s; *p; p++) {
                char ch = lower ? *p : (char)toupper((unsigned char)*p);
                jsb_put(b, &ch, 1);
            }
            n -= r[i].v;
        }
}

static void alpha(jsb *b, int64_t n, bool lower) {
    char buf[16];
    int i = 15;
    buf[i] = 0;
    while (n > 0 && i > 0) {
        n--;
        buf[--i] = (char)((lower ? 'a' : 'A') + n % 26);
        n /= 26;
    }
    jsb_puts(b, buf + i);
}

static const char *ord_suffix(int64_t n) {
    int64_t t = n % 100;
    if (t >= 11 && t <= 13) return "th";
    switch (n % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

static void put_case(jsb *b, const char *s, const char *pres, int maxw) {
    size_t n = strlen(s);
    if (maxw > 0 && (size_t)maxw < n) n = (size_t)maxw;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!strcmp(pres, "N"))
            ch = (char)toupper((unsigned char)ch);
        else if (!strcmp(pres, "n"))
            ch = (char)tolower((unsigned char)ch);
        else
            ch = i == 0 ? (char)toupper((unsigned char)ch) : (char)tolower((unsigned char)ch);
        jsb_put(b, &ch, 1);
    }
}

/* decimal digit pattern like "0001", "#1", "9,999" */
static void fmt_decimal(jsb *b, int64_t v, const char *pres, int minw, int maxw, bool ordinal) {
    int mand = 0;
    int seps[16], nsep = 0;
    char sepch[16];
    int pos = 0; /* digit positions counted from the right */
    size_t L = strlen(pres);
    for (size_t i = L; i > 0; i--) {
        char ch = pres[i - 1];
        if (isdigit((unsigned char)ch)) {
            mand++;
            pos++;
        } else if (ch == '#') {
            pos++;
        } else if (nsep < 16) {
            seps[nsep] = pos;
            sepch[nsep++] = ch;
        }
    }
    if (minw > mand) mand = minw;
    if (mand > 30) mand = 30;
    bool neg = v < 0;
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(neg ? -v : v));
    int nd = (int)strlen(digits);
    char out[160];
    int o = 0;
    int total = nd > mand ? nd : mand;
    for (int k = total - 1; k >= 0; k--) { /* k = position from right */
        int idx = nd - 1 - k;
        out[o++] = idx >= 0 ? digits[idx] : '0';
        for (int s = 0; s < nsep; s++)
            if (seps[s] == k && k > 0) out[o++] = sepch[s];
        /* regular grouping: repeat the first separator interval */
        if (nsep == 1 && k > 0 && seps[0] > 0 && k % seps[0] == 0 && k != seps[0]) out[o++] = sepch[0];
    }
    out[o] = 0;
    const char *p = out;
    if (maxw > 0 && (int)strlen(p) > maxw) p += strlen(p) - (size_t)maxw;
    if (neg) jsb_puts(b, "-");
    jsb_puts(b, p);
    if (ordinal) jsb_puts(b, ord_suffix(v));
}

static void fmt_int(jsb *b, int64_t v, const char *pres, int minw, int maxw) {
    char p[64];
    snprintf(p, sizeof p, "%s", pres);
    size_t L = strlen(p);
    bool ordinal = false;
    if (L > 1 && p[L - 1] == 'o') {
        ordinal = true;
        p[--L] = 0;
    }
    if (!strcmp(p, "w") || !strcmp(p, "W") || !strcmp(p, "Ww")) {
        jsb tmp = {.c = b->c};
        words(&tmp, v, ordinal);
        jsb_puts(&tmp, "");
        put_case(b, tmp.p, !strcmp(p, "W") ? "N" : !strcmp(p, "w") ? "n" : "Nn", 0);
        if (!strcmp(p, "Ww")) {
            /* title case every word */
            for (size_t i = b->n - tmp.n; i < b->n; i++)
                if (i > 0 && (b->p[i - 1] == ' ' || b->p[i - 1] == '-'))
                    b->p[i] = (char)toupper((unsigned char)b->p[i]);
        }
        return;
    }
    if (!strcmp(p, "I") || !strcmp(p, "i")) {
        roman(b, v, p[0] == 'i');
        return;
    }
    if (!strcmp(p, "A") || !strcmp(p, "a")) {
        alpha(b, v, p[0] == 'a');
        return;
    }
    fmt_decimal(b, v, p, minw, maxw, ordinal);
}

/* The marker that opens at pic[*i] ('['), without its spaces, into spec;
 * *i moves to its ']'. Returns its length. */
static size_t read_marker(jctx *c, const char *pic, size_t *i, char *spec, size_t cap) {
    const char *end = strchr(pic + *i, ']');
    if (!end)
        jx_throw(c, HS_JSONATA_EINVAL, "D3135", c->err->position,
                 "No matching closing bracket ']' in date/time picture string");
    size_t sn = 0;
    for (const char *q = pic + *i + 1; q < end && sn < cap - 1; q++)
        if (!isspace((unsigned char)*q)) spec[sn++] = *q;
    spec[sn] = 0;
    *i = (size_t)(end - pic);
    return sn;
}

static int parse_tz(const char *s, int *mins) {
    if (!s || !*s) return 0;
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + (s[0] == '+' || s[0] == '-');
    if (strlen(p) != 4) return -1;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)p[i])) return -1;
    *mins = sign * ((p[0] - '0') * 600 + (p[1] - '0') * 60 + (p[2] - '0') * 10 + (p[3] - '0'));
    return 0;
}

static void fmt_tz(jctx *c, jsb *b, int off, const char *pres, bool gmt) {
    char p[64];
    snprintf(p, sizeof p, "%s", pres && *pres ? pres : "01:01");
    size_t L = strlen(p);
    bool tflag = L && p[L - 1] == 't';
    if (tflag) p[--L] = 0;
    if (tflag && off == 0) {
        jsb_puts(b, "Z");
        return;
    }
    if (gmt) jsb_puts(b, "GMT");
    int a = abs(off), h = a / 60, m = a % 60;
    char out[32];
    int nd = 0;
    bool colon = false;
    for (size_t i = 0; i < L; i++)
        if (isdigit((unsigned char)p[i]))
            nd++;
        else
            colon = true;
    char sep = colon ? p[strcspn(p, ":.")] : 0;
    if (nd > 4)
        jx_throw(c, HS_JSONATA_EINVAL, "D3134", c->err->position,
                 "The timezone integer format specifier cannot have more than four digits");
    char sg = off < 0 ? '-' : '+';
    if (nd <= 2) {
        if (m)
            snprintf(out, sizeof out, "%c%0*d:%02d", sg, nd, h, m);
        else
            snprintf(out, sizeof out, "%c%0*d", sg, nd, h);
    } else if (sep) {
        snprintf(out, sizeof out, "%c%02d%c%02d", sg, h, sep, m);
    } else {
        snprintf(out, sizeof out, "%c%02d%02d", sg, h, m);
    }
    jsb_puts(b, out);
}

jv *jx_format_datetime(jctx *c, double ms, const char *pic, const char *tz) {
    int off = 0;
    if (tz && parse_tz(tz, &off) < 0) off = 0;
    int64_t t = (int64_t)floor(ms) + (int64_t)off * 60000;
    int64_t days = t >= 0 ? t / 86400000 : -((-t + 86399999) / 86400000);
    int64_t rem = t - days * 86400000;
    int64_t y;
    unsigned mo, d;
    jx_civil_from_days(days, &y, &mo, &d);
    int H = (int)(rem / 3600000), M = (int)(rem / 60000 % 60), S = (int)(rem / 1000 % 60), F = (int)(rem % 1000);
    int dow = (int)((days % 7 + 7 + 3) % 7) + 1; /* 1 = Monday */
    int64_t doy = days - jx_days_from_civil(y, 1, 1) + 1;
    /* ISO week: the week containing Thursday */
    int64_t thu = days - (dow - 4);
    int64_t ty;
    unsigned tm, td;
    jx_civil_from_days(thu, &ty, &tm, &td);
    int64_t isoweek = (thu - jx_days_from_civil(ty, 1, 1)) / 7 + 1;
    int64_t weekmonth = ((int64_t)td - 1) / 7 + 1;

    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    size_t L = strlen(pic);
    for (size_t i = 0; i < L; i++) {
        if (pic[i] == '[' && i + 1 < L && pic[i + 1] == '[')
            i++;
        else if (pic[i] == '[' && !strchr(pic + i, ']'))
            jx_throw(c, HS_JSONATA_EINVAL, "D3135", c->err->position,
                     "No matching closing bracket ']' in date/time picture string");
    }
    for (size_t i = 0; i < L; i++) {
        char ch = pic[i];
        if (ch == '[' && i + 1 < L && pic[i + 1] == '[') {
            jsb_put(&b, "[", 1);
            i++;
            continue;
        }
        if (ch == ']' && i + 1 < L && pic[i + 1] == ']') {
            jsb_put(&b, "]", 1);
            i++;
            continue;
        }
        if (ch != '[') {
            jsb_put(&b, &ch, 1);
            continue;
        }
        char spec[64];
        size_t sn = read_marker(c, pic, &i, spec, sizeof spec);
        if (!sn) continue;
        char comp = spec[0];
        char pres[64] = "";
        int minw = -1, maxw = -1;
        char *comma = strrchr(spec + 1, ',');
        if (comma) {
            *comma = 0;
            char *w = comma + 1;
            char *dash = strchr(w, '-');
            if (dash) *dash = 0;
            if (*w && *w != '*') minw = (int)strtol(w, NULL, 10);
            if (dash && dash[1] && dash[1] != '*') maxw = (int)strtol(dash + 1, NULL, 10);
        }
        snprintf(pres, sizeof pres, "%s", spec + 1);
        int64_t val = 0;
        const char *defp = "1";
        switch (comp) {
        case 'Y': val = y; break;
        case 'M': val = mo; break;
        case 'D': val = d; break;
        case 'd': val = doy; break;
        case 'F':
            val = dow;
            defp = "n";
            break;
        case 'W': val = isoweek; break;
        case 'w': val = weekmonth; break;
        case 'X': val = ty; break;
        case 'x': val = tm; break;
        case 'H': val = H; break;
        case 'h': val = H % 12 == 0 ? 12 : H % 12; break;
        case 'P': defp = "n"; break;
        case 'm':
            val = M;
            defp = "01";
            break;
        case 's':
            val = S;
            defp = "01";
            break;
        case 'f':
            val = F;
            defp = "1";
            break;
        case 'Z': fmt_tz(c, &b, off, pres, false); continue;
        case 'z': fmt_tz(c, &b, off, pres, true); continue;
        case 'C': jsb_puts(&b, "ISO"); continue;
        case 'E': jsb_puts(&b, "ISO"); continue;
        default:
            jx_throw(c, HS_JSONATA_EINVAL, "D3132", c->err->position,
                     "Unknown component specifier %c in date/time picture string", comp);
        }
        if ((pres[0] == 'N' || pres[0] == 'n') && !strchr("MxFP", comp))
            jx_throw(c, HS_JSONATA_EINVAL, "D3133", c->err->position,
                     "The component %c cannot be represented as a name", comp);
        const char *p = pres[0] ? pres : defp;
        if (comp == 'f' && !pres[0]) p = "1";
        if (comp == 'f') {
            /* fractional seconds: digits are the leading ones of the millisecond fraction */
            int nd = 0;
            for (const char *q = p; *q; q++)
                if (isdigit((unsigned char)*q) || *q == '#') nd++;
            char fr[8];
            snprintf(fr, sizeof fr, "%03d", F);
            if (nd > 3) nd = 3;
            if (nd < 1) nd = 1;
            jsb_put(&b, fr, (size_t)nd);
            continue;
        }
        if (comp == 'P') {
            const char *ap = H < 12 ? "am" : "pm";
            put_case(&b, ap, !strcmp(p, "N") ? "N" : "n", maxw);
            continue;
        }
        if ((p[0] == 'N' || p[0] == 'n') && (comp == 'M' || comp == 'x' || comp == 'F')) {
            const char *nm = comp == 'F' ? DAYS[val - 1] : MONTHS[val - 1];
            put_case(&b, nm, p, maxw);
            continue;
        }
        if (comp == 'Y' && maxw < 0 && !pres[0] && minw == 2) maxw = 2;
        if (comp == 'Y' && maxw > 0 && maxw < 18) {
            int64_t mod = 1;
            for (int k = 0; k < maxw; k++) mod *= 10;
            val %= mod;
        }
        fmt_int(&b, val, p, minw, maxw);
    }
    return jsb_done(&b);
}

/* ---- parsing ($toMillis with a picture) ---- */
static bool match_name(const char **s, const char *const *names, int n, int *out) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            size_t L = pass == 0 ? strlen(names[i]) : 3;
            if (!strncasecmp(*s, names[i], L)) {
                *s += L;
                *out = i + 1;
                return true;
            }
        }
    return false;
}

static bool parse_roman(const char **s, int64_t *out) {
    int64_t total = 0, prev = 0;
    const char *p = *s;
    for (;; p++) {
        int v;
        switch (tolower((unsigned char)*p)) {
        case 'i': v = 1; break;
        case 'v': v = 5; break;
        case 'x': v = 10; break;
        case 'l': v = 50; break;
        case 'c': v = 100; break;
        case 'd': v = 500; break;
        case 'm': v = 1000; break;
        default: v = 0;
        }
        if (!v) break;
        total += v;
        if (v > prev) total -= 2 * prev;
        prev = v;
    }
    if (p == *s) return false;
    *s = p;
    *out = total;
    return true;
}

static int word_value(const char *w, size_t n, int *kind) {
    static const char *const tens_ord[] = {"twentieth", "thirtieth",  "fortieth",  "fiftieth",
                                           "sixtieth",  "seventieth", "eightieth", "ninetieth"};
    for (int i = 0; i < 20; i++)
        if ((strlen(ONES[i]) == n && !strncasecmp(w, ONES[i], n)) ||
            (strlen(ONES_ORD[i]) == n && !strncasecmp(w, ONES_ORD[i], n))) {
            *kind = 0;
            return i;
        }
    for (int i = 2; i < 10; i++)
        if ((strlen(TENS[i]) == n && !strncasecmp(w, TENS[i], n)) ||
            (strlen(tens_ord[i - 2]) == n && !strncasecmp(w, tens_ord[i - 2], n))) {
            *kind = 0;
            return i * 10;
        }
    static const struct {
        const char *w;
        int v;
    } mult[] = {{"hundred", 100},     {"hundredth", 100},   {"thousand", 1000},
                {"thousandth", 1000}, {"million", 1000000}, {"millionth", 1000000}};
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
        if (strlen(mult[i].w) == n && !strncasecmp(w, mult[i].w, n)) {
            *kind = 1;
            return mult[i].v;
        }
    if (n == 3 && !strncasecmp(w, "and", 3)) {
        *kind = 2;
        return 0;
    }
    return -1;
}

/* English number words ("nineteen hundred and eighty-four", "twenty-first") */
static bool parse_words(const char **sp, int64_t *out) {
    const char *s = *sp, *commit = s;
    int64_t total = 0, cur = 0;
    bool any = false;
    for (;;) {
        const char *q = s;
        while (*q == ' ' || *q == '-' || *q == ',') q++;
        const char *w = q;
        while (isalpha((unsigned char)*q)) q++;
        if (q == w) break;
        int kind;
        int v = word_value(w, (size_t)(q - w), &kind);
        if (v < 0) break;
        if (kind == 0)
            cur += v;
        else if (kind == 1) {
            if (v == 100)
                cur = (cur ? cur : 1) * 100;
            else {
                total += (cur ? cur : 1) * v;
                cur = 0;
            }
        }
        s = q;
        if (kind != 2) {
            commit = q;
            any = true;
        }
    }
    if (!any) return false;
    *sp = commit;
    *out = total + cur;
    return true;
}

static bool parse_alpha(const char **sp, int64_t *out) {
    const char *s = *sp;
    int64_t v = 0;
    while (isalpha((unsigned char)*s)) v = v * 26 + (tolower((unsigned char)*s++) - 'a' + 1);
    if (s == *sp) return false;
    *sp = s;
    *out = v;
    return true;
}

jv *jx_parse_datetime(jctx *c, const char *str, const char *pic) {
    int64_t val[128];
    bool have[128] = {false};
    const char *s = str;
    size_t L = strlen(pic);
    int tzoff = 0;
    bool pm = false, haveP = false;
    int ncomp = 0;
    for (size_t i = 0; i < L; i++) {
        char ch = pic[i];
        if ((ch == '[' || ch == ']') && i + 1 < L && pic[i + 1] == ch) {
            if (*s != ch) return NULL;
            s++;
            i++;
            continue;
        }
        if (ch != '[') {
            if (*s != ch) return NULL;
            s++;
            continue;
        }
        char spec[64];
        read_marker(c, pic, &i, spec, sizeof spec);
        bool next_marker = i + 1 < L && pic[i + 1] == '[' && !(i + 2 < L && pic[i + 2] == '[');
        char comp = spec[0];
        int maxw = -1;
        char *comma = strrchr(spec + 1, ',');
        if (comma) {
            *comma = 0;
            char *dash = strchr(comma + 1, '-');
            if (dash && dash[1] && dash[1] != '*') maxw = (int)strtol(dash + 1, NULL, 10);
        }
        const char *pres = spec + 1;
        if (!strchr("YMDdFWwXxHhPmsfZz", comp) || !comp)
            jx_throw(c, HS_JSONATA_EINVAL, "D3132", c->err->position,
                     "Unknown component specifier %c in date/time picture string", comp);
        if (comp == 'Z' || comp == 'z') {
            if (comp == 'z' && !strncmp(s, "GMT", 3)) s += 3;
            if (*s == 'Z') {
                s++;
                continue;
            }
            int sign = *s == '-' ? -1 : 1;
            if (*s != '+' && *s != '-') return NULL;
            s++;
            int h = 0, m = 0, k = 0;
            while (isdigit((unsigned char)*s) && k < 2) h = h * 10 + (*s++ - '0'), k++;
            if (*s == ':') s++;
            k = 0;
            while (isdigit((unsigned char)*s) && k < 2) m = m * 10 + (*s++ - '0'), k++;
            tzoff = sign * (h * 60 + m);
            continue;
        }
        if (comp == 'P') {
            if (!strncasecmp(s, "am", 2) || !strncasecmp(s, "pm", 2)) {
                pm = tolower((unsigned char)s[0]) == 'p';
                haveP = true;
                s += 2;
                continue;
            }
            return NULL;
        }
        if ((pres[0] == 'N' || pres[0] == 'n') && !strchr("MxFP", comp))
            jx_throw(c, HS_JSONATA_EINVAL, "D3133", c->err->position,
                     "The component %c cannot be represented as a name", comp);
        if (strchr("XxWwF", comp) && !(comp == 'F' && (pres[0] == 'N' || pres[0] == 'n')))
            jx_throw(c, HS_JSONATA_EINVAL, "D3136", c->err->position, "Week-based date components cannot be parsed");
        ncomp++;
        int64_t v = 0;
        if ((pres[0] == 'N' || pres[0] == 'n') && (comp == 'M' || comp == 'F' || comp == 'x')) {
            int k;
            if (!match_name(&s, comp == 'F' ? DAYS : MONTHS, comp == 'F' ? 7 : 12, &k)) return NULL;
            v = k;
            (void)maxw;
        } else if (pres[0] == 'I' || pres[0] == 'i') {
            if (!parse_roman(&s, &v)) return NULL;
        } else if (pres[0] == 'w' || pres[0] == 'W') {
            if (!parse_words(&s, &v)) return NULL;
        } else if (pres[0] == 'A' || pres[0] == 'a') {
            if (!parse_alpha(&s, &v)) return NULL;
        } else {
            int fixed = 0;
            for (const char *q = pres; *q; q++)
                if (isdigit((unsigned char)*q)) fixed++;
            if (!fixed && maxw > 0) fixed = maxw;
            int k = 0;
            bool neg = false;
            if (*s == '-') {
                neg = true;
                s++;
            }
            while (isdigit((unsigned char)*s) && (!next_marker || fixed < 2 || k < fixed) && k < 16)
                v = v * 10 + (*s++ - '0'), k++;
            if (k >= 16) return NULL;
            if (!k) return NULL;
            if (comp == 'f') {
                double fr = (double)v;
                for (int q = 0; q < k; q++) fr /= 10;
                v = (int64_t)floor(fr * 1000);
            }
            if (neg) v = -v;
            if (pres[0] && pres[strlen(pres) - 1] == 'o')
                while (isalpha((unsigned char)*s)) s++;
        }
        val[(unsigned char)comp] = v;
        have[(unsigned char)comp] = true;
    }
    if (*s || !ncomp) return NULL;
    if (have['m'] && !have['H'] && !have['h'] && (have['Y'] || have['M'] || have['D']))
        jx_throw(c, HS_JSONATA_EINVAL, "D3136", c->err->position,
                 "The date/time picture string is missing specifiers required to parse the timestamp");
    int64_t y, days;
    if (have['Y'] && (val['Y'] > 300000 || val['Y'] < -300000)) return NULL;
    if (have['d'] && val['d'] > 1000000) return NULL;
    if (have['d']) {
        if (!have['Y']) return NULL;
        days = jx_days_from_civil(val['Y'], 1, 1) + val['d'] - 1;
    } else {
        if (have['Y'] && !have['M'] && have['D'])
            jx_throw(c, HS_JSONATA_EINVAL, "D3136", c->err->position,
                     "The date/time picture string is missing specifiers required to parse the timestamp");
        unsigned cm, cd;
        int64_t cy;
        jx_civil_from_days((int64_t)(c->now_ms / 86400000), &cy, &cm, &cd);
        bool anydate = have['Y'] || have['M'] || have['D'];
        y = have['Y'] ? val['Y'] : cy;
        int64_t mo = have['M'] ? val['M'] : anydate ? 1 : cm;
        int64_t d = have['D'] ? val['D'] : anydate ? 1 : cd;
        if (mo < 1 || mo > 12 || d < 1 || d > 31) return NULL;
        days = jx_days_from_civil(y, (unsigned)mo, (unsigned)d);
    }
    int64_t H = have['H'] ? val['H'] : 0;
    if (have['h']) {
        H = val['h'] % 12;
        if (haveP && pm) H += 12;
    }
    double ms = (double)days * 86400000.0 + (double)H * 3600000.0 + (double)(have['m'] ? val['m'] : 0) * 60000.0 +
                (double)(have['s'] ? val['s'] : 0) * 1000.0 + (double)(have['f'] ? val['f'] : 0) - tzoff * 60000.0;
    return jv_num(c, ms);
}

/* ---- the functions ---- */
int64_t jx_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

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

/* $now([picture [, timezone]]): the evaluation's start time, as $fromMillis */
JF_FN(jf_now) {
    JF_UNUSED;
    const jv *pic = n > 0 ? jf_str(c, a, 0, "now") : NULL, *tz = n > 1 ? jf_str(c, a, 1, "now") : NULL;
    if (pic || tz)
        return jx_format_datetime(c, (double)c->now_ms,
                                  pic ? pic->u.s.p : "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]",
                                  tz ? tz->u.s.p : NULL);
    char buf[64];
    iso_from_ms((double)c->now_ms, buf, sizeof buf);
    return jv_cstr(c, buf);
}

JF_FN(jf_millis) {
    JF_UNUSED;
    (void)a;
    return jv_num(c, (double)c->now_ms);
}

JF_FN(jf_fromMillis) {
    JF_UNUSED;
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

JF_FN(jf_toMillis) {
    JF_UNUSED;
    const jv *s = jf_str(c, a, 0, "toMillis");
    if (!s) return NULL;
    const jv *pic = jf_str(c, a, 1, "toMillis");
    if (pic) return jx_parse_datetime(c, s->u.s.p, pic->u.s.p);
    double ms;
    if (!parse_iso(s->u.s.p, &ms))
        jx_throw(c, HS_JSONATA_EINVAL, "D3110", c->err->position, "The timestamp cannot be parsed: %s", s->u.s.p);
    return jv_num(c, ms);
}
