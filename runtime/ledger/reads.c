/* reads.c: the ledger's read endpoints (ledger.h's API), each in a read
 * transaction of its own: they never wait on the pulse thread. */
#include "ledger_impl.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define HASH64 (IDS_B64URL_LEN(SMT_HASH_BYTES) + 1)

static json_t *b64_json(const uint8_t *bytes, size_t len)
{
    char *text = malloc(IDS_B64URL_LEN(len) + 1);
    if (!text)
        return NULL;
    ids_b64url_encode(text, bytes, len);
    json_t *j = json_string(text);
    free(text);
    return j;
}

static void id_of_key(char out[IDS_LID_LEN + 1], const uint8_t key[SMT_KEY_BYTES])
{
    ids_b64url_encode(out, key, SMT_KEY_BYTES);
}

static json_t *amount_json(uint64_t v)
{
    char text[21];
    ledger_amount_format(text, v);
    return json_string(text);
}

/* A read's start: the ledgers, org's key, a read transaction, and the org's
 * record (JSON, when rec is non-NULL). LEDGER_OK, or a status with err. */
static int read_begin(struct node *n, const char *org_id, uint8_t okey[SMT_KEY_BYTES], MDB_txn **txn, json_t **rec,
                      char *err, size_t errlen)
{
    ledger *l = n->ledger;
    *txn = NULL;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    if (!org_id || ledger_key_of(okey, org_id) != 0)
        return ERR("org= must be an org ID (a Leither ID)"), LEDGER_INVALID;
    if (!(*txn = ledger_read_txn(l, err, errlen)))
        return LEDGER_ERROR;
    MDB_val k = {SMT_KEY_BYTES, okey}, v;
    if (mdb_get(*txn, l->orgs, &k, &v) != 0) {
        mdb_txn_abort(*txn);
        *txn = NULL;
        return ERR("no org %s on this node", org_id), LEDGER_NOT_FOUND;
    }
    if (rec && !(*rec = json_loadb(v.mv_data, v.mv_size, 0, NULL))) {
        mdb_txn_abort(*txn);
        *txn = NULL;
        return ERR("org %s's record is not JSON", org_id), LEDGER_ERROR;
    }
    return LEDGER_OK;
}

static int read_end(MDB_txn *txn, int status)
{
    if (txn)
        mdb_txn_abort(txn);
    return status;
}

/* pulse 0: the newest; else it must exist. */
static int resolve_pulse(ledger *l, MDB_txn *txn, const uint8_t okey[SMT_KEY_BYTES], const char *org_id,
                         uint64_t *pulse, char *err, size_t errlen)
{
    uint64_t newest = smt_latest(l->smt, txn, okey);
    if (*pulse == 0)
        *pulse = newest;
    else if (*pulse > newest)
        return ERR("org %s has no pulse %llu yet (its newest is %llu)", org_id, (unsigned long long)*pulse,
                   (unsigned long long)newest),
               LEDGER_NOT_FOUND;
    return LEDGER_OK;
}

/* read_begin, then resolve_pulse on *pulse: the start of every read at a pulse. */
static int read_begin_at(struct node *n, const char *org_id, uint8_t okey[SMT_KEY_BYTES], MDB_txn **txn,
                         uint64_t *pulse, char *err, size_t errlen)
{
    int st = read_begin(n, org_id, okey, txn, NULL, err, errlen);
    if (st == LEDGER_OK)
        st = resolve_pulse(n->ledger, *txn, okey, org_id, pulse, err, errlen);
    return st;
}

/* id= as an account's tree key. */
static int account_key(uint8_t akey[SMT_KEY_BYTES], const char *id, char *err, size_t errlen)
{
    if (!id || ledger_key_of(akey, id) != 0)
        return ERR("id= must be a Leither ID"), LEDGER_INVALID;
    return LEDGER_OK;
}

/* account_key, then read_begin_at: the start of a read of one account. */
static int read_account_at(struct node *n, const char *org_id, const char *id, uint8_t okey[SMT_KEY_BYTES],
                           uint8_t akey[SMT_KEY_BYTES], MDB_txn **txn, uint64_t *pulse, char *err, size_t errlen)
{
    *txn = NULL;
    if (account_key(akey, id, err, errlen) != LEDGER_OK)
        return LEDGER_INVALID;
    return read_begin_at(n, org_id, okey, txn, pulse, err, errlen);
}

