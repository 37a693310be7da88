/*
 * fuzz_dagpb: the dag-pb and UnixFS decoders (store.h) on arbitrary bytes.
 *
 * Properties:
 *   pb_decode  accepts or refuses with a one-line reason; what it accepts
 *              re-encodes (pb_encode, go-merkledag's form) to a block that
 *              decodes to the same links (targets, names, Tsizes; an absent
 *              Name or Tsize comes back as "" or 0) and the same Data; that
 *              block encodes to itself again (the form is canonical).
 *   ufs_decode the same for UnixFS Data, on the input and on the Data of a
 *              decoded node: Type, Data, filesize and blocksizes survive
 *              ufs_encode, whose output is canonical too.
 * The decoders see exact-size copies, so a read past the end trips ASan.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

static void check_err(const char *err, size_t cap)
{
    if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', cap))
        __builtin_trap();
}

static void check_ufs(const uint8_t *p, size_t n)
{
    ufs_data d, e;
    char err[256];
    err[0] = '\0';
    if (ufs_decode(p, n, &d, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        if (d.blocksizes)
            __builtin_trap();
        return;
    }
    size_t len, len2;
    uint8_t *b = ufs_encode(&d, &len);
    if (!b)
        __builtin_trap();
    if (ufs_decode(b, len, &e, err, sizeof err) != 0)
        __builtin_trap();
    if (e.type != d.type || e.has_data != d.has_data || e.data_len != d.data_len ||
        (d.data_len && memcmp(e.data, d.data, d.data_len) != 0) || e.has_filesize != d.has_filesize ||
        e.filesize != d.filesize || e.nblocksizes != d.nblocksizes ||
        (d.nblocksizes && memcmp(e.blocksizes, d.blocksizes, d.nblocksizes * sizeof *d.blocksizes) != 0))
        __builtin_trap();
    uint8_t *b2 = ufs_encode(&e, &len2);
    if (!b2 || len2 != len || memcmp(b, b2, len) != 0)
        __builtin_trap();
    free(b2);
    ufs_data_free(&e);
    free(b);
    ufs_data_free(&d);
}

static void check_pb(const uint8_t *p, size_t n)
{
    pb_node a, b;
    char err[256];
    err[0] = '\0';
    if (pb_decode(p, n, &a, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        if (a.links)
            __builtin_trap();
        return;
    }
    size_t len, len2;
    uint8_t *blk = pb_encode(a.links, a.nlinks, a.data, a.data_len, a.has_data, &len);
    if (!blk)
        __builtin_trap();
    if (pb_decode(blk, len, &b, err, sizeof err) != 0)
        __builtin_trap();
    if (b.nlinks != a.nlinks || b.has_data != a.has_data || b.data_len != a.data_len ||
        (a.data_len && memcmp(b.data, a.data, a.data_len) != 0))
        __builtin_trap();
    for (size_t i = 0; i < a.nlinks; i++) {
        const pb_link *x = &a.links[i], *y = &b.links[i];
        if (!cid_equal(&x->target, &y->target) || !y->has_name || !y->has_tsize || y->name_len != x->name_len ||
            (x->name_len && memcmp(x->name, y->name, x->name_len) != 0) || y->tsize != (x->has_tsize ? x->tsize : 0))
            __builtin_trap();
    }
    uint8_t *blk2 = pb_encode(b.links, b.nlinks, b.data, b.data_len, b.has_data, &len2);
    if (!blk2 || len2 != len || memcmp(blk, blk2, len) != 0)
        __builtin_trap();
    free(blk2);
    pb_node_free(&b);
    free(blk);
    if (a.has_data)
        check_ufs(a.data, a.data_len);
    pb_node_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    check_pb(copy, size);
    check_ufs(copy, size);
    free(copy);
    return 0;
}
