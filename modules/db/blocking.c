/*
 * blocking: BLPOP BRPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX.
 *
 * Each tries its non-blocking twin (LPOP, LMOVE, ZPOPMIN, ...) from the
 * command table on its keys in order; when all are empty the client blocks.
 * The keys a command wrote are signalled when it ends (db_signal_touched
 * calls db_key_ready); after each command the
 * clients blocked on signalled keys re-run their command, oldest first, and
 * those served are handed to the runtime (db_wake). Inside MULTI a blocking
 * command does not block: it answers as on timeout.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct blocked {
    db_client *c;
    const struct db_command *cmd;
    uint32_t dbno;
    int argc;
    char **argv;
    size_t *argvlen;
    int first, last; /* the keys: argv[first..last] */
    int64_t deadline_ms; /* 0: none */
    struct blocked *next;
} blocked;

typedef struct ready {
    uint32_t dbno;
    size_t keylen;
    struct ready *next;
    char key[];
} ready;

typedef struct {
    blocked *head, *tail;
    ready *ready;
} block_state;

static block_state *state(struct db *d)
{
    if (!d->blocking)
        d->blocking = calloc(1, sizeof(block_state));
    return d->blocking;
}

/* Timeout in seconds (a float, as Redis 7) to an absolute deadline. */
static int parse_timeout(db_client *c, int i, int64_t *deadline)
{
    double secs;
    if (parse_double(ARG(i), &secs) != 0 || isinf(secs) || secs > 9e12) {
        reply_error(c, "ERR timeout is not a float or out of range");
        return -1;
    }
    if (secs < 0) {
        reply_error(c, "ERR timeout is negative");
        return -1;
    }
    *deadline = secs > 0 ? c->now_ms + (int64_t)(secs * 1000 + 0.5) : 0;
    if (secs > 0 && *deadline == c->now_ms)
        *deadline = c->now_ms + 1;
    return 0;
}

void db_block(db_client *c, int first, int last, int64_t deadline_ms)
{
    if (c->flags & DB_CLIENT_MULTI) { /* never block inside a transaction */
        reply_null_array(c);
        return;
    }
    block_state *s = state(c->db);
    blocked *b = calloc(1, sizeof *b);
    b->c = c;
    b->cmd = c->cmd;
    b->dbno = c->dbno;
    b->argc = c->argc;
    b->argv = malloc((size_t)c->argc * sizeof *b->argv);
    b->argvlen = malloc((size_t)c->argc * sizeof *b->argvlen);
    for (int i = 0; i < c->argc; i++) {
        b->argv[i] = malloc(c->argvlen[i] + 1);
        memcpy(b->argv[i], ARG(i));
        b->argv[i][c->argvlen[i]] = '\0';
        b->argvlen[i] = c->argvlen[i];
    }
    b->first = first;
    b->last = last;
    b->deadline_ms = deadline_ms;
    if (s->tail)
        s->tail->next = b;
    else
        s->head = b;
    s->tail = b;
    c->blocked = b;
    c->flags |= DB_CLIENT_BLOCKED;
}

static void free_blocked(blocked *b)
{
    for (int i = 0; i < b->argc; i++)
        free(b->argv[i]);
    free(b->argv);
    free(b->argvlen);
    free(b);
}

void db_unblock(db_client *c)
{
    blocked *b = c->blocked;
    if (!b)
        return;
    block_state *s = state(c->db);
    blocked **p = &s->head, *prev = NULL;
    while (*p && *p != b)
        prev = *p, p = &(*p)->next;
    if (*p) {
        *p = b->next;
        if (s->tail == b)
            s->tail = prev;
    }
    free_blocked(b);
    c->blocked = NULL;
    c->flags &= ~DB_CLIENT_BLOCKED;
}

int db_any_blocked(const struct db *d)
{
    const block_state *s = d->blocking;
    return s && s->head;
}

