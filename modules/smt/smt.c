/*
 * smt.c: the tree's store in LMDB (smt.h).
 *
 * RECORDS. A record holds four levels of the binary tree: the node at depth
 * 4D named by a key's first 4D bits ("nibble depth" D, 0..39), its 14
 * descendants at depths 4D+1..4D+3 (heap order 2..15), and 16 slots at
 * depth 4D+4 (heap order 16..31, slot s = the key's nibble D). A slot is
 * empty, a leaf (its key, the version of its leaf record, its leaf hash:
 * the leaf sits in the topmost slot where it is alone), or a child record
 * at nibble depth D+1 (its version and its hash). A record other than the
 * root holds two leaves or more, so a leaf moving up leaves no record
 * behind; chains of records with one child are how keys with long common
 * prefixes look.
 *   nodes  key  tree(20) | version(8, big-endian) | D(1) | first 4D bits
 *               of the path, zero-padded to 20 bytes         (49 bytes)
 *          val  present(2) | leaves(2) (bit 15 - s: slot s), then per
 *               present slot: version (a varint: 7 bits a byte, low
 *               first, 1 to 10 bytes) hash(32) [key(20) for a leaf],
 *               then the hash of every descendant at levels 1 and 2
 *               (heap order) that holds two leaves or more: the untouched
 *               ones are never hashed again, and a proof reads its
 *               siblings from the records on its path. Level 3's are one
 *               hash of two slots away: hashed again when needed (one hash
 *               a touched pair, one a proof's record) rather than stored
 *               (up to 256 bytes a record)
 *          leaf records: tree | version | 0xff | key -> the value
 *   latest 0 | tree | key -> the newest value merged so far (the base), and
 *          1 | tree | key -> 1 | the value, or 0 (deleted): the changes of
 *          the commits since the last merge (the recent part), read first.
 *          A commit writes only the recent part: with keys spread at random
 *          over a million accounts, nearly every update would dirty a page
 *          of its own in the base, about 4 KB a commit writes and syncs; the
 *          recent part is a few pages while it is small, and smt_prune
 *          merges it into the base in key order, many versions' changes to
 *          a page at once (tests/bench/smt.sh at 1e6 accounts, batches
 *          of 10,000, merged every 20 versions: 5.4 KB written per update
 *          before, 2.8 KB with this and the smaller records)
 *   stale  tree | version that made them stale | chunk(4) -> up to
 *          STALE_CHUNK node keys from their version on (version, D or
 *          0xff, path: 29 bytes each, sorted): one write per chunk, and
 *          pruning frees a chunk at a time
 *   roots  tree | version -> root hash(32) | the root record's version(8)
 *          (0: the empty tree); tree | 0 -> newest version(8) | versions
 *          up to this one are pruned, checkpoints aside(8)
 * A commit writes its records under its own version, in key order, with
 * MDB_APPEND while its keys are the DBI's last ones (one tree writing:
 * always): a child is referenced by its version, so a read of a version's
 * path is one lookup per four levels.
 */
#include "errbuf.h"
#include "smt.h"
#include "smt_internal.h"

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#define NIBBLES (SMT_DEPTH_MAX / 4)
#define TAG_LEAF 0xff
#define NODE_KEY_LEN (SMT_KEY_BYTES + 8 + 1 + SMT_KEY_BYTES)
#define STALE_KEY_LEN (SMT_KEY_BYTES + 8 + 4)
#define STALE_ENTRY (8 + 1 + SMT_KEY_BYTES)
#define STALE_CHUNK 256
#define LATEST_KEY_LEN (1 + 2 * SMT_KEY_BYTES)
#define LATEST_BASE 0
#define LATEST_RECENT 1
#define MERGE_CHUNK 256
#define RECORD_MAX (4 + 16 * (10 + SMT_HASH_BYTES + SMT_KEY_BYTES) + 6 * SMT_HASH_BYTES)

struct smt_store {
    MDB_env *env;
    MDB_dbi nodes, latest, stale, roots;
    uint64_t checkpoint_every;
};

enum { T_EMPTY = 0, T_LEAF = 1, T_INNER = 2 };

typedef struct {
    uint8_t type;
    uint64_t version; /* a leaf's record, or a child record */
    uint8_t hash[SMT_HASH_BYTES];
    uint8_t key[SMT_KEY_BYTES]; /* a leaf's */
} slot;

/* A record in memory: node i of the heap (1..31) has type[i] and hash[i];
 * nodes 16..31 are the slots. */
typedef struct {
    slot s[16];
    uint8_t type[32];
    uint8_t hash[32][SMT_HASH_BYTES];
    int8_t leaf_slot[32]; /* for a node of type leaf: its slot */
    uint8_t level3_known; /* bit i - 8: hash[i] of the inner node i (8..15) is
                             computed (records do not keep them) */
} record;

static const uint8_t zero_hash[SMT_HASH_BYTES];

/* a status other than -1, with its reason */
#define FAIL(status, ...) (errbuf_set(err, errlen, __VA_ARGS__), (status))

/* --- small helpers
 * --------------------------------------------------------------- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A version in a record: 7 bits a byte, low first, the high bit set on
 * every byte but the last (a pulse-a-second tree takes 3 bytes for its
 * first 24 days, 4 for 8 years, instead of 8). */
static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* 0 when in[0..len) does not hold a whole varint of at most 64 bits */
static size_t get_varint(const uint8_t *in, size_t len, uint64_t *v)
{
    *v = 0;
    for (size_t n = 0; n < len && n < 10; n++) {
        if (n == 9 && in[n] > 1)
            return 0;
        *v |= (uint64_t)(in[n] & 0x7f) << (7 * n);
        if (!(in[n] & 0x80))
            return n + 1;
    }
    return 0;
}

static unsigned nibble(const uint8_t *key, unsigned d) { return d % 2 ? key[d / 2] & 0x0f : key[d / 2] >> 4; }

/* The record path of nibble depth d: key's first 4d bits, zero-padded. */
static void path_of(uint8_t out[SMT_KEY_BYTES], const uint8_t *key, unsigned d)
{
    memset(out, 0, SMT_KEY_BYTES);
    memcpy(out, key, d / 2);
    if (d % 2)
        out[d / 2] = key[d / 2] & 0xf0;
}

