/*
 * sandbox: see sandbox.h. This file builds the state, the limits, the
 * wrappers that keep a limit breach uncatchable, and (second half) the
 * metered Lua-pattern matcher; one file so that sandbox.h stays the
 * module's only contract.
 *
 * Lua 5.4.4's known bugs (https://www.lua.org/bugs.html#5.4.4) and what keeps
 * each out of reach of app code:
 *  1. lua.c assumes argv has an element: lua.c is not linked.
 *  2. wrong code when _ENV is <const> (CVE-2022-28805): fixed by Debian's
 *     5.4.4-2 patch; nothing extra here.
 *  3. wrong code for constants in bitwise operations: gives a wrong value,
 *     not an out-of-frame access; app-visible only as a wrong result.
 *  4. Lua-stack overflow when the C stack overflows while handling an error
 *     (CVE-2022-33099): fixed by Debian's 5.4.4-3 patch; moreover the
 *     sandbox's own message handler is a C function that runs no Lua code.
 *  5. lua_settop using a pointer invalidated by luaF_close: needs a C
 *     function that marks a to-be-closed slot (lua_toclose) whose __close
 *     grows the stack; no library function reachable here does that with an
 *     app-controlled __close (lauxlib's buffer box closes with a C function).
 *  6. 'break' may not close a 'for' loop's variable: a semantic bug (the
 *     value is closed late); no memory unsafety.
 *  7. GC target after a full collection in generational mode:
 *     collectgarbage("generational"/"incremental") are refused, the state
 *     stays incremental.
 *  8. utf8.codes accepting spurious continuation bytes: harmless.
 *  9. C-stack overflow with deep nesting of coroutine.close: coroutine.close
 *     and the coroutine.wrap error path (both call lua_resetthread, which in
 *     5.4.4 does not inherit the caller's C-call count) are our own and
 *     refuse nesting beyond CLOSE_DEPTH_MAX.
 * 10. wrong line in error messages for arithmetic errors: harmless.
 * 11. loading a corrupted binary chunk can segfault: binary chunks are
 *     refused everywhere (load, require, sandbox_load, check_syntax).
 */
#include "sandbox.h"

#include <ctype.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MEMORY ((size_t)64 << 20)
#define DEFAULT_INSTRUCTIONS 100000000ULL
#define DEFAULT_WALL_MS 5000u
/* instructions between hook calls: small enough that a slow C function in a
 * loop is noticed soon, large enough to cost little */
#define HOOK_EVERY 1000
#define CLOSE_DEPTH_MAX 8
/* bytes of C copying charged as one instruction */
#define BYTES_PER_INSTR 64

enum limit_kind { LIMIT_NONE, LIMIT_INSTR, LIMIT_MEMORY, LIMIT_WALL };

struct sandbox {
    lua_State *L;
    size_t used, memory_max;
    uint64_t instructions;
    uint32_t wall_ms;
    int64_t left;         /* instructions left in this request */
    uint64_t deadline_ns; /* monotonic */
    enum limit_kind spent;
    char limit_msg[96];
    int close_depth;
    sandbox_loader loader;
    void *loader_arg;
};

/* registry keys (addresses only) */
static const char KEY_MODULES = 0;

/* --- limits ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static sandbox *sb_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* The first breach wins: it is the one the request is reported with. */
static void breach(sandbox *sb, enum limit_kind kind)
{
    if (sb->spent)
        return;
    sb->spent = kind;
    switch (kind) {
    case LIMIT_INSTR:
        snprintf(sb->limit_msg, sizeof sb->limit_msg, "instruction budget of %llu exceeded",
                 (unsigned long long)sb->instructions);
        break;
    case LIMIT_MEMORY:
        snprintf(sb->limit_msg, sizeof sb->limit_msg, "memory limit of %zu bytes exceeded", sb->memory_max);
        break;
    default:
        snprintf(sb->limit_msg, sizeof sb->limit_msg, "wall-clock limit of %u ms exceeded", sb->wall_ms);
        break;
    }
}

static void hook(lua_State *L, lua_Debug *ar);

/* Raises the limit error; from now on every instruction of this thread
 * raises it again, so no handler or __close can run on. */
static int raise_limit(lua_State *L, sandbox *sb)
{
    lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    lua_pushstring(L, sb->limit_msg);
    return lua_error(L);
}

/* After a protected call returns: a limit breached inside goes on up. */
static void recheck(lua_State *L, sandbox *sb, int status)
{
    if (status == LUA_ERRMEM)
        breach(sb, LIMIT_MEMORY);
    if (sb->spent)
        raise_limit(L, sb);
}

static void hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    sandbox *sb = sb_of(L);
    if (!sb->spent) {
        sb->left -= HOOK_EVERY;
        if (sb->left < 0)
            breach(sb, LIMIT_INSTR);
        else if (now_ns() > sb->deadline_ns)
            breach(sb, LIMIT_WALL);
    }
    if (sb->spent)
        raise_limit(L, sb);
}

