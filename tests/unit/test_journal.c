/* Versions between two nodes' stores (runtime/sync/versions.c, modules/db
 * journal.c): two LMDB environments, an author's and a follower's. The
 * author writes, backs up and exports; the follower applies; then every
 * version reads the same on both. And what must be refused is: a journal
 * that skips a version, an entry outside its version, a tampered block,
 * hostile version blocks, the internal command from an ordinary client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "sync.h"

#include <dirent.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- replies, flattened into text to compare ----------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} text;

/* not inlined: GCC's Release build then guesses an impossible length */
__attribute__((noinline)) static void text_add(text *t, const void *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* Copies one RESP2 reply at *p into t (as it is), moving *p past it. */
static void take_one(const char **p, const char *end, text *t)
{
    const char *s = *p;
    const char *crlf = memmem(s, (size_t)(end - s), "\r\n", 2);
    assert_non_null(crlf);
    *p = crlf + 2;
    long long n = strtoll(s + 1, NULL, 10);
    if (*s == '$' && n >= 0)
        *p += n + 2;
    text_add(t, s, (size_t)(*p - s));
    if (*s == '*')
        for (long long i = 0; i < n; i++)
            take_one(p, end, t);
}

/* --- one side: a db and a content store in one LMDB environment ------------------- */

typedef struct {
    char dir[64];
    node n;
    db_client *c;
} side;

static int select_hook(void *arg, db_client *c, const char *target, uint32_t *dbno, uint32_t *version, int *may_write,
                       char *err, size_t errlen)
{
    db *d = arg;
    char mid[64];
    snprintf(mid, sizeof mid, "%s", target);
    *version = 0;
    *may_write = 1;
    *dbno = db_default(d);
    if (!strcmp(mid, "0"))
        return 0;
    char *at = strchr(mid, '@');
    if (at) {
        *at = '\0';
        *version = (uint32_t)strtoul(at + 1, NULL, 10);
        *may_write = 0;
    }
    if (!db_mimei_lookup(c, mid, NULL, dbno) || (*version && !db_version_exists(c, *dbno, *version))) {
        snprintf(err, errlen, "ERR no such database or version");
        return -1;
    }
    return 0;
}

static side *side_open(void)
{
    side *s = calloc(1, sizeof *s);
    strcpy(s->dir, "/tmp/leither-journal-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char err[256];
    s->n.db = db_open(s->dir, DB_SYNC_NO, err, sizeof err);
    assert_non_null(s->n.db);
    s->n.bs = bs_open(db_lmdb(s->n.db), err, sizeof err);
    assert_non_null(s->n.bs);
    db_hooks hooks = {.arg = s->n.db, .select = select_hook};
    db_set_hooks(s->n.db, &hooks);
    s->c = db_client_new(s->n.db, NULL);
    return s;
}

static void side_close(side *s)
{
    bs_close(s->n.bs);
    db_close(s->n.db);
    DIR *dir = opendir(s->dir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        char path[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(s->dir);
    free(s);
}

/* Runs one command (argv with lengths) and returns its reply as text. */
static char *run_len(side *s, db_client *c, int argc, const char **argv, const size_t *lens)
{
    db_exec(c, argc, argv, lens);
    assert_int_equal(db_commit(s->n.db), 0);
    size_t len;
    const char *out = db_output(c, &len);
    text t = {0};
    text_add(&t, "", 0);
    const char *p = out;
    if (len)
        take_one(&p, out + len, &t);
    db_output_consumed(c, len);
    return t.buf;
}

static char *run(side *s, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return run_len(s, s->c, argc, argv, lens);
}

#define RUN(s, ...) run((s), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), (const char *[]){__VA_ARGS__})

static void expect(char *got, const char *want)
{
    assert_string_equal(got, want);
    free(got);
}

static void expect_prefix(char *got, const char *want)
{
    if (strncmp(got, want, strlen(want)))
        fail_msg("expected a reply starting \"%s\", got \"%s\"", want, got);
    free(got);
}

/* A signed info record of a new MiMei, registered on s (dbno out). */
static json_t *new_mimei(const ids_key *key, const char *type)
{
    return mimei_new(key, type, "", "", MIMEI_RIGHT_READ);
}

static uint32_t register_on(side *s, const json_t *info)
{
    char *t = json_dumps(info, JSON_COMPACT), err[256];
    uint32_t dbno;
    assert_int_equal(db_mimei_register(s->n.db, mimei_str(info, "ID"), t, &dbno, err, sizeof err), 0);
    free(t);
    return dbno;
}

/* Everything a client reads of a database (at a version): every key in
 * order with its type, TTL-less content, as replies. */
static char *dump(side *s, const char *target)
{
    text out = {0};
    text_add(&out, "", 0);
    expect(RUN(s, "SELECT", target), "+OK\r\n");
    char *keys = RUN(s, "KEYS", "*");
    /* the keys, sorted, out of the array reply */
    const char *p = keys;
    long long n = strtoll(p + 1, NULL, 10);
    p = strstr(p, "\r\n") + 2;
    char **names = calloc((size_t)n + 1, sizeof *names);
    size_t *lens = calloc((size_t)n + 1, sizeof *lens);
    for (long long i = 0; i < n; i++) {
        long long l = strtoll(p + 1, NULL, 10);
        p = strstr(p, "\r\n") + 2;
        names[i] = malloc((size_t)l + 1);
        memcpy(names[i], p, (size_t)l);
        lens[i] = (size_t)l;
        p += l + 2;
    }
    free(keys);
    for (long long i = 0; i < n; i++) { /* KEYS is in key order: the store's */
        const char *type_argv[] = {"TYPE", names[i]};
        size_t type_lens[] = {4, lens[i]};
        char *type = run_len(s, s->c, 2, type_argv, type_lens);
        text_add(&out, names[i], lens[i]);
        text_add(&out, type, strlen(type));
        const char *argv[5] = {NULL, names[i], NULL, NULL, NULL};
        size_t al[5] = {0, lens[i], 0, 0, 0};
        int argc = 2;
        if (!strcmp(type, "+string\r\n"))
            argv[0] = "GET";
        else if (!strcmp(type, "+hash\r\n"))
            argv[0] = "HGETALL";
        else if (!strcmp(type, "+set\r\n"))
            argv[0] = "SMEMBERS";
        else if (!strcmp(type, "+list\r\n"))
            argv[0] = "LRANGE", argv[2] = "0", argv[3] = "-1", argc = 4;
        else if (!strcmp(type, "+zset\r\n"))
            argv[0] = "ZRANGE", argv[2] = "0", argv[3] = "-1", argv[4] = "WITHSCORES", argc = 5;
        else
            fail_msg("unexpected type %s", type);
        for (int k = 0; k < argc; k++)
            if (k != 1)
                al[k] = strlen(argv[k]);
        char *content = run_len(s, s->c, argc, argv, al);
        text_add(&out, content, strlen(content));
        free(content);
        free(type);
        free(names[i]);
    }
    free(names);
    free(lens);
    return out.buf;
}

/* --- journals in memory -------------------------------------------------------- */

static int to_text(void *arg, const void *bytes, size_t len)
{
    text_add(arg, bytes, len);
    return 0;
}

static text export(side *s, uint32_t dbno, uint32_t after, uint32_t upto, uint64_t *records)
{
    text t = {0};
    text_add(&t, "", 0);
    char err[256];
    assert_int_equal(db_journal_export(s->n.db, dbno, after, upto, to_text, &t, records, err, sizeof err), 0);
    return t;
}

/* MM.APPLYJOURNAL as the node runs it (an internal client); its reply. */
static char *apply(side *s, const char *mid, uint32_t prev, uint32_t ver, uint64_t records, const void *stream,
                   size_t len)
{
    db_client *c = db_client_new(s->n.db, NULL);
    db_client_set_internal(c, 1);
    char p[16], v[16], r[24];
    snprintf(p, sizeof p, "%u", prev);
    snprintf(v, sizeof v, "%u", ver);
    snprintf(r, sizeof r, "%llu", (unsigned long long)records);
    const char *argv[] = {"MM.APPLYJOURNAL", mid, p, v, "1700000000000", r, stream};
    size_t lens[] = {15, strlen(mid), strlen(p), strlen(v), 13, strlen(r), len};
    char *reply = run_len(s, c, 7, argv, lens);
    db_client_free(c);
    return reply;
}

/* --- the author's writes --------------------------------------------------------- */

static uint64_t rng = 0x13;
static uint32_t next_rand(uint32_t below)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33) % below;
}

/* One random write: strings (some expiring, some long, some with NUL
 * bytes and long names), hashes, lists, sets, zsets, deletes. */
static void random_write(side *s)
{
    char key[300], field[32], val[64], score[32];
    int kind = (int)next_rand(9);
    unsigned k = next_rand(400);
    if (next_rand(50) == 0) /* a name past the store's 128-byte part limit */
        snprintf(key, sizeof key, "long:%0200u", k);
    else
        snprintf(key, sizeof key, "%c:%u", "shlzsdxel"[kind], k);
    snprintf(field, sizeof field, "f%u", next_rand(30));
    snprintf(val, sizeof val, "v%u", next_rand(100000));
    snprintf(score, sizeof score, "%u.5", next_rand(1000));
    char *r = NULL;
    switch (kind) {
    case 0:
        r = RUN(s, "SET", key, val);
        break;
    case 1:
        r = RUN(s, "HSET", key, field, val);
        break;
    case 2:
        r = next_rand(3) ? RUN(s, "RPUSH", key, val) : RUN(s, "LPOP", key);
        break;
    case 3:
        r = next_rand(4) ? RUN(s, "ZADD", key, score, field) : RUN(s, "ZREM", key, field);
        break;
    case 4:
        r = next_rand(4) ? RUN(s, "SADD", key, field) : RUN(s, "SREM", key, field);
        break;
    case 5:
        r = RUN(s, "DEL", key);
        break;
    case 6: /* gone in a few ms: expired by the author's tick or on read */
        r = RUN(s, "SET", key, val, "PX", next_rand(2) ? "1" : "100000");
        break;
    case 7:
        r = RUN(s, "HDEL", key, field);
        break;
    default: { /* a value with NUL bytes */
        const char *argv[] = {"SET", key, "a\0b\0c"};
        size_t lens[] = {3, strlen(key), 5};
        r = run_len(s, s->c, 3, argv, lens);
    }
    }
    free(r);
}

/* --- tests ----------------------------------------------------------------------- */

/* 10,000 writes and five backups on the author; each version's journal
 * applied on the follower; every version reads the same on both, and
 * holds the same entries. */
static void test_versions_read_the_same(void **state)
{
    (void)state;
    side *a = side_open(), *b = side_open();
    ids_key key;
    ids_key_generate(&key);
    json_t *info = new_mimei(&key, "db"), *other = new_mimei(&key, "db");
    const char *mid = mimei_str(info, "ID");
    uint32_t dbno_a = register_on(a, info);
    register_on(b, other); /* the follower numbers its databases its own way */
    uint32_t dbno_b = register_on(b, info);
    assert_int_not_equal(dbno_a, dbno_b);
    expect(RUN(a, "SELECT", mid), "+OK\r\n");
    uint32_t versions[5], nv = 0;
    for (int i = 1; i <= 10000; i++) {
        random_write(a);
        if (i % 500 == 0)
            db_tick(a->n.db); /* expires keys: tombstones in the journal */
        if (i % 2000 == 0) {
            char *r = RUN(a, "MM.BACKUP");
            versions[nv++] = (uint32_t)strtoul(r + 1, NULL, 10);
            free(r);
        }
    }
    /* a big value spans journal blocks on the way (versions.c cuts them) */
    char *big = malloc(300000);
    memset(big, 'x', 300000);
    const char *argv[] = {"SET", "big", big};
    size_t lens[] = {3, 3, 300000};
    free(run_len(a, a->c, 3, argv, lens));
    free(big);
    free(RUN(a, "SET", "after-the-last-backup", "1")); /* cur only: not in any journal */
    assert_int_equal(db_version_last(a->n.db, dbno_a), versions[4]);

    uint32_t prev = 0;
    for (uint32_t i = 0; i < nv; i++) {
        uint64_t records;
        text j = export(a, dbno_a, prev, versions[i], &records);
        assert_true(records > 0);
        char want[32];
        snprintf(want, sizeof want, ":%u\r\n", versions[i]);
        expect(apply(b, mid, prev, versions[i], records, j.buf, j.len), want);
        free(j.buf);
        prev = versions[i];
    }
    assert_int_equal(db_version_last(b->n.db, dbno_b), versions[4]);
    for (uint32_t i = 0; i < nv; i++) {
        char target[64];
        snprintf(target, sizeof target, "%s@%u", mid, versions[i]);
        char *da = dump(a, target), *dbb = dump(b, target);
        assert_true(strlen(da) > 1000);
        if (strcmp(da, dbb)) {
            FILE *fa = fopen("/tmp/journal-a.txt", "w"), *fb = fopen("/tmp/journal-b.txt", "w");
            fputs(da, fa), fputs(dbb, fb);
            fclose(fa), fclose(fb);
            fail_msg("version %u reads differently on the follower (/tmp/journal-[ab].txt)", versions[i]);
        }
        free(da);
        free(dbb);
        uint64_t ra, rb;
        text ea = export(a, dbno_a, 0, versions[i], &ra), eb = export(b, dbno_b, 0, versions[i], &rb);
        assert_int_equal(ra, rb);
        assert_int_equal(ea.len, eb.len);
        assert_memory_equal(ea.buf, eb.buf, ea.len);
        free(ea.buf);
        free(eb.buf);
    }
    /* MM.VERSIONS lists the same versions at the same times... */
    expect(RUN(b, "SELECT", mid), "+OK\r\n");
    char *vb = RUN(b, "MM.VERSIONS");
    assert_non_null(strstr(vb, "*5\r\n"));
    free(vb);
    /* reading the follower's cur (which drops expired keys, as cur does)
     * leaves its versions as they were */
    free(dump(b, mid));
    char target[64];
    snprintf(target, sizeof target, "%s@%u", mid, versions[4]);
    char *da = dump(a, target), *dbb = dump(b, target);
    assert_string_equal(da, dbb);
    free(da);
    free(dbb);
    json_decref(info);
    json_decref(other);
    side_close(a);
    side_close(b);
}

/* Three versions on the author; the follower holds the first. */
typedef struct {
    side *a, *b;
    json_t *info;
    const char *mid;
    uint32_t dbno_a, dbno_b, v[3];
} pair;

static pair *pair_setup(void)
{
    pair *p = calloc(1, sizeof *p);
    p->a = side_open(), p->b = side_open();
    ids_key key;
    ids_key_generate(&key);
    p->info = new_mimei(&key, "db");
    p->mid = mimei_str(p->info, "ID");
    p->dbno_a = register_on(p->a, p->info);
    p->dbno_b = register_on(p->b, p->info);
    expect(RUN(p->a, "SELECT", p->mid), "+OK\r\n");
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 50; k++)
            random_write(p->a);
        char *r = RUN(p->a, "MM.BACKUP");
        p->v[i] = (uint32_t)strtoul(r + 1, NULL, 10);
        free(r);
    }
    uint64_t records;
    text j = export(p->a, p->dbno_a, 0, p->v[0], &records);
    char want[32];
    snprintf(want, sizeof want, ":%u\r\n", p->v[0]);
    expect(apply(p->b, p->mid, 0, p->v[0], records, j.buf, j.len), want);
    free(j.buf);
    return p;
}

