/* bench/backlog_load.c — the HTTP side of bench/backlog: creates the fan-out
 * (one source, N paused destinations, N connections) and sends the events,
 * both over a libcurl multi handle with a fixed number of requests in
 * flight, and polls /health across a restart.
 *
 * usage: backlog_load setup BASE KEY N RECEIVER CONC
 *          source "backlog"; destinations "d-1".."d-N" (paused, url
 *          RECEIVER/d/<i>); a connection to each as its POST answers.
 *          prints: "<n> destinations + <n> connections in <s> s"
 *        backlog_load ingest URL EVENTS CONC BODYFILE
 *          POSTs BODYFILE EVENTS times; a 503 is sent again.
 *          prints: "<events> events in <s> s (first send to last 2xx), <r> resent after 503"
 *        backlog_load health BASE TIMEOUT_S [KEY SLUG]
 *          polls BASE/health every ms until it answers 200, then PATCHes
 *          destination SLUG to active. prints the wall-clock ms of both:
 *          "<health answered> <patch answered>"
 * Any failure prints the request and its answer and exits 1. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    CURL *e;
    char resp[4096];
    size_t len;
    long index;     /* the destination's number */
    int connecting; /* setup: 0 = its destination is being created, 1 = its connection */
} job;

/* what a run does: fill a free job with the next request (0: none left);
 * judge a finished one (1: the job was filled again, 0: done, -1: failed) */
typedef struct {
    int (*next)(job *j, void *ud);
    int (*done)(job *j, long code, void *ud);
    void *ud;
} ops;

static char g_base[512], g_auth[600], g_receiver[512];
static struct curl_slist *g_json;

