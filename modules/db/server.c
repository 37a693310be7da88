/* server: connection and server commands (PING ... INFO, CONFIG, COMMAND). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define COMPAT_VERSION "7.0.0" /* the Redis version whose behaviour we follow */

static void cmd_ping(db_client *c)
{
    if (c->argc > 2)
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", "ping");
    else if (c->argc == 2)
        reply_bulk(c, ARG(1));
    else
        reply_status(c, "PONG");
}

static void cmd_echo(db_client *c) { reply_bulk(c, ARG(1)); }

static void cmd_quit(db_client *c)
{
    reply_ok(c);
    c->flags |= DB_CLIENT_CLOSE;
}

/* Selects target ("0", "MID" or "MID@N") through the select hook, the one
 * place that decides what this client may read and write there: SELECT,
 * RESET, a SELECT queued in MULTI and a new identity (AUTH) all come here.
 * 0, or -1 with a Redis error in err (the selection unchanged). */
static int select_db(db_client *c, const char *target, size_t len, char *err, size_t errlen)
{
    char mid[64];
    uint32_t dbno, version;
    int may_write = 0;
    if (len >= sizeof mid || !c->db->hooks.select) {
        snprintf(err, errlen, "ERR DB index is out of range");
        return -1;
    }
    memcpy(mid, target, len);
    mid[len] = '\0';
    int had_read = c->may_read;
    c->may_read = 1; /* the hook lowers it (SELECT 0 of a default database the client may not read) */
    if (c->db->hooks.select(c->db->hooks.arg, c, mid, &dbno, &version, &may_write, err, errlen) != 0) {
        c->may_read = had_read;
        return -1;
    }
    c->dbno = dbno;
    c->read_epoch = version ? version : UINT32_MAX;
    c->readonly = version != 0;
    c->may_write = may_write && !version;
    snprintf(c->mid, sizeof c->mid, "%s", strcmp(mid, "0") ? mid : "");
    return 0;
}

/* The default database, with the rights the hook gives there: none, not
 * even reading, if it refuses (without hooks, a db without a node, there is
 * only its owner). */
static void select_default(db_client *c)
{
    char err[256];
    if (!c->db->hooks.select || select_db(c, "0", 1, err, sizeof err) != 0) {
        c->dbno = c->db->default_dbno;
        c->read_epoch = UINT32_MAX;
        c->readonly = 0;
        c->may_write = c->may_read = !c->db->hooks.select;
        c->mid[0] = '\0';
    }
}

static int do_auth(db_client *c, const char *user, size_t ulen, const char *token, size_t tlen)
{
    char u[256] = "", t[1024];
    char err[256] = "WRONGPASS invalid username-password pair or user is disabled.";
    if (ulen >= sizeof u || tlen >= sizeof t || !c->db->hooks.auth) {
        reply_error(c, err);
        return -1;
    }
    memcpy(u, user, ulen);
    u[ulen] = '\0';
    memcpy(t, token, tlen);
    t[tlen] = '\0';
    if (c->db->hooks.auth(c->db->hooks.arg, c, u, t, err, sizeof err) != 0) {
        reply_error(c, err);
        return -1;
    }
    c->user_ok = 1;
    /* a new identity: what it may do on the selected database is decided
     * again (the default database if it may not read that one) */
    char mid[64];
    snprintf(mid, sizeof mid, "%s", c->mid[0] ? c->mid : "0");
    if (select_db(c, mid, strlen(mid), err, sizeof err) != 0)
        select_default(c);
    return 0;
}

static void cmd_auth(db_client *c)
{
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int has_user = c->argc == 3;
    if (do_auth(c, has_user ? c->argv[1] : "", has_user ? c->argvlen[1] : 0, c->argv[c->argc - 1],
                c->argvlen[c->argc - 1]) == 0)
        reply_ok(c);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]] */
