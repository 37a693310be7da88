/*
 * access: the one rule of mimei.h (mimei_may_read, mimei_may_write) with
 * this node's owner and grants. Every surface asks here: the JSON API, the
 * gateway, the apps' Lua, the Redis protocol (db hooks).
 */
#include "node.h"

#include "db.h"
#include "mimei.h"

#include <stdlib.h>
#include <string.h>

json_t *node_mimei_info(node *n, const char *mid)
{
    char *text = NULL;
    if (!mid || !ids_is_leither_id(mid) || !db_mimei_get(n->db, mid, &text, NULL))
        return NULL;
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    return info;
}

int node_may_read(node *n, const json_t *info, const char *who)
{
    pthread_mutex_lock(&n->lock);
    int ok = mimei_may_read(info, who, n->id, json_object_get(n->home.doc, "grants"));
    pthread_mutex_unlock(&n->lock);
    return ok;
}

int node_may_write(node *n, const json_t *info, const char *who)
{
    pthread_mutex_lock(&n->lock);
    int ok = mimei_may_write(info, who, n->id, json_object_get(n->home.doc, "grants"));
    pthread_mutex_unlock(&n->lock);
    return ok;
}

/* Whether a root CID belongs only to MiMei the reader may not read. */
struct root_scan {
    node *n;
    MDB_txn *txn;
    const cid *root;
    const char *reader;
    int hidden, visible;
    char last[IDS_LID_LEN + 1]; /* the MiMei just judged: its versions come in a row */
};

static int match_pin(void *arg, const cid *c)
{
    struct root_scan *s = arg;
    return s->visible = !memcmp(c->digest, s->root->digest, CID_DIGEST_LEN);
}

static int judge_mimei(void *arg, const char *mid, uint32_t ver)
{
    (void)ver;
    struct root_scan *s = arg;
    if (!strcmp(mid, s->last))
        return 0;
    snprintf(s->last, sizeof s->last, "%s", mid);
    json_t *info = node_mimei_info(s->n, mid);
    if (!info || node_may_read(s->n, info, s->reader))
        s->visible = 1; /* versions of no registered MiMei are nobody's secret */
    else if (!s->hidden++) /* the first private holder: is it pinned? (once) */
        bs_pins(s->n->bs, s->txn, match_pin, s);
    json_decref(info);
    return s->visible; /* one readable MiMei with this root, or a pin, is enough */
}

int node_root_hidden(node *n, const cid *root, const char *reader)
{
    char err[256];
    struct root_scan s = {.n = n, .root = root, .reader = reader};
    if (!(s.txn = bs_begin(n->bs, 0, err, sizeof err)))
        return 1; /* cannot tell: refuse rather than leak */
    files_with_root(n->bs, s.txn, root, judge_mimei, &s);
    mdb_txn_abort(s.txn);
    return s.hidden && !s.visible;
}
