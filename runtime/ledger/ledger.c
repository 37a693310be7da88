/* ledger.c: the node's ledgers (ledger.h). The state lives in the node's
 * LMDB environment: the smt store's tables (the accounts, by pulse) and
 *   ledger_orgs     org key (20) -> the org's record (JSON)
 *   ledger_headers  org, pulse (8, big-endian) -> the pulse's signed header
 *   ledger_log      org, pulse, index (4) -> a transaction's bytes
 *   ledger_index    org, tag, ... (ledger_impl.h): transactions by hash,
 *                   history by account, pending offers by payer, payee
 *                   and expiry
 *   ledger_offers   org, hash -> a pending offer's bytes
 * Submit checks a transaction against the accounts as the org's queue will
 * leave them (the overlay) and queues it; the pulse thread, once a second,
 * applies each org's queue in one write transaction (one fsync), and only
 * then does a transaction read as final. */
#include "ledger_impl.h"

#include "db.h"

#include <sodium.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"

void ledger_one_line(char *text)
{
    for (unsigned char *p = (unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MDB_txn *ledger_read_txn(ledger *l, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return ERR("ledger read: %s", mdb_strerror(rc)), NULL;
    return txn;
}

int tree_source_get(void *arg, const uint8_t key[SMT_KEY_BYTES], ledger_account *a, char *err, size_t errlen)
{
    tree_source *t = arg;
    if (!t->txn)
        return 0; /* a tree with nothing yet */
    const uint8_t *value;
    size_t len;
    enum smt_status st = smt_get(t->l->smt, t->txn, t->tree, t->version, key, &value, &len, err, errlen);
    if (st == SMT_NOT_FOUND)
        return 0;
    if (st != SMT_OK)
        return st == SMT_PRUNED ? ERR("that pulse was pruned") : -1;
    if (ledger_account_decode(a, value, len) != 0)
        return ERR("an account in the tree is not 17 bytes of a known role");
    return 1;
}

ledger_org *ledger_find(ledger *l, const uint8_t key[SMT_KEY_BYTES])
{
    for (ledger_org *o = l->list; o; o = o->next)
        if (!memcmp(o->key, key, SMT_KEY_BYTES))
            return o;
    return NULL;
}

/* --- writing a pulse ------------------------------------------------------ */

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, const void *v, size_t vlen, char *err,
               size_t errlen)
{
    MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
    int rc = mdb_put(txn, dbi, &key, &val, 0);
    return rc ? ERR("ledger write: %s", mdb_strerror(rc)) : 0;
}

static int del(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t klen, char *err, size_t errlen)
{
    MDB_val key = {klen, (void *)k};
    int rc = mdb_del(txn, dbi, &key, NULL);
    return rc && rc != MDB_NOTFOUND ? ERR("ledger write: %s", mdb_strerror(rc)) : 0;
}

/* pending offers: the offer and its three index entries */
static size_t offer_key(uint8_t *k, const uint8_t org[SMT_KEY_BYTES], const uint8_t hash[SMT_HASH_BYTES])
{
    memcpy(k, org, SMT_KEY_BYTES);
    memcpy(k + SMT_KEY_BYTES, hash, SMT_HASH_BYTES);
    return SMT_KEY_BYTES + SMT_HASH_BYTES;
}

static size_t party_key(uint8_t *k, const uint8_t org[SMT_KEY_BYTES], char tag, const char *id,
                        const uint8_t hash[SMT_HASH_BYTES])
{
    memcpy(k, org, SMT_KEY_BYTES);
    k[SMT_KEY_BYTES] = (uint8_t)tag;
    if (ledger_key_of(k + SMT_KEY_BYTES + 1, id) != 0)
        memset(k + SMT_KEY_BYTES + 1, 0, SMT_KEY_BYTES);
    memcpy(k + 2 * SMT_KEY_BYTES + 1, hash, SMT_HASH_BYTES);
    return 2 * SMT_KEY_BYTES + 1 + SMT_HASH_BYTES;
}

static size_t expiry_key(uint8_t *k, const uint8_t org[SMT_KEY_BYTES], uint64_t expires,
                         const uint8_t hash[SMT_HASH_BYTES])
{
    memcpy(k, org, SMT_KEY_BYTES);
    k[SMT_KEY_BYTES] = IDX_EXP;
    put_be64(k + SMT_KEY_BYTES + 1, expires);
    memcpy(k + SMT_KEY_BYTES + 9, hash, SMT_HASH_BYTES);
    return SMT_KEY_BYTES + 9 + SMT_HASH_BYTES;
}

static int offer_store(ledger *l, MDB_txn *txn, const uint8_t org[SMT_KEY_BYTES], const json_t *offer,
                       const uint8_t hash[SMT_HASH_BYTES], char *err, size_t errlen)
{
    uint8_t k[128];
    size_t len;
    char *bytes = ledger_bytes(offer, &len);
    if (!bytes)
        return ERR("out of memory");
    int rc = put(txn, l->offers, k, offer_key(k, org, hash), bytes, len, err, errlen);
    free(bytes);
    uint64_t expires = (uint64_t)json_integer_value(json_object_get(offer, "Expires"));
    if (!rc)
        rc = put(txn, l->index, k, party_key(k, org, IDX_FROM, tx_str(offer, "From"), hash), "", 0, err, errlen);
    if (!rc)
        rc = put(txn, l->index, k, party_key(k, org, IDX_TO, tx_str(offer, "To"), hash), "", 0, err, errlen);
    if (!rc)
        rc = put(txn, l->index, k, expiry_key(k, org, expires, hash), "", 0, err, errlen);
    return rc;
}

/* Removes a pending offer (if it is pending). */
static int offer_remove(ledger *l, MDB_txn *txn, const uint8_t org[SMT_KEY_BYTES], const json_t *offer,
                        const uint8_t hash[SMT_HASH_BYTES], char *err, size_t errlen)
{
    uint8_t k[128];
    uint64_t expires = (uint64_t)json_integer_value(json_object_get(offer, "Expires"));
    if (del(txn, l->offers, k, offer_key(k, org, hash), err, errlen) ||
        del(txn, l->index, k, party_key(k, org, IDX_FROM, tx_str(offer, "From"), hash), err, errlen) ||
        del(txn, l->index, k, party_key(k, org, IDX_TO, tx_str(offer, "To"), hash), err, errlen) ||
        del(txn, l->index, k, expiry_key(k, org, expires, hash), err, errlen))
        return -1;
    return 0;
}

static void ring_add(ledger *l, const uint8_t org[SMT_KEY_BYTES], const uint8_t hash[SMT_HASH_BYTES], int type,
                     const char *state, const char *error)
{
    tx_status *s = &l->ring[l->ring_next++ % STATUS_RING];
    memcpy(s->org, org, SMT_KEY_BYTES);
    memcpy(s->hash, hash, SMT_HASH_BYTES);
    snprintf(s->type, sizeof s->type, "%s", tx_type_name(type));
    snprintf(s->state, sizeof s->state, "%s", state);
    snprintf(s->error, sizeof s->error, "%s", error);
    ledger_one_line(s->error);
}

/* Expired offers: those good until a pulse before `next` (the next pulse). */
static int expire_offers(ledger *l, MDB_txn *txn, const uint8_t org[SMT_KEY_BYTES], uint64_t next, char *err,
                         size_t errlen)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, l->index, &cur);
    if (rc)
        return ERR("ledger: %s", mdb_strerror(rc));
    uint8_t start[SMT_KEY_BYTES + 1];
    memcpy(start, org, SMT_KEY_BYTES);
    start[SMT_KEY_BYTES] = IDX_EXP;
    MDB_val k = {sizeof start, start}, v;
    struct {
        uint8_t hash[SMT_HASH_BYTES];
    } found[EXPIRE_BATCH];
    size_t n = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && n < EXPIRE_BATCH;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size != SMT_KEY_BYTES + 9 + SMT_HASH_BYTES || memcmp(kb, start, sizeof start) ||
            get_be64(kb + SMT_KEY_BYTES + 1) >= next)
            break;
        memcpy(found[n++].hash, kb + SMT_KEY_BYTES + 9, SMT_HASH_BYTES);
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++) {
        uint8_t key[128];
        MDB_val ok = {offer_key(key, org, found[i].hash), key}, ov;
        json_t *offer = NULL;
        if (mdb_get(txn, l->offers, &ok, &ov) == 0)
            offer = json_loadb(ov.mv_data, ov.mv_size, 0, NULL);
        if (offer && offer_remove(l, txn, org, offer, found[i].hash, err, errlen) != 0) {
            json_decref(offer);
            return -1;
        }
        json_decref(offer);
        pthread_mutex_lock(&l->lock);
        ring_add(l, org, found[i].hash, TX_OFFER, "expired", "the offer expired before it was accepted");
        pthread_mutex_unlock(&l->lock);
    }
    return 0;
}

