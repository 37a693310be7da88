/*
 * fuzz_requires: the upload check's reading of Lua source (requires.c),
 * which the node runs on every app folder a signer sends: each name it
 * reports must be text of the input on a line the input has, and must map
 * to a module path or a reason, within bounds.
 */
#include "sandbox.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *src;
    size_t len;
    int lines;
} input;

static int check(void *arg, const char *name, int line)
{
    const input *in = arg;
    char path[320];
    size_t n = strlen(name);
    if (line < 1 || line > in->lines || n == 0 || n > 255 || !memmem(in->src, in->len, name, n))
        abort();
    sandbox_module_path(name, path, sizeof path);
    if (strlen(path) >= sizeof path)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {(const char *)data, size, 1};
    for (size_t i = 0; i < size; i++)
        in.lines += data[i] == '\n';
    sandbox_each_require(in.src, in.len, check, &in);
    return 0;
}
