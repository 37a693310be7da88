/*
 * api: the node page at "/" and the JSON API under "/api/v0/".
 * One table of routes; writes need a signature (auth.h) from the owner or a
 * granted key, and only POST.
 */
#include "api.h"

#include "auth.h"
#include "quota.h"

#include <h2o.h>
#include <stdio.h>
#include <string.h>

/* --- replies ------------------------------------------------------------ */

const char *api_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 308: return "Permanent Redirect";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Internal Server Error";
    }
}

int api_reply(h2o_req_t *req, int status, const char *type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = api_reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body, len);
    return 0;
}

int api_reply_json(h2o_req_t *req, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps leaves room: its NUL */
    api_reply(req, status, "application/json", text, len + 1);
    free(text);
    return 0;
}

int api_reply_error(h2o_req_t *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return api_reply_json(req, status, json_pack("{s:s,s:i,s:s}", "Message", msg, "Code", 0, "Type", "error"));
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

const char *api_query(h2o_req_t *req, const char *name, char *out, size_t cap)
{
    if (req->query_at == SIZE_MAX)
        return NULL;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= nl + 1 && !memcmp(p, name, nl) && p[nl] == '=') {
            size_t o = 0;
            for (const char *q = p + nl + 1; q < stop; q++) {
                int c = (unsigned char)*q;
                if (c == '%' && stop - q >= 3 && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
                    c = hexval(q[1]) << 4 | hexval(q[2]);
                    q += 2;
                }
                if (c == 0 || o + 1 >= cap)
                    return NULL;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return out;
        }
        p = stop + 1;
    }
    return NULL;
}

/* --- routes ------------------------------------------------------------- */

static int api_id(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    return api_reply_json(req, 200, node_identity_json(&n->key, n->home.port, n->home.listen));
}

static int api_version(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    (void)n;
    return api_reply_json(req, 200, json_pack("{s:s,s:s,s:s}", "Version", LEITHER_VERSION, "System", "linux",
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
    return api_reply_json(req, 200,
                      json_pack("{s:s,s:s,s:s,s:i,s:s,s:i,s:i,s:f}", "ID", n->id, "PeerID", n->peer_id, "Version",
                                LEITHER_VERSION, "Pid", (int)getpid(), "Home", n->home.dir, "Port", n->home.port,
                                "Threads", n->home.threads, "Uptime", uptime(n)));
}

static int api_shutdown(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    api_reply_json(req, 200, json_pack("{s:s}", "Message", "shutting down"));
    node_request_stop(n);
    return 0;
}

/* grant (add) or revoke (remove) ?arg=ID in "grants", saved at once */
static int change_grant(h2o_req_t *req, node *n, int add)
{
    char id[64];
    if (!api_query(req, "arg", id, sizeof id) || !ids_is_leither_id(id))
        return api_reply_error(req, 400, "arg= must be a Leither ID");
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
        return api_reply_error(req, 500, "%s", err);
    }
    return api_reply_json(req, 200, json_pack("{s:o}", "Grants", out));
}

static int api_grant(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_grant(req, n, 1); }
static int api_revoke(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_grant(req, n, 0); }

/* Who may call a route: anyone (reads), the node owner or a key it granted,
 * any signer (the handler checks it against the MiMei it changes), or
 * anyone with a POST whose signature, when there is one, must hold (the
 * handler gets "" when unsigned). */
enum who { ANYONE, NODE_WRITER, SIGNED, MAYBE_SIGNED, STORES };
/* STORES: SIGNED for a write that stores bytes; the signer must also be the
 * owner, a granted key, or a guest with room left in the guest quota
 * (quota.h), and the handler charges what it stored. */

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
    {"db/exec", MAYBE_SIGNED, api_db_exec},
};

int api_signer(h2o_req_t *req, auth_request *signed_req, char *err, size_t errlen)
{
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (at < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[at].value;
    /* the path the client sent and signed (origins.c rewrites req->path on a subdomain) */
    if (auth_verify(v.base, v.len, req->method.base, req->method.len, req->input.path.base, req->input.path.len,
                    req->entity.base, req->entity.base ? req->entity.len : 0, (int64_t)time(NULL), signed_req, err,
                    errlen) != 0)
        return -1;
    return 1;
}

int api_use_signature(h2o_req_t *req, node *n, const auth_request *signed_req)
{
    pthread_mutex_lock(&n->lock);
    int trusted = home_may_write(&n->home, n->id, signed_req->signer);
    pthread_mutex_unlock(&n->lock);
    char err[256];
    int busy;
    if (auth_record(signed_req, (int64_t)time(NULL), trusted, &busy, err, sizeof err) == 0)
        return 0;
    if (busy)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("5"));
    api_reply_error(req, busy ? 503 : 401, "%s", err);
    return -1;
}

