/*
 * Sorted sets, with Redis 7.0's semantics, replies and error texts.
 *
 * Every member has two records:
 *   DB_REC_ELEM   sub = member, value = db_score_bytes(score)
 *   DB_REC_SCORE  sub = db_score_bytes(score) + member, value empty
 * so iterating DB_REC_SCORE walks the members in (score, member) order,
 * which is Redis's order. Scores are stored with -0 turned into 0, as Redis
 * stores them in a small (listpack) sorted set; the index then orders -0
 * and 0 together.
 *
 * Costs: ZSCORE, ZMSCORE, ZADD, ZREM: one lookup per member. Ranges by rank
 * walk from the nearer end of the index: ZRANGE key 0 9 reads 10 entries,
 * ZRANGE key -10 -1 reads 10. Ranges by score or lex seek to the start of
 * the range. There is no rank counter in the index, so ZRANK, ZCOUNT and
 * ZLEXCOUNT are O(min(k, n - k)) instead of Redis's O(log n): they walk the
 * inside and the outside of the range at the same time and stop as soon as
 * either side is done.
 *
 * ZSCAN answers a set of up to 128 members whole (cursor 0, score order),
 * as Redis answers a small set; a bigger one in member order, COUNT at a
 * time, the position kept by the node behind the cursor (cursors.c).
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZSCAN_SMALL 128 /* zset-max-listpack-entries: SCAN returns all at once */

static const char ERR_NAN[] = "ERR resulting score is not a number (NaN)";
static const char ERR_MINMAX[] = "ERR min or max is not a float";
static const char ERR_LEXRANGE[] = "ERR min or max not valid string range item";

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static double znorm(double d)
{
    return d == 0 ? 0.0 : d;
}

/* --- collected entries --------------------------------------------------- */

typedef struct {
    size_t off, len;
    double score;
} zent;

typedef struct {
    db_buf bytes;
    zent *v;
    size_t n, cap;
} zcol;

static void zcol_add(zcol *col, const void *m, size_t ml, double score)
{
    if (col->n == col->cap) {
        col->cap = col->cap ? col->cap * 2 : 16;
        col->v = xrealloc(col->v, col->cap * sizeof *col->v);
    }
    col->v[col->n].off = col->bytes.len;
    col->v[col->n].len = ml;
    col->v[col->n].score = score;
    col->n++;
    if (ml) db_buf_append(&col->bytes, m, ml);
}

static const char *zcol_member(const zcol *col, size_t i)
{
    return col->bytes.buf ? col->bytes.buf + col->v[i].off : "";
}

static void zcol_reverse(zcol *col)
{
    for (size_t i = 0, j = col->n; i + 1 < j; i++, j--) {
        zent t = col->v[i];
        col->v[i] = col->v[j - 1];
        col->v[j - 1] = t;
    }
}

static void zcol_free(zcol *col)
{
    db_buf_free(&col->bytes);
    free(col->v);
    memset(col, 0, sizeof *col);
}

/* Members (and scores) as Redis replies a range: with WITHSCORES a flat
 * array of member, score in RESP2 and an array of pairs in RESP3. */
static void zreply_col(db_client *c, const zcol *col, int withscores, int desc)
{
    long n = (long)col->n;
    int nested = withscores && c->resp >= 3;
    reply_array(c, withscores && !nested ? 2 * n : n);
    for (long k = 0; k < n; k++) {
        size_t i = desc ? (size_t)(n - 1 - k) : (size_t)k;
        if (nested) reply_array(c, 2);
        reply_bulk(c, zcol_member(col, i), col->v[i].len);
        if (withscores) reply_double(c, col->v[i].score);
    }
}

/* --- records ------------------------------------------------------------- */

/* The score index sub of (score, member); *heap is set when it was allocated. */
static uint8_t *zidx(uint8_t *stack, size_t cap, double score, const void *m, size_t ml, size_t *len)
{
    uint8_t *b = ml + DB_SCORE_BYTES <= cap ? stack : xmalloc(ml + DB_SCORE_BYTES);
    db_score_bytes(b, znorm(score));
    if (ml) memcpy(b + DB_SCORE_BYTES, m, ml);
    *len = ml + DB_SCORE_BYTES;
    return b;
}

static int zget(db_client *c, const void *key, size_t klen, const void *m, size_t ml, double *score)
{
    const uint8_t *v;
    size_t vl;
    if (db_elem_get(c, DB_REC_ELEM, key, klen, m, ml, &v, &vl) != 1 || vl < DB_SCORE_BYTES) return 0;
    *score = db_score_from(v);
    return 1;
}

static void zput(db_client *c, const void *key, size_t klen, const void *m, size_t ml, double score)
{
    uint8_t sb[DB_SCORE_BYTES], stack[256];
    size_t il;
    score = znorm(score);
    db_score_bytes(sb, score);
    db_elem_put(c, DB_REC_ELEM, key, klen, m, ml, sb, sizeof sb);
    uint8_t *idx = zidx(stack, sizeof stack, score, m, ml, &il);
    db_elem_put(c, DB_REC_SCORE, key, klen, idx, il, "", 0);
    if (idx != stack) free(idx);
}

static void zdel_index(db_client *c, const void *key, size_t klen, const void *m, size_t ml, double score)
{
    uint8_t stack[256];
    size_t il;
    uint8_t *idx = zidx(stack, sizeof stack, score, m, ml, &il);
    db_elem_del(c, DB_REC_SCORE, key, klen, idx, il);
    if (idx != stack) free(idx);
}

static void zdel(db_client *c, const void *key, size_t klen, const void *m, size_t ml, double score)
{
    db_elem_del(c, DB_REC_ELEM, key, klen, m, ml);
    zdel_index(c, key, klen, m, ml, score);
}

/* Moves an existing member from score old to score new. */
static void zupdate(db_client *c, const void *key, size_t klen, const void *m, size_t ml, double old, double new)
{
    zdel_index(c, key, klen, m, ml, old);
    zput(c, key, klen, m, ml, new);
}

