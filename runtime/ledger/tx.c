/* tx.c: the ledger's formats (ledger.h): accounts, amounts, canonical
 * bytes, signatures, hashes and the pulse's transaction root. Pure. */
#include "ledger.h"

#include "bigendian.h"
#include "errbuf.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

void ledger_account_encode(const ledger_account *a, uint8_t out[LEDGER_ACCOUNT_BYTES])
{
    out[0] = a->role;
    put_be64(out + 1, a->balance);
    put_be64(out + 9, a->nonce);
}

int ledger_account_decode(ledger_account *a, const uint8_t *in, size_t len)
{
    if (len != LEDGER_ACCOUNT_BYTES || in[0] < LEDGER_GUEST || in[0] > LEDGER_SUPERVISOR) return -1;
    a->role = in[0];
    a->balance = get_be64(in + 1);
    a->nonce = get_be64(in + 9);
    return 0;
}

static const char *const role_names[] = {NULL, "guest", "member", "supervisor"};

const char *ledger_role_name(int role)
{
    return role >= LEDGER_GUEST && role <= LEDGER_SUPERVISOR ? role_names[role] : NULL;
}

int ledger_role_parse(const char *name)
{
    for (int r = LEDGER_GUEST; name && r <= LEDGER_SUPERVISOR; r++)
        if (!strcmp(name, role_names[r])) return r;
    return 0;
}

int ledger_amount_parse(const char *s, uint64_t *out)
{
    if (!s || !*s || (s[0] == '0' && s[1])) return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

void ledger_amount_format(char out[21], uint64_t v)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

int ledger_key_of(uint8_t key[SMT_KEY_BYTES], const char *id)
{
    size_t n = 0;
    if (!id || !ids_is_leither_id(id)) return -1;
    if (ids_b64url_decode(key, SMT_KEY_BYTES, &n, id, IDS_LID_LEN) != 0 || n != SMT_KEY_BYTES) return -1;
    return 0;
}

char *ledger_bytes(const json_t *doc, size_t *len)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (text) *len = strlen(text);
    return text;
}

char *ledger_signed_bytes(const json_t *doc, size_t *len)
{
    json_t *copy = json_copy((json_t *)doc);
    if (!copy) return NULL;
    json_object_del(copy, "Sig");
    char *text = ledger_bytes(copy, len);
    json_decref(copy);
    return text;
}

int ledger_sign(json_t *doc, const ids_key *key)
{
    char id[IDS_LID_LEN + 1], pk[IDS_B64URL_LEN(IDS_PK_BYTES) + 1], sig64[IDS_B64URL_LEN(IDS_SIG_BYTES) + 1];
    ids_leither_id(id, key->pk);
    ids_b64url_encode(pk, key->pk, IDS_PK_BYTES);
    if (json_object_set_new(doc, "Signer", json_string(id)) || json_object_set_new(doc, "PublicKey", json_string(pk)))
        return -1;
    size_t len;
    char *bytes = ledger_signed_bytes(doc, &len);
    if (!bytes) return -1;
    uint8_t sig[IDS_SIG_BYTES];
    ids_sign(sig, bytes, len, key);
    free(bytes);
    ids_b64url_encode(sig64, sig, IDS_SIG_BYTES);
    return json_object_set_new(doc, "Sig", json_string(sig64)) ? -1 : 0;
}

enum ids_status ledger_verify_sig(const json_t *doc, char *err, size_t errlen)
{
    const char *signer = json_string_value(json_object_get(doc, "Signer"));
    const char *pk64 = json_string_value(json_object_get(doc, "PublicKey"));
    const char *sig64 = json_string_value(json_object_get(doc, "Sig"));
    uint8_t pk[IDS_PK_BYTES], sig[IDS_SIG_BYTES];
    size_t n = 0;
    char id[IDS_LID_LEN + 1];
    if (!signer || !pk64 || !sig64) {
        errbuf_set(err, errlen, "needs Signer, PublicKey and Sig");
        return IDS_INVALID;
    }
    if (ids_b64url_decode(pk, sizeof pk, &n, pk64, strlen(pk64)) || n != IDS_PK_BYTES) {
        errbuf_set(err, errlen, "PublicKey is not an ed25519 public key");
        return IDS_INVALID;
    }
    ids_leither_id(id, pk);
    if (strcmp(id, signer)) {
        errbuf_set(err, errlen, "Signer is not the ID of PublicKey");
        return IDS_INVALID;
    }
    if (ids_b64url_decode(sig, sizeof sig, &n, sig64, strlen(sig64)) || n != IDS_SIG_BYTES) {
        errbuf_set(err, errlen, "Sig is not an ed25519 signature");
        return IDS_INVALID;
    }
    size_t len;
    char *bytes = ledger_signed_bytes(doc, &len);
    if (!bytes) {
        errbuf_set(err, errlen, "out of memory");
        return IDS_ERROR;
    }
    enum ids_status st = ids_verify(sig, bytes, len, pk);
    free(bytes);
    if (st != IDS_OK) errbuf_set(err, errlen, "bad signature of %s", signer);
    return st;
}

void ledger_hash(uint8_t out[SMT_HASH_BYTES], const json_t *doc)
{
    size_t len = 0;
    char *bytes = ledger_bytes(doc, &len);
    smt_hash(out, bytes ? bytes : "", bytes ? len : 0);
    free(bytes);
}

void ledger_salt(char *out)
{
    uint8_t salt[LEDGER_SALT_BYTES];
    ids_random(salt, sizeof salt);
    ids_b64url_encode(out, salt, sizeof salt);
}

/* MTH of txs[0..n) (n >= 1) */
static void tree_hash(uint8_t out[SMT_HASH_BYTES], const char *const *txs, const size_t *lens, size_t n)
{
    if (n == 1) {
        static const uint8_t leaf = 0x00;
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, SMT_HASH_BYTES);
        crypto_generichash_update(&st, &leaf, 1);
        crypto_generichash_update(&st, (const uint8_t *)txs[0], lens[0]);
        crypto_generichash_final(&st, out, SMT_HASH_BYTES);
        return;
    }
    size_t k = 1;
    while (k * 2 < n) k *= 2;
    uint8_t left[SMT_HASH_BYTES], right[SMT_HASH_BYTES];
    tree_hash(left, txs, lens, k);
    tree_hash(right, txs + k, lens + k, n - k);
    smt_node_hash(out, left, right);
}

void ledger_tx_root(uint8_t out[SMT_HASH_BYTES], const char *const *txs, const size_t *lens, size_t n)
{
    if (n == 0)
        smt_hash(out, "", 0);
    else
        tree_hash(out, txs, lens, n);
}
