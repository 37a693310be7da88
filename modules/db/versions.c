/*
 * versions: MM.BACKUP, MM.VERSIONS, MM.DROPVERSION.
 *
 * A backup freezes the current epoch E as version E and moves writes to
 * E+1: O(1), nothing copied (store.c explains the entries). Dropping a
 * version removes the entries that no remaining version and not `cur` can
 * see any more, which gives their space back.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void version_key(uint8_t out[11], uint32_t dbno, uint32_t n)
{
    memcpy(out, "ver", 3);
    for (int i = 0; i < 4; i++)
        out[3 + i] = (uint8_t)(dbno >> (24 - 8 * i)), out[7 + i] = (uint8_t)(n >> (24 - 8 * i));
}

int db_version_mark(db *d, MDB_txn *txn, uint32_t dbno, uint32_t n, int64_t when)
{
    uint8_t kb[11];
    version_key(kb, dbno, n);
    MDB_val k = {sizeof kb, kb}, v = {sizeof when, &when};
    return mdb_put(txn, d->info, &k, &v, 0);
}

uint32_t db_version_newest(db *d, MDB_txn *txn, uint32_t dbno)
{
    uint8_t kb[11];
    version_key(kb, dbno, UINT32_MAX);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, d->info, &cur))
        return 0;
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (!(rc == 0 && k.mv_size == sizeof kb && !memcmp(k.mv_data, kb, sizeof kb))) /* not version 2^32-1 itself */
        rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    uint32_t n = 0;
    if (rc == 0 && k.mv_size == sizeof kb && !memcmp(k.mv_data, kb, 7)) {
        const uint8_t *p = k.mv_data;
        n = (uint32_t)p[7] << 24 | (uint32_t)p[8] << 16 | (uint32_t)p[9] << 8 | p[10];
    }
    mdb_cursor_close(cur);
    return n;
}

int db_versions_each(db *d, uint32_t dbno, int (*fn)(void *arg, uint32_t ver, int64_t when_ms), void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn))
        return -1;
    if (mdb_cursor_open(txn, d->info, &cur)) {
        mdb_txn_abort(txn);
        return -1;
    }
    uint8_t kb[11];
    version_key(kb, dbno, 0);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = 0;
    for (int got = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && got == 0;
         got = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 11 || memcmp(k.mv_data, kb, 7))
            break;
        const uint8_t *p = k.mv_data;
        uint32_t ver = (uint32_t)p[7] << 24 | (uint32_t)p[8] << 16 | (uint32_t)p[9] << 8 | p[10];
        int64_t when = 0;
        if (v.mv_size == sizeof when)
            memcpy(&when, v.mv_data, sizeof when);
        rc = fn(arg, ver, when);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

uint32_t db_version_last(db *d, uint32_t dbno)
{
    MDB_txn *txn;
    if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn))
        return 0;
    uint32_t n = db_version_newest(d, txn, dbno);
    mdb_txn_abort(txn);
    return n;
}

static void cmd_backup(db_client *c)
{
    if (c->readonly) {
        reply_error(c, "READONLY You can't write against a read only version (SELECT MID@N).");
        return;
    }
    uint32_t e = db_epoch(c, c->dbno);
    int rc = db_version_mark(c->db, c->txn, c->dbno, e, c->now_ms);
    if (rc) {
        db_fail(c, rc);
        reply_error(c, c->db->batch_error);
        return;
    }
    db_epoch_set(c, c->dbno, e + 1);
    reply_int(c, e);
}

/* Calls fn for each version of the selected database, oldest first. */
static int each_version(db_client *c, void (*fn)(db_client *, uint32_t, int64_t, void *), void *arg)
{
    uint8_t kb[11];
    version_key(kb, c->dbno, 0);
    MDB_cursor *cur;
    if (mdb_cursor_open(c->txn, c->db->info, &cur))
        return 0;
    MDB_val k = {sizeof kb, kb}, v;
    int n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 11 || memcmp(k.mv_data, kb, 7))
            break;
        const uint8_t *p = k.mv_data;
        uint32_t ver = (uint32_t)p[7] << 24 | (uint32_t)p[8] << 16 | (uint32_t)p[9] << 8 | p[10];
        int64_t when = 0;
        if (v.mv_size == sizeof when)
            memcpy(&when, v.mv_data, sizeof when);
        if (fn)
            fn(c, ver, when, arg);
        n++;
    }
    mdb_cursor_close(cur);
    return n;
}

