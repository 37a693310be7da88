/*
 * Hashes: HSET HSETNX HGET HMSET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HDEL
 * HINCRBY HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD, and Leither's HCLEAR and
 * HMCLEAR.
 *
 * A hash is its meta record (type DB_HASH, count = number of fields) and one
 * DB_REC_ELEM record per field: sub = the field's bytes, value = its value.
 * Fields come back in byte order, which is the order HGETALL, HKEYS and HVALS
 * answer in (Redis leaves it unspecified).
 *
 * HSCAN goes through the fields in byte order, COUNT at a time; the node
 * keeps the next field behind the cursor (cursors.c), so a field present
 * for the whole scan is returned whatever is added or removed meanwhile
 * (scanning and deleting works). A hash of at most 128 fields is answered
 * whole with cursor 0, as Redis does for a listpack; an unknown cursor
 * starts over. "0" starts and ends a scan.
 *
 * Random fields (HRANDFIELD). The store gives ordered iteration, not access
 * by rank. A hash of at most SMALL_HASH fields is read through and the pick
 * is exactly uniform. For a bigger one, a pick descends the byte trie of the
 * fields: take the least and greatest field of the current range, draw a byte
 * uniformly between their first differing bytes (or the least field itself if
 * it is their common prefix), drawing again when no field has that byte (up
 * to 16 times, then the next existing byte is taken), and narrow the range
 * to the fields under it. A pick costs O(field length) seeks and is random
 * but not exactly uniform: each branch of the trie is about equally likely,
 * whatever its size; Redis too promises only "random". When a count asks for a large
 * share of the hash (>= 1/16), one exact pass over it is used instead.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_HASH 1024     /* random picks read hashes up to this size whole */
#define RANDOM_REDRAW 16    /* draws of a byte no field has before taking the next */
#define SCAN_WHOLE 128      /* HSCAN answers such hashes at once (Redis's listpack) */
#define LD_CHARS 5120       /* Redis's MAX_LONG_DOUBLE_CHARS */

/* --- helpers --------------------------------------------------------------- */

static const char *bptr(const db_buf *b) { return b->buf ? b->buf : ""; }

static void bset(db_buf *b, const void *p, size_t n)
{
    b->len = 0;
    db_buf_append(b, p, n);
}

static size_t lcp(const void *a, size_t al, const void *b, size_t bl)
{
    const uint8_t *x = a, *y = b;
    size_t n = al < bl ? al : bl, i = 0;
    while (i < n && x[i] == y[i])
        i++;
    return i;
}

/* Fields (and values) copied out of the store: its pointers die with the
 * next write, and a field's bytes with the next db_iter_next. */
typedef struct {
    size_t f, flen, v, vlen;
} eref;

typedef struct {
    db_buf data;
    eref *e;
    size_t n, cap;
} elist;

static void el_add(elist *l, const void *f, size_t flen, const void *v, size_t vlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        eref *e = realloc(l->e, cap * sizeof *e);
        if (!e)
            abort();
        l->e = e;
        l->cap = cap;
    }
    eref *r = &l->e[l->n++];
    r->f = l->data.len;
    r->flen = flen;
    db_buf_append(&l->data, f, flen);
    r->v = l->data.len;
    r->vlen = vlen;
    db_buf_append(&l->data, v, vlen);
}

static const char *el_field(const elist *l, size_t i) { return bptr(&l->data) + l->e[i].f; }
static const char *el_value(const elist *l, size_t i) { return bptr(&l->data) + l->e[i].v; }

static void el_free(elist *l)
{
    db_buf_free(&l->data);
    free(l->e);
    memset(l, 0, sizeof *l);
}

/* The hash at argv[1]: -1 (WRONGTYPE replied), 0 absent (with create, m is
 * a fresh empty hash), 1 found. */
static int get_hash(db_client *c, db_meta *m, int create)
{
    int r = db_lookup_type(c, ARG(1), DB_HASH, m);
    if (r == 0 && create) {
        memset(m, 0, sizeof *m);
        m->type = DB_HASH;
    }
    return r;
}

