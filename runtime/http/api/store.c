/*
 * store: the content store's API. Blocks arrive as CARv1 (dag/import,
 * what `ipfs add` in the CLI sends): every block is re-hashed before it is
 * stored, and a batch is one LMDB transaction.
 */
#include "internal.h"
#include "db.h"
#include "errbuf.h"
#include "mimei.h"
#include "node.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* --- adds in progress (gc spares their blocks) ---------------------------- */

#define SESSION_SLOTS 64
#define SESSION_IDLE 120 /* seconds without a batch: the add was abandoned */

static struct {
    pthread_mutex_t lock;
    struct session {
        uint64_t id;
        int64_t started, last;
    } s[SESSION_SLOTS];
} adds = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void session_seen(uint64_t id, int end)
{
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&adds.lock);
    struct session *slot = NULL, *oldest = &adds.s[0];
    for (int i = 0; i < SESSION_SLOTS; i++) {
        struct session *x = &adds.s[i];
        if (x->id == id && x->last)
            slot = x;
        if (x->last < oldest->last)
            oldest = x;
    }
    if (end) {
        if (slot)
            *slot = (struct session){0};
    } else {
        if (!slot) {
            slot = oldest; /* an empty slot, or the longest idle add */
            *slot = (struct session){id, now, now};
        }
        slot->last = now;
    }
    pthread_mutex_unlock(&adds.lock);
}

int64_t api_adds_in_progress(void)
{
    int64_t now = (int64_t)time(NULL), since = INT64_MAX;
    pthread_mutex_lock(&adds.lock);
    for (int i = 0; i < SESSION_SLOTS; i++)
        if (adds.s[i].last && now - adds.s[i].last < SESSION_IDLE && adds.s[i].started < since)
            since = adds.s[i].started;
    pthread_mutex_unlock(&adds.lock);
    return since;
}

/* --- helpers ------------------------------------------------------------- */

static json_t *cid_json(const cid *c)
{
    char text[CID_TEXT_MAX];
    cid_format(c, text);
    return json_string(text);
}

/* "CID", "/ipfs/CID/a/b" or "CID/a/b": the CID and the path after it. */
static int parse_ipfs_path(const char *arg, cid *root, const char **path, char *err, size_t errlen)
{
    if (!strncmp(arg, "/ipfs/", 6))
        arg += 6;
    size_t len = strcspn(arg, "/");
    *path = arg[len] ? arg + len + 1 : "";
    return cid_parse(arg, len, root, err, errlen);
}

static int flag(h2o_req_t *req, const char *name, int dflt)
{
    char v[16];
    if (!http_query(req, name, v, sizeof v))
        return dflt;
    return !strcmp(v, "1") || !strcmp(v, "true");
}

/* --- dag/import ------------------------------------------------------------ */

