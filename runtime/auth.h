/*
 * auth: signed API requests.
 *
 * A request that changes state carries
 *   Authorization: Leither key=<base64url public key>,ts=<unix seconds>,
 *                  nonce=<base64url of 12 random bytes>,sig=<base64url signature>
 * where the signature is ed25519 over
 *   "LEITHER-API-V1\n" METHOD "\n" PATH "\n" hex(SHA-256(body)) "\n" ts "\n" nonce
 * PATH includes the query string. The server accepts a timestamp at most
 * AUTH_WINDOW seconds from its clock, and each signature only once (a
 * replay inside the window is refused as well as one after it). The nonce
 * keeps two identical requests in one second apart: ed25519 is
 * deterministic, so without it they would carry the same signature.
 */
#ifndef LEITHER_AUTH_H
#define LEITHER_AUTH_H

#include "ids.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_WINDOW 60
#define AUTH_HEADER_MAX 256
#define AUTH_NONCE_BYTES 12

/* Builds the header value (without "Authorization: ") into out. */
void auth_sign(char out[AUTH_HEADER_MAX], const ids_key *key, const char *method, const char *path, size_t pathlen,
               const void *body, size_t bodylen, int64_t now);

/* Checks a header value; on success writes the signer's Leither ID to
 * signer and remembers the signature so that it cannot be used again. */
int auth_check(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
               size_t pathlen, const void *body, size_t bodylen, int64_t now, char signer[IDS_LID_LEN + 1], char *err,
               size_t errlen);

/* Tokens for the Redis protocol's AUTH: "LT1." base64url(payload) "."
 * base64url(signature), payload {"id": LID, "pk": public key, "exp": unix
 * seconds}, signed by the key they name. Anyone holding the token acts as
 * that key until exp: hand it out like a password. */
#define AUTH_TOKEN_MAX 512
int auth_token_make(char *out, size_t cap, const ids_key *key, int64_t exp);
/* 0 with the token's Leither ID in id, or -1 with a reason (bad, expired). */
int auth_token_check(const char *token, int64_t now, char id[IDS_LID_LEN + 1], char *err, size_t errlen);
/* The "exp" (unix seconds) of a token auth_token_check accepted; 0 if none. */
int64_t auth_token_expiry(const char *token);

#endif
