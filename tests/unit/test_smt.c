/* smt (modules/smt/smt.h): the tree's rules as fixed vectors, proofs and
 * their refusals, and the LMDB store against the naive root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt.h"
#include "smt_internal.h"
#include "smt_naive.h"

#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t zeros[SMT_HASH_BYTES];

static void unhex(uint8_t *out, const char *hex)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void key_of(uint8_t key[SMT_KEY_BYTES], uint8_t first, uint8_t last)
{
    memset(key, 0, SMT_KEY_BYTES);
    key[0] = first;
    key[SMT_KEY_BYTES - 1] = last;
}

static void leaf_of(uint8_t out[SMT_HASH_BYTES], const uint8_t key[SMT_KEY_BYTES], const void *v, size_t len)
{
    uint8_t vh[SMT_HASH_BYTES];
    smt_hash(vh, v, len);
    smt_leaf_hash(out, key, vh);
}

static void root_of(uint8_t root[SMT_HASH_BYTES], const uint8_t *keys, const char *const *values, size_t n)
{
    const uint8_t *v[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        v[i] = (const uint8_t *)values[i];
        lens[i] = strlen(values[i]);
    }
    assert_int_equal(smt_root_of(root, keys, v, lens, n), 0);
}

/* --- the rules as fixed vectors
 * -------------------------------------------------- */

static void empty_tree_is_zeros(void **state)
{
    (void)state;
    uint8_t root[SMT_HASH_BYTES];
    memset(root, 0xaa, sizeof root);
    assert_int_equal(smt_root_of(root, NULL, NULL, NULL, 0), 0);
    assert_memory_equal(root, zeros, SMT_HASH_BYTES);
}

static void one_leaf_is_its_leaf_hash(void **state)
{
    (void)state;
    uint8_t key[SMT_KEY_BYTES], root[SMT_HASH_BYTES], want[SMT_HASH_BYTES];
    for (int i = 0; i < SMT_KEY_BYTES; i++)
        key[i] = (uint8_t)(i + 1);
    const char *v[] = {"hello"};
    root_of(root, key, v, 1);
    /* BLAKE2b-256(0x00 || 01..14 || BLAKE2b-256("hello")), computed apart */
    unhex(want, "c58c37a56dcb49b2f51ebea1446eabefedf9daccf773d9553caafb44996d58fa");
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void two_keys_split_at_bit_0(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], la[32], lb[32], want[32];
    key_of(keys, 0x80, 0); /* bit 0 set: the right child, given first */
    key_of(keys + SMT_KEY_BYTES, 0x00, 7);
    const char *v[] = {"right", "left"};
    root_of(root, keys, v, 2);
    leaf_of(la, keys + SMT_KEY_BYTES, "left", 4);
    leaf_of(lb, keys, "right", 5);
    smt_node_hash(want, la, lb);
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void three_keys(void **state)
{
    (void)state;
    uint8_t keys[3 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], want[32];
    key_of(keys, 0x00, 0);
    key_of(keys + 20, 0x40, 0);
    key_of(keys + 40, 0x80, 0);
    const char *v[] = {"a", "", "ccccccccccccccccc"};
    root_of(root, keys, v, 3);
    /* H(1 || H(1 || leaf a || leaf b) || leaf c), computed apart */
    unhex(want, "e1efc78d1433fdb4c7d3d8a287f0948ab791fec020f88b993de9f92fc27cddf9");
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void keys_sharing_159_bits(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], x[32], lb[32];
    key_of(keys, 0xa5, 0x01);
    key_of(keys + SMT_KEY_BYTES, 0xa5, 0x00);
    const char *v[] = {"one", "zero"};
    root_of(root, keys, v, 2);
    leaf_of(x, keys + SMT_KEY_BYTES, "zero", 4);
    leaf_of(lb, keys, "one", 3);
    smt_node_hash(x, x, lb); /* the node at depth 159 */
    for (int i = 158; i >= 0; i--) {
        if (smt_key_bit(keys, (unsigned)i))
            smt_node_hash(x, zeros, x);
        else
            smt_node_hash(x, x, zeros);
    }
    assert_memory_equal(root, x, SMT_HASH_BYTES);
}

static void equal_keys_refused(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES];
    key_of(keys, 3, 3);
    key_of(keys + SMT_KEY_BYTES, 3, 3);
    const uint8_t *v[] = {(const uint8_t *)"a", (const uint8_t *)"b"};
    size_t lens[] = {1, 1};
    assert_int_equal(smt_root_of(root, keys, v, lens, 2), -1);
}

