/*
 * fuzz_auth: the Authorization header parser and checker (runtime/node/auth.c).
 *
 * Each input is used three ways:
 *   1. the whole input is the header value, with a fixed method, path, body
 *      and clock;
 *   2. the input is split at its first two '\n' into header value, path and
 *      body (a missing part is empty), so path and body are fuzzed too;
 *   3. the split path and body are signed with a fixed key (auth_sign) and
 *      checked: the check must accept it for that key (auth_sign draws a
 *      fresh random nonce, so the signature is new every time), and must
 *      refuse the same header a second time as a replay; verifying alone
 *      must record nothing, and a header signed before the node's start
 *      must be refused.
 * The set of used requests is small and started afresh now and then, so
 * that its sweeps, free list and "full" refusals are exercised too.
 * Nothing here may crash, leak or trip ASan/UBSan.
 */
#include "node.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW INT64_C(1700000000)
#define METHOD "POST"
#define PATH "/api/v0/mm/set?mid=fuzz"
#define BODY "{\"key\":\"k\",\"value\":\"v\"}"

static ids_key key;
static char key_lid[IDS_LID_LEN + 1];

static void setup(void)
{
    static int done;
    if (done)
        return;
    if (ids_init() != 0)
        __builtin_trap();
    uint8_t seed[IDS_SEED_BYTES];
    memset(seed, 0x42, sizeof seed);
    ids_key_from_seed(&key, seed);
    ids_leither_id(key_lid, key.pk);
    done = 1;
}

#define NOT_BEFORE (NOW - 10)
#define SET_CAPACITY 512

/* A fresh set every 128 inputs, and a clock a second further each input, so
 * that entries expire within a set's life and its sweeps and free list run:
 * each input records one request, far from filling it. */
static int64_t next_clock(void)
{
    static unsigned inputs;
    char err[256];
    if (inputs % 128 == 0 && auth_replay_init(NOT_BEFORE, SET_CAPACITY, NULL, err, sizeof err) != 0)
        __builtin_trap();
    return NOW + (int64_t)(inputs++ % 128);
}

/* auth_check with its results checked for shape: on success the signer is a
 * Leither ID, on failure the error is a NUL-terminated non-empty line. */
static int check(const char *value, size_t valuelen, const char *path, size_t pathlen, const void *body,
                 size_t bodylen, int64_t now, char signer[IDS_LID_LEN + 1], char *err, size_t errlen)
{
    memset(signer, 0, IDS_LID_LEN + 1);
    memset(err, 0, errlen);
    int rc = auth_check(value, valuelen, METHOD, strlen(METHOD), path, pathlen, body, bodylen, now, signer, err,
                        errlen);
    if (rc == 0 && !ids_is_leither_id(signer))
        __builtin_trap();
    if (rc != 0 && (rc != -1 || err[0] == '\0' || memchr(err, '\0', errlen) == NULL))
        __builtin_trap();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    int64_t now = next_clock();
    char signer[IDS_LID_LEN + 1], err[256];

    /* 1: the whole input as the header value; a heap copy of exactly the
     * input's size, so that reading past valuelen is caught by ASan */
    char *value = malloc(size ? size : 1);
    if (!value)
        return 0;
    if (size)
        memcpy(value, data, size);
    check(value, size, PATH, strlen(PATH), BODY, strlen(BODY), now, signer, err, sizeof err);

    /* 2: header '\n' path '\n' body, each in its own exact-size buffer */
    const uint8_t *end = data + size;
    const uint8_t *nl1 = memchr(data, '\n', size);
    const uint8_t *hdr_end = nl1 ? nl1 : end;
    const uint8_t *path_start = nl1 ? nl1 + 1 : end;
    const uint8_t *nl2 = memchr(path_start, '\n', (size_t)(end - path_start));
    const uint8_t *path_end = nl2 ? nl2 : end;
    const uint8_t *body_start = nl2 ? nl2 + 1 : end;
    size_t hl = (size_t)(hdr_end - data), pl = (size_t)(path_end - path_start), bl = (size_t)(end - body_start);
    char *path = malloc(pl ? pl : 1);
    uint8_t *body = malloc(bl ? bl : 1);
    if (path && body) {
        memcpy(path, path_start, pl);
        memcpy(body, body_start, bl);
        check(value, hl, path, pl, body, bl, now, signer, err, sizeof err);

        /* 3: a genuine signature over the fuzzed path and body */
        char header[AUTH_HEADER_MAX];
        auth_sign(header, &key, METHOD, path, pl, body, bl, now);
        auth_request first, again;
        if (auth_verify(header, strlen(header), METHOD, strlen(METHOD), path, pl, body, bl, now, &first, err,
                        sizeof err) != 0 ||
            auth_verify(header, strlen(header), METHOD, strlen(METHOD), path, pl, body, bl, now, &again, err,
                        sizeof err) != 0 ||
            memcmp(first.digest, again.digest, sizeof first.digest) != 0)
            __builtin_trap(); /* verifying recorded something, or named the same request twice */
        int rc = check(header, strlen(header), path, pl, body, bl, now, signer, err, sizeof err);
        if (rc == 0 && strcmp(signer, key_lid) != 0)
            __builtin_trap(); /* accepted, but for someone else */
        if (rc != 0)
            __builtin_trap(); /* refused its own correct signature */
        if (check(header, strlen(header), path, pl, body, bl, now, signer, err, sizeof err) == 0 ||
            !strstr(err, "replayed"))
            __builtin_trap(); /* accepted the same signature twice */

        /* 4: signed before the node started: refused, whatever the request */
        auth_sign(header, &key, METHOD, path, pl, body, bl, NOT_BEFORE - 1);
        if (check(header, strlen(header), path, pl, body, bl, now, signer, err, sizeof err) == 0 ||
            (now - AUTH_WINDOW <= NOT_BEFORE - 1 && !strstr(err, "before the node started")))
            __builtin_trap();
    }
    free(body);
    free(path);
    free(value);
    return 0;
}
