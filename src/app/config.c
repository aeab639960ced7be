#include "app/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/url.h"
#include "cluster/cluster.h"

const char hs_usage_main[] = "hookstream — self-hosted webhook and event delivery server\n"
                             "\n"
                             "Usage:\n"
                             "  hookstream serve [options]   run the server (see `hookstream serve --help`)\n"
                             "  hookstream secrets rotate-key [options]\n"
                             "                               re-encrypt every stored secret under a new key\n"
                             "  hookstream api-keys create|list|revoke [options]\n"
                             "                               manage the API keys in the database (see\n"
                             "                               `hookstream api-keys --help`)\n"
                             "  hookstream events list [options]\n"
                             "                               the events a running server received (see\n"
                             "                               `hookstream events list --help`)\n"
                             "  hookstream listen SOURCE --forward URL\n"
                             "                               replay a running server's events of SOURCE to\n"
                             "                               your receiver as they arrive\n"
                             "  hookstream --help            this text\n"
                             "  hookstream --version         print the version\n";

const char hs_usage_serve[] = "Usage: hookstream serve [options]\n"
                              "\n"
                              "Options (each also read from the environment variable shown):\n"
                              "  --listen HOST:PORT      address to listen on; PORT 0 picks a free port\n"
                              "                          [HOOKSTREAM_LISTEN, default 127.0.0.1:8080]\n"
                              "  --db PATH|URL           SQLite database file, created if missing, or a\n"
                              "                          PostgreSQL URL, postgresql://USER@HOST:PORT/DB (the\n"
                              "                          database is created if missing; PG* variables fill\n"
                              "                          what the URL leaves out)\n"
                              "                          [HOOKSTREAM_DB, default ./hookstream.db]\n"
                              "  --api-key KEY           accept this API key (at least 16 characters) in\n"
                              "                          addition to stored ones; with no key configured and\n"
                              "                          none stored, the first start creates one and prints it\n"
                              "                          [HOOKSTREAM_API_KEY]\n"
                              "  --max-body BYTES        largest request body accepted (413 above it);\n"
                              "                          suffixes k, M (KiB, MiB); at most 64M\n"
                              "                          [HOOKSTREAM_MAX_BODY, default 1M]\n"
                              "  --log-level LEVEL       debug, info, warn, error or off; logs are JSON lines\n"
                              "                          on stderr [HOOKSTREAM_LOG_LEVEL, default info]\n"
                              "  --allow-private-destinations\n"
                              "                          allow deliveries to loopback, private and link-local\n"
                              "                          addresses, which are refused otherwise (SSRF guard)\n"
                              "                          [HOOKSTREAM_ALLOW_PRIVATE_DESTINATIONS=1]\n"
                              "  --request-timeout MS    a request must arrive completely within MS of its\n"
                              "                          first byte, else 408 [HOOKSTREAM_REQUEST_TIMEOUT_MS,\n"
                              "                          default 30000]\n"
                              "  --idle-timeout MS       close keep-alive connections idle this long\n"
                              "                          [HOOKSTREAM_IDLE_TIMEOUT_MS, default 60000]\n"
                              "  --shutdown-timeout MS   on SIGTERM/SIGINT, wait at most this long for\n"
                              "                          in-flight requests [HOOKSTREAM_SHUTDOWN_TIMEOUT_MS,\n"
                              "                          default 10000]\n"
                              "  --delivery-window N     pending deliveries of one destination the scheduler\n"
                              "                          keeps in memory (the rest wait in the database);\n"
                              "                          1 to 65536 [HOOKSTREAM_DELIVERY_WINDOW, default 256]\n"
                              "  --threads N             loop threads; destinations are split among them,\n"
                              "                          each delivering from one thread; 1 to 64\n"
                              "                          [HOOKSTREAM_THREADS, default: one per core]\n"
                              "  --retention DURATION    keep settled events this long, then delete them;\n"
                              "                          a whole number with a unit s, m, h or d (90s, 15m,\n"
                              "                          12h, 30d), at least 1s; 0 or off keeps them forever\n"
                              "                          [HOOKSTREAM_RETENTION, default 30d]\n"
                              "  --trusted-proxies LIST  addresses and CIDR blocks, comma-separated, of the\n"
                              "                          reverse proxies in front of the server: only when\n"
                              "                          the connection comes from one of them is\n"
                              "                          X-Forwarded-For read (its right-most address that\n"
                              "                          is not a trusted proxy is the client's, for the\n"
                              "                          sources' IP lists and the events' source_ip);\n"
                              "                          otherwise the header is ignored, as any client can\n"
                              "                          write it [HOOKSTREAM_TRUSTED_PROXIES, default none]\n"
                              "  --public-url URL        where senders reach this server (http or https, no\n"
                              "                          query): the sources' ingest_url begins with it\n"
                              "                          [HOOKSTREAM_PUBLIC_URL, default: http:// and the\n"
                              "                          Host the API request came to]\n"
                              "\n"
                              "Issues and alerts (docs/operations.md \"Issues and alerts\"):\n"
                              "  --issue-resolve-after S an issue with no new occurrence for S seconds\n"
                              "                          resolves itself; 1 to 604800\n"
                              "                          [HOOKSTREAM_ISSUE_RESOLVE_AFTER, default 1800]\n"
                              "  --alert-interval S      alert rules are evaluated every S seconds; 1 to\n"
                              "                          86400 [HOOKSTREAM_ALERT_INTERVAL, default 60]\n"
                              "  --notification-retries N  a notification that fails is tried again N\n"
                              "                          times (after 1 s, 5 s, 30 s, 2 min, then every\n"
                              "                          10 min), then kept as failed; 0 to 10\n"
                              "                          [HOOKSTREAM_NOTIFICATION_RETRIES, default 4]\n"
                              "  --smtp-url URL          the SMTP server e-mail channels send through:\n"
                              "                          smtp://HOST:PORT or smtps://HOST:PORT\n"
                              "                          [HOOKSTREAM_SMTP_URL, default none]\n"
                              "  --smtp-from ADDRESS     the sender of e-mail notifications\n"
                              "                          [HOOKSTREAM_SMTP_FROM, default hookstream@localhost]\n"
                              "\n"
                              "Several nodes (a PostgreSQL --db shared by several servers; docs/cluster.md):\n"
                              "  --node-id ID            this node's name in the cluster [HOOKSTREAM_NODE_ID,\n"
                              "                          default HOST:PORT of --listen]\n"
                              "  --role ROLE             all: API, ingest and deliveries; api: no deliveries;\n"
                              "                          deliver: deliveries, and only /health and /metrics\n"
                              "                          over HTTP [HOOKSTREAM_ROLE, default all]\n"
                              "  --lease-ms MS           how long a node's hold on a destination lasts without\n"
                              "                          renewal: a node that stops takes this long, plus a\n"
                              "                          second, to be replaced; 3000 to 600000\n"
                              "                          [HOOKSTREAM_LEASE_MS, default 5000]\n"
                              "\n"
                              "Secrets at rest (every stored secret is AES-256-GCM encrypted under one key):\n"
                              "  --secret-key-file PATH  the key file: 64 hex digits or the base64 of 32\n"
                              "                          bytes, mode 0600 [HOOKSTREAM_SECRET_KEY_FILE]\n"
                              "  HOOKSTREAM_SECRET_KEY   the key itself, in either form, instead of a file\n"
                              "                          (environment only: a command line is visible to ps)\n"
                              "                          With neither, the key is DB.key beside the database\n"
                              "                          (hookstream.key in the working directory for a\n"
                              "                          PostgreSQL URL: give every node the same key),\n"
                              "                          created (mode 0600) at the first start; a database\n"
                              "                          whose secrets were sealed under another key refuses\n"
                              "                          to start.\n"
                              "\n"
                              "WebSocket clients (GET /v1/ws):\n"
                              "  --ws-max-message BYTES  largest message a client may send (closed with 1009\n"
                              "                          above it); 128 to 16M, suffixes k, M\n"
                              "                          [HOOKSTREAM_WS_MAX_MESSAGE, default 64k]\n"
                              "  --ws-max-queue BYTES    unsent bytes a client may fall behind before it is\n"
                              "                          disconnected; 4k to 4096M\n"
                              "                          [HOOKSTREAM_WS_MAX_QUEUE_BYTES, default 2M]\n"
                              "  --ws-max-connections N  clients at once, 503 beyond; 1 to 1000000\n"
                              "                          [HOOKSTREAM_WS_MAX_CONNECTIONS, default 1024]\n"
                              "  --ws-max-subscriptions N\n"
                              "                          channels per client; 1 to 100000\n"
                              "                          [HOOKSTREAM_WS_MAX_SUBSCRIPTIONS, default 64]\n"
                              "  --ws-ping-interval MS   ping each client this often; one that has not\n"
                              "                          answered by the next ping is dropped; 50 to 3600000\n"
                              "                          [HOOKSTREAM_WS_PING_INTERVAL_MS, default 30000]\n"
                              "  --ws-close-timeout MS   wait at most this long for a client's close frame;\n"
                              "                          50 to 600000 [HOOKSTREAM_WS_CLOSE_TIMEOUT_MS,\n"
                              "                          default 5000]\n"
                              "  --ws-send-buffer BYTES  kernel send buffer (SO_SNDBUF) per client; 4k to 64M\n"
                              "                          [HOOKSTREAM_WS_SEND_BUFFER_BYTES, default 256k]\n"
                              "\n"
                              "  -h, --help              this text\n"
                              "\n"
                              "The server prints one line, \"hookstream listening on http://HOST:PORT\", once\n"
                              "it is ready.\n";

