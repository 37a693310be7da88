/*
 * mimei: file MiMei over the API. A file MiMei (AppType "file" or
 * "app") is a versioned pointer into the content store: setcid, folder
 * edits of `cur`, backups. Who may read and change a MiMei is the one rule
 * of mimei.h (mimei_may_read, mimei_may_write), applied here with the
 * node's owner and grants for every surface (node_may_read, node_may_write):
 * reads are checked against the request's optional signature.
 */
#include "internal.h"

#include "db.h"
#include "mimei.h"
#include "node.h"
#include "sandbox.h"

#include <stdlib.h>
#include <string.h>

static json_t *cid_json(const cid *c)
{
    char text[CID_TEXT_MAX];
    cid_format(c, text);
    return json_string(text);
}

/* What a version or reference record costs a guest's quota: about its
 * LMDB key and value. */
#define RECORD_COST 64

/* The MiMei named by ?arg=: its info, parsed, once reader may read it.
 * NULL after replying. */
static json_t *find_mimei(h2o_req_t *req, node *n, const char *reader, char mid[64], int file_only)
{
    if (!http_query(req, "arg", mid, 64) || strlen(mid) != IDS_LID_LEN) {
        http_reply_error(req, 400, "arg= must be a MiMei ID");
        return NULL;
    }
    char *text = NULL;
    if (!db_mimei_get(n->db, mid, &text, NULL)) {
        http_reply_error(req, 404, "no MiMei %s on this node", mid);
        return NULL;
    }
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    if (!info) {
        http_reply_error(req, 500, "the info record of %s does not parse", mid);
        return NULL;
    }
    if (!node_may_read(n, info, reader)) {
        http_reply_unreadable(req, mid, reader);
        json_decref(info);
        return NULL;
    }
    const char *type = mimei_str(info, "AppType");
    if (file_only && strcmp(type, "file") && strcmp(type, "app")) {
        http_reply_error(req, 400, "%s is a %s MiMei, not a file MiMei: use its database commands", mid, type);
        json_decref(info);
        return NULL;
    }
    return info;
}

/* find_mimei for a write: also checks the signer. */
static json_t *writable_mimei(h2o_req_t *req, node *n, const char *signer, char mid[64])
{
    json_t *info = find_mimei(req, n, signer, mid, 1);
    if (info && !node_may_write(n, info, signer)) {
        http_reply_error(req, 403, "key %s may not change MiMei %s: it is %s's", signer, mid,
                        mimei_str(info, "Author"));
        json_decref(info);
        return NULL;
    }
    return info;
}

static int add_version(void *arg, uint32_t ver, const cid *c)
{
    if (ver == FILES_CUR)
        json_object_set_new(json_array_get(arg, 0), "Cur", cid_json(c));
    else
        json_array_append_new(json_array_get(arg, 1), json_pack("{s:I,s:o}", "Ver", (json_int_t)ver, "Cid",
                                                                 cid_json(c)));
    return 0;
}

int api_mimei_show(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], err[512];
    json_t *info = find_mimei(req, n, signer, mid, 0);
    if (!info)
        return 0;
    json_t *out = json_pack("{s:s,s:o,s:n,s:I}", "Mid", mid, "Info", info, "Cur", "Last", (json_int_t)0);
    json_t *versions = json_array();
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (txn) {
        json_t *pair = json_pack("[O,O]", out, versions);
        files_versions(n->bs, txn, mid, add_version, pair);
        json_decref(pair);
        json_object_set_new(out, "Last", json_integer(files_last(n->bs, txn, mid)));
        mdb_txn_abort(txn);
    }
    json_object_set_new(out, "Versions", versions);
    return http_reply_json(req, 200, out);
}

/* Tsize of a link to c: its block and everything below. */
static int link_tsize(blockstore *bs, MDB_txn *txn, const cid *c, uint64_t *tsize, char *err, size_t errlen)
{
    const uint8_t *block;
    size_t len;
    int got = bs_get(bs, txn, c, &block, &len, err, errlen);
    if (got <= 0) {
        if (got == 0) {
            char text[CID_TEXT_MAX];
            cid_format(c, text);
            snprintf(err, errlen, "the node does not have %s: add it first (leither ipfs add)", text);
        }
        return -1;
    }
    *tsize = len;
    if (c->codec == CID_CODEC_DAG_PB) {
        pb_node pn;
        if (pb_decode(block, len, &pn, err, errlen) != 0)
            return -1;
        for (size_t i = 0; i < pn.nlinks; i++)
            *tsize += pn.links[i].tsize;
        pb_node_free(&pn);
    }
    return 0;
}

