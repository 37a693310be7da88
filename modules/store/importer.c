/*
 * importer: files and directories as `ipfs add` (kubo) builds them.
 *
 * A file is cut into IMPORT_CHUNK-byte chunks at fixed offsets. Leaves are
 * dag-pb nodes with UnixFS {Type=File, Data=chunk, filesize} or, with raw
 * leaves, the chunk itself (codec raw, CIDv1). The layout is go-unixfs's
 * balanced one: a left-filled tree of minimal height with at most
 * IMPORT_MAX_LINKS links a node; a single-chunk file is its own root.
 *
 * Streaming: each level of the tree keeps one partial node (its links and
 * its children's file sizes). A full level is closed into a node only when
 * one more child comes for it, so at the end we know whether a level's
 * single link is the root. When the file ends, each level from the bottom up
 * is closed into a node and handed to the level above, unless it is the top
 * level with one link: that link is the root.
 *
 * Leaves are written in place: the chunk buffer keeps room for the dag-pb
 * and UnixFS headers before the chunk and the filesize field after it, so a
 * leaf costs no copy and no allocation.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#define LEAF_HEAD 16 /* room before the chunk: 0a L 08 02 12 n (varints of < 2^21: 3 bytes each) */
#define LEAF_TAIL 4  /* 18 n */

typedef struct {
    pb_link links[IMPORT_MAX_LINKS];
    uint64_t sizes[IMPORT_MAX_LINKS]; /* each child's file bytes */
    size_t n;
} level;

struct importer {
    import_opts o;
    block_sink sink;
    void *arg;
    uint8_t *buf; /* LEAF_HEAD + IMPORT_CHUNK + LEAF_TAIL */
    size_t fill;  /* chunk bytes in buf + LEAF_HEAD */
    uint64_t total;
    size_t nchunks;
    level **levels;
    size_t nlevels;
    int failed;
};

importer *importer_new(const import_opts *o, block_sink sink, void *arg)
{
    importer *im = calloc(1, sizeof *im);
    if (!im)
        return NULL;
    im->o = *o;
    im->sink = sink;
    im->arg = arg;
    im->buf = malloc(LEAF_HEAD + IMPORT_CHUNK + LEAF_TAIL);
    if (!im->buf) {
        free(im);
        return NULL;
    }
    return im;
}

void importer_free(importer *im)
{
    if (!im)
        return;
    for (size_t i = 0; i < im->nlevels; i++)
        free(im->levels[i]);
    free(im->levels);
    free(im->buf);
    free(im);
}

static int node_version(const importer *im) { return im->o.cid_version == 1 ? 1 : 0; }

static int add_child(importer *im, size_t lv, const cid *c, uint64_t tsize, uint64_t size);

/* Closes level lv into a dag-pb node and adds it to the level above. */
static int close_level(importer *im, size_t lv, cid *c, uint64_t *tsize, uint64_t *size)
{
    level *L = im->levels[lv];
    ufs_data d = {.type = UFS_FILE, .has_filesize = 1, .blocksizes = L->sizes, .nblocksizes = L->n};
    uint64_t cum = 0;
    for (size_t i = 0; i < L->n; i++) {
        d.filesize += L->sizes[i];
        cum += L->links[i].tsize;
    }
    size_t ulen, blen;
    uint8_t *u = ufs_encode(&d, &ulen);
    if (!u)
        return -1;
    uint8_t *block = pb_encode(L->links, L->n, u, ulen, 1, &blen);
    free(u);
    if (!block)
        return -1;
    cid_of_block(c, node_version(im), CID_CODEC_DAG_PB, block, blen);
    int rc = im->sink(im->arg, c, block, blen);
    free(block);
    if (rc)
        return rc;
    *tsize = blen + cum;
    *size = d.filesize;
    L->n = 0;
    return 0;
}

static int add_child(importer *im, size_t lv, const cid *c, uint64_t tsize, uint64_t size)
{
    if (lv == im->nlevels) {
        level **ls = realloc(im->levels, (lv + 1) * sizeof *ls);
        if (!ls)
            return -1;
        im->levels = ls;
        if (!(ls[lv] = calloc(1, sizeof **ls)))
            return -1;
        im->nlevels = lv + 1;
    }
    level *L = im->levels[lv];
    if (L->n == IMPORT_MAX_LINKS) {
        cid pc;
        uint64_t pt, ps;
        int rc = close_level(im, lv, &pc, &pt, &ps);
        if (rc)
            return rc;
        if ((rc = add_child(im, lv + 1, &pc, pt, ps)))
            return rc;
        L = im->levels[lv];
    }
    pb_link *l = &L->links[L->n];
    memset(l, 0, sizeof *l);
    l->target = *c;
    l->name = "";
    l->has_name = 1;
    l->tsize = tsize;
    l->has_tsize = 1;
    L->sizes[L->n++] = size;
    return 0;
}

