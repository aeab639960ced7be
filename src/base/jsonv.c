#include "base/jsonv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/id.h"

#define INVALID(path, ...) hs_error_set(err, HS_ERR_INVALID, (path), __VA_ARGS__)

static int check_value(const hs_jv_field *f, const hs_jv_at *at, json_t *v, hs_error *err);

/* ---- small helpers ---- */

void hs_jv_path_key(char out[HS_JV_PATH_MAX], const char *path, const char *key) {
    snprintf(out, HS_JV_PATH_MAX, "%s%s%s", path, path[0] ? "." : "", key);
}

void hs_jv_path_index(char out[HS_JV_PATH_MAX], const char *path, size_t index) {
    snprintf(out, HS_JV_PATH_MAX, "%s[%zu]", path, index);
}

void hs_jv_replace(const hs_jv_at *at, json_t *value) {
    if (at->key)
        json_object_set_new(at->parent, at->key, value);
    else
        json_array_set_new(at->parent, at->index, value);
}

const char *hs_jv_str(const json_t *obj, const char *key) { return json_string_value(json_object_get(obj, key)); }

json_t *hs_jv_dig(const json_t *root, const char *dotted) {
    json_t *at = (json_t *)root;
    while (at && *dotted) {
        const char *dot = strchr(dotted, '.');
        size_t n = dot ? (size_t)(dot - dotted) : strlen(dotted);
        at = json_is_object(at) ? json_object_getn(at, dotted, n) : NULL;
        dotted += n + (dot ? 1 : 0);
    }
    return at;
}

size_t hs_jv_utf8_len(const char *s, size_t n) {
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) chars++; /* skip continuation bytes */
    return chars;
}

static bool byte_in_set(unsigned char c, const unsigned char *set) {
    for (const unsigned char *p = set; *p; p++) {
        if (p[1] == '-' && p[2]) {
            if (c >= p[0] && c <= p[2]) return true;
            p += 2;
        } else if (c == *p) {
            return true;
        }
    }
    return false;
}

bool hs_jv_in_charset(const char *s, size_t n, const char *charset) {
    for (size_t i = 0; i < n; i++)
        if (!byte_in_set((unsigned char)s[i], (const unsigned char *)charset)) return false;
    return true;
}

