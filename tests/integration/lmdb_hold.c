/*
 * lmdb_hold: holds the write lock of a node's LMDB environment, so that its
 * database writer (the RESP loop) waits as it would behind a long write
 * (nonstall_spec.lua).
 *
 *     lmdb_hold DIR
 *
 * Opens the environment in DIR (the node's home/data), begins a write
 * transaction, prints "held" on stdout, and keeps it until stdin ends; then
 * aborts it (nothing is written) and exits 0. Exits 1 with a line on stderr
 * when the environment cannot be opened.
 */
#include <lmdb.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return fprintf(stderr, "usage: lmdb_hold DIR\n"), 2;
    MDB_env *env;
    MDB_txn *txn;
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_set_mapsize(env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return fprintf(stderr, "lmdb_hold: %s\n", mdb_strerror(rc)), 1;
    printf("held\n");
    fflush(stdout);
    char buf[256];
    while (fread(buf, 1, sizeof buf, stdin) > 0)
        ;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
