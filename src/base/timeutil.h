/* src/base/timeutil.h — clocks and ISO 8601 formatting. */
#ifndef HS_TIMEUTIL_H
#define HS_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>

#define HS_ISO8601_MAX 32

uint64_t hs_now_ms(void);       /* wall clock, ms since epoch */
uint64_t hs_monotonic_ns(void); /* for durations */
/* "2026-11-26T22:37:14.123Z" into out (>= HS_ISO8601_MAX). */
void hs_iso8601(uint64_t ms, char *out);
/* Parse ISO 8601 (Z or ±hh:mm, optional fraction) or an integer of ms since
 * the epoch. Returns false on anything else. */
bool hs_parse_time(const char *s, uint64_t *ms);

#endif