/* Deletes the collected members and writes the meta. */
static void zdel_col(db_client *c, const void *key, size_t klen, db_meta *meta, const zcol *col)
{
    if (!col->n) return;
    for (size_t i = 0; i < col->n; i++) zdel(c, key, klen, zcol_member(col, i), col->v[i].len, col->v[i].score);
    meta->count -= (int64_t)col->n;
    if (meta->count < 0) meta->count = 0;
    db_meta_write(c, key, klen, meta, NULL, 0);
}

/* The first (or with rev the last) entry of the score index, copied. */
static int zedge(db_client *c, const void *key, size_t klen, int rev, db_buf *out)
{
    db_iter it;
    const uint8_t *sub, *v;
    size_t sl, vl;
    int found = 0;
    db_iter_init(&it, c, DB_REC_SCORE, key, klen, NULL, 0, rev);
    while (db_iter_next(&it, &sub, &sl, &v, &vl)) {
        if (sl < DB_SCORE_BYTES) continue;
        out->len = 0;
        db_buf_append(out, sub, sl);
        found = 1;
        break;
    }
    db_iter_close(&it);
    return found;
}

/* --- ranges -------------------------------------------------------------- */

/* Copies an argument with a terminating NUL, as Redis's sds strings have. */
static char *arg_cstr(const db_client *c, int i, char *stack, size_t cap)
{
    size_t n = c->argvlen[i];
    char *b = n < cap ? stack : xmalloc(n + 1);
    memcpy(b, c->argv[i], n);
    b[n] = 0;
    return b;
}

typedef struct {
    double min, max;
    int minex, maxex;
} zsr;

/* A score bound: "(" exclusive, then anything strtod takes whole (Redis's
 * zslParseRange: "inf", "-inf", hex, leading blanks and "" included). */
static int zsr_bound(const db_client *c, int i, double *v, int *ex)
{
    char stack[128], *end;
    char *b = arg_cstr(c, i, stack, sizeof stack);
    const char *p = b;
    *ex = 0;
    if (p[0] == '(') {
        p++;
        *ex = 1;
    }
    *v = strtod(p, &end);
    int ok = end[0] == '\0' && !isnan(*v);
    if (b != stack) free(b);
    return ok ? 0 : -1;
}

static int zsr_parse(db_client *c, int imin, int imax, zsr *r)
{
    if (zsr_bound(c, imin, &r->min, &r->minex) < 0 || zsr_bound(c, imax, &r->max, &r->maxex) < 0) {
        reply_error(c, ERR_MINMAX);
        return -1;
    }
    r->min = znorm(r->min);
    r->max = znorm(r->max);
    return 0;
}

static int zsr_gte(const zsr *r, double s)
{
    return r->minex ? s > r->min : s >= r->min;
}

static int zsr_lte(const zsr *r, double s)
{
    return r->maxex ? s < r->max : s <= r->max;
}