void db_key_ready(struct db *d, uint32_t dbno, const void *key, size_t keylen)
{
    block_state *s = d->blocking;
    if (!s || !s->head)
        return;
    for (ready *r = s->ready; r; r = r->next)
        if (r->dbno == dbno && r->keylen == keylen && !memcmp(r->key, key, keylen))
            return;
    ready *r = malloc(sizeof *r + keylen);
    r->dbno = dbno;
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    r->next = s->ready;
    s->ready = r;
}

void db_keys_ready_in(struct db *d, uint32_t dbno)
{
    block_state *s = d->blocking;
    for (blocked *b = s ? s->head : NULL; b; b = b->next)
        if (b->dbno == dbno)
            for (int i = b->first; i <= b->last; i++)
                db_key_ready(d, dbno, b->argv[i], b->argvlen[i]);
}

static int waits_on(const blocked *b, const ready *r)
{
    if (b->dbno != r->dbno)
        return 0;
    for (int i = b->first; i <= b->last; i++)
        if (b->argvlen[i] == r->keylen && !memcmp(b->argv[i], r->key, r->keylen))
            return 1;
    return 0;
}

void db_serve_blocked(struct db *d)
{
    block_state *s = d->blocking;
    while (s && s->ready) {
        ready *list = s->ready;
        s->ready = NULL;
        /* the clients waiting now, oldest first; serving may add new ones */
        blocked *end = s->tail;
        for (blocked *b = s->head, *next; b; b = next) {
            next = b->next;
            int hit = 0;
            for (ready *r = list; r && !hit; r = r->next)
                hit = waits_on(b, r);
            if (hit) {
                db_client *c = b->c;
                const struct db_command *cmd = b->cmd;
                int argc = b->argc;
                char **argv = b->argv;
                size_t *argvlen = b->argvlen;
                b->argv = NULL, b->argc = 0, b->argvlen = NULL; /* keep them for the re-run */
                db_unblock(c);
                if (db_batch_join(c) == 0) {
                    c->batch_cmds++;
                    c->argc = argc;
                    c->argv = (const char **)argv;
                    c->argvlen = argvlen;
                    db_call(c, cmd);
                    if (!(c->flags & DB_CLIENT_BLOCKED))
                        db_wake(c);
                }
                for (int i = 0; i < argc; i++)
                    free(argv[i]);
                free(argv);
                free(argvlen);
            }
            if (b == end)
                break;
        }
        while (list) {
            ready *r = list;
            list = r->next;
            free(r);
        }
    }
}

