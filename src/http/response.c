/* src/http/response.c — building response bytes (see src/http/response.h). */
#include "http/response.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

const char *hs_http_status_text(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: break;
    }
    /* Unknown codes still need a reason phrase; the class name is honest. */
    if (status >= 100 && status < 200) return "Informational";
    if (status >= 200 && status < 300) return "Success";
    if (status >= 300 && status < 400) return "Redirection";
    if (status >= 400 && status < 500) return "Client Error";
    return "Server Error";
}

void hs_http_date_update(hs_http_date *d) {
    /* Fixed English names: strftime's %a/%b would follow the C locale, and
     * the format of this header does not depend on anyone's locale. */
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL); /* vDSO: no syscall */
    if (now == d->sec && d->len) return;
    struct tm tm;
    gmtime_r(&now, &tm);
    int n = snprintf(d->line, sizeof d->line, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday % 7],
                     tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    d->len = n > 0 && (size_t)n < sizeof d->line ? (size_t)n : 0;
    d->sec = now;
}

static void put(char **p, const void *s, size_t n) {
    memcpy(*p, s, n);
    *p += n;
}

static void put_str(char **p, const char *s) { put(p, s, strlen(s)); }

/* Header text comes from handlers that may echo client input; a CR or LF
 * would let it start a header (or a response) of its own. */
static void put_field(char **p, const char *s) {
    for (; *s; s++) *(*p)++ = (*s == '\r' || *s == '\n') ? ' ' : *s;
}

static void put_u64(char **p, unsigned long long v) {
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(p, tmp + i, sizeof tmp - i);
}

/* 1xx, 204 and 304 responses never carry a body (RFC 9110 §6.4.1). */
static bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

char *hs_http_build_response(const hs_http_date *date, const hs_http_head_opts *o, const char *body, size_t body_len,
                             size_t *out_len) {
    int status = (o->status >= 100 && o->status <= 999) ? o->status : 500;
    const char *text = hs_http_status_text(status);
    bool has_body = status_has_body(status);
    bool send_body = has_body && !o->head_only && body_len > 0;

    /* Exact upper bound first, so the head and body land in one buffer. */
    size_t need = 160 + strlen(text) + date->len + strlen(o->request_id);
    if (o->content_type) need += 16 + strlen(o->content_type);
    for (size_t i = 0; i < o->nextra; i++)
        if (o->extra[i].name && o->extra[i].value) need += 4 + strlen(o->extra[i].name) + strlen(o->extra[i].value);
    if (send_body) need += body_len;

    char *out = hs_malloc(need);
    char *p = out;
    put_str(&p, "HTTP/1.1 ");
    put_u64(&p, (unsigned long long)status);
    put(&p, " ", 1);
    put_str(&p, text);
    put(&p, "\r\n", 2);
    put(&p, date->line, date->len);
    if (o->content_type) {
        put_str(&p, "Content-Type: ");
        put_field(&p, o->content_type);
        put(&p, "\r\n", 2);
    }
    if (has_body) {
        put_str(&p, "Content-Length: ");
        put_u64(&p, (unsigned long long)body_len);
        put(&p, "\r\n", 2);
    }
    put_str(&p, o->close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
    put_str(&p, "X-Request-Id: ");
    put_str(&p, o->request_id);
    put(&p, "\r\n", 2);
    for (size_t i = 0; i < o->nextra; i++) {
        if (!o->extra[i].name || !o->extra[i].value) continue;
        put_field(&p, o->extra[i].name);
        put(&p, ": ", 2);
        put_field(&p, o->extra[i].value);
        put(&p, "\r\n", 2);
    }
    put(&p, "\r\n", 2);
    if (send_body) put(&p, body, body_len);
    *out_len = (size_t)(p - out);
    return out;
}

char *hs_http_error_json(int status, const char *msg, const char *rid, char *stack, size_t cap, size_t *len) {
    const char *text = hs_http_status_text(status);
    json_t *o = json_pack("{s:s, s:i, s:s}", "error", msg ? msg : text, "status", status, "request_id", rid);
    if (!o) /* msg was not valid UTF-8: say something true rather than nothing */
        o = json_pack("{s:s, s:i, s:s}", "error", text, "status", status, "request_id", rid);
    size_t n = o ? json_dumpb(o, stack, cap, JSON_COMPACT) : 0;
    char *out = stack;
    if (n > cap) {
        out = hs_malloc(n);
        n = json_dumpb(o, out, n, JSON_COMPACT);
    }
    json_decref(o);
    if (n == 0) { /* only if jansson itself failed; rid is our own hex */
        if (out != stack) hs_free(out);
        out = hs_sprintf("{\"error\":\"%s\",\"status\":%d,\"request_id\":\"%s\"}", text, status, rid);
        n = strlen(out);
    }
    *len = n;
    return out;
}