/* The org's record with its counts changed. */
static int org_record_update(ledger *l, MDB_txn *txn, const uint8_t key[SMT_KEY_BYTES], long accounts_delta,
                             long members_delta, char *err, size_t errlen)
{
    MDB_val k = {SMT_KEY_BYTES, (void *)key}, v;
    if (mdb_get(txn, l->orgs, &k, &v) != 0)
        return ERR("the org's record is missing");
    json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    if (!rec)
        return ERR("the org's record is not JSON");
    json_object_set_new(rec, "Accounts",
                        json_integer(json_integer_value(json_object_get(rec, "Accounts")) + accounts_delta));
    json_object_set_new(rec, "Members",
                        json_integer(json_integer_value(json_object_get(rec, "Members")) + members_delta));
    size_t len;
    char *text = ledger_bytes(rec, &len);
    json_decref(rec);
    if (!text)
        return ERR("out of memory");
    int rc = put(txn, l->orgs, key, SMT_KEY_BYTES, text, len, err, errlen);
    free(text);
    return rc;
}

typedef struct {
    json_t *tx;
    uint8_t hash[SMT_HASH_BYTES];
    int type;
} applied_tx;

/* Writes pulse `pulse` of org: the accounts in m, the transactions, the
 * index, the header signed by sign_key. The header's hash in hash_out, the
 * root in root_out. */
