/*
 * Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT
 * LREM LTRIM LPOS RPOPLPUSH LMOVE, and Leither's LCLEAR and LMCLEAR.
 *
 * Representation: every element is a DB_REC_ELEM record whose sub is
 * db_index_bytes(index). The meta record bounds them: elements live at the
 * indexes head .. tail-1 without gaps, and count == tail - head. LPUSH takes
 * head-1, RPUSH takes tail, so both ends push and pop in O(1), and the i-th
 * element is a single lookup at head+i (LINDEX, LSET). LINSERT and LREM move
 * the elements on the shorter side of the change point (O(n), as in Redis);
 * LTRIM only deletes the trimmed elements.
 *
 * Blocking pops are not here: BLPOP and friends call these commands through
 * the table. Pushes write through db_elem_put, which signals the key.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ---------------------------------------------------------------- */


static int elem_get(db_client *c, const char *key, size_t keylen, int64_t index, const uint8_t **val,
                    size_t *vallen)
{
    uint8_t sub[DB_INDEX_BYTES];
    db_index_bytes(sub, index);
    return db_elem_get(c, DB_REC_ELEM, key, keylen, sub, sizeof sub, val, vallen);
}

static void elem_put(db_client *c, const char *key, size_t keylen, int64_t index, const void *val, size_t vallen)
{
    uint8_t sub[DB_INDEX_BYTES];
    db_index_bytes(sub, index);
    db_elem_put(c, DB_REC_ELEM, key, keylen, sub, sizeof sub, val, vallen);
}

static void elem_del(db_client *c, const char *key, size_t keylen, int64_t index)
{
    uint8_t sub[DB_INDEX_BYTES];
    db_index_bytes(sub, index);
    db_elem_del(c, DB_REC_ELEM, key, keylen, sub, sizeof sub);
}

/* Moves the element at index `from` to index `to` (to's old value is lost). */
static void elem_move(db_client *c, const char *key, size_t keylen, int64_t from, int64_t to, db_buf *scratch)
{
    const uint8_t *v;
    size_t vl;
    if (elem_get(c, key, keylen, from, &v, &vl) != 1)
        return;
    scratch->len = 0;
    db_buf_append(scratch, v, vl); /* the read's pointer dies with the write */
    elem_put(c, key, keylen, to, scratch->buf ? scratch->buf : "", scratch->len);
}

static int same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void meta_new(db_meta *m)
{
    memset(m, 0, sizeof *m);
    m->type = DB_LIST;
}

/* Pushes one element at the head (left) or the tail; updates m only. */
static void list_push(db_client *c, const char *key, size_t keylen, db_meta *m, int left, const void *val,
                      size_t vallen)
{
    if (left) {
        m->head--;
        elem_put(c, key, keylen, m->head, val, vallen);
    } else {
        elem_put(c, key, keylen, m->tail, val, vallen);
        m->tail++;
    }
    m->count++;
}

/* Pops one element from the head (left) or the tail, appending its value to
 * out; updates m only. 0 when the list is empty. */
static int list_pop(db_client *c, const char *key, size_t keylen, db_meta *m, int left, db_buf *out)
{
    if (m->count <= 0)
        return 0;
    int64_t index = left ? m->head : m->tail - 1;
    const uint8_t *v;
    size_t vl;
    if (elem_get(c, key, keylen, index, &v, &vl) == 1)
        db_buf_append(out, v, vl);
    elem_del(c, key, keylen, index);
    if (left)
        m->head++;
    else
        m->tail--;
    m->count--;
    return 1;
}

/* Copied strings: offsets and lengths into one buffer. */
typedef struct {
    db_buf data;
    size_t *off, *len;
    size_t n, cap;
} strvec;

static void strvec_add(strvec *s, const void *p, size_t n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->off = realloc(s->off, s->cap * sizeof *s->off);
        s->len = realloc(s->len, s->cap * sizeof *s->len);
        if (!s->off || !s->len)
            abort();
    }
    s->off[s->n] = s->data.len;
    s->len[s->n] = n;
    s->n++;
    db_buf_append(&s->data, p, n);
}

static const char *strvec_at(const strvec *s, size_t i)
{
    return s->data.buf ? s->data.buf + s->off[i] : "";
}

static void strvec_free(strvec *s)
{
    db_buf_free(&s->data);
    free(s->off);
    free(s->len);
    memset(s, 0, sizeof *s);
}

/* --- pushes ------------------------------------------------------------------ */

