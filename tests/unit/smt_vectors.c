/*
 * smt_vectors [SEED]: test vectors for third-party verifiers of smt.h's
 * roots and proofs (the JS and Lua verifiers are tested against them).
 * One JSON document on stdout:
 *   {"cases":[{"leaves":[{"key":K,"value":V}...],"root":R,
 *              "proofs":[{"key":K,"value":V or
 * null,"kind":0|1|2,"proof":P}...]}...]} every byte string base64url without
 * padding. Cases of 0, 1, 2, 3, 17 and 300 leaves, some keys sharing long
 * prefixes, values of 0, 17 and 100 bytes; proofs of present keys (kind 0) and
 * absent keys (kinds 1 and 2). The same SEED gives the same document. The
 * proofs come from the store (smt_prove, a tree committed in two versions in a
 * temporary LMDB environment) and must match, byte for byte, a naive proof
 * builder's.
 */
#include "ids.h"
#include "smt.h"
#include "smt_naive.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state;
static MDB_env *env;
static smt_store *store;
static uint8_t tree[SMT_KEY_BYTES];
static uint64_t tree_version;

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "smt_vectors: %s: %s\n", what, err);
    exit(1);
}

/* A fresh tree of the store holding leaves, committed in two versions. */
static void store_leaves(const naive_leaf *leaves, size_t n, const uint8_t root[SMT_HASH_BYTES])
{
    char err[256];
    tree[0]++;
    tree_version = 0;
    smt_update *u = calloc(n ? n : 1, sizeof *u);
    if (!u)
        fail("memory", "out of memory");
    for (size_t i = 0; i < n; i++) {
        memcpy(u[i].key, leaves[i].key, SMT_KEY_BYTES);
        u[i].value = leaves[i].value;
        u[i].len = leaves[i].len;
    }
    size_t half = n / 2;
    for (int part = 0; part < 2; part++) {
        MDB_txn *txn;
        uint8_t got[SMT_HASH_BYTES];
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            fail("lmdb", "cannot begin");
        if (smt_commit(store, txn, tree, ++tree_version, part ? u + half : u, part ? n - half : half, got, err,
                       sizeof err) != 0)
            fail("commit", err);
        if (mdb_txn_commit(txn) != 0)
            fail("lmdb", "cannot commit");
        if (part && memcmp(got, root, SMT_HASH_BYTES) != 0)
            fail("the store's root", "differs from the naive tree's");
    }
    free(u);
}

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void random_bytes(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)rng();
}

static void print_b64(const uint8_t *in, size_t n)
{
    char out[IDS_B64URL_LEN(SMT_PROOF_MAX) + 1];
    ids_b64url_encode(out, in, n);
    printf("\"%s\"", out);
}

static int has_key(const naive_leaf *leaves, size_t n, const uint8_t key[SMT_KEY_BYTES])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(leaves[i].key, key, SMT_KEY_BYTES) == 0)
            return 1;
    return 0;
}

static void print_proof(const naive_leaf *leaves, size_t n, const uint8_t root[SMT_HASH_BYTES],
                        const uint8_t key[SMT_KEY_BYTES], int *first)
{
    smt_proof p, naive;
    const naive_leaf *leaf = naive_prove(&naive, leaves, n, key);
    char err[256];
    MDB_txn *txn;
    const uint8_t *value;
    size_t value_len;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        fail("lmdb", "cannot begin");
    if (smt_prove(store, txn, tree, tree_version, key, &p, &value, &value_len, err, sizeof err) != SMT_OK)
        fail("prove", err);
    if ((value != NULL) != (leaf != NULL) ||
        (leaf && (value_len != leaf->len || memcmp(value, leaf->value, value_len))))
        fail("the store's value", "differs from the naive tree's");
    mdb_txn_abort(txn);
    if (smt_proof_verify(&p, root, key, leaf ? leaf->value : NULL, leaf ? leaf->len : 0, err, sizeof err) != SMT_OK) {
        fprintf(stderr, "smt_vectors: a proof does not hold: %s\n", err);
        exit(1);
    }
    uint8_t bytes[SMT_PROOF_MAX], naive_bytes[SMT_PROOF_MAX];
    size_t len = smt_proof_encode(&p, bytes);
    if (len != smt_proof_encode(&naive, naive_bytes) || memcmp(bytes, naive_bytes, len) != 0)
        fail("the store's proof", "differs from the naive tree's");
    printf("%s{\"key\":", *first ? "" : ",");
    *first = 0;
    print_b64(key, SMT_KEY_BYTES);
    printf(",\"value\":");
    if (leaf)
        print_b64(leaf->value, leaf->len);
    else
        printf("null");
    printf(",\"kind\":%u,\"proof\":", p.kind);
    print_b64(bytes, len);
    printf("}");
}

