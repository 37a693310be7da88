/*
 * lua_api: the `leither` table app code gets (see lua/README.md): its
 * databases, MiMei, organizations' ledgers, JSON, crypto, logging. Every function takes the app's
 * context as its upvalue; what app code may reach is decided here: its
 * own database for writing, public databases for reading, public MiMei
 * (or its author's) for reading.
 */
#include "lua_api.h"

#include "db.h"
#include "embedded.h"
#include "ledger_node.h"
#include "mimei.h"
#include "resp.h"
#include "sandbox.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JSON_MAX_DEPTH 200 /* levels of nesting, in and out */
#define READ_MAX (16u << 20) /* leither.mimei.read: larger files are for the gateway */

static app_ctx *ctx_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* --- leither.json ---------------------------------------------------------- */

/* JSON is read straight into Lua values and written from them into a Lua
 * userdata, never through a tree in C memory: everything it builds counts
 * against the app's memory limit, and an error anywhere (the limit, the
 * instruction budget, bad input) leaves nothing behind but garbage the
 * collector frees. The text in or out may be at most a quarter of the
 * app's memory limit; nesting at most JSON_MAX_DEPTH levels. */
#define JSON_TEXT_SHARE 4 /* the text may use 1/4 of the memory limit */

static const char LUA_JSON_NULL[] = "leither.json.null";
static const char LUA_JSON_OBJECT[] = "leither.json.object";

static size_t json_text_max(lua_State *L) { return sandbox_memory_limit(L) / JSON_TEXT_SHARE; }

