/*
 * lua_api: the `leither` table app code gets (see lua/README.md): its
 * databases, MiMei, JSON, crypto, logging. Every function takes the app's
 * context as its upvalue; what app code may reach is decided here: its
 * own database for writing, public databases for reading, public MiMei
 * (or its author's) for reading.
 */
#include "api.h"
#include "apps.h"
#include "db.h"
#include "embedded.h"
#include "mimei.h"
#include "quota.h"
#include "sandbox.h"

#include <hiredis/hiredis.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_MAX_DEPTH 200
#define READ_MAX (16u << 20) /* leither.mimei.read: larger files are for the gateway */

static app_ctx *ctx_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* --- leither.json ---------------------------------------------------------- */

static const char LUA_JSON_NULL[] = "leither.json.null";
static const char LUA_JSON_OBJECT[] = "leither.json.object";

void luaapi_push_json(lua_State *L, const json_t *v)
{
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *item;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, k, item) {
            luaapi_push_json(L, item);
            lua_setfield(L, -2, k);
        }
        luaL_setmetatable(L, LUA_JSON_OBJECT); /* so that {} encodes back as {} */
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, item) {
            luaapi_push_json(L, item);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING: lua_pushlstring(L, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushlightuserdata(L, (void *)LUA_JSON_NULL); break;
    }
}

/* The value at idx as JSON; NULL with a reason in err. A table is an
 * array when its keys are exactly 1..n (and it is not marked an object). */
static json_t *to_json(lua_State *L, int idx, int depth, char *err, size_t errlen)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return json_null();
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        return json_real(lua_tonumber(L, idx)); /* NaN and inf: jansson refuses them */
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_t *j = json_stringn(s, len);
        if (!j)
            snprintf(err, errlen, "JSON strings must be UTF-8");
        return j;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == LUA_JSON_NULL)
            return json_null();
        break;
    case LUA_TTABLE: {
        if (depth > JSON_MAX_DEPTH) {
            snprintf(err, errlen, "JSON nested too deeply (a table that contains itself?)");
            return NULL;
        }
        luaL_checkstack(L, 4, "JSON nested too deeply");
        int object = 0;
        if (lua_getmetatable(L, idx)) {
            luaL_getmetatable(L, LUA_JSON_OBJECT);
            object = lua_rawequal(L, -1, -2);
            lua_pop(L, 2);
        }
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
        lua_pushnil(L);
        while (!object && lua_next(L, idx)) {
            lua_pop(L, 1);
            count++;
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
                object = 1;
        }
        if (object)
            lua_settop(L, idx); /* the key lua_next left when it stopped early */
        if (!object && count == n) {
            json_t *a = json_array();
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                json_t *item = to_json(L, -1, depth + 1, err, errlen);
                lua_pop(L, 1);
                if (!item) {
                    json_decref(a);
                    return NULL;
                }
                json_array_append_new(a, item);
            }
            return a;
        }
        json_t *o = json_object();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            char num[32];
            const char *key;
            if (lua_type(L, -2) == LUA_TSTRING)
                key = lua_tostring(L, -2);
            else if (lua_type(L, -2) == LUA_TNUMBER) {
                lua_pushvalue(L, -2);
                snprintf(num, sizeof num, "%s", lua_tostring(L, -1));
                lua_pop(L, 1);
                key = num;
            } else {
                snprintf(err, errlen, "JSON object keys must be strings or numbers, not %s", luaL_typename(L, -2));
                lua_pop(L, 2);
                json_decref(o);
                return NULL;
            }
            json_t *item = to_json(L, -1, depth + 1, err, errlen);
            lua_pop(L, 1);
            if (!item || json_object_set_new(o, key, item) != 0) {
                if (item)
                    snprintf(err, errlen, "JSON object keys must be UTF-8");
                lua_pop(L, 1);
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    default: break;
    }
    snprintf(err, errlen, "cannot encode a %s as JSON", luaL_typename(L, idx));
    return NULL;
}

