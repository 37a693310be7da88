/* log: the node's log lines, as text or one JSON object a line (node.h). */
#include "node.h"

#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_format format = LOG_FORMAT_TEXT;

void log_set_format(enum log_format f) { format = f; }
enum log_format log_get_format(void) { return format; }

int log_parse_format(const char *name, enum log_format *f)
{
    if (!strcmp(name, "text"))
        *f = LOG_FORMAT_TEXT;
    else if (!strcmp(name, "json"))
        *f = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

/* The length of the valid UTF-8 sequence at s (at most left bytes), 0 when
 * it is not one (overlong forms, surrogates and past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* s as a JSON string: escapes, and U+FFFD for bytes that are not UTF-8
 * (an app may log anything; the line must stay JSON). */
static void json_quote(buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    buf_append(out, "\"", 1);
    while (left) {
        unsigned c = *p;
        size_t n = utf8_len(p, left);
        if (c == '"' || c == '\\') {
            buf_printf(out, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(out, "\\u%04x", c);
        } else if (n) {
            buf_append(out, p, n);
            p += n, left -= n;
            continue;
        } else {
            buf_puts(out, "\xef\xbf\xbd");
        }
        p++, left--;
    }
    buf_append(out, "\"", 1);
}

static const char *const level_names[] = {"info", "warn", "error"};

void log_line(enum log_level level, const char *const *fields, const char *fmt, ...)
{
    char small[1024], *msg = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof small && (msg = malloc((size_t)n + 1))) { /* an app's traceback: up to 16 KiB */
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (!msg)
        msg = small; /* cut, but logged */
    buf line = {0};
    int fd = STDERR_FILENO;
    if (format == LOG_FORMAT_TEXT) {
        buf_printf(&line, "leither: %s\n", msg);
    } else {
        fd = STDOUT_FILENO; /* one stream: a pipe to a log shipper gets every line */
        struct timespec now;
        struct tm tm;
        char when[32];
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        buf_printf(&line, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"message\":", when, now.tv_nsec / 1000000,
                   level_names[level]);
        json_quote(&line, msg);
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
            buf_append(&line, ",", 1);
            json_quote(&line, fields[i]);
            buf_append(&line, ":", 1);
            json_quote(&line, fields[i + 1]);
        }
        buf_puts(&line, "}\n");
    }
    if (!line.failed) {
        /* one write: lines of different threads stay whole */
        size_t done = 0;
        while (done < line.len) {
            ssize_t w = write(fd, line.p + done, line.len - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
    }
    buf_free(&line);
    if (msg != small)
        free(msg);
}
