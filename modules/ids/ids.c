/* ids: see ids.h for the contract. */
#include "ids.h"

#include <openssl/sha.h>

#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

int ids_init(void) { return sodium_init() < 0 ? -1 : 0; }

size_t ids_b64url_encode(char *out, const uint8_t *in, size_t n)
{
    sodium_bin2base64(out, IDS_B64URL_LEN(n) + 1, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return IDS_B64URL_LEN(n);
}

/* libsodium 1.0.18 decodes every byte >= 0x80 as the 63rd digit, so the
 * alphabet is checked here: one text, one spelling. */
static int only_base64(const char *in, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(extra, c))))
            return 0;
    }
    return 1;
}

int ids_b64url_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n)
{
    const char *end;
    if (!only_base64(in, n, "-_"))
        return -1;
    if (sodium_base642bin(out, outcap, in, n, NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return end == in + n ? 0 : -1;
}

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Base conversion on a byte buffer: O(n^2), fine for keys and CIDs. */
size_t ids_base58_encode(char *out, size_t outcap, const uint8_t *in, size_t n)
{
    size_t zeros = 0;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    size_t size = (n - zeros) * 138 / 100 + 1; /* log(256)/log(58) */
    uint8_t digits[size ? size : 1];
    memset(digits, 0, sizeof digits);
    size_t used = 0; /* digits in use, from the end */
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
            carry += 256u * digits[k];
            digits[k] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    size_t skip = size - used;
    while (used && digits[skip] == 0)
        skip++, used--;
    size_t len = zeros + used;
    if (len + 1 > outcap)
        return 0;
    memset(out, '1', zeros);
    for (size_t k = 0; k < used; k++)
        out[zeros + k] = b58_alphabet[digits[skip + k]];
    out[len] = '\0';
    return len;
}

int ids_base58_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n)
{
    size_t zeros = 0;
    while (zeros < n && in[zeros] == '1')
        zeros++;
    size_t size = (n - zeros) * 733 / 1000 + 1; /* log(58)/log(256) */
    uint8_t bytes[size];
    memset(bytes, 0, size);
    size_t used = 0;
    for (size_t i = zeros; i < n; i++) {
        const char *p = memchr(b58_alphabet, in[i], sizeof b58_alphabet - 1);
        if (!p || in[i] == '\0')
            return -1;
        unsigned carry = (unsigned)(p - b58_alphabet);
        size_t j = 0;
        for (size_t k = size; k-- > 0 && (carry || j < used); j++) {
            carry += 58u * bytes[k];
            bytes[k] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    while (used && bytes[size - used] == 0)
        used--;
    if (zeros + used > outcap)
        return -1;
    memset(out, 0, zeros);
    memcpy(out + zeros, bytes + size - used, used);
    *outlen = zeros + used;
    return 0;
}

void ids_hex_encode(char *out, const uint8_t *in, size_t n) { sodium_bin2hex(out, 2 * n + 1, in, n); }

int ids_hex_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n)
{
    const char *end;
    if (n % 2 || sodium_hex2bin(out, outcap, in, n, NULL, outlen, &end) != 0)
        return -1;
    return end == in + n ? 0 : -1;
}

void ids_random(void *out, size_t n) { randombytes_buf(out, n); }

/* OpenSSL's, not libsodium's: it uses the CPU's SHA extensions (3-4 times
 * faster where present), and API bodies and content are hashed with it */
void ids_sha256(uint8_t out[IDS_SHA256_BYTES], const void *in, size_t n) { SHA256(in, n, out); }

void ids_blake2b(uint8_t *out, size_t outlen, const void *in, size_t n)
{
    crypto_generichash(out, outlen, in, n, NULL, 0);
}

void ids_leither_id(char *out, const uint8_t pk[IDS_PK_BYTES])
{
    uint8_t h[IDS_HASH160_BYTES];
    ids_blake2b(h, sizeof h, pk, IDS_PK_BYTES);
    ids_b64url_encode(out, h, sizeof h);
}

int ids_is_leither_id(const char *s)
{
    uint8_t h[IDS_HASH160_BYTES];
    size_t n;
    return s && strlen(s) == IDS_LID_LEN && ids_b64url_decode(h, sizeof h, &n, s, IDS_LID_LEN) == 0 &&
           n == IDS_HASH160_BYTES;
}

/* protobuf: field 1 (varint) KeyType Ed25519 = 1; field 2 (bytes) Data */
void ids_p2p_public_key(uint8_t out[IDS_P2P_PUB_BYTES], const uint8_t pk[IDS_PK_BYTES])
{
    out[0] = 0x08, out[1] = 0x01, out[2] = 0x12, out[3] = IDS_PK_BYTES;
    memcpy(out + 4, pk, IDS_PK_BYTES);
}

void ids_p2p_private_key(uint8_t out[IDS_P2P_PRIV_BYTES], const ids_key *key)
{
    out[0] = 0x08, out[1] = 0x01, out[2] = 0x12, out[3] = IDS_SK_BYTES;
    memcpy(out + 4, key->sk, IDS_SK_BYTES);
}

/* A malformed key: the reason in err. */
#define INVALID(...) (errbuf_set(err, errlen, __VA_ARGS__), IDS_INVALID)

enum ids_status ids_p2p_parse_private_key(ids_key *key, const uint8_t *in, size_t n, char *err, size_t errlen)
{
    if (n != IDS_P2P_PRIV_BYTES || in[0] != 0x08 || in[2] != 0x12 || in[3] != IDS_SK_BYTES)
        return INVALID("not a libp2p Ed25519 private key");
    if (in[1] != 0x01)
        return INVALID("key type %u is not Ed25519", in[1]);
    ids_key_from_seed(key, in + 4);
    if (sodium_memcmp(key->pk, in + 4 + IDS_SEED_BYTES, IDS_PK_BYTES) != 0) {
        sodium_memzero(key, sizeof *key);
        return INVALID("public half does not match the private key");
    }
    return IDS_OK;
}

void ids_peer_id(char *out, const uint8_t pk[IDS_PK_BYTES])
{
    /* identity multihash (code 0x00, length 36) of the 36-byte protobuf: the
     * spec inlines keys of at most 42 bytes instead of hashing them */
    uint8_t mh[2 + IDS_P2P_PUB_BYTES] = {0x00, IDS_P2P_PUB_BYTES};
    ids_p2p_public_key(mh + 2, pk);
    ids_base58_encode(out, IDS_PEERID_MAX, mh, sizeof mh);
}

void ids_key_generate(ids_key *key) { crypto_sign_keypair(key->pk, key->sk); }

void ids_key_from_seed(ids_key *key, const uint8_t seed[IDS_SEED_BYTES])
{
    crypto_sign_seed_keypair(key->pk, key->sk, seed);
}

enum ids_status ids_key_save(const ids_key *key, const char *path, char *err, size_t errlen)
{
    char lid[IDS_LID_LEN + 1], pid[IDS_PEERID_MAX];
    uint8_t proto[IDS_P2P_PRIV_BYTES];
    char b64[sodium_base64_ENCODED_LEN(IDS_P2P_PRIV_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    ids_leither_id(lid, key->pk);
    ids_peer_id(pid, key->pk);
    ids_p2p_private_key(proto, key);
    sodium_bin2base64(b64, sizeof b64, proto, sizeof proto, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(proto, sizeof proto);

    json_t *doc = json_pack("{s:s,s:s,s:s,s:s}", "type", "ed25519", "id", lid, "peer_id", pid, "private_key", b64);
    sodium_memzero(b64, sizeof b64);
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (!text)
        return ERR("%s: out of memory", path);

    int rc = atomicfile_write(path, text, strlen(text), 0600, err, errlen);
    sodium_memzero(text, strlen(text));
    free(text);
    return rc ? IDS_ERROR : IDS_OK;
}

enum ids_status ids_key_load(ids_key *key, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        if (jerr.line < 0)
            return ERR("cannot read key file %s: %s", path, jerr.text);
        return INVALID("%s:%d: malformed key file: %s", path, jerr.line, jerr.text);
    }
    const char *type = NULL, *id = NULL, *b64 = NULL;
    enum ids_status rc = IDS_INVALID;
    if (json_unpack(doc, "{s:s,s?s,s:s}", "type", &type, "id", &id, "private_key", &b64) != 0) {
        ERR("%s: key file needs \"type\" and \"private_key\" strings", path);
    } else if (strcmp(type, "ed25519") != 0) {
        ERR("%s: key type \"%s\" is not ed25519", path, type);
    } else {
        uint8_t proto[IDS_P2P_PRIV_BYTES + 8];
        size_t n;
        char why[128];
        if (!only_base64(b64, strlen(b64), "+/=") ||
            sodium_base642bin(proto, sizeof proto, b64, strlen(b64), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL))
            ERR("%s: \"private_key\" is not base64", path);
        else if (ids_p2p_parse_private_key(key, proto, n, why, sizeof why) != 0)
            ERR("%s: %s", path, why);
        else {
            char lid[IDS_LID_LEN + 1];
            ids_leither_id(lid, key->pk);
            if (id && strcmp(id, lid) != 0) {
                sodium_memzero(key, sizeof *key);
                ERR("%s: \"id\" %s does not match the key (%s)", path, id, lid);
            } else
                rc = IDS_OK;
        }
        sodium_memzero(proto, sizeof proto);
    }
    json_decref(doc);
    return rc;
}

void ids_sign(uint8_t sig[IDS_SIG_BYTES], const void *msg, size_t n, const ids_key *key)
{
    crypto_sign_detached(sig, NULL, msg, n, key->sk);
}

enum ids_status ids_verify(const uint8_t sig[IDS_SIG_BYTES], const void *msg, size_t n, const uint8_t pk[IDS_PK_BYTES])
{
    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? IDS_OK : IDS_BAD_SIGNATURE;
}

/* Feeds the file at path into an Ed25519ph state, 64 KiB at a time. */
static int hash_file(crypto_sign_state *st, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR("%s: %s", path, strerror(errno));
    uint8_t buf[65536];
    ssize_t r;
    crypto_sign_init(st);
    while ((r = read(fd, buf, sizeof buf)) > 0)
        crypto_sign_update(st, buf, (unsigned long long)r);
    int saved = errno;
    close(fd);
    if (r < 0)
        return ERR("%s: %s", path, strerror(saved));
    return 0;
}

enum ids_status ids_sign_file(uint8_t sig[IDS_SIG_BYTES], const char *path, const ids_key *key, char *err,
                              size_t errlen)
{
    crypto_sign_state st;
    if (hash_file(&st, path, err, errlen) != 0)
        return IDS_ERROR;
    crypto_sign_final_create(&st, sig, NULL, key->sk);
    return IDS_OK;
}

enum ids_status ids_verify_file(const uint8_t sig[IDS_SIG_BYTES], const char *path, const uint8_t pk[IDS_PK_BYTES],
                                char *err, size_t errlen)
{
    crypto_sign_state st;
    if (hash_file(&st, path, err, errlen) != 0)
        return IDS_ERROR;
    if (crypto_sign_final_verify(&st, sig, pk) != 0)
        return errbuf_set(err, errlen, "%s: bad signature", path), IDS_BAD_SIGNATURE;
    return IDS_OK;
}

const char *ids_strerror(enum ids_status status)
{
    switch (status) {
    case IDS_OK: return "ok";
    case IDS_INVALID: return "invalid key";
    case IDS_BAD_SIGNATURE: return "bad signature";
    case IDS_ERROR: break;
    }
    return "I/O error";
}