static int json_encode(lua_State *L)
{
    char err[160] = "cannot encode this value as JSON";
    luaL_checkany(L, 1);
    json_t *j = to_json(L, 1, 0, err, sizeof err);
    if (!j)
        return luaL_error(L, "%s", err);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    json_decref(j);
    if (!text)
        return luaL_error(L, "cannot encode this value as JSON (not a finite number?)");
    sandbox_charge(L, strlen(text) / 64);
    lua_pushstring(L, text);
    free(text);
    return 1;
}

static int json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    sandbox_charge(L, len / 64);
    json_error_t jerr;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
    if (!j)
        return luaL_error(L, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    luaapi_push_json(L, j);
    json_decref(j);
    return 1;
}

/* json.object(t): marks t to encode as an object even when empty. */
static int json_object_mark(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, LUA_JSON_OBJECT);
    return 1;
}

/* --- leither.db ------------------------------------------------------------- */

static void push_reply(lua_State *L, const redisReply *r, int nested)
{
    luaL_checkstack(L, 4, "reply nested too deeply");
    switch (r->type) {
    case REDIS_REPLY_INTEGER: lua_pushinteger(L, r->integer); break;
    case REDIS_REPLY_NIL: lua_pushnil(L); break;
    case REDIS_REPLY_ARRAY:
        lua_createtable(L, (int)r->elements, 0);
        for (size_t i = 0; i < r->elements; i++) {
            push_reply(L, r->element[i], 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    case REDIS_REPLY_ERROR:
        if (nested) { /* an error inside EXEC's array: {err = text}, as Redis's Lua does */
            lua_createtable(L, 0, 1);
            lua_pushlstring(L, r->str, r->len);
            lua_setfield(L, -2, "err");
            break;
        }
        lua_pushlstring(L, r->str, r->len); /* the caller raises top-level errors */
        break;
    default: lua_pushlstring(L, r->str, r->len); break;
    }
}

/* An app that takes visitors' writes ("visitors": {"write": true}) stores
 * them on the visitor's account: the write commands' arguments are charged
 * to the request's signer (quota.h) before they run. -1 with the reason
 * pushed when the visitor may not store that much. */
static int charge_visitor(lua_State *L, app_ctx *ctx, const resp_cmd *cmds, int ncmds)
{
    uint64_t bytes = 0;
    int writes = 0;
    for (int i = 0; i < ncmds; i++) {
        if (!db_command_writes(cmds[i].argv[0], cmds[i].lens[0]))
            continue;
        writes = 1;
        for (int k = 1; k < cmds[i].argc; k++)
            bytes += cmds[i].lens[k];
    }
    if (!writes)
        return 0;
    char err[512], why[400];
    int status = 500;
    MDB_txn *txn = bs_begin(ctx->n->bs, 1, why, sizeof why);
    int rc = txn ? quota_charge(ctx->n, txn, ctx->user, ctx->db, bytes, &status, why, sizeof why) : -1;
    if (txn && rc)
        mdb_txn_abort(txn);
    else if (txn && bs_commit(txn, why, sizeof why) != 0)
        rc = -1, status = 500;
    if (!rc)
        return 0;
    snprintf(err, sizeof err, "%s %s", status == 507 ? "OOM" : status == 403 ? "NOPERM" : "ERR", why);
    lua_pushstring(L, err);
    return -1;
}

/* exec(mid, multi, cmds): the one primitive under lua/leither/db.lua. */
static int db_exec_lua(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid = luaL_optstring(L, 1, NULL);
    int multi = lua_toboolean(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int own = !mid || !strcmp(mid, ctx->db);
    if (own && !ctx->db[0])
        return luaL_error(L, "this app has no database: set \"database\": true in its manifest.json");
    if (!own) {
        char *text = NULL;
        json_t *info = NULL;
        if (ids_is_leither_id(mid) && db_mimei_get(ctx->n->db, mid, &text, NULL))
            info = json_loads(text, 0, NULL);
        free(text);
        int readable = info && ((mimei_right(info) & MIMEI_RIGHT_READ) || !strcmp(mimei_str(info, "Author"), ctx->author));
        json_decref(info);
        if (!readable)
            return luaL_error(L, "NOPERM app %s may read only public databases, and write only its own: %s", ctx->appid,
                              mid);
    }
    int ncmds = (int)lua_rawlen(L, 3);
    resp_cmd *cmds = lua_newuserdatauv(L, sizeof *cmds * (size_t)(ncmds ? ncmds : 1), 0); /* freed by the GC */
    for (int i = 0; i < ncmds; i++) {
        luaL_checkstack(L, 6, "too many database commands at once");
        lua_rawgeti(L, 3, i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        int argc = (int)lua_rawlen(L, -1);
        if (argc < 1)
            return luaL_error(L, "an empty database command");
        /* argv and lens stay on the stack (alive) until the call returns */
        const char **argv = lua_newuserdatauv(L, sizeof *argv * (size_t)argc, 0);
        size_t *lens = lua_newuserdatauv(L, sizeof *lens * (size_t)argc, 0);
        for (int k = 0; k < argc; k++) {
            lua_rawgeti(L, -3, k + 1);
            if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
                return luaL_error(L, "database command arguments must be strings or numbers, not %s",
                                  luaL_typename(L, -1));
            argv[k] = lua_tolstring(L, -1, &lens[k]);
            lua_rawseti(L, -4, k + 1); /* a number's text is kept alive by the command's table */
        }
        cmds[i] = (resp_cmd){argc, argv, lens};
        lua_rotate(L, -3, -1); /* the command's table on top, then dropped */
        lua_pop(L, 1);
    }
    if (own && ctx->visitors_write && charge_visitor(L, ctx, cmds, ncmds) != 0)
        return lua_error(L);
    resp_batch b = {.user = ctx->author, .select = own ? ctx->db : mid, .read_only = !own, .multi = multi,
                    .ncmds = ncmds, .cmds = cmds};
    redisReply *r = resp_call(ctx->n->resp, &b);
    if (r->type == REDIS_REPLY_ERROR) {
        lua_pushlstring(L, r->str, r->len);
        freeReplyObject(r);
        return lua_error(L);
    }
    if (!multi && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ERROR) {
        lua_pushlstring(L, r->element[0]->str, r->element[0]->len);
        freeReplyObject(r);
        return lua_error(L);
    }
    push_reply(L, r, 0);
    freeReplyObject(r);
    return 1;
}

/* --- leither.mimei ------------------------------------------------------------ */

/* The info record of a MiMei app code may read: public, or its author's. */
static json_t *readable_mimei(lua_State *L, app_ctx *ctx, const char *mid)
{
    char *text = NULL;
    if (!ids_is_leither_id(mid) || !db_mimei_get(ctx->n->db, mid, &text, NULL)) {
        luaL_error(L, "no MiMei %s on this node", mid);
        return NULL;
    }
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    if (!info || (!(mimei_right(info) & MIMEI_RIGHT_READ) && strcmp(mimei_str(info, "Author"), ctx->author))) {
        json_decref(info);
        luaL_error(L, "NOPERM MiMei %s is not public", mid);
    }
    return info;
}

static int mimei_info(lua_State *L)
{
    json_t *info = readable_mimei(L, ctx_of(L), luaL_checkstring(L, 1));
    luaapi_push_json(L, info);
    json_decref(info);
    return 1;
}

/* The root CID of version `ver` (nil/"last"/"cur"/N, as ?ver= takes it). */
static void version_root(lua_State *L, app_ctx *ctx, const char *mid, int ver_idx, cid *root, uint32_t *ver)
{
    json_t *info = readable_mimei(L, ctx, mid);
    int file = !strcmp(mimei_str(info, "AppType"), "file") || !strcmp(mimei_str(info, "AppType"), "app");
    json_decref(info);
    if (!file)
        luaL_error(L, "%s is a database MiMei: use leither.db", mid);
    char spec[32] = "", err[256];
    if (lua_type(L, ver_idx) == LUA_TNUMBER)
        snprintf(spec, sizeof spec, "%lld", (long long)luaL_checkinteger(L, ver_idx));
    else if (!lua_isnoneornil(L, ver_idx))
        snprintf(spec, sizeof spec, "%s", luaL_checkstring(L, ver_idx));
    MDB_txn *txn = bs_begin(ctx->n->bs, 0, err, sizeof err);
    if (!txn)
        luaL_error(L, "%s", err);
    int rc = api_mimei_version(ctx->n->bs, txn, mid, spec, ver, err, sizeof err);
    if (!rc)
        files_get(ctx->n->bs, txn, mid, *ver, root);
    mdb_txn_abort(txn);
    if (rc)
        luaL_error(L, "%s", err);
}

static int mimei_read(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid = luaL_checkstring(L, 1), *path = luaL_optstring(L, 2, "");
    while (*path == '/')
        path++;
    cid root;
    uint32_t ver;
    version_root(L, ctx, mid, 3, &root, &ver);
    if (strcmp(mid, ctx->appid) && apps_is_server_code(ctx->n, &root, path))
        return luaL_error(L, "%s is an app's server code: only that app reads it", path);
    size_t len;
    char err[512];
    char *data = apps_read(ctx->n, &root, path, READ_MAX, &len, err, sizeof err);
    if (!data)
        return luaL_error(L, "%s", err);
    sandbox_charge(L, len / 64);
    lua_pushlstring(L, data, len);
    free(data);
    return 1;
}

struct list_ctx {
    lua_State *L;
    node *n;
    int i;
};

static int list_entry(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    struct list_ctx *l = arg;
    lua_State *L = l->L;
    char text[CID_TEXT_MAX], err[128];
    cid_format(target, text);
    ufs_stat st = {0};
    cid same;
    int is_dir = ufs_resolve(l->n->bs, NULL, target, "", &same, &st, err, sizeof err) == STORE_OK &&
                 (st.type == UFS_DIRECTORY || st.type == UFS_HAMT);
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, name, name_len);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, text);
    lua_setfield(L, -2, "cid");
    lua_pushinteger(L, (lua_Integer)(is_dir ? tsize : st.size));
    lua_setfield(L, -2, "size");
    lua_pushstring(L, is_dir ? "dir" : "file");
    lua_setfield(L, -2, "type");
    lua_rawseti(L, -2, ++l->i);
    return 0;
}

static int mimei_list(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid = luaL_checkstring(L, 1), *path = luaL_optstring(L, 2, "");
    while (*path == '/')
        path++;
    cid root, dir;
    uint32_t ver;
    version_root(L, ctx, mid, 3, &root, &ver);
    char err[512];
    ufs_stat st;
    int rc = ufs_resolve(ctx->n->bs, NULL, &root, path, &dir, &st, err, sizeof err);
    if (rc != STORE_OK)
        return luaL_error(L, "%s", err);
    if (st.type != UFS_DIRECTORY && st.type != UFS_HAMT)
        return luaL_error(L, "%s/%s is not a folder", mid, path);
    lua_newtable(L);
    struct list_ctx l = {L, ctx->n, 0};
    if (ufs_list(ctx->n->bs, NULL, &dir, list_entry, &l, err, sizeof err) != STORE_OK)
        return luaL_error(L, "%s", err);
    return 1;
}

struct versions_ctx {
    lua_State *L;
    int i;
};

static int version_entry(void *arg, uint32_t ver, const cid *c)
{
    struct versions_ctx *v = arg;
    char text[CID_TEXT_MAX];
    cid_format(c, text);
    lua_createtable(v->L, 0, 2);
    lua_pushinteger(v->L, ver);
    lua_setfield(v->L, -2, "ver");
    lua_pushstring(v->L, text);
    lua_setfield(v->L, -2, "cid");
    lua_rawseti(v->L, -2, ++v->i);
    return 0;
}

/* For the listings of a readable MiMei (arg 1): a read transaction, and
 * the table the entries go in pushed. */
static MDB_txn *begin_listing(lua_State *L, app_ctx *ctx, const char **mid)
{
    *mid = luaL_checkstring(L, 1);
    json_decref(readable_mimei(L, ctx, *mid));
    char err[256];
    MDB_txn *txn = bs_begin(ctx->n->bs, 0, err, sizeof err);
    if (!txn)
        luaL_error(L, "%s", err);
    lua_newtable(L);
    return txn;
}

/* versions(mid): {ver = 0 is cur, then 1, 2, ...}, each with its cid. */
static int mimei_versions(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid;
    MDB_txn *txn = begin_listing(L, ctx, &mid);
    struct versions_ctx v = {L, 0};
    files_versions(ctx->n->bs, txn, mid, version_entry, &v);
    mdb_txn_abort(txn);
    return 1;
}

static int push_version_cid(lua_State *L, const char *spec)
{
    cid root;
    uint32_t ver;
    lua_pushstring(L, spec);
    version_root(L, ctx_of(L), luaL_checkstring(L, 1), lua_gettop(L), &root, &ver);
    char text[CID_TEXT_MAX];
    cid_format(&root, text);
    lua_pushstring(L, text);
    return 1;
}

static int mimei_cur(lua_State *L) { return push_version_cid(L, "cur"); }
static int mimei_last(lua_State *L) { return push_version_cid(L, "last"); }

static int ref_entry(void *arg, const char *other, uint32_t count)
{
    struct versions_ctx *v = arg;
    (void)count;
    lua_pushstring(v->L, other);
    lua_rawseti(v->L, -2, ++v->i);
    return 0;
}

/* refs(mid): the MiMei it references. */
static int mimei_refs(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid;
    MDB_txn *txn = begin_listing(L, ctx, &mid);
    struct versions_ctx v = {L, 0};
    refs_list(ctx->n->bs, txn, mid, ref_entry, &v);
    mdb_txn_abort(txn);
    return 1;
}

/* --- leither.crypto ------------------------------------------------------------ */

static int crypto_sha256(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    sandbox_charge(L, len / 64);
    uint8_t out[IDS_SHA256_BYTES];
    ids_sha256(out, s, len);
    lua_pushlstring(L, (const char *)out, sizeof out);
    return 1;
}

static int crypto_blake2b(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_optinteger(L, 2, 32);
    luaL_argcheck(L, n >= 16 && n <= 64, 2, "digest length must be 16 to 64 bytes");
    sandbox_charge(L, len / 64);
    uint8_t out[64];
    ids_blake2b(out, (size_t)n, s, len);
    lua_pushlstring(L, (const char *)out, (size_t)n);
    return 1;
}

static int crypto_hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, 2 * len + 1);
    ids_hex_encode(out, (const uint8_t *)s, len);
    luaL_pushresultsize(&b, 2 * len);
    return 1;
}