static int write_pulse(ledger *l, MDB_txn *txn, const uint8_t key[SMT_KEY_BYTES], const char *org_id,
                       const ids_key *sign_key, uint64_t pulse, const uint8_t prev[SMT_HASH_BYTES], account_map *m,
                       const applied_tx *txs, size_t ntx, uint8_t hash_out[SMT_HASH_BYTES],
                       uint8_t root_out[SMT_HASH_BYTES], char *err, size_t errlen)
{
    smt_update *updates = calloc(m->count ? m->count : 1, sizeof *updates);
    uint8_t(*values)[LEDGER_ACCOUNT_BYTES] = calloc(m->count ? m->count : 1, LEDGER_ACCOUNT_BYTES);
    char **bytes = calloc(ntx ? ntx : 1, sizeof *bytes);
    size_t *lens = calloc(ntx ? ntx : 1, sizeof *lens);
    json_t *header = NULL;
    char *hbytes = NULL;
    int rc = -1;
    if (!updates || !values || !bytes || !lens) {
        ERR("out of memory");
        goto out;
    }
    size_t nu = 0;
    long accounts_delta = 0, members_delta = 0;
    for (size_t i = 0; i < m->cap; i++) {
        account_slot *s = &m->slots[i];
        if (!s->used || !s->present)
            continue;
        ledger_account_encode(&s->a, values[nu]);
        memcpy(updates[nu].key, s->key, SMT_KEY_BYTES);
        updates[nu].value = values[nu];
        updates[nu].len = LEDGER_ACCOUNT_BYTES;
        nu++;
        accounts_delta += !s->was_present;
        members_delta += (s->a.role >= LEDGER_MEMBER) - (s->was_present && s->was_role >= LEDGER_MEMBER);
    }
    if (smt_commit(l->smt, txn, key, pulse, updates, nu, root_out, err, errlen) != 0)
        goto out;
    for (size_t i = 0; i < ntx; i++) {
        if (!(bytes[i] = ledger_bytes(txs[i].tx, &lens[i]))) {
            ERR("out of memory");
            goto out;
        }
        uint8_t k[128], v[13];
        memcpy(k, key, SMT_KEY_BYTES);
        put_be64(k + SMT_KEY_BYTES, pulse);
        put_be32(k + SMT_KEY_BYTES + 8, (uint32_t)i);
        if (put(txn, l->log, k, SMT_KEY_BYTES + 12, bytes[i], lens[i], err, errlen))
            goto out;
        put_be64(v, pulse);
        put_be32(v + 8, (uint32_t)i);
        v[12] = 0;
        k[SMT_KEY_BYTES] = IDX_TX;
        memcpy(k + SMT_KEY_BYTES + 1, txs[i].hash, SMT_HASH_BYTES);
        if (put(txn, l->index, k, SMT_KEY_BYTES + 1 + SMT_HASH_BYTES, v, sizeof v, err, errlen))
            goto out;
        if (txs[i].type == TX_ACCEPT) { /* the offer is final too, and no longer pending */
            const json_t *offer = json_object_get(txs[i].tx, "Offer");
            uint8_t oh[SMT_HASH_BYTES];
            ledger_hash(oh, offer);
            memcpy(k + SMT_KEY_BYTES + 1, oh, SMT_HASH_BYTES);
            v[12] = 1;
            if (put(txn, l->index, k, SMT_KEY_BYTES + 1 + SMT_HASH_BYTES, v, sizeof v, err, errlen) ||
                offer_remove(l, txn, key, offer, oh, err, errlen))
                goto out;
        }
        uint8_t parties[2][SMT_KEY_BYTES];
        size_t np = tx_parties(txs[i].tx, txs[i].type, parties);
        for (size_t p = 0; p < np; p++) {
            k[SMT_KEY_BYTES] = IDX_HIST;
            memcpy(k + SMT_KEY_BYTES + 1, parties[p], SMT_KEY_BYTES);
            put_be64(k + 2 * SMT_KEY_BYTES + 1, pulse);
            put_be32(k + 2 * SMT_KEY_BYTES + 9, (uint32_t)i);
            if (put(txn, l->index, k, 2 * SMT_KEY_BYTES + 13, "", 0, err, errlen))
                goto out;
        }
    }
    uint8_t txroot[SMT_HASH_BYTES];
    ledger_tx_root(txroot, (const char *const *)bytes, lens, ntx);
    char root64[IDS_B64URL_LEN(SMT_HASH_BYTES) + 1], txroot64[sizeof root64], prev64[sizeof root64];
    ids_b64url_encode(root64, root_out, SMT_HASH_BYTES);
    ids_b64url_encode(txroot64, txroot, SMT_HASH_BYTES);
    ids_b64url_encode(prev64, prev, SMT_HASH_BYTES);
    header = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:I}", "Org", org_id, "Pulse", (json_int_t)pulse, "Time",
                       (json_int_t)now_ms(), "Root", root64, "TxRoot", txroot64, "Prev", prev64, "Txs",
                       (json_int_t)ntx);
    size_t hlen;
    if (!header || ledger_sign(header, sign_key) != 0 || !(hbytes = ledger_bytes(header, &hlen))) {
        ERR("out of memory");
        goto out;
    }
    smt_hash(hash_out, hbytes, hlen);
    uint8_t hk[SMT_KEY_BYTES + 8];
    memcpy(hk, key, SMT_KEY_BYTES);
    put_be64(hk + SMT_KEY_BYTES, pulse);
    if (put(txn, l->headers, hk, sizeof hk, hbytes, hlen, err, errlen) ||
        org_record_update(l, txn, key, accounts_delta, members_delta, err, errlen))
        goto out;
    rc = 0;
out:
    for (size_t i = 0; bytes && i < ntx; i++)
        free(bytes[i]);
    free(bytes);
    free(lens);
    free(updates);
    free(values);
    free(hbytes);
    json_decref(header);
    return rc;
}

/* --- orgs ---------------------------------------------------------------- */

static void org_key_path(ledger *l, char *out, size_t cap, const char *id)
{
    char name[64];
    snprintf(name, sizeof name, "keys/org-%s.key", id);
    home_path(&l->n->home, out, cap, name);
}

static void org_free(ledger_org *o)
{
    for (size_t i = 0; i < o->nqueue; i++)
        json_decref(o->queue[i].tx);
    for (size_t i = 0; i < o->nbatch; i++)
        json_decref(o->batch[i].tx);
    free(o->queue);
    free(o->batch);
    account_map_free(&o->overlay);
    sodium_memzero(&o->sign_key, sizeof o->sign_key);
    free(o);
}

