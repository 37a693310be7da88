/* modules/db through its public API (db.h): a database in a temporary
 * directory, clients fed commands as the RESP server feeds them, replies
 * read back as RESP and checked. Behaviour only, no internals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- RESP2 replies, parsed ------------------------------------------------------ */

typedef struct reply {
    char type;    /* + - : $ * */
    long long n;  /* integer; bulk or array length; -1 null */
    char *str;    /* status, error, bulk (NUL-terminated) */
    struct reply **elem;
} reply;

/* every reply of a test, freed by the teardown */
static reply **arena;
static size_t narena, caparena;

static reply *reply_new(void)
{
    if (narena == caparena) {
        caparena = caparena ? 2 * caparena : 256;
        arena = realloc(arena, caparena * sizeof *arena);
    }
    return arena[narena++] = calloc(1, sizeof(reply));
}

static void arena_free(void)
{
    for (size_t i = 0; i < narena; i++) {
        free(arena[i]->str);
        free(arena[i]->elem);
        free(arena[i]);
    }
    free(arena);
    arena = NULL;
    narena = caparena = 0;
}

/* Parses one reply at *p (within end), moving *p past it. */
static reply *parse(const char **p, const char *end)
{
    const char *s = *p;
    const char *crlf = memmem(s, (size_t)(end - s), "\r\n", 2);
    assert_non_null(crlf);
    reply *r = reply_new();
    r->type = *s;
    *p = crlf + 2;
    switch (r->type) {
    case '+':
    case '-':
        r->str = strndup(s + 1, (size_t)(crlf - s - 1));
        break;
    case ':':
        r->n = strtoll(s + 1, NULL, 10);
        break;
    case '$':
        r->n = strtoll(s + 1, NULL, 10);
        if (r->n >= 0) {
            assert_true(*p + r->n + 2 <= end);
            r->str = strndup(*p, (size_t)r->n);
            *p += r->n + 2;
        }
        break;
    case '*':
        r->n = strtoll(s + 1, NULL, 10);
        if (r->n > 0) {
            r->elem = calloc((size_t)r->n, sizeof *r->elem);
            for (long long i = 0; i < r->n; i++)
                r->elem[i] = parse(p, end);
        }
        break;
    default:
        fail_msg("unexpected reply type '%c'", r->type);
    }
    return r;
}

/* --- a database in a temporary directory, and two clients ------------------------ */

typedef struct {
    char dir[64];
    db *d;
    db_client *a, *b;
} fixture;

/* SELECT targets for the tests: "0" the default database, "v@N" its version N
 * (read-only); what the node's hook decides from MiMei rights. */