const char hs_usage_rotate_key[] = "Usage: hookstream secrets rotate-key [options]\n"
                                   "\n"
                                   "Re-encrypts every stored secret under a new key, in one transaction, then\n"
                                   "replaces the key file. Stop the server first.\n"
                                   "\n"
                                   "  --db PATH               the database [HOOKSTREAM_DB, default ./hookstream.db]\n"
                                   "  --secret-key-file PATH  the current key file [HOOKSTREAM_SECRET_KEY_FILE,\n"
                                   "                          or HOOKSTREAM_SECRET_KEY, default DB.key, or\n"
                                   "                          hookstream.key for a PostgreSQL URL]\n"
                                   "  --new-key-file PATH     take the new key from this file (created with a new\n"
                                   "                          random key when missing); default: a new random key\n"
                                   "\n"
                                   "The new key is first written to KEYFILE.new (mode 0600, fsynced); after the\n"
                                   "commit it is renamed over KEYFILE. A crash before the commit leaves the old\n"
                                   "key in use; one after it is completed by the next start, which finds the\n"
                                   "database sealed under KEYFILE.new and renames it. With HOOKSTREAM_SECRET_KEY\n"
                                   "(no key file) --new-key-file is required, and the variable must then be set\n"
                                   "to the new key.\n";