/* --- app folders: checked before they become a version ------------------ */

#define APP_SOURCE_MAX (4u << 20) /* a Lua file larger than this is refused */
#define APP_DEPTH_MAX 32

typedef struct {
    char path[4096];
    cid c;
} app_file;

typedef struct {
    blockstore *bs;
    MDB_txn *txn;
    app_file *files; /* the .lua files under server/ */
    size_t n, cap;
    char *prefix; /* the folder being listed */
    int depth;
    int failed;
    char *err;
    size_t errlen;
} app_walk;

static int walk_dir(app_walk *w, const cid *dir);

static int walk_link(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    (void)tsize;
    app_walk *w = arg;
    char path[4096];
    int len = snprintf(path, sizeof path, "%s/%.*s", w->prefix, (int)name_len, name);
    if (len < 0 || (size_t)len >= sizeof path) {
        snprintf(w->err, w->errlen, "%s/...: path too long", w->prefix);
        return w->failed = 1;
    }
    ufs_stat st;
    cid out;
    if (ufs_resolve(w->bs, w->txn, target, "", &out, &st, w->err, w->errlen) != STORE_OK)
        return w->failed = 1;
    if (st.type == UFS_DIRECTORY || st.type == UFS_HAMT) {
        char *saved = w->prefix;
        w->prefix = path;
        int rc = walk_dir(w, target);
        w->prefix = saved;
        return rc;
    }
    if (len < 4 || strcmp(path + len - 4, ".lua") || st.type != UFS_FILE)
        return 0;
    if (st.size > APP_SOURCE_MAX) {
        snprintf(w->err, w->errlen, "%s: larger than %u MB", path, APP_SOURCE_MAX >> 20);
        return w->failed = 1;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        app_file *grown = realloc(w->files, cap * sizeof *grown);
        if (!grown) {
            snprintf(w->err, w->errlen, "out of memory");
            return w->failed = 1;
        }
        w->files = grown, w->cap = cap;
    }
    snprintf(w->files[w->n].path, sizeof w->files[w->n].path, "%s", path);
    w->files[w->n++].c = *target;
    return 0;
}

static int walk_dir(app_walk *w, const cid *dir)
{
    if (++w->depth > APP_DEPTH_MAX) {
        snprintf(w->err, w->errlen, "%s: folders nested too deep", w->prefix);
        return w->failed = 1;
    }
    if (ufs_list(w->bs, w->txn, dir, walk_link, w, w->err, w->errlen) != 0 && !w->failed)
        w->failed = 1;
    w->depth--;
    return w->failed;
}

/* Reads a whole (small, its size checked) file of the store into a
 * malloc'd, NUL-terminated buffer. */
static char *read_all(blockstore *bs, const cid *c, size_t *len, char *err, size_t errlen)
{
    return ufs_read_file(bs, c, "", APP_SOURCE_MAX, len, err, errlen);
}

/* A require of a module the app does not have: the app would not load. */
typedef struct {
    const app_walk *w;
    const char *file;
    char *err;
    size_t errlen;
} require_check;

static int check_require(void *arg, const char *name, int line)
{
    require_check *r = arg;
    char module[320];
    if (sandbox_module_path(name, module, sizeof module) != 0)
        return snprintf(r->err, r->errlen, "%s:%d: %s", r->file, line, module), 1;
    if (!strncmp(module, "lua/", 4))
        return 0; /* the node's library (lapp checks those names; the app's load reports a wrong one) */
    for (size_t i = 0; i < r->w->n; i++)
        if (!strcmp(r->w->files[i].path, module))
            return 0;
    snprintf(r->err, r->errlen, "%s:%d: require \"%s\": the app has no %s", r->file, line, name, module);
    return 1;
}

/* An app version must be a folder with a manifest.json that parses, and
 * every server/ .lua file must compile and find the modules it requires: 0,
 * or -1 with the reason (what the uploader sees, e.g. "server/main.lua:3:
 * ... near ..."). */
