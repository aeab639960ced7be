/* src/base/buf.h — growable byte buffer with a hard cap (like curl's dynbuf).
 *
 * Every buffer that holds data from the network has a maximum; appending past
 * it fails with HS_ERR_TOOBIG and leaves the buffer unchanged. The data is
 * always NUL-terminated (the terminator is not counted in len), so text can
 * be used as a C string. The caller owns the struct; hs_buf_free releases the
 * memory and leaves an empty buffer with the same cap.
 */
#ifndef HS_BUF_H
#define HS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct hs_buf {
    char *data;
    size_t len;
    size_t alloc;
    size_t max; /* hard cap on len */
} hs_buf;

void hs_buf_init(hs_buf *b, size_t max);
void hs_buf_free(hs_buf *b);
void hs_buf_reset(hs_buf *b); /* len = 0, keep memory */
int hs_buf_append(hs_buf *b, const void *data, size_t len);
int hs_buf_appends(hs_buf *b, const char *s);
int hs_buf_appendf(hs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hs_buf_vappendf(hs_buf *b, const char *fmt, va_list ap);
/* Hand the data to the caller (who frees it with hs_free); buffer becomes empty. */
char *hs_buf_detach(hs_buf *b, size_t *len);

#endif
