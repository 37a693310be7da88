/*
 * hidden: blocks the gateway never serves, an app's server code. Each is
 * kept by its multihash in the DBI "hidden" (internal.h), so every CID of
 * the same bytes (v0 or v1, any base) is refused, whether asked for as a
 * root or reached by a path. Entries stay when the app changes: code once
 * uploaded as server code may still be held by an older version.
 *
 * An entry's value is the ID of the app MiMei whose code it is ("" when
 * not known): the gateway hands a public app's server code out as raw
 * blocks (a follower copies the app from it) and still never renders it.
 */
#include "internal.h"
#include "mhset.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

static int hide_dag(blockstore *bs, MDB_txn *txn, const cid *root, const char *mid, char *err, size_t errlen)
{
    size_t n = 1, cap = 16;
    cid *todo = malloc(cap * sizeof *todo);
    if (!todo)
        return ERR("out of memory");
    todo[0] = *root;
    mhset seen;
    mhset_init(&seen);
    int rc = 0;
    while (n && rc == 0) {
        cid at = todo[--n];
        int added = mhset_add(&seen, at.digest);
        if (added <= 0) {
            if (added < 0)
                rc = ERR("out of memory");
            continue;
        }
        uint8_t mh[MH_LEN];
        cid_multihash(&at, mh);
        MDB_val key = {MH_LEN, mh}, app = {strlen(mid), (void *)mid};
        int mrc = mdb_put(txn, bs->hidden, &key, &app, 0);
        if (mrc != 0) {
            rc = ERR("recording server code: %s", mdb_strerror(mrc));
            break;
        }
        if (at.codec != CID_CODEC_DAG_PB)
            continue;
        const uint8_t *block;
        size_t len;
        int got = bs_get(bs, txn, &at, &block, &len, err, errlen);
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got == 0) /* not here (yet): nothing below it to record */
            continue;
        pb_node node;
        if (pb_decode(block, len, &node, err, errlen) != 0) {
            rc = -1;
            break;
        }
        if (n + node.nlinks > cap) {
            while (cap < n + node.nlinks)
                cap *= 2;
            cid *t = realloc(todo, cap * sizeof *t);
            if (!t)
                rc = ERR("out of memory");
            else
                todo = t;
        }
        for (size_t i = 0; rc == 0 && i < node.nlinks; i++)
            todo[n++] = node.links[i].target;
        pb_node_free(&node);
    }
    mhset_free(&seen);
    free(todo);
    return rc;
}

int bs_hide_dag(blockstore *bs, MDB_txn *txn, const cid *root, char *err, size_t errlen)
{
    return hide_dag(bs, txn, root, "", err, errlen);
}

int bs_hide_app_code(blockstore *bs, MDB_txn *txn, const cid *app_root, char *err, size_t errlen)
{
    return bs_hide_app_code_of(bs, txn, app_root, "", err, errlen);
}

int bs_hide_app_code_of(blockstore *bs, MDB_txn *txn, const cid *app_root, const char *mid, char *err, size_t errlen)
{
    cid server;
    ufs_stat st;
    int rc = ufs_resolve(bs, txn, app_root, "server", &server, &st, err, errlen);
    if (rc == STORE_NOT_FOUND)
        return 0; /* a static app */
    if (rc != STORE_OK)
        return -1;
    return hide_dag(bs, txn, &server, mid, err, errlen);
}

int bs_is_hidden(blockstore *bs, MDB_txn *txn, const cid *c)
{
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val key = {MH_LEN, mh}, val;
    return mdb_get(txn, bs->hidden, &key, &val) == 0;
}

int bs_hidden_app(blockstore *bs, MDB_txn *txn, const cid *c, char *mid, size_t cap)
{
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val key = {MH_LEN, mh}, val;
    mid[0] = '\0';
    if (mdb_get(txn, bs->hidden, &key, &val) != 0)
        return 0;
    if (val.mv_size < cap) {
        memcpy(mid, val.mv_data, val.mv_size);
        mid[val.mv_size] = '\0';
    }
    return 1;
}
