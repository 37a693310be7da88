/*
 * cid: content identifiers as IPFS writes them.
 *   v0: base58btc of the multihash (always dag-pb, sha2-256): "Qm..."
 *   v1: multibase prefix + (varint 1, varint codec, multihash): "bafy..."
 */
#include "store.h"

#include "ids.h"

#include <openssl/sha.h>
#include <string.h>

#include "errbuf.h"

void store_sha256(uint8_t out[CID_DIGEST_LEN], const void *data, size_t len) { SHA256(data, len, out); }

size_t varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < len && i < 9; i++) { /* multiformats caps varints at 9 bytes */
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i > 0 && p[i] == 0)
                return 0; /* not minimal */
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

void cid_of_block(cid *out, int version, uint32_t codec, const void *block, size_t len)
{
    out->version = (uint8_t)version;
    out->codec = version == 0 ? CID_CODEC_DAG_PB : codec;
    store_sha256(out->digest, block, len);
}

void cid_multihash(const cid *c, uint8_t out[MH_LEN])
{
    out[0] = 0x12;
    out[1] = 0x20;
    memcpy(out + 2, c->digest, CID_DIGEST_LEN);
}

int cid_equal(const cid *a, const cid *b)
{
    return a->version == b->version && a->codec == b->codec && !memcmp(a->digest, b->digest, CID_DIGEST_LEN);
}

size_t cid_to_bytes(const cid *c, uint8_t out[CID_BIN_MAX])
{
    size_t n = 0;
    if (c->version == 1) {
        n += varint_put(out + n, 1);
        n += varint_put(out + n, c->codec);
    }
    cid_multihash(c, out + n);
    return n + MH_LEN;
}

/* the multihash at p: sha2-256 only */
static size_t read_multihash(const uint8_t *p, size_t len, uint8_t digest[CID_DIGEST_LEN])
{
    if (len < MH_LEN || p[0] != 0x12 || p[1] != 0x20)
        return 0;
    memcpy(digest, p + 2, CID_DIGEST_LEN);
    return MH_LEN;
}

size_t cid_from_bytes(const uint8_t *p, size_t len, cid *out)
{
    if (len >= 2 && p[0] == 0x12 && p[1] == 0x20) {
        out->version = 0;
        out->codec = CID_CODEC_DAG_PB;
        return read_multihash(p, len, out->digest);
    }
    uint64_t version, codec;
    size_t a = varint_get(p, len, &version);
    if (!a || version != 1)
        return 0;
    size_t b = varint_get(p + a, len - a, &codec);
    if (!b || (codec != CID_CODEC_RAW && codec != CID_CODEC_DAG_PB))
        return 0;
    size_t m = read_multihash(p + a + b, len - a - b, out->digest);
    if (!m)
        return 0;
    out->version = 1;
    out->codec = (uint32_t)codec;
    return a + b + m;
}

/* --- multibase ----------------------------------------------------------- */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static size_t base32_encode(char *out, const uint8_t *in, size_t n)
{
    size_t o = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(buf << (5 - bits)) & 31];
    return o;
}

