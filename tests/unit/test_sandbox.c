/* sandbox: hostile scripts end in a limit or a clear error, in bounded time;
 * the metered pattern matcher agrees with Lua's own string library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- helpers ----------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A C function that does slow work without running VM instructions. */
static int sleep10(lua_State *L)
{
    (void)L;
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    return 0;
}

static char *test_loader(void *arg, const char *name, size_t *len, char *chunkname, size_t chunknamelen)
{
    (void)arg;
    const char *src = NULL;
    if (!strcmp(name, "lib.util"))
        src = "local M = {} function M.twice(x) return 2 * x end return M";
    else if (!strcmp(name, "lib.bad"))
        src = "return (";
    if (!src)
        return NULL;
    snprintf(chunkname, chunknamelen, "server/%s.lua", name);
    *len = strlen(src);
    return strdup(src);
}

static const sandbox_limits test_limits = { 8u << 20, 20000000, 3000 };
/* the same budget, with a wall clock that only a hang reaches */
static const sandbox_limits budget_only = { 8u << 20, 20000000, 120000 };

/* A fresh state still runs plain code: breaches leave nothing behind. */
static void fresh_state_works(void)
{
    char err[256];
    sandbox *sb = sandbox_new(&test_limits, NULL, NULL, err, sizeof err);
    assert_non_null(sb);
    const char *src = "return 1+1";
    assert_int_equal(sandbox_load(sb, src, strlen(src), "fresh.lua", err, sizeof err), 0);
    sandbox_begin(sb);
    assert_int_equal(sandbox_call(sb, 0, 1, err, sizeof err, NULL, 0), SANDBOX_OK);
    assert_int_equal(lua_tointeger(sandbox_lua(sb), -1), 2);
    assert_false(sandbox_spent(sb));
    sandbox_free(sb);
}

/* Runs src in a new state; err gets the message. Checks that the wall
 * clock bounds it and that a limit leaves the state spent. */
static enum sandbox_status run(const char *src, const sandbox_limits *lim, char *err, size_t errlen)
{
    sandbox *sb = sandbox_new(lim, test_loader, NULL, err, errlen);
    assert_non_null(sb);
    lua_State *L = sandbox_lua(sb);
    lua_pushcfunction(L, sleep10);
    lua_setglobal(L, "sleep10");
    if (sandbox_load(sb, src, strlen(src), "test.lua", err, errlen) != 0)
        fail_msg("load: %s", err);
    char trace[2048];
    double t0 = now_s();
    sandbox_begin(sb);
    enum sandbox_status st = sandbox_call(sb, 0, 0, err, errlen, trace, sizeof trace);
    double dt = now_s() - t0;
    /* past twice its wall clock, the limit did not stop it */
    if (dt > 2.0 * (double)lim->wall_ms / 1000 + 5)
        fail_msg("%s ran %.1f s: the wall-clock limit did not stop it", src, dt);
    assert_int_equal(lua_gettop(L), 0);
    if (st == SANDBOX_LIMIT)
        assert_true(sandbox_spent(sb));
    sandbox_free(sb);
    fresh_state_works();
    return st;
}

static void expect(const char *src, enum sandbox_status want, const char *substr, const sandbox_limits *lim)
{
    char err[512];
    double t0 = now_s();
    enum sandbox_status st = run(src, lim ? lim : &test_limits, err, sizeof err);
    if (getenv("SANDBOX_TEST_VERBOSE"))
        print_message("%.2f s: %.60s\n", now_s() - t0, src);
    if (st != want)
        fail_msg("%s: status %d (want %d): %s", src, st, want, err);
    if (substr && !strstr(err, substr))
        fail_msg("%s: '%s' lacks '%s'", src, err, substr);
}

/* --- hostile scripts ---------------------------------------------------------- */