static void pair_free(pair *p)
{
    json_decref(p->info);
    side_close(p->a);
    side_close(p->b);
    free(p);
}

/* Refused, and nothing of it applied: the follower still holds v[0]. */
static void expect_refused(pair *p, char *reply, const char *why)
{
    if (strncmp(reply, "-ERR", 4) || !strstr(reply, why))
        fail_msg("expected an error saying \"%s\", got \"%s\"", why, reply);
    free(reply);
    assert_int_equal(db_version_last(p->b->n.db, p->dbno_b), p->v[0]);
    uint64_t ra, rb;
    text ea = export(p->a, p->dbno_a, 0, p->v[0], &ra), eb = export(p->b, p->dbno_b, 0, UINT32_MAX, &rb);
    assert_int_equal(ea.len, eb.len); /* the follower's entries are still exactly version v[0]'s */
    assert_memory_equal(ea.buf, eb.buf, ea.len);
    free(ea.buf);
    free(eb.buf);
}

static void test_refused_journals(void **state)
{
    (void)state;
    pair *p = pair_setup();
    uint64_t r23, r13, r12;
    text j23 = export(p->a, p->dbno_a, p->v[1], p->v[2], &r23);
    text j13 = export(p->a, p->dbno_a, p->v[0], p->v[2], &r13);
    text j12 = export(p->a, p->dbno_a, p->v[0], p->v[1], &r12);
    /* a journal that skips a version: it follows v[1], the follower holds v[0] */
    expect_refused(p, apply(p->b, p->mid, p->v[1], p->v[2], r23, j23.buf, j23.len), "skips a version");
    /* entries outside their version: (v0, v2] presented as version v1 */
    expect_refused(p, apply(p->b, p->mid, p->v[0], p->v[1], r13, j13.buf, j13.len), "outside");
    /* a version not above the one held */
    expect_refused(p, apply(p->b, p->mid, 0, p->v[0], r12, j12.buf, j12.len), "not above");
    /* truncated, or holding another count than its version block says */
    expect_refused(p, apply(p->b, p->mid, p->v[0], p->v[1], r12, j12.buf, j12.len - 3), "truncated");
    expect_refused(p, apply(p->b, p->mid, p->v[0], p->v[1], r12 + 1, j12.buf, j12.len), "entries");
    /* a tampered entry: an unknown kind */
    text bad = {0};
    text_add(&bad, j12.buf, j12.len);
    bad.buf[1] = 'q';
    expect_refused(p, apply(p->b, p->mid, p->v[0], p->v[1], r12, bad.buf, bad.len), "unknown kind");
    free(bad.buf);
    /* the same journal in order applies */
    char want[32];
    snprintf(want, sizeof want, ":%u\r\n", p->v[1]);
    expect(apply(p->b, p->mid, p->v[0], p->v[1], r12, j12.buf, j12.len), want);
    free(j23.buf);
    free(j13.buf);
    free(j12.buf);
    pair_free(p);
}

