/* src/api/openapi.h — GET /v1/openapi.json: the OpenAPI 3.1 document of the
 * API (src/api/openapi.json, compiled in by tools/embed.c like the
 * dashboard's files), and the router's table for whoever checks it.
 *
 * The document is written by hand; tests/integration/openapi.test.mjs keeps
 * it true: every route of the table has its path and method in it (and
 * nothing else is there), and real answers validate against its schemas. */
#ifndef HS_API_OPENAPI_H
#define HS_API_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

/* The i-th route of the router's table (src/api/router.c): its method and
 * its pattern (":id" for a parameter). False past the last one. */
bool hs_api_route_at(size_t i, const char **method, const char **pattern);

/* Answers GET /v1/openapi.json, on the loop thread: the embedded document
 * plus "x-hookstream-routes", the router's table as
 * [{"method": "GET", "path": "/v1/sources/:id"}, ...]. */
void hs_api_openapi(hs_api *api, hs_http_req *req, const char *id);

#endif
