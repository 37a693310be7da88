/* util: buffers, number parsing and formatting as Redis does them, globs. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

/* --- random numbers: the one source of the module ----------------------------- */

/* ChaCha20's keystream under a key from the system (libsodium's
 * randombytes), drawn a block at a time: as cheap as a plain PRNG per
 * number (the system call would cost 0.6 us each), and unpredictable, so
 * no client can guess another's scan cursors from its own. One per
 * thread; the db runs on one. */
static _Thread_local struct {
    int seeded;
    uint8_t key[crypto_stream_chacha20_KEYBYTES];
    uint64_t block;
    uint8_t pool[512];
    size_t used;
} rng;

uint64_t db_random(void)
{
    if (!rng.seeded) {
        if (sodium_init() < 0)
            abort(); /* no system randomness: nothing random is safe */
        randombytes_buf(rng.key, sizeof rng.key);
        rng.used = sizeof rng.pool;
        rng.seeded = 1;
    }
    if (rng.used + sizeof(uint64_t) > sizeof rng.pool) {
        uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
        memcpy(nonce, &rng.block, sizeof rng.block < sizeof nonce ? sizeof rng.block : sizeof nonce);
        rng.block++;
        crypto_stream_chacha20(rng.pool, sizeof rng.pool, nonce, rng.key);
        rng.used = 0;
    }
    uint64_t x;
    memcpy(&x, rng.pool + rng.used, sizeof x);
    rng.used += sizeof x;
    return x;
}

uint64_t db_random_below(uint64_t n)
{
    uint64_t min = -n % n, x; /* 2^64 mod n: below it the draw would favour small results */
    do
        x = db_random();
    while (x < min);
    return x % n;
}

void db_buf_append(db_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = b->on_stack ? malloc(cap) : realloc(b->buf, cap);
        if (!grown)
            abort(); /* out of memory: the output limit keeps buffers bounded */
        if (b->on_stack && b->len)
            memcpy(grown, b->buf, b->len);
        b->on_stack = 0;
        b->buf = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
}

void db_buf_printf(db_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof tmp) {
        db_buf_append(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    db_buf_append(b, big, (size_t)n);
    free(big);
}

void db_buf_free(db_buf *b)
{
    if (!b->on_stack)
        free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
    b->on_stack = 0;
}

/* Strict: what Redis's string2ll accepts (no spaces, no '+', no leading
 * zeros, no "-0"), within long long. */
int parse_ll(const char *s, size_t n, long long *v)
{
    if (n == 0 || n > 20)
        return -1;
    if (n == 1 && s[0] == '0') {
        *v = 0;
        return 0;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        if (++i == n)
            return -1;
    }
    if (s[i] < '1' || s[i] > '9')
        return -1;
    unsigned long long acc = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (acc > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
            return -1;
        acc = acc * 10 + (unsigned)(s[i] - '0');
    }
    if (neg) {
        if (acc > (unsigned long long)LLONG_MAX + 1)
            return -1;
        *v = (long long)(0 - acc);
    } else {
        if (acc > (unsigned long long)LLONG_MAX)
            return -1;
        *v = (long long)acc;
    }
    return 0;
}

/* As Redis's getDoubleFromObject: strtod over the whole string, no leading
 * space, no NaN. */
int parse_double(const char *s, size_t n, double *v)
{
    char buf[256];
    if (n == 0 || n >= sizeof buf || isspace((unsigned char)s[0]))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if ((size_t)(end - buf) != n || isnan(d) || (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0)))
        return -1;
    *v = d;
    return 0;
}

int format_double(char *buf, size_t cap, double d)
{
    if (isinf(d))
        return snprintf(buf, cap, "%s", d > 0 ? "inf" : "-inf");
    return snprintf(buf, cap, "%.17g", d);
}

