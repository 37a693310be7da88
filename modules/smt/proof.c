/* proof.c: the pure part of smt.h: the naive root, proofs' bytes and their
 * verification. */
#include "errbuf.h"
#include "smt.h"

#include <stdlib.h>
#include <string.h>

const char *smt_strerror(enum smt_status status)
{
    switch (status) {
    case SMT_OK:
        return "ok";
    case SMT_NOT_FOUND:
        return "not found";
    case SMT_PRUNED:
        return "pruned";
    case SMT_BAD_PROOF:
        return "bad proof";
    case SMT_ERROR:
        break;
    }
    return "error";
}

/* --- the naive root ----------------------------------------------------------- */

typedef struct {
    const uint8_t *key;
    uint8_t leaf[SMT_HASH_BYTES];
} naive_leaf;

static int naive_cmp(const void *a, const void *b)
{
    return memcmp(((const naive_leaf *)a)->key, ((const naive_leaf *)b)->key, SMT_KEY_BYTES);
}

/* The hash of the subtree at depth holding leaves[0..n) (sorted, sharing
 * their first depth bits). -1 on two equal keys. */
static int naive_subtree(uint8_t out[SMT_HASH_BYTES], const naive_leaf *leaves, size_t n, unsigned depth)
{
    if (n == 0) {
        memset(out, 0, SMT_HASH_BYTES);
        return 0;
    }
    if (n == 1) {
        memcpy(out, leaves[0].leaf, SMT_HASH_BYTES);
        return 0;
    }
    if (depth >= SMT_DEPTH_MAX)
        return -1;
    size_t split = 0;
    while (split < n && !smt_key_bit(leaves[split].key, depth))
        split++;
    uint8_t left[SMT_HASH_BYTES], right[SMT_HASH_BYTES];
    if (naive_subtree(left, leaves, split, depth + 1) != 0 ||
        naive_subtree(right, leaves + split, n - split, depth + 1) != 0)
        return -1;
    smt_node_hash(out, left, right);
    return 0;
}

int smt_root_of(uint8_t root[SMT_HASH_BYTES], const uint8_t *keys, const uint8_t *const *values,
                const size_t *lens, size_t n)
{
    naive_leaf *leaves = malloc((n ? n : 1) * sizeof *leaves);
    if (!leaves)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t value_hash[SMT_HASH_BYTES];
        smt_hash(value_hash, values[i], lens[i]);
        leaves[i].key = keys + i * SMT_KEY_BYTES;
        smt_leaf_hash(leaves[i].leaf, leaves[i].key, value_hash);
    }
    qsort(leaves, n, sizeof *leaves, naive_cmp);
    int rc = naive_subtree(root, leaves, n, 0);
    free(leaves);
    return rc;
}

/* --- proofs ------------------------------------------------------------------- */

static int bitmap_bit(const uint8_t *bitmap, unsigned i) { return bitmap[i / 8] >> (7 - i % 8) & 1; }

size_t smt_proof_encode(const smt_proof *p, uint8_t out[SMT_PROOF_MAX])
{
    size_t at = 0;
    unsigned bitmap_len = (p->depth + 7u) / 8;
    out[at++] = p->kind;
    out[at++] = p->depth;
    memcpy(out + at, p->bitmap, bitmap_len);
    at += bitmap_len;
    memcpy(out + at, p->siblings, (size_t)p->nsiblings * SMT_HASH_BYTES);
    at += (size_t)p->nsiblings * SMT_HASH_BYTES;
    if (p->kind == SMT_PROOF_OTHER_LEAF) {
        memcpy(out + at, p->other_key, SMT_KEY_BYTES);
        at += SMT_KEY_BYTES;
        memcpy(out + at, p->other_value_hash, SMT_HASH_BYTES);
        at += SMT_HASH_BYTES;
    }
    return at;
}

#define BAD(...) (errbuf_set(err, errlen, __VA_ARGS__), SMT_BAD_PROOF)