/* The length of the valid UTF-8 sequence at p (1 to 4), 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are not). */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!n || (size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

static int utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        size_t n = utf8_sequence(p, end);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

/* decode: JSON text to Lua values */

typedef struct {
    lua_State *L;
    const unsigned char *start, *p, *end;
    int depth;
} json_reader;

static int read_fail(json_reader *r, const char *what)
{
    int line = 1;
    const unsigned char *line_start = r->start;
    for (const unsigned char *q = r->start; q < r->p; q++)
        if (*q == '\n') {
            line++;
            line_start = q + 1;
        }
    return luaL_error(r->L, "invalid JSON at line %d, column %d: %s", line, (int)(r->p - line_start) + 1, what);
}

static void skip_space(json_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The four hex digits after "\u" at p, or -1. */
static long read_hex4(json_reader *r)
{
    if (r->end - r->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(r->p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    r->p += 4;
    return v;
}

static size_t utf8_encode(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The escape after a backslash (r->p past it), appended to b. */
static void read_escape(json_reader *r, luaL_Buffer *b)
{
    if (r->p >= r->end)
        read_fail(r, "unterminated string");
    int c = *r->p++;
    const char *simple = strchr("\"\\/bfnrt", c);
    if (simple && c) {
        static const char plain[] = "\"\\/\b\f\n\r\t";
        luaL_addchar(b, plain[simple - "\"\\/bfnrt"]);
        return;
    }
    if (c != 'u')
        read_fail(r, "invalid escape");
    long cp = read_hex4(r);
    if (cp < 0)
        read_fail(r, "invalid escape");
    if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
        long low = -1;
        if (r->end - r->p >= 2 && r->p[0] == '\\' && r->p[1] == 'u') {
            r->p += 2;
            low = read_hex4(r);
        }
        if (low < 0xdc00 || low > 0xdfff)
            read_fail(r, "invalid Unicode escape (a lone surrogate)");
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        read_fail(r, "invalid Unicode escape (a lone surrogate)");
    } else if (cp == 0) {
        read_fail(r, "\\u0000 is not allowed in strings");
    }
    char utf8[4];
    luaL_addlstring(b, utf8, utf8_encode(utf8, (unsigned long)cp));
}

/* A string (r->p at its opening quote), pushed. While the buffer is in use
 * nothing else goes on the stack. */
static void read_string(json_reader *r)
{
    r->p++;
    const unsigned char *run = r->p;
    luaL_Buffer b;
    int buffered = 0;
    for (;;) {
        if (r->p >= r->end)
            read_fail(r, "unterminated string");
        unsigned c = *r->p;
        if (c == '"')
            break;
        if (c < 0x20)
            read_fail(r, "control character in a string");
        if (c == '\\') {
            if (!buffered) {
                luaL_buffinit(r->L, &b);
                buffered = 1;
            }
            luaL_addlstring(&b, (const char *)run, (size_t)(r->p - run));
            r->p++;
            read_escape(r, &b);
            run = r->p;
            continue;
        }
        size_t n = utf8_sequence(r->p, r->end);
        if (!n)
            read_fail(r, "invalid UTF-8 in a string");
        r->p += n;
    }
    if (buffered) {
        luaL_addlstring(&b, (const char *)run, (size_t)(r->p - run));
        luaL_pushresult(&b);
    } else {
        lua_pushlstring(r->L, (const char *)run, (size_t)(r->p - run));
    }
    r->p++;
}

static void read_number(json_reader *r)
{
    const unsigned char *start = r->p;
    int negative = 0, integer = 1;
    if (*r->p == '-') {
        negative = 1;
        r->p++;
    }
    if (r->p < r->end && *r->p == '0') {
        r->p++;
        if (r->p < r->end && is_digit(*r->p))
            read_fail(r, "invalid number (a leading zero)");
    } else if (r->p < r->end && is_digit(*r->p)) {
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    } else {
        read_fail(r, "invalid number");
    }
    const unsigned char *digits_end = r->p;
    if (r->p < r->end && *r->p == '.') {
        integer = 0;
        r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            read_fail(r, "invalid number");
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        integer = 0;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
            read_fail(r, "invalid number");
        while (r->p < r->end && is_digit(*r->p))
            r->p++;
    }
    if (integer) {
        uint64_t v = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const unsigned char *q = start + negative; q < digits_end; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (v > (limit - d) / 10)
                read_fail(r, negative ? "too big negative integer" : "too big integer");
            v = v * 10 + d;
        }
        lua_pushinteger(r->L, negative ? (lua_Integer)(0 - v) : (lua_Integer)v);
        return;
    }
    /* strtod on a NUL-terminated copy (the token only: it would read hex) */
    size_t len = (size_t)(r->p - start);
    char small[64];
    const char *text = small;
    if (len < sizeof small) {
        memcpy(small, start, len);
        small[len] = '\0';
    } else {
        text = lua_pushlstring(r->L, (const char *)start, len);
    }
    errno = 0;
    double v = strtod(text, NULL);
    if (text != small)
        lua_pop(r->L, 1);
    if (errno == ERANGE && isinf(v))
        read_fail(r, "real number overflow");
    lua_pushnumber(r->L, v);
}

static void read_literal(json_reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        read_fail(r, "invalid token");
    r->p += n;
}

static void read_value(json_reader *r);

static void enter(json_reader *r)
{
    if (++r->depth > JSON_MAX_DEPTH)
        luaL_error(r->L, "JSON nested too deeply (more than %d levels)", JSON_MAX_DEPTH);
    luaL_checkstack(r->L, 4, "JSON nested too deeply");
    sandbox_charge(r->L, 1); /* a table per container: the budget sees a flood of tiny ones */
}

static void read_object(json_reader *r)
{
    enter(r);
    r->p++;
    lua_newtable(r->L);
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
    } else {
        for (;;) {
            skip_space(r);
            if (r->p >= r->end || *r->p != '"')
                read_fail(r, "string or '}' expected");
            read_string(r);
            skip_space(r);
            if (r->p >= r->end || *r->p != ':')
                read_fail(r, "':' expected");
            r->p++;
            read_value(r);
            lua_rawset(r->L, -3); /* a repeated key: the last one wins */
            skip_space(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == '}') {
                r->p++;
                break;
            }
            read_fail(r, "',' or '}' expected");
        }
    }
    luaL_setmetatable(r->L, LUA_JSON_OBJECT); /* so that {} encodes back as {} */
    r->depth--;
}

static void read_array(json_reader *r)
{
    enter(r);
    r->p++;
    lua_newtable(r->L);
    skip_space(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
    } else {
        for (lua_Integer i = 1;; i++) {
            read_value(r);
            lua_rawseti(r->L, -2, i);
            skip_space(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == ']') {
                r->p++;
                break;
            }
            read_fail(r, "',' or ']' expected");
        }
    }
    r->depth--;
}

static void read_value(json_reader *r)
{
    skip_space(r);
    if (r->p >= r->end)
        read_fail(r, "unexpected end of input");
    switch (*r->p) {
    case '{': read_object(r); break;
    case '[': read_array(r); break;
    case '"': read_string(r); break;
    case 't': read_literal(r, "true"); lua_pushboolean(r->L, 1); break;
    case 'f': read_literal(r, "false"); lua_pushboolean(r->L, 0); break;
    case 'n': read_literal(r, "null"); lua_pushlightuserdata(r->L, (void *)LUA_JSON_NULL); break;
    default:
        if (*r->p == '-' || is_digit(*r->p))
            read_number(r);
        else
            read_fail(r, "invalid token");
        break;
    }
}

static int json_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    size_t max = json_text_max(L);
    if (len > max)
        return luaL_error(L, "JSON text of %I bytes is over the limit of %I bytes (a quarter of the app's memory limit)",
                          (lua_Integer)len, (lua_Integer)max);
    sandbox_charge(L, len / 64);
    json_reader r = {L, (const unsigned char *)s, (const unsigned char *)s, (const unsigned char *)s + len, 0};
    read_value(&r);
    skip_space(&r);
    if (r.p != r.end)
        read_fail(&r, "end of input expected");
    return 1;
}

/* json_t to Lua values (for the node's own records, e.g. MiMei info) */

static void push_json_value(lua_State *L, const json_t *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "JSON nested too deeply (more than %d levels)", JSON_MAX_DEPTH);
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *item;
        lua_createtable(L, 0, (int)json_object_size(v));
        json_object_foreach((json_t *)v, k, item) {
            push_json_value(L, item, depth + 1);
            lua_setfield(L, -2, k);
        }
        luaL_setmetatable(L, LUA_JSON_OBJECT);
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, item) {
            push_json_value(L, item, depth + 1);
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

static int push_json_protected(lua_State *L)
{
    push_json_value(L, lua_touserdata(L, 1), 0);
    return 1;
}

/* Pushes v; when that fails (the memory limit) v is decref'd before the
 * error goes on, if `owned`. */
static void push_json(lua_State *L, json_t *v, int owned)
{
    lua_pushcfunction(L, push_json_protected);
    lua_pushlightuserdata(L, v);
    int status = lua_pcall(L, 1, 1, 0);
    if (owned)
        json_decref(v);
    if (status != LUA_OK)
        sandbox_rethrow(L, status);
}

void luaapi_push_json(lua_State *L, const json_t *v) { push_json(L, (json_t *)v, 0); }

/* encode: Lua values to JSON text, in jansson's compact form with sorted
 * keys (what the node used before, so stored text keeps its bytes) */

typedef struct {
    lua_State *L;
    int slot; /* stack index of the userdata holding the text */
    char *buf;
    size_t len, cap, max;
} json_writer;

static void make_room(json_writer *w, size_t n)
{
    if (n <= w->cap - w->len)
        return;
    if (n > w->max - w->len)
        luaL_error(w->L, "JSON text over the limit of %I bytes (a quarter of the app's memory limit)",
                   (lua_Integer)w->max);
    size_t cap = w->cap ? w->cap : w->max < 256 ? w->max : 256;
    while (cap - w->len < n)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    sandbox_charge(w->L, (cap - w->cap) / 64);
    char *bigger = lua_newuserdatauv(w->L, cap, 0); /* the old one is garbage once replaced */
    if (w->len)
        memcpy(bigger, w->buf, w->len);
    lua_replace(w->L, w->slot);
    w->buf = bigger;
    w->cap = cap;
}

static void put(json_writer *w, const char *s, size_t n)
{
    make_room(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_string(json_writer *w, const char *s, size_t len, const char *what)
{
    if (!utf8_valid(s, len))
        luaL_error(w->L, "JSON %s must be UTF-8", what);
    make_room(w, 2);
    w->buf[w->len++] = '"';
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\b': put(w, "\\b", 2); break;
        case '\f': put(w, "\\f", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            put(w, esc, 6);
            break;
        }
    }
    put(w, s + run, len - run);
    put(w, "\"", 1);
}

static void put_number(json_writer *w, int idx)
{
    char text[40];
    if (lua_isinteger(w->L, idx)) {
        snprintf(text, sizeof text, "%lld", (long long)lua_tointeger(w->L, idx));
        put(w, text, strlen(text));
        return;
    }
    double v = lua_tonumber(w->L, idx);
    if (!isfinite(v))
        luaL_error(w->L, "cannot encode a number that is not finite (NaN or infinity) as JSON");
    snprintf(text, sizeof text, "%.17g", v);
    if (!strchr(text, '.') && !strchr(text, 'e'))
        strcat(text, ".0"); /* a real stays a real when read back */
    char *e = strchr(text, 'e');
    if (e) { /* 1e+20 as 1e20, 1e-05 as 1e-5 */
        char *digits = e + 1;
        if (*digits == '+')
            memmove(digits, digits + 1, strlen(digits));
        else if (*digits == '-')
            digits++;
        size_t zeros = strspn(digits, "0");
        if (zeros && digits[zeros])
            memmove(digits, digits + zeros, strlen(digits + zeros) + 1);
    }
    put(w, text, strlen(text));
}

typedef struct {
    const char *key;
    size_t len;
    int order; /* its place in the traversal; among equal keys the last wins */
} json_key;

static int compare_keys(const void *a, const void *b)
{
    const json_key *x = a, *y = b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->order - y->order;
}

static void write_value(json_writer *w, int idx, int depth);

/* The table at idx as an object, keys sorted. Its keys (numbers as text)
 * and values are gathered in a table first, which keeps them alive. */
static void write_object(json_writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    lua_newtable(L); /* entries: key, value, key, value, ... */
    int entries = lua_gettop(L), n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int t = lua_type(L, -2);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            luaL_error(L, "JSON object keys must be strings or numbers, not %s", luaL_typename(L, -2));
        if (n >= INT_MAX / 2 - 1)
            luaL_error(L, "too many keys in one JSON object");
        lua_pushvalue(L, -2);
        lua_tostring(L, -1); /* converts the copy, not the key lua_next needs */
        lua_rawseti(L, entries, 2 * n + 1);
        lua_rawseti(L, entries, 2 * n + 2);
        n++;
    }
    sandbox_charge(L, (uint64_t)n + 8); /* a table, a userdata, a sort */
    json_key *keys = lua_newuserdatauv(L, sizeof *keys * (size_t)(n ? n : 1), 0);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, entries, 2 * i + 1);
        keys[i].key = lua_tolstring(L, -1, &keys[i].len); /* alive: held by entries */
        keys[i].order = i;
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)n, sizeof *keys, compare_keys);
    put(w, "{", 1);
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && keys[i].len == keys[i + 1].len && !memcmp(keys[i].key, keys[i + 1].key, keys[i].len))
            continue; /* 1 and "1" are the same key: the later one stands */
        if (!first)
            put(w, ",", 1);
        first = 0;
        put_string(w, keys[i].key, keys[i].len, "object keys");
        put(w, ":", 1);
        lua_rawgeti(L, entries, 2 * keys[i].order + 2);
        write_value(w, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    put(w, "}", 1);
    lua_pop(L, 2);
}

