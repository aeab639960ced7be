/* bench/frontdoor_cost.c — what a source's front door costs per request on
 * the loop thread, part by part, as ingest pays it: parsing the body
 * (src/base/json_parse.c, and jansson's json_loadb for comparison), validating it against a JSON Schema
 * (lib/jsonschema), an HMAC-SHA256 of it (a signature check's MAC), and the SHA-256 of a dedup key. The body and the
 * schema are bench/ingest --front-door's.
 *
 * usage: build/bench/frontdoor_cost [rounds]      (default 200000)
 * prints µs per request for each part (docs/performance.md "The front
 * door"). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/digest.h"
#include "base/json_parse.h"
#include "base/timeutil.h"
#include "jsonschema/jsonschema.h"

static const char BODY[] =
    "{\"id\":\"evt_1\",\"type\":\"order.created\",\"created\":1732660000,\"data\":{\"object\":{\"id\":\"ord_123\","
    "\"amount\":4999,\"currency\":\"usd\",\"customer\":\"cus_456\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":"
    "\"B-7\",\"qty\":1}],\"metadata\":{\"channel\":\"web\",\"campaign\":\"black-friday\"}}}}";
static const char SCHEMA[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"required\":[\"id\",\"type\","
    "\"data\"],\"properties\":{\"id\":{\"type\":\"string\",\"pattern\":\"^evt_\"},\"type\":{\"type\":\"string\","
    "\"enum\":[\"order.created\",\"order.updated\"]},\"created\":{\"type\":\"integer\",\"minimum\":0},\"data\":{"
    "\"type\":\"object\",\"required\":[\"object\"],\"properties\":{\"object\":{\"type\":\"object\",\"required\":["
    "\"id\",\"amount\",\"currency\"],\"properties\":{\"id\":{\"type\":\"string\"},\"amount\":{\"type\":\"integer\","
    "\"minimum\":1},\"currency\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":3},\"items\":{\"type\":\"array\","
    "\"items\":{\"type\":\"object\",\"required\":[\"sku\",\"qty\"],\"properties\":{\"sku\":{\"type\":\"string\"},"
    "\"qty\":{\"type\":\"integer\",\"minimum\":1}}}}}}}}}}";

static double per_round_us(uint64_t t0, int rounds) { return (double)(hs_monotonic_ns() - t0) / 1000.0 / rounds; }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200000;
    if (rounds < 1) rounds = 1;
    hs_alloc_init_json();
    json_t *schema_doc = json_loads(SCHEMA, 0, NULL);
    hs_jsonschema *schema = NULL;
    if (!schema_doc || hs_jsonschema_compile(schema_doc, NULL, &schema, NULL) != HS_JSONSCHEMA_OK) {
        fprintf(stderr, "frontdoor_cost: the schema does not compile\n");
        return 1;
    }
    size_t len = sizeof BODY - 1;

    uint64_t t0 = hs_monotonic_ns();
    for (int i = 0; i < rounds; i++) json_decref(json_loadb(BODY, len, JSON_DECODE_ANY, NULL));
    double jansson = per_round_us(t0, rounds);
    t0 = hs_monotonic_ns();
    for (int i = 0; i < rounds; i++) json_decref(hs_json_parse(BODY, len, NULL));
    double parse = per_round_us(t0, rounds);

    json_t *body = json_loadb(BODY, len, JSON_DECODE_ANY, NULL);
    hs_jsonschema_result *res = hs_malloc(sizeof *res);
    int valid = 1;
    t0 = hs_monotonic_ns();
    for (int i = 0; i < rounds; i++) {
        hs_jsonschema_validate(schema, body, res);
        valid &= res->valid;
    }
    double validate = per_round_us(t0, rounds);

    unsigned char mac[HS_DIGEST_MAX];
    size_t mac_len = 0;
    hs_digest_part part = {BODY, len};
    static const char secret[] = "whsec_bench_abcdef0123456789";
    t0 = hs_monotonic_ns();
    for (int i = 0; i < rounds; i++) hs_hmac("SHA256", secret, sizeof secret - 1, &part, 1, mac, &mac_len);
    double hmac = per_round_us(t0, rounds);

    char hex[65];
    static const char key[] = "run-1765100000-4242-123456";
    t0 = hs_monotonic_ns();
    for (int i = 0; i < rounds; i++) hs_sha256_hex(key, sizeof key - 1, hex);
    double sha = per_round_us(t0, rounds);

    printf("%d rounds, a %zu-byte body (valid: %s)\n", rounds, len, valid ? "yes" : "NO");
    printf("parse the body (json_parse.c) %6.2f us  (jansson's json_loadb: %.2f us)\n", parse, jansson);
    printf("validate it (JSON Schema)     %6.2f us\n", validate);
    printf("HMAC-SHA256 of it             %6.2f us\n", hmac);
    printf("SHA-256 of a dedup key        %6.2f us\n", sha);
    hs_free(res);
    json_decref(body);
    hs_jsonschema_free(schema);
    json_decref(schema_doc);
    return valid ? 0 : 1;
}
