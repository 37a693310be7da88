/* hash.c: the tree's hashes (smt.h). */
#include "smt.h"

#include <sodium.h>
#include <string.h>

void smt_hash(uint8_t out[SMT_HASH_BYTES], const void *data, size_t len)
{
    crypto_generichash(out, SMT_HASH_BYTES, data, len, NULL, 0);
}

void smt_leaf_hash(uint8_t out[SMT_HASH_BYTES], const uint8_t key[SMT_KEY_BYTES],
                   const uint8_t value_hash[SMT_HASH_BYTES])
{
    uint8_t in[1 + SMT_KEY_BYTES + SMT_HASH_BYTES];
    in[0] = 0x00;
    memcpy(in + 1, key, SMT_KEY_BYTES);
    memcpy(in + 1 + SMT_KEY_BYTES, value_hash, SMT_HASH_BYTES);
    smt_hash(out, in, sizeof in);
}

void smt_node_hash(uint8_t out[SMT_HASH_BYTES], const uint8_t left[SMT_HASH_BYTES],
                   const uint8_t right[SMT_HASH_BYTES])
{
    uint8_t in[1 + 2 * SMT_HASH_BYTES];
    in[0] = 0x01;
    memcpy(in + 1, left, SMT_HASH_BYTES);
    memcpy(in + 1 + SMT_HASH_BYTES, right, SMT_HASH_BYTES);
    smt_hash(out, in, sizeof in);
}

int smt_key_bit(const uint8_t key[SMT_KEY_BYTES], unsigned i) { return key[i / 8] >> (7 - i % 8) & 1; }
