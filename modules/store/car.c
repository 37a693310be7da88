/*
 * car: CARv1, the archive the trustless gateway serves and `dag import`
 * reads. A varint-framed dag-cbor header {"roots": [CID...], "version": 1},
 * then sections: varint(len(CID) + len(block)), the binary CID, the block.
 * The header needs only a few CBOR items, written and read here by hand.
 */
#include "store.h"

#include <string.h>

#include "errbuf.h"

#define CBOR_TAG_CID 42

/* a CBOR head: major type and argument */
static size_t cbor_head(uint8_t *out, int major, uint64_t arg)
{
    uint8_t m = (uint8_t)(major << 5);
    if (arg < 24) {
        out[0] = m | (uint8_t)arg;
        return 1;
    }
    if (arg < 256) {
        out[0] = m | 24, out[1] = (uint8_t)arg;
        return 2;
    }
    out[0] = m | 25, out[1] = (uint8_t)(arg >> 8), out[2] = (uint8_t)arg;
    return 3; /* header items are small: nothing here needs more */
}

/* The header with roots given in binary form. */
static size_t header_of(uint8_t *out, size_t cap, const uint8_t *const *bins, const size_t *lens, size_t nroots)
{
    /* the body first, into a bounded scratch, then its length in front */
    uint8_t body[64 + 48 * 16 + CID_IDENTITY_MAX];
    size_t n = 0;
    n += cbor_head(body + n, 5, 2); /* map of 2: keys sorted by length, as dag-cbor wants */
    n += cbor_head(body + n, 3, 5);
    memcpy(body + n, "roots", 5), n += 5;
    n += cbor_head(body + n, 4, nroots);
    for (size_t i = 0; i < nroots; i++) {
        n += cbor_head(body + n, 6, CBOR_TAG_CID);
        n += cbor_head(body + n, 2, lens[i] + 1);
        body[n++] = 0x00; /* the multibase "identity" prefix dag-cbor puts before binary CIDs */
        memcpy(body + n, bins[i], lens[i]), n += lens[i];
    }
    n += cbor_head(body + n, 3, 7);
    memcpy(body + n, "version", 7), n += 7;
    n += cbor_head(body + n, 0, 1);
    uint8_t len[10];
    size_t ll = varint_put(len, n);
    if (ll + n <= cap) {
        memcpy(out, len, ll);
        memcpy(out + ll, body, n);
    }
    return ll + n;
}

size_t car_header(uint8_t *out, size_t cap, const cid *roots, size_t nroots)
{
    uint8_t bin[16][CID_BIN_MAX];
    const uint8_t *bins[16];
    size_t lens[16];
    if (nroots > 16)
        nroots = 16;
    for (size_t i = 0; i < nroots; i++)
        lens[i] = cid_to_bytes(&roots[i], bin[i]), bins[i] = bin[i];
    return header_of(out, cap, bins, lens, nroots);
}

size_t car_header_bin(uint8_t *out, size_t cap, const uint8_t *root, size_t root_len)
{
    if (root_len > CID_IDENTITY_MAX + 16)
        return 0;
    return header_of(out, cap, &root, &root_len, 1);
}

size_t car_section_start(uint8_t *out, const cid *c, size_t block_len)
{
    uint8_t bin[CID_BIN_MAX];
    size_t bl = cid_to_bytes(c, bin);
    size_t n = varint_put(out, bl + block_len);
    memcpy(out + n, bin, bl);
    return n + bl;
}

/* --- reading ------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len, off;
} cursor;

/* Reads a CBOR head; -1 when truncated or not a definite small item. */
static int read_head(cursor *c, int *major, uint64_t *arg)
{
    if (c->off >= c->len)
        return -1;
    uint8_t b = c->p[c->off++];
    *major = b >> 5;
    int info = b & 31;
    if (info < 24) {
        *arg = (uint64_t)info;
        return 0;
    }
    int bytes = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
    if (!bytes || c->len - c->off < (size_t)bytes)
        return -1;
    *arg = 0;
    for (int i = 0; i < bytes; i++)
        *arg = *arg << 8 | c->p[c->off++];
    return 0;
}

