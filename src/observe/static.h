/* src/observe/static.h — the dashboard's files (the files in web/), compiled into the binary by
 * tools/embed.c (the generated $(BUILD)/gen/web_assets.c defines
 * hs_static_files) and served at / and /assets/<name>.
 *
 * No API key is needed for these: they hold no data. Everything the
 * dashboard shows comes from the /v1 API, which does need one. Every answer
 * carries a Content-Security-Policy that allows only this origin (scripts,
 * styles, images, fetch and the /v1/ws WebSocket), nosniff, DENY framing,
 * Cache-Control: no-cache and an ETag (304 on If-None-Match), so a browser
 * revalidates each file and never runs a stale one after an upgrade.
 */
#ifndef HS_STATIC_H
#define HS_STATIC_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

typedef struct hs_static_file {
    const char *name; /* base name: "app.js" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted: "\"0123456789abcdef\"" */
} hs_static_file;

extern const hs_static_file hs_static_files[];
extern const size_t hs_static_nfiles;

#define HS_STATIC_PREFIX "/assets/"
#define HS_STATIC_CSP                                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "                    \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* Is path the dashboard's ("/", "/index.html" or under /assets/)? */
bool hs_static_path(const char *path);
/* The embedded file called name (len bytes, not NUL-terminated), or NULL. */
const hs_static_file *hs_static_find(const char *name, size_t len);
/* Content-Type for a file name, by its extension. */
const char *hs_static_content_type(const char *name);
/* Answer a GET or HEAD of a path hs_static_path accepted: the file (200,
 * or 304 when If-None-Match names its ETag) or a JSON 404. */
void hs_static_serve(hs_http_req *req);

#endif