static void cmd_hello(db_client *c)
{
    long long ver = c->resp;
    int i = 1;
    if (c->argc >= 2) {
        if (parse_ll(ARG(1), &ver) != 0) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    const char *name = NULL;
    size_t namelen = 0;
    for (; i < c->argc; i++) {
        if (arg_is(c, i, "auth") && i + 2 < c->argc) {
            if (do_auth(c, ARG(i + 1), ARG(i + 2)) < 0)
                return;
            i += 2;
        } else if (arg_is(c, i, "setname") && i + 1 < c->argc) {
            name = c->argv[i + 1], namelen = c->argvlen[i + 1];
            i++;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)c->argvlen[i], c->argv[i]);
            return;
        }
    }
    if (!(c->flags & DB_CLIENT_OWNER) && !c->user_ok) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                       "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
                       "RESP protocol version at the same time");
        return;
    }
    if (name) {
        size_t n = namelen < sizeof c->name ? namelen : sizeof c->name - 1;
        memcpy(c->name, name, n);
        c->name[n] = '\0';
    }
    c->resp = (int)ver;
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, COMPAT_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, ver);
    reply_bulk_cstr(c, "id");
    reply_int(c, c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

static void client_info(db_client *c, db_client *x, db_buf *b)
{
    db_buf_printf(b, "id=%lld addr=local name=%s age=%lld idle=%lld db=0 sub=0 psub=0 multi=%d qbuf=0 obl=0 oll=0 omem=%zu "
                     "flags=%s cmd=%s resp=%d mimei=%s\n",
                  x->id, x->name, (long long)((c->now_ms - x->created_ms) / 1000),
                  (long long)((c->now_ms - x->last_ms) / 1000), (x->flags & DB_CLIENT_MULTI) ? 0 : -1, x->out.len,
                  (x->flags & DB_CLIENT_BLOCKED) ? "b" : "N", x->cmd ? x->cmd->name : "NULL", x->resp,
                  x->mid[0] ? x->mid : "default");
}

/* Admin subcommands act on the whole node: its owner's only. */
static int owner_only(db_client *c, const char *what)
{
    if (c->flags & DB_CLIENT_OWNER)
        return 0;
    reply_errorf(c, "NOPERM this user has no permissions to run the '%s' command (the node owner's only)", what);
    return -1;
}

/* CLIENT KILL ID id [SKIPME yes|no] ... : the number of clients closed */
static void client_kill(db_client *c)
{
    long long id = -1;
    int skipme = 1;
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_is(c, i, "id")) {
            if (parse_ll(ARG(i + 1), &id) != 0 || id < 1) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (arg_is(c, i, "skipme")) {
            if (!arg_is(c, i + 1, "yes") && !arg_is(c, i + 1, "no")) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
            skipme = arg_is(c, i + 1, "yes");
        } else {
            reply_error(c, ERR_SYNTAX); /* only the ID filter here */
            return;
        }
    }
    long long n = 0;
    for (db_client *x = c->db->clients; x; x = x->next)
        if (x->io && (id < 0 || x->id == id) && !(skipme && x == c)) {
            x->flags |= DB_CLIENT_CLOSE; /* closed once its pending replies are out */
            if (x != c)
                db_wake(x);
            n++;
        }
    reply_int(c, n);
}

