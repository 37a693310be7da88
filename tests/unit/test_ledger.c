/* ledger (runtime/ledger): tx.c's formats (amounts, accounts, signatures,
 * the pulse's transaction root computed here from RFC 6962's definition),
 * the rules every refusal comes from, and a node's ledger in a temporary
 * LMDB environment driven through ledger_node.h (its pulse thread, no HTTP):
 * transactions become final, roots match the tree's definition, verify
 * replays the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "ledger_impl.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- amounts, accounts ---------------------------------------------------------- */

static void amounts_parse_strictly(void **state)
{
    (void)state;
    uint64_t v = 7;
    const char *bad[] = {"", "01", "-1", "+1", "18446744073709551616", " 1", "1 ", "1 0", "0x10", "1.0", "1e3",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ledger_amount_parse(bad[i], &v), -1);
        assert_int_equal(v, 7); /* untouched */
    }
    assert_int_equal(ledger_amount_parse(NULL, &v), -1);
    assert_int_equal(ledger_amount_parse("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ledger_amount_parse("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    char text[21];
    ledger_amount_format(text, UINT64_MAX);
    assert_string_equal(text, "18446744073709551615");
    ledger_amount_format(text, 0);
    assert_string_equal(text, "0");
    ledger_amount_format(text, 1000);
    assert_string_equal(text, "1000");
}

static void accounts_are_17_bytes(void **state)
{
    (void)state;
    ledger_account a = {LEDGER_MEMBER, 0x0102030405060708ull, UINT64_MAX}, b;
    uint8_t bytes[LEDGER_ACCOUNT_BYTES];
    ledger_account_encode(&a, bytes);
    const uint8_t want[LEDGER_ACCOUNT_BYTES] = {2, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(bytes, want, sizeof want);
    assert_int_equal(ledger_account_decode(&b, bytes, sizeof bytes), 0);
    assert_int_equal(b.role, a.role);
    assert_true(b.balance == a.balance && b.nonce == a.nonce);
    assert_int_equal(ledger_account_decode(&b, bytes, 16), -1);
    bytes[0] = 0;
    assert_int_equal(ledger_account_decode(&b, bytes, sizeof bytes), -1);
    bytes[0] = 4;
    assert_int_equal(ledger_account_decode(&b, bytes, sizeof bytes), -1);
    assert_string_equal(ledger_role_name(LEDGER_SUPERVISOR), "supervisor");
    assert_null(ledger_role_name(0));
    assert_int_equal(ledger_role_parse("guest"), LEDGER_GUEST);
    assert_int_equal(ledger_role_parse("root"), 0);
}

/* --- signatures ----------------------------------------------------------------- */

static void signatures_cover_every_field(void **state)
{
    (void)state;
    ids_key key;
    ids_key_generate(&key);
    json_t *tx = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "Org", "x", "Type", "issue", "To", "y", "Amount", "5",
                           "Reason", "pay day", "Expires", 9);
    assert_int_equal(ledger_sign(tx, &key), 0);
    char err[256];
    assert_int_equal(ledger_verify_sig(tx, err, sizeof err), IDS_OK);
    json_object_set_new(tx, "Amount", json_string("50")); /* tampered */
    assert_int_equal(ledger_verify_sig(tx, err, sizeof err), IDS_BAD_SIGNATURE);
    json_object_set_new(tx, "Amount", json_string("5"));
    assert_int_equal(ledger_verify_sig(tx, err, sizeof err), IDS_OK);
    ids_key other;
    ids_key_generate(&other);
    char id[IDS_LID_LEN + 1];
    ids_leither_id(id, other.pk);
    json_object_set_new(tx, "Signer", json_string(id)); /* another signer, same key */
    assert_int_equal(ledger_verify_sig(tx, err, sizeof err), IDS_INVALID);
    json_object_del(tx, "Sig");
    assert_int_equal(ledger_verify_sig(tx, err, sizeof err), IDS_INVALID);
    json_decref(tx);
}

/* --- the transaction root, from RFC 6962's definition ------------------------------- */

static void blake(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *c,
                  size_t clen)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, a, alen);
    crypto_generichash_update(&st, b, blen);
    crypto_generichash_update(&st, c, clen);
    crypto_generichash_final(&st, out, 32);
}

