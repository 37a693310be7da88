/*
 * contract: see contract.h. One call = one fresh sandbox state with the
 * determinism layer on top, the chunk and the function run in one thread of
 * it under a sandbox budget (the gas), and the JSON bridge both ways.
 */
#include "contract.h"
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the call, reached from the C functions through the registry */
static const char KEY_CALL = 0;

typedef struct {
    const contract_host *host;
    int check_only;
    const char *fn;
    const json_t *args;
    size_t srclen;
    json_t *pending; /* the value being converted: freed if a Lua error interrupts */
    size_t conv_left; /* bytes of JSON text the value being converted may still take (about) */
    size_t conv_max;
    json_t *result;
    json_t *events;
    contract_write *writes;
    size_t nwrites, capwrites;
    int no_function;
    uint8_t rng_key[crypto_generichash_KEYBYTES];
    uint64_t rng_counter;
    uint8_t rng_block[crypto_generichash_BYTES_MAX];
    size_t rng_pos;
} call;

static call *call_of(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CALL);
    call *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return c;
}

/* --- the deterministic order of keys ---------------------------------------- */

typedef struct {
    int is_string;
    lua_Integer i;
    const char *s;
    size_t len;
    lua_Integer pos; /* its place in the snapshot table */
} key_entry;

static int key_cmp(const key_entry *a, const key_entry *b)
{
    if (a->is_string != b->is_string)
        return a->is_string ? 1 : -1;
    if (!a->is_string)
        return a->i < b->i ? -1 : a->i > b->i;
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->s, b->s, n);
    if (r)
        return r;
    return a->len < b->len ? -1 : a->len > b->len;
}

static int key_qsort_cmp(const void *a, const void *b)
{
    return key_cmp(a, b);
}

static const char BAD_KEY[] = "pairs: only integer and string keys can be iterated in contracts";

/* The key on top of the stack as an entry (the string stays anchored by
 * whoever holds the key); 0 when it is neither an integer nor a string. */
static int key_entry_of(lua_State *L, int idx, key_entry *e)
{
    memset(e, 0, sizeof *e);
    if (lua_type(L, idx) == LUA_TSTRING) {
        e->is_string = 1;
        e->s = lua_tolstring(L, idx, &e->len);
        return 1;
    }
    if (lua_isinteger(L, idx)) {
        e->i = lua_tointeger(L, idx);
        return 1;
    }
    return 0;
}

static uint64_t n_log_n(uint64_t n)
{
    uint64_t log = 1;
    while ((1ull << log) < n && log < 63)
        log++;
    return n * log;
}

/* Pushes a sequence of t's keys in the deterministic order; returns its
 * length. Raises BAD_KEY for any other key. */
static lua_Integer push_sorted_keys(lua_State *L, int t)
{
    t = lua_absindex(L, t);
    lua_newtable(L); /* the snapshot, in traversal order */
    int snap = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int type = lua_type(L, -1);
        if (type != LUA_TSTRING && !lua_isinteger(L, -1))
            luaL_error(L, "%s", BAD_KEY);
        lua_pushvalue(L, -1);
        lua_rawseti(L, snap, ++n);
    }
    sandbox_charge(L, n_log_n((uint64_t)n) / 4 + 1);
    key_entry *keys = lua_newuserdatauv(L, (size_t)n * sizeof *keys + 1, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, snap, i);
        key_entry_of(L, -1, &keys[i - 1]); /* anchored by snap */
        keys[i - 1].pos = i;
        lua_pop(L, 1);
    }
    /* distinct keys under a total order: every sort gives the same result */
    qsort(keys, (size_t)n, sizeof *keys, key_qsort_cmp);
    lua_createtable(L, (int)(n < 1 << 20 ? n : 0), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, snap, keys[i - 1].pos);
        lua_rawseti(L, -2, i);
    }
    lua_replace(L, snap);
    lua_pop(L, 1); /* the entries */
    return n;
}

static int pairs_step(lua_State *L)
{
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer n = (lua_Integer)lua_rawlen(L, lua_upvalueindex(2));
    while (i < n) {
        i++;
        lua_rawgeti(L, lua_upvalueindex(2), i); /* the key */
        lua_pushvalue(L, -1);
        if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) { /* removed meanwhile: skipped */
            lua_pushinteger(L, i);
            lua_replace(L, lua_upvalueindex(3));
            return 2;
        }
        lua_pop(L, 2);
    }
    lua_pushinteger(L, n);
    lua_replace(L, lua_upvalueindex(3));
    lua_pushnil(L);
    return 1;
}

static int det_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    push_sorted_keys(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, pairs_step, 3);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* next(t, k): the smallest key after k (the first key when k is nil). */
static int det_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    key_entry after, best, cur;
    int have_after = !lua_isnil(L, 2), have_best = 0;
    if (have_after && !key_entry_of(L, 2, &after))
        return luaL_error(L, "%s", BAD_KEY);
    lua_pushnil(L); /* 3: the best key so far */
    uint64_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        n++;
        if (!key_entry_of(L, -1, &cur))
            return luaL_error(L, "%s", BAD_KEY);
        if (have_after && key_cmp(&cur, &after) <= 0)
            continue;
        if (!have_best || key_cmp(&cur, &best) < 0) {
            lua_pushvalue(L, -1);
            lua_replace(L, 3);
            key_entry_of(L, 3, &best); /* anchored in slot 3 */
            have_best = 1;
        }
    }
    sandbox_charge(L, n / 4 + 1);
    if (!have_best) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 3);
    lua_rawget(L, 1);
    return 2;
}

/* --- tostring, format, setmetatable, sort without addresses or clocks ------- */

