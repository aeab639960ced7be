/* src/base/id.h — object identifiers: a type prefix plus 32 lowercase hex digits.
 *
 * The first 12 hex digits are the creation time in ms since the epoch, the
 * other 20 are random; within one millisecond the random part is incremented
 * so that ids made by one process sort in creation order (cursor pagination
 * and FIFO rebuilds rely on that). Thread-safe.
 */
#ifndef HS_ID_H
#define HS_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_ID_HEX 32
#define HS_ID_MAX 48 /* buffer size that holds any id with its NUL */

/* Writes prefix ("evt_") + 32 hex into out (>= HS_ID_MAX bytes). */
void hs_id_new(const char *prefix, char *out);
/* Same, with an explicit time (tests, or ids for a given instant). */
void hs_id_new_at(const char *prefix, uint64_t ms, char *out);
/* prefix + the 48 bits of ms + the 80 bits of tail, laid out as every id
 * is: for ids whose tail is not random (a delivery's is its place in the
 * store's queue). */
void hs_id_compose(const char *prefix, uint64_t ms, const unsigned char tail[10], char *out);
/* True when s is prefix followed by exactly 32 lowercase hex digits. */
bool hs_id_valid(const char *prefix, const char *s);
/* Creation time encoded in an id (0 if not an id). */
uint64_t hs_id_time_ms(const char *s);
/* Copies the id src into dst (HS_ID_MAX bytes), cut to fit: the hot paths
 * copy several ids per delivery, and snprintf("%s") costs ten times more. */
void hs_id_copy(char *dst, const char *src);
/* Fill buf with n random bytes from the kernel (getrandom). Aborts on failure. */
void hs_random_bytes(void *buf, size_t n);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hs_hex(const void *data, size_t n, char *out);

#endif