/* An ordinary client, even the owner, cannot run the node's command, nor
 * see it listed. */
static void test_internal_command_hidden(void **state)
{
    (void)state;
    pair *p = pair_setup();
    expect_prefix(RUN(p->b, "MM.APPLYJOURNAL", p->mid, "1", "2", "0", "0", ""), "-ERR unknown command");
    expect(RUN(p->b, "COMMAND", "INFO", "mm.applyjournal"), "*1\r\n*-1\r\n");
    char *list = RUN(p->b, "COMMAND", "LIST");
    assert_null(strstr(list, "applyjournal"));
    free(list);
    pair_free(p);
}

/* The follower's own writes into its copy (a lazily expired key) are gone
 * once the next version is applied: that version is exactly the author's. */
static void test_local_writes_pruned(void **state)
{
    (void)state;
    pair *p = pair_setup();
    expect(RUN(p->b, "SELECT", p->mid), "+OK\r\n");
    free(RUN(p->b, "SET", "stray", "1")); /* as the author might on the follower's node */
    uint64_t r12;
    text j12 = export(p->a, p->dbno_a, p->v[0], p->v[1], &r12);
    free(apply(p->b, p->mid, p->v[0], p->v[1], r12, j12.buf, j12.len));
    free(j12.buf);
    uint64_t ra, rb;
    text ea = export(p->a, p->dbno_a, 0, p->v[1], &ra), eb = export(p->b, p->dbno_b, 0, UINT32_MAX, &rb);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.buf, eb.buf, ea.len);
    free(ea.buf);
    free(eb.buf);
    pair_free(p);
}