static int test_select(void *arg, db_client *c, const char *mid, uint32_t *dbno, uint32_t *version, int *may_write,
                       char *err, size_t errlen)
{
    db *d = arg;
    *dbno = db_default(d);
    *version = 0;
    *may_write = 1;
    if (!strcmp(mid, "0"))
        return 0;
    unsigned n;
    if (sscanf(mid, "v@%u", &n) == 1 && n > 0 && db_version_exists(c, *dbno, n)) {
        *version = n;
        *may_write = 0;
        return 0;
    }
    snprintf(err, errlen, "ERR no such version");
    return -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/leither-db-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    f->d = db_open(f->dir, DB_SYNC_NO, err, sizeof err);
    assert_non_null(f->d);
    db_hooks hooks = {.arg = f->d, .select = test_select};
    db_set_hooks(f->d, &hooks);
    f->a = db_client_new(f->d, NULL);
    f->b = db_client_new(f->d, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    db_close(f->d);
    DIR *dir = opendir(f->dir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        char path[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(f->dir);
    free(f);
    arena_free();
    return 0;
}

/* The reply waiting in c's output (after a commit), or NULL when none. */
static reply *take_reply(fixture *f, db_client *c)
{
    (void)f;
    size_t len;
    const char *out = db_output(c, &len);
    if (len == 0)
        return NULL;
    const char *p = out;
    reply *r = parse(&p, out + len);
    db_output_consumed(c, (size_t)(p - out));
    return r;
}

/* Runs one command as the RESP server does (exec, commit, write out) and
 * returns its reply; a command that blocks returns NULL. */
static reply *run_argv(fixture *f, db_client *c, int argc, const char **argv)
{
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    db_exec(c, argc, argv, lens);
    free(lens);
    assert_int_equal(db_commit(f->d), 0);
    reply *r = take_reply(f, c);
    size_t left;
    db_output(c, &left);
    assert_int_equal(left, 0); /* one command, one reply */
    return r;
}

#define RUN(c, ...)                                                                                                    \
    run_argv(f, (c), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                             \
             (const char *[]){__VA_ARGS__})

static void expect_status(const reply *r, const char *s)
{
    assert_non_null(r);
    assert_int_equal(r->type, '+');
    assert_string_equal(r->str, s);
}

static void expect_int(const reply *r, long long n)
{
    assert_non_null(r);
    assert_int_equal(r->type, ':');
    assert_int_equal(r->n, n);
}

static void expect_bulk(const reply *r, const char *s)
{
    assert_non_null(r);
    assert_int_equal(r->type, '$');
    assert_non_null(r->str);
    assert_string_equal(r->str, s);
}

static void expect_null(const reply *r)
{
    assert_non_null(r);
    assert_true(r->type == '$' || r->type == '*');
    assert_int_equal(r->n, -1);
}

static void expect_error(const reply *r, const char *prefix)
{
    assert_non_null(r);
    assert_int_equal(r->type, '-');
    assert_true(strncmp(r->str, prefix, strlen(prefix)) == 0);
}

/* An array of bulk strings, in order. */
static void expect_bulks(const reply *r, int n, const char *const *want)
{
    assert_non_null(r);
    assert_int_equal(r->type, '*');
    assert_int_equal(r->n, n);
    for (int i = 0; i < n; i++)
        expect_bulk(r->elem[i], want[i]);
}
#define EXPECT_BULKS(r, ...)                                                                                           \
    expect_bulks((r), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__})

static int count_of(const reply *r, const char *s)
{
    int n = 0;
    for (long long i = 0; i < r->n; i++)
        n += r->elem[i]->str && !strcmp(r->elem[i]->str, s);
    return n;
}

/* --- strings and keys ------------------------------------------------------------- */

static void test_strings(void **state)
{
    fixture *f = *state;
    expect_null(RUN(f->a, "GET", "greeting"));
    expect_status(RUN(f->a, "SET", "greeting", "hello"), "OK");
    expect_bulk(RUN(f->a, "GET", "greeting"), "hello");
    expect_int(RUN(f->a, "APPEND", "greeting", " world"), 11);
    expect_bulk(RUN(f->b, "GET", "greeting"), "hello world");
    expect_int(RUN(f->a, "STRLEN", "greeting"), 11);
    expect_bulk(RUN(f->a, "GETRANGE", "greeting", "0", "4"), "hello");
    expect_null(RUN(f->a, "SET", "greeting", "again", "NX"));
    expect_int(RUN(f->a, "INCR", "n"), 1);
    expect_int(RUN(f->a, "INCRBY", "n", "41"), 42);
    expect_error(RUN(f->a, "INCR", "greeting"), "ERR value is not an integer");
    expect_bulk(RUN(f->a, "INCRBYFLOAT", "n", "0.5"), "42.5");
    expect_status(RUN(f->a, "MSET", "x", "1", "y", "2"), "OK");
    reply *m = RUN(f->a, "MGET", "x", "nothing", "y");
    assert_int_equal(m->n, 3);
    expect_bulk(m->elem[0], "1");
    expect_null(m->elem[1]);
    expect_bulk(m->elem[2], "2");
    expect_int(RUN(f->a, "EXISTS", "x", "y", "nothing"), 2);
    expect_int(RUN(f->a, "DEL", "x", "nothing"), 1);
    expect_status(RUN(f->a, "TYPE", "greeting"), "string");
}

static void test_expiry(void **state)
{
    fixture *f = *state;
    expect_status(RUN(f->a, "SET", "k", "v", "EX", "100"), "OK");
    reply *ttl = RUN(f->a, "TTL", "k");
    assert_true(ttl->n > 90 && ttl->n <= 100);
    expect_int(RUN(f->a, "PERSIST", "k"), 1);
    expect_int(RUN(f->a, "TTL", "k"), -1);
    expect_int(RUN(f->a, "TTL", "nothing"), -2);
    /* an expiry in the past deletes the key */
    expect_int(RUN(f->a, "PEXPIREAT", "k", "1"), 1);
    expect_null(RUN(f->a, "GET", "k"));
    expect_int(RUN(f->a, "EXISTS", "k"), 0);
}

static void test_wrongtype_and_errors(void **state)
{
    fixture *f = *state;
    RUN(f->a, "RPUSH", "list", "a");
    expect_error(RUN(f->a, "GET", "list"), "WRONGTYPE");
    expect_error(RUN(f->a, "HSET", "list", "f", "v"), "WRONGTYPE");
    expect_error(RUN(f->a, "NOSUCHCOMMAND", "x"), "ERR unknown command 'NOSUCHCOMMAND'");
    expect_error(RUN(f->a, "GET"), "ERR wrong number of arguments for 'get' command");
}

/* --- lists, sets, sorted sets, hashes ----------------------------------------- */

static void test_lists(void **state)
{
    fixture *f = *state;
    expect_int(RUN(f->a, "RPUSH", "l", "b", "c"), 2);
    expect_int(RUN(f->a, "LPUSH", "l", "a"), 3);
    EXPECT_BULKS(RUN(f->a, "LRANGE", "l", "0", "-1"), "a", "b", "c");
    expect_int(RUN(f->a, "LLEN", "l"), 3);
    expect_bulk(RUN(f->a, "LINDEX", "l", "-1"), "c");
    expect_status(RUN(f->a, "LSET", "l", "1", "B"), "OK");
    expect_int(RUN(f->a, "LINSERT", "l", "BEFORE", "c", "x"), 4);
    EXPECT_BULKS(RUN(f->a, "LRANGE", "l", "1", "2"), "B", "x");
    expect_bulk(RUN(f->a, "LPOP", "l"), "a");
    EXPECT_BULKS(RUN(f->a, "RPOP", "l", "2"), "c", "x");
    expect_bulk(RUN(f->a, "RPOPLPUSH", "l", "other"), "B");
    expect_int(RUN(f->a, "EXISTS", "l"), 0); /* an emptied list is gone */
    EXPECT_BULKS(RUN(f->a, "LRANGE", "other", "0", "-1"), "B");
}

static void test_blocking_pop(void **state)
{
    fixture *f = *state;
    assert_null(RUN(f->a, "BLPOP", "queue", "0")); /* blocks: no reply yet */
    assert_true(db_client_blocked(f->a));
    expect_int(RUN(f->b, "RPUSH", "queue", "job"), 1);
    assert_ptr_equal(db_next_woken(f->d), f->a);
    EXPECT_BULKS(take_reply(f, f->a), "queue", "job");
    assert_false(db_client_blocked(f->a));
    expect_int(RUN(f->b, "LLEN", "queue"), 0);
}

static void test_sets(void **state)
{
    fixture *f = *state;
    expect_int(RUN(f->a, "SADD", "s", "a", "b", "c", "a"), 3);
    expect_int(RUN(f->a, "SCARD", "s"), 3);
    expect_int(RUN(f->a, "SISMEMBER", "s", "b"), 1);
    expect_int(RUN(f->a, "SISMEMBER", "s", "z"), 0);
    EXPECT_BULKS(RUN(f->a, "SMEMBERS", "s"), "a", "b", "c"); /* members in byte order */
    expect_int(RUN(f->a, "SREM", "s", "b", "z"), 1);
    RUN(f->a, "SADD", "t", "c", "d");
    EXPECT_BULKS(RUN(f->a, "SINTER", "s", "t"), "c");
    EXPECT_BULKS(RUN(f->a, "SUNION", "s", "t"), "a", "c", "d");
    EXPECT_BULKS(RUN(f->a, "SDIFF", "s", "t"), "a");

    /* random members: from the set; distinct for a positive count, repeats
     * (exactly |count| of them) for a negative one */
    char m[16];
    for (int i = 0; i < 200; i++) {
        snprintf(m, sizeof m, "m%03d", i);
        RUN(f->a, "SADD", "big", m);
    }
    reply *r = RUN(f->a, "SRANDMEMBER", "big", "50");
    assert_int_equal(r->n, 50);
    for (long long i = 0; i < r->n; i++) {
        assert_int_equal(count_of(r, r->elem[i]->str), 1);
        expect_int(RUN(f->b, "SISMEMBER", "big", r->elem[i]->str), 1);
    }
    r = RUN(f->a, "SRANDMEMBER", "big", "-300");
    assert_int_equal(r->n, 300);
    r = RUN(f->a, "SRANDMEMBER", "big", "500"); /* more than there are: all */
    assert_int_equal(r->n, 200);
    r = RUN(f->a, "SPOP", "big", "120");
    assert_int_equal(r->n, 120);
    for (long long i = 0; i < r->n; i++) {
        assert_int_equal(count_of(r, r->elem[i]->str), 1);
        expect_int(RUN(f->b, "SISMEMBER", "big", r->elem[i]->str), 0);
    }
    expect_int(RUN(f->a, "SCARD", "big"), 80);
    reply *one = RUN(f->a, "SPOP", "big");
    assert_int_equal(one->type, '$');
    expect_int(RUN(f->a, "SCARD", "big"), 79);
}

static void test_zsets(void **state)
{
    fixture *f = *state;
    expect_int(RUN(f->a, "ZADD", "z", "2", "b", "1", "a", "3", "c"), 3);
    EXPECT_BULKS(RUN(f->a, "ZRANGE", "z", "0", "-1"), "a", "b", "c");
    EXPECT_BULKS(RUN(f->a, "ZRANGE", "z", "0", "0", "WITHSCORES"), "a", "1");
    expect_bulk(RUN(f->a, "ZSCORE", "z", "b"), "2");
    expect_int(RUN(f->a, "ZRANK", "z", "c"), 2);
    expect_bulk(RUN(f->a, "ZINCRBY", "z", "10", "a"), "11");
    EXPECT_BULKS(RUN(f->a, "ZREVRANGE", "z", "0", "0"), "a");
    EXPECT_BULKS(RUN(f->a, "ZRANGEBYSCORE", "z", "2", "(11"), "b", "c");
    expect_int(RUN(f->a, "ZCOUNT", "z", "-inf", "+inf"), 3);
    EXPECT_BULKS(RUN(f->a, "ZPOPMIN", "z"), "b", "2");
    expect_int(RUN(f->a, "ZREM", "z", "c", "nothing"), 1);
    expect_int(RUN(f->a, "ZCARD", "z"), 1);
}

static void test_hashes(void **state)
{
    fixture *f = *state;
    expect_int(RUN(f->a, "HSET", "h", "name", "ada", "born", "1815"), 2);
    expect_bulk(RUN(f->a, "HGET", "h", "name"), "ada");
    expect_null(RUN(f->a, "HGET", "h", "nothing"));
    expect_int(RUN(f->a, "HLEN", "h"), 2);
    EXPECT_BULKS(RUN(f->a, "HGETALL", "h"), "born", "1815", "name", "ada");
    expect_int(RUN(f->a, "HINCRBY", "h", "born", "1"), 1816);
    expect_int(RUN(f->a, "HEXISTS", "h", "born"), 1);
    expect_int(RUN(f->a, "HDEL", "h", "born", "nothing"), 1);
    EXPECT_BULKS(RUN(f->a, "HKEYS", "h"), "name");
    expect_bulk(RUN(f->a, "HRANDFIELD", "h"), "name");

    char field[16];
    for (int i = 0; i < 300; i++) {
        snprintf(field, sizeof field, "f%03d", i);
        RUN(f->a, "HSET", "wide", field, "v");
    }
    reply *r = RUN(f->a, "HRANDFIELD", "wide", "100");
    assert_int_equal(r->n, 100);
    for (long long i = 0; i < r->n; i++) {
        assert_int_equal(count_of(r, r->elem[i]->str), 1);
        expect_int(RUN(f->b, "HEXISTS", "wide", r->elem[i]->str), 1);
    }
    r = RUN(f->a, "HRANDFIELD", "wide", "-500", "WITHVALUES");
    assert_int_equal(r->n, 1000);
}

/* Big collections, sampled by descending their elements (not read whole):
 * picks are members, distinct when asked, values belong to their fields. */
static void test_sampling_big(void **state)
{
    fixture *f = *state;
    enum { N = 3000 };
    static char names[N][16];
    static const char *sadd[2 + N], *hset[2 + 2 * N];
    sadd[0] = "SADD", sadd[1] = "big";
    hset[0] = "HSET", hset[1] = "wide";
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "%x-%d", (unsigned)(i * 2654435761u), i);
        sadd[2 + i] = names[i];
        hset[2 + 2 * i] = names[i];
        hset[3 + 2 * i] = names[i]; /* each field's value is its name */
    }
    expect_int(run_argv(f, f->a, 2 + N, sadd), N);
    expect_int(run_argv(f, f->a, 2 + 2 * N, hset), N);

    reply *one = RUN(f->a, "SRANDMEMBER", "big");
    expect_int(RUN(f->b, "SISMEMBER", "big", one->str), 1);
    reply *r = RUN(f->a, "SRANDMEMBER", "big", "20"); /* distinct: few of many, by picks */
    assert_int_equal(r->n, 20);
    for (long long i = 0; i < r->n; i++) {
        assert_int_equal(count_of(r, r->elem[i]->str), 1);
        expect_int(RUN(f->b, "SISMEMBER", "big", r->elem[i]->str), 1);
    }
    r = RUN(f->a, "SRANDMEMBER", "big", "-30"); /* repeats allowed, by picks */
    assert_int_equal(r->n, 30);
    r = RUN(f->a, "SRANDMEMBER", "big", "-1000"); /* a pass over sorted ranks */
    assert_int_equal(r->n, 1000);
    for (long long i = 0; i < r->n; i += 97)
        expect_int(RUN(f->b, "SISMEMBER", "big", r->elem[i]->str), 1);
    r = RUN(f->a, "SPOP", "big", "25");
    assert_int_equal(r->n, 25);
    for (long long i = 0; i < r->n; i++)
        expect_int(RUN(f->b, "SISMEMBER", "big", r->elem[i]->str), 0);
    expect_int(RUN(f->a, "SCARD", "big"), N - 25);

    r = RUN(f->a, "HRANDFIELD", "wide", "15", "WITHVALUES");
    assert_int_equal(r->n, 30);
    for (long long i = 0; i < r->n; i += 2) {
        assert_string_equal(r->elem[i]->str, r->elem[i + 1]->str);
        assert_int_equal(count_of(r, r->elem[i]->str), 2);
    }
    r = RUN(f->a, "HRANDFIELD", "wide", "-40", "WITHVALUES");
    assert_int_equal(r->n, 80);
    for (long long i = 0; i < r->n; i += 2)
        assert_string_equal(r->elem[i]->str, r->elem[i + 1]->str);
    one = RUN(f->a, "HRANDFIELD", "wide");
    expect_int(RUN(f->b, "HEXISTS", "wide", one->str), 1);
}

