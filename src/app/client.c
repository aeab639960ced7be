/* src/app/client.c — the commands that talk to a running server over its
 * API, as any client would: `hookstream events list`.
 *
 * Where the server is and the key: --url (HOOKSTREAM_URL, default
 * http://127.0.0.1:8080) and --api-key (HOOKSTREAM_API_KEY). One blocking
 * libcurl request per page; the API's own error message is shown as is.
 */
#include "app/client.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"

#define MAX_ANSWER (16u << 20)

const char hs_usage_events_list[] = "Usage: hookstream events list [options]\n"
                                    "\n"
                                    "The events a running server has received, newest first: id, source,\n"
                                    "status, when received.\n"
                                    "\n"
                                    "Options:\n"
                                    "  --url URL           the server [HOOKSTREAM_URL, default http://127.0.0.1:8080]\n"
                                    "  --api-key KEY       an API key [HOOKSTREAM_API_KEY]\n"
                                    "  --source ID         only this source's events\n"
                                    "  --status STATUS     received, processing, delivered, failed or cancelled\n"
                                    "  --limit N           at most N events, 1 to 10000 [default 20]\n"
                                    "  --json              one JSON object per line instead of the table\n";

typedef struct opts {
    const char *url, *key, *source, *status;
    long limit;
    bool json;
} opts;

size_t hs__curl_to_buf(char *data, size_t size, size_t n, void *ud) {
    return hs_buf_append(ud, data, size * n) == 0 ? size * n : 0;
}

const char *hs__env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int hs__http_request(CURL *c, const char *method, const char *url, struct curl_slist *headers, const char *body,
                     size_t body_len, long *status, hs_buf *out, char *err, size_t errlen) {
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hs__curl_to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

json_t *hs__api_get(CURL *c, const char *base, const char *key, const char *path, long *status, char *err,
                    size_t errlen) {
    char *url = hs_sprintf("%s%s", base, path);
    char *auth = hs_sprintf("Authorization: Bearer %s", key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    hs_buf b;
    hs_buf_init(&b, MAX_ANSWER);
    *status = 0;
    json_t *v = NULL;
    if (hs__http_request(c, "GET", url, h, NULL, 0, status, &b, err, errlen) == 0) {
        v = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
        if (*status != 200) {
            const char *msg = json_string_value(json_object_get(v, "error"));
            snprintf(err, errlen, "the server answered %ld: %s", *status, msg ? msg : "(no error message)");
            json_decref(v);
            v = NULL;
        }
    }
    hs_buf_free(&b);
    curl_slist_free_all(h);
    hs_free_secret(auth);
    hs_free(url);
    return v;
}

static void print_event(const json_t *e, bool json) {
    if (json) {
        char *line = json_dumps(e, JSON_COMPACT);
        if (line) printf("%s\n", line);
        hs_free(line); /* jansson allocates through hs_malloc (hs_alloc_init_json) */
        return;
    }
    const char *s = json_string_value(json_object_get(e, "status"));
    printf("%-40s %-40s %-11s %s\n", json_string_value(json_object_get(e, "id")),
           json_string_value(json_object_get(e, "source_id")), s ? s : "",
           json_string_value(json_object_get(e, "received_at")));
}

static int list(const opts *o) {
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "hookstream: cannot start libcurl\n");
        return 1;
    }
    bool header = !o->json; /* printed with the first page */
    char *cursor = NULL;
    long left = o->limit;
    int rc = 0;
    while (left > 0) {
        hs_buf q;
        hs_buf_init(&q, 4096);
        hs_buf_appendf(&q, "/v1/events?limit=%ld", left < 100 ? left : 100);
        char *esc;
        if (o->source && (esc = curl_easy_escape(c, o->source, 0))) {
            hs_buf_appendf(&q, "&source_id=%s", esc);
            curl_free(esc);
        }
        if (o->status && (esc = curl_easy_escape(c, o->status, 0))) {
            hs_buf_appendf(&q, "&status=%s", esc);
            curl_free(esc);
        }
        if (cursor) hs_buf_appendf(&q, "&cursor=%s", cursor);
        long status;
        char err[512];
        json_t *body = hs__api_get(c, o->url, o->key, q.data, &status, err, sizeof err);
        hs_buf_free(&q);
        if (status != 200) {
            if (status == 0)
                fprintf(stderr, "hookstream: cannot reach %s: %s\n", o->url, err);
            else
                fprintf(stderr, "hookstream: %s\n", err);
            rc = 1;
            break;
        }
        if (header) printf("%-40s %-40s %-11s %s\n", "EVENT", "SOURCE", "STATUS", "RECEIVED");
        header = false;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(body, "events"), i, e) {
            if (left-- <= 0) break;
            print_event(e, o->json);
        }
        hs_free(cursor);
        const char *next = json_string_value(json_object_get(body, "cursor"));
        cursor = next && json_is_true(json_object_get(body, "has_more")) ? hs_strdup(next) : NULL;
        json_decref(body);
        if (!cursor) break;
    }
    hs_free(cursor);
    curl_easy_cleanup(c);
    return rc;
}

int hs_client_main(int argc, char **argv) {
    /* argv[1] is "events" */
    if (argc < 3 || strcmp(argv[2], "list") != 0) {
        fprintf(stderr, "hookstream: usage: hookstream events list [options] (try `hookstream events list --help`)\n");
        return 2;
    }
    opts o = {.url = hs__env_or("HOOKSTREAM_URL", "http://127.0.0.1:8080"),
              .key = hs__env_or("HOOKSTREAM_API_KEY", NULL),
              .limit = 20};
    for (int a = 3; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(hs_usage_events_list, stdout);
            return 0;
        }
        if (strcmp(arg, "--json") == 0) {
            o.json = true;
            continue;
        }
        const char **dst = strcmp(arg, "--url") == 0       ? &o.url
                           : strcmp(arg, "--api-key") == 0 ? &o.key
                           : strcmp(arg, "--source") == 0  ? &o.source
                           : strcmp(arg, "--status") == 0  ? &o.status
                                                           : NULL;
        bool is_limit = strcmp(arg, "--limit") == 0;
        if (!dst && !is_limit) {
            fprintf(stderr, "hookstream: unknown option \"%s\" (try `hookstream events list --help`)\n", arg);
            return 2;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "hookstream: %s needs a value\n", arg);
            return 2;
        }
        const char *v = argv[++a];
        if (dst) {
            *dst = v;
            continue;
        }
        char *end = NULL;
        o.limit = strtol(v, &end, 10);
        if (!*v || *end || o.limit < 1 || o.limit > 10000) {
            fprintf(stderr, "hookstream: --limit: expected a whole number from 1 to 10000, got \"%s\"\n", v);
            return 2;
        }
    }
    if (!o.key) {
        fprintf(stderr, "hookstream: an API key is needed: --api-key KEY or HOOKSTREAM_API_KEY\n");
        return 2;
    }
    size_t ul = strlen(o.url);
    char *url = hs_strdup(o.url);
    while (ul > 0 && url[ul - 1] == '/') url[--ul] = '\0'; /* paths are appended */
    o.url = url;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = list(&o);
    curl_global_cleanup();
    hs_free(url);
    return rc;
}