/* Pushes v's text: scalars as Lua prints them (NaN as "nan" everywhere),
 * __tostring honoured, other values by their type's name only. */
static void push_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (luaL_callmeta(L, idx, "__tostring")) {
        if (!lua_isstring(L, -1))
            luaL_error(L, "'__tostring' must return a string");
        return;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx) && isnan(lua_tonumber(L, idx))) {
            lua_pushliteral(L, "nan");
            return;
        }
        /* fall through */
    case LUA_TSTRING:
    case LUA_TBOOLEAN:
    case LUA_TNIL: luaL_tolstring(L, idx, NULL); return;
    default: lua_pushstring(L, luaL_typename(L, idx)); return;
    }
}

static int det_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    push_text(L, 1);
    return 1;
}

/* string.format without '%p', tables and functions shown by push_text. */
static int det_format(lua_State *L)
{
    size_t len;
    const char *f = luaL_checklstring(L, 1, &len);
    int arg = 1;
    for (size_t i = 0; i < len; i++) {
        if (f[i] != '%')
            continue;
        if (++i < len && f[i] == '%')
            continue;
        while (i < len && strchr("-+ #0123456789.", f[i]))
            i++;
        if (i >= len)
            break;
        arg++;
        if (f[i] == 'p')
            return luaL_error(L, "string.format: '%%p' is not available in contracts");
        if (f[i] == 's' && arg <= lua_gettop(L)) {
            int t = lua_type(L, arg);
            if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD || t == LUA_TUSERDATA ||
                t == LUA_TLIGHTUSERDATA || (t == LUA_TNUMBER && !lua_isinteger(L, arg))) {
                push_text(L, arg);
                lua_replace(L, arg);
            }
        }
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the sandbox's metered format */
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

static int det_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__mode");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: weak tables (__mode) are not allowed in contracts");
        lua_pop(L, 1);
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the sandbox's (refuses __gc) */
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

/* --- lengths that depend on the content only ------------------------------ */

/* A border of t (t[n] ~= nil and t[n + 1] == nil, or 0) found by doubling
 * then bisection over raw reads: a function of the table's content, unlike
 * Lua's '#', which starts from the array part's size (see contract.h). For
 * a sequence it is its length. */
static lua_Integer content_border(lua_State *L, int t)
{
    t = lua_absindex(L, t);
    int present = lua_rawgeti(L, t, 1) != LUA_TNIL;
    lua_pop(L, 1);
    if (!present)
        return 0;
    lua_Integer lo = 1, hi = 2;
    uint64_t steps = 0;
    for (;;) {
        steps++;
        present = lua_rawgeti(L, t, hi) != LUA_TNIL;
        lua_pop(L, 1);
        if (!present)
            break;
        lo = hi;
        if (hi > LUA_MAXINTEGER / 2) {
            present = lua_rawgeti(L, t, LUA_MAXINTEGER) != LUA_TNIL;
            lua_pop(L, 1);
            if (present)
                return LUA_MAXINTEGER;
            hi = LUA_MAXINTEGER;
            break;
        }
        hi *= 2;
    }
    while (hi - lo > 1) {
        steps++;
        lua_Integer mid = lo + (hi - lo) / 2;
        present = lua_rawgeti(L, t, mid) != LUA_TNIL;
        lua_pop(L, 1);
        if (present)
            lo = mid;
        else
            hi = mid;
    }
    sandbox_charge(L, steps / 4 + 1);
    return lo;
}

/* The length of the value at idx: strings their bytes, tables their __len
 * or content_border, anything else as '#' would (its __len or an error). */
static lua_Integer det_length(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING)
        return (lua_Integer)lua_rawlen(L, idx);
    if (lua_type(L, idx) == LUA_TTABLE && luaL_getmetafield(L, idx, "__len") == LUA_TNIL)
        return content_border(L, idx);
    if (lua_type(L, idx) == LUA_TTABLE)
        lua_pop(L, 1);
    lua_len(L, idx);
    int isnum;
    lua_Integer n = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum)
        luaL_error(L, "object length is not an integer");
    return n;
}

static int det_len(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushinteger(L, det_length(L, 1));
    return 1;
}

static int det_rawlen(lua_State *L)
{
    int t = lua_type(L, 1);
    luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1, "table or string");
    lua_pushinteger(L, t == LUA_TSTRING ? (lua_Integer)lua_rawlen(L, 1) : content_border(L, 1));
    return 1;
}