/* --- proofs
 * --------------------------------------------------------------------- */

/* the tree {a = 00.., b = 40.., c = 80..} of three_keys */
static void tree_abc(uint8_t keys[3 * SMT_KEY_BYTES], uint8_t root[32], uint8_t la[32], uint8_t lb[32], uint8_t lc[32])
{
    key_of(keys, 0x00, 0);
    key_of(keys + 20, 0x40, 0);
    key_of(keys + 40, 0x80, 0);
    const char *v[] = {"a", "", "ccccccccccccccccc"};
    root_of(root, keys, v, 3);
    leaf_of(la, keys, "a", 1);
    leaf_of(lb, keys + 20, "", 0);
    leaf_of(lc, keys + 40, "ccccccccccccccccc", 17);
}

static enum smt_status roundtrip_verify(const smt_proof *p, const uint8_t root[32], const uint8_t key[20],
                                        const char *value)
{
    uint8_t bytes[SMT_PROOF_MAX];
    char err[128] = "";
    size_t n = smt_proof_encode(p, bytes);
    smt_proof q;
    assert_int_equal(smt_proof_decode(&q, bytes, n, err, sizeof err), SMT_OK);
    return smt_proof_verify(&q, root, key, value, value ? strlen(value) : 0, err, sizeof err);
}

static void inclusion_proof(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], bytes[SMT_PROOF_MAX];
    tree_abc(keys, root, la, lb, lc);
    smt_proof p = {.kind = SMT_PROOF_INCLUSION, .depth = 2, .bitmap = {0xc0}, .nsiblings = 2};
    memcpy(p.siblings[0], lc, 32);
    memcpy(p.siblings[1], lb, 32);
    assert_int_equal(smt_proof_encode(&p, bytes), 2 + 1 + 64);
    assert_int_equal(bytes[0], 0);
    assert_int_equal(bytes[1], 2);
    assert_int_equal(bytes[2], 0xc0);
    assert_int_equal(roundtrip_verify(&p, root, keys, "a"), SMT_OK);
    assert_int_equal(roundtrip_verify(&p, root, keys, "b"), SMT_BAD_PROOF);
    assert_int_equal(roundtrip_verify(&p, root, keys, NULL), SMT_BAD_PROOF);
    assert_int_equal(roundtrip_verify(&p, root, keys + 20, "a"), SMT_BAD_PROOF);
    /* c sits at depth 1, its sibling the node over a and b */
    smt_proof pc = {.kind = SMT_PROOF_INCLUSION, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(pc.siblings[0], la, lb);
    assert_int_equal(roundtrip_verify(&pc, root, keys + 40, "ccccccccccccccccc"), SMT_OK);
}