/* --- SCAN and its siblings: every element exactly once across the pages -------- */

/* Runs SCAN (key NULL) or HSCAN/SSCAN/ZSCAN key until the cursor is 0,
 * counting how often each of n names ("e0000".."e<n-1>") came back. */
static void scan_all(fixture *f, const char *cmd, const char *key, const char *pattern, int n, int *seen)
{
    char cursor[32] = "0";
    int pages = 0, pairs = key && strcmp(cmd, "SSCAN") != 0;
    do {
        const char *argv[8];
        int argc = 0;
        argv[argc++] = cmd;
        if (key)
            argv[argc++] = key;
        argv[argc++] = cursor;
        argv[argc++] = "COUNT";
        argv[argc++] = "7";
        if (pattern) {
            argv[argc++] = "MATCH";
            argv[argc++] = pattern;
        }
        reply *r = run_argv(f, f->a, argc, argv);
        assert_int_equal(r->type, '*');
        assert_int_equal(r->n, 2);
        assert_int_equal(r->elem[0]->type, '$');
        snprintf(cursor, sizeof cursor, "%s", r->elem[0]->str);
        reply *items = r->elem[1];
        for (long long i = 0; i < items->n; i += pairs ? 2 : 1) {
            const char *name = items->elem[i]->str;
            assert_int_equal(name[0], 'e');
            int k = atoi(name + 1);
            assert_true(k >= 0 && k < n);
            seen[k]++;
        }
        assert_true(++pages < 10 * n);
    } while (strcmp(cursor, "0") != 0);
}