static int det_insert(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer e = det_length(L, 1);
    if (e == LUA_MAXINTEGER)
        return luaL_error(L, "table.insert: the table is full");
    e++; /* first empty slot */
    lua_Integer pos;
    switch (lua_gettop(L)) {
    case 2: pos = e; break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        sandbox_charge(L, (uint64_t)(e - pos) + 1);
        for (lua_Integer i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default: return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos); /* the value, on top */
    return 0;
}

static int det_remove(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer size = det_length(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    lua_geti(L, 1, pos);
    if (pos < size)
        sandbox_charge(L, (uint64_t)(size - pos) + 1);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

/* table.concat/unpack with the end of the range (argument `at`) given
 * explicitly when omitted, then the sandbox's metered function (upvalue 1). */
static int with_end(lua_State *L, int at)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_gettop(L) < at)
        lua_settop(L, at);
    if (lua_isnil(L, at)) {
        lua_pushinteger(L, det_length(L, 1));
        lua_replace(L, at);
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

static int det_concat(lua_State *L)
{
    return with_end(L, 4);
}

static int det_unpack(lua_State *L)
{
    return with_end(L, 3);
}

static int sort_less(lua_State *L, int has_comp, int a, int b)
{
    a = lua_absindex(L, a);
    b = lua_absindex(L, b);
    if (!has_comp)
        return lua_compare(L, a, b, LUA_OPLT);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, a);
    lua_pushvalue(L, b);
    lua_call(L, 2, 1);
    int r = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

/* table.sort as a stable bottom-up merge sort: the same comparisons and
 * the same order in every run (see contract.h). */
static int det_sort(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = det_length(L, 1);
    int has_comp = !lua_isnoneornil(L, 2);
    if (has_comp)
        luaL_checktype(L, 2, LUA_TFUNCTION);
    if (n > INT32_MAX)
        return luaL_error(L, "table.sort: array too big");
    sandbox_charge(L, n_log_n((uint64_t)n) + 1);
    lua_settop(L, 2);
    lua_createtable(L, (int)n, 0); /* 3: src */
    lua_createtable(L, (int)n, 0); /* 4: dst */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        lua_rawseti(L, 3, i);
    }
    int src = 3, dst = 4;
    for (lua_Integer width = 1; width < n; width *= 2) {
        for (lua_Integer lo = 1; lo <= n; lo += 2 * width) {
            lua_Integer mid = lo + width < n + 1 ? lo + width : n + 1;
            lua_Integer hi = lo + 2 * width < n + 1 ? lo + 2 * width : n + 1;
            lua_Integer i = lo, j = mid, k = lo;
            while (i < mid || j < hi) {
                int take_right = 0;
                if (i >= mid) {
                    take_right = 1;
                } else if (j < hi) {
                    lua_rawgeti(L, src, j);
                    lua_rawgeti(L, src, i);
                    take_right = sort_less(L, has_comp, -2, -1); /* right < left: stable */
                    lua_pop(L, 2);
                }
                lua_rawgeti(L, src, take_right ? j++ : i++);
                lua_rawseti(L, dst, k++);
            }
        }
        int t = src;
        src = dst;
        dst = t;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, src, i);
        lua_seti(L, 1, i);
    }
    return 0;
}

/* --- integer arithmetic for money: overflow is an error, not a wrap ------- */

static lua_Integer int_arg(lua_State *L, int i)
{
    if (!lua_isinteger(L, i))
        luaL_typeerror(L, i, "integer");
    return lua_tointeger(L, i);
}

static int checked(lua_State *L, int overflow, lua_Integer r)
{
    if (overflow)
        return luaL_error(L, "integer overflow");
    lua_pushinteger(L, r);
    return 1;
}

static int math_add(lua_State *L)
{
    long long r;
    int overflow = __builtin_add_overflow((long long)int_arg(L, 1), (long long)int_arg(L, 2), &r);
    return checked(L, overflow, r);
}

static int math_sub(lua_State *L)
{
    long long r;
    int overflow = __builtin_sub_overflow((long long)int_arg(L, 1), (long long)int_arg(L, 2), &r);
    return checked(L, overflow, r);
}

static int math_mul(lua_State *L)
{
    long long r;
    int overflow = __builtin_mul_overflow((long long)int_arg(L, 1), (long long)int_arg(L, 2), &r);
    return checked(L, overflow, r);
}

/* a * b // d with a 128-bit product: shares in basis points of any amount */
static int math_muldiv(lua_State *L)
{
    __int128 a = int_arg(L, 1), b = int_arg(L, 2), d = int_arg(L, 3);
    if (d == 0)
        return luaL_error(L, "math.muldiv: division by zero");
    __int128 p = a * b, q = p / d;
    if ((p % d != 0) && ((p < 0) != (d < 0)))
        q--; /* floor, as // */
    return checked(L, q > INT64_MAX || q < INT64_MIN, (lua_Integer)q);
}

/* --- JSON <-> Lua ------------------------------------------------------------ */

static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Attaches v (a new reference) under parent (an array when key is NULL),
 * or as c->pending at the top. */
static void attach(call *c, json_t *parent, const char *key, size_t keylen, json_t *v)
{
    if (!parent)
        c->pending = v;
    else if (key)
        json_object_setn_new_nocheck(parent, key, keylen, v);
    else
        json_array_append_new(parent, v);
}

/* Converts the Lua value at idx to JSON, attached as attach() says; raises
 * a deterministic error for what JSON without floats cannot hold. Every
 * container is attached before it is filled, so an error leaks nothing. */
static void to_json(call *c, lua_State *L, int idx, int depth, const char *what, json_t *parent, const char *key,
                    size_t keylen)
{
    idx = lua_absindex(L, idx);
    sandbox_charge(L, 1);
    /* bounds the C memory a conversion takes outside the state's cap: each
     * element costs at least its separator, each string its bytes */
    size_t cost = 2 + (lua_type(L, idx) == LUA_TSTRING ? lua_rawlen(L, idx) : 0);
    if (cost > c->conv_left)
        luaL_error(L, "a value of more than %d bytes of JSON cannot be %s by a contract", (int)c->conv_max, what);
    c->conv_left -= cost;
    json_t *v = NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        if (parent)
            luaL_error(L, "a nil cannot be %s inside a table", what);
        v = json_null();
        break;
    case LUA_TBOOLEAN: v = json_boolean(lua_toboolean(L, idx)); break;
    case LUA_TNUMBER:
        if (!lua_isinteger(L, idx))
            luaL_error(L, "a float cannot be %s by a contract (use integers)", what);
        v = json_integer((json_int_t)lua_tointeger(L, idx));
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        sandbox_charge(L, len / 64);
        if (!utf8_valid((const unsigned char *)s, len))
            luaL_error(L, "a string that is not UTF-8 text cannot be %s by a contract", what);
        v = json_stringn_nocheck(s, len);
        break;
    }
    case LUA_TTABLE: {
        if (depth >= CONTRACT_JSON_DEPTH)
            luaL_error(L, "a value nested deeper than %d tables cannot be %s by a contract", CONTRACT_JSON_DEPTH,
                       what);
        luaL_checkstack(L, 8, "value nested too deeply");
        lua_Integer n = push_sorted_keys(L, idx);
        int keys = lua_gettop(L);
        int is_array = 1, is_object = 1;
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, keys, i);
            if (lua_type(L, -1) == LUA_TSTRING)
                is_array = 0;
            else
                is_object = 0;
            if (is_array && lua_tointeger(L, -1) != i)
                is_array = 0;
            lua_pop(L, 1);
        }
        if (n > 0 && !is_array && !is_object)
            luaL_error(L, "a table with keys other than 1..n or strings only cannot be %s by a contract", what);
        if (n > 0 && is_object) {
            for (lua_Integer i = 1; i <= n; i++) {
                size_t kl;
                lua_rawgeti(L, keys, i);
                const char *k = lua_tolstring(L, -1, &kl);
                if (memchr(k, 0, kl) || !utf8_valid((const unsigned char *)k, kl))
                    luaL_error(L, "an object key that is not UTF-8 text cannot be %s by a contract", what);
                lua_pop(L, 1);
            }
        }
        json_t *container = n > 0 && is_array ? json_array() : json_object();
        if (!container)
            luaL_error(L, "out of memory");
        attach(c, parent, key, keylen, container);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, keys, i); /* key */
            lua_pushvalue(L, -1);
            lua_rawget(L, idx); /* value */
            size_t kl = 0;
            const char *k = is_array ? NULL : lua_tolstring(L, -2, &kl);
            to_json(c, L, -1, depth + 1, what, container, k, kl);
            lua_pop(L, 2);
        }
        lua_pop(L, 1); /* keys */
        return;
    }
    default: luaL_error(L, "a %s cannot be %s by a contract", luaL_typename(L, idx), what);
    }
    if (!v)
        luaL_error(L, "out of memory");
    attach(c, parent, key, keylen, v);
}

