/* t_string: the string type. The value lives in the key's meta record. */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings are limited as Redis limits them: by proto-max-bulk-len. */
#define STRING_MAX (c->db->proto_max_bulk_len)

/* The string at key: 1 found (copied into out), 0 absent, -1 WRONGTYPE. */
static int get_string(db_client *c, int i, db_meta *m, db_buf *out)
{
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, ARG(i), m, &val, &vallen))
        return 0;
    if (m->type != DB_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    if (out)
        db_buf_append(out, val, vallen);
    return 1;
}

static int put_string(db_client *c, const char *key, size_t keylen, const void *val, size_t len, int64_t expire_ms)
{
    db_meta m = {.type = DB_STRING, .expire_ms = expire_ms};
    return db_meta_write(c, key, keylen, &m, val, len);
}

static void cmd_get(db_client *c)
{
    db_meta m;
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, ARG(1), &m, &val, &vallen))
        reply_null(c);
    else if (m.type != DB_STRING)
        reply_error(c, ERR_WRONGTYPE);
    else
        reply_bulk(c, val, vallen);
}

/* Parses EX/PX/EXAT/PXAT (and KEEPTTL/PERSIST where allowed) from argv[i];
 * returns the number of arguments used, 0 if not an expiry, -1 replied. */
static int parse_expiry(db_client *c, int i, int64_t *at, const char *cmdname)
{
    static const struct {
        const char *word;
        int ms, absolute;
    } forms[] = {{"ex", 0, 0}, {"px", 1, 0}, {"exat", 0, 1}, {"pxat", 1, 1}};
    for (size_t f = 0; f < 4; f++) {
        if (!arg_is(c, i, forms[f].word))
            continue;
        if (i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
        long long v;
        if (arg_ll(c, i + 1, &v) < 0)
            return -1;
        if (v <= 0 || (!forms[f].ms && v > LLONG_MAX / 1000)) {
            reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
            return -1;
        }
        int64_t ms = forms[f].ms ? v : v * 1000;
        if (!forms[f].absolute && ms > INT64_MAX - c->now_ms) {
            reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
            return -1;
        }
        *at = forms[f].absolute ? ms : c->now_ms + ms;
        return 2;
    }
    return 0;
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
static void cmd_set(db_client *c)
{
    int nx = 0, xx = 0, get = 0, keepttl = 0, has_expiry = 0;
    int64_t at = 0;
    for (int i = 3; i < c->argc; i++) {
        int used;
        if (arg_is(c, i, "nx") && !xx)
            nx = 1;
        else if (arg_is(c, i, "xx") && !nx)
            xx = 1;
        else if (arg_is(c, i, "get"))
            get = 1;
        else if (arg_is(c, i, "keepttl") && !has_expiry)
            keepttl = 1;
        else if (!keepttl && !has_expiry && (used = parse_expiry(c, i, &at, "set")) != 0) {
            if (used < 0)
                return;
            has_expiry = 1;
            i += used - 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    db_meta m;
    const uint8_t *cur;
    size_t curlen;
    int found = db_lookup(c, ARG(1), &m, &cur, &curlen);
    if (found && get && m.type != DB_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return;
    }
    db_buf old = {0};
    if (found && m.type == DB_STRING)
        db_buf_append(&old, cur, curlen);
    int exists = found;
    if ((nx && exists) || (xx && !exists)) {
        if (get)
            exists && m.type == DB_STRING ? reply_bulk(c, old.buf, old.len) : reply_null(c);
        else
            reply_null(c);
        db_buf_free(&old);
        return;
    }
    if (exists && m.type != DB_STRING)
        db_delete(c, ARG(1));
    if (keepttl && exists && m.type == DB_STRING)
        at = m.expire_ms;
    put_string(c, ARG(1), ARG(2), at);
    if (get)
        exists ? reply_bulk(c, old.buf, old.len) : reply_null(c);
    else
        reply_ok(c);
    db_buf_free(&old);
}

static void cmd_setnx(db_client *c)
{
    db_meta m;
    if (db_lookup(c, ARG(1), &m, NULL, NULL)) {
        reply_int(c, 0);
        return;
    }
    put_string(c, ARG(1), ARG(2), 0);
    reply_int(c, 1);
}

static void setex_generic(db_client *c, int ms)
{
    long long v;
    if (arg_ll(c, 2, &v) < 0)
        return;
    if (v <= 0 || (!ms && v > LLONG_MAX / 1000) || (ms ? v : v * 1000) > INT64_MAX - c->now_ms) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", c->cmd->name);
        return;
    }
    db_delete(c, ARG(1));
    put_string(c, ARG(1), ARG(3), c->now_ms + (ms ? v : v * 1000));
    reply_ok(c);
}

static void cmd_setex(db_client *c) { setex_generic(c, 0); }
static void cmd_psetex(db_client *c) { setex_generic(c, 1); }

static void cmd_mget(db_client *c)
{
    reply_array(c, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        db_meta m;
        const uint8_t *val;
        size_t vallen;
        if (db_lookup(c, ARG(i), &m, &val, &vallen) && m.type == DB_STRING)
            reply_bulk(c, val, vallen);
        else
            reply_null(c);
    }
}

static void mset_generic(db_client *c, int nx)
{
    if (c->argc % 2 == 0) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", c->cmd->name);
        return;
    }
    if (nx)
        for (int i = 1; i < c->argc; i += 2) {
            db_meta m;
            if (db_lookup(c, ARG(i), &m, NULL, NULL)) {
                reply_int(c, 0);
                return;
            }
        }
    for (int i = 1; i < c->argc; i += 2) {
        db_delete(c, ARG(i));
        put_string(c, ARG(i), ARG(i + 1), 0);
    }
    nx ? reply_int(c, 1) : reply_ok(c);
}

static void cmd_mset(db_client *c) { mset_generic(c, 0); }
static void cmd_msetnx(db_client *c) { mset_generic(c, 1); }

static void cmd_getset(db_client *c)
{
    db_meta m;
    db_buf old = {0};
    int found = get_string(c, 1, &m, &old);
    if (found < 0)
        return;
    put_string(c, ARG(1), ARG(2), 0);
    found ? reply_bulk(c, old.buf, old.len) : reply_null(c);
    db_buf_free(&old);
}

static void cmd_getdel(db_client *c)
{
    db_meta m;
    db_buf old = {0};
    int found = get_string(c, 1, &m, &old);
    if (found < 0)
        return;
    if (found) {
        db_delete(c, ARG(1));
        reply_bulk(c, old.buf, old.len);
    } else {
        reply_null(c);
    }
    db_buf_free(&old);
}

/* GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST] */
static void cmd_getex(db_client *c)
{
    int64_t at = 0;
    int persist = 0, has = 0;
    for (int i = 2; i < c->argc; i++) {
        int used;
        if (arg_is(c, i, "persist") && !has) {
            persist = has = 1;
        } else if (!has && (used = parse_expiry(c, i, &at, "getex")) != 0) {
            if (used < 0)
                return;
            has = 1;
            i += used - 1;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    db_meta m;
    db_buf val = {0};
    int found = get_string(c, 1, &m, &val);
    if (found <= 0) {
        if (found == 0)
            reply_null(c);
        db_buf_free(&val);
        return;
    }
    if (persist && m.expire_ms)
        put_string(c, ARG(1), val.buf, val.len, 0);
    else if (has && !persist) {
        if (at <= c->now_ms)
            db_delete(c, ARG(1));
        else
            put_string(c, ARG(1), val.buf, val.len, at);
    }
    reply_bulk(c, val.buf, val.len);
    db_buf_free(&val);
}

static void cmd_append(db_client *c)
{
    db_meta m;
    db_buf val = {0};
    int found = get_string(c, 1, &m, &val);
    if (found < 0)
        return;
    if (val.len + c->argvlen[2] > STRING_MAX) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        db_buf_free(&val);
        return;
    }
    db_buf_append(&val, ARG(2));
    put_string(c, ARG(1), val.buf, val.len, found ? m.expire_ms : 0);
    reply_int(c, (long long)val.len);
    db_buf_free(&val);
}

static void cmd_strlen(db_client *c)
{
    db_meta m;
    const uint8_t *val;
    size_t vallen;
    if (!db_lookup(c, ARG(1), &m, &val, &vallen))
        reply_int(c, 0);
    else if (m.type != DB_STRING)
        reply_error(c, ERR_WRONGTYPE);
    else
        reply_int(c, (long long)vallen);
}

static void incr_generic(db_client *c, long long by)
{
    db_meta m;
    db_buf val = {0};
    int found = get_string(c, 1, &m, &val);
    if (found < 0)
        return;
    long long cur = 0;
    if (found && parse_ll(val.buf, val.len, &cur) != 0) {
        reply_error(c, ERR_NOTINT);
        db_buf_free(&val);
        return;
    }
    db_buf_free(&val);
    if ((by < 0 && cur < 0 && by < LLONG_MIN - cur) || (by > 0 && cur > 0 && by > LLONG_MAX - cur)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    cur += by;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", cur);
    put_string(c, ARG(1), buf, (size_t)n, found ? m.expire_ms : 0);
    reply_int(c, cur);
}

static void cmd_incr(db_client *c) { incr_generic(c, 1); }
static void cmd_decr(db_client *c) { incr_generic(c, -1); }

static void cmd_incrby(db_client *c)
{
    long long by;
    if (arg_ll(c, 2, &by) == 0)
        incr_generic(c, by);
}

static void cmd_decrby(db_client *c)
{
    long long by;
    if (arg_ll(c, 2, &by) < 0)
        return;
    if (by == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

static void cmd_incrbyfloat(db_client *c)
{
    db_meta m;
    db_buf val = {0};
    int found = get_string(c, 1, &m, &val);
    if (found < 0)
        return;
    char tmp[64];
    long double cur = 0, by;
    char *end;
    if (found) {
        if (val.len == 0 || val.len >= sizeof tmp) {
            reply_error(c, ERR_NOTFLOAT);
            db_buf_free(&val);
            return;
        }
        memcpy(tmp, val.buf, val.len);
        tmp[val.len] = '\0';
        cur = strtold(tmp, &end);
        if (*end || isnan(cur) || isspace((unsigned char)tmp[0])) {
            reply_error(c, ERR_NOTFLOAT);
            db_buf_free(&val);
            return;
        }
    }
    db_buf_free(&val);
    if (c->argvlen[2] == 0 || c->argvlen[2] >= sizeof tmp) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    memcpy(tmp, ARG(2));
    tmp[c->argvlen[2]] = '\0';
    by = strtold(tmp, &end);
    if (*end || isnan(by) || isspace((unsigned char)tmp[0])) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    cur += by;
    if (isnan(cur) || isinf(cur)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[128];
    int n = format_long_double(buf, sizeof buf, cur);
    put_string(c, ARG(1), buf, (size_t)n, found ? m.expire_ms : 0);
    reply_bulk(c, buf, (size_t)n);
}

static void cmd_getrange(db_client *c)
{
    long long start, end;
    if (arg_ll(c, 2, &start) < 0 || arg_ll(c, 3, &end) < 0)
        return;
    db_meta m;
    const uint8_t *val;
    size_t len;
    if (!db_lookup(c, ARG(1), &m, &val, &len)) {
        reply_bulk(c, "", 0);
        return;
    }
    if (m.type != DB_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return;
    }
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    long long n = (long long)len;
    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= n)
        end = n - 1;
    if (start > end || n == 0)
        reply_bulk(c, "", 0);
    else
        reply_bulk(c, val + start, (size_t)(end - start + 1));
}

static void cmd_setrange(db_client *c)
{
    long long off;
    if (arg_ll(c, 2, &off) < 0)
        return;
    if (off < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    db_meta m;
    db_buf val = {0};
    int found = get_string(c, 1, &m, &val);
    if (found < 0)
        return;
    if (c->argvlen[3] == 0) { /* nothing to write: the length */
        reply_int(c, (long long)val.len);
        db_buf_free(&val);
        return;
    }
    if ((size_t)off + c->argvlen[3] > STRING_MAX) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        db_buf_free(&val);
        return;
    }
    size_t need = (size_t)off + c->argvlen[3];
    if (val.len < need) {
        size_t old = val.len;
        db_buf_append(&val, NULL, 0);
        while (val.len < need) {
            static const char zeros[4096];
            size_t k = need - val.len < sizeof zeros ? need - val.len : sizeof zeros;
            db_buf_append(&val, zeros, k);
        }
        (void)old;
    }
    memcpy(val.buf + off, ARG(3));
    put_string(c, ARG(1), val.buf, val.len, found ? m.expire_ms : 0);
    reply_int(c, (long long)val.len);
    db_buf_free(&val);
}

const struct db_command db_string_commands[] = {
    {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"setnx", cmd_setnx, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"setex", cmd_setex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"psetex", cmd_psetex, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {"mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1},
    {"mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2},
    {"msetnx", cmd_msetnx, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2},
    {"getset", cmd_getset, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1},
    {"append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1},
    {"incr", cmd_incr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"decr", cmd_decr, 2, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"incrby", cmd_incrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"decrby", cmd_decrby, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"incrbyfloat", cmd_incrbyfloat, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1},
    {"getrange", cmd_getrange, 4, CMD_READONLY, 1, 1, 1},
    {"substr", cmd_getrange, 4, CMD_READONLY, 1, 1, 1},
    {"setrange", cmd_setrange, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1},
    {NULL, NULL, 0, 0, 0, 0, 0},
};
