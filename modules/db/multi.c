/*
 * multi: MULTI/EXEC/DISCARD and optimistic locking with WATCH, as Redis:
 * errors while queueing abort EXEC (EXECABORT); a change to a watched key
 * by anyone (this client included) makes EXEC answer a null array. EXEC
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

/* a watched key: (client, dbno, key); one list per db */
typedef struct watch {
    db_client *c;
    uint32_t dbno;
    size_t keylen;
    struct watch *next;
    char key[];
} watch;

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
    watch **p = (watch **)&c->db->watches;
    while (*p) {
        if ((*p)->c == c) {
            watch *gone = *p;
            *p = gone->next;
            free(gone);
        } else {
            p = &(*p)->next;
        }
    }
    c->flags &= ~DB_CLIENT_DIRTY_CAS;
}

void db_signal_key(db_client *c, const void *key, size_t keylen)
{
    for (watch *w = c->db->watches; w; w = w->next)
        if (w->dbno == c->dbno && w->keylen == keylen && !memcmp(w->key, key, keylen))
            w->c->flags |= DB_CLIENT_DIRTY_CAS;
    db_key_ready(c, key, keylen);
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
    for (int i = 1; i < c->argc; i++) {
        int dup = 0;
        for (watch *w = c->db->watches; w && !dup; w = w->next)
            dup = w->c == c && w->dbno == c->dbno && w->keylen == c->argvlen[i] &&
                  !memcmp(w->key, c->argv[i], c->argvlen[i]);
        if (dup)
            continue;
        watch *w = malloc(sizeof *w + c->argvlen[i]);
        w->c = c;
        w->dbno = c->dbno;
        w->keylen = c->argvlen[i];
        memcpy(w->key, c->argv[i], c->argvlen[i]);
        w->next = c->db->watches;
        c->db->watches = w;
    }
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