static int zsr_empty(const zsr *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

/* Where an iterator over the range starts: the lowest possible sub of the
 * range, or with rev a sub above every entry of the range (the iterator's
 * `from` is inclusive; entries outside the range are skipped). len 0: from
 * the very first (or last) entry. */
static size_t zsr_from(const zsr *r, int rev, uint8_t from[DB_SCORE_BYTES])
{
    double d;
    if (!rev) {
        d = r->minex ? nextafter(r->min, INFINITY) : r->min;
    } else {
        if (!r->maxex && r->max == INFINITY) return 0;
        d = r->maxex ? r->max : nextafter(r->max, INFINITY);
    }
    db_score_bytes(from, znorm(d));
    return DB_SCORE_BYTES;
}

static void zsr_open(db_iter *it, db_client *c, const void *key, size_t klen, const zsr *r, int rev)
{
    uint8_t from[DB_SCORE_BYTES];
    size_t fl = zsr_from(r, rev, from);
    db_iter_init(it, c, DB_REC_SCORE, key, klen, fl ? from : NULL, fl, rev);
}

/* The next entry in the range, in the iterator's direction; 0 past it. */
static int zsr_next(db_iter *it, const zsr *r, int rev, const uint8_t **m, size_t *ml, double *score)
{
    const uint8_t *sub, *v;
    size_t sl, vl;
    while (db_iter_next(it, &sub, &sl, &v, &vl)) {
        if (sl < DB_SCORE_BYTES) continue;
        double s = db_score_from(sub);
        if (!rev) {
            if (!zsr_gte(r, s)) continue;
            if (!zsr_lte(r, s)) return 0;
        } else {
            if (!zsr_lte(r, s)) continue;
            if (!zsr_gte(r, s)) return 0;
        }
        *m = sub + DB_SCORE_BYTES;
        *ml = sl - DB_SCORE_BYTES;
        *score = s;
        return 1;
    }
    return 0;
}

/* Lex bounds: "-" and "+" (infinite, exclusive), "[x" inclusive, "(x". */
typedef struct {
    int inf; /* -1: "-", 1: "+", 0: p/n */
    int ex;
    const char *p;
    size_t n;
} zlb;

typedef struct {
    zlb min, max;
} zlr;

static int zlb_parse(const char *s, size_t n, zlb *b)
{
    memset(b, 0, sizeof *b);
    if (n == 0) return -1;
    switch (s[0]) {
    case '+':
    case '-':
        if (n > 1 && s[1] != '\0') return -1;
        b->inf = s[0] == '+' ? 1 : -1;
        b->ex = 1;
        return 0;
    case '(':
    case '[':
        b->ex = s[0] == '(';
        b->p = s + 1;
        b->n = n - 1;
        return 0;
    default:
        return -1;
    }
}

static int zlr_parse(db_client *c, int imin, int imax, zlr *r)
{
    if (zlb_parse(ARG(imin), &r->min) < 0 ||
        zlb_parse(ARG(imax), &r->max) < 0) {
        reply_error(c, ERR_LEXRANGE);
        return -1;
    }
    return 0;
}

static int bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* member compared with a bound */
static int zlb_cmp(const uint8_t *m, size_t ml, const zlb *b)
{
    if (b->inf) return -b->inf;
    return bytes_cmp(m, ml, b->p, b->n);
}

static int zlr_gte(const zlr *r, const uint8_t *m, size_t ml)
{
    int x = zlb_cmp(m, ml, &r->min);
    return r->min.ex ? x > 0 : x >= 0;
}

static int zlr_lte(const zlr *r, const uint8_t *m, size_t ml)
{
    int x = zlb_cmp(m, ml, &r->max);
    return r->max.ex ? x < 0 : x <= 0;
}

static int zlr_empty(const zlr *r)
{
    int x;
    if (r->min.inf && r->min.inf == r->max.inf) x = 0;
    else if (r->min.inf == -1 || r->max.inf == 1) x = -1;
    else if (r->min.inf == 1 || r->max.inf == -1) x = 1;
    else x = bytes_cmp(r->min.p, r->min.n, r->max.p, r->max.n);
    return x > 0 || (x == 0 && (r->min.ex || r->max.ex));
}

/* A walk over a lex range, as Redis walks a small sorted set: forward, from
 * the first member >= min while members are <= max; reverse, from the last
 * member <= max while members are >= min. When all scores are equal (the
 * documented use) it seeks straight to the start of the range. */
typedef struct {
    db_iter it;
    const zlr *r;
    int rev, started, open, all_equal;
    db_buf seek;
} zlw;

static int zlw_open(zlw *w, db_client *c, const void *key, size_t klen, const zlr *r, int rev)
{
    db_buf first = {0}, last = {0};
    memset(w, 0, sizeof *w);
    w->r = r;
    w->rev = rev;
    if (zlr_empty(r)) return 0;
    if (!zedge(c, key, klen, 0, &first) || !zedge(c, key, klen, 1, &last) ||
        !zlr_gte(r, (const uint8_t *)last.buf + DB_SCORE_BYTES, last.len - DB_SCORE_BYTES) ||
        !zlr_lte(r, (const uint8_t *)first.buf + DB_SCORE_BYTES, first.len - DB_SCORE_BYTES)) {
        db_buf_free(&first);
        db_buf_free(&last);
        return 0;
    }
    w->all_equal = memcmp(first.buf, last.buf, DB_SCORE_BYTES) == 0;
    const zlb *b = rev ? &r->max : &r->min;
    if (w->all_equal && !b->inf) {
        db_buf_append(&w->seek, first.buf, DB_SCORE_BYTES);
        if (b->n) db_buf_append(&w->seek, b->p, b->n);
    }
    db_buf_free(&first);
    db_buf_free(&last);
    db_iter_init(&w->it, c, DB_REC_SCORE, key, klen, w->seek.len ? w->seek.buf : NULL, w->seek.len, rev);
    w->open = 1;
    return 1;
}

static int zlw_in(const zlw *w, const uint8_t *m, size_t ml);

/* The next member of the walk; 0 at its end. With check 0 the member after
 * the first is returned even when it is out of the range, as Redis skips
 * a LIMIT offset without looking (it matters only for unequal scores). */
static int zlw_next(zlw *w, const uint8_t **m, size_t *ml, double *score, int check)
{
    const uint8_t *sub, *v;
    size_t sl, vl;
    if (!w->open) return 0;
    while (db_iter_next(&w->it, &sub, &sl, &v, &vl)) {
        if (sl < DB_SCORE_BYTES) continue;
        const uint8_t *mm = sub + DB_SCORE_BYTES;
        size_t mml = sl - DB_SCORE_BYTES;
        int first = !w->started;
        if (first) {
            if (!(w->rev ? zlr_lte(w->r, mm, mml) : zlr_gte(w->r, mm, mml))) continue;
            w->started = 1;
        }
        if ((first || check) && !zlw_in(w, mm, mml)) return 0;
        *m = mm;
        *ml = mml;
        *score = db_score_from(sub);
        return 1;
    }
    return 0;
}

/* Whether a member after the first still belongs to the walk. */
static int zlw_in(const zlw *w, const uint8_t *m, size_t ml)
{
    return w->rev ? zlr_gte(w->r, m, ml) : zlr_lte(w->r, m, ml);
}

static void zlw_close(zlw *w)
{
    if (w->open) db_iter_close(&w->it);
    db_buf_free(&w->seek);
    w->open = 0;
}

/* --- counting ------------------------------------------------------------ */

/* Is an index entry at or above the range's start / at or below its end? */
typedef int (*zpred_fn)(const void *range, const uint8_t *sub, size_t sl);

static int pred_score_gte(const void *r, const uint8_t *sub, size_t sl)
{
    (void)sl;
    return zsr_gte(r, db_score_from(sub));
}

static int pred_score_lte(const void *r, const uint8_t *sub, size_t sl)
{
    (void)sl;
    return zsr_lte(r, db_score_from(sub));
}

static int pred_lex_gte(const void *r, const uint8_t *sub, size_t sl)
{
    return zlr_gte(r, sub + DB_SCORE_BYTES, sl - DB_SCORE_BYTES);
}

static int pred_lex_lte(const void *r, const uint8_t *sub, size_t sl)
{
    return zlr_lte(r, sub + DB_SCORE_BYTES, sl - DB_SCORE_BYTES);
}

/* Entries of a non-empty range of the sorted index, in
 * O(min(inside, outside)): one walk counts the inside from the range's
 * start (`from`), the other counts the outside from both ends; the first
 * to finish answers (inside = n - below - above). */
static long long zcount_sorted(db_client *c, const void *key, size_t klen, long long n, const void *range,
                               zpred_fn gte, zpred_fn lte, const void *from, size_t fromlen)
{
    db_iter a, b;
    const uint8_t *sub, *v;
    size_t sl, vl;
    long long inside = 0, below = 0, above = 0, result = -1;
    int phase = 0;
    db_iter_init(&a, c, DB_REC_SCORE, key, klen, fromlen ? from : NULL, fromlen, 0);
    db_iter_init(&b, c, DB_REC_SCORE, key, klen, NULL, 0, 0);
    while (result < 0) {
        if (!db_iter_next(&a, &sub, &sl, &v, &vl)) {
            result = inside;
            break;
        }
        if (sl >= DB_SCORE_BYTES && gte(range, sub, sl)) {
            if (!lte(range, sub, sl)) {
                result = inside;
                break;
            }
            inside++;
        }
        if (!db_iter_next(&b, &sub, &sl, &v, &vl)) {
            result = phase == 0 ? 0 : n - below - above;
        } else if (sl < DB_SCORE_BYTES) {
            continue;
        } else if (phase == 0) {
            if (!gte(range, sub, sl)) {
                below++;
            } else {
                db_iter_close(&b);
                db_iter_init(&b, c, DB_REC_SCORE, key, klen, NULL, 0, 1);
                phase = 1;
            }
        } else {
            if (!lte(range, sub, sl)) above++;
            else result = n - below - above;
        }
    }
    db_iter_close(&a);
    db_iter_close(&b);
    return result < 0 ? 0 : result;
}

/* Collects the entries at positions a..b (ascending, 0 <= a <= b < n),
 * walking from the nearer end. */
static void zcollect_ranks(db_client *c, const void *key, size_t klen, long long a, long long b, long long n,
                           zcol *col)
{
    db_iter it;
    const uint8_t *sub, *v;
    size_t sl, vl;
    int rev = n - a < b + 1;
    long long skip = rev ? n - 1 - b : a, want = b - a + 1;
    db_iter_init(&it, c, DB_REC_SCORE, key, klen, NULL, 0, rev);
    while (want > 0 && db_iter_next(&it, &sub, &sl, &v, &vl)) {
        if (sl < DB_SCORE_BYTES) continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        zcol_add(col, sub + DB_SCORE_BYTES, sl - DB_SCORE_BYTES, db_score_from(sub));
        want--;
    }
    db_iter_close(&it);
    if (rev) zcol_reverse(col);
}

/* Redis's index sanitizing for rank ranges; 0 when the range is empty. */
static int zrank_range(long long n, long long *start, long long *end)
{
    if (*start < 0) *start += n;
    if (*end < 0) *end += n;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= n) return 0;
    if (*end >= n) *end = n - 1;
    return 1;
}

