/* keyspace: commands on keys of any type (Redis's db.c and expire.c). */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(int type)
{
    switch (type) {
    case DB_STRING: return "string";
    case DB_LIST: return "list";
    case DB_SET: return "set";
    case DB_ZSET: return "zset";
    case DB_HASH: return "hash";
    default: return "none";
    }
}

static void cmd_del(db_client *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += db_delete(c, ARG(i)) > 0;
    reply_int(c, n);
}

static void cmd_exists(db_client *c)
{
    long long n = 0;
    db_meta m;
    for (int i = 1; i < c->argc; i++)
        n += db_lookup(c, ARG(i), &m, NULL, NULL);
    reply_int(c, n);
}

static void cmd_type(db_client *c)
{
    db_meta m;
    reply_status(c, db_lookup(c, ARG(1), &m, NULL, NULL) ? type_name(m.type) : "none");
}

static void rename_generic(db_client *c, int nx)
{
    db_meta m;
    if (!db_lookup(c, ARG(1), &m, NULL, NULL)) {
        reply_error(c, ERR_NOKEY);
        return;
    }
    int same = c->argvlen[1] == c->argvlen[2] && !memcmp(c->argv[1], c->argv[2], c->argvlen[1]);
    if (nx && db_lookup(c, ARG(2), &m, NULL, NULL)) {
        reply_int(c, 0);
        return;
    }
    if (!same) {
        db_copy_key(c, ARG(1), ARG(2));
        db_delete(c, ARG(1));
    }
    if (nx)
        reply_int(c, !same);
    else
        reply_ok(c);
}

static void cmd_rename(db_client *c) { rename_generic(c, 0); }
static void cmd_renamenx(db_client *c) { rename_generic(c, 1); }

static void cmd_keys(db_client *c)
{
    db_iter it = {0};
    const uint8_t *key;
    size_t keylen;
    db_meta m;
    long n = 0;
    size_t at = reply_defer(c);
    int all = c->argvlen[1] == 1 && c->argv[1][0] == '*';
    while (db_keys_next(c, &it, NULL, 0, &key, &keylen, &m))
        if (all || db_glob(c, ARG(1), key, keylen)) {
            reply_bulk(c, key, keylen);
            n++;
        }
    db_iter_close(&it);
    reply_defer_array(c, at, n);
}

/* --- SCAN HSCAN SSCAN ZSCAN: scan_generic ------------------------------------ */

/* Redis's parseScanCursorOrReply: strtoull over the whole argument, no
 * leading space, not out of range ("-1" and "+7" are numbers too). */
static int parse_scan_cursor(db_client *c, int i, unsigned long long *out)
{
    char stack[64];
    db_buf text = DB_BUF_STACK(stack);
    db_buf_append(&text, ARG(i));
    db_buf_append(&text, "", 1);
    char *end;
    errno = 0;
    *out = strtoull(text.buf, &end, 10);
    int ok = !isspace((unsigned char)text.buf[0]) && end == text.buf + c->argvlen[i] && errno != ERANGE;
    db_buf_free(&text);
    return ok ? 0 : -1;
}

/* A scan's position: the last entry visited, after a marker byte (the
 * empty name is an entry too); empty: from the start. */
#define SCAN_POS_MARK 'P'

/* The next entry of a scan: the keys, or the collection's records, after
 * the position (exclusive). */
static int scan_next(db_client *c, const scan_spec *spec, db_iter *it, int whole, const db_buf *pos,
                     const uint8_t **sub, size_t *sublen, const uint8_t **val, size_t *vallen, db_meta *meta)
{
    const char *after = pos->len ? pos->buf + 1 : NULL;
    size_t afterlen = pos->len ? pos->len - 1 : 0;
    if (spec->type == DB_NONE) {
        *val = NULL, *vallen = 0;
        return db_keys_next(c, it, after, afterlen, sub, sublen, meta);
    }
    if (!it->c)
        db_iter_init(it, c, whole ? spec->whole_kind : spec->kind, ARG(1), after, afterlen, 0);
    while (db_iter_next(it, sub, sublen, val, vallen))
        if (!after || *sublen != afterlen || memcmp(*sub, after, afterlen))
            return 1;
    return 0;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], and
 * HSCAN/SSCAN/ZSCAN key cursor [MATCH pattern] [COUNT count]. */
