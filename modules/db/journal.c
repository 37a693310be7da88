/*
 * journal: a database's changes between two versions, as runtime/sync
 * moves them between nodes (sync.h).
 *
 * The journal of version N after version P is every stored entry of the
 * database whose epoch is in (P, N] (store.c: an entry is written in the
 * epoch its write ran in, and a backup freezes the epoch as a version), as
 * a stream of
 *     varint(key length) key varint(value length) value
 * where key is the entry's key without its 4-byte database number and
 * value the stored value (tombstones included), in key order. Holding
 * version P exactly, a follower that adds these entries, the version mark
 * of N and the epoch N + 1 holds version N exactly: every read as of N
 * finds the newest entry at or before N, and all of them are there.
 *
 * Cost: export walks every entry of the database once (there is no index
 * by epoch; one would make it proportional to the changes).
 *
 * A database's state outside its entries: its epoch and version marks
 * (info DBI), set here; its expiry index (expires DBI) is the author's
 * business: a follower's copy gets none, so its expiry never writes into
 * the copy (reads of versions ignore TTLs anyway, as on the author).
 * What a follower's node wrote into its copy after its newest version (a
 * lazily expired key read as cur) is removed before a journal is applied,
 * so every applied version is exactly the author's.
 *
 * MM.APPLYJOURNAL runs on the one writer (resp_call with internal set), so
 * the writer's cached epoch, expiry cache and WATCHes stay right; no
 * network client or app code can run it (CMD_INTERNAL).
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_TOMBSTONE 1 /* store.c's flag bits of a stored value */
#define ENTRY_LONG 2
#define PART_HASH 16      /* store.c: a long part ends 00 02 and this many hash bytes */

