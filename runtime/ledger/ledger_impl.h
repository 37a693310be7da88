/*
 * ledger_impl: what the files of runtime/ledger share. Not for other folders.
 *   rules.c   a transaction's shape and the rules that apply it to
 *             accounts (pure: the pulse thread, submit and verify all use
 *             them, so the three never disagree)
 *   ledger.c  the state in LMDB, orgs, submit, the pulse thread, pruning
 *   reads.c   the read endpoints
 *   verify.c  org verify: the replay, in slices between pulses
 */
#ifndef LEITHER_LEDGER_IMPL_H
#define LEITHER_LEDGER_IMPL_H

#include "bigendian.h"
#include "ledger.h"
#include "ledger_node.h"
#include "node.h"

#include <lmdb.h>
#include <pthread.h>

/* --- accounts in memory (rules.c) ---------------------------------------- */

typedef struct {
    uint8_t key[SMT_KEY_BYTES];
    uint8_t used;
    uint8_t present;     /* the account exists (after the changes) */
    uint8_t was_present; /* it existed before (from the source) */
    uint8_t was_role;    /* its role before (0: none) */
    ledger_account a;
    uint64_t seq; /* the last queued transaction that changed it (submit's overlay) */
} account_slot;

/* An open-addressing map of accounts over a source (the tree at some
 * version): what a batch, a submit or a replay changed. */
typedef struct {
    account_slot *slots;
    size_t cap, count;
    /* 1 found, 0 absent, -1 error (err set) */
    int (*source)(void *arg, const uint8_t key[SMT_KEY_BYTES], ledger_account *a, char *err, size_t errlen);
    void *source_arg;
} account_map;

void account_map_init(account_map *m, int (*source)(void *, const uint8_t *, ledger_account *, char *, size_t),
                      void *arg);
void account_map_free(account_map *m);
void account_map_clear(account_map *m);
/* The slot of key, loaded from the source on first use: NULL on error. */
account_slot *account_map_get(account_map *m, const uint8_t key[SMT_KEY_BYTES], char *err, size_t errlen);
/* The slot of key if the map holds it, without asking the source. */
account_slot *account_map_find(account_map *m, const uint8_t key[SMT_KEY_BYTES]);

/* --- transactions (rules.c) ------------------------------------------------ */

enum tx_type { TX_CREATE = 1, TX_APPLY, TX_ROLE, TX_ISSUE, TX_OFFER, TX_ACCEPT };
const char *tx_type_name(int type);

/* The shape of a transaction of org (exact fields, their types, lengths,
 * amounts) and its signature, the offer inside an accept too. The type, or
 * 0 with the reason in err. */
int tx_check_shape(const json_t *tx, const char *org, char *err, size_t errlen);

/* The rules against the accounts in m, for a transaction to be applied in
 * pulse `pulse`: 0 applied to m (accounts changed in m, seq set), 1
 * refused with the reason in err (m unchanged), -1 error. An offer is
 * checked (the payer could pay it now) and changes nothing. */
int tx_apply(account_map *m, const json_t *tx, int type, uint64_t pulse, uint64_t seq, char *err, size_t errlen);

/* The accounts a transaction concerns (its history index): up to 2. */
size_t tx_parties(const json_t *tx, int type, uint8_t keys[2][SMT_KEY_BYTES]);

/* A member of tx as a string ("" when absent). */
const char *tx_str(const json_t *tx, const char *field);

/* --- the node's ledgers (ledger.c) --------------------------------------- */

#define QUEUE_MAX 1024        /* queued transactions per org */
#define OFFERS_PER_PAYER 64   /* pending offers of one payer in one org */
#define STATUS_RING 4096      /* failed and expired transactions remembered */
#define PRUNE_BATCH 32768     /* tree nodes pruned per pass (a write transaction of its own) */
#define PRUNE_EVERY 32        /* pulses between passes: rewriting a page per few dozen versions
                                 writes several times less than per version (smt.h) */
#define EXPIRE_BATCH 1024     /* offers expired per pulse */
#define VERIFY_JOBS 64        /* verify jobs remembered */
#define VERIFY_SLICE_MS 200   /* replay time per tick, so pulses keep coming */

typedef struct {
    json_t *tx;
    uint8_t hash[SMT_HASH_BYTES];
    int type;
    uint64_t seq;
} queued_tx;

typedef struct ledger_org {
    struct ledger_org *next;
    uint8_t key[SMT_KEY_BYTES];
    char id[IDS_LID_LEN + 1];
    ids_key sign_key;
    int has_key;
    uint64_t pulse; /* the newest committed (under the lock) */
    uint8_t prev[SMT_HASH_BYTES]; /* the newest header's hash (pulse thread) */
    queued_tx *queue;
    size_t nqueue;
    queued_tx *batch; /* taken by the pulse thread, until its pulse is committed */
    size_t nbatch;
    account_map overlay; /* what queued transactions will make of the accounts (submit) */
    int prune_left;      /* the last prune filled its batch */
} ledger_org;

typedef struct {
    uint8_t org[SMT_KEY_BYTES];
    uint8_t hash[SMT_HASH_BYTES];
    char type[8];
    char state[8];
    char error[200];
} tx_status;

struct verify_job;

typedef struct ledger {
    node *n;
    MDB_env *env;
    smt_store *smt;
    MDB_dbi orgs, headers, log, index, offers;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock; /* orgs' queues and overlays, the ring, the jobs */
    pthread_cond_t wake;
    int stop;
    ledger_org *list;
    uint64_t seq;
    tx_status ring[STATUS_RING];
    size_t ring_next;
    struct verify_job *jobs[VERIFY_JOBS];
    long next_job;
} ledger;

/* Index keys ("ledger_index"): org (20) then a tag */
#define IDX_TX 'X'    /* + hash(32) -> pulse(8) idx(4) kind(1: 0 the tx, 1 an offer an accept applied) */
#define IDX_HIST 'H'  /* + account(20) pulse(8) idx(4) -> "" */
#define IDX_FROM 'F'  /* + account(20) hash(32) -> "": pending offers by payer */
#define IDX_TO 'T'    /* + account(20) hash(32) -> "": by payee */
#define IDX_EXP 'E'   /* + expires(8) hash(32) -> "" */

/* The org of ID text: the registry's entry (under l->lock) or NULL. */
ledger_org *ledger_find(ledger *l, const uint8_t key[SMT_KEY_BYTES]);
/* The tree as an account source for account_map, in txn at version. */
typedef struct {
    ledger *l;
    MDB_txn *txn;
    const uint8_t *tree;
    uint64_t version;
} tree_source;
int tree_source_get(void *arg, const uint8_t key[SMT_KEY_BYTES], ledger_account *a, char *err, size_t errlen);

/* Begins a read transaction: NULL with err. */
MDB_txn *ledger_read_txn(ledger *l, char *err, size_t errlen);

/* verify.c: advances the jobs for at most VERIFY_SLICE_MS (pulse thread). */
void verify_run(ledger *l);
void verify_free_all(ledger *l);

#endif