bool hs_parse_size(const char *s, size_t *out) {
    if (!s || !isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return false;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1024 * 1024;
        end++;
    }
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)) end += strlen(end);
    if (*end) return false;
    if (v > (unsigned long long)SIZE_MAX / mul) return false;
    *out = (size_t)(v * mul);
    return true;
}

bool hs_parse_duration(const char *s, uint64_t *ms) {
    if (!s || !isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end[0] || end[1]) return false;
    unsigned long long unit;
    switch (*end) {
    case 's': unit = 1000ULL; break;
    case 'm': unit = 60000ULL; break;
    case 'h': unit = 3600000ULL; break;
    case 'd': unit = 86400000ULL; break;
    default: return false;
    }
    if (v > UINT64_MAX / unit) return false;
    *ms = (uint64_t)(v * unit);
    return true;
}

bool hs_parse_listen(const char *s, char *host, size_t hostlen, int *port) {
    if (!s) return false;
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return false;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return false;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen) return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    unsigned char tmp[16];
    if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1) {
        if (strcmp(host, "localhost") != 0) return false;
        snprintf(host, hostlen, "127.0.0.1");
    }
    const char *p = colon + 1;
    if (!*p) return false;
    long v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p)) return false;
        v = v * 10 + (*p - '0');
        if (v > 65535) return false;
    }
    *port = (int)v;
    return true;
}