static void cpu_loops(void **state)
{
    (void)state;
    const char *budget = "instruction budget of 20000000 exceeded";
    expect("while true do end", SANDBOX_LIMIT, budget, NULL);
    expect("while true do pcall(function() while true do end end) end", SANDBOX_LIMIT, budget, NULL);
    expect("while true do xpcall(function() while true do end end, function(m) return m end) end", SANDBOX_LIMIT,
           budget, NULL);
    expect("xpcall(function() while true do end end, function() while true do end end)", SANDBOX_LIMIT, budget,
           NULL);
    /* coroutines inherit the hook */
    expect("coroutine.wrap(function() while true do end end)()", SANDBOX_LIMIT, budget, NULL);
    expect("while true do pcall(coroutine.wrap(function() while true do end end)) end", SANDBOX_LIMIT, budget,
           NULL);
    expect("while true do local co = coroutine.create(function() while true do end end) "
           "coroutine.resume(co) end",
           SANDBOX_LIMIT, budget, NULL);
    expect("local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() "
           "while true do end end}) coroutine.yield() end) coroutine.resume(co) "
           "while true do pcall(coroutine.close, co) end",
           SANDBOX_LIMIT, budget, NULL);
    expect("local ok = pcall(function() local x <close> = setmetatable({}, {__close = function() "
           "while true do end end}) while true do end end) while true do end",
           SANDBOX_LIMIT, budget, NULL);
    expect("while true do load('while true do end')() end", SANDBOX_LIMIT, budget, NULL);
    expect("load(function() while true do end end)", SANDBOX_LIMIT, budget, NULL);
}

static void memory(void **state)
{
    (void)state;
    const char *mem = "memory limit of 8388608 bytes exceeded";
    expect("local t = {} while true do t[#t + 1] = {} end", SANDBOX_LIMIT, mem, NULL);
    expect("local s = 'x' while true do s = s .. s end", SANDBOX_LIMIT, mem, NULL);
    expect("local t = {} while true do pcall(function() t[#t + 1] = ('x'):rep(1000) .. #t end) end",
           SANDBOX_LIMIT, mem, NULL);
    expect("string.rep('x', 2^31)", SANDBOX_LIMIT, NULL, NULL);
    expect("local t = {} for i = 1, 100 do t[i] = ('x'):rep(2^20) end", SANDBOX_LIMIT, NULL, NULL);
    expect("local t = {} for i = 1, 1e6 do t[i] = 'x' end local s = table.concat(t) "
           "for i = 1, 1e6 do s = table.concat({s, s}) end",
           SANDBOX_LIMIT, NULL, NULL);
    char err[512];
    enum sandbox_status st = run("local function f() return 1 + f() end f()", &test_limits, err, sizeof err);
    assert_true(st == SANDBOX_LIMIT || (st == SANDBOX_ERROR && strstr(err, "stack overflow")));
}

static void missing_capabilities(void **state)
{
    (void)state;
    expect("os.execute('true')", SANDBOX_ERROR, "os.execute is not available in the sandbox", NULL);
    expect("io.open('/etc/passwd')", SANDBOX_ERROR, "io is not available in the sandbox", NULL);
    expect("debug.traceback()", SANDBOX_ERROR, "debug is not available in the sandbox", NULL);
    expect("package.loadlib('x', 'y')", SANDBOX_ERROR, "package is not available in the sandbox", NULL);
    expect("dofile('/etc/passwd')", SANDBOX_ERROR, "dofile is not available in the sandbox", NULL);
    expect("return os.getenv('HOME')", SANDBOX_ERROR, "os.getenv is not available in the sandbox", NULL);
    expect("assert(undefined_global == nil) assert(os.time() > 0) assert(os.date('!%Y', 0) == '1970')",
           SANDBOX_OK, NULL, NULL);
    expect("load(string.dump(function() end))", SANDBOX_ERROR, NULL, NULL);
    expect("assert(load('\\27Lua\\84\\0'))", SANDBOX_ERROR, "binary", NULL);
    expect("assert(load('return 1', 'x', 'b'))", SANDBOX_ERROR, "binary", NULL);
    expect("setmetatable({}, {__gc = function() while true do end end})", SANDBOX_ERROR, "__gc", NULL);
    expect("local m = getmetatable('') assert(m == false) assert(('x').dump == nil) "
           "assert(string.dump == nil) assert(string.find('abc', 'b') == 2)",
           SANDBOX_OK, NULL, NULL);
    expect("collectgarbage('generational')", SANDBOX_ERROR, "not available", NULL);
    expect("assert(collectgarbage('count') > 0) collectgarbage() collectgarbage('step')", SANDBOX_OK, NULL, NULL);
    /* load: the sandbox's globals by default, or the env given */
    expect("X = 5 assert(load('return X')() == 5) assert(load('return X', 'c', 't', {X = 6})() == 6) "
           "assert(load('return X', 'c', 't', nil) and not pcall(load('return X', 'c', 't', nil)))",
           SANDBOX_OK, NULL, NULL);
    /* pcall and coroutines still behave as in plain Lua */
    expect("local co = coroutine.wrap(function() pcall(function() coroutine.yield(1) end) return 2 end) "
           "assert(co() + co() == 3) assert(select(2, pcall(error, 'x', 0)) == 'x') "
           "assert(not coroutine.resume(coroutine.create(function() error('e') end))) "
           "local w = coroutine.wrap(function() error('boom') end) local ok, m = pcall(w) "
           "assert(not ok and m:find('boom')) assert(not pcall(w))",
           SANDBOX_OK, NULL, NULL);
    expect("local u = require('lib.util') assert(u.twice(4) == 8) assert(require('lib.util') == u)", SANDBOX_OK,
           NULL, NULL);
    expect("require('lib.nothere')", SANDBOX_ERROR, "module 'lib.nothere' not found", NULL);
    expect("require('../etc/passwd')", SANDBOX_ERROR, "not allowed", NULL);
    expect("require('lib.bad')", SANDBOX_ERROR, "server/lib.bad.lua:1:", NULL);
}