static ledger_org *org_new(ledger *l, const uint8_t key[SMT_KEY_BYTES], const char *id)
{
    ledger_org *o = calloc(1, sizeof *o);
    if (!o || !(o->queue = calloc(QUEUE_MAX, sizeof *o->queue))) {
        free(o);
        return NULL;
    }
    memcpy(o->key, key, SMT_KEY_BYTES);
    snprintf(o->id, sizeof o->id, "%s", id);
    account_map_init(&o->overlay, tree_source_get, NULL);
    char path[PATH_MAX + 64], why[256];
    org_key_path(l, path, sizeof path, id);
    o->has_key = ids_key_load(&o->sign_key, path, why, sizeof why) == IDS_OK;
    if (!o->has_key)
        log_line(LOG_LEVEL_WARN, NULL, "org %s: no key (%s): its ledger is read-only here", id, why);
    return o;
}

static int valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > 128)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int ledger_create(struct node *n, const char *name, const char *supervisor, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    if (!name || !valid_name(name))
        return ERR("Name must be 1 to 128 bytes without control characters"), LEDGER_INVALID;
    if (!ids_is_leither_id(supervisor))
        return ERR("the supervisor must be a Leither ID"), LEDGER_INVALID;
    ids_key key;
    ids_key_generate(&key);
    char id[IDS_LID_LEN + 1], path[PATH_MAX + 64];
    ids_leither_id(id, key.pk);
    org_key_path(l, path, sizeof path, id);
    if (ids_key_save(&key, path, err, errlen) != IDS_OK)
        return LEDGER_ERROR;
    char mark[160];
    snprintf(mark, sizeof mark, "org:%s", name);
    json_t *info = mimei_new_marked(&key, "org", "", "", MIMEI_RIGHT_READ, mark);
    char *text = info ? json_dumps(info, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char mid[IDS_LID_LEN + 1] = "";
    if (info)
        snprintf(mid, sizeof mid, "%s", mimei_str(info, "ID"));
    uint32_t dbno;
    int rc = !text ? ERR("out of memory") : db_mimei_register(n->db, mid, text, &dbno, err, errlen);
    free(text);
    json_decref(info);
    if (rc)
        return LEDGER_ERROR;

    uint8_t okey[SMT_KEY_BYTES];
    ledger_key_of(okey, id);
    json_t *genesis = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "Org", id, "Type", "create", "Name", name, "MID", mid,
                                "Supervisor", supervisor, "Expires", 1);
    if (!genesis || ledger_sign(genesis, &key) != 0) {
        json_decref(genesis);
        return ERR("out of memory"), LEDGER_ERROR;
    }
    char pk64[IDS_B64URL_LEN(IDS_PK_BYTES) + 1];
    ids_b64url_encode(pk64, key.pk, IDS_PK_BYTES);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:i}", "Org", id, "Name", name, "MID", mid, "PublicKey",
                            pk64, "Supervisor", supervisor, "Created", (json_int_t)now_ms(), "Accounts", 0, "Members",
                            0);
    size_t rlen;
    char *rtext = rec ? ledger_bytes(rec, &rlen) : NULL;
    json_decref(rec);
    account_map m;
    account_map_init(&m, NULL, NULL);
    applied_tx tx = {.tx = genesis, .type = TX_CREATE};
    ledger_hash(tx.hash, genesis);
    uint8_t zero[SMT_HASH_BYTES] = {0}, hash[SMT_HASH_BYTES], root[SMT_HASH_BYTES];
    MDB_txn *txn = NULL;
    int status = LEDGER_ERROR;
    int mrc = rtext ? mdb_txn_begin(l->env, NULL, 0, &txn) : ENOMEM;
    if (mrc)
        ERR("ledger write: %s", mdb_strerror(mrc));
    else if (tx_apply(&m, genesis, TX_CREATE, 1, 0, err, errlen) != 0 ||
             put(txn, l->orgs, okey, SMT_KEY_BYTES, rtext, rlen, err, errlen) != 0 ||
             write_pulse(l, txn, okey, id, &key, 1, zero, &m, &tx, 1, hash, root, err, errlen) != 0)
        mdb_txn_abort(txn);
    else if ((mrc = mdb_txn_commit(txn)) != 0)
        ERR("ledger commit: %s", mdb_strerror(mrc));
    else
        status = LEDGER_OK;
    free(rtext);
    account_map_free(&m);
    json_decref(genesis);
    ledger_org *o = status == LEDGER_OK ? org_new(l, okey, id) : NULL;
    sodium_memzero(&key, sizeof key);
    if (status != LEDGER_OK)
        return status;
    if (!o)
        return ERR("out of memory"), LEDGER_ERROR;
    o->pulse = 1;
    memcpy(o->prev, hash, SMT_HASH_BYTES);
    pthread_mutex_lock(&l->lock);
    o->next = l->list;
    l->list = o;
    pthread_mutex_unlock(&l->lock);
    char root64[IDS_B64URL_LEN(SMT_HASH_BYTES) + 1];
    ids_b64url_encode(root64, root, SMT_HASH_BYTES);
    *out = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "Org", id, "MID", mid, "Name", name, "Supervisor", supervisor,
                     "Pulse", 1, "Root", root64);
    return *out ? LEDGER_OK : (ERR("out of memory"), LEDGER_ERROR);
}

/* --- submit ---------------------------------------------------------------- */

static int in_queue(const queued_tx *q, size_t n, const uint8_t hash[SMT_HASH_BYTES])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(q[i].hash, hash, SMT_HASH_BYTES))
            return 1;
    return 0;
}