static void push_generic(db_client *c, int left, int only_existing)
{
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        if (only_existing) {
            reply_int(c, 0);
            return;
        }
        meta_new(&m);
    }
    for (int j = 2; j < c->argc; j++)
        list_push(c, ARG(1), &m, left, ARG(j));
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_int(c, m.count);
}

static void cmd_lpush(db_client *c) { push_generic(c, 1, 0); }
static void cmd_rpush(db_client *c) { push_generic(c, 0, 0); }
static void cmd_lpushx(db_client *c) { push_generic(c, 1, 1); }
static void cmd_rpushx(db_client *c) { push_generic(c, 0, 1); }

/* --- pops -------------------------------------------------------------------- */

static void pop_generic(db_client *c, int left)
{
    long long count = 0;
    int hascount = c->argc == 3;
    if (c->argc > 3) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", left ? "lpop" : "rpop");
        return;
    }
    if (hascount && (parse_ll(ARG(2), &count) != 0 || count < 0)) {
        reply_error(c, ERR_NEGATIVE);
        return;
    }
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        if (hascount)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    if (!hascount) {
        db_buf v = {0};
        if (!list_pop(c, ARG(1), &m, left, &v)) {
            reply_null(c);
            return;
        }
        db_meta_write(c, ARG(1), &m, NULL, 0);
        reply_bulk(c, v.buf ? v.buf : "", v.len);
        db_buf_free(&v);
        return;
    }
    if (count == 0) {
        reply_array(c, 0);
        return;
    }
    if (count > m.count)
        count = m.count;
    /* read the popped elements in one pass, then delete them */
    strvec vals = {0};
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, !left);
    while ((long long)vals.n < count && db_iter_next(&it, &sub, &sublen, &val, &vallen))
        strvec_add(&vals, val, vallen);
    db_iter_close(&it);
    for (size_t i = 0; i < vals.n; i++) {
        if (left)
            elem_del(c, ARG(1), m.head++);
        else
            elem_del(c, ARG(1), --m.tail);
        m.count--;
    }
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_array(c, (long)vals.n);
    for (size_t i = 0; i < vals.n; i++)
        reply_bulk(c, strvec_at(&vals, i), vals.len[i]);
    strvec_free(&vals);
}

static void cmd_lpop(db_client *c) { pop_generic(c, 1); }
static void cmd_rpop(db_client *c) { pop_generic(c, 0); }

/* --- reads ------------------------------------------------------------------- */

static void cmd_llen(db_client *c)
{
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    reply_int(c, r == 0 ? 0 : m.count);
}

static void cmd_lrange(db_client *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    long long llen = r == 0 ? 0 : m.count;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        reply_array(c, 0);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    long long want = end - start + 1;
    uint8_t from[DB_INDEX_BYTES];
    db_index_bytes(from, m.head + start);
    size_t at = reply_defer(c);
    long n = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), from, sizeof from, 0);
    while (n < want && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        reply_bulk(c, val, vallen);
        n++;
    }
    db_iter_close(&it);
    reply_defer_array(c, at, n);
}

static void cmd_lindex(db_client *c)
{
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_null(c);
        return;
    }
    long long index;
    if (arg_ll(c, 2, &index) < 0)
        return;
    if (index < 0)
        index += m.count;
    const uint8_t *v;
    size_t vl;
    if (index < 0 || index >= m.count || elem_get(c, ARG(1), m.head + index, &v, &vl) != 1) {
        reply_null(c);
        return;
    }
    reply_bulk(c, v, vl);
}

static void cmd_lpos(db_client *c)
{
    long long rank = 1, count = -1, maxlen = 0; /* count -1: no COUNT option */
    for (int j = 3; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (arg_is(c, j, "rank") && moreargs) {
            j++;
            if (arg_ll(c, j, &rank) < 0)
                return;
            if (rank == 0) {
                reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                               "or use negative to start from the end of the list");
                return;
            }
        } else if (arg_is(c, j, "count") && moreargs) {
            j++;
            if (parse_ll(ARG(j), &count) != 0 || count < 0) {
                reply_error(c, "ERR COUNT can't be negative");
                return;
            }
        } else if (arg_is(c, j, "maxlen") && moreargs) {
            j++;
            if (parse_ll(ARG(j), &maxlen) != 0 || maxlen < 0) {
                reply_error(c, "ERR MAXLEN can't be negative");
                return;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    int reverse = 0;
    if (rank < 0) {
        /* Redis negates with two's complement wrap: LLONG_MIN stays negative,
         * so every match satisfies the rank (as RANK -1), and with COUNT the
         * count test below never stops the scan. Mirror that exactly. */
        rank = (long long)(0ULL - (unsigned long long)rank);
        reverse = 1;
    }
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        if (count != -1)
            reply_array(c, 0);
        else
            reply_null(c);
        return;
    }
    size_t at = count != -1 ? reply_defer(c) : 0;
    long long index = 0, matches = 0, matchindex = -1;
    long arraylen = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, reverse);
    while ((maxlen == 0 || index < maxlen) && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        if (same_bytes(val, vallen, ARG(2))) {
            matches++;
            matchindex = reverse ? m.count - index - 1 : index;
            if (matches >= rank) {
                if (count == -1)
                    break;
                arraylen++;
                reply_int(c, matchindex);
                long long got = (long long)((unsigned long long)matches - (unsigned long long)rank + 1ULL);
                if (count && got >= count)
                    break;
            }
        }
        index++;
        matchindex = -1;
    }
    db_iter_close(&it);
    if (count != -1)
        reply_defer_array(c, at, arraylen);
    else if (matchindex != -1)
        reply_int(c, matchindex);
    else
        reply_null(c);
}

