#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"

void hs_buf_init(hs_buf *b, size_t max) {
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
}

void hs_buf_free(hs_buf *b) {
    hs_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void hs_buf_reset(hs_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

static int grow(hs_buf *b, size_t need) {
    if (need > b->max) return HS_ERR_TOOBIG;
    if (need + 1 <= b->alloc) return HS_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need + 1) n *= 2;
    if (n - 1 > b->max) n = b->max + 1; /* written so that max == SIZE_MAX cannot wrap */
    b->data = hs_realloc(b->data, n);
    b->alloc = n;
    return HS_OK;
}

int hs_buf_append(hs_buf *b, const void *data, size_t len) {
    if (len > b->max - b->len) return HS_ERR_TOOBIG;
    int rc = grow(b, b->len + len);
    if (rc) return rc;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return HS_OK;
}

int hs_buf_appends(hs_buf *b, const char *s) { return hs_buf_append(b, s, strlen(s)); }

int hs_buf_vappendf(hs_buf *b, const char *fmt, va_list ap) {
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0) return HS_ERR_INVALID;
    if ((size_t)n > b->max - b->len) return HS_ERR_TOOBIG;
    int rc = grow(b, b->len + (size_t)n);
    if (rc) return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return HS_OK;
}

int hs_buf_appendf(hs_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = hs_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *hs_buf_detach(hs_buf *b, size_t *len) {
    if (!b->data) { /* nothing appended yet: hand out "", terminated like any other */
        grow(b, 0);
        b->data[0] = '\0';
    }
    char *d = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return d;
}
