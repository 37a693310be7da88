/*
 * The store's private parts, shared by its .c files. The DBIs:
 *   blocks  multihash (MH_LEN bytes) -> 8-byte little-endian write time
 *           (unix seconds, for gc's spare_since) followed by the block
 *   pins    binary CID of a recursively pinned root -> empty
 *   files   MID (27 bytes) + big-endian u32 version (0 = cur) -> binary CID
 *   refs    MID (27 bytes) + other MID -> little-endian u32 count
 *   hidden  multihash of a block of an app's server code -> empty (hidden.c)
 */
#ifndef LEITHER_STORE_INTERNAL_H
#define LEITHER_STORE_INTERNAL_H

#include "store.h"

#define BLOCK_TIME_LEN 8

struct blockstore {
    MDB_env *env;
    MDB_dbi blocks, pins, files, refs, hidden;
    /* bytes of new blocks bs_put stored, ever: LMDB lets one write
     * transaction run at a time, so its writer alone changes and reads it */
    uint64_t put_bytes;
};

#endif
