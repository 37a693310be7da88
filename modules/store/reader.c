/*
 * reader: UnixFS paths, directory listings, file ranges and DAG walks over
 * the block store. Errors carry a status (store.h): STORE_NOT_FOUND for
 * what the caller asked for and the node does not have, STORE_BAD_REQUEST
 * for what cannot be served this way, STORE_CORRUPT for a DAG the node has
 * only part of, or a broken one.
 */
#include "internal.h"
#include "mhset.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define FAIL(st, ...) (*status = (st), errbuf_set(err, errlen, __VA_ARGS__))

/* A decoded block: raw (data is the block) or dag-pb with its UnixFS Data. */
typedef struct {
    const uint8_t *block;
    size_t len;
    int raw;
    pb_node pb;
    ufs_data ufs;
    int has_ufs;
} node_view;

static void view_free(node_view *v)
{
    if (!v->raw) {
        pb_node_free(&v->pb);
        if (v->has_ufs)
            ufs_data_free(&v->ufs);
    }
    memset(v, 0, sizeof *v);
}

/* Loads and decodes c. is_root: a missing block is 404, else 502. need_ufs:
 * a dag-pb block must be UnixFS. */
static int load(blockstore *bs, MDB_txn *txn, const cid *c, int is_root, int need_ufs, node_view *v, int *status,
                char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    char text[CID_TEXT_MAX];
    int got = bs_get(bs, txn, c, &v->block, &v->len, err, errlen);
    if (got < 0) {
        *status = STORE_CORRUPT;
        return -1;
    }
    if (got == 0) {
        cid_format(c, text);
        return is_root ? FAIL(STORE_NOT_FOUND, "%s not found on this node", text)
                       : FAIL(STORE_CORRUPT, "block %s is missing", text);
    }
    if (c->codec == CID_CODEC_RAW) {
        v->raw = 1;
        return 0;
    }
    char why[192];
    if (pb_decode(v->block, v->len, &v->pb, why, sizeof why) != 0) {
        cid_format(c, text);
        return FAIL(STORE_CORRUPT, "block %s is not valid dag-pb: %s", text, why);
    }
    if (v->pb.has_data && ufs_decode(v->pb.data, v->pb.data_len, &v->ufs, why, sizeof why) == 0)
        v->has_ufs = 1;
    if (need_ufs && !v->has_ufs) {
        cid_format(c, text);
        pb_node_free(&v->pb);
        return FAIL(is_root ? STORE_BAD_REQUEST : STORE_CORRUPT, "%s is not UnixFS", text);
    }
    return 0;
}

static int is_file_type(int t) { return t == UFS_FILE || t == UFS_RAW; }

static void stat_of(const node_view *v, ufs_stat *st)
{
    memset(st, 0, sizeof *st);
    if (v->raw) {
        st->type = UFS_FILE;
        st->size = v->len;
        return;
    }
    st->type = v->ufs.type;
    if (is_file_type(v->ufs.type)) {
        if (v->ufs.has_filesize)
            st->size = v->ufs.filesize;
        else {
            st->size = v->ufs.has_data ? v->ufs.data_len : 0;
            for (size_t i = 0; i < v->ufs.nblocksizes; i++)
                st->size += v->ufs.blocksizes[i];
        }
        if (st->type == UFS_RAW)
            st->type = UFS_FILE;
    } else if (v->ufs.type == UFS_DIRECTORY || v->ufs.type == UFS_HAMT) {
        for (size_t i = 0; i < v->pb.nlinks; i++)
            st->size += v->pb.links[i].tsize;
        st->nentries = v->pb.nlinks;
    } else if (v->ufs.type == UFS_SYMLINK) {
        st->size = v->ufs.has_data ? v->ufs.data_len : 0;
    }
}

/* --- HAMT-sharded directories ------------------------------------------ */

/* The first 64 bits (h1) of MurmurHash3 x64 128 with seed 0: the hash
 * UnixFS shards names by (multicodec murmur3-x64-64, 0x22). */
static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