/* --- version blocks (versions.c) ---------------------------------------------------- */

static void expect_parse_refused(const char *block, const char *why)
{
    sync_version v;
    char err[256] = "";
    assert_int_equal(sync_version_parse((const uint8_t *)block, strlen(block), &v, err, sizeof err), -1);
    if (!strstr(err, why) || strchr(err, '\n'))
        fail_msg("for %s expected a reason with \"%s\", got \"%s\"", block, why, err);
}

#define MID "\"MID\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA\""
#define RAW "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

static void test_version_block_parse(void **state)
{
    (void)state;
    char ok[512];
    snprintf(ok, sizeof ok, "{\"Type\":\"version\"," MID ",\"Version\":3,\"Prev\":\"%s\",\"Time\":5,\"Journal\":[\"%s\"],\"Records\":2}",
             RAW, RAW);
    sync_version v;
    char err[256];
    if (sync_version_parse((const uint8_t *)ok, strlen(ok), &v, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(v.version, 3);
    assert_true(v.is_db && v.has_prev);
    assert_int_equal(v.njournal, 1);
    assert_int_equal(v.records, 2);
    sync_version_free(&v);

    expect_parse_refused("", "bytes");
    expect_parse_refused("[1]", "not a JSON object");
    expect_parse_refused("{\"Type\":\"version\"", "not JSON");
    expect_parse_refused("{\"Type\":\"head\"}", "Type");
    expect_parse_refused("{\"Type\":\"version\",\"MID\":\"x\"}", "MID");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":0,\"Prev\":\"\",\"Time\":1,\"Root\":\"" RAW "\"}",
                         "Version 0");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":4294967296,\"Prev\":\"\",\"Time\":1,\"Root\":\"" RAW "\"}",
                         "Version");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1.5,\"Prev\":\"\",\"Time\":1,\"Root\":\"" RAW "\"}",
                         "Version");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1,\"Prev\":\"\",\"Time\":-1,\"Root\":\"" RAW "\"}",
                         "Time");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1,\"Prev\":\"\",\"Time\":1}", "neither");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1,\"Prev\":\"\",\"Time\":1,\"Root\":\"" RAW
                         "\",\"Journal\":[],\"Records\":0}",
                         "both");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1,\"Prev\":\"\",\"Time\":1,\"Root\":\"Qmnope\"}", "Root");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":1,\"Prev\":\"\",\"Time\":1,\"Root\":\"" RAW "\",\"X\":1}",
                         "unknown field");
    expect_parse_refused("{\"Type\":\"version\",\"Type\":\"version\"}", "not JSON"); /* duplicate keys */
    /* a field name with a line break: the reason stays one line (found by fuzz_version) */
    expect_parse_refused("{\"Type\":\"version\",\"Jou\\nal\":1}", "unknown field \"Jou?al\"");
    /* a Prev that is not a version block (dag-pb) */
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":2,\"Prev\":\"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\","
                         "\"Time\":1,\"Root\":\"" RAW "\"}",
                         "raw CIDv1");
    expect_parse_refused("{\"Type\":\"version\"," MID ",\"Version\":2,\"Prev\":\"\",\"Time\":1,\"Journal\":[\"" RAW "\"]}",
                         "Records");
    /* too many journal blocks, too many bytes */
    text t = {0};
    const char *head = "{\"Type\":\"version\"," MID ",\"Version\":2,\"Prev\":\"\",\"Time\":1,\"Records\":0,\"Journal\":[";
    text_add(&t, head, strlen(head));
    for (int i = 0; i < 1093; i++)
        text_add(&t, i ? ",\"" RAW "\"" : "\"" RAW "\"", i ? strlen(RAW) + 3 : strlen(RAW) + 2);
    text_add(&t, "]}", 2);
    expect_parse_refused(t.buf, "bytes"); /* over SYNC_VERSION_BLOCK_MAX first */
    t.len = strlen(head);
    for (int i = 0; i < 1000; i++)
        text_add(&t, i ? "," : "", i ? 1 : 0), text_add(&t, "\"b\"", 3);
    text_add(&t, "]}", 2);
    expect_parse_refused(t.buf, "a Journal entry");
    free(t.buf);
}