/* Converts and takes the value at idx (the caller owns the result). */
/* Parks v as the value being converted (a value left there by an error a
 * pcall caught is freed now). */
static void park(call *c, json_t *v)
{
    json_decref(c->pending);
    c->pending = v;
}

static void conv_begin(call *c, size_t max)
{
    c->conv_left = c->conv_max = max;
}

static json_t *take_json(call *c, lua_State *L, int idx, const char *what, size_t max)
{
    park(c, NULL);
    conv_begin(c, max);
    to_json(c, L, idx, 0, what, NULL, NULL, 0);
    json_t *v = c->pending;
    c->pending = NULL;
    return v;
}

/* 0 when v is JSON without floats (nulls only at the top); the reason else. */
static const char *check_json(const json_t *v, int depth, int top)
{
    if (depth > CONTRACT_JSON_DEPTH)
        return "nested too deeply";
    switch (json_typeof(v)) {
    case JSON_REAL: return "floats are not allowed (use integers)";
    case JSON_NULL: return top ? NULL : "null is not allowed inside arrays or objects";
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *r = check_json(e, depth + 1, 0);
            if (r)
                return r;
        }
        return NULL;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            const char *r = check_json(e, depth + 1, 0);
            if (r)
                return r;
        }
        return NULL;
    }
    default: return NULL;
    }
}

/* Pushes v (checked by check_json) as a Lua value. */
static void push_json(lua_State *L, const json_t *v)
{
    luaL_checkstack(L, 4, "value nested too deeply");
    sandbox_charge(L, 1);
    switch (json_typeof(v)) {
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_STRING:
        sandbox_charge(L, json_string_length(v) / 64);
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        lua_createtable(L, n < 1u << 20 ? (int)n : 0, 0);
        for (size_t i = 0; i < n; i++) {
            push_json(L, json_array_get(v, i));
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        lua_newtable(L);
        json_object_foreach((json_t *)v, k, e)
        {
            lua_pushstring(L, k);
            push_json(L, e);
            lua_rawset(L, -3);
        }
        break;
    }
    default: lua_pushnil(L); break;
    }
}

static char *dump_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* --- the host API ------------------------------------------------------------ */

static const contract_host *host_of(lua_State *L, call *c, const char *name, const void *fn)
{
    sandbox_charge(L, CONTRACT_GAS_HOST_CALL);
    if (!c->host || !fn)
        luaL_error(L, "%s is not available here", name);
    return c->host;
}

static lua_Integer positive_amount(lua_State *L, int idx, const char *name)
{
    if (!lua_isinteger(L, idx))
        luaL_error(L, "%s: the amount must be an integer", name);
    lua_Integer a = lua_tointeger(L, idx);
    if (a <= 0)
        luaL_error(L, "%s: the amount must be positive", name);
    return a;
}

static int api_balance(lua_State *L)
{
    call *c = call_of(L);
    const char *id = luaL_checkstring(L, 1);
    const contract_host *h = host_of(L, c, "ledger.balance", c->host ? (const void *)c->host->balance : NULL);
    char err[256] = "";
    int64_t bal = 0;
    if (h->balance(h->arg, id, &bal, err, sizeof err))
        return luaL_error(L, "ledger.balance: %s", err);
    lua_pushinteger(L, bal);
    return 1;
}

