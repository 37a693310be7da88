/*
 * crash_writer: a RESP client for the crash test (resp_crash_spec.lua).
 *
 *     crash_writer [--mixed] [--window] HOST PORT PREFIX COUNT [PIPELINE]
 *
 * Writes SET PREFIX:i i for i = 0..COUNT-1, PIPELINE commands at a time
 * (default 1), and prints i on stdout, one line each, as soon as the reply
 * +OK for it has been read: stdout is exactly the set of acknowledged
 * writes, flushed line by line so that none is lost when the node dies.
 *
 * PIPELINE commands are sent, then their PIPELINE replies read; with
 * --window, PIPELINE commands are kept in flight instead, each next one sent
 * on its own as soon as a reply comes in, so that the node often finds a
 * new command while it is still writing the previous reply.
 *
 * With --mixed, each i is four writes to four keys of different types:
 *
 *     INCR PREFIX:counter            (the reply must be i+1)
 *     RPUSH PREFIX:list i            (the reply must be i+1)
 *     HSET PREFIX:hash f<i> i        (the reply must be 1)
 *     ZADD PREFIX:zset i m<i>        (the reply must be 1)
 *
 * and i is printed once all four are acknowledged.
 *
 * A lost connection is expected (the node is killed): the writer then
 * stops and exits 0. A reply that is an error, or not the expected one,
 * exits 1 with a line on stderr; a bad command line exits 2.
 */
#include <hiredis/hiredis.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_PIPELINE 4096

static long long acknowledged;

static void lost(const redisContext *c)
{
    fprintf(stderr, "crash_writer: connection lost after %lld acknowledged: %s\n", acknowledged,
            c->errstr[0] ? c->errstr : "unknown error");
    exit(0);
}

static void bad_reply(const char *prefix, long long i, const char *what, const redisReply *r)
{
    if (r && (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING))
        fprintf(stderr, "crash_writer: %s:%lld: %s: unexpected reply type %d: %.*s\n", prefix, i, what, r->type,
                (int)r->len, r->str);
    else if (r && r->type == REDIS_REPLY_INTEGER)
        fprintf(stderr, "crash_writer: %s:%lld: %s: unexpected integer %lld\n", prefix, i, what, r->integer);
    else
        fprintf(stderr, "crash_writer: %s:%lld: %s: unexpected reply type %d\n", prefix, i, what, r ? r->type : -1);
    exit(1);
}

static long long parse_count(const char *s, const char *what, long long min)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min) {
        fprintf(stderr, "crash_writer: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

/* Reads one reply; a connection error ends the run. */
static redisReply *next_reply(redisContext *c)
{
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r)
        lost(c);
    return r;
}

static void expect_ok(const char *prefix, long long i, redisReply *r)
{
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0)
        bad_reply(prefix, i, "SET", r);
    freeReplyObject(r);
}

static void expect_integer(const char *prefix, long long i, const char *what, redisReply *r, long long want)
{
    if (r->type != REDIS_REPLY_INTEGER || r->integer != want)
        bad_reply(prefix, i, what, r);
    freeReplyObject(r);
}

static void append(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        lost(c);
}

/* Sends what append buffered now (redisGetReply would only when it reads). */
static void send_now(redisContext *c)
{
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            lost(c);
}

/* The commands of index i. */
static void append_index(redisContext *c, int mixed, const char *prefix, long long i)
{
    if (mixed) {
        append(c, "INCR %s:counter", prefix);
        append(c, "RPUSH %s:list %lld", prefix, i);
        append(c, "HSET %s:hash f%lld %lld", prefix, i, i);
        append(c, "ZADD %s:zset %lld m%lld", prefix, i, i);
    } else {
        append(c, "SET %s:%lld %lld", prefix, i, i);
    }
}

/* Reads and checks the replies of index i, then reports it acknowledged. */
static void read_index(redisContext *c, int mixed, const char *prefix, long long i)
{
    if (mixed) {
        expect_integer(prefix, i, "INCR", next_reply(c), i + 1);
        expect_integer(prefix, i, "RPUSH", next_reply(c), i + 1);
        expect_integer(prefix, i, "HSET", next_reply(c), 1);
        expect_integer(prefix, i, "ZADD", next_reply(c), 1);
    } else {
        expect_ok(prefix, i, next_reply(c));
    }
    printf("%lld\n", i);
    fflush(stdout);
    acknowledged++;
}

static void usage(void)
{
    fprintf(stderr, "usage: crash_writer [--mixed] [--window] HOST PORT PREFIX COUNT [PIPELINE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int mixed = 0, window = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--mixed") == 0)
            mixed = 1;
        else if (strcmp(argv[1], "--window") == 0)
            window = 1;
        else
            usage();
        argc--;
        argv++;
    }
    if (argc != 5 && argc != 6)
        usage();
    const char *host = argv[1], *prefix = argv[3];
    int port = (int)parse_count(argv[2], "port", 1);
    long long count = parse_count(argv[4], "count", 0);
    long long pipeline = argc == 6 ? parse_count(argv[5], "pipeline", 1) : 1;
    if (port > 65535 || pipeline > MAX_PIPELINE)
        usage();

    /* a write to a node that died is an error to handle, not a death */
    signal(SIGPIPE, SIG_IGN);

    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c) {
        fprintf(stderr, "crash_writer: cannot allocate a context\n");
        return 0;
    }
    if (c->err)
        lost(c);
    /* a node that stops answering without closing ends the run too */
    if (redisSetTimeout(c, tv) != REDIS_OK)
        lost(c);

    if (window) {
        long long sent = 0;
        for (; sent < count && sent < pipeline; sent++) {
            append_index(c, mixed, prefix, sent);
            send_now(c);
        }
        for (long long i = 0; i < count; i++) {
            read_index(c, mixed, prefix, i);
            if (sent < count) {
                append_index(c, mixed, prefix, sent++);
                send_now(c);
            }
        }
    } else {
        for (long long base = 0; base < count; base += pipeline) {
            long long n = count - base < pipeline ? count - base : pipeline;
            for (long long i = base; i < base + n; i++)
                append_index(c, mixed, prefix, i);
            for (long long i = base; i < base + n; i++)
                read_index(c, mixed, prefix, i);
        }
    }
    redisFree(c);
    return 0;
}