/* The pulse a transaction of the index was applied in: 1 with *pulse, 0 none, -1 error. */
static int indexed(ledger *l, MDB_txn *txn, const uint8_t org[SMT_KEY_BYTES], const uint8_t hash[SMT_HASH_BYTES],
                   uint64_t *pulse, uint32_t *idx, int *kind)
{
    uint8_t k[SMT_KEY_BYTES + 1 + SMT_HASH_BYTES];
    memcpy(k, org, SMT_KEY_BYTES);
    k[SMT_KEY_BYTES] = IDX_TX;
    memcpy(k + SMT_KEY_BYTES + 1, hash, SMT_HASH_BYTES);
    MDB_val key = {sizeof k, k}, v;
    int rc = mdb_get(txn, l->index, &key, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc || v.mv_size != 13)
        return -1;
    *pulse = get_be64(v.mv_data);
    if (idx)
        *idx = get_be32((uint8_t *)v.mv_data + 8);
    if (kind)
        *kind = ((uint8_t *)v.mv_data)[12];
    return 1;
}

/* Pending offers of payer stored (up to `cap`). */
static size_t stored_offers_of(ledger *l, MDB_txn *txn, const uint8_t org[SMT_KEY_BYTES], const char *payer,
                               size_t cap)
{
    uint8_t start[SMT_KEY_BYTES * 2 + 1];
    memcpy(start, org, SMT_KEY_BYTES);
    start[SMT_KEY_BYTES] = IDX_FROM;
    if (ledger_key_of(start + SMT_KEY_BYTES + 1, payer) != 0)
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, l->index, &cur))
        return 0;
    MDB_val k = {sizeof start, start}, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); !rc && n < cap; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < sizeof start || memcmp(k.mv_data, start, sizeof start))
            break;
        n++;
    }
    mdb_cursor_close(cur);
    return n;
}

int ledger_submit(struct node *n, const char *body, size_t len, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    if (len > LEDGER_TX_MAX)
        return ERR("a transaction is at most %d bytes", LEDGER_TX_MAX), LEDGER_INVALID;
    json_error_t jerr;
    json_t *tx = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!tx)
        return ERR("the body must be a signed transaction (JSON): %s", jerr.text), LEDGER_INVALID;
    char why[512];
    int type = tx_check_shape(tx, NULL, why, sizeof why);
    if (!type || type == TX_CREATE) {
        json_decref(tx);
        if (type == TX_CREATE)
            return ERR("an org's create transaction is made by org/create"), LEDGER_INVALID;
        return ERR("%s", why), LEDGER_INVALID;
    }
    uint8_t okey[SMT_KEY_BYTES], hash[SMT_HASH_BYTES], offer_hash[SMT_HASH_BYTES];
    ledger_key_of(okey, tx_str(tx, "Org"));
    ledger_hash(hash, tx);
    if (type == TX_ACCEPT)
        ledger_hash(offer_hash, json_object_get(tx, "Offer"));
    int status = LEDGER_OK;
    MDB_txn *txn = NULL;
    pthread_mutex_lock(&l->lock);
    ledger_org *o = ledger_find(l, okey);
    uint64_t pulse = 0;
    uint32_t idx;
    int kind, found;
    if (!o) {
        ERR("no org %s on this node", tx_str(tx, "Org"));
        status = LEDGER_NOT_FOUND;
    } else if (!o->has_key) {
        ERR("org %s's key is not on this node: its ledger is read-only here", o->id);
        status = LEDGER_CLOSED;
    } else if (o->nqueue >= QUEUE_MAX) {
        ERR("busy: org %s has %d transactions queued; try again after the next pulse", o->id, QUEUE_MAX);
        status = LEDGER_BUSY;
    } else if (in_queue(o->queue, o->nqueue, hash) || in_queue(o->batch, o->nbatch, hash)) {
        ERR("replayed: the transaction is queued already");
        status = LEDGER_INVALID;
    } else if (!(txn = ledger_read_txn(l, err, errlen))) {
        status = LEDGER_ERROR;
    } else if ((found = indexed(l, txn, okey, hash, &pulse, &idx, &kind)) != 0) {
        if (found < 0)
            ERR("ledger read failed");
        else
            ERR("replayed: the %s is in pulse %llu already", kind ? "offer" : "transaction",
                (unsigned long long)pulse);
        status = found < 0 ? LEDGER_ERROR : LEDGER_INVALID;
    } else if (type == TX_ACCEPT && (found = indexed(l, txn, okey, offer_hash, &pulse, &idx, &kind)) != 0) {
        ERR("the offer was accepted already (pulse %llu)", (unsigned long long)pulse);
        status = found < 0 ? LEDGER_ERROR : LEDGER_INVALID;
    } else if (type == TX_OFFER) {
        uint8_t k[128];
        MDB_val key = {offer_key(k, okey, hash), k}, v;
        size_t mine = 0;
        for (size_t i = 0; i < o->nqueue; i++)
            mine += o->queue[i].type == TX_OFFER && !strcmp(tx_str(o->queue[i].tx, "From"), tx_str(tx, "From"));
        for (size_t i = 0; i < o->nbatch; i++)
            mine += o->batch[i].type == TX_OFFER && !strcmp(tx_str(o->batch[i].tx, "From"), tx_str(tx, "From"));
        if (mdb_get(txn, l->offers, &key, &v) == 0) {
            ERR("replayed: the offer is pending already");
            status = LEDGER_INVALID;
        } else if (mine + stored_offers_of(l, txn, okey, tx_str(tx, "From"), OFFERS_PER_PAYER) >= OFFERS_PER_PAYER) {
            ERR("too many pending offers: %s has %d in org %s (they are accepted or expire)", tx_str(tx, "From"),
                OFFERS_PER_PAYER, o->id);
            status = LEDGER_BUSY;
        }
    }
    if (status == LEDGER_OK) {
        tree_source src = {l, txn, okey, SMT_LATEST};
        o->overlay.source_arg = &src;
        int rc = tx_apply(&o->overlay, tx, type, o->pulse + 1, ++l->seq, err, errlen);
        o->overlay.source_arg = NULL;
        if (rc != 0)
            status = rc < 0 ? LEDGER_ERROR : LEDGER_INVALID;
    }
    if (status == LEDGER_OK) {
        queued_tx *q = &o->queue[o->nqueue++];
        q->tx = tx;
        q->type = type;
        q->seq = l->seq;
        memcpy(q->hash, hash, SMT_HASH_BYTES);
        tx = NULL;
    }
    pthread_mutex_unlock(&l->lock);
    if (txn)
        mdb_txn_abort(txn);
    json_decref(tx);
    if (status != LEDGER_OK)
        return status;
    char hash64[IDS_B64URL_LEN(SMT_HASH_BYTES) + 1];
    ids_b64url_encode(hash64, hash, SMT_HASH_BYTES);
    *out = json_pack("{s:s,s:s}", "Tx", hash64, "State", type == TX_OFFER ? "pending" : "queued");
    return *out ? LEDGER_OK : (ERR("out of memory"), LEDGER_ERROR);
}

