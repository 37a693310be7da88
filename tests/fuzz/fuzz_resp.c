/*
 * fuzz_resp: the Redis protocol request parser and the command dispatch.
 *
 * Each input is a byte stream a client might send: it is parsed exactly as
 * the RESP server does (resp_parse.h), and every request is executed by the
 * db module on a real LMDB environment in a temporary folder, then the batch
 * is committed. Limits are small (64 KiB bulks, 1 MiB output) so that a unit
 * stays fast; CONFIG is skipped so an input cannot lift them. Nothing may
 * crash, leak or trip ASan/UBSan.
 */
#include "db.h"
#include "parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static db *d;
static void *reader;

static void setup(void)
{
    static char dir[] = "/tmp/leither-fuzz-resp-XXXXXX";
    char err[256];
    if (d)
        return;
    if (!mkdtemp(dir) || !(d = db_open(dir, DB_SYNC_NO, err, sizeof err))) {
        fprintf(stderr, "fuzz_resp: %s\n", err);
        abort();
    }
    db_set_limits(d, 64 * 1024, 1 << 20);
    reader = resp_reader_new();
}

static void run(db_client *c, resp_request *r)
{
    if (r->argc == 0 || (r->lens[0] == 6 && !strncasecmp(r->argv[0], "config", 6)))
        return;
    db_exec(c, r->argc, (const char **)r->argv, r->lens);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    db_client *c = db_client_new(d, NULL);
    static const char *flush[] = {"FLUSHDB"};
    static const size_t flushlen[] = {7};
    db_exec(c, 1, flush, flushlen);
    resp_scan scan;
    resp_scan_init(&scan);
    const char *buf = (const char *)data;
    size_t left = size;
    while (left && !db_client_closing(c) && !db_client_blocked(c)) {
        size_t used = 0;
        const char *error = NULL;
        int kind = resp_next(&scan, buf, left, db_proto_max_bulk_len(d), &used, &error);
        if (kind == RESP_MORE)
            break;
        if (kind == RESP_ERROR) {
            db_protocol_error(c, error);
            break;
        }
        resp_request r = {0};
        if (kind == RESP_INLINE && resp_split_inline(buf, used - 1, &r) == 0)
            run(c, &r);
        else if (kind == RESP_MULTIBULK && resp_build(reader, buf, used, &r) == 0)
            run(c, &r);
        resp_request_free(&r);
        buf += used;
        left -= used;
    }
    db_commit(d);
    db_tick(d);
    db_commit(d);
    while (db_next_woken(d))
        ;
    db_client_free(c);
    return 0;
}