static void node_key(uint8_t out[NODE_KEY_LEN], const uint8_t tree[SMT_KEY_BYTES], uint64_t version, uint8_t tag,
                     const uint8_t *key)
{
    memcpy(out, tree, SMT_KEY_BYTES);
    put_u64(out + SMT_KEY_BYTES, version);
    out[SMT_KEY_BYTES + 8] = tag;
    if (tag == TAG_LEAF)
        memcpy(out + SMT_KEY_BYTES + 9, key, SMT_KEY_BYTES);
    else
        path_of(out + SMT_KEY_BYTES + 9, key, tag);
}

static int lmdb_err(char *err, size_t errlen, const char *what, int rc)
{
    return ERR("smt: %s: %s", what, mdb_strerror(rc));
}

/* --- the latest values
 * ---------------------------------------------------------------- */

static void latest_key(uint8_t out[LATEST_KEY_LEN], uint8_t part, const uint8_t tree[SMT_KEY_BYTES],
                       const uint8_t *key)
{
    out[0] = part;
    memcpy(out + 1, tree, SMT_KEY_BYTES);
    if (key)
        memcpy(out + 1 + SMT_KEY_BYTES, key, SMT_KEY_BYTES);
}

/* key's newest value: the recent part first (a change not merged yet, or
 * its deletion), then the base. SMT_OK, SMT_NOT_FOUND, SMT_ERROR. */
static enum smt_status latest_get(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES],
                                  const uint8_t key[SMT_KEY_BYTES], const uint8_t **value, size_t *len, char *err,
                                  size_t errlen)
{
    uint8_t k[LATEST_KEY_LEN];
    latest_key(k, LATEST_RECENT, tree, key);
    MDB_val mk = {sizeof k, k}, mv;
    int rc = mdb_get(txn, s->latest, &mk, &mv);
    if (rc == 0) {
        const uint8_t *v = mv.mv_data;
        if (mv.mv_size < 1 || v[0] > 1)
            return FAIL(SMT_ERROR, "smt: a corrupt latest value");
        if (v[0] == 0)
            return FAIL(SMT_NOT_FOUND, "smt: no such key");
        *value = v + 1;
        *len = mv.mv_size - 1;
        return SMT_OK;
    }
    if (rc != MDB_NOTFOUND)
        return (enum smt_status)lmdb_err(err, errlen, "reading a value", rc);
    k[0] = LATEST_BASE;
    rc = mdb_get(txn, s->latest, &mk, &mv);
    if (rc == MDB_NOTFOUND)
        return FAIL(SMT_NOT_FOUND, "smt: no such key");
    if (rc)
        return (enum smt_status)lmdb_err(err, errlen, "reading a value", rc);
    *value = mv.mv_data;
    *len = mv.mv_size;
    return SMT_OK;
}

/* --- records
 * ---------------------------------------------------------------------- */

/* Types (and the hashes of leaf and empty nodes) of nodes 15..1 from the
 * slots; hashes of inner nodes are left as they are. */
static void record_types(record *r)
{
    for (int i = 0; i < 16; i++) {
        r->type[16 + i] = r->s[i].type;
        r->leaf_slot[16 + i] = (int8_t)i;
        memcpy(r->hash[16 + i], r->s[i].hash, SMT_HASH_BYTES);
    }
    for (int i = 15; i >= 1; i--) {
        uint8_t l = r->type[2 * i], rt = r->type[2 * i + 1];
        if (l == T_EMPTY && rt == T_EMPTY) {
            r->type[i] = T_EMPTY;
        } else if (l == T_EMPTY && rt == T_LEAF) {
            r->type[i] = T_LEAF;
            r->leaf_slot[i] = r->leaf_slot[2 * i + 1];
            memcpy(r->hash[i], r->hash[2 * i + 1], SMT_HASH_BYTES);
        } else if (l == T_LEAF && rt == T_EMPTY) {
            r->type[i] = T_LEAF;
            r->leaf_slot[i] = r->leaf_slot[2 * i];
            memcpy(r->hash[i], r->hash[2 * i], SMT_HASH_BYTES);
        } else {
            r->type[i] = T_INNER;
        }
    }
}

/* The hash of node i: an inner node just above the slots is hashed from
 * them the first time it is asked for. */
static const uint8_t *hash_of(record *r, int i)
{
    if (r->type[i] == T_EMPTY)
        return zero_hash;
    if (i >= 8 && i < 16 && r->type[i] == T_INNER && !(r->level3_known >> (i - 8) & 1)) {
        smt_node_hash(r->hash[i], hash_of(r, 2 * i), hash_of(r, 2 * i + 1));
        r->level3_known |= (uint8_t)(1u << (i - 8));
    }
    return r->hash[i];
}

/* Hashes the inner nodes above the slots in dirty (bit s: slot s). */
static void record_rehash(record *r, unsigned dirty)
{
    unsigned level = dirty;
    for (int width = 8; width >= 1; width /= 2) {
        unsigned up = 0;
        for (int j = 0; j < width; j++)
            if (level >> (2 * j) & 3)
                up |= 1u << j;
        for (int j = 0; j < width; j++) {
            int i = width + j;
            if (!(up >> j & 1) || r->type[i] != T_INNER)
                continue;
            smt_node_hash(r->hash[i], hash_of(r, 2 * i), hash_of(r, 2 * i + 1));
            if (width == 8)
                r->level3_known |= (uint8_t)(1u << j);
        }
        level = up;
    }
}

static size_t record_encode(const record *r, uint8_t *out)
{
    unsigned present = 0, leaves = 0;
    size_t at = 4;
    for (int s = 0; s < 16; s++) {
        if (r->s[s].type == T_EMPTY)
            continue;
        present |= 0x8000u >> s;
        at += put_varint(out + at, r->s[s].version);
        memcpy(out + at, r->s[s].hash, SMT_HASH_BYTES);
        at += SMT_HASH_BYTES;
        if (r->s[s].type == T_LEAF) {
            leaves |= 0x8000u >> s;
            memcpy(out + at, r->s[s].key, SMT_KEY_BYTES);
            at += SMT_KEY_BYTES;
        }
    }
    out[0] = (uint8_t)(present >> 8);
    out[1] = (uint8_t)present;
    out[2] = (uint8_t)(leaves >> 8);
    out[3] = (uint8_t)leaves;
    for (int i = 2; i < 8; i++)
        if (r->type[i] == T_INNER) {
            memcpy(out + at, r->hash[i], SMT_HASH_BYTES);
            at += SMT_HASH_BYTES;
        }
    return at;
}

