/*
 * multi: MULTI/EXEC/DISCARD and optimistic locking with WATCH, as Redis:
 * errors while queueing abort EXEC (EXECABORT); a change to a watched key
 * by anyone (this client included) makes EXEC answer a null array. Watched
 * keys are found in a hash table, once per key a command wrote (when it
 * ends), not for every field written. EXEC
 * runs the queued commands back to back in the current batch, so they
 * commit together or not at all.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct queued {
    const struct db_command *cmd;
    int argc;
    char **argv;
    size_t *argvlen;
    struct queued *next;
} queued;

typedef struct {
    queued *head, *tail;
    int count;
} multi_state;

/* WATCH: the db's table maps each watched key to the clients watching it
 * (a growable array); each client keeps the entries of the keys it watches,
 * so UNWATCH visits only those. */
typedef struct {
    db_client **c;
    size_t n, cap;
} watchers;

typedef struct {
    db_keyentry **key;
    size_t n, cap;
} watched_keys;

void db_multi_queue(db_client *c, const struct db_command *cmd)
{
    multi_state *m = c->multi;
    queued *q = calloc(1, sizeof *q);
    q->cmd = cmd;
    q->argc = c->argc;
    q->argv = malloc((size_t)c->argc * sizeof *q->argv);
    q->argvlen = malloc((size_t)c->argc * sizeof *q->argvlen);
    for (int i = 0; i < c->argc; i++) {
        q->argv[i] = malloc(c->argvlen[i] + 1);
        memcpy(q->argv[i], c->argv[i], c->argvlen[i]);
        q->argv[i][c->argvlen[i]] = '\0';
        q->argvlen[i] = c->argvlen[i];
    }
    if (m->tail)
        m->tail->next = q;
    else
        m->head = q;
    m->tail = q;
    m->count++;
}

void db_multi_reset(db_client *c)
{
    multi_state *m = c->multi;
    if (m) {
        for (queued *q = m->head, *next; q; q = next) {
            next = q->next;
            for (int i = 0; i < q->argc; i++)
                free(q->argv[i]);
            free(q->argv);
            free(q->argvlen);
            free(q);
        }
        free(m);
    }
    c->multi = NULL;
    c->flags &= ~(DB_CLIENT_MULTI | DB_CLIENT_DIRTY_EXEC);
}

void db_unwatch_all(db_client *c)
{
    watched_keys *mine = c->watched;
    for (size_t i = 0; mine && i < mine->n; i++) {
        db_keyentry *e = mine->key[i];
        watchers *w = e->value;
        for (size_t j = 0; j < w->n; j++)
            if (w->c[j] == c) {
                w->c[j] = w->c[--w->n];
                break;
            }
        if (!w->n) {
            free(w->c);
            free(w);
            db_keymap_remove(&c->db->watches, e);
        }
    }
    if (mine) {
        free(mine->key);
        free(mine);
    }
    c->watched = NULL;
    c->flags &= ~DB_CLIENT_DIRTY_CAS;
}

/* Adds key of the selected database to what c watches. */
static void watch_key(db_client *c, const void *key, size_t keylen)
{
    db_keyentry *e = db_keymap_add(&c->db->watches, c->dbno, key, keylen);
    watchers *w = e->value;
    if (!w)
        w = e->value = calloc(1, sizeof *w);
    for (size_t j = 0; j < w->n; j++)
        if (w->c[j] == c)
            return; /* watched already */
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4;
        w->c = realloc(w->c, w->cap * sizeof *w->c);
    }
    w->c[w->n++] = c;
    watched_keys *mine = c->watched ? c->watched : (c->watched = calloc(1, sizeof(watched_keys)));
    if (mine->n == mine->cap) {
        mine->cap = mine->cap ? 2 * mine->cap : 4;
        mine->key = realloc(mine->key, mine->cap * sizeof *mine->key);
    }
    mine->key[mine->n++] = e;
}

/* --- touched keys: noted for each write, signalled once per command ------- */

void db_signal_key(db_client *c, const void *key, size_t keylen)
{
    struct db *d = c->db;
    /* a command writes the fields of one key one after another */
    if (d->last_touched_valid && d->last_touched_dbno == c->dbno && d->last_touched.len == keylen &&
        !memcmp(d->last_touched.buf, key, keylen))
        return;
    d->last_touched.len = 0;
    db_buf_append(&d->last_touched, key, keylen);
    d->last_touched_dbno = c->dbno;
    d->last_touched_valid = 1;
    if (!d->watches.count && !db_any_blocked(d))
        return; /* nobody waits on any key */
    if (d->touched.count < DB_TOUCHED_MAX || db_keymap_find(&d->touched, c->dbno, key, keylen)) {
        db_keymap_add(&d->touched, c->dbno, key, keylen);
        return;
    }
    db_signal_all(c);
}

