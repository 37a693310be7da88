/* The network routes: swarm/addrs and dht/findpeer, from the presence
 * (dht.h), and MiMei between nodes (publish, provide, findprovs, sync,
 * head), jobs of the sync thread (heads.h). None waits on the DHT:
 * findpeer answers what is verified now, or 404 while the lookup it starts
 * runs (the CLI asks again); the MiMei routes answer a job to poll. */
#include "internal.h"

#include "dht.h"
#include "heads.h"
#include "sync.h"

#include <stdlib.h>
#include <string.h>

int api_swarm_addrs(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    if (!n->presence)
        return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0)");
    return http_reply_json(req, 200, presence_peers_json(n));
}

int api_dht_findpeer(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char id[64];
    if (!http_query(req, "arg", id, sizeof id) || !ids_is_leither_id(id))
        return http_reply_error(req, 400, "arg= must be a Leither ID");
    if (!n->presence)
        return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0)");
    json_t *entry = presence_findpeer(n, id);
    if (!entry)
        return http_reply_error(req, 404, "node %s: no verified record yet (a lookup is under way)", id);
    return http_reply_json(req, 200, entry);
}

/* --- MiMei between nodes: jobs for the sync thread (heads.h) -------------
 * The handlers check what they can at once (the MiMei, who asks, public or
 * not) and queue the rest: {"Job": N}, whose state GET sync/job reads. */

/* ?arg=MID into mid: 0, or -1 after replying 400. */
static int mid_arg(h2o_req_t *req, char mid[64])
{
    if (!http_query(req, "arg", mid, 64) || !ids_is_leither_id(mid)) {
        http_reply_error(req, 400, "arg= must be a MiMei ID");
        return -1;
    }
    return 0;
}

static int reply_job(h2o_req_t *req, node *n, enum sync_job_kind kind, const char *mid, int64_t eol, const char *from)
{
    char err[256];
    long id = sync_job_submit(n, kind, mid, eol, from, err, sizeof err);
    if (id < 0)
        return http_reply_error(req, 503, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:I}", "Job", (json_int_t)id));
}

static int dht_off(h2o_req_t *req) { return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0)"); }

int api_mimei_publish(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], eol_text[24];
    if (mid_arg(req, mid) != 0)
        return 0;
    int64_t eol = SYNC_DEFAULT_EOL;
    if (http_query(req, "eol", eol_text, sizeof eol_text)) {
        char *end;
        long long v = strtoll(eol_text, &end, 10);
        if (!*eol_text || *end || v < 1 || v > SYNC_EOL_MAX)
            return http_reply_error(req, 400, "eol= must be seconds from 1 to %d", SYNC_EOL_MAX);
        eol = v;
    }
    /* a head the author signed elsewhere (publish -k) comes as the body;
     * prepare=1 asks for what it is signed over (the version block) */
    char prepare[8] = "";
    http_query(req, "prepare", prepare, sizeof prepare);
    size_t blen = req->entity.base ? req->entity.len : 0;
    if (blen > DHT_VALUE_MAX)
        return http_reply_error(req, 413, "a head is at most %d bytes", DHT_VALUE_MAX);
    char *head = blen ? strndup(req->entity.base, blen) : NULL;
    if (blen && (!head || strlen(head) != blen)) {
        free(head);
        return http_reply_error(req, 400, "the body must be a head envelope (JSON text)");
    }
    if (!n->presence) {
        free(head);
        return dht_off(req);
    }
    json_t *info = node_mimei_info(n, mid);
    int status = 0;
    if (!info)
        status = http_reply_error(req, 404, "no MiMei %s on this node", mid);
    else if (!node_may_write(n, info, signer))
        status = http_reply_error(req, 403, "key %s may not publish MiMei %s: it is %s's", signer, mid,
                                  mimei_str(info, "Author"));
    else if (!(mimei_right(info) & MIMEI_RIGHT_READ))
        status = http_reply_error(req, 403, "private MiMei are never published: 'mimei chmod %s public' first", mid);
    else if (!strcmp(prepare, "1"))
        status = reply_job(req, n, SYNC_JOB_PREPARE, mid, 0, "");
    else if (!head && strcmp(mimei_str(info, "Author"), n->id))
        status = http_reply_error(req, 409,
                                  "MiMei %s is %s's and its head must carry the author's signature: this node signs "
                                  "with its own key only ('leither mimei publish %s -k AUTHOR_KEYFILE' signs it)",
                                  mid, mimei_str(info, "Author"), mid);
    else
        status = reply_job(req, n, SYNC_JOB_PUBLISH, mid, eol, head);
    json_decref(info);
    free(head);
    return status;
}