/* --- tx status ----------------------------------------------------------- */

int ledger_tx_status(struct node *n, const char *org_id, const char *tx64, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    uint8_t okey[SMT_KEY_BYTES], hash[SMT_HASH_BYTES];
    size_t hn = 0;
    if (!org_id || ledger_key_of(okey, org_id) != 0)
        return ERR("org= must be an org ID"), LEDGER_INVALID;
    if (!tx64 || ids_b64url_decode(hash, sizeof hash, &hn, tx64, strlen(tx64)) || hn != SMT_HASH_BYTES)
        return ERR("tx= must be a transaction hash (base64url)"), LEDGER_INVALID;
    const char *state = NULL;
    char type[8] = "", error[200] = "";
    pthread_mutex_lock(&l->lock);
    ledger_org *o = ledger_find(l, okey);
    for (size_t i = 0; o && !state && i < o->nqueue + o->nbatch; i++) {
        queued_tx *q = i < o->nqueue ? &o->queue[i] : &o->batch[i - o->nqueue];
        if (!memcmp(q->hash, hash, SMT_HASH_BYTES)) {
            state = q->type == TX_OFFER ? "pending" : "queued";
            snprintf(type, sizeof type, "%s", tx_type_name(q->type));
        }
    }
    const tx_status *ring = NULL;
    for (size_t i = 0; o && i < STATUS_RING; i++) /* the newest entry for hash */
        if (!memcmp(l->ring[i].hash, hash, SMT_HASH_BYTES) && !memcmp(l->ring[i].org, okey, SMT_KEY_BYTES))
            ring = &l->ring[i];
    char ring_state[8] = "", ring_type[8] = "";
    if (ring) {
        snprintf(ring_state, sizeof ring_state, "%s", ring->state);
        snprintf(ring_type, sizeof ring_type, "%s", ring->type);
        snprintf(error, sizeof error, "%s", ring->error);
    }
    pthread_mutex_unlock(&l->lock);
    if (!o)
        return ERR("no org %s on this node", org_id), LEDGER_NOT_FOUND;
    MDB_txn *txn = ledger_read_txn(l, err, errlen);
    if (!txn)
        return LEDGER_ERROR;
    uint64_t pulse = 0;
    uint32_t idx = 0;
    int kind = 0;
    uint8_t root[SMT_HASH_BYTES];
    int final = indexed(l, txn, okey, hash, &pulse, &idx, &kind) == 1 &&
                smt_root(l->smt, txn, okey, pulse, root, err, errlen) == SMT_OK;
    if (final) {
        state = "final";
        snprintf(type, sizeof type, "%s", kind ? "offer" : "accept");
        if (!kind) { /* the type from the log */
            uint8_t k[SMT_KEY_BYTES + 12];
            memcpy(k, okey, SMT_KEY_BYTES);
            put_be64(k + SMT_KEY_BYTES, pulse);
            put_be32(k + SMT_KEY_BYTES + 8, idx);
            MDB_val key = {sizeof k, k}, v;
            json_t *tx = mdb_get(txn, l->log, &key, &v) == 0 ? json_loadb(v.mv_data, v.mv_size, 0, NULL) : NULL;
            snprintf(type, sizeof type, "%s", tx_str(tx, "Type"));
            json_decref(tx);
        }
        error[0] = '\0';
    } else if (!state) {
        uint8_t k[128];
        MDB_val key = {offer_key(k, okey, hash), k}, v;
        if (mdb_get(txn, l->offers, &key, &v) == 0) {
            state = "pending";
            snprintf(type, sizeof type, "offer");
            error[0] = '\0';
        } else if (ring) {
            state = ring_state;
            snprintf(type, sizeof type, "%s", ring_type);
        }
    } else
        error[0] = '\0';
    mdb_txn_abort(txn);
    if (!state)
        return ERR("no transaction %s in org %s (failed ones are remembered for the last %d)", tx64, org_id,
                   STATUS_RING),
               LEDGER_NOT_FOUND;
    *out = json_pack("{s:s,s:s,s:s}", "Tx", tx64, "Type", type, "State", state);
    if (!*out)
        return ERR("out of memory"), LEDGER_ERROR;
    if (final) {
        char root64[IDS_B64URL_LEN(SMT_HASH_BYTES) + 1];
        ids_b64url_encode(root64, root, SMT_HASH_BYTES);
        json_object_set_new(*out, "Pulse", json_integer((json_int_t)pulse));
        json_object_set_new(*out, "Root", json_string(root64));
    } else {
        json_object_set_new(*out, "Pulse", json_null());
        json_object_set_new(*out, "Root", json_null());
    }
    json_object_set_new(*out, "Error", error[0] ? json_string(error) : json_null());
    return LEDGER_OK;
}

