/*
 * mimei commands: create, show, chmod, backup, grep; and lpki token.
 * They talk to the node's databases over the Redis protocol (hiredis): from
 * loopback as the owner, or with -k KEYFILE as that key (AUTH with a token).
 */
#include "node.h"
#include "cli.h"
#include "db.h"
#include "mimei.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Connects to the node of home h; with -k, authenticates as that key. */
static redisContext *connect_db(const cli_args *a, const home *h)
{
    const char *host = h->listen;
    if (!strcmp(host, "::") || !strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    struct timeval tv = {5, 0};
    redisContext *rc = redisConnectWithTimeout(host, h->db_port, tv);
    if (!rc || rc->err) {
        cli_fail("cannot reach the node's databases at %s:%d: %s (is it running?)", host, h->db_port,
                 rc ? rc->errstr : "out of memory");
        if (rc)
            redisFree(rc);
        return NULL;
    }
    if (a->key || h->db_auth_required) {
        ids_key key;
        if (cli_load_key(a, h, &key)) {
            redisFree(rc);
            return NULL;
        }
        char token[AUTH_TOKEN_MAX];
        auth_token_make(token, sizeof token, &key, (int64_t)time(NULL) + 300);
        redisReply *r = redisCommand(rc, "AUTH %s", token);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        if (bad)
            cli_fail("AUTH: %s", r ? r->str : rc->errstr);
        freeReplyObject(r);
        if (bad) {
            redisFree(rc);
            return NULL;
        }
    }
    return rc;
}

/* connect_db for the home the command names. */
static redisContext *open_db(const cli_args *a)
{
    home h;
    if (cli_load_home(a, &h))
        return NULL;
    redisContext *ctx = connect_db(a, &h);
    home_free(&h);
    return ctx;
}

/* Runs a command; prints the error and returns NULL when it failed. */
static redisReply *call(redisContext *rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    if (!r) {
        cli_fail("the node closed the connection: %s", rc->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        cli_fail("%s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int mimei_register(const cli_args *a, const home *h, const json_t *info)
{
    redisContext *ctx = connect_db(a, h);
    if (!ctx)
        return 1;
    char *text = json_dumps(info, JSON_COMPACT);
    redisReply *r = call(ctx, "MM.CREATE %s", text);
    free(text);
    freeReplyObject(r);
    redisFree(ctx);
    return r ? 0 : 1;
}

int cmd_mimei_create(const cli_args *a)
{
    home h;
    ids_key key;
    const char *type = a->type ? a->type : "file";
    if (strcmp(type, "db") && strcmp(type, "file") && strcmp(type, "app"))
        return cli_fail("-t must be db, file or app, not '%s'", type);
    if (a->app && !ids_is_leither_id(a->app))
        return cli_fail("-a needs an app's ID (27 characters, as lapp uploadapp prints it), not '%s'", a->app);
    if (cli_load_home(a, &h))
        return 1;
    int rc = 1;
    if (!cli_load_key(a, &h, &key)) {
        json_t *info = mimei_new(&key, type, a->ext ? a->ext : "", a->app ? a->app : "",
                                 a->public ? MIMEI_RIGHT_READ : MIMEI_DEFAULT_RIGHT);
        if (mimei_register(a, &h, info) == 0) {
            if (a->json)
                cli_print_json(json_incref(info));
            else
                printf("Create MiMei  ok \nmid= %s\n", mimei_str(info, "ID"));
            rc = 0;
        }
        json_decref(info);
    }
    home_free(&h);
    return rc;
}

/* mimei chmod MID public|private: the author's key re-signs the info record
 * and sends it; a granted key (for the owner's MiMei) sends none and the
 * node re-signs with its own key (api_mimei_chmod). */
int cmd_mimei_chmod(const cli_args *a)
{
    const char *mid = a->args[0], *want = a->args[1];
    if (strcmp(want, "public") && strcmp(want, "private"))
        return cli_fail("the right must be public or private, not '%s'", want);
    if (!ids_is_leither_id(mid))
        return cli_fail("'%s' is not a MiMei ID", mid);
    home h;
    ids_key key;
    if (cli_load_home(a, &h))
        return 1;
    if (cli_load_key(a, &h, &key)) {
        home_free(&h);
        return 1;
    }
    char path[256], err[1024];
    snprintf(path, sizeof path, "/api/v0/mimei/show?arg=%s", mid);
    json_t *shown = NULL, *reply = NULL;
    int status = cli_call(&h, &key, "GET", path, &shown, err, sizeof err);
    json_t *next = status == 200 ? mimei_resign(json_object_get(shown, "Info"), &key,
                                                (mimei_right(json_object_get(shown, "Info")) & ~MIMEI_RIGHT_READ) |
                                                    (!strcmp(want, "public") ? MIMEI_RIGHT_READ : 0))
                                 : NULL;
    int rc = 1;
    if (status == 200) {
        char *body = next ? json_dumps(next, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        snprintf(path, sizeof path, "/api/v0/mimei/chmod?arg=%s&right=%s", mid, want);
        status = cli_call_body(&h, &key, "POST", path, body, body ? strlen(body) : 0, &reply, err, sizeof err);
        free(body);
    }
    if (status != 200)
        cli_fail("%s", err);
    else if (a->json)
        rc = cli_print_json(json_incref(reply));
    else {
        printf("MiMeiChmod mid= %s\nright= %s\n", mid, want);
        rc = 0;
    }
    json_decref(shown), json_decref(next), json_decref(reply);
    home_free(&h);
    return rc;
}

/* A file MiMei's info and versions, from the API. */
static int show_file(const cli_args *a, json_t *r)
{
    if (a->json)
        return cli_print_json(r);
    json_t *info = json_object_get(r, "Info");
    printf("MiMeiShow mid= %s\nAuthor  : %s\nAppType : %s\nExt     : %s\nMark    : %s\nCreate  : %s\n"
           "Right   : %d\nApp     : %s\n\nfrom local\n-------------------------------------------------------------\n",
           a->args[0], mimei_str(info, "Author"), mimei_str(info, "AppType"), mimei_str(info, "Ext"),
           mimei_str(info, "Mark"), mimei_str(info, "Create"), mimei_right(info), mimei_str(info, "App"));
    const char *cur = json_string_value(json_object_get(r, "Cur"));
    printf("cur      %s\n", cur ? cur : "(empty)");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "Versions"), i, v)
        printf("%-8lld %s\n", (long long)json_integer_value(json_object_get(v, "Ver")),
               json_string_value(json_object_get(v, "Cid")));
    long long last = (long long)json_integer_value(json_object_get(r, "Last"));
    if (last)
        printf("last     %lld\n", last);
    else
        printf("no versions yet: cur only\n");
    mimei_show_net(a, a->args[0], last, json_object_get(r, "Versions"));
    printf("\nmimei show ok\n");
    json_decref(r);
    return 0;
}

static int is_file_type(const json_t *r)
{
    const char *type = mimei_str(json_object_get(r, "Info"), "AppType");
    return !strcmp(type, "file") || !strcmp(type, "app");
}

int cmd_mimei_show(const cli_args *a)
{
    json_t *file = mimei_file_show(a);
    if (file && is_file_type(file))
        return show_file(a, file);
    json_decref(file);
    redisContext *ctx = open_db(a);
    if (!ctx)
        return 1;
    const char *mid = a->args[0];
    redisReply *r = call(ctx, "MM.INFO %s", mid);
    int rc = 1;
    json_t *info = r && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;
    if (r && !info)
        cli_fail("no MiMei %s on this node", mid);
    freeReplyObject(r);
    json_t *versions = json_array();
    if (info && !strcmp(mimei_str(info, "AppType"), "db")) {
        redisReply *s = call(ctx, "SELECT %s", mid);
        redisReply *v = s ? call(ctx, "MM.VERSIONS") : NULL;
        for (size_t i = 0; v && i < v->elements; i++)
            json_array_append_new(versions, json_pack("{s:I,s:I}", "Version", v->element[i]->element[0]->integer,
                                                      "Created", v->element[i]->element[1]->integer));
        freeReplyObject(s);
        freeReplyObject(v);
    }
    if (info && a->json) {
        json_object_set(info, "Versions", versions);
        cli_print_json(json_incref(info));
        rc = 0;
    } else if (info) {
        printf("MiMeiShow mid= %s\nAuthor  : %s\nAppType : %s\nExt     : %s\nMark    : %s\nCreate  : %s\n"
               "Right   : %d\n\nfrom local\n-------------------------------------------------------------\n",
               mid, mimei_str(info, "Author"), mimei_str(info, "AppType"), mimei_str(info, "Ext"),
               mimei_str(info, "Mark"), mimei_str(info, "Create"), mimei_right(info));
        size_t i;
        json_t *v;
        json_array_foreach(versions, i, v)
        {
            time_t t = (time_t)(json_integer_value(json_object_get(v, "Created")) / 1000);
            char when[40];
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
            printf("%-8lld %s\n", (long long)json_integer_value(json_object_get(v, "Version")), when);
        }
        size_t n = json_array_size(versions);
        if (n)
            printf("last     %lld\n",
                   (long long)json_integer_value(json_object_get(json_array_get(versions, n - 1), "Version")));
        else
            printf("no versions yet: cur only\n");
        mimei_show_net(a, mid,
                       n ? (long long)json_integer_value(json_object_get(json_array_get(versions, n - 1), "Version"))
                         : 0,
                       NULL);
        printf("\nmimei show ok\n");
        rc = 0;
    }
    json_decref(versions);
    json_decref(info);
    redisFree(ctx);
    return rc;
}

int cmd_mimei_backup(const cli_args *a)
{
    json_t *file = mimei_file_show(a);
    int is_file = file && is_file_type(file);
    json_decref(file);
    if (is_file)
        return mimei_file_backup(a);
    redisContext *ctx = open_db(a);
    if (!ctx)
        return 1;
    int rc = 1;
    redisReply *s = call(ctx, "SELECT %s", a->args[0]);
    redisReply *r = s ? call(ctx, "MM.BACKUP") : NULL;
    if (r) {
        if (a->json)
            cli_print_json(json_pack("{s:s,s:I}", "ID", a->args[0], "Version", r->integer));
        else
            printf("MiMeiBackup mid= %s\nMiMeiBackup ver= %lld\n", a->args[0], r->integer);
        rc = 0;
    }
    freeReplyObject(s);
    freeReplyObject(r);
    redisFree(ctx);
    return rc;
}

/* Prints a reply in one line: strings as they are, arrays in brackets. */
static void print_value(const redisReply *r, int pairs)
{
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        fwrite(r->str, 1, r->len, stdout);
        break;
    case REDIS_REPLY_INTEGER:
        printf("%lld", r->integer);
        break;
    case REDIS_REPLY_ARRAY:
        printf(pairs ? "map[" : "[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                putchar(pairs && i % 2 ? ':' : ' ');
            print_value(r->element[i], 0);
        }
        putchar(']');
        break;
    default:
        printf("(nil)");
    }
}

int cmd_mimei_grep(const cli_args *a)
{
    redisContext *ctx = open_db(a);
    if (!ctx)
        return 1;
    char target[128];
    const char *ver = a->version ? a->version : "cur";
    if (!strcmp(ver, "last")) { /* the newest backup */
        redisReply *s = call(ctx, "SELECT %s", a->args[0]);
        redisReply *v = s ? call(ctx, "MM.VERSIONS") : NULL;
        long long last = v && v->elements ? v->element[v->elements - 1]->element[0]->integer : 0;
        freeReplyObject(s);
        freeReplyObject(v);
        if (!last) {
            redisFree(ctx);
            return cli_fail("%s has no backup yet: 'leither mimei backup %s' makes one", a->args[0], a->args[0]);
        }
        snprintf(target, sizeof target, "%s@%lld", a->args[0], last);
    } else if (!strcmp(ver, "cur")) {
        snprintf(target, sizeof target, "%s", a->args[0]);
    } else {
        snprintf(target, sizeof target, "%s@%s", a->args[0], ver);
    }
    redisReply *s = call(ctx, "SELECT %s", target);
    if (!s) {
        redisFree(ctx);
        return 1;
    }
    freeReplyObject(s);
    printf("mid: %s\nver: %s\nData Type KV\n", a->args[0], ver);
    char cursor[32] = "0";
    do {
        redisReply *r = call(ctx, "SCAN %s COUNT 1000", cursor);
        if (!r) {
            redisFree(ctx);
            return 1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *k = keys->element[i]->str;
            size_t kl = keys->element[i]->len;
            redisReply *t = redisCommand(ctx, "TYPE %b", k, kl), *v = NULL;
            const char *type = t ? t->str : "none";
            int pairs = 0;
            if (!strcmp(type, "string"))
                v = redisCommand(ctx, "GET %b", k, kl);
            else if (!strcmp(type, "hash"))
                v = redisCommand(ctx, "HGETALL %b", k, kl), pairs = 1;
            else if (!strcmp(type, "list"))
                v = redisCommand(ctx, "LRANGE %b 0 -1", k, kl);
            else if (!strcmp(type, "set"))
                v = redisCommand(ctx, "SMEMBERS %b", k, kl);
            else if (!strcmp(type, "zset"))
                v = redisCommand(ctx, "ZRANGE %b 0 -1 WITHSCORES", k, kl), pairs = 1;
            fwrite(k, 1, kl, stdout);
            printf("\t%s\t", type);
            if (v)
                print_value(v, pairs);
            putchar('\n');
            freeReplyObject(t);
            freeReplyObject(v);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    redisFree(ctx);
    return 0;
}

int cmd_lpki_token(const cli_args *a)
{
    ids_key key;
    if (cli_signing_key(a, &key))
        return 1;
    long long ttl = 24 * 3600;
    if (a->version) { /* --ttl SECONDS shares the -v slot */
        char *end;
        ttl = strtoll(a->version, &end, 10);
        if (*end || ttl <= 0)
            return cli_fail("--ttl needs a number of seconds");
    }
    char token[AUTH_TOKEN_MAX];
    int64_t exp = (int64_t)time(NULL) + ttl;
    auth_token_make(token, sizeof token, &key, exp);
    if (a->json) {
        char lid[IDS_LID_LEN + 1];
        ids_leither_id(lid, key.pk);
        return cli_print_json(json_pack("{s:s,s:s,s:I}", "Token", token, "ID", lid, "Expires", (json_int_t)exp));
    }
    printf("%s\n", token);
    return 0;
}

/* The owner's database MiMei registered first (the lowest number): the
 * default init made, when SystemVars.json was lost but data/ was not. */
struct first_db {
    db *d;
    const char *owner;
    char mid[IDS_LID_LEN + 1];
    uint32_t dbno;
};

static int find_first_db(void *arg, const char *mid, const char *text, size_t len)
{
    struct first_db *f = arg;
    json_t *info = json_loadb(text, len, 0, NULL);
    uint32_t dbno;
    /* an app's database (mark "appdb:") is never the default */
    if (info && !strcmp(mimei_str(info, "AppType"), "db") && !strcmp(mimei_str(info, "Author"), f->owner) &&
        strncmp(mimei_str(info, "Mark"), MIMEI_APPDB_MARK, strlen(MIMEI_APPDB_MARK)) &&
        db_mimei_get(f->d, mid, NULL, &dbno) && (!f->mid[0] || dbno < f->dbno)) {
        snprintf(f->mid, sizeof f->mid, "%s", mid);
        f->dbno = dbno;
    }
    json_decref(info);
    return 0;
}

/* init's part: the owner's default database MiMei, made once. */
int mimei_init_default(home *h, const ids_key *key)
{
    if (json_string_value(json_object_get(h->doc, "db_default")))
        return 0;
    char dir[PATH_MAX + 32], err[512];
    home_path(h, dir, sizeof dir, "data");
    db *d = db_open(dir, DB_SYNC_ALWAYS, err, sizeof err);
    if (!d)
        return cli_fail("%s", err);
    char owner[IDS_LID_LEN + 1];
    ids_leither_id(owner, key->pk);
    struct first_db found = {.d = d, .owner = owner};
    db_mimei_each(d, find_first_db, &found);
    if (found.mid[0]) { /* the settings were lost, not the data: keep it */
        db_close(d);
        json_object_set_new(h->doc, "db_default", json_string(found.mid));
        return 0;
    }
    json_t *info = mimei_new(key, "db", "", "", MIMEI_DEFAULT_RIGHT);
    char *text = json_dumps(info, JSON_COMPACT);
    uint32_t dbno;
    int rc = db_mimei_register(d, mimei_str(info, "ID"), text, &dbno, err, sizeof err);
    db_close(d);
    free(text);
    if (rc == 0)
        json_object_set_new(h->doc, "db_default", json_string(mimei_str(info, "ID")));
    json_decref(info);
    return rc ? cli_fail("%s", err) : 0;
}
