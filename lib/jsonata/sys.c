/* lib/jsonata/sys.c — what the engine takes from the system: memory for the
 * arenas (a failed allocation aborts, as the server's allocator does: an
 * engine that cannot allocate cannot keep the limits' promises either) and
 * the clocks (monotonic for the time limit, wall for $now and $millis).
 * The library needs libc, libm and jansson only. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jsonata/jsonata_int.h"

void *jx_sys_alloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "jsonata: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void jx_sys_free(void *p) { free(p); }

static uint64_t clock_read(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t jx_clock_ns(void) { return clock_read(CLOCK_MONOTONIC); }

uint64_t jx_wall_ms(void) { return clock_read(CLOCK_REALTIME) / 1000000ull; }
