/* fuzz_verify.c — senders' signature schemes (src/verify/): every scheme
 * on one hostile request.
 *
 * Input: a request as header lines and a body:
 *   Name: value     (a line without ':' is skipped)
 *   <empty line>
 *   body
 * The request target is the first header named ":target" (default "/").
 * Each scheme runs on it with a verifier built once, with fixed secrets (a
 * rotation list for the HMAC schemes, SendGrid's test key for sendgrid).
 *
 * Checked besides the sanitizers: the outcome is one of the five; a refusal
 * has a message that starts "signature verification failed: " and never
 * holds a secret; a pass has no message.
 */
#include <stdbool.h>
#include <string.h>

#include "base/alloc.h"
#include "fuzz_util.h"
#include "verify/verify.h"

#define MAX_HEADERS 32
#define SECRET "fuzz-secret-0123456789"
#define OLD "fuzz-old-secret-abcdef"
#define WHSEC "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define EC_KEY                                                                                                         \
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/"   \
    "1FwCM/QmGUhA=="

static hs_verifier *verifiers[16];
static size_t nverifiers;

static void add(const char *type, const char *secret, const char *config) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"verification_enabled\":true,\"verification_type\":\"%s\",\"verification_secret\":\"%s\","
             "\"verification_secrets\":[\"%s\"],\"verification_config\":%s}",
             type, secret, OLD, config);
    json_t *doc = json_loads(text, 0, NULL);
    FZ_ASSERT(doc);
    hs_verifier *v = hs_verifier_new(doc);
    FZ_ASSERT(v);
    verifiers[nverifiers++] = v;
    json_decref(doc);
}

static void setup(void) {
    if (nverifiers) return;
    add("hmac_sha256", SECRET, "{}");
    add("hmac_sha1", SECRET, "{\"encoding\":\"base64\",\"prefix\":\"sha1=\"}");
    add("stripe", SECRET, "{}");
    add("slack", SECRET, "{\"tolerance_s\":0}");
    add("paddle", SECRET, "{}");
    add("linear", SECRET, "{}");
    add("twilio", SECRET, "{}");
    add("standard_webhooks", WHSEC, "{}");
    add("svix", WHSEC, "{}");
    add("sendgrid", EC_KEY, "{}");
    add("basic_auth", "user:" SECRET, "{}");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    char *text = fz_copy((const char *)data, size);
    hs_http_header h[MAX_HEADERS];
    size_t nh = 0;
    const char *target = "/";
    char *p = text, *end = text + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl ? nl : end;
        if (line_end == p || (line_end == p + 1 && *p == '\r')) {
            p = nl ? nl + 1 : end;
            break;
        }
        *line_end = '\0';
        if (line_end > p && line_end[-1] == '\r') line_end[-1] = '\0';
        char *colon = strchr(p, ':');
        if (colon && colon > p && nh < MAX_HEADERS) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ') v++;
            if (strcmp(p, ":target") == 0)
                target = v;
            else
                h[nh++] = (hs_http_header){p, v};
        }
        p = nl ? nl + 1 : end;
    }
    hs_http_req req = {.method = "POST",
                       .target = target,
                       .path = target,
                       .query = "",
                       .headers = h,
                       .nheaders = nh,
                       .body = p,
                       .body_len = (size_t)(end - p),
                       .remote_ip = "127.0.0.1"};
    for (size_t i = 0; i < nverifiers; i++) {
        hs_verify_outcome o;
        hs_verifier_run(verifiers[i], &req, 1614265330, &o);
        FZ_ASSERT(o.status >= HS_VERIFY_PASS && o.status <= HS_VERIFY_MISMATCH);
        if (o.status == HS_VERIFY_PASS) {
            FZ_ASSERT(o.message[0] == '\0');
            continue;
        }
        static const char lead[] = "signature verification failed: ";
        FZ_ASSERT(strncmp(o.message, lead, sizeof lead - 1) == 0);
        FZ_ASSERT(!strstr(o.message, SECRET) && !strstr(o.message, OLD) && !strstr(o.message, "MfKQ9r8G"));
    }
    hs_free(text);
    return 0;
}