static void test_scan(void **state)
{
    fixture *f = *state;
    enum { N = 500 };
    char name[16], score[16];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "e%04d", i);
        snprintf(score, sizeof score, "%d", i % 37);
        RUN(f->a, "SET", name, "v");
        RUN(f->a, "HSET", "hash", name, "v");
        RUN(f->a, "SADD", "set", name);
        RUN(f->a, "ZADD", "zset", score, name);
    }
    static const char *const cmds[][2] = {{"SCAN", NULL}, {"HSCAN", "hash"}, {"SSCAN", "set"}, {"ZSCAN", "zset"}};
    for (size_t c = 0; c < 4; c++) {
        int seen[N] = {0};
        /* (SCAN: the collections' own names do not match e*) */
        scan_all(f, cmds[c][0], cmds[c][1], "e*", N, seen);
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], 1);

        /* a pattern: only the matching ones, each once */
        memset(seen, 0, sizeof seen);
        scan_all(f, cmds[c][0], cmds[c][1], "e00[0-4]?", N, seen);
        for (int i = 0; i < N; i++)
            assert_int_equal(seen[i], i < 50 ? 1 : 0);
    }
    /* the empty name is an element like any other: one page at a time,
     * the scan still ends and returns it once */
    RUN(f->a, "SADD", "withempty", "", "a", "b");
    RUN(f->a, "SET", "", "empty key");
    static const char *const scans[][2] = {{"SSCAN", "withempty"}, {"SCAN", NULL}};
    for (size_t s = 0; s < 2; s++) {
        char cursor[32] = "0";
        int pages = 0, empties = 0;
        do {
            reply *r = scans[s][1] ? RUN(f->a, scans[s][0], scans[s][1], cursor, "COUNT", "1")
                                   : RUN(f->a, scans[s][0], cursor, "COUNT", "1");
            snprintf(cursor, sizeof cursor, "%s", r->elem[0]->str);
            empties += count_of(r->elem[1], "");
            assert_true(++pages < 3000);
        } while (strcmp(cursor, "0") != 0);
        assert_int_equal(empties, 1);
    }

    /* a small collection comes back in one page with cursor 0 */
    RUN(f->a, "SADD", "small", "e0001", "e0002");
    reply *r = RUN(f->a, "SSCAN", "small", "0");
    expect_bulk(r->elem[0], "0");
    assert_int_equal(r->elem[1]->n, 2);
    expect_error(RUN(f->a, "SCAN", "notanumber"), "ERR invalid cursor");
    expect_error(RUN(f->a, "SSCAN", "hash", "0"), "WRONGTYPE");
    /* a scan of a missing key is empty and done */
    r = RUN(f->a, "HSCAN", "nothing", "0");
    expect_bulk(r->elem[0], "0");
    assert_int_equal(r->elem[1]->n, 0);
}

