/*
 * Sets: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SPOP SRANDMEMBER SMOVE
 * SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN,
 * and Leither's SCLEAR and SMCLEAR.
 *
 * A set is its meta record (type DB_SET, count = number of members) and one
 * DB_REC_ELEM record per member: sub = the member's bytes, value empty. So
 * members come back in byte order, which is the order SMEMBERS, SINTER,
 * SUNION and SDIFF answer in (Redis leaves the order unspecified).
 *
 * Random members (SPOP, SRANDMEMBER) come from sample.c; SSCAN is
 * scan_generic (keyspace.c), members in byte order, COUNT at a time.
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* --- member lists ---------------------------------------------------------- */

typedef struct {
    size_t off, len;
} mref;

/* Members copied out of the store (their pointers die with the next write). */
typedef struct {
    db_buf data;
    mref *v;
    size_t n, cap;
} mlist;

static void ml_add(mlist *l, const void *p, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        mref *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            abort();
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].off = l->data.len;
    l->v[l->n].len = n;
    l->n++;
    if (n)
        db_buf_append(&l->data, p, n);
}

static const char *ml_ptr(const mlist *l, size_t i)
{
    return l->data.buf ? l->data.buf + l->v[i].off : "";
}

static void ml_free(mlist *l)
{
    db_buf_free(&l->data);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void buf_set(db_buf *b, const void *p, size_t n)
{
    b->len = 0;
    if (n)
        db_buf_append(b, p, n);
}

static const char *buf_ptr(const db_buf *b)
{
    return b->buf ? b->buf : "";
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return an < bn ? -1 : an > bn;
}

/* --- store helpers ------------------------------------------------------------ */


/* 1 set found (m filled), 0 absent (m zeroed as a new set), -1 WRONGTYPE replied. */
static int get_set(db_client *c, const char *key, size_t keylen, db_meta *m)
{
    memset(m, 0, sizeof *m);
    int r = db_lookup_type(c, key, keylen, DB_SET, m);
    if (r == 0) {
        memset(m, 0, sizeof *m);
        m->type = DB_SET;
    }
    return r;
}

static int is_member(db_client *c, const char *key, size_t keylen, const void *mem, size_t memlen)
{
    const uint8_t *v;
    size_t vl;
    return db_elem_get(c, DB_REC_ELEM, key, keylen, memlen ? mem : "", memlen, &v, &vl) == 1;
}

static int add_member(db_client *c, const char *key, size_t keylen, const void *mem, size_t memlen)
{
    return db_elem_put(c, DB_REC_ELEM, key, keylen, memlen ? mem : "", memlen, "", 0);
}

static int del_member(db_client *c, const char *key, size_t keylen, const void *mem, size_t memlen)
{
    return db_elem_del(c, DB_REC_ELEM, key, keylen, memlen ? mem : "", memlen);
}

/* Replaces dst by a set of the members of l (deletes it when l is empty). */
static void store_set(db_client *c, const char *dst, size_t dstlen, const mlist *l)
{
    db_delete(c, dst, dstlen);
    if (!l->n)
        return;
    for (size_t i = 0; i < l->n; i++)
        add_member(c, dst, dstlen, ml_ptr(l, i), l->v[i].len);
    db_meta m;
    memset(&m, 0, sizeof m);
    m.type = DB_SET;
    m.count = (int64_t)l->n;
    db_meta_write(c, dst, dstlen, &m, NULL, 0);
}

/* Reads all members of key into l. */
static void load_all(db_client *c, const char *key, size_t keylen, mlist *l)
{
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen))
        ml_add(l, sub, sublen);
    db_iter_close(&it);
}

static void reply_members(db_client *c, const mlist *l, int as_set)
{
    if (as_set)
        reply_set(c, (long)l->n);
    else
        reply_array(c, (long)l->n);
    for (size_t i = 0; i < l->n; i++)
        reply_bulk(c, ml_ptr(l, i), l->v[i].len);
}

/* --- random members (sample.c) ---------------------------------------------------- */

static int take_member(void *arg, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen)
{
    (void)val, (void)vallen;
    ml_add(arg, sub, sublen);
    return 0;
}

typedef struct {
    db_client *c;
    long n;
} member_reply;

