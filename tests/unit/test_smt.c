/* smt (modules/smt/smt.h): the tree's rules as fixed vectors, proofs and
 * their refusals, and the LMDB store against the naive root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt.h"

static const uint8_t zeros[SMT_HASH_BYTES];

static void unhex(uint8_t *out, const char *hex)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void key_of(uint8_t key[SMT_KEY_BYTES], uint8_t first, uint8_t last)
{
    memset(key, 0, SMT_KEY_BYTES);
    key[0] = first;
    key[SMT_KEY_BYTES - 1] = last;
}

static void leaf_of(uint8_t out[SMT_HASH_BYTES], const uint8_t key[SMT_KEY_BYTES], const void *v, size_t len)
{
    uint8_t vh[SMT_HASH_BYTES];
    smt_hash(vh, v, len);
    smt_leaf_hash(out, key, vh);
}

static void root_of(uint8_t root[SMT_HASH_BYTES], const uint8_t *keys, const char *const *values, size_t n)
{
    const uint8_t *v[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        v[i] = (const uint8_t *)values[i];
        lens[i] = strlen(values[i]);
    }
    assert_int_equal(smt_root_of(root, keys, v, lens, n), 0);
}

/* --- the rules as fixed vectors -------------------------------------------------- */

static void empty_tree_is_zeros(void **state)
{
    (void)state;
    uint8_t root[SMT_HASH_BYTES];
    memset(root, 0xaa, sizeof root);
    assert_int_equal(smt_root_of(root, NULL, NULL, NULL, 0), 0);
    assert_memory_equal(root, zeros, SMT_HASH_BYTES);
}

static void one_leaf_is_its_leaf_hash(void **state)
{
    (void)state;
    uint8_t key[SMT_KEY_BYTES], root[SMT_HASH_BYTES], want[SMT_HASH_BYTES];
    for (int i = 0; i < SMT_KEY_BYTES; i++)
        key[i] = (uint8_t)(i + 1);
    const char *v[] = {"hello"};
    root_of(root, key, v, 1);
    /* BLAKE2b-256(0x00 || 01..14 || BLAKE2b-256("hello")), computed apart */
    unhex(want, "c58c37a56dcb49b2f51ebea1446eabefedf9daccf773d9553caafb44996d58fa");
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void two_keys_split_at_bit_0(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], la[32], lb[32], want[32];
    key_of(keys, 0x80, 0); /* bit 0 set: the right child, given first */
    key_of(keys + SMT_KEY_BYTES, 0x00, 7);
    const char *v[] = {"right", "left"};
    root_of(root, keys, v, 2);
    leaf_of(la, keys + SMT_KEY_BYTES, "left", 4);
    leaf_of(lb, keys, "right", 5);
    smt_node_hash(want, la, lb);
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void three_keys(void **state)
{
    (void)state;
    uint8_t keys[3 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], want[32];
    key_of(keys, 0x00, 0);
    key_of(keys + 20, 0x40, 0);
    key_of(keys + 40, 0x80, 0);
    const char *v[] = {"a", "", "ccccccccccccccccc"};
    root_of(root, keys, v, 3);
    /* H(1 || H(1 || leaf a || leaf b) || leaf c), computed apart */
    unhex(want, "e1efc78d1433fdb4c7d3d8a287f0948ab791fec020f88b993de9f92fc27cddf9");
    assert_memory_equal(root, want, SMT_HASH_BYTES);
}

static void keys_sharing_159_bits(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES], x[32], lb[32];
    key_of(keys, 0xa5, 0x01);
    key_of(keys + SMT_KEY_BYTES, 0xa5, 0x00);
    const char *v[] = {"one", "zero"};
    root_of(root, keys, v, 2);
    leaf_of(x, keys + SMT_KEY_BYTES, "zero", 4);
    leaf_of(lb, keys, "one", 3);
    smt_node_hash(x, x, lb); /* the node at depth 159 */
    for (int i = 158; i >= 0; i--) {
        if (smt_key_bit(keys, (unsigned)i))
            smt_node_hash(x, zeros, x);
        else
            smt_node_hash(x, x, zeros);
    }
    assert_memory_equal(root, x, SMT_HASH_BYTES);
}