void scan_generic(db_client *c, const scan_spec *spec)
{
    int keyspace = spec->type == DB_NONE, cursor_arg = keyspace ? 1 : 2;
    unsigned long long cursor;
    if (parse_scan_cursor(c, cursor_arg, &cursor) < 0) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    db_meta m = {0};
    if (!keyspace) {
        int r = db_lookup_type(c, ARG(1), spec->type, &m);
        if (r < 0)
            return;
        if (r == 0) { /* a missing key scans as an empty one */
            reply_array(c, 2);
            reply_bulk_cstr(c, "0");
            reply_array(c, 0);
            return;
        }
    }
    const char *pat = NULL;
    size_t patlen = 0;
    long long count = 10;
    int type = -1;
    for (int i = cursor_arg + 1; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_is(c, i, "match")) {
            pat = c->argv[i + 1], patlen = c->argvlen[i + 1];
            if (patlen == 1 && pat[0] == '*')
                pat = NULL;
        } else if (arg_is(c, i, "count")) {
            if (arg_ll(c, i + 1, &count) < 0)
                return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (keyspace && arg_is(c, i, "type")) {
            static const char *names[] = {"string", "list", "set", "zset", "hash"};
            type = 0; /* an unknown type matches nothing */
            for (int t = 0; t < 5; t++)
                if (arg_is(c, i + 1, names[t]))
                    type = t + 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }

    int whole = !keyspace && m.count <= spec->whole;
    db_buf pos = {0}, found = {0};
    if (cursor && !whole && (!db_cursor_get(c->db, cursor, &pos) || !pos.len || pos.buf[0] != SCAN_POS_MARK))
        pos.len = 0; /* unknown: from the start */
    db_iter it = {0};
    const uint8_t *sub, *val, *name, *value;
    size_t sublen, vallen, namelen, valuelen;
    db_meta km;
    char scratch[64];
    long n = 0;
    unsigned long long next = 0;
    for (long long visited = 0; scan_next(c, spec, &it, whole, &pos, &sub, &sublen, &val, &vallen, &km);) {
        if (!whole && visited == count) { /* more to come: the last visited is the cursor */
            next = db_cursor_put(c->db, pos.buf, pos.len);
            break;
        }
        visited++;
        if (!whole) {
            pos.len = 0;
            db_buf_append(&pos, (char[]){SCAN_POS_MARK}, 1);
            db_buf_append(&pos, sub, sublen);
        }
        value = NULL, valuelen = 0;
        if (keyspace)
            name = sub, namelen = sublen;
        else if (!spec->decode(whole, sub, sublen, val, vallen, &name, &namelen, &value, &valuelen, scratch))
            continue;
        if ((pat && !db_glob(c, pat, patlen, name, namelen)) || (type >= 0 && km.type != type))
            continue;
        uint32_t l = (uint32_t)namelen;
        db_buf_append(&found, &l, sizeof l);
        db_buf_append(&found, name, namelen);
        if (value) {
            l = (uint32_t)valuelen;
            db_buf_append(&found, &l, sizeof l);
            db_buf_append(&found, value, valuelen);
        }
        n++;
    }
    db_iter_close(&it);
    reply_array(c, 2);
    reply_bulk_ll(c, (long long)next);
    reply_array(c, keyspace || spec->type == DB_SET ? n : 2 * n);
    for (size_t off = 0; off < found.len;) {
        uint32_t l;
        memcpy(&l, found.buf + off, sizeof l);
        reply_bulk(c, found.buf + off + sizeof l, l);
        off += sizeof l + l;
    }
    db_buf_free(&found);
    db_buf_free(&pos);
}

static void cmd_scan(db_client *c)
{
    static const scan_spec keys = {.type = DB_NONE};
    scan_generic(c, &keys);
}

static long long count_keys(db_client *c)
{
    db_iter it = {0};
    const uint8_t *key;
    size_t keylen;
    db_meta m;
    long long n = 0;
    while (db_keys_next(c, &it, NULL, 0, &key, &keylen, &m))
        n++;
    db_iter_close(&it);
    return n;
}

static void cmd_dbsize(db_client *c) { reply_int(c, count_keys(c)); }

/* Deletes every key of the selected database. */
void db_flush_selected(db_client *c)
{
    db_buf keys = {0};
    db_iter it = {0};
    const uint8_t *key;
    size_t keylen;
    db_meta m;
    while (db_keys_next(c, &it, NULL, 0, &key, &keylen, &m)) {
        uint32_t l = (uint32_t)keylen;
        db_buf_append(&keys, &l, sizeof l);
        db_buf_append(&keys, key, keylen);
    }
    db_iter_close(&it);
    for (size_t off = 0; off < keys.len && !c->db->batch_failed;) {
        uint32_t l;
        memcpy(&l, keys.buf + off, sizeof l);
        db_delete(c, keys.buf + off + sizeof l, l);
        off += sizeof l + l;
    }
    db_buf_free(&keys);
}

static void cmd_flushdb(db_client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "async") && !arg_is(c, 1, "sync"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    db_flush_selected(c);
    reply_ok(c);
}

static void cmd_randomkey(db_client *c)
{
    long long n = count_keys(c);
    if (n == 0) {
        reply_null(c);
        return;
    }
    long long pick = (long long)db_random_below((uint64_t)n);
    db_iter it = {0};
    const uint8_t *key;
    size_t keylen;
    db_meta m;
    while (db_keys_next(c, &it, NULL, 0, &key, &keylen, &m) && pick-- > 0)
        ;
    reply_bulk(c, key, keylen);
    db_iter_close(&it);
}

/* EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT] */
static void expire_generic(db_client *c, int64_t base_ms, int unit_ms)
{
    long long when;
    if (arg_ll(c, 2, &when) < 0)
        return;
    int nx = 0, xx = 0, gt = 0, lt = 0;
    for (int i = 3; i < c->argc; i++) {
        if (arg_is(c, i, "nx"))
            nx = 1;
        else if (arg_is(c, i, "xx"))
            xx = 1;
        else if (arg_is(c, i, "gt"))
            gt = 1;
        else if (arg_is(c, i, "lt"))
            lt = 1;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s", (int)c->argvlen[i], c->argv[i]);
            return;
        }
    }
    if (nx && (xx || gt || lt)) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if (gt && lt) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    /* overflow checks as Redis: the result must fit in ms */
    if ((unit_ms == 1000 && (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)) ||
        (when * unit_ms > 0 && base_ms > INT64_MAX - when * unit_ms)) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    int64_t at = base_ms + when * unit_ms;
    db_meta m;
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, ARG(1), &m, &val, &vallen)) {
        reply_int(c, 0);
        return;
    }
    int64_t cur = m.expire_ms; /* 0: persistent, i.e. infinite */
    if ((nx && cur) || (xx && !cur) || (gt && (!cur || at <= cur)) || (lt && cur && at >= cur)) {
        reply_int(c, 0);
        return;
    }
    if (at <= c->now_ms) { /* a time in the past deletes */
        db_delete(c, ARG(1));
        reply_int(c, 1);
        return;
    }
    db_buf copy = {0};
    db_buf_append(&copy, val, vallen);
    m.expire_ms = at;
    db_meta_write(c, ARG(1), &m, copy.buf, copy.len);
    db_buf_free(&copy);
    reply_int(c, 1);
}

