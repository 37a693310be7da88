/* verify.c: `org verify` replays an org's log from pulse 1 into accounts of
 * its own and checks every header: the org key's signature, Pulse, Prev,
 * the count and TxRoot of its transactions, every transaction's shape,
 * signatures and rules, and Root, recomputed from the replayed accounts
 * with smt_root_of (the tree's definition, not the store). It runs on the
 * pulse thread between pulses, VERIFY_SLICE_MS at a time, so pulses keep
 * coming while a long log is replayed. */
#include "ledger_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED };
static const char *const state_names[] = {"queued", "running", "done", "failed"};

typedef struct verify_job {
    long id;
    uint8_t org[SMT_KEY_BYTES];
    char org_id[IDS_LID_LEN + 1];
    enum job_state state;  /* under l->lock */
    uint64_t pulses;       /* verified so far (under l->lock) */
    char error[300];       /* under l->lock */
    /* the replay: the pulse thread's alone */
    uint64_t target; /* the newest pulse when the job started */
    uint8_t prev[SMT_HASH_BYTES];
    account_map accounts;
} verify_job;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int hash_field(const json_t *doc, const char *field, uint8_t out[SMT_HASH_BYTES])
{
    const char *text = tx_str(doc, field);
    size_t n = 0;
    return ids_b64url_decode(out, SMT_HASH_BYTES, &n, text, strlen(text)) == 0 && n == SMT_HASH_BYTES ? 0 : -1;
}

/* The root of the replayed accounts, by the tree's definition. */
static int replay_root(account_map *m, uint8_t root[SMT_HASH_BYTES])
{
    size_t n = 0;
    uint8_t *keys = malloc((m->count ? m->count : 1) * SMT_KEY_BYTES);
    uint8_t(*values)[LEDGER_ACCOUNT_BYTES] = malloc((m->count ? m->count : 1) * LEDGER_ACCOUNT_BYTES);
    const uint8_t **ptrs = malloc((m->count ? m->count : 1) * sizeof *ptrs);
    size_t *lens = malloc((m->count ? m->count : 1) * sizeof *lens);
    int rc = -1;
    if (keys && values && ptrs && lens) {
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].used || !m->slots[i].present)
                continue;
            memcpy(keys + n * SMT_KEY_BYTES, m->slots[i].key, SMT_KEY_BYTES);
            ledger_account_encode(&m->slots[i].a, values[n]);
            ptrs[n] = values[n];
            lens[n] = LEDGER_ACCOUNT_BYTES;
            n++;
        }
        rc = smt_root_of(root, keys, ptrs, lens, n);
    }
    free(keys);
    free(values);
    free(ptrs);
    free(lens);
    return rc;
}

