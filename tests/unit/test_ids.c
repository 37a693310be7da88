/* ids: encodings, the libp2p peer-id spec vectors, keys, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* From the libp2p peer-id spec's test vectors: the Ed25519 PrivateKey and
 * PublicKey protobufs. The peer ID string was computed independently (a
 * Python base58 of the identity multihash) and matches other libp2p ports. */
static const char spec_priv[] = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a"
                                "144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char spec_pub[] = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char spec_peer_id[] = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
/* BLAKE2b-160 of the public key, base64url: from Python's hashlib */
static const char spec_leither_id[] = "JOGzt69GuFPBqV9RCvz_Q8lULJY";

static void hex(uint8_t *out, size_t cap, const char *s)
{
    size_t n;
    assert_int_equal(ids_hex_decode(out, cap, &n, s, strlen(s)), 0);
    assert_int_equal(n, strlen(s) / 2);
}

static void spec_key(ids_key *key)
{
    uint8_t proto[IDS_P2P_PRIV_BYTES];
    char err[128];
    hex(proto, sizeof proto, spec_priv);
    assert_int_equal(ids_p2p_parse_private_key(key, proto, sizeof proto, err, sizeof err), 0);
}

static void peer_id_spec_vectors(void **state)
{
    (void)state;
    ids_key key;
    spec_key(&key);
    uint8_t want[IDS_P2P_PUB_BYTES], got[IDS_P2P_PUB_BYTES], priv[IDS_P2P_PRIV_BYTES], priv2[IDS_P2P_PRIV_BYTES];
    hex(want, sizeof want, spec_pub);
    ids_p2p_public_key(got, key.pk); /* the seed derives the spec's public key */
    assert_memory_equal(got, want, sizeof want);
    hex(priv, sizeof priv, spec_priv);
    ids_p2p_private_key(priv2, &key);
    assert_memory_equal(priv, priv2, sizeof priv);
    char pid[IDS_PEERID_MAX], lid[IDS_LID_LEN + 1];
    ids_peer_id(pid, key.pk);
    assert_string_equal(pid, spec_peer_id);
    ids_leither_id(lid, key.pk);
    assert_string_equal(lid, spec_leither_id);
    assert_int_equal(strlen(lid), IDS_LID_LEN);
    assert_true(ids_is_leither_id(lid));
}

static void private_key_mismatch_refused(void **state)
{
    (void)state;
    uint8_t proto[IDS_P2P_PRIV_BYTES];
    char err[128];
    ids_key key;
    hex(proto, sizeof proto, spec_priv);
    proto[IDS_P2P_PRIV_BYTES - 1] ^= 1; /* public half no longer matches */
    assert_int_equal(ids_p2p_parse_private_key(&key, proto, sizeof proto, err, sizeof err), IDS_INVALID);
    assert_non_null(strstr(err, "does not match"));
    hex(proto, sizeof proto, spec_priv);
    proto[1] = 2; /* secp256k1 */
    assert_int_equal(ids_p2p_parse_private_key(&key, proto, sizeof proto, err, sizeof err), IDS_INVALID);
    assert_int_equal(ids_p2p_parse_private_key(&key, proto, 10, err, sizeof err), IDS_INVALID);
}

static void base58_known_values(void **state)
{
    (void)state;
    char out[64];
    uint8_t back[64];
    size_t n;
    assert_int_equal(ids_base58_encode(out, sizeof out, (const uint8_t *)"hello world", 11), 15);
    assert_string_equal(out, "StV1DL6CwTryKyV");
    const uint8_t lead[] = {0, 0, 1};
    ids_base58_encode(out, sizeof out, lead, 3);
    assert_string_equal(out, "112");
    assert_int_equal(ids_base58_encode(out, sizeof out, lead, 0), 0);
    assert_int_equal(ids_base58_decode(back, sizeof back, &n, "112", 3), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(back, lead, 3);
    assert_int_equal(ids_base58_decode(back, sizeof back, &n, "0OIl", 4), -1); /* not in the alphabet */
    assert_int_equal(ids_base58_decode(back, 2, &n, "StV1DL6CwTryKyV", 15), -1); /* too small */
    assert_int_equal(ids_base58_encode(out, 4, (const uint8_t *)"hello world", 11), 0);
}

static void base58_round_trips(void **state)
{
    (void)state;
    uint8_t in[80], back[80];
    char text[160];
    size_t n;
    srand(7);
    for (int round = 0; round < 500; round++) {
        size_t len = (size_t)rand() % sizeof in;
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)(round % 3 == 0 && i < 3 ? 0 : rand());
        size_t tl = ids_base58_encode(text, sizeof text, in, len);
        assert_true(tl > 0 || len == 0);
        assert_int_equal(ids_base58_decode(back, sizeof back, &n, text, tl), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, in, len);
    }
}

