/*
 * fuzz_home: SystemVars.json parsing and validation (runtime/node/home.c).
 *
 * The input is the text of the settings file. When home_parse accepts it,
 * the validated values must lie in their documented ranges, every granted
 * ID must be allowed to write, the owner always may, and home_free releases
 * the document (leaks are caught by libFuzzer's leak check).
 */
#include "node.h"

#include "ids.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* two well-formed Leither IDs that no grant list in the seeds contains */
#define OWNER "ownerownerownerownerowner00"
#define STRANGER "strangerstrangerstranger000"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ids_init() != 0)
            __builtin_trap();
        ready = 1;
    }

    /* an exact-size copy without a NUL: home_parse takes a length */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);

    home h;
    memset(&h, 0, sizeof h);
    snprintf(h.dir, sizeof h.dir, "/nonexistent/fuzz-home");
    char err[256];
    memset(err, 0, sizeof err);
    int rc = home_parse(&h, text, size, HOME_SETTINGS, err, sizeof err);
    free(text);

    if (rc != 0) {
        if (rc != -1 || h.doc != NULL || err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            __builtin_trap();
        return 0;
    }

    if (!json_is_object(h.doc) || h.port < 1 || h.port > 65535 || h.threads < 1 || h.threads > 256 ||
        h.max_request_body < 1024 || h.max_request_body > ((size_t)1 << 30) || h.listen == NULL)
        __builtin_trap();

    /* the owner may always write */
    if (!home_may_write(&h, OWNER, OWNER) || !home_may_write(&h, STRANGER, STRANGER))
        __builtin_trap();

    /* every grant may write; a stranger may iff some grant names it */
    int stranger_granted = 0;
    json_t *grants = json_object_get(h.doc, "grants"), *item;
    size_t i;
    json_array_foreach(grants, i, item)
    {
        const char *id = json_string_value(item);
        if (!id || !ids_is_leither_id(id) || !home_may_write(&h, OWNER, id))
            __builtin_trap();
        if (!strcmp(id, STRANGER))
            stranger_granted = 1;
    }
    if (home_may_write(&h, OWNER, STRANGER) != stranger_granted)
        __builtin_trap();

    /* the CLI's URL for the node is built from the same settings */
    char url[128];
    home_api_base(&h, url, sizeof url);
    if (strncmp(url, "http://", 7) != 0)
        __builtin_trap();

    home_free(&h);
    if (h.doc != NULL)
        __builtin_trap();
    return 0;
}