/* --- the pulse thread ------------------------------------------------------ */

/* Rebuilds org's overlay from its queue over the newest committed state. */
static void overlay_rebuild(ledger *l, ledger_org *o)
{
    account_map_clear(&o->overlay);
    char err[256];
    MDB_txn *txn = ledger_read_txn(l, err, sizeof err);
    tree_source src = {l, txn, o->key, SMT_LATEST};
    o->overlay.source_arg = &src;
    for (size_t i = 0; txn && i < o->nqueue; i++)
        tx_apply(&o->overlay, o->queue[i].tx, o->queue[i].type, o->pulse + 1, o->queue[i].seq, err, sizeof err);
    o->overlay.source_arg = NULL;
    if (txn)
        mdb_txn_abort(txn);
}

static void run_pulse(ledger *l, ledger_org *o)
{
    pthread_mutex_lock(&l->lock);
    queued_tx *batch = o->queue;
    size_t nbatch = o->nqueue;
    o->queue = o->batch ? o->batch : calloc(QUEUE_MAX, sizeof *o->queue);
    if (!o->queue) { /* no memory for a new queue: try on the next tick */
        o->queue = batch;
        pthread_mutex_unlock(&l->lock);
        return;
    }
    o->nqueue = 0;
    o->batch = batch;
    o->nbatch = nbatch;
    uint64_t pulse = o->pulse + 1;
    pthread_mutex_unlock(&l->lock);

    char err[512];
    applied_tx *applied = calloc(nbatch, sizeof *applied);
    char (*reasons)[256] = calloc(nbatch, sizeof *reasons);
    MDB_txn *txn = NULL;
    int rc = applied && reasons ? mdb_txn_begin(l->env, NULL, 0, &txn) : ENOMEM;
    size_t napplied = 0;
    uint8_t hash[SMT_HASH_BYTES], root[SMT_HASH_BYTES];
    int failed = rc != 0, pulsed = 0;
    if (failed)
        snprintf(err, sizeof err, "the pulse could not begin: %s", mdb_strerror(rc));
    tree_source src = {l, txn, o->key, SMT_LATEST};
    account_map m;
    account_map_init(&m, tree_source_get, &src);
    for (size_t i = 0; !failed && i < nbatch; i++) {
        queued_tx *q = &batch[i];
        reasons[i][0] = '\0';
        uint64_t p;
        int kind, found = indexed(l, txn, o->key, q->hash, &p, NULL, &kind);
        if (found == 0 && q->type == TX_ACCEPT) {
            uint8_t oh[SMT_HASH_BYTES];
            ledger_hash(oh, json_object_get(q->tx, "Offer"));
            if ((found = indexed(l, txn, o->key, oh, &p, NULL, &kind)) == 1)
                snprintf(reasons[i], sizeof reasons[i], "the offer was accepted already (pulse %llu)",
                         (unsigned long long)p);
        } else if (found == 1)
            snprintf(reasons[i], sizeof reasons[i], "replayed: in pulse %llu already", (unsigned long long)p);
        if (found < 0) {
            snprintf(err, sizeof err, "ledger read failed");
            failed = 1;
            break;
        }
        if (found)
            continue;
        int r = tx_apply(&m, q->tx, q->type, pulse, q->seq, reasons[i], sizeof reasons[i]);
        if (r < 0) {
            snprintf(err, sizeof err, "%s", reasons[i]);
            failed = 1;
        } else if (r == 0 && q->type == TX_OFFER) {
            if (offer_store(l, txn, o->key, q->tx, q->hash, err, sizeof err) != 0)
                failed = 1;
        } else if (r == 0) {
            applied[napplied].tx = q->tx;
            applied[napplied].type = q->type;
            memcpy(applied[napplied].hash, q->hash, SMT_HASH_BYTES);
            napplied++;
        }
    }
    if (!failed && napplied) {
        failed = write_pulse(l, txn, o->key, o->id, &o->sign_key, pulse, o->prev, &m, applied, napplied, hash, root,
                             err, sizeof err) != 0;
        pulsed = !failed;
    }
    if (!failed && pulsed)
        failed = expire_offers(l, txn, o->key, pulse + 1, err, sizeof err) != 0;
    if (!failed && txn) {
        rc = mdb_txn_commit(txn); /* one fsync (db_sync "always") */
        txn = NULL;
        if (rc) {
            snprintf(err, sizeof err, "the pulse could not be written: %s", mdb_strerror(rc));
            failed = 1;
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    account_map_free(&m);
    if (failed)
        log_line(LOG_LEVEL_ERROR, NULL, "org %s: pulse %llu failed: %s", o->id, (unsigned long long)pulse, err);

    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < nbatch; i++) {
        if (failed)
            ring_add(l, o->key, batch[i].hash, batch[i].type, "failed", err);
        else if (reasons && reasons[i][0])
            ring_add(l, o->key, batch[i].hash, batch[i].type, "failed", reasons[i]);
        json_decref(batch[i].tx);
    }
    o->nbatch = 0;
    if (pulsed && !failed) {
        o->pulse = pulse;
        memcpy(o->prev, hash, SMT_HASH_BYTES);
        /* a pruning pass every PRUNE_EVERY pulses (sooner when the
         * retention is shorter), after the pulse: its commit waits for none */
        uint64_t every = l->n->home.ledger_retention_pulses < PRUNE_EVERY ? l->n->home.ledger_retention_pulses
                                                                          : PRUNE_EVERY;
        if (pulse % every == 0)
            o->prune_left = 1;
    }
    overlay_rebuild(l, o);
    pthread_mutex_unlock(&l->lock);
    free(applied);
    free(reasons);
}

/* A pruning pass over org's tree, in a transaction of its own: bounded, and
 * continued on the next ticks while it fills its batch. */
static void prune_more(ledger *l, ledger_org *o)
{
    MDB_txn *txn;
    char err[256];
    if (mdb_txn_begin(l->env, NULL, 0, &txn))
        return;
    long pruned = smt_prune(l->smt, txn, o->key, l->n->home.ledger_retention_pulses, PRUNE_BATCH, err, sizeof err);
    if (pruned < 0 || mdb_txn_commit(txn)) {
        if (pruned < 0)
            mdb_txn_abort(txn);
        log_line(LOG_LEVEL_WARN, NULL, "org %s: pruning: %s", o->id, pruned < 0 ? err : "commit failed");
        o->prune_left = 0;
        return;
    }
    o->prune_left = pruned >= PRUNE_BATCH;
}

static void *pulse_thread(void *arg)
{
    ledger *l = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        next.tv_sec += 1;
        while (!l->stop && pthread_cond_timedwait(&l->wake, &l->lock, &next) != ETIMEDOUT)
            ;
        if (l->stop)
            break;
        ledger_org *head = l->list; /* orgs are only ever added at the head */
        pthread_mutex_unlock(&l->lock);
        for (ledger_org *o = head; o; o = o->next) {
            pthread_mutex_lock(&l->lock);
            int queued = o->nqueue > 0;
            pthread_mutex_unlock(&l->lock);
            if (queued)
                run_pulse(l, o);
            if (o->prune_left)
                prune_more(l, o);
        }
        verify_run(l);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1)
            next = now; /* a long pulse: do not run the missed ones back to back */
        pthread_mutex_lock(&l->lock);
    }
    ledger_org *head = l->list;
    pthread_mutex_unlock(&l->lock);
    /* stopping: what was queued gets its pulse (the HTTP workers, which
     * queue, have stopped), so a clean stop loses no accepted transaction */
    for (ledger_org *o = head; o; o = o->next)
        if (o->nqueue)
            run_pulse(l, o);
    return NULL;
}