static void metered_c_work(void **state)
{
    (void)state;
    /* the budget must end these, not the wall clock: a loaded machine
     * (sanitizers, tests side by side) may run them slowly */
    const sandbox_limits *lim = &budget_only;
    expect("return string.rep('a', 200):find('.-.-.-.-b')", SANDBOX_LIMIT, "instruction budget", lim);
    expect("return ('abc'):gsub('%w', function() while true do end end)", SANDBOX_LIMIT, "instruction budget", lim);
    expect("for s in ('abc'):gmatch('.') do while true do end end", SANDBOX_LIMIT, "instruction budget", lim);
    expect("table.move({}, 1, 2^40, 1, {})", SANDBOX_LIMIT, "instruction budget", lim);
    expect("string.rep('', 2^62)", SANDBOX_LIMIT, "instruction budget", lim);
    expect("string.rep('', 2^30, '')", SANDBOX_LIMIT, "instruction budget", lim);
    expect("table.insert(setmetatable({}, {__len = function() return 2^62 end}), 1, 1)", SANDBOX_LIMIT,
           "instruction budget", lim);
    expect("table.concat(setmetatable({}, {__index = function() return '' end}), '', 1, 2^62)", SANDBOX_LIMIT,
           "instruction budget", lim);
    expect("table.unpack({}, 1, 1e8)", SANDBOX_LIMIT, "instruction budget", lim);
    expect("assert(table.concat({1, 2, 3}, ',') == '1,2,3') assert(select('#', table.unpack({1, 2, 3})) == 3) "
           "local t = {3, 1, 2} table.sort(t) assert(t[1] == 1) table.insert(t, 4) assert(table.remove(t) == 4) "
           "assert(('x'):rep(3, ',') == 'x,x,x') assert(('abc'):upper() == 'ABC')",
           SANDBOX_OK, NULL, NULL);
    expect("while true do collectgarbage() end", SANDBOX_LIMIT, "instruction budget", lim);
    expect("local s = ('x'):rep(2^20) while true do local t = s:rep(4) end", SANDBOX_LIMIT, NULL, lim);
    expect("local s = ('x'):rep(2^20) while true do local t = s:upper() end", SANDBOX_LIMIT, NULL, lim);
    /* wall clock: slow C work between hook calls */
    sandbox_limits wall = { 8u << 20, 1000000000000ull, 100 };
    double t0 = now_s();
    expect("while true do sleep10() end", SANDBOX_LIMIT, "wall-clock limit of 100 ms exceeded", &wall);
    print_message("wall-clock breach noticed after %.2f s\n", now_s() - t0);
}

/* The 5.4.4 bug: nested coroutine.close through __close overflowed the C
 * stack. Here it ends in a clear error. */