static void equal_keys_refused(void **state)
{
    (void)state;
    uint8_t keys[2 * SMT_KEY_BYTES], root[SMT_HASH_BYTES];
    key_of(keys, 3, 3);
    key_of(keys + SMT_KEY_BYTES, 3, 3);
    const uint8_t *v[] = {(const uint8_t *)"a", (const uint8_t *)"b"};
    size_t lens[] = {1, 1};
    assert_int_equal(smt_root_of(root, keys, v, lens, 2), -1);
}

/* --- proofs --------------------------------------------------------------------- */

/* the tree {a = 00.., b = 40.., c = 80..} of three_keys */
static void tree_abc(uint8_t keys[3 * SMT_KEY_BYTES], uint8_t root[32], uint8_t la[32], uint8_t lb[32],
                     uint8_t lc[32])
{
    key_of(keys, 0x00, 0);
    key_of(keys + 20, 0x40, 0);
    key_of(keys + 40, 0x80, 0);
    const char *v[] = {"a", "", "ccccccccccccccccc"};
    root_of(root, keys, v, 3);
    leaf_of(la, keys, "a", 1);
    leaf_of(lb, keys + 20, "", 0);
    leaf_of(lc, keys + 40, "ccccccccccccccccc", 17);
}

static enum smt_status roundtrip_verify(const smt_proof *p, const uint8_t root[32], const uint8_t key[20],
                                        const char *value)
{
    uint8_t bytes[SMT_PROOF_MAX];
    char err[128] = "";
    size_t n = smt_proof_encode(p, bytes);
    smt_proof q;
    assert_int_equal(smt_proof_decode(&q, bytes, n, err, sizeof err), SMT_OK);
    return smt_proof_verify(&q, root, key, value, value ? strlen(value) : 0, err, sizeof err);
}

static void inclusion_proof(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], bytes[SMT_PROOF_MAX];
    tree_abc(keys, root, la, lb, lc);
    smt_proof p = {.kind = SMT_PROOF_INCLUSION, .depth = 2, .bitmap = {0xc0}, .nsiblings = 2};
    memcpy(p.siblings[0], lc, 32);
    memcpy(p.siblings[1], lb, 32);
    assert_int_equal(smt_proof_encode(&p, bytes), 2 + 1 + 64);
    assert_int_equal(bytes[0], 0);
    assert_int_equal(bytes[1], 2);
    assert_int_equal(bytes[2], 0xc0);
    assert_int_equal(roundtrip_verify(&p, root, keys, "a"), SMT_OK);
    assert_int_equal(roundtrip_verify(&p, root, keys, "b"), SMT_BAD_PROOF);
    assert_int_equal(roundtrip_verify(&p, root, keys, NULL), SMT_BAD_PROOF);
    assert_int_equal(roundtrip_verify(&p, root, keys + 20, "a"), SMT_BAD_PROOF);
    /* c sits at depth 1, its sibling the node over a and b */
    smt_proof pc = {.kind = SMT_PROOF_INCLUSION, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(pc.siblings[0], la, lb);
    assert_int_equal(roundtrip_verify(&pc, root, keys + 40, "ccccccccccccccccc"), SMT_OK);
}

static void absence_proofs(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], absent[20], vh[32];
    tree_abc(keys, root, la, lb, lc);
    /* kind 2: C0.. goes right at bit 0 and meets c alone there */
    key_of(absent, 0xc0, 0);
    smt_proof p = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(p.siblings[0], la, lb);
    memcpy(p.other_key, keys + 40, 20);
    smt_hash(vh, "ccccccccccccccccc", 17);
    memcpy(p.other_value_hash, vh, 32);
    uint8_t bytes[SMT_PROOF_MAX];
    assert_int_equal(smt_proof_encode(&p, bytes), 2 + 1 + 32 + 20 + 32);
    assert_int_equal(roundtrip_verify(&p, root, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&p, root, absent, "x"), SMT_BAD_PROOF);
    /* the other leaf may not be the key itself */
    assert_int_equal(roundtrip_verify(&p, root, keys + 40, NULL), SMT_BAD_PROOF);

    /* kind 1: in {a, b} (both under bit 0 = 0), 80.. ends in the empty right child */
    uint8_t root2[32], node_ab[32];
    smt_node_hash(node_ab, la, lb);
    smt_node_hash(root2, node_ab, zeros);
    const char *v[] = {"a", ""};
    uint8_t got[32];
    root_of(got, keys, v, 2);
    assert_memory_equal(got, root2, 32);
    smt_proof e = {.kind = SMT_PROOF_EMPTY, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    memcpy(e.siblings[0], node_ab, 32);
    assert_int_equal(smt_proof_encode(&e, bytes), 2 + 1 + 32);
    assert_int_equal(roundtrip_verify(&e, root2, keys + 40, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&e, root2, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&e, root2, keys, NULL), SMT_BAD_PROOF);
    /* the empty tree: depth 0, nothing else */
    smt_proof none = {.kind = SMT_PROOF_EMPTY};
    assert_int_equal(smt_proof_encode(&none, bytes), 2);
    assert_int_equal(roundtrip_verify(&none, zeros, absent, NULL), SMT_OK);
    assert_int_equal(roundtrip_verify(&none, root2, absent, NULL), SMT_BAD_PROOF);
}

