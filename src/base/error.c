#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *hs_strerror(int code) {
    switch (code) {
    case HS_OK: return "ok";
    case HS_ERR_NOMEM: return "out of memory";
    case HS_ERR_INVALID: return "invalid input";
    case HS_ERR_NOTFOUND: return "not found";
    case HS_ERR_CONFLICT: return "conflict";
    case HS_ERR_TOOBIG: return "too large";
    case HS_ERR_IO: return "storage unavailable";
    case HS_ERR_CLOSED: return "shutting down";
    case HS_ERR_UNAUTHORIZED: return "unauthorized";
    case HS_ERR_UNSUPPORTED: return "unsupported";
    case HS_ERR_TIMEOUT: return "timed out";
    case HS_ERR_INTERNAL: return "internal error";
    case HS_ERR_BUSY: return "overloaded, retry later";
    case HS_ERR_METHOD: return "method not allowed";
    case HS_ERR_MEDIA_TYPE: return "unsupported media type";
    case HS_ERR_PERMANENT: return "refused for good";
    case HS_ERR_AGAIN: return "stale credentials";
    case HS_ERR_STALE: return "lease moved";
    default: return "unknown error";
    }
}

int hs_err_http_status(int code) {
    switch (code) {
    case HS_OK: return 200;
    case HS_ERR_INVALID: return 400;
    case HS_ERR_UNAUTHORIZED: return 401;
    case HS_ERR_NOTFOUND: return 404;
    case HS_ERR_METHOD: return 405;
    case HS_ERR_CONFLICT: return 409;
    case HS_ERR_TOOBIG: return 413;
    case HS_ERR_MEDIA_TYPE: return 415;
    case HS_ERR_PERMANENT: return 422;
    case HS_ERR_AGAIN: return 503;
    case HS_ERR_STALE: return 409;
    case HS_ERR_UNSUPPORTED: return 422;
    case HS_ERR_IO:
    case HS_ERR_BUSY:
    case HS_ERR_CLOSED: return 503;
    case HS_ERR_TIMEOUT: return 504;
    default: return 500;
    }
}

void hs_error_clear(hs_error *e) {
    if (!e) return;
    e->code = HS_OK;
    e->field[0] = '\0';
    e->msg[0] = '\0';
}

int hs_error_set(hs_error *e, int code, const char *field, const char *fmt, ...) {
    if (!e) return code;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}