static void mth(uint8_t out[32], const char *const *d, const size_t *lens, size_t n)
{
    static const uint8_t leaf = 0, inner = 1;
    if (n == 0) {
        blake(out, NULL, 0, NULL, 0, NULL, 0);
        return;
    }
    if (n == 1) {
        blake(out, &leaf, 1, (const uint8_t *)d[0], lens[0], NULL, 0);
        return;
    }
    size_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    uint8_t l[32], r[32];
    mth(l, d, lens, k);
    mth(r, d + k, lens + k, n - k);
    blake(out, &inner, 1, l, 32, r, 32);
}

static void tx_root_is_rfc6962(void **state)
{
    (void)state;
    const char *d[] = {"a", "bb", "{\"Type\":\"x\"}", "", "five"};
    size_t lens[] = {1, 2, 12, 0, 4};
    const size_t counts[] = {0, 1, 2, 3, 5};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        uint8_t got[32], want[32];
        ledger_tx_root(got, d, lens, counts[i]);
        mth(want, d, lens, counts[i]);
        assert_memory_equal(got, want, 32);
    }
    /* by hand for 3: H(1 || H(1 || H(0||a) || H(0||bb)) || H(0||d2)) */
    uint8_t a[32], b[32], c[32], ab[32], want[32], got[32];
    static const uint8_t leaf = 0, inner = 1;
    blake(a, &leaf, 1, (const uint8_t *)"a", 1, NULL, 0);
    blake(b, &leaf, 1, (const uint8_t *)"bb", 2, NULL, 0);
    blake(c, &leaf, 1, (const uint8_t *)d[2], 12, NULL, 0);
    blake(ab, &inner, 1, a, 32, b, 32);
    blake(want, &inner, 1, ab, 32, c, 32);
    ledger_tx_root(got, d, lens, 3);
    assert_memory_equal(got, want, 32);
    /* 0: H of nothing */
    blake(want, NULL, 0, NULL, 0, NULL, 0);
    ledger_tx_root(got, d, lens, 0);
    assert_memory_equal(got, want, 32);
}

/* --- the rules, on accounts in memory ---------------------------------------------------- */

typedef struct {
    ids_key key;
    char id[IDS_LID_LEN + 1];
} user;

static void user_new(user *u)
{
    ids_key_generate(&u->key);
    ids_leither_id(u->id, u->key.pk);
}

static json_t *signed_tx(const user *by, json_t *tx)
{
    assert_int_equal(ledger_sign(tx, &by->key), 0);
    return tx;
}

static json_t *salted(json_t *tx)
{
    char salt[IDS_B64URL_LEN(LEDGER_SALT_BYTES) + 1];
    ledger_salt(salt);
    json_object_set_new(tx, "Salt", json_string(salt));
    return tx;
}

static json_t *issue_tx(const char *org, const user *by, const char *to, const char *amount)
{
    return signed_tx(by, salted(json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "Org", org, "Type", "issue", "To", to,
                                          "Amount", amount, "Reason", "a reason", "Expires", 100)));
}

static json_t *offer_tx(const char *org, const user *from, const char *to, const char *amount, const char *nonce,
                        int expires)
{
    return signed_tx(from, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "Org", org, "Type", "offer", "From",
                                     from->id, "To", to, "Amount", amount, "Nonce", nonce, "Memo", "", "Expires",
                                     expires));
}

static json_t *accept_tx(const char *org, const user *to, json_t *offer)
{
    return signed_tx(to, json_pack("{s:s,s:s,s:O,s:i}", "Org", org, "Type", "accept", "Offer", offer, "Expires", 100));
}

/* shape, then the rules at pulse 2: 0 applied, 1 refused (reason in err) */
static int run(account_map *m, const char *org, json_t *tx, char *err, size_t errlen)
{
    int type = tx_check_shape(tx, org, err, errlen);
    int rc = type ? tx_apply(m, tx, type, 2, 1, err, errlen) : 1;
    json_decref(tx);
    return rc;
}