int api_is_method(h2o_req_t *req, const char *m)
{
    return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

static int on_api(h2o_handler_t *self, h2o_req_t *req)
{
    node *n = ((api_handler *)self)->n;
    static const char prefix[] = "/api/v0/";
    h2o_iovec_t p = req->path_normalized;
    if (p.len < sizeof prefix - 1)
        return api_reply_error(req, 404, "no API command here: see /api/v0/id");
    const char *name = p.base + sizeof prefix - 1;
    size_t len = p.len - (sizeof prefix - 1);
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes && !r; i++)
        if (strlen(routes[i].name) == len && !memcmp(routes[i].name, name, len))
            r = &routes[i];
    if (!r)
        return api_reply_error(req, 404, "no API command /api/v0/%.*s", (int)len, name);

    if (r->who == ANYONE) {
        if (!api_is_method(req, "GET") && !api_is_method(req, "HEAD") && !api_is_method(req, "POST"))
            return api_reply_error(req, 405, "use GET or POST");
        return r->fn(req, n, "");
    }
    if (!api_is_method(req, "POST")) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
        return api_reply_error(req, 405, "this command changes state: use POST");
    }
    /* verify, then check the signer may do this, and only then use up the
     * signature: a refused request must not take room in the replay set */
    auth_request signed_req;
    char err[256];
    int signed_by = api_signer(req, &signed_req, err, sizeof err);
    if (signed_by < 0 || (signed_by == 0 && r->who != MAYBE_SIGNED))
        return api_reply_error(req, 401, "%s",
                               signed_by < 0 ? err : "this request changes state and needs a signed Authorization header");
    if (r->who == NODE_WRITER) {
        pthread_mutex_lock(&n->lock);
        int allowed = home_may_write(&n->home, n->id, signed_req.signer);
        pthread_mutex_unlock(&n->lock);
        if (!allowed)
            return api_reply_error(req, 401, "key %s is neither the node owner nor granted", signed_req.signer);
    }
    if (r->who == STORES) { /* authorization too: before the signature is recorded */
        int status;
        if (quota_check(n, signed_req.signer, &status, err, sizeof err) != 0)
            return api_reply_error(req, status, "%s", err);
    }
    if (signed_by && api_use_signature(req, n, &signed_req) != 0)
        return 0;
    return r->fn(req, n, signed_by ? signed_req.signer : "");
}

static int on_page(h2o_handler_t *self, h2o_req_t *req)
{
    node *n = ((api_handler *)self)->n;
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/")))
        return api_reply(req, 404, "text/plain; charset=utf-8", H2O_STRLIT("404 not found\n"));
    char page[2048];
    int len = snprintf(page, sizeof page,
                       "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Leither node %s</title>\n"
                       "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em}"
                       "code{background:#f3f3f3;padding:.1em .3em}</style></head><body>\n"
                       "<h1>Leither node</h1>\n<p>ID <code id=\"node-id\">%s</code><br>\n"
                       "Peer ID <code id=\"peer-id\">%s</code><br>\nVersion %s, up %.0f s, %d threads</p>\n"
                       "<p>API: <a href=\"/api/v0/id\">/api/v0/id</a>, <a href=\"/api/v0/version\">/api/v0/version</a>"
                       ", <a href=\"/api/v0/node/status\">/api/v0/node/status</a></p>\n</body></html>\n",
                       n->id, n->id, n->peer_id, LEITHER_VERSION, uptime(n), n->home.threads);
    return api_reply(req, 200, "text/html; charset=utf-8", page, (size_t)len);
}

static void add_handler(h2o_hostconf_t *host, const char *path, node *n, int (*fn)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    api_handler *hd = (api_handler *)h2o_create_handler(pc, sizeof *hd);
    hd->super.on_req = fn;
    hd->n = n;
}

void api_register(h2o_hostconf_t *host, node *n)
{
    /* h2o matches paths in registration order: longest prefixes first */
    gateway_register(host, n);
    apps_register(host, n);
    add_handler(host, "/api/v0/", n, on_api);
    add_handler(host, "/", n, on_page);
}