/* --- start, stop ---------------------------------------------------------- */

static int load_orgs(ledger *l, char *err, size_t errlen)
{
    MDB_txn *txn = ledger_read_txn(l, err, errlen);
    if (!txn)
        return -1;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, l->orgs, &cur);
    MDB_val k, v;
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != SMT_KEY_BYTES)
            continue;
        json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        ledger_org *o = rec ? org_new(l, k.mv_data, tx_str(rec, "Org")) : NULL;
        json_decref(rec);
        if (!o)
            continue;
        o->pulse = smt_latest(l->smt, txn, o->key);
        uint8_t hk[SMT_KEY_BYTES + 8];
        memcpy(hk, o->key, SMT_KEY_BYTES);
        put_be64(hk + SMT_KEY_BYTES, o->pulse);
        MDB_val hkey = {sizeof hk, hk}, hv;
        if (mdb_get(txn, l->headers, &hkey, &hv) == 0)
            smt_hash(o->prev, hv.mv_data, hv.mv_size);
        o->next = l->list;
        l->list = o;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return 0;
}

int ledger_start(struct node *n, char *err, size_t errlen)
{
    ledger *l = calloc(1, sizeof *l);
    if (!l)
        return ERR("out of memory");
    l->n = n;
    l->env = db_lmdb(n->db);
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (smt_open(&l->smt, l->env, err, errlen) != 0) {
        free(l);
        return -1;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, "ledger_orgs", MDB_CREATE, &l->orgs);
    if (!rc)
        rc = mdb_dbi_open(txn, "ledger_headers", MDB_CREATE, &l->headers);
    if (!rc)
        rc = mdb_dbi_open(txn, "ledger_log", MDB_CREATE, &l->log);
    if (!rc)
        rc = mdb_dbi_open(txn, "ledger_index", MDB_CREATE, &l->index);
    if (!rc)
        rc = mdb_dbi_open(txn, "ledger_offers", MDB_CREATE, &l->offers);
    if (!rc)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc || load_orgs(l, err, errlen) != 0) {
        if (rc)
            ERR("opening the ledger's tables: %s", mdb_strerror(rc));
        smt_close(l->smt);
        free(l);
        return -1;
    }
    n->ledger = l;
    if ((rc = pthread_create(&l->thread, NULL, pulse_thread, l)) != 0) {
        n->ledger = NULL;
        smt_close(l->smt);
        free(l);
        return ERR("starting the pulse thread: %s", strerror(rc));
    }
    l->thread_started = 1;
    return 0;
}

void ledger_stop(struct node *n)
{
    ledger *l = n->ledger;
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = 1;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    if (l->thread_started)
        pthread_join(l->thread, NULL);
    n->ledger = NULL;
    while (l->list) {
        ledger_org *o = l->list;
        l->list = o->next;
        org_free(o);
    }
    verify_free_all(l);
    smt_close(l->smt);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l);
}
