/* src/app/client.h — commands that are clients of a running server:
 * `hookstream events list` (src/app/client.c) and `hookstream listen`
 * (src/app/listen.c). */
#ifndef HS_APP_CLIENT_H
#define HS_APP_CLIENT_H

#include <stddef.h>

extern const char hs_usage_events_list[];

/* `hookstream events ...` (argv as main's); returns the exit status: 0, 1
 * (the server could not be reached or refused), 2 (bad usage). */
int hs_client_main(int argc, char **argv);

extern const char hs_usage_listen[];
/* `hookstream listen SOURCE --forward URL ...`: runs until SIGINT/SIGTERM
 * (0), or 1 when it cannot start (server, key, source), 2 (bad usage). */
int hs_listen_main(int argc, char **argv);

/* Shared by the two (src/app/client.c): an environment variable unless
 * unset or empty; a libcurl write function appending to an hs_buf. */
const char *hs__env_or(const char *name, const char *dflt);
size_t hs__curl_to_buf(char *data, size_t size, size_t n, void *ud);

#endif
