/*
 * fuzz_json: leither.json (runtime/apps/lua_api.c), JSON text to Lua values and
 * back, in a sandboxed state as apps have it.
 *
 * The input is JSON text, unless its first byte names a bomb (no JSON text
 * starts with these):
 *   'S' size bomb: the rest (a piece) repeated 2^k times in an array, k from
 *       the second byte (up to 2^18 times, 768 KiB of text);
 *   'D' depth bomb: the third byte on repeated (1 to 65536 times, from the
 *       second byte) and closed again;
 *   'E' encode bomb: Lua builds a table (shared 2^n times, containing itself,
 *       or with keys 1 and "1" both) and encodes it.
 * Bombs run in a state with a 2 MiB memory limit (so 512 KiB of JSON text)
 * and a small instruction budget, so that a run stays short.
 *
 * Properties (a violation ends in __builtin_trap(); LeakSanitizer reports
 * anything an error left behind in C memory):
 *   - decode either raises a one-line error or gives a value;
 *   - what decode gives encodes to exactly the text jansson writes for the
 *     same input (compact, keys sorted), so it means the same JSON;
 *   - decode refuses nothing jansson accepts but for nesting, and accepts
 *     nothing jansson refuses;
 *   - a bomb ends in a one-line error naming a limit or the nesting, or in
 *     a breached limit; never in a crash, a hang or a leak;
 *   - the state is usable afterwards (no stack left over) unless spent.
 */
#include "lua_api.h"
#include "sandbox.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOMB_TEXT_MAX ((size_t)3 << 18) /* more than the bomb state's text limit */
#define BOMB_MEMORY ((size_t)2 << 20)

static sandbox *plain_sb, *bomb_sb;
static app_ctx ctx;

static sandbox *state(sandbox **sb, size_t memory_max, uint64_t instructions)
{
    char err[256];
    if (!*sb) {
        sandbox_limits lim = {.memory_max = memory_max, .instructions = instructions, .wall_ms = 10000};
        *sb = sandbox_new(&lim, NULL, NULL, err, sizeof err);
        if (!*sb || luaapi_open(sandbox_lua(*sb), &ctx, err, sizeof err) != 0)
            __builtin_trap();
    }
    return *sb;
}

/* decode(text) then encode: arg 1 the text as a light userdata, arg 2 its
 * length (pushed as a string here, inside the protected call) */
static int round_trip(lua_State *L)
{
    const char *text = lua_touserdata(L, 1);
    size_t len = (size_t)lua_tointeger(L, 2);
    lua_getglobal(L, "leither");
    lua_getfield(L, -1, "json");
    lua_getfield(L, -1, "decode");
    lua_pushlstring(L, text, len);
    lua_call(L, 1, 1);
    lua_getfield(L, -2, "encode");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    return 1;
}

/* Runs round_trip on text; returns the status, the result (if OK) on top. */
static enum sandbox_status run(sandbox *sb, const char *text, size_t len, char *err, size_t errlen)
{
    char trace[64];
    lua_State *L = sandbox_lua(sb);
    sandbox_begin(sb);
    lua_pushcfunction(L, round_trip);
    lua_pushlightuserdata(L, (void *)text);
    lua_pushinteger(L, (lua_Integer)len);
    return sandbox_call(sb, 2, 1, err, errlen, trace, sizeof trace);
}

static void one_line(const char *err)
{
    if (!err[0] || strchr(err, '\n'))
        __builtin_trap();
}

static void plain(const uint8_t *data, size_t size)
{
    char err[512];
    sandbox *sb = state(&plain_sb, 64u << 20, 1000000);
    lua_State *L = sandbox_lua(sb);
    int top = lua_gettop(L);
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    enum sandbox_status st = run(sb, (const char *)data, size, err, sizeof err);
    if (st == SANDBOX_LIMIT) { /* deep nesting may reach a limit: start again */
        sandbox_free(plain_sb);
        plain_sb = NULL;
        json_decref(in);
        return;
    }
    if (st == SANDBOX_ERROR) {
        one_line(err);
        /* the input was valid JSON: only a nesting limit may refuse it */
        if (in && !strstr(err, "deep") && !strstr(err, "stack overflow") && !strstr(err, "too many"))
            __builtin_trap();
    } else {
        if (!in)
            __builtin_trap(); /* decode accepted what jansson refuses */
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        char *expected = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (!expected || strlen(expected) != len || memcmp(expected, text, len))
            __builtin_trap();
        free(expected);
        lua_pop(L, 1);
    }
    json_decref(in);
    if (lua_gettop(L) != top)
        __builtin_trap();
}

/* A bomb's outcome: a result, a one-line error about a limit or nesting (or
 * bad JSON, when the fuzzer's piece is not JSON), or a breached limit. */
