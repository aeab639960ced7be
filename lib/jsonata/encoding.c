/* lib/jsonata/encoding.c — JSONata encoding functions: $base64encode,
 * $base64decode, $encodeUrlComponent, $encodeUrl, $decodeUrlComponent,
 * $decodeUrl. */
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

/* Standard base64 (RFC 4648 §4) with padding, into the arena. Decoding is
 * strict (a length of a multiple of 4, padding only at the end, no
 * whitespace), as it was when the engine used the server's decoder. The
 * library does not link OpenSSL, so EVP_EncodeBlock/EVP_DecodeBlock are not
 * an option (and EVP_DecodeBlock counts padding as data bytes and skips
 * whitespace). */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

JF_FN(jf_base64encode) {
    JF_UNUSED;
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

JF_FN(jf_base64decode) {
    JF_UNUSED;
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

JF_FN(jf_encodeUrlComponent) {
    JF_UNUSED;
    return url_encode(c, a, "-_.!~*'()", "encodeUrlComponent");
}

JF_FN(jf_encodeUrl) {
    JF_UNUSED;
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

JF_FN(jf_decodeUrlComponent) {
    JF_UNUSED;
    return url_decode(c, a, "", "decodeUrlComponent");
}

JF_FN(jf_decodeUrl) {
    JF_UNUSED;
    return url_decode(c, a, ";/?:@&=+$,#", "decodeUrl");
}
