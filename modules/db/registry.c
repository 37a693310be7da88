/*
 * registry: MiMei info records and their database numbers, in the info DBI:
 *     "mm:" MID     -> the info record (JSON, as its author signed it)
 *     "dbno:" MID   -> database number (4 bytes)
 *     "nextdbno"    -> the next number to give (1 is the default database)
 * Commands: MM.CREATE info-json, MM.INFO [MID].
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MDB_val text_key(char *buf, size_t cap, const char *prefix, const char *mid)
{
    int n = snprintf(buf, cap, "%s%s", prefix, mid);
    return (MDB_val){(size_t)n, buf};
}

static int lookup(MDB_txn *txn, db *d, const char *mid, char **info, uint32_t *dbno)
{
    char kb[128];
    MDB_val k = text_key(kb, sizeof kb, "mm:", mid), v;
    if (strlen(mid) > 64 || mdb_get(txn, d->info, &k, &v) != 0)
        return 0;
    if (info) {
        *info = malloc(v.mv_size + 1);
        memcpy(*info, v.mv_data, v.mv_size);
        (*info)[v.mv_size] = '\0';
    }
    if (dbno) {
        k = text_key(kb, sizeof kb, "dbno:", mid);
        *dbno = 0;
        if (mdb_get(txn, d->info, &k, &v) == 0 && v.mv_size == 4)
            memcpy(dbno, v.mv_data, 4);
    }
    return 1;
}

static int register_in(MDB_txn *txn, db *d, const char *mid, const char *info, uint32_t *dbno)
{
    if (lookup(txn, d, mid, NULL, dbno))
        return 0;
    MDB_val k = {8, "nextdbno"}, v;
    uint32_t next = 2; /* 1 stays the default database of a node without MiMei */
    if (mdb_get(txn, d->info, &k, &v) == 0 && v.mv_size == 4)
        memcpy(&next, v.mv_data, 4);
    uint32_t after = next + 1;
    v = (MDB_val){4, &after};
    int rc = mdb_put(txn, d->info, &k, &v, 0);
    char kb[128];
    if (!rc) {
        k = text_key(kb, sizeof kb, "dbno:", mid);
        v = (MDB_val){4, &next};
        rc = mdb_put(txn, d->info, &k, &v, 0);
    }
    if (!rc) {
        k = text_key(kb, sizeof kb, "mm:", mid);
        v = (MDB_val){strlen(info), (void *)info};
        rc = mdb_put(txn, d->info, &k, &v, 0);
    }
    *dbno = next;
    return rc;
}

int db_mimei_register(db *d, const char *mid, const char *info, uint32_t *dbno, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
    if (!rc) {
        rc = register_in(txn, d, mid, info, dbno);
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    if (rc)
        snprintf(err, errlen, "registering MiMei %s: %s", mid, mdb_strerror(rc));
    return rc ? -1 : 0;
}

int db_mimei_replace(db *d, const char *mid, const char *info, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(d->env, NULL, 0, &txn);
    if (rc)
        return snprintf(err, errlen, "changing MiMei %s: %s", mid, mdb_strerror(rc)), -1;
    if (!lookup(txn, d, mid, NULL, NULL)) {
        mdb_txn_abort(txn);
        return snprintf(err, errlen, "no MiMei %s on this node", mid), -1;
    }
    char kb[128];
    MDB_val k = text_key(kb, sizeof kb, "mm:", mid), v = {strlen(info), (void *)info};
    rc = mdb_put(txn, d->info, &k, &v, 0);
    rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    if (rc)
        snprintf(err, errlen, "changing MiMei %s: %s", mid, mdb_strerror(rc));
    return rc ? -1 : 0;
}

int db_mimei_get(db *d, const char *mid, char **info, uint32_t *dbno)
{
    MDB_txn *txn;
    if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn))
        return 0;
    int found = lookup(txn, d, mid, info, dbno);
    mdb_txn_abort(txn);
    return found;
}