int api_dag_import(h2o_req_t *req, node *n, const char *signer)
{
    const uint8_t *p = (const uint8_t *)req->entity.base;
    size_t len = p ? req->entity.len : 0;
    char err[512], sess[32];
    cid roots[16];
    size_t nroots, off;
    if (car_read_header(p, len, roots, 16, &nroots, &off, err, sizeof err) != 0)
        return http_reply_error(req, 400, "%s", err);
    uint64_t session = 0;
    if (http_query(req, "session", sess, sizeof sess))
        session = strtoull(sess, NULL, 10);
    /* a guest's blocks live as long as its MiMei hold them: only the owner
     * and granted keys pin */
    int pin = flag(req, "pin", 1) && quota_unmetered(n, signer);

    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    if (session) /* before the blocks land: gc must not see them unspared */
        session_seen(session, 0);
    uint64_t stored_before = bs_put_bytes(n->bs, txn);
    size_t blocks = 0, bytes = 0;
    cid c;
    const uint8_t *block;
    size_t blen;
    int rc, status = 400;
    while ((rc = car_next(p, len, &off, &c, &block, &blen, err, sizeof err)) == 1) {
        cid check;
        cid_of_block(&check, c.version, c.codec, block, blen);
        if (memcmp(check.digest, c.digest, CID_DIGEST_LEN)) {
            char text[CID_TEXT_MAX];
            cid_format(&c, text);
            snprintf(err, sizeof err, "block %s does not hash to its CID", text);
            rc = -1;
            break;
        }
        if (c.codec == CID_CODEC_DAG_PB) {
            pb_node pn;
            char why[256];
            if (pb_decode(block, blen, &pn, why, sizeof why) != 0) {
                char text[CID_TEXT_MAX];
                cid_format(&c, text);
                snprintf(err, sizeof err, "block %s is not valid dag-pb: %s", text, why);
                rc = -1;
                break;
            }
            pb_node_free(&pn);
        }
        if (bs_put(n->bs, txn, &c, block, blen, err, sizeof err) != 0) {
            rc = -1, status = 500;
            break;
        }
        blocks++, bytes += blen;
    }
    for (size_t i = 0; rc == 0 && pin && i < nroots; i++) {
        if (!bs_has(n->bs, txn, &roots[i])) {
            char text[CID_TEXT_MAX];
            cid_format(&roots[i], text);
            snprintf(err, sizeof err, "cannot pin %s: the node does not have it", text);
            rc = -1;
        } else if (bs_pin(n->bs, txn, &roots[i], 1, err, sizeof err) != 0) {
            rc = -1, status = 500;
        }
    }
    int charged = rc == 0 ? quota_charge(n, txn, signer, "", bs_put_bytes(n->bs, txn) - stored_before, err, sizeof err)
                          : MIMEI_OK;
    if (charged != MIMEI_OK)
        rc = -1, status = http_status_of_mimei(charged);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return http_reply_error(req, status, "%s", err);
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    if (session && flag(req, "end", 0))
        session_seen(session, 1);
    json_t *rs = json_array();
    for (size_t i = 0; i < nroots; i++)
        json_array_append_new(rs, cid_json(&roots[i]));
    return http_reply_json(req, 200,
                          json_pack("{s:I,s:I,s:o,s:b}", "Blocks", (json_int_t)blocks, "Bytes", (json_int_t)bytes,
                                    "Roots", rs, "Pinned", pin && nroots));
}

/* --- pins ------------------------------------------------------------------ */

/* Checks that the whole DAG under root is here and intact. */
static enum store_status dag_complete(blockstore *bs, const cid *root, char *err, size_t errlen)
{
    dag_iter *it = dag_iter_new(bs, root);
    if (!it)
        return errbuf_set(err, errlen, "out of memory");
    cid c;
    uint8_t *block;
    size_t len;
    int rc;
    while ((rc = dag_iter_next(it, &c, &block, &len, err, errlen)) == STORE_OK && block)
        free(block);
    dag_iter_free(it);
    return rc;
}

static int change_pin(h2o_req_t *req, node *n, int add)
{
    char arg[256], err[512];
    cid root;
    if (!http_query(req, "arg", arg, sizeof arg))
        return http_reply_error(req, 400, "arg= must be a CID");
    if (cid_parse(arg, strlen(arg), &root, err, sizeof err) != 0)
        return http_reply_error(req, 400, "%s", err);
    int status = add ? dag_complete(n->bs, &root, err, sizeof err) : STORE_OK;
    if (status != STORE_OK)
        return http_reply_error(req, http_status_of_store(status), "cannot pin %s: %s", arg, err);
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn || bs_pin(n->bs, txn, &root, add, err, sizeof err) != 0) {
        if (txn)
            mdb_txn_abort(txn);
        return http_reply_error(req, 500, "%s", err);
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:[o]}", "Pins", cid_json(&root)));
}