static void cmd_client(db_client *c)
{
    if (arg_is(c, 1, "list") && owner_only(c, "client|list"))
        return;
    if (arg_is(c, 1, "kill") && owner_only(c, "client|kill"))
        return;
    if (arg_is(c, 1, "kill") && c->argc >= 4) {
        client_kill(c);
    } else if (arg_is(c, 1, "id") && c->argc == 2) {
        reply_int(c, c->id);
    } else if (arg_is(c, 1, "getname") && c->argc == 2) {
        c->name[0] ? reply_bulk_cstr(c, c->name) : reply_null(c);
    } else if (arg_is(c, 1, "setname") && c->argc == 3) {
        for (size_t i = 0; i < c->argvlen[2]; i++)
            if (c->argv[2][i] <= ' ' || c->argv[2][i] > '~') {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        size_t n = c->argvlen[2] < sizeof c->name ? c->argvlen[2] : sizeof c->name - 1;
        memcpy(c->name, c->argv[2], n);
        c->name[n] = '\0';
        reply_ok(c);
    } else if ((arg_is(c, 1, "list") && c->argc == 2) || (arg_is(c, 1, "info") && c->argc == 2)) {
        db_buf b = {0};
        if (arg_is(c, 1, "info"))
            client_info(c, c, &b);
        else
            for (db_client *x = c->db->clients; x; x = x->next)
                client_info(c, x, &b);
        reply_bulk(c, b.buf, b.len);
        db_buf_free(&b);
    } else if (arg_is(c, 1, "setinfo") && c->argc == 4) {
        reply_ok(c);
    } else if (arg_is(c, 1, "help")) {
        reply_array(c, 4);
        reply_status(c, "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        reply_status(c, "ID, GETNAME, SETNAME <name>, LIST, INFO, KILL ID <id>");
        reply_status(c, "HELP");
        reply_status(c, "    Print this help.");
    } else {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CLIENT HELP.",
                     (int)c->argvlen[1], c->argv[1]);
    }
}

static void command_entry(db_client *c, const struct db_command *cmd)
{
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_int(c, cmd->arity);
    static const struct {
        int flag;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
                 {CMD_ADMIN, "admin"},     {CMD_FAST, "fast"},         {CMD_BLOCKING, "blocking"},
                 {CMD_NOAUTH, "no_auth"},  {CMD_NOMULTI, "no_multi"}};
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        n += (cmd->flags & names[i].flag) != 0;
    reply_set(c, n);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (cmd->flags & names[i].flag)
            reply_status(c, names[i].name);
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    reply_set(c, 0); /* ACL categories */
    reply_set(c, 0); /* tips */
    reply_array(c, 0); /* key specs */
    reply_array(c, 0); /* subcommands */
}

static void cmd_command(db_client *c)
{
    if (c->argc == 1) {
        reply_array(c, (long)db_command_count());
        for (size_t i = 0; i < db_command_count(); i++)
            command_entry(c, db_command_at(i));
    } else if (arg_is(c, 1, "count") && c->argc == 2) {
        reply_int(c, (long long)db_command_count());
    } else if (arg_is(c, 1, "info")) {
        reply_array(c, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            const struct db_command *cmd = db_find_visible(c, ARG(i));
            cmd ? command_entry(c, cmd) : reply_null_array(c);
        }
    } else if (arg_is(c, 1, "docs")) {
        /* no per-command docs here: answered as Redis 6 answers, so that
         * redis-cli uses its own help table for its hints */
        reply_error(c, "ERR unknown subcommand 'DOCS'. Try COMMAND HELP.");
    } else if (arg_is(c, 1, "list")) {
        reply_array(c, (long)db_command_count());
        for (size_t i = 0; i < db_command_count(); i++)
            reply_bulk_cstr(c, db_command_at(i)->name);
    } else if (arg_is(c, 1, "getkeys") && c->argc >= 3) {
        const struct db_command *cmd = db_find_visible(c, ARG(2));
        if (!cmd) {
            reply_error(c, "ERR Invalid command specified");
            return;
        }
        int argc = c->argc - 2, last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
        if (!cmd->first_key || last < cmd->first_key) {
            reply_error(c, "ERR The command has no key arguments");
            return;
        }
        size_t at = reply_defer(c);
        long n = 0;
        for (int i = cmd->first_key; i <= last && i < argc; i += cmd->key_step, n++)
            reply_bulk(c, ARG(i + 2));
        reply_defer_array(c, at, n);
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.", (int)c->argvlen[1], c->argv[1]);
    }
}

/* CONFIG: the parameters clients and tools ask for; others set are echoed. */
typedef struct setting {
    char *name, *value;
    struct setting *next;
} setting;

static void config_value(db_client *c, const char *name, char *out, size_t cap)
{
    for (setting *s = c->db->config; s; s = s->next)
        if (!strcasecmp(s->name, name)) {
            snprintf(out, cap, "%s", s->value);
            return;
        }
    if (!strcmp(name, "proto-max-bulk-len"))
        snprintf(out, cap, "%zu", c->db->proto_max_bulk_len);
    else if (!strcmp(name, "appendonly"))
        snprintf(out, cap, "%s", c->db->sync == DB_SYNC_NO ? "no" : "yes");
    else if (!strcmp(name, "appendfsync"))
        snprintf(out, cap, "%s", c->db->sync == DB_SYNC_ALWAYS ? "always" : c->db->sync == DB_SYNC_EVERYSEC ? "everysec" : "no");
    else if (!strcmp(name, "client-output-buffer-limit"))
        snprintf(out, cap, "normal %zu %zu 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
                 c->db->output_limit, c->db->output_limit);
    else
        out[0] = '\0';
}

static void cmd_config(db_client *c)
{
    static const char *known[] = {"save", "appendonly", "appendfsync", "databases", "maxmemory", "maxmemory-policy",
                                  "timeout", "proto-max-bulk-len", "client-output-buffer-limit", "maxclients",
                                  "tcp-keepalive", NULL};
    static const char *defaults[] = {"", NULL, NULL, "1", "0", "noeviction", "0", NULL, NULL, "10000", "300"};
    if (arg_is(c, 1, "get") && c->argc >= 3) {
        db_buf pairs = {0};
        long n = 0;
        for (int i = 2; i < c->argc; i++)
            for (int k = 0; known[k]; k++) {
                if (!glob_match(ARG(i), known[k], strlen(known[k]), 1))
                    continue;
                char v[256];
                config_value(c, known[k], v, sizeof v);
                if (!v[0] && defaults[k])
                    snprintf(v, sizeof v, "%s", defaults[k]);
                uint32_t l1 = (uint32_t)strlen(known[k]), l2 = (uint32_t)strlen(v);
                db_buf_append(&pairs, &l1, 4), db_buf_append(&pairs, known[k], l1);
                db_buf_append(&pairs, &l2, 4), db_buf_append(&pairs, v, l2);
                n++;
            }
        for (setting *s = c->db->config; s; s = s->next) { /* echoes of unknown names */
            int listed = 0;
            for (int k = 0; known[k] && !listed; k++)
                listed = !strcasecmp(known[k], s->name);
            for (int i = 2; i < c->argc && !listed; i++)
                if (glob_match(ARG(i), s->name, strlen(s->name), 1)) {
                    uint32_t l1 = (uint32_t)strlen(s->name), l2 = (uint32_t)strlen(s->value);
                    db_buf_append(&pairs, &l1, 4), db_buf_append(&pairs, s->name, l1);
                    db_buf_append(&pairs, &l2, 4), db_buf_append(&pairs, s->value, l2);
                    n++;
                    break;
                }
        }
        reply_map(c, n);
        for (size_t off = 0; off < pairs.len;) {
            uint32_t l;
            memcpy(&l, pairs.buf + off, 4);
            reply_bulk(c, pairs.buf + off + 4, l);
            off += 4 + l;
        }
        db_buf_free(&pairs);
    } else if ((arg_is(c, 1, "set") && owner_only(c, "config|set")) ||
               (arg_is(c, 1, "resetstat") && owner_only(c, "config|resetstat")) ||
               (arg_is(c, 1, "rewrite") && owner_only(c, "config|rewrite"))) {
        return;
    } else if (arg_is(c, 1, "set") && c->argc >= 4 && c->argc % 2 == 0) {
        for (int i = 2; i < c->argc; i += 2) {
            if (arg_is(c, i, "proto-max-bulk-len")) {
                long long v;
                if (parse_ll(ARG(i + 1), &v) != 0 || v < 1024) {
                    reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - argument must be "
                                    "a memory value", (int)c->argvlen[i], c->argv[i]);
                    return;
                }
                c->db->proto_max_bulk_len = (size_t)v;
                continue;
            }
            setting *s = NULL;
            for (setting *x = c->db->config; x && !s; x = x->next)
                if (strlen(x->name) == c->argvlen[i] && !strncasecmp(x->name, c->argv[i], c->argvlen[i]))
                    s = x;
            if (!s) {
                s = calloc(1, sizeof *s);
                s->name = strndup(ARG(i));
                for (char *p = s->name; *p; p++)
                    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                s->next = c->db->config;
                c->db->config = s;
            }
            free(s->value);
            s->value = strndup(ARG(i + 1));
        }
        reply_ok(c);
    } else if (arg_is(c, 1, "resetstat") && c->argc == 2) {
        c->db->stat_commands = c->db->stat_keyspace_hits = c->db->stat_keyspace_misses = 0;
        reply_ok(c);
    } else if (arg_is(c, 1, "rewrite") && c->argc == 2) {
        reply_ok(c);
    } else {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try CONFIG HELP.",
                     (int)c->argvlen[1], c->argv[1]);
    }
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static void cmd_info(db_client *c)
{
    db *d = c->db;
    db_buf b = {0};
    int all = c->argc == 1 || arg_is(c, 1, "all") || arg_is(c, 1, "everything") || arg_is(c, 1, "default");
    long clients = 0, blocked = 0;
    for (db_client *x = d->clients; x; x = x->next)
        clients++, blocked += (x->flags & DB_CLIENT_BLOCKED) != 0;
#define SECTION(name) (all || arg_is(c, 1, name))
    if (SECTION("server"))
        db_buf_printf(&b, "# Server\r\nredis_version:%s\r\nleither_db:1\r\nredis_mode:standalone\r\nos:Linux\r\n"
                          "process_id:%d\r\nuptime_in_seconds:%lld\r\nappendonly_fsync:%s\r\n\r\n",
                      COMPAT_VERSION, (int)getpid(), (long long)((c->now_ms - d->start_ms) / 1000),
                      d->sync == DB_SYNC_ALWAYS ? "always" : d->sync == DB_SYNC_EVERYSEC ? "everysec" : "no");
    if (SECTION("clients"))
        db_buf_printf(&b, "# Clients\r\nconnected_clients:%ld\r\nblocked_clients:%ld\r\n\r\n", clients, blocked);
    if (SECTION("memory")) {
        MDB_envinfo ei;
        MDB_stat st;
        mdb_env_info(d->env, &ei);
        mdb_env_stat(d->env, &st);
        long rss = rss_bytes();
        db_buf_printf(&b, "# Memory\r\nused_memory:%ld\r\nused_memory_rss:%ld\r\nused_memory_peak:%ld\r\n"
                          "lmdb_used_bytes:%zu\r\nlmdb_map_bytes:%zu\r\n\r\n",
                      rss, rss, rss, (size_t)(ei.me_last_pgno + 1) * st.ms_psize, ei.me_mapsize);
    }
    if (SECTION("stats"))
        db_buf_printf(&b, "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                          "expired_keys:%lld\r\nkeyspace_hits:%lld\r\nkeyspace_misses:%lld\r\n\r\n",
                      d->stat_connections, d->stat_commands, d->stat_expired, d->stat_keyspace_hits,
                      d->stat_keyspace_misses);
    if (SECTION("keyspace")) {
        db_iter it = {0};
        const uint8_t *key;
        size_t keylen;
        db_meta m;
        long long keys = 0, expires = 0;
        while (db_keys_next(c, &it, NULL, 0, &key, &keylen, &m))
            keys++, expires += m.expire_ms != 0;
        db_iter_close(&it);
        c->stopped = 0; /* past the work budget INFO counts only the keys it got to: a lower bound */
        db_buf_printf(&b, "# Keyspace\r\n");
        if (keys)
            db_buf_printf(&b, "db0:keys=%lld,expires=%lld,avg_ttl=0\r\n", keys, expires);
    }
#undef SECTION
    reply_bulk(c, b.buf, b.len);
    db_buf_free(&b);
}