static void cmd_expire(db_client *c) { expire_generic(c, c->now_ms, 1000); }
static void cmd_pexpire(db_client *c) { expire_generic(c, c->now_ms, 1); }
static void cmd_expireat(db_client *c) { expire_generic(c, 0, 1000); }
static void cmd_pexpireat(db_client *c) { expire_generic(c, 0, 1); }

static void ttl_generic(db_client *c, int ms, int absolute)
{
    db_meta m;
    if (!db_lookup(c, ARG(1), &m, NULL, NULL))
        reply_int(c, -2);
    else if (!m.expire_ms)
        reply_int(c, -1);
    else if (absolute)
        reply_int(c, ms ? m.expire_ms : m.expire_ms / 1000);
    else {
        int64_t left = m.expire_ms - c->now_ms;
        if (left < 0)
            left = 0;
        reply_int(c, ms ? left : (left + 500) / 1000);
    }
}

static void cmd_ttl(db_client *c) { ttl_generic(c, 0, 0); }
static void cmd_pttl(db_client *c) { ttl_generic(c, 1, 0); }
static void cmd_expiretime(db_client *c) { ttl_generic(c, 0, 1); }
static void cmd_pexpiretime(db_client *c) { ttl_generic(c, 1, 1); }

static void cmd_persist(db_client *c)
{
    db_meta m;
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, ARG(1), &m, &val, &vallen) || !m.expire_ms) {
        reply_int(c, 0);
        return;
    }
    db_buf copy = {0};
    db_buf_append(&copy, val, vallen);
    m.expire_ms = 0;
    db_meta_write(c, ARG(1), &m, copy.buf, copy.len);
    db_buf_free(&copy);
    reply_int(c, 1);
}

const struct db_command db_keyspace_commands[] = {
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1},
    {"unlink", cmd_del, -2, CMD_WRITE | CMD_FAST, 1, -1, 1},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1},
    {"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"rename", cmd_rename, 3, CMD_WRITE, 1, 2, 1},
    {"renamenx", cmd_renamenx, 3, CMD_WRITE | CMD_FAST, 1, 2, 1},
    {"keys", cmd_keys, 2, CMD_READONLY, 0, 0, 0},
    {"scan", cmd_scan, -2, CMD_READONLY | CMD_WRITER_ONLY, 0, 0, 0},
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_WRITER_ONLY | CMD_FAST, 0, 0, 0},
    {"flushdb", cmd_flushdb, -1, CMD_WRITE, 0, 0, 0},
    {"randomkey", cmd_randomkey, 1, CMD_READONLY | CMD_WRITER_ONLY, 0, 0, 0},
    {"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"expiretime", cmd_expiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"pexpiretime", cmd_pexpiretime, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
