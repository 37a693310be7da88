/*
 * contract: the deterministic, metered engine of Lua reward contracts
 * (issue 15), on top of the app sandbox (modules/lua/sandbox.h: its memory
 * cap, its instruction hook, its uncatchable breaches and its metered string
 * and table functions). A module: it knows nothing of the ledger, the tree or
 * the node; the embedder (runtime/ledger) gives it the world as callbacks.
 *
 * A contract is a Lua 5.4 text chunk that returns a table of functions, as a
 * Lua module does. Every call runs in a FRESH state: the chunk is compiled
 * and run, then the named function is called with the JSON arguments. So a
 * contract keeps nothing between calls except through storage.set, memory
 * use and collection pacing depend on the call alone (but see the hole
 * below), and the chunk's top level is part of every call's gas.
 *
 * What contract code gets (everything else is absent; naming a removed
 * global raises "X is not available in contracts"):
 *  - the base library without load, require, collectgarbage, print, dofile,
 *    loadfile; pairs and next in the deterministic order below; len(v)
 *    and rawlen(v) that depend on the table's content only (strings: their
 *    bytes; tables: __len if any (len only), else a border found by doubling
 *    then bisection over raw reads: for a sequence its length); tostring
 *    that never shows an address ("table", "function", "thread",
 *    "userdata"; __tostring is honoured, __name is not); setmetatable
 *    refusing __gc and __mode (finalizers and weak tables depend on the
 *    collector's timing);
 *  - string (sandbox's, metered; format refuses '%p' and formats tables and
 *    functions with the tostring above), table (sort is the engine's own:
 *    a stable merge sort; Lua's quicksort picks pivots from clock() and
 *    time() above 100 elements, so its comparisons, gas and the order of
 *    equal elements would differ between runs), math without random,
 *    randomseed and the libm functions sin, cos, tan, asin, acos, atan,
 *    exp, log (not correctly rounded: another glibc may give another last
 *    bit; the '^' operator calls pow() and has the same weakness, so
 *    contracts should keep to integers) but with integer arithmetic for
 *    money that raises "integer overflow" instead of wrapping as Lua's
 *    operators do: math.add(a, b),
 *    math.sub(a, b), math.mul(a, b), math.muldiv(a, b, d) (a * b // d with
 *    a 128-bit product, floored; for shares in basis points), utf8;
 *    table.insert/remove/concat/unpack take their lengths from len(), not
 *    from Lua's '#';
 *  - no os, io, debug, package, coroutine (refused: a yield across the
 *    engine's C boundary and the sandbox's per-coroutine budgets are not
 *    needed by reward rules; a later issue may allow them);
 *  - ctx.caller, ctx.pulse, ctx.contract (strings / integer, read only);
 *    ledger.balance(id) -> integer; ledger.transfer(from, to, amount);
 *    ledger.mint(to, amount, reason); storage.get(key) -> value or nil;
 *    storage.set(key, value) (nil deletes); emit(name, fields);
 *    random() -> integer in [0, 2^63), random(n) -> [1, n],
 *    random(m, n) -> [m, n] (m <= n): the seeded stream below.
 *
 * Deterministic order of pairs/next: integer keys ascending, then string
 * keys byte-wise (memcmp, shorter first on a common prefix). Any other key
 * (a float, a boolean, a table, a function) raises "pairs: only integer
 * and string keys can be iterated in contracts" (the same words whichever
 * bad key is met first, so the message is deterministic too). pairs(t) sorts a snapshot of the keys
 * (charged n log n); next(t, k) scans the table (charged n per step): loops
 * should use pairs. __pairs is not consulted.
 *
 * JSON values: integers, strings (valid UTF-8), booleans, null, arrays,
 * objects with string keys; never floats (jansson reals). Lua side: a JSON
 * array is a sequence 1..n, an object a table with string keys, null is nil
 * (as an argument or a result; inside an array or object it is refused: Lua
 * cannot hold nil in a table). A Lua table with keys exactly 1..n (n >= 1)
 * becomes an array, one with only string keys an object (keys sorted),
 * an empty table an empty object; anything else (mixed keys, a float
 * anywhere, a function, a non-UTF-8 string, nesting deeper than
 * CONTRACT_JSON_DEPTH, a cycle, a value longer than its limit: about
 * CONTRACT_VALUE_MAX, CONTRACT_EVENT_MAX or CONTRACT_RESULT_MAX bytes, each
 * element counted as its bytes + 2) is an error naming what was refused.
 * Floats may be computed with but never returned, stored or emitted.
 *
 * Gas of a call = VM instructions counted by the sandbox's hook (in steps of
 * its period, 1000 instructions) + the sandbox's charges for metered C work
 * + CONTRACT_GAS_HOST_CALL per host call + CONTRACT_GAS_STORAGE_BYTE per
 * byte of key and value written by storage.set + CONTRACT_GAS_EVENT_BYTE per
 * byte of an emitted event. Running out raises the sandbox's limit error,
 * which pcall/xpcall cannot catch: the call ends with CONTRACT_OUT_OF_GAS.
 * All these counts depend only on the source, the arguments and the host's
 * answers, never on time or addresses: the same call gives the same result,
 * gas, writes and events in every process (same architecture and Lua build).
 *
 * A HOLE IN PLAIN LUA: '#' on a table that is not a
 * sequence (has holes) gives any border, and which one depends on the
 * table's array size, i.e. on when it was last rehashed; with deletions in
 * its hash part, that moment depends on string-hash collisions, i.e. on the
 * per-state random seed (time and addresses, not settable without patching
 * Lua). Two processes then disagree (seen: "#t" 3 in one, 7 in another, in
 * the ASan build). The same timing moves the memory a call uses, so a call
 * that ends at the memory cap might end a little earlier or later in another
 * process. So the '#' operator is refused in contract source (a scan of
 * the text outside strings and comments: "contract:LINE: the length
 * operator '#' is not available in contracts (use len(x))"); len(x),
 * rawlen and the table functions give content-only lengths instead. The
 * memory-cap timing remains: a call that ends at the cap reports the whole
 * gas limit as used (so the exact moment does not show), but a call that
 * comes within a few table resizes of the cap may pass in one process and
 * fail in another, and one that meets the cap and runs out of gas at about
 * the same time may report either: the embedder should record
 * CONTRACT_MEMORY and CONTRACT_OUT_OF_GAS under one receipt ("resource
 * limit") and keep memory_max well above what its contracts need.
 *
 * Writes and events are buffered by the engine (storage.get sees the call's
 * own earlier writes) and reported only when the call succeeds. Ledger
 * operations go straight to the embedder's callbacks: the embedder runs each
 * call inside its own transaction and throws the transaction away when the
 * call fails; that is what makes a call all-or-nothing.
 *
 * The process must stay in the "C" locale (no setlocale): string.lower,
 * upper and the pattern classes (%a, %l, ...) follow the C library's ctype.
 *
 * Thread rule: no global state; each call owns its state, so calls may run
 * in parallel in different threads (the host callbacks are called from the
 * calling thread and must then be thread-safe themselves). An outcome
 * belongs to the thread that received it.
 */
