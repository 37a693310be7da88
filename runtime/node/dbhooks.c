/*
 * dbhooks: what the node decides for the databases: who a Redis client is
 * (AUTH with a token), which database a MiMei ID names and what the client
 * may do there (SELECT), and whether a MiMei record may be registered.
 *
 * Rights: a client is the node owner (loopback without AUTH, or a token of
 * the node key), a granted key (SystemVars "grants"), or anyone else with a
 * token. What it may read and write is the one rule of mimei.h
 * (mimei_may_read, mimei_may_write) applied to the selected database's
 * MiMei; the default database is the owner's default MiMei ("db_default"),
 * private unless made public, or the owner's alone when there is none.
 */
#include "node.h"
#include "db.h"
#include "mimei.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *identity(node *n, db_client *c)
{
    const char *u = db_client_user(c);
    return u[0] ? u : n->id;
}

/* What who may do with the default database: its MiMei's rule, or without
 * one the owner's and granted keys' only. */
static void default_rights(node *n, db_client *c, const char *who, int *may_read, int *may_write)
{
    pthread_mutex_lock(&n->lock);
    const char *mid = json_string_value(json_object_get(n->home.doc, "db_default"));
    char copy[IDS_LID_LEN + 1] = "";
    if (mid)
        snprintf(copy, sizeof copy, "%s", mid);
    pthread_mutex_unlock(&n->lock);
    char *text = NULL;
    json_t *info = NULL;
    if (copy[0] && db_mimei_lookup(c, copy, &text, NULL))
        info = json_loads(text, 0, NULL);
    free(text);
    if (info) {
        *may_read = node_may_read(n, info, who);
        *may_write = node_may_write(n, info, who);
    } else {
        pthread_mutex_lock(&n->lock);
        *may_read = *may_write = mimei_is_granted(who, n->id, json_object_get(n->home.doc, "grants"));
        pthread_mutex_unlock(&n->lock);
    }
    json_decref(info);
}

static int on_auth(void *arg, db_client *c, const char *user, const char *token, char *err, size_t errlen)
{
    node *n = arg;
    char id[IDS_LID_LEN + 1], why[128];
    if (auth_token_check(token, (int64_t)time(NULL), id, why, sizeof why) != 0 ||
        (user[0] && strcmp(user, "default") && strcmp(user, id))) {
        snprintf(err, errlen, "WRONGPASS invalid username-password pair or user is disabled.");
        return -1;
    }
    db_client_set_user(c, id);
    db_client_set_owner(c, !strcmp(id, n->id));
    db_client_set_auth_expiry(c, auth_token_expiry(token) * 1000); /* closed then, if still open */
    return 0; /* the db module then selects again: the hook below decides the rights */
}

static int on_select(void *arg, db_client *c, const char *target, uint32_t *dbno, uint32_t *version, int *may_write,
                     char *err, size_t errlen)
{
    node *n = arg;
    const char *who = identity(n, c);
    *version = 0;
    if (!strcmp(target, "0")) {
        int may_read;
        *dbno = db_default(n->db);
        default_rights(n, c, who, &may_read, may_write);
        db_client_set_may_read(c, may_read); /* SELECT 0 always works: reads then say NOPERM */
        return 0;
    }
    char mid[64];
    snprintf(mid, sizeof mid, "%s", target);
    char *at = strchr(mid, '@');
    if (at) {
        *at = '\0';
        char *end;
        unsigned long v = strtoul(at + 1, &end, 10);
        if (!at[1] || *end || v == 0 || v > UINT32_MAX) {
            snprintf(err, errlen, "ERR invalid version '%s': use MID@N with N from MM.VERSIONS", at + 1);
            return -1;
        }
        *version = (uint32_t)v;
    }
    char *text = NULL;
    if (!ids_is_leither_id(mid) || !db_mimei_lookup(c, mid, &text, dbno)) {
        snprintf(err, errlen, "ERR no database MiMei %s on this node", mid);
        return -1;
    }
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    int rc = -1;
    if (strcmp(mimei_str(info, "AppType"), "db"))
        snprintf(err, errlen, "ERR %s is a \"%s\" MiMei, not a database", mid, mimei_str(info, "AppType"));
    else if (!node_may_read(n, info, who))
        snprintf(err, errlen, "NOPERM %s may not read MiMei %s", ids_is_leither_id(who) ? who : "anonymous", mid);
    else if (*version && !db_version_exists(c, *dbno, *version))
        snprintf(err, errlen, "ERR no version %u of %s", *version, mid);
    else {
        *may_write = node_may_write(n, info, who);
        rc = 0;
    }
    json_decref(info);
    return rc;
}