static int smt_status_of(enum smt_status st, uint64_t pulse, ledger *l, char *err, size_t errlen)
{
    if (st == SMT_PRUNED)
        return ERR("pulse %llu was pruned: the newest %llu pulses are kept, and every %dth",
                   (unsigned long long)pulse, (unsigned long long)l->n->home.ledger_retention_pulses,
                   SMT_CHECKPOINT_EVERY),
               LEDGER_PRUNED;
    if (st == SMT_NOT_FOUND)
        return ERR("no pulse %llu", (unsigned long long)pulse), LEDGER_NOT_FOUND;
    return LEDGER_ERROR;
}

static json_t *header_at(ledger *l, MDB_txn *txn, const uint8_t okey[SMT_KEY_BYTES], uint64_t pulse)
{
    uint8_t k[SMT_KEY_BYTES + 8];
    memcpy(k, okey, SMT_KEY_BYTES);
    put_be64(k + SMT_KEY_BYTES, pulse);
    MDB_val key = {sizeof k, k}, v;
    if (mdb_get(txn, l->headers, &key, &v) != 0)
        return NULL;
    return json_loadb(v.mv_data, v.mv_size, 0, NULL);
}

static json_t *root_json(ledger *l, MDB_txn *txn, const uint8_t okey[SMT_KEY_BYTES], uint64_t pulse)
{
    uint8_t root[SMT_HASH_BYTES];
    char err[128];
    if (smt_root(l->smt, txn, okey, pulse, root, err, sizeof err) != SMT_OK)
        return json_null();
    return b64_json(root, SMT_HASH_BYTES);
}

static int done(json_t **out, json_t *doc, char *err, size_t errlen)
{
    *out = doc;
    return doc ? LEDGER_OK : (ERR("out of memory"), LEDGER_ERROR);
}

int ledger_show(struct node *n, const char *org_id, json_t **out, char *err, size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES];
    MDB_txn *txn;
    json_t *rec;
    int st = read_begin(n, org_id, okey, &txn, &rec, err, errlen);
    if (st != LEDGER_OK)
        return st;
    uint64_t pulse = smt_latest(n->ledger->smt, txn, okey);
    json_object_set_new(rec, "Pulse", json_integer((json_int_t)pulse));
    json_object_set_new(rec, "Root", root_json(n->ledger, txn, okey, pulse));
    return read_end(txn, done(out, rec, err, errlen));
}

int ledger_list(struct node *n, size_t limit, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    MDB_txn *txn = ledger_read_txn(l, err, errlen);
    if (!txn)
        return LEDGER_ERROR;
    json_t *list = json_array();
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(txn, l->orgs, &cur) == 0) {
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && json_array_size(list) < limit;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (rec && k.mv_size == SMT_KEY_BYTES)
                json_array_append_new(list, json_pack("{s:O?,s:O?,s:I}", "Org", json_object_get(rec, "Org"), "Name",
                                                      json_object_get(rec, "Name"), "Pulse",
                                                      (json_int_t)smt_latest(l->smt, txn, k.mv_data)));
            json_decref(rec);
        }
        mdb_cursor_close(cur);
    }
    return read_end(txn, done(out, list, err, errlen));
}

/* --- accounts ------------------------------------------------------------- */

static json_t *account_json(const uint8_t key[SMT_KEY_BYTES], const ledger_account *a, int full)
{
    char id[IDS_LID_LEN + 1];
    id_of_key(id, key);
    if (!full)
        return json_pack("{s:s,s:s}", "ID", id, "Role", ledger_role_name(a->role));
    return json_pack("{s:s,s:s,s:o,s:o}", "ID", id, "Role", ledger_role_name(a->role), "Balance",
                     amount_json(a->balance), "Nonce", amount_json(a->nonce));
}

typedef struct {
    json_t *list;
    size_t limit;
    int full;
} each_ctx;
/* each_account's "stop", apart from smt_each's own statuses */
#define EACH_FULL 100