static void cmd_memory(db_client *c)
{
    if (arg_is(c, 1, "usage") && (c->argc == 3 || c->argc == 5)) {
        db_meta m;
        const uint8_t *val;
        size_t vallen;
        if (!db_lookup(c, ARG(2), &m, &val, &vallen)) {
            reply_null(c);
            return;
        }
        long long bytes = 48 + (long long)c->argvlen[2] + (long long)vallen;
        if (m.type != DB_STRING) { /* sample up to five elements, as Redis does */
            db_iter it;
            const uint8_t *sub, *v;
            size_t sublen, vl, sampled = 0, total = 0;
            db_iter_init(&it, c, DB_REC_ELEM, ARG(2), NULL, 0, 0);
            while (sampled < 5 && db_iter_next(&it, &sub, &sublen, &v, &vl))
                total += sublen + vl + 24, sampled++;
            db_iter_close(&it);
            if (sampled)
                bytes += (long long)(total / sampled) * m.count;
        }
        reply_int(c, bytes);
    } else if (arg_is(c, 1, "stats") || arg_is(c, 1, "doctor")) {
        reply_bulk_cstr(c, "LMDB keeps the data on disk and maps it; see INFO memory.");
    } else {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try MEMORY HELP.",
                     (int)c->argvlen[1], c->argv[1]);
    }
}

