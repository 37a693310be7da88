/*
 * ledger_node: the node's ledgers as the JSON API (runtime/http/api/org.c)
 * and apps' leither.org (runtime/apps/lua_api.c) reach them. Every call
 * answers a JSON document shaped as ledger.h's API says, or a status and a
 * one-line reason. None waits on the pulse thread: reads use read
 * transactions of their own, submit queues under a short lock, and
 * ledger_create writes the genesis in a write transaction of its own (as
 * mimei/create registers a MiMei).
 */
#ifndef LEITHER_LEDGER_NODE_H
#define LEITHER_LEDGER_NODE_H

#include "ledger.h"

#include <jansson.h>
#include <stdint.h>

struct node;

enum ledger_status {
    LEDGER_ERROR = -1,    /* LMDB, memory: 500 */
    LEDGER_OK = 0,
    LEDGER_INVALID = 1,   /* malformed or refused input: 400 */
    LEDGER_NOT_FOUND = 2, /* no such org, account, pulse, tx, job: 404 */
    LEDGER_PRUNED = 3,    /* a pulse whose tree version was pruned: 410 */
    LEDGER_BUSY = 4,      /* a queue or a cap is full: 503 */
    LEDGER_CLOSED = 5     /* the ledgers are not running on this node: 503 */
};

/* List endpoints answer at most this many entries (limit= may ask fewer). */
#define LEDGER_LIST_DEFAULT 100
#define LEDGER_LIST_MAX 1000
/* Accounts and members listings: more per call */
#define LEDGER_ACCOUNTS_MAX 10000

/* Reasons quote what clients sent (a field's name, an amount's text):
 * control characters become spaces, so a reason stays one line. */
void ledger_one_line(char *text);

/* "pulse" absent: 0 stands for the newest. */
int ledger_create(struct node *n, const char *name, const char *supervisor, json_t **out, char *err, size_t errlen);
int ledger_submit(struct node *n, const char *body, size_t len, json_t **out, char *err, size_t errlen);
int ledger_tx_status(struct node *n, const char *org, const char *tx, json_t **out, char *err, size_t errlen);
int ledger_show(struct node *n, const char *org, json_t **out, char *err, size_t errlen);
int ledger_list(struct node *n, size_t limit, json_t **out, char *err, size_t errlen);
int ledger_members(struct node *n, const char *org, size_t limit, json_t **out, char *err, size_t errlen);
int ledger_get_account(struct node *n, const char *org, const char *id, uint64_t pulse, json_t **out, char *err,
                   size_t errlen);
int ledger_root(struct node *n, const char *org, uint64_t pulse, json_t **out, char *err, size_t errlen);
int ledger_proof(struct node *n, const char *org, const char *id, uint64_t pulse, json_t **out, char *err,
                 size_t errlen);
int ledger_accounts(struct node *n, const char *org, uint64_t pulse, size_t limit, json_t **out, char *err,
                    size_t errlen);
/* id NULL: the whole org's. from 0: the newest `limit` entries, oldest
 * first; else from that pulse on. */
int ledger_history(struct node *n, const char *org, const char *id, uint64_t from, size_t limit, json_t **out,
                   char *err, size_t errlen);
int ledger_pulses(struct node *n, const char *org, uint64_t from, size_t limit, json_t **out, char *err,
                  size_t errlen);
int ledger_log(struct node *n, const char *org, uint64_t pulse, json_t **out, char *err, size_t errlen);
int ledger_offers(struct node *n, const char *org, const char *id, size_t limit, json_t **out, char *err,
                  size_t errlen);
/* {"Job"}: a replay of org's log on the pulse thread (one per org at a time:
 * asking again while one runs answers that one). */
int ledger_verify_start(struct node *n, const char *org, json_t **out, char *err, size_t errlen);
int ledger_verify_job(struct node *n, long job, json_t **out, char *err, size_t errlen);

/* Contracts (ledger.h's CONTRACTS): pulse 0 stands for the newest. */
int ledger_contract_list(struct node *n, const char *org, size_t limit, json_t **out, char *err, size_t errlen);
int ledger_contract_show(struct node *n, const char *org, const char *contract, uint64_t pulse, json_t **out,
                         char *err, size_t errlen);
/* contract NULL: every contract's events. from 0: the newest `limit`, oldest first. */
int ledger_contract_events(struct node *n, const char *org, const char *contract, uint64_t from, size_t limit,
                           json_t **out, char *err, size_t errlen);
/* key: the storage key's bytes as text (UTF-8, 1..CONTRACT_KEY_MAX bytes). */
int ledger_contract_storage(struct node *n, const char *org, const char *contract, const char *key, uint64_t pulse,
                            json_t **out, char *err, size_t errlen);

#endif
