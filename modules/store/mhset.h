/*
 * mhset: a set of sha2-256 digests (open addressing), for gc's mark phase
 * and the DAG walk's "each block once". Private to the store.
 */
#ifndef LEITHER_STORE_MHSET_H
#define LEITHER_STORE_MHSET_H

#include "store.h"

typedef struct {
    uint8_t (*slots)[CID_DIGEST_LEN];
    uint8_t *used;
    size_t cap, n; /* cap: a power of two */
} mhset;

void mhset_init(mhset *s);
void mhset_free(mhset *s);
/* 1 when added, 0 when it was there, -1 out of memory. */
int mhset_add(mhset *s, const uint8_t digest[CID_DIGEST_LEN]);
int mhset_has(const mhset *s, const uint8_t digest[CID_DIGEST_LEN]);

#endif