static void write_table(json_writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    if (depth >= JSON_MAX_DEPTH)
        luaL_error(L, "JSON nested too deeply (more than %d levels; a table that contains itself?)", JSON_MAX_DEPTH);
    luaL_checkstack(L, 8, "JSON nested too deeply");
    int object = 0, top = lua_gettop(L);
    if (lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, LUA_JSON_OBJECT);
        object = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    /* an array when its keys are exactly 1..n (and it is not marked an object) */
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (!object && lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
            object = 1;
    }
    lua_settop(L, top); /* the key lua_next left when it stopped early */
    if (object || count != n) {
        write_object(w, idx, depth);
        return;
    }
    sandbox_charge(L, (uint64_t)n / 4 + 1);
    put(w, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            put(w, ",", 1);
        lua_rawgeti(L, idx, i);
        write_value(w, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    put(w, "]", 1);
}

static void write_value(json_writer *w, int idx, int depth)
{
    lua_State *L = w->L;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: put(w, "null", 4); return;
    case LUA_TBOOLEAN: lua_toboolean(L, idx) ? put(w, "true", 4) : put(w, "false", 5); return;
    case LUA_TNUMBER: put_number(w, idx); return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        put_string(w, s, len, "strings");
        return;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == LUA_JSON_NULL) {
            put(w, "null", 4);
            return;
        }
        break;
    case LUA_TTABLE: write_table(w, idx, depth); return;
    default: break;
    }
    luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    lua_pushnil(L); /* 2: the text's userdata, once there is text */
    json_writer w = {L, 2, NULL, 0, 0, json_text_max(L)};
    write_value(&w, 1, 0);
    lua_pushlstring(L, w.buf ? w.buf : "", w.len);
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

static int push_reply_protected(lua_State *L)
{
    push_reply(L, lua_touserdata(L, 1), 0);
    return 1;
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
    MDB_txn *txn = bs_begin(ctx->n->bs, 1, why, sizeof why);
    int rc = txn ? quota_charge(ctx->n, txn, ctx->user, ctx->db, bytes, why, sizeof why) : MIMEI_ERROR;
    if (txn && rc)
        mdb_txn_abort(txn);
    else if (txn && bs_commit(txn, why, sizeof why) != 0)
        rc = MIMEI_ERROR;
    if (!rc)
        return 0;
    snprintf(err, sizeof err, "%s %s",
             rc == MIMEI_QUOTA_FULL ? "OOM" : rc == MIMEI_STORAGE_CLOSED ? "NOPERM" : "ERR", why);
    lua_pushstring(L, err);
    return -1;
}

/* Pushes the value of a call's answer; raises an error answer (or a lone
 * command's). owned: r is freed here. */
static int push_answer(lua_State *L, redisReply *r, int multi, int owned)
{
    const redisReply *failed = r->type == REDIS_REPLY_ERROR ? r
                               : !multi && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                                       r->element[0]->type == REDIS_REPLY_ERROR
                                   ? r->element[0]
                                   : NULL;
    /* pushed under protection: a reply too big for the memory limit must
     * not leak the C copy */
    lua_pushcfunction(L, push_reply_protected);
    lua_pushlightuserdata(L, (void *)(failed ? failed : r));
    int status = lua_pcall(L, 1, 1, 0);
    if (owned)
        freeReplyObject(r);
    if (status != LUA_OK)
        sandbox_rethrow(L, status);
    if (failed)
        return lua_error(L);
    return 1;
}

/* Where exec goes on when the answer came (apps.c resumed the coroutine). */
static int db_exec_resumed(lua_State *L, int status, lua_KContext multi)
{
    (void)status;
    app_ctx *ctx = ctx_of(L);
    redisReply *r = ctx->answer;
    ctx->answer = NULL;
    if (!r)
        return luaL_error(L, "the database call was resumed without its answer");
    return push_answer(L, r, (int)multi, 0);
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
        int readable = node_may_read(ctx->n, info, ctx->author); /* app code reads as its author */
        json_decref(info);
        if (!readable)
            return luaL_error(L, "NOPERM app %s may read only databases its author may read, and write only its own: %s",
                              ctx->appid, mid);
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
    if (L == ctx->co && lua_isyieldable(L)) { /* the request waits, the worker does not */
        resp_pending *pending;
        redisReply *r = resp_call_start(ctx->n->resp, ctx->loop, &b, ctx->on_answer, ctx->request, &pending);
        if (r)
            return push_answer(L, r, multi, 1);
        ctx->pending = pending;
        return lua_yieldk(L, 0, (lua_KContext)multi, db_exec_resumed);
    }
    /* called where the coroutine cannot be suspended (a coroutine of the
     * app's own, a sort comparator, a gsub callback): the worker waits, at
     * most RESP_CALL_TIMEOUT_MS */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    redisReply *r = resp_call(ctx->n->resp, &b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* the wait was the writer's, not the app's: a BUSY answer, not a spent state */
    sandbox_exclude_wait(L, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
    return push_answer(L, r, multi, 1);
}

/* --- leither.mimei ------------------------------------------------------------ */

/* The info record of a MiMei app code may read: what its author may
 * (mimei_may_read). */
static json_t *readable_mimei(lua_State *L, app_ctx *ctx, const char *mid)
{
    char *text = NULL;
    if (!ids_is_leither_id(mid) || !db_mimei_get(ctx->n->db, mid, &text, NULL)) {
        luaL_error(L, "no MiMei %s on this node", mid);
        return NULL;
    }
    json_t *info = json_loads(text, 0, NULL);
    free(text);
    if (!node_may_read(ctx->n, info, ctx->author)) {
        json_decref(info);
        luaL_error(L, "NOPERM MiMei %s is private", mid);
    }
    return info;
}

static int mimei_info(lua_State *L)
{
    push_json(L, readable_mimei(L, ctx_of(L), luaL_checkstring(L, 1)), 1);
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
    int rc = files_version(ctx->n->bs, txn, mid, spec, ver, err, sizeof err);
    if (!rc)
        files_get(ctx->n->bs, txn, mid, *ver, root);
    mdb_txn_abort(txn);
    if (rc)
        luaL_error(L, "%s", err);
}

/* Store calls and their callbacks hold LMDB transactions, cursors and
 * buffers: no Lua error may jump over them. So what goes into Lua while they
 * run is pushed under lua_pcall; a failure stops the walk, the store cleans
 * up, and then the error goes on (sandbox_rethrow). */
typedef struct {
    lua_State *L;
    int table;  /* stack index of the table entries go in */
    int status; /* of the first failed push; its error object on top */
} entries;

static int push_under_protection(entries *e, lua_CFunction add, void *item)
{
    lua_pushcfunction(e->L, add);
    lua_pushvalue(e->L, e->table);
    lua_pushlightuserdata(e->L, item);
    e->status = lua_pcall(e->L, 2, 0, 0);
    return e->status != LUA_OK;
}

/* Before a store walk: room for push_under_protection, the table pushed. */
static void begin_entries(lua_State *L, entries *e)
{
    luaL_checkstack(L, 8, "too many nested calls");
    lua_newtable(L);
    *e = (entries){L, lua_gettop(L), LUA_OK};
}

static void end_entries(entries *e)
{
    if (e->status != LUA_OK)
        sandbox_rethrow(e->L, e->status);
}

static int push_bytes_protected(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
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
    char *data = ufs_read_file(ctx->n->bs, &root, path, READ_MAX, &len, err, sizeof err);
    if (!data)
        return luaL_error(L, "%s", err);
    lua_pushcfunction(L, push_bytes_protected); /* up to 16 MiB must not leak on the memory limit */
    lua_pushlightuserdata(L, data);
    lua_pushinteger(L, (lua_Integer)len);
    int status = lua_pcall(L, 2, 1, 0);
    free(data);
    if (status != LUA_OK)
        sandbox_rethrow(L, status);
    sandbox_charge(L, len / 64);
    return 1;
}

struct list_ctx {
    entries e;
    node *n;
};

struct dir_item {
    const char *name;
    size_t name_len;
    const char *cid, *type;
    lua_Integer size;
};

static int add_dir_item(lua_State *L)
{
    const struct dir_item *d = lua_touserdata(L, 2);
    lua_createtable(L, 0, 4);
    lua_pushlstring(L, d->name, d->name_len);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, d->cid);
    lua_setfield(L, -2, "cid");
    lua_pushinteger(L, d->size);
    lua_setfield(L, -2, "size");
    lua_pushstring(L, d->type);
    lua_setfield(L, -2, "type");
    lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
    return 0;
}

static int list_entry(void *arg, const char *name, size_t name_len, const cid *target, uint64_t tsize)
{
    struct list_ctx *l = arg;
    char text[CID_TEXT_MAX], err[128];
    cid_format(target, text);
    ufs_stat st = {0};
    cid same;
    int is_dir = ufs_resolve(l->n->bs, NULL, target, "", &same, &st, err, sizeof err) == STORE_OK &&
                 (st.type == UFS_DIRECTORY || st.type == UFS_HAMT);
    struct dir_item d = {name, name_len, text, is_dir ? "dir" : "file", (lua_Integer)(is_dir ? tsize : st.size)};
    return push_under_protection(&l->e, add_dir_item, &d);
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
    struct list_ctx l = {.n = ctx->n};
    begin_entries(L, &l.e);
    rc = ufs_list(ctx->n->bs, NULL, &dir, list_entry, &l, err, sizeof err);
    end_entries(&l.e);
    if (rc != STORE_OK)
        return luaL_error(L, "%s", err);
    return 1;
}

struct version_item {
    uint32_t ver;
    const char *cid;
};

static int add_version_item(lua_State *L)
{
    const struct version_item *v = lua_touserdata(L, 2);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, v->ver);
    lua_setfield(L, -2, "ver");
    lua_pushstring(L, v->cid);
    lua_setfield(L, -2, "cid");
    lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
    return 0;
}

static int version_entry(void *arg, uint32_t ver, const cid *c)
{
    char text[CID_TEXT_MAX];
    cid_format(c, text);
    struct version_item v = {ver, text};
    return push_under_protection(arg, add_version_item, &v);
}

/* For the listings of a readable MiMei (arg 1): a read transaction, and
 * the table the entries go in pushed. */
static MDB_txn *begin_listing(lua_State *L, app_ctx *ctx, const char **mid, entries *e)
{
    *mid = luaL_checkstring(L, 1);
    json_decref(readable_mimei(L, ctx, *mid));
    char err[256];
    begin_entries(L, e);
    MDB_txn *txn = bs_begin(ctx->n->bs, 0, err, sizeof err);
    if (!txn)
        luaL_error(L, "%s", err);
    return txn;
}

/* versions(mid): {ver = 0 is cur, then 1, 2, ...}, each with its cid. */
static int mimei_versions(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid;
    entries e;
    MDB_txn *txn = begin_listing(L, ctx, &mid, &e);
    files_versions(ctx->n->bs, txn, mid, version_entry, &e);
    mdb_txn_abort(txn);
    end_entries(&e);
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

static int add_ref_item(lua_State *L)
{
    lua_pushstring(L, lua_touserdata(L, 2));
    lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
    return 0;
}

static int ref_entry(void *arg, const char *other, uint32_t count)
{
    (void)count;
    return push_under_protection(arg, add_ref_item, (void *)other);
}

/* refs(mid): the MiMei it references. */
static int mimei_refs(lua_State *L)
{
    app_ctx *ctx = ctx_of(L);
    const char *mid;
    entries e;
    MDB_txn *txn = begin_listing(L, ctx, &mid, &e);
    refs_list(ctx->n->bs, txn, mid, ref_entry, &e);
    mdb_txn_abort(txn);
    end_entries(&e);
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

#define LOG_LINE_MAX 4096 /* bytes of one app's log line, escapes included */
/* instructions a log line costs: the default budget writes at most ~25 MB */
#define LOG_CHARGE_PER_CALL 100
#define LOG_CHARGE_PER_BYTE 4

/* One byte (or UTF-8 sequence) of a log message as it is written: control
 * characters and backslashes escaped, so that one call is one line and no
 * app can forge another's lines; invalid UTF-8 and C1 controls as \xNN.
 * Returns the bytes of s it stands for. */
static size_t escape_for_log(const unsigned char *s, const unsigned char *end, char *out, size_t *outlen)
{
    unsigned c = *s;
    size_t n = utf8_sequence(s, end);
    if (c >= 0x20 && c != 0x7f && c != '\\' && n && !(c == 0xc2 && s[1] < 0xa0)) {
        memcpy(out, s, n);
        *outlen = n;
        return n;
    }
    const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\\' ? "\\\\" : NULL;
    if (named)
        *outlen = (size_t)snprintf(out, 8, "%s", named);
    else
        *outlen = (size_t)snprintf(out, 8, "\\x%02x", c);
    return 1;
}

static int log_at(lua_State *L, const char *level, int first)
{
    app_ctx *ctx = ctx_of(L);
    char line[LOG_LINE_MAX + 1];
    size_t len = 0, left_out = 0;
    int top = lua_gettop(L);
    for (int i = first; i <= top; i++) {
        size_t n;
        /* built in C, not a luaL_Buffer: luaL_tolstring pushes (and may run __tostring) */
        const unsigned char *s = (const unsigned char *)luaL_tolstring(L, i, &n), *end = s + n;
        if (i > first) {
            if (len < LOG_LINE_MAX)
                line[len++] = ' ';
            else
                left_out++;
        }
        while (s < end && !left_out) {
            char piece[8];
            size_t piece_len, used = escape_for_log(s, end, piece, &piece_len);
            if (len + piece_len > LOG_LINE_MAX)
                break;
            memcpy(line + len, piece, piece_len);
            len += piece_len;
            s += used;
        }
        left_out += (size_t)(end - s);
        lua_pop(L, 1);
    }
    line[len] = '\0';
    /* the disk is shared: a line costs the budget about what it writes */
    sandbox_charge(L, LOG_CHARGE_PER_CALL + LOG_CHARGE_PER_BYTE * len);
    enum log_level as = !strcmp(level, "error") ? LOG_LEVEL_ERROR : !strcmp(level, "warn") ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    if (left_out)
        log_line(as, LOG_FIELDS("app", ctx->appid), "app %s %s: %s ... [%zu more bytes not logged]", ctx->appid, level,
                 line, left_out);
    else
        log_line(as, LOG_FIELDS("app", ctx->appid), "app %s %s: %s", ctx->appid, level, line);
    return 0;
}

#define LOG_TRACE_MAX 16384 /* bytes of an error and its traceback in the log */

void luaapi_log_trace(const char *appid, const char *what, const char *text)
{
    char out[LOG_TRACE_MAX + 1];
    size_t len = 0;
    const unsigned char *s = (const unsigned char *)text, *end = s + strlen(text);
    while (s < end) {
        char piece[8];
        size_t piece_len, used;
        /* the traceback's own lines stay lines, but each starts with a tab or
         * "stack traceback:": none that app text makes can pass for a record */
        if (*s == '\n' && s[1] == '\t') {
            memcpy(piece, "\n\t", 2);
            piece_len = used = 2;
        } else if (*s == '\n' && !strncmp((const char *)s + 1, "stack traceback:", 16)) {
            piece[0] = '\n';
            piece_len = used = 1;
        } else {
            used = escape_for_log(s, end, piece, &piece_len);
        }
        if (len + piece_len > LOG_TRACE_MAX)
            break;
        memcpy(out + len, piece, piece_len);
        len += piece_len;
        s += used;
    }
    out[len] = '\0';
    log_line(LOG_LEVEL_ERROR, LOG_FIELDS("app", appid), "app %s%s: %s%s", appid, what, out, s < end ? " ... [cut]" : "");
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


/* --- leither.org: organizations' ledgers (ledger_node.h) -------------------- */

/* A ledger call's answer pushed, or a Lua error with its reason; not found
 * answers nil when nil_if_absent. */
static int org_answer(lua_State *L, int status, json_t *doc, char *err, int nil_if_absent)
{
    ledger_one_line(err);
    if (status == LEDGER_NOT_FOUND && nil_if_absent) {
        lua_pushnil(L);
        return 1;
    }
    if (status != LEDGER_OK)
        return luaL_error(L, "%s", err);
    sandbox_charge(L, json_is_array(doc) ? 16 * json_array_size(doc) : 16);
    push_json(L, doc, 1);
    return 1;
}

/* An optional pulse number (nil: the newest). */
static uint64_t org_pulse_arg(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    lua_Integer p = luaL_checkinteger(L, idx);
    luaL_argcheck(L, p >= 1, idx, "a pulse number is 1 or more");
    return (uint64_t)p;
}

static size_t org_limit_arg(lua_State *L, int idx, size_t def, size_t max)
{
    if (lua_isnoneornil(L, idx))
        return def;
    lua_Integer v = luaL_checkinteger(L, idx);
    luaL_argcheck(L, v >= 1 && (uint64_t)v <= max, idx, "a limit is 1 or more, up to the API's");
    return (size_t)v;
}

static int org_show(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_show(ctx_of(L)->n, luaL_checkstring(L, 1), &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 1);
}

static int org_account(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_get_account(ctx_of(L)->n, luaL_checkstring(L, 1), luaL_checkstring(L, 2), org_pulse_arg(L, 3),
                                &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 1);
}

/* The balance as a decimal string (u64: Lua's integers are signed), or nil. */
static int org_balance(lua_State *L)
{
    org_account(L);
    if (lua_istable(L, -1))
        lua_getfield(L, -1, "Balance");
    return 1;
}

static int org_root(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_root(ctx_of(L)->n, luaL_checkstring(L, 1), org_pulse_arg(L, 2), &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 0);
}

static int org_proof(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_proof(ctx_of(L)->n, luaL_checkstring(L, 1), luaL_checkstring(L, 2), org_pulse_arg(L, 3), &doc,
                          err, sizeof err);
    return org_answer(L, st, doc, err, 0);
}

static int org_members(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_members(ctx_of(L)->n, luaL_checkstring(L, 1),
                            org_limit_arg(L, 2, LEDGER_ACCOUNTS_MAX, LEDGER_ACCOUNTS_MAX), &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 0);
}

static int org_history(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    const char *id = luaL_optstring(L, 2, NULL);
    int st = ledger_history(ctx_of(L)->n, luaL_checkstring(L, 1), id, 0,
                            org_limit_arg(L, 3, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX), &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 0);
}

static int org_pulses(lua_State *L)
{
    char err[512];
    json_t *doc = NULL;
    int st = ledger_pulses(ctx_of(L)->n, luaL_checkstring(L, 1), org_pulse_arg(L, 2),
                           org_limit_arg(L, 3, LEDGER_LIST_DEFAULT, LEDGER_LIST_MAX), &doc, err, sizeof err);
    return org_answer(L, st, doc, err, 0);
}

/* submit(tx): a transaction a user signed elsewhere, as JSON text or a
 * table (encoded by leither.json.encode); its own signature is what counts.
 * {Tx, State}, or nil and the one-line reason it was refused. */
static int org_submit(lua_State *L)
{
    if (lua_istable(L, 1)) {
        lua_getglobal(L, "leither");
        lua_getfield(L, -1, "json");
        lua_getfield(L, -1, "encode");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    char err[512];
    json_t *doc = NULL;
    int st = ledger_submit(ctx_of(L)->n, text, len, &doc, err, sizeof err);
    if (st == LEDGER_INVALID || st == LEDGER_BUSY || st == LEDGER_NOT_FOUND) {
        ledger_one_line(err);
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 2;
    }
    return org_answer(L, st, doc, err, 0);
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
    static const luaL_Reg org_fns[] = {{"show", org_show},       {"account", org_account}, {"balance", org_balance},
                                       {"root", org_root},       {"proof", org_proof},     {"members", org_members},
                                       {"history", org_history}, {"pulses", org_pulses},   {"submit", org_submit},
                                       {NULL, NULL}};
    static const luaL_Reg log_fns[] = {{"info", log_info}, {"warn", log_warn}, {"error", log_error}, {NULL, NULL}};
    static const luaL_Reg top_fns[] = {{"now", now}, {"_traceback", traceback}, {NULL, NULL}};

    /* __metatable: app code sees only the name and cannot edit the table (a
     * __gc it added would run when decode or json.object attach it) */
    luaL_newmetatable(L, LUA_JSON_OBJECT);
    lua_pushstring(L, LUA_JSON_OBJECT);
    lua_setfield(L, -2, "__metatable");
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
    add_table(L, "org", org_fns, ctx);
    add_table(L, "log", log_fns, ctx);
    lua_getfield(L, -1, "log"); /* leither.log(...) itself logs too */
    lua_newtable(L);
    lua_pushlightuserdata(L, ctx);
    lua_pushcclosure(L, log_call, 1);
    lua_setfield(L, -2, "__call");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
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