static void nested_close(void **state)
{
    (void)state;
    expect("local coro = false "
           "for i = 1, 1000 do "
           "  local previous = coro "
           "  coro = coroutine.create(function() "
           "    local cc <close> = setmetatable({}, {__close = function() "
           "      if previous then assert(coroutine.close(previous)) end end}) "
           "    coroutine.yield() end) "
           "  assert(coroutine.resume(coro)) "
           "end "
           "local ok, msg = coroutine.close(coro) assert(not ok) error(msg, 0)",
           SANDBOX_ERROR, "coroutine.close nested too deeply", NULL);
    expect("local w = false "
           "for i = 1, 1000 do "
           "  local previous = w "
           "  w = coroutine.wrap(function() "
           "    local cc <close> = setmetatable({}, {__close = function() if previous then previous() end end}) "
           "    error('x') end) "
           "end "
           "w()",
           SANDBOX_ERROR, NULL, NULL);
}

static void load_and_syntax(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(sandbox_check_syntax("return 1", 8, "server/main.lua", err, sizeof err), 0);
    const char *bad = "local x = 1\nx = = 2\n";
    assert_int_equal(sandbox_check_syntax(bad, strlen(bad), "server/main.lua", err, sizeof err), SANDBOX_ERROR);
    assert_string_equal(err, "server/main.lua:2: unexpected symbol near '='");
    assert_int_equal(sandbox_check_syntax("\x1bLua\x54", 5, "server/main.lua", err, sizeof err), SANDBOX_ERROR);
    assert_non_null(strstr(err, "binary chunks are not allowed"));

    sandbox *sb = sandbox_new(NULL, NULL, NULL, err, sizeof err);
    assert_non_null(sb);
    assert_true(sandbox_memory(sb) > 0);
    assert_int_equal(sandbox_load(sb, "\x1bLua", 4, "m.lua", err, sizeof err), SANDBOX_ERROR);
    assert_non_null(strstr(err, "binary chunks are not allowed"));
    assert_int_equal(sandbox_load(sb, bad, strlen(bad), "server/x.lua", err, sizeof err), SANDBOX_ERROR);
    assert_string_equal(err, "server/x.lua:2: unexpected symbol near '='");
    const char *rt = "local function f() error('oops') end\nf()\n";
    assert_int_equal(sandbox_load(sb, rt, strlen(rt), "server/rt.lua", err, sizeof err), 0);
    char trace[2048];
    sandbox_begin(sb);
    assert_int_equal(sandbox_call(sb, 0, 0, err, sizeof err, trace, sizeof trace), SANDBOX_ERROR);
    assert_string_equal(err, "server/rt.lua:1: oops");
    assert_non_null(strstr(trace, "stack traceback"));
    assert_int_equal(lua_gettop(sandbox_lua(sb)), 0);
    /* arguments and results */
    const char *add = "return function(a, b) return a + b, 'x' end";
    assert_int_equal(sandbox_load(sb, add, strlen(add), "add.lua", err, sizeof err), 0);
    assert_int_equal(sandbox_call(sb, 0, 1, err, sizeof err, NULL, 0), SANDBOX_OK);
    lua_pushinteger(sandbox_lua(sb), 2);
    lua_pushinteger(sandbox_lua(sb), 3);
    assert_int_equal(sandbox_call(sb, 2, 2, err, sizeof err, NULL, 0), SANDBOX_OK);
    assert_int_equal(lua_tointeger(sandbox_lua(sb), -2), 5);
    assert_int_equal(lua_gettop(sandbox_lua(sb)), 2);
    sandbox_free(sb);
}

/* --- the pattern matcher against Lua's own -------------------------------------- */

