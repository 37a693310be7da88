/*
 * ledger: organizations and their ledgers (issue 14). One ledger per
 * organization, on the node that created it: a versioned sparse Merkle
 * tree (modules/smt) whose version is the pulse number.
 *
 *   tx.c      the formats below: canonical bytes, signatures, hashes,
 *             accounts, amounts, the pulse's transaction root (pure; the
 *             CLI uses them too)
 *   ledger.c  the pulse thread, the state in LMDB, applying transactions,
 *             offers, history, verify
 *   (the JSON API's handlers are runtime/http/api/org.c; the CLI's
 *   runtime/cli/org.c; apps' leither.org is in runtime/apps/lua_api.c)
 *
 * ORGANIZATIONS
 * `org create NAME` makes a key pair for the organization, kept in the
 * home as keys/org-ORGID.key; the org ID is that key's Leither ID. The org
 * is a MiMei (AppType "org", Ext "", Mark "org:" NAME) authored and signed
 * by the org key, public. Its creator (the signer of the request) is the
 * supervisor. Pulse 1 is the genesis: a "create" transaction signed by the
 * org key, which makes the supervisor's account.
 *
 * ACCOUNTS
 * Tree key: the account's Leither ID decoded from base64url (20 bytes).
 * Value: exactly LEDGER_ACCOUNT_BYTES = 17 bytes: role (1 guest, 2 member,
 * 3 supervisor), balance (u64 big-endian), nonce (u64 big-endian, the count
 * of transfers the account has paid). Amounts are u64; in JSON they are
 * decimal strings ("0" .. "18446744073709551615"), never numbers. No floats
 * anywhere in the ledger.
 *
 * TRANSACTIONS
 * A transaction is a JSON object signed by its signer. Its signed bytes are
 * the object without "Sig", serialized by jansson with JSON_COMPACT |
 * JSON_SORT_KEYS (as MiMei info records are); "Sig" is the base64url
 * ed25519 signature of those bytes. Its bytes are the same serialization
 * with "Sig"; its hash (the transaction's name, base64url in JSON) is
 * H(bytes), H = BLAKE2b-256. Fields every transaction has:
 *   "Org"        the org ID
 *   "Type"       below
 *   "Signer"     the signer's Leither ID
 *   "PublicKey"  the signer's ed25519 public key, base64url (its Leither
 *                ID must be Signer)
 *   "Expires"    a pulse number (integer): refused in any later pulse
 *                (the CLI sets the current pulse + LEDGER_EXPIRY_PULSES)
 *   "Sig"
 * and per type:
 *   create  "Name", "MID", "Supervisor"; signed by the org key (genesis)
 *   apply   "Salt", "Note" (<= LEDGER_TEXT_MAX bytes): the signer gets a
 *           guest account; refused when it has an account already
 *   role    "Salt", "User", "Role" ("guest" | "member"); signer is the
 *           supervisor; User has an account and is not the supervisor
 *           (`org approve ORG USER` is role member for a guest)
 *   issue   "Salt", "To", "Amount", "Reason" (1..LEDGER_TEXT_MAX bytes);
 *           signer is the supervisor; To has an account; To's balance must
 *           not overflow
 *   offer   "From" (= Signer), "To", "Amount" (> 0), "Nonce" (decimal
 *           string: the payer's nonce this transfer spends), "Memo"
 *           (<= LEDGER_TEXT_MAX bytes, may be ""); never applied alone: it
 *           waits on the node, pending, until accepted or expired
 *   accept  "Offer" (the whole signed offer object); signer is the offer's
 *           To. Applied in the next pulse: both signatures hold, From != To,
 *           both have accounts, neither Expires is past, From's nonce is
 *           the offer's Nonce (and becomes Nonce + 1), From's balance
 *           covers Amount, To's does not overflow
 * "Salt" is LEDGER_SALT_BYTES random bytes, base64url: two otherwise equal
 * transactions differ. A transaction whose hash is already in the log is
 * refused ("replayed"), and so is a second accept of one offer (the nonce).
 * Every refusal is one line; nothing of a refused transaction is applied.
 *
 * PULSES
 * The pulse thread wakes every second; an org whose queue holds accepted
 * transactions gets its next pulse (the pulse number advances only when
 * the state changed): the batch applied in order, one LMDB write
 * transaction, one fsync; a transaction that fails at that point (e.g. an
 * overdraft after an earlier one in the batch) is left out with its reason
 * (GET org/tx shows it) and the rest apply. The pulse's header:
 *   {"Org", "Pulse", "Time" (unix milliseconds), "Root" (the state root,
 *    base64url), "TxRoot", "Prev", "Txs" (count), "Sig"}
 * signed by the org key like a transaction (signed bytes without "Sig");
 * its hash is H(bytes with Sig); "Prev" is the previous header's hash (32
 * zero bytes for pulse 1). "TxRoot" is the RFC 6962 Merkle tree hash, with
 * H = BLAKE2b-256, of the pulse's transaction bytes in order:
 * MTH({}) = H(""), MTH({d}) = H(0x00 || d), MTH(D[n]) = H(0x01 || MTH(D[0:k])
 * || MTH(D[k:n])) for the largest power of two k < n. `org verify` replays
 * the log from pulse 1 and checks every header: signature, Prev, TxRoot,
 * Root reproduced.
 *
 * THE JSON API (/api/v0/, runtime/http/api/org.c). Reads are GET with
 * query parameters, open to anyone; writes are POST. Errors are the API's
 * usual {"Message", "Code"} with a one-line reason.
 *   POST org/create {"Name"}  (node owner or granted; the signer becomes
 *        supervisor) -> {"Org", "MID", "Name", "Supervisor", "Pulse": 1, "Root"}
 *   POST org/submit  body: a signed transaction (any type but create);
 *        anyone, the transaction's own signature is what counts ->
 *        {"Tx": hash, "State": "queued" | "pending" (an offer)}
 *   GET  org/tx?org=&tx=  -> {"Tx", "Type", "State": "pending" | "queued" |
 *        "final" | "failed" | "expired", "Pulse", "Root", "Error"}
 *   GET  org/show?org=  -> {"Org", "Name", "MID", "PublicKey", "Supervisor",
 *        "Pulse", "Root", "Accounts", "Members", "Created"}
 *   GET  org/list  -> [{"Org", "Name", "Pulse"}...] (orgs on this node)
 *   GET  org/members?org=  -> [{"ID", "Role"}...]
 *   GET  org/account?org=&id=[&pulse=]  -> {"ID", "Role", "Balance", "Nonce",
 *        "Pulse", "Root"}; 404 when no account
 *   GET  org/root?org=[&pulse=]  -> {"Org", "Pulse", "Root", "Header"}
 *   GET  org/proof?org=&id=[&pulse=]  -> {"Org", "ID", "Pulse", "Root",
 *        "Kind": "inclusion" | "empty" | "other-leaf", "Proof" (base64url),
 *        "Value" (base64url of the 17 bytes, or null), "Account" (decoded,
 *        or null)}
 *   GET  org/accounts?org=[&pulse=]  -> [{"ID", "Role", "Balance", "Nonce"}...]
 *   GET  org/history?org=[&id=]  -> [{"Pulse", "Tx", "Type", "Signer", and
 *        the type's fields}...]: issues with reasons, transfers, role changes
 *   GET  org/pulses?org=[&from=][&limit=]  -> [header...]
 *   GET  org/log?org=&pulse=  -> {"Header", "Txs": [transaction...]}
 *   GET  org/offers?org=&id=  -> pending offers from or to id
 *   POST org/verify {"Org"}  -> {"Job"}; GET org/verify?job= -> {"State",
 *        "Pulses", "Error"}: the replay runs on the pulse thread between
 *        pulses, never on an HTTP worker
 * A pulse parameter beyond the newest is 404; one that was pruned says so.
 *
 * Settings (SystemVars.json): ledger_retention_pulses (default 86400): tree
 * versions older than the newest minus this are pruned, checkpoints kept.
 */