static void bomb_outcome(enum sandbox_status st, const char *err, int top)
{
    lua_State *L = sandbox_lua(bomb_sb);
    if (getenv("FUZZ_JSON_VERBOSE")) /* to see what a seed does */
        fprintf(stderr, "bomb: status %d: %s\n", (int)st, st == SANDBOX_OK ? "ok" : err);
    if (st == SANDBOX_LIMIT) {
        one_line(err);
        sandbox_free(bomb_sb);
        bomb_sb = NULL;
        return;
    }
    if (st == SANDBOX_ERROR) {
        one_line(err);
        if (!strstr(err, "limit") && !strstr(err, "deep") && !strstr(err, "invalid JSON") &&
            !strstr(err, "stack overflow") && !strstr(err, "UTF-8") && !strstr(err, "cannot encode"))
            __builtin_trap();
    } else {
        lua_pop(L, 1);
    }
    if (lua_gettop(L) != top)
        __builtin_trap();
}

static void text_bomb(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    char *text;
    size_t len = 0;
    if (data[0] == 'S') {
        const uint8_t *piece = data + 2;
        size_t piece_len = size - 2, times = (size_t)1 << (data[1] % 19);
        if (times > BOMB_TEXT_MAX / (piece_len + 1))
            times = BOMB_TEXT_MAX / (piece_len + 1);
        text = malloc(times * (piece_len + 1) + 2);
        text[len++] = '[';
        for (size_t i = 0; i < times; i++) {
            if (i)
                text[len++] = ',';
            memcpy(text + len, piece, piece_len);
            len += piece_len;
        }
        text[len++] = ']';
    } else {
        size_t depth = ((size_t)data[1] << 8 | data[2]) + 1;
        const uint8_t *open = size > 3 ? data + 3 : (const uint8_t *)"[";
        size_t open_len = size > 3 ? size - 3 : 1;
        if (open_len > 16)
            open_len = 16;
        text = malloc(depth * (open_len + 1) + 1);
        for (size_t i = 0; i < depth; i++, len += open_len)
            memcpy(text + len, open, open_len);
        for (size_t i = 0; i < depth; i++)
            text[len++] = open[0] == '{' ? '}' : ']';
    }
    char err[512];
    sandbox *sb = state(&bomb_sb, BOMB_MEMORY, 300000);
    int top = lua_gettop(sandbox_lua(sb));
    enum sandbox_status st = run(sb, text, len, err, sizeof err);
    free(text);
    bomb_outcome(st, err, top);
}

static void encode_bomb(const uint8_t *data, size_t size)
{
    static const char *const chunks[] = {
        /* shared: 2^n values from n tables */
        "local n = ... local t = {} for i = 1, n do t = {t, t, x = t} end return leither.json.encode(t)",
        /* a table that contains itself, n steps round */
        "local n = ... local first = {} local t = first for i = 1, n do t.next = {} t = t.next end t.next = first\n"
        "return leither.json.encode(first)",
        /* keys 1 and \"1\" both, n times: one key each in the text */
        "local n = ... local t = {} for i = 1, n * 100 do t[i * 2] = i t[tostring(i * 2)] = -i end\n"
        "local back = leither.json.decode(leither.json.encode(t)) local count = 0\n"
        "for _ in pairs(back) do count = count + 1 end assert(count == n * 100, 'duplicate keys') return ''",
        /* long strings with every control character but NUL, which decode refuses as jansson does */
        "local n = ... local s = {} for i = 1, 31 do s[#s + 1] = string.char(i) end s = table.concat(s)\n"
        "local t = {} for i = 1, n do t[i] = s:rep(i * 100) end\n"
        "local back = leither.json.decode(leither.json.encode(t)) assert(back[n] == t[n], 'string changed') return ''",
    };
    if (size < 3)
        return;
    const char *src = chunks[data[1] % (sizeof chunks / sizeof chunks[0])];
    char err[512], trace[64];
    sandbox *sb = state(&bomb_sb, BOMB_MEMORY, 300000);
    lua_State *L = sandbox_lua(sb);
    int top = lua_gettop(L);
    if (sandbox_load(sb, src, strlen(src), "=bomb", err, sizeof err) != 0)
        __builtin_trap();
    lua_pushinteger(L, data[2] + 1);
    sandbox_begin(sb);
    enum sandbox_status st = sandbox_call(sb, 1, 1, err, sizeof err, trace, sizeof trace);
    if (st == SANDBOX_ERROR && strstr(err, "duplicate keys"))
        __builtin_trap();
    if (st == SANDBOX_ERROR && strstr(err, "string changed"))
        __builtin_trap();
    bomb_outcome(st, err, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && (data[0] == 'S' || data[0] == 'D'))
        text_bomb(data, size);
    else if (size > 0 && data[0] == 'E')
        encode_bomb(data, size);
    else
        plain(data, size);
    return 0;
}