static int check_app(blockstore *bs, const cid *root, char *err, size_t errlen)
{
    char berr[512];
    MDB_txn *txn = bs_begin(bs, 0, berr, sizeof berr);
    if (!txn)
        return snprintf(err, errlen, "%s", berr), -1;
    app_walk w = {.bs = bs, .txn = txn, .prefix = "server", .err = err, .errlen = errlen};
    ufs_stat st;
    cid manifest, server;
    int rc = -1;
    if (ufs_resolve(bs, txn, root, "", &server, &st, err, errlen) != STORE_OK)
        rc = -1; /* err says why */
    else if (st.type != UFS_DIRECTORY && st.type != UFS_HAMT)
        snprintf(err, errlen, "an app is a folder (with manifest.json), not a file");
    else if (ufs_resolve(bs, txn, root, "manifest.json", &manifest, &st, berr, sizeof berr) != STORE_OK)
        snprintf(err, errlen, "manifest.json: missing: an app folder needs one at its top");
    else if (st.type != UFS_FILE || st.size > APP_SOURCE_MAX)
        snprintf(err, errlen, "manifest.json: not a file of JSON");
    else if (ufs_resolve(bs, txn, root, "server", &server, &st, berr, sizeof berr) != STORE_OK)
        rc = 0; /* no server code */
    else if (st.type == UFS_DIRECTORY || st.type == UFS_HAMT)
        rc = walk_dir(&w, &server) ? -1 : 0;
    else
        rc = 0;
    mdb_txn_abort(txn); /* the readers below take their own transactions */
    size_t len;
    char *text = rc ? NULL : read_all(bs, &manifest, &len, err, errlen);
    if (!rc && !text)
        rc = -1;
    if (text) {
        json_error_t jerr;
        json_t *doc = json_loadb(text, len, 0, &jerr);
        if (!doc)
            rc = -1, snprintf(err, errlen, "manifest.json:%d: %s", jerr.line, jerr.text);
        else if (!json_is_object(doc))
            rc = -1, snprintf(err, errlen, "manifest.json: must be a JSON object");
        json_decref(doc);
        free(text);
    }
    for (size_t i = 0; i < w.n && !rc; i++) {
        char *src = read_all(bs, &w.files[i].c, &len, err, errlen);
        require_check r = {&w, w.files[i].path, err, errlen};
        if (!src || sandbox_check_syntax(src, len, w.files[i].path, err, errlen) != 0 ||
            sandbox_each_require(src, len, check_require, &r) != 0)
            rc = -1;
        free(src);
    }
    free(w.files);
    return rc;
}

/* mimei/setcid?arg=MID&cid=CID: cur = CID and CID frozen as the next
 * version; with &cur=1 only cur changes (lapp uploadapp: `lapp backup`
 * freezes it later). An app's folder is checked first (check_app). */
int api_mimei_setcid(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], arg[256], err[4608];
    json_t *info = writable_mimei(req, n, signer, mid);
    if (!info)
        return 0;
    int is_app = !strcmp(mimei_str(info, "AppType"), "app");
    json_decref(info);
    cid c;
    if (!http_query(req, "cid", arg, sizeof arg))
        return http_reply_error(req, 400, "cid= is missing");
    if (cid_parse(arg, strlen(arg), &c, err, sizeof err) != 0)
        return http_reply_error(req, 400, "%s", err);
    char only[8] = "";
    http_query(req, "cur", only, sizeof only);
    int cur_only = !strcmp(only, "1") || !strcmp(only, "true");
    if (is_app) {
        /* a missing root block is the store's "does not have" (below) */
        MDB_txn *rtxn = bs_begin(n->bs, 0, err, sizeof err);
        int have = rtxn && bs_has(n->bs, rtxn, &c);
        if (rtxn)
            mdb_txn_abort(rtxn);
        if (have && check_app(n->bs, &c, err, sizeof err) != 0)
            return http_reply_error(req, 400, "%s", err);
    }
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    uint64_t tsize;
    uint32_t ver;
    if (link_tsize(n->bs, txn, &c, &tsize, err, sizeof err) != 0) {
        mdb_txn_abort(txn);
        return http_reply_error(req, 400, "%s", err);
    }
    ver = FILES_CUR;
    /* an app's server code: never served by the gateway, whatever its CID */
    if (is_app && bs_hide_app_code_of(n->bs, txn, &c, mid, err, sizeof err) != 0) {
        mdb_txn_abort(txn);
        return http_reply_error(req, 500, "%s", err);
    }
    int charged = MIMEI_ERROR;
    if ((cur_only ? files_set_cur(n->bs, txn, mid, &c, err, sizeof err) != 0
                  : files_setcid(n->bs, txn, mid, &c, &ver, err, sizeof err) != 0) ||
        (charged = quota_charge(n, txn, signer, mid, RECORD_COST, err, sizeof err)) != MIMEI_OK) {
        mdb_txn_abort(txn);
        return http_reply_error(req, http_status_of_mimei(charged), "%s", err);
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    /* Ver 0: cur only */
    return http_reply_json(req, 200, json_pack("{s:s,s:o,s:I}", "Mid", mid, "Cid", cid_json(&c), "Ver", (json_int_t)ver));
}