enum smt_status smt_proof_decode(smt_proof *p, const uint8_t *in, size_t len, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (len < 2)
        return BAD("proof truncated: %zu bytes", len);
    p->kind = in[0];
    p->depth = in[1];
    if (p->kind > SMT_PROOF_OTHER_LEAF)
        return BAD("proof of unknown kind %u", p->kind);
    if (p->depth > SMT_DEPTH_MAX)
        return BAD("proof depth %u over %u", p->depth, SMT_DEPTH_MAX);
    size_t at = 2;
    unsigned bitmap_len = (p->depth + 7u) / 8;
    if (len - at < bitmap_len)
        return BAD("proof truncated in its bitmap");
    memcpy(p->bitmap, in + at, bitmap_len);
    at += bitmap_len;
    for (unsigned i = 0; i < bitmap_len * 8u; i++) {
        if (!bitmap_bit(p->bitmap, i))
            continue;
        if (i >= p->depth)
            return BAD("proof bitmap bit %u at or past depth %u", i, p->depth);
        p->nsiblings++;
    }
    if ((len - at) / SMT_HASH_BYTES < p->nsiblings)
        return BAD("proof truncated in its siblings");
    memcpy(p->siblings, in + at, (size_t)p->nsiblings * SMT_HASH_BYTES);
    at += (size_t)p->nsiblings * SMT_HASH_BYTES;
    if (p->kind == SMT_PROOF_OTHER_LEAF) {
        if (len - at < SMT_KEY_BYTES + SMT_HASH_BYTES)
            return BAD("proof truncated in its other leaf");
        memcpy(p->other_key, in + at, SMT_KEY_BYTES);
        at += SMT_KEY_BYTES;
        memcpy(p->other_value_hash, in + at, SMT_HASH_BYTES);
        at += SMT_HASH_BYTES;
    }
    if (at != len)
        return BAD("proof has %zu trailing bytes", len - at);
    return SMT_OK;
}

/* Do a and b share their first n bits? */
static int same_prefix(const uint8_t *a, const uint8_t *b, unsigned n)
{
    if (memcmp(a, b, n / 8) != 0)
        return 0;
    if (n % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - n % 8));
    return ((a[n / 8] ^ b[n / 8]) & mask) == 0;
}

enum smt_status smt_proof_verify(const smt_proof *p, const uint8_t root[SMT_HASH_BYTES],
                                 const uint8_t key[SMT_KEY_BYTES], const void *value, size_t len, char *err,
                                 size_t errlen)
{
    static const uint8_t zeros[SMT_HASH_BYTES];
    uint8_t x[SMT_HASH_BYTES];
    if (p->depth > SMT_DEPTH_MAX || p->nsiblings > p->depth)
        return BAD("proof depth %u over %u", p->depth, SMT_DEPTH_MAX);
    if (value) {
        if (p->kind != SMT_PROOF_INCLUSION)
            return BAD("proof of absence where a value was expected");
        uint8_t value_hash[SMT_HASH_BYTES];
        smt_hash(value_hash, value, len);
        smt_leaf_hash(x, key, value_hash);
    } else if (p->kind == SMT_PROOF_EMPTY) {
        memset(x, 0, sizeof x);
    } else if (p->kind == SMT_PROOF_OTHER_LEAF) {
        if (memcmp(p->other_key, key, SMT_KEY_BYTES) == 0)
            return BAD("proof's other leaf is the key itself");
        if (!same_prefix(p->other_key, key, p->depth))
            return BAD("proof's other leaf is off the key's path");
        smt_leaf_hash(x, p->other_key, p->other_value_hash);
    } else {
        return BAD("proof of inclusion where absence was expected");
    }
    unsigned sibling = p->nsiblings;
    for (unsigned i = p->depth; i-- > 0;) {
        const uint8_t *s = zeros;
        if (bitmap_bit(p->bitmap, i)) {
            if (sibling == 0)
                return BAD("proof has fewer siblings than its bitmap");
            s = p->siblings[--sibling];
        }
        if (smt_key_bit(key, i))
            smt_node_hash(x, s, x);
        else
            smt_node_hash(x, x, s);
    }
    if (sibling != 0)
        return BAD("proof has more siblings than its bitmap");
    if (memcmp(x, root, SMT_HASH_BYTES) != 0)
        return BAD("proof does not hold: the root differs");
    return SMT_OK;
}