static int api_transfer(lua_State *L)
{
    call *c = call_of(L);
    const char *from = luaL_checkstring(L, 1), *to = luaL_checkstring(L, 2);
    lua_Integer amount = positive_amount(L, 3, "ledger.transfer");
    const contract_host *h = host_of(L, c, "ledger.transfer", c->host ? (const void *)c->host->transfer : NULL);
    char err[256] = "";
    if (h->transfer(h->arg, from, to, amount, err, sizeof err))
        return luaL_error(L, "ledger.transfer: %s", err);
    return 0;
}

static int api_mint(lua_State *L)
{
    call *c = call_of(L);
    const char *to = luaL_checkstring(L, 1);
    lua_Integer amount = positive_amount(L, 2, "ledger.mint");
    const char *reason = luaL_optstring(L, 3, "");
    const contract_host *h = host_of(L, c, "ledger.mint", c->host ? (const void *)c->host->mint : NULL);
    char err[256] = "";
    if (h->mint(h->arg, to, amount, reason, err, sizeof err))
        return luaL_error(L, "ledger.mint: %s", err);
    return 0;
}

static const uint8_t *storage_key(lua_State *L, size_t *len, const char *name)
{
    const char *k = luaL_checklstring(L, 1, len);
    if (*len == 0 || *len > CONTRACT_KEY_MAX)
        luaL_error(L, "%s: a key has 1 to %d bytes", name, CONTRACT_KEY_MAX);
    return (const uint8_t *)k;
}

static contract_write *find_write(call *c, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < c->nwrites; i++)
        if (c->writes[i].keylen == len && !memcmp(c->writes[i].key, key, len))
            return &c->writes[i];
    return NULL;
}

static int api_storage_get(lua_State *L)
{
    call *c = call_of(L);
    size_t klen;
    const uint8_t *key = storage_key(L, &klen, "storage.get");
    contract_write *w = find_write(c, key, klen);
    const char *text = NULL;
    size_t tlen = 0;
    char *fetched = NULL;
    if (w) {
        sandbox_charge(L, CONTRACT_GAS_HOST_CALL);
        text = w->value;
        tlen = w->valuelen;
    } else {
        const contract_host *h =
            host_of(L, c, "storage.get", c->host ? (const void *)c->host->storage_get : NULL);
        char err[256] = "";
        if (h->storage_get(h->arg, key, klen, &fetched, &tlen, err, sizeof err)) {
            free(fetched);
            return luaL_error(L, "storage.get: %s", err);
        }
        text = fetched;
    }
    if (!text) {
        lua_pushnil(L);
        return 1;
    }
    sandbox_charge(L, tlen / 64);
    json_t *v = json_loadb(text, tlen, JSON_DECODE_ANY, NULL);
    free(fetched);
    if (!v || check_json(v, 0, 1)) {
        json_decref(v);
        return luaL_error(L, "storage.get: the stored value is not contract JSON");
    }
    /* v must not leak if pushing raises: park it as pending */
    park(c, v);
    push_json(L, v);
    park(c, NULL);
    return 1;
}

static int api_storage_set(lua_State *L)
{
    call *c = call_of(L);
    size_t klen;
    const uint8_t *key = storage_key(L, &klen, "storage.set");
    lua_settop(L, 2);
    sandbox_charge(L, CONTRACT_GAS_HOST_CALL);
    char *text = NULL;
    size_t tlen = 0;
    if (!lua_isnil(L, 2)) {
        json_t *v = take_json(c, L, 2, "stored", CONTRACT_VALUE_MAX);
        text = dump_canonical(v);
        json_decref(v);
        if (!text)
            return luaL_error(L, "out of memory");
        tlen = strlen(text);
        if (tlen > CONTRACT_VALUE_MAX) {
            free(text);
            return luaL_error(L, "storage.set: a value has at most %d bytes of JSON", CONTRACT_VALUE_MAX);
        }
    }
    contract_write *w = find_write(c, key, klen);
    if (!w) {
        if (c->nwrites >= CONTRACT_WRITES_MAX || 0) {
            free(text);
            return luaL_error(L, "storage.set: at most %d keys per call", CONTRACT_WRITES_MAX);
        }
        if (c->nwrites == c->capwrites) {
            size_t cap = c->capwrites * 2 + 8;
            contract_write *n = realloc(c->writes, cap * sizeof *n);
            if (!n) {
                free(text);
                return luaL_error(L, "out of memory");
            }
            c->writes = n;
            c->capwrites = cap;
        }
        w = &c->writes[c->nwrites];
        memset(w, 0, sizeof *w);
        w->key = malloc(klen);
        if (!w->key) {
            free(text);
            return luaL_error(L, "out of memory");
        }
        memcpy(w->key, key, klen);
        w->keylen = klen;
        c->nwrites++;
    }
    free(w->value);
    w->value = text;
    w->valuelen = tlen;
    /* charged after the write is recorded, so an out-of-gas here frees it
     * with the call; the charge makes the write all the same */
    sandbox_charge(L, (uint64_t)(klen + tlen) * CONTRACT_GAS_STORAGE_BYTE);
    return 0;
}