static void test_randomkey(void **state)
{
    fixture *f = *state;
    expect_null(RUN(f->a, "RANDOMKEY"));
    RUN(f->a, "SET", "only", "1");
    expect_bulk(RUN(f->a, "RANDOMKEY"), "only");
    RUN(f->a, "SET", "other", "2");
    int seen_only = 0, seen_other = 0;
    for (int i = 0; i < 200; i++) {
        reply *r = RUN(f->a, "RANDOMKEY");
        seen_only += !strcmp(r->str, "only");
        seen_other += !strcmp(r->str, "other");
    }
    assert_int_equal(seen_only + seen_other, 200);
    assert_true(seen_only > 0 && seen_other > 0); /* (1/2)^199 to fail by chance */
}

/* --- MULTI, EXEC, WATCH ---------------------------------------------------------- */

static void test_multi_exec(void **state)
{
    fixture *f = *state;
    expect_status(RUN(f->a, "MULTI"), "OK");
    expect_status(RUN(f->a, "SET", "k", "1"), "QUEUED");
    expect_status(RUN(f->a, "INCR", "k"), "QUEUED");
    expect_null(RUN(f->b, "GET", "k")); /* nothing ran yet */
    reply *r = RUN(f->a, "EXEC");
    assert_int_equal(r->n, 2);
    expect_status(r->elem[0], "OK");
    expect_int(r->elem[1], 2);
    expect_bulk(RUN(f->b, "GET", "k"), "2");

    /* an error while queueing aborts EXEC */
    RUN(f->a, "MULTI");
    RUN(f->a, "SET", "k", "3");
    expect_error(RUN(f->a, "SET"), "ERR wrong number of arguments");
    expect_error(RUN(f->a, "EXEC"), "EXECABORT");
    expect_bulk(RUN(f->b, "GET", "k"), "2");
    expect_error(RUN(f->a, "EXEC"), "ERR EXEC without MULTI");
}

