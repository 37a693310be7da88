/*
 * smt: a versioned sparse Merkle tree, its proofs, and its storage in an
 * LMDB environment. This header is the format: a third party can compute
 * our roots and check our proofs from it alone.
 *
 * THE TREE
 *   H(x)      BLAKE2b-256 of x (libsodium crypto_generichash, 32-byte
 *             output, no key).
 *   keys      160 bits (SMT_KEY_BYTES = 20): an account's Leither ID
 *             decoded from base64url. Bit i of a key is bit (7 - i mod 8)
 *             of byte i/8 (most significant first); bit 0 picks the root's
 *             child: 0 left, 1 right. The node at depth d on a key's path
 *             is named by the key's first d bits.
 *   leaf      key k with value bytes v (any length, 0 included) hashes to
 *             H(0x00 || k || H(v)).
 *   empty     an empty subtree hashes to 32 zero bytes; so does the empty
 *             tree's root.
 *   one leaf  a subtree holding exactly one leaf hashes to that leaf's hash:
 *             a leaf sits at the shallowest depth where it is alone.
 *   internal  a subtree holding two or more leaves hashes to
 *             H(0x01 || left || right).
 *
 * A PROOF for key k at a version (smt_proof; bytes in this order):
 *   kind      1 byte: 0 inclusion (the path ends in k's leaf), 1 the path
 *             ends in an empty subtree, 2 the path ends in another key's
 *             leaf (1 and 2 prove that k is absent)
 *   d         1 byte: the depth where the path ends (0..160)
 *   bitmap    (d + 7) / 8 bytes: bit i (key bit order) is set when the
 *             sibling at depth i (the other child of the node at depth i)
 *             is not empty; bits from d on are zero
 *   siblings  32 bytes for each set bit, from the root down
 *   other     kind 2 only: that leaf's key (20 bytes) and value hash
 *             (32 bytes)
 * Nothing may follow. To verify against a root: start from the hash at
 * depth d (kind 0: the leaf hash of k and the value; kind 1: 32 zero bytes;
 * kind 2: the other leaf's hash, whose key must share k's first d bits and
 * differ from k), and for i from d - 1 down to 0 take the sibling at depth
 * i (zeros when its bit is clear) and hash H(0x01 || x || sibling) when
 * bit i of k is 0, H(0x01 || sibling || x) when it is 1. The proof holds
 * when the result is the root. (A leaf's true position always has a
 * non-empty sibling above it, so no other fold is needed; a proof that
 * claims a deeper position simply does not hold.) The text form is
 * base64url, no padding.
 *
 * STORAGE (smt_store, in the node's one LMDB environment)
 * Many trees share one store, each named by a 20-byte tree ID (an
 * organization's ID). A tree's versions are numbered 1, 2, 3, ... and each
 * commit makes exactly the next one; version 0 is the empty tree.
 *   nodes     keyed by (tree, version, path): a commit writes only new
 *             records, all under its own version, so a version's writes are
 *             appends; a record may hold several levels (see smt.c)
 *   latest    (tree, key) -> the newest value: reads of the newest version
 *             touch one record, or two: a commit writes its changes to a
 *             recent part of the table, read first, which smt_prune merges
 *             into the base part
 *   stale     (tree, version, node) written in the same transaction as the
 *             version that made the node stale
 *   roots     (tree, version) -> root hash
 * The records (smt.c has the bytes): one record holds four levels, the node
 * at depth 4D on a path (D = 0..39) down to its 16 slots at depth 4D+4;
 * a slot is empty, a leaf (key, leaf hash, the version of its value's
 * record) or a child record (its version and hash), so reading a path is
 * one lookup per four levels with no search for versions; a record keeps
 * the hashes of its inner nodes (but those just above its slots, one hash
 * away), so a commit hashes only touched nodes and their siblings' pairs,
 * and a proof reads its siblings. Values sit in leaf records (tree, version,
 * 0xff, key). A record other than the root holds two leaves or more.
 * Pruning removes nodes made stale by versions older than the newest minus
 * the retention (ledger_retention_pulses), in bounded batches, and keeps
 * every node a checkpoint version (a multiple of SMT_CHECKPOINT_EVERY, the
 * seed's 30-minute cycle of 1-second pulses) needs, forever: every version
 * within the retention, and every checkpoint, can be read and proved.
 * Reading a pruned version fails with SMT_PRUNED.
 *
 * Threads: the pure functions are safe anywhere. The store takes the
 * caller's transactions (LMDB's rules: one write transaction at a time in
 * the environment; a read transaction per thread); it keeps no state
 * between calls except its DBI handles, so any thread may use it.
 *
 * Errors: functions returning int give 0 (or what they say) on success and
 * -1 (SMT_ERROR) with a one-line reason in err (errbuf.h); those whose
 * callers must tell failures apart return enum smt_status.
 */