void sandbox_charge(lua_State *L, uint64_t n)
{
    sandbox *sb = sb_of(L);
    if (!sb->spent) {
        if (n > (uint64_t)INT64_MAX || (sb->left -= (int64_t)n) < 0)
            breach(sb, LIMIT_INSTR);
        else if (now_ns() > sb->deadline_ns)
            breach(sb, LIMIT_WALL);
    }
    if (sb->spent)
        raise_limit(L, sb);
}

/* Counts every byte; refuses growth beyond the cap. Lua then collects and
 * retries, and only a refusal that stands surfaces as LUA_ERRMEM, which the
 * wrappers and sandbox_call turn into the memory limit. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sb->used -= old;
        return NULL;
    }
    if (nsize > old && (nsize - old > sb->memory_max || sb->used + (nsize - old) > sb->memory_max))
        return NULL;
    void *p = realloc(ptr, nsize);
    if (!p)
        return nsize <= old ? ptr : NULL; /* Lua assumes shrinking never fails */
    sb->used = sb->used - old + nsize;
    return p;
}

/* --- base library replacements ---------------------------------------------- */

static int pcall_finish(lua_State *L, int status, lua_KContext extra)
{
    recheck(L, sb_of(L), status);
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static void refuse_if_spent(lua_State *L);

static int sb_pcall(lua_State *L)
{
    refuse_if_spent(L);
    luaL_checkany(L, 1);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, pcall_finish);
    return pcall_finish(L, status, 0);
}

/* xpcall's handler goes through this: an error raised by the hook reaches
 * the handler with hooks off (Lua re-enables them only after the throw), so
 * after a breach the app's handler must not run at all. */
static int handler_guard(lua_State *L)
{
    if (sb_of(L)->spent)
        return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Entry check of the wrappers: once spent, nothing app-controlled starts. */
static void refuse_if_spent(lua_State *L)
{
    sandbox *sb = sb_of(L);
    if (sb->spent)
        raise_limit(L, sb);
}

static int sb_xpcall(lua_State *L)
{
    refuse_if_spent(L);
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, handler_guard, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* handler, true, f, args... */
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, pcall_finish);
    return pcall_finish(L, status, 2);
}

typedef struct {
    int fn; /* stack index of the reader function */
} reader_state;

static const char *load_reader(lua_State *L, void *ud, size_t *size)
{
    reader_state *rs = ud;
    luaL_checkstack(L, 2, "too many nested functions");
    lua_pushvalue(L, rs->fn);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *size = 0;
        return NULL;
    }
    if (!lua_isstring(L, -1))
        luaL_error(L, "reader function must return a string");
    lua_replace(L, rs->fn + 4); /* keep the piece alive in the reserved slot */
    return lua_tolstring(L, rs->fn + 4, size);
}

/* load: text only; the sandbox's globals unless an env is given. */
static int sb_load(lua_State *L)
{
    refuse_if_spent(L);
    int has_env = !lua_isnone(L, 4);
    size_t l;
    const char *s = lua_tolstring(L, 1, &l);
    const char *mode = luaL_optstring(L, 3, "bt");
    int status;
    if (!strchr(mode, 't'))
        return luaL_error(L, "binary chunks are not allowed in the sandbox");
    if (s) {
        const char *name = luaL_optstring(L, 2, s);
        sandbox_charge(L, l / 16 + 1); /* compiling runs no instructions */
        status = luaL_loadbufferx(L, s, l, name, "t");
    } else {
        const char *name = luaL_optstring(L, 2, "=(load)");
        luaL_checktype(L, 1, LUA_TFUNCTION);
        lua_settop(L, 5); /* 5: reserved slot for the reader */
        reader_state rs = { 1 };
        status = lua_load(L, load_reader, &rs, name, "t");
    }
    recheck(L, sb_of(L), status);
    if (status != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 4);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

static int sb_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
        lua_pop(L, 1);
    }
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    return orig(L);
}

static int sb_collectgarbage(lua_State *L)
{
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") && strcmp(opt, "collect") && strcmp(opt, "step") && strcmp(opt, "isrunning"))
        return luaL_error(L, "collectgarbage option '%s' is not available in the sandbox", opt);
    /* a full collection walks the whole heap */
    if (!strcmp(opt, "collect") || !strcmp(opt, "step"))
        sandbox_charge(L, sb_of(L)->used / 256 + 1);
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    return orig(L);
}

/* Names app code may expect but does not get: naming one is an error, so a
 * port from plain Lua fails loudly rather than with "attempt to index nil". */
static const char *const missing_globals[] = { "io",   "debug",      "package",  "dofile", "loadfile",
                                               "print", "loadstring", "module", NULL };
static const char *const missing_os[] = { "execute", "getenv", "exit", "remove", "rename", "tmpname", "setlocale", NULL };

static int missing_index(lua_State *L)
{
    const char *const *names = lua_touserdata(L, lua_upvalueindex(1));
    const char *prefix = lua_tostring(L, lua_upvalueindex(2));
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        for (size_t i = 0; names[i]; i++)
            if (!strcmp(names[i], k))
                return luaL_error(L, "%s%s is not available in the sandbox", prefix, k);
    }
    return 0;
}

