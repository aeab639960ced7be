#include "base/base64.h"

#include <openssl/evp.h>
#include <string.h>

#include "base/alloc.h"

char *hs_base64_encode(const void *data, size_t len) {
    size_t n = 4 * ((len + 2) / 3);
    char *out = hs_malloc(n + 1);
    /* EVP_EncodeBlock takes an int length; larger inputs are encoded in
     * chunks that are a multiple of 3 bytes so no padding appears inside. */
    const unsigned char *p = data;
    size_t off = 0;
    while (len > 0) {
        size_t chunk = len > 3u * (1u << 28) ? 3u * (1u << 28) : len;
        off += (size_t)EVP_EncodeBlock((unsigned char *)out + off, p, (int)chunk);
        p += chunk;
        len -= chunk;
    }
    out[off] = '\0';
    return out;
}

static int val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

unsigned char *hs_base64_decode(const char *s, size_t len, size_t *outlen) {
    if (len % 4 != 0) return NULL;
    unsigned char *out = hs_malloc(len / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + (size_t)k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = val(c)) < 0) {
                hs_free(out);
                return NULL;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[o++] = (unsigned char)(triple >> 16);
        if (pad < 2) out[o++] = (unsigned char)(triple >> 8);
        if (pad < 1) out[o++] = (unsigned char)triple;
    }
    *outlen = o;
    return out;
}