static int reply_member(void *arg, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen)
{
    (void)val, (void)vallen;
    member_reply *r = arg;
    if (reply_overflowed(r->c))
        return 1;
    reply_bulk(r->c, sub, sublen);
    r->n++;
    return 0;
}

/* --- SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS ------------------------------ */

static void cmd_sadd(db_client *c)
{
    db_meta m;
    if (get_set(c, ARG(1), &m) < 0)
        return;
    long long added = 0;
    for (int j = 2; j < c->argc; j++) {
        if (is_member(c, ARG(1), ARG(j)))
            continue;
        add_member(c, ARG(1), ARG(j));
        added++;
    }
    if (added) {
        m.count += added;
        db_meta_write(c, ARG(1), &m, NULL, 0);
    }
    reply_int(c, added);
}

static void cmd_srem(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r <= 0) {
        if (r == 0)
            reply_int(c, 0);
        return;
    }
    long long removed = 0;
    for (int j = 2; j < c->argc && removed < m.count; j++)
        if (del_member(c, ARG(1), ARG(j)) == 1)
            removed++;
    if (removed) {
        m.count -= removed;
        db_meta_write(c, ARG(1), &m, NULL, 0);
    }
    reply_int(c, removed);
}

static void cmd_scard(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r >= 0)
        reply_int(c, r ? m.count : 0);
}

static void cmd_sismember(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r >= 0)
        reply_int(c, r && is_member(c, ARG(1), ARG(2)));
}

static void cmd_smismember(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        reply_int(c, r && is_member(c, ARG(1), ARG(j)));
}

static void cmd_smembers(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_set(c, 0);
        return;
    }
    size_t at = reply_defer(c);
    long n = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        reply_bulk(c, sub, sublen);
        n++;
    }
    db_iter_close(&it);
    reply_defer_set(c, at, n);
}

/* --- SPOP SRANDMEMBER ------------------------------------------------------------ */

static void cmd_spop(db_client *c)
{
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    db_meta m;
    if (c->argc == 2) {
        int r = get_set(c, ARG(1), &m);
        if (r <= 0) {
            if (r == 0)
                reply_null(c);
            return;
        }
        db_buf one = {0};
        if (!sample_one(c, ARG(1), m.count, &one)) {
            reply_null(c);
        } else {
            reply_bulk(c, buf_ptr(&one), one.len);
            del_member(c, ARG(1), buf_ptr(&one), one.len);
            m.count--;
            db_meta_write(c, ARG(1), &m, NULL, 0);
        }
        db_buf_free(&one);
        return;
    }
    long long count;
    /* Redis answers the one error for a negative count and for no integer */
    if (parse_ll(ARG(2), &count) != 0 || count < 0) {
        reply_error(c, ERR_NEGATIVE);
        return;
    }
    int r = get_set(c, ARG(1), &m);
    if (r < 0)
        return;
    if (r == 0 || count == 0) {
        reply_set(c, 0);
        return;
    }
    mlist l = {0};
    if (count >= m.count) {
        load_all(c, ARG(1), &l);
        db_delete(c, ARG(1));
    } else {
        sample_distinct(c, ARG(1), m.count, count, take_member, &l);
        for (size_t i = 0; i < l.n; i++)
            del_member(c, ARG(1), ml_ptr(&l, i), l.v[i].len);
        m.count -= (int64_t)l.n;
        db_meta_write(c, ARG(1), &m, NULL, 0);
    }
    reply_members(c, &l, 1);
    ml_free(&l);
}