/* --- changes in place -------------------------------------------------------- */

static void cmd_lset(db_client *c)
{
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_error(c, ERR_NOKEY);
        return;
    }
    long long index;
    if (arg_ll(c, 2, &index) < 0)
        return;
    if (index < 0)
        index += m.count;
    if (index < 0 || index >= m.count) {
        reply_error(c, ERR_OUTOFRANGE);
        return;
    }
    elem_put(c, ARG(1), m.head + index, ARG(3));
    reply_ok(c);
}

static void cmd_linsert(db_client *c)
{
    int after;
    if (arg_is(c, 2, "after"))
        after = 1;
    else if (arg_is(c, 2, "before"))
        after = 0;
    else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    /* the pivot's position */
    long long pos = -1, i = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        if (same_bytes(val, vallen, ARG(3))) {
            pos = i;
            break;
        }
        i++;
    }
    db_iter_close(&it);
    if (pos < 0) {
        reply_int(c, -1);
        return;
    }
    /* the new element becomes the q-th; move the shorter side aside */
    long long q = pos + after;
    db_buf scratch = {0};
    if (q < m.count - q) {
        for (int64_t k = m.head; k < m.head + q; k++)
            elem_move(c, ARG(1), k, k - 1, &scratch);
        m.head--;
    } else {
        for (int64_t k = m.tail - 1; k >= m.head + q; k--)
            elem_move(c, ARG(1), k, k + 1, &scratch);
        m.tail++;
    }
    db_buf_free(&scratch);
    elem_put(c, ARG(1), m.head + q, ARG(4));
    m.count++;
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_int(c, m.count);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void cmd_lrem(db_client *c)
{
    long long count;
    if (arg_ll(c, 2, &count) < 0)
        return;
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    unsigned long long limit = count < 0 ? 0ULL - (unsigned long long)count : (unsigned long long)count;
    /* the indexes of the elements to remove */
    int64_t *rm = NULL;
    size_t k = 0, cap = 0;
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_iter_init(&it, c, DB_REC_ELEM, ARG(1), NULL, 0, count < 0);
    while ((limit == 0 || k < limit) && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        if (sublen != DB_INDEX_BYTES || !same_bytes(val, vallen, ARG(3)))
            continue;
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            rm = realloc(rm, cap * sizeof *rm);
            if (!rm)
                abort();
        }
        rm[k++] = db_index_from(sub);
    }
    db_iter_close(&it);
    if (k == 0) {
        free(rm);
        reply_int(c, 0);
        return;
    }
    qsort(rm, k, sizeof *rm, cmp_i64);
    db_buf scratch = {0};
    if (m.tail - rm[0] <= rm[k - 1] - m.head + 1) {
        /* close the gaps by moving the later elements toward the head */
        size_t j = 0;
        int64_t shift = 0;
        for (int64_t i = rm[0]; i < m.tail; i++) {
            if (j < k && rm[j] == i) {
                j++;
                shift++;
            } else {
                elem_move(c, ARG(1), i, i - shift, &scratch);
            }
        }
        for (int64_t i = m.tail - (int64_t)k; i < m.tail; i++)
            elem_del(c, ARG(1), i);
        m.tail -= (int64_t)k;
    } else {
        /* ... or the earlier ones toward the tail */
        size_t j = k;
        int64_t shift = 0;
        for (int64_t i = rm[k - 1]; i >= m.head; i--) {
            if (j > 0 && rm[j - 1] == i) {
                j--;
                shift++;
            } else {
                elem_move(c, ARG(1), i, i + shift, &scratch);
            }
        }
        for (int64_t i = m.head; i < m.head + (int64_t)k; i++)
            elem_del(c, ARG(1), i);
        m.head += (int64_t)k;
    }
    db_buf_free(&scratch);
    free(rm);
    m.count -= (int64_t)k;
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_int(c, (long long)k);
}

