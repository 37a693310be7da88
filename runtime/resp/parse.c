/* resp_parse: see resp_parse.h. */
#include "parse.h"

#include <hiredis/read.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_scan_init(resp_scan *s)
{
    s->elements = -1;
    s->scan = 0;
}

/* The number of a "*N\r\n" or "$N\r\n" header whose '\n' is at nl; -2 bad. */
static long long header_number(const char *buf, size_t at, size_t nl)
{
    if (nl < at + 2 || buf[nl - 1] != '\r')
        return -2;
    long long v = 0;
    size_t i = at + 1, end = nl - 1;
    int neg = i < end && buf[i] == '-';
    if (neg)
        i++;
    if (i == end || end - i > 18)
        return -2;
    for (; i < end; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -2;
        v = v * 10 + (buf[i] - '0');
    }
    return neg ? -v : v;
}

int resp_next(resp_scan *s, const char *buf, size_t len, size_t max_bulk, size_t *used, const char **error)
{
    static __thread char what[64];
    if (s->elements < 0) { /* a request starts here */
        if (len == 0)
            return RESP_MORE;
        const char *nl = memchr(buf, '\n', len);
        if (buf[0] != '*') {
            if (!nl) {
                if (len > RESP_MAX_INLINE) {
                    *error = "too big inline request";
                    return RESP_ERROR;
                }
                return RESP_MORE;
            }
            *used = (size_t)(nl - buf) + 1;
            return RESP_INLINE;
        }
        if (!nl) {
            if (len > RESP_MAX_INLINE) {
                *error = "too big mbulk count string";
                return RESP_ERROR;
            }
            return RESP_MORE;
        }
        long long count = header_number(buf, 0, (size_t)(nl - buf));
        if (count == -2 || count > RESP_MAX_MULTIBULK) {
            *error = "invalid multibulk length";
            return RESP_ERROR;
        }
        if (count <= 0) {
            *used = (size_t)(nl - buf) + 1;
            return RESP_EMPTY;
        }
        s->elements = count;
        s->scan = (size_t)(nl - buf) + 1;
    }
    while (s->elements > 0) { /* each "$len\r\n" + payload + "\r\n" */
        if (s->scan >= len)
            return RESP_MORE;
        if (buf[s->scan] != '$') {
            snprintf(what, sizeof what, "expected '$', got '%c'", buf[s->scan]);
            *error = what;
            return RESP_ERROR;
        }
        const char *nl = memchr(buf + s->scan, '\n', len - s->scan);
        if (!nl) {
            if (len - s->scan > RESP_MAX_INLINE) {
                *error = "too big bulk count string";
                return RESP_ERROR;
            }
            return RESP_MORE;
        }
        size_t at = (size_t)(nl - buf);
        long long blen = header_number(buf, s->scan, at);
        if (blen < 0 || (unsigned long long)blen > max_bulk) {
            *error = "invalid bulk length";
            return RESP_ERROR;
        }
        if (len - at - 1 < (size_t)blen + 2)
            return RESP_MORE; /* the payload has not all arrived */
        if (buf[at + 1 + (size_t)blen] != '\r' || buf[at + 2 + (size_t)blen] != '\n') {
            *error = "expected CRLF after the bulk";
            return RESP_ERROR;
        }
        s->scan = at + 1 + (size_t)blen + 2;
        s->elements--;
    }
    *used = s->scan;
    resp_scan_init(s);
    return RESP_MULTIBULK;
}

/* --- redisReader objects ------------------------------------------------- */

static void *make_array(const redisReadTask *task, int elements)
{
    if (task->parent || elements < 0 || elements > RESP_MAX_MULTIBULK)
        return NULL; /* resp_next refuses these before they get here */
    resp_request *r = calloc(1, sizeof *r);
    r->cap = elements;
    r->argv = calloc((size_t)(elements ? elements : 1), sizeof *r->argv);
    r->lens = calloc((size_t)(elements ? elements : 1), sizeof *r->lens);
    return r;
}

