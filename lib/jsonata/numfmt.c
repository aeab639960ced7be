/* lib/jsonata/numfmt.c — $formatNumber: XPath F&O 3.1 format-number pictures
 * (grouping, mandatory/optional digits, percent/per-mille, exponent,
 * negative sub-picture, zero-digit families). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

#define MAXCP 256

static size_t utf8_decode(const char *s, size_t n, uint32_t *out, size_t max) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < max;) {
        unsigned char ch = (unsigned char)s[i];
        uint32_t cp;
        size_t len;
        if (ch < 0x80)
            cp = ch, len = 1;
        else if ((ch >> 5) == 6)
            cp = ch & 0x1F, len = 2;
        else if ((ch >> 4) == 14)
            cp = ch & 0x0F, len = 3;
        else
            cp = ch & 0x07, len = 4;
        for (size_t j = 1; j < len && i + j < n; j++) cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3F);
        out[k++] = cp;
        i += len;
    }
    return k;
}

static void put_cp(jsb *b, uint32_t cp) {
    char o[4];
    size_t n;
    if (cp < 0x80)
        o[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        o[0] = (char)(0xE0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)),
        n = 3;
    else
        o[0] = (char)(0xF0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    jsb_put(b, o, n);
}

typedef struct nfprops {
    uint32_t dec, grp, exp, minus, pct, pml, zero, digit, sep;
} nfprops;

typedef struct subpic {
    const uint32_t *p;
    size_t n;
    size_t pre_end, suf_start; /* prefix [0,pre_end), suffix [suf_start,n) */
    size_t exp_pos;            /* index of the exponent separator or n */
    bool pct, pml;
} subpic;

static bool is_digit(const nfprops *pr, uint32_t c) { return c >= pr->zero && c <= pr->zero + 9; }
static bool is_active(const nfprops *pr, uint32_t c) {
    return is_digit(pr, c) || c == pr->digit || c == pr->dec || c == pr->grp;
}

static _Noreturn void nferr(jctx *c, const char *code) {
    jx_throw(c, HS_JSONATA_EINVAL, code, c->err->position, "Invalid picture string for $formatNumber (%s)", code);
}

static void analyse(jctx *c, const nfprops *pr, subpic *s) {
    size_t first = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (is_active(pr, s->p[i])) {
            first = i;
            break;
        }
    if (first == s->n) nferr(c, "D3086");
    size_t mend = first;
    while (mend < s->n && is_active(pr, s->p[mend])) mend++;
    size_t last_end = mend;
    s->exp_pos = s->n;
    if (mend + 1 < s->n && s->p[mend] == pr->exp && is_digit(pr, s->p[mend + 1])) {
        s->exp_pos = mend;
        size_t j = mend + 1;
        while (j < s->n && is_digit(pr, s->p[j])) j++;
        if (j < s->n && is_active(pr, s->p[j])) nferr(c, "D3093");
        last_end = j;
    }
    for (size_t i = last_end; i < s->n; i++)
        if (is_active(pr, s->p[i])) nferr(c, "D3086");
    size_t last = last_end - 1;
    if (first == s->n) nferr(c, "D3085");
    s->pre_end = first;
    s->suf_start = last + 1;
    int ndec = 0, npct = 0, npml = 0;
    for (size_t i = 0; i < s->n; i++) {
        uint32_t ch = s->p[i];
        if (ch == pr->dec && i < s->suf_start) ndec++;
        if (ch == pr->pct) npct++;
        if (ch == pr->pml) npml++;
    }
    if (ndec > 1) nferr(c, "D3081");
    if (npct > 1) nferr(c, "D3082");
    if (npml > 1) nferr(c, "D3083");
    if (npct && npml) nferr(c, "D3084");
    s->pct = npct;
    s->pml = npml;
    if (s->exp_pos < s->n && (npct || npml)) nferr(c, "D3092");
    /* mantissa checks */
    bool anydigit = false;
    for (size_t i = first; i < mend; i++)
        if (is_digit(pr, s->p[i]) || s->p[i] == pr->digit) anydigit = true;
    if (!anydigit) nferr(c, "D3085");
    for (size_t i = first; i + 1 < mend; i++) {
        uint32_t a = s->p[i], b = s->p[i + 1];
        if ((a == pr->grp && b == pr->dec) || (a == pr->dec && b == pr->grp)) nferr(c, "D3087");
        if (a == pr->grp && b == pr->grp) nferr(c, "D3089");
    }
    size_t decpos = mend;
    for (size_t i = first; i < mend; i++)
        if (s->p[i] == pr->dec) decpos = i;
    if (decpos < mend && decpos > first && s->p[decpos - 1] == pr->grp) nferr(c, "D3087");
    if (decpos == mend && mend > first && s->p[mend - 1] == pr->grp) nferr(c, "D3088");
    bool seen_mand = false;
    for (size_t i = first; i < decpos; i++) {
        if (is_digit(pr, s->p[i]))
            seen_mand = true;
        else if (s->p[i] == pr->digit && seen_mand)
            nferr(c, "D3090");
    }
    bool seen_opt = false;
    for (size_t i = decpos + 1; i < mend; i++) {
        if (s->p[i] == pr->digit)
            seen_opt = true;
        else if (is_digit(pr, s->p[i]) && seen_opt)
            nferr(c, "D3091");
    }
}

