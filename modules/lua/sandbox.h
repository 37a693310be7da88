/*
 * sandbox: a Lua 5.4 state that untrusted app code may run in.
 *
 * What app code gets: the base library without dofile/loadfile/print and
 * with collectgarbage limited to "count"/"collect"/"step"/"isrunning",
 * `load` of text chunks only (mode "t", the sandbox's globals by default),
 * string (without dump; find/match/gmatch/gsub are the sandbox's own,
 * metered, with Lua 5.4's semantics and errors), table, math, utf8,
 * coroutine, os with only time/clock/date/difftime, and `require` that asks
 * the loader given to sandbox_new (names with ".." or "/" refused; results
 * cached per state). No io, debug, package, string.dump, binary chunks or
 * __gc metamethods (setmetatable refuses a metatable with __gc: finalizers
 * run with hooks off, so one that loops could not be stopped). Naming a
 * missing global or os field (io, debug, package, print, os.execute, ...)
 * raises "X is not available in the sandbox"; string.dump is simply nil
 * (the string table is also the strings' __index, where an error would
 * break ("x").dump == nil), and getmetatable("") is false. Every metatable
 * the sandbox makes (the strings', _G's and os's) carries __metatable, so app
 * code can neither read nor edit it; embedders do the same with theirs (a
 * __gc added later to a metatable C code then attaches would mark objects
 * for finalization behind setmetatable's check).
 *
 * Limits, per state: memory (a custom allocator: the state never holds more
 * than memory_max bytes); per request (sandbox_begin .. sandbox_call):
 * instructions (a count hook every 1000 instructions, inherited by every
 * coroutine; pattern matching, string.rep, table.concat/move/sort and other
 * long C work are charged to the same budget, about 1 per 64 bytes or per
 * element) and wall time (checked at each hook call and each charge, so a
 * slow embedder C function called in a loop is noticed only at the next
 * one: such functions should call sandbox_charge themselves). A breach raises an error that pcall, xpcall, coroutine.resume,
 * coroutine.wrap and coroutine.close cannot swallow: it always reaches
 * sandbox_call, which reports SANDBOX_LIMIT and which limit.
 *
 * Not thread-safe: one thread uses a state at a time.
 */
#ifndef LEITHER_SANDBOX_H
#define LEITHER_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sandbox sandbox;

typedef struct {
    size_t memory_max;        /* bytes the state may hold (0: 64 MiB) */
    uint64_t instructions;    /* VM instructions per request (0: 100 million) */
    uint32_t wall_ms;         /* milliseconds per request (0: 5000) */
} sandbox_limits;

/* Finds module `name` for require (dots as given, e.g. "lib.util"): returns
 * its source (malloc'd; *len its length; chunkname e.g. "server/lib/util.lua"
 * written to chunkname) or NULL when there is none. */
typedef char *(*sandbox_loader)(void *arg, const char *name, size_t *len, char *chunkname, size_t chunknamelen);

/* A new sandboxed state; NULL with a reason in err. loader may be NULL (no
 * require). */
sandbox *sandbox_new(const sandbox_limits *limits, sandbox_loader loader, void *loader_arg, char *err,
                     size_t errlen);
void sandbox_free(sandbox *sb);

/* The state, for the embedder to add its own API (C functions, tables)
 * before app code runs. Values it adds are visible to app code. */
lua_State *sandbox_lua(sandbox *sb);

/* Starts a request: a full instruction budget and the wall clock from now. */
void sandbox_begin(sandbox *sb);

/* What a load or a call came to (errbuf.h: 0 is OK, err has the reason). */
enum sandbox_status {
    SANDBOX_OK = 0,
    SANDBOX_ERROR, /* a compile or runtime error: err has the message, trace the traceback */
    SANDBOX_LIMIT, /* a limit was breached: err names it ("instruction budget of N exceeded",
                      "memory limit of N bytes exceeded", "wall-clock limit of N ms exceeded") */
    SANDBOX_YIELD  /* sandbox_resume: the coroutine yielded (it waits for the embedder) */
};
/* The kind's name ("Lua error", "limit exceeded"): a static string. */
const char *sandbox_strerror(enum sandbox_status status);
/* Calls the function below nargs arguments on the stack, as lua_pcall.
 * On SANDBOX_ERROR and SANDBOX_LIMIT nothing is left on the stack; err gets
 * a one-line message, trace (may be NULL) the traceback. */