/* --- ZADD ZINCRBY -------------------------------------------------------- */

static void zadd_generic(db_client *c, int incr)
{
    const char *key = c->argv[1];
    size_t klen = c->argvlen[1];
    int nx = 0, xx = 0, gt = 0, lt = 0, ch = 0;
    int i = 2;
    while (i < c->argc) {
        if (arg_is(c, i, "nx")) nx = 1;
        else if (arg_is(c, i, "xx")) xx = 1;
        else if (arg_is(c, i, "ch")) ch = 1;
        else if (arg_is(c, i, "incr")) incr = 1;
        else if (arg_is(c, i, "gt")) gt = 1;
        else if (arg_is(c, i, "lt")) lt = 1;
        else break;
        i++;
    }
    int elements = c->argc - i;
    if (elements % 2 || !elements) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = xmalloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++)
        if (arg_double(c, i + 2 * j, &scores[j]) < 0) goto out;

    db_meta meta;
    int r = db_lookup_type(c, key, klen, DB_ZSET, &meta);
    if (r < 0) goto out;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (r == 0) {
        if (xx) goto reply;
        memset(&meta, 0, sizeof meta);
        meta.type = DB_ZSET;
    }
    for (int j = 0; j < elements; j++) {
        const char *m = c->argv[i + 1 + 2 * j];
        size_t ml = c->argvlen[i + 1 + 2 * j];
        double s = scores[j], cur;
        if (zget(c, key, klen, m, ml, &cur)) {
            if (nx) continue;
            if (incr) {
                s += cur;
                if (isnan(s)) {
                    reply_error(c, ERR_NAN);
                    if (added || updated) db_meta_write(c, key, klen, &meta, NULL, 0);
                    goto out;
                }
            }
            if ((lt && s >= cur) || (gt && s <= cur)) continue;
            processed++;
            score = s;
            if (s != cur) {
                zupdate(c, key, klen, m, ml, cur, s);
                updated++;
            }
        } else if (!xx) {
            zput(c, key, klen, m, ml, s);
            meta.count++;
            added++;
            processed++;
            score = s;
        }
    }
    if (added || updated) db_meta_write(c, key, klen, &meta, NULL, 0);
reply:
    if (incr) {
        if (processed) reply_double(c, score);
        else reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
out:
    free(scores);
}

static void cmd_zadd(db_client *c)
{
    zadd_generic(c, 0);
}

static void cmd_zincrby(db_client *c)
{
    zadd_generic(c, 1);
}

/* --- ZREM ZCARD ZSCORE ZMSCORE ZCLEAR ZMCLEAR ---------------------------- */

static void cmd_zrem(db_client *c)
{
    db_meta meta;
    int r = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (r < 0) return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        double s;
        if (!zget(c, ARG(1), ARG(i), &s)) continue;
        zdel(c, ARG(1), ARG(i), s);
        deleted++;
    }
    if (deleted) {
        meta.count -= deleted;
        if (meta.count < 0) meta.count = 0;
        db_meta_write(c, ARG(1), &meta, NULL, 0);
    }
    reply_int(c, deleted);
}

static void cmd_zcard(db_client *c)
{
    db_meta meta;
    int r = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (r < 0) return;
    reply_int(c, r ? meta.count : 0);
}

static void cmd_zscore(db_client *c)
{
    db_meta meta;
    double s;
    int r = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (r < 0) return;
    if (r && zget(c, ARG(1), ARG(2), &s)) reply_double(c, s);
    else reply_null(c);
}

static void cmd_zmscore(db_client *c)
{
    db_meta meta;
    double s;
    int r = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (r < 0) return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        if (r && zget(c, ARG(1), ARG(i), &s)) reply_double(c, s);
        else reply_null(c);
    }
}