static void tampered_proofs_refused(void **state)
{
    (void)state;
    uint8_t keys[60], root[32], la[32], lb[32], lc[32], absent[20], vh[32];
    tree_abc(keys, root, la, lb, lc);
    key_of(absent, 0xc0, 0);
    smt_proof p = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 1, .bitmap = {0x80}, .nsiblings = 1};
    smt_node_hash(p.siblings[0], la, lb);
    memcpy(p.other_key, keys + 40, 20);
    smt_hash(vh, "ccccccccccccccccc", 17);
    memcpy(p.other_value_hash, vh, 32);
    uint8_t good[SMT_PROOF_MAX], bad[SMT_PROOF_MAX + 1];
    size_t n = smt_proof_encode(&p, good);
    char err[128];
    smt_proof q;
    /* every single bit flipped: refused by decode or verify, with a reason */
    for (size_t i = 0; i < n * 8; i++) {
        memcpy(bad, good, n);
        bad[i / 8] ^= (uint8_t)(1 << (i % 8));
        err[0] = '\0';
        enum smt_status st = smt_proof_decode(&q, bad, n, err, sizeof err);
        if (st == SMT_OK)
            st = smt_proof_verify(&q, root, absent, NULL, 0, err, sizeof err);
        assert_int_equal(st, SMT_BAD_PROOF);
        assert_true(err[0] != '\0' && !strchr(err, '\n'));
    }
    /* truncated anywhere, or with a byte more */
    for (size_t len = 0; len < n; len++)
        assert_int_equal(smt_proof_decode(&q, good, len, err, sizeof err), SMT_BAD_PROOF);
    memcpy(bad, good, n);
    bad[n] = 0;
    assert_int_equal(smt_proof_decode(&q, bad, n + 1, err, sizeof err), SMT_BAD_PROOF);
    assert_non_null(strstr(err, "trailing"));
    /* unknown kind, depth over 160, a bitmap bit past the depth */
    uint8_t k3[] = {3, 0};
    assert_int_equal(smt_proof_decode(&q, k3, 2, err, sizeof err), SMT_BAD_PROOF);
    uint8_t d161[2 + 21] = {1, 161};
    assert_int_equal(smt_proof_decode(&q, d161, sizeof d161, err, sizeof err), SMT_BAD_PROOF);
    uint8_t past[2 + 1 + 32] = {1, 1, 0x40};
    assert_int_equal(smt_proof_decode(&q, past, sizeof past, err, sizeof err), SMT_BAD_PROOF);
    /* the longest proof decodes */
    smt_proof longest = {.kind = SMT_PROOF_OTHER_LEAF, .depth = 160, .nsiblings = 160};
    memset(longest.bitmap, 0xff, sizeof longest.bitmap);
    assert_int_equal(smt_proof_encode(&longest, bad), SMT_PROOF_MAX);
    assert_int_equal(smt_proof_decode(&q, bad, SMT_PROOF_MAX, err, sizeof err), SMT_OK);
    assert_int_equal(q.nsiblings, 160);
    assert_string_equal(smt_strerror(SMT_PRUNED), "pruned");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_tree_is_zeros),
        cmocka_unit_test(one_leaf_is_its_leaf_hash),
        cmocka_unit_test(two_keys_split_at_bit_0),
        cmocka_unit_test(three_keys),
        cmocka_unit_test(keys_sharing_159_bits),
        cmocka_unit_test(equal_keys_refused),
        cmocka_unit_test(inclusion_proof),
        cmocka_unit_test(absence_proofs),
        cmocka_unit_test(tampered_proofs_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
