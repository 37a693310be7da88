/*
 * errbuf: the one way functions here report failure. A function that can
 * fail takes (char *err, size_t errlen), writes a one-line reason there, and
 * returns -1: `return ERR("%s: %s", path, strerror(errno));`
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
