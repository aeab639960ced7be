/* fuzz_util.h — what the libFuzzer harnesses (tests/fuzz/fuzz_*.c) share.
 *
 * An input that carries several texts (a rule document and an event, an
 * expression and its input) separates them with a line "%%": FZ_SEP. The
 * seeds are written that way and the dictionaries offer the separator, so
 * the mutator keeps the parts apart.
 *
 * One process runs one harness on one thread: the helpers keep no state.
 */
#ifndef HS_FUZZ_UTIL_H
#define HS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"

#define FZ_SEP "\n%%\n"
#define FZ_MAX_PARTS 4

/* Stops the run with a message: libFuzzer records the input as a crash. */
#define FZ_ASSERT(cond)                                                                                                \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz: %s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                         \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* Splits data at FZ_SEP into at most max NUL-terminated heap copies (the
 * last part keeps any further separators). Returns how many; free them
 * with fz_parts_free. Embedded NULs stay in the copies (len[i] counts
 * them); text APIs then see the part up to its first NUL. */
static inline char *fz_copy(const char *p, size_t n) {
    char *s = hs_malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static inline size_t fz_split(const uint8_t *data, size_t size, char **part, size_t *len, size_t max) {
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (n + 1 < max) {
        const char *sep = memmem(p, (size_t)(end - p), FZ_SEP, sizeof FZ_SEP - 1);
        if (!sep) break;
        len[n] = (size_t)(sep - p);
        part[n] = fz_copy(p, len[n]);
        n++;
        p = sep + sizeof FZ_SEP - 1;
    }
    len[n] = (size_t)(end - p);
    part[n] = fz_copy(p, len[n]);
    return n + 1;
}

static inline void fz_parts_free(char **part, size_t n) {
    for (size_t i = 0; i < n; i++) hs_free(part[i]);
}

/* Once per process: jansson through src/base/alloc.h, and quiet logs (a harness
 * that logs every input is a slow harness). */
static inline void fz_init(void) {
    hs_alloc_init_json();
    hs_log_set_level(HS_LOG_OFF);
}

/* libFuzzer's entry points; a harness that needs more set-up than fz_init
 * defines FZ_OWN_INIT before including this file and writes its own. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#ifndef FZ_OWN_INIT
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_init();
    return 0;
}
#endif

#endif
