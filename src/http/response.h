/* src/http/response.h — response serialisation for src/http/server.c (internal).
 *
 * Kept apart from the connection machinery so that each file stays about
 * one thing: this one turns (status, headers, body) into the bytes of one
 * HTTP/1.1 response, the other decides when those bytes may be written.
 * Nothing here touches libuv or a connection; it is not a public API.
 */
#ifndef HS_HTTP_RESPONSE_H
#define HS_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "http/server.h"

/* "Date: <IMF-fixdate>\r\n", reformatted at most once per second. */
typedef struct hs_http_date {
    time_t sec;
    size_t len;
    char line[48];
} hs_http_date;

typedef struct hs_http_head_opts {
    int status;
    const char *content_type; /* NULL: no Content-Type */
    const hs_http_header *extra;
    size_t nextra;
    const char *request_id;
    bool close;     /* Connection: close instead of keep-alive */
    bool head_only; /* HEAD: announce body_len, send no body */
} hs_http_head_opts;

/* Refresh the cached Date line if the second changed. */
void hs_http_date_update(hs_http_date *d);

/* One allocation holding the status line, headers and (unless HEAD or a
 * bodiless status) the body: the only copy the body gets on the way out.
 * The caller frees it with hs_free. */
char *hs_http_build_response(const hs_http_date *date, const hs_http_head_opts *o, const char *body, size_t body_len,
                             size_t *out_len);

/* {"error":msg,"status":status,"request_id":rid}, compact. Written into
 * stack (of cap bytes) when it fits, else into a new allocation; the result
 * is stack or must be freed with hs_free. msg NULL or not UTF-8 falls back
 * to the status text. */
char *hs_http_error_json(int status, const char *msg, const char *rid, char *stack, size_t cap, size_t *len);

#endif