static void set_missing(lua_State *L, int t, const char *const *names, const char *prefix)
{
    t = lua_absindex(L, t);
    lua_newtable(L);
    lua_pushlightuserdata(L, (void *)names);
    lua_pushstring(L, prefix);
    lua_pushcclosure(L, missing_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0); /* getmetatable gives false, setmetatable refuses: nobody adds a __gc */
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, t);
}

/* require: the state's own cache, else the embedder's loader. */
static int sb_require(lua_State *L)
{
    sandbox *sb = sb_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (!*name || strstr(name, "..") || strchr(name, '/'))
        return luaL_error(L, "module name '%s' is not allowed", name);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_MODULES); /* 2 */
    if (lua_getfield(L, 2, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    char chunkname[256] = "=";
    size_t len = 0;
    char *src = sb->loader ? sb->loader(sb->loader_arg, name, &len, chunkname + 1, sizeof chunkname - 1) : NULL;
    if (!src)
        return luaL_error(L, "module '%s' not found", name);
    chunkname[sizeof chunkname - 1] = '\0';
    int status;
    if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
        lua_pushstring(L, "binary chunks are not allowed");
        status = LUA_ERRSYNTAX;
    } else {
        status = luaL_loadbufferx(L, src, len, chunkname, "t");
    }
    free(src);
    recheck(L, sb, status);
    if (status != LUA_OK)
        return luaL_error(L, "error loading module '%s': %s", name, lua_tostring(L, -1));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

/* --- coroutine replacements --------------------------------------------------- */

static int sb_resume(lua_State *L)
{
    refuse_if_spent(L);
    lua_State *co = lua_tothread(L, 1);
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    int n = orig(L);
    recheck(L, sb_of(L), co && co != L ? lua_status(co) : LUA_OK);
    return n;
}

enum co_state { CO_RUNNING, CO_SUSPENDED, CO_NORMAL, CO_DEAD };
static const char *const co_state_name[] = { "running", "suspended", "normal", "dead" };

static enum co_state co_status(lua_State *L, lua_State *co)
{
    lua_Debug ar;
    if (co == L)
        return CO_RUNNING;
    switch (lua_status(co)) {
    case LUA_YIELD: return CO_SUSPENDED;
    case LUA_OK:
        if (lua_getstack(co, 0, &ar))
            return CO_NORMAL;
        return lua_gettop(co) == 0 ? CO_DEAD : CO_SUSPENDED;
    default: return CO_DEAD; /* ended with an error */
    }
}

/* Closes a dead coroutine's pending to-be-closed variables; counted, see
 * bug 9 above. */
static int reset_counted(lua_State *L, lua_State *co)
{
    sandbox *sb = sb_of(L);
    /* a coroutine that died by a breach has hooks off: its __close must
     * never run */
    if (sb->spent)
        raise_limit(L, sb);
    if (sb->close_depth >= CLOSE_DEPTH_MAX)
        return luaL_error(L, "coroutine.close nested too deeply (more than %d)", CLOSE_DEPTH_MAX);
    sb->close_depth++;
    int status = lua_resetthread(co);
    sb->close_depth--;
    return status;
}

static int wrap_call(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    sandbox *sb = sb_of(L);
    refuse_if_spent(L);
    int narg = lua_gettop(L), nres;
    if (!lua_checkstack(co, narg))
        return luaL_error(L, "too many arguments to resume");
    enum co_state cst = co_status(L, co);
    if (cst != CO_SUSPENDED)
        return luaL_error(L, "cannot resume %s coroutine", cst == CO_DEAD ? "dead" : "non-suspended");
    lua_xmove(L, co, narg);
    int status = lua_resume(co, L, narg, &nres);
    recheck(L, sb, status);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1))
            return luaL_error(L, "too many results to resume");
        lua_xmove(co, L, nres);
        return nres;
    }
    if (lua_status(co) != LUA_OK && lua_status(co) != LUA_YIELD) {
        status = reset_counted(L, co); /* close its tbc variables */
        recheck(L, sb, status);
    }
    lua_xmove(co, L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) { /* add where the call was, as Lua does */
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

static int sb_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrap_call, 1);
    return 1;
}

static int sb_close(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    enum co_state st = co_status(L, co);
    if (st != CO_SUSPENDED && st != CO_DEAD)
        return luaL_error(L, "cannot close a %s coroutine", co_state_name[st]);
    int status = reset_counted(L, co);
    recheck(L, sb_of(L), status);
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1);
    return 2;
}

/* --- metering of long C work ------------------------------------------------- */

static uint64_t size_cost(lua_State *L, int from, int to)
{
    uint64_t cost = 1;
    for (int i = from; i <= to; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TSTRING)
            cost += lua_rawlen(L, i) / BYTES_PER_INSTR;
        else if (t == LUA_TTABLE)
            cost += lua_rawlen(L, i) * (uint64_t)lua_tointeger(L, lua_upvalueindex(2));
    }
    return cost;
}

/* Calls the library function (upvalue 1) directly, charging its string and
 * table arguments before and its string results after. Called directly (not
 * through lua_call) so that error messages name the function as usual. */
static int metered(lua_State *L)
{
    sandbox_charge(L, size_cost(L, 1, lua_gettop(L)));
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    int n = orig(L);
    int top = lua_gettop(L);
    uint64_t out = 0;
    for (int i = top - n + 1; i <= top; i++) {
        out++;
        if (lua_type(L, i) == LUA_TSTRING)
            out += lua_rawlen(L, i) / BYTES_PER_INSTR;
    }
    if (out)
        sandbox_charge(L, out);
    return n;
}