/* Makes the leaf of the chunk in buf and adds it to level 0. */
static int flush_chunk(importer *im)
{
    size_t n = im->fill;
    uint8_t *chunk = im->buf + LEAF_HEAD;
    cid c;
    uint64_t tsize;
    int rc;
    if (im->o.raw_leaves) {
        cid_of_block(&c, 1, CID_CODEC_RAW, chunk, n);
        rc = im->sink(im->arg, &c, chunk, n);
        tsize = n;
    } else {
        /* UnixFS: 08 02 [12 varint(n) chunk] 18 varint(n); the empty file has no Data */
        uint8_t head[LEAF_HEAD], tail[LEAF_TAIL];
        size_t t = 0, h = 0;
        tail[t++] = 0x18;
        t += varint_put(tail + t, n);
        size_t ulen = 2 + (n ? 1 + (n < 128 ? 1 : n < 16384 ? 2 : 3) + n : 0) + t;
        head[h++] = 0x0a;
        h += varint_put(head + h, ulen);
        head[h++] = 0x08;
        head[h++] = 0x02;
        if (n) {
            head[h++] = 0x12;
            h += varint_put(head + h, n);
        }
        memcpy(chunk - h, head, h);
        memcpy(chunk + n, tail, t);
        cid_of_block(&c, node_version(im), CID_CODEC_DAG_PB, chunk - h, h + n + t);
        rc = im->sink(im->arg, &c, chunk - h, h + n + t);
        tsize = h + n + t;
    }
    if (rc)
        return rc;
    im->nchunks++;
    im->fill = 0;
    return add_child(im, 0, &c, tsize, n);
}

int importer_write(importer *im, const void *data, size_t len)
{
    if (im->failed)
        return im->failed;
    const uint8_t *p = data;
    while (len) {
        if (im->fill == IMPORT_CHUNK) { /* cut only when more bytes come: the last chunk may be full */
            int rc = flush_chunk(im);
            if (rc)
                return im->failed = rc;
        }
        size_t take = IMPORT_CHUNK - im->fill;
        if (take > len)
            take = len;
        memcpy(im->buf + LEAF_HEAD + im->fill, p, take);
        im->fill += take;
        im->total += take;
        p += take;
        len -= take;
    }
    return 0;
}

int importer_finish(importer *im, cid *root, uint64_t *filesize, uint64_t *tsize)
{
    if (im->failed)
        return im->failed;
    int rc;
    if ((im->fill || im->nchunks == 0) && (rc = flush_chunk(im)))
        return im->failed = rc;
    for (size_t lv = 0; lv < im->nlevels; lv++) {
        level *L = im->levels[lv];
        if (!L->n)
            continue;
        if (lv + 1 == im->nlevels && L->n == 1) {
            *root = L->links[0].target;
            *tsize = L->links[0].tsize;
            *filesize = im->total;
            L->n = 0;
            return 0;
        }
        cid c;
        uint64_t t, s;
        if ((rc = close_level(im, lv, &c, &t, &s)) || (rc = add_child(im, lv + 1, &c, t, s)))
            return im->failed = rc;
    }
    return im->failed = -1; /* not reached: the top level always ends with one link */
}

/* --- directories and symlinks ----------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->name, ((const dir_entry *)b)->name);
}

static int emit_node(const import_opts *o, const pb_link *links, size_t n, const ufs_data *d, block_sink sink,
                     void *arg, cid *out, uint64_t *tsize)
{
    size_t ulen, blen;
    uint8_t *u = ufs_encode(d, &ulen);
    if (!u)
        return -1;
    uint8_t *block = pb_encode(links, n, u, ulen, 1, &blen);
    free(u);
    if (!block)
        return -1;
    cid_of_block(out, o->cid_version == 1 ? 1 : 0, CID_CODEC_DAG_PB, block, blen);
    int rc = sink(arg, out, block, blen);
    free(block);
    if (rc)
        return rc;
    uint64_t cum = blen;
    for (size_t i = 0; i < n; i++)
        cum += links[i].tsize;
    *tsize = cum;
    return 0;
}

int ufs_make_dir(const import_opts *o, dir_entry *entries, size_t n, block_sink sink, void *arg, cid *out,
                 uint64_t *tsize)
{
    if (n)
        qsort(entries, n, sizeof *entries, by_name);
    pb_link *links = n ? calloc(n, sizeof *links) : NULL;
    if (n && !links)
        return -1;
    for (size_t i = 0; i < n; i++) {
        links[i].target = entries[i].target;
        links[i].name = entries[i].name;
        links[i].name_len = strlen(entries[i].name);
        links[i].has_name = 1;
        links[i].tsize = entries[i].tsize;
        links[i].has_tsize = 1;
    }
    ufs_data d = {.type = UFS_DIRECTORY};
    int rc = emit_node(o, links, n, &d, sink, arg, out, tsize);
    free(links);
    return rc;
}

int ufs_make_symlink(const import_opts *o, const char *target, block_sink sink, void *arg, cid *out, uint64_t *tsize)
{
    ufs_data d = {.type = UFS_SYMLINK, .data = (const uint8_t *)target, .data_len = strlen(target), .has_data = 1};
    return emit_node(o, NULL, 0, &d, sink, arg, out, tsize);
}