static int record_decode(record *r, const uint8_t *in, size_t len)
{
    if (len < 4)
        return -1;
    unsigned present = (unsigned)in[0] << 8 | in[1], leaves = (unsigned)in[2] << 8 | in[3];
    if ((leaves & ~present) || !present)
        return -1;
    size_t at = 4;
    for (int s = 0; s < 16; s++) {
        slot *x = &r->s[s];
        if (!(present & (0x8000u >> s))) {
            x->type = T_EMPTY;
            memset(x->hash, 0, SMT_HASH_BYTES);
            continue;
        }
        int leaf = (leaves & (0x8000u >> s)) != 0;
        size_t vn = get_varint(in + at, len - at, &x->version);
        if (vn == 0 || len - at - vn < SMT_HASH_BYTES + (leaf ? SMT_KEY_BYTES : 0))
            return -1;
        at += vn;
        x->type = leaf ? T_LEAF : T_INNER;
        memcpy(x->hash, in + at, SMT_HASH_BYTES);
        at += SMT_HASH_BYTES;
        if (leaf) {
            memcpy(x->key, in + at, SMT_KEY_BYTES);
            at += SMT_KEY_BYTES;
        }
    }
    record_types(r);
    r->level3_known = 0;
    for (int i = 2; i < 8; i++)
        if (r->type[i] == T_INNER) {
            if (len - at < SMT_HASH_BYTES)
                return -1;
            memcpy(r->hash[i], in + at, SMT_HASH_BYTES);
            at += SMT_HASH_BYTES;
        }
    return at == len ? 0 : -1;
}

/* The record of tree at (version, d, key's path): SMT_OK, SMT_PRUNED when it
 * is gone, SMT_ERROR. */
static enum smt_status record_load(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                                   unsigned d, const uint8_t *key, record *r, char *err, size_t errlen)
{
    uint8_t k[NODE_KEY_LEN];
    node_key(k, tree, version, (uint8_t)d, key);
    MDB_val mk = {sizeof k, k}, mv;
    int rc = mdb_get(txn, s->nodes, &mk, &mv);
    if (rc == MDB_NOTFOUND)
        return FAIL(SMT_PRUNED, "smt: a record of version %llu is missing", (unsigned long long)version);
    if (rc)
        return (enum smt_status)lmdb_err(err, errlen, "reading a record", rc);
    if (record_decode(r, mv.mv_data, mv.mv_size) != 0)
        return FAIL(SMT_ERROR, "smt: a corrupt record at version %llu depth %u", (unsigned long long)version, 4 * d);
    return SMT_OK;
}

/* --- opening
 * ------------------------------------------------------------------------ */

int smt_open(smt_store **out, MDB_env *env, char *err, size_t errlen)
{
    smt_store *s = calloc(1, sizeof *s);
    if (!s)
        return ERR("smt: out of memory");
    s->env = env;
    s->checkpoint_every = SMT_CHECKPOINT_EVERY;
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc) {
        free(s);
        return lmdb_err(err, errlen, "opening the store", rc);
    }
    if ((rc = mdb_dbi_open(txn, "smt_nodes", MDB_CREATE, &s->nodes)) ||
        (rc = mdb_dbi_open(txn, "smt_latest", MDB_CREATE, &s->latest)) ||
        (rc = mdb_dbi_open(txn, "smt_stale", MDB_CREATE, &s->stale)) ||
        (rc = mdb_dbi_open(txn, "smt_roots", MDB_CREATE, &s->roots))) {
        mdb_txn_abort(txn);
        free(s);
        return lmdb_err(err, errlen, "opening the store's databases", rc);
    }
    if ((rc = mdb_txn_commit(txn))) { /* the transaction is gone either way */
        free(s);
        return lmdb_err(err, errlen, "opening the store's databases", rc);
    }
    *out = s;
    return 0;
}

void smt_close(smt_store *s) { free(s); }

void smt_set_checkpoint_every(smt_store *s, uint64_t every) { s->checkpoint_every = every ? every : 1; }

/* --- versions
 * ----------------------------------------------------------------------- */

typedef struct {
    uint64_t latest, pruned_upto;
} tree_meta;

static int meta_get(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], tree_meta *m, char *err,
                    size_t errlen)
{
    uint8_t k[SMT_KEY_BYTES + 8];
    memcpy(k, tree, SMT_KEY_BYTES);
    put_u64(k + SMT_KEY_BYTES, 0);
    MDB_val mk = {sizeof k, k}, mv;
    memset(m, 0, sizeof *m);
    int rc = mdb_get(txn, s->roots, &mk, &mv);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return lmdb_err(err, errlen, "reading a tree's versions", rc);
    if (mv.mv_size != 16)
        return ERR("smt: a corrupt version record");
    m->latest = get_u64(mv.mv_data);
    m->pruned_upto = get_u64((const uint8_t *)mv.mv_data + 8);
    return 0;
}

static int meta_put(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], const tree_meta *m, char *err,
                    size_t errlen)
{
    uint8_t k[SMT_KEY_BYTES + 8], v[16];
    memcpy(k, tree, SMT_KEY_BYTES);
    put_u64(k + SMT_KEY_BYTES, 0);
    put_u64(v, m->latest);
    put_u64(v + 8, m->pruned_upto);
    MDB_val mk = {sizeof k, k}, mv = {sizeof v, v};
    int rc = mdb_put(txn, s->roots, &mk, &mv, 0);
    return rc ? lmdb_err(err, errlen, "writing a tree's versions", rc) : 0;
}

uint64_t smt_latest(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES])
{
    tree_meta m;
    char err[8];
    return meta_get(s, txn, tree, &m, err, sizeof err) == 0 ? m.latest : 0;
}

/* The root hash and root record version of a version at or before the
 * newest. */
static int root_get(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                    uint8_t root[SMT_HASH_BYTES], uint64_t *root_version, char *err, size_t errlen)
{
    if (version == 0) {
        memset(root, 0, SMT_HASH_BYTES);
        *root_version = 0;
        return 0;
    }
    uint8_t k[SMT_KEY_BYTES + 8];
    memcpy(k, tree, SMT_KEY_BYTES);
    put_u64(k + SMT_KEY_BYTES, version);
    MDB_val mk = {sizeof k, k}, mv;
    int rc = mdb_get(txn, s->roots, &mk, &mv);
    if (rc)
        return lmdb_err(err, errlen, "reading a root", rc);
    if (mv.mv_size != SMT_HASH_BYTES + 8)
        return ERR("smt: a corrupt root record");
    memcpy(root, mv.mv_data, SMT_HASH_BYTES);
    *root_version = get_u64((const uint8_t *)mv.mv_data + SMT_HASH_BYTES);
    return 0;
}

