/*
 * fuzz_decode: the decoders of modules/ids (ids.h) and their round trips.
 *
 * The input goes, as text, to the base58, base64url and hex decoders and to
 * ids_is_leither_id, and, as bytes, to the encoders and to
 * ids_p2p_parse_private_key. Any violated property ends in __builtin_trap().
 *
 * Round trips checked:
 *   base58  text -> bytes -> text is the identity. This does hold with
 *           leading '1's: decode turns each leading '1' into one 0x00 byte
 *           and the rest into a number whose first digit is not '1' (zero),
 *           so that number's bytes have no leading 0x00, and encode turns
 *           exactly those leading 0x00 bytes back into '1's. (Base58btc with
 *           that rule is a bijection between byte strings and strings over
 *           its alphabet.) bytes -> text -> bytes is checked as well.
 *   base64url  text -> bytes -> text is the identity: no padding is
 *           accepted and unused low bits must be zero, so every byte string
 *           has exactly one encoding (this matters: a Leither ID with two
 *           spellings would slip past string comparison of grants).
 *   hex     text -> bytes -> text is the identity up to letter case
 *           (decode takes upper case, encode writes lower case).
 *   p2p private key  a parsed key re-serializes to the same 68 bytes, and a
 *           key made from any 32-byte seed serializes to something that
 *           parses back to it.
 */
#include "ids.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_base58(const char *text, const uint8_t *data, size_t n)
{
    uint8_t *bytes = malloc(n + 1);
    size_t cap = 2 * n + 2; /* an encoding is at most ~1.37 chars a byte */
    char *again = malloc(cap);
    if (!bytes || !again)
        goto out;

    size_t got = (size_t)-1;
    if (ids_base58_decode(bytes, n + 1, &got, text, n) == 0) {
        if (got > n)
            __builtin_trap();
        size_t len = ids_base58_encode(again, cap, bytes, got);
        if (len != n || memcmp(again, text, n) != 0 || again[len] != '\0')
            __builtin_trap();
        /* an output buffer without room for the NUL is refused */
        if (n > 0 && ids_base58_encode(again, n, bytes, got) != 0)
            __builtin_trap();
    }

    /* bytes -> text -> bytes */
    size_t len = ids_base58_encode(again, cap, data, n);
    if (n > 0 && len == 0)
        __builtin_trap();
    if (len >= cap || again[len] != '\0' || strlen(again) != len)
        __builtin_trap();
    if (ids_base58_decode(bytes, n + 1, &got, again, len) != 0 || got != n || (n && memcmp(bytes, data, n) != 0))
        __builtin_trap();
    /* decoding into a buffer one byte short must fail, not overflow */
    if (n > 0) {
        uint8_t *tight = malloc(n - 1 ? n - 1 : 1);
        if (tight && ids_base58_decode(tight, n - 1, &got, again, len) == 0)
            __builtin_trap();
        free(tight);
    }
out:
    free(again);
    free(bytes);
}

static void check_b64url(const char *text, const uint8_t *data, size_t n)
{
    uint8_t *bytes = malloc(n + 1);
    char *again = malloc(IDS_B64URL_LEN(n) + 1);
    if (!bytes || !again)
        goto out;

    size_t got = (size_t)-1;
    if (ids_b64url_decode(bytes, n + 1, &got, text, n) == 0) {
        if (got > n || IDS_B64URL_LEN(got) != n)
            __builtin_trap();
        size_t len = ids_b64url_encode(again, bytes, got);
        if (len != n || memcmp(again, text, n) != 0)
            __builtin_trap();
    }

    size_t len = ids_b64url_encode(again, data, n);
    if (len != IDS_B64URL_LEN(n) || strlen(again) != len)
        __builtin_trap();
    if (ids_b64url_decode(bytes, n + 1, &got, again, len) != 0 || got != n || (n && memcmp(bytes, data, n) != 0))
        __builtin_trap();
out:
    free(again);
    free(bytes);
}

static void check_hex(const char *text, const uint8_t *data, size_t n)
{
    uint8_t *bytes = malloc(n + 1);
    char *again = malloc(2 * n + 1);
    if (!bytes || !again)
        goto out;

    size_t got = (size_t)-1;
    if (ids_hex_decode(bytes, n + 1, &got, text, n) == 0) {
        if (2 * got != n)
            __builtin_trap();
        ids_hex_encode(again, bytes, got);
        for (size_t i = 0; i < n; i++)
            if (again[i] != tolower((unsigned char)text[i]))
                __builtin_trap();
    }

    ids_hex_encode(again, data, n);
    if (strlen(again) != 2 * n)
        __builtin_trap();
    if (ids_hex_decode(bytes, n + 1, &got, again, 2 * n) != 0 || got != n || (n && memcmp(bytes, data, n) != 0))
        __builtin_trap();
out:
    free(again);
    free(bytes);
}

static void check_leither_id(const char *text, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return;
    memcpy(s, text, n);
    s[n] = '\0';
    if (ids_is_leither_id(s)) {
        uint8_t h[IDS_HASH160_BYTES + 1];
        size_t got;
        char again[IDS_LID_LEN + 1];
        if (strlen(s) != IDS_LID_LEN || ids_b64url_decode(h, sizeof h, &got, s, IDS_LID_LEN) != 0 ||
            got != IDS_HASH160_BYTES)
            __builtin_trap();
        ids_b64url_encode(again, h, IDS_HASH160_BYTES);
        if (strcmp(again, s) != 0)
            __builtin_trap();
    }
    free(s);
}

static void check_p2p(const uint8_t *data, size_t n)
{
    ids_key key;
    char err[128];
    memset(err, 0, sizeof err);
    int rc = ids_p2p_parse_private_key(&key, data, n, err, sizeof err);
    if (rc == 0) {
        uint8_t again[IDS_P2P_PRIV_BYTES];
        ids_p2p_private_key(again, &key);
        if (n != IDS_P2P_PRIV_BYTES || memcmp(again, data, n) != 0)
            __builtin_trap();
    } else if (rc != IDS_INVALID || err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL) {
        __builtin_trap();
    }

    /* a key made from the input's first 32 bytes survives the trip */
    if (n >= IDS_SEED_BYTES) {
        ids_key made, parsed;
        uint8_t proto[IDS_P2P_PRIV_BYTES];
        ids_key_from_seed(&made, data);
        ids_p2p_private_key(proto, &made);
        if (ids_p2p_parse_private_key(&parsed, proto, sizeof proto, err, sizeof err) != 0 ||
            memcmp(&parsed, &made, sizeof made) != 0)
            __builtin_trap();
        /* and a flipped bit in the public half is refused */
        proto[IDS_P2P_PRIV_BYTES - 1] ^= 1;
        if (ids_p2p_parse_private_key(&parsed, proto, sizeof proto, err, sizeof err) == 0)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ids_init() != 0)
            __builtin_trap();
        ready = 1;
    }
    /* an exact-size copy, so a decoder reading past n is caught by ASan */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);

    check_base58(text, data, size);
    check_b64url(text, data, size);
    check_hex(text, data, size);
    check_leither_id(text, size);
    check_p2p(data, size);

    free(text);
    return 0;
}