static void cmd_srandmember(db_client *c)
{
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    db_meta m;
    if (c->argc == 2) {
        int r = get_set(c, ARG(1), &m);
        if (r <= 0) {
            if (r == 0)
                reply_null(c);
            return;
        }
        db_buf one = {0};
        if (sample_one(c, ARG(1), m.count, &one))
            reply_bulk(c, buf_ptr(&one), one.len);
        else
            reply_null(c);
        db_buf_free(&one);
        return;
    }
    long long count;
    if (arg_ll(c, 2, &count) < 0)
        return;
    if (count == LLONG_MIN) {
        reply_errorf(c, "ERR value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
        return;
    }
    int r = get_set(c, ARG(1), &m);
    if (r < 0)
        return;
    if (r == 0 || count == 0) {
        reply_array(c, 0);
        return;
    }
    mlist l = {0};
    if (count < 0) { /* repeats allowed */
        member_reply out = {c, 0};
        size_t at = reply_defer(c);
        sample_repeats(c, ARG(1), m.count, -count, reply_member, &out);
        reply_defer_array(c, at, out.n);
    } else if (count >= m.count) {
        load_all(c, ARG(1), &l);
        reply_members(c, &l, 0);
    } else {
        sample_distinct(c, ARG(1), m.count, count, take_member, &l);
        reply_members(c, &l, 0);
    }
    ml_free(&l);
}

/* --- SMOVE ------------------------------------------------------------------------ */

static void cmd_smove(db_client *c)
{
    db_meta src, dst;
    int r = get_set(c, ARG(1), &src);
    if (r < 0)
        return;
    if (r == 0) {
        /* Redis answers 0 before looking at the destination's type */
        reply_int(c, 0);
        return;
    }
    int rd = get_set(c, ARG(2), &dst);
    if (rd < 0)
        return;
    if (c->argvlen[1] == c->argvlen[2] && !memcmp(c->argv[1], c->argv[2], c->argvlen[1])) {
        reply_int(c, is_member(c, ARG(1), ARG(3)));
        return;
    }
    if (del_member(c, ARG(1), ARG(3)) != 1) {
        reply_int(c, 0);
        return;
    }
    src.count--;
    db_meta_write(c, ARG(1), &src, NULL, 0);
    if (!is_member(c, ARG(2), ARG(3))) {
        add_member(c, ARG(2), ARG(3));
        dst.count++;
        db_meta_write(c, ARG(2), &dst, NULL, 0);
    }
    reply_int(c, 1);
}

/* --- SINTER SINTERCARD SINTERSTORE ------------------------------------------------ */

/* Looks up the nkeys keys from argv[first]: -1 if one is not a set (replied),
 * else the number of missing keys. */
static int lookup_sets(db_client *c, int first, int nkeys, db_meta *m, int *exists)
{
    int missing = 0;
    for (int j = 0; j < nkeys; j++) {
        int r = get_set(c, ARG(first + j), &m[j]);
        if (r < 0)
            return -1;
        exists[j] = r;
        if (!r)
            missing++;
    }
    return missing;
}

/* dst: argv index of the destination or 0; cardinality: SINTERCARD with
 * limit (0: none). */
static void sinter_generic(db_client *c, int first, int nkeys, int dst, int cardinality, long long limit)
{
    db_meta *m = calloc((size_t)nkeys, sizeof *m);
    int *exists = calloc((size_t)nkeys, sizeof *exists);
    if (!m || !exists)
        abort();
    int missing = lookup_sets(c, first, nkeys, m, exists);
    if (missing < 0)
        goto done;
    if (missing > 0) {
        if (dst) {
            db_delete(c, ARG(dst));
            reply_int(c, 0);
        } else if (cardinality) {
            reply_int(c, 0);
        } else {
            reply_set(c, 0);
        }
        goto done;
    }
    int small = 0;
    for (int j = 1; j < nkeys; j++)
        if (m[j].count < m[small].count)
            small = j;
    const char *skey = c->argv[first + small];
    size_t sklen = c->argvlen[first + small];

    mlist l = {0};
    long long n = 0;
    size_t at = 0;
    if (!dst && !cardinality)
        at = reply_defer(c);
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, skey, sklen, NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        int in = 1;
        for (int j = 0; j < nkeys && in; j++) {
            if (j == small ||
                (c->argvlen[first + j] == sklen && !memcmp(c->argv[first + j], skey, sklen)))
                continue;
            in = is_member(c, ARG(first + j), sub, sublen);
        }
        if (!in)
            continue;
        n++;
        if (dst)
            ml_add(&l, sub, sublen);
        else if (!cardinality)
            reply_bulk(c, sub, sublen);
        else if (limit && n >= limit)
            break;
    }
    db_iter_close(&it);
    if (dst) {
        store_set(c, ARG(dst), &l);
        reply_int(c, n);
    } else if (cardinality) {
        reply_int(c, n);
    } else {
        reply_defer_set(c, at, (long)n);
    }
    ml_free(&l);
done:
    free(m);
    free(exists);
}

