/* bench/http1.h — where an HTTP/1.1 message ends, for bench/loadgen (its
 * responses) and bench/e2e_receiver (its requests): the head up to its
 * blank line, then a body of Content-Length bytes, or chunks up to the
 * last, empty one (no trailers), or none. Enough for nginx, hookstream and
 * libcurl on loopback; not a general parser. */
#ifndef BENCH_HTTP1_H
#define BENCH_HTTP1_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* the value of header `name` in head[0..len) (trimmed), or NULL */
static inline const char *http1_header(const char *head, size_t len, const char *name, size_t *vlen) {
    size_t n = strlen(name);
    const char *p = memchr(head, '\n', len), *end = head + len;
    while (p && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *e = eol ? eol : end;
        if ((size_t)(e - p) > n && p[n] == ':' && !strncasecmp(p, name, n)) {
            const char *v = p + n + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

/* does header `name` hold `token` (case-insensitive)? */
static inline int http1_has(const char *head, size_t len, const char *name, const char *token) {
    size_t vlen, t = strlen(token);
    const char *v = http1_header(head, len, name, &vlen);
    for (; v && vlen >= t; v++, vlen--)
        if (!strncasecmp(v, token, t)) return 1;
    return 0;
}

/* the length of the chunked body at b[0..len): 0 while incomplete, -1 if malformed */
static inline long http1_chunked(const char *b, size_t len) {
    size_t at = 0;
    for (;;) {
        const char *eol = memchr(b + at, '\n', len - at);
        if (!eol) return 0;
        char *x;
        unsigned long size = strtoul(b + at, &x, 16);
        if (x == b + at) return -1;
        at = (size_t)(eol - b) + 1 + size + 2; /* the data and its CRLF */
        if (at > len) return 0;
        if (!size) return (long)at;
    }
}

/* the length of the first message in buf[0..len): 0 while incomplete, -1
 * if not understood; *head is the length of its head, blank line included */
static inline long http1_message(const char *buf, size_t len, size_t *head) {
    const char *blank = memmem(buf, len, "\r\n\r\n", 4);
    if (!blank) return len > 65536 ? -1 : 0;
    *head = (size_t)(blank - buf) + 4;
    size_t vlen;
    const char *cl = http1_header(buf, *head - 2, "content-length", &vlen);
    if (cl) {
        char *x;
        unsigned long n = strtoul(cl, &x, 10);
        if (x == cl) return -1;
        return *head + n <= len ? (long)(*head + n) : 0;
    }
    if (http1_has(buf, *head - 2, "transfer-encoding", "chunked")) {
        long body = http1_chunked(buf + *head, len - *head);
        return body > 0 ? (long)*head + body : body;
    }
    return (long)*head;
}

#endif
