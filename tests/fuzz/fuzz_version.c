/*
 * fuzz_version: what a follower reads from other nodes before it applies
 * anything (runtime/sync/versions.c, modules/db/journal.c): a version
 * block's bytes (sync_version_parse), and a journal's (db_journal_check,
 * its range from the first 8 bytes). Hostile by definition: refused with
 * a one-line reason, or accepted within the bounds each promises.
 */
#include "db.h"
#include "sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void one_line(const char *err)
{
    if (err[0] == '\0' || memchr(err, '\n', strlen(err)))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    sync_version v;
    if (sync_version_parse(data, size, &v, err, sizeof err) != 0) {
        one_line(err);
    } else {
        if (v.version == 0 || v.njournal > SYNC_VERSION_BLOCK_MAX / 60 || (!v.is_db && v.njournal) ||
            !ids_is_leither_id(v.mid))
            __builtin_trap();
        sync_version_free(&v);
    }
    if (size < 8)
        return 0;
    uint32_t after = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
    uint32_t upto = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
    err[0] = '\0';
    if (db_journal_check(data + 8, size - 8, after, upto, size % 7, 511, err, sizeof err) != 0)
        one_line(err);
    return 0;
}
