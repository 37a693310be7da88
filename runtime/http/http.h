/*
 * http: the h2o server and the small web toolkit every handler uses.
 *
 * The server (http.c) runs home.threads event loops sharing the HTTP port
 * (SO_REUSEPORT). Every request goes through one prefix table, given by the
 * caller at start (server.c: /ipfs, /mm, /tpt, /sdk, /api/v0, /): origins.c
 * first decides which origin the request is on (a subdomain serves one app,
 * CID or MiMei) and rewrites a subdomain request to its path form, then the
 * longest matching prefix's handler answers it.
 *
 * The toolkit (web.c): replies with a status and its reason, JSON replies,
 * the one JSON error shape ({"Message", "Code": 0, "Type": "error"}, as
 * kubo's), query parameters, and who signed the request (auth in node.h).
 *
 * Calls: node/ only (and h2o). Handlers live in the folders above it
 * (gateway, apps, http/api) and are handed in as the prefix table.
 * Threads: http_start and http_stop on the main thread; handlers run on the
 * worker that accepted the connection and must never park its loop.
 */
#ifndef LEITHER_HTTP_H
#define LEITHER_HTTP_H

#include "node.h"

#include <h2o.h>

/* --- the server --------------------------------------------------------- */

/* A handler: answers req (by h2o_send* or a reply below) and returns 0. */
typedef int (*http_handler)(h2o_req_t *req, node *n);
/* "/ipfs" answers "/ipfs" and everything below "/ipfs/"; "/" everything
 * no longer prefix takes. */
typedef struct {
    const char *prefix;
    http_handler fn;
    enum metrics_surface surface; /* what /metrics counts its requests as */
} http_route;

/* Binds the port (failing with "port N is already in use" and the like) and
 * starts home.threads event loops, serving routes (kept by reference: they
 * must outlive the server). */
int http_start(node *n, const http_route *routes, size_t nroutes, char *err, size_t errlen);
/* Stops accepting, lets requests in flight finish (up to a second), joins. */
void http_stop(node *n);

/* /metrics: the node's counters (node.h), its LMDB environment and blocks,
 * in the Prometheus text format, to the clients the "metrics" setting lets
 * in (loopback by default; 403 for others, 404 when "off"). */
int http_on_metrics(h2o_req_t *req, node *n);

/* --- replies ------------------------------------------------------------ */

/* The reason phrase of a status ("Not Found"). */
const char *http_reason(int status);
int http_is_method(h2o_req_t *req, const char *m);
/* Sends body with the status and Content-Type; Cache-Control: no-store. */
int http_reply(h2o_req_t *req, int status, const char *type, const char *body, size_t len);
/* Sends doc (and drops the reference). */
int http_reply_json(h2o_req_t *req, int status, json_t *doc);
/* Errors look like kubo's: {"Message": ..., "Code": 0, "Type": "error"}. */
int http_reply_error(h2o_req_t *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* That shape as a document, for a reply that adds a field (an app's
 * "Limit"); the message is not cut to a line here. */
json_t *http_error_json(const char *msg);
/* The content surfaces' errors (gateway, routing): "STATUS reason\n" as
 * text/plain, one line. */
int http_reply_text_error(h2o_req_t *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replies 403: who may not read MiMei mid (anonymous: sign the request). */
int http_reply_unreadable(h2o_req_t *req, const char *mid, const char *who);
/* The HTTP status a module's failure answers: the one mapping, so every
 * route and the gateway agree (STORE_NOT_FOUND 404, STORE_BAD_REQUEST 400,
 * STORE_CORRUPT 502, STORE_ERROR 500; STORE_OK 200). */
int http_status_of_store(enum store_status status);
/* Percent-decodes in[0..len) into out (cap bytes with the NUL; out may be
 * in itself): the decoded length, or -1 on a bad escape, on %00 (it would
 * cut the text short) or without room. '+' is a space when plus_is_space
 * (form-encoded query strings). The one decoder: h2o 2.2.5 exports none
 * but h2o_url_normalize_path, which also resolves dot segments and lets bad
 * escapes through. */
ssize_t http_pct_decode(char *out, size_t cap, const char *in, size_t len, int plus_is_space);
/* MIMEI_INVALID 400, MIMEI_STORAGE_CLOSED 403, MIMEI_QUOTA_FULL 507,
 * MIMEI_ERROR 500. */
int http_status_of_mimei(enum mimei_status status);
/* A Redis error reply by its prefix: NOPERM 403, OOM (a guest over its
 * quota) 507, BUSY (the writer did not take the call in time) 503,
 * anything else 400. */
int http_status_of_resp_error(const char *msg, size_t len);
/* Value of ?name=..., percent-decoded; NULL if absent, too long, badly
 * percent-encoded or holding a NUL. */
const char *http_query(h2o_req_t *req, const char *name, char *out, size_t cap);

/* --- the request's signer ---------------------------------------------- */

/* Checks the request's Authorization header (auth in node.h): 1 when its
 * signature holds, with the signer in signed_req->signer, 0 when there is
 * none, -1 with the reason when it does not hold. Nothing is recorded yet:
 * once the signer is known to be allowed, http_use_signature must accept it. */
int http_signer(h2o_req_t *req, auth_request *signed_req, char *err, size_t errlen);
/* Records the request's signature as used (auth_record): 0, or -1 after
 * replying 401 (a replay) or 503 (no room to remember it). */
int http_use_signature(h2o_req_t *req, node *n, const auth_request *signed_req);
/* Who reads: the signer of a signed read (its signature then used up),
 * "" when unsigned. 0, or -1 after replying (401 bad signature or replay,
 * 503). */
int http_reader(h2o_req_t *req, node *n, char reader[IDS_LID_LEN + 1]);

/* --- origins (origins.c) ------------------------------------------------ */

/* Which origin a request is on (from its Host), and the path forms
 * redirected or sandboxed on the node's own origin. */
enum origin_kind { ORIGIN_NODE, ORIGIN_APP, ORIGIN_IPFS, ORIGIN_MM };
/* The CSP that gives a page an opaque origin (no storage, no cookies). */
extern const char origins_sandbox_csp[];
/* The origin of req: ORIGIN_NODE, or the kind with the ID in its path-form
 * spelling in id (cap >= CID_TEXT_MAX) and the node's authority in *base. */
int origins_of(h2o_req_t *req, char *id, size_t cap, h2o_iovec_t *base);
/* The host label of an ID (app or MiMei ID, or CID): 0 or -1. */
int origins_label(enum origin_kind kind, const char *id, size_t idlen, char *label, size_t cap);
/* The URL (without a trailing slash) where id is served for the client of
 * req: its subdomain when the Host allows, else the path form (relative on
 * the node's origin). 0 or -1. */
int origins_url(h2o_req_t *req, node *n, enum origin_kind kind, const char *id, char *out, size_t cap);
/* Decides req's origin before any handler: 1 after replying (a redirect),
 * else 0 with req's path rewritten to the path form when it came to a
 * subdomain, and the origin's headers (CSP sandbox, nosniff) set. */
int origins_route(h2o_req_t *req, node *n);

#endif
