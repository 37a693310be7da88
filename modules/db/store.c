/*
 * store: versioned records in LMDB.
 *
 * A record key is
 *     dbno (4, big-endian) | kind (1) | esc(key) [| esc(sub)] | ~epoch (4, big-endian)
 * where esc() writes 0x00 as 00 FF and ends with 00 01: byte order is kept
 * and no key or sub can run into the next part. LMDB keys hold at most 511
 * bytes, so a part longer than PART_MAX escaped bytes is kept as its escaped
 * start, 00 02 and a BLAKE2b-128 of the whole part, and the whole part goes
 * into the value (parts sharing their first PART_MAX bytes then sort by
 * hash, not by their bytes). The value is a flag byte (tombstone, long),
 * [u32 length + the whole last part, if long,] then the payload.
 *
 * Epochs are the versions: a database writes in its current epoch E; a
 * backup freezes E as version E and moves on to E+1. Because the epoch is
 * stored inverted, the entries of one record sort newest first, and the
 * newest entry at or before epoch N is the first one at or after
 * (record | ~N). A write overwrites an entry of the current epoch in place
 * and adds a new entry otherwise, so a backup costs nothing when taken and
 * one entry per changed record afterwards. With no backups every record
 * has exactly one entry.
 */
#include "internal.h"

#include "bigendian.h"
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE 0
#define TOMBSTONE 1 /* flag bits */
#define LONG 2      /* the record's last part (key of a meta record, sub of an element) is in the value */
#define PART_MAX 128
#define PART_HASH 16
#define META_HEADER 33 /* type(1) expire(8) count(8) head(8) tail(8) */

void db_index_bytes(uint8_t out[DB_INDEX_BYTES], int64_t index) { put_be64(out, (uint64_t)index ^ (1ULL << 63)); }
int64_t db_index_from(const uint8_t in[DB_INDEX_BYTES]) { return (int64_t)(get_be64(in) ^ (1ULL << 63)); }

/* IEEE 754 bits made to sort as the numbers do: flip all bits of negatives,
 * the sign bit of the rest. -0.0 is stored as 0.0, as Redis treats them. */
void db_score_bytes(uint8_t out[DB_SCORE_BYTES], double score)
{
    if (score == 0)
        score = 0;
    uint64_t bits;
    memcpy(&bits, &score, 8);
    bits = (bits >> 63) ? ~bits : bits | (1ULL << 63);
    put_be64(out, bits);
}

