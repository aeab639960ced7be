#include "http/query.h"

#include <string.h>

#include "base/alloc.h"

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *hs_percent_decode(const char *s, size_t n, int plus_is_space) {
    char *out = hs_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) {
                hs_free(out);
                return NULL;
            }
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                hs_free(out);
                return NULL;
            }
            out[o++] = (char)(a << 4 | b);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out[o++] = ' ';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

int hs_query_parse(const char *s, hs_query *q, hs_error *err) {
    memset(q, 0, sizeof *q);
    while (s && *s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        if (len > 0) {
            const char *eq = memchr(s, '=', len);
            size_t kl = eq ? (size_t)(eq - s) : len;
            if (q->n == HS_QUERY_MAX_PARAMS)
                return hs_error_set(err, HS_ERR_INVALID, "", "too many query parameters (at most %d)",
                                    HS_QUERY_MAX_PARAMS);
            char *k = hs_percent_decode(s, kl, 1);
            char *v = eq ? hs_percent_decode(eq + 1, len - kl - 1, 1) : hs_strdup("");
            if (!k || !v) {
                hs_free(k);
                hs_free(v);
                return hs_error_set(err, HS_ERR_INVALID, "", "malformed percent-encoding in the query string");
            }
            if (hs_query_get(q, k)) {
                int rc = hs_error_set(err, HS_ERR_INVALID, k, "query parameter \"%s\" is given twice", k);
                hs_free(k);
                hs_free(v);
                return rc;
            }
            q->keys[q->n] = k;
            q->values[q->n] = v;
            q->n++;
        }
        s = amp ? amp + 1 : NULL;
    }
    return HS_OK;
}

void hs_query_free(hs_query *q) {
    for (size_t i = 0; i < q->n; i++) {
        hs_free(q->keys[i]);
        hs_free(q->values[i]);
    }
    q->n = 0;
}

const char *hs_query_get(const hs_query *q, const char *key) {
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->keys[i], key) == 0) return q->values[i];
    return NULL;
}

int hs_query_only(const hs_query *q, const char *const *allowed, hs_error *err) {
    for (size_t i = 0; i < q->n; i++) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, q->keys[i]) != 0) a++;
        if (!*a) return hs_error_set(err, HS_ERR_INVALID, q->keys[i], "unknown query parameter \"%s\"", q->keys[i]);
    }
    return HS_OK;
}
