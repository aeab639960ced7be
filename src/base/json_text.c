#include "base/json_text.h"

#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "base/timeutil.h"

json_t *hs_json_text(const char *s) {
    if (!s) return json_null();
    json_t *j = json_string(s);
    if (j) return j;
    size_t n = strlen(s);
    char *u = hs_malloc(2 * n + 1), *o = u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80) {
            *o++ = (char)*p;
        } else {
            *o++ = (char)(0xc0 | (*p >> 6));
            *o++ = (char)(0x80 | (*p & 0x3f));
        }
    }
    *o = '\0';
    j = json_string(u);
    hs_free(u);
    return j;
}

size_t hs_utf8_prefix(const char *text, size_t n) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return n;
}

bool hs_utf8_valid(const char *s, size_t n) { return hs_utf8_prefix(s, n) == n; }

void hs_utf8_fix(char *s) {
    if (!s) return;
    size_t n = strlen(s);
    for (size_t i = hs_utf8_prefix(s, n); i < n; i += hs_utf8_prefix(s + i, n - i)) s[i++] = '?';
}

/* Printable ASCII other than '"' and '\\': copied as it is. */
static bool plain_ascii(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\') return false;
    return true;
}

void hs_json_append_text(hs_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* header names and values, ids, URLs: nearly always plain ASCII, which
     * needs one pass and one copy (this runs several times per delivery) */
    if (n < 256 && plain_ascii(p, n)) {
        char quoted[258];
        quoted[0] = '"';
        memcpy(quoted + 1, s, n);
        quoted[n + 1] = '"';
        hs_buf_append(b, quoted, n + 2);
        return;
    }
    bool latin1 = !hs_utf8_valid((const char *)p, n);
    hs_buf_append(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        char esc[6];
        size_t elen = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, elen = 2;
        } else if (c < 0x20) {
            esc[0] = '\\';
            elen = 2;
            switch (c) {
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default: esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15]; elen = 6;
            }
        } else if (c >= 0x80 && latin1) {
            esc[0] = (char)(0xc0 | (c >> 6)), esc[1] = (char)(0x80 | (c & 0x3f)), elen = 2;
        } else {
            run++;
            continue;
        }
        if (run) hs_buf_append(b, s + i - run, run);
        run = 0;
        hs_buf_append(b, esc, elen);
    }
    if (run) hs_buf_append(b, s + n - run, run);
    hs_buf_append(b, "\"", 1);
}

json_t *hs_json_time(uint64_t ms) {
    if (!ms) return json_null();
    char ts[HS_ISO8601_MAX];
    hs_iso8601(ms, ts);
    return json_string(ts);
}