#ifndef LEITHER_CONTRACT_H
#define LEITHER_CONTRACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CONTRACT_SEED_BYTES 32          /* previous root, call hash */
#define CONTRACT_JSON_DEPTH 32          /* nesting of arguments, results, values, events */
#define CONTRACT_KEY_MAX 256            /* bytes of a storage key (at least 1) */
#define CONTRACT_VALUE_MAX 4096         /* bytes of a stored value's JSON text (SMT_VALUE_MAX: it is a tree leaf) */
#define CONTRACT_EVENT_MAX 16384        /* bytes of an event's JSON text (name and fields) */
#define CONTRACT_RESULT_MAX 65536       /* bytes of a call's result as JSON text */
#define CONTRACT_EVENTS_MAX 256         /* events per call */
#define CONTRACT_WRITES_MAX 1024        /* distinct storage keys written per call */
#define CONTRACT_GAS_CALL 1000          /* charged once per call, so no call is free */
#define CONTRACT_GAS_HOST_CALL 100      /* per ledger/storage/emit/random call */
#define CONTRACT_GAS_STORAGE_BYTE 16    /* per byte of key and value written */
#define CONTRACT_GAS_EVENT_BYTE 4       /* per byte of an event's JSON text */
#define CONTRACT_MEMORY_DEFAULT ((size_t)16 << 20)
#define CONTRACT_GAS_DEFAULT 10000000ULL

/* The world of one call, given by the embedder. Every callback returns 0,
 * or -1 with a one-line reason in err (the contract sees it as a Lua error
 * "ledger.transfer: <reason>", which pcall CAN catch: the embedder must
 * have changed nothing when it refuses). NULL callbacks make the function
 * raise "<name> is not available here". IDs are the ledger's account IDs
 * as text; the engine checks only that they are strings. */
