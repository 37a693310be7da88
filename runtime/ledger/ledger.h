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
 * 3 supervisor, 4 contract), balance (u64 big-endian), nonce (u64 big-endian, the count
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
 * CONTRACTS (issue 15). Lua reward contracts run by modules/contract (its
 * header is the engine's contract: sandbox, gas, determinism, JSON values).
 * runtime/ledger/contracts.c applies them; the formats here are the
 * published part.
 *   Account: a contract has an account keyed by its ID (role 4,
 *     LEDGER_CONTRACT: it holds tokens, it never signs, it is not a member).
 *   Its ID is its MiMei's ID: AppType "contract", Ext "", Mark
 *     "contract:" ORG "/" NAME, authored by the deployer (mimei.h's rule,
 *     so the ID follows from deployer, org and name). The MiMei is a file
 *     MiMei whose content is the source: one raw block (CID v1, codec raw),
 *     at most LEDGER_SOURCE_MAX bytes, published by the deployer before
 *     the deploy is submitted.
 *   Record: the tree key contract_meta_key(ID) = BLAKE2b-160("contract" ||
 *     ID's 20 bytes) holds the contract's record, canonical JSON (compact,
 *     keys sorted): {"Name", "MID", "Source" (the CID text), "Deployer",
 *     "Deployed" (pulse), "Calls" (integer: calls applied, failed ones
 *     too), "Failed" (integer), "Gas" (decimal: gas used by all its calls
 *     and its init), "MintCap" (decimal: the total it may ever mint, "0"
 *     unless granted), "Minted" (decimal), "Receipts" (base64url of the
 *     receipt chain: R0 = 32 zero bytes, Rn = H(Rn-1 || receipt bytes))}.
 *     So the state root commits to every call's outcome.
 *   Storage: storage key K of contract ID is the tree key
 *     contract_storage_key(ID, K) = BLAKE2b-160("contract-storage" || ID's
 *     20 bytes || K); its value is the canonical JSON text storage.set
 *     stored (at most CONTRACT_VALUE_MAX = SMT_VALUE_MAX bytes). A proof of
 *     it is an ordinary tree proof under the pulse's root.
 * Transactions (fields beyond the common ones):
 *   deploy  "Salt", "Name" (1..64 bytes of [A-Za-z0-9_.-]), "MID" (must be
 *           the rule's ID for Signer, Org, Name), "Source" (CID text),
 *           "?Init" (a JSON array: init(...) is called once, in the deploy),
 *           "?Gas" (decimal, for init; default LEDGER_GAS_DEFAULT).
 *           Signer: the supervisor or a member. Refused when the ID has an
 *           account already. At submit the node checks that the MiMei is on
 *           it (AppType "contract", Author = Signer), that the source
 *           block is in its store, and contract_check. A deploy whose init
 *           fails is left out with its reason (nothing is created).
 *   grant   "Salt", "Contract", "MintCap" (decimal): signer is the
 *           supervisor; sets the record's MintCap (mint is refused when
 *           Minted + amount > MintCap).
 *   call    "Salt", "Contract", "Function" ([A-Za-z_][A-Za-z0-9_]{0,63}),
 *           "Args" (a JSON array without floats), "Gas" (decimal, 1 ..
 *           LEDGER_GAS_MAX), "MaxSpend" (decimal, may be "0": what the
 *           contract may transfer from the caller's account in this call).
 *           Signer: any account holder of the org. Applied in the pulse,
 *           in order with the other transactions: the call runs on the
 *           accounts and storage as the earlier transactions of the batch
 *           left them; ctx.caller = Signer, ctx.contract = Contract,
 *           ctx.pulse = the pulse; random()'s seed is (the previous pulse's
 *           root, the call's hash). Host rules: transfer from the contract's
 *           account, or from the caller's up to MaxSpend in total; to an
 *           existing account; no overdraft, no u64 overflow; mint as the
 *           record says; balance of any ID (0 when no account).
 *           A call that fails (error, out of gas, memory, no such function)
 *           is still in the pulse's log: its receipt (status, error, gas)
 *           is recorded and chained, its record counts it, and it changes
 *           no balance and no storage. A call the node could not finish
 *           within its wall-clock net (CONTRACT_WALL) is left out with that
 *           reason, as a rule failure is.
 * Receipt of a call (and of a deploy with Init): canonical JSON {"Tx"
 *   (hash, base64url), "Status" ("ok" | "error" | "limit" (out of gas or
 *   memory: one word, since the engine cannot tell the two apart the same
 *   way in every process) | "no function"), "Error" ("" when ok), "Gas"
 *   (integer), "Result" (JSON, null when none or failed), "Events"
 *   ([{"name", "fields"}...])}; its bytes are what the chain hashes.
 * Submit also refuses a call when the queued calls' Gas would pass
 * LEDGER_PULSE_GAS (503 busy): a pulse's work is bounded.
 *
 * The API for contracts (reads open to anyone; deploy, grant and call go
 * through POST org/submit):
 *   GET org/tx?...  gains "Receipt" (above, with "Pulse") for calls and deploys
 *   GET contract/list?org=  -> [{"Contract", "Name", "Deployer", "Deployed"}...]
 *   GET contract/show?org=&contract=[&pulse=]  -> the record's fields and
 *       {"Contract", "Org", "Balance", "Pulse", "Root"}
 *   GET contract/events?org=[&contract=][&from=][&limit=]  -> [{"Pulse",
 *       "Tx", "Contract", "Name", "Fields"}...] oldest first
 *   GET contract/storage?org=&contract=&key=[&pulse=]  -> {"Contract",
 *       "Key", "Pulse", "Root", "TreeKey" (base64url), "Kind", "Proof",
 *       "Value" (the JSON value, or null), "Bytes" (base64url of the stored
 *       text, or null)}
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
/* contracts */
#define LEDGER_SOURCE_MAX 65536           /* bytes of a contract's source */
#define LEDGER_GAS_DEFAULT 1000000ULL     /* a call's gas when the CLI is not told */
#define LEDGER_GAS_MAX 10000000ULL        /* a call's gas at most (CONTRACT_GAS_DEFAULT) */
#define LEDGER_PULSE_GAS 200000000ULL     /* the queued calls' gas at most */
#define LEDGER_CONTRACT_WALL_MS 2000      /* the node's wall-clock net per call */

enum ledger_role { LEDGER_GUEST = 1, LEDGER_MEMBER = 2, LEDGER_SUPERVISOR = 3, LEDGER_CONTRACT = 4 };

typedef struct {
    uint8_t role; /* enum ledger_role */
    uint64_t balance;
    uint64_t nonce;
} ledger_account;

/* --- tx.c: the formats (pure) --------------------------------------------- */

/* The 17 bytes of an account. */
void ledger_account_encode(const ledger_account *a, uint8_t out[LEDGER_ACCOUNT_BYTES]);
/* 0, or -1 when not 17 bytes or the role is not 1..4. */
int ledger_account_decode(ledger_account *a, const uint8_t *in, size_t len);
/* "guest", "member", "supervisor", "contract" (NULL for anything else); and back (0 when unknown). */
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

/* The tree keys of a contract's record and of its storage key (CONTRACTS
 * above); contract is the contract's ID as a tree key. */
void contract_meta_key(uint8_t out[SMT_KEY_BYTES], const uint8_t contract[SMT_KEY_BYTES]);
void contract_storage_key(uint8_t out[SMT_KEY_BYTES], const uint8_t contract[SMT_KEY_BYTES], const uint8_t *key,
                          size_t keylen);
/* The contract's MiMei ID (= its ID) for deployer, org and name; out needs
 * IDS_LID_LEN + 1. */
void contract_id(char *out, const char *deployer, const char *org, const char *name);

/* --- ledger.c: the node's ledgers ----------------------------------------- */

struct node;
/* Opens the ledger DBIs and the smt store in the node's LMDB environment
 * and starts the pulse thread (n->ledger). 0, or -1 with err. */
int ledger_start(struct node *n, char *err, size_t errlen);
/* Stops the pulse thread after its current pulse, closes. */
void ledger_stop(struct node *n);

#endif
