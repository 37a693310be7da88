/*
 * fuzz_json: leither.json (runtime/lua_api.c), JSON text to Lua values and
 * back, in a sandboxed state as apps have it.
 *
 * Properties (a violation ends in __builtin_trap()):
 *   - decode either raises a one-line error or gives a value;
 *   - what decode gives encodes, and that text means the same JSON as the
 *     input (jansson's json_equal; an empty object stays an object);
 *   - the state is usable afterwards (no stack left over).
 */
#include "apps.h"
#include "sandbox.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static sandbox *sb;
static app_ctx ctx;

static int round_trip(lua_State *L)
{
    lua_getglobal(L, "leither");
    lua_getfield(L, -1, "json");
    lua_getfield(L, -1, "decode");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_getfield(L, -2, "encode");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], trace[64];
    if (!sb) {
        sandbox_limits lim = {.memory_max = 64u << 20, .instructions = 1000000, .wall_ms = 5000};
        sb = sandbox_new(&lim, NULL, NULL, err, sizeof err);
        if (!sb || luaapi_open(sandbox_lua(sb), &ctx, err, sizeof err) != 0)
            __builtin_trap();
    }
    lua_State *L = sandbox_lua(sb);
    int top = lua_gettop(L);
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    sandbox_begin(sb);
    lua_pushcfunction(L, round_trip);
    lua_pushlstring(L, (const char *)data, size);
    enum sandbox_status st = sandbox_call(sb, 1, 1, err, sizeof err, trace, sizeof trace);
    if (st == SANDBOX_LIMIT) { /* deep nesting may reach the memory cap: start again */
        sandbox_free(sb);
        sb = NULL;
        json_decref(in);
        return 0;
    }
    if (st == SANDBOX_ERROR) {
        if (!err[0] || strchr(err, '\n'))
            __builtin_trap();
        /* the input was valid JSON: only a nesting limit may refuse it */
        if (in && !strstr(err, "deep") && !strstr(err, "stack overflow") && !strstr(err, "too many"))
            __builtin_trap();
    } else {
        if (!in)
            __builtin_trap(); /* decode accepted what jansson refuses */
        size_t len;
        const char *text = lua_tolstring(L, -1, &len);
        json_t *back = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
        if (!back || !json_equal(in, back))
            __builtin_trap();
        json_decref(back);
        lua_pop(L, 1);
    }
    json_decref(in);
    if (lua_gettop(L) != top)
        __builtin_trap();
    return 0;
}
