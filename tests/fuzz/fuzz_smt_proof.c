/*
 * fuzz_smt_proof: a proof's bytes as a verifier receives them from anyone
 * (smt_proof_decode, smt_proof_verify): refused with a one-line reason, or
 * decoded into exactly the bytes it came from (the form is strict, so one
 * proof has one encoding), and verified without reading past its siblings.
 * The first 52 bytes, when there are that many, are the root and the key.
 */
#include "smt.h"

#include <stdint.h>
#include <string.h>

static void one_line(const char *err)
{
    if (err[0] == '\0' || memchr(err, '\n', strlen(err)))
        __builtin_trap();
}

static void check(const uint8_t *root, const uint8_t *key, const uint8_t *data, size_t size)
{
    char err[256] = "";
    static smt_proof p;
    static uint8_t again[SMT_PROOF_MAX];
    if (smt_proof_decode(&p, data, size, err, sizeof err) != SMT_OK) {
        one_line(err);
        return;
    }
    if (p.nsiblings > p.depth || smt_proof_encode(&p, again) != size || memcmp(again, data, size) != 0)
        __builtin_trap();
    err[0] = '\0';
    if (smt_proof_verify(&p, root, key, NULL, 0, err, sizeof err) != SMT_OK)
        one_line(err);
    err[0] = '\0';
    if (smt_proof_verify(&p, root, key, data, size, err, sizeof err) != SMT_OK)
        one_line(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t zeros[SMT_HASH_BYTES + SMT_KEY_BYTES];
    check(zeros, zeros, data, size);
    if (size >= SMT_HASH_BYTES + SMT_KEY_BYTES)
        check(data, data + SMT_HASH_BYTES, data + SMT_HASH_BYTES + SMT_KEY_BYTES,
              size - SMT_HASH_BYTES - SMT_KEY_BYTES);
    return 0;
}
