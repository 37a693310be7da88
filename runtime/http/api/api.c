/*
 * api: the JSON API under "/api/v0/" (the node page at "/" is page.c).
 * One table of routes; writes need a signature (auth in node.h) from the
 * owner or a granted key, and only POST.
 */
#include "internal.h"

#include <h2o.h>
#include <stdio.h>
#include <string.h>

/* --- routes ------------------------------------------------------------- */

static int api_id(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    return http_reply_json(req, 200, node_identity_json(&n->key, n->home.port, n->home.listen));
}

static int api_version(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    (void)n;
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "Version", LEITHER_VERSION, "System", "linux",
                                          "Agent", "leither/" LEITHER_VERSION));
}

static double uptime(const node *n)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - n->started.tv_sec) + (double)(now.tv_nsec - n->started.tv_nsec) / 1e9;
}

static int api_status(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    return http_reply_json(req, 200,
                      json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:i,s:i,s:f}", "ID", n->id, "PeerID", n->peer_id, "Version",
                                LEITHER_VERSION, "Pid", (int)getpid(), "Home", n->home.dir, "Port", n->home.port,
                                "DbPort", n->home.db_port, "Threads", n->home.threads, "Uptime", uptime(n)));
}

static int api_shutdown(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    http_reply_json(req, 200, json_pack("{s:s}", "Message", "shutting down"));
    node_request_stop(n);
    return 0;
}

/* grant (add) or revoke (remove) ?arg=ID in "grants", saved at once */
static int change_grant(h2o_req_t *req, node *n, int add)
{
    char id[64];
    if (!http_query(req, "arg", id, sizeof id) || !ids_is_leither_id(id))
        return http_reply_error(req, 400, "arg= must be a Leither ID");
    pthread_mutex_lock(&n->lock);
    json_t *grants = json_object_get(n->home.doc, "grants");
    if (!grants)
        json_object_set_new(n->home.doc, "grants", grants = json_array());
    size_t i, found = SIZE_MAX;
    json_t *item;
    json_array_foreach(grants, i, item) if (!strcmp(json_string_value(item), id)) found = i;
    if (add && found == SIZE_MAX)
        json_array_append_new(grants, json_string(id));
    if (!add && found != SIZE_MAX)
        json_array_remove(grants, found);
    char err[512];
    int rc = home_save(&n->home, err, sizeof err);
    json_t *out = json_deep_copy(grants);
    pthread_mutex_unlock(&n->lock);
    if (rc != 0) {
        json_decref(out);
        return http_reply_error(req, 500, "%s", err);
    }
    return http_reply_json(req, 200, json_pack("{s:o}", "Grants", out));
}

static int api_grant(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_grant(req, n, 1); }
static int api_revoke(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_grant(req, n, 0); }

/* Who may call a route: anyone (reads; signed or not, the handler gets the
 * signer or ""), the node owner or a key it granted,
 * any signer (the handler checks it against the MiMei it changes), or
 * anyone with a POST whose signature, when there is one, must hold (the
 * handler gets "" when unsigned). */
enum who { ANYONE, NODE_WRITER, SIGNED, MAYBE_SIGNED, STORES };
/* STORES: SIGNED for a write that stores bytes; the signer must also be the
 * owner, a granted key, or a guest with room left in the guest quota
 * (node.h's quota), and the handler charges what it stored. */