static uint32_t prop_cp(jv *opts, const char *key, uint32_t def) {
    jv *v = jv_get(opts, key);
    if (!v || v->t != JV_STR || !v->u.s.len) return def;
    uint32_t cp[4];
    size_t n = utf8_decode(v->u.s.p, v->u.s.len, cp, 4);
    return n == 1 ? cp[0] : def;
}

jv *jx_format_number(jctx *c, double x, const jv *picture, jv *opts) {
    nfprops pr = {'.', ',', 'e', '-', '%', 0x2030, '0', '#', ';'};
    pr.dec = prop_cp(opts, "decimal-separator", pr.dec);
    pr.grp = prop_cp(opts, "grouping-separator", pr.grp);
    pr.exp = prop_cp(opts, "exponent-separator", pr.exp);
    pr.minus = prop_cp(opts, "minus-sign", pr.minus);
    pr.pct = prop_cp(opts, "percent", pr.pct);
    pr.pml = prop_cp(opts, "per-mille", pr.pml);
    pr.zero = prop_cp(opts, "zero-digit", pr.zero);
    pr.digit = prop_cp(opts, "digit", pr.digit);
    pr.sep = prop_cp(opts, "pattern-separator", pr.sep);
    jv *pmlv = jv_get(opts, "per-mille");
    const char *pml_text = pmlv && pmlv->t == JV_STR ? pmlv->u.s.p : NULL;
    if (pml_text && jf_cplen(pml_text, strlen(pml_text)) > 1) pr.pml = 0xE000; /* multi-char: placeholder */

    uint32_t cps[MAXCP];
    size_t n = utf8_decode(picture->u.s.p, picture->u.s.len, cps, MAXCP);
    if (pml_text && pr.pml == 0xE000) {
        /* replace occurrences of the multi-char per-mille text by the placeholder */
        uint32_t pm[16];
        size_t pn = utf8_decode(pml_text, strlen(pml_text), pm, 16);
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + pn <= n && !memcmp(cps + i, pm, pn * sizeof(uint32_t))) {
                cps[o++] = 0xE000;
                i += pn;
            } else {
                cps[o++] = cps[i++];
            }
        }
        n = o;
    }
    subpic sp[2];
    int nsp = 1;
    sp[0].p = cps;
    sp[0].n = n;
    for (size_t i = 0; i < n; i++)
        if (cps[i] == pr.sep) {
            if (nsp == 2) nferr(c, "D3080");
            sp[0].n = i;
            sp[1].p = cps + i + 1;
            sp[1].n = n - i - 1;
            nsp = 2;
        }
    for (int i = 0; i < nsp; i++) analyse(c, &pr, &sp[i]);
    subpic *s = (x < 0 && nsp == 2) ? &sp[1] : &sp[0];
    const subpic *m = &sp[0]; /* the mantissa layout comes from the main picture's rules, per sub-picture */
    m = s;
    size_t first = m->pre_end, mend = m->exp_pos < m->n ? m->exp_pos : m->suf_start;
    size_t decpos = mend;
    for (size_t i = first; i < mend; i++)
        if (m->p[i] == pr.dec) decpos = i;
    int minint = 0, minfrac = 0, maxfrac = 0, mine = 0;
    int grp[16], ngrp = 0, digits_right = 0;
    for (size_t i = decpos; i > first; i--) {
        uint32_t ch = m->p[i - 1];
        if (ch == pr.grp) {
            if (ngrp < 16) grp[ngrp++] = digits_right;
        } else {
            digits_right++;
            if (is_digit(&pr, ch)) minint++;
        }
    }
    for (size_t i = decpos + 1; i < mend; i++) {
        if (is_digit(&pr, m->p[i])) minfrac++;
        if (is_digit(&pr, m->p[i]) || m->p[i] == pr.digit) maxfrac++;
    }
    bool hasexp = m->exp_pos < m->n;
    if (hasexp)
        for (size_t i = m->exp_pos + 1; i < m->suf_start; i++) mine++;
    if (minint == 0 && maxfrac == 0) {
        if (hasexp)
            minfrac = maxfrac = 1;
        else
            minint = 1;
    }
    if (hasexp && minint == 0 && digits_right > 0) minint = 0;
    double v = fabs(x);
    if (s->pct)
        v *= 100;
    else if (s->pml)
        v *= 1000;
    int e = 0;
    if (hasexp && v != 0) {
        int mag = (int)floor(log10(v)) + 1;
        e = mag - minint;
        v = v / pow(10, e);
    }
    char num[400];
    snprintf(num, sizeof num, "%.*f", maxfrac, v);
    if (hasexp && minint > 0) {
        /* rounding may have produced an extra integer digit */
        char *dot = strchr(num, '.');
        int il = dot ? (int)(dot - num) : (int)strlen(num);
        if (il > minint && num[0] != '0') {
            e++;
            v /= 10;
            snprintf(num, sizeof num, "%.*f", maxfrac, v);
        }
    }
    char *dot = strchr(num, '.');
    char *ip = num, *fp = dot ? dot + 1 : num + strlen(num);
    if (dot) *dot = 0;
    /* strip leading zeros of the integer part, then pad to minint */
    while (*ip == '0' && *(ip + 1)) ip++;
    if (!strcmp(ip, "0") && (minint == 0)) ip = "";
    size_t fl = strlen(fp);
    while ((int)fl > minfrac && fp[fl - 1] == '0') fl--;
    char intd[1200];
    int il = (int)strlen(ip);
    int pad = minint > il ? minint - il : 0;
    memset(intd, '0', (size_t)pad);
    memcpy(intd + pad, ip, (size_t)il + 1);
    il += pad;
    if (il == 0 && (fl == 0 || digits_right > 0)) {
        intd[0] = '0';
        intd[1] = 0;
        il = 1;
    }
    bool regular = ngrp > 0;
    for (int k = 0; k < ngrp; k++)
        if (grp[k] % grp[0] != 0 || grp[k] == 0) regular = false;
    if (regular) /* every multiple must be present too */
        for (int k = 0; k < ngrp; k++)
            if (grp[k] != grp[0] * (k + 1)) regular = false;
    jsb b = {.c = c};
    jsb_put(&b, "", 0);
    for (size_t i = 0; i < m->pre_end; i++) {
        if (m->p[i] == 0xE000)
            jsb_puts(&b, pml_text);
        else
            put_cp(&b, m->p[i]);
    }
    if (x < 0 && nsp == 1) put_cp(&b, pr.minus);
    for (int i = 0; i < il; i++) {
        put_cp(&b, pr.zero + (uint32_t)(intd[i] - '0'));
        int right = il - 1 - i;
        if (right > 0) {
            bool g = false;
            if (regular)
                g = right % grp[0] == 0;
            else
                for (int k = 0; k < ngrp; k++)
                    if (grp[k] == right) g = true;
            if (g) put_cp(&b, pr.grp);
        }
    }
    if (fl) {
        put_cp(&b, pr.dec);
        for (size_t i = 0; i < fl; i++) put_cp(&b, pr.zero + (uint32_t)(fp[i] - '0'));
    }
    if (hasexp) {
        put_cp(&b, pr.exp);
        if (e < 0) put_cp(&b, pr.minus);
        char ed[48];
        snprintf(ed, sizeof ed, "%0*d", mine > 9 ? 9 : mine, abs(e) % 100000);
        for (char *q = ed; *q; q++) put_cp(&b, pr.zero + (uint32_t)(*q - '0'));
    }
    for (size_t i = m->suf_start; i < m->n; i++) {
        if (m->p[i] == 0xE000)
            jsb_puts(&b, pml_text);
        else
            put_cp(&b, m->p[i]);
    }
    return jsb_done(&b);
}
