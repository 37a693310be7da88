/*
 * commands: the db itself (open, clients, batches) and the dispatcher that
 * runs each command from the one command table, as Redis's processCommand.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the command table: every file's table, sorted by name -------------- */

static const struct db_command **table;
static size_t ntable;
/* the same without CMD_INTERNAL: what COMMAND lists */
static const struct db_command **listed;
static size_t nlisted;

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const struct db_command *const *)a)->name, (*(const struct db_command *const *)b)->name);
}

static void build_table(void)
{
    const struct db_command *sets[] = {db_keyspace_commands, db_string_commands, db_hash_commands,
                                       db_list_commands,     db_set_commands,    db_zset_commands,
                                       db_server_commands,   db_multi_commands,  db_blocking_commands,
                                       db_version_commands,  db_registry_commands, db_journal_commands};
    size_t n = 0;
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        for (const struct db_command *c = sets[i]; c->name; c++)
            n++;
    table = malloc(n * sizeof *table);
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        for (const struct db_command *c = sets[i]; c->name; c++)
            table[ntable++] = c;
    qsort(table, ntable, sizeof *table, by_name);
    listed = malloc(ntable * sizeof *listed);
    for (size_t i = 0; i < ntable; i++)
        if (!(table[i]->flags & CMD_INTERNAL))
            listed[nlisted++] = table[i];
}