/* Puts a field; returns 1 if the field is new. */
static int put_field(db_client *c, const void *f, size_t fl, const void *v, size_t vl)
{
    return db_elem_put(c, DB_REC_ELEM, ARG(1), f, fl, v, vl) == 0;
}

/* The first field >= from, or with reverse the last <= from (from NULL: the
 * first or the last field), copied to out (and its value to val). */
static int seek_field(db_client *c, const void *from, size_t fromlen, int reverse, db_buf *out, db_buf *val)
{
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), from, fromlen, reverse);
    int r = db_iter_next(&it, &f, &fl, &v, &vl);
    if (r) {
        bset(out, f, fl);
        if (val)
            bset(val, v, vl);
    }
    db_iter_close(&it);
    return r;
}

/* The last field < x, copied to out. */
static int last_below(db_client *c, const void *x, size_t xl, db_buf *out)
{
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), x, xl, 1);
    int r = db_iter_next(&it, &f, &fl, &v, &vl);
    if (r && fl == xl && !memcmp(f, x, xl))
        r = db_iter_next(&it, &f, &fl, &v, &vl);
    if (r)
        bset(out, f, fl);
    db_iter_close(&it);
    return r;
}

static uint64_t fnv(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

/* --- HSET HSETNX HMSET HGET HMGET HLEN HEXISTS HSTRLEN HDEL ------------------- */

static void hset_generic(db_client *c, const char *name, int ok)
{
    if (c->argc % 2) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
        return;
    }
    db_meta m;
    if (get_hash(c, &m, 1) < 0)
        return;
    long long created = 0;
    for (int j = 2; j < c->argc; j += 2)
        created += put_field(c, ARG(j), ARG(j + 1));
    m.count += created;
    db_meta_write(c, ARG(1), &m, NULL, 0);
    if (ok)
        reply_ok(c);
    else
        reply_int(c, created);
}

static void cmd_hset(db_client *c) { hset_generic(c, "hset", 0); }
static void cmd_hmset(db_client *c) { hset_generic(c, "hmset", 1); }

static void cmd_hsetnx(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 1);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    if (r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl)) {
        reply_int(c, 0);
        return;
    }
    m.count += put_field(c, ARG(2), ARG(3));
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_int(c, 1);
}

static void cmd_hget(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    if (r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl))
        reply_bulk(c, v, vl);
    else
        reply_null(c);
}

static void cmd_hmget(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        const uint8_t *v;
        size_t vl;
        if (r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(j), &v, &vl))
            reply_bulk(c, v, vl);
        else
            reply_null(c);
    }
}

static void cmd_hlen(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r >= 0)
        reply_int(c, r ? m.count : 0);
}

static void cmd_hexists(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    reply_int(c, r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl));
}

static void cmd_hstrlen(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    reply_int(c, r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl) ? (long long)vl : 0);
}

static void cmd_hdel(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r <= 0) {
        if (r == 0)
            reply_int(c, 0);
        return;
    }
    long long removed = 0;
    for (int j = 2; j < c->argc && removed < m.count; j++)
        if (db_elem_del(c, DB_REC_ELEM, ARG(1), ARG(j)) == 1)
            removed++;
    if (removed) {
        m.count -= removed;
        db_meta_write(c, ARG(1), &m, NULL, 0);
    }
    reply_int(c, removed);
}

/* --- HINCRBY HINCRBYFLOAT ----------------------------------------------------- */

static void cmd_hincrby(db_client *c)
{
    long long incr, value = 0;
    if (arg_ll(c, 3, &incr) < 0)
        return;
    db_meta m;
    int r = get_hash(c, &m, 1);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    int exists = r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl);
    if (exists && parse_ll((const char *)v, vl, &value) != 0) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) || (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", value);
    m.count += put_field(c, ARG(2), buf, (size_t)n);
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_int(c, value);
}