static int each_account(void *arg, const uint8_t key[SMT_KEY_BYTES], const uint8_t *value, size_t len)
{
    each_ctx *c = arg;
    ledger_account a;
    if (json_array_size(c->list) >= c->limit)
        return EACH_FULL;
    if (ledger_account_decode(&a, value, len) == 0)
        json_array_append_new(c->list, account_json(key, &a, c->full));
    return 0;
}

static int list_accounts(struct node *n, const char *org_id, uint64_t pulse, size_t limit, int full, json_t **out,
                         char *err, size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES];
    MDB_txn *txn;
    int st = read_begin_at(n, org_id, okey, &txn, &pulse, err, errlen);
    if (st != LEDGER_OK)
        return read_end(txn, st);
    each_ctx c = {json_array(), limit, full};
    int rc = smt_each(n->ledger->smt, txn, okey, pulse, each_account, &c, err, errlen);
    if (rc != SMT_OK && rc != EACH_FULL) {
        json_decref(c.list);
        return read_end(txn, smt_status_of((enum smt_status)rc, pulse, n->ledger, err, errlen));
    }
    return read_end(txn, done(out, c.list, err, errlen));
}

int ledger_members(struct node *n, const char *org_id, size_t limit, json_t **out, char *err, size_t errlen)
{
    return list_accounts(n, org_id, 0, limit, 0, out, err, errlen);
}

int ledger_accounts(struct node *n, const char *org_id, uint64_t pulse, size_t limit, json_t **out, char *err,
                    size_t errlen)
{
    return list_accounts(n, org_id, pulse, limit, 1, out, err, errlen);
}

int ledger_get_account(struct node *n, const char *org_id, const char *id, uint64_t pulse, json_t **out, char *err,
                   size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], akey[SMT_KEY_BYTES];
    MDB_txn *txn;
    int st = read_account_at(n, org_id, id, okey, akey, &txn, &pulse, err, errlen);
    if (st != LEDGER_OK)
        return read_end(txn, st);
    const uint8_t *value;
    size_t len;
    ledger_account a;
    enum smt_status s = smt_get(n->ledger->smt, txn, okey, pulse, akey, &value, &len, err, errlen);
    if (s == SMT_NOT_FOUND)
        return read_end(txn, (ERR("%s has no account in org %s at pulse %llu", id, org_id, (unsigned long long)pulse),
                              LEDGER_NOT_FOUND));
    if (s != SMT_OK)
        return read_end(txn, smt_status_of(s, pulse, n->ledger, err, errlen));
    if (ledger_account_decode(&a, value, len) != 0)
        return read_end(txn, (ERR("the account's value is not an account"), LEDGER_ERROR));
    json_t *doc = account_json(akey, &a, 1);
    if (doc) {
        json_object_set_new(doc, "Pulse", json_integer((json_int_t)pulse));
        json_object_set_new(doc, "Root", root_json(n->ledger, txn, okey, pulse));
    }
    return read_end(txn, done(out, doc, err, errlen));
}

int ledger_root(struct node *n, const char *org_id, uint64_t pulse, json_t **out, char *err, size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES];
    MDB_txn *txn;
    int st = read_begin_at(n, org_id, okey, &txn, &pulse, err, errlen);
    if (st != LEDGER_OK)
        return read_end(txn, st);
    json_t *header = header_at(n->ledger, txn, okey, pulse);
    json_t *doc = json_pack("{s:s,s:I,s:o,s:o}", "Org", org_id, "Pulse", (json_int_t)pulse, "Root",
                            root_json(n->ledger, txn, okey, pulse), "Header", header ? header : json_null());
    return read_end(txn, done(out, doc, err, errlen));
}