int db_mimei_each(db *d, int (*fn)(void *arg, const char *mid, const char *info, size_t len), void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    if (mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn))
        return 0;
    if (mdb_cursor_open(txn, d->info, &cur)) {
        mdb_txn_abort(txn);
        return 0;
    }
    MDB_val k = {3, "mm:"}, v;
    int rc = 0, op = MDB_SET_RANGE;
    while (!rc && mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op) == 0 && k.mv_size > 3 &&
           !memcmp(k.mv_data, "mm:", 3)) {
        char mid[65];
        snprintf(mid, sizeof mid, "%.*s", (int)(k.mv_size - 3 > 64 ? 64 : k.mv_size - 3), (char *)k.mv_data + 3);
        rc = fn(arg, mid, v.mv_data, v.mv_size);
        op = MDB_NEXT;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int db_mimei_lookup(db_client *c, const char *mid, char **info, uint32_t *dbno)
{
    return c->txn ? lookup(c->txn, c->db, mid, info, dbno) : 0;
}

void db_client_set_user(db_client *c, const char *id) { snprintf(c->user, sizeof c->user, "%s", id); }
void db_client_set_may_write(db_client *c, int may_write) { c->may_write = may_write; }
void db_client_set_may_read(db_client *c, int may_read) { c->may_read = may_read; }
const char *db_client_selected(const db_client *c) { return c->mid; }
MDB_txn *db_client_txn(db_client *c) { return c->txn; }
uint32_t db_default(const db *d) { return d->default_dbno; }

/* MM.CREATE info: registers a MiMei its author signed; replies its ID. */
static void cmd_create(db_client *c)
{
    char mid[64], err[256] = "ERR MiMei records cannot be created here";
    if (!c->db->hooks.create ||
        c->db->hooks.create(c->db->hooks.arg, c, ARG(1), mid, err, sizeof err) != 0) {
        reply_error(c, err);
        return;
    }
    char *info = strndup(ARG(1));
    uint32_t dbno;
    int rc = register_in(c->txn, c->db, mid, info, &dbno);
    free(info);
    if (rc) {
        db_fail(c, rc);
        reply_error(c, c->db->batch_error);
        return;
    }
    reply_bulk_cstr(c, mid);
}

/* MM.INFO [MID]: the info record of MID, or of the selected database. */
static void cmd_info(db_client *c)
{
    char mid[80];
    if (c->argc == 2)
        snprintf(mid, sizeof mid, "%.*s", (int)(c->argvlen[1] < 64 ? c->argvlen[1] : 64), c->argv[1]);
    else
        snprintf(mid, sizeof mid, "%s", c->mid);
    char *at = strchr(mid, '@');
    if (at)
        *at = '\0';
    char *info = NULL;
    if (!mid[0] || !lookup(c->txn, c->db, mid, &info, NULL)) {
        reply_null(c);
        return;
    }
    if (c->argc == 2 && c->db->hooks.read && !c->db->hooks.read(c->db->hooks.arg, c, info)) {
        free(info);
        reply_errorf(c, "NOPERM this connection may not read MiMei %s", mid);
        return;
    }
    reply_bulk_cstr(c, info);
    free(info);
}

const struct db_command db_registry_commands[] = {
    /* not CMD_WRITE: it writes the registry, not the selected database, and
     * the create hook decides who may */
    {"mm.create", cmd_create, 2, CMD_DENYOOM | CMD_NOSCRIPT, 0, 0, 0},
    {"mm.info", cmd_info, -1, CMD_READONLY | CMD_WRITER_ONLY, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0},
};

/* Deletes every key of dbi that starts with prefix (seeking again after
 * each delete). */
static int drop_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t len)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    while (!rc) {
        MDB_val k = {len, (void *)prefix}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size < len || memcmp(k.mv_data, prefix, len))
            break;
        rc = mdb_cursor_del(cur, 0);
    }
    if (!rc || rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(cur);
    return rc;
}

int db_mimei_drop(db *d, MDB_txn *txn, const char *mid, char *err, size_t errlen)
{
    uint32_t dbno = 0;
    if (!lookup(txn, d, mid, NULL, &dbno))
        return snprintf(err, errlen, "no MiMei %s on this node", mid), -1;
    uint8_t be[4] = {(uint8_t)(dbno >> 24), (uint8_t)(dbno >> 16), (uint8_t)(dbno >> 8), (uint8_t)dbno};
    uint8_t epoch[9] = {'e', 'p', 'o', 'c', 'h', be[0], be[1], be[2], be[3]};
    char kb[128];
    int rc = 0;
    /* its records and expiry entries start with its number (store.c) */
    if (dbno && dbno != d->default_dbno)
        rc = drop_prefix(txn, d->data, be, 4);
    if (!rc && dbno && dbno != d->default_dbno)
        rc = drop_prefix(txn, d->expires, be, 4);
    MDB_val keys[3] = {text_key(kb, 64, "mm:", mid), text_key(kb + 64, 64, "dbno:", mid), {9, epoch}};
    for (int i = 0; i < 3 && !rc; i++)
        if ((rc = mdb_del(txn, d->info, &keys[i], NULL)) == MDB_NOTFOUND)
            rc = 0;
    if (rc)
        snprintf(err, errlen, "dropping MiMei %s: %s", mid, mdb_strerror(rc));
    return rc ? -1 : 0;
}
