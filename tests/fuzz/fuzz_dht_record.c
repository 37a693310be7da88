/*
 * fuzz_dht_record: a value read from the DHT (runtime/dht/presence.c's
 * presence_verify_record). The input is the value's bytes, hostile by
 * definition. Accepted or not, the answer must be one of the two shapes:
 * NULL with a one-line reason, or a record whose fields are bounded.
 */
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
    char err[256];
    memset(err, 0, sizeof err);
    json_t *entry = presence_verify_record(data, size, NULL, err, sizeof err);
    if (!entry) {
        if (err[0] == '\0' || memchr(err, '\n', strlen(err)))
            __builtin_trap();
        return 0;
    }
    const char *id = json_string_value(json_object_get(entry, "ID"));
    if (size > DHT_VALUE_MAX || !id || !ids_is_leither_id(id) ||
        json_array_size(json_object_get(entry, "Addrs")) > 16 || json_array_size(json_object_get(entry, "RespAddrs")) > 16)
        __builtin_trap();
    json_decref(entry);
    return 0;
}
