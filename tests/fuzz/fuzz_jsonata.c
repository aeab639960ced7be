/* fuzz_jsonata.c — the JSONata engine (lib/jsonata, through its jsonata.h):
 * lexer, parser, evaluator and function library, with the limits on.
 *
 * Input: expression %% input JSON %% bindings JSON object (the later parts
 * optional; input that is not JSON evaluates against undefined input).
 * Limits: the server's defaults (100 ms, 16 MiB, depth 200), which is what
 * a transform written by an API client runs with.
 *
 * Checked besides the sanitizers: compile and eval return only their
 * documented codes, with an error code filled; a result serialises.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz_util.h"
#include "jsonata/jsonata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *part[FZ_MAX_PARTS];
    size_t len[FZ_MAX_PARTS];
    size_t n = fz_split(data, size, part, len, 3);
    hs_jsonata *j = NULL;
    hs_jsonata_error err;
    memset(&err, 0, sizeof err);
    int rc = hs_jsonata_compile(part[0], &j, &err);
    if (rc != HS_JSONATA_OK) {
        FZ_ASSERT(rc == HS_JSONATA_EINVAL && j == NULL);
        FZ_ASSERT(err.code[0] != '\0');
        fz_parts_free(part, n);
        return 0;
    }
    json_t *input = n > 1 ? json_loadb(part[1], len[1], JSON_DECODE_ANY, NULL) : NULL;
    json_t *bindings = n > 2 ? json_loadb(part[2], len[2], 0, NULL) : NULL;
    hs_jsonata_limits lim;
    hs_jsonata_limits_default(&lim);
    json_t *out = NULL;
    memset(&err, 0, sizeof err);
    rc = hs_jsonata_eval(j, input, bindings, &lim, &out, &err);
    FZ_ASSERT(rc == HS_JSONATA_OK || rc == HS_JSONATA_EINVAL || rc == HS_JSONATA_ETIME || rc == HS_JSONATA_ELIMIT);
    if (rc == HS_JSONATA_OK) {
        if (out) {
            char *text = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
            FZ_ASSERT(text != NULL);
            hs_free(text);
        }
    } else {
        FZ_ASSERT(out == NULL);
        FZ_ASSERT(err.code[0] != '\0');
        if (rc != HS_JSONATA_EINVAL) FZ_ASSERT(err.code[0] == 'U');
    }
    json_decref(out);
    json_decref(input);
    json_decref(bindings);
    hs_jsonata_free(j);
    fz_parts_free(part, n);
    return 0;
}