void db_blocking_free(struct db *d)
{
    block_state *s = d->blocking;
    if (!s)
        return;
    while (s->head)
        db_unblock(s->head->c);
    for (ready *r = s->ready, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    free(s);
    d->blocking = NULL;
}

void db_block_timeouts(struct db *d, int64_t now)
{
    block_state *s = d->blocking;
    if (!s)
        return;
    for (blocked *b = s->head, *next; b; b = next) {
        next = b->next;
        if (b->deadline_ms && b->deadline_ms <= now) {
            db_client *c = b->c;
            db_unblock(c);
            reply_null_array(c);
            db_wake(c);
        }
    }
}

/* --- the commands ------------------------------------------------------- */

/* Runs `name` with argv[0] replaced and argc cut; restores them after. */
static void run_as(db_client *c, const char *name, int argc)
{
    const struct db_command *cmd = db_find_command(name, strlen(name));
    const char **argv = c->argv;
    const char *saved = argv[0];
    size_t *lens = (size_t *)c->argvlen, savedlen = lens[0];
    int savedc = c->argc;
    argv[0] = name;
    lens[0] = strlen(name);
    c->argc = argc;
    const struct db_command *was = c->cmd;
    cmd->proc(c);
    c->cmd = was;
    c->argc = savedc;
    argv[0] = saved;
    lens[0] = savedlen;
}

/* BLPOP/BRPOP/BZPOPMIN/BZPOPMAX key [key ...] timeout */
static void blocking_pop(db_client *c, int type, const char *pop)
{
    int64_t deadline;
    if (parse_timeout(c, c->argc - 1, &deadline) < 0)
        return;
    for (int i = 1; i < c->argc - 1; i++) {
        db_meta m;
        int found = db_lookup_type(c, ARG(i), type, &m);
        if (found < 0)
            return;
        if (found && m.count > 0) {
            /* the pop's reply, with the key in front: [key, element] or
             * [key, member, score] */
            const char *argv1 = c->argv[1];
            size_t len1 = c->argvlen[1];
            ((const char **)c->argv)[1] = c->argv[i];
            ((size_t *)c->argvlen)[1] = c->argvlen[i];
            size_t at = c->out.len;
            if (type == DB_LIST) {
                reply_array(c, 2);
                reply_bulk(c, ARG(i));
                run_as(c, pop, 2);
            } else {
                run_as(c, pop, 2); /* answers *2 member score */
                const char *nl = c->out.len > at ? memchr(c->out.buf + at, '\n', c->out.len - at) : NULL;
                if (!nl) /* nothing was written: the output limit dropped it */
                    goto done;
                db_buf tail = {0};
                const char *body = nl + 1;
                db_buf_append(&tail, body, (size_t)(c->out.buf + c->out.len - body));
                c->out.len = at;
                reply_array(c, 3);
                reply_bulk(c, ARG(i));
                db_buf_append(&c->out, tail.buf, tail.len);
                db_buf_free(&tail);
            }
        done:
            ((const char **)c->argv)[1] = argv1;
            ((size_t *)c->argvlen)[1] = len1;
            return;
        }
    }
    db_block(c, 1, c->argc - 2, deadline);
}

static void cmd_blpop(db_client *c) { blocking_pop(c, DB_LIST, "lpop"); }
static void cmd_brpop(db_client *c) { blocking_pop(c, DB_LIST, "rpop"); }
static void cmd_bzpopmin(db_client *c) { blocking_pop(c, DB_ZSET, "zpopmin"); }
static void cmd_bzpopmax(db_client *c) { blocking_pop(c, DB_ZSET, "zpopmax"); }

/* BLMOVE src dst LEFT|RIGHT LEFT|RIGHT timeout */
static void cmd_blmove(db_client *c)
{
    int64_t deadline;
    if (!(arg_is(c, 3, "left") || arg_is(c, 3, "right")) || !(arg_is(c, 4, "left") || arg_is(c, 4, "right"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (parse_timeout(c, 5, &deadline) < 0)
        return;
    db_meta m;
    int found = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (found < 0)
        return;
    if (found && m.count > 0)
        run_as(c, "lmove", 5);
    else
        db_block(c, 1, 1, deadline);
}

/* BRPOPLPUSH src dst timeout: BLMOVE src dst RIGHT LEFT timeout */
static void cmd_brpoplpush(db_client *c)
{
    int64_t deadline;
    if (parse_timeout(c, 3, &deadline) < 0)
        return;
    db_meta m;
    int found = db_lookup_type(c, ARG(1), DB_LIST, &m);
    if (found < 0)
        return;
    if (found && m.count > 0)
        run_as(c, "rpoplpush", 3);
    else
        db_block(c, 1, 1, deadline);
}

const struct db_command db_blocking_commands[] = {
    {"blpop", cmd_blpop, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, 1},
    {"brpop", cmd_brpop, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, 1},
    {"blmove", cmd_blmove, 6, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, 1},
    {"brpoplpush", cmd_brpoplpush, 4, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, 1},
    {"bzpopmin", cmd_bzpopmin, -3, CMD_WRITE | CMD_FAST | CMD_BLOCKING, 1, -2, 1},
    {"bzpopmax", cmd_bzpopmax, -3, CMD_WRITE | CMD_FAST | CMD_BLOCKING, 1, -2, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