int api_pin_add(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_pin(req, n, 1); }
int api_pin_rm(h2o_req_t *req, node *n, const char *signer) { return (void)signer, change_pin(req, n, 0); }

static int add_pin(void *arg, const cid *root)
{
    char text[CID_TEXT_MAX];
    cid_format(root, text);
    json_object_set_new(arg, text, json_pack("{s:s}", "Type", "recursive"));
    return 0;
}

int api_pin_ls(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char err[512];
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    json_t *keys = json_object();
    bs_pins(n->bs, txn, add_pin, keys);
    mdb_txn_abort(txn);
    return http_reply_json(req, 200, json_pack("{s:o}", "Keys", keys));
}

/* --- ls ---------------------------------------------------------------------- */

typedef struct {
    blockstore *bs;
    MDB_txn *txn;
    json_t *links;
} listing;

static int add_link(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    listing *l = arg;
    ufs_stat st = {0};
    cid same;
    char err[256];
    int type = -1; /* unknown: the child block is not here */
    uint64_t size = tsize;
    if (ufs_resolve(l->bs, l->txn, target, NULL, &same, &st, err, sizeof err) == STORE_OK) {
        type = st.type == UFS_DIRECTORY ? 1 : st.type == UFS_SYMLINK ? 4 : 2;
        if (st.type != UFS_DIRECTORY)
            size = st.size;
    }
    json_array_append_new(l->links, json_pack("{s:s%,s:o,s:I,s:i}", "Name", name, name_len, "Hash", cid_json(target),
                                              "Size", (json_int_t)size, "Type", type));
    return 0;
}