typedef struct {
    void *arg;
    const char *caller;   /* the signed caller's account ID */
    const char *contract; /* the contract's ID (its account) */
    int64_t pulse;        /* the pulse the call is applied in */
    /* previous root and the call's hash: random()'s stream is
     * BLAKE2b-512(key = BLAKE2b-256(seed_root || seed_call), message =
     * the block counter as 8 bytes little-endian), 8 bytes per draw */
    uint8_t seed_root[CONTRACT_SEED_BYTES];
    uint8_t seed_call[CONTRACT_SEED_BYTES];
    int (*balance)(void *arg, const char *id, int64_t *balance, char *err, size_t errlen);
    /* amount > 0. Whether `from` may be spent from (the contract's own
     * account, or the caller's up to their --max-spend) is the embedder's
     * rule, as are overdrafts and overflow. */
    int (*transfer)(void *arg, const char *from, const char *to, int64_t amount, char *err, size_t errlen);
    /* amount > 0; refused unless the supervisor granted a minting cap */
    int (*mint)(void *arg, const char *to, int64_t amount, const char *reason, char *err, size_t errlen);
    /* The committed value of key (the JSON text storage.set stored), or
     * *value = NULL when there is none; *value is malloc'd, the engine frees
     * it (also when the callback fails). */
    int (*storage_get)(void *arg, const uint8_t *key, size_t keylen, char **value, size_t *valuelen, char *err,
                       size_t errlen);
} contract_host;

typedef struct {
    size_t memory_max; /* bytes the call's state may hold (0: CONTRACT_MEMORY_DEFAULT) */
    uint64_t gas;      /* gas of the call (0: CONTRACT_GAS_DEFAULT) */
    /* a safety net for the node only, not part of consensus: a call that
     * runs longer than this (0: 10000 ms) ends CONTRACT_WALL, which the
     * embedder must NOT record as the call's receipt (another node may
     * finish it); it should stop applying the pulse and report itself. */
    uint32_t wall_ms;
} contract_limits;

/* One storage write: value NULL means delete. Keys are sorted byte-wise,
 * each key once (its last value). */
typedef struct {
    uint8_t *key;
    size_t keylen;
    char *value; /* canonical JSON text (compact, object keys sorted), NUL-terminated */
    size_t valuelen;
} contract_write;

typedef struct {
    json_t *result;          /* the call's return value (json null for none) */
    uint64_t gas_used;       /* also set on failure: what the call burnt (the whole
                                limit on CONTRACT_OUT_OF_GAS and CONTRACT_MEMORY) */
    json_t *events;          /* array of {"name": str, "fields": value}, in emit order */
    contract_write *writes;  /* sorted by key */
    size_t nwrites;
} contract_outcome;

enum contract_status {
    CONTRACT_OK = 0,
    CONTRACT_ERROR,      /* compile error, Lua runtime error, refused value: err says which */
    CONTRACT_OUT_OF_GAS, /* gas ran out (through any pcall) */
    CONTRACT_MEMORY,     /* the memory cap was reached (deterministic for one Lua build) */
    CONTRACT_WALL,       /* the wall-clock safety net (see contract_limits): not a receipt */
    CONTRACT_NO_FUNCTION /* the contract has no function of that name */
};
/* The kind's name ("ok", "error", "out of gas", ...): a static string. */
const char *contract_strerror(enum contract_status status);

/* Checks a contract at deploy time: compiles src (binary chunks refused),
 * runs its top level in a fresh state with no host (ctx fields empty, host
 * functions unavailable) and checks that it returns a table whose values are
 * all functions keyed by names ([A-Za-z_][A-Za-z0-9_]*). CONTRACT_OK, or an
 * error with a one-line reason in err. */
enum contract_status contract_check(const char *src, size_t len, const contract_limits *limits, char *err,
                                    size_t errlen);

/* Calls function fn of the contract src with args (a JSON array, or NULL
 * for none; floats refused) in a fresh state. On CONTRACT_OK *out holds
 * the result, gas, events and writes (free with contract_outcome_free); on
 * any other status *out holds only gas_used (result, events, writes empty)
 * and err a one-line reason. The host callbacks are called during the call,
 * from this thread. */
enum contract_status contract_call(const char *src, size_t len, const char *fn, const json_t *args,
                                   const contract_host *host, const contract_limits *limits, contract_outcome *out,
                                   char *err, size_t errlen);

void contract_outcome_free(contract_outcome *out);

#endif