uint64_t store_murmur3_64(const void *data, size_t len);
uint64_t store_murmur3_64(const void *data, size_t len)
{
    const uint8_t *p = data;
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0, h2 = 0, k1, k2;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        k1 = k2 = 0;
        for (int b = 7; b >= 0; b--) {
            k1 = (k1 << 8) | p[16 * i + (size_t)b];
            k2 = (k2 << 8) | p[16 * i + 8 + (size_t)b];
        }
        k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
        h1 = rotl64(h1, 27), h1 += h2, h1 = h1 * 5 + 0x52dce729;
        k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
        h2 = rotl64(h2, 31), h2 += h1, h2 = h2 * 5 + 0x38495ab5;
    }
    const uint8_t *tail = p + nblocks * 16;
    size_t rest = len & 15;
    k1 = k2 = 0;
    for (size_t i = rest; i > 8; i--)
        k2 = (k2 << 8) | tail[i - 1];
    if (rest > 8)
        k2 *= c2, k2 = rotl64(k2, 33), k2 *= c1, h2 ^= k2;
    for (size_t i = rest < 8 ? rest : 8; i > 0; i--)
        k1 = (k1 << 8) | tail[i - 1];
    if (rest)
        k1 *= c1, k1 = rotl64(k1, 31), k1 *= c2, h1 ^= k1;
    h1 ^= (uint64_t)len, h2 ^= (uint64_t)len;
    h1 += h2, h2 += h1;
    h1 = fmix64(h1), h2 = fmix64(h2);
    h1 += h2;
    return h1;
}

#define HAMT_PAD 2 /* link names start with the bucket in two hex digits: fanout 256, as kubo writes */

