#include "http/outbound.h"

#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/base64.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/json_text.h"

/* A header whose value is a credential, by name: any name containing, case-
 * insensitively, one of the words below (Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie, X-Api-Key, Api-Key, X-Auth-Token, X-Hub-Signature,
 * X-Session-Id, ...), or one the destination lists in secret_headers. A
 * false positive only hides a value on read; a false negative shows a
 * credential, so the words are broad. */
bool hs_header_secret(const char *name, const json_t *secret_headers) {
    static const char *const words[] = {"auth",   "cookie",    "credential", "key",   "passw",
                                        "secret", "signature", "session",    "token", NULL};
    if (!name) return false;
    for (const char *const *w = words; *w; w++)
        if (strcasestr(name, *w)) return true;
    size_t i;
    json_t *listed;
    json_array_foreach(secret_headers, i, listed) {
        if (json_is_string(listed) && strcasecmp(json_string_value(listed), name) == 0) return true;
    }
    return false;
}

void hs_out_header_set(hs_out_header *h, const char *name, const char *value, bool secret) {
    size_t nl = strlen(name), vl = strlen(value);
    char *block = hs_malloc(nl + 1 + vl + 1); /* one allocation per header: several per delivery */
    memcpy(block, name, nl + 1);
    memcpy(block + nl + 1, value, vl + 1);
    hs_out_header_clear(h);
    h->name = block;
    h->value = block + nl + 1;
    h->secret = secret;
}

void hs_out_header_clear(hs_out_header *h) {
    if (h->name) {
        /* secret values are credentials: do not leave them in freed memory */
        if (h->secret) {
            explicit_bzero(h->value, strlen(h->value));
            hs_free_secret(h->name); /* wipes the name, frees the block */
        } else {
            hs_free(h->name);
        }
    }
    h->name = h->value = NULL;
    h->secret = false;
}

int hs_out_req_add_header(hs_out_req *r, const char *name, const char *value, bool secret) {
    if (r->nheaders >= HS_OUT_MAX_HEADERS) return HS_ERR_TOOBIG;
    hs_out_header *h = &r->headers[r->nheaders++];
    *h = (hs_out_header){0};
    hs_out_header_set(h, name, value, secret);
    return HS_OK;
}

void hs_out_req_unique_headers(hs_out_req *r) {
    size_t kept = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        bool later = false;
        for (size_t j = i + 1; j < r->nheaders && !later; j++)
            later = strcasecmp(r->headers[j].name, r->headers[i].name) == 0;
        if (later)
            hs_out_header_clear(&r->headers[i]);
        else
            r->headers[kept++] = r->headers[i];
    }
    for (size_t i = kept; i < r->nheaders; i++) r->headers[i] = (hs_out_header){0};
    r->nheaders = kept;
}

const char *hs_out_req_header(const hs_out_req *r, const char *name) {
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

void hs_out_req_free(hs_out_req *r) {
    if (!r) return;
    hs_free(r->method);
    hs_free(r->url);
    for (size_t i = 0; i < r->nheaders; i++) hs_out_header_clear(&r->headers[i]);
    hs_free(r->body);
    memset(r, 0, sizeof *r);
}

static const char *line_next(const char *e) {
    e += strlen(e) + 1; /* the name */
    return e + strlen(e) + 1;
}

const char *hs_headers_get(const char *list, size_t len, const char *name) {
    const char *end = list ? list + len : NULL;
    for (const char *e = list; e && e < end; e = line_next(e))
        if (strcmp(e, name) == 0) return e + strlen(e) + 1;
    return NULL;
}

char *hs_headers_json(const char *list, size_t len, bool join) {
    if (!list || len == 0) return NULL;
    const char *end = list + len;
    hs_buf b, joined;
    hs_buf_init(&b, SIZE_MAX);
    hs_buf_init(&joined, SIZE_MAX);
    hs_buf_append(&b, "{", 1);
    for (const char *e = list; e < end;) {
        const char *name = e, *val = name + strlen(name) + 1, *next = line_next(e);
        bool skip = false;
        if (join) /* at its first line, with the values of the later ones */
            for (const char *o = list; o < e && !skip; o = line_next(o)) skip = !strcmp(o, name);
        else /* at its last line, with that value */
            for (const char *o = next; o < end && !skip; o = line_next(o)) skip = !strcmp(o, name);
        if (!skip) {
            hs_buf_reset(&joined);
            hs_buf_appends(&joined, val);
            for (const char *o = next; join && o < end; o = line_next(o))
                if (!strcmp(o, name)) {
                    hs_buf_append(&joined, ", ", 2);
                    hs_buf_appends(&joined, o + strlen(o) + 1);
                }
            if (b.len > 1) hs_buf_append(&b, ",", 1);
            hs_json_append_text(&b, name, strlen(name));
            hs_buf_append(&b, ":", 1);
            hs_json_append_text(&b, joined.data, joined.len);
        }
        e = next;
    }
    hs_buf_append(&b, "}", 1);
    hs_buf_free(&joined);
    return hs_buf_detach(&b, NULL);
}

void hs_out_resp_free(hs_out_resp *r) {
    if (!r) return;
    hs_free(r->headers);
    hs_free(r->body);
    r->headers = NULL;
    r->headers_len = 0;
    r->body = NULL;
    r->body_len = 0;
}

char *hs_basic_auth(const char *user, const char *pass) {
    char *plain = hs_sprintf("%s:%s", user, pass);
    char *b64 = hs_base64_encode(plain, strlen(plain));
    char *value = hs_sprintf("Basic %s", b64);
    hs_free_secret(plain);
    hs_free_secret(b64);
    return value;
}

int hs_out_req_add_basic_auth(hs_out_req *r, const char *user, const char *pass) {
    char *value = hs_basic_auth(user, pass);
    int rc = hs_out_req_add_header(r, "Authorization", value, true);
    hs_free_secret(value);
    return rc;
}
