/* smt_naive.h: a proof builder over the naive tree (from smt.h's rules
 * alone, no storage), shared by test_smt.c and smt_vectors.c: the
 * reference the store's proofs are compared with byte for byte. */
#ifndef LEITHER_SMT_NAIVE_H
#define LEITHER_SMT_NAIVE_H

#include "smt.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t key[SMT_KEY_BYTES];
    const uint8_t *value;
    size_t len;
    uint8_t value_hash[SMT_HASH_BYTES];
    uint8_t leaf[SMT_HASH_BYTES];
} naive_leaf;

static int naive_leaf_cmp(const void *a, const void *b)
{
    return memcmp(((const naive_leaf *)a)->key, ((const naive_leaf *)b)->key, SMT_KEY_BYTES);
}

/* Fills the hashes and sorts by key. */
static void naive_prepare(naive_leaf *leaves, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        smt_hash(leaves[i].value_hash, leaves[i].value, leaves[i].len);
        smt_leaf_hash(leaves[i].leaf, leaves[i].key, leaves[i].value_hash);
    }
    qsort(leaves, n, sizeof *leaves, naive_leaf_cmp);
}

static size_t naive_split(const naive_leaf *leaves, size_t n, unsigned depth)
{
    size_t split = 0;
    while (split < n && !smt_key_bit(leaves[split].key, depth))
        split++;
    return split;
}

static void naive_hash(uint8_t out[SMT_HASH_BYTES], const naive_leaf *leaves, size_t n, unsigned depth)
{
    if (n <= 1) {
        if (n)
            memcpy(out, leaves[0].leaf, SMT_HASH_BYTES);
        else
            memset(out, 0, SMT_HASH_BYTES);
        return;
    }
    size_t split = naive_split(leaves, n, depth);
    uint8_t l[SMT_HASH_BYTES], r[SMT_HASH_BYTES];
    naive_hash(l, leaves, split, depth + 1);
    naive_hash(r, leaves + split, n - split, depth + 1);
    smt_node_hash(out, l, r);
}

/* The proof of key in the sorted leaves; the leaf when present, else NULL. */
static const naive_leaf *naive_prove(smt_proof *p, const naive_leaf *leaves, size_t n,
                                     const uint8_t key[SMT_KEY_BYTES])
{
    static const uint8_t zeros[SMT_HASH_BYTES];
    memset(p, 0, sizeof *p);
    unsigned depth = 0;
    while (n > 1) {
        size_t split = naive_split(leaves, n, depth);
        uint8_t sibling[SMT_HASH_BYTES];
        if (smt_key_bit(key, depth)) {
            naive_hash(sibling, leaves, split, depth + 1);
            leaves += split;
            n -= split;
        } else {
            naive_hash(sibling, leaves + split, n - split, depth + 1);
            n = split;
        }
        if (memcmp(sibling, zeros, SMT_HASH_BYTES) != 0) {
            p->bitmap[depth / 8] |= (uint8_t)(0x80 >> depth % 8);
            memcpy(p->siblings[p->nsiblings++], sibling, SMT_HASH_BYTES);
        }
        depth++;
    }
    p->depth = (uint8_t)depth;
    if (n == 0) {
        p->kind = SMT_PROOF_EMPTY;
        return NULL;
    }
    if (memcmp(leaves[0].key, key, SMT_KEY_BYTES) == 0) {
        p->kind = SMT_PROOF_INCLUSION;
        return &leaves[0];
    }
    p->kind = SMT_PROOF_OTHER_LEAF;
    memcpy(p->other_key, leaves[0].key, SMT_KEY_BYTES);
    memcpy(p->other_value_hash, leaves[0].value_hash, SMT_HASH_BYTES);
    return NULL;
}

#endif