static void absence_proofs(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], absent[20], vh[32];
    tree_abc(keys, root, la, lb, lc);
    /* kind 2: C0.. goes right at bit 0 and meets c alone there */
    key_of(absent, 0xc0, 0);
    smt_proof p = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(p.siblings[0], la, lb);
    memcpy(p.other_key, keys + 40, 20);
    smt_hash(vh, "ccccccccccccccccc", 17);
    memcpy(p.other_value_hash, vh, 32);
    uint8_t bytes[SMT_PROOF_MAX];
    assert_int_equal(smt_proof_encode(&p, bytes), 2 + 1 + 32 + 20 + 32);
    assert_int_equal(roundtrip_verify(&p, root, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&p, root, absent, "x"), SMT_BAD_PROOF);
    /* the other leaf may not be the key itself */
    assert_int_equal(roundtrip_verify(&p, root, keys + 40, NULL), SMT_BAD_PROOF);

    /* kind 1: in {a, b} (both under bit 0 = 0), 80.. ends in the empty right
     * child */
    uint8_t root2[32], node_ab[32];
    smt_node_hash(node_ab, la, lb);
    smt_node_hash(root2, node_ab, zeros);
    const char *v[] = {"a", ""};
    uint8_t got[32];
    root_of(got, keys, v, 2);
    assert_memory_equal(got, root2, 32);
    smt_proof e = {.kind = SMT_PROOF_EMPTY, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    memcpy(e.siblings[0], node_ab, 32);
    assert_int_equal(smt_proof_encode(&e, bytes), 2 + 1 + 32);
    assert_int_equal(roundtrip_verify(&e, root2, keys + 40, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&e, root2, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&e, root2, keys, NULL), SMT_BAD_PROOF);
    /* the empty tree: depth 0, nothing else */
    smt_proof none = {.kind = SMT_PROOF_EMPTY};
    assert_int_equal(smt_proof_encode(&none, bytes), 2);
    assert_int_equal(roundtrip_verify(&none, zeros, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&none, root2, absent, NULL), SMT_BAD_PROOF);
}

static void tampered_proofs_refused(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], absent[20], vh[32];
    tree_abc(keys, root, la, lb, lc);
    key_of(absent, 0xc0, 0);
    smt_proof p = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(p.siblings[0], la, lb);
    memcpy(p.other_key, keys + 40, 20);
    smt_hash(vh, "ccccccccccccccccc", 17);
    memcpy(p.other_value_hash, vh, 32);
    uint8_t good[SMT_PROOF_MAX], bad[SMT_PROOF_MAX + 1];
    size_t n = smt_proof_encode(&p, good);
    char err[128];
    smt_proof q;
    /* every single bit flipped: refused by decode or verify, with a reason */
    for (size_t i = 0; i < n * 8; i++) {
        memcpy(bad, good, n);
        bad[i / 8] ^= (uint8_t)(1 << (i % 8));
        err[0] = '\0';
        enum smt_status st = smt_proof_decode(&q, bad, n, err, sizeof err);
        if (st == SMT_OK)
            st = smt_proof_verify(&q, root, absent, NULL, 0, err, sizeof err);
        assert_int_equal(st, SMT_BAD_PROOF);
        assert_true(err[0] != '\0' && !strchr(err, '\n'));
    }
    /* truncated anywhere, or with a byte more */
    for (size_t len = 0; len < n; len++)
        assert_int_equal(smt_proof_decode(&q, good, len, err, sizeof err), SMT_BAD_PROOF);
    memcpy(bad, good, n);
    bad[n] = 0;
    assert_int_equal(smt_proof_decode(&q, bad, n + 1, err, sizeof err), SMT_BAD_PROOF);
    assert_non_null(strstr(err, "trailing"));
    /* unknown kind, depth over 160, a bitmap bit past the depth */
    uint8_t k3[] = {3, 0};
    assert_int_equal(smt_proof_decode(&q, k3, 2, err, sizeof err), SMT_BAD_PROOF);
    uint8_t d161[2 + 21] = {1, 161};
    assert_int_equal(smt_proof_decode(&q, d161, sizeof d161, err, sizeof err), SMT_BAD_PROOF);
    uint8_t past[2 + 1 + 32] = {1, 1, 0x40};
    assert_int_equal(smt_proof_decode(&q, past, sizeof past, err, sizeof err), SMT_BAD_PROOF);
    /* the longest proof decodes */
    smt_proof longest = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 160, .nsiblings = 160};
    memset(longest.bitmap, 0xff, sizeof longest.bitmap);
    assert_int_equal(smt_proof_encode(&longest, bad), SMT_PROOF_MAX);
    assert_int_equal(smt_proof_decode(&q, bad, SMT_PROOF_MAX, err, sizeof err), SMT_OK);
    assert_int_equal(q.nsiblings, 160);
    assert_string_equal(smt_strerror(SMT_PRUNED), "pruned");
}