static int api_emit(lua_State *L)
{
    call *c = call_of(L);
    size_t nlen;
    const char *name = luaL_checklstring(L, 1, &nlen);
    lua_settop(L, 2);
    sandbox_charge(L, CONTRACT_GAS_HOST_CALL);
    if (nlen == 0 || nlen > 64 || !utf8_valid((const unsigned char *)name, nlen) || memchr(name, 0, nlen))
        return luaL_error(L, "emit: a name is 1 to 64 bytes of text");
    if (json_array_size(c->events) >= CONTRACT_EVENTS_MAX)
        return luaL_error(L, "emit: at most %d events per call", CONTRACT_EVENTS_MAX);
    /* built whole before it joins the events: an error caught by pcall
     * leaves no half event behind */
    json_t *ev = json_object();
    park(c, ev);
    if (!ev || json_object_set_new(ev, "name", json_stringn(name, nlen)))
        return luaL_error(L, "out of memory");
    if (lua_isnil(L, 2)) {
        json_object_set_new(ev, "fields", json_object());
    } else {
        conv_begin(c, CONTRACT_EVENT_MAX);
        to_json(c, L, 2, 0, "emitted", ev, "fields", 6);
    }
    char *text = dump_canonical(ev);
    size_t tlen = text ? strlen(text) : 0;
    free(text);
    if (tlen > CONTRACT_EVENT_MAX)
        return luaL_error(L, "emit: an event has at most %d bytes of JSON", CONTRACT_EVENT_MAX);
    c->pending = NULL;
    json_array_append_new(c->events, ev);
    sandbox_charge(L, (uint64_t)tlen * CONTRACT_GAS_EVENT_BYTE);
    return 0;
}

static uint64_t rng_next(call *c)
{
    if (c->rng_pos + 8 > sizeof c->rng_block || c->rng_counter == 0) {
        uint8_t ctr[8];
        for (int i = 0; i < 8; i++)
            ctr[i] = (uint8_t)(c->rng_counter >> (8 * i));
        crypto_generichash(c->rng_block, sizeof c->rng_block, ctr, sizeof ctr, c->rng_key, sizeof c->rng_key);
        c->rng_counter++;
        c->rng_pos = 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)c->rng_block[c->rng_pos + (size_t)i] << (8 * i);
    c->rng_pos += 8;
    return v;
}

static int api_random(lua_State *L)
{
    call *c = call_of(L);
    host_of(L, c, "random", c->host);
    int n = lua_gettop(L);
    if (n == 0) {
        lua_pushinteger(L, (lua_Integer)(rng_next(c) >> 1));
        return 1;
    }
    lua_Integer lo = 1, hi;
    if (n == 1) {
        hi = luaL_checkinteger(L, 1);
    } else {
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
    }
    if (lo > hi)
        return luaL_error(L, "random: the interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo; /* + 1 may wrap to 0: the full range */
    uint64_t v;
    if (span == UINT64_MAX) {
        v = rng_next(c);
    } else {
        uint64_t range = span + 1, limit = UINT64_MAX - UINT64_MAX % range;
        do
            v = rng_next(c);
        while (v >= limit);
        v %= range;
    }
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + v));
    return 1;
}

/* --- the state ------------------------------------------------------------------ */

static const char *const removed_globals[] = { "io",      "debug",          "package", "os",       "coroutine",
                                               "load",    "require",        "print",   "dofile",   "loadfile",
                                               "loadstring", "collectgarbage", "module", NULL };

static int removed_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        for (size_t i = 0; removed_globals[i]; i++)
            if (!strcmp(removed_globals[i], k))
                return luaL_error(L, "%s is not available in contracts", k);
    }
    return 0;
}

static void wrap(lua_State *L, int t, const char *name, lua_CFunction f)
{
    lua_getfield(L, t, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, t, name);
}

/* The determinism layer and the host API (runs protected: it allocates). */
static int setup(lua_State *L)
{
    call *c = lua_touserdata(L, 1);
    lua_pushlightuserdata(L, c);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CALL);
    lua_pushglobaltable(L); /* 2 */
    for (size_t i = 0; removed_globals[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, 2, removed_globals[i]);
    }
    lua_pushcfunction(L, det_pairs);
    lua_setfield(L, 2, "pairs");
    lua_pushcfunction(L, det_next);
    lua_setfield(L, 2, "next");
    lua_pushcfunction(L, det_tostring);
    lua_setfield(L, 2, "tostring");
    wrap(L, 2, "setmetatable", det_setmetatable);
    lua_newtable(L);
    lua_pushcfunction(L, removed_index);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, 2);

    lua_getfield(L, 2, "string"); /* 3 */
    wrap(L, 3, "format", det_format);
    lua_pop(L, 1);
    lua_getfield(L, 2, "table"); /* 3 */
    static const luaL_Reg tables[] = { { "sort", det_sort }, { "insert", det_insert }, { "remove", det_remove },
                                       { NULL, NULL } };
    luaL_setfuncs(L, tables, 0);
    wrap(L, 3, "concat", det_concat);
    wrap(L, 3, "unpack", det_unpack);
    lua_pop(L, 1);
    lua_pushcfunction(L, det_len);
    lua_setfield(L, 2, "len");
    lua_pushcfunction(L, det_rawlen);
    lua_setfield(L, 2, "rawlen");
    lua_getfield(L, 2, "math");
    lua_pushnil(L);
    lua_setfield(L, -2, "random");
    lua_pushnil(L);
    lua_setfield(L, -2, "randomseed");
    /* libm's transcendental functions are not correctly rounded: two glibc
     * versions may differ in the last bit, which math.floor can make an
     * integer's difference */
    static const char *const libm[] = { "sin", "cos", "tan", "asin", "acos", "atan", "exp", "log", NULL };
    for (size_t i = 0; libm[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, libm[i]);
    }
    static const luaL_Reg money[] = { { "add", math_add }, { "sub", math_sub }, { "mul", math_mul },
                                      { "muldiv", math_muldiv }, { NULL, NULL } };
    luaL_setfuncs(L, money, 0);
    lua_pop(L, 1);

    const contract_host *h = c->host;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, h && h->caller ? h->caller : "");
    lua_setfield(L, -2, "caller");
    lua_pushstring(L, h && h->contract ? h->contract : "");
    lua_setfield(L, -2, "contract");
    lua_pushinteger(L, h ? h->pulse : 0);
    lua_setfield(L, -2, "pulse");
    lua_setfield(L, 2, "ctx");
    static const luaL_Reg ledger[] = { { "balance", api_balance }, { "transfer", api_transfer },
                                       { "mint", api_mint },       { NULL, NULL } };
    luaL_newlib(L, ledger);
    lua_setfield(L, 2, "ledger");
    static const luaL_Reg storage[] = { { "get", api_storage_get }, { "set", api_storage_set }, { NULL, NULL } };
    luaL_newlib(L, storage);
    lua_setfield(L, 2, "storage");
    lua_pushcfunction(L, api_emit);
    lua_setfield(L, 2, "emit");
    lua_pushcfunction(L, api_random);
    lua_setfield(L, 2, "random");
    lua_newthread(L); /* the call's thread: made here, where a memory error is caught */
    return 1;
}