int ledger_proof(struct node *n, const char *org_id, const char *id, uint64_t pulse, json_t **out, char *err,
                 size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], akey[SMT_KEY_BYTES];
    MDB_txn *txn;
    int st = read_account_at(n, org_id, id, okey, akey, &txn, &pulse, err, errlen);
    if (st != LEDGER_OK)
        return read_end(txn, st);
    smt_proof *proof = malloc(sizeof *proof);
    uint8_t *bytes = malloc(SMT_PROOF_MAX);
    const uint8_t *value = NULL;
    size_t len = 0;
    enum smt_status s = proof && bytes ? smt_prove(n->ledger->smt, txn, okey, pulse, akey, proof, &value, &len, err,
                                                   errlen)
                                       : (ERR("out of memory"), SMT_ERROR);
    if (s != SMT_OK) {
        free(proof);
        free(bytes);
        return read_end(txn, smt_status_of(s, pulse, n->ledger, err, errlen));
    }
    static const char *const kinds[] = {"inclusion", "empty", "other-leaf"};
    size_t plen = smt_proof_encode(proof, bytes);
    ledger_account a;
    json_t *account = value && ledger_account_decode(&a, value, len) == 0 ? account_json(akey, &a, 1) : json_null();
    json_t *doc = json_pack("{s:s,s:s,s:I,s:o,s:s,s:o,s:o,s:o}", "Org", org_id, "ID", id, "Pulse", (json_int_t)pulse,
                            "Root", root_json(n->ledger, txn, okey, pulse), "Kind",
                            proof->kind <= 2 ? kinds[proof->kind] : "?", "Proof", b64_json(bytes, plen), "Value",
                            value ? b64_json(value, len) : json_null(), "Account", account);
    free(proof);
    free(bytes);
    return read_end(txn, done(out, doc, err, errlen));
}

/* --- the log ---------------------------------------------------------------- */

static json_t *log_tx(ledger *l, MDB_txn *txn, const uint8_t okey[SMT_KEY_BYTES], uint64_t pulse, uint32_t idx)
{
    uint8_t k[SMT_KEY_BYTES + 12];
    memcpy(k, okey, SMT_KEY_BYTES);
    put_be64(k + SMT_KEY_BYTES, pulse);
    put_be32(k + SMT_KEY_BYTES + 8, idx);
    MDB_val key = {sizeof k, k}, v;
    if (mdb_get(txn, l->log, &key, &v) != 0)
        return NULL;
    return json_loadb(v.mv_data, v.mv_size, 0, NULL);
}

/* A history entry: Pulse, Tx, Type, Signer and the type's fields (a
 * transfer's from its offer). */
static json_t *history_entry(json_t *tx, uint64_t pulse)
{
    uint8_t hash[SMT_HASH_BYTES];
    ledger_hash(hash, tx);
    json_t *e = json_pack("{s:I,s:o,s:O?,s:O?}", "Pulse", (json_int_t)pulse, "Tx", b64_json(hash, sizeof hash),
                          "Type", json_object_get(tx, "Type"), "Signer", json_object_get(tx, "Signer"));
    if (!e)
        return NULL;
    const json_t *src = tx;
    if (!strcmp(tx_str(tx, "Type"), "accept")) {
        src = json_object_get(tx, "Offer");
        ledger_hash(hash, src);
        json_object_set_new(e, "Offer", b64_json(hash, sizeof hash));
    }
    static const char *const skip[] = {"Org", "Type", "Signer", "PublicKey", "Expires", "Sig", "Salt", "Offer"};
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)src, name, v)
    {
        int keep = 1;
        for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
            keep &= strcmp(name, skip[i]) != 0;
        if (keep)
            json_object_set(e, name, v);
    }
    return e;
}

/* Keys under prefix in dbi: from `start` (prefix + suffix) on, or the last
 * `limit` when start is NULL; calls fn with each key in order. */
static void scan(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix, size_t plen, const uint8_t *start, size_t slen,
                 size_t limit, void (*fn)(void *arg, const MDB_val *k, const MDB_val *v), void *arg)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, dbi, &cur))
        return;
    MDB_val k, v;
    int rc;
    if (start) {
        k = (MDB_val){slen, (void *)start};
        size_t n = 0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && n < limit;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
            if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
                break;
            fn(arg, &k, &v);
        }
        mdb_cursor_close(cur);
        return;
    }
    /* from the end of the prefix backwards: the first key past it, then back */
    uint8_t past[128];
    memcpy(past, prefix, plen);
    size_t i = plen;
    while (i > 0 && past[i - 1] == 0xff)
        i--;
    if (i > 0) {
        past[i - 1]++;
        k = (MDB_val){i, past};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    MDB_val *keys = calloc(limit ? limit : 1, sizeof *keys), *vals = calloc(limit ? limit : 1, sizeof *vals);
    size_t n = 0;
    for (; keys && vals && !rc && n < limit; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
            break;
        keys[n] = k;
        vals[n++] = v;
    }
    while (n-- > 0)
        fn(arg, &keys[n], &vals[n]);
    free(keys);
    free(vals);
    mdb_cursor_close(cur);
}

