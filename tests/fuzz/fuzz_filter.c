/* fuzz_filter.c — filter rules (src/rules/filter.c): compile a rule document, match
 * it against a fuzzed event.
 *
 * Input: rules JSON %% payload %% headers JSON object %% "method ctype ip"
 * (later parts optional). The payload is parsed as JSON like ingest does;
 * when it is not JSON the rules see no payload.
 *
 * Checked besides the sanitizers: checking without compiling (out NULL)
 * agrees with compiling; a refusal names a field under "filter_rules"; and
 * [{"not": {"all": rules}}] matches exactly when rules do not.
 */
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "base/error.h"
#include "rules/filter.h"
#include "fuzz_util.h"

static json_t *load(const char *s, size_t n) { return json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL); }

static hs_filter *compile(const json_t *rules) {
    hs_error err;
    hs_error_clear(&err);
    hs_filter *f = NULL;
    int rc_check = hs_filter_compile(rules, "filter_rules", NULL, &err);
    int rc = hs_filter_compile(rules, "filter_rules", &f, &err);
    FZ_ASSERT(rc == rc_check);
    if (rc != HS_OK) {
        FZ_ASSERT(f == NULL);
        FZ_ASSERT(rc == HS_ERR_INVALID);
        FZ_ASSERT(strncmp(err.field, "filter_rules", 12) == 0);
        FZ_ASSERT(err.msg[0] != '\0');
    } else {
        FZ_ASSERT(f != NULL);
    }
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *part[FZ_MAX_PARTS];
    size_t len[FZ_MAX_PARTS];
    size_t n = fz_split(data, size, part, len, FZ_MAX_PARTS);
    json_t *rules = load(part[0], len[0]);
    if (!rules) {
        fz_parts_free(part, n);
        return 0;
    }
    hs_filter *f = compile(rules);
    if (f) {
        json_t *payload = n > 1 ? load(part[1], len[1]) : NULL;
        json_t *headers = n > 2 ? load(part[2], len[2]) : NULL;
        if (headers && !json_is_object(headers)) {
            json_decref(headers);
            headers = NULL;
        }
        if (!headers) headers = json_object();
        char method[16] = "POST", ctype[64] = "application/json", ip[64] = "203.0.113.7";
        if (n > 3) sscanf(part[3], "%15s %63s %63s", method, ctype, ip);
        hs_filter_input in = {
            .payload = payload, .headers = headers, .method = method, .content_type = ctype, .source_ip = ip};
        bool m = hs_filter_match(f, &in);
        (void)hs_filter_uses_payload(f);
        (void)hs_filter_uses_headers(f);

        /* the negation of the whole document, when it is a valid document */
        json_t *neg = json_pack("[{s:{s:O}}]", "not", "all", rules);
        hs_filter *g = NULL;
        hs_error err;
        if (neg && hs_filter_compile(neg, "filter_rules", &g, &err) == HS_OK) {
            FZ_ASSERT(hs_filter_match(g, &in) == !m);
            hs_filter_free(g);
        }
        json_decref(neg);
        hs_filter_free(f);
        json_decref(payload);
        json_decref(headers);
    }
    json_decref(rules);
    fz_parts_free(part, n);
    return 0;
}
