#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/timeutil.h"

static _Atomic int current_level = HS_LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error", "off"};

void hs_log_set_level(hs_log_level level) { atomic_store(&current_level, (int)level); }
hs_log_level hs_log_get_level(void) { return (hs_log_level)atomic_load(&current_level); }

int hs_log_parse_level(const char *s) {
    for (int i = 0; i <= HS_LOG_OFF; i++)
        if (s && strcmp(s, names[i]) == 0) return i;
    if (s && strcmp(s, "warning") == 0) return HS_LOG_WARN;
    return -1;
}

static void emit(hs_log_level level, json_t *fields, const char *fmt, va_list ap) {
    if ((int)level < atomic_load(&current_level)) {
        json_decref(fields);
        return;
    }
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char ts[HS_ISO8601_MAX];
    hs_iso8601(hs_now_ms(), ts);
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(names[level]));
    json_object_set_new(o, "msg", json_string(msg));
    if (fields) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line) return;
    size_t n = strlen(line);
    line = hs_realloc(line, n + 2);
    line[n] = '\n';
    line[n + 1] = '\0';
    ssize_t w = write(STDERR_FILENO, line, n + 1);
    (void)w;
    hs_free(line);
}

void hs_log(hs_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
}

void hs_logj(hs_log_level level, json_t *fields, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(level, fields, fmt, ap);
    va_end(ap);
}
