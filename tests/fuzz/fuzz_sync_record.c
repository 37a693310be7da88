/*
 * fuzz_sync_record: a head or provider value read from the DHT
 * (runtime/sync/heads.c's sync_verify_head, sync_verify_provider). The
 * input is the value's bytes, hostile by definition: NULL with a one-line
 * reason, or a record of the right shape.
 */
#include "sync.h"

#include "dht.h"
#include "ids.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ids_init() != 0)
            __builtin_trap();
        ready = 1;
    }
    for (int kind = 0; kind < 2; kind++) {
        char err[256];
        memset(err, 0, sizeof err);
        json_t *rec = kind ? sync_verify_provider(data, size, NULL, err, sizeof err)
                           : sync_verify_head(data, size, NULL, err, sizeof err);
        if (!rec) {
            if (err[0] == '\0' || memchr(err, '\n', strlen(err)))
                __builtin_trap();
            continue;
        }
        const char *mid = json_string_value(json_object_get(rec, "MID"));
        if (size > DHT_VALUE_MAX || !mid || !ids_is_leither_id(mid))
            __builtin_trap();
        json_decref(rec);
    }
    return 0;
}