/* Absent keys whose proofs are of the given kind: up to want of them. */
static void print_absent(const naive_leaf *leaves, size_t n, const uint8_t root[SMT_HASH_BYTES], unsigned kind,
                         int want, int *first)
{
    for (int tries = 0; tries < 4000 && want > 0; tries++) {
        uint8_t key[SMT_KEY_BYTES];
        random_bytes(key, sizeof key);
        if (n && tries % 2) /* near a present key: shares a long prefix */
            memcpy(key, leaves[rng() % n].key, SMT_KEY_BYTES - 1 - tries % 3);
        if (has_key(leaves, n, key))
            continue;
        smt_proof p;
        naive_prove(&p, leaves, n, key);
        if (p.kind != kind)
            continue;
        print_proof(leaves, n, root, key, first);
        want--;
    }
}

int main(int argc, char **argv)
{
    rng_state = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    char dir[] = "/tmp/smt_vectors-XXXXXX", err[256];
    if (!mkdtemp(dir))
        fail(dir, "cannot make it");
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_set_mapsize(env, (size_t)1 << 28) ||
        mdb_env_open(env, dir, MDB_NOSYNC, 0600))
        fail(dir, "cannot open an LMDB environment");
    if (smt_open(&store, env, err, sizeof err) != 0)
        fail("open", err);
    static const size_t sizes[] = {0, 1, 2, 3, 17, 300};
    static const size_t value_lens[] = {0, 17, 100};
    printf("{\"cases\":[");
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        size_t n = sizes[c];
        naive_leaf *leaves = calloc(n ? n : 1, sizeof *leaves);
        uint8_t *values = malloc(n * 100 + 1);
        if (!leaves || !values)
            return 1;
        for (size_t i = 0; i < n; i++) {
            do {
                random_bytes(leaves[i].key, SMT_KEY_BYTES);
                /* every third key shares all but its last bit, or all but
                 * its last 2 bytes, with the one before */
                if (i % 3 == 1) {
                    memcpy(leaves[i].key, leaves[i - 1].key, SMT_KEY_BYTES);
                    if (i % 2)
                        leaves[i].key[SMT_KEY_BYTES - 1] ^= 1;
                    else
                        leaves[i].key[SMT_KEY_BYTES - 2] ^= 0x40;
                }
            } while (has_key(leaves, i, leaves[i].key));
            leaves[i].value = values + i * 100;
            leaves[i].len = value_lens[i % 3];
            random_bytes(values + i * 100, leaves[i].len);
        }
        naive_prepare(leaves, n);
        uint8_t root[SMT_HASH_BYTES], check[SMT_HASH_BYTES];
        naive_hash(root, leaves, n, 0);
        const uint8_t **vs = malloc((n ? n : 1) * sizeof *vs);
        size_t *lens = malloc((n ? n : 1) * sizeof *lens);
        uint8_t *keys = malloc(n * SMT_KEY_BYTES + 1);
        if (!vs || !lens || !keys)
            return 1;
        for (size_t i = 0; i < n; i++) {
            vs[i] = leaves[i].value;
            lens[i] = leaves[i].len;
            memcpy(keys + i * SMT_KEY_BYTES, leaves[i].key, SMT_KEY_BYTES);
        }
        if (smt_root_of(check, keys, vs, lens, n) != 0 || memcmp(check, root, SMT_HASH_BYTES) != 0) {
            fprintf(stderr, "smt_vectors: smt_root_of disagrees with the naive tree\n");
            return 1;
        }
        store_leaves(leaves, n, root);
        printf("%s{\"leaves\":[", c ? "," : "");
        for (size_t i = 0; i < n; i++) {
            printf("%s{\"key\":", i ? "," : "");
            print_b64(leaves[i].key, SMT_KEY_BYTES);
            printf(",\"value\":");
            print_b64(leaves[i].value, leaves[i].len);
            printf("}");
        }
        printf("],\"root\":");
        print_b64(root, SMT_HASH_BYTES);
        printf(",\"proofs\":[");
        int first = 1;
        for (size_t i = 0; i < n && i < 6; i++)
            print_proof(leaves, n, root, leaves[(i * 7919) % n].key, &first);
        print_absent(leaves, n, root, SMT_PROOF_EMPTY, 2, &first);
        print_absent(leaves, n, root, SMT_PROOF_OTHER_LEAF, 2, &first);
        printf("]}");
        free(leaves);
        free(values);
        free(vs);
        free(lens);
        free(keys);
    }
    printf("]}\n");
    smt_close(store);
    mdb_env_close(env);
    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
