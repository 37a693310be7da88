/*
 * http/api internal: the JSON API's handlers by area, for api.c's route
 * table. Not for other folders.
 *   api.c     the route table, node routes (id, version, status, grants)
 *   store.c   blocks, pins, ls, repo (gc, stat, rm-author), mimei drop
 *   mimei.c   file MiMei: show, setcid, put, rm, mv, mkdir, backup, ls,
 *             references, list, create, write, chmod
 *   db.c      db/exec: database commands as JSON
 *   net.c     swarm, dht findpeer, and MiMei between nodes (sync jobs)
 *   page.c    the node's landing page at "/"
 *   org.c     organizations and their ledgers (ledger.h's API)
 */
#ifndef LEITHER_API_INTERNAL_H
#define LEITHER_API_INTERNAL_H

#include "api.h"
#include "http.h"
#include "node.h"
#include "resp.h"
#include "store.h"

/* A handler: signer is the Leither ID that signed a write ("" for reads). */
typedef int (*api_fn)(h2o_req_t *req, node *n, const char *signer);

/* store.c */
int api_dag_import(h2o_req_t *req, node *n, const char *signer);
int api_pin_add(h2o_req_t *req, node *n, const char *signer);
int api_pin_rm(h2o_req_t *req, node *n, const char *signer);
int api_pin_ls(h2o_req_t *req, node *n, const char *signer);
/* net.c: the nodes this node knows, and one node's addresses */
int api_swarm_addrs(h2o_req_t *req, node *n, const char *signer);
int api_dht_findpeer(h2o_req_t *req, node *n, const char *signer);
/* net.c: MiMei between nodes, as jobs of the sync thread (heads.h) */
int api_mimei_publish(h2o_req_t *req, node *n, const char *signer);
int api_mimei_provide(h2o_req_t *req, node *n, const char *signer);
int api_mimei_unprovide(h2o_req_t *req, node *n, const char *signer);
int api_mimei_findprovs(h2o_req_t *req, node *n, const char *signer);
int api_mimei_sync(h2o_req_t *req, node *n, const char *signer);
int api_sync_job(h2o_req_t *req, node *n, const char *signer);
int api_mimei_head(h2o_req_t *req, node *n, const char *signer);
int api_ls(h2o_req_t *req, node *n, const char *signer);
int api_repo_gc(h2o_req_t *req, node *n, const char *signer);
int api_repo_stat(h2o_req_t *req, node *n, const char *signer);
int api_mimei_drop(h2o_req_t *req, node *n, const char *signer);
int api_repo_rm_author(h2o_req_t *req, node *n, const char *signer);
/* The oldest start (unix seconds) of an add still sending blocks, or
 * INT64_MAX: gc spares blocks written since. */
int64_t api_adds_in_progress(void);

/* The listing kubo's `ls` gives for root/path (store.c). */
int api_list(h2o_req_t *req, struct blockstore *bs, const cid *root, const char *path);

/* mimei.c */
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
int api_mimei_chmod(h2o_req_t *req, node *n, const char *signer);


/* org.c: /api/v0/org/... (runtime/ledger/ledger.h) */
int api_org_create(h2o_req_t *req, node *n, const char *signer);
int api_org_submit(h2o_req_t *req, node *n, const char *signer);
int api_org_tx(h2o_req_t *req, node *n, const char *signer);
int api_org_show(h2o_req_t *req, node *n, const char *signer);
int api_org_list(h2o_req_t *req, node *n, const char *signer);
int api_org_members(h2o_req_t *req, node *n, const char *signer);
int api_org_account(h2o_req_t *req, node *n, const char *signer);
int api_org_root(h2o_req_t *req, node *n, const char *signer);
int api_org_proof(h2o_req_t *req, node *n, const char *signer);
int api_org_accounts(h2o_req_t *req, node *n, const char *signer);
int api_org_history(h2o_req_t *req, node *n, const char *signer);
int api_org_pulses(h2o_req_t *req, node *n, const char *signer);
int api_org_log(h2o_req_t *req, node *n, const char *signer);
int api_org_offers(h2o_req_t *req, node *n, const char *signer);
int api_org_verify(h2o_req_t *req, node *n, const char *signer);

/* db.c: POST {"mid", "cmds": [[...], ...], "multi"} -> {"replies": [...]} */
int api_db_exec(h2o_req_t *req, node *n, const char *signer);
/* Who runs database commands for a caller: the signer, or "anonymous"
 * (a name no key has) for an unsigned request. */
#define API_ANONYMOUS "anonymous"
struct redisReply;
/* A reply as JSON: strings (non-UTF-8 bytes as {"base64": ...}),
 * integers, null, arrays, and {"error": ...}. */
json_t *api_reply_to_json(const struct redisReply *r);

#endif
