/*
 * blocks: the block store in the node's LMDB environment (layout in
 * internal.h). Every read re-hashes the block, so a flipped bit on disk is
 * reported, never served.
 */
#include "internal.h"
#include "mhset.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"

blockstore *bs_open(MDB_env *env, char *err, size_t errlen)
{
    blockstore *bs = calloc(1, sizeof *bs);
    if (!bs) {
        ERR("out of memory");
        return NULL;
    }
    bs->env = env;
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0) {
        if ((rc = mdb_dbi_open(txn, "blocks", MDB_CREATE, &bs->blocks)) == 0 &&
            (rc = mdb_dbi_open(txn, "pins", MDB_CREATE, &bs->pins)) == 0 &&
            (rc = mdb_dbi_open(txn, "files", MDB_CREATE, &bs->files)) == 0 &&
            (rc = mdb_dbi_open(txn, "refs", MDB_CREATE, &bs->refs)) == 0 &&
            (rc = mdb_dbi_open(txn, "hidden", MDB_CREATE, &bs->hidden)) == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (rc != 0) {
        ERR("opening the content store: %s", mdb_strerror(rc));
        free(bs);
        return NULL;
    }
    return bs;
}

void bs_close(blockstore *bs) { free(bs); /* the DBIs close with the environment */ }

MDB_env *bs_env(blockstore *bs) { return bs->env; }

MDB_txn *bs_begin(blockstore *bs, int write, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(bs->env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) {
        ERR("content store transaction: %s", mdb_strerror(rc));
        return NULL;
    }
    return txn;
}

int bs_commit(MDB_txn *txn, char *err, size_t errlen)
{
    int rc = mdb_txn_commit(txn); /* frees txn whatever happens */
    return rc == 0 ? 0 : ERR("content store commit: %s", mdb_strerror(rc));
}

/* A transaction of its own when the caller gave none: *own says to end it. */
static MDB_txn *use_txn(blockstore *bs, MDB_txn *txn, int write, int *own, char *err, size_t errlen)
{
    *own = !txn;
    return txn ? txn : bs_begin(bs, write, err, errlen);
}

static int finish(MDB_txn *txn, int own, int rc, char *err, size_t errlen)
{
    if (!own)
        return rc;
    if (rc < 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return bs_commit(txn, err, errlen) == 0 ? rc : -1;
}

int bs_put(blockstore *bs, MDB_txn *txn, const cid *c, const void *block, size_t len, char *err, size_t errlen)
{
    int own;
    if (!(txn = use_txn(bs, txn, 1, &own, err, errlen)))
        return -1;
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val k = {MH_LEN, mh}, v = {BLOCK_TIME_LEN + len, NULL}, old;
    if (mdb_get(txn, bs->blocks, &k, &old) != 0)
        bs->put_bytes += len;
    int rc = mdb_put(txn, bs->blocks, &k, &v, MDB_RESERVE);
    int ret = 0;
    if (rc == 0) {
        uint64_t now = (uint64_t)time(NULL);
        uint8_t *p = v.mv_data;
        for (int i = 0; i < BLOCK_TIME_LEN; i++)
            p[i] = (uint8_t)(now >> (8 * i));
        if (len)
            memcpy(p + BLOCK_TIME_LEN, block, len);
    } else {
        char text[CID_TEXT_MAX];
        cid_format(c, text);
        ret = ERR("storing block %s: %s", text, mdb_strerror(rc));
    }
    return finish(txn, own, ret, err, errlen);
}

uint64_t bs_put_bytes(blockstore *bs, MDB_txn *txn)
{
    (void)txn; /* only the write transaction's holder may ask */
    return bs->put_bytes;
}

int bs_get(blockstore *bs, MDB_txn *txn, const cid *c, const uint8_t **block, size_t *len, char *err, size_t errlen)
{
    if (!txn)
        return ERR("bs_get needs a transaction: the block lives in its snapshot");
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val k = {MH_LEN, mh}, v;
    int rc = mdb_get(txn, bs->blocks, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    char text[CID_TEXT_MAX];
    if (rc != 0) {
        cid_format(c, text);
        return ERR("reading block %s: %s", text, mdb_strerror(rc));
    }
    uint8_t digest[CID_DIGEST_LEN];
    if (v.mv_size >= BLOCK_TIME_LEN)
        store_sha256(digest, (const uint8_t *)v.mv_data + BLOCK_TIME_LEN, v.mv_size - BLOCK_TIME_LEN);
    if (v.mv_size < BLOCK_TIME_LEN || memcmp(digest, c->digest, CID_DIGEST_LEN)) {
        cid_format(c, text);
        return ERR("block %s is corrupted: its bytes hash to something else", text);
    }
    *block = (const uint8_t *)v.mv_data + BLOCK_TIME_LEN;
    *len = v.mv_size - BLOCK_TIME_LEN;
    return 1;
}

int bs_has(blockstore *bs, MDB_txn *txn, const cid *c)
{
    char err[64];
    size_t errlen = sizeof err;
    int own;
    if (!(txn = use_txn(bs, txn, 0, &own, err, errlen)))
        return 0;
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    MDB_val k = {MH_LEN, mh}, v;
    int found = mdb_get(txn, bs->blocks, &k, &v) == 0;
    if (own)
        mdb_txn_abort(txn);
    return found;
}

int bs_pin(blockstore *bs, MDB_txn *txn, const cid *root, int add, char *err, size_t errlen)
{
    int own;
    if (!(txn = use_txn(bs, txn, 1, &own, err, errlen)))
        return -1;
    uint8_t bin[CID_BIN_MAX];
    MDB_val k = {cid_to_bytes(root, bin), bin}, v = {0, ""};
    int rc = add ? mdb_put(txn, bs->pins, &k, &v, 0) : mdb_del(txn, bs->pins, &k, NULL);
    int ret = 0;
    if (rc != 0 && !(rc == MDB_NOTFOUND && !add)) {
        char text[CID_TEXT_MAX];
        cid_format(root, text);
        ret = ERR("%s %s: %s", add ? "pinning" : "unpinning", text, mdb_strerror(rc));
    }
    return finish(txn, own, ret, err, errlen);
}

int bs_pins(blockstore *bs, MDB_txn *txn, int (*fn)(void *arg, const cid *root), void *arg)
{
    char err[64];
    size_t errlen = sizeof err;
    int own;
    if (!(txn = use_txn(bs, txn, 0, &own, err, errlen)))
        return -1;
    MDB_cursor *cur;
    int ret = 0;
    if (mdb_cursor_open(txn, bs->pins, &cur) != 0)
        ret = -1;
    else {
        MDB_val k, v;
        for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
            cid c;
            if (cid_from_bytes(k.mv_data, k.mv_size, &c) != k.mv_size)
                continue;
            if ((ret = fn(arg, &c)) != 0)
                break;
        }
        mdb_cursor_close(cur);
    }
    if (own)
        mdb_txn_abort(txn);
    return ret;
}

/* blocks and their bytes, pins and file versions, as txn sees them */
static int count(blockstore *bs, MDB_txn *txn, bs_stats *out, char *err, size_t errlen)
{
    MDB_stat st;
    int rc;
    if ((rc = mdb_stat(txn, bs->pins, &st)) != 0)
        return ERR("content store stat: %s", mdb_strerror(rc));
    out->pins = st.ms_entries;
    if ((rc = mdb_stat(txn, bs->files, &st)) != 0)
        return ERR("content store stat: %s", mdb_strerror(rc));
    out->file_versions = st.ms_entries;
    out->blocks = out->bytes = 0;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, bs->blocks, &cur)) != 0)
        return ERR("content store stat: %s", mdb_strerror(rc));
    MDB_val k, v;
    for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
        out->blocks++;
        out->bytes += v.mv_size > BLOCK_TIME_LEN ? v.mv_size - BLOCK_TIME_LEN : 0;
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return ERR("content store stat: %s", mdb_strerror(rc));
    return 0;
}