static void *make_string(const redisReadTask *task, char *str, size_t len)
{
    if (!task->parent)
        return NULL;
    resp_request *r = task->parent->obj;
    char *copy = malloc(len + 1);
    memcpy(copy, str, len);
    copy[len] = '\0';
    r->argv[task->idx] = copy;
    r->lens[task->idx] = len;
    if (task->idx + 1 > r->argc)
        r->argc = task->idx + 1;
    return copy;
}

static void *make_integer(const redisReadTask *task, long long v)
{
    (void)task, (void)v;
    return NULL;
}

static void *make_nil(const redisReadTask *task)
{
    (void)task;
    return NULL;
}

/* hiredis hands freeObject only whole replies (on errors): the strings
 * belong to their request */
static void free_object(void *p)
{
    resp_request *r = p;
    if (r) {
        resp_request_free(r);
        free(r);
    }
}

static redisReplyObjectFunctions functions = {make_string, make_array, make_integer, make_nil, free_object};

void *resp_reader_new(void) { return redisReaderCreateWithFunctions(&functions); }
void resp_reader_free(void *reader) { redisReaderFree(reader); }

int resp_build(void *reader, const char *buf, size_t len, resp_request *out)
{
    void *obj = NULL;
    memset(out, 0, sizeof *out);
    if (redisReaderFeed(reader, buf, len) != REDIS_OK || redisReaderGetReply(reader, &obj) != REDIS_OK || !obj) {
        free_object(obj);
        return -1;
    }
    *out = *(resp_request *)obj;
    free(obj);
    return 0;
}

/* The end of the inline argument starting at p[i]: where a blank outside
 * quotes is (or n), or -1 on unbalanced quotes. Nothing is copied. */
static long inline_arg_end(const char *p, size_t n, size_t i)
{
    char quote = 0;
    for (; i < n; i++) {
        char ch = p[i];
        if (quote) {
            if (ch == '\\' && quote == '"' && i + 1 < n) {
                i++;
            } else if (ch == quote) {
                quote = 0;
                if (i + 1 < n && p[i + 1] != ' ' && p[i + 1] != '\t' && p[i + 1] != '\r')
                    return -1; /* a closing quote must end the argument */
            }
        } else if (ch == '"' || ch == '\'') {
            quote = ch;
        } else if (ch == ' ' || ch == '\t' || ch == '\r') {
            break;
        }
    }
    return quote ? -1 : (long)i;
}

/* Each argument is measured first and copied once into a buffer of its own
 * size: the copies of a line take about the line's size, whatever the
 * number of arguments. */
int resp_split_inline(const char *p, size_t n, resp_request *r)
{
    memset(r, 0, sizeof *r);
    size_t i = 0;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
            i++;
        if (i >= n)
            return 0;
        long end = inline_arg_end(p, n, i);
        if (end < 0) {
            resp_request_free(r);
            return -1;
        }
        char *arg = malloc((size_t)end - i + 1);
        size_t len = 0;
        char quote = 0;
        for (; i < (size_t)end; i++) {
            char ch = p[i];
            if (quote) {
                if (ch == '\\' && quote == '"' && i + 1 < n) {
                    char e = p[++i];
                    arg[len++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
                } else if (ch == quote) {
                    quote = 0;
                } else {
                    arg[len++] = ch;
                }
            } else if (ch == '"' || ch == '\'') {
                quote = ch;
            } else {
                arg[len++] = ch;
            }
        }
        if (r->argc == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 8;
            r->argv = realloc(r->argv, (size_t)r->cap * sizeof *r->argv);
            r->lens = realloc(r->lens, (size_t)r->cap * sizeof *r->lens);
        }
        arg[len] = '\0';
        r->argv[r->argc] = arg;
        r->lens[r->argc++] = len;
    }
}

void resp_request_free(resp_request *r)
{
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    free(r->lens);
    memset(r, 0, sizeof *r);
}
