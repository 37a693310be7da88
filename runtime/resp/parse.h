/*
 * resp_parse: requests of the Redis protocol, from bytes to argument vectors.
 *
 * resp_next() looks at the start of a buffer and says what is there: a
 * complete multibulk request (checked framing: counts, '$' headers, bulk
 * lengths within max_bulk, CRLFs), an inline command line, not enough bytes
 * yet, or a protocol error with Redis's text. Checking the framing before
 * hiredis's redisReader builds the request means a hostile header never
 * makes us allocate (hiredis 0.14 trusts counts and lengths). The scanner
 * keeps its progress in `resp_scan`, so a large request arriving in many
 * reads is not scanned again from the start.
 */
#ifndef LEITHER_RESP_PARSE_H
#define LEITHER_RESP_PARSE_H

#include <stddef.h>

#define RESP_MAX_MULTIBULK (1024 * 1024)
#define RESP_MAX_INLINE (64 * 1024)

typedef struct {
    long long elements; /* still to check; -1 at a request boundary */
    size_t scan;        /* bytes of the current request checked so far */
} resp_scan;

typedef struct {
    int argc, cap;
    char **argv; /* each NUL-terminated as well */
    size_t *lens;
} resp_request;

enum { RESP_MORE = 0, RESP_MULTIBULK = 1, RESP_INLINE = 2, RESP_EMPTY = 3, RESP_ERROR = -1 };

void resp_scan_init(resp_scan *s);
/* What buf[0..len) starts with. For RESP_MULTIBULK, RESP_INLINE and
 * RESP_EMPTY, *used is the request's length in bytes (an inline line
 * without its '\n'... plus it: *used includes the '\n'). For RESP_ERROR,
 * *error is Redis's text after "Protocol error: ". */
int resp_next(resp_scan *s, const char *buf, size_t len, size_t max_bulk, size_t *used, const char **error);

/* Builds the request of a RESP_MULTIBULK span with hiredis's redisReader
 * (reader from resp_reader_new). 0, or -1 on a reader error. */
void *resp_reader_new(void);
void resp_reader_free(void *reader);
int resp_build(void *reader, const char *buf, size_t len, resp_request *out);

/* Splits an inline line (without its '\n') on blanks, with quotes as Redis;
 * -1 on unbalanced quotes. */
int resp_split_inline(const char *line, size_t len, resp_request *out);

void resp_request_free(resp_request *r);

#endif