/* Which version a read means, and whether it can be read. */
static enum smt_status resolve_version(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t *version,
                                       tree_meta *m, char *err, size_t errlen)
{
    if (meta_get(s, txn, tree, m, err, errlen) != 0)
        return SMT_ERROR;
    if (*version == SMT_LATEST)
        *version = m->latest;
    if (*version > m->latest)
        return FAIL(SMT_NOT_FOUND, "smt: no version %llu (the newest is %llu)", (unsigned long long)*version,
                    (unsigned long long)m->latest);
    if (*version != 0 && *version <= m->pruned_upto && *version % s->checkpoint_every != 0)
        return FAIL(SMT_PRUNED, "smt: version %llu was pruned", (unsigned long long)*version);
    return SMT_OK;
}

enum smt_status smt_root(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                         uint8_t root[SMT_HASH_BYTES], char *err, size_t errlen)
{
    tree_meta m;
    uint64_t root_version;
    if (version == 0) {
        memset(root, 0, SMT_HASH_BYTES);
        return SMT_OK;
    }
    if (meta_get(s, txn, tree, &m, err, errlen) != 0)
        return SMT_ERROR;
    if (version == SMT_LATEST)
        version = m.latest;
    if (version > m.latest)
        return FAIL(SMT_NOT_FOUND, "smt: no version %llu (the newest is %llu)", (unsigned long long)version,
                    (unsigned long long)m.latest);
    return root_get(s, txn, tree, version, root, &root_version, err, errlen) == 0 ? SMT_OK : SMT_ERROR;
}

/* --- reading a version
 * --------------------------------------------------------------- */

/* Walks key's path at a version: fills p (when non-NULL) and the leaf the
 * path ends in (*leaf_type T_EMPTY or T_LEAF, *leaf its slot). */
static enum smt_status walk(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                            const uint8_t key[SMT_KEY_BYTES], smt_proof *p, slot *leaf, char *err, size_t errlen)
{
    uint8_t root[SMT_HASH_BYTES];
    uint64_t rv;
    if (p)
        memset(p, 0, sizeof *p);
    leaf->type = T_EMPTY;
    if (root_get(s, txn, tree, version, root, &rv, err, errlen) != 0)
        return SMT_ERROR;
    if (rv == 0)
        return SMT_OK;
    record r;
    uint64_t rec_version = rv;
    for (unsigned d = 0; d < NIBBLES; d++) {
        enum smt_status st = record_load(s, txn, tree, rec_version, d, key, &r, err, errlen);
        if (st != SMT_OK)
            return st;
        unsigned i = 1, nib = nibble(key, d);
        for (unsigned level = 0; level <= 4; level++) {
            unsigned depth = 4 * d + level;
            if (r.type[i] == T_EMPTY) {
                if (p)
                    p->depth = (uint8_t)depth;
                return SMT_OK;
            }
            if (r.type[i] == T_LEAF) {
                if (p)
                    p->depth = (uint8_t)depth;
                *leaf = r.s[r.leaf_slot[i]];
                return SMT_OK;
            }
            if (level == 4) /* an inner slot: its child record */
                break;
            unsigned bit = nib >> (3 - level) & 1, sib = 2 * i + (1 - bit);
            if (p && r.type[sib] != T_EMPTY) {
                p->bitmap[depth / 8] |= (uint8_t)(0x80 >> depth % 8);
                memcpy(p->siblings[p->nsiblings++], hash_of(&r, (int)sib), SMT_HASH_BYTES);
            }
            i = 2 * i + bit;
        }
        rec_version = r.s[nib].version;
        if (r.s[nib].type != T_INNER)
            break;
    }
    return FAIL(SMT_ERROR, "smt: a corrupt path for a key");
}

static enum smt_status leaf_value(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], const slot *leaf,
                                  const uint8_t **value, size_t *len, char *err, size_t errlen)
{
    uint8_t k[NODE_KEY_LEN];
    node_key(k, tree, leaf->version, TAG_LEAF, leaf->key);
    MDB_val mk = {sizeof k, k}, mv;
    int rc = mdb_get(txn, s->nodes, &mk, &mv);
    if (rc == MDB_NOTFOUND)
        return FAIL(SMT_PRUNED, "smt: a leaf of version %llu is missing", (unsigned long long)leaf->version);
    if (rc)
        return (enum smt_status)lmdb_err(err, errlen, "reading a leaf", rc);
    *value = mv.mv_data;
    *len = mv.mv_size;
    return SMT_OK;
}

enum smt_status smt_get(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                        const uint8_t key[SMT_KEY_BYTES], const uint8_t **value, size_t *len, char *err, size_t errlen)
{
    tree_meta m;
    if (version == SMT_LATEST)
        return latest_get(s, txn, tree, key, value, len, err, errlen);
    enum smt_status st = resolve_version(s, txn, tree, &version, &m, err, errlen);
    if (st != SMT_OK)
        return st;
    if (version == m.latest)
        return smt_get(s, txn, tree, SMT_LATEST, key, value, len, err, errlen);
    slot leaf;
    st = walk(s, txn, tree, version, key, NULL, &leaf, err, errlen);
    if (st != SMT_OK)
        return st;
    if (leaf.type != T_LEAF || memcmp(leaf.key, key, SMT_KEY_BYTES) != 0)
        return FAIL(SMT_NOT_FOUND, "smt: no such key");
    return leaf_value(s, txn, tree, &leaf, value, len, err, errlen);
}

enum smt_status smt_prove(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                          const uint8_t key[SMT_KEY_BYTES], smt_proof *proof, const uint8_t **value, size_t *len,
                          char *err, size_t errlen)
{
    tree_meta m;
    *value = NULL;
    *len = 0;
    enum smt_status st = resolve_version(s, txn, tree, &version, &m, err, errlen);
    if (st != SMT_OK)
        return st;
    slot leaf;
    st = walk(s, txn, tree, version, key, proof, &leaf, err, errlen);
    if (st != SMT_OK)
        return st;
    if (leaf.type == T_EMPTY) {
        proof->kind = SMT_PROOF_EMPTY;
        return SMT_OK;
    }
    st = leaf_value(s, txn, tree, &leaf, value, len, err, errlen);
    if (st != SMT_OK)
        return st;
    if (memcmp(leaf.key, key, SMT_KEY_BYTES) == 0) {
        proof->kind = SMT_PROOF_INCLUSION;
        return SMT_OK;
    }
    proof->kind = SMT_PROOF_OTHER_LEAF;
    memcpy(proof->other_key, leaf.key, SMT_KEY_BYTES);
    smt_hash(proof->other_value_hash, *value, *len);
    *value = NULL;
    *len = 0;
    return SMT_OK;
}

