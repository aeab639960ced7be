/* src/http/client.h — outbound HTTP on the libuv loop, with libcurl's
 * multi-socket API: no thread per request, no blocking call on the loop.
 *
 * One client per loop. Connections are reused across requests to the same
 * host (curl's connection cache, shared by all requests of the client).
 * Each request has its own total timeout (hs_out_req.timeout_ms).
 * Redirects are not followed (a webhook receiver answering 3xx has not
 * accepted the event). The response body is kept up to HS_OUT_RESP_BODY_MAX
 * bytes; the rest is read and discarded up to HS_OUT_RESP_DRAIN_MAX, after
 * which the transfer is cut (it still counts as a response with its status;
 * so does one announcing a chunk over HS_OUT_RESP_CHUNK_MAX, cut at once).
 * A response breaking src/http/outbound.h's limits (headers over
 * HS_OUT_RESP_HEADERS_LIMIT, bad chunk framing) is stopped at once and
 * handed back as HS_ERR_IO.
 *
 * Threading: every function here on the loop thread only.
 */
#ifndef HS_HTTP_CLIENT_H
#define HS_HTTP_CLIENT_H

#include <uv.h>

#include "http/outbound.h"

typedef struct hs_http_client hs_http_client;
typedef struct hs_http_call hs_http_call;

/* Called once per hs_http_client_send, on the loop thread, with the
 * outcome. resp is owned by the callee from here on (hs_out_resp_free, then
 * free the struct with hs_free). status is 0 or the same as resp->error. */
typedef void (*hs_http_call_cb)(hs_http_call *call, hs_out_resp *resp, void *ud);

int hs_http_client_new(uv_loop_t *loop, hs_http_client **out);

/* Start sending req. The client takes ownership of req (members and the
 * struct: it must come from hs_malloc/hs_calloc) and frees it when done.
 * Returns 0 and calls cb later (never from inside this call), or a negative
 * hs_err at once (req is freed too; cb is not called). *call (optional)
 * identifies the transfer for hs_http_client_cancel. */
int hs_http_client_send(hs_http_client *c, hs_out_req *req, hs_http_call_cb cb, void *ud, hs_http_call **call);

/* Abort a transfer still running: its cb runs (later, from the loop) with
 * error HS_ERR_CLOSED. No-op when it already completed. */
void hs_http_client_cancel(hs_http_client *c, hs_http_call *call);

/* Number of transfers running. */
size_t hs_http_client_active(const hs_http_client *c);

/* Cancel everything (callbacks run with HS_ERR_CLOSED), then close the
 * libuv handles; done (optional) runs from the loop once they are all
 * closed, and the client is freed then. */
void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud);

#endif