double db_score_from(const uint8_t in[DB_SCORE_BYTES])
{
    uint64_t bits = get_be64(in);
    bits = (bits >> 63) ? bits & ~(1ULL << 63) : ~bits;
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* --- record keys -------------------------------------------------------- */

static void esc(db_buf *b, const void *p, size_t n)
{
    const uint8_t *s = p, *run = s;
    for (size_t i = 0; i < n; i++)
        if (s[i] == 0) {
            db_buf_append(b, run, (size_t)(s + i - run));
            db_buf_append(b, "\0\xff", 2);
            run = s + i + 1;
        }
    db_buf_append(b, run, (size_t)(s + n - run));
    db_buf_append(b, "\0\x01", 2);
}

/* Decodes one esc() part; returns bytes consumed, 0 if malformed. */
static size_t unesc(db_buf *out, const uint8_t *p, size_t n)
{
    out->len = 0;
    size_t i = 0;
    while (i < n) {
        const uint8_t *z = memchr(p + i, 0, n - i);
        if (!z || (size_t)(z - p) + 1 >= n)
            return 0;
        db_buf_append(out, p + i, (size_t)(z - (p + i)));
        i = (size_t)(z - p);
        if (p[i + 1] == 0x01)
            return i + 2;
        if (p[i + 1] != 0xff)
            return 0;
        db_buf_append(out, "", 1);
        i += 2;
    }
    return 0;
}

/* esc(), or for a long part its escaped start, 00 02 and a hash (see the
 * top). Returns 1 when the part was hashed. */
static int part(db_buf *b, const void *p, size_t n)
{
    const uint8_t *s = p;
    size_t escaped = n, keep = 0;
    for (size_t i = 0; i < n; i++)
        escaped += s[i] == 0;
    if (escaped <= PART_MAX) {
        esc(b, p, n);
        return 0;
    }
    for (size_t room = PART_MAX; keep < n && room >= (s[keep] ? 1u : 2u); keep++)
        room -= s[keep] ? 1 : 2;
    for (size_t i = 0; i < keep; i++)
        db_buf_append(b, s[i] ? (const char *)&s[i] : "\0\xff", s[i] ? 1 : 2);
    uint8_t h[PART_HASH];
    ids_blake2b(h, sizeof h, p, n);
    db_buf_append(b, "\0\x02", 2);
    db_buf_append(b, h, sizeof h);
    return 1;
}

static void rec_prefix(db_buf *b, uint32_t dbno, char kind, const void *key, size_t keylen)
{
    uint8_t head[5];
    put_be32(head, dbno);
    head[4] = (uint8_t)kind;
    b->len = 0;
    db_buf_append(b, head, 5);
    if (key)
        part(b, key, keylen);
}

/* The record key; 1 when its last part was hashed (the value must carry it). */
static int rec_key(db_buf *b, uint32_t dbno, char kind, const void *key, size_t keylen, const void *sub,
                   size_t sublen)
{
    uint8_t head[5];
    put_be32(head, dbno);
    head[4] = (uint8_t)kind;
    b->len = 0;
    db_buf_append(b, head, 5);
    int hashed = part(b, key, keylen);
    if (kind != DB_REC_META)
        hashed = part(b, sub, sublen);
    return hashed;
}

/* A stored value: live or not, the whole last part if long, the payload. */
static int split_value(const MDB_val *v, const uint8_t **payload, size_t *plen, const uint8_t **whole,
                       size_t *wlen)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < 1 || (p[0] & TOMBSTONE))
        return 0;
    size_t at = 1;
    *whole = NULL;
    *wlen = 0;
    if (p[0] & LONG) {
        if (v->mv_size < 5)
            return 0;
        *wlen = get_be32(p + 1);
        if (v->mv_size < 5 + *wlen)
            return 0;
        *whole = p + 5;
        at = 5 + *wlen;
    }
    *payload = p + at;
    *plen = v->mv_size - at;
    return 1;
}

int db_fail(db_client *c, int rc)
{
    if (c->reader) { /* a reader's own failure: the writer's batch is not its business */
        c->reader_failed = rc ? rc : MDB_PANIC;
        return -1;
    }
    if (!c->db->batch_failed)
        snprintf(c->db->batch_error, sizeof c->db->batch_error, "ERR storage error: %s", mdb_strerror(rc));
    c->db->batch_failed = 1;
    return -1;
}

/* The newest entry of record rk at or before epoch: 1 found, 0 none. The
 * cursor is left on it. */
static int rec_find(db_client *c, MDB_cursor *cur, const db_buf *rk, uint32_t epoch, MDB_val *k, MDB_val *v)
{
    uint8_t seek[4096];
    db_buf big = {0};
    uint8_t *sk = seek;
    if (rk->len + 4 > sizeof seek) {
        db_buf_append(&big, rk->buf, rk->len + 4);
        sk = (uint8_t *)big.buf;
    }
    memcpy(sk, rk->buf, rk->len);
    put_be32(sk + rk->len, ~epoch);
    k->mv_data = sk;
    k->mv_size = rk->len + 4;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    db_buf_free(&big);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return db_fail(c, rc);
    return k->mv_size == rk->len + 4 && !memcmp(k->mv_data, rk->buf, rk->len);
}

/* A cursor of its own (iterators: they may be nested). */
static MDB_cursor *cursor(db_client *c)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->db->data, &cur);
    if (rc != 0) {
        db_fail(c, rc);
        return NULL;
    }
    return cur;
}

/* The batch's cursor for point reads and writes: opened once per batch
 * (LMDB frees it with the transaction), not once per lookup. */
static MDB_cursor *point_cursor(db_client *c)
{
    if (c->reader) { /* its own, on its own transaction */
        if (!c->reader_cursor && mdb_cursor_open(c->txn, c->db->data, &c->reader_cursor) != 0) {
            c->reader_cursor = NULL;
            db_fail(c, MDB_PANIC);
        }
        return c->reader_cursor;
    }
    if (!c->db->cursor && mdb_cursor_open(c->txn, c->db->data, &c->db->cursor) != 0) {
        c->db->cursor = NULL;
        db_fail(c, MDB_PANIC);
    }
    return c->db->cursor;
}

