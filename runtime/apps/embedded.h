/*
 * embedded: files built into the binary (cmake/embed.cmake): the node's Lua
 * library (the .lua files of lua/leither/) and the browser SDK (sdk/js/leither.js).
 */
#ifndef LEITHER_EMBEDDED_H
#define LEITHER_EMBEDDED_H

#include <stddef.h>

/* The bytes of path as the repository names it ("lua/leither/app.lua"),
 * or NULL. The data ends with a NUL not counted in *len. */
const char *embedded_file(const char *path, size_t *len);

#endif