/* --- the store against the naive tree
 * ------------------------------------------------ */

#define POOL 400
#define VMAX 40

typedef struct {
    uint8_t present, len;
    uint8_t v[VMAX];
} model_value;

typedef struct {
    char dir[64];
    MDB_env *env;
    smt_store *s;
    uint8_t keys[POOL][SMT_KEY_BYTES];
} fixture;

static uint64_t rng_state = 42;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fixture_open(fixture *f)
{
    char err[256] = "";
    strcpy(f->dir, "/tmp/test_smt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(mdb_env_create(&f->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(f->env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(f->env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(f->env, f->dir, MDB_NOSYNC, 0600), 0);
    assert_int_equal(smt_open(&f->s, f->env, err, sizeof err), 0);
    /* a pool of keys: random ones, and pairs sharing all but the last bit
     * or all but a bit in the middle */
    for (int i = 0; i < POOL; i++) {
        for (int j = 0; j < SMT_KEY_BYTES; j++)
            f->keys[i][j] = (uint8_t)rng();
        if (i % 5 == 1) {
            memcpy(f->keys[i], f->keys[i - 1], SMT_KEY_BYTES);
            f->keys[i][SMT_KEY_BYTES - 1] ^= 1;
        } else if (i % 5 == 2) {
            memcpy(f->keys[i], f->keys[i - 2], SMT_KEY_BYTES);
            f->keys[i][9] ^= 0x10;
        }
    }
}

static void fixture_close(fixture *f)
{
    smt_close(f->s);
    mdb_env_close(f->env);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
    unlink(path);
    rmdir(f->dir);
}

/* The naive leaves of a model state (pointing into it). */
static size_t naive_of(const fixture *f, const model_value *m, naive_leaf *leaves)
{
    size_t n = 0;
    for (int i = 0; i < POOL; i++)
        if (m[i].present) {
            memcpy(leaves[n].key, f->keys[i], SMT_KEY_BYTES);
            leaves[n].value = m[i].v;
            leaves[n].len = m[i].len;
            n++;
        }
    naive_prepare(leaves, n);
    return n;
}

/* The store's proof of key at version: byte for byte the naive one, and it
 * holds. */
static void check_proof(fixture *f, MDB_txn *txn, const uint8_t *tree, uint64_t version, const naive_leaf *leaves,
                        size_t n, const uint8_t root[32], const uint8_t key[SMT_KEY_BYTES])
{
    char err[256] = "";
    smt_proof got, want;
    const uint8_t *value;
    size_t len;
    assert_int_equal(smt_prove(f->s, txn, tree, version, key, &got, &value, &len, err, sizeof err), SMT_OK);
    const naive_leaf *leaf = naive_prove(&want, leaves, n, key);
    uint8_t a[SMT_PROOF_MAX], b[SMT_PROOF_MAX];
    size_t la = smt_proof_encode(&got, a), lb = smt_proof_encode(&want, b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    if (leaf) {
        assert_non_null(value);
        assert_int_equal(len, leaf->len);
        assert_memory_equal(value, leaf->value, len);
    } else {
        assert_null(value);
    }
    assert_int_equal(smt_proof_verify(&got, root, key, value, len, err, sizeof err), SMT_OK);
}

typedef struct {
    const naive_leaf *leaves;
    size_t n, at;
} each_check;

static int each_matches(void *arg, const uint8_t key[SMT_KEY_BYTES], const uint8_t *value, size_t len)
{
    each_check *c = arg;
    assert_true(c->at < c->n);
    assert_memory_equal(key, c->leaves[c->at].key, SMT_KEY_BYTES);
    assert_int_equal(len, c->leaves[c->at].len);
    if (len)
        assert_memory_equal(value, c->leaves[c->at].value, len);
    c->at++;
    return 0;
}

/* Everything a version promises: its root, values, proofs, leaves in order. */
static void check_version(fixture *f, MDB_txn *txn, const uint8_t *tree, uint64_t version, const model_value *m,
                          int stride)
{
    static naive_leaf leaves[POOL];
    char err[256] = "";
    size_t n = naive_of(f, m, leaves);
    uint8_t want[32], got[32];
    naive_hash(want, leaves, n, 0);
    assert_int_equal(smt_root(f->s, txn, tree, version, got, err, sizeof err), SMT_OK);
    assert_memory_equal(got, want, 32);
    for (int i = 0; i < POOL; i++) {
        const uint8_t *value;
        size_t len;
        enum smt_status st = smt_get(f->s, txn, tree, version, f->keys[i], &value, &len, err, sizeof err);
        if (m[i].present) {
            assert_int_equal(st, SMT_OK);
            assert_int_equal(len, m[i].len);
            assert_memory_equal(value, m[i].v, len);
        } else {
            assert_int_equal(st, SMT_NOT_FOUND);
        }
        if (i % stride == 0)
            check_proof(f, txn, tree, version, leaves, n, want, f->keys[i]);
    }
    uint8_t absent[SMT_KEY_BYTES];
    for (int i = 0; i < 200 / stride; i++) {
        for (int j = 0; j < SMT_KEY_BYTES; j++)
            absent[j] = (uint8_t)rng();
        check_proof(f, txn, tree, version, leaves, n, want, absent);
    }
    each_check c = {leaves, n, 0};
    assert_int_equal(smt_each(f->s, txn, tree, version, each_matches, &c, err, sizeof err), SMT_OK);
    assert_int_equal(c.at, n);
}

/* A random batch against the model m (changed in place): inserts, updates,
 * deletes (some of absent keys), a key given twice. */
static size_t random_batch(fixture *f, model_value *m, smt_update *u, uint8_t (*values)[VMAX], size_t max)
{
    size_t n = 1 + rng() % max;
    for (size_t i = 0; i < n; i++) {
        int k = (int)(rng() % POOL);
        memcpy(u[i].key, f->keys[k], SMT_KEY_BYTES);
        if (rng() % 4 == 0) {
            u[i].value = NULL;
            u[i].len = 0;
            m[k].present = 0;
        } else {
            u[i].len = (size_t)(rng() % (VMAX + 1));
            for (size_t j = 0; j < u[i].len; j++)
                values[i][j] = (uint8_t)rng();
            u[i].value = values[i];
            m[k].present = 1;
            m[k].len = (uint8_t)u[i].len;
            memcpy(m[k].v, values[i], u[i].len);
        }
    }
    return n;
}

#define VERSIONS 60

static void store_matches_naive_tree(void **state)
{
    (void)state;
    static fixture f;
    static model_value history[2][VERSIONS + 1][POOL];
    static smt_update u[300];
    static uint8_t values[300][VMAX];
    char err[256] = "";
    fixture_open(&f);
    uint8_t trees[2][SMT_KEY_BYTES];
    memset(trees[0], 0xee, SMT_KEY_BYTES); /* the later tree sorts first: its
                                              writes are not appends */
    memset(trees[1], 0x11, SMT_KEY_BYTES);
    for (uint64_t v = 1; v <= VERSIONS; v++) {
        for (int t = 0; t < 2; t++) {
            MDB_txn *txn;
            memcpy(history[t][v], history[t][v - 1], sizeof history[t][v]);
            size_t n = v == 1 && t == 1 ? 1 : random_batch(&f, history[t][v], u, values, v < 10 ? 300 : 12);
            if (v == 1 && t == 1) { /* a tree of one leaf, then of none */
                memcpy(u[0].key, f.keys[3], SMT_KEY_BYTES);
                u[0].value = values[0];
                u[0].len = 0;
                history[t][v][3].present = 1;
                history[t][v][3].len = 0;
            } else if (v == 2 && t == 1) {
                for (int k = 0; k < POOL; k++) {
                    memcpy(u[k % 300].key, f.keys[k], SMT_KEY_BYTES);
                    history[t][v][k].present = 0;
                }
                for (size_t k = 0; k < 300; k++)
                    u[k].value = NULL;
                memcpy(u[0].key, f.keys[3], SMT_KEY_BYTES);
                n = 300;
            }
            uint8_t root[32], want[32];
            assert_int_equal(mdb_txn_begin(f.env, NULL, 0, &txn), 0);
            assert_int_equal(smt_commit(f.s, txn, trees[t], v, u, n, root, err, sizeof err), 0);
            assert_int_equal(mdb_txn_commit(txn), 0);
            static naive_leaf leaves[POOL];
            size_t nl = naive_of(&f, history[t][v], leaves);
            naive_hash(want, leaves, nl, 0);
            assert_memory_equal(root, want, 32);
            assert_int_equal(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn), 0);
            assert_int_equal(smt_latest(f.s, txn, trees[t]), v);
            if (v % 10 == 0 || v < 4)
                check_version(&f, txn, trees[t], v, history[t][v], 5);
            mdb_txn_abort(txn);
        }
    }
    /* every older version still reads as it was */
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn), 0);
    for (int t = 0; t < 2; t++)
        for (uint64_t v = 0; v <= VERSIONS; v++)
            check_version(&f, txn, trees[t], v, history[t][v], 41);
    uint8_t root[32];
    const uint8_t *value;
    size_t len;
    assert_int_equal(smt_root(f.s, txn, trees[0], VERSIONS + 1, root, err, sizeof err), SMT_NOT_FOUND);
    assert_int_equal(smt_get(f.s, txn, trees[0], VERSIONS + 1, f.keys[0], &value, &len, err, sizeof err),
                     SMT_NOT_FOUND);
    uint8_t unknown[SMT_KEY_BYTES] = {5};
    assert_int_equal(smt_latest(f.s, txn, unknown), 0);
    mdb_txn_abort(txn);
    /* a version out of turn, a value too big: refused */
    assert_int_equal(mdb_txn_begin(f.env, NULL, 0, &txn), 0);
    assert_int_equal(smt_commit(f.s, txn, trees[0], VERSIONS + 2, u, 1, root, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not follow"));
    static uint8_t big[SMT_VALUE_MAX + 1];
    u[0].value = big;
    u[0].len = sizeof big;
    assert_int_equal(smt_commit(f.s, txn, trees[0], VERSIONS + 1, u, 1, root, err, sizeof err), -1);
    u[0].len = SMT_VALUE_MAX;
    assert_int_equal(smt_commit(f.s, txn, trees[0], VERSIONS + 1, u, 1, root, err, sizeof err), 0);
    mdb_txn_abort(txn);
    fixture_close(&f);
}

static uint64_t node_entries(fixture *f)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "smt_nodes", 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    return st.ms_entries;
}