typedef struct {
    smt_store *s;
    MDB_txn *txn;
    const uint8_t *tree;
    int (*fn)(void *arg, const uint8_t key[SMT_KEY_BYTES], const uint8_t *value, size_t len);
    void *arg;
    char *err;
    size_t errlen;
} each_ctx;

static int each_leaf(each_ctx *c, const slot *leaf)
{
    const uint8_t *value;
    size_t len;
    enum smt_status st = leaf_value(c->s, c->txn, c->tree, leaf, &value, &len, c->err, c->errlen);
    if (st != SMT_OK)
        return st;
    return c->fn(c->arg, leaf->key, value, len);
}

static int each_record(each_ctx *c, uint64_t version, unsigned d, const uint8_t *path)
{
    record r;
    if (d >= NIBBLES)
        return errbuf_set(c->err, c->errlen, "smt: a corrupt path");
    enum smt_status st = record_load(c->s, c->txn, c->tree, version, d, path, &r, c->err, c->errlen);
    if (st != SMT_OK)
        return st;
    for (int i = 0; i < 16; i++) {
        int rc = 0;
        if (r.s[i].type == T_LEAF) {
            rc = each_leaf(c, &r.s[i]);
        } else if (r.s[i].type == T_INNER) {
            uint8_t child[SMT_KEY_BYTES];
            path_of(child, path, d);
            child[d / 2] |= (uint8_t)(d % 2 ? i : i << 4);
            rc = each_record(c, r.s[i].version, d + 1, child);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int smt_each(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
             int (*fn)(void *arg, const uint8_t key[SMT_KEY_BYTES], const uint8_t *value, size_t len), void *arg,
             char *err, size_t errlen)
{
    tree_meta m;
    enum smt_status st = resolve_version(s, txn, tree, &version, &m, err, errlen);
    if (st != SMT_OK)
        return st;
    uint8_t root[SMT_HASH_BYTES];
    uint64_t rv;
    if (root_get(s, txn, tree, version, root, &rv, err, errlen) != 0)
        return SMT_ERROR;
    if (rv == 0)
        return SMT_OK;
    each_ctx c = {s, txn, tree, fn, arg, err, errlen};
    uint8_t path[SMT_KEY_BYTES] = {0};
    return each_record(&c, rv, 0, path);
}

/* --- committing
 * ------------------------------------------------------------------------ */

enum { OP_PUT, OP_DEL, OP_CARRY };

typedef struct {
    const uint8_t *key;
    const uint8_t *value;
    size_t len;
    uint8_t op;
    uint64_t version;             /* the leaf record's */
    uint8_t leaf[SMT_HASH_BYTES]; /* the leaf hash (put, carry) */
} work;

/* a record to write: its tag and path, its bytes at off in the arena */
typedef struct {
    uint8_t tag;
    uint8_t path[SMT_KEY_BYTES];
    size_t off, len;
} pending;

typedef struct {
    uint64_t version;
    uint8_t tag;
    uint8_t path[SMT_KEY_BYTES];
} stale_node;

typedef struct {
    smt_store *s;
    MDB_txn *txn;
    const uint8_t *tree;
    uint64_t version;
    uint8_t *arena;
    size_t arena_len, arena_cap;
    pending *recs;
    size_t nrecs, caprecs;
    stale_node *stale;
    size_t nstale, capstale;
    char *err;
    size_t errlen;
} commit_ctx;

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int stale_add(commit_ctx *c, uint64_t version, uint8_t tag, const uint8_t *key)
{
    if (grow((void **)&c->stale, &c->capstale, c->nstale + 1, sizeof *c->stale) != 0)
        return errbuf_set(c->err, c->errlen, "smt: out of memory");
    stale_node *x = &c->stale[c->nstale++];
    x->version = version;
    x->tag = tag;
    if (tag == TAG_LEAF)
        memcpy(x->path, key, SMT_KEY_BYTES);
    else
        path_of(x->path, key, tag);
    return 0;
}

/* Hashes r's dirty nodes and queues it as the record at (version, d, key's
 * path); out becomes the slot pointing at it. */
static int emit_record(commit_ctx *c, unsigned d, const uint8_t *key, record *r, unsigned dirty, slot *out)
{
    record_types(r);
    record_rehash(r, dirty);
    if (grow((void **)&c->recs, &c->caprecs, c->nrecs + 1, sizeof *c->recs) != 0 ||
        grow((void **)&c->arena, &c->arena_cap, c->arena_len + RECORD_MAX, 1) != 0)
        return errbuf_set(c->err, c->errlen, "smt: out of memory");
    pending *p = &c->recs[c->nrecs++];
    p->tag = (uint8_t)d;
    path_of(p->path, key, d);
    p->off = c->arena_len;
    p->len = record_encode(r, c->arena + c->arena_len);
    c->arena_len += p->len;
    out->type = T_INNER;
    out->version = c->version;
    memcpy(out->hash, r->hash[1], SMT_HASH_BYTES);
    return 0;
}

static void leaf_slot_of(slot *out, const work *w)
{
    out->type = T_LEAF;
    out->version = w->version;
    memcpy(out->hash, w->leaf, SMT_HASH_BYTES);
    memcpy(out->key, w->key, SMT_KEY_BYTES);
}

static int build(commit_ctx *c, unsigned d, const slot *old, work *w, size_t n, slot *out);

/* Applies w (sorted, sharing the first 4d bits) to the slots of r, marking
 * the changed ones dirty. */
static int build_children(commit_ctx *c, unsigned d, record *r, work *w, size_t n, unsigned *dirty)
{
    size_t a = 0;
    while (a < n) {
        unsigned s = nibble(w[a].key, d);
        size_t b = a + 1;
        while (b < n && nibble(w[b].key, d) == s)
            b++;
        slot ns;
        if (build(c, d + 1, &r->s[s], w + a, b - a, &ns) != 0)
            return -1;
        r->s[s] = ns;
        *dirty |= 1u << s;
        a = b;
    }
    return 0;
}

/* The content of the subtree at nibble depth d (4d bits shared by every
 * key of w) after w, given its content before (old): out. */
static int build(commit_ctx *c, unsigned d, const slot *old, work *w, size_t n, slot *out)
{
    if (old->type == T_INNER) {
        record r;
        if (d >= NIBBLES)
            return errbuf_set(c->err, c->errlen, "smt: a corrupt record below depth %d", SMT_DEPTH_MAX);
        enum smt_status st = record_load(c->s, c->txn, c->tree, old->version, d, w[0].key, &r, c->err, c->errlen);
        if (st != SMT_OK)
            return -1;
        if (stale_add(c, old->version, (uint8_t)d, w[0].key) != 0)
            return -1;
        unsigned dirty = 0;
        if (build_children(c, d, &r, w, n, &dirty) != 0)
            return -1;
        int nonempty = 0, last = -1;
        for (int s = 0; s < 16; s++)
            if (r.s[s].type != T_EMPTY)
                nonempty++, last = s;
        if (nonempty == 0) {
            memset(out, 0, sizeof *out);
            return 0;
        }
        if (d > 0 && nonempty == 1 && r.s[last].type == T_LEAF) {
            *out = r.s[last]; /* one leaf left: it moves up */
            return 0;
        }
        return emit_record(c, d, w[0].key, &r, dirty, out);
    }
    /* empty or one leaf before: the leaves after, without deletions */
    work *live = malloc((n + 1) * sizeof *live);
    if (!live)
        return errbuf_set(c->err, c->errlen, "smt: out of memory");
    size_t m = 0;
    int carried = old->type != T_LEAF;
    for (size_t i = 0; i <= n; i++) {
        if (!carried && (i == n || memcmp(old->key, w[i].key, SMT_KEY_BYTES) <= 0)) {
            carried = 1;
            if (i < n && memcmp(old->key, w[i].key, SMT_KEY_BYTES) == 0) {
                if (stale_add(c, old->version, TAG_LEAF, old->key) != 0) {
                    free(live);
                    return -1;
                }
            } else {
                work *x = &live[m++];
                x->key = old->key;
                x->op = OP_CARRY;
                x->version = old->version;
                memcpy(x->leaf, old->hash, SMT_HASH_BYTES);
            }
        }
        if (i < n && w[i].op != OP_DEL)
            live[m++] = w[i];
    }
    int rc = 0;
    if (m == 0) {
        memset(out, 0, sizeof *out);
    } else if (m == 1) {
        leaf_slot_of(out, &live[0]);
    } else if (d >= NIBBLES) {
        rc = errbuf_set(c->err, c->errlen, "smt: two leaves of one key");
    } else {
        record r;
        memset(&r, 0, sizeof r);
        unsigned dirty = 0;
        rc = build_children(c, d, &r, live, m, &dirty);
        if (rc == 0)
            rc = emit_record(c, d, live[0].key, &r, 0xffff, out);
    }
    free(live);
    return rc;
}

static int cmp_update(const smt_update *a, const smt_update *b) { return memcmp(a->key, b->key, SMT_KEY_BYTES); }

/* stable: of equal keys the last given stays last */
static void sort_updates(smt_update *u, smt_update *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_updates(u, tmp, h);
    sort_updates(u + h, tmp, n - h);
    if (cmp_update(&u[h - 1], &u[h]) <= 0)
        return;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_update(&u[j], &u[i]) < 0 ? u[j++] : u[i++];
    while (i < h)
        tmp[k++] = u[i++];
    while (j < n)
        tmp[k++] = u[j++];
    memcpy(u, tmp, n * sizeof *u);
}

static int cmp_pending(const void *a, const void *b)
{
    const pending *x = a, *y = b;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return memcmp(x->path, y->path, SMT_KEY_BYTES);
}

static int cmp_stale(const void *a, const void *b)
{
    const stale_node *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return memcmp(x->path, y->path, SMT_KEY_BYTES);
}

/* Puts in key order: appends while the keys are the DBI's last. */
static int put_ordered(MDB_cursor *cur, int *append, MDB_val *k, MDB_val *v)
{
    if (*append) {
        int rc = mdb_cursor_put(cur, k, v, MDB_APPEND);
        if (rc != MDB_KEYEXIST)
            return rc;
        *append = 0;
    }
    return mdb_cursor_put(cur, k, v, 0);
}

static int write_commit(commit_ctx *c, work *w, size_t n, const slot *root)
{
    char *err = c->err;
    size_t errlen = c->errlen;
    smt_store *s = c->s;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(c->txn, s->nodes, &cur);
    if (rc)
        return lmdb_err(err, errlen, "writing records", rc);
    if (c->nrecs) /* qsort(NULL, 0) is undefined (UBSan) */
        qsort(c->recs, c->nrecs, sizeof *c->recs, cmp_pending);
    int append = 1;
    uint8_t k[NODE_KEY_LEN];
    for (size_t i = 0; i < c->nrecs && rc == 0; i++) {
        memcpy(k, c->tree, SMT_KEY_BYTES);
        put_u64(k + SMT_KEY_BYTES, c->version);
        k[SMT_KEY_BYTES + 8] = c->recs[i].tag;
        memcpy(k + SMT_KEY_BYTES + 9, c->recs[i].path, SMT_KEY_BYTES);
        MDB_val mk = {NODE_KEY_LEN, k}, mv = {c->recs[i].len, c->arena + c->recs[i].off};
        rc = put_ordered(cur, &append, &mk, &mv);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (w[i].op != OP_PUT)
            continue;
        node_key(k, c->tree, c->version, TAG_LEAF, w[i].key);
        MDB_val mk = {NODE_KEY_LEN, k}, mv = {w[i].len, (void *)w[i].value};
        rc = put_ordered(cur, &append, &mk, &mv);
    }
    mdb_cursor_close(cur);
    if (rc)
        return lmdb_err(err, errlen, "writing records", rc);

    if ((rc = mdb_cursor_open(c->txn, s->stale, &cur)))
        return lmdb_err(err, errlen, "writing the stale index", rc);
    if (c->nstale) /* qsort(NULL, 0) is undefined (UBSan) */
        qsort(c->stale, c->nstale, sizeof *c->stale, cmp_stale);
    append = 1;
    uint8_t chunk[STALE_CHUNK * STALE_ENTRY];
    for (size_t at = 0; at < c->nstale && rc == 0; at += STALE_CHUNK) {
        size_t n_in = c->nstale - at < STALE_CHUNK ? c->nstale - at : STALE_CHUNK;
        for (size_t i = 0; i < n_in; i++) {
            uint8_t *e = chunk + i * STALE_ENTRY;
            put_u64(e, c->stale[at + i].version);
            e[8] = c->stale[at + i].tag;
            memcpy(e + 9, c->stale[at + i].path, SMT_KEY_BYTES);
        }
        memcpy(k, c->tree, SMT_KEY_BYTES);
        put_u64(k + SMT_KEY_BYTES, c->version);
        uint32_t chunk_no = (uint32_t)(at / STALE_CHUNK);
        k[SMT_KEY_BYTES + 8] = (uint8_t)(chunk_no >> 24);
        k[SMT_KEY_BYTES + 9] = (uint8_t)(chunk_no >> 16);
        k[SMT_KEY_BYTES + 10] = (uint8_t)(chunk_no >> 8);
        k[SMT_KEY_BYTES + 11] = (uint8_t)chunk_no;
        MDB_val mk = {STALE_KEY_LEN, k}, mv = {n_in * STALE_ENTRY, chunk};
        rc = put_ordered(cur, &append, &mk, &mv);
    }
    mdb_cursor_close(cur);
    if (rc)
        return lmdb_err(err, errlen, "writing the stale index", rc);

    if ((rc = mdb_cursor_open(c->txn, s->latest, &cur)))
        return lmdb_err(err, errlen, "writing the latest values", rc);
    /* into the recent part: smt_prune merges it into the base */
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t lk[LATEST_KEY_LEN];
        latest_key(lk, LATEST_RECENT, c->tree, w[i].key);
        MDB_val mk = {sizeof lk, lk}, mv = {w[i].op == OP_PUT ? 1 + w[i].len : 1, NULL};
        rc = mdb_cursor_put(cur, &mk, &mv, MDB_RESERVE);
        if (rc == 0) {
            uint8_t *v = mv.mv_data;
            v[0] = w[i].op == OP_PUT; /* 0: deleted */
            if (w[i].len)
                memcpy(v + 1, w[i].value, w[i].len);
        }
    }
    mdb_cursor_close(cur);
    if (rc)
        return lmdb_err(err, errlen, "writing the latest values", rc);

    uint8_t rk[SMT_KEY_BYTES + 8], rv[SMT_HASH_BYTES + 8];
    memcpy(rk, c->tree, SMT_KEY_BYTES);
    put_u64(rk + SMT_KEY_BYTES, c->version);
    memcpy(rv, root->type == T_EMPTY ? zero_hash : root->hash, SMT_HASH_BYTES);
    put_u64(rv + SMT_HASH_BYTES, root->type == T_EMPTY ? 0 : root->version);
    MDB_val mk = {sizeof rk, rk}, mv = {sizeof rv, rv};
    if ((rc = mdb_put(c->txn, s->roots, &mk, &mv, 0)))
        return lmdb_err(err, errlen, "writing a root", rc);
    return 0;
}

int smt_commit(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version, smt_update *updates,
               size_t n, uint8_t root[SMT_HASH_BYTES], char *err, size_t errlen)
{
    tree_meta m;
    if (meta_get(s, txn, tree, &m, err, errlen) != 0)
        return -1;
    if (version != m.latest + 1)
        return ERR("smt: version %llu does not follow the newest, %llu", (unsigned long long)version,
                   (unsigned long long)m.latest);
    for (size_t i = 0; i < n; i++)
        if (updates[i].value && updates[i].len > SMT_VALUE_MAX)
            return ERR("smt: a value of %zu bytes (at most %d)", updates[i].len, SMT_VALUE_MAX);
    smt_update *tmp = malloc((n ? n : 1) * sizeof *tmp);
    work *w = malloc((n ? n : 1) * sizeof *w);
    if (!tmp || !w) {
        free(tmp);
        free(w);
        return ERR("smt: out of memory");
    }
    sort_updates(updates, tmp, n);
    free(tmp);
    /* the last of each key; deletions of absent keys change nothing */
    size_t nw = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i + 1 < n && cmp_update(&updates[i], &updates[i + 1]) == 0)
            continue;
        work *x = &w[nw];
        x->key = updates[i].key;
        x->value = updates[i].value;
        x->len = updates[i].value ? updates[i].len : 0;
        x->version = version;
        if (updates[i].value) {
            uint8_t vh[SMT_HASH_BYTES];
            x->op = OP_PUT;
            smt_hash(vh, x->value, x->len);
            smt_leaf_hash(x->leaf, x->key, vh);
            nw++;
            continue;
        }
        x->op = OP_DEL;
        const uint8_t *v;
        size_t vlen;
        enum smt_status got = latest_get(s, txn, tree, x->key, &v, &vlen, err, errlen);
        if (got == SMT_OK)
            nw++;
        else if (got != SMT_NOT_FOUND)
            rc = -1;
    }
    commit_ctx c = {.s = s, .txn = txn, .tree = tree, .version = version, .err = err, .errlen = errlen};
    slot old_root, new_root;
    memset(&old_root, 0, sizeof old_root);
    if (rc == 0 && m.latest) {
        uint64_t rv;
        rc = root_get(s, txn, tree, m.latest, old_root.hash, &rv, err, errlen);
        old_root.type = rv ? T_INNER : T_EMPTY;
        old_root.version = rv;
    }
    if (rc == 0) {
        if (nw == 0)
            new_root = old_root;
        else
            rc = build(&c, 0, &old_root, w, nw, &new_root);
    }
    if (rc == 0 && new_root.type == T_LEAF) { /* one leaf: the root record holds it */
        record r;
        memset(&r, 0, sizeof r);
        unsigned s0 = nibble(new_root.key, 0);
        r.s[s0] = new_root;
        rc = emit_record(&c, 0, new_root.key, &r, 1u << s0, &new_root);
    }
    if (rc == 0)
        rc = write_commit(&c, w, nw, &new_root);
    if (rc == 0) {
        m.latest = version;
        rc = meta_put(s, txn, tree, &m, err, errlen);
    }
    if (rc == 0)
        memcpy(root, new_root.type == T_EMPTY ? zero_hash : new_root.hash, SMT_HASH_BYTES);
    free(w);
    free(c.arena);
    free(c.recs);
    free(c.stale);
    return rc ? -1 : 0;
}