void db_signal_all(db_client *c)
{
    struct db *d = c->db;
    for (size_t i = 0; i < sizeof d->touched_all / sizeof *d->touched_all; i++)
        if (d->touched_all[i] == c->dbno || !d->touched_all[i]) {
            d->touched_all[i] = c->dbno;
            return;
        }
    d->touched_all_overflow = 1;
}

static void mark_watchers(db_keyentry *e)
{
    watchers *w = e->value;
    for (size_t j = 0; j < w->n; j++)
        w->c[j]->flags |= DB_CLIENT_DIRTY_CAS;
}

static void signal_one(db_keyentry *t, void *arg)
{
    struct db *d = arg;
    db_keyentry *e = db_keymap_find(&d->watches, t->dbno, t->key, t->keylen);
    if (e)
        mark_watchers(e);
    db_key_ready(d, t->dbno, t->key, t->keylen);
}

/* every watched key of a database past DB_TOUCHED_MAX (arg), or of all */
static void signal_in_db(db_keyentry *e, void *arg)
{
    const struct db *d = arg;
    int hit = d->touched_all_overflow;
    for (size_t i = 0; !hit && i < sizeof d->touched_all / sizeof *d->touched_all; i++)
        hit = d->touched_all[i] == e->dbno;
    if (hit)
        mark_watchers(e);
}

void db_signal_touched(struct db *d)
{
    d->last_touched_valid = 0;
    if (d->touched_all[0] || d->touched_all_overflow) {
        db_keymap_each(&d->watches, signal_in_db, d);
        for (size_t i = 0; i < sizeof d->touched_all / sizeof *d->touched_all && d->touched_all[i]; i++)
            db_keys_ready_in(d, d->touched_all[i]);
        if (d->touched_all_overflow) /* the blocked clients' databases */
            for (db_client *c = d->clients; c; c = c->next)
                if (c->flags & DB_CLIENT_BLOCKED)
                    db_keys_ready_in(d, c->dbno);
        memset(d->touched_all, 0, sizeof d->touched_all);
        d->touched_all_overflow = 0;
    }
    if (!d->touched.count)
        return;
    db_keymap_each(&d->touched, signal_one, d);
    if (d->touched.nbuckets > 4 * DB_TOUCHED_MAX)
        db_keymap_free(&d->touched);
    else
        db_keymap_clear(&d->touched);
}

static void cmd_multi(db_client *c)
{
    if (c->flags & DB_CLIENT_MULTI) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->multi = calloc(1, sizeof(multi_state));
    c->flags |= DB_CLIENT_MULTI;
    reply_ok(c);
}

static void cmd_discard(db_client *c)
{
    if (!(c->flags & DB_CLIENT_MULTI)) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    db_multi_reset(c);
    db_unwatch_all(c);
    reply_ok(c);
}

static void cmd_exec(db_client *c)
{
    if (!(c->flags & DB_CLIENT_MULTI)) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    multi_state *m = c->multi;
    if (c->flags & DB_CLIENT_DIRTY_EXEC) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
    } else if (c->flags & DB_CLIENT_DIRTY_CAS) {
        reply_null_array(c);
    } else {
        int argc = c->argc;
        const char **argv = c->argv;
        const size_t *argvlen = c->argvlen;
        reply_array(c, m->count);
        for (queued *q = m->head; q; q = q->next) {
            c->argc = q->argc;
            c->argv = (const char **)q->argv;
            c->argvlen = q->argvlen;
            /* rights again: a queued SELECT may have changed them */
            if (!db_denied(c, q->cmd))
                db_call(c, q->cmd);
        }
        c->argc = argc, c->argv = argv, c->argvlen = argvlen;
    }
    db_multi_reset(c);
    db_unwatch_all(c);
}

static void cmd_watch(db_client *c)
{
    if (c->flags & DB_CLIENT_MULTI) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_key(c, ARG(i));
    reply_ok(c);
}

static void cmd_unwatch(db_client *c)
{
    db_unwatch_all(c);
    reply_ok(c);
}

const struct db_command db_multi_commands[] = {
    {"multi", cmd_multi, 1, CMD_NOMULTI | CMD_NOSCRIPT | CMD_FAST, 0, 0, 0},
    {"exec", cmd_exec, 1, CMD_NOMULTI | CMD_NOSCRIPT, 0, 0, 0},
    {"discard", cmd_discard, 1, CMD_NOMULTI | CMD_NOSCRIPT | CMD_FAST, 0, 0, 0},
    {"watch", cmd_watch, -2, CMD_NOMULTI | CMD_NOSCRIPT | CMD_FAST, 1, -1, 1},
    {"unwatch", cmd_unwatch, 1, CMD_NOMULTI | CMD_NOSCRIPT | CMD_FAST, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