/* Redis's string2ld: strtold over the whole string, no leading space, no
 * NaN, no overflow. 0 on success. */
static int parse_ld(const void *s, size_t n, long double *out)
{
    char buf[LD_CHARS];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (isspace((unsigned char)buf[0]))
        return -1;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (*end != '\0' || (errno == ERANGE && (isinf(v) || v == 0)) || errno == EINVAL || isnan(v))
        return -1;
    *out = v;
    return 0;
}

static void cmd_hincrbyfloat(db_client *c)
{
    long double incr, value = 0;
    if (parse_ld(ARG(3), &incr) != 0) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    db_meta m;
    int r = get_hash(c, &m, 1);
    if (r < 0)
        return;
    const uint8_t *v;
    size_t vl;
    int exists = r && db_elem_get(c, DB_REC_ELEM, ARG(1), ARG(2), &v, &vl);
    if (exists && parse_ld(v, vl, &value) != 0) {
        reply_error(c, "ERR hash value is not a float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[LD_CHARS];
    int n = format_long_double(buf, sizeof buf, value);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = 0;
    m.count += put_field(c, ARG(2), buf, (size_t)n);
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_bulk(c, buf, (size_t)n);
}

/* --- HGETALL HKEYS HVALS ------------------------------------------------------- */

static void getall_generic(db_client *c, int keys, int vals)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    int map = keys && vals;
    if (r == 0) {
        if (map)
            reply_map(c, 0);
        else
            reply_array(c, 0);
        return;
    }
    size_t at = reply_defer(c);
    long n = 0;
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
    while (db_iter_next(&it, &f, &fl, &v, &vl)) {
        if (keys)
            reply_bulk(c, f, fl);
        if (vals)
            reply_bulk(c, v, vl);
        n++;
    }
    db_iter_close(&it);
    if (map)
        reply_defer_map(c, at, n);
    else
        reply_defer_array(c, at, n);
}

static void cmd_hgetall(db_client *c) { getall_generic(c, 1, 1); }
static void cmd_hkeys(db_client *c) { getall_generic(c, 1, 0); }
static void cmd_hvals(db_client *c) { getall_generic(c, 0, 1); }

/* --- HSCAN --------------------------------------------------------------------- */

static int hscan_decode(int whole, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen,
                        const uint8_t **name, size_t *namelen, const uint8_t **value, size_t *valuelen, char *scratch)
{
    (void)whole, (void)scratch;
    *name = sub, *namelen = sublen;
    *value = val, *valuelen = vallen;
    return 1;
}

static void cmd_hscan(db_client *c)
{
    static const scan_spec hash = {.type = DB_HASH, .kind = DB_REC_ELEM, .whole = SCAN_WHOLE,
                                   .whole_kind = DB_REC_ELEM, .decode = hscan_decode};
    scan_generic(c, &hash);
}

/* --- HRANDFIELD ---------------------------------------------------------------- */

/* Reads every field (and value) of the hash. */
static void load_all(db_client *c, elist *l)
{
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
    while (db_iter_next(&it, &f, &fl, &v, &vl))
        el_add(l, f, fl, v, vl);
    db_iter_close(&it);
}

/* One random field of a hash of n fields, copied to out. */
static int random_field(db_client *c, uint64_t n, db_buf *out)
{
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    int found = 0;
    if (n <= SMALL_HASH) { /* exact: walk to a random rank */
        uint64_t r = db_random_below(n ? n : 1), i = 0;
        db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
        while (db_iter_next(&it, &f, &fl, &v, &vl)) {
            bset(out, f, fl);
            found = 1;
            if (i++ == r)
                break;
        }
        db_iter_close(&it);
        return found;
    }
    /* descend the byte trie between the least (lo) and greatest (hi) field */
    db_buf lo = {0}, hi = {0}, q = {0}, g = {0};
    if (seek_field(c, NULL, 0, 0, &lo, NULL) && seek_field(c, NULL, 0, 1, &hi, NULL)) {
        found = 1;
        for (;;) {
            size_t cp = lcp(bptr(&lo), lo.len, bptr(&hi), hi.len);
            if (cp >= hi.len) /* lo == hi (or an inconsistent range) */
                break;
            int blo = lo.len > cp ? (uint8_t)lo.buf[cp] : -1, bhi = (uint8_t)hi.buf[cp];
            if (blo > bhi)
                break;
            /* draw a next byte; a draw that no field has is drawn again
             * (up to SCAN_REDRAW times), then the next existing one is taken */
            int b, b2 = -1, ok = 0;
            for (int tries = 0;; tries++) {
                b = blo + (int)db_random_below((uint64_t)(bhi - blo + 1));
                if (b < 0) /* lo is the common prefix itself */
                    break;
                bset(&q, bptr(&lo), cp);
                uint8_t byte = (uint8_t)b;
                db_buf_append(&q, &byte, 1);
                ok = seek_field(c, q.buf, q.len, 0, &g, NULL) && g.len > cp && !memcmp(g.buf, hi.buf, cp);
                if (!ok)
                    break;
                b2 = (uint8_t)g.buf[cp];
                if (b2 == b || tries >= RANDOM_REDRAW)
                    break;
            }
            if (b < 0 || !ok || b2 > bhi)
                break;
            bset(&lo, bptr(&g), g.len);
            if (b2 != bhi) { /* hi: the last field under prefix + b2 */
                q.buf[cp] = (char)(b2 + 1);
                if (!last_below(c, q.buf, q.len, &hi))
                    break;
            }
        }
        bset(out, bptr(&lo), lo.len);
    }
    db_buf_free(&lo);
    db_buf_free(&hi);
    db_buf_free(&q);
    db_buf_free(&g);
    return found;
}

static void emit(db_client *c, const void *f, size_t fl, const void *v, size_t vl, int withvalues)
{
    if (withvalues && c->resp >= 3)
        reply_array(c, 2);
    reply_bulk(c, f, fl);
    if (withvalues)
        reply_bulk(c, v, vl);
}

/* Emits field f with its value read from the store. */
static void emit_lookup(db_client *c, const db_buf *f, int withvalues)
{
    const uint8_t *v = (const uint8_t *)"";
    size_t vl = 0;
    if (withvalues && !db_elem_get(c, DB_REC_ELEM, ARG(1), bptr(f), f->len, &v, &vl))
        v = (const uint8_t *)"", vl = 0;
    emit(c, bptr(f), f->len, v, vl, withvalues);
}

/* Redis closes a client whose output outgrows its limit. */
static int over_limit(db_client *c, size_t at)
{
    size_t limit = db_client_output_limit(c->db);
    if (limit && c->out.len - at > limit) {
        c->flags |= DB_CLIENT_CLOSE;
        return 1;
    }
    return 0;
}

static void finish(db_client *c, size_t at, long n, int withvalues)
{
    reply_defer_array(c, at, withvalues && c->resp < 3 ? 2 * n : n);
}

typedef struct {
    uint64_t rank;
    size_t slot;
} pick;

static int pick_cmp(const void *a, const void *b)
{
    uint64_t x = ((const pick *)a)->rank, y = ((const pick *)b)->rank;
    return x < y ? -1 : x > y;
}


/* Picks with repeats: k of a hash of n fields. */
static void random_repeats(db_client *c, uint64_t k, uint64_t n, int withvalues)
{
    size_t at = reply_defer(c);
    long emitted = 0;
    elist l = {0};
    if (n <= SMALL_HASH || k >= n) { /* the output is as big as the hash anyway */
        load_all(c, &l);
        for (uint64_t s = 0; l.n && s < k && !over_limit(c, at); s++, emitted++) {
            size_t j = (size_t)db_random_below(l.n);
            emit(c, el_field(&l, j), l.e[j].flen, el_value(&l, j), l.e[j].vlen, withvalues);
        }
    } else if (k >= n / 16) { /* one pass over the hash for sorted random ranks */
        pick *p = malloc(k * sizeof *p);
        size_t *res = malloc(k * sizeof *res);
        if (!p || !res)
            abort();
        for (size_t s = 0; s < k; s++) {
            p[s].rank = db_random_below(n);
            p[s].slot = s;
            res[s] = SIZE_MAX;
        }
        qsort(p, k, sizeof *p, pick_cmp);
        db_iter it;
        const uint8_t *f, *v;
        size_t fl, vl, j = 0;
        uint64_t rank = 0;
        db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
        while (j < k && db_iter_next(&it, &f, &fl, &v, &vl)) {
            if (p[j].rank == rank) {
                el_add(&l, f, fl, v, vl);
                for (; j < k && p[j].rank == rank; j++)
                    res[p[j].slot] = l.n - 1;
            }
            rank++;
        }
        db_iter_close(&it);
        for (size_t s = 0; s < k && !over_limit(c, at); s++) {
            if (res[s] == SIZE_MAX)
                continue;
            size_t e = res[s];
            emit(c, el_field(&l, e), l.e[e].flen, el_value(&l, e), l.e[e].vlen, withvalues);
            emitted++;
        }
        free(p);
        free(res);
    } else {
        db_buf f = {0};
        for (uint64_t s = 0; s < k && !over_limit(c, at); s++) {
            if (!random_field(c, n, &f))
                break;
            emit_lookup(c, &f, withvalues);
            emitted++;
        }
        db_buf_free(&f);
    }
    el_free(&l);
    finish(c, at, emitted, withvalues);
}

/* k distinct fields of a hash of n > k fields, by one selection-sampling
 * pass (exactly uniform). */
static void select_pass(db_client *c, uint64_t k, uint64_t n, elist *l)
{
    db_iter it;
    const uint8_t *f, *v;
    size_t fl, vl;
    uint64_t seen = 0;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
    while (l->n < k && db_iter_next(&it, &f, &fl, &v, &vl)) {
        uint64_t left = n > seen ? n - seen : 1;
        if (db_random_below(left) < k - l->n)
            el_add(l, f, fl, v, vl);
        seen++;
    }
    db_iter_close(&it);
}

/* k distinct fields by trie picks; 0 if that takes too many tries. */
static int distinct_picks(db_client *c, uint64_t k, uint64_t n, elist *l)
{
    size_t cap = 16;
    while (cap < 2 * k)
        cap *= 2;
    size_t *slot = malloc(cap * sizeof *slot);
    if (!slot)
        abort();
    for (size_t i = 0; i < cap; i++)
        slot[i] = SIZE_MAX;
    db_buf f = {0};
    uint64_t tries = 0, max_tries = 8 * k + 64;
    while (l->n < k && tries++ < max_tries) {
        if (!random_field(c, n, &f))
            break;
        size_t h = (size_t)fnv(bptr(&f), f.len) & (cap - 1);
        int dup = 0;
        for (; slot[h] != SIZE_MAX; h = (h + 1) & (cap - 1))
            if (l->e[slot[h]].flen == f.len && !memcmp(el_field(l, slot[h]), bptr(&f), f.len)) {
                dup = 1;
                break;
            }
        if (dup)
            continue;
        const uint8_t *v;
        size_t vl;
        if (!db_elem_get(c, DB_REC_ELEM, ARG(1), bptr(&f), f.len, &v, &vl))
            v = (const uint8_t *)"", vl = 0;
        el_add(l, bptr(&f), f.len, v, vl);
        slot[h] = l->n - 1;
    }
    db_buf_free(&f);
    free(slot);
    return l->n == k;
}

static void hrandfield_count(db_client *c, long long count, int withvalues)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    if (r == 0 || count == 0 || m.count <= 0) {
        reply_array(c, 0);
        return;
    }
    uint64_t n = (uint64_t)m.count, k = count < 0 ? (uint64_t)-count : (uint64_t)count;
    if (count < 0 || k == 1) {
        random_repeats(c, k, n, withvalues);
        return;
    }
    size_t at = reply_defer(c);
    long emitted = 0;
    elist l = {0};
    if (k >= n) { /* the whole hash */
        db_iter it;
        const uint8_t *f, *v;
        size_t fl, vl;
        db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
        while (db_iter_next(&it, &f, &fl, &v, &vl)) {
            emit(c, f, fl, v, vl, withvalues);
            emitted++;
        }
        db_iter_close(&it);
    } else {
        if (n <= SMALL_HASH || k >= n / 16 || !distinct_picks(c, k, n, &l)) {
            el_free(&l);
            select_pass(c, k, n, &l);
        }
        for (size_t i = l.n; i > 1; i--) { /* shuffle: the pass yields byte order */
            size_t j = (size_t)db_random_below(i);
            eref t = l.e[i - 1];
            l.e[i - 1] = l.e[j];
            l.e[j] = t;
        }
        for (size_t i = 0; i < l.n; i++, emitted++)
            emit(c, el_field(&l, i), l.e[i].flen, el_value(&l, i), l.e[i].vlen, withvalues);
    }
    el_free(&l);
    finish(c, at, emitted, withvalues);
}

