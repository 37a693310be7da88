/*
 * auth: signed API requests.
 *
 * A request that changes state carries
 *   Authorization: Leither key=<base64url public key>,ts=<unix seconds>,
 *                  nonce=<base64url of 12 random bytes>,sig=<base64url signature>
 * where the signature is ed25519 over
 *   "LEITHER-API-V1\n" METHOD "\n" PATH "\n" hex(SHA-256(body)) "\n" ts "\n" nonce
 * PATH includes the query string. The nonce keeps two identical requests in
 * one second apart: ed25519 is deterministic, so without it they would
 * carry the same signature.
 *
 * Replay. A signed request is accepted once:
 *   - its timestamp is at most AUTH_WINDOW seconds from the node's clock,
 *     not older than the node's start, and later than every timestamp a
 *     request used before the start carried (kept on disk: until_path), so
 *     nothing signed for the node before it restarted works after, even
 *     when the signer's clock ran ahead;
 *   - checking is two steps: auth_verify (the signature holds), then the
 *     caller decides whether the signer may do this at all, and only then
 *     auth_record marks the request used. A refused request uses no room;
 *   - every recorded request is kept until its timestamp leaves the window:
 *     a set bounded by memory (AUTH_SEEN_CAPACITY entries, about 4.5 MiB).
 *     When it is full, requests are refused ("busy", HTTP 503) rather than
 *     forgetting one still inside the window. Keys that are neither the
 *     owner's nor granted may fill only three quarters of it, so a stranger's
 *     flood cannot lock the owner out.
 * The set is shared by every thread (a mutex; verification runs outside it).
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

/* Signed requests the set holds at most: about 1,000 a second sustained
 * over the window, 4.5 MiB. */
#define AUTH_SEEN_CAPACITY 131072

/* Starts the set of used requests afresh, for at most capacity entries,
 * refusing timestamps before not_before (unix seconds; 0: none). Call it
 * before any thread checks a request; without it the first check sets up
 * AUTH_SEEN_CAPACITY and no lower bound.
 * until_path (NULL: none) keeps the latest timestamp a used request
 * carried: written before the request is accepted (about once a second at
 * most), read here to raise not_before past it. */
int auth_replay_init(int64_t not_before, size_t capacity, const char *until_path, char *err, size_t errlen);
/* The earliest timestamp accepted now (not_before, raised by until_path). */
int64_t auth_not_before(void);
/* until_path in a node's home */
#define AUTH_UNTIL_FILE "data/signed-until"

/* A request whose signature holds, not yet recorded as used. */
typedef struct {
    char signer[IDS_LID_LEN + 1];
    int64_t ts;
    uint8_t digest[16]; /* names the signed request: key, method, path, body, ts, nonce */
} auth_request;

/* Checks a header value: 0 with the request in out, or -1 with the reason
 * (no header, malformed, outside the window, before the node's start, bad
 * signature). Records nothing. */
int auth_verify(const char *value, size_t valuelen, const char *method, size_t methodlen, const char *path,
                size_t pathlen, const void *body, size_t bodylen, int64_t now, auth_request *out, char *err,
                size_t errlen);

/* Marks a verified request used, once the caller knows the signer may make
 * it. trusted: the signer is the owner or a granted key. 0, or -1 with the
 * reason: already used ("replayed", *busy = 0), or no room left in the set
 * or until_path could not be written (*busy = 1: try again shortly). */
int auth_record(const auth_request *r, int64_t now, int trusted, int *busy, char *err, size_t errlen);

/* auth_verify, then auth_record as trusted: the signer's Leither ID in
 * signer, or -1 with the reason. */
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