typedef struct {
    ledger *l;
    MDB_txn *txn;
    const uint8_t *okey;
    json_t *list;
    int by_account;
} history_ctx;

static void history_one(void *arg, const MDB_val *k, const MDB_val *v)
{
    (void)v;
    history_ctx *c = arg;
    const uint8_t *kb = k->mv_data;
    size_t at = c->by_account ? 2 * SMT_KEY_BYTES + 1 : SMT_KEY_BYTES;
    if (k->mv_size != at + 12)
        return;
    uint64_t pulse = get_be64(kb + at);
    json_t *tx = c->by_account ? log_tx(c->l, c->txn, c->okey, pulse, get_be32(kb + at + 8))
                               : json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (tx)
        json_array_append_new(c->list, history_entry(tx, pulse));
    json_decref(tx);
}

int ledger_history(struct node *n, const char *org_id, const char *id, uint64_t from, size_t limit, json_t **out,
                   char *err, size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], prefix[2 * SMT_KEY_BYTES + 1], start[2 * SMT_KEY_BYTES + 9];
    size_t plen = SMT_KEY_BYTES;
    MDB_txn *txn;
    int st = read_begin(n, org_id, okey, &txn, NULL, err, errlen);
    if (st != LEDGER_OK)
        return st;
    memcpy(prefix, okey, SMT_KEY_BYTES);
    if (id) {
        prefix[SMT_KEY_BYTES] = IDX_HIST;
        if (ledger_key_of(prefix + SMT_KEY_BYTES + 1, id) != 0)
            return read_end(txn, (ERR("id= must be a Leither ID"), LEDGER_INVALID));
        plen = 2 * SMT_KEY_BYTES + 1;
    }
    memcpy(start, prefix, plen);
    put_be64(start + plen, from);
    history_ctx c = {n->ledger, txn, okey, json_array(), id != NULL};
    scan(txn, id ? n->ledger->index : n->ledger->log, prefix, plen, from ? start : NULL, plen + 8, limit,
         history_one, &c);
    return read_end(txn, done(out, c.list, err, errlen));
}

static void header_one(void *arg, const MDB_val *k, const MDB_val *v)
{
    (void)k;
    json_t *h = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (h)
        json_array_append_new(arg, h);
}

int ledger_pulses(struct node *n, const char *org_id, uint64_t from, size_t limit, json_t **out, char *err,
                  size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], start[SMT_KEY_BYTES + 8];
    MDB_txn *txn;
    int st = read_begin(n, org_id, okey, &txn, NULL, err, errlen);
    if (st != LEDGER_OK)
        return st;
    memcpy(start, okey, SMT_KEY_BYTES);
    put_be64(start + SMT_KEY_BYTES, from ? from : 1);
    json_t *list = json_array();
    scan(txn, n->ledger->headers, okey, SMT_KEY_BYTES, start, sizeof start, limit, header_one, list);
    return read_end(txn, done(out, list, err, errlen));
}

static void tx_one(void *arg, const MDB_val *k, const MDB_val *v)
{
    (void)k;
    json_t *tx = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (tx)
        json_array_append_new(arg, tx);
}

int ledger_log(struct node *n, const char *org_id, uint64_t pulse, json_t **out, char *err, size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], prefix[SMT_KEY_BYTES + 8];
    MDB_txn *txn;
    int st = read_begin(n, org_id, okey, &txn, NULL, err, errlen);
    if (st == LEDGER_OK && pulse == 0)
        st = (ERR("pulse= must be a pulse number (1 or more)"), LEDGER_INVALID);
    if (st == LEDGER_OK)
        st = resolve_pulse(n->ledger, txn, okey, org_id, &pulse, err, errlen);
    if (st != LEDGER_OK)
        return read_end(txn, st);
    memcpy(prefix, okey, SMT_KEY_BYTES);
    put_be64(prefix + SMT_KEY_BYTES, pulse);
    json_t *txs = json_array(), *header = header_at(n->ledger, txn, okey, pulse);
    /* a pulse holds at most QUEUE_MAX transactions */
    scan(txn, n->ledger->log, prefix, sizeof prefix, prefix, sizeof prefix, QUEUE_MAX, tx_one, txs);
    return read_end(txn, done(out, json_pack("{s:o,s:o}", "Header", header ? header : json_null(), "Txs", txs), err,
                              errlen));
}