#ifndef LEITHER_SMT_H
#define LEITHER_SMT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define SMT_KEY_BYTES 20
#define SMT_HASH_BYTES 32
#define SMT_DEPTH_MAX 160
/* kind, depth, bitmap, 160 siblings, other leaf */
#define SMT_PROOF_MAX (2 + SMT_DEPTH_MAX / 8 + SMT_DEPTH_MAX * SMT_HASH_BYTES + SMT_KEY_BYTES + SMT_HASH_BYTES)
/* every 1800th version is kept forever */
#define SMT_CHECKPOINT_EVERY 1800
/* the largest value a leaf may hold (an account is 17 bytes; contract
 * storage values are bounded by their writers) */
#define SMT_VALUE_MAX 4096

enum smt_status {
    SMT_ERROR = -1,    /* LMDB, memory, or a malformed input: err says */
    SMT_OK = 0,
    SMT_NOT_FOUND = 1, /* no such key (get), or no such version of the tree */
    SMT_PRUNED = 2,    /* the version was pruned: beyond the retention, not a checkpoint */
    SMT_BAD_PROOF = 3  /* a proof that does not decode, or does not hold */
};
/* The kind's name ("not found", ...): a static string. */
const char *smt_strerror(enum smt_status status);

/* --- hashing (pure) --------------------------------------------------------- */

void smt_hash(uint8_t out[SMT_HASH_BYTES], const void *data, size_t len);
/* H(0x00 || key || value_hash) */
void smt_leaf_hash(uint8_t out[SMT_HASH_BYTES], const uint8_t key[SMT_KEY_BYTES],
                   const uint8_t value_hash[SMT_HASH_BYTES]);
/* H(0x01 || left || right) */
void smt_node_hash(uint8_t out[SMT_HASH_BYTES], const uint8_t left[SMT_HASH_BYTES],
                   const uint8_t right[SMT_HASH_BYTES]);
/* Bit i of key (0 or 1). */
int smt_key_bit(const uint8_t key[SMT_KEY_BYTES], unsigned i);

/* The root of a set of (key, value) leaves, computed naively from the rules
 * above (no storage): the reference the store is tested against, and what
 * a replay may use for small trees. keys are n * SMT_KEY_BYTES, distinct;
 * values[i] has lens[i] bytes. 0, or -1 when memory ran out. */
int smt_root_of(uint8_t root[SMT_HASH_BYTES], const uint8_t *keys, const uint8_t *const *values,
                const size_t *lens, size_t n);

/* --- proofs (pure) ------------------------------------------------------------ */

enum smt_proof_kind { SMT_PROOF_INCLUSION = 0, SMT_PROOF_EMPTY = 1, SMT_PROOF_OTHER_LEAF = 2 };

typedef struct {
    uint8_t kind;  /* enum smt_proof_kind */
    uint8_t depth; /* 0..SMT_DEPTH_MAX */
    uint8_t bitmap[SMT_DEPTH_MAX / 8];
    uint8_t siblings[SMT_DEPTH_MAX][SMT_HASH_BYTES]; /* the set bits' siblings, from the root down */
    unsigned nsiblings;
    uint8_t other_key[SMT_KEY_BYTES];                /* kind 2 */
    uint8_t other_value_hash[SMT_HASH_BYTES];        /* kind 2 */
} smt_proof;

/* Bytes as above; returns the length (at most SMT_PROOF_MAX). */
size_t smt_proof_encode(const smt_proof *p, uint8_t out[SMT_PROOF_MAX]);
/* Strict: SMT_OK, or SMT_BAD_PROOF with a reason (unknown kind, depth over
 * 160, bitmap bits at or past d, truncated, trailing bytes). */
