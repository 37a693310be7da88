/*
 * errbuf: the one way functions here report failure.
 *
 * A function that can fail takes (char *err, size_t errlen) last, writes a
 * one-line reason there (no newline, no trailing period), and returns 0 on
 * success and nonzero on failure:
 *     return ERR("%s: %s", path, strerror(errno));    (returns -1)
 *
 * Its return type is its module's status enum when callers need to tell
 * failures apart (store_status, mimei_status, ids_status, sandbox_status):
 * 0 is *_OK, -1 is *_ERROR (a failure with no kind a caller acts on: I/O,
 * LMDB, out of memory), positive values are the kinds, each with a
 * *_strerror(status) naming it. So `!= 0` always tests for failure, and a
 * function that only ever fails with -1 may keep `int` as its type. The kind
 * comes back as the return value, never through a status out-parameter.
 *
 * Functions returning a pointer return NULL on failure with err set; pure
 * decoders with nothing to explain (ids_hex_decode) may return -1 alone.
 *
 * Surfaces turn these into what their clients see, each in one place:
 * runtime/http/web.c maps module statuses to HTTP statuses
 * (http_status_of_store, ...), the JSON API answers
 * {"Message": err, "Code": 0, "Type": "error"} (http_reply_error), the
 * gateway a plain-text one-line body, RESP a "-ERR err" line, the CLI
 * "leither: err" on stderr.
 */
#ifndef LEITHER_ERRBUF_H
#define LEITHER_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline int errbuf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

#define ERR(...) errbuf_set(err, errlen, __VA_ARGS__)

#endif