static void pruning_keeps_retention_and_checkpoints(void **state)
{
    (void)state;
    static fixture f;
    enum { RUN = 140, RETENTION = 7, EVERY = 5 }; /* past 127: versions of two varint bytes */
    static model_value history[RUN + 1][POOL];
    static smt_update u[300];
    static uint8_t values[300][VMAX];
    char err[256] = "";
    fixture_open(&f);
    smt_set_checkpoint_every(f.s, EVERY);
    uint8_t tree[SMT_KEY_BYTES] = {1, 2, 3};
    uint64_t entries_at_60 = 0;
    for (uint64_t v = 1; v <= RUN; v++) {
        memcpy(history[v], history[v - 1], sizeof history[v]);
        size_t n = random_batch(&f, history[v], u, values, v < 5 ? 300 : 20);
        MDB_txn *txn;
        uint8_t root[32];
        assert_int_equal(mdb_txn_begin(f.env, NULL, 0, &txn), 0);
        assert_int_equal(smt_commit(f.s, txn, tree, v, u, n, root, err, sizeof err), 0);
        /* pruning in small batches, as a pulse would, until nothing is left */
        long got;
        while ((got = smt_prune(f.s, txn, tree, RETENTION, 16, err, sizeof err)) > 0)
            assert_true(got <= 16);
        assert_int_equal(got, 0);
        assert_int_equal(mdb_txn_commit(txn), 0);
        if (v == 60)
            entries_at_60 = node_entries(&f);
    }
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn), 0);
    for (uint64_t v = 0; v <= RUN; v++) {
        uint8_t root[32];
        const uint8_t *value;
        size_t len;
        smt_proof p;
        assert_int_equal(smt_root(f.s, txn, tree, v, root, err, sizeof err), SMT_OK); /* roots stay */
        if (v == 0 || v % EVERY == 0 || v > RUN - RETENTION) {
            check_version(&f, txn, tree, v, history[v], 41);
        } else {
            assert_int_equal(smt_get(f.s, txn, tree, v, f.keys[0], &value, &len, err, sizeof err), SMT_PRUNED);
            assert_non_null(strstr(err, "pruned"));
            assert_int_equal(smt_prove(f.s, txn, tree, v, f.keys[0], &p, &value, &len, err, sizeof err), SMT_PRUNED);
            assert_int_equal(smt_each(f.s, txn, tree, v, each_matches, NULL, err, sizeof err), SMT_PRUNED);
        }
    }
    mdb_txn_abort(txn);
    /* steady churn with pruning: the nodes stay about as many (checkpoints add a
     * little) */
    uint64_t entries_at_end = node_entries(&f);
    assert_true(entries_at_end < entries_at_60 * 2);
    fixture_close(&f);
}

