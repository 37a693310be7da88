/*
 * sync_versions: runtime/sync/versions.c on a node's data directory, for
 * versions_spec.lua (until the sync thread drives it between nodes).
 *
 *     sync_versions make DATADIR MID          version blocks of MID's versions
 *                                             (the node may run): "CID N"
 *     sync_versions info DATADIR MID          MID's info record
 *     sync_versions put DATADIR FILE...       each file stored as a raw block
 *                                             (its CID is its hash): one CID a line
 *     sync_versions apply DATADIR INFO CID    applies the chain ending at CID
 *                                             (INFO: a file with the info
 *                                             record; the node stopped: this
 *                                             process is its only writer)
 * Errors: "sync_versions: reason" on stderr, exit 1.
 */
#include "db.h"
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    *len = 0;
    for (size_t got; (got = fread(buf + *len, 1, cap - *len, f)) > 0;) {
        *len += got;
        if (*len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[*len < cap ? *len : cap - 1] = '\0';
    return buf;
}

static int fail(const char *why)
{
    fprintf(stderr, "sync_versions: %s\n", why);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return fail("usage: sync_versions make|info|put|apply DATADIR ...");
    char err[512];
    node n;
    memset(&n, 0, sizeof n);
    if (!(n.db = db_open(argv[2], DB_SYNC_ALWAYS, err, sizeof err)) || !(n.bs = bs_open(db_lmdb(n.db), err, sizeof err)))
        return fail(err);
    int rc = 0;
    if (!strcmp(argv[1], "make")) {
        cid top;
        uint32_t ver;
        char text[CID_TEXT_MAX];
        if ((rc = sync_version_block(&n, argv[3], &top, &ver, err, sizeof err)) == 0)
            printf("%s %u\n", (cid_format(&top, text), text), ver);
    } else if (!strcmp(argv[1], "info")) {
        char *info = NULL;
        if (db_mimei_get(n.db, argv[3], &info, NULL))
            printf("%s\n", info);
        else
            rc = -1, snprintf(err, sizeof err, "no MiMei %s", argv[3]);
        free(info);
    } else if (!strcmp(argv[1], "put")) {
        for (int i = 3; i < argc && !rc; i++) {
            size_t len;
            char *data = slurp(argv[i], &len), text[CID_TEXT_MAX];
            cid c;
            MDB_txn *txn = data ? bs_begin(n.bs, 1, err, sizeof err) : NULL;
            if (!data)
                rc = -1, snprintf(err, sizeof err, "cannot read %s", argv[i]);
            else if (!txn)
                rc = -1;
            else {
                cid_of_block(&c, 1, CID_CODEC_RAW, data, len);
                rc = bs_put(n.bs, txn, &c, data, len, err, sizeof err) ? (mdb_txn_abort(txn), -1)
                                                                        : bs_commit(txn, err, sizeof err);
                if (!rc)
                    printf("%s\n", (cid_format(&c, text), text));
            }
            free(data);
        }
    } else if (!strcmp(argv[1], "apply") && argc == 5) {
        size_t len;
        char *text = slurp(argv[3], &len);
        json_t *info = text ? json_loads(text, 0, NULL) : NULL;
        cid top;
        if (!info)
            rc = -1, snprintf(err, sizeof err, "%s holds no info record", argv[3]);
        else if (cid_parse(argv[4], strlen(argv[4]), &top, err, sizeof err) != 0)
            rc = -1;
        else if ((rc = sync_apply(&n, info, &top, err, sizeof err)) == 0)
            printf("ok %u\n", sync_local_version(&n, mimei_str(info, "ID")));
        json_decref(info);
        free(text);
    } else {
        rc = -1, snprintf(err, sizeof err, "unknown command %s", argv[1]);
    }
    bs_close(n.bs);
    db_close(n.db);
    return rc ? fail(err) : 0;
}
