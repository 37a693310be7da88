/*
 * quota: what guests (keys neither the node owner nor granted) stored, and
 * the one place that decides whether a write may store more (it asks
 * mimei_may_store with the settings' guest_quota and the usage here).
 *
 * Usage lives in the "usage" DBI of the node's one LMDB environment, so a
 * charge commits or aborts with the write it pays for:
 *     "id:" ID           -> bytes ID stored (u64, little-endian)
 *     "mm:" MID "/" ID   -> of those, bytes stored in MiMei MID ("*": blocks
 *                           in no MiMei, dag/import)
 *     "total"            -> all guests' bytes
 * Bytes are what writes added (new blocks, info records, database command
 * arguments), not what is still held: a guest's usage only goes down when
 * the owner drops its MiMei (mimei/drop, repo/rm-author).
 */
#ifndef LEITHER_QUOTA_H
#define LEITHER_QUOTA_H

#include "node.h"

#include <lmdb.h>
#include <stdint.h>

/* Opens (creating) the usage DBI in env into n->quota. */
int quota_open(node *n, MDB_env *env, char *err, size_t errlen);
void quota_close(node *n);

/* May `who` store bytes more into mid ("" for blocks in no MiMei)? The
 * owner and granted keys always may and are not counted; a guest within
 * its quota is charged in txn (a write transaction). 0, or -1 with err and
 * *status: 403 (no guest storage, or unsigned), 507 (over the quota), 500. */
int quota_charge(node *n, MDB_txn *txn, const char *who, const char *mid, uint64_t bytes, int *status, char *err,
                 size_t errlen);
/* The same question for 0 bytes, in a read transaction of its own: the
 * cheap check before a write does any work. */
int quota_check(node *n, const char *who, int *status, char *err, size_t errlen);
/* Nonzero when who is the owner or a granted key (never metered). */
int quota_unmetered(node *n, const char *who);

/* Forgets what guests stored in mid (after it was dropped). */
int quota_forget_mimei(node *n, MDB_txn *txn, const char *mid, char *err, size_t errlen);
/* Forgets id's blocks in no MiMei (after repo/rm-author). */
int quota_forget_loose(node *n, MDB_txn *txn, const char *id, char *err, size_t errlen);
/* Bytes id stored (0 when none). */
uint64_t quota_used(node *n, MDB_txn *txn, const char *id);
/* Calls fn for every identity with usage. */
int quota_each(node *n, MDB_txn *txn, int (*fn)(void *arg, const char *id, uint64_t bytes), void *arg);

#endif