/* Checks pulse `pulse`: 0, or -1 with the reason. */
static int verify_pulse(ledger *l, MDB_txn *txn, verify_job *j, uint64_t pulse, char *err, size_t errlen)
{
    uint8_t hk[SMT_KEY_BYTES + 8];
    memcpy(hk, j->org, SMT_KEY_BYTES);
    put_be64(hk + SMT_KEY_BYTES, pulse);
    MDB_val key = {sizeof hk, hk}, v;
    if (mdb_get(txn, l->headers, &key, &v) != 0)
        return ERR("pulse %llu: no header", (unsigned long long)pulse);
    uint8_t hash[SMT_HASH_BYTES], want[SMT_HASH_BYTES];
    smt_hash(hash, v.mv_data, v.mv_size);
    json_t *header = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    json_t **txs = NULL;
    char **bytes = NULL;
    size_t *lens = NULL, ntx = 0;
    int rc = -1;
    char why[256];
    if (!header) {
        ERR("pulse %llu: the header is not JSON", (unsigned long long)pulse);
        goto out;
    }
    if (strcmp(tx_str(header, "Org"), j->org_id) ||
        json_integer_value(json_object_get(header, "Pulse")) != (json_int_t)pulse) {
        ERR("pulse %llu: the header names another org or pulse", (unsigned long long)pulse);
        goto out;
    }
    if (ledger_verify_sig(header, why, sizeof why) != IDS_OK || strcmp(tx_str(header, "Signer"), j->org_id)) {
        ERR("pulse %llu: the header is not signed by the org key: %s", (unsigned long long)pulse,
            strcmp(tx_str(header, "Signer"), j->org_id) ? "another signer" : why);
        goto out;
    }
    if (hash_field(header, "Prev", want) || memcmp(want, j->prev, SMT_HASH_BYTES)) {
        ERR("pulse %llu: Prev is not the hash of pulse %llu's header", (unsigned long long)pulse,
            (unsigned long long)pulse - 1);
        goto out;
    }
    json_int_t count = json_integer_value(json_object_get(header, "Txs"));
    if (count < 1 || count > QUEUE_MAX) {
        ERR("pulse %llu: Txs %lld is not 1 to %d", (unsigned long long)pulse, (long long)count, QUEUE_MAX);
        goto out;
    }
    txs = calloc((size_t)count, sizeof *txs);
    bytes = calloc((size_t)count, sizeof *bytes);
    lens = calloc((size_t)count, sizeof *lens);
    if (!txs || !bytes || !lens) {
        ERR("out of memory");
        goto out;
    }
    for (ntx = 0; ntx < (size_t)count; ntx++) {
        uint8_t lk[SMT_KEY_BYTES + 12];
        memcpy(lk, hk, sizeof hk);
        put_be32(lk + SMT_KEY_BYTES + 8, (uint32_t)ntx);
        MDB_val lkey = {sizeof lk, lk}, lv;
        if (mdb_get(txn, l->log, &lkey, &lv) != 0) {
            ERR("pulse %llu: transaction %zu of %lld is missing from the log", (unsigned long long)pulse, ntx,
                (long long)count);
            goto out;
        }
        if (!(bytes[ntx] = malloc(lv.mv_size ? lv.mv_size : 1))) {
            ERR("out of memory");
            goto out;
        }
        memcpy(bytes[ntx], lv.mv_data, lv.mv_size);
        lens[ntx] = lv.mv_size;
        if (!(txs[ntx] = json_loadb(lv.mv_data, lv.mv_size, 0, NULL))) {
            ERR("pulse %llu: transaction %zu is not JSON", (unsigned long long)pulse, ntx);
            goto out;
        }
    }
    /* nothing past the header's count */
    uint8_t past[SMT_KEY_BYTES + 12];
    memcpy(past, hk, sizeof hk);
    put_be32(past + SMT_KEY_BYTES + 8, (uint32_t)ntx);
    MDB_val pkey = {sizeof past, past}, pv;
    if (mdb_get(txn, l->log, &pkey, &pv) == 0) {
        ERR("pulse %llu: the log holds more transactions than the header's %zu", (unsigned long long)pulse, ntx);
        goto out;
    }
    uint8_t txroot[SMT_HASH_BYTES];
    ledger_tx_root(txroot, (const char *const *)bytes, lens, ntx);
    if (hash_field(header, "TxRoot", want) || memcmp(want, txroot, SMT_HASH_BYTES)) {
        ERR("pulse %llu: TxRoot is not the Merkle root of its transactions", (unsigned long long)pulse);
        goto out;
    }
    for (size_t i = 0; i < ntx; i++) {
        int type = tx_check_shape(txs[i], j->org_id, why, sizeof why);
        if (!type || type == TX_OFFER || (type == TX_CREATE) != (pulse == 1 && i == 0)) {
            ERR("pulse %llu: transaction %zu: %s", (unsigned long long)pulse, i,
                !type ? why : type == TX_OFFER ? "an offer alone is never applied" : "create only opens pulse 1");
            goto out;
        }
        int applied = tx_apply(&j->accounts, txs[i], type, pulse, 0, why, sizeof why);
        if (applied != 0) {
            ERR("pulse %llu: transaction %zu does not apply: %s", (unsigned long long)pulse, i, why);
            goto out;
        }
    }
    uint8_t root[SMT_HASH_BYTES], stored[SMT_HASH_BYTES];
    if (replay_root(&j->accounts, root) != 0) {
        ERR("out of memory");
        goto out;
    }
    if (hash_field(header, "Root", want) || memcmp(want, root, SMT_HASH_BYTES)) {
        ERR("pulse %llu: Root is not the root of the replayed accounts", (unsigned long long)pulse);
        goto out;
    }
    if (smt_root(l->smt, txn, j->org, pulse, stored, why, sizeof why) != SMT_OK ||
        memcmp(stored, root, SMT_HASH_BYTES)) {
        ERR("pulse %llu: the tree's stored root differs from the replayed one", (unsigned long long)pulse);
        goto out;
    }
    memcpy(j->prev, hash, SMT_HASH_BYTES);
    rc = 0;
out:
    for (size_t i = 0; txs && i < (size_t)count; i++)
        json_decref(txs[i]);
    for (size_t i = 0; bytes && i < (size_t)count; i++)
        free(bytes[i]);
    free(txs);
    free(bytes);
    free(lens);
    json_decref(header);
    return rc;
}