long db_command_index(const char *name, size_t len)
{
    char lower[64];
    if (len == 0 || len >= sizeof lower)
        return -1;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    lower[len] = '\0';
    size_t lo = 0, hi = ntable;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(table[mid]->name, lower);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const struct db_command *db_find_command(const char *name, size_t len)
{
    long i = db_command_index(name, len);
    return i < 0 ? NULL : table[i];
}

const char *db_command_name(size_t i) { return i < ntable ? table[i]->name : NULL; }

size_t db_command_count(void) { return nlisted; }
const struct db_command *db_command_at(size_t i) { return i < nlisted ? listed[i] : NULL; }

const struct db_command *db_find_visible(const db_client *c, const char *name, size_t len)
{
    const struct db_command *cmd = db_find_command(name, len);
    return cmd && (cmd->flags & CMD_INTERNAL) && !c->internal ? NULL : cmd;
}

/* --- open and close ----------------------------------------------------- */

db *db_open(const char *dir, enum db_sync sync, char *err, size_t errlen)
{
    if (!table)
        build_table();
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    db *d = calloc(1, sizeof *d);
    d->sync = sync;
    d->default_dbno = 1;
    d->proto_max_bulk_len = 512u << 20;
    d->output_limit = 64u << 20;
    d->start_ms = d->last_sync_ms = now_ms();
    int rc = mdb_env_create(&d->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(d->env, 32) /* 3 here, 5 for the content store, the ledgers' */;
    if (!rc) /* address space only: the file grows as data does */
        rc = mdb_env_set_mapsize(d->env, sizeof(void *) == 8 ? (size_t)64 << 30 : (size_t)1 << 30);
    /* always: every commit is synced by LMDB; otherwise we sync ourselves */
    unsigned flags = MDB_NOTLS | (sync == DB_SYNC_ALWAYS ? 0 : MDB_NOSYNC);
    if (!rc)
        rc = mdb_env_open(d->env, dir, flags, 0644);
    MDB_txn *txn = NULL;
    if (!rc)
        rc = mdb_txn_begin(d->env, NULL, 0, &txn);
    if (!rc)
        rc = mdb_dbi_open(txn, "data", MDB_CREATE, &d->data);
    if (!rc)
        rc = mdb_dbi_open(txn, "expires", MDB_CREATE, &d->expires);
    if (!rc)
        rc = mdb_dbi_open(txn, "info", MDB_CREATE, &d->info);
    if (!rc)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc) {
        snprintf(err, errlen, "%s: %s", dir, mdb_strerror(rc));
        if (d->env)
            mdb_env_close(d->env);
        free(d);
        return NULL;
    }
    return d;
}

struct MDB_env *db_lmdb(db *d) { return d->env; }

void db_close(db *d)
{
    if (!d)
        return;
    db_commit(d);
    while (d->clients)
        db_client_free(d->clients);
    mdb_env_sync(d->env, 1);
    mdb_env_close(d->env);
    db_cursors_free(d);
    db_blocking_free(d);
    db_keymap_free(&d->watches);
    db_keymap_free(&d->touched);
    db_buf_free(&d->last_touched);
    free(d->batch);
    free(d);
}

void db_set_default(db *d, uint32_t dbno) { d->default_dbno = dbno; }
void db_set_hooks(db *d, const db_hooks *hooks) { d->hooks = *hooks; }
void db_client_require_auth(db_client *c) { c->flags &= ~DB_CLIENT_OWNER; }
int db_client_authenticated(const db_client *c) { return (c->flags & DB_CLIENT_OWNER) || c->user_ok; }
void db_client_set_owner(db_client *c, int owner)
{
    c->flags = owner ? c->flags | DB_CLIENT_OWNER : c->flags & ~DB_CLIENT_OWNER;
}
void db_client_set_auth_expiry(db_client *c, int64_t expires_ms) { c->auth_expires_ms = expires_ms; }
void db_client_turn_start(db_client *c) { c->turn_steps = 0; }
uint64_t db_client_turn_work(const db_client *c) { return c->turn_steps; }
void db_client_set_limits(db_client *c, uint64_t max_steps, size_t max_output)
{
    c->turn_limit = max_steps;
    c->output_limit = max_output;
}
int db_client_over_budget(const db_client *c) { return c->over_budget; }
int db_client_overflowed(const db_client *c) { return (c->flags & DB_CLIENT_OVERFLOW) != 0; }
const char *db_client_user(const db_client *c) { return c->user; }
size_t db_proto_max_bulk_len(const db *d) { return d->proto_max_bulk_len; }
size_t db_client_output_limit(const db *d) { return d->output_limit; }
void db_set_limits(db *d, size_t max_bulk, size_t output_limit)
{
    d->proto_max_bulk_len = max_bulk;
    d->output_limit = output_limit;
}

/* --- clients ------------------------------------------------------------ */

db_client *db_client_new(db *d, void *io)
{
    db_client *c = calloc(1, sizeof *c);
    c->db = d;
    c->io = io;
    c->id = ++d->next_client_id;
    c->resp = 2;
    c->dbno = d->default_dbno;
    c->read_epoch = UINT32_MAX;
    c->batch_cmds = -1;
    c->flags = DB_CLIENT_OWNER; /* the runtime narrows this when AUTH is required */
    c->may_write = c->may_read = 1;
    c->created_ms = c->last_ms = now_ms();
    c->next = d->clients;
    if (d->clients)
        d->clients->prev = c;
    d->clients = c;
    d->stat_connections++;
    return c;
}

void db_client_free(db_client *c)
{
    db *d = c->db;
    db_multi_reset(c);
    db_unwatch_all(c);
    db_unblock(c);
    for (size_t i = 0; i < d->nbatch; i++)
        if (d->batch[i] == c)
            d->batch[i] = NULL;
    if (d->woken == c)
        d->woken = c->next_woken;
    else
        for (db_client *w = d->woken; w; w = w->next_woken)
            if (w->next_woken == c) {
                w->next_woken = c->next_woken;
                break;
            }
    if (c->prev)
        c->prev->next = c->next;
    else
        d->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    db_buf_free(&c->out);
    free(c);
}

void *db_client_io(const db_client *c) { return c->io; }
const char *db_output(db_client *c, size_t *len)
{
    *len = c->batch_cmds >= 0 ? c->batch_start : c->out.len;
    return c->out.buf;
}

size_t db_output_size(const db_client *c) { return c->out.len; }

void db_output_consumed(db_client *c, size_t n)
{
    if (n >= c->out.len) {
        c->out.len = 0;
        if (c->out.cap > (1u << 20)) /* give a big buffer back once drained */
            db_buf_free(&c->out);
    } else {
        memmove(c->out.buf, c->out.buf + n, c->out.len - n);
        c->out.len -= n;
    }
    if (c->batch_cmds >= 0)
        c->batch_start = c->batch_start > n ? c->batch_start - n : 0;
}

int db_client_closing(const db_client *c) { return (c->flags & DB_CLIENT_CLOSE) != 0; }
int db_client_blocked(const db_client *c) { return (c->flags & DB_CLIENT_BLOCKED) != 0; }

void db_protocol_error(db_client *c, const char *what)
{
    reply_errorf(c, "ERR Protocol error: %s", what);
    c->flags |= DB_CLIENT_CLOSE;
}

db_client *db_next_woken(db *d)
{
    db_client *c = d->woken;
    if (c) {
        d->woken = c->next_woken;
        c->next_woken = NULL;
        c->woken = 0;
    }
    return c;
}

void db_wake(db_client *c)
{
    if (c->woken)
        return;
    c->woken = 1;
    c->next_woken = c->db->woken;
    c->db->woken = c;
}

/* --- batches ------------------------------------------------------------ */

/* Joins the current batch (beginning it if needed); 0, or -1 with the
 * batch failed. */
int db_batch_join(db_client *c)
{
    db *d = c->db;
    if (!d->txn) {
        int rc = mdb_txn_begin(d->env, NULL, 0, &d->txn);
        if (rc) {
            d->txn = NULL;
            snprintf(d->batch_error, sizeof d->batch_error, "ERR storage error: %s", mdb_strerror(rc));
            d->batch_failed = 1;
        }
    }
    if (c->batch_cmds < 0) {
        if (d->nbatch == d->capbatch) {
            d->capbatch = d->capbatch ? 2 * d->capbatch : 64;
            d->batch = realloc(d->batch, d->capbatch * sizeof *d->batch);
        }
        d->batch[d->nbatch++] = c;
        c->batch_start = c->out.len;
        c->batch_cmds = 0;
    }
    c->txn = d->txn;
    c->now_ms = now_ms();
    return d->batch_failed ? -1 : 0;
}

int db_commit(db *d)
{
    db_signal_touched(d); /* whatever wrote outside a command */
    if (!d->txn && !d->batch_failed && !d->nbatch)
        return 0;
    int rc = 0;
    if (d->txn && !d->batch_failed) {
        rc = mdb_txn_commit(d->txn);
        if (rc) {
            snprintf(d->batch_error, sizeof d->batch_error, "ERR storage error: %s", mdb_strerror(rc));
            d->batch_failed = 1;
        }
    } else if (d->txn) {
        mdb_txn_abort(d->txn);
    }
    d->txn = NULL;
    d->cursor = NULL; /* LMDB closed it with the transaction */
    d->last_meta.valid = 0;
    int failed = d->batch_failed;
    if (failed)
        d->epoch_dbno = 0;
    for (size_t i = 0; i < d->nbatch; i++) {
        db_client *c = d->batch[i];
        if (!c)
            continue;
        if (failed) { /* nothing of the batch happened: say so to every command */
            c->out.len = c->batch_start;
            for (int k = 0; k < c->batch_cmds; k++)
                reply_error(c, d->batch_error);
        }
        c->batch_cmds = -1;
        c->txn = NULL;
    }
    d->nbatch = 0;
    d->batch_failed = 0;
    return failed ? -1 : 0;
}

/* Tokens expire on open connections too: such a client is closed (its
 * pending replies are written first). */
static void close_expired(db *d, int64_t now)
{
    for (db_client *c = d->clients; c; c = c->next)
        if (c->user_ok && c->auth_expires_ms && c->auth_expires_ms <= now && !(c->flags & DB_CLIENT_CLOSE)) {
            c->flags |= DB_CLIENT_CLOSE;
            if (c->io)
                db_wake(c);
        }
}

void db_tick(db *d)
{
    static db_client sys; /* the node itself, for expiry */
    sys.db = d;
    sys.read_epoch = UINT32_MAX;
    sys.batch_cmds = -1;
    if (db_batch_join(&sys) == 0) {
        db_expire_due(&sys, 200);
        db_signal_touched(d);
        db_block_timeouts(d, sys.now_ms);
    }
    close_expired(d, now_ms());
    /* sys is not a real client: take it out of the batch list */
    for (size_t i = 0; i < d->nbatch; i++)
        if (d->batch[i] == &sys)
            d->batch[i] = NULL;
    sys.batch_cmds = -1;
    db_buf_free(&sys.out);
    if (d->sync == DB_SYNC_EVERYSEC && sys.now_ms - d->last_sync_ms >= 1000) {
        db_commit(d);
        mdb_env_sync(d->env, 1);
        d->last_sync_ms = sys.now_ms;
    }
}

/* --- dispatch ----------------------------------------------------------- */

static void reply_unknown_command(db_client *c)
{
    db_buf msg = {0};
    db_buf_printf(&msg, "ERR unknown command '%.*s', with args beginning with: ", (int)(c->argvlen[0] > 128 ? 128 : c->argvlen[0]),
                  c->argv[0]);
    for (int i = 1; i < c->argc && msg.len < 128; i++)
        db_buf_printf(&msg, "'%.*s' ", (int)(c->argvlen[i] > 128 ? 128 : c->argvlen[i]), c->argv[i]);
    db_buf_append(&msg, "", 1);
    reply_error(c, msg.buf);
    db_buf_free(&msg);
}

int db_work(db_client *c, uint64_t steps)
{
    c->cmd_steps += steps;
    c->turn_steps += steps;
    if (c->stopped)
        return 1;
    if (c->cmd_steps <= DB_COMMAND_MAX_STEPS && (!c->turn_limit || c->turn_steps <= c->turn_limit))
        return 0;
    if (!c->cmd || (c->cmd->flags & CMD_WRITE))
        return 0; /* a write is not stopped halfway: its work is bounded by what was written before */
    c->stopped = c->over_budget = 1;
    return 1;
}

static uint64_t work_left(const db_client *c)
{
    uint64_t left = c->cmd_steps < DB_COMMAND_MAX_STEPS ? DB_COMMAND_MAX_STEPS - c->cmd_steps : 0;
    if (c->turn_limit) {
        uint64_t turn = c->turn_steps < c->turn_limit ? c->turn_limit - c->turn_steps : 0;
        left = turn < left ? turn : left;
    }
    return left;
}

int db_glob(db_client *c, const char *pat, size_t patlen, const void *s, size_t slen)
{
    uint64_t tests = 0;
    int m = glob_match_within(pat, patlen, s, slen, 0, (work_left(c) + 1) * DB_GLOB_TESTS_PER_STEP, &tests);
    if (db_work(c, tests / DB_GLOB_TESTS_PER_STEP + (m < 0)))
        return 0;
    return m == 1;
}

/* The store hook's word on a write: 0 to go on, -1 after replying why not. */
static int store_allowed(db_client *c)
{
    size_t bytes = 0;
    for (int i = 1; i < c->argc; i++)
        bytes += c->argvlen[i];
    char err[512];
    if (c->db->hooks.store(c->db->hooks.arg, c, bytes, err, sizeof err) == 0)
        return 0;
    reply_error(c, err);
    return -1;
}

void db_call(db_client *c, const struct db_command *cmd)
{
    if ((cmd->flags & CMD_WRITE) && !c->readonly && c->db->hooks.store && store_allowed(c) != 0)
        return;
    c->cmd = cmd;
    c->cmd_steps = 0;
    c->stopped = 0;
    size_t start = c->out.len;
    if (!c->readonly)
        c->write_epoch = db_epoch(c, c->dbno);
    cmd->proc(c);
    db_signal_touched(c->db);
    c->db->stat_commands++;
    if (c->stopped && !(c->flags & DB_CLIENT_OVERFLOW)) { /* its partial reply goes: an error says why */
        c->out.len = start;
        reply_errorf(c, "ERR %s stopped after %d steps of work%s (entries visited): read big keys and keyspaces "
                        "in parts with SCAN, SSCAN, HSCAN, ZSCAN, LRANGE or ZRANGE ... LIMIT",
                     cmd->name, c->turn_limit && c->turn_steps > c->turn_limit ? (int)c->turn_limit : DB_COMMAND_MAX_STEPS,
                     c->turn_limit && c->turn_steps > c->turn_limit ? " in one call" : "");
    }
    c->stopped = 0;
}

/* Whether the connection's rights refuse cmd on the selected database: the
 * error is replied and its kind returned, else NULL. One rule for commands
 * run at once and for those EXEC runs (a queued SELECT changes rights). */
const char *db_denied(db_client *c, const struct db_command *cmd)
{
    const char *where = c->mid[0] ? c->mid : "this database";
    if ((cmd->flags & CMD_WRITE) && c->readonly) {
        reply_error(c, "READONLY You can't write against a read only version (SELECT MID@N).");
        return "readonly";
    }
    if ((cmd->flags & CMD_WRITE) && !c->may_write) {
        reply_errorf(c, "NOPERM this connection may not write to %s", where);
        return "noperm";
    }
    if ((cmd->flags & (CMD_READONLY | CMD_WRITE)) && !c->may_read) {
        reply_errorf(c, "NOPERM this connection may not read %s", where);
        return "noperm";
    }
    return NULL;
}

void db_exec(db_client *c, int argc, const char **argv, const size_t *argvlen)
{
    c->argc = argc;
    c->argv = argv;
    c->argvlen = argvlen;
    if (argc == 0)
        return;
    int joined = db_batch_join(c);
    c->batch_cmds++;
    c->turn_steps++;
    c->last_ms = c->now_ms;
    if (joined < 0) {
        reply_error(c, c->db->batch_error);
        return;
    }
    const struct db_command *cmd = db_find_visible(c, argv[0], argvlen[0]);
    if (!cmd) {
        if (c->flags & DB_CLIENT_MULTI)
            c->flags |= DB_CLIENT_DIRTY_EXEC;
        reply_unknown_command(c);
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        if (c->flags & DB_CLIENT_MULTI)
            c->flags |= DB_CLIENT_DIRTY_EXEC;
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    if (!(c->flags & DB_CLIENT_OWNER) && !c->user_ok && !(cmd->flags & CMD_NOAUTH)) {
        if (c->flags & DB_CLIENT_MULTI)
            c->flags |= DB_CLIENT_DIRTY_EXEC;
        reply_error(c, "NOAUTH Authentication required.");
        return;
    }
    /* rights first, also for commands MULTI queues: EXEC would run them */
    const char *denied = db_denied(c, cmd);
    if (denied) {
        if (c->flags & DB_CLIENT_MULTI)
            c->flags |= DB_CLIENT_DIRTY_EXEC;
        return;
    }
    if ((c->flags & DB_CLIENT_MULTI) && !(cmd->flags & CMD_NOMULTI)) {
        db_multi_queue(c, cmd);
        reply_status(c, "QUEUED");
        return;
    }
    db_call(c, cmd);
    db_serve_blocked(c->db);
}

int db_command_embeddable(const char *name, size_t len)
{
    const struct db_command *cmd = db_find_command(name, len);
    return cmd && !(cmd->flags & (CMD_BLOCKING | CMD_ADMIN | CMD_NOSCRIPT | CMD_INTERNAL));
}

int db_command_internal(const char *name, size_t len)
{
    const struct db_command *cmd = db_find_command(name, len);
    return cmd && (cmd->flags & CMD_INTERNAL);
}

void db_client_set_internal(db_client *c, int internal) { c->internal = internal; }

int db_command_writes(const char *name, size_t len)
{
    const struct db_command *cmd = db_find_command(name, len);
    return cmd && (cmd->flags & CMD_WRITE);
}