enum edit { EDIT_PUT, EDIT_RM, EDIT_MV, EDIT_MKDIR };

static int edit_cur(h2o_req_t *req, node *n, const char *signer, enum edit what)
{
    char mid[64], path[4096], to[4096], arg[256], err[512];
    json_t *info = writable_mimei(req, n, signer, mid);
    if (!info)
        return 0;
    int is_app = !strcmp(mimei_str(info, "AppType"), "app");
    json_decref(info);
    if (!http_query(req, what == EDIT_MV ? "from" : "path", path, sizeof path))
        return http_reply_error(req, 400, "%s= is missing", what == EDIT_MV ? "from" : "path");
    if (what == EDIT_MV && !http_query(req, "to", to, sizeof to))
        return http_reply_error(req, 400, "to= is missing");
    cid target = {0};
    if (what == EDIT_PUT) {
        if (!http_query(req, "cid", arg, sizeof arg))
            return http_reply_error(req, 400, "cid= is missing");
        if (cid_parse(arg, strlen(arg), &target, err, sizeof err) != 0)
            return http_reply_error(req, 400, "%s", err);
    }
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    int status = 500; /* the HTTP status of a failure */
    cid cur, next;
    uint64_t tsize = 0, stored_before = bs_put_bytes(n->bs, txn);
    int rc = 0;
    if (!files_get(n->bs, txn, mid, FILES_CUR, &cur)) {
        if (what == EDIT_RM || what == EDIT_MV)
            rc = -1, status = 404, snprintf(err, sizeof err, "%s has no content yet", mid);
        else /* a new folder: the empty directory, in the target's CID version */
            rc = tree_empty(n->bs, txn, target.version, &cur, err, sizeof err);
    }
    if (!rc && what == EDIT_PUT && link_tsize(n->bs, txn, &target, &tsize, err, sizeof err) != 0)
        rc = -1, status = 400;
    if (!rc) {
        switch (what) {
        case EDIT_PUT: rc = tree_put(n->bs, txn, &cur, path, &target, tsize, &next, err, sizeof err); break;
        case EDIT_RM: rc = tree_rm(n->bs, txn, &cur, path, &next, err, sizeof err); break;
        case EDIT_MV: rc = tree_mv(n->bs, txn, &cur, path, to, &next, err, sizeof err); break;
        case EDIT_MKDIR: rc = tree_mkdir(n->bs, txn, &cur, path, &next, err, sizeof err); break;
        }
        status = http_status_of_store(rc);
    }
    if (!rc && is_app && (rc = bs_hide_app_code_of(n->bs, txn, &next, mid, err, sizeof err)) != 0)
        status = 500;
    if (!rc && (rc = files_set_cur(n->bs, txn, mid, &next, err, sizeof err)) != 0)
        status = 500;
    if (!rc && (rc = quota_charge(n, txn, signer, mid, bs_put_bytes(n->bs, txn) - stored_before, err, sizeof err)))
        status = http_status_of_mimei(rc);
    if (!rc && (rc = bs_commit(txn, err, sizeof err)) != 0)
        status = 500;
    else if (rc)
        mdb_txn_abort(txn);
    if (rc)
        return http_reply_error(req, status, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:s,s:o}", "Mid", mid, "Cur", cid_json(&next)));
}

