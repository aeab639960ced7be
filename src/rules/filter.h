/* src/rules/filter.h — connection filter rules (docs/api.md `filter_rules`).
 *
 * A connection's filter_rules is an array of rules that must all hold. A rule
 * is {"field", "op", "value"}, or {"any": [rules]}, {"all": [rules]},
 * {"not": rule} for OR, grouping and negation.
 *
 *   field: payload.<dot.path> (array items by index: payload.items.0.sku),
 *          headers.<name> (case-insensitive), method, content_type, source_ip
 *   op:    eq, neq, contains (substring, strings only), gt gte lt lte
 *          (numbers only, no coercion), exists (value true/false),
 *          in (value is an array)
 *
 * Numbers compare by value (1 equals 1.0). A body that is not JSON matches
 * no rule that looks into payload (whatever its op); a missing path matches
 * neq, `exists: false` and nothing else.
 *
 * Compiled once when the routes are loaded; matching allocates nothing.
 * Plain data: any thread.
 */
#ifndef HS_FILTER_H
#define HS_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "base/error.h"

#define HS_FILTER_MAX_RULES 200 /* rules in one connection, nested ones included */
#define HS_FILTER_MAX_DEPTH 8   /* any/all/not nesting */

typedef struct hs_filter hs_filter;

/* Check rules (a JSON array; path names it in errors, e.g. "filter_rules")
 * and, when out is not NULL, compile them. HS_ERR_INVALID with err->field
 * like "filter_rules[1].any[0].op". */
int hs_filter_compile(const json_t *rules, const char *path, hs_filter **out, hs_error *err);
void hs_filter_free(hs_filter *f);

/* What an event offers to the rules. */
typedef struct hs_filter_input {
    const json_t *payload; /* the parsed body; NULL when it is not JSON */
    const json_t *headers; /* {lowercase-name: value} */
    const char *method;
    const char *content_type;
    const char *source_ip;
} hs_filter_input;

bool hs_filter_match(const hs_filter *f, const hs_filter_input *in);
/* Does any rule look into the payload / the headers? (parse only then) */
bool hs_filter_uses_payload(const hs_filter *f);
bool hs_filter_uses_headers(const hs_filter *f);

#endif
