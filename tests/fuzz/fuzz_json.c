/* fuzz_json.c — the hot path's JSON parser (src/base/json_parse.c) against
 * jansson's json_loadb(JSON_DECODE_ANY), which it must agree with.
 *
 * Input: any bytes, a document or not. Checked besides the sanitizers:
 * both accept or both refuse; what both accept is the same value
 * (json_equal: same types, same numbers, same strings, same members); a
 * refusal comes with a reason and a position inside the input.
 */
#include <jansson.h>
#include <string.h>

#include "base/json_parse.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hs_json_perr err;
    json_t *ours = hs_json_parse((const char *)data, size, &err);
    json_t *theirs = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    FZ_ASSERT((ours == NULL) == (theirs == NULL));
    if (ours) FZ_ASSERT(json_equal(ours, theirs));
    if (!ours) FZ_ASSERT(err.text[0] && err.position <= size);
    json_decref(ours);
    json_decref(theirs);
    return 0;
}