int format_long_double(char *buf, size_t cap, long double d)
{
    if (isinf(d))
        return snprintf(buf, cap, "%s", d > 0 ? "inf" : "-inf");
    int n = snprintf(buf, cap, "%.17Lf", d);
    if (n < 0 || (size_t)n >= cap)
        return n;
    if (strchr(buf, '.')) { /* drop trailing zeros, and the dot if nothing follows */
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
        buf[n] = '\0';
    }
    if (n == 2 && !strcmp(buf, "-0"))
        n = snprintf(buf, cap, "0");
    return n;
}

static int fold(int c, int nocase) { return nocase ? tolower(c) : c; }

/* One element of a pattern (anything but '*') against one character: a
 * literal, '?', "\x" or a class "[...]" (an unclosed class runs to the end
 * of the pattern, as in Redis). Its length goes to *len. */
static int element_match(const char *p, size_t pl, unsigned char ch, int nocase, size_t *len)
{
    int c = fold(ch, nocase);
    if (p[0] == '?') {
        *len = 1;
        return 1;
    }
    if (p[0] == '\\' && pl >= 2) {
        *len = 2;
        return fold((unsigned char)p[1], nocase) == c;
    }
    if (p[0] != '[') {
        *len = 1;
        return fold((unsigned char)p[0], nocase) == c;
    }
    size_t i = 1;
    int neg = i < pl && p[i] == '^', hit = 0;
    if (neg)
        i++;
    for (; i < pl && p[i] != ']'; i++) {
        if (p[i] == '\\' && pl - i >= 2) {
            i++;
            hit |= fold((unsigned char)p[i], nocase) == c;
        } else if (pl - i >= 3 && p[i + 1] == '-') {
            int a = fold((unsigned char)p[i], nocase), b = fold((unsigned char)p[i + 2], nocase);
            if (a > b) {
                int t = a;
                a = b, b = t;
            }
            hit |= c >= a && c <= b;
            i += 2;
        } else {
            hit |= fold((unsigned char)p[i], nocase) == c;
        }
    }
    *len = i < pl ? i + 1 : pl;
    return neg ? !hit : hit;
}

/* Every element but '*' matches exactly one character, so a failed match
 * only ever needs to go back to the last star and let it swallow one more
 * character: at most patlen * slen element tests, where the recursive
 * matcher was exponential in the number of stars (CVE-2022-36021). */
int glob_match_within(const char *p, size_t pl, const char *s, size_t sl, int nocase, uint64_t budget,
                      uint64_t *work)
{
    size_t pi = 0, si = 0, star_p = 0, star_s = 0;
    int starred = 0;
    uint64_t done = 0;
    int result = -1;
    while (si < sl) {
        if (++done > budget)
            goto out;
        if (pi < pl && p[pi] == '*') {
            while (pi < pl && p[pi] == '*')
                pi++;
            if (pi == pl) {
                result = 1;
                goto out;
            }
            starred = 1, star_p = pi, star_s = si;
            continue;
        }
        size_t len;
        if (pi < pl && element_match(p + pi, pl - pi, (unsigned char)s[si], nocase, &len)) {
            pi += len, si++;
            continue;
        }
        if (!starred) {
            result = 0;
            goto out;
        }
        pi = star_p, si = ++star_s; /* the last star takes one more character */
    }
    while (pi < pl && p[pi] == '*')
        pi++;
    result = pi == pl;
out:
    if (work)
        *work += done;
    return result;
}

int glob_match(const char *p, size_t pl, const char *s, size_t sl, int nocase)
{
    return glob_match_within(p, pl, s, sl, nocase, UINT64_MAX, NULL) == 1;
}

int arg_is(const db_client *c, int i, const char *word)
{
    return i < c->argc && strlen(word) == c->argvlen[i] && !strncasecmp(c->argv[i], word, c->argvlen[i]);
}

int arg_ll(db_client *c, int i, long long *v)
{
    if (parse_ll(ARG(i), v) != 0) {
        reply_error(c, ERR_NOTINT);
        return -1;
    }
    return 0;
}

int arg_double(db_client *c, int i, double *v)
{
    if (parse_double(ARG(i), v) != 0) {
        reply_error(c, ERR_NOTFLOAT);
        return -1;
    }
    return 0;
}
