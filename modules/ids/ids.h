/*
 * ids: identities, encodings, hashes and signatures.
 *
 * Every key in Leither is an ed25519 key pair (libsodium). From its public
 * key come two names:
 *   - the Leither ID: base64url, no padding, of BLAKE2b-160(public key);
 *     always IDS_LID_LEN (27) characters;
 *   - the libp2p peer ID: base58btc of the identity multihash of the
 *     protobuf PublicKey {Type: Ed25519, Data: public key}, as the libp2p
 *     peer-id spec says; it starts with "12D3KooW".
 *
 * Call ids_init() once before anything else. Functions returning int give
 * 0 on success and -1 on failure; those taking `err` then write a one-line
 * reason there (never longer than errlen - 1, always NUL-terminated).
 * Nothing here allocates except where a function says so.
 */
#ifndef LEITHER_IDS_H
#define LEITHER_IDS_H

#include <stddef.h>
#include <stdint.h>

#define IDS_PK_BYTES 32   /* ed25519 public key */
#define IDS_SK_BYTES 64   /* libsodium secret key: seed || public key */
#define IDS_SEED_BYTES 32 /* ed25519 seed */
#define IDS_SIG_BYTES 64  /* ed25519 signature */
#define IDS_HASH160_BYTES 20
#define IDS_SHA256_BYTES 32
#define IDS_LID_LEN 27    /* characters of a Leither ID, without the NUL */
#define IDS_PEERID_MAX 64 /* room for a peer ID string and its NUL */

/* base64url (no padding) length of n bytes, without the NUL */
#define IDS_B64URL_LEN(n) (((n) * 4 + 2) / 3)

typedef struct {
    uint8_t pk[IDS_PK_BYTES];
    uint8_t sk[IDS_SK_BYTES];
} ids_key;

/* Initializes libsodium. Safe to call more than once. */
int ids_init(void);

/* Why a key or signature operation failed (errbuf.h). */
enum ids_status {
    IDS_ERROR = -1,        /* I/O or memory: the file could not be read or written */
    IDS_OK = 0,
    IDS_INVALID = 1,       /* a malformed key or key file */
    IDS_BAD_SIGNATURE = 2  /* the signature does not hold */
};
/* The kind's name ("bad signature", ...): a static string. */
const char *ids_strerror(enum ids_status status);

/* --- encodings ---------------------------------------------------------- */

/* base64url without padding; out needs IDS_B64URL_LEN(n) + 1 bytes.
 * Returns the length written (without the NUL). */
size_t ids_b64url_encode(char *out, const uint8_t *in, size_t n);
/* Decodes base64url (padding not accepted); *outlen gets the byte count.
 * Fails on bad characters, bad length, or more than outcap bytes. */
int ids_b64url_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n);

/* base58btc (Bitcoin alphabet). encode returns the length written without the
 * NUL, or 0 when outcap is too small (a non-empty input never encodes to ""). */
size_t ids_base58_encode(char *out, size_t outcap, const uint8_t *in, size_t n);
int ids_base58_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n);

/* Lowercase hex; out needs 2n + 1 bytes. */
void ids_hex_encode(char *out, const uint8_t *in, size_t n);
int ids_hex_decode(uint8_t *out, size_t outcap, size_t *outlen, const char *in, size_t n);

/* Cryptographically secure random bytes. */
void ids_random(void *out, size_t n);

/* --- hashes ------------------------------------------------------------- */

void ids_sha256(uint8_t out[IDS_SHA256_BYTES], const void *in, size_t n);
/* BLAKE2b with a digest of outlen bytes (16..64). */
void ids_blake2b(uint8_t *out, size_t outlen, const void *in, size_t n);

/* --- identities --------------------------------------------------------- */

/* Leither ID of a public key; out needs IDS_LID_LEN + 1 bytes. */
void ids_leither_id(char *out, const uint8_t pk[IDS_PK_BYTES]);
/* Nonzero when s is 27 base64url characters (the shape of a Leither ID). */
int ids_is_leither_id(const char *s);
/* libp2p peer ID of a public key; out needs IDS_PEERID_MAX bytes. */
void ids_peer_id(char *out, const uint8_t pk[IDS_PK_BYTES]);
/* libp2p protobuf encodings: PublicKey is 36 bytes, PrivateKey 68 bytes. */
#define IDS_P2P_PUB_BYTES 36
#define IDS_P2P_PRIV_BYTES 68
void ids_p2p_public_key(uint8_t out[IDS_P2P_PUB_BYTES], const uint8_t pk[IDS_PK_BYTES]);
void ids_p2p_private_key(uint8_t out[IDS_P2P_PRIV_BYTES], const ids_key *key);
/* Parses a libp2p PrivateKey protobuf (Ed25519, 64-byte data); fails when the
 * public half does not match the one derived from the seed. */
enum ids_status ids_p2p_parse_private_key(ids_key *key, const uint8_t *in, size_t n, char *err, size_t errlen);

/* --- keys and signatures ------------------------------------------------ */

void ids_key_generate(ids_key *key);
void ids_key_from_seed(ids_key *key, const uint8_t seed[IDS_SEED_BYTES]);

/* Key files are JSON: {"type":"ed25519","id":LID,"peer_id":...,
 * "private_key": base64 of the libp2p PrivateKey protobuf}, mode 0600,
 * written to a temporary file and renamed, so a crash never leaves half a
 * key. Loading checks that "id" matches the key: IDS_ERROR when the file
 * cannot be read, IDS_INVALID when it is not a key file of this key. */
enum ids_status ids_key_save(const ids_key *key, const char *path, char *err, size_t errlen);
enum ids_status ids_key_load(ids_key *key, const char *path, char *err, size_t errlen);

void ids_sign(uint8_t sig[IDS_SIG_BYTES], const void *msg, size_t n, const ids_key *key);
/* IDS_OK when sig is pk's signature of msg, else IDS_BAD_SIGNATURE. */
enum ids_status ids_verify(const uint8_t sig[IDS_SIG_BYTES], const void *msg, size_t n, const uint8_t pk[IDS_PK_BYTES]);

/* Files are signed with Ed25519ph (RFC 8032 prehash), read in a stream so
 * that a file of any size takes constant memory: IDS_ERROR with err when the
 * file cannot be read, IDS_BAD_SIGNATURE with err when the signature does
 * not hold. */
enum ids_status ids_sign_file(uint8_t sig[IDS_SIG_BYTES], const char *path, const ids_key *key, char *err,
                              size_t errlen);
enum ids_status ids_verify_file(const uint8_t sig[IDS_SIG_BYTES], const char *path, const uint8_t pk[IDS_PK_BYTES],
                    char *err, size_t errlen);

#endif