/* ZCLEAR key: deletes the sorted set, replies how many members it had. */
static void cmd_zclear(db_client *c)
{
    db_meta meta;
    int r = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (r < 0) return;
    if (r) db_delete(c, ARG(1));
    reply_int(c, r ? meta.count : 0);
}

/* ZMCLEAR key [key ...]: deletes sorted sets, replies how many existed.
 * A key of another type fails the whole command before anything is deleted. */
static void cmd_zmclear(db_client *c)
{
    db_meta meta;
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (db_lookup_type(c, ARG(i), DB_ZSET, &meta) < 0) return;
    for (int i = 1; i < c->argc; i++)
        if (db_lookup_type(c, ARG(i), DB_ZSET, &meta) == 1 &&
            db_delete(c, ARG(i)))
            n++;
    reply_int(c, n);
}

/* --- ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ------------------------------------- */

static void zrank_generic(db_client *c, int rev)
{
    const char *key = c->argv[1];
    size_t klen = c->argvlen[1];
    db_meta meta;
    double s;
    int r = db_lookup_type(c, key, klen, DB_ZSET, &meta);
    if (r < 0) return;
    if (r == 0 || !zget(c, key, klen, ARG(2), &s)) {
        reply_null(c);
        return;
    }
    uint8_t stack[256];
    size_t tl;
    uint8_t *target = zidx(stack, sizeof stack, s, ARG(2), &tl);
    /* walk from both ends at once: O(min(rank, n - rank)) */
    db_iter f, b;
    const uint8_t *sub, *v;
    size_t sl, vl;
    long long fc = 0, bc = 0, rank = -1;
    int fdone = 0, bdone = 0;
    db_iter_init(&f, c, DB_REC_SCORE, key, klen, NULL, 0, 0);
    db_iter_init(&b, c, DB_REC_SCORE, key, klen, NULL, 0, 1);
    while (rank < 0 && !(fdone && bdone)) {
        if (!fdone) {
            if (!db_iter_next(&f, &sub, &sl, &v, &vl)) fdone = 1;
            else if (sl == tl && memcmp(sub, target, tl) == 0) rank = fc;
            else fc++;
        }
        if (rank < 0 && !bdone) {
            if (!db_iter_next(&b, &sub, &sl, &v, &vl)) bdone = 1;
            else if (sl == tl && memcmp(sub, target, tl) == 0) rank = meta.count - 1 - bc;
            else bc++;
        }
    }
    db_iter_close(&f);
    db_iter_close(&b);
    if (target != stack) free(target);
    if (rank < 0 || rank >= meta.count) reply_null(c);
    else reply_int(c, rev ? meta.count - 1 - rank : rank);
}

static void cmd_zrank(db_client *c)
{
    zrank_generic(c, 0);
}

static void cmd_zrevrank(db_client *c)
{
    zrank_generic(c, 1);
}

static void cmd_zcount(db_client *c)
{
    zsr r;
    db_meta meta;
    if (zsr_parse(c, 2, 3, &r) < 0) return;
    int found = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (found < 0) return;
    if (found == 0 || zsr_empty(&r)) {
        reply_int(c, 0);
        return;
    }
    uint8_t from[DB_SCORE_BYTES];
    size_t fl = zsr_from(&r, 0, from);
    reply_int(c, zcount_sorted(c, ARG(1), meta.count, &r, pred_score_gte, pred_score_lte,
                               from, fl));
}

static void cmd_zlexcount(db_client *c)
{
    zlr r;
    db_meta meta;
    zlw w;
    const uint8_t *m;
    size_t ml;
    double s;
    if (zlr_parse(c, 2, 3, &r) < 0) return;
    int found = db_lookup_type(c, ARG(1), DB_ZSET, &meta);
    if (found < 0) return;
    if (found == 0 || !zlw_open(&w, c, ARG(1), &r, 0)) {
        reply_int(c, 0);
        return;
    }
    long long n = 0;
    if (w.all_equal) {
        db_iter_close(&w.it);
        w.open = 0;
        n = zcount_sorted(c, ARG(1), meta.count, &r, pred_lex_gte, pred_lex_lte, w.seek.buf,
                          w.seek.len);
    } else {
        while (zlw_next(&w, &m, &ml, &s, 1)) n++;
    }
    zlw_close(&w);
    reply_int(c, n);
}

/* --- ZRANGE and friends -------------------------------------------------- */

enum { ZR_AUTO = -1, ZR_RANK = 0, ZR_SCORE = 1, ZR_LEX = 2 };

/* ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
 * and the older forms, which preset the range type and direction. */