static void base64url_and_hex(void **state)
{
    (void)state;
    char out[64];
    uint8_t back[64];
    size_t n;
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(ids_b64url_encode(out, in, 3), 4);
    assert_string_equal(out, "-_-_");
    assert_int_equal(ids_b64url_decode(back, sizeof back, &n, "-_-_", 4), 0);
    assert_memory_equal(back, in, 3);
    assert_int_equal(ids_b64url_decode(back, sizeof back, &n, "+/+/", 4), -1); /* standard alphabet */
    assert_int_equal(ids_b64url_decode(back, sizeof back, &n, "-_-_==", 6), -1); /* padding */
    assert_int_equal(ids_b64url_decode(back, sizeof back, &n, "-", 1), -1);
    /* bytes >= 0x80 are not digits (libsodium alone reads them as '_') */
    assert_int_equal(ids_b64url_decode(back, sizeof back, &n, "111gAbC\x90", 8), -1);
    assert_false(ids_is_leither_id("\xe2SOk6RRCAf_MPUrIkdFKFN9DjFI"));
    assert_false(ids_is_leither_id("short"));
    assert_false(ids_is_leither_id("JOGzt69GuFPBqV9RCvz_Q8lULJ+"));
    ids_hex_encode(out, in, 3);
    assert_string_equal(out, "fbffbf");
    assert_int_equal(ids_hex_decode(back, sizeof back, &n, "fbf", 3), -1);
    assert_int_equal(ids_hex_decode(back, sizeof back, &n, "zz", 2), -1);
}

static void hashes_known_values(void **state)
{
    (void)state;
    uint8_t h[32];
    char hx[65];
    ids_sha256(h, "abc", 3); /* FIPS 180-2 */
    ids_hex_encode(hx, h, 32);
    assert_string_equal(hx, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ids_blake2b(h, 20, "", 0); /* BLAKE2b-160 of the empty string */
    ids_hex_encode(hx, h, 20);
    assert_string_equal(hx, "3345524abf6bbe1809449224b5972c41790b6cf2");
}

static void key_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/leither-ids-XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.key", dir);
    ids_key a, b;
    ids_key_generate(&a);
    assert_int_equal(ids_key_save(&a, path, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ids_key_load(&b, path, err, sizeof err), 0);
    assert_memory_equal(a.sk, b.sk, IDS_SK_BYTES);

    FILE *f = fopen(path, "w"); /* malformed: named with file and line */
    fputs("{\n \"type\": \"ed25519\",\n oops\n}\n", f);
    fclose(f);
    assert_int_equal(ids_key_load(&b, path, err, sizeof err), IDS_INVALID);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, ":3:"));
    f = fopen(path, "w"); /* an id that is not this key's */
    fputs("{\"type\":\"ed25519\",\"id\":\"JOGzt69GuFPBqV9RCvz_Q8lULJY\",\"private_key\":"
          "\"CAESQH4IMGF8Sn3oOSXfsmlFVrEpNsR3oOH+suFI7J2mD+59HtHo+uLEoUS4vo/UtHvz07NLhxw8rPYBDw5C1HT84n4=\"}",
          f);
    fclose(f);
    assert_int_equal(ids_key_load(&b, path, err, sizeof err), 0); /* the spec key: id matches */
    f = fopen(path, "w");
    fputs("{\"type\":\"ed25519\",\"id\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"private_key\":"
          "\"CAESQH4IMGF8Sn3oOSXfsmlFVrEpNsR3oOH+suFI7J2mD+59HtHo+uLEoUS4vo/UtHvz07NLhxw8rPYBDw5C1HT84n4=\"}",
          f);
    fclose(f);
    assert_int_equal(ids_key_load(&b, path, err, sizeof err), IDS_INVALID);
    assert_non_null(strstr(err, "does not match"));
    unlink(path);
    assert_int_equal(ids_key_load(&b, path, err, sizeof err), IDS_ERROR);
    assert_non_null(strstr(err, "cannot read key file"));
    rmdir(dir);
}

static void signatures(void **state)
{
    (void)state;
    ids_key key, other;
    ids_key_generate(&key);
    ids_key_generate(&other);
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, "message", 7, &key);
    assert_int_equal(ids_verify(sig, "message", 7, key.pk), 0);
    assert_int_equal(ids_verify(sig, "messagf", 7, key.pk), IDS_BAD_SIGNATURE);
    assert_int_equal(ids_verify(sig, "message", 7, other.pk), IDS_BAD_SIGNATURE);

    char path[] = "/tmp/leither-sig-XXXXXX", err[256];
    int fd = mkstemp(path);
    char block[100000];
    memset(block, 'x', sizeof block);
    assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    assert_int_equal(ids_sign_file(sig, path, &key, err, sizeof err), 0);
    assert_int_equal(ids_verify_file(sig, path, key.pk, err, sizeof err), 0);
    assert_int_equal(ids_verify_file(sig, path, other.pk, err, sizeof err), IDS_BAD_SIGNATURE);
    assert_non_null(strstr(err, "bad signature"));
    assert_string_equal(ids_strerror(IDS_BAD_SIGNATURE), "bad signature");
    assert_int_equal(write(fd, "y", 1), 1); /* one more byte */
    assert_int_equal(ids_verify_file(sig, path, key.pk, err, sizeof err), IDS_BAD_SIGNATURE);
    close(fd);
    unlink(path);
    assert_int_equal(ids_sign_file(sig, path, &key, err, sizeof err), IDS_ERROR);
    assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_id_spec_vectors), cmocka_unit_test(private_key_mismatch_refused),
        cmocka_unit_test(base58_known_values),  cmocka_unit_test(base58_round_trips),
        cmocka_unit_test(base64url_and_hex),    cmocka_unit_test(hashes_known_values),
        cmocka_unit_test(key_files),            cmocka_unit_test(signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
