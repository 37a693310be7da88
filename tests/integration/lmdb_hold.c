/*
 * lmdb_hold: holds the write lock of a node's LMDB environment, so that its
 * database writer (the RESP loop) waits as it would behind a long write
 * (nonstall_spec.lua).
 *
 *     lmdb_hold DIR RELEASE
 *
 * Opens the environment in DIR (the node's home/data), begins a write
 * transaction, prints "held" on stdout, and keeps it until a file RELEASE
 * exists (a file rather than stdin's end: children the test starts meanwhile
 * would inherit a pipe's other end); then aborts it (nothing is written),
 * prints "released" and exits 0. Exits 1 with a line on stderr when the
 * environment cannot be opened.
 */
#include <lmdb.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr, "usage: lmdb_hold DIR RELEASE\n"), 2;
    MDB_env *env;
    MDB_txn *txn;
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_set_mapsize(env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644)) || (rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return fprintf(stderr, "lmdb_hold: %s\n", mdb_strerror(rc)), 1;
    printf("held\n");
    fflush(stdout);
    struct timespec tick = {0, 10 * 1000000};
    while (access(argv[2], F_OK) != 0)
        nanosleep(&tick, NULL);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    printf("released\n");
    return 0;
}
