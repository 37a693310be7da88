/*
 * block_tamper: corrupts one stored block of a node, for gateway_spec.lua.
 *
 *     block_tamper DATADIR CIDHEX
 *
 * Opens the node's LMDB environment (LMDB is multi-process: the node may
 * be running) and flips one bit in the middle of the block whose binary CID
 * is CIDHEX, keeping its length and write time: the bytes no longer hash
 * to the CID, which every read must notice.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: block_tamper DATADIR CIDHEX\n");
        return 2;
    }
    unsigned char bin[64];
    size_t n = strlen(argv[2]) / 2;
    if (n > sizeof bin || n < 34)
        return fprintf(stderr, "block_tamper: bad CID\n"), 2;
    for (size_t i = 0; i < n; i++)
        sscanf(argv[2] + 2 * i, "%2hhx", &bin[i]);
    MDB_val key = {34, bin + n - 34}; /* the multihash ends the binary CID */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val v;
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_set_mapsize(env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, "blocks", 0, &dbi)) || (rc = mdb_get(txn, dbi, &key, &v)))
        return fprintf(stderr, "block_tamper: %s\n", mdb_strerror(rc)), 1;
    unsigned char *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[8 + (v.mv_size - 8) / 2] ^= 0x10;
    MDB_val nv = {v.mv_size, copy};
    if ((rc = mdb_put(txn, dbi, &key, &nv, 0)) || (rc = mdb_txn_commit(txn)))
        return fprintf(stderr, "block_tamper: %s\n", mdb_strerror(rc)), 1;
    mdb_env_close(env);
    free(copy);
    return 0;
}
