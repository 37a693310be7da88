/*
 * buf: the one growable byte buffer. Text or bytes appended at the end,
 * always followed by a NUL (so text can be used as a C string), grown by
 * doubling. Zero-initialise (`buf b = {0};`) to start; buf_free to end.
 *
 * Out of memory is sticky: the failing call and every later append return
 * -1 and leave the contents as they were, so a builder may append many
 * pieces and check b.failed (or the last return) once.
 *
 * A writer that fills the bytes itself (a read into p + len) calls
 * buf_reserve first, then sets len; the NUL comes back with the next append.
 *
 * Not used by modules/db (its own reply buffers) nor, for now, by
 * runtime/apps/lua_api.c's result buffer, which another change owns.
 */
#ifndef LEITHER_BUF_H
#define LEITHER_BUF_H

#include <stddef.h>

typedef struct {
    char *p;    /* the bytes, NUL-terminated; NULL until something is added */
    size_t len; /* bytes held, without the NUL */
    size_t cap; /* bytes allocated */
    int failed; /* an allocation failed */
} buf;

/* Room for n more bytes (and the NUL) without another allocation: 0 or -1. */
int buf_reserve(buf *b, size_t n);
int buf_append(buf *b, const void *data, size_t n);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empties b, keeping its memory. */
void buf_clear(buf *b);
void buf_free(buf *b);

#endif