/* The latest values live in two parts (the commits' recent changes, and a
 * base that pruning passes merge them into): whatever was merged so far,
 * reads of the newest version are the model's, for each of two trees. */
static void latest_values_through_partial_merges(void **state)
{
    (void)state;
    static fixture f;
    enum { RUN = 40 };
    static model_value m[2][POOL];
    static smt_update u[300];
    static uint8_t values[300][VMAX];
    char err[256] = "";
    fixture_open(&f);
    uint8_t trees[2][SMT_KEY_BYTES];
    memset(trees[0], 0xee, SMT_KEY_BYTES);
    memset(trees[1], 0x11, SMT_KEY_BYTES);
    for (uint64_t v = 1; v <= RUN + 1; v++) {
        for (int t = 0; t < 2; t++) {
            MDB_txn *txn;
            uint8_t root[32];
            size_t n = random_batch(&f, m[t], u, values, v < 4 ? 300 : 40);
            assert_int_equal(mdb_txn_begin(f.env, NULL, 0, &txn), 0);
            assert_int_equal(smt_commit(f.s, txn, trees[t], v, u, n, root, err, sizeof err), 0);
            /* a pass of a random size (the last one takes everything); no
             * version reaches the retention, so it only merges */
            size_t budget = v == RUN + 1 ? 100000 : rng() % 50;
            long got = smt_prune(f.s, txn, trees[t], UINT64_MAX / 2, budget, err, sizeof err);
            assert_true(got >= 0 && (size_t)got <= budget);
            if (v == RUN + 1)
                assert_int_equal(smt_prune(f.s, txn, trees[t], UINT64_MAX / 2, 100000, err, sizeof err), 0);
            assert_int_equal(mdb_txn_commit(txn), 0);
            assert_int_equal(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn), 0);
            for (int k = 0; k < POOL; k++) {
                const uint8_t *value;
                size_t len;
                enum smt_status st = smt_get(f.s, txn, trees[t], SMT_LATEST, f.keys[k], &value, &len, err, sizeof err);
                if (m[t][k].present) {
                    assert_int_equal(st, SMT_OK);
                    assert_int_equal(len, m[t][k].len);
                    assert_memory_equal(value, m[t][k].v, len);
                } else {
                    assert_int_equal(st, SMT_NOT_FOUND);
                }
            }
            if (v % 8 == 0 || v == RUN + 1)
                check_version(&f, txn, trees[t], v, m[t], 7);
            mdb_txn_abort(txn);
        }
    }
    fixture_close(&f);
}