/* --- pruning
 * ------------------------------------------------------------------------- */

static long prune_nodes(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t retention,
                        size_t max_nodes, char *err, size_t errlen);

/* Moves at most max entries of tree's recent latest values into the base
 * part, in key order, a chunk at a time (copied out first: the writes move
 * LMDB's pages). The number moved, or -1 with err. */
static long merge_latest(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], size_t max, char *err,
                         size_t errlen)
{
    uint8_t(*keys)[SMT_KEY_BYTES] = malloc(MERGE_CHUNK * sizeof *keys);
    size_t *lens = malloc(MERGE_CHUNK * sizeof *lens);
    uint8_t *values = NULL;
    size_t cap = 0;
    long done = 0;
    int rc = 0;
    if (!keys || !lens) {
        free(keys);
        free(lens);
        return ERR("smt: out of memory");
    }
    while ((size_t)done < max && rc == 0) {
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn, s->latest, &cur)))
            break;
        uint8_t start[LATEST_KEY_LEN];
        latest_key(start, LATEST_RECENT, tree, NULL);
        MDB_val mk = {1 + SMT_KEY_BYTES, start}, mv;
        size_t n = 0, used = 0;
        rc = mdb_cursor_get(cur, &mk, &mv, MDB_SET_RANGE);
        while (rc == 0 && n < MERGE_CHUNK && (size_t)done + n < max) {
            if (mk.mv_size != LATEST_KEY_LEN || memcmp(mk.mv_data, start, 1 + SMT_KEY_BYTES) != 0)
                break;
            const uint8_t *v = mv.mv_data;
            if (mv.mv_size < 1 || v[0] > 1) {
                rc = MDB_CORRUPTED;
                break;
            }
            if (grow((void **)&values, &cap, used + mv.mv_size, 1) != 0) {
                rc = ENOMEM;
                break;
            }
            memcpy(keys[n], (const uint8_t *)mk.mv_data + 1 + SMT_KEY_BYTES, SMT_KEY_BYTES);
            memcpy(values + used, v, mv.mv_size);
            lens[n++] = mv.mv_size;
            used += mv.mv_size;
            rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc || n == 0)
            break;
        const uint8_t *v = values;
        for (size_t i = 0; i < n && rc == 0; v += lens[i++]) {
            uint8_t k[LATEST_KEY_LEN];
            latest_key(k, LATEST_BASE, tree, keys[i]);
            MDB_val bk = {sizeof k, k}, bv = {lens[i] - 1, (void *)(v + 1)};
            rc = v[0] ? mdb_put(txn, s->latest, &bk, &bv, 0) : mdb_del(txn, s->latest, &bk, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
            k[0] = LATEST_RECENT;
            if (rc == 0)
                rc = mdb_del(txn, s->latest, &bk, NULL);
        }
        done += (long)n;
    }
    free(keys);
    free(lens);
    free(values);
    if (rc == ENOMEM)
        return ERR("smt: out of memory");
    return rc ? lmdb_err(err, errlen, "merging the latest values", rc) : done;
}

