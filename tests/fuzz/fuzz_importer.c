/*
 * fuzz_importer: the streaming importer (store.h).
 *
 * The input's first byte picks the options (CID version, raw leaves), the
 * next two a length multiplier, the next four seed the write sizes; the rest
 * is the content, repeated up to length (so files of several chunks and a
 * parent node are reached from short inputs).
 *
 * Properties:
 *   the root, file size and cumulative size do not depend on how the bytes
 *   are split into writes; every block the sink gets hashes to its CID; every
 *   dag-pb block decodes and its Data is UnixFS; the file size is the input's
 *   length; a raw leaf is never bigger than a chunk.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

static int check_block(void *arg, const cid *c, const uint8_t *block, size_t len)
{
    (void)arg;
    cid again;
    cid_of_block(&again, c->version, c->codec, block, len);
    if (!cid_equal(&again, c))
        __builtin_trap();
    if (c->codec == CID_CODEC_RAW) {
        if (len > IMPORT_CHUNK || c->version != 1)
            __builtin_trap();
        return 0;
    }
    pb_node n;
    ufs_data d;
    char err[256];
    if (pb_decode(block, len, &n, err, sizeof err) != 0 || !n.has_data)
        __builtin_trap();
    if (ufs_decode(n.data, n.data_len, &d, err, sizeof err) != 0 || d.type != UFS_FILE || !d.has_filesize ||
        d.nblocksizes != n.nlinks || n.nlinks > IMPORT_MAX_LINKS)
        __builtin_trap();
    uint64_t sum = 0;
    for (size_t i = 0; i < d.nblocksizes; i++)
        sum += d.blocksizes[i];
    if (n.nlinks ? sum != d.filesize : d.data_len != d.filesize)
        __builtin_trap();
    ufs_data_free(&d);
    pb_node_free(&n);
    return 0;
}

static void run(const import_opts *o, const uint8_t *p, size_t plen, size_t total, uint32_t seed, cid *root,
                uint64_t *size, uint64_t *tsize)
{
    importer *im = importer_new(o, check_block, NULL);
    if (!im)
        __builtin_trap();
    size_t off = 0;
    while (off < total) {
        size_t step;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            step = 1 + (seed >> 8) % (seed & 0x80 ? 300000 : 700);
        } else {
            step = total;
        }
        if (step > total - off)
            step = total - off;
        /* write from the repeated content: piecewise, at most plen at a time */
        while (step) {
            size_t at = off % plen, k = plen - at < step ? plen - at : step;
            if (importer_write(im, p + at, k) != 0)
                __builtin_trap();
            off += k;
            step -= k;
        }
    }
    if (importer_finish(im, root, size, tsize) != 0)
        __builtin_trap();
    importer_free(im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 7)
        return 0;
    import_opts o = {data[0] & 1, (data[0] >> 1) & 1};
    size_t mult = (size_t)(data[1] | data[2] << 8) % 64;
    uint32_t seed = (uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 24;
    const uint8_t *p = data + 7;
    size_t plen = size - 7;
    size_t total = plen * (mult ? mult * 64 : 1); /* up to ~1 MB: four chunks and a parent */
    if (total > 4 * IMPORT_CHUNK + 1000)
        total = 4 * IMPORT_CHUNK + 1000;
    cid r1, r2;
    uint64_t s1, s2, t1, t2;
    run(&o, p, plen, total, 0, &r1, &s1, &t1);
    run(&o, p, plen, total, seed | 1, &r2, &s2, &t2);
    if (!cid_equal(&r1, &r2) || s1 != s2 || t1 != t2 || s1 != total || t1 < s1)
        __builtin_trap();
    return 0;
}