static double now_s(int clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t keep(char *p, size_t s, size_t n, void *ud) {
    job *j = ud;
    size_t k = s * n, room = sizeof j->resp - 1 - j->len;
    memcpy(j->resp + j->len, p, k < room ? k : room);
    j->len += k < room ? k : room;
    j->resp[j->len] = 0;
    return s * n;
}

static void request(job *j, const char *method, const char *url, const char *body) {
    if (!j->e) j->e = curl_easy_init();
    curl_easy_reset(j->e);
    j->len = 0;
    j->resp[0] = 0;
    curl_easy_setopt(j->e, CURLOPT_URL, url);
    curl_easy_setopt(j->e, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(j->e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(j->e, CURLOPT_HTTPHEADER, g_json);
    curl_easy_setopt(j->e, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(j->e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(j->e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->e, CURLOPT_TIMEOUT_MS, 600000L);
}

static int failed(job *j, long code) {
    char *url = NULL;
    curl_easy_getinfo(j->e, CURLINFO_EFFECTIVE_URL, &url);
    fprintf(stderr, "backlog_load: %s answered %ld: %s\n", url ? url : "?", code, j->resp);
    return -1;
}

/* one request outside a run: its status, 0 and the reason in resp when there is no answer */
static long perform(job *j) {
    long code = 0;
    CURLcode rc = curl_easy_perform(j->e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &code);
    else
        snprintf(j->resp, sizeof j->resp, "(%s)", curl_easy_strerror(rc));
    return code;
}

/* the last 2xx's time (monotonic), or -1 when a request failed */
static double run(long conc, const ops *o) {
    CURLM *m = curl_multi_init();
    job *jobs = calloc((size_t)conc, sizeof *jobs);
    long active = 0;
    double last = 0;
    for (long i = 0; i < conc && o->next(&jobs[i], o->ud); i++, active++) curl_multi_add_handle(m, jobs[i].e);
    while (active > 0) {
        int running, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            job *j = NULL;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, j->e);
            if (msg->data.result != CURLE_OK)
                snprintf(j->resp, sizeof j->resp, "(%s)", curl_easy_strerror(msg->data.result));
            int r = msg->data.result != CURLE_OK ? failed(j, code) : o->done(j, code, o->ud);
            if (r < 0) return -1;
            if (code / 100 == 2) last = now_s(CLOCK_MONOTONIC);
            if (r == 1 || o->next(j, o->ud))
                curl_multi_add_handle(m, j->e);
            else
                active--;
        }
        if (active > 0) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (long i = 0; i < conc; i++) curl_easy_cleanup(jobs[i].e);
    free(jobs);
    curl_multi_cleanup(m);
    return last;
}

static int id_of(job *j, char *out, size_t cap) {
    json_t *doc = json_loads(j->resp, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "id"));
    int ok = id && strlen(id) < cap;
    if (ok) memcpy(out, id, strlen(id) + 1);
    json_decref(doc);
    return ok;
}

typedef struct {
    long n, created;
    char source[128];
} setup_state;

static int setup_next(job *j, void *ud) {
    setup_state *s = ud;
    if (s->created >= s->n) return 0;
    char url[600], body[1024];
    j->index = ++s->created;
    j->connecting = 0;
    snprintf(url, sizeof url, "%s/v1/destinations", g_base);
    snprintf(body, sizeof body,
             "{\"name\":\"backlog %ld\",\"slug\":\"d-%ld\",\"status\":\"paused\",\"config\":{\"url\":\"%s/d/%ld\"}}",
             j->index, j->index, g_receiver, j->index);
    request(j, "POST", url, body);
    return 1;
}

static int setup_done(job *j, long code, void *ud) {
    setup_state *s = ud;
    char dst[128], url[600], body[512];
    if (code / 100 != 2) return failed(j, code);
    if (j->connecting) return 0;
    if (!id_of(j, dst, sizeof dst)) return failed(j, code);
    snprintf(url, sizeof url, "%s/v1/connections", g_base);
    snprintf(body, sizeof body, "{\"source_id\":\"%s\",\"destination_id\":\"%s\"}", s->source, dst);
    request(j, "POST", url, body);
    j->connecting = 1;
    return 1;
}

static int setup(long n, long conc) {
    setup_state s = {.n = n};
    job src = {0};
    char url[600];
    snprintf(url, sizeof url, "%s/v1/sources", g_base);
    request(&src, "POST", url, "{\"name\":\"backlog\",\"slug\":\"backlog\"}");
    long code = perform(&src);
    if (code / 100 != 2 || !id_of(&src, s.source, sizeof s.source)) {
        failed(&src, code);
        return 1;
    }
    curl_easy_cleanup(src.e);
    double t0 = now_s(CLOCK_MONOTONIC);
    ops o = {setup_next, setup_done, &s};
    double t1 = run(conc, &o);
    if (t1 < 0) return 1;
    printf("%ld destinations + %ld connections in %.3f s\n", n, n, t1 - t0);
    return 0;
}

typedef struct {
    long events, sent, resent;
    const char *url, *body;
} ingest_state;

static int ingest_next(job *j, void *ud) {
    ingest_state *s = ud;
    if (s->sent >= s->events) return 0;
    s->sent++;
    request(j, "POST", s->url, s->body);
    return 1;
}

static int ingest_done(job *j, long code, void *ud) {
    ingest_state *s = ud;
    if (code == 503) { /* the write queue is full: not stored, send it again */
        s->resent++;
        request(j, "POST", s->url, s->body);
        return 1;
    }
    return code / 100 == 2 ? 0 : failed(j, code);
}

static int ingest(const char *url, long events, long conc, const char *path) {
    static char body[65536];
    FILE *f = fopen(path, "rb");
    if (!f) return 2;
    size_t len = fread(body, 1, sizeof body - 1, f);
    fclose(f);
    body[len] = 0;
    ingest_state s = {.events = events, .url = url, .body = body};
    ops o = {ingest_next, ingest_done, &s};
    double t0 = now_s(CLOCK_MONOTONIC), t1 = run(conc, &o);
    if (t1 < 0) return 1;
    printf("%ld events in %.3f s (first send to last 2xx), %ld resent after 503\n", events, t1 - t0, s.resent);
    return 0;
}

static int health(long timeout_s, const char *slug) {
    job j = {0};
    char url[600];
    long code = 0;
    double deadline = now_s(CLOCK_MONOTONIC) + (double)timeout_s;
    snprintf(url, sizeof url, "%s/health", g_base);
    while (code != 200) {
        if (now_s(CLOCK_MONOTONIC) > deadline) {
            failed(&j, code);
            return 1;
        }
        request(&j, "GET", url, NULL);
        curl_easy_setopt(j.e, CURLOPT_TIMEOUT_MS, 1000L);
        code = perform(&j);
        if (code != 200) nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    double up = now_s(CLOCK_REALTIME), patched = up;
    if (slug) {
        snprintf(url, sizeof url, "%s/v1/destinations/%s", g_base, slug);
        request(&j, "PATCH", url, "{\"status\":\"active\"}");
        code = perform(&j);
        if (code / 100 != 2) {
            failed(&j, code);
            return 1;
        }
        patched = now_s(CLOCK_REALTIME);
    }
    curl_easy_cleanup(j.e);
    printf("%.3f %.3f\n", up * 1e3, patched * 1e3);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    curl_global_init(CURL_GLOBAL_ALL);
    g_json = curl_slist_append(NULL, "Content-Type: application/json");
    g_json = curl_slist_append(g_json, "Expect:");
    if (argc > 2) snprintf(g_base, sizeof g_base, "%s", argv[2]);
    int rc = 2;
    if (!strcmp(mode, "setup") && argc == 7) {
        snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", argv[3]);
        snprintf(g_receiver, sizeof g_receiver, "%s", argv[5]);
        g_json = curl_slist_append(g_json, g_auth);
        rc = setup(strtol(argv[4], NULL, 10), strtol(argv[6], NULL, 10));
    } else if (!strcmp(mode, "ingest") && argc == 6) {
        rc = ingest(argv[2], strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10), argv[5]);
    } else if (!strcmp(mode, "health") && (argc == 4 || argc == 6)) {
        if (argc == 6) snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %s", argv[4]);
        if (argc == 6) g_json = curl_slist_append(g_json, g_auth);
        rc = health(strtol(argv[3], NULL, 10), argc == 6 ? argv[5] : NULL);
    } else {
        fprintf(stderr,
                "usage: %s setup BASE KEY N RECEIVER CONC | ingest URL EVENTS CONC BODYFILE |"
                " health BASE TIMEOUT_S [KEY SLUG]\n",
                argv[0]);
    }
    curl_slist_free_all(g_json);
    curl_global_cleanup();
    return rc;
}
