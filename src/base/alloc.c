#include "base/alloc.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void oom(size_t n) {
    char msg[96];
    int len = snprintf(msg, sizeof msg, "{\"level\":\"fatal\",\"msg\":\"out of memory allocating %zu bytes\"}\n", n);
    if (len > 0) {
        ssize_t w = write(STDERR_FILENO, msg, (size_t)len);
        (void)w;
    }
    abort();
}

void *hs_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *hs_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
    return p;
}

void *hs_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *hs_strdup(const char *s) { return hs_memdup(s, strlen(s) + 1); }

char *hs_strndup(const char *s, size_t n) {
    char *p = hs_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *hs_memdup(const void *p, size_t n) {
    void *q = hs_malloc(n);
    if (n) memcpy(q, p, n);
    return q;
}

void hs_free(void *p) { free(p); }

char *hs_sprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) oom(0);
    char *s = hs_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void hs_free_secret(char *s) {
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void hs_alloc_init_json(void) { json_set_alloc_funcs(hs_malloc, hs_free); }