/* Reads record rk as of the client's version; 1 with a live value. */
static int rec_get(db_client *c, const db_buf *rk, const uint8_t **val, size_t *vallen)
{
    MDB_cursor *cur = point_cursor(c);
    if (!cur)
        return -1;
    MDB_val k, v;
    int found = rec_find(c, cur, rk, c->read_epoch, &k, &v);
    const uint8_t *whole;
    size_t wlen;
    if (found <= 0)
        return found;
    return split_value(&v, val, vallen, &whole, &wlen);
}

/* Writes record rk in the current epoch: a value, or a tombstone (val NULL).
 * whole is the record's last part when rec_key hashed it, else NULL.
 * Returns 1 if a live value was there before, 0 if not, -1 on error. */
static int rec_put(db_client *c, const db_buf *rk, const void *whole, size_t wlen, const void *val, size_t vallen)
{
    MDB_cursor *cur = point_cursor(c);
    if (!cur)
        return -1;
    MDB_val k, v;
    int rc = 0, found = rec_find(c, cur, rk, UINT32_MAX, &k, &v);
    if (found < 0)
        return -1;
    uint32_t e = c->write_epoch;
    int was_live = found && v.mv_size >= 1 && !(((uint8_t *)v.mv_data)[0] & TOMBSTONE);
    int same_epoch = found && ~get_be32((uint8_t *)k.mv_data + rk->len) == e;
    if (!val) {
        if (!was_live)
            return 0;
        if (same_epoch) {
            /* older entries (kept for a backup) must be hidden by a tombstone */
            MDB_val k2, v2;
            int next = mdb_cursor_get(cur, &k2, &v2, MDB_NEXT);
            int older = next == 0 && k2.mv_size == rk->len + 4 && !memcmp(k2.mv_data, rk->buf, rk->len);
            if (!older) {
                /* back onto the record itself: one step back when there was a
                 * next entry; at the end of the database, seek it again */
                if (next == 0 ? mdb_cursor_get(cur, &k2, &v2, MDB_PREV) != 0
                              : rec_find(c, cur, rk, UINT32_MAX, &k2, &v2) <= 0)
                    return -1;
                rc = mdb_cursor_del(cur, 0);
                return rc ? db_fail(c, rc) : 1;
            }
        }
    }
    uint8_t keybuf[4096];
    db_buf big = {0};
    uint8_t *kb = keybuf;
    if (rk->len + 4 > sizeof keybuf) {
        db_buf_append(&big, rk->buf, rk->len + 4);
        kb = (uint8_t *)big.buf;
    }
    memcpy(kb, rk->buf, rk->len);
    put_be32(kb + rk->len, ~e);
    k.mv_data = kb;
    k.mv_size = rk->len + 4;
    if (!val)
        whole = NULL; /* a tombstone is never read back */
    size_t head = 1 + (whole ? 4 + wlen : 0);
    v.mv_size = head + (val ? vallen : 0);
    v.mv_data = NULL;
    rc = mdb_put(c->txn, c->db->data, &k, &v, MDB_RESERVE);
    if (rc == 0) {
        uint8_t *out = v.mv_data;
        out[0] = (uint8_t)((val ? LIVE : TOMBSTONE) | (whole ? LONG : 0));
        if (whole) {
            put_be32(out + 1, (uint32_t)wlen);
            memcpy(out + 5, whole, wlen);
        }
        if (val && vallen)
            memcpy(out + head, val, vallen);
    }
    db_buf_free(&big);
    return rc ? db_fail(c, rc) : was_live;
}

/* --- elements ----------------------------------------------------------- */

int db_elem_get(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen,
                const uint8_t **val, size_t *vallen)
{
    char rkbuf[512];
    db_buf rk = DB_BUF_STACK(rkbuf);
    rec_key(&rk, c->dbno, kind, key, keylen, sub, sublen);
    int rc = rec_get(c, &rk, val, vallen);
    db_buf_free(&rk);
    return rc < 0 ? 0 : rc;
}

