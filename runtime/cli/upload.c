/*
 * upload: blocks from the CLI to the node. The importer runs in the CLI
 * (so `ipfs add -n` needs no node); its blocks travel as CARv1 batches to
 * POST /api/v0/dag/import, which checks every hash before storing. A batch
 * is a few MB: one request, one LMDB transaction on the node. Every batch
 * names the same random session, so the node's gc spares the blocks of an
 * add still running.
 */
#include "buf.h"
#include "cli.h"
#include "node.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES (4u << 20)

struct cli_uploader {
    home h;
    ids_key key;
    uint64_t session;
    buf car;       /* the batch: a CAR header and sections */
    size_t header; /* bytes of car that are its header */
    size_t batch; /* bytes per request: under the node's max_request_body */
    int failed;
    char err[512];
};

static void start_batch(cli_uploader *u, const cid *roots, size_t nroots)
{
    buf_clear(&u->car);
    uint8_t head[2048]; /* ROOTS_PER_BATCH roots at most */
    size_t hl = car_header(head, sizeof head, roots, nroots);
    if (buf_append(&u->car, head, hl) != 0 && !u->failed)
        u->failed = 1, snprintf(u->err, sizeof u->err, "out of memory");
    u->header = u->car.len;
}

cli_uploader *cli_uploader_new(const cli_args *a, char *err, size_t errlen)
{
    home h;
    if (cli_find_home(a, &h, err, errlen) != 0)
        return NULL;
    char keyfile[PATH_MAX + 32];
    if (a->key)
        snprintf(keyfile, sizeof keyfile, "%s", a->key);
    else
        home_path(&h, keyfile, sizeof keyfile, NODE_KEY_FILE);
    ids_key key;
    cli_uploader *u = NULL;
    if (ids_key_load(&key, keyfile, err, errlen) == 0)
        u = cli_uploader_at(&h, &key, err, errlen);
    sodium_memzero(&key, sizeof key);
    home_free(&h);
    return u;
}

cli_uploader *cli_uploader_at(const home *h, const ids_key *key, char *err, size_t errlen)
{
    cli_uploader *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->h = *h;
    json_incref(u->h.doc);
    u->key = *key;
    randombytes_buf(&u->session, sizeof u->session);
    /* a smaller max_request_body means more, smaller batches */
    u->batch = BATCH_BYTES;
    if (u->h.max_request_body < BATCH_BYTES + (64u << 10))
        u->batch = u->h.max_request_body > (64u << 10) ? u->h.max_request_body - (32u << 10) : 1;
    buf_reserve(&u->car, u->batch + IMPORT_CHUNK + 4096);
    start_batch(u, NULL, 0);
    return u;
}

static int send_batch(cli_uploader *u, int last, int pin)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v0/dag/import?session=%llu&end=%d&pin=%d", (unsigned long long)u->session, last,
             pin);
    json_t *reply = NULL;
    int status = cli_call_body(&u->h, &u->key, "POST", path, u->car.p, u->car.len, &reply, u->err,
                               sizeof u->err);
    json_decref(reply);
    if (status != 200) {
        u->failed = 1;
        return -1;
    }
    return 0;
}

int cli_uploader_sink(void *uploader, const cid *c, const uint8_t *block, size_t len)
{
    cli_uploader *u = uploader;
    if (u->failed)
        return -1;
    size_t need = CID_BIN_MAX + 10 + len;
    if (u->car.len + need > u->batch && u->car.len > u->header) {
        if (send_batch(u, 0, 0) != 0)
            return -1;
        start_batch(u, NULL, 0);
    }
    uint8_t start[CID_BIN_MAX + 10];
    size_t sl = car_section_start(start, c, len);
    if (buf_append(&u->car, start, sl) != 0 || buf_append(&u->car, block, len) != 0) {
        u->failed = 1;
        snprintf(u->err, sizeof u->err, "out of memory");
        return -1;
    }
    return 0;
}

#define ROOTS_PER_BATCH 16 /* what car_header writes */

int cli_uploader_finish(cli_uploader *u, const cid *roots, size_t nroots, int pin, char *err, size_t errlen)
{
    /* roots past what one header holds: pinned in batches of their own,
     * once every block is sent (the node pins only what it has) */
    if (nroots > ROOTS_PER_BATCH) {
        if (u->car.len > u->header)
            send_batch(u, 0, 0);
        for (size_t i = ROOTS_PER_BATCH; i < nroots && !u->failed; i += ROOTS_PER_BATCH) {
            start_batch(u, roots + i, nroots - i < ROOTS_PER_BATCH ? nroots - i : ROOTS_PER_BATCH);
            send_batch(u, 0, pin);
        }
        start_batch(u, NULL, 0);
        nroots = ROOTS_PER_BATCH;
    }
    if (!u->failed) {
        /* the last batch carries the roots in its header: rewrite it */
        uint8_t head[2048];
        size_t hl = car_header(head, sizeof head, roots, nroots);
        size_t body = u->car.len - u->header;
        if (hl > u->header && buf_reserve(&u->car, hl - u->header) != 0) {
            u->failed = 1;
            snprintf(u->err, sizeof u->err, "out of memory");
        } else {
            memmove(u->car.p + hl, u->car.p + u->header, body);
            memcpy(u->car.p, head, hl);
            u->car.len = hl + body; /* rewritten in place after buf_reserve */
            u->header = hl;
            send_batch(u, 1, pin);
        }
    }
    if (u->failed) {
        snprintf(err, errlen, "%s", u->err);
        return -1;
    }
    return 0;
}

const char *cli_uploader_error(const cli_uploader *u) { return u->failed ? u->err : NULL; }

void cli_uploader_free(cli_uploader *u)
{
    if (!u)
        return;
    home_free(&u->h);
    sodium_memzero(&u->key, sizeof u->key);
    buf_free(&u->car);
    free(u);
}