static int on_create(void *arg, db_client *c, const char *text, size_t len, char *mid, char *err, size_t errlen)
{
    node *n = arg;
    json_error_t jerr;
    json_t *info = json_loadb(text, len, 0, &jerr);
    char why[400];
    int rc = -1, status;
    if (!info)
        snprintf(err, errlen, "ERR MiMei info is not JSON: %s", jerr.text);
    else if (mimei_verify(info, why, sizeof why) != 0)
        snprintf(err, errlen, "ERR %s", why);
    else if (strcmp(mimei_str(info, "Author"), identity(n, c)) && strcmp(identity(n, c), n->id))
        snprintf(err, errlen, "NOPERM only its author (or the node owner) may register MiMei %s",
                 mimei_str(info, "ID"));
    else if (!db_mimei_lookup(c, mimei_str(info, "ID"), NULL, NULL) &&
             (status = quota_charge(n, db_client_txn(c), identity(n, c), mimei_str(info, "ID"), len, why,
                                    sizeof why)) != MIMEI_OK)
        snprintf(err, errlen, "%s %s", status == MIMEI_QUOTA_FULL ? "OOM" : status == MIMEI_STORAGE_CLOSED ? "NOPERM" : "ERR", why);
    else {
        snprintf(mid, IDS_LID_LEN + 1, "%s", mimei_str(info, "ID"));
        rc = 0;
    }
    json_decref(info);
    return rc;
}

/* Every write command: the owner and granted keys store freely, a guest
 * within its quota (counted against the selected MiMei), others not. */
static int on_store(void *arg, db_client *c, size_t bytes, char *err, size_t errlen)
{
    node *n = arg;
    const char *who = identity(n, c), *mid = db_client_selected(c);
    if (quota_unmetered(n, who))
        return 0;
    char why[400];
    int status;
    if (mid[0] && !db_mimei_lookup(c, mid, NULL, NULL))
        return snprintf(err, errlen, "ERR MiMei %s is no longer on this node", mid), -1;
    if ((status = quota_charge(n, db_client_txn(c), who, mid, bytes, why, sizeof why)) != MIMEI_OK)
        return snprintf(err, errlen, "%s %s", status == MIMEI_QUOTA_FULL ? "OOM" : status == MIMEI_STORAGE_CLOSED ? "NOPERM" : "ERR", why), -1;
    return 0;
}

/* MM.INFO MID: a private MiMei's record is its readers' only. */
static int on_read(void *arg, db_client *c, const char *text)
{
    node *n = arg;
    json_t *info = json_loads(text, 0, NULL);
    int ok = node_may_read(n, info, identity(n, c));
    json_decref(info);
    return ok;
}

void dbhooks_install(node *n)
{
    db_hooks hooks = {
        .arg = n, .auth = on_auth, .select = on_select, .create = on_create, .store = on_store, .read = on_read};
    db_set_hooks(n->db, &hooks);
    const char *mid = json_string_value(json_object_get(n->home.doc, "db_default"));
    uint32_t dbno;
    if (mid && db_mimei_get(n->db, mid, NULL, &dbno))
        db_set_default(n->db, dbno);
}
