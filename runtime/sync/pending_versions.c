/* Stand-ins for versions.c (sync.h) until the `versions` branch is merged:
 * DELETE THIS FILE at that merge (its functions are defined there; the
 * link fails on the duplicates until it is gone). Enough for publish to
 * work on file MiMei alone: a version block per the contract for the
 * newest version (Prev ""), the newest version from the file versions. */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

int sync_version_parse(const uint8_t *block, size_t len, sync_version *out, char *err, size_t errlen)
{
    (void)block, (void)len, (void)out;
    return ERR("version blocks are not read by this build (versions.c missing)");
}

void sync_version_free(sync_version *v)
{
    free(v->journal);
    v->journal = NULL;
}

uint32_t sync_local_version(node *n, const char *mid)
{
    char err[256];
    MDB_txn *txn = bs_begin(n->bs, 0, err, sizeof err);
    if (!txn)
        return 0;
    uint32_t last = files_last(n->bs, txn, mid);
    mdb_txn_abort(txn);
    return last;
}

int sync_version_block(node *n, const char *mid, cid *out, uint32_t *ver, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(n->bs, 1, err, errlen);
    if (!txn)
        return -1;
    cid root;
    uint32_t last = files_last(n->bs, txn, mid);
    if (last == 0 || files_get(n->bs, txn, mid, last, &root) != 1) {
        mdb_txn_abort(txn);
        return ERR("mimei %s has no version: backup first", mid);
    }
    char text[CID_TEXT_MAX];
    cid_format(&root, text);
    /* Time 0: the same version always gets the same block, as versions.c
     * makes a version's block once */
    json_t *doc = json_pack("{s:s,s:s,s:I,s:s,s:I,s:s}", "Type", "version", "MID", mid, "Version", (json_int_t)last,
                            "Prev", "", "Time", (json_int_t)0, "Root", text);
    char *block = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!block) {
        mdb_txn_abort(txn);
        return ERR("out of memory");
    }
    cid_of_block(out, 1, CID_CODEC_RAW, block, strlen(block));
    int rc = bs_put(n->bs, txn, out, block, strlen(block), err, errlen);
    free(block);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    *ver = last;
    return bs_commit(txn, err, errlen);
}

int sync_apply(node *n, const json_t *info, const cid *top, char *err, size_t errlen)
{
    (void)n, (void)info, (void)top;
    return ERR("applying versions is not built yet (versions.c missing)");
}
