/* src/app/listen.c — `hookstream listen SOURCE --forward URL`: follow a
 * running server's events of one source, as they are stored, and replay
 * each to a local URL (a developer's receiver), as `stripe listen` does.
 *
 * It is a client of the server's API like any other: it subscribes to the
 * live feed (GET /v1/ws, channel hookstream.events; a minimal RFC 6455
 * client: text, ping/pong and close frames, its own frames masked), and
 * for each event of the source reads the event (GET /v1/events/:id) and
 * sends its body again, with its method and headers (not the hop-by-hop
 * ones), to the forward URL. Events stored while it is not connected are
 * not replayed: it says when the connection is lost and reconnects.
 */
#include "app/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/id.h"
#include "base/timeutil.h"
#include "base/url.h"

#define MAX_FRAME (16u << 20)
#define MAX_HEAD 8192

const char hs_usage_listen[] = "Usage: hookstream listen SOURCE --forward URL [options]\n"
                               "\n"
                               "Follows a running server's events of SOURCE (its id or slug) as they are\n"
                               "stored and sends each again, with its method, headers and body, to URL\n"
                               "(your receiver, e.g. http://localhost:3000/hook). Ctrl-C stops.\n"
                               "\n"
                               "Options:\n"
                               "  --forward URL       where to send the events (required)\n"
                               "  --url URL           the server [HOOKSTREAM_URL, default http://127.0.0.1:8080]\n"
                               "  --api-key KEY       an API key [HOOKSTREAM_API_KEY]\n";

static volatile sig_atomic_t g_stop;
static void on_stop(int sig) {
    (void)sig;
    g_stop = 1;
}

typedef struct listener {
    const char *url, *key, *forward;
    char source_id[HS_ID_MAX];
    CURL *curl;
    int fd;
    hs_buf in; /* bytes read and not yet parsed */
} listener;

/* ---- HTTP to the server and to the receiver (libcurl) ---- */

/* GET path of the server's API: the JSON answer, or NULL with err set. */
static json_t *api_get(listener *l, const char *path, char *err, size_t errlen) {
    long status;
    return hs__api_get(l->curl, l->url, l->key, path, &status, err, errlen);
}

static bool hop_by_hop(const char *name) {
    static const char *const skip[] = {"host",   "content-length", "connection", "transfer-encoding",
                                       "expect", "keep-alive",     "upgrade",    NULL};
    for (const char *const *s = skip; *s; s++)
        if (strcasecmp(name, *s) == 0) return true;
    return false;
}

/* The event again, to the forward URL; one line on stdout says how it went. */
static void forward(listener *l, const char *event_id) {
    char err[512];
    char *path = hs_sprintf("/v1/events/%s", event_id);
    json_t *e = api_get(l, path, err, sizeof err);
    hs_free(path);
    if (!e) {
        printf("%s  could not be read: %s\n", event_id, err);
        fflush(stdout);
        return;
    }
    const char *method = json_string_value(json_object_get(e, "method"));
    const char *body = json_string_value(json_object_get(e, "body"));
    const char *enc = json_string_value(json_object_get(e, "body_encoding"));
    size_t len = body ? strlen(body) : 0;
    unsigned char *raw = NULL;
    if (body && enc && strcmp(enc, "base64") == 0) {
        raw = hs_base64_decode(body, len, &len);
        body = (const char *)raw;
    }
    struct curl_slist *h = NULL;
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(e, "headers"), name, value) {
        if (hop_by_hop(name) || !json_is_string(value)) continue;
        char *line = hs_sprintf("%s: %s", name, json_string_value(value));
        h = curl_slist_append(h, line);
        hs_free(line);
    }
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    hs_buf answer;
    hs_buf_init(&answer, 1u << 20);
    long status = 0;
    uint64_t t0 = hs_now_ms();
    const char *m = method && *method ? method : "POST";
    if (hs__http_request(l->curl, m, l->forward, h, body ? body : "", body ? len : 0, &status, &answer, err,
                         sizeof err) == 0)
        printf("%s  %s %s -> %ld (%llu ms)\n", event_id, m, l->forward, status, (unsigned long long)(hs_now_ms() - t0));
    else
        printf("%s  %s %s -> failed: %s\n", event_id, m, l->forward, err);
    fflush(stdout);
    hs_buf_free(&answer);
    curl_slist_free_all(h);
    hs_free(raw);
    json_decref(e);
}

/* ---- the live feed: a minimal WebSocket client ---- */

