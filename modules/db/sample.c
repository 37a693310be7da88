/*
 * sample: random elements of a collection (SPOP, SRANDMEMBER, HRANDFIELD),
 * one algorithm for every type whose elements are DB_REC_ELEM records.
 *
 * The store gives ordered iteration, not access by rank. A collection of at
 * most SAMPLE_SMALL elements is walked to a random rank: exactly uniform.
 * A bigger one is sampled by descending the byte trie of its elements: at
 * each level take the least and the greatest element under the current
 * prefix, skip their common prefix, and choose uniformly among the next
 * bytes present (drawing a byte of the range and seeking to it until it is
 * one present, a bounded number of times); then walk forward a random
 * 0..SAMPLE_WALK-1 elements. Each pick costs O(element length) seeks. The
 * result is random but not exactly uniform (a branch with few elements
 * weighs as much as one with many), as Redis itself promises only
 * "random"; on ids, hashes and UUIDs it is close. Many picks, or distinct
 * picks of a large share, use one exact pass over the collection instead.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SAMPLE_SMALL 1024 /* collections up to this size are sampled exactly */
#define SAMPLE_WALK 64    /* a pick from a bigger one ends with a walk of up to this */
#define SAMPLE_REDRAW 32  /* draws of a byte no element has before taking the next one present */

static void buf_set(db_buf *b, const void *p, size_t n)
{
    b->len = 0;
    if (n)
        db_buf_append(b, p, n);
}

static const char *buf_ptr(const db_buf *b) { return b->buf ? b->buf : ""; }

static size_t lcp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return an < bn ? -1 : an > bn;
}

/* The first element >= from (reverse: the last <= from; from NULL: the
 * first or last of all) that starts with prefix; copied into out. 1 found. */
static int seek_element(db_client *c, const void *key, size_t keylen, const void *from, size_t fromlen, int reverse,
                        const db_buf *prefix, db_buf *out)
{
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    int found = 0;
    db_iter_init(&it, c, DB_REC_ELEM, key, keylen, from ? (fromlen ? from : "") : NULL, fromlen, reverse);
    /* going back from the prefix's successor, the successor itself may come first */
    for (int tries = 0; tries < 2 && db_iter_next(&it, &sub, &sublen, &val, &vallen); tries++) {
        if (sublen >= prefix->len && (!prefix->len || !memcmp(sub, prefix->buf, prefix->len))) {
            buf_set(out, sub, sublen);
            found = 1;
            break;
        }
        if (!reverse)
            break;
    }
    db_iter_close(&it);
    return found;
}

/* One element of a collection bigger than SAMPLE_SMALL, by the trie descent
 * and the walk described at the top. 1 found (copied into out). */