static const struct route {
    const char *name; /* after /api/v0/ */
    enum who who;     /* writes: POST with a signature */
    api_fn fn;
} routes[] = {
    {"id", ANYONE, api_id},
    {"version", ANYONE, api_version},
    {"node/status", ANYONE, api_status},
    {"shutdown", NODE_WRITER, api_shutdown},
    {"lpki/grant", NODE_WRITER, api_grant},
    {"lpki/revoke", NODE_WRITER, api_revoke},
    {"dag/import", STORES, api_dag_import},
    {"pin/add", NODE_WRITER, api_pin_add},
    {"pin/rm", NODE_WRITER, api_pin_rm},
    {"pin/ls", ANYONE, api_pin_ls},
    {"ls", ANYONE, api_ls},
    {"repo/gc", NODE_WRITER, api_repo_gc},
    {"repo/stat", ANYONE, api_repo_stat},
    {"repo/rm-author", NODE_WRITER, api_repo_rm_author},
    {"mimei/drop", NODE_WRITER, api_mimei_drop},
    {"mimei/show", ANYONE, api_mimei_show},
    {"mimei/ls", ANYONE, api_mimei_ls},
    {"mimei/setcid", STORES, api_mimei_setcid},
    {"mimei/put", STORES, api_mimei_put},
    {"mimei/rm", STORES, api_mimei_rm},
    {"mimei/mv", STORES, api_mimei_mv},
    {"mimei/mkdir", STORES, api_mimei_mkdir},
    {"mimei/backup", STORES, api_mimei_backup},
    {"mimei/ref/add", STORES, api_mimei_ref_add},
    {"mimei/ref/del", STORES, api_mimei_ref_del},
    {"mimei/ref/ls", ANYONE, api_mimei_ref_ls},
    {"mimei/list", ANYONE, api_mimei_list},
    {"mimei/create", STORES, api_mimei_create},
    {"mimei/write", STORES, api_mimei_write},
    {"mimei/chmod", SIGNED, api_mimei_chmod},
    {"db/exec", MAYBE_SIGNED, api_db_exec},
    {"swarm/addrs", ANYONE, api_swarm_addrs},
    {"dht/findpeer", ANYONE, api_dht_findpeer},
    {"mimei/publish", SIGNED, api_mimei_publish}, /* the handler checks the signer may write the MiMei */
    {"mimei/provide", NODE_WRITER, api_mimei_provide},
    {"mimei/unprovide", NODE_WRITER, api_mimei_unprovide},
    {"mimei/findprovs", NODE_WRITER, api_mimei_findprovs}, /* a job: the owner's, not anyone's to queue */
    {"mimei/sync", NODE_WRITER, api_mimei_sync},
    {"sync/job", ANYONE, api_sync_job},
    {"mimei/head", ANYONE, api_mimei_head},
    /* organizations: create makes the signer supervisor; a submitted
     * transaction carries its own signature, so anyone may hand one in */
    {"org/create", NODE_WRITER, api_org_create},
    {"org/submit", ANYONE, api_org_submit},
    {"org/tx", ANYONE, api_org_tx},
    {"org/show", ANYONE, api_org_show},
    {"org/list", ANYONE, api_org_list},
    {"org/members", ANYONE, api_org_members},
    {"org/account", ANYONE, api_org_account},
    {"org/root", ANYONE, api_org_root},
    {"org/proof", ANYONE, api_org_proof},
    {"org/accounts", ANYONE, api_org_accounts},
    {"org/history", ANYONE, api_org_history},
    {"org/pulses", ANYONE, api_org_pulses},
    {"org/log", ANYONE, api_org_log},
    {"org/offers", ANYONE, api_org_offers},
    {"org/verify", ANYONE, api_org_verify}, /* POST queues a bounded replay (one per org), GET reads it */
};

int api_on_request(h2o_req_t *req, node *n)
{
    static const char prefix[] = "/api/v0/";
    h2o_iovec_t p = req->path_normalized;
    if (p.len < sizeof prefix - 1)
        return http_reply_error(req, 404, "no API command here: see /api/v0/id");
    const char *name = p.base + sizeof prefix - 1;
    size_t len = p.len - (sizeof prefix - 1);
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !r; i++)
        if (strlen(routes[i].name) == len && !memcmp(routes[i].name, name, len))
            r = &routes[i];
    if (!r)
        return http_reply_error(req, 404, "no API command /api/v0/%.*s", (int)len, name);

    if (r->who == ANYONE) {
        if (!http_is_method(req, "GET") && !http_is_method(req, "HEAD") && !http_is_method(req, "POST"))
            return http_reply_error(req, 405, "use GET or POST");
        /* a read may be signed: the signer is who reads (private MiMei) */
        char reader[IDS_LID_LEN + 1];
        if (http_reader(req, n, reader) != 0)
            return 0;
        return r->fn(req, n, reader);
    }
    if (!http_is_method(req, "POST")) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
        return http_reply_error(req, 405, "this command changes state: use POST");
    }
    /* verify, then check the signer may do this, and only then use up the
     * signature: a refused request must not take room in the replay set */
    auth_request signed_req;
    char err[256];
    int signed_by = http_signer(req, &signed_req, err, sizeof err);
    if (signed_by < 0 || (signed_by == 0 && r->who != MAYBE_SIGNED))
        return http_reply_error(req, 401, "%s",
                               signed_by < 0 ? err : "this request changes state and needs a signed Authorization header");
    if (r->who == NODE_WRITER) {
        pthread_mutex_lock(&n->lock);
        int allowed = home_may_write(&n->home, n->id, signed_req.signer);
        pthread_mutex_unlock(&n->lock);
        if (!allowed)
            return http_reply_error(req, 401, "key %s is neither the node owner nor granted", signed_req.signer);
    }
    if (r->who == STORES) { /* authorization too: before the signature is recorded */
        int status = quota_check(n, signed_req.signer, err, sizeof err);
        if (status != MIMEI_OK)
            return http_reply_error(req, http_status_of_mimei(status), "%s", err);
    }
    if (signed_by && http_use_signature(req, n, &signed_req) != 0)
        return 0;
    return r->fn(req, n, signed_by ? signed_req.signer : "");
}
