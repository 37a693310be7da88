/*
 * car_put: stores the blocks of a CARv1 file in a node's content store and
 * pins its root, for what `leither ipfs add` cannot make (gateway_spec.lua:
 * a HAMT-sharded directory from the JS importer).
 *
 *     car_put DATADIR CARFILE
 *
 * LMDB is multi-process: the node may be running. Every block is checked
 * against its CID first.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: car_put DATADIR CARFILE\n");
        return 2;
    }
    FILE *fp = fopen(argv[2], "rb");
    if (!fp)
        return perror(argv[2]), 1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *car = malloc((size_t)n);
    if (fread(car, 1, (size_t)n, fp) != (size_t)n)
        return perror(argv[2]), 1;
    fclose(fp);

    MDB_env *env;
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_set_mapsize(env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644)))
        return fprintf(stderr, "car_put: %s\n", mdb_strerror(rc)), 1;
    char err[512];
    blockstore *bs = bs_open(env, err, sizeof err);
    cid root, c;
    size_t nroots, off;
    MDB_txn *txn;
    if (!bs || car_read_header(car, (size_t)n, &root, 1, &nroots, &off, err, sizeof err) != 0 || nroots != 1 ||
        !(txn = bs_begin(bs, 1, err, sizeof err)))
        return fprintf(stderr, "car_put: %s\n", err), 1;
    const uint8_t *block;
    size_t len;
    int got;
    while ((got = car_next(car, (size_t)n, &off, &c, &block, &len, err, sizeof err)) == 1) {
        cid again;
        cid_of_block(&again, c.version, c.codec, block, len);
        if (!cid_equal(&again, &c))
            return fprintf(stderr, "car_put: a block does not hash to its CID\n"), 1;
        if (bs_put(bs, txn, &c, block, len, err, sizeof err) != 0)
            return fprintf(stderr, "car_put: %s\n", err), 1;
    }
    if (got < 0 || bs_pin(bs, txn, &root, 1, err, sizeof err) != 0 || bs_commit(txn, err, sizeof err) != 0)
        return fprintf(stderr, "car_put: %s\n", err), 1;
    char text[CID_TEXT_MAX];
    cid_format(&root, text);
    puts(text);
    bs_close(bs);
    mdb_env_close(env);
    free(car);
    return 0;
}