int db_elem_put(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen,
                const void *val, size_t vallen)
{
    char rkbuf[512];
    db_buf rk = DB_BUF_STACK(rkbuf);
    int hashed = rec_key(&rk, c->dbno, kind, key, keylen, sub, sublen);
    int rc = rec_put(c, &rk, hashed ? sub : NULL, sublen, val ? val : "", val ? vallen : 0);
    db_buf_free(&rk);
    if (rc >= 0)
        db_signal_key(c, key, keylen);
    return rc;
}

int db_elem_del(db_client *c, char kind, const void *key, size_t keylen, const void *sub, size_t sublen)
{
    char rkbuf[512];
    db_buf rk = DB_BUF_STACK(rkbuf);
    rec_key(&rk, c->dbno, kind, key, keylen, sub, sublen);
    int rc = rec_put(c, &rk, NULL, 0, NULL, 0);
    db_buf_free(&rk);
    if (rc > 0)
        db_signal_key(c, key, keylen);
    return rc < 0 ? 0 : rc;
}

/* --- iteration ---------------------------------------------------------- */

/* The smallest byte string greater than every string starting with p. */
static int successor(db_buf *out, const db_buf *p)
{
    out->len = 0;
    db_buf_append(out, p->buf, p->len);
    for (size_t i = out->len; i-- > 0;) {
        if ((uint8_t)out->buf[i] != 0xff) {
            out->buf[i]++;
            out->len = i + 1;
            return 1;
        }
    }
    return 0; /* all 0xff: nothing is greater */
}

static void iter_setup(db_iter *it, db_client *c, char kind, const void *key, size_t keylen, const void *from,
                       size_t fromlen, int reverse)
{
    memset(it, 0, sizeof *it);
    it->c = c;
    it->kind = kind;
    it->reverse = reverse;
    rec_prefix(&it->prefix, c->dbno, kind, key, keylen);
    it->seek.len = 0;
    db_buf_append(&it->seek, it->prefix.buf, it->prefix.len);
    if (from) {
        part(&it->seek, from, fromlen);
        if (reverse) /* the end of that sub's group */
            db_buf_append(&it->seek, "\xff\xff\xff\xff", 4);
    } else if (reverse) {
        db_buf tmp = {0};
        if (!successor(&tmp, &it->prefix))
            tmp.len = 0;
        it->seek.len = 0;
        db_buf_append(&it->seek, tmp.buf, tmp.len);
        db_buf_free(&tmp);
    }
    it->cur = cursor(c);
    if (!it->cur)
        it->done = 1;
}

void db_iter_init(db_iter *it, db_client *c, char kind, const void *key, size_t keylen, const void *from,
                  size_t fromlen, int reverse)
{
    iter_setup(it, c, kind, key, keylen, from, fromlen, reverse);
}

/* state in it->started: 0 not positioned, 1 on an entry already used,
 * 2 on an entry not yet looked at */
static int step(db_iter *it, MDB_val *k, MDB_val *v)
{
    int rc;
    if (db_work(it->c, 1))
        return 0; /* the command is over its budget: it ends here */
    if (it->started == 0) {
        it->started = 2;
        if (it->reverse) {
            if (it->seek.len == 0) {
                rc = mdb_cursor_get(it->cur, k, v, MDB_LAST);
            } else {
                k->mv_data = it->seek.buf;
                k->mv_size = it->seek.len;
                rc = mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
                rc = rc == 0 ? mdb_cursor_get(it->cur, k, v, MDB_PREV)
                             : (rc == MDB_NOTFOUND ? mdb_cursor_get(it->cur, k, v, MDB_LAST) : rc);
            }
        } else {
            k->mv_data = it->seek.buf;
            k->mv_size = it->seek.len;
            rc = mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
        }
    } else if (it->started == 2) {
        rc = mdb_cursor_get(it->cur, k, v, MDB_GET_CURRENT);
    } else {
        rc = mdb_cursor_get(it->cur, k, v, it->reverse ? MDB_PREV : MDB_NEXT);
    }
    it->started = 1;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return db_fail(it->c, rc);
    if (k->mv_size < it->prefix.len + 4 || memcmp(k->mv_data, it->prefix.buf, it->prefix.len))
        return 0;
    return 1;
}

/* The next visible group: its key without the epoch (copied to it->seek)
 * and the value of the entry the client's version sees. */