static const char *const cases[] = {
    "('hello world'):find('o w')", "('hello'):find('l+')", "('hello'):find('l', -2)", "('hello'):find('l', -10)",
    "('hello'):find('', 10)", "('hello'):find('', 6)", "('a.b'):find('.', 1, true)", "('a+b'):find('+', 1, true)",
    "('a+b'):find('+')", "('hello'):find('(h)(e)')", "('hello'):find('()ll()')", "('  x'):find('^%s*')",
    "('abc'):find('b', 0)", "('abc'):find('$')", "('a$b'):find('$b')", "('a$b'):find('%$b')",
    "('f(a(b)c)d'):find('%b()')", "('THE (quick) fox'):find('%f[%a]%a+')", "('hello hello'):find('(l+)o h%a+%1')",
    "('abcabc'):match('(abc)%1')", "('x=1, y=2'):match('(%w+)=(%w+)')", "('  trim  '):match('^%s*(.-)%s*$')",
    "('2024-01-02'):match('(%d+)-(%d+)-(%d+)')", "('[[x]]'):match('%[(.*)%]')", "('abc'):match('[^a]+')",
    "('a-b'):match('[a%-]+')", "('a]b'):match('[]a]+')", "('hello'):match('.-l')", "('hello'):match('.*l')",
    "('hello'):match('l?l?lo')", "('a\\0b'):match('a%zb')", "('a\\0b'):match('a%z')", "('a\\0b'):match('a\\0')",
    "('hello'):match('l+', 4)", "('hello'):match('^l', 3)", "('hello'):match('^h')", "('hello'):match('o$')",
    "('hello'):match('()')", "('hello'):match('(h)(e)(l)(l)(o)')", "('xyz'):match('%f[%w]')",
    "('THE (quick) fox'):match('%f[%a](%a+)%f[%A]')", "('abc'):match('((a)(b))')", "('aaa'):match('(a-)a')",
    "('abc'):match('[a-c]+')", "('abc'):match('[c-a]+')", "('a-c'):match('[a-]+')", "('^a'):match('[%^a]+')",
    "('abc'):match('[%a-z]+')", "('((x))'):match('%b((')", "('aXb'):match('%bab')", "('aaa'):match('%baa')",
    "('x'):match('(()x)')", "('abab'):match('(ab)%1$')", "('x'):match('()%1')",
    "G('one two three', '%a+')", "G('k=v, a=b', '(%w+)=(%w+)')", "G('abc', '')", "G('abc', 'b*')",
    "G('hello', 'l', 4)", "G('hello', 'l', -1)", "G('hello', 'l', 10)", "G('abc', '^a')", "G('a,b,,c', '([^,]*)')",
    "G('abc', '()')", "G('', '.')", "G('', '')",
    "('hello world'):gsub('o', '0')", "('hello world'):gsub('o', '0', 1)", "('hello world'):gsub('o', '0', 0)",
    "('hello world'):gsub('o', '0', -1)", "('hello'):gsub('', '-')", "('abc'):gsub('%w', '%0%0')",
    "('abc'):gsub('(%w)', '%1-')", "('abc'):gsub('b', '%%')", "('hello world'):gsub('%w+', {hello = 'HI'})",
    "('hello world'):gsub('%w+', function(w) return w:upper() end)",
    "('hello world'):gsub('%w+', function(w) return nil end)", "('hello world'):gsub('(%w)(%w*)', "
                                                               "function(a, b) return b .. a end)",
    "('abc'):gsub('()b', '%1')", "('abc'):gsub('^a', 'X')", "('aaa'):gsub('^a', 'X')", "('abc'):gsub('b', 5)",
    "('abc'):gsub('b', 5.5)", "('abc'):gsub('b', '%1')", "('abc'):gsub('(b)', {b = 1})",
    "('abc'):gsub('b', {b = false})", "('abc'):gsub('b*', '-')", "('abc'):gsub('', '', -1)",
    "('abc'):gsub('$', '!')", "('a b c'):gsub(' ', '%%%%')", "('abc'):gsub('.', {a = 1, b = true})",
    "('x'):gsub('x', '%2')", "('x'):gsub('x', '%y')", "('x'):gsub('x', '%')", "('x'):gsub('x', {x = {}})",
    "('x'):gsub('x', true)", "('x'):gsub('x')", "('x'):gsub('(x)', '%2')", "('x'):gsub('x', 'a', 'b')",
    "('a'):find('%')", "('a'):find('[a')", "('a'):find('[a%')", "('a'):find('[')", "('a'):find('[^')",
    "('a'):find('%f')", "('a'):find('%fa')", "('a'):find('%b')", "('a'):find('%ba')", "('a'):find('(a%1)')",
    "('a'):find('%1')", "('a'):find('(a')", "('a'):match('a)')", "('a'):match(')')",
    "('a'):find(string.rep('(a', 33))", "('a'):find(string.rep('()', 32))", "('a'):find(string.rep('()', 33))",
    "string.rep('a', 300):match(string.rep('.?', 300))", "string.rep('a', 150):match(string.rep('.?', 150))",
    "('a'):find()", "string.find()", "('a'):find('a', 'x')", "string.match('a')", "string.gmatch('a')",
    "('a'):find({})",
    "C('a')", "C('c')", "C('d')", "C('g')", "C('l')", "C('p')", "C('s')", "C('u')", "C('w')", "C('x')",
    "C('A')", "C('C')", "C('D')", "C('G')", "C('L')", "C('P')", "C('S')", "C('U')", "C('W')", "C('X')",
    "C('z')", "C('.')", "(ALL):gsub('[a-f%d]', '')", "(ALL):gsub('[^%s%p]', '')", "(ALL):gsub('[%]]', '')",
    "(ALL):gsub('[\\200-\\255]', '')", "(ALL):gsub('%f[%z\\1-\\255]', '|')", "(ALL):find('[\\0]')",
    "(ALL):find('\\0', 1, true)", "(ALL):gsub('%w+', '%0!')",
    NULL,
};