static void test_watch(void **state)
{
    fixture *f = *state;
    RUN(f->a, "SET", "balance", "10");
    RUN(f->a, "HSET", "profile", "name", "ada");

    /* untouched: EXEC runs */
    expect_status(RUN(f->a, "WATCH", "balance"), "OK");
    RUN(f->a, "MULTI");
    RUN(f->a, "INCRBY", "balance", "5");
    reply *r = RUN(f->a, "EXEC");
    assert_int_equal(r->type, '*');
    expect_int(r->elem[0], 15);

    /* another client writes a watched string: EXEC aborts, nothing runs */
    RUN(f->a, "WATCH", "balance", "unrelated");
    expect_int(RUN(f->b, "INCRBY", "balance", "100"), 115);
    RUN(f->a, "MULTI");
    RUN(f->a, "SET", "balance", "0");
    expect_null(RUN(f->a, "EXEC"));
    expect_bulk(RUN(f->b, "GET", "balance"), "115");

    /* a field written in a watched hash; a watched key deleted; a watched
     * key that did not exist created: each aborts */
    const char *const writes[][4] = {{"HSET", "profile", "name", "bob"},
                                     {"DEL", "profile", NULL, NULL},
                                     {"RPUSH", "fresh", "x", NULL}};
    for (size_t i = 0; i < 3; i++) {
        const char *key = writes[i][1];
        RUN(f->a, "WATCH", key);
        int argc = writes[i][3] ? 4 : writes[i][2] ? 3 : 2;
        run_argv(f, f->b, argc, (const char **)writes[i]);
        RUN(f->a, "MULTI");
        RUN(f->a, "GET", "balance");
        expect_null(RUN(f->a, "EXEC"));
    }

    /* a write to another key, or after UNWATCH, does not */
    RUN(f->a, "WATCH", "balance");
    RUN(f->b, "SET", "elsewhere", "1");
    RUN(f->a, "MULTI");
    RUN(f->a, "GET", "balance");
    r = RUN(f->a, "EXEC");
    assert_int_equal(r->n, 1);
    RUN(f->a, "WATCH", "balance");
    RUN(f->a, "UNWATCH");
    RUN(f->b, "SET", "balance", "1");
    RUN(f->a, "MULTI");
    RUN(f->a, "GET", "balance");
    r = RUN(f->a, "EXEC");
    assert_int_equal(r->n, 1);
    expect_bulk(r->elem[0], "1");

    /* one command writing more keys than are noted one by one (MSET of
     * 1500): the watched one among them still aborts EXEC */
    {
        const char *argv[1 + 2 * 1500];
        char names[1500][16];
        int argc = 0;
        argv[argc++] = "MSET";
        for (int i = 0; i < 1500; i++) {
            snprintf(names[i], sizeof names[i], i == 1499 ? "balance" : "bulk%d", i);
            argv[argc++] = names[i];
            argv[argc++] = "v";
        }
        RUN(f->a, "WATCH", "balance");
        db_client *big = db_client_new(f->d, NULL);
        size_t lens[1 + 2 * 1500];
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        db_exec(big, argc, argv, lens);
        assert_int_equal(db_commit(f->d), 0);
        expect_status(take_reply(f, big), "OK");
        db_client_free(big);
        RUN(f->a, "MULTI");
        RUN(f->a, "GET", "balance");
        expect_null(RUN(f->a, "EXEC"));
    }

    /* a watcher that leaves is forgotten; the others still learn */
    db_client *c = db_client_new(f->d, NULL);
    RUN(c, "WATCH", "balance");
    RUN(f->a, "WATCH", "balance");
    db_client_free(c);
    RUN(f->b, "SET", "balance", "2");
    RUN(f->a, "MULTI");
    RUN(f->a, "GET", "balance");
    expect_null(RUN(f->a, "EXEC"));
}

