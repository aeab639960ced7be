/* bench/curl_multi.c — the reference for bench/deliver: a plain libcurl
 * multi loop that POSTs the same body the way the scheduler does (LANES
 * serial lanes, like LANES destinations with max_concurrency 1, reusing
 * connections) and prints the rate.
 *
 * usage: curl_multi URL TOTAL LANES BODYFILE
 * prints: "<requests> requests in <seconds> s: <rate> req/s, <failures> failed"
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *p, size_t s, size_t n, void *ud) {
    (void)p, (void)ud;
    return s * n;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CURL *lane_new(const char *url, const char *body, long len, struct curl_slist *headers) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    return e;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL TOTAL LANES BODYFILE\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long total = strtol(argv[2], NULL, 10), lanes = strtol(argv[3], NULL, 10);
    FILE *f = fopen(argv[4], "rb");
    if (!f || total < 1 || lanes < 1) return 2;
    static char body[65536];
    long len = (long)fread(body, 1, sizeof body, f);
    fclose(f);

    curl_global_init(CURL_GLOBAL_ALL);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, "X-hookstream-Event-Id: evt_0123456789abcdef0123456789abcdef");
    h = curl_slist_append(h, "X-hookstream-Delivery-Id: dlv_0123456789abcdef0123456789abcdef");
    h = curl_slist_append(h, "X-hookstream-Delivery-Attempt: 1");
    h = curl_slist_append(h, "X-hookstream-Timestamp: 2026-11-27T00:00:00.000Z");
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, lanes);
    long started = 0, done = 0, failed = 0;
    double t0 = now_s();
    for (long i = 0; i < lanes && started < total; i++, started++)
        curl_multi_add_handle(m, lane_new(url, body, len, h));
    while (done < total) {
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code < 200 || code > 299) failed++;
            done++;
            CURL *e = msg->easy_handle;
            curl_multi_remove_handle(m, e);
            if (started < total) {
                started++;
                curl_multi_add_handle(m, e); /* the same lane again: its connection is reused */
            } else {
                curl_easy_cleanup(e);
            }
        }
        if (done < total) curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double secs = now_s() - t0;
    printf("%ld requests in %.3f s: %.0f req/s, %ld failed\n", total, secs, (double)total / secs, failed);
    curl_multi_cleanup(m);
    curl_slist_free_all(h);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