static const char diff_prelude[] =
    "local CASES = ...\n"
    "local b = {} for i = 0, 255 do b[#b + 1] = string.char(i) end\n"
    "ALL = table.concat(b)\n"
    "function G(s, p, init) local t = {} for a, b in string.gmatch(s, p, init) do\n"
    "  t[#t + 1] = tostring(a) .. '|' .. tostring(b) end return table.concat(t, ';') end\n"
    "function C(c) return (ALL):gsub('%' .. c, '*') end\n"
    "local function ser(...) local t = {} for i = 1, select('#', ...) do local v = select(i, ...)\n"
    "  t[#t + 1] = type(v) == 'string' and string.format('%q', v) or (math.type(v) or type(v)) .. ':' .. "
    "tostring(v) end\n"
    "  return table.concat(t, ',') end\n"
    "local out = {}\n"
    "for i, c in ipairs(CASES) do\n"
    "  local f = assert(load('return ' .. c, '=case'))\n"
    "  out[i] = ser(pcall(f))\n"
    "end\n"
    "return out\n";

static void push_cases(lua_State *L)
{
    lua_newtable(L);
    for (int i = 0; cases[i]; i++) {
        lua_pushstring(L, cases[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void pattern_differential(void **state)
{
    (void)state;
    lua_State *ref = luaL_newstate();
    luaL_openlibs(ref);
    assert_int_equal(luaL_loadstring(ref, diff_prelude), LUA_OK);
    push_cases(ref);
    if (lua_pcall(ref, 1, 1, 0) != LUA_OK)
        fail_msg("reference: %s", lua_tostring(ref, -1));

    char err[512];
    sandbox_limits lim = { 64u << 20, 1000000000, 20000 };
    sandbox *sb = sandbox_new(&lim, NULL, NULL, err, sizeof err);
    assert_non_null(sb);
    lua_State *L = sandbox_lua(sb);
    assert_int_equal(sandbox_load(sb, diff_prelude, strlen(diff_prelude), "diff", err, sizeof err), 0);
    push_cases(L);
    sandbox_begin(sb);
    if (sandbox_call(sb, 1, 1, err, sizeof err, NULL, 0) != SANDBOX_OK)
        fail_msg("sandbox: %s", err);

    int bad = 0;
    for (int i = 0; cases[i]; i++) {
        lua_rawgeti(ref, -1, i + 1);
        lua_rawgeti(L, -1, i + 1);
        const char *want = lua_tostring(ref, -1), *got = lua_tostring(L, -1);
        if (!want || !got || strcmp(want, got)) {
            print_error("%s\n  lua:     %.300s\n  sandbox: %.300s\n", cases[i], want ? want : "(nil)",
                        got ? got : "(nil)");
            bad++;
        }
        lua_pop(ref, 1);
        lua_pop(L, 1);
    }
    sandbox_free(sb);
    lua_close(ref);
    assert_int_equal(bad, 0);
}

/* --- metatables, finalizers, and the embedder's rethrow ------------------------ */

static int cleanups; /* how often a C function below cleaned up after its helper */

static int allocate_too_much(lua_State *L)
{
    lua_newuserdatauv(L, (size_t)64 << 20, 0);
    return 1;
}

static int fail_plainly(lua_State *L) { return luaL_error(L, "plain error"); }

/* An embedder function as lua_api.c writes them: its helper runs under
 * lua_pcall, it cleans up, then sandbox_rethrow passes the error on. */
static int protected_helper(lua_State *L)
{
    lua_CFunction helper = lua_tocfunction(L, lua_upvalueindex(1));
    lua_pushcfunction(L, helper);
    int status = lua_pcall(L, 0, 1, 0);
    cleanups++;
    if (status != LUA_OK)
        sandbox_rethrow(L, status);
    return 1;
}

static enum sandbox_status run_with_helpers(const char *src, char *err, size_t errlen)
{
    sandbox *sb = sandbox_new(&test_limits, NULL, NULL, err, errlen);
    assert_non_null(sb);
    lua_State *L = sandbox_lua(sb);
    assert_int_equal(sandbox_memory_limit(L), test_limits.memory_max);
    lua_pushcfunction(L, allocate_too_much);
    lua_pushcclosure(L, protected_helper, 1);
    lua_setglobal(L, "allocate_too_much");
    lua_pushcfunction(L, fail_plainly);
    lua_pushcclosure(L, protected_helper, 1);
    lua_setglobal(L, "fail_plainly");
    if (sandbox_load(sb, src, strlen(src), "test.lua", err, errlen) != 0)
        fail_msg("load: %s", err);
    sandbox_begin(sb);
    enum sandbox_status st = sandbox_call(sb, 0, 0, err, errlen, NULL, 0);
    assert_int_equal(lua_gettop(L), 0);
    sandbox_free(sb);
    return st;
}

static void metatables_and_finalizers(void **state)
{
    (void)state;
    char err[512];
    /* the metatables the sandbox made are neither handed out nor replaced */
    expect("assert(getmetatable(_G) == false and getmetatable(os) == false) setmetatable(_G, {})", SANDBOX_ERROR,
           "cannot change a protected metatable", NULL);
    expect("setmetatable(os, nil)", SANDBOX_ERROR, "cannot change a protected metatable", NULL);
    expect("assert(not pcall(rawset, getmetatable(_G), '__gc', tostring))", SANDBOX_OK, NULL, NULL);
    expect("local x = io", SANDBOX_ERROR, "io is not available in the sandbox", NULL);
    /* a __gc added after setmetatable does not make a finalizer: Lua marks an
     * object only when its metatable is set, and setmetatable refuses __gc then */
    expect("local mt = {} local o = setmetatable({}, mt) mt.__gc = function() ran = true end o = nil "
           "collectgarbage() collectgarbage() assert(not ran, 'the finalizer ran')",
           SANDBOX_OK, NULL, NULL);
    expect("local mt = {} setmetatable({}, mt) mt.__gc = function() end setmetatable({}, mt)", SANDBOX_ERROR,
           "__gc metamethods are not allowed", NULL);
    /* sandbox_rethrow: a memory error in an embedder's helper is the memory
     * limit, which pcall cannot catch; its cleanup ran first */
    cleanups = 0;
    assert_int_equal(run_with_helpers("while true do pcall(allocate_too_much) end", err, sizeof err), SANDBOX_LIMIT);
    assert_non_null(strstr(err, "memory limit of 8388608 bytes exceeded"));
    assert_int_equal(cleanups, 1);
    /* ... and any other error stays an ordinary one */
    cleanups = 0;
    assert_int_equal(run_with_helpers("local ok, e = pcall(fail_plainly) assert(not ok and e:find('plain error')) "
                                      "fail_plainly()",
                                      err, sizeof err),
                     SANDBOX_ERROR);
    assert_non_null(strstr(err, "plain error"));
    assert_int_equal(cleanups, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_and_syntax),      cmocka_unit_test(pattern_differential),
        cmocka_unit_test(missing_capabilities), cmocka_unit_test(cpu_loops),
        cmocka_unit_test(memory),               cmocka_unit_test(metered_c_work),
        cmocka_unit_test(nested_close),         cmocka_unit_test(metatables_and_finalizers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
