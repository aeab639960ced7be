/* src/base/alloc.h — the one place allocation failure is handled.
 *
 * Like Redis' zmalloc: a failed allocation logs and aborts. A webhook gateway
 * that cannot allocate cannot keep its promises either, and aborting before
 * acknowledging keeps the durability contract (nothing unacknowledged is
 * promised; nothing acknowledged is lost because commits precede replies).
 * Code therefore never checks these for NULL.
 */
#ifndef HS_ALLOC_H
#define HS_ALLOC_H

#include <stddef.h>

void *hs_malloc(size_t n);
void *hs_calloc(size_t count, size_t size);
void *hs_realloc(void *p, size_t n);
char *hs_strdup(const char *s);
char *hs_strndup(const char *s, size_t n);
void *hs_memdup(const void *p, size_t n);
void hs_free(void *p);
/* printf into a new string */
char *hs_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Overwrite then free: for secrets. */
void hs_free_secret(char *s);
/* Route jansson's allocations through the wrappers above. */
void hs_alloc_init_json(void);

#endif