static int group_next(db_iter *it, const uint8_t **gkey, size_t *gkeylen, const uint8_t **val, size_t *vallen,
                      const uint8_t **whole, size_t *wlen)
{
    MDB_val k, v;
    uint32_t read = it->c->read_epoch;
    while (!it->done) {
        int rc = step(it, &k, &v);
        if (rc <= 0) {
            it->done = 1;
            return 0;
        }
        /* the group's key stays where LMDB has it: nothing is written while
         * an iterator is open, so its pages do not move */
        size_t glen = k.mv_size - 4;
        const uint8_t *g = k.mv_data;
        int have = 0;
        MDB_val best = {0, NULL};
        /* walk the group: newest first forward, oldest first in reverse */
        for (;;) {
            uint32_t e = ~get_be32((uint8_t *)k.mv_data + glen);
            if (e <= read && (it->reverse || !have)) {
                best = v;
                have = 1;
            }
            rc = step(it, &k, &v);
            if (rc <= 0) {
                it->done = 1;
                break;
            }
            if (k.mv_size - 4 != glen || memcmp(k.mv_data, g, glen)) {
                it->started = 2; /* the next group starts here */
                break;
            }
        }
        if (have && split_value(&best, val, vallen, whole, wlen)) {
            *gkey = g;
            *gkeylen = glen;
            return 1;
        }
    }
    return 0;
}

int db_iter_next(db_iter *it, const uint8_t **sub, size_t *sublen, const uint8_t **val, size_t *vallen)
{
    const uint8_t *g, *whole;
    size_t glen, wlen;
    if (!group_next(it, &g, &glen, val, vallen, &whole, &wlen))
        return 0;
    const uint8_t *p = g + it->prefix.len;
    size_t n = glen - it->prefix.len;
    const uint8_t *zero = memchr(p, 0, n);
    if (whole) { /* a long part: whole, from the value */
        *sub = whole;
        *sublen = wlen;
    } else if (zero && zero + 1 < p + n && zero[1] == 0x01) { /* no escapes: the bytes as they are */
        *sub = p;
        *sublen = (size_t)(zero - p);
    } else if (unesc(&it->sub, p, n)) {
        *sub = (const uint8_t *)it->sub.buf;
        *sublen = it->sub.len;
    } else {
        return 0;
    }
    return 1;
}

void db_iter_close(db_iter *it)
{
    if (it->cur)
        mdb_cursor_close(it->cur);
    db_buf_free(&it->prefix);
    db_buf_free(&it->seek);
    db_buf_free(&it->sub);
    it->cur = NULL;
}

/* --- keys --------------------------------------------------------------- */

static void meta_decode(db_meta *m, const uint8_t *p)
{
    m->type = p[0];
    m->expire_ms = (int64_t)get_be64(p + 1);
    m->count = (int64_t)get_be64(p + 9);
    m->head = (int64_t)get_be64(p + 17);
    m->tail = (int64_t)get_be64(p + 25);
}

static int expired(const db_client *c, const db_meta *m)
{
    return m->expire_ms && m->expire_ms <= c->now_ms && !c->readonly;
}

int db_keys_next(db_client *c, db_iter *it, const void *after, size_t afterlen, const uint8_t **key, size_t *keylen,
                 db_meta *meta)
{
    if (!it->cur && !it->done) {
        iter_setup(it, c, DB_REC_META, NULL, 0, NULL, 0, 0);
        if (after) {
            part(&it->seek, after, afterlen);
            db_buf_append(&it->seek, "\xff\xff\xff\xff", 4); /* past every entry of `after` */
        }
    }
    const uint8_t *g, *val, *whole;
    size_t glen, vallen, wlen;
    while (group_next(it, &g, &glen, &val, &vallen, &whole, &wlen)) {
        if (vallen < META_HEADER)
            continue;
        if (whole) {
            it->sub.len = 0;
            db_buf_append(&it->sub, whole, wlen);
        } else if (!unesc(&it->sub, g + 5, glen - 5)) {
            continue;
        }
        meta_decode(meta, val);
        if (expired(c, meta))
            continue;
        *key = (const uint8_t *)it->sub.buf;
        *keylen = it->sub.len;
        return 1;
    }
    return 0;
}

/* --- the keyspace ------------------------------------------------------- */

/* The one-entry cache of a current meta's expiry (see struct db). Every
 * change of a meta record passes through db_meta_write or db_delete, which
 * keep it right; db_commit forgets it. */