static void reply_version(db_client *c, uint32_t ver, int64_t when, void *arg)
{
    (void)arg;
    reply_array(c, 2);
    reply_int(c, ver);
    reply_int(c, when);
}

int db_version_exists(db_client *c, uint32_t dbno, uint32_t n)
{
    uint8_t kb[11];
    version_key(kb, dbno, n);
    MDB_val k = {sizeof kb, kb}, v;
    return c->txn && mdb_get(c->txn, c->db->info, &k, &v) == 0;
}

/* MM.VERSIONS: [[version, created unix ms], ...] oldest first */
static void cmd_versions(db_client *c)
{
    reply_array(c, each_version(c, NULL, NULL));
    each_version(c, reply_version, NULL);
}

typedef struct {
    uint32_t *v;
    size_t n;
} version_list;

static void collect(db_client *c, uint32_t ver, int64_t when, void *arg)
{
    (void)c, (void)when;
    version_list *l = arg;
    l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = ver;
}

/* Does any version in [lo, hi] remain? */
static int needed(const version_list *l, uint32_t lo, uint32_t hi)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] >= lo && l->v[i] <= hi)
            return 1;
    return 0;
}

/* MM.DROPVERSION N: forget version N and reclaim what only it used.
 * Replies the number of entries removed. */
static void cmd_dropversion(db_client *c)
{
    long long n;
    if (arg_ll(c, 1, &n) < 0)
        return;
    uint8_t kb[11];
    version_key(kb, c->dbno, (uint32_t)n);
    MDB_val k = {sizeof kb, kb};
    if (n <= 0 || n > UINT32_MAX || mdb_del(c->txn, c->db->info, &k, NULL) != 0) {
        reply_error(c, "ERR no such version");
        return;
    }
    version_list keep = {0};
    each_version(c, collect, &keep);
    /* walk every entry of this database; within a record (the same key
     * without its 4-byte epoch) entries come newest first. Entry i, written
     * in epoch e_i, is what versions e_i .. e_{i-1}-1 see; the newest is
     * also what cur sees. */
    uint8_t prefix[4] = {(uint8_t)(c->dbno >> 24), (uint8_t)(c->dbno >> 16), (uint8_t)(c->dbno >> 8), (uint8_t)c->dbno};
    MDB_cursor *cur;
    long long removed = 0;
    if (mdb_cursor_open(c->txn, c->db->data, &cur) == 0) {
        MDB_val key = {4, prefix}, val;
        db_buf group = {0};
        uint32_t newer = UINT32_MAX; /* epoch of the entry before this one in its record */
        int rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        while (rc == 0 && key.mv_size > 8 && !memcmp(key.mv_data, prefix, 4)) {
            const uint8_t *p = key.mv_data;
            size_t glen = key.mv_size - 4;
            uint32_t e = ~((uint32_t)p[glen] << 24 | (uint32_t)p[glen + 1] << 16 | (uint32_t)p[glen + 2] << 8 | p[glen + 3]);
            int first = group.len != glen || memcmp(group.buf, p, glen);
            if (first) {
                group.len = 0;
                db_buf_append(&group, p, glen);
                newer = UINT32_MAX;
            }
            int tomb = val.mv_size >= 1 && (((uint8_t *)val.mv_data)[0] & 1); /* store.c's TOMBSTONE bit */
            int keep_it = (first && !tomb) || needed(&keep, e, newer - 1);
            /* a tombstone is needed only while something older is kept */
            if (keep_it || (first && tomb)) {
                newer = e;
                rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
                continue;
            }
            newer = e;
            rc = mdb_cursor_del(cur, 0);
            if (rc)
                break;
            removed++;
            rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
        }
        if (rc && rc != MDB_NOTFOUND && rc != EINVAL)
            db_fail(c, rc);
        db_buf_free(&group);
        mdb_cursor_close(cur);
    }
    free(keep.v);
    reply_int(c, removed);
}

const struct db_command db_version_commands[] = {
    {"mm.backup", cmd_backup, 1, CMD_WRITE, 0, 0, 0},
    {"mm.versions", cmd_versions, 1, CMD_READONLY | CMD_WRITER_ONLY, 0, 0, 0},
    {"mm.dropversion", cmd_dropversion, 2, CMD_WRITE, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