static void zrange_generic(db_client *c, int type, int rev)
{
    const char *key = c->argv[1];
    size_t klen = c->argvlen[1];
    int minidx = 2, maxidx = 3, withscores = 0;
    long long offset = 0, limit = -1;
    for (int j = 4; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "withscores")) {
            withscores = 1;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (arg_ll(c, j + 1, &offset) < 0 || arg_ll(c, j + 2, &limit) < 0) return;
            j += 2;
        } else if (rev == -1 && arg_is(c, j, "rev")) {
            rev = 1;
        } else if (type == ZR_AUTO && arg_is(c, j, "bylex")) {
            type = ZR_LEX;
        } else if (type == ZR_AUTO && arg_is(c, j, "byscore")) {
            type = ZR_SCORE;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (rev == -1) rev = 0;
    if (type == ZR_AUTO) type = ZR_RANK;
    if (limit != -1 && type == ZR_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == ZR_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    if (rev && type != ZR_RANK) {
        minidx = 3;
        maxidx = 2;
    }
    long long start = 0, end = 0;
    zsr sr;
    zlr lr;
    if (type == ZR_RANK) {
        if (arg_ll(c, minidx, &start) < 0 || arg_ll(c, maxidx, &end) < 0) return;
    } else if (type == ZR_SCORE) {
        if (zsr_parse(c, minidx, maxidx, &sr) < 0) return;
    } else {
        if (zlr_parse(c, minidx, maxidx, &lr) < 0) return;
    }
    db_meta meta;
    int r = db_lookup_type(c, key, klen, DB_ZSET, &meta);
    if (r < 0) return;
    zcol col = {0};
    if (r == 0) {
        reply_array(c, 0);
        return;
    }
    if (type == ZR_RANK) {
        long long n = meta.count;
        if (zrank_range(n, &start, &end)) {
            long long a = rev ? n - 1 - end : start, b = rev ? n - 1 - start : end;
            zcollect_ranks(c, key, klen, a, b, n, &col);
        }
        zreply_col(c, &col, withscores, rev);
        zcol_free(&col);
        return;
    }
    /* by score or lex, in the reply's order, with LIMIT */
    if (offset < 0 || (offset > 0 && offset >= meta.count)) {
        reply_array(c, 0);
        return;
    }
    const uint8_t *m;
    size_t ml;
    double s;
    if (type == ZR_SCORE) {
        if (!zsr_empty(&sr)) {
            db_iter it;
            zsr_open(&it, c, key, klen, &sr, rev);
            while (limit != 0 && zsr_next(&it, &sr, rev, &m, &ml, &s)) {
                if (offset > 0) {
                    offset--;
                    continue;
                }
                zcol_add(&col, m, ml, s);
                if (limit > 0) limit--;
            }
            db_iter_close(&it);
        }
    } else {
        zlw w;
        if (zlw_open(&w, c, key, klen, &lr, rev)) {
            /* the first member in range, then offset members skipped
             * unchecked, then members while in range */
            int more = zlw_next(&w, &m, &ml, &s, 1);
            while (more && offset > 0) {
                offset--;
                more = zlw_next(&w, &m, &ml, &s, 0);
            }
            while (more && limit != 0 && zlw_in(&w, m, ml)) {
                zcol_add(&col, m, ml, s);
                if (limit > 0) limit--;
                more = zlw_next(&w, &m, &ml, &s, 0);
            }
        }
        zlw_close(&w);
    }
    zreply_col(c, &col, withscores, 0);
    zcol_free(&col);
}

static void cmd_zrange(db_client *c)
{
    zrange_generic(c, ZR_AUTO, -1);
}

static void cmd_zrangebyscore(db_client *c)
{
    zrange_generic(c, ZR_SCORE, 0);
}

static void cmd_zrevrange(db_client *c)
{
    zrange_generic(c, ZR_RANK, 1);
}

static void cmd_zrevrangebyscore(db_client *c)
{
    zrange_generic(c, ZR_SCORE, 1);
}

static void cmd_zrangebylex(db_client *c)
{
    zrange_generic(c, ZR_LEX, 0);
}

static void cmd_zrevrangebylex(db_client *c)
{
    zrange_generic(c, ZR_LEX, 1);
}

/* --- ZREMRANGEBY* ---------------------------------------------------------- */

static void zremrange_generic(db_client *c, int type)
{
    const char *key = c->argv[1];
    size_t klen = c->argvlen[1];
    long long start = 0, end = 0;
    zsr sr;
    zlr lr;
    if (type == ZR_RANK) {
        if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0) return;
    } else if (type == ZR_SCORE) {
        if (zsr_parse(c, 2, 3, &sr) < 0) return;
    } else {
        if (zlr_parse(c, 2, 3, &lr) < 0) return;
    }
    db_meta meta;
    int r = db_lookup_type(c, key, klen, DB_ZSET, &meta);
    if (r < 0) return;
    if (r == 0) {
        reply_int(c, 0);
        return;
    }
    zcol col = {0};
    const uint8_t *m;
    size_t ml;
    double s;
    if (type == ZR_RANK) {
        if (zrank_range(meta.count, &start, &end)) zcollect_ranks(c, key, klen, start, end, meta.count, &col);
    } else if (type == ZR_SCORE) {
        if (!zsr_empty(&sr)) {
            db_iter it;
            zsr_open(&it, c, key, klen, &sr, 0);
            while (zsr_next(&it, &sr, 0, &m, &ml, &s)) zcol_add(&col, m, ml, s);
            db_iter_close(&it);
        }
    } else {
        zlw w;
        if (zlw_open(&w, c, key, klen, &lr, 0))
            while (zlw_next(&w, &m, &ml, &s, 1)) zcol_add(&col, m, ml, s);
        zlw_close(&w);
    }
    zdel_col(c, key, klen, &meta, &col);
    reply_int(c, (long long)col.n);
    zcol_free(&col);
}

static void cmd_zremrangebyrank(db_client *c)
{
    zremrange_generic(c, ZR_RANK);
}

static void cmd_zremrangebyscore(db_client *c)
{
    zremrange_generic(c, ZR_SCORE);
}

static void cmd_zremrangebylex(db_client *c)
{
    zremrange_generic(c, ZR_LEX);
}

/* --- ZPOPMIN ZPOPMAX ------------------------------------------------------ */

static void zpop_generic(db_client *c, int max)
{
    const char *key = c->argv[1];
    size_t klen = c->argvlen[1];
    long long count = 1;
    int with_count = 0;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3) {
        with_count = 1;
        if (parse_ll(ARG(2), &count) != 0 || count < 0) {
            reply_error(c, ERR_NEGATIVE);
            return;
        }
    }
    db_meta meta;
    int r = db_lookup_type(c, key, klen, DB_ZSET, &meta);
    if (r < 0) return;
    if (r == 0 || count == 0) {
        reply_array(c, 0);
        return;
    }
    zcol col = {0};
    db_iter it;
    const uint8_t *sub, *v;
    size_t sl, vl;
    db_iter_init(&it, c, DB_REC_SCORE, key, klen, NULL, 0, max);
    while ((long long)col.n < count && db_iter_next(&it, &sub, &sl, &v, &vl)) {
        if (sl < DB_SCORE_BYTES) continue;
        zcol_add(&col, sub + DB_SCORE_BYTES, sl - DB_SCORE_BYTES, db_score_from(sub));
    }
    db_iter_close(&it);
    zdel_col(c, key, klen, &meta, &col);
    int nested = with_count && c->resp >= 3;
    reply_array(c, nested ? (long)col.n : 2 * (long)col.n);
    for (size_t i = 0; i < col.n; i++) {
        if (nested) reply_array(c, 2);
        reply_bulk(c, zcol_member(&col, i), col.v[i].len);
        reply_double(c, col.v[i].score);
    }
    zcol_free(&col);
}