static void remember_expiry(db_client *c, const void *key, size_t keylen, int64_t expire_ms)
{
    if (c->reader)
        return;
    if (c->read_epoch != UINT32_MAX || keylen > sizeof c->db->last_meta.key) {
        if (keylen > sizeof c->db->last_meta.key)
            c->db->last_meta.valid = 0;
        return;
    }
    c->db->last_meta.valid = 1;
    c->db->last_meta.dbno = c->dbno;
    c->db->last_meta.keylen = keylen;
    c->db->last_meta.expire_ms = expire_ms;
    memcpy(c->db->last_meta.key, key, keylen);
}

static int recall_expiry(db_client *c, const void *key, size_t keylen, int64_t *expire_ms)
{
    if (c->reader || !c->db->last_meta.valid || c->db->last_meta.dbno != c->dbno || c->db->last_meta.keylen != keylen ||
        memcmp(c->db->last_meta.key, key, keylen))
        return 0;
    *expire_ms = c->db->last_meta.expire_ms;
    return 1;
}

static void expire_key(db_buf *b, uint32_t dbno, int64_t when, const void *key, size_t keylen)
{
    uint8_t head[12];
    put_be32(head, dbno);
    put_be64(head + 4, (uint64_t)when);
    b->len = 0;
    db_buf_append(b, head, 12);
    db_buf_append(b, key, keylen);
}

