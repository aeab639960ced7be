/* src/base/log.h — one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-26T22:37:14.123Z","level":"info","msg":"...", ...fields}
 *
 * Thread-safe (one write(2) per line). Level names: debug, info, warn, error.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <jansson.h>

typedef enum { HS_LOG_DEBUG = 0, HS_LOG_INFO, HS_LOG_WARN, HS_LOG_ERROR, HS_LOG_OFF } hs_log_level;

void hs_log_set_level(hs_log_level level);
hs_log_level hs_log_get_level(void);
/* Parse "debug|info|warn|error|off"; returns -1 when unknown. */
int hs_log_parse_level(const char *s);

void hs_log(hs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With extra fields: `fields` is a JSON object whose members are added to the
 * line; the reference is stolen (may be NULL). */
void hs_logj(hs_log_level level, json_t *fields, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define hs_debug(...) hs_log(HS_LOG_DEBUG, __VA_ARGS__)
#define hs_info(...) hs_log(HS_LOG_INFO, __VA_ARGS__)
#define hs_warn(...) hs_log(HS_LOG_WARN, __VA_ARGS__)
#define hs_error_log(...) hs_log(HS_LOG_ERROR, __VA_ARGS__)

#endif