static int crypto_random(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= 65536, 1, "0 to 65536 bytes");
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, (size_t)n);
    ids_random(out, (size_t)n);
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* verify(public_key_base64url, message, signature_base64url[, leither_id]):
 * true when the ed25519 signature holds (and the key is that ID's). */
static int crypto_verify(lua_State *L)
{
    size_t klen, mlen, slen;
    const char *k = luaL_checklstring(L, 1, &klen), *m = luaL_checklstring(L, 2, &mlen),
               *s = luaL_checklstring(L, 3, &slen);
    const char *id = luaL_optstring(L, 4, NULL);
    uint8_t pk[IDS_PK_BYTES], sig[IDS_SIG_BYTES];
    size_t n;
    if (ids_b64url_decode(pk, sizeof pk, &n, k, klen) != 0 || n != sizeof pk)
        return luaL_error(L, "verify: the public key must be 32 bytes in base64url (a Leither ID is only its hash)");
    int ok = ids_b64url_decode(sig, sizeof sig, &n, s, slen) == 0 && n == sizeof sig;
    if (id) {
        char derived[IDS_LID_LEN + 1];
        ids_leither_id(derived, pk);
        ok = ok && !strcmp(derived, id);
    }
    sandbox_charge(L, mlen / 64);
    lua_pushboolean(L, ok && ids_verify(sig, m, mlen, pk) == 0);
    return 1;
}

/* --- leither.log, now, _traceback ------------------------------------------- */

static int log_at(lua_State *L, const char *level, int first)
{
    app_ctx *ctx = ctx_of(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int top = lua_gettop(L);
    for (int i = first; i <= top; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > first)
            luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, len > 4096 ? 4096 : len); /* one line of the log, not a dump */
        lua_pop(L, 1);
    }
    luaL_pushresult(&b);
    const char *line = lua_tostring(L, -1);
    fprintf(stderr, "leither: app %s %s: %s\n", ctx->appid, level, line);
    return 0;
}