static void cmd_time(db_client *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    reply_array(c, 2);
    reply_bulk_ll(c, ts.tv_sec);
    reply_bulk_ll(c, ts.tv_nsec / 1000);
}

static void cmd_flushall(db_client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "async") && !arg_is(c, 1, "sync"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    db_flush_selected(c); /* the selected database only: others are other MiMei */
    reply_ok(c);
}

/* SELECT MID | MID@N | 0 (the default database) */
static void cmd_select(db_client *c)
{
    char err[256];
    if (select_db(c, ARG(1), err, sizeof err) != 0)
        reply_error(c, err);
    else
        reply_ok(c);
}

/* RESET keeps who the client is (AUTH stays) but leaves everything else as
 * a new connection has it: the default database, with the rights the hook
 * gives this identity there. */
static void cmd_reset(db_client *c)
{
    db_multi_reset(c);
    db_unwatch_all(c);
    c->resp = 2;
    c->name[0] = '\0';
    select_default(c);
    reply_status(c, "RESET");
}

const struct db_command db_server_commands[] = {
    {"ping", cmd_ping, -1, CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT, 0, 0, 0},
    {"echo", cmd_echo, 2, CMD_FAST, 0, 0, 0},
    {"quit", cmd_quit, -1, CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_NOMULTI, 0, 0, 0},
    {"auth", cmd_auth, -2, CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_NOMULTI, 0, 0, 0},
    {"hello", cmd_hello, -1, CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_NOMULTI, 0, 0, 0},
    {"client", cmd_client, -2, CMD_ADMIN, 0, 0, 0},
    {"command", cmd_command, -1, 0, 0, 0, 0},
    {"config", cmd_config, -2, CMD_ADMIN, 0, 0, 0},
    {"info", cmd_info, -1, 0, 0, 0, 0},
    {"memory", cmd_memory, -2, CMD_READONLY | CMD_WRITER_ONLY, 0, 0, 0},
    {"time", cmd_time, 1, CMD_FAST, 0, 0, 0},
    {"flushall", cmd_flushall, -1, CMD_WRITE, 0, 0, 0},
    {"select", cmd_select, 2, CMD_FAST | CMD_NOSCRIPT, 0, 0, 0},
    {"reset", cmd_reset, 1, CMD_FAST | CMD_NOAUTH | CMD_NOSCRIPT | CMD_NOMULTI, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