static void cmd_zpopmin(db_client *c)
{
    zpop_generic(c, 0);
}

static void cmd_zpopmax(db_client *c)
{
    zpop_generic(c, 1);
}

/* --- ZSCAN ---------------------------------------------------------------- */

/* A score as ZSCAN shows it: Redis answers the stored string, which is an
 * integer when the score is one that fits (d2string), else "%.17g". */
static int zscan_score(char *buf, size_t cap, double d)
{
    if (isfinite(d) && d >= (double)(-LLONG_MAX / 2) && d <= (double)(LLONG_MAX / 2)) {
        long long ll = (long long)d;
        if ((double)ll == d) return snprintf(buf, cap, "%lld", ll);
    }
    return format_double(buf, cap, d);
}

/* A small sorted set comes whole in score order (its score records), a
 * big one in member order (its member records, whose value is the score). */
static int zscan_decode(int whole, const uint8_t *sub, size_t sublen, const uint8_t *val, size_t vallen,
                        const uint8_t **name, size_t *namelen, const uint8_t **value, size_t *valuelen, char *scratch)
{
    double score;
    if (whole) {
        if (sublen < DB_SCORE_BYTES)
            return 0;
        score = db_score_from(sub);
        *name = sub + DB_SCORE_BYTES, *namelen = sublen - DB_SCORE_BYTES;
    } else {
        if (vallen < DB_SCORE_BYTES)
            return 0;
        score = db_score_from(val);
        *name = sub, *namelen = sublen;
    }
    int len = zscan_score(scratch, 64, score);
    *value = (const uint8_t *)scratch, *valuelen = len > 0 ? (size_t)len : 0;
    return 1;
}

static void cmd_zscan(db_client *c)
{
    static const scan_spec zset = {.type = DB_ZSET, .kind = DB_REC_ELEM, .whole = ZSCAN_SMALL,
                                   .whole_kind = DB_REC_SCORE, .decode = zscan_decode};
    scan_generic(c, &zset);
}

/* --- ZUNIONSTORE ZINTERSTORE ---------------------------------------------- */

enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct {
    const char *key;
    size_t klen;
    int present, is_set;
    long long card;
    double weight;
    /* the source's iterator and its current member (copied: a sub is
     * only valid until the next db_iter_next of any iterator) */
    db_iter it;
    int open, has;
    db_buf head;
    double score;
} zsrc;

static const uint8_t *zsrc_m(const zsrc *s)
{
    return s->head.buf ? (const uint8_t *)s->head.buf : (const uint8_t *)"";
}

