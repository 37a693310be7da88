/*
 * reader: read-only commands off the RESP thread. A reader is a client of
 * its own in an LMDB read transaction of its own (LMDB readers run on any
 * thread, beside the one writer); store.c keeps it off everything in
 * struct db that the writer changes (the batch's transaction and cursor,
 * the expiry cache, the counters; an expired key reads as absent and is
 * left for the writer to delete). It is never on the db's client list.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int db_command_reads_anywhere(const char *name, size_t len)
{
    const struct db_command *cmd = db_find_command(name, len);
    if (!cmd || !(cmd->flags & CMD_READONLY) ||
        (cmd->flags & (CMD_WRITE | CMD_ADMIN | CMD_BLOCKING | CMD_NOMULTI | CMD_NOAUTH | CMD_WRITER_ONLY)))
        return 0;
    return 1;
}

db_client *db_reader_new(db *d, const char *user, char *err, size_t errlen)
{
    db_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "ERR out of memory");
        return NULL;
    }
    int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &c->txn);
    if (rc) {
        snprintf(err, errlen, "ERR storage error: %s", mdb_strerror(rc));
        free(c);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->db = d;
    c->reader = 1;
    c->resp = 2;
    c->dbno = d->default_dbno;
    c->read_epoch = UINT32_MAX;
    c->batch_cmds = -1; /* never in a batch: all its output may go */
    c->flags = DB_CLIENT_OWNER;
    c->may_read = 1;
    c->now_ms = c->created_ms = c->last_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    snprintf(c->user, sizeof c->user, "%s", user ? user : "");
    return c;
}

void db_reader_exec(db_client *c, int argc, const char **argv, const size_t *argvlen)
{
    c->argc = argc;
    c->argv = argv;
    c->argvlen = argvlen;
    if (argc == 0)
        return;
    c->turn_steps++;
    const struct db_command *cmd = db_find_command(argv[0], argvlen[0]);
    int select = cmd && !strcmp(cmd->name, "select"); /* through the select hook, as on the writer */
    if (!cmd || (!select && !db_command_reads_anywhere(argv[0], argvlen[0]))) {
        reply_errorf(c, "ERR '%.*s' does not run in a reader", (int)(argvlen[0] > 40 ? 40 : argvlen[0]), argv[0]);
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    if (db_denied(c, cmd))
        return;
    /* db_call's work accounting, without the writer's epoch and counters */
    c->cmd = cmd;
    c->cmd_steps = 0;
    c->stopped = 0;
    size_t start = c->out.len;
    cmd->proc(c);
    if (c->stopped && !(c->flags & DB_CLIENT_OVERFLOW)) {
        c->out.len = start;
        reply_errorf(c, "ERR %s stopped after %d steps of work%s (entries visited): read big keys and keyspaces "
                        "in parts with SCAN, SSCAN, HSCAN, ZSCAN, LRANGE or ZRANGE ... LIMIT",
                     cmd->name, c->turn_limit && c->turn_steps > c->turn_limit ? (int)c->turn_limit : DB_COMMAND_MAX_STEPS,
                     c->turn_limit && c->turn_steps > c->turn_limit ? " in one call" : "");
    }
    c->stopped = 0;
}

int db_reader_failed(const db_client *c) { return c->reader_failed; }

void db_reader_free(db_client *c)
{
    if (!c)
        return;
    if (c->reader_cursor) /* a read-only transaction's cursors are closed by hand */
        mdb_cursor_close(c->reader_cursor);
    mdb_txn_abort(c->txn);
    db_buf_free(&c->out);
    free(c);
}