/* If src[i] opens a long bracket ([[, [=[, ...), its level (number of
 * '='); else -1. */
static int long_bracket(const char *src, size_t len, size_t i)
{
    if (src[i] != '[')
        return -1;
    size_t j = i + 1;
    while (j < len && src[j] == '=')
        j++;
    return j < len && src[j] == '[' ? (int)(j - i - 1) : -1;
}

/* Skips a long bracket of `level` opened at i; returns the index after it
 * (len when unterminated: the compiler reports that). */
static size_t skip_long(const char *src, size_t len, size_t i, int level, int *line)
{
    for (i += (size_t)level + 2; i < len; i++) {
        if (src[i] == '\n')
            (*line)++;
        if (src[i] == ']') {
            size_t j = i + 1;
            while (j < len && src[j] == '=')
                j++;
            if (j < len && src[j] == ']' && (int)(j - i - 1) == level)
                return j + 1;
        }
    }
    return len;
}

/* The length operator '#' follows the table's internal layout (contract.h):
 * refused wherever it appears as a token (not in strings or comments). */
static int refuse_length_operator(const char *src, size_t len, char *err, size_t errlen)
{
    int line = 1;
    size_t i = 0;
    while (i < len) {
        char ch = src[i];
        int level;
        if (ch == '\n') {
            line++;
            i++;
        } else if (ch == '-' && i + 1 < len && src[i + 1] == '-') {
            i += 2;
            if (i < len && (level = long_bracket(src, len, i)) >= 0) {
                i = skip_long(src, len, i, level, &line);
            } else {
                while (i < len && src[i] != '\n')
                    i++;
            }
        } else if ((level = long_bracket(src, len, i)) >= 0) {
            i = skip_long(src, len, i, level, &line);
        } else if (ch == '"' || ch == '\'') {
            for (i++; i < len && src[i] != ch && src[i] != '\n'; i++) {
                if (src[i] == '\\' && i + 1 < len) {
                    i++;
                    if (src[i] == '\n')
                        line++;
                }
            }
            i++;
        } else if (ch == '#') {
            snprintf(err, errlen,
                     "contract:%d: the length operator '#' is not available in contracts (use len(x))", line);
            return -1;
        } else {
            i++;
        }
    }
    return 0;
}

static int valid_name(const char *s)
{
    if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* The call itself, run in a thread of the state: arg 1 is the compiled chunk. */
static int run(lua_State *L)
{
    call *c = call_of(L);
    sandbox_charge(L, CONTRACT_GAS_CALL + c->srclen / 16);
    lua_settop(L, 1);
    lua_call(L, 0, 1); /* 1: the module */
    if (!lua_istable(L, 1))
        return luaL_error(L, "a contract must return a table of functions (it returned a %s)", luaL_typename(L, 1));
    if (c->check_only) {
        lua_Integer n = push_sorted_keys(L, 1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 2, i);
            if (lua_type(L, -1) != LUA_TSTRING || !valid_name(lua_tostring(L, -1)) || lua_rawget(L, 1) != LUA_TFUNCTION)
                return luaL_error(L, "a contract's table holds only functions under names");
            lua_pop(L, 1);
        }
        return 0;
    }
    lua_pushstring(L, c->fn);
    if (lua_rawget(L, 1) != LUA_TFUNCTION) {
        c->no_function = 1;
        return luaL_error(L, "the contract has no function '%s'", c->fn);
    }
    size_t nargs = c->args ? json_array_size(c->args) : 0;
    luaL_checkstack(L, (int)nargs + 4, "too many arguments");
    for (size_t i = 0; i < nargs; i++)
        push_json(L, json_array_get(c->args, i));
    lua_call(L, (int)nargs, 1);
    c->result = take_json(c, L, -1, "returned", CONTRACT_RESULT_MAX);
    return 0;
}

static void call_free(call *c)
{
    json_decref(c->pending);
    json_decref(c->result);
    json_decref(c->events);
    for (size_t i = 0; i < c->nwrites; i++) {
        free(c->writes[i].key);
        free(c->writes[i].value);
    }
    free(c->writes);
    memset(c, 0, sizeof *c);
}