/* --- offers ------------------------------------------------------------- */

typedef struct {
    ledger *l;
    MDB_txn *txn;
    const uint8_t *okey;
    json_t *list;
} offers_ctx;

static void offer_one(void *arg, const MDB_val *k, const MDB_val *v)
{
    (void)v;
    offers_ctx *c = arg;
    if (k->mv_size != 2 * SMT_KEY_BYTES + 1 + SMT_HASH_BYTES)
        return;
    uint8_t ok[SMT_KEY_BYTES + SMT_HASH_BYTES];
    memcpy(ok, c->okey, SMT_KEY_BYTES);
    memcpy(ok + SMT_KEY_BYTES, (uint8_t *)k->mv_data + 2 * SMT_KEY_BYTES + 1, SMT_HASH_BYTES);
    MDB_val key = {sizeof ok, ok}, ov;
    char hash64[HASH64];
    ids_b64url_encode(hash64, ok + SMT_KEY_BYTES, SMT_HASH_BYTES);
    size_t i;
    json_t *e;
    json_array_foreach(c->list, i, e) if (!strcmp(tx_str(e, "Tx"), hash64)) return; /* listed as queued */
    json_t *offer = mdb_get(c->txn, c->l->offers, &key, &ov) == 0 ? json_loadb(ov.mv_data, ov.mv_size, 0, NULL) : NULL;
    if (offer)
        json_array_append_new(c->list, json_pack("{s:o,s:o,s:s}", "Tx", b64_json(ok + SMT_KEY_BYTES, SMT_HASH_BYTES),
                                                 "Offer", offer, "State", "pending"));
}

int ledger_offers(struct node *n, const char *org_id, const char *id, size_t limit, json_t **out, char *err,
                  size_t errlen)
{
    uint8_t okey[SMT_KEY_BYTES], akey[SMT_KEY_BYTES], prefix[2 * SMT_KEY_BYTES + 1];
    if (account_key(akey, id, err, errlen) != LEDGER_OK)
        return LEDGER_INVALID;
    MDB_txn *txn;
    int st = read_begin(n, org_id, okey, &txn, NULL, err, errlen);
    if (st != LEDGER_OK)
        return st;
    ledger *l = n->ledger;
    offers_ctx c = {l, txn, okey, json_array()};
    /* offers submitted this second: queued for the pulse thread to keep */
    pthread_mutex_lock(&l->lock);
    ledger_org *o = ledger_find(l, okey);
    for (size_t i = 0; o && i < o->nqueue + o->nbatch && json_array_size(c.list) < limit; i++) {
        queued_tx *q = i < o->nqueue ? &o->queue[i] : &o->batch[i - o->nqueue];
        if (q->type == TX_OFFER && (!strcmp(tx_str(q->tx, "From"), id) || !strcmp(tx_str(q->tx, "To"), id)))
            json_array_append_new(c.list, json_pack("{s:o,s:O,s:s}", "Tx", b64_json(q->hash, SMT_HASH_BYTES),
                                                    "Offer", q->tx, "State", "pending"));
    }
    pthread_mutex_unlock(&l->lock);
    for (int tag = IDX_FROM; tag; tag = tag == IDX_FROM ? IDX_TO : 0) {
        memcpy(prefix, okey, SMT_KEY_BYTES);
        prefix[SMT_KEY_BYTES] = (uint8_t)tag;
        memcpy(prefix + SMT_KEY_BYTES + 1, akey, SMT_KEY_BYTES);
        size_t have = json_array_size(c.list);
        if (have < limit)
            scan(txn, l->index, prefix, sizeof prefix, prefix, sizeof prefix, limit - have, offer_one, &c);
    }
    return read_end(txn, done(out, c.list, err, errlen));
}