static int log_call(lua_State *L) { return log_at(L, "info", 2); } /* leither.log(...): arg 1 is the table */
static int log_info(lua_State *L) { return log_at(L, "info", 1); }
static int log_warn(lua_State *L) { return log_at(L, "warn", 1); }
static int log_error(lua_State *L) { return log_at(L, "error", 1); }

static int now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, luaL_optstring(L, 1, NULL), 1);
    return 1;
}

/* --- the table ------------------------------------------------------------------- */

static void add_table(lua_State *L, const char *name, const luaL_Reg *fns, app_ctx *ctx)
{
    lua_newtable(L);
    lua_pushlightuserdata(L, ctx);
    luaL_setfuncs(L, fns, 1);
    lua_setfield(L, -2, name);
}

int luaapi_open(lua_State *L, app_ctx *ctx, char *err, size_t errlen)
{
    static const luaL_Reg json_fns[] = {{"encode", json_encode}, {"decode", json_decode}, {"object", json_object_mark},
                                        {NULL, NULL}};
    static const luaL_Reg mimei_fns[] = {{"info", mimei_info}, {"read", mimei_read},   {"list", mimei_list},
                                         {"versions", mimei_versions}, {"cur", mimei_cur}, {"last", mimei_last},
                                         {"refs", mimei_refs}, {NULL, NULL}};
    static const luaL_Reg crypto_fns[] = {{"sha256", crypto_sha256}, {"blake2b", crypto_blake2b}, {"hex", crypto_hex},
                                          {"random", crypto_random}, {"verify", crypto_verify}, {NULL, NULL}};
    static const luaL_Reg log_fns[] = {{"info", log_info}, {"warn", log_warn}, {"error", log_error}, {NULL, NULL}};
    static const luaL_Reg top_fns[] = {{"now", now}, {"_traceback", traceback}, {NULL, NULL}};

    luaL_newmetatable(L, LUA_JSON_OBJECT);
    lua_pop(L, 1);
    lua_newtable(L); /* leither */
    lua_pushlightuserdata(L, ctx);
    luaL_setfuncs(L, top_fns, 1);
    add_table(L, "json", json_fns, ctx);
    lua_getfield(L, -1, "json");
    lua_pushlightuserdata(L, (void *)LUA_JSON_NULL);
    lua_setfield(L, -2, "null");
    lua_pop(L, 1);
    add_table(L, "mimei", mimei_fns, ctx);
    add_table(L, "crypto", crypto_fns, ctx);
    add_table(L, "log", log_fns, ctx);
    lua_getfield(L, -1, "log"); /* leither.log(...) itself logs too */
    lua_newtable(L);
    lua_pushlightuserdata(L, ctx);
    lua_pushcclosure(L, log_call, 1);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    /* leither.db: lua/leither/db.lua over the exec primitive */
    size_t len;
    const char *src = embedded_file("lua/leither/db.lua", &len);
    if (!src) {
        snprintf(err, errlen, "the Lua library is missing lua/leither/db.lua");
        return -1;
    }
    lua_State *S = L;
    if (luaL_loadbufferx(S, src, len, "=leither/db.lua", "t") != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return -1;
    }
    lua_pushlightuserdata(L, ctx);
    lua_pushcclosure(L, db_exec_lua, 1);
    lua_call(L, 1, 1);
    lua_setfield(L, -2, "db");
    lua_setglobal(L, "leither");
    return 0;
}
