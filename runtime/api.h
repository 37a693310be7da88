/*
 * api: what the JSON API's handlers share. api.c holds the one route table
 * and checks signatures; api_store.c (blocks, pins, repo) and api_mimei.c
 * (file MiMei) hold handlers. gateway.c serves /ipfs/ and /mm/.
 */
#ifndef LEITHER_API_H
#define LEITHER_API_H

#include "auth.h"
#include "node.h"
#include "store.h"

#include <h2o.h>

typedef struct {
    h2o_handler_t super;
    node *n;
} api_handler;

const char *api_reason(int status);
int api_is_method(h2o_req_t *req, const char *m);
int api_reply(h2o_req_t *req, int status, const char *type, const char *body, size_t len);
/* Sends doc (and drops the reference). */
int api_reply_json(h2o_req_t *req, int status, json_t *doc);
/* Errors look like kubo's: {"Message": ..., "Code": 0, "Type": "error"}. */
int api_reply_error(h2o_req_t *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Value of ?name=..., percent-decoded; NULL if absent, too long or holding
 * a NUL. */
const char *api_query(h2o_req_t *req, const char *name, char *out, size_t cap);

/* Checks the request's Authorization header (auth.h): 1 when its signature
 * holds, with the signer in signed_req->signer, 0 when there is none, -1
 * with the reason when it does not hold. Nothing is recorded yet: once the
 * signer is known to be allowed, api_use_signature must accept it. */
int api_signer(h2o_req_t *req, auth_request *signed_req, char *err, size_t errlen);
/* Records the request's signature as used (auth_record): 0, or -1 after
 * replying 401 (a replay) or 503 (no room to remember it). */
int api_use_signature(h2o_req_t *req, node *n, const auth_request *signed_req);

/* origins.c: which origin a request is on (from its Host), and the path
 * forms redirected or sandboxed on the node's own origin. */
enum origin_kind { ORIGIN_NODE, ORIGIN_APP, ORIGIN_IPFS, ORIGIN_MM };
/* The CSP that gives a page an opaque origin (no storage, no cookies). */
extern const char origins_sandbox_csp[];
/* Puts the origin handler first in every path of host. */
void origins_install(h2o_hostconf_t *host, node *n);
/* The origin of req: ORIGIN_NODE, or the kind with the ID in its path-form
 * spelling in id (cap >= CID_TEXT_MAX) and the node's authority in *base. */
int origins_of(h2o_req_t *req, char *id, size_t cap, h2o_iovec_t *base);
/* The host label of an ID (app or MiMei ID, or CID): 0 or -1. */
int origins_label(enum origin_kind kind, const char *id, size_t idlen, char *label, size_t cap);
/* The URL (without a trailing slash) where id is served for the client of
 * req: its subdomain when the Host allows, else the path form (relative on
 * the node's origin). 0 or -1. */
int origins_url(h2o_req_t *req, node *n, enum origin_kind kind, const char *id, char *out, size_t cap);

/* A handler: signer is the Leither ID that signed a write ("" for reads). */
typedef int (*api_fn)(h2o_req_t *req, node *n, const char *signer);

/* api_store.c */
int api_dag_import(h2o_req_t *req, node *n, const char *signer);
int api_pin_add(h2o_req_t *req, node *n, const char *signer);
int api_pin_rm(h2o_req_t *req, node *n, const char *signer);
int api_pin_ls(h2o_req_t *req, node *n, const char *signer);
int api_ls(h2o_req_t *req, node *n, const char *signer);
int api_repo_gc(h2o_req_t *req, node *n, const char *signer);
int api_repo_stat(h2o_req_t *req, node *n, const char *signer);
int api_mimei_drop(h2o_req_t *req, node *n, const char *signer);
int api_repo_rm_author(h2o_req_t *req, node *n, const char *signer);
/* The oldest start (unix seconds) of an add still sending blocks, or
 * INT64_MAX: gc spares blocks written since. */
int64_t api_adds_in_progress(void);

/* The listing kubo's `ls` gives for root/path (api_store.c). */
int api_list(h2o_req_t *req, struct blockstore *bs, const cid *root, const char *path);

/* api_mimei.c */
int api_mimei_show(h2o_req_t *req, node *n, const char *signer);
int api_mimei_setcid(h2o_req_t *req, node *n, const char *signer);
int api_mimei_put(h2o_req_t *req, node *n, const char *signer);
int api_mimei_rm(h2o_req_t *req, node *n, const char *signer);
int api_mimei_mv(h2o_req_t *req, node *n, const char *signer);
int api_mimei_mkdir(h2o_req_t *req, node *n, const char *signer);
int api_mimei_backup(h2o_req_t *req, node *n, const char *signer);
int api_mimei_ls(h2o_req_t *req, node *n, const char *signer);
int api_mimei_ref_add(h2o_req_t *req, node *n, const char *signer);
int api_mimei_ref_del(h2o_req_t *req, node *n, const char *signer);
int api_mimei_ref_ls(h2o_req_t *req, node *n, const char *signer);
int api_mimei_list(h2o_req_t *req, node *n, const char *signer);
int api_mimei_create(h2o_req_t *req, node *n, const char *signer);
int api_mimei_write(h2o_req_t *req, node *n, const char *signer);

/* api_db.c: POST {"mid", "cmds": [[...], ...], "multi"} -> {"replies": [...]} */
int api_db_exec(h2o_req_t *req, node *n, const char *signer);
/* Who runs database commands for a caller: the signer, or "anonymous"
 * (a name no key has) for an unsigned request. */
#define API_ANONYMOUS "anonymous"
struct redisReply;
/* A reply as JSON: strings (non-UTF-8 bytes as {"base64": ...}),
 * integers, null, arrays, and {"error": ...}. */
json_t *api_reply_to_json(const struct redisReply *r);
/* A file MiMei's version as ?ver= or -v names it: "cur", "last", N, or ""
 * (last when there is one, else cur). 0 with *ver set, or -1 with err. */
int api_mimei_version(struct blockstore *bs, MDB_txn *txn, const char *mid, const char *spec, uint32_t *ver,
                      char *err, size_t errlen);

#endif
