/*
 * fuzz_pattern: the sandbox's metered pattern matcher (sandbox.h) against
 * Lua's own string library.
 *
 * Input: byte 0 picks the function (find, find plain, match, gmatch, gsub)
 * and its init and replacement; byte 1 the pattern's length; then the
 * pattern, then the subject. Both states run the same driver and serialize
 * the results or the error; any difference ends in abort().
 *
 * The sandbox runs first, with a budget: an input that exhausts it (a
 * pattern that backtracks exponentially) is skipped, so the reference,
 * which has no budget, never runs long.
 */
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char driver[] =
    "local function ser(...) local t = {} for i = 1, select('#', ...) do local v = select(i, ...)\n"
    "  t[#t + 1] = type(v) == 'string' and string.format('%q', v) or (math.type(v) or type(v)) .. ':' .. "
    "tostring(v) end\n"
    "  return table.concat(t, ',') end\n"
    "local repls = { '%0-', '<%1>', '%2', '%%', function(a, b) return b or a end, {a = 'A', b = false, x = 1} }\n"
    "local function gm(s, p, init) local t, n = {}, 0 for a, b in string.gmatch(s, p, init) do\n"
    "  n = n + 1 if n > 1000 then break end t[#t + 1] = tostring(a) .. '|' .. tostring(b) end\n"
    "  return table.concat(t, ';') end\n"
    "return function(op, s, p, init, r)\n"
    "  if op == 0 then return ser(pcall(string.find, s, p, init))\n"
    "  elseif op == 1 then return ser(pcall(string.find, s, p, init, true))\n"
    "  elseif op == 2 then return ser(pcall(string.match, s, p, init))\n"
    "  elseif op == 3 then return ser(pcall(gm, s, p, init))\n"
    "  else return ser(pcall(string.gsub, s, p, repls[r], init % 4 - 1)) end\n"
    "end\n";

static lua_State *ref;
static int ref_fn;
static sandbox *sb;
static int sb_fn;

static void sandbox_up(void)
{
    char err[256];
    sandbox_limits lim = { 64u << 20, 20000000, 10000 };
    sb = sandbox_new(&lim, NULL, NULL, err, sizeof err);
    if (!sb)
        abort();
    lua_State *L = sandbox_lua(sb);
    if (sandbox_load(sb, driver, strlen(driver), "driver", err, sizeof err) != 0)
        abort();
    sandbox_begin(sb);
    if (sandbox_call(sb, 0, 1, err, sizeof err, NULL, 0) != SANDBOX_OK)
        abort();
    sb_fn = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void push_args(lua_State *L, int op, const uint8_t *s, size_t ls, const uint8_t *p, size_t lp)
{
    static const lua_Integer inits[] = { 1, -1, 0, 3, 100, -100, 2, 1 };
    lua_pushinteger(L, op % 5);
    lua_pushlstring(L, (const char *)s, ls);
    lua_pushlstring(L, (const char *)p, lp);
    lua_pushinteger(L, inits[(op / 5) % 8]);
    lua_pushinteger(L, (op / 40) % 6 + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (!ref) {
        ref = luaL_newstate();
        luaL_openlibs(ref);
        if (luaL_loadbuffer(ref, driver, strlen(driver), "=driver") != LUA_OK || lua_pcall(ref, 0, 1, 0) != LUA_OK)
            abort();
        ref_fn = luaL_ref(ref, LUA_REGISTRYINDEX);
    }
    if (!sb)
        sandbox_up();
    int op = data[0];
    size_t lp = data[1];
    const uint8_t *p = data + 2;
    if (lp > size - 2)
        lp = size - 2;
    const uint8_t *s = p + lp;
    size_t ls = size - 2 - lp;

    lua_State *L = sandbox_lua(sb);
    char err[512];
    lua_rawgeti(L, LUA_REGISTRYINDEX, sb_fn);
    push_args(L, op, s, ls, p, lp);
    sandbox_begin(sb);
    enum sandbox_status st = sandbox_call(sb, 5, 1, err, sizeof err, NULL, 0);
    if (st == SANDBOX_LIMIT) { /* too much work for a differential run */
        sandbox_free(sb);
        sb = NULL;
        return 0;
    }
    if (st != SANDBOX_OK) {
        fprintf(stderr, "sandbox driver failed: %s\n", err);
        abort();
    }
    lua_rawgeti(ref, LUA_REGISTRYINDEX, ref_fn);
    push_args(ref, op, s, ls, p, lp);
    if (lua_pcall(ref, 5, 1, 0) != LUA_OK) {
        fprintf(stderr, "reference driver failed: %s\n", lua_tostring(ref, -1));
        abort();
    }
    size_t lw, lg;
    const char *want = lua_tolstring(ref, -1, &lw), *got = lua_tolstring(L, -1, &lg);
    if (!want || !got || lw != lg || memcmp(want, got, lw) != 0) {
        fprintf(stderr, "differ: op %d\n  lua:     %s\n  sandbox: %s\n", op, want ? want : "(nil)",
                got ? got : "(nil)");
        abort();
    }
    lua_settop(ref, 0);
    lua_settop(L, 0);
    return 0;
}
