/* src/app/client.h — commands that are clients of a running server:
 * `hookstream events list` (src/app/client.c) and `hookstream listen`
 * (src/app/listen.c); and `hookstream api-keys` (src/app/apikeys.c), which
 * works on the database instead. */
#ifndef HS_APP_CLIENT_H
#define HS_APP_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"

extern const char hs_usage_events_list[];

/* `hookstream events ...` (argv as main's); returns the exit status: 0, 1
 * (the server could not be reached or refused), 2 (bad usage). */
int hs_client_main(int argc, char **argv);

extern const char hs_usage_listen[];
/* `hookstream listen SOURCE --forward URL ...`: runs until SIGINT/SIGTERM
 * (0), or 1 when it cannot start (server, key, source), 2 (bad usage). */
int hs_listen_main(int argc, char **argv);

extern const char hs_usage_apikeys[];
/* `hookstream api-keys create|list|revoke` (src/app/apikeys.c): on the
 * database itself, no server needed; 0, 1 (failed), 2 (bad usage). */
int hs_apikeys_main(int argc, char **argv);

/* Shared by the two (src/app/client.c): an environment variable unless
 * unset or empty; a libcurl write function appending to an hs_buf. */
const char *hs__env_or(const char *name, const char *dflt);
size_t hs__curl_to_buf(char *data, size_t size, size_t n, void *ud);
/* One request with c (reset first): 0 with *status and the body appended
 * to out, or -1 with libcurl's reason in err. */
int hs__http_request(CURL *c, const char *method, const char *url, struct curl_slist *headers, const char *body,
                     size_t body_len, long *status, hs_buf *out, char *err, size_t errlen);
/* GET base+path of the API with the key: the JSON answer of a 200 (NULL
 * when not JSON), else NULL with err saying why: *status 0 when the server
 * was not reached (err is libcurl's reason), else its status and message. */
json_t *hs__api_get(CURL *c, const char *base, const char *key, const char *path, long *status, char *err,
                    size_t errlen);

#endif