/* upper: accept A-Z instead of a-z. Returns the length, or -1. */
static int base32_decode(uint8_t *out, size_t cap, const char *in, size_t n, int upper)
{
    size_t o = 0;
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        int v;
        if (ch >= (upper ? 'A' : 'a') && ch <= (upper ? 'Z' : 'z'))
            v = ch - (upper ? 'A' : 'a');
        else if (ch >= '2' && ch <= '7')
            v = ch - '2' + 26;
        else
            return -1;
        buf = (buf << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (o == cap)
                return -1;
            out[o++] = (uint8_t)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits >= 5 || (buf & ((1u << bits) - 1)))
        return -1; /* padding bits must be zero, and no whole spare symbol */
    return (int)o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int hexval_any(char c) { return hexval(c >= 'A' && c <= 'F' ? (char)(c | 0x20) : c); }

/* base36 (0-9 then a-z; upper: A-Z), big-endian like base58: leading '0's
 * are zero bytes. Returns the length, or -1. */
static int base36_decode(uint8_t *out, size_t cap, const char *in, size_t n, int upper)
{
    size_t zeros = 0, used = 0; /* used: bytes of the number, at the end of out */
    while (zeros < n && in[zeros] == '0')
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        char ch = in[i];
        unsigned v;
        if (ch >= '0' && ch <= '9')
            v = (unsigned)(ch - '0');
        else if (ch >= (upper ? 'A' : 'a') && ch <= (upper ? 'Z' : 'z'))
            v = (unsigned)(ch - (upper ? 'A' : 'a')) + 10;
        else
            return -1;
        unsigned carry = v;
        for (size_t k = 0; k < used || carry; k++) {
            if (k == used) {
                if (used == cap)
                    return -1;
                out[cap - 1 - used++] = 0;
            }
            carry += 36u * out[cap - 1 - k];
            out[cap - 1 - k] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + used > cap)
        return -1;
    memmove(out + zeros, out + cap - used, used);
    memset(out, 0, zeros);
    return (int)(zeros + used);
}

int multibase_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
    if (len < 2 || len > MULTIBASE_TEXT_MAX)
        return -1;
    const char *in = text + 1;
    size_t n = len - 1;
    switch (text[0]) {
    case 'b':
    case 'B': return base32_decode(out, cap, in, n, text[0] == 'B');
    case 'k':
    case 'K': return base36_decode(out, cap, in, n, text[0] == 'K');
    case 'z': {
        size_t got;
        return ids_base58_decode(out, cap, &got, in, n) == 0 ? (int)got : -1;
    }
    case 'f':
    case 'F':
        if (n % 2 || n / 2 > cap)
            return -1;
        for (size_t i = 0; i < n / 2; i++) { /* either case: nothing is ambiguous */
            int hi = hexval_any(in[2 * i]), lo = hexval_any(in[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        return (int)(n / 2);
    default: return -1;
    }
}

int cid_identity(const uint8_t *bin, size_t n, uint32_t *codec, const uint8_t **data, size_t *dlen)
{
    uint64_t version, cc, code, len;
    size_t a = varint_get(bin, n, &version);
    if (!a || version != 1)
        return 0;
    size_t b = varint_get(bin + a, n - a, &cc);
    if (!b || cc > UINT32_MAX)
        return 0;
    size_t c = varint_get(bin + a + b, n - a - b, &code);
    if (!c || code != 0x00)
        return 0;
    size_t at = a + b + c;
    size_t d = varint_get(bin + at, n - at, &len);
    if (!d || len > CID_IDENTITY_MAX || len != n - at - d)
        return 0; /* the digest must be exactly the rest */
    *codec = (uint32_t)cc;
    *data = bin + at + d;
    *dlen = (size_t)len;
    return 1;
}

size_t cid_format(const cid *c, char *out)
{
    uint8_t bin[CID_BIN_MAX];
    size_t n = cid_to_bytes(c, bin);
    size_t len;
    if (c->version == 0) {
        len = ids_base58_encode(out, CID_TEXT_MAX, bin, n);
    } else {
        out[0] = 'b';
        len = 1 + base32_encode(out + 1, bin, n);
    }
    out[len] = '\0';
    return len;
}

int cid_parse(const char *text, size_t len, cid *out, char *err, size_t errlen)
{
    uint8_t bin[CID_BIN_MAX + 8] = {0};
    size_t n = 0;
    /* the input as reasons show it: at most 80 bytes, control bytes as '?', so
     * a reason stays one line */
    char shown[81];
    size_t ns = len > 80 ? 80 : len;
    for (size_t i = 0; i < ns; i++)
        shown[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
    shown[ns] = '\0';
    if (len == 46 && text[0] == 'Q' && text[1] == 'm') {
        if (ids_base58_decode(bin, sizeof bin, &n, text, len) != 0 || n != MH_LEN)
            return ERR("invalid CID '%.*s': not base58btc", (int)ns, shown);
    } else if (len > 1 && len < 128) {
        int got = -1;
        if (text[0] == 'b' || text[0] == 'B')
            got = base32_decode(bin, sizeof bin, text + 1, len - 1, text[0] == 'B');
        else if (text[0] == 'z')
            got = ids_base58_decode(bin, sizeof bin, &n, text + 1, len - 1) == 0 ? (int)n : -1;
        else if (text[0] == 'f' && len % 2 == 1 && (len - 1) / 2 <= sizeof bin) {
            got = (int)((len - 1) / 2);
            for (int i = 0; i < got; i++) {
                int hi = hexval(text[1 + 2 * i]), lo = hexval(text[2 + 2 * i]);
                if (hi < 0 || lo < 0) {
                    got = -1;
                    break;
                }
                bin[i] = (uint8_t)(hi << 4 | lo);
            }
        } else
            return ERR("invalid CID '%.*s': unknown multibase", (int)ns, shown);
        if (got < 0)
            return ERR("invalid CID '%.*s': bad multibase encoding", (int)ns, shown);
        n = (size_t)got;
        if (n >= 2 && bin[0] == 0x12 && bin[1] == 0x20)
            return ERR("invalid CID '%.*s': a v0 multihash under a multibase prefix", (int)ns, shown);
    } else {
        return ERR("invalid CID '%.*s'", (int)ns, shown);
    }
    size_t used = cid_from_bytes(bin, n, out);
    if (!used || used != n)
        return ERR("invalid CID '%.*s': only CIDv0/v1 with sha2-256 and the dag-pb or raw codec are supported",
                   (int)ns, shown);
    return 0;
}