/* RFC 9110 tchar; on every outbound header, hence no charset parsing */
static bool is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+.^_`|~-", c));
}

bool hs_jv_is_token(const char *s) {
    if (!s[0]) return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s)) return false;
    return true;
}

static void join(const char *const *items, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; items[i]; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", items[i]);
        if (w < 0 || (size_t)w >= cap - len) break;
        len += (size_t)w;
    }
}

/* ---- scalar checks ---- */

static bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int check_chars(const hs_jv_field *f, const char *path, const char *s, size_t n, hs_error *err) {
    bool blank = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ctl = c < 0x20 || c == 0x7f;
        if (!is_space(c)) blank = false;
        if ((f->flags & HS_JV_NO_SPACE) && (ctl || is_space(c)))
            return INVALID(path, "must not contain whitespace or control characters");
        if ((f->flags & HS_JV_NO_CTL) && ctl) return INVALID(path, "must not contain control characters");
    }
    if ((f->flags & HS_JV_TRIMMED) && n > 0) {
        if (blank) return INVALID(path, "must not be blank");
        if (is_space((unsigned char)s[0]) || is_space((unsigned char)s[n - 1]))
            return INVALID(path, "must not begin or end with whitespace");
    }
    if (f->charset && !hs_jv_in_charset(s, n, f->charset))
        return INVALID(path, "may only contain the characters [%s]", f->charset);
    return HS_OK;
}

static int check_choice(const hs_jv_field *f, const char *path, const char *s, hs_error *err) {
    for (const char *const *c = f->choices; *c; c++)
        if (strcmp(*c, s) == 0) return HS_OK;
    char list[256];
    join(f->choices, list, sizeof list);
    return INVALID(path, "must be one of: %s", list);
}

static int check_string(const hs_jv_field *f, const char *path, const json_t *v, hs_error *err) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n) return INVALID(path, "must not contain NUL characters");
    if (f->choices) return check_choice(f, path, s, err);
    long long chars = (long long)hs_jv_utf8_len(s, n);
    long long max = f->max ? f->max : HS_JV_STRING_MAX;
    if (chars < f->min)
        return chars == 0 ? INVALID(path, "must not be empty")
                          : INVALID(path, "must be at least %lld characters", f->min);
    if (chars > max) return INVALID(path, "must be at most %lld characters", max);
    return check_chars(f, path, s, n, err);
}

static int check_int(const hs_jv_field *f, const char *path, const json_t *v, hs_error *err) {
    long long i = json_integer_value(v);
    if (i < f->min || i > f->max) return INVALID(path, "must be between %lld and %lld", f->min, f->max);
    return HS_OK;
}

/* ---- containers ---- */

static int check_count(const hs_jv_field *f, const char *path, long long n, const char *what, hs_error *err) {
    if (n >= f->min && (!f->max || n <= f->max)) return HS_OK;
    if (!f->max && f->min == 1) return INVALID(path, "must not be empty");
    if (!f->max) return INVALID(path, "must have at least %lld %s", f->min, what);
    return INVALID(path, "must have %lld to %lld %s", f->min, f->max, what);
}

static int check_array(const hs_jv_field *f, const hs_jv_at *at, json_t *arr, hs_error *err) {
    long long n = (long long)json_array_size(arr);
    int rc = check_count(f, at->path, n, "items", err);
    if (rc) return rc;
    if (!f->items) return HS_OK;
    for (size_t i = 0; i < (size_t)n; i++) {
        char sub[HS_JV_PATH_MAX];
        hs_jv_path_index(sub, at->path, i);
        hs_jv_at item = {arr, NULL, i, sub, f->items};
        rc = check_value(f->items, &item, json_array_get(arr, i), err);
        if (rc) return rc;
    }
    return HS_OK;
}

static bool type_ok(hs_jv_type t, const json_t *v) {
    switch (t) {
    case HS_JV_STRING: return json_is_string(v);
    case HS_JV_INT: return json_is_integer(v);
    case HS_JV_BOOL: return json_is_boolean(v);
    case HS_JV_OBJECT: return json_is_object(v);
    case HS_JV_ARRAY: return json_is_array(v);
    default: return true;
    }
}

static const char *const type_phrase[] = {
    [HS_JV_STRING] = "must be a string",  [HS_JV_INT] = "must be an integer", [HS_JV_BOOL] = "must be true or false",
    [HS_JV_OBJECT] = "must be an object", [HS_JV_ARRAY] = "must be an array",
};

static int check_value(const hs_jv_field *f, const hs_jv_at *at, json_t *v, hs_error *err) {
    if (!type_ok(f->type, v)) return INVALID(at->path, "%s", type_phrase[f->type]);
    int rc = HS_OK;
    switch (f->type) {
    case HS_JV_STRING: rc = check_string(f, at->path, v, err); break;
    case HS_JV_INT: rc = check_int(f, at->path, v, err); break;
    case HS_JV_OBJECT:
        rc = check_count(f, at->path, (long long)json_object_size(v), "members", err);
        if (rc == HS_OK && f->fields) rc = hs_jv_object(v, at->path, f->fields, err);
        break;
    case HS_JV_ARRAY: rc = check_array(f, at, v, err); break;
    default: break;
    }
    if (rc == HS_OK && f->check) rc = f->check(at, v, err);
    return rc;
}

static json_t *default_of(const hs_jv_field *f, const json_t *obj) {
    if (f->derive) return f->derive(obj);
    if (!f->dflt) return NULL;
    json_t *v = json_loads(f->dflt, JSON_DECODE_ANY, NULL);
    if (!v) abort(); /* a malformed default is a bug in a spec table */
    return v;
}

int hs_jv_member(json_t *obj, const char *path, const hs_jv_field *f, hs_error *err) {
    char sub[HS_JV_PATH_MAX];
    hs_jv_path_key(sub, path, f->name);
    json_t *v = json_object_get(obj, f->name);
    if (!v || json_is_null(v)) {
        if (f->flags & HS_JV_REQUIRED) return INVALID(sub, "is required");
        v = default_of(f, obj);
        if (!v) {
            json_object_del(obj, f->name);
            return HS_OK;
        }
        json_object_set_new(obj, f->name, v);
        if (json_is_null(v)) return HS_OK;
    }
    hs_jv_at at = {obj, f->name, 0, sub, f};
    return check_value(f, &at, v, err);
}

static const hs_jv_field *find_field(const hs_jv_field *spec, const char *name) {
    for (const hs_jv_field *f = spec; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    return NULL;
}

int hs_jv_object(json_t *obj, const char *path, const hs_jv_field *spec, hs_error *err) {
    if (!json_is_object(obj)) return INVALID(path, "must be an object");
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        if (!find_field(spec, key)) {
            char sub[HS_JV_PATH_MAX];
            hs_jv_path_key(sub, path, key);
            return INVALID(sub, "unknown field");
        }
    }
    for (const hs_jv_field *f = spec; f->name; f++) {
        int rc = hs_jv_member(obj, path, f, err);
        if (rc) return rc;
    }
    return HS_OK;
}

int hs_jv_together(const json_t *obj, const char *path, const char *a, const char *b, hs_error *err) {
    bool has_a = json_object_get(obj, a) != NULL, has_b = json_object_get(obj, b) != NULL;
    if (has_a == has_b) return HS_OK;
    char sub[HS_JV_PATH_MAX];
    hs_jv_path_key(sub, path, has_a ? b : a);
    return INVALID(sub, "is required together with %s", has_a ? a : b);
}

/* ---- merge patch ---- */

json_t *hs_jv_merge_patch(const json_t *target, const json_t *patch) {
    if (!json_is_object(patch)) return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)patch, key, value) {
        if (json_is_null(value))
            json_object_del(out, key);
        else
            json_object_set_new(out, key, hs_jv_merge_patch(json_object_get(out, key), value));
    }
    return out;
}

void hs_jv_drop_derived(json_t *obj, const hs_jv_field *spec) {
    if (!json_is_object(obj)) return;
    for (const hs_jv_field *f = spec; f->name; f++) {
        json_t *v = json_object_get(obj, f->name);
        if (!v) continue;
        if (f->derive) {
            json_t *d = f->derive(obj);
            if (json_equal(d, v)) json_object_del(obj, f->name);
            json_decref(d);
        } else if (f->fields) {
            hs_jv_drop_derived(v, f->fields);
        }
    }
}

/* ---- shared checks ---- */

int hs_jv_check_url(const hs_jv_at *at, json_t *value, hs_error *err) {
    hs_url u;
    const char *why;
    if (hs_url_parse(json_string_value(value), &u, &why)) return INVALID(at->path, "%s", why);
    return HS_OK;
}

/* The HTTP client frames the request itself; letting a user set these would
 * corrupt it (a wrong Content-Length) or smuggle a second request. */
static const char *const client_owned[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade",
    "TE",   "Trailer",        "Proxy-Connection",  NULL};

static int check_header_name(const char *path, const char *name, hs_error *err) {
    if (strlen(name) > 256) return INVALID(path, "header name is longer than 256 characters");
    if (!hs_jv_is_token(name)) return INVALID(path, "must be a valid HTTP header name");
    for (const char *const *c = client_owned; *c; c++)
        if (strcasecmp(*c, name) == 0)
            return INVALID(path, "%s is set by the HTTP client and cannot be configured", *c);
    return HS_OK;
}

int hs_jv_check_header_name(const hs_jv_at *at, json_t *value, hs_error *err) {
    return check_header_name(at->path, json_string_value(value), err);
}

static bool earlier_duplicate(json_t *obj, void *upto, const char *key) {
    for (void *it = json_object_iter(obj); it && it != upto; it = json_object_iter_next(obj, it))
        if (strcasecmp(json_object_iter_key(it), key) == 0) return true;
    return false;
}

int hs_jv_check_headers(const hs_jv_at *at, json_t *obj, hs_error *err) {
    static const hs_jv_field value_spec = {.type = HS_JV_STRING, .flags = HS_JV_NO_CTL, .max = HS_JV_HEADER_VALUE_MAX};
    if (json_object_size(obj) > HS_JV_HEADERS_MAX)
        return INVALID(at->path, "must have at most %d headers", HS_JV_HEADERS_MAX);
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        if (!key[0]) return INVALID(at->path, "has an empty header name");
        char sub[HS_JV_PATH_MAX];
        hs_jv_path_key(sub, at->path, key);
        int rc = check_header_name(sub, key, err);
        if (rc) return rc;
        /* ours: event id, delivery id, attempt, timestamp, signature */
        if (strncasecmp(key, "X-hookstream-", 13) == 0)
            return INVALID(sub, "X-hookstream-* headers are set by hookstream");
        if (earlier_duplicate(obj, it, key))
            return INVALID(sub, "duplicates another header (names are case-insensitive)");
        hs_jv_at item = {obj, key, 0, sub, &value_spec};
        rc = check_value(&value_spec, &item, json_object_iter_value(it), err);
        if (rc) return rc;
    }
    return HS_OK;
}

int hs_jv_check_id(const hs_jv_at *at, json_t *value, hs_error *err) {
    const char *prefix = at->field->arg;
    if (!hs_id_valid(prefix, json_string_value(value)))
        return INVALID(at->path, "must be an id: %s followed by 32 lowercase hex digits", prefix);
    return HS_OK;
}

int hs_jv_check_basic_user(const hs_jv_at *at, json_t *value, hs_error *err) {
    if (strchr(json_string_value(value), ':')) return INVALID(at->path, "must not contain ':' (HTTP Basic auth)");
    return HS_OK;
}