static int send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR && !g_stop) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A client frame: FIN, the opcode, masked (RFC 6455 §5.3). */
static int send_frame(int fd, int opcode, const char *payload, size_t len) {
    unsigned char head[14];
    size_t h = 0;
    head[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        head[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        head[h++] = 0x80 | 126;
        head[h++] = (unsigned char)(len >> 8);
        head[h++] = (unsigned char)len;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) head[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4];
    hs_random_bytes(mask, sizeof mask);
    memcpy(head + h, mask, 4);
    h += 4;
    char *masked = hs_malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) masked[i] = (char)(payload[i] ^ mask[i % 4]);
    int rc = send_all(fd, head, h) == 0 && send_all(fd, masked, len) == 0 ? 0 : -1;
    hs_free(masked);
    return rc;
}

/* Read more bytes into l->in; -1 when the connection is gone (or a stop). */
static int fill(listener *l) {
    char buf[65536];
    for (;;) {
        ssize_t n = recv(l->fd, buf, sizeof buf, 0);
        if (n > 0) return hs_buf_append(&l->in, buf, (size_t)n) == 0 ? 0 : -1;
        if (n < 0 && errno == EINTR && !g_stop) continue;
        return -1;
    }
}

/* Drop the first n bytes of l->in. */
static void consume(listener *l, size_t n) {
    memmove(l->in.data, l->in.data + n, l->in.len - n);
    l->in.len -= n;
}