void verify_run(ledger *l)
{
    uint64_t deadline = mono_ms() + VERIFY_SLICE_MS;
    for (size_t s = 0; s < VERIFY_JOBS && mono_ms() < deadline; s++) {
        pthread_mutex_lock(&l->lock);
        verify_job *j = l->jobs[s];
        int active = j && (j->state == JOB_QUEUED || j->state == JOB_RUNNING);
        uint64_t next = active ? j->pulses + 1 : 0;
        if (active)
            j->state = JOB_RUNNING;
        pthread_mutex_unlock(&l->lock);
        if (!active)
            continue;
        char err[300] = "";
        MDB_txn *txn = ledger_read_txn(l, err, sizeof err);
        if (txn && next == 1)
            j->target = smt_latest(l->smt, txn, j->org);
        int failed = !txn;
        uint64_t pulse = next;
        for (; !failed && pulse <= j->target && mono_ms() < deadline; pulse++)
            failed = verify_pulse(l, txn, j, pulse, err, sizeof err) != 0;
        if (txn)
            mdb_txn_abort(txn);
        pthread_mutex_lock(&l->lock);
        j->pulses = failed ? pulse - 2 : pulse - 1;
        if (failed) {
            j->state = JOB_FAILED;
            snprintf(j->error, sizeof j->error, "%s", err);
        } else if (pulse > j->target)
            j->state = JOB_DONE;
        if (j->state != JOB_RUNNING)
            account_map_free(&j->accounts);
        pthread_mutex_unlock(&l->lock);
    }
}

void verify_free_all(ledger *l)
{
    for (size_t s = 0; s < VERIFY_JOBS; s++) {
        if (l->jobs[s])
            account_map_free(&l->jobs[s]->accounts);
        free(l->jobs[s]);
        l->jobs[s] = NULL;
    }
}

int ledger_verify_start(struct node *n, const char *org_id, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    uint8_t okey[SMT_KEY_BYTES];
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    if (!org_id || ledger_key_of(okey, org_id) != 0)
        return ERR("Org must be an org ID (a Leither ID)"), LEDGER_INVALID;
    long id = 0;
    int status = LEDGER_OK;
    pthread_mutex_lock(&l->lock);
    if (!ledger_find(l, okey)) {
        ERR("no org %s on this node", org_id);
        status = LEDGER_NOT_FOUND;
    }
    for (size_t s = 0; status == LEDGER_OK && s < VERIFY_JOBS && !id; s++) {
        verify_job *j = l->jobs[s];
        if (j && !memcmp(j->org, okey, SMT_KEY_BYTES) && (j->state == JOB_QUEUED || j->state == JOB_RUNNING))
            id = j->id; /* one replay per org at a time */
    }
    if (status == LEDGER_OK && !id) {
        size_t slot = (size_t)(l->next_job + 1) % VERIFY_JOBS;
        verify_job *old = l->jobs[slot];
        if (old && (old->state == JOB_QUEUED || old->state == JOB_RUNNING)) {
            ERR("busy: %d verify jobs are running", VERIFY_JOBS);
            status = LEDGER_BUSY;
        } else {
            verify_job *j = calloc(1, sizeof *j);
            if (!j) {
                ERR("out of memory");
                status = LEDGER_ERROR;
            } else {
                j->id = id = ++l->next_job;
                memcpy(j->org, okey, SMT_KEY_BYTES);
                snprintf(j->org_id, sizeof j->org_id, "%s", org_id);
                account_map_init(&j->accounts, NULL, NULL);
                if (old)
                    account_map_free(&old->accounts);
                free(old);
                l->jobs[slot] = j;
            }
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (status != LEDGER_OK)
        return status;
    *out = json_pack("{s:I}", "Job", (json_int_t)id);
    return *out ? LEDGER_OK : (ERR("out of memory"), LEDGER_ERROR);
}

int ledger_verify_job(struct node *n, long id, json_t **out, char *err, size_t errlen)
{
    ledger *l = n->ledger;
    if (!l)
        return ERR("the ledgers are not running on this node"), LEDGER_CLOSED;
    pthread_mutex_lock(&l->lock);
    verify_job *j = id > 0 ? l->jobs[(size_t)id % VERIFY_JOBS] : NULL;
    if (j && j->id == id)
        *out = json_pack("{s:I,s:s,s:s,s:I,s:s?}", "Job", (json_int_t)id, "Org", j->org_id, "State",
                         state_names[j->state], "Pulses", (json_int_t)j->pulses, "Error",
                         j->state == JOB_FAILED ? j->error : NULL);
    pthread_mutex_unlock(&l->lock);
    if (!j || j->id != id)
        return ERR("no verify job %ld (the last %d are remembered)", id, VERIFY_JOBS), LEDGER_NOT_FOUND;
    return *out ? LEDGER_OK : (ERR("out of memory"), LEDGER_ERROR);
}
