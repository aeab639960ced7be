/* src/base/error.h — the one error type of hookstream.
 *
 * Every fallible function returns an int: 0 (HS_OK) on success or a negative
 * hs_err code. Where a caller needs to tell a user *what* was wrong (a field
 * path, a message), the function also fills an hs_error, whose code is the
 * same negative value. The HTTP layer maps codes to statuses in one place
 * (hs_err_http_status), so no module invents its own mapping.
 */
#ifndef HS_ERROR_H
#define HS_ERROR_H

#include <stddef.h>

typedef enum hs_err {
    HS_OK = 0,
    HS_ERR_NOMEM = -1,        /* allocation failed (normally aborts, see src/base/alloc.h) */
    HS_ERR_INVALID = -2,      /* bad input: 400 */
    HS_ERR_NOTFOUND = -3,     /* no such object: 404 */
    HS_ERR_CONFLICT = -4,     /* uniqueness / reference conflict: 409 */
    HS_ERR_TOOBIG = -5,       /* over a hard cap: 413 */
    HS_ERR_IO = -6,           /* storage or system failure: 503 */
    HS_ERR_CLOSED = -7,       /* shutting down: 503 */
    HS_ERR_UNAUTHORIZED = -8, /* missing or wrong credentials: 401 */
    HS_ERR_UNSUPPORTED = -9,  /* valid but not supported here: 422 */
    HS_ERR_TIMEOUT = -10,     /* deadline passed */
    HS_ERR_INTERNAL = -11,    /* a bug: 500 */
    HS_ERR_BUSY = -12,        /* overloaded, try again: 503 + Retry-After */
    HS_ERR_METHOD = -13,      /* method not allowed on this path: 405 */
    HS_ERR_MEDIA_TYPE = -14,  /* body in a content type we do not take: 415 */
    HS_ERR_PERMANENT = -15,   /* a receiver refused a delivery for good: no retry (422) */
    HS_ERR_AGAIN = -16,       /* stale cached credentials: rebuild and resend at once (503) */
    HS_ERR_STALE = -17,       /* a write under a lease that moved to another node: refused (409) */
} hs_err;

#define HS_ERROR_FIELD_MAX 128
#define HS_ERROR_MSG_MAX 320

/* Detailed error: code plus the offending field path ("config.url") and a
 * human sentence. Plain value type; no ownership. */
typedef struct hs_error {
    int code;
    char field[HS_ERROR_FIELD_MAX];
    char msg[HS_ERROR_MSG_MAX];
} hs_error;

const char *hs_strerror(int code);
int hs_err_http_status(int code);

void hs_error_clear(hs_error *e);
/* Fills e (if non-NULL) and returns code, so callers can write
 *   return hs_error_set(e, HS_ERR_INVALID, "name", "is required"); */
int hs_error_set(hs_error *e, int code, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