static int expire_index(db_client *c, const void *key, size_t keylen, int64_t old, int64_t now)
{
    if (old == now)
        return 0;
    db_buf b = {0};
    MDB_val k, v = {0, ""};
    int rc = 0;
    if (old) {
        expire_key(&b, c->dbno, old, key, keylen);
        k.mv_data = b.buf, k.mv_size = b.len;
        rc = mdb_del(c->txn, c->db->expires, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (!rc && now) {
        expire_key(&b, c->dbno, now, key, keylen);
        k.mv_data = b.buf, k.mv_size = b.len;
        rc = mdb_put(c->txn, c->db->expires, &k, &v, 0);
    }
    db_buf_free(&b);
    return rc ? db_fail(c, rc) : 0;
}

int db_lookup(db_client *c, const void *key, size_t keylen, db_meta *meta, const uint8_t **val, size_t *vallen)
{
    char rkbuf[512];
    db_buf rk = DB_BUF_STACK(rkbuf);
    const uint8_t *v;
    size_t vl;
    rec_key(&rk, c->dbno, DB_REC_META, key, keylen, NULL, 0);
    int rc = rec_get(c, &rk, &v, &vl);
    db_buf_free(&rk);
    if (rc <= 0 || vl < META_HEADER) {
        if (rc == 0)
            remember_expiry(c, key, keylen, 0); /* absent: no expiry to unindex */
        if (!c->reader)
            c->db->stat_keyspace_misses++;
        return 0;
    }
    meta_decode(meta, v);
    remember_expiry(c, key, keylen, meta->expire_ms);
    if (expired(c, meta)) {
        if (c->reader) /* gone for it too; the writer deletes it */
            return 0;
        db_delete(c, key, keylen);
        c->db->stat_expired++;
        c->db->stat_keyspace_misses++;
        return 0;
    }
    if (val) {
        *val = v + META_HEADER;
        *vallen = vl - META_HEADER;
    }
    if (!c->reader)
        c->db->stat_keyspace_hits++;
    return 1;
}

int db_lookup_type(db_client *c, const void *key, size_t keylen, int type, db_meta *meta)
{
    int found = db_lookup(c, key, keylen, meta, NULL, NULL);
    if (found && meta->type != type) {
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    return found;
}

int db_meta_write(db_client *c, const void *key, size_t keylen, const db_meta *meta, const void *val, size_t vallen)
{
    if (meta->type != DB_STRING && meta->count <= 0) {
        db_delete(c, key, keylen);
        return 0;
    }
    char rkbuf[512], recbuf[1024];
    db_buf rk = DB_BUF_STACK(rkbuf), rec = DB_BUF_STACK(recbuf);
    int hashed = rec_key(&rk, c->dbno, DB_REC_META, key, keylen, NULL, 0);
    /* the previous expiry, to keep the expiry index right */
    int64_t old_expire = 0;
    if (!recall_expiry(c, key, keylen, &old_expire)) {
        const uint8_t *old;
        size_t oldlen;
        uint32_t saved = c->read_epoch;
        c->read_epoch = UINT32_MAX;
        int had = rec_get(c, &rk, &old, &oldlen);
        c->read_epoch = saved;
        old_expire = had > 0 && oldlen >= META_HEADER ? (int64_t)get_be64(old + 1) : 0;
    }
    uint8_t head[META_HEADER];
    head[0] = meta->type;
    put_be64(head + 1, (uint64_t)meta->expire_ms);
    put_be64(head + 9, (uint64_t)meta->count);
    put_be64(head + 17, (uint64_t)meta->head);
    put_be64(head + 25, (uint64_t)meta->tail);
    db_buf_append(&rec, head, sizeof head);
    db_buf_append(&rec, val, vallen);
    int rc = rec_put(c, &rk, hashed ? key : NULL, keylen, rec.buf, rec.len);
    db_buf_free(&rk);
    db_buf_free(&rec);
    if (rc < 0 || expire_index(c, key, keylen, old_expire, meta->expire_ms) < 0)
        return -1;
    uint32_t saved_read = c->read_epoch;
    c->read_epoch = UINT32_MAX;
    remember_expiry(c, key, keylen, meta->expire_ms);
    c->read_epoch = saved_read;
    db_signal_key(c, key, keylen);
    return 0;
}

/* Tombstones (or removes) every live element of one kind under key. */
static int delete_kind(db_client *c, char kind, const void *key, size_t keylen)
{
    /* collect the subs first: the store may not change under an iterator */
    db_buf subs = {0};
    size_t n = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    uint32_t saved = c->read_epoch;
    c->read_epoch = UINT32_MAX;
    db_iter_init(&it, c, kind, key, keylen, NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        uint32_t len = (uint32_t)sublen;
        db_buf_append(&subs, &len, sizeof len);
        db_buf_append(&subs, sub, sublen);
        n++;
    }
    db_iter_close(&it);
    c->read_epoch = saved;
    db_buf rk = {0};
    for (size_t off = 0; off < subs.len && !c->db->batch_failed;) {
        uint32_t len;
        memcpy(&len, subs.buf + off, sizeof len);
        rec_key(&rk, c->dbno, kind, key, keylen, subs.buf + off + sizeof len, len);
        rec_put(c, &rk, NULL, 0, NULL, 0);
        off += sizeof len + len;
    }
    db_buf_free(&rk);
    db_buf_free(&subs);
    return c->db->batch_failed ? -1 : (int)(n > 0);
}

int db_delete(db_client *c, const void *key, size_t keylen)
{
    char rkbuf[512];
    db_buf rk = DB_BUF_STACK(rkbuf);
    const uint8_t *v;
    size_t vl;
    rec_key(&rk, c->dbno, DB_REC_META, key, keylen, NULL, 0);
    uint32_t saved = c->read_epoch;
    c->read_epoch = UINT32_MAX;
    int found = rec_get(c, &rk, &v, &vl);
    c->read_epoch = saved;
    if (found <= 0 || vl < META_HEADER) {
        db_buf_free(&rk);
        return 0;
    }
    db_meta m;
    meta_decode(&m, v);
    if (m.type != DB_STRING) {
        delete_kind(c, DB_REC_ELEM, key, keylen);
        if (m.type == DB_ZSET)
            delete_kind(c, DB_REC_SCORE, key, keylen);
    }
    rec_put(c, &rk, NULL, 0, NULL, 0);
    expire_index(c, key, keylen, m.expire_ms, 0);
    uint32_t saved_read = c->read_epoch;
    c->read_epoch = UINT32_MAX;
    remember_expiry(c, key, keylen, 0);
    c->read_epoch = saved_read;
    db_buf_free(&rk);
    db_signal_key(c, key, keylen);
    /* an expired key was already gone for the user */
    return c->db->batch_failed ? 0 : !(m.expire_ms && m.expire_ms <= c->now_ms);
}

/* Copies the elements of one kind from key to dst. */
static void copy_kind(db_client *c, char kind, const void *key, size_t keylen, const void *dst, size_t dstlen)
{
    db_buf all = {0};
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, kind, key, keylen, NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        uint32_t l[2] = {(uint32_t)sublen, (uint32_t)vallen};
        db_buf_append(&all, l, sizeof l);
        db_buf_append(&all, sub, sublen);
        db_buf_append(&all, val, vallen);
    }
    db_iter_close(&it);
    for (size_t off = 0; off < all.len && !c->db->batch_failed;) {
        uint32_t l[2];
        memcpy(l, all.buf + off, sizeof l);
        const char *s = all.buf + off + sizeof l;
        db_elem_put(c, kind, dst, dstlen, s, l[0], s + l[0], l[1]);
        off += sizeof l + l[0] + l[1];
    }
    db_buf_free(&all);
}

int db_copy_key(db_client *c, const void *key, size_t keylen, const void *dst, size_t dstlen)
{
    db_meta m;
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, key, keylen, &m, &val, &vallen))
        return 0;
    db_buf copy = {0};
    db_buf_append(&copy, val, vallen);
    db_delete(c, dst, dstlen);
    if (m.type != DB_STRING) {
        copy_kind(c, DB_REC_ELEM, key, keylen, dst, dstlen);
        if (m.type == DB_ZSET)
            copy_kind(c, DB_REC_SCORE, key, keylen, dst, dstlen);
    }
    int rc = db_meta_write(c, dst, dstlen, &m, copy.buf, copy.len);
    db_buf_free(&copy);
    return rc < 0 ? -1 : 1;
}

