/*
 * dagpb: dag-pb nodes and UnixFS Data messages, protobuf wire format by hand.
 *
 * dag-pb decoding is strict, as the dag-pb spec asks: PBNode holds its Links
 * (field 2, repeated) before its Data (field 1, at most once); PBLink holds
 * Hash (1, a binary CID), Name (2), Tsize (3), each at most once and in that
 * order; no other fields, no other wire types. Encoding is byte-exact with
 * go-merkledag: every link gets Hash, Name (even "") and Tsize.
 *
 * UnixFS Data fields: Type (1), Data (2), filesize (3), blocksizes (4,
 * repeated; packed accepted too), hashType (5), fanout (6), mode (7),
 * mtime (8). Decoding checks wire types, skips 5-8, rejects others.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* A protobuf varint (up to 10 bytes, 64 bits): bytes read, 0 when
 * truncated or overlong. */
static size_t pb_varint(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        if (i == 9 && p[i] > 1)
            return 0; /* past 64 bits */
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* A field's tag at p[*off]: 0 with field and wire type, -1 when bad. */
static int read_tag(const uint8_t *p, size_t len, size_t *off, uint64_t *field, int *wt)
{
    uint64_t tag;
    size_t n = pb_varint(p + *off, len - *off, &tag);
    if (!n || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
        return -1;
    *off += n;
    *field = tag >> 3;
    *wt = (int)(tag & 7);
    return 0;
}

/* A length-delimited field's bytes at p[*off], bounded by len. */
static int read_bytes(const uint8_t *p, size_t len, size_t *off, const uint8_t **out, size_t *out_len)
{
    uint64_t n;
    size_t k = pb_varint(p + *off, len - *off, &n);
    if (!k || n > len - *off - k)
        return -1;
    *out = p + *off + k;
    *out_len = (size_t)n;
    *off += k + (size_t)n;
    return 0;
}

static int read_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    size_t k = pb_varint(p + *off, len - *off, v);
    if (!k)
        return -1;
    *off += k;
    return 0;
}

/* --- dag-pb ---------------------------------------------------------------- */

static int decode_link(const uint8_t *p, size_t len, size_t index, pb_link *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    size_t off = 0;
    uint64_t last = 0;
    int has_hash = 0;
    while (off < len) {
        uint64_t field;
        int wt;
        if (read_tag(p, len, &off, &field, &wt) != 0)
            return ERR("dag-pb: link %zu: bad field tag", index);
        if (field > 3)
            return ERR("dag-pb: link %zu: unknown field %llu", index, (unsigned long long)field);
        if (field <= last)
            return ERR("dag-pb: link %zu: field %llu out of order or repeated", index, (unsigned long long)field);
        last = field;
        if (field == 1 || field == 2) {
            if (wt != WT_LEN)
                return ERR("dag-pb: link %zu: %s has wire type %d, not bytes", index, field == 1 ? "Hash" : "Name", wt);
            const uint8_t *b = NULL;
            size_t n = 0;
            if (read_bytes(p, len, &off, &b, &n) != 0)
                return ERR("dag-pb: link %zu: %s truncated", index, field == 1 ? "Hash" : "Name");
            if (field == 1) {
                if (cid_from_bytes(b, n, &l->target) != n || n == 0)
                    return ERR("dag-pb: link %zu: Hash is not a supported binary CID", index);
                has_hash = 1;
            } else {
                l->name = (const char *)b;
                l->name_len = n;
                l->has_name = 1;
            }
        } else {
            if (wt != WT_VARINT)
                return ERR("dag-pb: link %zu: Tsize has wire type %d, not varint", index, wt);
            if (read_varint(p, len, &off, &l->tsize) != 0)
                return ERR("dag-pb: link %zu: Tsize truncated", index);
            l->has_tsize = 1;
        }
    }
    if (!has_hash)
        return ERR("dag-pb: link %zu: no Hash", index);
    return 0;
}

int pb_decode(const uint8_t *block, size_t len, pb_node *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* count the links first (each takes at least 2 bytes), then fill them */
    size_t nlinks = 0, off = 0;
    while (off < len) {
        uint64_t field;
        int wt;
        const uint8_t *b;
        size_t n;
        if (read_tag(block, len, &off, &field, &wt) != 0)
            return ERR("dag-pb: bad field tag at byte %zu", off);
        if (field != 1 && field != 2)
            return ERR("dag-pb: unknown field %llu in PBNode", (unsigned long long)field);
        if (wt != WT_LEN)
            return ERR("dag-pb: %s has wire type %d, not bytes", field == 1 ? "Data" : "Links", wt);
        if (out->has_data)
            return ERR("dag-pb: %s after Data", field == 1 ? "a second Data" : "Links");
        if (read_bytes(block, len, &off, &b, &n) != 0)
            return ERR("dag-pb: %s truncated", field == 1 ? "Data" : "a link");
        if (field == 1) {
            out->data = b;
            out->data_len = n;
            out->has_data = 1;
        } else {
            nlinks++;
        }
    }
    if (!nlinks)
        return 0;
    out->links = malloc(nlinks * sizeof *out->links);
    if (!out->links)
        return ERR("dag-pb: out of memory for %zu links", nlinks);
    off = 0;
    for (size_t i = 0; i < nlinks; i++) {
        uint64_t field;
        int wt;
        const uint8_t *b = NULL;
        size_t n = 0;
        read_tag(block, len, &off, &field, &wt); /* checked above */
        read_bytes(block, len, &off, &b, &n);
        if (decode_link(b, n, i, &out->links[i], err, errlen) != 0) {
            pb_node_free(out);
            return -1;
        }
        out->nlinks = i + 1;
    }
    return 0;
}

void pb_node_free(pb_node *n)
{
    if (!n)
        return;
    free(n->links);
    n->links = NULL;
    n->nlinks = 0;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t link_body_len(const pb_link *l, size_t cidlen)
{
    return 1 + varint_len(cidlen) + cidlen + 1 + varint_len(l->name_len) + l->name_len + 1 + varint_len(l->tsize);
}

uint8_t *pb_encode(const pb_link *links, size_t nlinks, const uint8_t *data, size_t data_len, int has_data,
                   size_t *len)
{
    size_t total = 0;
    uint8_t cb[CID_BIN_MAX];
    for (size_t i = 0; i < nlinks; i++) {
        size_t body = link_body_len(&links[i], cid_to_bytes(&links[i].target, cb));
        total += 1 + varint_len(body) + body;
    }
    if (has_data)
        total += 1 + varint_len(data_len) + data_len;
    uint8_t *out = malloc(total ? total : 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < nlinks; i++) {
        const pb_link *l = &links[i];
        size_t cl = cid_to_bytes(&l->target, cb);
        out[o++] = 0x12;
        o += varint_put(out + o, link_body_len(l, cl));
        out[o++] = 0x0a;
        o += varint_put(out + o, cl);
        memcpy(out + o, cb, cl);
        o += cl;
        out[o++] = 0x12;
        o += varint_put(out + o, l->name_len);
        if (l->name_len)
            memcpy(out + o, l->name, l->name_len);
        o += l->name_len;
        out[o++] = 0x18;
        o += varint_put(out + o, l->tsize);
    }
    if (has_data) {
        out[o++] = 0x0a;
        o += varint_put(out + o, data_len);
        if (data_len)
            memcpy(out + o, data, data_len);
        o += data_len;
    }
    *len = o;
    return out;
}

/* --- UnixFS Data ------------------------------------------------------------ */

static const char *const ufs_field_names[] = {"", "Type", "Data", "filesize", "blocksizes",
                                              "hashType", "fanout", "mode", "mtime"};

int ufs_decode(const uint8_t *buf, size_t len, ufs_data *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int has_type = 0, seen[9] = {0};
    size_t nbs = 0;
    /* pass 1: check everything and count blocksizes; pass 2: fill them */
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0;
        while (off < len) {
            uint64_t field, v;
            int wt;
            if (read_tag(buf, len, &off, &field, &wt) != 0)
                return ufs_data_free(out), ERR("unixfs: bad field tag at byte %zu", off);
            if (field < 1 || field > 8)
                return ufs_data_free(out), ERR("unixfs: unknown field %llu", (unsigned long long)field);
            const char *name = ufs_field_names[field];
            int want = (field == 2 || field == 8) ? WT_LEN : WT_VARINT;
            if (field == 4 && wt == WT_LEN) { /* packed blocksizes */
                const uint8_t *b;
                size_t n;
                if (read_bytes(buf, len, &off, &b, &n) != 0)
                    return ufs_data_free(out), ERR("unixfs: blocksizes truncated");
                size_t o2 = 0;
                while (o2 < n) {
                    if (read_varint(b, n, &o2, &v) != 0)
                        return ufs_data_free(out), ERR("unixfs: bad packed blocksizes");
                    if (pass == 0)
                        nbs++;
                    else
                        out->blocksizes[out->nblocksizes++] = v;
                }
                continue;
            }
            if (wt != want)
                return ufs_data_free(out), ERR("unixfs: %s has wire type %d", name, wt);
            if (pass == 0 && field != 4 && seen[field])
                return ERR("unixfs: %s repeated", name);
            seen[field] = 1;
            if (want == WT_LEN) {
                const uint8_t *b;
                size_t n;
                if (read_bytes(buf, len, &off, &b, &n) != 0)
                    return ufs_data_free(out), ERR("unixfs: %s truncated", name);
                if (field == 2) {
                    out->data = b;
                    out->data_len = n;
                    out->has_data = 1;
                }
                continue;
            }
            if (read_varint(buf, len, &off, &v) != 0)
                return ufs_data_free(out), ERR("unixfs: %s truncated", name);
            switch (field) {
            case 1:
                if (v > UFS_HAMT)
                    return ufs_data_free(out), ERR("unixfs: unknown Type %llu", (unsigned long long)v);
                out->type = (int)v;
                has_type = 1;
                break;
            case 3:
                out->filesize = v;
                out->has_filesize = 1;
                break;
            case 4:
                if (pass == 0)
                    nbs++;
                else
                    out->blocksizes[out->nblocksizes++] = v;
                break;
            default: /* hashType, fanout, mode: not needed here */
                break;
            }
        }
        if (pass == 0) {
            if (!has_type)
                return ERR("unixfs: no Type");
            if (!nbs)
                break;
            out->blocksizes = malloc(nbs * sizeof *out->blocksizes);
            if (!out->blocksizes)
                return ERR("unixfs: out of memory for %zu blocksizes", nbs);
        }
    }
    return 0;
}

void ufs_data_free(ufs_data *d)
{
    if (!d)
        return;
    free(d->blocksizes);
    d->blocksizes = NULL;
    d->nblocksizes = 0;
}

uint8_t *ufs_encode(const ufs_data *d, size_t *len)
{
    size_t total = 1 + varint_len((uint64_t)d->type);
    if (d->has_data)
        total += 1 + varint_len(d->data_len) + d->data_len;
    if (d->has_filesize)
        total += 1 + varint_len(d->filesize);
    for (size_t i = 0; i < d->nblocksizes; i++)
        total += 1 + varint_len(d->blocksizes[i]);
    uint8_t *out = malloc(total);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = 0x08;
    o += varint_put(out + o, (uint64_t)d->type);
    if (d->has_data) {
        out[o++] = 0x12;
        o += varint_put(out + o, d->data_len);
        if (d->data_len)
            memcpy(out + o, d->data, d->data_len);
        o += d->data_len;
    }
    if (d->has_filesize) {
        out[o++] = 0x18;
        o += varint_put(out + o, d->filesize);
    }
    for (size_t i = 0; i < d->nblocksizes; i++) {
        out[o++] = 0x20;
        o += varint_put(out + o, d->blocksizes[i]);
    }
    *len = o;
    return out;
}
