/* quota: what guests stored (node.h, the quota section). */
#include "node.h"

#include "errbuf.h"
#include "mimei.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct quota {
    MDB_env *env;
    MDB_dbi usage;
};

int quota_open(node *n, MDB_env *env, char *err, size_t errlen)
{
    MDB_txn *txn;
    struct quota *q = calloc(1, sizeof *q);
    int rc = q ? mdb_txn_begin(env, NULL, 0, &txn) : ENOMEM;
    if (!rc) {
        rc = mdb_dbi_open(txn, "usage", MDB_CREATE, &q->usage);
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    if (rc) {
        free(q);
        return ERR("opening the usage table: %s", mdb_strerror(rc));
    }
    q->env = env;
    n->quota = q;
    return 0;
}

void quota_close(node *n)
{
    free(n->quota);
    n->quota = NULL;
}

static MDB_val key_of(char *buf, size_t cap, const char *a, const char *b, const char *c)
{
    int len = snprintf(buf, cap, "%s%s%s", a, b, c);
    return (MDB_val){(size_t)len < cap ? (size_t)len : cap - 1, buf};
}

static uint64_t get_u64(node *n, MDB_txn *txn, MDB_val k)
{
    MDB_val v;
    uint64_t x = 0;
    if (mdb_get(txn, n->quota->usage, &k, &v) == 0 && v.mv_size == 8)
        memcpy(&x, v.mv_data, 8);
    return x;
}

/* Adds delta (which may be negative) to the figure at k; 0 removes it. */
static int add_u64(node *n, MDB_txn *txn, MDB_val k, int64_t delta)
{
    uint64_t x = get_u64(n, txn, k);
    x = delta < 0 && (uint64_t)-delta > x ? 0 : x + (uint64_t)delta;
    if (!x) {
        int rc = mdb_del(txn, n->quota->usage, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    MDB_val v = {8, &x};
    return mdb_put(txn, n->quota->usage, &k, &v, 0);
}

/* mimei_may_store with the settings of the moment. */
static int decide(node *n, const char *who, const mimei_usage *used, uint64_t bytes, char *err, size_t errlen)
{
    pthread_mutex_lock(&n->lock);
    mimei_quota q = {n->home.guest_per_identity, n->home.guest_total};
    int d = mimei_may_store(who, n->id, json_object_get(n->home.doc, "grants"), &q, used, bytes, err, errlen);
    pthread_mutex_unlock(&n->lock);
    return d;
}

int quota_unmetered(node *n, const char *who)
{
    char ignored[8];
    mimei_usage none = {0, 0};
    return decide(n, who, &none, 0, ignored, sizeof ignored) == MIMEI_STORE_FREE;
}

static int judge(node *n, MDB_txn *txn, const char *who, uint64_t bytes, char *err, size_t errlen)
{
    mimei_usage none = {0, 0};
    int d = decide(n, who, &none, 0, err, errlen);
    if (d == MIMEI_STORE_GUEST) { /* only a guest's usage is read */
        char kb[96];
        mimei_usage used = {get_u64(n, txn, key_of(kb, sizeof kb, "id:", who, "")),
                            get_u64(n, txn, key_of(kb, sizeof kb, "total", "", ""))};
        d = decide(n, who, &used, bytes, err, errlen);
    }
    return d;
}

/* The status of a refusal mimei_may_store answered. */
static enum mimei_status refusal(int d)
{
    return d == MIMEI_STORE_FULL ? MIMEI_QUOTA_FULL : MIMEI_STORAGE_CLOSED;
}

enum mimei_status quota_check(node *n, const char *who, char *err, size_t errlen)
{
    MDB_txn *txn;
    if (mdb_txn_begin(n->quota->env, NULL, MDB_RDONLY, &txn) != 0)
        return ERR("reading the usage table failed");
    int d = judge(n, txn, who, 0, err, errlen);
    mdb_txn_abort(txn);
    return d == MIMEI_STORE_FREE || d == MIMEI_STORE_GUEST ? MIMEI_OK : refusal(d);
}

enum mimei_status quota_charge(node *n, MDB_txn *txn, const char *who, const char *mid, uint64_t bytes, char *err,
                               size_t errlen)
{
    int d = judge(n, txn, who, bytes, err, errlen);
    if (d == MIMEI_STORE_FREE)
        return MIMEI_OK;
    if (d != MIMEI_STORE_GUEST)
        return refusal(d);
    if (!bytes)
        return MIMEI_OK;
    char kb[160];
    int rc = add_u64(n, txn, key_of(kb, sizeof kb, "id:", who, ""), (int64_t)bytes);
    if (!rc)
        rc = add_u64(n, txn, key_of(kb, sizeof kb, "total", "", ""), (int64_t)bytes);
    if (!rc) {
        char part[96];
        snprintf(part, sizeof part, "%s/", mid && mid[0] ? mid : "*");
        rc = add_u64(n, txn, key_of(kb, sizeof kb, "mm:", part, who), (int64_t)bytes);
    }
    if (rc)
        return ERR("counting %s's usage: %s", who, mdb_strerror(rc)); /* MIMEI_ERROR */
    return MIMEI_OK;
}

/* Forgets the "mm:" entries starting with prefix, taking their bytes off
 * their identities and the total. */
static int forget(node *n, MDB_txn *txn, const char *prefix, const char *only_id, char *err, size_t errlen)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, n->quota->usage, &cur);
    size_t plen = strlen(prefix);
    while (!rc) {
        MDB_val k = {plen, (void *)prefix}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
            break;
        uint64_t bytes = 0;
        if (v.mv_size == 8)
            memcpy(&bytes, v.mv_data, 8);
        const char *slash = memchr((const char *)k.mv_data + 3, '/', k.mv_size - 3);
        char id[96] = "";
        if (slash)
            snprintf(id, sizeof id, "%.*s", (int)((const char *)k.mv_data + k.mv_size - slash - 1), slash + 1);
        if (only_id && strcmp(id, only_id))
            break; /* the prefix is the whole key: one entry at most */
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        char kb[96];
        if (id[0] && (rc = add_u64(n, txn, key_of(kb, sizeof kb, "id:", id, ""), -(int64_t)bytes)) == 0)
            rc = add_u64(n, txn, key_of(kb, sizeof kb, "total", "", ""), -(int64_t)bytes);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return ERR("updating the usage table: %s", mdb_strerror(rc));
    return 0;
}

int quota_forget_mimei(node *n, MDB_txn *txn, const char *mid, char *err, size_t errlen)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "mm:%s/", mid);
    return forget(n, txn, prefix, NULL, err, errlen);
}

int quota_forget_loose(node *n, MDB_txn *txn, const char *id, char *err, size_t errlen)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "mm:*/%s", id);
    return forget(n, txn, prefix, id, err, errlen);
}

uint64_t quota_used(node *n, MDB_txn *txn, const char *id)
{
    char kb[96];
    return get_u64(n, txn, key_of(kb, sizeof kb, "id:", id, ""));
}

int quota_each(node *n, MDB_txn *txn, int (*fn)(void *arg, const char *id, uint64_t bytes), void *arg)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, n->quota->usage, &cur) != 0)
        return -1;
    MDB_val k = {3, "id:"}, v;
    int rc = 0;
    for (int op = MDB_SET_RANGE; !rc && mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0 && k.mv_size > 3 &&
                                 !memcmp(k.mv_data, "id:", 3);
         op = MDB_NEXT) {
        char id[96];
        uint64_t bytes = 0;
        snprintf(id, sizeof id, "%.*s", (int)(k.mv_size - 3 < 90 ? k.mv_size - 3 : 90), (const char *)k.mv_data + 3);
        if (v.mv_size == 8)
            memcpy(&bytes, v.mv_data, 8);
        rc = fn(arg, id, bytes);
    }
    mdb_cursor_close(cur);
    return rc;
}