static void cmd_sinter(db_client *c)
{
    sinter_generic(c, 1, c->argc - 1, 0, 0, 0);
}

static void cmd_sinterstore(db_client *c)
{
    sinter_generic(c, 2, c->argc - 2, 1, 0, 0);
}

static void cmd_sintercard(db_client *c)
{
    long long numkeys, limit = 0;
    if (parse_ll(ARG(1), &numkeys) != 0 || numkeys < 1) {
        reply_error(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        if (arg_is(c, j, "limit") && j + 1 < c->argc) {
            j++;
            if (parse_ll(ARG(j), &limit) != 0 || limit < 0) {
                reply_error(c, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    sinter_generic(c, 2, (int)numkeys, 0, 1, limit);
}

/* --- SUNION SDIFF and their STORE forms -------------------------------------------- */

/* dst: argv index of the destination or 0. A merge of the sets' ordered
 * iterators; the heads are copied, as an iterator's sub lives only until the
 * next db_iter_next of any iterator. */
static void sunion_generic(db_client *c, int first, int nkeys, int dst)
{
    db_meta *m = calloc((size_t)nkeys, sizeof *m);
    int *exists = calloc((size_t)nkeys, sizeof *exists);
    db_iter *it = calloc((size_t)nkeys, sizeof *it);
    db_buf *head = calloc((size_t)nkeys, sizeof *head);
    int *live = calloc((size_t)nkeys, sizeof *live);
    if (!m || !exists || !it || !head || !live)
        abort();
    if (lookup_sets(c, first, nkeys, m, exists) < 0)
        goto done;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    /* live: 0 no iterator, 1 iterator at its end, 2 head holds a member */
    for (int j = 0; j < nkeys; j++) {
        if (!exists[j])
            continue;
        db_iter_init(&it[j], c, DB_REC_ELEM, ARG(first + j), NULL, 0, 0);
        live[j] = 1;
        if (db_iter_next(&it[j], &sub, &sublen, &val, &vallen)) {
            buf_set(&head[j], sub, sublen);
            live[j] = 2;
        }
    }
    mlist l = {0};
    long n = 0;
    size_t at = 0;
    if (!dst)
        at = reply_defer(c);
    for (;;) {
        int min = -1;
        for (int j = 0; j < nkeys; j++)
            if (live[j] == 2 &&
                (min < 0 || bytes_cmp(buf_ptr(&head[j]), head[j].len, buf_ptr(&head[min]), head[min].len) < 0))
                min = j;
        if (min < 0)
            break;
        if (dst)
            ml_add(&l, buf_ptr(&head[min]), head[min].len);
        else
            reply_bulk(c, buf_ptr(&head[min]), head[min].len);
        n++;
        /* advance every iterator standing on this member, the minimum last */
        for (int k = 0; k <= nkeys; k++) {
            int j = k < nkeys ? k : min;
            if (live[j] != 2 || (k < nkeys && (j == min || bytes_cmp(buf_ptr(&head[j]), head[j].len,
                                                                     buf_ptr(&head[min]), head[min].len))))
                continue;
            if (db_iter_next(&it[j], &sub, &sublen, &val, &vallen))
                buf_set(&head[j], sub, sublen);
            else
                live[j] = 1;
        }
    }
    for (int j = 0; j < nkeys; j++)
        if (live[j])
            db_iter_close(&it[j]);
    if (dst) {
        store_set(c, ARG(dst), &l);
        reply_int(c, (long long)l.n);
    } else {
        reply_defer_set(c, at, n);
    }
    ml_free(&l);
done:
    for (int j = 0; j < nkeys; j++)
        db_buf_free(&head[j]);
    free(m);
    free(exists);
    free(it);
    free(head);
    free(live);
}

static void sdiff_generic(db_client *c, int first, int nkeys, int dst)
{
    db_meta *m = calloc((size_t)nkeys, sizeof *m);
    int *exists = calloc((size_t)nkeys, sizeof *exists);
    if (!m || !exists)
        abort();
    if (lookup_sets(c, first, nkeys, m, exists) < 0)
        goto done;
    mlist l = {0};
    long n = 0;
    size_t at = 0;
    if (!dst)
        at = reply_defer(c);
    int same = 0; /* the first key again: nothing is left */
    for (int j = 1; j < nkeys; j++)
        if (c->argvlen[first + j] == c->argvlen[first] && !memcmp(c->argv[first + j], ARG(first)))
            same = 1;
    if (exists[0] && !same) {
        db_iter it;
        const uint8_t *sub, *val;
        size_t sublen, vallen;
        db_iter_init(&it, c, DB_REC_ELEM, ARG(first), NULL, 0, 0);
        while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
            int out = 0;
            for (int j = 1; j < nkeys && !out; j++)
                out = exists[j] && is_member(c, ARG(first + j), sub, sublen);
            if (out)
                continue;
            if (dst)
                ml_add(&l, sub, sublen);
            else
                reply_bulk(c, sub, sublen);
            n++;
        }
        db_iter_close(&it);
    }
    if (dst) {
        store_set(c, ARG(dst), &l);
        reply_int(c, (long long)l.n);
    } else {
        reply_defer_set(c, at, n);
    }
    ml_free(&l);
done:
    free(m);
    free(exists);
}

static void cmd_sunion(db_client *c)
{
    sunion_generic(c, 1, c->argc - 1, 0);
}

static void cmd_sunionstore(db_client *c)
{
    sunion_generic(c, 2, c->argc - 2, 1);
}

static void cmd_sdiff(db_client *c)
{
    sdiff_generic(c, 1, c->argc - 1, 0);
}

static void cmd_sdiffstore(db_client *c)
{
    sdiff_generic(c, 2, c->argc - 2, 1);
}

/* --- SSCAN ------------------------------------------------------------------------ */

static int sscan_decode(int whole, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen,
                        const uint8_t **name, size_t *namelen, const uint8_t **value, size_t *valuelen, char *scratch)
{
    (void)whole, (void)val, (void)vallen, (void)value, (void)valuelen, (void)scratch;
    *name = sub, *namelen = sublen;
    return 1;
}

static void cmd_sscan(db_client *c)
{
    static const scan_spec set = {.type = DB_SET, .kind = DB_REC_ELEM, .decode = sscan_decode};
    scan_generic(c, &set);
}

/* --- SCLEAR SMCLEAR (Leither) ----------------------------------------------------- */

static void cmd_sclear(db_client *c)
{
    db_meta m;
    int r = get_set(c, ARG(1), &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    db_delete(c, ARG(1));
    reply_int(c, m.count);
}

static void cmd_smclear(db_client *c)
{
    db_meta m;
    for (int j = 1; j < c->argc; j++)
        if (get_set(c, ARG(j), &m) < 0)
            return;
    long long n = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_delete(c, ARG(j)) == 1)
            n++;
    reply_int(c, n);
}

/* --- the table ---------------------------------------------------------------------- */

const struct db_command db_set_commands[] = {
    {"sadd", cmd_sadd, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"srem", cmd_srem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"scard", cmd_scard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"sismember", cmd_sismember, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"smismember", cmd_smismember, -3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"smembers", cmd_smembers, 2, CMD_READONLY, 1, 1, 1},
    {"spop", cmd_spop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"srandmember", cmd_srandmember, -2, CMD_READONLY | CMD_WRITER_ONLY, 1, 1, 1},
    {"smove", cmd_smove, 4, CMD_WRITE | CMD_FAST, 1, 2, 1},
    {"sinter", cmd_sinter, -2, CMD_READONLY, 1, -1, 1},
    {"sintercard", cmd_sintercard, -3, CMD_READONLY, 0, 0, 0},
    {"sinterstore", cmd_sinterstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1},
    {"sunion", cmd_sunion, -2, CMD_READONLY, 1, -1, 1},
    {"sunionstore", cmd_sunionstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1},
    {"sdiff", cmd_sdiff, -2, CMD_READONLY, 1, -1, 1},
    {"sdiffstore", cmd_sdiffstore, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 1},
    {"sscan", cmd_sscan, -3, CMD_READONLY | CMD_WRITER_ONLY, 1, 1, 1},
    {"sclear", cmd_sclear, 2, CMD_WRITE, 1, 1, 1},
    {"smclear", cmd_smclear, -2, CMD_WRITE, 1, -1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
