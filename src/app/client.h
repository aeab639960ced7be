/* src/app/client.h — commands that are clients of a running server
 * (src/app/client.c): `hookstream events list`. */
#ifndef HS_APP_CLIENT_H
#define HS_APP_CLIENT_H

extern const char hs_usage_events_list[];

/* `hookstream events ...` (argv as main's); returns the exit status: 0, 1
 * (the server could not be reached or refused), 2 (bad usage). */
int hs_client_main(int argc, char **argv);

#endif