static int provide(h2o_req_t *req, node *n, enum sync_job_kind kind)
{
    char mid[64];
    if (mid_arg(req, mid) != 0)
        return 0;
    if (!n->presence)
        return dht_off(req);
    json_t *info = kind == SYNC_JOB_PROVIDE ? node_mimei_info(n, mid) : NULL;
    int private_here = info && !(mimei_right(info) & MIMEI_RIGHT_READ);
    json_decref(info);
    if (private_here)
        return http_reply_error(req, 403, "private MiMei are never provided: 'mimei chmod %s public' first", mid);
    return reply_job(req, n, kind, mid, 0, "");
}

int api_mimei_provide(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    return provide(req, n, SYNC_JOB_PROVIDE);
}

int api_mimei_unprovide(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    return provide(req, n, SYNC_JOB_UNPROVIDE);
}

int api_mimei_findprovs(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char mid[64];
    if (mid_arg(req, mid) != 0)
        return 0;
    if (!n->presence)
        return dht_off(req);
    return reply_job(req, n, SYNC_JOB_FINDPROVS, mid, 0, "");
}

int api_mimei_sync(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char mid[64], from[128] = "";
    if (mid_arg(req, mid) != 0)
        return 0;
    if (http_query(req, "node", from, sizeof from) && !from[0])
        return http_reply_error(req, 400, "node= must be a Leither ID or IP:PORT");
    if (!from[0] && !n->presence)
        return http_reply_error(req, 503, "the DHT is off on this node (dht_port 0): name a node with node=IP:PORT");
    json_t *info = node_mimei_info(n, mid);
    int private_here = info && !(mimei_right(info) & MIMEI_RIGHT_READ);
    json_decref(info);
    if (private_here) /* a private MiMei here is its author's: nothing comes from others */
        return http_reply_error(req, 403, "MiMei %s is private on this node: private MiMei are never synced", mid);
    return reply_job(req, n, SYNC_JOB_SYNC, mid, 0, from);
}

int api_sync_job(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char text[24], *end;
    long long id = http_query(req, "id", text, sizeof text) ? strtoll(text, &end, 10) : 0;
    if (id <= 0 || *end)
        return http_reply_error(req, 400, "id= must be a job number");
    json_t *doc = sync_job_json(n, (long)id);
    if (!doc)
        return http_reply_error(req, 404, "no sync job %lld (jobs are remembered until %d newer ones)", id,
                                SYNC_JOBS_KEPT);
    return http_reply_json(req, 200, doc);
}

int api_mimei_head(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char mid[64];
    if (mid_arg(req, mid) != 0)
        return 0;
    json_t *info = node_mimei_info(n, mid);
    int private_here = info && !(mimei_right(info) & MIMEI_RIGHT_READ);
    json_decref(info);
    if (private_here)
        return http_reply_error(req, 403, "MiMei %s is private: private MiMei have no head", mid);
    json_t *doc = sync_head_json(n, mid);
    if (!doc)
        return http_reply_error(req, 404, "this node holds no head of MiMei %s", mid);
    return http_reply_json(req, 200, doc);
}
