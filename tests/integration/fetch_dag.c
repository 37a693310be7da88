/*
 * fetch_dag: the fetcher (runtime/sync/fetcher.h) run against real nodes,
 * for sync_fetch_spec.lua.
 *
 *     fetch_dag DATADIR ROOT PROVIDERS    the DAG under ROOT into the node
 *                                         whose data directory is DATADIR
 *                                         (it may be running: LMDB is
 *                                         multi-process), from PROVIDERS
 *                                         (JSON: [{"ID", "Addrs"}...]);
 *                                         prints "BLOCKS BYTES"
 *     fetch_dag --get URL MAX             sync_http_get: prints the length
 *     fetch_dag --base ADDRS              sync_base_url of a JSON array
 * Errors: "fetch_dag: reason" on stderr, exit 1. Dropped providers are
 * logged as the node logs them ("leither: sync: provider ... dropped").
 */
#include "fetcher.h"
#include "sync.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *why)
{
    fprintf(stderr, "fetch_dag: %s\n", why);
    return 1;
}

int main(int argc, char **argv)
{
    char err[1024];
    if (argc == 4 && !strcmp(argv[1], "--get")) {
        size_t len;
        char *body = sync_http_get(argv[2], strtoul(argv[3], NULL, 10), &len, err, sizeof err);
        if (!body)
            return fail(err);
        printf("%zu\n", len);
        free(body);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--base")) {
        json_t *addrs = json_loads(argv[2], 0, NULL);
        char url[128];
        int rc = sync_base_url(addrs, url, sizeof url);
        json_decref(addrs);
        if (rc != 0)
            return fail("no usable address");
        printf("%s\n", url);
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: fetch_dag DATADIR ROOT PROVIDERS | --get URL MAX | --base ADDRS\n");
        return 2;
    }
    cid root;
    if (cid_parse(argv[2], strlen(argv[2]), &root, err, sizeof err) != 0)
        return fail(err);
    json_t *providers = json_loads(argv[3], 0, NULL);
    if (!json_is_array(providers))
        return fail("PROVIDERS is not a JSON array");
    MDB_env *env;
    int rc;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
        (rc = mdb_env_set_mapsize(env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30)) ||
        (rc = mdb_env_open(env, argv[1], MDB_NOTLS, 0644)))
        return fail(mdb_strerror(rc));
    blockstore *bs = bs_open(env, err, sizeof err);
    if (!bs)
        return fail(err);
    fetcher *f = fetcher_new(bs, providers, NULL, err, sizeof err);
    if (!f)
        return fail(err);
    rc = fetcher_dag(f, &root, err, sizeof err);
    printf("%llu %llu\n", (unsigned long long)fetcher_blocks(f), (unsigned long long)fetcher_bytes(f));
    fetcher_free(f);
    json_decref(providers);
    bs_close(bs);
    mdb_env_close(env);
    return rc ? fail(err) : 0;
}
