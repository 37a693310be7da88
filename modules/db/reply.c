/* reply: RESP2 and RESP3 encoders, appended to the client's output. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Past the output limit a client is closed, as Redis's
 * client-output-buffer-limit does: what it asked for is dropped. */
static size_t output_limit(const db_client *c)
{
    return c->output_limit && c->output_limit < c->db->output_limit ? c->output_limit : c->db->output_limit;
}

static void raw(db_client *c, const void *p, size_t n)
{
    if (c->out.len + n > output_limit(c)) {
        c->flags |= DB_CLIENT_CLOSE | DB_CLIENT_OVERFLOW;
        return;
    }
    db_buf_append(&c->out, p, n);
}

int reply_overflowed(const db_client *c) { return (c->flags & DB_CLIENT_OVERFLOW) != 0; }

/* type, the number, CRLF: the most frequent thing a reply writes, so no
 * printf (it showed up as a third of LRANGE's time) */
static size_t format_header(char *buf, char type, long long n)
{
    char digits[24];
    size_t len = 0, i = 0;
    unsigned long long v = n < 0 ? 0 - (unsigned long long)n : (unsigned long long)n;
    do
        digits[len++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    buf[i++] = type;
    if (n < 0)
        buf[i++] = '-';
    while (len)
        buf[i++] = digits[--len];
    buf[i++] = '\r';
    buf[i++] = '\n';
    return i;
}

static void header(db_client *c, char type, long long n)
{
    char buf[32];
    raw(c, buf, format_header(buf, type, n));
}

void reply_ok(db_client *c) { raw(c, "+OK\r\n", 5); }

void reply_status(db_client *c, const char *s)
{
    raw(c, "+", 1);
    raw(c, s, strlen(s));
    raw(c, "\r\n", 2);
}

void reply_error(db_client *c, const char *msg)
{
    raw(c, "-", 1);
    /* an error is one line: newlines would break the protocol */
    for (const char *p = msg; *p; p++)
        raw(c, (*p == '\r' || *p == '\n') ? " " : p, 1);
    raw(c, "\r\n", 2);
}

void reply_errorf(db_client *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_error(c, msg);
}

void reply_int(db_client *c, long long v) { header(c, ':', v); }

void reply_bulk(db_client *c, const void *p, size_t n)
{
    char head[32];
    size_t hl = format_header(head, '$', (long long)n);
    if (c->out.len + hl + n + 2 > output_limit(c)) {
        c->flags |= DB_CLIENT_CLOSE | DB_CLIENT_OVERFLOW; /* as raw() does */
        return;
    }
    db_buf_append(&c->out, head, hl);
    db_buf_append(&c->out, p, n);
    db_buf_append(&c->out, "\r\n", 2);
}

void reply_bulk_cstr(db_client *c, const char *s) { reply_bulk(c, s, strlen(s)); }

void reply_bulk_ll(db_client *c, long long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    reply_bulk(c, buf, (size_t)n);
}

void reply_double(db_client *c, double d)
{
    char buf[64];
    int n = format_double(buf, sizeof buf, d);
    if (c->resp >= 3) {
        raw(c, ",", 1);
        raw(c, buf, (size_t)n);
        raw(c, "\r\n", 2);
    } else {
        reply_bulk(c, buf, (size_t)n);
    }
}

void reply_null(db_client *c)
{
    if (c->resp >= 3)
        raw(c, "_\r\n", 3);
    else
        raw(c, "$-1\r\n", 5);
}

void reply_null_array(db_client *c)
{
    if (c->resp >= 3)
        raw(c, "_\r\n", 3);
    else
        raw(c, "*-1\r\n", 5);
}

void reply_array(db_client *c, long n) { header(c, '*', n); }
void reply_map(db_client *c, long n) { c->resp >= 3 ? header(c, '%', n) : header(c, '*', 2 * (long long)n); }
void reply_set(db_client *c, long n) { header(c, c->resp >= 3 ? '~' : '*', n); }

void reply_bool(db_client *c, int v)
{
    if (c->resp >= 3)
        raw(c, v ? "#t\r\n" : "#f\r\n", 4);
    else
        reply_int(c, v ? 1 : 0);
}

/* A deferred header: reserve room for the largest header, then move the
 * elements back over the unused part once the count is known. */
#define DEFER_ROOM 24
size_t reply_defer(db_client *c)
{
    size_t at = c->out.len;
    char pad[DEFER_ROOM] = {0};
    raw(c, pad, sizeof pad);
    return at;
}

static void defer_fill(db_client *c, size_t at, char type, long long n)
{
    if (reply_overflowed(c) && at + DEFER_ROOM > c->out.len)
        return; /* the reservation itself was dropped */
    char buf[DEFER_ROOM];
    int len = (int)format_header(buf, type, n);
    char *base = c->out.buf + at;
    memmove(base + len, base + DEFER_ROOM, c->out.len - at - DEFER_ROOM);
    memcpy(base, buf, (size_t)len);
    c->out.len -= DEFER_ROOM - (size_t)len;
}

void reply_defer_array(db_client *c, size_t at, long n) { defer_fill(c, at, '*', n); }
void reply_defer_map(db_client *c, size_t at, long n)
{
    defer_fill(c, at, c->resp >= 3 ? '%' : '*', c->resp >= 3 ? n : 2 * (long long)n);
}
void reply_defer_set(db_client *c, size_t at, long n) { defer_fill(c, at, c->resp >= 3 ? '~' : '*', n); }