int api_mimei_put(h2o_req_t *req, node *n, const char *signer) { return edit_cur(req, n, signer, EDIT_PUT); }
int api_mimei_rm(h2o_req_t *req, node *n, const char *signer) { return edit_cur(req, n, signer, EDIT_RM); }
int api_mimei_mv(h2o_req_t *req, node *n, const char *signer) { return edit_cur(req, n, signer, EDIT_MV); }
int api_mimei_mkdir(h2o_req_t *req, node *n, const char *signer) { return edit_cur(req, n, signer, EDIT_MKDIR); }

int api_mimei_backup(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], err[512];
    json_t *info = writable_mimei(req, n, signer, mid);
    if (!info)
        return 0;
    json_decref(info);
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    uint32_t ver;
    cid c;
    if (files_backup(n->bs, txn, mid, &ver, err, sizeof err) != 0) {
        mdb_txn_abort(txn);
        return http_reply_error(req, 400, "%s", err);
    }
    int charged = quota_charge(n, txn, signer, mid, RECORD_COST, err, sizeof err);
    if (charged != MIMEI_OK) {
        mdb_txn_abort(txn);
        return http_reply_error(req, http_status_of_mimei(charged), "%s", err);
    }
    files_get(n->bs, txn, mid, ver, &c);
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:s,s:I,s:o}", "Mid", mid, "Ver", (json_int_t)ver, "Cid", cid_json(&c)));
}

int api_mimei_ls(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], path[4096] = "", ver_arg[32] = "", err[512];
    json_t *info = find_mimei(req, n, signer, mid, 1);
    if (!info)
        return 0;
    json_decref(info);
    http_query(req, "path", path, sizeof path);
    http_query(req, "ver", ver_arg, sizeof ver_arg);
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    uint32_t ver;
    cid root;
    int rc = files_version(n->bs, txn, mid, ver_arg, &ver, err, sizeof err);
    if (!rc)
        files_get(n->bs, txn, mid, ver, &root);
    mdb_txn_abort(txn);
    if (rc)
        return http_reply_error(req, 404, "%s", err);
    return api_list(req, n->bs, &root, path);
}

static int change_ref(h2o_req_t *req, node *n, const char *signer, int delta)
{
    char mid[64], other[64], err[512];
    json_t *info = find_mimei(req, n, signer, mid, 0);
    if (!info)
        return 0;
    int ok = node_may_write(n, info, signer);
    json_decref(info);
    if (!ok)
        return http_reply_error(req, 403, "key %s may not change MiMei %s", signer, mid);
    if (!http_query(req, "ref", other, sizeof other) || strlen(other) != IDS_LID_LEN)
        return http_reply_error(req, 400, "ref= must be a MiMei ID");
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    uint32_t count;
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    int status = 400, charged = MIMEI_OK;
    if (refs_change(n->bs, txn, mid, other, delta, &count, err, sizeof err) != 0 ||
        (delta > 0 && (charged = quota_charge(n, txn, signer, mid, RECORD_COST, err, sizeof err)) != MIMEI_OK &&
         (status = http_status_of_mimei(charged)))) {
        mdb_txn_abort(txn);
        return http_reply_error(req, status, "%s", err);
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:s,s:s,s:I}", "Mid", mid, "Ref", other, "Count", (json_int_t)count));
}

int api_mimei_ref_add(h2o_req_t *req, node *n, const char *signer) { return change_ref(req, n, signer, 1); }
int api_mimei_ref_del(h2o_req_t *req, node *n, const char *signer) { return change_ref(req, n, signer, -1); }

static int add_ref(void *arg, const char *other, uint32_t count)
{
    json_object_set_new(arg, other, json_integer(count));
    return 0;
}

int api_mimei_ref_ls(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], err[512];
    json_t *info = find_mimei(req, n, signer, mid, 0);
    if (!info)
        return 0;
    json_decref(info);
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    json_t *refs = json_object();
    refs_list(n->bs, txn, mid, add_ref, refs);
    mdb_txn_abort(txn);
    return http_reply_json(req, 200, json_pack("{s:s,s:o}", "Mid", mid, "Refs", refs));
}

/* --- listing, creating, writing whole files -------------------------------- */

struct list_ctx {
    json_t *out;
    const char *type;
    node *n;
    const char *reader;
};