#ifndef LEITHER_LEDGER_H
#define LEITHER_LEDGER_H

#include "ids.h"
#include "smt.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_ACCOUNT_BYTES 17
#define LEDGER_TEXT_MAX 1024
#define LEDGER_SALT_BYTES 12
/* the CLI's default lifetime of a transaction, in pulses */
#define LEDGER_EXPIRY_PULSES 600
/* the largest transaction the node takes, in bytes */
#define LEDGER_TX_MAX 8192
#define LEDGER_RETENTION_DEFAULT 86400

enum ledger_role { LEDGER_GUEST = 1, LEDGER_MEMBER = 2, LEDGER_SUPERVISOR = 3 };

typedef struct {
    uint8_t role; /* enum ledger_role */
    uint64_t balance;
    uint64_t nonce;
} ledger_account;

/* --- tx.c: the formats (pure) --------------------------------------------- */

/* The 17 bytes of an account. */
void ledger_account_encode(const ledger_account *a, uint8_t out[LEDGER_ACCOUNT_BYTES]);
/* 0, or -1 when not 17 bytes or the role is not 1..3. */
int ledger_account_decode(ledger_account *a, const uint8_t *in, size_t len);
/* "guest", "member", "supervisor" (NULL for anything else); and back (0 when unknown). */
const char *ledger_role_name(int role);
int ledger_role_parse(const char *name);

/* A decimal u64 with no sign, no leading zeros (but "0"), no spaces: 0,
 * or -1 (malformed, overflows). */
int ledger_amount_parse(const char *s, uint64_t *out);
/* out needs 21 bytes. */
void ledger_amount_format(char out[21], uint64_t v);

/* A Leither ID as a tree key: 0, or -1 when id is not one. */
int ledger_key_of(uint8_t key[SMT_KEY_BYTES], const char *id);

/* The signed bytes (without "Sig") or the bytes (with it) of a transaction
 * or header: malloc'd, *len set; NULL when memory ran out. */
char *ledger_signed_bytes(const json_t *doc, size_t *len);
char *ledger_bytes(const json_t *doc, size_t *len);
/* Sets "Signer", "PublicKey" and "Sig" from key. 0, or -1 (memory). */
int ledger_sign(json_t *doc, const ids_key *key);
/* IDS_OK when "Signer" is the Leither ID of "PublicKey" and "Sig" holds
 * over the signed bytes; else IDS_INVALID or IDS_BAD_SIGNATURE with err. */
enum ids_status ledger_verify_sig(const json_t *doc, char *err, size_t errlen);
/* H(bytes with Sig). */
void ledger_hash(uint8_t out[SMT_HASH_BYTES], const json_t *doc);
/* A fresh "Salt". out needs IDS_B64URL_LEN(LEDGER_SALT_BYTES) + 1. */
void ledger_salt(char *out);

/* RFC 6962 tree hash (BLAKE2b-256) of n transactions' bytes. */
void ledger_tx_root(uint8_t out[SMT_HASH_BYTES], const char *const *txs, const size_t *lens, size_t n);

/* --- ledger.c: the node's ledgers ----------------------------------------- */

struct node;
/* Opens the ledger DBIs and the smt store in the node's LMDB environment
 * and starts the pulse thread (n->ledger). 0, or -1 with err. */
int ledger_start(struct node *n, char *err, size_t errlen);
/* Stops the pulse thread after its current pulse, closes. */
void ledger_stop(struct node *n);

#endif