/* --- versions ------------------------------------------------------------------ */

static void test_versions(void **state)
{
    fixture *f = *state;
    RUN(f->a, "SET", "doc", "first");
    RUN(f->a, "SADD", "tags", "a");
    reply *v = RUN(f->a, "MM.BACKUP");
    assert_int_equal(v->type, ':');
    char ver[32];
    snprintf(ver, sizeof ver, "v@%lld", v->n);

    RUN(f->a, "SET", "doc", "second");
    RUN(f->a, "SADD", "tags", "b");
    RUN(f->a, "SET", "later", "1");
    reply *list = RUN(f->a, "MM.VERSIONS");
    assert_int_equal(list->n, 1);
    expect_int(list->elem[0]->elem[0], v->n);

    /* the version reads as it was; it refuses writes */
    expect_status(RUN(f->b, "SELECT", ver), "OK");
    expect_bulk(RUN(f->b, "GET", "doc"), "first");
    EXPECT_BULKS(RUN(f->b, "SMEMBERS", "tags"), "a");
    expect_int(RUN(f->b, "EXISTS", "later"), 0);
    expect_error(RUN(f->b, "SET", "doc", "x"), "READONLY");
    /* the current database moved on */
    expect_bulk(RUN(f->a, "GET", "doc"), "second");
    expect_error(RUN(f->a, "SELECT", "v@999"), "ERR no such version");

    expect_status(RUN(f->b, "SELECT", "0"), "OK");
    expect_bulk(RUN(f->b, "GET", "doc"), "second");
    reply *removed = RUN(f->a, "MM.DROPVERSION", ver + 2); /* the entries only it saw */
    assert_int_equal(removed->type, ':');
    assert_true(removed->n >= 1);
    expect_error(RUN(f->b, "SELECT", ver), "ERR no such version");
    assert_int_equal(RUN(f->a, "MM.VERSIONS")->n, 0);
    expect_bulk(RUN(f->a, "GET", "doc"), "second");
}