/* Every block of a's LMDB environment into b's (what fetch.c does over
 * HTTP, each block re-hashed there). */
static void copy_blocks(side *a, side *b)
{
    MDB_txn *ta, *tb;
    MDB_dbi da, dbb;
    assert_int_equal(mdb_txn_begin(db_lmdb(a->n.db), NULL, MDB_RDONLY, &ta), 0);
    assert_int_equal(mdb_txn_begin(db_lmdb(b->n.db), NULL, 0, &tb), 0);
    assert_int_equal(mdb_dbi_open(ta, "blocks", 0, &da), 0);
    assert_int_equal(mdb_dbi_open(tb, "blocks", 0, &dbb), 0);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(ta, da, &cur), 0);
    MDB_val k, v;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0; op = MDB_NEXT)
        assert_int_equal(mdb_put(tb, dbb, &k, &v, 0), 0);
    mdb_cursor_close(cur);
    mdb_txn_abort(ta);
    assert_int_equal(mdb_txn_commit(tb), 0);
}

/* Flips a bit in the middle of block c on s (past its 8-byte write time). */
static void tamper(side *s, const cid *c)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t mh[MH_LEN];
    cid_multihash(c, mh);
    assert_int_equal(mdb_txn_begin(db_lmdb(s->n.db), NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "blocks", 0, &dbi), 0);
    MDB_val k = {MH_LEN, mh}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[8 + (v.mv_size - 8) / 2] ^= 0x10;
    MDB_val nv = {v.mv_size, copy};
    assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    free(copy);
}

