/* src/base/base64.h — standard base64 (RFC 4648 §4) with padding. */
#ifndef HS_BASE64_H
#define HS_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a heap string (hs_free). */
char *hs_base64_encode(const void *data, size_t len);
/* Decodes strict, padded base64 into a heap buffer (hs_free) of *outlen
 * bytes. Returns NULL on malformed input. */
unsigned char *hs_base64_decode(const char *s, size_t len, size_t *outlen);

#endif