/* A decimal integer from lo to hi, digits only (no sign, no suffix). */
static bool parse_range(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (!s || !isdigit((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_ms(const char *s, uint64_t *out) { return parse_range(s, 1, 86400000ULL, out); }

/* The --ws-* values and --delivery-window: sizes take the k / M suffixes
 * of --max-body, counts and milliseconds plain digits; the message names
 * the option, the range and what was given, like every other option's. */
typedef enum { VAL_BYTES, VAL_COUNT, VAL_MS } value_kind;

static int ranged_value(const char *v, const char *from, value_kind kind, uint64_t lo, uint64_t hi, uint64_t *out,
                        char *err, size_t errlen) {
    bool ok;
    if (kind == VAL_BYTES) {
        size_t n = 0;
        ok = hs_parse_size(v, &n) && n >= lo && n <= hi;
        *out = n;
    } else {
        ok = parse_range(v, lo, hi, out);
    }
    if (ok) return 0;
    static const char *const what[] = {[VAL_BYTES] = "a size in bytes (suffixes k, M allowed)",
                                       [VAL_COUNT] = "a whole number",
                                       [VAL_MS] = "milliseconds"};
    snprintf(err, errlen, "%s: expected %s from %llu to %llu, got \"%s\"", from, what[kind], (unsigned long long)lo,
             (unsigned long long)hi, v);
    return -1;
}

/* --retention: "off" or "0" (kept forever), else a duration of at least
 * a second and at most HS_RETENTION_MAX_MS. */
static int retention_value(const char *v, const char *from, uint64_t *out, char *err, size_t errlen) {
    if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    uint64_t ms;
    if (!hs_parse_duration(v, &ms)) {
        snprintf(err, errlen,
                 "%s: expected a whole number with a unit s, m, h or d (e.g. 90s, 12h, 30d), or 0 / off to keep "
                 "events forever, got \"%s\"",
                 from, v);
        return -1;
    }
    if (ms < HS_RETENTION_MIN_MS || ms > HS_RETENTION_MAX_MS) {
        snprintf(err, errlen,
                 "%s: expected at least 1s and at most 36500d (or 0 / off to keep events forever), got \"%s\"", from,
                 v);
        return -1;
    }
    *out = ms;
    return 0;
}

static bool truthy(const char *v) {
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

typedef enum {
    OPT_LISTEN,
    OPT_DB,
    OPT_KEY,
    OPT_BODY,
    OPT_LOG,
    OPT_REQ_TO,
    OPT_IDLE_TO,
    OPT_SHUT_TO,
    OPT_DELIVERY_WINDOW,
    OPT_THREADS,
    OPT_RETENTION,
    OPT_WS_MESSAGE,
    OPT_WS_QUEUE,
    OPT_WS_CONNS,
    OPT_WS_SUBS,
    OPT_WS_PING,
    OPT_WS_CLOSE,
    OPT_WS_SNDBUF,
    OPT_SECRET_KEY_FILE,
    OPT_NEW_KEY_FILE,
    OPT_TRUSTED_PROXIES,
    OPT_NODE_ID,
    OPT_ROLE,
    OPT_LEASE_MS,
    OPT_ISSUE_RESOLVE,
    OPT_ALERT_INTERVAL,
    OPT_SMTP_URL,
    OPT_SMTP_FROM,
    OPT_PUBLIC_URL,
    OPT_NOTIFICATION_RETRIES,
} opt_id;

static const struct {
    const char *flag;
    const char *env;
} value_opts[] = {
    [OPT_LISTEN] = {"--listen", "HOOKSTREAM_LISTEN"},
    [OPT_DB] = {"--db", "HOOKSTREAM_DB"},
    [OPT_KEY] = {"--api-key", "HOOKSTREAM_API_KEY"},
    [OPT_BODY] = {"--max-body", "HOOKSTREAM_MAX_BODY"},
    [OPT_LOG] = {"--log-level", "HOOKSTREAM_LOG_LEVEL"},
    [OPT_REQ_TO] = {"--request-timeout", "HOOKSTREAM_REQUEST_TIMEOUT_MS"},
    [OPT_IDLE_TO] = {"--idle-timeout", "HOOKSTREAM_IDLE_TIMEOUT_MS"},
    [OPT_SHUT_TO] = {"--shutdown-timeout", "HOOKSTREAM_SHUTDOWN_TIMEOUT_MS"},
    [OPT_DELIVERY_WINDOW] = {"--delivery-window", "HOOKSTREAM_DELIVERY_WINDOW"},
    [OPT_THREADS] = {"--threads", "HOOKSTREAM_THREADS"},
    [OPT_RETENTION] = {"--retention", "HOOKSTREAM_RETENTION"},
    /* the flag drops the unit its metavar shows, as --request-timeout MS
     * does for HOOKSTREAM_REQUEST_TIMEOUT_MS */
    [OPT_WS_MESSAGE] = {"--ws-max-message", "HOOKSTREAM_WS_MAX_MESSAGE"},
    [OPT_WS_QUEUE] = {"--ws-max-queue", "HOOKSTREAM_WS_MAX_QUEUE_BYTES"},
    [OPT_WS_CONNS] = {"--ws-max-connections", "HOOKSTREAM_WS_MAX_CONNECTIONS"},
    [OPT_WS_SUBS] = {"--ws-max-subscriptions", "HOOKSTREAM_WS_MAX_SUBSCRIPTIONS"},
    [OPT_WS_PING] = {"--ws-ping-interval", "HOOKSTREAM_WS_PING_INTERVAL_MS"},
    [OPT_WS_CLOSE] = {"--ws-close-timeout", "HOOKSTREAM_WS_CLOSE_TIMEOUT_MS"},
    [OPT_WS_SNDBUF] = {"--ws-send-buffer", "HOOKSTREAM_WS_SEND_BUFFER_BYTES"},
    [OPT_SECRET_KEY_FILE] = {"--secret-key-file", "HOOKSTREAM_SECRET_KEY_FILE"},
    [OPT_NEW_KEY_FILE] = {"--new-key-file", NULL},
    [OPT_TRUSTED_PROXIES] = {"--trusted-proxies", "HOOKSTREAM_TRUSTED_PROXIES"},
    [OPT_NODE_ID] = {"--node-id", "HOOKSTREAM_NODE_ID"},
    [OPT_ROLE] = {"--role", "HOOKSTREAM_ROLE"},
    [OPT_LEASE_MS] = {"--lease-ms", "HOOKSTREAM_LEASE_MS"},
    [OPT_ISSUE_RESOLVE] = {"--issue-resolve-after", "HOOKSTREAM_ISSUE_RESOLVE_AFTER"},
    [OPT_ALERT_INTERVAL] = {"--alert-interval", "HOOKSTREAM_ALERT_INTERVAL"},
    [OPT_SMTP_URL] = {"--smtp-url", "HOOKSTREAM_SMTP_URL"},
    [OPT_SMTP_FROM] = {"--smtp-from", "HOOKSTREAM_SMTP_FROM"},
    [OPT_PUBLIC_URL] = {"--public-url", "HOOKSTREAM_PUBLIC_URL"},
    [OPT_NOTIFICATION_RETRIES] = {"--notification-retries", "HOOKSTREAM_NOTIFICATION_RETRIES"},
};
#define NVALUE_OPTS (sizeof value_opts / sizeof value_opts[0])

/* --smtp-url smtp[s]://host[:port], --smtp-from an address: neither with
 * anything that could end a line of the SMTP conversation. */
static int smtp_value(hs_config *cfg, bool url, const char *v, const char *from, char *err, size_t errlen) {
    bool ok = *v && !strpbrk(v, " \r\n\t<>");
    if (url)
        ok = ok && (strncmp(v, "smtp://", 7) == 0 || strncmp(v, "smtps://", 8) == 0);
    else
        ok = ok && strchr(v, '@') && strchr(v, '@') != v;
    if (!ok) {
        snprintf(err, errlen, "%s: expected %s, got \"%s\"", from,
                 url ? "smtp://HOST:PORT or smtps://HOST:PORT" : "an e-mail address (alerts@example.com)", v);
        return -1;
    }
    char **dst = url ? &cfg->smtp_url : &cfg->smtp_from;
    hs_free(*dst);
    *dst = hs_strdup(v);
    return 0;
}

/* --public-url: an http or https URL without query or fragment, kept
 * without its trailing slashes. */
static int public_url_value(hs_config *cfg, const char *v, const char *from, char *err, size_t errlen) {
    hs_url u;
    const char *why = NULL;
    if (hs_url_parse(v, &u, &why) != HS_OK || strpbrk(v, "?#") || strlen(v) > 512) {
        snprintf(err, errlen, "%s: expected an http or https URL without query (https://hooks.example.com), got \"%s\"",
                 from, v);
        return -1;
    }
    hs_free(cfg->public_url);
    cfg->public_url = hs_strdup(v);
    for (size_t n = strlen(cfg->public_url); n > 0 && cfg->public_url[n - 1] == '/'; n--) cfg->public_url[n - 1] = '\0';
    return 0;
}

/* The bounds are src/ws/ws.h's, so the hub and its options cannot disagree. */
static int apply_ws(hs_ws_config *ws, opt_id id, const char *v, const char *from, char *err, size_t errlen) {
    uint64_t n;
    switch (id) {
    case OPT_WS_MESSAGE:
        if (ranged_value(v, from, VAL_BYTES, HS_WS_MAX_MESSAGE_MIN, HS_WS_MAX_MESSAGE_MAX, &n, err, errlen)) return -1;
        ws->max_message = (size_t)n;
        return 0;
    case OPT_WS_QUEUE:
        if (ranged_value(v, from, VAL_BYTES, HS_WS_MAX_QUEUE_MIN, HS_WS_MAX_QUEUE_MAX, &n, err, errlen)) return -1;
        ws->max_queue_bytes = (size_t)n;
        return 0;
    case OPT_WS_CONNS:
        if (ranged_value(v, from, VAL_COUNT, 1, HS_WS_MAX_CONNECTIONS_MAX, &n, err, errlen)) return -1;
        ws->max_connections = (int)n;
        return 0;
    case OPT_WS_SUBS:
        if (ranged_value(v, from, VAL_COUNT, 1, HS_WS_MAX_SUBSCRIPTIONS_MAX, &n, err, errlen)) return -1;
        ws->max_subscriptions = (int)n;
        return 0;
    case OPT_WS_PING:
        if (ranged_value(v, from, VAL_MS, HS_WS_PING_INTERVAL_MIN, HS_WS_PING_INTERVAL_MAX, &n, err, errlen)) return -1;
        ws->ping_interval_ms = n;
        return 0;
    case OPT_WS_CLOSE:
        if (ranged_value(v, from, VAL_MS, HS_WS_CLOSE_TIMEOUT_MIN, HS_WS_CLOSE_TIMEOUT_MAX, &n, err, errlen)) return -1;
        ws->close_timeout_ms = n;
        return 0;
    case OPT_WS_SNDBUF:
        if (ranged_value(v, from, VAL_BYTES, HS_WS_SEND_BUFFER_MIN, HS_WS_SEND_BUFFER_MAX, &n, err, errlen)) return -1;
        ws->send_buffer_bytes = (int)n;
        return 0;
    default: return -1;
    }
}

/* --trusted-proxies: addresses and CIDR blocks, comma-separated; "" or
 * "none" trusts none. */
static int trusted_value(hs_config *cfg, const char *v, const char *from, char *err, size_t errlen) {
    hs_free(cfg->trusted_proxies);
    cfg->trusted_proxies = NULL;
    cfg->ntrusted_proxies = 0;
    if (strcmp(v, "none") == 0) return 0;
    hs_cidr list[HS_TRUSTED_PROXIES_MAX];
    size_t n = 0;
    for (const char *p = v; *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t len = strcspn(p, ", ");
        if (!len) break;
        char one[HS_CIDR_TEXT_MAX + 1], why[HS_CIDR_WHY_MAX];
        snprintf(one, sizeof one, "%.*s", (int)(len < HS_CIDR_TEXT_MAX ? len : HS_CIDR_TEXT_MAX), p);
        if (n == HS_TRUSTED_PROXIES_MAX) {
            snprintf(err, errlen, "%s: at most %d addresses or CIDR blocks", from, HS_TRUSTED_PROXIES_MAX);
            return -1;
        }
        if (len > HS_CIDR_TEXT_MAX || !hs_cidr_parse(one, &list[n], why)) {
            snprintf(err, errlen, "%s: \"%.*s\" %s", from, (int)len, p,
                     len > HS_CIDR_TEXT_MAX ? "is not an IPv4 or IPv6 address or CIDR block" : why);
            return -1;
        }
        n++;
        p += len;
    }
    if (n) {
        cfg->trusted_proxies = hs_malloc(n * sizeof *list);
        memcpy(cfg->trusted_proxies, list, n * sizeof *list);
        cfg->ntrusted_proxies = n;
    }
    return 0;
}

static int apply(hs_config *cfg, opt_id id, const char *v, const char *from, char *err, size_t errlen) {
    switch (id) {
    case OPT_LISTEN:
        if (!hs_parse_listen(v, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port)) {
            snprintf(err, errlen, "%s: expected HOST:PORT with an IP address host (e.g. 127.0.0.1:8080), got \"%s\"",
                     from, v);
            return -1;
        }
        return 0;
    case OPT_DB:
    case OPT_SECRET_KEY_FILE:
    case OPT_NEW_KEY_FILE: {
        if (!*v) {
            snprintf(err, errlen, "%s: must not be empty", from);
            return -1;
        }
        char **dst = id == OPT_DB ? &cfg->db : id == OPT_SECRET_KEY_FILE ? &cfg->secret_key_file : &cfg->new_key_file;
        hs_free(*dst);
        *dst = hs_strdup(v);
        return 0;
    }
    case OPT_KEY:
        if (strlen(v) < 16 || strlen(v) > 256) {
            snprintf(err, errlen, "%s: an API key must have 16 to 256 characters", from);
            return -1;
        }
        for (const char *p = v; *p; p++)
            if (*p <= ' ' || *p > '~') {
                snprintf(err, errlen, "%s: an API key must be printable ASCII without spaces", from);
                return -1;
            }
        hs_free_secret(cfg->api_key);
        cfg->api_key = hs_strdup(v);
        return 0;
    case OPT_BODY:
        if (!hs_parse_size(v, &cfg->max_body) || cfg->max_body < 1024 || cfg->max_body > HS_MAX_BODY_LIMIT) {
            snprintf(err, errlen, "%s: expected a size from 1k to 64M (e.g. 1048576, 512k, 4M), got \"%s\"", from, v);
            return -1;
        }
        return 0;
    case OPT_LOG: {
        int l = hs_log_parse_level(v);
        if (l < 0) {
            snprintf(err, errlen, "%s: expected debug, info, warn, error or off, got \"%s\"", from, v);
            return -1;
        }
        cfg->log_level = l;
        return 0;
    }
    case OPT_REQ_TO:
    case OPT_IDLE_TO:
    case OPT_SHUT_TO: {
        uint64_t *dst = id == OPT_REQ_TO    ? &cfg->request_timeout_ms
                        : id == OPT_IDLE_TO ? &cfg->idle_timeout_ms
                                            : &cfg->shutdown_timeout_ms;
        if (!parse_ms(v, dst)) {
            snprintf(err, errlen, "%s: expected milliseconds from 1 to 86400000, got \"%s\"", from, v);
            return -1;
        }
        return 0;
    }
    case OPT_DELIVERY_WINDOW: {
        uint64_t n;
        if (ranged_value(v, from, VAL_COUNT, HS_DELIVERY_WINDOW_MIN, HS_DELIVERY_WINDOW_MAX, &n, err, errlen))
            return -1;
        cfg->delivery_window = (int)n;
        return 0;
    }
    case OPT_THREADS: {
        uint64_t n;
        if (ranged_value(v, from, VAL_COUNT, 1, HS_LOOPS_MAX, &n, err, errlen)) return -1;
        cfg->threads = (int)n;
        return 0;
    }
    case OPT_RETENTION: return retention_value(v, from, &cfg->retention_ms, err, errlen);
    case OPT_TRUSTED_PROXIES: return trusted_value(cfg, v, from, err, errlen);
    case OPT_NODE_ID:
        if (strlen(v) >= sizeof cfg->node_id || !hs_cluster_node_id_valid(v)) {
            snprintf(err, errlen, "%s: expected 1 to %zu letters, digits, '.', '_', ':' or '-', got \"%s\"", from,
                     sizeof cfg->node_id - 1, v);
            return -1;
        }
        snprintf(cfg->node_id, sizeof cfg->node_id, "%s", v);
        return 0;
    case OPT_ROLE:
        if (strcmp(v, "all") != 0 && strcmp(v, "api") != 0 && strcmp(v, "deliver") != 0) {
            snprintf(err, errlen, "%s: expected all, api or deliver, got \"%s\"", from, v);
            return -1;
        }
        snprintf(cfg->role, sizeof cfg->role, "%s", v);
        return 0;
    case OPT_LEASE_MS: {
        uint64_t n;
        if (ranged_value(v, from, VAL_COUNT, 3000, 600000, &n, err, errlen)) return -1;
        cfg->lease_ms = n;
        return 0;
    }
    case OPT_ISSUE_RESOLVE:
    case OPT_ALERT_INTERVAL: {
        uint64_t n;
        if (ranged_value(v, from, VAL_COUNT, 1, id == OPT_ISSUE_RESOLVE ? 604800 : 86400, &n, err, errlen)) return -1;
        *(id == OPT_ISSUE_RESOLVE ? &cfg->issue_resolve_after_ms : &cfg->alert_interval_ms) = n * 1000;
        return 0;
    }
    case OPT_SMTP_URL:
    case OPT_SMTP_FROM: return smtp_value(cfg, id == OPT_SMTP_URL, v, from, err, errlen);
    case OPT_PUBLIC_URL: return public_url_value(cfg, v, from, err, errlen);
    case OPT_NOTIFICATION_RETRIES: {
        uint64_t n;
        if (ranged_value(v, from, VAL_COUNT, 0, 10, &n, err, errlen)) return -1;
        cfg->notification_retries = (int)n;
        return 0;
    }
    case OPT_WS_MESSAGE:
    case OPT_WS_QUEUE:
    case OPT_WS_CONNS:
    case OPT_WS_SUBS:
    case OPT_WS_PING:
    case OPT_WS_CLOSE:
    case OPT_WS_SNDBUF: return apply_ws(&cfg->ws, id, v, from, err, errlen);
    }
    return -1;
}

static void defaults(hs_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->db = hs_strdup("./hookstream.db");
    cfg->max_body = 1u << 20;
    cfg->log_level = HS_LOG_INFO;
    cfg->request_timeout_ms = 30000;
    cfg->idle_timeout_ms = 60000;
    cfg->shutdown_timeout_ms = 10000;
    cfg->delivery_window = HS_DELIVERY_WINDOW_DEFAULT;
    cfg->retention_ms = HS_RETENTION_DEFAULT_MS;
    snprintf(cfg->role, sizeof cfg->role, "all");
    cfg->lease_ms = 5000;
    cfg->issue_resolve_after_ms = 1800 * 1000;
    cfg->alert_interval_ms = 60 * 1000;
    cfg->notification_retries = 4;
    hs_ws_config_defaults(&cfg->ws);
}

int hs_config_parse(int argc, char **argv, hs_command *cmd, hs_config *cfg, char *err, size_t errlen) {
    defaults(cfg);
    *cmd = HS_CMD_HELP;
    if (argc < 2) return 0;
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) return 0;
    if (strcmp(first, "--version") == 0 || strcmp(first, "version") == 0) {
        *cmd = HS_CMD_VERSION;
        return 0;
    }
    int a = 2;
    bool rotate = strcmp(first, "secrets") == 0;
    if (rotate) {
        if (argc < 3 || strcmp(argv[2], "rotate-key") != 0) {
            snprintf(err, errlen,
                     "usage: hookstream secrets rotate-key [options] (try `hookstream secrets "
                     "rotate-key --help`)");
            return -1;
        }
        a = 3;
    } else if (strcmp(first, "serve") != 0) {
        snprintf(err, errlen, "unknown command \"%s\" (try `hookstream --help`)", first);
        return -1;
    }
    *cmd = rotate ? HS_CMD_ROTATE_KEY : HS_CMD_SERVE;

    /* environment first, so the command line overrides it */
    for (size_t i = 0; i < NVALUE_OPTS; i++) {
        if (!value_opts[i].env || (rotate && i != OPT_DB && i != OPT_SECRET_KEY_FILE)) continue;
        const char *v = getenv(value_opts[i].env);
        if (v && *v && apply(cfg, (opt_id)i, v, value_opts[i].env, err, errlen)) return -1;
    }
    const char *key = getenv("HOOKSTREAM_SECRET_KEY");
    if (key && *key) cfg->secret_key = hs_strdup(key);
    if (!rotate && truthy(getenv("HOOKSTREAM_ALLOW_PRIVATE_DESTINATIONS"))) cfg->allow_private_destinations = true;

    for (; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *cmd = rotate ? HS_CMD_ROTATE_KEY_HELP : HS_CMD_SERVE_HELP;
            return 0;
        }
        if (!rotate && strcmp(arg, "--allow-private-destinations") == 0) {
            cfg->allow_private_destinations = true;
            continue;
        }
        size_t i;
        const char *val = NULL;
        for (i = 0; i < NVALUE_OPTS; i++) {
            size_t fl = strlen(value_opts[i].flag);
            if (strcmp(arg, value_opts[i].flag) == 0) {
                if (a + 1 >= argc) {
                    snprintf(err, errlen, "%s needs a value", arg);
                    return -1;
                }
                val = argv[++a];
                break;
            }
            if (strncmp(arg, value_opts[i].flag, fl) == 0 && arg[fl] == '=') {
                val = arg + fl + 1;
                break;
            }
        }
        bool allowed =
            rotate ? i == OPT_DB || i == OPT_SECRET_KEY_FILE || i == OPT_NEW_KEY_FILE : i != OPT_NEW_KEY_FILE;
        if (i == NVALUE_OPTS || !allowed) {
            snprintf(err, errlen, "unknown option \"%s\" (try `hookstream %s --help`)", arg,
                     rotate ? "secrets rotate-key" : "serve");
            return -1;
        }
        if (apply(cfg, (opt_id)i, val, value_opts[i].flag, err, errlen)) return -1;
    }
    return 0;
}

void hs_config_free(hs_config *cfg) {
    hs_free(cfg->db);
    hs_free_secret(cfg->api_key);
    hs_free(cfg->secret_key_file);
    hs_free_secret(cfg->secret_key);
    hs_free(cfg->new_key_file);
    hs_free(cfg->smtp_url);
    hs_free(cfg->smtp_from);
    cfg->smtp_url = cfg->smtp_from = NULL;
    hs_free(cfg->public_url);
    cfg->public_url = NULL;
    hs_free(cfg->trusted_proxies);
    cfg->trusted_proxies = NULL;
    cfg->ntrusted_proxies = 0;
    cfg->db = NULL;
    cfg->api_key = NULL;
    cfg->secret_key_file = cfg->secret_key = cfg->new_key_file = NULL;
}