static void cmd_ltrim(db_client *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_ok(c);
        return;
    }
    long long llen = m.count, ltrim, rtrim;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen)
            end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    for (long long i = 0; i < ltrim; i++)
        elem_del(c, ARG(1), m.head++);
    for (long long i = 0; i < rtrim; i++)
        elem_del(c, ARG(1), --m.tail);
    m.count -= ltrim + rtrim;
    db_meta_write(c, ARG(1), &m, NULL, 0);
    reply_ok(c);
}

/* --- moves ------------------------------------------------------------------- */

static void lmove_generic(db_client *c, int from_left, int to_left)
{
    db_meta src, dst;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &src);
    if (r < 0)
        return;
    if (r == 0 || src.count <= 0) {
        reply_null(c);
        return;
    }
    int same = same_bytes(ARG(1), ARG(2));
    if (!same) {
        r = db_lookup_type(c, ARG(2), DB_LIST, &dst);
        if (r < 0)
            return;
        if (r == 0)
            meta_new(&dst);
    }
    db_buf v = {0};
    list_pop(c, ARG(1), &src, from_left, &v);
    const char *p = v.buf ? v.buf : "";
    if (same) {
        list_push(c, ARG(1), &src, to_left, p, v.len);
        db_meta_write(c, ARG(1), &src, NULL, 0);
    } else {
        db_meta_write(c, ARG(1), &src, NULL, 0);
        list_push(c, ARG(2), &dst, to_left, p, v.len);
        db_meta_write(c, ARG(2), &dst, NULL, 0);
    }
    reply_bulk(c, p, v.len);
    db_buf_free(&v);
}

static void cmd_rpoplpush(db_client *c) { lmove_generic(c, 0, 1); }

static int arg_side(db_client *c, int i, int *left)
{
    if (arg_is(c, i, "left"))
        *left = 1;
    else if (arg_is(c, i, "right"))
        *left = 0;
    else {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    return 0;
}

static void cmd_lmove(db_client *c)
{
    int from_left, to_left;
    if (arg_side(c, 3, &from_left) < 0 || arg_side(c, 4, &to_left) < 0)
        return;
    lmove_generic(c, from_left, to_left);
}

/* --- Leither's extras -------------------------------------------------------- */

/* LCLEAR key: deletes the list; replies the number of elements it had. */
static void cmd_lclear(db_client *c)
{
    db_meta m;
    int r = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (r < 0)
        return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    db_delete(c, ARG(1));
    reply_int(c, m.count);
}

/* LMCLEAR key [key ...]: deletes the lists; replies how many existed. A key
 * of another type fails the whole command (WRONGTYPE) before anything is
 * deleted. */
static void cmd_lmclear(db_client *c)
{
    db_meta m;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup_type(c, ARG(j), DB_LIST, &m) < 0)
            return;
    long long deleted = 0;
    for (int j = 1; j < c->argc; j++)
        if (db_lookup_type(c, ARG(j), DB_LIST, &m) == 1)
            deleted += db_delete(c, ARG(j)) == 1;
    reply_int(c, deleted);
}

/* --- the table ----------------------------------------------------------------- */

const struct db_command db_list_commands[] = {
    {"lpush", cmd_lpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"rpush", cmd_rpush, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"lpushx", cmd_lpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"rpushx", cmd_rpushx, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"lpop", cmd_lpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"rpop", cmd_rpop, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"llen", cmd_llen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"lrange", cmd_lrange, 4, CMD_READONLY, 1, 1, 1},
    {"lindex", cmd_lindex, 3, CMD_READONLY, 1, 1, 1},
    {"lset", cmd_lset, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"linsert", cmd_linsert, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"lrem", cmd_lrem, 4, CMD_WRITE, 1, 1, 1},
    {"ltrim", cmd_ltrim, 4, CMD_WRITE, 1, 1, 1},
    {"lpos", cmd_lpos, -3, CMD_READONLY, 1, 1, 1},
    {"rpoplpush", cmd_rpoplpush, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1},
    {"lmove", cmd_lmove, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, 1},
    {"lclear", cmd_lclear, 2, CMD_WRITE, 1, 1, 1},
    {"lmclear", cmd_lmclear, -2, CMD_WRITE, 1, -1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
