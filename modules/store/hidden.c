/*
 * hidden: blocks the gateway never serves, an app's server code. Each is
 * kept by its multihash in the DBI "hidden" (internal.h), so every CID of
 * the same bytes (v0 or v1, any base) is refused, whether asked for as a
 * root or reached by a path. Entries stay when the app changes: code once
 * uploaded as server code may still be held by an older version.
 *
 * An entry's value names the app MiMei whose code it is: their IDs,
 * comma-separated, the latest HIDDEN_APPS_MAX (apps made from one template
 * share their code's blocks); "" when not known. The gateway hands a
 * public app's server code out as raw blocks (a follower copies the app
 * from it) and still never renders it.
 */
#include "internal.h"
#include "mhset.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define HIDDEN_APPS_MAX 16
#define HIDDEN_VALUE_MAX (HIDDEN_APPS_MAX * 64)

/* The entry under key with mid among its apps, into txn. */
static int record_app(blockstore *bs, MDB_txn *txn, MDB_val *key, const char *mid)
{
    char list[HIDDEN_VALUE_MAX + 2] = "";
    size_t len = 0, ml = strlen(mid);
    MDB_val old;
    if (mdb_get(txn, bs->hidden, key, &old) == 0 && old.mv_size <= HIDDEN_VALUE_MAX) {
        memcpy(list, old.mv_data, old.mv_size);
        len = old.mv_size;
    }
    list[len] = '\0';
    if (ml == 0 || ml > 63 || memchr(mid, ',', ml)) {
        if (mdb_get(txn, bs->hidden, key, &old) == 0)
            return 0; /* nothing to add to what is there */
        len = 0;
    } else {
        for (const char *p = list; *p;) { /* there already? */
            size_t n = strcspn(p, ",");
            if (n == ml && !memcmp(p, mid, ml))
                return 0;
            p += n + (p[n] == ',');
        }
        size_t count = len ? 1 : 0;
        for (size_t i = 0; i < len; i++)
            count += list[i] == ',';
        while (len && (count >= HIDDEN_APPS_MAX || len + 1 + ml > HIDDEN_VALUE_MAX)) { /* the oldest goes */
            char *comma = strchr(list, ',');
            if (!comma) {
                len = 0;
                break;
            }
            memmove(list, comma + 1, len - (size_t)(comma + 1 - list) + 1);
            len = strlen(list);
            count--;
        }
        if (len)
            list[len++] = ',';
        memcpy(list + len, mid, ml);
        len += ml;
    }
    MDB_val val = {len, list};
    return mdb_put(txn, bs->hidden, key, &val, 0);
}

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
        MDB_val key = {MH_LEN, mh};
        int mrc = record_app(bs, txn, &key, mid);
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

int bs_hidden_apps(blockstore *bs, MDB_txn *txn, const cid *c, char *mids, size_t cap)
{
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val key = {MH_LEN, mh}, val;
    mids[0] = '\0';
    if (mdb_get(txn, bs->hidden, &key, &val) != 0)
        return 0;
    if (val.mv_size < cap) {
        memcpy(mids, val.mv_data, val.mv_size);
        mids[val.mv_size] = '\0';
    }
    return 1;
}