long smt_prune(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t retention, size_t max_nodes,
               char *err, size_t errlen)
{
    /* first the latest values a commit left in the recent part */
    long merged = merge_latest(s, txn, tree, max_nodes, err, errlen);
    if (merged < 0 || (size_t)merged >= max_nodes)
        return merged;
    max_nodes -= (size_t)merged;
    long pruned = prune_nodes(s, txn, tree, retention, max_nodes, err, errlen);
    return pruned < 0 ? -1 : merged + pruned;
}

static long prune_nodes(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t retention,
                        size_t max_nodes, char *err, size_t errlen)
{
    tree_meta m;
    if (meta_get(s, txn, tree, &m, err, errlen) != 0)
        return -1;
    if (retention < 1)
        retention = 1; /* the newest version stays */
    if (m.latest <= retention)
        return 0;
    uint64_t upto = m.latest - retention; /* versions up to this one go, checkpoints aside */
    if (upto > m.pruned_upto) {
        m.pruned_upto = upto;
        if (meta_put(s, txn, tree, &m, err, errlen) != 0)
            return -1;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->stale, &cur);
    if (rc)
        return lmdb_err(err, errlen, "pruning", rc);
    uint8_t start[SMT_KEY_BYTES + 8];
    memcpy(start, tree, SMT_KEY_BYTES);
    put_u64(start + SMT_KEY_BYTES, 0);
    MDB_val mk = {sizeof start, start}, mv;
    long done = 0;
    uint8_t at[STALE_KEY_LEN];
    rc = mdb_cursor_get(cur, &mk, &mv, MDB_SET_RANGE);
    while (rc == 0 && (size_t)done < max_nodes) {
        if (mk.mv_size != STALE_KEY_LEN || memcmp(mk.mv_data, tree, SMT_KEY_BYTES) != 0)
            break;
        if (mv.mv_size % STALE_ENTRY != 0 || mv.mv_size == 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(at, mk.mv_data, STALE_KEY_LEN);
        uint64_t stale_at = get_u64(at + SMT_KEY_BYTES);
        /* its nodes served versions from their own up to stale_at - 1 */
        if (stale_at - 1 > upto)
            break;
        uint64_t checkpoint = (stale_at - 1) / s->checkpoint_every * s->checkpoint_every;
        size_t n_in = mv.mv_size / STALE_ENTRY, take = n_in;
        if (n_in > STALE_CHUNK) {
            rc = MDB_CORRUPTED;
            break;
        }
        /* a copy: the deletions below may move LMDB's pages */
        uint8_t chunk[STALE_CHUNK * STALE_ENTRY];
        memcpy(chunk, mv.mv_data, mv.mv_size);
        const uint8_t *e = chunk;
        if (take > max_nodes - (size_t)done)
            take = max_nodes - (size_t)done;
        for (size_t i = 0; i < take && rc == 0; i++, e += STALE_ENTRY) {
            if (checkpoint != 0 && checkpoint >= get_u64(e))
                continue; /* a checkpoint needs it */
            uint8_t nk[NODE_KEY_LEN];
            memcpy(nk, tree, SMT_KEY_BYTES);
            memcpy(nk + SMT_KEY_BYTES, e, STALE_ENTRY);
            MDB_val nmk = {sizeof nk, nk};
            rc = mdb_del(txn, s->nodes, &nmk, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        if (rc)
            break;
        done += (long)take;
        if (take < n_in) { /* the rest of the chunk waits for the next call */
            MDB_val rk = {sizeof at, at}, rv = {(n_in - take) * STALE_ENTRY, (void *)e};
            rc = mdb_put(txn, s->stale, &rk, &rv, 0);
            break;
        }
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
        mk.mv_size = sizeof at;
        mk.mv_data = at;
        rc = mdb_cursor_get(cur, &mk, &mv, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return lmdb_err(err, errlen, "pruning", rc);
    return done;
}

uint64_t smt_disk_bytes(smt_store *s, MDB_txn *txn)
{
    MDB_dbi dbis[] = {s->nodes, s->latest, s->stale, s->roots};
    MDB_stat st;
    uint64_t pages = 0;
    for (size_t i = 0; i < sizeof dbis / sizeof *dbis; i++)
        if (mdb_stat(txn, dbis[i], &st) == 0)
            pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    if (mdb_env_stat(s->env, &st) != 0)
        return 0;
    return pages * st.ms_psize;
}