static ledger_account *account_of(account_map *m, const char *id)
{
    uint8_t key[SMT_KEY_BYTES];
    assert_int_equal(ledger_key_of(key, id), 0);
    account_slot *s = account_map_find(m, key);
    return s && s->present ? &s->a : NULL;
}

static void rules_refuse_with_reasons(void **state)
{
    (void)state;
    user org, sup, alice, bob;
    user_new(&org), user_new(&sup), user_new(&alice), user_new(&bob);
    account_map m;
    account_map_init(&m, NULL, NULL);
    char err[512];
    json_t *create = signed_tx(&org, json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "Org", org.id, "Type", "create", "Name",
                                               "acme", "MID", org.id, "Supervisor", sup.id, "Expires", 1));
    assert_int_equal(tx_check_shape(create, org.id, err, sizeof err), TX_CREATE);
    assert_int_equal(tx_apply(&m, create, TX_CREATE, 1, 1, err, sizeof err), 0);
    json_decref(create);
    assert_int_equal(account_of(&m, sup.id)->role, LEDGER_SUPERVISOR);

    json_t *apply = signed_tx(&alice, salted(json_pack("{s:s,s:s,s:s,s:i}", "Org", org.id, "Type", "apply", "Note",
                                                       "hi", "Expires", 100)));
    json_t *again = json_deep_copy(apply);
    assert_int_equal(run(&m, org.id, apply, err, sizeof err), 0);
    assert_int_equal(run(&m, org.id, again, err, sizeof err), 1);
    assert_non_null(strstr(err, "has an account already"));
    assert_int_equal(run(&m, org.id, signed_tx(&bob, salted(json_pack("{s:s,s:s,s:s,s:i}", "Org", org.id, "Type",
                                                                      "apply", "Note", "", "Expires", 100))),
                         err, sizeof err),
                     0);

    /* a non-supervisor issuing */
    assert_int_equal(run(&m, org.id, issue_tx(org.id, &alice, alice.id, "5"), err, sizeof err), 1);
    assert_non_null(strstr(err, "only the supervisor may issue"));
    assert_int_equal(run(&m, org.id, issue_tx(org.id, &sup, alice.id, "100"), err, sizeof err), 0);
    assert_true(account_of(&m, alice.id)->balance == 100);
    /* amounts that overflow u64: in the text, and in the balance */
    assert_int_equal(run(&m, org.id, issue_tx(org.id, &sup, alice.id, "18446744073709551616"), err, sizeof err), 1);
    assert_non_null(strstr(err, "not a u64"));
    assert_int_equal(run(&m, org.id, issue_tx(org.id, &sup, alice.id, "18446744073709551615"), err, sizeof err), 1);
    assert_non_null(strstr(err, "overflow"));
    assert_true(account_of(&m, alice.id)->balance == 100);

    /* a transfer to oneself, an overdraft, an expired offer */
    assert_int_equal(run(&m, org.id, offer_tx(org.id, &alice, alice.id, "1", "0", 100), err, sizeof err), 1);
    assert_non_null(strstr(err, "oneself"));
    assert_int_equal(run(&m, org.id, offer_tx(org.id, &alice, bob.id, "101", "0", 100), err, sizeof err), 1);
    assert_non_null(strstr(err, "overdraft"));
    json_t *expired = offer_tx(org.id, &alice, bob.id, "1", "0", 1);
    assert_int_equal(run(&m, org.id, accept_tx(org.id, &bob, expired), err, sizeof err), 1);
    assert_non_null(strstr(err, "expired"));
    json_decref(expired);

    /* a forged signature of either party */
    json_t *offer = offer_tx(org.id, &alice, bob.id, "40", "0", 100);
    json_t *forged = json_deep_copy(offer);
    json_object_set_new(forged, "Amount", json_string("41"));
    assert_int_equal(run(&m, org.id, accept_tx(org.id, &bob, forged), err, sizeof err), 1);
    assert_non_null(strstr(err, "bad signature"));
    json_decref(forged);
    json_t *by_mallory = accept_tx(org.id, &bob, offer);
    json_object_set_new(by_mallory, "Expires", json_integer(99)); /* after bob signed */
    assert_int_equal(run(&m, org.id, by_mallory, err, sizeof err), 1);
    assert_non_null(strstr(err, "bad signature"));
    /* only the payee accepts */
    assert_int_equal(run(&m, org.id, accept_tx(org.id, &sup, offer), err, sizeof err), 1);
    assert_non_null(strstr(err, "only the payee"));

    /* accepted once; a second accept of it, and an offer replaying the nonce */
    assert_int_equal(run(&m, org.id, accept_tx(org.id, &bob, offer), err, sizeof err), 0);
    assert_true(account_of(&m, alice.id)->balance == 60 && account_of(&m, alice.id)->nonce == 1);
    assert_true(account_of(&m, bob.id)->balance == 40);
    assert_int_equal(run(&m, org.id, accept_tx(org.id, &bob, offer), err, sizeof err), 1);
    assert_non_null(strstr(err, "nonce 0 was spent"));
    assert_int_equal(run(&m, org.id, offer_tx(org.id, &alice, bob.id, "1", "0", 100), err, sizeof err), 1);
    assert_non_null(strstr(err, "was spent"));
    json_decref(offer);

    /* roles: the supervisor only, never the supervisor's own */
    json_t *role = signed_tx(&sup, salted(json_pack("{s:s,s:s,s:s,s:s,s:i}", "Org", org.id, "Type", "role", "User",
                                                    alice.id, "Role", "member", "Expires", 100)));
    assert_int_equal(run(&m, org.id, role, err, sizeof err), 0);
    assert_int_equal(account_of(&m, alice.id)->role, LEDGER_MEMBER);
    assert_int_equal(run(&m, org.id,
                         signed_tx(&alice, salted(json_pack("{s:s,s:s,s:s,s:s,s:i}", "Org", org.id, "Type", "role",
                                                            "User", bob.id, "Role", "member", "Expires", 100))),
                         err, sizeof err),
                     1);
    assert_non_null(strstr(err, "only the supervisor"));
    assert_int_equal(run(&m, org.id,
                         signed_tx(&sup, salted(json_pack("{s:s,s:s,s:s,s:s,s:i}", "Org", org.id, "Type", "role",
                                                          "User", sup.id, "Role", "guest", "Expires", 100))),
                         err, sizeof err),
                     1);
    /* shapes: unknown fields, numbers for amounts, another org */
    json_t *odd = issue_tx(org.id, &sup, alice.id, "1");
    json_object_set_new(odd, "Extra", json_true());
    assert_int_equal(run(&m, org.id, odd, err, sizeof err), 1);
    assert_non_null(strstr(err, "unknown field"));
    odd = signed_tx(&sup, salted(json_pack("{s:s,s:s,s:s,s:i,s:s,s:i}", "Org", org.id, "Type", "issue", "To",
                                           alice.id, "Amount", 5, "Reason", "r", "Expires", 100)));
    assert_int_equal(run(&m, org.id, odd, err, sizeof err), 1);
    assert_non_null(strstr(err, "decimal string"));
    /* an ID or an amount followed by a NUL and more is not one (the signature covers the rest) */
    char hidden[64];
    size_t hlen = (size_t)snprintf(hidden, sizeof hidden, "%s", alice.id) + 1;
    memcpy(hidden + hlen, "x", 2);
    odd = issue_tx(org.id, &sup, alice.id, "1");
    json_object_set_new(odd, "To", json_stringn(hidden, hlen + 1));
    assert_int_equal(ledger_sign(odd, &sup.key), 0);
    assert_int_equal(run(&m, org.id, odd, err, sizeof err), 1);
    assert_non_null(strstr(err, "To must be a Leither ID"));
    odd = issue_tx(org.id, &sup, alice.id, "1");
    json_object_set_new(odd, "Amount", json_stringn("1\0009", 3));
    assert_int_equal(ledger_sign(odd, &sup.key), 0);
    assert_int_equal(run(&m, org.id, odd, err, sizeof err), 1);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(run(&m, alice.id, issue_tx(org.id, &sup, alice.id, "1"), err, sizeof err), 1);
    assert_non_null(strstr(err, "is for org"));
    account_map_free(&m);
}