static void empty_commits_and_corrupt_records(void **state)
{
    (void)state;
    static fixture f;
    char err[256] = "";
    fixture_open(&f);
    uint8_t tree[SMT_KEY_BYTES] = {9}, root1[32], root[32];
    smt_update u[2];
    memcpy(u[0].key, f.keys[0], SMT_KEY_BYTES);
    memcpy(u[1].key, f.keys[1], SMT_KEY_BYTES);
    u[0].value = (const uint8_t *)"x";
    u[1].value = (const uint8_t *)"y";
    u[0].len = u[1].len = 1;
    MDB_txn *txn;
    assert_int_equal(mdb_txn_begin(f.env, NULL, 0, &txn), 0);
    assert_int_equal(smt_commit(f.s, txn, tree, 1, u, 2, root1, err, sizeof err), 0);
    /* nothing changed, or only absent keys deleted: a new version, the same root */
    assert_int_equal(smt_commit(f.s, txn, tree, 2, u, 0, root, err, sizeof err), 0);
    assert_memory_equal(root, root1, 32);
    memcpy(u[0].key, f.keys[2], SMT_KEY_BYTES);
    u[0].value = NULL;
    assert_int_equal(smt_commit(f.s, txn, tree, 3, u, 1, root, err, sizeof err), 0);
    assert_memory_equal(root, root1, 32);
    assert_int_equal(smt_latest(f.s, txn, tree), 3);
    /* a record overwritten with garbage: a one-line error, no crash */
    MDB_dbi nodes;
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_dbi_open(txn, "smt_nodes", 0, &nodes), 0);
    assert_int_equal(mdb_cursor_open(txn, nodes, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_int_equal(((const uint8_t *)k.mv_data)[SMT_KEY_BYTES + 8], 0); /* the root record */
    uint8_t garbage[] = {0xff, 0xff, 0xff}, key[64];
    assert_true(k.mv_size <= sizeof key);
    memcpy(key, k.mv_data, k.mv_size); /* not LMDB's memory, which the put rewrites */
    k.mv_data = key;
    MDB_val g = {sizeof garbage, garbage};
    mdb_cursor_close(cur);
    assert_int_equal(mdb_put(txn, nodes, &k, &g, 0), 0);
    smt_proof p;
    const uint8_t *value;
    size_t len;
    assert_int_equal(smt_prove(f.s, txn, tree, 3, f.keys[1], &p, &value, &len, err, sizeof err), SMT_ERROR);
    assert_non_null(strstr(err, "corrupt"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(smt_commit(f.s, txn, tree, 4, u + 1, 1, root, err, sizeof err), -1);
    mdb_txn_abort(txn);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_tree_is_zeros),
        cmocka_unit_test(one_leaf_is_its_leaf_hash),
        cmocka_unit_test(two_keys_split_at_bit_0),
        cmocka_unit_test(three_keys),
        cmocka_unit_test(keys_sharing_159_bits),
        cmocka_unit_test(equal_keys_refused),
        cmocka_unit_test(inclusion_proof),
        cmocka_unit_test(absence_proofs),
        cmocka_unit_test(tampered_proofs_refused),
        cmocka_unit_test(store_matches_naive_tree),
        cmocka_unit_test(pruning_keeps_retention_and_checkpoints),
        cmocka_unit_test(latest_values_through_partial_merges),
        cmocka_unit_test(empty_commits_and_corrupt_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