static int read_text(cursor *c, const char **s, size_t *n)
{
    int major;
    uint64_t len;
    if (read_head(c, &major, &len) || major != 3 || len > c->len - c->off)
        return -1;
    *s = (const char *)c->p + c->off, *n = (size_t)len;
    c->off += (size_t)len;
    return 0;
}

int car_read_header(const uint8_t *p, size_t len, cid *roots, size_t max_roots, size_t *nroots, size_t *used,
                    char *err, size_t errlen)
{
    uint64_t hlen;
    size_t vl = varint_get(p, len, &hlen);
    if (!vl || hlen > len - vl)
        return ERR("CAR header is truncated");
    if (hlen > 1 << 20)
        return ERR("CAR header is too large (%llu bytes)", (unsigned long long)hlen);
    cursor c = {p + vl, (size_t)hlen, 0};
    int major;
    uint64_t arg, entries;
    if (read_head(&c, &major, &entries) || major != 5)
        return ERR("CAR header is not a dag-cbor map");
    int version = 0, have_roots = 0;
    *nroots = 0;
    for (uint64_t e = 0; e < entries; e++) {
        const char *key;
        size_t kl;
        if (read_text(&c, &key, &kl))
            return ERR("CAR header: keys must be text");
        if (kl == 7 && !memcmp(key, "version", 7)) {
            if (read_head(&c, &major, &arg) || major != 0)
                return ERR("CAR header: version is not a number");
            version = (int)(arg > 100 ? 100 : arg);
        } else if (kl == 5 && !memcmp(key, "roots", 5)) {
            uint64_t count;
            if (read_head(&c, &major, &count) || major != 4)
                return ERR("CAR header: roots is not an array");
            for (uint64_t i = 0; i < count; i++) {
                uint64_t blen;
                if (read_head(&c, &major, &arg) || major != 6 || arg != CBOR_TAG_CID ||
                    read_head(&c, &major, &blen) || major != 2 || blen > c.len - c.off || blen < 2 ||
                    c.p[c.off] != 0x00)
                    return ERR("CAR header: a root is not a CID");
                cid r;
                if (cid_from_bytes(c.p + c.off + 1, (size_t)blen - 1, &r) != blen - 1)
                    return ERR("CAR header: unsupported root CID");
                c.off += (size_t)blen;
                if (*nroots < max_roots)
                    roots[(*nroots)++] = r;
            }
            have_roots = 1;
        } else {
            return ERR("CAR header: unexpected key '%.*s'", (int)(kl > 40 ? 40 : kl), key);
        }
    }
    if (version == 2)
        return ERR("CARv2 is not supported: send CARv1");
    if (version != 1 || !have_roots)
        return ERR("not a CARv1 header (version %d)", version);
    if (c.off != c.len)
        return ERR("CAR header: trailing bytes");
    *used = vl + (size_t)hlen;
    return 0;
}

int car_next(const uint8_t *p, size_t len, size_t *off, cid *c, const uint8_t **block, size_t *block_len, char *err,
             size_t errlen)
{
    if (*off >= len)
        return 0;
    uint64_t slen;
    size_t vl = varint_get(p + *off, len - *off, &slen);
    if (!vl)
        return ERR("CAR section at byte %zu: bad length", *off);
    if (slen > len - *off - vl)
        return ERR("CAR section at byte %zu is truncated", *off);
    const uint8_t *s = p + *off + vl;
    size_t cl = cid_from_bytes(s, (size_t)slen, c);
    if (!cl)
        return ERR("CAR section at byte %zu: not a supported CID", *off);
    *block = s + cl;
    *block_len = (size_t)slen - cl;
    *off += vl + (size_t)slen;
    return 1;
}