/* --- epochs ------------------------------------------------------------- */

static void epoch_key(uint8_t out[9], uint32_t dbno)
{
    memcpy(out, "epoch", 5);
    put_be32(out + 5, dbno);
}

/* Read on every command, changed only by MM.BACKUP: cached (db_commit
 * forgets the cache when a batch fails, as its change did not happen). */
uint32_t db_epoch(db_client *c, uint32_t dbno)
{
    if (c->db->epoch_dbno == dbno)
        return c->db->epoch_value;
    uint8_t kb[9];
    epoch_key(kb, dbno);
    MDB_val k = {sizeof kb, kb}, v;
    uint32_t e = mdb_get(c->txn, c->db->info, &k, &v) == 0 && v.mv_size == 4 ? get_be32(v.mv_data) : 1;
    c->db->epoch_dbno = dbno;
    c->db->epoch_value = e;
    return e;
}

int db_epoch_set(db_client *c, uint32_t dbno, uint32_t epoch)
{
    uint8_t kb[9], vb[4];
    epoch_key(kb, dbno);
    put_be32(vb, epoch);
    MDB_val k = {sizeof kb, kb}, v = {4, vb};
    int rc = mdb_put(c->txn, c->db->info, &k, &v, 0);
    c->db->epoch_dbno = 0;
    return rc ? db_fail(c, rc) : 0;
}

/* --- expiry ------------------------------------------------------------- */

/* Deletes up to `max` keys whose time has come, across databases. */
int db_expire_due(db_client *c, int max)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(c->txn, c->db->expires, &cur) != 0)
        return 0;
    db_buf batch = {0};
    int n = 0;
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    /* keys are ordered by database first: look at each database's soonest */
    while (rc == 0 && n < max) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size < 12)
            break;
        uint32_t dbno = get_be32(p);
        if ((int64_t)get_be64(p + 4) <= c->now_ms) {
            uint32_t len = (uint32_t)k.mv_size;
            db_buf_append(&batch, &len, sizeof len);
            db_buf_append(&batch, k.mv_data, k.mv_size);
            n++;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        } else { /* next database */
            uint8_t next[4];
            put_be32(next, dbno + 1);
            if (dbno == UINT32_MAX)
                break;
            k.mv_data = next, k.mv_size = 4;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        }
    }
    mdb_cursor_close(cur);
    /* entries are (u32 length, expiry index key) back to back */
    uint32_t saved_db = c->dbno;
    for (size_t off = 0; off < batch.len;) {
        uint32_t len;
        memcpy(&len, batch.buf + off, sizeof len);
        const uint8_t *p = (const uint8_t *)batch.buf + off + sizeof len;
        c->dbno = get_be32(p);
        c->write_epoch = db_epoch(c, c->dbno);
        db_delete(c, p + 12, len - 12);
        c->db->stat_expired++;
        off += sizeof len + len;
    }
    c->dbno = saved_db;
    c->write_epoch = db_epoch(c, saved_db);
    db_buf_free(&batch);
    return n;
}
