/*
 * atomicfile: replace a file so that a crash leaves the old or the new
 * contents, never half: write PATH.tmp with the given mode, fsync, rename.
 */
#ifndef LEITHER_ATOMICFILE_H
#define LEITHER_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes data and a final newline. 0, or -1 with a one-line reason in err. */
int atomicfile_write(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen);

#endif