static int sample_big(db_client *c, const void *key, size_t keylen, db_buf *out)
{
    db_buf p = {0}, lo = {0}, hi = {0}, from = {0}, e = {0}, empty = {0};
    int ok = 0;
    if (!seek_element(c, key, keylen, NULL, 0, 0, &empty, &lo))
        goto done;
    for (;;) {
        /* lo: the least element under prefix p; hi: the greatest */
        size_t k = p.len;
        while (k > 0 && (uint8_t)p.buf[k - 1] == 0xff)
            k--;
        int found;
        if (k == 0) {
            found = seek_element(c, key, keylen, NULL, 0, 1, &p, &hi);
        } else {
            buf_set(&from, p.buf, k);
            from.buf[k - 1] = (char)((uint8_t)from.buf[k - 1] + 1);
            found = seek_element(c, key, keylen, from.buf, k, 1, &p, &hi);
        }
        if (!found)
            goto done;
        if (bytes_cmp(buf_ptr(&lo), lo.len, buf_ptr(&hi), hi.len) >= 0)
            break;
        /* the branches after the common prefix: the element equal to it (-1)
         * and the next bytes present */
        size_t d = lcp((const uint8_t *)lo.buf, lo.len, (const uint8_t *)hi.buf, hi.len);
        buf_set(&p, lo.buf, d);
        int low = lo.len == d ? -1 : (uint8_t)lo.buf[d];
        int high = (uint8_t)hi.buf[d];
        int terminal = 0;
        for (int tries = 0;; tries++) {
            int b = low + (int)db_random_below((uint64_t)(high - low + 1));
            if (b < 0) {
                terminal = 1;
                break;
            }
            buf_set(&from, buf_ptr(&p), p.len);
            uint8_t bb = (uint8_t)b;
            db_buf_append(&from, &bb, 1);
            if (!seek_element(c, key, keylen, from.buf, from.len, 0, &p, &e))
                goto done;
            if ((uint8_t)e.buf[d] == bb || tries >= SAMPLE_REDRAW)
                break;
        }
        if (terminal)
            break; /* lo is the element equal to the prefix */
        buf_set(&lo, e.buf, e.len);
        db_buf_append(&p, &lo.buf[d], 1);
    }
    /* the walk, wrapping round at the end */
    {
        uint64_t steps = db_random_below(SAMPLE_WALK);
        db_iter it;
        const uint8_t *sub, *val;
        size_t sublen, vallen;
        int wrapped = 0;
        buf_set(out, buf_ptr(&lo), lo.len);
        db_iter_init(&it, c, DB_REC_ELEM, key, keylen, buf_ptr(&lo), lo.len, 0);
        db_iter_next(&it, &sub, &sublen, &val, &vallen); /* lo itself */
        while (steps > 0) {
            if (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
                buf_set(out, sub, sublen);
                steps--;
            } else if (!wrapped) {
                db_iter_close(&it);
                db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
                wrapped = 1;
            } else {
                break;
            }
        }
        db_iter_close(&it);
        ok = 1;
    }
done:
    db_buf_free(&p);
    db_buf_free(&lo);
    db_buf_free(&hi);
    db_buf_free(&from);
    db_buf_free(&e);
    return ok;
}

int sample_one(db_client *c, const void *key, size_t keylen, int64_t n, db_buf *out)
{
    if (n <= 0)
        return 0;
    if (n > SAMPLE_SMALL)
        return sample_big(c, key, keylen, out);
    uint64_t r = db_random_below((uint64_t)n);
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    int found = 0;
    db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
    while (db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        buf_set(out, sub, sublen);
        found = 1;
        if (r-- == 0)
            break;
    }
    db_iter_close(&it);
    return found;
}

/* k of the n elements in one ordered pass (Knuth's selection sampling:
 * every k-subset equally likely), in element order. */
static void select_pass(db_client *c, const void *key, size_t keylen, int64_t n, int64_t k, sample_fn take, void *arg)
{
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    int64_t seen = 0, need = k;
    db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
    while (need > 0 && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
        int64_t left = n - seen;
        if (left <= need || db_random_below((uint64_t)left) < (uint64_t)need) {
            take(arg, sub, sublen, val, vallen);
            need--;
        }
        seen++;
    }
    db_iter_close(&it);
}

void sample_distinct(db_client *c, const void *key, size_t keylen, int64_t n, int64_t k, sample_fn take, void *arg)
{
    if (n <= SAMPLE_SMALL || k > n / 16) {
        select_pass(c, key, keylen, n, k, take, arg);
        return;
    }
    /* repeated single picks, duplicates dropped; picks are cheap but the
     * trie may be skewed: past a bound of tries, start again with the pass */
    db_keymap picked = {0};
    db_buf one = {0}, order = {0}; /* the picks in the order drawn: (u32 length, bytes) */
    int64_t attempts = 0, limit = k * 8 + 64;
    while ((int64_t)picked.count < k) {
        if (++attempts > limit || !sample_big(c, key, keylen, &one))
            break;
        size_t before = picked.count;
        db_keymap_add(&picked, 0, buf_ptr(&one), one.len);
        if (picked.count == before)
            continue;
        uint32_t l = (uint32_t)one.len;
        db_buf_append(&order, &l, sizeof l);
        db_buf_append(&order, buf_ptr(&one), one.len);
    }
    if ((int64_t)picked.count == k) {
        for (size_t off = 0; off < order.len;) {
            uint32_t l;
            memcpy(&l, order.buf + off, sizeof l);
            take(arg, (const uint8_t *)order.buf + off + sizeof l, l, NULL, 0);
            off += sizeof l + l;
        }
    } else {
        select_pass(c, key, keylen, n, k, take, arg);
    }
    db_buf_free(&one);
    db_buf_free(&order);
    db_keymap_free(&picked);
}