/* string.rep: charged before the copy, which could take seconds. */
static int metered_rep(lua_State *L)
{
    size_t l, lsep = 0;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0) { /* the copy loop runs n times even for empty strings */
        double bytes = ((double)l + (double)lsep) * (double)n;
        double cost = bytes / BYTES_PER_INSTR + (double)n / 8 + 1;
        sandbox_charge(L, cost >= 9e18 ? UINT64_MAX : (uint64_t)cost);
    }
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    return orig(L);
}

/* table.move: its C loop is as long as the range it is given. */
static int metered_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f)
        sandbox_charge(L, (uint64_t)e - (uint64_t)f + 1);
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    return orig(L);
}

static uint64_t saturating_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* table.insert/remove/sort: their loops run over #t, which __len may make
 * anything; charged by that length (times upvalue 2) first. */
static int metered_len(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, 1);
        if (n > 0)
            sandbox_charge(L, saturating_mul((uint64_t)n, (uint64_t)lua_tointeger(L, lua_upvalueindex(2))) + 1);
    }
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    return orig(L);
}

/* table.concat/unpack: their loops run over i..j (argument upvalue 2 and
 * the next; j defaults to #t); charged by the range first. */
static int metered_range(lua_State *L)
{
    int at = (int)lua_tointeger(L, lua_upvalueindex(2));
    if (lua_type(L, 1) == LUA_TTABLE) {
        int isnum = 1;
        lua_Integer i = lua_isnoneornil(L, at) ? 1 : lua_tointegerx(L, at, &isnum);
        if (isnum) {
            lua_Integer j = lua_isnoneornil(L, at + 1) ? luaL_len(L, 1) : lua_tointegerx(L, at + 1, &isnum);
            if (isnum && j >= i)
                sandbox_charge(L, (uint64_t)j - (uint64_t)i + 1);
        }
    }
    lua_CFunction orig = lua_tocfunction(L, lua_upvalueindex(1));
    int n = orig(L);
    int top = lua_gettop(L);
    for (int k = top - n + 1; k <= top; k++)
        if (lua_type(L, k) == LUA_TSTRING)
            sandbox_charge(L, lua_rawlen(L, k) / BYTES_PER_INSTR + 1);
    return n;
}

static void meter(lua_State *L, const char *lib, const char *name, lua_CFunction with, int per_element)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, name);
    lua_pushinteger(L, per_element);
    lua_pushcclosure(L, with, 2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* ================================================================================
 * The metered Lua-pattern matcher: the semantics of Lua 5.4's patterns
 * (manual §6.4.1), each step charged to the budget so no pattern can hang.
 * ================================================================================ */

#define PAT_ESC '%'
#define PAT_MAXCAP 32
#define PAT_MAXDEPTH 200 /* recursion, as Lua's MAXCCALLS: "pattern too complex" */
#define PAT_CHARGE_EVERY 1024
#define CAP_OPEN (-1)
#define CAP_POS (-2)

typedef struct {
    const char *src, *src_end, *p_end;
    lua_State *L;
    int depth; /* recursion left */
    int level; /* captures so far */
    unsigned steps;
    struct {
        const char *init;
        ptrdiff_t len;
    } cap[PAT_MAXCAP];
} matcher;

static void step(matcher *m)
{
    if (++m->steps >= PAT_CHARGE_EVERY) {
        m->steps = 0;
        sandbox_charge(m->L, PAT_CHARGE_EVERY);
    }
}

static const char *do_match(matcher *m, const char *s, const char *p);

/* The pattern byte at p, 0 past the end (Lua's patterns end with a NUL). */
static int pat_at(const matcher *m, const char *p)
{
    return p < m->p_end ? (unsigned char)*p : 0;
}

/* The end of the single-character class starting at p. */
static const char *class_end(matcher *m, const char *p)
{
    char c = *p++;
    if (c == PAT_ESC) {
        if (p >= m->p_end)
            luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (pat_at(m, p) == '^')
            p++;
        do { /* the first character is a member even if it is ']' */
            if (p >= m->p_end)
                luaL_error(m->L, "malformed pattern (missing ']')");
            if (*p++ == PAT_ESC && p < m->p_end)
                p++;
        } while (pat_at(m, p) != ']');
        return p + 1;
    }
    return p;
}

static int class_has(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated, still in 5.4 */
    default: return cl == c;
    }
    r = r != 0;
    return isupper(cl) ? !r : r;
}

/* [set]: p at '[', last at its ']' */
static int set_has(int c, const char *p, const char *last)
{
    int want = 1;
    if (p[1] == '^') {
        want = 0;
        p++;
    }
    while (++p < last) {
        if (*p == PAT_ESC) {
            p++;
            if (class_has(c, (unsigned char)*p))
                return want;
        } else if (p[1] == '-' && p + 2 < last) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return want;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return want;
        }
    }
    return !want;
}