static int list_one(void *arg, const char *mid, const char *text, size_t len)
{
    (void)mid;
    struct list_ctx *l = arg;
    json_t *info = json_loadb(text, len, 0, NULL);
    if (info && (!l->type[0] || !strcmp(mimei_str(info, "AppType"), l->type)) && node_may_read(l->n, info, l->reader))
        json_array_append(l->out, info);
    json_decref(info);
    return 0;
}

/* GET mimei/list[?type=file|db|app]: the info records of the MiMei here
 * that the request's signer (anonymous when unsigned) may read. */
int api_mimei_list(h2o_req_t *req, node *n, const char *signer)
{
    char type[16] = "";
    http_query(req, "type", type, sizeof type);
    struct list_ctx l = {json_array(), type, n, signer};
    db_mimei_each(n->db, list_one, &l);
    return http_reply_json(req, 200, json_pack("{s:o}", "MiMei", l.out));
}

/* A new info record costs a guest its bytes (registering again is free). */
static enum mimei_status charge_record(node *n, const char *signer, const char *mid, size_t len, char *err,
                                       size_t errlen)
{
    if (db_mimei_get(n->db, mid, NULL, NULL) || quota_unmetered(n, signer))
        return MIMEI_OK;
    MDB_txn *txn = bs_begin(n->bs, 1, err, errlen);
    if (!txn)
        return MIMEI_ERROR;
    enum mimei_status charged = quota_charge(n, txn, signer, mid, len, err, errlen);
    if (charged != MIMEI_OK) {
        mdb_txn_abort(txn);
        return charged;
    }
    return bs_commit(txn, err, errlen) ? MIMEI_ERROR : MIMEI_OK;
}

/* POST mimei/create, body: an info record its author signed (mimei_new);
 * the request's signer must be that author. Registering twice is fine. */
int api_mimei_create(h2o_req_t *req, node *n, const char *signer)
{
    json_error_t jerr;
    json_t *info = json_loadb(req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0, 0,
                              &jerr);
    char why[256];
    if (!info)
        return http_reply_error(req, 400, "the body must be a MiMei info record (JSON): %s", jerr.text);
    int rc;
    if (mimei_verify(info, why, sizeof why) != 0)
        rc = http_reply_error(req, 400, "%s", why);
    else if (strcmp(mimei_str(info, "Author"), signer))
        rc = http_reply_error(req, 403, "key %s may not register a MiMei of %s", signer, mimei_str(info, "Author"));
    else {
        char *text = json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS);
        uint32_t dbno;
        int charged = charge_record(n, signer, mimei_str(info, "ID"), strlen(text), why, sizeof why);
        if (charged != MIMEI_OK)
            rc = http_reply_error(req, http_status_of_mimei(charged), "%s", why);
        else if (db_mimei_register(n->db, mimei_str(info, "ID"), text, &dbno, why, sizeof why) != 0)
            rc = http_reply_error(req, 500, "%s", why);
        else
            rc = http_reply_json(req, 200, json_pack("{s:s}", "Mid", mimei_str(info, "ID")));
        free(text);
    }
    json_decref(info);
    return rc;
}

struct write_ctx {
    blockstore *bs;
    MDB_txn *txn;
    char err[256];
};

static int put_block(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    struct write_ctx *w = arg;
    return bs_put(w->bs, w->txn, c, block, len, w->err, sizeof w->err) != 0;
}

/* POST mimei/write?arg=MID, body: the bytes of the file that becomes the
 * MiMei's cur (CIDv1, raw leaves): one call for small files from browsers,
 * where a CAR upload would be a lot of code. */
