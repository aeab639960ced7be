/* src/app/config.h — command line and environment of `hookstream serve`.
 *
 * Every option has an environment twin (docs/operations.md); the command line wins.
 * Parsing never exits: it returns an error message for main to print.
 */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"
#include "base/loops.h"
#include "ws/ws.h"

#define HS_MAX_BODY_LIMIT (64u << 20)

/* --delivery-window: a destination's pending deliveries held in memory */
#define HS_DELIVERY_WINDOW_DEFAULT 256
#define HS_DELIVERY_WINDOW_MIN 1
#define HS_DELIVERY_WINDOW_MAX 65536
/* --retention: how long settled events are kept; 0 = forever */
#define HS_RETENTION_DEFAULT_MS (30ULL * 86400000ULL)
#define HS_RETENTION_MIN_MS 1000ULL
/* --trusted-proxies: entries at most */
#define HS_TRUSTED_PROXIES_MAX 64
#define HS_RETENTION_MAX_MS (36500ULL * 86400000ULL) /* 100 years: now - retention never wraps */

typedef struct hs_config {
    char listen_host[64];
    int listen_port;
    char *db;      /* path or URL (heap) */
    char *api_key; /* NULL when none configured (heap, wiped on free) */
    /* the key secrets are sealed with (src/base/secretbox.h): a file, or the key
     * itself from HOOKSTREAM_SECRET_KEY; neither: <db>.key */
    char *secret_key_file; /* heap or NULL */
    char *secret_key;      /* heap or NULL, wiped on free */
    char *new_key_file;    /* secrets rotate-key --new-key-file, heap or NULL */
    size_t max_body;       /* bytes */
    int log_level;         /* hs_log_level */
    bool allow_private_destinations;
    uint64_t request_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t shutdown_timeout_ms;
    int delivery_window;   /* pending deliveries per destination in memory */
    int threads;           /* loop threads, 1..HS_LOOPS_MAX; 0: one per core */
    uint64_t retention_ms; /* settled events older than this go; 0: kept forever */
    hs_ws_config ws;       /* GET /v1/ws limits (--ws-*), handed to the hub as is */
    /* --trusted-proxies: peers whose X-Forwarded-For is believed (heap or NULL) */
    hs_cidr *trusted_proxies;
    size_t ntrusted_proxies;
    /* several nodes on one PostgreSQL (src/cluster/) */
    char node_id[64];  /* --node-id; "": host:port of --listen */
    char role[16];     /* --role: all | api | deliver */
    uint64_t lease_ms; /* --lease-ms */
    /* issues and alerts (src/ops/) */
    uint64_t issue_resolve_after_ms; /* --issue-resolve-after */
    uint64_t alert_interval_ms;      /* --alert-interval */
    char *smtp_url;                  /* --smtp-url (heap or NULL) */
    char *smtp_from;                 /* --smtp-from (heap or NULL) */
    char *public_url;                /* --public-url, no trailing slash (heap or NULL) */
    int notification_retries;        /* --notification-retries */
} hs_config;

typedef enum {
    HS_CMD_SERVE,
    HS_CMD_HELP,
    HS_CMD_SERVE_HELP,
    HS_CMD_VERSION,
    HS_CMD_ROTATE_KEY,      /* hookstream secrets rotate-key */
    HS_CMD_ROTATE_KEY_HELP, /* hookstream secrets rotate-key --help */
} hs_command;

/* Parses argv (argv[0] is the program) and the environment.
 * Returns 0, or -1 with a message in err. */
int hs_config_parse(int argc, char **argv, hs_command *cmd, hs_config *cfg, char *err, size_t errlen);
void hs_config_free(hs_config *cfg);

/* "1048576", "512k", "1M", "1MiB" -> bytes. */
bool hs_parse_size(const char *s, size_t *out);
/* "90s", "15m", "12h", "30d" -> milliseconds: digits and one unit, s, m, h
 * or d (nothing else; false on overflow). */
bool hs_parse_duration(const char *s, uint64_t *ms);
/* "127.0.0.1:8080", "[::1]:8080" -> host + port (0..65535). */
bool hs_parse_listen(const char *s, char *host, size_t hostlen, int *port);

extern const char hs_usage_main[];
extern const char hs_usage_serve[];
extern const char hs_usage_rotate_key[];

#endif