/* --- a node's ledger, through ledger_node.h ------------------------------------------------ */

static char tmp_home[] = "/tmp/test_ledger_XXXXXX";

static const char *wait_final(node *n, const char *org, const char *tx, json_t **status)
{
    char err[512];
    for (int i = 0; i < 300; i++) { /* a pulse a second: final well within this */
        json_decref(*status);
        *status = NULL;
        assert_int_equal(ledger_tx_status(n, org, tx, status, err, sizeof err), LEDGER_OK);
        const char *st = json_string_value(json_object_get(*status, "State"));
        if (strcmp(st, "queued") && strcmp(st, "pending"))
            return st;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    fail_msg("transaction %s never became final", tx);
    return NULL;
}

static json_t *submit_ok(node *n, json_t *tx, char hash[64])
{
    size_t len;
    char *bytes = ledger_bytes(tx, &len), err[512];
    json_t *out = NULL;
    int st = ledger_submit(n, bytes, len, &out, err, sizeof err);
    if (st != LEDGER_OK)
        fail_msg("submit refused: %s", err);
    snprintf(hash, 64, "%s", json_string_value(json_object_get(out, "Tx")));
    free(bytes);
    json_decref(out);
    return tx;
}

static int submit_refused(node *n, json_t *tx, const char *why)
{
    size_t len;
    char *bytes = ledger_bytes(tx, &len), err[512];
    json_t *out = NULL;
    int st = ledger_submit(n, bytes, len, &out, err, sizeof err);
    free(bytes);
    json_decref(out);
    json_decref(tx);
    if (st == LEDGER_OK)
        fail_msg("submit took what should be refused (%s)", why);
    if (!strstr(err, why))
        fail_msg("refused with \"%s\", not \"%s\"", err, why);
    return st;
}

static void node_ledger_pulses_and_verifies(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(tmp_home));
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof path, "%s/keys", tmp_home);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/data", tmp_home);
    node n;
    memset(&n, 0, sizeof n);
    pthread_mutex_init(&n.lock, NULL);
    home_defaults(&n.home, tmp_home);
    assert_non_null(n.db = db_open(path, DB_SYNC_NO, err, sizeof err));
    assert_int_equal(ledger_start(&n, err, sizeof err), 0);

    user sup, alice;
    user_new(&sup), user_new(&alice);
    json_t *created = NULL, *status = NULL, *doc = NULL;
    assert_int_equal(ledger_create(&n, "acme", sup.id, &created, err, sizeof err), LEDGER_OK);
    const char *org = json_string_value(json_object_get(created, "Org"));
    char h1[64], h2[64], h3[64], h4[64];
    json_decref(submit_ok(&n,
                          signed_tx(&alice, salted(json_pack("{s:s,s:s,s:s,s:i}", "Org", org, "Type", "apply",
                                                             "Note", "me", "Expires", 50))),
                          h1));
    json_decref(submit_ok(&n, issue_tx(org, &sup, alice.id, "70"), h2));
    /* refused at once, against what the queue will make of the accounts */
    submit_refused(&n, issue_tx(org, &sup, alice.id, "18446744073709551600"), "overflow");
    json_t *offer = offer_tx(org, &alice, sup.id, "30", "0", 50);
    submit_ok(&n, offer, h3);
    submit_refused(&n, json_deep_copy(offer), "replayed");
    json_decref(submit_ok(&n, accept_tx(org, &sup, offer), h4));
    submit_refused(&n, accept_tx(org, &sup, offer), "replayed");
    json_t *second = json_pack("{s:s,s:s,s:O,s:i}", "Org", org, "Type", "accept", "Offer", offer, "Expires", 99);
    submit_refused(&n, signed_tx(&sup, second), "nonce 0 was spent"); /* another accept of it */
    assert_string_equal(wait_final(&n, org, h4, &status), "final");
    json_int_t pulse = json_integer_value(json_object_get(status, "Pulse"));
    assert_string_equal(wait_final(&n, org, h3, &status), "final"); /* the offer, through its accept */
    assert_string_equal(wait_final(&n, org, h1, &status), "final");

    assert_int_equal(ledger_get_account(&n, org, alice.id, 0, &doc, err, sizeof err), LEDGER_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "Balance")), "40");
    assert_string_equal(json_string_value(json_object_get(doc, "Nonce")), "1");
    json_decref(doc);
    assert_int_equal(ledger_get_account(&n, org, alice.id, 1, &doc, err, sizeof err), LEDGER_NOT_FOUND);
    assert_int_equal(ledger_root(&n, org, (uint64_t)pulse + 5, &doc, err, sizeof err), LEDGER_NOT_FOUND);

    /* the root is the tree's definition over the accounts */
    assert_int_equal(ledger_accounts(&n, org, 0, 100, &doc, err, sizeof err), LEDGER_OK);
    size_t count = json_array_size(doc);
    assert_int_equal(count, 2);
    uint8_t keys[2 * SMT_KEY_BYTES], values[2][LEDGER_ACCOUNT_BYTES], root[32];
    const uint8_t *vptr[2] = {values[0], values[1]};
    size_t lens[2] = {LEDGER_ACCOUNT_BYTES, LEDGER_ACCOUNT_BYTES};
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(doc, i);
        ledger_account a = {(uint8_t)ledger_role_parse(json_string_value(json_object_get(e, "Role"))), 0, 0};
        ledger_amount_parse(json_string_value(json_object_get(e, "Balance")), &a.balance);
        ledger_amount_parse(json_string_value(json_object_get(e, "Nonce")), &a.nonce);
        ledger_account_encode(&a, values[i]);
        ledger_key_of(keys + i * SMT_KEY_BYTES, json_string_value(json_object_get(e, "ID")));
    }
    json_decref(doc);
    assert_int_equal(smt_root_of(root, keys, vptr, lens, count), 0);
    char root64[64];
    ids_b64url_encode(root64, root, 32);
    assert_int_equal(ledger_root(&n, org, 0, &doc, err, sizeof err), LEDGER_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "Root")), root64);
    json_decref(doc);

    /* the history keeps the issue's reason */
    assert_int_equal(ledger_history(&n, org, alice.id, 0, 10, &doc, err, sizeof err), LEDGER_OK);
    int reasons = 0;
    for (size_t i = 0; i < json_array_size(doc); i++)
        reasons += !strcmp(json_string_value(json_object_get(json_array_get(doc, i), "Reason")) ?: "", "a reason");
    assert_int_equal(reasons, 1);
    json_decref(doc);

    /* verify replays the log, on the pulse thread */
    assert_int_equal(ledger_verify_start(&n, org, &doc, err, sizeof err), LEDGER_OK);
    long job = (long)json_integer_value(json_object_get(doc, "Job"));
    json_decref(doc);
    const char *st = "running";
    for (int i = 0; i < 300 && (!strcmp(st, "running") || !strcmp(st, "queued")); i++) {
        doc = NULL;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        assert_int_equal(ledger_verify_job(&n, job, &doc, err, sizeof err), LEDGER_OK);
        st = strcmp(json_string_value(json_object_get(doc, "State")), "done") ? "running" : "done";
        if (!strcmp(json_string_value(json_object_get(doc, "State")), "failed"))
            fail_msg("verify failed: %s", json_string_value(json_object_get(doc, "Error")));
        json_decref(doc);
    }
    assert_string_equal(st, "done");

    json_decref(status);
    json_decref(offer);
    json_decref(created);
    ledger_stop(&n);
    db_close(n.db);
    home_free(&n.home);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_home);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    if (ids_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(amounts_parse_strictly),
        cmocka_unit_test(accounts_are_17_bytes),
        cmocka_unit_test(signatures_cover_every_field),
        cmocka_unit_test(tx_root_is_rfc6962),
        cmocka_unit_test(rules_refuse_with_reasons),
        cmocka_unit_test(node_ledger_pulses_and_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
