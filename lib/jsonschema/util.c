/* lib/jsonschema/util.c — memory (jansson's allocator, abort on failure),
 * the pointer map, JSON equality and UTF-8 length. No global state but
 * jansson's allocator pair, read on each call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema/jsonschema_int.h"

void *js_alloc_raw(size_t n) {
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    void *p = m(n ? n : 1);
    if (!p) {
        fprintf(stderr, "jsonschema: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *js_alloc(size_t n) {
    void *p = js_alloc_raw(n);
    memset(p, 0, n ? n : 1);
    return p;
}

void js_free(void *p) {
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    if (p) f(p);
}

char *js_strdup(const char *s) {
    size_t n = strlen(s);
    char *p = js_alloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void js_copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static size_t hash_ptr(const void *k, size_t cap) {
    uint64_t x = (uint64_t)(uintptr_t)k;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

void *js_map_get(const js_map *m, const void *k) {
    if (!m->cap) return NULL;
    for (size_t i = hash_ptr(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return NULL;
        if (m->keys[i] == k) return m->vals[i];
    }
}

void js_map_put(js_map *m, const void *k, void *v) {
    if ((m->n + 1) * 2 > m->cap) {
        js_map old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->keys = js_alloc(m->cap * sizeof *m->keys);
        m->vals = js_alloc(m->cap * sizeof *m->vals);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) js_map_put(m, old.keys[i], old.vals[i]);
        js_free(old.keys);
        js_free(old.vals);
    }
    size_t i = hash_ptr(k, m->cap);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
}

void js_map_clear(js_map *m) {
    js_free(m->keys);
    js_free(m->vals);
    memset(m, 0, sizeof *m);
}

bool js_equal(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!js_equal(json_array_get(a, i), json_array_get(b, i))) return false;
        return true;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return false;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !js_equal(v, w)) return false;
        }
        return true;
    }
    default: return true; /* true, false, null: the type is the value */
    }
}

size_t js_utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    return c;
}

size_t js_path_push(js_path *p, const char *seg) {
    size_t old = p->len;
    if (p->len + 1 < sizeof p->s) p->s[p->len++] = '/';
    for (const char *c = seg; *c && p->len + 2 < sizeof p->s; c++) {
        if (*c == '~' || *c == '/') {
            p->s[p->len++] = '~';
            p->s[p->len++] = *c == '~' ? '0' : '1';
        } else {
            p->s[p->len++] = *c;
        }
    }
    p->s[p->len] = 0;
    return old;
}

size_t js_path_push_index(js_path *p, size_t i) {
    char b[32];
    snprintf(b, sizeof b, "%zu", i);
    return js_path_push(p, b);
}

void js_path_pop(js_path *p, size_t old) { p->s[p->len = old] = 0; }