int bs_stat(blockstore *bs, bs_stats *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn = bs_begin(bs, 0, err, errlen);
    if (!txn)
        return -1;
    int rc = count(bs, txn, out, err, errlen);
    mdb_txn_abort(txn);
    return rc;
}

int bs_size(blockstore *bs, uint64_t *blocks, uint64_t *table_bytes, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(bs, 0, err, errlen);
    if (!txn)
        return -1;
    MDB_stat st;
    int rc = mdb_stat(txn, bs->blocks, &st);
    mdb_txn_abort(txn);
    if (rc != 0)
        return ERR("content store stat: %s", mdb_strerror(rc));
    *blocks = st.ms_entries;
    *table_bytes = (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize;
    return 0;
}

/* --- gc ----------------------------------------------------------------- */

typedef struct {
    cid *v;
    size_t n, cap;
} cid_stack;

static int push(cid_stack *s, const cid *c)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        cid *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = *c;
    return 0;
}

/* Marks root and everything under it. Blocks are read without re-hashing:
 * a corrupt block at worst keeps more than needed. */
static int mark(blockstore *bs, MDB_txn *txn, mhset *live, cid_stack *pending, const cid *root)
{
    if (push(pending, root) != 0)
        return -1;
    while (pending->n) {
        cid c = pending->v[--pending->n];
        int added = mhset_add(live, c.digest);
        if (added < 0)
            return -1;
        if (!added || c.codec != CID_CODEC_DAG_PB)
            continue; /* raw leaves link to nothing */
        uint8_t mh[MH_LEN];
        cid_multihash(&c, mh);
        MDB_val k = {MH_LEN, mh}, v;
        if (mdb_get(txn, bs->blocks, &k, &v) != 0 || v.mv_size < BLOCK_TIME_LEN)
            continue; /* missing: nothing below it to keep */
        pb_node node;
        char err[128];
        if (pb_decode((const uint8_t *)v.mv_data + BLOCK_TIME_LEN, v.mv_size - BLOCK_TIME_LEN, &node, err,
                      sizeof err) != 0)
            continue;
        int rc = 0;
        for (size_t i = 0; i < node.nlinks && rc == 0; i++)
            if (!mhset_has(live, node.links[i].target.digest))
                rc = push(pending, &node.links[i].target);
        pb_node_free(&node);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* every key of dbi is (key_is_cid) or every value is a binary CID: mark it */
static int mark_dbi(blockstore *bs, MDB_txn *txn, MDB_dbi dbi, int key_is_cid, mhset *live, cid_stack *pending)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur) != 0)
        return -1;
    MDB_val k, v;
    int rc = 0;
    for (int op = MDB_FIRST; rc == 0 && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
        const MDB_val *x = key_is_cid ? &k : &v;
        cid c;
        if (cid_from_bytes(x->mv_data, x->mv_size, &c) == x->mv_size)
            rc = mark(bs, txn, live, pending, &c);
    }
    mdb_cursor_close(cur);
    return rc;
}