static void zagg(double *target, double v, int agg)
{
    if (agg == AGG_SUM) {
        *target = *target + v;
        if (isnan(*target)) *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

static void zsrc_advance(zsrc *s)
{
    const uint8_t *sub, *v;
    size_t sl, vl;
    s->has = 0;
    while (s->open && db_iter_next(&s->it, &sub, &sl, &v, &vl)) {
        if (!s->is_set && vl < DB_SCORE_BYTES) continue;
        s->head.len = 0;
        db_buf_append(&s->head, sub, sl);
        s->score = s->is_set ? 1.0 : db_score_from(v);
        s->has = 1;
        return;
    }
}

/* A member's score in a source (sets score 1); 0 when absent. */
static int zsrc_find(db_client *c, const zsrc *s, const void *m, size_t ml, double *score)
{
    const uint8_t *v;
    size_t vl;
    if (!s->present) return 0;
    if (s->is_set) {
        if (db_elem_get(c, DB_REC_ELEM, s->key, s->klen, m, ml, &v, &vl) != 1) return 0;
        *score = 1.0;
        return 1;
    }
    return zget(c, s->key, s->klen, m, ml, score);
}

static void zsetop_generic(db_client *c, int inter)
{
    const char *name = inter ? "zinterstore" : "zunionstore";
    const char *dst = c->argv[1];
    size_t dstlen = c->argvlen[1];
    long long setnum;
    if (arg_ll(c, 2, &setnum) < 0) return;
    if (setnum < 1) {
        reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", name);
        return;
    }
    if (setnum > c->argc - 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    zsrc *src = calloc((size_t)setnum, sizeof *src);
    size_t *ord = calloc((size_t)setnum, sizeof *ord);
    zcol col = {0};
    db_buf cur = {0};
    if (!src || !ord) abort();
    int j = 3;
    for (long long i = 0; i < setnum; i++, j++) {
        db_meta meta;
        const uint8_t *val;
        size_t vallen;
        src[i].key = c->argv[j];
        src[i].klen = c->argvlen[j];
        src[i].weight = 1.0;
        if (db_lookup(c, src[i].key, src[i].klen, &meta, &val, &vallen) == 1) {
            if (meta.type != DB_ZSET && meta.type != DB_SET) {
                reply_error(c, ERR_WRONGTYPE);
                goto out;
            }
            src[i].present = 1;
            src[i].is_set = meta.type == DB_SET;
            src[i].card = meta.count;
        }
    }
    int agg = AGG_SUM;
    while (j < c->argc) {
        int remaining = c->argc - j;
        if (remaining >= setnum + 1 && arg_is(c, j, "weights")) {
            j++;
            for (long long i = 0; i < setnum; i++, j++) {
                if (parse_double(ARG(j), &src[i].weight) != 0) {
                    reply_error(c, "ERR weight value is not a float");
                    goto out;
                }
            }
        } else if (remaining >= 2 && arg_is(c, j, "aggregate")) {
            j++;
            if (arg_is(c, j, "sum")) agg = AGG_SUM;
            else if (arg_is(c, j, "min")) agg = AGG_MIN;
            else if (arg_is(c, j, "max")) agg = AGG_MAX;
            else {
                reply_error(c, ERR_SYNTAX);
                goto out;
            }
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            goto out;
        }
    }
    /* sources from the smallest to the largest, stable, as Redis orders
     * them: scores are aggregated in that order */
    for (long long i = 0; i < setnum; i++) {
        long long k = i;
        while (k > 0 && src[ord[k - 1]].card > src[i].card) {
            ord[k] = ord[k - 1];
            k--;
        }
        ord[k] = (size_t)i;
    }
    if (inter) {
        zsrc *s0 = &src[ord[0]];
        if (s0->present && s0->card > 0) {
            db_iter_init(&s0->it, c, DB_REC_ELEM, s0->key, s0->klen, NULL, 0, 0);
            s0->open = 1;
            for (zsrc_advance(s0); s0->has; zsrc_advance(s0)) {
                const char *m = (const char *)zsrc_m(s0);
                size_t ml = s0->head.len;
                double score = s0->weight * s0->score, v;
                if (isnan(score)) score = 0;
                long long k;
                for (k = 1; k < setnum; k++) {
                    zsrc *s = &src[ord[k]];
                    if (!zsrc_find(c, s, m, ml, &v)) break;
                    v *= s->weight;
                    zagg(&score, v, agg);
                }
                if (k == setnum) zcol_add(&col, m, ml, score);
            }
        }
    } else {
        /* merge the sources, each in member order */
        for (long long i = 0; i < setnum; i++) {
            if (!src[i].present || src[i].card == 0) continue;
            db_iter_init(&src[i].it, c, DB_REC_ELEM, src[i].key, src[i].klen, NULL, 0, 0);
            src[i].open = 1;
            zsrc_advance(&src[i]);
        }
        for (;;) {
            zsrc *lo = NULL;
            for (long long i = 0; i < setnum; i++)
                if (src[i].has && (!lo || bytes_cmp(zsrc_m(&src[i]), src[i].head.len, zsrc_m(lo), lo->head.len) < 0))
                    lo = &src[i];
            if (!lo) break;
            cur.len = 0;
            db_buf_append(&cur, zsrc_m(lo), lo->head.len);
            size_t ml = lo->head.len;
            const char *m = cur.buf ? cur.buf : "";
            double score = 0;
            int first = 1;
            for (long long k = 0; k < setnum; k++) {
                zsrc *s = &src[ord[k]];
                if (!s->has || bytes_cmp(zsrc_m(s), s->head.len, m, ml) != 0) continue;
                double v = s->weight * s->score;
                if (isnan(v)) v = 0;
                if (first) score = v;
                else zagg(&score, v, agg);
                first = 0;
                zsrc_advance(s);
            }
            zcol_add(&col, m, ml, score);
        }
    }
    /* no writes while an iterator is open */
    for (long long i = 0; i < setnum; i++) {
        if (src[i].open) db_iter_close(&src[i].it);
        src[i].open = 0;
    }
    db_delete(c, dst, dstlen);
    if (col.n) {
        db_meta meta;
        memset(&meta, 0, sizeof meta);
        meta.type = DB_ZSET;
        for (size_t i = 0; i < col.n; i++) zput(c, dst, dstlen, zcol_member(&col, i), col.v[i].len, col.v[i].score);
        meta.count = (int64_t)col.n;
        db_meta_write(c, dst, dstlen, &meta, NULL, 0);
    }
    reply_int(c, (long long)col.n);
out:
    for (long long i = 0; i < setnum; i++) {
        if (src[i].open) db_iter_close(&src[i].it);
        db_buf_free(&src[i].head);
    }
    free(src);
    free(ord);
    zcol_free(&col);
    db_buf_free(&cur);
}

static void cmd_zunionstore(db_client *c)
{
    zsetop_generic(c, 0);
}

static void cmd_zinterstore(db_client *c)
{
    zsetop_generic(c, 1);
}

/* --- the table ------------------------------------------------------------ */

const struct db_command db_zset_commands[] = {
    {"zadd", cmd_zadd, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"zincrby", cmd_zincrby, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"zrem", cmd_zrem, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"zcard", cmd_zcard, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zcount", cmd_zcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zscore", cmd_zscore, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zmscore", cmd_zmscore, -3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zrank", cmd_zrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zrevrank", cmd_zrevrank, 3, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zrange", cmd_zrange, -4, CMD_READONLY, 1, 1, 1},
    {"zrangebyscore", cmd_zrangebyscore, -4, CMD_READONLY, 1, 1, 1},
    {"zrevrange", cmd_zrevrange, -4, CMD_READONLY, 1, 1, 1},
    {"zrevrangebyscore", cmd_zrevrangebyscore, -4, CMD_READONLY, 1, 1, 1},
    {"zrangebylex", cmd_zrangebylex, -4, CMD_READONLY, 1, 1, 1},
    {"zrevrangebylex", cmd_zrevrangebylex, -4, CMD_READONLY, 1, 1, 1},
    {"zlexcount", cmd_zlexcount, 4, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"zremrangebyscore", cmd_zremrangebyscore, 4, CMD_WRITE, 1, 1, 1},
    {"zremrangebyrank", cmd_zremrangebyrank, 4, CMD_WRITE, 1, 1, 1},
    {"zremrangebylex", cmd_zremrangebylex, 4, CMD_WRITE, 1, 1, 1},
    {"zpopmin", cmd_zpopmin, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"zpopmax", cmd_zpopmax, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"zscan", cmd_zscan, -3, CMD_READONLY | CMD_WRITER_ONLY, 1, 1, 1},
    {"zunionstore", cmd_zunionstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"zinterstore", cmd_zinterstore, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"zclear", cmd_zclear, 2, CMD_WRITE, 1, 1, 1},
    {"zmclear", cmd_zmclear, -2, CMD_WRITE, 1, -1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