static int write_cmp(const void *a, const void *b)
{
    const contract_write *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int r = memcmp(x->key, y->key, n);
    return r ? r : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static enum contract_status limit_status(const char *msg)
{
    if (!strncmp(msg, "instruction budget", 18))
        return CONTRACT_OUT_OF_GAS;
    if (!strncmp(msg, "memory limit", 12))
        return CONTRACT_MEMORY;
    return CONTRACT_WALL;
}

static enum contract_status execute(call *c, const char *src, size_t len, const contract_limits *limits,
                                    uint64_t *gas_used, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    *gas_used = 0;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return CONTRACT_ERROR;
    }
    uint64_t gas = limits && limits->gas ? limits->gas : CONTRACT_GAS_DEFAULT;
    sandbox_limits sl = {
        .memory_max = limits && limits->memory_max ? limits->memory_max : CONTRACT_MEMORY_DEFAULT,
        .instructions = gas,
        .wall_ms = limits && limits->wall_ms ? limits->wall_ms : 10000,
    };
    c->srclen = len;
    c->events = json_array();
    if (!c->events) {
        snprintf(err, errlen, "out of memory");
        return CONTRACT_ERROR;
    }
    if (c->host) {
        uint8_t seed[2 * CONTRACT_SEED_BYTES];
        memcpy(seed, c->host->seed_root, CONTRACT_SEED_BYTES);
        memcpy(seed + CONTRACT_SEED_BYTES, c->host->seed_call, CONTRACT_SEED_BYTES);
        crypto_generichash(c->rng_key, sizeof c->rng_key, seed, sizeof seed, NULL, 0);
    }
    if (refuse_length_operator(src, len, err, errlen))
        return CONTRACT_ERROR;
    char why[256];
    sandbox *sb = sandbox_new(&sl, NULL, NULL, why, sizeof why);
    if (!sb) {
        snprintf(err, errlen, "%s", why);
        return CONTRACT_MEMORY;
    }
    lua_State *L = sandbox_lua(sb);
    enum contract_status st = CONTRACT_ERROR;
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot set up the contract state: %s", lua_tostring(L, -1));
        st = CONTRACT_MEMORY;
        goto out;
    }
    lua_State *co = lua_tothread(L, -1); /* anchored on L's stack */
    lua_pushcfunction(co, run);
    if (sandbox_load(sb, src, len, "contract", err, errlen) != SANDBOX_OK) {
        if (sandbox_spent(sb))
            st = CONTRACT_MEMORY;
        goto out;
    }
    lua_xmove(L, co, 1);
    sandbox_budget budget;
    sandbox_budget_init(sb, &budget);
    int nres = 0;
    enum sandbox_status ss = sandbox_resume(sb, co, &budget, 1, &nres, err, errlen, NULL, 0);
    *gas_used = budget.left < 0 ? gas : gas - (uint64_t)budget.left;
    if (ss == SANDBOX_OK) {
        st = CONTRACT_OK;
    } else if (ss == SANDBOX_LIMIT) {
        st = limit_status(err);
        if (st == CONTRACT_OUT_OF_GAS || st == CONTRACT_MEMORY)
            *gas_used = gas; /* where the memory cap is met varies a little (contract.h) */
        if (st == CONTRACT_OUT_OF_GAS)
            snprintf(err, errlen, "out of gas (%llu)", (unsigned long long)gas);
    } else if (ss == SANDBOX_YIELD) {
        snprintf(err, errlen, "a contract cannot yield");
    } else {
        st = c->no_function ? CONTRACT_NO_FUNCTION : CONTRACT_ERROR;
    }
out:
    sandbox_free(sb);
    return st;
}

enum contract_status contract_check(const char *src, size_t len, const contract_limits *limits, char *err,
                                    size_t errlen)
{
    call c;
    memset(&c, 0, sizeof c);
    c.check_only = 1;
    uint64_t gas;
    enum contract_status st = execute(&c, src, len, limits, &gas, err, errlen);
    call_free(&c);
    return st;
}

enum contract_status contract_call(const char *src, size_t len, const char *fn, const json_t *args,
                                   const contract_host *host, const contract_limits *limits, contract_outcome *out,
                                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    if (!valid_name(fn)) {
        snprintf(err, errlen, "a function name is [A-Za-z_][A-Za-z0-9_]*");
        return CONTRACT_NO_FUNCTION;
    }
    if (args && !json_is_array(args)) {
        snprintf(err, errlen, "arguments: a JSON array is expected");
        return CONTRACT_ERROR;
    }
    const char *bad = args ? check_json(args, 0, 0) : NULL;
    if (bad) {
        snprintf(err, errlen, "arguments: %s", bad);
        return CONTRACT_ERROR;
    }
    call c;
    memset(&c, 0, sizeof c);
    c.host = host;
    c.fn = fn;
    c.args = args;
    enum contract_status st = execute(&c, src, len, limits, &out->gas_used, err, errlen);
    if (st == CONTRACT_OK) {
        out->result = c.result ? c.result : json_null();
        out->events = c.events;
        if (c.nwrites)
            qsort(c.writes, c.nwrites, sizeof *c.writes, write_cmp);
        out->writes = c.writes;
        out->nwrites = c.nwrites;
        c.result = c.events = NULL;
        c.writes = NULL;
        c.nwrites = 0;
    }
    call_free(&c);
    return st;
}

void contract_outcome_free(contract_outcome *out)
{
    if (!out)
        return;
    json_decref(out->result);
    json_decref(out->events);
    for (size_t i = 0; i < out->nwrites; i++) {
        free(out->writes[i].key);
        free(out->writes[i].value);
    }
    free(out->writes);
    memset(out, 0, sizeof *out);
}

const char *contract_strerror(enum contract_status status)
{
    switch (status) {
    case CONTRACT_OK: return "ok";
    case CONTRACT_ERROR: return "error";
    case CONTRACT_OUT_OF_GAS: return "out of gas";
    case CONTRACT_MEMORY: return "memory limit";
    case CONTRACT_WALL: return "wall-clock limit";
    case CONTRACT_NO_FUNCTION: return "no such function";
    }
    return "contract error";
}