int bs_gc(blockstore *bs, int64_t spare_since, const cid *extra_roots, size_t nextra, bs_stats *out, char *err,
          size_t errlen)
{
    bs_stats local;
    if (!out)
        out = &local;
    memset(out, 0, sizeof *out);
    MDB_txn *txn = bs_begin(bs, 1, err, errlen);
    if (!txn)
        return -1;
    mhset live;
    mhset_init(&live);
    cid_stack pending = {0};
    int rc = mark_dbi(bs, txn, bs->pins, 1, &live, &pending);
    if (rc == 0)
        rc = mark_dbi(bs, txn, bs->files, 0, &live, &pending);
    for (size_t i = 0; rc == 0 && i < nextra; i++)
        rc = mark(bs, txn, &live, &pending, &extra_roots[i]);
    free(pending.v);
    if (rc != 0) {
        mhset_free(&live);
        mdb_txn_abort(txn);
        return ERR("gc: out of memory while marking");
    }

    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, bs->blocks, &cur);
    if (mrc == 0) {
        MDB_val k, v;
        for (int op = MDB_FIRST; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
            if (k.mv_size == MH_LEN && mhset_has(&live, (const uint8_t *)k.mv_data + 2))
                continue;
            const uint8_t *p = v.mv_data;
            int64_t written = 0;
            if (v.mv_size >= BLOCK_TIME_LEN) {
                uint64_t t = 0;
                for (int i = 0; i < BLOCK_TIME_LEN; i++)
                    t |= (uint64_t)p[i] << (8 * i);
                written = (int64_t)t;
            }
            if (written >= spare_since)
                continue;
            size_t size = v.mv_size > BLOCK_TIME_LEN ? v.mv_size - BLOCK_TIME_LEN : 0;
            if ((mrc = mdb_cursor_del(cur, 0)) != 0)
                break;
            out->removed++;
            out->removed_bytes += size;
        }
        mdb_cursor_close(cur);
    }
    mhset_free(&live);
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return ERR("gc: %s", mdb_strerror(mrc));
    }
    uint64_t removed = out->removed, removed_bytes = out->removed_bytes;
    if (count(bs, txn, out, err, errlen) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    out->removed = removed, out->removed_bytes = removed_bytes;
    return bs_commit(txn, err, errlen);
}