static int connect_to(const hs_url *u) {
    char port[8];
    snprintf(port, sizeof port, "%u", u->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(u->host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Connect, upgrade, subscribe. */
static int open_feed(listener *l, char *err, size_t errlen) {
    hs_url u;
    const char *why = NULL;
    if (hs_url_parse(l->url, &u, &why) != 0 || u.https) {
        snprintf(err, errlen, "--url %s: %s", l->url, why ? why : "https is not supported by listen; use http");
        return -1;
    }
    l->fd = connect_to(&u);
    if (l->fd < 0) {
        snprintf(err, errlen, "cannot reach %s: %s", l->url, strerror(errno));
        return -1;
    }
    unsigned char nonce[16];
    hs_random_bytes(nonce, sizeof nonce);
    char *key = hs_base64_encode(nonce, sizeof nonce);
    char *req = hs_sprintf("GET /v1/ws HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                           u.host, u.port, key, l->key);
    int rc = send_all(l->fd, req, strlen(req));
    hs_free_secret(req);
    hs_free(key);
    l->in.len = 0;
    char *end = NULL;
    while (rc == 0 && !(end = l->in.len ? memmem(l->in.data, l->in.len, "\r\n\r\n", 4) : NULL))
        rc = l->in.len > MAX_HEAD ? -1 : fill(l);
    if (rc != 0 || !end) {
        snprintf(err, errlen, "the server closed the connection during the WebSocket handshake");
        return -1;
    }
    size_t head_len = (size_t)(end - l->in.data) + 4;
    if (head_len < 13 || strncmp(l->in.data + 8, " 101", 4) != 0) {
        int line = (int)strcspn(l->in.data, "\r");
        snprintf(err, errlen, "the server refused the live feed: %.*s", line < 200 ? line : 200, l->in.data);
        return -1;
    }
    consume(l, head_len);
    static const char sub[] = "{\"type\":\"subscribe\",\"channel\":\"hookstream.events\"}";
    if (send_frame(l->fd, 1, sub, sizeof sub - 1) != 0) {
        snprintf(err, errlen, "the connection was lost while subscribing");
        return -1;
    }
    return 0;
}

/* A text message of the feed. */
static void on_message(listener *l, const char *text, size_t len) {
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    json_t *data = json_object_get(m, "data");
    const char *src = json_string_value(json_object_get(data, "source_id"));
    const char *id = json_string_value(json_object_get(data, "event_id"));
    if (type && strcmp(type, "subscribed") == 0) {
        printf("hookstream: forwarding the events of %s to %s (Ctrl-C stops)\n", l->source_id, l->forward);
        fflush(stdout);
    } else if (type && strcmp(type, "event.received") == 0 && src && id && strcmp(src, l->source_id) == 0) {
        forward(l, id);
    }
    json_decref(m);
}

/* Frames until the connection ends (-1) or a stop (0). */
static int follow(listener *l) {
    hs_buf msg;
    hs_buf_init(&msg, MAX_FRAME);
    int rc = 0;
    while (!g_stop) {
        unsigned char *p = (unsigned char *)l->in.data;
        size_t have = l->in.len, need = 2;
        uint64_t len = 0;
        if (have >= 2) {
            len = p[1] & 0x7f;
            need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + ((p[1] & 0x80) ? 4 : 0);
        }
        if (have >= need && have >= 2) {
            size_t off = 2;
            if (len == 126) len = (uint64_t)p[2] << 8 | p[3], off = 4;
            if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
                off = 10;
            }
            if (len > MAX_FRAME) {
                rc = -1;
                break;
            }
            if (p[1] & 0x80) off += 4; /* a server does not mask; skip one if it does */
            if (have >= off + len) {
                int opcode = p[0] & 0x0f;
                bool fin = p[0] & 0x80;
                const char *payload = (const char *)p + off;
                if (opcode == 9) {
                    send_frame(l->fd, 10, payload, (size_t)len); /* pong */
                } else if (opcode == 8) {
                    send_frame(l->fd, 8, payload, len >= 2 ? 2 : 0);
                    rc = -1;
                    break;
                } else if (opcode == 1 || opcode == 0) {
                    hs_buf_append(&msg, payload, (size_t)len);
                    if (fin) {
                        on_message(l, msg.data ? msg.data : "", msg.len);
                        msg.len = 0;
                    }
                }
                consume(l, off + (size_t)len);
                continue;
            }
        }
        if (fill(l) != 0) {
            rc = g_stop ? 0 : -1;
            break;
        }
    }
    hs_buf_free(&msg);
    return rc;
}

/* ---- the command ---- */

int hs_listen_main(int argc, char **argv) {
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(hs_usage_listen, stdout);
        return 0;
    }
    if (argc < 3 || argv[2][0] == '-') {
        fprintf(stderr, "hookstream: usage: hookstream listen SOURCE --forward URL (try `hookstream listen --help`)\n");
        return 2;
    }
    listener l = {.url = hs__env_or("HOOKSTREAM_URL", "http://127.0.0.1:8080"),
                  .key = hs__env_or("HOOKSTREAM_API_KEY", NULL),
                  .fd = -1};
    const char *source = argv[2];
    for (int a = 3; a < argc; a++) {
        const char **dst = strcmp(argv[a], "--forward") == 0   ? &l.forward
                           : strcmp(argv[a], "--url") == 0     ? &l.url
                           : strcmp(argv[a], "--api-key") == 0 ? &l.key
                                                               : NULL;
        if (!dst) {
            fprintf(stderr, "hookstream: unknown option \"%s\" (try `hookstream listen --help`)\n", argv[a]);
            return 2;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "hookstream: %s needs a value\n", argv[a]);
            return 2;
        }
        *dst = argv[++a];
    }
    hs_url fu;
    const char *why = NULL;
    if (!l.forward || hs_url_parse(l.forward, &fu, &why) != 0) {
        fprintf(stderr, "hookstream: --forward: %s\n", l.forward ? why : "the URL to send the events to is required");
        return 2;
    }
    if (!l.key) {
        fprintf(stderr, "hookstream: an API key is needed: --api-key KEY or HOOKSTREAM_API_KEY\n");
        return 2;
    }
    char *url = hs_strdup(l.url);
    for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; n--) url[n - 1] = '\0';
    l.url = url;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    l.curl = curl_easy_init();
    hs_buf_init(&l.in, MAX_FRAME + 64);
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: a blocked recv returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = 0;
    char err[512];
    /* the source, by id or slug: its id is what the feed names */
    char *path = hs_sprintf("/v1/sources/%s", source);
    json_t *s = l.curl ? api_get(&l, path, err, sizeof err) : NULL;
    hs_free(path);
    if (!s) {
        fprintf(stderr, "hookstream: source %s: %s\n", source, l.curl ? err : "cannot start libcurl");
        rc = 1;
    } else {
        snprintf(l.source_id, sizeof l.source_id, "%s", json_string_value(json_object_get(s, "id")));
        json_decref(s);
    }
    for (bool first = true; rc == 0 && !g_stop; first = false) {
        if (open_feed(&l, err, sizeof err) != 0) {
            fprintf(stderr, "hookstream: %s%s\n", err, first ? "" : "; trying again in 1 s");
            if (first) rc = 1;
        } else if (follow(&l) != 0 && !g_stop) {
            fprintf(stderr, "hookstream: the live feed was lost; reconnecting (events stored meanwhile are not "
                            "forwarded: `hookstream events list` shows them)\n");
        }
        if (l.fd >= 0) close(l.fd);
        l.fd = -1;
        if (rc == 0 && !g_stop) sleep(1);
    }
    hs_buf_free(&l.in);
    if (l.curl) curl_easy_cleanup(l.curl);
    curl_global_cleanup();
    hs_free(url);
    return rc;
}
