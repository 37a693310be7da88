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
 * HSCAN is scan_generic (keyspace.c): fields in byte order, COUNT at a
 * time; a hash of at most 128 fields is answered whole with cursor 0, as
 * Redis does for a listpack. HRANDFIELD's picks come from sample.c.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_WHOLE 128      /* HSCAN answers such hashes at once (Redis's listpack) */
#define LD_CHARS 5120       /* Redis's MAX_LONG_DOUBLE_CHARS */

/* --- helpers --------------------------------------------------------------- */

static const char *bptr(const db_buf *b) { return b->buf ? b->buf : ""; }

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

static void emit(db_client *c, const void *f, size_t fl, const void *v, size_t vl, int withvalues)
{
    if (withvalues && c->resp >= 3)
        reply_array(c, 2);
    reply_bulk(c, f, fl);
    if (withvalues)
        reply_bulk(c, v, vl);
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
    db_client *c;
    size_t at; /* where the reply began */
    long n;
    int withvalues;
} field_reply;

/* Replies one field (and its value, looked up when the sampler did not
 * read it); stops when the output passed its limit. */
static int reply_field(void *arg, const uint8_t *f, size_t fl, const uint8_t *v, size_t vl)
{
    field_reply *r = arg;
    if (over_limit(r->c, r->at))
        return 1;
    db_client *c = r->c;
    if (!v && r->withvalues && !db_elem_get(c, DB_REC_ELEM, ARG(1), f, fl, &v, &vl))
        v = (const uint8_t *)"", vl = 0;
    emit(c, f, fl, v ? v : (const uint8_t *)"", v ? vl : 0, r->withvalues);
    r->n++;
    return 0;
}

typedef struct {
    db_client *c;
    elist l;
} field_keep;

/* Keeps a field and its value (looked up when the sampler did not read it). */
static int keep_field(void *arg, const uint8_t *f, size_t fl, const uint8_t *v, size_t vl)
{
    field_keep *k = arg;
    db_client *c = k->c;
    if (!v && !db_elem_get(c, DB_REC_ELEM, ARG(1), f, fl, &v, &vl))
        v = (const uint8_t *)"", vl = 0;
    el_add(&k->l, f, fl, v, vl);
    return 0;
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
    size_t at = reply_defer(c);
    if (count < 0 || k == 1) {
        field_reply out = {c, at, 0, withvalues};
        sample_repeats(c, ARG(1), (int64_t)n, (int64_t)k, reply_field, &out);
        finish(c, at, out.n, withvalues);
        return;
    }
    long emitted = 0;
    field_keep kept = {.c = c};
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
        sample_distinct(c, ARG(1), (int64_t)n, (int64_t)k, keep_field, &kept);
        l = kept.l;
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
    if (r && m.count > 0 && sample_one(c, ARG(1), m.count, &f))
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
    {"hscan", cmd_hscan, -3, CMD_READONLY | CMD_WRITER_ONLY, 1, 1, 1},
    {"hrandfield", cmd_hrandfield, -2, CMD_READONLY | CMD_WRITER_ONLY, 1, 1, 1},
    {"hclear", cmd_hclear, 2, CMD_WRITE, 1, 1, 1},
    {"hmclear", cmd_hmclear, -2, CMD_WRITE, 1, -1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