static int single(const matcher *m, const char *s, const char *p, const char *ep)
{
    if (s >= m->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case PAT_ESC: return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *balance(matcher *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end)
        luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != p[0])
        return NULL;
    int open = p[0], close = p[1], depth = 1;
    while (++s < m->src_end) {
        step(m);
        if (*s == close) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *greedy(matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single(m, s + n, p, ep)) {
        step(m);
        n++;
    }
    for (; n >= 0; n--) { /* longest first */
        const char *r = do_match(m, s + n, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

static const char *lazy(matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = do_match(m, s, ep + 1);
        if (r)
            return r;
        if (!single(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(matcher *m, const char *s, const char *p, ptrdiff_t what)
{
    if (m->level >= PAT_MAXCAP)
        luaL_error(m->L, "too many captures");
    m->cap[m->level].init = s;
    m->cap[m->level].len = what;
    m->level++;
    const char *r = do_match(m, s, p);
    if (!r)
        m->level--;
    return r;
}

static const char *close_capture(matcher *m, const char *s, const char *p)
{
    int l = m->level - 1;
    while (l >= 0 && m->cap[l].len != CAP_OPEN)
        l--;
    if (l < 0)
        luaL_error(m->L, "invalid pattern capture");
    m->cap[l].len = s - m->cap[l].init;
    const char *r = do_match(m, s, p);
    if (!r)
        m->cap[l].len = CAP_OPEN;
    return r;
}

static const char *backref(matcher *m, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->cap[l].len == CAP_OPEN)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    if (m->cap[l].len < 0) /* a position capture matches nothing */
        return NULL;
    size_t len = (size_t)m->cap[l].len;
    if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

static const char *do_match(matcher *m, const char *s, const char *p)
{
    if (m->depth-- == 0)
        luaL_error(m->L, "pattern too complex");
    for (;;) {
        step(m);
        if (p >= m->p_end)
            break;
        if (*p == '(') {
            s = p + 1 < m->p_end && p[1] == ')' ? open_capture(m, s, p + 2, CAP_POS)
                                                : open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->p_end) {
            if (s != m->src_end)
                s = NULL;
            break;
        }
        if (*p == PAT_ESC && p + 1 < m->p_end) {
            int c = (unsigned char)p[1];
            if (c == 'b') {
                s = balance(m, s, p + 2);
                if (!s)
                    break;
                p += 4;
                continue;
            }
            if (c == 'f') {
                p += 2;
                if (pat_at(m, p) != '[')
                    luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(m, p);
                int prev = s == m->src ? 0 : (unsigned char)s[-1];
                int cur = s < m->src_end ? (unsigned char)*s : 0;
                if (!set_has(prev, p, ep - 1) && set_has(cur, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (isdigit(c)) {
                s = backref(m, s, c);
                if (!s)
                    break;
                p += 2;
                continue;
            }
        }
        /* a single-character class, maybe with a quantifier */
        const char *ep = class_end(m, p);
        int q = pat_at(m, ep);
        if (!single(m, s, p, ep)) {
            if (q == '*' || q == '?' || q == '-') {
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (q == '?') {
            const char *r = do_match(m, s + 1, ep + 1);
            if (r) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (q == '+') {
            s = greedy(m, s + 1, p, ep);
            break;
        }
        if (q == '*') {
            s = greedy(m, s, p, ep);
            break;
        }
        if (q == '-') {
            s = lazy(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

static void matcher_init(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    m->L = L;
    m->src = s;
    m->src_end = s + ls;
    m->p_end = p + lp;
    m->steps = 0;
}

static void matcher_reset(matcher *m)
{
    m->level = 0;
    m->depth = PAT_MAXDEPTH;
}

/* Capture i (the whole match s..e when there are none and i is 0): pushes a
 * position capture, else sets *cap and returns its length. */
static ptrdiff_t capture_at(matcher *m, int i, const char *s, const char *e, const char **cap)
{
    if (i >= m->level) {
        if (i != 0)
            luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    ptrdiff_t len = m->cap[i].len;
    *cap = m->cap[i].init;
    if (len == CAP_OPEN)
        luaL_error(m->L, "unfinished capture");
    else if (len == CAP_POS)
        lua_pushinteger(m->L, (m->cap[i].init - m->src) + 1);
    return len;
}

static void push_capture(matcher *m, int i, const char *s, const char *e)
{
    const char *cap;
    ptrdiff_t len = capture_at(m, i, s, e, &cap);
    if (len != CAP_POS)
        lua_pushlstring(m->L, cap, (size_t)len);
}

static int push_captures(matcher *m, const char *s, const char *e)
{
    int n = m->level == 0 && s ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* A relative start position to 1..; as Lua's string functions. */
static size_t start_pos(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (strchr("^$*+?.([%-", p[i]) && p[i])
            return 1;
    return 0;
}

static const char *plain_find(lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    sandbox_charge(L, ls / BYTES_PER_INSTR + 1);
    if (lp == 0)
        return s;
    if (lp > ls)
        return NULL;
    const char *end = s + (ls - lp) + 1;
    while (s < end) {
        const char *c = memchr(s, p[0], (size_t)(end - s));
        if (!c)
            return NULL;
        if (memcmp(c, p, lp) == 0)
            return c;
        s = c + 1;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls);
    if (init > ls + 1) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *at = plain_find(L, s + init - 1, ls - init + 1, p, lp);
        if (!at) {
            luaL_pushfail(L);
            return 1;
        }
        lua_pushinteger(L, (at - s) + 1);
        lua_pushinteger(L, (lua_Integer)((at - s) + lp));
        return 2;
    }
    matcher m;
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    matcher_init(&m, L, s, ls, p, lp);
    const char *from = s + init - 1;
    do {
        matcher_reset(&m);
        const char *e = do_match(&m, from, p);
        if (e) {
            if (!find)
                return push_captures(&m, from, e);
            lua_pushinteger(L, (from - s) + 1);
            lua_pushinteger(L, e - s);
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (from++ < m.src_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int pat_find(lua_State *L)
{
    return find_or_match(L, 1);
}

static int pat_match(lua_State *L)
{
    return find_or_match(L, 0);
}

typedef struct {
    size_t pos;     /* where the next search starts */
    ptrdiff_t last; /* end of the last match, -1 none: no empty match there again */
} gmatch_state;

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    gmatch_state *g = lua_touserdata(L, lua_upvalueindex(3));
    matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    if (g->pos > ls)
        return 0;
    for (const char *from = s + g->pos; from <= m.src_end; from++) {
        matcher_reset(&m);
        const char *e = do_match(&m, from, p);
        if (e && (g->last < 0 || e != s + g->last)) {
            g->pos = (size_t)(e - s);
            g->last = e - s;
            return push_captures(&m, from, e);
        }
    }
    g->pos = ls + 1;
    return 0;
}

static int pat_gmatch(lua_State *L)
{
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    gmatch_state *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->pos = init > ls ? ls + 1 : init;
    g->last = -1;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* The replacement string (argument 3) with %0-%9 and %% expanded. */
static void add_template(matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *r = lua_tolstring(m->L, 3, &l);
    const char *end = r + l;
    while (r < end) {
        const char *pc = memchr(r, PAT_ESC, (size_t)(end - r));
        if (!pc) {
            luaL_addlstring(b, r, (size_t)(end - r));
            break;
        }
        luaL_addlstring(b, r, (size_t)(pc - r));
        int c = pc + 1 < end ? (unsigned char)pc[1] : 0;
        if (c == PAT_ESC) {
            luaL_addchar(b, PAT_ESC);
        } else if (c == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(c)) {
            const char *cap;
            ptrdiff_t len = capture_at(m, c - '1', s, e, &cap);
            if (len == CAP_POS)
                luaL_addvalue(b);
            else
                luaL_addlstring(b, cap, (size_t)len);
        } else {
            luaL_error(m->L, "invalid use of '%c' in replacement string", PAT_ESC);
        }
        r = pc + 2;
    }
}

/* Adds the replacement of match s..e; returns whether it changed anything. */
static int add_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_template(m, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the match */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int pat_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    if (!(tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE))
        luaL_typeerror(L, 3, "string/function/table");
    int anchor = lp > 0 && *p == '^';
    if (anchor) {
        p++;
        lp--;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    const char *src = s, *last = NULL;
    lua_Integer n = 0;
    int changed = 0;
    while (n < max) {
        matcher_reset(&m);
        const char *e = do_match(&m, src, p);
        if (e && e != last) {
            n++;
            changed |= add_replacement(&m, &b, src, e, tr);
            src = last = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

/* ================================================================================
 * The state
 * ================================================================================ */

static void copy_fields(lua_State *L, int from, int to, const char *const *names)
{
    from = lua_absindex(L, from);
    to = lua_absindex(L, to);
    for (size_t i = 0; names[i]; i++) {
        lua_getfield(L, from, names[i]);
        lua_setfield(L, to, names[i]);
    }
}

static void replace_with_upvalue(lua_State *L, int t, const char *name, lua_CFunction f)
{
    t = lua_absindex(L, t);
    lua_getfield(L, t, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, t, name);
}

/* Runs protected: opening the libraries allocates, and may hit the cap. */
static int setup(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    lua_settop(L, 0);

    lua_pushglobaltable(L); /* 1 */
    static const char *const gone[] = { "dofile", "loadfile", "print", NULL };
    for (size_t i = 0; gone[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, 1, gone[i]);
    }
    lua_pushcfunction(L, sb_load);
    lua_setfield(L, 1, "load");
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, 1, "pcall");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, 1, "xpcall");
    lua_pushcfunction(L, sb_require);
    lua_setfield(L, 1, "require");
    replace_with_upvalue(L, 1, "setmetatable", sb_setmetatable);
    replace_with_upvalue(L, 1, "collectgarbage", sb_collectgarbage);
    set_missing(L, 1, missing_globals, "");

    /* os: only the clock and the calendar */
    lua_pushcfunction(L, luaopen_os);
    lua_call(L, 0, 1); /* 2: the full os table, not registered anywhere */
    lua_newtable(L);   /* 3 */
    static const char *const os_keep[] = { "time", "clock", "date", "difftime", NULL };
    copy_fields(L, 2, 3, os_keep);
    set_missing(L, 3, missing_os, "os.");
    lua_setfield(L, 1, "os");
    lua_pop(L, 1);

    /* string: the metered matcher; no dump; the metatable not handed out */
    lua_getfield(L, 1, "string"); /* 2 */
    static const luaL_Reg pats[] = { { "find", pat_find },   { "match", pat_match }, { "gmatch", pat_gmatch },
                                     { "gsub", pat_gsub },   { NULL, NULL } };
    luaL_setfuncs(L, pats, 0);
    lua_pushnil(L);
    lua_setfield(L, 2, "dump");
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 3);

    lua_getfield(L, 1, "coroutine"); /* 2 */
    replace_with_upvalue(L, 2, "resume", sb_resume);
    lua_pushcfunction(L, sb_wrap);
    lua_setfield(L, 2, "wrap");
    lua_pushcfunction(L, sb_close);
    lua_setfield(L, 2, "close");
    lua_pop(L, 1);

    static const char *const str_metered[] = { "byte", "char",   "format", "lower", "upper",
                                               "reverse", "sub", "pack",   "unpack", NULL };
    for (size_t i = 0; str_metered[i]; i++)
        meter(L, "string", str_metered[i], metered, 0);
    meter(L, "string", "rep", metered_rep, 0);
    meter(L, "table", "concat", metered_range, 3);
    meter(L, "table", "unpack", metered_range, 2);
    meter(L, "table", "insert", metered_len, 1);
    meter(L, "table", "remove", metered_len, 1);
    meter(L, "table", "sort", metered_len, 24); /* n log n comparisons */
    meter(L, "table", "move", metered_move, 0);
    static const char *const utf8_metered[] = { "char", "codepoint", "len", "offset", NULL };
    for (size_t i = 0; utf8_metered[i]; i++)
        meter(L, "utf8", utf8_metered[i], metered, 0);

    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_MODULES);
    lua_settop(L, 0);
    return 0;
}

sandbox *sandbox_new(const sandbox_limits *limits, sandbox_loader loader, void *loader_arg, char *err, size_t errlen)
{
    sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sb->memory_max = limits && limits->memory_max ? limits->memory_max : DEFAULT_MEMORY;
    sb->instructions = limits && limits->instructions ? limits->instructions : DEFAULT_INSTRUCTIONS;
    if (sb->instructions > (uint64_t)INT64_MAX)
        sb->instructions = (uint64_t)INT64_MAX;
    sb->wall_ms = limits && limits->wall_ms ? limits->wall_ms : DEFAULT_WALL_MS;
    sb->loader = loader;
    sb->loader_arg = loader_arg;
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        snprintf(err, errlen, "cannot create a Lua state within %zu bytes", sb->memory_max);
        free(sb);
        return NULL;
    }
    sandbox_begin(sb);
    lua_pushcfunction(sb->L, setup);
    if (lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
        snprintf(err, errlen, "cannot set up the sandbox: %s", lua_tostring(sb->L, -1));
        lua_close(sb->L);
        free(sb);
        return NULL;
    }
    lua_sethook(sb->L, hook, LUA_MASKCOUNT, HOOK_EVERY); /* coroutines inherit it */
    return sb;
}

void sandbox_free(sandbox *sb)
{
    if (!sb)
        return;
    /* any __close still pending in the main thread runs at lua_close: it
     * must not be able to run on */
    breach(sb, LIMIT_INSTR);
    lua_sethook(sb->L, hook, LUA_MASKCOUNT, 1);
    lua_close(sb->L);
    free(sb);
}

lua_State *sandbox_lua(sandbox *sb)
{
    return sb->L;
}

void sandbox_begin(sandbox *sb)
{
    sb->left = (int64_t)sb->instructions;
    sb->deadline_ns = now_ns() + (uint64_t)sb->wall_ms * 1000000ull;
}

int sandbox_spent(const sandbox *sb)
{
    return sb->spent != LIMIT_NONE;
}

size_t sandbox_memory(const sandbox *sb)
{
    return sb->used;
}

size_t sandbox_memory_limit(lua_State *L)
{
    return sb_of(L)->memory_max;
}

void sandbox_rethrow(lua_State *L, int status)
{
    recheck(L, sb_of(L), status);
    lua_error(L);
}

static void copy_line(char *dst, size_t dstlen, const char *src)
{
    if (!dst || !dstlen)
        return;
    size_t n = strcspn(src, "\n");
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The message handler: a traceback for runtime errors; runs no Lua code. */
static int traceback(lua_State *L)
{
    sandbox *sb = sb_of(L);
    if (sb->spent)
        return 1;
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

enum sandbox_status sandbox_call(sandbox *sb, int nargs, int nresults, char *err, size_t errlen, char *trace,
                                 size_t tracelen)
{
    lua_State *L = sb->L;
    if (err && errlen)
        err[0] = '\0';
    if (trace && tracelen)
        trace[0] = '\0';
    int base = lua_gettop(L) - nargs; /* the function's index */
    if (sb->spent) {
        lua_settop(L, base - 1);
        copy_line(err, errlen, sb->limit_msg);
        return SANDBOX_LIMIT;
    }
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    if (status == LUA_ERRMEM)
        breach(sb, LIMIT_MEMORY);
    if (status == LUA_OK && !sb->spent) {
        lua_remove(L, base);
        return SANDBOX_OK;
    }
    enum sandbox_status r = SANDBOX_ERROR;
    if (sb->spent) {
        copy_line(err, errlen, sb->limit_msg);
        r = SANDBOX_LIMIT;
    } else {
        const char *msg = lua_tostring(L, -1);
        if (!msg)
            msg = status == LUA_ERRERR ? "error in error handling" : "unknown error";
        copy_line(err, errlen, msg);
        if (trace && tracelen)
            snprintf(trace, tracelen, "%s", msg);
    }
    lua_settop(L, base - 1);
    return r;
}

void sandbox_exclude_wait(lua_State *L, uint64_t waited_ns)
{
    sb_of(L)->deadline_ns += waited_ns;
}

void sandbox_budget_init(const sandbox *sb, sandbox_budget *budget)
{
    budget->left = (int64_t)sb->instructions;
    budget->wall_left_ns = (uint64_t)sb->wall_ms * 1000000ull;
}

/* The traceback of a dead coroutine (under protection: it allocates). */
static int coroutine_traceback(lua_State *L)
{
    luaL_traceback(L, lua_tothread(L, 1), lua_touserdata(L, 2), 0);
    return 1;
}

enum sandbox_status sandbox_resume(sandbox *sb, lua_State *co, sandbox_budget *budget, int nargs, int *nres,
                                   char *err, size_t errlen, char *trace, size_t tracelen)
{
    if (err && errlen)
        err[0] = '\0';
    if (trace && tracelen)
        trace[0] = '\0';
    *nres = 0;
    if (sb->spent) { /* another request of this state breached a limit */
        copy_line(err, errlen, sb->limit_msg);
        return SANDBOX_LIMIT;
    }
    uint64_t start = now_ns();
    sb->left = budget->left;
    sb->deadline_ns = start + budget->wall_left_ns;
    int status = lua_resume(co, sb->L, nargs, nres);
    uint64_t end = now_ns(); /* what is left of the deadline (sandbox_exclude_wait may have moved it) */
    budget->left = sb->left;
    budget->wall_left_ns = sb->deadline_ns > end ? sb->deadline_ns - end : 0;
    if (status == LUA_ERRMEM)
        breach(sb, LIMIT_MEMORY);
    if ((status == LUA_OK || status == LUA_YIELD) && !sb->spent)
        return status == LUA_OK ? SANDBOX_OK : SANDBOX_YIELD;
    if (sb->spent) {
        copy_line(err, errlen, sb->limit_msg);
        return SANDBOX_LIMIT;
    }
    const char *msg = lua_tostring(co, -1);
    if (!msg)
        msg = "(error object is not a string)";
    copy_line(err, errlen, msg);
    if (trace && tracelen) { /* msg stays on co's stack meanwhile */
        lua_State *L = sb->L;
        int top = lua_gettop(L);
        lua_pushcfunction(L, coroutine_traceback);
        lua_pushthread(co);
        lua_xmove(co, L, 1);
        lua_pushlightuserdata(L, (void *)msg);
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_tostring(L, -1))
            snprintf(trace, tracelen, "%s", lua_tostring(L, -1));
        else
            snprintf(trace, tracelen, "%s", msg);
        lua_settop(L, top);
    }
    return SANDBOX_ERROR;
}

static int load_text(lua_State *L, const char *src, size_t len, const char *chunkname, char *err, size_t errlen)
{
    if (len >= 1 && src[0] == LUA_SIGNATURE[0]) {
        snprintf(err, errlen, "%s: binary chunks are not allowed", chunkname);
        return -1;
    }
    char name[256];
    snprintf(name, sizeof name, "=%s", chunkname);
    int status = luaL_loadbufferx(L, src, len, name, "t");
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        copy_line(err, errlen, msg ? msg : "not enough memory");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

enum sandbox_status sandbox_load(sandbox *sb, const char *src, size_t len, const char *chunkname, char *err,
                                 size_t errlen)
{
    if (sb->spent) {
        snprintf(err, errlen, "%s", sb->limit_msg);
        return SANDBOX_LIMIT;
    }
    return load_text(sb->L, src, len, chunkname, err, errlen) ? SANDBOX_ERROR : SANDBOX_OK;
}

enum sandbox_status sandbox_check_syntax(const char *src, size_t len, const char *chunkname, char *err,
                                         size_t errlen)
{
    sandbox tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.memory_max = DEFAULT_MEMORY;
    lua_State *L = lua_newstate(sb_alloc, &tmp);
    if (!L) {
        snprintf(err, errlen, "out of memory");
        return SANDBOX_LIMIT;
    }
    int r = load_text(L, src, len, chunkname, err, errlen);
    lua_close(L);
    return r ? SANDBOX_ERROR : SANDBOX_OK;
}

const char *sandbox_strerror(enum sandbox_status status)
{
    switch (status) {
    case SANDBOX_OK: return "ok";
    case SANDBOX_ERROR: return "Lua error";
    case SANDBOX_LIMIT: return "limit exceeded";
    case SANDBOX_YIELD: return "waiting";
    }
    return "sandbox error";
}