static size_t varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Bytes read, 0 when truncated, longer than 9 bytes or not minimal. */
static size_t varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 9; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i > 0 && p[i] == 0)
                return 0;
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static uint32_t entry_epoch(const uint8_t *key, size_t keylen)
{
    const uint8_t *p = key + keylen - 4;
    return ~((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* --- export ----------------------------------------------------------------- */

int db_journal_export(db *d, uint32_t dbno, uint32_t after, uint32_t upto,
                      int (*sink)(void *arg, const void *bytes, size_t len), void *arg, uint64_t *entries, char *err,
                      size_t errlen)
{
    *entries = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
    if (!rc && (rc = mdb_cursor_open(txn, d->data, &cur)) != 0)
        mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "reading database %u: %s", dbno, mdb_strerror(rc));
        return -1;
    }
    uint8_t prefix[4] = {(uint8_t)(dbno >> 24), (uint8_t)(dbno >> 16), (uint8_t)(dbno >> 8), (uint8_t)dbno};
    MDB_val k = {4, prefix}, v;
    int stop = 0;
    /* one pass over every entry of the database: see the top */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && !stop; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, prefix, 4))
            break;
        if (k.mv_size < 4 + 1 + 4)
            continue;
        const uint8_t *key = (const uint8_t *)k.mv_data + 4;
        size_t keylen = k.mv_size - 4;
        uint32_t e = entry_epoch(key, keylen);
        if (e <= after || e > upto)
            continue;
        uint8_t head[10];
        size_t n = varint_put(head, keylen);
        stop = sink(arg, head, n) || sink(arg, key, keylen);
        n = varint_put(head, v.mv_size);
        stop = stop || sink(arg, head, n) || sink(arg, v.mv_data, v.mv_size);
        (*entries)++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (stop) {
        snprintf(err, errlen, "exporting database %u stopped", dbno);
        return -1;
    }
    if (rc && rc != MDB_NOTFOUND) {
        snprintf(err, errlen, "reading database %u: %s", dbno, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

/* --- checking a journal -------------------------------------------------------- */

/* One part of a record key (store.c's esc(), or a long part's escaped
 * start, 00 02 and its hash): bytes used, 0 when malformed; *hashed set
 * for a long part. */
static size_t key_part(const uint8_t *p, size_t n, int *hashed)
{
    size_t i = 0;
    while (i < n) {
        const uint8_t *z = memchr(p + i, 0, n - i);
        if (!z || (size_t)(z - p) + 1 >= n)
            return 0;
        i = (size_t)(z - p);
        if (p[i + 1] == 0x01) {
            *hashed = 0;
            return i + 2;
        }
        if (p[i + 1] == 0x02) {
            *hashed = 1;
            return i + 2 + PART_HASH <= n ? i + 2 + PART_HASH : 0;
        }
        if (p[i + 1] != 0xff)
            return 0;
        i += 2;
    }
    return 0;
}

/* Whether an entry is one store.c could have written: a kind, its parts,
 * an epoch; a value with known flags whose long part is there exactly
 * when the key's last part was hashed. NULL, or why not. */
static const char *entry_wrong(const uint8_t *key, size_t keylen, const uint8_t *val, size_t vallen)
{
    if (keylen < 1 + 2 + 4)
        return "an entry key too short";
    char kind = (char)key[0];
    if (kind != DB_REC_META && kind != DB_REC_ELEM && kind != DB_REC_SCORE)
        return "an entry of an unknown kind";
    size_t at = 1, end = keylen - 4;
    int hashed = 0;
    size_t used = key_part(key + at, end - at, &hashed);
    if (!used)
        return "a malformed entry key";
    at += used;
    if (kind != DB_REC_META) {
        used = key_part(key + at, end - at, &hashed);
        if (!used)
            return "a malformed entry key";
        at += used;
    }
    if (at != end)
        return "a malformed entry key";
    if (vallen < 1 || (val[0] & ~(ENTRY_TOMBSTONE | ENTRY_LONG)))
        return "an entry value with unknown flags";
    if (val[0] & ENTRY_TOMBSTONE)
        return (val[0] & ENTRY_LONG) ? "a tombstone with a value" : NULL;
    if (!(val[0] & ENTRY_LONG) != !hashed)
        return "an entry value without its long key part";
    if (hashed) {
        if (vallen < 5)
            return "a truncated entry value";
        uint32_t wlen = (uint32_t)val[1] << 24 | (uint32_t)val[2] << 16 | (uint32_t)val[3] << 8 | val[4];
        if (vallen - 5 < wlen)
            return "a truncated entry value";
    }
    return NULL;
}

typedef struct {
    const uint8_t *key, *val;
    size_t keylen, vallen;
} entry;

/* The next entry of the stream at *off: 1, 0 at its end, -1 malformed. */
static int next_entry(const uint8_t *p, size_t len, size_t *off, entry *e)
{
    if (*off == len)
        return 0;
    uint64_t kl, vl;
    size_t n = varint_get(p + *off, len - *off, &kl);
    if (!n || kl > len - *off - n)
        return -1;
    e->key = p + *off + n;
    e->keylen = (size_t)kl;
    *off += n + (size_t)kl;
    n = varint_get(p + *off, len - *off, &vl);
    if (!n || vl > len - *off - n)
        return -1;
    e->val = p + *off + n;
    e->vallen = (size_t)vl;
    *off += n + (size_t)vl;
    return 1;
}

int db_journal_check(const void *stream, size_t len, uint32_t after, uint32_t upto, uint64_t records,
                     size_t max_key, char *err, size_t errlen)
{
    const uint8_t *p = stream;
    size_t off = 0;
    uint64_t n = 0;
    entry e, prev = {0};
    int rc;
    while ((rc = next_entry(p, len, &off, &e)) == 1) {
        const char *wrong = entry_wrong(e.key, e.keylen, e.val, e.vallen);
        if (!wrong && 4 + e.keylen > max_key)
            wrong = "an entry key too long for the store";
        if (wrong) {
            snprintf(err, errlen, "journal entry %llu: %s", (unsigned long long)n, wrong);
            return -1;
        }
        uint32_t epoch = entry_epoch(e.key, e.keylen);
        if (epoch <= after || epoch > upto) {
            snprintf(err, errlen, "journal entry %llu was written in epoch %u, outside this version's (%u, %u]",
                     (unsigned long long)n, epoch, after, upto);
            return -1;
        }
        if (n) { /* in key order, each once: as the store holds them */
            size_t common = prev.keylen < e.keylen ? prev.keylen : e.keylen;
            int cmp = memcmp(prev.key, e.key, common);
            if (cmp > 0 || (cmp == 0 && prev.keylen >= e.keylen)) {
                snprintf(err, errlen, "journal entry %llu is out of order", (unsigned long long)n);
                return -1;
            }
        }
        prev = e;
        n++;
    }
    if (rc < 0) {
        snprintf(err, errlen, "journal entry %llu is truncated or malformed", (unsigned long long)n);
        return -1;
    }
    if (n != records) {
        snprintf(err, errlen, "the journal holds %llu entries, its version block says %llu", (unsigned long long)n,
                 (unsigned long long)records);
        return -1;
    }
    return 0;
}

/* --- applying a journal: MM.APPLYJOURNAL ---------------------------------------- */

/* Removes the entries of dbno written after epoch `after` (what this node
 * wrote into its copy since its newest version) and its expiry index. */
static int prune_after(db_client *c, uint32_t dbno, uint32_t after)
{
    uint8_t prefix[4] = {(uint8_t)(dbno >> 24), (uint8_t)(dbno >> 16), (uint8_t)(dbno >> 8), (uint8_t)dbno};
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->db->data, &cur);
    if (rc)
        return rc;
    MDB_val k = {4, prefix}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (!rc && k.mv_size >= 4 && !memcmp(k.mv_data, prefix, 4)) {
        if (k.mv_size >= 4 + 1 + 4 && entry_epoch((uint8_t *)k.mv_data + 4, k.mv_size - 4) > after) {
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
            if (rc == EINVAL) /* deleted the last entry of the DBI */
                rc = MDB_NOTFOUND;
            continue;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    /* a copy's expiry index is its node's own making: none is kept */
    if ((rc = mdb_cursor_open(c->txn, c->db->expires, &cur)) != 0)
        return rc;
    for (;;) { /* seek again after each delete */
        k = (MDB_val){4, prefix};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size < 4 || memcmp(k.mv_data, prefix, 4))
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int parse_u32(db_client *c, int i, uint32_t *out)
{
    long long v;
    if (parse_ll(c->argv[i], c->argvlen[i], &v) != 0 || v < 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* MM.APPLYJOURNAL MID PREV N TIME RECORDS STREAM: version N of database
 * MiMei MID, from the journal STREAM of RECORDS entries written after
 * version PREV (0: the first), which must be this node's newest version of
 * it; TIME the author's mark of N (unix ms). All or nothing: checked
 * whole before anything is written, then written in the batch. Replies N. */
static void cmd_applyjournal(db_client *c)
{
    char mid[65];
    uint32_t dbno = 0, prev, ver;
    long long when, records;
    snprintf(mid, sizeof mid, "%.*s", (int)(c->argvlen[1] < 64 ? c->argvlen[1] : 64), c->argv[1]);
    if (parse_u32(c, 2, &prev) || parse_u32(c, 3, &ver) || parse_ll(ARG(4), &when) || when < 0 ||
        parse_ll(ARG(5), &records) || records < 0) {
        reply_error(c, "ERR MM.APPLYJOURNAL MID PREV N TIME RECORDS STREAM");
        return;
    }
    if (!db_mimei_lookup(c, mid, NULL, &dbno) || dbno == 0 || dbno == c->db->default_dbno) {
        reply_errorf(c, "ERR no database MiMei %s on this node", mid);
        return;
    }
    uint32_t newest = db_version_newest(c->db, c->txn, dbno);
    if (ver <= prev || ver <= newest) {
        reply_errorf(c, "ERR version %u of %s is not above this node's newest (%u)", ver, mid, newest);
        return;
    }
    if (prev != newest) {
        reply_errorf(c, "ERR the journal of version %u follows version %u, this node holds %u of %s: it skips a version",
                     ver, prev, newest, mid);
        return;
    }
    char why[256];
    if (db_journal_check(ARG(6), prev, ver, (uint64_t)records, (size_t)mdb_env_get_maxkeysize(c->db->env), why,
                         sizeof why) != 0) {
        reply_errorf(c, "ERR version %u of %s: %s", ver, mid, why);
        return;
    }
    /* checked whole: now written, every step in this batch */
    int rc = prune_after(c, dbno, prev);
    const uint8_t *p = (const uint8_t *)c->argv[6];
    size_t off = 0;
    entry e;
    db_buf key = {0};
    while (!rc && next_entry(p, c->argvlen[6], &off, &e) == 1) {
        uint8_t be[4] = {(uint8_t)(dbno >> 24), (uint8_t)(dbno >> 16), (uint8_t)(dbno >> 8), (uint8_t)dbno};
        key.len = 0;
        db_buf_append(&key, be, 4);
        db_buf_append(&key, e.key, e.keylen);
        MDB_val k = {key.len, key.buf}, v = {e.vallen, (void *)e.val};
        rc = mdb_put(c->txn, c->db->data, &k, &v, 0);
    }
    db_buf_free(&key);
    if (!rc)
        rc = db_version_mark(c->db, c->txn, dbno, ver, (int64_t)when);
    if (rc) {
        db_fail(c, rc);
        reply_error(c, c->db->batch_error);
        return;
    }
    if (db_epoch_set(c, dbno, ver + 1) < 0) {
        reply_error(c, c->db->batch_error);
        return;
    }
    c->db->last_meta.valid = 0; /* written under the writer's caches */
    uint32_t saved = c->dbno;
    c->dbno = dbno;
    db_signal_all(c); /* WATCHes on the copy fail, as after FLUSHDB */
    c->dbno = saved;
    reply_int(c, ver);
}

const struct db_command db_journal_commands[] = {
    {"mm.applyjournal", cmd_applyjournal, 7, CMD_INTERNAL | CMD_DENYOOM, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