enum sandbox_status sandbox_call(sandbox *sb, int nargs, int nresults, char *err, size_t errlen, char *trace,
                                 size_t tracelen);

/* Requests that wait (app code calling the database) run as coroutines of
 * the state, several at a time and one running: each has its own budget,
 * and time spent suspended does not count against its wall clock. */
typedef struct {
    int64_t left;          /* instructions left */
    uint64_t wall_left_ns; /* running time left */
} sandbox_budget;
/* A request's full budget. */
void sandbox_budget_init(const sandbox *sb, sandbox_budget *budget);
/* Resumes co, a thread of the state (lua_newthread) holding a function and
 * its arguments, or a coroutine that yielded and the nargs values it is
 * resumed with, under budget. SANDBOX_OK with *nres results on co's stack,
 * SANDBOX_YIELD with *nres yielded values, or SANDBOX_ERROR / SANDBOX_LIMIT
 * as sandbox_call (co is then dead; err and trace as there). */
enum sandbox_status sandbox_resume(sandbox *sb, lua_State *co, sandbox_budget *budget, int nargs, int *nres,
                                   char *err, size_t errlen, char *trace, size_t tracelen);

/* For embedder C functions that waited (the worker parked, not running
 * Lua) for waited_ns: that time is not charged to the request's wall clock. */
void sandbox_exclude_wait(lua_State *L, uint64_t waited_ns);

/* Compiles chunk text in the sandbox (nothing runs); pushes the function.
 * SANDBOX_OK, or SANDBOX_ERROR with "chunkname:line: message" in err
 * (binary chunks refused), SANDBOX_LIMIT once the state is spent. */
enum sandbox_status sandbox_load(sandbox *sb, const char *src, size_t len, const char *chunkname, char *err,
                                 size_t errlen);

/* Nonzero once a limit was breached: the state may be inconsistent and
 * must be freed rather than used again. */
int sandbox_spent(const sandbox *sb);

/* Bytes the state holds now. */
size_t sandbox_memory(const sandbox *sb);

/* The memory limit of the state L belongs to (for embedders that size their
 * own input limits by it). */
size_t sandbox_memory_limit(lua_State *L);

/* For embedder C functions that lua_pcall their own helper to clean up C
 * resources on error (status is what lua_pcall returned, the error object on
 * top): raises that error again. A memory error, or any error after a limit
 * was breached, is raised as the limit, which app code cannot catch. */
void sandbox_rethrow(lua_State *L, int status);

/* Checks that src compiles as a text chunk, in a throwaway state:
 * SANDBOX_OK, or SANDBOX_ERROR with "chunkname:line: message" in err
 * (SANDBOX_LIMIT when no state could be made). For upload-time checks. */
enum sandbox_status sandbox_check_syntax(const char *src, size_t len, const char *chunkname, char *err,
                                         size_t errlen);

/* requires.c: calls fn with each module name src requires literally
 * (require "x", require('x'), require [[x]]) and its line, until fn returns
 * nonzero (returned). Comments and strings are skipped; a name computed at
 * run time is not seen. For upload-time checks. */
int sandbox_each_require(const char *src, size_t len, int (*fn)(void *arg, const char *name, int line), void *arg);
/* Where an app's require finds module name: "lua/leither/x.lua" for the
 * node's library (leither.x, in the binary), else "server/a/b.lua" for a.b
 * in the app. 0, or -1 with the reason in out when the name is not allowed. */
int sandbox_module_path(const char *name, char *out, size_t cap);

/* For C functions the embedder adds that do long work without running VM
 * instructions: charges n instructions, raising the limit error when the
 * budget or the wall clock runs out. */
void sandbox_charge(lua_State *L, uint64_t n);

#endif
