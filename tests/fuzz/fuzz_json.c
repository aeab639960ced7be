/* fuzz_json.c — the hot path's JSON parser (src/base/json_parse.c) against
 * jansson's json_loadb(JSON_DECODE_ANY), which it must agree with.
 *
 * Input: any bytes, a document or not. Checked besides the sanitizers:
 * both accept or both refuse; what both accept is the same value
 * (json_equal: same types, same numbers, same strings, same members); a
 * refusal comes with a reason and a position inside the input. The
 * differences allowed (json_parse.h) are jansson's with NUL bytes, which
 * hs_json_parse refuses wherever they stand outside a string: jansson
 * takes a NUL after the value for the end of its input and ignores what
 * follows (then the bytes before the NUL give the same value here), and
 * it skips a NUL that ends a number ("[6\0,1]" is [6,1] to it; its lexer
 * puts the NUL back and then reads past it). Either way our refusal
 * points at a NUL.
 */
#include <jansson.h>
#include <string.h>

#include "base/json_parse.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hs_json_perr err;
    json_t *ours = hs_json_parse((const char *)data, size, &err);
    json_t *theirs = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    const uint8_t *nul = memchr(data, 0, size);
    if (!ours && theirs && nul) { /* jansson's NUL quirks */
        FZ_ASSERT(err.position < size && data[err.position] == 0);
        json_t *before = hs_json_parse((const char *)data, (size_t)(nul - data), NULL);
        if (before) FZ_ASSERT(json_equal(before, theirs)); /* a NUL after the value */
        json_decref(before);
    } else {
        FZ_ASSERT((ours == NULL) == (theirs == NULL));
    }
    if (ours) FZ_ASSERT(json_equal(ours, theirs));
    if (!ours) FZ_ASSERT(err.text[0] && err.position <= size);
    json_decref(ours);
    json_decref(theirs);
    return 0;
}
