/* src/api/openapi.c — GET /v1/openapi.json (src/api/openapi.h).
 *
 * The bytes are $(BUILD)/gen/openapi_doc.c: tools/embed.c's output for
 * src/api/openapi.json, compiled with its table renamed hs_openapi_files
 * so that it is not one of the dashboard's files. */
#include "api/openapi.h"

#include "api/call.h"
#include "observe/static.h"

extern const hs_static_file hs_openapi_files[];
extern const size_t hs_openapi_nfiles;

void hs_api_openapi(hs_api *api, hs_http_req *req, const char *id) {
    (void)api;
    (void)id;
    json_error_t je;
    json_t *doc =
        hs_openapi_nfiles ? json_loadb((const char *)hs_openapi_files[0].data, hs_openapi_files[0].len, 0, &je) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        hs_error e;
        hs_error_clear(&e);
        hs_error_set(&e, HS_ERR_INTERNAL, "", "%s", "the embedded OpenAPI document is not a JSON object");
        return hs_api_respond_error(req, &e);
    }
    json_t *routes = json_array();
    const char *method, *pattern;
    for (size_t i = 0; hs_api_route_at(i, &method, &pattern); i++)
        json_array_append_new(routes, json_pack("{s:s, s:s}", "method", method, "path", pattern));
    json_object_set_new(doc, "x-hookstream-routes", routes);
    hs_api_respond_json(req, 200, doc);
}