static void put_version(side *s, const char *mid, const char *content)
{
    char err[256];
    cid c;
    cid_of_block(&c, 1, CID_CODEC_RAW, content, strlen(content));
    MDB_txn *txn = bs_begin(s->n.bs, 1, err, sizeof err);
    assert_non_null(txn);
    uint32_t ver;
    assert_int_equal(bs_put(s->n.bs, txn, &c, content, strlen(content), err, sizeof err), 0);
    assert_int_equal(files_setcid(s->n.bs, txn, mid, &c, &ver, err, sizeof err), 0);
    assert_int_equal(bs_commit(txn, err, sizeof err), 0);
}

static void expect_fail(int rc, const char *err, const char *why)
{
    assert_int_equal(rc, -1);
    if (!strstr(err, why) || strchr(err, '\n'))
        fail_msg("expected a reason with \"%s\", got \"%s\"", why, err);
}

/* A file MiMei's versions, made into blocks on the author and applied on
 * the follower: every version the same root, cur the newest. */
static void test_file_versions(void **state)
{
    (void)state;
    side *a = side_open(), *b = side_open();
    ids_key key;
    ids_key_generate(&key);
    json_t *info = new_mimei(&key, "file");
    const char *mid = mimei_str(info, "ID");
    register_on(a, info);
    char err[256];
    cid top, again;
    uint32_t ver;
    expect_fail(sync_version_block(&a->n, mid, &top, &ver, err, sizeof err), err, "backup first");
    put_version(a, mid, "one");
    put_version(a, mid, "two");
    put_version(a, mid, "three");
    assert_int_equal(sync_version_block(&a->n, mid, &top, &ver, err, sizeof err), 0);
    assert_int_equal(ver, 3);
    assert_int_equal(sync_version_block(&a->n, mid, &again, &ver, err, sizeof err), 0);
    assert_true(cid_equal(&top, &again)); /* made once */

    /* before the blocks are there: refused, nothing applied */
    expect_fail(sync_apply(&b->n, info, &top, err, sizeof err), err, "missing");
    assert_int_equal(sync_local_version(&b->n, mid), 0);
    copy_blocks(a, b);
    if (sync_apply(&b->n, info, &top, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sync_local_version(&b->n, mid), 3);
    MDB_txn *ta = bs_begin(a->n.bs, 0, err, sizeof err), *tb = bs_begin(b->n.bs, 0, err, sizeof err);
    for (uint32_t v = 0; v <= 3; v++) {
        cid ca, cb;
        assert_true(files_get(a->n.bs, ta, mid, v, &ca));
        assert_true(files_get(b->n.bs, tb, mid, v, &cb));
        assert_true(cid_equal(&ca, &cb));
    }
    mdb_txn_abort(ta);
    mdb_txn_abort(tb);
    expect_fail(sync_apply(&b->n, info, &top, err, sizeof err), err, "not above");

    /* a fourth version follows on from the third */
    put_version(a, mid, "four");
    assert_int_equal(sync_version_block(&a->n, mid, &top, &ver, err, sizeof err), 0);
    assert_int_equal(ver, 4);
    copy_blocks(a, b);
    if (sync_apply(&b->n, info, &top, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sync_local_version(&b->n, mid), 4);

    /* the chain of another MiMei is not this one's */
    json_t *other = new_mimei(&key, "file");
    expect_fail(sync_apply(&b->n, other, &top, err, sizeof err), err, "not of");
    json_decref(other);
    json_decref(info);
    side_close(a);
    side_close(b);
}

/* An app's server code is hidden on the follower from the moment its
 * version is applied, as on the author's node. */
static void test_app_code_hidden(void **state)
{
    (void)state;
    side *a = side_open(), *b = side_open();
    ids_key key;
    ids_key_generate(&key);
    json_t *info = new_mimei(&key, "app");
    const char *mid = mimei_str(info, "ID");
    register_on(a, info);
    char err[256];
    const char *code = "return function() end", *page = "<p>hi</p>";
    cid code_cid, page_cid, root, with_code, with_page;
    cid_of_block(&code_cid, 1, CID_CODEC_RAW, code, strlen(code));
    cid_of_block(&page_cid, 1, CID_CODEC_RAW, page, strlen(page));
    MDB_txn *txn = bs_begin(a->n.bs, 1, err, sizeof err);
    assert_int_equal(bs_put(a->n.bs, txn, &code_cid, code, strlen(code), err, sizeof err), 0);
    assert_int_equal(bs_put(a->n.bs, txn, &page_cid, page, strlen(page), err, sizeof err), 0);
    assert_int_equal(tree_empty(a->n.bs, txn, 1, &root, err, sizeof err), 0);
    assert_int_equal(tree_put(a->n.bs, txn, &root, "server/main.lua", &code_cid, strlen(code), &with_code, err, sizeof err), 0);
    assert_int_equal(tree_put(a->n.bs, txn, &with_code, "index.html", &page_cid, strlen(page), &with_page, err, sizeof err), 0);
    uint32_t ver;
    assert_int_equal(files_setcid(a->n.bs, txn, mid, &with_page, &ver, err, sizeof err), 0);
    assert_int_equal(bs_commit(txn, err, sizeof err), 0);
    cid top;
    assert_int_equal(sync_version_block(&a->n, mid, &top, &ver, err, sizeof err), 0);
    copy_blocks(a, b);
    if (sync_apply(&b->n, info, &top, err, sizeof err) != 0)
        fail_msg("%s", err);
    txn = bs_begin(b->n.bs, 0, err, sizeof err);
    assert_true(bs_is_hidden(b->n.bs, txn, &code_cid));
    assert_false(bs_is_hidden(b->n.bs, txn, &page_cid));
    mdb_txn_abort(txn);
    json_decref(info);
    side_close(a);
    side_close(b);
}

/* A database MiMei's version blocks: journals cut in blocks, applied by
 * sync_apply (in this process: it has no RESP writer); a tampered block
 * and a journal that skips a version are refused, nothing written. */
static void test_db_version_blocks(void **state)
{
    (void)state;
    side *a = side_open(), *b = side_open();
    ids_key key;
    ids_key_generate(&key);
    json_t *info = new_mimei(&key, "db");
    const char *mid = mimei_str(info, "ID");
    uint32_t dbno_a = register_on(a, info);
    expect(RUN(a, "SELECT", mid), "+OK\r\n");
    char *big = malloc(600000);
    randombytes_buf(big, 600000); /* journals travel deflated: bytes that do not shrink */
    const char *argv[] = {"SET", "big", big};
    size_t lens[] = {3, 3, 600000};
    free(run_len(a, a->c, 3, argv, lens));
    free(big);
    for (int i = 0; i < 200; i++)
        random_write(a);
    free(RUN(a, "MM.BACKUP"));
    for (int i = 0; i < 200; i++)
        random_write(a);
    free(RUN(a, "MM.BACKUP"));
    char err[256];
    cid top;
    uint32_t ver;
    if (sync_version_block(&a->n, mid, &top, &ver, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(ver, db_version_last(a->n.db, dbno_a));

    /* the newest version's block, and the first's through Prev */
    MDB_txn *txn = bs_begin(a->n.bs, 0, err, sizeof err);
    const uint8_t *data;
    size_t len;
    sync_version newest, first;
    assert_int_equal(bs_get(a->n.bs, txn, &top, &data, &len, err, sizeof err), 1);
    assert_int_equal(sync_version_parse(data, len, &newest, err, sizeof err), 0);
    assert_true(newest.is_db && newest.has_prev && newest.records > 0);
    assert_int_equal(bs_get(a->n.bs, txn, &newest.prev, &data, &len, err, sizeof err), 1);
    assert_int_equal(sync_version_parse(data, len, &first, err, sizeof err), 0);
    mdb_txn_abort(txn);
    assert_false(first.has_prev);
    assert_true(first.njournal >= 3); /* 600 kB of random value: three blocks */

    copy_blocks(a, b);
    tamper(b, &first.journal[1]);
    expect_fail(sync_apply(&b->n, info, &top, err, sizeof err), err, "version 1");
    assert_int_equal(sync_local_version(&b->n, mid), 0);
    copy_blocks(a, b); /* the right bytes again */
    if (sync_apply(&b->n, info, &top, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sync_local_version(&b->n, mid), newest.version);
    char target[64];
    for (int i = 0; i < 2; i++) {
        snprintf(target, sizeof target, "%s@%u", mid, i ? newest.version : first.version);
        char *da = dump(a, target), *dbb = dump(b, target);
        assert_string_equal(da, dbb);
        free(da);
        free(dbb);
    }
    expect_fail(sync_apply(&b->n, info, &top, err, sizeof err), err, "not above");

    /* a third version, and a forged block of it whose journal starts from
     * nothing: it skips the version the follower holds */
    expect(RUN(a, "SELECT", mid), "+OK\r\n");
    for (int i = 0; i < 100; i++)
        random_write(a);
    free(RUN(a, "MM.BACKUP"));
    uint32_t third = db_version_last(a->n.db, dbno_a);
    cid top3;
    assert_int_equal(sync_version_block(&a->n, mid, &top3, &ver, err, sizeof err), 0);
    assert_int_equal(ver, third);
    copy_blocks(a, b);
    txn = bs_begin(b->n.bs, 0, err, sizeof err);
    sync_version v3;
    assert_int_equal(bs_get(b->n.bs, txn, &top3, &data, &len, err, sizeof err), 1);
    assert_int_equal(sync_version_parse(data, len, &v3, err, sizeof err), 0);
    mdb_txn_abort(txn);
    text forged = {0};
    char line[256];
    snprintf(line, sizeof line, "{\"Type\":\"version\",\"MID\":\"%s\",\"Version\":%u,\"Prev\":\"\",\"Time\":1,"
             "\"Records\":%llu,\"Journal\":[", mid, third, (unsigned long long)v3.records);
    text_add(&forged, line, strlen(line));
    for (size_t i = 0; i < v3.njournal; i++) {
        char c[CID_TEXT_MAX];
        cid_format(&v3.journal[i], c);
        snprintf(line, sizeof line, "%s\"%s\"", i ? "," : "", c);
        text_add(&forged, line, strlen(line));
    }
    text_add(&forged, "]}", 2);
    cid forged_cid;
    cid_of_block(&forged_cid, 1, CID_CODEC_RAW, forged.buf, forged.len);
    txn = bs_begin(b->n.bs, 1, err, sizeof err);
    assert_int_equal(bs_put(b->n.bs, txn, &forged_cid, forged.buf, forged.len, err, sizeof err), 0);
    assert_int_equal(bs_commit(txn, err, sizeof err), 0);
    free(forged.buf);
    expect_fail(sync_apply(&b->n, info, &forged_cid, err, sizeof err), err, "skips a version");
    assert_int_equal(sync_local_version(&b->n, mid), newest.version);
    /* the real one follows on */
    if (sync_apply(&b->n, info, &top3, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(sync_local_version(&b->n, mid), third);
    snprintf(target, sizeof target, "%s@%u", mid, third);
    char *da = dump(a, target), *dbb = dump(b, target);
    assert_string_equal(da, dbb);
    free(da);
    free(dbb);

    /* a next version whose journal block hashes right but is no zlib
     * stream: refused, nothing applied */
    const char garbage[] = "not a deflated journal";
    cid garbage_cid, top3_again;
    cid_of_block(&garbage_cid, 1, CID_CODEC_RAW, garbage, sizeof garbage);
    char gtext[CID_TEXT_MAX], ptext[CID_TEXT_MAX];
    cid_format(&garbage_cid, gtext);
    cid_format(&top3, ptext);
    text bad = {0};
    snprintf(line, sizeof line,
             "{\"Type\":\"version\",\"MID\":\"%s\",\"Version\":%u,\"Prev\":\"%s\",\"Time\":1,"
             "\"Records\":1,\"Journal\":[\"%s\"]}",
             mid, third + 1, ptext, gtext);
    text_add(&bad, line, strlen(line));
    cid_of_block(&top3_again, 1, CID_CODEC_RAW, bad.buf, bad.len);
    txn = bs_begin(b->n.bs, 1, err, sizeof err);
    assert_int_equal(bs_put(b->n.bs, txn, &garbage_cid, garbage, sizeof garbage, err, sizeof err), 0);
    assert_int_equal(bs_put(b->n.bs, txn, &top3_again, bad.buf, bad.len, err, sizeof err), 0);
    assert_int_equal(bs_commit(txn, err, sizeof err), 0);
    free(bad.buf);
    expect_fail(sync_apply(&b->n, info, &top3_again, err, sizeof err), err, "corrupt journal");
    assert_int_equal(sync_local_version(&b->n, mid), third);
    sync_version_free(&v3);
    sync_version_free(&newest);
    sync_version_free(&first);
    json_decref(info);
    side_close(a);
    side_close(b);
}

int main(void)
{
    ids_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_read_the_same),
        cmocka_unit_test(test_refused_journals),
        cmocka_unit_test(test_internal_command_hidden),
        cmocka_unit_test(test_local_writes_pruned),
        cmocka_unit_test(test_version_block_parse),
        cmocka_unit_test(test_file_versions),
        cmocka_unit_test(test_app_code_hidden),
        cmocka_unit_test(test_db_version_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
