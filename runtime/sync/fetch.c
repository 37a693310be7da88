/*
 * sync: fetch (sync.h). The chain of version blocks from top down to what
 * this node holds, and for each version what it names: a file or app
 * Root's whole DAG, a database version's journal. The blocks move through
 * the fetcher (fetcher.h: re-hashed, providers dropped and replaced).
 *
 * An app's server code: the providers' gateways hand it out as raw blocks
 * once its author published the app (gateway.h, gateway_set_published),
 * never rendered; here it is recorded as server code again
 * (bs_hide_app_code_of) when the node knows the MiMei is an app already
 * (a first version: sync_apply, which registers it), so this node serves
 * it the same way.
 */
#include "fetcher.h"
#include "sync.h"

#include "errbuf.h"

#include <stdlib.h>
#include <string.h>

/* versions followed back at most in one fetch */
#define FETCH_VERSIONS_MAX 100000

/* Records an app version's server code on this node, as its origin did. */
static int hide_app_code(node *n, const char *mid, const cid *root, char *err, size_t errlen)
{
    MDB_txn *txn = bs_begin(n->bs, 1, err, errlen);
    if (!txn)
        return -1;
    if (bs_hide_app_code_of(n->bs, txn, root, mid, err, errlen) != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    return bs_commit(txn, err, errlen);
}

int sync_fetch(node *n, const char *mid, const cid *top, const json_t *providers, uint64_t *bytes, char *err,
               size_t errlen)
{
    *bytes = 0;
    fetcher *f = fetcher_new(n->bs, providers, &n->stopping, err, errlen);
    if (!f)
        return -1;
    json_t *info = node_mimei_info(n, mid);
    int is_app = info && !strcmp(mimei_str(info, "AppType"), "app");
    json_decref(info);
    uint32_t held = sync_local_version(n, mid), above = UINT32_MAX;
    cid at = *top;
    char text[CID_TEXT_MAX];
    int rc = 0;
    for (size_t steps = 0; rc == 0; steps++) {
        cid_format(&at, text);
        if (steps == FETCH_VERSIONS_MAX) {
            rc = ERR("mimei %s: over %d versions to fetch at once", mid, FETCH_VERSIONS_MAX);
            break;
        }
        if (at.version != 1 || at.codec != CID_CODEC_RAW) {
            rc = ERR("version block %s is not a raw CIDv1", text);
            break;
        }
        uint8_t *block;
        size_t len;
        if (fetcher_block(f, &at, SYNC_VERSION_BLOCK_MAX, &block, &len, err, errlen) != 0) {
            rc = -1;
            break;
        }
        sync_version v;
        char why[256];
        rc = sync_version_parse(block, len, &v, why, sizeof why);
        free(block);
        if (rc != 0) {
            rc = ERR("version block %s: %s", text, why);
            break;
        }
        if (strcmp(v.mid, mid) != 0)
            rc = ERR("version block %s is of MiMei %s, not %s", text, v.mid, mid);
        else if (v.version >= above) /* a loop, or a chain that does not go down */
            rc = ERR("version block %s: version %u does not come before %u", text, v.version, above);
        if (rc != 0 || v.version <= held) { /* held: what is below is here already */
            sync_version_free(&v);
            break;
        }
        above = v.version;
        if (!v.is_db) {
            rc = fetcher_dag(f, &v.root, err, errlen);
            if (rc == 0 && is_app)
                rc = hide_app_code(n, mid, &v.root, err, errlen);
        } else {
            for (size_t i = 0; rc == 0 && i < v.njournal; i++)
                rc = fetcher_block(f, &v.journal[i], SYNC_CHUNK_MAX, NULL, NULL, err, errlen);
        }
        int more = v.has_prev;
        at = v.prev;
        sync_version_free(&v);
        if (!more)
            break;
    }
    *bytes = fetcher_bytes(f);
    fetcher_free(f);
    return rc;
}
