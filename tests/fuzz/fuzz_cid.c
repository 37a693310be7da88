/*
 * fuzz_cid: CIDs (store.h) in text and binary forms.
 *
 * The input goes, as text, to cid_parse and, as bytes, to cid_from_bytes;
 * its bytes also make a CID of their own. Any violated property ends in
 * __builtin_trap().
 *
 * Properties:
 *   text    a parsed CID formats and parses back to itself; when the input
 *           was already canonical ("Qm..." or "b..." lower case) it formats
 *           to exactly the input. A refusal leaves a one-line reason.
 *   binary  cid_from_bytes reads a prefix; cid_to_bytes writes exactly that
 *           prefix back.
 *   made    any version/codec/digest survives bytes and text round trips.
 *   multibase  multibase_decode writes within its cap and agrees with
 *           cid_parse on what both read; an identity CID's inline bytes
 *           lie inside the decoded CID and within CID_IDENTITY_MAX.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

static void check_text(const char *text, size_t n)
{
    cid c, d;
    char err[256];
    err[0] = '\0';
    if (cid_parse(text, n, &c, err, sizeof err) != 0) {
        if (!err[0] || strchr(err, '\n') || !memchr(err, '\0', sizeof err))
            __builtin_trap();
        return;
    }
    char out[CID_TEXT_MAX];
    size_t len = cid_format(&c, out);
    if (len >= CID_TEXT_MAX || strlen(out) != len)
        __builtin_trap();
    if (cid_parse(out, len, &d, err, sizeof err) != 0 || !cid_equal(&c, &d))
        __builtin_trap();
    if ((text[0] == 'Q' || text[0] == 'b') && (len != n || memcmp(out, text, n) != 0))
        __builtin_trap();
}

static void check_bytes(const uint8_t *p, size_t n)
{
    cid c;
    size_t used = cid_from_bytes(p, n, &c);
    if (!used)
        return;
    uint8_t again[CID_BIN_MAX];
    if (used > n || used > CID_BIN_MAX || cid_to_bytes(&c, again) != used || memcmp(again, p, used) != 0)
        __builtin_trap();
}

static void check_made(const uint8_t *p, size_t n)
{
    if (n < 1 + CID_DIGEST_LEN)
        return;
    cid c, d;
    c.version = p[0] & 1;
    c.codec = c.version && (p[0] & 2) ? CID_CODEC_RAW : CID_CODEC_DAG_PB;
    memcpy(c.digest, p + 1, CID_DIGEST_LEN);
    uint8_t bin[CID_BIN_MAX];
    size_t bl = cid_to_bytes(&c, bin);
    if (cid_from_bytes(bin, bl, &d) != bl || !cid_equal(&c, &d))
        __builtin_trap();
    char text[CID_TEXT_MAX], err[256];
    size_t tl = cid_format(&c, text);
    if (cid_parse(text, tl, &d, err, sizeof err) != 0 || !cid_equal(&c, &d))
        __builtin_trap();
    uint8_t mh[MH_LEN];
    cid_multihash(&c, mh);
    if (memcmp(mh + 2, c.digest, CID_DIGEST_LEN) != 0)
        __builtin_trap();
}

static void check_multibase(const char *text, size_t n)
{
    uint8_t out[64], bin[CID_BIN_MAX];
    int got = multibase_decode(text, n, out, sizeof out);
    if (got < -1 || got > (int)sizeof out)
        __builtin_trap();
    cid c;
    char err[256];
    if (got > 0 && text[0] != 'k' && text[0] != 'K' && cid_parse(text, n, &c, err, sizeof err) == 0 &&
        (cid_to_bytes(&c, bin) != (size_t)got || memcmp(bin, out, (size_t)got)))
        __builtin_trap();
    uint32_t codec;
    const uint8_t *inline_data;
    size_t len;
    if (got > 0 && cid_identity(out, (size_t)got, &codec, &inline_data, &len) &&
        (len > CID_IDENTITY_MAX || inline_data < out || inline_data + len != out + got))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so reading past n is caught by ASan */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    check_text(text, size);
    check_bytes((const uint8_t *)text, size);
    check_made(data, size);
    check_multibase(text, size);
    free(text);
    return 0;
}