/* The listing kubo's `ls` gives: {"Objects": [{"Hash", "Links": [...]}]}. */
int api_list(h2o_req_t *req, blockstore *bs, const cid *root, const char *path)
{
    char err[512];
    MDB_txn *txn = bs_begin(bs, 0, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    cid target;
    ufs_stat st;
    int status = ufs_resolve(bs, txn, root, path, &target, &st, err, sizeof err);
    if (status != STORE_OK) {
        mdb_txn_abort(txn);
        return http_reply_error(req, status, "%s", err);
    }
    listing l = {bs, txn, json_array()};
    if (st.type == UFS_DIRECTORY && ufs_list(bs, txn, &target, add_link, &l, err, sizeof err) < 0) {
        mdb_txn_abort(txn);
        json_decref(l.links);
        return http_reply_error(req, 502, "%s", err);
    }
    mdb_txn_abort(txn);
    int type = st.type == UFS_DIRECTORY ? 1 : st.type == UFS_SYMLINK ? 4 : 2;
    return http_reply_json(req, 200,
                          json_pack("{s:[{s:o,s:i,s:I,s:o}]}", "Objects", "Hash", cid_json(&target), "Type", type,
                                    "Size", (json_int_t)st.size, "Links", l.links));
}

int api_ls(h2o_req_t *req, node *n, const char *signer)
{
    char arg[4096], err[512];
    cid root;
    const char *path;
    if (!http_query(req, "arg", arg, sizeof arg))
        return http_reply_error(req, 400, "arg= must be a CID or /ipfs/CID/PATH");
    if (parse_ipfs_path(arg, &root, &path, err, sizeof err) != 0)
        return http_reply_error(req, 400, "%s", err);
    if (node_root_hidden(n, &root, signer)) /* a private MiMei's root: its readers only */
        return http_reply_error(req, 403, "%s belongs to private MiMei only: sign the request as a key that may read one",
                               arg);
    return api_list(req, n->bs, &root, path);
}

/* --- repo ---------------------------------------------------------------------- */

int api_repo_gc(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char err[512];
    bs_stats st = {0};
    if (bs_gc(n->bs, api_adds_in_progress(), NULL, 0, &st, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200,
                          json_pack("{s:I,s:I,s:I,s:I}", "Removed", (json_int_t)st.removed, "Freed",
                                    (json_int_t)st.removed_bytes, "NumObjects", (json_int_t)st.blocks, "RepoSize",
                                    (json_int_t)st.bytes));
}

/* --- who stored what ------------------------------------------------------------ */

/* authors: {ID: {"MiMei": count, "Bytes": guest usage}} */
static json_t *author_entry(json_t *authors, const char *id)
{
    json_t *e = json_object_get(authors, id);
    if (!e)
        json_object_set_new(authors, id, e = json_pack("{s:i,s:I}", "MiMei", 0, "Bytes", (json_int_t)0));
    return e;
}

static int count_mimei(void *arg, const char *mid, const char *text, size_t len)
{
    (void)mid;
    json_t *info = json_loadb(text, len, 0, NULL);
    if (info) {
        json_t *e = author_entry(arg, mimei_str(info, "Author"));
        json_object_set_new(e, "MiMei", json_integer(json_integer_value(json_object_get(e, "MiMei")) + 1));
    }
    json_decref(info);
    return 0;
}

static int add_usage(void *arg, const char *id, uint64_t bytes)
{
    json_object_set_new(author_entry(arg, id), "Bytes", json_integer((json_int_t)bytes));
    return 0;
}

/* [{"ID", "Role": owner|granted|guest, "MiMei", "Bytes"}], most bytes first:
 * every author of a MiMei here and every guest that stored bytes. Bytes
 * are counted for guests only (the owner and granted keys are not metered). */
static json_t *by_author(node *n, char *err, size_t errlen)
{
    json_t *authors = json_object();
    db_mimei_each(n->db, count_mimei, authors);
    MDB_txn *txn = bs_begin(n->bs, 0, err, errlen);
    if (!txn) {
        json_decref(authors);
        return NULL;
    }
    quota_each(n, txn, add_usage, authors);
    mdb_txn_abort(txn);
    json_t *out = json_array(), *e;
    const char *id;
    json_object_foreach(authors, id, e) {
        pthread_mutex_lock(&n->lock);
        int granted = home_may_write(&n->home, n->id, id);
        pthread_mutex_unlock(&n->lock);
        json_object_set_new(e, "ID", json_string(id));
        json_object_set_new(e, "Role", json_string(!strcmp(id, n->id) ? "owner" : granted ? "granted" : "guest"));
        size_t i = 0; /* insertion sort: bytes down, then MiMei down */
        json_int_t bytes = json_integer_value(json_object_get(e, "Bytes")), mm = json_integer_value(json_object_get(e, "MiMei"));
        for (; i < json_array_size(out); i++) {
            json_t *o = json_array_get(out, i);
            json_int_t ob = json_integer_value(json_object_get(o, "Bytes")), om = json_integer_value(json_object_get(o, "MiMei"));
            if (bytes > ob || (bytes == ob && mm > om))
                break;
        }
        json_array_insert(out, i, e);
    }
    json_decref(authors);
    return out;
}

int api_repo_stat(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char err[512], by[16] = "";
    bs_stats st = {0};
    if (bs_stat(n->bs, &st, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    char path[PATH_MAX + 16];
    home_path(&n->home, path, sizeof path, "data");
    json_t *out = json_pack("{s:I,s:I,s:I,s:I,s:s}", "NumObjects", (json_int_t)st.blocks, "RepoSize",
                            (json_int_t)st.bytes, "Pins", (json_int_t)st.pins, "FileVersions",
                            (json_int_t)st.file_versions, "RepoPath", path);
    if (http_query(req, "by", by, sizeof by)) {
        if (strcmp(by, "author")) {
            json_decref(out);
            return http_reply_error(req, 400, "by= takes only \"author\"");
        }
        json_t *authors = by_author(n, err, sizeof err);
        if (!authors) {
            json_decref(out);
            return http_reply_error(req, 500, "%s", err);
        }
        json_object_set_new(out, "Authors", authors);
    }
    return http_reply_json(req, 200, out);
}

/* --- removing what others stored --------------------------------------------------- */

/* Forgets MiMei mid in txn: its info, versions, database records and the
 * usage guests were charged for it. Its blocks go at the next gc. */
static int drop_mimei(node *n, MDB_txn *txn, const char *mid, char *err, size_t errlen)
{
    pthread_mutex_lock(&n->lock);
    const char *dflt = json_string_value(json_object_get(n->home.doc, "db_default"));
    int is_default = dflt && !strcmp(dflt, mid);
    pthread_mutex_unlock(&n->lock);
    if (is_default)
        return snprintf(err, errlen, "%s is the owner's default database: it stays", mid), -1;
    if (db_mimei_drop(n->db, txn, mid, err, errlen) != 0 || files_drop(n->bs, txn, mid, err, errlen) != 0 ||
        quota_forget_mimei(n, txn, mid, err, errlen) != 0)
        return -1;
    return 0;
}

/* POST mimei/drop?arg=MID (owner or granted key) */
int api_mimei_drop(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char mid[64], err[512];
    if (!http_query(req, "arg", mid, sizeof mid) || !ids_is_leither_id(mid))
        return http_reply_error(req, 400, "arg= must be a MiMei ID");
    if (!db_mimei_get(n->db, mid, NULL, NULL))
        return http_reply_error(req, 404, "no MiMei %s on this node", mid);
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    if (!txn)
        return http_reply_error(req, 500, "%s", err);
    if (drop_mimei(n, txn, mid, err, sizeof err) != 0) {
        mdb_txn_abort(txn);
        return http_reply_error(req, 400, "%s", err);
    }
    if (bs_commit(txn, err, sizeof err) != 0)
        return http_reply_error(req, 500, "%s", err);
    return http_reply_json(req, 200, json_pack("{s:[s]}", "Dropped", mid));
}

static int authored_by(void *arg, const char *mid, const char *text, size_t len)
{
    json_t *pair = arg, *info = json_loadb(text, len, 0, NULL);
    if (info && !strcmp(mimei_str(info, "Author"), json_string_value(json_array_get(pair, 0))))
        json_array_append_new(json_array_get(pair, 1), json_string(mid));
    json_decref(info);
    return 0;
}

/* POST repo/rm-author?arg=ID (owner or granted key): drops every MiMei ID
 * authored and forgets its blocks in no MiMei; gc frees what nothing else
 * holds. The owner's and granted keys' data is not removed this way. */
int api_repo_rm_author(h2o_req_t *req, node *n, const char *signer)
{
    (void)signer;
    char id[64], err[512];
    if (!http_query(req, "arg", id, sizeof id) || !ids_is_leither_id(id))
        return http_reply_error(req, 400, "arg= must be a Leither ID");
    if (quota_unmetered(n, id))
        return http_reply_error(req, 400, "%s is the owner or a granted key: revoke the grant first, or drop MiMei one by one",
                               id);
    json_t *pair = json_pack("[s,[]]", id), *mids = json_array_get(pair, 1);
    db_mimei_each(n->db, authored_by, pair);
    MDB_txn *txn = bs_begin(n->bs, 1, err, sizeof err);
    int rc = txn ? 0 : -1;
    size_t i;
    json_t *m;
    json_array_foreach(mids, i, m) if (!rc) rc = drop_mimei(n, txn, json_string_value(m), err, sizeof err);
    if (!rc)
        rc = quota_forget_loose(n, txn, id, err, sizeof err);
    if (txn && rc)
        mdb_txn_abort(txn);
    else if (txn && bs_commit(txn, err, sizeof err) != 0)
        rc = -1;
    json_t *out = rc ? NULL : json_pack("{s:s,s:O}", "Author", id, "Dropped", mids);
    json_decref(pair);
    return rc ? http_reply_error(req, 500, "%s", err) : http_reply_json(req, 200, out);
}