/* --- the embedding API ---------------------------------------------------------- */

static void test_command_flags(void **state)
{
    (void)state;
    assert_true(db_command_embeddable("GET", 3));
    assert_true(db_command_embeddable("zadd", 4));
    assert_false(db_command_embeddable("BLPOP", 5));
    assert_false(db_command_embeddable("multi", 5));
    assert_false(db_command_embeddable("select", 6));
    assert_false(db_command_embeddable("config", 6));
    assert_false(db_command_embeddable("mm.create", 9));
    assert_false(db_command_embeddable("nosuch", 6));
    assert_true(db_command_writes("set", 3));
    assert_true(db_command_writes("HDEL", 4));
    assert_false(db_command_writes("get", 3));
    assert_false(db_command_writes("scan", 4));
}

/* --- readers: reads on another thread, beside the writer ---------------------------- */

/* Runs one command in a reader (no commit: a reader has no batch). */
static reply *read_argv(db_client *r, int argc, const char **argv)
{
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    db_reader_exec(r, argc, argv, lens);
    free(lens);
    return take_reply(NULL, r);
}

#define READ(r, ...)                                                                                                   \
    read_argv((r), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__})

typedef struct {
    fixture *f;
    char got[64];
} reader_run;

/* On a thread of its own, as an HTTP worker: GET k in a new reader. */
static void *read_k(void *arg)
{
    reader_run *run = arg;
    char err[256];
    db_client *r = db_reader_new(run->f->d, "", err, sizeof err);
    if (!r)
        return NULL;
    reply *x = READ(r, "GET", "k");
    snprintf(run->got, sizeof run->got, "%s", x && x->type == '$' && x->str ? x->str : x && x->type == '$' ? "(nil)" : "?");
    db_reader_free(r);
    return NULL;
}

static void test_reader(void **state)
{
    fixture *f = *state;
    expect_status(RUN(f->a, "SET", "k", "committed"), "OK");
    expect_int(RUN(f->a, "HSET", "h", "f", "1"), 1);
    expect_status(RUN(f->a, "SET", "soon", "x", "PX", "1"), "OK");
    usleep(5000);
    char err[256];
    db_client *r = db_reader_new(f->d, "", err, sizeof err);
    assert_non_null(r);
    expect_status(READ(r, "SELECT", "0"), "OK");
    expect_bulk(READ(r, "GET", "k"), "committed");
    expect_bulk(READ(r, "HGET", "h", "f"), "1");
    expect_null(READ(r, "GET", "soon")); /* expired: absent for a reader too */
    /* what a reader may not run answers an error; nothing changed */
    expect_error(READ(r, "SET", "k", "by a reader"), "ERR 'SET' does not run in a reader");
    expect_error(READ(r, "SCAN", "0"), "ERR 'SCAN' does not run in a reader");
    expect_bulk(RUN(f->b, "GET", "k"), "committed");
    /* a reader reads the snapshot it began with */
    expect_status(RUN(f->a, "SET", "k", "newer"), "OK");
    expect_bulk(READ(r, "GET", "k"), "committed");
    db_reader_free(r);

    /* beside a batch still open on the writer: the last commit, not the batch */
    const char *argv[] = {"SET", "k", "uncommitted"};
    size_t lens[] = {3, 1, 11};
    db_exec(f->a, 3, argv, lens);
    reader_run run = {f, ""};
    pthread_t t;
    pthread_create(&t, NULL, read_k, &run);
    pthread_join(t, NULL);
    assert_string_equal(run.got, "newer");
    assert_int_equal(db_commit(f->d), 0);
    expect_status(take_reply(f, f->a), "OK");
    pthread_create(&t, NULL, read_k, &run);
    pthread_join(t, NULL);
    assert_string_equal(run.got, "uncommitted");

    assert_true(db_command_reads_anywhere("GET", 3));
    assert_true(db_command_reads_anywhere("zrange", 6));
    assert_false(db_command_reads_anywhere("SET", 3));
    assert_false(db_command_reads_anywhere("SCAN", 4));
    assert_false(db_command_reads_anywhere("SRANDMEMBER", 11));
    assert_false(db_command_reads_anywhere("BLPOP", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_pop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampling_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_randomkey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_exec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test(test_command_flags),
        cmocka_unit_test_setup_teardown(test_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