int api_mimei_write(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], err[512];
    json_t *info = writable_mimei(req, n, signer, mid);
    if (!info)
        return 0;
    json_decref(info);
    struct write_ctx w = {.bs = n->bs};
    if (!(w.txn = bs_begin(n->bs, 1, err, sizeof err)))
        return http_reply_error(req, 500, "%s", err);
    uint64_t stored_before = bs_put_bytes(n->bs, w.txn);
    import_opts o = {.cid_version = 1, .raw_leaves = 1};
    importer *im = importer_new(&o, put_block, &w);
    cid root;
    uint64_t size, tsize;
    int rc = importer_write(im, req->entity.base ? req->entity.base : "", req->entity.base ? req->entity.len : 0);
    if (!rc)
        rc = importer_finish(im, &root, &size, &tsize);
    importer_free(im);
    if (rc || files_set_cur(n->bs, w.txn, mid, &root, err, sizeof err) != 0) {
        mdb_txn_abort(w.txn);
        return http_reply_error(req, 500, "%s", rc ? w.err : err);
    }
    int charged = quota_charge(n, w.txn, signer, mid, bs_put_bytes(n->bs, w.txn) - stored_before, err, sizeof err);
    if (charged != MIMEI_OK) {
        mdb_txn_abort(w.txn);
        return http_reply_error(req, http_status_of_mimei(charged), "%s", err);
    }
    if (bs_commit(w.txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:s,s:o,s:I}", "Mid", mid, "Cid", cid_json(&root), "Size", (json_int_t)size));
}

/* --- public and private ------------------------------------------------------ */

/* Nonzero when two info records differ in more than Right and Sig. */
static int other_fields_differ(const json_t *a, const json_t *b)
{
    json_t *ca = json_deep_copy(a), *cb = json_deep_copy(b);
    json_object_del(ca, "Right"), json_object_del(ca, "Sig");
    json_object_del(cb, "Right"), json_object_del(cb, "Sig");
    int differ = !json_equal(ca, cb);
    json_decref(ca), json_decref(cb);
    return differ;
}

/* POST mimei/chmod?arg=MID&right=public|private[, body: the info record
 * re-signed by its author with the new Right]. Right is inside the signed
 * record, so the record is replaced by one its author signed: the node
 * signs it itself for the owner's MiMei (the owner's key is the node key;
 * asked by the owner or a granted key), any other author sends it (the CLI
 * does with -k). Who may: whoever may write the MiMei (mimei_may_write). */
int api_mimei_chmod(h2o_req_t *req, node *n, const char *signer)
{
    char mid[64], want[16] = "", why[256];
    json_t *info = find_mimei(req, n, signer, mid, 0);
    if (!info)
        return 0;
    int rc;
    json_t *next = NULL;
    http_query(req, "right", want, sizeof want);
    int right = !strcmp(want, "public") ? MIMEI_RIGHT_READ : !strcmp(want, "private") ? 0 : -1;
    size_t blen = req->entity.base ? req->entity.len : 0;
    if (!node_may_write(n, info, signer))
        rc = http_reply_error(req, 403, "key %s may not change MiMei %s: it is %s's", signer, mid,
                             mimei_str(info, "Author"));
    else if (right < 0)
        rc = http_reply_error(req, 400, "right= must be public or private");
    else if (blen) {
        json_error_t jerr;
        next = json_loadb(req->entity.base, blen, 0, &jerr);
        if (!next)
            rc = http_reply_error(req, 400, "the body must be the re-signed info record (JSON): %s", jerr.text);
        else if (mimei_verify(next, why, sizeof why) != 0)
            rc = http_reply_error(req, 400, "%s", why);
        else if (other_fields_differ(info, next))
            rc = http_reply_error(req, 400, "the record sent is not MiMei %s's with another Right", mid);
        else if ((mimei_right(next) & MIMEI_RIGHT_READ) != right)
            rc = http_reply_error(req, 400, "the record sent says Right %d, not %s", mimei_right(next), want);
        else
            rc = 1;
    } else if (!strcmp(mimei_str(info, "Author"), n->id)) {
        next = mimei_resign(info, &n->key, (mimei_right(info) & ~MIMEI_RIGHT_READ) | right);
        rc = 1;
    } else {
        rc = http_reply_error(req, 400,
                             "MiMei %s is %s's: only its author can sign the new record (send it as the body: "
                             "leither mimei chmod -k AUTHORKEY does)",
                             mid, mimei_str(info, "Author"));
    }
    if (rc == 1) {
        char *text = json_dumps(next, JSON_COMPACT | JSON_SORT_KEYS);
        if (db_mimei_replace(n->db, mid, text, why, sizeof why) != 0)
            rc = http_reply_error(req, 500, "%s", why);
        else
            rc = http_reply_json(req, 200, json_pack("{s:s,s:s,s:i}", "Mid", mid, "Right", right ? "public" : "private",
                                                    "Bits", mimei_right(next)));
        free(text);
    }
    json_decref(next);
    json_decref(info);
    return rc;
}