static void cmd_hrandfield(db_client *c)
{
    if (c->argc >= 3) {
        long long count;
        if (arg_ll(c, 2, &count) < 0)
            return;
        if (count == LLONG_MIN) {
            reply_errorf(c, "ERR value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
            return;
        }
        int withvalues = 0;
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withvalues"))) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (c->argc == 4) {
            withvalues = 1;
            if (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2) {
                reply_error(c, "ERR value is out of range");
                return;
            }
        }
        hrandfield_count(c, count, withvalues);
        return;
    }
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    db_buf f = {0};
    if (r && m.count > 0 && random_field(c, (uint64_t)m.count, &f))
        reply_bulk(c, bptr(&f), f.len);
    else
        reply_null(c);
    db_buf_free(&f);
}

/* --- HCLEAR HMCLEAR (Leither) ----------------------------------------------------- */

static void cmd_hclear(db_client *c)
{
    db_meta m;
    int r = get_hash(c, &m, 0);
    if (r < 0)
        return;
    if (r)
        db_delete(c, ARG(1));
    reply_int(c, r ? m.count : 0);
}

static void cmd_hmclear(db_client *c)
{
    db_meta m;
    for (int j = 1; j < c->argc; j++) /* all type checks first: nothing changes on WRONGTYPE */
        if (db_lookup_type(c, ARG(j), DB_HASH, &m) < 0)
            return;
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup_type(c, ARG(j), DB_HASH, &m) > 0 && db_delete(c, ARG(j)) > 0)
            deleted++;
    reply_int(c, deleted);
}

/* --- the table ------------------------------------------------------------------ */

const struct db_command db_hash_commands[] = {
    {"hset", cmd_hset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"hsetnx", cmd_hsetnx, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"hget", cmd_hget, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"hmset", cmd_hmset, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"hmget", cmd_hmget, -3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"hgetall", cmd_hgetall, 2, CMD_READONLY, 1, 1, 1},
    {"hkeys", cmd_hkeys, 2, CMD_READONLY, 1, 1, 1},
    {"hvals", cmd_hvals, 2, CMD_READONLY, 1, 1, 1},
    {"hlen", cmd_hlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"hexists", cmd_hexists, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"hdel", cmd_hdel, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"hincrby", cmd_hincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"hincrbyfloat", cmd_hincrbyfloat, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"hstrlen", cmd_hstrlen, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"hscan", cmd_hscan, -3, CMD_READONLY, 1, 1, 1},
    {"hrandfield", cmd_hrandfield, -2, CMD_READONLY, 1, 1, 1},
    {"hclear", cmd_hclear, 2, CMD_WRITE, 1, 1, 1},
    {"hmclear", cmd_hmclear, -2, CMD_WRITE, 1, -1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
