#include "observe/static.h"

#include <string.h>

bool hs_static_path(const char *path) {
    return strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
           strncmp(path, HS_STATIC_PREFIX, sizeof HS_STATIC_PREFIX - 1) == 0;
}

const hs_static_file *hs_static_find(const char *name, size_t len) {
    for (size_t i = 0; i < hs_static_nfiles; i++) {
        const hs_static_file *f = &hs_static_files[i];
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0) return f;
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *hs_static_content_type(const char *name) {
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (ends_with(name, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* If-None-Match holds a list of ETags or "*"; a weak "W/" one still names
 * the same bytes for a GET (RFC 9110 §13.1.2 uses the weak comparison). */
static bool etag_matches(const char *inm, const char *etag) {
    if (!inm) return false;
    if (strcmp(inm, "*") == 0) return true;
    return strstr(inm, etag) != NULL;
}

void hs_static_serve(hs_http_req *req) {
    const char *path = req->path;
    const char *name = "index.html";
    size_t len = strlen(name);
    if (strncmp(path, HS_STATIC_PREFIX, sizeof HS_STATIC_PREFIX - 1) == 0) {
        name = path + sizeof HS_STATIC_PREFIX - 1;
        len = strlen(name);
    }
    const hs_static_file *f = hs_static_find(name, len);
    if (!f) return hs_http_respond_error(req, 404, "no such dashboard file");

    const hs_http_header headers[] = {
        {"Cache-Control", "no-cache"},         {"ETag", (char *)f->etag},   {"Content-Security-Policy", HS_STATIC_CSP},
        {"X-Content-Type-Options", "nosniff"}, {"X-Frame-Options", "DENY"}, {"Referrer-Policy", "no-referrer"},
    };
    size_t nh = sizeof headers / sizeof headers[0];
    if (etag_matches(hs_http_req_header(req, "if-none-match"), f->etag))
        return hs_http_respond(req, 304, NULL, NULL, 0, headers, nh);
    hs_http_respond(req, 200, hs_static_content_type(f->name), (const char *)f->data, f->len, headers, nh);
}