enum smt_status smt_proof_decode(smt_proof *p, const uint8_t *in, size_t len, char *err, size_t errlen);
/* Does p prove, under root, that key holds value (value non-NULL: kind 0)
 * or that key is absent (value NULL: kind 1 or 2)? SMT_OK, or
 * SMT_BAD_PROOF with the reason. */
enum smt_status smt_proof_verify(const smt_proof *p, const uint8_t root[SMT_HASH_BYTES],
                                 const uint8_t key[SMT_KEY_BYTES], const void *value, size_t len, char *err,
                                 size_t errlen);

/* --- the store ---------------------------------------------------------------- */

typedef struct smt_store smt_store;

/* Opens (creating) the store's DBIs in env, in a transaction of its own.
 * The environment needs room for SMT_DBIS more named databases. */
#define SMT_DBIS 4
int smt_open(smt_store **out, MDB_env *env, char *err, size_t errlen);
void smt_close(smt_store *s);

/* One change of a commit: value NULL deletes the key (absent stays absent). */
typedef struct {
    uint8_t key[SMT_KEY_BYTES];
    const uint8_t *value;
    size_t len; /* at most SMT_VALUE_MAX */
} smt_update;

/* Makes version `version` of tree in txn (a write transaction): it must be
 * the tree's newest version + 1 (1 for a new tree). updates are sorted in
 * place by key; a key given twice takes its last value. Every touched node
 * is hashed once. The new root in root (non-NULL). 0, or -1 with err (then
 * the caller aborts txn). */
int smt_commit(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
               smt_update *updates, size_t n, uint8_t root[SMT_HASH_BYTES], char *err, size_t errlen);

/* The tree's newest version (0 when it has none). */
uint64_t smt_latest(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES]);

/* The root at version (0: the empty tree's). SMT_OK, SMT_NOT_FOUND (a
 * version the tree does not have yet), SMT_ERROR. Roots are kept for every
 * version, pruned or not. */
enum smt_status smt_root(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                         uint8_t root[SMT_HASH_BYTES], char *err, size_t errlen);

/* key's value at version (SMT_LATEST: the newest, one or two reads of the
 * latest table: its recent part, then its base). SMT_OK with *value
 * pointing into LMDB's memory (valid until txn ends) and *len,
 * SMT_NOT_FOUND, SMT_PRUNED, SMT_ERROR. */
#define SMT_LATEST UINT64_MAX
enum smt_status smt_get(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                        const uint8_t key[SMT_KEY_BYTES], const uint8_t **value, size_t *len, char *err,
                        size_t errlen);

/* A proof of key at version (SMT_LATEST: the newest), and the value when
 * it is present (*value NULL when absent; pointing into LMDB's memory).
 * SMT_OK, SMT_NOT_FOUND (no such version), SMT_PRUNED, SMT_ERROR. */
enum smt_status smt_prove(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
                          const uint8_t key[SMT_KEY_BYTES], smt_proof *proof, const uint8_t **value, size_t *len,
                          char *err, size_t errlen);

/* Calls fn for every leaf of the tree at version, in key order (fn returns
 * nonzero to stop; smt_each returns that). SMT_OK, SMT_NOT_FOUND,
 * SMT_PRUNED, SMT_ERROR; fn's nonzero answer is returned as is. */
int smt_each(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t version,
             int (*fn)(void *arg, const uint8_t key[SMT_KEY_BYTES], const uint8_t *value, size_t len), void *arg,
             char *err, size_t errlen);

/* Removes, in txn, at most max_nodes nodes that versions at or before
 * newest - retention made stale and that no checkpoint needs, after merging
 * the latest values the commits wrote since the last call (each merged value
 * counts as a node; this happens before any version is beyond the
 * retention too). The number removed and merged (0 when nothing is left to
 * do), or -1 with err. (Removing a
 * node rewrites its old page: pruning every few dozen versions with a
 * max_nodes as many times larger writes several times less than pruning
 * after every version; tests/bench/smt.sh measures both.) */
long smt_prune(smt_store *s, MDB_txn *txn, const uint8_t tree[SMT_KEY_BYTES], uint64_t retention,
               size_t max_nodes, char *err, size_t errlen);

/* Bytes the store's DBIs use in env (pages * page size), for the bench. */
uint64_t smt_disk_bytes(smt_store *s, MDB_txn *txn);

#endif