static int hamt_bucket(const pb_link *l)
{
    if (l->name_len < HAMT_PAD)
        return -1;
    int v = 0;
    for (int i = 0; i < HAMT_PAD; i++) {
        char ch = l->name[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Finds name (n bytes) in the HAMT whose root *v is: on success *v is
 * replaced by nothing and *out set; the shard nodes on the way are loaded in
 * txn. Returns STORE_OK or a status with err. */
static int hamt_find(blockstore *bs, MDB_txn *txn, node_view *v, const char *name, size_t n, cid *out, char *err,
                     size_t errlen)
{
    int code = STORE_OK, *status = &code;
    uint64_t h = store_murmur3_64(name, n);
    char text[CID_TEXT_MAX];
    for (int depth = 0; depth < 8; depth++) {
        int want = (int)((h >> (56 - 8 * depth)) & 0xff);
        const pb_link *hit = NULL;
        for (size_t i = 0; i < v->pb.nlinks && !hit; i++) {
            int b = hamt_bucket(&v->pb.links[i]);
            if (b < 0)
                return FAIL(STORE_CORRUPT, "HAMT shard has a link named '%.*s'", (int)v->pb.links[i].name_len,
                            v->pb.links[i].name),
                       code;
            if (b == want)
                hit = &v->pb.links[i];
        }
        if (!hit)
            break;
        if (hit->name_len > HAMT_PAD) { /* an entry: the name or nothing */
            if (hit->name_len - HAMT_PAD != n || memcmp(hit->name + HAMT_PAD, name, n))
                break;
            *out = hit->target;
            return STORE_OK;
        }
        cid sub = hit->target; /* a shard below */
        view_free(v);
        if (load(bs, txn, &sub, 0, 1, v, status, err, errlen) != 0)
            return code;
        if (v->raw || v->ufs.type != UFS_HAMT) {
            cid_format(&sub, text);
            return FAIL(STORE_CORRUPT, "%s inside a HAMT is not a shard", text), code;
        }
    }
    return FAIL(STORE_NOT_FOUND, "no link named '%.*s'", (int)n, name), code;
}

/* Calls fn for every entry of the HAMT shard v (names without their bucket
 * prefix), descending into shards below. */
static int hamt_list(blockstore *bs, MDB_txn *txn, const node_view *v, int depth,
                     int (*fn)(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize),
                     void *arg, int *status, char *err, size_t errlen)
{
    if (depth > 8)
        return FAIL(STORE_CORRUPT, "HAMT deeper than its 64-bit hash");
    for (size_t i = 0; i < v->pb.nlinks; i++) {
        const pb_link *l = &v->pb.links[i];
        if (hamt_bucket(l) < 0)
            return FAIL(STORE_CORRUPT, "HAMT shard has a link named '%.*s'", (int)l->name_len, l->name);
        int rc;
        if (l->name_len > HAMT_PAD) {
            rc = fn(arg, l->name + HAMT_PAD, l->name_len - HAMT_PAD, &l->target, l->tsize);
        } else {
            node_view sub;
            if (load(bs, txn, &l->target, 0, 1, &sub, status, err, errlen) != 0)
                return -1;
            if (sub.raw || sub.ufs.type != UFS_HAMT) {
                char text[CID_TEXT_MAX];
                cid_format(&l->target, text);
                view_free(&sub);
                return FAIL(STORE_CORRUPT, "%s inside a HAMT is not a shard", text);
            }
            rc = hamt_list(bs, txn, &sub, depth + 1, fn, arg, status, err, errlen);
            view_free(&sub);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

enum store_status ufs_resolve(blockstore *bs, MDB_txn *txn, const cid *root, const char *path, cid *out, ufs_stat *st, char *err,
                size_t errlen)
{
    int code = STORE_OK, *status = &code;
    int own = !txn;
    if (own && !(txn = bs_begin(bs, 0, err, errlen)))
        return STORE_ERROR;
    node_view v;
    cid at = *root;
    char text[CID_TEXT_MAX];
    const char *p = path ? path : "";
    if (load(bs, txn, &at, 1, 0, &v, status, err, errlen) != 0)
        goto done;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        cid_format(&at, text);
        if (v.raw || !v.has_ufs || (v.ufs.type != UFS_DIRECTORY && v.ufs.type != UFS_HAMT)) {
            view_free(&v);
            FAIL(STORE_NOT_FOUND, "no link named '%.*s' under %s: it is not a directory", (int)n, p, text);
            goto done;
        }
        if (v.ufs.type == UFS_HAMT) {
            int rc = hamt_find(bs, txn, &v, p, n, &at, err, errlen);
            view_free(&v);
            if (rc != STORE_OK) {
                if (rc == STORE_NOT_FOUND)
                    FAIL(STORE_NOT_FOUND, "no link named '%.*s' under %s", (int)n, p, text);
                code = rc;
                goto done;
            }
            if (load(bs, txn, &at, 0, 0, &v, status, err, errlen) != 0)
                goto done;
            p += n;
            continue;
        }
        size_t i;
        for (i = 0; i < v.pb.nlinks; i++)
            if (v.pb.links[i].name_len == n && !memcmp(v.pb.links[i].name, p, n))
                break;
        if (i == v.pb.nlinks) {
            view_free(&v);
            FAIL(STORE_NOT_FOUND, "no link named '%.*s' under %s", (int)n, p, text);
            goto done;
        }
        at = v.pb.links[i].target;
        view_free(&v);
        if (load(bs, txn, &at, 0, 0, &v, status, err, errlen) != 0)
            goto done;
        p += n;
    }
    if (!v.raw && !v.has_ufs) {
        if (path && *path) { /* a dag-pb node reached by a path must be UnixFS to be served */
            cid_format(&at, text);
            view_free(&v);
            FAIL(STORE_CORRUPT, "%s is not UnixFS", text);
            goto done;
        }
        if (st) {
            memset(st, 0, sizeof *st);
            st->type = -1; /* dag-pb, not UnixFS: only its blocks can be served */
        }
    } else if (st)
        stat_of(&v, st);
    *out = at;
    view_free(&v);
done:
    if (own)
        mdb_txn_abort(txn);
    return code;
}

int ufs_list(blockstore *bs, MDB_txn *txn, const cid *dir,
             int (*fn)(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize), void *arg,
             char *err, size_t errlen)
{
    int code = 0, *status = &code;
    int own = !txn;
    if (own && !(txn = bs_begin(bs, 0, err, errlen)))
        return -1;
    node_view v;
    int rc = -1;
    if (load(bs, txn, dir, 1, 1, &v, status, err, errlen) == 0) {
        char text[CID_TEXT_MAX];
        cid_format(dir, text);
        if (!v.raw && v.ufs.type == UFS_HAMT) {
            rc = hamt_list(bs, txn, &v, 0, fn, arg, status, err, errlen);
        } else if (v.raw || v.ufs.type != UFS_DIRECTORY) {
            FAIL(STORE_BAD_REQUEST, "%s is not a directory", text);
        } else {
            rc = 0;
            for (size_t i = 0; i < v.pb.nlinks && rc == 0; i++)
                rc = fn(arg, v.pb.links[i].name ? v.pb.links[i].name : "", v.pb.links[i].name_len,
                        &v.pb.links[i].target, v.pb.links[i].tsize);
        }
        view_free(&v);
    }
    if (own)
        mdb_txn_abort(txn);
    return rc;
}

/* --- file ranges -------------------------------------------------------- */

/* An inner node of the file: its children and the bytes each holds. */
typedef struct {
    cid id;
    uint64_t start, size; /* the file bytes under it */
    uint64_t data_len;    /* its own Data bytes, before the children's */
    size_t n;
    cid *kids;
    uint64_t *sizes;
} level;

struct ufs_reader {
    blockstore *bs;
    cid root;
    uint64_t pos, end;
    level *stack;
    size_t depth, cap;
    uint8_t *leaf; /* the bytes [leaf_start, leaf_start + leaf_len) of the file */
    size_t leaf_len, leaf_cap;
    uint64_t leaf_start;
    int have_leaf;
};

static void pop(ufs_reader *r)
{
    level *l = &r->stack[--r->depth];
    free(l->kids);
    free(l->sizes);
}

static int set_leaf(ufs_reader *r, const uint8_t *p, size_t len, uint64_t start)
{
    if (len > r->leaf_cap) {
        uint8_t *b = realloc(r->leaf, len);
        if (!b)
            return -1;
        r->leaf = b, r->leaf_cap = len;
    }
    if (len)
        memcpy(r->leaf, p, len);
    r->leaf_len = len, r->leaf_start = start, r->have_leaf = 1;
    return 0;
}

/* Takes in the block c, which holds the file bytes from start (expect of
 * them; UINT64_MAX: unknown, the root). A leaf becomes the current leaf, an
 * inner node a new level. */
static int take(ufs_reader *r, MDB_txn *txn, const cid *c, uint64_t start, uint64_t expect, int *status, char *err,
                size_t errlen)
{
    int is_root = expect == UINT64_MAX;
    node_view v;
    if (load(r->bs, txn, c, is_root, 1, &v, status, err, errlen) != 0)
        return -1;
    char text[CID_TEXT_MAX];
    cid_format(c, text);
    int rc = 0;
    if (v.raw) {
        if (!is_root && v.len != expect)
            rc = FAIL(STORE_CORRUPT, "block %s holds %zu bytes where its parent says %llu", text, v.len,
                      (unsigned long long)expect);
        else if (set_leaf(r, v.block, v.len, start) != 0)
            rc = FAIL(STORE_ERROR, "out of memory");
        view_free(&v);
        return rc;
    }
    if (!is_file_type(v.ufs.type)) {
        rc = is_root ? FAIL(STORE_BAD_REQUEST, "%s is not a file (UnixFS type %d)", text, v.ufs.type)
                     : FAIL(STORE_CORRUPT, "block %s inside a file is not a file node (UnixFS type %d)", text,
                            v.ufs.type);
        view_free(&v);
        return rc;
    }
    uint64_t data_len = v.ufs.has_data ? v.ufs.data_len : 0, total = data_len;
    if (v.ufs.nblocksizes != v.pb.nlinks) {
        view_free(&v);
        return FAIL(STORE_CORRUPT, "file node %s has %zu links but %zu blocksizes", text, v.pb.nlinks,
                    v.ufs.nblocksizes);
    }
    for (size_t i = 0; i < v.ufs.nblocksizes; i++)
        total += v.ufs.blocksizes[i];
    if ((!is_root && total != expect) || (v.ufs.has_filesize && v.ufs.filesize != total)) {
        view_free(&v);
        return FAIL(STORE_CORRUPT, "file node %s: its sizes do not add up", text);
    }
    if (v.pb.nlinks == 0) {
        rc = set_leaf(r, v.ufs.data, data_len, start) != 0 ? FAIL(STORE_ERROR, "out of memory") : 0;
        view_free(&v);
        return rc;
    }
    if (r->depth == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        level *s = realloc(r->stack, cap * sizeof *s);
        if (!s) {
            view_free(&v);
            return FAIL(STORE_ERROR, "out of memory");
        }
        r->stack = s, r->cap = cap;
    }
    level *l = &r->stack[r->depth];
    l->id = *c, l->start = start, l->size = total, l->data_len = data_len, l->n = v.pb.nlinks;
    l->kids = malloc(l->n * sizeof *l->kids);
    l->sizes = malloc(l->n * sizeof *l->sizes);
    if (!l->kids || !l->sizes) {
        free(l->kids);
        free(l->sizes);
        view_free(&v);
        return FAIL(STORE_ERROR, "out of memory");
    }
    for (size_t i = 0; i < l->n; i++)
        l->kids[i] = v.pb.links[i].target, l->sizes[i] = v.ufs.blocksizes[i];
    r->depth++;
    view_free(&v);
    return 0;
}

/* One block in a short read transaction of its own. */
static int take_one(ufs_reader *r, const cid *c, uint64_t start, uint64_t expect, int *status, char *err,
                    size_t errlen)
{
    MDB_txn *txn = bs_begin(r->bs, 0, err, errlen);
    if (!txn) {
        *status = STORE_ERROR;
        return -1;
    }
    int rc = take(r, txn, c, start, expect, status, err, errlen);
    mdb_txn_abort(txn);
    return rc;
}

/* Makes the leaf holding r->pos current: up the stack to the level that
 * holds it, then down. */
static int locate(ufs_reader *r, int *status, char *err, size_t errlen)
{
    uint64_t pos = r->pos;
    r->have_leaf = 0;
    while (r->depth && !(pos >= r->stack[r->depth - 1].start && pos - r->stack[r->depth - 1].start <
                                                                     r->stack[r->depth - 1].size))
        pop(r);
    if (!r->depth) {
        if (take_one(r, &r->root, 0, UINT64_MAX, status, err, errlen) != 0)
            return -1;
        if (r->have_leaf)
            return 0;
    }
    for (;;) {
        level *l = &r->stack[r->depth - 1];
        uint64_t off = l->start;
        if (pos < off + l->data_len) { /* the node's own Data: rare, kubo writes none in inner nodes */
            cid self = l->id;
            MDB_txn *txn = bs_begin(r->bs, 0, err, errlen);
            node_view v;
            if (!txn) {
                *status = STORE_ERROR;
                return -1;
            }
            int rc = load(r->bs, txn, &self, 0, 1, &v, status, err, errlen);
            if (rc == 0) {
                if (v.ufs.data_len != l->data_len)
                    rc = FAIL(STORE_CORRUPT, "file node changed under its reader");
                else if (set_leaf(r, v.ufs.data, v.ufs.data_len, off) != 0)
                    rc = FAIL(STORE_ERROR, "out of memory");
                view_free(&v);
            }
            mdb_txn_abort(txn);
            return rc;
        }
        off += l->data_len;
        size_t i = 0;
        while (i < l->n && pos - off >= l->sizes[i])
            off += l->sizes[i++];
        if (i == l->n)
            return FAIL(STORE_CORRUPT, "file offset %llu is past the end of its node", (unsigned long long)pos);
        cid kid = l->kids[i];
        if (take_one(r, &kid, off, l->sizes[i], status, err, errlen) != 0)
            return -1;
        if (r->have_leaf)
            return 0;
    }
}

enum store_status ufs_reader_open(blockstore *bs, const cid *file, uint64_t offset, uint64_t length, ufs_reader **out,
                                  char *err, size_t errlen)
{
    int code = STORE_OK, *status = &code;
    *out = NULL;
    ufs_reader *r = calloc(1, sizeof *r);
    if (!r)
        return FAIL(STORE_ERROR, "out of memory"), code;
    r->bs = bs, r->root = *file;
    /* the root: its size, and whether it is a file at all */
    if (take_one(r, file, 0, UINT64_MAX, status, err, errlen) != 0) {
        ufs_reader_free(r);
        return code == STORE_OK ? STORE_ERROR : code;
    }
    uint64_t size = r->depth ? r->stack[0].size : r->leaf_len;
    r->pos = offset < size ? offset : size;
    r->end = length > size - r->pos ? size : r->pos + length;
    *out = r;
    return STORE_OK;
}

enum store_status ufs_reader_read(ufs_reader *r, void *buf, size_t cap, size_t *got, char *err, size_t errlen)
{
    int code = STORE_OK, *status = &code;
    *got = 0;
    while (*got < cap && r->pos < r->end) {
        if (!r->have_leaf || r->pos < r->leaf_start || r->pos - r->leaf_start >= r->leaf_len)
            if (locate(r, status, err, errlen) != 0)
                return code == STORE_OK ? STORE_ERROR : code;
        uint64_t in = r->pos - r->leaf_start, n = r->leaf_len - in;
        if (n > cap - *got)
            n = cap - *got;
        if (n > r->end - r->pos)
            n = r->end - r->pos;
        memcpy((uint8_t *)buf + *got, r->leaf + in, n);
        *got += n;
        r->pos += n;
    }
    return STORE_OK;
}

void ufs_reader_free(ufs_reader *r)
{
    if (!r)
        return;
    while (r->depth)
        pop(r);
    free(r->stack);
    free(r->leaf);
    free(r);
}

/* --- DAG walks ---------------------------------------------------------- */

struct dag_iter {
    blockstore *bs;
    cid root;
    cid *todo;
    size_t n, cap;
    mhset seen;
};

dag_iter *dag_iter_new(blockstore *bs, const cid *root)
{
    dag_iter *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->bs = bs, it->root = *root;
    mhset_init(&it->seen);
    it->todo = malloc(16 * sizeof *it->todo);
    if (!it->todo) {
        free(it);
        return NULL;
    }
    it->cap = 16, it->n = 1, it->todo[0] = *root;
    return it;
}

enum store_status dag_iter_next(dag_iter *it, cid *c, uint8_t **block, size_t *len, char *err, size_t errlen)
{
    int code = STORE_OK, *status = &code;
    *block = NULL;
    for (;;) {
        if (!it->n)
            return STORE_OK;
        cid at = it->todo[--it->n];
        int added = mhset_add(&it->seen, at.digest);
        if (added < 0)
            return FAIL(STORE_ERROR, "out of memory"), code;
        if (!added)
            continue;
        MDB_txn *txn = bs_begin(it->bs, 0, err, errlen);
        if (!txn)
            return STORE_ERROR;
        node_view v;
        int is_root = cid_equal(&at, &it->root) && it->seen.n == 1;
        if (load(it->bs, txn, &at, is_root, 0, &v, status, err, errlen) != 0) {
            mdb_txn_abort(txn);
            return code == STORE_OK ? STORE_ERROR : code;
        }
        int rc = 0;
        uint8_t *copy = malloc(v.len ? v.len : 1);
        if (!copy)
            rc = FAIL(STORE_ERROR, "out of memory");
        else
            memcpy(copy, v.block, v.len);
        if (rc == 0 && !v.raw && it->n + v.pb.nlinks > it->cap) {
            size_t cap = it->cap;
            while (cap < it->n + v.pb.nlinks)
                cap *= 2;
            cid *t = realloc(it->todo, cap * sizeof *t);
            if (!t)
                rc = FAIL(STORE_ERROR, "out of memory");
            else
                it->todo = t, it->cap = cap;
        }
        if (rc == 0 && !v.raw) /* reversed, so the first link comes out first */
            for (size_t i = v.pb.nlinks; i-- > 0;)
                it->todo[it->n++] = v.pb.links[i].target;
        size_t blen = v.len;
        view_free(&v);
        mdb_txn_abort(txn);
        if (rc != 0) {
            free(copy);
            return code;
        }
        *c = at, *block = copy, *len = blen;
        return STORE_OK;
    }
}

void dag_iter_free(dag_iter *it)
{
    if (!it)
        return;
    mhset_free(&it->seen);
    free(it->todo);
    free(it);
}

char *ufs_read_file(blockstore *bs, const cid *root, const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    cid file;
    ufs_stat st;
    if (ufs_resolve(bs, NULL, root, path, &file, &st, err, errlen) != STORE_OK)
        return NULL;
    if (st.type != UFS_FILE) {
        snprintf(err, errlen, "%s is not a file", path);
        return NULL;
    }
    if (st.size > max) {
        snprintf(err, errlen, "%s has %llu bytes, more than the %zu that may be read at once", path,
                 (unsigned long long)st.size, max);
        return NULL;
    }
    ufs_reader *r;
    if (ufs_reader_open(bs, &file, 0, st.size, &r, err, errlen) != STORE_OK)
        return NULL;
    char *data = malloc(st.size + 1);
    if (!data) {
        ufs_reader_free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t got = 0, k = 0;
    int rc = STORE_OK;
    while (got < st.size && (rc = ufs_reader_read(r, data + got, st.size - got, &k, err, errlen)) == STORE_OK && k)
        got += k;
    ufs_reader_free(r);
    if (got != st.size) {
        free(data);
        if (rc == STORE_OK)
            snprintf(err, errlen, "%s ended early", path);
        return NULL;
    }
    data[got] = '\0';
    *len = got;
    return data;
}

const char *store_strerror(enum store_status status)
{
    switch (status) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_BAD_REQUEST: return "bad request";
    case STORE_CORRUPT: return "incomplete or corrupt DAG";
    case STORE_ERROR: break;
    }
    return "store error";
}
