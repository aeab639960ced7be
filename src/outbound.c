#include "outbound.h"

#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "base64.h"
#include "error.h"

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

void hs_out_resp_free(hs_out_resp *r) {
    if (!r) return;
    hs_free(r->headers_json);
    hs_free(r->body);
    r->headers_json = NULL;
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