typedef struct {
    uint64_t rank;
    size_t slot;
} rank_pick;

static int rank_cmp(const void *a, const void *b)
{
    uint64_t x = ((const rank_pick *)a)->rank, y = ((const rank_pick *)b)->rank;
    return x < y ? -1 : x > y;
}

/* Elements copied out of the store: (u32 sublen, sub, u32 vallen, val). */
static void keep(db_buf *b, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen)
{
    uint32_t l = (uint32_t)sublen;
    db_buf_append(b, &l, sizeof l);
    db_buf_append(b, sub, sublen);
    l = (uint32_t)vallen;
    db_buf_append(b, &l, sizeof l);
    db_buf_append(b, val, vallen);
}

/* Calls take with the element kept at offset off; the offset of the next. */
static size_t give(const db_buf *b, size_t off, sample_fn take, void *arg, int *stop)
{
    uint32_t sl, vl;
    memcpy(&sl, b->buf + off, sizeof sl);
    const uint8_t *sub = (const uint8_t *)b->buf + off + sizeof sl;
    memcpy(&vl, sub + sl, sizeof vl);
    *stop = take(arg, sub, sl, sub + sl + sizeof vl, vl);
    return off + 2 * sizeof sl + sl + vl;
}

void sample_repeats(db_client *c, const void *key, size_t keylen, int64_t n, int64_t k, sample_fn take, void *arg)
{
    db_iter it;
    const uint8_t *sub, *val;
    size_t sublen, vallen;
    db_buf all = {0};
    int stop = 0;
    if (n <= SAMPLE_SMALL || k >= n) { /* the output is as big as the collection anyway: load it */
        size_t *at = malloc((size_t)n * sizeof *at), m = 0;
        if (!at)
            abort();
        db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
        while (m < (size_t)n && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
            at[m++] = all.len;
            keep(&all, sub, sublen, val, vallen);
        }
        db_iter_close(&it);
        for (int64_t s = 0; m && s < k && !stop; s++)
            give(&all, at[db_random_below(m)], take, arg, &stop);
        free(at);
    } else if (k >= n / 16) { /* one pass over the collection for sorted random ranks */
        rank_pick *p = malloc((size_t)k * sizeof *p);
        size_t *res = malloc((size_t)k * sizeof *res);
        if (!p || !res)
            abort();
        for (size_t s = 0; s < (size_t)k; s++) {
            p[s].rank = db_random_below((uint64_t)n);
            p[s].slot = s;
            res[s] = SIZE_MAX;
        }
        qsort(p, (size_t)k, sizeof *p, rank_cmp);
        size_t j = 0;
        uint64_t rank = 0;
        db_iter_init(&it, c, DB_REC_ELEM, key, keylen, NULL, 0, 0);
        while (j < (size_t)k && db_iter_next(&it, &sub, &sublen, &val, &vallen)) {
            if (p[j].rank == rank) {
                size_t here = all.len;
                keep(&all, sub, sublen, val, vallen);
                for (; j < (size_t)k && p[j].rank == rank; j++)
                    res[p[j].slot] = here;
            }
            rank++;
        }
        db_iter_close(&it);
        for (size_t s = 0; s < (size_t)k && !stop; s++)
            if (res[s] != SIZE_MAX)
                give(&all, res[s], take, arg, &stop);
        free(p);
        free(res);
    } else {
        db_buf one = {0};
        for (int64_t s = 0; s < k && !stop; s++) {
            if (!sample_big(c, key, keylen, &one))
                break;
            stop = take(arg, (const uint8_t *)buf_ptr(&one), one.len, NULL, 0);
        }
        db_buf_free(&one);
    }
    db_buf_free(&all);
}
